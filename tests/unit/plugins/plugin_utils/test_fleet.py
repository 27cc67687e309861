"""fleet_drift over gathered results: keys vs effective memory, ordering, failures, sensitive values."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.options import redact
from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import (
    FleetError,
    fleet_drift,
    human_bytes,
    natural_sorted,
)

GIB, MIB = 1 << 30, 1 << 20


def gathered(config, version="2.3.0", processes=("taskmanager",), ram=8 * GIB, cgroup=None, **extra):
    """A result shaped like flink_config_info's: memory from the real file, config redacted."""
    result = {
        "changed": False,
        "config": redact(config, version),
        "config_file": "/opt/flink/conf/config.yaml",
        "checksum": str(sorted(config.items())),
        "flink_version": version,
        "processes": list(processes),
        "mem_total_bytes": ram,
        "cgroup_memory_limit_bytes": cgroup,
        "cpu_count": 4,
        "memory": {p: compute(config, p, version) for p in processes},
    }
    result.update(extra)
    return result


TM = {"taskmanager.memory.process.size": "1728m", "taskmanager.numberOfTaskSlots": "2"}


def entry(items, key):
    return next(e for e in items if e["key"] == key)


def test_seed_story_taskmanagers_with_different_managed_fractions():
    results = {
        "tm1": gathered({**TM, "taskmanager.memory.managed.fraction": "0.4"}),
        "tm2": gathered({**TM, "taskmanager.memory.managed.fraction": "0.4"}),
        "tm3": gathered({**TM, "taskmanager.memory.managed.fraction": "0.7"}),
    }
    drift = fleet_drift(results)
    group = drift["groups"]["taskmanager"]
    assert group["drift"] and drift["summary"]["drift"]
    fraction = entry(group["keys_differ"], "taskmanager.memory.managed.fraction")
    assert fraction["values"] == [{"value": "0.4", "hosts": ["tm1", "tm2"], "majority": True},
                                  {"value": "0.7", "hosts": ["tm3"], "majority": False}]
    assert fraction["majority"] == "0.4" and fraction["outliers"] == ["tm3"]
    assert fraction["equivalent"] is False and fraction["memory"] is True and fraction["counted"] is True
    memory = group["memory"]["taskmanager"]
    assert memory["status"] == "different_memory"
    managed = memory["differing_components"]["managed"]
    expected = {h: compute(dict(c, **TM), "taskmanager", "2.3")["sizes"]["managed"]
                for h, c in (("tm1", {"taskmanager.memory.managed.fraction": "0.4"}),
                             ("tm3", {"taskmanager.memory.managed.fraction": "0.7"}))}
    assert [(m["bytes"], m["hosts"]) for m in managed] == [(expected["tm1"], ["tm1", "tm2"]),
                                                           (expected["tm3"], ["tm3"])]
    # Same process size: the total is not among the differences.
    assert "total_process" not in memory["differing_components"]


def test_same_memory_different_keys_units_and_flink_size():
    # 1280m of Total Flink Memory + 256m metaspace + 192m overhead (the inverse fraction, clamped) = 1728m.
    results = {
        "tm1": gathered({"taskmanager.memory.process.size": "1728m"}),
        "tm2": gathered({"taskmanager.memory.process.size": "1728 mb"}),
        "tm3": gathered({"taskmanager.memory.flink.size": "1280m"}),
    }
    group = fleet_drift(results)["groups"]["taskmanager"]
    memory = group["memory"]["taskmanager"]
    assert memory["status"] == "same_memory_different_keys"
    assert len(memory["profiles"]) == 1 and memory["profiles"][0]["hosts"] == ["tm1", "tm2", "tm3"]
    assert memory["profiles"][0]["sizes"]["total_process"] == 1728 * MIB
    assert memory["differing_components"] == {}
    size = entry(group["keys_partial"], "taskmanager.memory.process.size")
    assert size["values"] == [{"value": "1728m", "hosts": ["tm1"]}, {"value": "1728 mb", "hosts": ["tm2"]}]
    assert size["absent_on"] == ["tm3"]
    assert entry(group["keys_partial"], "taskmanager.memory.flink.size")["absent_on"] == ["tm1", "tm2"]
    # Only the memory differs matters for the summary; key drift is still drift.
    assert group["summary"]["memory_differs"] == [] and group["drift"] is True


def test_equivalent_spellings_are_flagged():
    results = {"a": gathered({"taskmanager.memory.process.size": "1728m"}),
               "b": gathered({"taskmanager.memory.process.size": "1728 mb"})}
    group = fleet_drift(results)["groups"]["taskmanager"]
    assert entry(group["keys_differ"], "taskmanager.memory.process.size")["equivalent"] is True
    # An absent key counts as Flink's default: 0.4 explicit vs unset is equivalent.
    results = {"a": gathered({**TM, "taskmanager.memory.managed.fraction": "0.40"}), "b": gathered(TM)}
    group = fleet_drift(results)["groups"]["taskmanager"]
    assert entry(group["keys_partial"], "taskmanager.memory.managed.fraction")["equivalent"] is True
    assert group["memory"]["taskmanager"]["status"] == "same_memory_different_keys"


def test_an_absent_key_is_the_default_of_the_hosts_own_line():
    # taskmanager.memory.network.max defaults to 1 gb up to 1.16 and is unbounded from 1.17
    def fleet(version):
        return {"a": gathered({**TM, "taskmanager.memory.network.max": "1g"}, version=version),
                "b": gathered(TM, version=version)}

    for version, same in (("1.16.3", True), ("2.3.0", False)):
        group = fleet_drift(fleet(version))["groups"]["taskmanager"]
        assert entry(group["keys_partial"], "taskmanager.memory.network.max")["equivalent"] is same, version


def test_different_process_sizes_1728m_vs_1812m():
    results = {"tm1": gathered({"taskmanager.memory.process.size": "1728m"}),
               "tm2": gathered({"taskmanager.memory.process.size": "1812m"})}
    memory = fleet_drift(results)["groups"]["taskmanager"]["memory"]["taskmanager"]
    assert memory["status"] == "different_memory"
    totals = memory["differing_components"]["total_process"]
    assert [(t["bytes"], t["hosts"], t["human"]) for t in totals] == [
        (1728 * MIB, ["tm1"], "1728 MiB"), (1812 * MIB, ["tm2"], "1812 MiB")]


def test_same_keys_different_versions_legacy_heap():
    # 1.x maps taskmanager.heap.size to Total Flink Memory; 2.x silently ignores it.
    config = {"taskmanager.memory.process.size": "1728m", "taskmanager.heap.size": "1g"}
    results = {"tm1": gathered(config, version="1.20.5"), "tm2": gathered(config, version="2.3.0")}
    group = fleet_drift(results)["groups"]["taskmanager"]
    assert group["keys_differ"] == [] and group["keys_partial"] == []
    memory = group["memory"]["taskmanager"]
    assert memory["status"] == "different_memory_same_keys"
    assert "1.20.5" in memory["reason"] and "2.3.0" in memory["reason"]
    flink = {t["hosts"][0]: t["bytes"] for t in memory["differing_components"]["total_flink"]}
    assert flink["tm1"] == GIB and flink["tm2"] == 1280 * MIB
    assert group["flink_versions"] == {"1.20.5": ["tm1"], "2.3.0": ["tm2"]}
    assert group["drift"] is True


def test_jobmanager_with_blog_only_key_has_same_memory():
    jm = {"jobmanager.memory.process.size": "1600m"}
    results = {"jm1": gathered(jm, processes=("jobmanager",)),
               "jm2": gathered({**jm, "jobmanager.memory.managed.fraction": "0.5"}, processes=("jobmanager",))}
    group = fleet_drift(results)["groups"]["jobmanager"]
    assert group["memory"]["jobmanager"]["status"] == "same_memory_different_keys"
    key = entry(group["keys_partial"], "jobmanager.memory.managed.fraction")
    assert key["absent_on"] == ["jm1"] and key["memory"] is True
    assert key["equivalent"] is None  # not a Flink option: nothing to compare it with


def test_invalid_and_failed_hosts():
    results = {
        "tm1": gathered(TM),
        "tm2": gathered({**TM, "taskmanager.memory.process.size": "1.5g"}),
        "tm3": {"failed": True, "msg": "tm3: /opt/flink/conf: config.yaml does not exist"},
        "tm4": {"unreachable": True, "msg": "ssh: connect to host tm4 port 22: Connection refused"},
        "tm5": {"skipped": True, "skip_reason": "Conditional result was False"},
    }
    drift = fleet_drift(results)
    group = drift["groups"]["taskmanager"]
    assert [i["host"] for i in group["invalid"]] == ["tm2"]
    assert "Could not parse value '1.5g' for key 'taskmanager.memory.process.size'" in group["invalid"][0]["error"]
    assert group["memory"]["taskmanager"]["valid_hosts"] == 1
    assert [f["host"] for f in drift["failed"]] == ["tm3", "tm4", "tm5"]
    assert drift["failed"][0]["msg"].endswith("config.yaml does not exist")
    assert drift["failed"][1]["msg"].startswith("unreachable: ssh")
    assert "skipped" in drift["failed"][2]["msg"]
    assert drift["summary"] == {"groups": 1, "hosts": 2, "failed": 3, "invalid": 1,
                                "groups_with_drift": ["taskmanager"], "drift": True, "complete": False,
                                "drift_keys": "memory"}


def test_all_hosts_invalid_alike():
    bad = {"taskmanager.memory.process.size": "2gib"}
    group = fleet_drift({"a": gathered(bad), "b": gathered(bad)})["groups"]["taskmanager"]
    assert group["memory"]["taskmanager"]["status"] == "invalid"
    assert group["drift"] is False and len(group["invalid"]) == 2


def test_natural_order_everywhere():
    names = ["tm10", "tm2", "tm1", "tm01", "jm1"]
    results = {n: gathered({**TM, "x.y": n}) for n in names}
    drift = fleet_drift(results)
    assert drift["groups"]["taskmanager"]["hosts"] == ["jm1", "tm01", "tm1", "tm2", "tm10"]
    assert [v["hosts"] for v in entry(drift["groups"]["taskmanager"]["keys_differ"], "x.y")["values"]] == [
        ["jm1"], ["tm01"], ["tm1"], ["tm2"], ["tm10"]]
    assert natural_sorted(["b10", "b9", "a100"]) == ["a100", "b9", "b10"]


def test_groups_by_process_and_by_mapping():
    results = {
        "jm1": gathered({"jobmanager.memory.process.size": "1600m"}, processes=("jobmanager",)),
        "both1": gathered({"jobmanager.memory.process.size": "1g", **TM}, processes=("jobmanager", "taskmanager")),
        "tm1": gathered(TM),
        "idle": gathered(TM, processes=()),
        "down": {"failed": True, "msg": "boom"},
    }
    drift = fleet_drift(results)
    assert list(drift["groups"]) == ["jobmanager", "taskmanager"]
    assert drift["groups"]["jobmanager"]["hosts"] == ["both1", "jm1"]
    assert drift["groups"]["taskmanager"]["hosts"] == ["both1", "tm1"]
    assert drift["ungrouped"] == ["idle"]
    mapping = {"rack2": ["tm1", "down", "ghost"], "rack1": ["jm1", "both1"]}
    drift = fleet_drift(results, mapping)
    assert drift["group_by"] == "mapping" and list(drift["groups"]) == ["rack1", "rack2"]
    rack2 = drift["groups"]["rack2"]
    assert rack2["hosts"] == ["tm1"] and rack2["failed"] == [{"host": "down", "msg": "boom"}]
    assert rack2["not_gathered"] == ["ghost"]
    # A mixed group compares each process among the hosts that run it.
    rack1 = drift["groups"]["rack1"]
    assert set(rack1["memory"]) == {"jobmanager", "taskmanager"}
    assert rack1["memory"]["jobmanager"]["status"] == "different_memory"
    assert rack1["memory"]["taskmanager"]["hosts"] == 1
    assert drift["ungrouped"] == ["idle"]
    assert fleet_drift(results, "all")["groups"]["all"]["hosts"] == ["both1", "idle", "jm1", "tm1"]


SECRET = "hunter2-do-not-print"


def test_sensitive_values_never_shown_and_not_falsely_equal():
    # The 2.0 host's key is not sensitive to Flink 2.0 (api-key arrived in 2.1), so the gather would show it.
    key = "metrics.reporter.dd.api-key"
    results = {
        "tm1": gathered({**TM, key: SECRET, "s3.secret-key": "one"}, version="2.0.2"),
        "tm2": gathered({**TM, key: "other", "s3.secret-key": "two"}, version="2.3.0"),
    }
    assert results["tm1"]["config"][key] == SECRET  # what the gather really returns
    drift = fleet_drift(results)
    assert SECRET not in json.dumps(drift)
    group = drift["groups"]["taskmanager"]
    assert group["sensitive_unchecked"] == [key, "s3.secret-key"]
    assert any("cannot be compared" in n for n in group["notes"])
    assert group["identical_files"] is False


def test_host_specific_keys_are_not_drift_but_duplicates_are_told():
    results = {f"tm{i}": gathered({**TM, "taskmanager.host": f"tm{i}.example.org",
                                   "taskmanager.resource-id": "tm-a" if i in (2, 10) else f"tm{i}"})
               for i in (1, 2, 3, 10)}
    results["tm4"] = gathered(TM)
    group = fleet_drift(results)["groups"]["taskmanager"]
    assert group["drift"] is False and group["keys_differ"] == [] and group["keys_partial"] == []
    own = {e["key"]: e for e in group["keys_host_specific"]}
    assert own["taskmanager.host"] == {"key": "taskmanager.host", "hosts": 4, "duplicates": [], "absent_on": ["tm4"]}
    assert own["taskmanager.resource-id"]["duplicates"] == [{"value": "tm-a", "hosts": ["tm2", "tm10"]}]
    assert any("taskmanager.resource-id is the same on tm2, tm10" in n for n in group["notes"])


def test_files_differ_only_in_what_is_not_shown():
    a, b = gathered(TM), gathered(TM)
    b["checksum"] = "something else"
    group = fleet_drift({"a": a, "b": b})["groups"]["taskmanager"]
    assert group["drift"] is False and group["identical_files"] is False
    assert any("comments" in n for n in group["notes"])
    assert group["memory"]["taskmanager"]["status"] == "identical"


def test_memory_computed_when_the_result_lacks_it():
    result = gathered({"taskmanager.memory.process.size": "2g"})
    del result["memory"]
    drift = fleet_drift({"a": result, "b": gathered({"taskmanager.memory.process.size": "2048m"})})
    assert drift["groups"]["taskmanager"]["memory"]["taskmanager"]["status"] == "same_memory_different_keys"


@pytest.mark.parametrize("results, group_by, words", [
    ([1, 2], "process", "results must be a mapping"),
    ({}, "processes", "process, all or a mapping"),
    ({}, ["a"], "process, all or a mapping"),
    ({}, {"g": "tm1"}, "group_by['g'] must be a list"),
])
def test_bad_calls(results, group_by, words):
    with pytest.raises(FleetError) as err:
        fleet_drift(results, group_by)
    assert words in str(err.value)


def test_not_a_gather_result_is_reported_not_raised():
    drift = fleet_drift({"a": {"foo": 1}, "b": gathered(TM, version="2.3.0"), "c": dict(gathered(TM),
                                                                                         flink_version="1.13.6")})
    assert [f["host"] for f in drift["failed"]] == ["a", "c"]
    assert "1.14" in drift["failed"][1]["msg"]


def test_human_bytes():
    assert human_bytes(0) == "0 B"
    assert human_bytes(GIB) == "1 GiB"
    assert human_bytes(1728 * MIB) == "1728 MiB"
    assert human_bytes(1000) == "1000 B"
    assert human_bytes(402653174) == "384.0 MiB (402653174 bytes)"


# --- Property: analysing identical configs once gives the same answer as host by host ----------

CHOICES = {
    "taskmanager.memory.process.size": ["1728m", "1728 mb", "2g", "1812m", "1.5g"],
    "taskmanager.memory.flink.size": ["1280m", "1g"],
    "taskmanager.memory.managed.fraction": ["0.4", "0.40", "0.6"],
    "taskmanager.numberOfTaskSlots": ["1", "2", "4"],
    "taskmanager.heap.size": ["1g"],
    "jobmanager.memory.process.size": ["1600m", "2g"],
    "s3.secret-key": ["a", "b"],
    "parallelism.default": ["1", "4"],
    "taskmanager.resource-id": ["a", "b", "c"],
}


@st.composite
def fleets(draw):
    n = draw(st.integers(1, 12))
    results = {}
    for _ in range(n):
        name = draw(st.sampled_from(["tm", "jm", "node"])) + str(draw(st.integers(0, 20)))
        if draw(st.integers(0, 9)) == 0:
            results[name] = {"failed": True, "msg": f"{name}: boom"}
            continue
        config = {k: draw(st.sampled_from(v)) for k, v in CHOICES.items() if draw(st.booleans())}
        procs = draw(st.sampled_from([("taskmanager",), ("jobmanager",), ("jobmanager", "taskmanager"), ()]))
        version = draw(st.sampled_from(["1.17.2", "1.20.5", "2.0.2", "2.3.0"]))
        results[name] = gathered(config, version=version, processes=procs)
    return results


@settings(max_examples=150, deadline=None)
@given(fleets(), st.sampled_from(["process", "all", "mapping"]))
def test_dedupe_matches_host_by_host(results, mode):
    group_by = mode if mode != "mapping" else {"even": [h for h in results if len(h) % 2 == 0],
                                               "odd": [h for h in results if len(h) % 2]}
    fast = fleet_drift(results, group_by)
    slow = fleet_drift(results, group_by, dedupe=False)
    assert fast == slow
    for group in fast["groups"].values():
        # Key drift and memory drift are what the flag says; every compared host is listed once per value.
        for item in group["keys_differ"] + group["keys_partial"]:
            hosts = [h for v in item["values"] for h in v["hosts"]] + item.get("absent_on", [])
            assert sorted(hosts) == sorted(group["hosts"])
            assert [v["hosts"] for v in item["values"]] == sorted((v["hosts"] for v in item["values"]),
                                                                  key=lambda hs: natural_sorted(group["hosts"])
                                                                  .index(hs[0]))
            for v in item["values"]:
                assert v["hosts"] == natural_sorted(v["hosts"])
        differs = any(len(m["profiles"]) > 1 for m in group["memory"].values())
        counted = [i for i in group["keys_differ"] + group["keys_partial"] if i["counted"]]
        assert group["drift"] == bool(counted or differs)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["tm", "jm", "node", "a-b"]), st.integers(0, 10**6)), min_size=1))
def test_natural_order_is_prefix_then_number(pairs):
    names = [f"{p}{n}" for p, n in pairs]
    assert natural_sorted(names) == [f"{p}{n}" for p, n in sorted(pairs)]


def test_bind_addresses_shared_by_every_host_are_no_mistake():
    """Issue 15.12: 0.0.0.0 everywhere is Flink's own advice for bind-host; taskmanager.host names the host."""
    results = {h: gathered({**TM, "taskmanager.bind-host": "0.0.0.0", "taskmanager.host": host_name})
               for h, host_name in (("tm1", "10.0.0.1"), ("tm2", "10.0.0.7"), ("tm3", "10.0.0.7"))}
    notes = fleet_drift(results)["groups"]["taskmanager"]["notes"]
    assert not any("bind-host" in n for n in notes)
    assert "taskmanager.host is the same on tm2, tm3; it should name each host" in notes


def test_labels_counted_keys_majority_and_outliers():
    """Issue 15.12: slots are slots, JobManager keys on TaskManagers are no memory key of the group, only
    memory keys count for drift by default (the note says so), and the majority value and outliers are marked."""
    base = {**TM, "rest.address": "jm1", "jobmanager.execution.failover-strategy": "region"}
    results = {
        "tm1": gathered(base),
        "tm2": gathered(base),
        "tm3": gathered({**base, "taskmanager.numberOfTaskSlots": "4", "jobmanager.memory.process.size": "2g",
                         "rest.address": "jm2", "jobmanager.execution.failover-strategy": "full"}),
    }
    group = fleet_drift(results)["groups"]["taskmanager"]
    slots = entry(group["keys_differ"], "taskmanager.numberOfTaskSlots")
    assert (slots["kind"], slots["memory"], slots["counted"]) == ("slots", False, True)
    assert slots["majority"] == "2" and slots["outliers"] == ["tm3"]
    jm_key = entry(group["keys_partial"], "jobmanager.memory.process.size")
    assert (jm_key["kind"], jm_key["memory"], jm_key["counted"]) == ("other", False, False)
    assert jm_key["majority"] is None and jm_key["outliers"] == ["tm3"]  # not set on the majority
    assert entry(group["keys_differ"], "rest.address")["counted"] is False
    assert group["drift"]  # the slots
    # Without the slots difference, only keys enforce does not make one per group differ: no drift.
    results["tm3"] = gathered({**base, "rest.address": "jm2", "jobmanager.execution.failover-strategy": "full"})
    drift = fleet_drift(results)
    group = drift["groups"]["taskmanager"]
    assert not group["drift"] and not drift["summary"]["drift"] and drift["summary"]["drift_keys"] == "memory"
    assert any(n.startswith("drift counts memory keys (drift_keys: memory) only; these keys differ but do not "
                            "count: jobmanager.execution.failover-strategy, rest.address") for n in group["notes"])
    assert fleet_drift(results, drift_keys="all")["groups"]["taskmanager"]["drift"]
    assert fleet_drift(results, drift_keys=["rest.*"])["groups"]["taskmanager"]["drift"]
    assert not fleet_drift(results, drift_keys=["taskmanager.memory.*"])["groups"]["taskmanager"]["drift"]
    with pytest.raises(FleetError, match="drift_keys must be one of memory, all or a list"):
        fleet_drift(results, drift_keys="some")


def test_ha_jobmanagers_differing_in_per_host_keys_do_not_drift():
    """Issue 15.12: two HA JobManagers whose files differ only in ports, pid and log dirs."""
    jm = {"jobmanager.memory.process.size": "1600m", "high-availability.type": "zookeeper"}
    results = {
        "jm1": gathered({**jm, "rest.port": "8081", "jobmanager.rpc.port": "6123", "env.pid.dir": "/run/jm1",
                         "env.log.dir": "/var/log/jm1"}, processes=("jobmanager",)),
        "jm2": gathered({**jm, "rest.port": "8082", "jobmanager.rpc.port": "6124", "env.pid.dir": "/run/jm2",
                         "env.log.dir": "/var/log/jm2"}, processes=("jobmanager",)),
    }
    for drift_keys in ("memory", "all"):
        group = fleet_drift(results, drift_keys=drift_keys)["groups"]["jobmanager"]
        assert not group["drift"] and group["keys_differ"] == [] and group["keys_partial"] == []
        assert {i["key"] for i in group["keys_host_specific"]} >= {"rest.port", "env.pid.dir", "env.log.dir"}
