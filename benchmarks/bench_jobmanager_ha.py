#!/usr/bin/env python3
"""Benchmark: job downtime of the HA JobManager rollout against Flink's own graceful failover.

One real ZooKeeper HA Flink cluster on loopback (2.3.0 unless --version; tests/e2e/ha_cluster.py: ZooKeeper
from the distribution, two JobManagers, one TaskManager of 1 GiB with one slot) with the keyed
checkpointing count of the e2e tests (tests/e2e/job/HaCountJob.java, a checkpoint every 2 s) running
throughout. In each round, on the same cluster and in the same run:

* ``flink``: what an operator does by hand for a leader change - ``bin/jobmanager.sh stop`` of the leader
  (its FLINK_CONF_DIR, pid dir, ident string: SIGTERM, Flink's graceful shutdown), then, once the job runs
  again on the other JobManager, ``bin/jobmanager.sh start`` of the stopped one so that it is a standby
  again (outside the measured window: the job does not depend on it);
* ``role``: ``ansible-playbook flinkops.flink.rollout`` with ``rolling_restart_jobmanager=true`` changing
  both JobManagers' memory (the standby first, then the leader: one failover), the playbook users run.

A watcher samples ZooKeeper's leader and the job's REST state twice a second for the whole round and
reports: ``down`` the seconds the job was not RUNNING with all its tasks, ``gap`` the longest time between
two completed checkpoints the job logged minus its 2 s interval (the time it made no progress), and the
number of leader changes. Target (issue 16): one failover per rollout, role down <= flink down + 5 s.

Usage: bench_jobmanager_ha.py [--rounds 2] [--version 2.3.0] [--json benchmarks/results/jobmanager-ha-<time>.json]
"""

from __future__ import annotations

import argparse
import json
import os
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
import flink_install_1x  # noqa: E402  (1.x and, through flink_install, 2.x)
import ha_cluster  # noqa: E402
from conftest import COLLECTIONS_ROOT  # noqa: E402  (the checkout as ansible_collections/flinkops/flink)

from ansible_collections.flinkops.flink.plugins.plugin_utils import zookeeper  # noqa: E402

TMS = ("tm1",)
JMS = ("jm1", "jm2")
JOB = "flinkops-bench-ha-count"
INTERVAL_S = 2.0


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


class Watcher:
    def __init__(self, ha):
        self.ha = ha
        self.down = 0.0
        self.sessions = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = self.ended = None

    def _run(self):
        last = time.monotonic()
        while not self._stop.is_set():
            try:
                info = zookeeper.leader_info(f"127.0.0.1:{self.ha.zk_port}", self.ha.path_root, self.ha.cluster_id,
                                             timeout=3)
                session = (info["leader"] or {}).get("session_id")
                if session and (not self.sessions or self.sessions[-1] != session):
                    self.sessions.append(session)
            except zookeeper.ZooKeeperError:
                pass
            try:
                running = self.ha.job_running(self.ha.job_id)
            except Exception:  # noqa: BLE001 -- no answer is the job not running
                running = False
            now = time.monotonic()
            if not running:
                self.down += now - last
            last = now
            self._stop.wait(0.5)

    def __enter__(self):
        self.started = time.time()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)
        self.ended = time.time()

    def result(self, log_lines_before: int) -> dict:
        # the longest pause between two checkpoints the job completed during the window, less its interval
        stamps = self.ha.ckpt_times[log_lines_before:]
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        return {"down_s": round(self.down, 1), "gap_s": round(max(0.0, max(gaps, default=0.0) - INTERVAL_S), 1),
                "leader_changes": max(0, len(self.sessions) - 1)}


class CheckpointClock(threading.Thread):
    """When each checkpoint line appeared in the job's count log (the job writes it on completion)."""

    def __init__(self, ha):
        super().__init__(daemon=True)
        self.ha = ha
        ha.ckpt_times = []
        self.seen = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            entries = [e for e in ha_cluster.count_log(self.ha.count_file) if e[0] == "ckpt"]
            now = time.monotonic()
            self.ha.ckpt_times.extend([now] * (len(entries) - self.seen))
            self.seen = len(entries)
            self.stop.wait(0.2)


def wait_whole(ha, timeout=600):
    def ok():
        try:
            info = zookeeper.leader_info(f"127.0.0.1:{ha.zk_port}", ha.path_root, ha.cluster_id, timeout=3)
        except zookeeper.ZooKeeperError:
            return False
        return len(info["latch"] or []) == len(JMS) and ha.leader() is not None and ha.job_running(ha.job_id)
    ha.wait(ok, timeout, "both JobManagers in the election, the job RUNNING")
    time.sleep(2 * INTERVAL_S)  # a checkpoint completed since


def by_flink(ha) -> dict:
    leader = ha.leader()
    before = len(ha.ckpt_times)
    with Watcher(ha) as w:
        ha._script("jobmanager.sh", "stop", leader)
        ha.wait(lambda: ha.leader() not in (None, leader), 300, "a new leader")
        ha.wait(lambda: ha.job_running(ha.job_id), 300, "the job RUNNING on the new leader")
        time.sleep(2 * INTERVAL_S)
    result = w.result(before)
    ha.start_jobmanager(leader)
    wait_whole(ha)
    return result


def by_role(ha, work: Path, size: str, python: str) -> dict:
    inventory = ha.inventory(work / "inventory.yml", python)
    settings = work / "settings.json"
    settings.write_text(json.dumps({"enforce_settings": {"jobmanager": {"jobmanager.memory.process.size": size}}}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_ROOT), ANSIBLE_PYTHON_INTERPRETER=python,
               ANSIBLE_NOCOLOR="1", JVM_ARGS=flink_cluster.JVM_ARGS)
    before = len(ha.ckpt_times)
    started = time.monotonic()
    with Watcher(ha) as w:
        proc = subprocess.run([str(Path(python).parent / "ansible-playbook"), "-i", str(inventory),
                               "flinkops.flink.rollout", "-e", f"@{settings}", "-e", "enforce_confirm=true",
                               "-e", "rolling_restart_jobmanager=true", "-e", f"rollout_report_dir={work / 'r'}"],
                              env=env, capture_output=True, text=True, timeout=1800, cwd=work, check=False)
        wait_whole(ha)
    (work / f"rollout-{size}.log").write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"the rollout failed, see {work / f'rollout-{size}.log'}: {proc.stdout[-3000:]}")
    return {**w.result(before), "playbook_s": round(time.monotonic() - started, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--json")
    args = parser.parse_args()
    python = sys.executable
    home = flink_install_1x.install(args.version)
    work = Path(tempfile.mkdtemp(prefix="flinkops-bench-ha-"))
    ha = ha_cluster.HACluster(home, work / "cluster", TMS, jobmanagers=JMS, slots=1, tm_process_size="1g",
                              jm_process_size="1g", version=args.version)
    rows = []
    clock = None
    try:
        ha.prepare()
        t0 = time.monotonic()
        ha.start()
        print(f"cluster up in {time.monotonic() - t0:.0f}s (load {load()})", flush=True)
        ha.count_file = work / "count.log"
        jar = ha.build_count_job(work / "job")
        ha.job_id = ha.submit_job(jar, JOB, args=(str(ha.count_file),))
        clock = CheckpointClock(ha)
        clock.start()
        wait_whole(ha)
        sizes = ["1152m", "1280m", "1088m", "1216m", "1344m", "1024m"]
        for rnd in range(args.rounds):
            order = ("flink", "role") if rnd % 2 == 0 else ("role", "flink")
            row = {"round": rnd + 1}
            for way in order:
                lo = load()
                row[way] = by_flink(ha) if way == "flink" else by_role(ha, work, sizes[rnd % len(sizes)], python)
                row[way]["load"] = f"{lo} -> {load()}"
                print(f"round {rnd + 1} {way}: {row[way]}", flush=True)
            rows.append(row)
    finally:
        if clock is not None:
            clock.stop.set()
        killed = ha.teardown()
        print(f"teardown: {len(killed)} processes killed")
    flink_down = statistics.median(r["flink"]["down_s"] for r in rows)
    role_down = statistics.median(r["role"]["down_s"] for r in rows)
    summary = {"version": args.version, "rounds": rows, "median_down_s": {"flink": flink_down, "role": role_down},
               "target_met": role_down <= flink_down + 5 and all(r["role"]["leader_changes"] == 1 for r in rows)}
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
