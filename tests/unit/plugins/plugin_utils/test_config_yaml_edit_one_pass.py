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


# --- removals (one pass too): files where keys come in several spellings and places ---------------


def _spelling(rnd: random.Random, key: str) -> list:
    """``key`` as a path of map keys: nested (a: b: c:), flat (a.b.c) or partly flat (a: b.c:)."""
    parts = key.split(".")
    path, run = [], [parts[0]]
    for part in parts[1:]:
        if rnd.random() < 0.5:
            path.append(".".join(run))
            run = [part]
        else:
            run.append(part)
    return path + [".".join(run)]


def _render(rnd: random.Random, tree: dict, indent: int, lines: list) -> None:
    for name, sub in tree.items():
        if isinstance(sub, dict):
            lines.append(" " * indent + name + ":")
            _render(rnd, sub, indent + 2, lines)
        else:
            lines.append(" " * indent + name + ":" + sub[0])
            lines += sub[1:]
        if rnd.random() < 0.25:
            lines.append(rnd.choice([" " * indent + "# note", "# at the margin", "", "   ",
                                     " " * (indent + 6) + "# deep"]))


def _removal_document(rnd: random.Random) -> tuple:
    """A file holding keys in several spellings (nested, flat, partly flat), several times, last in
    their maps, in flow maps, between comments and blank lines; and the keys it holds."""
    tree: dict = {}
    keys = []
    for _ in range(rnd.randint(3, 14)):
        key = ".".join(_key(rnd, rnd.randint(1, 4)))
        for _ in range(rnd.randint(1, 3)):  # the same key again, in another spelling
            path = _spelling(rnd, key)
            node = tree
            for name in path[:-1]:
                node = node.setdefault(name, {})
                if not isinstance(node, dict):
                    break
            else:
                if path[-1] not in node:
                    indent = 2 * (len(path) - 1)
                    if rnd.random() < 0.12:
                        node[path[-1]] = [" {x: 1, y: [2, 3], z: {w: 4}}"]
                        keys += [key + ".x", key + ".z.w"]
                    else:
                        node[path[-1]] = _value_lines(rnd, indent)
                        keys.append(key)
    lines = ["# generated for removals"]
    _render(rnd, tree, 0, lines)
    eol = rnd.choice(["\n"] * 6 + ["\r\n"])
    return eol.join(lines) + (eol if rnd.random() < 0.85 else ""), keys


@pytest.mark.parametrize("seed", range(400))
def test_removals_give_the_same_bytes(seed):
    rnd = random.Random(20_000 + seed)
    text, keys = _removal_document(rnd)
    try:
        held = list(reference.parse_config_yaml(text.encode(), "x").config)
    except Exception:  # noqa: BLE001 - a file Flink refuses: both editors must refuse it
        held = []
    pool = sorted(set(keys) | set(held))
    remove = rnd.sample(pool, min(len(pool), rnd.randint(1, 8)))
    settings = {}
    if rnd.random() < 0.5:  # removals, then settings on the tree they left
        for _ in range(rnd.randint(1, 5)):
            key = ".".join(_key(rnd, rnd.randint(1, 4)))
            if key not in remove:
                settings[key] = rnd.choice(VALUES)
    aliases = None
    if rnd.random() < 0.3:  # deprecated spellings removed with the key
        aliases = {key: rnd.sample(pool, min(len(pool), 2)) for key in remove}
    ours = sys.modules[edit_config_yaml.__module__]
    assert _outcome_with(ours, text.encode(), settings, remove, aliases) == \
        _outcome_with(reference, text.encode(), settings, remove, aliases), (text, settings, remove, aliases)


def _outcome_with(module, data, settings, remove, aliases):
    try:
        result = module.edit_config_yaml(data, "/c/config.yaml", settings, remove, aliases)
    except EditError as exc:
        return ("refused", str(exc))
    return ("ok", result.content, result.changes, result.after)


@pytest.mark.parametrize("text", [
    "a:\n  b: 1\n  c: 2\nd: 3\n",  # the first key of a nested map
    "a:\n  b: 1\n  c: 2\n",  # the last key of a map, the last of the file
    "a:\n  b:\n    c: 1\nb.c: 2\n",  # a map left empty goes, up to the root
    "p: |\n  text\nx: 1\n\n  # deep\ny: 2\n",  # a block scalar before the removed key, blank line after
    "p: |\n  text\nx: 1\n    # deep comment\ny: 2\n",
    "a: &m\n  x: 1\n  y: 2\nb: 3\n",  # an anchored map loses its first key
    "x: 1\n",  # the root's only key
    "{x: 1, y: 2}\n", "f: {x: 1}\ng: 2\n", "f: {y: 0, x: 1}\n",
    "x: 1 # c\nx.y: 2\n", "x: [1,\n  2]\n# kept\nz: 3\n",
    "a:\n  x: |\n    t\n  # in\n  y: 1\nz: 2\n",
    "x: 1\r\ny: 2\r\nx: 3\r\n",
])
def test_removal_edge_files(text):
    for remove in (["x"], ["a.b", "a.c"], ["a.x"], ["y", "x"], ["f.x"], ["b.c", "a.b.c"], ["x.y", "x"], ["a.y"]):
        _same(text.encode(), {"a.new": "1", "z": "9"}, remove)
        _same(text.encode(), {}, remove)


def test_removals_parse_the_document_a_fixed_number_of_times(monkeypatch):
    """Issue 13.10: every removed occurrence parsed the whole document again.  Counted, not timed:
    full-document parses for 1 and for 1,000 removals (nested and flat spellings, each key twice)."""
    module = sys.modules[edit_config_yaml.__module__]
    counts = {"tree": 0, "flink": 0}
    real_doc, real_parse = module._Doc, module.parse_config_yaml

    class CountingDoc(real_doc):
        def __init__(self, text, path):
            counts["tree"] += len(text) > 30
            super().__init__(text, path)

    def counting_parse(data, path):
        counts["flink"] += path != module._CHECK_PATH
        return real_parse(data, path)

    monkeypatch.setattr(module, "_Doc", CountingDoc)
    monkeypatch.setattr(module, "parse_config_yaml", counting_parse)
    seen = []
    for n in (1, 1000):
        families = [f"metrics.reporter.r{i}" for i in range(n)]
        text = "metrics:\n  reporter:\n" + "".join(f"    r{i}:\n      port: {i}\n      host: h\n" for i in range(n))
        text += "".join(f"{f}.port: {i}\n# about {f}\n" for i, f in enumerate(families))
        counts.update(tree=0, flink=0)
        result = edit_config_yaml(text.encode(), "/c/config.yaml", {"z": "1"}, [f"{f}.port" for f in families])
        assert not any(k.endswith(".port") for k in result.after) and len(result.changes) == n + 1
        assert result.content == reference.edit_config_yaml(text.encode(), "/c/config.yaml", {"z": "1"},
                                                            [f"{f}.port" for f in families]).content \
            if n == 1 else True
        seen.append(dict(counts))
    assert seen[0] == seen[1], seen  # the same few parses for 1 removal as for 1,000
    assert seen[1]["tree"] <= 3 and seen[1]["flink"] <= 2, seen
