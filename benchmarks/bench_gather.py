#!/usr/bin/env python3
"""Benchmark: flinkops.flink.flink_config_info against ``ansible -m ping`` on the same inventory.

Builds N local hosts (ansible_connection=local), each with its own Flink home (1.17 legacy,
1.20 with both files, 2.3 nested config.yaml in turn), then for every combination of forks and
pipelining runs, several times:

* one ansible-playbook with two tasks, ping and the gather (their order alternates between
  runs), timed per task by a small callback (task start to next task start / end of play);
* ``ansible all -m ping`` and ``ansible all -m flinkops.flink.flink_config_info`` ad hoc, timed
  as whole commands (start-up and inventory parsing included, the same for both).

Prints medians and the ratio gather / ping; writes the raw numbers as JSON under
benchmarks/results/. Usage: bench_gather.py [--hosts 200] [--runs 3] [--forks 10 5] [--no-adhoc]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

CALLBACK = '''
import json, os, time
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.current = None
        self.tasks = {}

    def _close(self):
        if self.current:
            name, t0 = self.current
            self.tasks[name]["seconds"] = time.perf_counter() - t0
            self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.current = (task.get_name(), time.perf_counter())
        self.tasks[task.get_name()] = {"ok": 0, "failed": 0}

    def v2_runner_on_ok(self, result):
        self.tasks[self.current[0]]["ok"] += 1

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self.tasks[self.current[0]]["failed"] += 1

    def v2_runner_on_unreachable(self, result):
        self.tasks[self.current[0]]["failed"] += 1

    def v2_playbook_on_stats(self, stats):
        self._close()
        with open(os.environ["BENCH_TIMING_OUT"], "w") as f:
            json.dump(self.tasks, f)
'''

CONFIGS = {
    "1.17.2": {"flink-conf.yaml": b"jobmanager.rpc.address: jm\ntaskmanager.memory.process.size: 4g\n"
                                  b"taskmanager.numberOfTaskSlots: 4\n# tuned 2024\nstate.backend.type: rocksdb\n"},
    "1.20.5": {"flink-conf.yaml": b"taskmanager.memory.process.size: 3g\njobmanager.memory.process.size: 2g\n",
               "config.yaml": b"taskmanager:\n  memory:\n    process:\n      size: 9g\n"},
    "2.3.0": {"config.yaml": b"jobmanager:\n  memory:\n    process:\n      size: 2g\ntaskmanager:\n"
                             b"  numberOfTaskSlots: 8\n  memory:\n    process:\n      size: 8g\n"
                             b"    managed:\n      fraction: 0.25\ns3:\n  secret-key: xyz\n"},
}


def build(base: Path, n_hosts: int) -> None:
    versions = list(CONFIGS)
    hosts = {}
    for i in range(n_hosts):
        version = versions[i % len(versions)]
        home = base / "homes" / f"h{i:03d}"
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
        for name, data in CONFIGS[version].items():
            (home / "conf" / name).write_bytes(data)
        hosts[f"h{i:03d}"] = {"flink_home": str(home)}
    inv = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                   "hosts": hosts,
                   "children": {"flink_taskmanager": {"hosts": {h: None for h in hosts}}}}}
    (base / "inventory.json").write_text(json.dumps(inv))
    gather = '    - name: gather\n      flinkops.flink.flink_config_info:\n        flink_home: "{{ flink_home }}"\n'
    ping = "    - name: ping\n      ansible.builtin.ping:\n"
    head = "- hosts: all\n  gather_facts: false\n  tasks:\n"
    (base / "ping_first.yml").write_text(head + ping + gather)
    (base / "gather_first.yml").write_text(head + gather + ping)
    (base / "callbacks").mkdir()
    (base / "callbacks" / "bench_timing.py").write_text(CALLBACK)


def env_for(base: Path, forks: int, pipelining: bool, collections_root: Path) -> dict:
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(collections_root),
        ANSIBLE_FORKS=str(forks),
        ANSIBLE_PIPELINING="1" if pipelining else "0",
        ANSIBLE_CALLBACK_PLUGINS=str(base / "callbacks"),
        ANSIBLE_CALLBACKS_ENABLED="bench_timing",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCAL_TEMP=str(base / "tmp"),
        ANSIBLE_HOST_KEY_CHECKING="0",
    )
    return env


def playbook_run(base: Path, env: dict, order: str) -> dict:
    out = base / "timing.json"
    env = dict(env, BENCH_TIMING_OUT=str(out))
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(base / "inventory.json"),
                           str(base / f"{order}.yml")], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"ansible-playbook failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    tasks = json.loads(out.read_text())
    for name, t in tasks.items():
        if t["failed"]:
            raise SystemExit(f"{t['failed']} hosts failed in task {name}")
    return {name: t["seconds"] for name, t in tasks.items()}


def adhoc_run(base: Path, env: dict, module: str, args: str | None) -> float:
    env = {k: v for k, v in env.items() if k != "ANSIBLE_CALLBACKS_ENABLED"}
    cmd = [str(BIN / "ansible"), "all", "-i", str(base / "inventory.json"), "-m", module]
    if args:
        cmd += ["-a", args]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"ansible -m {module} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    return seconds


def collections_root() -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.conftest import COLLECTIONS_ROOT  # the symlink tree tests use

    return COLLECTIONS_ROOT


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--forks", type=int, nargs="+", default=[10, 5])
    ap.add_argument("--no-adhoc", action="store_true", help="only the playbook (per-task) measurement")
    opts = ap.parse_args()

    root = collections_root()
    base = Path(tempfile.mkdtemp(prefix="flinkops-bench-"))
    try:
        build(base, opts.hosts)
        report = {"hosts": opts.hosts, "runs": opts.runs, "cpus": os.cpu_count(),
                  "python": platform.python_version(), "results": []}
        for forks in opts.forks:
            for pipelining in (True, False):
                env = env_for(base, forks, pipelining, root)
                pb = {"ping": [], "gather": []}
                adhoc = {"ping": [], "gather": []}
                for run in range(opts.runs):
                    secs = playbook_run(base, env, "ping_first" if run % 2 == 0 else "gather_first")
                    pb["ping"].append(secs["ping"])
                    pb["gather"].append(secs["gather"])
                    if not opts.no_adhoc:
                        first, second = (("ping", "gather") if run % 2 == 0 else ("gather", "ping"))
                        for which in (first, second):
                            if which == "ping":
                                adhoc["ping"].append(adhoc_run(base, env, "ansible.builtin.ping", None))
                            else:
                                adhoc["gather"].append(adhoc_run(base, env, "flinkops.flink.flink_config_info",
                                                                 "flink_home={{ flink_home }}"))
                row = {"forks": forks, "pipelining": pipelining, "playbook_task_seconds": pb,
                       "adhoc_command_seconds": adhoc}
                report["results"].append(row)
                med = {k: statistics.median(v) for k, v in pb.items()}
                line = (f"forks={forks:<3} pipelining={'on ' if pipelining else 'off'}  per task: "
                        f"ping {med['ping']:6.2f}s  gather {med['gather']:6.2f}s  "
                        f"ratio {med['gather'] / med['ping']:.3f}")
                if adhoc["ping"]:
                    am = {k: statistics.median(v) for k, v in adhoc.items()}
                    line += (f"   | ad hoc command: ping {am['ping']:6.2f}s  gather {am['gather']:6.2f}s  "
                             f"ratio {am['gather'] / am['ping']:.3f}")
                print(line, flush=True)
        out_dir = ROOT / "benchmarks" / "results"
        out_dir.mkdir(exist_ok=True)
        out = out_dir / f"gather-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out.write_text(json.dumps(report, indent=1))
        print(f"raw numbers: {out}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
