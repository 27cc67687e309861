# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Edit Flink's ``config.yaml`` in place, keeping everything a person wrote.

A round trip through a YAML library rewrites layout (indentation, spacing, quoting, long
lines); people diff these files and comment them.  So this editor never re-serialises: it
locates keys and values with libyaml's event marks (PyYAML) and splices text, so every byte
outside the edited spans stays as it was.  (ruamel.yaml's round trip was measured against the
files Flink ships: see tests/unit/plugins/plugin_utils/test_config_yaml_edit.py.)

* Set: a key is edited where it lives, nested (``taskmanager: {memory: {process: {size: ..}}}``)
  or flattened (``taskmanager.memory.process.size``), in the spelling Flink uses (the later one
  in the document), keeping its quoting style and a trailing comment.
* Add: a new key goes where a person would look: next to the entry that shares the longest
  dotted prefix with it, preferring the deepest nested map (``managed:`` / ``size:`` under an
  existing ``taskmanager: memory:`` block, written nested when that map is), else flat after the
  last top-level entry.
* Remove: every spelling Flink reads (nested, flattened, deprecated fallbacks given as
  ``aliases``); a nested map left empty goes too (Flink refuses a key without a value); full-line
  comments inside removed lines are kept.
* Values are written plain only when YAML 1.2 (as Flink reads it) gives back the very same
  string and YAML 1.1 readers would not see a boolean or null; otherwise quoted (the entry's own
  quote style when it had one), and refused only when no quoting can carry them.

The file must be one Flink accepts (``parse_config_yaml``); the result is read back the same way
and must give exactly the intended map, or EditError is raised and nothing is returned.
Controller side; never imports Ansible.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import yaml
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import ConfigFileError
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import (
    EditError,
    EditResult,
    expected_after,
    hide_text,
    normalize_ops,
    redact_fragment,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import STR, core_tag, parse_config_yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# NEL, LS, PS are line breaks to libyaml but not to Flink's YAML 1.2 parser; a BOM inside the
# text is content. Parse with one-character stand-ins so marks and Flink's lines agree.
_SPECIALS = "\x85\u2028\u2029\ufeff"
_STAND_INS = "\U0010fffa\U0010fffb\U0010fffc\U0010fffd"
_TO_STAND_IN = str.maketrans(_SPECIALS, _STAND_INS)
_FROM_STAND_IN = str.maketrans(_STAND_INS, _SPECIALS)
# YAML 1.1 booleans and nulls (other readers of the file, and people, take them so): always quoted
_YAML11_SPECIAL = re.compile(r"(?i:y|n|yes|no|on|off|null|~)\Z")
_NEEDS_ESCAPE = re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": "\\0", "\x85": "\\N",
            "\u2028": "\\L", "\u2029": "\\P"}
_CHECK_PATH = "<value check>"
_DOC_MARKER = re.compile(r"^(?:---|\.\.\.)(?:[ \t]|$)", re.MULTILINE)
_SET_TAG = "tag:yaml.org,2002:set"
# Plain scalars that read back as themselves wherever they stand (key, block or flow value).
_SURELY_PLAIN = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./=+-]*")
_PLAIN_INT = re.compile(r"[1-9][0-9]{0,17}|0")
_LINE_WITH_END = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")


# --- the document as a tree of spans ------------------------------------------------------------


@dataclass(eq=False)
class _Node:
    kind: str  # scalar | map | seq | alias
    start: int
    end: int
    style: str | None = None  # scalars: "" plain, "'", '"', "|", ">"
    flow: bool = False
    anchor: str | None = None
    entries: list = field(default_factory=list)  # maps: [_Entry]
    prefix: str = ""  # maps: the flattened prefix of their keys ("a.b.")
    column: int | None = None  # block maps: the column of their keys
    parent: _Entry | None = None  # the entry whose value this is (None for the root)
    ver: int = 0  # offsets are as of this many edits (_LiveDoc shifts them when asked)


@dataclass(eq=False)
class _Entry:
    key: str
    key_start: int
    key_end: int
    value: _Node
    map: _Node
    ver: int = 0

    @property
    def flat(self) -> str:
        return self.map.prefix + self.key


class _Doc:
    """The text, its line starts and the tree of the single document."""

    def __init__(self, text: str, path: str):
        self.text = text
        self.path = path
        self.starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
        self.root: _Node | None = None
        self.scalar_spans: list = []
        self.anchors_used: set = set()
        self.aliases: list = []  # (offset, anchor name) of every alias
        parsed = text.translate(_TO_STAND_IN) if any(c in text for c in _SPECIALS) else text
        loader = _Loader(parsed)
        try:
            loader.get_event()  # stream start
            if isinstance(loader.get_event(), DocumentStartEvent):
                self.root = self._node(loader, None, "")
        except yaml.YAMLError as exc:
            raise EditError(f"this editor cannot follow the file's YAML ({exc.__class__.__name__}); "
                            "edit it by hand", path=path) from None
        except RecursionError:
            raise EditError("this editor cannot follow the file's YAML (nested too deeply); edit it by hand",
                            path=path) from None
        finally:
            loader.dispose()

    def offset(self, mark) -> int:
        if mark.line >= len(self.starts):
            return len(self.text)
        return min(self.starts[mark.line] + mark.column, len(self.text))

    def line_of(self, offset: int) -> int:
        """0-based line of ``offset``."""
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo

    def line_start(self, offset: int) -> int:
        return self.starts[self.line_of(offset)]

    def line_end(self, offset: int) -> int:
        """End of the line holding ``offset``, its line break included."""
        number = self.line_of(offset)
        return self.starts[number + 1] if number + 1 < len(self.starts) else len(self.text)

    def end_of_lines(self, end: int) -> int:
        """End of the last line a span ending at ``end`` touches (a block scalar ends at a line start)."""
        if end >= len(self.text) or (end > 0 and self.text[end - 1] in "\r\n"):
            return end
        return self.line_end(end)

    def _node(self, loader, parent, prefix):
        event = loader.get_event()
        start, end = self.offset(event.start_mark), self.offset(event.end_mark)
        if isinstance(event, ScalarEvent):
            self.scalar_spans.append((start, end))
            return _Node("scalar", start, end, style=event.style or "", anchor=event.anchor, parent=parent)
        if isinstance(event, AliasEvent):
            self.anchors_used.add(event.anchor)
            self.aliases.append((start, event.anchor))
            return _Node("alias", start, end, parent=parent)
        if isinstance(event, SequenceStartEvent):
            node = _Node("seq", start, end, flow=bool(event.flow_style), anchor=event.anchor, parent=parent)
            last = end
            while not loader.check_event(SequenceEndEvent):
                last = self._node(loader, None, "").end
            closing = loader.get_event()
            node.end = self.offset(closing.end_mark) if node.flow else last
            return node
        node = _Node("map", start, end, flow=bool(event.flow_style), anchor=event.anchor, parent=parent,
                     prefix=prefix)
        last = end
        while not loader.check_event(MappingEndEvent):
            key_event = loader.peek_event()
            if not isinstance(key_event, ScalarEvent):
                # a list or map as a key: Flink refuses it outside lists; skip what we cannot name
                self._node(loader, None, "")
                last = self._node(loader, None, "").end
                continue
            loader.get_event()
            key = key_event.value.translate(_FROM_STAND_IN)
            key_start, key_end = self.offset(key_event.start_mark), self.offset(key_event.end_mark)
            self.scalar_spans.append((key_start, key_end))
            entry = _Entry(key, key_start, key_end, None, node)  # type: ignore[arg-type]
            if node.column is None and not node.flow:
                node.column = key_start - self.line_start(key_start)
            entry.value = self._node(loader, entry, prefix + key + ".")
            node.entries.append(entry)
            last = entry.value.end
        closing = loader.get_event()
        node.end = self.offset(closing.end_mark) if node.flow else last
        if event.tag == _SET_TAG:
            # Flink keeps a !!set as one value (rendered "!!set {a: null}"), it does not flatten it
            node.kind, node.entries = "set", []
        return node

    # -- queries --
    def maps(self):
        """Every map reachable through maps from the root (not inside lists), in document order."""
        return _walk_maps(self.root)

    def leaves(self, key: str) -> list:
        """Entries Flink reads as ``key`` (not maps: those are flattened), in document order."""
        found = [e for m in self.maps() for e in m.entries if e.flat == key and e.value.kind != "map"]
        return sorted(found, key=lambda e: e.key_start)

    def starts_between(self, start: int, end: int) -> list:
        """Line starts strictly between ``start`` and ``end``."""
        return self.starts[bisect_right(self.starts, start):bisect_left(self.starts, end)]

    def is_comment_line(self, start: int) -> bool:
        body = self.text[start:self.line_end(start)].lstrip(" \t")
        if not body.startswith("#"):
            return False
        return not any(s <= start < e for s, e in self.scalar_spans)

    def eol(self) -> str:
        counts: dict = {}
        for match in _LINE_BREAK.finditer(self.text):
            counts[match.group()] = counts.get(match.group(), 0) + 1
        return max(counts, key=counts.get) if counts else "\n"


def _walk_maps(root):
    """Every map reachable through maps from ``root`` (not inside lists), in document order."""
    out = []

    def walk(node):
        if node is None or node.kind != "map":
            return
        out.append(node)
        for entry in node.entries:
            walk(entry.value)

    walk(root)
    return out


class _LiveDoc:
    """A parsed document kept up to date through edits without parsing it again.

    Every edit is one splice of the text; the tree's offsets are shifted lazily (``fix``), new
    entries are built from the text the edit wrote, and what the edit changes in the tree (the
    value node, map ends) is updated, so that each step decides exactly as on a fresh parse of
    the edited text, at the cost of the lines it touches.
    """

    def __init__(self, doc: _Doc):
        self.text = doc.text
        self.path = doc.path
        self.root = doc.root
        self.anchors_used = Counter(anchor for _offset, anchor in doc.aliases)
        self._aliases = list(doc.aliases)  # base offsets
        self._spans = sorted(doc.scalar_spans)  # base offsets
        self._log: list = []  # (at, removed, inserted) per splice
        self._eols: dict | None = None
        self._step = _indent_step(doc)
        self._leaves: dict = {}
        self._by_prefix: dict = {}
        for m in doc.maps():
            self._by_prefix.setdefault(m.prefix, []).append(m)
            for e in m.entries:
                if e.value.kind != "map":
                    self._leaves.setdefault(e.flat, []).append(e)
        for found in self._leaves.values():
            found.sort(key=lambda e: e.key_start)

    # -- offsets --
    def _shift(self, x: int, ver: int, is_end: bool) -> int:
        for at, removed, inserted in self._log[ver:]:
            if removed == 0:
                # text inserted at a node's end follows it; at a node's start, precedes it
                if x > at or (x == at and not is_end):
                    x += inserted
            elif x >= at + removed:
                x += inserted - removed
        return x

    def fix(self, item):
        """Bring a node's or an entry's offsets up to the current text; returns it."""
        ver = len(self._log)
        if item.ver != ver:
            if isinstance(item, _Entry):
                item.key_start = self._shift(item.key_start, item.ver, False)
                item.key_end = self._shift(item.key_end, item.ver, True)
            else:
                item.start = self._shift(item.start, item.ver, False)
                item.end = self._shift(item.end, item.ver, True)
            item.ver = ver
        return item

    def _base(self, x: int) -> int | None:
        """The offset ``x`` had before any edit; None inside text an edit wrote."""
        for at, removed, inserted in reversed(self._log):
            if x >= at + inserted:
                x -= inserted - removed
            elif x >= at:
                return None
        return x

    def splice(self, start: int, end: int, new: str) -> None:
        removed = self.text[start:end]
        self.text = self.text[:start] + new + self.text[end:]
        self._log.append((start, end - start, len(new)))
        if self._eols is not None:
            if _LINE_BREAK.search(removed):
                self._eols = None
            else:
                for match in _LINE_BREAK.finditer(new):
                    if match.group() not in self._eols:
                        self._eols = None
                        break
                    self._eols[match.group()] += 1

    # -- the same queries as _Doc, on the current text --
    def line_of(self, offset: int) -> int:
        return len(_LINE_BREAK.findall(self.text, 0, offset))

    def line_start(self, offset: int) -> int:
        return max(self.text.rfind("\n", 0, offset), self.text.rfind("\r", 0, offset)) + 1

    def line_end(self, offset: int) -> int:
        match = _LINE_BREAK.search(self.text, offset)
        return match.end() if match else len(self.text)

    def end_of_lines(self, end: int) -> int:
        if end >= len(self.text) or (end > 0 and self.text[end - 1] in "\r\n"):
            return end
        return self.line_end(end)

    def starts_between(self, start: int, end: int) -> list:
        return [m.end() for m in _LINE_BREAK.finditer(self.text, start, end) if m.end() < end]

    def is_comment_line(self, start: int) -> bool:
        body = self.text[start:self.line_end(start)].lstrip(" \t")
        if not body.startswith("#"):
            return False
        base = self._base(start)
        if base is None:
            return True  # text an edit wrote holds no multi-line scalar
        at = bisect_right(self._spans, (base, float("inf"))) - 1
        return not (at >= 0 and self._spans[at][0] <= base < self._spans[at][1])

    def eol(self) -> str:
        if self._eols is None:
            self._eols = {}
            for match in _LINE_BREAK.finditer(self.text):
                self._eols[match.group()] = self._eols.get(match.group(), 0) + 1
        return max(self._eols, key=self._eols.get) if self._eols else "\n"

    def maps(self):
        return _walk_maps(self.root)

    def leaves(self, key: str) -> list:
        return self._leaves.get(key, [])

    def leaves_by_key(self):
        return self._leaves.items()

    def indent_step(self) -> int:
        return self._step

    def maps_for(self, key: str) -> list:
        """The maps whose prefix ``key`` starts with, in document order (what ``maps()`` filters to)."""
        found = list(self._by_prefix.get("", ()))
        at = key.find(".")
        while at >= 0:
            found += self._by_prefix.get(key[:at + 1], ())
            at = key.find(".", at + 1)
        if len(found) > 1:
            found.sort(key=lambda m: self.fix(m).start)  # a map starts after the maps before it
        return found

    @staticmethod
    def _index(m: _Node) -> dict:
        """Per map: its keys, how many hold a '.', and for each run of leading key segments the last
        entry whose flattened name starts with it."""
        ix = m.__dict__.get("_ix")
        if ix is None:
            ix = m.__dict__["_ix"] = {"keys": set(), "dotted": 0, "last": {}}
            for e in m.entries:
                _LiveDoc._index_entry(ix, e, None)
        return ix

    @staticmethod
    def _index_entry(ix: dict, entry: _Entry, anchor: _Entry | None) -> None:
        ix["keys"].add(entry.key)
        ix["dotted"] += "." in entry.key
        parts = entry.flat.split(".")
        last = ix["last"]
        for j in range(1, len(parts) + 1):
            run = tuple(parts[:j])
            if anchor is None or last.get(run) in (None, anchor):
                last[run] = entry

    def best_anchor(self, m: _Node, parts: list) -> tuple:
        """(shared segments, entry): the last entry of ``m`` sharing the most leading segments with the key."""
        last = self._index(m)["last"]
        best, anchor = 0, None
        for j in range(1, len(parts) + 1):
            entry = last.get(tuple(parts[:j]))
            if entry is None:
                break
            best, anchor = j, entry
        return best, anchor

    def taken(self, m: _Node) -> tuple:
        ix = self._index(m)
        return ix["keys"], ix["dotted"] == 0

    def entry_added(self, m: _Node, entry: _Entry, anchor: _Entry | None) -> None:
        """``entry`` was put into ``m`` right after ``anchor``."""
        if "_ix" in m.__dict__:
            # last of the map: the last for every run of its segments; else for those it shares with
            # the anchor only where the anchor was (entries after it come after the new one too)
            self._index_entry(m.__dict__["_ix"], entry, None if m.entries[-1] is entry else anchor)
        if entry.value.kind == "map":
            self.map_added(entry.value)

    def map_added(self, m: _Node) -> None:
        self._by_prefix.setdefault(m.prefix, []).append(m)

    @property
    def version(self) -> int:
        return len(self._log)

    # -- keeping the tree true to the text --
    def drop_aliases(self, start: int, end: int) -> None:
        """An edit replaced ``[start, end)``: the aliases there no longer refer to their anchors."""
        kept = []
        for offset, anchor in self._aliases:
            if start <= self._shift(offset, 0, False) < end:
                self.anchors_used[anchor] -= 1
                if self.anchors_used[anchor] <= 0:
                    del self.anchors_used[anchor]
            else:
                kept.append((offset, anchor))
        self._aliases = kept

    def index_in(self, m: _Node, entry: _Entry) -> int:
        """``entry``'s place in ``m.entries`` (entries stand in document order)."""
        return m.entries.index(entry)  # identity (eq=False): a C loop, cheaper than fixing offsets to bisect

    def _block_scalar_ends_at(self, offset: int) -> bool:
        """A block scalar ends at ``offset`` (a line start): what follows it there may become its own
        (blank lines, deeper comments).  True when unsure."""
        base = self._base(offset)
        if base is None:
            return True
        at = bisect_left(self._spans, (base, -1)) - 1
        return at >= 0 and self._spans[at][1] == base

    def entry_removed(self, entry: _Entry, index: int, start: int, end: int, kept: str) -> bool:
        """Replace ``[start, end)`` (the text of ``entry``, ``index`` in its map) with ``kept`` and take the
        entry out of the tree as a fresh parse would; True when a fresh parse may differ in more."""
        owner = entry.map
        following = self.text[end:self.line_end(end)]
        reparse = (not owner.flow and not kept and end < len(self.text) and start > 0
                   and (not following.strip(" \t\r\n") or following.lstrip(" \t").startswith("#"))
                   and self._block_scalar_ends_at(start))
        starts_map = owner.start == entry.key_start  # both as of now (_remove fixed them)
        if self._aliases:
            self.drop_aliases(start, end)
        self.splice(start, end, kept)
        del owner.entries[index]
        owner.__dict__.pop("_ix", None)
        self._forget(entry)
        if not owner.entries:
            return True  # the root is left without keys: what is the file now, a fresh parse says
        if not owner.flow:
            if index == 0:
                if not starts_map:
                    return True  # an anchor or a tag before the first key
                self.fix(owner)
                owner.start = self.fix(owner.entries[0]).key_start
            if index == len(owner.entries):
                last = self.fix(owner.entries[-1])
                self.fix(last.value)
                self.value_end_moved(last)
        return reparse

    def _forget(self, entry: _Entry) -> None:
        """Drop ``entry`` and what it holds from the indexes of leaves and maps."""
        if entry.value.kind != "map":
            self._leaves[entry.flat].remove(entry)
            return
        for m in _walk_maps(entry.value):
            self._by_prefix[m.prefix].remove(m)
            for e in m.entries:
                if e.value.kind != "map":
                    self._leaves[e.flat].remove(e)

    def removals_done(self) -> None:
        """The indentation step, as a fresh parse of the text left by the removals finds it."""
        self._step = _indent_step(self)

    def value_end_moved(self, entry: _Entry) -> None:
        """``entry``'s value now ends elsewhere: so do the block maps it ends (a block map ends with
        its last entry's value)."""
        m = entry.map
        while m.kind == "map" and not m.flow and m.entries and m.entries[-1] is entry:
            self.fix(m)
            m.end = entry.value.end
            if m.parent is None:
                return
            entry = m.parent
            self.fix(entry)
            m = entry.map


# --- writing scalars --------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _reads_back(text: str, flow: bool, as_key: bool) -> str | None:
    """What Flink reads for ``text`` written as a value (or a key) in that context; None if refused."""
    if as_key:
        doc = f"{text}: x\n"
    elif flow:
        doc = f"k: {{v: {text}}}\n"
    else:
        doc = f"k: {text}\n"
    try:
        parsed = parse_config_yaml(doc.encode("utf-8"), _CHECK_PATH).config
    except ConfigFileError:
        return None
    if as_key:
        return next(iter(parsed)) if len(parsed) == 1 and parsed.get(next(iter(parsed))) == "x" else None
    return parsed.get("k.v" if flow else "k") if len(parsed) == 1 else None


def _single(text: str) -> str | None:
    if _NEEDS_ESCAPE.search(text) or "\t" in text:
        return None
    return "'" + text.replace("'", "''") + "'"


def _double(text: str) -> str:
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _NEEDS_ESCAPE.match(ch):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def render_scalar(text: str, style: str = "", flow: bool = False, as_key: bool = False) -> str:
    """``text`` as YAML that Flink reads back as exactly ``text``: plain where that is safe, else quoted.

    ``style`` is the entry's current style (a quoted entry stays quoted the same way); ``flow``
    says the scalar sits inside ``{...}``.
    """
    if not style and _SURELY_PLAIN.fullmatch(text) and core_tag(text) == STR and not _YAML11_SPECIAL.match(text):
        return text  # what the checks below would pick, known without parsing
    if not style and not as_key and _PLAIN_INT.fullmatch(text):
        return text  # an int that Flink's toMap() writes back digit for digit
    candidates = []
    if style == '"':
        candidates.append(_double(text))
    elif style == "'":
        candidates.append(_single(text))
    plain_ok = (text and not _YAML11_SPECIAL.match(text) and text == text.strip(" ") and text[0] not in "[{"
                and not any(c in text for c in "\t\r\n\x85\u2028\u2029\ufeff"))
    if style not in ('"', "'") and plain_ok:
        candidates.append(text)
    candidates += [_single(text), _double(text)]
    for candidate in candidates:
        if candidate is not None and _reads_back(candidate, flow, as_key) == text:
            return candidate
    raise EditError("no YAML spelling reads back as this exact " + ("key" if as_key else "value"))


# --- the edit -----------------------------------------------------------------------------------


def _decode(data: bytes, path: str) -> tuple[bytes, str]:
    if data[:3] == b"\xef\xbb\xbf":
        bom, data = data[:3], data[3:]
    elif data[:2] in (b"\xfe\xff", b"\xff\xfe"):
        raise EditError("the file is UTF-16 or UTF-32; only UTF-8 files are edited (save it as UTF-8)", path=path)
    else:
        bom = b""
    try:
        return bom, data.decode("utf-8")
    except UnicodeDecodeError:
        raise EditError("the file is not valid UTF-8", path=path) from None


def _parse(bom: bytes, text: str, path: str) -> dict:
    try:
        return parse_config_yaml(bom + text.encode("utf-8"), path).config
    except ConfigFileError as exc:
        raise EditError(f"Flink refuses this file as it is ({exc.message}); fix it first", path=path,
                        line=exc.line, key=exc.key) from None


def edit_config_yaml(data: bytes, path: str, settings: Mapping | None = None, remove: Iterable | None = None,
                     aliases: Mapping | Callable | None = None) -> EditResult:
    """Set ``settings`` ({key: value}) and delete ``remove`` (keys, with their ``aliases``) in ``data``.

    Returns an EditResult; raises EditError (and changes nothing) when the file is one Flink
    refuses, or an edit cannot be made so that Flink reads back exactly the intended map.
    """
    settings, names = normalize_ops(settings, remove, aliases)
    bom, text = _decode(data, path)
    before = _parse(bom, text, path)
    changes: list = []
    doc = _Doc(text, path)
    # the line of each key in the original (the tree's offsets move with the edits below)
    original_lines = {key: doc.line_of(found[-1].key_start) + 1 for key, found in _LiveDoc(doc).leaves_by_key()}

    def original_line(key):
        return original_lines.get(key)

    # One pass: each removal and each setting edits the text where it is, and the tree follows
    # without a new parse (a removal whose neighbours a fresh parse might read differently is
    # followed by one, see _remove).  Settings are distinct keys none of which is removed, so the
    # value Flink reads for a key is still the one it read before.
    live = _LiveDoc(doc)
    removed_any = False
    for name in names:
        removed = False
        while True:
            found = live.leaves(name)
            if not found:
                break
            if _remove(live, found[0]):
                live = _LiveDoc(_Doc(live.text, path))
            removed = removed_any = True
        if removed:
            changes.append({"key": name, "action": "remove", "line": original_line(name), "before": before.get(name),
                            "after": None})
    if removed_any:
        live.removals_done()
    for key, value in settings.items():
        if not isinstance(value, str):
            raise EditError("the value must be a string", path=path, key=key)
        found = live.leaves(key)
        current = before.get(key)
        if found:
            entry = found[-1]  # of a nested and a flat spelling Flink keeps the later one
            if current == value:
                continue
            changes.append({"key": key, "action": "update", "line": original_line(key), "before": current,
                            "after": value})
            _replace(live, entry, value)
        else:
            _add(live, key, value)
            changes.append({"key": key, "action": "add", "line": None, "before": None, "after": value})
    text = live.text

    if not changes:
        return EditResult(data, before, dict(before), [])
    content = bom + text.encode("utf-8")
    try:
        after = parse_config_yaml(content, path).config
    except ConfigFileError as exc:
        raise EditError(f"the edited file would not load in Flink ({exc.message}); nothing was written",
                        path=path, line=exc.line, key=exc.key) from None
    wanted = expected_after(before, settings, names)
    if after != wanted:
        wrong = sorted(set(after) ^ set(wanted) | {k for k in after if k in wanted and after[k] != wanted[k]})
        raise EditError(f"the edited file would not read back as intended (keys {', '.join(wrong[:5])}); "
                        "nothing was written", path=path)
    _number_changes(changes, text)
    return EditResult(content, before, after, changes)


def _number_changes(changes: list, text: str) -> None:
    """Added keys: their 1-based line in the new file (updates and removals carry the original's)."""
    doc = _Doc(text, "")
    last = {}
    for m in doc.maps():
        for e in m.entries:
            if e.value.kind != "map" and (e.flat not in last or last[e.flat] < e.key_start):
                last[e.flat] = e.key_start
    for change in changes:
        if change["action"] == "add":
            change["line"] = doc.line_of(last[change["key"]]) + 1 if change["key"] in last else None


def _check_anchor(doc: _Doc, entry: _Entry, what: str) -> None:
    node = entry.value
    if node.anchor is not None and node.anchor in doc.anchors_used:
        raise EditError(f"the value carries the anchor &{node.anchor}, which other keys refer to; {what} it by hand",
                        path=doc.path, line=doc.line_of(entry.key_start) + 1, key=entry.flat)


def _style_of(rendered: str) -> str:
    return rendered[0] if rendered[:1] in ("'", '"') else ""


def _replace(doc: _LiveDoc, entry: _Entry, value: str) -> None:
    doc.fix(entry)
    node = doc.fix(entry.value)
    _check_anchor(doc, entry, "change")
    text = doc.text
    in_flow = entry.map.flow
    multi_line = "\n" in text[node.start:node.end] or "\r" in text[node.start:node.end]
    try:
        rendered = render_scalar(value, node.style if node.kind == "scalar" else "", flow=in_flow)
    except EditError as exc:
        raise EditError(exc.message, path=doc.path, line=doc.line_of(entry.key_start) + 1, key=entry.flat) from None
    if node.kind == "alias" or (node.kind == "scalar" and not multi_line and node.style not in ("|", ">")):
        start, end, new, at = node.start, node.end, rendered, node.start
    else:
        # A block scalar, a multi-line scalar or a list: the new value goes on the key's line.
        colon = _colon_after(doc, entry)
        tail = ""
        if node.kind == "scalar" and node.style in ("|", ">"):
            # the block scalar took its line breaks (and blank lines after it): give them back
            span = text[node.start:node.end]
            tail = "".join(_LINE_BREAK.findall(span[len(span.rstrip(" \t\r\n")):]))
        # full-line comments inside a replaced list stay, after the new value
        column = entry.key_start - doc.line_start(entry.key_start)
        comments = [_outdent(text[s:doc.line_end(s)], column) for s in doc.starts_between(node.start, node.end)
                    if doc.is_comment_line(s)]
        if comments and not tail:
            new = " " + rendered + doc.eol() + "".join(comments).rstrip("\r\n")
        else:
            new = " " + rendered + tail + "".join(comments)
        start, end, at = colon + 1, node.end, colon + 2
    doc.drop_aliases(node.start, node.end)
    doc.splice(start, end, new)
    # the value is now one scalar, as a fresh parse would find it
    node.kind, node.style, node.anchor, node.flow, node.entries = "scalar", _style_of(rendered), None, False, []
    node.start, node.end, node.ver = at, at + len(rendered), doc.version
    doc.value_end_moved(entry)


def _colon_after(doc: _Doc, entry: _Entry) -> int:
    at = entry.key_end
    text = doc.text
    while at < len(text) and text[at] in " \t":
        at += 1
    if at >= len(text) or text[at] != ":":
        raise EditError("this editor cannot find the ':' after the key; edit it by hand", path=doc.path,
                        line=doc.line_of(entry.key_start) + 1, key=entry.flat)
    return at


def _remove(doc: _LiveDoc, entry: _Entry) -> bool:
    """Remove ``entry`` (and the maps it leaves empty); True when the tree must be parsed again."""
    doc.fix(entry)
    _check_anchor(doc, entry, "remove")
    owner = entry.map
    # A map left empty would leave its key without a value, which Flink refuses: remove it too.
    while len(owner.entries) == 1 and owner.parent is not None:
        entry = owner.parent
        owner = entry.map
    doc.fix(entry)
    doc.fix(entry.value)
    doc.fix(owner)
    text = doc.text
    if owner.flow:
        index = doc.index_in(owner, entry)
        if len(owner.entries) == 1:  # the root {a: 1}: leave {}
            start, end = entry.key_start, entry.value.end
        elif index + 1 < len(owner.entries):
            start, end = entry.key_start, doc.fix(owner.entries[index + 1]).key_start
        else:
            start, end = doc.fix(owner.entries[index - 1].value).end, entry.value.end
        return doc.entry_removed(entry, index, start, end, "")
    start = doc.line_start(entry.key_start)
    if text[start:entry.key_start].strip(" \t"):
        raise EditError("the key does not start its line (a layout this editor does not change); edit it by hand",
                        path=doc.path, line=doc.line_of(entry.key_start) + 1, key=entry.flat)
    end = doc.end_of_lines(entry.value.end)
    column = entry.key_start - start
    kept = [_outdent(text[s:doc.line_end(s)], column) for s in doc.starts_between(start, end)
            if doc.is_comment_line(s)]
    # If the entry is the root's only one, what stays is the comments: still a valid (empty) file.
    return doc.entry_removed(entry, doc.index_in(owner, entry), start, end, "".join(kept))


def _outdent(line: str, column: int) -> str:
    """A kept comment line, indented no deeper than ``column``: deeper, it could fall into a block
    scalar that now comes right before it (and become part of its value)."""
    body = line.lstrip(" \t")
    return " " * min(column, len(line) - len(body)) + body


# --- adding a key where a person would look --------------------------------------------------------


def _depth(node: _Node) -> int:
    depth = 0
    while node.parent is not None:
        depth += 1
        node = node.parent.map
    return depth


def _indent_step(doc: _Doc) -> int:
    for m in doc.maps():
        if m.parent is not None and not m.flow and m.column is not None and m.parent.map.column is not None:
            step = m.column - m.parent.map.column
            if step > 0:
                return step
    return 2


def _add(doc: _LiveDoc, key: str, value: str) -> None:
    text = doc.text
    root = doc.root and doc.fix(doc.root)
    eol = doc.eol()
    if root is None or (root.kind == "scalar" and root.style == "" and not text[root.start:root.end].strip()):
        rkey, rvalue = render_scalar(key, as_key=True), render_scalar(value)
        sep = "" if not text or text.endswith(("\n", "\r")) else eol
        doc.splice(len(text), len(text), sep + rkey + ": " + rvalue + eol)
        # the file is now a block map of that one key
        doc.root = _Node("map", 0, 0, prefix="", column=0, ver=doc.version)
        doc.map_added(doc.root)
        _new_entries(doc, doc.root, None, len(text) + len(sep), [rkey], [key], rvalue, 0, 0, eol)
        return
    if root.kind != "map" or root.flow:
        raise EditError("the file is not a block mapping of keys (it is one {...} or a list); add the key by hand",
                        path=doc.path, key=key)
    parts_of_key = key.split(".")
    candidates = []
    for m in doc.maps_for(key):
        if m.flow or not key.startswith(m.prefix) or len(key) <= len(m.prefix):
            continue
        rest = key[len(m.prefix):]
        best, anchor = doc.best_anchor(m, parts_of_key)
        if m is root or best > 0 or m.prefix:
            candidates.append((best, _depth(m), m, anchor, rest))
    # most shared segments first, then the deepest map, then the later one
    candidates.sort(key=lambda c: (c[0], c[1]), reverse=True)
    step = doc.indent_step()
    for *_score, m, anchor, rest in candidates:
        taken, undotted = doc.taken(m)
        parts = rest.split(".")
        nested = m is not root and len(parts) > 1 and undotted and parts[0] not in taken
        if not nested and rest in taken:
            continue
        if anchor is None:
            anchor = m.entries[-1]
        at = doc.end_of_lines(doc.fix(doc.fix(anchor).value).end)
        if m is root and not _score[0] and not _DOC_MARKER.search(text, root.end):
            at = len(text)  # related to nothing in the file: at the very end
        column = m.column or 0
        keys = parts if nested else [rest]
        try:
            rkeys = [render_scalar(part, as_key=True) for part in keys]
            rvalue = render_scalar(value)
        except EditError as exc:
            raise EditError(exc.message, path=doc.path, key=key) from None
        lines = [" " * (column + depth * step) + rk + ":" for depth, rk in enumerate(rkeys[:-1])]
        lines.append(" " * (column + (len(keys) - 1) * step) + rkeys[-1] + ": " + rvalue)
        block = eol.join(lines) + eol
        prefix = "" if at == 0 or text[at - 1] in "\r\n" else eol
        doc.splice(at, at, prefix + block)
        _new_entries(doc, m, anchor, at + len(prefix), rkeys, keys, rvalue, column, step, eol)
        return
    raise EditError("no place to add the key without repeating an existing one; add it by hand",
                    path=doc.path, key=key)


def _new_entries(doc: _LiveDoc, m: _Node, anchor: _Entry | None, line_start: int, rkeys: list, keys: list,
                 rvalue: str, column: int, step: int, eol: str) -> None:
    """The entries an add just wrote at ``line_start`` (one line per key: the maps, then the value),
    put into the tree as a fresh parse would find them; ``anchor`` is the entry of ``m`` they follow."""
    owner, at, parent_entry = m, line_start, None
    for depth, (rk, key) in enumerate(zip(rkeys, keys, strict=True)):
        key_start = at + column + depth * step
        key_end = key_start + len(rk)
        entry = _Entry(key, key_start, key_end, None, owner, ver=doc.version)  # type: ignore[arg-type]
        if depth + 1 < len(keys):
            entry.value = _Node("map", key_end + 1 + len(eol) + column + (depth + 1) * step, 0,
                                prefix=owner.prefix + key + ".", column=column + (depth + 1) * step,
                                parent=entry, ver=doc.version)
            at = key_end + 1 + len(eol)
        else:
            entry.value = _Node("scalar", key_end + 2, key_end + 2 + len(rvalue), style=_style_of(rvalue),
                                parent=entry, ver=doc.version)
        if owner is m and anchor is not None and anchor in owner.entries:
            owner.entries.insert(owner.entries.index(anchor) + 1, entry)
            doc.entry_added(owner, entry, anchor)
        else:
            owner.entries.append(entry)
            doc.entry_added(owner, entry, None)
        if parent_entry is not None:
            owner.start = key_start
        parent_entry, owner = entry, entry.value
    if doc.root is m and len(m.entries) == 1:
        m.start = m.entries[0].key_start
    # the new leaf, then the maps it ends
    entry = parent_entry
    doc.value_end_moved(entry)


# --- showing a file without its secrets --------------------------------------------------------------


def redact_config_yaml_text(text: str, sensitive: Callable[[str], bool]) -> str:
    """``text`` with the value of every sensitive key replaced by ``******`` (for diffs).

    Values Flink reads are found through the document (nested keys count by their flattened
    name; a ``!!set`` is one value, members and all).  A value spanning several lines (a block
    scalar, a list, a multi-line quoted string) keeps its line breaks, each line hidden, so the
    diff keeps its shape.  A comment on a line that holds part of a sensitive value is hidden
    whole; other comments by their look (``# password: x``), since they may hold secrets.  A file
    this editor cannot follow is hidden line by line the same way.
    """
    body = text.lstrip("\ufeff")
    if len(body) != len(text):
        # Byte order marks before the document: the reader skips them, the parse below must too, or the
        # first key's value would be taken for part of a scalar and go through unhidden.
        return text[:len(text) - len(body)] + redact_config_yaml_text(body, sensitive)
    spans = []
    try:
        doc = _Doc(text, "")
    except EditError:
        doc = None
    if doc is not None:
        for m in doc.maps():
            for e in m.entries:
                if e.value.kind != "map" and sensitive(e.flat) and e.value.end > e.value.start:
                    spans.append((e.value.start, e.value.end))
        spans.sort()
        kept_spans: list = []
        for span in spans:
            if not kept_spans or span[0] >= kept_spans[-1][1]:
                kept_spans.append(span)
        spans = kept_spans
    out = []
    first = 0  # the first span that may reach the current line
    # A file the editor cannot follow: a sensitive value may go on below its key (a block scalar, a flow
    # collection, a multi-line string), so every line indented deeper than that key, and each blank line
    # among them, is hidden too.
    continues_below = None  # the indent of the sensitive key whose value may continue
    for match in _LINE_WITH_END.finditer(text):
        body, ending = match.group(1), match.group(2)
        if not body and not ending:
            break
        if doc is None:
            indent = len(body) - len(body.lstrip(" "))
            if continues_below is not None and (not body.strip() or indent > continues_below):
                out.append(hide_text(body) + ending)
                continue
            continues_below = None
        start, end = match.start(1), match.end(1)
        while first < len(spans) and spans[first][1] <= start:
            first += 1
        pieces, pos, index = [], start, first
        while index < len(spans) and spans[index][0] < end:
            s, e = max(spans[index][0], start), min(spans[index][1], end)
            pieces.append(text[pos:s])
            pieces.append(hide_text(text[s:e]))
            pos = e
            if spans[index][1] > end:
                break  # continues on the next line
            index += 1
        hidden = bool(pieces)
        tail = text[pos:end]
        hash_at = tail.find("#")
        while hash_at >= 0 and pos + hash_at > start and text[pos + hash_at - 1] not in " \t":
            hash_at = tail.find("#", hash_at + 1)  # not a comment: YAML needs a blank before it
        if hash_at >= 0:
            comment = tail[hash_at + 1:]
            shown = hide_text(comment) if hidden else redact_fragment(comment, sensitive)
            tail = tail[:hash_at + 1] + shown
        if doc is None:
            shown = redact_fragment(tail, sensitive)
            if shown != tail and not tail.lstrip().startswith("#"):
                continues_below = indent
            tail = shown
        out.append("".join(pieces) + tail + ending)
    return "".join(out)
