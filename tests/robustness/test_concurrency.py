"""Two flink_config / enforce runs writing one host's file at once: no corruption, no lost edit.

* The worst interleaving, forced: run A has read and checked the file and waits right before its
  rename; run B starts then. B must not write in that gap (it waits for A's lock, then finds the
  file replaced and fails cleanly), and A's edit is in the file. The same interleaving with the lock
  turned off shows what it prevents: B writes, A renames over it, both say "changed", B's edit is
  lost -- so this test really reaches the gap.
* Real ansible-playbook: two playbook processes at once, each with two hosts that are the same
  file, several tasks each setting its own key (one of them through the enforce role): every
  task that reports success has its key in the final file (applied on top of the winner), every
  task that failed says the file changed and left no trace, and the file parses.
"""

from __future__ import annotations

import base64
import errno
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
from robust_fleet import flink_home, run_playbook, write_inventory

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import edit_flink_conf
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml

HERE = Path(__file__).resolve().parent
OLD = b"# shared\ntaskmanager.memory.process.size: 2g\ns3.secret-key: s\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def driver():
    proc = subprocess.Popen([sys.executable, str(HERE / "write_driver.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)

    def ask(request: dict):
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        assert line, "the write driver died"
        return json.loads(line)

    yield ask
    proc.stdin.close()
    proc.wait(timeout=30)


def race(driver, tmp_path: Path, no_lock: bool):
    conf = tmp_path / "flink-conf.yaml"
    conf.write_bytes(OLD)
    new_a = edit_flink_conf(OLD, "x", {"a.key": "from-a"}).content
    new_b = edit_flink_conf(OLD, "x", {"b.key": "from-b"}).content

    def args(new):  # both read the same old file
        return {"_path": str(conf), "_content": base64.b64encode(new).decode(), "_expected_checksum": sha(OLD),
                "_content_checksum": sha(new), "backup": True}

    a, b = driver({"race": [args(new_a), args(new_b)], "no_lock": no_lock})
    return conf, new_a, new_b, a, b


def test_the_loser_waits_for_the_lock_then_sees_the_file_changed(driver, tmp_path):
    conf, new_a, _, a, b = race(driver, tmp_path, no_lock=False)
    assert a["exit"] == 0 and a["result"]["changed"] is True, a
    assert not b["finished_while_a_waited"], "B must wait for A's lock"
    # B opened the old file before A's rename: its descriptor still holds the old bytes, whose checksum
    # is the one B expects -- only the inode check after the lock tells that the file was replaced
    assert b["exit"] == 1 and "the file changed since it was read (it was replaced)" in b["result"]["msg"], b
    assert str(conf) in b["result"]["msg"] and "Traceback" not in json.dumps(b)
    assert conf.read_bytes() == new_a
    backups = sorted(tmp_path.glob("flink-conf.yaml.*~"))
    assert [p.read_bytes() for p in backups] == [OLD]  # B wrote nothing, not even a backup
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["flink-conf.yaml", backups[0].name])


def test_without_the_lock_the_same_interleaving_loses_an_edit(driver, tmp_path):
    conf, new_a, _, a, b = race(driver, tmp_path, no_lock=True)
    assert b["finished_while_a_waited"] and b["exit"] == 0 and b["result"]["changed"] is True, b
    assert a["exit"] == 0 and a["result"]["changed"] is True, a
    assert conf.read_bytes() == new_a  # B's edit is gone although B reported it written


def one_edit(tmp_path, backup: bool):
    """OLD in a fresh flink-conf.yaml, and the write module's arguments for one edit of it."""
    conf = tmp_path / "flink-conf.yaml"
    conf.write_bytes(OLD)
    new = edit_flink_conf(OLD, "x", {"a.key": "1"}).content
    args = {"_path": str(conf), "_content": base64.b64encode(new).decode(), "_expected_checksum": sha(OLD),
            "_content_checksum": sha(new), "backup": backup}
    return conf, new, args


def test_a_lock_held_too_long_fails_cleanly(driver, tmp_path):
    conf, _new, args = one_edit(tmp_path, backup=True)
    with open(conf, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another writer that never lets go
        r = driver({"args": args, "lock_timeout": 1})
    assert r["exit"] == 1 and "another process kept the file locked for 1 s" in r["result"]["msg"], r
    assert conf.read_bytes() == OLD and sorted(p.name for p in tmp_path.iterdir()) == ["flink-conf.yaml"]


def test_a_file_system_without_locks_still_gets_compare_and_swap(driver, tmp_path):
    conf, new, args = one_edit(tmp_path, backup=False)
    r = driver({"args": args, "flock_errno": errno.ENOLCK})  # NFS without lockd
    assert r["exit"] == 0 and r["result"]["changed"] is True and conf.read_bytes() == new, r
    # the same edit again finds its target in place: nothing to do (issue 13.8), also without locks
    r = driver({"args": args, "flock_errno": errno.ENOLCK})
    assert r["exit"] == 0 and r["result"]["changed"] is False and r["result"]["written_by_another"], r
    other = edit_flink_conf(OLD, "x", {"a.key": "2"}).content  # another edit of the old file: refused
    r = driver({"args": dict(args, _content=base64.b64encode(other).decode(), _content_checksum=sha(other)),
                "flock_errno": errno.ENOLCK})
    assert r["exit"] == 1 and "changed since it was read" in r["result"]["msg"], r
    assert conf.read_bytes() == new


TASKS = """
- hosts: all
  gather_facts: false
  tasks:
{tasks}
"""

TASK = """
    - name: set {n}
      flinkops.flink.flink_config:
        flink_home: "{{{{ flink_home }}}}"
        settings: "{{{{ {{'race.' ~ inventory_hostname ~ '.t{n}': 'v{n}'}} }}}}"
        allow_unknown_keys: true
        backup: true
      ignore_errors: true
"""

ENFORCE = """
    - name: set {n}
      ansible.builtin.include_role:
        name: flinkops.flink.enforce
      vars:
        enforce_settings: "{{{{ {{'all': {{'race.' ~ inventory_hostname ~ '.t{n}': 'v{n}'}}}} }}}}"
        enforce_confirm: true
        enforce_allow_unknown_keys: ["race.*"]
"""

CHANGED = ("the file changed since it was read", "the file changed while being read",
           "changed while the new one was being written")


def test_two_playbooks_at_once_on_one_file(ansible_env):
    base = Path(tempfile.mkdtemp(prefix="flinkops-race-"))
    home = flink_home(base, "shared", "2.3.0", {"config.yaml": b"# shared\ntaskmanager.memory.process.size: 2g\n"})
    conf = home / "conf" / "config.yaml"
    runs = {}
    plays = {
        "p1": TASKS.format(tasks="".join(TASK.format(n=n) for n in range(3))),
        "p2": TASKS.format(tasks="".join(TASK.format(n=n) for n in range(2)) + ENFORCE.format(n=2)),
    }
    for name in plays:
        (base / name).mkdir()
        hosts = {f"{name}{h}": {"flink_home": str(home)} for h in "ab"}
        write_inventory(base / name, hosts, groups={"flink_taskmanager": list(hosts)})

    def play(name):
        runs[name] = run_playbook(base / name, plays[name], ansible_env, name=name, env_extra={"ANSIBLE_FORKS": "2"})

    threads = [threading.Thread(target=play, args=(n,)) for n in plays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    config = parse_config_yaml(conf.read_bytes(), str(conf)).config  # parses: not corrupt
    outcomes = {"ok": 0, "failed": 0}
    for name, run in runs.items():
        # p2's enforce role does not ignore errors: a host that lost the race there fails the play (rc 2)
        assert run.proc.returncode in (0, 2) and "ERROR!" not in run.output, run.output[-3000:]
        for n in range(3):
            if name == "p2" and n == 2:
                records = run.task("flinkops.flink.enforce_Set_and_remove_the_keys_in_the_file_Flink_reads")
            else:
                records = run.task(f"set_{n}")
            for host, record in records.items():
                key = f"race.{host}.t{n}"
                res = record["result"]
                if record["status"] == "ok":
                    assert res["changed"] is True, (key, res)
                    assert config.get(key) == f"v{n}", f"{key}: reported written, missing from the file (lost update)"
                    outcomes["ok"] += 1
                else:
                    assert record["status"] == "failed", (key, record)
                    assert any(m in res["msg"] for m in CHANGED), (key, res["msg"])
                    assert res["msg"].startswith(f"{host}: ") and "Traceback" not in res["msg"]
                    assert key not in config, f"{key}: reported failed, yet in the file"
                    outcomes["failed"] += 1
    assert outcomes["ok"] >= 3 and sum(outcomes.values()) == 12, outcomes  # most edits got in, on top of the others
    leftovers = [p.name for p in conf.parent.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers
    for backup in conf.parent.glob("config.yaml.*~"):
        parse_config_yaml(backup.read_bytes(), str(backup))  # every backup is a whole file
    assert len(list(conf.parent.glob("config.yaml.*~"))) == outcomes["ok"]
    if not os.environ.get("FLINKOPS_KEEP_TMP"):
        shutil.rmtree(base)
