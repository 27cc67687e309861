# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.memory_plan``: a thin adapter around plugin_utils.plan."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.filter_call import filter_call
from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import FleetError
from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import PlanError, PolicyError
from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import memory_plan as _memory_plan


def memory_plan(results, policy=None, memory_limits=None):
    """One consistent set of memory keys per group, valid for Flink on every host (see memory_plan.yml)."""
    return filter_call("memory_plan", _memory_plan, (FleetError, PolicyError, PlanError), AnsibleFilterError, results,
                       policy, memory_limits=memory_limits)


class FilterModule:
    def filters(self):
        return {"memory_plan": memory_plan}
