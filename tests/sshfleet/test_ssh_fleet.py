"""The audit, flink_config and the enforce playbook over a real SSH fleet of 10 hosts.

Every host is a network namespace with its own sshd, its own address on a private subnet and its
own /opt/flink (tests/sshfleet/fleet.py). Ansible connects to them with its ssh connection
plugin, with this run's client key and host keys checked against this run's known_hosts: the same
path as a real fleet, pty and all. One host's sshd is stopped (unreachable), one host's config
directory is mounted read-only inside that host only. The rest must complete, and the report must
name the broken hosts and say why.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

_spec = importlib.util.spec_from_file_location("flinkops_sshfleet", HERE / "fleet.py")
fleetlib = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = fleetlib  # dataclasses look their module up by name
_spec.loader.exec_module(fleetlib)

N = 10
UNREACHABLE = "h004"
READONLY = "h007"
DRIFTED = "h005"
SECRET = "ssh-fleet-secret-never-in-a-report"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the SSH fleet needs root (ip netns, mount namespaces)")


def spec(index: int, count: int) -> fleetlib.HostSpec:
    """The default mixed fleet, plus a drifted managed fraction on h005 and a secret on h002."""
    base = fleetlib.default_spec(index, count)
    name = f"h{index:03d}"
    if name == DRIFTED:
        return fleetlib.HostSpec("2.3.0", {"config.yaml": (
            b"taskmanager:\n  numberOfTaskSlots: 4\n  memory:\n    process:\n      size: 4g\n"
            b"    managed:\n      fraction: 0.6\n")}, base.groups)
    if name == "h002":
        files = {n: data + f"s3.secret-key: {SECRET}\n".encode() for n, data in base.files.items()}
        return fleetlib.HostSpec(base.version, files, base.groups)
    return base


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sshfleet")
    try:
        built = fleetlib.up(N, directory, spec=spec)
    except fleetlib.FleetError as exc:
        pytest.fail(f"could not build the SSH fleet: {exc}")
    try:
        built.stop_sshd(UNREACHABLE)
        built.make_readonly(READONLY)
        yield built
    finally:
        fleetlib.down(directory)


@pytest.fixture(scope="module")
def env(ansible_env):
    # The inventory sets ansible_ssh_host_key_checking itself; the env says the opposite to prove it wins.
    return dict(ansible_env, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_FORKS="10")


def playbook(env, ansible_bin, cwd: Path, inventory: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [str(ansible_bin / "ansible-playbook"), "-i", str(inventory), *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.fixture(scope="module")
def audit(fleet, env, ansible_bin):
    """One audit run with the default gate (audit_fail_on=error): the reports are written, then the play fails."""
    out = fleet.dir / "audit"
    proc = playbook(env, ansible_bin, fleet.dir, fleet.inventory, "flinkops.flink.audit",
                    "-e", f"audit_report_dir={out}")
    report = json.loads((out / "flink-audit.json").read_text())
    return {"proc": proc, "report": report, "dir": out}


def by_name(report) -> dict:
    return {h["name"]: h for h in report["hosts"]}


# -- the fleet is what it claims to be ------------------------------------------------------------------------
def test_each_host_is_its_own_machine(fleet, env, ansible_bin):
    """Own hostname, own address, own /opt/flink: read over SSH from every reachable host."""
    proc = subprocess.run(
        [str(ansible_bin / "ansible"), "all", "-i", str(fleet.inventory), "-m", "ansible.builtin.raw",
         "-a", "echo @@host; hostname; ip -o -4 addr show eth0; ls /opt/flink/lib; cat /opt/flink/conf/*"],
        env=env, capture_output=True, text=True, timeout=120, cwd=fleet.dir)
    assert proc.returncode != 0  # h004 is down
    blocks = dict(re.findall(r"^(h\d{3}) \| (?:CHANGED|SUCCESS) \| rc=0 >>\n(.*?)(?=^h\d{3} \||\Z)",
                             proc.stdout, flags=re.S | re.M))
    assert set(blocks) == {h.name for h in fleet.hosts} - {UNREACHABLE}
    for host in fleet.hosts:
        if host.name == UNREACHABLE:
            continue
        # The login shell's own output (root's profile here runs `pyenv rehash`, which races between
        # hosts sharing /root and complains) comes before the marker: what follows is the command's.
        text = blocks[host.name]
        assert "@@host" in text, text
        text = text.split("@@host", 1)[1]
        assert text.splitlines()[1].strip() == host.name, text
        assert f"inet {host.address}/16" in text
        version = spec(host.index, N).version
        assert f"flink-dist-{version}.jar" in text
        for data in spec(host.index, N).files.values():
            for line in data.decode().splitlines():
                assert line in text, (host.name, line)
    assert re.search(rf"^{UNREACHABLE} \| UNREACHABLE!.*Connection refused", proc.stdout, flags=re.M | re.S)


def test_read_only_only_inside_that_host(fleet):
    conf = "/opt/flink/conf/probe"
    ro = fleet.in_host(READONLY, ["sh", "-c", f"echo x > {conf}"], check=False)
    assert ro.returncode != 0 and b"Read-only file system" in ro.stderr
    rw = fleet.in_host("h006", ["sh", "-c", f"echo x > {conf} && rm {conf}"], check=False)
    assert rw.returncode == 0, rw.stderr
    # From the controller the same directory is writable: the mount is the host's own.
    probe = Path(fleet.host(READONLY).conf_dir) / "probe"
    probe.write_text("x")
    probe.unlink()


def test_host_keys_are_checked(fleet, env, ansible_bin, tmp_path):
    """A known_hosts that pairs h001's address with h002's key must be refused, whatever the environment says."""
    h1, h2 = fleet.host("h001"), fleet.host("h002")
    lines = fleet.known_hosts.read_text().splitlines()
    key2 = next(line for line in lines if line.startswith(h2.address + " ")).split(" ", 1)[1]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"{h1.address} {key2}\n")
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(fleet.inventory.read_text().replace(str(fleet.known_hosts), str(wrong)))
    proc = subprocess.run(
        [str(ansible_bin / "ansible"), "h001", "-i", str(inventory), "-m", "ansible.builtin.raw", "-a", "true"],
        env=dict(env, ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp_path / "cp")),  # no reuse of a checked master
        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode != 0
    assert "UNREACHABLE" in proc.stdout and "Host key verification failed" in proc.stdout


# -- audit ---------------------------------------------------------------------------------------------------
def test_audit_completes_on_every_reachable_host(fleet, audit):
    hosts = by_name(audit["report"])
    assert list(hosts) == [h.name for h in fleet.hosts]
    gathered = [n for n, h in hosts.items() if h["gather"]["ok"]]
    broken = {n: h["gather"].get("msg") for n, h in hosts.items() if not h["gather"]["ok"]}
    assert gathered == [h.name for h in fleet.hosts if h.name != UNREACHABLE], broken
    # The read-only configuration directory is no obstacle to reading it.
    assert hosts[READONLY]["status"] == "ok"
    for name in gathered:
        host = hosts[name]
        index = int(name[1:])
        want = spec(index, N)
        assert host["flink_version"] == want.version
        (file_name,) = want.files
        assert host["config_file"] == f"/opt/flink/conf/{file_name}"
    # Values come from each host's own file.
    assert hosts["h001"]["config"]["taskmanager.memory.process.size"] == "4g"
    assert hosts[DRIFTED]["config"]["taskmanager.memory.managed.fraction"] == "0.6"
    assert hosts["h000"]["memory"]["jobmanager"]["sizes"]["total_process"] == 1600 << 20


def test_audit_names_the_unreachable_host_and_why(fleet, audit):
    report = audit["report"]
    down = by_name(report)[UNREACHABLE]
    assert down["status"] == "unreachable" and down["gather"]["unreachable"] is True
    address = fleet.host(UNREACHABLE).address
    assert f"connect to host {address} port 22: Connection refused" in down["gather"]["msg"]
    assert [f["code"] for f in down["findings"]] == ["host-unreachable"]
    assert report["summary"]["hosts_by_status"]["unreachable"] == 1
    assert report["summary"]["hosts_by_status"]["failed"] == 0
    stdout = " ".join(audit["proc"].stdout.split())
    assert f"{UNREACHABLE} UNREACHABLE" in stdout and "Connection refused" in stdout
    assert f"TOTAL {N} hosts ({N - 1} audited, 0 failed, 1 unreachable)" in stdout
    markdown = (audit["dir"] / "flink-audit.md").read_text()
    assert UNREACHABLE in markdown and "Connection refused" in markdown


def test_audit_finds_the_drift_over_ssh(audit):
    groups = {g["name"]: g for g in audit["report"]["drift"]["groups"]}
    keys = {k["key"]: k for k in groups["taskmanager"]["keys"]}
    fraction = keys["taskmanager.memory.managed.fraction"]
    assert {tuple(v["hosts"]) for v in fraction["values"] if v["value"] == "0.6"} == {(DRIFTED,)}


def test_no_secret_leaves_the_host(audit):
    texts = [p.read_text() for p in audit["dir"].iterdir()] + [audit["proc"].stdout, audit["proc"].stderr]
    assert all(SECRET not in text for text in texts)
    assert by_name(audit["report"])["h002"]["config"]["s3.secret-key"] == "******"


def test_audit_gate_fails_naming_the_unreachable_host(audit):
    proc = audit["proc"]
    assert proc.returncode != 0
    text = " ".join((proc.stdout + proc.stderr).split())
    assert f"Flink audit failed (audit_fail_on=error): 1 error on {UNREACHABLE}" in text
    assert audit["report"]["gate"] == {"fail_on": "error", "failed": True, "reason": f"1 error on {UNREACHABLE}"}
    # The gate's run_once task fails on the play's first host; no host failed anything else.
    recap = dict(re.findall(r"^(h\d{3})\s+: (ok=.*)$", proc.stdout, flags=re.M))
    assert len(recap) == N and [n for n, line in recap.items() if "failed=0" not in line] == ["h000"], recap
    assert "Traceback" not in text


# -- write path ----------------------------------------------------------------------------------------------
RECORDER = """
import json, os
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "sshfleet_record"
    CALLBACK_NEEDS_ENABLED = True

    def _save(self, result, status):
        task = getattr(result, "task", None) or result._task
        if task.action not in ("flinkops.flink.flink_config",):
            return
        host = (getattr(result, "host", None) or result._host).get_name()
        res = getattr(result, "result", None) or result._result
        with open(os.path.join(os.environ["SSHFLEET_RECORD"], host), "w") as f:
            json.dump({"status": status, "result": res}, f, default=str)

    def v2_runner_on_ok(self, result):
        self._save(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._save(result, "failed")

    def v2_runner_on_unreachable(self, result):
        self._save(result, "unreachable")
"""

SET_SLOTS = """- hosts: flink_taskmanager
  gather_facts: false
  tasks:
    - name: Two slots on every TaskManager
      flinkops.flink.flink_config:
        flink_home: /opt/flink
        settings:
          taskmanager.numberOfTaskSlots: 2
"""


def recorded_run(env, ansible_bin, name: str, play: str, *, fleet) -> tuple[subprocess.CompletedProcess, dict]:
    work = fleet.dir / name
    (work / "callbacks").mkdir(parents=True)
    (work / "callbacks" / "sshfleet_record.py").write_text(RECORDER)
    (work / "record").mkdir()
    (work / "play.yml").write_text(play)
    run_env = dict(env, ANSIBLE_CALLBACK_PLUGINS=str(work / "callbacks"), ANSIBLE_CALLBACKS_ENABLED="sshfleet_record",
                   SSHFLEET_RECORD=str(work / "record"))
    proc = playbook(run_env, ansible_bin, work, fleet.inventory, str(work / "play.yml"))
    results = {p.name: json.loads(p.read_text()) for p in (work / "record").iterdir()}
    return proc, results


def conf_bytes(fleet) -> dict:
    return {h.name: {p.name: p.read_bytes() for p in Path(h.conf_dir).iterdir()} for h in fleet.hosts}


@pytest.fixture(scope="module")
def write_runs(fleet, env, ansible_bin, audit):  # after the audit: it must see the files as built
    before = conf_bytes(fleet)
    first = recorded_run(env, ansible_bin, "set-slots-1", SET_SLOTS, fleet=fleet)
    return {"before": before, "first": first, "after_first": conf_bytes(fleet)}


def taskmanagers(fleet) -> list[str]:
    return [h.name for h in fleet.hosts if "flink_taskmanager" in spec(h.index, N).groups]


def test_flink_config_writes_every_reachable_writable_host(fleet, write_runs):
    proc, results = write_runs["first"]
    tms = taskmanagers(fleet)
    assert set(results) == set(tms)
    done = [n for n in tms if n not in (UNREACHABLE, READONLY)]
    for name in done:
        assert results[name]["status"] == "ok" and results[name]["result"]["changed"] is True, results[name]
        assert results[name]["result"]["restart_required"] is True
        assert results[name]["result"]["config"]["taskmanager.numberOfTaskSlots"] == "2"
        (file_name,) = spec(int(name[1:]), N).files
        text = write_runs["after_first"][name][file_name].decode()
        assert re.search(r"(numberOfTaskSlots|\n  numberOfTaskSlots): 2\n", text), text
    # Only the two broken hosts keep their files; the JobManager was not targeted.
    for name in (UNREACHABLE, READONLY, "h000"):
        assert write_runs["after_first"][name] == write_runs["before"][name], name
    assert proc.returncode != 0  # a failed and an unreachable host fail the play...
    recap = dict(re.findall(r"^(h\d{3})\s+: (ok=.*)$", proc.stdout, flags=re.M))
    assert set(recap) == set(tms)
    for name in done:
        assert "failed=0" in recap[name] and "unreachable=0" in recap[name] and "changed=1" in recap[name]


def test_flink_config_names_the_failed_hosts_and_why(fleet, write_runs):
    proc, results = write_runs["first"]
    ro = results[READONLY]
    assert ro["status"] == "failed"
    assert READONLY in ro["result"]["msg"] and "/opt/flink/conf" in ro["result"]["msg"]
    assert "Read-only file system" in ro["result"]["msg"], ro["result"]["msg"]
    down = results[UNREACHABLE]
    assert down["status"] == "unreachable"
    assert f"connect to host {fleet.host(UNREACHABLE).address} port 22: Connection refused" in down["result"]["msg"]
    recap = dict(re.findall(r"^(h\d{3})\s+: (ok=.*)$", proc.stdout, flags=re.M))
    assert "failed=1" in recap[READONLY] and "unreachable=1" in recap[UNREACHABLE]
    assert "Traceback" not in proc.stdout + proc.stderr


# -- enforce (playbooks/enforce.yml: gather, drift, plan, the enforce role) ------------------------------------
POLICY = {"enforce_policy": {"taskmanager": {"process_size": "4g", "slots": 2, "managed_fraction": 0.5},
                             "jobmanager": {"process_size": "1600m"}},
          "enforce_confirm": True}


@pytest.fixture(scope="module")
def enforce_runs(fleet, env, ansible_bin, write_runs):  # after the flink_config runs (slots are 2 by then)
    before = conf_bytes(fleet)
    extra = fleet.dir / "policy.json"
    extra.write_text(json.dumps(POLICY))
    runs = []
    # The second run with pipelining on (the first with Ansible's default, off).
    for i, pipelining in ((1, "False"), (2, "True")):
        out = fleet.dir / f"enforce-report-{i}"
        proc = playbook(dict(env, ANSIBLE_PIPELINING=pipelining), ansible_bin, fleet.dir, fleet.inventory,
                        "flinkops.flink.enforce",
                        "-e", f"@{extra}", "-e", f"enforce_report_dir={out}")
        runs.append({"proc": proc, "report": json.loads((out / "flink-audit.json").read_text()),
                     "files": conf_bytes(fleet)})
    return {"before": before, "runs": runs}


def enforce_summary(proc) -> str:
    match = re.search(r"Written: (\d+ changed, \d+ would change, \d+ compliant, \d+ failed)\.", proc.stdout)
    assert match, proc.stdout[-3000:]
    return match.group(1)


def test_enforce_writes_the_plan_on_the_rest_of_the_fleet(fleet, enforce_runs):
    first = enforce_runs["runs"][0]
    proc = first["proc"]
    changed = [n for n in taskmanagers(fleet) if n not in (UNREACHABLE, READONLY)]
    assert enforce_summary(proc) == f"{len(changed)} changed, 0 would change, 1 compliant, 1 failed"
    for name in changed:
        assert re.search(rf'"{name}: changed /opt/flink/conf/\S+: .*taskmanager.memory.managed.fraction', proc.stdout)
        (file_name,) = spec(int(name[1:]), N).files
        assert first["files"][name][file_name] != enforce_runs["before"][name][file_name]
        text = first["files"][name][file_name].decode()
        assert re.search(r"fraction: 0\.5\n", text), (name, text)
    # the JobManager's gather already held its plan: reported compliant, no task of the role on it
    assert '"h000: compliant (its gather shows every key in place; not contacted)"' in proc.stdout
    for name in (UNREACHABLE, READONLY, "h000"):
        assert first["files"][name] == enforce_runs["before"][name], name
    assert re.search(r"Restart needed on: " + ", ".join(changed) + r"\.", proc.stdout)


def test_enforce_names_the_failed_hosts_and_why(fleet, enforce_runs):
    proc = enforce_runs["runs"][0]["proc"]
    assert proc.returncode != 0
    out = " ".join(proc.stdout.split())
    # The read-only host: the write fails, with the file system's words, and the host is in the failed count.
    ro = re.search(rf"fatal: \[{READONLY}\]: FAILED! => (\{{.*?\}})\s*$", proc.stdout, flags=re.M)
    assert ro, proc.stdout[-3000:]
    assert "Read-only file system" in ro.group(1) and "/opt/flink/conf" in ro.group(1)
    # The unreachable host: not gathered, so not in the plan; the report says why.
    assert f"{UNREACHABLE}: not planned (the plan does not cover this host)" in out
    host = by_name(enforce_runs["runs"][0]["report"])[UNREACHABLE]
    assert host["status"] == "unreachable"
    assert f"connect to host {fleet.host(UNREACHABLE).address} port 22: Connection refused" in host["gather"]["msg"]
    assert "Traceback" not in proc.stdout + proc.stderr


def test_enforce_again_changes_nothing(fleet, enforce_runs):
    first, second = enforce_runs["runs"]
    changed = [n for n in taskmanagers(fleet) if n not in (UNREACHABLE, READONLY)]
    assert enforce_summary(second["proc"]) == f"0 changed, 0 would change, {len(changed) + 1} compliant, 1 failed"
    assert second["files"] == first["files"]
    assert "Restart needed on: none." in second["proc"].stdout
    # Every host that holds the plan was read once, by the gather: the role ran only on the two that failed.
    for name in [*changed, "h000"]:
        assert f'"{name}: compliant (its gather shows every key in place; not contacted)"' in second["proc"].stdout
    task = second["proc"].stdout.split("Set and remove the keys in the file Flink reads", 1)[1].split("TASK [", 1)[0]
    assert sorted(re.findall(r"^\w+: \[(h\d{3})\]", task, flags=re.M)) == sorted([UNREACHABLE, READONLY]), task
    # The audit after enforcing: no memory drift left among the TaskManagers that could be written.
    groups = {g["name"]: g for g in second["report"]["drift"]["groups"]}
    values = {k["key"]: k["values"] for k in groups["taskmanager"]["keys"]}
    fraction = values.get("taskmanager.memory.managed.fraction", [])
    assert [v["hosts"] for v in fraction if v["value"] == "0.5"] == [changed]


# -- the fleet tooling ---------------------------------------------------------------------------------------
def _netns_of(tag: str) -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listed.splitlines() if line.startswith(f"flinkops-{tag}-")]


def _links_of(tag: str) -> list[str]:
    links = json.loads(subprocess.run(["ip", "-j", "link"], capture_output=True, text=True, check=True).stdout)
    return [link["ifname"] for link in links if link["ifname"].startswith(f"fo{tag}")]


def test_down_removes_everything_and_is_idempotent(tmp_path):
    small = fleetlib.up(2, tmp_path / "f", spec=lambda i, n: fleetlib.default_spec(i, n))
    pids = [h.pid for h in small.hosts]
    assert len(_netns_of(small.tag)) == 2 and len(_links_of(small.tag)) == 3
    removed = fleetlib.down(small.dir)
    assert sorted(removed) == sorted([h.netns for h in small.hosts] + [h.veth for h in small.hosts] + [small.bridge])
    assert _netns_of(small.tag) == [] and _links_of(small.tag) == []
    assert not any(fleetlib._alive(pid) for pid in pids)
    assert fleetlib.down(small.dir) == []


def test_a_failed_up_leaves_nothing_behind(tmp_path, monkeypatch):
    def broken(index, count):
        if index == 2:
            raise RuntimeError("spec failure")
        return fleetlib.default_spec(index, count)

    with pytest.raises(RuntimeError, match="spec failure"):
        fleetlib.up(4, tmp_path / "f", spec=broken)
    assert not (tmp_path / "f" / fleetlib.STATE).exists()

    # Now a failure after the network exists and one sshd runs.
    seen = {}
    original = fleetlib._start_sshd

    def start_then_fail(host, run_dir):
        seen["tag"] = json.loads((run_dir / fleetlib.STATE).read_text())["tag"]
        if host.index == 1:
            first = fleetlib.Fleet.load(run_dir).hosts[0]
            seen["pids"] = [first.pid, *fleetlib._netns_pids(first.netns)]
            raise fleetlib.FleetError("simulated sshd start failure")
        return original(host, run_dir)

    monkeypatch.setattr(fleetlib, "_start_sshd", start_then_fail)
    with pytest.raises(fleetlib.FleetError, match="simulated"):
        fleetlib.up(3, tmp_path / "g", spec=fleetlib.default_spec)
    assert _netns_of(seen["tag"]) == [] and _links_of(seen["tag"]) == []
    assert not (tmp_path / "g" / fleetlib.STATE).exists()
    assert seen["pids"][0] is not None and not any(fleetlib._alive(pid) for pid in seen["pids"])


def test_cli_up_and_down(tmp_path):
    cli = [sys.executable, str(HERE / "fleet.py")]
    up = subprocess.run([*cli, "up", "2", "--dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    state = json.loads((tmp_path / fleetlib.STATE).read_text())
    assert len(_netns_of(state["tag"])) == 2
    assert (tmp_path / "inventory.yml").read_text().count("ansible_host: 10.") == 2
    again = subprocess.run([*cli, "up", "2", "--dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "already holds a fleet" in again.stderr
    for expected in ("removed 2 namespaces and 3 links", "nothing to remove"):
        down = subprocess.run([*cli, "down", "--dir", str(tmp_path)], capture_output=True, text=True, timeout=60)
        assert down.returncode == 0 and expected in down.stdout, down.stdout + down.stderr
    assert _netns_of(state["tag"]) == [] and _links_of(state["tag"]) == []


# -- a pty only where become may need one ------------------------------------------------------------------
def _gather_adhoc(fleet, env, ansible_bin, host: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ansible_bin / "ansible"), host, "-i", str(fleet.inventory), "-m", "flinkops.flink.flink_config_info",
         "-a", "flink_home=/opt/flink", "-vvv", *extra],
        env=env, capture_output=True, text=True, timeout=120, cwd=fleet.dir)


def _ssh_execs(stdout: str) -> list[str]:
    """The first line of each ssh command Ansible ran (options and host; the script follows on more lines)."""
    return [line for line in stdout.splitlines() if "SSH: EXEC" in line]


def _result(stdout: str) -> dict:
    return json.loads(stdout[stdout.index(" => {") + 4:].split("\n}\n")[0] + "\n}")


def test_gather_asks_for_a_pty_only_with_become(fleet, env, ansible_bin):
    """Without become the gather's command runs without a pty (no ssh -tt); with become (su to nobody) it
    gets one, as a password prompt may need, and the answer is the same."""
    plain = _gather_adhoc(fleet, env, ansible_bin, "h001")
    assert plain.returncode == 0, plain.stdout[-2000:]
    execs = _ssh_execs(plain.stdout)
    assert len(execs) == 1 and " -tt " not in execs[0]
    become = _gather_adhoc(fleet, env, ansible_bin, "h001", "-b", "--become-method", "su", "--become-user", "nobody",
                           "-e", "ansible_become_flags='-s /bin/sh'")
    assert become.returncode == 0, become.stdout[-2000:]
    execs = _ssh_execs(become.stdout)
    assert len(execs) == 1 and " -tt " in execs[0]
    first, second = _result(plain.stdout), _result(become.stdout)
    assert first["checksum"] == second["checksum"] and first["config"] == second["config"]
