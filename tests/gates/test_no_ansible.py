"""Gate (issue 12): the code that knows Flink runs without Ansible. Every module of plugins/module_utils and
plugins/plugin_utils imports, and their unit tests pass, in a Python where Ansible (and what only Ansible
brings: Jinja2, MarkupSafe, cryptography, resolvelib) cannot be imported.

The subprocess installs an import hook that refuses those packages before anything else runs, then runs
pytest on tests/unit/plugins/module_utils and tests/unit/plugins/plugin_utils. PyYAML stays (allowed for
plugin_utils), and so do the test tools (pytest, hypothesis).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLOCKED = ("ansible", "ansible_test", "jinja2", "markupsafe", "cryptography", "resolvelib")

HOOK = f"""
import importlib.abc, sys
BLOCKED = {set(BLOCKED)!r}

class NoAnsible(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}} (refused: this must run without Ansible)",
                                      name=name)
        return None

sys.meta_path.insert(0, NoAnsible())
"""

IMPORT_ALL = HOOK + """
import importlib, pathlib
sys.path.insert(0, sys.argv[1])
root = pathlib.Path(sys.argv[2])
names = [f"ansible_collections.flinkops.flink.plugins.{layer}.{p.stem}"
         for layer in ("module_utils", "plugin_utils") for p in sorted((root / "plugins" / layer).glob("*.py"))
         if p.stem != "__init__"]
for name in names:
    importlib.import_module(name)
assert "ansible" not in sys.modules
print(len(names), "modules imported")
"""

RUN_TESTS = HOOK + """
import pytest
code = pytest.main(sys.argv[1:])
assert not any(name.split(".")[0] in BLOCKED for name in sys.modules), "a blocked package got imported"
sys.exit(code)
"""


def test_the_hook_really_refuses_ansible():
    proc = subprocess.run([sys.executable, "-c", HOOK + "import ansible.errors\n"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 1 and "refused: this must run without Ansible" in proc.stderr


def test_every_module_utils_and_plugin_utils_module_imports_without_ansible(collections_root):
    proc = subprocess.run([sys.executable, "-c", IMPORT_ALL, str(collections_root), str(ROOT)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "modules imported" in proc.stdout


def test_their_unit_tests_pass_without_ansible():
    proc = subprocess.run(
        [sys.executable, "-c", RUN_TESTS, "-q", "-p", "no:cacheprovider", "-x",
         "tests/unit/plugins/module_utils", "tests/unit/plugins/plugin_utils"],
        cwd=ROOT, capture_output=True, text=True, timeout=3000, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout
