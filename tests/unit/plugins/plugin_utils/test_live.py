"""plugin_utils/live.py: REST shapes, waiting, the live audit's findings, and the host probe (real sh).

The REST answers below are trimmed copies of what a real Flink 2.3.0 JobManager answered in the
end-to-end test (tests/e2e), where the same code runs against the real cluster. HTTP errors are
served by a real local HTTP server; the probe runs in a real ``sh`` against real processes.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import host_awks  # beside this file
import pytest

from ansible_collections.flinkops.flink.plugins.module_utils import live_probe
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.plugin_utils import gather_protocol, gather_result, live

# What Flink 2.3.0 reported for a TaskManager of taskmanager.memory.process.size: 1g, 2 slots.
REST_TM = {
    "id": "tm1", "path": "pekko.tcp://flink@127.0.0.1:40627/user/rpc/taskmanager_0", "dataPort": 45343,
    "jmxPort": -1, "timeSinceLastHeartbeat": 1795752592853, "slotsNumber": 2, "freeSlots": 1, "assignedTasks": 1,
    "hardware": {"cpuCores": 2, "physicalMemory": 25276514304, "freeMemory": 161480704, "managedMemory": 241591914},
    "memoryConfiguration": {
        "frameworkHeap": 134217728, "taskHeap": 26843542, "frameworkOffHeap": 134217728, "taskOffHeap": 0,
        "networkMemory": 67108864, "managedMemory": 241591914, "jvmMetaspace": 268435456,
        "jvmOverhead": 201326592, "totalFlinkMemory": 603979776, "totalProcessMemory": 1073741824},
}
CONFIG = {"taskmanager.memory.process.size": "1g", "taskmanager.numberOfTaskSlots": "2"}


def tm(tm_id="tm1", **changes):
    data = json.loads(json.dumps(REST_TM))
    data["id"] = tm_id
    for key, value in changes.items():
        if key in data["memoryConfiguration"]:
            data["memoryConfiguration"][key] = value
        else:
            data[key] = value
    return live.normalize_taskmanager(data)


def snap(*tms, jobs=(), slots_total=None):
    return {"url": "http://jm:8081", "flink_version": "2.3.0", "taskmanagers": list(tms), "jobs": list(jobs),
            "slots_total": sum(t["slots"] for t in tms) if slots_total is None else slots_total}


def model(config=None):
    return compute(config or CONFIG, "taskmanager", "2.3.0")


def result(config=None, processes=("taskmanager",), path="/opt/flink/conf/config.yaml"):
    config = config or CONFIG
    return {"config": dict(config), "config_file": path, "processes": list(processes),
            "memory": {p: compute(config, p, "2.3.0") for p in processes}, "flink_version": "2.3.0"}


# --- shapes ------------------------------------------------------------------------------------------


def test_rest_memory_names_are_the_models_and_flink_agrees_to_the_byte():
    normalized = tm()
    assert normalized["memory"] == {k: model()["sizes"][k] for k in live.COMPONENTS}
    assert normalized["address"] == "127.0.0.1:40627" and normalized["slots"] == 2
    assert live.compare_expected(normalized, model()) == []


@pytest.mark.parametrize("url", ["", "jm:8081", "ftp://jm:21", None, "http://"])
def test_normalize_url_refuses_what_is_not_an_http_address(url):
    with pytest.raises(live.LiveError, match="url"):
        live.normalize_url(url)


def test_normalize_url_strips_the_trailing_slash():
    assert live.normalize_url(" http://jm:8081/ ") == "http://jm:8081"


# --- conditions --------------------------------------------------------------------------------------


def test_registered_waits_for_the_slots_report():
    unmet, fatal = live.check_conditions(snap(tm(slotsNumber=0)), {"registered": ["tm1"]})
    assert unmet == ["TaskManager tm1 is registered but has not reported its slots yet"] and fatal == []
    # Not a memory difference either: the slot report is still on its way.
    unmet, fatal = live.check_conditions(snap(tm(slotsNumber=0)), {"expect": {"tm1": model()}})
    assert fatal == [] and len(unmet) == 1
    assert live.check_conditions(snap(tm()), {"registered": ["tm1"], "expect": {"tm1": model()}}) == ([], [])


def test_memory_that_differs_fails_at_once_naming_the_component():
    other = model({**CONFIG, "taskmanager.memory.managed.fraction": "0.3"})
    unmet, fatal = live.check_conditions(snap(tm()), {"expect": {"tm1": other}})
    assert unmet == [] and len(fatal) == 1
    assert "tm1 runs with memory its file does not give" in fatal[0] and "Managed Memory" in fatal[0]
    checks = live.taskmanager_checks(snap(tm()), {"expect": {"tm1": other}})
    assert checks["tm1"]["registered"] and checks["tm1"]["matches"] is False
    assert {d["component"] for d in checks["tm1"]["differences"]} >= {"managed", "task_heap"}


def test_slots_that_differ_fail():
    unmet, fatal = live.check_conditions(snap(tm(slotsNumber=4)), {"expect": {"tm1": model()}})
    assert "Task slots 4 running, 2 from the file" in fatal[0]


def test_absent_missing_and_min_slots():
    state = snap(tm("tm1"), tm("tm2"))
    assert live.check_conditions(state, {"absent": ["tm2"]})[0] == ["TaskManager tm2 is still registered"]
    assert live.check_conditions(state, {"registered": ["tm3"]})[0] == ["TaskManager tm3 is not registered"]
    assert live.check_conditions(state, {"min_slots": 4}) == ([], [])
    assert live.check_conditions(state, {"min_slots": 5})[0] == ["the cluster has 4 slots, expected at least 5"]


def test_jobs_running_and_failed():
    running = {"id": "j1", "name": "tick", "state": "RUNNING", "tasks_total": 2, "tasks_running": 2}
    restarting = dict(running, state="RESTARTING", tasks_running=0)
    failed = dict(running, state="FAILED")
    assert live.check_conditions(snap(tm(), jobs=[running]), {"jobs_running": ["j1"]}) == ([], [])
    unmet, fatal = live.check_conditions(snap(tm(), jobs=[restarting]), {"jobs_running": True})
    assert unmet == ["job tick (j1) is RESTARTING with 0 of 2 tasks running"] and not fatal
    assert live.check_conditions(snap(tm(), jobs=[failed]), {"jobs_running": ["j1"]})[1] == ["job tick (j1) is FAILED"]
    assert live.check_conditions(snap(tm(), jobs=[]), {"jobs_running": ["j1"]})[1] == \
        ["job j1 is gone from the JobManager"]
    # true: only jobs not finished count.
    assert live.check_conditions(snap(tm(), jobs=[dict(running, state="FINISHED")]), {"jobs_running": True}) == \
        ([], [])


@pytest.mark.parametrize(("conditions", "message"), [
    ({"registred": ["tm1"]}, "unknown key"),
    ({"registered": "tm1"}, "must be a list"),
    ({"expect": ["tm1"]}, "must map TaskManager ids"),
    ({"min_slots": "many"}, "must be a number"),
    ({"jobs_running": "yes"}, "must be true"),
    (["tm1"], "must be a mapping"),
])
def test_bad_conditions_are_refused_with_the_accepted_form(conditions, message):
    with pytest.raises(live.LiveError, match=message):
        live.validate_conditions(conditions)


# --- the HTTP side, against a real local server ----------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802 -- http.server's name
        status, body = self.routes.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}", _Handler.routes
    srv.shutdown()
    _Handler.routes = {}


def test_snapshot_reads_the_three_endpoints(server):
    url, routes = server
    routes.update({
        "/overview": (200, json.dumps({"taskmanagers": 1, "slots-total": 2, "slots-available": 1,
                                       "flink-version": "2.3.0"}).encode()),
        "/taskmanagers": (200, json.dumps({"taskmanagers": [REST_TM]}).encode()),
        "/jobs/overview": (200, json.dumps({"jobs": [{"jid": "j1", "name": "tick", "state": "RUNNING",
                                                      "tasks": {"total": 1, "running": 1}}]}).encode()),
    })
    got = live.snapshot(url)
    assert got["slots_total"] == 2 and got["flink_version"] == "2.3.0"
    assert got["taskmanagers"][0]["memory"]["total_process"] == 1 << 30
    assert got["jobs"] == [{"id": "j1", "name": "tick", "state": "RUNNING", "tasks_total": 1, "tasks_running": 1,
                            "start_time": None}]


def test_http_errors_name_the_address(server):
    url, routes = server
    routes["/overview"] = (200, b"<html>not flink</html>")
    with pytest.raises(live.LiveError, match=r"/overview: the answer is not JSON"):
        live.snapshot(url)
    routes["/overview"] = (503, b"")
    with pytest.raises(live.LiveError, match=r"/overview: HTTP 503"):
        live.snapshot(url)


def test_wait_gives_up_after_the_timeout_and_says_what_is_missing():
    # Nothing listens there: unreachable counts as not yet, until the timeout.
    clock = iter([0.0, 0.5, 1.2, 2.5])
    out = live.wait("http://127.0.0.1:9", {"registered": ["tm1"]}, timeout=2, interval=0.1,
                    request_timeout=1, clock=lambda: next(clock), sleep=lambda s: None)
    assert out["ok"] is False and out["fatal"] == []
    assert "cannot connect" in out["unmet"][0] and out["waited"] == 2.5


# --- the live audit ----------------------------------------------------------------------------------


def with_probes(results, probes):
    """The results as the gather returns them with live: true (the probe inside each host's result)."""
    return {h: dict(r, live_probe=probes[h]) if h in probes else r for h, r in results.items()}


def test_live_findings_tell_the_cases_apart():
    newer = {**CONFIG, "taskmanager.memory.managed.fraction": "0.3"}
    results = {
        "tm1": result(),                         # runs what its file gives
        "tm2": result(newer),                    # file changed after start
        "tm3": result(newer),                    # runs other memory; file older than the process
        "tm4": result(newer),                    # differs; process not found on the host
        "tm5": result(),                         # not registered
        "jm": result({"jobmanager.memory.process.size": "1g"}, ("jobmanager",)),
    }
    cluster = snap(tm("tm1"), tm("tm2"), tm("tm3"), tm("tm4"), tm("10.0.0.9:4000-abc"))
    probes = {
        "tm2": {"now": 200, "mtime": 150, "processes": [{"pid": 7, "started": 100}]},
        "tm3": {"now": 200, "mtime": 50, "processes": [{"pid": 8, "started": 100}]},
        "tm4": {"now": 200, "mtime": 50, "processes": []},
        "tm1": {"now": 200, "mtime": 150, "processes": [{"pid": 9, "started": 100}]},
    }
    found = {h: [(f["severity"], f["code"]) for f in items]
             for h, items in live.live_findings(with_probes(results, probes), cluster).items()}
    assert found == {
        "tm1": [("info", "live-file-changed")],
        "tm2": [("warning", "live-restart-pending")],
        "tm3": [("warning", "live-memory-mismatch")],
        "tm4": [("warning", "live-memory-differs")],
        "tm5": [("warning", "live-not-registered")],
        "jm": [("info", "live-unknown-taskmanagers")],
    }


def test_resource_id_from_the_file_wins_over_the_hostname():
    results = {"host-a": result({**CONFIG, "taskmanager.resource-id": "tm1"})}
    assert live.live_findings(results, snap(tm("tm1"))) == {}
    assert live.resource_id("host-b", result()) == "host-b"


def test_live_audit_reports_an_unreachable_jobmanager_on_the_jobmanager_host():
    results = {"tm1": result(), "jm": result({"jobmanager.memory.process.size": "1g"}, ("jobmanager",))}
    findings, section = live.live_audit(results, {"failed": True, "url": "http://jm:8081", "msg": "refused"})
    assert section["ok"] is False and section["msg"] == "refused"
    assert [f["code"] for f in findings["jm"]] == ["live-unreachable"]
    assert live.live_audit(results, None) == ({}, None)


def test_live_audit_uses_the_gathers_probe():
    results = {"tm2": result({**CONFIG, "taskmanager.memory.managed.fraction": "0.3"})}
    probes = {"tm2": {"now": 200, "mtime": 150, "processes": [{"pid": 7, "started": 100}]}}
    findings, section = live.live_audit(with_probes(results, probes), snap(tm("tm2")))
    assert [f["code"] for f in findings["tm2"]] == ["live-restart-pending"]
    assert section["taskmanagers"][0]["host"] == "tm2"


def test_parse_live_ignores_noise_and_other_files():
    text = "banner\nnow 5\nmtime flink-conf.yaml 3\nmtime config.yaml \ntm x 3\ntm 4 9\njm 7 8\njm y 1\n"
    assert live_probe.parse_live(text, "config.yaml") == {"now": 5, "mtime": None,
                                                          "processes": [{"pid": 4, "started": 9}],
                                                          "jobmanagers": [{"pid": 7, "started": 8}]}
    assert live_probe.parse_live(text, "flink-conf.yaml")["mtime"] == 3


# --- the probe, inside the real gather command in a real sh against real processes -------------------


def _probe(conf_dir, processes=("taskmanager",), live=True, env=None):
    """The gather's result for conf_dir (Flink 2.3 given), the command run by a real sh. (Run as Ansible runs
    it, with its appended "&& sleep 0", in tests/unit/plugins/action: this file runs without Ansible.)"""
    script = gather_protocol.build_script(None, str(conf_dir), 1 << 20, live=live)
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=60, check=True, env=env)
    assert proc.stderr == ""
    got = gather_protocol.interpret(gather_protocol.parse_frames(proc.stdout))
    return gather_result.build_result(got, "h1", flink_home=None, conf_dir=str(conf_dir), flink_version="2.3.0",
                               processes=list(processes), max_file_size=1 << 20)[0]


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="the probe reads Linux /proc")
@pytest.mark.parametrize("awk", list(host_awks.AWKS))
def test_probe_finds_the_taskmanager_of_this_conf_dir_and_its_start(tmp_path, awk):
    (tools := tmp_path / "tools").mkdir()
    (tools / "awk").symlink_to(host_awks.path(awk))
    env = dict(os.environ, PATH=f"{tools}:{os.environ['PATH']}")
    conf, other = tmp_path / "conf", tmp_path / "other"
    conf.mkdir()
    other.mkdir()
    (tmp_path / "link").symlink_to(conf)
    config = conf / "config.yaml"
    config.write_text("taskmanager.memory.process.size: 1g\n")
    os.utime(config, (1_000_000_000, 1_000_000_000))
    (other / "config.yaml").write_text("taskmanager.memory.process.size: 1g\n")
    # Processes whose command lines look like a TaskManager's (the class, then --configDir <dir>).
    procs = [subprocess.Popen(["sh", "-c", "sleep 30; :", "org.apache.flink.runtime.taskexecutor.TaskManagerRunner",
                               "--configDir", str(d)]) for d in (tmp_path / "link", other)]
    try:
        time.sleep(0.2)
        got = _probe(conf, env=env)["live_probe"]
        assert got["mtime"] == 1_000_000_000 and abs(got["now"] - time.time()) < 5
        assert [p["pid"] for p in got["processes"]] == [procs[0].pid]  # symlinked conf dir matched, other not
        assert abs(got["processes"][0]["started"] - time.time()) < 5
        assert [p["pid"] for p in _probe(other, env=env)["live_probe"]["processes"]] == [procs[1].pid]
        empty = tmp_path / "empty"
        empty.mkdir()
        (empty / "config.yaml").write_text("taskmanager.memory.process.size: 1g\n")
        assert _probe(empty, env=env)["live_probe"]["processes"] == []
        assert "live_probe" not in _probe(conf, live=False)
    finally:
        for p in procs:
            p.kill()
            p.wait()


# --- the live audit in the report ----------------------------------------------------------------------


def test_report_carries_the_live_section_and_names_live_checks():
    from ansible_collections.flinkops.flink.plugins.plugin_utils import report as rp

    newer = {**CONFIG, "taskmanager.memory.managed.fraction": "0.3"}
    results = {"tm1": result(), "tm2": result(newer)}
    cluster = snap(tm("tm1"), tm("tm2"), tm("stray"))
    probes = {"tm2": {"now": 200, "mtime": 150, "processes": [{"pid": 7, "started": 100}]}}
    results = with_probes(results, probes)
    findings, section = live.live_audit(results, cluster)
    built = rp.build_report(results, findings, None, fail_on="warning", live=section)
    assert built["live"]["taskmanagers"][2] == {"id": "stray", "host": None, "slots": 2,
                                                "memory": tm("stray")["memory"]}
    assert built["gate"]["failed"] and "tm2" in built["gate"]["reason"]
    markdown = rp.render_markdown(built)
    assert "Live cluster at http://jm:8081 (Flink 2.3.0): 3 TaskManagers, 6 slots" in markdown
    assert "not in the inventory: stray" in markdown and "live-restart-pending" in markdown
    junit = rp.render_junit(built)
    assert 'name="live.live-restart-pending"><failure' in junit
    assert "lint.live-" not in junit
    html = rp.render_html(built)
    assert "Live cluster at http://jm:8081" in html
    # Without the live audit the report says nothing about it.
    plain = rp.build_report(results)
    assert plain["live"] is None and "Live cluster" not in rp.render_markdown(plain)
