"""The memory_model filter: contract and misuse errors (the FQCN path is exercised by ansible-playbook
in tests/integration/test_memory_model_playbook.py)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.filter.memory_model import FilterModule


@pytest.fixture(scope="module")
def memory_model():
    return FilterModule().filters()["memory_model"]


def test_contract_keys(memory_model):
    r = memory_model({"taskmanager.memory.process.size": "1728m"}, "taskmanager", flink_version="2.3")
    assert set(r) >= {"valid", "error", "sizes", "jvm", "flink_version", "keys"}
    assert set(r["sizes"]) == {"framework_heap", "task_heap", "framework_off_heap", "task_off_heap", "managed",
                               "network", "jvm_metaspace", "jvm_overhead", "total_flink", "total_process"}
    assert set(r["jvm"]) == {"heap", "direct", "metaspace"}


def test_jobmanager_sizes(memory_model):
    r = memory_model({"jobmanager.memory.process.size": "1600m"}, "jobmanager", "1.18.1")
    assert set(r["sizes"]) == {"heap", "off_heap", "jvm_metaspace", "jvm_overhead", "total_flink", "total_process"}
    assert r["flink_version"] == "1.18"


@pytest.mark.parametrize("args, words", [
    (("worker", "2.3"), "taskmanager, jobmanager"),
    (("taskmanager", "1.13"), "1.14, 1.15, 1.16, 1.17, 1.18, 1.19, 1.20, 2.0, 2.1, 2.2, 2.3"),
])
def test_misuse_raises_filter_error(memory_model, args, words):
    with pytest.raises(AnsibleFilterError) as err:
        memory_model({}, *args)
    assert words in str(err.value)
