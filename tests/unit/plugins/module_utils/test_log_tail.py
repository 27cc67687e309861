"""module_utils/log_tail.py (env.log.dir, the kernel entry, redaction), and the whole-tail fragment it served
(tests/unit/plugins/plugin_utils/reference/log_tail_whole.py, the reference test_diagnose_tail.py compares the
excerpt against) in every POSIX shell of the gather's matrix: newest file first, bounded, Flink's files only, the
kernel's lines or why they cannot be read; parsed into the diagnose filter's ``logs``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils import log_tail

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin_utils" / "reference"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin_utils"))
import host_awks  # noqa: E402  (the awks a host may have)
import log_tail_whole as whole  # noqa: E402  (the whole-tail fragment, frozen: not a package)

SHELLS = {"dash": ["/bin/dash", "-c"], "bash": ["/bin/bash", "--posix", "-c"], "busybox": ["busybox", "sh", "-c"],
          "mksh": ["/usr/bin/mksh", "-c"], "yash": ["/usr/bin/yash", "-c"], "posh": ["/usr/bin/posh", "-c"]}


def records(out: bytes) -> list:
    found, pos = [], 0
    while pos < len(out):
        eol = out.index(b"\n", pos)
        head = out[pos:eol].decode()
        end = out.index(b"\0", eol + 1)
        found.append((head, out[eol + 1:end]))
        pos = end + 1
    return found


@pytest.mark.parametrize("shell", list(SHELLS))
def test_tail_newest_first_bounded_flink_files_only(shell, tmp_path):
    argv = SHELLS[shell]
    if not shutil.which(argv[0]):
        pytest.fail(f"{argv[0]} is missing: tools/bootstrap.sh installs the shell matrix")
    log = tmp_path / "log"
    log.mkdir()
    old = log / "flink-u-taskexecutor-0-h.log.1"  # a rotated file: not Flink's current log
    old.write_text("rotated\n")
    big = log / "flink-u-taskexecutor-0-h.log"
    big.write_bytes(b"".join(b"line %06d\n" % i for i in range(100000)))  # 1.2 MB
    out = log / "flink-u-taskexecutor-0-h.out"
    out.write_bytes(b"[ERROR] Could not get JVM parameters\x00 and dynamic configurations properly.\n")
    (log / "notes.txt").write_text("not Flink's\n")
    os.utime(big, (1, 1))  # the .out is newer
    script = f"ld={log}; lb=4096\n" + whole.LOGS_SH_TAILS
    proc = subprocess.run([*argv, script], capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    got = records(proc.stdout)
    assert [h.split()[1] for h, _p in got if h.startswith("@@log ")] == [out.name, big.name]
    head, payload = next(r for r in got if r[0].startswith(f"@@log {big.name}"))
    assert head == f"@@log {big.name} {big.stat().st_size} 4096" and len(payload) == 4096
    assert payload.endswith(b"line 099999\n")
    entry = whole.log_entry(str(log), *head.split()[1:], payload)
    lines = entry["text"].splitlines()
    assert entry["truncated"] and "first_line" not in entry and lines[-1] == "line 099999"
    assert all(len(line) == 11 for line in lines)  # the cut first line is dropped
    head, payload = next(r for r in got if r[0].startswith(f"@@log {out.name}"))
    entry = whole.log_entry(str(log), *head.split()[1:], payload)
    assert entry["first_line"] == 1
    assert entry["text"] == "[ERROR] Could not get JVM parameters and dynamic configurations properly.\n"
    kernel = got[-1]
    assert kernel[0].split()[0] == "@@kernel" and kernel[0].split()[1] in ("dmesg", "journalctl", "none")


def test_missing_log_dir_and_refused_dmesg_are_reported(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dmesg").write_text("#!/bin/sh\necho 'dmesg: read kernel buffer failed: Operation not permitted' >&2\n"
                                "exit 1\n")
    (fake / "dmesg").chmod(0o755)
    (fake / "journalctl").write_text("#!/bin/sh\necho 'No journal files were found.' >&2\nexit 1\n")
    (fake / "journalctl").chmod(0o755)  # a journalctl without journald: the fallback fails too
    env = dict(os.environ, PATH=f"{fake}:/usr/bin:/bin")
    script = f"ld={tmp_path / 'nowhere'}; lb=4096\n" + whole.LOGS_SH
    proc = subprocess.run(["/bin/dash", "-c", script], capture_output=True, timeout=60, env=env, check=False)
    got = records(proc.stdout)
    assert got[0] == ("@@logdir absent", str(tmp_path / "nowhere").encode())
    head, payload = got[1]
    assert head == "@@kernel none"
    entry = log_tail.kernel_entry("none", payload)
    assert "Operation not permitted" in entry["error"] and "lines" not in entry


def test_entries_hide_sensitive_values_and_report_a_missing_dir():
    got = whole.entries([
        ("log", ["flink-u-taskexecutor-0-h.log", "60", "60"],
         b"a: 1\nLoading configuration property: s3.secret-key, abc\n-Dpassword=hunter2 x\n"),
        ("kernel", ["dmesg"], b"[ 1.0] Memory cgroup out of memory: Killed process 7 (java)\n"),
        ("logdir", ["noaccess"], b""),
    ], "/var/log/flink")
    assert got[0]["file"] == "/var/log/flink/flink-u-taskexecutor-0-h.log"
    assert got[0]["text"] == "a: 1\nLoading configuration property: s3.secret-key, ******\n-Dpassword=******\n"
    assert got[1]["lines"] == ["[ 1.0] Memory cgroup out of memory: Killed process 7 (java)"]
    assert got[2] == {"file": "/var/log/flink", "kind": "log", "error": "log dir noaccess"}


def test_gather_with_logs_returns_them_in_the_same_command(tmp_path):
    from ansible_collections.flinkops.flink.plugins.plugin_utils.gather_protocol import build_script
    from ansible_collections.flinkops.flink.plugins.plugin_utils.gather_result import build_result, read_answer

    conf, log = tmp_path / "conf", tmp_path / "log"
    conf.mkdir()
    log.mkdir()
    (conf / "config.yaml").write_text("taskmanager.memory.process.size: 1g\n")
    (log / "flink-u-taskexecutor-0-h.log").write_text(
        "2026-12-02 04:48:40,164 WARN  x [] - failed\njava.io.IOException: Insufficient number of network buffers\n"
        "s3.secret-key=abc\n")
    script = build_script(None, str(conf), 1 << 20, logs=(str(log), 4096))
    proc = subprocess.run(["/bin/dash", "-c", script], capture_output=True, text=True, timeout=60, check=False)
    got = read_answer({"stdout": proc.stdout, "stderr": proc.stderr, "rc": proc.returncode}, "h1", str(conf))
    result, _warnings = build_result(got, "h1", flink_home=None, conf_dir=str(conf), flink_version="2.3.0",
                                     processes=["taskmanager"], max_file_size=1 << 20, log_dir=str(log))
    entry = result["logs"][0]  # the lines diagnose reads, one text, numbered (plugins/plugin_utils/diagnose_tail.py)
    assert entry["file"] == str(log / "flink-u-taskexecutor-0-h.log") and entry["line_numbers"] == "1-3"
    lines = entry["text"].split("\n")
    assert lines[1] == "java.io.IOException: Insufficient number of network buffers"
    assert lines[2] == "s3.secret-key=******"
    assert result["logs"][-1]["kind"] == "kernel"
    # Without logs, no log record and no logs key (the one command as before).
    script = build_script(None, str(conf), 1 << 20)
    assert "tail -c" not in script


# (file name, its text) -> the dir Flink's bin/config.sh logs to, as the file sets it
ENV_LOG_DIRS = [
    ("config.yaml", "env:\n  java:\n    opts:\n      all: -Dx=1\n  log:\n    dir: {d}  # ours\n"),
    ("config.yaml", "taskmanager.numberOfTaskSlots: 2\nenv.log.dir: \"{d}\"\n"),
    ("config.yaml", "env:\n  log.dir: '{d}'\nenv.log.max: 5\n"),
    ("flink-conf.yaml", "# env.log.dir: /nowhere\nenv.log.dir: {d}\n"),
]


@pytest.mark.parametrize("shell", list(SHELLS))
@pytest.mark.parametrize(("name", "text"), ENV_LOG_DIRS)
def test_log_dir_from_env_log_dir_in_the_file(shell, name, text, tmp_path):
    argv = SHELLS[shell]
    if not shutil.which(argv[0]):
        pytest.fail(f"{argv[0]} is missing: tools/bootstrap.sh installs the shell matrix")
    home, conf, logs = tmp_path / "flink", tmp_path / "conf", tmp_path / "var log"
    for d in (home / "log", conf, logs):
        d.mkdir(parents=True)
    (conf / name).write_text(text.format(d=logs))
    (logs / "flink-u-taskexecutor-0-h.log").write_text("from env.log.dir\n")
    (home / "log" / "flink-u-taskexecutor-0-h.log").write_text("from the home\n")
    # not given, or given as the default the action passes: the file's env.log.dir
    for given in ("", str(home / "log")):
        script = f"h='{home}'; c='{conf}'; r=; ld='{given}'; lb=4096\n" + whole.LOGS_SH_TAILS
        proc = subprocess.run([*argv, script], capture_output=True, timeout=60, check=False)
        assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
        got = records(proc.stdout)
        assert got[0] == ("@@logdir file", str(logs).encode())
        assert got[1][1] == b"from env.log.dir\n"
        entry = whole.entries([(h.split()[0][2:], h.split()[1:], b) for h, b in got], given or None)[0]
        assert entry["file"] == f"{logs}/flink-u-taskexecutor-0-h.log"
    # given (flink_log_dir): that dir
    other = tmp_path / "other"
    other.mkdir()
    script = f"h='{home}'; c='{conf}'; r=; ld='{other}'; lb=4096\n" + whole.LOGS_SH_TAILS
    got = records(subprocess.run([*argv, script], capture_output=True, timeout=60, check=False).stdout)
    assert got[0] == ("@@logdir given", str(other).encode())



# Beyond ENV_LOG_DIRS (each read with a dir holding a space): a value quoted around " # ", no env.log.dir (a
# top-level log: dir is not it), a dir that is not ASCII before a document marker.
ENV_LOG_DIR_MORE = [
    ("config.yaml", 'env.log.dir: "{d} # not a comment"\n', " # not a comment"),
    ("config.yaml", "env:\n  log:\n    max: 3\nlog:\n  dir: {d}\n", None),
    ("config.yaml", "env.log.dir: {d}\u00e9t\u00e9\t\n---\n- a\n", "\u00e9t\u00e9"),
]


@pytest.mark.parametrize("awk", list(host_awks.AWKS))
@pytest.mark.parametrize(("name", "text", "after"), [(n, t, "") for n, t in ENV_LOG_DIRS] + ENV_LOG_DIR_MORE)
def test_the_log_dir_awk_reads_env_log_dir_alike_in_every_awk(tmp_path, awk, name, text, after):
    """env.log.dir, flat or nested, quoted or not, as each awk a host may have reads it (gawk in this test's
    UTF-8 locale counts characters where mawk counts bytes)."""
    conf = tmp_path / name
    conf.write_text(text.format(d="/var/log/a b"), encoding="utf-8")
    got = subprocess.run([*host_awks.argv(awk), log_tail.ENV_LOG_DIR_AWK, str(conf)], capture_output=True, check=True)
    want = "" if after is None else f"/var/log/a b{after}\n"
    assert (got.stdout.decode(), got.stderr) == (want, b"")

def test_log_dir_defaults_to_the_home_without_env_log_dir(tmp_path):
    home, conf = tmp_path / "flink", tmp_path / "conf"
    (home / "log").mkdir(parents=True)
    conf.mkdir()
    (conf / "config.yaml").write_text("env:\n  log:\n    max: 3\n# env.log.dir: /x\n")
    script = f"h='{home}/'; c='{conf}'; r=; ld=; lb=4096\n" + whole.LOGS_SH
    got = records(subprocess.run(["/bin/dash", "-c", script], capture_output=True, timeout=60, check=False).stdout)
    assert got[0] == ("@@logdir home", f"{home}/log".encode())


def test_kernel_lines_carry_the_hosts_clock(tmp_path):
    proc_dir = tmp_path / "proc"
    proc_dir.mkdir()
    (proc_dir / "stat").write_text("cpu  1 2 3\nbtime 1796197964\nprocesses 9\n")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dmesg").write_text("#!/bin/sh\necho '[  602.939908] Memory cgroup out of memory: Killed process 24078 "
                                "(java) total-vm:2846064kB'\necho '[  603.0] unrelated'\n")
    (fake / "dmesg").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:/usr/bin:/bin", TZ="UTC+02")
    script = f"h=; c=/nowhere; r='{tmp_path}'; ld=; lb=4096\n" + whole.LOGS_SH
    got = records(subprocess.run(["/bin/dash", "-c", script], capture_output=True, timeout=60, env=env,
                                 check=False).stdout)
    head, payload = got[-1]
    entry = log_tail.kernel_entry(head.split()[1], payload)
    assert entry["boot_time"] == 1796197964 and entry["utc_offset"] == "-0200"
    assert entry["lines"] == [
        "[  602.939908] Memory cgroup out of memory: Killed process 24078 (java) total-vm:2846064kB"]


def test_redact_text_hides_what_redact_line_hides_line_by_line():
    folder = Path(__file__).resolve().parents[2] / "plugins" / "plugin_utils" / "fixtures" / "diagnose" / "2.3"
    text = (folder / "heap-oom" / "tm1__flink-tm1-taskexecutor-0-vm.log").read_text()
    text += ("x Loading configuration property: s3.SECRET-key, zq9secret1\n-Dpassword=hunter2 x\nTOKEN=t0k\n"
             "fs.azure.account.key: K\nno secret here, said the token\nİnfo password=p1\n")
    want = "\n".join(log_tail.redact_line(line) for line in text.split("\n"))
    assert log_tail.redact_text(text) == want
    assert "hunter2" not in want and "zq9secret1" not in want
    plain = text.replace("İnfo password=p1\n", "")  # without the dotted capital I: the fast path
    assert log_tail.redact_text(plain) == "\n".join(log_tail.redact_line(line) for line in plain.split("\n"))
