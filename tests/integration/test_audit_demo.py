"""The audit of the demo fleet, through the real ansible-playbook and the playbook ``flinkops.flink.audit``.

The demo fleet (examples/demo-fleet/) tells the seed post's story; these tests check that the
audit tells it back: which host has which findings, the drifted managed fraction, the config
Flink refuses, the TaskManager over its container limit, the gate, and that the JSON report
keeps the schema docs/reports.md documents. Nothing is faked: gather, config_lint,
fleet_drift and the report run as a user runs them.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-fleet"
INVENTORY = DEMO / "inventory.yml"
SECRETS = ("demo-s3-secret-never-in-a-report", "demo-keystore-password-never-in-a-report")
GIB = 1 << 30
HOST_FILES = {
    "jm1": "hosts/jm1/flink-1.20.5/conf/flink-conf.yaml",
    "tm1": "hosts/tm1/flink-1.20.5/conf/flink-conf.yaml",
    "tm2": "hosts/tm2/flink-1.20.5/conf/config.yaml",
    "tm3": "hosts/tm3/flink-2.3.0/conf/config.yaml",
    "tm4": "hosts/tm4/flink-1.19.3/conf/flink-conf.yaml",
}
# The story, host by host: the warning and error codes each host must get, and no others.
STORY = {
    "jm1": {"blog-only-key"},                          # jobmanager.memory.managed.fraction
    "tm1": set(),                                      # the reference TaskManager
    "tm2": {"blog-only-key"},                          # taskmanager.memory.heap.size (and fraction 0.6: drift)
    "tm3": {"blog-only-key", "exceeds-host-memory"},   # flink.memory.managed.fraction; 4g in a 3 GiB container
    "tm4": {"rejected-config", "ignored-file"},        # 1.5g; config.yaml next to flink-conf.yaml on 1.19
}


def run_audit(ansible_env, ansible_bin, report_dir: Path, *extra: str, inventories=(INVENTORY,)):
    cmd = [str(ansible_bin / "ansible-playbook")]
    for inventory in inventories:
        cmd += ["-i", str(inventory)]
    cmd += ["flinkops.flink.audit", "-e", f"audit_report_dir={report_dir}", *extra]
    return subprocess.run(cmd, env=ansible_env, capture_output=True, text=True, timeout=600, cwd=report_dir.parent)


@pytest.fixture(scope="module")
def demo(tmp_path_factory, ansible_env, ansible_bin):
    out = tmp_path_factory.mktemp("audit") / "report"
    start = time.monotonic()
    proc = run_audit(ansible_env, ansible_bin, out, "-e", "audit_fail_on=never")
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads((out / "flink-audit.json").read_text())
    output = ROOT / "tests" / "output"
    output.mkdir(exist_ok=True)
    (output / "audit-demo-timing.txt").write_text(f"demo audit wall time: {elapsed:.2f} s\n")
    return {"proc": proc, "report": report, "dir": out, "elapsed": elapsed}


def host(report, name):
    return next(h for h in report["hosts"] if h["name"] == name)


def line_of(name: str, fragment: str) -> int:
    """1-based line of the demo file of ``name`` holding ``fragment`` (so the test follows edits of the files)."""
    lines = (DEMO / HOST_FILES[name]).read_text().splitlines()
    hits = [i + 1 for i, text in enumerate(lines) if fragment in text and not text.lstrip().startswith("#")]
    assert len(hits) == 1, (name, fragment, hits)
    return hits[0]


def test_every_host_audited_with_the_story_findings(demo):
    report = demo["report"]
    assert [h["name"] for h in report["hosts"]] == list(STORY)
    got = {h["name"]: {f["code"] for f in h["findings"] if f["severity"] != "info"} for h in report["hosts"]}
    assert got == STORY
    assert all(h["gather"]["ok"] for h in report["hosts"])
    assert {h["name"]: h["status"] for h in report["hosts"]} == {
        "jm1": "warning", "tm1": "ok", "tm2": "warning", "tm3": "error", "tm4": "error"}
    assert report["status"] == "error"
    assert report["summary"]["hosts_with"]["error"] == ["tm3", "tm4"]
    assert set(report["summary"]["flink_versions"]) == {"1.19.3", "1.20.5", "2.3.0"}
    assert {h["config_format"] for h in report["hosts"]} == {"legacy", "yaml"}


def test_the_posts_keys_are_named_where_they_are(demo):
    report = demo["report"]
    expected = {
        "jm1": ("jobmanager.memory.managed.fraction", line_of("jm1", "jobmanager.memory.managed.fraction:")),
        "tm2": ("taskmanager.memory.heap.size", line_of("tm2", "size: 1g")),
        "tm3": ("flink.memory.managed.fraction", line_of("tm3", "flink.memory.managed.fraction:")),
    }
    for name, (key, line) in expected.items():
        (finding,) = [f for f in host(report, name)["findings"] if f["code"] == "blog-only-key"]
        assert (finding["key"], finding["line"], finding["severity"]) == (key, line, "warning"), name
        assert "does not exist" in finding["message"] and finding["fix"]
    jm1 = host(report, "jm1")
    # The JobManager's memory is what Flink computes from 1600m: the imaginary key changes nothing.
    assert jm1["memory"]["jobmanager"]["sizes"]["total_process"] == 1600 << 20
    assert jm1["memory"]["jobmanager"]["jvm"]["heap"] == GIB


def test_managed_fraction_drifts_between_taskmanagers(demo):
    groups = {g["name"]: g for g in demo["report"]["drift"]["groups"]}
    assert groups["jobmanager"]["drift"] is False
    tms = groups["taskmanager"]
    assert tms["drift"] is True and tms["hosts"] == ["tm1", "tm2", "tm3", "tm4"]
    keys = {k["key"]: k for k in tms["keys"]}
    fraction = keys["taskmanager.memory.managed.fraction"]
    assert fraction["values"] == [{"value": "0.4", "hosts": ["tm1", "tm3", "tm4"], "majority": True},
                                  {"value": "0.6", "hosts": ["tm2"], "majority": False}]
    assert fraction["memory_key"] is True and fraction["equivalent"] is False and fraction["outliers"] == ["tm2"]
    assert tms["memory_status"] == {"taskmanager": "different_memory"}
    managed = {tuple(v["hosts"]): v["bytes"] for m in tms["memory"] if m["component"] == "managed"
               for v in m["values"]}
    sizes = {n: host(demo["report"], n)["memory"]["taskmanager"]["sizes"] for n in ("tm1", "tm2", "tm3")}
    assert managed == {(n,): sizes[n]["managed"] for n in ("tm1", "tm2", "tm3")}
    # Same process size, different fraction: tm2 gets 0.6/0.4 of tm1's managed memory (Flink's float arithmetic).
    assert sizes["tm1"]["total_flink"] == sizes["tm2"]["total_flink"]
    assert sizes["tm2"]["managed"] / sizes["tm1"]["managed"] == pytest.approx(1.5, rel=1e-6)
    assert "taskmanager" in host(demo["report"], "tm1")["drift_groups"]


def test_the_refused_config(demo):
    tm4 = host(demo["report"], "tm4")
    memory = tm4["memory"]["taskmanager"]
    assert memory["valid"] is False and memory["sizes"] is None
    assert "Could not parse value '1.5g' for key 'taskmanager.memory.process.size'" in memory["error"]
    (refused,) = [f for f in tm4["findings"] if f["code"] == "rejected-config"]
    assert refused["severity"] == "error"
    assert (refused["key"], refused["line"]) == ("taskmanager.memory.process.size",
                                                 line_of("tm4", "taskmanager.memory.process.size:"))
    assert tm4["ignored_files"] and tm4["ignored_files"][0]["name"] == "config.yaml"
    tms = next(g for g in demo["report"]["drift"]["groups"] if g["name"] == "taskmanager")
    assert [(i["host"], i["process"]) for i in tms["invalid_hosts"]] == [("tm4", "taskmanager")]


def test_the_taskmanager_over_its_container_limit(demo):
    tm3 = host(demo["report"], "tm3")
    res = tm3["resources"]
    assert (res["memory_limit_bytes"], res["memory_limit_source"]) == (3 * GIB, "inventory")
    assert res["memory_limit_override_bytes"] == 3 * GIB
    assert tm3["memory"]["taskmanager"]["sizes"]["total_process"] == 4 * GIB
    (over,) = [f for f in tm3["findings"] if f["code"] == "exceeds-host-memory"]
    assert over["severity"] == "error" and "3g" in over["fix"]
    # The others have no container limit: only RAM, which their 2 GiB fits.
    for name in ("tm1", "tm2"):
        assert host(demo["report"], name)["resources"]["memory_limit_source"] in ("ram", "cgroup")


def test_console_summary_one_line_per_host_and_totals(demo):
    stdout = demo["proc"].stdout
    for name, codes in STORY.items():
        (line,) = [x for x in stdout.splitlines() if re.match(rf'\s*"{name}\s', x)]
        for code in codes:
            assert code in line, (name, line)
    assert re.search(r'"TOTAL  5 hosts \(5 audited, 0 failed, 0 unreachable\): 2 errors, \d+ warnings, '
                     r'drift in taskmanager"', stdout)
    assert "GATE   audit_fail_on=never: pass" in stdout
    assert f"REPORT html: {demo['dir'] / 'flink-audit.html'}" in stdout


def test_the_readme_shows_the_demo_lines_exactly(demo):
    # the quick start's sample is what make demo prints, space for space
    readme = (ROOT / "README.md").read_text()
    sample = readme.split("```\njm1", 1)[1].split("```", 1)[0]
    shown = [("jm1" + sample).splitlines()[i] for i in range(len(STORY))]
    printed = [m.group(1) for m in re.finditer(r'^\s*"((?:jm1|tm\d)\s.*)",?$', demo["proc"].stdout, re.M)]
    assert shown == printed


def test_no_secret_in_any_report_or_on_the_console(demo):
    texts = {p.name: p.read_text() for p in demo["dir"].iterdir()}
    assert set(texts) == {"flink-audit.json", "flink-audit.md", "flink-audit.html", "flink-audit-junit.xml"}
    texts["stdout"] = demo["proc"].stdout + demo["proc"].stderr
    for name, text in texts.items():
        for secret in SECRETS:
            assert secret not in text, name
    assert host(demo["report"], "jm1")["config"]["s3.secret-key"] == "******"
    assert host(demo["report"], "tm3")["config"]["security.ssl.internal.keystore-password"] == "******"
    # Non-sensitive values are shown as they are.
    assert host(demo["report"], "jm1")["config"]["s3.access-key"] == "DEMOACCESSKEY"


def test_junit_has_a_case_per_host_and_check(demo):
    root = ET.parse(demo["dir"] / "flink-audit-junit.xml").getroot()
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == list(STORY)
    names = {n: [c.get("name") for c in s.findall("testcase")] for n, s in suites.items()}
    assert len({tuple(v) for v in names.values()}) == 1
    checks = names["tm1"]
    assert checks[0] == "gather" and checks[1] == "memory" and checks[-1] == "drift"
    assert {f"lint.{c}" for codes in STORY.values() for c in codes} <= set(checks)

    def failed(name, check):
        case = suites[name].find(f"testcase[@name='{check}']")
        return case.find("failure") is not None

    assert failed("tm4", "memory") and failed("tm4", "lint.rejected-config")
    assert failed("tm3", "lint.exceeds-host-memory")
    assert not failed("tm1", "memory") and not any(failed("tm1", c) for c in checks)
    assert not failed("jm1", "lint.blog-only-key")  # a warning does not fail CI under audit_fail_on=never


DOC = (ROOT / "docs" / "reports.md").read_text()


def documented_fields(heading: str) -> set:
    """Field names of the first table under ``heading`` in docs/reports.md."""
    section = DOC.split(heading, 1)[1]
    table = re.search(r"\n\|[^\n]*\|\n\|[-| ]+\|\n((?:\|[^\n]*\|\n)+)", section).group(1)
    return {re.match(r"\| `([^`]+)`", row).group(1) for row in table.splitlines()}


def test_json_schema_is_the_documented_one(demo):
    report = demo["report"]
    assert report["schema_version"] == 1
    assert set(report) == documented_fields("### Top level")
    assert set(report["summary"]) == documented_fields("### `summary`")
    for entry in report["hosts"]:
        assert set(entry) == documented_fields("### `hosts[]`"), entry["name"]
        for finding in entry["findings"]:
            assert set(finding) == documented_fields("### `hosts[].findings[]`")
    for group in report["drift"]["groups"]:
        assert set(group) == documented_fields("### `drift.groups[]`")
    assert set(report["gate"]) == {"fail_on", "failed", "reason"}
    tm1 = host(report, "tm1")
    assert set(tm1["memory"]["taskmanager"]) == {"valid", "error", "sizing_path", "sizes", "jvm", "slots",
                                                 "managed_per_slot"}
    assert set(tm1["memory"]["taskmanager"]["sizes"]) == {
        "framework_heap", "task_heap", "framework_off_heap", "task_off_heap", "managed", "network",
        "jvm_metaspace", "jvm_overhead", "total_flink", "total_process"}
    assert set(host(report, "jm1")["memory"]["jobmanager"]["sizes"]) == {
        "heap", "off_heap", "jvm_metaspace", "jvm_overhead", "total_flink", "total_process"}


def test_fail_on_error_fails_the_play_with_a_clear_message(tmp_path, ansible_env, ansible_bin):
    out = tmp_path / "report"
    proc = run_audit(ansible_env, ansible_bin, out)  # audit_fail_on defaults to error
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert (f"Flink audit failed (audit_fail_on=error): 2 errors on tm3, tm4. See {out / 'flink-audit.html'}"
            in " ".join(text.split()))
    # The reports are written before the play fails.
    report = json.loads((out / "flink-audit.json").read_text())
    assert report["gate"] == {"fail_on": "error", "failed": True, "reason": "2 errors on tm3, tm4"}
    assert "Traceback" not in text


def test_bad_role_arguments_fail_once_before_any_host_is_read(tmp_path, ansible_env, ansible_bin):
    out = tmp_path / "report"
    proc = run_audit(ansible_env, ansible_bin, out, "-e", "audit_fail_on=sometimes")
    assert proc.returncode != 0
    # the playbook skips Ansible's per-host check; the role's own check fails once, naming the value's choices
    failed = re.findall(r"^fatal: \[(\w+)\]: FAILED! => (.*)$", proc.stdout, re.M)
    assert len(failed) == 1 and "audit_fail_on" in failed[0][1] and "drift" in failed[0][1], proc.stdout[-3000:]
    assert "Validating arguments against arg spec" not in proc.stdout
    assert "Gather the configuration" not in proc.stdout and not out.exists()


def test_fail_on_drift_names_the_drift(tmp_path, ansible_env, ansible_bin):
    out = tmp_path / "report"
    proc = run_audit(ansible_env, ansible_bin, out, "-e", "audit_fail_on=drift",
                     "-e", '{"audit_formats": ["json"]}')
    assert proc.returncode != 0
    assert "drift in taskmanager" in " ".join(proc.stdout.split())
    assert [p.name for p in out.iterdir()] == ["flink-audit.json"]


def test_failed_and_unreachable_hosts_are_still_reported(tmp_path, ansible_env, ansible_bin):
    extra = tmp_path / "extra.ini"
    extra.write_text(
        "[flink_taskmanager]\n"
        # tm1's installation again, in a container of 1g given as a size rather than bytes.
        f"tm7 ansible_connection=local flink_home={DEMO / 'hosts/tm1/flink-1.20.5'} flink_memory_limit_bytes=1g\n"
        "tm8 ansible_connection=local flink_home=/nonexistent/flink-2.3.0\n"
        "tm9 flink_home=/opt/flink ansible_connection=ssh ansible_host=127.0.0.1 ansible_port=1 "
        "ansible_user=nobody ansible_ssh_common_args='-o ConnectTimeout=5 -o BatchMode=yes'\n"
    )
    out = tmp_path / "report"
    proc = run_audit(ansible_env, ansible_bin, out, "-e", "audit_fail_on=never", inventories=(INVENTORY, extra))
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = json.loads((out / "flink-audit.json").read_text())
    assert [h["name"] for h in report["hosts"]] == [*STORY, "tm7", "tm8", "tm9"]
    tm7 = host(report, "tm7")
    assert (tm7["resources"]["memory_limit_bytes"], tm7["resources"]["memory_limit_source"]) == (GIB, "inventory")
    assert {f["code"] for f in tm7["findings"] if f["severity"] == "error"} == {"exceeds-host-memory"}
    tm8, tm9 = host(report, "tm8"), host(report, "tm9")
    assert tm8["status"] == "failed" and "/nonexistent/flink-2.3.0 does not exist" in tm8["gather"]["msg"]
    assert tm9["status"] == "unreachable" and tm9["gather"]["unreachable"] is True
    assert [f["code"] for f in tm9["findings"]] == ["host-unreachable"]
    assert report["summary"]["hosts_by_status"]["failed"] == 1
    assert report["summary"]["hosts_by_status"]["unreachable"] == 1
    # The audited hosts are analysed as without the broken ones.
    got = {h["name"]: {f["code"] for f in h["findings"] if f["severity"] != "info"} for h in report["hosts"][:5]}
    assert got == STORY
    assert re.search(r'"tm9\s+UNREACHABLE\s', proc.stdout)
    root = ET.parse(out / "flink-audit-junit.xml").getroot()
    assert root.find("testsuite[@name='tm9']/testcase[@name='gather']/error") is not None
