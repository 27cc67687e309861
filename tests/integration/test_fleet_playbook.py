"""fleet_drift and memory_plan by their FQCN in a real ansible-playbook, over results of the real gather.

Five local hosts, each with its own conf directory: TaskManagers with different managed fractions and
the same size written two ways, a JobManager with the blog-only key, and one host whose gather fails.
The filters get what Ansible really registered (hostvars through extract, failures included).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute

CONFS = {
    "tm1": ("2.3", "config.yaml", "taskmanager:\n  memory:\n    process:\n      size: 1728m\n"
                                  "    managed:\n      fraction: 0.4\ns3.secret-key: AAA-secret-1\n"),
    "tm2": ("2.3", "config.yaml", "taskmanager.memory.process.size: 1728 mb\ns3.secret-key: BBB-secret-2\n"),
    "tm10": ("1.20", "flink-conf.yaml", "taskmanager.memory.process.size: 1728m\n"
                                        "taskmanager.memory.managed.fraction: 0.6\n"),
    "jm1": ("2.3", "config.yaml", "jobmanager.memory.process.size: 1600m\njobmanager.memory.managed.fraction: 0.5\n"),
    "tm3": ("2.3", None, None),  # no config file at all: the gather fails
}

PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - name: Gather
      flinkops.flink.flink_config_info:
        conf_dir: "{{ conf }}"
        flink_version: "{{ version }}"
      register: flink
      ignore_errors: true

    - name: Analyse the fleet once
      run_once: true
      vars:
        results: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'flink'))) }}"
        policy:
          headroom: 0
          host_fraction: 1
          taskmanager: {process_size: 2g, managed_fraction: 0.4}
          jobmanager: {process_size: 1600m}
      block:
        - name: Drift and plan
          ansible.builtin.set_fact:
            drift: "{{ results | flinkops.flink.fleet_drift }}"
            plan: "{{ results | flinkops.flink.memory_plan(policy) }}"
            racks: "{{ results | flinkops.flink.fleet_drift({'rack1': ['tm1', 'tm2', 'tm3'], 'rack2': ['tm10']}) }}"
        - name: Write them for the test
          ansible.builtin.copy:
            content: "{{ {'drift': drift, 'plan': plan, 'racks': racks} | to_json }}"
            dest: "{{ out }}"
            mode: "0600"
          delegate_to: localhost
        - name: A policy no host can satisfy fails with the reason
          ansible.builtin.debug:
            msg: "{{ results | flinkops.flink.memory_plan({'taskmanager': {'managed_per_slot': '64g'}}) }}"
          register: impossible
          ignore_errors: true
        - name: Check the message
          ansible.builtin.assert:
            that:
              - impossible is failed
              - "'flinkops.flink.memory_plan' in impossible.msg"
              - "'too small for this policy' in impossible.msg"
"""


def test_drift_and_plan_in_a_playbook(tmp_path: Path, ansible_env, ansible_bin):
    hosts = {}
    for host, (version, name, text) in CONFS.items():
        conf = tmp_path / host / "conf"
        conf.mkdir(parents=True)
        if name:
            (conf / name).write_text(text)
        group = "flink_jobmanager" if host.startswith("jm") else "flink_taskmanager"
        hosts[host] = {"conf": str(conf), "version": version, "group": group}
    inventory = {"all": {"vars": {"ansible_connection": "local"},
                         "hosts": {h: {"conf": d["conf"], "version": d["version"]} for h, d in hosts.items()},
                         "children": {g: {"hosts": {h: None for h, d in hosts.items() if d["group"] == g}}
                                      for g in ("flink_jobmanager", "flink_taskmanager")}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [str(ansible_bin / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"), str(tmp_path / "play.yml"),
         "-e", f"out={out}"],
        env=ansible_env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert "AAA-secret-1" not in proc.stdout and "BBB-secret-2" not in proc.stdout
    data = json.loads(out.read_text())
    assert "AAA-secret-1" not in out.read_text()
    drift, plan, racks = data["drift"], data["plan"], data["racks"]

    assert [f["host"] for f in drift["failed"]] == ["tm3"]
    assert "config.yaml" in drift["failed"][0]["msg"]
    tm = drift["groups"]["taskmanager"]
    assert tm["hosts"] == ["tm1", "tm2", "tm10"]
    assert tm["flink_versions"] == {"1.20": ["tm10"], "2.3": ["tm1", "tm2"]}
    fraction = next(k for k in tm["keys_partial"] if k["key"] == "taskmanager.memory.managed.fraction")
    assert fraction["values"] == [{"value": "0.4", "hosts": ["tm1"]}, {"value": "0.6", "hosts": ["tm10"]}]
    assert fraction["absent_on"] == ["tm2"]
    size = next(k for k in tm["keys_differ"] if k["key"] == "taskmanager.memory.process.size")
    assert size["equivalent"] is True  # 1728m and 1728 mb
    memory = tm["memory"]["taskmanager"]
    assert memory["status"] == "different_memory"
    # tm1 (0.4 explicit) and tm2 (the default 0.4) get the same memory; tm10 (0.6) does not.
    assert [p["hosts"] for p in memory["profiles"]] == [["tm1", "tm2"], ["tm10"]]
    assert memory["profiles"][1]["sizes"] == compute(
        {"taskmanager.memory.process.size": "1728m", "taskmanager.memory.managed.fraction": "0.6"},
        "taskmanager", "1.20")["sizes"]
    assert tm["sensitive_unchecked"] == [] and any(k["key"] == "s3.secret-key" for k in tm["keys_partial"])
    jm = drift["groups"]["jobmanager"]
    assert jm["hosts"] == ["jm1"] and jm["memory"]["jobmanager"]["status"] == "identical"
    assert list(racks["groups"]) == ["rack1", "rack2"]
    assert racks["groups"]["rack1"]["failed"][0]["host"] == "tm3"

    assert plan["skipped"][0]["host"] == "tm3"
    tm_plan = plan["groups"]["taskmanager"]
    assert tm_plan["set"] == {"taskmanager.memory.managed.fraction": "0.4", "taskmanager.memory.process.size": "2g"}
    for host in ("tm1", "tm2", "tm10"):
        model = tm_plan["memory"][host]["taskmanager"]
        assert model["valid"] and model["sizes"]["total_process"] == 2 << 30
    assert tm_plan["memory"]["tm10"]["taskmanager"]["flink_version"] == "1.20"
    assert plan["groups"]["jobmanager"]["remove"] == ["jobmanager.memory.managed.fraction"]
    assert plan["hosts"]["tm1"]["set"] == {"taskmanager.memory.process.size": "2g"}
