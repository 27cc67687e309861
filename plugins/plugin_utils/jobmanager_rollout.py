# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The JobManager part of the rolling restart: which JobManagers, in which order, whether it is safe, and
what happened to each one.

Controller side, standard library only; never imports Ansible (the role reaches it through the
``rollout_decision`` filter). Inputs are plain data: flink_config_info results of the JobManager hosts,
flink_cluster_info results read from each JobManager's own REST address, flink_zookeeper_info results.

- High availability is read from the JobManagers' files (``high-availability.type``, or the older
  ``high-availability``, set to ``zookeeper``); ``ha_settings``.
- Each JobManager has its own REST address: the host variable ``flink_rest_url``, else what its file says
  (``rest.address``/``rest.port``; a wildcard or empty address is the inventory host's ``ansible_host``);
  ``rest_url``.
- With HA the standbys restart first, one at a time, the leader (from ZooKeeper: the REST address in
  ``leader/rest_server/connection_info``) last and once; ``ha_plan``.
- Without HA the default refuses (the jobs would end); ``rolling_restart_jobmanager_mode: savepoint`` hands
  the JobManager to the savepoint cycle; ``mode``.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping

from ansible_collections.flinkops.flink.plugins.plugin_utils import live

# Flink's keys, newest first (each later one is a deprecated fallback of the first).
HA_TYPE_KEYS = ("high-availability.type", "high-availability", "recovery.mode")
QUORUM_KEYS = ("high-availability.zookeeper.quorum", "recovery.zookeeper.quorum")
PATH_ROOT_KEYS = ("high-availability.zookeeper.path.root", "recovery.zookeeper.path.root")
CLUSTER_ID_KEYS = ("high-availability.cluster-id", "high-availability.zookeeper.path.namespace",
                   "recovery.zookeeper.path.namespace")
WILDCARDS = ("", "0.0.0.0", "::", "[::]", "*")
SAVEPOINT_HINT = ("to restart it anyway, each job stopped with a savepoint and resubmitted from it, set "
                  "rolling_restart_jobmanager_mode: savepoint; or leave rolling_restart_jobmanager false and its "
                  "restart is reported as pending")


def _first(config: Mapping, keys) -> tuple:
    for key in keys:
        value = config.get(key)
        if value not in (None, ""):
            return key, str(value).strip()
    return None, None


def _usable(gather) -> bool:
    return isinstance(gather, Mapping) and not gather.get("failed") and not gather.get("unreachable") \
        and not gather.get("skipped")


# --- high availability, from the files -------------------------------------------------------------------


def ha_of(config: Mapping) -> dict:
    """One JobManager file's HA settings: {type, key, quorum, path_root, cluster_id}.

    ``type``: ``zookeeper``, ``none`` (unset or NONE), or what the file says otherwise (``kubernetes``, a
    factory class). ``path_root``/``cluster_id`` carry Flink's defaults (``/flink``, ``/default``).
    """
    key, value = _first(config or {}, HA_TYPE_KEYS)
    kind = "none" if value in (None, "") or value.lower() == "none" else value.lower()
    if kind == "zookeeper" or kind.endswith("zookeeperhaservicesfactory"):
        kind = "zookeeper"
    return {"type": kind if kind in ("zookeeper", "none") else value, "key": key,
            "quorum": _first(config or {}, QUORUM_KEYS)[1] or "",
            "path_root": _first(config or {}, PATH_ROOT_KEYS)[1] or "/flink",
            "cluster_id": _first(config or {}, CLUSTER_ID_KEYS)[1] or "/default"}


def ha_settings(jm_hosts, gathers: Mapping, quorum_override: str = "") -> dict:
    """The cluster's HA as the JobManagers' files give it.

    Returns {mode: zookeeper | none | unsupported | unknown, quorum, path_root, cluster_id, by_host, problems}.
    ``unknown``: no JobManager file could be read. JobManagers whose files disagree on the type, the
    quorum, the root path or the cluster id are a problem (they would not form one cluster).
    """
    by_host, problems = {}, []
    for host in jm_hosts or []:
        gather = (gathers or {}).get(host)
        if _usable(gather):
            by_host[host] = ha_of(gather.get("config") or {})
    if not by_host:
        return {"mode": "unknown", "quorum": "", "path_root": "/flink", "cluster_id": "/default", "by_host": {},
                "problems": []}
    first_host = next(iter(by_host))
    first = by_host[first_host]
    for host, ha in by_host.items():
        for field in ("type", "quorum", "path_root", "cluster_id"):
            if ha[field] != first[field]:
                problems.append(f"the JobManagers' files disagree on high availability: {first_host} has "
                                f"{field} {first[field]!r}, {host} has {ha[field]!r}")
    mode = first["type"] if first["type"] in ("zookeeper", "none") else "unsupported"
    if mode == "unsupported":
        problems.append(f"{first_host}: {first['key']}: {first['type']} - only ZooKeeper high availability is "
                        "supported for JobManager restarts")
    quorum = quorum_override or first["quorum"]
    if mode == "zookeeper" and not quorum:
        problems.append(f"{first_host}: high availability is zookeeper but its file sets no "
                        "high-availability.zookeeper.quorum; set it, or rolling_restart_zookeeper_quorum")
    return {"mode": mode, "quorum": quorum, "path_root": first["path_root"], "cluster_id": first["cluster_id"],
            "by_host": by_host, "problems": problems}


def mode(ha: Mapping, requested: bool, jobmanager_mode: str = "") -> str:
    """How the JobManagers restart: ``ha``, ``savepoint``, ``refuse``, or ``off`` (not asked for)."""
    if not requested:
        return "off"
    if ha.get("mode") == "zookeeper":
        return "ha"
    if ha.get("mode") == "none" and jobmanager_mode == "savepoint":
        return "savepoint"
    return "refuse"


def refusal(ha: Mapping, jm_hosts, jobmanager_mode: str = "") -> str | None:
    """The pre-flight refusal of JobManager restarts that cannot be done safely (None: none)."""
    hosts = list(jm_hosts or [])
    if not hosts:
        return None
    if ha.get("mode") == "none" and jobmanager_mode != "savepoint":
        return (f"rolling_restart_jobmanager is true but the cluster has no high availability ({hosts[0]}'s file "
                "sets no high-availability.type: zookeeper): restarting its JobManager ends every job it runs "
                f"(and a graceful stop with the default retention deletes their checkpoints); {SAVEPOINT_HINT}")
    if ha.get("mode") == "unknown":
        return f"rolling_restart_jobmanager is true but no JobManager file could be read ({', '.join(hosts)})"
    if ha.get("mode") == "zookeeper" and jobmanager_mode == "savepoint":
        return None  # the mode is ignored with HA (documented): standbys first, leader last
    return None


# --- each JobManager's REST address --------------------------------------------------------------------


def rest_url(host: str, hostvars: Mapping, gather: Mapping | None) -> dict:
    """{url, source} of the JobManager on ``host``; url None when it cannot be told."""
    hv = hostvars or {}
    if hv.get("flink_rest_url"):
        try:
            return {"url": live.normalize_url(str(hv["flink_rest_url"])), "source": "flink_rest_url"}
        except live.LiveError as exc:
            return {"url": None, "source": f"flink_rest_url: {exc}"}
    if not _usable(gather):
        return {"url": None, "source": "its file could not be read; set flink_rest_url for the host"}
    config = gather.get("config") or {}
    key, address = _first(config, ("rest.address", "jobmanager.rpc.address"))
    if address is None or address in WILDCARDS:
        address = str(hv.get("ansible_host") or host)
        key = "ansible_host" if hv.get("ansible_host") else "the inventory name"
    _pkey, port = _first(config, ("rest.port", "web.port"))
    port = port or "8081"
    ssl = str(config.get("security.ssl.rest.enabled") or config.get("security.ssl.enabled") or "").lower() == "true"
    host_part = f"[{address}]" if ":" in address and not address.startswith("[") else address
    return {"url": f"{'https' if ssl else 'http'}://{host_part}:{port}", "source": f"{key} and rest.port of its file"}


def _same_address(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False

    def norm(u):
        parts = urllib.parse.urlsplit(u.strip().rstrip("/").lower())
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return parts.scheme, parts.hostname, port

    try:
        return norm(a) == norm(b)
    except ValueError:
        return False


def leader_host(leader: Mapping | None, urls: Mapping) -> str | None:
    """The inventory JobManager whose REST address is the leader's in ZooKeeper (None: none matches)."""
    address = (leader or {}).get("address")
    matches = [h for h, u in urls.items() if _same_address(u, address)]
    return matches[0] if len(matches) == 1 else None


# --- each JobManager against its file -----------------------------------------------------------------


def jobmanager_entry(host: str, hostvars: Mapping, gather: Mapping | None, read: Mapping | None, *,
                     changed: bool = False, defaults: Mapping | None = None) -> dict:
    """One JobManager: its REST address, file, model, whether its restart is pending and why, and how to
    stop and start it (flink_ctl.sh's environment)."""
    hv = hostvars or {}
    defaults = defaults or {}
    url = rest_url(host, hv, gather)
    entry = {"host": host, "url": url["url"], "url_source": url["source"], "pending": None,
             "file_changed": bool(changed), "reason": "", "config_file": None, "model": {}, "backup": "",
             "env": {}}
    if not _usable(gather):
        entry["reason"] = f"its file could not be read ({(gather or {}).get('msg') or 'no result'})"
        return entry
    config = gather.get("config") or {}
    home = str(hv.get("flink_home") or "")
    enforce = hv.get("enforce_result") if isinstance(hv.get("enforce_result"), Mapping) else {}
    entry.update({
        "config_file": gather.get("config_file"),
        "model": ((gather.get("memory") or {}).get("jobmanager")) or {},
        "backup": str(hv.get("rolling_restart_backup_file") or enforce.get("backup_file") or ""),
        "env": {
            "FLINKOPS_PROCESS": "jobmanager",
            "FLINKOPS_HOME": home,
            "FLINKOPS_CONF_DIR": str(hv.get("flink_conf_dir") or (home + "/conf")),
            "FLINKOPS_PID_DIR": str(hv.get("flink_pid_dir") or config.get("env.pid.dir") or "/tmp"),
            "FLINKOPS_LOG_DIR": str(hv.get("flink_log_dir") or config.get("env.log.dir") or (home + "/log")),
            "FLINKOPS_IDENT": str(hv.get("flink_ident_string") or ""),
            "FLINKOPS_UNIT": str(hv.get("rolling_restart_jobmanager_systemd_unit")
                                 or defaults.get("jobmanager_systemd_unit") or ""),
            "FLINKOPS_GRACE": str(defaults.get("start_grace", 5)),
            "FLINKOPS_STOP_TIMEOUT": str(defaults.get("stop_timeout", 60)),
        },
    })
    model = entry["model"]
    if not model.get("valid"):
        entry["reason"] = f"Flink would refuse its file: {model.get('error')}"
        return entry
    memory = ((read or {}).get("jobmanager") or {}).get("memory") if _read_ok(read) else None
    if memory is None:
        entry["reason"] = (f"its REST API at {entry['url']} could not be read ({(read or {}).get('msg') or 'not read'})"
                           if entry["url"] else f"its REST address is unknown ({entry['url_source']})")
    else:
        diffs = live.jobmanager_differences({"memory": memory}, model)
        entry["pending"] = bool(diffs)
        entry["reason"] = (f"running memory differs from its file ({live.describe_differences(diffs, 3)})"
                           if diffs else "runs with what its file gives")
    if changed and not entry["pending"]:
        entry["pending"] = True
        entry["reason"] = "its file changes in this run and takes effect only when it restarts"
    elif changed:
        entry["reason"] = f"its file changes in this run; {entry['reason']}"
    return entry


def _read_ok(read) -> bool:
    return isinstance(read, Mapping) and not read.get("failed") and isinstance(read.get("jobmanager"), Mapping)


def ha_plan(entries: list, zk: Mapping | None, *, requested: bool) -> dict:
    """Order and pre-flight of an HA cluster's JobManagers.

    ``entries``: jobmanager_entry() of every JobManager host (inventory order); ``zk``: a flink_zookeeper_info
    result (None or failed: unread). Returns {leader, leader_session, order, latch_expected, problems}:
    ``order`` the JobManagers to restart, standbys first (inventory order), the leader last; ``problems``
    what forbids starting (only when restarts are asked for and some JobManager is pending).
    """
    urls = {e["host"]: e["url"] for e in entries if e.get("url")}
    zk_ok = isinstance(zk, Mapping) and not zk.get("failed") and "latch" in zk
    leader = leader_host(zk.get("leader"), urls) if zk_ok else None
    pending = [e["host"] for e in entries if e.get("pending")]
    order = [h for h in pending if h != leader] + ([leader] if leader in pending else [])
    problems = []
    if requested and (pending or any(e.get("pending") is None for e in entries)):
        if not zk_ok:
            problems.append(f"ZooKeeper could not be read ({(zk or {}).get('msg') or 'not read'}): the leader "
                            "JobManager cannot be told, so no JobManager is restarted")
        else:
            address = (zk.get("leader") or {}).get("address")
            if not address:
                problems.append(f"ZooKeeper ({zk.get('server')}) names no leader at {zk['paths']['rest_server']}: "
                                "the cluster has no leading JobManager now")
            elif leader is None:
                problems.append(f"the leader's REST address in ZooKeeper is {address}, which is no JobManager's of "
                                f"the inventory ({', '.join(f'{h} {u}' for h, u in urls.items()) or 'none known'}): "
                                "set each JobManager's flink_rest_url to the address it advertises (rest.address, "
                                "rest.port)")
            latch = zk.get("latch") or []
            if len(latch) < len(entries):
                problems.append(f"the leader election ({zk['paths']['latch']}) has {len(latch)} of the "
                                f"{len(entries)} JobManagers of the inventory: one is down or in another cluster; "
                                "start it (or remove it from flink_jobmanager) before a rollout")
        for e in entries:
            if e.get("pending") is None:
                problems.append(f"JobManager {e['host']}: cannot tell whether it must restart: {e['reason']}")
            elif e.get("pending") and not e["env"].get("FLINKOPS_HOME") and not e["env"].get("FLINKOPS_UNIT"):
                problems.append(f"JobManager {e['host']}: has neither flink_home (for bin/jobmanager.sh) nor "
                                "rolling_restart_jobmanager_systemd_unit")
    return {"leader": leader, "leader_session": ((zk or {}).get("leader") or {}).get("session_id") if zk_ok else None,
            "order": order, "latch_expected": len(entries), "problems": problems}


# --- before any JobManager stops ----------------------------------------------------------------------------


def checkpoint_safety(cluster: Mapping, checkpoint_configs: Mapping | None = None) -> dict:
    """Are the running jobs safe through a leader change? {refuse, warn, jobs}.

    ``cluster``: a flink_cluster_info snapshot with ``checkpoints: true``; ``checkpoint_configs``: job id ->
    the job's ``/jobs/<id>/checkpoints/config`` answer. A job must checkpoint and have a completed checkpoint
    (the new leader restores from it); a job whose checkpoints are not retained on cancellation is warned
    about (HA keeps them through a leader change; a cancel would delete them, and no savepoint is taken).
    ``jobs``: [{id, name, checkpoint}] of the RUNNING jobs (what the restore is checked against).
    """
    refuse, warn, jobs = [], [], []
    for job in (cluster or {}).get("jobs") or []:
        if job.get("state") != "RUNNING":
            if job.get("state") not in live.TERMINAL_JOB_STATES:
                refuse.append(f"job {job.get('name')} ({job.get('id')}) is {job.get('state')}, not RUNNING")
            continue
        checkpoint = job.get("checkpoint")
        jobs.append({"id": job["id"], "name": job.get("name"), "checkpoint": checkpoint})
        if checkpoint is None:
            refuse.append(f"job {job.get('name')} ({job['id']}) does not checkpoint: after the leader change it would "
                          "start again from nothing; enable checkpointing (or stop it with a savepoint first)")
            continue
        if checkpoint.get("id") in (None, 0):
            refuse.append(f"job {job.get('name')} ({job['id']}) has no completed checkpoint yet: the new leader would "
                          "have nothing to restore it from; wait for its first checkpoint")
            continue
        config = (checkpoint_configs or {}).get(job["id"])
        retained = _retained(config)
        if retained is False:
            warn.append(f"job {job.get('name')} ({job['id']}): its checkpoints are not retained on cancellation "
                        "(not RETAIN_ON_CANCELLATION) and no savepoint is taken: HA keeps them through the leader "
                        "change, but a cancel during the rollout would delete them")
    return {"refuse": refuse, "warn": warn, "jobs": jobs}


def _retained(config) -> bool | None:
    """From /jobs/<id>/checkpoints/config: True retained on cancellation, False not, None unknown."""
    if not isinstance(config, Mapping):
        return None
    ext = config.get("externalization")
    if isinstance(ext, Mapping):
        if not ext.get("enabled"):
            return False
        return not ext.get("delete_on_cancellation")
    return None


def leader_check(zk: Mapping | None, urls: Mapping, expected: str | None, expected_session: str | None) -> dict:
    """Is the leader still the one the rollout started with? {ok, leader, reason}."""
    if not isinstance(zk, Mapping) or zk.get("failed") or "latch" not in zk:
        return {"ok": False, "leader": None,
                "reason": f"ZooKeeper could not be read ({(zk or {}).get('msg') or 'not read'})"}
    leader = leader_host(zk.get("leader"), urls)
    session = (zk.get("leader") or {}).get("session_id")
    if leader != expected or (expected_session and session != expected_session):
        now = leader or ((zk.get("leader") or {}).get("address") or "no leader")
        return {"ok": False, "leader": leader,
                "reason": f"the leadership changed during the rollout: {expected} led at the start, now {now} "
                          f"(session {session}); no JobManager is restarted while the cluster recovers"}
    return {"ok": True, "leader": leader, "reason": ""}


# --- after a restart ------------------------------------------------------------------------------------------


def verify(entry: Mapping, read: Mapping | None) -> dict:
    """Does the JobManager run with its file's memory, byte for byte? {ok, reason}."""
    if not _read_ok(read):
        return {"ok": False, "reason": f"{entry['host']}: its REST API at {entry.get('url')} could not be read "
                                       f"({(read or {}).get('msg') or 'not read'})"}
    diffs = live.jobmanager_differences(read["jobmanager"], entry.get("model") or {})
    memory = read["jobmanager"].get("memory") or {}
    if not (memory.get("sizes") or {}).get("heap") or not (memory.get("jvm") or {}).get("heap"):
        return {"ok": False, "reason": f"{entry['host']}: its REST API does not show its memory"}
    if diffs:
        return {"ok": False, "reason": f"{entry['host']} runs with memory its file does not give: "
                                       f"{live.describe_differences(diffs, 3)}"}
    return {"ok": True, "reason": ""}


def restored(jobs: list, checkpoints_after: Mapping) -> dict:
    """Did every job that ran before come back restored from a checkpoint at least as new as its last one?

    ``jobs``: checkpoint_safety()'s ``jobs`` (read right before the leader stopped); ``checkpoints_after``:
    job id -> ``/jobs/<id>/checkpoints`` read after (its ``latest.restored``). Returns {ok, jobs, reasons}.
    """
    out, reasons = [], []
    for job in jobs or []:
        before = (job.get("checkpoint") or {}).get("id") or 0
        stats = (checkpoints_after or {}).get(job["id"])
        latest = (stats or {}).get("latest") if isinstance(stats, Mapping) else None
        rest = (latest or {}).get("restored") if isinstance(latest, Mapping) else None
        rid = (rest or {}).get("id")
        entry = {"id": job["id"], "name": job.get("name"), "checkpoint_before": before, "restored_from": rid,
                 "restored_path": (rest or {}).get("external_path"),
                 "savepoint": bool((rest or {}).get("is_savepoint"))}
        out.append(entry)
        if rid is None:
            reasons.append(f"job {job.get('name')} ({job['id']}) runs but was not restored from a checkpoint")
        elif rid < before:
            reasons.append(f"job {job.get('name')} ({job['id']}) was restored from checkpoint {rid}, older than its "
                           f"last completed one before the leader stopped ({before}): state may be lost")
    return {"ok": not reasons, "jobs": out, "reasons": reasons}


# --- the outcome -----------------------------------------------------------------------------------------------


def records_outcome(entries: list, plan: Mapping | None, records: list, *, requested: bool,
                    stopped_reason: str = "") -> list:
    """Every JobManager's entry in the outcome: {host, role, result, reason}.

    ``records``: what the role recorded per JobManager ({host, role, result, reason, ...}), in order;
    a JobManager without a record is ``not touched`` with the reason (not pending, not asked for, or the
    rollout stopped before it).
    """
    leader = (plan or {}).get("leader")
    order = (plan or {}).get("order") or []
    by_host = {}
    for record in records or []:
        by_host[record["host"]] = dict(record)
    out = []
    for e in entries:
        host = e["host"]
        role = "leader" if host == leader else "standby" if leader else "unknown"
        if host in by_host:
            out.append({"host": host, "role": by_host[host].get("role") or role, **by_host[host]})
            continue
        if not e.get("pending"):
            why = e.get("reason") or "runs with what its file gives"
            if e.get("pending") is None:
                why = f"not checked: {why}"
        elif not requested:
            why = f"restart pending - {e.get('reason')}; rolling_restart_jobmanager is false"
        elif host in order:
            why = f"restart pending - {e.get('reason')}; " + (
                f"the rollout stopped before it ({stopped_reason.strip()})" if stopped_reason.strip()
                else "the rollout stopped before it")
        else:
            why = f"restart pending - {e.get('reason')}"
        out.append({"host": host, "role": role, "result": "not touched", "reason": why})
    return out


def blame(host: str, role: str, *, step: str, error: str, fatal=None, stopped: bool) -> dict:
    """Why restarting ``host`` failed, and whether to roll it back: {rollback, leader, reason}.

    ``fatal``: the fatal conditions of the failed ZooKeeper wait (the leader changed or went away): then the
    leader is to blame, not ``host``, and nothing is rolled back. ``stopped``: whether ``host`` was stopped
    (before that, nothing was touched and nothing is rolled back).
    """
    fatal = [f for f in (fatal or []) if f]
    if fatal:
        return {"rollback": False, "leader": True,
                "reason": f"{'; '.join(fatal)} while JobManager {host} ({role}) restarted; {host} is not blamed and "
                          "not rolled back, and no other JobManager is restarted"}
    if not stopped:
        return {"rollback": False, "leader": False,
                "reason": f"JobManager {host} ({role}) was not restarted: {step}: {error}; nothing was touched"}
    return {"rollback": True, "leader": False,
            "reason": f"JobManager {host} ({role}) failed to restart: {step}: {error}"}
