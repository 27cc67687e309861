"""audit_report's host_pattern gives the hosts the lookup ansible.builtin.inventory_hostnames gives (issue 18).

The aggregate passes its host pattern instead of a 10,000-host list (which ansible-core templates and copies
host by host before the task starts). A union of group names is resolved from the play's groups; everything
else goes to the lookup itself. Compared here with the real lookup over a real inventory (groups with child
groups, hosts in several groups, a host named like nothing else).
"""

from __future__ import annotations

import sys

import pytest
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, lookup_loader

from ansible_collections.flinkops.flink.plugins.action.audit_report import hosts_of_pattern

INVENTORY = """
[flink_jobmanager]
jm2
jm1

[flink_taskmanager:children]
tm_east
tm_west

[tm_west]
tm10
tm2
both

[tm_east]
tm1
both
jm1

[solo]
lonely
"""


@pytest.fixture(scope="module")
def groups(tmp_path_factory):
    # init_plugin_loader installs ansible-core's collection finder in this process; the tests after this module
    # import ansible_collections.flinkops.flink from the tree (no collection metadata), which that finder
    # refuses. Its import hooks go when this module is done.
    meta_path, path_hooks, cache = sys.meta_path[:], sys.path_hooks[:], dict(sys.path_importer_cache)
    init_plugin_loader()
    path = tmp_path_factory.mktemp("inv") / "hosts.ini"
    path.write_text(INVENTORY)
    inventory = InventoryManager(DataLoader(), sources=[str(path)])
    yield inventory.get_groups_dict()
    sys.meta_path[:], sys.path_hooks[:] = meta_path, path_hooks
    sys.path_importer_cache.clear()
    sys.path_importer_cache.update(cache)


def _lookup(groups):
    plugin = lookup_loader.get("ansible.builtin.inventory_hostnames", loader=DataLoader())
    calls = []

    def lookup(pattern):
        calls.append(pattern)
        return plugin.run(pattern, variables={"groups": groups})

    return lookup, calls


@pytest.mark.parametrize("pattern", [
    "flink_jobmanager:flink_taskmanager", "flink_taskmanager:flink_jobmanager", "flink_jobmanager,flink_taskmanager",
    "all", "tm_east:tm_west", "tm_west", "flink_taskmanager:solo:flink_jobmanager", " tm_east , solo ",
    "flink_jobmanager:no_such_group", "no_such_group",
])
def test_a_union_of_names_is_what_the_lookup_gives_without_calling_it(groups, pattern):
    lookup, calls = _lookup(groups)
    warnings = []
    got = hosts_of_pattern(pattern, groups, lookup, warn=warnings.append)
    assert not calls
    real, _ = _lookup(groups)
    assert got == list(real(pattern))
    unknown = [t.strip() for t in pattern.replace(",", ":").split(":") if t.strip() not in groups]
    assert warnings == [f"Could not match supplied host pattern, ignoring: {t}" for t in unknown]


@pytest.mark.parametrize("pattern", [
    "tm*", "flink_taskmanager:!tm_west", "flink_taskmanager:&tm_east", "jm1", "flink_jobmanager:lonely",
    "~tm[0-9]+", "tm_west[0:1]", "localhost", "flink_jobmanager:localhost",
])
def test_anything_else_goes_to_the_lookup(groups, pattern):
    lookup, calls = _lookup(groups)
    got = hosts_of_pattern(pattern, groups, lookup)
    assert calls == [pattern]
    assert got == list(lookup(pattern))


def test_a_mismatch_that_ansible_makes_an_error_goes_to_the_lookup(groups):
    lookup, calls = _lookup(groups)
    hosts_of_pattern("flink_jobmanager:no_such_group", groups, lookup, mismatch="error")
    assert calls == ["flink_jobmanager:no_such_group"]
    lookup, calls = _lookup(groups)
    assert hosts_of_pattern("flink_jobmanager:tm_east", groups, lookup, mismatch="error") == ["jm2", "jm1", "tm1",
                                                                                               "both"]
    assert not calls
