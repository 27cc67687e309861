# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Java's number parsing and printing, as Flink's Configuration inherits them.

Flink reads fractions with ``Float.parseFloat``, CPU cores with
``Double.parseDouble`` and slot counts with ``Integer.parseInt``; its error
messages print doubles with ``Double.toString``.  Python's ``float()`` and
``int()`` accept other spellings (``inf``, ``1_0``, surrounding blanks), so
each rule is spelled out here.  Standard library only.
"""

from __future__ import annotations

import math
import re
import struct
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache


class JavaNumberFormatError(ValueError):
    """What ``NumberFormatException`` says, message included."""


# Java's FloatingDecimal grammar (after trim): sign, NaN/Infinity, decimal
# with optional exponent, or hexadecimal with binary exponent; an optional
# f/F/d/D suffix.
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?[fFdD]?\Z", re.ASCII)
_HEX = re.compile(
    r"[+-]?0[xX](?:[0-9a-fA-F]+\.?|[0-9a-fA-F]*\.[0-9a-fA-F]+)[pP][+-]?\d+[fFdD]?\Z", re.ASCII
)
_SPECIAL = re.compile(r"([+-]?)(NaN|Infinity)\Z")
_FLOAT_MAX = float.fromhex("0x1.fffffep127")


JAVA_BLANKS = "".join(map(chr, range(0x21)))  # what String.trim() strips: every char <= U+0020


def java_trim(text: str) -> str:
    """``String.trim()``: strips every char <= U+0020, nothing else."""
    return str.strip(text, JAVA_BLANKS)  # str.strip: a TypeError for a non-string, as before


def _exact_value(text: str) -> Decimal | float:
    """The exact value of a Java float literal as a Decimal (a float only for +-inf/nan)."""
    special = _SPECIAL.match(text)
    if special:
        if special.group(2) == "NaN":
            return math.nan
        return -math.inf if special.group(1) == "-" else math.inf
    body = text[:-1] if text[-1] in "fFdD" else text
    if _DECIMAL.match(text):
        return Decimal(body)
    if _HEX.match(text):
        return Decimal(float.fromhex(body))  # hex literals with few digits are exact doubles
    raise JavaNumberFormatError(f'For input string: "{text}"')


def _is_float32_midpoint(double: float) -> bool:
    """Whether a finite double > 0 lies exactly halfway between two adjacent float32 values."""
    mantissa, exponent = math.frexp(double)  # double = mantissa * 2**exponent, 0.5 <= mantissa < 1
    if exponent >= -125:  # a normal float32 (>= 2**-126) has 24 significant bits: a midpoint 25, the last set
        return (mantissa * 33554432.0) % 2.0 == 1.0  # * 2**25, exact
    # Subnormal float32s are multiples of 2**-149: midpoints are odd multiples of 2**-150.
    return (double * 1427247692705959881058285969449495136382746624.0) % 2.0 == 1.0  # * 2**150, exact


_PACK_F, _UNPACK_F = struct.Struct(">f").pack, struct.Struct(">f").unpack


def _to_float32(value: Decimal) -> float:
    """Round an exact value >= 0 to the nearest float32 (ties to even), widened to double.

    float(Decimal) is the correctly rounded double and the float32 midpoints are doubles, so rounding that
    double to float32 (struct, in C) rounds to the same float32 as the exact value unless the double is
    itself a midpoint (the exact value may then lie on either side of it): only then is the value compared
    exactly (_to_float32_exact, with Fractions). A value past the double range is Infinity, as in Java.
    """
    approx = float(value)
    if approx == 0.0:
        return 0.0
    if approx == math.inf:  # past the double range, so far past float32's: Float.parseFloat("1e400") is Infinity
        return math.inf
    if _is_float32_midpoint(approx):
        return _to_float32_exact(Fraction(value))
    try:
        return _UNPACK_F(_PACK_F(approx))[0]
    except OverflowError:  # past the midpoint between FLOAT_MAX and 2**128 (the midpoint itself: above)
        return math.inf


def _to_float32_exact(value: Fraction) -> float:
    """Round an exact value to the nearest float32 (ties to even), widened to double."""
    if value == 0:
        return 0.0
    approx = float(value)
    try:
        candidate = struct.unpack(">f", struct.pack(">f", approx))[0]
    except OverflowError:
        candidate = math.copysign(math.inf, approx)
    if math.isinf(candidate):
        # Anything at or beyond the midpoint between FLOAT_MAX and 2**128 overflows.
        limit = Fraction(_FLOAT_MAX) + Fraction(2) ** 103
        return candidate if abs(value) >= limit else math.copysign(_FLOAT_MAX, approx)
    # Double rounding (decimal -> double -> float) can be off by one ulp: check neighbours.
    bits = struct.unpack(">I", struct.pack(">f", candidate))[0]
    best = candidate
    best_err = abs(Fraction(candidate) - value)
    for nb in (bits - 1, bits + 1):
        if nb < 0 or (nb & 0x7F800000) == 0x7F800000:
            continue
        other = struct.unpack(">f", struct.pack(">I", nb))[0]
        if math.copysign(1.0, other) != math.copysign(1.0, candidate):
            continue
        err = abs(Fraction(other) - value)
        if err < best_err or (err == best_err and nb % 2 == 0):
            best, best_err = other, err
    return best


def _parse(raw: str, to_binary) -> float:
    """Java's FloatingDecimal: trim, refuse the empty string, round the exact value with ``to_binary``."""
    text = java_trim(raw)
    if not text:
        raise JavaNumberFormatError("empty String")
    value = _exact_value(text)
    if isinstance(value, float):  # NaN, +-Infinity
        return value
    result = to_binary(value.copy_abs())  # copy_abs: exact (abs() would round to the context's 28 digits)
    return -result if text[0] == "-" else result  # "-0.0" keeps its sign, as in Java


def _to_double(value: Decimal) -> float:
    return float(value)  # Decimal -> float is correctly rounded (its text through strtod); inf past the range


@lru_cache(maxsize=4096)
def parse_float(raw: str) -> float:
    """``Float.parseFloat(raw)`` widened to double, as Flink's getFloat returns it."""
    return _parse(raw, _to_float32)


@lru_cache(maxsize=4096)
def parse_double(raw: str) -> float:
    """``Double.parseDouble(raw)``."""
    return _parse(raw, _to_double)


_INT_DIGITS = re.compile(r"[+-]?\d+\Z")  # Unicode digits, as Character.digit accepts them


def parse_int(raw: str, bits: int = 32) -> int:
    """``Integer.parseInt`` (bits=32) or ``Long.parseLong`` (bits=64): no trimming."""
    if not _INT_DIGITS.match(raw):
        raise JavaNumberFormatError(f'For input string: "{raw}"')
    value = int(raw)
    if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
        raise JavaNumberFormatError(f'For input string: "{raw}"')
    return value


def double_to_string(value: float) -> str:
    """``Double.toString(value)``: shortest digits, Java's plain/scientific switch."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    digits, exponent = _shortest_digits(abs(value))
    # value = 0.d1d2d3... * 10**exponent
    if 1e-3 <= abs(value) < 1e7:
        if exponent <= 0:
            return f"{sign}0.{'0' * -exponent}{digits}"
        if exponent >= len(digits):
            return f"{sign}{digits}{'0' * (exponent - len(digits))}.0"
        return f"{sign}{digits[:exponent]}.{digits[exponent:]}"
    mantissa = digits[0] + "." + (digits[1:] or "0")
    return f"{sign}{mantissa}E{exponent - 1}"


def _shortest_digits(value: float) -> tuple[str, int]:
    text = repr(value)
    mantissa, _unused, exp = text.partition("e")
    whole, _unused, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    exponent = len(whole) + (int(exp) if exp else 0)
    if whole == "0":
        lead = len(frac) - len(frac.lstrip("0"))
        exponent = -lead + (int(exp) if exp else 0)
    digits = digits.rstrip("0") or "0"
    return digits, exponent


def float_to_string(value: float) -> str:
    """``Float.toString`` of a float32 value (used for option defaults like ``0.1``)."""
    if math.isnan(value) or math.isinf(value):
        return double_to_string(value)
    # Shortest decimal that rounds back to the same float32.
    for precision in range(1, 10):
        text = f"{value:.{precision}g}"
        if struct.unpack(">f", struct.pack(">f", float(text)))[0] == value:
            return double_to_string(float(text))
    return double_to_string(value)


def flink_text(value) -> str:
    """The string Flink's Configuration holds for a scalar read from a file or given as a variable.

    Flink's YAML loader keeps strings as they are and prints what YAML typed with Java's rules:
    ``true``/``false``, integers in decimal, floating point numbers with ``Double.toString``
    (``0.00001`` is ``1.0E-5``, ``12345678.9`` is ``1.23456789E7``).  This is the one home of that
    rule: the memory model, the lint and the editor all ask it.  TypeError for anything else (null,
    lists, maps), which each caller words for its own context.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return double_to_string(value)
    raise TypeError(type(value).__name__)


def same_number(a: str, b: str, kind: str) -> bool:
    """Whether two texts are one value to an option Flink reads as ``kind`` (``Float``/``Double``).

    Flink parses such options with ``Float.parseFloat`` / ``Double.parseDouble``, so ``0.00001``,
    ``1e-05`` and ``1.0E-5`` are the same setting even though the texts differ.  False for any other
    kind (a String option keeps its text) and for text Java would not parse.
    """
    parse = parse_float if kind == "Float" else parse_double if kind == "Double" else None
    if parse is None:
        return False
    try:
        x, y = parse(a), parse(b)
    except JavaNumberFormatError:
        return False
    return x == y and math.copysign(1.0, x) == math.copysign(1.0, y)
