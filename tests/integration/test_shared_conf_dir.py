"""Two inventory hosts that resolve to one conf dir (issue 13.8), with the real ansible-playbook and the
enforce playbook over local hosts: the gather's file identity (machine, physical path, inode) groups
them; the run warns once naming the hosts and the file, only one of them writes, and plans that would
give the one file different settings are refused before anything is written.
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

from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
POLICY = {"taskmanager": {"process_size": "2g", "slots": 2}, "jobmanager": {"process_size": "1600m"}}
DUMP = """
- name: Dump what the role published
  hosts: all
  gather_facts: false
  tasks:
    - name: Per host
      ansible.builtin.copy:
        dest: "{{ dump_dir }}/{{ inventory_hostname }}.json"
        mode: "0644"
        content: >-
          {{ {'status': flink_enforce_status | default(None), 'restart': flink_restart_required | default(None),
              'wrote': enforce_result is defined and not (enforce_result.skipped | default(false))} | to_json }}
      delegate_to: localhost
"""
PLAY = "- name: Enforce\n  ansible.builtin.import_playbook: flinkops.flink.enforce\n" + DUMP


def _home(base: Path, name: str) -> Path:
    home = base / name / "flink"
    (home / "lib").mkdir(parents=True)
    (home / "conf").mkdir()
    (home / "lib" / "flink-dist-2.3.0.jar").write_bytes(b"")
    (home / "conf" / "config.yaml").write_bytes(b"taskmanager:\n  memory:\n    process:\n      size: 1g\n")
    return home


def _run(base: Path, env: dict, groups: dict, name: str):
    inventory = {"all": {"vars": {"ansible_connection": "local"}, "children": groups}}
    (base / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (base / "play.yml").write_text(PLAY)
    dump = base / f"dump-{name}"
    dump.mkdir()
    extra = {"enforce_policy": POLICY, "enforce_confirm": True, "dump_dir": str(dump)}
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), str(base / "play.yml"),
                           "-e", json.dumps(extra)], capture_output=True, text=True,
                          env=dict(env, ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp")), timeout=600, check=False)
    return proc, {p.stem: json.loads(p.read_text()) for p in dump.glob("*.json")}


@pytest.fixture
def base():
    path = Path(tempfile.mkdtemp(prefix="flinkops-shared-"))
    yield path
    shutil.rmtree(path)


def _size(home: Path) -> str:
    config = parse_config_yaml((home / "conf" / "config.yaml").read_bytes(), "x").config
    return config["taskmanager.memory.process.size"]


def test_two_hosts_on_one_conf_dir_same_plan_one_writes_and_the_run_names_them(base, ansible_env):
    shared = _home(base, "shared")
    alias = base / "alias"
    alias.symlink_to(shared)  # another path to the same directory: the physical path is what counts
    own = _home(base, "own")
    groups = {"flink_taskmanager": {"hosts": {"tm1": {"flink_home": str(shared)}, "tm2": {"flink_home": str(alias)},
                                              "tm3": {"flink_home": str(own)}}}}
    proc, dumped = _run(base, ansible_env, groups, "same")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert _size(shared) == "2g" and _size(own) == "2g"
    file = str(shared.resolve() / "conf" / "config.yaml")
    warned = [line for line in out.splitlines() if "[WARNING]" in line and "resolve to one file" in line]
    assert len(warned) == 1, out[-3000:]  # once for the run
    assert "The hosts tm1, tm2 resolve" in warned[0] and file in warned[0] and "tm3" not in warned[0]
    assert dumped["tm1"]["wrote"] is True and dumped["tm2"]["wrote"] is False and dumped["tm3"]["wrote"] is True
    assert "file changed since it was read" not in out and "another writer" not in out
    # tm2's Flink reads the file tm1 wrote: it is reported changed and needs the restart too
    for host in ("tm1", "tm2", "tm3"):
        assert dumped[host]["status"] == "changed" and dumped[host]["restart"] is True, (host, dumped)
    assert f"tm2: changed {file} (the same file as tm1, written by it)" in out


def test_two_hosts_on_one_conf_dir_with_different_plans_are_refused_naming_both(base, ansible_env):
    shared = _home(base, "shared")
    before = (shared / "conf" / "config.yaml").read_bytes()
    groups = {"flink_jobmanager": {"hosts": {"jm": {"flink_home": str(shared)}}},
              "flink_taskmanager": {"hosts": {"tm": {"flink_home": str(shared)}}}}
    proc, _ = _run(base, ansible_env, groups, "different")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert (shared / "conf" / "config.yaml").read_bytes() == before  # nothing written
    file = str(shared.resolve() / "conf" / "config.yaml")
    assert f"the hosts jm and tm resolve to one file, {file}, but their plans give it different settings" in out, \
        out[-3000:]
    assert "Traceback" not in out
