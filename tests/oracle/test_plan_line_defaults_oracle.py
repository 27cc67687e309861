"""memory_plan on a group of Flink 1.16 and 2.3 TaskManagers (issue 19): the sizes the plan reports for each
host are what real Flink of that host's release computes for the config the plan leaves on it.

``taskmanager.memory.network.max`` defaults to 1 gb up to 1.16 and is unbounded from 1.17, so the same
file sizes network memory differently per line; the plan must neither use one line's default for all
hosts nor report one line's numbers for another's host.
"""

from __future__ import annotations

import pytest
from oracle import oracle

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.options import redact
from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import memory_plan

GIB = 1 << 30
NET_MAX = "taskmanager.memory.network.max"
BASE = {"taskmanager.memory.process.size": "16g", "taskmanager.numberOfTaskSlots": "4"}


def _gathered(config, version):
    return {
        "changed": False, "config": redact(config, version), "checksum": str(sorted(config.items())),
        "flink_version": version, "processes": ["taskmanager"], "mem_total_bytes": 64 * GIB,
        "cgroup_memory_limit_bytes": None, "memory": {"taskmanager": compute(config, "taskmanager", version)},
    }


@pytest.mark.parametrize("old_extra, new_extra, policy", [
    ({}, {NET_MAX: "1g"}, {"process_size": "fit"}),  # both read 1 gb: kept (refused before the fix)
    ({}, {NET_MAX: "1g"}, {"process_size": "keep"}),
    ({}, {}, {"process_size": "fit"}),  # nobody writes it: each host its own line's default
    ({}, {}, {"process_size": "keep", "network_max": "1g"}),  # set where a host does not read 1 gb already
    ({"taskmanager.memory.task.heap.size": "6g", "taskmanager.memory.managed.size": "2g"}, {NET_MAX: "1g"},
     {"process_size": "fit"}),  # another sizing path removed on the 1.16 host
], ids=["1g-fit", "1g-keep", "unset-fit", "policy-1g", "fine-grained-removed"])
def test_plan_sizes_are_each_lines_own(old_extra, new_extra, policy):
    results = {"old": _gathered({**BASE, **old_extra}, "1.16.3"), "new": _gathered({**BASE, **new_extra}, "2.3.0")}
    plan = memory_plan(results, {"taskmanager": policy})
    group = plan["groups"]["taskmanager"]
    for host, result in results.items():
        config = {k: v for k, v in result["config"].items() if k not in plan["hosts"][host]["remove"]}
        config.update(plan["hosts"][host]["set"])
        ours = group["memory"][host]["taskmanager"]
        flink = oracle(result["flink_version"]).memory("taskmanager", config)
        assert flink["valid"] and ours["valid"], (host, flink)
        assert ours["sizes"] == flink["sizes"], host
        assert ours["jvm"] == flink["jvm"], host
        assert ours["dynamic_properties"] == flink["dynamic_properties"], host
    old_network = group["memory"]["old"]["taskmanager"]["sizes"]["network"]
    assert old_network <= GIB  # 1.16 caps network memory at its default (or the 1g written)
