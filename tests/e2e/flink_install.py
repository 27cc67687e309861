"""Assemble a complete Flink home from PyPI, cached under ``~/.cache/flinkops/flink-home-<version>/``.

PyPI has no Flink binary distribution, but its two PyFlink packages hold one between them:
``apache-flink`` carries ``bin/`` and ``conf/`` (fetched by tests/oracle/flink_home.py) and
``apache-flink-libraries`` carries ``lib/``, ``opt/``, ``plugins/`` and ``bin/bash-java-utils.jar`` (2.x wheels
under ``pyflink/``). We put them side by side, as the binary tarball lays them out, so
``bin/jobmanager.sh`` and ``bin/taskmanager.sh`` work unchanged. Scripts get their exec bit (the
wheel does not keep modes).

Run as a script to pre-fetch: ``python tests/e2e/flink_install.py 2.3.0``.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

_ORACLE = Path(__file__).resolve().parent.parent / "oracle"
sys.path.insert(0, str(_ORACLE))
import flink_dist  # noqa: E402  (tests/oracle is not a package)
import flink_home  # noqa: E402

_LIB_PARTS = ("bin", "lib", "opt", "plugins", "examples")


def _library_member(name: str) -> str | None:
    """``pyflink/lib/x.jar`` -> ``lib/x.jar``; anything else -> None."""
    parts = PurePosixPath(name).parts
    if len(parts) >= 3 and parts[0] == "pyflink" and parts[1] in _LIB_PARTS and ".." not in parts:
        return "/".join(parts[1:])
    return None


def _extract_libraries(archive: Path, target: Path) -> None:
    if not archive.name.endswith(".whl"):
        raise RuntimeError(f"{archive.name}: only the 2.x wheels are supported here (1.x sdists lay files out "
                           "under deps/)")
    found = set()
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            rel = None if info.is_dir() else _library_member(info.filename)
            if rel:
                out = target / rel
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                found.add(rel.split("/", 1)[0])
    if "lib" not in found or not (target / "bin" / "bash-java-utils.jar").is_file():
        raise RuntimeError(f"{archive.name}: no pyflink/lib or pyflink/bin/bash-java-utils.jar inside")


def install(version: str = "2.3.0") -> Path:
    """The cached Flink home of that release (bin, conf, lib, opt, plugins), assembled once."""
    version = flink_dist.full_version(version)
    target = flink_dist.CACHE / f"flink-home-{version}"
    if (target / "bin" / "bash-java-utils.jar").is_file() and (target / "bin" / "taskmanager.sh").is_file():
        return target
    scripts = flink_home.home(version)  # bin/ and conf/ from apache-flink
    flink_dist.CACHE.mkdir(parents=True, exist_ok=True)
    url = flink_dist._archive_url("apache-flink-libraries", version)
    with tempfile.TemporaryDirectory(dir=flink_dist.CACHE) as tmp:
        archive = Path(tmp) / url.rsplit("/", 1)[-1]
        flink_dist._download(url, archive)
        staging = Path(tmp) / "home"
        staging.mkdir()
        _extract_libraries(archive, staging)
        archive.unlink()
        for part in ("bin", "conf"):
            shutil.copytree(scripts / part, staging / part, dirs_exist_ok=True)
        for script in (staging / "bin").iterdir():
            if script.suffix in (".sh", "") and script.is_file():
                script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)  # atomic: a cache entry is whole or absent
    return target


def main(argv: list[str]) -> int:
    for version in argv or ["2.3.0"]:
        print(version, install(version))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
