"""The one-pass config.yaml editor (issue 13.10) against the editor it replaced, byte for byte.

``reference/config_yaml_edit_sequential.py`` is the editor as it was before: it parsed the whole
document again for every setting and every removed occurrence.  The one-pass editor keeps its tree
up to date through the edits instead; on every generated file and edit both must give the same
bytes and the same changes, or refuse alike.  Generated files mix what the real ones hold: nested,
flat and mixed keys, comments and blank lines, block scalars, block and flow lists and maps,
quoted values, anchors and aliases, CRLF, no final newline.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import EditError
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml_edit import edit_config_yaml

sys.path.insert(0, str(Path(__file__).resolve().parent / "reference"))
import config_yaml_edit_sequential as reference  # noqa: E402  (the frozen editor, not a package)

SEGMENTS = ["taskmanager", "memory", "process", "size", "jobmanager", "network", "min", "max", "a", "b",
            "fraction", "managed", "s3", "secret-key", "env", "java", "opts"]
VALUES = ["1g", "2048m", "0.4", "true", "x y", "'quoted'", '"dq"', "[a, b]", "{k: v}", "yes", "010", "''",
          "s3://b/p#f", "1", "null-ish"]


def _key(rnd: random.Random, parts: int) -> list:
    return [rnd.choice(SEGMENTS) for _ in range(parts)]


def _value_lines(rnd: random.Random, indent: int) -> list:
    roll = rnd.random()
    pad = " " * (indent + 2)
    if roll < 0.1:
        return [" |", f"{pad}line one", f"{pad}line two"] + ([""] if rnd.random() < 0.5 else [])
    if roll < 0.15:
        return [" >-", f"{pad}folded", f"{pad}text"]
    if roll < 0.25:
        return ["", f"{pad}- item1", f"{pad}# a comment in the list", f"{pad}- item2"]
    if roll < 0.3:
        return [" " + rnd.choice(VALUES) + "   # trailing comment"]
    return [" " + rnd.choice(VALUES)]


def _map_lines(rnd: random.Random, indent: int, depth: int, used: set) -> list:
    lines = []
    for _ in range(rnd.randint(1, 4)):
        key = ".".join(_key(rnd, rnd.randint(1, 2) if depth else rnd.randint(1, 3)))
        if key in used:
            continue
        used.add(key)
        if depth < 3 and rnd.random() < 0.35:
            lines.append(" " * indent + key + ":")
            lines += _map_lines(rnd, indent + rnd.choice([2, 2, 4]) if depth == 0 else indent + 2, depth + 1, set())
        else:
            value = _value_lines(rnd, indent)
            lines.append(" " * indent + key + ":" + value[0])
            lines += value[1:]
        if rnd.random() < 0.15:
            lines.append(" " * indent + "# note")
        if rnd.random() < 0.1:
            lines.append("")
    return lines


def _document(rnd: random.Random) -> str:
    lines = ["# generated"] + _map_lines(rnd, 0, 0, set())
    if rnd.random() < 0.2:
        lines.append("anchored: &an v")
        lines.append("aliased: *an")
    if rnd.random() < 0.1:
        lines.append("flow: {x: 1, y: [2, 3]}")
    eol = rnd.choice(["\n"] * 6 + ["\r\n"])
    return eol.join(lines) + (eol if rnd.random() < 0.85 else "")


def _ops(rnd: random.Random, text: str) -> tuple:
    try:
        flat = list(reference.parse_config_yaml(text.encode(), "x").config)
    except Exception:  # noqa: BLE001 - a generated file Flink refuses: both editors must refuse it
        flat = []
    settings, remove = {}, []
    for key in rnd.sample(flat, min(len(flat), rnd.randint(0, 4))):
        if rnd.random() < 0.25:
            remove.append(key)
        else:
            settings[key] = rnd.choice(VALUES + ["new value", "3g", "line\nbreak"])
    for _ in range(rnd.randint(0, 6)):
        key = ".".join(_key(rnd, rnd.randint(1, 5)))
        if key not in remove:
            settings[key] = rnd.choice(VALUES + ["7", "added"])
    return settings, remove


def _outcome(module, data: bytes, settings, remove):
    try:
        result = module.edit_config_yaml(data, "/c/config.yaml", settings, remove)
    except EditError as exc:
        return ("refused", str(exc))
    return ("ok", result.content, result.changes, result.after)


def _same(data: bytes, settings: dict, remove: list) -> None:
    ours = _outcome(sys.modules[edit_config_yaml.__module__], data, settings, remove)
    theirs = _outcome(reference, data, settings, remove)
    assert ours == theirs, (data, settings, remove)


@pytest.mark.parametrize("seed", range(600))
def test_generated_files_and_edits_give_the_same_bytes(seed):
    rnd = random.Random(seed)
    text = _document(rnd)
    settings, remove = _ops(rnd, text)
    _same(text.encode(), settings, remove)


@pytest.mark.parametrize("seed", range(60))
def test_many_settings_in_one_call(seed):
    rnd = random.Random(10_000 + seed)
    text = _document(rnd)
    settings = {}
    for _ in range(40):
        settings[".".join(_key(rnd, rnd.randint(1, 4)))] = rnd.choice(VALUES)
    _same(text.encode(), settings, [])


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "a: 1", "a: 1\r\nb: 2\r\n",
                                  "a:\n  b: |\n    x\n\n\nc: 1\n", "a: &x v\nb: *x\n"])
def test_edge_files(text):
    for settings in ({"a.b.c": "1", "a.b.d": "2", "z": "3"}, {"a": "9", "b": "8", "a.x": "7"},
                     {"b": "w", "a": "v"}):
        _same(text.encode(), settings, [])
        _same(text.encode(), settings, ["c"])


def test_the_document_is_parsed_a_fixed_number_of_times_whatever_the_number_of_settings(monkeypatch):
    """Issue 13.10: the editor parsed the whole document again per setting (18.5 s for 1,000 new keys).
    Counted, not timed: full-document parses (the tree and Flink's reading) for 1 and for 1,000 settings."""
    module = sys.modules[edit_config_yaml.__module__]
    counts = {"tree": 0, "flink": 0}
    real_doc, real_parse = module._Doc, module.parse_config_yaml

    class CountingDoc(real_doc):
        def __init__(self, text, path):
            counts["tree"] += len(text) > 30
            super().__init__(text, path)

    def counting_parse(data, path):
        counts["flink"] += path != module._CHECK_PATH  # not the one-value checks of render_scalar
        return real_parse(data, path)

    monkeypatch.setattr(module, "_Doc", CountingDoc)
    monkeypatch.setattr(module, "parse_config_yaml", counting_parse)
    data = b"taskmanager:\n  memory:\n    process.size: 2g\nenv.java.opts.all: -Dx=1\n"
    seen = []
    for n in (1, 1000):
        counts.update(tree=0, flink=0)
        settings = {f"metrics.reporter.r{i // 5}.f{i % 5}": str(i) for i in range(n)}
        settings["taskmanager.memory.process.size"] = "3g"
        result = edit_config_yaml(data, "/c/config.yaml", settings)
        assert result.after["taskmanager.memory.process.size"] == "3g" and len(result.changes) == n + 1
        seen.append(dict(counts))
    assert seen[0] == seen[1], seen  # the same few parses for 1 setting as for 1,000
    assert seen[1]["tree"] <= 3 and seen[1]["flink"] <= 2, seen
