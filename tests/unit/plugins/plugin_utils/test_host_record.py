"""The typed host record: one reader of a gather result, one limits rule, one reuse-or-compute rule."""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.options import redact
from ansible_collections.flinkops.flink.plugins.plugin_utils import report as rp
from ansible_collections.flinkops.flink.plugins.plugin_utils.host_record import (
    GatheredHost,
    Limits,
    NotGathered,
    model_of,
    read_host,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.lint import config_lint
from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import host_budget, memory_plan

GIB, MIB = 1 << 30, 1 << 20
TM = {"taskmanager.memory.process.size": "4g", "taskmanager.numberOfTaskSlots": "4"}


def gathered(config, version="2.3.0", processes=("taskmanager",), ram=16 * GIB, cgroup=None, **extra):
    result = {
        "changed": False, "config": redact(config, version), "config_file": "/opt/flink/conf/config.yaml",
        "conf_dir": "/opt/flink/conf", "config_format": "yaml", "config_lines": {k: 1 for k in config},
        "ignored_files": [], "skipped_lines": [], "checksum": "ab" * 32, "read_at": 1700000000.5,
        "flink_version": version, "processes": list(processes), "mem_total_bytes": ram,
        "cgroup_memory_limit_bytes": cgroup, "cpu_count": 8,
        "memory": {p: compute(config, p, version) for p in processes},
    }
    result.update(extra)
    return result


@pytest.mark.parametrize("limits, binding", [
    (Limits.of(16 * GIB, None, None), (16 * GIB, "ram")),
    (Limits.of(16 * GIB, 8 * GIB, None), (8 * GIB, "cgroup")),
    (Limits.of(16 * GIB, 8 * GIB, 3 * GIB), (3 * GIB, "inventory")),
    (Limits.of(16 * GIB, 8 * GIB, 12 * GIB), (8 * GIB, "cgroup")),  # the tightest binds, whoever states it
    (Limits.of(4 * GIB, None, 12 * GIB), (4 * GIB, "ram")),
    (Limits.of(8 * GIB, 8 * GIB, 8 * GIB), (8 * GIB, "inventory")),  # a tie: the most specific word
    (Limits.of(8 * GIB, 8 * GIB, None), (8 * GIB, "cgroup")),
    (Limits.of(None, 0, True), (None, None)),  # zero, booleans and the unknown are no limit
    (Limits.of("16g", -1, 2.5), (None, None)),
])
def test_the_tightest_known_limit_binds(limits, binding):
    assert limits.binding == binding
    assert (limits.bytes, limits.source) == binding


@pytest.mark.parametrize("result, msg, unreachable, skipped", [
    ({"failed": True, "msg": "tm1: flink_home /x does not exist"}, "tm1: flink_home /x does not exist", False, False),
    ({"unreachable": True, "msg": "ssh: timed out"}, "ssh: timed out", True, False),
    ({"skipped": True, "skip_reason": "Conditional result was False"},
     "the gather task was skipped: Conditional result was False", False, True),
    ("not a dict", "no flink_config_info result (got str)", False, False),
    ({"changed": False}, "not a flink_config_info result (no config or flink_version)", False, False),
    ({"config": {}, "flink_version": "0.9"}, None, False, False),
])
def test_what_was_not_gathered_says_why(result, msg, unreachable, skipped):
    host = read_host("tm1", result)
    assert isinstance(host, NotGathered) and host.name == "tm1"
    if msg is not None:
        assert host.msg == msg
    assert (host.unreachable, host.skipped) == (unreachable, skipped)
    assert host.why == (f"unreachable: {msg}" if unreachable else host.msg)


def test_a_gathered_host_carries_every_fact():
    result = gathered({**TM, "taskmanager.resource-id": "tm-a", "s3.secret-key": "hush"}, cgroup=8 * GIB,
                      processes=("taskmanager", "jobmanager"), live_probe={"now": 1})
    host = read_host("tm1", result, inventory_limit=6 * GIB)
    assert isinstance(host, GatheredHost)
    assert (host.name, host.flink_version, host.line, host.processes) == ("tm1", "2.3.0", "2.3",
                                                                           ("jobmanager", "taskmanager"))
    assert host.config["s3.secret-key"] == "******"
    assert (host.config_file, host.conf_dir, host.config_format, host.checksum, host.read_at) == (
        "/opt/flink/conf/config.yaml", "/opt/flink/conf", "yaml", "ab" * 32, 1700000000.5)
    assert host.limits == Limits(16 * GIB, 8 * GIB, 6 * GIB) and host.limits.source == "inventory"
    assert host.resource_id == "tm-a" and host.live_probe == {"now": 1} and host.cpu_count == 8
    with pytest.raises(AttributeError):
        host.name = "other"  # frozen


def test_model_reuses_the_gather_or_computes_once():
    config = dict(TM)
    result = gathered(config)
    host = read_host("tm1", result)
    assert host.model("taskmanager") is result["memory"]["taskmanager"]  # the gather's, as it is
    # No gathered model (or one for another Flink line): computed, and what compute() gives.
    bare = read_host("tm1", {**result, "memory": {}})
    assert bare.model("taskmanager") == compute(config, "taskmanager", "2.3")
    assert bare.model("taskmanager") is bare.model("taskmanager")  # once
    other_line = {"taskmanager": compute(config, "taskmanager", "1.20")}
    assert model_of(result["config"], other_line["taskmanager"], "taskmanager", "2.3") == \
        compute(config, "taskmanager", "2.3")


def test_audit_and_plan_agree_on_the_binding_limit():
    """The plan and the audit take the same limit from the same facts: the inventory's limit when it is
    the tightest, the cgroup's when the inventory states a larger one (the audit used to let the
    inventory's figure replace the cgroup's, so the plan and the lint could use different limits)."""
    for inventory, source in ((3 * GIB, "inventory"), (12 * GIB, "cgroup")):
        results = {"tm1": gathered(TM, cgroup=8 * GIB), "tm2": gathered(TM, cgroup=8 * GIB)}
        limits = {"tm1": inventory, "tm2": inventory}
        budget = host_budget(results["tm1"], {"headroom": 512 * MIB, "host_fraction": 0.9}, inventory)
        report = rp.build_report(results, memory_limits=limits)
        resources = report["hosts"][0]["resources"]
        assert (budget["limited_by"], budget["limit_bytes"]) == (source, min(inventory, 8 * GIB))
        assert (resources["memory_limit_source"], resources["memory_limit_bytes"]) == (source, budget["limit_bytes"])
        # A size just over the binding limit is what the lint calls exceeds-host-memory; the plan fits below it.
        over = {**TM, "taskmanager.memory.process.size": f"{budget['limit_bytes'] // MIB + 64}m"}
        facts = {**gathered(over, cgroup=8 * GIB), "flink_memory_limit_bytes": inventory}
        codes = [f["code"] for f in config_lint(facts["config"], "2.3.0", facts=facts)]
        assert "exceeds-host-memory" in codes
        plan = memory_plan(results, {"taskmanager": {"process_size": "fit"}}, memory_limits=limits)
        size = plan["groups"]["taskmanager"]["sizing"]["taskmanager"]["bytes"]
        fitted = {**TM, "taskmanager.memory.process.size": f"{size // MIB}m"}
        facts = {**gathered(fitted, cgroup=8 * GIB), "flink_memory_limit_bytes": inventory}
        assert "exceeds-host-memory" not in [f["code"] for f in config_lint(facts["config"], "2.3.0", facts=facts)]


def test_binding_is_the_first_of_known_for_every_combination():
    values = (None, 0, 2 * GIB, 4 * GIB, 8 * GIB)
    for ram in values:
        for cgroup in values:
            for inventory in values:
                limits = Limits.of(ram, cgroup, inventory)
                known = limits.known()
                assert limits.binding == (known[0] if known else (None, None)), (ram, cgroup, inventory)
