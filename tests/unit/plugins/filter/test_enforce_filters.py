"""enforce_prepare, enforce_assignment, enforce_outcome: thin adapters over plugin_utils.enforce.

What they add: reading each host's flink_version / gather result / flink_config result from hostvars,
strict mode and policy errors as AnsibleFilterError, and their ansible-doc pages. The real role and
playbook runs are in tests/integration/test_enforce.py.
"""

import json
import subprocess

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.filter.enforce import FilterModule
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute

FILTERS = FilterModule().filters()
GROUPS = {"flink_taskmanager": ["tm1", "tm2"], "flink_jobmanager": ["jm"]}


def test_versions_come_from_flink_version_or_the_gather_result():
    hostvars = {"tm1": {"flink_version": "1.17.2"},
                "tm2": {"enforce_gather": {"flink_version": "1.17.2", "config": {}}},
                "jm": {"enforce_gather": {"failed": True, "flink_version": "1.17.2"}}}
    out = FILTERS["enforce_assignment"](hostvars, ["tm1", "tm2", "jm"], GROUPS,
                                        settings={"all": {"pekko.ask.timeout": "20 s"}}, gather_var="enforce_gather")
    # pekko.* is not read by 1.17: refused on the two hosts known to run it, not on jm (failed gather)
    assert "enforce_settings.all on tm1, tm2: 'pekko.ask.timeout' is not read by Flink 1.17" in out["message"]
    assert "jm" not in out["message"]


def test_assignment_keeps_its_inputs_for_the_per_host_comparison():
    settings = {"taskmanager": {"parallelism.default": 2}}
    out = FILTERS["enforce_assignment"]({}, ["tm1"], GROUPS, settings=settings)
    assert out["settings"] == settings and out["remove"] is None and out["hosts"]["tm1"]["todo"]


def test_strict_raises_the_message():
    with pytest.raises(AnsibleFilterError) as err:
        FILTERS["enforce_assignment"]({}, ["tm1"], GROUPS, strict=True, settings={
            "all": {"parallelism.default": 7}, "taskmanager": {"parallelism.default": 4}})
    assert str(err.value) == ("Nothing written: give each key one value per host. tm1: the groups all, taskmanager "
                              "give different values for parallelism.default.")


def test_outcome_reads_each_hosts_result_and_tolerates_missing_ones():
    hostvars = {"tm1": {"enforce_result": {"changed": True, "restart_required": True, "changes": [],
                                           "config_file": "/c"}},
                "tm2": {}}
    out = FILTERS["enforce_outcome"](hostvars, ["tm1", "tm2"], ["tm1"], ["tm1"], confirmed=True)
    assert out["restart_hosts"] == ["tm1"]
    assert out["summary"]["failures"] == {"tm2": "failed before its flink_config task ran"}


def test_prepare_names_enforce_policy():
    results = {"tm1": {"config": {"taskmanager.memory.process.size": "2g"}, "flink_version": "2.3.0",
                       "processes": ["taskmanager"], "mem_total_bytes": 8 << 30, "cgroup_memory_limit_bytes": None,
                       "memory": {"taskmanager": compute({"taskmanager.memory.process.size": "2g"}, "taskmanager",
                                                         "2.3.0")}}}
    with pytest.raises(AnsibleFilterError) as err:
        FILTERS["enforce_prepare"](results, {"taskmanager": {"managed_fraction": 2}}, hosts=["tm1"])
    assert str(err.value).startswith("flinkops.flink.enforce: enforce_policy.taskmanager.managed_fraction")
    assert FILTERS["enforce_prepare"](results, {"taskmanager": {"process_size": "2g"}})["compliant"] == ["tm1"]


@pytest.mark.parametrize("name, words", [
    ("enforce_prepare", ["enforce_policy", "run_on", "compliant"]),
    ("enforce_assignment", ["allow_unknown_keys", "did-you-mean", "clash_groups", "never values"]),
    ("enforce_outcome", ["failures", "check_mode", "would change"]),
])
def test_ansible_doc(name, words, ansible_env, ansible_bin):
    proc = subprocess.run([str(ansible_bin / "ansible-doc"), "-t", "filter", f"flinkops.flink.{name}"],
                          env=ansible_env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "ERROR" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr
    text = " ".join(proc.stdout.split())
    for word in words:
        assert word in text, word
    proc = subprocess.run([str(ansible_bin / "ansible-doc"), "-t", "filter", "--json", f"flinkops.flink.{name}"],
                          env=ansible_env, capture_output=True, text=True, timeout=120)
    doc = json.loads(proc.stdout)[f"flinkops.flink.{name}"]
    tasks = yaml.safe_load(doc["examples"])
    assert isinstance(tasks, list) and all("name" in t for t in tasks)
