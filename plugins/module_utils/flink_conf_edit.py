# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Edit the legacy ``flink-conf.yaml`` line by line, as a person would.

The file is read the way Flink 1.17 to 1.20 read it (``flink_conf.parse_flink_conf``: cut at the
first ``#``, trim, split at the first ``": "``, last duplicate wins), and changed as little as
possible:

* setting a key rewrites the value on the line Flink uses (the last duplicate), keeping the
  indentation, the spacing around ``": "`` and a trailing comment;
* a new key goes after the last line of its closest prefix family
  (``taskmanager.memory.managed.size`` after ``taskmanager.memory.process.size``), else at the
  end; it copies that line's indentation and line ending;
* removing a key deletes every line Flink would read for it: all its duplicates and the
  deprecated names Flink falls back to (``aliases``);
* a value Flink would read differently is refused with the reason, never written: a ``#`` (the
  parser cuts the line there), a line break, blanks at either end (trimmed), an empty value
  (the line is skipped).

Every other byte of the file, comments and unparsed lines included, is kept.  The result is
read back with Flink's rules and must give exactly the intended map, or nothing is returned.
Standard library only (shared by the controller and the writing module).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.config_files import LocatedError
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf

_BLANKS = "".join(chr(c) for c in range(0x21))  # what Java's String.trim() strips
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")
SEPARATOR = ": "


class EditError(LocatedError):
    """An edit that cannot be made safely; nothing is written.  ``str()`` reads like ConfigFileError's;
    messages never hold config values."""


@dataclass
class EditResult:
    """What an edit gives: the new bytes, Flink's map before and after, and each change.

    ``changes`` items: ``{"key", "action": "update"|"add"|"remove", "line", "before", "after"}``
    (``line`` is 1-based, in the original file for update/remove and in the new file for add;
    values are raw: redact before showing them).
    """

    content: bytes
    before: dict
    after: dict
    changes: list = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def memory_spellings(key: str) -> tuple:
    """``key`` and the deprecated keys Flink falls back to for it (memory options of options.py)."""
    for table in opts.PROCESSES.values():
        option = table.get(key)
        if option is not None:
            return option.names()
    return (key,)


def normalize_ops(settings: Mapping | None, remove: Iterable | None,
                  aliases: Mapping | Callable | None) -> tuple[dict, list]:
    """(settings as {str: str}, [names to delete]) with every spelling of each removed key.

    ``aliases`` maps a removed key to the other names Flink reads for it (or is a function of the
    key); a name that is also being set is not deleted.
    """
    settings = dict(settings or {})
    for key, value in settings.items():
        if not isinstance(key, str):
            raise EditError(f"setting keys must be strings, got {type(key).__name__}", key=str(key))
        if not isinstance(value, str):
            raise EditError(f"the value must be a string, got {type(value).__name__}", key=key)
    names: list = []
    for key in remove or ():
        if not isinstance(key, str):
            raise EditError(f"keys to remove must be strings, got {type(key).__name__}", key=str(key))
        if key in settings:
            raise EditError("the key is both set and removed; give it in one of settings or remove", key=key)
        if callable(aliases):
            spellings = aliases(key)
        elif aliases is not None:
            spellings = aliases.get(key, ())
        else:
            spellings = memory_spellings(key)
        for name in (key, *spellings):
            if name not in names and name not in settings:
                names.append(name)
    return settings, names


def expected_after(before: Mapping, settings: Mapping, names: Iterable) -> dict:
    """The map Flink must read after the edit."""
    out = dict(before)
    for name in names:
        out.pop(name, None)
    out.update(settings)
    return out


# --- the file as lines --------------------------------------------------------------------------


@dataclass
class _Line:
    text: str
    eol: str
    key: str | None = None  # what Flink reads on this line, None when it reads nothing
    value: str | None = None
    vstart: int = 0  # value span in ``text``
    vend: int = 0
    indent: str = ""


def _split(text: str) -> list:
    lines = []
    for match in _LINE.finditer(text):
        body, eol = match.group(1), match.group(2)
        if not body and not eol:
            break  # the empty match at the very end
        lines.append(_Line(body, eol))
    return lines


def _analyse(line: _Line) -> None:
    """Fill in what Flink reads on ``line`` (same rules as flink_conf.parse_flink_conf)."""
    raw = line.text
    hash_at = raw.find("#")
    conf = raw if hash_at < 0 else raw[:hash_at]
    start = len(conf) - len(conf.lstrip(_BLANKS))
    end = len(conf.rstrip(_BLANKS))
    line.key = line.value = None
    line.indent = raw[:start] if start < len(raw) else ""
    if start >= end:
        return
    sep = conf.find(SEPARATOR, start, end)
    if sep < 0:
        return
    key = conf[start:sep].strip(_BLANKS)
    vstart = sep + len(SEPARATOR)
    while vstart < end and conf[vstart] in _BLANKS:
        vstart += 1
    value = conf[vstart:end]
    if not key or not value:
        return
    line.key, line.value, line.vstart, line.vend = key, value, vstart, end


def _dominant_eol(lines) -> str:
    counts: dict = {}
    for line in lines:
        if line.eol:
            counts[line.eol] = counts.get(line.eol, 0) + 1
    return max(counts, key=counts.get) if counts else "\n"


def segments_shared(a: str, b: str) -> int:
    """How many leading dot-separated segments two keys share (where a new key goes)."""
    n = 0
    for x, y in zip(a.split("."), b.split("."), strict=False):
        if x != y:
            break
        n += 1
    return n


# --- checks ---------------------------------------------------------------------------------


def check_key(key: str, path: str | None = None) -> None:
    """Refuse a key the legacy parser would read as another key (or not at all)."""
    problem = None
    if not key:
        problem = "an empty key: Flink skips the line"
    elif "\n" in key or "\r" in key:
        problem = "the key holds a line break: Flink would read two lines"
    elif "#" in key:
        problem = "the key holds '#': Flink's legacy parser cuts every line at its first '#'"
    elif SEPARATOR in key:
        problem = "the key holds ': ': Flink splits the line at its first ': ', so it would read another key"
    elif key[0] in _BLANKS or key[-1] in _BLANKS:
        problem = "the key starts or ends with blanks, which Flink trims away"
    if problem:
        raise EditError(problem + "; nothing was written", path=path, key=key)


def check_value(key: str, value: str, path: str | None = None) -> None:
    """Refuse a value the legacy parser would read differently; the message never holds the value."""
    problem = None
    if value.strip(_BLANKS) == "":
        problem = ("an empty value: Flink skips the line (\"Key or value was empty\"), so the key would keep its "
                   "default; use remove to delete a key")
    elif "\n" in value or "\r" in value:
        problem = "the value holds a line break: flink-conf.yaml has one key per line, Flink would read a cut value"
    elif "#" in value:
        problem = (f"the value holds '#' (character {value.index('#') + 1}): Flink's legacy parser cuts every line "
                   "at its first '#', even inside quotes, so it would read only what comes before it; quoting "
                   "does not help in flink-conf.yaml (move to config.yaml, Flink 1.19+, to keep such a value)")
    elif value[0] in _BLANKS or value[-1] in _BLANKS:
        problem = "the value starts or ends with blanks or control characters, which Flink trims away"
    if problem:
        raise EditError(problem + "; nothing was written", path=path, key=key)


# --- the edit -------------------------------------------------------------------------------


def edit_flink_conf(data: bytes, path: str, settings: Mapping | None = None, remove: Iterable | None = None,
                    aliases: Mapping | Callable | None = None, encoding: str = "utf-8") -> EditResult:
    """Set ``settings`` ({key: value}) and delete ``remove`` (keys, with their ``aliases``) in ``data``.

    Returns an EditResult; raises EditError (and changes nothing) when a value cannot be written
    so that Flink reads it back unchanged.  ``encoding`` is the host JVM's default charset, as for
    ``parse_flink_conf``.
    """
    settings, names = normalize_ops(settings, remove, aliases)
    for key, value in settings.items():
        check_key(key, path)
        check_value(key, value, path)
    # surrogateescape: bytes that are not UTF-8 come back out exactly as they went in
    text = data.decode("utf-8", "surrogateescape")
    lines = _split(text)
    for line in lines:
        _analyse(line)
    before = parse_flink_conf(data, path, encoding=encoding).config
    changes: list = []

    # Deletions first: every line Flink reads for one of the names.
    doomed = set(names)
    kept = []
    for number, line in enumerate(lines, 1):
        if line.key is not None and line.key in doomed:
            changes.append({"key": line.key, "action": "remove", "line": number, "before": line.value,
                            "after": None})
            continue
        kept.append((number, line))
    lines = [pair[1] for pair in kept]
    original_number = {id(line): number for number, line in kept}

    for key, value in settings.items():
        last = None
        for line in lines:
            if line.key == key:
                last = line
        if last is not None:
            if last.value != value:
                changes.append({"key": key, "action": "update", "line": original_number.get(id(last)),
                                "before": last.value, "after": value})
                last.text = last.text[:last.vstart] + value + last.text[last.vend:]
                last.value = value
                last.vend = last.vstart + len(value)
            continue
        lines, new = _add(lines, key, value)
        changes.append({"key": key, "action": "add", "line": new, "before": None, "after": value})

    if not changes:
        return EditResult(data, before, dict(before), [])
    content = "".join(line.text + line.eol for line in lines).encode("utf-8", "surrogateescape")
    after = parse_flink_conf(content, path, encoding=encoding).config
    wanted = expected_after(before, settings, names)
    if after != wanted:
        wrong = sorted(set(after) ^ set(wanted) | {k for k in after if k in wanted and after[k] != wanted[k]})
        raise EditError(f"the edited file would not read back as intended (keys {', '.join(wrong[:5])}); "
                        "nothing was written", path=path)
    final = {id(line): n for n, line in enumerate(lines, 1)}
    for change in changes:
        if change["action"] == "add":  # its line object -> its number in the new file
            change["line"] = final[id(change["line"])]
    return EditResult(content, before, after, changes)


def _add(lines: list, key: str, value: str) -> tuple[list, _Line]:
    """Insert ``key: value`` after the last line of its closest prefix family, else at the end."""
    best, anchor = 0, None
    for i, line in enumerate(lines):
        if line.key is None:
            continue
        shared = segments_shared(key, line.key)
        if shared and shared >= best:
            best, anchor = shared, i
    eol = _dominant_eol(lines)
    if anchor is None:
        indent = ""
        at = len(lines)
    else:
        indent = lines[anchor].indent
        at = anchor + 1
    if at > 0 and not lines[at - 1].eol:
        lines[at - 1].eol = eol  # the line we follow was the last one, without a line break
    new = _Line(indent + key + SEPARATOR + value, eol)
    _analyse(new)
    return lines[:at] + [new] + lines[at:], new


# --- showing a file without its secrets ---------------------------------------------------------

REDACTED = opts.REDACTED
_FRAGMENT_SEPARATOR = re.compile(r"[:=]")


def redact_fragment(text: str, sensitive: Callable[[str], bool]) -> str:
    """A comment or an unparsed line, with everything after ``<something sensitive>:`` (or ``=``) hidden.

    Each stretch between separators is tried, not only the first: ``# was: s3.secret-key: x`` and
    ``# password=x`` hide ``x`` too.
    """
    start = 0
    for match in _FRAGMENT_SEPARATOR.finditer(text):
        if sensitive(text[start:match.start()]):
            rest = text[match.end():]
            body = rest.strip()
            if body:
                gap = rest[:len(rest) - len(rest.lstrip())]
                tail = rest[len(rest.rstrip()):]
                return f"{text[:match.end()]}{gap}{REDACTED}{tail}"
        start = match.end()
    return text


def hide_text(text: str) -> str:
    """``text`` hidden, its blanks at either end kept (``# rotated`` -> ``# ******``)."""
    core = text.strip(" \t")
    if not core:
        return text
    lead = text[:len(text) - len(text.lstrip(" \t"))]
    return lead + REDACTED + text[len(lead) + len(core):]


def redact_flink_conf_text(text: str, sensitive: Callable[[str], bool]) -> str:
    """``text`` with the value of every sensitive key replaced by ``******`` (for diffs).

    Values Flink reads are hidden exactly, and so is a comment after a sensitive value; other
    comments and lines Flink skips (``password:abc``) are hidden by their look, since they may hold
    secrets too.
    """
    out = []
    for line in _split(text):
        _analyse(line)
        raw = line.text
        hash_at = raw.find("#")
        body, comment = (raw, "") if hash_at < 0 else (raw[:hash_at], raw[hash_at:])
        glued = False
        if line.key is not None:
            if sensitive(line.key):
                body = body[:line.vstart] + REDACTED + body[line.vend:]
                # 'pass: ab#cd': Flink reads 'ab', but '#cd' is most likely the rest of the secret
                glued = hash_at == line.vend
        elif body.strip():
            body = redact_fragment(body, sensitive)
        if comment:
            # after a secret, a comment is most likely about it (or the rest of it): hide it whole
            hide = glued or (line.key is not None and sensitive(line.key))
            comment = "#" + (hide_text(comment[1:]) if hide else redact_fragment(comment[1:], sensitive))
        out.append(body + comment + line.eol)
    return "".join(out)
