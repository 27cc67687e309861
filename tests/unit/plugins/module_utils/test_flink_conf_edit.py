"""The legacy flink-conf.yaml editor: exact, hand-checked outputs; refusals; redaction for diffs.

(Real Flink reading the edited files back is tests/oracle/test_edit_roundtrip_oracle.py.)
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import (
    EditError,
    edit_flink_conf,
    memory_spellings,
    redact_flink_conf_text,
)

BASE = b"""# Flink
jobmanager.memory.process.size: 1600m

  taskmanager.memory.process.size:   1728m   # shipped default
taskmanager.numberOfTaskSlots: 1
taskmanager.memory.process.size: 2g
parallelism.default: 1
#taskmanager.memory.managed.fraction: 0.4
"""


def edit(data, settings=None, remove=None, **kw):
    return edit_flink_conf(data, "/opt/flink/conf/flink-conf.yaml", settings or {}, remove or [], **kw)


def test_set_edits_the_last_duplicate_only():
    r = edit(BASE, {"taskmanager.memory.process.size": "4g"})
    assert r.content == BASE.replace(b"process.size: 2g", b"process.size: 4g")
    assert r.changes == [{"key": "taskmanager.memory.process.size", "action": "update", "line": 6,
                          "before": "2g", "after": "4g"}]
    assert r.after["taskmanager.memory.process.size"] == "4g"


def test_set_keeps_indentation_spacing_and_trailing_comment():
    data = b"  a.b:   1   # why\n"
    assert edit(data, {"a.b": "22"}).content == b"  a.b:   22   # why\n"
    # a value glued to its comment stays glued: the '#' still ends it
    assert edit(b"a.b: 1#c\n", {"a.b": "2"}).content == b"a.b: 2#c\n"


def test_add_goes_after_the_closest_prefix_family():
    r = edit(BASE, {"taskmanager.memory.managed.size": "1g", "jobmanager.memory.jvm-metaspace.size": "512m"})
    lines = r.content.decode().splitlines()
    # after the last taskmanager.memory.* line (the duplicate on line 6, now 7), not the indented first one
    assert lines[6] == "taskmanager.memory.process.size: 2g"
    assert lines[7] == "taskmanager.memory.managed.size: 1g"
    assert lines[1:3] == ["jobmanager.memory.process.size: 1600m", "jobmanager.memory.jvm-metaspace.size: 512m"]
    assert [c["line"] for c in r.changes] == [8, 3]  # lines in the new file


def test_add_copies_the_indentation_of_its_neighbour():
    r = edit(b"  taskmanager.memory.process.size: 1g\nx: 1\n", {"taskmanager.memory.flink.size": "800m"})
    assert r.content == b"  taskmanager.memory.process.size: 1g\n  taskmanager.memory.flink.size: 800m\nx: 1\n"


def test_unrelated_key_goes_at_the_end_and_commented_keys_are_not_anchors():
    r = edit(BASE, {"state.backend.type": "rocksdb"})
    assert r.content == BASE + b"state.backend.type: rocksdb\n"
    # the commented-out managed.fraction is not a place to put the real one
    r = edit(BASE, {"taskmanager.memory.managed.fraction": "0.3"})
    assert r.content.decode().splitlines()[6] == "taskmanager.memory.managed.fraction: 0.3"


def test_line_endings_and_missing_final_newline_are_kept():
    data = b"a.x: 1\r\nb: 2"
    r = edit(data, {"a.y": "3", "c": "4"})
    assert r.content == b"a.x: 1\r\na.y: 3\r\nb: 2\r\nc: 4\r\n"
    r = edit(b"a: 1\rb: 2\r", {"a": "5"})
    assert r.content == b"a: 5\rb: 2\r"


def test_remove_deletes_every_line_flink_reads_and_deprecated_fallbacks():
    data = (b"taskmanager.memory.size: 1g\n# keep\ntaskmanager.memory.managed.size: 2g\nx: 1\n"
            b"taskmanager.memory.managed.size: 3g\n#taskmanager.memory.managed.size: 9g\n")
    r = edit(data, remove=["taskmanager.memory.managed.size"])
    assert r.content == b"# keep\nx: 1\n#taskmanager.memory.managed.size: 9g\n"
    assert {(c["key"], c["line"]) for c in r.changes} == {
        ("taskmanager.memory.size", 1), ("taskmanager.memory.managed.size", 3), ("taskmanager.memory.managed.size", 5)}
    assert r.after == {"x": "1"}


def test_memory_spellings_come_from_the_option_catalog():
    assert memory_spellings("taskmanager.memory.network.min") == (
        "taskmanager.memory.network.min", "taskmanager.network.memory.min")
    assert memory_spellings("not.a.memory.key") == ("not.a.memory.key",)
    # removing the deprecated name does not remove the new one
    assert memory_spellings("taskmanager.memory.size") == ("taskmanager.memory.size",)


def test_aliases_can_be_given_and_a_set_name_is_never_removed():
    data = b"a: 1\nb: 2\nc: 3\n"
    assert edit(data, remove=["a"], aliases={"a": ["b"]}).content == b"c: 3\n"
    assert edit(data, {"b": "5"}, remove=["a"], aliases=lambda k: ["b"]).content == b"b: 5\nc: 3\n"
    with pytest.raises(EditError, match="both set and removed"):
        edit(data, {"a": "1"}, remove=["a"])


def test_no_change_returns_the_same_bytes():
    r = edit(BASE, {"taskmanager.memory.process.size": "2g", "parallelism.default": "1"}, ["absent.key"])
    assert not r.changed and r.content is BASE and r.changes == []


@pytest.mark.parametrize(("value", "reason"), [
    ("ab#cd", "holds '#'"),
    ("a\nb", "line break"),
    ("a\rb", "line break"),
    (" 1g", "blanks"),
    ("1g\t", "blanks"),
    ("", "empty value"),
    ("   ", "empty value"),
])
def test_values_flink_would_read_differently_are_refused_without_showing_them(value, reason):
    with pytest.raises(EditError) as exc:
        edit(BASE, {"security.ssl.keystore-password": value})
    text = str(exc.value)
    assert reason in text and "nothing was written" in text
    assert text.startswith("/opt/flink/conf/flink-conf.yaml, key 'security.ssl.keystore-password': ")
    if value.strip():
        assert value.strip() not in text


@pytest.mark.parametrize("key", ["", "a: b", "a#b", " a", "a\nb"])
def test_keys_flink_would_read_differently_are_refused(key):
    with pytest.raises(EditError):
        edit(BASE, {key: "1"})


def test_values_with_colons_quotes_and_unicode_are_written_literally():
    r = edit(b"", {"env.java.opts.all": '-Dx="a b" -Dk: v', "s3.endpoint": "https://h:9000", "n": "caf\u00e9"})
    assert r.after == {"env.java.opts.all": '-Dx="a b" -Dk: v', "s3.endpoint": "https://h:9000", "n": "caf\u00e9"}
    assert r.content.decode() == 'env.java.opts.all: -Dx="a b" -Dk: v\ns3.endpoint: https://h:9000\nn: caf\u00e9\n'


def test_bytes_that_are_not_utf8_survive_untouched():
    data = b"a: \xff\xfe raw\nb: 1\n"
    assert edit(data, {"b": "2"}).content == b"a: \xff\xfe raw\nb: 2\n"


def test_bom_stays_part_of_the_first_key_as_flink_reads_it():
    data = "\ufefftaskmanager.memory.process.size: 1g\n".encode()
    r = edit(data, {"taskmanager.memory.process.size": "2g"})
    # Flink reads '\ufefftaskmanager...' as another key: the real key is added, the BOM line kept
    assert r.content == data + b"taskmanager.memory.process.size: 2g\n"


def test_redaction_hides_values_comments_and_unparsed_lines():
    def sensitive(k):
        return any(w in k.lower() for w in ("password", "secret", "token"))
    text = ("s3.secret-key: abc   # rotated\n"
            "a.password:nospace\n"
            "# old.token: t0k3n\n"
            "plain: visible # keep\n"
            "x: y # password: inline\n")
    shown = redact_flink_conf_text(text, sensitive)
    assert shown == ("s3.secret-key: ******   # ******\n"  # a comment after a secret may be about it
                     "a.password:******\n"
                     "# old.token: ******\n"
                     "plain: visible # keep\n"
                     "x: y # password: ******\n")


_KEY = st.from_regex(r"[a-z]{1,3}(\.[a-z]{1,3}){0,2}", fullmatch=True)
_VALUE = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9:./ -]{0,8}[A-Za-z0-9]|[A-Za-z0-9]", fullmatch=True)
_LINE = st.one_of(
    st.tuples(_KEY, _VALUE).map(lambda kv: f"{kv[0]}: {kv[1]}"),
    st.from_regex(r"#[ -~]{0,20}", fullmatch=True),
    st.just(""), st.just("broken:line"),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_LINE, max_size=12), st.dictionaries(_KEY, _VALUE, max_size=4), st.lists(_KEY, max_size=3))
def test_any_edit_reads_back_as_intended_and_keeps_other_lines(lines, to_set, to_remove):
    to_remove = [k for k in to_remove if k not in to_set]
    data = ("\n".join(lines) + "\n").encode()
    r = edit(data, to_set, to_remove, aliases={})
    before = parse_flink_conf(data, "x").config
    wanted = {k: v for k, v in before.items() if k not in to_remove}
    wanted.update(to_set)
    assert parse_flink_conf(r.content, "x").config == wanted
    new_lines = r.content.decode().splitlines()
    for line in lines:
        key = line.split(": ", 1)[0] if ": " in line and not line.startswith("#") else None
        if key is None or (key not in to_set and key not in to_remove):
            assert line in new_lines
