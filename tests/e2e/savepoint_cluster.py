"""The savepoint mode's test cluster and tools, shared by tests/e2e/test_savepoint_rollout_e2e.py and
benchmarks/bench_savepoint_rollout.py.

A real Flink cluster (2.3.0, or 1.20.5 with the job compiled against its flink-dist) on loopback without high
availability (tests/e2e/cluster.py): one JobManager with ``web.upload.dir`` and a savepoint directory, two
TaskManagers of one slot each; the keyed counting job
tests/e2e/job/CountJob.java (compiled with javac against flink-dist), submitted over REST (``/jars/upload``,
``/jars/<id>/run``) so its jar is kept in web.upload.dir, or with ``bin/flink run``.

``playbook`` writes and runs a playbook of the role's own task files: preflight.yml (the rollout's pre-flight,
which names the hosts, reads the cluster and, in the savepoint mode, includes jobmanager_savepoint_preflight.yml)
and jobmanager_savepoint.yml, then writes the facts the savepoint cycle set to a JSON file.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cluster as flink_cluster  # noqa: E402

COUNT_SOURCE = Path(__file__).resolve().parent / "job" / "CountJob.java"
JOB = "flinkops-e2e-count"


class SavepointCluster(flink_cluster.Cluster):
    """A cluster whose JobManager keeps uploaded jars (web.upload.dir) and has a savepoint directory."""

    def jm_config(self) -> dict:
        cfg = super().jm_config()
        cfg["web.upload.dir"] = str(self.root / "upload")
        cfg["execution.checkpointing.savepoint-dir"] = (self.root / "savepoints").as_uri()
        return cfg

    # --- the job -------------------------------------------------------------------------------------

    def build_count_job(self, work: Path) -> Path:
        classes = work / "classes"
        classes.mkdir(parents=True, exist_ok=True)
        dist = next((self.home / "lib").glob("flink-dist-*.jar"))
        subprocess.run(["javac", "-nowarn", "-d", str(classes), "-cp", str(dist), str(COUNT_SOURCE)],
                       check=True, capture_output=True, timeout=300)
        manifest = work / "MANIFEST.MF"
        manifest.write_text("Main-Class: CountJob\n")
        jar = work / "count.jar"
        subprocess.run(["jar", "cfm", str(jar), str(manifest), "-C", str(classes), "."], check=True,
                       capture_output=True, timeout=120)
        return jar

    def post(self, path: str, body: bytes, content_type: str, timeout: float = 60):
        request = urllib.request.Request(self.url + path, data=body, method="POST",
                                         headers={"Content-Type": content_type})
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return json.load(resp)

    def submit_rest(self, jar: Path, name: str = JOB, timeout: float = 180) -> str:
        """Upload the jar (kept in web.upload.dir) and run it with ``name`` as its argument; the job id once RUNNING."""
        boundary = uuid.uuid4().hex
        data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"jarfile\"; filename=\"{jar.name}\"\r\n"
                "Content-Type: application/x-java-archive\r\n\r\n").encode() + jar.read_bytes() + \
            f"\r\n--{boundary}--\r\n".encode()
        uploaded = self.post("/jars/upload", data, f"multipart/form-data; boundary={boundary}")
        jar_id = uploaded["filename"].rsplit("/", 1)[-1]
        jid = self.post(f"/jars/{jar_id}/run", json.dumps({"programArgsList": [name]}).encode(),
                        "application/json")["jobid"]
        self.wait(lambda: self.job_running(jid), timeout, f"job {name} RUNNING")
        return jid

    def running_job(self, name: str = JOB) -> str | None:
        for job in self.jobs():
            tasks = job.get("tasks") or {}
            if job["name"] == name and job["state"] == "RUNNING" and tasks.get("running") == tasks.get("total"):
                return job["jid"]
        return None

    def gauge(self, jid: str, metric: str) -> int | None:
        """A CountJob gauge (flinkopsCount, flinkopsFirst) of the running job, None until REST shows it."""
        try:
            for vertex in self.rest(f"/jobs/{jid}")["vertices"]:
                names = [m["id"] for m in self.rest(f"/jobs/{jid}/vertices/{vertex['id']}/metrics")]
                wanted = [n for n in names if n.endswith("." + metric)]
                if wanted:
                    values = self.rest(f"/jobs/{jid}/vertices/{vertex['id']}/metrics?get={wanted[0]}")
                    value = int(float(values[0]["value"])) if values else None
                    return value if value is not None and value >= 0 else None
        except (OSError, ValueError, KeyError, IndexError):
            return None
        return None


class DowntimeWatcher:
    """Samples the named job twice a second; ``down``: seconds no job of that name RUNNING with all its tasks."""

    def __init__(self, flink, name: str = JOB, interval: float = 0.5):
        self.flink, self.name, self.interval = flink, name, interval
        self.down = 0.0
        self.ids = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        last = time.monotonic()
        while not self._stop.is_set():
            jid = self.flink.running_job(self.name)
            now = time.monotonic()
            if jid is None:
                self.down += now - last
            elif jid not in self.ids:
                self.ids.append(jid)
            last = now
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


PLAYBOOK = """\
- name: Savepoint mode of a JobManager restart, through the role's own task files
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The rollout's pre-flight (names the hosts, reads the files and the cluster)
      ansible.builtin.include_role:
        name: flinkops.flink.rolling_restart
        tasks_from: preflight.yml
    - name: The savepoint cycle
      ansible.builtin.include_role:
        name: flinkops.flink.rolling_restart
        tasks_from: jobmanager_savepoint.yml
    - name: Keep what it decided
      ansible.builtin.copy:
        dest: "{{ savepoint_out }}"
        content: "{{ {'result': _rolling_restart_savepoint_result, 'done': _rolling_restart_done,
                      'failures': _rolling_restart_failures, 'stopped': _rolling_restart_stopped,
                      'reason': _rolling_restart_reason,
                      'resubmit': _rolling_restart_sp_resubmit.jobs | default([]),
                      'back': _rolling_restart_sp_back.jobs | default([]),
                      'records': _rolling_restart_jm_records | default([])} | to_nice_json }}"
        mode: "0644"
"""


def playbook(flink, ansible_env: dict, ansible_bin: Path, inventory: Path, extra: dict, log: Path,
             timeout: float = 900) -> tuple:
    """Run the savepoint cycle's playbook; (process, outcome dict or None, seconds)."""
    book = flink.root / "savepoint-cycle.yml"
    book.write_text(PLAYBOOK)
    out = flink.root / f"savepoint-out-{uuid.uuid4().hex[:8]}.json"
    variables = flink.root / f"savepoint-vars-{uuid.uuid4().hex[:8]}.yml"
    variables.write_text(yaml.safe_dump({"savepoint_out": str(out), **extra}))
    cmd = [str(ansible_bin / "ansible-playbook"), "-i", str(inventory), str(book), "-e", f"@{variables}"]
    env = dict(ansible_env, JVM_ARGS=flink_cluster.JVM_ARGS)
    started = time.monotonic()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, cwd=flink.root,
                          check=False)
    seconds = time.monotonic() - started
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(proc.stdout + proc.stderr)
    outcome = json.loads(out.read_text()) if out.is_file() else None
    return proc, outcome, seconds
