"""Fetch the default config files Flink ships (PyPI ``apache-flink``) and cache them.

``apache-flink`` carries Flink's ``conf/`` and ``bin/`` (2.x wheels under ``pyflink/``, 1.x
sdists under ``deps/``).  We download each archive once, keep only ``conf/`` and ``bin/`` under
``~/.cache/flinkops/apache-flink-<version>/`` and delete the archive (same index and cache as
``flink_dist.py``, which fetches the jars from ``apache-flink-libraries``).

Run as a script to pre-fetch: ``python tests/oracle/flink_home.py 1.17.2 2.3.0``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flink_dist  # sibling module: tests/oracle is not a package

# The releases whose shipped defaults the edit tests use: the oldest line (flink-conf.yaml only)
# and the newest (config.yaml only).
SHIPPED = ("1.17.2", "2.3.0")
_PARTS = ("conf", "bin")


def _relative(name: str) -> str | None:
    """``pyflink/conf/config.yaml`` or ``apache-flink-1.17.2/deps/conf/x`` -> ``conf/x``; else None."""
    parts = PurePosixPath(name).parts
    for i, part in enumerate(parts[:-1]):
        if part in _PARTS and i > 0 and parts[i - 1] in ("pyflink", "deps"):
            rest = parts[i + 1:]
            if rest and ".." not in rest:
                return "/".join((part, *rest))
    return None


def _extract(archive: Path, target: Path) -> None:
    found = set()
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                rel = None if info.is_dir() else _relative(info.filename)
                if rel:
                    out = target / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    found.add(rel.split("/", 1)[0])
    else:
        with tarfile.open(archive, "r:gz") as tf:
            for info in tf:
                rel = _relative(info.name) if info.isfile() else None
                if rel:
                    out = target / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with tf.extractfile(info) as src, open(out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    found.add(rel.split("/", 1)[0])
    missing = set(_PARTS) - found
    if missing:
        raise RuntimeError(f"{archive.name}: no {' or '.join(sorted(missing))} directory inside")


def home(version: str) -> Path:
    """The cached directory holding ``conf/`` and ``bin/`` of that release, fetched once."""
    version = flink_dist.full_version(version)
    target = flink_dist.CACHE / f"apache-flink-{version}"
    if (target / "conf").is_dir() and (target / "bin").is_dir():
        return target
    flink_dist.CACHE.mkdir(parents=True, exist_ok=True)
    url = flink_dist._archive_url("apache-flink", version)
    with tempfile.TemporaryDirectory(dir=flink_dist.CACHE) as tmp:
        archive = Path(tmp) / url.rsplit("/", 1)[-1]
        flink_dist._download(url, archive)
        staging = Path(tmp) / "home"
        staging.mkdir()
        _extract(archive, staging)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)  # atomic: a cache entry is whole or absent
    return target


def shipped_config(version: str) -> tuple[str, bytes]:
    """(file name, bytes) of the config file that release ships: flink-conf.yaml or config.yaml."""
    conf = home(version) / "conf"
    for name in ("config.yaml", "flink-conf.yaml"):
        if (conf / name).is_file():
            return name, (conf / name).read_bytes()
    raise RuntimeError(f"apache-flink {version}: conf/ holds neither config.yaml nor flink-conf.yaml")


def main(argv: list[str]) -> int:
    for version in argv or SHIPPED:
        print(version, home(version))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
