"""`molecule test` of extensions/molecule/default, so `make test` covers the scenario.

The scenario (ansible-native, no Docker) creates a local fleet with drift, converges it with the
enforce playbook, checks idempotence (a second converge changes nothing), verifies with the audit
(no drift, nothing Flink refuses) and destroys the fleet.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEPS = ("destroy", "create", "converge", "idempotence", "verify")


def test_molecule_default_scenario(ansible_env, tmp_path):
    bin_dir = str(Path(sys.executable).parent)
    env = dict(ansible_env, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""), NO_COLOR="1", PY_COLORS="0",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-tmp"))
    env.pop("ANSIBLE_PYTHON_INTERPRETER", None)  # the scenario's inventory gives its own
    copy = Path.home() / ".ansible" / "collections" / "ansible_collections" / "flinkops"
    copied_before = copy.exists()
    proc = subprocess.run([str(Path(bin_dir) / "molecule"), "test", "--scenario-name", "default"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900, check=False)
    out = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    assert proc.returncode == 0, out[-4000:]
    for step in STEPS:
        assert re.search(rf"default (?:➜|>) {step}\]?:? Executed: Successful", out), (step, out[-4000:])
    assert "Missing playbook" not in out and "missing=0" in out and "failed=0" in out
    # the fleet had drift: the first converge changed every host, the idempotence run none
    # (ansible-playbook's output is on stdout, one PLAY RECAP per step, in the order of the sequence)
    recaps = [r.split("\n\n", 1)[0] for r in re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout).split("PLAY RECAP")[1:]]
    assert len(recaps) == 6, recaps
    converge, idempotence = recaps[2], recaps[3]
    assert len(re.findall(r"changed=1\b", converge)) == 5, converge
    assert len(re.findall(r"changed=0\b", idempotence)) == 5, idempotence
    # no prerun: the scenario must not leave a copy of the collection that shadows the working tree
    assert copied_before or not copy.exists()
