"""`make demo` installs only what a user needs (issue 15.18), and the demo runs with just that.

A fresh virtualenv, the real `make demo` (bootstrap, then the demo audit of examples/demo-fleet/), with
`apt-get` and `sudo` shadowed by scripts that record any call: the venv must hold ansible-core, PyYAML
and what they depend on, nothing of the test toolchain, no system package may be asked for, and the
demo's HTML report must be written. `make test` (CI's `.ci/run`) still installs everything: the suite
itself runs in that venv.
"""

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_TOOLCHAIN = {"playwright", "molecule", "atheris", "ansible-lint", "ansible-builder", "ansible-compat",
                  "pytest", "hypothesis", "ruff", "ansible-runner", "redis"}

# Run inside the new venv: every installed distribution, and the closure of what ansible-core and
# PyYAML require there (markers evaluated for this interpreter).
CLOSURE = r"""
import json, re
from importlib import metadata
from packaging.requirements import Requirement

def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()

dists = {norm(d.metadata["Name"]): d for d in metadata.distributions()}
seen, todo = set(), ["ansible-core", "pyyaml"]
while todo:
    name = todo.pop()
    if name in seen or name not in dists:
        continue
    seen.add(name)
    for text in dists[name].requires or ():
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            todo.append(norm(req.name))
print(json.dumps({"installed": sorted(dists), "closure": sorted(seen)}))
"""


def test_make_demo_installs_only_what_a_user_needs_and_the_demo_runs(tmp_path):
    venv, shims, calls = tmp_path / "venv", tmp_path / "shims", tmp_path / "system-package-calls"
    shims.mkdir()
    for name in ("apt-get", "sudo"):
        shim = shims / name
        shim.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\nexit 1\n')
        shim.chmod(0o755)
    report = tmp_path / "report"
    env = dict(os.environ, PATH=f"{shims}:{os.environ['PATH']}", DEMO_REPORT_DIR=str(report),
               PIP_DISABLE_PIP_VERSION_CHECK="1", ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)  # the demo points ansible at this checkout itself
    proc = subprocess.run(["make", "-C", str(ROOT), "demo", f"VENV={venv}"], env=env, capture_output=True, text=True,
                          timeout=1500, check=False)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert not calls.exists(), calls.read_text()
    assert (report / "flink-audit.html").is_file() and "Demo audit done" in proc.stdout

    found = json.loads(subprocess.run([str(venv / "bin" / "python"), "-c", CLOSURE], capture_output=True, text=True,
                                      check=True).stdout)
    installed, closure = set(found["installed"]), set(found["closure"])
    assert {"ansible-core", "pyyaml"} <= closure
    assert not installed & TEST_TOOLCHAIN, sorted(installed & TEST_TOOLCHAIN)
    # nothing beyond ansible-core, PyYAML, what they need, and the venv's own pip / setuptools
    assert installed - closure <= {"pip", "setuptools", "wheel"}, sorted(installed - closure)
    core = next(line for line in (ROOT / "requirements-test.txt").read_text().splitlines()
                if line.startswith("ansible-core=="))
    version = subprocess.run([str(venv / "bin" / "python"), "-c", "import ansible; print(ansible.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert core == f"ansible-core=={version}"  # the version the tests run

    # a second `make demo` installs nothing again (the stamp), and still runs
    again = subprocess.run(["make", "-C", str(ROOT), "demo", f"VENV={venv}"], env=env, capture_output=True, text=True,
                           timeout=900, check=False)
    assert again.returncode == 0 and not calls.exists(), (again.stdout + again.stderr)[-3000:]


def test_make_test_bootstraps_the_whole_toolchain_and_demo_only_the_users_part():
    """`make test` (what CI runs) installs everything, `make demo` only the user's part."""
    def plan(target):
        return subprocess.run(["make", "-n", "-C", str(ROOT), target], capture_output=True, text=True,
                              check=True).stdout
    assert "tools/bootstrap.sh test" in plan("test") and "bootstrap.sh demo" not in plan("test")
    assert "tools/bootstrap.sh demo" in plan("demo") and "bootstrap.sh test" not in plan("demo")
