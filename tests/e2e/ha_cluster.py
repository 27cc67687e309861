"""A real ZooKeeper high-availability Flink cluster on loopback for the end-to-end tests.

ZooKeeper from the distribution itself (``bin/zookeeper.sh start 1``: the server is inside
``lib/flink-dist-*.jar``), two (or more) JobManagers with ``high-availability.type: zookeeper`` and
their own RPC, REST and blob ports, and N TaskManagers, each process with its own conf, pid and log
directory as in tests/e2e/cluster.py (which this extends). Every listener binds to 127.0.0.1, every
port is picked free. ``teardown()`` kills every JVM naming our directories (ZooKeeper included).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import cluster as flink_cluster

JM_NAMES = ("jm1", "jm2")


class HACluster(flink_cluster.Cluster):
    def __init__(self, home: Path, root: Path, taskmanagers=("tm1", "tm2"), *, jobmanagers=JM_NAMES, slots: int = 1,
                 tm_process_size: str = "1g", jm_process_size: str = "1g", version: str = "2.3"):
        super().__init__(home, root, taskmanagers, slots=slots, tm_process_size=tm_process_size,
                         jm_process_size=jm_process_size)
        self.jm_names = list(jobmanagers)
        self.version = version
        ports = flink_cluster.free_ports(3 + 3 * len(self.jm_names))
        self.zk_port, self.zk_peer_ports = ports[0], ports[-2:]
        self.jm_ports = {name: {"rest": ports[1 + 3 * i], "rpc": ports[2 + 3 * i], "blob": ports[3 + 3 * i]}
                         for i, name in enumerate(self.jm_names)}
        self.urls = {name: f"http://127.0.0.1:{p['rest']}" for name, p in self.jm_ports.items()}
        self.url = self.urls[self.jm_names[0]]
        self.cluster_id = "/flinkops-e2e"
        self.path_root = "/flink"

    # --- layout ------------------------------------------------------------------------------------

    def ha_config(self) -> dict:
        return {
            ("high-availability.type" if self.version >= "1.19" else "high-availability"): "zookeeper",
            "high-availability.zookeeper.quorum": f"127.0.0.1:{self.zk_port}",
            "high-availability.storageDir": (self.root / "ha").as_uri(),
            "high-availability.cluster-id": self.cluster_id,
            # A JobManager killed with -9 loses its leadership when its session expires: 10 s, not 60 s.
            "high-availability.zookeeper.client.session-timeout": "10000",
            "high-availability.zookeeper.client.connection-timeout": "15000",
        }

    def _common(self) -> dict:
        cfg = super()._common()
        cfg.update(self.ha_config())
        # the TaskManagers find the leader in ZooKeeper; these only name the first JobManager
        cfg.pop("rest.port", None)
        cfg["jobmanager.rpc.port"] = str(self.jm_ports[self.jm_names[0]]["rpc"])
        return cfg

    def jm_config_of(self, name: str) -> dict:
        cfg = self.jm_config()
        ports = self.jm_ports[name]
        cfg.update({"jobmanager.rpc.port": str(ports["rpc"]), "rest.port": str(ports["rest"]),
                    "blob.server.port": str(ports["blob"]),
                    # the job's metrics and checkpoints are read right after a leader change
                    "metrics.fetcher.update-interval": "1000"})
        return cfg

    def prepare(self, tm_overrides: dict | None = None, jm_overrides: dict | None = None) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        zk = self.dir("zk")
        self.write_config("zk", {"env.java.opts.all": self.java_opts, "zookeeper.heap.mb": "64"})
        (zk / "data").mkdir(exist_ok=True)
        (self.conf_dir("zk") / "zoo.cfg").write_text(
            "tickTime=1000\ninitLimit=10\nsyncLimit=5\n"
            f"dataDir={zk / 'data'}\nclientPort={self.zk_port}\nclientPortAddress=127.0.0.1\n"
            "admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr\n"
            # minSessionTimeout 2 s .. maxSessionTimeout 20 s (2 and 20 ticks)
            f"server.1=127.0.0.1:{self.zk_peer_ports[0]}:{self.zk_peer_ports[1]}\n")
        for name in self.jm_names:
            cfg = self.jm_config_of(name)
            cfg.update((jm_overrides or {}).get(name, {}))
            self.write_config(name, cfg)
        for name in self.tm_names:
            cfg = self.tm_config(name)
            cfg.update((tm_overrides or {}).get(name, {}))
            self.write_config(name, cfg)

    # --- processes ---------------------------------------------------------------------------------

    def start_zookeeper(self) -> None:
        self._zk("start", "1")
        self.wait(self.zookeeper_ok, 120, "ZooKeeper answering")

    def _zk(self, *args: str) -> None:
        # ZK_HEAP: the heap in MiB (config.sh reads zookeeper.heap.mb only when it is unset)
        proc = subprocess.run([str(self.home / "bin" / "zookeeper.sh"), *args], env=dict(self.env("zk"), ZK_HEAP="64"),
                              capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"zookeeper.sh {' '.join(args)} exited {proc.returncode}: {proc.stdout}{proc.stderr}")

    def zookeeper_ok(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.zk_port), timeout=2) as s:
                s.sendall(b"ruok")
                return s.recv(4) == b"imok"
        except OSError:
            return False

    def _script(self, script: str, action: str, name: str, timeout: int = 600) -> None:
        # Flink's scripts parse config.yaml with a JVM of their own first: minutes on a crowded 2-core host
        super()._script(script, action, name, timeout)

    def start_jobmanager(self, name: str | None = None) -> None:
        self._script("jobmanager.sh", "start", name or self.jm_names[0])

    def start(self, timeout: float = 480, retries: int = 2) -> None:
        """ZooKeeper, the JobManagers (one leader elected, every REST API up), then the TaskManagers."""
        from concurrent.futures import ThreadPoolExecutor

        deadline = time.monotonic() + timeout
        self.start_retries = {}
        self.start_zookeeper()
        for name in self.jm_names:
            self.start_jobmanager(name)
        self._wait_or_restart(self.jm_names, lambda: all(self.rest_up(n) for n in self.jm_names),
                              self.start_jobmanager, deadline, retries)
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
                    start(name)
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster did not come up; see the logs under {self.root}")
            time.sleep(1)

    def teardown(self) -> list[int]:
        names = self.tm_names
        self.tm_names = [*names, *self.jm_names, "zk"]
        try:
            return super().teardown()
        finally:
            self.tm_names = names

    def inventory(self, path: Path, python: str, groups: dict | None = None, extra_vars: dict | None = None) -> Path:
        """jm1, jm2 in flink_jobmanager (each with flink_rest_url), each TaskManager its own host."""
        import yaml

        def host(name):
            return {"flink_conf_dir": str(self.conf_dir(name)), "flink_pid_dir": str(self.pid_dir(name)),
                    "flink_log_dir": str(self.log_dir(name)), "flink_ident_string": name}

        children = {
            "flink_jobmanager": {"hosts": {n: {**host(n), "flink_rest_url": self.urls[n]} for n in self.jm_names}},
            "flink_taskmanager": {"hosts": {name: host(name) for name in self.tm_names}},
        }
        for group, members in (groups or {}).items():
            children[group] = {"hosts": {m: {} for m in members}}
        data = {"all": {
            "vars": {"ansible_connection": "local", "ansible_python_interpreter": python,
                     "flink_home": str(self.home), "rolling_restart_rest_url": self.url, **(extra_vars or {})},
            "children": children,
        }}
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path

    # --- REST --------------------------------------------------------------------------------------

    def rest_of(self, name: str, path: str, timeout: float = 10):
        with urllib.request.urlopen(self.urls[name] + path, timeout=timeout) as resp:
            return json.load(resp)

    def rest_up(self, name: str) -> bool:
        try:
            self.rest_of(name, "/overview")
            return True
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def rest(self, path: str, timeout: float = 10):
        """Any JobManager that answers (a standby forwards /overview, /jobs and /taskmanagers to the leader)."""
        last = None
        for name in self.jm_names:
            try:
                return self.rest_of(name, path, timeout)
            except (OSError, urllib.error.URLError, ValueError) as exc:
                last = exc
        raise last

    def leader(self) -> str | None:
        """The JobManager whose REST address ZooKeeper names as the leader's (None: no leader now)."""
        from ansible_collections.flinkops.flink.plugins.plugin_utils import zookeeper

        try:
            info = zookeeper.leader_info(f"127.0.0.1:{self.zk_port}", self.path_root, self.cluster_id)
        except zookeeper.ZooKeeperError:
            return None
        address = (info.get("leader") or {}).get("address")
        return next((n for n, u in self.urls.items() if u == address), None)

    def submit_job(self, jar: Path, name: str = "flinkops-e2e-tick", timeout: float = 180, args=()) -> str:
        """``bin/flink run -d`` against the leader; returns the job id once it is RUNNING."""
        leader = self.wait(self.leader, 60, "a leader in ZooKeeper")
        proc = subprocess.run([str(self.home / "bin" / "flink"), "run", "-d", "-m",
                               f"127.0.0.1:{self.jm_ports[leader]['rest']}", str(jar), name, *args],
                              env=self.env(leader), capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"flink run failed ({proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        job = self.wait(lambda: next((j for j in self.jobs() if j["name"] == name), None), 60, f"job {name} listed")
        self.wait(lambda: self.job_running(job["jid"]), timeout, f"job {name} RUNNING")
        return job["jid"]

    # --- the job -----------------------------------------------------------------------------------

    def build_count_job(self, work: Path) -> Path:
        """Compile HaCountJob.java (a keyed count that logs its checkpoints and restores) against flink-dist."""
        source = Path(__file__).resolve().parent / "job" / "HaCountJob.java"
        classes = work / "classes-ha"
        classes.mkdir(parents=True, exist_ok=True)
        dist = next((self.home / "lib").glob("flink-dist-*.jar"))
        subprocess.run(["javac", "-nowarn", "-d", str(classes), "-cp", str(dist), str(source)],
                       check=True, capture_output=True, timeout=300)
        manifest = work / "MANIFEST-ha.MF"
        manifest.write_text("Main-Class: HaCountJob\n")
        jar = work / "ha-count.jar"
        subprocess.run(["jar", "cfm", str(jar), str(manifest), "-C", str(classes), "."], check=True,
                       capture_output=True, timeout=120)
        return jar


def count_log(path: Path) -> list:
    """The count job's log as [(kind, id or None, count)]: ("ckpt", id, count) and ("restored", None, count)."""
    out = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "ckpt":
            out.append(("ckpt", int(parts[1]), int(parts[2])))
        elif len(parts) == 2 and parts[0] == "restored":
            out.append(("restored", None, int(parts[1])))
    return out


def count_went_back(entries: list) -> list:
    """Every restore that came back with less than a count already checkpointed before it (lost state)."""
    best, bad = 0, []
    for kind, _id, count in entries:
        if kind == "ckpt":
            best = max(best, count)
        elif count < best:
            bad.append((count, best))
    return bad
