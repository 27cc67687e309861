"""Assemble a Flink 1.x home from PyPI, cached under ``~/.cache/flinkops/flink-home-<version>/``.

The 1.x PyFlink packages are sdists laying Flink out under ``deps/`` (``apache-flink-libraries``:
``deps/lib``, ``deps/opt``, ``deps/plugins``, ``deps/bin/bash-java-utils.jar``; ``apache-flink``:
``deps/bin`` and ``deps/conf``, fetched by tests/oracle/flink_home.py). tests/e2e/flink_install.py
takes the 2.x wheels only; this is its 1.x sibling, with the same cache entry layout, so
``tests/e2e/cluster.py`` runs either.

Run as a script to pre-fetch: ``python tests/e2e/flink_install_1x.py 1.20.5``.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

sys.path.insert(0, str(Path(__file__).resolve().parent))
import flink_install  # noqa: E402  (sibling: puts tests/oracle on the path)
from flink_install import flink_dist, flink_home  # noqa: E402

_LIB_PARTS = ("bin", "lib", "opt", "plugins")


def _deps_member(name: str) -> str | None:
    """``apache-flink-libraries-1.20.5/deps/lib/x.jar`` -> ``lib/x.jar``; anything else -> None."""
    parts = PurePosixPath(name).parts
    if len(parts) >= 4 and parts[1] == "deps" and parts[2] in _LIB_PARTS and ".." not in parts:
        return "/".join(parts[2:])
    return None


def _extract_sdist(archive: Path, target: Path) -> None:
    with tarfile.open(archive, "r:gz") as tf:
        for info in tf:
            rel = _deps_member(info.name) if info.isfile() else None
            if rel:
                out = target / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                with tf.extractfile(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    if not (target / "lib").is_dir() or not (target / "bin" / "bash-java-utils.jar").is_file():
        raise RuntimeError(f"{archive.name}: no deps/lib or deps/bin/bash-java-utils.jar inside")


def install(version: str = "1.20.5") -> Path:
    """The cached Flink home of that 1.x release, assembled once (2.x goes to flink_install)."""
    version = flink_dist.full_version(version)
    if not version.startswith("1."):
        return flink_install.install(version)
    target = flink_dist.CACHE / f"flink-home-{version}"
    if (target / "bin" / "bash-java-utils.jar").is_file() and (target / "bin" / "taskmanager.sh").is_file():
        return target
    scripts = flink_home.home(version)
    url = flink_dist._archive_url("apache-flink-libraries", version)
    with tempfile.TemporaryDirectory(dir=flink_dist.CACHE) as tmp:
        archive = Path(tmp) / url.rsplit("/", 1)[-1]
        flink_dist._download(url, archive)
        staging = Path(tmp) / "home"
        staging.mkdir()
        _extract_sdist(archive, staging)
        archive.unlink()
        for part in ("bin", "conf"):
            shutil.copytree(scripts / part, staging / part, dirs_exist_ok=True)
        for script in (staging / "bin").iterdir():
            if script.suffix in (".sh", "") and script.is_file():
                script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    return target


if __name__ == "__main__":
    for _version in sys.argv[1:] or ["1.20.5"]:
        print(_version, install(_version))
