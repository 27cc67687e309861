# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.upgrade_readiness``: a thin adapter around plugin_utils.upgrade."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.filter_call import filter_call
from ansible_collections.flinkops.flink.plugins.plugin_utils.upgrade import UpgradeCallError
from ansible_collections.flinkops.flink.plugins.plugin_utils.upgrade import upgrade_readiness as _upgrade_readiness


def upgrade_readiness(config, from_version, to_version, facts=None, processes=None, to_config=None):
    """What moving one Flink config from one release to another breaks or changes (see upgrade_readiness.yml)."""
    return filter_call("upgrade_readiness", _upgrade_readiness, UpgradeCallError, AnsibleFilterError, config,
                       from_version, to_version, facts=facts, processes=processes, to_config=to_config)


class FilterModule:
    def filters(self):
        return {"upgrade_readiness": upgrade_readiness}
