"""The layering of the action plugins (issue 12, item 4): what imports what, one argument spec per
task shared by module and action, internal options hidden, one run() with one error path.

Checked on the source (imports) and with the real ansible-doc (the documentation users see).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils import task_options

ROOT = Path(__file__).resolve().parents[4]
ANSIBLE_DOC = str(Path(sys.executable).with_name("ansible-doc"))
ACTIONS = sorted((ROOT / "plugins" / "action").glob("*.py"))


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def _collection_imports(path: Path, layer: str) -> list[str]:
    return [n for n in _imports(path) if n.startswith(f"ansible_collections.flinkops.flink.plugins.{layer}")]


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.name)
def test_an_action_imports_no_other_action_and_no_module(path):
    assert _collection_imports(path, "action") == []
    assert _collection_imports(path, "modules") == []


def test_unit_tests_of_the_ansible_free_layers_import_no_action():
    tests = [*(ROOT / "tests/unit/plugins/plugin_utils").glob("*.py"),
             *(ROOT / "tests/unit/plugins/module_utils").glob("*.py")]
    assert tests
    offenders = {p.name: _collection_imports(p, "action") for p in tests}
    assert {k: v for k, v in offenders.items() if v} == {}


@pytest.mark.parametrize("path", ACTIONS, ids=lambda p: p.name)
def test_every_action_runs_through_the_one_base_class(path):
    """No action has its own run(): validation, refusal of internal options and the error path are the base's."""
    tree = ast.parse(path.read_text(), str(path))
    (cls,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ActionModule"]
    assert [b.id for b in cls.bases if isinstance(b, ast.Name)] == ["FlinkAction", "ActionBase"]
    assert "run" not in {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}


def test_module_and_action_share_one_spec():
    from ansible_collections.flinkops.flink.plugins.action import flink_config as action
    from ansible_collections.flinkops.flink.plugins.action import flink_config_info as gather_action
    from ansible_collections.flinkops.flink.plugins.modules import flink_config as module

    assert action.ActionModule.ARGUMENT_SPEC is task_options.CONFIG_OPTIONS
    assert module.ARGUMENT_SPEC is task_options.CONFIG_MODULE_SPEC
    assert gather_action.ActionModule.ARGUMENT_SPEC is task_options.GATHER_OPTIONS
    for spec in (task_options.CONFIG_OPTIONS, task_options.GATHER_OPTIONS):
        assert {k: spec[k] for k in task_options.HOST_OPTIONS} == task_options.HOST_OPTIONS


def test_internal_write_options_start_with_an_underscore_and_are_not_public():
    assert task_options.CONFIG_WRITE_OPTIONS
    assert all(name.startswith("_") for name in task_options.CONFIG_WRITE_OPTIONS)
    assert not set(task_options.CONFIG_WRITE_OPTIONS) & set(task_options.CONFIG_OPTIONS)
    assert task_options.CONFIG_WRITE_OPTIONS["_content"].get("no_log") is True


def _doc(module: str) -> dict:
    out = subprocess.run([ANSIBLE_DOC, "-j", f"flinkops.flink.{module}"], capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout)[f"flinkops.flink.{module}"]["doc"]


@pytest.mark.parametrize(("module", "spec"), [("flink_config", task_options.CONFIG_OPTIONS),
                                              ("flink_config_info", task_options.GATHER_OPTIONS)])
def test_documentation_users_see_is_the_spec(module, spec):
    """ansible-doc (doc fragment merged) lists exactly the public options with their types and defaults, and
    the internal write options marked internal; their old names are absent."""
    doc = _doc(module)
    internal = task_options.CONFIG_WRITE_OPTIONS if module == "flink_config" else {}
    assert set(doc["options"]) == set(spec) | set(internal)
    for name, option in spec.items():
        for field in ("type", "default", "choices", "elements"):
            assert doc["options"][name].get(field) == option.get(field), (module, name, field)
    for name in internal:  # documented only as internal, refused from tasks (test_..._refused below)
        assert "Internal, set by the action plugin" in " ".join(doc["options"][name]["description"])
    for name in task_options.CONFIG_WRITE_OLD_NAMES:
        assert name not in doc["options"]
    assert any("group/flinkops.flink.host" in note for note in doc["notes"])  # the fragment's own note


def test_action_groups_name_the_modules_that_take_their_options():
    import yaml

    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    groups = runtime["action_groups"]
    assert groups["host"] == ["flink_config_info", "flink_config"]
    assert groups["rest"] == ["flink_cluster_info"]
    from ansible_collections.flinkops.flink.plugins.action import flink_cluster_info

    assert set(task_options.REST_OPTIONS) <= set(flink_cluster_info.ActionModule.ARGUMENT_SPEC)
