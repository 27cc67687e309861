"""Flink's text for a value, against Flink's own loader, and the editor that relies on it.

For each YAML scalar in the table, written as ``taskmanager.memory.managed.fraction: <scalar>`` in
flink-conf.yaml (Flink 1.17) and in config.yaml (Flink 2.3):

* our reader gives exactly the text ``GlobalConfiguration.loadConfiguration`` gives;
* where Ansible's YAML loader (PyYAML, as a playbook variable) types the scalar as a number,
  ``java_types.flink_text`` of that number is the text Flink's config.yaml loader gives for the same
  scalar (Java's ``Double.toString``: ``0.00001`` is ``1.0E-5``);
* ``plan_edit`` with the same scalar as the setting (as Ansible hands it over) leaves the file alone:
  not changed, not one byte moved, no restart;
* setting it on a file that holds another value writes text Flink reads as that very number.
"""

from __future__ import annotations

import pytest
import yaml
from oracle import oracle

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf
from ansible_collections.flinkops.flink.plugins.module_utils.java_types import flink_text, parse_float
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_edit import plan_edit
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml

KEY = "taskmanager.memory.managed.fraction"
SCALARS = ("1e-05", "0.00001", "1.0E-5", "3.0E-4", "1.0E7", "12345678.9", "0.1", "0.4", "1", "1.0")
FORMATS = {  # format -> (file name, Flink release that reads it, parser)
    "legacy": ("flink-conf.yaml", "1.17", lambda data: parse_flink_conf(data, "flink-conf.yaml").config),
    "yaml": ("config.yaml", "2.3", lambda data: parse_config_yaml(data, "config.yaml").config),
}
BASE = "taskmanager.memory.process.size: 1728m\n"


def _flink_reads(tmp_path, fmt: str, content: bytes) -> dict:
    name, version, _parse = FORMATS[fmt]
    conf = tmp_path / f"{fmt}-{abs(hash(content))}"
    conf.mkdir()
    (conf / name).write_bytes(content)
    loaded = oracle(version).load(str(conf))
    assert loaded["ok"], loaded["error_chain"]
    return loaded["config"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scalar", SCALARS)
def test_a_file_that_holds_the_value_is_not_changed(tmp_path, fmt, scalar):
    name, version, parse = FORMATS[fmt]
    content = f"{BASE}{KEY}: {scalar}\n".encode()
    flink = _flink_reads(tmp_path, fmt, content)
    assert parse(content)[KEY] == flink[KEY]

    value = yaml.safe_load(scalar)  # what a playbook variable holding this scalar is
    if fmt == "yaml" and not isinstance(value, str):
        assert flink_text(value) == flink[KEY]

    plan = plan_edit(content, fmt, f"/opt/flink/conf/{name}", version, settings={KEY: value},
                     processes=["taskmanager"])
    assert not plan.changed, plan.changes
    assert plan.content == content


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("scalar", SCALARS)
def test_a_new_value_is_written_as_flink_reads_it(tmp_path, fmt, scalar):
    name, version, _parse = FORMATS[fmt]
    content = f"{BASE}{KEY}: 0.25\n".encode()
    value = yaml.safe_load(scalar)
    plan = plan_edit(content, fmt, f"/opt/flink/conf/{name}", version, settings={KEY: value},
                     processes=["taskmanager"], validate=False)
    assert plan.changed
    written = _flink_reads(tmp_path, fmt, plan.content)[KEY]
    assert parse_float(written) == parse_float(flink_text(value))
    # and the file written is one a second run leaves alone
    again = plan_edit(plan.content, fmt, f"/opt/flink/conf/{name}", version, settings={KEY: value},
                      processes=["taskmanager"], validate=False)
    assert not again.changed
