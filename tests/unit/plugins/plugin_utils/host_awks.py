# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The awks a managed node may have, as the gather's awk programs are tested under them (tools/bootstrap.sh
installs gawk and original-awk beside Debian's mawk and busybox). Not a test module: imported beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

# mawk (Debian, Ubuntu), gawk (RHEL and its kin, SUSE, Arch), busybox, BWK's one true awk (the BSDs, macOS)
AWKS = {"mawk": "/usr/bin/mawk", "gawk": "/usr/bin/gawk", "busybox": "/usr/bin/busybox",
        "bwk": "/usr/bin/original-awk"}
# Those that hold NUL and \001 in a string (the tails reach them without tr): busybox's awk ends a line at a NUL,
# BWK's a string.
HOLDS_NUL = {"mawk", "gawk"}


def path(name: str) -> str:
    """The awk's program, failing the test (not skipping it) when this machine lacks it."""
    if not Path(AWKS[name]).exists():
        pytest.fail(f"{AWKS[name]} is missing: tools/bootstrap.sh installs it")
    return AWKS[name]


def argv(name: str) -> list:
    """The command line that runs the awk (busybox's as its applet)."""
    return [path(name), "awk"] if name == "busybox" else [path(name)]
