"""Hosts that resolve to one file (issue 13.8): the gather's file identity, from the real script run by
/bin/sh on real directories, and the enforce decisions grouping hosts by it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.plugin_utils import enforce
from ansible_collections.flinkops.flink.plugins.plugin_utils import gather_protocol as proto
from ansible_collections.flinkops.flink.plugins.plugin_utils import gather_result as gres

GIB = 1024 ** 3
OPTS = {"flink_home": None, "flink_version": "2.3.0", "processes": ["taskmanager"], "max_file_size": 1 << 20}


def identity_of(conf_dir) -> dict | None:
    script = proto.build_script(None, str(conf_dir), 1 << 20)
    out = subprocess.run(["/bin/sh", "-c", script], capture_output=True, timeout=30, check=True)
    got = proto.interpret(proto.parse_frames(out.stdout.decode("ascii")))
    result, _ = gres.build_result(got, "h", conf_dir=str(conf_dir), **OPTS)
    return result["file_identity"]


def test_one_file_through_two_paths_has_one_identity_and_another_file_another(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_bytes(b"a: 1\n")
    (tmp_path / "alias").symlink_to(conf)
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.yaml").write_bytes(b"a: 1\n")
    one, two, three = identity_of(conf), identity_of(tmp_path / "alias"), identity_of(other)
    assert one == two
    assert one["path"] == str(conf.resolve() / "config.yaml")
    assert one["inode"] == str(os.stat(conf / "config.yaml").st_ino)
    # a digest of machine-id, boot_id and node name, never the confidential machine-id itself
    assert len(one["machine"]) == 32 and int(one["machine"], 16) >= 0
    machine_id = Path("/etc/machine-id")
    if os.access(machine_id, os.R_OK) and machine_id.read_text().strip():
        assert machine_id.read_text().strip() not in repr(one)
    assert three != one and three["inode"] == str(os.stat(other / "config.yaml").st_ino)


def test_a_file_replaced_at_the_same_path_is_another_file(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_bytes(b"a: 1\n")
    before = identity_of(conf)
    keep = conf / "keep"  # hold the old inode so that the new file cannot reuse it
    os.link(conf / "config.yaml", keep)
    (conf / "new").write_bytes(b"a: 1\n")
    os.replace(conf / "new", conf / "config.yaml")
    assert identity_of(conf)["inode"] != before["inode"]


def gathered(size, ident=None, processes=("taskmanager",)):
    config = {"taskmanager.memory.process.size": size} if "taskmanager" in processes else {
        "jobmanager.memory.process.size": size}
    out = {"config": config, "flink_version": "2.3.0", "processes": list(processes), "mem_total_bytes": 8 * GIB,
           "cgroup_memory_limit_bytes": None, "memory": {p: compute(config, p, "2.3.0") for p in processes}}
    if ident:
        out["file_identity"] = {"machine": "m1\nb1\nnode", "path": ident[0], "inode": ident[1]}
    return out


POLICY = {"taskmanager": {"process_size": "2g"}, "jobmanager": {"process_size": "1600m"}}


def test_hosts_with_one_identity_and_one_plan_one_writes_and_a_warning_names_them():
    results = {"tm1": gathered("1g", ("/c/config.yaml", "7")), "tm2": gathered("1g", ("/c/config.yaml", "7")),
               "tm10": gathered("1g", ("/c/config.yaml", "7")), "tm3": gathered("1g", ("/c/config.yaml", "8"))}
    out = enforce.prepare(results, POLICY, list(results))
    assert out["run_on"] == ["tm1", "tm3"]
    assert out["shared"] == {"tm2": {"writer": "tm1", "file": "/c/config.yaml"},
                             "tm10": {"writer": "tm1", "file": "/c/config.yaml"}}
    assert out["warnings"] == ["The hosts tm1, tm2, tm10 resolve to one file, /c/config.yaml: only tm1 writes it "
                               "(the same bytes for all of them); a restart applies to all of them"]
    assert out["warnings"][0] in out["lines"]


def test_other_machines_or_gathers_without_identity_are_not_grouped():
    results = {"a": gathered("1g", ("/c/config.yaml", "7")), "b": gathered("1g"), "c": gathered("1g")}
    results["c"]["file_identity"] = {"machine": "m2", "path": "/c/config.yaml", "inode": "7"}
    out = enforce.prepare(results, POLICY, list(results))
    assert out["shared"] == {} and out["warnings"] == [] and out["run_on"] == ["a", "b", "c"]


def test_hosts_with_one_identity_and_different_plans_are_refused_naming_both_and_the_file():
    results = {"jm": gathered("1g", ("/c/config.yaml", "7"), ("jobmanager",)),
               "tm": gathered("1g", ("/c/config.yaml", "7"))}
    with pytest.raises(enforce.EnforceError) as err:
        enforce.prepare(results, POLICY, list(results))
    assert str(err.value).startswith("Nothing written: the hosts jm and tm resolve to one file, /c/config.yaml, "
                                     "but their plans give it different settings (groups jobmanager and taskmanager)")
    assert "1600m" not in str(err.value) and "2g" not in str(err.value)  # names, never values


def test_a_host_left_out_for_a_shared_file_gets_the_writers_status_and_restart():
    results = {"tm1": {"changed": True, "restart_required": True, "config_file": "/c/config.yaml",
                       "changes": [{"action": "update", "key": "k", "before": "1", "after": "2"}]}}
    shared = {"tm2": {"writer": "tm1", "file": "/c/config.yaml"}}
    out = enforce.outcome(results, ["tm1"], ["tm1"], ["tm1"], confirmed=True, planned=True, shared=shared)
    assert out["restart_hosts"] == ["tm1", "tm2"]
    assert out["summary"]["changed"] == ["tm1", "tm2"]
    assert "tm2: changed /c/config.yaml (the same file as tm1, written by it)" in out["lines"]


def test_a_host_whose_writer_failed_is_failed_naming_the_writer():
    out = enforce.outcome({"tm1": {"failed": True, "msg": "tm1: boom"}}, ["tm1"], [], [], confirmed=True,
                          shared={"tm2": {"writer": "tm1", "file": "/c/config.yaml"}})
    assert out["summary"]["failures"]["tm2"] == "/c/config.yaml is written by tm1, the host sharing it, which failed"
    assert out["restart_hosts"] == []
