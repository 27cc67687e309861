"""flinkops.flink.flink_config with the real ansible-playbook over local hosts.

Every host has its own Flink home (the shipped flink-conf.yaml of 1.17 or config.yaml of 2.3, and
hand-written files). Each host's Python interpreter is a small wrapper that logs every start: the
test can tell that a host already compliant runs no Python at all. One wrapper also changes the
config file before starting Python -- a concurrent edit between the controller's read and the write.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
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
SECRET = "Hunter2SecretValue"
NEW_SECRET = "N3wS3cretValue"

RECORDER = """
import json, os
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = True

    def _save(self, result, failed):
        res = getattr(result, "result", None) or result._result
        host = getattr(result, "host", None) or result._host
        task = getattr(result, "task", None) or result._task
        if task.action != "flinkops.flink.flink_config":
            return
        out = os.path.join(os.environ["RECORD_DIR"], host.get_name())
        with open(out, "w") as f:
            json.dump({"failed": failed, "result": res}, f, default=str)

    def v2_runner_on_ok(self, result):
        self._save(result, False)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._save(result, True)
"""

PLAY = """- hosts: all
  gather_facts: false
  tasks:
    - name: Enforce the settings
      flinkops.flink.flink_config:
        flink_home: "{{ flink_home }}"
        settings: "{{ edit_settings }}"
        remove: "{{ edit_remove | default([]) }}"
        backup: true
        allow_unknown_keys: "{{ allow_unknown | default(false) }}"
        follow_symlinks_outside_conf_dir: "{{ follow_links | default(false) }}"
"""

TM_PLAN = {"taskmanager.memory.process.size": "4g", "taskmanager.numberOfTaskSlots": "4",
           "taskmanager.memory.managed.fraction": "0.3"}


def _wrapper(path: Path, log: Path, before: str = "") -> Path:
    path.write_text(f"#!/bin/sh\n{before}echo start >> {log}\nexec {sys.executable} \"$@\"\n")
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def fleet():
    base = Path(tempfile.mkdtemp(prefix="flinkops-write-"))
    hosts = {}

    def add(name, version, files, settings, remove=(), **hostvars):
        home = base / name / "flink"
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
        for fname, data in files.items():
            (home / "conf" / fname).write_bytes(data)
        log = base / name / "python.log"
        log.touch()
        hostvars.setdefault("ansible_python_interpreter", str(_wrapper(base / name / "python", log)))
        hosts[name] = {"flink_home": str(home), "edit_settings": settings, "edit_remove": list(remove), **hostvars}
        return home

    shipped17 = flink_home.shipped_config("1.17.2")[1]
    shipped23 = flink_home.shipped_config("2.3.0")[1]
    add("legacy117", "1.17.2", {"flink-conf.yaml": shipped17 + f"s3.secret-key: {SECRET}\n".encode()},
        {**TM_PLAN, "s3.secret-key": NEW_SECRET}, ["jobmanager.memory.process.size"])
    home = add("yaml23", "2.3.0", {"config.yaml": shipped23}, TM_PLAN, ["jobmanager.memory.process.size"])
    conf = home / "conf" / "config.yaml"
    os.chown(conf, 65534, 65534)  # nobody:nogroup, as a Flink user's file would be
    conf.chmod(0o640)
    # a config.yaml shared through a link out of the conf dir: edited only when asked to
    home = add("link21", "2.1.3", {}, {"taskmanager.memory.process.size": "3g"}, follow_links=True)
    target = base / "link21" / "shared-config.yaml"
    target.write_bytes(b"# shared\ntaskmanager.memory.process.size: 2g\n")
    (home / "conf" / "config.yaml").symlink_to(target)
    add("compliant20", "2.0.2", {"config.yaml": b"taskmanager.memory.process.size: 4g\n"},
        {"taskmanager.memory.process.size": "4g"}, ["taskmanager.memory.flink.size"])
    home = add("racer23", "2.3.0", {"config.yaml": b"taskmanager.memory.process.size: 2g\n"},
               {"taskmanager.memory.process.size": "4g"})
    race_log = base / "racer23" / "python.log"
    hosts["racer23"]["ansible_python_interpreter"] = str(_wrapper(
        base / "racer23" / "python", race_log,
        before=f"echo 'rest.port: 9999' >> {home}/conf/config.yaml\n"))
    add("badplan119", "1.19.3", {"config.yaml": b"taskmanager.memory.process.size: 1728m\n"},
        {"taskmanager.memory.process.size": "512m"})  # too small for the fixed parts: Flink refuses
    add("typo118", "1.18.1", {"flink-conf.yaml": b"taskmanager.memory.process.size: 1728m\n"},
        {"taskmanager.memory.managed.fration": "0.3"})
    add("hashvalue118", "1.18.1", {"flink-conf.yaml": b"a: 1\n"}, {"security.ssl.keystore-password": "ab#cd"})

    inventory = {"all": {"vars": {"ansible_connection": "local"}, "hosts": hosts,
                         "children": {"flink_taskmanager": {"hosts": {h: None for h in hosts}}}}}
    (base / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (base / "play.yml").write_text(PLAY)
    callbacks = base / "callbacks"
    callbacks.mkdir()
    (callbacks / "record.py").write_text(RECORDER)
    yield base, hosts
    shutil.rmtree(base)


def run(base: Path, env: dict, *extra: str, name: str, extra_vars: dict | None = None):
    tree = base / f"tree-{name}"
    tree.mkdir()
    env = dict(env, ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp"), ANSIBLE_FORKS="8",
               ANSIBLE_CALLBACK_PLUGINS=str(base / "callbacks"), ANSIBLE_CALLBACKS_ENABLED="record",
               RECORD_DIR=str(tree))
    env.pop("ANSIBLE_PYTHON_INTERPRETER", None)  # each host has its own logging wrapper
    args = [ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), str(base / "play.yml"), *extra]
    if extra_vars:
        args += ["-e", json.dumps(extra_vars)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600, check=False)
    results = {}
    for p in tree.iterdir():
        record = json.loads(p.read_text())
        results[p.name] = dict(record["result"], failed=record["failed"])
    return proc, results


def snapshot(base: Path) -> dict:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in base.rglob("*.yaml")
            if p.is_file() and "tree-" not in str(p) and p.name != "inventory.yml"}


def starts(base: Path, host: str) -> int:
    return len((base / host / "python.log").read_text().splitlines())


def read_config(path: Path, fmt: str) -> dict:
    parse = parse_flink_conf if fmt == "legacy" else parse_config_yaml
    return parse(path.read_bytes(), str(path)).config


GOOD = ("legacy117", "yaml23", "link21", "compliant20", "typo118")
BAD = ("racer23", "badplan119", "hashvalue118")


@pytest.fixture(scope="module")
def check_run(fleet, ansible_env):
    base = fleet[0]
    before = snapshot(base)
    proc, results = run(base, ansible_env, "--check", "--diff", name="check")
    return proc, results, before, snapshot(base)


def test_check_mode_writes_nothing_runs_no_python_and_shows_a_redacted_diff(fleet, check_run):
    base, hosts = fleet
    proc, results, before, after = check_run
    assert before == after
    assert set(results) == set(hosts), proc.stdout[-2000:]
    assert all(starts(base, h) == 0 for h in hosts), "check mode must not start Python on any host"
    for host in ("legacy117", "yaml23", "link21", "typo118", "racer23"):
        assert results[host]["changed"] is True and results[host]["restart_required"] is False, host
    assert results["compliant20"]["changed"] is False
    diff = results["legacy117"]["diff"]
    assert "-taskmanager.memory.process.size: 1728m" not in diff["before"]  # whole texts, not a patch
    assert "s3.secret-key: ******" in diff["before"] and "s3.secret-key: ******" in diff["after"]
    text = proc.stdout + proc.stderr + json.dumps(results)
    assert SECRET not in text and NEW_SECRET not in text
    assert "+taskmanager.memory.process.size: 4g" in proc.stdout  # --diff prints the patch
    # the bad ones are refused already in check mode, with the reason
    assert results["badplan119"]["failed"] and "would not start the taskmanager" in results["badplan119"]["msg"]
    assert results["hashvalue118"]["failed"] and "holds '#'" in results["hashvalue118"]["msg"]


@pytest.fixture(scope="module")
def real_run(fleet, ansible_env, check_run):
    base = fleet[0]
    before = snapshot(base)
    stats = {p: p.stat() for p in before}
    proc, results = run(base, ansible_env, "-vvv", name="real")
    return proc, results, before, stats


def test_writes_the_edit_keeping_owner_mode_comments_and_links(fleet, real_run):
    base, hosts = fleet
    proc, results, before, stats = real_run
    assert {h for h, r in results.items() if r["failed"]} == set(BAD), {h: r.get("msg") for h, r in results.items()}
    for host in ("legacy117", "yaml23", "link21", "typo118"):
        r = results[host]
        assert r["changed"] is True and r["restart_required"] is True, host
        assert Path(r["backup_file"]).is_file(), host
    conf = Path(hosts["yaml23"]["flink_home"]) / "conf" / "config.yaml"
    st = conf.stat()
    old = stats[conf]
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (old.st_uid, old.st_gid, 0o640)
    config = read_config(conf, "yaml")
    assert {k: config[k] for k in TM_PLAN} == TM_PLAN and "jobmanager.memory.process.size" not in config
    new_text = conf.read_text()
    old_text = before[conf][0].decode()
    for line in old_text.splitlines():
        if line.lstrip().startswith("#"):
            assert line.strip() in new_text  # every comment of the shipped file
    assert Path(results["yaml23"]["backup_file"]).read_text() == old_text
    legacy = Path(hosts["legacy117"]["flink_home"]) / "conf" / "flink-conf.yaml"
    assert read_config(legacy, "legacy")["s3.secret-key"] == NEW_SECRET
    link = Path(hosts["link21"]["flink_home"]) / "conf" / "config.yaml"
    assert link.is_symlink() and results["link21"]["config_file"] == str(base / "link21" / "shared-config.yaml")
    assert read_config(link, "yaml") == {"taskmanager.memory.process.size": "3g"}
    assert (base / "link21" / "shared-config.yaml").read_text().startswith("# shared\n")


def test_python_starts_only_where_the_file_changes(fleet, real_run):
    base, hosts = fleet
    assert starts(base, "compliant20") == 0
    assert starts(base, "badplan119") == 0 and starts(base, "hashvalue118") == 0  # refused on the controller
    for host in ("legacy117", "yaml23", "link21", "typo118", "racer23"):
        assert starts(base, host) == 1, host


def test_a_file_changed_between_read_and_write_fails_and_writes_nothing(fleet, real_run):
    base, hosts = fleet
    results, before = real_run[1:3]
    r = results["racer23"]
    assert r["failed"] and "changed since it was read" in r["msg"] and r["msg"].startswith("racer23: ")
    conf = Path(hosts["racer23"]["flink_home"]) / "conf" / "config.yaml"
    # only the concurrent writer's line: our edit did not land, nothing half-written
    assert conf.read_bytes() == before[conf][0] + b"rest.port: 9999\n"
    assert not list(conf.parent.glob(".flinkops-*"))  # no temporary file left behind


def test_refused_hosts_keep_their_files(fleet, real_run):
    hosts = fleet[1]
    results, before = real_run[1:3]
    for host in ("badplan119", "hashvalue118"):
        conf_dir = Path(hosts[host]["flink_home"]) / "conf"
        for p in conf_dir.iterdir():
            assert p.read_bytes() == before[p][0], host
    msg = results["badplan119"]["msg"]
    assert msg.startswith("badplan119: ") and "exceed configured Total Flink Memory" in msg
    assert "starts with the current file" in msg


def test_unknown_key_warning_with_did_you_mean(real_run):
    proc, results = real_run[:2]
    warnings = results["typo118"].get("warnings") or []
    assert any("taskmanager.memory.managed.fration" in w and "did you mean 'taskmanager.memory.managed.fraction'" in w
               for w in warnings), warnings
    assert "did you mean" in proc.stderr + proc.stdout


def test_no_secrets_or_tracebacks_at_vvv(real_run):
    proc, results = real_run[:2]
    text = proc.stdout + proc.stderr + json.dumps(results)
    assert SECRET not in text and NEW_SECRET not in text
    assert "Traceback" not in text and "internal error" not in text


def test_second_run_changes_nothing_and_starts_no_python(fleet, ansible_env, real_run):
    base = fleet[0]
    counts = {h: starts(base, h) for h in GOOD}
    before = snapshot(base)
    proc, results = run(base, ansible_env, name="again", extra_vars={"allow_unknown": True})
    for host in GOOD:
        assert results[host]["changed"] is False, (host, results[host].get("msg"))
        assert starts(base, host) == counts[host], host
    assert "did you mean" not in proc.stdout + proc.stderr  # allow_unknown_keys silences the warning
    after = snapshot(base)
    assert {p: v for p, v in after.items() if "racer23" not in str(p)} == \
        {p: v for p, v in before.items() if "racer23" not in str(p)}


def test_bad_arguments_fail_like_a_module(fleet, ansible_env, tmp_path):
    base = fleet[0]
    play = tmp_path / "bad.yml"
    play.write_text("""- hosts: compliant20
  gather_facts: false
  tasks:
    - flinkops.flink.flink_config:
        flink_home: "{{ flink_home }}"
        content: aGk=
      ignore_errors: true
      register: a
    - flinkops.flink.flink_config:
        flink_home: "{{ flink_home }}"
        settings: {a: {nested: map}}
      ignore_errors: true
      register: b
    - flinkops.flink.flink_config:
        flink_home: "{{ flink_home }}"
        settings: {a: "1"}
        remove: [a]
      ignore_errors: true
      register: c
    - ansible.builtin.assert:
        that:
          - a is failed and 'set by the action plugin' in a.msg
          - b is failed and 'give it as a string' in b.msg
          - c is failed and 'both set and removed' in c.msg
""")
    env = dict(ansible_env)
    env.pop("ANSIBLE_PYTHON_INTERPRETER", None)
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), str(play)], capture_output=True,
                          text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "Traceback" not in proc.stdout + proc.stderr
