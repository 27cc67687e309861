"""What the gather command costs the host, counted: the programs it runs and the processes it starts, per
host shape, traced with strace -f (each program is about a millisecond of CPU on the host; issue 12's
benchmark). Counts, never time. Before the fork cut a 2.3 host ran 8 programs (machine-id, boot_id and
the node name each by a program, ls once per file) in 12 processes; a 1.20 host with both files 12."""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import fragment_records  # beside this file
import host_awks  # beside this file
import kmsg_stand_in  # beside this file
import pytest

from ansible_collections.flinkops.flink.plugins.plugin_utils import diagnose_tail
from ansible_collections.flinkops.flink.plugins.plugin_utils import gather_protocol as proto

STRACE = shutil.which("strace")
SHELLS = {"dash": "/bin/dash", "bash": "/bin/bash"}


def traced(tmp_path: Path, shell: str, script: str, env: dict | None = None) -> tuple[collections.Counter, int, bytes]:
    """(programs executed, processes started besides the shell, stdout) of one run of ``script``."""
    log = tmp_path / "strace.log"
    out = subprocess.run([STRACE, "-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "-o", str(log),
                          shell, "-c", script], capture_output=True, timeout=60, check=False, env=env)
    if out.returncode != 0 and b"ptrace" in out.stderr:
        pytest.skip(f"strace cannot trace here: {out.stderr[-200:]!r}")
    assert out.returncode == 0, out.stderr
    lines = log.read_text().splitlines()
    pids = {line.split()[0] for line in lines}
    programs = [re.search(r'execve\("([^"]+)"', line).group(1).rsplit("/", 1)[-1]
                for line in lines if "execve(" in line and "ENOENT" not in line]
    assert programs[0] == Path(shell).name
    # every process but the shell itself shows up: each one that runs a program execs, the others
    # (subshells, command substitutions) are seen as pids of their own in the trace too
    return collections.Counter(programs[1:]), len(pids) - 1, out.stdout


def home_with(tmp_path: Path, version: str, files: dict[str, bytes]) -> Path:
    home = tmp_path / f"flink-{version}"
    (home / "lib").mkdir(parents=True)
    (home / "conf").mkdir()
    (home / "lib" / f"flink-dist-{version}.jar").write_bytes(b"")
    for name, data in files.items():
        (home / "conf" / name).write_bytes(data)
    return home


CASES = {
    # version, files -> programs run (the measuring head|wc and the data head per file, one ls, base64)
    "2.3 one file": ("2.3.0", {"config.yaml": b"a: 1\n"},
                     {"base64": 1, "head": 2, "wc": 1, "ls": 1}),
    "1.20 both files": ("1.20.5", {"flink-conf.yaml": b"a: 1\n", "config.yaml": b"b: 2\n"},
                        {"base64": 1, "head": 4, "wc": 2, "ls": 1}),
}


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
@pytest.mark.parametrize("shell", list(SHELLS))
@pytest.mark.parametrize("case", list(CASES))
def test_programs_and_processes_per_host(tmp_path, shell, case):
    if not Path(SHELLS[shell]).exists():
        pytest.skip(f"{SHELLS[shell]} is not installed")
    version, files, expected = CASES[case]
    home = home_with(tmp_path, version, files)
    programs, processes, stdout = traced(tmp_path, SHELLS[shell], proto.build_script(str(home), str(home / "conf"),
                                                                                   1 << 20))
    got = proto.interpret(proto.parse_frames(stdout.decode("ascii")))
    # the run traced is a complete gather
    assert {n: f.content for n, f in got.files.items() if f.state != "absent"} == files
    assert got.machine and len(got.inodes) == len(files)
    assert dict(programs) == expected
    # processes: the two sides of the encoding pipe, one command substitution, per file the measuring pipe
    # (its left side, head, wc) and the data head; shells differ by a subshell or two
    assert processes <= 3 + 4 * len(files) + 2, programs


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
def test_no_program_for_the_machine_identity(tmp_path):
    """machine-id, boot_id and the node name come from the shell's read: no head, no uname."""
    home = home_with(tmp_path, "2.3.0", {"config.yaml": b"a: 1\n"})
    programs, _, stdout = traced(tmp_path, "/bin/dash", proto.build_script(str(home), str(home / "conf"), 1 << 20))
    assert "uname" not in programs
    got = proto.interpret(proto.parse_frames(stdout.decode("ascii")))
    machine_id = Path("/etc/machine-id")
    first = machine_id.read_bytes().split(b"\n")[0][:64].decode() if machine_id.is_file() else ""
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().split("\n")[0]
    import os  # noqa: PLC0415

    assert got.machine == f"{first}\n{boot_id}\n{os.uname().nodename}"


KERNEL_LINES = {"kernel quiet": "[  1.0] eth0: link up",
                "kernel OOM kill": "[ 602.9] Memory cgroup out of memory: Killed process 24078 (java)"}
# The same lines as /dev/kmsg holds them (kmsg_stand_in), and as the awk prints them.
KMSG = {"kernel quiet": (kmsg_stand_in.record(1, 1_000_000, "eth0: link up"), "[    1.000000] eth0: link up"),
        "kernel OOM kill": (kmsg_stand_in.record(2, 602_900_000, "Memory cgroup out of memory: Killed process 24078 "
                                                 "(java)"),
                            "[  602.900000] Memory cgroup out of memory: Killed process 24078 (java)")}


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
@pytest.mark.parametrize("source", ["kmsg", "dmesg"])
@pytest.mark.parametrize("kernel", list(KERNEL_LINES))
@pytest.mark.parametrize("given", [True, False], ids=["log_dir given", "log dir from env.log.dir"])
def test_programs_with_logs(tmp_path, given, kernel, source):
    """logs: true adds, per host, five programs whatever the number of log files: one ls of the log dir, one tail
    that reads the end of every log file, an awk that says whether it holds NUL and \001 (this machine's mawk
    does: no tr then; with busybox's awk a tr drops them, test below), one dd that reads /dev/kmsg (dmesg where
    there is none or dd cannot read it; journalctl only where dmesg is refused), and one awk that keeps of all of
    it the lines diagnose reads; plus the awk that reads env.log.dir when no log dir is given. The UTC offset, which
    only puts the kernel's OOM kills on the logs' clock, comes from the probe awk's strftime (this machine's mawk
    has it): date no longer runs (before 2026-12-07 it ran through the awk's sh when the kernel's lines named an OOM
    kill; test below for an awk without strftime).
    Before (0a193cc) a host with four logs ran fifteen: a tail and a tr per file, and grep, tail and tr for the
    kernel's lines. The gather without logs runs what it ran (test above). The root (the gather's ``r``) holds
    this machine's /proc/stat and, for kmsg, a stand-in /dev/kmsg (this machine's records change)."""
    home = home_with(tmp_path, "2.3.0", {"config.yaml": f"env.log.dir: {tmp_path / 'log'}\n".encode()})
    log = tmp_path / "log"
    log.mkdir()
    names = [f"flink-u-{d}-0-h.{x}" for d in ("taskexecutor", "standalonesession") for x in ("log", "out")]
    for name in names:
        (log / name).write_bytes(b"2026-12-02 04:48:00,000 INFO  a [] - b\n" * 1000)
    (log / "flink-u-client-h.log").write_bytes(b"not read\n")
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "stat").write_bytes(Path("/proc/stat").read_bytes())
    (root / "proc" / "self").mkdir()
    (root / "proc" / "self" / "status").write_bytes(Path("/proc/self/status").read_bytes())  # else nproc runs
    fake = tmp_path / "bin"  # a dmesg that says which lines the kernel has
    fake.mkdir()
    (fake / "dmesg").write_text(f"#!/bin/sh\necho '{KERNEL_LINES[kernel]}'\n")
    (fake / "dmesg").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
    script = proto.build_script(str(home), str(home / "conf"), 1 << 20, root=str(root),
                                logs=(str(log) if given else None, 4096))
    with contextlib.ExitStack() as stack:
        if source == "kmsg":
            stack.enter_context(kmsg_stand_in.kmsg(root, [KMSG[kernel][0]]))
        programs, _processes, stdout = traced(tmp_path, "/bin/dash", script, env)
    got = proto.interpret(proto.parse_frames(stdout.decode("ascii")))
    logs = diagnose_tail.entries(got.logs, None)
    (entry,) = [e for e in logs if e.get("kind") == "kernel"]
    assert sorted(e["file"].rsplit("/", 1)[-1] for e in logs if e.get("excerpt")) == sorted(names)
    expected = {"base64": 1, "head": 2, "wc": 1, "ls": 2, "tail": 1, "awk": 2, source: 1}
    if source == "kmsg":
        expected = {"dd" if k == "kmsg" else k: v for k, v in expected.items()}
    if not given:
        expected["awk"] += 1
    line = KMSG[kernel][1] if source == "kmsg" else KERNEL_LINES[kernel]
    if kernel == "kernel OOM kill":
        assert entry["lines"] == [line] and re.fullmatch(r"[+-]\d{4}", entry["utc_offset"])
    else:
        assert entry["lines"] == [] and "utc_offset" not in entry
    assert isinstance(entry["boot_time"], int)
    assert dict(programs) == expected


# POSIX TZ strings (no zone files needed): west of UTC is positive in them, negative in date +%z.
ZONES = ("UTC0", "IST-5:30", "NST3:30", "XYZ-5:45")


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("awk", list(host_awks.AWKS))
@pytest.mark.parametrize("readable", [True, False], ids=["log dir readable", "no log dir"])
def test_the_utc_offset_is_the_one_date_gives(tmp_path, awk, zone, readable):
    """With an OOM kill among the kernel's lines, the offset the gather ships is date +%z's in the host's TZ,
    whichever awk the host has. It comes from the probe awk's strftime where the log dir is readable and the awk
    has strftime (mawk 1.3.4, gawk, busybox); else (BWK's awk, or no log dir, so no probe) from date, run by the
    excerpt awk's sh as before."""
    log = tmp_path / "log"
    if readable:
        log.mkdir()
        (log / "flink-u-taskexecutor-0-h.log").write_bytes(b"2026-12-02 04:48:00,000 INFO  a [] - b\n")
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    (root / "proc" / "stat").write_bytes(b"cpu 1 2 3\nbtime 1764650000\n")
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "awk").symlink_to(host_awks.path(awk))
    (tools / "dmesg").write_text(f"#!/bin/sh\necho '{KERNEL_LINES['kernel OOM kill']}'\n")
    (tools / "dmesg").chmod(0o755)
    for tool in ("tail", "tr", "ls", "cat", "date", "sh"):
        (tools / tool).symlink_to(shutil.which(tool))
    script = f"h=; c=/nonexistent; r={root}; ld={log}; lb=4096\n" + diagnose_tail.LOGS_SH
    programs, _processes, stdout = traced(tmp_path, "/bin/dash", script, {"PATH": str(tools), "TZ": zone})
    want = subprocess.run(["date", "+%z"], capture_output=True, text=True, check=True,
                          env={"TZ": zone}).stdout.strip()
    (entry,) = [e for e in diagnose_tail.entries(fragment_records.records(stdout), str(log))
                if e.get("kind") == "kernel"]
    assert entry["utc_offset"] == want and want and (want == "+0000") == (zone == "UTC0")
    from_probe = readable and awk != "bwk"
    assert programs["date"] == (0 if from_probe else 1), programs


@pytest.mark.skipif(STRACE is None, reason="strace is not installed (apt-get install strace)")
@pytest.mark.parametrize("awk", list(host_awks.AWKS))
def test_an_awk_that_cannot_hold_nul_gets_its_tails_through_tr(tmp_path, awk):
    """With busybox's or BWK's awk the tails go through tr -d, as before 2026-12-06; with mawk and gawk they do
    not. The same excerpt as this machine's awk ships, either way."""
    log = tmp_path / "log"
    log.mkdir()
    (log / "flink-u-taskexecutor-0-h.log").write_bytes(b"2026-12-02 04:48:00,000 INFO  a [] - b\x00c\x01d\n" * 50)
    tools = tmp_path / "tools"
    tools.mkdir()
    (tools / "awk").symlink_to(host_awks.path(awk))
    for tool in ("dd", "tail", "tr", "ls", "cat", "date", "dmesg"):
        if shutil.which(tool):
            (tools / tool).symlink_to(shutil.which(tool))
    script = f"h=; c=/nonexistent; r=; ld={log}; lb=4096\n" + diagnose_tail.LOGS_SH
    excerpts = []
    for env in ({"PATH": str(tools)}, dict(os.environ)):
        programs, _processes, stdout = traced(tmp_path, "/bin/dash", script, env)
        holds_nul = awk in host_awks.HOLDS_NUL if env.get("PATH") == str(tools) else True  # this machine's: mawk
        assert programs["tr"] == (0 if holds_nul else 1), programs
        at = stdout.index(b"@@logs\n")
        excerpts.append(stdout[at:stdout.index(b"!kernel", at)])
    assert excerpts[0] == excerpts[1] and b"- bcd\n" in excerpts[0] and b"\x00" not in excerpts[0]
