"""Fetch real Flink from PyPI and cache just the parts the oracle tests need.

Flink's own jars are the oracle for every byte our memory model computes.
PyPI's ``apache-flink-libraries`` carries ``flink-dist-*.jar`` and
``bash-java-utils.jar`` (2.x as wheels under ``pyflink/``, 1.x as sdists
under ``deps/``).  We download each archive once, keep only those two jars
under ``~/.cache/flinkops/flink-<version>/`` and delete the archive.

Run as a script to pre-fetch: ``python tests/oracle/flink_dist.py 2.3.0 ...``.
"""

from __future__ import annotations

import html.parser
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from pathlib import Path

# The newest patch release of every minor line we support.
VERSIONS = {
    "1.14": "1.14.6",
    "1.15": "1.15.4",
    "1.16": "1.16.3",
    "1.17": "1.17.2",
    "1.18": "1.18.1",
    "1.19": "1.19.3",
    "1.20": "1.20.5",
    "2.0": "2.0.2",
    "2.1": "2.1.3",
    "2.2": "2.2.1",
    "2.3": "2.3.0",
}

INDEX = os.environ.get("FLINKOPS_PYPI_SIMPLE", "https://pypi.org/simple")
CACHE = Path(os.environ.get("FLINKOPS_CACHE", Path.home() / ".cache" / "flinkops"))


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs).get("href", ""))


def _archive_url(project: str, version: str) -> str:
    with urllib.request.urlopen(f"{INDEX}/{project}/", timeout=120) as resp:
        parser = _Links()
        parser.feed(resp.read().decode())
    wanted = []
    for href in parser.links:
        name = href.split("#", 1)[0].rsplit("/", 1)[-1]
        norm = name.replace("-", "_").lower()
        stem = f"{project}-{version}".replace("-", "_")
        if norm.startswith(stem + "_py") or norm == stem + ".tar.gz":
            wanted.append(href.split("#", 1)[0])
    if not wanted:
        raise RuntimeError(f"{project} {version}: no archive on {INDEX}")
    # A wheel is pure data here; prefer it (random access), else the sdist.
    wanted.sort(key=lambda u: not u.endswith(".whl"))
    return wanted[0]


def _download(url: str, dest: Path) -> None:
    with urllib.request.urlopen(url, timeout=600) as resp, open(dest, "wb") as out:
        shutil.copyfileobj(resp, out, 1 << 20)


def _member_wanted(name: str) -> str | None:
    base = name.rsplit("/", 1)[-1]
    if base == "bash-java-utils.jar" and "/bin/" in "/" + name:
        return "bash-java-utils.jar"
    if base.startswith("flink-dist") and base.endswith(".jar") and "/lib/" in "/" + name:
        return "flink-dist.jar"
    return None


def _extract(archive: Path, target: Path) -> None:
    found = set()
    if archive.name.endswith(".whl"):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                out = _member_wanted(info.filename)
                if out:
                    with zf.open(info) as src, open(target / out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    found.add(out)
    else:
        with tarfile.open(archive, "r:gz") as tf:
            for info in tf:
                out = _member_wanted(info.name) if info.isfile() else None
                if out:
                    with tf.extractfile(info) as src, open(target / out, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    found.add(out)
    missing = {"bash-java-utils.jar", "flink-dist.jar"} - found
    if missing:
        raise RuntimeError(f"{archive.name}: missing {sorted(missing)}")


def full_version(version: str) -> str:
    """'2.3' or '2.3.0' -> '2.3.0' (the release we test for that line)."""
    parts = str(version).split(".")
    line = ".".join(parts[:2])
    if line not in VERSIONS or len(parts) not in (2, 3):
        raise ValueError(f"unsupported Flink version {version!r}; supported lines: {', '.join(VERSIONS)}")
    return VERSIONS[line] if len(parts) == 2 else version


def jars(version: str) -> list[Path]:
    """Return [flink-dist.jar, bash-java-utils.jar] for a Flink release, fetching once."""
    version = full_version(version)
    target = CACHE / f"flink-{version}"
    result = [target / "flink-dist.jar", target / "bash-java-utils.jar"]
    if all(p.is_file() for p in result):
        return result
    target.mkdir(parents=True, exist_ok=True)
    url = _archive_url("apache-flink-libraries", version)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        archive = Path(tmp) / url.rsplit("/", 1)[-1]
        _download(url, archive)
        staging = Path(tmp) / "jars"
        staging.mkdir()
        _extract(archive, staging)
        for path in staging.iterdir():
            os.replace(path, target / path.name)  # atomic: a cache entry is whole or absent
    return result


def main(argv: list[str]) -> int:
    for version in argv or list(VERSIONS.values()):
        print(version, *jars(version))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
