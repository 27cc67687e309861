# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of flinkops.flink.flink_zookeeper_info: a Flink HA cluster's leadership, read from ZooKeeper
on the controller.

A thin adapter around plugins/plugin_utils/zookeeper.py (ZooKeeper's wire protocol, standard library only).
Nothing runs on the managed host.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.flinkops.flink.plugins.plugin_utils import zookeeper
from ansible_collections.flinkops.flink.plugins.plugin_utils.action_base import (
    ActionFailed,
    FlinkAction,
    fail_unless_met,
    wait_options,
)


class ActionModule(FlinkAction, ActionBase):
    NAME = "flink_zookeeper_info"
    MESSAGE_PREFIX = "name"
    ARGUMENT_SPEC = {
        "quorum": {"type": "str", "required": True},
        "path_root": {"type": "str", "default": "/flink"},
        "cluster_id": {"type": "str", "default": "/default"},
        "timeout": {"type": "float", "default": 10},
        **wait_options(interval=0.5),
    }
    _supports_check_mode = True  # reads only

    def act(self, result, args, host, task_vars):
        conditions = {k: v for k, v in (args["wait_for"] or {}).items() if v not in (None, "")}
        unknown = sorted(set(conditions) - set(zookeeper.WAIT_KEYS))
        if unknown:
            raise ActionFailed(f"flink_zookeeper_info: wait_for has unknown conditions {', '.join(unknown)}; "
                               f"known: {', '.join(zookeeper.WAIT_KEYS)}")
        if args["timeout"] <= 0 or args["wait_timeout"] < 0:
            raise ActionFailed("flink_zookeeper_info: timeout must be positive and wait_timeout 0 or more")
        try:
            if not conditions:
                info = zookeeper.leader_info(args["quorum"], args["path_root"], args["cluster_id"],
                                             timeout=args["timeout"])
                result.update(info, latch_count=len(info["latch"] or []))
                return
            outcome = zookeeper.wait_leadership(args["quorum"], args["path_root"], args["cluster_id"], conditions,
                                                timeout=args["wait_timeout"], interval=args["wait_interval"],
                                                request_timeout=args["timeout"])
        except zookeeper.ZooKeeperError as exc:
            raise ActionFailed(f"flink_zookeeper_info: {exc}") from None
        if outcome["info"] is not None:
            result.update(outcome["info"], latch_count=len(outcome["info"]["latch"] or []))
        result.update(waited=outcome["waited"], unmet=outcome["unmet"], fatal=outcome["fatal"])
        fail_unless_met(outcome, f"flink_zookeeper_info: {args['quorum']}", args["wait_timeout"])
