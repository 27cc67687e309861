# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gather's log tail as it was before the excerpt: each tail shipped whole (a reference, not product code).

plugins/plugin_utils/diagnose_tail.py ships only the lines diagnose reads; tests/unit/plugins/plugin_utils/
test_diagnose_tail.py runs this fragment beside it and checks that diagnose finds the same in both, and that the
kernel entry is the one grep, tail -n and head -c made. Frozen: change it only to follow a change of what a whole
tail is, never to make the excerpt's tests pass.

A POSIX ``sh`` fragment. Each file is read with ``tail -c`` (from its end), newest file first, at most ``lb``
bytes each; NUL bytes are dropped (the framing ends a payload with NUL). The kernel lines come from ``dmesg``
(or ``journalctl -k`` where dmesg is refused); absent or not permitted is reported, not an error.

Variables set in front of it: h (flink_home, may be empty), c (conf dir), r (prefix of /proc, empty on real
hosts), ld (log dir given: flink_log_dir; empty, or <flink_home>/log, when none was given), lb (bytes per
file). The log dir: the one given, else env.log.dir of the file Flink reads, else <flink_home>/log; a given
dir equal to <flink_home>/log counts as none given. Records: "@@logdir given|file|home\n<dir>\0" (the dir
read, and why), then "@@log <name> <size> <kept>\n<bytes>\0" per file (size of the file, bytes kept), or
"@@logdir absent|noaccess\n<dir>\0" when there is nothing to list; then
"@@kernel dmesg|journalctl|none\n<lines or the refusal>\0", whose lines start with
"#clock <btime> <utc offset>".
"""

from __future__ import annotations

from ansible_collections.flinkops.flink.plugins.module_utils.log_tail import (
    ENV_LOG_DIR_AWK,
    kernel_entry,
    redact_line,
    redact_text,
)

LOGS_SH = r"""
lw=given
if [ -z "$ld" ] || [ "$ld" = "${h%/}/log" ]; then
  lf=; for n in config.yaml flink-conf.yaml; do
    if [ -f "$c/$n" ] && [ -r "$c/$n" ]; then lf=$(awk '@@AWK@@' "$c/$n" 2>/dev/null); break; fi
  done
  if [ -n "$lf" ]; then ld=$lf; lw=file; elif [ -n "$h" ]; then ld=${h%/}/log; lw=home; fi
fi
if [ -n "$ld" ] && [ -d "$ld" ] && [ -r "$ld" ] && [ -x "$ld" ]; then
  printf '@@logdir %s\n%s\000' "$lw" "$ld"
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
    printf '@@log %s %s %s\n' "$f" "$z" "$k"
    tail -c "$lb" "$ld/$f" 2>/dev/null | tr -d '\000'
    printf '\000'
  done
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
""".replace("@@AWK@@", ENV_LOG_DIR_AWK.strip("\n").replace("'", "'\"'\"'"))


def log_entry(log_dir: str, name: str, size: str, kept: str, payload: bytes) -> dict:
    """One ``logs`` entry from a ``@@log`` record: the tail as one ``text``."""
    total, kept_n = int(size), int(kept)
    text = payload.decode("utf-8", "replace")
    truncated = total > kept_n
    if truncated:  # the first line is cut: drop it, line numbers then count from the tail's first whole line
        text = text.split("\n", 1)[1] if "\n" in text else ""
    entry = {"file": f"{log_dir.rstrip('/')}/{name}", "text": text, "size": total, "truncated": truncated}
    if not truncated:
        entry["first_line"] = 1
    return entry


def entries(records: list, log_dir: str | None) -> list:
    """The gather's ``logs`` from the fragment's records ``(kind, args, payload)``, lines redacted; file names
    in the dir the host read (its ``@@logdir`` record), else in ``log_dir``."""
    out = []
    for kind, args, payload in records:
        if kind == "logdir" and args[0] in ("given", "file", "home"):
            log_dir = payload.decode("utf-8", "replace")
            continue
        if kind == "log":
            entry = log_entry(log_dir or "", *args, payload)
            entry["text"] = redact_text(entry["text"])
        elif kind == "kernel":
            entry = kernel_entry(args[0], payload)
            if "lines" in entry:
                entry["lines"] = [redact_line(line) for line in entry["lines"]]
        else:  # logdir absent | noaccess
            entry = {"file": payload.decode("utf-8", "replace") or log_dir or "", "kind": "log",
                     "error": f"log dir {args[0]}"}
        out.append(entry)
    return out


# The old fragment for tests that compare the tails: this machine's dmesg replaced by a stand-in. The old fragment
# passed all of dmesg to printf as one argument, which shells with an external printf (mksh, posh) refuse past
# 128 KiB (E2BIG): this machine's ring is that big after an OOM event. (The new fragment streams it.)
LOGS_SH_TAILS = "dmesg() { echo '[    1.000000] a kernel line'; }\n" + LOGS_SH
