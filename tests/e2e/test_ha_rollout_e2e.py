"""End to end on a real ZooKeeper HA Flink cluster: JobManager rollouts, standbys first, the leader last.

One shared Flink 2.3.0 cluster for the 2.3 cases (tests/e2e/ha_cluster.py): ZooKeeper from the distribution
(bin/zookeeper.sh), two JobManagers (jm1, jm2: high-availability.type zookeeper, own RPC/REST/blob ports), three
TaskManagers, and a keyed checkpointing count (tests/e2e/job/HaCountJob.java) that logs every completed
checkpoint's count and every restore's: its count must never go back. Everything goes through the real
``ansible-playbook flinkops.flink.rollout``; a watcher thread samples ZooKeeper's leader and the job twice a
second. The cases run in this order (the destructive ones last):

1. Without HA (the JobManagers' files without the HA keys) the default refuses in the pre-flight, before
   anything is written, naming rolling_restart_jobmanager_mode: savepoint.
2. The HA rollout: JobManager (1g -> 1280m) and TaskManager (managed fraction 0.35) memory: the three
   TaskManagers, then the standby, then the leader; all five run their file's memory to the byte, exactly
   one leader change, the same job RUNNING, restored from a checkpoint at least as new as the last one
   before the leader stopped, the count never went back.
3. A standby whose new file cannot start (a -javaagent jar that does not exist, in env.java.opts.jobmanager):
   restored from its backup byte for byte and started again; the rollout stops before the leader, which is never touched
   (same JVM, same leader session throughout).
4. kill -9 of the leader while the standby restarts: the rollout stops blaming the leader (its REST API went
   away), the standby is not rolled back, the leader is not started by the role; the cluster recovers on its
   own (the standby takes over, the job comes back, the count did not go back).
5. Flink 1.20.5 (its own cluster, after the 2.3 one is torn down; one TaskManager): the leader from
   ZooKeeper's 1.20 layout, and a JobManager-only rollout (standby, then leader) verified the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.plugin_utils import live, zookeeper
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster as flink_cluster  # noqa: E402  (tests/e2e is not a package)
import flink_install_1x  # noqa: E402
import ha_cluster  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "output"
TMS = ("tm1", "tm2", "tm3")
JMS = ("jm1", "jm2")
JOB = "flinkops-e2e-ha-count"
# A JVM option the JobManager's JVM dies of at start. (An unknown -XX flag would not do: Flink's bin/config.sh
# puts -XX:+IgnoreUnrecognizedVMOptions before env.java.opts, so the JVM starts anyway - checked on 2.3.0.)
BAD_OPTION = "-javaagent:/nonexistent/flinkops-e2e-jm-agent.jar"
TIMINGS: dict = {}
# the clusters of this module, so that the 1.20 one starts only after the 2.3 one is gone
CLUSTERS: dict = {}


def _timing(name, value) -> None:
    TIMINGS[name] = value
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "e2e-ha-timing.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


def _cluster(tmp_path_factory, version: str, tms):
    home = flink_install_1x.install(version)
    root = tmp_path_factory.mktemp(f"flinkops-ha-{version}")
    c = ha_cluster.HACluster(home, root, tms, jobmanagers=JMS, slots=1, tm_process_size="1g",
                             jm_process_size="1g", version=version)
    c.flink_version = version
    c.suffix = "" if version.startswith("2.3") else f"-{version}"
    c.prepare()
    # registered before anything starts: a start that fails half way is torn down too
    CLUSTERS[version] = c
    started = time.monotonic()
    c.start()
    _timing("cluster_start_s" + c.suffix, round(time.monotonic() - started, 1))
    c.count_file = root / "count.log"
    jar = c.build_count_job(root / "job")
    c.job_id = c.submit_job(jar, JOB, args=(str(c.count_file),))
    c.wait(lambda: any(k == "ckpt" for k, _i, _c in ha_cluster.count_log(c.count_file)), 180,
           "the job's first checkpoint")
    return c


def _teardown(c, version) -> None:
    killed = c.teardown()
    _timing("teardown_jvms_killed" + c.suffix, len(killed))
    CLUSTERS.pop(version, None)
    assert not c._our_jvms(), "Java processes left behind"


@pytest.fixture(scope="module")
def ha(tmp_path_factory):
    try:
        yield _cluster(tmp_path_factory, "2.3.0", TMS)
    finally:
        if "2.3.0" in CLUSTERS:
            _teardown(CLUSTERS["2.3.0"], "2.3.0")


@pytest.fixture(scope="module")
def ha120(tmp_path_factory):
    # one cluster at a time: the 2.3 cluster's cases are done when this one is asked for
    if "2.3.0" in CLUSTERS:
        _teardown(CLUSTERS["2.3.0"], "2.3.0")
    try:
        yield _cluster(tmp_path_factory, "1.20.5", ("tm1",))
    finally:
        if "1.20.5" in CLUSTERS:
            _teardown(CLUSTERS["1.20.5"], "1.20.5")


def rollout(ha, ansible_env, ansible_bin, tag, inventory: Path, *extra: str, timeout=1500):
    cmd = [str(ansible_bin / "ansible-playbook"), "-i", str(inventory), "flinkops.flink.rollout", *extra]
    env = dict(ansible_env, JVM_ARGS=flink_cluster.JVM_ARGS)
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=ha.root, check=False)
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / f"e2e-ha-{tag}{ha.suffix}.log").write_text(proc.stdout + proc.stderr)
    return proc, round(time.monotonic() - started, 1)


def file_model(ha, name: str, process: str) -> dict:
    path = ha.conf_dir(name) / "config.yaml"
    parsed = parse_config_yaml(path.read_bytes(), str(path))
    return compute(parsed.config, process, ha.flink_version)


JM_CONFIG_KEYS = {"jobmanager.memory.heap.size": "heap", "jobmanager.memory.off-heap.size": "off_heap",
                  "jobmanager.memory.jvm-metaspace.size": "jvm_metaspace",
                  "jobmanager.memory.jvm-overhead.min": "jvm_overhead",
                  "jobmanager.memory.jvm-overhead.max": "jvm_overhead"}


def jm_running_vs_file(ha, name: str) -> tuple:
    """(running, file) of the JobManager ``name``, read at its own REST address, independently of the role:
    the sizes Flink derived (/jobmanager/config) and -Xmx, -Xms, -XX:MaxMetaspaceSize of its JVM
    (/jobmanager/environment), in bytes, against its file's memory model."""
    config = {i["key"]: i["value"] for i in ha.rest_of(name, "/jobmanager/config")}
    options = ha.rest_of(name, "/jobmanager/environment")["jvm"]["options"]

    def last(prefix):
        found = [o[len(prefix):] for o in options if o.startswith(prefix)]
        return live._jvm_bytes(found[-1]) if found else None

    running = {key: live.parse_bytes(config[key]) if key in config else None for key in JM_CONFIG_KEYS}
    running.update({"-Xmx": last("-Xmx"), "-Xms": last("-Xms"), "-XX:MaxMetaspaceSize": last("-XX:MaxMetaspaceSize=")})
    model = file_model(ha, name, "jobmanager")
    assert model["valid"], model["error"]
    wanted = {key: model["sizes"][part] for key, part in JM_CONFIG_KEYS.items()}
    wanted.update({"-Xmx": model["jvm"]["heap"], "-Xms": model["jvm"]["heap"],
                   "-XX:MaxMetaspaceSize": model["jvm"]["metaspace"]})
    assert None not in wanted.values(), wanted
    return running, wanted


def tm_memory(ha) -> dict:
    return {tm["id"]: live.rest_memory(tm["memoryConfiguration"]) for tm in ha.rest("/taskmanagers")["taskmanagers"]}


def zk(ha) -> dict:
    return zookeeper.leader_info(f"127.0.0.1:{ha.zk_port}", ha.path_root, ha.cluster_id, timeout=5)


def ready(ha):
    """Both JobManagers in the election, a leader, every TaskManager registered, the job RUNNING."""
    def ok():
        try:
            info = zk(ha)
        except zookeeper.ZooKeeperError:
            return False
        return len(info["latch"] or []) == len(JMS) and ha.leader() is not None and ha.job_running(ha.job_id) \
            and len(ha.taskmanagers()) == len(ha.tm_names)
    return ha.wait(ok, 300, "the HA cluster whole, the job RUNNING")


class LeaderWatcher:
    """Samples ZooKeeper's leader and the job twice a second: leader changes, job downtime, the count.

    ``sessions``: the distinct leader sessions in the order seen (a leader change is a new one);
    ``ckpt_before_change``: the newest checkpoint id the job had logged when the first new leader was seen
    (the restore after the change must be at least as new); ``job_down``: seconds the job was not RUNNING
    with all its tasks; ``stalled``: seconds its count made no progress (no newer checkpoint logged for
    more than ``stall_after`` s).
    """

    def __init__(self, ha, interval: float = 0.5, stall_after: float = 5.0):
        self.ha = ha
        self.interval = interval
        self.stall_after = stall_after
        self.sessions = []
        self.leaders = []
        self.job_down = 0.0
        self.outages = 0
        self.samples = 0
        self.ckpt_before_change = None
        self.latest_ckpt = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        last, was_down = time.monotonic(), False
        while not self._stop.is_set():
            try:
                info = zk(self.ha)
                leader = info["leader"] or {}
                session = leader.get("session_id")
                if session and (not self.sessions or self.sessions[-1] != session):
                    self.sessions.append(session)
                    self.leaders.append(leader.get("address"))
                    if len(self.sessions) == 2:
                        self.ckpt_before_change = self.latest_ckpt
            except zookeeper.ZooKeeperError:
                pass
            ckpts = [i for k, i, _c in ha_cluster.count_log(self.ha.count_file) if k == "ckpt"]
            if ckpts:
                self.latest_ckpt = max(ckpts)
            now = time.monotonic()
            try:
                down = not self.ha.job_running(self.ha.job_id)
            except Exception:  # noqa: BLE001 -- no answer is the job not running
                down = True
            if down:
                self.job_down += now - last
                self.outages += not was_down
            was_down = down
            self.samples += 1
            last = now
            self._stop.wait(self.interval)

    @property
    def leader_changes(self) -> int:
        return max(0, len(self.sessions) - 1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


def _pids(ha):
    return {n: ha.process_pid(n) for n in (*JMS, *ha.tm_names)}


def _files(ha):
    return {n: (ha.conf_dir(n) / "config.yaml").read_bytes() for n in (*JMS, *ha.tm_names)}


def _reason(out: str) -> str:
    found = re.search(r"Rolling restart stopped: (.*)", out)
    assert found, out[-5000:]
    return found.group(1)


def _restored_id(ha) -> int | None:
    stats = ha.rest(f"/jobs/{ha.job_id}/checkpoints")
    return ((stats.get("latest") or {}).get("restored") or {}).get("id")


def _count_checks(ha, before_max: int) -> None:
    """The keyed count never went back below a checkpointed count, and it went on past where it was."""
    entries = ha_cluster.count_log(ha.count_file)
    assert ha_cluster.count_went_back(entries) == [], ha_cluster.count_went_back(entries)
    ha.wait(lambda: max(c for k, _i, c in ha_cluster.count_log(ha.count_file) if k == "ckpt") > before_max, 120,
            "the count checkpointed past where it was before the rollout")


def _max_count(ha) -> int:
    return max(c for k, _i, c in ha_cluster.count_log(ha.count_file) if k == "ckpt")


def test_without_ha_the_default_refuses_before_writing_anything(ha, ansible_env, ansible_bin, tmp_path):
    """The JobManagers' files without high availability: the pre-flight refuses, nothing is written."""
    ready(ha)
    inventory = ha.inventory(tmp_path / "inventory.yml", sys.executable)
    data = yaml.safe_load(inventory.read_text())
    for name in JMS:
        copy = tmp_path / "non-ha" / name
        shutil.copytree(ha.conf_dir(name), copy)
        text = "\n".join(line for line in (copy / "config.yaml").read_text().splitlines()
                         if not line.startswith("high-availability")) + "\n"
        (copy / "config.yaml").write_text(text)
        data["all"]["children"]["flink_jobmanager"]["hosts"][name]["flink_conf_dir"] = str(copy)
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    watched = {**_files(ha), **{f"copy-{n}": (tmp_path / "non-ha" / n / "config.yaml").read_bytes() for n in JMS}}
    pids = _pids(ha)
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"enforce_policy": {"taskmanager": {"process_size": "1g", "managed_fraction": 0.3,
                                                                     "slots": 1},
                                                     "jobmanager": {"process_size": "1280m"}}}))
    proc, elapsed = rollout(ha, ansible_env, ansible_bin, "non-ha", inventory, "-e", f"@{policy}",
                            "-e", "enforce_confirm=true", "-e", "rolling_restart_jobmanager=true",
                            "-e", f"rollout_report_dir={tmp_path / 'rollout'}")
    _timing("non_ha_refusal_playbook_s", elapsed)
    out = proc.stdout
    assert proc.returncode != 0, out[-4000:]
    refusal = re.search(r"Pre-flight failed, nothing was written or restarted: (.*)", out)
    assert refusal, out[-4000:]
    assert "the cluster has no high availability" in refusal.group(1), refusal.group(1)
    assert "rolling_restart_jobmanager_mode: savepoint" in refusal.group(1), refusal.group(1)
    assert "TASK [flinkops.flink.enforce" not in out  # the playbook ended before the enforce play
    assert {**_files(ha), **{f"copy-{n}": (tmp_path / "non-ha" / n / "config.yaml").read_bytes() for n in JMS}} \
        == watched
    assert _pids(ha) == pids


def _jm_policy(tmp_path, jm_settings: dict, extra_groups: dict | None = None) -> Path:
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"enforce_settings": {"jobmanager": jm_settings, **(extra_groups or {})}}))
    return settings


def _check_jm_runs_its_file(ha, name):
    running, wanted = jm_running_vs_file(ha, name)
    assert running == wanted, (name, running, wanted)


def test_ha_rollout_restarts_standby_then_leader_once_and_keeps_the_count(ha, ansible_env, ansible_bin, tmp_path):
    """JobManager and TaskManager memory: three TaskManagers, the standby, the leader last; one failover."""
    ready(ha)
    inventory = ha.inventory(tmp_path / "inventory.yml", sys.executable)
    leader = ha.leader()
    standby = next(n for n in JMS if n != leader)
    pids = _pids(ha)
    count_before = _max_count(ha)
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"enforce_policy": {
        "taskmanager": {"process_size": "1g", "managed_fraction": 0.35, "slots": 1},
        "jobmanager": {"process_size": "1280m"}}}))
    with LeaderWatcher(ha) as watcher:
        proc, elapsed = rollout(ha, ansible_env, ansible_bin, "rollout", inventory, "-e", f"@{policy}",
                                "-e", "enforce_confirm=true", "-e", "rolling_restart_jobmanager=true",
                                "-e", f"rollout_report_dir={tmp_path / 'rollout'}")
        ready(ha)
    _timing("ha_rollout_playbook_s", elapsed)
    _timing("ha_rollout_job_down_s", {"total": round(watcher.job_down, 1), "outages": watcher.outages})
    out = proc.stdout
    assert proc.returncode == 0, out[-8000:] + proc.stderr[-3000:]
    # In order: the TaskManagers, the standby, the leader.
    done = re.findall(r"Restarted ([^;]*);", out)
    assert done and done[-1].split(", ") == [*TMS, standby, leader], done

    # Exactly one leader change, from the old leader to the standby, seen in ZooKeeper during the run.
    assert watcher.samples > 20, watcher.samples
    assert watcher.leader_changes == 1, (watcher.sessions, watcher.leaders)
    assert watcher.leaders == [ha.urls[leader], ha.urls[standby]], watcher.leaders
    assert ha.leader() == standby
    assert len(zk(ha)["latch"]) == len(JMS)

    # All five run their new file's memory, byte for byte, and are new JVMs.
    for name in JMS:
        assert b"1280m" in (ha.conf_dir(name) / "config.yaml").read_bytes(), name
        _check_jm_runs_its_file(ha, name)
    running = tm_memory(ha)
    for name in TMS:
        model = file_model(ha, name, "taskmanager")
        assert model["valid"], model["error"]
        assert running[name] == {k: model["sizes"][k] for k in live.COMPONENTS}, name
    for name, pid in _pids(ha).items():
        assert pid not in (None, pids[name]), name

    # The same job RUNNING, restored (by the new leader) from a checkpoint at least as new as the last one
    # completed before the leader stopped; the keyed count never went back and goes on.
    assert ha.job_running(ha.job_id)
    assert watcher.ckpt_before_change is not None
    restored = _restored_id(ha)
    assert restored is not None and restored >= watcher.ckpt_before_change, (restored, watcher.ckpt_before_change)
    assert any(k == "restored" for k, _i, _c in ha_cluster.count_log(ha.count_file))
    _count_checks(ha, count_before)


def test_a_standby_that_cannot_start_is_restored_and_the_leader_never_touched(ha, ansible_env, ansible_bin,
                                                                              tmp_path):
    """The standby's new file gives its JVM an option it refuses: backup back, started again, stop."""
    ready(ha)
    leader = ha.leader()
    standby = next(n for n in JMS if n != leader)
    inventory = ha.inventory(tmp_path / "inventory.yml", sys.executable, groups={"e2e_bad_jvm": [standby]})
    files, pids = _files(ha), _pids(ha)
    session = zk(ha)["leader"]["session_id"]
    settings = _jm_policy(tmp_path, {"jobmanager.memory.process.size": "1344m"},
                          {"e2e_bad_jvm": {"env.java.opts.jobmanager": BAD_OPTION}})
    with LeaderWatcher(ha) as watcher:
        proc, elapsed = rollout(ha, ansible_env, ansible_bin, "standby-fault", inventory, "-e", f"@{settings}",
                                "-e", "enforce_confirm=true", "-e", "rolling_restart_jobmanager=true",
                                "-e", f"rollout_report_dir={tmp_path / 'rollout'}")
    _timing("ha_standby_fault_playbook_s", elapsed)
    out = proc.stdout
    assert proc.returncode != 0, out[-6000:]
    reason = _reason(out)
    # The standby is named with the JVM's own words, its backup restored, and the rollout stopped there.
    assert f"JobManager {standby} (standby) failed to restart" in reason, reason
    assert "flinkops-e2e-jm-agent.jar" in reason, reason
    assert "restored " in reason and "started again" in reason, reason
    assert "Rollout stopped before the leader" in reason, reason

    # The standby: its file back byte for byte, a new JVM on it, in the election, running that file's memory.
    assert (ha.conf_dir(standby) / "config.yaml").read_bytes() == files[standby]
    assert ha.process_pid(standby) not in (None, pids[standby])
    _check_jm_runs_its_file(ha, standby)
    # The leader: never touched - the same JVM and the same leader session all along; only enforce wrote its
    # file (its restart is pending).
    assert ha.process_pid(leader) == pids[leader]
    assert watcher.sessions == [session], watcher.sessions
    assert b"1344m" in (ha.conf_dir(leader) / "config.yaml").read_bytes()
    assert ha.leader() == leader and len(zk(ha)["latch"]) == len(JMS)
    # No TaskManager was touched, and the job never stopped.
    for name in TMS:
        assert ha.process_pid(name) == pids[name], name
    assert ha.job_running(ha.job_id)
    assert watcher.job_down == 0, watcher.job_down


def test_the_leader_killed_while_a_standby_restarts_stops_the_rollout_blaming_the_leader(ha, ansible_env, ansible_bin,
                                                                                       tmp_path):
    """kill -9 of the leader mid-rollout: the rollout stops with that reason, nothing is rolled back."""
    ready(ha)
    leader = ha.leader()
    standby = next(n for n in JMS if n != leader)
    inventory = ha.inventory(tmp_path / "inventory.yml", sys.executable)
    pids = _pids(ha)
    count_before = _max_count(ha)
    settings = _jm_policy(tmp_path, {"jobmanager.memory.process.size": "1408m"})
    killed = {}

    def kill_the_leader_once_the_standby_is_a_new_jvm():
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and not killed.get("stop"):
            pid = ha.process_pid(standby)
            if pid not in (None, pids[standby]):
                os.kill(pids[leader], signal.SIGKILL)
                killed.update(pid=pids[leader], standby_pid=pid, at=time.monotonic())
                return
            time.sleep(0.1)

    killer = threading.Thread(target=kill_the_leader_once_the_standby_is_a_new_jvm, daemon=True)
    killer.start()
    try:
        proc, elapsed = rollout(ha, ansible_env, ansible_bin, "leader-killed", inventory, "-e", f"@{settings}",
                                "-e", "enforce_confirm=true", "-e", "rolling_restart_jobmanager=true",
                                "-e", f"rollout_report_dir={tmp_path / 'rollout'}")
    finally:
        killed["stop"] = True
        killer.join(5)
    _timing("ha_leader_killed_playbook_s", elapsed)
    out = proc.stdout
    assert "pid" in killed, out[-6000:]
    assert proc.returncode != 0, out[-6000:]
    reason = _reason(out)
    # The leader is blamed, not the standby that was restarting.
    assert reason.startswith("the leader's REST API went away") or reason.startswith("the leader changed"), reason
    assert f"while JobManager {standby} (standby) restarted; {standby} is not blamed and not rolled back" in reason, \
        reason
    assert "ROLLBACK" not in reason and "restored " not in reason, reason
    # The standby kept its new file and its new JVM; the role did not start the killed leader.
    assert b"1408m" in (ha.conf_dir(standby) / "config.yaml").read_bytes()
    assert ha.process_pid(standby) == killed["standby_pid"]
    assert ha.process_pid(leader) is None
    # Flink recovers on its own: the standby leads once the killed leader's session expires, the same job runs
    # again from its checkpoint, and the count did not go back.
    ha.wait(lambda: ha.leader() == standby, 180, f"{standby} leading")
    ha.wait(lambda: ha.job_running(ha.job_id), 300, "the job RUNNING on the new leader")
    _check_jm_runs_its_file(ha, standby)
    _count_checks(ha, count_before)


def test_on_1_20_the_leader_from_zookeeper_and_a_jobmanager_rollout(ha120, ansible_env, ansible_bin, tmp_path):
    """Flink 1.20.5: ZooKeeper's layout and the REST shapes of 1.20; standby, then leader, one failover."""
    ha = ha120
    ready(ha)
    # The leader as ZooKeeper holds it on 1.20: the REST address of one of the two, a session, both in the latch.
    info = zk(ha)
    leader = ha.leader()
    assert leader in JMS and info["leader"]["session_id"], info
    assert len(info["latch"]) == len(JMS), info
    assert {c: (v or {}).get("address") is not None for c, v in info["components"].items()} == \
        dict.fromkeys(zookeeper.COMPONENTS, True), info["components"]
    standby = next(n for n in JMS if n != leader)
    inventory = ha.inventory(tmp_path / "inventory.yml", sys.executable)
    pids = _pids(ha)
    count_before = _max_count(ha)
    settings = _jm_policy(tmp_path, {"jobmanager.memory.process.size": "1280m"})
    with LeaderWatcher(ha) as watcher:
        proc, elapsed = rollout(ha, ansible_env, ansible_bin, "rollout", inventory, "-e", f"@{settings}",
                                "-e", "enforce_confirm=true", "-e", "rolling_restart_jobmanager=true",
                                "-e", f"rollout_report_dir={tmp_path / 'rollout'}")
        ready(ha)
    _timing("ha_rollout_playbook_s" + ha.suffix, elapsed)
    _timing("ha_rollout_job_down_s" + ha.suffix, {"total": round(watcher.job_down, 1), "outages": watcher.outages})
    out = proc.stdout
    assert proc.returncode == 0, out[-8000:] + proc.stderr[-3000:]
    done = re.findall(r"Restarted ([^;]*);", out)
    assert done and done[-1].split(", ") == [standby, leader], done
    assert watcher.leader_changes == 1, (watcher.sessions, watcher.leaders)
    assert ha.leader() == standby
    for name in JMS:
        _check_jm_runs_its_file(ha, name)
        assert ha.process_pid(name) not in (None, pids[name]), name
    assert ha.process_pid("tm1") == pids["tm1"]
    assert ha.job_running(ha.job_id)
    restored = _restored_id(ha)
    assert restored is not None and watcher.ckpt_before_change is not None
    assert restored >= watcher.ckpt_before_change, (restored, watcher.ckpt_before_change)
    _count_checks(ha, count_before)
