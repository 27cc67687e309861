"""Provoke Flink's memory failures for real on a one-TaskManager loopback cluster, and keep the evidence.

Used by tests/e2e/test_diagnose_e2e.py and, run as a script, to (re)capture the unit tests' fixtures:
``python tests/e2e/diagnose_cluster.py 2.3.0 [case ...]`` writes
``tests/unit/plugins/plugin_utils/fixtures/diagnose/<line>/<case>/`` with ``case.json`` (each host's config,
Flink version and processes, as a gather returns them, and the names of its log files) and the log files as
Flink wrote them (from where the case began), and ``rest__jobs.json``: the JobManager's REST answers for
the jobs of the case (``/jobs/overview`` entries, ``/jobs/<id>/exceptions`` as Flink returned them, and
``/taskmanagers``), so the diagnosis is tested without a cluster.

The cluster is tests/e2e/cluster.py's (imported, not copied): a JobManager ``jm`` and one TaskManager
``tm1``; each case rewrites tm1's file, restarts only tm1 and submits tests/e2e/job/DiagnoseJob.java in
the mode that fails. The JobManager runs without restarts (``restart-strategy.type: none``), so a job
fails once and its log holds one account of it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import Cluster, _alive  # noqa: E402

JOB_SOURCE = Path(__file__).resolve().parent / "job" / "DiagnoseJob.java"
FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "plugins" / "plugin_utils" / "fixtures" / "diagnose"
CGROUP_ROOT = Path("/sys/fs/cgroup/memory")
MIB = 1 << 20

# case -> (tm1's keys over the cluster's, job arguments, text that says the failure happened, where)
CASES = {
    "network-buffers": ({"taskmanager.numberOfTaskSlots": "8", "taskmanager.memory.network.min": "2m",
                         "taskmanager.memory.network.max": "2m"},
                        ["network", "8"], "Insufficient number of network buffers", "taskexecutor"),
    "heap-oom": ({}, ["heap", "400"], "Java heap space", "taskexecutor"),
    "direct-oom": ({"taskmanager.memory.task.off-heap.size": "16m"}, ["direct", "4000"],
                   "Direct buffer memory", "taskexecutor"),
    "metaspace-oom": ({"taskmanager.memory.jvm-metaspace.size": "128m"}, ["metaspace"], "Metaspace",
                      "taskexecutor"),
    "managed-memory": ({"taskmanager.memory.managed.size": "128k"}, ["sort"],
                       "Too little memory provided to sorter", "taskexecutor"),
    "slots-unfulfillable": ({"taskmanager.numberOfTaskSlots": "1"}, ["slots", "4"],
                            "NoResourceAvailableException", "standalonesession"),
    "rocksdb-managed": ({"taskmanager.memory.managed.size": "8m", "taskmanager.numberOfTaskSlots": "1"},
                        ["rocksdb"], "RocksDBStateBackend performance will be poor", "taskexecutor"),
}
# A JVM option of the file's own that caps direct memory below the network pool Flink sizes.
POOL = {"env.java.opts.taskmanager": "-XX:MaxDirectMemorySize=16m"}
# The cgroup limit of the OOM-kill case: below the 2g TaskManager, above what it needs to start.
OOM_KILL_LIMIT = 1200 * MIB
REFUSED = {"taskmanager.memory.task.heap.size": "512m", "taskmanager.memory.managed.size": "512m"}


def line_of(version: str) -> str:
    return ".".join(version.split(".")[:2])


class DiagnoseCluster(Cluster):
    """jm + tm1 on loopback; cases restart tm1 with other keys and read what Flink wrote."""

    def __init__(self, home: Path, root: Path, version: str):
        super().__init__(home, root, ("tm1",), slots=2, tm_process_size="1g", jm_process_size="1g")
        self.version = version
        self.jar = None

    def jm_config(self) -> dict:
        cfg = super().jm_config()
        # One failure, one account of it; a job the slots cannot hold fails in 15 s, not 2 min.
        cfg.update({"restart-strategy.type": "none", "slot.request.timeout": "15000"})
        for key in [k for k in cfg if k.startswith("restart-strategy.fixed-delay")]:
            del cfg[key]
        return cfg

    def build(self, work: Path) -> Path:
        classes = work / "classes"
        classes.mkdir(parents=True, exist_ok=True)
        dist = next((self.home / "lib").glob("flink-dist-*.jar"))
        subprocess.run(["javac", "-nowarn", "-d", str(classes), "-cp", str(dist), str(JOB_SOURCE)],
                       check=True, capture_output=True, timeout=300)
        (work / "MANIFEST.MF").write_text("Main-Class: DiagnoseJob\n")
        self.jar = work / "diagnose.jar"
        subprocess.run(["jar", "cfm", str(self.jar), str(work / "MANIFEST.MF"), "-C", str(classes), "."],
                       check=True, capture_output=True, timeout=120)
        return self.jar

    # --- tm1 ---------------------------------------------------------------------------------------

    def tm_settings(self, overrides: dict) -> dict:
        cfg = self.tm_config("tm1")
        cfg.update(overrides)
        return cfg

    def stop_tm(self, name: str = "tm1") -> None:
        pids = [p for p in self.pids(name) if _alive(p)]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(_alive(p) for p in pids):
                time.sleep(0.2)
        for pid_file in self.pid_dir(name).glob("*.pid"):
            pid_file.unlink()
        self.wait(lambda: not self.tm_rest(name), 60, f"{name} gone from the JobManager")

    def tm_rest(self, name: str) -> list:
        return [t for i, t in self.taskmanagers().items() if i == name]

    def restart_tm(self, overrides: dict, name: str = "tm1") -> None:
        """tm1 with its cluster keys plus ``overrides``, a fresh log dir, registered with the JobManager."""
        self.stop_tm(name)
        for old in self.log_dir(name).glob("*"):
            old.unlink()
        self.write_config(name, self.tm_settings(overrides))
        self.start_taskmanager(name)
        self.wait(lambda: self.tm_rest(name), 240, f"{name} registered")

    # --- jobs --------------------------------------------------------------------------------------

    def run_job(self, args: list, timeout: float = 120) -> subprocess.CompletedProcess:
        """``bin/flink run -d`` of DiagnoseJob (returns when the job is submitted, or failed to be)."""
        return subprocess.run([str(self.home / "bin" / "flink"), "run", "-d", str(self.jar), *args],
                              env=self.env("jm"), capture_output=True, text=True, timeout=timeout, check=False)

    def cancel_all(self) -> None:
        for job in self.jobs():
            if job["state"] not in ("FINISHED", "FAILED", "CANCELED"):
                req = __import__("urllib.request").request.Request(f"{self.url}/jobs/{job['jid']}?mode=cancel",
                                                                   method="PATCH")
                with contextlib.suppress(OSError):
                    __import__("urllib.request").request.urlopen(req, timeout=10).read()
        self.wait(lambda: all(j["state"] in ("FINISHED", "FAILED", "CANCELED") for j in self.jobs()), 60,
                  "every job ended")

    def log_files(self, name: str) -> list:
        return sorted(p for p in self.log_dir(name).glob("flink-*") if p.suffix in (".log", ".out"))

    def offsets(self) -> dict:
        return {p: p.stat().st_size for n in ("jm", *self.tm_names) for p in self.log_files(n)}

    def wait_text(self, name: str, text: str, timeout: float, since: dict | None = None) -> Path:
        def found():
            for path in self.log_files(name):
                with contextlib.suppress(OSError), open(path, "rb") as fh:
                    fh.seek((since or {}).get(path, 0))
                    if text in fh.read().decode(errors="replace"):
                        return path
            return None

        return self.wait(found, timeout, f"{text!r} in {name}'s logs", interval=1)

    # --- evidence ----------------------------------------------------------------------------------

    def host_record(self, name: str) -> dict:
        """What a gather knows of a host here: its config (flat), Flink version and processes."""
        config = yaml.safe_load((self.conf_dir(name) / "config.yaml").read_text())
        return {"flink_version": self.version, "processes": ["jobmanager" if name == "jm" else "taskmanager"],
                "config": {k: str(v) for k, v in config.items()}, "conf_dir": str(self.conf_dir(name)),
                "log_dir": str(self.log_dir(name))}

    def job_ids(self) -> set:
        return {j["jid"] for j in self.jobs()}

    def rest_answers(self, jobs_before: set) -> dict:
        """The REST answers a flink_cluster_info with exceptions reads, raw, for the jobs of the case."""
        jobs = [j for j in self.jobs() if j["jid"] not in jobs_before]
        return {"jobs": jobs, "exceptions": {j["jid"]: self.rest(f"/jobs/{j['jid']}/exceptions") for j in jobs},
                "taskmanagers": self.rest("/taskmanagers"), "overview": self.rest("/overview")}

    def keep(self, case: str, since: dict, extra_logs: dict | None = None, dest: Path | None = None,
             jobs_before: set | None = None) -> Path:
        """Write the case's fixture: case.json, every log file from where the case began, and (with
        ``jobs_before``) the REST answers for the jobs started since."""
        out = dest or FIXTURES / line_of(self.version) / case
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*"):
            old.unlink()
        hosts = {}
        for name in ("jm", *self.tm_names):
            record = self.host_record(name)
            record["logs"] = []
            for path in self.log_files(name):
                with open(path, "rb") as fh:
                    fh.seek(since.get(path, 0))
                    data = fh.read()
                if data:
                    (out / f"{name}__{path.name}").write_bytes(data)
                    record["logs"].append({"file": str(path), "fixture": f"{name}__{path.name}"})
            for fname, data in (extra_logs or {}).get(name, {}).items():
                fields = {}
                if isinstance(data, tuple):  # (text, extra fields of the logs entry: the kernel's clock)
                    data, fields = data
                (out / f"{name}__{Path(fname).name}").write_text(data)
                record["logs"].append({"file": fname, "fixture": f"{name}__{Path(fname).name}", **fields})
            hosts[name] = record
        case_data = {"case": case, "flink_version": self.version, "hosts": hosts}
        if jobs_before is not None:
            (out / "rest__jobs.json").write_text(json.dumps(self.rest_answers(jobs_before), indent=1) + "\n")
            case_data["rest"] = "rest__jobs.json"
        (out / "case.json").write_text(json.dumps(case_data, indent=1, sort_keys=True) + "\n")
        return out


def provoke(cl: DiagnoseCluster, case: str, dest: Path | None = None) -> Path:
    """Run one case of CASES on the running cluster and keep its fixture."""
    overrides, args, text, where = CASES[case]
    cl.cancel_all()
    cl.restart_tm(overrides)
    since, before = cl.offsets(), cl.job_ids()
    proc = cl.run_job(args)
    if proc.returncode != 0 and text not in proc.stdout + proc.stderr:
        print(f"{case}: flink run exited {proc.returncode}: {proc.stdout[-1500:]}{proc.stderr[-1500:]}",
              file=sys.stderr)
    cl.wait_text("jm" if where == "standalonesession" else "tm1", text, 240)
    time.sleep(3)  # the rest of the account (the JobManager's side) lands too
    cl.cancel_all()
    return cl.keep(case, since, dest=dest, jobs_before=before)


def provoke_refused(cl: DiagnoseCluster, dest: Path | None = None) -> Path:
    """tm1 with a file Flink refuses, started in the foreground by a supervisor that keeps its console."""
    cl.stop_tm()
    for old in cl.log_dir("tm1").glob("*"):
        old.unlink()
    since = cl.offsets()
    cl.write_config("tm1", cl.tm_settings(REFUSED))
    out = cl.log_dir("tm1") / f"flink-tm1-taskexecutor-0-{os.uname().nodename}.out"
    with open(out, "wb") as console:
        proc = subprocess.run([str(cl.home / "bin" / "taskmanager.sh"), "start-foreground"], env=cl.env("tm1"),
                              stdout=console, stderr=subprocess.STDOUT, timeout=180, check=False)
    if proc.returncode == 0 or "Could not get JVM parameters" not in out.read_text():
        raise RuntimeError(f"tm1 was not refused (exit {proc.returncode}): {out.read_text()[-2000:]}")
    return cl.keep("refused-config", since, dest=dest)


def provoke_pool(cl: DiagnoseCluster, dest: Path | None = None) -> Path:
    """tm1 whose own JVM option caps direct memory below its network pool: the pool fails at start."""
    cl.cancel_all()
    cl.stop_tm()
    for old in cl.log_dir("tm1").glob("*"):
        old.unlink()
    since = cl.offsets()
    cl.write_config("tm1", cl.tm_settings(POOL))
    cl.start_taskmanager("tm1")
    try:
        cl.wait_text("tm1", "Could not allocate enough memory segments for NetworkBufferPool", 180)
        time.sleep(3)
    finally:
        cl.stop_tm()
    return cl.keep("network-pool-allocation", since, dest=dest)


def provoke_jm_heap(cl: DiagnoseCluster, dest: Path | None = None) -> Path:
    """A job whose source fills the JobManager's heap when the JobMaster deserializes it."""
    cl.cancel_all()
    since = cl.offsets()
    cl.run_job(["jm-heap", "1", "flinkops-diagnose-jm-heap"])
    cl.wait_text("jm", "Java heap space", 240)
    time.sleep(5)
    path = cl.keep("jm-heap-oom", since, dest=dest)
    if cl.process_pid("jm") is None:  # the JobManager may exit on an OutOfMemoryError: bring it back
        cl.start_jobmanager()
        cl.wait(cl._rest_up, 240, "the JobManager's REST API")
    return path


def provoke_oom_kill(cl: DiagnoseCluster, dest: Path | None = None) -> Path:
    """tm1 in a memory cgroup (v1) whose limit is below its process size; the kernel kills the JVM."""
    group = CGROUP_ROOT / f"flinkops-diagnose-{os.getpid()}"
    group.mkdir()
    try:
        (group / "memory.limit_in_bytes").write_text(str(OOM_KILL_LIMIT))
        with contextlib.suppress(OSError):
            (group / "memory.memsw.limit_in_bytes").write_text(str(OOM_KILL_LIMIT))
        cl.cancel_all()
        cl.stop_tm()
        for old in cl.log_dir("tm1").glob("*"):
            old.unlink()
        cl.write_config("tm1", cl.tm_settings({"taskmanager.memory.process.size": "2g",
                                               "taskmanager.memory.managed.fraction": "0.1",
                                               "taskmanager.numberOfTaskSlots": "1"}))
        dmesg_before = subprocess.run(["dmesg"], capture_output=True, text=True, check=False).stdout
        script = f'echo $$ > {group}/cgroup.procs && exec "$0" start'
        subprocess.run(["sh", "-c", script, str(cl.home / "bin" / "taskmanager.sh")], env=cl.env("tm1"),
                       check=True, timeout=120, capture_output=True)
        cl.wait(lambda: cl.tm_rest("tm1"), 240, "tm1 registered")
        # tm1's log from its start (the JVM's start time ties the kernel's kill to it), the JobManager's from now
        since = {p: size for p, size in cl.offsets().items() if not p.name.startswith("flink-tm1-")}
        before = cl.job_ids()
        cl.run_job(["heap", "900", "flinkops-diagnose-oom-kill"])

        def killed():
            lines = subprocess.run(["dmesg"], capture_output=True, text=True, check=False).stdout
            new = lines[len(dmesg_before):] if lines.startswith(dmesg_before[:200]) else lines
            return new if "Killed process" in new else None

        kernel = cl.wait(killed, 240, "the kernel's OOM kill in dmesg", interval=1)
        cl.wait_text("jm", "TaskManager with id tm1", 120)  # the JobManager's account of the loss
        cl.wait(lambda: all(j["state"] in ("FAILED", "CANCELED") for j in cl.jobs() if j["jid"] not in before), 120,
                "the job failed")
        return cl.keep("oom-killed", since, extra_logs={"tm1": {"dmesg": (kernel, kernel_clock())}}, dest=dest,
                       jobs_before=before)
    finally:
        cl.stop_tm()
        with contextlib.suppress(OSError):
            group.rmdir()


def kernel_clock() -> dict:
    """What the gather reads to put the kernel's [seconds since boot] on the wall clock (log_tail.LOGS_SH)."""
    btime = next(line.split()[1] for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
    return {"boot_time": int(btime), "utc_offset": time.strftime("%z")}


def provoke_heartbeat(cl: DiagnoseCluster, dest: Path | None = None) -> Path:
    """tm1's JVM stopped (SIGSTOP) under a running job: the JobManager's heartbeat of it times out."""
    cl.cancel_all()
    cl.restart_tm({"taskmanager.numberOfTaskSlots": "1"})
    since, before = cl.offsets(), cl.job_ids()
    proc = cl.run_job(["slots", "1", "flinkops-diagnose-heartbeat"])
    if proc.returncode != 0:
        raise RuntimeError(f"flink run exited {proc.returncode}: {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    job = cl.wait(lambda: next((j for j in cl.jobs() if j["jid"] not in before), None), 60, "the job listed")
    cl.wait(lambda: cl.job_running(job["jid"]), 240, "the job RUNNING")
    pid = cl.process_pid("tm1")
    os.kill(pid, signal.SIGSTOP)
    try:
        cl.wait_text("jm", "timed out", 180, since=since)
        cl.wait(lambda: cl.rest(f"/jobs/{job['jid']}")["state"] in ("FAILED", "CANCELED"), 120, "the job failed")
        time.sleep(2)
    finally:
        os.kill(pid, signal.SIGCONT)
        cl.stop_tm()
    return cl.keep("taskmanager-lost", since, dest=dest, jobs_before=before)


def main(argv: list) -> int:
    import tempfile

    import flink_install_1x

    version = argv[0] if argv else "2.3.0"
    wanted = argv[1:] or [*CASES, "network-pool-allocation", "refused-config", "oom-killed", "jm-heap-oom",
                          "taskmanager-lost"]
    home = flink_install_1x.install(version)
    with tempfile.TemporaryDirectory(prefix="flinkops-diagnose-") as tmp:
        cl = DiagnoseCluster(home, Path(tmp) / "cluster", version)
        cl.build(Path(tmp) / "job")
        cl.prepare()
        try:
            cl.start()
            for case in wanted:
                started = time.monotonic()
                try:
                    if case == "refused-config":
                        path = provoke_refused(cl)
                    elif case == "jm-heap-oom":
                        path = provoke_jm_heap(cl)
                    elif case == "network-pool-allocation":
                        path = provoke_pool(cl)
                    elif case == "oom-killed":
                        path = provoke_oom_kill(cl)
                    elif case == "taskmanager-lost":
                        path = provoke_heartbeat(cl)
                    else:
                        path = provoke(cl, case)
                    print(f"{case}: kept {path} ({time.monotonic() - started:.0f} s)", flush=True)
                except Exception as exc:  # noqa: BLE001  (one case failing must not lose the others)
                    print(f"{case}: FAILED {type(exc).__name__}: {exc}", flush=True)
        finally:
            cl.teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
