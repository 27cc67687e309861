"""fleet_drift and memory_plan filters: thin adapters, misuse as AnsibleFilterError, ansible-doc pages.

The playbook path (FQCN, real gather results) is in tests/integration/test_fleet_playbook.py.
"""

import json
import subprocess

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.filter.fleet_drift import FilterModule as DriftFilters
from ansible_collections.flinkops.flink.plugins.filter.memory_plan import FilterModule as PlanFilters
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute

GIB = 1 << 30


@pytest.fixture(scope="module")
def fleet_drift():
    return DriftFilters().filters()["fleet_drift"]


@pytest.fixture(scope="module")
def memory_plan():
    return PlanFilters().filters()["memory_plan"]


def result(config, version="2.3.0", processes=("taskmanager",), ram=8 * GIB):
    return {"config": config, "flink_version": version, "processes": list(processes), "mem_total_bytes": ram,
            "cgroup_memory_limit_bytes": None, "memory": {p: compute(config, p, version) for p in processes}}


RESULTS = {
    "tm1": result({"taskmanager.memory.process.size": "1728m"}),
    "tm2": result({"taskmanager.memory.process.size": "2g"}),
}


def test_drift_passes_through(fleet_drift):
    drift = fleet_drift(RESULTS)
    assert drift["groups"]["taskmanager"]["memory"]["taskmanager"]["status"] == "different_memory"
    assert fleet_drift(RESULTS, "all")["group_by"] == "all"
    assert list(fleet_drift(RESULTS, {"a": ["tm2"], "b": ["tm1"]})["groups"]) == ["a", "b"]


@pytest.mark.parametrize("args, words", [
    (([],), "results must be a mapping"),
    ((RESULTS, "host"), "group_by must be one of process, all or a mapping"),
    ((RESULTS, {"a": 3}), "group_by['a'] must be a list of inventory hostnames"),
])
def test_drift_misuse(fleet_drift, args, words):
    with pytest.raises(AnsibleFilterError) as err:
        fleet_drift(*args)
    assert str(err.value).startswith("flinkops.flink.fleet_drift: ")
    assert words in str(err.value)


def test_plan_passes_through(memory_plan):
    plan = memory_plan(RESULTS, {"taskmanager": {"process_size": "2g"}})
    assert plan["groups"]["taskmanager"]["set"] == {"taskmanager.memory.process.size": "2g"}
    assert plan["hosts"]["tm2"]["changed"] is False and plan["hosts"]["tm1"]["changed"] is True
    assert memory_plan(RESULTS, {"taskmanager": {"process_size": "fit"}})["groups"]["taskmanager"]["sizing"][
        "taskmanager"]["source"] == "fit"


@pytest.mark.parametrize("args, words", [
    (([], {}), "results must be a mapping"),
    ((RESULTS, "fit"), "policy must be a mapping"),
    ((RESULTS, {"taskmanger": {}}), "accepted are group_by, headroom"),
    ((RESULTS, {"taskmanager": {"process_size": "64g"}}), "host tm1"),
    ((RESULTS, {"taskmanager": {"process_size": "fit", "managed_per_slot": "16g"}}), "too small for this policy"),
])
def test_plan_misuse_and_impossible_policies(memory_plan, args, words):
    with pytest.raises(AnsibleFilterError) as err:
        memory_plan(*args)
    assert str(err.value).startswith("flinkops.flink.memory_plan: ")
    assert words in str(err.value)
    assert "Traceback" not in str(err.value)


@pytest.mark.parametrize("name, words", [
    ("fleet_drift", ["same_memory_different_keys", "sensitive_unchecked", "group_by"]),
    ("memory_plan", ["managed_per_slot", "headroom", "host_fraction", "jobmanager_share"]),
])
def test_ansible_doc(name, words, ansible_env, ansible_bin):
    proc = subprocess.run([str(ansible_bin / "ansible-doc"), "-t", "filter", f"flinkops.flink.{name}"],
                          env=ansible_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr
    for word in words:
        assert word in proc.stdout
    # The examples parse as YAML tasks.
    proc = subprocess.run([str(ansible_bin / "ansible-doc"), "-t", "filter", "--json", f"flinkops.flink.{name}"],
                          env=ansible_env, capture_output=True, text=True, timeout=120)
    doc = json.loads(proc.stdout)[f"flinkops.flink.{name}"]
    tasks = yaml.safe_load(doc["examples"])
    assert isinstance(tasks, list) and all("name" in t for t in tasks)
