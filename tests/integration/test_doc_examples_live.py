"""The EXAMPLES that need a running JobManager (issue 15.17): flink_cluster_info's and the rollout_decision
filter's, run by the real ansible-playbook against a real Flink 2.3.0 JobManager and one TaskManager on
loopback, as tests/integration/test_doc_examples.py runs the others (its prelude, its checker).

The cluster (tests/e2e/cluster.py, started once for the module, its JVMs killed in a finalizer): a
JobManager ``jm`` and a TaskManager ``tm1`` (registered as ``tm1``: taskmanager.resource-id), each an
inventory host with its own conf dir, on free ports of 127.0.0.1. An example is pasted as documented,
with one substitution: the documented REST address http://jm.example.com:8081 -> the cluster's.
Before an example's tasks the prelude gathers every host (``gathered``, ``flink``, ...) and the
examples' ``results``/``gathers``; the rollout_decision example reads ``cluster``, which the
flink_cluster_info example registers, so it runs after it, in the same playbook.

The rollout_decision example once passed ``hostvars={}`` and named a ``tm2``, so its plan refused the rollout on
any inventory; it now takes the TaskManagers' host variables and the inventory's groups, and its plan may start.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import cluster as flink_cluster  # noqa: E402  (tests/e2e is not a package)
import flink_install  # noqa: E402
import test_doc_examples as docs  # noqa: E402  (the sibling test: its prelude, runner and checker)

DOC_URL = "http://jm.example.com:8081"
LIVE_DOCS = {"flink_cluster_info.py": docs.ROOT / "plugins" / "modules" / "flink_cluster_info.py",
             "rollout_decision.yml": docs.ROOT / "plugins" / "filter" / "rollout_decision.yml"}
# doc -> the docs whose examples run first, in the same playbook (their variables are its input)
BUILDS_ON = {"rollout_decision.yml": ["flink_cluster_info.py"]}


# After the examples (not part of them): what they registered, for the checks below.
DUMP = """
- name: Keep what the examples registered
  ansible.builtin.copy:
    content: "{{{{ {{'cluster': cluster | default(None), 'plan': plan | default(None)}} | to_json }}}}"
    dest: {dump}
    mode: "0600"
  delegate_to: localhost
  run_once: true
"""


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A JobManager and tm1 of Flink 2.3.0 on loopback, and an inventory of them (jm, tm1)."""
    home = flink_install.install("2.3.0")
    root = tmp_path_factory.mktemp("flinkops-docs-live")
    cl = flink_cluster.Cluster(home, root / "cluster", ("tm1",), slots=2, tm_process_size="1g",
                               jm_process_size="1g")
    try:
        cl.prepare()
        cl.start()
        cl.inventory(root / "inventory.yml", sys.executable)
        yield root, cl
    finally:
        cl.teardown()
        assert not cl._our_jvms(), "Java processes left behind"


def substituted(text: str, cl) -> str:
    return text.replace(DOC_URL, cl.url)


def test_the_cluster_is_what_the_examples_expect(live):
    """Not a doc example: the fixture's cluster answers with tm1 registered under its inventory name and
    with its slots (else every example below would run against something else)."""
    _root, cl = live
    tms = cl.taskmanagers()
    assert list(tms) == ["tm1"] and tms["tm1"]["slotsNumber"] == 2
    assert cl.rest("/config")["flink-version"] == "2.3.0"


def run_live(live, ansible_env, name: str, text: str) -> dict:
    """Run ``text`` (example tasks) on the cluster's inventory; what it registered (cluster, plan)."""
    root, cl = live
    dump = root / f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}.json"
    dump.unlink(missing_ok=True)
    proc = docs.run_example(root, ansible_env, name, substituted(text, cl) + DUMP.format(dump=dump))
    assert docs.problems(proc) == [], proc.stdout[-4000:]
    assert proc.returncode == 0, proc.stdout[-4000:]
    return {"proc": proc, **json.loads(dump.read_text())}


def examples(doc: str) -> str:
    return "".join(docs.examples_of(LIVE_DOCS[name]) for name in [*BUILDS_ON.get(doc, ()), doc])


@pytest.mark.parametrize("doc", sorted(LIVE_DOCS), ids=str)
def test_live_examples_block_runs(live, ansible_env, doc):
    assert set(LIVE_DOCS) == docs.NEEDS_A_CLUSTER  # every doc the file-only test leaves out runs here
    got = run_live(live, ansible_env, "live " + Path(doc).stem, examples(doc))
    # the examples did what they say, on this cluster
    assert [tm["id"] for tm in got["cluster"]["taskmanagers"]] == ["tm1"]
    if doc == "flink_cluster_info.py":
        assert DOC_URL in docs.examples_of(LIVE_DOCS[doc])  # the substitution points it at this cluster
        shown = re.search(r'"msg": (\{[^}]*\})', got["proc"].stdout)
        assert shown and json.loads(shown.group(1)) == {"tm1": 2}, got["proc"].stdout[-4000:]
        assert "Wait until tm1 runs with what its new file gives" in got["proc"].stdout
    else:
        assert got["plan"]["targets"] == ["tm1"] and got["plan"]["reasons"] == {"tm1": "its file changes in this run"}


def test_rollout_example_plans_a_rollout_that_may_start(live, ansible_env):
    _root, cl = live
    plan = run_live(live, ansible_env, "live rollout", examples("rollout_decision.yml"))["plan"]
    assert plan["refused"] == [] and plan["targets"] == ["tm1"] and plan["batches"] == [["tm1"]]
    assert plan["info"]["tm1"]["env"]["FLINKOPS_CONF_DIR"] == str(cl.conf_dir("tm1"))
    assert plan["jobmanager"]["host"] == "jm" and plan["jobmanager"]["pending"] is False
