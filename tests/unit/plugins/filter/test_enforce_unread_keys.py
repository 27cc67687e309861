"""Issue 15.4, second half: a key Flink does not read that is already in a file (a misspelled
``jobmanager.memory.off-heap.szie``) is reported by enforce as still there, and the host is not
"compliant". Which keys those are is config_lint's decision (one home): enforce reports lint's findings.

Plain data in, plain data out (the real playbook runs are in tests/integration/test_enforce_unread_keys_run.py).
"""

from __future__ import annotations

import json
import re

from ansible_collections.flinkops.flink.plugins.filter.enforce import FilterModule
from ansible_collections.flinkops.flink.plugins.plugin_utils import enforce
from ansible_collections.flinkops.flink.plugins.plugin_utils.lint import config_lint

TYPO = "jobmanager.memory.off-heap.szie"
JM_CONFIG = {"jobmanager.memory.process.size": "1600m", TYPO: "128m"}
TM_CONFIG = {"taskmanager.memory.process.size": "2g", "taskmanager.numberOfTaskSlots": "2"}


def result(config, version="1.20.5", changes=(), path="/f/conf/flink-conf.yaml"):
    """A flink_config result as its action returns it (config: the file after the task)."""
    return {"changed": bool(changes), "restart_required": bool(changes), "changes": list(changes),
            "config_file": path, "config_format": "legacy", "flink_version": version, "config": dict(config)}


def run(results, hosts=None, **kw):
    hosts = list(results) if hosts is None else hosts
    return enforce.outcome(results, hosts, hosts, hosts, confirmed=True, **kw)


def test_a_misspelled_key_in_the_file_is_still_there_and_not_compliant():
    out = run({"jm": result(JM_CONFIG), "tm1": result(TM_CONFIG)})
    statuses = {f["host"]: f["status"] for f in out["facts"]}
    assert statuses == {"jm": "not compliant", "tm1": "compliant"}
    summary = out["summary"]
    assert summary["compliant"] == ["tm1"] and summary["not_compliant"] == ["jm"]
    assert [k["key"] for k in summary["unknown_keys"]["jm"]] == [TYPO] and "tm1" not in summary["unknown_keys"]
    assert out["restart_hosts"] == []
    line = next(ln for ln in out["lines"] if ln.startswith("jm:"))
    assert line.startswith("jm: not compliant /f/conf/flink-conf.yaml; still in the file, nothing written for it")
    assert "Did you mean 'jobmanager.memory.off-heap.size'" in line and "enforce_remove" in line
    last = out["lines"][-1]
    assert last.startswith("Written: 0 changed, 0 would change, 1 compliant, 1 not compliant, 0 failed.")
    assert f"keys Flink does not read are still in the files (jm: {TYPO}); nothing was written for them" in last


def test_what_is_reported_is_config_lints_finding():
    """Not a second rule: the reason and the did-you-mean are config_lint's, for that host's line."""
    lint = [f for f in config_lint(JM_CONFIG, "1.20.5", processes=[]) if f["key"] == TYPO]
    found = enforce.unread_keys(result(JM_CONFIG))
    assert lint and found == [{k: lint[0][k] for k in ("key", "line", "code", "message", "fix")}]
    assert found[0]["code"] == "unknown-key" and "Flink 1.20 has no option" in found[0]["message"]


def test_the_summary_gives_the_enforce_remove_run_that_removes_them_per_host():
    """A key only later lines read (execution.checkpointing.dir: 1.20 on) is not read by a 1.19 host but
    right on a 2.3 host: the removal is limited to the hosts that hold it as an unread key."""
    late = "execution.checkpointing.dir"
    out = run({"old": result({**TM_CONFIG, late: "file:///c"}, version="1.19.1"),
               "new": result({**TM_CONFIG, late: "file:///c"}, version="2.3.0", path="/n/conf/config.yaml"),
               "jm": result(JM_CONFIG)})
    summary = out["summary"]
    assert summary["not_compliant"] == ["old", "jm"] and summary["compliant"] == ["new"]
    runs = re.findall(r"flinkops\.flink\.enforce --limit (\S+) -e '([^']+)' -e enforce_confirm=true", out["lines"][-1])
    assert [(hosts, json.loads(extra)) for hosts, extra in runs] == [
        ("old", {"enforce_remove": {"all": [late]}}), ("jm", {"enforce_remove": {"all": [TYPO]}})]


def test_hosts_not_contacted_are_checked_from_their_gather_with_the_line():
    gathered = {"tm2": {"config": {**TM_CONFIG, "taskmanager.memory.managed.fration": "0.2"},
                        "flink_version": "2.3.0", "config_lines": {"taskmanager.memory.managed.fration": 4},
                        "config_file": "/t/conf/config.yaml"},
                "tm3": {"config": TM_CONFIG, "flink_version": "2.3.0"}}
    out = enforce.outcome({}, [], [], [], compliant=["tm2", "tm3"], confirmed=True, gathered=gathered)
    assert {f["host"]: f["status"] for f in out["facts"]} == {"tm2": "not compliant", "tm3": "compliant"}
    assert out["summary"]["unknown_keys"]["tm2"][0]["line"] == 4
    assert out["lines"][0].startswith("tm2: not compliant (its gather shows every planned key in place; not "
                                      "contacted); still in the file")
    assert "taskmanager.memory.managed.fration (line 4)" in out["lines"][0]
    assert "did you mean 'taskmanager.memory.managed.fraction'" in out["lines"][0].lower()
    assert out["lines"][1] == "tm3: compliant (its gather shows every key in place; not contacted)"


def test_a_changed_host_stays_changed_and_still_names_the_key():
    changes = [{"action": "update", "key": "jobmanager.memory.process.size", "before": "1g", "after": "1600m"}]
    out = run({"jm": result(JM_CONFIG, changes=changes)})
    assert out["facts"][0]["status"] == "changed" and out["restart_hosts"] == ["jm"]
    assert out["summary"]["unknown_keys"]["jm"][0]["key"] == TYPO and out["summary"]["not_compliant"] == []
    assert TYPO in out["lines"][0] and TYPO in out["lines"][-1]


def test_keys_the_user_allows_and_a_removed_key_are_not_reported():
    assert run({"jm": result(JM_CONFIG)}, allow_unknown_keys=["jobmanager.memory.off-heap.*"])["summary"][
        "compliant"] == ["jm"]
    # the run removed it: the file after the task no longer has it
    removed = [{"action": "remove", "key": TYPO, "before": "128m", "after": None}]
    out = run({"jm": result({"jobmanager.memory.process.size": "1600m"}, changes=removed)})
    assert out["summary"]["unknown_keys"] == {} and "still in the file" not in " ".join(out["lines"])
    assert "Not compliant" not in out["lines"][-1]


def test_the_filter_reads_the_gather_of_hosts_flink_config_did_not_read():
    hostvars = {"jm": {"enforce_result": {"skipped": True, "changed": False},
                       "enforce_gather": {"config": JM_CONFIG, "flink_version": "1.20.5"}},
                "tm9": {"enforce_gather": {"config": {**TM_CONFIG, "taskmanager.memory.managed.fration": "0.2"},
                                           "flink_version": "1.20.5"}}}
    out = FilterModule().filters()["enforce_outcome"](hostvars, ["jm"], ["jm"], ["jm"], compliant=["tm9"],
                                                      gather_var="enforce_gather")
    assert sorted(out["summary"]["unknown_keys"]) == ["jm", "tm9"]
    assert out["summary"]["not_compliant"] == ["tm9"] and out["summary"]["not_planned"] == ["jm"]
    # without the gather variable nothing is read for them
    out = FilterModule().filters()["enforce_outcome"](hostvars, ["jm"], ["jm"], ["jm"], compliant=["tm9"])
    assert out["summary"]["unknown_keys"] == {} and out["summary"]["compliant"] == ["tm9"]


def test_a_result_taken_from_the_gather_is_checked_on_the_gather_for_its_lines():
    """flink_config's result for a host whose gather already holds everything (read_from gather) has no
    line numbers; the gather it was taken from has them."""
    taken = dict(result(JM_CONFIG), read_from="gather")
    gathered = {"jm": {"config": JM_CONFIG, "flink_version": "1.20.5", "config_lines": {TYPO: 2}}}
    out = run({"jm": taken}, gathered=gathered)
    assert out["summary"]["unknown_keys"]["jm"][0]["line"] == 2 and f"{TYPO} (line 2)" in out["lines"][0]
    # read from the host this run: the file after the task counts, not an older gather
    out = run({"jm": dict(result({"jobmanager.memory.process.size": "1600m"}), read_from="host")}, gathered=gathered)
    assert out["summary"]["compliant"] == ["jm"] and out["summary"]["unknown_keys"] == {}
