# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.memory_plan``: a thin adapter around plugin_utils.plan."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.filter_call import filter_call

# The plugin_utils code is imported when the filter runs, not with this file: ansible-core imports every
# filter file of the collection, in every worker process, to find any one flinkops.flink filter
# (tests/unit/plugins/filter/test_filter_imports.py).


def memory_plan(results, policy=None, memory_limits=None):
    """One consistent set of memory keys per group, valid for Flink on every host (see memory_plan.yml)."""
    from ansible_collections.flinkops.flink.plugins.plugin_utils import fleet, plan

    return filter_call("memory_plan", plan.memory_plan, (fleet.FleetError, plan.PolicyError, plan.PlanError),
                       AnsibleFilterError, results,
                       policy, memory_limits=memory_limits)


class FilterModule:
    def filters(self):
        return {"memory_plan": memory_plan}
