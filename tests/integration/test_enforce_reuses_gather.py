"""Read once (issue 12.6): the enforce playbook plans from a gather registered earlier in the run
(``enforce_reuse_gather``, which the rollout sets to its audit's ``audit_gather``) instead of reading every
host again. Real ansible-playbook over local hosts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))

PLAY = """
- name: Gather once, as the rollout's audit does
  hosts: flink_jobmanager:flink_taskmanager
  gather_facts: false
  tasks:
    - name: Gather
      flinkops.flink.flink_config_info:
        flink_home: "{{ flink_home }}"
      register: earlier_gather

- name: Enforce from that gather
  ansible.builtin.import_playbook: flinkops.flink.enforce
  vars:
    enforce_reuse_gather: earlier_gather
"""


def _fleet(base: Path) -> dict:
    hosts = {}
    for name, version, fname, text in (
            ("jm", "1.20.5", "flink-conf.yaml", "jobmanager.memory.process.size: 1600m\n"),
            ("tm", "2.3.0", "config.yaml", "taskmanager:\n  memory:\n    process:\n      size: 1g\n")):
        home = base / name / "flink"
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
        (home / "conf" / fname).write_text(text)
        hosts[name] = {"flink_home": str(home)}
    inventory = {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
                         "children": {"flink_jobmanager": {"hosts": {"jm": hosts["jm"]}},
                                      "flink_taskmanager": {"hosts": {"tm": hosts["tm"]}}}}}
    (base / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (base / "play.yml").write_text(PLAY)
    return hosts


def test_enforce_plans_from_the_earlier_gather_and_reads_no_host_again(tmp_path, ansible_env):
    hosts = _fleet(tmp_path)
    policy = {"taskmanager": {"process_size": "2g"}}
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml"),
                           "-e", json.dumps({"enforce_policy": policy, "enforce_confirm": True})],
                          capture_output=True, text=True, env=ansible_env, timeout=600, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:] + proc.stderr[-2000:]
    gather_task = out.split("TASK [Gather the configuration each host's Flink reads]", 1)[1].split("TASK [", 1)[0]
    assert "skipping: [jm]" in gather_task and "skipping: [tm]" in gather_task, gather_task
    assert "ok: [" not in gather_task  # the enforce playbook itself read no host
    assert "Before: 2 hosts gathered" in out  # the drift and the plan came from the earlier gather
    tm_file = Path(hosts["tm"]["flink_home"]) / "conf" / "config.yaml"
    assert "size: 2g" in tm_file.read_text()
