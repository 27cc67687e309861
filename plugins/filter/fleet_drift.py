# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.fleet_drift``: a thin adapter around plugin_utils.fleet."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import FleetError
from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import fleet_drift as _fleet_drift


def fleet_drift(results, group_by="process"):
    """Which hosts of each group differ, in keys and in effective memory (see fleet_drift.yml)."""
    try:
        return _fleet_drift(results, group_by)
    except FleetError as exc:
        raise AnsibleFilterError(f"flinkops.flink.fleet_drift: {exc}") from None


class FilterModule:
    def filters(self):
        return {"fleet_drift": fleet_drift}
