"""jvm_identity: the JVM a host reports (flink_ctl.sh's ``pid=.. start=..``), and the gate's same-JVM rule.

The parsing is checked against the real control script run on real processes (``sleep`` standing in for
the JVM, with a pid file laid out as Flink's scripts lay it out), not against hand-written lines only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ansible_collections.flinkops.flink.plugins.plugin_utils import jvm_identity as ji

CTL = Path(__file__).resolve().parents[4] / "roles" / "rolling_restart" / "files" / "flink_ctl.sh"


def test_parse_each_line_the_script_prints():
    assert ji.parse("running pid=4242 start=987654\n") == {"pid": 4242, "start": "987654"}
    # start prints the new JVM last; stop names the JVM it stopped
    started = "Starting taskexecutor daemon on host vm.\nstarted pid=10136 start=97684, registered after 4.6s\n"
    assert ji.parse(started) == {"pid": 10136, "start": "97684"}
    assert ji.parse("stopping pid=7907 start=75730\nstopped pid=7907 after 0.2s\n") == {"pid": 7907, "start": "75730"}
    # ps lstart where there is no /proc; SSH with a terminal adds carriage returns
    lstart = "Wed_Dec_2_07:59:37_2026"
    assert ji.parse(f"running pid=12 start={lstart}\r\n") == {"pid": 12, "start": lstart}
    assert ji.parse("running pid=12 start=\n") == {"pid": 12, "start": None}
    for nothing in ("stopped", "", None, 42, "was-stopped: no running taskexecutor in /tmp/x.pid"):
        assert ji.parse(nothing) is None


def test_same_jvm_needs_pid_and_start_when_both_are_known():
    a = {"pid": 100, "start": "5000"}
    assert ji.same_jvm(a, {"pid": 100, "start": "5000"}) is True
    assert ji.same_jvm(a, {"pid": 100, "start": "9000"}) is False  # the pid was reused by a new JVM
    assert ji.same_jvm(a, {"pid": 101, "start": "5000"}) is False
    # one start time unknown: the pid decides
    assert ji.same_jvm({"pid": 100, "start": None}, {"pid": 100, "start": "9000"}) is True
    assert ji.same_jvm({"pid": 100, "start": None}, {"pid": 7, "start": None}) is False
    for unknown in (None, {}, {"pid": None, "start": "1"}):
        assert ji.same_jvm(a, unknown) is None
        assert ji.same_jvm(unknown, a) is None


def test_breaches_name_the_host_and_both_jvms():
    baseline = {"tm1": "running pid=1 start=10", "tm2": "running pid=2 start=20", "tm3": "running pid=3 start=30",
                "tm4": "stopped", "tm5": "running pid=5 start=50"}
    now = {"tm2": "running pid=2 start=20",       # same JVM
           "tm3": "running pid=3 start=31",       # same pid, new start: restarted (pid reused)
           "tm4": "running pid=4 start=40",       # ran nothing at the start: REST decides
           "tm5": "stopped"}                      # gone
    reasons = ji.breaches(baseline, now, batch=["tm1"], resource_ids={"tm3": "tm3", "tm5": "rid-5"})
    assert reasons == [
        "TaskManager tm3 (not in this batch) is another JVM than at the start, as its host says "
        "(pid 3 started 30 then, pid 3 started 31 now): it restarted outside the rollout",
        "TaskManager rid-5 on tm5 (not in this batch) has no running JVM on its host now (it was pid 5 started 50): "
        "it stopped or died outside the rollout",
    ]
    # the batch itself is never judged; a host outside it that was not read is a breach
    assert ji.breaches(baseline, {"tm2": baseline["tm2"]}, batch=["tm1", "tm3", "tm5"]) == []
    assert ji.breaches({"tm2": baseline["tm2"]}, {}, batch=[]) == [
        "TaskManager tm2 (not in this batch) was not checked on its host"]
    assert ji.breaches({}, now) == []
    assert ji.breaches({"tm2": baseline["tm2"]}, {"tm2": None}) == [
        "TaskManager tm2 (not in this batch) could not be checked on its host (unreachable or the check failed)"]


def _ctl(action: str, pid_dir: Path, log_dir: Path, **extra) -> subprocess.CompletedProcess:
    env = dict(os.environ, FLINKOPS_PROCESS="taskmanager", FLINKOPS_HOME=str(pid_dir.parent / "no-flink-home"),
               FLINKOPS_CONF_DIR=str(pid_dir.parent / "conf"), FLINKOPS_PID_DIR=str(pid_dir),
               FLINKOPS_LOG_DIR=str(log_dir), FLINKOPS_IDENT="tmx", FLINKOPS_STOP_TIMEOUT="5", **extra)
    return subprocess.run(["/bin/sh", str(CTL), action], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.fixture
def jvms(tmp_path):
    """Stand-in JVMs (sleep processes) of one host, in a pid file laid out as flink-daemon.sh writes it."""
    pid_dir, log_dir = tmp_path / "pid", tmp_path / "log"
    pid_dir.mkdir()
    log_dir.mkdir()
    procs = []

    def start():
        proc = subprocess.Popen(["sleep", "300"], start_new_session=True)
        procs.append(proc)
        with open(pid_dir / "flink-tmx-taskexecutor.pid", "a") as f:
            f.write(f"{proc.pid}\n")
        return proc

    yield start, pid_dir, log_dir
    for proc in procs:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)


def test_the_script_reports_the_same_jvm_the_same_way_and_a_new_one_otherwise(jvms):
    start, pid_dir, log_dir = jvms
    first = start()
    a = ji.parse(_ctl("status", pid_dir, log_dir).stdout)
    time.sleep(0.05)
    assert ji.parse(_ctl("status", pid_dir, log_dir).stdout) == a
    assert a["pid"] == first.pid and a["start"]
    # the start time is the kernel's (ticks since boot), not the time of asking
    stat = Path(f"/proc/{first.pid}/stat").read_text().rsplit(")", 1)[1].split()
    assert a["start"] == stat[19]

    # stop: what flink-daemon.sh stop does - SIGTERM to the last pid, which leaves the pid file
    second = start()
    out = _ctl("stop", pid_dir, log_dir)
    assert out.returncode == 0, out.stderr
    assert ji.parse(out.stdout)["pid"] == second.pid and f"stopped pid={second.pid}" in out.stdout
    assert second.wait(10) == -signal.SIGTERM
    assert (pid_dir / "flink-tmx-taskexecutor.pid").read_text().split() == [str(first.pid)]
    assert ji.same_jvm(a, ji.parse(_ctl("status", pid_dir, log_dir).stdout)) is True

    out = _ctl("stop", pid_dir, log_dir)
    assert out.returncode == 0 and first.wait(10) == -signal.SIGTERM
    assert not (pid_dir / "flink-tmx-taskexecutor.pid").exists()  # an empty pid file is removed
    assert _ctl("status", pid_dir, log_dir).stdout.strip() == "stopped"
    assert "was-stopped" in _ctl("stop", pid_dir, log_dir).stdout

    third = start()
    now = ji.parse(_ctl("status", pid_dir, log_dir).stdout)
    assert ji.same_jvm(a, now) is False
    assert ji.breaches({"tm": f"running pid={a['pid']} start={a['start']}"},
                       {"tm": _ctl("status", pid_dir, log_dir).stdout})[0].startswith(
        "TaskManager tm (not in this batch) is another JVM than at the start")
    assert third.poll() is None


# A stand-in for bin/taskmanager.sh start: what flink-daemon.sh does (the "JVM" in the background with &, no
# nohup, stdin from /dev/null, its output to the log dir; its pid appended to the pid file), and it prints.
FAKE_START = """#!/bin/sh
[ "$1" = start ] || exit 2
mkdir -p "$FLINK_PID_DIR" "$FLINK_LOG_DIR"
sleep 300 > "$FLINK_LOG_DIR/flink-$FLINK_IDENT_STRING-taskexecutor-0-test.out" 2>&1 < /dev/null &
echo $! >> "$FLINK_PID_DIR/flink-$FLINK_IDENT_STRING-taskexecutor.pid"
echo "Starting taskexecutor daemon on host test."
"""


def _status_of(pid: int) -> dict:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":\t", 1) for line in lines if ":\t" in line)
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return {"sigign": int(fields["SigIgn"], 16), "session": int(stat[3]), "tty": int(stat[4])}


def test_a_start_from_a_terminal_session_survives_the_end_of_that_session(tmp_path):
    """As Ansible's raw over SSH runs it (ssh -tt): the control script is the session leader on a terminal.

    When it exits, the kernel hangs up the terminal's foreground process group. The started "JVM" must not be
    in it: its own session, no controlling terminal, SIGHUP ignored, stdin /dev/null.
    """
    import fcntl
    import pty
    import termios

    home = tmp_path / "flink"
    (home / "bin").mkdir(parents=True)
    script = home / "bin" / "taskmanager.sh"
    script.write_text(FAKE_START)
    script.chmod(0o755)
    pid_dir, log_dir = tmp_path / "pid", tmp_path / "log"
    env = dict(os.environ, FLINKOPS_PROCESS="taskmanager", FLINKOPS_HOME=str(home), FLINKOPS_CONF_DIR=str(tmp_path),
               FLINKOPS_PID_DIR=str(pid_dir), FLINKOPS_LOG_DIR=str(log_dir), FLINKOPS_IDENT="tmx", FLINKOPS_GRACE="1")
    master, slave = pty.openpty()

    def on_a_terminal():
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    started = None
    try:
        proc = subprocess.Popen(["/bin/sh", str(CTL), "start"], env=env, stdin=slave, stdout=slave, stderr=slave,
                                preexec_fn=on_a_terminal)  # noqa: PLW1509 -- the point is a controlling terminal
        os.close(slave)
        output = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: every writer of the terminal is gone
                break
            if not chunk:
                break
            output += chunk
        assert proc.wait(30) == 0, output
        text = output.decode(errors="replace")
        started = ji.parse(text)
        assert started and "Starting taskexecutor daemon" in text and "started pid=" in text, text
        ctl_session = proc.pid
        # the terminal is hung up when its session leader is gone: give the signal time to land
        time.sleep(0.5)
        assert _running(started["pid"]), "the started process died with the session that started it"
        st = _status_of(started["pid"])
        assert st["session"] != ctl_session and st["tty"] == 0, st
        assert st["sigign"] & (1 << (signal.SIGHUP - 1)), st
        assert (log_dir / "flinkops-ctl-taskexecutor.out").read_text().startswith("Starting taskexecutor daemon")
        now = ji.parse(_ctl("status", pid_dir, log_dir).stdout)
        assert ji.same_jvm(started, now) is True
    finally:
        os.close(master)
        if started and _running(started["pid"]):
            os.kill(started["pid"], signal.SIGKILL)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
