# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.config_lint``: a thin adapter around plugin_utils.lint."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.filter_call import filter_call
from ansible_collections.flinkops.flink.plugins.plugin_utils.lint import DEFAULT_MIN_MANAGED_PER_SLOT, LintCallError
from ansible_collections.flinkops.flink.plugins.plugin_utils.lint import config_lint as _config_lint


def config_lint(config, flink_version="2.3", facts=None, processes=None,
                min_managed_per_slot=DEFAULT_MIN_MANAGED_PER_SLOT):
    """Findings for one Flink config on one Flink version (see config_lint.yml)."""
    return filter_call("config_lint", _config_lint, LintCallError, AnsibleFilterError, config, flink_version,
                       facts=facts, processes=processes, min_managed_per_slot=min_managed_per_slot)


class FilterModule:
    def filters(self):
        return {"config_lint": config_lint}
