# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rolling restart's decisions: what to restart and why, in which batches, whether the next batch
may go, who is to blame when one fails, and what to roll back.

Controller side, standard library only; never imports Ansible. The role
(roles/rolling_restart) only carries these decisions out with stock modules; the filter
``rollout_decide`` (plugins/filter/rollout.py) is its door in.

Inputs are plain data: flink_config_info results (``gathers``), flink_cluster_info snapshots
(``cluster``: plugins/plugin_utils/live.py) and, per host, the few inventory variables the role reads.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible_collections.flinkops.flink.plugins.plugin_utils import jobmanager_rollout as jmr
from ansible_collections.flinkops.flink.plugins.plugin_utils import jvm_identity, live

# The inventory variables a TaskManager's or JobManager's entry is built from (the rest has a role default).
HOST_VARS = ("flink_home", "flink_conf_dir", "flink_pid_dir", "flink_ident_string", "flink_log_dir",
             "rolling_restart_resource_id", "rolling_restart_backup_file", "rolling_restart_systemd_unit",
             "enforce_result", "flink_rest_url", "ansible_host", "rolling_restart_jobmanager_systemd_unit")
JOBMANAGER_MODES = ("", "savepoint")
TASKMANAGERS_AFTER = ("restart", "reconnect")

# Arguments of the whole rollout: name -> (check, what it must be). Validated once, before anything is written.
_INT_ARGS = {
    "rolling_restart_batch_size": 1,
    "rolling_restart_max_failures": 0,
    "rolling_restart_stop_timeout": 1,
    "rolling_restart_register_timeout": 1,
    "rolling_restart_jobs_timeout": 1,
    "rolling_restart_checkpoint_timeout": 1,
    "rolling_restart_rest_timeout": 1,
    "rolling_restart_start_grace": 0,
}
_BOOL_ARGS = ("rolling_restart_verify_memory", "rolling_restart_wait_for_jobs", "rolling_restart_wait_for_checkpoint",
              "rolling_restart_jobmanager", "rolling_restart_validate_certs")


class RolloutError(Exception):
    """A bad call of the decisions (not a failed rollout: that is a decision too)."""


# --- arguments -------------------------------------------------------------------------------------------


def check_arguments(args: Mapping) -> list:
    """Every problem with the rollout's arguments, in words (empty: all good). Never shows a password."""
    problems = []
    url = args.get("rolling_restart_rest_url")
    if url in (None, ""):
        problems.append("rolling_restart_rest_url is not set: give the JobManager's REST address as the controller "
                        "reaches it, like -e rolling_restart_rest_url=http://jm.example.com:8081")
    else:
        try:
            live.normalize_url(url)
        except live.LiveError as exc:
            problems.append(f"rolling_restart_rest_url: {exc}")
    for name, minimum in _INT_ARGS.items():
        if name not in args:
            continue
        value = args[name]
        number = _as_int(value)
        if number is None or number < minimum:
            problems.append(f"{name} must be a whole number of at least {minimum}, got {value!r}")
    for name in _BOOL_ARGS:
        if name in args and _as_bool(args[name]) is None:
            problems.append(f"{name} must be true or false, got {args[name]!r}")
    hosts = args.get("rolling_restart_hosts")
    if hosts is not None and (isinstance(hosts, str) or not isinstance(hosts, (list, tuple))):
        problems.append(f"rolling_restart_hosts must be a list of inventory hosts, got {hosts!r}")
    mode = args.get("rolling_restart_jobmanager_mode")
    if mode is not None and mode not in JOBMANAGER_MODES:
        problems.append(f"rolling_restart_jobmanager_mode must be \"\" (refuse without high availability) or "
                        f"savepoint, got {mode!r}")
    after = args.get("rolling_restart_taskmanagers_after_jobmanager")
    if after is not None and after not in TASKMANAGERS_AFTER:
        problems.append(f"rolling_restart_taskmanagers_after_jobmanager must be restart or reconnect, got {after!r}")
    quorum = args.get("rolling_restart_zookeeper_quorum")
    if quorum not in (None, "") and not isinstance(quorum, str):
        problems.append(f"rolling_restart_zookeeper_quorum must be host:port,... , got {quorum!r}")
    jars = args.get("rolling_restart_job_jars")
    if jars is not None and not isinstance(jars, Mapping):
        problems.append(f"rolling_restart_job_jars must map job names to jar paths, got {jars!r}")
    if "rolling_restart_savepoint_timeout" in args:
        number = _as_int(args["rolling_restart_savepoint_timeout"])
        if number is None or number < 1:
            problems.append("rolling_restart_savepoint_timeout must be a whole number of at least 1, got "
                            f"{args['rolling_restart_savepoint_timeout']!r}")
    return problems


def _as_int(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _as_bool(value):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "on", "1"):
        return True
    if text in ("false", "no", "off", "0"):
        return False
    return None


# --- one TaskManager: how to stop, start and recognise it ------------------------------------------------


def host_entry(host: str, hostvars: Mapping, gather: Mapping, defaults: Mapping) -> dict:
    """The TaskManager of ``host``: its REST id, file, memory model, backup and the control script's environment."""
    hv = hostvars or {}
    config = (gather or {}).get("config") or {}
    home = str(hv.get("flink_home") or "")
    enforce = hv.get("enforce_result") if isinstance(hv.get("enforce_result"), Mapping) else {}
    backup = hv.get("rolling_restart_backup_file") or enforce.get("backup_file") or ""
    return {
        "host": host,
        "resource_id": live.resource_id(host, gather, hv.get("rolling_restart_resource_id")),
        "has_resource_id": bool(hv.get("rolling_restart_resource_id"))
        or live.configured_resource_id(gather) is not None,
        "config_file": (gather or {}).get("config_file"),
        "checksum": (gather or {}).get("checksum"),
        "model": ((gather or {}).get("memory") or {}).get("taskmanager") or {},
        "backup": str(backup),
        "env": {
            "FLINKOPS_PROCESS": "taskmanager",
            "FLINKOPS_HOME": home,
            "FLINKOPS_CONF_DIR": str(hv.get("flink_conf_dir") or (home + "/conf")),
            "FLINKOPS_PID_DIR": str(hv.get("flink_pid_dir") or config.get("env.pid.dir") or "/tmp"),
            "FLINKOPS_LOG_DIR": str(hv.get("flink_log_dir") or config.get("env.log.dir") or (home + "/log")),
            "FLINKOPS_IDENT": str(hv.get("flink_ident_string") or ""),
            "FLINKOPS_UNIT": str(hv.get("rolling_restart_systemd_unit") or defaults.get("systemd_unit") or ""),
            "FLINKOPS_GRACE": str(defaults.get("start_grace", 5)),
            "FLINKOPS_STOP_TIMEOUT": str(defaults.get("stop_timeout", 60)),
        },
    }


# --- what to restart ------------------------------------------------------------------------------------


def _pending_reason(entry: Mapping, cluster: Mapping) -> str | None:
    """Why the running TaskManager is not what its file gives (None: it is, or it is not registered)."""
    tm = {t["id"]: t for t in cluster.get("taskmanagers") or []}.get(entry["resource_id"])
    if tm is None or not entry["model"].get("valid"):
        return None
    diffs = live.compare_expected(tm, entry["model"])
    return f"running memory differs from its file: {live.describe_differences(diffs, 2)}" if diffs else None


def jobmanager_status(host: str | None, gather: Mapping | None, cluster: Mapping) -> dict:
    """The JobManager against its file: {host, pending, reason} (pending None: could not tell)."""
    if host is None:
        return {"host": None, "pending": False, "reason": "no host in flink_jobmanager"}
    if not isinstance(gather, Mapping) or gather.get("failed") or gather.get("unreachable"):
        return {"host": host, "pending": None, "reason": f"its file could not be read ({(gather or {}).get('msg')})"}
    model = (gather.get("memory") or {}).get("jobmanager") or {}
    running = cluster.get("jobmanager") or {}
    if not running.get("memory") or not model.get("valid"):
        return {"host": host, "pending": None,
                "reason": "its running memory or its file's model is unknown" if model.get("valid")
                else f"Flink would refuse its file: {model.get('error')}"}
    diffs = live.jobmanager_differences(running, model)
    if not diffs:
        return {"host": host, "pending": False, "reason": "runs with what its file gives"}
    return {"host": host, "pending": True,
            "reason": f"running memory differs from its file ({live.describe_differences(diffs, 3)}); "
                      "restarting JobManagers is not done by this role unless rolling_restart_jobmanager is true"}


def decide(gathers: Mapping, cluster: Mapping, *, hostvars: Mapping, tm_hosts, jm_hosts=(), requested=(),
           changed=None, batch_size: int = 1, defaults: Mapping | None = None, jobmanager_restart: bool = False,
           jobmanager_mode: str = "", ha: Mapping | None = None, zookeeper: Mapping | None = None,
           jm_reads: Mapping | None = None) -> dict:
    """The rollout plan.

    ``gathers``: host -> flink_config_info result for every TaskManager candidate (and the JobManager);
    ``cluster``: a flink_cluster_info snapshot read at the start (with ``jobmanager``);
    ``requested``: rolling_restart_hosts (explicit targets, in that order); ``changed``: the hosts whose
    file this run wrote (the enforce role's flink_restart_hosts; None when it did not run).

    Targets, in inventory order: the requested hosts, else every TaskManager whose running memory differs
    from its file (whoever wrote it, so that a rerun finishes a partial rollout) and every one whose file
    this run changed. Returns {targets, reasons, batches, info, refused, jobmanager, lines}.

    JobManagers (``jm_hosts``): ``ha`` is jobmanager_rollout.ha_settings() of their files. With ZooKeeper HA
    (``zookeeper``: a flink_zookeeper_info result, ``jm_reads``: host -> flink_cluster_info read from that
    JobManager's own REST address) every JobManager is compared with its file and the restarts are ordered
    standbys first, leader last (``jobmanager.hosts``, ``jobmanager.order``). ``jobmanager_restart``
    (rolling_restart_jobmanager) without HA and without ``jobmanager_mode`` savepoint is refused here, before
    anything is written.
    """
    defaults = defaults or {}
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise RolloutError(f"batch_size must be a whole number of at least 1, got {batch_size!r}")
    tm_hosts = list(tm_hosts or [])
    changed_set = None if changed is None else set(changed)
    info, reasons, refused = {}, {}, []
    for host in tm_hosts:
        gather = gathers.get(host)
        if not isinstance(gather, Mapping) or gather.get("failed") or gather.get("unreachable"):
            refused.append(f"{host}: its file could not be read ({(gather or {}).get('msg') or 'no result'})")
            continue
        info[host] = host_entry(host, (hostvars or {}).get(host) or {}, gather, defaults)
    if requested:
        unknown = [h for h in requested if h not in tm_hosts]
        if unknown:
            refused.append(f"rolling_restart_hosts names hosts that are not TaskManagers of the inventory: "
                           f"{', '.join(unknown)}")
        candidates = [h for h in requested if h in info]
        for host in candidates:
            reasons[host] = "listed in rolling_restart_hosts"
    else:
        candidates = []
        for host in tm_hosts:
            if host not in info:
                continue
            why = []
            if changed_set is not None and host in changed_set:
                why.append("its file changes in this run")
            pending = _pending_reason(info[host], cluster)
            if pending:
                why.append(pending)
            if why:
                candidates.append(host)
                reasons[host] = "; ".join(why)
    for host in candidates:
        entry = info[host]
        if not entry["model"].get("valid"):
            refused.append(f"{host}: Flink would refuse to start it ({entry['config_file']}: "
                           f"{entry['model'].get('error')}); fix the file (flinkops.flink.flink_config validates "
                           "before writing)")
        if not entry["env"]["FLINKOPS_HOME"] and not entry["env"]["FLINKOPS_UNIT"]:
            refused.append(f"{host}: has neither flink_home (for bin/taskmanager.sh) nor rolling_restart_systemd_unit")
    registered = {t["id"] for t in cluster.get("taskmanagers") or []}
    for host in tm_hosts:
        entry = info.get(host)
        if entry is None or entry["resource_id"] in registered:
            continue
        hint = ("" if entry["has_resource_id"] else
                "; its file sets no taskmanager.resource-id, so the JobManager lists it under an id Flink made up: "
                "set taskmanager.resource-id to the inventory hostname (and restart it once by hand), or set "
                "rolling_restart_resource_id for the host")
        refused.append(f"{host}: no TaskManager {entry['resource_id']!r} is registered with the JobManager "
                       f"(registered: {', '.join(sorted(registered)) or 'none'}){hint}")
    jm_hosts = list(jm_hosts or [])
    jm_host = next(iter(jm_hosts), None)
    ha = ha if isinstance(ha, Mapping) else jmr.ha_settings(jm_hosts, gathers)
    how = jmr.mode(ha, bool(jobmanager_restart), jobmanager_mode or "")
    if jobmanager_restart:
        refused.extend(ha.get("problems") or [])
        refusal = jmr.refusal(ha, jm_hosts, jobmanager_mode or "")
        if refusal:
            refused.append(refusal)
    if ha.get("mode") == "zookeeper" and jm_reads is not None:
        jobmanager = _ha_jobmanagers(jm_hosts, gathers, hostvars, jm_reads, zookeeper, changed_set, defaults,
                                     bool(jobmanager_restart))
        refused.extend(jobmanager["problems"])
        if jobmanager_restart and jobmanager["order"]:
            safety = jmr.checkpoint_safety(cluster)
            refused.extend(f"{p} (a JobManager restart is pending)" for p in safety["refuse"])
            jobmanager["warnings"] = safety["warn"]
        jobmanager["mode"] = how
    else:
        jobmanager = _single_jobmanager(jm_host, gathers, cluster, changed_set)
        jobmanager.update(mode=how, ha=ha.get("mode"), hosts=[], order=[jm_host] if jobmanager["pending"] else [])
    batches = [candidates[i:i + batch_size] for i in range(0, len(candidates), batch_size)]
    return {
        "targets": candidates,
        "reasons": reasons,
        "batches": batches,
        "info": info,
        "refused": refused,
        "jobmanager": jobmanager,
        "lines": plan_lines(batches, reasons, jobmanager),
    }


def _ha_jobmanagers(jm_hosts, gathers, hostvars, jm_reads, zookeeper, changed_set, defaults, requested) -> dict:
    """plan['jobmanager'] of a ZooKeeper HA cluster: every JobManager, the leader, the order."""
    entries = [jmr.jobmanager_entry(h, (hostvars or {}).get(h) or {}, gathers.get(h), (jm_reads or {}).get(h),
                                    changed=changed_set is not None and h in changed_set, defaults=defaults)
               for h in jm_hosts]
    plan = jmr.ha_plan(entries, zookeeper, requested=requested)
    pending = [e for e in entries if e["pending"]]
    first = entries[0]["host"] if entries else None
    reason = ("; ".join(f"{e['host']}: {e['reason']}" for e in pending)
              or "every JobManager runs with what its file gives")
    if not requested and pending:
        reason += "; restarting JobManagers is not done by this role unless rolling_restart_jobmanager is true"
    return {"host": first, "ha": "zookeeper", "hosts": entries, "pending": bool(pending),
            "file_changed": any(e["file_changed"] for e in entries), "reason": reason, "records": [],
            **plan}


def _single_jobmanager(jm_host, gathers, cluster, changed_set) -> dict:
    jobmanager = jobmanager_status(jm_host, gathers.get(jm_host) if jm_host else None, cluster)
    if jm_host is not None and changed_set is not None and jm_host in changed_set:
        # a changed file takes effect only at the next start, whatever it changes
        jobmanager["file_changed"] = True
        if not jobmanager["pending"]:
            jobmanager["pending"] = True
            jobmanager["reason"] = ("its file changes in this run and takes effect only when it restarts; restarting "
                                    "JobManagers is not done by this role unless rolling_restart_jobmanager is true")
    jobmanager.setdefault("records", [])
    return jobmanager


def preflight(plan: Mapping, cluster: Mapping) -> list:
    """Everything that forbids starting: the plan's refusals, and every job that is not RUNNING now."""
    problems = list(plan.get("refused") or [])
    for job in cluster.get("jobs") or []:
        if job.get("state") not in ("RUNNING", *live.TERMINAL_JOB_STATES):
            problems.append(f"job {job.get('name')} ({job.get('id')}) is {job.get('state')}, not RUNNING: wait until "
                            "it runs (or cancel it) before a rollout")
        elif job.get("state") == "RUNNING" and job.get("tasks_running") != job.get("tasks_total"):
            problems.append(f"job {job.get('name')} ({job.get('id')}) runs {job.get('tasks_running')} of its "
                            f"{job.get('tasks_total')} tasks")
    return problems


def plan_lines(batches: list, reasons: Mapping, jobmanager: Mapping) -> list:
    """What would restart, in order, with the reason (the dry run shows exactly this)."""
    lines = []
    order = 0
    for number, batch in enumerate(batches, 1):
        for host in batch:
            order += 1
            lines.append(f"{order}. {host} (batch {number}): {reasons.get(host, '')}")
    if not lines:
        lines.append("No TaskManager to restart: every one runs with what its file gives.")
    if jobmanager.get("ha") == "zookeeper" and jobmanager.get("hosts"):
        leader = jobmanager.get("leader")
        order_of = {h: i for i, h in enumerate(jobmanager.get("order") or [])}
        # in the order they restart (standbys, then the leader), then the others
        for e in sorted(jobmanager["hosts"], key=lambda e: order_of.get(e["host"], len(order_of))):
            role = "leader" if e["host"] == leader else "standby" if leader else "role unknown"
            if e["host"] in order_of and jobmanager.get("mode") == "ha":
                order += 1
                last = " (last: one leader change)" if e["host"] == leader else ""
                lines.append(f"{order}. JobManager {e['host']} ({role}){last}: {e['reason']}")
            elif e.get("pending"):
                lines.append(f"JobManager {e['host']} ({role}): RESTART PENDING - {e['reason']}"
                             + ("; rolling_restart_jobmanager is false" if jobmanager.get("mode") == "off" else ""))
            elif e.get("pending") is None:
                lines.append(f"JobManager {e['host']} ({role}): not checked - {e['reason']}")
        return lines
    if jobmanager.get("pending"):
        lines.append(f"JobManager {jobmanager['host']}: RESTART PENDING - {jobmanager['reason']}")
    elif jobmanager.get("pending") is None and jobmanager.get("host"):
        lines.append(f"JobManager {jobmanager['host']}: not checked - {jobmanager['reason']}")
    return lines


# --- the gate before each batch --------------------------------------------------------------------------


def identities(cluster: Mapping) -> dict:
    """TaskManager id -> the JVM behind it as REST shows it (its RPC path and data port)."""
    return {t["id"]: live.jvm_identity(t) for t in cluster.get("taskmanagers") or []}


def gate(batch_ids, baseline: Mapping, cluster: Mapping, *, batch_hosts=(), host_baseline: Mapping | None = None,
         host_jvms: Mapping | None = None, resource_ids: Mapping | None = None, info: Mapping | None = None) -> dict:
    """May the next batch go? {ok, reasons, unchecked}.

    ``baseline``: id -> JVM identity of every TaskManager at the start as REST shows it (updated with the new
    JVMs of the batches already done). Every TaskManager outside ``batch_ids`` must be registered with its
    slots and be the same JVM; the slots the running jobs hold must fit in those left when the batch is down.

    The hosts' own word (plugin_utils/jvm_identity.py): ``host_baseline``: host -> what ``flink_ctl.sh status``
    printed at the start (and each batch's start after it; None: the host could not be asked);
    ``host_jvms``: host -> what it prints now, right before this batch (None: could not be asked);
    ``batch_hosts``: the hosts of the batch (never judged). A TaskManager restarted outside the rollout on fixed
    ports (taskmanager.rpc.port, taskmanager.data.port) looks unchanged over REST; its host names a new pid
    and start time, and that stops the batch. A host that named no JVM at the start is judged by REST alone
    and listed in ``unchecked``, in words. ``resource_ids`` (host -> REST id; else from ``info``, the plan's)
    name the TaskManagers in the messages. Without ``host_baseline`` only REST is judged.
    """
    batch = set(batch_ids)
    now = {t["id"]: t for t in cluster.get("taskmanagers") or []}
    ids = dict(resource_ids or {h: e.get("resource_id", h) for h, e in (info or {}).items() if isinstance(e, Mapping)})
    reasons = []
    for tm_id, identity in sorted(baseline.items()):
        if tm_id in batch:
            continue
        tm = now.get(tm_id)
        if tm is None:
            reasons.append(f"TaskManager {tm_id} (not in this batch) is no longer registered")
        elif not tm.get("slots"):
            reasons.append(f"TaskManager {tm_id} (not in this batch) has not reported its slots")
        elif live.jvm_identity(tm) != identity:
            reasons.append(f"TaskManager {tm_id} (not in this batch) is another JVM than at the start "
                           f"({identity} then, {live.jvm_identity(tm)} now): it restarted outside the rollout")
    unchecked = []
    if host_baseline is not None:
        skip = set(batch_hosts or ())
        words = host_jvms or {}
        for host in sorted(host_baseline):
            if host in skip:
                continue
            tm_id = ids.get(host, host)
            why = jvm_identity.breach(jvm_identity.name_of(host, ids), host_baseline.get(host), words.get(host),
                                      asked=host in words)
            if why is None:
                continue
            tm = now.get(tm_id)
            if tm is not None and tm_id in baseline and live.jvm_identity(tm) == baseline[tm_id]:
                if jvm_identity.parse(words.get(host)) is not None:
                    why += "; REST alone shows it unchanged (same resource id, RPC path and data port)"
                elif jvm_identity.says_stopped(words.get(host)):
                    why += "; the JobManager still lists it (it drops a dead TaskManager only when its heartbeats fail)"
            reasons.append(why)
        unchecked = jvm_identity.unchecked(host_baseline, skip, ids)
    total = cluster.get("slots_total") or 0
    used = total - (cluster.get("slots_available") or 0)
    left = sum(t.get("slots") or 0 for i, t in now.items() if i not in batch)
    if used > left:
        reasons.append(f"the running jobs hold {used} slots, only {left} would be left while "
                       f"{', '.join(sorted(batch))} {'is' if len(batch) == 1 else 'are'} down")
    return {"ok": not reasons, "reasons": reasons, "unchecked": unchecked}


def host_words(results) -> dict:
    """host -> what the control script printed on it, from the role's looped raw results (None: it could not say).

    A failed, unreachable or skipped result is None: no answer, never read as "no JVM".
    """
    words = {}
    for result in results or []:
        if not isinstance(result, Mapping) or "_rolling_restart_host" not in result:
            continue
        bad = result.get("failed") or result.get("unreachable") or result.get("skipped")
        stdout = result.get("stdout")
        words[result["_rolling_restart_host"]] = None if bad or not isinstance(stdout, str) else stdout
    return words


def jobs_before(cluster: Mapping) -> list:
    """The jobs RUNNING at the start, with their last completed checkpoint (what a lost job restarts from)."""
    return [{"id": j["id"], "name": j.get("name"), "checkpoint": j.get("checkpoint")}
            for j in cluster.get("jobs") or [] if j.get("state") == "RUNNING"]


# --- blame -------------------------------------------------------------------------------------------------


def blame(batch: list, info: Mapping, *, step: str, error: str, checks: Mapping | None, waits: list,
          jobs: list, cluster_now: Mapping | None, verify_memory: bool = True) -> dict:
    """Why a batch failed and which of its TaskManagers to roll back.

    ``checks``: flink_cluster_info's per-id ``checks`` of the batch read after the failure (None: unread);
    ``waits``: the batch's flink_cluster_info results (each may list the REST failures it saw,
    ``rest_failures``); ``jobs``: jobs_before() of this batch, ``cluster_now``: a snapshot after the failure
    (None when the JobManager cannot be read).

    A TaskManager registered with its file's memory is never rolled back. A JobManager that became
    unreachable or restarted during the batch is named as the reason, and nothing is rolled back on
    its account. Returns {rollback, reason, jobmanager, lost_jobs}.
    """
    unreachable = [msg for w in waits if isinstance(w, Mapping) for msg in (w.get("rest_failures") or [])]
    lost = []
    if cluster_now is not None:
        present = {j["id"]: j for j in cluster_now.get("jobs") or []}
        for job in jobs:
            if job["id"] not in present or present[job["id"]].get("state") in live.TERMINAL_JOB_STATES:
                lost.append(job)
    jm_reason = None
    if cluster_now is None:
        jm_reason = "the JobManager cannot be read now"
    elif unreachable:
        jm_reason = f"the JobManager became unreachable during the batch ({unreachable[0]})"
    elif jobs and len(lost) == len(jobs):
        jm_reason = "the JobManager restarted during the batch (every job that ran before is gone)"
    healthy = set()
    for host in batch:
        check = (checks or {}).get(info[host]["resource_id"]) or {}
        if check.get("registered") and (check.get("matches") is not False if verify_memory else True):
            healthy.add(host)
    rollback = [] if cluster_now is None else [h for h in batch if h not in healthy]
    parts = []
    if jm_reason:
        parts.append(f"{jm_reason}; the TaskManagers of the batch are not blamed for it")
    parts.append(f"{step}: {error}" if error else step)
    for job in lost:
        ckpt = (job.get("checkpoint") or {}).get("external_path")
        parts.append(f"job {job.get('name')} ({job['id']}) that was RUNNING is gone; "
                     + (f"its last completed checkpoint: {ckpt}" if ckpt else "it had no completed checkpoint"))
    return {"rollback": rollback, "healthy": sorted(healthy), "jobmanager": jm_reason, "lost_jobs": lost,
            "reason": "; ".join(parts)}


def outcome(targets: list, done: list, failures: list, jobmanager: Mapping, stopped: bool, reason: str,
            notes=()) -> dict:
    """The published rolling_restart_result minus timings: what happened and what is still pending.

    ``jobmanagers``: every JobManager - restarted (standby or leader), failed, or not touched with the reason.
    ``notes``: what the gates could not check (gate()'s ``unchecked``), added to ``warnings``.
    """
    failed_hosts = [h for f in failures for h in f.get("hosts") or []]
    not_touched = [h for h in targets if h not in done and h not in failed_hosts]
    records = list(jobmanager.get("records") or [])
    if jobmanager.get("ha") == "zookeeper" and jobmanager.get("hosts"):
        entries = jmr.records_outcome(jobmanager["hosts"], jobmanager, records,
                                      requested=jobmanager.get("mode") not in (None, "off"),
                                      stopped_reason=reason if stopped else "")
        pending_hosts = [e["host"] for e, o in zip(jobmanager["hosts"], entries, strict=True)
                         if e.get("pending") and o["result"] != "restarted"]
        summary = (f"Restarted {', '.join(done) or 'none'}; failed {', '.join(failed_hosts) or 'none'}; "
                   f"not touched {', '.join(not_touched) or 'none'}. JobManagers: "
                   + "; ".join(_jm_line(o) for o in entries) + ".")
        return {"restarted": list(done), "failed": list(failures), "not_touched": not_touched,
                "pending_restart": pending_hosts, "jobmanagers": entries, "stopped": bool(stopped),
                "reason": reason, "summary": summary, "warnings": [*(jobmanager.get("warnings") or []), *(notes or ())],
                "savepoints": jobmanager.get("savepoint_result") or []}
    pending = []
    if jobmanager.get("mode") == "refuse" and jobmanager.get("pending") and jobmanager.get("host") not in done:
        pending.append(f"JobManager {jobmanager['host']}: restart pending - refused: {jmr.SAVEPOINT_HINT}")
    elif jobmanager.get("pending") and jobmanager.get("host") not in done:
        pending.append(f"JobManager {jobmanager['host']}: restart pending - {jobmanager['reason']}")
    summary = (f"Restarted {', '.join(done) or 'none'}; failed {', '.join(failed_hosts) or 'none'}; "
               f"not touched {', '.join(not_touched) or 'none'}.")
    if pending:
        summary += " " + " ".join(pending) + "."
    jm_entries = []
    if jobmanager.get("host"):
        record = next((r for r in records if r.get("host") == jobmanager["host"]), None)
        jm_entries.append(record or {"host": jobmanager["host"], "role": "single", "result": "not touched",
                                     "reason": (f"restart pending - {jobmanager['reason']}" if pending
                                                else jobmanager.get("reason") or "")})
    return {"restarted": list(done), "failed": list(failures), "not_touched": not_touched,
            "pending_restart": ([jobmanager["host"]] if pending else []), "jobmanagers": jm_entries,
            "stopped": bool(stopped), "reason": reason, "summary": summary,
            "warnings": [*(jobmanager.get("warnings") or []), *(notes or ())],
            "savepoints": jobmanager.get("savepoint_result") or []}


def _jm_line(entry: Mapping) -> str:
    if entry["result"] == "restarted":
        extra = f", new leader {entry['new_leader']}" if entry.get("new_leader") else ""
        return f"{entry['host']} restarted ({entry['role']}{extra})"
    return f"{entry['host']} {entry['result']} ({entry['role']}): {entry['reason']}"
