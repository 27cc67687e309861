"""The enforce playbook never makes a fleet worse (issue 15.1, 15.2), with the real ansible-playbook.

A JobManager (1600m) and two TaskManagers (1728m) on Flink 1.20.5 on hosts with lots of RAM: a run
without a policy, or with a misspelled policy variable, writes nothing and keeps every size; an
inventory flink_memory_limit_bytes below the size a policy asks for refuses before anything is written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
PLAY = "- name: Enforce\n  ansible.builtin.import_playbook: flinkops.flink.enforce\n"
FILES = {
    "jm": b"jobmanager.memory.process.size: 1600m\n",
    "tm1": b"taskmanager.memory.process.size: 1728m\ntaskmanager.numberOfTaskSlots: 2\n",
    "tm2": b"taskmanager.memory.process.size: 1728m\ntaskmanager.numberOfTaskSlots: 2\n",
}


@pytest.fixture()
def fleet():
    base = Path(tempfile.mkdtemp(prefix="flinkops-safe-"))
    hosts = {}
    for name, data in FILES.items():
        home = base / name / "flink"
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / "flink-dist-1.20.5.jar").write_bytes(b"")
        (home / "conf" / "flink-conf.yaml").write_bytes(data)
        hosts[name] = {"flink_home": str(home)}
    inventory = {"all": {"vars": {"ansible_connection": "local"}, "children": {
        "flink_jobmanager": {"hosts": {"jm": hosts["jm"]}},
        "flink_taskmanager": {"hosts": {"tm1": hosts["tm1"], "tm2": dict(hosts["tm2"], flink_memory_limit_bytes="3g")}},
    }}}
    (base / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (base / "play.yml").write_text(PLAY)
    yield base
    shutil.rmtree(base)


def files_of(base: Path) -> dict:
    return {p: p.read_bytes() for p in base.rglob("flink-conf.yaml")}


def run(base: Path, env: dict, extra: dict):
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), str(base / "play.yml"),
                           "-e", json.dumps(extra)], capture_output=True, text=True,
                          env=dict(env, ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp")), timeout=600, check=False)


@pytest.mark.parametrize("extra", [{}, {"enforce_polcy": {"taskmanager": {"process_size": "2g"}}}],
                         ids=["no-policy", "misspelled-policy"])
def test_no_policy_writes_nothing(fleet, ansible_env, extra):
    before = files_of(fleet)
    proc = run(fleet, ansible_env, dict(extra, enforce_confirm=True))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert files_of(fleet) == before
    assert "Written: 0 changed, 0 would change, 3 compliant, 0 failed" in proc.stdout, proc.stdout[-3000:]


def test_an_inventory_limit_below_the_policy_refuses_before_writing(fleet, ansible_env):
    before = files_of(fleet)
    proc = run(fleet, ansible_env, {"enforce_confirm": True, "enforce_policy": {"taskmanager": {"process_size": "4g"}}})
    assert proc.returncode != 0
    assert files_of(fleet) == before
    out = " ".join(proc.stdout.split())
    assert "host tm2" in out and "taskmanager 4 GiB" in out, out[-3000:]
    assert "inventory limit flink_memory_limit_bytes 3 GiB" in out


def test_same_memory_in_another_spelling_is_no_change(fleet, ansible_env):
    """Issue 15.3: the size the files hold, keep on 1600m and the default managed fraction 0.4 (absent
    from the files): written 0, compliant, no restart."""
    before = files_of(fleet)
    policy = {"taskmanager": {"process_size": "1728m", "managed_fraction": "0.4"},
              "jobmanager": {"process_size": "keep"}}
    proc = run(fleet, ansible_env, {"enforce_confirm": True, "enforce_policy": policy})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert files_of(fleet) == before
    assert "Written: 0 changed, 0 would change, 3 compliant, 0 failed. Restart needed on: none." in proc.stdout


def test_same_bytes_under_another_unit_is_no_change(fleet, ansible_env):
    """Issue 15.3: process_size 1g asked where a file has 1024m (the JobManager's size in bytes)."""
    jm = fleet / "jm" / "flink" / "conf" / "flink-conf.yaml"
    jm.write_bytes(b"jobmanager.memory.process.size: 1024m\n")
    before = files_of(fleet)
    proc = run(fleet, ansible_env, {"enforce_confirm": True, "enforce_policy": {"jobmanager": {"process_size": "1g"}}})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert files_of(fleet) == before
    assert "Restart needed on: none." in proc.stdout
