"""The key catalog lookups: known keys, families, deprecations, removals, suggestions.

The catalog data itself is proven equal to Flink's jars by tests/oracle/test_flink_keys_catalog.py;
these tests pin down how lookups read it.
"""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.options import SUPPORTED_LINES
from ansible_collections.flinkops.flink.plugins.plugin_utils import catalog


def test_every_supported_line_is_in_the_catalog():
    assert catalog.lines() == SUPPORTED_LINES
    sizes = catalog.size_per_line()
    assert all(sizes[line] > 500 for line in SUPPORTED_LINES), sizes  # 1.14: 547
    # Flink grows: 2.3 defines more options than 1.17.
    assert sizes["2.3"] > sizes["1.17"]


@pytest.mark.parametrize("line", SUPPORTED_LINES)
def test_memory_keys_known_on_every_line(line):
    for key in ("taskmanager.memory.process.size", "taskmanager.memory.managed.fraction",
                "jobmanager.memory.process.size", "taskmanager.numberOfTaskSlots"):
        assert catalog.how_known(key, line) == ("option", key)


def test_legacy_heap_key_only_on_1x():
    assert catalog.is_known("taskmanager.heap.size", "1.20")
    assert not catalog.is_known("taskmanager.heap.size", "2.0")
    assert catalog.lines_knowing("taskmanager.heap.size") == ["1.14", "1.15", "1.16", "1.17", "1.18", "1.19", "1.20"]


def test_deprecated_keys_map_to_their_replacement():
    assert catalog.how_known("taskmanager.network.memory.min", "2.3") == (
        "deprecated", "taskmanager.memory.network.min")
    # On 1.x the old key is also its own @Deprecated option; it is still reported as a rename.
    assert catalog.how_known("taskmanager.network.memory.min", "1.17") == (
        "deprecated", "taskmanager.memory.network.min")
    assert catalog.deprecated_map("1.18")["akka.ask.timeout"] == "pekko.ask.timeout"
    assert "akka.ask.timeout" not in catalog.deprecated_map("1.17")  # still the real key on 1.17
    assert catalog.how_known("state.backend", "2.3") == ("deprecated", "state.backend.type")


@pytest.mark.parametrize("key, kind, detail", [
    ("metrics.reporter.prom.port", "pattern", "metrics.reporter.<name>.<parameter>"),
    ("metrics.reporter.prom.factory.class", "pattern", "metrics.reporter.<name>.<parameter>"),
    ("external-resource.gpu.param.discovery-script.path", "pattern",
     "external-resource.<resource_name>.param.<param>"),
    ("security.delegation.token.provider.hbase.enabled", "pattern",
     "security.delegation.token.provider.<serviceName>.enabled"),
    ("pipeline.global-job-parameters.region", "map", "pipeline.global-job-parameters"),
    ("taskmanager.memory.managed.consumer-weights.PYTHON", "map", "taskmanager.memory.managed.consumer-weights"),
    ("kubernetes.jobmanager.labels.team", "map", "kubernetes.jobmanager.labels"),
])
def test_families_flink_reads(key, kind, detail):
    assert catalog.how_known(key, "2.3") == (kind, detail)


@pytest.mark.parametrize("key", ["s3.access-key", "fs.s3a.connection.maximum", "table.exec.state.ttl",
                                 "containerized.taskmanager.env.TZ", "python.executable"])
def test_pass_through_families_are_known(key):
    assert catalog.how_known(key, "1.17")[0] == "pass-through"


def test_placeholder_in_the_middle_is_one_segment():
    # <name> stands for one segment: a reporter key needs a parameter after the name.
    assert not catalog.is_known("metrics.reporter.prom", "2.3")
    assert catalog.is_known("metrics.reporter.prom.interval", "2.3")


def test_traces_reporters_exist_only_where_flink_has_them():
    assert not catalog.is_known("traces.reporter.otel.factory.class", "1.17")
    assert catalog.is_known("traces.reporter.otel.factory.class", "2.3")


def test_script_keys():
    # env.java.home is read by bin/config.sh on every line, a ConfigOption only from 2.0.
    assert catalog.lines_knowing("env.java.home") == ["2.0", "2.1", "2.2", "2.3"]
    assert catalog.how_known("env.java.home", "1.17")[0] == "script"
    assert catalog.how_known("env.java.home", "2.3") == ("option", "env.java.home")


@pytest.mark.parametrize("typo, wanted", [
    ("taskmanager.memory.managed.fration", "taskmanager.memory.managed.fraction"),
    ("taskmanger.memory.process.size", "taskmanager.memory.process.size"),
    ("taskmanager.memory.managed_fraction", "taskmanager.memory.managed.fraction"),
    ("TASKMANAGER.MEMORY.PROCESS.SIZE", "taskmanager.memory.process.size"),
    ("state.backend.rocksdb.memory.manged", "state.backend.rocksdb.memory.managed"),
])
def test_did_you_mean(typo, wanted):
    assert catalog.did_you_mean(typo, "2.3")[0] == wanted


def test_did_you_mean_gives_nothing_for_unrelated_text():
    assert catalog.did_you_mean("completely.unrelated.thing", "2.3") == []


def test_did_you_mean_never_suggests_internal_keys():
    assert all(not s.startswith("$internal") for s in catalog.did_you_mean("$internal.pipeline.job-idd", "2.3"))


def test_removed_between_1_20_and_2_0():
    removed = {item["key"]: item for item in catalog.removed_between("1.20", "2.0")}
    assert removed["taskmanager.heap.size"]["replacement"] == "taskmanager.memory.flink.size"
    assert removed["taskmanager.heap.size"]["last_line"] == "1.20"
    assert removed["jobmanager.heap.mb"]["replacement"] == "jobmanager.memory.heap.size"
    # Still read on 2.0 as a deprecated key, so not removed.
    assert "taskmanager.network.memory.min" not in removed
    assert all(item["key"] not in catalog.known_keys("2.0") for item in removed.values())


def test_replacement_follows_renames():
    assert catalog.replacement("akka.ask.timeout", "2.3") == "pekko.ask.timeout"
    assert catalog.replacement("no.such.key", "2.3") is None


def test_option_attributes_per_line():
    hb = catalog.option("high-availability.zookeeper.client.session-timeout", "1.17")
    assert hb["type"] == "Integer" and hb["default"] == "60000"
    hb2 = catalog.option("high-availability.zookeeper.client.session-timeout", "2.3")
    assert hb2["type"] == "Duration" and hb2["default"] == "1 min"
    assert catalog.option("taskmanager.heap.size", "2.3") is None


def test_bad_version():
    with pytest.raises(ValueError, match="1.14, 1.15"):
        catalog.known_keys("1.13")
