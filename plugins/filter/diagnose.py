# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.diagnose``: a thin adapter around plugin_utils.diagnose."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.filter_call import filter_call

# The plugin_utils code is imported when the filter runs, not with this file: ansible-core imports every
# filter file of the collection to find any one flinkops.flink filter (tests/unit/plugins/filter/
# test_filter_imports.py).


def diagnose(results, cluster=None, group_by="process", policy=None, memory_limits=None):
    """Flink's failure messages per host, their keys and one fix per group (see diagnose.yml)."""
    from ansible_collections.flinkops.flink.plugins.plugin_utils.diagnose import DiagnoseError
    from ansible_collections.flinkops.flink.plugins.plugin_utils.diagnose import diagnose as _diagnose
    from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import PolicyError

    return filter_call("diagnose", _diagnose, (DiagnoseError, PolicyError), AnsibleFilterError, results,
                       cluster=cluster, group_by=group_by, policy=policy, memory_limits=memory_limits)


class FilterModule:
    def filters(self):
        return {"diagnose": diagnose}
