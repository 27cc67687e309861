# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.fleet_drift``: a thin adapter around plugin_utils.fleet."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.filter_call import filter_call
from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import FleetError
from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import fleet_drift as _fleet_drift


def fleet_drift(results, group_by="process", drift_keys="memory"):
    """Which hosts of each group differ, in keys and in effective memory (see fleet_drift.yml)."""
    return filter_call("fleet_drift", _fleet_drift, FleetError, AnsibleFilterError, results, group_by,
                       drift_keys=drift_keys)


class FilterModule:
    def filters(self):
        return {"fleet_drift": fleet_drift}
