"""End to end: the savepoint mode of a JobManager restart without high availability, on a real Flink 2.3.0 cluster.

One cluster for every case (tests/e2e/savepoint_cluster.py): one JobManager (``web.upload.dir`` and a savepoint
directory in its file) and two TaskManagers of one slot each on loopback, the keyed counting job
tests/e2e/job/CountJob.java submitted with ``bin/flink run -d`` (so its jar is not among the uploaded ones: the first
resubmission uploads it from the path the user gives in ``rolling_restart_job_jars``). Everything goes through the
real ``ansible-playbook``; faults are real (a savepoint directory under a regular file, a -javaagent jar that is not
there, a job that cannot get its slots). The cluster is torn down (every JVM killed) whatever happens.

1. test_a_failing_savepoint_touches_nothing: playbooks/rollout.yml with ``enforce_confirm`` and a savepoint directory
   the cluster cannot write: the pre-flight's probe savepoint fails, so no file is written, no process restarted and
   the job (the same one) still RUNNING. The same fault at the real stop (the probe off, the role's cycle alone):
   the JobManager is not stopped, the job still RUNNING.
2. test_a_job_that_cannot_savepoint_is_refused_before_any_stop: checkpoint safety - a second job that cannot get its
   slots (it could not be stopped with a savepoint, and the JobManager stop would end it, deleting its
   checkpoints): refused, nothing touched, both jobs as they were.
3. test_savepoint_rollout: playbooks/rollout.yml changing JobManager and TaskManager memory: the TaskManagers in
   batches, then the savepoint cycle (the TaskManagers restarted with it). The JobManager runs its new file to the
   byte (``/jobmanager/config`` and -Xmx/-Xms/-XX:MaxMetaspaceSize of ``/jobmanager/environment`` against the
   collection's model), the TaskManagers too; the job runs under a new id restored from its savepoint
   (``/jobs/<id>/checkpoints``), its jar uploaded from the user's path, its keyed count carried over (never back);
   the console names the old and new id and the savepoint.
4. test_reconnect: the cycle with ``rolling_restart_taskmanagers_after_jobmanager: reconnect``: the TaskManagers are
   not restarted (same JVMs) and register with the new JobManager; the jar kept in web.upload.dir is used.
5. test_a_jobmanager_that_does_not_start_gets_its_backup: a new file whose JVM cannot start (a missing -javaagent jar;
   the shipped -XX:+IgnoreUnrecognizedVMOptions lets an unknown -XX option start): its backup is
   restored, the JobManager started on it, the job resubmitted from the same savepoint; the rollout fails saying so.
6. test_savepoint_rollout_on_1_20: Flink 1.20.5 on its own cluster (one JobManager, two TaskManagers, started
   after the 2.3.0 one is torn down), the job compiled against 1.20's flink-dist: the same rollout as case 3 through
   1.20's REST shapes (stop-with-savepoint, /jars/upload and /jars/<id>/run, /jobs/<id>/checkpoints, the
   JobManager's environment), the JobManager verified to the byte against the 1.20 model, the count never back.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.plugin_utils import live
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster as flink_cluster  # noqa: E402  (tests/e2e is not a package)
import flink_install_1x  # noqa: E402
import savepoint_cluster  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "output"
TMS = ("tm1", "tm2")
JOB = savepoint_cluster.JOB
VERSION = "2.3.0"
VERSION_1X = "1.20.5"
BAD_AGENT = "-javaagent:/nonexistent/flinkops-e2e-agent.jar"
TIMINGS: dict = {}
# the clusters of this module, so that the 1.20 one starts only after the 2.3 one is gone
CLUSTERS: dict = {}


def _timing(name: str, value) -> None:
    TIMINGS[name] = round(value, 1) if isinstance(value, float) else value
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "e2e-savepoint-timing.json").write_text(json.dumps(TIMINGS, indent=2) + "\n")


def _cluster(tmp_path_factory, version: str, tms, **sizes):
    home = flink_install_1x.install(version)
    root = tmp_path_factory.mktemp(f"flinkops-e2e-savepoint-{version}")
    c = savepoint_cluster.SavepointCluster(home, root, tms, slots=1, **sizes)
    c.flink_version = version
    c.suffix = "" if version == VERSION else f"_{version}"
    c.prepare()
    # registered before anything starts: a start that fails half way is torn down too
    CLUSTERS[version] = c
    started = time.monotonic()
    c.start()
    _timing("cluster_start_s" + c.suffix, time.monotonic() - started)
    c.jar = c.build_count_job(root / "job")
    c.job_id = c.submit_job(c.jar, JOB, timeout=180)
    return c


def _teardown(version: str) -> None:
    c = CLUSTERS.pop(version, None)
    if c is not None:
        killed = c.teardown()
        _timing("teardown_jvms_killed" + c.suffix, len(killed))
        assert not c._our_jvms(), "Java processes left behind"


@pytest.fixture(scope="module")
def flink(tmp_path_factory):
    try:
        yield _cluster(tmp_path_factory, VERSION, TMS, tm_process_size="1g", jm_process_size="768m")
    finally:
        _teardown(VERSION)


@pytest.fixture(scope="module")
def flink120(tmp_path_factory):
    # one cluster at a time: the 2.3 cluster's cases are done when this one is asked for
    _teardown(VERSION)
    try:
        # Two TaskManagers, as for 2.3: with one, the rollout's TaskManager batch is refused before the savepoint
        # cycle ("the running jobs hold 1 slots, only 0 would be left while tm1 is down").
        yield _cluster(tmp_path_factory, VERSION_1X, TMS, tm_process_size="1g", jm_process_size="768m")
    finally:
        _teardown(VERSION_1X)


# --- what the tests look at ------------------------------------------------------------------------------


def files(flink) -> dict:
    return {n: (flink.conf_dir(n) / "config.yaml").read_bytes() for n in ("jm", *flink.tm_names)}


def pids(flink) -> dict:
    return {n: flink.process_pid(n) for n in ("jm", *flink.tm_names)}


def file_model(flink, name: str, process: str) -> dict:
    path = flink.conf_dir(name) / "config.yaml"
    return file_model_of(path.read_bytes(), str(path), process, flink.flink_version)


def file_model_of(data: bytes, where: str, process: str = "jobmanager", version: str = VERSION) -> dict:
    return compute(parse_config_yaml(data, where).config, process, version)


def set_jm_size(flink, size: str) -> None:
    path = flink.conf_dir("jm") / "config.yaml"
    text, count = re.subn(r'jobmanager\.memory\.process\.size: "[^"]*"', f'jobmanager.memory.process.size: "{size}"',
                          path.read_text())
    assert count == 1, text
    path.write_text(text)


def _jvm_bytes(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    return int(text[:-1]) * units[text[-1].lower()] if text[-1].lower() in units else int(text)


def assert_jobmanager_runs_its_file(flink) -> dict:
    """/jobmanager/config and the JVM's -Xmx/-Xms/-XX:MaxMetaspaceSize against the model of its file, to the byte."""
    model = file_model(flink, "jm", "jobmanager")
    assert model["valid"], model["error"]
    config, environment = flink.rest("/jobmanager/config"), flink.rest("/jobmanager/environment")
    options = environment["jvm"]["options"]

    def option(prefix):
        values = [o[len(prefix):] for o in options if o.startswith(prefix)]
        assert values, (prefix, options)
        return _jvm_bytes(values[-1])

    assert option("-Xmx") == model["jvm"]["heap"] and option("-Xms") == model["jvm"]["heap"]
    assert option("-XX:MaxMetaspaceSize=") == model["jvm"]["metaspace"]
    keys = {k["key"]: k["value"] for k in config}
    assert int(keys["jobmanager.memory.heap.size"].rstrip("b")) == model["sizes"]["heap"], keys
    assert int(keys["jobmanager.memory.jvm-metaspace.size"].rstrip("b")) == model["sizes"]["jvm_metaspace"], keys
    running = {"memory": live.jobmanager_memory(config, environment)}
    assert live.jobmanager_differences(running, model) == []
    return model


def assert_taskmanagers_run_their_files(flink) -> None:
    running = {t["id"]: live.rest_memory(t["memoryConfiguration"]) for t in flink.rest("/taskmanagers")["taskmanagers"]}
    assert set(running) == set(flink.tm_names), running
    for name in flink.tm_names:
        model = file_model(flink, name, "taskmanager")
        assert running[name] == {k: model["sizes"][k] for k in live.COMPONENTS}, name


def restored_from(flink, jid: str) -> dict:
    return (flink.rest(f"/jobs/{jid}/checkpoints").get("latest") or {}).get("restored") or {}


class Counts:
    """Samples the job's keyed count once a second: [(job id, flinkopsCount, flinkopsFirst)]."""

    def __init__(self, flink):
        self.flink, self.samples = flink, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            jid = self.flink.running_job(JOB)
            if jid:
                count, first = self.flink.gauge(jid, "flinkopsCount"), self.flink.gauge(jid, "flinkopsFirst")
                if count is not None:
                    self.samples.append((jid, count, first))
            self._stop.wait(1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(15)

    def of(self, jid):
        return [(c, f) for j, c, f in self.samples if j == jid]


def first_count(flink, jid: str, timeout: float = 60) -> int:
    """The count the job's state held when this run saw its first number (0 fresh, the savepoint's after a restore)."""
    return flink.wait(lambda: flink.gauge(jid, "flinkopsFirst") is not None and flink.gauge(jid, "flinkopsFirst") + 1,
                      timeout, f"job {jid}'s first count on REST") - 1


def settle(flink) -> str:
    """The job RUNNING with all its tasks and a completed checkpoint; its id."""
    jid = flink.wait(lambda: flink.running_job(JOB), 180, "the count job RUNNING")
    flink.wait(lambda: (flink.rest(f"/jobs/{jid}/checkpoints")["counts"]["completed"] or 0) > 0, 120,
               "a completed checkpoint")
    return jid


def run_rollout(flink, ansible_env, ansible_bin, tmp_path, tag: str, extra: dict):
    tmp_path.mkdir(parents=True, exist_ok=True)
    inventory = flink.inventory(tmp_path / "inventory.yml", sys.executable)
    variables = tmp_path / "vars.yml"
    variables.write_text(yaml.safe_dump({
        "enforce_confirm": True, "rollout_report_dir": str(tmp_path / "rollout"),
        "rolling_restart_jobmanager": True, "rolling_restart_jobmanager_mode": "savepoint",
        "rolling_restart_job_jars": {JOB: {"jar": str(flink.jar), "args": [JOB]}}, **extra}))
    env = dict(ansible_env, JVM_ARGS=flink_cluster.JVM_ARGS)
    started = time.monotonic()
    proc = subprocess.run([str(ansible_bin / "ansible-playbook"), "-i", str(inventory), "flinkops.flink.rollout",
                           "-e", f"@{variables}"], env=env, capture_output=True, text=True, timeout=900,
                          cwd=flink.root, check=False)
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / f"e2e-savepoint-{tag}.log").write_text(proc.stdout + proc.stderr)
    return proc, time.monotonic() - started


def run_cycle(flink, ansible_env, ansible_bin, tmp_path, tag: str, extra: dict):
    tmp_path.mkdir(parents=True, exist_ok=True)
    inventory = flink.inventory(tmp_path / "inventory.yml", sys.executable)
    variables = {"rolling_restart_jobmanager": True, "rolling_restart_jobmanager_mode": "savepoint",
                 "rolling_restart_job_jars": {JOB: {"jar": str(flink.jar), "args": [JOB]}}, **extra}
    return savepoint_cluster.playbook(flink, ansible_env, ansible_bin, inventory, variables,
                                      OUTPUT / f"e2e-savepoint-{tag}.log")


def bad_directory(flink) -> str:
    blocker = flink.root / "not-a-directory"
    blocker.write_text("a regular file where the savepoint directory would be\n")
    return (blocker / "savepoints").as_uri()


# --- the cases ---------------------------------------------------------------------------------------------


def test_a_failing_savepoint_touches_nothing(flink, ansible_env, ansible_bin, tmp_path):
    jid = settle(flink)
    before_files, before_pids = files(flink), pids(flink)
    policy = {"enforce_policy": {"taskmanager": {"process_size": "1100m", "slots": 1},
                                 "jobmanager": {"process_size": "896m"}},
              "rolling_restart_savepoint_dir": bad_directory(flink)}
    proc, seconds = run_rollout(flink, ansible_env, ansible_bin, tmp_path / "a", "probe-fails", policy)
    _timing("failing_probe_rollout_s", seconds)
    out = proc.stdout
    assert proc.returncode != 0, out[-4000:]
    assert re.search(r"Pre-flight failed, nothing was written or restarted: savepoint mode of JobManager jm: "
                     rf"job {JOB} \({jid}\): its probe savepoint into \S+ failed: [^\n]*not-a-directory", out), \
        out[-5000:]
    assert files(flink) == before_files and pids(flink) == before_pids
    assert flink.running_job(JOB) == jid

    # The same fault at the real stop (no probe): the JobManager is not stopped, the job keeps running.
    proc, outcome, seconds = run_cycle(flink, ansible_env, ansible_bin, tmp_path / "b", "stop-fails",
                                       {"rolling_restart_savepoint_dir": bad_directory(flink),
                                        "rolling_restart_savepoint_probe": False})
    _timing("failing_stop_cycle_s", seconds)
    assert proc.returncode == 0 and outcome, proc.stdout[-5000:]
    assert outcome["stopped"] is True and outcome["done"] == [], outcome
    assert re.search(rf"stopped before the JobManager was touched \(it was not stopped\): flink_job: the savepoint of "
                     rf"job {JOB} \({jid}\) failed: .*not-a-directory", outcome["reason"]), outcome["reason"]
    assert outcome["records"][0]["result"] == "not touched", outcome["records"]
    assert files(flink) == before_files and pids(flink) == before_pids
    assert flink.running_job(JOB) == jid


def test_a_job_that_cannot_savepoint_is_refused_before_any_stop(flink, ansible_env, ansible_bin, tmp_path):
    jid = settle(flink)
    # A second job asking for two slots while one is free: RUNNING with tasks that never all run. It cannot be
    # stopped with a savepoint; a JobManager stop would end it (its checkpoints are not retained: deleted).
    proc = subprocess.run([str(flink.home / "bin" / "flink"), "run", "-d", "-p", "2", str(flink.jar), "stuck"],
                          env=flink.env("jm"), capture_output=True, text=True, timeout=180, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    stuck = flink.wait(lambda: next((j["jid"] for j in flink.jobs() if j["name"] == "stuck"), None), 60, "stuck")
    try:
        before_files, before_pids = files(flink), pids(flink)
        proc, outcome, seconds = run_cycle(flink, ansible_env, ansible_bin, tmp_path, "stuck-job", {})
        _timing("stuck_job_refusal_s", seconds)
        assert proc.returncode != 0 and outcome is None, proc.stdout[-4000:]
        assert re.search(r"Pre-flight failed, nothing was written or restarted: .*job stuck \(" + stuck, proc.stdout), \
            proc.stdout[-5000:]
        assert files(flink) == before_files and pids(flink) == before_pids
        assert flink.running_job(JOB) == jid
        assert any(j["jid"] == stuck and j["state"] not in live.TERMINAL_JOB_STATES for j in flink.jobs())
    finally:
        cancel(flink, stuck)
        flink.wait(lambda: all(j["state"] in live.TERMINAL_JOB_STATES for j in flink.jobs() if j["jid"] == stuck), 60,
                   "the stuck job cancelled")


def cancel(flink, jid: str) -> None:
    """``PATCH /jobs/<id>``: Flink's cancel of a job."""
    with urllib.request.urlopen(urllib.request.Request(f"{flink.url}/jobs/{jid}", method="PATCH"), timeout=30):
        pass


def test_savepoint_rollout(flink, ansible_env, ansible_bin, tmp_path):
    check_savepoint_rollout(flink, ansible_env, ansible_bin, tmp_path)


def check_savepoint_rollout(flink, ansible_env, ansible_bin, tmp_path):
    """playbooks/rollout.yml changing JobManager and TaskManager memory, the savepoint cycle; everything verified."""
    old = settle(flink)
    before_pids = pids(flink)
    policy = {"enforce_policy": {"taskmanager": {"process_size": "1100m", "slots": 1},
                                 "jobmanager": {"process_size": "896m"}}}
    with savepoint_cluster.DowntimeWatcher(flink) as watcher, Counts(flink) as counts:
        proc, seconds = run_rollout(flink, ansible_env, ansible_bin, tmp_path, "rollout" + flink.suffix, policy)
        new = flink.wait(lambda: flink.running_job(JOB) not in (None, old) and flink.running_job(JOB), 60, "new job")
        first = first_count(flink, new)
        flink.wait(lambda: (flink.gauge(new, "flinkopsCount") or 0) > first, 60, "the count going on")
    _timing("rollout_playbook_s" + flink.suffix, seconds)
    _timing("rollout_job_down_s" + flink.suffix, watcher.down)
    out = proc.stdout
    assert proc.returncode == 0, out[-6000:] + proc.stderr[-2000:]
    # The console names the old and the new job id and the savepoint.
    line = re.search(rf"{JOB}: {old} -> ([0-9a-f]{{32}}) from (\S+) \(restored from its savepoint\)", out)
    assert line and line.group(1) == new, out[-5000:]
    savepoint = line.group(2)
    assert Path(savepoint.removeprefix("file:")).is_dir() and str(flink.root / "savepoints") in savepoint

    assert_jobmanager_runs_its_file(flink)
    assert file_model(flink, "jm", "jobmanager")["sizes"]["total_process"] == 896 << 20
    assert_taskmanagers_run_their_files(flink)
    after = pids(flink)
    assert all(after[n] not in (None, before_pids[n]) for n in after), (before_pids, after)
    # Restored from that savepoint, as Flink records it.
    restored = restored_from(flink, new)
    assert restored.get("is_savepoint") is True and restored["external_path"].rstrip("/") == savepoint.rstrip("/")
    # The jar came from the user's path: uploaded to the new JobManager (it was never uploaded before).
    assert [j["name"] for j in flink.rest("/jars")["files"]] == [flink.jar.name]
    # The keyed count carried over: the new run started from the savepoint's count, never below what the old run
    # was seen at, and only grows.
    seen_old = [c for c, _f in counts.of(old)]
    assert seen_old and first >= max(seen_old) > 0, (first, seen_old)
    seen_new = [c for c, _f in counts.of(new)]
    assert seen_new == sorted(seen_new) and all(c >= first for c in seen_new), seen_new
    # The audit after: nothing pending on the JobManager any more.
    report = json.loads((tmp_path / "rollout" / "after" / "flink-audit.json").read_text())
    jm = next(h for h in report["hosts"] if h["name"] == "jm")
    assert not [f["code"] for f in jm["findings"] if f["code"].startswith("live-")], jm["findings"]


def test_reconnect(flink, ansible_env, ansible_bin, tmp_path):
    old = settle(flink)
    before_pids = pids(flink)
    set_jm_size(flink, "832m")  # the change enforce would write
    with savepoint_cluster.DowntimeWatcher(flink) as watcher:
        proc, outcome, seconds = run_cycle(flink, ansible_env, ansible_bin, tmp_path, "reconnect",
                                           {"rolling_restart_taskmanagers_after_jobmanager": "reconnect"})
    _timing("reconnect_cycle_s", seconds)
    _timing("reconnect_job_down_s", watcher.down)
    assert proc.returncode == 0 and outcome, proc.stdout[-5000:]
    assert outcome["stopped"] is False and outcome["done"] == ["jm"], outcome
    entry = outcome["result"][0]
    assert entry["old_id"] == old and entry["restored"] is True and entry["new_id"] == flink.running_job(JOB)
    assert outcome["resubmit"][0]["jar_source"] == "uploaded", outcome["resubmit"]
    assert_jobmanager_runs_its_file(flink)
    assert file_model(flink, "jm", "jobmanager")["sizes"]["total_process"] == 832 << 20
    after = pids(flink)
    assert after["jm"] not in (None, before_pids["jm"])
    assert all(after[n] == before_pids[n] for n in TMS), (before_pids, after)  # the same TaskManager JVMs
    assert_taskmanagers_run_their_files(flink)
    assert restored_from(flink, entry["new_id"])["external_path"].rstrip("/") == entry["savepoint"].rstrip("/")
    assert first_count(flink, entry["new_id"]) > 0


def test_a_jobmanager_that_does_not_start_gets_its_backup(flink, ansible_env, ansible_bin, tmp_path):
    old = settle(flink)
    path = flink.conf_dir("jm") / "config.yaml"
    backup = path.with_name("config.yaml.e2e-backup")
    backup.write_bytes(path.read_bytes())
    set_jm_size(flink, "960m")
    # The shipped env.java.opts.all has -XX:+IgnoreUnrecognizedVMOptions: an unknown -XX option would start. A
    # missing agent jar does not.
    path.write_text(path.read_text() + f'env.java.opts.jobmanager: "{BAD_AGENT}"\n')
    backed_up = file_model_of(backup.read_bytes(), str(backup))
    before_jm = flink.process_pid("jm")
    proc, outcome, seconds = run_cycle(flink, ansible_env, ansible_bin, tmp_path, "bad-jvm",
                                       {"rolling_restart_backup_file": str(backup)})
    _timing("bad_jvm_cycle_s", seconds)
    assert proc.returncode == 0 and outcome, proc.stdout[-5000:]
    assert outcome["stopped"] is True, outcome
    assert re.search(r"the JobManager did not start on its new file \(.*flinkops-e2e-agent.*\); its backup "
                     + re.escape(str(backup)) + " was restored and it runs again on it", outcome["reason"]), \
        outcome["reason"]
    assert path.read_bytes() == backup.read_bytes()
    assert flink.process_pid("jm") not in (None, before_jm)
    assert_jobmanager_runs_its_file(flink)
    assert file_model(flink, "jm", "jobmanager")["sizes"] == backed_up["sizes"]
    entry = outcome["result"][0]
    assert entry["old_id"] == old and entry["restored"] is True and entry["new_id"] == flink.running_job(JOB)
    assert restored_from(flink, entry["new_id"])["external_path"].rstrip("/") == entry["savepoint"].rstrip("/")
    assert first_count(flink, entry["new_id"]) > 0


# --- Flink 1.20 (its own cluster, after the 2.3 one is torn down) ------------------------------------------


def test_savepoint_rollout_on_1_20(flink120, ansible_env, ansible_bin, tmp_path):
    """Flink 1.20.5, one JobManager and two TaskManagers: the whole savepoint-mode rollout through 1.20's REST."""
    check_savepoint_rollout(flink120, ansible_env, ansible_bin, tmp_path)
