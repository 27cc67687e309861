"""MemorySize parsing and printing, hand-checked against Flink's rules (flink-memory.md s.7)."""

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import (
    MemorySizeError,
    parse_bytes,
    to_human_readable,
    to_string,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("4096", 4096),
        ("0", 0),
        ("1b", 1),
        ("1 bytes", 1),
        ("1k", 1024),
        ("1 KB", 1024),
        ("2 kibibytes", 2048),
        ("1728m", 1728 << 20),
        ("1728 MB", 1728 << 20),
        ("3 Mebibytes", 3 << 20),
        ("1g", 1 << 30),
        ("1 GiBiBytes", 1 << 30),
        ("1t", 1 << 40),
        ("2 TB", 2 << 40),
        ("  64 mb  ", 64 << 20),
        ("007m", 7 << 20),
        ("9223372036854775807", (1 << 63) - 1),
        ("8388607t", 8388607 << 40),
    ],
)
def test_parse_accepts_what_flink_accepts(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize(
    "text, message",
    [
        ("1.5g", "Memory size unit '.5g' does not match any of the recognized units: (b | bytes) / "
                 "(k | kb | kibibytes) / (m | mb | mebibytes) / (g | gb | gibibytes) / (t | tb | tebibytes)"),
        ("1gib", "Memory size unit 'gib' does not match any of the recognized units"),
        ("1p", "Memory size unit 'p' does not match"),
        ("1e9", "Memory size unit 'e9' does not match"),
        ("0x10", "Memory size unit 'x10' does not match"),
        ("-1m", "text does not start with a number"),
        ("+1m", "text does not start with a number"),
        ("m", "text does not start with a number"),
        ("", "argument is an empty- or whitespace-only string"),
        ("   ", "argument is an empty- or whitespace-only string"),
        ("9223372036854775808", "The value '9223372036854775808' cannot be re represented as 64bit number "
                                "(numeric overflow)."),
        ("8388608t", "The value '8388608t' cannot be re represented as 64bit number of bytes (numeric overflow)."),
        ("99999999999999999999", "cannot be re represented as 64bit number (numeric overflow)."),
    ],
)
def test_parse_rejects_with_flinks_reason(text, message):
    with pytest.raises(MemorySizeError) as err:
        parse_bytes(text)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "size, text",
    [
        (0, "0 bytes"),
        (1024, "1024 bytes"),
        (1025, "1.001kb (1025 bytes)"),
        (1088, "1.063kb (1088 bytes)"),  # 1.0625: Java's %.3f rounds half up
        (192 << 20, "192.000mb (201326592 bytes)"),
        (1 << 30, "1024.000mb (1073741824 bytes)"),
        (4 << 30, "4.000gb (4294967296 bytes)"),
        (63753420, "60.800mb (63753420 bytes)"),
        ((1 << 63) - 1, "8388608.000tb (9223372036854775807 bytes)"),
    ],
)
def test_human_readable_like_flink(size, text):
    assert to_human_readable(size) == text


@pytest.mark.parametrize(
    "size, text",
    [(0, "0 bytes"), (128 << 20, "128 mb"), (1 << 30, "1 gb"), (1025, "1025 bytes"), (32768, "32 kb")],
)
def test_to_string_uses_largest_exact_unit(size, text):
    assert to_string(size) == text
