# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the gather's log tail shares with the controller: the log dir from ``env.log.dir``, the kernel entry, redaction.

``ENV_LOG_DIR_AWK`` finds ``env.log.dir`` in the file Flink reads (the gather's logs fragment,
plugins/plugin_utils/diagnose_tail.py, runs it on the host); ``kernel_entry`` turns the kernel's lines (or
why they cannot be read) into a ``logs`` entry; ``redact_line`` and ``redact_text`` hide sensitive values in
log lines like config values. Standard library only. (The fragment that shipped each tail whole is kept as a
test reference: tests/unit/plugins/plugin_utils/reference/log_tail_whole.py.)
"""

from __future__ import annotations

import re

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts

# The one redaction rule (module_utils/options.py once it holds redact_fragment too).
try:
    from ansible_collections.flinkops.flink.plugins.module_utils.options import redact_fragment
except ImportError:
    from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import redact_fragment

# The log dir, as Flink's bin/config.sh picks it when none is given: env.log.dir of the file Flink reads
# (config.yaml, else flink-conf.yaml; flat "env.log.dir: x" or nested env: / log: / dir: x). Prints the dir, or
# nothing.
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
