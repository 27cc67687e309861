# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit of a sliced fleet: each host's gather cached as a record, the whole inventory read back.

Under AWX job slicing every slice is its own ``ansible-playbook`` over a part of the inventory; none
sees the others' hosts. ``playbooks/gather.yml`` runs sliced and stores each host's gather result
(``flink_config_info``, failures and unreachable hosts included) as the cacheable fact ``flink_gather``:
a record made by :func:`make_record`. ``playbooks/audit_aggregate.yml`` then runs once, contacts no
managed host, and :func:`select` decides from the records of every host which results the fleet
report is built from: a host without a record, with a record older than the maximum age, or with a
record that cannot be read is reported as not audited, by name, and so is the AWX slice it belongs to.

The result is kept as JSON text inside the record: ansible-core decodes every cached container
through its tagged-value decoder (about 1 ms a host), and one string costs nothing to decode.

Never imports Ansible.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence

FACT = "flink_gather"  # the cacheable fact that playbooks/gather.yml sets on each host
RECORD_FORMAT = 1
RECORD_KEYS = ("format", "gathered_at", "live", "result_json")


class AggregateError(ValueError):
    """A bad call: arguments of the wrong shape (never a bad record, which is reported per host)."""


def make_record(result, *, now: float, live: bool = False, memory_limit=None) -> dict:
    """The cacheable record of one host's gather result (registered from flink_config_info).

    ``now`` is when the record is made, by the controller's clock, in seconds since the epoch: the
    result's own ``read_at`` exists only when the gather succeeded, and a failure ages the same way.
    ``memory_limit`` is the host's ``flink_memory_limit_bytes`` as the inventory gives it, for the plan:
    the aggregate reads no host variable of 10,000 hosts (each one costs milliseconds in Ansible).
    """
    if not isinstance(result, Mapping):
        raise AggregateError("a gather result is a mapping (what flink_config_info registered), "
                             f"got {type(result).__name__}")
    return {
        "format": RECORD_FORMAT,
        "gathered_at": round(float(now), 3),
        "live": bool(live),
        # default=str: whatever Ansible left in a result that is not JSON (the audit's report reads it the same way)
        "result_json": json.dumps(result, default=str, separators=(",", ":")),
        "memory_limit": memory_limit if isinstance(memory_limit, (int, str)) and not isinstance(memory_limit, bool)
        else None,
    }


def read_record(record) -> tuple:
    """(result, gathered_at, live, memory_limit) of a record, or raise ValueError saying what is wrong."""
    if not isinstance(record, Mapping):
        raise ValueError(f"it is a {type(record).__name__}, not a record of flinkops.flink.gather")
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing:
        raise ValueError(f"it lacks {', '.join(missing)}: not a record of flinkops.flink.gather")
    if record["format"] != RECORD_FORMAT:
        raise ValueError(f"it has format {record['format']!r}; this collection reads format {RECORD_FORMAT} "
                         "(run flinkops.flink.gather of this collection again)")
    gathered_at = record["gathered_at"]
    if isinstance(gathered_at, bool) or not isinstance(gathered_at, (int, float)) or not math.isfinite(gathered_at):
        raise ValueError(f"its gathered_at {gathered_at!r} is not a time in seconds")
    try:
        result = json.loads(str(record["result_json"]))
    except ValueError as exc:
        raise ValueError(f"its result_json is not JSON ({exc})") from None
    if not isinstance(result, dict):
        raise ValueError("its result_json is not a gather result (not a JSON object)")
    return result, float(gathered_at), bool(record["live"]), record.get("memory_limit")


def awx_slices(inventory_hosts: Sequence, count: int) -> dict:
    """Host -> its AWX slice number (1-based) when a job template has ``job_slice_count`` = ``count``.

    AWX orders the inventory's enabled hosts by name and gives slice k the hosts k-1, k-1+count, ...
    (Inventory.get_script_data: ``hosts[offset::slice_count]``). Names are ordered here by code point;
    the database orders by its collation, which agrees for lower-case names of letters, digits and dots.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise AggregateError(f"slice_count must be a whole number of 1 or more, got {count!r}")
    ordered = sorted(dict.fromkeys(str(h) for h in inventory_hosts))
    return {host: index % count + 1 for index, host in enumerate(ordered)}


def _not_audited(host: str, why: str) -> dict:
    # the shape of a failed gather: the report lists the host as not audited with this message
    return {"failed": True, "changed": False, "msg": f"{host}: {why}"}


def _age_text(seconds: float) -> str:
    return f"{seconds:.0f} s"


def select(records: Mapping, hosts: Sequence, *, now: float, max_age: float, live: bool = False,
           slice_count: int = 0, inventory_hosts: Sequence | None = None) -> dict:
    """Which cached result each host of the audit is reported with, and which hosts are not.

    ``records`` maps a hostname to its cached ``flink_gather`` record (None or absent: nothing cached).
    A record older than ``max_age`` seconds (by ``now``), made more than ``max_age`` seconds in the future
    (clocks of two controllers apart), unreadable, or made without the live probe when ``live`` is asked
    is refused: the host gets a failed result that says why, so the report lists it as not audited.

    With ``slice_count`` (the job template's ``job_slice_count``) each host is given its AWX slice, worked
    out from ``inventory_hosts`` (every host of the inventory, as AWX slices it; default ``hosts``), and
    every slice with a host lacking a usable record is named.
    """
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or not max_age > 0:
        raise AggregateError(f"max_age must be a positive number of seconds, got {max_age!r}")
    if not isinstance(records, Mapping):
        raise AggregateError(f"records must map hostnames to their cached records, got {type(records).__name__}")
    if isinstance(hosts, (str, bytes)) or not isinstance(hosts, Sequence):
        raise AggregateError(f"hosts must be a list of hostnames, got {type(hosts).__name__}")
    hosts = list(dict.fromkeys(str(h) for h in hosts))
    slice_of = {}
    if slice_count:
        slice_of = awx_slices(inventory_hosts if inventory_hosts is not None else hosts, slice_count)

    results, limits, missing, stale, refused, ages = {}, {}, [], [], [], []
    for host in hosts:
        where = f" (AWX slice {slice_of[host]} of {slice_count})" if host in slice_of else ""
        record = records.get(host)
        if record is None:
            missing.append(host)
            results[host] = _not_audited(host, f"no cached gather result{where}: flinkops.flink.gather did not "
                                               "record this host (its slice failed or did not run, or the fact "
                                               "cache lost it); run the gather for it again")
            continue
        try:
            result, gathered_at, was_live, limit = read_record(record)
        except ValueError as exc:
            refused.append({"host": host, "reason": str(exc)})
            results[host] = _not_audited(host, f"its cached gather result is unusable{where}: {exc}")
            continue
        age = now - gathered_at
        if age > max_age:
            stale.append({"host": host, "age": round(age, 3)})
            results[host] = _not_audited(host, f"its cached gather result is {_age_text(age)} old{where}, older "
                                               f"than the maximum age ({_age_text(max_age)}); run "
                                               "flinkops.flink.gather again")
            continue
        if age < -max_age:
            refused.append({"host": host, "reason": f"it was made {_age_text(-age)} in the future"})
            results[host] = _not_audited(host, f"its cached gather result was made {_age_text(-age)} in the "
                                               f"future{where}: the controllers' clocks disagree")
            continue
        if live and not was_live:
            refused.append({"host": host, "reason": "gathered without the live probe"})
            results[host] = _not_audited(host, f"its cached gather result has no live probe{where}: the live "
                                               "audit needs flinkops.flink.gather run with gather_live=true")
            continue
        results[host] = result
        limits[host] = limit
        ages.append(age)

    unusable = set(missing) | {s["host"] for s in stale} | {r["host"] for r in refused}
    slices = []
    if slice_count:
        for number in range(1, slice_count + 1):
            members = [h for h in hosts if slice_of.get(h) == number]
            lacking = [h for h in members if h in unusable]
            status = "complete" if not lacking else ("missing" if len(lacking) == len(members) else "incomplete")
            slices.append({"slice": number, "hosts": len(members), "status": status,
                           "missing": [h for h in lacking if h in missing],
                           "stale": [h for h in lacking if h not in missing and h in {s["host"] for s in stale}],
                           "refused": [h for h in lacking if h not in missing
                                       and h in {r["host"] for r in refused}]})
    summary = {
        "hosts": len(hosts),
        "used": len(ages),
        "missing": len(missing),
        "stale": len(stale),
        "refused": len(refused),
        "oldest_age": round(max(ages), 3) if ages else None,
        "newest_age": round(min(ages), 3) if ages else None,
        "complete": not unusable,
    }
    selection = {"results": results, "memory_limits": limits, "hosts": hosts, "missing": missing, "stale": stale,
                 "refused": refused, "slices": slices, "summary": summary, "max_age": max_age}
    selection["lines"] = summary_lines(selection)
    return selection


def not_kept(records: Mapping, hosts: Sequence, *, since: float) -> list:
    """The hosts whose record of this gather run the fact cache does not hold, in the order given.

    ``records`` is what the cache holds now; ``since`` is when the run started. A record that is absent,
    not a record, or made before ``since`` (an older run's) was not kept: ansible-playbook keeps cacheable
    facts in memory alone when its cache plugin fails to load (a jsonfile directory it could not create, or
    that concurrent slices created at the same moment), warns once and succeeds.
    """
    if isinstance(since, bool) or not isinstance(since, (int, float)) or not math.isfinite(since):
        raise AggregateError(f"since must be a time in seconds, got {since!r}")
    # records keep milliseconds (make_record rounds): one made in the run's first millisecond counts
    floor = math.floor(float(since) * 1000) / 1000
    lost = []
    for host in dict.fromkeys(str(h) for h in hosts):
        record = records.get(host)
        made = record.get("gathered_at") if isinstance(record, Mapping) else None
        if isinstance(made, bool) or not isinstance(made, (int, float)) or made < floor:
            lost.append(host)
    return lost


def not_kept_message(lost: list, total: int, cache: str) -> str:
    """Why a gather fails when the cache lost hosts, and what the user can do."""
    return (f"the fact cache ({cache}) holds no result of this run for {len(lost)} of {total} hosts: {_names(lost)}. "
            "ansible-playbook keeps cacheable facts in memory alone when its cache plugin fails to load (see its "
            "warning at the start of this run; for jsonfile, a directory it could not create, or one that "
            "concurrent slices created at the same moment): create the cache directory before sliced runs start, "
            "check the cache settings, and run flinkops.flink.gather for these hosts again")


def _names(hosts: list, limit: int = 10) -> str:
    shown = ", ".join(hosts[:limit])
    return shown + (f" and {len(hosts) - limit} more" if len(hosts) > limit else "")


def summary_lines(selection: Mapping) -> list:
    """What the aggregate shows before the report: what was used, and every host and slice left out."""
    s = selection["summary"]
    lines = [f"Cached gather results: {s['used']} of {s['hosts']} hosts used"
             + (f" (read {s['newest_age']:.0f} to {s['oldest_age']:.0f} s ago)" if s["used"] else "")
             + f"; maximum age {selection['max_age']:.0f} s"]
    if selection["missing"]:
        lines.append(f"No cached result ({len(selection['missing'])}): {_names(selection['missing'])}")
    if selection["stale"]:
        lines.append(f"Too old ({len(selection['stale'])}): {_names([x['host'] for x in selection['stale']])}")
    for item in selection["refused"][:10]:
        lines.append(f"Refused {item['host']}: {item['reason']}")
    if len(selection["refused"]) > 10:
        lines.append(f"Refused {len(selection['refused']) - 10} more hosts")
    for sl in selection["slices"]:
        if sl["status"] == "complete":
            continue
        lacking = sl["missing"] + sl["stale"] + sl["refused"]
        lines.append(f"Slice {sl['slice']} of {len(selection['slices'])}: {sl['status']}, "
                     f"{len(lacking)} of {sl['hosts']} hosts without a usable result: {_names(lacking)}")
    return lines


def complete_results(selection: Mapping) -> tuple:
    """(results, memory limits) of a selection that covers every host, for a plan; else why not, naming them.

    A plan made from part of a fleet is what slicing gets wrong (each slice sizing its group from the hosts
    it sees): a host without a usable cached result refuses the plan, where the report only lists it."""
    if not isinstance(selection, Mapping) or not isinstance(selection.get("results"), Mapping) \
            or "summary" not in selection:
        raise AggregateError("give the result of flinkops.flink.cached_gather (its results, hosts and summary)")
    if not selection["summary"]["complete"]:
        lacking = selection["missing"] + [s["host"] for s in selection["stale"]] \
            + [r["host"] for r in selection["refused"]]
        raise AggregateError(f"no plan from part of the fleet: {len(lacking)} hosts have no usable cached gather "
                             f"result ({_names(lacking)}); run flinkops.flink.gather for them and aggregate again")
    return dict(selection["results"]), dict(selection.get("memory_limits") or {})


def slim_plan(plan: Mapping) -> dict:
    """What the enforce role reads of a memory_plan result, for every slice to apply: each group's set,
    remove and hosts, each host's groups and whether it already holds its plan (as playbooks/enforce.yml
    keeps it: the memory models in a full plan would be copied on every host by the role's argument check)."""
    if not isinstance(plan, Mapping) or not isinstance(plan.get("groups"), Mapping) \
            or not isinstance(plan.get("hosts"), Mapping):
        raise AggregateError("plan must be a result of flinkops.flink.memory_plan (with groups and hosts)")
    return {
        "groups": {name: {"set": dict(group.get("set") or {}), "remove": list(group.get("remove") or []),
                          "hosts": list(group.get("hosts") or [])}
                   for name, group in plan["groups"].items()},
        "hosts": {host: {"groups": list(entry.get("groups") or []), "holds": bool(entry.get("holds"))}
                  for host, entry in plan["hosts"].items()},
    }
