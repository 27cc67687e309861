"""Issue 15.4, second half, with the real ``ansible-playbook flinkops.flink.enforce`` on real files: a key
Flink does not read that is already in a file (``jobmanager.memory.off-heap.szie``) is reported as still
there and the host as not compliant; nothing is written for it; the enforce_remove run the summary gives
removes it, and then every host is compliant.

A JobManager (1.20.5, flink-conf.yaml, with the misspelled key), a TaskManager on 1.20.5 and one on 2.3.0
(config.yaml), local connections, each with its own flink_home. A last play dumps what the role published
on localhost (flink_enforce_summary) and each host's flink_enforce_status.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
TYPO = "jobmanager.memory.off-heap.szie"
FILES = {
    "jm": ("1.20.5", "flink-conf.yaml", f"jobmanager.memory.process.size: 1600m\n{TYPO}: 128m\n"),
    "tm1": ("1.20.5", "flink-conf.yaml", "taskmanager.memory.process.size: 1728m\ntaskmanager.numberOfTaskSlots: 2\n"),
    "tm2": ("2.3.0", "config.yaml",
            "taskmanager:\n  memory:\n    process:\n      size: 1728m\n  numberOfTaskSlots: 2\n"),
}
DUMP = """
- name: Dump what the role published
  hosts: all
  gather_facts: false
  tasks:
    - name: On localhost
      check_mode: false
      ansible.builtin.copy:
        dest: "{{ dump_dir }}/published.json"
        mode: "0644"
        content: >-
          {{ {'summary': hostvars['localhost'].flink_enforce_summary | default(None),
              'status': dict(ansible_play_hosts_all | zip(ansible_play_hosts_all
                             | map('extract', hostvars, 'flink_enforce_status') | map('default', None)))}
             | to_json }}
      delegate_to: localhost
      run_once: true
"""
PLAY = "- name: Enforce\n  ansible.builtin.import_playbook: flinkops.flink.enforce\n" + DUMP


@pytest.fixture()
def fleet():
    base = Path(tempfile.mkdtemp(prefix="flinkops-unread-"))
    groups = {"flink_jobmanager": {"hosts": {}}, "flink_taskmanager": {"hosts": {}}}
    for host, (version, name, text) in FILES.items():
        home = base / host / "flink"
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
        (home / "conf" / name).write_text(text)
        groups["flink_jobmanager" if host == "jm" else "flink_taskmanager"]["hosts"][host] = {"flink_home": str(home)}
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         "children": groups}}
    (base / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (base / "play.yml").write_text(PLAY)
    yield base
    shutil.rmtree(base)


def files_of(base: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(base.glob("*/flink/conf/*.yaml"))}


def run(base: Path, env: dict, *args: str, playbook: str | None = None):
    cmd = [ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), playbook or str(base / "play.yml"),
           "-e", json.dumps({"dump_dir": str(base)}), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(base), timeout=600, check=False,
                          env=dict(env, ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp")))
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def published(base: Path) -> dict:
    path = base / "published.json"
    data = json.loads(path.read_text())
    path.unlink()
    return data


def test_a_misspelled_key_in_a_file_is_reported_still_there_and_the_given_removal_removes_it(fleet, ansible_env):
    before = files_of(fleet)
    # a policy that every file holds: the hosts are not contacted; the JobManager's gather shows the key
    policy = {"jobmanager": {"process_size": "keep"}, "taskmanager": {"process_size": "1728m"}}
    proc = run(fleet, ansible_env, "-e", json.dumps({"enforce_policy": policy, "enforce_confirm": True}))
    assert files_of(fleet) == before  # nothing written for it
    got = published(fleet)
    summary = got["summary"]
    assert got["status"]["jm"] == "not compliant", proc.stdout[-4000:]
    assert summary["not_compliant"] == ["jm"] and sorted(summary["compliant"]) == ["tm1", "tm2"]
    assert [(k["key"], k["line"], k["code"]) for k in summary["unknown_keys"]["jm"]] == [(TYPO, 2, "unknown-key")]
    assert "Did you mean 'jobmanager.memory.off-heap.size'" in summary["unknown_keys"]["jm"][0]["fix"]
    out = " ".join(proc.stdout.split())
    assert "Written: 0 changed, 0 would change, 2 compliant, 1 not compliant, 0 failed." in out
    assert re.search(r"jm: not compliant \S+/jm/flink/conf/flink-conf\.yaml; still in the file, nothing written "
                     rf"for it \(remove it with enforce_remove\): {re.escape(TYPO)} \(line 2\): Flink 1\.20 has no "
                     "option", out), out[-4000:]
    assert "3 compliant" not in out

    # explicit settings the JobManager already holds: its file is read by flink_config, the key is still there
    proc = run(fleet, ansible_env, "-e", json.dumps({
        "enforce_settings": {"jobmanager": {"jobmanager.memory.process.size": "1600m"}}, "enforce_confirm": True}))
    assert files_of(fleet) == before
    got = published(fleet)
    assert got["status"] == {"jm": "not compliant", "tm1": "not planned", "tm2": "not planned"}, proc.stdout[-4000:]
    assert [k["key"] for k in got["summary"]["unknown_keys"]["jm"]] == [TYPO]

    # the removal the summary gives, run as it is written (the inventory put in)
    command = re.search(r"ansible-playbook -i <inventory> (flinkops\.flink\.enforce .*?-e enforce_confirm=true)",
                        proc.stdout.replace('\\"', '"'))
    assert command, proc.stdout[-4000:]
    args = shlex.split(command.group(1))
    assert args[:3] == ["flinkops.flink.enforce", "--limit", "jm"]
    removal = run(fleet, ansible_env, *args[1:], playbook=args[0])
    jm_file = fleet / "jm" / "flink" / "conf" / "flink-conf.yaml"
    assert jm_file.read_text() == "jobmanager.memory.process.size: 1600m\n", removal.stdout[-3000:]
    assert "Written: 1 changed, 0 would change, 0 compliant, 0 failed. Restart needed on: jm." in removal.stdout
    assert {p: b for p, b in files_of(fleet).items() if p != jm_file} == {p: b for p, b in before.items()
                                                                           if p != jm_file}

    # and now the fleet is compliant
    proc = run(fleet, ansible_env, "-e", json.dumps({"enforce_policy": policy, "enforce_confirm": True}))
    got = published(fleet)
    assert sorted(got["summary"]["compliant"]) == ["jm", "tm1", "tm2"] and got["summary"]["unknown_keys"] == {}
    assert "Written: 0 changed, 0 would change, 3 compliant, 0 failed. Restart needed on: none." in proc.stdout
