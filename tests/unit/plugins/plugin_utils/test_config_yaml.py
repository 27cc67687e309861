"""config.yaml read as Flink 1.19+ reads it, on hand-checked cases.

Every expectation here was first seen from Flink's own loader (snakeyaml-engine 2.6 with
CoreSchema, then GlobalConfiguration's flattening); tests/oracle checks the same ground against
the real thing for every Flink line.
"""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import ConfigFileError
from ansible_collections.flinkops.flink.plugins.plugin_utils import config_yaml
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import (
    core_tag,
    dump_flow,
    parse_config_yaml,
)

PATH = "/opt/flink/conf/config.yaml"


def parse(text):
    return parse_config_yaml(text.encode() if isinstance(text, str) else text, PATH)


def refuse(text) -> ConfigFileError:
    with pytest.raises(ConfigFileError) as err:
        parse(text)
    assert err.value.path == PATH
    return err.value


def test_uses_libyaml_when_available():
    if getattr(yaml, "__with_libyaml__", False):
        assert issubclass(config_yaml._CoreLoader, yaml.CSafeLoader)


def test_nested_maps_flatten_with_dots_and_key_lines():
    got = parse("# c\njobmanager:\n  rpc:\n    address: localhost\n    port: 6123\ntaskmanager.numberOfTaskSlots: 2\n")
    assert got.config == {"jobmanager.rpc.address": "localhost", "jobmanager.rpc.port": "6123",
                          "taskmanager.numberOfTaskSlots": "2"}
    assert got.lines == {"jobmanager.rpc.address": 4, "jobmanager.rpc.port": 5, "taskmanager.numberOfTaskSlots": 6}
    assert (got.format, got.path, got.skipped_lines) == ("yaml", PATH, [])


@pytest.mark.parametrize(("value", "expected"), [
    ("yes", "yes"), ("on", "on"), ("off", "off"), ("y", "y"), ("Yes", "Yes"),
    ("True", "true"), ("TRUE", "true"), ("false", "false"), ("tRUE", "tRUE"),
    ("010", "10"), ("0o17", "15"), ("0x1F", "31"), ("+12", "12"), ("-0", "0"), ("00", "0"),
    ("0X1F", "0X1F"), ("-0x1F", "-0x1F"), ("0o8", "0o8"), ("1_000", "1_000"),
    ("99999999999999999999", "99999999999999999999"), ("0x8000000000000000", "9223372036854775808"),
    ("1e3", "1000.0"), ("1E3", "1000.0"), ("1.", "1.0"), (".5", "0.5"), ("+.5", "0.5"),
    ("0.0001", "1.0E-4"), ("0.001", "0.001"), ("1e20", "1.0E20"), ("12345678.0", "1.2345678E7"),
    ("-0.0", "-0.0"), ("1e400", ".inf"),
    (".inf", ".inf"), (".INF", ".inf"), ("-.Inf", "-.inf"), (".NaN", ".nan"), ("-.nan", "-.nan"),
    (".Nan", ".Nan"), (".e3", ".e3"), ("1e", "1e"), ("1.5.6", "1.5.6"),
    ("1:20", "1:20"), ("2001-12-14", "2001-12-14"), ("12:30:00", "12:30:00"),
    ("1728m", "1728m"), ("-x", "-x"), (":x", ":x"), ("?x", "?x"), ("x:y", "x:y"), ("x#y", "x#y"),
    ("x # comment", "x"), ("'quoted # kept'", "quoted # kept"), ("'it''s'", "it's"),
    ('"tab\\tx \\u00e9 \\x41"', "tab\tx \u00e9 A"), ("'1'", "1"), ("''", ""), ('""', ""),
    ("!!str 5", "5"), ("!!int '7'", "7"), ("!!float 1", "1.0"), ("!!int -0o17", "-15"), ("!!str", ""),
    ("! 12", "12"), ("!!binary QUJD", "!!binary |-\n  QUJD"), ("!!set {x, y}", "!!set {x: null, y: null}"),
])
def test_scalars_as_flink_holds_them(value, expected):
    assert parse(f"k: {value}\n").config == {"k": expected}


def test_core_tag_resolution():
    assert [core_tag(v) for v in ("", "~", "null", "Null", "NULL", "nULL")] == [
        config_yaml.NULL] * 5 + [config_yaml.STR]
    assert core_tag("+.inf") == config_yaml.FLOAT  # resolved as a float ... which Flink cannot build
    assert core_tag("0b11") == config_yaml.STR


def test_same_key_nested_and_flat_later_wins():
    got = parse("taskmanager:\n  memory:\n    process.size: 1g\ntaskmanager.memory.process.size: 2g\n")
    assert got.config == {"taskmanager.memory.process.size": "2g"}
    assert got.lines == {"taskmanager.memory.process.size": 4}
    assert got.overridden == [{"key": "taskmanager.memory.process.size", "line": 3, "by_line": 4}]
    got = parse("a.b: 1\na:\n  b: 2\n")
    assert (got.config, got.lines) == ({"a.b": "2"}, {"a.b": 3})


def test_prefix_keys_coexist_and_empty_maps_vanish():
    assert parse("a: 1\na.b: 2\nc: {}\nd:\n  e: {}\n").config == {"a": "1", "a.b": "2"}


@pytest.mark.parametrize(("text", "line"), [("a: 1\na: 2\n", 2), ("a: 1\n'a': 2\n", 2), ("t:\n  m: 1\n  m: 2\n", 3),
                                            ("l: [{1: x,\n  01: y}]\n", 2)])
def test_duplicate_keys_are_fatal(text, line):
    err = refuse(text)
    assert "found duplicate key" in err.message and "Error parsing YAML configuration." in err.message
    assert err.line == line


def test_duplicate_key_names_its_line():
    err = refuse("a: 1\nb:\n  c: 1\n  c: 2\n")
    assert err.line == 4 and "starts on line 3" in err.message


@pytest.mark.parametrize(("text", "key", "line"), [
    ("taskmanager.memory.process.size:\nx: 1\n", "taskmanager.memory.process.size", 1),
    ("a: ~\n", "a", 1), ("a: null\n", "a", 1), ("a: Null\n", "a", 1), ("x: 1\na:\n  b: NULL\n", "a.b", 3),
    ("a: !!bool yes\n", "a", 1), ("a: !!null x\n", "a", 1),
])
def test_null_values_are_fatal(text, key, line):
    err = refuse(text)
    assert (err.key, err.line) == (key, line)
    assert "Value must not be null." in err.message


def test_null_overridden_by_a_later_value_is_fine():
    assert parse("a.b: ~\na:\n  b: 1\n").config == {"a.b": "1"}
    assert parse("l: [null, ~]\n").config == {"l": "[null, null]"}


def test_lists_rendered_as_flink_renders_them():
    got = parse("""flow: [a, b]
block:
  - x
  - 'y z'
mixed: [1, 1.5, true, null, '1', 'true', '', ' a', 'a: b', 'a #b', a#b, -a, '- a', "m\\nn", it's, '@a', é]
nested: [[1, 2], [], {k: v}, {}]
empty: []
keys: [{1: a}, {~: b}]
""")
    assert got.config == {
        "flow": "[a, b]",
        "block": "[x, y z]",
        "mixed": "[1, 1.5, true, null, '1', 'true', '', ' a', 'a: b', 'a #b', a#b, -a, '- a', \"m\\nn\", it's, "
                 "'@a', é]",
        "nested": "[[1, 2], [], {k: v}, {}]",
        "empty": "[]",
        "keys": "[{1: a}, {null: b}]",
    }


def test_list_escapes_follow_snakeyaml_engine():
    got = parse('l: ["\\x01", "\\x1f", "nbsp\\u00a0\\n", "\\U0001F600\\n", "bom\\ufeffx", "a\\u2028b", "nel\\x85"]\n')
    assert got.config == {"l": '["\\x01", "\\x1f", "nbsp\\_\\n", "\U0001F600\\n", bom\ufeffx, "a\\Lb", "nel\\N"]'}


def test_anchors_and_aliases():
    got = parse("""base: &mem 1728m
size: *mem
d: &d {slots: 2}
tm1: *d
l: &l [a]
twice: [*l, *l]
m: &m {p: 1}
maps: [*m, *m]
later: &mem 2g
after: *mem
""")
    assert got.config == {"base": "1728m", "size": "1728m", "d.slots": "2", "tm1.slots": "2", "l": "[a]",
                          "twice": "[&id001 [a], *id001]", "m.p": "1", "maps": "[&id002 {p: 1}, *id002]",
                          "later": "2g", "after": "2g"}


def test_recursive_list_and_recursive_map():
    assert parse("a: &x [1, *x]\n").config == {"a": "&id001 [1, *id001]"}
    err = refuse("a: &m {b: *m}\n")
    assert "contains itself" in err.message


def test_alias_limits():
    fifty = "x: &x [1]\nl: [" + ", ".join(["*x"] * 50) + "]\n"
    assert parse(fifty).config["l"].startswith("[&id001 [1], *id001")
    err = refuse(fifty.replace("[*x", "[*x, *x"))
    assert "max=50" in err.message
    assert "found undefined alias nothing" in refuse("a: *nothing\n").message


def test_block_scalars():
    got = parse("lit: |\n  a\n    b\nstrip: |-\n  x\nkeep: |+\n  k\n\nfold: >\n  f1\n  f2\n\n  f3\nlast: 1\n")
    assert got.config == {"lit": "a\n  b\n", "strip": "x", "keep": "k\n\n", "fold": "f1 f2\nf3\n", "last": "1"}
    assert got.lines["last"] == 14


@pytest.mark.parametrize("text", ["", "\n", "# only\n  # comments\n", "---\n", "%YAML 1.2\n---\n...\n",
                                  "\ufeff", "\ufeff# c\n"])
def test_empty_documents(text):
    got = parse(text)
    assert (got.config, got.lines) == ({}, {})


@pytest.mark.parametrize(("text", "line", "words"), [
    ("a: [1, 2\nb: 3\n", 2, "invalid YAML"),
    ("a:\n  b: 1\n c: 2\n", 3, "invalid YAML"),
    ("a: b: c\n", 1, "mapping values are not allowed"),
    ("a: 1\n---\nb: 2\n", 2, "second YAML document"),
    ("- a\n- b\n", 1, "a list, not a mapping"),
    ("just text\n", 1, "a single value, not a mapping"),
    ("1: x\n", 1, "java.lang.Integer"),
    ("true: x\n", 1, "java.lang.Boolean"),
    ("a:\n  2.5: x\n", 2, "java.lang.Double"),
    ("? [a]\n: x\n", 1, "java.util.ArrayList"),
    ("a: +.inf\n", 1, "+.inf"),
    ("a: !!int 1.5\n", 1, "NumberFormatException"),
    ("a: !custom x\n", 1, "could not determine a constructor for the tag !custom"),
    ("a: !!timestamp 2001-01-01\n", 1, "tag:yaml.org,2002:timestamp"),
    ("a: x\x01y\n", 1, "special characters are not allowed"),
])
def test_refused_documents_name_line_and_reason(text, line, words):
    err = refuse(text)
    assert err.line == line, str(err)
    assert words in str(err)
    assert "refuses to start" in str(err)


@pytest.mark.parametrize(("text", "line"), [
    ("taskmanager:\n\tnumberOfTaskSlots: 2\n", 2),
    ("a:\t2\n", 1),
    ("a: 1\n\t\nb: 2\n", 2),
    ("a: [1,\t2]\n", 1),
    ("a: 'x'\t\n", 1),
    ("a: 1\n\t# comment\n", 2),
    ("a: x\n  \ty\n", 2),
    ("a: |\t# c\n  x\n", 1),
])
def test_tabs_where_flink_refuses_them(text, line):
    err = refuse(text)
    assert err.line == line
    assert "found character '\\t(TAB)' that cannot start any token" in err.message


def test_backslash_tab_escape_is_refused():
    assert "unknown escape character" in refuse('a: "x\\\ty"\n').message


def test_tabs_where_flink_accepts_them():
    got = parse("a: 2\t\nb: x\t# comment\t\nc: 'q\tq'\n# \ttab in a comment\nd: x\ty\ne: |\n  \tindented content\n")
    assert got.config == {"a": "2", "b": "x", "c": "q\tq", "d": "x\ty", "e": "\tindented content\n"}


def test_line_ends_and_byte_order_marks():
    assert parse(b"a: 1\r\nb:\r\n  c: 2\r\n").lines == {"a": 1, "b.c": 3}
    assert parse(b"a: 1\rb: 2\r").lines == {"a": 1, "b": 2}
    assert parse(b"\xef\xbb\xbfa: 1\n").config == {"a": "1"}
    assert parse(b"\xef\xbb\xbf\xef\xbb\xbfa: 1\n").config == {"a": "1"}
    assert parse(b"\xff\xfe" + "a: \u00e9\n".encode("utf-16-le")).config == {"a": "\u00e9"}
    assert parse(b"\xfe\xff" + "a: \u00e9\n".encode("utf-16-be")).config == {"a": "\u00e9"}
    assert parse(b"\x00\x00\xfe\xff" + "a: \u00e9\n".encode("utf-32-be")).config == {"a": "\u00e9"}


def test_invalid_utf8_is_fatal_with_its_line():
    err = refuse(b"a: 1\nb: 2\ncluster: caf\xe9\n")
    assert err.line == 3
    assert "MalformedInputException" in err.message


def test_yaml_1_1_line_breaks_are_content():
    got = parse("a: x\u2028y\nb: x \u2028 y\nc: \"q\u2029\"\n# c\u2028hidden: 1\nd: x\ufeff\n")
    assert got.config == {"a": "x\u2028y", "b": "x\u2028y", "c": "q\u2029", "d": "x\ufeff"}
    err = refuse("a: \u2028x\n")
    assert "U+2028" in err.message and err.line == 1


def test_adjacent_value_indicator_in_flow_context():
    assert parse("a: {b:[1, {c: 2}]}\nl: [1:, 2]\n").config == {"a.b": "[1, {c: 2}]", "l": "[{1: null}, 2]"}


def test_null_key_and_merge_key_are_plain():
    assert parse("~: x\nn:\n  null: y\n").config == {"null": "x", "n.null": "y"}
    assert parse("b: &b {x: 1}\n<<: *b\n").config == {"b.x": "1", "<<.x": "1"}


SECRET = "S3CR3T-VALUE"


@pytest.mark.parametrize("text", [
    f"s3.secret-key: {SECRET}\ns3.secret-key: {SECRET}2\n",
    f"security.ssl.keystore-password: '{SECRET}\n",
    f"password: [{SECRET}, \n",
    f"password: !!int {SECRET}\n",
    f"password: !!binary {SECRET}!\n",
    f"password:\n\t{SECRET}\n",
    f"password: {SECRET}\n---\nx: 1\n",
    f"{{password: {SECRET}}}: x\n",
    f"password: \"{SECRET}\\\tx\"\n",
    f"password: +.inf\nx: {SECRET}\x01\n",
    f"password: {SECRET}\ntoken:\n",
])
def test_errors_never_show_values(text):
    err = refuse(text)
    assert SECRET not in str(err)


def test_dump_flow_directly():
    assert dump_flow(["a", 1, 2.5, True, None, [], [[]]]) == "[a, 1, 2.5, true, null, [], [[]]]"
    assert dump_flow([float("inf"), float("-inf"), float("nan"), -0.0, 1e-5]) == "[.inf, -.inf, .nan, -0.0, 1.0E-5]"
    assert dump_flow(["x\ny", "", "1", "null", "a,b"]) == "[\"x\\ny\", '', '1', 'null', 'a,b']"
    shared = ["s"]
    assert dump_flow([shared, shared]) == "[&id001 [s], *id001]"
    counter = [0]
    dump_flow([shared, shared], counter)
    assert dump_flow([shared, shared], counter) == "[&id002 [s], *id002]"


def test_cost_is_linear_in_groups(python_calls):
    # work counted, not timed: doubling the file must not much more than double the work
    def data(n):
        return "".join(f"group{i}:\n  size: {i}m\n  opts: -Dx={i} # c\n  list: [a, b, 'c d']\n" for i in range(n))

    assert len(parse(data(500)).config) == 1500
    small, large = python_calls(parse, data(250)), python_calls(parse, data(500))
    assert large < 2.3 * small
    assert parse(b"a: 1\nb: 2").config == {"a": "1", "b": "2"}
