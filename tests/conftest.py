"""Make this checkout importable as the collection ``flinkops.flink``.

Ansible loads collection code as ``ansible_collections.flinkops.flink...``;
the repository root is the collection root, so we expose it under that name
through a symlink tree in a temporary directory (no copy, edits are live).
"""

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _collections_root() -> Path:
    tag = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
    base = Path(tempfile.gettempdir()) / f"flinkops-collections-{os.getuid()}-{tag}"
    link = base / "ansible_collections" / "flinkops" / "flink"
    if not link.is_symlink() or link.resolve() != ROOT:
        link.parent.mkdir(parents=True, exist_ok=True)
        tmp = link.with_name(f"flink.{os.getpid()}")
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(ROOT)
        os.replace(tmp, link)
    return base


COLLECTIONS_ROOT = _collections_root()
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))
os.environ["ANSIBLE_COLLECTIONS_PATH"] = str(COLLECTIONS_ROOT)


@pytest.fixture(scope="session")
def collections_root() -> Path:
    """Directory holding ``ansible_collections/flinkops/flink`` (for ansible-playbook runs)."""
    return COLLECTIONS_ROOT


@pytest.fixture(scope="session")
def ansible_env(collections_root) -> dict:
    """Environment for real ansible / ansible-playbook runs against this checkout."""
    return dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=str(collections_root),
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,  # local hosts use the test venv, no discovery warnings
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_RETRY_FILES_ENABLED="False",
    )


@pytest.fixture(scope="session")
def ansible_bin() -> Path:
    """Directory holding the test venv's ansible, ansible-playbook, ansible-doc."""
    return Path(sys.executable).parent


def _python_calls(fn, *args, **kwargs):
    """How many Python-level calls ``fn(*args)`` makes: a count of work, the same on a busy machine."""
    count = [0]

    def profile(frame, event, arg):
        if event == "call":
            count[0] += 1

    sys.setprofile(profile)
    try:
        fn(*args, **kwargs)
    finally:
        sys.setprofile(None)
    return count[0]


@pytest.fixture
def python_calls():
    """Count work, not seconds: tests of cost compare call counts across input sizes."""
    return _python_calls
