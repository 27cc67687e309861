#!/usr/bin/env python3
"""Benchmark: our memory model against Flink's own calculator, on the same generated configs.

Side by side, in one run, for one Flink version (default 2.3):

(a) ``memory_model.compute`` in this Python process: configs per second, median of 5 runs;
(b) Flink's calculator warm in one JVM through the oracle harness (tests/oracle/oracle.py):
    configs per second including the pipe round trips, median of 5 runs after one warm-up;
(c) a fresh JVM per config, as the start scripts do: ``java -cp flink-dist.jar:bash-java-utils.jar
    org.apache.flink.runtime.util.bash.BashJavaUtils GET_TM_RESOURCE_PARAMS --configDir <dir>``
    (or GET_JM_RESOURCE_PARAMS) on a small sample written to real config files; its printed JVM
    parameters and dynamic properties are checked against the warm harness on the way.

The configs come from tests/oracle/generate.py (the differential test's generator, same seed),
TaskManager and JobManager mixed 60/40. Prints a markdown table with machine notes and writes it,
with the raw numbers as JSON, under benchmarks/results/. Nothing here asserts on time.

``--lines 1.14,1.15,1.16,2.3`` instead compares Flink lines with each other, our model only: the
same configs (every listed line's generated cases, pooled) resolved as each line, in one process,
the lines in turns (a rotating order per round, after one warm-up round), CPU time of this process.
Per line: configs per CPU-second (median, best, worst of the rounds) and, per round, the rate
against the last line's in that round (its median: other load drifts slowly, so a round's lines
share it). ``--baseline COMMIT`` adds that commit's model as more columns of the same rounds
(``git archive`` of its plugins/, imported beside this checkout's), and checks on the way that
both give the same result, byte for byte, for every config on every line.

``--compute-only LINE`` (with ``--lines``) resolves the pooled configs once as LINE and prints nothing:
run under ``valgrind --tool=cachegrind --cache-sim=no``, its instruction count minus that of
``--compute-only none`` (same pool, no resolving) is a figure other load cannot disturb.

Usage: bench_memory_model.py [--version 2.3] [--cases 4000] [--runs 5] [--fresh 20]
       bench_memory_model.py --lines 1.14,1.15,1.16,2.3 [--cases 2000] [--runs 9] [--baseline COMMIT]
       bench_memory_model.py --lines 1.14,1.15,1.16,2.3 --cases 1000 --compute-only 1.16|none
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "oracle"))

import flink_dist  # noqa: E402  (tests/oracle is not a package)
import generate  # noqa: E402
import oracle as oracle_mod  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def _import_compute():
    """Import the collection as ``ansible_collections.flinkops.flink`` (a symlink, as tests/conftest.py does)."""
    base = Path(tempfile.gettempdir()) / f"flinkops-bench-{os.getuid()}"
    link = base / "ansible_collections" / "flinkops" / "flink"
    if not link.is_symlink() or link.resolve() != ROOT:
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f"flink.{os.getpid()}")
        tmp.symlink_to(ROOT)
        os.replace(tmp, link)
    sys.path.insert(0, str(base))
    from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute

    return compute


_MODEL = "ansible_collections.flinkops.flink.plugins.module_utils.memory_model"


def _import_baseline(commit: str, workdir: Path):
    """``compute`` of ``commit``'s plugins/, imported beside this checkout's: its modules are loaded under
    the collection's names, then moved out of sys.modules (their functions keep their own globals)."""
    tree = workdir / "ansible_collections" / "flinkops" / "flink"
    tree.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "plugins"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    ours = {k: sys.modules.pop(k) for k in list(sys.modules) if k.split(".")[0] == "ansible_collections"}
    sys.path.insert(0, str(workdir))
    try:
        module = importlib.import_module(_MODEL)
    finally:
        sys.path.remove(str(workdir))
        for k in [k for k in sys.modules if k.split(".")[0] == "ansible_collections"]:
            del sys.modules[k]
        sys.modules.update(ours)
    if not Path(module.__file__).resolve().is_relative_to(workdir.resolve()):
        raise SystemExit(f"baseline import resolved to {module.__file__}, not the archive of {commit}")
    return module.compute


def _cases(version: str, total: int):
    cases = []
    for process, count in generate.split(total).items():
        cases += generate.generate(process, version, count)
    return cases


def bench_ours(compute, cases, version, runs):
    """Per run: (configs per wall-clock second, configs per CPU second of this process)."""
    results = []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        for case in cases:
            compute(case.config, case.process, version)
        results.append((len(cases) / (time.perf_counter() - wall), len(cases) / (time.process_time() - cpu)))
    return results


def bench_warm(flink, cases, runs):
    """As bench_ours; CPU is this process (framing, pipes) plus every JVM thread (calculator, JIT, GC)."""
    by_process = {p: [c.config for c in cases if c.process == p] for p in ("taskmanager", "jobmanager")}

    def once():
        wall, cpu, jvm = time.perf_counter(), time.process_time(), flink.jvm_cpu_seconds()
        for process, configs in by_process.items():
            flink.memory_many(process, configs, sizes=False)  # BashJavaUtils alone, no mirror
        used = time.process_time() - cpu + flink.jvm_cpu_seconds() - jvm
        return len(cases) / (time.perf_counter() - wall), len(cases) / used

    once()  # warm-up: JVM start, class loading and JIT are not what (b) measures
    return [once() for _ in range(runs)]


def _plain(config: dict) -> bool:
    # Values the legacy flink-conf.yaml parser keeps verbatim (no '#', no line breaks, no quotes).
    return all(not re.search(r"[#\n\r\"'\x00-\x1f\u0080-\uffff]", k + v) and k.strip() == k
               and v.strip() == v and v for k, v in config.items())


def _write_conf(directory: Path, version: str, config: dict) -> None:
    lines = []
    if version.startswith("1."):
        name = "flink-conf.yaml"
        lines = [f"{k}: {v}" for k, v in config.items()]
    else:
        name = "config.yaml"  # every value as a YAML string, as Flink's Configuration keeps it
        lines = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in config.items()]
    (directory / name).write_text("\n".join(lines) + "\n")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bench_fresh(flink, cases, version, sample):
    """One JVM per config through BashJavaUtils' command line; checked against the warm harness.

    Returns (wall seconds per config, CPU seconds per config): the CPU of each finished JVM.
    """
    chosen = [c for c in cases if _plain(c.config)][:sample]
    wall, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(chosen):
            conf = Path(tmp) / f"conf{i}"
            conf.mkdir()
            _write_conf(conf, version, case.config)
            started, children = time.perf_counter(), _children_cpu()
            fresh = oracle_mod.bash_java_utils(version, case.process, conf)
            wall.append(time.perf_counter() - started)
            cpu.append(_children_cpu() - children)
            warm = flink.memory(case.process, case.config)
            if warm["valid"]:
                same = (fresh["jvm_params"] == warm["jvm_params"]
                        and fresh["dynamic_properties"] == warm["dynamic_properties"])
            else:
                same = fresh["returncode"] != 0 and fresh["jvm_params"] is None
            if not same:
                raise SystemExit(f"fresh BashJavaUtils and the warm harness disagree on {case.config}:\n"
                                 f"{fresh['output'][-3000:]}\nwarm: {warm}")
    return wall, cpu


def bench_lines(models: dict, cases, lines, runs, own=None):
    """rates[(model, line)] = configs per CPU-second in each round; rounds rotate the order of the columns.
    ``own``: line -> that line's own generated cases, timed as (first model, line, "own") in the same rounds."""
    columns = [(m, line) for line in lines for m in models]
    columns += [(next(iter(models)), line, "own") for line in own or ()]
    rates = {c: [] for c in columns}
    for round_no in range(runs + 1):  # round 0 warms caches and is not kept
        shift = round_no % len(columns)
        for column in columns[shift:] + columns[:shift]:
            compute, line = models[column[0]], column[1]
            batch = own[line] if len(column) > 2 else cases
            cpu = time.process_time()
            for case in batch:
                compute(case.config, case.process, line)
            used = time.process_time() - cpu
            if round_no:
                rates[column].append(len(batch) / used)
    return rates


def _same_results(models: dict, cases, lines) -> int:
    """Every model gives the same result (repr: every byte, every field) on every case and line."""
    (first, compute), *others = models.items()
    for line in lines:
        for case in cases:
            mine = repr(compute(case.config, case.process, line))
            for name, other in others:
                theirs = repr(other(case.config, case.process, line))
                if theirs != mine:
                    raise SystemExit(f"{name} and {first} differ on {line} {case.process} {case.config}:\n"
                                     f"{theirs}\n{mine}")
    return len(cases) * len(lines)


def compute_only(args, lines) -> int:
    """The pooled configs resolved once as ``args.compute_only`` (``none``: not at all), caches warmed alike."""
    compute = _import_compute()
    cases = [c for line in lines for c in _cases(line, args.cases)]
    for line in lines:
        compute(cases[0].config, cases[0].process, line)
    if args.compute_only != "none":
        for case in cases:
            compute(case.config, case.process, args.compute_only)
    return 0


def main_lines(args) -> int:
    lines = [flink_dist.full_version(v).rsplit(".", 1)[0] for v in args.lines.split(",")]
    if args.compute_only:
        return compute_only(args, lines)
    load_start = os.getloadavg()
    models = {"this checkout": _import_compute()}
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline:
            commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline],
                                    capture_output=True, text=True, check=True).stdout.strip()
            models[f"baseline {commit}"] = _import_baseline(args.baseline, Path(tmp))
        own = {line: _cases(line, args.cases) for line in lines}
        cases = [c for line in lines for c in own[line]]  # pooled: the same configs for every line
        compared = _same_results(models, cases, lines) if len(models) > 1 else 0
        valid = {line: sum(models["this checkout"](c.config, c.process, line)["valid"] for c in cases) / len(cases)
                 for line in lines}
        rates = bench_lines(models, cases, lines, args.runs, own)
        own_valid = {line: sum(models["this checkout"](c.config, c.process, line)["valid"] for c in own[line])
                     / len(own[line]) for line in lines}
    load_end = os.getloadavg()
    ref = lines[-1]
    table = [
        "| Model | Flink line | Valid | Configs per CPU-second (median) | Best | Worst | "
        f"Per round, against {ref} of the same model (median, range) |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for model in models:
        for line in lines:
            r = rates[(model, line)]
            ratios = [a / b for a, b in zip(r, rates[(model, ref)], strict=True)]
            shown = "1" if line == ref else (f"{statistics.median(ratios):.3f} "
                                             f"({min(ratios):.3f}-{max(ratios):.3f})")
            table.append(f"| {model} | {line} | {valid[line]:.0%} | {statistics.median(r):,.0f} | {max(r):,.0f} | "
                         f"{min(r):,.0f} | {shown} |")
    if len(models) > 1:
        base = list(models)[1]
        table += ["", f"| Flink line | This checkout against {base} (per round: median, range) |", "|---|---|"]
        for line in lines:
            ratios = [a / b for a, b in zip(rates[("this checkout", line)], rates[(base, line)], strict=True)]
            table.append(f"| {line} | {statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}) |")
    table += ["", "Each line on its own generated configs (as `--version` times (a)), this checkout, same rounds:", "",
              f"| Flink line | Configs | Valid | Configs per CPU-second (median) | Per round, against {ref} "
              "(median, range) |", "|---|---:|---:|---:|---|"]
    for line in lines:
        r = rates[("this checkout", line, "own")]
        ratios = [a / b for a, b in zip(r, rates[("this checkout", ref, "own")], strict=True)]
        shown = "1" if line == ref else f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})"
        table.append(f"| {line} | {len(own[line]):,} | {own_valid[line]:.0%} | {statistics.median(r):,.0f} | {shown} |")
    notes = (
        f"{len(cases):,} configs ({args.cases:,} generated per line for {', '.join(lines)}, seed "
        f"{generate.DEFAULT_SEED}, pooled), each resolved as every line; {args.runs} rounds after a warm-up round, "
        f"the columns in a rotating order; CPU time of this process."
        + (f" Both models gave the same result on all {compared:,} (config, line) pairs." if compared else "")
        + f"\nMachine: {os.cpu_count()} CPUs, Python {platform.python_version()}; load average (1, 5, 15 min) "
        f"{' '.join(f'{x:.2f}' for x in load_start)} at the start, {' '.join(f'{x:.2f}' for x in load_end)} at the end."
    )
    text = "\n".join(table) + "\n\n" + notes + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = RESULTS / f"memory-model-lines-{stamp}"
    out.with_suffix(".md").write_text(text)
    out.with_suffix(".json").write_text(json.dumps({
        "lines": lines, "cases": len(cases), "runs": args.runs, "baseline": args.baseline,
        "rates_cpu": {" | ".join(c): r for c, r in rates.items()}, "valid_share": valid, "own_valid_share": own_valid,
        "loadavg_start": load_start, "loadavg_end": load_end, "same_results_checked": compared,
    }, indent=1))
    print(f"written to {out.with_suffix('.md')}")
    return 0


def _machine(flink) -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False).stderr
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "java": java.splitlines()[0] if java else "unknown",
        "java_runtime": flink.java_version,
        "flink": flink.flink_version,
        "os": platform.platform(),
        "loadavg_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews every figure
    }


def _ratio(rate: float, ours: float) -> str:
    if rate == ours:
        return "1"
    r = rate / ours
    if r > 1:
        return f"{r:.2f} (Flink {r:.2f}x faster)"
    speedup = 1 / r
    return f"{r:.3g} (ours {speedup:,.0f}x faster)" if speedup >= 100 else f"{r:.3g} (ours {speedup:.1f}x faster)"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default="2.3", help="Flink minor line or release (default 2.3)")
    parser.add_argument("--cases", type=int, default=4000, help="generated configs (default 4000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs for (a) and (b) (default 5)")
    parser.add_argument("--fresh", type=int, default=20, help="configs for the fresh-JVM run (default 20)")
    parser.add_argument("--lines", help="compare these Flink lines with each other (our model only), e.g. "
                        "1.14,1.15,1.16,2.3; the last is the reference")
    parser.add_argument("--baseline", help="with --lines: also time this commit's model in the same rounds")
    parser.add_argument("--compute-only", help="with --lines: resolve the pool once as this line (or none), for "
                        "an instruction count under valgrind")
    args = parser.parse_args(argv)
    if args.lines:
        if args.cases == parser.get_default("cases"):
            args.cases = 2000
        if args.runs == parser.get_default("runs"):
            args.runs = 9
        return main_lines(args)
    if args.baseline:
        parser.error("--baseline needs --lines")

    version = flink_dist.full_version(args.version)
    line = ".".join(version.split(".")[:2])
    compute = _import_compute()
    cases = _cases(line, args.cases)
    with oracle_mod.FlinkOracle(version, quick_start=False) as flink:  # full JIT: Flink at its best
        ours = bench_ours(compute, cases, line, args.runs)
        warm = bench_warm(flink, cases, args.runs)
        fresh_wall, fresh_cpu = bench_fresh(flink, cases, version, args.fresh)
        machine = _machine(flink)
        valid_share = sum(
            r["valid"] for p in ("taskmanager", "jobmanager")
            for r in flink.memory_many(p, [c.config for c in cases if c.process == p])
        ) / len(cases)

    ours_wall = statistics.median(r[0] for r in ours)
    ours_cpu = statistics.median(r[1] for r in ours)
    rows = [
        ("(a) our model, in-process (`memory_model.compute`)", len(cases), f"median of {args.runs}",
         ours_wall, ours_cpu),
        ("(b) Flink's calculator, warm JVM via the oracle harness (incl. IPC)", len(cases),
         f"median of {args.runs}", statistics.median(r[0] for r in warm), statistics.median(r[1] for r in warm)),
        ("(c) Flink's BashJavaUtils, fresh JVM per config (as the start scripts)", len(fresh_wall),
         f"mean {statistics.mean(fresh_wall) * 1000:.0f} ms, {statistics.mean(fresh_cpu) * 1000:.0f} CPU-ms",
         len(fresh_wall) / sum(fresh_wall), len(fresh_cpu) / sum(fresh_cpu)),
    ]
    table = [
        "| Method | Configs | Timing | Configs/s (wall) | Configs per CPU-second | Ratio to our model (CPU) |",
        "|---|---:|---|---:|---:|---|",
    ]
    for name, count, timing, rate, cpu_rate in rows:
        ratio = _ratio(cpu_rate, ours_cpu)
        table.append(f"| {name} | {count:,} | {timing} | {rate:,.1f} | {cpu_rate:,.1f} | {ratio} |")
    notes = (
        f"Flink {machine['flink']}; {len(cases):,} generated configs (seed {generate.DEFAULT_SEED}, "
        f"TaskManager/JobManager 60/40, {valid_share:.0%} valid); fresh-JVM sample: {len(fresh_wall)} plain configs "
        f"written to {'flink-conf.yaml' if line.startswith('1.') else 'config.yaml'}, each result checked "
        f"against the warm harness.\n"
        f"Machine: {machine['nproc']} CPUs ({machine['cpu']}), Python {machine['python']}, "
        f"{machine['java']} ({machine['java_runtime']}), {machine['os']}; 1-minute load average at the end "
        f"{machine['loadavg_1m']}."
    )
    text = "\n".join(table) + "\n\n" + notes + "\n"
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"memory-model-{line}-{stamp}.md").write_text(text)
    (RESULTS / f"memory-model-{line}-{stamp}.json").write_text(json.dumps({
        "version": version, "cases": len(cases), "runs": args.runs,
        "ours_rates_wall_cpu": ours, "warm_rates_wall_cpu": warm,
        "fresh_wall_seconds": fresh_wall, "fresh_cpu_seconds": fresh_cpu,
        "valid_share": valid_share, "machine": machine,
    }, indent=1))
    print(f"written to {RESULTS / f'memory-model-{line}-{stamp}.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
