"""The EXAMPLES that need a running cluster (issue 15.17), run by the real ansible-playbook as
tests/integration/test_doc_examples.py runs the others (its prelude, its checker): flink_cluster_info's and the
rollout_decision and savepoint_decision filters' against a real Flink 2.3.0 JobManager, flink_job's against a
job running on it (a real savepoint taken and the job resubmitted from it), flink_zookeeper_info's against the
ZooKeeper the JobManager is registered in (a real new leader elected).

The cluster, started once for the module and killed in a finalizer (every JVM, ZooKeeper included): ZooKeeper
from the Flink home (bin/zookeeper.sh, tests/e2e/ha_cluster.py), one JobManager ``jm`` with ZooKeeper high
availability under the examples' cluster id /prod, a savepoint directory (file:// in the test's tmp dir) and
web.upload.dir (tests/e2e/savepoint_cluster.py), and a TaskManager ``tm1`` (registered as ``tm1``:
taskmanager.resource-id) with two slots; each an inventory host with its own conf dir, on free ports of
127.0.0.1. The keyed counting job tests/e2e/job/CountJob.java runs on it as ``orders`` (its one program
argument), its jar uploaded over REST under the name the flink_job example gives it.

An example is pasted as documented, with these substitutions only (the documented addresses and paths do not
exist here): the REST address http://jm.example.com:8081 -> the JobManager's, the quorum zk1.example.com:2181 ->
the ZooKeeper's, the jar /srv/jobs/orders.jar -> the job's jar. Before an example's tasks the prelude gathers
every host (``gathered``, ``flink``, ...); the rollout_decision and savepoint_decision examples read ``cluster``,
which the flink_cluster_info example registers, so they run after it, in the same playbook.

Corrected examples: rollout_decision's passed ``hostvars={}`` and named a ``tm2`` (its plan refused on any
inventory); flink_job's stopped the jobs with ``savepoint_dir: inspected.savepoint_dir``, null unless inspect is
given the JobManager's file (``jobmanager_config``: the stop task failed "command=stop needs savepoint_dir"), ran
once per host of the play (each stopping the same jobs), and stopped even when inspect had found problems;
flink_zookeeper_info's waited 60 s for a new leader, less than ZooKeeper's default session timeout (1 min) for which
a leader killed with -9 keeps its node; savepoint_decision's read ``gathered.memory.jobmanager`` on every host (a
TaskManager's gather has none: a templating error).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import types
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import flink_install  # noqa: E402  (tests/e2e is not a package)
import ha_cluster  # noqa: E402
import savepoint_cluster  # noqa: E402
import test_doc_examples as docs  # noqa: E402  (the sibling test: its prelude, runner and checker)

from ansible_collections.flinkops.flink.plugins.plugin_utils import zookeeper  # noqa: E402

DOC_URL = "http://jm.example.com:8081"
DOC_QUORUM = "zk1.example.com:2181"
DOC_JAR = "/srv/jobs/orders.jar"
JOB = "orders"  # the job name the flink_job example maps to its jar
MODULES = docs.ROOT / "plugins" / "modules"
FILTERS = docs.ROOT / "plugins" / "filter"
LIVE_DOCS = {"flink_cluster_info.py": MODULES / "flink_cluster_info.py",
             "flink_job.py": MODULES / "flink_job.py",
             "flink_zookeeper_info.py": MODULES / "flink_zookeeper_info.py",
             "rollout_decision.yml": FILTERS / "rollout_decision.yml",
             "savepoint_decision.yml": FILTERS / "savepoint_decision.yml"}
# doc -> the docs whose examples run first, in the same playbook (their variables are its input)
BUILDS_ON = {"rollout_decision.yml": ["flink_cluster_info.py"], "savepoint_decision.yml": ["flink_cluster_info.py"]}
# What the examples register or set, kept per host after them (not part of them) for the checks below.
KEPT = ("cluster", "plan", "inspected", "stopped", "resubmitted", "zk", "jm_check")
DUMP = """
- name: Keep what the examples registered
  ansible.builtin.copy:
    content: "{{{{ {{{kept}}} | to_json }}}}"
    dest: "{dump}-{{{{ inventory_hostname }}}}.json"
    mode: "0600"
  delegate_to: localhost
"""


class DocsCluster(ha_cluster.HACluster, savepoint_cluster.SavepointCluster):
    """HACluster's ZooKeeper and JobManager layout with SavepointCluster's savepoint and upload directories."""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """ZooKeeper, an HA JobManager jm and tm1 of Flink 2.3.0 on loopback, the job running, an inventory."""
    home = flink_install.install("2.3.0")
    root = tmp_path_factory.mktemp("flinkops-docs-live")
    cl = DocsCluster(home, root / "cluster", ("tm1",), jobmanagers=("jm",), slots=2, tm_process_size="1g",
                     jm_process_size="1g")
    cl.cluster_id = "/prod"  # the flink_zookeeper_info example's
    try:
        cl.prepare()
        cl.start()
        cl.inventory(root / "inventory.yml", sys.executable)
        work = root / "job"
        jar = savepoint_cluster.SavepointCluster.build_count_job(cl, work)  # CountJob (HACluster's is another)
        cl.jar = jar.rename(work / Path(DOC_JAR).name)  # a kept jar is found by its file name
        cl.submit_rest(cl.jar, JOB)
        yield root, cl
    finally:
        cl.teardown()
        assert not cl._our_jvms(), "Java processes left behind"


def substituted(text: str, cl) -> str:
    return (text.replace(DOC_URL, cl.url).replace(DOC_QUORUM, f"127.0.0.1:{cl.zk_port}")
            .replace(DOC_JAR, str(cl.jar)))


def examples(doc: str) -> str:
    return "".join(docs.examples_of(LIVE_DOCS[name]) for name in [*BUILDS_ON.get(doc, ()), doc])


def run_live(live, ansible_env, name: str, text: str, on_task: dict | None = None) -> dict:
    """Run ``text`` (example tasks) on the cluster's inventory; {"proc", host: what it registered (KEPT)}.

    ``on_task``: task name -> a function called (in a thread, the playbook going on) once the playbook starts
    that task."""
    root, cl = live
    dump = root / re.sub(r"[^a-z0-9]+", "-", name.lower())
    for old in root.glob(dump.name + "-*.json"):
        old.unlink()
    kept = ", ".join(f"'{v}': {v} | default(None)" for v in KEPT)
    cmd, how = docs.example_command(root, ansible_env, name, substituted(text, cl) + DUMP.format(kept=kept, dump=dump))
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, text=True, **how)
        lines, threads = [], []
        for line in proc.stdout:
            lines.append(line)
            for task, action in (on_task or {}).items():
                if line.startswith(f"TASK [{task}]"):
                    threads.append(threading.Thread(target=action, daemon=True))
                    threads[-1].start()
        proc.wait(timeout=600)
        for thread in threads:
            thread.join(300)
        err.seek(0)
        done = types.SimpleNamespace(stdout="".join(lines), stderr=err.read(), returncode=proc.returncode)
    assert not [t for t in threads if t.is_alive()]
    assert docs.problems(done) == [], done.stdout[-4000:]
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    got = {"proc": done}
    for host in ("jm", "tm1"):
        got[host] = json.loads(Path(f"{dump}-{host}.json").read_text())
    return got


def test_the_cluster_is_what_the_examples_expect(live):
    """Not a doc example: the fixture's cluster answers with tm1 registered under its inventory name and with
    its slots, the job running, and jm the leader in ZooKeeper under /prod (else every example below would run
    against something else)."""
    _root, cl = live
    tms = cl.taskmanagers()
    assert list(tms) == ["tm1"] and tms["tm1"]["slotsNumber"] == 2
    assert cl.rest("/config")["flink-version"] == "2.3.0"
    assert cl.running_job(JOB)
    info = zookeeper.leader_info(f"127.0.0.1:{cl.zk_port}", "/flink", "/prod")
    assert info["leader"]["address"] == cl.url and len(info["latch"]) == 1


@pytest.mark.parametrize("doc", sorted(LIVE_DOCS), ids=str)
def test_live_examples_block_runs(live, ansible_env, doc):
    """Each documented example runs as documented and does what it says, checked on the cluster."""
    assert set(LIVE_DOCS) == docs.NEEDS_A_CLUSTER  # every doc the file-only test leaves out runs here
    check = {"flink_cluster_info.py": _cluster_info, "flink_job.py": _job, "flink_zookeeper_info.py": _zookeeper,
             "rollout_decision.yml": _rollout, "savepoint_decision.yml": _savepoint}[doc]
    check(live, ansible_env, doc)


def _cluster_info(live, ansible_env, doc):
    assert DOC_URL in docs.examples_of(LIVE_DOCS[doc])  # the substitution points it at this cluster
    got = run_live(live, ansible_env, "live " + Path(doc).stem, examples(doc))
    assert [tm["id"] for tm in got["jm"]["cluster"]["taskmanagers"]] == ["tm1"]
    shown = re.search(r'"msg": (\{[^}]*\})', got["proc"].stdout)
    assert shown and json.loads(shown.group(1)) == {"tm1": 2}, got["proc"].stdout[-4000:]
    assert "Wait until tm1 runs with what its new file gives" in got["proc"].stdout


def _rollout(live, ansible_env, doc):
    got = run_live(live, ansible_env, "live " + Path(doc).stem, examples(doc))
    assert got["jm"]["plan"]["targets"] == ["tm1"] and got["jm"]["plan"]["reasons"] == {
        "tm1": "its file changes in this run"}


def _savepoint(live, ansible_env, doc):
    """The restarted-JobManager check of the savepoint mode, on the JobManager: its file's memory is what it
    runs with, byte for byte."""
    _root, cl = live
    got = run_live(live, ansible_env, "live " + Path(doc).stem, examples(doc))
    check = got["jm"]["jm_check"]
    assert check["ok"] is True and check["differences"] == [], check
    assert got["tm1"]["jm_check"] is None  # a TaskManager's gather has no JobManager memory: not checked there


def _path(uri: str) -> Path:
    return Path(urllib.parse.urlparse(uri).path)


def _gauge(cl, jid: str, metric: str) -> int:
    """A CountJob gauge of the job once REST shows it (0 is a value)."""
    seen = []
    cl.wait(lambda: seen.append(cl.gauge(jid, metric)) or seen[-1] is not None, 180, f"{metric} of {jid}")
    return seen[-1]


def _job(live, ansible_env, doc):
    """inspect names the job and its jar, stop takes a real savepoint (its _metadata on disk, in the file's
    savepoint directory), resubmit runs the job again from it with its state (the count it restored is the
    count it stopped with, more than 0)."""
    _root, cl = live
    old = cl.running_job(JOB)
    assert old
    cl.wait(lambda: (cl.gauge(old, "flinkopsCount") or 0) > 0, 180, "the job counting")
    got = run_live(live, ansible_env, "live " + Path(doc).stem, examples(doc))["jm"]
    inspected, stopped, resubmitted = got["inspected"], got["stopped"], got["resubmitted"]
    assert inspected["problems"] == [] and [j["id"] for j in inspected["jobs"]] == [old]
    assert inspected["jobs"][0]["jar"] == str(cl.jar) and inspected["jobs"][0]["args_count"] == 1
    assert inspected["savepoint_dir"] == (cl.root / "savepoints").as_uri()
    assert inspected["upload_dir"] == str(cl.root / "upload")
    (entry,) = stopped["stopped"]
    location = entry["savepoint"]
    assert _path(location).parent == cl.root / "savepoints" and _path(location).name.startswith("savepoint-")
    assert (_path(location) / "_metadata").is_file()
    (job,) = resubmitted["jobs"]
    assert job["restored"] is True and job["savepoint"] == location and job["jar_source"] == "uploaded"
    new = job["new_id"]
    assert new != old and cl.running_job(JOB) == new
    restored = cl.rest(f"/jobs/{new}/checkpoints")["latest"]["restored"]
    assert restored["external_path"] == location and restored["is_savepoint"] is True
    first = _gauge(cl, new, "flinkopsFirst")
    assert first > 0  # its keyed state came back from the savepoint, not a fresh start (0)


def _zookeeper(live, ansible_env, doc):
    """The leader read from ZooKeeper is jm; killed with -9 and started again while the second example waits,
    it is elected again with a new leader session, which that wait sees."""
    _root, cl = live

    def restart_the_leader():
        os.kill(cl.process_pid("jm"), signal.SIGKILL)
        cl.wait(lambda: cl.process_pid("jm") is None, 30, "jm gone")
        cl.start_jobmanager("jm")

    got = run_live(live, ansible_env, "live " + Path(doc).stem, examples(doc),
                   on_task={"Wait until a new leader is elected": restart_the_leader})
    zk = got["jm"]["zk"]
    assert zk["leader"]["address"] == cl.url and zk["latch_count"] == 1
    assert "ok: [jm -> localhost]" in got["proc"].stdout.split("TASK [Wait until a new leader is elected]")[1]
    now = cl.wait(cl.leader, 120, "a leader")
    assert now == "jm"
    info = zookeeper.leader_info(f"127.0.0.1:{cl.zk_port}", "/flink", "/prod")
    assert info["leader"]["session_id"] != zk["leader"]["session_id"]
    # the cluster as the other cases find it: tm1 registered again, the job recovered (high availability)
    cl.wait(lambda: cl.taskmanagers().get("tm1", {}).get("slotsNumber") == 2, 240, "tm1 registered again")
    cl.wait(lambda: cl.running_job(JOB), 240, "the job running again")


def test_rollout_example_plans_a_rollout_that_may_start(live, ansible_env):
    _root, cl = live
    plan = run_live(live, ansible_env, "live rollout", examples("rollout_decision.yml"))["jm"]["plan"]
    assert plan["refused"] == [] and plan["targets"] == ["tm1"] and plan["batches"] == [["tm1"]]
    assert plan["info"]["tm1"]["env"]["FLINKOPS_CONF_DIR"] == str(cl.conf_dir("tm1"))
    assert plan["jobmanager"]["host"] == "jm" and plan["jobmanager"]["pending"] is False
