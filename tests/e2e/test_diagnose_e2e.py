"""End to end on a real Flink 2.3.0 cluster: a failure provoked for real, diagnosed, fixed, and the same job runs.

One JobManager and one TaskManager (tm1) on loopback (tests/e2e/diagnose_cluster.py, built on
tests/e2e/cluster.py), reused by every case. Each case rewrites tm1's file with the keys that make a
job of tests/e2e/job/DiagnoseJob.java fail, restarts tm1 and submits the job; then the real
``ansible-playbook`` gathers every host (flink_config_info with ``logs: true``: the newest 256 KiB of
each Flink log and the kernel's OOM lines, in the same one command),
the playbook runs the flinkops.flink.diagnose filter on them and applies the fix it gives for tm1's
group with flinkops.flink.flink_config; tm1 is restarted with the file the module wrote and the same job
is submitted again: it must run.

Cases: network buffers too small for the job's parallelism; a file Flink refuses (tm1 started in the
foreground by a supervisor keeping its console in a ``.out`` file: after the fix it starts and
registers with the memory the fix promised); a job needing more slots than the TaskManager has.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster as flink_cluster  # noqa: E402  (tests/e2e is not a package)
import diagnose_cluster  # noqa: E402
import flink_install  # noqa: E402

GATHER = """
- name: Gather every host
  hosts: all
  gather_facts: false
  tasks:
    - name: Read the config
      flinkops.flink.flink_config_info:
        flink_home: "{{ flink_home }}"
        conf_dir: "{{ flink_conf_dir }}"
        logs: true
        log_dir: "{{ flink_log_dir }}"
      register: gathered
    - name: Keep the results for the controller
      ansible.builtin.copy:
        content: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'gathered')))
                     | to_json }}"
        dest: "{{ results_file }}"
        mode: "0600"
      delegate_to: localhost
      run_once: true
"""

FIX = """
- name: Diagnose and apply the fix to its group
  hosts: all
  gather_facts: false
  vars:
    diagnosis: "{{ results | flinkops.flink.diagnose }}"
    found: "{{ (diagnosis.hosts.values() | flatten) | selectattr('code', 'equalto', code) | list }}"
    fix: "{{ (found | first).fix }}"
  tasks:
    - name: Keep the diagnosis for the test
      ansible.builtin.copy:
        content: "{{ diagnosis | to_json }}"
        dest: "{{ diagnosis_file }}"
        mode: "0600"
      delegate_to: localhost
      run_once: true
    - name: Apply the fix on every host of its group
      flinkops.flink.flink_config:
        flink_home: "{{ flink_home }}"
        conf_dir: "{{ flink_conf_dir }}"
        settings: "{{ fix.settings }}"
        remove: "{{ fix.remove }}"
        backup: true
      when: inventory_hostname in fix.hosts
"""


@pytest.fixture(scope="module")
def flink(tmp_path_factory):
    home = flink_install.install("2.3.0")
    root = tmp_path_factory.mktemp("flinkops-diagnose-e2e")
    cl = diagnose_cluster.DiagnoseCluster(home, root / "cluster", "2.3.0")
    try:
        cl.build(root / "job")
        cl.prepare()
        cl.start()
        yield cl
    finally:
        cl.teardown()
        assert not cl._our_jvms(), "Java processes left behind"


def run(ansible_env, ansible_bin, inventory: Path, playbook: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [str(ansible_bin / "ansible-playbook"), "-i", str(inventory), str(playbook), *extra]
    proc = subprocess.run(cmd, env=dict(ansible_env, JVM_ARGS=flink_cluster.JVM_ARGS), capture_output=True,
                          text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    return proc


def diagnose_and_fix(cl, ansible_env, ansible_bin, tmp_path, code: str) -> dict:
    inventory = cl.inventory(tmp_path / "inventory.yml", sys.executable)
    gather, fix = tmp_path / "gather.yml", tmp_path / "fix.yml"
    gather.write_text(GATHER)
    fix.write_text(FIX)
    results_file, diagnosis_file = tmp_path / "results.json", tmp_path / "diagnosis.json"
    run(ansible_env, ansible_bin, inventory, gather, "-e", f"results_file={results_file}")
    results = json.loads(results_file.read_text())
    assert all(results[name]["logs"] for name in results)  # the gather's logs: true
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"results": results, "code": code, "diagnosis_file": str(diagnosis_file)}))
    run(ansible_env, ansible_bin, inventory, fix, "-e", f"@{extra}")
    return json.loads(diagnosis_file.read_text())


def test_network_buffers_diagnosed_fixed_and_the_job_runs(flink, ansible_env, ansible_bin, tmp_path):
    cl = flink
    overrides, args, _text, _where = diagnose_cluster.CASES["network-buffers"]
    cl.cancel_all()
    cl.restart_tm(overrides)
    proc = cl.run_job(args)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    cl.wait_text("tm1", "Insufficient number of network buffers", 240)
    cl.wait(lambda: any(j["state"] == "FAILED" for j in cl.jobs()), 120, "the job failed")

    diagnosis = diagnose_and_fix(cl, ansible_env, ansible_bin, tmp_path, "network-buffers")
    found = [d for d in diagnosis["hosts"]["tm1"] if d["code"] == "network-buffers"]
    assert found, diagnosis["hosts"]
    d = found[0]
    assert d["process"] == "taskmanager"
    assert d["evidence"]["host"] == "tm1" and d["evidence"]["file"].endswith(".log")
    assert "Insufficient number of network buffers: required" in d["evidence"]["message"]
    lines = Path(d["evidence"]["file"]).read_text(errors="replace").splitlines()
    assert lines[d["evidence"]["line"] - 1] == d["evidence"]["message"]
    assert d["now"]["network_buffers"] == 64 and "taskmanager.memory.network.max" in d["keys"]
    fix = d["fix"]
    assert fix["valid"] and fix["hosts"] == ["tm1"], fix

    # The module wrote what the fix says, and Flink's derivation of the new file is what the fix promised.
    path = cl.conf_dir("tm1") / "config.yaml"
    written = parse_config_yaml(path.read_bytes(), str(path)).config
    for key, value in fix["settings"].items():
        assert written[key] == value
    model = compute(written, "taskmanager", "2.3.0")
    assert model["valid"] and model["sizes"] == fix["memory"]["tm1"]

    # Restart tm1 with its fixed file; the same job runs.
    cl.stop_tm()
    cl.start_taskmanager("tm1")
    cl.wait(lambda: cl.tm_rest("tm1"), 240, "tm1 registered")
    rest = cl.rest("/taskmanagers/tm1")
    assert rest["memoryConfiguration"]["networkMemory"] == fix["memory"]["tm1"]["network"]
    proc = cl.run_job(args)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    job = cl.wait(lambda: next((j for j in cl.jobs() if j["state"] not in ("FAILED", "CANCELED")), None), 60,
                  "the job listed")
    cl.wait(lambda: cl.job_running(job["jid"]) or cl.rest(f"/jobs/{job['jid']}")["state"] == "FAILED", 240,
            "the job RUNNING (or FAILED)")
    assert cl.job_running(job["jid"]), yaml.safe_dump(cl.rest(f"/jobs/{job['jid']}/exceptions"))[:3000]
    cl.cancel_all()


def restart_fixed_tm(cl, fix: dict) -> None:
    """tm1 from the file flink_config wrote: Flink's derivation of it is the fix's, and REST shows it."""
    path = cl.conf_dir("tm1") / "config.yaml"
    written = parse_config_yaml(path.read_bytes(), str(path)).config
    for key, value in fix["settings"].items():
        assert written[key] == value
    for key in fix["remove"]:
        assert key not in written
    model = compute(written, "taskmanager", "2.3.0")
    assert model["valid"] and model["sizes"] == fix["memory"]["tm1"]
    cl.stop_tm()
    cl.start_taskmanager("tm1")
    cl.wait(lambda: cl.tm_rest("tm1"), 240, "tm1 registered")
    memory = cl.rest("/taskmanagers/tm1")["memoryConfiguration"]
    assert memory["managedMemory"] == model["sizes"]["managed"]
    assert memory["taskHeap"] == model["sizes"]["task_heap"]


def run_to_running(cl, args: list) -> None:
    proc = cl.run_job(args)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    job = cl.wait(lambda: next((j for j in cl.jobs() if j["state"] not in ("FAILED", "CANCELED")), None), 60,
                  "the job listed")
    cl.wait(lambda: cl.job_running(job["jid"]) or cl.rest(f"/jobs/{job['jid']}")["state"] == "FAILED", 240,
            "the job RUNNING (or FAILED)")
    assert cl.job_running(job["jid"]), yaml.safe_dump(cl.rest(f"/jobs/{job['jid']}/exceptions"))[:3000]
    cl.cancel_all()


def test_refused_file_diagnosed_fixed_and_the_taskmanager_starts(flink, ansible_env, ansible_bin, tmp_path):
    cl = flink
    cl.cancel_all()
    diagnose_cluster.provoke_refused(cl, dest=tmp_path / "kept")
    diagnosis = diagnose_and_fix(cl, ansible_env, ansible_bin, tmp_path, "refused-config")
    d = next(x for x in diagnosis["hosts"]["tm1"] if x["code"] == "refused-config")
    assert d["evidence"]["file"].endswith(".out")
    assert d["evidence"]["message"] == "[ERROR] Could not get JVM parameters and dynamic configurations properly."
    assert "IllegalConfigurationException" in d["evidence"]["cause"]
    assert not d["now"]["valid"] and d["fix"]["valid"], d["fix"]
    for key, size in diagnose_cluster.REFUSED.items():  # every component the file asked for, at that size
        part = {"taskmanager.memory.task.heap.size": "task_heap", "taskmanager.memory.managed.size": "managed"}[key]
        assert d["fix"]["memory"]["tm1"][part] >= int(size[:-1]) << 20
    restart_fixed_tm(cl, d["fix"])
    run_to_running(cl, ["slots", "1"])


def test_slots_unfulfillable_diagnosed_fixed_and_the_job_runs(flink, ansible_env, ansible_bin, tmp_path):
    cl = flink
    overrides, args, _text, _where = diagnose_cluster.CASES["slots-unfulfillable"]
    cl.cancel_all()
    cl.restart_tm(overrides)
    proc = cl.run_job(args)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    cl.wait_text("jm", "NoResourceAvailableException", 240)
    cl.wait(lambda: any(j["state"] == "FAILED" for j in cl.jobs()), 120, "the job failed")
    diagnosis = diagnose_and_fix(cl, ansible_env, ansible_bin, tmp_path, "slots-unfulfillable")
    d = next(x for x in diagnosis["hosts"]["jm"] if x["code"] == "slots-unfulfillable")
    assert d["process"] == "jobmanager" and d["evidence"]["host"] == "jm"
    fix = d["fix"]
    assert fix["valid"] and fix["hosts"] == ["tm1"] and fix["settings"]["taskmanager.numberOfTaskSlots"] == "4", fix
    restart_fixed_tm(cl, fix)
    cl.wait(lambda: cl.rest("/taskmanagers/tm1")["slotsNumber"] == 4, 60, "tm1 reports its 4 slots")
    run_to_running(cl, args)


def test_audit_reports_a_failure_only_the_rest_exception_history_holds(flink, ansible_env, ansible_bin, tmp_path):
    """The audit role with audit_logs and audit_rest_url reads each job's exception history (exceptions: true):
    a task's heap OOM on tm1, with no log of it where the gather looks (every host's flink_log_dir an empty dir:
    logs kept elsewhere), is in the report's Failures section with the REST address as its evidence. Before the
    role passed exceptions: true, the section was empty."""
    cl = flink
    overrides, args, text, _where = diagnose_cluster.CASES["heap-oom"]
    cl.cancel_all()
    cl.restart_tm(overrides)
    proc = cl.run_job(args)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    cl.wait_text("tm1", text, 240)
    cl.wait(lambda: any(j["state"] == "FAILED" for j in cl.jobs()), 120, "the job failed")
    inventory = cl.inventory(tmp_path / "inventory.yml", sys.executable)
    data = yaml.safe_load(inventory.read_text())
    empty = tmp_path / "no-logs-here"
    empty.mkdir()
    for group in data["all"]["children"].values():
        for host in group["hosts"].values():
            host["flink_log_dir"] = str(empty)
    inventory.write_text(yaml.safe_dump(data))
    report = tmp_path / "report"
    run(ansible_env, ansible_bin, inventory, Path("flinkops.flink.audit"), "-e", f"audit_report_dir={report}",
        "-e", "audit_logs=true", "-e", f"audit_rest_url={cl.url}", "-e", "audit_fail_on=never",
        "-e", "audit_hosts=all")
    failures = json.loads((report / "flink-audit.json").read_text())["failures"]
    found = [f for f in failures if f["code"] == "heap-oom"]
    assert found, failures
    assert found[0]["host"] == "tm1" and found[0]["process"] == "taskmanager"
    assert found[0]["evidence"]["file"].startswith(f"{cl.url}/jobs/") and found[0]["evidence"]["file"].endswith(
        "/exceptions")
    assert "java.lang.OutOfMemoryError: Java heap space" in found[0]["evidence"]["message"]
    cl.cancel_all()
