# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet analysis over ``flink_config_info`` results: grouping and configuration drift.

``results`` maps an inventory hostname to what the gather registered for it.  Hosts are
grouped by the Flink processes they run or by an explicit mapping (inventory groups); in
each group ``drift`` tells keys whose values differ from memory that differs, because the
two do not imply each other: ``1728m`` and ``1728 mb`` are different text for the same
memory, and the same keys can size a process differently on two Flink versions.

Hosts whose configs are identical, keys that name the host (``taskmanager.host``) aside,
are analysed once: fleets are mostly copies of a few files.  The ``dedupe=False`` path
analyses host by host and must give the same answer (it is the benchmark's baseline and a
test oracle).  Never imports Ansible.
"""

from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import Mapping
from contextlib import contextmanager
from fnmatch import fnmatchcase
from functools import lru_cache
from itertools import chain

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.flink_names import SIZES
from ansible_collections.flinkops.flink.plugins.module_utils.java_types import (
    JavaNumberFormatError,
    parse_double,
    parse_float,
    parse_int,
)
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import PROCESS_KINDS
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import (
    MemorySizeError,
    parse_bytes,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.host_record import (  # noqa: F401 -- memory_keys: shared
    memory_keys,
    model_of,
    not_gathered,
)

GROUP_BY_CHOICES = ("process", "all")
PROCESSES = tuple(sorted(PROCESS_KINDS))  # jobmanager, taskmanager: the order groups are shown in


class FleetError(ValueError):
    """A bad call: ``results`` or ``group_by`` not of an accepted shape."""


# --- Small shared helpers (plan.py uses them too) ----------------------------------------------

_DIGITS = re.compile(r"(\d+)")
_NAME_NUMBER = re.compile(r"(\D*)(\d+)")


@lru_cache(maxsize=1 << 16)
def natural_key(name) -> tuple:
    """Sort key putting tm2 before tm10; the name itself breaks ties (tm01 vs tm1)."""
    text = str(name)
    simple = _NAME_NUMBER.fullmatch(text)
    if simple:  # the common "tm17": the same key as the general case, faster
        return (simple[1], int(simple[2]), ""), text
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


minor_line = lru_cache(maxsize=256)(opts.minor_line)


def split_results(results) -> tuple[dict, list]:
    """(hostname -> usable result, [{host, msg}] for hosts that failed to gather), hosts sorted."""
    if not isinstance(results, Mapping):
        raise FleetError(
            f"results must be a mapping of inventory hostname to the registered flink_config_info result, "
            f"got {type(results).__name__}"
        )
    ok, failed = {}, []
    for host in natural_sorted(results):
        why = not_gathered(host, results[host])
        if why is None:
            ok[str(host)] = results[host]
        else:
            failed.append({"host": why.name, "msg": why.why})
    return ok, failed


def processes_of(result) -> list:
    procs = result.get("processes")
    if not isinstance(procs, (list, tuple)):
        return []
    return [p for p in PROCESSES if p in procs]


def ranks(ok: Mapping) -> dict:
    """host -> position in natural order (``ok`` is built sorted), for cheap re-sorting."""
    return {h: i for i, h in enumerate(ok)}


def resolve_groups(group_by, ok: Mapping, failed: list, procs: dict | None = None) -> tuple[dict, list, str]:
    """({group: {"hosts": [...], "failed": [...], "not_gathered": [...]}}, ungrouped hosts, mode).

    ``procs`` (host -> processes_of its result) saves recomputing it.
    """
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
        if procs is None:
            procs = {h: processes_of(r) for h, r in ok.items()}
        for process in PROCESSES:
            hosts = [h for h, p in procs.items() if process in p]
            if hosts:
                # A failed host's processes are unknown: it is reported once, at the top level.
                groups[process] = {"hosts": hosts, "failed": [], "not_gathered": []}
        ungrouped = [h for h, p in procs.items() if not p]
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


def host_memory(result: Mapping, process: str) -> dict:
    """The memory model of ``process`` for a usable result (host_record.model_of: the gathered one, or computed)."""
    memory = result.get("memory")
    # pylint: disable-next=unidiomatic-typecheck
    gathered = memory.get(process) if type(memory) is dict or isinstance(memory, Mapping) else None
    return model_of(result["config"], gathered, process, minor_line(str(result["flink_version"])))


# --- Drift -------------------------------------------------------------------------------------


_REDACTED_CMP = ("redacted",)
# Keys that name the host itself: different on every host by design, so never drift.
HOST_SPECIFIC_KEYS = frozenset((
    "taskmanager.host", "taskmanager.bind-host", "taskmanager.resource-id", "jobmanager.bind-host",
    "rest.bind-address",
    # per host on HA JobManagers and co-located processes: ports, pid and log dirs
    "rest.port", "rest.bind-port", "jobmanager.rpc.port", "taskmanager.rpc.port", "blob.server.port",
    "taskmanager.data.port", "high-availability.jobmanager.port", "metrics.internal.query-service.port",
    "env.pid.dir", "env.log.dir", "io.tmp.dirs", "web.tmpdir",
))
# Of those, the keys that name the host: one value on several hosts is worth a note. Bind addresses
# (0.0.0.0 on every host is Flink's own advice), ports and dirs may well be the same everywhere.
HOST_NAMING_KEYS = frozenset(("taskmanager.host", "taskmanager.resource-id"))
DRIFT_KEYS_CHOICES = ("memory", "all")
# Memory-plan keys that are no memory size of their own: shown as what they are, not as "memory key".
SLOT_KEYS = frozenset(("taskmanager.numberOfTaskSlots",))
NOT_DRIFT_MEMORY = frozenset(("taskmanager.cpu.cores",))
_STR_ONLY = {str}


@lru_cache(maxsize=1024)
def _sensitive_among(keys: frozenset) -> tuple:
    return tuple(k for k in keys if opts.is_sensitive_anywhere(k))


def _compared(result: Mapping) -> dict:
    """key -> the value compared; a sensitive value is a tuple standing in for it (never shown).

    The gather redacts sensitive values, so two secrets cannot be compared: the key is listed as
    unchecked (no digest of a secret is gathered either: one would let anyone who reads the results
    try guesses offline).
    """
    config = result["config"]
    if set(map(type, config)) <= _STR_ONLY and set(map(type, config.values())) <= _STR_ONLY:
        compared = dict(config)  # what the gather returns: strings only
    else:
        # pylint: disable-next=unidiomatic-typecheck
        compared = {str(k): (v if type(v) is str else str(v)) for k, v in config.items()}
    sensitive = _sensitive_among(frozenset(compared))
    for key in sensitive:
        compared[key] = _REDACTED_CMP
    return compared


def _equivalent(key: str, values: list, absent_lines):
    """Whether the differing values are the same to Flink (``1728m`` vs ``1728 mb``); None if unknown.
    ``absent_lines``: the Flink lines of the hosts without the key, which read each line's own default
    (``taskmanager.memory.network.max`` is 1 gb up to 1.16, unbounded from 1.17)."""
    option = option_for(key)
    if option is None or opts.is_sensitive_anywhere(key):
        return None
    typed = {typed_value(option, v) for v in values}
    for line in absent_lines:
        default = typed_default(opts.option_on_line(option, line))
        if default is None:
            return False
        typed.add(default)
    return len(typed) == 1


def _kind(key: str, processes) -> str:
    """``memory`` (a memory key of a process the group runs), ``slots``, or ``other``."""
    if key in SLOT_KEYS and "taskmanager" in processes:
        return "slots"
    if key not in NOT_DRIFT_MEMORY and any(key in memory_keys(p) for p in processes):
        return "memory"
    return "other"


def _counted(key: str, kind: str, drift_keys) -> bool:
    """Whether a differing key makes the group drift: memory and slot keys (what enforce makes one per
    group) by default, every key with ``all``, or the keys (fnmatch patterns) of a list."""
    if drift_keys == "memory":
        return kind != "other"
    if drift_keys == "all":
        return True
    return any(fnmatchcase(key, pattern) for pattern in drift_keys)


def _majority(values: list, absent: list) -> None:
    """Mark the value most hosts have (``majority``) and the hosts that differ from it (``outliers``);
    no majority on a tie."""
    counts = [len(v["hosts"]) for v in values] + ([len(absent)] if absent else [])
    top = max(counts)
    if counts.count(top) > 1:
        return None
    winner = counts.index(top)
    for i, value in enumerate(values):
        value["majority"] = i == winner
    outliers = [h for i, v in enumerate(values) if i != winner for h in v["hosts"]]
    if absent and winner != len(values):
        outliers += absent
    return outliers


def _key_drift(units: list, units_by_host: dict, hosts: list, processes=PROCESS_KINDS,
               drift_keys="memory", line_of=None) -> tuple[list, list, list]:
    """units: [(compared, [hosts])] in first-host order.  Returns (keys_differ, keys_partial, sensitive_unchecked)."""
    n_hosts = len(hosts)
    # Pass 1, counting only (C-level for single-host units): which keys are not the same everywhere.
    present, pairs = Counter(), Counter()
    for compared, unit_hosts in units:
        weight = len(unit_hosts)
        if weight == 1:
            present.update(compared.keys())  # views, not mappings: counted in C
            pairs.update(compared.items())
        else:
            for item in compared.items():
                pairs[item] += weight
                present[item[0]] += weight
    values_of = Counter(key for key, _unused in pairs)
    unchecked = sorted(k for k, n in present.items()
                       if n == n_hosts and values_of[k] == 1 and n_hosts > 1 and pairs[(k, _REDACTED_CMP)])
    drifting = {k for k, n in present.items() if n != n_hosts or values_of[k] > 1}
    if not drifting:
        return [], [], unchecked
    # Pass 2, for drifting keys only: each value's hosts and the hosts without the key. Values are
    # met in first-host order (units come in that order); hosts are appended in host order.
    slots = {k: {} for k in drifting}
    absent = {k: [] for k in drifting}
    targets_of = {}
    for unit in units:
        compared = unit[0]
        targets = [slots[key].setdefault(compared[key], []) for key in drifting.intersection(compared)]
        targets += [absent[key] for key in drifting.difference(compared)]
        targets_of[id(unit)] = targets
    for host in hosts:
        for target in targets_of[id(units_by_host[host])]:
            target.append(host)
    differ, partial = [], []
    for key in sorted(drifting):
        # Values in the order of their first host (units come in first-host order).
        # pylint: disable-next=unidiomatic-typecheck
        values = [{"value": opts.REDACTED if type(value) is tuple else value, "hosts": hs}
                  for value, hs in slots[key].items()]
        complete = present[key] == n_hosts
        sensitive = opts.is_sensitive_anywhere(key)
        kind = _kind(key, processes)
        entry = {"key": key, "values": values, "sensitive": sensitive, "memory": kind == "memory", "kind": kind,
                 "counted": _counted(key, kind, drift_keys)}
        if not complete:
            entry["absent_on"] = absent[key]
        outliers = _majority(values, absent[key] if not complete else [])
        entry["majority"] = next((v["value"] for v in values if v.get("majority")), None)
        entry["outliers"] = natural_sorted(outliers) if outliers is not None else None
        absent_lines = {(line_of or {}).get(h) for h in absent[key]} if not complete else set()
        entry["equivalent"] = _equivalent(key, [v["value"] for v in values], absent_lines)
        if sensitive:
            entry["note"] = "differs (sensitive)" if complete else "set on some hosts only (sensitive)"
        (differ if complete else partial).append(entry)
    return differ, partial, unchecked


_PROFILE_FIELDS = ("sizes", "jvm")
_SIZE_KEYS = SIZES  # the memory model's sizes, in its order
_JVM_KEYS = ("heap", "direct", "metaspace")


def _memory_drift(ok: Mapping, hosts: list, process: str, units_by_host: dict, dedupe: bool, procs: dict,
                  rank: dict):
    """Per process: effective memory profiles, invalid hosts, and whether memory keys differ."""
    hs = [h for h in hosts if process in procs[h]]
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
            compared = unit[0]
            key_sig = frozenset([(k, compared[k]) for k in keys.intersection(compared)])
            seen_units[id(unit)] = key_sig
        key_sigs.add(key_sig)
        memory = host_memory(result, process)
        if not memory.get("valid"):
            invalid.append({"host": host, "process": process, "error": memory.get("error"),
                            "flink_version": str(result["flink_version"])})
            continue
        slots = memory.get("slots") if process == "taskmanager" else None
        sizes, jvm = memory["sizes"], memory["jvm"]
        sig = (tuple(map(sizes.get, _SIZE_KEYS[process])), tuple(map(jvm.get, _JVM_KEYS)), slots)
        if len(sizes) != len(_SIZE_KEYS[process]) or len(jvm) != len(_JVM_KEYS):  # not memory_model's shape
            sig = (tuple(sorted(sizes.items())), tuple(sorted(jvm.items())), slots)
        profile = profiles.get(sig)
        if profile is None:
            profile = profiles[sig] = {"hosts": [], "flink_versions": set(), "sizes": dict(memory["sizes"]),
                                       "jvm": dict(memory["jvm"])}
            if process == "taskmanager":
                profile["slots"] = slots
        profile["hosts"].append(host)
        profile["flink_versions"].add(str(result["flink_version"]))
    ordered = list(profiles.values())  # hosts were visited in natural order
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
        "differing_components": _differing_components(ordered, rank),
    }
    if status == "different_memory_same_keys":
        versions = {v for p in ordered for v in p["flink_versions"]}
        out["reason"] = (
            "the memory keys are the same on every host; the difference comes from the Flink versions "
            f"({', '.join(natural_sorted(versions))})" if len(versions) > 1 else
            "the memory keys are the same on every host; the gathered results differ (start-script environment?)"
        )
    return out, invalid


def _differing_components(profiles: list, rank: dict) -> dict:
    """Component -> its distinct values with their hosts; profiles come in first-host order, so do the values."""
    if len(profiles) < 2:
        return {}
    out = {}
    for field in _PROFILE_FIELDS:
        for name in profiles[0][field]:
            by_value = {}
            for profile in profiles:
                by_value.setdefault(profile[field].get(name), []).append(profile["hosts"])
            if len(by_value) > 1:
                label = name if field == "sizes" else f"jvm.{name}"
                out[label] = [{"bytes": b, "human": human_bytes(b), "hosts": _merged(lists, rank)}
                              for b, lists in by_value.items()]
    if "slots" in profiles[0]:
        by_slots = {}
        for profile in profiles:
            by_slots.setdefault(profile["slots"], []).append(profile["hosts"])
        if len(by_slots) > 1:
            out["slots"] = [{"slots": s, "hosts": _merged(lists, rank)} for s, lists in sorted(by_slots.items())]
    return out


def _merged(lists: list, rank: dict) -> list:
    if len(lists) == 1:
        return list(lists[0])
    return sorted(chain.from_iterable(lists), key=rank.__getitem__)  # sorted runs: cheap for Timsort


def _raw_signature(result: Mapping, own: set):
    """The host's config as a set of items, its host-specific keys left out; None when not hashable."""
    config = result["config"]
    try:
        sig = frozenset(config.items())
        if own:
            sig = sig.difference([(k, config[k]) for k in own])
        return sig
    except (TypeError, ValueError):
        return None


def _units(ok: Mapping, hosts: list, dedupe: bool):
    """Hosts with the same config (host-specific keys aside) share one unit ``(compared, [hosts])``.

    Returns (units in first-host order, host -> unit, host-specific key -> {value: [hosts]}).
    """
    units, units_by_host, own_values = [], {}, {}
    by_sig = {}
    for host in hosts:
        result = ok[host]
        config = result["config"]
        own = HOST_SPECIFIC_KEYS.intersection(config)
        for key in own:
            own_values.setdefault(key, {}).setdefault(str(config[key]), []).append(host)
        sig = _raw_signature(result, own) if dedupe else None
        unit = by_sig.get(sig) if sig is not None else None
        if unit is None:
            compared = _compared(result)
            for key in own:
                del compared[key]
            unit = (compared, [])
            units.append(unit)
            if sig is not None:
                by_sig[sig] = unit
        unit[1].append(host)
        units_by_host[host] = unit
    return units, units_by_host, own_values


def _host_specific(own_values: dict, hosts: list) -> list:
    """Keys naming the host: meant to differ, so only a value several hosts share is worth telling."""
    out = []
    for key in sorted(own_values):
        values = own_values[key]
        having = sum(len(hs) for hs in values.values())
        entry = {"key": key, "hosts": having,
                 "duplicates": [{"value": v, "hosts": hs} for v, hs in values.items() if len(hs) > 1]}
        if having != len(hosts):
            present = {h for hs in values.values() for h in hs}
            entry["absent_on"] = [h for h in hosts if h not in present]
        out.append(entry)
    return out


def _group_drift(ok: Mapping, group: dict, dedupe: bool, rank: dict, procs: dict, drift_keys="memory") -> dict:
    hosts = group["hosts"]
    units, units_by_host, own_values = _units(ok, hosts, dedupe)
    processes = {p for h in hosts for p in procs[h]} or set(PROCESS_KINDS)
    line_of = {h: minor_line(str(ok[h]["flink_version"])) for h in hosts}
    differ, partial, unchecked = _key_drift(units, units_by_host, hosts, processes, drift_keys, line_of)
    own = _host_specific(own_values, hosts)
    memory, invalid = {}, []
    for process in PROCESSES:
        drift, bad = _memory_drift(ok, hosts, process, units_by_host, dedupe, procs, rank)
        if drift is not None:
            memory[process] = drift
            invalid.extend(bad)
    invalid.sort(key=lambda i: (rank[i["host"]], i["process"]))
    versions = {}
    for host in hosts:
        versions.setdefault(str(ok[host]["flink_version"]), []).append(host)
    checksums = {ok[h].get("checksum") for h in hosts}
    memory_drift = any(len(m["profiles"]) > 1 for m in memory.values())
    drift = bool(memory_drift or any(item["counted"] for item in chain(differ, partial)))
    notes = []
    uncounted = [item["key"] for item in chain(differ, partial) if not item["counted"]]
    if uncounted:
        which = "memory keys (drift_keys: memory)" if drift_keys == "memory" else "the keys of drift_keys"
        notes.append(f"drift counts {which} only; these keys differ but do not count: {', '.join(uncounted)}")
    if len(checksums) > 1 and not (differ or partial):
        notes.append("the files differ although every key shows the same value: they differ in comments, "
                     "layout, key order or in the value of a sensitive key (redacted by the gather)")
    for item in own:
        if item["key"] not in HOST_NAMING_KEYS:
            continue
        for dup in item["duplicates"]:
            notes.append(f"{item['key']} is the same on {host_list(dup['hosts'], 4)}; it should name each host")
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
        "keys_host_specific": own,
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


@contextmanager
def no_gc():
    """Pause the cyclic garbage collector: the analysis makes many small acyclic containers, and full
    collections walking a 10,000-host fleet cost about a quarter of the time.  Restored on the way out."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def fleet_drift(results, group_by="process", dedupe: bool = True, drift_keys="memory") -> dict:
    """Drift per group over gathered results (see plugins/filter/fleet_drift.yml for the contract).

    ``drift_keys``: which differing keys make a group drift: ``memory`` (default: the memory keys of the
    group's processes and the slots, what enforce makes one per group), ``all``, or a list of keys or
    fnmatch patterns. Every differing key is listed either way, with ``counted``.
    """
    drift_keys = _drift_keys(drift_keys)
    with no_gc():
        return _fleet_drift(results, group_by, dedupe, drift_keys)


def _drift_keys(drift_keys):
    if isinstance(drift_keys, str) and drift_keys in DRIFT_KEYS_CHOICES:
        return drift_keys
    if isinstance(drift_keys, (list, tuple)) and all(isinstance(k, str) and k for k in drift_keys):
        return tuple(drift_keys)
    raise FleetError(f"drift_keys must be one of {', '.join(DRIFT_KEYS_CHOICES)} or a list of keys (fnmatch "
                     f"patterns such as 'taskmanager.memory.*'), got {drift_keys!r}")


def _fleet_drift(results, group_by, dedupe, drift_keys="memory"):
    ok, failed = split_results(results)
    procs = {h: processes_of(r) for h, r in ok.items()}
    groups, ungrouped, mode = resolve_groups(group_by, ok, failed, procs)
    rank = ranks(ok)
    out_groups = {name: _group_drift(ok, group, dedupe, rank, procs, drift_keys) for name, group in groups.items()}
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
            "drift_keys": drift_keys if isinstance(drift_keys, str) else list(drift_keys),
            "complete": not failed and not any(g["not_gathered"] for g in out_groups.values()),
        },
    }
