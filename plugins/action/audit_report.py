# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of flinkops.flink.audit_report: lint, drift and the report files, on the controller.

A thin adapter: the gathered results come from the task's arguments or from the play's
``hostvars``; config_lint (plugin_utils/lint.py), fleet_drift (plugin_utils/fleet.py) and the
report (plugin_utils/report.py) do the work. Files are written atomically on the controller.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from ansible.plugins.action import ActionBase

from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import MemorySizeError, parse_bytes
from ansible_collections.flinkops.flink.plugins.plugin_utils import live
from ansible_collections.flinkops.flink.plugins.plugin_utils import report as rp
from ansible_collections.flinkops.flink.plugins.plugin_utils.action_base import ActionFailed, FlinkAction

ARGUMENT_SPEC = {
    "results": {"type": "dict"},
    # the sliced audit: read every host's flink_gather record from the fact cache in this task
    # (plugin_utils.aggregate decides), instead of results passed in or hostvars (see docs/scale.md)
    "from_cache": {"type": "dict", "options": {
        "max_age": {"type": "float", "default": 3600},
        "live": {"type": "bool", "default": False},
        "slice_count": {"type": "int", "default": 0},
        "inventory_hosts": {"type": "list", "elements": "str"},
    }},
    "hosts": {"type": "list", "elements": "str"},
    "result_var": {"type": "str", "default": "audit_gather"},
    "memory_limit_var": {"type": "str", "default": "flink_memory_limit_bytes"},
    "report_dir": {"type": "path", "required": True},
    "formats": {"type": "list", "elements": "str", "default": list(rp.FORMATS), "choices": list(rp.FORMATS)},
    "fail_on": {"type": "str", "default": "error", "choices": list(rp.FAIL_ON)},
    "group_by": {"type": "raw", "default": "process"},
    "drift_keys": {"type": "raw", "default": "memory"},
    "min_managed_per_slot": {"type": "str"},
    "title": {"type": "str", "default": "Flink fleet audit"},
    "cluster": {"type": "dict"},
}


def _plain(value):
    """Ansible's tagged values and lazy containers as plain JSON data."""
    return json.loads(json.dumps(value, default=str))


def _collection_version() -> str | None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        with open(os.path.join(root, "MANIFEST.json"), encoding="utf-8") as handle:
            return json.load(handle)["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        pass
    try:
        with open(os.path.join(root, "galaxy.yml"), encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("version:"):
                    return line.split(":", 1)[1].strip().strip("'\"")
    except OSError:
        pass
    return None


def analyse(results: Mapping, *, memory_limits: Mapping, group_by, min_managed_per_slot=None,
            cluster: Mapping | None = None, drift_keys="memory") -> tuple:
    """(findings by host, drift, live section) with config_lint, fleet_drift and the live audit."""
    from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import fleet_drift
    from ansible_collections.flinkops.flink.plugins.plugin_utils.lint import config_lint

    findings = {}
    lint_args = {}
    if min_managed_per_slot is not None:
        lint_args["min_managed_per_slot"] = min_managed_per_slot
    for host, result in results.items():
        if not isinstance(result, Mapping) or result.get("failed") or result.get("unreachable") \
                or "memory" not in result:
            continue
        facts = dict(result)
        if memory_limits.get(host) is not None:
            # The inventory's limit is one of the host's limits (host_record.Limits: the tightest binds).
            facts["flink_memory_limit_bytes"] = memory_limits[host]
        findings[host] = config_lint(result["config"], result["flink_version"], facts=facts, **lint_args)
    drift = fleet_drift(results, group_by=group_by, drift_keys=drift_keys)
    live_findings, live_section = live.live_audit(results, cluster)
    for host, items in live_findings.items():
        findings[host] = list(findings.get(host) or []) + items
    return findings, drift, live_section


class ActionModule(FlinkAction, ActionBase):
    NAME = "audit_report"
    ARGUMENT_SPEC = ARGUMENT_SPEC
    MESSAGE_PREFIX = "name"
    _supports_check_mode = True  # in check mode the report is built but no file is written

    def act(self, result, args, host, task_vars):
        try:
            selection = None
            if args["from_cache"] is not None:
                selection = self._from_cache(args)
                results, limits = selection["results"], self._record_limits(selection)
            else:
                results, limits = self._collect(args, task_vars)
            if args["min_managed_per_slot"] is not None:
                try:
                    parse_bytes(args["min_managed_per_slot"])
                except MemorySizeError as exc:
                    raise rp.ReportError(f"min_managed_per_slot {args['min_managed_per_slot']!r} is not a size Flink "
                                         f"reads ({exc}); write it like 128m or 1g") from None
            cluster = _plain(args["cluster"]) if args["cluster"] is not None else None
            findings, drift, live_section = analyse(
                results, memory_limits=limits, group_by=args["group_by"],
                min_managed_per_slot=args["min_managed_per_slot"], cluster=cluster, drift_keys=args["drift_keys"])
            # Failures in the logs, when the gather read them (logs: true): the report's Failures section.
            diagnoses = rp.diagnose_failures(results, cluster=cluster, group_by=args["group_by"], memory_limits=limits)
            report = rp.build_report(
                results, findings, drift, fail_on=args["fail_on"], memory_limits=limits, title=args["title"],
                live=live_section, diagnoses=diagnoses,
                generator_version=_collection_version(),
                settings={"fail_on": args["fail_on"], "group_by": args["group_by"], "drift_keys": args["drift_keys"],
                          "min_managed_per_slot": args["min_managed_per_slot"], "formats": args["formats"]},
            )
            paths, changed = rp.write_reports(report, args["report_dir"], args["formats"],
                                              write=not self._task.check_mode)
        except (rp.ReportError, ValueError, OSError) as exc:
            raise ActionFailed(f"audit_report: {exc}") from None
        lines = rp.summary_lines(report, paths)
        result.update(
            changed=changed,
            paths=paths,
            status=report["status"],
            gate=report["gate"],
            summary=report["summary"],
            summary_lines=lines,
            msg="\n".join(lines),
        )
        if selection is not None:
            # what the cache held, for the playbook to show; the results themselves stay in this task
            result["aggregate"] = {key: selection[key] for key in
                                   ("lines", "summary", "missing", "stale", "refused", "slices", "max_age")}

    def _from_cache(self, args: dict) -> dict:
        """aggregate.select over the records of ``hosts`` read from the configured fact cache."""
        from ansible.errors import AnsibleFilterError

        from ansible_collections.flinkops.flink.plugins.filter.cached_gather import cached_gather

        if args["hosts"] is None:
            raise rp.ReportError("from_cache needs 'hosts': the hosts whose cached gather results to report on")
        opts = args["from_cache"]
        try:
            selection = cached_gather(args["hosts"], max_age=opts["max_age"], live=opts["live"],
                                      slice_count=opts["slice_count"], inventory_hosts=opts["inventory_hosts"])
        except AnsibleFilterError as exc:
            raise rp.ReportError(str(exc)) from None
        if not selection["results"]:
            raise rp.ReportError("no hosts to report on: 'hosts' is empty")
        return selection

    def _record_limits(self, selection: dict) -> dict:
        """The inventory's memory limits the gather stored in each usable record."""
        return {host: self._limit(host, "flink_memory_limit_bytes", value)
                for host, value in selection["memory_limits"].items() if value is not None}

    def _collect(self, args: dict, task_vars: dict) -> tuple:
        """(hostname -> result, hostname -> memory limit bytes) from the arguments or hostvars."""
        hostvars = task_vars.get("hostvars") or {}
        hosts = args["hosts"]
        if hosts is None:
            hosts = list(args["results"] or task_vars.get("ansible_play_hosts_all") or [])
        results = {}
        limits = {}
        for host in hosts:
            host_vars = hostvars.get(host) if hasattr(hostvars, "get") else None
            if args["results"] is not None:
                value = args["results"].get(host)
                if value is None:
                    value = {"failed": True, "msg": f"{host}: no result for this host in 'results'"}
            elif host_vars is None:
                value = {"failed": True, "msg": f"{host}: not in this inventory"}
            else:
                value = host_vars.get(args["result_var"])
                if value is None:
                    value = {"failed": True, "msg": f"{host}: not gathered (no '{args['result_var']}' registered: "
                                                    "the host failed or was unreachable before the audit ran)"}
            value = _plain(value)
            if isinstance(value, Mapping) and value.get("skipped"):
                value = {"failed": True, "msg": f"{host}: the gather task was skipped"}
            results[host] = value
            limit = host_vars.get(args["memory_limit_var"]) if host_vars is not None else None
            if limit is not None:
                limits[host] = self._limit(host, args["memory_limit_var"], limit)
        if not results:
            raise rp.ReportError("no hosts to report on: give 'hosts' or 'results' (the play has no hosts)")
        return results, limits

    @staticmethod
    def _limit(host: str, name: str, value) -> int:
        if isinstance(value, bool):
            raise rp.ReportError(f"{host}: {name} must be a size in bytes or like 3g, got {value!r}")
        if isinstance(value, int):
            size = value
        else:
            try:
                size = parse_bytes(str(value))
            except MemorySizeError as exc:
                raise rp.ReportError(f"{host}: {name} {value!r} is not a size ({exc}); give bytes or e.g. 3g") from None
        if size <= 0:
            raise rp.ReportError(f"{host}: {name} must be positive, got {value!r}")
        return size
