"""already_holds: when a gathered (redacted) map shows nothing to change, the editor changes nothing.

flink_config skips reading a host on that answer, so a wrong True would report a host compliant
that the editor would have edited. The property tests draw files of both formats around keys with
deprecated spellings, duplicates, nested and flat forms, sensitive keys and skipped lines, and
check every True against the real editor (plan_edit) on the real bytes.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_edit import already_holds, plan_edit
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml
from ansible_collections.flinkops.flink.plugins.plugin_utils.gather_result import redact_anywhere

# managed.size falls back to the deprecated taskmanager.memory.size; s3.secret-key is sensitive
KEYS = ["taskmanager.memory.managed.size", "taskmanager.memory.size", "taskmanager.memory.process.size",
        "taskmanager.heap.size", "taskmanager.numberOfTaskSlots", "s3.secret-key", "a.b"]
VALUES = ["1g", "2g", "4", "x y", "******"]
VERSIONS = ["1.17", "1.20", "2.0", "2.3"]


def holds(config, to_set, to_remove, version):
    return already_holds(redact_anywhere(config), to_set, to_remove, version)


def test_every_setting_at_its_value_and_nothing_to_remove():
    config = {"taskmanager.memory.process.size": "4g", "taskmanager.numberOfTaskSlots": "4"}
    assert holds(config, {"taskmanager.memory.process.size": "4g", "taskmanager.numberOfTaskSlots": 4}, [], "2.3")
    assert not holds(config, {"taskmanager.memory.process.size": "2g"}, [], "2.3")
    assert not holds(config, {"taskmanager.memory.flink.size": "2g"}, [], "2.3")
    assert not holds(config, {}, ["taskmanager.numberOfTaskSlots"], "2.3")


def test_a_deprecated_spelling_of_a_removed_key_still_needs_the_edit():
    assert not holds({"taskmanager.memory.size": "1g"}, {}, ["taskmanager.memory.managed.size"], "1.20")
    assert holds({"taskmanager.memory.process.size": "1g"}, {}, ["taskmanager.memory.managed.size"], "1.20")


def test_a_hidden_value_is_never_taken_as_equal():
    # the gathered map shows ****** for a secret: even a setting of that very text must read the file
    assert not holds({"s3.secret-key": "abc"}, {"s3.secret-key": "abc"}, [], "2.3")
    assert not holds({"s3.secret-key": "abc"}, {"s3.secret-key": "******"}, [], "2.3")


@pytest.mark.parametrize("value", [None, ["a"], {"a": 1}])
def test_a_value_the_editor_refuses_is_left_to_the_editor(value):
    assert not holds({"a.b": "x"}, {"a.b": value}, [], "2.3")


def test_a_key_both_set_and_removed_is_left_to_the_editor():
    assert not holds({"a.b": "x"}, {"a.b": "x"}, ["a.b"], "2.3")


_OPS = st.tuples(st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3),
                 st.lists(st.sampled_from(KEYS), max_size=2), st.sampled_from(VERSIONS))


def _check(content: bytes, fmt: str, config: dict, ops) -> None:
    to_set, to_remove, version = ops
    to_remove = [k for k in to_remove if k not in to_set]
    if holds(config, to_set, to_remove, version):
        plan = plan_edit(content, fmt, "/conf/x", version, to_set, to_remove, ["taskmanager"])
        assert not plan.changed and plan.content == content, (content, to_set, to_remove, plan.changes)


_LEGACY_LINE = st.one_of(
    st.tuples(st.sampled_from(KEYS), st.sampled_from(VALUES), st.sampled_from(["", "  ", " # note"]))
    .map(lambda t: f"{t[2][:2] if t[2] == '  ' else ''}{t[0]}: {t[1]}{t[2] if t[2] != '  ' else ''}"),
    st.sampled_from(["# taskmanager.memory.size: 1g", "", "broken line", "taskmanager.memory.size:", "a.b:1g"]),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_LEGACY_LINE, max_size=8), _OPS)
def test_legacy_nothing_to_change_means_the_editor_changes_nothing(lines, ops):
    content = ("\n".join(lines) + "\n").encode()
    parsed = parse_flink_conf(content, "/conf/flink-conf.yaml")
    if parsed.skipped_lines:  # flink_config does not use a gather of such a file
        return
    _check(content, "legacy", parsed.config, ops)


@st.composite
def _yaml_doc(draw):
    """config.yaml with each key nested or flat, some twice (the later spelling wins)."""
    lines = []
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=6)):
        value = draw(st.sampled_from(VALUES))
        value = f"'{value}'" if value.startswith("*") else value
        parts = key.split(".")
        if len(parts) > 1 and draw(st.booleans()):
            lines += [f"{'  ' * d}{p}:" for d, p in enumerate(parts[:-1])]
            lines.append(f"{'  ' * (len(parts) - 1)}{parts[-1]}: {value}")
        else:
            lines.append(f"{key}: {value}")
    return ("\n".join(lines) + "\n").encode()


@settings(max_examples=400, deadline=None)
@given(_yaml_doc(), _OPS)
def test_yaml_nothing_to_change_means_the_editor_changes_nothing(content, ops):
    try:
        config = parse_config_yaml(content, "/conf/config.yaml").config
    except Exception:  # noqa: BLE001 -- a repeated nested map or a key that is both a leaf and a map: Flink refuses
        return
    _check(content, "yaml", config, ops)
