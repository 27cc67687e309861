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
