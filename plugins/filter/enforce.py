# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``enforce_prepare``, ``enforce_assignment``, ``enforce_outcome``: the enforce role's and
playbook's decisions (plugin_utils.enforce); the tasks only apply them. Thin adapters: they read the
few host variables a decision needs from ``hostvars`` and turn bad calls into AnsibleFilterError."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display


# The plugin_utils code is imported when the filter runs, not with this file: ansible-core imports every
# filter file of the collection, in every worker process, to find any one flinkops.flink filter
# (tests/unit/plugins/filter/test_filter_imports.py).
def _decide():
    from ansible_collections.flinkops.flink.plugins.plugin_utils import enforce

    return enforce


def _host_var(hostvars, host, name):
    """One variable of one host, or None (a host without it, or a failed lookup, gives None)."""
    try:
        return hostvars[host].get(name) if name else None
    except (KeyError, AttributeError):
        return None


def _plain_results(result):
    return result if isinstance(result, Mapping) else None


def enforce_prepare(results, policy=None, hosts=None, memory_limits=None):
    """The memory plan trimmed to what the enforce role reads, the hosts that already hold it, and the
    hosts to run the role on (see enforce_prepare.yml)."""
    decide = _decide()
    try:
        prepared = decide.prepare(results, policy, list(hosts or results or ()), memory_limits=memory_limits)
    except decide.EnforceError as exc:
        raise AnsibleFilterError(f"flinkops.flink.enforce: {exc}") from None
    for warning in prepared["warnings"]:  # once for the run: the filter runs in one run_once task
        Display().warning(warning)
    return prepared


def enforce_assignment(hostvars, hosts, groups, plan=None, settings=None, remove=None, allow_unknown_keys=(),
                       gather_var="", argument_errors=(), strict=False):
    """Per host the keys to set and remove, and every problem found before anything is written
    (see enforce_assignment.yml)."""
    hosts = [str(h) for h in hosts]
    versions = {}
    for host in hosts:
        version = _host_var(hostvars, host, "flink_version")
        if not version:
            gathered = _plain_results(_host_var(hostvars, host, gather_var))
            if gathered and not gathered.get("failed") and not gathered.get("skipped"):
                version = gathered.get("flink_version")
        if version:
            versions[host] = str(version)
    out = _decide().assign(hosts, groups, plan=plan, settings=settings, remove=remove,
                           allow_unknown_keys=allow_unknown_keys, versions=versions, argument_errors=argument_errors)
    if strict and out["errors"]:
        raise AnsibleFilterError(out["message"])  # it names the hosts
    # the inputs the decision was made with: a host whose own templating gives other settings decides again
    out["settings"], out["remove"] = settings, remove
    return out


def enforce_outcome(hostvars, hosts_all, alive, batch, compliant=(), confirmed=False, check_mode=False,
                    planned=False, result_var="enforce_result", shared=None, gather_var="", allow_unknown_keys=()):
    """Each host's status, the restart list, the summary and the report lines (see enforce_outcome.yml)."""
    results = {str(h): _plain_results(_host_var(hostvars, h, result_var)) for h in hosts_all}
    compliant = [str(h) for h in compliant or ()]
    # the earlier gather, for the hosts flink_config did not read (not contacted, nothing to set, or its
    # result taken from that gather: the gather has the file's line numbers)
    gathered = {}
    for host in (gather_var and [*results, *compliant]) or ():
        mine = results.get(host) or {}
        if mine.get("config") is None or mine.get("read_from") == "gather":
            gathered[host] = _plain_results(_host_var(hostvars, host, gather_var))
    decide = _decide()
    try:
        return decide.outcome(results, [str(h) for h in hosts_all], [str(h) for h in alive],
                              [str(h) for h in batch], compliant=compliant, confirmed=confirmed,
                              check_mode=check_mode, planned=planned,
                              shared=shared if isinstance(shared, Mapping) else None, gathered=gathered,
                              allow_unknown_keys=allow_unknown_keys)
    except decide.EnforceError as exc:
        raise AnsibleFilterError(f"flinkops.flink.enforce_outcome: {exc}") from None


class FilterModule:
    def filters(self):
        return {"enforce_prepare": enforce_prepare, "enforce_assignment": enforce_assignment,
                "enforce_outcome": enforce_outcome}
