#!/usr/bin/env python3
"""Benchmark: the audit with ``audit_logs: true`` against the audit without, on the same local fleet, same run.

A fleet of local hosts built as benchmarks/bench_gather.py builds them (Flink 1.17, 1.20 and 2.3 in turn,
every host a TaskManager), each with its own log dir (``flink_log_dir``) holding four Flink logs of
``--log-mib`` MiB (default 10): ``flink-u-taskexecutor-0-<host>.log`` / ``.out`` and
``flink-u-standalonesession-0-<host>.log`` / ``.out``, made of the real 2.3 records of the diagnose fixtures
(tests/unit/plugins/plugin_utils/fixtures/diagnose/2.3/heap-oom) repeated to the size, the failure at the end,
so every host has a heap-oom diagnosed. The four files are hard links to four shared files (200 hosts x 40 MiB
would be 8 GiB of disk): each host's gather reads its own path, and ``tail -c`` reads the last 256 KiB of
a 10 MiB file either way.

In rounds, each command once per round, the order rotating:

* ``audit``: ``ansible-playbook flinkops.flink.audit`` (the baseline: no logs);
* ``audit_logs``: the same with ``-e audit_logs=true`` (the gather's one command also reads the logs' tails,
  keeps on the host the lines diagnose reads, and reads the kernel's lines; the report gets its Failures
  section); checked: every host audited, a failure each;
* ``audit_logs_old`` (with ``--old <collections root>``): the same against another copy of the collection (the
  code before a change), in the same rounds: old and new measured under the same load.

Reported: median wall seconds, the ratio audit_logs / audit (target at most 1.3), the CPU seconds of the
command and everything under it, and the controller's memory: the peak of the summed RSS of every process
of the command, sampled every 0.2 s (benchmarks/bench_sliced.py's sampler). Memory flat in the log size: the
audit with logs is run once more over logs ``--big-mib`` (default 100) MiB each; its peak RSS is shown beside.

Usage: bench_logs.py [--hosts 200] [--runs 3] [--forks 10] [--log-mib 10] [--big-mib 100]
                     [--collections ROOT] [--old ROOT [--old-label TEXT]] [--doc docs/diagnose.md | --no-doc]

``--collections`` / ``--old``: directories holding ``ansible_collections/flinkops/flink`` (default: this
checkout); a copy taken before the run keeps edits made meanwhile out of it. The last table's run: both copies
from one commit (``git archive HEAD`` into ``<dir>/ansible_collections/flinkops/flink``), the change's files copied
over the new one, then ``bench_logs.py --runs 2 --small-kib 0 --collections /tmp/new --old /tmp/old``.
Raw numbers go to benchmarks/results/logs-<time>.json; the measurement section of docs/diagnose.md (between
its markers) is rewritten from them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
FIXTURE = ROOT / "tests" / "unit" / "plugins" / "plugin_utils" / "fixtures" / "diagnose" / "2.3" / "heap-oom"
BEGIN, END = "<!-- bench_logs:begin -->", "<!-- bench_logs:end -->"
MIB = 1 << 20
NAMES = ("flink-u-taskexecutor-0-{h}.log", "flink-u-taskexecutor-0-{h}.out", "flink-u-standalonesession-0-{h}.log",
         "flink-u-standalonesession-0-{h}.out")


import bench_sliced  # noqa: E402 -- beside this script (its folder is sys.path[0] when run)

bench_gather = bench_sliced.bench_gather


def _filled(source: bytes, size: int) -> bytes:
    """``size`` bytes of whole log lines: the source's records repeated, the source itself (its failure) last."""
    head = source * max(0, (size - len(source)) // len(source))
    pad = size - len(head) - len(source)
    filler = b"2026-12-02 08:00:00,000 INFO  org.apache.flink.runtime.taskexecutor.TaskExecutor [] - filler\n"
    lines = filler * (max(0, pad) // len(filler))
    data = head + lines + source
    return data + b"\n" * (size - len(data)) if len(data) < size else data[len(data) - size:]


def shared_logs(base: Path, mib: int) -> list:
    """The four shared files of ``mib`` MiB each (the TaskManager's and the JobManager's log and console)."""
    out = base / f"shared-{mib}"
    out.mkdir(exist_ok=True)
    tm = (FIXTURE / "tm1__flink-tm1-taskexecutor-0-vm.log").read_bytes()
    jm = (FIXTURE / "jm__flink-jm-standalonesession-0-vm.log").read_bytes()
    paths = []
    for i, source in enumerate((tm, tm[-4096:], jm, jm[-4096:])):
        path = out / f"log{i}"
        path.write_bytes(_filled(source, mib * MIB))
        paths.append(path)
    return paths


def build(base: Path, n: int, mib: int) -> list:
    bench_gather.build(base, n)
    inventory = json.loads((base / "inventory.json").read_text())
    hosts = inventory["all"]["hosts"]
    shared = shared_logs(base, mib)
    for host, hv in hosts.items():
        log_dir = base / "logs" / host
        log_dir.mkdir(parents=True)
        for name, path in zip(NAMES, shared, strict=True):
            os.link(path, log_dir / name.format(h=host))
        hv["flink_log_dir"] = str(log_dir)
    (base / "inventory.json").write_text(json.dumps(inventory))
    return sorted(hosts)


def relink(base: Path, hosts: list, mib: int) -> None:
    """Every host's four logs as hard links to the shared files of ``mib`` MiB."""
    shared = shared_logs(base, mib)
    for host in hosts:
        for name, path in zip(NAMES, shared, strict=True):
            target = base / "logs" / host / name.format(h=host)
            target.unlink()
            os.link(path, target)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_audit(base: Path, n: int, forks: int, logs: bool, max_bytes: int | None = None,
              collections: Path | None = None) -> dict:
    report = base / ("audit-logs" if logs else "audit")
    argv = [str(BIN / "ansible-playbook"), "-i", str(base / "inventory.json"), "flinkops.flink.audit",
            "-e", f"audit_report_dir={report}", "-e", "audit_fail_on=never", "-e", "audit_hosts=all"]
    if logs:
        argv += ["-e", "audit_logs=true"]
    if max_bytes:
        argv += ["-e", f"audit_logs_max_bytes={max_bytes}"]
    cpu0 = _children_cpu()
    with bench_sliced.RssSampler() as sampler:
        t0 = time.perf_counter()
        env = bench_sliced.env_for(base, forks)
        if collections is not None:
            env["ANSIBLE_COLLECTIONS_PATH"] = str(collections)
        proc = bench_sliced.start(argv, env, base, sampler)
        bench_sliced.finish("audit with logs" if logs else "audit", proc)
        wall = time.perf_counter() - t0
    cpu = _children_cpu() - cpu0
    data = json.loads((report / "flink-audit.json").read_text())
    summary = data["summary"]
    if summary["hosts"] != n or summary["hosts_by_status"]["failed"] or summary["hosts_by_status"]["unreachable"]:
        raise SystemExit(f"the audit did not audit every host: {summary}")
    failures = len(data.get("failures") or ())
    if logs and failures < n:
        raise SystemExit(f"the audit with logs found {failures} failures on {n} hosts (one each expected)")
    if not logs and failures:
        raise SystemExit(f"the audit without logs reported {failures} failures")
    return {"wall": wall, "cpu": cpu, "rss": sampler.peak, "failures": failures, "load": load_avg(),
            "report_bytes": (report / "flink-audit.json").stat().st_size}


def load_avg() -> float:
    return os.getloadavg()[0]


def median(rows: list, key: str) -> float:
    return statistics.median(r[key] for r in rows)


def doc_section(result: dict) -> str:
    audit, logs, big = result["rows"]["audit"], result["rows"]["audit_logs"], result["big"]
    ratio = median(logs, "wall") / median(audit, "wall")
    cpu_ratio = median(logs, "cpu") / median(audit, "cpu")
    old = result["rows"].get("audit_logs_old")
    lines = [
        BEGIN,
        f"Measured by `benchmarks/bench_logs.py` on {result['when']}: {result['hosts']} local hosts, each with 4 "
        f"Flink logs of {result['log_mib']} MiB, forks {result['forks']}, {result['runs']} rounds (the order "
        f"rotating), {result['cpus']} CPUs shared with other work (load average "
        f"{min(result['load']):.1f} to {max(result['load']):.1f} during the run). Medians:",
        "",
        "| audit | wall s | CPU s | peak RSS MiB | failures | ratio to without logs (wall, CPU) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| without logs | {median(audit, 'wall'):.1f} | {median(audit, 'cpu'):.1f} | "
        f"{median(audit, 'rss') / MIB:.0f} | 0 | 1 |",
        f"| `audit_logs: true`, logs {result['log_mib']} MiB | {median(logs, 'wall'):.1f} | "
        f"{median(logs, 'cpu'):.1f} | {median(logs, 'rss') / MIB:.0f} | {logs[0]['failures']} | "
        f"{ratio:.2f}x, {cpu_ratio:.2f}x |",
    ]
    if old:
        lines.append(
            f"| `audit_logs: true`, {result.get('old_label') or 'before'} | {median(old, 'wall'):.1f} | "
            f"{median(old, 'cpu'):.1f} | {median(old, 'rss') / MIB:.0f} | {old[0]['failures']} | "
            f"{median(old, 'wall') / median(audit, 'wall'):.2f}x, {median(old, 'cpu') / median(audit, 'cpu'):.2f}x |")
    lines.append(
        f"| `audit_logs: true`, logs {result['big_mib']} MiB (once) | {big['wall']:.1f} | {big['cpu']:.1f} | "
        f"{big['rss'] / MIB:.0f} | {big['failures']} | |")
    small = result.get("small")
    if small:
        lines.append(f"| `audit_logs: true`, `audit_logs_max_bytes: {result['small_kib'] * 1024}` (once) | "
                     f"{small['wall']:.1f} | {small['cpu']:.1f} | {small['rss'] / MIB:.0f} | {small['failures']} |")
    lines += [
        "",
        f"Ratio with logs / without: **{ratio:.2f}x** wall (target 1.3x: {'met' if ratio <= 1.3 else 'missed'}), "
        f"{cpu_ratio:.2f}x CPU. Memory with logs of {result['big_mib']} MiB against {result['log_mib']} MiB: "
        f"{big['rss'] / median(logs, 'rss'):.2f}x (each file read with `tail -c` from its end, at most "
        f"`logs_max_bytes`, 256 KiB, of which the host keeps the lines diagnose reads).",
        END,
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--forks", type=int, default=10)
    ap.add_argument("--log-mib", type=int, default=10)
    ap.add_argument("--big-mib", type=int, default=100)
    ap.add_argument("--small-kib", type=int, default=64, help="also once with audit_logs_max_bytes of this (0: not)")
    ap.add_argument("--collections", type=Path, help="collections root of the code measured (default: this checkout)")
    ap.add_argument("--old", type=Path, help="collections root of the code before, measured in the same rounds")
    ap.add_argument("--old-label", default="before", help="its name in the table")
    ap.add_argument("--doc", default=str(ROOT / "docs" / "diagnose.md"))
    ap.add_argument("--no-doc", action="store_true")
    opts = ap.parse_args()

    base = Path(tempfile.mkdtemp(prefix="flinkops-bench-logs-"))
    load = [load_avg()]
    try:
        hosts = build(base, opts.hosts, opts.log_mib)
        rows = {"audit": [], "audit_logs": []}
        if opts.old:
            rows["audit_logs_old"] = []
        names = list(rows)
        for round_no in range(opts.runs):
            order = names[round_no % len(names):] + names[:round_no % len(names)]
            if round_no % 2:
                order.reverse()
            for name in order:
                rows[name].append(run_audit(base, opts.hosts, opts.forks, logs=name != "audit",
                                            collections=opts.old if name == "audit_logs_old" else opts.collections))
                load.append(load_avg())
                row = rows[name][-1]
                print(f"round {round_no + 1}: {name} {row['wall']:.1f} s wall, {row['cpu']:.1f} s CPU, "
                      f"{row['rss'] / MIB:.0f} MiB", flush=True)
        small = None
        if opts.small_kib:
            small = run_audit(base, opts.hosts, opts.forks, logs=True, max_bytes=opts.small_kib * 1024,
                              collections=opts.collections)
            load.append(load_avg())
            print(f"logs_max_bytes {opts.small_kib} KiB: {small['wall']:.1f} s wall, {small['cpu']:.1f} s CPU",
                  flush=True)
        relink(base, hosts, opts.big_mib)
        big = run_audit(base, opts.hosts, opts.forks, logs=True, collections=opts.collections)
        load.append(load_avg())
        print(f"logs of {opts.big_mib} MiB: {big['wall']:.1f} s wall, {big['rss'] / MIB:.0f} MiB", flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    result = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "hosts": opts.hosts, "runs": opts.runs,
              "forks": opts.forks, "log_mib": opts.log_mib, "big_mib": opts.big_mib, "cpus": os.cpu_count(),
              "python": platform.python_version(), "load": load, "rows": rows, "big": big,
              "small": small, "small_kib": opts.small_kib, "old_label": opts.old_label if opts.old else None}
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"logs-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(result, indent=1))
    section = doc_section(result)
    print(section)
    if not opts.no_doc:
        doc = Path(opts.doc)
        text = doc.read_text()
        if BEGIN in text and END in text:
            text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _m: section, text, flags=re.S)
        else:
            text = text.rstrip("\n") + "\n\n## Cost of `logs: true`\n\n" + section + "\n"
        doc.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
