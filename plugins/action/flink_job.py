# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of flinkops.flink.flink_job: a running cluster's jobs over the JobManager's REST API, from the
controller - read what each job would be resubmitted with, stop jobs with a savepoint, resubmit them from it.

A thin adapter: the REST calls are plugins/plugin_utils/job_rest.py's, every decision
plugins/plugin_utils/savepoint.py's. Nothing runs on the managed host.
"""

from __future__ import annotations

import os

from ansible.plugins.action import ActionBase

from ansible_collections.flinkops.flink.plugins.module_utils.task_options import REST_OPTIONS
from ansible_collections.flinkops.flink.plugins.plugin_utils import job_rest, live, savepoint
from ansible_collections.flinkops.flink.plugins.plugin_utils.action_base import ActionFailed, FlinkAction, plain_json

COMMANDS = ("inspect", "stop", "resubmit")

ARGUMENT_SPEC = {
    **REST_OPTIONS,
    "user": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "command": {"type": "str", "required": True, "choices": list(COMMANDS)},
    "jobs": {"type": "list", "elements": "dict", "default": []},
    "job_jars": {"type": "dict", "default": {}},
    "savepoint_dir": {"type": "str", "default": ""},
    "jobmanager_config": {"type": "dict", "default": {}},
    "savepoint_timeout": {"type": "float", "default": 300},
    "taskmanagers_after": {"type": "str", "default": "restart"},
    "upload_dir": {"type": "str", "default": ""},
    "wait_timeout": {"type": "float", "default": 180},
    "wait_interval": {"type": "float", "default": 0.5},
}


def _shown(record: dict) -> dict:
    """A record as results show it: program arguments counted, never printed (they may hold secrets)."""
    out = {k: v for k, v in record.items() if k != "args"}
    out["args_count"] = len(record.get("args") or [])
    return out


def _with_spec(record: dict, job_jars: dict) -> dict:
    """A shown record back with its jar, entry class and arguments from rolling_restart_job_jars."""
    spec, problem = savepoint.jar_spec(record.get("name"), (job_jars or {}).get(record.get("name")))
    if problem:
        raise ActionFailed(f"flink_job: job {record.get('name')} ({record.get('id')}): {problem}")
    return {**record, "jar": spec["jar"], "entry_class": spec["entry_class"], "args": spec["args"],
            "parallelism": spec["parallelism"] or record.get("parallelism")}


class ActionModule(FlinkAction, ActionBase):
    NAME = "flink_job"
    ARGUMENT_SPEC = ARGUMENT_SPEC
    MESSAGE_PREFIX = "name"
    _supports_check_mode = True  # inspect reads only; stop and resubmit do nothing in check mode

    def act(self, result, args, host, task_vars):
        try:
            url = live.normalize_url(args["url"])
            headers = {**live.auth_headers(args["url"], args["user"], args["password"]),
                       **{str(k): str(v) for k, v in (args["headers"] or {}).items()}}
        except live.LiveError as exc:
            raise ActionFailed(f"flink_job: {exc}") from None
        rest = job_rest.Rest(url, timeout=args["timeout"], validate_certs=args["validate_certs"], headers=headers)
        job_jars = plain_json(args["job_jars"] or {})
        try:
            getattr(self, f"_{args['command']}")(result, args, rest, job_jars)
        except live.LiveError as exc:
            raise ActionFailed(f"flink_job: {exc}", url=url) from None

    def _inspect(self, result, args, rest, job_jars):
        seen = job_rest.inspect(rest)
        paths = set()
        for value in job_jars.values():
            jar = value.get("jar") if isinstance(value, dict) else value
            if isinstance(jar, str) and jar.strip():
                paths.add(jar.strip())
        files = {p: os.path.isfile(p) and os.access(p, os.R_OK) for p in paths}  # on the controller
        decided = savepoint.preflight(
            jobs=seen["jobs"], configs=seen["configs"], details=seen["details"], job_jars=job_jars,
            savepoint_dir=args["savepoint_dir"], file_config=plain_json(args["jobmanager_config"] or {}),
            jars=seen["jars"], controller_files=files, savepoint_timeout=args["savepoint_timeout"],
            taskmanagers_after=args["taskmanagers_after"], checkpoint_configs=seen["checkpoint_configs"])
        result.update(problems=decided["problems"], warnings=decided["warnings"],
                      savepoint_dir=decided["savepoint_dir"],
                      upload_dir=decided["upload_dir"], jobs=[_shown(r) for r in decided["jobs"]],
                      jars=[{"id": j.get("id"), "name": j.get("name")} for j in seen["jars"] or []])

    def _stop(self, result, args, rest, job_jars):
        jobs = plain_json(args["jobs"])
        if not args["savepoint_dir"]:
            raise ActionFailed("flink_job: command=stop needs savepoint_dir")
        if self._task.check_mode:
            result.update(stopped=[], msg=f"check mode: would stop {len(jobs)} job(s) with a savepoint")
            return
        stopped = []
        for record in jobs:
            answer = job_rest.stop_with_savepoint(rest, record, args["savepoint_dir"],
                                                  timeout=args["savepoint_timeout"], interval=args["wait_interval"])
            if answer["state"] != "done":
                result["changed"] = bool(stopped)
                raise ActionFailed(
                    f"flink_job: the savepoint of job {record.get('name')} ({record.get('id')}) failed: "
                    f"{answer['error']}", stopped=stopped, failed_job=record, error=answer["error"])
            stopped.append({**record, "savepoint": answer["location"], "savepoint_seconds": answer["seconds"]})
        # Checkpoint safety, right before the JobManager may stop: a job still running without a savepoint (one
        # submitted since the pre-flight, say) would end with it.
        left = job_rest.leftover(rest, [r["id"] for r in stopped])
        if left:
            result["changed"] = bool(stopped)
            raise ActionFailed("flink_job: " + "; ".join(left), stopped=stopped, failed_job=None, error="; ".join(left))
        result.update(changed=bool(stopped), stopped=stopped)

    def _resubmit(self, result, args, rest, job_jars):
        jobs = [_with_spec(r, job_jars) for r in plain_json(args["jobs"])]
        if self._task.check_mode:
            result.update(jobs=[], msg=f"check mode: would resubmit {len(jobs)} job(s) from their savepoints")
            return
        upload_dir = args["upload_dir"] or None
        entries = [job_rest.submit(rest, record, upload_dir) for record in jobs]
        job_rest.wait_restored(rest, entries, timeout=args["wait_timeout"], interval=max(args["wait_interval"], 0.5))
        result.update(changed=any(e.get("new_id") for e in entries), jobs=entries)
        bad = [e for e in entries if e.get("restored") is not True]
        if bad:
            raise ActionFailed("flink_job: " + "; ".join(
                f"job {e.get('name')} ({e.get('id')}) from {e.get('savepoint')}: {e.get('error') or e.get('reason')}"
                for e in bad), jobs=entries, changed=any(e.get("new_id") for e in entries))
