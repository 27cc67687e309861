# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The legacy ``flink-conf.yaml`` format, read exactly as Flink reads it.

Flink 1.17 to 1.20 read this file with ``GlobalConfiguration.
loadLegacyYAMLResource`` (same bytecode in all four lines), which is not a
YAML parser at all:

* ``new BufferedReader(new InputStreamReader(in))``: the JVM's default
  charset, with undecodable bytes replaced by U+FFFD (never an error), and
  ``readLine()``, which ends a line at ``\\n``, ``\\r`` or ``\\r\\n``.  On Java
  17 the default charset follows the locale: UTF-8 under a UTF-8 locale,
  US-ASCII under ``LANG=C``/POSIX (then every non-ASCII byte is U+FFFD); Java
  18+ always uses UTF-8.  A UTF-8 byte order mark is not removed: it stays at
  the front of the first key.
* each line is cut at its first ``#`` (even inside quotes: ``password: ab#cd``
  gives ``ab``), then ``String.trim()`` (strips chars <= U+0020 only);
* split at the first ``": "``; no ``": "`` -> the line is skipped with WARN
  ``Line is not a key-value pair (missing space after ':'?)`` (so ``key:value``,
  ``nested:`` and ``key: # comment`` are skipped); key and value are trimmed,
  and an empty one is skipped with WARN ``Key or value was empty``;
* quotes are kept, indentation means nothing, the last duplicate wins.

Flink never refuses this file: bad lines are skipped with a WARN naming the
file and line number (the line text is not logged since 1.17).

Standard library only.
"""

from __future__ import annotations

import codecs

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import ParsedConfig

# String.trim() strips U+0000..U+0020, nothing else (str.strip() would also eat U+00A0 etc.).
_JAVA_BLANKS = "".join(chr(c) for c in range(0x21))


def _java_replace(exc):
    """Replace undecodable bytes as Java's UTF-8 decoder does.

    Python and Java agree on where a bad sequence ends except for encoded
    surrogates (ED A0..BF ..): Java replaces the whole 3-byte sequence (or
    its first two bytes) with one U+FFFD, Python each byte.
    """
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    data, start = exc.object, exc.start
    if data[start] == 0xED and start + 1 < len(data) and 0xA0 <= data[start + 1] <= 0xBF:
        if start + 2 < len(data) and 0x80 <= data[start + 2] <= 0xBF:
            return "\ufffd", start + 3
        return "\ufffd", start + 2
    return "\ufffd", exc.end


JAVA_REPLACE = "flinkops-java-replace"
codecs.register_error(JAVA_REPLACE, _java_replace)

NOT_KEY_VALUE = "Line is not a key-value pair (missing space after ':'?)"
EMPTY_KEY_OR_VALUE = "Key or value was empty"


def split_java_lines(text: str) -> list[str]:
    """``BufferedReader.readLine()`` over ``text``: breaks at ``\\r\\n``, ``\\r`` and ``\\n``."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines[-1] == "":  # a final line break does not start another line
        lines.pop()
    return lines


def parse_flink_conf(data: bytes, path: str, encoding: str = "utf-8") -> ParsedConfig:
    """Read ``flink-conf.yaml`` bytes as Flink 1.17 to 1.20 do.

    ``encoding`` is the JVM's default charset on the host (``"utf-8"`` under
    a UTF-8 locale; ``"ascii"`` for Java 17 under ``LANG=C``).  Never raises
    for content: Flink accepts every file and skips what it cannot split.
    """
    text = data.decode(encoding, errors=JAVA_REPLACE)
    config: dict[str, str] = {}
    lines: dict[str, int] = {}
    skipped: list[dict] = []
    overridden: list[dict] = []
    cut: dict[str, int] = {}  # key -> line whose value ran on past a '#' (no blank before it)
    blanks = _JAVA_BLANKS
    for number, raw in enumerate(split_java_lines(text), 1):
        hash_at = raw.find("#")
        conf = (raw if hash_at < 0 else raw[:hash_at]).strip(blanks)
        if not conf:
            continue
        key, sep, value = conf.partition(": ")
        if not sep:
            skipped.append({"line": number, "reason": NOT_KEY_VALUE})
            continue
        key = key.strip(blanks)
        value = value.strip(blanks)
        if not key or not value:
            skipped.append({"line": number, "reason": EMPTY_KEY_OR_VALUE})
            continue
        if key in lines:
            overridden.append({"key": key, "line": lines[key], "by_line": number})
        config[key] = value
        lines[key] = number
        if hash_at > 0 and raw[hash_at - 1] not in blanks:
            cut[key] = number
    hash_cut = [{"key": k, "line": n} for k, n in cut.items() if lines[k] == n]
    return ParsedConfig(config=config, lines=lines, skipped_lines=skipped, format="legacy",
                        path=path, overridden=overridden, hash_cut=hash_cut)
