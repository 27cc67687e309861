"""Round trip through real Flink: after every edit in the suite, Flink's own loader reads exactly the intended map.

For each case an original conf directory is loaded by ``GlobalConfiguration.loadConfiguration`` of
Flink 1.17, 1.20 and 2.3 (``oracle.py``); the intended map is *Flink's* map of the original, less
every spelling of the removed keys, plus the settings.  The edited file is written to a fresh
directory and loaded again: the maps must be equal.  And nothing else may move: every comment line
of the original, and the line of every key the edit does not touch, is still there in order.

The suite edits the default files Flink ships (PyPI ``apache-flink`` 1.17.2 ``flink-conf.yaml`` and
2.3.0 ``config.yaml``, fetched by ``flink_home.py``) and hand-written files with the layouts people
use: duplicates, deprecated keys, CRLF, no final newline, nested/flat/mixed YAML, flow maps, block
scalars, lists, and values YAML would change (``yes``, ``010``, ``1e3``, ``~``...).
"""

from __future__ import annotations

import re
from pathlib import Path

import flink_home
import pytest
from oracle import oracle

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import split_java_lines
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import _analyse, _split, edit_flink_conf
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_edit import spellings
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml_edit import _Doc, edit_config_yaml

LEGACY_VERSIONS = ("1.17", "1.20")
YAML_VERSIONS = ("1.20", "2.3")

PLAN_TM = {  # what memory_plan emits for a TaskManager group, as strings
    "taskmanager.memory.process.size": "4g",
    "taskmanager.numberOfTaskSlots": "4",
    "taskmanager.memory.managed.fraction": "0.3",
    "taskmanager.memory.network.max": "512m",
}
SPECIAL_VALUES = {  # YAML would read each of these as something else when written plain
    "x.yes": "yes", "x.no": "No", "x.on": "on", "x.octal": "010", "x.hex": "0x1F", "x.exp": "1e3",
    "x.null": "null", "x.tilde": "~", "x.true-cap": "True", "x.alias": "*x", "x.anchor": "&a b",
    "x.tag": "!t", "x.percent": "%p", "x.at": "@q", "x.backtick": "`b", "x.colon-space": "a: b",
    "x.space-hash": "a #b", "x.hash-start": "#c", "x.empty": "", "x.list": "[a, b]", "x.map": "{k: v}",
    "x.quote": "it's", "x.dquote": 'say "hi"', "x.lead": " lead", "x.trail": "trail ", "x.newline": "l1\nl2",
    "x.tab": "a\tb", "x.unicode": "caf\u00e9 \u2603", "x.dash": "- item", "x.question": "? q",
    "x.float-like": "0.50", "x.plus": "+1", "x.dot-inf": ".inf", "x.date": "2001-01-01",
    "x.backslash": "C:\\dir", "x.pipe": "| x", "x.gt": "> y", "x.comma": "a, b", "x.url": "s3://b/p#frag",
    # these stay plain: YAML gives back the same string
    "x.int": "4", "x.fraction": "0.4", "x.bool": "true", "x.neg": "-1", "x.size": "1728m",
    "x.jvm": "-XX:+UseG1GC -Dfoo=bar",
}


def legacy(text: str) -> dict:
    return {"flink-conf.yaml": text.encode("utf-8")}


def yaml_file(text: str) -> dict:
    return {"config.yaml": text.encode("utf-8")}


def _shipped(version: str) -> dict:
    name, data = flink_home.shipped_config(version)
    return {name: data}


DUPLICATES = """# duplicates: Flink keeps the last
taskmanager.memory.process.size: 1g
taskmanager.numberOfTaskSlots: 2
taskmanager.memory.process.size: 2g   # the one Flink uses
parallelism.default: 1
"""
DEPRECATED = """taskmanager.memory.process.size: 2g
taskmanager.memory.size: 256m
taskmanager.network.memory.min: 32m
taskmanager.network.memory.max: 128m
# keep me
taskmanager.memory.network.min: 64m
"""
ODD_LAYOUT = ("  taskmanager.memory.process.size:   1728m  # indented, wide\r\n"
              "jobmanager.memory.process.size: 1600m\r\n"
              "high-availability:\r\n"
              "key:value-without-space\r\n"
              "s3.secret-key: hunter2\r\n"
              "env.java.opts.all: -Dx=\"y z\" -Dk: v\r\n"
              "rest.port: 8081")
LEGACY_QUOTES = """taskmanager.memory.process.size: "1728m"
metrics.reporters: 'prom'
"""
NESTED = """# nested as migrate-config-file.sh writes it
jobmanager:
  memory:
    process:
      size: 1600m   # JM
taskmanager:
  numberOfTaskSlots: 1
  memory:
    process:
      size: 1728m
    # managed memory, a fraction of Total Flink Memory
    managed:
      fraction: 0.4
parallelism:
  default: 1
"""
FLAT = """taskmanager.memory.process.size: '1728m'
taskmanager.memory.flink.size: "1280m"
taskmanager.memory.size: 128m
s3.access-key: AKIA
s3.secret-key: "hunter2"

# unrelated
pipeline.jars: [a.jar, b.jar]
"""
MIXED = """taskmanager:
  memory:
    process.size: 1g
taskmanager.memory.process.size: 2g   # later: Flink uses this one
taskmanager.memory.managed.size: 512m
env.java.opts.all: "-Dx=y"
"""
SHAPES = """a:
  block: |
    line one
    line two

  folded: >-
    f1
    f2
  list:
    - 1
    # a comment inside the list
    - 2
  flow: {x: 1, y: [1, 2], z: 'q'}
  multi: plain
    continued
# end of a
taskmanager.memory.process.size: 1728m
"""
CRLF_YAML = "taskmanager:\r\n  memory:\r\n    process:\r\n      size: 1728m\r\n# c\r\nrest.port: 8081\r\n"
NO_EOL_YAML = "# c\ntaskmanager.numberOfTaskSlots: 1"
COMMENTS_ONLY = "# nothing set yet\n# taskmanager.memory.process.size: 1728m\n"
INDENT4 = "taskmanager:\n    memory:\n        process:\n            size: 1728m\n    host: tm1\n"

LEGACY_CASES = {
    "shipped-plan": (lambda: _shipped("1.17.2"), PLAN_TM, ["jobmanager.memory.process.size"]),
    "shipped-add-and-remove": (lambda: _shipped("1.17.2"),
                               {"rest.port": "8082", "state.backend.type": "rocksdb", "s3.secret-key": "p@ss:w rd",
                                "taskmanager.memory.jvm-metaspace.size": "512m"},
                               ["taskmanager.memory.process.size", "rest.bind-address"]),
    "duplicates": (lambda: legacy(DUPLICATES), {"taskmanager.memory.process.size": "3g"}, []),
    "duplicates-remove-all": (lambda: legacy(DUPLICATES), {}, ["taskmanager.memory.process.size"]),
    "deprecated-fallbacks": (lambda: legacy(DEPRECATED), {"taskmanager.memory.managed.fraction": "0.2"},
                             ["taskmanager.memory.managed.size", "taskmanager.memory.network.min",
                              "taskmanager.memory.network.max"]),
    "odd-layout-crlf-no-eol": (lambda: legacy(ODD_LAYOUT),
                               {"taskmanager.memory.process.size": "2g", "rest.port": "9091",
                                "taskmanager.memory.managed.size": "256m"},
                               ["jobmanager.memory.process.size", "s3.secret-key"]),
    "quotes-literal": (lambda: legacy(LEGACY_QUOTES), {"taskmanager.memory.process.size": "2g",
                                                       "metrics.reporters": "'jmx'"}, []),
    "empty-file": (lambda: legacy(""), {"taskmanager.memory.process.size": "1g"}, []),
}
YAML_CASES = {
    "shipped-plan": (lambda: _shipped("2.3.0"), PLAN_TM, ["jobmanager.memory.process.size"]),
    "shipped-add-and-remove": (lambda: _shipped("2.3.0"),
                               {"rest.port": "8082", "state.backend.type": "rocksdb", "s3.secret-key": "p@ss: w#rd",
                                "taskmanager.memory.jvm-metaspace.size": "512m", "jobmanager.rpc.port": "6124"},
                               ["taskmanager.memory.process.size", "env.java.opts.all", "parallelism.default"]),
    "shipped-special-values": (lambda: _shipped("2.3.0"), SPECIAL_VALUES, []),
    "nested": (lambda: yaml_file(NESTED),
               {"taskmanager.memory.process.size": "4g", "taskmanager.memory.managed.size": "1g",
                "taskmanager.memory.network.fraction": "0.15", "jobmanager.rpc.address": "jm1"},
               ["taskmanager.memory.managed.fraction", "jobmanager.memory.process.size"]),
    "flat-quoted": (lambda: yaml_file(FLAT),
                    {"taskmanager.memory.process.size": "2g", "s3.secret-key": "new'secret"},
                    ["taskmanager.memory.flink.size", "taskmanager.memory.managed.size", "pipeline.jars"]),
    "flat-special-values": (lambda: yaml_file(FLAT), SPECIAL_VALUES, []),
    "mixed-nested-and-flat": (lambda: yaml_file(MIXED), {"taskmanager.memory.process.size": "3g",
                                                         "env.java.opts.all": "-Dx=z #not a comment"}, []),
    "mixed-remove-every-spelling": (lambda: yaml_file(MIXED), {}, ["taskmanager.memory.process.size",
                                                                   "taskmanager.memory.managed.size"]),
    "shapes-replace": (lambda: yaml_file(SHAPES),
                       {"a.block": "one line", "a.folded": "yes", "a.list": "[3]", "a.flow.x": "2",
                        "a.flow.y": "none", "a.multi": "single"}, []),
    "shapes-remove": (lambda: yaml_file(SHAPES), {"a.flow.w": "new"},
                      ["a.block", "a.list", "a.flow.x", "a.flow.z", "a.multi"]),
    "shapes-remove-whole-map": (lambda: yaml_file(SHAPES), {},
                                ["a.block", "a.folded", "a.list", "a.flow.x", "a.flow.y", "a.flow.z", "a.multi"]),
    "crlf": (lambda: yaml_file(CRLF_YAML), {"taskmanager.memory.managed.size": "1g", "rest.port": "8082"}, []),
    "no-final-newline": (lambda: yaml_file(NO_EOL_YAML), {"taskmanager.numberOfTaskSlots": "2",
                                                          "parallelism.default": "2"}, []),
    "comments-only": (lambda: yaml_file(COMMENTS_ONLY), {"taskmanager.memory.process.size": "1728m"}, []),
    "indent-four": (lambda: yaml_file(INDENT4), {"taskmanager.memory.managed.fraction": "0.2",
                                                 "taskmanager.numberOfTaskSlots": "2"}, []),
}


def _write(directory: Path, files: dict) -> Path:
    directory.mkdir(parents=True)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    return directory


def _intended(flink_before: dict, settings: dict, remove: list, version: str) -> dict:
    out = dict(flink_before)
    for key in remove:
        for name in spellings(key, version):
            if name not in settings:
                out.pop(name, None)
    out.update(settings)
    return out


def _comparable(line: str) -> str:
    # a comment kept from a removed block may move left (so no block scalar swallows it): same text
    return line.strip() if line.lstrip().startswith("#") else line


def _subsequence(needles: list, haystack: list) -> list:
    """Needles not found in order in haystack (comment lines compared without their indentation)."""
    haystack = [_comparable(h) for h in haystack]
    missing, pos = [], 0
    for needle in map(_comparable, needles):
        try:
            pos = haystack.index(needle, pos) + 1
        except ValueError:
            missing.append(needle)
    return missing


def _kept_lines_legacy(text: str, touched: set) -> list:
    keep = []
    for line in _split(text):
        _analyse(line)
        if line.key is None or line.key not in touched:
            keep.append(line.text)
    return keep


def _kept_lines_yaml(text: str, touched: set) -> list:
    """Comment lines, and the line of each value whose key the edit does not touch."""
    doc = _Doc(text, "")
    lines = split_java_lines(text)
    keep = {i for i, line in enumerate(lines) if line.lstrip().startswith("#") and doc.is_comment_line(doc.starts[i])}
    for m in doc.maps():
        for e in m.entries:
            if e.value.kind != "map" and e.flat not in touched and not m.flow:
                keep.add(doc.line_of(e.value.start))
    return [lines[i] for i in sorted(keep)]


def _run(tmp_path, version, files, settings, remove, fmt):
    flink = oracle(version)
    before_dir = _write(tmp_path / "before", files)
    before = flink.load(str(before_dir))
    assert before["ok"], before["error_chain"]
    name = "flink-conf.yaml" if fmt == "legacy" else "config.yaml"
    data = files[name]

    def aliases(key):
        return spellings(key, version)[1:]

    if fmt == "legacy":
        result = edit_flink_conf(data, name, settings, remove, aliases=aliases)
    else:
        result = edit_config_yaml(data, name, settings, remove, aliases=aliases)
    after_dir = _write(tmp_path / "after", {**files, name: result.content})
    after = flink.load(str(after_dir))
    assert after["ok"], f"Flink {version} refuses the edited file: {after['error_chain']}"
    intended = _intended(before["config"], settings, remove, version)
    diff = {k: (after["config"].get(k), intended.get(k)) for k in set(after["config"]) | set(intended)
            if after["config"].get(k) != intended.get(k)}
    assert after["config"] == intended, f"Flink {version}: (read, intended) differ: {diff!r}"
    # our own reading of the edit agrees with Flink's too
    assert result.after == after["config"]

    touched = set(settings)
    for key in remove:
        touched.update(spellings(key, version))
    old_text, new_text = data.decode("utf-8"), result.content.decode("utf-8")
    if fmt == "legacy":
        wanted = _kept_lines_legacy(old_text, touched)
        missing = _subsequence(wanted, [line.text for line in _split(new_text)])
    else:
        wanted = _kept_lines_yaml(old_text, touched)
        missing = _subsequence(wanted, split_java_lines(new_text))
    assert not missing, f"lines of the original lost or reordered: {missing[:5]}"
    return result


@pytest.mark.parametrize("case", sorted(LEGACY_CASES))
@pytest.mark.parametrize("version", LEGACY_VERSIONS)
def test_legacy_edit_reads_back_in_flink(tmp_path, version, case):
    make, settings, remove = LEGACY_CASES[case]
    result = _run(tmp_path, version, make(), settings, remove, "legacy")
    assert result.changed


@pytest.mark.parametrize("case", sorted(YAML_CASES))
@pytest.mark.parametrize("version", YAML_VERSIONS)
def test_yaml_edit_reads_back_in_flink(tmp_path, version, case):
    make, settings, remove = YAML_CASES[case]
    result = _run(tmp_path, version, make(), settings, remove, "yaml")
    assert result.changed


def test_shipped_files_are_the_real_ones():
    """The files edited above are what apache-flink ships, not stand-ins."""
    name17, data17 = flink_home.shipped_config("1.17.2")
    name23, data23 = flink_home.shipped_config("2.3.0")
    assert name17 == "flink-conf.yaml" and b"taskmanager.memory.process.size: 1728m" in data17
    assert name23 == "config.yaml" and re.search(rb"taskmanager:\n(.*\n)*?\s+process:\n(.*\n)*?\s+size: 1728m", data23)
    assert data17.count(b"\n#") > 50 and data23.count(b"\n#") > 50  # heavily commented: a real test of keeping them


def test_second_edit_changes_nothing(tmp_path):
    """Idempotence through Flink: applying the same edit to the edited file is a no-op."""
    for fmt, (make, settings, remove) in (("legacy", LEGACY_CASES["shipped-plan"]),
                                          ("yaml", YAML_CASES["shipped-special-values"])):
        files = make()
        name = next(iter(files))
        edit = edit_flink_conf if fmt == "legacy" else edit_config_yaml
        first = edit(files[name], name, settings, remove)
        second = edit(first.content, name, settings, remove)
        assert not second.changed and second.content == first.content, fmt
