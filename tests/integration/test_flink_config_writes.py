"""flink_config's write on the host, with the real ansible-playbook over local hosts: what it reports
when the path holds a ``$VAR`` (issue 13.3), when two inventory hosts share one file (13.8), and when
the host's Python cannot run (15.6); module_defaults through the action groups and the refusal of the
internal write options (12.4).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))

PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: Set the TaskManager size
      flinkops.flink.flink_config:
        flink_home: "{{ flink_home }}"
        settings: {taskmanager.memory.process.size: 4g}
      register: written
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ written | to_json }}"
        dest: "{{ result_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
"""


def _home(base: Path, version: str = "2.3.0", body: bytes = b"taskmanager.memory.process.size: 2g\n") -> Path:
    home = base / "flink"
    (home / "lib").mkdir(parents=True)
    (home / "conf").mkdir()
    (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
    (home / "conf" / "config.yaml").write_bytes(body)
    return home


def _play(tmp_path: Path, env: dict, hosts: dict, play: str = PLAY, forks: int = 4):
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    inventory = {"all": {"vars": {"ansible_connection": "local", "result_dir": str(results)},
                         "children": {"flink_taskmanager": {"hosts": hosts}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(play)
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml")],
                          capture_output=True, text=True, env=dict(env, ANSIBLE_FORKS=str(forks)), timeout=300,
                          check=False)
    return proc, {p.stem: json.loads(p.read_text()) for p in results.glob("*.json")}


def _size(home: Path) -> str:
    conf = home / "conf" / "config.yaml"
    return parse_config_yaml(conf.read_bytes(), str(conf)).config["taskmanager.memory.process.size"]


def test_a_dollar_in_the_path_is_written_and_reported_as_written(tmp_path, ansible_env):
    """A directory literally named ``inj $HOME``: the write happens and the task says so (changed,
    restart_required), instead of failing after the write because Ansible expanded ``$HOME`` in a returned
    ``path`` and could not stat it."""
    home = _home(tmp_path / "inj $HOME")
    proc, results = _play(tmp_path, ansible_env, {"tm1": {"flink_home": str(home)}})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert _size(home) == "4g"
    got = results["tm1"]
    assert (got["changed"], got["restart_required"], got.get("failed", False)) == (True, True, False)
    assert got["config_file"] == str(home / "conf" / "config.yaml")


BARRIER = """#!/bin/sh
# both hosts have read the file before either starts Python to write it: a real race, every time
touch "{dir}/$$"
i=0
while [ "$(ls "{dir}" | wc -l)" -lt 2 ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
exec {python} "$@"
"""


def test_two_hosts_sharing_one_file_both_succeed_and_the_run_says_so(tmp_path, ansible_env):
    """Two inventory hosts with one conf dir and the same settings: both read the old file, the first
    writes, the second finds the file already holding its target: ok, not 'the file changed since it was
    read', and a warning says that another writer (another host resolving to this file) wrote it."""
    home = _home(tmp_path / "shared")
    gate = tmp_path / "barrier"
    gate.mkdir()
    python = tmp_path / "python"
    python.write_text(BARRIER.format(dir=gate, python=sys.executable))
    python.chmod(0o755)
    hosts = {name: {"flink_home": str(home), "ansible_python_interpreter": str(python)} for name in ("tm1", "tm2")}
    env = {k: v for k, v in ansible_env.items() if k != "ANSIBLE_PYTHON_INTERPRETER"}
    proc, results = _play(tmp_path, env, hosts)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert len(list(gate.iterdir())) == 2  # both hosts really reached the write
    assert _size(home) == "4g"
    assert not any(r.get("failed") for r in results.values()), results
    assert sorted(r["changed"] for r in results.values()) == [False, True]
    second = next(r for r in results.values() if not r["changed"])
    assert second["restart_required"] is False
    assert any("another writer" in w and "resolve to this one file" in w for w in second["warnings"]), second
    assert "resolve to this one file" in proc.stdout + proc.stderr  # the run shows the warning


def test_a_broken_interpreter_shows_its_own_error(tmp_path, ansible_env):
    """Ansible picked a python3.13 shim that exits 127: the message carries the shim's stderr and says the
    write needs Python on the host, not only 'No start of json char found'."""
    home = _home(tmp_path / "h")
    shim = tmp_path / "python3.13"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.13: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    env = {k: v for k, v in ansible_env.items() if k != "ANSIBLE_PYTHON_INTERPRETER"}
    proc, results = _play(tmp_path, env, {"tm1": {"flink_home": str(home), "ansible_python_interpreter": str(shim)}},
                          play=PLAY.replace("register: written", "register: written\n      ignore_errors: true"))
    got = results["tm1"]
    assert got["failed"] is True and got["changed"] is False
    assert got["msg"].startswith("tm1: ")
    assert "pyenv: python3.13: command not found" in got["msg"]
    assert "rc 127" in got["msg"] and "Python" in got["msg"] and "ansible_python_interpreter" in got["msg"]
    assert _size(home) == "2g"


def test_module_defaults_carry_the_host_and_rest_options_through_the_action_groups(tmp_path, ansible_env):
    home = _home(tmp_path / "h")
    play = """- hosts: all
  gather_facts: false
  module_defaults:
    group/flinkops.flink.host:
      flink_home: "{{ flink_home }}"
    group/flinkops.flink.rest:
      url: http://127.0.0.1:9/
      timeout: 2
  tasks:
    - name: Gather with the group's flink_home
      flinkops.flink.flink_config_info:
      register: gathered
    - name: Write with the group's flink_home
      flinkops.flink.flink_config:
        settings: {taskmanager.memory.process.size: 4g}
      register: written
    - name: Ask the REST API at the group's url (nothing listens on port 9)
      flinkops.flink.flink_cluster_info:
      register: rest
      ignore_errors: true
    - name: Keep the results
      ansible.builtin.copy:
        content: "{{ {'gathered': gathered, 'written': written, 'rest': rest} | to_json }}"
        dest: "{{ result_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
"""
    proc, results = _play(tmp_path, ansible_env, {"tm1": {"flink_home": str(home)}}, play=play)
    assert proc.returncode == 0, proc.stdout[-3000:]
    got = results["tm1"]
    assert got["gathered"]["config"]["taskmanager.memory.process.size"] == "2g"
    assert got["written"]["changed"] is True and _size(home) == "4g"
    assert got["rest"]["failed"] is True and "127.0.0.1:9" in got["rest"]["msg"]


def test_the_internal_write_options_are_refused_from_a_playbook(tmp_path, ansible_env):
    home = _home(tmp_path / "h")
    play = PLAY.replace("settings: {taskmanager.memory.process.size: 4g}",
                        "settings: {taskmanager.memory.process.size: 4g}\n        _content: eA==").replace(
        "register: written", "register: written\n      ignore_errors: true")
    proc, results = _play(tmp_path, ansible_env, {"tm1": {"flink_home": str(home)}}, play=play)
    got = results["tm1"]
    assert got["failed"] is True and "_content" in got["msg"] and "set by the action plugin itself" in got["msg"]
    assert _size(home) == "2g"
