# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job operations of the JobManager's REST API, from the controller: stop with a savepoint and wait,
upload a jar, run it from a savepoint, wait for the restore. Standard library only (urllib); never imports
Ansible. Every decision is plugins/plugin_utils/savepoint.py's; this module only talks.

Credentials go only into the Authorization header (live.auth_headers); messages name the address without
them, and never show program arguments.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping

from ansible_collections.flinkops.flink.plugins.plugin_utils import live, savepoint
from ansible_collections.flinkops.flink.plugins.plugin_utils.live import LiveError


class Rest:
    """One JobManager's REST API: GET (live.fetch_json), POST JSON and a multipart jar upload."""

    def __init__(self, url: str, *, timeout: float = 10, validate_certs: bool = True, headers: Mapping | None = None):
        self.url = url
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.headers = dict(headers or {})

    def get(self, path: str):
        return live.fetch_json(self.url, path, timeout=self.timeout, validate_certs=self.validate_certs,
                               headers=self.headers)

    def _send(self, path: str, data: bytes, content_type: str, timeout: float | None = None):
        full = self.url + path
        request = urllib.request.Request(full, data=data, method="POST", headers={
            "Accept": "application/json", "Content-Type": content_type, **self.headers})
        body = live.open_request(request, timeout=timeout or self.timeout, validate_certs=self.validate_certs,
                                 label=f"POST {full}", http_detail=_errors)
        try:
            return json.loads(body) if body else {}
        except ValueError:
            raise LiveError(f"POST {full}: the answer is not JSON") from None

    def post(self, path: str, body: Mapping, timeout: float | None = None):
        return self._send(path, json.dumps(body).encode(), "application/json", timeout)

    def upload(self, jar_path: str, timeout: float | None = None) -> dict:
        """``POST /jars/upload`` of a file on the controller; returns {id, filename}."""
        try:
            with open(jar_path, "rb") as f:
                content = f.read()
        except OSError as exc:
            raise LiveError(f"cannot read the jar {jar_path} on the controller: {exc.strerror}") from None
        boundary = f"flinkops-{uuid.uuid4().hex}"
        name = os.path.basename(jar_path).replace('"', "")
        data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\"{name}\"\r\n"
                "Content-Type: application/x-java-archive\r\n\r\n").encode() + content + \
            f"\r\n--{boundary}--\r\n".encode()
        answer = self._send("/jars/upload", data, f"multipart/form-data; boundary={boundary}", timeout)
        filename = answer.get("filename") if isinstance(answer, Mapping) else None
        if answer.get("status") != "success" or not filename:
            raise LiveError(f"POST {self.url}/jars/upload of {jar_path}: unexpected answer {answer!r}")
        return {"id": os.path.basename(filename), "filename": filename}


def _errors(exc: urllib.error.HTTPError) -> str:
    """The first line of each of Flink's ``errors`` (the rest is a stack trace)."""
    try:
        data = json.loads(exc.read() or b"{}")
    except (ValueError, OSError):
        return "no details"
    errors = data.get("errors") if isinstance(data, Mapping) else None
    if not errors:
        return "no details"
    out = []
    for item in errors:
        lines = str(item).splitlines() or [""]
        for line in [lines[0], *(x for x in lines if x.startswith("Caused by: "))]:
            if line.strip() and line.strip() not in out:
                out.append(line.strip())
    return " | ".join(out[:4])


def jars(rest: Rest) -> list | None:
    """``/jars`` files, None when web submission is off (the endpoint is missing)."""
    try:
        answer = rest.get("/jars")
    except LiveError as exc:
        if "HTTP 404" in str(exc):
            return None
        raise
    return list(answer.get("files") or []) if isinstance(answer, Mapping) else []


def inspect(rest: Rest) -> dict:
    """Every job now, and for each RUNNING one its ``/jobs/<id>/config`` and ``/jobs/<id>``, for each not ended its
    ``/jobs/<id>/checkpoints/config``; plus ``/jars``."""
    overview = rest.get("/jobs/overview")
    jobs = [live.normalize_job(j) for j in (overview.get("jobs") or [])] if isinstance(overview, Mapping) else []
    configs, details, checkpoint_configs = {}, {}, {}
    for job in jobs:
        if job["state"] not in live.TERMINAL_JOB_STATES:
            try:
                checkpoint_configs[job["id"]] = rest.get(f"/jobs/{job['id']}/checkpoints/config")
            except LiveError:
                checkpoint_configs[job["id"]] = None  # checkpointing off: Flink answers 404
        if job["state"] == "RUNNING":
            configs[job["id"]] = rest.get(f"/jobs/{job['id']}/config")
            detail = rest.get(f"/jobs/{job['id']}")
            details[job["id"]] = {k: v for k, v in detail.items() if k not in ("vertices", "plan")} \
                if isinstance(detail, Mapping) else {}
    return {"jobs": jobs, "configs": configs, "details": details, "checkpoint_configs": checkpoint_configs,
            "jars": jars(rest)}


def leftover(rest: Rest, stopped_ids) -> list:
    """Right before the JobManager stops: the jobs it would end without a savepoint (savepoint.leftover)."""
    overview = rest.get("/jobs/overview")
    jobs = [live.normalize_job(j) for j in (overview.get("jobs") or [])] if isinstance(overview, Mapping) else []
    configs = {}
    for job in jobs:
        if job["state"] not in live.TERMINAL_JOB_STATES and job["id"] not in set(map(str, stopped_ids or [])):
            try:
                configs[job["id"]] = rest.get(f"/jobs/{job['id']}/checkpoints/config")
            except LiveError:
                configs[job["id"]] = None
    return savepoint.leftover(jobs, stopped_ids, configs)


def stop_with_savepoint(rest: Rest, record: Mapping, directory: str, *, timeout: float, interval: float = 0.5,
                        clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep
                        ) -> dict:
    """Stop one job with a savepoint and wait: {state: done|failed, location, error, seconds}."""
    start = clock()
    try:
        answer = rest.post(f"/jobs/{record['id']}/stop", savepoint.stop_request(directory))
        trigger = answer.get("request-id") if isinstance(answer, Mapping) else None
        if not trigger:
            return {"state": "failed", "location": None, "error": f"no request-id in {answer!r}", "seconds": 0}
        while True:
            status = savepoint.savepoint_status(rest.get(f"/jobs/{record['id']}/savepoints/{trigger}"))
            waited = clock() - start
            if status["state"] != "pending":
                return {**status, "seconds": round(waited, 1)}
            if waited >= timeout:
                return {"state": "failed", "location": None, "seconds": round(waited, 1),
                        "error": f"the savepoint did not complete within {timeout:g}s "
                                 "(rolling_restart_savepoint_timeout); Flink may still complete it and end the "
                                 "job: look at the job, and resubmit it from its savepoint if it ended"}
            sleep(interval)
    except LiveError as exc:
        return {"state": "failed", "location": None, "error": str(exc), "seconds": round(clock() - start, 1)}


def submit(rest: Rest, record: Mapping, upload_dir: str | None) -> dict:
    """Resubmit one stopped job from its savepoint: {id, name, new_id, jar_source, jar_id, error}."""
    out = {"id": record["id"], "name": record.get("name"), "savepoint": record.get("savepoint"), "new_id": None,
           "jar_source": None, "jar_id": None, "error": None, "restored": None, "reason": None}
    try:
        choice = savepoint.choose_jar(record, jars(rest), upload_dir)
        if choice["source"] == "controller":
            choice["id"] = rest.upload(choice["path"])["id"]
        out["jar_source"], out["jar_id"] = choice["source"], choice["id"]
        answer = rest.post(f"/jars/{choice['id']}/run", savepoint.run_request(record, record["savepoint"]),
                           timeout=max(rest.timeout, 60))
        out["new_id"] = answer.get("jobid") if isinstance(answer, Mapping) else None
        if not out["new_id"]:
            out["error"] = f"the run answered no job id ({answer!r})"
    except (LiveError, savepoint.SavepointError) as exc:
        out["error"] = str(exc)
    return out


def wait_restored(rest: Rest, entries: list, *, timeout: float, interval: float = 1.0,
                  clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> list:
    """Wait until each resubmitted job RUNS with all its tasks and restored from its savepoint (or fails)."""
    start = clock()
    waiting = [e for e in entries if e.get("new_id") and not e.get("error")]
    while waiting:
        for entry in list(waiting):
            try:
                detail = rest.get(f"/jobs/{entry['new_id']}")
                state = detail.get("state") if isinstance(detail, Mapping) else None
                if state in live.TERMINAL_JOB_STATES:
                    entry.update(restored=False, error=f"the resubmitted job {entry['new_id']} is {state}")
                    waiting.remove(entry)
                    continue
                counts = (detail.get("status-counts") or {}) if isinstance(detail, Mapping) else {}
                running = state == "RUNNING" and bool(counts) and \
                    all(v == 0 for k, v in counts.items() if k not in ("RUNNING", "FINISHED"))
                status = savepoint.restore_status(rest.get(f"/jobs/{entry['new_id']}/checkpoints"), entry["savepoint"])
                entry["reason"] = status["reason"]
                if status["restored"] is False:
                    entry.update(restored=False, error=status["reason"])
                    waiting.remove(entry)
                elif status["restored"] and running:
                    entry["restored"] = True
                    waiting.remove(entry)
            except LiveError as exc:
                entry["reason"] = str(exc)
        waited = clock() - start
        if not waiting:
            break
        if waited >= timeout:
            for entry in waiting:
                entry.update(restored=False, error=f"not RUNNING and restored within {timeout:g}s: {entry['reason']}")
            break
        sleep(interval)
    return entries
