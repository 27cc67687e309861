# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The log tail: the newest bytes of each Flink log on a host, and the kernel's OOM-kill lines.

A POSIX ``sh`` fragment the gather (flink_config_info with ``logs: true``) runs inside its one
command, so the evidence the diagnose filter reads costs no task and no round trip of its own. Each
file is read with ``tail -c`` (from its end: memory and time flat in the file's size), newest file
first, at most ``lb`` bytes each; NUL bytes are dropped (the framing ends a payload with NUL). The
kernel lines come from ``dmesg`` (or ``journalctl -k`` where dmesg is refused); absent or not
permitted is reported, not an error. Standard library only.
"""

from __future__ import annotations

import re

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts

# The one redaction rule (module_utils/options.py once it holds redact_fragment too).
try:
    from ansible_collections.flinkops.flink.plugins.module_utils.options import redact_fragment
except ImportError:
    from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import redact_fragment

# Variables set in front of the gather script: h (flink_home, may be empty), c (conf dir), r (prefix of /proc,
# empty on real hosts), ld (log dir given:
# flink_log_dir; empty, or <flink_home>/log, when none was given), lb (bytes per file).
# The log dir, as Flink's bin/config.sh picks it: the one given, else env.log.dir of the file Flink reads
# (config.yaml, else flink-conf.yaml; flat "env.log.dir: x" or nested env: / log: / dir: x), else
# <flink_home>/log. A given dir equal to <flink_home>/log counts as none given (the action passes that
# default). Records: "@@logdir given|file|home\n<dir>\0" (the dir read, and why), then
# "@@log <name> <size> <kept>\n<bytes>\0" per file (size of the file, bytes kept), or
# "@@logdir absent|noaccess\n<dir>\0" when there is nothing to list; then
# "@@kernel dmesg|journalctl|none\n<lines or the refusal>\0", whose lines start with
# "#clock <btime> <utc offset>" (boot time from /proc/stat, date +%z: a kernel [seconds since boot] stamp on
# the wall clock the host's logs use). File names are Flink's own (flink-<user>-<daemon>-<n>-<host>.log/.out):
# no spaces.
ENV_LOG_DIR_AWK = r"""
function unq(v) {
  sub(/^[ \t]+/, "", v)
  if (v ~ /^"/) { v = substr(v, 2); sub(/".*$/, "", v); return v }
  if (v ~ /^'/) { v = substr(v, 2); sub(/'.*$/, "", v); return v }
  sub(/[ \t]+#.*$/, "", v); sub(/[ \t]+$/, "", v); return v
}
/^[ \t]*(#|$)/ || /^[ \t]*-/ || /^---/ { next }
{
  match($0, /^ */); ind = RLENGTH; line = substr($0, ind + 1); i = index(line, ":")
  if (i == 0) next
  key = substr(line, 1, i - 1); val = substr(line, i + 1)
  if (val != "" && val !~ /^[ \t]/) next
  sub(/[ \t]+$/, "", key); gsub(/^["']|["']$/, "", key)
  while (n > 0 && ind <= inds[n]) n--
  full = n > 0 ? paths[n] "." key : key
  v = unq(val)
  if (v == "") { n++; inds[n] = ind; paths[n] = full }
  else if (full == "env.log.dir") found = v
}
END { if (found != "") print found }
"""
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

DEFAULT_BYTES = 256 * 1024


def log_entry(log_dir: str, name: str, size: str, kept: str, payload: bytes) -> dict:
    """One ``logs`` entry (the diagnose filter's shape) from a ``@@log`` record: the tail as one ``text``
    (one string, not a list of lines: a result of 200 hosts' tails moves through Ansible several times faster)."""
    total, kept_n = int(size), int(kept)
    text = payload.decode("utf-8", "replace")
    truncated = total > kept_n
    if truncated:  # the first line is cut: drop it, line numbers then count from the tail's first whole line
        text = text.split("\n", 1)[1] if "\n" in text else ""
    entry = {"file": f"{log_dir.rstrip('/')}/{name}", "text": text, "size": total, "truncated": truncated}
    if not truncated:
        entry["first_line"] = 1
    return entry


_CLOCK = re.compile(r"^#clock (\d+|\?) ?([+-]\d{4})?$")


def kernel_entry(source: str, payload: bytes) -> dict:
    """The ``logs`` entry of the kernel's lines, or one with ``error`` when they cannot be read; with
    ``boot_time`` (epoch seconds) and ``utc_offset`` (``+0100``) when the host told them."""
    text = payload.decode("utf-8", "replace")
    if source == "none":
        return {"file": "dmesg", "kind": "kernel", "error": "dmesg and journalctl -k are absent or not permitted"
                + (f": {text.strip()}" if text.strip() else "")}
    lines = text.splitlines()
    entry = {"file": source, "kind": "kernel", "lines": lines}
    clock = _CLOCK.match(lines[0]) if lines else None
    if clock:
        del lines[0]
        if clock.group(1) != "?":
            entry["boot_time"] = int(clock.group(1))
        if clock.group(2):
            entry["utc_offset"] = clock.group(2)
    return entry


_PROPERTY = re.compile(r"^(.*?property: )([^,]+)(, )(.*)$")


def redact_line(text: str) -> str:
    """A log line with any sensitive value hidden (the collection's one rule for config values)."""
    if not opts.is_sensitive_anywhere(text):
        return text  # no sensitive word anywhere in the line: nothing to hide
    match = _PROPERTY.match(text)  # Flink's "Loading configuration property: key, value"
    if match and opts.is_sensitive_anywhere(match.group(2)):
        return match.group(1) + match.group(2) + match.group(3) + opts.REDACTED
    return redact_fragment(text, opts.is_sensitive_anywhere)


def redact_text(text: str) -> str:
    """Lines of a log with any sensitive value hidden, as ``redact_line`` hides them line by line; only the
    lines holding a sensitive word are looked at (found with str.find over the whole text)."""
    low = text.lower()
    if len(low) != len(text):  # a character whose lower case is longer (the dotted capital I): line by line
        return "\n".join(redact_line(line) for line in text.split("\n"))
    spots = []
    for word in opts.ALL_SENSITIVE_PATTERNS:
        pos = low.find(word)
        while pos >= 0:
            spots.append(pos)
            pos = low.find(word, pos + len(word))
    if not spots:
        return text
    pieces, at = [], 0
    for pos in sorted(spots):
        if pos < at:
            continue  # in a line already done
        start = text.rfind("\n", 0, pos) + 1
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        pieces += [text[at:start], redact_line(text[start:end])]
        at = end
    pieces.append(text[at:])
    return "".join(pieces)


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
