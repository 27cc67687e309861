# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the gather's ``logs: true`` ships of each Flink log: the lines the diagnose filter reads, numbered.

A log tail (the newest ``logs_max_bytes`` of the file, read with ``tail -c``: memory and time flat in the
file's size; one ``tail`` given every file) is filtered on the host by one ``awk`` per host, which keeps the
kernel's OOM lines too (dash, bash, busybox, mksh, yash, posh run it alike), and only these lines leave it,
each with its line number (counted from the tail's first whole line, as a tail's evidence line always was):

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

A stack frame (a line starting with a tab and ``at ``: a class, a method, a source file and line, maybe a jar) is
counted and kept among the newest lines but not searched: it names no failure's message and is no record head,
and it is half the lines of a log with failures (the awk's searches are most of its time).

So a host sends a few KiB instead of each tail (4 logs of 256 KiB, base64'ed: 1.3 MiB a host), and the
diagnose filter finds in them exactly what it finds in the whole tail (tests/unit/plugins/plugin_utils/
test_diagnose_tail.py runs both on every captured failure). Standard library only; no Ansible.
"""

from __future__ import annotations

import re
from operator import ge, sub

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


def _ere_escaped(text: str) -> str:
    return re.sub(r"([\\.\[\]()*+?{}|^$/])", r"\\\1", text)


def _ere_alternation(texts) -> str:
    """One POSIX ERE that matches where any of ``texts`` stands, common prefixes factored out (a trie): an
    awk's regular expression machine then tries each position once per branch of the first letters, not once per
    text (mawk: a third fewer instructions for the whole awk than sixteen index() calls a line)."""
    texts = sorted(set(texts))
    if len(texts) == 1:
        return _ere_escaped(texts[0])
    by_first: dict = {}
    for text in texts:
        by_first.setdefault(text[:1], []).append(text)
    parts = []
    for members in by_first.values():
        prefix = members[0]
        for member in members[1:]:
            while not member.startswith(prefix):
                prefix = prefix[:-1]
        rests = [m[len(prefix):] for m in members]
        if len(members) == 1 or "" in rests:  # a text that is another's prefix finds both
            parts.append(_ere_escaped(prefix if "" in rests else members[0]))
        else:
            parts.append(f"{_ere_escaped(prefix)}({_ere_alternation(rests)})")
    return "|".join(parts)


# A /dev/kmsg record ("<prio>,<seq>,<microseconds>,<flags>;<text>") as dmesg prints it with LC_ALL=C: the kernel
# escapes a byte below 32 or above 126 and the backslash as \xHH, dmesg prints all of them so again but the tab,
# the backslash and the newline, which ends a line and indents the next by the width of the time (a record of
# several lines: the OOM killer's "Mem-Info:" report). A dict line (" KEY=value") names no OOM kill and is never
# kept.
KMSG_LINE_AWK = r"""
function kline(t,  i, a, us, l, r, p) {
  i = index(t, ";"); split(substr(t, 1, i - 1), a, ","); us = a[3]
  l = length(us); if (l < 7) { us = substr("0000000", 1, 7 - l) us; l = 7 }
  p = "[" sprintf("%5s", substr(us, 1, l - 6)) "." substr(us, l - 5) "] "
  t = substr(t, i + 1)
  if (index(t, "\\x")) {
    # every backslash of the record starts an escape (the kernel's own is \x5c): none is taken for another
    gsub(/\\x09/, "\t", t)
    if (index(t, "\\x0a")) gsub(/\\x0a/, "\n" sprintf("%" length(p) "s", ""), t)
    r = ""
    while ((i = index(t, "\\x5c")) > 0) { r = r substr(t, 1, i - 1) "\\"; t = substr(t, i + 4) }
    t = r t
  }
  return p t
}
"""

# Input (one stream, LOGS_SH): "\001stat <path of /proc/stat>" (the awk reads the boot time there), the kernel's lines
# (dmesg's output; when dmesg is refused, its message, "\001nodmesg", then journalctl -k's output),
# "\001dmesg|journalctl|none" (who answered), then, when the log dir is readable, "\001zone <utc offset>" when the probe
# awk gave it, "\001raw" when NUL and \001 come unremoved (else tr removed them), "\001tails <name> <size> <kept> ..."
# (newest file first) and the files' tails from one ``tail -c`` (its "==> <name> <==" header before each file when there
# are several, a blank line before each header but the first). Output: per file "=<name> <size> <kept>", then
# "<number>:<line>" for each line kept, in order but for the newest lines, which come last (the controller sorts them
# in); then "!kernel <dmesg|journalctl>", "#clock <btime>[ <utc offset>]" (the offset the probe gave, else from date
# +%z, run by the awk only when it keeps a kernel line) and the newest KERNEL_LINES kernel lines naming an OOM kill, or
# "!kernel none" and the first bytes of dmesg's refusal (what grep, tail -n and head -c made of them before). Memory:
# the newest CONTEXT lines of the file read, the last record head, KERNEL_LINES kernel lines.
EXCERPT_AWK = KMSG_LINE_AWK + r"""
function put(k, t) { print k ":" t; sf[k % @@K@@] = k }
function flush(  lo, i, t) {
  if (!on) return
  lo = n - @@K@@ + 1; if (lo < 1) lo = 1
  if (phn && !phd && phn < lo) put(phn, ph)
  # a frame went to the ring as it came (the rule below): NUL and \001 dropped here, as from any other line
  for (i = lo; i <= n; i++) if (sf[i % @@K@@] != i) {
    t = rg[i % @@K@@]; if (nz && (index(t, "\000") || index(t, "\001"))) gsub(nz, "", t); put(i, t)
  }
  on = 0
}
function begin(i) {
  flush(); print "=" fn[i] " " fz[i] " " fk[i]; on = 1; fl = 0; n = 0; ph = ""; phn = 0; phd = 0; rw = 0; fh = 0
  split("", sf); cut = (fz[i] + 0 > fk[i] + 0)
}
function blank() { if (cut) cut = 0; else rg[++n % @@K@@] = "" }
# t: the pending blank line and any other line; tails() says whether $0 is a line of a tail (1) or was read
function tails(t,  j) {
  if (nf > 1 && substr(t, 1, 4) == "==> " && substr(t, length(t) - 3) == " <==") {
    j = ix[substr(t, 5, length(t) - 8)]
    if (j > cur) { pe = 0; while (cur < j) begin(++cur); return 0 }
  }
  if (pe) { pe = 0; if (cur) blank() }
  if (t == "" && nf > 1) { pe = 1; fl = 0; return 0 }
  return cur
}
# A frame (half the lines: they only count and go to the ring) once the tail's state is settled (fl: no header,
# cut line or pending blank line to see to, set by the rule below after a line it saw through). A frame as it
# comes is a frame once NUL and \001 are gone (they cannot stand in "\tat "); flush() drops them when it ships
# one. Each awk operation on a line costs mawk some 150 instructions: this rule takes four.
fl && /^\tat / { rg[++n % @@K@@] = $0; next }
# Any other line of a tail, inlined in the rule (a function call copies the line); tails() sees what may be a
# header or the blank line before one.
md {
  if (nz && (index($0, "\000") || index($0, "\001"))) gsub(nz, "")
  if (pe || $0 ~ /^(==> |$)/) { if (!tails($0)) next }
  else if (!cur) next
  if (cut) { cut = 0; next }
  n++
  if ($0 ~ /^\tat /) { rg[n % @@K@@] = $0; fl = 1; next }
  s = 0; hd = $0 ~ /@@HEAD@@/
  if (hd) {
    if (!fh) { fh = 1; s = 1 }
    if (index($0, "(Version: ") && $0 ~ /@@START@@/) { s = 1; if (phn && !phd) put(phn, ph) }
  }
  if (s) { if (index($0, @@REFUSED@@)) rw = n + @@WINDOW@@ }
  else if ($0 ~ /@@SIGNATURES@@/) { s = 1; if (index($0, @@REFUSED@@)) rw = n + @@WINDOW@@ }
  else if (n <= rw && (@@CAUSES@@)) s = 1
  if (s) { if (!hd && phn && !phd) { put(phn, ph); phd = 1 }; put(n, $0) }
  # a head is copied once (ph) and shared with the ring: copying a line costs more than matching it
  if (hd) { ph = $0; phn = n; phd = s; rg[n % @@K@@] = ph } else rg[n % @@K@@] = $0
  fl = 1; next
}
/^\001/ {
  w = substr($0, 2)
  # the boot time, from the first "btime" line of /proc/stat ("?" when there is none): read by the awk in
  # blocks, where the shell's read takes a byte a call (on a big server the interrupt line alone is 10-100 KB)
  if (substr(w, 1, 5) == "stat ") {
    kc = "?"; f = substr(w, 6)
    while ((getline kv < f) > 0) if (split(kv, a) && a[1] == "btime") {
      sub(/^[ \t]*btime[ \t]*/, "", kv); sub(/[ \t]+$/, "", kv); if (kv != "") kc = kv; break
    }
    close(f); next
  }
  # the tails come with NUL and \001 (NUL_CLEAN_AWK passed, no tr): the bracket that drops them, a string, as
  # busybox's awk refuses it as a regular-expression literal while it reads the program
  if (w == "raw") { nz = "[\000\001]"; next }
  if (substr(w, 1, 5) == "zone ") { kz = substr(w, 6); next }
  if (w == "kmsg") { km = 1; next }
  if (w == "nokmsg") { km = 0; ke = ""; kl = 0; kn = 0; next }
  if (w == "nodmesg") { ne = ke; nd = 1; ke = ""; kl = 0; kn = 0; next }
  if (w == "dmesg" || w == "journalctl" || w == "none") { ks = w; next }
  if (substr(w, 1, 5) == "tails") {
    md = 1; nf = split(substr(w, 7), a, " ") / 3
    for (i = 1; i <= nf; i++) { fn[i] = a[3 * i - 2]; fz[i] = a[3 * i - 1]; fk[i] = a[3 * i]; ix[fn[i]] = i }
    if (nf == 1) begin(++cur)
    next
  }
}
{
  if (@@KERNEL@@) {
    if (!km) kr[++kn % @@KL@@] = $0
    else if (substr($0, 1, 1) != " ") {
      # a record of several lines: its lines that name an OOM kill, as grep kept them of dmesg's
      kw = kline($0); if (!index(kw, "\n")) kr[++kn % @@KL@@] = kw
      else { kq = split(kw, kp, "\n"); for (kj = 1; kj <= kq; kj++) if (@@KERNELW@@) kr[++kn % @@KL@@] = kp[kj] }
    }
  }
  if (length(ke) < 2 * @@KE@@) ke = ke (kl++ ? "\n" : "") $0
}
END {
  if (pe && cur) blank()
  flush()
  if (ks == "none") {
    if (nd) ke = ne
    sub(/\n+$/, "", ke); print "!kernel none"; printf "%s", substr(ke, 1, @@KE@@)
  } else {
    # the UTC offset only puts the kernel's lines on the logs' clock: the probe's ("\001zone"), else date +%z, run
    # only when there are some
    if (kn > 0) {
      z = kz; if (z == "") { "date +%z" | getline z; close("date +%z") }
      if (z != "") kc = kc " " z
    }
    print "!kernel " ks; print "#clock " kc
    lo = kn - @@KL@@ + 1; if (lo < 1) lo = 1
    for (i = lo; i <= kn; i++) print kr[i % @@KL@@]
  }
}
"""
# Exits 0 when this awk holds NUL and \001 in a string and gsub drops them as EXCERPT_AWK does (mawk, gawk): the
# tails then come to EXCERPT_AWK as they are ("\001raw" before them), which drops them from each line before it
# looks at it, as tr -d did (busybox's awk ends a line at a NUL, BWK's awk a string). First it prints the UTC offset
# as date +%z does, where the awk has strftime (mawk 1.3.4, gawk, busybox; BWK's awk stops there, exit 2): the
# awk then need not run sh and date to put kernel lines on the logs' clock (2 of the 20 ms a host's logs cost).
NUL_CLEAN_AWK = (r'''BEGIN { printf "%s", strftime("%z"); '''
                 r'''t = "a\000b\001c"; exit !(gsub("[\000\001]", "", t) == 2 && t == "abc") }''')

# The kernel's lines kept (what grep -E 'Killed process|memory: usage|oom-kill:' | tail -n 200 kept), and the
# bytes of dmesg's refusal (head -c 300 of the record with its 14-byte header).
KERNEL_TEXTS = ("Killed process", "memory: usage", "oom-kill:")
KERNEL_LINES = 200
KERNEL_ERROR = 286
for _key, _value in (("@@K@@", str(CONTEXT)), ("@@HEAD@@", HEAD_ERE), ("@@START@@", START_ERE),
                     ("@@SIGNATURES@@", _ere_alternation(SIGNATURES)),
                     ("@@CAUSES@@", _any_of("$0", CAUSES)),
                     ("@@REFUSED@@", _awk_string(REFUSED)), ("@@WINDOW@@", str(CAUSE_WINDOW)),
                     # one match a line where three index() calls scanned it thrice (mawk: 570 instructions, 970)
                     ("@@KERNEL@@", f"$0 ~ /{_ere_alternation(KERNEL_TEXTS)}/"),
                     ("@@KERNELW@@", f"kp[kj] ~ /{_ere_alternation(KERNEL_TEXTS)}/"),
                     ("@@KL@@", str(KERNEL_LINES)),
                     ("@@KE@@", str(KERNEL_ERROR))):
    EXCERPT_AWK = EXCERPT_AWK.replace(_key, _value)


def _sh_quoted(program: str) -> str:
    return "'" + program.strip("\n").replace("'", "'\"'\"'") + "'"


# The gather's logs fragment (plugins/plugin_utils/gather_protocol.py runs it in its one command). Variables set in
# front of it: h (flink_home, may be empty), c (conf dir), r (prefix of /proc, empty on real hosts), ld (the log dir
# given: flink_log_dir, or empty), lb (bytes per file). The log dir, as Flink's bin/config.sh picks it: the one given,
# else env.log.dir of the file Flink reads (config.yaml, else flink-conf.yaml), else <flink_home>/log. Records:
# "@@logdir given|file|home\n<dir>\0", or "@@logdir absent|noaccess\n<dir>\0"; then "@@logs\n<EXCERPT_AWK's output>\0":
# the excerpt of each log (newest file first) when the dir was readable, and the kernel's lines. Programs: ls, one tail
# for every file (several files to one tail -c: GNU, busybox and the BSDs take them, with their "==> name <==" headers),
# an awk that says whether it holds NUL (one tr where it does not), dd for /dev/kmsg (dmesg where dd cannot, journalctl
# -k where dmesg is refused) and one awk for all of it (and date, through the awk, when the kernel's lines name an OOM
# kill and the probe awk gave no UTC offset). Every awk in the C locale: bytes, as mawk and busybox count them (gawk in
# a UTF-8 locale counts characters, and warns on stderr of each log line that is no UTF-8). File names are Flink's own
# (flink-<user>-<daemon>-<n>-<host>.log/.out): no spaces; a log line that is exactly the header of a file later in the
# list would be taken for it.
LOGS_SH = r"""
lw=given
if [ -z "$ld" ]; then
  lf=; for n in config.yaml flink-conf.yaml; do
    if [ -f "$c/$n" ] && [ -r "$c/$n" ]; then lf=$(LC_ALL=C awk @@LOGDIR@@ "$c/$n" 2>/dev/null); break; fi
  done
  if [ -n "$lf" ]; then ld=$lf; lw=file; elif [ -n "$h" ]; then ld=${h%/}/log; lw=home; fi
fi
lk=
if [ -n "$ld" ] && [ -d "$ld" ] && [ -r "$ld" ] && [ -x "$ld" ]; then lk=1; printf '@@logdir %s\n%s\000' "$lw" "$ld"
elif [ -n "$ld" ] && [ -e "$ld" ]; then printf '@@logdir noaccess\n%s\000' "$ld"
else printf '@@logdir absent\n%s\000' "$ld"
fi
printf '@@logs\n'
{
  printf '\001stat %s\n' "$r/proc/stat"
  # The kernel's records from /dev/kmsg as they stand (GNU dd: nonblocking reads, a record each, until EAGAIN),
  # printed by the awk as dmesg prints them: dmesg writes a character at a time (21M instructions for 60 KB of
  # records, dd 0.6M). dmesg where dd cannot (no GNU dd, a refusal, records overwritten while read: EPIPE).
  kd=
  if [ -e "$r/dev/kmsg" ]; then
    printf '\001kmsg\n'
    # ibs a record per read, obs: written in 64 KiB blocks, not a write (and a read of the awk's) per record
    { kd=$(dd if="$r/dev/kmsg" iflag=nonblock ibs=8192 obs=65536 2>&1 >&3); } 3>&1
  fi
  case "$kd" in
    *"Resource temporarily unavailable"*) printf '\n\001dmesg\n' ;;
    *)
      printf '\n\001nokmsg\n'
      if dmesg 2>&1; then printf '\n\001dmesg\n'
      else
        printf '\n\001nodmesg\n'
        if command -v journalctl >/dev/null 2>&1 && journalctl -k --no-pager -q 2>&1; then printf '\n\001journalctl\n'
        else printf '\n\001none\n'
        fi
      fi
      ;;
  esac
  if [ -n "$lk" ]; then
    # newest first, each file's size from the same ls -lnt (field 5), not by reading the file
    # shellcheck disable=SC2034
    LC_ALL=C ls -lnt "$ld" 2>/dev/null | {
      # NUL and \001 go: an awk that holds them in a string (mawk, gawk) drops them itself, a line at a time
      # (a look a line where tr takes 9 instructions a byte; "\001raw" tells it); for busybox's and BWK's awk, tr
      lr=; lz=$(LC_ALL=C awk @@NULCLEAN@@ 2>/dev/null) && lr=1
      case "$lz" in [+-][0-9][0-9][0-9][0-9]) printf '\001zone %s\n' "$lz" ;; esac
      if [ -n "$lr" ]; then printf '\001raw\n'; fi
      set --; printf '\001tails'
      while read -r lm ln lu lg z l1 l2 l3 f; do
        case "$f" in
          flink-*-taskexecutor-*.log|flink-*-taskexecutor-*.out|flink-*-standalonesession-*.log|\
flink-*-standalonesession-*.out|flink-*-zookeeper-*.log|flink-*-zookeeper-*.out) ;;
          *) continue ;;
        esac
        if [ ! -f "$ld/$f" ] || [ ! -r "$ld/$f" ]; then continue; fi
        case "$z" in ''|*[!0-9]*) z=0 ;; esac
        k=$z; [ "$z" -gt "$lb" ] && k=$lb
        printf ' %s %s %s' "$f" "$z" "$k"; set -- "$@" "$f"
      done
      printf '\n'
      if [ "$#" -gt 0 ] && cd "$ld" >/dev/null 2>&1; then
        if [ -n "$lr" ]; then tail -c "$lb" "$@" 2>/dev/null; else tail -c "$lb" "$@" 2>/dev/null | tr -d '\000\001'; fi
      fi
    }
  fi
} | LC_ALL=C awk @@EXCERPT@@
printf '\000'
""".replace("@@LOGDIR@@", _sh_quoted(ENV_LOG_DIR_AWK)).replace("@@NULCLEAN@@", _sh_quoted(NUL_CLEAN_AWK)) \
    .replace("@@EXCERPT@@", _sh_quoted(EXCERPT_AWK))


def number_ranges(numbers) -> str:
    """Increasing line numbers as text, each run as ``first-last`` ("1-3,17,40-59"): an excerpt's numbers as one
    string, not a list (Ansible walks every element of a result several times; with logs, thousands a host)."""
    numbers = list(numbers)
    if not numbers:
        return ""
    # where a run ends: the steps computed in C (map), only the ends visited in Python
    ends = [i for i, step in enumerate(map(sub, numbers[1:], numbers), 1) if step != 1]
    runs, first = [], 0
    for end in ends + [len(numbers)]:
        low, high = numbers[first], numbers[end - 1]
        runs.append(str(low) if low == high else f"{low}-{high}")
        first = end
    return ",".join(runs)


def numbers_of(ranges: str) -> list:
    """The line numbers of ``number_ranges``' text, increasing positive integers; ValueError when it is not such
    a text (a run that is no number, ends before it starts or does not start after the one before)."""
    out: list = []
    for run in ranges.split(",") if ranges else ():
        first, dash, last = run.partition("-")
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f"not a run of line numbers: {run!r}")
        low, high = int(first), int(last if dash else first)
        if low < 1 or high < low or (out and low <= out[-1]):
            raise ValueError(f"not increasing positive line numbers at {run!r}")
        out.extend(range(low, high + 1))
    return out


def excerpt_lines(text: str, numbers: list) -> list:
    """The lines of an excerpt's ``text``, one per number: split at newlines only (a log line may hold a form feed
    or U+2028, which str.splitlines splits at; an empty line is a line)."""
    return text.split("\n") if numbers else []


def tail_entries(payload: bytes, log_dir: str) -> list:
    """The ``logs`` entries of a ``@@tails`` record: per file the lines kept as one ``text`` and their numbers
    (``number_ranges``), redacted."""
    out = []
    # Decoded once: "\n" and ":" are ASCII and never inside a UTF-8 sequence, so each line decodes as it would
    # alone (the same U+FFFD for each bad byte sequence). A file's part starts with its "=" line (a kept line
    # starts with its number).
    for part in ("\n" + payload.decode("utf-8", "replace")).split("\n=")[1:]:
        header, _nl, body = part.partition("\n")
        name, size, size_kept = header.rsplit(" ", 2)
        entry = {"file": f"{log_dir.rstrip('/')}/{name}", "size": int(size),
                 "truncated": int(size) > int(size_kept), "excerpt": True}
        rows = [row.partition(":") for row in body.split("\n") if row]
        numbers = [int(row[0]) for row in rows]
        texts = [redact_line(row[2]) for row in rows]
        if any(map(ge, numbers, numbers[1:])):  # the newest lines came last: sort them in
            pairs = sorted(zip(numbers, texts, strict=True))
            numbers, texts = [n for n, _t in pairs], [t for _n, t in pairs]
        entry["text"] = "\n".join(texts)
        entry["line_numbers"] = number_ranges(numbers)
        out.append(entry)
    return out


def split_logs(payload: bytes) -> tuple:
    """A ``@@logs`` payload -> (the excerpt of the tails, (kernel source, the kernel's payload as its
    ``@@kernel`` record held it) or None when cut short)."""
    at = 0 if payload.startswith(b"!kernel ") else payload.find(b"\n!kernel ") + 1
    if at == 0 and not payload.startswith(b"!kernel "):
        return payload, None
    eol = payload.find(b"\n", at)
    if eol < 0:
        return payload[:at], None
    return payload[:at], (payload[at + 8:eol].decode("ascii", "replace"), payload[eol + 1:])


def _kernel(source: str, payload: bytes) -> dict:
    entry = kernel_entry(source, payload)
    if "lines" in entry:
        entry["lines"] = [redact_line(line) for line in entry["lines"]]
    return entry


def entries(records: list, log_dir: str | None) -> list:
    """The gather's ``logs`` from the fragment's records ``(kind, args, payload)``; file names in the dir the
    host read (its ``@@logdir`` record), else in ``log_dir``."""
    out = []
    for kind, args, payload in records:
        if kind == "logdir" and args[0] in ("given", "file", "home"):
            log_dir = payload.decode("utf-8", "replace")
        elif kind == "logs":
            tails, kernel = split_logs(payload)
            out.extend(tail_entries(tails, log_dir or ""))
            if kernel is not None:
                out.append(_kernel(*kernel))
        else:  # logdir absent | noaccess
            out.append({"file": payload.decode("utf-8", "replace") or log_dir or "", "kind": "log",
                        "error": f"log dir {args[0]}"})
    return out
