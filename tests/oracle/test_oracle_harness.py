"""The oracle harness itself, checked against numbers established by running real Flink.

If the harness breaks (wrong classpath, log lines in the protocol, a lost legacy-key step, a
misparsed answer), these fail loudly before the differential test can report nonsense.
The expected numbers come from /work/shared/flink-memory.md sections 2 to 4 and 6.
"""

from __future__ import annotations

import shutil

import flink_dist
import pytest
from oracle import FlinkOracle, OracleError, bash_java_utils, oracle

ALL = list(flink_dist.VERSIONS)
ONE_X = ["1.14", "1.15", "1.16", "1.17", "1.18", "1.19", "1.20"]
TWO_X = ["2.0", "2.1", "2.2", "2.3"]

MiB = 1 << 20


@pytest.mark.parametrize("version", ALL)
def test_default_taskmanager_1728m(version):
    got = oracle(version).memory("taskmanager", {"taskmanager.memory.process.size": "1728m"})
    assert got["valid"] is True
    assert got["error_chain"] is None
    assert got["sizes"] == {
        "framework_heap": 128 * MiB,
        "task_heap": 402653174,
        "framework_off_heap": 128 * MiB,
        "task_off_heap": 0,
        "managed": 536870920,
        "network": 134217730,
        "jvm_metaspace": 256 * MiB,
        "jvm_overhead": 201326592,
        "total_flink": 1342177280,
        "total_process": 1728 * MiB,
    }
    assert got["jvm"] == {"heap": 536870902, "direct": 268435458, "metaspace": 256 * MiB}
    assert got["jvm_params"].split() == [
        "-Xmx536870902", "-Xms536870902",
        "-XX:MaxDirectMemorySize=268435458", "-XX:MaxMetaspaceSize=268435456",
    ]
    dyn = got["dynamic_properties"]
    assert dyn["taskmanager.memory.managed.size"] == "536870920b"
    assert dyn["taskmanager.memory.network.min"] == dyn["taskmanager.memory.network.max"] == "134217730b"
    assert dyn["taskmanager.memory.jvm-overhead.min"] == dyn["taskmanager.memory.jvm-overhead.max"] == "201326592b"
    assert dyn["taskmanager.memory.task.heap.size"] == "402653174b"


@pytest.mark.parametrize("version", ALL)
def test_default_jobmanager_1600m_and_direct_limit(version):
    o = oracle(version)
    got = o.memory("jobmanager", {"jobmanager.memory.process.size": "1600m"})
    assert got["valid"] is True
    assert got["sizes"]["heap"] == 1024 * MiB
    assert got["sizes"]["off_heap"] == 128 * MiB
    assert got["sizes"]["total_process"] == 1600 * MiB
    assert got["jvm"] == {"heap": 1024 * MiB, "direct": None, "metaspace": 256 * MiB}
    limited = o.memory("jobmanager", {
        "jobmanager.memory.process.size": "1600m",
        "jobmanager.memory.enable-jvm-direct-memory-limit": "TRUE",
    })
    assert limited["jvm"]["direct"] == 128 * MiB
    assert limited["sizes"] == got["sizes"]


@pytest.mark.parametrize("version", ["1.17", "2.3"])
def test_rejections_carry_flinks_exception_chain(version):
    o = oracle(version)
    tm = o.memory("taskmanager", {})
    assert tm["valid"] is False and tm["sizes"] is None and tm["jvm"] is None
    assert tm["error_chain"][0].startswith("TaskManager memory configuration failed: Either required fine-grained")
    assert tm["error_chain"][1] == tm["error_chain"][0].removeprefix("TaskManager memory configuration failed: ")
    assert tm["error_classes"][0] == "org.apache.flink.configuration.IllegalConfigurationException"

    # 1.x wraps JobManager errors too (processSpecFromConfigWithNewOptionToInterpretLegacyHeap); 2.x does not.
    jm = o.memory("jobmanager", {})
    assert jm["error_chain"][-1:] == [
        ("Either required fine-grained memory (jobmanager.memory.heap.size), or Total Flink Memory size "
        "(Key: 'jobmanager.memory.flink.size' , default: null (fallback keys: [])), or Total Process Memory "
        "size (Key: 'jobmanager.memory.process.size' , default: null (fallback keys: [])) need to be "
        "configured explicitly.")
    ]
    if version in ONE_X:
        assert jm["error_chain"][0] == "JobManager memory configuration failed: " + jm["error_chain"][1]
    else:
        assert len(jm["error_chain"]) == 1

    bad = o.memory("taskmanager", {"taskmanager.memory.process.size": "1.5g"})
    assert bad["error_chain"][1:3] == [
        "Cannot read memory size from config option 'taskmanager.memory.process.size'.",
        "Could not parse value '1.5g' for key 'taskmanager.memory.process.size'.",
    ]
    assert bad["error_classes"][-1] == "java.lang.IllegalArgumentException"


@pytest.mark.parametrize("version", ALL)
def test_legacy_heap_key_per_version(version):
    # 1.x maps taskmanager.heap.size onto Total Flink Memory (even next to process.size); 2.x ignores it.
    got = oracle(version).memory("taskmanager", {
        "taskmanager.memory.process.size": "1728m", "taskmanager.heap.size": "1g",
    })
    assert got["valid"] is True
    assert got["sizes"]["total_flink"] == (1024 * MiB if version in ONE_X else 1342177280)
    jm = oracle(version).memory("jobmanager", {"jobmanager.heap.mb": "700"})
    if version in ONE_X:
        assert jm["valid"] is True and jm["sizes"]["heap"] == 700 * MiB
    else:
        assert jm["valid"] is False


def test_environment_cannot_leak_legacy_heap(monkeypatch):
    monkeypatch.setenv("FLINK_TM_HEAP", "3g")
    monkeypatch.setenv("FLINK_JM_HEAP", "3g")
    with FlinkOracle("1.20") as fresh:  # a new JVM started with this environment
        got = fresh.memory("taskmanager", {"taskmanager.memory.process.size": "1728m"})
        assert got["sizes"]["total_flink"] == 1342177280
        assert fresh.memory("jobmanager", {})["valid"] is False


def test_pipelined_batch_keeps_order():
    configs = [{"taskmanager.memory.process.size": f"{1000 + i}m"} for i in range(3000)]
    got = oracle("2.3").memory_many("taskmanager", configs)
    assert [g["sizes"]["total_process"] for g in got] == [(1000 + i) * MiB for i in range(3000)]


@pytest.mark.parametrize("version", ["1.19", "2.3"])
def test_load_is_binary_safe(tmp_path, version):
    # Keys and values with newlines, '#', ':', quotes and non-ASCII survive the round trip.
    (tmp_path / "config.yaml").write_text(
        '"we\\nird #: \'key\'": "va\\nl#ue: \\"q\\" ü 🚀"\n'
        "plain: 'a # b'\n",
        encoding="utf-8",
    )
    got = oracle(version).load(str(tmp_path))
    assert got["ok"] is True, got
    assert got["config"] == {"we\nird #: 'key'": 'va\nl#ue: "q" ü 🚀', "plain": "a # b"}


@pytest.mark.parametrize("version", ALL)
def test_load_picks_the_file_each_version_reads(tmp_path, version):
    legacy, yaml_only, both = (tmp_path / n for n in ("legacy", "yaml", "both"))
    for d in (legacy, yaml_only, both):
        d.mkdir()
    (legacy / "flink-conf.yaml").write_text("k: v # cut\nbroken-line\n")
    (yaml_only / "config.yaml").write_text("k:\n  n: 1e3\n")
    (both / "flink-conf.yaml").write_text("from: legacy\n")
    (both / "config.yaml").write_text("from: yaml\n")
    o = oracle(version)
    got_legacy, got_yaml, got_both = o.load(str(legacy)), o.load(str(yaml_only)), o.load(str(both))
    if version in ("1.14", "1.15", "1.16", "1.17", "1.18"):
        assert got_legacy["config"] == {"k": "v"}
        assert got_yaml["ok"] is False and "flink-conf.yaml" in got_yaml["error_chain"][0]
        assert got_both["config"] == {"from": "legacy"}
    elif version in ("1.19", "1.20"):
        assert got_legacy["config"] == {"k": "v"}
        assert got_yaml["config"] == {"k.n": "1000.0"}
        assert got_both["config"] == {"from": "legacy"}
    else:
        assert got_legacy["ok"] is False and "config.yaml" in got_legacy["error_chain"][0]
        assert got_yaml["config"] == {"k.n": "1000.0"}
        assert got_both["config"] == {"from": "yaml"}
    missing = o.load(str(tmp_path / "nope"))
    assert missing["ok"] is False and "does not describe an existing directory" in missing["error_chain"][0]


def test_missing_javac_is_a_clear_error(monkeypatch):
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name: None if name == "javac" else real_which(name))
    with pytest.raises(OracleError, match="openjdk-17-jdk-headless"):
        FlinkOracle("2.3").memory("taskmanager", {})


def test_bad_calls_are_refused():
    with pytest.raises(ValueError, match="1.14"):
        FlinkOracle("1.13")
    with pytest.raises(ValueError):
        oracle("2.3").memory("historyserver", {})
    with pytest.raises(TypeError):
        oracle("2.3").memory("taskmanager", {"taskmanager.memory.process.size": 1024})


@pytest.mark.parametrize("version", ["1.16", "1.20", "2.3"])
def test_harness_agrees_with_the_bashjavautils_command_line(tmp_path, version):
    """The warm harness answers what a fresh `BashJavaUtils GET_*_RESOURCE_PARAMS --configDir` prints."""
    name = "flink-conf.yaml" if version.startswith("1.") else "config.yaml"
    cases = [
        ("taskmanager", {"taskmanager.memory.process.size": "3000m", "taskmanager.memory.managed.fraction": "0.3",
                         "taskmanager.numberOfTaskSlots": "3", "taskmanager.memory.network.max": "200m"}),
        ("taskmanager", {"taskmanager.memory.flink.size": "2g", "taskmanager.heap.size": "1500m"}),
        ("jobmanager", {"jobmanager.memory.flink.size": "2g", "jobmanager.memory.jvm-overhead.min": "100m",
                        "jobmanager.memory.enable-jvm-direct-memory-limit": "true"}),
        ("taskmanager", {"taskmanager.memory.process.size": "500m"}),  # rejected
    ]
    for i, (process, config) in enumerate(cases):
        conf = tmp_path / str(i)
        conf.mkdir()
        (conf / name).write_text("".join(f"{k}: {v}\n" for k, v in config.items()))
        fresh = bash_java_utils(version, process, conf)
        warm = oracle(version).memory(process, config)
        assert (fresh["returncode"] == 0) is warm["valid"], fresh["output"][-2000:]
        if warm["valid"]:
            assert fresh["jvm_params"] == warm["jvm_params"]
            assert fresh["dynamic_properties"] == warm["dynamic_properties"]
        else:
            assert warm["error_chain"][0] in fresh["output"]


def test_harness_failure_is_loud_and_recoverable():
    # A harness bug mid-batch must raise (never hang on the unread answers) and the next call restarts.
    good = ["memory", "taskmanager", "taskmanager.memory.process.size", "1g"]
    with FlinkOracle("2.3") as fresh:
        with pytest.raises(OracleError, match="unknown request bogus"):
            fresh._request([good] * 10 + [["bogus"]] + [good] * 20000)
        assert fresh.memory("taskmanager", {"taskmanager.memory.process.size": "1g"})["valid"] is True


@pytest.mark.parametrize("version", ["1.19", "2.3"])
def test_memory_dir_reads_files_as_the_start_scripts_do(tmp_path, version):
    # A flink-conf.yaml (1.x) or config.yaml holding plain strings gives what memory() gives.
    name = "flink-conf.yaml" if version.startswith("1.") else "config.yaml"
    (tmp_path / name).write_text("taskmanager.memory.process.size: 1728m\ntaskmanager.numberOfTaskSlots: 4\n")
    o = oracle(version)
    from_dir = o.memory_dir("taskmanager", tmp_path)
    assert from_dir == o.memory("taskmanager", {"taskmanager.memory.process.size": "1728m",
                                                 "taskmanager.numberOfTaskSlots": "4"})
    assert from_dir["dynamic_properties"]["taskmanager.numberOfTaskSlots"] == "4"
    missing = o.memory_dir("taskmanager", tmp_path / "nope")
    assert missing["valid"] is False and "does not describe an existing directory" in missing["error_chain"][-1]


def test_memory_dir_keeps_yaml_types(tmp_path):
    # config.yaml values are typed: a YAML float too big for Java's float fails in Flink's conversion,
    # not as "fraction must be in range" as the same text set as a string would.
    (tmp_path / "config.yaml").write_text(
        "taskmanager.memory.process.size: 2g\ntaskmanager.memory.managed.fraction: 1e39\n")
    o = oracle("2.3")
    typed = o.memory_dir("taskmanager", tmp_path)
    assert typed["valid"] is False
    assert typed["error_chain"][-1] == "Configuration value 1.0E39 overflows/underflows the float type."
    as_string = o.memory("taskmanager", o.load(str(tmp_path))["config"])
    assert as_string["error_chain"][-1] == "fraction must be in range [0, 1)"
