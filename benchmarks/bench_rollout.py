#!/usr/bin/env python3
"""Benchmark: the rolling_restart role's time per TaskManager batch against Flink's own scripts.

One real Flink cluster on loopback (2.3.0 unless --version; tests/e2e/cluster.py: a JobManager, three
TaskManagers of 1 GiB, one slot each) with the checkpointing job of the e2e tests running throughout.
In each round, on the same cluster and in the same run:

* ``scripts``: what an operator does by hand for one TaskManager - ``bin/taskmanager.sh stop``,
  ``bin/taskmanager.sh start`` (with the host's FLINK_CONF_DIR, pid dir and ident string), then poll
  ``/taskmanagers`` until it is registered with its slots again (the same 0.5 s polling as the role);
* ``role``: the rolling_restart role restarting that TaskManager (``rolling_restart_hosts``), its
  default options: gate, stop, leave, start with its grace, register with the file's memory to the
  byte, the job RUNNING again and a new checkpoint. The time is the role's own ``Seconds per batch``
  (the batch, not ansible-playbook's start-up and the pre-flight reads);
* ``before`` (with ``--before REF``): the same role as committed at REF (git archive of the checkout at
  that commit, run as its own collection), for a before/after in the same run. Its ``Seconds per
  batch`` started after the gate; today's starts where the previous batch ended (the gate included).

Each round restarts a different TaskManager in turn; the order of the ways rotates between rounds.
A watcher samples REST twice a second and sums the seconds the job is not RUNNING with all its
tasks during each restart (its downtime). Each role run also records its seconds per task
(benchmarks/callback_plugins/task_seconds.py): the per-task medians of the batch are printed (the
profile). Target (issue 14): role <= 1.25x scripts (median of the per-round ratios).

Usage: bench_rollout.py [--rounds 3] [--version 2.3.0] [--before REF] [--json benchmarks/results/rollout-<time>.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests"))

import cluster as flink_cluster  # noqa: E402
import flink_install_1x  # noqa: E402  (1.x and, through flink_install, 2.x)
from conftest import COLLECTIONS_ROOT  # noqa: E402  (the checkout as ansible_collections/flinkops/flink)

TMS = ("tm1", "tm2", "tm3")
CALLBACKS = ROOT / "benchmarks" / "callback_plugins"
# The tasks of one batch, as the profile shows them (the batch.yml of then and of now).
BATCH_START = "Restart the TaskManagers batch by batch"
BATCH_END = ("Record the batch", "Stop when the JobManager became unreachable during the batch")


class JobWatcher:
    """Samples the job twice a second; ``down`` sums the seconds it is not RUNNING with all its tasks."""

    def __init__(self, flink, job_id):
        self.flink, self.job_id, self.down = flink, job_id, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        last = time.monotonic()
        while not self._stop.is_set():
            running = self.flink.job_running(self.job_id)
            now = time.monotonic()
            if not running:
                self.down += now - last
            last = now
            self._stop.wait(0.5)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


def registered(flink, name) -> bool:
    tm = flink.taskmanagers().get(name)
    return bool(tm and tm["slotsNumber"])


def by_scripts(flink, name) -> float:
    started = time.monotonic()
    flink._script("taskmanager.sh", "stop", name)
    flink.wait(lambda: not registered(flink, name), 120, f"{name} gone")
    flink.start_taskmanager(name)
    flink.wait(lambda: registered(flink, name), 300, f"{name} registered")
    return time.monotonic() - started


def collection_at(ref: str, work: Path) -> Path:
    """The checkout as committed at ``ref``, laid out as ansible_collections/flinkops/flink under ``work``."""
    target = work / "ansible_collections" / "flinkops" / "flink"
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref], capture_output=True,
                             check=True, timeout=300).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return work


def batch_profile(rows: list) -> list:
    """The tasks of the (one) batch from a task_seconds file: [[name, seconds], ...]."""
    names = [n.split(" : ", 1)[-1] for n, _s in rows]
    if BATCH_START not in names:
        return []
    first = names.index(BATCH_START)
    last = max((i for i, n in enumerate(names) if n.startswith(BATCH_END)), default=len(names) - 1)
    return [[names[i], rows[i][1]] for i in range(first, last + 1)]


def by_role(flink, name, inventory: Path, playbook: Path, env: dict, profile: list | None = None) -> float:
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(playbook),
           "-e", json.dumps({"rolling_restart_hosts": [name]})]
    with tempfile.NamedTemporaryFile(suffix=".json") as seconds:
        env = dict(env, ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS), ANSIBLE_CALLBACKS_ENABLED="task_seconds",
                   FLINKOPS_TASK_SECONDS=seconds.name)
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
        if profile is not None and Path(seconds.name).stat().st_size:
            profile.append(batch_profile(json.loads(Path(seconds.name).read_text())))
    if proc.returncode != 0:
        raise RuntimeError(f"the role failed restarting {name}:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}")
    match = re.search(rf"Seconds per batch: {name} (\d+(?:\.\d+)?)", proc.stdout)
    if not match:
        raise RuntimeError(f"no batch time in the role's output:\n{proc.stdout[-3000:]}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--before", metavar="REF", help="also run the role as committed at REF")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    home = flink_install_1x.install(args.version)
    work = Path(tempfile.mkdtemp(prefix="flinkops-bench-rollout-"))
    flink = flink_cluster.Cluster(home, work, TMS, slots=1)
    flink.prepare()
    base_env = dict(os.environ, ANSIBLE_NOCOLOR="1", JVM_ARGS=flink_cluster.JVM_ARGS)
    envs = {"role": dict(base_env, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT))}
    if args.before:
        envs["before"] = dict(base_env, ANSIBLE_COLLECTIONS_PATH=str(collection_at(args.before, work / "before")))
    ways = ["scripts", *envs]
    profiles = {way: [] for way in envs}
    rows = []
    try:
        flink.start()
        job = flink.submit_job(flink.build_job(work / "job"))
        inventory = flink.inventory(work / "inventory.yml", sys.executable)
        playbook = work / "restart.yml"
        playbook.write_text("- hosts: flink_taskmanager\n  gather_facts: false\n"
                            "  roles: [flinkops.flink.rolling_restart]\n")
        for number in range(args.rounds):
            name = TMS[number % len(TMS)]
            order = ways[number % len(ways):] + ways[:number % len(ways)]
            row = {"round": number + 1, "taskmanager": name, "order": order}
            load = [os.getloadavg()[0]]
            for way in order:
                flink.wait(lambda: flink.job_running(job), 300, "job RUNNING before a restart")
                with JobWatcher(flink, job) as watcher:
                    if way == "scripts":
                        seconds = by_scripts(flink, name)
                        # the watcher counts until the job runs again
                        flink.wait(lambda: flink.job_running(job), 300, "job RUNNING after the scripts")
                    else:
                        seconds = by_role(flink, name, inventory, playbook, envs[way], profiles[way])
                row[way] = round(seconds, 1)
                row[f"{way}_job_down"] = round(watcher.down, 1)
                load.append(os.getloadavg()[0])
            row["ratio"] = round(row["role"] / row["scripts"], 2)
            if "before" in row:
                row["before_ratio"] = round(row["before"] / row["scripts"], 2)
            row["load"] = [round(min(load), 1), round(max(load), 1)]
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        flink.teardown()
    summary = {
        "flink_version": args.version,
        "before_ref": args.before,
        "rounds": rows,
        "median_scripts_s": statistics.median(r["scripts"] for r in rows),
        "median_role_s": statistics.median(r["role"] for r in rows),
        "median_ratio": statistics.median(r["ratio"] for r in rows),
        "median_job_down_scripts_s": statistics.median(r["scripts_job_down"] for r in rows),
        "median_job_down_role_s": statistics.median(r["role_job_down"] for r in rows),
        "load_average": [min(r["load"][0] for r in rows), max(r["load"][1] for r in rows)],
        "profile": {way: median_profile(p) for way, p in profiles.items()},
    }
    if args.before:
        summary.update(median_before_s=statistics.median(r["before"] for r in rows),
                       median_before_ratio=statistics.median(r["before_ratio"] for r in rows),
                       median_job_down_before_s=statistics.median(r["before_job_down"] for r in rows))
    before = args.before is not None
    print("| round | TaskManager | load | scripts s |" + (" role before s | ratio before |" if before else "")
          + " role s | ratio | job down s (scripts" + (" / before" if before else "") + " / role) |")
    print("|---|---|---|---|" + ("---|---|" if before else "") + "---|---|---|")
    for r in rows:
        print(f"| {r['round']} | {r['taskmanager']} | {r['load'][0]}-{r['load'][1]} | {r['scripts']} | "
              + (f"{r['before']} | {r['before_ratio']} | " if before else "")
              + f"{r['role']} | {r['ratio']} | {r['scripts_job_down']}"
              + (f" / {r['before_job_down']}" if before else "") + f" / {r['role_job_down']} |")
    print(f"median ratio {summary['median_ratio']} (target <= 1.25)"
          + (f"; before: {summary['median_before_ratio']}" if before else ""))
    for way, prof in summary["profile"].items():
        print(f"\nseconds per task of one batch, median over the rounds ({way}):")
        for task, seconds in prof:
            print(f"  {seconds:6.2f}  {task}")
    out = args.json or ROOT / "benchmarks" / "results" / f"rollout-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def median_profile(profiles: list) -> list:
    """Per task of the batch, the median seconds over the rounds (tasks in the order of the first round)."""
    profiles = [p for p in profiles if p]
    if not profiles:
        return []
    names = [n for n, _s in profiles[0]]
    return [[n, round(statistics.median(dict(p).get(n, 0.0) for p in profiles), 2)] for n in names]


if __name__ == "__main__":
    sys.exit(main())
