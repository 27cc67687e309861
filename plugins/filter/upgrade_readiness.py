# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.upgrade_readiness``: a thin adapter around plugin_utils.upgrade."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.filter_call import filter_call

# The plugin_utils code is imported when the filter runs, not with this file: ansible-core imports every
# filter file of the collection, in every worker process, to find any one flinkops.flink filter
# (tests/unit/plugins/filter/test_filter_imports.py).


def upgrade_readiness(config, from_version, to_version, facts=None, processes=None, to_config=None):
    """What moving one Flink config from one release to another breaks or changes (see upgrade_readiness.yml)."""
    from ansible_collections.flinkops.flink.plugins.plugin_utils import upgrade

    return filter_call("upgrade_readiness", upgrade.upgrade_readiness, upgrade.UpgradeCallError, AnsibleFilterError,
                       config, from_version, to_version, facts=facts, processes=processes, to_config=to_config)


class FilterModule:
    def filters(self):
        return {"upgrade_readiness": upgrade_readiness}
