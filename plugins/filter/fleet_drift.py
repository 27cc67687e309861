# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.fleet_drift``: a thin adapter around plugin_utils.fleet."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.filter_call import filter_call

# The plugin_utils code is imported when the filter runs, not with this file: ansible-core imports every
# filter file of the collection, in every worker process, to find any one flinkops.flink filter
# (tests/unit/plugins/filter/test_filter_imports.py).


def fleet_drift(results, group_by="process", drift_keys="memory"):
    """Which hosts of each group differ, in keys and in effective memory (see fleet_drift.yml)."""
    from ansible_collections.flinkops.flink.plugins.plugin_utils import fleet

    return filter_call("fleet_drift", fleet.fleet_drift, fleet.FleetError, AnsibleFilterError, results, group_by,
                       drift_keys=drift_keys)


class FilterModule:
    def filters(self):
        return {"fleet_drift": fleet_drift}
