# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flink's ``MemorySize``: parse and print sizes byte-exactly as Flink does.

Parsing follows ``MemorySize.parseBytes``: leading ASCII digits are the
number, the trimmed, lower-cased rest is the unit (powers of 1024); no unit
means bytes.  Printing follows ``toString`` (largest exact unit) and
``toHumanReadableString`` (what Flink's memory error messages show).
Standard library only.
"""

from __future__ import annotations

from functools import lru_cache

from ansible_collections.flinkops.flink.plugins.module_utils.java_types import JAVA_BLANKS

LONG_MAX = (1 << 63) - 1

# (multiplier, names) in Flink's order; names[1] is the one Flink prints.
UNITS = (
    (1, ("b", "bytes")),
    (1 << 10, ("k", "kb", "kibibytes")),
    (1 << 20, ("m", "mb", "mebibytes")),
    (1 << 30, ("g", "gb", "gibibytes")),
    (1 << 40, ("t", "tb", "tebibytes")),
)
_MULTIPLIER = {name: mult for mult, names in UNITS for name in names}
ALL_UNITS = " / ".join("(" + " | ".join(names) + ")" for _unused, names in UNITS)


class MemorySizeError(ValueError):
    """A size Flink rejects; ``str()`` is Flink's own message."""


_ASCII_DIGITS = "0123456789"


@lru_cache(maxsize=4096)  # fleets repeat the same few spellings
def parse_bytes(text: str) -> int:
    """Bytes for a size string, or MemorySizeError with Flink's message."""
    trimmed = str.strip(text, JAVA_BLANKS)  # java_trim, inlined: a TypeError for a non-string, as before
    if not trimmed:
        raise MemorySizeError("argument is an empty- or whitespace-only string")
    rest = trimmed.lstrip(_ASCII_DIGITS)
    number = trimmed[: len(trimmed) - len(rest)]
    unit = rest.strip(JAVA_BLANKS).lower()
    if not number:
        raise MemorySizeError("text does not start with a number")
    value = int(number)
    if value > LONG_MAX:
        raise MemorySizeError(
            f"The value '{number}' cannot be re represented as 64bit number (numeric overflow)."
        )
    if unit and unit not in _MULTIPLIER:
        raise MemorySizeError(
            f"Memory size unit '{unit}' does not match any of the recognized units: {ALL_UNITS}"
        )
    result = value * _MULTIPLIER.get(unit, 1)
    # Java multiplies in 64 bits and divides back: with 0 <= value <= LONG_MAX and a power-of-two unit,
    # the quotient differs from value exactly when the exact product is past LONG_MAX. The product is
    # then never negative, so Flink's "bytes must be >= 0" cannot follow.
    if result > LONG_MAX:
        raise MemorySizeError(
            f"The value '{text}' cannot be re represented as 64bit number of bytes (numeric overflow)."
        )
    return result


def to_string(size: int) -> str:
    """``MemorySize.toString()``: the largest unit that divides exactly (``128 mb``)."""
    if size == 0:
        return "0 bytes"
    for multiplier, names in reversed(UNITS):
        if size % multiplier == 0:
            return f"{size // multiplier} {names[1]}"
    return f"{size} bytes"  # pragma: no cover - bytes always divide


_HUMAN_UNIT = {multiplier: names[1] for multiplier, names in reversed(UNITS[1:])}  # tb first


def to_human_readable(size: int) -> str:
    """``MemorySize.toHumanReadableString()``: ``192.000mb (201326592 bytes)``.

    The unit is the largest one strictly smaller than the size; the figure is
    Java's ``%.3f`` (half-up on the shortest decimal of the double), worked out
    in integers where that cannot differ from the digits of ``repr``.
    """
    for multiplier in _HUMAN_UNIT:
        if size > multiplier:
            break
    else:
        return f"{size} bytes"
    unit = _HUMAN_UNIT[multiplier]
    if size < 9007199254740992:  # 2**53: the double is the size itself, and / multiplier (2**k) is exact
        # Half-up on the exact figure: thousandths, and whether the rest is at least half of one. The shortest
        # decimal of the double is within half an ulp of it, 2**(bit_length - 53) / multiplier: the two round
        # alike unless a half-thousandth lies that close, which leaves the digits of repr to decide.
        thousandths, rest = divmod(size * 1000, multiplier)
        off = 2 * rest - multiplier
        if (off if off >= 0 else -off) << 53 > 1000 << size.bit_length():
            if off >= 0:
                thousandths += 1
            return f"{thousandths // 1000}.{thousandths % 1000:03d}{unit} ({size} bytes)"
    # repr: the shortest decimal of the double, never in exponent form here (1 < figure < 2**24).
    whole, _unused, decimals = repr((1.0 * size) / multiplier).partition(".")
    if len(decimals) <= 3:
        return f"{whole}.{decimals:0<3}{unit} ({size} bytes)"
    thousandths = int(whole + decimals[:3]) + (decimals[3] >= "5")  # half-up: the 4th decimal decides
    return f"{thousandths // 1000}.{thousandths % 1000:03d}{unit} ({size} bytes)"


def to_config_string(size: int) -> str:
    """A size the way Flink's shipped configs write it: the largest of g/m/k that divides it (``4g``,
    ``1728m``, ``1536k``), else bytes (``536870920b``). Flink reads every one back as the same bytes."""
    for multiplier, suffix in ((1 << 30, "g"), (1 << 20, "m"), (1 << 10, "k")):
        if size and size % multiplier == 0:
            return f"{size // multiplier}{suffix}"
    return f"{size}b"
