# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.config_lint``: a thin adapter around plugin_utils.lint."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.filter_call import filter_call

# The plugin_utils code is imported when the filter runs, not with this file: ansible-core imports every
# filter file of the collection, in every worker process, to find any one flinkops.flink filter
# (tests/unit/plugins/filter/test_filter_imports.py).
_LINT_DEFAULT = object()  # min_managed_per_slot not given: plugin_utils.lint's default


def config_lint(config, flink_version="2.3", facts=None, processes=None,
                min_managed_per_slot=_LINT_DEFAULT):
    """Findings for one Flink config on one Flink version (see config_lint.yml)."""
    from ansible_collections.flinkops.flink.plugins.plugin_utils import lint

    options = {} if min_managed_per_slot is _LINT_DEFAULT else {"min_managed_per_slot": min_managed_per_slot}
    return filter_call("config_lint", lint.config_lint, lint.LintCallError, AnsibleFilterError, config, flink_version,
                       facts=facts, processes=processes, **options)


class FilterModule:
    def filters(self):
        return {"config_lint": config_lint}
