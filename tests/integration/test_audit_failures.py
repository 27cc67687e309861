"""The audit's Failures section and its gate, through the real ansible-playbook and ``flinkops.flink.audit``.

Two local hosts (a JobManager and a TaskManager of Flink 2.3.0) with the config and the log files Flink
wrote when a job failed for too few network buffers (captured on loopback: the diagnose fixtures). The
gather reads the logs (``audit_logs: true``) in its one command; the report lists the failure in every
format with its evidence line and the fix for the TaskManagers' group, and ``audit_fail_on=failure`` fails
the play. A third host, tm2, differs from tm1 in one key that is not a memory key: ``audit_drift_keys``
decides whether that is drift.

The local hosts share this machine's kernel: its ring buffer may hold real OOM kills of other tests' JVMs,
which the gather reads (dmesg) and diagnose ties to every host running Flink. Those ``oom-killed`` entries
are real and are allowed; every assertion is about the captured failure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "tests" / "unit" / "plugins" / "plugin_utils" / "fixtures" / "diagnose" / "2.3" / "network-buffers"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
SECRET = "audit-failures-secret-never-in-a-report"
NON_MEMORY_KEY = "execution.buffer-timeout.interval"


@pytest.fixture(scope="module")
def fleet():
    base = Path(tempfile.mkdtemp(prefix="flinkops-audit-failures-"))
    case = json.loads((CASE / "case.json").read_text())
    hosts = dict(case["hosts"])
    hosts["tm2"] = dict(hosts["tm1"], logs=[],
                        config=dict(hosts["tm1"]["config"], **{"taskmanager.resource-id": "tm2",
                                                                NON_MEMORY_KEY: "50 ms"}))
    groups = {"jobmanager": "flink_jobmanager", "taskmanager": "flink_taskmanager"}
    inventory = {g: [] for g in groups.values()}
    for name, record in hosts.items():
        home = base / name / "flink"
        for sub in ("lib", "conf", "log"):
            (home / sub).mkdir(parents=True)
        (home / "lib" / "flink-dist-2.3.0.jar").write_bytes(b"")
        config = dict(record["config"])
        if name == "tm1":
            config["s3.secret-key"] = SECRET
        (home / "conf" / "config.yaml").write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in config.items()))
        for entry in record["logs"]:
            text = (CASE / entry["fixture"]).read_text(errors="replace")
            if name == "tm1":  # a secret Flink logs at start: the gather must hide it before any report sees it
                text = (f"2026-12-02 04:48:00,000 INFO  org.apache.flink.configuration.GlobalConfiguration [] - "
                        f"Loading configuration property: s3.secret-key, {SECRET}\n") + text
            (home / "log" / Path(entry["file"]).name).write_text(text)
        inventory[groups[record["processes"][0]]].append(f"{name} ansible_connection=local flink_home={home}")
    (base / "inventory.ini").write_text("".join(f"[{g}]\n" + "\n".join(lines) + "\n" for g, lines in inventory.items()))
    yield base
    shutil.rmtree(base)


def captured_failure(data: dict) -> list:
    """The failures the fixture's logs hold (not the machine's kernel lines)."""
    return [f for f in data["failures"] if f["evidence"]["file"] != "dmesg"]


def audit(base: Path, env: dict, name: str, *extra: str):
    report = base / name
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.ini"), "flinkops.flink.audit",
                           "-e", f"audit_report_dir={report}", *extra],
                          capture_output=True, text=True, env=dict(env, ANSIBLE_LOCAL_TEMP=str(base / "tmp")),
                          timeout=600, check=False)
    data = json.loads((report / "flink-audit.json").read_text()) if (report / "flink-audit.json").exists() else None
    return proc, report, data


@pytest.fixture(scope="module")
def with_logs(fleet, ansible_env):
    return audit(fleet, ansible_env, "with-logs", "-e", "audit_logs=true", "-e", "audit_fail_on=failure")


def test_fail_on_failure_fails_the_play_naming_the_failure(with_logs):
    proc, _report, data = with_logs
    out = " ".join(proc.stdout.split())
    assert proc.returncode == 2, out[-3000:]
    assert [(f["code"], f["host"]) for f in captured_failure(data)] == [("network-buffers", "tm1")]
    n = len(data["failures"])
    hosts = ", ".join(data["summary"]["hosts_with_failures"])
    assert "tm1" in data["summary"]["hosts_with_failures"]
    reason = f"{n} failure{'s' if n != 1 else ''} in the logs on {hosts}"
    assert data["gate"] == {"fail_on": "failure", "failed": True, "reason": reason}
    assert f"Flink audit failed (audit_fail_on=failure): {reason}" in out
    assert f", {n} failure{'s' if n != 1 else ''} in the logs" in out  # the console's TOTAL counts them
    assert "FAILURE network-buffers on tm1 (taskmanager) at " in out


def test_failure_in_every_format_with_evidence_line_and_group_fix(fleet, with_logs):
    _proc, report, data = with_logs
    [failure] = captured_failure(data)
    assert (failure["code"], failure["host"], failure["process"]) == ("network-buffers", "tm1", "taskmanager")
    ev = failure["evidence"]
    log = fleet / "tm1" / "flink" / "log" / "flink-tm1-taskexecutor-0-vm.log"
    assert ev["file"] == str(log)
    assert ev["message"] in log.read_text().splitlines()[ev["line"] - 1]  # the line named holds Flink's message
    assert ev["message"].startswith("java.io.IOException: Insufficient number of network buffers: required 1")
    assert ev["time"] == "2026-12-02 04:48:40,280"
    fix = failure["fix"]
    assert fix["valid"] and fix["group"] == "taskmanager" and fix["hosts"] == ["tm1", "tm2"]  # the whole group
    assert {"taskmanager.memory.network.min", "taskmanager.memory.network.max"} <= set(fix["settings"])
    assert data["summary"]["failures"] == len(data["failures"]) and data["settings"]["drift_keys"] == "memory"

    where = f"{ev['file']}:{ev['line']}"
    md = (report / "flink-audit.md").read_text()
    section = md.split("## Failures", 1)[1].split("## Findings", 1)[0]
    assert where in section and "network-buffers" in section and "taskmanager.memory.network.max: " in section
    html_text = (report / "flink-audit.html").read_text()
    assert '<h2 id="failures">Failures</h2>' in html_text and where in html_text
    root = ET.parse(report / "flink-audit-junit.xml").getroot()
    suite = next(s for s in root.iter("testsuite") if s.get("name") == "failures")
    cases = suite.findall("testcase")
    assert len(cases) == len(data["failures"]) and all(c.find("failure") is not None for c in cases)
    assert [c.get("name") for c in cases].count(f"network-buffers {where}") == 1
    for path in report.iterdir():
        assert SECRET not in path.read_text(), path.name


def test_failures_do_not_trip_the_error_gate(fleet, ansible_env):
    proc, _report, data = audit(fleet, ansible_env, "error-gate", "-e", "audit_logs=true")
    assert data["summary"]["findings"]["error"] == 0, data["summary"]  # so only the failure could trip it
    assert len(captured_failure(data)) == 1
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert data["gate"]["failed"] is False and "in the logs on " in data["gate"]["reason"].split("below the gate: ")[1]


def test_without_audit_logs_no_failures_are_read_and_the_gate_says_so(fleet, ansible_env):
    proc, report, data = audit(fleet, ansible_env, "no-logs", "-e", "audit_fail_on=failure")
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert data["failures"] is None and data["summary"]["failures"] is None
    assert "the logs were not read" in data["gate"]["reason"]
    assert "The logs were not read" in (report / "flink-audit.md").read_text()


@pytest.mark.parametrize(("drift_keys", "drifts"), [(None, False), ("all", True),
                                                    ('["execution.*"]', True), ('["rest.*"]', False)])
def test_audit_drift_keys_decides_what_drift_counts(fleet, ansible_env, drift_keys, drifts):
    extra = ["-e", "audit_fail_on=drift"]
    if drift_keys is not None:
        extra += ["-e", f'{{"audit_drift_keys": {json.dumps(drift_keys) if drift_keys == "all" else drift_keys}}}']
    proc, _report, data = audit(fleet, ansible_env, f"drift-{drift_keys}", *extra)
    assert data["summary"]["drift"] is drifts, data["drift"]["groups"]
    # tm1 and tm2 carry warnings (8 slots in 1g), which audit_fail_on=drift counts too: the gate's reason tells
    # whether drift is among what tripped it.
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert ("drift in taskmanager" in data["gate"]["reason"]) is drifts, data["gate"]
    group = next(g for g in data["drift"]["groups"] if g["name"] == "taskmanager")
    assert NON_MEMORY_KEY in json.dumps(group["keys"])  # listed either way; counted only when asked
