# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.rollout_decision``: a thin adapter around plugin_utils.rollout."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils import rollout

KINDS = ("arguments", "host_vars", "plan", "preflight", "identities", "gate", "jobs", "blame", "outcome")


def _plain(value):
    """Ansible's lazy containers (hostvars) as plain data, only the keys asked for."""
    if isinstance(value, Mapping):
        return {k: _plain(value[k]) for k in value}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def rollout_decision(data, kind, **options):
    """One decision of the rolling restart (see rollout_decision.yml)."""
    try:
        if kind == "arguments":
            return rollout.check_arguments(_plain(data))
        if kind == "host_vars":
            return {name: _plain(data[name]) for name in rollout.HOST_VARS if name in data}
        if kind == "plan":
            return rollout.decide(_plain(data), _plain(options.pop("cluster")), **_plain(options))
        if kind == "preflight":
            return rollout.preflight(_plain(data), _plain(options["cluster"]))
        if kind == "identities":
            return rollout.identities(_plain(data))
        if kind == "gate":
            return rollout.gate(_plain(options["batch_ids"]), _plain(options["baseline"]), _plain(data))
        if kind == "jobs":
            return rollout.jobs_before(_plain(data))
        if kind == "blame":
            return rollout.blame(_plain(data), **_plain(options))
        if kind == "outcome":
            return rollout.outcome(**_plain(data))
    except (rollout.RolloutError, KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"flinkops.flink.rollout_decision({kind!r}): {exc}") from None
    raise AnsibleFilterError(f"flinkops.flink.rollout_decision: unknown kind {kind!r}; one of {', '.join(KINDS)}")


class FilterModule:
    def filters(self):
        return {"rollout_decision": rollout_decision}
