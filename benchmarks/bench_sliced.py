#!/usr/bin/env python3
"""Benchmark: the audit of a local fleet unsliced, against ping, and sliced (gather in slices + aggregate).

Fleets of local hosts built as benchmarks/bench_gather.py builds them (Flink 1.17, 1.20 and 2.3 in turn,
every host a TaskManager). Per fleet size N (default 200 and 2,000), in rounds, each command once per
round in an order that rotates:

* ``ping``: ``ansible all -m ansible.builtin.ping``, the baseline of the ratio;
* ``audit``: ``ansible-playbook flinkops.flink.audit`` over every host; checked: every host audited;
* ``sliced``: ``flinkops.flink.gather`` in S slices (AWX's cut: hosts by name, every S-th host), the S
  runs concurrently with --limit and one jsonfile fact cache, then ``flinkops.flink.audit_aggregate``
  once; checked: the aggregate used every host's cached result, and its JSON report equals the
  unsliced audit's (timestamps aside). Its wall time is the slowest slice plus the aggregate.

Every size is built first; each round then runs every size in turn (their order alternating), so the sizes
share the machine's drift and their cost per host compares. ``--commands audit`` times the audit alone (the
cost per host from one size to the next, many rounds in little time).

Reported: median wall seconds, the ratio to ping, seconds per host, and the controller's memory: the
peak of the summed RSS of every process of the command (ansible-playbook and its workers; for the
sliced run, all S slices together), sampled every 0.2 s.

Then the aggregate alone over a fact cache of ``--aggregate-hosts`` (default 10,000) hosts: records
made by a real gather of one host of each kind, stored under every hostname; the whole
``ansible-playbook flinkops.flink.audit_aggregate`` (inventory, cache, lint, drift, the four reports)
and, inside it, the Python part (reading the cache, selecting, lint, drift, report) timed in-process.

Usage: bench_sliced.py [--sizes 200 2000] [--runs 1] [--slices 4] [--forks 10] [--aggregate-hosts 10000]
                       [--commands ping audit sliced]
                       [--doc docs/scale.md | --no-doc]
Raw numbers go to benchmarks/results/sliced-<time>.json. The measurement section of docs/scale.md (between
its markers) is rewritten from them.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PAGE = os.sysconf("SC_PAGE_SIZE")
BEGIN, END = "<!-- bench_sliced:begin -->", "<!-- bench_sliced:end -->"


import bench_gather  # noqa: E402 -- beside this script (its folder is sys.path[0] when run)

COLLECTIONS = bench_gather.collections_root()


# -- measuring --------------------------------------------------------------------------------------------------
class RssSampler:
    """Peak of the summed RSS of every process in the given process groups, sampled in a thread."""

    def __init__(self):
        self.groups: set = set()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _sample(self) -> int:
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
                fields = stat.rsplit(")", 1)[1].split()
                if int(fields[2]) in self.groups:  # pgrp
                    total += int(Path(f"/proc/{entry}/statm").read_text().split()[1]) * PAGE
            except (OSError, ValueError, IndexError):
                continue
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(0.2)


def start(argv: list, env: dict, cwd: Path, sampler: RssSampler) -> subprocess.Popen:
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    sampler.groups.add(proc.pid)
    return proc


def finish(name: str, proc: subprocess.Popen) -> str:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed (rc {proc.returncode}):\n{out[-3000:]}\n{err[-2000:]}")
    return out


def snapshot_root(base: Path) -> Path:
    """A collections root holding a copy of this checkout's files as they are now (tracked and untracked, not
    ignored): a long run is not changed half-way by edits to the shared working tree."""
    tree = base / "ansible_collections" / "flinkops" / "flink"
    names = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-co", "--exclude-standard", "-z"],
                           capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, names):
        src = ROOT / name
        if src.is_file() and not name.startswith(("tests/", "benchmarks/")):
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, tree / name)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "plugins")], check=True)
    return base


# -- fleets and commands ----------------------------------------------------------------------------------------
def build(base: Path, n: int) -> list:
    bench_gather.build(base, n)
    return [f"h{i:03d}" for i in range(n)]


def env_for(base: Path, forks: int, cache: Path | None = None) -> dict:
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_FORKS=str(forks),
               ANSIBLE_PIPELINING="True", ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_LOCAL_TEMP=str(base / "tmp"), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    if cache is not None:
        env.update(ANSIBLE_CACHE_PLUGIN="ansible.builtin.jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(cache))
    return env


def report_without_time(path: Path) -> dict:
    data = json.loads(path.read_text())
    data.pop("generated_at")
    return data


def _children_cpu() -> float:
    # CPU seconds of every finished child: on a shared, loaded machine the wall time says more about the others
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_ping(base: Path, n: int, forks: int) -> dict:
    with RssSampler() as sampler:
        t0, cpu0 = time.perf_counter(), _children_cpu()
        proc = start([str(BIN / "ansible"), "all", "-i", str(base / "inventory.json"), "-m", "ansible.builtin.ping"],
                     env_for(base, forks), base, sampler)
        out = finish("ping", proc)
        wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if len(re.findall(r"SUCCESS", out)) != n:
        raise SystemExit("ping did not reach every host")
    return {"wall": wall, "cpu": cpu, "rss": sampler.peak}


def run_audit(base: Path, n: int, forks: int) -> dict:
    with RssSampler() as sampler:
        t0, cpu0 = time.perf_counter(), _children_cpu()
        proc = start([str(BIN / "ansible-playbook"), "-i", str(base / "inventory.json"), "flinkops.flink.audit",
                      "-e", f"audit_report_dir={base}/audit", "-e", "audit_fail_on=never", "-e", "audit_hosts=all"],
                     env_for(base, forks), base, sampler)
        finish("audit", proc)
        wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    summary = json.loads((base / "audit" / "flink-audit.json").read_text())["summary"]
    if summary["hosts"] != n or summary["hosts_by_status"]["failed"] or summary["hosts_by_status"]["unreachable"]:
        raise SystemExit(f"the audit did not audit every host: {summary}")
    return {"wall": wall, "cpu": cpu, "rss": sampler.peak}


def run_sliced(base: Path, hosts: list, forks: int, slices: int, round_no: int) -> dict:
    cache = base / f"cache-{round_no}"
    shutil.rmtree(cache, ignore_errors=True)
    env = env_for(base, forks, cache)
    ordered = sorted(hosts)
    with RssSampler() as sampler:
        t0, cpu0 = time.perf_counter(), _children_cpu()
        procs = [start([str(BIN / "ansible-playbook"), "-i", str(base / "inventory.json"), "flinkops.flink.gather",
                        "-e", "gather_hosts=all", "--limit", ",".join(ordered[k::slices])], env, base, sampler)
                 for k in range(slices)]
        for k, proc in enumerate(procs):
            finish(f"gather slice {k + 1}", proc)
        gathered, gather_cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    # a sampler of its own: the gather's could still be writing its peak
    with RssSampler() as agg_sampler:
        t1, cpu1 = time.perf_counter(), _children_cpu()
        proc = start([str(BIN / "ansible-playbook"), "-i", str(base / "inventory.json"),
                      "flinkops.flink.audit_aggregate", "-e", f"audit_report_dir={base}/aggregate",
                      "-e", "audit_fail_on=never", "-e", "audit_hosts=all", "-e", f"audit_slice_count={slices}"],
                     env, base, agg_sampler)
        out = finish("aggregate", proc)
        aggregated, aggregate_cpu = time.perf_counter() - t1, _children_cpu() - cpu1
    if f"Cached gather results: {len(hosts)} of {len(hosts)} hosts used" not in out:
        raise SystemExit(f"the aggregate did not use every host's cached result:\n{out[-3000:]}")
    got = report_without_time(base / "aggregate" / "flink-audit.json")
    want = report_without_time(base / "audit" / "flink-audit.json")
    if got != want:
        differ = [key for key in want if got.get(key) != want[key]]
        raise SystemExit(f"the aggregate's report differs from the unsliced audit's in {differ}: "
                         f"{json.dumps({k: got.get(k) for k in differ})[:2000]}")
    return {"wall": gathered + aggregated, "gather_wall": gathered, "aggregate_wall": aggregated,
            "cpu": gather_cpu + aggregate_cpu, "gather_cpu": gather_cpu, "aggregate_cpu": aggregate_cpu,
            "rss": sampler.peak, "rss_aggregate": agg_sampler.peak}


COMMANDS = ("ping", "audit", "sliced")


def bench_sizes(sizes: list, runs: int, forks: int, slices: int, commands=COMMANDS) -> list:
    """Every fleet built first, then in each round every size in turn (the order of sizes alternating between
    rounds, the commands rotating): the sizes share the machine's drift, so their cost per host compares."""
    bases = {n: Path(tempfile.mkdtemp(prefix=f"flinkops-bench-sliced-{n}-")) for n in sizes}
    try:
        hosts = {n: build(bases[n], n) for n in sizes}
        out = {n: {"hosts": n, "rows": {name: [] for name in commands}} for n in sizes}
        order = list(commands)
        for round_no in range(runs):
            rotated = order[round_no % len(order):] + order[:round_no % len(order)]
            if "sliced" in rotated and rotated.index("sliced") < rotated.index("audit"):
                rotated.remove("sliced")  # the sliced run compares its report with this round's audit
                rotated.insert(rotated.index("audit") + 1, "sliced")
            for n in sizes if round_no % 2 == 0 else sizes[::-1]:
                base, rows = bases[n], out[n]["rows"]
                for name in rotated:
                    if name == "ping":
                        rows[name].append(run_ping(base, n, forks))
                    elif name == "audit":
                        rows[name].append(run_audit(base, n, forks))
                    else:
                        rows[name].append(run_sliced(base, hosts[n], forks, slices, round_no))
                    rows[name][-1]["load_after"] = os.getloadavg()[0]
                    print(f"  {n} hosts, round {round_no + 1}: {name} {rows[name][-1]['wall']:.1f} s, "
                          f"CPU {rows[name][-1]['cpu']:.1f} s, load {os.getloadavg()[0]:.1f}", flush=True)
        return [out[n] for n in sizes]
    finally:
        for base in bases.values():
            shutil.rmtree(base, ignore_errors=True)


# -- the aggregate over a large cache ---------------------------------------------------------------------------
IN_PROCESS = r"""
import json, sys, time, tempfile
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader()
from ansible_collections.flinkops.flink.plugins.filter import cached_gather as cg
from ansible_collections.flinkops.flink.plugins.action.audit_report import analyse
from ansible_collections.flinkops.flink.plugins.plugin_utils import report as rp
hosts = json.loads(open(sys.argv[1]).read())
c0, t0 = time.process_time(), time.perf_counter()
selection = cg.cached_gather(hosts, max_age=86400, slice_count=4)
t1 = time.perf_counter()
findings, drift, live = analyse(selection["results"], memory_limits={}, group_by="process")
t2 = time.perf_counter()
report = rp.build_report(selection["results"], findings, drift, fail_on="never", memory_limits={})
paths, _ = rp.write_reports(report, tempfile.mkdtemp(), rp.FORMATS)
t3 = time.perf_counter()
assert selection["summary"]["used"] == len(hosts), selection["summary"]
print(json.dumps({"read_select": t1 - t0, "lint_drift": t2 - t1, "report": t3 - t2, "total": t3 - t0,
                  "cpu": time.process_time() - c0}))
"""


def bench_aggregate(n: int, forks: int, runs: int) -> dict:
    base = Path(tempfile.mkdtemp(prefix=f"flinkops-bench-aggregate-{n}-"))
    try:
        # one real gather of a host of each kind, into a jsonfile cache
        build(base / "seed", 3)
        seed_cache = base / "seed-cache"
        proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(base / "seed" / "inventory.json"),
                               "flinkops.flink.gather", "-e", "gather_hosts=all"],
                              env=env_for(base, forks, seed_cache), capture_output=True, text=True, cwd=base)
        if proc.returncode != 0:
            raise SystemExit(f"seed gather failed:\n{proc.stdout[-3000:]}")
        seeds = sorted(seed_cache.iterdir())
        cache = base / "cache"
        cache.mkdir()
        hosts = [f"h{i:05d}" for i in range(n)]
        prefix = seeds[0].name.rsplit("h000", 1)[0]  # ansible-core's schema prefix of the cache keys
        for i, host in enumerate(hosts):
            shutil.copyfile(seeds[i % len(seeds)], cache / f"{prefix}{host}")
        inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                             "hosts": {h: {} for h in hosts},
                             "children": {"flink_taskmanager": {"hosts": {h: None for h in hosts}}}}}
        (base / "inventory.json").write_text(json.dumps(inventory))
        (base / "hosts.json").write_text(json.dumps(hosts))
        env = env_for(base, forks, cache)
        out = {"hosts": n, "playbook": [], "playbook_cpu": [], "python": [], "rss": []}
        for _ in range(runs):
            with RssSampler() as sampler:
                t0, cpu0 = time.perf_counter(), _children_cpu()
                proc = start([str(BIN / "ansible-playbook"), "-i", str(base / "inventory.json"),
                              "flinkops.flink.audit_aggregate", "-e", f"audit_report_dir={base}/report",
                              "-e", "audit_fail_on=never", "-e", "audit_max_age=86400"], env, base, sampler)
                text = finish("aggregate", proc)
                out["playbook"].append(time.perf_counter() - t0)
                out["playbook_cpu"].append(_children_cpu() - cpu0)
            out["rss"].append(sampler.peak)
            if f"Cached gather results: {n} of {n} hosts used" not in text:
                raise SystemExit(f"the aggregate did not use every cached host:\n{text[-3000:]}")
            proc = subprocess.run([sys.executable, "-c", IN_PROCESS, str(base / "hosts.json")], env=dict(
                env, PYTHONPATH=str(COLLECTIONS)), capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(f"in-process aggregate failed:\n{proc.stderr[-3000:]}")
            out["python"].append(json.loads(proc.stdout.strip().splitlines()[-1]))
            print(f"  aggregate over {n} cached hosts: playbook {out['playbook'][-1]:.1f} s "
                  f"(CPU {out['playbook_cpu'][-1]:.1f} s), "
                  f"python part {out['python'][-1]['total']:.2f} s", flush=True)
        return out
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- the document -----------------------------------------------------------------------------------------------
def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _mib(value) -> str:
    return f"{value / (1 << 20):.0f} MiB" if value is not None else "n/a"


def _cpu_of(rows, key="cpu"):
    return _median([r.get(key) for r in rows])


def _wall(size: dict, name: str):
    return _median([r["wall"] for r in size["rows"][name]])


def _s(value) -> str:
    return f"{value:.1f}" if value is not None else "n/a"


def render(raw: dict) -> str:
    lines = [BEGIN, "",
             f"Measured {raw['when']} on this machine ({raw['cpus']} CPUs shared with other work, load average "
             f"{raw['load']} at the start{raw.get('load_note', '')}; Python {raw['python']}, forks {raw['forks']}, "
             "pipelining on, "
             f"{raw['runs']} round(s), medians"
             + (f"; collection at {raw['commit']}" + (" plus uncommitted changes" if raw.get("dirty") else "")
                if raw.get("commit") else "")
             + "). Local hosts (ansible_connection=local): no network, the controller's own cost. "
             "CPU is user + system seconds of the command and every process under it: the load of the other "
             "work inflates it far less than the wall time.", "",
             "| Hosts | ping s (CPU s) | audit s (CPU s) | audit / ping (CPU) | audit per host: wall (CPU) "
             f"| sliced (gather x{raw['slices']} + aggregate) s (CPU s) | of which aggregate s (CPU s) "
             "| peak RSS audit | peak RSS sliced (all slices) | peak RSS aggregate | load average after audit |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for size in raw["sizes"]:
        rows = {name: size["rows"].get(name, []) for name in COMMANDS}  # a run may leave out ping or sliced
        ping = _median([r["wall"] for r in rows["ping"]])
        audit = _median([r["wall"] for r in rows["audit"]])
        ping_cpu, audit_cpu = _cpu_of(rows["ping"]), _cpu_of(rows["audit"])
        cpu_ratio = f" ({audit_cpu / ping_cpu:.2f}x)" if ping_cpu and audit_cpu else ""
        per_cpu = f" ({audit_cpu / size['hosts'] * 1000:.1f} ms)" if audit_cpu else ""
        load = _median([r.get("load_after") for r in rows["audit"]])
        lines.append(
            f"| {size['hosts']:,} | {_s(ping)} ({_s(ping_cpu)}) | {audit:.1f} ({_s(audit_cpu)})"
            f" | {f'{audit / ping:.2f}x' if ping else 'n/a'}{cpu_ratio}"
            f" | {audit / size['hosts'] * 1000:.1f} ms{per_cpu}"
            f" | {_s(_median([r['wall'] for r in rows['sliced']]))} ({_s(_cpu_of(rows['sliced']))})"
            f" | {_s(_median([r['aggregate_wall'] for r in rows['sliced']]))}"
            f" ({_s(_cpu_of(rows['sliced'], 'aggregate_cpu'))})"
            f" | {_mib(_median([r['rss'] for r in rows['audit']]))}"
            f" | {_mib(_median([r['rss'] for r in rows['sliced']]))}"
            f" | {_mib(_median([r['rss_aggregate'] for r in rows['sliced']]))}"
            f" | {_s(load)} |")
    if len(raw["sizes"]) >= 2:
        first, last = raw["sizes"][0], raw["sizes"][-1]
        per = [_median([r["wall"] for r in s["rows"]["audit"]]) / s["hosts"] for s in (first, last)]
        if all(s["rows"].get("ping") for s in (first, last)):
            ratio = [f"{_wall(s, 'audit') / _wall(s, 'ping'):.2f}x" for s in (first, last)]
        else:
            ratio = ["n/a (ping not run)"] * 2
        lines += ["", f"Audit per host from {first['hosts']:,} to {last['hosts']:,} hosts: wall "
                      f"{per[0] * 1000:.1f} -> {per[-1] * 1000:.1f} ms ({(per[-1] / per[0] - 1) * 100:+.0f}%)"]
        cpus = [_cpu_of(s["rows"]["audit"]) for s in (first, last)]
        if all(cpus) and all(s["rows"].get("ping") and s["rows"].get("sliced") for s in (first, last)):
            per_cpu = [c / s["hosts"] for c, s in zip(cpus, (first, last), strict=True)]
            ping_cpu = [_cpu_of(s["rows"]["ping"]) / s["hosts"] for s in (first, last)]
            gather_cpu = [_cpu_of(s["rows"]["sliced"], "gather_cpu") / s["hosts"] for s in (first, last)]
            lines[-1] += (f", CPU {per_cpu[0] * 1000:.1f} -> {per_cpu[-1] * 1000:.1f} ms "
                          f"({(per_cpu[-1] / per_cpu[0] - 1) * 100:+.0f}%)")
            lines[-1] += (f" (target: within 20%); against ping {ratio[0]} -> {ratio[-1]}. In the same run, "
                          f"CPU per host of ping {ping_cpu[0] * 1000:.0f} -> {ping_cpu[-1] * 1000:.0f} ms "
                          f"({(ping_cpu[-1] / ping_cpu[0] - 1) * 100:+.0f}%), of the sliced gather "
                          f"{gather_cpu[0] * 1000:.0f} -> {gather_cpu[-1] * 1000:.0f} ms "
                          f"({(gather_cpu[-1] / gather_cpu[0] - 1) * 100:+.0f}%).")
        elif all(cpus):
            per_cpu = [c / s["hosts"] for c, s in zip(cpus, (first, last), strict=True)]
            lines[-1] += (f", CPU {per_cpu[0] * 1000:.1f} -> {per_cpu[-1] * 1000:.1f} ms "
                          f"({(per_cpu[-1] / per_cpu[0] - 1) * 100:+.0f}%) (target: within 20%); against ping "
                          f"{ratio[0]} -> {ratio[-1]}.")
        else:
            lines[-1] += f" (target: within 20%); against ping {ratio[0]} -> {ratio[-1]}."
    agg = raw.get("aggregate")
    if agg:
        py = agg["python"]
        lines += ["", f"The aggregate over {agg['hosts']:,} cached hosts (jsonfile cache; records of a real gather "
                      "stored under every hostname): the whole `ansible-playbook flinkops.flink.audit_aggregate` "
                      f"{_median(agg['playbook']):.1f} s (target: under 5 s)"
                      + (f", {_median(agg['playbook_cpu']):.1f} s of CPU (its processes together)"
                         if agg.get("playbook_cpu") else "") + ", peak RSS "
                      f"{_mib(_median(agg['rss']))}; its Python part in-process "
                      f"{_median([p['total'] for p in py]):.2f} s"
                      + (f" ({_median([p['cpu'] for p in py if 'cpu' in p]):.2f} s of CPU)"
                         if all("cpu" in p for p in py) else "") + " (reading and selecting the cache "
                      f"{_median([p['read_select'] for p in py]):.2f} s, lint and drift "
                      f"{_median([p['lint_drift'] for p in py]):.2f} s, the four reports "
                      f"{_median([p['report'] for p in py]):.2f} s)."]
    lines += ["", END]
    return "\n".join(lines)


def write_doc(doc: Path, raw: dict) -> None:
    text = doc.read_text() if doc.exists() else ""
    block = render(raw)
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[200, 2000])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--slices", type=int, default=4)
    ap.add_argument("--forks", type=int, default=10)
    ap.add_argument("--aggregate-hosts", type=int, default=10000, help="0: no aggregate over a large cache")
    ap.add_argument("--commands", nargs="+", choices=COMMANDS, default=list(COMMANDS),
                    help="what runs per size (sliced needs audit: it compares with the audit's report)")
    ap.add_argument("--doc", type=Path, default=ROOT / "docs" / "scale.md")
    ap.add_argument("--no-doc", action="store_true")
    ap.add_argument("--from-json", type=Path, help="rewrite the doc from an earlier run's raw numbers")
    ap.add_argument("--snapshot", action="store_true",
                    help="run a copy of the checkout taken at the start (the shared tree may change meanwhile)")
    opts = ap.parse_args()
    global COLLECTIONS  # noqa: PLW0603 -- the one collections root of this run
    if opts.snapshot and not opts.from_json:
        COLLECTIONS = snapshot_root(Path(tempfile.mkdtemp(prefix="flinkops-bench-snapshot-")))
        atexit.register(shutil.rmtree, COLLECTIONS, ignore_errors=True)
    if opts.from_json:
        raw = json.loads(opts.from_json.read_text())
    else:
        raw = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpus": os.cpu_count(),
               "load": f"{os.getloadavg()[0]:.1f}", "python": platform.python_version(), "forks": opts.forks,
               "runs": opts.runs, "slices": opts.slices, "sizes": [],
               "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True).stdout.strip(),
               "dirty": bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "plugins", "roles",
                                             "playbooks"], capture_output=True, text=True).stdout.strip())}
        if "sliced" in opts.commands and "audit" not in opts.commands:
            ap.error("--commands sliced needs audit: the sliced run's report is checked against the audit's")
        raw["commands"] = opts.commands
        if opts.sizes:
            raw["sizes"] = bench_sizes(opts.sizes, opts.runs, opts.forks, opts.slices, opts.commands)
        if opts.aggregate_hosts:
            raw["aggregate"] = bench_aggregate(opts.aggregate_hosts, opts.forks, opts.runs)
        results = ROOT / "benchmarks" / "results"
        results.mkdir(exist_ok=True)
        (results / f"sliced-{time.strftime('%Y%m%d-%H%M%S')}.json").write_text(json.dumps(raw, indent=1))
    print(render(raw))
    if not opts.no_doc:
        write_doc(opts.doc, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
