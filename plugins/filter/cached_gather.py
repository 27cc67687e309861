# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters ``gather_record``, ``gather_kept``, ``cached_gather`` and ``aggregate_plan``: the sliced audit's adapters.

``gather_record`` makes the cacheable record of one host's gather (playbooks/gather.yml) and
``gather_kept`` checks that the fact cache kept it;
``cached_gather`` reads the records of a list of hosts from the fact cache ansible-playbook is
configured with and lets plugin_utils.aggregate decide which results the report uses;
``aggregate_plan`` is memory_plan over those results, trimmed to what the enforce role reads.

``cached_gather`` reads the fact cache itself, not ``hostvars``: each ``hostvars[host]`` works out every
variable of that host and decodes its cached facts (about 2 ms a host in ansible-core 2.19), which
over 10,000 hosts alone takes longer than the whole aggregate should.
"""

from __future__ import annotations

import json
import os
import time

from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.plugin_utils import aggregate

_MEMORY_CACHES = ("memory", "ansible.builtin.memory")
# ansible-core 2.19 keeps each host's facts as {"__payload__": JSON text} with tagged values written as
# {"value": ..., "tags": [...], "__ansible_type": ...}; decoding the tags is the slow part.
_PAYLOAD = "__payload__"
_TYPE = "__ansible_type"


def gather_record(result, live=False, memory_limit=None):
    """The cacheable record of one host's flink_config_info result (see gather_record.yml)."""
    try:
        return aggregate.make_record(result, now=time.time(), live=live, memory_limit=memory_limit)
    except aggregate.AggregateError as exc:
        raise AnsibleFilterError(f"flinkops.flink.gather_record: {exc}") from None


def _untagged(value):
    """A cached value without its tag wrappers (origins of the template that made it)."""
    if isinstance(value, dict):
        if _TYPE in value:
            if "value" not in value:
                raise ValueError(f"a cached {value[_TYPE]} this reader does not know")
            return _untagged(value["value"])
        return {key: _untagged(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_untagged(item) for item in value]
    return value


def _fact_cache(caller="cached_gather"):
    from ansible import constants as C
    from ansible.errors import AnsibleError
    from ansible.plugins.loader import cache_loader

    name = C.CACHE_PLUGIN
    if name in _MEMORY_CACHES:
        raise AnsibleFilterError(
            f"flinkops.flink.{caller}: the fact cache is 'memory', which keeps nothing between runs; configure "
            "the cache the gather wrote to (ANSIBLE_CACHE_PLUGIN=ansible.builtin.jsonfile with "
            "ANSIBLE_CACHE_PLUGIN_CONNECTION=<dir>, or community.general.redis; AWX: enable fact storage)")
    try:
        cache = cache_loader.get(name)
    except AnsibleError as exc:
        raise AnsibleFilterError(f"flinkops.flink.{caller}: the fact cache plugin {name!r} cannot be loaded: {exc}") \
            from None
    if cache is None:
        raise AnsibleFilterError(f"flinkops.flink.{caller}: the fact cache plugin {name!r} cannot be loaded")
    return cache


def _payload_record(payload: str):
    """The flink_gather record in ansible-core's JSON payload of a host's facts (raises ValueError if not JSON)."""
    facts = json.loads(payload)
    return _untagged(facts.get(aggregate.FACT)) if isinstance(facts, dict) else None


def _record_of(cache, host):
    """The host's flink_gather record from the cache, or None when nothing is cached for it."""
    backend = getattr(cache, "__wrapped__", None)
    key_of = getattr(cache, "_get_key", None)
    if backend is not None and callable(key_of):
        try:
            stored = backend.get(key_of(host))
        except KeyError:
            return None
        if isinstance(stored, dict) and isinstance(stored.get(_PAYLOAD), str):
            try:
                return _payload_record(stored[_PAYLOAD])
            except ValueError:
                pass  # a payload this reader does not know: ansible-core's own decoder below
    try:
        facts = cache.get(host)
    except KeyError:
        return None
    return facts.get(aggregate.FACT) if isinstance(facts, dict) else None


def _jsonfile_files(cache):
    """(directory, prefix, timeout, key function) of ansible-core's jsonfile cache, or None for another cache.

    The records of 10,000 hosts are read as files here, each checked against the cache's timeout as the
    plugin's own get() checks it (the file's age): through the plugin each get() also asks its options
    twice, which cost as much as reading and decoding the file.
    """
    backend = getattr(cache, "__wrapped__", None)
    key_of = getattr(cache, "_get_key", None)
    if backend is None or not callable(key_of) or type(backend).__module__.rpartition(".")[2] != "jsonfile":
        return None
    directory, timeout = getattr(backend, "_cache_dir", None), getattr(backend, "_timeout", None)
    if not isinstance(directory, str) or not isinstance(timeout, (int, float)):
        return None
    return directory, backend.get_option("_prefix") or "", float(timeout), key_of


def _record_in_file(path: str, timeout: float, now: float):
    """The flink_gather record of one jsonfile cache file, or None (no file, expired, no record)."""
    try:
        if timeout and now - os.stat(path).st_mtime > timeout:
            return None  # expired: ansible-core's get() raises KeyError for it
        with open(path, "rb") as handle:
            stored = json.loads(handle.read())
        payload = stored.get(_PAYLOAD) if isinstance(stored, dict) else None
        if isinstance(payload, str):
            return _payload_record(payload)
        return _untagged(stored.get(aggregate.FACT)) if isinstance(stored, dict) else None
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        # ansible-core's own get() fails the run here too (and deletes the file); this names the file and keeps it
        raise AnsibleFilterError(f"flinkops.flink.cached_gather: the cache file {path} cannot be read: {exc}; "
                                 "delete it and run flinkops.flink.gather for that host again") from None


def read_records(hosts, cache=None) -> dict:
    """Host -> its cached record (or None), from ``cache`` or the configured fact cache."""
    cache = cache if cache is not None else _fact_cache()
    files = _jsonfile_files(cache)
    if files is not None:
        directory, prefix, timeout, key_of = files
        now = time.time()
        return {str(host): _record_in_file(f"{directory}/{prefix}{key_of(str(host))}", timeout, now)
                for host in hosts}
    return {str(host): _record_of(cache, str(host)) for host in hosts}


def _cache_name() -> str:
    from ansible import constants as C

    connection = getattr(C, "CACHE_PLUGIN_CONNECTION", None)
    return f"{C.CACHE_PLUGIN} at {connection}" if connection else str(C.CACHE_PLUGIN)


def gather_kept(hosts, since):
    """Check that the fact cache holds this run's record of every host (see gather_kept.yml)."""
    if isinstance(hosts, (str, bytes)):
        raise AnsibleFilterError("flinkops.flink.gather_kept: give a list of hostnames, not one string")
    try:
        hosts = [str(h) for h in hosts]
        since = float(since)
        lost = aggregate.not_kept(read_records(hosts, _fact_cache("gather_kept")), hosts, since=since)
    except (aggregate.AggregateError, TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"flinkops.flink.gather_kept: {exc}") from None
    if lost:
        raise AnsibleFilterError("flinkops.flink.gather_kept: "
                                 + aggregate.not_kept_message(lost, len(hosts), _cache_name()))
    return f"The fact cache holds this run's result of all {len(hosts)} hosts"


def cached_gather(hosts, max_age=3600, live=False, slice_count=0, inventory_hosts=None):
    """Each host's cached gather result, and the hosts and slices without a usable one (see cached_gather.yml)."""
    if isinstance(hosts, (str, bytes)):
        raise AnsibleFilterError("flinkops.flink.cached_gather: give a list of hostnames, not one string")
    try:
        hosts = [str(h) for h in hosts]
        return aggregate.select(read_records(hosts), hosts, now=time.time(), max_age=max_age, live=bool(live),
                                slice_count=int(slice_count or 0), inventory_hosts=inventory_hosts)
    except (aggregate.AggregateError, TypeError) as exc:
        raise AnsibleFilterError(f"flinkops.flink.cached_gather: {exc}") from None


def aggregate_plan(selection, policy=None):
    """memory_plan over every cached result, trimmed to what the enforce role reads (see aggregate_plan.yml)."""
    # imported here: the gather's filter (gather_record) needs none of the fleet analysis
    from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import FleetError
    from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import PlanError, PolicyError
    from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import memory_plan as _memory_plan

    try:
        results, limits = aggregate.complete_results(selection)
        return aggregate.slim_plan(_memory_plan(results, policy, memory_limits=limits))
    except (FleetError, PolicyError, PlanError, aggregate.AggregateError) as exc:
        raise AnsibleFilterError(f"flinkops.flink.aggregate_plan: {exc}") from None


class FilterModule:
    def filters(self):
        return {"gather_record": gather_record, "cached_gather": cached_gather, "aggregate_plan": aggregate_plan,
                "gather_kept": gather_kept}
