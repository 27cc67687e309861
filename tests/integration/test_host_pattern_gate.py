"""A CI gate that audits (or enforces) nothing fails: the audit and enforce playbooks, real ansible-playbook.

An inventory whose groups are named [jobmanagers]/[taskmanagers] instead of flink_jobmanager /
flink_taskmanager matched no host: "no hosts matched", no report, rc 0. Now the run fails, naming the
groups the playbooks expect and the variable that chooses the hosts; a pattern that matches runs as before.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))


@pytest.fixture(scope="module")
def fleet():
    base = Path(tempfile.mkdtemp(prefix="flinkops-gate-"))
    lines = ["[jobmanagers]"]
    for name, group in (("jm", None), ("tm1", "[taskmanagers]")):
        home = base / name / "flink"
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / "flink-dist-1.20.5.jar").write_bytes(b"")
        (home / "conf" / "flink-conf.yaml").write_text("jobmanager.memory.process.size: 1600m\n"
                                                       "taskmanager.memory.process.size: 2g\n")
        if group:
            lines.append(group)
        lines.append(f"{name} ansible_connection=local flink_home={home}")
    (base / "inventory.ini").write_text("\n".join(lines) + "\n")
    yield base
    shutil.rmtree(base)


def play(base: Path, env: dict, playbook: str, *args: str):
    return subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.ini"), f"flinkops.flink.{playbook}", *args],
                          capture_output=True, text=True, env=dict(env, ANSIBLE_LOCAL_TEMP=str(base / "tmp")),
                          timeout=600, check=False)


@pytest.mark.parametrize("playbook, variable, what", [("audit", "audit_hosts", "audited"),
                                                      ("enforce", "enforce_hosts", "enforced")])
def test_a_pattern_that_matches_no_host_fails_naming_the_groups_and_the_variable(fleet, ansible_env, playbook,
                                                                                   variable, what):
    report = fleet / f"report-{playbook}"
    args = ["-e", f"audit_report_dir={report}", "-e", "audit_fail_on=never"] if playbook == "audit" else \
        ["-e", '{"enforce_settings": {"all": {"parallelism.default": 2}}}']
    proc = play(fleet, ansible_env, playbook, *args)
    out = " ".join(proc.stdout.split())
    assert proc.returncode != 0, out[-3000:]
    assert f"flinkops.flink.{playbook}: the host pattern 'flink_jobmanager:flink_taskmanager' matches no host, so " \
           f"nothing would be {what}" in out, out[-3000:]
    assert "the inventory groups flink_jobmanager and flink_taskmanager; this inventory has the groups jobmanagers, " \
           f"taskmanagers. Rename the groups, or set {variable} to a pattern of your groups " \
           f"(-e {variable}=jobmanagers:taskmanagers)" in out
    assert not report.exists()
    assert "TASK [Gather" not in proc.stdout and "TASK [flinkops.flink." not in proc.stdout  # stopped first


def test_the_same_run_with_the_variable_audits_and_writes_the_report(fleet, ansible_env):
    report = fleet / "report-ok"
    proc = play(fleet, ansible_env, "audit", "-e", "audit_hosts=jobmanagers:taskmanagers", "-e",
                f"audit_report_dir={report}", "-e", "audit_fail_on=never")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (report / "flink-audit.json").exists()
    assert "matches no host, so" not in proc.stdout


def test_a_limit_outside_the_pattern_fails_too(fleet, ansible_env):
    proc = play(fleet, ansible_env, "audit", "-e", "audit_hosts=taskmanagers", "--limit", "jm",
                "-e", f"audit_report_dir={fleet / 'report-limit'}")
    out = " ".join(proc.stdout.split())
    assert proc.returncode != 0, out[-3000:]
    assert "the host pattern 'taskmanagers' matches no host within --limit" in out
    assert not (fleet / "report-limit").exists()
    ok = play(fleet, ansible_env, "audit", "-e", "audit_hosts=taskmanagers", "--limit", "tm1",
              "-e", f"audit_report_dir={fleet / 'report-limit-ok'}", "-e", "audit_fail_on=never")
    assert ok.returncode == 0, ok.stdout[-3000:]
    assert (fleet / "report-limit-ok" / "flink-audit.json").exists()
