"""plugins/plugin_utils/savepoint.py: the savepoint mode's decisions (JobManager restart without HA).

The REST answers below are shaped as Flink 2.3.0 gave them on loopback (stop-with-savepoint status, the
failure of an unwritable target directory, /jobs/<id>/config, /jobs/<id>/checkpoints after a restore).
"""

from __future__ import annotations

import pytest

from ansible_collections.flinkops.flink.plugins.filter.savepoint_decision import savepoint_decision
from ansible_collections.flinkops.flink.plugins.plugin_utils import savepoint

JOB = {"id": "0a3af600fb364ed71f73f3b62da4848d", "name": "orders", "state": "RUNNING", "tasks_total": 2,
       "tasks_running": 2}
CONFIG = {"jid": JOB["id"], "name": "orders", "execution-config": {
    "restart-strategy": "Restart with fixed delay (PT1S). #1000 restart attempts.", "job-parallelism": 3,
    "object-reuse-mode": False, "user-config": {}}}
DETAILS = {"jid": JOB["id"], "name": "orders", "state": "RUNNING", "job-type": "STREAMING", "maxParallelism": 128}
FILE = {"state.savepoints.dir": "file:///data/savepoints", "web.upload.dir": "/data/upload"}
JARS = [{"id": "77e543bb-3ab9-4bdf-8214-ea7a05e3c449_orders.jar", "name": "orders.jar", "uploaded": 1796198290202,
         "entry": [{"name": "Orders", "description": None}]}]
FAILURE = {"status": {"id": "COMPLETED"}, "operation": {"failure-cause": {
    "class": "java.util.concurrent.CompletionException",
    "stack-trace": "java.util.concurrent.CompletionException: org.apache.flink.runtime.checkpoint.CheckpointException: "
                   "An Exception occurred while triggering the checkpoint. IO-problem detected.\n\tat java.base/x\n"
                   "Caused by: org.apache.flink.runtime.checkpoint.CheckpointException: An Exception occurred while "
                   "triggering the checkpoint. IO-problem detected.\n\tat y\n"
                   "Caused by: java.io.IOException: Failed to create savepoint directory at file:/data/afile/x\n"
                   "\tat z\n"
                   "Caused by: java.nio.file.FileAlreadyExistsException: /data/afile\n\tat w\n"}}}


def preflight(**overrides):
    args = {"jobs": [JOB], "configs": {JOB["id"]: CONFIG}, "details": {JOB["id"]: DETAILS},
            "job_jars": {"orders": {"jar": "/srv/orders.jar", "args": ["--topic", "orders"]}}, "savepoint_dir": "",
            "file_config": FILE, "jars": JARS, "controller_files": {"/srv/orders.jar": True},
            "savepoint_timeout": 300, "taskmanagers_after": "restart"}
    args.update(overrides)
    return savepoint.preflight(**args)


# --- pre-flight -------------------------------------------------------------------------------------------


def test_preflight_records_what_each_job_is_resubmitted_with():
    decided = preflight()
    assert decided["problems"] == []
    assert decided["savepoint_dir"] == "file:///data/savepoints"
    assert decided["upload_dir"] == "/data/upload"
    assert decided["jobs"] == [{"id": JOB["id"], "name": "orders", "parallelism": 3, "max_parallelism": 128,
                                "jar": "/srv/orders.jar", "entry_class": None, "args": ["--topic", "orders"]}]


def test_the_savepoint_directory_is_the_variable_else_the_file_else_refused():
    assert preflight(savepoint_dir="s3://bucket/sp")["savepoint_dir"] == "s3://bucket/sp"
    assert preflight(file_config={"execution.checkpointing.savepoint-dir": "file:///new",
                                  "state.savepoints.dir": "file:///old"})["savepoint_dir"] == "file:///new"
    decided = preflight(file_config={}, controller_files={"/srv/orders.jar": True})
    assert decided["savepoint_dir"] is None
    assert any(p.startswith("no savepoint directory: set rolling_restart_savepoint_dir") for p in decided["problems"])
    assert any("is relative" in p for p in preflight(savepoint_dir="savepoints")["problems"])


def test_a_job_without_a_jar_entry_is_refused_naming_it_and_why():
    problems = preflight(job_jars={})["problems"]
    assert len(problems) == 1
    assert problems[0].startswith(f"job orders ({JOB['id']}) has no entry in rolling_restart_job_jars")
    assert "does not tell which jar, entry class and arguments" in problems[0]


def test_the_jar_must_be_on_the_controller_or_kept_in_web_upload_dir():
    # not on the controller, but kept in web.upload.dir under the same file name: fine
    assert preflight(controller_files={})["problems"] == []
    # not on the controller, and the JobManager's file sets no web.upload.dir: uploaded jars are lost at restart
    problems = preflight(controller_files={}, file_config={"state.savepoints.dir": "file:///sp"})["problems"]
    assert problems == [f"job orders ({JOB['id']}): its jar /srv/orders.jar is not a readable file on the controller, "
                        "and web.upload.dir is not set in the JobManager's file, so uploaded jars do not survive its "
                        "restart"]
    problems = preflight(controller_files={}, jars=[])["problems"]
    assert problems[0].endswith("no jar named 'orders.jar' is uploaded to the JobManager")


def test_bad_settings_are_each_named():
    problems = preflight(savepoint_timeout=0, taskmanagers_after="wait",
                         job_jars={"orders": {"jar": "/srv/orders.jar", "args": 5}})["problems"]
    assert "rolling_restart_savepoint_timeout must be a positive number of seconds, got 0" in problems
    assert "rolling_restart_taskmanagers_after_jobmanager must be one of restart, reconnect, got 'wait'" in problems
    assert "rolling_restart_job_jars['orders'].args must be a list of program arguments" in problems
    assert preflight(job_jars={"orders": {"jar": "/x.jar", "main": "X"}})["problems"] == [
        "rolling_restart_job_jars['orders'] has unknown key(s) main; accepted: jar, entry_class, args, parallelism"]


def test_a_batch_job_is_refused_and_finished_jobs_are_not_carried():
    finished = {**JOB, "id": "f" * 32, "state": "FINISHED"}
    decided = preflight(jobs=[JOB, finished], details={JOB["id"]: {**DETAILS, "job-type": "BATCH"}})
    assert decided["problems"] == [f"job orders ({JOB['id']}) is a batch job: it cannot stop with a savepoint; "
                                   "let it finish first"]
    assert decided["jobs"] == []


def test_jar_spec_forms():
    assert savepoint.jar_spec("j", "/a/b.jar") == (
        {"jar": "/a/b.jar", "entry_class": None, "args": [], "parallelism": None}, None)
    spec, problem = savepoint.jar_spec("j", {"jar": "/a/b.jar", "entry_class": "com.X", "args": "--a 'b c'",
                                             "parallelism": 4})
    assert problem is None
    assert spec == {"jar": "/a/b.jar", "entry_class": "com.X", "args": ["--a", "b c"], "parallelism": 4}
    assert savepoint.jar_spec("j", {"jar": "/a.jar", "parallelism": 0})[1].endswith("at least 1")
    assert savepoint.jar_spec("j", 7)[1].startswith("rolling_restart_job_jars['j'] must be a jar path")


def test_the_users_parallelism_wins_over_the_jobs_own():
    decided = preflight(job_jars={"orders": {"jar": "/srv/orders.jar", "parallelism": 5}})
    assert decided["jobs"][0]["parallelism"] == 5
    no_own = {**CONFIG, "execution-config": {"job-parallelism": -1}}
    assert preflight(configs={JOB["id"]: no_own})["jobs"][0]["parallelism"] is None


# --- stop with a savepoint ------------------------------------------------------------------------------------


def test_stop_request_takes_a_savepoint_without_drain():
    assert savepoint.stop_request("file:///sp") == {"drain": False, "targetDirectory": "file:///sp"}
    with pytest.raises(savepoint.SavepointError):
        savepoint.stop_request("")


def test_savepoint_status_pending_done_failed():
    assert savepoint.savepoint_status({"status": {"id": "IN_PROGRESS"}})["state"] == "pending"
    done = savepoint.savepoint_status({"status": {"id": "COMPLETED"},
                                       "operation": {"location": "file:/sp/savepoint-0a3af6-11066d7db439"}})
    assert done == {"state": "done", "location": "file:/sp/savepoint-0a3af6-11066d7db439", "error": None}
    failed = savepoint.savepoint_status(FAILURE)
    assert failed["state"] == "failed"
    assert failed["error"] == ("java.nio.file.FileAlreadyExistsException: /data/afile <- java.io.IOException: Failed "
                               "to create savepoint directory at file:/data/afile/x <- org.apache.flink.runtime."
                               "checkpoint.CheckpointException: An Exception occurred while triggering the checkpoint. "
                               "IO-problem detected.")
    assert savepoint.savepoint_status({"status": {"id": "COMPLETED"}, "operation": {}})["state"] == "failed"
    assert savepoint.savepoint_status("nonsense")["state"] == "failed"


# --- resubmit ---------------------------------------------------------------------------------------------------


RECORD = {"id": JOB["id"], "name": "orders", "parallelism": 3, "jar": "/srv/orders.jar", "entry_class": None,
          "args": ["--topic", "orders"], "savepoint": "file:/sp/savepoint-0a3af6-11066d7db439"}


def test_the_jar_kept_in_web_upload_dir_is_used_else_the_controllers_is_uploaded():
    assert savepoint.choose_jar(RECORD, JARS, "/data/upload") == {"source": "uploaded", "id": JARS[0]["id"],
                                                                  "path": None}
    newer = {**JARS[0], "id": "new_orders.jar", "uploaded": JARS[0]["uploaded"] + 1}
    assert savepoint.choose_jar(RECORD, [JARS[0], newer], "/data/upload")["id"] == "new_orders.jar"
    assert savepoint.choose_jar(RECORD, JARS, None) == {"source": "controller", "id": None, "path": "/srv/orders.jar"}
    assert savepoint.choose_jar(RECORD, [], "/data/upload")["source"] == "controller"


def test_run_request_restores_from_the_savepoint_with_the_jobs_settings():
    assert savepoint.run_request(RECORD, RECORD["savepoint"]) == {
        "savepointPath": RECORD["savepoint"], "allowNonRestoredState": False,
        "programArgsList": ["--topic", "orders"], "parallelism": 3}
    bare = {**RECORD, "args": [], "parallelism": None, "entry_class": "com.Orders"}
    assert savepoint.run_request(bare, "s") == {"savepointPath": "s", "allowNonRestoredState": False,
                                                "entryClass": "com.Orders"}
    with pytest.raises(savepoint.SavepointError, match="orders: no savepoint"):
        savepoint.run_request(RECORD, None)


def checkpoints(restored):
    return {"counts": {"restored": 1}, "latest": {"completed": None, "savepoint": None, "failed": None,
                                                  "restored": restored}}


def test_restore_status_from_the_checkpoint_statistics():
    sp = "file:/sp/savepoint-0a3af6-11066d7db439"
    assert savepoint.restore_status(checkpoints(None), sp)["restored"] is None
    ok = savepoint.restore_status(checkpoints({"id": 46, "is_savepoint": True, "external_path": sp}), sp)
    assert ok["restored"] is True
    # the same place written another way
    assert savepoint.restore_status(checkpoints({"id": 46, "is_savepoint": True,
                                                 "external_path": "file:///sp/savepoint-0a3af6-11066d7db439/"}),
                                    sp)["restored"] is True
    other = savepoint.restore_status(checkpoints({"id": 9, "is_savepoint": False,
                                                  "external_path": "file:/ck/job/chk-9"}), sp)
    assert other == {"restored": False, "path": "file:/ck/job/chk-9", "reason": f"it restored from file:/ck/job/chk-9, "
                                                                               f"not from {sp}"}
    as_checkpoint = savepoint.restore_status(checkpoints({"is_savepoint": False, "external_path": sp}), sp)
    assert as_checkpoint["restored"] is False


# --- the JobManager after its restart ----------------------------------------------------------------------------


MODEL = {"valid": True, "sizes": {"heap": 201326592, "off_heap": 134217728, "jvm_metaspace": 268435456,
                                  "jvm_overhead": 201326592, "total_flink": 335544320, "total_process": 805306368},
         "jvm": {"heap": 201326592, "metaspace": 268435456, "direct": None}}


def test_jobmanager_memory_to_the_byte():
    running = {"memory": {"sizes": dict(MODEL["sizes"]), "jvm": dict(MODEL["jvm"])}}
    assert savepoint.jobmanager_check(MODEL, running)["ok"] is True
    off_by_one = {"memory": {"sizes": {**MODEL["sizes"], "heap": 201326591}, "jvm": dict(MODEL["jvm"])}}
    check = savepoint.jobmanager_check(MODEL, off_by_one)
    assert check["ok"] is False
    assert check["differences"] == [{"component": "heap", "running": 201326591, "file": 201326592}]
    assert savepoint.jobmanager_check(MODEL, {})["message"] == "its running memory could not be read over REST"
    assert not savepoint.jobmanager_check({"valid": False, "error": "x"}, running)["ok"]


# --- the outcome ---------------------------------------------------------------------------------------------------


def test_outcome_all_back():
    out = savepoint.outcome(host="jm", stopped=[RECORD], resubmitted=[
        {"id": RECORD["id"], "new_id": "d" * 32, "restored": True}],
        jobmanager={"started": True, "memory": {"ok": True}})
    assert out["result"] == [{"job": RECORD["id"], "name": "orders", "old_id": RECORD["id"], "new_id": "d" * 32,
                              "savepoint": RECORD["savepoint"], "restored": True}]
    assert out["done"] == ["jm"] and out["failure"] is None and out["stopped"] is False and out["reason"] == ""
    assert out["record"]["result"] == "restarted"


def test_outcome_failed_savepoint_touches_nothing():
    out = savepoint.outcome(host="jm", stopped=[], stop_error="flink_job: the savepoint of job orders failed: x")
    assert out["done"] == [] and out["stopped"] is True
    assert out["reason"] == ("JobManager jm (savepoint mode): stopped before the JobManager was touched (it was not "
                             "stopped): flink_job: the savepoint of job orders failed: x.")
    assert out["failure"] == {"hosts": ["jm"], "reason": out["reason"]}
    assert out["record"]["result"] == "not touched"


def test_outcome_names_the_savepoint_of_a_job_not_back():
    out = savepoint.outcome(host="jm", stopped=[RECORD], resubmitted=[
        {"id": RECORD["id"], "new_id": None, "restored": None, "error": "POST .../run: HTTP 500"}],
        jobmanager={"started": True, "memory": {"ok": True}})
    assert out["stopped"] is True and out["record"]["result"] == "failed"
    assert (f"job orders ({RECORD['id']}) is not running from its savepoint {RECORD['savepoint']}: POST .../run: "
            f"HTTP 500; resubmit it with bin/flink run -s {RECORD['savepoint']}") in out["reason"]


def test_outcome_jobmanager_back_on_its_backup_still_fails_the_rollout():
    out = savepoint.outcome(host="jm", stopped=[RECORD], resubmitted=[
        {"id": RECORD["id"], "new_id": "d" * 32, "restored": True}],
        jobmanager={"started": True, "start_error": "Start the JobManager: exited within 1s", "backup": "/b",
                    "restored_backup": "/b", "memory": {"ok": True}})
    assert out["result"][0]["restored"] is True
    assert out["done"] == [] and out["stopped"] is True
    assert "its backup /b was restored and it runs again on it" in out["reason"]


def test_outcome_wrong_memory_after_restart():
    out = savepoint.outcome(host="jm", stopped=[], jobmanager={"started": True, "memory": {
        "ok": False, "message": "it runs with other memory than its file gives: JVM Heap 192 MiB running"}})
    assert "the restarted JobManager: it runs with other memory" in out["reason"]


def test_the_filter_door():
    assert savepoint_decision(MODEL, "jobmanager", running={"memory": {"sizes": MODEL["sizes"],
                                                                      "jvm": MODEL["jvm"]}})["ok"] is True
    assert savepoint_decision({"host": "jm", "stopped": []}, "outcome")["done"] == ["jm"]
    assert savepoint_decision([{"name": "orders", "old_id": "a", "new_id": "b", "savepoint": "s",
                                "restored": True}], "lines") == ["orders: a -> b from s (restored from its savepoint)"]
    with pytest.raises(Exception, match="unknown kind 'nope'"):
        savepoint_decision({}, "nope")


# --- checkpoint safety and the probe savepoints ------------------------------------------------------------

NOT_RETAINED = {"mode": "exactly_once", "interval": 2000, "externalization": {
    "enabled": False, "delete_on_cancellation": True}}
RETAINED = {"mode": "exactly_once", "interval": 2000, "externalization": {
    "enabled": True, "delete_on_cancellation": False}}


def test_a_job_that_cannot_savepoint_is_refused_naming_what_happens_to_its_checkpoints():
    stuck = {**JOB, "id": "e" * 32, "name": "stuck", "tasks_running": 1}
    restarting = {**JOB, "id": "d" * 32, "name": "flaky", "state": "RESTARTING", "tasks_running": 0}
    decided = preflight(jobs=[JOB, stuck, restarting], checkpoint_configs={stuck["id"]: NOT_RETAINED,
                                                                          restarting["id"]: RETAINED})
    assert decided["problems"] == [
        f"job stuck ({'e' * 32}) is RUNNING with 1 of 2 tasks running: it cannot be stopped with a savepoint, and the "
        "JobManager restart would end it without one (its checkpoints are not retained (not RETAIN_ON_CANCELLATION): "
        "they are deleted when it ends); wait until it runs with all its tasks, or stop it yourself",
        f"job flaky ({'d' * 32}) is RESTARTING with 0 of 2 tasks running: it cannot be stopped with a savepoint, and "
        "the JobManager restart would end it without one (its checkpoints are retained (RETAIN_ON_CANCELLATION)); "
        "wait until it runs with all its tasks, or stop it yourself"]
    assert [r["name"] for r in decided["jobs"]] == ["orders"]


def test_jobs_whose_checkpoints_are_not_retained_are_warned_about():
    assert preflight(checkpoint_configs={JOB["id"]: RETAINED})["warnings"] == []
    warned = preflight(checkpoint_configs={JOB["id"]: NOT_RETAINED})
    assert warned["problems"] == [] and warned["warnings"] == [
        f"job orders ({JOB['id']}): its checkpoints are not retained (not RETAIN_ON_CANCELLATION): they are deleted "
        "when it ends: once it is stopped with its savepoint, the savepoint is the only copy of its state until it "
        "runs again"]


def test_right_before_the_jobmanager_stops_every_job_left_without_a_savepoint_is_named():
    stopped = {**JOB, "state": "FINISHED"}
    late = {**JOB, "id": "c" * 32, "name": "late"}
    assert savepoint.leftover([stopped], [JOB["id"]]) == []
    assert savepoint.leftover([stopped, late], [JOB["id"]], {late["id"]: None}) == [
        f"job late ({'c' * 32}) is RUNNING and was not stopped with a savepoint: the JobManager stop would end it "
        "(its checkpoint retention is unknown)"]


def test_probe_savepoints_from_the_uri_loops():
    done = {"status": {"id": "COMPLETED"}, "operation": {"location": "file:/data/savepoints/savepoint-0a3af6-1"}}
    other = {**JOB, "id": "b" * 32, "name": "other"}
    refused = {**JOB, "id": "a" * 32, "name": "refused"}
    # As the role's uri loops register them: each item under its loop_var.
    triggers = [{"job": JOB, "ansible_loop_var": "job", "json": {"request-id": "t1"}, "status": 202},
                {"job": other, "ansible_loop_var": "job", "json": {"request-id": "t2"}, "status": 202},
                {"job": refused, "ansible_loop_var": "job", "failed": True, "status": 404,
                 "json": {"errors": ["Job not found\nat x"]}}]
    polls = [{"trigger": triggers[0], "ansible_loop_var": "trigger", "json": done},
             {"item": triggers[1], "json": FAILURE}, {"skipped": True}]
    decided = savepoint_decision(triggers, "probe", polls=polls, directory="file:///data/savepoints")
    assert decided["locations"] == ["file:/data/savepoints/savepoint-0a3af6-1"]
    assert decided["problems"] == [
        f"job other ({'b' * 32}): its probe savepoint into file:///data/savepoints failed: "
        "java.nio.file.FileAlreadyExistsException: /data/afile <- java.io.IOException: Failed to create savepoint "
        "directory at file:/data/afile/x <- org.apache.flink.runtime.checkpoint.CheckpointException: An Exception "
        "occurred while triggering the checkpoint. IO-problem detected.",
        f"job refused ({'a' * 32}): its probe savepoint into file:///data/savepoints could not be taken: "
        "HTTP 404: Job not found"]
    pending = savepoint.probe_problems([{"id": "x", "name": "slow", "answer": {"status": {"id": "IN_PROGRESS"}}}],
                                       "/sp")
    assert pending == ["job slow (x): its probe savepoint into /sp did not complete in time "
                       "(rolling_restart_savepoint_timeout)"]
