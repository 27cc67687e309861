"""The diagnose filter is a thin adapter over plugin_utils/diagnose.py with clear errors (moved here from
tests/unit/plugins/plugin_utils/test_diagnose.py, whose tests run without Ansible)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.filter.diagnose import FilterModule
from ansible_collections.flinkops.flink.plugins.plugin_utils.diagnose import diagnose

CASE = Path(__file__).resolve().parents[1] / "plugin_utils" / "fixtures" / "diagnose" / "2.3" / "heap-oom"


def _results() -> dict:
    data = json.loads((CASE / "case.json").read_text())
    return {host: dict(record, mem_total_bytes=8 << 30, cgroup_memory_limit_bytes=None,
                       logs=[{"file": e["file"], "text": (CASE / e["fixture"]).read_text(errors="replace")}
                             for e in record["logs"]])
            for host, record in data["hosts"].items()}


def test_filter_is_a_thin_adapter_with_clear_errors():
    flt = FilterModule().filters()["diagnose"]
    results = _results()
    assert flt(results) == diagnose(results)
    with pytest.raises(AnsibleFilterError, match="flinkops.flink.diagnose: results must be a mapping"):
        flt(["tm1"])
    with pytest.raises(AnsibleFilterError, match="flinkops.flink.diagnose: host tm1: logs"):
        flt({"tm1": dict(results["tm1"], logs="x")})
