"""plugins/filter/rollout_decision.py: the thin door from the role to plugin_utils/rollout.py."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.flinkops.flink.plugins.filter.rollout_decision import FilterModule, rollout_decision


def test_the_filter_is_registered_and_answers_each_kind():
    assert FilterModule().filters()["rollout_decision"] is rollout_decision
    assert rollout_decision({}, "arguments")[0].startswith("rolling_restart_rest_url is not set")
    assert rollout_decision({"flink_home": "/opt/flink", "other": 1}, "host_vars") == {"flink_home": "/opt/flink"}
    snap = {"taskmanagers": [{"id": "tm1", "path": "p", "data_port": 1, "slots": 1}], "slots_total": 1,
            "slots_available": 1, "jobs": [{"id": "j", "name": "n", "state": "RUNNING"}]}
    assert rollout_decision(snap, "identities") == {"tm1": "p data port 1"}
    assert rollout_decision(snap, "gate", batch_ids=["tm1"], baseline={"tm1": "p data port 1"})["ok"]
    assert rollout_decision(snap, "jobs") == [{"id": "j", "name": "n", "checkpoint": None}]


def test_the_gate_passes_the_hosts_word_on_their_jvms_through():
    snap = {"taskmanagers": [{"id": "tm1", "path": "p1", "data_port": 1, "slots": 1},
                             {"id": "tm2", "path": "p2", "data_port": 2, "slots": 1}],
            "slots_total": 2, "slots_available": 2, "jobs": []}
    baseline = rollout_decision(snap, "identities")
    start = {"tm1": "running pid=1 start=10", "tm2": "running pid=2 start=20"}
    info = {"tm1": {"resource_id": "tm1"}, "tm2": {"resource_id": "rid-2"}}
    same = rollout_decision(snap, "gate", batch_ids=["tm1"], baseline=baseline, batch_hosts=["tm1"],
                            host_baseline=start, host_jvms={"tm2": start["tm2"]}, info=info)
    assert same["ok"], same
    # REST shows tm2 unchanged; its host says it is a new JVM
    got = rollout_decision(snap, "gate", batch_ids=["tm1"], baseline=baseline, batch_hosts=["tm1"],
                           host_baseline=start, host_jvms={"tm2": "running pid=9 start=90"}, info=info)
    assert not got["ok"] and got["reasons"][0].startswith("TaskManager rid-2 on tm2 (not in this batch) is another JVM")
    results = [{"_rolling_restart_host": "tm2", "stdout": "stopped\n"}, {"_rolling_restart_host": "tm3",
                                                                          "unreachable": True}]
    assert rollout_decision(results, "host_words") == {"tm2": "stopped\n", "tm3": None}


def test_a_bad_call_is_a_filter_error_naming_the_kind():
    with pytest.raises(AnsibleFilterError, match="unknown kind 'nope'"):
        rollout_decision({}, "nope")
    with pytest.raises(AnsibleFilterError, match=r"rollout_decision\('plan'\).*batch_size"):
        rollout_decision({}, "plan", cluster={}, hostvars={}, tm_hosts=[], batch_size=0)
