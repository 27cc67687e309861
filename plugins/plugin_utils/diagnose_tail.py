# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the gather's ``logs: true`` ships of each Flink log: the lines the diagnose filter reads, numbered.

A log tail (the newest ``logs_max_bytes`` of the file, read with ``tail -c``: memory and time flat in the
file's size) is filtered on the host by one ``awk`` per host (POSIX: dash, bash, busybox, mksh, yash, posh
run it alike), and only these lines leave it, each with its line number (counted from the tail's first
whole line, as a tail's evidence line always was):

- every line holding a text one of diagnose's rules looks for (``SIGNATURES``: the failure messages, the
  JobManager markers that say whose OutOfMemoryError it is, the slot manager's required resources), each
  with the nearest record head (``2026-12-02 04:48:40,164 WARN  <logger> ...``) at or above it: the record's
  time, whose TaskManager, the one hit per record;
- after a refused start (bash-java-utils.sh's ``[ERROR] Could not get JVM parameters ...``), the next 200
  lines that name an exception or a cause (the refusal's cause);
- the tail's first record, every JVM start record (``Starting TaskManager (Version: ...``) with the record
  just before it, and the tail's last record: the life of each JVM the log shows (a kernel OOM kill is tied
  to a JVM by time);
- the newest ``CONTEXT`` lines.

So a host sends a few KiB instead of each tail (4 logs of 256 KiB, base64'ed: 1.3 MiB a host), and the
diagnose filter finds in them exactly what it finds in the whole tail (tests/unit/plugins/plugin_utils/
test_diagnose_tail.py runs both on every captured failure). Standard library only; no Ansible.
"""

from __future__ import annotations

from ansible_collections.flinkops.flink.plugins.module_utils.log_tail import ENV_LOG_DIR_AWK, kernel_entry, redact_line

# The texts diagnose's rules look for (plugin_utils/diagnose.py RULES needles; a test keeps them in step),
# the markers of a JobManager's own OutOfMemoryError (diagnose._JM_OWN) and the slot manager's line that
# says how many slots a job asked for (diagnose.REQUIRED_SLOTS). Plain substrings.
SIGNATURES = (
    "Insufficient number of network buffers",
    "Could not allocate enough memory segments for NetworkBufferPool",
    "Too little memory provided to sorter",
    "bytes are remaining",
    "RocksDBStateBackend performance will be poor",
    "OutOfMemoryError: Metaspace",
    "OutOfMemoryError: Direct buffer memory",
    "OutOfMemoryError: Java heap space",
    "Could not get JVM parameters and dynamic configurations properly",
    "NoResourceAvailableException",
    "TaskManager with id",
    "The Flink Master has to be shutdown",
    "Could not start the JobMaster",
    "JobInitializationException",
    "Fatal error occurred in the cluster entrypoint",
    "Received resource requirements from job ",
)
REFUSED = "Could not get JVM parameters and dynamic configurations properly"
# After a refusal, the lines diagnose may take its cause from (diagnose._refusal_cause: 199 lines after it).
CAUSE_WINDOW = 200
CAUSES = ("Caused by: ", "Exception: ", "Could not get JVM parameters")
# The newest lines of each log, shipped whatever they hold.
CONTEXT = 20

# diagnose.RECORD and diagnose.JVM_START in POSIX ERE (no interval expressions: mawk has none).
_D = "[0-9]"
_SP = r"[ \t\r\f\v]"
HEAD_ERE = (f"^{_D * 4}-{_D * 2}-{_D * 2}[ T]{_D * 2}:{_D * 2}:{_D * 2}[,.]{_D * 3}{_SP}+[A-Z]+{_SP}+"
            r"[^ \t\r\f\v]")
START_ERE = r" - +Starting .+ [(]Version: "


def _awk_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _any_of(var: str, texts) -> str:
    return " || ".join(f"index({var}, {_awk_string(t)})" for t in texts)


# Input: per file a marker "\001<name> <size> <kept>" (glued to the previous file's last line when that did
# not end with a newline: the tails have \001 and NUL removed), then the file's tail. Output: per file
# "=<name> <size> <kept>", then "<number>:<line>" for each line kept, in order but for the newest lines, which
# come last (the controller sorts them in). Memory: the newest CONTEXT lines and the last record head.
EXCERPT_AWK = r"""
function put(k, t) { print k ":" t; sf[k % @@K@@] = k }
function flush(  lo, i) {
  if (!on) return
  lo = n - @@K@@ + 1; if (lo < 1) lo = 1
  if (phn && !phd && phn < lo) put(phn, ph)
  for (i = lo; i <= n; i++) if (sf[i % @@K@@] != i) put(i, rg[i % @@K@@])
  on = 0
}
function begin(m,  a) {
  flush(); print "=" m; on = 1; n = 0; ph = ""; phn = 0; phd = 0; rw = 0; fh = 0; split("", sf)
  split(m, a, " "); cut = (a[2] + 0 > a[3] + 0)
}
function line(t,  hd, s) {
  if (cut) { cut = 0; return }
  n++; s = 0; hd = t ~ /@@HEAD@@/
  if (hd) {
    if (!fh) { fh = 1; s = 1 }
    if (t ~ /@@START@@/) { s = 1; if (phn && !phd) put(phn, ph) }
  }
  if (!s && (@@SIGNATURES@@)) s = 1
  if (!s && n <= rw && (@@CAUSES@@)) s = 1
  if (index(t, @@REFUSED@@)) rw = n + @@WINDOW@@
  if (s) { if (!hd && phn && !phd) { put(phn, ph); phd = 1 }; put(n, t) }
  if (hd) { ph = t; phn = n; phd = s }
  rg[n % @@K@@] = t
}
{
  x = index($0, "\001")
  if (x) { if (x > 1 && on) line(substr($0, 1, x - 1)); begin(substr($0, x + 1)) }
  else if (on) line($0)
}
END { flush() }
"""
for _key, _value in (("@@K@@", str(CONTEXT)), ("@@HEAD@@", HEAD_ERE), ("@@START@@", START_ERE),
                     ("@@SIGNATURES@@", _any_of("t", SIGNATURES)), ("@@CAUSES@@", _any_of("t", CAUSES)),
                     ("@@REFUSED@@", _awk_string(REFUSED)), ("@@WINDOW@@", str(CAUSE_WINDOW))):
    EXCERPT_AWK = EXCERPT_AWK.replace(_key, _value)


def _sh_quoted(program: str) -> str:
    return "'" + program.strip("\n").replace("'", "'\"'\"'") + "'"


# The gather's logs fragment (plugins/plugin_utils/gather_protocol.py runs it in its one command). Variables
# set in front of it: h (flink_home, may be empty), c (conf dir), r (prefix of /proc, empty on real hosts),
# ld (the log dir given: flink_log_dir, or empty), lb (bytes per file). The log dir, as Flink's bin/config.sh
# picks it: the one given, else env.log.dir of the file Flink reads (config.yaml, else flink-conf.yaml), else
# <flink_home>/log. Records: "@@logdir given|file|home\n<dir>\0" and "@@tails\n<excerpt>\0" (EXCERPT_AWK's
# output, newest file first), or "@@logdir absent|noaccess\n<dir>\0"; then "@@kernel dmesg|journalctl|none\n
# <lines or the refusal>\0" as module_utils/log_tail.py reads it (its lines start with "#clock <btime>
# <utc offset>"). File names are Flink's own (flink-<user>-<daemon>-<n>-<host>.log/.out): no spaces.
LOGS_SH = r"""
lw=given
if [ -z "$ld" ]; then
  lf=; for n in config.yaml flink-conf.yaml; do
    if [ -f "$c/$n" ] && [ -r "$c/$n" ]; then lf=$(awk @@LOGDIR@@ "$c/$n" 2>/dev/null); break; fi
  done
  if [ -n "$lf" ]; then ld=$lf; lw=file; elif [ -n "$h" ]; then ld=${h%/}/log; lw=home; fi
fi
if [ -n "$ld" ] && [ -d "$ld" ] && [ -r "$ld" ] && [ -x "$ld" ]; then
  printf '@@logdir %s\n%s\000@@tails\n' "$lw" "$ld"
  # newest first, each file's size from the same ls -lnt (field 5), not by reading the file
  # shellcheck disable=SC2034
  LC_ALL=C ls -lnt "$ld" 2>/dev/null | while read -r lm ln lu lg z l1 l2 l3 f; do
    case "$f" in
      flink-*-taskexecutor-*.log|flink-*-taskexecutor-*.out|flink-*-standalonesession-*.log|\
flink-*-standalonesession-*.out|flink-*-zookeeper-*.log|flink-*-zookeeper-*.out) ;;
      *) continue ;;
    esac
    if [ ! -f "$ld/$f" ] || [ ! -r "$ld/$f" ]; then continue; fi
    case "$z" in ''|*[!0-9]*) z=0 ;; esac
    k=$z; [ "$z" -gt "$lb" ] && k=$lb
    printf '\001%s %s %s\n' "$f" "$z" "$k"
    tail -c "$lb" "$ld/$f" 2>/dev/null | tr -d '\000\001'
  done | awk @@EXCERPT@@
  printf '\000'
elif [ -n "$ld" ] && [ -e "$ld" ]; then printf '@@logdir noaccess\n%s\000' "$ld"
else printf '@@logdir absent\n%s\000' "$ld"
fi
kc=; while read -r kn kv; do [ "$kn" = btime ] && kc=$kv; done 2>/dev/null < "$r/proc/stat"
kc="#clock ${kc:-?} $(date +%z 2>/dev/null)"
if k=$(dmesg 2>&1); then
  printf '@@kernel dmesg\n%s\n' "$kc"
  printf '%s\n' "$k" | grep -E 'Killed process|memory: usage|oom-kill:' | tail -n 200 | tr -d '\000'
elif command -v journalctl >/dev/null 2>&1 && j=$(journalctl -k --no-pager -q 2>&1); then
  printf '@@kernel journalctl\n%s\n' "$kc"
  printf '%s\n' "$j" | grep -E 'Killed process|memory: usage|oom-kill:' | tail -n 200 | tr -d '\000'
else
  printf '@@kernel none\n%s' "$k" | head -c 300 | tr -d '\000'
fi
printf '\000'
""".replace("@@LOGDIR@@", _sh_quoted(ENV_LOG_DIR_AWK)).replace("@@EXCERPT@@", _sh_quoted(EXCERPT_AWK))


def tail_entries(payload: bytes, log_dir: str) -> list:
    """The ``logs`` entries of a ``@@tails`` record: per file its lines kept and their numbers, redacted."""
    out, entry = [], None
    for raw in payload.split(b"\n"):
        if raw.startswith(b"="):
            name, size, kept = raw[1:].decode("utf-8", "replace").rsplit(" ", 2)
            entry = {"file": f"{log_dir.rstrip('/')}/{name}", "lines": [], "line_numbers": [], "size": int(size),
                     "truncated": int(size) > int(kept), "excerpt": True}
            out.append(entry)
        elif raw and entry is not None:
            number, _colon, text = raw.partition(b":")
            entry["line_numbers"].append(int(number))
            entry["lines"].append(redact_line(text.decode("utf-8", "replace")))
    for entry in out:  # the newest lines came last
        pairs = sorted(zip(entry["line_numbers"], entry["lines"], strict=True))
        entry["line_numbers"], entry["lines"] = [n for n, _t in pairs], [t for _n, t in pairs]
    return out


def entries(records: list, log_dir: str | None) -> list:
    """The gather's ``logs`` from the fragment's records ``(kind, args, payload)``; file names in the dir the
    host read (its ``@@logdir`` record), else in ``log_dir``."""
    out = []
    for kind, args, payload in records:
        if kind == "logdir" and args[0] in ("given", "file", "home"):
            log_dir = payload.decode("utf-8", "replace")
        elif kind == "tails":
            out.extend(tail_entries(payload, log_dir or ""))
        elif kind == "kernel":
            entry = kernel_entry(args[0], payload)
            if "lines" in entry:
                entry["lines"] = [redact_line(line) for line in entry["lines"]]
            out.append(entry)
        else:  # logdir absent | noaccess
            out.append({"file": payload.decode("utf-8", "replace") or log_dir or "", "kind": "log",
                        "error": f"log dir {args[0]}"})
    return out
