"""The config_lint and upgrade_readiness filters: thin adapters, misuse errors, FQCN in a real playbook,
and their ansible-doc pages."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.filter.config_lint import FilterModule as LintFilters
from ansible_collections.flinkops.flink.plugins.filter.upgrade_readiness import FilterModule as UpgradeFilters
from ansible_collections.flinkops.flink.plugins.plugin_utils.lint import config_lint as lint_core


@pytest.fixture(scope="module")
def config_lint():
    return LintFilters().filters()["config_lint"]


@pytest.fixture(scope="module")
def upgrade_readiness():
    return UpgradeFilters().filters()["upgrade_readiness"]


def test_filter_returns_the_core_findings(config_lint):
    cfg = {"taskmanager.memory.process.size": "1728m", "taskmanager.memory.managed.fration": "0.5"}
    assert config_lint(cfg, "1.20", processes=["taskmanager"]) == lint_core(cfg, "1.20", processes=["taskmanager"])
    assert config_lint(cfg)[0]["code"] == "rejected-config"  # default 2.3, both processes: no JobManager size


@pytest.mark.parametrize("args, kwargs, words", [
    ((["not", "a", "dict"], "2.3"), {}, "config must be a mapping"),
    (({}, "1.13"), {}, "1.14, 1.15, 1.16, 1.17, 1.18, 1.19, 1.20, 2.0, 2.1, 2.2, 2.3"),
    (({}, "2.3"), {"processes": ["tm"]}, "taskmanager, jobmanager"),
    (({}, "2.3"), {"min_managed_per_slot": "lots"}, "not a Flink memory size"),
])
def test_config_lint_misuse(config_lint, args, kwargs, words):
    with pytest.raises(AnsibleFilterError) as err:
        config_lint(*args, **kwargs)
    assert str(err.value).startswith("flinkops.flink.config_lint: ")
    assert words in str(err.value)


def test_upgrade_misuse(upgrade_readiness):
    with pytest.raises(AnsibleFilterError) as err:
        upgrade_readiness({}, "1.18", "9.9")
    assert str(err.value).startswith("flinkops.flink.upgrade_readiness: ")
    assert "1.17, 1.18" in str(err.value)


PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    tm_conf:
      taskmanager.memory.process.size: 1728m
      taskmanager.memory.managed.fration: 0.5
      jobmanager.memory.managed.fraction: 0.3
      taskmanager.heap.size: 1g
    facts:
      processes: [taskmanager]
      cgroup_memory_limit_bytes: 1073741824
      config_lines: {taskmanager.memory.managed.fration: 2}
  tasks:
    - name: Lint by FQCN
      ansible.builtin.set_fact:
        findings: "{{ tm_conf | flinkops.flink.config_lint('1.20', facts=facts) }}"
        readiness: "{{ tm_conf | flinkops.flink.upgrade_readiness('1.18', '2.0', processes=['taskmanager']) }}"
    - name: Write the results for the test
      ansible.builtin.copy:
        content: "{{ {'findings': findings, 'readiness': readiness} | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
    - name: Misuse fails with the accepted values
      ansible.builtin.debug:
        msg: "{{ tm_conf | flinkops.flink.config_lint('2.3', processes=['worker']) }}"
      register: misuse
      ignore_errors: true
    - name: Check the misuse message
      ansible.builtin.assert:
        that: "'taskmanager, jobmanager' in misuse.msg"
"""


def test_filters_by_fqcn_in_a_playbook(tmp_path: Path, ansible_env, ansible_bin):
    book = tmp_path / "play.yml"
    book.write_text(PLAYBOOK)
    out = tmp_path / "out.json"
    proc = subprocess.run(
        [str(ansible_bin / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(book), "-e", f"out={out}"],
        env=ansible_env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    by_code = {f["code"]: f for f in result["findings"]}
    # A 1728m TaskManager in a 1g cgroup; the legacy heap (1g) sizes Total Flink Memory on 1.x and
    # process.size only the JVM Overhead (1728 - 1024 - 256 = 448m).
    assert result["findings"][0]["code"] == "exceeds-host-memory"
    assert by_code["unknown-key"]["line"] == 2
    assert by_code["unknown-key"]["fix"].startswith("Did you mean 'taskmanager.memory.managed.fraction'")
    assert by_code["blog-only-key"]["key"] == "jobmanager.memory.managed.fraction"
    assert by_code["legacy-heap"]["key"] == "taskmanager.heap.size"
    assert "JVM Overhead to 448 mb" in by_code["legacy-heap"]["message"]
    assert result["readiness"]["ready"] is False
    assert result["readiness"]["memory"]["taskmanager"]["to"]["sizing_path"] == "total-process"


@pytest.mark.parametrize("name, words", [
    ("config_lint", "Checks one flat Flink config"),
    ("upgrade_readiness", "Compares one flat Flink config on two Flink versions"),
])
def test_ansible_doc_documents_the_filter(ansible_env, ansible_bin, name, words):
    proc = subprocess.run(
        [str(ansible_bin / "ansible-doc"), "-t", "filter", f"flinkops.flink.{name}"],
        env=ansible_env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert words in proc.stdout.replace("\n  ", " ")
    assert "EXAMPLES" in proc.stdout and "RETURN VALUES" in proc.stdout
