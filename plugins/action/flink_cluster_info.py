# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of flinkops.flink.flink_cluster_info: the JobManager's REST API, read from the controller.

A thin adapter around plugins/plugin_utils/live.py (urllib only). Nothing runs on the managed host:
the task talks to the JobManager's REST address from the controller, so it works wherever the
controller can reach that address, whatever host the task is attached to.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.flinkops.flink.plugins.module_utils.task_options import REST_OPTIONS
from ansible_collections.flinkops.flink.plugins.plugin_utils import live
from ansible_collections.flinkops.flink.plugins.plugin_utils.action_base import (
    ActionFailed,
    FlinkAction,
    fail_unless_met,
    plain_json,
    wait_options,
)


class ActionModule(FlinkAction, ActionBase):
    NAME = "flink_cluster_info"
    MESSAGE_PREFIX = "name"
    ARGUMENT_SPEC = {
        **REST_OPTIONS,
        # basic auth (or the URL's userinfo); the JobManager's own memory; each running job's last checkpoint;
        # each job's exception history
        "user": {"type": "str"},
        "password": {"type": "str", "no_log": True},
        "jobmanager": {"type": "bool"},
        "checkpoints": {"type": "bool", "default": False},
        "exceptions": {"type": "bool", "default": False},
        **wait_options(interval=1),
    }
    _supports_check_mode = True  # reads only

    def act(self, result, args, host, task_vars):
        try:
            url = live.normalize_url(args["url"])
            for name in ("timeout", "wait_interval"):
                if args[name] <= 0:
                    raise live.LiveError(f"{name} must be positive, got {args[name]}")
            if args["wait_timeout"] < 0:
                raise live.LiveError(f"wait_timeout must be 0 (no waiting) or more, got {args['wait_timeout']}")
            # basic auth from user/password or the URL's userinfo, never shown (url above has none)
            headers = {**live.auth_headers(args["url"], args["user"], args["password"]),
                       **{str(k): str(v) for k, v in (args["headers"] or {}).items()}}
            conditions = live.validate_conditions(plain_json(args["wait_for"]) if args["wait_for"] else None)
            if not conditions:
                snap = live.snapshot(url, timeout=args["timeout"], validate_certs=args["validate_certs"],
                                     headers=headers, jobmanager=args["jobmanager"] is not False,
                                     checkpoints=args["checkpoints"], exceptions=args["exceptions"])
                result.update(snap)
                return
            outcome = live.wait(url, conditions, timeout=args["wait_timeout"], interval=args["wait_interval"],
                                request_timeout=args["timeout"], validate_certs=args["validate_certs"],
                                headers=headers)
        except live.LiveError as exc:
            raise ActionFailed(f"flink_cluster_info: {exc}", url=live.split_credentials(args["url"])[0]) from None
        if outcome["snapshot"] is not None:
            result.update(outcome["snapshot"])
        result.update(waited=outcome["waited"], unmet=outcome["unmet"], fatal=outcome["fatal"],
                      checks=outcome["checks"], rest_failures=outcome["rest_failures"])
        fail_unless_met(outcome, f"flink_cluster_info: {url}", args["wait_timeout"])
