"""The enforce playbook and role with the real ansible-playbook over local hosts.

A JobManager and two TaskManagers on different Flink lines and formats (the files Flink ships, with
drift added), and a host whose config.yaml Flink refuses (so the plan skips it). A last play dumps
what the role published (per-host facts, and the restart list on localhost) to a JSON file.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "oracle"))
import flink_home  # noqa: E402 -- sibling test helper (fetches the shipped conf files)

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf  # noqa: E402
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml  # noqa: E402

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
POLICY = {"taskmanager": {"process_size": "2g", "slots": 2, "managed_fraction": "0.4"},
          "jobmanager": {"process_size": "1600m"}}

DUMP = """
- name: Dump what the role published, per host and on localhost
  hosts: all
  gather_facts: false
  tasks:
    - name: Per host
      ansible.builtin.copy:
        dest: "{{ dump_dir }}/{{ inventory_hostname }}.json"
        mode: "0644"
        content: >-
          {{ {'flink_restart_required': flink_restart_required | default(None),
              'flink_enforce_status': flink_enforce_status | default(None),
              'flink_enforce_changes': flink_enforce_changes | default(None)} | to_json }}
      delegate_to: localhost
    - name: On localhost
      ansible.builtin.copy:
        dest: "{{ dump_dir }}/localhost.json"
        mode: "0644"
        content: >-
          {{ {'restart_hosts': hostvars['localhost'].flink_restart_hosts | default(None),
              'summary': hostvars['localhost'].flink_enforce_summary | default(None)} | to_json }}
      delegate_to: localhost
      run_once: true
"""
PLAY = "- name: Enforce\n  ansible.builtin.import_playbook: flinkops.flink.enforce\n" + DUMP


@pytest.fixture(scope="module")
def fleet():
    base = Path(tempfile.mkdtemp(prefix="flinkops-enforce-"))
    shipped17 = flink_home.shipped_config("1.17.2")[1]
    shipped23 = flink_home.shipped_config("2.3.0")[1]
    files = {
        "jm": ("1.20.5", {"flink-conf.yaml": b"# JM\njobmanager.memory.process.size: 1600m\n"
                                             b"jobmanager.memory.managed.fraction: 0.2\n"}),
        "tm1": ("1.17.2", {"flink-conf.yaml": shipped17 + b"taskmanager.memory.managed.fraction: 0.1\n"}),
        "tm2": ("2.3.0", {"config.yaml": shipped23}),
        "broken": ("2.3.0", {"config.yaml": b"taskmanager:\n  memory: [1,\n"}),
    }
    hosts = {}
    for name, (version, conf) in files.items():
        home = base / name / "flink"
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
        for fname, data in conf.items():
            (home / "conf" / fname).write_bytes(data)
        hosts[name] = {"flink_home": str(home)}
    inventory = {"all": {"vars": {"ansible_connection": "local"}, "children": {
        "flink_jobmanager": {"hosts": {"jm": hosts["jm"]}},
        "flink_taskmanager": {"hosts": {h: hosts[h] for h in ("tm1", "tm2", "broken")}},
        "tm_extra": {"hosts": {"tm2": None}},
    }}}
    (base / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (base / "play.yml").write_text(PLAY)
    yield base, hosts
    shutil.rmtree(base)


def run(base: Path, env: dict, name: str, extra: dict, *args: str):
    dump = base / f"dump-{name}"
    dump.mkdir()
    extra = dict(extra, dump_dir=str(dump))
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), str(base / "play.yml"),
                           "-e", json.dumps(extra), *args], capture_output=True, text=True,
                          env=dict(env, ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp")), timeout=600, check=False)
    published = None
    if (dump / "localhost.json").exists():
        published = json.loads((dump / "localhost.json").read_text())
        published["hosts"] = {p.stem: json.loads(p.read_text()) for p in dump.glob("*.json") if p.stem != "localhost"}
    return proc, published


def files_of(base: Path) -> dict:
    return {p: p.read_bytes() for p in base.rglob("*.yaml") if "conf" in p.parts}


def config_of(hosts: dict, host: str) -> dict:
    conf = Path(hosts[host]["flink_home"]) / "conf"
    if (conf / "flink-conf.yaml").exists():
        return parse_flink_conf((conf / "flink-conf.yaml").read_bytes(), "x").config
    return parse_config_yaml((conf / "config.yaml").read_bytes(), "x").config


@pytest.fixture(scope="module")
def unconfirmed(fleet, ansible_env):
    base = fleet[0]
    before = files_of(base)
    proc, published = run(base, ansible_env, "unconfirmed", {"enforce_policy": POLICY})
    return proc, published, before, files_of(base)


def test_without_confirmation_only_a_diff_is_shown(unconfirmed):
    proc, published, before, after = unconfirmed
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert before == after
    assert "+taskmanager.memory.process.size: 2g" in proc.stdout  # the diff of the 1.17 file
    assert "-jobmanager.memory.managed.fraction: 0.2" in proc.stdout
    assert "Check mode (enforce_confirm is false), nothing written" in proc.stdout
    assert published["restart_hosts"] == []
    assert sorted(published["summary"]["would_change"]) == ["jm", "tm1", "tm2"]
    assert published["hosts"]["broken"]["flink_enforce_status"] == "not planned"
    assert "broken: not planned (the plan does not cover this host)" in proc.stdout


@pytest.fixture(scope="module")
def confirmed(fleet, ansible_env, unconfirmed):
    base = fleet[0]
    return run(base, ansible_env, "confirmed", {"enforce_policy": POLICY, "enforce_confirm": True})


def test_confirmed_run_applies_the_plan_uniformly_and_publishes_restarts(fleet, confirmed):
    hosts = fleet[1]
    proc, published = confirmed
    assert proc.returncode == 0, proc.stdout[-3000:]
    for tm in ("tm1", "tm2"):
        config = config_of(hosts, tm)
        assert config["taskmanager.memory.process.size"] == "2g", tm
        assert config["taskmanager.numberOfTaskSlots"] == "2", tm
        assert config["taskmanager.memory.managed.fraction"] == "0.4", tm
    jm = config_of(hosts, "jm")
    assert "jobmanager.memory.managed.fraction" not in jm and jm["jobmanager.memory.process.size"] == "1600m"
    assert sorted(published["restart_hosts"]) == ["jm", "tm1", "tm2"]
    for host in ("jm", "tm1", "tm2"):
        facts = published["hosts"][host]
        assert facts["flink_restart_required"] is True and facts["flink_enforce_status"] == "changed", host
        assert facts["flink_enforce_changes"], host
    assert published["hosts"]["broken"]["flink_restart_required"] is False
    assert "tm1: changed" in proc.stdout and "update taskmanager.memory.managed.fraction 0.1 -> 0.4" in proc.stdout
    assert "Restart needed on: jm, tm1, tm2" in proc.stdout


def test_second_confirmed_run_changes_nothing(fleet, ansible_env, confirmed):
    base = fleet[0]
    before = files_of(base)
    proc, published = run(base, ansible_env, "again", {"enforce_policy": POLICY, "enforce_confirm": True})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert files_of(base) == before
    assert published["restart_hosts"] == [] and sorted(published["summary"]["compliant"]) == ["jm", "tm1", "tm2"]
    task = proc.stdout.split("Set and remove the keys in the file Flink reads", 1)[1].split("TASK [", 1)[0]
    assert "changed:" not in task and task.count("ok: [") == 3, task


def test_explicit_settings_per_group_with_a_clash_and_a_refused_plan(fleet, ansible_env, confirmed):
    base, hosts = fleet
    extra = {
        "enforce_confirm": True,
        "enforce_settings": {
            "all": {"parallelism.default": 3},
            "taskmanager": {"taskmanager.memory.jvm-metaspace.size": "384m"},
            "tm_extra": {"parallelism.default": 5},  # tm2 is also in tm_extra: a clash
            "jobmanager": {"jobmanager.memory.process.size": "300m"},  # Flink refuses it
        },
        "enforce_remove": {"taskmanager": ["taskmanager.memory.managed.fraction"]},
    }
    jm_before = config_of(hosts, "jm")
    tm2_before = config_of(hosts, "tm2")
    proc, published = run(base, ansible_env, "settings", extra)
    assert proc.returncode == 2  # some hosts failed
    tm1 = config_of(hosts, "tm1")
    assert tm1["parallelism.default"] == "3" and tm1["taskmanager.memory.jvm-metaspace.size"] == "384m"
    assert "taskmanager.memory.managed.fraction" not in tm1
    assert config_of(hosts, "tm2") == tm2_before and config_of(hosts, "jm") == jm_before
    assert "tm2: the groups" in proc.stdout and "different values for parallelism.default" in proc.stdout
    assert "would not start the jobmanager" in proc.stdout
    assert published["restart_hosts"] == ["tm1"]
    # broken's file is one Flink refuses: there is nothing safe to edit
    assert sorted(published["summary"]["failed"]) == ["broken", "jm", "tm2"]
    assert "broken: " in proc.stdout and "config.yaml line" in proc.stdout


def test_role_needs_one_thing_to_enforce(fleet, ansible_env):
    base = fleet[0]
    proc = run(base, ansible_env, "nothing", {"enforce_plan": {}, "enforce_settings": {}})[0]
    assert proc.returncode != 0
    assert "needs either enforce_plan" in proc.stdout
