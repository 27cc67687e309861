# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Documentation only: the task runs as the action plugin plugins/action/flink_config_info.py,
# which sends one POSIX sh command per host and does all parsing on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: flink_config_info
short_description: Read the Flink configuration a host really has, as Flink reads it
version_added: 0.1.0
description:
  - Reads, in one round trip per host, the configuration file Flink of the host's version reads
    (C(flink-conf.yaml) or C(config.yaml) in O(conf_dir)), the host's memory (C(/proc/meminfo)),
    its cgroup v1 or v2 memory limit, its CPU count and the Flink version from the name of
    C(lib/flink-dist-*.jar).
  - The host runs a single POSIX C(sh) command (C(cat), C(wc), C(base64) or C(od)); it needs no
    Python. Parsing, choosing the file and computing the memory model happen on the controller.
  - The file is read exactly as Flink reads it, for the legacy C(flink-conf.yaml) line format and
    for the standard YAML C(config.yaml) of Flink 1.19 and later.
  - Values of sensitive keys are redacted as Flink redacts them, with the sensitive words of every Flink
    line (a key only Flink 2.3 hides is hidden on a 1.17 host too); the file's text is never returned.
  - A host whose file cannot be read or that Flink would refuse fails with a message naming the host,
    the file, the line and the key where known; other hosts complete.
options:
  processes:
    description:
      - The Flink processes this host runs; RV(memory) holds the memory model of each.
      - Defaults to V(jobmanager) when the host is in the inventory group C(flink_jobmanager) and
        V(taskmanager) when it is in C(flink_taskmanager); neither gives an empty list.
    type: list
    elements: str
    choices: [jobmanager, taskmanager]
  live:
    description:
      - On a host running a TaskManager, also note in the same command when its config file last
        changed and when each TaskManager JVM using this conf dir started (Linux C(/proc)), returned
        as RV(live_probe). The audit role turns it on with C(audit_rest_url) to tell a restart still
        pending from a process running with memory its file does not give.
    type: bool
    default: false
  logs:
    description:
      - Also return, in the same command, the newest O(logs_max_bytes) of each Flink log in O(log_dir)
        (C(flink-*-taskexecutor-*), C(-standalonesession-), C(-zookeeper-), C(.log) and C(.out)), newest file
        first, read from the end with C(tail -c), and the kernel's OOM-kill lines (C(/dev/kmsg) read with GNU
        C(dd), else C(dmesg), else C(journalctl -k)), as RV(logs), for the flinkops.flink.diagnose filter.
        Sensitive values in the lines are hidden. An absent or unreadable log dir, or kernel lines not
        permitted, is an entry with C(error).
    type: bool
    default: false
  logs_max_bytes:
    description: The most bytes of each log file O(logs) returns (its end).
    type: int
    default: 262144
  log_dir:
    description:
      - Where O(logs) reads, as given (not set, the host variable C(flink_log_dir) when the host has it). Without
        either, the dir Flink's C(bin/config.sh) picks
        from the file - C(env.log.dir) of C(config.yaml), else of C(flink-conf.yaml), flat or nested, read in
        the same command -, else C(<flink_home>/log). Give the inventory's C(flink_log_dir) when C(FLINK_LOG_DIR)
        in the daemons' environment puts the logs elsewhere.
    type: str
extends_documentation_fragment:
  - flinkops.flink.controller.read_only
  - flinkops.flink.controller
  - flinkops.flink.host
  - action_common_attributes
attributes:
  become:
    description: Supports privilege escalation (C(become)) to read files the connecting user cannot.
    support: full
notes:
  - Which file is read depends on the version, as in Flink. 1.14 to 1.18 read only C(flink-conf.yaml);
    1.19 and 1.20 read C(flink-conf.yaml) when it exists, else C(config.yaml); 2.0 and later read only
    C(config.yaml).
  - A symlinked file is reported under its resolved path; a symlink loop or dangling link where Flink
    would look for its file fails the host.
  - Works with C(become) like any task; the command goes through the connection as a raw command would.
author:
  - flinkops developers (@flinkops)
"""

EXAMPLES = r"""
- name: Read the Flink configuration of every Flink host
  flinkops.flink.flink_config_info:
    flink_home: "{{ flink_home }}"
  register: flink

- name: Show the TaskManager heap Flink will start with (or why it would not start)
  ansible.builtin.debug:
    msg: "{{ (tm.jvm.heap | human_readable) if tm.valid else 'Flink refuses this TaskManager: ' ~ tm.error }}"
  vars:
    tm: "{{ flink.memory.taskmanager }}"
  when: "'taskmanager' in flink.processes"

- name: Read a config directory outside the installation, for a given version
  flinkops.flink.flink_config_info:
    conf_dir: /etc/flink
    flink_version: "2.3"
    processes: [taskmanager]
    max_file_size: 2M
"""

RETURN = r"""
config:
  description:
    - Every key of the file with its value as a string, exactly as Flink's Configuration holds it.
    - Values of sensitive keys (containing C(password), C(secret), C(token) and the other words any Flink
      line uses) are V(******).
  returned: success
  type: dict
  sample: {"taskmanager.memory.process.size": "1728m", "s3.secret-key": "******"}
config_file:
  description: The file Flink reads, symlinks resolved.
  returned: success
  type: str
  sample: /opt/flink-2.3.0/conf/config.yaml
config_format:
  description: V(legacy) for the C(flink-conf.yaml) line format, V(yaml) for standard YAML C(config.yaml).
  returned: success
  type: str
  sample: yaml
config_lines:
  description: For each key, the 1-based line of the file that holds its winning value.
  returned: success
  type: dict
  sample: {"taskmanager.memory.process.size": 3}
ignored_files:
  description: Configuration files present that Flink of this version does not read, and why.
  returned: success
  type: list
  elements: dict
  sample: [{"name": "config.yaml", "reason": "flink-conf.yaml exists, so Flink 1.20 ignores config.yaml"}]
skipped_lines:
  description: Lines Flink skips (legacy format), with the reason Flink logs; never the line's text.
  returned: success
  type: list
  elements: dict
  sample: [{"line": 7, "reason": "no ': ' separating key and value"}]
overridden:
  description:
    - Entries a later entry for the same key replaces (legacy duplicates, or a nested and a flat spelling
      of one key in config.yaml); Flink uses the later one. Never the values.
  returned: success
  type: list
  elements: dict
  sample: [{"key": "taskmanager.memory.process.size", "line": 3, "by_line": 40}]
hash_cut_keys:
  description:
    - "Keys whose value flink-conf.yaml cuts at a C(#) written inside it (C(password: ab#cd) is read as
      C(ab)); empty for config.yaml. Never the values."
  returned: success
  type: list
  elements: dict
  sample: [{"key": "s3.secret-key", "line": 9}]
checksum:
  description: SHA-256 (hex) of the file's bytes.
  returned: success
  type: str
file_identity:
  description:
    - Which file was read, machine-wide; two inventory hosts with one identity resolve to one file (the enforce
      playbook lets one of them write it). Null when the host could not say.
    - C(machine) is a SHA-256 digest (32 hex digits) of the host's machine-id, boot_id and node name (machine-id is
      confidential, so it is never returned as such); C(path)
      the physical path; C(inode) the inode (from C(ls -iL)).
  returned: success
  type: dict
conf_dir:
  description: The configuration directory read (O(conf_dir), or C(<flink_home>/conf)), normalised.
  returned: success
  type: str
  sample: /opt/flink/conf
read_at:
  description:
    - When the host was read, in seconds since the epoch by the controller's clock.
    - flinkops.flink.flink_config uses a result given as its O(flinkops.flink.flink_config#module:gathered)
      only while it is younger than its O(flinkops.flink.flink_config#module:gathered_max_age).
  returned: success
  type: float
  sample: 1795774800.123
flink_version:
  description: The Flink version used, as given or as detected.
  returned: success
  type: str
  sample: 1.20.5
flink_version_given:
  description:
    - The O(flink_version) option as given (for example from a C(flink_version) host variable); null when not given.
  returned: success
  type: str
  sample: "1.19"
flink_version_detected:
  description:
    - The version in the name of C(lib/flink-dist-*.jar) under O(flink_home); null without O(flink_home) or when no
      single jar names one (then O(flink_version) must be given).
    - When it and RV(flink_version_given) name different Flink lines, the task warns and the file is read as the given
      version reads it; C(flinkops.flink.config_lint) reports the disagreement.
  returned: success
  type: str
  sample: 1.20.5
processes:
  description: The processes whose memory model is in RV(memory).
  returned: success
  type: list
  elements: str
  sample: [taskmanager]
mem_total_bytes:
  description: The host's RAM (MemTotal of /proc/meminfo) in bytes; null where unknown.
  returned: success
  type: int
cgroup_memory_limit_bytes:
  description:
    - The memory limit of the cgroup (v1 or v2) of the gathering shell, the tightest of it and its
      ancestors, in bytes; null when unlimited or unknown.
  returned: success
  type: int
cpu_count:
  description: CPUs available to processes on the host (C(nproc), else C(getconf)); null where unknown.
  returned: success
  type: int
memory:
  description:
    - For each of RV(processes), what Flink computes from this file (the flinkops.flink.memory_model
      filter's result, computed from the unredacted values).
  returned: success
  type: dict
live_probe:
  description:
    - With O(live) on a TaskManager host, the host's clock (V(now), seconds since the epoch), the
      config file's modification time (V(mtime)) and every TaskManager JVM whose C(--configDir) is
      this conf dir (V(processes), each V(pid) and V(started) in seconds since the epoch).
    - A file changed after its TaskManager started is a restart still pending.
  returned: when O(live) is true and the host runs a TaskManager
  type: dict
  sample: {"now": 1764230400, "mtime": 1764226800, "processes": [{"pid": 4711, "started": 1764223200}]}
logs:
  description:
    - With O(logs), each log file's C(file), C(text) and C(line_numbers) (C(excerpt) V(true), of the bounded
      tail only the lines flinkops.flink.diagnose reads, joined by newlines, and their line numbers in the file as
      runs such as V(1-3,17,40-59); sensitive values hidden), C(size), C(truncated), and the kernel's C(lines)
      (C(kind) V(kernel), with C(boot_time) in epoch seconds and, when there are kernel lines, C(utc_offset) such
      as V(+0100), when the host tells them, to put the kernel's time stamps on the logs' clock); an entry with
      C(error) for a log dir or kernel log that cannot be read. The shape flinkops.flink.diagnose takes.
  returned: when O(logs) is true
  type: list
  elements: dict
"""
