"""Hand-checked derivations and Flink's messages (flink-memory.md sections 2-4).

Every expected number here was worked out by hand from Flink's algorithm and
is also confirmed by the differential test against real Flink (tests/oracle).
"""

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute

MIB = 1 << 20
GIB = 1 << 30


def tm(config, version="2.3"):
    return compute(config, "taskmanager", version)


def jm(config, version="2.3"):
    return compute(config, "jobmanager", version)


def test_shipped_taskmanager_default_1728m():
    # Overhead 0.1f * 1728m = 181193935 is clamped up to 192m; fractions are widened floats.
    r = tm({"taskmanager.memory.process.size": "1728m"})
    assert r["valid"] is True
    s = r["sizes"]
    assert s["jvm_overhead"] == 201326592
    assert s["total_flink"] == 1342177280
    assert s["managed"] == 536870920  # 1342177280 * 0.4000000059604645, truncated
    assert s["network"] == 134217730
    assert s["task_heap"] == 402653174
    assert s["total_process"] == 1728 * MIB
    assert r["jvm"] == {"heap": 536870902, "direct": 268435458, "metaspace": 256 * MIB}
    assert r["keys"]["sizing_path"] == "total-process"
    assert "taskmanager.memory.managed.fraction" in r["keys"]["defaulted"]


def test_shipped_jobmanager_default_1600m_gives_1gib_heap():
    r = jm({"jobmanager.memory.process.size": "1600m"})
    assert r["valid"]
    assert r["sizes"]["heap"] == GIB
    assert r["jvm"] == {"heap": GIB, "direct": None, "metaspace": 256 * MIB}


def test_jobmanager_direct_memory_limit_only_when_enabled():
    r = jm({"jobmanager.memory.process.size": "1600m", "jobmanager.memory.enable-jvm-direct-memory-limit": "TRUE"})
    assert r["jvm"]["direct"] == 128 * MIB


def test_fine_grained_path_derives_network_by_inverse_fraction():
    r = tm({"taskmanager.memory.task.heap.size": "1g", "taskmanager.memory.managed.size": "1g"})
    s = r["sizes"]
    without_network = 128 * MIB + 128 * MIB + GIB + GIB
    # network = without * (f / (1 - f)) with f the widened 0.1f, truncated
    assert s["network"] == 268435460  # 2.25 GiB * (0.10000000149011612 / 0.8999999985098839)
    assert s["total_flink"] == without_network + s["network"]
    assert r["keys"]["sizing_path"] == "fine-grained"


def test_flink_size_wins_over_process_size_and_overhead_must_fit():
    r = tm({"taskmanager.memory.flink.size": "1g", "taskmanager.memory.process.size": "4g"})
    assert r["valid"] is False
    assert r["error"].startswith("TaskManager memory configuration failed: Derived JVM Overhead size (2.750gb")
    assert "is not in configured JVM Overhead range [192.000mb (201326592 bytes), 1024.000mb (1073741824 bytes)]" in (
        r["error"]
    )


def test_process_too_small_for_metaspace_and_overhead():
    r = tm({"taskmanager.memory.process.size": "400m"})
    assert r["error"] == (
        "TaskManager memory configuration failed: Sum of configured JVM Metaspace (256.000mb (268435456 bytes)) "
        "and JVM Overhead (192.000mb (201326592 bytes)) exceed configured Total Process Memory "
        "(400.000mb (419430400 bytes))."
    )


def test_managed_fraction_out_of_range_is_rejected_with_option_text():
    r = tm({"taskmanager.memory.process.size": "4g", "taskmanager.memory.managed.fraction": "1"})
    assert r["error_chain"][1] == (
        "Inconsistently configured Key: 'taskmanager.memory.managed.fraction' , default: 0.4 (fallback keys: []) "
        "(1.0) and its min (0 bytes), max (8388608.000tb (9223372036854775807 bytes)) value"
    )
    assert r["error_chain"][2] == "fraction must be in range [0, 1)"


def test_network_min_above_max_is_always_an_error():
    r = tm({"taskmanager.memory.process.size": "4g", "taskmanager.memory.network.min": "1g",
            "taskmanager.memory.network.max": "512m"})
    assert r["error_chain"][-1] == "min value must be less or equal to max value"


def test_deprecated_network_key_is_a_fallback():
    r = tm({"taskmanager.memory.process.size": "4g", "taskmanager.network.memory.fraction": "0.2"})
    assert r["valid"]
    assert r["keys"]["fallback"] == {"taskmanager.network.memory.fraction": "taskmanager.memory.network.fraction"}
    flink = r["sizes"]["total_flink"]
    assert r["sizes"]["network"] == flink * 200000002980232239 // 10**18


def test_legacy_heap_key_sets_total_flink_on_1x_and_is_ignored_on_2x():
    config = {"taskmanager.memory.process.size": "1728m", "taskmanager.heap.size": "1g"}
    old = tm(config, "1.20")
    assert old["sizes"]["total_flink"] == GIB  # the seed's pitfall: process.size is silently overridden
    assert old["keys"]["legacy_heap"] == {"bytes": GIB, "key": "taskmanager.heap.size",
                                          "maps_to": "taskmanager.memory.flink.size"}
    new = tm(config, "2.0")
    assert new["sizes"]["total_flink"] == 1342177280
    assert new["keys"]["ignored"] == ["taskmanager.heap.size"]


def test_unparseable_size_names_key_and_value():
    r = tm({"taskmanager.memory.process.size": "2GiB"})
    assert r["error_chain"] == [
        "TaskManager memory configuration failed: Cannot read memory size from config option "
        "'taskmanager.memory.process.size'.",
        "Cannot read memory size from config option 'taskmanager.memory.process.size'.",
        "Could not parse value '2GiB' for key 'taskmanager.memory.process.size'.",
        "Memory size unit 'gib' does not match any of the recognized units: (b | bytes) / (k | kb | kibibytes) / "
        "(m | mb | mebibytes) / (g | gb | gibibytes) / (t | tb | tebibytes)",
    ]
    assert r["error"].count("Cannot read memory size") == 1  # the readable form drops repeated causes


def test_unparseable_fraction_is_not_wrapped():
    r = tm({"taskmanager.memory.process.size": "2g", "taskmanager.memory.managed.fraction": "abc"})
    assert r["error_chain"] == [
        "Could not parse value 'abc' for key 'taskmanager.memory.managed.fraction'.",
        'For input string: "abc"',
    ]


def test_zero_slots_without_cpu_cores():
    r = tm({"taskmanager.memory.process.size": "2g", "taskmanager.numberOfTaskSlots": "0"})
    assert r["error"] == (
        "TaskManager memory configuration failed: TaskExecutors need to be started with a positive number of "
        "CPU cores. Please configure taskmanager.cpu.cores accordingly."
    )


def test_nothing_configured_jobmanager_message_depends_on_line():
    new = jm({})
    assert new["error"].startswith("Either required fine-grained memory (jobmanager.memory.heap.size), or Total")
    old = jm({}, "1.17")
    assert old["error"].startswith("JobManager memory configuration failed: Either required fine-grained")


def test_jobmanager_flink_size_must_exceed_off_heap():
    r = jm({"jobmanager.memory.flink.size": "128m"})
    assert r["error"] == (
        "The configured Total Flink Memory (128.000mb (134217728 bytes)) is less than the configured "
        "Off-heap Memory (128.000mb (134217728 bytes))."
    )


def test_numbers_from_yaml_variables_are_accepted():
    r = tm({"taskmanager.memory.process.size": 2 * GIB, "taskmanager.memory.managed.fraction": 0.5,
            "taskmanager.numberOfTaskSlots": 4})
    assert r["valid"]
    assert r["slots"] == 4
    assert r["dynamic_properties"]["taskmanager.numberOfTaskSlots"] == "4"


@pytest.mark.parametrize("config", ["taskmanager.memory.process.size: 1g", ["a"], None, 42])
def test_non_mapping_is_invalid_not_a_crash(config):
    r = tm(config)
    assert r["valid"] is False
    assert "config must be a mapping" in r["error"]


def test_non_string_keys_are_invalid():
    r = tm({1: "x", "taskmanager.memory.process.size": "1g"})
    assert r["valid"] is False
    assert "config keys must be strings" in r["error"]


def test_unsupported_value_type_is_a_parse_error():
    r = tm({"taskmanager.memory.process.size": ["1g"]})
    assert r["valid"] is False
    assert "Could not parse value" in r["error"]


@pytest.mark.parametrize("process, version", [("taskmaster", "2.3"), ("taskmanager", "1.13"), ("jobmanager", "x")])
def test_bad_call_raises_value_error_listing_choices(process, version):
    with pytest.raises(ValueError) as err:
        compute({}, process, version)
    assert ("taskmanager, jobmanager" in str(err.value)) or ("1.17, 1.18" in str(err.value))


def test_patch_versions_accepted():
    assert tm({"taskmanager.memory.process.size": "1728m"}, "1.20.5")["flink_version"] == "1.20"


def test_legacy_heap_is_reported_when_flink_refuses():
    """Issue 15.7: 1g of legacy heap next to 4096m of process size is refused by 1.20, and keys.legacy_heap
    still says which legacy key became which new key (it was null)."""
    r = tm({"taskmanager.heap.size": "1g", "taskmanager.memory.process.size": "4096m"}, "1.20")
    assert not r["valid"] and "Derived JVM Overhead size" in r["error"]
    assert r["keys"]["legacy_heap"] == {"bytes": GIB, "key": "taskmanager.heap.size",
                                        "maps_to": "taskmanager.memory.flink.size"}
    r = compute({"jobmanager.heap.mb": "1024", "jobmanager.memory.process.size": "4096m"}, "jobmanager", "1.20")
    assert not r["valid"]
    assert r["keys"]["legacy_heap"] == {"bytes": GIB, "key": "jobmanager.heap.mb",
                                        "maps_to": "jobmanager.memory.heap.size"}


def test_old_lines_wrap_only_a_jobmanager_illegal_configuration():
    # 1.x start scripts wrap an IllegalConfiguration once more; compute adds that link to the chain itself.
    refused = jm({"jobmanager.memory.flink.size": "128m"}, "1.16")
    assert refused["error_chain"][0] == "JobManager memory configuration failed: " + refused["error_chain"][1]
    assert refused["error_classes"][:2] == ["org.apache.flink.configuration.IllegalConfigurationException"] * 2
    assert refused["error_chain"][1:] == jm({"jobmanager.memory.flink.size": "128m"})["error_chain"]
    # Other exceptions pass through unwrapped, on every line.
    overflow = {"jobmanager.memory.heap.size": "8388607t", "jobmanager.memory.off-heap.size": "8388607t"}
    assert jm(overflow, "1.16")["error_chain"] == ["long overflow"] == jm(overflow)["error_chain"]
    bad_bool = {"jobmanager.memory.process.size": "2g", "jobmanager.memory.enable-jvm-direct-memory-limit": "yes"}
    assert jm(bad_bool, "1.16")["error_chain"] == jm(bad_bool)["error_chain"]
    assert jm(bad_bool, "1.16")["error_chain"][0].startswith("Could not parse value 'yes'")
