"""The JobManager decisions of the rolling restart (plugins/plugin_utils/jobmanager_rollout.py, and how
plugins/plugin_utils/rollout.py uses them): HA from the files, each JobManager's REST address, the leader
from ZooKeeper, standbys first and the leader last, the non-HA refusal, checkpoint safety, verification,
restore, blame and the outcome entry of every JobManager. The REST answers are Flink 2.3.0's own
(fixtures recorded from a real JobManager); tests/e2e/test_ha_rollout_e2e.py runs the same code against a
real HA cluster.
"""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.plugin_utils import jobmanager_rollout as jmr
from ansible_collections.flinkops.flink.plugins.plugin_utils import live, rollout

FIXTURES = Path(__file__).parent / "fixtures"
JM_CONFIG = json.loads((FIXTURES / "rest_2.3.0_jobmanager_config.json").read_text())
JM_ENV = json.loads((FIXTURES / "rest_2.3.0_jobmanager_environment.json").read_text())
HA = {"high-availability.type": "zookeeper", "high-availability.zookeeper.quorum": "zk1:2181,zk2:2181",
      "high-availability.cluster-id": "/prod", "high-availability.storageDir": "file:///ha"}
URLS = {"jm1": "http://jm1:8081", "jm2": "http://jm2:8081"}


def jm_gather(size="1g", **config):
    config = {"jobmanager.memory.process.size": size, **config}
    return {"config": config, "config_file": "/opt/flink/conf/config.yaml", "processes": ["jobmanager"],
            "memory": {"jobmanager": compute(config, "jobmanager", "2.3.0")}}


def jm_read(memory=True):
    """A flink_cluster_info result read from one JobManager's own REST address (it runs 1g)."""
    out = {"taskmanagers": [], "jobs": []}
    if memory:
        out["jobmanager"] = {"memory": live.jobmanager_memory(JM_CONFIG, JM_ENV)}
    return out


def zk(leader="http://jm1:8081", session="s-1", latch=2):
    return {"server": "zk1:2181", "latch": [f"_c_{i}-latch-000000000{i}" for i in range(latch)],
            "leader": {"address": leader, "session_id": session} if leader else None,
            "paths": {"latch": "/flink/prod/leader/latch",
                      "rest_server": "/flink/prod/leader/rest_server/connection_info"}}


HV = {h: {"flink_home": "/opt/flink", "flink_rest_url": u} for h, u in URLS.items()}


def plan(gathers=None, reads=None, zookeeper=None, *, restart=True, mode="", changed=None, cluster=None):
    gathers = gathers or {"jm1": jm_gather("1280m", **HA), "jm2": jm_gather("1280m", **HA)}
    return rollout.decide(gathers, cluster or {"taskmanagers": [], "jobs": []}, hostvars=HV, tm_hosts=[],
                          jm_hosts=["jm1", "jm2"], changed=changed, jobmanager_restart=restart,
                          jobmanager_mode=mode, zookeeper=zk() if zookeeper is None else zookeeper,
                          jm_reads=reads if reads is not None else {"jm1": jm_read(), "jm2": jm_read()})


# --- HA from the files --------------------------------------------------------------------------------------


def test_high_availability_is_read_from_the_files_with_flinks_fallback_keys_and_defaults():
    assert jmr.ha_of(HA) == {"type": "zookeeper", "key": "high-availability.type", "quorum": "zk1:2181,zk2:2181",
                             "path_root": "/flink", "cluster_id": "/prod"}
    # the older key, in capitals, and Flink's defaults for the paths
    old = jmr.ha_of({"high-availability": "ZOOKEEPER", "high-availability.zookeeper.quorum": "zk:2181"})
    assert old["type"] == "zookeeper" and old["key"] == "high-availability"
    assert (old["path_root"], old["cluster_id"]) == ("/flink", "/default")
    assert jmr.ha_of({})["type"] == "none" and jmr.ha_of({"high-availability.type": "NONE"})["type"] == "none"
    assert jmr.ha_of({"high-availability.type": "kubernetes"})["type"] == "kubernetes"


def test_jobmanagers_whose_files_disagree_or_an_unsupported_ha_are_problems():
    gathers = {"jm1": jm_gather(**HA), "jm2": jm_gather(**{**HA, "high-availability.cluster-id": "/other"})}
    got = jmr.ha_settings(["jm1", "jm2"], gathers)
    assert got["mode"] == "zookeeper"
    assert got["problems"] == ["the JobManagers' files disagree on high availability: jm1 has cluster_id '/prod', "
                               "jm2 has '/other'"]
    kube = jmr.ha_settings(["jm1"], {"jm1": jm_gather(**{"high-availability.type": "kubernetes"})})
    assert kube["mode"] == "unsupported" and "only ZooKeeper high availability" in kube["problems"][0]
    no_quorum = jmr.ha_settings(["jm1"], {"jm1": jm_gather(**{"high-availability.type": "zookeeper"})})
    assert "sets no high-availability.zookeeper.quorum" in no_quorum["problems"][0]
    assert jmr.ha_settings(["jm1"], {"jm1": jm_gather(**{"high-availability.type": "zookeeper"})},
                           "zk9:2181")["problems"] == []
    assert jmr.ha_settings(["jm1"], {"jm1": {"failed": True}})["mode"] == "unknown"


# --- the REST address and the leader --------------------------------------------------------------------


def test_each_jobmanagers_rest_address_from_its_host_variable_else_its_file():
    assert jmr.rest_url("jm1", {"flink_rest_url": "http://jm1:9000/"}, None)["url"] == "http://jm1:9000"
    file = jm_gather(**{"rest.address": "jm1.example.com", "rest.port": "8082"})
    assert jmr.rest_url("jm1", {}, file)["url"] == "http://jm1.example.com:8082"
    # a wildcard or no address: the inventory host's ansible_host, else its name; Flink's default port
    wild = jm_gather(**{"rest.address": "0.0.0.0"})
    assert jmr.rest_url("jm1", {"ansible_host": "10.0.0.5"}, wild)["url"] == "http://10.0.0.5:8081"
    assert jmr.rest_url("jm1", {}, jm_gather())["url"] == "http://jm1:8081"
    # rest.address falls back to jobmanager.rpc.address, as in Flink; TLS makes it https
    rpc = jm_gather(**{"jobmanager.rpc.address": "jm-rpc", "security.ssl.rest.enabled": "true"})
    assert jmr.rest_url("jm1", {}, rpc)["url"] == "https://jm-rpc:8081"
    assert jmr.rest_url("jm1", {}, {"failed": True})["url"] is None


def test_the_leader_is_the_jobmanager_whose_address_zookeeper_names():
    assert jmr.leader_host({"address": "http://JM2:8081/"}, URLS) == "jm2"
    assert jmr.leader_host({"address": "http://jm3:8081"}, URLS) is None
    assert jmr.leader_host(None, URLS) is None
    # two JobManagers with one address: no guess
    assert jmr.leader_host({"address": "http://jm1:8081"}, {"a": "http://jm1:8081", "b": "http://jm1:8081"}) is None


# --- the plan: standbys first, the leader last ----------------------------------------------------------


def test_standbys_restart_first_and_the_leader_last_and_once():
    got = plan(zookeeper=zk(leader="http://jm1:8081"))
    jm = got["jobmanager"]
    assert jm["ha"] == "zookeeper" and jm["mode"] == "ha" and jm["leader"] == "jm1"
    assert jm["order"] == ["jm2", "jm1"] and jm["pending"] is True and got["refused"] == []
    lines = [line for line in got["lines"] if "JobManager" in line]
    assert lines[0].startswith("1. JobManager jm2 (standby): running memory differs")
    assert lines[1].startswith("2. JobManager jm1 (leader) (last: one leader change)")
    # jm2 leads: jm1 goes first
    assert plan(zookeeper=zk(leader="http://jm2:8081"))["jobmanager"]["order"] == ["jm1", "jm2"]


def test_only_pending_jobmanagers_restart_and_a_changed_file_makes_one_pending():
    gathers = {"jm1": jm_gather("1g", **HA), "jm2": jm_gather("1280m", **HA)}
    assert plan(gathers)["jobmanager"]["order"] == ["jm2"]
    same = {"jm1": jm_gather("1g", **HA), "jm2": jm_gather("1g", **HA)}
    assert plan(same)["jobmanager"]["order"] == [] and plan(same)["jobmanager"]["pending"] is False
    # a file this run wrote takes effect only at a restart, whatever it changed
    assert plan(same, changed=["jm1"])["jobmanager"]["order"] == ["jm1"]


def test_without_the_switch_the_pending_jobmanagers_are_reported_not_restarted():
    got = plan(restart=False)
    assert got["jobmanager"]["mode"] == "off" and got["refused"] == []
    assert any(line.startswith("JobManager jm2 (standby): RESTART PENDING") and
               line.endswith("rolling_restart_jobmanager is false") for line in got["lines"]), got["lines"]
    result = rollout.outcome([], [], [], got["jobmanager"], False, "")
    assert result["pending_restart"] == ["jm1", "jm2"]
    assert [(e["host"], e["role"], e["result"]) for e in result["jobmanagers"]] == \
        [("jm1", "leader", "not touched"), ("jm2", "standby", "not touched")]
    assert result["jobmanagers"][0]["reason"].endswith("rolling_restart_jobmanager is false")


def test_the_preflight_refuses_without_zookeeper_a_leader_a_whole_election_or_a_known_leader():
    assert "ZooKeeper could not be read (connection refused)" in \
        plan(zookeeper={"failed": True, "msg": "connection refused"})["refused"][0]
    assert "names no leader" in plan(zookeeper=zk(leader=None))["refused"][0]
    unknown = plan(zookeeper=zk(leader="http://10.0.0.9:8081"))["refused"][0]
    assert "10.0.0.9:8081, which is no JobManager's of the inventory (jm1 http://jm1:8081, jm2 http://jm2:8081)" \
        in unknown and "flink_rest_url" in unknown
    assert "has 1 of the 2 JobManagers" in plan(zookeeper=zk(latch=1))["refused"][0]
    unread = plan(reads={"jm1": jm_read(), "jm2": {"failed": True, "msg": "HTTP 503"}})["refused"]
    assert unread == ["JobManager jm2: cannot tell whether it must restart: its REST API at http://jm2:8081 could "
                      "not be read (HTTP 503)"]
    # nothing is asked for: nothing is refused
    assert plan(zookeeper={"failed": True, "msg": "x"}, restart=False)["refused"] == []


def test_without_ha_the_default_refuses_naming_the_savepoint_mode_and_savepoint_mode_is_handed_on():
    gathers = {"jm1": jm_gather("1280m")}
    refused = rollout.decide(gathers, {"taskmanagers": [], "jobs": []}, hostvars={}, tm_hosts=[], jm_hosts=["jm1"],
                             jobmanager_restart=True)["refused"]
    assert len(refused) == 1 and "the cluster has no high availability" in refused[0]
    assert "rolling_restart_jobmanager_mode: savepoint" in refused[0]
    handed = rollout.decide(gathers, {"taskmanagers": [], "jobs": []}, hostvars={}, tm_hosts=[], jm_hosts=["jm1"],
                            jobmanager_restart=True, jobmanager_mode="savepoint")
    assert handed["refused"] == [] and handed["jobmanager"]["mode"] == "savepoint"
    # not asked for: no refusal, the restart is reported pending (issue 14)
    off = rollout.decide(gathers, {"taskmanagers": [], "jobs": []}, hostvars={}, tm_hosts=[], jm_hosts=["jm1"])
    assert off["refused"] == [] and off["jobmanager"]["mode"] == "off"
    assert jmr.mode({"mode": "zookeeper"}, True, "savepoint") == "ha"


def test_the_new_arguments_are_checked():
    problems = rollout.check_arguments({"rolling_restart_rest_url": "http://jm:8081",
                                        "rolling_restart_jobmanager_mode": "last-state",
                                        "rolling_restart_taskmanagers_after_jobmanager": "never",
                                        "rolling_restart_savepoint_timeout": "0", "rolling_restart_job_jars": []})
    assert len(problems) == 4 and "rolling_restart_jobmanager_mode must be" in problems[0]


# --- before the leader stops ------------------------------------------------------------------------------


def _cluster(*jobs):
    return {"jobs": [{"id": j[0], "name": j[0], "state": j[1], "checkpoint": j[2]} for j in jobs]}


def test_checkpoint_safety_refuses_jobs_without_a_checkpoint_and_warns_when_they_are_not_retained():
    got = jmr.checkpoint_safety(_cluster(("a", "RUNNING", {"id": 7}), ("b", "RUNNING", None),
                                         ("c", "RUNNING", {"id": 0}), ("d", "RESTARTING", None),
                                         ("e", "FINISHED", None)),
                                {"a": {"externalization": {"enabled": True, "delete_on_cancellation": True}}})
    assert [r.split(" (")[0] for r in got["refuse"]] == ["job b", "job c", "job d"]
    assert "does not checkpoint" in got["refuse"][0] and "no completed checkpoint yet" in got["refuse"][1]
    assert len(got["warn"]) == 1 and "not RETAIN_ON_CANCELLATION" in got["warn"][0]
    assert [j["id"] for j in got["jobs"]] == ["a", "b", "c"]
    retained = {"a": {"externalization": {"enabled": True, "delete_on_cancellation": False}}}
    assert jmr.checkpoint_safety(_cluster(("a", "RUNNING", {"id": 7})), retained)["warn"] == []


def test_a_pending_jobmanager_with_a_job_that_cannot_be_restored_is_refused_in_the_preflight():
    cluster = {"taskmanagers": [], **_cluster(("a", "RUNNING", None))}
    assert "does not checkpoint" in plan(cluster=cluster)["refused"][0]
    assert plan(cluster=cluster, restart=False)["refused"] == []


def test_the_leader_must_be_the_one_of_the_preflight():
    assert jmr.leader_check(zk(), URLS, "jm1", "s-1") == {"ok": True, "leader": "jm1", "reason": ""}
    moved = jmr.leader_check(zk(leader="http://jm2:8081", session="s-2"), URLS, "jm1", "s-1")
    assert not moved["ok"] and moved["leader"] == "jm2"
    assert moved["reason"].startswith("the leadership changed during the rollout: jm1 led at the start, now jm2")
    assert not jmr.leader_check(zk(session="s-9"), URLS, "jm1", "s-1")["ok"]  # re-elected: another session
    assert not jmr.leader_check({"failed": True, "msg": "down"}, URLS, "jm1", "s-1")["ok"]


# --- after a restart ----------------------------------------------------------------------------------------


def test_a_restarted_jobmanager_is_verified_byte_for_byte():
    entry = {"host": "jm1", "url": URLS["jm1"], "model": jm_gather("1g")["memory"]["jobmanager"]}
    assert jmr.verify(entry, jm_read()) == {"ok": True, "reason": ""}
    bigger = dict(entry, model=jm_gather("1280m")["memory"]["jobmanager"])
    got = jmr.verify(bigger, jm_read())
    assert not got["ok"] and got["reason"].startswith("jm1 runs with memory its file does not give: JVM Heap 448 MiB")
    assert "could not be read (HTTP 503)" in jmr.verify(entry, {"failed": True, "msg": "HTTP 503"})["reason"]


def test_every_job_must_come_back_from_a_checkpoint_at_least_as_new_as_before():
    jobs = [{"id": "a", "name": "a", "checkpoint": {"id": 10}}, {"id": "b", "name": "b", "checkpoint": {"id": 5}}]
    after = {"a": {"latest": {"restored": {"id": 11, "external_path": "file:/c/chk-11", "is_savepoint": False}}},
             "b": {"latest": {"restored": {"id": 4, "is_savepoint": False}}}}
    got = jmr.restored(jobs, after)
    assert not got["ok"] and len(got["reasons"]) == 1
    assert "restored from checkpoint 4, older than its last completed one before the leader stopped (5)" \
        in got["reasons"][0]
    assert got["jobs"][0] == {"id": "a", "name": "a", "checkpoint_before": 10, "restored_from": 11,
                              "restored_path": "file:/c/chk-11", "savepoint": False}
    assert "was not restored" in jmr.restored(jobs[:1], {"a": {"latest": {"restored": None}}})["reasons"][0]
    assert jmr.restored(jobs[:1], after)["ok"]


def test_blame_a_leader_that_went_away_rolls_nothing_back_a_failed_start_is_rolled_back():
    leader = jmr.blame("jm2", "standby", step="Wait ...", error="x", fatal=["the leader's REST API went away (..)"],
                       stopped=True)
    assert leader["rollback"] is False and leader["leader"] is True
    assert "while JobManager jm2 (standby) restarted; jm2 is not blamed" in leader["reason"]
    own = jmr.blame("jm2", "standby", step="Start JobManager jm2", error="Unrecognized VM option", stopped=True)
    assert own["rollback"] is True and own["reason"] == ("JobManager jm2 (standby) failed to restart: Start JobManager "
                                                         "jm2: Unrecognized VM option")
    before = jmr.blame("jm1", "leader", step="Refuse to stop the leader", error="job a does not checkpoint",
                       stopped=False)
    assert before["rollback"] is False and before["reason"].endswith("nothing was touched")


def test_the_outcome_lists_every_jobmanager_restarted_failed_or_not_touched_with_the_reason():
    jm = plan()["jobmanager"]
    jm["records"] = [{"host": "jm2", "role": "standby", "result": "failed",
                      "reason": "JobManager jm2 (standby) failed to restart: Start: bad option - restored /b"}]
    result = rollout.outcome([], [], [{"hosts": ["jm2"], "reason": "x"}], jm, True, "jm2 failed. Rollout stopped.")
    assert [(e["host"], e["role"], e["result"]) for e in result["jobmanagers"]] == \
        [("jm1", "leader", "not touched"), ("jm2", "standby", "failed")]
    assert result["jobmanagers"][0]["reason"].endswith("the rollout stopped before it (jm2 failed. Rollout stopped.)")
    assert result["pending_restart"] == ["jm1", "jm2"]
    assert "JobManagers: jm1 not touched (leader): restart pending" in result["summary"]
    jm["records"] = [{"host": "jm2", "role": "standby", "result": "restarted", "reason": "ok"},
                     {"host": "jm1", "role": "leader", "result": "restarted", "reason": "ok", "new_leader": "jm2"}]
    done = rollout.outcome([], ["jm2", "jm1"], [], jm, False, "")
    assert done["summary"].endswith("JobManagers: jm1 restarted (leader, new leader jm2); jm2 restarted (standby).")
    assert done["pending_restart"] == []
