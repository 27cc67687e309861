#!/usr/bin/env python3
"""Benchmark: job downtime of the savepoint mode's JobManager restart against the same steps by hand with Flink's CLI.

One real Flink 2.3.0 cluster on loopback without high availability (tests/e2e/savepoint_cluster.py: a JobManager with
web.upload.dir and a savepoint directory, two TaskManagers of one slot each), the keyed counting job of the e2e tests
(tests/e2e/job/CountJob.java) running throughout. Each round changes the JobManager's memory in its file (an edit,
as enforce would make it) and restarts it with the job carried over, one of two ways, on the same cluster in the same
run (the order alternates between rounds):

* ``cli``: what an operator does by hand - ``bin/flink stop --savepointPath <dir> <job>``, ``bin/jobmanager.sh stop``,
  ``bin/taskmanager.sh stop`` for each TaskManager, ``bin/jobmanager.sh start``, ``bin/taskmanager.sh start`` for
  each, then ``bin/flink run -d -s <savepoint> <jar> <args>`` (retried until the new JobManager takes it);
* ``role``: the role's savepoint cycle (roles/rolling_restart/tasks/preflight.yml with its savepoint pre-flight and
  probe savepoint, then jobmanager_savepoint.yml, the TaskManagers restarted with the JobManager), through the real
  ansible-playbook: stop with a savepoint over REST, JobManager and TaskManagers stopped, JobManager started and
  its REST waited for, TaskManagers started and waited for, the JobManager's memory verified to the byte, the job
  resubmitted over REST and waited for until RUNNING and restored from its savepoint.

Job downtime: seconds no job of that name is RUNNING with all its tasks (REST, sampled twice a second). Also the
wall time of each way (for the role: ansible-playbook from start to end, the pre-flight included). Target
(issue 16): role downtime <= 1.2x cli downtime (median of the per-round ratios).

Usage: bench_savepoint_rollout.py [--rounds 2] [--json benchmarks/results/savepoint-<time>.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests"))

import flink_install  # noqa: E402
import savepoint_cluster  # noqa: E402
from conftest import COLLECTIONS_ROOT  # noqa: E402  (the checkout as ansible_collections/flinkops/flink)

TMS = ("tm1", "tm2")
CALLBACKS = ROOT / "benchmarks" / "callback_plugins"
JOB = savepoint_cluster.JOB
SIZES = ("896m", "832m")


def load() -> float:
    return os.getloadavg()[0]


def set_jm_size(flink, size: str) -> None:
    path = flink.conf_dir("jm") / "config.yaml"
    text = re.sub(r'jobmanager\.memory\.process\.size: "[^"]*"', f'jobmanager.memory.process.size: "{size}"',
                  path.read_text())
    path.write_text(text)


def cli(flink, *args: str, name: str = "jm", timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(flink.home / "bin" / args[0]), *args[1:]], env=flink.env(name), capture_output=True,
                          text=True, timeout=timeout, check=False)


def by_hand(flink, jar: Path) -> dict:
    """The operator's way with Flink's own CLI; returns {savepoint, steps: seconds per step}."""
    steps, t = {}, time.monotonic()

    def step(label):
        nonlocal t
        now = time.monotonic()
        steps[label] = round(now - t, 1)
        t = now

    jid = flink.running_job(JOB)
    proc = cli(flink, "flink", "stop", "--savepointPath", (flink.root / "savepoints").as_uri(), jid)
    found = re.search(r"Savepoint completed\. Path: (\S+)", proc.stdout)
    if proc.returncode != 0 or not found:
        raise RuntimeError(f"flink stop failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    step("flink stop --savepointPath")
    cli(flink, "jobmanager.sh", "stop")
    for name in TMS:
        cli(flink, "taskmanager.sh", "stop", name=name)
    step("jobmanager.sh stop + taskmanager.sh stop")
    cli(flink, "jobmanager.sh", "start")
    for name in TMS:
        cli(flink, "taskmanager.sh", "start", name=name)
    step("jobmanager.sh start + taskmanager.sh start")
    deadline = time.monotonic() + 300
    while True:
        proc = cli(flink, "flink", "run", "-d", "-s", found.group(1), str(jar), JOB)
        if proc.returncode == 0:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"flink run -s failed: {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        time.sleep(1)
    step("flink run -d -s")
    flink.wait(lambda: flink.running_job(JOB) not in (None, jid), 300, "the job RUNNING again")
    step("until RUNNING with all tasks")
    return {"savepoint": found.group(1), "steps": steps}


def by_role(flink, jar: Path, work: Path, env: dict) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    inventory = flink.inventory(work / "inventory.yml", sys.executable)
    profile = work / "task-seconds.json"
    env = dict(env, ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS), ANSIBLE_CALLBACKS_ENABLED="task_seconds",
               FLINKOPS_TASK_SECONDS=str(profile))
    proc, outcome, seconds = savepoint_cluster.playbook(
        flink, env, Path(sys.executable).parent, inventory,
        {"rolling_restart_jobmanager": True, "rolling_restart_jobmanager_mode": "savepoint",
         "rolling_restart_job_jars": {JOB: {"jar": str(jar), "args": [JOB]}}}, work / "role.log")
    if proc.returncode != 0 or not outcome or outcome["stopped"]:
        raise RuntimeError(f"the role's cycle failed: {(outcome or {}).get('reason')} {proc.stdout[-3000:]}")
    rows = json.loads(profile.read_text()) if profile.is_file() and profile.stat().st_size else []
    # The steps of the cycle from the stop with a savepoint on (the job's downtime), as the profile shows them.
    start = next((i for i, (name, _s) in enumerate(rows) if name.endswith("Stop each job with a savepoint")), None)
    steps = {}
    for name, secs in rows[start:] if start is not None else []:
        label = name.split(" : ", 1)[-1]
        steps[label] = round(steps.get(label, 0) + secs, 1)
    return {"savepoint": outcome["result"][0]["savepoint"], "playbook_s": round(seconds, 1), "steps": steps}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    work = Path(tempfile.mkdtemp(prefix="flinkops-bench-savepoint-"))
    flink = savepoint_cluster.SavepointCluster(flink_install.install("2.3.0"), work / "cluster", TMS, slots=1,
                                               tm_process_size="1g", jm_process_size="768m")
    rows = []
    try:
        flink.prepare()
        flink.start()
        jar = flink.build_count_job(work / "job")
        flink.submit_job(jar, JOB, timeout=180)
        for round_no in range(1, args.rounds + 1):
            ways = ("cli", "role") if round_no % 2 else ("role", "cli")
            for index, way in enumerate(ways):
                size = SIZES[(2 * (round_no - 1) + index) % 2]
                flink.wait(lambda: flink.running_job(JOB), 300, "the job RUNNING")
                jid = flink.running_job(JOB)
                flink.wait(lambda jid=jid: (flink.rest(f"/jobs/{jid}/checkpoints")["counts"]["completed"] or 0) > 0,
                           120, "a completed checkpoint")
                set_jm_size(flink, size)
                low = load()
                started = time.monotonic()
                with savepoint_cluster.DowntimeWatcher(flink) as watcher:
                    detail = by_hand(flink, jar) if way == "cli" else by_role(flink, jar, work / f"r{round_no}", env)
                    flink.wait(lambda jid=jid: flink.running_job(JOB) not in (None, jid), 300, "the job back")
                wall = time.monotonic() - started
                row = {"round": round_no, "way": way, "jobmanager": size, "load": f"{low:.1f}-{load():.1f}",
                       "job_down_s": round(watcher.down, 1), "wall_s": round(wall, 1), **detail}
                rows.append(row)
                print(json.dumps(row), flush=True)
    finally:
        flink.teardown()
    ratios = []
    print("\n| round | way | JobManager | load avg | job down s | wall s |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['round']} | {row['way']} | {row['jobmanager']} | {row['load']} | {row['job_down_s']} | "
              f"{row['wall_s']} |")
    for round_no in range(1, args.rounds + 1):
        got = {r["way"]: r for r in rows if r["round"] == round_no}
        if {"cli", "role"} <= set(got) and got["cli"]["job_down_s"]:
            ratios.append(got["role"]["job_down_s"] / got["cli"]["job_down_s"])
    if ratios:
        print(f"\nDowntime ratio role/cli per round: {', '.join(f'{r:.2f}' for r in ratios)}; "
              f"median {statistics.median(ratios):.2f}x (target <= 1.2x)")
    for way in ("cli", "role"):
        steps = [r["steps"] for r in rows if r["way"] == way and r.get("steps")]
        if steps:
            print(f"\n{way}: median seconds per step")
            for label in steps[0]:
                print(f"  {statistics.median(s.get(label, 0) for s in steps):6.1f}  {label}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"rows": rows, "ratios": ratios}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
