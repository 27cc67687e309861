# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the task runs as the action plugin plugins/action/audit_report.py, on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: audit_report
short_description: Lint, compare and report the Flink configuration gathered from a fleet
version_added: 0.1.0
description:
  - Takes the results of M(flinkops.flink.flink_config_info) for every host of the play, runs
    C(flinkops.flink.config_lint) on each host and C(flinkops.flink.fleet_drift) across them, and writes
    the audit report on the controller - JSON (documented, C(schema_version) 1, see C(docs/reports.md)),
    Markdown, one self-contained HTML page and JUnit XML.
  - Hosts whose gather failed or that were unreachable are reported as not audited (an error).
  - When the results hold the gather's C(logs) (M(flinkops.flink.flink_config_info) with C(logs=true)), the
    failures Flink wrote there (C(flinkops.flink.diagnose)) become the report's Failures section, newest
    first - code, host, process, the evidence file and line, its time, Flink's message (sensitive values
    hidden) and the fix for the host's whole group.
  - Returns a one-line-per-host summary and whether the gate O(fail_on) is tripped; it does not fail
    the task for findings, so the reports are always written. The C(flinkops.flink.audit) role fails
    the play after showing the summary.
  - Values of sensitive keys never appear in a report; neither does any raw text of a config file.
options:
  results:
    description:
      - Inventory hostname to its registered C(flink_config_info) result (or a C(failed)/C(unreachable)
        result).
      - When omitted, each host's variable O(result_var) is read from C(hostvars).
    type: dict
  from_cache:
    description:
      - Report on the cached C(flink_gather) records of O(hosts) (made by C(flinkops.flink.gather)), read from
        the fact cache ansible-playbook is configured with, in this task (no C(hostvars), no results passed
        between tasks); C(playbooks/audit_aggregate.yml) uses it. Hosts without a usable record are reported
        as not audited, with the reason (as the filter C(flinkops.flink.cached_gather) decides).
      - Memory limits come from the records (the inventory's C(flink_memory_limit_bytes) at gather time).
      - The task then also returns RV(aggregate). Requires O(hosts) or O(host_pattern); O(results) is then
        ignored.
    type: dict
    suboptions:
      max_age:
        description: Seconds a cached result stays usable.
        type: float
        default: 3600
      live:
        description: Refuse results gathered without the live probe.
        type: bool
        default: false
      slice_count:
        description: The gather job template's C(job_slice_count); hosts left out are named by AWX slice.
        type: int
        default: 0
      inventory_hosts:
        description:
          - Every host of the inventory, as AWX slices it.
          - Default C(groups['all']) of the play with O(host_pattern), else O(hosts).
        type: list
        elements: str
  hosts:
    description:
      - The hosts to report on.
      - Defaults to the keys of O(results), else to C(ansible_play_hosts_all) (every host the play
        targeted, including those that failed or were unreachable).
    type: list
    elements: str
  host_pattern:
    description:
      - The hosts to report on as an Ansible host pattern (V(flink_jobmanager:flink_taskmanager)), matched in the
        play's inventory as the lookup C(ansible.builtin.inventory_hostnames) matches it. Not with O(hosts).
      - For a big inventory give this rather than a list in O(hosts) - ansible-core templates and copies a list
        argument host by host before the task starts.
    type: str
  result_var:
    description: Name of the variable each host registered the gather under (read from C(hostvars)).
    type: str
    default: audit_gather
  memory_limit_var:
    description:
      - Name of a host variable giving the memory limit of the container or cgroup the host's Flink runs
        in, in bytes or as a size (V(3g)).
      - When set for a host it replaces the cgroup limit the gather saw for the resource checks, for Flink
        running in a container that the gathering shell is not in.
    type: str
    default: flink_memory_limit_bytes
  report_dir:
    description:
      - Directory on the controller where the reports go; created when missing. A relative path is
        relative to the directory C(ansible-playbook) runs in.
      - Files are C(flink-audit.json), C(flink-audit.md), C(flink-audit.html) and C(flink-audit-junit.xml),
        each replaced atomically.
    type: path
    required: true
  formats:
    description: Which reports to write.
    type: list
    elements: str
    choices: [json, markdown, html, junit]
    default: [json, markdown, html, junit]
  fail_on:
    description:
      - What trips the gate in RV(gate). Each level includes the ones before it - V(error) (an error
        finding, a config Flink refuses, a host not audited), V(warning), V(drift) (any drift across a
        group); V(never) never trips it.
      - V(failure) trips it on what V(error) trips it on, or on any failure read in the logs (the report's
        Failures section, from the gather's C(logs); see C(flinkops.flink.diagnose)). Without logs gathered
        there are no failures to count.
      - In the JUnit report, error findings always fail their test case; with V(warning) or V(drift)
        warnings do too, and with V(drift) so do the drift test cases of drifting hosts. Each failure read
        in the logs is a test case of the suite C(failures), failing with V(failure) only.
    type: str
    choices: [error, warning, drift, never, failure]
    default: error
  group_by:
    description:
      - How C(fleet_drift) groups hosts - V(process) (JobManagers and TaskManagers), V(all), or a mapping
        of group name to a list of hosts.
    type: raw
    default: process
  drift_keys:
    description:
      - Which differing keys make a group drift, passed to C(flinkops.flink.fleet_drift)'s C(drift_keys) -
        V(memory) (the memory keys and the slot count, what enforce makes one per group; effective memory
        that differs always counts), V(all) (every key), or a list of key names or fnmatch patterns
        (V(rest.*)). Every differing key is listed in the report either way.
    type: raw
    default: memory
  min_managed_per_slot:
    description: Managed memory per task slot below which C(config_lint) warns, as a Flink size (V(128m)).
    type: str
  title:
    description: Title of the reports.
    type: str
    default: Flink fleet audit
  cluster:
    description:
      - The registered result of M(flinkops.flink.flink_cluster_info) (a failed one included) for the live
        audit - each TaskManager's running memory from the JobManager's REST API against what its file gives.
      - Findings C(live-restart-pending), C(live-memory-mismatch), C(live-memory-differs), C(live-file-changed),
        C(live-not-registered), C(live-unknown-taskmanagers) and C(live-unreachable); the report gets a C(live)
        section.
      - Omitted - no live audit.
    type: dict
extends_documentation_fragment:
  - flinkops.flink.controller
  - action_common_attributes
attributes:
  check_mode:
    support: full
    details: In check mode the report is built and summarised but no file is written.
  diff_mode:
    support: none
notes:
  - Runs on the controller only; use it with C(run_once) (the audit role does).
seealso:
  - module: flinkops.flink.flink_config_info
  - name: The audit report schema
    description: C(docs/reports.md) in the collection.
    link: https://example.invalid/flinkops/flink/docs/reports.md
author:
  - flinkops developers (@flinkops)
"""

EXAMPLES = r"""
- name: Gather every Flink host, even the failing ones
  flinkops.flink.flink_config_info:
    flink_home: "{{ flink_home }}"
  register: audit_gather
  ignore_errors: true
  ignore_unreachable: true

- name: Write the audit reports
  flinkops.flink.audit_report:
    report_dir: "{{ playbook_dir }}/flink-audit"
    fail_on: warning
  run_once: true
  register: audit

- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ audit.summary_lines }}"
  run_once: true
"""

RETURN = r"""
aggregate:
  description:
    - With O(from_cache), what the cache held - C(lines) (what was used, every host and slice left out),
      C(summary), C(missing), C(stale), C(refused), C(slices), C(max_age).
  returned: when O(from_cache) is given
  type: dict
paths:
  description: Path of each report written (or that would be written in check mode), by format.
  returned: success
  type: dict
  sample: {"html": "/home/me/flink-audit/flink-audit.html", "json": "/home/me/flink-audit/flink-audit.json"}
status:
  description: Worst state of the fleet - V(error), V(warning), V(drift), V(info) or V(ok).
  returned: success
  type: str
gate:
  description: C(fail_on), C(failed) (whether the gate trips) and C(reason) (what tripped it, naming hosts).
  returned: success
  type: dict
  sample: {"fail_on": "error", "failed": true, "reason": "3 errors on jm1, tm3, tm4"}
summary:
  description: The C(summary) object of the JSON report (counts of hosts, findings and drift).
  returned: success
  type: dict
summary_lines:
  description: The console summary - one line per host, then totals, the gate and the report paths.
  returned: success
  type: list
  elements: str
"""
