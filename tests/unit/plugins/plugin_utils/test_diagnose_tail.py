"""The gather's logs fragment (plugins/plugin_utils/diagnose_tail.py) in every POSIX shell of the matrix: it
ships only the lines diagnose reads, numbered as in the file, and diagnose finds in them exactly what it
found in the whole tail the gather shipped before (reference/log_tail_whole.py, the old fragment, run beside it
on every captured failure of 1.20 and 2.3, whole and cut to a tail)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.flinkops.flink.plugins.module_utils.options import REDACTED
from ansible_collections.flinkops.flink.plugins.plugin_utils import diagnose as dg
from ansible_collections.flinkops.flink.plugins.plugin_utils import diagnose_tail as dt

sys.path.insert(0, str(Path(__file__).resolve().parent / "reference"))
import fragment_records  # noqa: E402  (beside this file)
import host_awks  # noqa: E402  (beside this file)
import kmsg_stand_in  # noqa: E402  (beside this file)
import log_tail_whole as whole  # noqa: E402  (the whole-tail fragment, frozen: not a package)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "diagnose"
SHELLS = {"dash": ["/bin/dash", "-c"], "bash": ["/bin/bash", "--posix", "-c"],
          "busybox": ["/usr/bin/busybox", "sh", "-c"], "mksh": ["/usr/bin/mksh", "-c"],
          "yash": ["/usr/bin/yash", "-c"], "posh": ["/usr/bin/posh", "-c"]}
CASES = sorted((line.name, case.name) for line in FIXTURES.iterdir() if line.is_dir()
               for case in line.iterdir() if (case / "case.json").is_file())
GATHERED = ("taskexecutor", "standalonesession", "zookeeper")


def numbered(entry: dict) -> tuple:
    """(line numbers, lines) of an excerpt as the gather ships it: one text, its numbers as runs."""
    numbers = dt.numbers_of(entry["line_numbers"])
    return numbers, dt.excerpt_lines(entry["text"], numbers)


def run(shell: str, fragment: str, log_dir: Path | str, max_bytes: int, env: dict | None = None,
        home: str = "", conf: str = "", root: Path | str = "") -> list:
    argv = SHELLS[shell]
    if not shutil.which(argv[0]):
        pytest.fail(f"{argv[0]} is missing: tools/bootstrap.sh installs the shell matrix")
    script = f"h='{home}'; c='{conf}'; r='{root}'; ld='{log_dir}'; lb={max_bytes}\n" + fragment
    proc = subprocess.run([*argv, script], capture_output=True, timeout=120, env=env, check=False)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    return fragment_records.records(proc.stdout)


def fleet(line: str, case: str, root: Path) -> tuple[dict, dict]:
    """The case's hosts with their Flink logs in a log dir each (as Flink wrote them), and the kernel entries
    the case captured (kept out of the gather: this machine's dmesg changes while tests run)."""
    folder = FIXTURES / line / case
    data = json.loads((folder / "case.json").read_text())
    hosts, kernel = {}, {}
    for host, record in data["hosts"].items():
        log_dir = root / host
        log_dir.mkdir(parents=True)
        kernel[host] = []
        for i, entry in enumerate(record["logs"]):
            base = entry["file"].rsplit("/", 1)[-1]
            if any(f"-{d}-" in base for d in GATHERED):
                (log_dir / base).write_bytes((folder / entry["fixture"]).read_bytes())
                os.utime(log_dir / base, (1000 + i, 1000 + i))
            else:
                kernel[host].append({"file": entry["file"], "text": (folder / entry["fixture"]).read_text(
                    errors="replace"), **{k: entry[k] for k in ("boot_time", "utc_offset") if k in entry}})
        hosts[host] = dict(record, logs=None, mem_total_bytes=8 << 30, cgroup_memory_limit_bytes=None)
    return hosts, kernel


def gathered(hosts: dict, kernel: dict, root: Path, shell: str, max_bytes: int, new: bool) -> dict:
    out = {}
    for host, record in hosts.items():
        if new:  # the kernel's lines come in the one @@logs record, after the excerpts
            logs = [e for e in dt.entries(run(shell, dt.LOGS_SH, root / host, max_bytes), None)
                    if e.get("kind") != "kernel"]
        else:
            logs = whole.entries([r for r in run(shell, whole.LOGS_SH_TAILS, root / host, max_bytes)
                                     if r[0] != "kernel"], None)
        out[host] = dict(record, logs=logs + kernel[host])
    return out


AWKS = host_awks.AWKS

# Every case in dash, whole and as a tail cut at 12 KiB (its first line dropped, its records cut); in the other
# shells (the same awk: the shell runs the loop around it) three cases, whole and cut. Busybox's own awk, tail and
# tr: test_the_whole_gather_with_logs_in_every_shell.
OTHERS = [("2.3", "heap-oom"), ("1.20", "refused-config"), ("2.3", "oom-killed")]
RUNS = ([("dash", size, line, case) for line, case in CASES for size in (1 << 24, 12 * 1024)]
        + [(shell, size, line, case) for shell in SHELLS if shell != "dash" for line, case in OTHERS
           for size in (1 << 24, 12 * 1024)])


@pytest.mark.parametrize(("shell", "max_bytes", "line", "case"), RUNS,
                         ids=[f"{s}-{'whole' if b > 1 << 20 else 'tail-12k'}-{ln}-{c}" for s, b, ln, c in RUNS])
def test_excerpt_diagnoses_as_the_whole_tail(tmp_path, shell, max_bytes, line, case):
    hosts, kernel = fleet(line, case, tmp_path)
    before = dg.diagnose(gathered(hosts, kernel, tmp_path, shell, max_bytes, new=False))
    results = gathered(hosts, kernel, tmp_path, shell, max_bytes, new=True)
    after = dg.diagnose(results)
    assert after == before
    if max_bytes == 1 << 24:
        assert after["summary"]["diagnoses"], after  # the captured failure is found, not nothing on both sides
        for record in results.values():  # every line shipped is that line of the file, byte for byte
            for entry in record["logs"]:
                if entry.get("excerpt"):
                    lines = Path(entry["file"]).read_text(errors="replace").split("\n")
                    assert all(lines[n - 1] == text for n, text in zip(*numbered(entry), strict=True))


def test_signatures_hold_every_text_diagnose_reads():
    assert {rule.needle for rule in dg.RULES} <= set(dt.SIGNATURES)
    assert set(dg._JM_OWN) <= set(dt.SIGNATURES)
    assert any(s in dg.REQUIRED_SLOTS.pattern for s in dt.SIGNATURES)
    assert next(r.needle for r in dg.RULES if r.code == "refused-config") == dt.REFUSED


@pytest.mark.parametrize("texts", [
    dt.SIGNATURES,
    ("abc", "abd", "ab"),  # one text the prefix of others: it alone finds them all
    ("a.b", "a*b", "(x)|[y]", "p/q", "^$", "\\z", "{1}+?"),  # every ERE metacharacter taken literally
    ("same", "same", "other"),
])
def test_one_expression_finds_exactly_where_a_text_stands(texts):
    """_ere_alternation (the awk's one search for the signatures) matches a line exactly when one of the texts
    stands in it; checked with Python's re (the expression uses only what POSIX ERE and re read alike) and with
    the host's awk and busybox's on the same lines."""
    import re

    expression = dt._ere_alternation(texts)
    lines = [f"x {t} y" for t in texts] + [f"{t[:-1]}#{t[-1:]}" for t in texts if len(t) > 1] + ["", "none here"]
    want = [any(t in line for t in texts) for line in lines]
    assert [bool(re.search(expression, line)) for line in lines] == want
    program = "{ print ($0 ~ /" + expression + "/) ? 1 : 0 }"
    for awk in (["awk"], [shutil.which("busybox") or "busybox", "awk"]):
        got = subprocess.run([*awk, program], input="\n".join(lines) + "\n", capture_output=True, text=True,
                             check=True).stdout.split()
        assert got == ["1" if w else "0" for w in want], awk


RECORD = "2026-12-02 04:48:{:02d},000 INFO  org.apache.flink.runtime.taskexecutor.TaskExecutor [] - {}"


@pytest.mark.parametrize("shell", ["dash", "busybox"])
def test_every_signature_is_shipped_wherever_it_stands(tmp_path, shell):
    """Each text diagnose looks for, in a line of a trace (as "Caused by: ..." and an exception's first line stand),
    in a record head and as the first record (kept anyway), is shipped; a refusal kept as the first record still
    opens its cause window. The awk looks for all of them with one regular expression, common prefixes factored
    out (diagnose_tail._ere_alternation): a text lost or garbled in the factoring would go missing here. A stack
    frame holding one is not shipped (not searched: see the next test)."""
    assert dt.REFUSED in dt.SIGNATURES  # the window opens on a signature's hit
    log = tmp_path / "log"
    log.mkdir()
    lines = [RECORD.format(0, dt.REFUSED), "Caused by: near"]
    for i, text in enumerate(dt.SIGNATURES):
        lines += [RECORD.format(1, f"filler {i}")] * 30 + [f"\tx.Y{i}: {text}!", f"\tat x.Y{i}(Y.java:1) {text}!"]
        lines += [RECORD.format(1, f"filler {i}")] * 30 + [RECORD.format(2, f"head {text}.")]
    lines += [RECORD.format(1, "filler")] * 30 + ["Caused by: far"] + [RECORD.format(1, "filler")] * 30
    (log / "flink-u-taskexecutor-0-h.log").write_text("\n".join(lines) + "\n")
    entry = dt.entries(run(shell, dt.LOGS_SH, log, 1 << 20), None)[0]
    shipped = dict(zip(*numbered(entry), strict=True))
    for n, text in enumerate(lines, 1):
        if any(s in text for s in dt.SIGNATURES) and not text.startswith("\tat "):
            assert shipped.get(n) == text, (n, text)
    assert not any(text.startswith("\tat ") for text in shipped.values())
    assert lines.index("Caused by: far") + 1 not in shipped  # more than 200 lines after the refusal
    assert shipped[1] == lines[0] and shipped[2] == "Caused by: near" and "filler 0" not in shipped.values()


@pytest.mark.parametrize("shell", ["dash", "busybox"])
def test_stack_frames_are_counted_and_kept_as_context_but_not_searched(tmp_path, shell):
    """A frame ("<tab>at class.method(File.java:n)") names no failure's message and is no record head: the awk
    does not search it (half the lines of a log with failures), yet counts it, and ships it among the newest."""
    log = tmp_path / "log"
    log.mkdir()
    frame = "\tat org.example.Frame.run(Frame.java:1) OutOfMemoryError: Java heap space"
    lines = [RECORD.format(0, "start"), frame, "Caused by: java.lang.OutOfMemoryError: Java heap space", frame]
    lines += [RECORD.format(1, f"filler {i}") for i in range(40)] + [frame, RECORD.format(2, "last")]
    (log / "flink-u-taskexecutor-0-h.log").write_text("\n".join(lines) + "\n")
    entry = dt.entries(run(shell, dt.LOGS_SH, log, 1 << 20), None)[0]
    shipped = dict(zip(*numbered(entry), strict=True))
    assert shipped[3] == lines[2] and 2 not in shipped and 4 not in shipped  # the cause, not the frames
    assert shipped[len(lines) - 1] == frame and shipped[len(lines)] == lines[-1]  # the newest lines, numbered


@pytest.mark.parametrize("shell", list(SHELLS))
@pytest.mark.parametrize("awk", list(AWKS))  # mawk and gawk drop NUL and \001 themselves, the others after tr
def test_what_a_tail_ships(tmp_path, shell, awk):
    log = tmp_path / "log"
    log.mkdir()
    lines = [RECORD.format(0, "Starting TaskManager (Version: 2.3.0, Scala: 2.12)")]
    lines += [RECORD.format(1, f"filler {i}") for i in range(100)]
    lines += [RECORD.format(2, "Task failed."), "java.lang.RuntimeException: boom"]
    lines += [f"\tat org.example.Frame{i}(Frame.java:{i})" for i in range(50)]
    lines += ["Caused by: java.lang.OutOfMemoryError: Java heap space", "\tat org.example.Deep(Deep.java:1)"]
    lines += [RECORD.format(3, f"after {i}") for i in range(40)]
    lines += [RECORD.format(4, "Loading configuration property: s3.secret-key, hunter2 TaskManager with id x")]
    tm = log / "flink-u-taskexecutor-0-h.log"
    tm.write_text("\n".join(lines))  # no final newline: the next file's marker comes after it
    out = log / "flink-u-taskexecutor-0-h.out"
    out.write_bytes(b"x\x00y\x01z\n[ERROR] Could not get JVM parameters and dynamic configurations properly.\n"
                    + b"\n".join(b"noise %d" % i for i in range(30)) + b"\nException: early\nCaused by: de\x00e\x01p\n")
    os.utime(tm, (1, 1))  # the .out is newer: first
    got = run(shell, dt.LOGS_SH, log, 1 << 20, env=tools_with_awk(tmp_path, awk))
    assert [r[0] for r in got] == ["logdir", "logs"]
    entries = dt.entries(got, None)
    assert [e.get("kind") for e in entries] == [None, None, "kernel"]
    console, taskmanager = entries[0], entries[1]
    assert console["file"] == str(out) and taskmanager["file"] == str(tm)
    assert not taskmanager["truncated"] and taskmanager["size"] == tm.stat().st_size
    by_number = dict(zip(*numbered(taskmanager), strict=True))
    text = tm.read_text().split("\n")
    # the JVM's start (the first record), the failure's record head 52 lines above it, the cause; the newest
    # 20 lines; nothing of the 100 fillers
    assert by_number[1] == text[0] and by_number[102] == text[101] and by_number[154] == text[153]
    assert not any("filler" in line for line in numbered(taskmanager)[1])
    assert sorted(by_number)[-20:] == list(range(len(text) - 19, len(text) + 1))
    assert by_number[len(text)].endswith(f"s3.secret-key, {REDACTED}")  # the last line, redacted
    # the console: the refusal, the cause window after it, NUL and \001 dropped
    numbers, lines = numbered(console)
    assert lines[0] == "[ERROR] Could not get JVM parameters and dynamic configurations properly."
    assert numbers[-2:] == [33, 34] and lines[-2:] == ["Exception: early", "Caused by: deep"]
    found = dg.diagnose({"h": {"config": {}, "flink_version": "2.3.0", "processes": ["taskmanager"],
                               "mem_total_bytes": 8 << 30, "cgroup_memory_limit_bytes": None, "logs": entries}})
    codes = {d["code"]: d for d in found["hosts"]["h"]}
    assert codes["heap-oom"]["evidence"]["line"] == 154
    assert codes["heap-oom"]["evidence"]["record"] == text[101]
    assert codes["refused-config"]["evidence"]["cause"] == "Caused by: deep"



@pytest.mark.parametrize("shell", ["dash", "busybox"])
def test_frames_holding_nul_ship_as_after_tr(tmp_path, shell):
    """A frame goes to the ring as it comes, NUL and \001 in it (the fast rule), and the newest lines lose them only
    when shipped; a frame with NUL before its "\tat " is one after they go, so the other rule sees it. mawk (no tr)
    ships what busybox's awk ships after tr, byte for byte, and what the file holds without those bytes."""
    log = tmp_path / "log"
    log.mkdir()
    frames = [b"\tat org.example.A(A.java:1)", b"\tat org.ex\x00ample.B(B.java:\x012)", b"\x00\x01\tat org.example.C",
              b"\t\x00at org.example.D", b"\x00\x00", b"\tat org.example.E"]
    head = RECORD.format(2, "Task failed.").encode()
    body = [RECORD.format(1, f"filler {i}").encode() for i in range(30)]
    body += [head, b"Caused by: java.lang.OutOfMemoryError: Java \x00heap space", *frames * 3]
    body += [RECORD.format(3, f"after {i}").encode() for i in range(25)] + [head, *frames * 4]
    tm = log / "flink-u-taskexecutor-0-h.log"
    tm.write_bytes(b"\n".join(body) + b"\n")
    shipped = {}
    for awk in AWKS:
        (tools := tmp_path / awk).mkdir()
        (entry, _kernel) = dt.entries(run(shell, dt.LOGS_SH, log, 1 << 20, env=tools_with_awk(tools, awk)), None)
        shipped[awk] = (entry["line_numbers"], entry["text"])
    assert shipped["gawk"] == shipped["mawk"] == shipped["busybox"] == shipped["bwk"]
    clean = [line.replace(b"\x00", b"").replace(b"\x01", b"").decode() for line in body]
    numbers = dt.numbers_of(shipped["mawk"][0])
    assert shipped["mawk"][1].split("\n") == [clean[k - 1] for k in numbers]
    assert numbers[-20:] == list(range(len(body) - 19, len(body) + 1))  # the newest 20, frames with NUL among them
    assert 32 in numbers  # the cause, found once NUL is gone


@pytest.mark.parametrize("shell", ["dash", "busybox", "posh"])
def test_a_cut_tail_counts_from_its_first_whole_line(tmp_path, shell):
    log = tmp_path / "log"
    log.mkdir()
    lines = [RECORD.format(i % 60, f"record {i:05d}") for i in range(3000)]
    lines[2970] = RECORD.format(9, "java.lang.OutOfMemoryError: Java heap space")
    (log / "flink-u-taskexecutor-0-h.log").write_text("\n".join(lines) + "\n")
    got = run(shell, dt.LOGS_SH, log, 8192)
    entry = dt.entries(got, None)[0]
    tail = (log / "flink-u-taskexecutor-0-h.log").read_bytes()[-8192:].decode().split("\n", 1)[1].split("\n")
    assert entry["truncated"]
    assert all(tail[n - 1] == t for n, t in zip(*numbered(entry), strict=True))
    assert numbered(entry)[1][0] == tail[0]  # the tail's first whole record
    assert len(numbered(entry)[1]) == 22  # first record, the hit, the newest 20


def test_excerpt_is_a_small_part_of_a_big_log(tmp_path):
    """What the benchmark's hosts ship: a 10 MiB log of the captured heap-oom repeated, its tail of 256 KiB."""
    source = (FIXTURES / "2.3" / "heap-oom" / "tm1__flink-tm1-taskexecutor-0-vm.log").read_bytes()
    log = tmp_path / "log"
    log.mkdir()
    (log / "flink-u-taskexecutor-0-h.log").write_bytes(source * (10 * (1 << 20) // len(source)))
    got = run("dash", dt.LOGS_SH, log, 256 * 1024)
    payload = dt.split_logs(next(p for kind, _a, p in got if kind == "logs"))[0]
    assert len(payload) * 10 < 256 * 1024, len(payload)


@pytest.mark.parametrize("shell", list(SHELLS))
def test_log_dir_given_from_the_file_or_the_home(tmp_path, shell):
    home = tmp_path / "flink"
    for sub in ("conf", "log", "elsewhere"):
        (home / sub).mkdir(parents=True)
    (home / "conf" / "config.yaml").write_text(f"env:\n  log:\n    dir: '{home / 'elsewhere'}'  # ours\n")
    # given, even when it is <flink_home>/log and the file names another dir (bin/config.sh: FLINK_LOG_DIR wins)
    got = run(shell, dt.LOGS_SH, home / "log", 4096, home=str(home), conf=str(home / "conf"))
    assert got[0] == ("logdir", ["given"], str(home / "log").encode())
    got = run(shell, dt.LOGS_SH, "", 4096, home=str(home), conf=str(home / "conf"))
    assert got[0] == ("logdir", ["file"], str(home / "elsewhere").encode())
    (home / "conf" / "config.yaml").write_text("a: 1\n")
    got = run(shell, dt.LOGS_SH, "", 4096, home=str(home), conf=str(home / "conf"))
    assert got[0] == ("logdir", ["home"], str(home / "log").encode())
    got = run(shell, dt.LOGS_SH, tmp_path / "nowhere", 4096)
    assert got[0] == ("logdir", ["absent"], str(tmp_path / "nowhere").encode()) and got[1][0] == "logs"
    assert [e.get("kind") for e in dt.entries(got, None)] == ["log", "kernel"]


@pytest.mark.parametrize("entry", [{"lines": ["x", "y"], "line_numbers": [2, 1]},
                                   {"text": "x\ny", "line_numbers": "2,1"},
                                   {"text": "x\ny", "line_numbers": "1-3"},
                                   {"text": "x", "line_numbers": "one"},
                                   {"text": "x\ny", "line_numbers": "0-1"},
                                   {"text": "x\ny\nz", "line_numbers": "2-1,3"},
                                   {"text": "x\ny\nz", "line_numbers": "1-2,2"}],
                         ids=["list", "runs-down", "runs-long", "word", "zero", "run-backwards", "runs-overlap"])
def test_bad_line_numbers_name_the_host_and_entry(entry):
    result = {"config": {}, "flink_version": "2.3.0", "processes": ["taskmanager"],
              "logs": [{"file": "a.log", **entry}]}
    with pytest.raises(dg.DiagnoseError, match=r"host h: logs\[0\] \(a.log\): line_numbers"):
        dg.diagnose({"h": result})


@pytest.mark.parametrize("numbers", [[], [7], [1, 2, 3], [1, 3, 5], [4, 5, 9, 10, 11, 40]])
def test_line_numbers_ship_as_runs_and_read_back(numbers):
    text = dt.number_ranges(numbers)
    assert "[" not in text and " " not in text
    assert dt.numbers_of(text) == numbers


def test_an_excerpt_line_may_hold_what_splitlines_splits_at():
    """A form feed, U+2028 or an empty line in a log line: still one line per number."""
    entry = {"file": "flink-u-taskexecutor-0-h.log", "text": "a\x0cb\n\nc\u2028d\n", "line_numbers": "3-6"}
    assert numbered(entry) == ([3, 4, 5, 6], ["a\x0cb", "", "c\u2028d", ""])
    assert dg._entry_lines(entry, "h", 0)[1:] == (["a\x0cb", "", "c\u2028d", ""], [3, 4, 5, 6])


BUSYBOX_TOOLS = ("wc", "cat", "head", "base64", "od", "realpath", "readlink", "nproc", "getconf", "printf", "sleep",
                 "ls", "tail", "tr", "awk", "grep", "date", "dmesg")


@pytest.mark.parametrize("tools", ["host", "busybox"])
@pytest.mark.parametrize("shell", list(SHELLS))
def test_the_whole_gather_with_logs_in_every_shell(tmp_path, shell, tools):
    """build_script with logs, framed and decoded: the same logs in every shell, with the host's tools and
    with busybox's alone (awk, tail, tr, ls, grep included)."""
    from ansible_collections.flinkops.flink.plugins.plugin_utils import gather_protocol as proto  # noqa: PLC0415

    env = {"PATH": os.environ["PATH"]}
    if tools == "busybox":
        bindir = tmp_path / "bin"
        bindir.mkdir()
        for tool in BUSYBOX_TOOLS:
            (bindir / tool).symlink_to(shutil.which("busybox"))
        env["PATH"] = str(bindir)
    hosts, _kernel = fleet("2.3", "heap-oom", tmp_path / "logs")
    home = tmp_path / "flink"
    (home / "conf").mkdir(parents=True)
    (home / "conf" / "config.yaml").write_text(f"env.log.dir: {tmp_path / 'logs' / 'tm1'}\n")

    def gather(argv, env):
        script = proto.build_script(None, str(home / "conf"), 1 << 20, logs=(None, 256 * 1024)) + " && sleep 0"
        proc = subprocess.run([*argv, script], capture_output=True, env=env, timeout=60, check=False)
        assert (proc.returncode, proc.stderr) == (0, b"")
        got = proto.interpret(proto.parse_frames(proc.stdout.decode("ascii")))
        return [e for e in dt.entries(got.logs, None) if e.get("kind") != "kernel"]

    if not shutil.which(SHELLS[shell][0]):
        pytest.fail(f"{SHELLS[shell][0]} is missing: tools/bootstrap.sh installs the shell matrix")
    entries = gather(SHELLS[shell], env)
    assert entries == gather(SHELLS["dash"], {"PATH": os.environ["PATH"]})
    assert [e["file"].rsplit("/", 1)[-1] for e in entries] == ["flink-tm1-taskexecutor-0-vm.log"]
    result = dict(hosts["tm1"], logs=entries)
    found = dg.diagnose({"tm1": result})["hosts"]["tm1"]
    assert [d["code"] for d in found] == ["heap-oom"]


def stand_in_root(tmp_path: Path) -> Path:
    """A root for the fragment's ``r``: this machine's /proc/stat (the boot time), and no /dev/kmsg (a test puts
    kmsg_stand_in's there)."""
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True, exist_ok=True)
    (root / "proc" / "stat").write_bytes(Path("/proc/stat").read_bytes())
    return root


# Stand-ins for dmesg and journalctl (this machine's dmesg is readable, has no journald, and its lines change
# while tests run): what each prints and its status, so the kernel part of the old fragment (grep -E | tail -n
# 200 | tr of the captured output; head -c 300 of the refusal) and the awk's are fed the same.
OOM = "[{:5d}.000000] Memory cgroup out of memory: Killed process {} (java) total-vm:1kB, anon-rss:1kB"
KERNELS = {
    "dmesg ok": {"dmesg": (0, "\n".join([f"[{i:5d}.0] noise {i}" for i in range(50)]
                                         + [OOM.format(i, i) for i in range(300)]
                                         + ["[ 9.0] oom-kill:constraint=CONSTRAINT_MEMCG", "[ 9.1] memory: usage 5kB"]
                                         + ["[ 9.2] tail noise"]))},
    "dmesg ok, nothing": {"dmesg": (0, "[ 1.0] booted\n")},
    "dmesg ok, no final newline": {"dmesg": (0, OOM.format(1, 42))},
    "journalctl": {"dmesg": (1, "dmesg: read kernel buffer failed: Operation not permitted"),
                   "journalctl": (0, "\n".join(OOM.format(i, i) for i in range(3)) + "\n")},
    "none, journalctl refused": {"dmesg": (1, "dmesg: read kernel buffer failed: Operation not permitted\n"),
                                 "journalctl": (1, "No journal files were found.\n")},
    "none, long refusal": {"dmesg": (1, "x" * 500 + "\n\n")},
}


@pytest.mark.parametrize("shell", ["dash", "busybox", "posh"])
@pytest.mark.parametrize("case", list(KERNELS))
def test_kernel_lines_as_before(tmp_path, shell, case):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("dmesg", "journalctl"):
        if tool in KERNELS[case]:
            status, text = KERNELS[case][tool]
            (bindir / f"{tool}.txt").write_text(text)
            (bindir / tool).write_text(f"#!/bin/sh\ncat '{bindir / tool}.txt'\nexit {status}\n")
            (bindir / tool).chmod(0o755)
    env = {"PATH": f"{bindir}:/usr/bin:/bin"}
    if "journalctl" not in KERNELS[case]:  # none here: the host's (absent on this machine) must not answer
        env["PATH"] = f"{bindir}:{tmp_path / 'tools'}"
        (tmp_path / "tools").mkdir()
        for tool in ("awk", "tail", "tr", "ls", "grep", "date", "head", "cat", "printf"):
            (tmp_path / "tools" / tool).symlink_to(shutil.which(tool))
    root = stand_in_root(tmp_path)  # no /dev/kmsg there: the stand-ins answer
    before = [r for r in run(shell, whole.LOGS_SH, tmp_path / "nowhere", 4096, env=env, root=root)
              if r[0] == "kernel"]
    after = dt.entries(run(shell, dt.LOGS_SH, tmp_path / "nowhere", 4096, env=env, root=root), None)
    want = whole.entries(before, None)
    for entry in want:  # the UTC offset is asked for only when a kernel line needs it (date, through the awk)
        if entry.get("kind") == "kernel" and not entry.get("lines"):
            entry.pop("utc_offset", None)
    assert after[1:] == want
    if case == "dmesg ok":
        assert len(after[1]["lines"]) == 200 and after[1]["lines"][-1] == "[ 9.1] memory: usage 5kB"


@pytest.mark.parametrize("shell", ["dash", "busybox", "mksh"])
@pytest.mark.parametrize("max_bytes", [1 << 20, 40])
def test_one_tail_for_every_file(tmp_path, shell, max_bytes):
    """The files' tails come from one tail -c, split at its headers: a file's blank last lines, one without a final
    newline, an empty one and a line that looks like a header of a file already read are each file's own."""
    log = tmp_path / "log"
    log.mkdir()
    body = [RECORD.format(i, f"r{i}") for i in range(3)]
    files = {"flink-u-taskexecutor-0-h.log": "\n".join(body) + "\n\n\n",
             "flink-u-taskexecutor-0-h.out": "",
             "flink-u-standalonesession-0-h.log": "\n".join(body + ["==> flink-u-taskexecutor-0-h.log <=="]),
             "flink-u-standalonesession-0-h.out": "\n".join(body) + "\n"}
    for i, (name, text) in enumerate(files.items()):
        (log / name).write_text(text)
        os.utime(log / name, (100 - i, 100 - i))  # newest first: in this order
    got = dt.entries(run(shell, dt.LOGS_SH, log, max_bytes), None)
    assert [e["file"].rsplit("/", 1)[-1] for e in got[:-1]] == list(files)
    for entry, text in zip(got, files.values(), strict=False):
        data = text.encode()[-max_bytes:]
        if len(text) > max_bytes:
            data = data.split(b"\n", 1)[1] if b"\n" in data else b""
        lines = data.decode().split("\n") if data else []
        if data.endswith(b"\n"):
            lines.pop()
        # only a few lines: all of them are the newest, shipped whole and numbered
        assert numbered(entry) == (list(range(1, len(lines) + 1)), lines), entry


# /dev/kmsg, read by dd where GNU dd is (dmesg costs 35 times the instructions for the same records).
KMSG_RECORDS = [
    kmsg_stand_in.record(1, 5, "Linux version 6.1", level=5),
    kmsg_stand_in.record(2, 602_912_345, "Memory cgroup out of memory: Killed process 24078 (java) total-vm:1kB, "
                         "anon-rss:1kB", level=3, dicts=("SUBSYSTEM=memory", "X=oom-kill: a dict line")),
    kmsg_stand_in.record(3, 602_912_400, "memory: usage 1024kB, limit 1024kB, failcnt 7"),
    kmsg_stand_in.record(4, 123_456_789_012, r"oom-kill:constraint=CONSTRAINT_MEMCG,task=ja\x09va,b\x5cs \x01 \x5cx09"),
]
KMSG_KEPT = ["[  602.912345] Memory cgroup out of memory: Killed process 24078 (java) total-vm:1kB, anon-rss:1kB",
             "[  602.912400] memory: usage 1024kB, limit 1024kB, failcnt 7",
             "[123456.789012] oom-kill:constraint=CONSTRAINT_MEMCG,task=ja\tva,b\\s \\x01 \\x09"]


def tools_with_awk(tmp_path: Path, awk: str) -> dict:
    """A PATH of this machine's tools with ``awk`` being the one named, and no dmesg (kmsg must answer)."""
    tools = tmp_path / f"tools-{awk}"
    tools.mkdir()
    (tools / "awk").symlink_to(host_awks.path(awk))
    for tool in ("dd", "tail", "tr", "ls", "date", "head", "cat", "printf"):
        (tools / tool).symlink_to(shutil.which(tool))
    return {"PATH": str(tools)}


@pytest.mark.parametrize("shell", ["dash", "busybox", "posh"])
@pytest.mark.parametrize("awk", list(AWKS))
def test_kernel_lines_from_kmsg_as_dmesg_prints_them(tmp_path, shell, awk):
    root = stand_in_root(tmp_path)
    with kmsg_stand_in.kmsg(root, KMSG_RECORDS):
        got = dt.entries(run(shell, dt.LOGS_SH, tmp_path / "nowhere", 4096, env=tools_with_awk(tmp_path, awk),
                             root=root), None)
    (kernel,) = [e for e in got if e.get("kind") == "kernel"]
    assert kernel["file"] == "dmesg" and kernel["lines"] == KMSG_KEPT
    assert kernel["boot_time"] > 0 and re.fullmatch(r"[+-]\d{4}", kernel["utc_offset"])


@pytest.mark.parametrize("awk", list(AWKS))
def test_this_machines_kmsg_reads_as_its_dmesg(awk):
    """Every record of this machine's /dev/kmsg, as the awk prints it, is the line ``LC_ALL=C dmesg`` prints (the
    two reads a moment apart: compared as far as both go)."""
    kmsg = subprocess.run(["dd", "if=/dev/kmsg", "iflag=nonblock", "bs=8192"], capture_output=True, check=False)
    if b"Resource temporarily unavailable" not in kmsg.stderr:
        pytest.fail(f"/dev/kmsg is not readable here: {kmsg.stderr[-300:]!r}")
    argv = host_awks.argv(awk)
    program = dt.KMSG_LINE_AWK + 'substr($0, 1, 1) != " " { print kline($0) }'
    lines = subprocess.run([*argv, program], input=kmsg.stdout, capture_output=True, check=True).stdout.split(b"\n")
    dmesg = subprocess.run(["dmesg"], capture_output=True, check=True, env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"})
    want = dmesg.stdout.split(b"\n")
    n = min(len(lines), len(want)) - 1
    assert n > 100 and lines[:n] == want[:n]


@pytest.mark.parametrize("stat", ["btime after a long interrupt line", "btime with trailing blanks", "no btime",
                                  "no /proc/stat"])
@pytest.mark.parametrize("awk", list(AWKS))
def test_the_boot_time_comes_from_proc_stat(tmp_path, awk, stat):
    """The awk reads /proc/stat's btime line itself, in blocks (the shell's read took a byte a call, and a big
    server's interrupt line is tens of KB); none, or no file, is a boot time not told."""
    root = tmp_path / "root"
    (root / "proc").mkdir(parents=True)
    intr = "intr " + " ".join(str(i) for i in range(20000))
    body = {"btime after a long interrupt line": f"cpu  1 2 3\n{intr}\nctxt 5\nbtime 1796520552\nbtime 7\n",
            "btime with trailing blanks": "cpu  1 2 3\nbtime 1796520553 \t\nprocesses 9\n",
            "no btime": f"cpu  1 2 3\n{intr}\n"}.get(stat)
    if body is not None:
        (root / "proc" / "stat").write_text(body)
    with kmsg_stand_in.kmsg(root, KMSG_RECORDS):
        got = dt.entries(run("dash", dt.LOGS_SH, tmp_path / "nowhere", 4096, env=tools_with_awk(tmp_path, awk),
                             root=root), None)
    (kernel,) = [e for e in got if e.get("kind") == "kernel"]
    assert kernel["lines"] == KMSG_KEPT
    want = {"btime after a long interrupt line": 1796520552, "btime with trailing blanks": 1796520553}.get(stat)
    assert kernel.get("boot_time") == want



def test_a_kmsg_that_does_not_end_as_the_device_gives_way_to_dmesg(tmp_path):
    """A /dev/kmsg read to its end without EAGAIN (here a plain file; a dd without nonblock, records overwritten
    while read): what it gave is dropped and dmesg answers."""
    root = stand_in_root(tmp_path)
    (root / "dev").mkdir()
    (root / "dev" / "kmsg").write_text("".join(KMSG_RECORDS))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "dmesg").write_text("#!/bin/sh\necho '[ 9.5] Out of memory: Killed process 7 (java)'\n")
    (bindir / "dmesg").chmod(0o755)
    got = dt.entries(run("dash", dt.LOGS_SH, tmp_path / "nowhere", 4096, env={"PATH": f"{bindir}:/usr/bin:/bin"},
                         root=root), None)
    (kernel,) = [e for e in got if e.get("kind") == "kernel"]
    assert kernel["lines"] == ["[ 9.5] Out of memory: Killed process 7 (java)"]


@pytest.mark.parametrize("awk", [a for a in AWKS if a != "mawk"])
@pytest.mark.parametrize(("line", "case"), CASES, ids=[f"{ln}-{c}" for ln, c in CASES])
def test_every_awk_ships_what_mawk_ships(tmp_path, awk, line, case):
    """Every captured failure, whole and cut at 12 KiB, in dash: gawk, busybox's and BWK's awk ship the excerpt
    mawk ships (the one test_excerpt_diagnoses_as_the_whole_tail checks against the whole tail), byte for byte."""
    hosts, _kernel = fleet(line, case, tmp_path)
    tools = {}
    for name in ("mawk", awk):
        (tmp_path / name).mkdir()
        tools[name] = tools_with_awk(tmp_path / name, name)
    lines_shipped = 0
    for max_bytes in (1 << 24, 12 * 1024):
        for host in hosts:
            shipped = {name: [e for e in dt.entries(run("dash", dt.LOGS_SH, tmp_path / host, max_bytes, env=env), None)
                              if e.get("kind") != "kernel"] for name, env in tools.items()}
            assert shipped[awk] == shipped["mawk"], (host, max_bytes)
            lines_shipped += sum(len(dt.numbers_of(e["line_numbers"])) for e in shipped["mawk"] if e.get("excerpt"))
    assert lines_shipped > 0  # the logs were read, not nothing on both sides


@pytest.mark.parametrize("awk", list(AWKS))
def test_log_lines_that_are_no_utf8_ship_alike_in_a_utf8_locale(tmp_path, awk):
    """A host in a UTF-8 locale, a log holding multibyte characters and bytes that are no UTF-8: every awk ships
    the same lines, byte for byte, and says nothing on stderr (gawk counts characters in a UTF-8 locale and warns of
    such a line: the awks run in the C locale)."""
    log = tmp_path / "log"
    log.mkdir()
    heads = [RECORD.format(i % 9, text) for i, text in enumerate(
        ["caf\u00e9 \u00fcber \u2603\u2603", "java.lang.OutOfMemoryError: Java heap space \u00e9t\u00e9"])]
    body = [heads[0].encode(), RECORD.format(3, "bad \xff\xfe bytes").encode("latin-1"),
            b"\tat org.\xc3(X.java:1)", heads[1].encode(), b"Caused by: \xe2\x82 java.lang.OutOfMemoryError: Metaspace",
            "\u00e9".encode() * 40]
    (log / "flink-u-taskexecutor-0-h.log").write_bytes(b"\n".join(body * 30) + b"\n")
    env = dict(tools_with_awk(tmp_path, awk), LC_ALL="C.UTF-8", LANG="C.UTF-8")
    (entry, _kernel) = dt.entries(run("dash", dt.LOGS_SH, log, 1 << 20, env=env), None)  # run(): stderr empty
    numbers, lines = numbered(entry)
    want = [line.decode("utf-8", "replace") for line in body * 30]
    assert lines == [want[n - 1] for n in numbers] and len(numbers) > 20
    assert want[4] in lines  # the Metaspace cause after bytes that are no UTF-8


@pytest.mark.parametrize("awk", list(AWKS))
def test_a_kernel_record_of_several_lines_keeps_the_lines_grep_kept(tmp_path, awk):
    """A record holding newlines (the kernel writes \\x0a; dmesg ends the line there and indents the next by the
    time's width): its lines that name an OOM kill are kept, one each, as grep kept them of dmesg's output."""
    root = stand_in_root(tmp_path)
    records = [kmsg_stand_in.record(4, 71_022_666_487, r"Mem-Info:\x0a active_anon:3 inactive_anon:6105859"
                                    r"\x0a Out of memory: Killed process 9 (java) total-vm:1kB\x0a tail"),
               *KMSG_RECORDS]
    with kmsg_stand_in.kmsg(root, records):
        got = dt.entries(run("dash", dt.LOGS_SH, tmp_path / "nowhere", 4096, env=tools_with_awk(tmp_path, awk),
                             root=root), None)
    (kernel,) = [e for e in got if e.get("kind") == "kernel"]
    assert kernel["lines"] == [" " * 15 + " Out of memory: Killed process 9 (java) total-vm:1kB", *KMSG_KEPT]
