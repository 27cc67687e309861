# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live cluster as the JobManager's REST API shows it, compared with what the files on disk give.

Controller side, standard library only (``urllib``); never imports Ansible.

- ``snapshot(url)``: the cluster now - ``/overview``, ``/taskmanagers`` (ids, slots, the
  ``memoryConfiguration`` in bytes under the memory model's component names) and ``/jobs/overview``.
- ``snapshot(url, exceptions=True)`` also reads each job's exception history (``/jobs/<id>/exceptions``:
  ``normalize_exceptions``), which names the TaskManager (``taskManagerId``) and its address of each failure.
- ``wait(url, conditions)``: poll until TaskManagers are registered (with the slots and memory a file
  gives) or gone, jobs are RUNNING, the cluster has its slots; a registered TaskManager whose memory
  differs from the expectation fails at once (waiting cannot fix it).
- ``live_findings(results, cluster)``: the live audit - per host, "changed on disk but not
  restarted" and "running with memory the file does not give", telling them apart by the file's
  modification time against the TaskManager process's start (measured on the host by the gather:
  module_utils/live_probe.py).
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping

from ansible_collections.flinkops.flink.plugins.module_utils.log_tail import redact_line
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import MemorySizeError, parse_bytes

# REST memoryConfiguration field -> memory model component (plugins/module_utils/memory_model.py).
REST_MEMORY = {
    "frameworkHeap": "framework_heap",
    "taskHeap": "task_heap",
    "frameworkOffHeap": "framework_off_heap",
    "taskOffHeap": "task_off_heap",
    "networkMemory": "network",
    "managedMemory": "managed",
    "jvmMetaspace": "jvm_metaspace",
    "jvmOverhead": "jvm_overhead",
    "totalFlinkMemory": "total_flink",
    "totalProcessMemory": "total_process",
}
COMPONENTS = tuple(REST_MEMORY.values())
LABELS = {
    "framework_heap": "Framework Heap",
    "task_heap": "Task Heap",
    "framework_off_heap": "Framework Off-Heap",
    "task_off_heap": "Task Off-Heap",
    "network": "Network",
    "managed": "Managed Memory",
    "jvm_metaspace": "JVM Metaspace",
    "jvm_overhead": "JVM Overhead",
    "total_flink": "Total Flink Memory",
    "total_process": "Total Process Memory",
    "slots": "Task slots",
    "heap": "JVM Heap",
    "off_heap": "Off-Heap",
    "jvm.heap": "-Xmx",
    "jvm.metaspace": "-XX:MaxMetaspaceSize",
    "jvm.direct": "-XX:MaxDirectMemorySize",
}
TERMINAL_JOB_STATES = ("FINISHED", "CANCELED", "FAILED")
CONDITION_KEYS = ("registered", "absent", "expect", "jobs_running", "min_slots", "new_checkpoint")


class LiveError(Exception):
    """The JobManager's REST API could not be read, or a condition can never be met."""


# --- REST ------------------------------------------------------------------------------------------


def split_credentials(url) -> tuple:
    """``http://user:secret@jm:8081`` -> (``http://jm:8081``, user, secret); (url, None, None) without userinfo.

    urllib takes userinfo for part of the host; the address that messages show never carries it.
    """
    if not isinstance(url, str):
        return url, None, None
    parts = urllib.parse.urlsplit(url.strip())
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _sep, password = userinfo.partition(":")
    clean = urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, urllib.parse.unquote(user), urllib.parse.unquote(password)


def normalize_url(url) -> str:
    """The REST address without userinfo and trailing slash; LiveError (never showing a password) when unusable."""
    clean, user, _password = split_credentials(url)
    shown = clean if user is None else clean.replace("://", "://***@", 1)
    if not isinstance(clean, str) or not clean.strip():
        raise LiveError("url must be the JobManager's REST address like http://jm.example.com:8081, got "
                        f"{'a ' + type(url).__name__ if not isinstance(url, str) else repr(shown)}")
    clean = clean.strip().rstrip("/")
    parts = urllib.parse.urlsplit(clean)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise LiveError(f"url {shown!r} is not an http(s) address; give it like http://jm.example.com:8081")
    return clean


def auth_headers(url, user=None, password=None) -> dict:
    """An ``Authorization: Basic`` header from ``user``/``password``, else from the URL's userinfo; {} without."""
    _clean, url_user, url_password = split_credentials(url)
    if user is None and url_user is not None:
        user, password = url_user, url_password
    if user is None:
        return {}
    token = base64.b64encode(f"{user}:{password or ''}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}


def open_request(request, *, timeout: float, validate_certs: bool, label: str, http_detail=None) -> bytes:
    """Send a urllib request and return the body; LiveError starts with ``label`` and says what went wrong
    (``http_detail(exc)`` adds what an HTTP error's body explains)."""
    handlers = []
    if request.full_url.startswith("https:") and not validate_certs:
        # The user asked for it (validate_certs: false).
        handlers.append(urllib.request.HTTPSHandler(context=ssl._create_unverified_context()))  # noqa: S323
    try:
        # Controller-side code that knows Flink never imports Ansible (so no open_url here).
        with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as resp:
            return resp.read()
    except urllib.error.HTTPError as exc:
        detail = f": {http_detail(exc)}" if http_detail else ""
        raise LiveError(f"{label}: HTTP {exc.code} {exc.reason}{detail}") from None
    except urllib.error.URLError as exc:
        raise LiveError(f"{label}: cannot connect ({exc.reason})") from None
    except (TimeoutError, OSError) as exc:
        raise LiveError(f"{label}: {type(exc).__name__}: {exc}") from None


def fetch_json(url: str, path: str, *, timeout: float = 10, validate_certs: bool = True,
               headers: Mapping | None = None):
    """GET ``url + path`` and decode JSON; LiveError names the address and what went wrong."""
    full = url + path
    request = urllib.request.Request(full, headers={"Accept": "application/json", **dict(headers or {})})
    body = open_request(request, timeout=timeout, validate_certs=validate_certs, label=full)
    try:
        return json.loads(body)
    except ValueError:
        raise LiveError(f"{full}: the answer is not JSON (is this Flink's REST port?)") from None


def rest_memory(memory_configuration) -> dict | None:
    """REST ``memoryConfiguration`` -> {component: bytes} in the memory model's names."""
    if not isinstance(memory_configuration, Mapping):
        return None
    out = {}
    for field, name in REST_MEMORY.items():
        value = memory_configuration.get(field)
        out[name] = int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return out


def normalize_taskmanager(tm: Mapping) -> dict:
    path = str(tm.get("path") or "")
    address = None
    if "@" in path:
        address = path.split("@", 1)[1].split("/", 1)[0]
    hardware = tm.get("hardware") if isinstance(tm.get("hardware"), Mapping) else {}
    return {
        "id": str(tm.get("id")),
        "path": path or None,
        "address": address,
        "data_port": tm.get("dataPort"),
        "slots": tm.get("slotsNumber"),
        "free_slots": tm.get("freeSlots"),
        "cpu_cores": hardware.get("cpuCores"),
        "physical_memory": hardware.get("physicalMemory"),
        "memory": rest_memory(tm.get("memoryConfiguration")),
        # despite its name, the time (epoch ms) of the JobManager's last heartbeat from it
        "last_heartbeat": tm.get("timeSinceLastHeartbeat"),
    }


def jvm_identity(tm: Mapping) -> str:
    """Which JVM a registered TaskManager is, as REST shows it: its RPC path and data port (both new per JVM)."""
    return f"{tm.get('path') or tm.get('address')} data port {tm.get('data_port')}"


def normalize_job(job: Mapping) -> dict:
    tasks = job.get("tasks") if isinstance(job.get("tasks"), Mapping) else {}
    return {
        "id": str(job.get("jid")),
        "name": job.get("name"),
        "state": job.get("state"),
        "tasks_total": tasks.get("total"),
        "tasks_running": tasks.get("running"),
        "start_time": job.get("start-time"),
    }


def snapshot(url: str, *, timeout: float = 10, validate_certs: bool = True, headers: Mapping | None = None,
             jobmanager: bool = False, checkpoints: bool = False, exceptions: bool = False) -> dict:
    """The cluster now: overview, TaskManagers (sorted by id) and jobs.

    ``jobmanager``: also the JobManager's own memory (``/jobmanager/config``, ``/jobmanager/environment``);
    ``checkpoints``: also each RUNNING job's last completed checkpoint; ``exceptions``: also each job's
    exception history (``normalize_exceptions``), as ``exceptions`` of the job.
    """
    kwargs = {"timeout": timeout, "validate_certs": validate_certs, "headers": headers}
    overview = fetch_json(url, "/overview", **kwargs)
    tms = fetch_json(url, "/taskmanagers", **kwargs)
    jobs = fetch_json(url, "/jobs/overview", **kwargs)
    out = from_answers(url, overview, tms, jobs)
    if jobmanager:
        config = fetch_json(url, "/jobmanager/config", **kwargs)
        environment = fetch_json(url, "/jobmanager/environment", **kwargs)
        out["jobmanager"] = {"memory": jobmanager_memory(config, environment)}
    if checkpoints:
        for job in out["jobs"]:
            if job["state"] == "RUNNING":
                job["checkpoint"] = last_checkpoint(url, job["id"], **kwargs)
    if exceptions:
        for job in out["jobs"]:
            job["exceptions"] = normalize_exceptions(
                fetch_json(url, f"/jobs/{urllib.parse.quote(job['id'], safe='')}/exceptions", **kwargs))
    return out


def from_answers(url: str, overview, tms, jobs, exceptions: Mapping | None = None) -> dict:
    """The snapshot from the answers of ``/overview``, ``/taskmanagers`` and ``/jobs/overview`` (and, per job id,
    ``/jobs/<id>/exceptions``)."""
    if not isinstance(overview, Mapping) or not isinstance(tms, Mapping) or not isinstance(jobs, Mapping):
        raise LiveError(f"{url}: unexpected answer shape (is this a Flink JobManager?)")
    taskmanagers = sorted((normalize_taskmanager(t) for t in tms.get("taskmanagers") or []), key=lambda t: t["id"])
    out = {
        "url": url,
        "flink_version": overview.get("flink-version"),
        "slots_total": overview.get("slots-total"),
        "slots_available": overview.get("slots-available"),
        "taskmanager_count": overview.get("taskmanagers"),
        "taskmanagers": taskmanagers,
        "jobs": sorted((normalize_job(j) for j in jobs.get("jobs") or []), key=lambda j: j["id"]),
    }
    for job in out["jobs"] if exceptions is not None else ():
        if job["id"] in exceptions:
            job["exceptions"] = normalize_exceptions(exceptions[job["id"]])
    return out


# --- a job's exception history (JobExceptionsHandler) ------------------------------------------------------

# Flink 1.13+ answers ``exceptionHistory.entries`` (RootExceptionInfo: exceptionName, stacktrace, timestamp in
# epoch ms, taskName, endpoint - ``location`` before 1.19 and still sent beside it in 1.x -, taskManagerId,
# failureLabels, concurrentExceptions); 1.x also sends the deprecated root-exception / all-exceptions fields.
# Only the history is read. A stack trace keeps its message lines (the exception and each "Caused by:"),
# not its frames: Flink's messages are what names the cause, and a page of frames per entry is not evidence.
MAX_CAUSE_LINES = 40


def _causes(stacktrace) -> list:
    lines = []
    for line in str(stacktrace or "").splitlines():
        text = line.strip()
        if not text or text.startswith(("at ", "... ")):  # a frame, or "... 12 more"
            continue
        lines.append(redact_line(line.rstrip()))
        if len(lines) >= MAX_CAUSE_LINES:
            break
    return lines


def _exception_info(entry: Mapping) -> dict:
    endpoint = entry.get("endpoint") or entry.get("location")
    return {
        "exception": redact_line(str(entry.get("exceptionName") or "")),
        "causes": _causes(entry.get("stacktrace")),
        "timestamp": entry.get("timestamp") if isinstance(entry.get("timestamp"), int) else None,
        "task": entry.get("taskName"),
        "endpoint": str(endpoint) if endpoint else None,
        "taskmanager_id": str(entry["taskManagerId"]) if entry.get("taskManagerId") else None,
        "failure_labels": dict(entry.get("failureLabels") or {}),
    }


def normalize_exceptions(answer) -> dict:
    """A ``/jobs/<id>/exceptions`` answer -> ``{entries: [...], truncated}``, newest first as Flink lists them;
    each entry ``exception``, ``causes`` (message lines, sensitive values hidden), ``timestamp`` (epoch ms),
    ``task``, ``endpoint`` (host:port of the TaskManager), ``taskmanager_id``, ``failure_labels`` and
    ``concurrent`` (the failures that came with it, same shape)."""
    if not isinstance(answer, Mapping):
        raise LiveError(f"the exceptions answer is not a JSON object (got {type(answer).__name__})")
    history = answer.get("exceptionHistory") if isinstance(answer.get("exceptionHistory"), Mapping) else {}
    entries = []
    for entry in history.get("entries") or ():
        if not isinstance(entry, Mapping):
            continue
        info = _exception_info(entry)
        info["concurrent"] = [_exception_info(c) for c in entry.get("concurrentExceptions") or ()
                              if isinstance(c, Mapping)]
        entries.append(info)
    return {"entries": entries, "truncated": bool(history.get("truncated"))}


def last_checkpoint(url: str, job_id: str, **kwargs) -> dict | None:
    """A job's last completed checkpoint {id, external_path, completed_at}; None when it does not checkpoint."""
    try:
        config = fetch_json(url, f"/jobs/{job_id}/checkpoints/config", **kwargs)
    except LiveError:
        return None  # Flink answers an error when checkpointing is off
    interval = config.get("interval") if isinstance(config, Mapping) else None
    if not isinstance(interval, int) or isinstance(interval, bool) or interval <= 0 or interval >= 2 ** 63 - 1:
        return None
    stats = fetch_json(url, f"/jobs/{job_id}/checkpoints", **kwargs)
    latest = ((stats.get("latest") or {}).get("completed") if isinstance(stats, Mapping) else None) or {}
    return {"id": latest.get("id"), "external_path": latest.get("external_path"),
            "completed_at": latest.get("latest_ack_timestamp")}


# --- the JobManager's own memory ----------------------------------------------------------------------------

# /jobmanager/config key -> memory model component (the sizes Flink derived and pinned with -D at start).
JM_CONFIG_MEMORY = {
    "jobmanager.memory.heap.size": "heap",
    "jobmanager.memory.off-heap.size": "off_heap",
    "jobmanager.memory.jvm-metaspace.size": "jvm_metaspace",
}
JM_JVM_OPTIONS = {"-Xmx": "heap", "-XX:MaxMetaspaceSize=": "metaspace", "-XX:MaxDirectMemorySize=": "direct"}


def _jvm_bytes(text: str) -> int | None:
    """A JVM size argument (``469762048``, ``512m``) in bytes."""
    text = text.strip().lower()
    factor = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}.get(text[-1:], 1)
    digits = text[:-1] if factor != 1 else text
    return int(digits) * factor if digits.isdigit() else None


def jobmanager_memory(config, environment) -> dict | None:
    """The running JobManager's memory from its REST answers: {sizes, jvm} as the memory model names them.

    ``config``: ``/jobmanager/config`` ([{key, value}]); ``environment``: ``/jobmanager/environment``.
    """
    if not isinstance(config, list):
        return None
    values = {str(item.get("key")): str(item.get("value")) for item in config if isinstance(item, Mapping)}
    sizes = {}
    for key, name in JM_CONFIG_MEMORY.items():
        try:
            sizes[name] = parse_bytes(values[key]) if key in values else None
        except MemorySizeError:
            sizes[name] = None
    try:
        low = parse_bytes(values.get("jobmanager.memory.jvm-overhead.min", ""))
        high = parse_bytes(values.get("jobmanager.memory.jvm-overhead.max", ""))
        sizes["jvm_overhead"] = low if low == high else None  # Flink pins both to the derived size
    except MemorySizeError:
        sizes["jvm_overhead"] = None
    if None not in (sizes["heap"], sizes["off_heap"]):
        sizes["total_flink"] = sizes["heap"] + sizes["off_heap"]
        if None not in (sizes["jvm_metaspace"], sizes["jvm_overhead"]):
            sizes["total_process"] = sizes["total_flink"] + sizes["jvm_metaspace"] + sizes["jvm_overhead"]
    jvm = {"heap": None, "metaspace": None, "direct": None}
    options = ((environment or {}).get("jvm") or {}).get("options") if isinstance(environment, Mapping) else None
    for option in options or []:
        for prefix, name in JM_JVM_OPTIONS.items():
            if isinstance(option, str) and option.startswith(prefix):
                jvm[name] = _jvm_bytes(option[len(prefix):])  # the last one wins, as in the JVM
    return {"sizes": sizes, "jvm": jvm}


def jobmanager_differences(running: Mapping, model: Mapping) -> list:
    """Where the running JobManager differs from its file's model, byte for byte: [{component, running, file}]."""
    memory = running.get("memory") or {}
    out = []
    for name, value in (model.get("sizes") or {}).items():
        if (memory.get("sizes") or {}).get(name, value) != value:
            out.append({"component": name, "running": memory["sizes"][name], "file": value})
    for name, value in (model.get("jvm") or {}).items():
        if (memory.get("jvm") or {}).get(name, value) != value:
            out.append({"component": f"jvm.{name}", "running": memory["jvm"][name], "file": value})
    return out


# --- comparing ---------------------------------------------------------------------------------------


def memory_differences(running: Mapping | None, predicted: Mapping | None) -> list:
    """Components where the running TaskManager differs from the prediction: [{component, running, file}]."""
    if not running or not predicted:
        return []
    out = []
    for name in COMPONENTS:
        if name in predicted and running.get(name) != predicted.get(name):
            out.append({"component": name, "running": running.get(name), "file": predicted.get(name)})
    return out


def _mib(value) -> str:
    if not isinstance(value, int):
        return "unknown"
    if value % (1 << 20) == 0:
        return f"{value >> 20} MiB"
    return f"{value / (1 << 20):.1f} MiB ({value} bytes)"


def _amount(component: str, value) -> str:
    if component == "jvm.direct" and value is None:
        return "none"
    return str(value) if component == "slots" else _mib(value)


def describe_differences(diffs: list, limit: int = 4) -> str:
    parts = [f"{LABELS.get(d['component'], d['component'])} {_amount(d['component'], d['running'])} running, "
             f"{_amount(d['component'], d['file'])} from the file" for d in diffs[:limit]]
    if len(diffs) > limit:
        parts.append(f"and {len(diffs) - limit} more")
    return "; ".join(parts)


def compare_expected(tm: Mapping, model: Mapping) -> list:
    """Differences between a registered TaskManager and a memory model result (sizes and slots)."""
    diffs = []
    if not model or not model.get("valid"):
        return diffs
    slots = model.get("slots")
    # 0 slots: registered, slot report still on its way; not a difference.
    if isinstance(slots, int) and tm.get("slots") and tm.get("slots") != slots:
        diffs.append({"component": "slots", "running": tm.get("slots"), "file": slots})
    return diffs + memory_differences(tm.get("memory"), model.get("sizes"))


def check_conditions(snap: Mapping, conditions: Mapping) -> tuple:
    """(unmet, fatal): what is not true yet, and what can never become true by waiting."""
    by_id = {t["id"]: t for t in snap["taskmanagers"]}
    unmet, fatal = [], []
    expect = conditions.get("expect") or {}
    for tm_id in dict.fromkeys([*(conditions.get("registered") or []), *expect]):
        if tm_id not in by_id:
            unmet.append(f"TaskManager {tm_id} is not registered")
        elif not by_id[tm_id].get("slots"):
            # A TaskManager registers first and reports its slots a moment later.
            unmet.append(f"TaskManager {tm_id} is registered but has not reported its slots yet")
    for tm_id, model in expect.items():
        tm = by_id.get(tm_id)
        if tm is None or not tm.get("slots"):
            continue
        if not isinstance(model, Mapping) or not model.get("valid"):
            fatal.append(f"TaskManager {tm_id}: no valid memory model to compare with "
                         f"({(model or {}).get('error') if isinstance(model, Mapping) else model!r})")
            continue
        diffs = compare_expected(tm, model)
        if diffs:
            fatal.append(f"TaskManager {tm_id} runs with memory its file does not give: {describe_differences(diffs)}")
    for tm_id in conditions.get("absent") or []:
        if tm_id in by_id:
            unmet.append(f"TaskManager {tm_id} is still registered")
    min_slots = conditions.get("min_slots")
    if min_slots is not None and (snap.get("slots_total") or 0) < int(min_slots):
        unmet.append(f"the cluster has {snap.get('slots_total')} slots, expected at least {min_slots}")
    jobs_running = conditions.get("jobs_running")
    if jobs_running:
        jobs = {j["id"]: j for j in snap["jobs"]}
        wanted = list(jobs_running) if isinstance(jobs_running, (list, tuple)) else \
            [j["id"] for j in snap["jobs"] if j["state"] not in TERMINAL_JOB_STATES]
        for jid in wanted:
            job = jobs.get(jid)
            if job is None:
                fatal.append(f"job {jid} is gone from the JobManager")
            elif job["state"] in TERMINAL_JOB_STATES:
                fatal.append(f"job {job['name']} ({jid}) is {job['state']}")
            elif job["state"] != "RUNNING" or job["tasks_running"] != job["tasks_total"]:
                unmet.append(f"job {job['name']} ({jid}) is {job['state']} with {job['tasks_running']} of "
                             f"{job['tasks_total']} tasks running")
    return unmet, fatal


def taskmanager_checks(snap: Mapping, conditions: Mapping) -> dict:
    """Per TaskManager id named in ``conditions``: {registered, slots, matches, differences}."""
    by_id = {t["id"]: t for t in (snap or {}).get("taskmanagers") or []}
    expect = conditions.get("expect") or {}
    ids = list(dict.fromkeys([*(conditions.get("registered") or []), *expect, *(conditions.get("absent") or [])]))
    out = {}
    for tm_id in ids:
        tm = by_id.get(tm_id)
        model = expect.get(tm_id)
        diffs = compare_expected(tm, model) if tm is not None and isinstance(model, Mapping) else []
        out[tm_id] = {
            "registered": tm is not None and bool(tm.get("slots")),
            "slots": tm.get("slots") if tm else None,
            "matches": (not diffs) if tm is not None and isinstance(model, Mapping) and model.get("valid") else None,
            "differences": diffs,
        }
    return out


def validate_conditions(conditions) -> dict:
    if conditions is None:
        return {}
    if not isinstance(conditions, Mapping):
        raise LiveError(f"wait_for must be a mapping with keys among {', '.join(CONDITION_KEYS)}")
    unknown = sorted(set(conditions) - set(CONDITION_KEYS))
    if unknown:
        raise LiveError(f"wait_for has unknown key(s) {', '.join(unknown)}; accepted: {', '.join(CONDITION_KEYS)}")
    out = dict(conditions)
    for key in ("registered", "absent"):
        value = out.get(key)
        if value is None:
            continue
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise LiveError(f"wait_for.{key} must be a list of TaskManager ids (resource ids), got {value!r}")
        out[key] = [str(v) for v in value]
    if out.get("expect") is not None and not isinstance(out["expect"], Mapping):
        raise LiveError("wait_for.expect must map TaskManager ids to memory model results "
                        "(flink_config_info's memory.taskmanager)")
    if out.get("min_slots") is not None:
        try:
            out["min_slots"] = int(out["min_slots"])
        except (TypeError, ValueError):
            raise LiveError(f"wait_for.min_slots must be a number, got {out['min_slots']!r}") from None
    jobs = out.get("jobs_running")
    if jobs is not None and not isinstance(jobs, bool) and not isinstance(jobs, (list, tuple)):
        raise LiveError("wait_for.jobs_running must be true (every job not finished) or a list of job ids, "
                        f"got {jobs!r}")
    checkpointing = out.get("new_checkpoint")
    if checkpointing is not None:
        if isinstance(checkpointing, str) or not isinstance(checkpointing, (list, tuple)):
            raise LiveError(f"wait_for.new_checkpoint must be a list of job ids, got {checkpointing!r}")
        out["new_checkpoint"] = [str(v) for v in checkpointing]
    return out


def wait(url: str, conditions: Mapping, *, timeout: float, interval: float = 1.0, request_timeout: float = 10,
         validate_certs: bool = True, headers: Mapping | None = None,
         clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> dict:
    """Poll until ``conditions`` hold, one fails for good, or ``timeout`` seconds pass.

    Returns {ok, snapshot, unmet, fatal, waited, checks, rest_failures}. An unreachable REST API counts as
    unmet (a JobManager may be restarting) until the timeout; each such failure is listed in
    ``rest_failures`` (the rollout blames the JobManager for it; not ``unreachable``, which Ansible takes
    for the host being unreachable). ``new_checkpoint``: once everything else
    holds, each of these jobs that checkpoints must complete a checkpoint newer than the one it had then.
    """
    start = clock()
    snap, unmet, fatal, failures = None, [], [], []
    kwargs = {"timeout": request_timeout, "validate_certs": validate_certs, "headers": headers}
    baseline = None  # job id -> last completed checkpoint id when the rest first held
    while True:
        try:
            snap = snapshot(url, **kwargs)
            unmet, fatal = check_conditions(snap, conditions)
            if not unmet and not fatal and conditions.get("new_checkpoint"):
                latest = {jid: last_checkpoint(url, jid, **kwargs) for jid in conditions["new_checkpoint"]}
                if baseline is None:
                    baseline = {jid: (c or {}).get("id") or 0 for jid, c in latest.items() if c is not None}
                names = {j["id"]: j.get("name") for j in snap["jobs"]}
                unmet = [f"job {names.get(jid)} ({jid}) has not completed a checkpoint since it runs again "
                         f"(last: {seen})" for jid, seen in baseline.items()
                         if ((latest.get(jid) or {}).get("id") or 0) <= seen]
        except LiveError as exc:
            unmet, fatal = [str(exc)], []
            if len(failures) < 5:
                failures.append(str(exc))
        waited = clock() - start
        if fatal or not unmet or waited >= timeout:
            return {"ok": not fatal and not unmet, "snapshot": snap, "unmet": unmet, "fatal": fatal,
                    "waited": round(waited, 1), "checks": taskmanager_checks(snap, conditions),
                    "rest_failures": failures}
        sleep(min(interval, max(0.0, timeout - waited)))


# --- the live audit --------------------------------------------------------------------------------------

# What tells the two apart is measured on each TaskManager host by the gather itself (module_utils/
# live_probe.py, flink_config_info with live: true): {now, mtime, processes: [{pid, started}]}.


def configured_resource_id(result: Mapping) -> str | None:
    """``taskmanager.resource-id`` of a gathered file, None when unset (or hidden)."""
    config = result.get("config") if isinstance(result, Mapping) else None
    value = (config or {}).get("taskmanager.resource-id")
    return str(value) if value not in (None, "", "******") else None


def resource_id(host: str, result: Mapping, override=None) -> str:
    """The one rule for the id a host's TaskManager registers under over REST.

    ``override`` (the host's rolling_restart_resource_id) when set, else its file's
    taskmanager.resource-id, else the inventory name. The audit, the rollout and the report all use this.
    """
    if override not in (None, ""):
        return str(override)
    return configured_resource_id(result) or str(host)


def _finding(severity, code, message, fix, key=None) -> dict:
    return {"severity": severity, "code": code, "key": key, "line": None, "message": message, "fix": fix,
            "process": "taskmanager"}


def live_findings(results: Mapping, cluster: Mapping) -> dict:
    """Per host, what the running cluster says against each TaskManager's file on disk.

    ``results``: host -> flink_config_info result; ``cluster``: a ``snapshot`` (or the
    flink_cluster_info result). A result's ``live_probe`` (the gather with ``live: true``) tells a
    restart pending from a process running other memory.
    Codes: ``live-restart-pending`` (the file changed after the TaskManager started and gives other
    memory), ``live-memory-mismatch`` (the running memory is not what the file gives, and the file is
    not newer than the process), ``live-memory-differs`` (either; the start time is unknown),
    ``live-file-changed`` (info: the file changed after start, same memory), ``live-not-registered``,
    ``live-unknown-taskmanagers`` (info, on the first JobManager host).
    """
    by_id = {t["id"]: t for t in cluster.get("taskmanagers") or []}
    findings: dict = {}
    claimed = set()
    jm_hosts = []
    for host, result in results.items():
        if not isinstance(result, Mapping) or result.get("failed") or result.get("unreachable"):
            continue
        processes = result.get("processes") or []
        if "jobmanager" in processes:
            jm_hosts.append(host)
        if "taskmanager" not in processes:
            continue
        tm_id = resource_id(host, result)
        claimed.add(tm_id)
        model = (result.get("memory") or {}).get("taskmanager") or {}
        tm = by_id.get(tm_id)
        items = findings.setdefault(host, [])
        if tm is None:
            items.append(_finding(
                "warning", "live-not-registered",
                f"No TaskManager with id {tm_id!r} is registered with the JobManager at {cluster.get('url')}; "
                f"registered: {', '.join(sorted(by_id)) or 'none'}.",
                "Start the TaskManager, or set taskmanager.resource-id to the inventory hostname so its REST id "
                "maps to this host.", key="taskmanager.resource-id"))
            continue
        if not model.get("valid"):
            continue  # the lint reports a file Flink refuses; nothing to compare with
        diffs = compare_expected(tm, model)
        probe = result.get("live_probe")
        changed_after_start = None
        if isinstance(probe, Mapping) and probe.get("mtime") is not None and len(probe.get("processes") or []) == 1:
            changed_after_start = probe["mtime"] > probe["processes"][0]["started"]
        file = result.get("config_file") or "its config file"
        if diffs and changed_after_start:
            items.append(_finding(
                "warning", "live-restart-pending",
                f"Changed on disk but not restarted: {file} was modified after TaskManager {tm_id} started, and "
                f"gives other memory than it runs with: {describe_differences(diffs)}.",
                "Restart the TaskManager (flinkops.flink.rolling_restart) to run with the file's memory."))
        elif diffs and changed_after_start is False:
            items.append(_finding(
                "warning", "live-memory-mismatch",
                f"Running with memory the file does not give: TaskManager {tm_id} started after {file} was last "
                f"changed, yet runs with {describe_differences(diffs)}. Something else sizes it: dynamic "
                "properties (-D) on its command line, another conf dir (FLINK_CONF_DIR), or another host "
                "registering under this id.",
                "Find what starts the TaskManager with other settings (its unit or start script, FLINK_CONF_DIR, "
                "-D arguments) and make the file the only source of its memory."))
        elif diffs:
            items.append(_finding(
                "warning", "live-memory-differs",
                f"TaskManager {tm_id} runs with other memory than {file} gives: {describe_differences(diffs)}. "
                "Whether the file changed after it started is unknown (its process was not found on the host).",
                "Restart the TaskManager if the file changed since it started; otherwise find what starts it "
                "with other settings."))
        elif changed_after_start:
            items.append(_finding(
                "info", "live-file-changed",
                f"{file} was modified after TaskManager {tm_id} started; its memory is unaffected, other keys may "
                "not be in effect yet.",
                "Restart the TaskManager when those keys must take effect."))
    unknown = sorted(set(by_id) - claimed)
    if unknown and jm_hosts:
        findings.setdefault(sorted(jm_hosts)[0], []).append({
            "severity": "info", "code": "live-unknown-taskmanagers", "key": None, "line": None,
            "message": f"TaskManagers registered with the JobManager but matching no audited host: "
                       f"{', '.join(unknown)}.",
            "fix": "Add them to the inventory (group flink_taskmanager) with taskmanager.resource-id set to the "
                   "inventory hostname, or stop them if they should not be part of the cluster.",
            "process": "jobmanager"})
    if len(jm_hosts) == 1 and isinstance(cluster.get("jobmanager"), Mapping):
        # With several JobManager hosts (HA) REST describes the one asked, which may be any of them.
        finding = jobmanager_finding(results[jm_hosts[0]], cluster["jobmanager"])
        if finding:
            findings.setdefault(jm_hosts[0], []).append(finding)
    return {host: items for host, items in findings.items() if items}


def jobmanager_finding(result: Mapping, running: Mapping) -> dict | None:
    """The JobManager's running memory against its file, byte for byte (``running``: snapshot's ``jobmanager``)."""
    model = (result.get("memory") or {}).get("jobmanager") or {}
    if not model.get("valid") or not (running.get("memory") or {}).get("sizes"):
        return None
    diffs = jobmanager_differences(running, model)
    probe = result.get("live_probe")
    started = None
    if isinstance(probe, Mapping) and probe.get("mtime") is not None and len(probe.get("jobmanagers") or []) == 1:
        started = probe["jobmanagers"][0]["started"]
    file = result.get("config_file") or "its config file"
    if diffs and started is not None and probe["mtime"] > started:
        return _finding(
            "warning", "live-restart-pending",
            f"Changed on disk but not restarted: {file} was modified after the JobManager started, and gives "
            f"other memory than it runs with: {describe_differences(diffs)}.",
            "Restart the JobManager (without high availability its jobs end with it: take a savepoint first).",
        ) | {"process": "jobmanager"}
    if diffs and started is not None:
        return _finding(
            "warning", "live-memory-mismatch",
            f"Running with memory the file does not give: the JobManager started after {file} was last changed, "
            f"yet runs with {describe_differences(diffs)}. Something else sizes it: dynamic properties (-D), "
            "another conf dir (FLINK_CONF_DIR), or another JobManager answering at this address.",
            "Find what starts the JobManager with other settings and make the file the only source of its memory.",
        ) | {"process": "jobmanager"}
    if diffs:
        return _finding(
            "warning", "live-memory-differs",
            f"The JobManager runs with other memory than {file} gives: {describe_differences(diffs)}. Whether the "
            "file changed after it started is unknown (its process was not found on the host).",
            "Restart the JobManager if the file changed since it started; otherwise find what starts it with "
            "other settings.") | {"process": "jobmanager"}
    return None


def live_section(cluster: Mapping | None, results: Mapping) -> dict | None:
    """The report's ``live`` object: what the JobManager said, and which host each TaskManager is."""
    if cluster is None:
        return None
    if cluster.get("failed") or "taskmanagers" not in cluster:
        return {"url": cluster.get("url"), "ok": False, "msg": str(cluster.get("msg") or "no answer"),
                "flink_version": None, "slots_total": None, "taskmanagers": [], "jobs": []}
    hosts_by_id = {}
    for host, result in results.items():
        if isinstance(result, Mapping) and "taskmanager" in (result.get("processes") or []) \
                and not result.get("failed") and not result.get("unreachable"):
            hosts_by_id[resource_id(host, result)] = host
    return {
        "url": cluster.get("url"),
        "ok": True,
        "msg": None,
        "flink_version": cluster.get("flink_version"),
        "slots_total": cluster.get("slots_total"),
        "taskmanagers": [{"id": t["id"], "host": hosts_by_id.get(t["id"]), "slots": t.get("slots"),
                          "memory": t.get("memory")} for t in cluster.get("taskmanagers") or []],
        "jobs": [{"id": j.get("id"), "name": j.get("name"), "state": j.get("state")}
                 for j in cluster.get("jobs") or []],
    }


def live_audit(results: Mapping, cluster: Mapping | None) -> tuple:
    """(findings by host, the report's live section) for the audit; ``cluster`` may be a failed result.

    Each result's ``live_probe`` (flink_config_info with ``live: true``) is used where present.
    """
    section = live_section(cluster, results)
    if section is None:
        return {}, None
    if not section["ok"]:
        hosts = sorted(h for h, r in results.items() if isinstance(r, Mapping) and not r.get("failed")
                       and not r.get("unreachable") and "jobmanager" in (r.get("processes") or []))
        hosts = hosts or sorted(h for h, r in results.items() if isinstance(r, Mapping)
                                and "taskmanager" in (r.get("processes") or []))
        if not hosts:
            return {}, section
        return {hosts[0]: [{
            "severity": "error", "code": "live-unreachable", "key": None, "line": None,
            "message": f"The live audit could not read the JobManager's REST API: {section['msg']}",
            "fix": "Check audit_rest_url (the JobManager's REST address as the controller reaches it) and that the "
                   "JobManager runs.", "process": "jobmanager"}]}, section
    return live_findings(results, cluster), section
