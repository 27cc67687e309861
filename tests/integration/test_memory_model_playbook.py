"""The memory_model filter through real ansible-playbook, by its FQCN."""

import json
import subprocess
from pathlib import Path

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    tm_conf:
      taskmanager.memory.process.size: 1728m
      taskmanager.numberOfTaskSlots: 2
  tasks:
    - name: Resolve a TaskManager
      ansible.builtin.set_fact:
        tm: "{{ tm_conf | flinkops.flink.memory_model('taskmanager', flink_version='2.3.0') }}"
    - name: Write the result for the test
      ansible.builtin.copy:
        content: "{{ tm | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
    - name: Misuse fails with the accepted values
      ansible.builtin.debug:
        msg: "{{ tm_conf | flinkops.flink.memory_model('jobmanger') }}"
      register: misuse
      ignore_errors: true
    - name: Check the misuse message
      ansible.builtin.assert:
        that: "'taskmanager, jobmanager' in misuse.msg"
"""


def test_filter_by_fqcn_in_a_playbook(tmp_path: Path, ansible_env, ansible_bin):
    book = tmp_path / "play.yml"
    book.write_text(PLAYBOOK)
    out = tmp_path / "tm.json"
    proc = subprocess.run(
        [str(ansible_bin / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(book), "-e", f"out={out}"],
        env=ansible_env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert result["valid"] is True
    assert result["sizes"]["managed"] == 536870920
    assert result["slots"] == 2


def test_ansible_doc_documents_the_filter(ansible_env, ansible_bin):
    proc = subprocess.run(
        [str(ansible_bin / "ansible-doc"), "-t", "filter", "flinkops.flink.memory_model"],
        env=ansible_env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Resolves one Flink config" in proc.stdout
    assert "flink_version" in proc.stdout
