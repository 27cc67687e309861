"""flink_config keeps the newest backups_to_keep backups of a file and prunes the older ones (issue 14.9).

Real ansible-playbook, real files; each write is its own task run, as a rollout run after run does.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

BACKUP = re.compile(r"config\.yaml\.\d+\.\d{4}-\d\d-\d\d@\d\d:\d\d:\d\d~$")


def _write(ansible_env, ansible_bin, tmp_path, conf: Path, values, keep=None):
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"h1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    task = {"flinkops.flink.flink_config": {
        "conf_dir": str(conf), "flink_version": "2.3.0", "processes": ["taskmanager"], "backup": True,
        "settings": {"taskmanager.memory.managed.fraction": "{{ item }}"}}, "loop": list(values)}
    if keep is not None:
        task["flinkops.flink.flink_config"]["backups_to_keep"] = keep
    playbook = tmp_path / "write.yml"
    playbook.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": [task]}]))
    proc = subprocess.run([str(ansible_bin / "ansible-playbook"), "-i", str(inventory), str(playbook)],
                          env=ansible_env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]


def _backups(conf: Path) -> dict:
    return {p.name: p.read_text() for p in conf.iterdir() if BACKUP.match(p.name)}


def test_only_the_newest_backups_are_kept(ansible_env, ansible_bin, tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_text("taskmanager.memory.process.size: 1g\n"
                                      "taskmanager.memory.managed.fraction: '0.10'\n")
    values = ["0.11", "0.12", "0.13", "0.14", "0.15", "0.16", "0.17"]
    _write(ansible_env, ansible_bin, tmp_path, conf, values, keep=2)
    kept = _backups(conf)
    # seven writes, seven backups made: the two newest hold the values before the last two writes
    assert len(kept) == 2, sorted(kept)
    assert sorted(re.search(r"fraction: '?([\d.]+)", t).group(1) for t in kept.values()) == ["0.15", "0.16"]
    assert "0.17" in (conf / "config.yaml").read_text()


def test_five_are_kept_by_default_and_other_files_are_left_alone(ansible_env, ansible_bin, tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_text("taskmanager.memory.process.size: 1g\n")
    (conf / "config.yaml.bak").write_text("mine\n")
    (conf / "flink-conf.yaml.1.2020-01-01@00:00:00~").write_text("another file's backup\n")
    _write(ansible_env, ansible_bin, tmp_path, conf, ["0.21", "0.22", "0.23", "0.24", "0.25", "0.26", "0.27"])
    assert len(_backups(conf)) == 5
    assert (conf / "config.yaml.bak").read_text() == "mine\n"
    assert (conf / "flink-conf.yaml.1.2020-01-01@00:00:00~").is_file()


def _play(ansible_env, ansible_bin, tmp_path, tasks) -> subprocess.CompletedProcess:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"h1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    playbook = tmp_path / "play.yml"
    playbook.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": tasks}]))
    return subprocess.run([str(ansible_bin / "ansible-playbook"), "-i", str(inventory), str(playbook)],
                          env=ansible_env, capture_output=True, text=True, timeout=600, check=False)


def test_restore_from_puts_the_backup_back_byte_for_byte_through_the_writer(ansible_env, ansible_bin, tmp_path):
    """Issue 12.5: the rollback's restore is flink_config's checked write, not cp/mv."""
    conf = tmp_path / "conf"
    conf.mkdir()
    original = ("# kept as it is\ntaskmanager.memory.process.size: \"1g\"   # the size\n"
                "taskmanager.memory.managed.fraction: '0.10'\n")
    (conf / "config.yaml").write_text(original)
    common = {"conf_dir": str(conf), "flink_version": "2.3.0", "processes": ["taskmanager"]}
    proc = _play(ansible_env, ansible_bin, tmp_path, [
        {"flinkops.flink.flink_config": {**common, "backup": True,
                                         "settings": {"taskmanager.memory.managed.fraction": "0.3"}},
         "register": "w"},
        {"flinkops.flink.flink_config": {**common, "restore_from": "{{ w.backup_file }}"}, "register": "r"},
        {"ansible.builtin.assert": {"that": ["r.changed", "r.restart_required",
                                             "r.memory.taskmanager.valid"]}},
        {"flinkops.flink.flink_config": {**common, "restore_from": "{{ w.backup_file }}"}, "register": "again"},
        {"ansible.builtin.assert": {"that": ["not again.changed"]}},
        {"flinkops.flink.flink_config": {**common, "restore_from": "{{ w.backup_file }}",
                                         "settings": {"a": "b"}}, "register": "both", "ignore_errors": True},
        {"ansible.builtin.assert": {"that": ["both.failed", "'give no settings or remove' in both.msg"]}},
    ])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert (conf / "config.yaml").read_text() == original


def test_restore_from_refuses_a_backup_flink_would_not_start(ansible_env, ansible_bin, tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "config.yaml").write_text("taskmanager.memory.process.size: 1g\n")
    bad = conf / "config.yaml.1.2020-01-01@00:00:00~"
    bad.write_text("taskmanager.memory.process.size: 10m\n")
    proc = _play(ansible_env, ansible_bin, tmp_path, [
        {"flinkops.flink.flink_config": {"conf_dir": str(conf), "flink_version": "2.3.0",
                                         "processes": ["taskmanager"], "restore_from": str(bad)},
         "register": "r", "ignore_errors": True},
        {"ansible.builtin.assert": {"that": ["r.failed", "'would not start the taskmanager' in r.msg",
                                             "'nothing was written' in r.msg"]}},
    ])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert (conf / "config.yaml").read_text() == "taskmanager.memory.process.size: 1g\n"
