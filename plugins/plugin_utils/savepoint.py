# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The savepoint mode of a JobManager restart without high availability: every decision of it.

Without HA a JobManager restart ends its jobs. The savepoint mode carries each job over: stop it with a
savepoint, restart the JobManager (its memory verified to the byte), bring the TaskManagers back, resubmit
the job from its savepoint, verify it restored from that savepoint.

Controller side, standard library only; never imports Ansible. The REST calls are made by the
flink_job action (plugins/action/flink_job.py, through plugins/plugin_utils/job_rest.py); the role's
task files (roles/rolling_restart/tasks/jobmanager_savepoint*.yml) carry out what is decided here:

- ``preflight``: before anything is written - where the savepoints go, and for every RUNNING job what it
  will be resubmitted with (a record); every problem in words.
- ``stop_request`` / ``savepoint_status``: the stop-with-savepoint body and what a status answer means.
- ``choose_jar`` / ``run_request``: which jar (the uploaded one kept in web.upload.dir, else the user's
  jar uploaded from the controller) and the run body.
- ``restore_status``: whether a resubmitted job restored from its savepoint (``/jobs/<id>/checkpoints``).
- ``jobmanager_check``: the restarted JobManager's memory against its file's model, byte for byte.
- ``outcome``: the entries of ``_rolling_restart_savepoint_result`` and the rollout's facts.

What Flink tells about a running job (checked on 2.3.0): ``/jobs/<id>/config`` gives its name and
``execution-config.job-parallelism``; ``/jobs/<id>`` its type and max parallelism. No endpoint gives the
jar, entry class or program arguments it was started with (``/jobs/<id>/jobmanager/config`` and
``/applications/<id>/jobmanager/config`` are the cluster's configuration; ``/jars`` lists uploaded jars
with their entry classes, not which job ran from which). Those come from ``rolling_restart_job_jars``.
"""

from __future__ import annotations

import os
import posixpath
import shlex
from collections.abc import Mapping

from ansible_collections.flinkops.flink.plugins.plugin_utils import live

# The savepoint directory keys, newest name first (Flink 1.20 renamed state.savepoints.dir; both are read).
SAVEPOINT_DIR_KEYS = ("execution.checkpointing.savepoint-dir", "state.savepoints.dir")
TM_AFTER = ("restart", "reconnect")
JAR_SPEC_KEYS = ("jar", "entry_class", "args", "parallelism")
HIDDEN = "******"


class SavepointError(Exception):
    """A bad call of the decisions (a failed savepoint is an answer, not this)."""


# --- what the user configured --------------------------------------------------------------------------


def savepoint_directory(explicit, file_config: Mapping | None) -> str | None:
    """``rolling_restart_savepoint_dir``, else the JobManager file's savepoint directory; None without either."""
    if isinstance(explicit, str) and explicit.strip():
        return explicit.strip()
    for key in SAVEPOINT_DIR_KEYS:
        value = (file_config or {}).get(key)
        if isinstance(value, str) and value.strip() and value != HIDDEN:
            return value.strip()
    return None


def upload_directory(file_config: Mapping | None) -> str | None:
    """``web.upload.dir`` of the JobManager's file: uploaded jars are kept there over a restart (None: lost)."""
    value = (file_config or {}).get("web.upload.dir")
    return value.strip() if isinstance(value, str) and value.strip() and value != HIDDEN else None


def jar_spec(name: str, value) -> tuple:
    """One entry of ``rolling_restart_job_jars`` -> (spec, problem).

    A path (the jar on the controller, entry class from its manifest, no arguments) or a mapping with
    ``jar`` and optionally ``entry_class``, ``args`` (a list, or one string split as a shell would) and
    ``parallelism``. spec: {jar, entry_class, args, parallelism}; problem: None or words.
    """
    where = f"rolling_restart_job_jars[{name!r}]"
    if isinstance(value, str):
        value = {"jar": value}
    if not isinstance(value, Mapping):
        return None, f"{where} must be a jar path on the controller or a mapping with jar, entry_class, args"
    unknown = sorted(set(value) - set(JAR_SPEC_KEYS))
    if unknown:
        return None, f"{where} has unknown key(s) {', '.join(map(str, unknown))}; accepted: {', '.join(JAR_SPEC_KEYS)}"
    jar = value.get("jar")
    if not isinstance(jar, str) or not jar.strip():
        return None, f"{where}.jar must be the job's jar: a path on the controller (or the name /jars lists)"
    args = value.get("args")
    if args is None:
        args = []
    elif isinstance(args, str):
        try:
            args = shlex.split(args)
        except ValueError as exc:
            return None, f"{where}.args cannot be split into arguments ({exc}); give a list"
    elif isinstance(args, (list, tuple)):
        args = [str(a) for a in args]
    else:
        return None, f"{where}.args must be a list of program arguments"
    entry = value.get("entry_class")
    if entry is not None and (not isinstance(entry, str) or not entry.strip()):
        return None, f"{where}.entry_class must be a class name"
    parallelism = value.get("parallelism")
    if parallelism is not None and (isinstance(parallelism, bool) or not isinstance(parallelism, int)
                                    or parallelism < 1):
        return None, f"{where}.parallelism must be a whole number of at least 1"
    return {"jar": jar.strip(), "entry_class": entry.strip() if entry else None, "args": args,
            "parallelism": parallelism}, None


def _jar_name(path: str) -> str:
    return posixpath.basename(path.rstrip("/"))


def uploaded_jar(spec_jar: str, jars: list) -> dict | None:
    """The jar ``/jars`` lists under the same file name as ``spec_jar`` (the newest upload), or None."""
    name = _jar_name(spec_jar)
    found = [j for j in jars or [] if isinstance(j, Mapping) and (j.get("name") == name or j.get("id") == name)]
    return max(found, key=lambda j: j.get("uploaded") or 0) if found else None


# --- pre-flight -------------------------------------------------------------------------------------------


def job_record(job: Mapping, config: Mapping | None, details: Mapping | None, spec: Mapping) -> dict:
    """What a running job is resubmitted with: {id, name, parallelism, max_parallelism, jar, entry_class, args}.

    ``job``: a normalized job (live.normalize_job); ``config``: ``/jobs/<id>/config``; ``details``: ``/jobs/<id>``;
    ``spec``: its jar_spec. The parallelism is the user's, else the job's own (``job-parallelism``).
    """
    execution = (config or {}).get("execution-config") if isinstance(config, Mapping) else None
    own = (execution or {}).get("job-parallelism") if isinstance(execution, Mapping) else None
    own = own if isinstance(own, int) and not isinstance(own, bool) and own > 0 else None
    max_p = (details or {}).get("maxParallelism") if isinstance(details, Mapping) else None
    return {
        "id": str(job["id"]),
        "name": job.get("name"),
        "parallelism": spec.get("parallelism") or own,
        "max_parallelism": max_p if isinstance(max_p, int) and not isinstance(max_p, bool) and max_p > 0 else None,
        "jar": spec["jar"],
        "entry_class": spec.get("entry_class"),
        "args": list(spec.get("args") or []),
    }


def preflight(*, jobs: list, configs: Mapping, details: Mapping, job_jars, savepoint_dir, file_config: Mapping | None,
              jars: list | None, controller_files: Mapping, savepoint_timeout, taskmanagers_after,
              checkpoint_configs: Mapping | None = None) -> dict:
    """May the savepoint mode start? {problems, savepoint_dir, upload_dir, jobs: records}.

    ``jobs``: live.normalize_job of every job now; ``configs`` / ``details``: job id -> ``/jobs/<id>/config`` /
    ``/jobs/<id>``; ``job_jars``: rolling_restart_job_jars; ``file_config``: the JobManager file's config (the
    gather's); ``jars``: ``/jars`` files (None: web submission is off); ``controller_files``: path -> whether
    it is a readable file on the controller; ``checkpoint_configs``: job id -> ``/jobs/<id>/checkpoints/config``.
    A job not ended that is not RUNNING with all its tasks is a problem (it cannot be stopped with a savepoint);
    ``warnings``: RUNNING jobs whose checkpoints are not retained.
    """
    problems = []
    directory = savepoint_directory(savepoint_dir, file_config)
    if directory is None:
        problems.append("no savepoint directory: set rolling_restart_savepoint_dir, or "
                        "execution.checkpointing.savepoint-dir (state.savepoints.dir) in the JobManager's file")
    elif not (directory.startswith("/") or "://" in directory or directory.startswith("file:")):
        problems.append(f"the savepoint directory {directory!r} is relative: give an absolute path or a URI "
                        "every JobManager and TaskManager reaches (file:///..., s3://..., hdfs://...)")
    if isinstance(savepoint_timeout, bool) or not isinstance(savepoint_timeout, (int, float)) \
            or savepoint_timeout <= 0:
        problems.append(f"rolling_restart_savepoint_timeout must be a positive number of seconds, "
                        f"got {savepoint_timeout!r}")
    if taskmanagers_after not in TM_AFTER:
        problems.append(f"rolling_restart_taskmanagers_after_jobmanager must be one of {', '.join(TM_AFTER)}, "
                        f"got {taskmanagers_after!r}")
    if job_jars is None:
        job_jars = {}
    if not isinstance(job_jars, Mapping):
        problems.append("rolling_restart_job_jars must map job names to jars")
        job_jars = {}
    upload_dir = upload_directory(file_config)
    records, warnings = [], []
    for job in jobs or []:
        label = f"job {job.get('name')} ({job.get('id')})"
        retention = retention_words(job.get("id"), checkpoint_configs)
        if job.get("state") in live.TERMINAL_JOB_STATES:
            continue
        if job.get("state") != "RUNNING" or (isinstance(job.get("tasks_total"), int)
                                             and job.get("tasks_running") != job.get("tasks_total")):
            # Checkpoint safety: a job that cannot be stopped with a savepoint would end with the JobManager,
            # and with the default retention its checkpoints would be deleted.
            problems.append(f"{label} is {job.get('state')} with {job.get('tasks_running')} of "
                            f"{job.get('tasks_total')} tasks running: it cannot be stopped with a savepoint, and "
                            f"the JobManager restart would end it without one ({retention}); wait until it runs "
                            "with all its tasks, or stop it yourself")
            continue
        if retention.startswith("its checkpoints are not retained"):
            warnings.append(f"{label}: {retention}: once it is stopped with its savepoint, the savepoint is the only "
                            "copy of its state until it runs again")
        detail = details.get(job["id"]) if isinstance(details, Mapping) else None
        if isinstance(detail, Mapping) and detail.get("job-type") == "BATCH":
            problems.append(f"{label} is a batch job: it cannot stop with a savepoint; let it finish first")
            continue
        if job.get("name") not in job_jars:
            problems.append(
                f"{label} has no entry in rolling_restart_job_jars: Flink's REST API does not tell which jar, "
                "entry class and arguments started a job, so it could not be resubmitted; give "
                f"rolling_restart_job_jars: {{{job.get('name')!r}: {{jar: /path/on/controller.jar, args: [...]}}}}")
            continue
        spec, problem = jar_spec(job["name"], job_jars[job["name"]])
        if problem:
            problems.append(problem)
            continue
        kept = uploaded_jar(spec["jar"], jars or []) if upload_dir else None
        if not controller_files.get(spec["jar"]) and kept is None:
            why = ("web.upload.dir is not set in the JobManager's file, so uploaded jars do not survive its restart"
                   if not upload_dir else f"no jar named {_jar_name(spec['jar'])!r} is uploaded to the JobManager")
            problems.append(f"{label}: its jar {spec['jar']} is not a readable file on the controller, and {why}")
            continue
        records.append(job_record(job, configs.get(job["id"]) if isinstance(configs, Mapping) else None,
                                  detail, spec))
    return {"problems": problems, "warnings": warnings, "savepoint_dir": directory, "upload_dir": upload_dir,
            "jobs": records}


def retention_words(job_id, checkpoint_configs: Mapping | None) -> str:
    """What happens to a job's checkpoints when it ends, in words, from ``/jobs/<id>/checkpoints/config``."""
    config = (checkpoint_configs or {}).get(job_id) if isinstance(checkpoint_configs, Mapping) else None
    if not isinstance(config, Mapping):
        return "its checkpoint retention is unknown"
    ext = config.get("externalization")
    if isinstance(ext, Mapping) and ext.get("enabled") and not ext.get("delete_on_cancellation"):
        return "its checkpoints are retained (RETAIN_ON_CANCELLATION)"
    return "its checkpoints are not retained (not RETAIN_ON_CANCELLATION): they are deleted when it ends"


def leftover(jobs_now: list, stopped_ids, checkpoint_configs: Mapping | None = None) -> list:
    """Right before the JobManager stops: every job not ended yet that was not stopped with a savepoint, in words.

    Checkpoint safety: without HA the stop ends such a job without a savepoint (and, unless its checkpoints are
    retained on cancellation, deletes them). ``jobs_now``: live.normalize_job of ``/jobs/overview``.
    """
    stopped = {str(i) for i in stopped_ids or []}
    return [f"job {j.get('name')} ({j.get('id')}) is {j.get('state')} and was not stopped with a savepoint: the "
            f"JobManager stop would end it ({retention_words(j.get('id'), checkpoint_configs)})"
            for j in jobs_now or []
            if j.get("state") not in live.TERMINAL_JOB_STATES and str(j.get("id")) not in stopped]


def probes_from_results(triggers: list, polls: list) -> list:
    """The probes of ``probe_problems`` from the role's two ``uri`` loops (the trigger POSTs, the status polls).

    ``triggers``: the results of ``POST /jobs/<id>/savepoints`` (each with its loop item, the job record, under its
    ``ansible_loop_var``); ``polls``: the results of ``GET /jobs/<id>/savepoints/<request-id>`` (each with its loop
    item, the trigger result).
    """
    by_trigger = {}
    for poll in polls or []:
        if isinstance(poll, Mapping) and not poll.get("skipped"):
            job = _loop_item(_loop_item(poll))
            by_trigger[str(job.get("id"))] = poll
    out = []
    for trigger in triggers or []:
        if not isinstance(trigger, Mapping) or trigger.get("skipped"):
            continue
        job = _loop_item(trigger)
        probe = {"id": job.get("id"), "name": job.get("name"), "answer": None, "error": None}
        answer = trigger.get("json") if isinstance(trigger.get("json"), Mapping) else {}
        if trigger.get("failed") or not answer.get("request-id"):
            errors = answer.get("errors") if isinstance(answer.get("errors"), list) else []
            first = str(errors[0]).splitlines()[0] if errors else trigger.get("msg") or f"no request-id in {answer!r}"
            probe["error"] = f"HTTP {trigger.get('status')}: {first}"
        else:
            poll = by_trigger.get(str(job.get("id"))) or {}
            probe["answer"] = poll.get("json")
            if probe["answer"] is None:
                probe["error"] = poll.get("msg") or "its status could not be read"
        out.append(probe)
    return out


def _loop_item(result) -> dict:
    """The item of one result of a loop: under its ``ansible_loop_var`` (``item`` by default)."""
    if not isinstance(result, Mapping):
        return {}
    item = result.get(result.get("ansible_loop_var") or "item")
    return item if isinstance(item, Mapping) else {}


def probe_locations(probes: list) -> list:
    """The locations of the probe savepoints that completed (disposed of afterwards)."""
    return [st["location"] for st in (savepoint_status(p.get("answer")) for p in probes or [] if not p.get("error"))
            if st["state"] == "done"]


def probe_problems(probes: list, directory: str) -> list:
    """The pre-flight's probe savepoints (``POST /jobs/<id>/savepoints``, the job keeps running), in words.

    ``probes``: [{id, name, answer (the last ``/jobs/<id>/savepoints/<request-id>``), error (a failed request)}].
    A savepoint that cannot be written now (a directory the cluster cannot write, a job that cannot savepoint)
    would fail the real stop too: refused before anything is written.
    """
    problems = []
    for probe in probes or []:
        label = f"job {probe.get('name')} ({probe.get('id')})"
        if probe.get("error"):
            problems.append(f"{label}: its probe savepoint into {directory} could not be taken: {probe['error']}")
            continue
        status = savepoint_status(probe.get("answer"))
        if status["state"] == "pending":
            problems.append(f"{label}: its probe savepoint into {directory} did not complete in time "
                            "(rolling_restart_savepoint_timeout)")
        elif status["state"] == "failed":
            problems.append(f"{label}: its probe savepoint into {directory} failed: {status['error']}")
    return problems


# --- stop with a savepoint ----------------------------------------------------------------------------------


def stop_request(directory: str) -> dict:
    """The body of ``POST /jobs/<id>/stop``: a savepoint into ``directory``, no drain (the job resumes as it was)."""
    if not isinstance(directory, str) or not directory:
        raise SavepointError("a savepoint directory is needed")
    return {"drain": False, "targetDirectory": directory}


def failure_text(cause) -> str:
    """A Flink ``failure-cause`` ({class, stack-trace}) in words: its causes, innermost last."""
    if not isinstance(cause, Mapping):
        return str(cause)
    trace = str(cause.get("stack-trace") or "")
    lines = trace.splitlines()
    causes = [line[len("Caused by: "):].strip() for line in lines if line.startswith("Caused by: ")]
    if not causes:
        causes = [lines[0].strip()] if lines else [str(cause.get("class") or "unknown failure")]
    seen, out = set(), []
    for text in causes[-3:]:
        if text not in seen:
            seen.add(text)
            out.append(text)
    return " <- ".join(reversed(out))


def savepoint_status(answer) -> dict:
    """A ``/jobs/<id>/savepoints/<request-id>`` answer: {state: pending|done|failed, location, error}."""
    if not isinstance(answer, Mapping) or not isinstance(answer.get("status"), Mapping):
        return {"state": "failed", "location": None, "error": f"unexpected answer {answer!r}"}
    if answer["status"].get("id") != "COMPLETED":
        return {"state": "pending", "location": None, "error": None}
    operation = answer.get("operation") if isinstance(answer.get("operation"), Mapping) else {}
    if operation.get("failure-cause"):
        return {"state": "failed", "location": None, "error": failure_text(operation["failure-cause"])}
    location = operation.get("location")
    if not isinstance(location, str) or not location:
        return {"state": "failed", "location": None, "error": "the savepoint completed without a location"}
    return {"state": "done", "location": location, "error": None}


# --- resubmit -----------------------------------------------------------------------------------------------


def choose_jar(record: Mapping, jars: list | None, upload_dir: str | None) -> dict:
    """Where the job's jar comes from: {source: uploaded, id} (kept in web.upload.dir) or {source: controller, path}."""
    kept = uploaded_jar(record["jar"], jars or []) if upload_dir else None
    if kept is not None:
        return {"source": "uploaded", "id": kept["id"], "path": None}
    return {"source": "controller", "id": None, "path": record["jar"]}


def run_request(record: Mapping, savepoint: str) -> dict:
    """The body of ``POST /jars/<jar-id>/run``: from ``savepoint``, the job's entry class, arguments, parallelism.

    Non-restored state is not allowed: a savepoint that does not fit the job fails the run instead of dropping state.
    """
    if not isinstance(savepoint, str) or not savepoint:
        raise SavepointError(f"job {record.get('name')}: no savepoint to resubmit from")
    body = {"savepointPath": savepoint, "allowNonRestoredState": False}
    if record.get("entry_class"):
        body["entryClass"] = record["entry_class"]
    if record.get("args"):
        body["programArgsList"] = list(record["args"])
    if record.get("parallelism"):
        body["parallelism"] = int(record["parallelism"])
    return body


def same_location(a, b) -> bool:
    """Two savepoint locations as Flink writes them (``file:/x``, ``file:///x``, ``/x``) are the same place."""
    def norm(p):
        p = str(p or "").rstrip("/")
        if p.startswith("file://"):
            p = p[len("file://"):]
        elif p.startswith("file:"):
            p = p[len("file:"):]
        return os.path.normpath(p) if p.startswith("/") else p
    return bool(a) and bool(b) and norm(a) == norm(b)


def restore_status(checkpoints, savepoint: str) -> dict:
    """Did the job restore from ``savepoint``? From ``/jobs/<id>/checkpoints``: {restored: True|False|None, reason}.

    None: not yet (no restore recorded); False: it restored from something else, or not from a savepoint.
    """
    latest = (checkpoints or {}).get("latest") if isinstance(checkpoints, Mapping) else None
    restored = (latest or {}).get("restored") if isinstance(latest, Mapping) else None
    if not isinstance(restored, Mapping):
        return {"restored": None, "path": None, "reason": "no restore recorded yet"}
    path = restored.get("external_path")
    if not same_location(path, savepoint):
        return {"restored": False, "path": path, "reason": f"it restored from {path}, not from {savepoint}"}
    if restored.get("is_savepoint") is False:
        return {"restored": False, "path": path, "reason": f"{path} was restored as a checkpoint, not a savepoint"}
    return {"restored": True, "path": path, "reason": f"restored from {path}"}


# --- the JobManager after its restart --------------------------------------------------------------------------


def jobmanager_check(model: Mapping | None, running: Mapping | None) -> dict:
    """The restarted JobManager against its file's model, byte for byte: {ok, differences, message}.

    ``model``: flink_config_info's ``memory.jobmanager`` of the file it started with; ``running``:
    flink_cluster_info's ``jobmanager`` (``/jobmanager/config`` and the JVM options of ``/jobmanager/environment``).
    """
    if not isinstance(model, Mapping) or not model.get("valid"):
        return {"ok": False, "differences": [],
                "message": f"its file's memory model is not valid: {(model or {}).get('error')}"}
    memory = (running or {}).get("memory") if isinstance(running, Mapping) else None
    if not isinstance(memory, Mapping) or not memory.get("sizes"):
        return {"ok": False, "differences": [], "message": "its running memory could not be read over REST"}
    unknown = [k for k, v in (memory.get("sizes") or {}).items() if v is None and k in (model.get("sizes") or {})]
    diffs = live.jobmanager_differences(running, model)
    if diffs:
        return {"ok": False, "differences": diffs,
                "message": f"it runs with other memory than its file gives: {live.describe_differences(diffs)}"}
    if unknown:
        return {"ok": False, "differences": [], "message": f"REST does not show its {', '.join(unknown)}"}
    return {"ok": True, "differences": [], "message": "runs with what its file gives, to the byte"}


# --- the outcome --------------------------------------------------------------------------------------------------


def outcome(*, host: str, stopped: list, refused: str | None = None, stop_error: str | None = None,
            resubmitted: list | None = None, jobmanager: Mapping | None = None,
            taskmanagers_error: str | None = None) -> dict:
    """The savepoint cycle's result and the rollout facts it changes.

    ``stopped``: the records stopped with a savepoint (each with ``savepoint``); ``refused``: why the cycle did not
    start (nothing touched); ``stop_error``: why a savepoint failed, or a job would end without one (the cycle
    aborted before the JobManager was touched; the jobs stopped before it were resubmitted to it); ``resubmitted``:
    the flink_job resubmit entries (id, new_id, restored, error); ``jobmanager``: {started, backup, restored_backup,
    start_error, memory (a jobmanager_check), fatal (the step the cycle broke off at)}; ``taskmanagers_error``: why
    the TaskManagers did not come back.

    Returns {result: [{job, name, old_id, new_id, savepoint, restored}], done, failure, stopped, reason, record}:
    ``done`` (the JobManager host, when it restarted onto its file with the memory it gives, and every job is back),
    ``failure`` ({hosts, reason} or None) for _rolling_restart_failures, ``record`` the JobManager's entry of the
    outcome ({host, role: single, result: restarted, failed or not touched, reason, jobs}).
    """
    by_id = {str(e.get("id")): e for e in resubmitted or [] if isinstance(e, Mapping)}
    result, lost = [], []
    for record in stopped or []:
        entry = by_id.get(str(record["id"])) or {}
        restored = entry.get("restored") is True
        result.append({"job": record["id"], "name": record.get("name"), "old_id": record["id"],
                       "new_id": entry.get("new_id"), "savepoint": record.get("savepoint"), "restored": restored})
        if not restored:
            why = entry.get("error") or entry.get("reason") or "it was not resubmitted"
            where = record.get("savepoint")
            lost.append(f"job {record.get('name')} ({record['id']}) is not running from its savepoint {where}: {why}; "
                        f"resubmit it with bin/flink run -s {where}")
    jm = dict(jobmanager or {})
    parts = []
    if refused:
        parts.append(f"not started, nothing was touched: {refused}")
    if stop_error:
        parts.append(f"stopped before the JobManager was touched (it was not stopped): {stop_error}")
    if jm.get("start_error"):
        if jm.get("restored_backup"):
            parts.append(f"the JobManager did not start on its new file ({jm['start_error']}); its backup "
                         f"{jm['restored_backup']} was restored and it runs again on it")
        else:
            parts.append(f"the JobManager did not start on its new file ({jm['start_error']})"
                         + ("; no backup of its file is known (rolling_restart_backup_file or the enforce role's "
                            "backup), so it was not rolled back" if not jm.get("backup") else ""))
    if jm.get("fatal"):
        parts.append(f"the cycle broke off at {jm['fatal']}")
    memory = jm.get("memory")
    if jm.get("started") and isinstance(memory, Mapping) and not memory.get("ok") and not jm.get("restored_backup"):
        parts.append(f"the restarted JobManager: {memory.get('message')}")
    if taskmanagers_error:
        parts.append(f"the TaskManagers did not come back: {taskmanagers_error}")
    parts.extend(lost)
    ok = not parts
    reason = "" if ok else f"JobManager {host} (savepoint mode): " + "; ".join(parts) + "."
    touched = not refused and not stop_error
    record = {"host": host, "role": "single", "result": "restarted" if ok else "failed" if touched else "not touched",
              "reason": "restarted on its file with the memory it gives, byte for byte; every job resubmitted and "
                        "restored from its savepoint" if ok else reason, "jobs": result}
    return {"result": result, "done": [host] if ok else [], "failure": None if ok else {"hosts": [host],
                                                                                        "reason": reason},
            "stopped": not ok, "reason": reason, "record": record}


def summary_lines(result: list) -> list:
    """One line per job for the console: name, old and new id, savepoint, restored or not."""
    return [f"{e.get('name')}: {e.get('old_id')} -> {e.get('new_id') or 'not resubmitted'} from {e.get('savepoint')}"
            f" ({'restored from its savepoint' if e.get('restored') else 'NOT restored'})" for e in result or []]
