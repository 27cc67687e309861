"""plugin_utils/rollout.py: the rolling restart's decisions, without a cluster.

The JobManager's REST answers in fixtures/ are what a real Flink 2.3.0 JobManager of
jobmanager.memory.process.size 1g answered (tests/e2e runs the same code against the real cluster).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.plugin_utils import live, rollout

FIXTURES = Path(__file__).resolve().parent / "fixtures"
JM_CONFIG = json.loads((FIXTURES / "rest_2.3.0_jobmanager_config.json").read_text())
JM_ENV = json.loads((FIXTURES / "rest_2.3.0_jobmanager_environment.json").read_text())
TM_1G = {"taskmanager.memory.process.size": "1g", "taskmanager.numberOfTaskSlots": "1"}


def tm_gather(host, config=None, **extra):
    config = {**TM_1G, "taskmanager.resource-id": host, **(config or {})}
    return {"config": config, "config_file": f"/srv/{host}/conf/config.yaml", "checksum": "c" + host,
            "processes": ["taskmanager"], "memory": {"taskmanager": compute(config, "taskmanager", "2.3.0")}, **extra}


def jm_gather(size="1g"):
    config = {"jobmanager.memory.process.size": size}
    return {"config": config, "config_file": "/srv/jm/conf/config.yaml", "checksum": "cjm",
            "processes": ["jobmanager"], "memory": {"jobmanager": compute(config, "jobmanager", "2.3.0")}}


def running(tm_id, config=None, port=40000):
    """A registered TaskManager as flink_cluster_info returns it, running what ``config`` gives."""
    sizes = compute({**TM_1G, **(config or {})}, "taskmanager", "2.3.0")["sizes"]
    return {"id": tm_id, "path": f"pekko.tcp://flink@127.0.0.1:{port}/user/rpc/taskmanager_0", "data_port": port + 1,
            "slots": 1, "memory": {k: sizes[k] for k in live.COMPONENTS}}


def cluster(*tms, jobs=(), used=1, jm_memory=True):
    out = {"url": "http://jm:8081", "taskmanagers": list(tms), "jobs": list(jobs),
           "slots_total": sum(t["slots"] for t in tms)}
    out["slots_available"] = out["slots_total"] - used
    if jm_memory:
        out["jobmanager"] = {"memory": live.jobmanager_memory(JM_CONFIG, JM_ENV)}
    return out


HOSTVARS = {h: {"flink_home": "/opt/flink", "flink_conf_dir": f"/srv/{h}/conf"} for h in ("tm1", "tm2", "tm3")}
TMS = ["tm1", "tm2", "tm3"]


def decide(gathers, snap, **kwargs):
    kwargs.setdefault("hostvars", HOSTVARS)
    kwargs.setdefault("tm_hosts", TMS)
    kwargs.setdefault("jm_hosts", ["jm"])
    return rollout.decide(gathers, snap, **kwargs)


# --- targets -------------------------------------------------------------------------------------------


def test_a_rerun_restarts_what_runs_other_memory_than_its_file_although_this_run_wrote_nothing():
    """Issue 14.2: the files were written by an earlier, failed run; enforce changes nothing now."""
    new = {"taskmanager.memory.managed.fraction": "0.3"}
    gathers = {"tm1": tm_gather("tm1", new), "tm2": tm_gather("tm2", new), "tm3": tm_gather("tm3", new),
               "jm": jm_gather()}
    snap = cluster(running("tm1", new, 40000), running("tm2", port=41000), running("tm3", port=42000))
    plan = decide(gathers, snap, changed=[])
    assert plan["targets"] == ["tm2", "tm3"]
    assert plan["reasons"]["tm2"].startswith("running memory differs from its file: ")
    assert "Managed Memory" in plan["reasons"]["tm2"]
    assert plan["batches"] == [["tm2"], ["tm3"]] and plan["refused"] == []
    assert plan["lines"][:2] == [f"1. tm2 (batch 1): {plan['reasons']['tm2']}",
                                 f"2. tm3 (batch 2): {plan['reasons']['tm3']}"]


def test_a_file_this_run_changed_is_a_target_even_when_the_memory_is_the_same():
    gathers = {h: tm_gather(h) for h in TMS}
    snap = cluster(*(running(h, port=40000 + 1000 * i) for i, h in enumerate(TMS)))
    plan = decide(gathers, snap, changed=["tm3"], batch_size=2)
    assert plan["targets"] == ["tm3"] and plan["reasons"] == {"tm3": "its file changes in this run"}
    assert decide(gathers, snap, changed=None)["targets"] == []
    assert decide(gathers, snap, requested=["tm3", "tm1"])["batches"] == [["tm3"], ["tm1"]]


def test_the_jobmanager_change_is_reported_pending_not_crashing_and_not_ok():
    """Issue 14.1/14.5: the JobManager's file says 1280m, it runs the 1g it started with."""
    gathers = {**{h: tm_gather(h) for h in TMS}, "jm": jm_gather("1280m")}
    snap = cluster(*(running(h, port=40000 + 1000 * i) for i, h in enumerate(TMS)))
    plan = decide(gathers, snap, changed=["jm"])
    assert plan["jobmanager"]["pending"] is True and plan["jobmanager"]["file_changed"] is True
    assert "JVM Heap 448 MiB running, 704 MiB from the file" in plan["jobmanager"]["reason"]
    assert plan["lines"][-1].startswith("JobManager jm: RESTART PENDING")
    result = rollout.outcome(plan["targets"], [], [], plan["jobmanager"], False, "")
    assert result["pending_restart"] == ["jm"] and "JobManager jm: restart pending" in result["summary"]
    # the same JobManager against a file that gives what it runs: nothing pending
    same = decide({**gathers, "jm": jm_gather("1g")}, snap)
    assert same["jobmanager"]["pending"] is False
    # ... unless this run changes its file (a dry run: the file still gives what it runs)
    dry = decide({**gathers, "jm": jm_gather("1g")}, snap, changed=["jm"])["jobmanager"]
    assert dry["pending"] is True and dry["reason"].startswith("its file changes in this run")
    assert rollout.outcome([], [], [], same["jobmanager"], False, "")["pending_restart"] == []


def test_refusals_name_the_host_and_what_is_missing():
    gathers = {"tm1": tm_gather("tm1"), "tm2": {"failed": True, "msg": "cannot read /srv/tm2/conf"},
               "tm3": tm_gather("tm3", {"taskmanager.memory.process.size": "100m"})}
    gathers["tm3"]["config"].pop("taskmanager.resource-id")
    snap = cluster(running("tm1"), running("10.0.0.5:35001-a96259", port=41000))
    plan = decide(gathers, snap, requested=["tm3", "tm9"])
    text = " | ".join(plan["refused"])
    assert "tm2: its file could not be read (cannot read /srv/tm2/conf)" in text
    assert "rolling_restart_hosts names hosts that are not TaskManagers of the inventory: tm9" in text
    assert "tm3: Flink would refuse to start it (/srv/tm3/conf/config.yaml:" in text
    assert "tm3: no TaskManager 'tm3' is registered" in text and "sets no taskmanager.resource-id" in text


def test_the_resource_id_rule_has_one_home():
    gather = tm_gather("tm1")
    assert live.resource_id("tm1", gather) == "tm1"
    gather["config"]["taskmanager.resource-id"] = "worker-7"
    assert live.resource_id("tm1", gather) == "worker-7"
    assert live.resource_id("tm1", gather, "override") == "override"
    for hidden in ("", "******"):
        gather["config"]["taskmanager.resource-id"] = hidden
        assert live.resource_id("tm1", gather) == "tm1"
    assert rollout.host_entry("tm1", {"rolling_restart_resource_id": "x"}, gather, {})["resource_id"] == "x"


# --- gate ----------------------------------------------------------------------------------------------


def test_the_gate_stops_for_a_taskmanager_outside_the_batch_that_died_or_restarted():
    start = cluster(running("tm1", port=40000), running("tm2", port=41000), running("tm3", port=42000))
    baseline = rollout.identities(start)
    assert rollout.gate(["tm2"], baseline, start) == {"ok": True, "reasons": [], "unchecked": []}
    dead = cluster(running("tm1", port=40000), running("tm2", port=41000))
    got = rollout.gate(["tm2"], baseline, dead)
    assert not got["ok"] and got["reasons"] == ["TaskManager tm3 (not in this batch) is no longer registered"]
    restarted = cluster(running("tm1", port=40000), running("tm2", port=41000), running("tm3", port=43000))
    got = rollout.gate(["tm2"], baseline, restarted)
    assert not got["ok"] and "tm3 (not in this batch) is another JVM than at the start" in got["reasons"][0]
    # the batch's own TaskManager may be anything: it is about to restart
    assert rollout.gate(["tm3"], baseline, restarted)["ok"]


HOST_START = {"tm1": "running pid=101 start=1010", "tm2": "running pid=102 start=1020",
              "tm3": "running pid=103 start=1030"}


def _host_gate(host_jvms, *, batch=("tm2",), host_baseline=None, snap=None, **kwargs):
    """The gate before ``batch`` on fixed ports: REST shows every TaskManager as it was at the start."""
    start = cluster(running("tm1", port=40000), running("tm2", port=41000), running("tm3", port=42000))
    return rollout.gate(list(batch), rollout.identities(start), snap or start, batch_hosts=list(batch),
                        host_baseline=HOST_START if host_baseline is None else host_baseline,
                        host_jvms=host_jvms, **kwargs)


def test_the_gate_stops_for_a_taskmanager_restarted_outside_the_batch_on_the_same_ports():
    """Fixed taskmanager.rpc.port / data.port: REST cannot tell the new JVM from the old; its host can."""
    same = {"tm1": HOST_START["tm1"], "tm3": HOST_START["tm3"]}
    assert _host_gate(same) == {"ok": True, "reasons": [], "unchecked": []}
    got = _host_gate({**same, "tm3": "running pid=777 start=5555\n"})
    assert not got["ok"]
    assert got["reasons"] == [
        "TaskManager tm3 (not in this batch) is another JVM than at the start, as its host says "
        "(pid 103 started 1030 then, pid 777 started 5555 now): it restarted outside the rollout; REST alone shows "
        "it unchanged (same resource id, RPC path and data port)"]
    # pid reused by the new JVM: the start time tells
    got = _host_gate({**same, "tm3": "running pid=103 start=9999"})
    assert not got["ok"] and "pid 103 started 1030 then, pid 103 started 9999 now" in got["reasons"][0]


def test_the_gate_stops_for_a_taskmanager_outside_the_batch_whose_host_runs_no_jvm_or_cannot_say():
    same = {"tm1": HOST_START["tm1"], "tm3": HOST_START["tm3"]}
    # killed, still listed by the JobManager until its heartbeats fail
    got = _host_gate({**same, "tm3": "stopped\n"})
    assert got["reasons"] == ["TaskManager tm3 (not in this batch) has no running JVM on its host now (it was pid 103 "
                              "started 1030): it stopped or died outside the rollout; the JobManager still lists it "
                              "(it drops a dead TaskManager only when its heartbeats fail)"]
    # the host could not be asked now (unreachable, or the check failed): not a guess either way, a stop
    got = _host_gate({**same, "tm3": None})
    assert got["reasons"] == ["TaskManager tm3 (not in this batch) could not be checked on its host (unreachable or "
                              "the check failed)"]
    # an answer that names no JVM and is not "stopped" is said as it is
    got = _host_gate({**same, "tm3": "flink_ctl.sh: FLINKOPS_HOME is not set"})
    assert got["reasons"] == ["TaskManager tm3 (not in this batch) could not be checked on its host: it named no JVM "
                              "(it said: flink_ctl.sh: FLINKOPS_HOME is not set)"]
    # not asked at all
    assert _host_gate({"tm1": HOST_START["tm1"]})["reasons"] == [
        "TaskManager tm3 (not in this batch) was not checked on its host"]


def test_a_host_that_named_no_jvm_at_the_start_is_judged_by_rest_and_said_so():
    start = {**HOST_START, "tm3": None, "tm1": "stopped"}
    got = _host_gate({"tm1": "running pid=5 start=5", "tm3": "running pid=6 start=6"}, host_baseline=start)
    assert got["ok"] and got["reasons"] == []
    assert got["unchecked"] == [
        "TaskManager tm1: its host named no running JVM at the start (it said: stopped); it is judged by REST alone",
        "TaskManager tm3: its host could not be asked at the start; it is judged by REST alone"]
    # ... and REST still judges it
    dead = cluster(running("tm1", port=40000), running("tm2", port=41000))
    got = _host_gate({"tm1": HOST_START["tm1"], "tm3": "running pid=6 start=6"}, host_baseline=start, snap=dead)
    assert got["reasons"] == ["TaskManager tm3 (not in this batch) is no longer registered"]


def test_the_gate_never_judges_the_batch_by_its_host_and_names_resource_ids():
    # tm2 is the batch: its host may say anything
    assert _host_gate({"tm1": HOST_START["tm1"], "tm3": HOST_START["tm3"], "tm2": "stopped"})["ok"]
    got = _host_gate({"tm2": HOST_START["tm2"], "tm3": HOST_START["tm3"]}, batch=("tm1",),
                     host_baseline={**HOST_START, "tm3": "running pid=103 start=1030"},
                     resource_ids={"tm3": "rid-3"})
    assert got["reasons"] == [] and got["ok"]
    got = _host_gate({"tm2": HOST_START["tm2"], "tm3": "stopped"}, batch=("tm1",), resource_ids={"tm3": "rid-3"})
    assert got["reasons"][0].startswith("TaskManager rid-3 on tm3 (not in this batch) has no running JVM on its host")


def test_what_the_gates_could_not_check_is_in_the_outcome_warnings():
    note = "TaskManager tm3: its host could not be asked at the start; it is judged by REST alone"
    got = rollout.outcome(["tm1"], ["tm1"], [], {"host": None, "pending": False}, False, "", notes=[note])
    assert got["warnings"] == [note]
    assert rollout.outcome(["tm1"], ["tm1"], [], {"host": None, "pending": False}, False, "")["warnings"] == []


def test_host_words_take_what_each_host_printed_and_none_where_it_could_not_say():
    results = [{"_rolling_restart_host": "tm1", "stdout": "running pid=1 start=2\r\n", "rc": 0},
               {"_rolling_restart_host": "tm2", "failed": True, "stdout": "", "rc": 2, "stderr": "no home"},
               {"_rolling_restart_host": "tm3", "unreachable": True, "msg": "ssh: connect refused"},
               {"_rolling_restart_host": "tm4", "skipped": True}]
    assert rollout.host_words(results) == {"tm1": "running pid=1 start=2\r\n", "tm2": None, "tm3": None, "tm4": None}
    assert rollout.host_words(None) == {}


def test_the_gate_stops_when_the_jobs_would_not_fit_without_the_batch():
    start = cluster(running("tm1", port=40000), running("tm2", port=41000), running("tm3", port=42000), used=2)
    baseline = rollout.identities(start)
    assert rollout.gate(["tm1"], baseline, start)["ok"]
    got = rollout.gate(["tm1", "tm2"], baseline, start)
    assert got["reasons"] == ["the running jobs hold 2 slots, only 1 would be left while tm1, tm2 are down"]


# --- blame ---------------------------------------------------------------------------------------------

JOB = {"id": "j1", "name": "tick", "checkpoint": {"id": 7, "external_path": "file:/ckpt/j1/chk-7"}}


def _info(*hosts):
    return {h: rollout.host_entry(h, HOSTVARS[h], tm_gather(h), {}) for h in hosts}


def test_a_jobmanager_that_went_away_is_blamed_and_the_healthy_taskmanager_not_rolled_back():
    """Issue 14.4: the JobManager was killed during tm2's batch and came back without the job."""
    checks = {"tm2": {"registered": True, "matches": True}}
    waits = [{"rest_failures": []},
             {"rest_failures": ["http://jm:8081/overview: cannot connect (Connection refused)"]},
             {"failed": True}]
    now = cluster(running("tm1"), running("tm2", port=41000), jobs=[])
    got = rollout.blame(["tm2"], _info("tm2"), step="Wait until the jobs run again", error="job j1 is gone",
                        checks=checks, waits=waits, jobs=[JOB], cluster_now=now)
    assert got["rollback"] == [] and got["healthy"] == ["tm2"]
    assert got["jobmanager"].startswith("the JobManager became unreachable during the batch (http://jm:8081/overview")
    assert "job tick (j1) that was RUNNING is gone; its last completed checkpoint: file:/ckpt/j1/chk-7" in got["reason"]
    # without the unreachable sample, every job gone at once still says the JobManager restarted
    got = rollout.blame(["tm2"], _info("tm2"), step="s", error="e", checks=checks, waits=[], jobs=[JOB],
                        cluster_now=now)
    assert got["jobmanager"].startswith("the JobManager restarted during the batch")


def test_a_taskmanager_not_registered_with_its_files_memory_is_rolled_back():
    checks = {"tm1": {"registered": False, "matches": None}, "tm2": {"registered": True, "matches": False},
              "tm3": {"registered": True, "matches": True}}
    now = cluster(running("tm2"), running("tm3"), jobs=[{"id": "j1", "state": "RUNNING"}])
    got = rollout.blame(["tm1", "tm2", "tm3"], _info("tm1", "tm2", "tm3"), step="Wait until registered",
                        error="timeout", checks=checks, waits=[{}], jobs=[JOB], cluster_now=now)
    assert got["rollback"] == ["tm1", "tm2"] and got["jobmanager"] is None and got["lost_jobs"] == []
    # the JobManager cannot be read now: nothing is rolled back blind
    got = rollout.blame(["tm1"], _info("tm1"), step="s", error="e", checks=None, waits=[], jobs=[JOB],
                        cluster_now=None)
    assert got["rollback"] == [] and got["jobmanager"] == "the JobManager cannot be read now"


# --- arguments and REST details -----------------------------------------------------------------------


def test_the_arguments_are_checked_at_once_and_say_what_is_missing():
    problems = rollout.check_arguments({"rolling_restart_batch_size": 0, "rolling_restart_register_timeout": "x"})
    assert problems[0].startswith("rolling_restart_rest_url is not set")
    assert "rolling_restart_batch_size must be a whole number of at least 1, got 0" in problems
    assert "rolling_restart_register_timeout must be a whole number of at least 1, got 'x'" in problems
    bad = rollout.check_arguments({"rolling_restart_rest_url": "ftp://admin:s3cr3t@jm:21"})
    assert len(bad) == 1 and "s3cr3t" not in bad[0] and "***@" in bad[0]
    assert rollout.check_arguments({"rolling_restart_rest_url": "http://jm:8081", "rolling_restart_batch_size": 2,
                                    "rolling_restart_wait_for_checkpoint": True}) == []


def test_basic_auth_from_the_url_or_options_and_never_in_the_address():
    url = "http://admin:p%40ss@jm.example.com:8081/"
    assert live.normalize_url(url) == "http://jm.example.com:8081"
    header = live.auth_headers(url)["Authorization"]
    assert base64.b64decode(header.split()[1]) == b"admin:p@ss"
    header = live.auth_headers("http://jm:8081", "ops", "pw")["Authorization"]
    assert base64.b64decode(header.split()[1]) == b"ops:pw"
    assert live.auth_headers("http://jm:8081") == {}


def test_the_running_jobmanager_memory_matches_its_model_to_the_byte():
    memory = live.jobmanager_memory(JM_CONFIG, JM_ENV)
    model = compute({"jobmanager.memory.process.size": "1g"}, "jobmanager", "2.3.0")
    assert memory["sizes"] == model["sizes"] and memory["jvm"] == model["jvm"]
    assert live.jobmanager_differences({"memory": memory}, model) == []
    bigger = compute({"jobmanager.memory.process.size": "1280m"}, "jobmanager", "2.3.0")
    diffs = {d["component"] for d in live.jobmanager_differences({"memory": memory}, bigger)}
    assert {"heap", "total_flink", "total_process", "jvm.heap"} <= diffs


@pytest.mark.parametrize(("mtime", "code"), [(200, "live-restart-pending"), (50, "live-memory-mismatch"),
                                             (None, "live-memory-differs")])
def test_the_live_audit_covers_the_jobmanager(mtime, code):
    result = jm_gather("1280m")
    result["live_probe"] = {"now": 300, "mtime": mtime, "processes": [], "jobmanagers": [{"pid": 9, "started": 100}]}
    findings = live.live_findings({"jm": result, "tm1": tm_gather("tm1")}, cluster(running("tm1")))
    assert [f["code"] for f in findings["jm"]] == [code]
    assert findings["jm"][0]["process"] == "jobmanager" and "JVM Heap 448 MiB running" in findings["jm"][0]["message"]
    same = {**jm_gather("1g"), "live_probe": result["live_probe"]}
    assert live.live_findings({"jm": same, "tm1": tm_gather("tm1")}, cluster(running("tm1"))) == {}


def test_preflight_names_every_job_that_is_not_running():
    gathers = {h: tm_gather(h) for h in TMS}
    snap = cluster(*(running(h, port=40000 + 1000 * i) for i, h in enumerate(TMS)),
                   jobs=[{"id": "j1", "name": "a", "state": "RESTARTING", "tasks_running": 0, "tasks_total": 1},
                         {"id": "j2", "name": "b", "state": "RUNNING", "tasks_running": 1, "tasks_total": 2},
                         {"id": "j3", "name": "c", "state": "FINISHED"},
                         {"id": "j4", "name": "d", "state": "RUNNING", "tasks_running": 1, "tasks_total": 1}])
    problems = rollout.preflight(decide(gathers, snap), snap)
    assert problems == ["job a (j1) is RESTARTING, not RUNNING: wait until it runs (or cancel it) before a rollout",
                        "job b (j2) runs 1 of its 2 tasks"]


def test_a_wait_lists_rest_failures_under_a_key_ansible_does_not_take_for_an_unreachable_host():
    """A result key 'unreachable' makes Ansible mark the host unreachable and end its play (seen in e2e)."""
    got = live.wait("http://127.0.0.1:1", {"min_slots": 1}, timeout=0, request_timeout=2)
    assert "unreachable" not in got and got["rest_failures"][0].startswith("http://127.0.0.1:1/overview: ")
