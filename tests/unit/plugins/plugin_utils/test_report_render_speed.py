"""The report's faster renderers give the very bytes of the plain ones (issue 18: the aggregate over 10,000 hosts).

json_text is json.dumps(report, indent=2) + newline without Python's pure-Python encoder; the HTML page makes
each distinct memory bar once; the JUnit file escapes each distinct text once. Same output, less work.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.plugin_utils import report as rp
from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import fleet_drift

GIB = 1 << 30


def _result(config: dict, version: str, mem_total: int) -> dict:
    return {
        "changed": False, "config": dict(config), "config_file": "/opt/flink/conf/flink-conf.yaml",
        "config_format": "legacy", "config_lines": {k: i + 1 for i, k in enumerate(config)}, "ignored_files": [],
        "skipped_lines": [], "checksum": "0" * 64, "flink_version": version, "processes": ["taskmanager"],
        "mem_total_bytes": mem_total, "cgroup_memory_limit_bytes": None, "cpu_count": 4,
        "memory": {"taskmanager": compute(config, "taskmanager", version)},
    }


def _report(n: int = 12) -> dict:
    kinds = [({"taskmanager.memory.process.size": "4g", "taskmanager.numberOfTaskSlots": "4"}, "1.20.5"),
             ({"taskmanager.memory.process.size": "3g", "taskmanager.memory.managed.fraction": "0.2"}, "1.17.2"),
             ({"taskmanager.memory.flink.size": "2g", "taskmanager.memory.jvm-overhead.min": "9999999g"}, "2.3.0")]
    results = {f"tm{i}": _result(*kinds[i % 3], mem_total=(8 + i % 2) * GIB) for i in range(n)}
    results["down"] = {"unreachable": True, "msg": "ssh: connect to host down port 22: No route to host \x01 \u00e9"}
    drift = fleet_drift(results, group_by="process")
    findings = {h: [{"severity": "warning", "code": "unknown-key", "key": "k<&>\"'", "line": 2,
                     "message": "odd \u2028 text \x00 here", "fix": None}] for h in list(results)[:4]}
    return rp.build_report(results, findings, drift, fail_on="drift", memory_limits={"tm1": 2 * GIB},
                           generated_at="2026-01-01T00:00:00Z")


def test_json_text_is_json_dumps_indent_2_of_a_report():
    report = _report()
    assert rp.json_text(report) == json.dumps(report, indent=2) + "\n"
    assert rp.render(report, "json") == json.dumps(report, indent=2, sort_keys=False) + "\n"


_scalars = (st.none() | st.booleans() | st.integers(min_value=-(1 << 80), max_value=1 << 80)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text())
_keys = st.text() | st.integers() | st.floats(allow_nan=True) | st.booleans() | st.none()
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                       | st.dictionaries(_keys, inner, max_size=4), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_json_text_is_json_dumps_for_any_json_value(value):
    assert rp.json_text(value) == json.dumps(value, indent=2) + "\n"


@pytest.mark.parametrize("value", [{"a": object()}, [1, {2}], {(1, 2): 3}, b"bytes"])
def test_json_text_refuses_what_json_dumps_refuses(value):
    with pytest.raises(TypeError):
        json.dumps(value, indent=2)
    with pytest.raises(TypeError):
        rp.json_text(value)


def test_json_text_keeps_float_and_int_apart():
    value = {"a": [1, 1.0, True, -0.0, math.inf, -math.inf, math.nan], 1.5: None, 2: False}
    assert rp.json_text(value) == json.dumps(value, indent=2) + "\n"


def test_html_with_shared_bars_is_the_html_made_bar_by_bar(monkeypatch):
    report = _report(30)
    fast = rp.render_html(report)
    monkeypatch.setattr(rp, "_bar_once", lambda cache, *args: rp._bar(*args))
    assert rp.render_html(report) == fast


@pytest.mark.parametrize("hosts", [30, 90])
def test_a_bar_is_made_once_per_distinct_memory(monkeypatch, hosts):
    report = _report(hosts)
    calls = []
    real = rp._bar
    monkeypatch.setattr(rp, "_bar", lambda *args: calls.append(args[0]) or real(*args))
    rp.render_html(report)
    # two valid files x two RAM sizes (the limit that binds), tm1's inventory limit, the file Flink refuses:
    # 6 bars, however many hosts share them (before: one per host)
    assert len(calls) == 6


def test_bars_of_equal_but_differently_typed_sizes_are_not_shared():
    mem = {"valid": True, "error": None, "sizing_path": "process.size", "slots": 4, "managed_per_slot": 1 << 28,
           "sizes": {"total_process": 4 * GIB, "total_flink": 3 * GIB, "task_heap": GIB},
           "jvm": {"heap": GIB, "direct": None}}
    as_float = dict(mem, sizes={k: float(v) for k, v in mem["sizes"].items()})
    cache: dict = {}
    one = rp._bar_once(cache, "taskmanager", mem, 8 * GIB, None, None, "")
    two = rp._bar_once(cache, "taskmanager", as_float, 8 * GIB, None, None, "")
    assert one == rp._bar("taskmanager", mem, 8 * GIB, None, None, "")
    assert two == rp._bar("taskmanager", as_float, 8 * GIB, None, None, "")
    assert one != two  # 4294967296 bytes against 4294967296.0 bytes in the title
    assert len(cache) == 1


def test_junit_escapes_the_same_with_its_memo(monkeypatch):
    report = _report()
    text = rp.render_junit(report)
    for value in ("k<&>\"'", "odd \u2028 text \x00 here", ["not", "hashable"], 7, None):
        assert rp._xml_attr(value) == rp._sax_quoteattr(rp._xml_chars(value))
        assert rp._xml_escape(value) == rp._sax_escape(rp._xml_chars(value))
    assert rp.render_junit(report) == text
    assert "\\x00" in text and "&lt;&amp;&gt;" in text
    # the whole file, escaped text by text without the memo
    monkeypatch.setattr(rp, "_xml_escape", lambda value: rp._sax_escape(rp._xml_chars(value)))
    monkeypatch.setattr(rp, "_xml_attr", lambda value: rp._sax_quoteattr(rp._xml_chars(value)))
    assert rp.render_junit(report) == text


def test_json_text_of_every_shape_of_leaf_container_at_every_depth():
    # containers of scalars only go through json's C encoder with the separator of their depth
    leaf = {"s": "x\u00e9\n\"", "i": -3, "f": 0.1, "t": True, "n": None, 2: "int key", 1.5: "float key"}
    value = {"a": leaf, "b": [leaf, [1, "2", None], (3.5, False)], "c": {"d": {"e": [leaf, {}], "f": []}},
             "g": [[["deep", 1]]], "h": (), "k": [{"x": [1]}, "tail"]}
    assert rp.json_text(value) == json.dumps(value, indent=2) + "\n"
    for item in (leaf, [1, 2], ["a"], (None,), [], {}, "top", 5, None):
        assert rp.json_text(item) == json.dumps(item, indent=2) + "\n"


def test_json_text_of_scalar_subclasses_is_json_dumps():
    class Text(str):
        pass

    class Number(int):
        pass

    value = {"a": Text("sub"), "b": [Number(3), Text("t")], Text("k"): {"n": Number(4)}, "c": True}
    assert rp.json_text(value) == json.dumps(value, indent=2) + "\n"
