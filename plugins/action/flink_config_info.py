# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of flinkops.flink.flink_config_info: one ``sh`` command per host, the rest here.

The command and its framing are plugins/plugin_utils/gather_protocol.py, the result built from its
answer plugins/plugin_utils/gather_result.py; this file only runs the command through the connection.
"""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase

from ansible_collections.flinkops.flink.plugins.module_utils.task_options import GATHER_OPTIONS, HOST_VARIABLES
from ansible_collections.flinkops.flink.plugins.plugin_utils.action_base import ActionFailed, FlinkAction
from ansible_collections.flinkops.flink.plugins.plugin_utils.gather_protocol import build_script
from ansible_collections.flinkops.flink.plugins.plugin_utils.gather_result import (
    GatherError,
    build_result,
    read_answer,
    resolve_target,
)


class ActionModule(FlinkAction, ActionBase):
    NAME = "flink_config_info"
    ARGUMENT_SPEC = GATHER_OPTIONS
    HOST_VARIABLES = HOST_VARIABLES
    _supports_check_mode = True  # reads only; nothing on the host changes

    def act(self, result, args, host, task_vars):
        try:
            target = resolve_target(args, host, task_vars.get("group_names"))
            # the probe finds TaskManager and JobManager JVMs (the live audit compares both)
            live = args["live"] and bool({"taskmanager", "jobmanager"} & set(target.processes))
            # logs: the log dir as given (flink_log_dir); none given, the host picks env.log.dir of the file
            # Flink reads, else <flink_home>/log (as bin/config.sh does)
            logs = (args["log_dir"], args["logs_max_bytes"]) if args["logs"] else None
            # Connection and become failures are Ansible's to report (unreachable vs failed).
            # sudoable only with become: over SSH a sudoable command gets a pty (ssh -tt), which costs the
            # host a pty and login records on every run and mixes stderr into the answer.
            out = self._low_level_execute_command(
                build_script(target.flink_home, target.conf_dir, target.max_file_size, live=live, logs=logs),
                sudoable=self._connection.become is not None)
            data, warnings = build_result(read_answer(out, host, target.conf_dir), host,
                                          flink_home=target.flink_home, conf_dir=target.conf_dir,
                                          flink_version=target.flink_version, processes=target.processes,
                                          max_file_size=target.max_file_size, log_dir=logs and logs[0])
        except GatherError as exc:
            raise ActionFailed(str(exc)) from None
        result.update(data)
        # when it was read, by the controller's clock: flink_config trusts a gathered result only while fresh
        result["read_at"] = round(time.time(), 3)
        if warnings:
            result.setdefault("warnings", []).extend(warnings)
