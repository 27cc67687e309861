"""Coverage-guided fuzzing of every target in fuzz_targets.py with atheris (libFuzzer), in one process.

    python atheris_fuzz.py <crash-dir> <seconds>

The first byte of an input picks the target, the rest is its input; the committed corpus seeds
the run. A finding is saved to corpus/<target>/ (by fuzz_targets.run) and libFuzzer's crash file to
<crash-dir>; the process then exits non-zero.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
import atheris  # noqa: E402
import conftest  # noqa: E402,F401 -- makes the checkout importable as ansible_collections.flinkops.flink

with atheris.instrument_imports(include=["ansible_collections.flinkops"]):
    import fuzz_targets  # noqa: E402

NAMES = sorted(fuzz_targets.TARGETS)


def one_input(data: bytes) -> None:
    if not data:
        return
    fuzz_targets.run(NAMES[data[0] % len(NAMES)], data[1:])


def main() -> None:
    crash_dir, seconds = sys.argv[1], sys.argv[2]
    seeds = Path(tempfile.mkdtemp(prefix="flinkops-atheris-"))
    for path in sorted(fuzz_targets.CORPUS.rglob("*")):
        if path.is_file() and path.parent.name in NAMES:
            (seeds / f"{path.parent.name}-{path.name}").write_bytes(bytes([NAMES.index(path.parent.name)])
                                                                   + path.read_bytes()[:65536])
    atheris.Setup([sys.argv[0], f"-max_total_time={seconds}", "-max_len=65536", "-timeout=60", "-rss_limit_mb=4096",
                   f"-artifact_prefix={crash_dir}/", str(seeds)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
