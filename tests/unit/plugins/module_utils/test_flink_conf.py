"""The legacy flink-conf.yaml reader, on hand-checked cases (each one also checked against Flink's
loader in tests/oracle/corpus)."""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import (
    EMPTY_KEY_OR_VALUE,
    NOT_KEY_VALUE,
    parse_flink_conf,
    split_java_lines,
)


def parse(data: bytes, **kw):
    return parse_flink_conf(data, "/opt/flink/conf/flink-conf.yaml", **kw)


def test_basic_lines_and_format():
    got = parse(b"jobmanager.rpc.address: localhost\n\ntaskmanager.numberOfTaskSlots: 4\n")
    assert got.config == {"jobmanager.rpc.address": "localhost", "taskmanager.numberOfTaskSlots": "4"}
    assert got.lines == {"jobmanager.rpc.address": 1, "taskmanager.numberOfTaskSlots": 3}
    assert (got.format, got.path, got.skipped_lines, got.overridden) == (
        "legacy", "/opt/flink/conf/flink-conf.yaml", [], [])


def test_first_hash_cuts_the_line_even_in_quotes():
    got = parse(b'password: ab#cd\ns3.secret-key: "x # y"\nurl: http://h/#frag\n# a: 1\n  # b: 2\n')
    assert got.config == {"password": "ab", "s3.secret-key": '"x', "url": "http://h/"}


def test_quotes_are_kept():
    got = parse(b"taskmanager.memory.process.size: \"1728m\"\nb: 'x'\n")
    assert got.config == {"taskmanager.memory.process.size": '"1728m"', "b": "'x'"}


def test_skipped_lines_with_flinks_reasons():
    data = (b"key:value\n"        # 1: no ": "
            b"nested:\n"          # 2
            b"key: # comment\n"   # 3: cut to "key:" after trim
            b": value\n"          # 4: empty key
            b"ok: yes\n"          # 5
            b"  child: 1\n"       # 6: indentation ignored
            b"just text\n")       # 7
    got = parse(data)
    assert got.config == {"ok": "yes", "child": "1"}
    assert got.skipped_lines == [
        {"line": 1, "reason": NOT_KEY_VALUE},
        {"line": 2, "reason": NOT_KEY_VALUE},
        {"line": 3, "reason": NOT_KEY_VALUE},
        {"line": 4, "reason": EMPTY_KEY_OR_VALUE},
        {"line": 7, "reason": NOT_KEY_VALUE},
    ]
    assert NOT_KEY_VALUE == "Line is not a key-value pair (missing space after ':'?)"
    assert EMPTY_KEY_OR_VALUE == "Key or value was empty"


def test_skipped_lines_never_hold_the_line_text():
    got = parse(b"s3.secret-key:S3CR3T\n")
    assert got.config == {}
    assert "S3CR3T" not in repr(got)


def test_split_at_first_colon_space_and_java_trim():
    got = parse(b"a: b: c\n   spaced key   :   v v  \nurl: http://h:8081\n")
    assert got.config == {"a": "b: c", "spaced key": "v v", "url": "http://h:8081"}


def test_duplicates_last_wins_with_its_line():
    got = parse(b"a: 1\nb: 2\na: 3\na: 4\n")
    assert got.config == {"a": "4", "b": "2"}
    assert got.lines["a"] == 4
    assert got.overridden == [{"key": "a", "line": 1, "by_line": 3}, {"key": "a", "line": 3, "by_line": 4}]


@pytest.mark.parametrize(("data", "lines"), [
    (b"a: 1\r\nb: 2\r\n", {"a": 1, "b": 2}),
    (b"a: 1\rb: 2\r", {"a": 1, "b": 2}),
    (b"a: 1\r\r\nb: 2", {"a": 1, "b": 3}),        # \r, then \r\n: two line ends
    (b"a: 1\n\rb: 2\r\n\nc: 3", {"a": 1, "b": 3, "c": 5}),
])
def test_line_ends_as_buffered_reader(data, lines):
    got = parse(data)
    assert got.lines == lines
    assert all("\r" not in v for v in got.config.values())


def test_unicode_line_separators_are_not_line_ends():
    got = parse("a: x\u2028b: y\nc: 1\x85d: 2\n".encode())
    assert got.config == {"a": "x\u2028b: y", "c": "1\x85d: 2"}
    assert split_java_lines("a\x0bb\x0cc\x1cd") == ["a\x0bb\x0cc\x1cd"]


def test_bom_stays_in_the_first_key():
    got = parse(b"\xef\xbb\xbftaskmanager.numberOfTaskSlots: 2\n")
    assert got.config == {"\ufefftaskmanager.numberOfTaskSlots": "2"}


def test_java_trim_strips_control_chars_but_not_nbsp():
    got = parse(b"\x0b\x01key: \x00value\x1f\n\xc2\xa0nbsp: x\xc2\xa0\n")
    assert got.config == {"key": "value", "\xa0nbsp": "x\xa0"}


def test_undecodable_bytes_become_replacement_characters_as_in_java():
    # Java replaces an encoded surrogate (ED A0 80) with one U+FFFD, Python's "replace" with three
    got = parse(b"a: caf\xe9\nb: \xed\xa0\x80x\nc: \xed\xa0\nd: \xf0\x9f\x98\ne: \xc0\xaf\n")
    assert got.config == {"a": "caf\ufffd", "b": "\ufffdx", "c": "\ufffd", "d": "\ufffd", "e": "\ufffd\ufffd"}


def test_posix_locale_charset():
    got = parse("cluster: caf\u00e9\n".encode(), encoding="ascii")
    assert got.config == {"cluster": "caf\ufffd\ufffd"}


@pytest.mark.parametrize("data", [b"", b"\n\n", b"# only\n   # comments\n\t\n"])
def test_empty_files(data):
    got = parse(data)
    assert (got.config, got.lines, got.skipped_lines) == ({}, {}, [])


def test_no_trailing_newline():
    assert parse(b"a: 1\nb: 2").config == {"a": "1", "b": "2"}


def test_cost_is_linear(python_calls):
    # work counted, not timed: a quadratic slip (or a regex compiled per line) would show in the ratio
    def data(n):
        return b"".join(b"key%d.sub: value %d # comment\n" % (i, i) for i in range(n))

    assert len(parse(data(20000)).config) == 20000
    small, large = python_calls(parse, data(5000)), python_calls(parse, data(10000))
    assert large < 2.3 * small
