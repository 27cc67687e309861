"""upgrade_readiness from Flink 1.16 (issue 19), on the flink-conf.yaml Flink 1.16.3 ships and on legacy heap keys.

The settings are read from a real conf directory as Flink 1.16 reads it (choose_config_file + the legacy
parser), and every memory size upgrade_readiness reports is checked against Flink's own calculator: the
1.16.3 jars reading that directory themselves (the start scripts' path, legacy heap mapping included) and
the 1.20.5 / 2.3.0 jars given the same settings (what those releases compute once the settings are in the
file they read).
"""

from __future__ import annotations

import shutil

import flink_home
import pytest
from oracle import oracle

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import choose_config_file
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf
from ansible_collections.flinkops.flink.plugins.plugin_utils.upgrade import upgrade_readiness

PROCESSES = ("taskmanager", "jobmanager")
LEGACY_HEAP = (b"jobmanager.rpc.address: localhost\n"
               b"taskmanager.heap.size: 2048m\n"
               b"jobmanager.heap.size: 1024m\n"
               b"taskmanager.numberOfTaskSlots: 4\n")


@pytest.fixture(scope="module")
def shipped_1_16():
    name, data = flink_home.shipped_config("1.16.3")
    assert name == "flink-conf.yaml"  # 1.16 ships only the legacy file
    return data


def _conf_dir(tmp_path, data: bytes):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "flink-conf.yaml").write_bytes(data)
    return conf


def _read_like_1_16(conf):
    choice = choose_config_file("1.16", [p.name for p in conf.iterdir()], str(conf))
    assert (choice.name, choice.format) == ("flink-conf.yaml", "legacy")
    path = conf / choice.name
    return parse_flink_conf(path.read_bytes(), str(path)).config


def _assert_memory_is_flinks(report, conf, config, to_version):
    for process in PROCESSES:
        ours = report["memory"][process]
        flink_from = oracle("1.16").memory_dir(process, conf)
        assert flink_from["valid"] and ours["from"]["valid"]
        assert ours["from"]["sizes"] == flink_from["sizes"], process
        assert ours["from"]["jvm"] == flink_from["jvm"], process
        flink_to = oracle(to_version).memory(process, config)
        assert ours["to"]["valid"] is flink_to["valid"], process
        if flink_to["valid"]:
            assert ours["to"]["sizes"] == flink_to["sizes"], process
            assert ours["to"]["jvm"] == flink_to["jvm"], process
        else:
            assert any(flink_to["error_chain"][-1] in b for b in report["blocking"]), process


@pytest.mark.parametrize("to_version", ["1.20", "2.3"])
def test_flinks_own_1_16_flink_conf(tmp_path, shipped_1_16, to_version):
    conf = _conf_dir(tmp_path, shipped_1_16)
    config = _read_like_1_16(conf)
    assert config["taskmanager.memory.process.size"] == "1728m"  # really the shipped defaults
    report = upgrade_readiness(config, "1.16.3", to_version)
    _assert_memory_is_flinks(report, conf, config, to_version)
    for process in PROCESSES:  # the shipped sizes stay under 1.16's 1 gb network cap: nothing moves
        assert report["memory"][process]["changed"] is False
    assert report["keys"]["stop_working"] == []
    file_change = report["config_file"]
    assert (file_change["from_file"], file_change["assumed"]) == ("flink-conf.yaml", False)
    if to_version == "1.20":
        assert report["ready"] is True and report["blocking"] == []
        assert file_change["to_file"] == "flink-conf.yaml" and not file_change["must_convert"]
    else:
        # 2.x reads only config.yaml: the file switch alone blocks, and the fix says how to convert.
        assert report["ready"] is False
        assert file_change["to_file"] == "config.yaml" and file_change["must_convert"] is True
        assert report["blocking"] == [file_change["message"]]
        assert "Flink 1.16 has no such script" in file_change["fix"]
        assert report["removed_keys_total"] > 0
    # 1.17 lifted the 1 gb default cap on network memory: reported as a changed default.
    assert "taskmanager.memory.network.max" in {d["key"] for d in report["defaults_changed"]}


@pytest.mark.parametrize("to_version", ["1.20", "2.3"])
def test_legacy_heap_keys(tmp_path, to_version):
    conf = _conf_dir(tmp_path, LEGACY_HEAP)
    config = _read_like_1_16(conf)
    report = upgrade_readiness(config, "1.16", to_version)
    _assert_memory_is_flinks(report, conf, config, to_version)
    # 1.16's start scripts map the legacy heap onto Total Flink Memory (TM) and the JVM heap (JM).
    tm, jm = report["memory"]["taskmanager"]["from"], report["memory"]["jobmanager"]["from"]
    assert (tm["sizing_path"], tm["sizes"]["total_flink"]) == ("total-flink", 2048 << 20)
    assert (jm["sizing_path"], jm["sizes"]["heap"]) == ("fine-grained", 1024 << 20)
    stopped = {item["key"]: item for item in report["keys"]["stop_working"]}
    if to_version == "1.20":  # 1.20's start scripts still map the legacy heap: same bytes
        assert report["ready"] is True and stopped == {}
        assert all(report["memory"][p]["changed"] is False for p in PROCESSES)
    else:
        assert report["ready"] is False
        assert set(stopped) == {"taskmanager.heap.size", "jobmanager.heap.size"}
        assert "taskmanager.memory.process.size" in stopped["taskmanager.heap.size"]["fix"]
        assert "jobmanager.memory.process.size" in stopped["jobmanager.heap.size"]["fix"]
        # Without the legacy keys 2.3 has no memory size at all: both processes refuse to start.
        assert all(report["memory"][p]["to"]["valid"] is False for p in PROCESSES)
        assert len(report["blocking"]) == 3  # the file switch and both processes


def test_network_cap_lifted_after_1_16(tmp_path):
    """A 16g TaskManager: 1.16 caps network at 1 gb, 1.20 gives it 10% of Total Flink Memory."""
    conf = _conf_dir(tmp_path, b"taskmanager.memory.process.size: 16g\n")
    config = _read_like_1_16(conf)
    report = upgrade_readiness(config, "1.16", "1.20", processes=["taskmanager"])
    change = report["memory"]["taskmanager"]
    assert change["changes"]["network"]["from"] == 1 << 30
    assert change["changes"]["network"]["to"] == oracle("1.20").memory("taskmanager", config)["sizes"]["network"]
    assert change["changes"]["network"]["to"] > 1 << 30
    assert change["from"]["sizes"] == oracle("1.16").memory_dir("taskmanager", conf)["sizes"]
    assert report["ready"] is True and change["message"] in report["changes"]


def test_copy_of_the_shipped_dir_reads_the_same(tmp_path, shipped_1_16):
    """The shipped conf/ (log4j files and all) gives the same settings as the file alone."""
    shutil.copytree(flink_home.home("1.16.3") / "conf", tmp_path / "conf")
    assert _read_like_1_16(tmp_path / "conf") == oracle("1.16").load(str(tmp_path / "conf"))["config"]
