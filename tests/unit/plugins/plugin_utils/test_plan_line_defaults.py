"""memory_plan on a group whose hosts run different Flink lines: a host without a key reads its own line's
default (``taskmanager.memory.network.max`` is 1 gb up to 1.16, unbounded from 1.17), as fleet_drift does."""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import parse_bytes
from ansible_collections.flinkops.flink.plugins.module_utils.options import redact
from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import PlanError, memory_plan

GIB = 1 << 30
NET_MAX = "taskmanager.memory.network.max"
NET_MAX_OLD = "taskmanager.network.memory.max"  # its deprecated spelling, read by every line
OLD, NEW = "1.16.3", "2.3.0"


def gathered(config, version):
    """A result shaped like flink_config_info's, for a TaskManager host with 64 GiB of RAM."""
    return {
        "changed": False,
        "config": redact(config, version),
        "checksum": str(sorted(config.items())),
        "flink_version": version,
        "processes": ["taskmanager"],
        "mem_total_bytes": 64 * GIB,
        "cgroup_memory_limit_bytes": None,
        "memory": {"taskmanager": compute(config, "taskmanager", version)},
    }


def after_plan(config, host_plan):
    out = {k: v for k, v in config.items() if k not in host_plan["remove"]}
    out.update(host_plan["set"])
    return out


def network_max_read(config, version):
    """What Flink ``version`` reads for network.max in ``config``: the text's bytes, else its own default."""
    text = next((config[n] for n in (NET_MAX, NET_MAX_OLD) if n in config), None)
    if text is None:
        return opts.catalog("taskmanager", version)[NET_MAX].default
    return parse_bytes(text)


BASE = {"taskmanager.memory.process.size": "16g", "taskmanager.numberOfTaskSlots": "4"}


def check_plan(results, policy):
    """The plan's numbers for every host are memory_model.compute of the config the plan leaves, on that
    host's own line; the group's hosts then agree on what Flink reads for network.max."""
    plan = memory_plan(results, policy)
    group = plan["groups"]["taskmanager"]
    read = set()
    for host, result in results.items():
        version = result["flink_version"]
        config = after_plan(result["config"], plan["hosts"][host])
        assert group["memory"][host]["taskmanager"] == compute(config, "taskmanager", version), host
        read.add(network_max_read(config, version))
    return plan, group, read


@pytest.mark.parametrize("process_size", ["fit", "keep"])
def test_old_host_unset_new_host_1g_agree(process_size):
    """1.16 without the key reads 1 gb, 2.3 with ``1g`` reads 1 gb: one value to Flink, nothing to change.
    Before: the plan compared 2.3's default on both and refused ("the hosts disagree")."""
    results = {"old": gathered(BASE, OLD), "new": gathered({**BASE, NET_MAX: "1g"}, NEW)}
    plan, group, read = check_plan(results, {"taskmanager": {"process_size": process_size}})
    assert read == {GIB}
    assert NET_MAX not in group["set"] and NET_MAX not in group["remove"]
    assert NET_MAX not in plan["hosts"]["old"]["set"]
    old_net = group["memory"]["old"]["taskmanager"]["sizes"]["network"]
    assert old_net == compute(after_plan(BASE, plan["hosts"]["old"]), "taskmanager", OLD)["sizes"]["network"]
    assert old_net <= GIB


def test_old_host_1g_new_host_unset_disagree():
    """1.16 with ``1g`` reads 1 gb, 2.3 without the key reads no cap: they differ, so keeping is refused."""
    results = {"old": gathered({**BASE, NET_MAX: "1g"}, OLD), "new": gathered(BASE, NEW)}
    with pytest.raises(PlanError, match=r"cannot keep taskmanager\.memory\.network\.max: the hosts disagree "
                       r"\(unset \(Flink 2\.3\) on new; 1g on old\)"):
        memory_plan(results, {"taskmanager": {"process_size": "fit"}})


def test_unset_everywhere_each_host_its_own_default():
    """No host writes the key: each keeps its own line's default, and the numbers are its own line's."""
    results = {"old": gathered(BASE, OLD), "new": gathered(BASE, NEW)}
    plan, group, read = check_plan(results, {"taskmanager": {"process_size": "fit"}})
    assert NET_MAX not in group["set"]
    assert read == {GIB, opts.catalog("taskmanager", NEW)[NET_MAX].default}
    assert group["memory"]["old"]["taskmanager"]["sizes"]["network"] == GIB  # capped by 1.16's default
    assert group["memory"]["new"]["taskmanager"]["sizes"]["network"] > GIB


def test_policy_value_old_lines_already_read():
    """policy network_max 1g on 1.16 hosts without the key: they read 1 gb already, nothing is written.
    Before: compared with 2.3's default, the plan wrote network.max on every host."""
    results = {"a": gathered(BASE, OLD), "b": gathered(BASE, "1.15.4")}
    plan, group, read = check_plan(results, {"taskmanager": {"process_size": "keep", "network_max": "1g"}})
    assert read == {GIB}
    assert NET_MAX not in group["set"]
    assert not plan["hosts"]["a"]["changed"] and not plan["hosts"]["b"]["changed"]


def test_policy_value_mixed_lines_written_where_needed():
    """policy network_max 1g on a 1.16 and a 2.3 host without the key: 2.3 reads no cap, so it is set."""
    results = {"old": gathered(BASE, OLD), "new": gathered(BASE, NEW)}
    plan, group, read = check_plan(results, {"taskmanager": {"process_size": "keep", "network_max": "1g"}})
    assert read == {GIB}
    assert group["set"][NET_MAX] == "1g"
    assert plan["hosts"]["new"]["set"] == {NET_MAX: "1g"}


def test_line_default_removal_only_where_every_line_has_it():
    """Every host writes 1 gb (two spellings): removing the key is right on 1.x lines only (their default);
    with a 2.3 host it stays, written once under the current key."""
    old_only = {"a": gathered({**BASE, NET_MAX_OLD: "1g"}, OLD), "b": gathered({**BASE, NET_MAX: "1024m"}, OLD)}
    plan, group, read = check_plan(old_only, {"taskmanager": {"process_size": "keep"}})
    assert read == {GIB}
    assert {NET_MAX, NET_MAX_OLD} <= set(group["remove"]) and NET_MAX not in group["set"]
    mixed = {"a": gathered({**BASE, NET_MAX_OLD: "1g"}, OLD), "b": gathered({**BASE, NET_MAX: "1024m"}, NEW)}
    plan, group, read = check_plan(mixed, {"taskmanager": {"process_size": "keep"}})
    assert read == {GIB}
    assert group["set"][NET_MAX] == "1g" and NET_MAX_OLD in group["remove"]
