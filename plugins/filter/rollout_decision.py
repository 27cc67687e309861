# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter ``flinkops.flink.rollout_decision``: a thin adapter around plugin_utils.rollout."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils.filter_call import plain

# The plugin_utils code is imported when the filter runs, not with this file: ansible-core imports every
# filter file of the collection to find any one flinkops.flink filter (tests/unit/plugins/filter/
# test_filter_imports.py).

KINDS = ("arguments", "host_vars", "plan", "preflight", "identities", "gate", "host_words", "jobs", "blame",
         "outcome", "ha", "jm_urls", "jm_safety", "jm_leader", "jm_verify", "jm_restored", "jm_blame")


def rollout_decision(data, kind, **options):
    """One decision of the rolling restart (see rollout_decision.yml)."""
    from ansible_collections.flinkops.flink.plugins.plugin_utils import jobmanager_rollout, rollout

    try:
        if kind == "arguments":
            return rollout.check_arguments(plain(data))
        if kind == "host_vars":
            return {name: plain(data[name]) for name in rollout.HOST_VARS if name in data}
        if kind == "plan":
            return rollout.decide(plain(data), plain(options.pop("cluster")), **plain(options))
        if kind == "preflight":
            return rollout.preflight(plain(data), plain(options["cluster"]))
        if kind == "identities":
            return rollout.identities(plain(data))
        if kind == "gate":
            hosts = {k: plain(options[k]) for k in ("batch_hosts", "host_baseline", "host_jvms", "resource_ids", "info")
                     if options.get(k) is not None}
            return rollout.gate(plain(options["batch_ids"]), plain(options["baseline"]), plain(data), **hosts)
        if kind == "host_words":
            return rollout.host_words(plain(data))
        if kind == "jobs":
            return rollout.jobs_before(plain(data))
        if kind == "blame":
            return rollout.blame(plain(data), **plain(options))
        if kind == "outcome":
            return rollout.outcome(**plain(data))
        # the JobManagers (plugin_utils/jobmanager_rollout.py)
        if kind == "ha":
            return jobmanager_rollout.ha_settings(plain(options["jm_hosts"]), plain(data),
                                                  plain(options.get("quorum") or ""))
        if kind == "jm_urls":
            hostvars = plain(options["hostvars"])
            return {h: jobmanager_rollout.rest_url(h, hostvars.get(h) or {}, g)["url"] for h, g in plain(data).items()}
        if kind == "jm_safety":
            return jobmanager_rollout.checkpoint_safety(plain(data), plain(options.get("configs") or {}))
        if kind == "jm_leader":
            return jobmanager_rollout.leader_check(plain(data), plain(options["urls"]), options.get("expected"),
                                                   options.get("session"))
        if kind == "jm_verify":
            return jobmanager_rollout.verify(plain(options["entry"]), plain(data))
        if kind == "jm_restored":
            return jobmanager_rollout.restored(plain(options["jobs"]), plain(data))
        if kind == "jm_blame":
            return jobmanager_rollout.blame(plain(data), **plain(options))
    except (rollout.RolloutError, KeyError, TypeError) as exc:
        raise AnsibleFilterError(f"flinkops.flink.rollout_decision({kind!r}): {exc}") from None
    raise AnsibleFilterError(f"flinkops.flink.rollout_decision: unknown kind {kind!r}; one of {', '.join(KINDS)}")


class FilterModule:
    def filters(self):
        return {"rollout_decision": rollout_decision}
