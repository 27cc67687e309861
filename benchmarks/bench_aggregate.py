#!/usr/bin/env python3
"""Benchmark: ``flinkops.flink.audit_aggregate`` over a fact cache of many hosts, this checkout against a
baseline commit, in turns, and where its seconds go.

The cache: one real ``flinkops.flink.gather`` of three local hosts (Flink 1.17, 1.20, 2.3; see
benchmarks/bench_gather.py), their jsonfile records stored under every hostname ``h00000`` ... (as
benchmarks/bench_sliced.py does). Each run is the whole ``ansible-playbook flinkops.flink.audit_aggregate``
(start-up, inventory, the task that reads the cache and writes the four reports, the play's output):
wall seconds, CPU seconds (user + system of ansible-playbook and every process under it) and the peak
summed RSS. With ``--baseline <commit>`` the collection at that commit (``git archive`` into a temporary
collections root, as bench_gather.py --baseline does) runs in turns with this checkout (old, new, new,
old, ...), and the four report files of every run are compared byte for byte with the first old run's,
the generation timestamp aside (the bench fails when they differ).

``--profile DIR``: one more run of this checkout with cProfile in ansible-playbook's main process and in
every worker process it forks (one .prof file each), and a summary of the biggest cumulative entries.

Usage: bench_aggregate.py [--hosts 10000] [--runs 3] [--baseline HEAD] [--profile DIR] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


import bench_sliced  # noqa: E402 -- beside this script (its folder is sys.path[0] when run)

bench_gather = bench_sliced.bench_gather
REPORTS = ("flink-audit.json", "flink-audit.md", "flink-audit.html", "flink-audit-junit.xml")

# ansible-playbook with cProfile in the main process and in each forked worker (WorkerProcess.run)
PROFILED = r"""
import cProfile, os, sys
out = os.environ["FLINKOPS_PROFILE_DIR"]
from ansible.executor.process import worker

_run = worker.WorkerProcess._run

def _profiled(self):
    # the worker inherits the main process's profiler: a fresh one of its own
    sys.setprofile(None)
    prof = cProfile.Profile()
    try:
        return prof.runcall(_run, self)
    finally:
        prof.dump_stats(os.path.join(out, f"worker-{os.getpid()}.prof"))

worker.WorkerProcess._run = _profiled
from ansible.cli.playbook import main
sys.argv[0] = "ansible-playbook"
prof = cProfile.Profile()
try:
    rc = prof.runcall(main)
finally:
    prof.dump_stats(os.path.join(out, "main.prof"))
sys.exit(rc)
"""


def build_cache(base: Path, n: int) -> list:
    """A jsonfile cache of ``n`` hosts and their inventory under ``base`` (kept when already there)."""
    hosts = [f"h{i:05d}" for i in range(n)]
    cache = base / "cache"
    if (base / "inventory.json").exists() and cache.is_dir() and len(os.listdir(cache)) == n:
        return hosts
    seed = base / "seed"
    shutil.rmtree(seed, ignore_errors=True)
    bench_gather.build(seed, 3)
    seed_cache = base / "seed-cache"
    shutil.rmtree(seed_cache, ignore_errors=True)
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(seed / "inventory.json"),
                           "flinkops.flink.gather", "-e", "gather_hosts=all"],
                          env=bench_sliced.env_for(base, 5, seed_cache), capture_output=True, text=True, cwd=base)
    if proc.returncode != 0:
        raise SystemExit(f"seed gather failed:\n{proc.stdout[-3000:]}")
    seeds = sorted(seed_cache.iterdir())
    shutil.rmtree(cache, ignore_errors=True)
    cache.mkdir()
    prefix = seeds[0].name.rsplit("h000", 1)[0]  # ansible-core's schema prefix of the cache keys
    for i, host in enumerate(hosts):
        shutil.copyfile(seeds[i % len(seeds)], cache / f"{prefix}{host}")
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         "hosts": {h: {} for h in hosts},
                         "children": {"flink_taskmanager": {"hosts": {h: None for h in hosts}}}}}
    (base / "inventory.json").write_text(json.dumps(inventory))
    return hosts


def _env(base: Path, root: Path) -> dict:
    env = bench_sliced.env_for(base, 10, base / "cache")
    env["ANSIBLE_COLLECTIONS_PATH"] = str(root)
    return env


def _argv(base: Path, out: Path) -> list:
    return ["-i", str(base / "inventory.json"), "flinkops.flink.audit_aggregate", "-e", f"audit_report_dir={out}",
            "-e", "audit_fail_on=never", "-e", "audit_max_age=864000"]


def run_once(base: Path, root: Path, out: Path, n: int) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    with bench_sliced.RssSampler() as sampler:
        t0, cpu0 = time.perf_counter(), bench_sliced._children_cpu()
        proc = bench_sliced.start([str(BIN / "ansible-playbook"), *_argv(base, out)], _env(base, root), base, sampler)
        text = bench_sliced.finish("aggregate", proc)
        wall, cpu = time.perf_counter() - t0, bench_sliced._children_cpu() - cpu0
    if f"Cached gather results: {n} of {n} hosts used" not in text:
        raise SystemExit(f"the aggregate did not use every cached host:\n{text[-3000:]}")
    return {"wall": wall, "cpu": cpu, "rss": sampler.peak, "load_after": os.getloadavg()[0]}


def report_bytes(out: Path) -> dict:
    """The four report files, the generation time replaced by a placeholder."""
    stamp = json.loads((out / "flink-audit.json").read_text())["generated_at"]
    stamp = stamp.rstrip("Z").encode()  # the JUnit file has it without the Z
    return {name: (out / name).read_bytes().replace(stamp, b"<generated_at>") for name in REPORTS}


def profile(base: Path, root: Path, where: Path, n: int) -> str:
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    env = dict(_env(base, root), FLINKOPS_PROFILE_DIR=str(where))
    proc = subprocess.run([sys.executable, "-c", PROFILED, *_argv(base, base / "report-profiled")], env=env,
                          cwd=base, capture_output=True, text=True)
    if proc.returncode != 0 or f"Cached gather results: {n} of {n} hosts used" not in proc.stdout:
        raise SystemExit(f"profiled aggregate failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    lines = []
    for path in sorted(where.glob("*.prof"), key=lambda p: -p.stat().st_size):
        stats = pstats.Stats(str(path))
        total = stats.total_tt
        if total < 0.2:
            continue
        lines.append(f"== {path.name}: {total:.2f} s")
        stream = __import__("io").StringIO()
        stats.stream = stream
        stats.sort_stats("cumulative").print_stats(45)
        lines.append(stream.getvalue())
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=3, help="runs of each tree")
    ap.add_argument("--baseline", metavar="COMMIT", help="also run the collection at this commit, in turns")
    ap.add_argument("--profile", type=Path, metavar="DIR", help="one profiled run of this checkout, .prof files here")
    ap.add_argument("--workdir", type=Path, help="keep the cache here and reuse it (default: a temporary dir)")
    opts = ap.parse_args()
    base = opts.workdir or Path(tempfile.mkdtemp(prefix=f"flinkops-bench-aggregate-{opts.hosts}-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        build_cache(base, opts.hosts)
        trees = {"new": bench_sliced.COLLECTIONS}
        if opts.baseline:
            shutil.rmtree(base / "baseline", ignore_errors=True)
            trees = {"old": bench_gather.baseline_root(base, opts.baseline), **trees}
        raw = {"hosts": opts.hosts, "baseline": opts.baseline, "python": platform.python_version(),
               "cpus": os.cpu_count(), "load_before": os.getloadavg(), "runs": {name: [] for name in trees}}
        if opts.runs:
            for name, root in trees.items():  # warm-up (byte code, page cache), not measured
                run_once(base, root, base / f"report-{name}", opts.hosts)
            reference = report_bytes(base / f"report-{next(iter(trees))}")
            for i in range(opts.runs):
                order = list(trees) if i % 2 == 0 else list(trees)[::-1]
                for name in order:
                    row = run_once(base, trees[name], base / f"report-{name}", opts.hosts)
                    got = report_bytes(base / f"report-{name}")
                    row["identical"] = got == reference
                    if not row["identical"]:
                        differ = [k for k in REPORTS if got[k] != reference[k]]
                        raise SystemExit(f"{name}: the reports differ from the first run's in {differ}")
                    raw["runs"][name].append(row)
                    print(f"  {name}: wall {row['wall']:.2f} s, CPU {row['cpu']:.2f} s, peak RSS "
                          f"{row['rss'] / (1 << 20):.0f} MiB, load {row['load_after']:.1f}", flush=True)
            raw["load_after"] = os.getloadavg()
            for name, rows in raw["runs"].items():
                print(f"{name}: median wall {statistics.median(r['wall'] for r in rows):.2f} s, CPU "
                      f"{statistics.median(r['cpu'] for r in rows):.2f} s, peak RSS "
                      f"{statistics.median(r['rss'] for r in rows) / (1 << 20):.0f} MiB "
                      "(reports byte-identical across every run)")
        if opts.profile:
            print(profile(base, trees["new"], opts.profile, opts.hosts))
        results = ROOT / "benchmarks" / "results"
        results.mkdir(exist_ok=True)
        (results / f"aggregate-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(raw, indent=1))
    finally:
        if not opts.workdir:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
