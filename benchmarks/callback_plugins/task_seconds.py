# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback for the benchmarks: seconds per task, in order, written as JSON to $FLINKOPS_TASK_SECONDS.

ansible.posix's profile_tasks prints the same on the console; this one needs no collection and writes a
file the benchmark reads. Enable with ANSIBLE_CALLBACK_PLUGINS=benchmarks/callback_plugins and
ANSIBLE_CALLBACKS_ENABLED=task_seconds.
"""

from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: task_seconds
type: aggregate
short_description: seconds per task as JSON (benchmarks only)
description: Writes [[task name, seconds], ...] in run order to the file named by FLINKOPS_TASK_SECONDS.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_seconds"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._rows = []
        self._task = None
        self._started = None

    def _close(self):
        if self._task is not None:
            self._rows.append([self._task, round(time.monotonic() - self._started, 3)])
        self._task = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self._task, self._started = task.get_name(), time.monotonic()

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        self._close()
        out = os.environ.get("FLINKOPS_TASK_SECONDS")
        if out:
            with open(out, "w", encoding="utf-8") as f:
                json.dump(self._rows, f, indent=0)
