"""plugin_utils.aggregate: the gather record, and which cached result each host of a sliced audit gets."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ansible_collections.flinkops.flink.plugins.plugin_utils import aggregate as ag

NOW = 1_800_000_000.0
OK = {"changed": False, "failed": False, "config": {"taskmanager.memory.process.size": "4g"},
      "flink_version": "2.3.0", "processes": ["taskmanager"], "memory": {}, "read_at": NOW - 5}
FAILED = {"failed": True, "changed": False, "msg": "tm9: no config file"}
UNREACHABLE = {"unreachable": True, "changed": False, "msg": "ssh: connect to host refused"}


def rec(result=OK, age=10.0, **kw):
    return ag.make_record(result, now=NOW - age, **kw)


def test_record_round_trips_any_result_as_json_text():
    for result in (OK, FAILED, UNREACHABLE):
        record = rec(result, memory_limit="3g")
        assert set(record) == {"format", "gathered_at", "live", "result_json", "memory_limit"}
        assert isinstance(record["result_json"], str)
        got, at, live, limit = ag.read_record(json.loads(json.dumps(record)))
        assert got == result and at == NOW - 10 and live is False and limit == "3g"


def test_record_keeps_what_json_cannot_hold_as_text_and_drops_a_limit_of_the_wrong_type():
    record = ag.make_record({"failed": False, "odd": {1, 2}.__class__}, now=NOW, memory_limit=True)
    assert json.loads(record["result_json"])["odd"] == "<class 'set'>"
    assert record["memory_limit"] is None


def test_record_of_something_else_is_a_bad_call():
    with pytest.raises(ag.AggregateError, match="mapping"):
        ag.make_record(["not", "a", "result"], now=NOW)


@pytest.mark.parametrize("record, why", [
    ("text", "not a record"),
    ({"format": 1}, "lacks gathered_at, live, result_json"),
    ({**rec(), "format": 2}, "format 2"),
    ({**rec(), "gathered_at": "yesterday"}, "not a time"),
    ({**rec(), "gathered_at": float("nan")}, "not a time"),
    ({**rec(), "result_json": "{broken"}, "not JSON"),
    ({**rec(), "result_json": "[1]"}, "not a JSON object"),
])
def test_unreadable_records_say_why(record, why):
    with pytest.raises(ValueError, match=why):
        ag.read_record(record)


def test_fresh_records_are_used_as_they_are_failures_included():
    records = {"tm1": rec(), "tm2": rec(FAILED), "tm3": rec(UNREACHABLE)}
    out = ag.select(records, ["tm1", "tm2", "tm3"], now=NOW, max_age=60)
    assert out["results"] == {"tm1": OK, "tm2": FAILED, "tm3": UNREACHABLE}
    assert out["missing"] == [] and out["stale"] == [] and out["refused"] == []
    assert out["summary"]["complete"] is True and out["summary"]["used"] == 3
    assert out["lines"] == ["Cached gather results: 3 of 3 hosts used (read 10 to 10 s ago); maximum age 60 s"]


def test_missing_stale_future_and_unreadable_hosts_are_not_audited_by_name():
    records = {"tm1": rec(), "tm2": rec(age=61), "tm3": rec(age=-61), "tm4": {"format": 1}, "tm5": None}
    out = ag.select(records, ["tm1", "tm2", "tm3", "tm4", "tm5", "tm6"], now=NOW, max_age=60)
    assert out["results"]["tm1"] == OK
    assert out["missing"] == ["tm5", "tm6"]
    assert out["stale"] == [{"host": "tm2", "age": 61.0}]
    assert [r["host"] for r in out["refused"]] == ["tm3", "tm4"]
    for host, words in (("tm2", "61 s old, older than the maximum age (60 s)"), ("tm3", "in the future"),
                        ("tm4", "unusable"), ("tm5", "no cached gather result"), ("tm6", "no cached gather result")):
        result = out["results"][host]
        assert result["failed"] is True and result["msg"].startswith(f"{host}: ") and words in result["msg"]
    assert out["summary"]["complete"] is False
    assert "No cached result (2): tm5, tm6" in out["lines"] and "Too old (1): tm2" in out["lines"]


def test_a_record_exactly_at_the_maximum_age_is_still_used():
    out = ag.select({"tm1": rec(age=60)}, ["tm1"], now=NOW, max_age=60)
    assert out["results"]["tm1"] == OK


def test_the_live_audit_refuses_records_gathered_without_the_probe():
    records = {"tm1": rec(live=True), "tm2": rec(live=False)}
    out = ag.select(records, ["tm1", "tm2"], now=NOW, max_age=60, live=True)
    assert out["results"]["tm1"] == OK
    assert "gather_live=true" in out["results"]["tm2"]["msg"]
    assert ag.select(records, ["tm1", "tm2"], now=NOW, max_age=60)["summary"]["complete"] is True


def test_awx_slices_follow_awx_order_by_name_every_count_th_host():
    # AWX: hosts ordered by name, slice k gets hosts[k-1::count]
    hosts = ["tm10", "jm1", "tm1", "tm2", "tm3"]
    assert ag.awx_slices(hosts, 2) == {"jm1": 1, "tm1": 2, "tm10": 1, "tm2": 2, "tm3": 1}
    assert set(ag.awx_slices(hosts, 1).values()) == {1}
    with pytest.raises(ag.AggregateError, match="slice_count"):
        ag.awx_slices(hosts, 0)


def test_slices_without_usable_records_are_named_with_their_hosts():
    inventory = [f"h{i}" for i in range(8)] + ["other"]  # a host outside the audit still takes its place
    hosts = [f"h{i}" for i in range(8)]
    slice_of = ag.awx_slices(inventory, 3)
    records = {h: rec() for h in hosts if slice_of[h] == 1}
    records.update({h: rec(age=1000) for h in hosts if slice_of[h] == 3})
    fresh_one, stale_one = [h for h in hosts if slice_of[h] == 2][:2]
    records[fresh_one] = rec()
    records[stale_one] = rec(age=1000)
    out = ag.select(records, hosts, now=NOW, max_age=60, slice_count=3, inventory_hosts=inventory)
    by_number = {s["slice"]: s for s in out["slices"]}
    assert by_number[1]["status"] == "complete"
    assert by_number[2]["status"] == "incomplete" and by_number[2]["stale"] == [stale_one]
    assert sorted(by_number[2]["missing"]) == sorted(h for h in hosts if slice_of[h] == 2
                                                     and h not in (fresh_one, stale_one))
    assert by_number[3]["status"] == "missing"
    in_third = next(h for h in hosts if slice_of[h] == 3)
    assert "(AWX slice 3 of 3)" in out["results"][in_third]["msg"]
    assert any(line.startswith("Slice 3 of 3: missing") for line in out["lines"])
    assert not any(line.startswith("Slice 1 of 3") for line in out["lines"])


@pytest.mark.parametrize("kwargs, words", [
    ({"max_age": 0}, "max_age"), ({"max_age": True}, "max_age"), ({"max_age": "1h"}, "max_age"),
])
def test_bad_calls(kwargs, words):
    with pytest.raises(ag.AggregateError, match=words):
        ag.select({}, ["tm1"], now=NOW, **kwargs)
    with pytest.raises(ag.AggregateError, match="hosts"):
        ag.select({}, "tm1", now=NOW, max_age=1)
    with pytest.raises(ag.AggregateError, match="records"):
        ag.select([], ["tm1"], now=NOW, max_age=1)


def test_a_plan_needs_every_host_and_takes_the_recorded_limits():
    full = ag.select({"tm1": rec(memory_limit="3g"), "tm2": rec()}, ["tm1", "tm2"], now=NOW, max_age=60)
    results, limits = ag.complete_results(full)
    assert results == {"tm1": OK, "tm2": OK} and limits == {"tm1": "3g", "tm2": None}
    part = ag.select({"tm1": rec()}, ["tm1", "tm2"], now=NOW, max_age=60)
    with pytest.raises(ag.AggregateError, match=r"no plan from part of the fleet: 1 hosts .*\(tm2\)"):
        ag.complete_results(part)
    with pytest.raises(ag.AggregateError, match="cached_gather"):
        ag.complete_results({"results": {}})


def test_not_kept_names_hosts_whose_record_of_this_run_the_cache_lacks():
    since = NOW - 30
    records = {"tm1": rec(age=10), "tm2": rec(age=31), "tm4": {"format": 1}, "tm5": "text",
               "tm6": rec(age=10) | {"gathered_at": True}}
    hosts = ["tm1", "tm2", "tm3", "tm4", "tm5", "tm6", "tm1"]
    # tm2 is an older run's, tm3 absent, tm4 to tm6 no record of a time: each named once, in order
    assert ag.not_kept(records, hosts, since=since) == ["tm2", "tm3", "tm4", "tm5", "tm6"]
    assert ag.not_kept(records, ["tm1"], since=since) == []


def test_not_kept_counts_a_record_of_the_run_first_millisecond():
    since = 1_800_000_000.0004  # the record made then keeps .000 (milliseconds)
    record = ag.make_record(OK, now=since)
    assert record["gathered_at"] < since and ag.not_kept({"tm1": record}, ["tm1"], since=since) == []
    assert ag.not_kept({"tm1": ag.make_record(OK, now=since - 0.002)}, ["tm1"], since=since) == ["tm1"]


@pytest.mark.parametrize("since", [None, "1", True, float("nan")])
def test_not_kept_needs_a_time(since):
    with pytest.raises(ag.AggregateError, match="since must be a time in seconds"):
        ag.not_kept({}, ["tm1"], since=since)


def test_not_kept_message_names_the_cache_hosts_and_what_to_do():
    text = ag.not_kept_message([f"tm{i}" for i in range(12)], 40, "jsonfile at /c")
    assert text.startswith("the fact cache (jsonfile at /c) holds no result of this run for 12 of 40 hosts: tm0, ")
    assert "tm9 and 2 more" in text and "create the cache directory before sliced runs start" in text


def test_slim_plan_keeps_what_the_enforce_role_reads():
    plan = {"groups": {"taskmanager": {"set": {"taskmanager.memory.process.size": "4g"}, "remove": ["x"],
                                       "hosts": ["tm1"], "memory": {"tm1": {"big": "model"}}}},
            "hosts": {"tm1": {"groups": ["taskmanager"], "holds": False, "set": {}, "memory": {}}},
            "skipped": []}
    assert ag.slim_plan(plan) == {
        "groups": {"taskmanager": {"set": {"taskmanager.memory.process.size": "4g"}, "remove": ["x"],
                                   "hosts": ["tm1"]}},
        "hosts": {"tm1": {"groups": ["taskmanager"], "holds": False}}}
    with pytest.raises(ag.AggregateError, match="memory_plan"):
        ag.slim_plan({"groups": {}})


def test_imports_without_ansible():
    code = ("import sys; sys.modules['ansible'] = None\n"
            "from ansible_collections.flinkops.flink.plugins.plugin_utils import aggregate\n"
            "print(aggregate.FACT)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": ":".join(sys.path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "flink_gather"
