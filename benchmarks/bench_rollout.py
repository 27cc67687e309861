#!/usr/bin/env python3
"""Benchmark: the rolling_restart role's time per TaskManager batch against Flink's own scripts.

One real Flink 2.3.0 cluster on loopback (tests/e2e/cluster.py: a JobManager, three TaskManagers of
1 GiB, one slot each) with the checkpointing job of the e2e tests running throughout. In each round,
on the same cluster and in the same run:

* ``scripts``: what an operator does by hand for one TaskManager - ``bin/taskmanager.sh stop``,
  ``bin/taskmanager.sh start`` (with the host's FLINK_CONF_DIR, pid dir and ident string), then poll
  ``/taskmanagers`` until it is registered with its slots again (the same 0.5 s polling as the role);
* ``role``: the rolling_restart role restarting that TaskManager (``rolling_restart_hosts``), its
  default options: gate, stop, leave, start with its grace, register with the file's memory to the
  byte, the job RUNNING again and a new checkpoint. The time is the role's own ``Seconds per batch``
  (the batch, not ansible-playbook's start-up and the pre-flight reads).

Each round restarts a different TaskManager in turn; the order of the two alternates between rounds.
A watcher samples REST twice a second and sums the seconds the job is not RUNNING with all its
tasks during each restart (its downtime). Target (issue 14): role <= 1.25x scripts (median of the
per-round ratios).

Usage: bench_rollout.py [--rounds 3] [--json benchmarks/results/rollout-<time>.json]
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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "tests"))

import cluster as flink_cluster  # noqa: E402
import flink_install  # noqa: E402
from conftest import COLLECTIONS_ROOT  # noqa: E402  (the checkout as ansible_collections/flinkops/flink)

TMS = ("tm1", "tm2", "tm3")


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


def by_role(flink, name, inventory: Path, playbook: Path, env: dict) -> float:
    cmd = [str(ROOT / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(playbook),
           "-e", json.dumps({"rolling_restart_hosts": [name]})]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the role failed restarting {name}:\n{proc.stdout[-4000:]}{proc.stderr[-2000:]}")
    match = re.search(rf"Seconds per batch: {name} (\d+(?:\.\d+)?)", proc.stdout)
    if not match:
        raise RuntimeError(f"no batch time in the role's output:\n{proc.stdout[-3000:]}")
    return float(match.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    home = flink_install.install("2.3.0")
    work = Path(tempfile.mkdtemp(prefix="flinkops-bench-rollout-"))
    flink = flink_cluster.Cluster(home, work, TMS, slots=1)
    flink.prepare()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT), ANSIBLE_NOCOLOR="1",
               JVM_ARGS=flink_cluster.JVM_ARGS)
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
            order = ("scripts", "role") if number % 2 == 0 else ("role", "scripts")
            row = {"round": number + 1, "taskmanager": name}
            for way in order:
                flink.wait(lambda: flink.job_running(job), 300, "job RUNNING before a restart")
                with JobWatcher(flink, job) as watcher:
                    seconds = by_scripts(flink, name) if way == "scripts" else by_role(flink, name, inventory,
                                                                                        playbook, env)
                    if way == "scripts":  # the watcher counts until the job runs again
                        flink.wait(lambda: flink.job_running(job), 300, "job RUNNING after the scripts")
                row[way] = round(seconds, 1)
                row[f"{way}_job_down"] = round(watcher.down, 1)
            row["ratio"] = round(row["role"] / row["scripts"], 2)
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        flink.teardown()
    summary = {
        "rounds": rows,
        "median_scripts_s": statistics.median(r["scripts"] for r in rows),
        "median_role_s": statistics.median(r["role"] for r in rows),
        "median_ratio": statistics.median(r["ratio"] for r in rows),
        "median_job_down_scripts_s": statistics.median(r["scripts_job_down"] for r in rows),
        "median_job_down_role_s": statistics.median(r["role_job_down"] for r in rows),
        "load_average": os.getloadavg(),
    }
    print("| round | TaskManager | scripts s | role s | ratio | job down (scripts) s | job down (role) s |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['round']} | {r['taskmanager']} | {r['scripts']} | {r['role']} | {r['ratio']} | "
              f"{r['scripts_job_down']} | {r['role_job_down']} |")
    print(f"median ratio {summary['median_ratio']} (target <= 1.25)")
    out = args.json or ROOT / "benchmarks" / "results" / f"rollout-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
