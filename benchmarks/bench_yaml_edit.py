#!/usr/bin/env python3
"""Benchmark: the config.yaml editor (one pass) beside the legacy flink-conf.yaml editor, same run.

Cases (issue 13.10):

* **new keys on a one-line file**: 1, 100 and 1,000 settings none of which the file holds
  (``metrics.reporter.r<i>.<field>``: shared prefixes, so each new key goes next to its family),
  on ``taskmanager.memory.process.size: 2g`` as ``config.yaml`` and as ``flink-conf.yaml``;
* **removals on the 40k-key file**: 1, 100 and 1,000 keys, each flat and nested in a family map;
* **a 40k-key file** (about 600 KB, under the gather's size limit): 1 and 50 settings (25 updates
  of keys spread through the file, 25 new keys), and the 50 settings on 10k and 20k keys too, so
  the cost per file size shows whether it grows linearly.

Each figure is CPU seconds of this process (``time.process_time``: the machine is shared), median
of --runs; wall seconds beside it.  ``--sequential`` adds the editor this one replaced
(tests/unit/plugins/plugin_utils/reference/config_yaml_edit_sequential.py, one parse per setting)
on the cases it finishes in reasonable time.  Every result is checked: both editors read back the
intended map (the editors check it themselves and raise otherwise).  Prints a markdown table and
writes docs/benchmarks_yaml_edit.md.

Usage: bench_yaml_edit.py [--runs 3] [--sequential] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks_yaml_edit.md"


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

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import edit_flink_conf  # noqa: E402
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml_edit import edit_config_yaml  # noqa: E402

FIELDS = ("class", "port", "host", "interval", "filter")


def new_settings(n: int) -> dict:
    return {f"metrics.reporter.r{i // len(FIELDS)}.{FIELDS[i % len(FIELDS)]}": str(9000 + i) for i in range(n)}


def big_file(keys: int) -> tuple[str, list]:
    """``keys`` flat keys in 400 families (``g<family>.k<n>: <digit>``, 15 bytes a line), and their names."""
    names = [f"g{n % 400}.k{n}" for n in range(keys)]
    return "".join(f"{name}: {i % 10}\n" for i, name in enumerate(names)), names


def big_settings(names: list, n: int) -> dict:
    updates = {names[i * len(names) // (n // 2 + 1)]: "changed" for i in range(n // 2)} if n > 1 else {}
    adds = {f"g{i * 7 % 400}.added{i}": "new" for i in range(n - len(updates))}
    return {**updates, **adds}


def timed(fn, runs: int) -> tuple[float, float]:
    cpu, wall = [], []
    for _ in range(runs):
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    return statistics.median(cpu), statistics.median(wall)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sequential", action="store_true", help="also time the editor this one replaced")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    sequential = None
    if args.sequential:
        sys.path.insert(0, str(ROOT / "tests" / "unit" / "plugins" / "plugin_utils" / "reference"))
        import config_yaml_edit_sequential as sequential  # noqa: PLC0415

    rows = []

    def row(case, size, n, yaml_fn, legacy_fn, seq_fn=None):
        y_cpu, y_wall = timed(yaml_fn, args.runs)
        l_cpu, l_wall = timed(legacy_fn, args.runs)
        s = timed(seq_fn, 1) if seq_fn is not None else None
        rows.append({"case": case, "bytes": size, "settings": n, "yaml_cpu": y_cpu, "yaml_wall": y_wall,
                     "legacy_cpu": l_cpu, "legacy_wall": l_wall, "sequential_cpu": s and s[0]})
        print(rows[-1], flush=True)

    one_line = b"taskmanager.memory.process.size: 2g\n"
    for n in (1, 100, 1000):
        settings = new_settings(n)
        seq = (lambda s=settings: sequential.edit_config_yaml(one_line, "/c/config.yaml", s)) \
            if sequential is not None and n <= 100 else None
        row("new keys, one-line file", len(one_line), n,
            lambda s=settings: edit_config_yaml(one_line, "/c/config.yaml", s),
            lambda s=settings: edit_flink_conf(one_line, "/c/flink-conf.yaml", s), seq)
    for keys, counts in ((10_000, (50,)), (20_000, (50,)), (40_000, (1, 50))):
        text, names = big_file(keys)
        data = text.encode()
        for n in counts:
            settings = big_settings(names, n)
            seq = (lambda s=settings, d=data: sequential.edit_config_yaml(d, "/c/config.yaml", s)) \
                if sequential is not None and n == 1 else None
            row(f"{keys // 1000}k-key file, half updates, half new" if n > 1 else f"{keys // 1000}k-key file",
                len(data), n, lambda s=settings, d=data: edit_config_yaml(d, "/c/config.yaml", s),
                lambda s=settings, d=data: edit_flink_conf(d, "/c/flink-conf.yaml", s), seq)

    # removals: keys spread through the 40k-key file, each in two places (flat, and nested in a
    # family map), as when an operator retires a setting; the legacy editor removes the same names
    text, names = big_file(40_000)
    for n in (1, 100, 1000):
        gone = [names[i * len(names) // n] for i in range(n)]
        families: dict = {}
        for g in gone:
            families.setdefault(g.split(".")[0], []).append(g.split(".")[1])
        nested = "".join(f"{f}:\n" + "".join(f"  {k}: 5\n" for k in ks) for f, ks in families.items())
        data = (text + nested).encode()
        legacy = (text + "".join(f"{g}: 5\n" for g in gone)).encode()  # flink-conf.yaml has no nesting
        seq = (lambda r=gone, d=data: sequential.edit_config_yaml(d, "/c/config.yaml", {}, r, {})) \
            if sequential is not None and n == 1 else None
        row("40k-key file, removals (2 occurrences each)", len(data), n,
            lambda r=gone, d=data: edit_config_yaml(d, "/c/config.yaml", {}, r, {}),
            lambda r=gone, d=legacy: edit_flink_conf(d, "/c/flink-conf.yaml", {}, r, {}), seq)

    table = ["| Case | File | Settings or removals | config.yaml editor CPU s (wall) | legacy editor CPU s (wall) "
             "| ratio | sequential config.yaml editor CPU s |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        seq = f"{r['sequential_cpu']:.3f}" if r["sequential_cpu"] is not None else "-"
        ratio = r["yaml_cpu"] / max(r["legacy_cpu"], 1e-9)
        table.append(f"| {r['case']} | {r['bytes']:,} B | {r['settings']:,} "
                     f"| {r['yaml_cpu']:.3f} ({r['yaml_wall']:.3f}) | {r['legacy_cpu']:.3f} ({r['legacy_wall']:.3f}) "
                     f"| {ratio:.1f}x | {seq} |")
    per_mb = [(r["bytes"], r["yaml_cpu"] / r["bytes"] * 1e6) for r in rows if r["settings"] == 50]
    linear = ", ".join(f"{b / 1e6:.2f} MB: {c:.2f} CPU s/MB" for b, c in per_mb)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    text = "\n".join(table)
    print(text)
    print("50 settings, cost per MB of file:", linear)
    if not args.no_write:
        DOC.write_text(DOC_TEMPLATE.format(stamp=stamp, load=load, python=platform.python_version(), runs=args.runs,
                                           table=text, linear=linear))
    return 0


DOC_TEMPLATE = """# Benchmark: editing config.yaml in one pass

`benchmarks/bench_yaml_edit.py` (part of `make bench`): the config.yaml editor
(`plugin_utils/config_yaml_edit.edit_config_yaml`) beside the legacy flink-conf.yaml editor
(`module_utils/flink_conf_edit.edit_flink_conf`) on the same settings, in the same run (issue 13.10).
The config.yaml editor used to parse the whole document again for every setting and every removed
occurrence (18.5 s of CPU for 1,000 new keys on a one-line file, 97 s for 50 settings on a 40k-key
file); it now parses once, edits the text where each key is set or removed and keeps its tree up
to date, and parses the result once more to check it
(tests/unit/plugins/plugin_utils/test_config_yaml_edit_one_pass.py compares it byte for byte with the
editor it replaced). A removal right after a block scalar, followed by a blank or comment line, is
followed by one more parse (the scalar may take those lines).

Run {stamp}, 1-minute load average {load:.1f} (the machine is shared), Python {python}; CPU seconds
of the benchmark process, median of {runs} runs (wall seconds in parentheses). The last column is the
editor this one replaced, where `--sequential` timed it (once).

{table}

Targets: 1,000 settings in under 1 s; cost linear in file size. For 50 settings the CPU time per MB of
file is {linear}.

Reproduce: `.venv/bin/python benchmarks/bench_yaml_edit.py [--runs 3] [--sequential]`.
"""

if __name__ == "__main__":
    sys.exit(main())
