"""kill -9 the writing process anywhere in a write: the file is the old or the new one, never partial.

203 trials in all:
* 150 at exact points: the module kills itself at the n-th Python line after its write() began
  (kill_hook.py), n spread over the whole write -- lock, checks, backup, temporary file, fsync, the
  last check, atomic_move before and after the rename, the exit -- with and without backup;
* 50 at wall-clock times: the parent sends SIGKILL at a random moment after write() began, on a
  256 KiB file, so kills also land inside system calls;
* 3 through real ansible-playbook: the host's Python is killed by the same hook inside the module
  Ansible shipped, at a random point before the backup, between backup and rename, and after.
After each kill: the file is byte-for-byte the old or the new version with its owner and mode; a
backup, when one exists, is complete (the old version, owner, mode); nothing else but our own
temporary files is left; and (every fifth trial) a plain re-run finishes the job or refuses
cleanly (no stale lock).
The seed is printed on failure; FLINKOPS_SEED=<n> replays a run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from robust_fleet import flink_home, run_playbook, write_inventory

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import edit_flink_conf

HERE = Path(__file__).resolve().parent
SEED = int(os.environ.get("FLINKOPS_SEED") or random.SystemRandom().randrange(1 << 32))
OWNER, MODE = (65534, 65534), 0o640


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def contents(size: int) -> tuple:
    """An old file of about ``size`` bytes and the new one the legacy editor makes of it."""
    lines = ["# kill-safety fixture", "taskmanager.memory.process.size: 2g", "s3.secret-key: old-secret"]
    i, total = 0, sum(len(x) + 1 for x in lines)
    while total < size:
        lines.append(f"env.java.opts.line{i}: -Dsome.property.{i}=value-{i:06d}")
        total += len(lines[-1]) + 1
        i += 1
    old = ("\n".join(lines) + "\n").encode()
    new = edit_flink_conf(old, "x", {"taskmanager.memory.process.size": "4g", "s3.secret-key": "new-secret",
                                     "taskmanager.numberOfTaskSlots": "4"}, ["env.java.opts.line3"]).content
    assert old != new and len(new) > size // 2
    return old, new


class Case:
    """A conf dir with the old file, and the module arguments that turn it into the new one."""

    def __init__(self, root: Path, name: str, old: bytes, new: bytes, backup: bool):
        self.dir = root / name
        self.dir.mkdir()
        self.conf = self.dir / "flink-conf.yaml"
        self.conf.write_bytes(old)
        os.chown(self.conf, *OWNER)
        self.conf.chmod(MODE)
        self.old, self.new, self.backup = old, new, backup
        self.args = {"_path": str(self.conf), "_content": base64.b64encode(new).decode(),
                     "_expected_checksum": sha(old), "_content_checksum": sha(new), "backup": backup}

    def check(self, where: str, runs: int = 1) -> dict:
        """The invariants after ``runs`` runs (killed or not); returns what was found."""
        data = self.conf.read_bytes()
        assert data in (self.old, self.new), f"{where}: partial or foreign file ({len(data)} bytes)"
        st = self.conf.stat()
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (*OWNER, MODE), where
        backups = sorted(self.dir.glob(self.conf.name + ".*~"))
        assert len(backups) <= runs, (where, backups)  # at most one per run
        for b in backups:
            assert self.backup, f"{where}: a backup nobody asked for"
            assert b.read_bytes() == self.old, f"{where}: incomplete backup ({b.stat().st_size} bytes)"
            bst = b.stat()
            assert (bst.st_uid, bst.st_gid, stat.S_IMODE(bst.st_mode)) == (*OWNER, MODE), where
        if data == self.new and self.backup:
            assert backups, f"{where}: written without the backup asked for"
        others = [p.name for p in self.dir.iterdir() if p != self.conf and p not in backups]
        assert all(n.startswith((".flinkops-", ".ansible_tmp")) and n.endswith((".tmp", "flink-conf.yaml"))
                   for n in others), (where, others)
        return {"state": "new" if data == self.new else "old", "backup": bool(backups), "leftovers": len(others)}


@pytest.fixture(scope="module")
def driver():
    proc = subprocess.Popen([sys.executable, str(HERE / "write_driver.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)

    def ask(request: dict) -> dict:
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        assert line, "the write driver died"
        return json.loads(line)

    yield ask
    proc.stdin.close()
    proc.wait(timeout=30)


@pytest.fixture
def root():
    # tmpfs where there is one: a kill is about the process, not the disk, and fsync there costs nothing
    # (each trial writes the file twice; on a busy disk that is most of the suite's time)
    shm = Path("/dev/shm")
    use_shm = shm.is_dir() and os.access(shm, os.W_OK)
    path = Path(tempfile.mkdtemp(prefix="flinkops-kill-", dir=shm if use_shm else None))
    yield path
    shutil.rmtree(path)


def rerun(ask, case: Case, where: str, state: str) -> None:
    """A run after the kill: finishes the job from the old file, finds it done on the new one (the file
    already holds what the run writes: nothing to do, issue 13.8)."""
    r = ask({"args": case.args})
    if state == "old":
        assert r["exit"] == 0 and r["result"]["changed"] is True, (where, r["result"])
        assert case.conf.read_bytes() == case.new, where
    else:
        assert r["exit"] == 0 and r["result"]["changed"] is False, (where, r["result"])
        assert r["result"]["written_by_another"] is True, (where, r["result"])
        assert case.conf.read_bytes() == case.new, where
    case.check(where + " (re-run)", runs=2)


def calibrate(ask, root: Path, old: bytes, new: bytes, backup: bool) -> dict:
    case = Case(root, f"calibrate-{backup}", old, new, backup)
    r = ask({"args": case.args, "count": True})
    assert r["exit"] == 0 and r["result"]["changed"] is True, r
    assert case.check("calibration")["state"] == "new"
    return r


def test_kill_at_every_kind_of_point_of_the_write(driver, root):
    rng = random.Random(SEED)
    old, new = contents(64 * 1024)
    outcomes = []
    for backup in (True, False):
        cal = calibrate(driver, root, old, new, backup)
        end = cal["marks"]["exit_json"] + 20  # past this only the result is being printed
        assert 0 < cal["marks"]["atomic_move"] < end <= cal["count"]
        if backup:
            assert cal["marks"]["_backup"] < cal["marks"]["atomic_move"]
        # 70 points stratified over the write itself, 5 in the exit
        points = [rng.randint(1 + i * end // 70, max(1 + i * end // 70, (i + 1) * end // 70)) for i in range(70)]
        points += [rng.randint(end, cal["count"]) for _ in range(5)]
        for k in points:
            case = Case(root, f"t-{backup}-{k}-{len(outcomes)}", old, new, backup)
            where = f"seed {SEED}, backup={backup}, killed at line {k} of {cal['count']}"
            r = driver({"args": case.args, "kill_at": k})
            assert r["killed"], (where, r)
            found = case.check(where)
            outcomes.append((backup, k, found))
            if len(outcomes) % 5 == 0:  # a sample: each re-run costs a module start
                rerun(driver, case, where, found["state"])
            shutil.rmtree(case.dir)
    assert len(outcomes) == 150
    states = {(b, f["state"], f["backup"]) for b, _, f in outcomes}
    # the points really spread over the write: every outcome that can happen did happen
    assert states == {(True, "old", False), (True, "old", True), (True, "new", True),
                      (False, "old", False), (False, "new", False)}, (SEED, states)


def test_kill_at_random_times_inside_the_write(driver, root):
    rng = random.Random(SEED + 1)
    old, new = contents(256 * 1024)
    spans = []
    for i in range(3):
        case = Case(root, f"time-{i}", old, new, True)
        r = driver({"args": case.args, "count": True})
        assert r["exit"] == 0, r
        spans.append(r["write_seconds"])
        shutil.rmtree(case.dir)
    span = sorted(spans)[1]  # from write() to the module's exit
    seen = []
    for i in range(50):
        case = Case(root, f"async-{i}", old, new, backup=i % 2 == 0)
        delay = rng.uniform(0, span)
        where = f"seed {SEED + 1}, SIGKILL {delay * 1000:.2f} ms after write() began (runs ~{span * 1000:.2f} ms)"
        r = driver({"args": case.args, "kill_after": delay})
        found = case.check(where)
        seen.append((r["killed"], found["state"]))
        if i % 5 == 0:
            rerun(driver, case, where, found["state"])
        shutil.rmtree(case.dir)
    assert sum(1 for killed, _ in seen if killed) >= 15, seen  # many runs were really killed mid-way
    assert {state for killed, state in seen if killed} == {"old", "new"}, seen


PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - name: write
      flinkops.flink.flink_config:
        flink_home: "{{ flink_home }}"
        settings: {taskmanager.memory.process.size: 4g, s3.secret-key: new-secret, taskmanager.numberOfTaskSlots: "4"}
        remove: [env.java.opts.line3]
        backup: true
      ignore_errors: true
"""


def test_kill_inside_real_ansible_playbook(driver, ansible_env):
    rng = random.Random(SEED + 2)
    root = Path(tempfile.mkdtemp(prefix="flinkops-kill-ansible-"))
    old, new = contents(16 * 1024)
    cal = calibrate(driver, root, old, new, True)
    marks = cal["marks"]
    phases = {"before-backup": (1, marks["_backup"]), "backup-to-rename": (marks["_backup"] + 1, marks["atomic_move"]),
              "in-and-after-rename": (marks["atomic_move"] + 1, marks["exit_json"])}
    hook = root / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import os\nif os.environ.get('FLINKOPS_KILL_AT'):\n"
        "    import kill_hook\n    kill_hook.install(kill_at=int(os.environ['FLINKOPS_KILL_AT']))\n")
    hosts, kills = {}, {}
    for name, (low, high) in phases.items():
        home = flink_home(root, name, "1.20.5", {"flink-conf.yaml": old})
        conf = home / "conf" / "flink-conf.yaml"
        os.chown(conf, *OWNER)
        conf.chmod(MODE)
        kills[name] = rng.randint(low, high)
        wrapper = root / name / "python"
        wrapper.write_text(f"#!/bin/sh\nFLINKOPS_KILL_AT={kills[name]} PYTHONPATH={hook}:{HERE} "
                           f"exec {sys.executable} \"$@\"\n")
        wrapper.chmod(0o755)
        hosts[name] = {"flink_home": str(home), "ansible_python_interpreter": str(wrapper)}
    write_inventory(root, hosts)
    env = {k: v for k, v in ansible_env.items() if k != "ANSIBLE_PYTHON_INTERPRETER"}
    run = run_playbook(root, PLAY, env, name="kill")
    results = run.task("write")
    assert set(results) == set(hosts), run.output[-3000:]
    found = {}
    for name in hosts:
        conf = Path(hosts[name]["flink_home"]) / "conf" / "flink-conf.yaml"
        case = Case.__new__(Case)
        case.dir, case.conf, case.old, case.new, case.backup = conf.parent, conf, old, new, True
        where = f"seed {SEED + 2}, ansible-playbook, {name}, killed at line {kills[name]}"
        found[name] = case.check(where)
        r = results[name]
        assert r["status"] == "failed", (where, r)  # the module died: Ansible says so, the play goes on
        assert "Traceback" not in json.dumps(r["result"]), where
    assert found["before-backup"] == {"state": "old", "backup": False, "leftovers": 0}
    assert found["backup-to-rename"]["state"] == "old"
    shutil.rmtree(root)
