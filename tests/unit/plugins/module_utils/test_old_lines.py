"""Flink 1.14 to 1.16 (issue 19): what differs from 1.17, as the jars say (tests/oracle proves the bytes)."""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.config_files import ConfigFileError, choose_config_file
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.plugin_utils import catalog
from ansible_collections.flinkops.flink.plugins.plugin_utils.lint import config_lint

GIB = 1 << 30
OLD = ("1.14", "1.15", "1.16")


@pytest.mark.parametrize("line", OLD)
def test_network_max_defaults_to_1_gb(line):
    assert opts.catalog("taskmanager", line)["taskmanager.memory.network.max"].default == GIB
    assert opts.catalog("taskmanager", "1.17")["taskmanager.memory.network.max"].default == opts.LONG_MAX
    assert opts.TASKMANAGER["taskmanager.memory.network.max"].default == opts.LONG_MAX  # shared table untouched


@pytest.mark.parametrize("line", OLD)
def test_big_taskmanager_network_is_capped_until_1_17(line):
    config = {"taskmanager.memory.process.size": "16g"}
    old, new = compute(config, "taskmanager", line), compute(config, "taskmanager", "1.17")
    assert old["valid"] and new["valid"]
    assert old["sizes"]["network"] == GIB < new["sizes"]["network"]
    # What the cap takes from network memory goes to the task heap.
    assert old["sizes"]["task_heap"] - new["sizes"]["task_heap"] == new["sizes"]["network"] - GIB
    small = {"taskmanager.memory.process.size": "1728m"}  # under the cap: same bytes
    assert compute(small, "taskmanager", line)["sizes"] == compute(small, "taskmanager", "1.17")["sizes"]


@pytest.mark.parametrize("line", OLD)
def test_legacy_heap_is_mapped_and_only_flink_conf_is_read(line):
    tm = compute({"taskmanager.heap.size": "2g"}, "taskmanager", line)
    assert tm["valid"] and tm["sizes"]["total_flink"] == 2 * GIB
    jm = compute({"jobmanager.heap.mb": "700"}, "jobmanager", line)
    assert jm["valid"] and jm["sizes"]["heap"] == 700 << 20
    assert opts.MANAGED_CONSUMERS[line] == ("OPERATOR", "STATE_BACKEND", "PYTHON", "DATAPROC")
    assert choose_config_file(line, ["flink-conf.yaml", "config.yaml"]).name == "flink-conf.yaml"
    with pytest.raises(ConfigFileError, match="flink-conf.yaml"):
        choose_config_file(line, ["config.yaml"])


def test_catalog_keys_per_old_line():
    assert catalog.is_known("akka.ask.timeout", "1.16") and not catalog.is_known("pekko.ask.timeout", "1.16")
    # taskmanager.load-balance.mode is 1.19's; 1.14 has neither it nor many later options.
    assert not catalog.is_known("taskmanager.load-balance.mode", "1.16")
    assert catalog.size_per_line()["1.14"] < catalog.size_per_line()["1.15"] < catalog.size_per_line()["1.16"]


def test_lint_on_1_16():
    findings = config_lint({"pekko.ask.timeout": "10s", "taskmanager.heap.size": "2g"}, "1.16")
    by_key = {f["key"]: f for f in findings}
    assert by_key["pekko.ask.timeout"]["code"] == "unknown-key"
    assert "only from Flink 1.18 on" in by_key["pekko.ask.timeout"]["message"]
    assert by_key["taskmanager.heap.size"]["code"] == "legacy-heap"
    assert "Flink 1.16's start scripts map" in by_key["taskmanager.heap.size"]["message"]
