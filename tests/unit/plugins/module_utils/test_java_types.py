"""Java number parsing/printing that Flink's Configuration inherits."""

import math
import struct
from decimal import Decimal

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.java_types import (
    JavaNumberFormatError,
    double_to_string,
    float_to_string,
    parse_double,
    parse_float,
    parse_int,
)


def f32(x):
    return struct.unpack(">f", struct.pack(">f", x))[0]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.4", f32(0.4)),
        (".5", 0.5),
        ("5e-1", 0.5),
        ("0.5f", 0.5),
        ("0.5D", 0.5),
        (" 0.25 ", 0.25),
        ("+0.1", f32(0.1)),
        ("-0.1", -f32(0.1)),
        ("1e40", math.inf),
        ("1e400", math.inf),  # past the double range too: Java's Infinity, not Python's OverflowError
        ("-1e400", -math.inf),
        ("1e-400", 0.0),
        ("0x1p-2", 0.25),
    ],
)
def test_parse_float_widens_float32(text, expected):
    assert parse_float(text) == expected


def test_parse_float_nan():
    assert math.isnan(parse_float("NaN"))


@pytest.mark.parametrize("text", ["0,5", "abc", "nan", "inf", "1_0", "0.5g", "--1"])
def test_parse_float_rejects_what_java_rejects(text):
    with pytest.raises(JavaNumberFormatError) as err:
        parse_float(text)
    assert str(err.value) == f'For input string: "{text}"'


def test_parse_float_empty():
    with pytest.raises(JavaNumberFormatError, match="empty String"):
        parse_float("  ")


def test_parse_double_is_not_float32():
    assert parse_double("0.1") == 0.1


@pytest.mark.parametrize("text, value", [("4", 4), ("-3", -3), ("+7", 7), ("2147483647", 2147483647)])
def test_parse_int(text, value):
    assert parse_int(text) == value


@pytest.mark.parametrize("text", [" 4", "4 ", "2147483648", "1.0", "", "+", "1_0"])
def test_parse_int_rejects(text):
    with pytest.raises(JavaNumberFormatError):
        parse_int(text)


@pytest.mark.parametrize(
    "value, text",
    [
        (1.0, "1.0"),
        (0.5, "0.5"),
        (f32(0.1), "0.10000000149011612"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (0.001, "0.001"),
        (0.0001, "1.0E-4"),
        (100.0, "100.0"),
        (math.nan, "NaN"),
        (-2.5, "-2.5"),
    ],
)
def test_double_to_string(value, text):
    assert double_to_string(value) == text


def test_float_to_string():
    assert float_to_string(f32(0.4)) == "0.4"
    assert float_to_string(0.1) == "0.1"


@pytest.mark.parametrize(
    "value, text",
    [("0.00001", "0.00001"), (True, "true"), (False, "false"), (4, "4"), (1e-05, "1.0E-5"), (0.0003, "3.0E-4"),
     (1e7, "1.0E7"), (12345678.9, "1.23456789E7"), (0.1, "0.1"), (1.0, "1.0"), (-0.0, "-0.0")],
)
def test_flink_text(value, text):
    from ansible_collections.flinkops.flink.plugins.module_utils.java_types import flink_text

    assert flink_text(value) == text


@pytest.mark.parametrize("value", [None, [1], {"a": 1}])
def test_flink_text_refuses_what_is_not_a_scalar(value):
    from ansible_collections.flinkops.flink.plugins.module_utils.java_types import flink_text

    with pytest.raises(TypeError):
        flink_text(value)


@pytest.mark.parametrize(
    "a, b, kind, same",
    [("0.00001", "1.0E-5", "Float", True), ("1e-05", "1.0E-5", "Double", True), ("0.1", "0.100000001", "Float", True),
     ("0.1", "0.100000001", "Double", False), ("0.0", "-0.0", "Double", False), ("NaN", "NaN", "Double", False),
     ("1", "1.0", "Integer", False), ("0.4", "0.4", "String", False), ("x", "x", "Float", False)],
)
def test_same_number(a, b, kind, same):
    from ansible_collections.flinkops.flink.plugins.module_utils.java_types import same_number

    assert same_number(a, b, kind) is same


def _float32_by_fractions(text):
    """The nearest float32 to the exact decimal, ties to even, by exact arithmetic (the reference)."""
    from fractions import Fraction

    exact = Fraction(Decimal(text))
    below = struct.unpack(">f", struct.pack(">f", float(exact)))[0]
    bits = struct.unpack(">I", struct.pack(">f", below))[0]
    if Fraction(below) > exact:
        bits -= 1
    low, high = (struct.unpack(">f", struct.pack(">I", b))[0] for b in (bits, bits + 1))
    low_err, high_err = exact - Fraction(low), Fraction(high) - exact
    return low if low_err < high_err or (low_err == high_err and bits % 2 == 0) else high


@pytest.mark.parametrize("bits", [0x3DCCCCCC, 0x3F800000, 0x3F7FFFFF, 0x00000001, 0x007FFFFF, 0x00800000, 0x4B7FFFFF])
def test_parse_float_rounds_decimals_at_and_beside_a_float32_midpoint_exactly(bits):
    # The double nearest such a decimal is the midpoint itself: rounding that double again would tie to even.
    low, high = (Decimal(struct.unpack(">f", struct.pack(">I", b))[0]) for b in (bits, bits + 1))
    midpoint = (low + high) / 2
    tiny = Decimal(10) ** (midpoint.adjusted() - 60)
    for value in (midpoint, midpoint + tiny, midpoint - tiny):
        text = format(value, "f")
        assert parse_float(text) == _float32_by_fractions(text), text


def test_parse_float_keeps_every_digit_of_a_long_literal():
    # One below the midpoint between Float.MAX_VALUE and 2**128: Float.MAX_VALUE, not Infinity.
    assert parse_float("340282356779733661637539395458142568447") == float.fromhex("0x1.fffffep127")
    assert parse_float("340282356779733661637539395458142568448") == math.inf  # the midpoint: ties to even


def test_a_fraction_past_the_double_range_is_refused_as_flink_refuses_it():
    """Float.parseFloat("1e400") is Infinity: Flink 2.3.0 refuses the fraction ("fraction must be in range [0,
    1)", checked against real Flink through tests/oracle/oracle.py), where parse_float raised OverflowError."""
    from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute

    for value, shown in (("1e400", "(Infinity)"), ("-1e400", "(-Infinity)")):
        got = compute({"taskmanager.memory.process.size": "2g", "taskmanager.memory.managed.fraction": value},
                      "taskmanager", "2.3")
        assert not got["valid"] and shown in got["error"] and got["error"].endswith("fraction must be in range [0, 1)")
