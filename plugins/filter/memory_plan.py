# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.memory_plan``: a thin adapter around plugin_utils.plan."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import FleetError
from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import PlanError, PolicyError
from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import memory_plan as _memory_plan


def memory_plan(results, policy=None, memory_limits=None):
    """One consistent set of memory keys per group, valid for Flink on every host (see memory_plan.yml)."""
    try:
        return _memory_plan(results, policy, memory_limits=memory_limits)
    except (FleetError, PolicyError, PlanError) as exc:
        raise AnsibleFilterError(f"flinkops.flink.memory_plan: {exc}") from None


class FilterModule:
    def filters(self):
        return {"memory_plan": memory_plan}
