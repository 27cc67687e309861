# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.memory_model``: a thin adapter around module_utils.memory_model."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# The module_utils code is imported when the filter runs, not with this file: ansible-core imports every
# filter file of the collection, in every worker process, to find any one flinkops.flink filter
# (tests/unit/plugins/filter/test_filter_imports.py).


def memory_model(config, process, flink_version="2.3"):
    """What Flink computes for one process from one flat config (see memory_model.yml)."""
    from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import check_call, compute

    try:
        check_call(process, flink_version)
    except ValueError as exc:
        raise AnsibleFilterError(f"flinkops.flink.memory_model: {exc}") from None
    return compute(config, process, flink_version)


class FilterModule:
    def filters(self):
        return {"memory_model": memory_model}
