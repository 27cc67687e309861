"""A TaskManager restarted by the rolling_restart role over real SSH still runs after the play has ended.

Ansible's ``raw`` runs the control script under a terminal (``ssh -tt``). When that session ends, the kernel
hangs up the terminal's foreground process group; bin/flink-daemon.sh starts the JVM with ``&`` and no
``nohup``, so a JVM left in that group gets SIGHUP and exits (a JVM runs its shutdown hooks on SIGHUP) right
after the task said it started. roles/rolling_restart/files/flink_ctl.sh detaches the start (its own
session, SIGHUP ignored, stdin from /dev/null, its output to the log dir).

One host of the SSH test fleet (tests/sshfleet/fleet.py: a network namespace with its own sshd, root only):
a real Flink 2.3.0 JobManager and one TaskManager run inside it on the namespace's own loopback; only the
REST API binds the namespace's address on the fleet's private bridge (no route leaves it), so the controller
reads it. The role stops and starts the TaskManager over SSH (inventory hosts with ansible_connection ssh,
the fleet's key and known_hosts); the rollout must end rc 0, and once no SSH session is left in the host,
the new JVM must still be alive, registered, without a controlling terminal and with SIGHUP ignored.
Every JVM is killed and the fleet removed whatever happens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sshfleet"))
import cluster as flink_cluster  # noqa: E402  (tests/e2e is not a package)
import fleet as fleetlib  # noqa: E402
import flink_install_1x  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "tests" / "output"


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.fail("the SSH fleet needs root (network namespaces, sshd)")
    directory = tmp_path_factory.mktemp("ssh-rollout-fleet")
    try:
        built = fleetlib.up(1, directory, jobmanagers=1)
    except fleetlib.FleetError as exc:
        pytest.fail(f"could not build the SSH fleet: {exc}")
    try:
        yield built
    finally:
        fleetlib.down(directory)


@pytest.fixture(scope="module")
def flink(ssh_host, tmp_path_factory):
    host = ssh_host.hosts[0]
    home = flink_install_1x.install("2.3.0")
    root = tmp_path_factory.mktemp("ssh-rollout-flink")
    # The scripts run inside the host's network and mount namespaces, as its sshd's sessions do.
    c = flink_cluster.Cluster(home, root, ("tm1",), slots=1, tm_process_size="1g", jm_process_size="1g",
                              rest_host=host.address, wrap=["nsenter", "-t", str(host.pid), "-n", "-m", "--"])
    c.prepare()
    try:
        c.start()
        yield c
    finally:
        c.teardown()
        assert not c._our_jvms(), "Java processes left behind"


def _inventory(flink, ssh_host, path: Path) -> Path:
    """The cluster's inventory with every Flink host reached over SSH (the implicit localhost stays local)."""
    fleet_vars = yaml.safe_load(ssh_host.inventory.read_text())["all"]["vars"]
    ssh = {k: v for k, v in fleet_vars.items() if k.startswith("ansible_")}
    flink.inventory(path, sys.executable)
    data = yaml.safe_load(path.read_text())
    data["all"]["vars"].pop("ansible_connection")
    data["all"]["vars"].pop("ansible_python_interpreter")
    for group in data["all"]["children"].values():
        for hostvars in group["hosts"].values():
            hostvars.update(ssh, ansible_host=ssh_host.hosts[0].address)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _sessions(ssh_host) -> list[int]:
    """The processes of the host's namespace that belong to an SSH session (not the listening sshd)."""
    host = ssh_host.hosts[0]
    pids = subprocess.run(["ip", "netns", "pids", host.netns], capture_output=True, text=True, check=True)
    out = []
    for pid in (int(p) for p in pids.stdout.split()):
        try:
            parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == host.pid:  # forked by the listening sshd: a session
            out.append(pid)
    return out


def _proc(pid: int) -> dict:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    fields = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if ":\t" in line)
    return {"state": stat[0], "tty": int(stat[4]), "sigign": int(fields["SigIgn"], 16)}


def test_a_taskmanager_restarted_over_ssh_outlives_the_session(flink, ssh_host, ansible_env, ansible_bin, tmp_path):
    inventory = _inventory(flink, ssh_host, tmp_path / "inventory.yml")
    old = flink.process_pid("tm1")
    assert old
    playbook_file = tmp_path / "enforce-and-restart.yml"
    playbook_file.write_text(
        "- ansible.builtin.import_playbook: flinkops.flink.enforce\n"
        "- hosts: flink_taskmanager\n  gather_facts: false\n  roles: [flinkops.flink.rolling_restart]\n")
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"enforce_settings": {"taskmanager": {"taskmanager.memory.managed.fraction": "0.3"}},
                                "enforce_confirm": True, "rolling_restart_register_timeout": 360}))
    # No SSH connection outlives the play (no ControlPersist master): every session ends with it.
    env = dict(ansible_env, ANSIBLE_SSH_ARGS="-o ControlMaster=no")
    cmd = [str(ansible_bin / "ansible-playbook"), "-i", str(inventory), str(playbook_file), "-e", f"@{args}"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=flink.root, check=False)
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "e2e-ssh-rollout.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert "Restarted tm1; failed none" in proc.stdout, proc.stdout[-3000:]
    new = flink.process_pid("tm1")
    assert new not in (None, old)

    # Every SSH session of the play is gone ...
    flink.wait(lambda: not _sessions(ssh_host), 60, "no SSH session left in the host")
    # ... and the JVM the role started is still there: alive, no controlling terminal, SIGHUP ignored,
    # registered with the JobManager; and still so a heartbeat timeout later (a dead one is dropped by then).
    st = _proc(new)
    assert st["state"] != "Z" and st["tty"] == 0 and st["sigign"] & (1 << 0), st
    tm = flink.wait(lambda: flink.taskmanagers().get("tm1"), 60, "tm1 registered")
    assert tm["slotsNumber"] == 1
    deadline = time.monotonic() + 25  # heartbeat.timeout of the test cluster is 20 s
    while time.monotonic() < deadline:
        assert flink.process_pid("tm1") == new, "the TaskManager started over SSH died after the session ended"
        time.sleep(1)
    assert flink.taskmanagers().get("tm1", {}).get("dataPort") == tm["dataPort"]
