"""plan_edit and already_holds: a number the file holds in another spelling is no change.

The same cases run against Flink's own loader in tests/oracle/test_value_text_oracle.py.
"""

from __future__ import annotations

import pytest
import yaml

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_edit import already_holds, holds, plan_edit
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml

KEY = "taskmanager.memory.managed.fraction"
SCALARS = ("1e-05", "0.00001", "1.0E-5", "3.0E-4", "1.0E7", "12345678.9", "0.1", "0.4", "1", "1.0")
FORMATS = {"legacy": ("flink-conf.yaml", "1.17", parse_flink_conf), "yaml": ("config.yaml", "2.3", parse_config_yaml)}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scalar", SCALARS)
def test_the_value_the_file_holds_changes_nothing(fmt, scalar):
    name, version, parse = FORMATS[fmt]
    content = f"taskmanager.memory.process.size: 1728m\n{KEY}: {scalar}\n".encode()
    value = yaml.safe_load(scalar)  # as a playbook variable
    plan = plan_edit(content, fmt, name, version, settings={KEY: value}, processes=["taskmanager"])
    assert (plan.changed, plan.content, plan.changes) == (False, content, [])
    assert already_holds(parse(content, name).config, {KEY: value}, None, version)


def test_a_tiny_float_is_written_as_java_prints_it():
    content = b"taskmanager.memory.managed.fraction: 0.4\n"
    plan = plan_edit(content, "yaml", "config.yaml", "2.3", settings={KEY: 0.00001}, processes=["taskmanager"],
                     validate=False)
    assert plan.content == b"taskmanager.memory.managed.fraction: 1.0E-5\n"


def test_a_string_option_keeps_its_text():
    # pipeline.name is a String: Flink's getString tells 1e-05 from 0.00001
    assert not holds("pipeline.name", "0.00001", "1.0E-5", "2.3")
    plan = plan_edit(b"pipeline.name: '0.00001'\n", "yaml", "config.yaml", "2.3", settings={"pipeline.name": 1e-05})
    assert plan.changed


def test_an_integer_option_is_not_a_float():
    # Integer.parseInt("4.0") fails in Flink: 4 and 4.0 are not the same slot count
    assert not holds("taskmanager.numberOfTaskSlots", "4", "4.0", "2.3")
