# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.savepoint_decision``: a thin adapter around plugin_utils.savepoint."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.filter_call import plain

# The plugin_utils code is imported when the filter runs, not with this file: ansible-core imports every
# filter file of the collection to find any one flinkops.flink filter (tests/unit/plugins/filter/
# test_filter_imports.py).

KINDS = ("jobmanager", "outcome", "lines", "probe")


def savepoint_decision(data, kind, **options):
    """One decision of the savepoint mode (see savepoint_decision.yml)."""
    from ansible_collections.flinkops.flink.plugins.plugin_utils import savepoint

    try:
        if kind == "jobmanager":
            return savepoint.jobmanager_check(plain(data), plain(options.get("running")))
        if kind == "outcome":
            return savepoint.outcome(**plain(data))
        if kind == "lines":
            return savepoint.summary_lines(plain(data))
        if kind == "probe":
            probes = savepoint.probes_from_results(plain(data), plain(options.get("polls")))
            return {"problems": savepoint.probe_problems(probes, options.get("directory")),
                    "locations": savepoint.probe_locations(probes)}
    except (savepoint.SavepointError, KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"flinkops.flink.savepoint_decision({kind!r}): {exc}") from None
    raise AnsibleFilterError(f"flinkops.flink.savepoint_decision: unknown kind {kind!r}; one of {', '.join(KINDS)}")


class FilterModule:
    def filters(self):
        return {"savepoint_decision": savepoint_decision}
