# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit report: one JSON model, rendered as Markdown, a self-contained HTML page and JUnit XML.

``build_report`` turns what the audit gathered and concluded (per-host ``flink_config_info``
results, ``config_lint`` findings, the ``fleet_drift`` result) into the report model whose
shape is documented in docs/reports.md (``schema_version`` 1). The renderers only read that
model, so the JSON file holds everything the other formats show.

Secrets: results arrive redacted by the gather; values of sensitive keys are redacted here
once more (for results built by other means), and no raw file text is ever carried.

Controller side; never imports Ansible.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import functools
import html
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping
from json.encoder import c_make_encoder as _json_c_encoder
from json.encoder import encode_basestring_ascii as _json_str
from xml.sax.saxutils import escape as _sax_escape
from xml.sax.saxutils import quoteattr as _sax_quoteattr

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.flink_names import JVM_LABELS, LABELS, PROCESS_NAMES
from ansible_collections.flinkops.flink.plugins.module_utils.log_tail import redact_line
from ansible_collections.flinkops.flink.plugins.plugin_utils.host_record import GatheredHost, NotGathered, read_host

SCHEMA_VERSION = 1
SEVERITIES = ("error", "warning", "info")
# failure: as error, or any failure read in the logs (the Failures section; gathered with logs: true).
FAIL_ON = ("error", "warning", "drift", "never", "failure")
FORMATS = ("json", "markdown", "html", "junit")
FILE_NAMES = {
    "json": "flink-audit.json",
    "markdown": "flink-audit.md",
    "html": "flink-audit.html",
    "junit": "flink-audit-junit.xml",
}
# Host status, worst first. A host whose gather failed or that was unreachable counts as an error.
STATUSES = ("unreachable", "failed", "error", "warning", "info", "ok")
GATHER_CODES = {"unreachable": "host-unreachable", "failed": "gather-failed"}

# Memory components in the order of Flink's memory model picture, with their colours (names and
# labels: module_utils/flink_names.py).
_COLOURS = {
    "taskmanager": (("framework_heap", "#1d4e89"), ("task_heap", "#3f88c5"), ("managed", "#e8a33d"),
                    ("framework_off_heap", "#5e4b8b"), ("task_off_heap", "#8e7cc3"), ("network", "#2a9d8f"),
                    ("jvm_metaspace", "#7d8590"), ("jvm_overhead", "#b8bec6")),
    "jobmanager": (("heap", "#5fa8d3"), ("off_heap", "#b39ddb"), ("jvm_metaspace", "#7d8590"),
                   ("jvm_overhead", "#b8bec6")),
}
COMPONENTS = {process: tuple((name, LABELS[name], colour) for name, colour in parts)
              for process, parts in _COLOURS.items()}
PROCESS_LABELS = PROCESS_NAMES
COMPONENT_LABELS = {**LABELS, **{f"jvm.{k}": v for k, v in JVM_LABELS.items()}, "slots": "Task slots"}
MEMORY_STATUS = {
    "identical": "same keys, same memory",
    "same_memory_different_keys": "different keys, same memory",
    "different_memory": "different memory",
    "different_memory_same_keys": "same keys, different memory (the Flink versions differ)",
    "invalid": "Flink would refuse every host",
}


class ReportError(ValueError):
    """The inputs cannot make a report (the message says which input and why)."""


# --- helpers -------------------------------------------------------------------------------------


def natural_key(name) -> tuple:
    """Sort tm2 before tm10."""
    return _natural_key(str(name))


@functools.lru_cache(maxsize=1 << 16)  # a 10,000-host report sorts the same names many times
def _natural_key(name: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name))


@functools.lru_cache(maxsize=1 << 14, typed=True)  # the same few sizes on every host of a fleet
def human_bytes(value) -> str:
    """Binary units, three significant digits at most: ``1.56 GiB``, ``640 MiB``, ``0 B``."""
    if value is None:
        return "n/a"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(size) < 1024 or unit == "PiB":
            break
        size /= 1024
    if unit == "B":
        return f"{int(size)} B"
    text = f"{size:.3g}" if size < 1000 else f"{size:.0f}"
    return f"{text} {unit}"


# Sensitive in the report if any Flink line calls it sensitive (the one rule, in options.py).
_is_sensitive = opts.is_sensitive_anywhere


def _redact(config: Mapping) -> dict:
    return {k: (opts.REDACTED if _is_sensitive(k) else v) for k, v in config.items()}


def _finding(item: Mapping) -> dict:
    severity = item.get("severity")
    if severity not in SEVERITIES:
        raise ReportError(f"finding {item.get('code')!r} has severity {severity!r}; "
                          f"expected one of {', '.join(SEVERITIES)}")
    return {
        "severity": severity,
        "code": str(item.get("code") or "unknown"),
        "key": item.get("key"),
        "line": item.get("line"),
        "message": str(item.get("message") or ""),
        "fix": item.get("fix"),
        "process": item.get("process"),
    }


def _finding_order(f: dict):
    return (SEVERITIES.index(f["severity"]), f["line"] if isinstance(f["line"], int) else 1 << 30,
            f["key"] or "", f["code"], f["message"])


def _memory_entry(result: Mapping, process: str) -> dict:
    model = result or {}
    sizes = model.get("sizes") if model.get("valid") else None
    slots = model.get("slots")
    entry = {
        "valid": bool(model.get("valid")),
        "error": model.get("error"),
        "sizing_path": (model.get("keys") or {}).get("sizing_path"),
        "sizes": dict(sizes) if sizes else None,
        "jvm": dict(model["jvm"]) if model.get("valid") and model.get("jvm") else None,
    }
    if process == "taskmanager":
        entry["slots"] = slots
        entry["managed_per_slot"] = (sizes["managed"] // slots
                                     if sizes and isinstance(slots, int) and slots > 0 else None)
    return entry


# --- the model -----------------------------------------------------------------------------------


def _host_entry(name: str, result, findings, limit_override) -> dict:
    host = read_host(name, result, limit_override)
    if isinstance(host, GatheredHost) and not host.memory and host.processes:  # no process: nothing to model
        host = NotGathered(host.name, "gather returned no memory model")
    failed = isinstance(host, NotGathered)
    unreachable = failed and host.unreachable
    entry = {
        "name": name,
        "status": "ok",
        "gather": {
            "ok": not failed,
            "unreachable": unreachable,
            "msg": host.msg if failed else None,
        },
        "flink_version": None,
        "processes": [],
        "config_file": None,
        "config_format": None,
        "checksum": None,
        "ignored_files": [],
        "skipped_lines": [],
        "resources": None,
        "memory": {},
        "config": {},
        "config_lines": {},
        "findings": [],
        "counts": dict.fromkeys(SEVERITIES, 0),
    }
    if failed:
        kind = "unreachable" if unreachable else "failed"
        entry["status"] = kind
        fix = ("Check that the host is up and reachable with the inventory's connection settings, then run the "
               "audit again." if unreachable else
               "Fix what the message names (flink_home, flink_conf_dir, flink_version or the file), then run "
               "the audit again.")
        entry["findings"] = [{"severity": "error", "code": GATHER_CODES[kind], "key": None, "line": None,
                              "message": str(entry["gather"]["msg"]), "fix": fix, "process": None}]
        entry["counts"]["error"] = 1
        return entry

    limit, source = host.limits.binding
    entry.update(
        flink_version=host.flink_version,
        processes=list(host.processes),
        config_file=host.config_file,
        config_format=host.config_format,
        checksum=host.checksum,
        ignored_files=[{"name": i.get("name"), "reason": i.get("reason")} for i in host.ignored_files],
        skipped_lines=[{"line": s.get("line"), "reason": s.get("reason")} for s in host.skipped_lines],
        resources={
            "mem_total_bytes": result.get("mem_total_bytes"),
            "cgroup_memory_limit_bytes": result.get("cgroup_memory_limit_bytes"),
            "memory_limit_override_bytes": int(limit_override) if limit_override is not None else None,
            "memory_limit_bytes": limit,
            "memory_limit_source": source,
            "cpu_count": host.cpu_count,
        },
        memory={p: _memory_entry(host.model(p), p) for p in host.processes},
        config=dict(sorted(_redact(host.config).items())),
        config_lines=dict(sorted(host.config_lines.items())),
    )
    items = sorted((_finding(f) for f in findings or []), key=_finding_order)
    entry["findings"] = items
    for item in items:
        entry["counts"][item["severity"]] += 1
    for severity in SEVERITIES:
        if entry["counts"][severity]:
            entry["status"] = severity
            break
    return entry


def _value_text(value, key) -> str:
    if _is_sensitive(key):
        return opts.REDACTED
    return "" if value is None else str(value)


def _drift_groups(drift: Mapping | None, hosts: dict) -> list:
    """The fleet_drift result, reduced to what the report shows (documented in docs/reports.md)."""
    if not drift:
        return []
    groups = drift.get("groups") or {}
    if not isinstance(groups, Mapping):
        raise ReportError("drift must be a fleet_drift result: its 'groups' is not a mapping")
    out = []
    for name, group in groups.items():
        members = sorted(group.get("hosts") or [], key=natural_key)
        keys = []
        for item in list(group.get("keys_differ") or []) + list(group.get("keys_partial") or []):
            key = item.get("key")
            sensitive = bool(item.get("sensitive")) or _is_sensitive(key)
            keys.append({
                "key": key,
                "values": [{"value": opts.REDACTED if sensitive else _value_text(v.get("value"), key),
                            "hosts": sorted(v.get("hosts") or [], key=natural_key),
                            "majority": bool(v.get("majority"))}
                           for v in item.get("values") or []],
                "missing_on": sorted(item.get("absent_on") or [], key=natural_key),
                "memory_key": bool(item.get("memory")),
                "kind": item.get("kind") or ("memory" if item.get("memory") else "other"),
                "counted": item.get("counted", True) is not False,
                "outliers": sorted(item.get("outliers") or [], key=natural_key),
                "equivalent": item.get("equivalent"),
                "sensitive": sensitive,
            })
        keys.sort(key=lambda k: (not k["counted"], not k["memory_key"], k["key"] or ""))
        memory = []
        memory_status = {}
        for process, drift_of in (group.get("memory") or {}).items():
            memory_status[process] = drift_of.get("status")
            for component, values in (drift_of.get("differing_components") or {}).items():
                memory.append({
                    "process": process,
                    "component": component,
                    "label": COMPONENT_LABELS.get(component, component),
                    "values": [{"bytes": v.get("bytes"), "slots": v.get("slots"),
                                "hosts": sorted(v.get("hosts") or [], key=natural_key)} for v in values],
                })
        out.append({
            "name": str(name),
            "hosts": members,
            "drift": bool(group.get("drift")),
            "flink_versions": {str(v): list(hs) for v, hs in (group.get("flink_versions") or {}).items()},
            "keys": keys,
            "memory_status": memory_status,
            "memory": memory,
            "invalid_hosts": [{"host": i.get("host"), "process": i.get("process"), "error": i.get("error")}
                              for i in group.get("invalid") or []],
            "failed_hosts": [{"host": f.get("host"), "msg": f.get("msg")} for f in group.get("failed") or []],
            "notes": [str(n) for n in group.get("notes") or []],
        })
    return sorted(out, key=lambda g: natural_key(g["name"]))


def gate(summary: Mapping, fail_on: str) -> dict:
    """Whether the audit fails under ``fail_on``; each level includes the ones before it."""
    if fail_on not in FAIL_ON:
        raise ReportError(f"fail_on {fail_on!r} is not one of {', '.join(FAIL_ON)}")
    found = {}  # level -> what was found at that level; a host not audited counts as an error
    for severity in ("error", "warning"):
        count = summary["findings"][severity]
        if count:
            found[severity] = (f"{count} {severity}{'s' if count != 1 else ''} on "
                               f"{', '.join(summary['hosts_with'][severity])}")
    if summary["drift"]:
        found["drift"] = f"drift in {', '.join(summary['drift_groups'])}"
    if summary.get("failures"):
        found["failure"] = (f"{summary['failures']} failure{'s' if summary['failures'] != 1 else ''} in the logs "
                            f"on {', '.join(summary['hosts_with_failures'])}")
    levels = {"error": ("error",), "warning": ("error", "warning"), "drift": ("error", "warning", "drift"),
              "never": (), "failure": ("error", "failure")}[fail_on]
    reasons = [found[level] for level in levels if level in found]
    if reasons:
        reason = "; ".join(reasons)
    elif fail_on == "never":
        reason = "the gate is off" + (f"; found {'; '.join(found.values())}" if found else "")
    else:
        below = "; ".join(found.values())
        reason = f"no {' or '.join(levels)}" + (f" (below the gate: {below})" if below else "")
        if fail_on == "failure" and summary.get("failures") is None:
            reason += " (the logs were not read, so no failure could be: gather with logs: true, audit_logs)"
    return {"fail_on": fail_on, "failed": bool(reasons), "reason": reason}


def build_report(results: Mapping, findings: Mapping | None = None, drift: Mapping | None = None, *,
                 fail_on: str = "error", memory_limits: Mapping | None = None, title: str | None = None,
                 generated_at: str | None = None, generator_version: str | None = None,
                 settings: Mapping | None = None, live: Mapping | None = None,
                 diagnoses: Mapping | None = None) -> dict:
    """The report model (schema_version 1) from per-host results, lint findings and fleet drift.

    ``results``: hostname -> flink_config_info result (or ``{failed|unreachable: true, msg}``);
    ``findings``: hostname -> list of config_lint findings; ``drift``: the fleet_drift result;
    ``memory_limits``: hostname -> bytes given in the inventory (flink_memory_limit_bytes);
    ``live``: the live audit's section (plugin_utils/live.py ``live_section``), or None when the
    running cluster was not read; ``diagnoses``: the diagnose filter's result (plugin_utils/diagnose.py),
    or None when the logs were not gathered (then ``failures`` is null).
    """
    if not isinstance(results, Mapping):
        raise ReportError(f"results must be a mapping of host name to gather result, got {type(results).__name__}")
    if fail_on not in FAIL_ON:
        raise ReportError(f"fail_on {fail_on!r} is not one of {', '.join(FAIL_ON)}")
    findings = findings or {}
    memory_limits = memory_limits or {}
    names = sorted(results, key=natural_key)
    hosts = {n: _host_entry(n, results[n], findings.get(n), memory_limits.get(n)) for n in names}
    groups = _drift_groups(drift, hosts)
    members = [(g["name"], set(g["hosts"])) for g in groups if g["drift"]]  # a set: 10,000 hosts in a list each
    for name, entry in hosts.items():
        entry["drift_groups"] = [group for group, in_group in members if name in in_group]
        entry["in_drift"] = bool(entry["drift_groups"])

    by_status = {s: [n for n in names if hosts[n]["status"] == s] for s in STATUSES}
    totals = {s: sum(h["counts"][s] for h in hosts.values()) for s in SEVERITIES}
    summary = {
        "hosts": len(names),
        "hosts_by_status": {s: len(v) for s, v in by_status.items()},
        "hosts_with": {s: [n for n in names if hosts[n]["counts"][s]] for s in SEVERITIES},
        "findings": totals,
        "codes": _code_counts(hosts.values()),
        "drift": any(g["drift"] for g in groups),
        "drift_groups": [g["name"] for g in groups if g["drift"]],
        "flink_versions": sorted({h["flink_version"] for h in hosts.values() if h["flink_version"]},
                                 key=natural_key),
    }
    failures = failure_entries(diagnoses) if diagnoses is not None else None
    summary["failures"] = len(failures) if failures is not None else None
    summary["hosts_with_failures"] = sorted({f["host"] for f in failures or ()}, key=natural_key)
    summary["failure_codes"] = dict(sorted(_count(f["code"] for f in failures or ()).items()))
    worst = next((s for s in STATUSES if by_status[s]), "ok")
    status = "error" if worst in ("unreachable", "failed") else worst
    if status in ("info", "ok") and summary["drift"]:
        status = "drift"
    return {
        "schema_version": SCHEMA_VERSION,
        "title": title or "Flink fleet audit",
        "generated_at": generated_at or _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generator": {"name": "flinkops.flink.audit", "version": generator_version},
        "settings": dict(settings or {}),
        "status": status,
        "gate": gate(summary, fail_on),
        "summary": summary,
        "hosts": [hosts[n] for n in names],
        "drift": {"groups": groups,
                  "next_step": _next_step(results, drift, memory_limits),
                  # gathered, but no process known: in no drift group (the reason is told where it shows)
                  "unknown_process": [n for n in names if hosts[n]["gather"]["ok"] and not hosts[n]["processes"]]},
        "live": dict(live) if live is not None else None,
        "failures": failures,
    }


# --- failures read in the logs (diagnose) ----------------------------------------------------------


def _count(items) -> dict:
    out: dict = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def _failure_fix(fix) -> dict:
    """The fix of a failure, as the report shows it: the settings for the whole group, or why there is none."""
    fix = fix if isinstance(fix, Mapping) else {}
    if not fix.get("valid"):
        return {"valid": False, "error": fix.get("error") or "no fix computed", "group": None, "hosts": [],
                "settings": {}, "remove": [], "process_size": fix.get("process_size")}
    return {"valid": True, "error": None, "group": fix.get("group"), "hosts": list(fix.get("hosts") or ()),
            "settings": dict(fix.get("settings") or {}), "remove": list(fix.get("remove") or ()),
            "process_size": fix.get("process_size")}


def _failure_evidence(evidence: Mapping) -> dict:
    # diagnose redacts already; redacting again keeps any other source of evidence from leaking a secret.
    return {"file": evidence.get("file"), "line": evidence.get("line"), "time": evidence.get("time"),
            "message": redact_line(str(evidence.get("message") or "")),
            "cause": redact_line(str(evidence["cause"])) if evidence.get("cause") else None}


def diagnose_failures(results: Mapping, *, cluster: Mapping | None = None, group_by="process",
                      memory_limits: Mapping | None = None) -> dict | None:
    """diagnose over the gather results when some host's logs were gathered (logs: true), else None."""
    if not any(isinstance(r, Mapping) and r.get("logs") is not None for r in results.values()):
        return None
    from ansible_collections.flinkops.flink.plugins.plugin_utils.diagnose import DiagnoseError, diagnose

    try:
        return diagnose(results, cluster=cluster, group_by=group_by, memory_limits=memory_limits or None)
    except DiagnoseError as exc:
        raise ReportError(f"reading the failures in the logs: {exc}") from None


def failure_entries(diagnoses: Mapping) -> list:
    """The Failures section from diagnose's result: one entry per failure, newest first."""
    if not isinstance(diagnoses, Mapping):
        raise ReportError(f"diagnoses must be the diagnose filter's result (a mapping), got {type(diagnoses).__name__}")
    out = []
    for host, items in (diagnoses.get("hosts") or {}).items():
        for d in items or ():
            out.append({"code": d["code"], "severity": d.get("severity", "error"), "host": host,
                        "process": d.get("process"), "keys": list(d.get("keys") or ()),
                        "evidence": _failure_evidence(d.get("evidence") or {}),
                        "occurrences": d.get("occurrences", 1),
                        "also_reported_by": list(d.get("also_reported_by") or ()),
                        "fix": _failure_fix(d.get("fix"))})
    for e in diagnoses.get("unattributed") or ():
        out.append({"code": e["code"], "severity": "error", "host": e.get("host"), "process": None, "keys": [],
                    "evidence": _failure_evidence(e), "occurrences": 1, "also_reported_by": [],
                    "fix": _failure_fix({"error": "the log does not say which TaskManager failed"})})
    out.sort(key=lambda f: (natural_key(str(f["host"])), f["code"]))
    out.sort(key=lambda f: f["evidence"]["time"] or "", reverse=True)  # newest first; stable for ties
    return out


def _failure_where(f: Mapping) -> str:
    ev = f["evidence"]
    return f"{ev['file']}:{ev['line']}"


def _failure_fix_text(f: Mapping) -> str:
    fix = f["fix"]
    if not fix["valid"]:
        return f"no fix: {fix['error']}"
    parts = [f"{k}: {v}" for k, v in fix["settings"].items()] + [f"remove {k}" for k in fix["remove"]]
    return f"on group {fix['group']} ({', '.join(fix['hosts'])}): " + ("; ".join(parts) or "no change")


def _failure_head(f: Mapping) -> str:
    return (f"{f['code']} on {f['host']} ({f['process'] or 'process unknown'}) at {_failure_where(f)}"
            f" ({f['evidence']['time'] or 'time unknown'})")


def _next_step(results: Mapping, drift: Mapping | None, memory_limits: Mapping) -> dict | None:
    """The fleet-level next step: the enforce_policy that removes the drift (plan.drift_policy), with the
    command to apply it; None when no group drifts in memory keys or memory."""
    if not drift or not isinstance(drift.get("groups"), Mapping):
        return None
    from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import drift_policy  # heavy: only here

    step = drift_policy(results, drift, memory_limits)
    if step["policy"] is None:
        return None
    step["command"] = ("ansible-playbook -i <inventory> flinkops.flink.enforce -e @policy.yml "
                       "(add -e enforce_confirm=true to write)")
    step["policy_yaml"] = "enforce_policy: " + json.dumps(step["policy"], sort_keys=False)
    return step


def _next_step_text(step: Mapping) -> list:
    """Lines (plain text) telling the next step."""
    head = (f"Next step for the fleet: this policy makes every host of {', '.join(step['groups'])} get one memory "
            f"configuration (the values most hosts have)")
    if step["valid"]:
        head += "; memory_plan checked it on every host."
    else:
        head += f"; memory_plan does not accept it as it is: {step['error']}"
    return [head, f"policy.yml: {step['policy_yaml']}", f"Run: {step['command']}"]


def _code_counts(hosts) -> dict:
    counts: dict = {}
    for host in hosts:
        for item in host["findings"]:
            counts[item["code"]] = counts.get(item["code"], 0) + 1
    return dict(sorted(counts.items()))


# --- console summary ------------------------------------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _host_memory_text(host: dict) -> str:
    if host["gather"]["ok"] and not host["processes"]:
        return "process unknown (in neither flink_jobmanager nor flink_taskmanager)"
    parts = []
    for process in host["processes"]:
        mem = host["memory"][process]
        short = "JM" if process == "jobmanager" else "TM"
        if mem["valid"]:
            parts.append(f"{short} {human_bytes(mem['sizes']['total_process'])}")
        else:
            parts.append(f"{short} refused by Flink")
    return ", ".join(parts)


CONSOLE_FAILURES = 20  # failures told on the console, newest first


CONSOLE_HOSTS = 200  # host lines told on the console; the reports hold every host


def _console_hosts(hosts: list) -> list:
    """The hosts the console lists, in report order: all of them, or on a larger fleet the worst CONSOLE_HOSTS
    (10,000 lines would bury the gate line, and carrying them through Ansible cost the aggregate a second)."""
    if len(hosts) <= CONSOLE_HOSTS:
        return hosts
    rank = {status: n for n, status in enumerate(STATUSES)}  # worst first
    order = sorted(range(len(hosts)), key=lambda i: (rank.get(hosts[i]["status"], len(rank)), i))
    return [hosts[i] for i in sorted(order[:CONSOLE_HOSTS])]


def summary_lines(report: Mapping, paths: Mapping | None = None) -> list:
    """One line per host (at most CONSOLE_HOSTS, the worst first) plus totals, for the console."""
    hosts = report["hosts"]
    shown = _console_hosts(hosts)
    width = max([len(h["name"]) for h in shown] + [4])
    lines = []
    for host in shown:
        status = host["status"].upper()
        if host["status"] in ("failed", "unreachable"):
            lines.append(f"{host['name']:<{width}}  {status:<11}  {host['gather']['msg']}")
            continue
        counts = host["counts"]
        tally = f"{_plural(counts['error'], 'error')}, {_plural(counts['warning'], 'warning')}"
        codes = sorted({f["code"] for f in host["findings"] if f["severity"] != "info"})
        extra = f" [{', '.join(codes)}]" if codes else ""
        drift = " drift" if host["in_drift"] else ""
        lines.append(f"{host['name']:<{width}}  {status:<11}  Flink {host['flink_version']:<7} "
                     f"{_host_memory_text(host):<20} {tally}{drift}{extra}")
    summary = report["summary"]
    by = summary["hosts_by_status"]
    if len(shown) < len(hosts):
        left = collections.Counter(h["status"] for h in hosts) - collections.Counter(h["status"] for h in shown)
        tally = ", ".join(f"{left[status]} {status}" for status in STATUSES if left[status])
        lines.append(f"HOSTS  {len(hosts) - len(shown)} more hosts not listed here ({tally}): every host is in "
                     "the reports")
    audited = summary["hosts"] - by["failed"] - by["unreachable"]
    drift = ("drift in " + ", ".join(summary["drift_groups"])) if summary["drift"] else "no drift"
    lines.append(f"TOTAL  {summary['hosts']} hosts ({audited} audited, {by['failed']} failed, "
                 f"{by['unreachable']} unreachable): {_plural(summary['findings']['error'], 'error')}, "
                 f"{_plural(summary['findings']['warning'], 'warning')}, {drift}"
                 + (f", {_plural(summary['failures'], 'failure')} in the logs"
                    if summary.get("failures") is not None else ""))
    failures = report.get("failures") or []
    for f in failures[:CONSOLE_FAILURES]:
        lines.append(f"FAILURE {_failure_head(f)}: {_failure_fix_text(f)}")
    if len(failures) > CONSOLE_FAILURES:  # a fleet-wide OOM storm must not bury the gate line
        lines.append(f"FAILURE ... and {len(failures) - CONSOLE_FAILURES} more (the newest shown; all in the reports)")
    g = report["gate"]
    lines.append(f"GATE   audit_fail_on={g['fail_on']}: {'FAIL' if g['failed'] else 'pass'}: {g['reason']}")
    if paths:
        for fmt in FORMATS:
            if fmt in paths:
                lines.append(f"REPORT {fmt}: {paths[fmt]}")
    return lines


# --- Markdown -------------------------------------------------------------------------------------


# Markdown's inline syntax and HTML: escaped in text so that a key or value from a file (they may hold
# anything Flink reads, ``<script>`` included) is shown as it is and never becomes markup or a link.
_MD_TEXT = str.maketrans({"\\": "\\\\", "|": "\\|", "`": "\\`", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]",
                          "<": "&lt;", ">": "&gt;", "&": "&amp;", "\n": " ", "\r": " "})
_MD_CODE = str.maketrans({"|": "\\|", "\n": " ", "\r": " "})  # in a table a pipe ends the cell even in code


def _md(text) -> str:
    """Text safe anywhere in a Markdown line, a table cell included: shown literally."""
    return str("" if text is None else text).translate(_MD_TEXT)


def _md_code(text) -> str:
    """A code span holding ``text`` literally, whatever backticks it holds (CommonMark: a longer fence)."""
    text = str("" if text is None else text).translate(_MD_CODE)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text[:1] in ("`", " ") or text[-1:] in ("`", " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _key_note(item: dict) -> str:
    notes = []
    if item.get("sensitive"):
        notes.append("sensitive: values not shown")
    if item.get("equivalent") is True:
        notes.append("same value to Flink")
    elif item.get("kind") == "slots":
        notes.append("task slots")
    elif item.get("memory_key"):
        notes.append("memory key")
    if item.get("counted") is False:
        notes.append("not counted as drift")
    if item.get("outliers"):
        notes.append("outliers: " + ", ".join(item["outliers"]))
    return "; ".join(notes)


SHORT_VALUE = 80  # longer values (a 1,000-character env.java.opts.all) are shortened in tables


def _short(value: str) -> str:
    text = str(value)
    return text if len(text) <= SHORT_VALUE else f"{text[:SHORT_VALUE - 20]}... ({len(text)} characters)"


def _value_html(value: str) -> str:
    """A value chip; a long one shortened, the whole value a click away (details), never cut silently."""
    text = str(value)
    if len(text) <= SHORT_VALUE:
        return f'<span class="chip mono">{_e(text)}</span>'
    return (f'<details class="long"><summary><span class="chip mono">{_e(_short(text))}</span></summary>'
            f'<span class="mono">{_e(text)}</span></details>')


def _drift_value(value: dict) -> str:
    if value.get("slots") is not None:
        return f"{value['slots']} slots"
    return human_bytes(value.get("bytes"))


def _where(finding: dict, markdown: bool = False) -> str:
    key = finding.get("key")
    key = (_md_code(key) if markdown else f"`{key}`") if key else ""
    line = f"line {finding['line']}" if finding.get("line") else ""
    return " ".join(p for p in (key, line) if p)


def live_text(live: Mapping | None) -> str | None:
    """One sentence on the live cluster, or None when it was not read."""
    if not live:
        return None
    if not live.get("ok"):
        return f"Live cluster: the JobManager's REST API at {live.get('url')} could not be read ({live.get('msg')})."
    tms = live.get("taskmanagers") or []
    unmapped = [t["id"] for t in tms if not t.get("host")]
    jobs = live.get("jobs") or []
    running = sum(1 for j in jobs if j.get("state") == "RUNNING")
    text = (f"Live cluster at {live.get('url')} (Flink {live.get('flink_version')}): {len(tms)} TaskManagers, "
            f"{live.get('slots_total')} slots, {running} of {len(jobs)} jobs running")
    if unmapped:
        text += f"; not in the inventory: {', '.join(unmapped)}"
    return text + "."


def _live_md(live) -> list:
    text = live_text(live)
    return ["", _md(text)] if text else []


def render_markdown(report: Mapping) -> str:
    summary = report["summary"]
    g = report["gate"]
    out = [f"# {_md(report['title'])}", "",
           f"Generated {report['generated_at']} by {report['generator']['name']} "
           f"(report schema {report['schema_version']}). "
           f"Status: **{report['status'].upper()}**. "
           f"Gate `audit_fail_on={g['fail_on']}`: **{'FAIL' if g['failed'] else 'pass'}** ({_md(g['reason'])}).",
           "",
           f"{summary['hosts']} hosts; Flink {', '.join(summary['flink_versions']) or 'n/a'}; "
           f"{_plural(summary['findings']['error'], 'error')}, {_plural(summary['findings']['warning'], 'warning')}, "
           f"{_plural(summary['findings']['info'], 'note')}; "
           + (f"drift in {', '.join(summary['drift_groups'])}." if summary["drift"] else "no drift."),
           *_live_md(report.get("live")),
           "", "## Hosts", "",
           "| Host | Status | Flink | File | Memory | Container limit | Errors | Warnings |",
           "|---|---|---|---|---|---|---|---|"]
    for host in report["hosts"]:
        res = host["resources"] or {}
        limit = (f"{human_bytes(res['memory_limit_bytes'])} ({res['memory_limit_source']})"
                 if res.get("memory_limit_source") in ("inventory", "cgroup") else "")
        out.append(f"| {_md(host['name'])} | {host['status']} | {_md(host['flink_version'] or '')} | "
                   f"{_md(host['config_file'] or host['gather']['msg'])} | {_md(_host_memory_text(host))} | "
                   f"{_md(limit)} | {host['counts']['error']} | {host['counts']['warning']} |")
    out += ["", "## Drift", ""]
    if report["drift"].get("next_step"):
        head, policy, command = _next_step_text(report["drift"]["next_step"])
        out += [_md(head), "", "```yaml", policy.split(": ", 1)[1], "```", "", _md(command), ""]
    if not report["drift"]["groups"]:
        out += [_no_drift_text(report["drift"]), ""]
    elif report["drift"].get("unknown_process"):
        out += [_md(_unknown_process_text(report["drift"])), ""]
    for group in report["drift"]["groups"]:
        out.append(f"### {_md(group['name'])} ({_md(', '.join(group['hosts']))}): "
                   + ("**drift**" if group["drift"] else "consistent"))
        out.append("")
        for process, status in group["memory_status"].items():
            out.append(f"- {PROCESS_LABELS.get(process, process)} memory: {MEMORY_STATUS.get(status, status)}")
        if group["memory_status"]:
            out.append("")
        if group["keys"]:
            out += ["| Key | Value | Hosts | Note |", "|---|---|---|---|"]
            for item in group["keys"]:
                note = _key_note(item)
                for value in item["values"]:
                    majority = " (majority)" if value.get("majority") else ""
                    out.append(f"| {_md_code(item['key'])} | {_md_code(_short(value['value']))}{majority} | "
                               f"{_md(', '.join(value['hosts']))} | {_md(note)} |")
                if item["missing_on"]:
                    out.append(f"| {_md_code(item['key'])} | (not set) | {_md(', '.join(item['missing_on']))} | "
                               f"{_md(note)} |")
            out.append("")
        if group["memory"]:
            out += ["| Process | Component | Value | Hosts |", "|---|---|---|---|"]
            for item in group["memory"]:
                for value in item["values"]:
                    out.append(f"| {_md(PROCESS_LABELS.get(item['process'], item['process']))} | "
                               f"{_md(item['label'])} | {_md(_drift_value(value))} | "
                               f"{_md(', '.join(value['hosts']))} |")
            out.append("")
        for bad in group["invalid_hosts"]:
            out += [f"Flink would refuse the {PROCESS_LABELS.get(bad['process'], bad['process'])} of "
                    f"{_md(bad['host'])}: {_md(bad['error'])}", ""]
        for bad in group["failed_hosts"]:
            out += [f"Not gathered: {_md(bad['host'])}: {_md(bad['msg'])}", ""]
        for note in group["notes"]:
            out += [f"Note: {_md(note)}", ""]
    out += _failures_md(report.get("failures"))
    out += ["## Findings", ""]
    for host in report["hosts"]:
        out.append(f"### {_md(host['name'])}: {host['status']}")
        out.append("")
        if not host["findings"]:
            out += ["No findings.", ""]
            continue
        out += ["| Severity | Code | Where | Finding | Fix |", "|---|---|---|---|---|"]
        for f in host["findings"]:
            out.append(f"| {f['severity']} | {_md(f['code'])} | {_where(f, markdown=True)} | {_md(f['message'])} | "
                       f"{_md(f['fix'] or '')} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _failures_md(failures) -> list:
    out = ["## Failures", ""]
    if failures is None:
        return out + ["The logs were not read (gather with logs: true; the audit role's audit_logs).", ""]
    if not failures:
        return out + ["No failures in the logs.", ""]
    out += ["Newest first.", "", "| Time | Code | Host | Process | Evidence | Flink's message | Fix |",
            "|---|---|---|---|---|---|---|"]
    for f in failures:
        ev = f["evidence"]
        message = ev["message"] + (f" (cause: {ev['cause']})" if ev["cause"] else "")
        out.append(f"| {_md(ev['time'] or '')} | {_md(f['code'])} | {_md(f['host'])} | {_md(f['process'] or '')} | "
                   f"{_md_code(_failure_where(f))} | {_md(message)} | {_md(_failure_fix_text(f))} |")
    return out + [""]


# --- JUnit XML -------------------------------------------------------------------------------------


# Characters XML 1.0 cannot carry at all, not even as a character reference (NUL, most C0 controls,
# lone surrogates, U+FFFE/U+FFFF); Flink reads keys holding them. They are written as a visible \\xNN
# or \\uNNNN, so the file stays XML that every JUnit reader parses and still shows which key it was.
_XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_chars(text) -> str:
    return _XML_FORBIDDEN.sub(lambda m: f"\\x{ord(m[0]):02x}" if ord(m[0]) < 0x100 else f"\\u{ord(m[0]):04x}",
                              str(text))


def _xml_escape(text) -> str:
    try:
        return _xml_escaped(text)
    except TypeError:  # not hashable
        return _sax_escape(_xml_chars(text))


def _xml_attr(text) -> str:
    try:
        return _xml_quoted(text)
    except TypeError:
        return _sax_quoteattr(_xml_chars(text))


# A 10,000-host suite repeats the same check names, messages and class names (each host's, on its every case).
@functools.lru_cache(maxsize=1 << 16, typed=True)
def _xml_escaped(text) -> str:
    return _sax_escape(_xml_chars(text))


@functools.lru_cache(maxsize=1 << 16, typed=True)
def _xml_quoted(text) -> str:
    return _sax_quoteattr(_xml_chars(text))


def junit_checks(report: Mapping) -> list:
    """The check names every audited host gets a test case for (stable across hosts)."""
    codes = sorted({f["code"] for h in report["hosts"] for f in h["findings"]} - set(GATHER_CODES.values()))
    # The live audit's codes (live-*) come from the running cluster, not the linter.
    return ["gather", "memory"] + [f"{'live' if c.startswith('live-') else 'lint'}.{c}" for c in codes] + ["drift"]


def _junit_case(classname, check, *, failure=None, error=None, skipped=None, out=None) -> tuple:
    body = ""
    if failure is not None:
        message, kind, text = failure
        body += f"<failure message={_xml_attr(message)} type={_xml_attr(kind)}>{_xml_escape(text)}</failure>"
    if error is not None:
        body += f'<error message={_xml_attr(error)} type="gather">{_xml_escape(error)}</error>'
    if skipped is not None:
        body += f"<skipped message={_xml_attr(skipped)}/>"
    if out:
        body += f"<system-out>{_xml_escape(out)}</system-out>"
    return (f"<testcase classname={_xml_attr(classname)} name={_xml_attr(check)}>{body}</testcase>",
            failure is not None, error is not None, skipped is not None)


def render_junit(report: Mapping) -> str:
    """A test suite per host, a test case per check; failures are what the gate counts."""
    fail_on = report["gate"]["fail_on"]
    failing = {"error": ("error",), "warning": ("error", "warning"), "drift": ("error", "warning"),
               "never": ("error",), "failure": ("error",)}[fail_on]
    checks = junit_checks(report)
    suites = []
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for host in report["hosts"]:
        cases = []
        name = host["name"]
        classname = "flinkops.flink.audit." + name

        def case(check, **kw):
            cases.append(_junit_case(classname, check, **kw))  # noqa: B023 -- called within this iteration

        gathered = host["gather"]["ok"]
        if not gathered:
            case("gather", error=str(host["gather"]["msg"]))
            for check in checks[1:]:
                case(check, skipped="the host was not audited")
        else:
            case("gather", out=f"{host['config_file']} ({host['config_format']}), Flink {host['flink_version']}")
            invalid = [f"{p}: {m['error']}" for p, m in host["memory"].items() if not m["valid"]]
            if invalid:
                case("memory", failure=("Flink would refuse to start", "memory", "\n".join(invalid)))
            else:
                case("memory", out="; ".join(f"{p}: {human_bytes(m['sizes']['total_process'])}"
                                             for p, m in host["memory"].items()))
            for check in checks[2:-1]:
                code = check.split(".", 1)[1]
                hits = [f for f in host["findings"] if f["code"] == code]
                bad = [f for f in hits if f["severity"] in failing]
                text = "\n".join(f"{f['severity']}: {_where(f)}: {f['message']} Fix: {f['fix'] or '-'}" for f in hits)
                if bad:
                    case(check, failure=(bad[0]["message"], bad[0]["severity"], text))
                else:
                    case(check, out=text or None)
            drift_fails = fail_on == "drift" and host["in_drift"]
            drift_text = f"drift in {', '.join(host['drift_groups'])}" if host["in_drift"] else ""
            if drift_fails:
                case("drift", failure=(drift_text, "drift", drift_text))
            else:
                case("drift", out=drift_text or None)
        counts = {"tests": len(cases), "failures": sum(c[1] for c in cases), "errors": sum(c[2] for c in cases),
                  "skipped": sum(c[3] for c in cases)}
        for key in total:
            total[key] += counts[key]
        suites.append(f'  <testsuite name={_xml_attr(name)} tests="{counts["tests"]}" '
                      f'failures="{counts["failures"]}" errors="{counts["errors"]}" skipped="{counts["skipped"]}" '
                      f'timestamp={_xml_attr(report["generated_at"].rstrip("Z"))}>\n    '
                      + "\n    ".join(c[0] for c in cases) + "\n  </testsuite>")
    if report.get("failures"):
        # One test case per failure read in the logs, in a suite of their own; failing under failure only.
        cases = []
        for f in report["failures"]:
            text = f"{_failure_head(f)}\n{f['evidence']['message']}\nFix: {_failure_fix_text(f)}"
            name = f"{f['code']} {_failure_where(f)}"
            if fail_on == "failure":
                cases.append(_junit_case(f"flinkops.flink.audit.failures.{f['host']}", name,
                                         failure=(f["evidence"]["message"], f["code"], text)))
            else:
                cases.append(_junit_case(f"flinkops.flink.audit.failures.{f['host']}", name, out=text))
        n_fail = sum(c[1] for c in cases)
        total["tests"] += len(cases)
        total["failures"] += n_fail
        suites.append(f'  <testsuite name="failures" tests="{len(cases)}" failures="{n_fail}" errors="0" '
                      f'skipped="0" timestamp={_xml_attr(report["generated_at"].rstrip("Z"))}>\n    '
                      + "\n    ".join(c[0] for c in cases) + "\n  </testsuite>")
    head = (f'<testsuites name={_xml_attr(report["title"])} tests="{total["tests"]}" '
            f'failures="{total["failures"]}" errors="{total["errors"]}" skipped="{total["skipped"]}">')
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + head + "\n" + "\n".join(suites) + "\n</testsuites>\n"


# --- HTML ------------------------------------------------------------------------------------------

_CSS = """
:root{--bg:#f5f6f8;--card:#fff;--ink:#1f2328;--muted:#656d76;--line:#d8dee4;--err:#cf222e;--errbg:#ffebe9;
--warn:#9a6700;--warnbg:#fff8c5;--info:#0969da;--infobg:#ddf4ff;--ok:#1a7f37;--okbg:#dafbe1;--drift:#8250df;
--driftbg:#fbefff}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue",Arial,sans-serif}
header{background:#24292f;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header .meta{color:#c9d1d9;font-size:13px}
main{max-width:1240px;margin:0 auto;padding:20px 28px 40px}
h2{font-size:18px;margin:28px 0 10px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-top:4px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:120px}
.card .n{font-size:24px;font-weight:600}
.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card.error .n{color:var(--err)}.card.warning .n{color:var(--warn)}.card.drift .n{color:var(--drift)}
.gate{border-radius:8px;padding:10px 16px;font-weight:600;margin:14px 0 0}
.gate.fail{background:var(--errbg);color:var(--err);border:1px solid #ffcecb}
.gate.pass{background:var(--okbg);color:var(--ok);border:1px solid #aceebb}
.badge{display:inline-block;border-radius:12px;padding:1px 9px;font-size:12px;font-weight:600;
text-transform:uppercase;letter-spacing:.03em}
.b-error,.b-failed,.b-unreachable{background:var(--errbg);color:var(--err)}
.b-warning{background:var(--warnbg);color:var(--warn)}.b-info{background:var(--infobg);color:var(--info)}
.b-ok{background:var(--okbg);color:var(--ok)}.b-drift{background:var(--driftbg);color:var(--drift)}
.legend{display:flex;flex-wrap:wrap;gap:6px 16px;margin:6px 0 14px;color:var(--muted);font-size:12.5px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.toolbar{display:flex;gap:8px;align-items:center;margin:6px 0 12px}
.toolbar button{border:1px solid var(--line);background:var(--card);border-radius:6px;padding:4px 12px;
cursor:pointer;font:inherit}
.toolbar button[aria-pressed=true]{background:#24292f;color:#fff;border-color:#24292f}
.host{background:var(--card);border:1px solid var(--line);border-left:5px solid var(--ok);border-radius:8px;
margin:0 0 14px;padding:14px 18px}
.host.s-error,.host.s-failed,.host.s-unreachable{border-left-color:var(--err)}
.host.s-warning{border-left-color:#d4a72c}.host.s-info{border-left-color:var(--info)}
.host-head{display:flex;gap:10px;align-items:baseline;flex-wrap:wrap}
.host-head h3{margin:0;font-size:17px}
.host-head .facts{color:var(--muted);font-size:12.5px}
.proc{margin:12px 0 4px}
.proc-title{font-size:12.5px;color:var(--muted);margin-bottom:3px}
.proc-title b{color:var(--ink)}
.track{position:relative;height:30px;background:repeating-linear-gradient(90deg,#f6f8fa 0,#f6f8fa 9px,#eef1f4 9px,
#eef1f4 10px);border-radius:4px}
.bar{position:absolute;left:0;top:0;bottom:0;display:flex;border-radius:4px;overflow:hidden;
box-shadow:inset 0 0 0 1px rgba(0,0,0,.08)}
.seg{height:100%;min-width:1px;color:#fff;font-size:11px;line-height:30px;white-space:nowrap;overflow:hidden;
text-overflow:ellipsis;padding-left:4px}
.seg.light{color:#1f2328}
.limit{position:absolute;top:-5px;bottom:-5px;width:0;border-left:2px dashed var(--err)}
.limit span{position:absolute;top:-15px;right:4px;font-size:11px;color:var(--err);white-space:nowrap;font-weight:600}
.track.has-limit{margin-top:18px}
.limit.fits{border-left-color:#57606a}.limit.fits span{color:#57606a}
.brackets{position:relative;height:18px;font-size:11px;color:var(--muted)}
.brackets div{position:absolute;top:2px;border-top:1px solid #8c959f;text-align:center;padding-top:1px;
white-space:nowrap;overflow:hidden}
.refused{background:var(--errbg);border:1px solid #ffcecb;color:var(--err);border-radius:6px;padding:8px 10px;
font-size:13px}
.refused b{display:block;margin-bottom:2px}
table{border-collapse:collapse;width:100%;margin:8px 0 2px;font-size:13px}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid var(--line)}
th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
table.overview{background:var(--card);border:1px solid var(--line);border-radius:8px}
table.overview a{color:var(--info);font-weight:600;text-decoration:none}
tr.sev-error td:first-child{box-shadow:inset 3px 0 var(--err)}
tr.sev-warning td:first-child{box-shadow:inset 3px 0 #d4a72c}
tr.sev-info td:first-child{box-shadow:inset 3px 0 var(--info)}
td.fix{color:#1a4d2e}
.drift-group{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 18px;margin:0 0 14px}
.drift-group.on{border-left:5px solid var(--drift)}
.drift-group h3{margin:0 0 4px;font-size:16px}
tr.differs td{background:var(--driftbg)}
.vals{display:flex;flex-wrap:wrap;gap:2px 14px}
td.code{white-space:nowrap}
.chip{display:inline-block;background:#eaeef2;border-radius:10px;padding:0 7px;margin:1px 2px;font-size:12px}
details{margin-top:8px}
.legend{display:flex;flex-wrap:wrap;gap:2px 12px;font-size:12px;margin-top:4px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.next-step{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;margin:8px 0}
.next-step pre{white-space:pre-wrap;margin:6px 0}
details.long{display:inline;margin:0}details.long summary{cursor:pointer;display:inline}
details.long[open] summary{display:none}
summary{cursor:pointer;color:var(--muted);font-size:12.5px}
.muted{color:var(--muted)}
footer{color:var(--muted);font-size:12px;margin-top:30px}
"""

_JS = """
(function () {
  var buttons = document.querySelectorAll('.toolbar button');
  function show(mode) {
    document.querySelectorAll('.host').forEach(function (el) {
      var problem = el.getAttribute('data-problem') === 'true';
      el.style.display = (mode === 'problems' && !problem) ? 'none' : '';
    });
    buttons.forEach(function (b) { b.setAttribute('aria-pressed', String(b.getAttribute('data-mode') === mode)); });
  }
  buttons.forEach(function (b) { b.addEventListener('click', function () { show(b.getAttribute('data-mode')); }); });
  show('all');
}());
"""


def _e(text) -> str:
    return _escaped("" if text is None else str(text))


@functools.lru_cache(maxsize=1 << 16)  # a 10,000-host page escapes the same names and sizes over and over
def _escaped(text: str) -> str:
    return html.escape(text, quote=True)


def _light(color: str) -> bool:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    return (0.299 * r + 0.587 * g + 0.114 * b) > 150


def _bar(process: str, mem: dict, scale: int, limit, limit_source, note: str) -> str:
    label = PROCESS_LABELS[process]
    if not mem["valid"]:
        return (f'<div class="proc"><div class="proc-title"><b>{label}</b></div>'
                f'<div class="refused"><b>Flink would refuse to start this {label}</b>{_e(mem["error"])}</div></div>')
    sizes = mem["sizes"]
    total = sizes["total_process"]
    width = 100.0 * total / scale if scale else 0
    segs, legend = [], []
    for key, name, color in COMPONENTS[process]:
        value = sizes.get(key) or 0
        if not value:
            continue
        share = 100.0 * value / total
        # A label only where it fits whole; every size is in the legend below, without hovering.
        text = f"{name} {human_bytes(value)}" if share * width / 100 >= 14 else ""
        cls = "seg light" if _light(color) else "seg"
        segs.append(f'<div class="{cls}" style="width:{share:.4f}%;background:{color}" '
                    f'title="{_e(name)}: {_e(human_bytes(value))} ({value} bytes)">{_e(text)}</div>')
        legend.append(f'<span><i style="background:{color}"></i>{_e(name)} {_e(human_bytes(value))}</span>')
    flink = sizes["total_flink"]
    split = width * flink / total
    brackets = (f'<div style="left:0;width:{split:.4f}%">Total Flink Memory {_e(human_bytes(flink))}</div>'
                f'<div style="left:{split:.4f}%;width:{width - split:.4f}%">JVM</div>')
    marker = ""
    if limit and limit_source in ("inventory", "cgroup") or (limit and total > limit):
        pos = 100.0 * limit / scale
        fits = "limit" if total > limit else "limit fits"
        what = {"inventory": "container limit", "cgroup": "cgroup limit", "ram": "host RAM"}[limit_source]
        marker = (f'<div class="{fits}" style="left:{pos:.4f}%" title="{_e(what)}: {_e(human_bytes(limit))}">'
                  f'<span>{_e(what)} {_e(human_bytes(limit))}</span></div>')
    jvm = mem["jvm"] or {}
    direct = human_bytes(jvm["direct"]) if jvm.get("direct") is not None else "not set"
    facts = [f"Total Process <b>{_e(human_bytes(total))}</b>", f"-Xmx {_e(human_bytes(jvm.get('heap')))}",
             f"MaxDirectMemorySize {_e(direct)}", f"sizing: {_e(mem['sizing_path'])}"]
    if process == "taskmanager" and mem.get("slots"):
        facts.append(f"{mem['slots']} slots, managed/slot {_e(human_bytes(mem['managed_per_slot']))}")
    if note:
        facts.append(note)
    return (f'<div class="proc"><div class="proc-title"><b>{label}</b> &middot; {" &middot; ".join(facts)}</div>'
            f'<div class="track{" has-limit" if marker else ""}"><div class="bar" style="width:{width:.4f}%">'
            f'{"".join(segs)}</div>{marker}</div>'
            f'<div class="brackets">{brackets}</div><div class="legend">{"".join(legend)}</div></div>')


def _findings_table(findings: list) -> str:
    if not findings:
        return '<p class="muted">No findings.</p>'
    rows = []
    for f in findings:
        where = _e(f["key"] or "")
        if f.get("line"):
            where += f' <span class="muted">line {_e(f["line"])}</span>'
        rows.append(f'<tr class="sev-{f["severity"]}"><td><span class="badge b-{f["severity"]}">{f["severity"]}</span>'
                    f'</td><td class="mono code">{_e(f["code"])}</td><td class="mono">{where}</td>'
                    f'<td>{_e(f["message"])}</td><td class="fix">{_e(f["fix"] or "")}</td></tr>')
    return ('<table><thead><tr><th>Severity</th><th>Code</th><th>Where</th><th>Finding</th><th>Fix</th></tr>'
            '</thead><tbody>' + "".join(rows) + "</tbody></table>")


def _failures_html(failures) -> str:
    if failures is None:
        return '<p class="muted">The logs were not read (gather with logs: true; the audit role\'s audit_logs).</p>'
    if not failures:
        return '<p class="muted">No failures in the logs.</p>'
    rows = []
    for f in failures:
        ev = f["evidence"]
        cause = f'<div class="muted">cause: {_e(ev["cause"])}</div>' if ev["cause"] else ""
        rows.append(f'<tr class="sev-{_e(f["severity"])}"><td class="mono">{_e(ev["time"] or "")}</td>'
                    f'<td class="mono code">{_e(f["code"])}</td><td>{_e(f["host"])}</td>'
                    f'<td>{_e(f["process"] or "")}</td><td class="mono">{_e(_failure_where(f))}</td>'
                    f'<td class="mono">{_e(ev["message"])}{cause}</td>'
                    f'<td class="fix">{_e(_failure_fix_text(f))}</td></tr>')
    return ('<p class="muted">Newest first.</p><table><thead><tr><th>Time</th><th>Code</th><th>Host</th>'
            '<th>Process</th><th>Evidence</th><th>Flink\'s message</th><th>Fix</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


# values whose text is their identity: ints (not bools, not floats, which compare equal to them) and None;
# texts: str and None (exact types: a subclass may print otherwise)
_EXACT = frozenset((int, type(None)))
_TEXTS = frozenset((str, type(None)))


def _bar_once(cache, process: str, mem: dict, scale, limit, limit_source, note: str) -> str:
    """_bar, made once per distinct memory of a page (the hosts of a group share a few): ``cache`` maps all
    that _bar reads to its HTML (the scale is one for the page). Only values that print as they compare
    (ints, strings, None) make keys; anything else is rendered directly."""
    if cache is None:
        return _bar(process, mem, scale, limit, limit_source, note)
    if not mem["valid"]:
        key = (process, False, mem["error"]) if type(mem["error"]) in _TEXTS else None
    else:
        sizes, jvm = mem["sizes"], mem["jvm"] or {}
        parts = (mem.get("slots"), mem.get("managed_per_slot"), limit)
        texts = (mem["sizing_path"], limit_source, note)
        key = None
        if isinstance(sizes, dict) and isinstance(jvm, dict) and _EXACT.issuperset(map(type, parts)) \
                and _EXACT.issuperset(map(type, sizes.values())) and _EXACT.issuperset(map(type, jvm.values())) \
                and _TEXTS.issuperset(map(type, texts)):
            key = (process, True, tuple(sizes.items()), tuple(jvm.items()), parts, texts)
    if key is None:
        return _bar(process, mem, scale, limit, limit_source, note)
    text = cache.get(key)
    if text is None:
        text = cache[key] = _bar(process, mem, scale, limit, limit_source, note)
    return text


def _host_html(host: dict, scale: int, drift_keys: dict, bar_cache: dict | None = None) -> str:
    status = host["status"]
    problem = status in ("error", "warning", "failed", "unreachable")
    head = (f'<div class="host-head"><h3 id="host-{_e(host["name"])}">{_e(host["name"])}</h3>'
            f'<span class="badge b-{status}">{status}</span>')
    if host["in_drift"]:
        head += '<span class="badge b-drift">drift</span>'
    if not host["gather"]["ok"]:
        head += "</div>"
        body = f'<div class="refused"><b>Not audited</b>{_e(host["gather"]["msg"])}</div>'
        return (f'<section class="host s-{status}" data-problem="true">{head}{body}'
                f'{_findings_table(host["findings"])}</section>')
    res = host["resources"] or {}
    facts = [f"Flink {_e(host['flink_version'])}", _e(", ".join(PROCESS_LABELS[p] for p in host["processes"])),
             f'<span class="mono">{_e(host["config_file"])}</span> ({_e(host["config_format"])})']
    if res.get("mem_total_bytes"):
        facts.append(f"RAM {_e(human_bytes(res['mem_total_bytes']))}")
    if res.get("cpu_count"):
        facts.append(f"{_e(res['cpu_count'])} CPUs")
    head += f'<span class="facts">{" &middot; ".join(facts)}</span></div>'
    bars = []
    limit, source = res.get("memory_limit_bytes"), res.get("memory_limit_source")
    valid = [host["memory"][p]["sizes"]["total_process"] for p in host["processes"] if host["memory"][p]["valid"]]
    together = sum(valid)
    for process in host["processes"]:
        note = ""
        if len(valid) > 1:
            note = f"both processes together {_e(human_bytes(together))}"
        bars.append(_bar_once(bar_cache, process, host["memory"][process], scale, limit, source, note))
    if not host["processes"]:
        bars.append('<p class="muted">This host runs neither a JobManager nor a TaskManager (not in '
                    'flink_jobmanager or flink_taskmanager).</p>')
    extra = []
    if host["ignored_files"]:
        extra.append("Ignored by Flink: " + "; ".join(f"{_e(i['name'])} ({_e(i['reason'])})"
                                                      for i in host["ignored_files"]))
    config_rows = []
    for key, value in host["config"].items():
        differs = key in drift_keys.get(host["name"], ())
        line = host["config_lines"].get(key, "")
        config_rows.append(f'<tr class="{"differs" if differs else ""}"><td class="mono">{_e(key)}</td>'
                           f'<td class="mono">{_e(value)}</td><td class="muted">{_e(line)}</td></tr>')
    config = (f'<details><summary>Configuration as Flink reads it ({len(host["config"])} keys; sensitive values '
              f'redacted; drifting keys highlighted)</summary><table><thead><tr><th>Key</th><th>Value</th>'
              f'<th>Line</th></tr></thead><tbody>{"".join(config_rows)}</tbody></table></details>')
    extras = "".join(f'<p class="muted">{x}</p>' for x in extra)
    return (f'<section class="host s-{status}" data-problem="{str(problem).lower()}">{head}{"".join(bars)}'
            f'{extras}{_findings_table(host["findings"])}{config}</section>')


def _cells(cells: list) -> str:
    return '<div class="vals">' + "".join(f"<span>{c}</span>" for c in cells) + "</div>"


def _unknown_process_text(drift: Mapping) -> str:
    return (f"Not compared (process unknown: in neither flink_jobmanager nor flink_taskmanager): "
            f"{', '.join(drift['unknown_process'])}.")


def _no_drift_text(drift: Mapping) -> str:
    if drift.get("unknown_process"):
        return "No drift analysis: no audited host's process is known. " + _unknown_process_text(drift)
    return "No drift analysis."


def _drift_html(groups: list, drift: Mapping | None = None) -> str:
    drift = drift or {}
    if not groups:
        return f'<p class="muted">{_e(_no_drift_text(drift))}</p>'
    out = []
    if drift.get("unknown_process"):
        out.append(f'<p class="muted">{_e(_unknown_process_text(drift))}</p>')
    if drift.get("next_step"):
        head, policy, command = _next_step_text(drift["next_step"])
        out.append(f'<div class="next-step"><b>{_e(head)}</b><pre class="mono">{_e(policy.split(": ", 1)[1])}</pre>'
                   f'<p class="muted">{_e(command)}</p></div>')
    for group in groups:
        state = ('<span class="badge b-drift">drift</span>' if group["drift"]
                 else '<span class="badge b-ok">consistent</span>')
        status = " &middot; ".join(f"{_e(PROCESS_LABELS.get(p, p))} memory: <b>{_e(MEMORY_STATUS.get(s, s))}</b>"
                                   for p, s in group["memory_status"].items())
        versions = " &middot; ".join(f"Flink {_e(v)} on {_e(', '.join(hs))}"
                                     for v, hs in group["flink_versions"].items())
        parts = [f'<div class="drift-group {"on" if group["drift"] else ""}"><h3>{_e(group["name"])} {state}</h3>'
                 f'<div class="muted">{_e(", ".join(group["hosts"]))}</div>'
                 f'<div class="muted">{versions}</div><div>{status}</div>']
        if group["keys"]:
            rows = []
            for item in group["keys"]:
                cells = [f'{_value_html(v["value"])} on {_e(", ".join(v["hosts"]))}'
                         + (' <span class="muted">(majority)</span>' if v.get("majority") else "")
                         for v in item["values"]]
                if item["missing_on"]:
                    cells.append(f'<span class="chip">not set</span> on {_e(", ".join(item["missing_on"]))}')
                cls = "differs" if item["counted"] and item["kind"] != "other" and not item["equivalent"] else ""
                rows.append(f'<tr class="{cls}"><td class="mono">{_e(item["key"])}</td><td>{_cells(cells)}</td>'
                            f'<td class="muted">{_e(_key_note(item))}</td></tr>')
            parts.append('<table><thead><tr><th>Key that differs</th><th>Values</th><th>Note</th></tr></thead><tbody>'
                         + "".join(rows) + "</tbody></table>")
        if group["memory"]:
            rows = []
            for item in group["memory"]:
                cells = [f'<span class="chip">{_e(_drift_value(v))}</span> on {_e(", ".join(v["hosts"]))}'
                         for v in item["values"]]
                rows.append(f'<tr class="differs"><td>{_e(PROCESS_LABELS.get(item["process"], item["process"]))}</td>'
                            f'<td>{_e(item["label"])}</td><td>{_cells(cells)}</td></tr>')
            parts.append('<table><thead><tr><th>Process</th><th>Effective memory that differs</th><th>Values</th>'
                         '</tr></thead><tbody>' + "".join(rows) + "</tbody></table>")
        for bad in group["invalid_hosts"]:
            parts.append(f'<p class="refused"><b>Flink would refuse the '
                         f'{_e(PROCESS_LABELS.get(bad["process"], bad["process"]))} of {_e(bad["host"])}</b>'
                         f'{_e(bad["error"])}</p>')
        for bad in group["failed_hosts"]:
            parts.append(f'<p class="refused"><b>Not gathered: {_e(bad["host"])}</b>{_e(bad["msg"])}</p>')
        for note in group["notes"]:
            parts.append(f'<p class="muted">Note: {_e(note)}</p>')
        if not (group["keys"] or group["memory"]):
            parts.append('<p class="muted">Same keys and the same memory on every host.</p>')
        out.append("".join(parts) + "</div>")
    return "".join(out)


def _stripe(status: str) -> str:
    """The row's stripe: its severity; a host not audited is an error; an OK host has none (drift or not)."""
    if status in SEVERITIES:
        return status
    return "ok" if status == "ok" else "error"


def _overview_html(hosts: list) -> str:
    rows = []
    for host in hosts:
        res = host["resources"] or {}
        limit = ""
        if res.get("memory_limit_source") in ("inventory", "cgroup"):
            limit = f"{human_bytes(res['memory_limit_bytes'])} ({res['memory_limit_source']})"
        codes = sorted({f["code"] for f in host["findings"] if f["severity"] != "info"})
        drift = ' <span class="badge b-drift">drift</span>' if host["in_drift"] else ""
        rows.append(
            f'<tr class="sev-{_e(_stripe(host["status"]))}">'
            f'<td><a href="#host-{_e(host["name"])}">{_e(host["name"])}</a></td>'
            f'<td><span class="badge b-{_e(host["status"])}">{_e(host["status"])}</span>{drift}</td>'
            f'<td>{_e(host["flink_version"] or "")}</td><td>{_e(host["config_format"] or "")}</td>'
            f'<td>{_e(_host_memory_text(host) or host["gather"]["msg"] or "")}</td><td>{_e(limit)}</td>'
            f'<td>{host["counts"]["error"]}</td><td>{host["counts"]["warning"]}</td>'
            f'<td class="mono">{_e(", ".join(codes))}</td></tr>')
    return ('<table class="overview"><thead><tr><th>Host</th><th>Status</th><th>Flink</th><th>Format</th>'
            '<th>Memory</th><th>Container limit</th><th>Errors</th><th>Warnings</th><th>Codes</th></tr></thead>'
            '<tbody>' + "".join(rows) + "</tbody></table>")


def render_html(report: Mapping) -> str:
    """One self-contained page: inline CSS and JS, no external assets."""
    summary = report["summary"]
    hosts = report["hosts"]
    totals = [m["sizes"]["total_process"] for h in hosts for m in h["memory"].values() if m["valid"]]
    limits = [h["resources"]["memory_limit_bytes"] for h in hosts
              if h["resources"] and h["resources"]["memory_limit_source"] in ("inventory", "cgroup")]
    biggest = max(totals or [1])
    # Bars share one scale so hosts compare at a glance; a far-away limit must not squash them.
    scale = max([biggest] + [x for x in limits if x and x <= 2 * biggest]) * 1.04
    drift_keys: dict = {}
    for group in report["drift"]["groups"]:
        for item in group["keys"]:
            for value in item["values"]:
                for host in value["hosts"]:
                    drift_keys.setdefault(host, set()).add(item["key"])
    bar_cache: dict = {}  # scale is one for the page
    by = summary["hosts_by_status"]
    cards = [
        ("", summary["hosts"], "hosts"),
        ("error", summary["findings"]["error"], "errors"),
        ("warning", summary["findings"]["warning"], "warnings"),
        ("", summary["findings"]["info"], "notes"),
        ("drift", len(summary["drift_groups"]), "groups with drift"),
        ("error" if by["failed"] + by["unreachable"] else "", by["failed"] + by["unreachable"], "not audited"),
    ]
    g = report["gate"]
    legend = []
    seen = set()
    for process in ("taskmanager", "jobmanager"):
        for _key, name, color in COMPONENTS[process]:
            if name not in seen:
                seen.add(name)
                legend.append(f'<span><i style="background:{color}"></i>{_e(name)}</span>')
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report['title'])}</title><style>{_CSS}</style></head><body>",
        f'<header><h1>{_e(report["title"])}</h1><div class="meta">Generated {_e(report["generated_at"])} by '
        f'{_e(report["generator"]["name"])} &middot; report schema {_e(report["schema_version"])} &middot; Flink '
        f'{_e(", ".join(summary["flink_versions"]) or "n/a")}</div></header><main>',
        '<div class="cards">' + "".join(f'<div class="card {c}"><div class="n">{_e(n)}</div><div class="l">{_e(lbl)}'
                                        '</div></div>' for c, n, lbl in cards) + "</div>",
        f'<div class="gate {"fail" if g["failed"] else "pass"}">Gate audit_fail_on={_e(g["fail_on"])}: '
        f'{"FAIL" if g["failed"] else "pass"} &mdash; {_e(g["reason"])}</div>',
        f'<p class="muted live">{_e(live_text(report.get("live")))}</p>' if report.get("live") else "",
        "<h2>Overview</h2>",
        _overview_html(hosts),
        "<h2>Drift</h2>",
        _drift_html(report["drift"]["groups"], report["drift"]),
        '<h2 id="failures">Failures</h2>',
        _failures_html(report.get("failures")),
        "<h2>Hosts</h2>",
        f'<div class="legend">{"".join(legend)}</div>',
        '<div class="toolbar"><span class="muted">Show</span><button type="button" data-mode="all" '
        'aria-pressed="true">all hosts</button><button type="button" data-mode="problems" aria-pressed="false">'
        "hosts with errors or warnings</button></div>",
        *[_host_html(h, scale, drift_keys, bar_cache) for h in hosts],
        '<footer>Memory bars share one scale; hover a segment for its exact size in bytes. Sizes are what '
        "Flink computes from each host's file for its own Flink version.</footer>",
        f"</main><script>{_JS}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


# --- files ------------------------------------------------------------------------------------------


# json.dumps(report, indent=2) byte for byte, faster: with an indent, json.dumps runs Python's pure-Python
# encoder (a generator per container), which over a 10,000-host report took a second. Here a container of
# scalars only (most of a report: config, sizes, counts, host lists) goes through json's C encoder, whose item
# separator is the newline and indent of its depth; the rest is walked in Python, scalars through the same C
# string encoder and the same number reprs. tests/unit/plugins/plugin_utils/test_report_render_speed.py compares.
_INFINITY = float("inf")
_LEAF_TYPES = frozenset((str, int, float, bool, type(None)))
_LEAF_ENCODERS: dict = {}


def _no_default(value):
    raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")


def _leaf_encoder(inner: str):
    """json's encoder (the C one where Python has it, as json.dumps without an indent uses) that puts ``inner``
    (newline and indent) between the items of a container of scalars; returns its text in chunks."""
    if _json_c_encoder is not None:
        # the arguments json.JSONEncoder.iterencode gives it: no circular check (scalars only), ensure_ascii,
        # allow_nan, no sort_keys, no skipkeys
        return _json_c_encoder(None, _no_default, _json_str, None, ": ", "," + inner, False, False, True)
    encoder = json.JSONEncoder(separators=("," + inner, ": "))
    return lambda value, _level: encoder.iterencode(value)


def _leaf_text(value, inner: str) -> str:
    """The text of a container of scalars, ``inner`` between its items (without the newline after the bracket)."""
    encode = _LEAF_ENCODERS.get(inner)
    if encode is None:
        encode = _LEAF_ENCODERS[inner] = _leaf_encoder(inner)
    return "".join(encode(value, 0))


def _json_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value == _INFINITY:
        return "Infinity"
    if value == -_INFINITY:
        return "-Infinity"
    return float.__repr__(value)


def _json_key(key) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, float):
        return _json_float(key)
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, int):
        return int.__repr__(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")


def _json_scalar(value):
    if isinstance(value, str):
        return _json_str(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _json_float(value)
    return None


def _json_dump(value, newline: str, out: list) -> None:
    # the order of json's encoder (a scalar, a list or tuple, a dict) does not matter: no type is two of them
    if isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + "  "
        if _LEAF_TYPES.issuperset(map(type, value.values())):
            out.append("{" + inner + _leaf_text(value, inner)[1:-1] + newline + "}")
            return
        sep = "{" + inner
        for key, item in value.items():
            if not isinstance(key, str):
                key = _json_key(key)
            kind = type(item)
            if kind is str:
                out.append(sep + _json_str(key) + ": " + _json_str(item))
            elif kind is int:
                out.append(sep + _json_str(key) + ": " + int.__repr__(item))
            else:
                out.append(sep + _json_str(key) + ": ")
                _json_dump(item, inner, out)
            sep = "," + inner
        out.append(newline + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        if _LEAF_TYPES.issuperset(map(type, value)):
            out.append("[" + inner + _leaf_text(value, inner)[1:-1] + newline + "]")
            return
        sep = "[" + inner
        for item in value:
            if type(item) is str:  # pylint: disable=unidiomatic-typecheck  # exact: a subclass takes the long way
                out.append(sep + _json_str(item))
            else:
                out.append(sep)
                _json_dump(item, inner, out)
            sep = "," + inner
        out.append(newline + "]")
    else:
        text = _json_scalar(value)
        if text is None:
            raise TypeError(f"Object of type {value.__class__.__name__} is not JSON serializable")
        out.append(text)


def json_text(report) -> str:
    """``json.dumps(report, indent=2) + "\\n"``, the same text, faster."""
    out: list = []
    _json_dump(report, "\n", out)
    out.append("\n")
    return "".join(out)


RENDERERS = {
    "json": json_text,
    "markdown": render_markdown,
    "html": render_html,
    "junit": render_junit,
}


def render(report: Mapping, fmt: str) -> str:
    if fmt not in RENDERERS:
        raise ReportError(f"unknown report format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return RENDERERS[fmt](report)


def write_atomic(path: str, text: str, mode: int = 0o644) -> bool:
    """Write ``text`` to ``path`` through a temporary file in the same directory; True if it changed."""
    data = text.encode("utf-8")
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".flink-audit.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


# From this many hosts the HTML and JUnit files are rendered and written by a forked child while this process does
# the rest: over 10,000 hosts the four renderers take seconds, the two halves about the same (the report is shared
# with the child copy-on-write, not copied). Below it a fork costs more than it saves.
PARALLEL_MIN_HOSTS = 2000
CHILD_FORMATS = ("html", "junit")


def _render_and_write(report: Mapping, items: list) -> bool:
    changed = False
    for fmt, path in items:
        changed |= write_atomic(path, render(report, fmt))
    return changed


def _write_in_child(report: Mapping, items: list):
    """Start a forked child that renders and writes ``items``; returns a function that waits for it and gives its
    ``changed`` (a failure comes back as a ReportError with the child's message: host, file and cause as before)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: reports through the pipe and leaves without running the parent's exit handlers
        status = 1
        try:
            os.close(read_fd)
            message = b"1" if _render_and_write(report, items) else b"0"
            status = 0
        except BaseException as exc:  # noqa: BLE001 -- every failure goes back to the parent as its message
            message = b"!" + str(exc).encode("utf-8", "replace")
        finally:
            with contextlib.suppress(OSError):
                os.write(write_fd, message)
            os._exit(status)
    os.close(write_fd)

    def wait() -> bool:
        with os.fdopen(read_fd, "rb") as pipe:
            message = pipe.read()
        status = os.waitpid(pid, 0)[1]
        if status != 0 or message[:1] not in (b"0", b"1"):
            why = message[1:].decode("utf-8", "replace") if message[:1] == b"!" else f"its process ended ({status})"
            raise ReportError(why)
        return message == b"1"

    return wait


def write_reports(report: Mapping, directory: str, formats=FORMATS, *, write: bool = True) -> tuple:
    """Render ``formats`` into ``directory`` (created if missing); returns (paths, changed)."""
    unknown = [f for f in formats if f not in RENDERERS]
    if unknown:
        raise ReportError(f"unknown report format(s) {', '.join(map(str, unknown))}: expected {', '.join(FORMATS)}")
    directory = os.path.abspath(os.path.expanduser(directory))
    paths = {fmt: os.path.join(directory, FILE_NAMES[fmt]) for fmt in FORMATS if fmt in formats}
    if not write:
        return paths, True
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ReportError(f"audit report directory {directory} exists and is not a directory")
    os.makedirs(directory, exist_ok=True)
    items = list(paths.items())
    child = [(fmt, path) for fmt, path in items if fmt in CHILD_FORMATS]
    if len(report.get("hosts") or ()) >= PARALLEL_MIN_HOSTS and child and len(child) < len(items) \
            and hasattr(os, "fork"):
        wait = _write_in_child(report, child)
        try:
            changed = _render_and_write(report, [item for item in items if item not in child])
        finally:
            changed_in_child = wait()  # always reaped, and its failure raised, even when this half failed
        return paths, changed or changed_in_child
    return paths, _render_and_write(report, items)
