"""upgrade_readiness: keys that stop working, the file the new release reads, memory per release.

Memory numbers are worked out by hand from Flink's rules (flink-memory.md sections 1 and 2).
"""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.plugin_utils.upgrade import UpgradeCallError, upgrade_readiness

MiB = 1 << 20
GiB = 1 << 30
TM = ["taskmanager"]


def test_seed_story_1_18_to_2_0_with_the_legacy_heap_key():
    cfg = {"taskmanager.memory.process.size": "1728m", "taskmanager.heap.size": "1g",
           "jobmanager.memory.process.size": "1600m"}
    r = upgrade_readiness(cfg, "1.18.1", "2.0.2")
    assert (r["from_version"], r["to_version"]) == ("1.18", "2.0")
    # 1.18 reads only flink-conf.yaml; 2.0 only config.yaml, and 1.18 ships no migration script.
    assert r["ready"] is False
    assert r["config_file"]["must_convert"] is True
    assert (r["config_file"]["from_file"], r["config_file"]["to_file"]) == ("flink-conf.yaml", "config.yaml")
    assert "from a Flink 1.19 or 1.20 distribution" in r["config_file"]["fix"]
    assert r["blocking"] == [r["config_file"]["message"]]
    # taskmanager.heap.size stops working.
    stop = {item["key"]: item for item in r["keys"]["stop_working"]}
    assert stop["taskmanager.heap.size"]["replacement"] == "taskmanager.memory.flink.size"
    # Memory: on 1.18 the legacy key makes Total Flink Memory 1g and overhead the rest
    # (1728 - 1024 - 256 = 448m); on 2.0 process.size decides: overhead 192m (0.1 x 1728m
    # = 172.8m raised to the minimum), Total Flink Memory 1728 - 256 - 192 = 1280m.
    tm = r["memory"]["taskmanager"]
    assert tm["from"]["sizing_path"] == "total-flink" and tm["to"]["sizing_path"] == "total-process"
    assert tm["changes"]["total_flink"] == {"from": GiB, "to": 1280 * MiB, "delta": 256 * MiB}
    assert tm["changes"]["jvm_overhead"] == {"from": 448 * MiB, "to": 192 * MiB, "delta": -256 * MiB}
    assert "total_process" not in tm["changes"]  # 1728m on both
    assert "legacy heap key" in tm["message"]
    # The JobManager is sized by process.size on both: byte for byte the same.
    assert r["memory"]["jobmanager"]["changed"] is False
    assert r["memory"]["jobmanager"]["changes"] == {}


def test_1_20_to_2_0_uses_the_hosts_own_migration_script():
    r = upgrade_readiness({"taskmanager.memory.process.size": "1728m"}, "1.20", "2.0",
                          facts={"config_file": "/opt/flink/conf/flink-conf.yaml", "config_format": "legacy",
                                 "processes": TM})
    assert r["config_file"]["assumed"] is False
    assert "bin/migrate-config-file.sh of your Flink 1.20" in r["config_file"]["fix"]
    assert list(r["memory"]) == ["taskmanager"]


def test_ignored_config_yaml_becomes_the_configuration():
    facts = {"config_file": "/opt/flink/conf/flink-conf.yaml", "config_format": "legacy", "processes": TM,
             "ignored_files": [{"name": "config.yaml", "reason": "flink-conf.yaml exists"}]}
    r = upgrade_readiness({"taskmanager.memory.process.size": "1728m"}, "1.19", "2.3", facts=facts)
    assert r["config_file"]["switches_to_ignored_file"] is True
    assert r["config_file"]["must_convert"] is False  # config.yaml exists, so 2.3 starts ...
    # ... with other settings: every setting of today's file is dropped, so not ready (issue 15.9).
    assert r["ready"] is False
    assert r["blocking"] == [r["config_file"]["message"]]
    assert "every setting in flink-conf.yaml is dropped" in r["blocking"][0]
    # And no "same memory on 2.3, byte for byte" computed from the file 2.3 will not read.
    tm = r["memory"]["taskmanager"]
    assert tm["to"] is None and tm["changed"] is None
    assert "Not compared: Flink 2.3 reads config.yaml" in tm["message"]
    assert not any("byte for byte" in c for c in r["changes"])


def test_memory_on_the_new_release_comes_from_the_file_it_reads():
    """Issue 15.9: with the ignored config.yaml's settings, memory on 2.0 is that file's."""
    facts = {"config_file": "/opt/flink/conf/flink-conf.yaml", "config_format": "legacy", "processes": TM,
             "ignored_files": [{"name": "config.yaml", "reason": "flink-conf.yaml exists"}]}
    today = {"taskmanager.memory.process.size": "4g"}
    r = upgrade_readiness(today, "1.20", "2.0", facts=facts, to_config={"taskmanager.memory.process.size": "1728m"})
    tm = r["memory"]["taskmanager"]
    assert tm["from"]["sizes"]["total_process"] == 4 * GiB and tm["to"]["sizes"]["total_process"] == 1728 * MiB
    assert tm["changed"] is True and tm["message"] in r["changes"]
    # Same settings in both files: same memory, and still not ready until flink-conf.yaml's settings are moved.
    same = upgrade_readiness(today, "1.20", "2.0", facts=facts, to_config=today)
    assert same["memory"]["taskmanager"]["changed"] is False and same["ready"] is False
    with pytest.raises(UpgradeCallError, match="to_config must be a mapping"):
        upgrade_readiness(today, "1.20", "2.0", facts=facts, to_config="config.yaml")


def test_yaml_to_yaml_with_unchanged_memory():
    cfg = {"taskmanager.memory.process.size": "4g", "jobmanager.memory.process.size": "2g"}
    r = upgrade_readiness(cfg, "2.0", "2.3", facts={"config_format": "yaml"})
    assert r["ready"] is True and r["blocking"] == []
    assert r["config_file"]["must_convert"] is False
    assert all(not m["changed"] for m in r["memory"].values())
    assert r["changes"] == []


def test_1_17_to_1_20_keeps_reading_flink_conf():
    r = upgrade_readiness({"taskmanager.memory.process.size": "1728m"}, "1.17", "1.20", processes=TM)
    assert r["config_file"]["must_convert"] is False
    assert r["config_file"]["to_file"] == "flink-conf.yaml"
    assert "Flink 2.0 will need config.yaml" in r["config_file"]["message"]
    assert r["ready"] is True


def test_memory_rejected_on_the_target_blocks():
    r = upgrade_readiness({"taskmanager.heap.size": "2g"}, "1.20", "2.0", processes=TM,
                          facts={"config_format": "yaml"})
    assert r["memory"]["taskmanager"]["from"]["valid"] is True
    assert r["memory"]["taskmanager"]["to"]["valid"] is False
    assert r["ready"] is False
    assert any("Flink 2.0 refuses to start the TaskManager" in b for b in r["blocking"])


def test_dataproc_weights_lost_on_2x():
    cw = "taskmanager.memory.managed.consumer-weights"
    r = upgrade_readiness({"taskmanager.memory.process.size": "1728m", cw: "DATAPROC:70,PYTHON:30"}, "1.20", "2.0",
                          processes=TM)
    w = r["consumer_weights"]
    assert w["from"] == {"OPERATOR": 70, "STATE_BACKEND": 70, "PYTHON": 30}
    assert w["to"] == {"PYTHON": 30}
    assert "DATAPROC, which stood in for OPERATOR and STATE_BACKEND" in w["message"]
    assert w["fix"].endswith(f"{cw}: OPERATOR:70,STATE_BACKEND:70,PYTHON:30")
    assert upgrade_readiness({cw: "OPERATOR:70,STATE_BACKEND:70,PYTHON:30"}, "1.20", "2.0",
                             processes=TM)["consumer_weights"] is None


def test_keys_that_start_working_and_renames():
    cfg = {"taskmanager.memory.process.size": "1728m", "taskmanager.load-balance.mode": "SLOTS",
           "akka.ask.timeout": "20 s"}
    r = upgrade_readiness(cfg, "1.17", "1.20", processes=TM)
    assert [i["key"] for i in r["keys"]["start_working"]] == ["taskmanager.load-balance.mode"]
    dep = {i["key"]: i for i in r["keys"]["deprecated"]}
    assert dep["akka.ask.timeout"]["replacement"] == "pekko.ask.timeout"
    assert r["keys"]["stop_working"] == []


def test_type_changes_are_reported():
    r = upgrade_readiness({"high-availability.zookeeper.client.session-timeout": "60000"}, "1.17", "2.3",
                          processes=TM)
    t = r["keys"]["type_changed"]
    assert t == [{"key": "high-availability.zookeeper.client.session-timeout", "from_type": "Integer",
                  "to_type": "Duration", "message": t[0]["message"]}]


def test_defaults_changed_ignores_spelling_and_set_keys():
    r = upgrade_readiness({}, "1.18", "2.0", processes=TM)
    changed = {d["key"]: d for d in r["defaults_changed"]}
    # 30000 (Long millis) and "30 s" (Duration) are the same default.
    assert "client.heartbeat.interval" not in changed
    assert changed["kubernetes.transactional-operation.max-retries"] == {
        "key": "kubernetes.transactional-operation.max-retries", "from": "5", "to": "15"}
    r2 = upgrade_readiness({"kubernetes.transactional-operation.max-retries": "5"}, "1.18", "2.0", processes=TM)
    assert "kubernetes.transactional-operation.max-retries" not in {d["key"] for d in r2["defaults_changed"]}


def test_sensitive_values_are_not_shown():
    cfg = {"user.artifacts.http-headers": "Authorization: Bearer Zq-secret", "taskmanager.memory.process.size": "1g"}
    r = upgrade_readiness(cfg, "1.18", "1.20", processes=TM)
    assert [i["key"] for i in r["keys"]["start_working"]] == ["user.artifacts.http-headers"]
    assert "Zq-secret" not in repr(r)


@pytest.mark.parametrize("args, kwargs, words", [
    (([], "1.18", "2.0"), {}, "mapping"),
    (({}, "1.18", "3.0"), {}, "1.17, 1.18"),
    (({}, "1.18", "2.0"), {"processes": ["historyserver"]}, "taskmanager, jobmanager"),
    (({}, "1.18", "2.0"), {"facts": "x"}, "facts must be a mapping"),
])
def test_misuse(args, kwargs, words):
    with pytest.raises(UpgradeCallError) as err:
        upgrade_readiness(*args, **kwargs)
    assert words in str(err.value)
