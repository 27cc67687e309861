"""The enforce playbook and role with the real ansible-playbook over local hosts.

A JobManager and two TaskManagers on different Flink lines and formats (the files Flink ships, with
drift added), and a host whose config.yaml Flink refuses (so the plan skips it). A last play dumps
what the role published (per-host facts, and the restart list on localhost) to a JSON file.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "oracle"))
import flink_home  # noqa: E402 -- sibling test helper (fetches the shipped conf files)

from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf  # noqa: E402
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml  # noqa: E402

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
POLICY = {"taskmanager": {"process_size": "2g", "slots": 2, "managed_fraction": "0.4"},
          "jobmanager": {"process_size": "1600m"}}

DUMP = """
- name: Dump what the role published, per host and on localhost
  hosts: all
  gather_facts: false
  tasks:
    - name: Per host
      check_mode: false  # --check runs too
      ansible.builtin.copy:
        dest: "{{ dump_dir }}/{{ inventory_hostname }}.json"
        mode: "0644"
        content: >-
          {{ {'flink_restart_required': flink_restart_required | default(None),
              'flink_enforce_status': flink_enforce_status | default(None),
              'flink_enforce_changes': flink_enforce_changes | default(None),
              'read_from': enforce_result.read_from | default(None)} | to_json }}
      delegate_to: localhost
    - name: On localhost
      check_mode: false
      ansible.builtin.copy:
        dest: "{{ dump_dir }}/localhost.json"
        mode: "0644"
        content: >-
          {{ {'restart_hosts': hostvars['localhost'].flink_restart_hosts | default(None),
              'summary': hostvars['localhost'].flink_enforce_summary | default(None)} | to_json }}
      delegate_to: localhost
      run_once: true
"""
PLAY = "- name: Enforce\n  ansible.builtin.import_playbook: flinkops.flink.enforce\n" + DUMP


@pytest.fixture(scope="module")
def fleet():
    base = Path(tempfile.mkdtemp(prefix="flinkops-enforce-"))
    shipped17 = flink_home.shipped_config("1.17.2")[1]
    shipped23 = flink_home.shipped_config("2.3.0")[1]
    files = {
        "jm": ("1.20.5", {"flink-conf.yaml": b"# JM\njobmanager.memory.process.size: 1600m\n"
                                             b"jobmanager.memory.managed.fraction: 0.2\n"}),
        "tm1": ("1.17.2", {"flink-conf.yaml": shipped17 + b"taskmanager.memory.managed.fraction: 0.1\n"}),
        "tm2": ("2.3.0", {"config.yaml": shipped23}),
        "broken": ("2.3.0", {"config.yaml": b"taskmanager:\n  memory: [1,\n"}),
    }
    hosts = {}
    for name, (version, conf) in files.items():
        home = base / name / "flink"
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
        for fname, data in conf.items():
            (home / "conf" / fname).write_bytes(data)
        hosts[name] = {"flink_home": str(home)}
    inventory = {"all": {"vars": {"ansible_connection": "local"}, "children": {
        "flink_jobmanager": {"hosts": {"jm": hosts["jm"]}},
        "flink_taskmanager": {"hosts": {h: hosts[h] for h in ("tm1", "tm2", "broken")}},
        "tm_extra": {"hosts": {"tm2": None}},
    }}}
    (base / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (base / "play.yml").write_text(PLAY)
    yield base, hosts
    shutil.rmtree(base)


def run(base: Path, env: dict, name: str, extra: dict, *args: str, play: str = "play.yml"):
    dump = base / f"dump-{name}"
    dump.mkdir()
    extra = dict(extra, dump_dir=str(dump))
    proc = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), str(base / play),
                           "-e", json.dumps(extra), *args], capture_output=True, text=True,
                          env=dict(env, ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp")), timeout=600, check=False)
    published = None
    if (dump / "localhost.json").exists():
        published = json.loads((dump / "localhost.json").read_text())
        published["hosts"] = {p.stem: json.loads(p.read_text()) for p in dump.glob("*.json") if p.stem != "localhost"}
    return proc, published


def files_of(base: Path) -> dict:
    return {p: p.read_bytes() for p in base.rglob("*.yaml") if "conf" in p.parts}


def config_of(hosts: dict, host: str) -> dict:
    conf = Path(hosts[host]["flink_home"]) / "conf"
    if (conf / "flink-conf.yaml").exists():
        return parse_flink_conf((conf / "flink-conf.yaml").read_bytes(), "x").config
    return parse_config_yaml((conf / "config.yaml").read_bytes(), "x").config


@pytest.fixture(scope="module")
def unconfirmed(fleet, ansible_env):
    base = fleet[0]
    before = files_of(base)
    proc, published = run(base, ansible_env, "unconfirmed", {"enforce_policy": POLICY})
    return proc, published, before, files_of(base)


def test_without_confirmation_only_a_diff_is_shown(unconfirmed):
    proc, published, before, after = unconfirmed
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert before == after
    assert "+taskmanager.memory.process.size: 2g" in proc.stdout  # the diff of the 1.17 file
    assert "-jobmanager.memory.managed.fraction: 0.2" in proc.stdout
    assert "Check mode (enforce_confirm is false), nothing written" in proc.stdout
    assert published["restart_hosts"] == []
    assert sorted(published["summary"]["would_change"]) == ["jm", "tm1", "tm2"]
    assert published["hosts"]["broken"]["flink_enforce_status"] == "not planned"
    assert "broken: not planned (the plan does not cover this host)" in proc.stdout


@pytest.fixture(scope="module")
def confirmed(fleet, ansible_env, unconfirmed):
    base = fleet[0]
    return run(base, ansible_env, "confirmed", {"enforce_policy": POLICY, "enforce_confirm": True})


def test_confirmed_run_applies_the_plan_uniformly_and_publishes_restarts(fleet, confirmed):
    hosts = fleet[1]
    proc, published = confirmed
    assert proc.returncode == 0, proc.stdout[-3000:]
    for tm in ("tm1", "tm2"):
        config = config_of(hosts, tm)
        assert config["taskmanager.memory.process.size"] == "2g", tm
        assert config["taskmanager.numberOfTaskSlots"] == "2", tm
        assert config["taskmanager.memory.managed.fraction"] == "0.4", tm
    jm = config_of(hosts, "jm")
    assert "jobmanager.memory.managed.fraction" not in jm and jm["jobmanager.memory.process.size"] == "1600m"
    assert sorted(published["restart_hosts"]) == ["jm", "tm1", "tm2"]
    for host in ("jm", "tm1", "tm2"):
        facts = published["hosts"][host]
        assert facts["flink_restart_required"] is True and facts["flink_enforce_status"] == "changed", host
        assert facts["flink_enforce_changes"], host
    assert published["hosts"]["broken"]["flink_restart_required"] is False
    # a host with something to change is read again by flink_config, whatever the gather showed
    assert {published["hosts"][h]["read_from"] for h in ("jm", "tm1", "tm2")} == {"host"}
    assert "tm1: changed" in proc.stdout and "update taskmanager.memory.managed.fraction 0.1 -> 0.4" in proc.stdout
    assert "Restart needed on: jm, tm1, tm2" in proc.stdout


def test_second_confirmed_run_changes_nothing(fleet, ansible_env, confirmed):
    base = fleet[0]
    before = files_of(base)
    proc, published = run(base, ansible_env, "again", {"enforce_policy": POLICY, "enforce_confirm": True})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert files_of(base) == before
    assert published["restart_hosts"] == [] and sorted(published["summary"]["compliant"]) == ["jm", "tm1", "tm2"]
    # The gather showed jm, tm1 and tm2 holding the plan: the role ran on the one host that failed its
    # gather (reported, not planned) and on none of them; they are reported compliant all the same.
    task = proc.stdout.split("Set and remove the keys in the file Flink reads", 1)[1].split("TASK [", 1)[0]
    assert task.strip() == "] ***\nskipping: [broken]", task
    # the playbook imports the role without Ansible's per-host argument check; the role checks once
    assert "Validating arguments against arg spec" not in proc.stdout
    once = proc.stdout.split("Check the role's arguments once for the play", 1)[1].split("TASK [", 1)[0]
    assert re.findall(r"^ok: \[(\w+)\]", once, re.M) == ["broken"], once
    for host in ("jm", "tm1", "tm2"):
        facts = published["hosts"][host]
        assert facts["flink_enforce_status"] == "compliant" and facts["flink_restart_required"] is False, host
        assert facts["flink_enforce_changes"] == [] and facts["read_from"] is None, host
        assert f"{host}: compliant (its gather shows every key in place; not contacted)" in proc.stdout
    assert "Written: 0 changed, 0 would change, 3 compliant, 0 failed. Restart needed on: none." in proc.stdout


def test_the_playbook_checks_the_role_arguments_once(fleet, ansible_env, confirmed):
    base = fleet[0]
    before = files_of(base)
    proc, _published = run(base, ansible_env, "bad-arg", {"enforce_policy": POLICY, "enforce_confirm": "maybe"})
    assert proc.returncode != 0 and files_of(base) == before
    failed = re.findall(r"^fatal: \[(\w+)\]: FAILED! => .*enforce_confirm", proc.stdout, re.M)
    assert len(failed) == 1, proc.stdout[-3000:]  # once, not once per host
    assert "Set and remove the keys" not in proc.stdout
    # the reason, not the role's whole argument spec
    assert "argument_spec_data" not in proc.stdout and "enforce_gather_var" not in proc.stdout
    assert "Nothing written: argument 'enforce_confirm' is of type" in proc.stdout


def test_when_every_host_holds_the_plan_one_host_still_reports_for_the_fleet(fleet, ansible_env, confirmed):
    base = fleet[0]
    before = files_of(base)
    proc, published = run(base, ansible_env, "all-held", {"enforce_policy": POLICY, "enforce_confirm": True,
                                                           "enforce_hosts": "jm:tm1:tm2"})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert files_of(base) == before
    task = proc.stdout.split("Set and remove the keys in the file Flink reads", 1)[1].split("TASK [", 1)[0]
    assert re.findall(r"^(?:ok|changed|skipping): \[(\w+)\]", task, re.M) == ["jm"], task
    assert published["hosts"]["jm"]["read_from"] == "gather"  # and flink_config did not read it again
    assert sorted(published["summary"]["compliant"]) == ["jm", "tm1", "tm2"] and published["restart_hosts"] == []
    assert "Written: 0 changed, 0 would change, 3 compliant, 0 failed. Restart needed on: none." in proc.stdout


def test_a_clash_fails_the_run_once_before_anything_is_written(fleet, ansible_env, confirmed):
    base, hosts = fleet
    extra = {
        "enforce_confirm": True,
        "enforce_settings": {
            "all": {"parallelism.default": 3},
            "taskmanager": {"taskmanager.memory.jvm-metaspace.size": "384m"},
            "tm_extra": {"parallelism.default": 5, "taskmanager.memory.jvm-metaspace.size": "512m"},  # tm2 too
        },
    }
    before = files_of(base)
    proc, published = run(base, ansible_env, "clash", extra)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert files_of(base) == before  # not even the hosts without a clash
    assert "Set and remove the keys in the file Flink reads" not in proc.stdout
    out = " ".join(proc.stdout.split())
    assert "Nothing written: give each key one value per host. tm2: the groups all, taskmanager, tm_extra give " \
           "different values for parallelism.default, taskmanager.memory.jvm-metaspace.size." in out, out[-3000:]
    assert proc.stdout.count("fatal: [") == 1  # failed once, for the play, not per host
    for host in ("jm", "tm1", "broken"):
        assert f"{host}: the groups" not in out
    recap = dict(re.findall(r"^(\w+)\s+: ok=\d+\s+changed=(\d+)", proc.stdout, flags=re.M))
    assert set(recap.values()) == {"0"}, recap
    assert published is None  # the run stopped there


def test_explicit_settings_per_group_and_a_refused_plan(fleet, ansible_env, confirmed):
    base, hosts = fleet
    extra = {
        "enforce_confirm": True,
        "enforce_settings": {
            "all": {"parallelism.default": 3},
            "taskmanager": {"taskmanager.memory.jvm-metaspace.size": "384m"},
            "tm_extra": {"parallelism.default": 3},  # tm2 is also in tm_extra: the same value, no clash
            "jobmanager": {"jobmanager.memory.process.size": "300m"},  # Flink refuses it
        },
        "enforce_remove": {"taskmanager": ["taskmanager.memory.managed.fraction"]},
    }
    jm_before = config_of(hosts, "jm")
    proc, published = run(base, ansible_env, "settings", extra)
    assert proc.returncode == 2, proc.stdout[-5000:]  # some hosts failed
    assert "TASK [Gather" not in proc.stdout  # explicit settings: the audit play ends at once, no task per host
    for tm in ("tm1", "tm2"):
        config = config_of(hosts, tm)
        assert config["parallelism.default"] == "3" and config["taskmanager.memory.jvm-metaspace.size"] == "384m"
        assert "taskmanager.memory.managed.fraction" not in config
    assert config_of(hosts, "jm") == jm_before
    assert "would not start the jobmanager" in proc.stdout
    assert published["restart_hosts"] == ["tm1", "tm2"]
    # broken's file is one Flink refuses: there is nothing safe to edit
    assert sorted(published["summary"]["failed"]) == ["broken", "jm"]
    assert "broken: " in proc.stdout and "config.yaml line" in proc.stdout
    # the hosts written have their facts and one report line each
    for tm in ("tm1", "tm2"):
        assert published["hosts"][tm]["flink_enforce_status"] == "changed"
        assert published["hosts"][tm]["flink_restart_required"] is True
        assert re.search(rf'"{tm}: changed \S+/{tm}/flink/conf/\S+: .*remove taskmanager.memory.managed.fraction',
                         proc.stdout)
    out = " ".join(proc.stdout.split())
    assert "Written: 2 changed, 0 would change, 0 compliant, 2 failed." in out
    # the summary names each failed host with its own reason
    failed = re.search(r"2 failed\. Failed: (.*?)\. Restart needed on: tm1, tm2\.", out)
    assert failed, out[-3000:]
    jm, broken = failed.group(1).split("; broken (")
    assert jm.startswith("jm (") and "would not start the jobmanager" in jm
    assert "config.yaml line" in broken
    assert published["summary"]["failures"]["jm"].startswith(str(Path(hosts["jm"]["flink_home"])))


ROLE_PLAY = """
- name: The role alone
  hosts: flink_jobmanager:flink_taskmanager
  gather_facts: false
  roles:
    - role: flinkops.flink.enforce
      vars:
        enforce_settings: ENFORCE_SETTINGS
""" + DUMP


def role_run(base: Path, env: dict, name: str, settings: dict, extra: dict | None = None):
    (base / f"role-{name}.yml").write_text(ROLE_PLAY.replace("ENFORCE_SETTINGS", json.dumps(settings)))
    return run(base, env, name, extra or {}, play=f"role-{name}.yml")


def role_tasks_per_host(stdout: str) -> dict:
    """How many of the role's tasks ran (ok, changed, skipped or failed) on each host."""
    counts = {}
    for section in stdout.split("TASK [")[1:]:
        if not section.startswith("flinkops.flink.enforce : "):
            continue
        for host in set(re.findall(r"^(?:ok|changed|skipping|fatal): \[(\w+)", section, flags=re.M)):
            counts[host] = counts.get(host, 0) + 1
    return counts


def test_two_tasks_per_host_the_rest_once_for_the_play(fleet, ansible_env, confirmed):
    base = fleet[0]
    before = files_of(base)
    proc, published = role_run(base, ansible_env, "pertask", {"taskmanager": {"parallelism.default": 4}})
    assert proc.returncode == 2, proc.stdout[-3000:]  # broken: Flink refuses its file
    assert files_of(base) == before  # no enforce_confirm: diff only
    counts = role_tasks_per_host(proc.stdout)
    first = "jm"  # the run_once host
    assert {h: n for h, n in counts.items() if h != first} == {"tm1": 2, "tm2": 2, "broken": 2}, counts
    # ... and yet every host that did not fail has its facts, one report line and a place in the summary
    assert published["hosts"]["jm"]["flink_enforce_status"] == "not planned"
    assert published["hosts"]["jm"]["flink_restart_required"] is False
    assert published["hosts"]["tm1"]["flink_enforce_status"] == "would change"
    assert published["hosts"]["tm1"]["flink_enforce_changes"][0]["key"] == "parallelism.default"
    assert published["hosts"]["tm2"]["flink_enforce_status"] == "would change"
    assert published["summary"]["would_change"] == ["tm1", "tm2"] and published["summary"]["failed"] == ["broken"]
    assert '"jm: not planned (nothing to set)"' in proc.stdout
    assert re.search(r'"tm1: would change \S+/flink-conf.yaml: update parallelism.default 3 -> 4"', proc.stdout)
    out = " ".join(proc.stdout.split())
    summary = re.search(r"Check mode \(enforce_confirm is false\), nothing written: 0 changed, 2 would change, "
                        r"0 compliant, 1 failed\. Failed: broken \((.*?)\)\. Would change: tm1, tm2\. "
                        r"Restart needed on: none\.", out)
    assert summary, out[-3000:]
    assert "config.yaml line" in summary.group(1)  # the failed host's own reason, named in the summary


def test_settings_templated_per_host_are_decided_on_each_host(fleet, ansible_env, confirmed):
    """Values that depend on the host: each host gets its own, and a clash only one host sees fails that host."""
    base = fleet[0]
    before = files_of(base)
    settings = {"all": {"parallelism.default": "{{ 7 if inventory_hostname == 'tm1' else 4 }}"},
                "taskmanager": {"parallelism.default": 4}}
    proc, published = role_run(base, ansible_env, "perhost", settings)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert files_of(base) == before
    assert "tm1: the groups all, taskmanager give different values for parallelism.default" in proc.stdout
    assert sorted(published["summary"]["failed"]) == ["broken", "tm1"]
    assert published["hosts"]["jm"]["flink_enforce_changes"][0]["after"] == "4"
    assert published["hosts"]["tm2"]["flink_enforce_status"] == "would change"


def test_role_needs_one_thing_to_enforce(fleet, ansible_env):
    base = fleet[0]
    proc = run(base, ansible_env, "nothing", {"enforce_plan": {}, "enforce_settings": {}})[0]
    assert proc.returncode != 0
    assert "needs either enforce_plan" in proc.stdout


def test_role_refuses_groups_that_are_not_mappings_without_printing_them(fleet, ansible_env):
    base = fleet[0]
    before = files_of(base)
    for name, extra in {"notmap": {"enforce_settings": {"all": "s3.secret-key: CNRYnotamapping"}},
                        "notlist": {"enforce_remove": {"all": "CNRYnotalist"}}}.items():
        proc = run(base, ansible_env, name, extra)[0]
        assert proc.returncode == 2, proc.stdout[-3000:]
        assert "needs either enforce_plan" in proc.stdout and "to a list of keys" in proc.stdout
        assert "CNRY" not in proc.stdout + proc.stderr
    assert files_of(base) == before


def playbook_run(base, env, name, extra, *args):
    """The enforce playbook with explicit settings; the files before and after."""
    before = files_of(base)
    proc, published = run(base, env, name, extra, *args)
    return proc, published, before, files_of(base)


def fatal_once(proc) -> str:
    """The one refusal of the play (run_once: not once per host), its message on one line."""
    fatals = [f for f in re.findall(r"^fatal: \[\w+\]: FAILED! => (.*)$", proc.stdout, re.M) if "Nothing written" in f]
    assert len(fatals) == 1, proc.stdout[-3000:]
    return json.loads(fatals[0])["msg"]


def test_a_misspelled_group_fails_before_anything_is_written(fleet, ansible_env, confirmed):
    """13.9: a group that is neither an inventory group nor all/jobmanager/taskmanager is refused, by name."""
    extra = {"enforce_confirm": True,
             "enforce_settings": {"all": {"parallelism.default": 6}, "taskmanagr": {"taskmanager.numberOfTaskSlots": 3},
                                  "typo_group": {"parallelism.default": 6}},
             "enforce_remove": {"tm_extr": ["taskmanager.memory.managed.fraction"]}}
    proc, published, before, after = playbook_run(fleet[0], ansible_env, "typo-group", extra)
    assert proc.returncode == 2 and after == before and published is None, proc.stdout[-3000:]
    msg = fatal_once(proc)
    assert msg.startswith("Nothing written: enforce_settings names the group 'taskmanagr', which is neither an "
                          "inventory group nor all, jobmanager or taskmanager; did you mean 'taskmanager'"), msg
    assert "enforce_settings names the group 'typo_group'" in msg
    assert "enforce_remove names the group 'tm_extr'" in msg and "'tm_extra'" in msg
    assert "Set and remove the keys" not in proc.stdout


def test_an_unknown_key_is_refused_unless_allowed(fleet, ansible_env, confirmed):
    """15.4: a key no Flink line knows is refused before anything is written, with a did-you-mean."""
    settings = {"taskmanager": {"taskmanager.memory.managed.fration": "0.3"}, "all": {"parallelism.default": 6}}
    proc, published, before, after = playbook_run(fleet[0], ansible_env, "unknown-key",
                                                  {"enforce_confirm": True, "enforce_settings": settings})
    assert proc.returncode == 2 and after == before and published is None, proc.stdout[-3000:]
    msg = fatal_once(proc)
    assert msg.startswith("Nothing written: enforce_settings.taskmanager on broken, tm1, tm2: "
                          "'taskmanager.memory.managed.fration' is not a key any Flink line (1.14 to 2.3) knows; did "
                          "you mean 'taskmanager.memory.managed.fraction'"), msg
    assert msg.endswith("To write it anyway, list it in enforce_allow_unknown_keys."), msg
    # opted in for that key: written (here diff only), without flink_config's warning about it
    proc, published, before, after = playbook_run(
        fleet[0], ansible_env, "unknown-key-allowed",
        {"enforce_settings": settings, "enforce_allow_unknown_keys": ["taskmanager.memory.managed.fration"]})
    assert proc.returncode == 2 and after == before, proc.stdout[-3000:]  # broken: Flink refuses its file
    assert published["summary"]["would_change"] == ["jm", "tm1", "tm2"]
    assert "+taskmanager.memory.managed.fration: 0.3" in proc.stdout
    assert "did you mean" not in proc.stdout + proc.stderr


GATHER_THEN_ROLE = """
- name: Gather, then enforce with the gather's Flink versions
  hosts: flink_jobmanager:flink_taskmanager
  gather_facts: false
  tasks:
    - name: Gather
      flinkops.flink.flink_config_info:
        flink_home: "{{ flink_home }}"
      register: g
      ignore_errors: true
    - name: Enforce
      ansible.builtin.import_role:
        name: flinkops.flink.enforce
      vars:
        enforce_confirm: true
        enforce_gather_var: g
        enforce_settings: {all: {pekko.ask.timeout: 20 s, parallelism.default: 6}}
""" + DUMP


def test_a_key_the_hosts_line_does_not_read_is_refused_where_the_line_is_known(fleet, ansible_env, confirmed):
    """15.4: pekko.* came with 1.18; the gather shows tm1 runs 1.17, so nothing is written anywhere."""
    base = fleet[0]
    (base / "gather-role.yml").write_text(GATHER_THEN_ROLE)
    before = files_of(base)
    proc, published = run(base, ansible_env, "line-known", {}, play="gather-role.yml")
    assert proc.returncode == 2 and files_of(base) == before and published is None, proc.stdout[-3000:]
    msg = fatal_once(proc)
    assert msg == ("Nothing written: enforce_settings.all on tm1: 'pekko.ask.timeout' is not read by Flink 1.17 "
                   "(only by Flink 1.18, 1.19, 1.20, 2.0, 2.1, 2.2, 2.3). To write it anyway, list it in "
                   "enforce_allow_unknown_keys."), msg


def test_values_and_keys_set_and_removed_are_refused_before_any_host_is_written(fleet, ansible_env, confirmed):
    """15.5: problems flink_config would find on some hosts only are found once, before any host is written."""
    for name, extra in {
        "null-value": {"enforce_settings": {"all": {"parallelism.default": 6}, "jobmanager": {"rest.port": None}}},
        "set-and-removed": {"enforce_settings": {"all": {"parallelism.default": 6}},
                            "enforce_remove": {"taskmanager": ["parallelism.default"]}},
    }.items():
        proc, published, before, after = playbook_run(fleet[0], ansible_env, name, dict(extra, enforce_confirm=True))
        assert proc.returncode == 2 and after == before and published is None, (name, proc.stdout[-3000:])
        msg = fatal_once(proc)
        assert msg.startswith("Nothing written: "), msg
        if name == "null-value":
            assert "enforce_settings.jobmanager: key 'rest.port': the value is nothing (null)" in msg
        else:
            assert "tm1: parallelism.default is both set and removed (groups all, taskmanager)" in msg
            assert "tm2: parallelism.default is both set and removed" in msg and "jm:" not in msg


def test_a_check_run_with_confirmation_says_it_was_a_check(fleet, ansible_env, confirmed):
    """15.15: --check with enforce_confirm=true writes nothing and says so, with what would change."""
    extra = {"enforce_confirm": True, "enforce_settings": {"taskmanager": {"parallelism.default": 9}}}
    proc, published, before, after = playbook_run(fleet[0], ansible_env, "check-run", extra, "--check")
    assert proc.returncode == 2 and after == before, proc.stdout[-3000:]  # broken: Flink refuses its file
    out = " ".join(proc.stdout.split())
    assert "Written" not in out
    assert re.search(r"Check run \(--check\), nothing written: 0 changed, 2 would change, 0 compliant, 1 failed\. "
                     r"Failed: broken \(.*config\.yaml line.*\)\. Would change: tm1, tm2\. Restart needed on: none\.",
                     out), out[-3000:]
    summary = published["summary"]
    assert summary["check_mode"] is True and summary["written"] is False and summary["confirmed"] is True
    assert published["restart_hosts"] == [] and summary["would_change"] == ["tm1", "tm2"]


def test_policy_errors_name_the_variable_enforce_policy(fleet, ansible_env, confirmed):
    """15.15: the user's variable is enforce_policy, not 'policy'."""
    proc, _published, before, after = playbook_run(
        fleet[0], ansible_env, "bad-policy", {"enforce_policy": {"taskmanager": {"process_size": "lots"}}})
    assert proc.returncode == 2 and after == before, proc.stdout[-3000:]
    assert "enforce_policy.taskmanager.process_size: 'lots' is not a memory size" in proc.stdout
    assert " policy.taskmanager" not in proc.stdout
