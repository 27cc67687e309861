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

# Variables set in front of the gather script: ld (log dir: flink_log_dir, else <flink_home>/log; may be
# empty), lb (bytes per file). Records: "@@log <name> <size> <kept>\n<bytes>\0" per file (size of the
# file, bytes kept), "@@logdir absent|noaccess\n\0" when there is nothing to list, and
# "@@kernel dmesg|journalctl|none\n<lines or the refusal>\0". File names are Flink's own
# (flink-<user>-<daemon>-<n>-<host>.log/.out): no spaces.
LOGS_SH = r"""
if [ -n "$ld" ] && [ -d "$ld" ] && [ -r "$ld" ] && [ -x "$ld" ]; then
  for f in $(cd "$ld" && ls -t 2>/dev/null); do
    case "$f" in
      flink-*-taskexecutor-*.log|flink-*-taskexecutor-*.out|flink-*-standalonesession-*.log|\
flink-*-standalonesession-*.out|flink-*-zookeeper-*.log|flink-*-zookeeper-*.out) ;;
      *) continue ;;
    esac
    if [ ! -f "$ld/$f" ] || [ ! -r "$ld/$f" ]; then continue; fi
    # the size from ls -ln (field 5), not by reading the file
    set -f
    # shellcheck disable=SC2046
    set -- $(ls -ln "$ld/$f" 2>/dev/null)
    set +f
    z=${5:-0}
    k=$z; [ "$z" -gt "$lb" ] && k=$lb
    printf '@@log %s %s %s\n' "$f" "$z" "$k"
    tail -c "$lb" "$ld/$f" 2>/dev/null | tr -d '\000'
    printf '\000'
  done
elif [ -n "$ld" ] && [ -e "$ld" ]; then printf '@@logdir noaccess\n\000'
else printf '@@logdir absent\n\000'
fi
if k=$(dmesg 2>&1); then
  printf '@@kernel dmesg\n'
  printf '%s\n' "$k" | grep -E 'Killed process|memory: usage|oom-kill:' | tail -n 200 | tr -d '\000'
elif command -v journalctl >/dev/null 2>&1 && j=$(journalctl -k --no-pager -q 2>&1); then
  printf '@@kernel journalctl\n'
  printf '%s\n' "$j" | grep -E 'Killed process|memory: usage|oom-kill:' | tail -n 200 | tr -d '\000'
else
  printf '@@kernel none\n%s' "$k" | head -c 300 | tr -d '\000'
fi
printf '\000'
"""

DEFAULT_BYTES = 256 * 1024


def log_entry(log_dir: str, name: str, size: str, kept: str, payload: bytes) -> dict:
    """One ``logs`` entry (the diagnose filter's shape) from a ``@@log`` record."""
    total, kept_n = int(size), int(kept)
    text = payload.decode("utf-8", "replace")
    truncated = total > kept_n
    if truncated:  # the first line is cut: drop it, line numbers then count from the tail's first whole line
        text = text.split("\n", 1)[1] if "\n" in text else ""
    entry = {"file": f"{log_dir.rstrip('/')}/{name}", "lines": text.splitlines(), "size": total,
             "truncated": truncated}
    if not truncated:
        entry["first_line"] = 1
    return entry


def kernel_entry(source: str, payload: bytes) -> dict:
    """The ``logs`` entry of the kernel's lines, or one with ``error`` when they cannot be read."""
    text = payload.decode("utf-8", "replace")
    if source == "none":
        return {"file": "dmesg", "kind": "kernel", "error": "dmesg and journalctl -k are absent or not permitted"
                + (f": {text.strip()}" if text.strip() else "")}
    return {"file": source, "kind": "kernel", "lines": text.splitlines()}


_PROPERTY = re.compile(r"^(.*?property: )([^,]+)(, )(.*)$")


def redact_line(text: str) -> str:
    """A log line with any sensitive value hidden (the collection's one rule for config values)."""
    if not opts.is_sensitive_anywhere(text):
        return text  # no sensitive word anywhere in the line: nothing to hide
    match = _PROPERTY.match(text)  # Flink's "Loading configuration property: key, value"
    if match and opts.is_sensitive_anywhere(match.group(2)):
        return match.group(1) + match.group(2) + match.group(3) + opts.REDACTED
    return redact_fragment(text, opts.is_sensitive_anywhere)


def entries(records: list, log_dir: str | None) -> list:
    """The gather's ``logs`` from the fragment's records ``(kind, args, payload)``, lines redacted."""
    out = []
    for kind, args, payload in records:
        if kind == "log":
            entry = log_entry(log_dir or "", *args, payload)
            entry["lines"] = [redact_line(line) for line in entry["lines"]]
        elif kind == "kernel":
            entry = kernel_entry(args[0], payload)
            if "lines" in entry:
                entry["lines"] = [redact_line(line) for line in entry["lines"]]
        else:  # logdir absent | noaccess
            entry = {"file": log_dir or "", "kind": "log", "error": f"log dir {args[0]}"}
        out.append(entry)
    return out
