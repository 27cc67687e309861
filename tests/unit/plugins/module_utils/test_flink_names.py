"""The one table of process and memory component names agrees with the model, the REST reader and the reports."""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils import flink_names as names
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import PROCESS_KINDS, compute
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import parse_bytes, to_config_string

CONFIG = {"taskmanager": {"taskmanager.memory.process.size": "2g"},
          "jobmanager": {"jobmanager.memory.process.size": "2g"}}


@pytest.mark.parametrize("process", PROCESS_KINDS)
def test_the_sizes_are_the_models_in_its_order(process):
    assert names.SIZES[process] == tuple(compute(CONFIG[process], process, "2.3")["sizes"])
    assert set(names.PROCESS_NAMES) == set(PROCESS_KINDS)


def test_rest_names_and_labels_are_the_ones_the_other_layers_use():
    from ansible_collections.flinkops.flink.plugins.plugin_utils import fleet, live, report

    assert live.REST_MEMORY == names.REST_MEMORY  # live.py keeps its own copy for now: it must not drift
    assert {k: v for k, v in live.LABELS.items() if k in names.LABELS} == {k: names.LABELS[k] for k in live.LABELS
                                                                            if k in names.LABELS}
    assert fleet._SIZE_KEYS == names.SIZES
    assert {k: label for parts in report.COMPONENTS.values() for k, label, _c in parts}.items() <= names.LABELS.items()


@pytest.mark.parametrize("size, text", [(4 << 30, "4g"), (1728 << 20, "1728m"), (1536 << 10, "1536k"), (1000, "1000b"),
                                        (0, "0b"), (536870920, "536870920b")])
def test_config_size_text(size, text):
    assert to_config_string(size) == text
    assert parse_bytes(text) == size
