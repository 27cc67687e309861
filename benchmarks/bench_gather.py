#!/usr/bin/env python3
"""Benchmark: flinkops.flink.flink_config_info against ``ansible -m ping`` on the same inventory.

Builds N local hosts (ansible_connection=local), each with its own Flink home (1.17 legacy,
1.20 with both files, 2.3 nested config.yaml in turn), then for every combination of forks and
pipelining runs, several times:

* one ansible-playbook with three tasks, ping, the gather and ``debug`` (no connection at all:
  Ansible's own per-host floor), their order rotating between runs, timed per task by a small
  callback (task start to next task start / end of play);
* ``ansible all -m ping`` and ``ansible all -m flinkops.flink.flink_config_info`` ad hoc, timed
  as whole commands (start-up and inventory parsing included, the same for both).

Prints medians and the ratio gather / ping (wall clock, and for the ad hoc commands also the CPU
time of ansible and everything under it, which other load on a shared machine disturbs less);
writes the raw numbers as JSON under benchmarks/results/.

With ``--baseline <commit>`` the same measurements run, in the same run, for this checkout and for
the collection as it was at that commit (``git archive`` of it into a temporary collections root:
the shared checkout and its git state stay untouched), in turns (old, new, new, old, ...), and the
medians are printed side by side with the ratio new / old; the playbook's CPU (user + system of
ansible-playbook and every process under it) is measured too.
Usage: bench_gather.py [--hosts 200] [--runs 3] [--forks 10 5] [--no-adhoc] [--baseline 65294f9]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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

ORDER = ["ping", "gather", "debug"]

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
    tasks = {
        "gather": ('    - name: gather\n      flinkops.flink.flink_config_info:\n'
                   '        flink_home: "{{ flink_home }}"\n'),
        "ping": "    - name: ping\n      ansible.builtin.ping:\n",
        "debug": "    - name: debug\n      ansible.builtin.debug:\n        msg: floor\n",
    }
    head = "- hosts: all\n  gather_facts: false\n  tasks:\n"
    for rotation in range(len(ORDER)):
        order = ORDER[rotation:] + ORDER[:rotation]
        (base / f"order{rotation}.yml").write_text(head + "".join(tasks[t] for t in order))
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


def playbook_run(base: Path, env: dict, rotation: int) -> dict:
    """Seconds per task, and under "cpu" the CPU seconds of ansible-playbook and every process under it."""
    out = base / "timing.json"
    env = dict(env, BENCH_TIMING_OUT=str(out))
    cpu0 = _children_cpu()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(base / "inventory.json"),
                           str(base / f"order{rotation}.yml")], env=env, capture_output=True, text=True,
                          check=False)
    cpu = _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"ansible-playbook failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    tasks = json.loads(out.read_text())
    for name, t in tasks.items():
        if t["failed"]:
            raise SystemExit(f"{t['failed']} hosts failed in task {name}")
    return {**{name: t["seconds"] for name, t in tasks.items()}, "cpu": cpu}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def adhoc_run(base: Path, env: dict, module: str, args: str | None) -> tuple[float, float]:
    """(wall seconds, CPU seconds of ansible and every process under it) for one ad hoc command."""
    env = {k: v for k, v in env.items() if k != "ANSIBLE_CALLBACKS_ENABLED"}
    cmd = [str(BIN / "ansible"), "all", "-i", str(base / "inventory.json"), "-m", module]
    if args:
        cmd += ["-a", args]
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    seconds, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != 0:
        raise SystemExit(f"ansible -m {module} failed ({proc.returncode}):\n{proc.stdout[-3000:]}")
    return seconds, cpu


def collections_root() -> Path:
    sys.path.insert(0, str(ROOT))
    from tests.conftest import COLLECTIONS_ROOT  # the symlink tree tests use

    return COLLECTIONS_ROOT


def baseline_root(base: Path, commit: str) -> Path:
    """A collections root holding the collection as it was at ``commit`` (git archive: no worktree, no
    change to the repository), byte-compiled once so that neither side pays compilation in a measured run."""
    root = base / "baseline"
    tree = root / "ansible_collections" / "flinkops" / "flink"
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "plugins")], check=True)
    return root


def measure(base: Path, env: dict, run: int, adhoc: bool) -> dict:
    """One run of one tree: the playbook's seconds per task and CPU, and the ad hoc gather's wall and CPU."""
    secs = playbook_run(base, env, run % len(ORDER))
    got = {"playbook": secs}
    if adhoc:
        got["gather"] = adhoc_run(base, env, "flinkops.flink.flink_config_info", "flink_home={{ flink_home }}")
    return got


def _median(values: list) -> float:
    return statistics.median(values) if values else float("nan")


def new_over_old(row: dict, *path: str) -> float:
    """Median of the new tree's values at ``path`` over the old tree's."""
    def pick(side):
        value = row[side]
        for key in path:
            value = value[key]
        return _median(value)
    return pick("new") / pick("old")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--forks", type=int, nargs="+", default=[10, 5])
    ap.add_argument("--no-adhoc", action="store_true", help="only the playbook (per-task) measurement")
    ap.add_argument("--baseline", metavar="COMMIT",
                    help="also measure the collection at this commit, in turns with this checkout")
    opts = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="flinkops-bench-"))
    try:
        trees = {"new": collections_root()}
        if opts.baseline:
            trees = {"old": baseline_root(base, opts.baseline), **trees}
        build(base, opts.hosts)
        report = {"hosts": opts.hosts, "runs": opts.runs, "cpus": os.cpu_count(), "baseline": opts.baseline,
                  "python": platform.python_version(), "load_before": os.getloadavg(), "results": []}
        for forks in opts.forks:
            for pipelining in (True, False):
                envs = {name: env_for(base, forks, pipelining, root) for name, root in trees.items()}
                for env in envs.values():  # warm-up: caches, byte code; not measured
                    playbook_run(base, env, 0)
                pb = {t: {k: [] for k in (*ORDER, "cpu")} for t in trees}
                gather = {t: {"wall": [], "cpu": []} for t in trees}
                ping = {"wall": [], "cpu": []}
                loads = []
                for run in range(opts.runs):
                    # turns: old, new, then new, old: neither side always runs first
                    names = list(trees) if run % 2 == 0 else list(trees)[::-1]
                    for name in names:
                        got = measure(base, envs[name], run, not opts.no_adhoc)
                        for k in pb[name]:
                            pb[name][k].append(got["playbook"][k])
                        if "gather" in got:
                            gather[name]["wall"].append(got["gather"][0])
                            gather[name]["cpu"].append(got["gather"][1])
                    if not opts.no_adhoc:  # ping does not depend on the collection: once a run
                        wall, cpu = adhoc_run(base, envs["new"], "ansible.builtin.ping", None)
                        ping["wall"].append(wall)
                        ping["cpu"].append(cpu)
                    loads.append(os.getloadavg()[0])
                row = {"forks": forks, "pipelining": pipelining, "load_1min": loads, "ping_adhoc": ping}
                for name in trees:
                    row[name] = {"playbook_task_seconds": {k: v for k, v in pb[name].items() if k != "cpu"},
                                 "playbook_cpu_seconds": pb[name]["cpu"], "gather_adhoc": gather[name]}
                report["results"].append(row)
                print(f"forks={forks:<3} pipelining={'on ' if pipelining else 'off'}  load (1 min) "
                      f"{min(loads):.1f}-{max(loads):.1f}", flush=True)
                for name in trees:
                    med = {k: _median(v) for k, v in pb[name].items()}
                    line = (f"  {name}: per task: ping {med['ping']:6.2f}s  gather {med['gather']:6.2f}s  "
                            f"ratio {med['gather'] / med['ping']:.3f}  (debug floor {med['debug']:5.2f}s)  "
                            f"playbook CPU {med['cpu']:6.2f}s")
                    if ping["wall"]:
                        gm = {k: _median(v) for k, v in gather[name].items()}
                        pm = {k: _median(v) for k, v in ping.items()}
                        line += (f"\n       ad hoc wall: ping {pm['wall']:6.2f}s  gather {gm['wall']:6.2f}s  ratio "
                                 f"{gm['wall'] / pm['wall']:.3f}   CPU: ping {pm['cpu']:6.2f}s  gather "
                                 f"{gm['cpu']:6.2f}s  ratio {gm['cpu'] / pm['cpu']:.3f}")
                    print(line, flush=True)
                if len(trees) == 2:
                    parts = [f"playbook CPU {new_over_old(row, 'playbook_cpu_seconds'):.3f}",
                             f"gather task {new_over_old(row, 'playbook_task_seconds', 'gather'):.3f}"]
                    if ping["wall"]:
                        parts += [f"ad hoc gather CPU {new_over_old(row, 'gather_adhoc', 'cpu'):.3f}",
                                  f"wall {new_over_old(row, 'gather_adhoc', 'wall'):.3f}"]
                    print("  new / old: " + ", ".join(parts), flush=True)
        report["load_after"] = os.getloadavg()
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
