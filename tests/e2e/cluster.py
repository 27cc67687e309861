"""A real standalone Flink cluster on loopback for the end-to-end tests.

One JobManager and N TaskManagers from one Flink home (tests/e2e/flink_install.py), each process with
its own directory: ``conf/`` (a copy of the shipped one with our config.yaml), ``pid/`` and ``log/``,
so each TaskManager is its own inventory host with its own FLINK_CONF_DIR, pid dir (FLINK_PID_DIR)
and ident string (FLINK_IDENT_STRING = its name). Ports are picked free on 127.0.0.1 and every
listener binds to 127.0.0.1 only.

The TaskManagers' files are what a real fleet of separate machines would have: the same keys and
values except the host-specific ``taskmanager.resource-id`` (the inventory name), so the audit's
drift check sees only what we plant. What must differ on one machine goes outside the file: the pid
and log dirs through the environment (the inventory's flink_pid_dir and flink_log_dir), the RPC port
through a shared range of free ports from which each TaskManager takes one.

``teardown()`` kills every JVM it can find through the pid dirs and, as a safety net, every JVM whose
command line names one of our conf dirs; it is safe to call more than once.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

JOB_SOURCE = Path(__file__).resolve().parent / "job" / "TickJob.java"


def free_ports(count: int) -> list[int]:
    """Distinct ports free on 127.0.0.1 right now (all held open until all are chosen)."""
    socks = []
    try:
        while len(socks) < count:
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def free_port_range(count: int, low: int = 20000, high: int = 32000) -> tuple[int, int]:
    """``count`` consecutive ports free on 127.0.0.1 right now: (first, last).

    Below Linux's ephemeral range (32768 up): other programs' outgoing connections never take them while
    a TaskManager restarts.
    """
    import random

    rng = random.Random()
    for _attempt in range(200):
        base = rng.randrange(low, high - count)
        socks = []
        try:
            for port in range(base, base + count):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return base, base + count - 1
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


# Every JVM of the test cluster (the daemons and the helper JVMs Flink's scripts start): C1 only, a
# serial GC and one CPU's worth of thread pools - a third less CPU on a small shared machine.
# Flink's scripts put $JVM_ARGS on every java command line they run.
JVM_ARGS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ActiveProcessorCount=1"


PEKKO_STARTUP = "-Dpekko.remote.classic.startup-timeout=90s"


def _shipped_java_opts(home: Path) -> str:
    """env.java.opts.all of the shipped config.yaml (the --add-opens Flink needs on Java 17)."""
    data = yaml.safe_load((home / "conf" / "config.yaml").read_text())
    return str(data["env"]["java"]["opts"]["all"])


class Cluster:
    def __init__(self, home: Path, root: Path, taskmanagers=("tm1", "tm2", "tm3"), *, slots: int = 2,
                 tm_process_size: str = "1g", jm_process_size: str = "1g", rest_host: str = "127.0.0.1",
                 wrap=()):
        """``rest_host``: the address the REST API binds and is read at (everything else binds 127.0.0.1);
        ``wrap``: a command prefix the scripts run under (e.g. nsenter into an SSH test host's namespaces)."""
        self.home = Path(home)
        self.rest_host = rest_host
        self.wrap = list(wrap)
        self.root = Path(root)
        self.tm_names = list(taskmanagers)
        self.slots = slots
        # Pekko's classic remoting gives a starting JVM 10 s (pekko.remote.classic.startup-timeout); Flink's
        # pekko.startup-timeout does not reach that key, a system property does. Two TaskManagers started
        # together on a starved machine can die with "Could not create actor system" after the start grace.
        self.java_opts = _shipped_java_opts(self.home) + " " + PEKKO_STARTUP
        # Below the ephemeral range: another JVM's port 0 (a data port, a client socket) cannot take them between
        # choosing and binding, as it did with ports from free_ports() on the shared machine.
        base, _last = free_port_range(3)
        self.rest_port, self.rpc_port, self.blob_port = base, base + 1, base + 2
        # Room for every TaskManager plus a batch restarting while the old ones' ports are not yet free.
        self.tm_rpc_range = free_port_range(3 * len(self.tm_names))
        self.url = f"http://{rest_host}:{self.rest_port}"
        self.tm_process_size = tm_process_size
        self.jm_process_size = jm_process_size

    # --- layout ------------------------------------------------------------------------------------

    def dir(self, name: str) -> Path:
        return self.root / name

    def conf_dir(self, name: str) -> Path:
        return self.dir(name) / "conf"

    def pid_dir(self, name: str) -> Path:
        return self.dir(name) / "pid"

    def log_dir(self, name: str) -> Path:
        return self.dir(name) / "log"

    def _common(self) -> dict:
        return {
            "env.java.opts.all": self.java_opts,
            "jobmanager.rpc.address": "127.0.0.1",
            "jobmanager.rpc.port": str(self.rpc_port),
            "rest.address": self.rest_host,
            "rest.port": str(self.rest_port),
            # A killed TaskManager is noticed in 20 s, not 50 s; a stopped one says goodbye anyway.
            "heartbeat.interval": "2000",
            "heartbeat.timeout": "20000",
            # Four JVMs on two shared cores start slowly: the 10 s defaults fail under load.
            "pekko.startup-timeout": "90 s",
            "pekko.ask.timeout": "60 s",
            # Where the job's checkpoints go (the job itself asks for one every 2 s): an external path
            # is what a lost job is resubmitted from.
            "execution.checkpointing.dir": (self.root / "checkpoints").as_uri(),
        }

    def jm_config(self) -> dict:
        cfg = self._common()
        cfg.update({
            "jobmanager.bind-host": "127.0.0.1",
            "rest.bind-address": self.rest_host,
            "jobmanager.memory.process.size": self.jm_process_size,
            "blob.server.port": str(self.blob_port),
            "parallelism.default": "1",
            # Without checkpoints Flink does not restart a failed job unless told to.
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": "1000",
            "restart-strategy.fixed-delay.delay": "1 s",
            "slot.request.timeout": "120000",
        })
        return cfg

    def tm_config(self, name: str) -> dict:
        cfg = self._common()
        cfg.update({
            "taskmanager.host": "127.0.0.1",
            "taskmanager.bind-host": "127.0.0.1",
            "taskmanager.rpc.port": f"{self.tm_rpc_range[0]}-{self.tm_rpc_range[1]}",
            "taskmanager.data.port": "0",
            "taskmanager.resource-id": name,
            "taskmanager.numberOfTaskSlots": str(self.slots),
            "taskmanager.memory.process.size": self.tm_process_size,
        })
        return cfg

    def write_config(self, name: str, config: dict) -> Path:
        """Write a host's config.yaml (flat keys, plain YAML) over a copy of the shipped conf dir."""
        conf = self.conf_dir(name)
        if not conf.is_dir():
            shutil.copytree(self.home / "conf", conf)
        for sub in ("pid", "log"):
            (self.dir(name) / sub).mkdir(parents=True, exist_ok=True)
        lines = ["# flinkops e2e: " + name]
        for key, value in config.items():
            lines.append(f"{key}: {json.dumps(str(value))}")
        path = conf / "config.yaml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def set_keys(self, name: str, keys: dict) -> Path:
        """Set flat keys in the host's config.yaml as it is now (a line per key replaced, or added at the end).

        For a test that changes one host's file by hand, as an operator would (after the role's own writes).
        """
        path = self.conf_dir(name) / "config.yaml"
        lines = path.read_text().splitlines()
        for key, value in keys.items():
            line = f"{key}: {json.dumps(str(value))}"
            at = [i for i, old in enumerate(lines) if old.split(":", 1)[0].strip() == key]
            if at:
                lines[at[0]] = line
                for i in reversed(at[1:]):
                    del lines[i]
            else:
                lines.append(line)
        path.write_text("\n".join(lines) + "\n")
        return path

    def prepare(self, tm_overrides: dict | None = None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.write_config("jm", self.jm_config())
        for name in self.tm_names:
            cfg = self.tm_config(name)
            cfg.update((tm_overrides or {}).get(name, {}))
            self.write_config(name, cfg)

    # --- processes ---------------------------------------------------------------------------------

    def env(self, name: str) -> dict:
        env = dict(os.environ, JVM_ARGS=JVM_ARGS)
        env.update(FLINK_CONF_DIR=str(self.conf_dir(name)), FLINK_PID_DIR=str(self.pid_dir(name)),
                   FLINK_LOG_DIR=str(self.log_dir(name)), FLINK_IDENT_STRING=name)
        return env

    def _script(self, script: str, action: str, name: str, timeout: int = 120) -> None:
        proc = subprocess.run([*self.wrap, str(self.home / "bin" / script), action], env=self.env(name),
                              capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{script} {action} for {name} exited {proc.returncode}: {proc.stdout}{proc.stderr}")

    # Flink 1.19+'s scripts first run a JVM to parse config.yaml: minutes at a load average of 40.
    SCRIPT_TIMEOUT = 420

    def start_jobmanager(self) -> None:
        self._script("jobmanager.sh", "start", "jm", self.SCRIPT_TIMEOUT)

    def start_taskmanager(self, name: str) -> None:
        self._script("taskmanager.sh", "start", name, self.SCRIPT_TIMEOUT)

    def stop_taskmanager(self, name: str) -> None:
        self._script("taskmanager.sh", "stop", name, self.SCRIPT_TIMEOUT)

    def start(self, timeout: float = 420, retries: int = 2) -> None:
        """The JobManager, once its REST API answers the TaskManagers (their start scripts in parallel).

        On a starved machine a JVM can die at start: Pekko's remoting gives itself 10 s
        (pekko.remote.classic.startup-timeout, which Flink's pekko.startup-timeout does not reach).
        Bringing the test cluster up, such a process is started again, at most ``retries`` times.
        """
        from concurrent.futures import ThreadPoolExecutor

        deadline = time.monotonic() + timeout
        self.start_retries = {}
        self.start_jobmanager()
        self._wait_or_restart(["jm"], self._rest_up, self.start_jobmanager, deadline, retries)
        with ThreadPoolExecutor(len(self.tm_names)) as pool:
            for future in [pool.submit(self.start_taskmanager, name) for name in self.tm_names]:
                future.result()

        def registered():
            return len([t for t in self.taskmanagers().values() if t["slotsNumber"]]) == len(self.tm_names)

        self._wait_or_restart(self.tm_names, registered, self.start_taskmanager, deadline, retries)

    def _wait_or_restart(self, names, done, start, deadline, retries) -> None:
        while not done():
            for name in names:
                if self.process_pid(name) is None:
                    if self.start_retries.get(name, 0) >= retries:
                        raise RuntimeError(f"{name} died at start {retries + 1} times; see {self.log_dir(name)}")
                    self.start_retries[name] = self.start_retries.get(name, 0) + 1
                    start(*([] if name == "jm" else [name]))
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster did not come up; see the logs under {self.root}")
            time.sleep(1)

    def inventory(self, path: Path, python: str, groups: dict | None = None) -> Path:
        """An Ansible inventory: jm in flink_jobmanager, each TaskManager its own host in flink_taskmanager."""
        def host(name):
            return {"flink_conf_dir": str(self.conf_dir(name)), "flink_pid_dir": str(self.pid_dir(name)),
                    "flink_log_dir": str(self.log_dir(name)), "flink_ident_string": name}

        children = {
            "flink_jobmanager": {"hosts": {"jm": host("jm")}},
            "flink_taskmanager": {"hosts": {name: host(name) for name in self.tm_names}},
        }
        for group, members in (groups or {}).items():
            children[group] = {"hosts": {m: {} for m in members}}
        data = {"all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": python,
                     "flink_home": str(self.home), "rolling_restart_rest_url": self.url},
            "children": children,
        }}
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    def process_pid(self, name: str) -> int | None:
        """The pid of the running JVM of ``name`` (from its pid file), or None."""
        pids = [p for p in self.pids(name) if _alive(p)]
        return pids[-1] if pids else None

    def pids(self, name: str) -> list[int]:
        out = []
        for pid_file in self.pid_dir(name).glob("*.pid"):
            for line in pid_file.read_text().split():
                if line.strip().isdigit():
                    out.append(int(line))
        return out

    def _our_jvms(self) -> list[int]:
        """Every JVM on this machine whose command line names one of our directories."""
        found = []
        marker = str(self.root)
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "java" in cmd and marker in cmd:
                found.append(int(proc.name))
        return found

    def teardown(self) -> list[int]:
        """Kill every process of this cluster (pid dirs, then any JVM naming our dirs); returns the pids."""
        victims = set(self._our_jvms())
        for name in ["jm", *self.tm_names]:
            if self.pid_dir(name).is_dir():
                victims.update(self.pids(name))
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in victims:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(_alive(p) for p in victims):
                time.sleep(0.2)
        left = [p for p in self._our_jvms() if _alive(p)]
        if left:
            raise RuntimeError(f"JVMs still alive after teardown: {left}")
        return sorted(victims)

    # --- REST --------------------------------------------------------------------------------------

    def rest(self, path: str, timeout: float = 10):
        with urllib.request.urlopen(self.url + path, timeout=timeout) as resp:
            return json.load(resp)

    def _rest_up(self) -> bool:
        try:
            self.rest("/overview")
            return True
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def taskmanagers(self) -> dict:
        try:
            return {tm["id"]: tm for tm in self.rest("/taskmanagers")["taskmanagers"]}
        except (OSError, urllib.error.URLError, ValueError):
            return {}

    def jobs(self) -> list:
        try:
            return self.rest("/jobs/overview")["jobs"]
        except (OSError, urllib.error.URLError, ValueError):
            return []

    @staticmethod
    def wait(condition, timeout: float, what: str, interval: float = 0.5):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout:.0f}s waiting for: {what}")
            time.sleep(interval)

    # --- the job -----------------------------------------------------------------------------------

    def build_job(self, work: Path) -> Path:
        """Compile TickJob.java against flink-dist with javac; returns the jar."""
        classes = work / "classes"
        classes.mkdir(parents=True, exist_ok=True)
        dist = next((self.home / "lib").glob("flink-dist-*.jar"))
        subprocess.run(["javac", "-nowarn", "-d", str(classes), "-cp", str(dist), str(JOB_SOURCE)],
                       check=True, capture_output=True, timeout=300)
        manifest = work / "MANIFEST.MF"
        manifest.write_text("Main-Class: TickJob\n")
        jar = work / "tick.jar"
        subprocess.run(["jar", "cfm", str(jar), str(manifest), "-C", str(classes), "."], check=True,
                       capture_output=True, timeout=120)
        return jar

    def submit_job(self, jar: Path, name: str = "flinkops-e2e-tick", timeout: float = 120) -> str:
        """``bin/flink run -d`` with the JobManager's conf dir; returns the job id once it is RUNNING."""
        proc = subprocess.run([*self.wrap, str(self.home / "bin" / "flink"), "run", "-d", str(jar), name],
                              env=self.env("jm"), capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"flink run failed ({proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        job = self.wait(lambda: next((j for j in self.jobs() if j["name"] == name), None), 60, f"job {name} listed")
        self.wait(lambda: self.job_running(job["jid"]), timeout, f"job {name} RUNNING")
        return job["jid"]

    def job_running(self, jid: str) -> bool:
        for job in self.jobs():
            if job["jid"] == jid:
                tasks = job.get("tasks") or {}
                return job["state"] == "RUNNING" and tasks.get("running") == tasks.get("total")
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (OSError, IndexError):
        return False
