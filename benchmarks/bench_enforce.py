"""Benchmark: an enforce run that changes nothing against ``ansible -m ping`` on the same inventory.

Builds N local hosts (ansible_connection=local), each with its own Flink home (1.17 legacy, 1.20
legacy, 2.3 nested config.yaml in turn) already holding the settings, then runs, interleaved,
several times each:

* ``ansible all -m ping`` -- one Python start-up per host, Ansible's usual floor;
* ``ansible all -m flinkops.flink.flink_config`` with settings every host already has -- one ``sh``
  command per host, the decision on the controller, no Python on the host;
* the same with settings that differ from the file every other run (writes: the module runs), to
  show what a change costs;
* ``ansible-playbook`` of the enforce role with explicit settings (already applied).

Each command is timed whole (start-up and inventory parsing included); wall clock and the CPU
time of ansible and everything under it (less disturbed by other load on a shared machine).
Prints medians and ratios to ping; writes the raw numbers as JSON under benchmarks/results/.
With ``--baseline <commit>`` every command but ping also runs against the collection as it was at that commit
(bench_gather.baseline_root: a ``git archive`` of it), in turns with this checkout (old, new, then new, old),
and the ratios new / old are printed beside.
Usage: bench_enforce.py [--hosts 30] [--runs 3] [--forks 10] [--baseline 65294f9]
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
SETTINGS = {"taskmanager.memory.process.size": "2g", "taskmanager.numberOfTaskSlots": "2"}
FILES = {
    "1.17.2": ("flink-conf.yaml", "# TM\ntaskmanager.memory.process.size: 2g\ntaskmanager.numberOfTaskSlots: 2\n"),
    "1.20.5": ("flink-conf.yaml", "taskmanager.memory.process.size: 2g\ntaskmanager.numberOfTaskSlots: 2\n"),
    "2.3.0": ("config.yaml", "taskmanager:\n  numberOfTaskSlots: 2\n  memory:\n    process:\n      size: 2g\n"),
}
ROLE_PLAY = """- hosts: all
  gather_facts: false
  roles:
    - role: flinkops.flink.enforce
      vars:
        enforce_confirm: true
        enforce_settings: {taskmanager: SETTINGS}
""".replace("SETTINGS", json.dumps(SETTINGS))


def collections_root() -> Path:
    sys.path.insert(0, str(ROOT / "tests"))
    import conftest  # noqa: PLC0415 -- the checkout as ansible_collections.flinkops.flink

    return conftest.COLLECTIONS_ROOT


def build(base: Path, hosts: int) -> Path:
    inventory = {}
    versions = list(FILES)
    for i in range(hosts):
        version = versions[i % len(versions)]
        name, text = FILES[version]
        home = base / f"h{i}" / "flink"
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
        (home / "conf" / name).write_text(text)
        inventory[f"h{i}"] = {"flink_home": str(home)}
    path = base / "inventory.json"
    path.write_text(json.dumps({"all": {"vars": {"ansible_connection": "local",
                                                 "ansible_python_interpreter": sys.executable},
                                        "children": {"flink_taskmanager": {"hosts": inventory}}}}))
    (base / "role.yml").write_text(ROLE_PLAY)
    return path


def timed(cmd: list, env: dict) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... failed ({proc.returncode}):\n"
                         f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return {"wall": wall, "cpu": cpu, "changed": proc.stdout.count("CHANGED") + proc.stdout.count("changed: [")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--baseline", metavar="COMMIT",
                        help="also time the collection at this commit, in turns with this checkout")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="flinkops-bench-enforce-"))
    try:
        inventory = build(base, args.hosts)
        trees = {"new": collections_root()}
        if args.baseline:
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from bench_gather import baseline_root  # noqa: PLC0415 -- one way to check a commit out

            trees = {"old": baseline_root(base, args.baseline), **trees}
        envs = {name: dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(root), ANSIBLE_FORKS=str(args.forks),
                           ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1",
                           ANSIBLE_LOCAL_TEMP=str(base / "tmp"), ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
                for name, root in trees.items()}
        ansible, playbook = str(BIN / "ansible"), str(BIN / "ansible-playbook")
        same = json.dumps({"flink_home": "{{ flink_home }}", "settings": SETTINGS})
        commands = {
            "flink_config (no change)": [ansible, "all", "-i", str(inventory), "-m", "flinkops.flink.flink_config",
                                         "-a", same],
            "enforce role (no change)": [playbook, "-i", str(inventory), str(base / "role.yml")],
        }
        names = [*commands, "flink_config (writes)"]
        results = {"ping": []} | {(tree, name): [] for tree in trees for name in names}
        for env in envs.values():  # warm-up: byte code, caches; not measured
            timed(commands["enforce role (no change)"], env)
        for run in range(args.runs):
            results["ping"].append(timed([ansible, "all", "-i", str(inventory), "-m", "ping"], envs["new"]))
            for tree in (list(trees) if run % 2 == 0 else list(trees)[::-1]):
                env = envs[tree]
                for name, cmd in commands.items():
                    results[tree, name].append(timed(cmd, env))
                # a change on every host, then back (both runs write)
                for slots in ("3", "2"):
                    change = json.dumps({"flink_home": "{{ flink_home }}",
                                         "settings": {**SETTINGS, "taskmanager.numberOfTaskSlots": slots}})
                    results[tree, "flink_config (writes)"].append(timed(
                        [ansible, "all", "-i", str(inventory), "-m", "flinkops.flink.flink_config", "-a", change],
                        env))
            print(f"run {run + 1}/{args.runs} done", file=sys.stderr)
        for tree in trees:
            for name in ("flink_config (no change)", "enforce role (no change)"):
                assert all(r["changed"] == 0 for r in results[tree, name]), f"{tree}: {name} changed something"
        summary = {(name if isinstance(name, str) else " ".join(name)): {
            "wall_s": statistics.median(r["wall"] for r in rs), "cpu_s": statistics.median(r["cpu"] for r in rs)}
            for name, rs in results.items()}
        ping = summary["ping"]
        print(f"{args.hosts} local hosts, forks {args.forks}, {args.runs} runs (medians); load average "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(f"{'command':32} {'wall s':>8} {'x ping':>7} {'CPU s':>8} {'x ping':>7}")
        for name, s in summary.items():
            print(f"{name:32} {s['wall_s']:8.2f} {s['wall_s'] / ping['wall_s']:7.2f} {s['cpu_s']:8.2f} "
                  f"{s['cpu_s'] / ping['cpu_s']:7.2f}")
        if len(trees) == 2:
            for name in names:
                new, old = summary[f"new {name}"], summary[f"old {name}"]
                print(f"new / old  {name:28} wall {new['wall_s'] / old['wall_s']:.3f}  "
                      f"CPU {new['cpu_s'] / old['cpu_s']:.3f}")
        results = {(k if isinstance(k, str) else " ".join(k)): v for k, v in results.items()}
        out = ROOT / "benchmarks" / "results" / f"enforce-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({"hosts": args.hosts, "forks": args.forks, "runs": args.runs,
                                   "baseline": args.baseline,
                                   "python": platform.python_version(), "loadavg": os.getloadavg(),
                                   "summary": summary, "raw": results}, indent=1))
        print(f"raw numbers: {out.relative_to(ROOT)}")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
