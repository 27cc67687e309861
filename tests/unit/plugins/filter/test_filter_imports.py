"""What finding one flinkops.flink filter costs: the modules it imports.

ansible-core (2.19) finds a collection filter by importing every file under plugins/filter/ and asking
each for its filters; it does so in every worker process that templates one (each run_once task of the
enforce role and playbooks). A filter file that imports its plugin_utils code at the top makes every
lookup of any other flinkops filter import that code too (lint, plan, the YAML editor...): about a
tenth of a second of CPU per task. The filter files below import their code when the filter runs.

Counted in a fresh interpreter each (the modules loaded, not seconds).
"""

import subprocess
import sys

import pytest
from conftest import COLLECTIONS_ROOT

PREFIX = "ansible_collections.flinkops.flink.plugins."

# filter file -> the collection modules importing it may load (nothing of the code it adapts)
LIGHT = {
    "cached_gather": {"plugin_utils.aggregate"},  # json and math only
    "config_lint": set(),
    "diagnose": set(),
    "enforce": set(),
    "fleet_drift": set(),
    "memory_model": set(),
    "memory_plan": set(),
    "rollout_decision": set(),
    "savepoint_decision": set(),
    "upgrade_readiness": set(),
}
ALWAYS = {"filter", "plugin_utils", "plugin_utils.filter_call"}

PROBE = r"""
import importlib, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
before = set(sys.modules)
{action}
print("\n".join(sorted(m[len(sys.argv[2]):] for m in set(sys.modules) - before if m.startswith(sys.argv[2]))))
"""


def _loaded(action: str) -> set:
    probe = PROBE.format(action=action)
    out = subprocess.run([sys.executable, "-c", probe, str(COLLECTIONS_ROOT), PREFIX], capture_output=True,
                         text=True, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("name", sorted(LIGHT))
def test_filter_file_imports_no_plugin_utils(name):
    loaded = _loaded(f"importlib.import_module(sys.argv[2] + 'filter.{name}')")
    assert loaded - ALWAYS - {f"filter.{name}"} == LIGHT[name]


def test_a_filter_loads_its_own_code_when_it_runs():
    # the lazy import is real: running the filter brings its code in (and only then)
    loaded = _loaded("from ansible.plugins.loader import filter_loader\n"
                     "f = filter_loader.get('flinkops.flink.config_lint')\n"
                     "assert 'ansible_collections.flinkops.flink.plugins.plugin_utils.lint' not in sys.modules\n"
                     "f.j2_function({'taskmanager.memory.process.size': '2g'}, '2.3')")
    assert "plugin_utils.lint" in loaded


def test_finding_an_enforce_filter_does_not_import_lint_or_enforce():
    # through ansible-core's own loader, which imports every filter file of the collection
    loaded = _loaded("from ansible.plugins.loader import filter_loader\n"
                     "assert filter_loader.get('flinkops.flink.enforce_outcome') is not None")
    assert {f"filter.{name}" for name in LIGHT} <= loaded  # every file was imported
    assert not loaded & {"plugin_utils.lint", "plugin_utils.enforce", "plugin_utils.upgrade"}


# plugin_utils module -> what it must not import at the top: the code only some of its callers run
HEAVY_ONLY_WHEN_USED = {
    # lint: outcome only; plan: prepare only; config_edit (and its YAML editor): assign and prepare only
    "enforce": {"plugin_utils.lint", "plugin_utils.plan", "plugin_utils.live", "plugin_utils.config_edit",
                "plugin_utils.config_yaml_edit"},
    "host_record": {"plugin_utils.live"},  # a TaskManager's resource id only
    "fleet": {"plugin_utils.live"},
    "lint": {"plugin_utils.live"},
}


@pytest.mark.parametrize("name", sorted(HEAVY_ONLY_WHEN_USED))
def test_plugin_utils_import_leaves_out_what_only_some_callers_run(name):
    loaded = _loaded(f"importlib.import_module(sys.argv[2] + 'plugin_utils.{name}')")
    assert not loaded & HEAVY_ONLY_WHEN_USED[name]


def test_the_decisions_still_import_what_they_need():
    loaded = _loaded("from ansible_collections.flinkops.flink.plugins.plugin_utils import enforce, host_record\n"
                     "config = {'taskmanager.memroy.size': '1g'}\n"
                     "assert enforce.unread_keys({'config': config, 'flink_version': '2.3.0'})\n"
                     "gather = {'config': {}, 'flink_version': '2.3.0', 'processes': ['taskmanager']}\n"
                     "host_record.read_host('tm1', gather)")
    assert {"plugin_utils.lint", "plugin_utils.live"} <= loaded


def test_assign_still_imports_the_file_editor():
    loaded = _loaded("from ansible_collections.flinkops.flink.plugins.plugin_utils import enforce\n"
                     "out = enforce.assign(['tm1'], {'all': ['tm1'], 'tm': ['tm1']},\n"
                     "                     settings={'tm': {'taskmanager.numberOfTaskSlots': 4}})\n"
                     "assert out['hosts']['tm1']['set'] == {'taskmanager.numberOfTaskSlots': 4}, out")
    assert "plugin_utils.config_edit" in loaded
