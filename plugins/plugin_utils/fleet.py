# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet analysis over ``flink_config_info`` results: grouping and configuration drift.

``results`` maps an inventory hostname to what the gather registered for it.  Hosts are
grouped by the Flink processes they run or by an explicit mapping (inventory groups); in
each group ``drift`` tells keys whose values differ from memory that differs, because the
two do not imply each other: ``1728m`` and ``1728 mb`` are different text for the same
memory, and the same keys can size a process differently on two Flink versions.

Identical configurations are analysed once (fleets are mostly copies of a few files); the
``dedupe=False`` path analyses host by host and must give the same answer (it is the
benchmark's baseline and a test oracle).  Never imports Ansible.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.java_types import (
    JavaNumberFormatError,
    parse_double,
    parse_float,
    parse_int,
)
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import PROCESS_KINDS, compute
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import (
    MemorySizeError,
    parse_bytes,
)

GROUP_BY_CHOICES = ("process", "all")
PROCESSES = tuple(sorted(PROCESS_KINDS))  # jobmanager, taskmanager: the order groups are shown in


class FleetError(ValueError):
    """A bad call: ``results`` or ``group_by`` not of an accepted shape."""


# --- Small shared helpers (plan.py uses them too) ----------------------------------------------

_DIGITS = re.compile(r"(\d+)")


def natural_key(name) -> tuple:
    """Sort key putting tm2 before tm10; the name itself breaks ties (tm01 vs tm1)."""
    text = str(name)
    parts = _DIGITS.split(text)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), text


def natural_sorted(names) -> list:
    return sorted(names, key=natural_key)


def human_bytes(size) -> str:
    """Short, exact when it can be: ``1 GiB``, ``1728 MiB``, else MiB to 1 decimal plus bytes."""
    if size is None:
        return "unknown"
    if size == 0:
        return "0 B"
    for shift, unit in ((40, "TiB"), (30, "GiB"), (20, "MiB")):
        if size % (1 << shift) == 0:
            return f"{size >> shift} {unit}"
    if size < 1 << 20:
        return f"{size} B"
    return f"{size / (1 << 20):.1f} MiB ({size} bytes)"


def host_list(hosts, limit: int = 6) -> str:
    """Hosts for a message, shortened on big fleets."""
    hosts = list(hosts)
    if len(hosts) <= limit:
        return ", ".join(hosts)
    return ", ".join(hosts[:limit]) + f" and {len(hosts) - limit} more"


# Sensitive for display if any Flink line calls it sensitive: a 2.2 host would show a key
# in clear that a 2.3 host redacts, and the clear value may be the same secret.
_ALL_SENSITIVE = tuple(sorted({p for pats in opts.SENSITIVE_PATTERNS.values() for p in pats}))


@lru_cache(maxsize=8192)
def is_sensitive_anywhere(key: str) -> bool:
    lowered = key.lower()
    return any(p in lowered for p in _ALL_SENSITIVE)


def memory_keys(process: str) -> frozenset:
    """Keys that can change what Flink computes for ``process`` (every line, fallbacks, blog-only keys)."""
    return _MEMORY_KEYS[process]


def _memory_keys(process):
    keys = set()
    for option in opts.PROCESSES[process].values():
        keys.update(option.names())
    keys.update(k for k in opts.IMAGINARY_KEYS if k.startswith((process + ".", "flink.")))
    return frozenset(keys)


_MEMORY_KEYS = {p: _memory_keys(p) for p in PROCESS_KINDS}

# Every name (key or deprecated key) of a typed option -> the option.
_OPTION_BY_NAME = {}
for _process in PROCESS_KINDS:
    for _option in opts.PROCESSES[_process].values():
        for _name in _option.names():
            _OPTION_BY_NAME.setdefault(_name, _option)


def option_for(key: str):
    return _OPTION_BY_NAME.get(key)


def typed_value(option: opts.Option, text):
    """The value as Flink reads it (bytes, widened float, int...); the text itself when Flink would not."""
    text = str(text)
    try:
        if option.kind == "memory":
            return ("bytes", parse_bytes(text))
        if option.kind == "float":
            return ("number", parse_float(text))
        if option.kind == "double":
            return ("number", parse_double(text))
        if option.kind == "int":
            return ("number", parse_int(text))
        if option.kind == "bool" and text.upper() in ("TRUE", "FALSE"):
            return ("bool", text.upper() == "TRUE")
    except (MemorySizeError, JavaNumberFormatError, ValueError):
        pass
    return ("text", text.strip())


def typed_default(option: opts.Option):
    if option.default is None:
        return None
    if option.kind == "float":
        return ("number", parse_float(repr(option.default)))
    if option.kind == "memory":
        return ("bytes", option.default)
    if option.kind in ("int", "double"):
        return ("number", option.default)
    if option.kind == "bool":
        return ("bool", option.default)
    return ("text", str(option.default))


# --- Results and groups ------------------------------------------------------------------------


def _failure(result) -> str | None:
    """Why a registered result cannot be analysed, or None when it can."""
    if not isinstance(result, Mapping):
        return f"no flink_config_info result (got {type(result).__name__})"
    if result.get("unreachable"):
        return "unreachable: " + str(result.get("msg") or "no message")
    if result.get("failed"):
        return str(result.get("msg") or "the gather failed without a message")
    if result.get("skipped"):
        return "the gather task was skipped" + (f": {result['skip_reason']}" if result.get("skip_reason") else "")
    if not isinstance(result.get("config"), Mapping) or not result.get("flink_version"):
        return "not a flink_config_info result (no config or flink_version)"
    try:
        opts.minor_line(result["flink_version"])
    except ValueError as exc:
        return str(exc)
    return None


def split_results(results) -> tuple[dict, list]:
    """(hostname -> usable result, [{host, msg}] for hosts that failed to gather), hosts sorted."""
    if not isinstance(results, Mapping):
        raise FleetError(
            f"results must be a mapping of inventory hostname to the registered flink_config_info result, "
            f"got {type(results).__name__}"
        )
    ok, failed = {}, []
    for host in natural_sorted(results):
        why = _failure(results[host])
        if why is None:
            ok[str(host)] = results[host]
        else:
            failed.append({"host": str(host), "msg": why})
    return ok, failed


def processes_of(result) -> list:
    procs = result.get("processes")
    if not isinstance(procs, (list, tuple)):
        return []
    return [p for p in PROCESSES if p in procs]


def resolve_groups(group_by, ok: Mapping, failed: list) -> tuple[dict, list, str]:
    """({group: {"hosts": [...], "failed": [...], "not_gathered": [...]}}, ungrouped hosts, mode)."""
    failed_by_host = {f["host"]: f for f in failed}
    groups = {}
    if isinstance(group_by, str):
        if group_by not in GROUP_BY_CHOICES:
            raise FleetError(
                f"group_by must be one of {', '.join(GROUP_BY_CHOICES)} or a mapping of group name to a list "
                f"of hosts, got {group_by!r}"
            )
        if group_by == "all":
            groups["all"] = {"hosts": list(ok), "failed": list(failed), "not_gathered": []}
            return groups, [], "all"
        for process in PROCESSES:
            hosts = [h for h in ok if process in processes_of(ok[h])]
            if hosts:
                # A failed host's processes are unknown: it is reported once, at the top level.
                groups[process] = {"hosts": hosts, "failed": [], "not_gathered": []}
        ungrouped = [h for h in ok if not processes_of(ok[h])]
        return groups, ungrouped, "process"
    if not isinstance(group_by, Mapping):
        raise FleetError(
            f"group_by must be one of {', '.join(GROUP_BY_CHOICES)} or a mapping of group name to a list "
            f"of hosts, got {type(group_by).__name__}"
        )
    seen = set()
    for name in natural_sorted(group_by):
        members = group_by[name]
        if isinstance(members, str) or not isinstance(members, (list, tuple, set, frozenset)):
            raise FleetError(f"group_by[{name!r}] must be a list of inventory hostnames, got {type(members).__name__}")
        members = natural_sorted({str(m) for m in members})
        seen.update(members)
        groups[str(name)] = {
            "hosts": [h for h in members if h in ok],
            "failed": [failed_by_host[h] for h in members if h in failed_by_host],
            "not_gathered": [h for h in members if h not in ok and h not in failed_by_host],
        }
    ungrouped = [h for h in ok if h not in seen]
    return groups, ungrouped, "mapping"


@lru_cache(maxsize=4096)
def _compute_cached(items: frozenset, process: str, version: str) -> dict:
    return compute(dict(items), process, version)


def host_memory(result: Mapping, process: str) -> dict:
    """The gathered memory model of ``process``; computed from the config when the result lacks it."""
    memory = result.get("memory")
    if isinstance(memory, Mapping) and isinstance(memory.get(process), Mapping) and "valid" in memory[process]:
        return memory[process]
    keys = memory_keys(process)
    items = frozenset((k, v) for k, v in result["config"].items() if k in keys)
    return _compute_cached(items, process, str(result["flink_version"]))


# --- Drift -------------------------------------------------------------------------------------


def _comparable(result: Mapping) -> tuple[dict, dict]:
    """(key -> value compared, key -> value shown) with sensitive values never shown.

    The gather redacts sensitive values, so two different secrets compare equal unless the
    result carries ``sensitive_digests`` (key -> digest), which are compared instead.
    """
    config = result["config"]
    digests = result.get("sensitive_digests")
    digests = digests if isinstance(digests, Mapping) else {}
    compared, shown = {}, {}
    for key, value in config.items():
        key = str(key)
        if is_sensitive_anywhere(key):
            shown[key] = opts.REDACTED
            compared[key] = ("digest", str(digests[key])) if key in digests else ("redacted",)
        else:
            text = value if isinstance(value, str) else str(value)
            shown[key] = text
            compared[key] = text
    return compared, shown


def _signature(result: Mapping):
    """What makes two hosts' configs identical for this analysis."""
    compared, _ = _comparable(result)
    return frozenset(compared.items())


def _equivalent(key: str, values: list, absent: bool):
    """Whether the differing values are the same to Flink (``1728m`` vs ``1728 mb``); None if unknown."""
    option = option_for(key)
    if option is None or is_sensitive_anywhere(key):
        return None
    typed = {typed_value(option, v) for v in values}
    if absent:
        default = typed_default(option)
        if default is None:
            return False
        typed.add(default)
    return len(typed) == 1


def _key_drift(units: list, hosts: list) -> tuple[list, list, list]:
    """units: [(compared, shown, [hosts])].  Returns (keys_differ, keys_partial, sensitive_unchecked)."""
    n_hosts = len(hosts)
    per_key = {}  # key -> {compared value: [shown, hosts]}
    present = {}  # key -> number of hosts having it
    for compared, shown, unit_hosts in units:
        for key, value in compared.items():
            slot = per_key.setdefault(key, {})
            entry = slot.get(value)
            if entry is None:
                slot[value] = [shown[key], list(unit_hosts)]
            else:
                entry[1].extend(unit_hosts)
            present[key] = present.get(key, 0) + len(unit_hosts)
    differ, partial, unchecked = [], [], []
    for key in sorted(per_key):
        slot = per_key[key]
        complete = present[key] == n_hosts
        if complete and len(slot) == 1:
            if next(iter(slot)) == ("redacted",) and n_hosts > 1:
                unchecked.append(key)
            continue
        values = sorted(
            ({"value": shown, "hosts": natural_sorted(hs)} for shown, hs in slot.values()),
            key=lambda v: natural_key(v["hosts"][0]),
        )
        sensitive = is_sensitive_anywhere(key)
        entry = {"key": key, "values": values, "sensitive": sensitive,
                 "memory": any(key in memory_keys(p) for p in PROCESS_KINDS)}
        if not complete:
            having = {h for v in values for h in v["hosts"]}
            entry["absent_on"] = [h for h in hosts if h not in having]
        entry["equivalent"] = _equivalent(key, [v["value"] for v in values], not complete)
        if sensitive:
            entry["note"] = "differs (sensitive)" if complete else "set on some hosts only (sensitive)"
        (differ if complete else partial).append(entry)
    return differ, partial, unchecked


_PROFILE_FIELDS = ("sizes", "jvm")


def _memory_drift(ok: Mapping, hosts: list, process: str, units_by_host: dict, dedupe: bool):
    """Per process: effective memory profiles, invalid hosts, and whether memory keys differ."""
    hs = [h for h in hosts if process in processes_of(ok[h])]
    if not hs:
        return None, []
    keys = memory_keys(process)
    invalid, profiles = [], {}
    key_sigs = set()
    seen_units = {}
    for host in hs:
        result = ok[host]
        unit = units_by_host[host]
        if dedupe and id(unit) in seen_units:
            key_sig = seen_units[id(unit)]
        else:
            key_sig = frozenset((k, v) for k, v in unit[0].items() if k in keys)
            seen_units[id(unit)] = key_sig
        key_sigs.add(key_sig)
        memory = host_memory(result, process)
        if not memory.get("valid"):
            invalid.append({"host": host, "process": process, "error": memory.get("error"),
                            "flink_version": str(result["flink_version"])})
            continue
        slots = memory.get("slots") if process == "taskmanager" else None
        sig = (tuple(sorted(memory["sizes"].items())), tuple(sorted(memory["jvm"].items())), slots)
        profile = profiles.get(sig)
        if profile is None:
            profile = profiles[sig] = {"hosts": [], "flink_versions": set(), "sizes": dict(memory["sizes"]),
                                       "jvm": dict(memory["jvm"])}
            if process == "taskmanager":
                profile["slots"] = slots
        profile["hosts"].append(host)
        profile["flink_versions"].add(str(result["flink_version"]))
    ordered = sorted(profiles.values(), key=lambda p: natural_key(p["hosts"][0]))
    for profile in ordered:
        profile["flink_versions"] = natural_sorted(profile["flink_versions"])
    keys_same = len(key_sigs) == 1
    memory_same = len(ordered) <= 1
    if not ordered:
        status = "invalid"
    elif memory_same:
        status = "identical" if keys_same else "same_memory_different_keys"
    else:
        status = "different_memory" if not keys_same else "different_memory_same_keys"
    out = {
        "status": status,
        "hosts": len(hs),
        "valid_hosts": sum(len(p["hosts"]) for p in ordered),
        "invalid_hosts": len(invalid),
        "profiles": ordered,
        "differing_components": _differing_components(ordered),
    }
    if status == "different_memory_same_keys":
        versions = {v for p in ordered for v in p["flink_versions"]}
        out["reason"] = (
            "the memory keys are the same on every host; the difference comes from the Flink versions "
            f"({', '.join(natural_sorted(versions))})" if len(versions) > 1 else
            "the memory keys are the same on every host; the gathered results differ (start-script environment?)"
        )
    return out, invalid


def _differing_components(profiles: list) -> dict:
    if len(profiles) < 2:
        return {}
    out = {}
    for field in _PROFILE_FIELDS:
        for name in profiles[0][field]:
            by_value = {}
            for profile in profiles:
                by_value.setdefault(profile[field].get(name), []).extend(profile["hosts"])
            if len(by_value) > 1:
                label = name if field == "sizes" else f"jvm.{name}"
                out[label] = [{"bytes": b, "human": human_bytes(b), "hosts": natural_sorted(hs)}
                              for b, hs in sorted(by_value.items(), key=lambda kv: natural_key(kv[1][0]))]
    if "slots" in profiles[0]:
        by_slots = {}
        for profile in profiles:
            by_slots.setdefault(profile["slots"], []).extend(profile["hosts"])
        if len(by_slots) > 1:
            out["slots"] = [{"slots": s, "hosts": natural_sorted(hs)} for s, hs in sorted(by_slots.items())]
    return out


def _group_drift(ok: Mapping, group: dict, dedupe: bool) -> dict:
    hosts = group["hosts"]
    units, units_by_host = [], {}
    if dedupe:
        by_sig = {}
        for host in hosts:
            sig = _signature(ok[host])
            unit = by_sig.get(sig)
            if unit is None:
                compared, shown = _comparable(ok[host])
                unit = by_sig[sig] = (compared, shown, [])
                units.append(unit)
            unit[2].append(host)
            units_by_host[host] = unit
    else:
        for host in hosts:
            compared, shown = _comparable(ok[host])
            unit = (compared, shown, [host])
            units.append(unit)
            units_by_host[host] = unit
    differ, partial, unchecked = _key_drift(units, hosts)
    memory, invalid = {}, []
    for process in PROCESSES:
        drift, bad = _memory_drift(ok, hosts, process, units_by_host, dedupe)
        if drift is not None:
            memory[process] = drift
            invalid.extend(bad)
    invalid.sort(key=lambda i: (natural_key(i["host"]), i["process"]))
    versions = {}
    for host in hosts:
        versions.setdefault(str(ok[host]["flink_version"]), []).append(host)
    checksums = {ok[h].get("checksum") for h in hosts}
    memory_drift = any(len(m["profiles"]) > 1 for m in memory.values())
    drift = bool(differ or partial or memory_drift)
    notes = []
    if len(checksums) > 1 and not (differ or partial):
        notes.append("the files differ although every key shows the same value: they differ in comments, "
                     "layout, key order or in the value of a sensitive key (redacted by the gather)")
    if unchecked:
        notes.append("values of sensitive keys cannot be compared (the gather redacts them): "
                     + ", ".join(unchecked))
    return {
        "hosts": hosts,
        "failed": group["failed"],
        "not_gathered": group["not_gathered"],
        "flink_versions": {v: versions[v] for v in natural_sorted(versions)},
        "keys_differ": differ,
        "keys_partial": partial,
        "sensitive_unchecked": unchecked,
        "memory": memory,
        "invalid": invalid,
        "identical_files": len(checksums) <= 1,
        "notes": notes,
        "drift": drift,
        "summary": {
            "hosts": len(hosts),
            "failed": len(group["failed"]),
            "not_gathered": len(group["not_gathered"]),
            "invalid": len({i["host"] for i in invalid}),
            "keys_differ": len(differ),
            "keys_partial": len(partial),
            "memory_differs": [p for p, m in memory.items() if len(m["profiles"]) > 1],
            "drift": drift,
        },
    }


def fleet_drift(results, group_by="process", dedupe: bool = True) -> dict:
    """Drift per group over gathered results (see plugins/filter/fleet_drift.yml for the contract)."""
    ok, failed = split_results(results)
    groups, ungrouped, mode = resolve_groups(group_by, ok, failed)
    out_groups = {name: _group_drift(ok, group, dedupe) for name, group in groups.items()}
    drifting = [name for name, g in out_groups.items() if g["drift"]]
    invalid_hosts = {i["host"] for g in out_groups.values() for i in g["invalid"]}
    return {
        "group_by": mode,
        "groups": out_groups,
        "failed": failed,
        "ungrouped": ungrouped,
        "summary": {
            "groups": len(out_groups),
            "hosts": len(ok),
            "failed": len(failed),
            "invalid": len(invalid_hosts),
            "groups_with_drift": drifting,
            "drift": bool(drifting),
            "complete": not failed and not any(g["not_gathered"] for g in out_groups.values()),
        },
    }
