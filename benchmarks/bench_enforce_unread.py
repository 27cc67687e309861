#!/usr/bin/env python3
"""Benchmark: what reporting the keys Flink does not read (issue 15.4) costs an enforce run that changes nothing.

N local TaskManager hosts (benchmarks/bench_gather.py's fleet: Flink 1.17 legacy, 1.20 with both files,
2.3 nested config.yaml in turn), converged once to one policy (not timed), so every host is compliant
and, in the playbook, not contacted: the outcome now reads each such host's gather and runs config_lint's
key checks on it, once for the play. Timed, in the same run and in turns (old, new, new, old, ...):
``ansible-playbook flinkops.flink.enforce`` with this checkout and with the collection as it was at
``--baseline`` (``git archive`` into a temporary collections root; the shared checkout is untouched).
Also the outcome decision alone (plugin_utils.enforce.outcome over N gathered hosts) in this process.

Usage: bench_enforce_unread.py [--hosts 200] [--runs 3] --baseline <commit>
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_gather  # noqa: E402

POLICY = {"enforce_policy": {"taskmanager": {"process_size": "4g", "slots": 4, "managed_fraction": 0.4}},
          "enforce_confirm": True}


def collections_root(base: Path, name: str, tree: Path | None, commit: str | None) -> Path:
    root = base / name / "ansible_collections" / "flinkops"
    root.mkdir(parents=True)
    if commit:
        target = root / "flink"
        target.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    else:
        (root / "flink").symlink_to(tree)
    return base / name


def run(base: Path, coll: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", str(base / "inventory.json"), "flinkops.flink.enforce",
                           "-e", f"@{base / 'policy.json'}"], capture_output=True, text=True, cwd=base,
                          env={"PATH": f"{BIN}:/usr/bin:/bin", "ANSIBLE_COLLECTIONS_PATH": str(coll),
                               "ANSIBLE_LOCAL_TEMP": str(base / "tmp"), "HOME": str(Path.home()),
                               "ANSIBLE_FORKS": "10"})
    took = time.perf_counter() - start
    if proc.returncode != 0 or "0 changed, 0 would change" not in proc.stdout:
        raise SystemExit(f"enforce failed or changed something:\n{proc.stdout[-3000:]}\n{proc.stderr[-2000:]}")
    return took


def decision_only(n: int, repeat: int = 5) -> float:
    from ansible_collections.flinkops.flink.plugins.plugin_utils import enforce

    configs = [{"taskmanager.memory.process.size": "4g", "taskmanager.numberOfTaskSlots": "4",
                "taskmanager.memory.managed.fraction": "0.4", "parallelism.default": "2",
                "state.backend.type": "rocksdb", "execution.checkpointing.interval": "10 s"}] * n
    versions = ["1.17.2", "1.20.5", "2.3.0"]
    gathered = {f"h{i:03d}": {"config": dict(c), "flink_version": versions[i % 3]} for i, c in enumerate(configs)}
    best = []
    for _ in range(repeat):
        start = time.perf_counter()
        enforce.outcome({}, [], [], [], compliant=list(gathered), confirmed=True, gathered=gathered)
        best.append(time.perf_counter() - start)
    return min(best)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", required=True)
    args = ap.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="flinkops-bench-unread-"))
    bench_gather.build(base, args.hosts)
    (base / "policy.json").write_text(json.dumps(POLICY))
    new = collections_root(base, "new", ROOT, None)
    old = collections_root(base, "old", None, args.baseline)
    sys.path.insert(0, str(new))
    # converge once (not timed): the new tree writes what the policy asks
    subprocess.run([str(BIN / "ansible-playbook"), "-i", str(base / "inventory.json"), "flinkops.flink.enforce",
                    "-e", f"@{base / 'policy.json'}"], check=True, capture_output=True, cwd=base,
                   env={"PATH": f"{BIN}:/usr/bin:/bin", "ANSIBLE_COLLECTIONS_PATH": str(new),
                        "ANSIBLE_LOCAL_TEMP": str(base / "tmp"), "HOME": str(Path.home())})
    times = {"old": [], "new": []}
    for i in range(args.runs):
        order = ("old", "new") if i % 2 == 0 else ("new", "old")
        for name in order:
            times[name].append(run(base, old if name == "old" else new))
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"enforce, nothing to change, {args.hosts} local hosts, {args.runs} runs each, in turns:")
    print(f"  baseline {args.baseline}: median {med['old']:.2f} s  {' '.join(f'{t:.2f}' for t in times['old'])}")
    print(f"  this checkout:     median {med['new']:.2f} s  {' '.join(f'{t:.2f}' for t in times['new'])}")
    print(f"  new / old: {med['new'] / med['old']:.3f}")
    print(f"outcome decision alone over {args.hosts} gathered hosts: {decision_only(args.hosts) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
