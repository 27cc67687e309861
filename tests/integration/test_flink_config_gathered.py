"""flink_config's ``gathered``: a host whose gather shows nothing to change is not contacted again.

Real ansible-playbook over local hosts. Each host's shell and Python are wrappers that log every
start, so the test sees which hosts flink_config contacted. Run 1 gathers every host and saves the
results; the test then edits files and ages results; run 2 enforces with those results as
``gathered`` (passed with -e, as a registered variable would be).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))

GATHER = """- hosts: all
  gather_facts: false
  tasks:
    - flinkops.flink.flink_config_info:
        flink_home: "{{ flink_home }}"
      register: gathered
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{ gathered | to_json }}"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
"""

ENFORCE = """- hosts: all
  gather_facts: false
  tasks:
    - flinkops.flink.flink_config:
        flink_home: "{{ flink_home }}"
        conf_dir: "{{ other_conf_dir | default(omit) }}"
        settings: "{{ want }}"
        remove: "{{ drop | default([]) }}"
        gathered: "{{ results[inventory_hostname] }}"
        gathered_max_age: "{{ max_age | default(300) }}"
      register: enforced
      ignore_errors: true
    - ansible.builtin.copy:
        content: "{{ enforced | to_json }}"
        dest: "{{ out_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
      delegate_to: localhost
"""

WANT = {"taskmanager.memory.process.size": "4g", "taskmanager.numberOfTaskSlots": "4"}
HOLDS = b"taskmanager.memory.process.size: 4g\ntaskmanager.numberOfTaskSlots: 4\n"
SECRET = "Hunter2SecretValue"

# host -> (Flink version, file name, content, extra host vars)
HOSTS = {
    "compliant": ("2.3.0", "config.yaml", b"# ours\n" + HOLDS, {}),
    "compliant_legacy": ("1.17.2", "flink-conf.yaml", HOLDS + b"taskmanager.memory.flink.size: 3g\n",
                         {"drop": ["taskmanager.memory.managed.size"]}),
    "edited_after_gather": ("2.3.0", "config.yaml", HOLDS, {}),
    "needs_change": ("2.3.0", "config.yaml", b"taskmanager.memory.process.size: 2g\n", {}),
    "deprecated_spelling": ("1.20.1", "flink-conf.yaml", HOLDS + b"taskmanager.memory.size: 1g\n",
                            {"drop": ["taskmanager.memory.managed.size"]}),
    "stale": ("2.3.0", "config.yaml", HOLDS, {}),
    "secret": ("2.3.0", "config.yaml", HOLDS + f"s3.secret-key: {SECRET}\n".encode(),
               {"want": {**WANT, "s3.secret-key": SECRET}}),
    "skipped_line": ("1.19.3", "flink-conf.yaml", HOLDS + b"no separator here\n", {}),
    "other_conf_dir": ("2.3.0", "config.yaml", HOLDS, {}),
    "gather_failed": ("2.3.0", "config.yaml", b"a: [unclosed\n", {"want": {"a": "1"}}),
}


def _logging(path: Path, real: str, log: Path) -> str:
    path.write_text(f'#!/bin/sh\necho start >> {log}\nexec {real} "$@"\n')
    path.chmod(0o755)
    return str(path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, ansible_env):
    base = tmp_path_factory.mktemp("gathered")
    hosts = {}
    for name, (version, fname, content, extra) in HOSTS.items():
        home = base / name / "flink"
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
        (home / "conf" / fname).write_bytes(content)
        hosts[name] = {"flink_home": str(home), "want": WANT,
                       "ansible_shell_executable": _logging(base / name / "sh", "/bin/sh", base / name / "sh.log"),
                       "ansible_python_interpreter": _logging(base / name / "python", sys.executable,
                                                              base / name / "python.log"),
                       **extra}
    (base / "other").mkdir()
    hosts["other_conf_dir"]["other_conf_dir"] = str(base / "other")
    (base / "other" / "config.yaml").write_bytes(HOLDS)
    inventory = {"all": {"vars": {"ansible_connection": "local"}, "hosts": hosts,
                         "children": {"flink_taskmanager": {"hosts": {h: None for h in hosts}}}}}
    (base / "inventory.yml").write_text(yaml.safe_dump(inventory))
    env = dict(ansible_env, ANSIBLE_LOCAL_TEMP=str(base / "tmp"))
    env.pop("ANSIBLE_PYTHON_INTERPRETER", None)

    def play(text: str, name: str, extra: dict) -> tuple:
        out = base / name
        out.mkdir()
        (base / f"{name}.yml").write_text(text)
        proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), str(base / f"{name}.yml"),
                               "-e", json.dumps({"out_dir": str(out), **extra})],
                              capture_output=True, text=True, env=env, timeout=600, check=False)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        return proc, {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}

    def starts(kind: str) -> dict:
        return {h: len((base / h / f"{kind}.log").read_text().splitlines()) if (base / h / f"{kind}.log").exists()
                else 0 for h in HOSTS}

    _, gathered = play(GATHER, "gather", {})
    # between the gather and the enforce: a hand edit, and a result from long ago
    edited = base / "edited_after_gather" / "flink" / "conf" / "config.yaml"
    edited.write_bytes(edited.read_bytes() + b"rest.port: 9999\n")
    gathered["stale"]["read_at"] = time.time() - 3600
    sh_before, py_before = starts("sh"), starts("python")
    proc, enforced = play(ENFORCE, "enforce", {"results": gathered})
    sh_after, py_after = starts("sh"), starts("python")
    contacted = {h for h in HOSTS if sh_after[h] > sh_before[h] or py_after[h] > py_before[h]}
    return {"gathered": gathered, "enforced": enforced, "contacted": contacted, "proc": proc, "base": base}


def test_the_gather_records_where_and_when_it_read(runs):
    g = runs["gathered"]["compliant"]
    assert g["conf_dir"].endswith("/compliant/flink/conf")
    assert abs(time.time() - g["read_at"]) < 600
    assert runs["gathered"]["gather_failed"].get("failed") is True


def test_compliant_hosts_are_not_contacted(runs):
    for host in ("compliant", "compliant_legacy", "edited_after_gather"):
        r = runs["enforced"][host]
        assert r["read_from"] == "gather" and r["changed"] is False and not r.get("failed"), (host, r)
        assert host not in runs["contacted"], host
        assert r["checksum"] == runs["gathered"][host]["checksum"]
        assert r["memory"]["taskmanager"]["valid"] is True
        assert r["memory"]["taskmanager"]["sizes"] == runs["gathered"][host]["memory"]["taskmanager"]["sizes"]


def test_every_other_host_is_read_and_says_why_the_gather_was_not_used(runs):
    why = {
        "needs_change": "something to change",
        "deprecated_spelling": "something to change",
        "stale": "seconds ago",
        "secret": "something to change",  # the hidden value cannot be compared
        "skipped_line": "lines Flink skips",
        "other_conf_dir": "not " + str(runs["base"] / "other"),
        "gather_failed": "the gather failed",
    }
    for host, reason in why.items():
        r = runs["enforced"][host]
        assert r.get("read_from") == "host" or host == "gather_failed", (host, r)
        assert reason in r["gather_not_used"], (host, r["gather_not_used"])
        assert host in runs["contacted"], host
    assert runs["enforced"]["needs_change"]["changed"] is True
    assert runs["enforced"]["deprecated_spelling"]["changes"] == [
        {"key": "taskmanager.memory.size", "action": "remove", "line": 3, "before": "1g", "after": None}]
    assert runs["enforced"]["secret"]["changed"] is False  # read: the secret already had that value
    assert runs["enforced"]["gather_failed"]["failed"] is True  # the host's file is refused on reading too


def test_the_documented_window_a_hand_edit_after_the_gather_is_not_seen(runs):
    # gathered_max_age bounds this: the hand edit is on disk, the result still shows the gathered map
    r = runs["enforced"]["edited_after_gather"]
    assert "rest.port" not in r["config"]
    path = runs["base"] / "edited_after_gather" / "flink" / "conf" / "config.yaml"
    assert b"rest.port: 9999" in path.read_bytes()


def test_no_secret_in_any_output(runs):
    text = runs["proc"].stdout + runs["proc"].stderr + json.dumps(runs["enforced"]) + json.dumps(runs["gathered"])
    assert SECRET not in text
