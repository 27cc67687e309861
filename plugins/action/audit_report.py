# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of flinkops.flink.audit_report: lint, drift and the report files, on the controller.

A thin adapter: the gathered results come from the task's arguments or from the play's
``hostvars``; config_lint (plugin_utils/lint.py), fleet_drift (plugin_utils/fleet.py) and the
report (plugin_utils/report.py) do the work. Files are written atomically on the controller.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
from collections.abc import Mapping

from ansible.plugins.action import ActionBase

from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import MemorySizeError, parse_bytes
from ansible_collections.flinkops.flink.plugins.plugin_utils import live
from ansible_collections.flinkops.flink.plugins.plugin_utils import report as rp
from ansible_collections.flinkops.flink.plugins.plugin_utils.action_base import ActionFailed, FlinkAction, plain_json

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
    # a host pattern resolved here from the play's groups: a 10,000-host list as an argument is templated and
    # copied element by element by ansible-core before the task starts (seconds at 10,000 hosts)
    "host_pattern": {"type": "str"},
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


# a pattern that is a group name and nothing else (no wildcard, range, regex, host name; not a port: web:8080
# is one pattern for ansible-core)
_GROUP_NAME = re.compile(r"(?![0-9]+\Z)[A-Za-z0-9_-]+\Z")
_LOCALHOST = ("localhost", "127.0.0.1", "::1")  # ansible-core's implicit localhost (C.LOCALHOST)


def hosts_of_pattern(pattern: str, groups: Mapping, lookup, mismatch: str = "warning", warn=None) -> list:
    """The hostnames ``pattern`` matches, as the lookup ``ansible.builtin.inventory_hostnames`` gives them.

    A union of plain names (``flink_jobmanager:flink_taskmanager``) is resolved from ``groups`` (the play's
    ``groups``: group -> its hosts and its child groups' hosts, in inventory order) the way ansible-core's
    InventoryManager evaluates it: each group's hosts in turn, each host once; a name that is no group and
    no host matches nothing, with ansible-core's warning (``warn``; ``mismatch`` is its
    HOST_PATTERN_MISMATCH setting). Anything else (a host name, localhost, a wildcard, a range, ``&``,
    ``!``, a regex, or a mismatch that is an error) goes to ``lookup(pattern)``, the lookup itself.
    """
    terms = [t.strip() for t in (pattern.split(",") if "," in pattern else pattern.split(":"))]
    terms = [t for t in terms if t]
    hostnames = set(groups.get("all") or ())
    unmatched = [t for t in terms if t not in groups]
    if not terms or not all(_GROUP_NAME.match(t) and t not in hostnames for t in terms) \
            or any(t in _LOCALHOST for t in unmatched) or (unmatched and mismatch == "error"):
        return list(lookup(pattern))
    seen: set = set()
    out = []
    for term in terms:
        if term not in groups:
            if mismatch == "warning" and warn is not None:
                warn(f"Could not match supplied host pattern, ignoring: {term}")
            continue
        for host in groups[term]:
            if host not in seen:
                seen.add(host)
                out.append(host)
    return out


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector off while the report is built: the worker process holds the whole inventory
    (forked from ansible-playbook), and every full collection walked it again while the report allocated its
    10,000 hosts' dicts (a fifth of the task's CPU time at 10,000 hosts). The model holds no cycles; the
    worker ends with the task."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


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
        with _collector_paused():
            self._act(result, args, task_vars)

    def _act(self, result, args, task_vars):
        try:
            selection = None
            if args["from_cache"] is not None:
                selection = self._from_cache(args, task_vars)
                results, limits = selection["results"], self._record_limits(selection)
            else:
                results, limits = self._collect(args, task_vars)
            if args["min_managed_per_slot"] is not None:
                try:
                    parse_bytes(args["min_managed_per_slot"])
                except MemorySizeError as exc:
                    raise rp.ReportError(f"min_managed_per_slot {args['min_managed_per_slot']!r} is not a size Flink "
                                         f"reads ({exc}); write it like 128m or 1g") from None
            cluster = plain_json(args["cluster"]) if args["cluster"] is not None else None
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
        )
        if selection is not None:
            # what the cache held, for the playbook to show; the results themselves stay in this task
            result["aggregate"] = {key: selection[key] for key in
                                   ("lines", "summary", "missing", "stale", "refused", "slices", "max_age")}

    def _hosts(self, args: dict, task_vars: dict) -> list | None:
        """``hosts``, or the hosts ``host_pattern`` matches in the play's inventory."""
        if args["host_pattern"] is None:
            return args["hosts"]
        if args["hosts"] is not None:
            raise rp.ReportError("give 'hosts' or 'host_pattern', not both")
        from ansible import constants as C
        from ansible.plugins.loader import lookup_loader
        from ansible.utils.display import Display

        def lookup(pattern):
            plugin = lookup_loader.get("ansible.builtin.inventory_hostnames", loader=self._loader,
                                       templar=self._templar)
            return plugin.run(pattern, variables=task_vars)

        hosts = hosts_of_pattern(args["host_pattern"], task_vars.get("groups") or {}, lookup,
                                 mismatch=str(C.HOST_PATTERN_MISMATCH), warn=Display().warning)
        if not hosts:
            raise rp.ReportError(f"no hosts to report on: the host pattern {args['host_pattern']!r} matches no host "
                                 "of the inventory")
        return hosts

    def _from_cache(self, args: dict, task_vars: dict) -> dict:
        """aggregate.select over the records of ``hosts`` read from the configured fact cache."""
        from ansible.errors import AnsibleFilterError

        from ansible_collections.flinkops.flink.plugins.filter.cached_gather import cached_gather

        hosts = self._hosts(args, task_vars)
        if hosts is None:
            raise rp.ReportError("from_cache needs 'hosts' or 'host_pattern': the hosts whose cached gather results "
                                 "to report on")
        opts = args["from_cache"]
        inventory_hosts = opts["inventory_hosts"]
        if inventory_hosts is None and opts["slice_count"]:
            # AWX slices the whole inventory: the play's groups['all'], read here rather than templated as an argument
            inventory_hosts = list((task_vars.get("groups") or {}).get("all") or ()) or None
        try:
            selection = cached_gather(hosts, max_age=opts["max_age"], live=opts["live"],
                                      slice_count=opts["slice_count"], inventory_hosts=inventory_hosts)
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
        hosts = self._hosts(args, task_vars)
        if hosts is None:
            hosts = list(args["results"] or task_vars.get("ansible_play_hosts_all") or [])
        results = {}
        limits = {}
        for host in hosts:
            host_vars = self._raw_host_vars(hostvars, host)
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
            value = plain_json(value)
            if isinstance(value, Mapping) and value.get("skipped"):
                value = {"failed": True, "msg": f"{host}: the gather task was skipped"}
            results[host] = value
            limit = host_vars.get(args["memory_limit_var"]) if host_vars is not None else None
            if limit is not None:
                limit = self._templar.template(limit)  # an inventory value may be a template
                limits[host] = self._limit(host, args["memory_limit_var"], limit)
        if not results:
            raise rp.ReportError("no hosts to report on: give 'hosts' or 'results' (the play has no hosts)")
        return results, limits

    @staticmethod
    def _raw_host_vars(hostvars, host: str):
        """A host's variables as stored, not templated (None for a host not in the inventory). A registered result
        holds no template, but templating it walks every element: with logs, thousands of lines a host."""
        if hasattr(hostvars, "raw_get"):
            if host not in hostvars:
                return None
            return hostvars.raw_get(host)
        return hostvars.get(host) if hasattr(hostvars, "get") else None

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
