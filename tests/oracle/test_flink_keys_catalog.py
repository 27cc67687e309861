"""The committed key catalog is exactly what Flink's own jars say, and agrees with the hand-written options.

``plugins/plugin_utils/data/flink_keys.json`` is regenerated here from the cached flink-dist.jar of
every supported line (tools/extract_flink_keys: reflection over every public static ConfigOption
field) and must equal the committed file byte for byte, so the catalog cannot drift from Flink.
The second half compares the catalog with module_utils/options.py, written by hand from Flink's
docs and source: two independent sources for the memory options must agree.
"""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import flink_dist
import pytest

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import parse_bytes, to_string

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "tools" / "extract_flink_keys" / "extract.py"
COMMITTED = ROOT / "plugins" / "plugin_utils" / "data" / "flink_keys.json"


def _load_extract():
    spec = importlib.util.spec_from_file_location("flinkops_extract_keys", EXTRACT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated():
    extract = _load_extract()
    start = time.monotonic()
    raw = extract.extract_raw()
    text = extract.dumps(extract.build_catalog(raw))
    return {"raw": raw, "text": text, "seconds": time.monotonic() - start}


@pytest.fixture(scope="module")
def catalog():
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


def test_committed_catalog_equals_the_jars(regenerated):
    committed = COMMITTED.read_text(encoding="utf-8")
    assert committed == regenerated["text"], (
        "plugins/plugin_utils/data/flink_keys.json is stale: run .venv/bin/python tools/extract_flink_keys/extract.py"
    )


def test_extraction_is_fast_and_small(regenerated):
    assert regenerated["seconds"] < 60
    assert len(regenerated["text"].encode()) < 1_000_000


def test_every_line_extracted_from_its_own_jar(regenerated):
    assert list(regenerated["raw"]) == list(flink_dist.VERSIONS)
    for line, records in regenerated["raw"].items():
        # Every release defines several hundred options (1.14: ~550); a broken class scan would find a handful.
        assert len(records) > 500, (line, len(records))
        keys = {r["key"] for r in records}
        assert "taskmanager.memory.process.size" in keys
        assert "jobmanager.memory.process.size" in keys


def _on(record, attr, line, empty=None):
    value = record.get(attr, empty)
    return value.get(line, empty) if isinstance(value, dict) else value


def _lines(catalog, key):
    record = catalog["keys"].get(key)
    return [] if record is None else record.get("lines", catalog["lines"])


@pytest.mark.parametrize("process", ["taskmanager", "jobmanager"])
def test_memory_options_agree_with_options_py(catalog, process):
    """options.py (hand-written) and the jars agree on lines, defaults and deprecated keys."""
    for key, option in opts.PROCESSES[process].items():
        assert _lines(catalog, key) == list(option.lines), key
        record = catalog["keys"][key]
        for line in option.lines:
            option = opts.catalog(process, line)[key]  # the line's own default (line_defaults)
            default = _on(record, "default", line)
            if option.default is None:
                assert default is None, (key, line, default)
            elif option.kind == "memory":
                assert parse_bytes(default) == option.default, (key, line, default)
            elif option.kind == "map":
                assert default == option.default, (key, line)
            elif option.kind == "bool":
                assert default == str(option.default).lower(), (key, line)
            else:
                assert float(default) == pytest.approx(option.default), (key, line, default)
            assert _on(record, "deprecated_keys", line, []) == list(option.deprecated_keys), (key, line)


def test_known_version_differences(catalog):
    """Facts established by running Flink (flink-memory.md section 1), seen in the catalog."""
    one_x = ["1.14", "1.15", "1.16", "1.17", "1.18", "1.19", "1.20"]
    assert _lines(catalog, "taskmanager.heap.size") == one_x
    assert _lines(catalog, "jobmanager.heap.size") == one_x
    assert _lines(catalog, "taskmanager.network.numberOfBuffers") == one_x
    record = catalog["keys"]["taskmanager.memory.network.max"]
    assert parse_bytes(_on(record, "default", "1.17")) == (1 << 63) - 1  # uncapped since 1.17
    for line in ("1.14", "1.15", "1.16"):
        assert parse_bytes(_on(record, "default", line)) == 1 << 30  # 1 gb before
    # Akka became Pekko in 1.18; the old key stays readable as a deprecated key.
    assert _lines(catalog, "akka.ask.timeout") == ["1.14", "1.15", "1.16", "1.17"]
    pekko = catalog["keys"]["pekko.ask.timeout"]
    assert _on(pekko, "deprecated_keys", "2.3") == ["akka.ask.timeout"]
    # Suffix options are stored under the key users write.
    assert "metrics.reporter.<name>.factory.class" in catalog["keys"]
    assert "factory.class" not in catalog["keys"]


def test_sizes_print_like_flink(catalog):
    # Defaults are in Flink's own notation: MemorySize.toString, durations with their highest unit.
    record = catalog["keys"]["taskmanager.memory.framework.heap.size"]
    assert record["default"] == to_string(128 << 20) == "128 mb"
    assert catalog["keys"]["pekko.ask.timeout"]["default"] == "10 s"
