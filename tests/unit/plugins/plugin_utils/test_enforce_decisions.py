"""The enforce role's decisions (plugin_utils.enforce): assignment, refusals before writing, outcome, plan.

Plain data in, plain data out; no Ansible (the role's real runs are in tests/integration/test_enforce.py).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.plugin_utils import enforce
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_edit import as_flink_value

GIB = 1 << 30
GROUPS = {"all": ["jm", "tm1", "tm2"], "ungrouped": [], "flink_jobmanager": ["jm"],
          "flink_taskmanager": ["tm1", "tm2"], "tm_extra": ["tm2"]}
HOSTS = ["jm", "tm1", "tm2"]


def assign(settings=None, remove=None, **kw):
    return enforce.assign(kw.pop("hosts", HOSTS), kw.pop("groups", GROUPS), settings=settings or {},
                          remove=remove or {}, **kw)


# --- who gets what --------------------------------------------------------------------------------

def test_groups_give_their_keys_to_their_hosts():
    out = assign({"all": {"parallelism.default": 3}, "taskmanager": {"taskmanager.numberOfTaskSlots": 2},
                  "tm_extra": {"taskmanager.memory.jvm-metaspace.size": "384m"}},
                 {"jobmanager": ["jobmanager.memory.managed.fraction"]})
    assert out["errors"] == [] and out["message"] == ""
    hosts = out["hosts"]
    assert hosts["jm"] == {"groups": ["all", "jobmanager"], "set": {"parallelism.default": 3},
                           "remove": ["jobmanager.memory.managed.fraction"], "todo": True, "clashes": [],
                           "clash_groups": [], "quiet_unknown": False}
    assert hosts["tm1"]["set"] == {"parallelism.default": 3, "taskmanager.numberOfTaskSlots": 2}
    assert hosts["tm2"]["groups"] == ["all", "taskmanager", "tm_extra"]
    assert hosts["tm2"]["set"]["taskmanager.memory.jvm-metaspace.size"] == "384m" and hosts["tm2"]["remove"] == []


def test_a_host_of_no_group_has_nothing_to_do():
    out = assign({"taskmanager": {"parallelism.default": 4}})
    assert out["hosts"]["jm"] == {"groups": [], "set": {}, "remove": [], "todo": False, "clashes": [],
                                  "clash_groups": [], "quiet_unknown": False}


def test_process_names_also_match_inventory_groups_of_that_name():
    groups = {"taskmanager": ["tm9"], "flink_taskmanager": ["tm1"]}
    out = assign({"taskmanager": {"parallelism.default": 4}}, hosts=["tm1", "tm9", "x"], groups=groups)
    assert [h for h, d in out["hosts"].items() if d["todo"]] == ["tm1", "tm9"]


def test_plan_hosts_get_the_set_and_remove_of_their_plan_groups():
    plan = {"groups": {"taskmanager": {"set": {"taskmanager.memory.process.size": "2g"}, "remove": ["a.b"]},
                       "jobmanager": {"set": {"jobmanager.memory.process.size": "1600m"}, "remove": []}},
            "hosts": {"tm1": {"groups": ["taskmanager"]}, "jm": {"groups": ["jobmanager"]}}}
    out = enforce.assign(HOSTS, GROUPS, plan=plan)
    assert out["errors"] == []
    assert out["hosts"]["tm1"]["set"] == {"taskmanager.memory.process.size": "2g"}
    assert out["hosts"]["tm1"]["remove"] == ["a.b"]
    assert out["hosts"]["jm"]["set"] == {"jobmanager.memory.process.size": "1600m"}
    assert out["hosts"]["tm2"]["todo"] is False  # not covered by the plan


# --- clashes ---------------------------------------------------------------------------------------

def test_a_key_two_groups_give_different_values_stops_the_run_naming_host_groups_and_keys():
    out = assign({"all": {"parallelism.default": 3},
                  "taskmanager": {"taskmanager.memory.jvm-metaspace.size": "384m"},
                  "tm_extra": {"parallelism.default": 5, "taskmanager.memory.jvm-metaspace.size": "512m"}})
    assert out["hosts"] == {}
    assert out["message"] == ("Nothing written: give each key one value per host. tm2: the groups all, taskmanager, "
                              "tm_extra give different values for parallelism.default, "
                              "taskmanager.memory.jvm-metaspace.size.")


def test_values_are_compared_as_the_text_flink_config_writes():
    # 3 and '3' are the same text; 1 and true are not (Python calls them equal)
    same = assign({"all": {"parallelism.default": 3}, "tm_extra": {"parallelism.default": "3"}})
    assert same["errors"] == []
    differ = assign({"all": {"x.flag": 1}, "tm_extra": {"x.flag": True}}, allow_unknown_keys=["x.*"])
    assert "tm2: the groups all, tm_extra give different values for x.flag" in differ["message"]


def test_only_the_groups_that_clash_are_named():
    out = assign({"all": {"parallelism.default": 3}, "taskmanager": {"taskmanager.numberOfTaskSlots": 2},
                  "tm_extra": {"parallelism.default": 5}})
    assert "tm2: the groups all, tm_extra give different values for parallelism.default." in out["message"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["all", "taskmanager", "tm_extra", "jobmanager"]),
                          st.sampled_from(["parallelism.default", "taskmanager.numberOfTaskSlots", "rest.port"]),
                          st.one_of(st.integers(1, 3), st.sampled_from(["1", "2", "true"]), st.booleans())),
                min_size=1, max_size=8))
def test_clash_detection_agrees_with_a_direct_count(entries):
    """Property: a host clashes on a key exactly when its groups give that key two texts."""
    settings_ = {}
    for group, key, value in entries:
        settings_.setdefault(group, {})[key] = value
    out = assign(settings_)
    expected = {}
    for host in HOSTS:
        texts = {}
        for group, keys in settings_.items():
            member = group == "all" or host in GROUPS.get(f"flink_{group}", GROUPS.get(group, []))
            if member:
                for key, value in keys.items():
                    texts.setdefault(key, set()).add(as_flink_value(key, value))
        expected[host] = sorted(k for k, t in texts.items() if len(t) > 1)
    clashing = {h: sorted(c) for h, c in expected.items() if c}
    if clashing:
        assert out["hosts"] == {}
        for host, keys in clashing.items():
            assert f"{host}: the groups " in out["message"] and all(k in out["message"] for k in keys)
    else:
        assert out["errors"] == []
        assert all(out["hosts"][h]["clashes"] == [] for h in HOSTS)


# --- refused before anything is written --------------------------------------------------------------

def test_a_misspelled_group_is_refused_naming_it_with_a_did_you_mean():
    out = assign({"taskmanagr": {"parallelism.default": 4}, "typo_group": {"parallelism.default": 4}},
                 {"tm_extr": ["parallelism.default"]})
    assert out["hosts"] == {}
    msg = out["message"]
    assert "enforce_settings names the group 'taskmanagr', which is neither an inventory group nor all, " \
           "jobmanager or taskmanager; did you mean 'taskmanager'" in msg
    assert "'typo_group'" in msg
    assert "enforce_remove names the group 'tm_extr'" in msg and "did you mean 'tm_extra'" in msg


def test_every_inventory_group_and_the_three_names_are_accepted():
    names = {n: {"parallelism.default": 2} for n in ["all", "jobmanager", "taskmanager", "tm_extra",
                                                      "flink_jobmanager", "ungrouped"]}
    assert assign(names)["errors"] == []


def test_unknown_keys_are_refused_with_a_did_you_mean_unless_allowed():
    settings_ = {"taskmanager": {"taskmanager.memory.managed.fration": "0.3"}}
    out = assign(settings_)
    assert out["hosts"] == {}
    assert out["message"].startswith(
        "Nothing written: enforce_settings.taskmanager on tm1, tm2: 'taskmanager.memory.managed.fration' is not a key "
        "any Flink line (1.14 to 2.3) knows; did you mean 'taskmanager.memory.managed.fraction'")
    assert out["message"].endswith("? To write it anyway, list it in enforce_allow_unknown_keys.")
    allowed = assign(settings_, allow_unknown_keys=["taskmanager.memory.managed.fration"])
    assert allowed["errors"] == [] and allowed["hosts"]["tm1"]["set"] == settings_["taskmanager"]
    assert allowed["hosts"]["tm1"]["quiet_unknown"] is True  # flink_config need not warn about it
    assert assign(settings_, allow_unknown_keys=["taskmanager.memory.*"])["errors"] == []
    assert assign(settings_, allow_unknown_keys=["taskmanager.memory.managed.fraction"])["errors"]


def test_blog_only_keys_are_refused_with_their_explanation():
    out = assign({"jobmanager": {"jobmanager.memory.managed.fraction": "0.2"}})
    assert "'jobmanager.memory.managed.fraction' does not exist in any Flink release" in out["message"]
    assert "enforce_settings.jobmanager on jm" in out["message"]


def test_known_keys_patterns_and_pass_through_families_are_not_refused():
    out = assign({"all": {"taskmanager.memory.process.size": "2g", "metrics.reporter.prom.factory.class": "x",
                          "s3.secret-key": "x", "pipeline.global-job-parameters.foo": "x", "env.java.home": "/j"}})
    assert out["errors"] == []


def test_on_a_known_line_keys_only_other_lines_read_are_refused():
    # pekko.* came with Flink 1.18; a 1.17 host would store and ignore it
    settings_ = {"taskmanager": {"pekko.ask.timeout": "20 s"}}
    assert assign(settings_)["errors"] == []  # line unknown before reading: some line reads it
    out = assign(settings_, versions={"tm1": "1.17.2", "tm2": "2.3.0"})
    assert out["message"].startswith("Nothing written: enforce_settings.taskmanager on tm1: 'pekko.ask.timeout' is "
                                     "not read by Flink 1.17 (only by Flink 1.18")
    assert "tm2" not in out["message"]
    typo = assign({"all": {"parallelism.defualt": 2}}, versions={"jm": "1.20.5"})
    assert "on jm: 'parallelism.defualt' is not a key Flink 1.20 knows; did you mean 'parallelism.default'" in \
        typo["message"]


def test_an_unsupported_version_leaves_the_check_to_every_line():
    # flink_config names the bad version on that host
    assert assign({"all": {"parallelism.default": 2}}, versions={"jm": "0.9"})["errors"] == []


def test_allow_unknown_keys_must_be_a_list_of_keys():
    for bad in (True, "x.*", {"a": 1}):
        out = assign({"all": {"parallelism.default": 2}}, allow_unknown_keys=bad)
        assert "enforce_allow_unknown_keys must be a list of keys" in out["message"]


def test_values_that_cannot_be_written_are_refused_once_without_the_value():
    out = assign({"jobmanager": {"rest.port": None}, "taskmanager": {"s3.secret-key": {"CNRYa": 1},
                                                                       "parallelism.default": 2}})
    msg = out["message"]
    assert "enforce_settings.jobmanager: key 'rest.port': the value is nothing (null)" in msg
    assert "enforce_settings.taskmanager: key 's3.secret-key': the value is a dict" in msg
    assert "CNRY" not in msg and out["hosts"] == {}


def test_a_key_set_and_removed_for_one_host_is_refused():
    out = assign({"all": {"parallelism.default": 2}}, {"taskmanager": ["parallelism.default"]})
    assert "tm1: parallelism.default is both set and removed (groups all, taskmanager)" in out["message"]
    assert "jm:" not in out["message"]


@pytest.mark.parametrize("plan, settings_, remove, words", [
    ({}, {}, {}, "none of enforce_plan, enforce_settings, enforce_remove is given"),
    ({"groups": {}, "hosts": {}, "x": 1}, {"all": {"a": 1}}, {}, "both enforce_plan and"),
    ({"groups": []}, {}, {}, "enforce_plan has no groups and hosts mappings"),
    ({}, {"all": "s3.secret-key: CNRYx"}, {}, "enforce_settings.all is not a mapping of keys to values (got str)"),
    ({}, {}, {"all": "CNRYkey"}, "enforce_remove.all is not a list of keys (got str)"),
    ({}, "CNRY", {}, "enforce_settings must be a mapping, got str"),
])
def test_inputs_of_the_wrong_shape_are_refused_with_the_usage_and_no_value(plan, settings_, remove, words):
    out = enforce.assign(HOSTS, GROUPS, plan=plan, settings=settings_, remove=remove)
    assert words in out["message"] and enforce.USAGE in out["message"]
    assert "CNRY" not in out["message"] and out["hosts"] == {}


def test_argument_check_errors_come_first():
    out = assign({"all": {"parallelism.default": 2}},
                 argument_errors=["argument 'enforce_confirm' is of type str and we were unable to convert to bool"])
    assert out["message"].startswith("Nothing written: argument 'enforce_confirm' is of type str")


def test_many_problems_are_reported_together():
    out = assign({"typo": {"a": 1}, "all": {"parallelism.default": None}})
    assert "'typo'" in out["message"] and "key 'parallelism.default'" in out["message"]


def test_hosts_sharing_their_groups_share_one_decision():
    hosts = [f"tm{i}" for i in range(2000)]
    groups = {"flink_taskmanager": hosts}
    out = enforce.assign(hosts, groups, settings={"taskmanager": {"parallelism.default": 2}})
    assert out["hosts"]["tm0"] is out["hosts"]["tm1999"]


# --- outcome -----------------------------------------------------------------------------------------

def written(changes=None, restart=True, path="/f/conf/flink-conf.yaml"):
    return {"changed": bool(changes), "restart_required": bool(changes) and restart, "changes": changes or [],
            "config_file": path}


CHANGE = [{"action": "update", "key": "parallelism.default", "before": "3", "after": "4"},
          {"action": "add", "key": "s3.secret-key", "before": None, "after": "******"},
          {"action": "remove", "key": "a.b", "before": "1", "after": None}]


def test_outcome_statuses_facts_summary_and_lines():
    results = {"jm": {"skipped": True, "changed": False}, "tm1": written(CHANGE), "tm2": written(),
               "broken": {"failed": True, "msg": "broken: /x/conf/config.yaml line 2: Flink refuses it\nmore"}}
    out = enforce.outcome(results, ["jm", "tm1", "tm2", "broken"], ["jm", "tm1", "tm2"], ["jm", "tm1", "tm2"],
                          compliant=["tm3", "tm1"], confirmed=True)
    assert out["restart_hosts"] == ["tm1"]
    assert {f["host"]: f["status"] for f in out["facts"]} == {"tm3": "compliant", "jm": "not planned",
                                                              "tm1": "changed", "tm2": "compliant",
                                                              "broken": "failed"}
    summary = out["summary"]
    assert summary["changed"] == ["tm1"] and summary["compliant"] == ["tm2", "tm3"]
    assert summary["not_planned"] == ["jm"] and summary["failed"] == ["broken"]
    assert summary["failures"] == {"broken": "/x/conf/config.yaml line 2: Flink refuses it"}
    assert summary["written"] is True
    assert out["lines"] == [
        "tm3: compliant (its gather shows every key in place; not contacted)",
        "jm: not planned (nothing to set)",
        "tm1: changed /f/conf/flink-conf.yaml: update parallelism.default 3 -> 4; add s3.secret-key = ******; "
        "remove a.b",
        "tm2: compliant /f/conf/flink-conf.yaml",
        "broken: failed: /x/conf/config.yaml line 2: Flink refuses it",
        "Written: 1 changed, 0 would change, 2 compliant, 1 failed. Failed: broken (/x/conf/config.yaml line 2: "
        "Flink refuses it). Restart needed on: tm1.",
    ]


def test_a_check_run_never_says_written_and_says_what_would_change():
    results = {"tm1": written(CHANGE, restart=False), "tm2": written()}
    for confirmed, check_mode, head in ((True, True, "Check run (--check), nothing written"),
                                        (False, False, "Check mode (enforce_confirm is false), nothing written"),
                                        (False, True, "Check run (--check), nothing written")):
        out = enforce.outcome(results, ["tm1", "tm2"], ["tm1", "tm2"], ["tm1", "tm2"], confirmed=confirmed,
                              check_mode=check_mode)
        assert out["lines"][-1] == (f"{head}: 0 changed, 1 would change, 1 compliant, 0 failed. Would change: tm1. "
                                    "Restart needed on: none.")
        assert out["summary"]["written"] is False and out["restart_hosts"] == []
        assert "Written" not in " ".join(out["lines"])


def test_an_unreachable_host_and_a_host_without_result_are_named():
    out = enforce.outcome({"a": {"unreachable": True, "msg": "ssh: connect to host a port 22: refused"}, "b": None},
                          ["a", "b", "c"], ["c"], ["c"], confirmed=True)
    assert out["summary"]["failures"] == {"a": "unreachable: ssh: connect to host a port 22: refused",
                                          "b": "failed before its flink_config task ran"}
    assert out["lines"][-1].startswith("Written: 0 changed, 0 would change, 0 compliant, 2 failed. Failed: a "
                                       "(unreachable: ssh: connect")


def test_not_planned_says_why_for_a_plan():
    out = enforce.outcome({"jm": {"skipped": True}}, ["jm"], ["jm"], ["jm"], planned=True)
    assert out["lines"][0] == "jm: not planned (the plan does not cover this host)"


def test_a_long_failure_reason_is_cut():
    out = enforce.outcome({"a": {"failed": True, "msg": "x" * 2000}}, ["a"], [], [])
    assert len(out["summary"]["failures"]["a"]) == 500


# --- prepare: the plan for the role --------------------------------------------------------------------

def gathered(config, version="2.3.0", processes=("taskmanager",), ram=8 * GIB):
    return {"config": config, "flink_version": version, "processes": list(processes), "mem_total_bytes": ram,
            "cgroup_memory_limit_bytes": None, "memory": {p: compute(config, p, version) for p in processes}}


def test_prepare_trims_the_plan_and_finds_the_hosts_that_hold_it():
    results = {"tm1": gathered({"taskmanager.memory.process.size": "2g"}),
               "tm2": gathered({"taskmanager.memory.process.size": "1g"}),
               "bad": {"failed": True, "msg": "nope"}}
    out = enforce.prepare(results, {"taskmanager": {"process_size": "2g"}}, ["tm1", "tm2", "bad"])
    assert set(out) == {"groups", "hosts", "compliant", "run_on", "shared", "warnings", "lines"}
    assert out["groups"]["taskmanager"] == {"set": {"taskmanager.memory.process.size": "2g"}, "remove": [],
                                            "hosts": ["tm1", "tm2"]}
    assert out["hosts"] == {"tm1": {"groups": ["taskmanager"], "holds": True},
                            "tm2": {"groups": ["taskmanager"], "holds": False}}
    assert out["compliant"] == ["tm1"] and out["run_on"] == ["tm2", "bad"]
    assert out["lines"] == ['Plan for taskmanager (2 hosts): set {"taskmanager.memory.process.size": "2g"}; remove []']


def test_prepare_runs_the_role_on_one_host_when_every_host_holds_it():
    results = {"tm1": gathered({"taskmanager.memory.process.size": "2g"})}
    out = enforce.prepare(results, {"taskmanager": {"process_size": "2g"}}, ["tm1"])
    assert out["compliant"] == ["tm1"] and out["run_on"] == ["tm1"]


@pytest.mark.parametrize("policy, words", [
    ({"taskmanager": {"process_size": "lots"}}, "enforce_policy.taskmanager.process_size: 'lots' is not a memory size"),
    ({"taskmanagr": {}}, "unknown enforce_policy key(s) taskmanagr"),
    ({"taskmanager": {"slotz": 2}}, "unknown enforce_policy.taskmanager key(s) slotz"),
    ("4g", "enforce_policy must be a mapping"),
])
def test_policy_errors_name_the_variable_enforce_policy(policy, words):
    results = {"tm1": gathered({"taskmanager.memory.process.size": "2g"})}
    with pytest.raises(enforce.EnforceError) as err:
        enforce.prepare(results, policy, ["tm1"])
    assert words in str(err.value)
    assert " policy." not in f" {err.value}" and not str(err.value).startswith("policy")


def test_policy_message_keeps_other_words():
    assert enforce.policy_message("policy.headroom must be a memory size; a policy that fits") == \
        "enforce_policy.headroom must be a memory size; a policy that fits"


def test_assignment_of_a_big_fleet_in_random_order_is_stable():
    hosts = [f"tm{i}" for i in range(300)]
    rng = random.Random(7)
    groups = {"flink_taskmanager": hosts, "rack1": rng.sample(hosts, 100)}
    first = enforce.assign(hosts, groups, settings={"taskmanager": {"parallelism.default": 2},
                                                    "rack1": {"taskmanager.numberOfTaskSlots": 4}})
    again = enforce.assign(list(reversed(hosts)), groups, settings={"taskmanager": {"parallelism.default": 2},
                                                                    "rack1": {"taskmanager.numberOfTaskSlots": 4}})
    assert first["hosts"] == again["hosts"]
    assert sum(1 for d in first["hosts"].values() if "taskmanager.numberOfTaskSlots" in d["set"]) == 100
