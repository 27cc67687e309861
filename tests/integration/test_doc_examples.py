"""Every EXAMPLES block (plugins/filter/*.yml, plugins/modules/*.py) and the README's snippets, run by the
real ansible-playbook against real files (issue 15.17).

The fleet: a JobManager (1.20.5, flink-conf.yaml), two TaskManagers with the same memory (1.20.5), one on
2.3.0 (config.yaml) and one whose config Flink refuses (a 300m TaskManager), on local connections, each
with its own flink_home. An example is pasted as it is documented, with these substitutions only (the
documented paths do not exist here): /opt/flink -> the host's flink_home, /etc/flink -> the conf dir of
the Flink 2.3 host (the examples that name it read it as Flink 2.3), /var/tmp/flink-audit -> a temporary
directory. Each example gets a fresh copy of the fleet (some write), and a jsonfile fact cache; an example
that builds on another's variables (aggregate_plan on cached_gather on gather_record) runs after it.
Before an example's tasks, a prelude gathers every host (from its flink_conf_dir when the inventory gives
one) into the variable names the examples use (flink, gathered, audit_gather, enforce_gather) and, on the
controller, the results mapping (results, gathers) and an enforce_policy.

An example passes when the play ends without an error, or fails only in an ansible.builtin.assert whose
message is a string (an example that stops on purpose, such as "fail on lint errors" on the refused
TaskManager); a templating error, an undefined variable or a crash fails the test.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))

FLEET = {
    # host: (version, file name, content, groups)
    "jm": ("1.20.5", "flink-conf.yaml", "jobmanager.memory.process.size: 1600m\n", ["flink_jobmanager"]),
    "tm1": ("1.20.5", "flink-conf.yaml", "taskmanager.memory.process.size: 1728m\ntaskmanager.numberOfTaskSlots: 2\n",
            ["flink_taskmanager", "rack1"]),
    "tm2": ("1.20.5", "flink-conf.yaml", "taskmanager.memory.process.size: 1728m\ntaskmanager.numberOfTaskSlots: 2\n",
            ["flink_taskmanager", "rack1"]),
    "tm3": ("2.3.0", "config.yaml",
            "taskmanager:\n  memory:\n    process:\n      size: 1728m\n  numberOfTaskSlots: 2\n",
            ["flink_taskmanager", "rack2"]),
    # Flink refuses a 300m TaskManager (less than metaspace + overhead + framework)
    "tmbad": ("1.20.5", "flink-conf.yaml", "taskmanager.memory.process.size: 300m\ntaskmanager.numberOfTaskSlots: 2\n",
              ["flink_taskmanager", "rack2"]),
}

PRELUDE = """
- name: Gather every host (the examples' variable names)
  hosts: all
  gather_facts: false
  tasks:
    - name: Gather
      flinkops.flink.flink_config_info:
        flink_home: "{{ flink_home }}"
        conf_dir: "{{ flink_conf_dir | default(omit) }}"
      register: flink
      ignore_errors: true
    - name: The same result under the other names the examples use
      ansible.builtin.set_fact:
        gathered: "{{ flink }}"
        audit_gather: "{{ flink }}"
        enforce_gather: "{{ flink }}"
        flink_gather: "{{ flink }}"
"""

VARS = {
    "enforce_policy": {"taskmanager": {"process_size": "2g"}},
}
# doc -> the docs whose examples run first, in the same playbook (their variables are its input)
BUILDS_ON = {"cached_gather.yml": ["gather_record.yml"],
             "aggregate_plan.yml": ["gather_record.yml", "cached_gather.yml"]}


def examples_of(path: Path) -> str:
    if path.suffix == ".yml":
        return yaml.safe_load(path.read_text())["EXAMPLES"]
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "EXAMPLES":
            return node.value.value
    raise AssertionError(f"{path}: no EXAMPLES")


def readme_snippets() -> list:
    """(name, text) of every yaml block of README.md."""
    text = (ROOT / "README.md").read_text()
    return [(f"README.md yaml block {i + 1}", block)
            for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", text, re.S))]


def substituted(text: str, base: Path) -> str:
    text = re.sub(r": /opt/flink$", ': "{{ flink_home }}"', text, flags=re.M)
    text = re.sub(r": /etc/flink$", f": {base / 'tm3' / 'flink' / 'conf'}", text, flags=re.M)
    return text.replace("/var/tmp/flink-audit", str(base / "cached-audit"))


DOCS = sorted((ROOT / "plugins" / "filter").glob("*.yml")) + sorted(
    p for p in (ROOT / "plugins" / "modules").glob("*.py") if p.name != "__init__.py")
# Examples that need what no file holds: a running JobManager's REST API (flink_cluster_info, the rollout and
# savepoint decisions over its answer), a running job to stop with a savepoint and resubmit (flink_job), a
# JobManager registered in ZooKeeper (flink_zookeeper_info). tests/integration/test_doc_examples_live.py runs
# them against a real Flink 2.3.0 HA JobManager, TaskManager and ZooKeeper on loopback, with this module's
# prelude and checker. Every other doc runs here: none is left out.
NEEDS_A_CLUSTER = {"flink_cluster_info.py", "flink_job.py", "flink_zookeeper_info.py", "rollout_decision.yml",
                   "savepoint_decision.yml"}


@pytest.fixture()
def fleet():
    base = Path(tempfile.mkdtemp(prefix="flinkops-docs-"))
    children: dict = {}
    for host, (version, name, content, groups) in FLEET.items():
        home = base / host / "flink"
        (home / "lib").mkdir(parents=True)
        (home / "conf").mkdir()
        (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
        (home / "conf" / name).write_text(content)
        for group in groups:
            children.setdefault(group, {"hosts": {}})["hosts"][host] = {"flink_home": str(home)}
    inventory = {"all": {"vars": {"ansible_connection": "local"}, "children": children}}
    (base / "inventory.yml").write_text(yaml.safe_dump(inventory))
    yield base
    shutil.rmtree(base)


def example_command(base: Path, env: dict, name: str, tasks_text: str) -> tuple[list, dict]:
    """The ansible-playbook command that runs ``tasks_text`` after the prelude, and its cwd and env (what
    run_example runs; the live test starts it itself when it must act while the example runs)."""
    tasks = yaml.safe_load(tasks_text)
    if isinstance(tasks, dict) and "hosts" not in tasks:
        tasks = [tasks]
    if tasks and "hosts" in tasks[0]:  # a whole play (the README's)
        plays = tasks
        for play in plays:
            play.setdefault("vars", {}).update(VARS)
    else:
        plays = [{"name": name, "hosts": "all", "gather_facts": False, "vars": {
            **VARS,
            "results": "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, "
                       "'flink'))) }}",
            "gathers": "{{ results }}",
        }, "tasks": tasks}]
    playbook = base / f"play-{re.sub(r'[^a-z0-9]+', '-', name.lower())}.yml"
    playbook.write_text(PRELUDE + yaml.safe_dump(plays, sort_keys=False))
    return [ANSIBLE_PLAYBOOK, "-i", str(base / "inventory.yml"), str(playbook)], {
        "cwd": str(base), "env": dict(env, ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp"),
                                      ANSIBLE_CACHE_PLUGIN="ansible.builtin.jsonfile",
                                      ANSIBLE_CACHE_PLUGIN_CONNECTION=str(base / "facts"))}


def run_example(base: Path, env: dict, name: str, tasks_text: str):
    cmd, how = example_command(base, env, name, tasks_text)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False, **how)


_FATAL = re.compile(r"^fatal: \[([^\]]+)\]: (?:FAILED|UNREACHABLE)! => (\{.*\})$")


def problems(proc) -> list:
    """What went wrong besides an assert with a string message; empty when the example ran.

    Reads the default callback's output: each ``fatal: [host]: FAILED! => {json}`` line, unless the next
    line says ``...ignoring``, is a problem unless it is an assert's (``evaluated_to`` in its result)
    whose message is a string."""
    if "Traceback" in proc.stderr or "Traceback" in proc.stdout:
        return [(proc.stderr or proc.stdout)[-2000:]]
    found = []
    lines = proc.stdout.splitlines()
    for i, line in enumerate(lines):
        match = _FATAL.match(line)
        if not match:
            continue
        if i + 1 < len(lines) and lines[i + 1].strip() == "...ignoring":
            continue
        try:
            result = json.loads(match.group(2))
        except ValueError:
            result = {"msg": match.group(2)}
        if "evaluated_to" in result and isinstance(result.get("msg"), str):
            continue
        found.append(f"{match.group(1)}: {result.get('msg')!r}"[:1500])
    if proc.returncode not in (0, 2) and not found:
        found.append(f"rc {proc.returncode}: {proc.stdout[-1500:]} {proc.stderr[-1500:]}")
    return found


def test_every_doc_with_examples_runs_here_or_live():
    """No EXAMPLES block is exempt: each doc runs below or in the live test (NEEDS_A_CLUSTER names only docs
    that exist)."""
    names = {d.name for d in DOCS}
    assert names >= NEEDS_A_CLUSTER
    assert all(examples_of(d).strip() for d in DOCS)


@pytest.mark.parametrize("doc", [d for d in DOCS if d.name not in NEEDS_A_CLUSTER], ids=lambda d: d.name)
def test_every_examples_block_runs(fleet, ansible_env, doc):
    before = "".join(examples_of(doc.with_name(name)) for name in BUILDS_ON.get(doc.name, ()))
    text = substituted(before + examples_of(doc), fleet)
    proc = run_example(fleet, ansible_env, doc.stem, text)
    assert problems(proc) == [], proc.stdout[-3000:]


@pytest.mark.parametrize("name, text", readme_snippets(), ids=lambda v: v if isinstance(v, str) and
                         v.startswith("README") else "")
def test_readme_yaml_snippets_run(fleet, ansible_env, name, text):
    proc = run_example(fleet, ansible_env, name, substituted(text, fleet))
    assert problems(proc) == [], proc.stdout[-3000:]


def test_readme_audit_command_runs(fleet, ansible_env):
    """The README's 'Audit a real fleet' command, on this fleet: reports written; the gate fails on the
    refused TaskManager (an error, as audit_fail_on=warning asks)."""
    text = (ROOT / "README.md").read_text()
    command = re.search(r"^ansible-playbook -i inventory flinkops\.flink\.audit .*$", text, re.M).group(0)
    args = command.split()[1:]
    args[args.index("inventory")] = str(fleet / "inventory.yml")
    args = [a.replace("/tmp/flink-audit", str(fleet / "readme-audit")) for a in args]
    proc = subprocess.run([ANSIBLE_PLAYBOOK, *args], capture_output=True, text=True, cwd=str(fleet), timeout=600,
                          check=False, env=dict(ansible_env, ANSIBLE_LOCAL_TEMP=str(fleet / "ansible-tmp")))
    assert (fleet / "readme-audit" / "flink-audit.html").is_file(), proc.stdout[-3000:]
    assert proc.returncode == 2 and "tmbad" in proc.stdout and "Traceback" not in proc.stderr


def test_the_check_can_fail():
    """The checker itself: a crashing example (an undefined variable) is reported, an assert is not."""
    crash = 'fatal: [h]: FAILED! => {"changed": false, "msg": "\'dict object\' has no attribute \'heap\'"}'
    stop = 'fatal: [h]: FAILED! => {"assertion": "x", "changed": false, "evaluated_to": false, "msg": "3 errors"}'
    dict_msg = 'fatal: [h]: FAILED! => {"assertion": "x", "evaluated_to": false, "msg": {"a": 1}}'
    ignored = crash + "\n...ignoring"

    class Proc:
        def __init__(self, out):
            self.stdout, self.stderr, self.returncode = out, "", 2

    assert problems(Proc(crash)) and not problems(Proc(stop)) and problems(Proc(dict_msg))
    assert not problems(Proc(ignored))
