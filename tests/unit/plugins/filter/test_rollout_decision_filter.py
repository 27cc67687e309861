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


def test_a_bad_call_is_a_filter_error_naming_the_kind():
    with pytest.raises(AnsibleFilterError, match="unknown kind 'nope'"):
        rollout_decision({}, "nope")
    with pytest.raises(AnsibleFilterError, match=r"rollout_decision\('plan'\).*batch_size"):
        rollout_decision({}, "plan", cluster={}, hostvars={}, tm_hosts=[], batch_size=0)
