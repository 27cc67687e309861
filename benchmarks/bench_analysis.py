#!/usr/bin/env python3
"""Benchmark: fleet analysis (config_lint + fleet_drift + memory_plan) over 10,000 synthetic hosts.

The fleet is built like a real one: a few dozen config templates (TaskManagers, JobManagers and
hosts running both, all eight Flink lines), each host adding its own keys (``taskmanager.host``,
``taskmanager.resource-id``) so no two files are alike, plus the seed post's mistakes (managed
fractions that differ, ``1728 mb`` next to ``1728m``, blog-only keys, legacy heap keys, sizes Flink
rejects, a process above its cgroup limit) and hosts whose gather failed. Every result carries the
memory model the gather would compute from the unredacted file.

Side by side, in the same run, over the same results:

* **ours**: ``config_lint`` per host, ``fleet_drift``, ``memory_plan``, as the filters call them
  (their caches emptied before every run, so each run starts cold);
* **naive**: the straightforward per-host loop: lint with its per-line key cache emptied before each host,
  ``fleet_drift(dedupe=False)`` (every host analysed on its own) and ``memory_plan(cache=False)``
  (Flink's derivation run for every host).

Both give the same answers (checked on every run, not assumed). Prints a markdown table (median
and best of --runs), and writes it to docs/benchmarks_analysis.md.

Usage: bench_analysis.py [--hosts 10000] [--runs 5] [--seed 7] [--no-write]
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks_analysis.md"
GIB, MIB = 1 << 30, 1 << 20
TARGET_SECONDS = 1.0


def _import_collection():
    """Import the collection as ``ansible_collections.flinkops.flink`` (a symlink, as tests/conftest.py does)."""
    base = Path(tempfile.gettempdir()) / f"flinkops-bench-{os.getuid()}"
    link = base / "ansible_collections" / "flinkops" / "flink"
    if not link.is_symlink() or link.resolve() != ROOT:
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f"flink.{os.getpid()}")
        tmp.symlink_to(ROOT)
        os.replace(tmp, link)
    sys.path.insert(0, str(base))


_import_collection()

from ansible_collections.flinkops.flink.plugins.module_utils import options  # noqa: E402
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute  # noqa: E402
from ansible_collections.flinkops.flink.plugins.module_utils.options import redact  # noqa: E402
from ansible_collections.flinkops.flink.plugins.plugin_utils import fleet, host_record, plan  # noqa: E402

try:
    from ansible_collections.flinkops.flink.plugins.plugin_utils import lint
except ImportError:  # config_lint not landed yet: benchmark drift and plan only
    lint = None

VERSIONS = {"1.17.2": 1, "1.18.1": 2, "1.19.3": 2, "1.20.5": 4, "2.0.2": 2, "2.1.3": 3, "2.2.1": 3, "2.3.0": 4}
COMMON = {
    "jobmanager.rpc.address": "jm1.example.org",
    "jobmanager.rpc.port": "6123",
    "rest.port": "8081",
    "parallelism.default": "4",
    "state.backend.type": "rocksdb",
    "state.checkpoints.dir": "s3://flink/checkpoints",
    "state.savepoints.dir": "s3://flink/savepoints",
    "execution.checkpointing.interval": "1 min",
    "high-availability.type": "zookeeper",
    "high-availability.zookeeper.quorum": "zk1:2181,zk2:2181,zk3:2181",
    "high-availability.storageDir": "s3://flink/ha",
    "metrics.reporter.prom.factory.class": "org.apache.flink.metrics.prometheus.PrometheusReporterFactory",
    "metrics.reporter.prom.port": "9249",
    "s3.access-key": "AKIAEXAMPLE",
    "s3.secret-key": "not-a-real-secret",
    "security.ssl.internal.keystore-password": "changeit",
    "io.tmp.dirs": "/data/flink/tmp",
    "env.java.opts.all": "-XX:+UseG1GC",
    "jobmanager.memory.process.size": "1600m",
    "taskmanager.memory.jvm-metaspace.size": "256m",
}
TM_VARIANTS = [
    {"taskmanager.memory.process.size": "4096m", "taskmanager.numberOfTaskSlots": "4"},
    {"taskmanager.memory.process.size": "4g", "taskmanager.numberOfTaskSlots": "4"},
    {"taskmanager.memory.process.size": "4096 mb", "taskmanager.numberOfTaskSlots": "4",
     "taskmanager.memory.managed.fraction": "0.4"},
    {"taskmanager.memory.process.size": "4096m", "taskmanager.numberOfTaskSlots": "4",
     "taskmanager.memory.managed.fraction": "0.6"},
    {"taskmanager.memory.flink.size": "3g", "taskmanager.numberOfTaskSlots": "4"},
    {"taskmanager.memory.process.size": "8g", "taskmanager.numberOfTaskSlots": "8",
     "taskmanager.network.memory.fraction": "0.1"},
    {"taskmanager.memory.process.size": "1728m", "taskmanager.heap.size": "1g"},
    {"taskmanager.memory.process.size": "4096m", "taskmanager.memory.managed.fration": "0.5"},
    {"taskmanager.memory.process.size": "4096m", "flink.memory.managed.fraction": "0.3",
     "taskmanager.memory.heap.size": "2g"},
    {"taskmanager.memory.process.size": "1.5g"},  # Flink refuses to start
    {"taskmanager.memory.process.size": "16g", "taskmanager.numberOfTaskSlots": "8"},  # above small cgroups
    {"taskmanager.memory.task.heap.size": "1g", "taskmanager.memory.managed.size": "1g",
     "taskmanager.numberOfTaskSlots": "2"},
    {"taskmanager.memory.process.size": "4096m", "taskmanager.memory.managed.consumer-weights": "PYTHON:10"},
]
JM_VARIANTS = [
    {},
    {"jobmanager.memory.managed.fraction": "0.5"},
    {"jobmanager.memory.process.size": "2g"},
    {"jobmanager.heap.size": "1g"},
]


def build_fleet(hosts: int, seed: int) -> dict:
    """hostname -> a flink_config_info-shaped result; about 1% failed, 1.5% JobManagers, 0.5% both."""
    rng = random.Random(seed)
    versions = [v for v, w in VERSIONS.items() for _ in range(w)]
    models = {}

    def model(config, process, version):
        key = (frozenset(config.items()), process, version)
        if key not in models:
            models[key] = compute(config, process, version)
        return models[key]

    results = {}
    for i in range(1, hosts + 1):
        roll = rng.random()
        if roll < 0.01:
            name = f"tm{i}"
            results[name] = {"failed": True, "changed": False,
                             "msg": f"{name}: /opt/flink/conf/config.yaml: cannot be read (permission denied)"}
            continue
        if roll < 0.025:
            name, processes = f"jm{i}", ["jobmanager"]
        elif roll < 0.03:
            name, processes = f"node{i}", ["jobmanager", "taskmanager"]
        else:
            name, processes = f"tm{i}", ["taskmanager"]
        version = rng.choice(versions)
        config = dict(COMMON)
        if "taskmanager" in processes:
            # Most hosts share the fleet's usual setting; the rest carry the mistakes.
            config.update(TM_VARIANTS[0] if rng.random() < 0.6 else rng.choice(TM_VARIANTS))
            if rng.random() < 0.5:
                config["taskmanager.host"] = f"{name}.example.org"
            if rng.random() < 0.3:
                config["taskmanager.resource-id"] = name
        if "jobmanager" in processes:
            config.update(rng.choice(JM_VARIANTS))
        ram = rng.choice([16, 32, 32, 64, 64, 128]) * GIB
        cgroup = rng.choice([None] * 8 + [8 * GIB, 12 * GIB])
        results[name] = {
            "changed": False,
            "config": redact(config, version),
            "config_file": "/opt/flink/conf/config.yaml" if version >= "2" else "/opt/flink/conf/flink-conf.yaml",
            "config_format": "yaml" if version >= "2" else "legacy",
            "config_lines": {k: n for n, k in enumerate(config, start=1)},
            "ignored_files": [],
            "skipped_lines": [],
            "checksum": f"{hash(frozenset(config.items())) & (2**64 - 1):016x}",
            "flink_version": version,
            "processes": processes,
            "mem_total_bytes": ram,
            "cgroup_memory_limit_bytes": cgroup,
            "cpu_count": 16,
            # Every host its own objects, as results arriving from Ansible are.
            "memory": {p: copy.deepcopy(model(config, p, version)) for p in processes},
        }
    return results


POLICY = {
    "headroom": "1g",
    "host_fraction": 0.9,
    "taskmanager": {
        "process_size": "fit",  # the default before issue 15.1 made it keep; the benchmark fits, as it always did
        "managed_fraction": 0.4, "slots": 4, "network_fraction": "0.1",
        "options": {"taskmanager.memory.managed.consumer-weights": "OPERATOR:70,STATE_BACKEND:70,PYTHON:30"},
    },
    "jobmanager": {"process_size": "2g"},
}


def clear_caches():
    """Every memo of ours, so that each run starts cold, as one playbook run does."""
    for cached in (host_record._computed, plan._compute_cached, fleet.natural_key, fleet.minor_line,
                   fleet._sensitive_among, options.is_sensitive_anywhere, plan._minor_line):
        cached.cache_clear()
    if lint is not None:
        lint._QUIET_KEYS.clear()


def lint_all(results, naive: bool) -> dict:
    out = {}
    for host, result in results.items():
        if result.get("failed"):
            continue
        if naive:
            lint._QUIET_KEYS.clear()  # nothing decided once for the fleet: each host linted from scratch
        out[host] = lint.config_lint(result["config"], result["flink_version"], facts=result)
    return out


def run_once(results, naive: bool) -> tuple[dict, dict, dict]:
    """Wall-clock and CPU seconds of each step, and the answers."""
    clear_caches()
    steps = {"drift": lambda: fleet.fleet_drift(results, "process", dedupe=not naive),
             "plan": lambda: plan.memory_plan(results, POLICY, cache=not naive)}
    if lint is not None:
        steps = {"lint": lambda: lint_all(results, naive), **steps}
    wall, cpu, answers = {}, {}, {}
    for name, step in steps.items():
        w0, c0 = time.perf_counter(), time.process_time()
        answers[name] = step()
        wall[name], cpu[name] = time.perf_counter() - w0, time.process_time() - c0
    wall["total"], cpu["total"] = sum(wall.values()), sum(cpu.values())
    return wall, cpu, answers


def describe(results, answers) -> list:
    ok = [r for r in results.values() if not r.get("failed")]
    distinct = len({frozenset(r["config"].items()) for r in ok})
    drift, planned = answers["drift"], answers["plan"]
    tm = drift["groups"]["taskmanager"]
    lines = [
        f"- hosts: {len(results)} ({len(ok)} gathered, {len(results) - len(ok)} failed); "
        f"distinct config files: {distinct}; Flink lines: {', '.join(sorted({r['flink_version'] for r in ok}))}",
        f"- drift: TaskManagers {tm['memory']['taskmanager']['status']} with "
        f"{len(tm['memory']['taskmanager']['profiles'])} memory profiles, {len(tm['keys_differ'])} keys differ, "
        f"{len(tm['keys_partial'])} keys on some hosts only, {len(tm['invalid'])} invalid hosts",
        f"- plan: {planned['summary']['changed_hosts']} hosts changed; TaskManagers "
        f"{planned['groups']['taskmanager']['sizing']['taskmanager']['process_size']} decided by "
        f"{planned['groups']['taskmanager']['sizing']['taskmanager'].get('decided_by')}",
    ]
    if "lint" in answers:
        findings = sum(len(f) for f in answers["lint"].values())
        lines.append(f"- lint: {findings} findings over {len(answers['lint'])} hosts")
    return lines


def reference_compute_us(calls: int = 400) -> float:
    """Microseconds per memory_model.compute call on a fixed config: a yardstick for this machine right now."""
    config = {"taskmanager.memory.process.size": "1728m", "taskmanager.numberOfTaskSlots": "2"}
    best = float("inf")
    for _ in range(3):
        c0 = time.process_time()
        for _ in range(calls):
            compute(config, "taskmanager", "2.3")
        best = min(best, time.process_time() - c0)
    return best / calls * 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-write", action="store_true", help="print only; do not write docs/benchmarks_analysis.md")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    results = build_fleet(args.hosts, args.seed)
    build = time.perf_counter() - t0

    yardstick_before = reference_compute_us()
    ours, naive, ours_cpu, naive_cpu = [], [], [], []
    reference = None
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for _ in range(args.runs):
        # Interleaved, so both see the same machine load.
        wall, cpu, answers = run_once(results, naive=False)
        ours.append(wall)
        ours_cpu.append(cpu)
        wall, cpu, answers_naive = run_once(results, naive=True)
        naive.append(wall)
        naive_cpu.append(cpu)
        if answers != answers_naive:
            diff = [k for k in answers if answers[k] != answers_naive[k]]
            print(f"ours and naive disagree on: {', '.join(diff)}", file=sys.stderr)
            return 1
        reference = answers

    yardstick_after = reference_compute_us()
    parts = [p for p in ("lint", "drift", "plan", "total") if p in ours[0]]
    table = [
        "| step | ours wall median (s) | ours best (s) | ours CPU median (s) | naive wall median (s) | naive best (s) "
        "| naive CPU median (s) | speed-up (median wall) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for part in parts:
        mine, base = [t[part] for t in ours], [t[part] for t in naive]
        mine_cpu, base_cpu = [t[part] for t in ours_cpu], [t[part] for t in naive_cpu]
        label = f"**{part}**" if part == "total" else part
        table.append(f"| {label} | {statistics.median(mine):.3f} | {min(mine):.3f} | {statistics.median(mine_cpu):.3f} "
                     f"| {statistics.median(base):.3f} | {min(base):.3f} | {statistics.median(base_cpu):.3f} "
                     f"| {statistics.median(base) / statistics.median(mine):.1f}x |")
    total_median = statistics.median(t["total"] for t in ours)
    total_best = min(t["total"] for t in ours)
    total_cpu = statistics.median(t["total"] for t in ours_cpu)
    drift_plan_cpu = statistics.median(t["drift"] + t["plan"] for t in ours_cpu)
    verdict = "meets" if total_median < TARGET_SECONDS else "MISSES"
    missing = "" if lint is not None else " (config_lint not available: lint not measured)"
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    text = "\n".join([
        "# Fleet analysis benchmark",
        "",
        f"`benchmarks/bench_analysis.py --hosts {args.hosts} --runs {args.runs} --seed {args.seed}`: "
        f"config_lint on every host, fleet_drift and memory_plan over one fleet, {args.runs} runs, "
        "ours and the naive per-host loop interleaved, caches emptied before every run. The naive loop is the same "
        "code without its sharing: every host analysed, planned and linted on its own." + missing,
        "",
        *table,
        "",
        f"Target: lint + drift + plan over {args.hosts} hosts in under {TARGET_SECONDS:g} s: **{verdict}** "
        f"(wall clock median {total_median:.3f} s, best {total_best:.3f} s; CPU median {total_cpu:.3f} s; "
        f"drift + plan alone: CPU median {drift_plan_cpu:.3f} s). Ours and naive returned identical results on "
        "every run.",
        "",
        "Fleet:",
        *describe(results, reference),
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
        + (f", load average {load_before:.2f} before and {load[0]:.2f} after the runs (other work on the machine "
           "inflates wall-clock times; CPU time is less affected)" if load else "")
        + f". Building the fleet took {build:.1f} s (not counted). Yardstick: one memory_model.compute call took "
        f"{yardstick_before:.0f} us of CPU before the runs and {yardstick_after:.0f} us after (best of 3 x 400).",
        "",
        "Where the sharing comes from: fleet_drift analyses each distinct config once (keys that name the host, "
        "such as taskmanager.host, set aside, so hosts differing only in those share the work); memory_plan "
        "decides keys once per distinct memory config and runs Flink's derivation once per distinct (memory "
        "config, Flink line, groups); config_lint (plugins/plugin_utils/lint.py) decides once per Flink line "
        "which keys need no finding of their own (most keys, the same on every host), and reuses the memory model "
        "the gather computed for the same file.",
        "",
    ])
    print(text)
    if not args.no_write:
        DOC.parent.mkdir(parents=True, exist_ok=True)
        DOC.write_text(text)
        print(f"written to {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
