"""config_lint: every check, with numbers worked out by hand from Flink's rules (flink-memory.md).

Sizes quoted in expectations are derived in comments from Flink's arithmetic (fractions are Java
floats: 0.1 is 0.10000000149011612), not copied from the code under test. The consumer-weights
cases were run against real Flink (ManagedMemoryUtils.getManagedMemoryUseCaseWeightsFromConfig after
GlobalConfiguration.loadConfiguration, on 1.17.2, 1.20.5, 2.0.2 and 2.3.0) and their outcomes are
recorded here.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.plugin_utils import lint as lint_mod
from ansible_collections.flinkops.flink.plugins.plugin_utils.lint import (
    FlinkMapError,
    LintCallError,
    config_lint,
    effective_weights,
    parse_flink_map,
)

MiB = 1 << 20
GiB = 1 << 30
TM = ["taskmanager"]
JM = ["jobmanager"]


def codes(findings):
    return [f["code"] for f in findings]


def only(findings, code):
    hits = [f for f in findings if f["code"] == code]
    assert len(hits) == 1, findings
    return hits[0]


def test_clean_config_has_no_findings():
    cfg = {"taskmanager.memory.process.size": "1728m", "jobmanager.memory.process.size": "1600m",
           "taskmanager.numberOfTaskSlots": "2", "rest.port": "8081"}
    assert config_lint(cfg, "2.3") == []


def test_finding_shape():
    findings = config_lint({"taskmanager.memory.process.size": "1728m", "taskmanager.memory.managed.fration": "0.5"},
                           "2.3", processes=TM, facts={"config_lines": {"taskmanager.memory.managed.fration": 4}})
    assert findings and all(set(f) == {"severity", "code", "key", "line", "message", "fix"} for f in findings)
    assert findings[0]["line"] == 4


# --- keys ----------------------------------------------------------------------------------------


def test_unknown_key_with_did_you_mean():
    f = only(config_lint({"taskmanager.memory.process.size": "1728m",
                          "taskmanager.memory.managed.fration": "0.5"}, "2.3", processes=TM), "unknown-key")
    assert f["severity"] == "warning"
    assert f["key"] == "taskmanager.memory.managed.fration"
    assert "ignores it silently" in f["message"]
    assert f["fix"].startswith("Did you mean 'taskmanager.memory.managed.fraction'")


def test_unknown_key_that_a_later_release_knows():
    f = only(config_lint({"taskmanager.memory.process.size": "1728m", "taskmanager.load-balance.mode": "SLOTS"},
                         "1.18", processes=TM), "unknown-key")
    assert "from Flink 1.19 on" in f["message"]


@pytest.mark.parametrize("key, meant", [
    ("jobmanager.memory.managed.fraction", "jobmanager.memory.process.size"),
    ("flink.memory.managed.fraction", "taskmanager.memory.managed.fraction"),
    ("taskmanager.memory.heap.size", "taskmanager.memory.task.heap.size"),
])
def test_blog_only_keys_explained(key, meant):
    cfg = {"taskmanager.memory.process.size": "1728m", "jobmanager.memory.process.size": "1600m", key: "0.3"}
    f = only(config_lint(cfg, "1.20"), "blog-only-key")
    assert f["key"] == key and f["severity"] == "warning"
    assert "does not exist in any Flink release" in f["message"]
    assert meant in f["fix"]
    assert "unknown-key" not in codes(config_lint(cfg, "1.20"))


@pytest.mark.parametrize("line", ["1.20", "2.3"])
def test_deprecated_key_names_its_replacement(line):
    f = only(config_lint({"taskmanager.memory.process.size": "1728m", "taskmanager.network.memory.min": "128m"},
                         line, processes=TM), "deprecated-key")
    assert "'taskmanager.memory.network.min'" in f["message"]
    assert f["fix"] == "Rename 'taskmanager.network.memory.min' to 'taskmanager.memory.network.min' (same value)."


def test_deprecated_key_and_its_replacement_both_set():
    cfg = {"taskmanager.memory.process.size": "1728m", "taskmanager.memory.network.fraction": "0.2",
           "taskmanager.network.memory.fraction": "0.1"}
    findings = config_lint(cfg, "1.18", processes=TM)
    f = only(findings, "deprecated-key")
    assert "so Flink 1.18 uses it (0.2) and ignores 'taskmanager.network.memory.fraction' (0.1)" in f["message"]
    assert f["fix"] == "Remove 'taskmanager.network.memory.fraction'."
    assert "unused-key" not in codes(findings)  # said once, not twice


def test_two_deprecated_names_of_one_option():
    # execution.checkpointing.dir reads state.checkpoints.dir before state.backend.fs.checkpointdir (1.20).
    cfg = {"taskmanager.memory.process.size": "1728m", "state.backend.fs.checkpointdir": "s3://old",
           "state.checkpoints.dir": "s3://new"}
    findings = {f["key"]: f for f in config_lint(cfg, "1.20", processes=TM)}
    assert "'state.checkpoints.dir' is also set and comes first" in findings["state.backend.fs.checkpointdir"][
        "message"]
    assert findings["state.backend.fs.checkpointdir"]["fix"] == (
        "Remove 'state.backend.fs.checkpointdir', and rename 'state.checkpoints.dir' to 'execution.checkpointing.dir'.")
    assert findings["state.checkpoints.dir"]["fix"] == (
        "Rename 'state.checkpoints.dir' to 'execution.checkpointing.dir' (same value).")


def test_renamed_rpc_key_on_1_18():
    f = only(config_lint({"akka.ask.timeout": "20 s", "taskmanager.memory.process.size": "1728m"}, "1.18",
                         processes=TM), "deprecated-key")
    assert "'pekko.ask.timeout'" in f["fix"]
    assert config_lint({"akka.ask.timeout": "20 s", "taskmanager.memory.process.size": "1728m"}, "1.17",
                       processes=TM) == []


def test_removed_legacy_heap_on_2x():
    cfg = {"taskmanager.memory.process.size": "1728m", "taskmanager.heap.size": "1g"}
    f = only(config_lint(cfg, "2.0", processes=TM), "removed-key")
    assert "Flink 1.20 was the last to read it" in f["message"]
    # Without the legacy key 2.0 sizes by process.size: tf = 1728m - 256m metaspace - 192m overhead
    # (0.1 x 1728m = 172.8m, raised to the 192m minimum) = 1280m.
    assert "Total Flink Memory 1280 mb" in f["message"]
    assert "taskmanager.memory.flink.size: 1g" in f["fix"]


def test_removed_legacy_heap_alone_is_rejected_on_2x():
    findings = config_lint({"taskmanager.heap.size": "1g"}, "2.3", processes=TM)
    assert codes(findings)[0] == "rejected-config"
    assert "Either required fine-grained memory" in findings[0]["message"]
    assert "ignores 'taskmanager.heap.size'" in findings[0]["fix"]
    assert "removed-key" in codes(findings)


def test_deprecated_option_info():
    f = only(config_lint({"taskmanager.memory.process.size": "1728m", "cluster.evenly-spread-out-slots": "true"},
                         "1.20", processes=TM), "deprecated-option")
    assert f["severity"] == "info"
    assert "Flink 2.0 no longer reads it" in f["message"]
    assert "taskmanager.load-balance.mode" in f["fix"]


@pytest.mark.parametrize("key", ["metrics.reporter.prom.port", "s3.access-key", "pipeline.global-job-parameters.x",
                                 "table.exec.state.ttl", "env.java.home", "high-availability.zookeeper.quorum"])
def test_family_keys_are_not_flagged(key):
    assert config_lint({"taskmanager.memory.process.size": "1728m", key: "v"}, "1.19", processes=TM) == []


# --- memory --------------------------------------------------------------------------------------


def test_rejected_size_spelling():
    f = only(config_lint({"taskmanager.memory.process.size": "1.5g"}, "1.19", processes=TM), "rejected-config")
    assert f["severity"] == "error" and f["key"] == "taskmanager.memory.process.size"
    assert "Could not parse value '1.5g'" in f["message"]
    assert "1536m" in f["fix"]


def test_rejected_too_small_process_gives_the_smallest_accepted_size():
    # 982m: overhead 192m (minimum), metaspace 256m, tf 534m; managed 0.4 x 534m = 213.6m, network 64m
    # (minimum), framework heap + off-heap 256m: 533.6m fits 534m. At 981m, 533.2m > 533m (E3).
    f = only(config_lint({"taskmanager.memory.process.size": "300m"}, "2.3", processes=TM), "rejected-config")
    assert f["key"] == "taskmanager.memory.process.size"
    assert "Sum of configured JVM Metaspace" in f["message"]
    assert f["fix"].endswith("Flink accepts taskmanager.memory.process.size: 982m or more.")
    # JobManager: 448m of metaspace and overhead leave Total Flink Memory, which must exceed the 128m
    # off-heap: 577m is the first whole MiB that does.
    f = only(config_lint({"jobmanager.memory.process.size": "400m"}, "2.3", processes=JM), "rejected-config")
    assert f["fix"].endswith("Flink accepts jobmanager.memory.process.size: 577m or more.")


def test_rejected_slots_blames_the_slot_key():
    f = only(config_lint({"taskmanager.memory.process.size": "1728m", "taskmanager.numberOfTaskSlots": "0"}, "2.3",
                         processes=TM), "rejected-config")
    assert f["key"] == "taskmanager.numberOfTaskSlots"
    assert "positive number of CPU cores" in f["message"]


def test_rejected_overhead_range_names_the_fix():
    # flink.size 1g + process.size 4g: overhead = 4096 - 1024 - 256 = 2816m > 1g max -> E7.
    cfg = {"taskmanager.memory.flink.size": "1g", "taskmanager.memory.process.size": "4g"}
    f = only(config_lint(cfg, "2.3", processes=TM), "rejected-config")
    assert "Derived JVM Overhead size (2.750gb (2952790016 bytes))" in f["message"]
    assert "Set only one of taskmanager.memory.process.size and taskmanager.memory.flink.size" in f["fix"]


def test_sizing_paths_total_flink_and_process():
    cfg = {"taskmanager.memory.flink.size": "3g", "taskmanager.memory.process.size": "4g"}
    f = only(config_lint(cfg, "2.3", processes=TM), "sizing-paths")
    assert f["key"] == "taskmanager.memory.process.size"
    assert "sizes Total Flink Memory from taskmanager.memory.flink.size: 3 gb" in f["message"]
    # Overhead is the rest: 4096m - 3072m - 256m = 768m (not 0.1 x 4g).
    assert "4 gb - 3 gb - JVM Metaspace 256 mb = 768 mb" in f["message"]
    # Keeping process.size alone: overhead = 4294967296 x 0.10000000149011612 = 429496736;
    # tf = 4294967296 - 268435456 - 429496736 = 3597035104.
    assert "keep 'taskmanager.memory.process.size' and remove 'taskmanager.memory.flink.size'" in f["fix"]
    assert "3597035104 bytes" in f["fix"]


def test_sizing_paths_fine_grained_and_process():
    cfg = {"taskmanager.memory.task.heap.size": "512m", "taskmanager.memory.managed.size": "256m",
           "taskmanager.memory.process.size": "1728m"}
    f = only(config_lint(cfg, "2.3", processes=TM), "sizing-paths")
    assert "uses the fine-grained sizes" in f["message"]
    result = compute(cfg, "taskmanager", "2.3")
    assert f"= {lint_mod.size_text(result['sizes']['jvm_overhead'])}" in f["message"]


def test_jobmanager_heap_and_process():
    # heap 1g + off-heap 128m = tf 1152m; overhead = 1600 - 1152 - 256 = 192m.
    f = only(config_lint({"jobmanager.memory.heap.size": "1g", "jobmanager.memory.process.size": "1600m"}, "1.17",
                         processes=JM), "sizing-paths")
    assert "Total Flink Memory 1152 mb" in f["message"] and "= 192 mb" in f["message"]


def test_legacy_heap_on_1x_with_process_size():
    # 1.x maps taskmanager.heap.size to flink.size (1g); process.size 1728m then only sets
    # overhead = 1728 - 1024 - 256 = 448m.
    cfg = {"taskmanager.memory.process.size": "1728m", "taskmanager.heap.size": "1g"}
    findings = config_lint(cfg, "1.18", processes=TM)
    f = only(findings, "legacy-heap")
    assert "Total Flink Memory is 1 gb" in f["message"] and "JVM Overhead to 448 mb" in f["message"]
    assert "taskmanager.memory.flink.size: 1g" in f["fix"]
    assert "deprecated-option" not in codes(findings)


def test_unused_managed_fraction():
    cfg = {"taskmanager.memory.process.size": "1728m", "taskmanager.memory.managed.size": "512m",
           "taskmanager.memory.managed.fraction": "0.5"}
    f = only(config_lint(cfg, "2.3", processes=TM), "unused-key")
    assert f["key"] == "taskmanager.memory.managed.fraction" and f["severity"] == "info"
    assert "taskmanager.memory.managed.size is set and wins" in f["message"]


def test_process_above_cgroup_limit():
    facts = {"cgroup_memory_limit_bytes": 3 * GiB, "mem_total_bytes": 16 * GiB,
             "config_lines": {"taskmanager.memory.process.size": 12}}
    f = only(config_lint({"taskmanager.memory.process.size": "4g"}, "2.3", facts=facts, processes=TM),
             "exceeds-host-memory")
    assert f["severity"] == "error" and f["line"] == 12
    assert "cgroup memory limit of 3 gb" in f["message"]
    assert "taskmanager.memory.process.size: 3g at most" in f["fix"]


def test_jobmanager_and_taskmanager_summed_against_ram():
    facts = {"mem_total_bytes": 10 * GiB, "cgroup_memory_limit_bytes": None,
             "processes": ["jobmanager", "taskmanager"]}
    cfg = {"taskmanager.memory.process.size": "8g", "jobmanager.memory.process.size": "4g"}
    f = only(config_lint(cfg, "1.20", facts=facts), "exceeds-host-memory")
    assert "12 gb" in f["message"] and "TaskManager 8 gb + JobManager 4 gb" in f["message"]
    assert "taskmanager.memory.process.size: 6g at most" in f["fix"]
    # The same config on a TaskManager-only host fits.
    assert "exceeds-host-memory" not in codes(config_lint(cfg, "1.20", facts=dict(facts, processes=TM)))


def test_managed_per_slot_below_threshold():
    cfg = {"taskmanager.memory.process.size": "1728m", "taskmanager.numberOfTaskSlots": "4",
           "taskmanager.memory.managed.size": "100m"}
    f = only(config_lint(cfg, "2.3", processes=TM), "managed-per-slot")
    assert "Each of the 4 slot(s) gets 25 mb" in f["message"]
    assert "taskmanager.memory.managed.size: 512m" in f["fix"]
    fixed = dict(cfg, **{"taskmanager.memory.managed.size": "512m"})
    assert "managed-per-slot" not in codes(config_lint(fixed, "2.3", processes=TM))


def _fix_value(fix, key):
    return fix.split(f"{key}: ")[1].split(" ")[0]


def test_managed_per_slot_fixes_are_valid():
    # 2 slots x 300m need 600m of the 1280m Total Flink Memory: fraction 0.47 fits.
    cfg = {"taskmanager.memory.process.size": "1728m", "taskmanager.numberOfTaskSlots": "2"}
    f = only(config_lint(cfg, "2.3", processes=TM, min_managed_per_slot="300m"), "managed-per-slot")
    value = _fix_value(f["fix"], "taskmanager.memory.managed.fraction")
    assert value == "0.47"
    result = compute(dict(cfg, **{"taskmanager.memory.managed.fraction": value}), "taskmanager", "2.3")
    assert result["valid"] and result["sizes"]["managed"] // 2 >= 300 * MiB
    size = _fix_value(f["fix"], "taskmanager.memory.process.size")
    result = compute(dict(cfg, **{"taskmanager.memory.process.size": size}), "taskmanager", "2.3")
    assert result["valid"] and result["sizes"]["managed"] // 2 >= 300 * MiB
    smaller = f"{int(size[:-1]) - 1}m"  # the smallest such size
    assert compute(dict(cfg, **{"taskmanager.memory.process.size": smaller}), "taskmanager", "2.3")["sizes"][
        "managed"] // 2 < 300 * MiB


def test_managed_per_slot_when_the_fraction_cannot_grow():
    # 8 slots x 128m = 1g of 1280m: fraction 0.8 leaves no room for network and framework memory.
    cfg = {"taskmanager.memory.process.size": "1728m", "taskmanager.numberOfTaskSlots": "8"}
    f = only(config_lint(cfg, "2.3", processes=TM), "managed-per-slot")
    assert "managed.fraction" not in f["fix"]
    assert "lower taskmanager.numberOfTaskSlots to 4" in f["fix"]  # 536870920 // 128m = 4


def test_default_tm_with_one_slot_has_enough_managed_memory():
    # 1728m -> managed 536870920 bytes (0.4 of 1280m) for one slot.
    assert config_lint({"taskmanager.memory.process.size": "1728m"}, "2.3", processes=TM) == []


def test_threshold_option():
    cfg = {"taskmanager.memory.process.size": "1728m"}
    assert "managed-per-slot" in codes(config_lint(cfg, "2.3", processes=TM, min_managed_per_slot="1g"))
    assert config_lint(dict(cfg, **{"taskmanager.memory.managed.size": "0"}), "2.3", processes=TM,
                       min_managed_per_slot=None) == []


# --- consumer weights (outcomes seen on real Flink) ------------------------------------------------


CW = "taskmanager.memory.managed.consumer-weights"


@pytest.mark.parametrize("value, expected", [
    ("OPERATOR:70,STATE_BACKEND:70,PYTHON:30", {"OPERATOR": "70", "STATE_BACKEND": "70", "PYTHON": "30"}),
    ("OPERATOR: 70,PYTHON:30", {"OPERATOR": "70", "PYTHON": "30"}),
    (" OPERATOR : 70", {"OPERATOR": "70"}),
    ("'A;B':1", None),  # quoted token followed by more text: illegal quoting
    ("\"OPERATOR\",x", None),
])
def test_parse_flink_map(value, expected):
    if expected is None:
        with pytest.raises(FlinkMapError):
            parse_flink_map(value)
    else:
        assert parse_flink_map(value) == expected


@pytest.mark.parametrize("value, message", [
    ("'OPERATOR':70", "Could not split string. Illegal quoting at position: 9"),
    ("OPERATOR:70;PYTHON:30", "Map item is not a key-value pair (missing ':'?)"),
    ("OPERATOR=70", "Map item is not a key-value pair (missing ':'?)"),
    ("OPERATOR:70,OPERATOR:10", "Duplicate key OPERATOR (attempted merging values 70 and 10)"),
])
def test_parse_errors_match_flink(value, message):
    with pytest.raises(FlinkMapError) as err:
        parse_flink_map(value)
    assert str(err.value) == message


@pytest.mark.parametrize("line, config, weights, error", [
    ("1.20", {CW: "PYTHON:10"}, {"PYTHON": 10}, None),
    ("1.17", {CW: "operator:70,STATE_BACKEND:70"}, {"STATE_BACKEND": 70}, None),
    ("1.20", {CW: "DATAPROC:70"}, {"OPERATOR": 70, "STATE_BACKEND": 70}, None),
    ("1.20", {CW: "DATAPROC:70,OPERATOR:5"}, {"OPERATOR": 5, "STATE_BACKEND": 70}, None),
    ("2.0", {CW + ".operator": "70", CW + ".DATAPROC": "30"}, {}, None),
    ("1.20", {CW + ".operator": "70", CW + ".DATAPROC": "30"}, {"OPERATOR": 30, "STATE_BACKEND": 30}, None),
    ("1.20", {CW + ".PYTHON": "10"}, {"PYTHON": 10}, None),
    ("1.20", {CW: "OPERATOR:70", CW + ".PYTHON": "10"}, {"OPERATOR": 70}, None),  # the exact key wins
    ("1.20", {CW: "OPERATOR:abc"}, None, 'NumberFormatException: For input string: "abc"'),
    ("1.20", {CW: "{OPERATOR: 70, PYTHON: 30}"}, None, 'NumberFormatException: For input string: "30}"'),
    ("2.3", {CW: "OPERATOR:-1,PYTHON:1"}, None,
     "Managed memory weight should not be negative. Configured weight for OPERATOR is -1."),
])
def test_effective_weights_as_flink_computes_them(line, config, weights, error):
    got = effective_weights(config, line)
    assert got["error"] == error
    if weights is not None:
        assert got["weights"] == weights


def test_weights_that_drop_consumers():
    f = only(config_lint({"taskmanager.memory.process.size": "1728m", CW: "PYTHON:10"}, "2.3", processes=TM),
             "consumer-weights")
    assert "'OPERATOR' and 'STATE_BACKEND' are not named" in f["message"]
    assert "OPERATOR:70,STATE_BACKEND:70,PYTHON:30" in f["message"]  # Flink's default map
    assert f["fix"].endswith(f"{CW}: OPERATOR:70,STATE_BACKEND:70,PYTHON:10")


def test_weights_case_and_dataproc():
    findings = config_lint({"taskmanager.memory.process.size": "1728m", CW: "operator:70,DATAPROC:3,PYTHON:30"},
                           "2.3", processes=TM)
    messages = " ".join(f["message"] for f in findings if f["code"] == "consumer-weights")
    assert "names 'operator'" in messages and "did you mean OPERATOR?" in messages
    assert "DATAPROC was removed in Flink 2.0" in messages


def test_weights_dataproc_on_1x_is_only_deprecated():
    findings = config_lint({"taskmanager.memory.process.size": "1728m", CW: "DATAPROC:70,PYTHON:30"}, "1.20",
                           processes=TM)
    assert [(f["code"], f["severity"]) for f in findings] == [("consumer-weights", "info")]


def test_weights_error_is_an_error():
    f = only(config_lint({"taskmanager.memory.process.size": "1728m", CW: "OPERATOR:abc"}, "1.20", processes=TM),
             "consumer-weights")
    assert f["severity"] == "error" and 'For input string: "abc"' in f["message"]


def test_weights_ignored_for_a_jobmanager_only_host():
    assert config_lint({"jobmanager.memory.process.size": "1600m", CW: "PYTHON:10"}, "2.3", processes=JM) == []


# --- files ---------------------------------------------------------------------------------------


def test_file_facts():
    facts = {
        "config_file": "/opt/flink/conf/flink-conf.yaml", "config_format": "legacy", "processes": TM,
        "skipped_lines": [{"line": 7, "reason": "Line is not a key-value pair (missing space after ':'?)"}],
        "ignored_files": [{"name": "config.yaml",
                           "reason": "Flink 1.20 reads flink-conf.yaml when it exists and then ignores config.yaml "
                                     "silently"}],
    }
    findings = config_lint({"taskmanager.memory.process.size": "1728m"}, "1.20", facts=facts)
    skipped = only(findings, "skipped-line")
    assert skipped["line"] == 7 and skipped["key"] is None
    assert "space after the colon" in skipped["fix"]
    ignored = only(findings, "ignored-file")
    assert "does not read config.yaml" in ignored["message"]
    assert "bin/migrate-config-file.sh" in ignored["fix"]


def test_lone_legacy_file_on_2x():
    facts = {"ignored_files": [{"name": "flink-conf.yaml", "reason": "Flink 2.3 reads only config.yaml"}]}
    f = only(config_lint({"taskmanager.memory.process.size": "1728m"}, "2.3", facts=facts, processes=TM),
             "ignored-file")
    assert "Move every setting into config.yaml" in f["fix"]


def test_bom_glued_to_the_first_key():
    cfg = {"\ufefftaskmanager.memory.process.size": "1728m", "jobmanager.memory.process.size": "1600m"}
    findings = config_lint(cfg, "1.18", facts={"config_lines": {"\ufefftaskmanager.memory.process.size": 1}})
    bom = only(findings, "bom-in-key")
    assert bom["line"] == 1 and "ignores 'taskmanager.memory.process.size'" in bom["message"]
    assert "unknown-key" not in codes(findings)
    # ...and with the key lost, Flink cannot size the TaskManager.
    assert findings[0]["code"] == "rejected-config"


def test_hash_cut_secret_is_named_not_shown():
    cfg = {"taskmanager.memory.process.size": "1728m", "s3.secret-key": "abc"}
    f = only(config_lint(cfg, "1.19", processes=TM, facts={"hash_cut_keys": [{"key": "s3.secret-key", "line": 9}]}),
             "hash-cut-value")
    assert f["line"] == 9 and "silently shortened" in f["message"]
    assert "abc" not in f["message"] + f["fix"]


# --- secrets, ordering, misuse ------------------------------------------------------------------


SENSITIVE_KEYS = [
    "s3.secret-key", "security.ssl.internal.keystore-password", "security.ssl.keystore-pasword",
    "security.kerberos.fetch.delegation-token", "security.delegation.tokens.enabled", "fs.azure.account.key.x",
    "metrics.reporter.dd.apikey", "my.secret.thing", "user.artifacts.http-headers", "rest.api-key",
]


@settings(max_examples=60, deadline=None)
@given(keys=st.lists(st.sampled_from(SENSITIVE_KEYS), min_size=1, unique=True),
       secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789#:,'", min_size=4, max_size=12),
       line=st.sampled_from(["1.17", "1.20", "2.3"]))
def test_sensitive_values_never_appear(keys, secret, line):
    value = "Zq" + secret
    cfg = {"taskmanager.memory.process.size": "1728m", **{k: value for k in keys}}
    facts = {"hash_cut_keys": [{"key": k, "line": 3} for k in keys]}
    for f in config_lint(cfg, line, facts=facts, processes=TM):
        assert value not in f["message"] and value not in (f["fix"] or ""), f


def test_ordering_severity_then_line_then_key():
    cfg = {"taskmanager.memory.process.size": "4g", "taskmanager.memory.flink.size": "3g",
           "zz.unknown": "1", "aa.unknown": "1", "taskmanager.network.memory.min": "64m"}
    facts = {"config_lines": {"zz.unknown": 2, "aa.unknown": 5, "taskmanager.network.memory.min": 1},
             "cgroup_memory_limit_bytes": 2 * GiB}
    findings = config_lint(cfg, "2.3", facts=facts, processes=TM)
    order = [(f["severity"], f["line"], f["key"]) for f in findings]
    assert order[0][0] == "error"
    warnings = [o for o in order if o[0] == "warning"]
    assert [o[1] for o in warnings] == [1, 2, 5, None]
    assert order == sorted(order, key=lambda o: (["error", "warning", "info"].index(o[0]),
                                                 o[1] if o[1] is not None else 1e9, o[2] or ""))


def test_processes_from_facts():
    cfg = {"jobmanager.memory.process.size": "1600m"}  # no TaskManager sizing at all
    assert codes(config_lint(cfg, "2.3", facts={"processes": JM})) == []
    assert codes(config_lint(cfg, "2.3")) == ["rejected-config"]


def test_results_are_independent_copies():
    cfg = {"taskmanager.memory.process.size": "1728m", "x.y.z": "1"}
    first = config_lint(cfg, "2.3", processes=TM)
    first[0]["message"] = "changed"
    assert config_lint(cfg, "2.3", processes=TM)[0]["message"] != "changed"


def test_gathered_memory_is_used_only_for_the_same_config():
    cfg = {"taskmanager.memory.process.size": "4g"}
    facts = {"config": cfg, "memory": {"taskmanager": compute(cfg, "taskmanager", "2.3")},
             "cgroup_memory_limit_bytes": 3 * GiB}
    assert config_lint(cfg, "2.3", facts=facts, processes=TM) == \
        config_lint(cfg, "2.3", facts={"cgroup_memory_limit_bytes": 3 * GiB}, processes=TM)
    other = {"taskmanager.memory.process.size": "1280m"}
    assert config_lint(other, "2.3", facts=facts, processes=TM) == []  # 1280m fits 3g; facts.memory not used


@pytest.mark.parametrize("args, kwargs, words", [
    (("not a dict", "2.3"), {}, "mapping"),
    (({1: "x"}, "2.3"), {}, "keys must be strings"),
    (({}, "1.13"), {}, "1.14, 1.15"),
    (({}, ["2.3"]), {}, "version string"),
    (({}, "2.3"), {"processes": ["worker"]}, "taskmanager, jobmanager"),
    (({}, "2.3"), {"min_managed_per_slot": "1.5g"}, "not a Flink memory size"),
    (({}, "2.3"), {"facts": ["x"]}, "facts must be a mapping"),
])
def test_misuse(args, kwargs, words):
    with pytest.raises(LintCallError) as err:
        config_lint(*args, **kwargs)
    assert words in str(err.value)


# Keys that need no finding are decided once per Flink line and remembered (lint._QUIET_KEYS); what a
# key means differs per line (state.backend.type, taskmanager.heap.size), so a warm cache must give
# exactly what a cold one gives, in any order of lines and hosts.
_ACROSS_LINES = {
    "state.backend.type": "rocksdb",
    "state.checkpoints.dir": "s3://b/c",
    "state.backend": "rocksdb",
    "taskmanager.heap.size": "1g",
    "taskmanager.memory.process.size": "4g",
    "taskmanager.numberOfTaskSlots": "2",
    "jobmanager.memory.process.size": "1600m",
    "jobmanager.rpc.address": "jm",
    "taskmanager.host": "tm1",
    "metrics.reporter.prom.port": "9249",
    "high-availability": "zookeeper",
}


@settings(max_examples=60, deadline=None)
@given(order=st.permutations(["1.17", "1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3"]),
       drop=st.sets(st.sampled_from(sorted(_ACROSS_LINES))))
def test_remembered_quiet_keys_change_no_finding(order, drop):
    cfg = {k: v for k, v in _ACROSS_LINES.items() if k not in drop}
    cold = {}
    for line in order:
        lint_mod._QUIET_KEYS.clear()
        cold[line] = config_lint(cfg, line)
    lint_mod._QUIET_KEYS.clear()
    for line in order:
        config_lint(_ACROSS_LINES, line)  # warms the cache with every key
    assert {line: config_lint(cfg, line) for line in order} == cold
    assert any(lint_mod._QUIET_KEYS.values())  # the cache was really in use


@pytest.mark.parametrize("process, key, value, shown, becomes", [
    ("taskmanager", "taskmanager.heap.size", "1g", "1g", "Total Flink Memory (taskmanager.memory.flink.size = 1g)"),
    ("taskmanager", "taskmanager.heap.mb", "1024", "1024 (MiB)", "Total Flink Memory"),
    ("jobmanager", "jobmanager.heap.size", "1g", "1g", "JVM Heap (jobmanager.memory.heap.size = 1g)"),
])
def test_refusal_caused_by_a_legacy_heap_blames_the_legacy_key(process, key, value, shown, becomes):
    """Issue 15.7: 1.20 maps the legacy heap key to a key the user never wrote and refuses; the finding
    names the legacy key (not process.size) and the fix removes it."""
    size = f"{process}.memory.process.size"
    findings = config_lint({key: value, size: "4096m"}, "1.20.5", processes=[process])
    f = only(findings, "rejected-config")
    assert f["key"] == key
    assert f"your legacy {key} {shown} becomes {becomes}" in f["message"]
    assert f"conflicts with {size} 4096m" in f["message"]
    assert "Derived JVM Overhead size" in f["message"]  # Flink's own words stay
    assert f["fix"].startswith(f"Remove '{key}'") and "raise" not in f["fix"]
    assert "deprecated-option" not in codes(findings)  # no "replace it with flink.size" beside it


def test_a_refusal_with_another_cause_is_not_blamed_on_the_legacy_heap():
    config = {"taskmanager.heap.size": "1g", "taskmanager.memory.network.min": "2g",
              "taskmanager.memory.network.max": "1g"}
    f = only(config_lint(config, "1.20.5", processes=TM), "rejected-config")
    assert "your legacy" not in f["message"]


def test_tiny_task_heap_per_slot_is_a_warning_with_the_numbers():
    """Issue 15.8: managed.fraction 0.8, 4096m, 8 slots on 1.20: Total Flink Memory 4096m - 256m metaspace -
    409.6m overhead = 3430.4m; managed 0.8 of it 2744.3m, network 343m, framework 256m: task heap 87 MiB,
    about 11 MiB per slot."""
    config = {"taskmanager.memory.process.size": "4096m", "taskmanager.memory.managed.fraction": "0.8",
              "taskmanager.numberOfTaskSlots": "8"}
    f = only(config_lint(config, "1.20.5", processes=TM), "task-heap-per-slot")
    assert f["severity"] == "warning" and f["key"] == "taskmanager.memory.managed.fraction"
    assert "Each of the 8 slot(s) gets about 11 MiB of task heap (87 MiB / 8), below 32 MiB" in f["message"]
    assert "managed.fraction 0.8 gives Managed Memory 2744 MiB of Total Flink Memory 3430 MiB" in f["message"]
    fraction = f["fix"].split("managed.fraction: ", 1)[1].split(" ", 1)[0]
    # The fraction offered is real: Flink gives each slot the floor with it, and not with 0.01 more.
    fixed = compute({**config, "taskmanager.memory.managed.fraction": fraction}, "taskmanager", "1.20")
    assert fixed["valid"] and fixed["sizes"]["task_heap"] // 8 >= 32 * MiB
    more = compute({**config, "taskmanager.memory.managed.fraction": f"{float(fraction) + 0.01:.2f}"},
                   "taskmanager", "1.20")
    assert more["sizes"]["task_heap"] // 8 < 32 * MiB
    # Flink's shipped TaskManager (1728m, one slot: 384 MiB of task heap) gets no such warning.
    assert "task-heap-per-slot" not in codes(config_lint({"taskmanager.memory.process.size": "1728m"}, "1.20.5",
                                                         processes=TM))


def test_a_stale_flink_version_variable_is_a_warning():
    """Issue 15.11: flink_version 1.19 in the inventory, Flink 1.20.5 in lib/: the config is read as 1.19
    reads it, and the lint says so (the gather reports the jar's version as flink_version_detected)."""
    facts = {"flink_version": "1.19", "flink_version_detected": "1.20.5"}
    f = only(config_lint({"taskmanager.memory.process.size": "1728m"}, "1.19", facts=facts, processes=TM),
             "flink-version-mismatch")
    assert f["severity"] == "warning" and f["key"] is None
    assert "Flink 1.19 reads it (flink_version 1.19), but the host's lib/ holds Flink 1.20.5" in f["message"]
    assert "set it to 1.20.5" in f["fix"]
    # Same line (a patch release apart), or no jar seen: nothing to say.
    for detected in ("1.19.3", None):
        facts = {"flink_version": "1.19.1", "flink_version_detected": detected}
        assert "flink-version-mismatch" not in codes(
            config_lint({"taskmanager.memory.process.size": "1728m"}, "1.19", facts=facts, processes=TM))


def test_a_host_outside_the_flink_groups_has_an_unknown_process():
    """Issue 15.14: with audit_hosts=all a TaskManager host outside flink_taskmanager gathers processes []:
    no JobManager (or TaskManager) findings are made up for it; one finding says why nothing was checked."""
    config = {"taskmanager.memory.process.size": "1728m", "jobmanager.memory.process.size": "300m"}
    findings = config_lint(config, "1.20.5", facts={"processes": []})
    assert codes(findings) == ["process-unknown"]
    assert "neither inventory group flink_jobmanager nor flink_taskmanager" in findings[0]["message"]
    # Without facts (a direct call) both processes are still checked; Flink refuses a 300m JobManager.
    assert "rejected-config" in codes(config_lint(config, "1.20.5"))
