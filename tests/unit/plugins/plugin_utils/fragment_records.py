# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The records the gather's logs fragment writes ("@@<kind> <args>\\n<payload>\\0" each) as
diagnose_tail.entries takes them. Not a test module: imported beside it."""

from __future__ import annotations


def records(out: bytes) -> list:
    found, pos = [], 0
    while pos < len(out):
        eol = out.index(b"\n", pos)
        kind, *args = out[pos + 2:eol].decode().split(" ")
        end = out.index(b"\0", eol + 1)
        found.append((kind, args, out[eol + 1:end]))
        pos = end + 1
    return found
