# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One consistent set of memory keys per group of Flink hosts, checked with Flink's own derivation.

``memory_plan(results, policy)`` sizes every group's processes through one sizing path
(``*.memory.process.size``), removes what would fight it (other sizing paths, deprecated
fallbacks, legacy and blog-only keys), keeps or sets fractions and slots, and runs the memory
model for every host, on that host's Flink version, on the config the plan leaves.  A plan is
emitted only when Flink would start every process it covers; otherwise ``PlanError`` says which
host and why, with the numbers.  Never imports Ansible.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from functools import lru_cache
from itertools import chain

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.java_types import (
    JavaNumberFormatError,
    flink_text,
    parse_float,
)
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import (
    MemorySizeError,
    parse_bytes,
    to_config_string,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_edit import already_holds, holds
from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import (
    PROCESSES,
    FleetError,
    host_list,
    host_memory,
    human_bytes,
    memory_keys,
    natural_key,
    natural_sorted,
    no_gc,
    processes_of,
    ranks,
    resolve_groups,
    split_results,
    typed_default,
    typed_value,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.host_record import Limits

MIB = 1 << 20
TM, JM = "taskmanager", "jobmanager"


class PolicyError(ValueError):
    """The policy itself is malformed (unknown key, bad value): a bad call."""


class PlanError(ValueError):
    """No plan satisfies the policy on some host; the attributes carry the numbers."""

    def __init__(self, message, group=None, host=None, process=None, budget_bytes=None, planned_bytes=None,
                 needed_bytes=None, flink_error=None):
        super().__init__(message)
        self.group = group
        self.host = host
        self.process = process
        self.budget_bytes = budget_bytes
        self.planned_bytes = planned_bytes
        self.needed_bytes = needed_bytes
        self.flink_error = flink_error


# --- Keys each process's plan owns ---------------------------------------------------------------

PROCESS_SIZE = {TM: "taskmanager.memory.process.size", JM: "jobmanager.memory.process.size"}
OTHER_SIZING = {
    TM: ("taskmanager.memory.flink.size", "taskmanager.memory.task.heap.size"),
    JM: ("jobmanager.memory.flink.size", "jobmanager.memory.heap.size"),
}
LEGACY = {
    TM: ("taskmanager.heap.size", "taskmanager.heap.mb", "taskmanager.network.numberOfBuffers"),
    JM: ("jobmanager.heap.size", "jobmanager.heap.mb"),
}
MANAGED_SIZE = "taskmanager.memory.managed.size"  # deprecated name: taskmanager.memory.size
MANAGED_FRACTION = "taskmanager.memory.managed.fraction"
# policy name -> option the policy can keep or set
TM_TUNABLES = {
    "slots": "taskmanager.numberOfTaskSlots",
    "managed_fraction": MANAGED_FRACTION,
    "network_fraction": "taskmanager.memory.network.fraction",
    "network_min": "taskmanager.memory.network.min",
    "network_max": "taskmanager.memory.network.max",
}
NOT_MEMORY = ("taskmanager.cpu.cores",)  # in the catalog, but no part of a memory plan


def _imaginary(process):
    return tuple(k for k in opts.IMAGINARY_KEYS if k.startswith((process + ".", "flink.")))


def _kept_options(process) -> list:
    """Options the plan neither sizes with nor removes: kept (must agree) or set via policy options."""
    owned = {PROCESS_SIZE[process], *OTHER_SIZING[process], *LEGACY[process], *NOT_MEMORY}
    if process == TM:
        owned.update((MANAGED_SIZE, *TM_TUNABLES.values()))
    return [o for k, o in opts.PROCESSES[process].items() if k not in owned]


KEPT = {p: _kept_options(p) for p in PROCESSES}
PLAN_KEYS = {p: memory_keys(p) - set(NOT_MEMORY) for p in PROCESSES}


# --- Policy --------------------------------------------------------------------------------------

TOP_KEYS = ("group_by", "headroom", "host_fraction", "jobmanager_share", TM, JM)
PROCESS_KEYS = {
    TM: ("process_size", "slots", "managed_per_slot", "managed_fraction", "network_fraction", "network_min",
         "network_max", "options"),
    JM: ("process_size", "options"),
}
DEFAULTS = {"group_by": "process", "headroom": "512m", "host_fraction": "0.9", "jobmanager_share": "0.25"}


def _size(value, where, allow_zero=False):
    if isinstance(value, bool):
        raise PolicyError(f"{where} must be a memory size (4g, 1728m or bytes), got {value!r}")
    try:
        size = value if isinstance(value, int) else parse_bytes(str(value))
    except MemorySizeError as exc:
        raise PolicyError(f"{where}: {value!r} is not a memory size Flink reads ({exc})") from None
    if size < 0 or (size == 0 and not allow_zero):
        raise PolicyError(f"{where} must be {'non-negative' if allow_zero else 'positive'}, got {value!r}")
    return size


def _ratio(value, where, low_open=True, high=1, high_closed=True):
    """A decimal ratio kept exact (0.9 means nine tenths, not the nearest double)."""
    if isinstance(value, bool):
        raise PolicyError(f"{where} must be a number, got {value!r}")
    try:
        ratio = Fraction(str(value).strip())
    except (ValueError, ZeroDivisionError):
        raise PolicyError(f"{where} must be a number, got {value!r}") from None
    if ratio < 0 or (low_open and ratio == 0) or ratio > high or (not high_closed and ratio == high):
        interval = f"{'(' if low_open else '['}0, {high}{']' if high_closed else ')'}"
        raise PolicyError(f"{where} must be in {interval}, got {value!r}")
    return ratio


def _flink_fraction(value, where):
    """A fraction as Flink reads it (Java float, [0, 1)); returned as the text to write."""
    if value == "keep":
        return "keep"
    if isinstance(value, bool):
        raise PolicyError(f"{where} must be keep or a fraction in [0, 1), got {value!r}")
    text = str(value).strip()
    try:
        number = parse_float(text)
    except (JavaNumberFormatError, ValueError):
        raise PolicyError(f"{where} must be keep or a fraction in [0, 1), got {value!r}") from None
    if not 0 <= number < 1:
        raise PolicyError(f"{where} must be keep or a fraction in [0, 1), got {value!r}")
    return text


def _check_keys(given: Mapping, accepted, where):
    unknown = [k for k in given if k not in accepted]
    if unknown:
        raise PolicyError(f"unknown {where} key(s) {', '.join(map(str, unknown))}: accepted are {', '.join(accepted)}")


size_text = to_config_string  # a size the way people write Flink configs: 4g, 1728m (memory_size.py)


def normalize_policy(policy) -> dict:
    """Validate ``policy`` and fill defaults; PolicyError naming the key and the accepted values."""
    if policy is None:
        policy = {}
    if not isinstance(policy, Mapping):
        raise PolicyError(f"policy must be a mapping, got {type(policy).__name__}")
    _check_keys(policy, TOP_KEYS, "policy")
    out = {"group_by": policy.get("group_by", DEFAULTS["group_by"])}
    out["headroom"] = _size(policy.get("headroom", DEFAULTS["headroom"]), "policy.headroom", allow_zero=True)
    out["host_fraction"] = _ratio(policy.get("host_fraction", DEFAULTS["host_fraction"]), "policy.host_fraction")
    out["jobmanager_share"] = _ratio(policy.get("jobmanager_share", DEFAULTS["jobmanager_share"]),
                                     "policy.jobmanager_share", high_closed=False)
    for process in PROCESSES:
        given = policy.get(process) or {}
        if not isinstance(given, Mapping):
            raise PolicyError(f"policy.{process} must be a mapping, got {type(given).__name__}")
        _check_keys(given, PROCESS_KEYS[process], f"policy.{process}")
        proc = {}
        size = given.get("process_size", "keep")
        if size in ("fit", "keep"):
            proc["process_size"] = size
        else:
            try:
                proc["process_size"] = _size(size, f"policy.{process}.process_size")
            except PolicyError as exc:
                raise PolicyError(f"{exc}; accepted are fit, keep or a memory size") from None
        proc["options"] = _options(process, given.get("options") or {})
        if process == TM:
            slots = given.get("slots", "keep")
            if slots != "keep":
                if isinstance(slots, bool) or not str(slots).strip().isdigit() or int(str(slots)) < 1:
                    raise PolicyError(f"policy.taskmanager.slots must be keep or a positive integer, got {slots!r}")
                slots = str(int(str(slots)))
            proc["slots"] = slots
            per_slot = given.get("managed_per_slot")
            proc["managed_per_slot"] = None if per_slot is None else _size(
                per_slot, "policy.taskmanager.managed_per_slot", allow_zero=True)
            for name in ("managed_fraction", "network_fraction"):
                proc[name] = _flink_fraction(given.get(name, "keep"), f"policy.taskmanager.{name}")
            if proc["managed_per_slot"] is not None and proc["managed_fraction"] != "keep":
                raise PolicyError("policy.taskmanager: give managed_per_slot or managed_fraction, not both "
                                  "(an explicit managed size makes Flink ignore the fraction)")
            for name in ("network_min", "network_max"):
                value = given.get(name, "keep")
                proc[name] = "keep" if value == "keep" else size_text(
                    _size(value, f"policy.taskmanager.{name}", allow_zero=True))
        out[process] = proc
    return out


def _options(process, given) -> dict:
    if not isinstance(given, Mapping):
        raise PolicyError(f"policy.{process}.options must be a mapping of Flink key to value")
    accepted = [o.key for o in KEPT[process]]
    out = {}
    for key, value in given.items():
        if key not in accepted:
            hint = ""
            if key in (PROCESS_SIZE[process], *OTHER_SIZING[process]):
                hint = f" (the size comes from policy.{process}.process_size)"
            elif process == TM and key in (MANAGED_SIZE, *TM_TUNABLES.values()):
                hint = " (use the policy keys managed_per_slot, managed_fraction, network_*, slots)"
            raise PolicyError(f"policy.{process}.options: {key!r} cannot be set here{hint}; accepted are "
                              f"{', '.join(accepted)}")
        try:
            out[key] = flink_text(value)  # Flink's text for the value: 1e-05 is 1.0E-5, True is true
        except TypeError:
            raise PolicyError(f"policy.{process}.options.{key}: {value!r} is not a single value") from None
    return out


# --- Host budgets ----------------------------------------------------------------------------------


def host_budget(result: Mapping, policy: dict, inventory=None) -> dict:
    """The memory a host gives Flink: the tightest of RAM, cgroup limit and the inventory's limit
    (flink_memory_limit_bytes, as the audit reads it), less headroom, times the fraction."""
    ram = result.get("mem_total_bytes")
    cgroup = result.get("cgroup_memory_limit_bytes")
    out = {"ram_bytes": ram, "cgroup_bytes": cgroup, "inventory_bytes": inventory}
    limit, by = Limits.of(ram, cgroup, inventory).binding  # the one rule, shared with the audit
    if limit is None:
        return {**out, "limit_bytes": None, "limited_by": None, "budget_bytes": None}
    budget = max(0, int((limit - policy["headroom"]) * policy["host_fraction"]))
    return {**out, "limit_bytes": limit, "limited_by": by, "budget_bytes": budget}


LIMIT_NAMES = {"cgroup": "cgroup limit", "inventory": "inventory limit flink_memory_limit_bytes", "ram": "RAM"}


def _inventory_limits(memory_limits) -> dict:
    """host -> bytes from the inventory (flink_memory_limit_bytes); None means none given."""
    if memory_limits is None:
        return {}
    if not isinstance(memory_limits, Mapping):
        raise PolicyError(f"memory_limits must map hostname to a size, got {type(memory_limits).__name__}")
    out = {}
    for host, value in memory_limits.items():
        if value is None or value == "":
            continue
        out[host] = _size(value, f"host {host}: flink_memory_limit_bytes")
    return out


def _budget_text(budget: dict, policy: dict) -> str:
    fraction = policy["host_fraction"]
    frac = f" x {float(fraction):g}" if fraction != 1 else ""
    source = LIMIT_NAMES.get(budget["limited_by"], "RAM")
    return (f"budget {human_bytes(budget['budget_bytes'])} = ({source} {human_bytes(budget['limit_bytes'])} - "
            f"headroom {human_bytes(policy['headroom'])}){frac}")


# --- Deciding keys -------------------------------------------------------------------------------


def _effective(option: opts.Option, config: Mapping):
    for name in option.names():
        if name in config:
            return name, str(config[name])
    return None, None


def _unset_reads(option: opts.Option, hosts: list, line_of) -> dict:
    """typed default -> hosts: what each of ``hosts``, without the key, reads for ``option``: its own Flink
    line's default (options.option_on_line, the rule fleet_drift follows: ``taskmanager.memory.network.max``
    is 1 gb up to 1.16 and unbounded from 1.17)."""
    if not option.line_defaults:
        return {typed_default(option): hosts}
    out: dict = {}
    for host in hosts:
        out.setdefault(typed_default(opts.option_on_line(option, line_of(host))), []).append(host)
    return out


def _every_host_reads(option: opts.Option, units: list, typed, line_of) -> bool:
    """Whether Flink reads ``option`` as ``typed`` on every host now (its own line's default where unset)."""
    for cfg, hosts in units:
        source, text = _effective(option, cfg)
        if source is None:
            if any(default != typed for default in _unset_reads(option, hosts, line_of)):
                return False
        elif typed_value(option, text) != typed:
            return False
    return True


def _size_as_written(process: str, units: list, size: int) -> str:
    """The process size text to write: the one the hosts already use for these bytes (4096m stays
    4096m), else ``size_text``; the writer leaves a file holding the same bytes alone either way."""
    key = PROCESS_SIZE[process]
    for cfg, _hosts in sorted(units, key=lambda u: natural_key(u[1][0])):
        text = cfg.get(key)
        if text is not None:
            try:
                if parse_bytes(str(text)) == size:
                    return str(text)
            except MemorySizeError:
                pass
    return size_text(size)


def _show_hosts(by_value: dict) -> str:
    ordered = sorted(((text, natural_sorted(hs)) for text, hs in by_value.items()), key=lambda v: natural_key(v[1][0]))
    return "; ".join(f"{text} on {host_list(hs, 4)}" for text, hs in ordered)


def _decide(option: opts.Option, units: list, given, group: str, policy_path: str, plan: dict, line_of):
    """Keep (the hosts must agree) or set ``option``; record into plan['set'/'remove'/'reasons'].

    A host without the key reads its own Flink line's default (``line_of(host)``); a key no host writes
    is kept as it is, each host reading its own line's default."""
    names = option.names()
    if given is not None and _every_host_reads(option, units, typed_value(option, given), line_of):
        return  # same value to Flink on every host (its own line's default where unset): left as written
    if given is not None:
        plan["set"][option.key] = given
        plan["reasons"][option.key] = f"set by {policy_path}"
        for name in names[1:]:
            if any(name in cfg for cfg, _unused in units):
                plan["remove"].add(name)
                plan["reasons"][name] = f"deprecated; replaced by {option.key}"
        return
    present = [n for n in names if any(n in cfg for cfg, _unused in units)]
    if not present:
        return  # no host writes it: each reads its own line's default, left as written
    by_typed, defaults = {}, set()
    first_text = None
    for cfg, hosts in units:
        source, text = _effective(option, cfg)
        if source is None:
            for typed, unset in _unset_reads(option, hosts, line_of).items():
                shown = "unset"
                if option.line_defaults:  # say whose default: the lines' defaults differ
                    lines = sorted({line_of(h) for h in unset}, key=lambda v: tuple(map(int, v.split("."))))
                    shown += f" (Flink {', '.join(lines)})"
                by_typed.setdefault(typed, {}).setdefault(shown, []).extend(unset)
        else:
            by_typed.setdefault(typed_value(option, text), {}).setdefault(text, []).extend(hosts)
        defaults.update(_unset_reads(option, hosts, line_of))  # what removing the key would leave
    if len(by_typed) > 1:
        merged = {}
        for shown_map in by_typed.values():
            for shown, hs in shown_map.items():
                merged.setdefault(shown, []).extend(hs)
        raise PlanError(
            f"group {group}: cannot keep {option.key}: the hosts disagree ({_show_hosts(merged)}); "
            f"set one value with {policy_path}", group=group)
    value = next(iter(by_typed))
    if present == [option.key]:
        return  # one value to Flink everywhere, under the current key or its default: left as written
    if defaults == {value} or value is None:
        for name in present:
            plan["remove"].add(name)
            plan["reasons"][name] = "same on every host as Flink's default; removed so every host reads the default"
        return
    # Every host agrees on the value, written differently or under a deprecated key: write it one way.
    for cfg, _hosts in sorted(units, key=lambda u: natural_key(u[1][0])):
        source, text = _effective(option, cfg)
        if source is not None:
            first_text = text
            break
    plan["set"][option.key] = first_text
    plan["reasons"][option.key] = "kept: every host has this value; written once, under the current key"
    for name in present:
        if name != option.key:
            plan["remove"].add(name)
            plan["reasons"][name] = f"deprecated; replaced by {option.key}"


def _remove_present(keys, units, reason, plan):
    for key in keys:
        if any(key in cfg for cfg, _unused in units):
            plan["remove"].add(key)
            plan["reasons"][key] = reason(key) if callable(reason) else reason


def _units(ok: Mapping, hosts: list, process: str, cache: bool, sig_of: dict) -> list:
    """[(memory config of process, [hosts])]: identical ones once when caching.

    ``sig_of[(host, process)]`` receives the host's memory-config signature, reused to run
    Flink's derivation once per distinct memory config and Flink line.
    """
    keys = memory_keys(process)
    if not cache:
        return [({k: v for k, v in ok[h]["config"].items() if k in keys}, [h]) for h in hosts]
    by_sig = {}
    for host in hosts:
        config = ok[host]["config"]
        cfg = {k: config[k] for k in keys.intersection(config)}
        sig = frozenset(cfg.items())
        sig_of[(host, process)] = sig
        if sig in by_sig:
            by_sig[sig][1].append(host)
        else:
            by_sig[sig] = (cfg, [host])
    return list(by_sig.values())


def _process_template(process: str, units: list, policy: dict, group: str, line_of) -> dict:
    """The keys to set and remove for ``process`` in a group, process size left for later.
    ``line_of(host)``: the host's Flink minor line (whose defaults it reads where a key is unset)."""
    proc = policy[process]
    plan = {"set": {}, "remove": set(), "reasons": {}}
    _remove_present(OTHER_SIZING[process], units,
                    lambda k: f"another sizing path; the plan sizes with {PROCESS_SIZE[process]}", plan)
    _remove_present(LEGACY[process], units,
                    "legacy key: ignored by Flink 2.x, and on 1.x it overrides the process size", plan)
    _remove_present(_imaginary(process), units,
                    lambda k: "no such Flink key (blog posts only): " + opts.IMAGINARY_KEYS[k], plan)
    if process == TM:
        managed = opts.TASKMANAGER[MANAGED_SIZE]
        fraction = opts.TASKMANAGER[MANAGED_FRACTION]
        if proc["managed_per_slot"] is not None:
            _remove_present(managed.deprecated_keys, units, f"deprecated; replaced by {MANAGED_SIZE}", plan)
            _remove_present(fraction.names(), units,
                            "ignored by Flink when taskmanager.memory.managed.size is set", plan)
        else:
            _remove_present(managed.names(), units,
                            "fixes managed memory regardless of the process size; the plan uses the fraction", plan)
            given = None if proc["managed_fraction"] == "keep" else proc["managed_fraction"]
            _decide(fraction, units, given, group, "policy.taskmanager.managed_fraction", plan, line_of)
        for name, key in TM_TUNABLES.items():
            if name == "managed_fraction":
                continue
            given = None if proc[name] == "keep" else proc[name]
            _decide(opts.TASKMANAGER[key], units, given, group, f"policy.taskmanager.{name}", plan, line_of)
    for option in KEPT[process]:
        _decide(option, units, proc["options"].get(option.key), group, f"policy.{process}.options", plan, line_of)
    return plan


def _planned_slots(template: dict, units: list, group: str) -> int:
    key = TM_TUNABLES["slots"]
    if key in template["set"]:
        return int(template["set"][key])
    if key in template["remove"]:
        return 1
    text = _effective(opts.TASKMANAGER[key], units[0][0])[1]
    if text is None:
        return 1
    kind, slots = typed_value(opts.TASKMANAGER[key], text)
    if kind != "number" or slots < 1:
        hosts = [h for _unused, hs in units for h in hs]
        raise PlanError(f"group {group}: managed_per_slot needs a positive {key}, but {host_list(hosts, 4)} have "
                        f"{text!r}; set policy.taskmanager.slots", group=group, process=TM)
    return slots


# --- Planning ------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _compute_cached(items: frozenset, process: str, line: str) -> dict:
    return compute(dict(items), process, line)


_minor_line = lru_cache(maxsize=256)(opts.minor_line)


def _min_process_size(config: Mapping, process: str, version: str):
    """The smallest whole-MiB process size Flink accepts with the rest of ``config``; None if none."""
    key = PROCESS_SIZE[process]

    def valid(mib):
        return compute({**config, key: f"{mib}m"}, process, version)["valid"]

    low, high = 0, 1 << 20  # 1 TiB
    if not valid(high):
        return None
    while high - low > 1:
        mid = (low + high) // 2
        if valid(mid):
            high = mid
        else:
            low = mid
    # Only claim a minimum where it holds at that size and not one MiB below.
    return high * MIB if valid(high) and (high == 1 or not valid(high - 1)) else None


def _apply(config: Mapping, changes: list) -> dict:
    out = dict(config)
    for template in changes:
        for key in template["remove"]:
            out.pop(key, None)
        out.update(template["set"])
    return out


def memory_plan(results, policy=None, cache: bool = True, memory_limits=None) -> dict:
    """Plan per group (see plugins/filter/memory_plan.yml for the contract).

    ``memory_limits``: hostname -> the inventory's limit (flink_memory_limit_bytes), checked as the audit does.
    """
    with no_gc():
        return _memory_plan(results, policy, cache, memory_limits)


def _memory_plan(results, policy, cache, memory_limits=None):
    policy = normalize_policy(policy)
    inventory = _inventory_limits(memory_limits)
    ok, failed = split_results(results)
    procs = {h: processes_of(r) for h, r in ok.items()}
    try:
        groups, ungrouped, mode = resolve_groups(policy["group_by"], ok, failed, procs)
    except FleetError as exc:
        raise PolicyError(str(exc).replace("group_by", "policy.group_by", 1)) from None

    # Which group plans which process on which host: one group per (host, process).
    jobs = {}  # (group, process) -> hosts
    owner = {}  # (host, process) -> group
    for name, group in groups.items():
        # Grouped by process, the group "jobmanager" plans JobManagers only, even on a host running both.
        for process in (name,) if mode == "process" else PROCESSES:
            hosts = [h for h in group["hosts"] if process in procs[h]]
            if not hosts:
                continue
            jobs[(name, process)] = hosts
            for host in hosts:
                other = owner.setdefault((host, process), name)
                if other != name:
                    raise PolicyError(
                        f"host {host} is in groups {other} and {name}, which would both plan its {process}; a "
                        f"plan sets one value per host: give policy.group_by groups that do not overlap")
    rank = ranks(ok)
    planned_hosts = sorted({h for h, _unused in owner}, key=rank.__getitem__)
    budget_of = {}  # hosts of the same size share one computation (and one dict)
    budgets = {}
    for host in planned_hosts:
        limits = (ok[host].get("mem_total_bytes"), ok[host].get("cgroup_memory_limit_bytes"), inventory.get(host))
        if limits not in budget_of:
            budget_of[limits] = host_budget(ok[host], policy, inventory.get(host))
        budgets[host] = budget_of[limits]
    warnings = []

    templates, units_of, sig_of = {}, {}, {}

    def line_of(host):  # asked only where a key is unset and its default differs by line
        return _minor_line(str(ok[host]["flink_version"]))

    for (name, process), hosts in jobs.items():
        units = units_of[(name, process)] = _units(ok, hosts, process, cache, sig_of)
        templates[(name, process)] = _process_template(process, units, policy, name, line_of)

    # Sizes: explicit and kept ones first, they shrink what a co-located process may fit into.
    sizes, sizing = {}, {}
    for (name, process), hosts in jobs.items():
        wanted = policy[process]["process_size"]
        if isinstance(wanted, int):
            sizes[(name, process)] = wanted
            sizing[(name, process)] = {"source": "explicit"}
        elif wanted == "keep":
            sizes[(name, process)] = _kept_size(ok, hosts, process, name)
            sizing[(name, process)] = {"source": "keep"}
    # Then fitted ones, JobManagers first: on a host running both, the TaskManager fits into what the
    # JobManager leaves.
    for name, process in sorted((j for j in jobs if j not in sizes), key=lambda j: PROCESSES.index(j[1])):
        hosts = jobs[(name, process)]
        best = None  # (share, host): the first host in natural order with the smallest share
        for host in hosts:
            budget = budgets[host]["budget_bytes"]
            if budget is None:
                raise PlanError(
                    f"group {name}, host {host}: neither RAM nor a cgroup limit is known, so no {process} size can "
                    f"be fitted to it; give policy.{process}.process_size", group=name, host=host, process=process)
            share = budget if len(procs[host]) == 1 else _share(host, process, budget, procs, owner, sizes, policy)[0]
            if best is None or share < best[0]:
                best = (share, host)
        share, host = best
        how = ""
        if len(procs[host]) > 1:
            share, how = _share(host, process, budgets[host]["budget_bytes"], procs, owner, sizes, policy)
        size = share // MIB * MIB
        if size <= 0:
            raise PlanError(
                f"group {name}, host {host}: no memory left for a {process} ({_budget_text(budgets[host], policy)}"
                f"{how})", group=name, host=host, process=process, budget_bytes=share, planned_bytes=0)
        sizes[(name, process)] = size
        sizing[(name, process)] = {"source": "fit", "decided_by": host, "fitted_bytes": share,
                                   "budget": _budget_text(budgets[host], policy) + how}

    for (name, process), template in templates.items():
        template["set"][PROCESS_SIZE[process]] = _size_as_written(process, units_of[(name, process)],
                                                                  sizes[(name, process)])
        template["reasons"][PROCESS_SIZE[process]] = f"the one sizing path ({sizing[(name, process)]['source']})"
        if process == TM and policy[TM]["managed_per_slot"] is not None:
            slots = _planned_slots(template, units_of[(name, process)], name)
            template["set"][MANAGED_SIZE] = size_text(policy[TM]["managed_per_slot"] * slots)
            template["reasons"][MANAGED_SIZE] = (f"policy.taskmanager.managed_per_slot "
                                                 f"{human_bytes(policy[TM]['managed_per_slot'])} x {slots} slots")
        template["remove"] -= set(template["set"])

    _check_budgets(owner, sizes, sizing, budgets, policy, warnings)

    # Every host, its own version, the config the plan leaves (all its groups' changes).
    changes_of = {}
    for (host, process), name in owner.items():
        changes_of.setdefault(host, []).append((process, name))
    memory, rejected, models = {}, [], {}
    for host in planned_hosts:
        result = ok[host]
        mine = changes_of[host]
        if len(mine) > 1:
            mine.sort()
        changes = [templates[(n, p)] for p, n in mine]
        if cache:
            line = _minor_line(str(result["flink_version"]))
            combo = tuple(n for _unused, n in mine)
        else:
            config = _apply(result["config"], changes)
        for process, name in mine:
            if cache:
                # Same memory config, same groups, same Flink line: same answer from Flink.
                key = (sig_of[(host, process)], process, line, combo)
                model = models.get(key)
                if model is None:
                    model = models[key] = _compute_cached(
                        frozenset(_apply(dict(sig_of[(host, process)]), changes).items()), process, line)
            else:
                model = compute(config, process, str(result["flink_version"]))
            if not model["valid"]:
                rejected.append((name, host, process, model))
            memory.setdefault(name, {}).setdefault(host, {})[process] = model
    if rejected:
        # Blame the host that decided a fitted size when it is among them: the others only inherited it.
        deciders = {(sizing[(n, p)].get("decided_by"), p) for n, p in sizing}
        name, host, process, model = next((r for r in rejected if (r[1], r[2]) in deciders), rejected[0])
        config = _apply(ok[host]["config"], [templates[(n, p)] for p, n in sorted(changes_of[host])])
        _raise_invalid(name, host, process, config, ok[host], budgets[host], sizes[(name, process)], policy, model,
                       sizing[(name, process)], len({r[1] for r in rejected}) - 1)

    return _report(policy, mode, groups, jobs, templates, sizes, sizing, memory, ok, owner, budgets, failed,
                   ungrouped, warnings, planned_hosts, sig_of)


def _kept_size(ok, hosts, process, group) -> int:
    by_size, invalid = {}, []
    for host in hosts:
        model = host_memory(ok[host], process)
        if not model.get("valid"):
            invalid.append(f"{host} ({model.get('error')})")
        else:
            by_size.setdefault(model["sizes"]["total_process"], []).append(host)
    if invalid:
        raise PlanError(f"group {group}: cannot keep the {process} process size: Flink rejects the current config "
                        f"of {host_list(invalid, 3)}; give policy.{process}.process_size", group=group,
                        process=process)
    if len(by_size) > 1:
        shown = {human_bytes(size): hs for size, hs in by_size.items()}
        raise PlanError(f"group {group}: cannot keep the {process} process size: the hosts differ "
                        f"({_show_hosts(shown)}); give policy.{process}.process_size", group=group, process=process)
    return next(iter(by_size))


def _share(host, process, budget, procs, owner, sizes, policy):
    """What ``process`` may use on ``host``: the budget, less a co-located process's fixed size or share."""
    others = [p for p in procs[host] if p != process and (host, p) in owner]
    if not others:
        return budget, ""
    other = others[0]
    fixed = sizes.get((owner[(host, other)], other))
    if fixed is not None:
        left = budget - fixed
        return left, (f", less the co-located {other}'s {human_bytes(fixed)}"
                      + (f", leaves {human_bytes(left)}" if left > 0 else ", leaves nothing"))
    share = policy["jobmanager_share"] if process == JM else 1 - policy["jobmanager_share"]
    part = int(budget * share)
    return part, f", x {float(share):g} (its share next to the {other}) = {human_bytes(part)}"


def _check_budgets(owner, sizes, sizing, budgets, policy, warnings):
    """Every host's planned total against its budget; sizes that are all kept only against the limit itself
    (the audit's exceeds-host-memory check): keeping what runs must not fail for want of headroom."""
    per_host, kept = {}, {}
    for (host, process), name in owner.items():
        per_host.setdefault(host, []).append((process, sizes[(name, process)], name))
        kept[host] = kept.get(host, True) and sizing[(name, process)]["source"] == "keep"
    for host in per_host:
        planned = sorted(per_host[host])
        total = sum(size for _unused, size, _unused in planned)
        budget = budgets[host]
        if kept[host] and budget["limit_bytes"] is not None:
            if total > budget["limit_bytes"]:
                parts = " + ".join(f"{p} {human_bytes(s)}" for p, s, _unused in planned)
                raise PlanError(
                    f"group {planned[0][2]}, host {host}: the kept {parts} exceeds the host's "
                    f"{LIMIT_NAMES[budget['limited_by']]} of {human_bytes(budget['limit_bytes'])}; give "
                    f"policy.{planned[0][0]}.process_size (or raise the limit)", group=planned[0][2], host=host,
                    process=planned[0][0], budget_bytes=budget["limit_bytes"], planned_bytes=total)
            continue
        if budget["budget_bytes"] is None:
            planned_text = " + ".join(f"{p} {human_bytes(s)}" for p, s, _unused in planned)
            warnings.append(f"{host}: neither RAM nor a cgroup limit is known; the planned "
                            f"{planned_text} was not checked against it")
            continue
        if total > budget["budget_bytes"]:
            parts = " + ".join(f"{p} {human_bytes(s)}" for p, s, _unused in planned)
            if len(planned) > 1:
                parts += f" = {human_bytes(total)}"
            raise PlanError(
                f"group {planned[0][2]}, host {host}: the planned {parts} does not fit its "
                f"{_budget_text(budget, policy)}; lower the process size or the headroom",
                group=planned[0][2], host=host, process=planned[0][0], budget_bytes=budget["budget_bytes"],
                planned_bytes=total)


def _raise_invalid(group, host, process, config, result, budget, planned, policy, model, sizing, others):
    version = str(result["flink_version"])
    needed = _min_process_size(config, process, version)
    error = model["error"]
    where = f"group {group}, host {host} (Flink {version})"
    also = f" (and {others} other host{'s' if others > 1 else ''})" if others else ""
    if needed is not None and needed > planned:
        if sizing.get("decided_by") == host:
            room = f"; {host} has only a {sizing['budget']}"
        elif budget["budget_bytes"] is not None:
            room = f"; its {_budget_text(budget, policy)}"
        else:
            room = ""
        msg = (f"{where}{also}: a {process} of {human_bytes(planned)} is too small for this policy: Flink needs at "
               f"least {human_bytes(needed)} ({PROCESS_SIZE[process]}){room}. Flink rejects "
               f"{human_bytes(planned)}: {error}")
    else:
        msg = f"{where}{also}: Flink rejects the planned {process} config at any process size: {error}"
    raise PlanError(msg, group=group, host=host, process=process, budget_bytes=budget["budget_bytes"],
                    planned_bytes=planned, needed_bytes=needed, flink_error=error)


def _covered(hosts: list, planned: list) -> list:
    """The group's hosts (in their order) that one of its processes is planned on."""
    if len(planned) == 1:
        return list(planned[0])
    covered = set(chain.from_iterable(planned))
    return [h for h in hosts if h in covered]


def _holds(config: Mapping, groups: list, version) -> bool:
    """Whether flink_config, given everything the host's groups set and remove (as the enforce role
    gives it), would change nothing in this gathered file: no key two groups give different values."""
    settings: dict = {}
    for group in groups:
        for key, value in group["set"].items():
            if settings.setdefault(key, value) != value:
                return False
    return already_holds(config, settings, [k for g in groups for k in g["remove"]], version)


def _report(policy, mode, groups, jobs, templates, sizes, sizing, memory, ok, owner, budgets, failed, ungrouped,
            warnings, planned_hosts, sig_of):
    out_groups = {}
    for name, group in groups.items():
        processes = [p for p in PROCESSES if (name, p) in jobs]
        if not processes:
            continue
        set_, remove, reasons, keys, size_info = {}, set(), {}, {}, {}
        for process in processes:
            template = templates[(name, process)]
            set_.update(template["set"])
            remove |= template["remove"]
            reasons.update(template["reasons"])
            first = jobs[(name, process)][0]
            after = _apply(ok[first]["config"], [template])
            keys.update({k: v for k, v in after.items() if k in PLAN_KEYS[process]})
            size_info[process] = {"process_size": size_text(sizes[(name, process)]),
                                  "bytes": sizes[(name, process)], **sizing[(name, process)]}
        out_groups[name] = {
            "processes": processes,
            "hosts": _covered(group["hosts"], [jobs[(name, p)] for p in processes]),
            "set": dict(sorted(set_.items())),
            "remove": sorted(remove),
            "reasons": dict(sorted(reasons.items())),
            "keys": dict(sorted(keys.items())),
            "sizing": size_info,
            "memory": memory.get(name, {}),
            "not_gathered": group["not_gathered"],
            "failed": group["failed"],
        }
    hosts, seen = {}, {}
    for host in planned_hosts:
        config = ok[host]["config"]
        mine = [(owner[(host, p)], p) for p in PROCESSES if (host, p) in owner]
        set_, remove = {}, set()
        for key in mine:
            # A template only touches memory keys: hosts with the same memory config change alike.
            memo = (sig_of[(host, key[1])], key, ok[host]["flink_version"]) if sig_of else None
            change = seen.get(memo) if memo else None
            if change is None:
                template = templates[key]
                version = ok[host]["flink_version"]
                change = ({k: v for k, v in template["set"].items() if not holds(k, config.get(k), v, version)},
                          [k for k in template["remove"] if k in config])
                if memo:
                    seen[memo] = change
            set_.update(change[0])
            remove.update(change[1])
        names = natural_sorted({n for n, _unused in mine}) if len(mine) > 1 else [mine[0][0]]
        hosts[host] = {
            "groups": names,
            "set": dict(sorted(set_.items())) if len(set_) > 1 else set_,
            "remove": sorted(remove) if len(remove) > 1 else list(remove),
            "changed": bool(set_ or remove),
            "holds": _holds(config, [out_groups[n] for n in names if n in out_groups], ok[host]["flink_version"]),
            "budget": budgets[host],
        }
    shown_policy = dict(policy)
    shown_policy.update(headroom=size_text(policy["headroom"]) if policy["headroom"] else "0",
                        host_fraction=str(float(policy["host_fraction"])),
                        jobmanager_share=str(float(policy["jobmanager_share"])))
    for process in PROCESSES:
        proc = dict(policy[process])
        if isinstance(proc["process_size"], int):
            proc["process_size"] = size_text(proc["process_size"])
        if proc.get("managed_per_slot") is not None:
            proc["managed_per_slot"] = size_text(proc["managed_per_slot"])
        shown_policy[process] = proc
    if not isinstance(shown_policy["group_by"], str):
        shown_policy["group_by"] = "mapping"
    return {
        "policy": shown_policy,
        "group_by": mode,
        "groups": out_groups,
        "hosts": hosts,
        "skipped": failed,
        "ungrouped": ungrouped,
        "warnings": warnings,
        "summary": {
            "groups": len(out_groups),
            "hosts": len(hosts),
            "changed_hosts": sum(1 for h in hosts.values() if h["changed"]),
            "skipped": len(failed),
        },
    }


# --- The policy that removes a group's drift (the audit report's next step) -----------------------

_POLICY_NAME = {option: name for name, option in TM_TUNABLES.items()}


def _canonical(key: str, process: str):
    """The option ``key`` spells for ``process`` (a deprecated name maps to its option), or None."""
    for option in opts.PROCESSES[process].values():
        if key in option.names():
            return option
    return None


def _group_policy(drift_group: Mapping) -> dict:
    """process -> the policy section that gives every host of a drifting group what most of them have."""
    memory = drift_group.get("memory") or {}
    out: dict = {}
    for process in PROCESSES:
        profiles = (memory.get(process) or {}).get("profiles") or []
        keys = [i for i in _differing(drift_group) if i.get("counted") and i.get("kind") != "other"
                and _canonical(i["key"], process) is not None]
        if len(profiles) < 2 and not keys:
            continue
        proc: dict = {}
        if profiles:
            top = max(profiles, key=lambda p: len(p["hosts"]))  # the first with the most hosts
            proc["process_size"] = size_text(top["sizes"]["total_process"])
        sizing_names = (PROCESS_SIZE[process], *OTHER_SIZING[process], *LEGACY[process])
        sizing = {opts.PROCESSES[process][k].key for k in sizing_names if k in opts.PROCESSES[process]}
        for item in keys:
            option, value = _canonical(item["key"], process), item.get("majority")
            if value is None and item.get("outliers") is not None and option.default is not None:
                # most hosts leave the key unset: Flink's default is their value
                value = size_text(option.default) if option.kind == "memory" else str(option.default)
            if value is None or item.get("sensitive") or option.key in sizing:
                continue  # the size comes from process_size; the plan removes other sizing keys itself
            if process == TM and option.key in _POLICY_NAME:
                proc[_POLICY_NAME[option.key]] = str(value)
            elif option.key in {o.key for o in KEPT[process]}:
                proc.setdefault("options", {})[option.key] = str(value)
        if proc:
            out[process] = proc
    return out


def drift_policy(results, drift: Mapping, memory_limits=None) -> dict:
    """The fleet-level next step of a drift report: the enforce_policy under which every host of each
    drifting group gets one memory configuration, each process sized as most of its hosts are and each
    differing memory key at the value most hosts have; checked with memory_plan on the fleet.

    ``drift`` is a fleet_drift result. Returns ``policy`` (None when no group drifts in memory keys or
    memory), ``groups`` (the drifting groups it covers), ``valid`` and ``error`` (why memory_plan refuses
    it: the policy is then a starting point, not a fix).
    """
    groups = drift.get("groups") or {}
    policy: dict = {}
    covered, conflicts = [], []
    for name in natural_sorted(groups):
        if not groups[name].get("drift"):
            continue
        for process, proc in _group_policy(groups[name]).items():
            covered.append(name)
            have = policy.setdefault(process, {})
            for field, value in proc.items():
                if have.setdefault(field, value) != value:
                    conflicts.append(f"{process}.{field}")
    if not policy:
        return {"policy": None, "groups": [], "valid": True, "error": None}
    if drift.get("group_by") == "mapping":
        policy = {"group_by": {n: list(groups[n].get("hosts") or []) for n in natural_sorted(set(covered))},
                  **policy}
    elif drift.get("group_by") == "all":
        policy = {"group_by": "all", **policy}
    covered = natural_sorted(set(covered))
    if conflicts:
        return {"policy": policy, "groups": covered, "valid": False,
                "error": f"the groups {', '.join(covered)} have different majorities for "
                         f"{', '.join(sorted(set(conflicts)))}: one policy sizes every group alike; enforce "
                         f"them one at a time (enforce_hosts)"}
    try:
        memory_plan(results, policy, memory_limits=memory_limits)
    except (PolicyError, PlanError, FleetError) as exc:
        return {"policy": policy, "groups": covered, "valid": False, "error": str(exc)}
    return {"policy": policy, "groups": covered, "valid": True, "error": None}


def _differing(drift_group: Mapping) -> list:
    return list(drift_group.get("keys_differ") or []) + list(drift_group.get("keys_partial") or [])
