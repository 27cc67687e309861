"""What a host's worker inherits from ansible-playbook's main process (issue 12: the controller's CPU per host).

The strategy loads an action's class in the main process, then forks one worker per host. The catalog index
that flink_config's unknown-key check reads is built when the action's module is imported, so a forked worker
finds it built: measured, this took the enforce role's CPU from 1.19x to 0.89x that of 65294f9 (30 hosts).
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, os
from ansible.plugins.loader import action_loader, init_plugin_loader
init_plugin_loader()
# as ansible-core's linear strategy does before it queues the task to each host's worker
action_loader.get("flinkops.flink.flink_config", class_only=True)
from ansible_collections.flinkops.flink.plugins.plugin_utils import catalog
built = catalog._index.cache_info().currsize
read, write = os.pipe()
pid = os.fork()
if pid == 0:  # the worker: one host's unknown-key check
    before = catalog._index.cache_info().misses
    catalog.is_known("taskmanager.memory.process.size", "1.17")
    catalog.is_known("taskmanager.memory.process.size", "2.3")
    os.write(write, str(catalog._index.cache_info().misses - before).encode())
    os._exit(0)
os.waitpid(pid, 0)
print(json.dumps({"built": built, "lines": len(catalog.lines()), "worker_builds": int(os.read(read, 64))}))
"""


def test_a_worker_forked_after_the_action_is_loaded_builds_no_catalog_index():
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["built"] == got["lines"] and got["worker_builds"] == 0, got


FROZEN = r"""
import gc, json, multiprocessing, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader()  # the collection's import path, as ansible-playbook sets it up
from ansible_collections.flinkops.flink.plugins.plugin_utils.action_base import FlinkAction, freeze_inherited_objects

inherited = [{"host": f"h{i}", "logs": [{"text": "x"}]} for i in range(20000)]  # what a parent holds


class Base:  # Ansible's ActionBase, as far as FlinkAction.run reaches into it
    def run(self, tmp=None, task_vars=None):
        return {}

    def validate_argument_spec(self, argument_spec=None):
        return None, {}


class Task:
    args, delegate_to = {}, None


class Probe(FlinkAction, Base):
    NAME = "probe"
    _task = Task()

    def act(self, result, args, host, task_vars):
        result["frozen"] = gc.get_freeze_count()


def worker(queue):  # as ansible-playbook's WorkerProcess runs a task: a forked multiprocessing.Process
    queue.put(Probe().run(task_vars={"inventory_hostname": "h"}))


if sys.argv[1] == "fork":
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=worker, args=(queue,))
    child.start()
    got = queue.get(timeout=60)
    child.join()
else:
    got = Probe().run(task_vars={"inventory_hostname": "h"})
got["parent_frozen"] = gc.get_freeze_count()
got["again"] = freeze_inherited_objects()
print(json.dumps(got))
"""


def test_a_forked_worker_puts_what_it_inherited_out_of_the_collectors_reach():
    """In the worker the task's run starts with every inherited object frozen (20,000 results' dicts at least);
    the process that forked it keeps collecting its own, and a process not forked so is left as it is."""
    found = {}
    for how in ("fork", "in-process"):
        proc = subprocess.run([sys.executable, "-c", FROZEN, how], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        found[how] = json.loads(proc.stdout.strip().splitlines()[-1])
    assert found["fork"]["frozen"] > 40000 and found["fork"]["parent_frozen"] == 0, found
    assert found["in-process"]["frozen"] == 0 and found["in-process"]["again"] is False, found
