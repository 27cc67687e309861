# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Flink's ``config.yaml`` (1.19+), read exactly as Flink reads it.

Flink 1.19 to 2.3 all read ``config.yaml`` with snakeyaml-engine 2.6 (the
same classes ship in every release): ``Load`` with ``CoreSchema`` (YAML 1.2
core), duplicate keys refused, at most 50 aliases to collections, at most
3 MiB of code points.  ``GlobalConfiguration`` then flattens nested maps
with ``.`` (into a HashMap, in document order, so of a nested and a flat
spelling of one key the later wins), renders lists with the flow dumper
(``[a, 'b: c']``), and stores each value with ``Configuration.
setValueInternal``, which refuses null.  ``Configuration.toMap()`` gives
strings back as they are and everything else through the flow dumper
(``true``, ``10``, ``1000.0``, ``1.0E20``, ``.inf``).

Here libyaml (PyYAML's C parser, the pure-Python one when libyaml is
missing) produces the parse events, with the resolver swapped for the YAML
1.2 core schema, and this module builds the values from the events as
snakeyaml-engine does (an anchor may be defined again; an alias means the
latest one) and then does what Flink does.  Where libyaml and
snakeyaml-engine disagree, the input is checked or adjusted first (each
case found by running Flink's own loader, see tests/oracle):

* Tabs: snakeyaml-engine skips only spaces between tokens, so a tab
  anywhere but inside a scalar, a comment, or right after a plain scalar is
  fatal (``found character '\\t(TAB)' that cannot start any token``), and
  ``"\\<TAB>"`` is an unknown escape.  libyaml allows more, so the token
  stream is checked when the text has a tab.  A block scalar whose first
  line has a tab after its indentation is fine to Flink; libyaml gets the
  indentation written into the header.
* ``{a:[1]}``, ``[1:, 2]``: a ``:`` right before a flow indicator is a
  value indicator to Flink; libyaml gets a space after it.
* U+0085, U+2028, U+2029 and U+FEFF inside the text are ordinary
  characters to snakeyaml-engine (libyaml breaks lines at the first three
  and refuses the last), so they are swapped for private-use stand-ins
  while parsing.  Blanks around NEL/LS/PS inside a scalar are dropped as
  snakeyaml-engine drops them.
* Characters Java's reader refuses (``special characters are not
  allowed``), the byte order marks it detects (UTF-8, UTF-16 and UTF-32; no
  BOM means UTF-8, and invalid UTF-8 is fatal) are checked here.
* Flink's list dumper numbers anchors (``&id001``) across the whole load.
* Of several errors, the one Flink reports: the whole document is parsed and composed first
  (syntax, undefined aliases, a second document), then values are built, each map checking its
  keys for duplicates before building its values (``a: 1\na: 2\nb\n`` is a syntax error).
* Surprises kept on purpose because Flink has them: ``+.inf`` is fatal
  (``NumberFormatException``) while ``.inf`` and ``-.inf`` are floats;
  ``~: x`` gives the key ``null``; ``!!bool yes`` and ``!!null x`` are null
  and so fatal; a non-string key (``1: x``, ``true: x``) is fatal
  (``ClassCastException``) except inside a list; an empty map adds no key;
  ``<<`` is an ordinary key (no merge keys in YAML 1.2); ``!!set`` and
  ``!!binary`` values are rendered as the dumper writes them.

Known gaps, where this reader refuses a file Flink reads: a file whose keys and values expand to more
than ``MAX_EXPANDED_CHARS`` (12 Mi characters; aliases repeat their anchor's text);
anchor and alias names with characters other than letters, digits, ``-``
and ``_`` (snakeyaml-engine takes almost anything, even a trailing ``:``);
U+0085/U+2028/U+2029 where a token starts (snakeyaml-engine then reads them
as line breaks; reported as such); ``?`` as a plain value in a flow
collection (``{k: ?}``).  Without libyaml (PyYAML's pure-Python parser) a
tab right after a plain value is refused too.  Error messages never hold
config values.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re

import yaml
from yaml.emitter import Emitter
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
    StreamStartEvent,
)
from yaml.nodes import ScalarNode, SequenceNode
from yaml.tokens import ScalarToken

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import (
    ConfigFileError,
    ParsedConfig,
)
from ansible_collections.flinkops.flink.plugins.module_utils.java_types import flink_text
from ansible_collections.flinkops.flink.plugins.module_utils.options import REDACTED

_T = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL = _T + "str", _T + "int", _T + "float", _T + "bool", _T + "null"
SEQ, MAP, SET, BINARY = _T + "seq", _T + "map", _T + "set", _T + "binary"

FLINK_PARSE_ERROR = "Error parsing YAML configuration."
REFUSES = "Flink refuses to start"

# snakeyaml-engine 2.6 CoreScalarResolver (matched against the whole value).
_INT_RE = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT_RE = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = frozenset(("~", "null", "Null", "NULL", ""))
_NUMBER_START = frozenset("-+0123456789.")

# Java's StreamReader.isPrintable: anything else is "special characters are not allowed".
_NOT_PRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# NEL, LS, PS (line breaks to libyaml, mostly content to snakeyaml-engine) and a BOM inside
# the text (content to snakeyaml-engine), with the private-use stand-ins libyaml parses instead.
_SPECIALS = "\x85\u2028\u2029\ufeff"
_STAND_INS = "\U0010fffa\U0010fffb\U0010fffc\U0010fffd"
_BREAK_STAND_INS = _STAND_INS[:3]
_TO_STAND_IN = str.maketrans(_SPECIALS, _STAND_INS)
_FROM_STAND_IN = str.maketrans(_STAND_INS, _SPECIALS)
# snakeyaml-engine's scanLineBreak does take NEL/LS/PS after blanks inside a scalar: the blanks
# around it go, the character stays ("x \u2028 y" -> "x\u2028y").
_BLANKS_AROUND_BREAK = re.compile("[ \t]+([\U0010fffa-\U0010fffc](?: *[\U0010fffa-\U0010fffc])*) *")
_MULTILINE = re.compile("[\n\x85\u2028\u2029]")
_LINE_BREAK = re.compile("\r\n|\r|\n")

CODE_POINT_LIMIT = 3 * 1024 * 1024  # LoadSettings.codePointLimit default
MAX_COLLECTION_ALIASES = 50  # LoadSettings.maxAliasesForCollections default
MAX_NESTING = 800  # ours, not Flink's: see MAX_DEPTH_NOTE
# Ours, not Flink's: the characters of keys and values the file expands to.  Flink bounds aliases
# to lists and maps (50) but not aliases to plain scalars, so 119 KB of `base: &s <100,000 chars>`
# and 2,000 `kN: *s` lines is a 200 MB map (Flink loads it; the audit's reports then took GBs).
# Without aliases a file flattens to about its own size: only keys of nested maps repeat their
# prefix (Flink's shipped file and the corpus: at most 1.9x; long prefixes over one-character
# leaves: 5x).  12 Mi characters, four times Flink's own code point limit and twelve times the
# gather's default max_file_size, refuses no realistic file, only expansion.
MAX_EXPANDED_CHARS = 4 * CODE_POINT_LIMIT
_BIG_WIDTH = 2 ** 31 - 1  # the dumper is built with setSplitLines(false)


def core_tag(value: str) -> str:
    """The tag snakeyaml-engine's core schema gives a plain scalar."""
    if not value:
        return NULL
    first = value[0]
    if first in _NUMBER_START:
        if _INT_RE.fullmatch(value):
            return INT
        if _FLOAT_RE.fullmatch(value):
            return FLOAT
        return STR
    if value in _BOOLS:
        return BOOL
    if value in _NULLS:
        return NULL
    return STR


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CoreLoader(_Base):
    """libyaml's parser and composer with the YAML 1.2 core schema's tags."""

    def resolve(self, kind, value, implicit):
        if kind is ScalarNode:
            return core_tag(value) if implicit[0] else STR
        return SEQ if kind is SequenceNode else MAP


class YamlSet(list):
    """A ``!!set``: its members, in order (rendered as ``!!set {a: null}``)."""


class _YamlMap:
    """A constructed mapping: ``(key, value, key_line)`` in document order."""

    __slots__ = ("items",)

    def __init__(self):
        self.items = []


def _fail(path, message, line=None, key=None, flink=FLINK_PARSE_ERROR):
    tail = f"; {REFUSES}: {flink}" if flink else ""
    return ConfigFileError(message + tail, path=path, line=line, key=key)


# ---------------------------------------------------------------------------
# bytes -> text, checked as snakeyaml-engine's reader checks it

def _decode(data: bytes, path: str) -> str:
    encoding, skip = "utf-8", 0
    if data[:4] == b"\x00\x00\xfe\xff":
        encoding, skip = "utf-32-be", 4
    elif data[:4] == b"\xff\xfe\x00\x00":
        encoding, skip = "utf-32-le", 4
    elif data[:3] == b"\xef\xbb\xbf":
        skip = 3
    elif data[:2] == b"\xfe\xff":
        encoding, skip = "utf-16-be", 2
    elif data[:2] == b"\xff\xfe":
        encoding, skip = "utf-16-le", 2
    try:
        return data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        line = None
        if encoding == "utf-8":
            line = _line_of_offset(data[skip:skip + exc.start].decode(encoding, "replace"), None)
        raise _fail(
            path,
            f"not valid {encoding.upper()} (byte {skip + exc.start} cannot be decoded)",
            line=line,
            flink=f"{FLINK_PARSE_ERROR} (java.nio.charset.MalformedInputException)",
        ) from None


def _line_of_offset(text: str, offset: int | None) -> int:
    """1-based line of ``text[offset]`` (end of text when None), with Java's line breaks."""
    head = text if offset is None else text[:offset]
    return len(_LINE_BREAK.findall(head)) + 1


def _check_text(text: str, path: str) -> str:
    if len(text) > CODE_POINT_LIMIT:
        raise _fail(path, f"the file has more than {CODE_POINT_LIMIT} characters",
                    flink=f"{FLINK_PARSE_ERROR} (The incoming YAML document exceeds the limit: "
                          f"{CODE_POINT_LIMIT} code points.)")
    bad = _NOT_PRINTABLE.search(text)
    if bad:
        raise _fail(path, f"control character U+{ord(bad.group()):04X} in the file",
                    line=_line_of_offset(text, bad.start()),
                    flink=f"{FLINK_PARSE_ERROR} (special characters are not allowed)")
    if text.startswith("\ufeff"):
        text = text[1:]  # a second BOM: the scanner skips one at the very start
    if any(c in text for c in _SPECIALS):
        if any(c in text for c in _STAND_INS):
            raise _fail(path, "the file mixes U+0085/U+2028/U+2029/U+FEFF with U+10FFFA..U+10FFFD, "
                              "which this reader cannot tell apart", flink=None)
        text = text.translate(_TO_STAND_IN)
    return text


# ---------------------------------------------------------------------------
# tabs: where snakeyaml-engine refuses them and libyaml does not

_TAB_MESSAGE = ("a tab where YAML expects the next token (tabs may not indent, nor follow ':', "
                "',' or a quoted value; use spaces)")
_TAB_FLINK = (f"{FLINK_PARSE_ERROR} (found character '\\t(TAB)' that cannot start any token. "
              "(Do not use \\t(TAB) for indentation))")


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts.extend(m.end() for m in _LINE_BREAK.finditer(text))
    return starts


def _check_tokens(text: str, path: str) -> None:
    """Tabs where snakeyaml-engine refuses them; NEL/LS/PS where it reads them as line breaks."""
    starts = _line_starts(text)

    def offset(mark):
        if mark.line >= len(starts):  # libyaml ends a last line that has no line break
            return len(text)
        return starts[mark.line] + mark.column

    def tab_error(at):
        return _fail(path, _TAB_MESSAGE, line=_line_of_offset(text, at), flink=_TAB_FLINK)

    def check_gap(begin, end, after_plain):
        line_start, first = begin, True
        while True:
            brk = _LINE_BREAK.search(text, line_start, end)
            line_end = brk.start() if brk else end
            # scanPlainSpaces takes spaces and tabs after a plain scalar on its own line
            if not (first and after_plain):
                piece = text[line_start:line_end]
                hash_at = piece.find("#")
                tab_at = (piece if hash_at < 0 else piece[:hash_at]).find("\t")
                if tab_at >= 0:
                    raise tab_error(line_start + tab_at)
            if brk is None:
                return
            line_start, first = brk.end(), False

    loader = _CoreLoader(text)
    pos, after_plain = 0, False
    try:
        while loader.check_token():
            token = loader.get_token()
            start, end = offset(token.start_mark), offset(token.end_mark)
            if start > pos:
                check_gap(pos, start, after_plain)
            if end > pos:
                pos = end
                after_plain = isinstance(token, ScalarToken) and token.plain
                if after_plain and text[start] in _BREAK_STAND_INS:
                    raise _fail(
                        path, f"U+{ord(text[start].translate(_FROM_STAND_IN)):04X} (a YAML 1.1 line break) where "
                        "a token starts: Flink's parser takes it as a line break there, and this reader does "
                        "not follow it; remove the character", line=_line_of_offset(text, start), flink=None)
                if isinstance(token, ScalarToken):
                    _check_scalar_tabs(text, start, end, token, tab_error, path)
    except yaml.YAMLError:
        return  # composing reports the error with its position
    finally:
        loader.dispose()


def _check_scalar_tabs(text, start, end, token, tab_error, path):
    body = text[start:end]
    if token.style == '"':
        # YAML 1.2 has the escape "\<TAB>"; snakeyaml-engine 2.6 does not ("found unknown escape character")
        at = body.find("\\")
        while at >= 0:
            if body[at + 1:at + 2] == "\t":
                raise _fail(path, "a backslash before a tab in a double-quoted value (write \\t)",
                            line=_line_of_offset(text, start + at),
                            flink=f"{FLINK_PARSE_ERROR} (found unknown escape character \\t(9))")
            at = body.find("\\", at + 2)
        return
    if token.plain:
        # continuation lines of a plain scalar may be indented with spaces only
        for brk in _LINE_BREAK.finditer(body):
            rest = body[brk.end():]
            stripped = rest.lstrip(" ")
            if stripped.startswith("\t"):
                raise tab_error(start + brk.end() + len(rest) - len(stripped))
    elif token.style in ("|", ">"):
        # the block scalar header: indicators, spaces, an optional comment
        header = _LINE_BREAK.split(body, 1)[0]
        hash_at = header.find("#")
        tab_at = (header if hash_at < 0 else header[:hash_at]).find("\t")
        if tab_at >= 0:
            raise tab_error(start + tab_at)


# ---------------------------------------------------------------------------
# parser events -> Java-like objects, as snakeyaml-engine's composer and constructor build them
# (built from events, not libyaml's composer: YAML 1.2 lets an anchor be defined again, and
# an alias then means the latest definition; PyYAML's composer refuses that)

class _Frame:
    __slots__ = ("obj", "line", "seen", "key", "key_line", "has_key", "order", "count")

    def __init__(self, obj, line, order):
        self.obj = obj
        self.line = line
        self.seen = set()
        self.key = None
        self.key_line = 0
        self.has_key = False
        self.order = order  # where snakeyaml-engine's constructor reaches this node (see _child_order)
        self.count = 0  # entries (maps, sets) or items (lists) attached so far

    def child_order(self):
        """Where the constructor reaches the next child: a map first builds all its keys, checking
        each for a duplicate as it goes (StandardConstructor.processDuplicateKeys), then its values
        in order; a list builds its items in order."""
        if isinstance(self.obj, list) and not isinstance(self.obj, YamlSet):
            return self.order + (1, self.count)
        if self.has_key:
            return self.order + (1, self.count)
        return self.order + (0, self.count, 0)


class _Failed:
    """Stands in for a value the constructor could not build (its error is deferred)."""

    __slots__ = ()


class _Constructor:
    def __init__(self, path: str, restore: bool):
        self.path = path
        self.restore = restore
        # snakeyaml-engine composes the whole document (every scanner, parser and composer error)
        # before its constructor builds anything: errors of building values (duplicate keys, tags,
        # numbers) wait here, and the one the constructor would meet first is raised at the end.
        self.deferred = None  # (order, ConfigFileError)

    def defer(self, order, error):
        if self.deferred is None or order < self.deferred[0]:
            self.deferred = (order, error)

    def error(self, line, message, flink=FLINK_PARSE_ERROR, key=None):
        return _fail(self.path, message, line=line, key=key, flink=flink)

    def unknown_tag(self, line, tag):
        return self.error(line, f"unknown tag {tag}",
                          flink=f"{FLINK_PARSE_ERROR} (could not determine a constructor for the tag {tag})")

    def build_document(self, loader):
        """The single document's root object; None for an empty stream."""
        loader.get_event()  # StreamStartEvent
        event = loader.get_event()
        if isinstance(event, StreamEndEvent):
            return None
        anchors = {}
        aliases = 0
        stack: list[_Frame] = []
        root = None
        while True:
            event = loader.get_event()
            kind = type(event)
            line = event.start_mark.line + 1
            order = stack[-1].child_order() if stack else ()
            if kind is ScalarEvent:
                try:
                    value = self.scalar(event, line)
                except ConfigFileError as exc:
                    self.defer(order, exc)
                    value = _Failed()
                if event.anchor is not None:
                    anchors[event.anchor] = value
            elif kind is AliasEvent:
                if event.anchor not in anchors:
                    raise self.error(line, f"undefined alias '{event.anchor}'",
                                     flink=f"{FLINK_PARSE_ERROR} (found undefined alias {event.anchor})")
                value = anchors[event.anchor]
                if isinstance(value, (list, _YamlMap)):
                    aliases += 1
                    if aliases > MAX_COLLECTION_ALIASES:
                        raise self.error(line, f"more than {MAX_COLLECTION_ALIASES} aliases to lists or maps",
                                         flink=f"{FLINK_PARSE_ERROR} (Number of aliases for non-scalar nodes "
                                               f"exceeds the specified max={MAX_COLLECTION_ALIASES})")
            elif kind is SequenceStartEvent or kind is MappingStartEvent:
                tag = event.tag
                if kind is SequenceStartEvent:
                    if tag not in (None, "!", SEQ):
                        self.defer(order, self.unknown_tag(line, tag))
                    value = []
                elif tag in (None, "!", MAP):
                    value = _YamlMap()
                elif tag == SET:
                    value = YamlSet()
                else:
                    self.defer(order, self.unknown_tag(line, tag))
                    value = _YamlMap()
                if event.anchor is not None:
                    anchors[event.anchor] = value
                if stack:
                    self.attach(stack[-1], value, line)
                else:
                    root = value
                if len(stack) >= MAX_NESTING:
                    # stop before libyaml's scanner, quadratic in the nesting depth, runs for hours on
                    # a file of '[' (and before Python's recursion limit while flattening)
                    raise self.error(line, MAX_DEPTH_NOTE, flink=None)
                stack.append(_Frame(value, line, order))
                continue
            elif kind is SequenceEndEvent or kind is MappingEndEvent:
                stack.pop()
                continue
            elif kind is DocumentEndEvent:
                break
            else:  # pragma: no cover - libyaml emits nothing else inside a document
                raise self.error(line, f"unexpected {kind.__name__}")
            if stack:
                self.attach(stack[-1], value, line)
            else:
                root = value
        event = loader.get_event()
        if not isinstance(event, StreamEndEvent):
            raise self.error(event.start_mark.line + 1, "a second YAML document in the file",
                             flink=f"{FLINK_PARSE_ERROR} (expected a single document in the stream "
                                   "but found another document)")
        if self.deferred is not None:
            raise self.deferred[1]
        return root

    def attach(self, frame, value, line):
        target = frame.obj
        if isinstance(target, _YamlMap):
            if frame.has_key:
                target.items.append((frame.key, value, frame.key_line))
                frame.has_key = False
                frame.count += 1
            else:
                self.check_duplicate(frame, value, line)
                frame.key, frame.key_line, frame.has_key = value, line, True
        elif isinstance(target, YamlSet):
            if frame.has_key:
                frame.has_key = False  # a set member's value is ignored
                frame.count += 1
            else:
                self.check_duplicate(frame, value, line)
                target.append(value)
                frame.has_key = True
        else:
            target.append(value)
            frame.count += 1

    def check_duplicate(self, frame, key, line):
        ident = _java_identity(key)
        if ident in frame.seen:
            order = frame.order + (0, frame.count, 1)  # right after building that key
            if isinstance(frame.obj, YamlSet):  # a member is a value, maybe of a secret: never shown
                self.defer(order, self.error(line, f"duplicate member in the set that starts on line {frame.line}",
                                             flink=f"{FLINK_PARSE_ERROR} (found duplicate key {REDACTED})"))
                return
            shown = key if isinstance(key, str) else _java_string(key)
            self.defer(order, self.error(
                line, f"duplicate key '{shown}' in the mapping that starts on line {frame.line}",
                flink=f"{FLINK_PARSE_ERROR} (found duplicate key {shown})"))
        frame.seen.add(ident)

    def scalar(self, event, line):
        value = event.value
        if self.restore:
            if event.style != "|" and event.style != ">":
                value = _BLANKS_AROUND_BREAK.sub(r"\1", value)
            value = value.translate(_FROM_STAND_IN)
        tag = event.tag
        if tag is None:
            tag = core_tag(value) if event.implicit[0] else STR
        elif tag == "!":
            tag = STR
        if tag == STR:
            return value
        if tag == INT:
            return self.to_int(line, value)
        if tag == FLOAT:
            return self.to_float(line, value)
        if tag == BOOL:
            return _BOOLS.get(value)  # !!bool yes is null to snakeyaml-engine
        if tag == NULL:
            return None
        if tag == BINARY:
            return self.to_binary(line, value)
        raise self.unknown_tag(line, tag)

    def to_int(self, line, value):
        text, sign = value, 1
        if text[:1] in ("-", "+"):
            sign = -1 if text[0] == "-" else 1
            text = text[1:]
        base = 10
        if text.startswith("0x"):
            base, text = 16, text[2:]
        elif text.startswith("0o"):
            base, text = 8, text[2:]
        try:
            if not text or not text.isascii() or not text.isalnum():
                raise ValueError
            return sign * int(text, base)
        except ValueError:
            raise self.error(line, "an !!int value that is not an integer",
                             flink=f"{FLINK_PARSE_ERROR} (NumberFormatException)") from None

    def to_float(self, line, value):
        lowered = value.lower()
        if lowered == ".inf":
            return math.inf
        if lowered == "-.inf":
            return -math.inf
        if lowered == ".nan":
            return math.nan
        if "inf" not in lowered and "nan" not in lowered and _FLOAT_RE.fullmatch(value):
            return float(value)
        raise self.error(
            line,
            "a float snakeyaml-engine cannot build (it reads .inf and -.inf, but not +.inf)"
            if "inf" in lowered else "a !!float value that is not a number",
            flink=f"{FLINK_PARSE_ERROR} (NumberFormatException)")

    def to_binary(self, line, value):
        compact = "".join(value.split())
        try:
            return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise self.error(line, "a !!binary value that is not base64",
                             flink=f"{FLINK_PARSE_ERROR} (IllegalArgumentException)") from None


def _java_identity(key):
    """What Java's equals() compares: type and value (1, 1.0 and true differ; NaN equals NaN)."""
    if isinstance(key, bool):
        return ("bool", key)
    if isinstance(key, int):
        return ("int", key)
    if isinstance(key, float):
        return ("float", key.hex())
    if isinstance(key, (str, bytes)) or key is None:
        return (type(key).__name__, key)
    return ("object", id(key))


# ---------------------------------------------------------------------------
# values -> the strings Configuration.toMap() gives

def _java_string(value, counter: list[int] | None = None) -> str:
    """``ConfigurationUtils.convertToString``: scalars by the one value-text rule (java_types.flink_text),
    except what snakeyaml-engine's flow dumper prints itself (null, NaN, infinities, collections)."""
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return ".nan" if math.isnan(value) else ".inf" if value > 0 else "-.inf"
    try:
        return flink_text(value)
    except TypeError:
        return dump_flow(value, counter)


_ESCAPES = {"\0": "0", "\x07": "a", "\x08": "b", "\t": "t", "\n": "n", "\x0b": "v", "\x0c": "f",
            "\r": "r", "\x1b": "e", '"': '"', "\\": "\\", "\x85": "N", "\xa0": "_", "\u2028": "L",
            "\u2029": "P"}
_MUST_ESCAPE = '"\\\x85\u2028\u2029\ufeff'
_JAVA_PRINTABLE = re.compile("[\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PYYAML_UNPRINTABLE = str.maketrans({"\ufeff": "\xe9", "\U0010ffff": "\xe9"})


class _EngineEmitter(Emitter):
    """PyYAML's emitter (a port of the same design) with snakeyaml-engine's character rules."""

    def analyze_scalar(self, scalar):
        # snakeyaml-engine counts U+FEFF and U+10FFFF as printable; PyYAML does not
        analysis = super().analyze_scalar(scalar.translate(_PYYAML_UNPRINTABLE))
        analysis.scalar = scalar
        return analysis

    def write_double_quoted(self, text, split=True):
        # Emitter.writeDoubleQuoted: printable non-ASCII is written as is, other escapes in lower case;
        # never split (the dumper has setSplitLines(false))
        out = ['"']
        for ch in text:
            if "\x20" <= ch <= "\x7e" and ch not in _MUST_ESCAPE:
                out.append(ch)
            elif ch in _ESCAPES:
                out.append("\\" + _ESCAPES[ch])
            elif _JAVA_PRINTABLE.match(ch):
                out.append(ch)
            elif ch <= "\xff":
                out.append(f"\\x{ord(ch):02x}")
            elif ch <= "\uffff":
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(f"\\U{ord(ch):08x}")
        out.append('"')
        self.write_indicator("".join(out), True)


def dump_flow(value, counter: list[int] | None = None) -> str:
    """``YamlParserUtils.toYAMLString``: snakeyaml-engine's flow dumper, core schema, no line splitting.

    Flink's dumper is a static one whose anchor generator keeps counting across
    calls, so the second list that holds one object twice gets ``&id002``;
    pass one ``counter`` (``[0]`` at first) for all values of one load.
    """
    # The exact type first: ABC checks cost.
    if type(value) is list:  # pylint: disable=unidiomatic-typecheck
        simple = _simple_flow_list(value)
        if simple is not None:
            return simple
    anchors = {}
    _find_anchors(value, anchors, [0] if counter is None else counter)
    stream = io.StringIO()
    emitter = _EngineEmitter(stream, width=_BIG_WIDTH, allow_unicode=True)
    emitter.emit(StreamStartEvent())
    emitter.emit(DocumentStartEvent(explicit=False))
    _emit(emitter, value, anchors, set())
    emitter.emit(DocumentEndEvent(explicit=False))
    emitter.emit(StreamEndEvent())
    text = stream.getvalue()
    return text[:-1] if text.endswith("\n") else text


# Strings the emitter writes plain in a flow sequence whatever their neighbours (checked by the
# emitter-based path in the tests); anything else goes through the emitter.
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9_./=+-]*")


def _simple_flow_list(items) -> str | None:
    parts = []
    for item in items:
        kind = type(item)
        if kind is str:
            if not _PLAIN_SAFE.fullmatch(item) or core_tag(item) != STR:
                return None
            parts.append(item)
        elif kind is int or kind is float or kind is bool or item is None:
            parts.append(_java_string(item))
        else:
            return None
    return "[" + ", ".join(parts) + "]"


def _find_anchors(value, anchors, counter):
    # Serializer.anchorNode: a collection met a second time gets the next idNNN
    if not isinstance(value, (list, _YamlMap)):
        return
    ident = id(value)
    if ident in anchors:
        if anchors[ident] is None:
            counter[0] += 1
            anchors[ident] = f"id{counter[0]:03d}"
        return
    anchors[ident] = None
    if isinstance(value, _YamlMap):
        for key, item, _line in value.items:
            _find_anchors(key, anchors, counter)
            _find_anchors(item, anchors, counter)
    else:
        for item in value:
            _find_anchors(item, anchors, counter)


def _emit(emitter, value, anchors, emitted):
    if isinstance(value, (list, _YamlMap)):
        ident = id(value)
        anchor = anchors.get(ident)
        if ident in emitted:
            emitter.emit(AliasEvent(anchor))
            return
        emitted.add(ident)
        if isinstance(value, YamlSet):
            emitter.emit(MappingStartEvent(anchor, SET, False, flow_style=True))
            for item in value:
                _emit(emitter, item, anchors, emitted)
                _emit(emitter, None, anchors, emitted)
            emitter.emit(MappingEndEvent())
        elif isinstance(value, list):
            emitter.emit(SequenceStartEvent(anchor, SEQ, True, flow_style=True))
            for item in value:
                _emit(emitter, item, anchors, emitted)
            emitter.emit(SequenceEndEvent())
        else:
            emitter.emit(MappingStartEvent(anchor, MAP, True, flow_style=True))
            for key, item, _line in value.items:
                _emit(emitter, key, anchors, emitted)
                _emit(emitter, item, anchors, emitted)
            emitter.emit(MappingEndEvent())
        return
    if isinstance(value, bytes):
        # RepresentByteArray: base64 in literal style (flow context turns it into double quotes)
        emitter.emit(ScalarEvent(None, BINARY, (False, False), base64.b64encode(value).decode("ascii"), style="|"))
        return
    if isinstance(value, str):
        # RepresentString asks for literal style when the text has a line break
        style = "|" if _MULTILINE.search(value) else None
        emitter.emit(ScalarEvent(None, STR, (core_tag(value) == STR, True), value, style=style))
        return
    text = _java_string(value)
    emitter.emit(ScalarEvent(None, None, (True, False), text))


# ---------------------------------------------------------------------------
# the whole file

# This reader's limit, not Flink's: snakeyaml-engine recurses too and overflows its JVM stack.
MAX_DEPTH_NOTE = (f"maps or lists nested more than {MAX_NESTING} levels deep (directly or through aliases), more "
                  "than this reader follows; Flink itself fails with java.lang.StackOverflowError from some depth "
                  "on (1,000 levels loaded, 2,000 did not, with the JVM's default thread stack)")


def parse_config_yaml(data: bytes, path: str) -> ParsedConfig:
    """Read ``config.yaml`` bytes as Flink 1.19 to 2.3 do; ConfigFileError where Flink refuses the file."""
    try:
        return _parse_config_yaml(data, path)
    except RecursionError:
        raise _fail(path, MAX_DEPTH_NOTE, flink=None) from None


def _parse_config_yaml(data: bytes, path: str) -> ParsedConfig:
    text = _decode(data, path)
    checked = _check_text(text, path)
    restore = checked is not text
    for _attempt in range(_MAX_ADJACENT_FIXES + 1):
        if "\t" in checked or (restore and any(c in checked for c in _BREAK_STAND_INS)):
            _check_tokens(checked, path)
        loader = _CoreLoader(checked)
        try:
            built = _Constructor(path, restore).build_document(loader)
            break
        except yaml.MarkedYAMLError as exc:
            fixed = _space_adjacent_value(checked, exc) or _explicit_block_indent(checked, exc)
            if fixed is None:
                raise (_tab_error(checked, exc, path) or _syntax_error(exc, path)) from None
            checked = fixed
        except yaml.YAMLError as exc:
            raise _fail(path, f"invalid YAML: {exc}") from None
        finally:
            loader.dispose()
    else:
        raise _fail(path, "too many constructs this reader must rewrite for libyaml", flink=None)
    config: dict[str, object] = {}
    lines: dict[str, int] = {}
    overridden: list[dict] = []
    anchor_counter = [0]
    if built is not None:
        if not isinstance(built, _YamlMap):
            kind = "a list" if isinstance(built, list) else "a single value"
            raise _fail(path, f"the document is {kind}, not a mapping of keys to values", line=1,
                        flink=f"{FLINK_PARSE_ERROR} (ClassCastException: cannot be cast to class java.util.Map)")
        _flatten(built, "", config, lines, overridden, path, set(), anchor_counter, [MAX_EXPANDED_CHARS])
    result = {}
    for key, value in config.items():
        if value is None:
            raise _fail(path, "the key has no value (null); write '' for an empty string or remove the key",
                        line=lines[key], key=key,
                        flink=f"{FLINK_PARSE_ERROR} (NullPointerException: Value must not be null.)")
        result[key] = value if isinstance(value, str) else _java_string(value, anchor_counter)
    return ParsedConfig(config=result, lines=lines, skipped_lines=[], format="yaml", path=path,
                        overridden=overridden)


_JAVA_CLASS = {bool: "java.lang.Boolean", int: "java.lang.Integer", float: "java.lang.Double",
               bytes: "[B", list: "java.util.ArrayList", YamlSet: "java.util.LinkedHashSet",
               _YamlMap: "java.util.LinkedHashMap"}


def _too_big(path, line, key):
    shown = key if len(key) <= 120 else key[:120] + "..."
    return _fail(path, f"the file expands to more than {MAX_EXPANDED_CHARS} characters of keys and values "
                       "(aliases repeat their anchor's text each time); this reader stops there. Write the "
                       "values out, or use fewer aliases", line=line, key=shown, flink=None)


def _flow_size(value, limit: int, seen: set) -> int:
    """About how many characters the flow dumper writes for ``value``; stops counting past ``limit``."""
    kind = type(value)
    if kind is str:
        return len(value)
    if kind is bytes:
        return 4 * (len(value) + 2) // 3
    if not isinstance(value, (list, _YamlMap)):
        return 24  # a number, a boolean or null
    if id(value) in seen:
        return 8  # written again as an alias (*id001)
    seen.add(id(value))
    total = 2
    items = value.items if isinstance(value, _YamlMap) else value
    for item in items:
        parts = item[:2] if isinstance(value, _YamlMap) else (item,)
        for part in parts:
            total += _flow_size(part, limit - total, seen) + 2
            if total > limit:
                return total
    return total


def _flatten(mapping, prefix, config, lines, overridden, path, active, counter, budget):
    if id(mapping) in active:
        raise _fail(path, f"the map under '{prefix[:-1]}' contains itself (through an alias)",
                    flink="java.lang.StackOverflowError")
    active.add(id(mapping))
    for key, value, line in mapping.items:
        if key is None:
            key = "null"  # Java's string concatenation of a null key
        elif not isinstance(key, str):
            kind = _JAVA_CLASS.get(type(key), type(key).__name__)
            raise _fail(path, f"a key that is not a string ({kind}) under '{prefix[:-1]}'" if prefix
                        else f"a key that is not a string ({kind})",
                        line=line,
                        flink=f"{FLINK_PARSE_ERROR} (ClassCastException: class {kind} cannot be cast "
                              "to class java.lang.String)")
        budget[0] -= len(prefix) + len(key)
        if budget[0] < 0:
            raise _too_big(path, line, (prefix + key) if len(prefix) + len(key) <= 1000 else prefix[:1000])
        full = prefix + key
        if isinstance(value, _YamlMap):
            _flatten(value, full + ".", config, lines, overridden, path, active, counter, budget)
            continue
        budget[0] -= _flow_size(value, budget[0] + 1, set())
        if budget[0] < 0:
            raise _too_big(path, line, full)
        if type(value) is list:  # pylint: disable=unidiomatic-typecheck
            value = dump_flow(value, counter)
        if full in lines:
            overridden.append({"key": full, "line": lines[full], "by_line": line})
        config[full] = value
        lines[full] = line
    active.discard(id(mapping))


_MAX_ADJACENT_FIXES = 64


_LIBYAML_TAB_PROBLEMS = ("found character that cannot start any token",
                         "found a tab character that violates indentation",
                         "found a tab character where an indentation space is expected")


def _tab_error(text: str, exc: yaml.MarkedYAMLError, path: str) -> ConfigFileError | None:
    """libyaml's own complaint about a tab where snakeyaml-engine's is "cannot start any token"."""
    mark = exc.problem_mark
    if mark is None or exc.problem not in _LIBYAML_TAB_PROBLEMS:
        return None
    starts = _line_starts(text)
    if mark.line >= len(starts) or text[starts[mark.line] + mark.column:][:1] != "\t":
        return None
    return _fail(path, _TAB_MESSAGE, line=mark.line + 1, flink=_TAB_FLINK)


def _explicit_block_indent(text: str, exc: yaml.MarkedYAMLError) -> str | None:
    """A block scalar whose first line has a tab after its indentation (``|`` then ``"  \\tx"``):
    snakeyaml-engine takes the spaces as the indentation and the tab as content; libyaml refuses
    while it guesses the indentation.  Write the indentation it would guess into the header."""
    if exc.problem != "found a tab character where an indentation space is expected" or exc.context_mark is None:
        return None
    starts = _line_starts(text)
    head = exc.context_mark
    if head.line + 1 >= len(starts):
        return None
    at = starts[head.line] + head.column
    if text[at:at + 1] not in ("|", ">"):
        return None
    header_end = at + 1
    while text[header_end:header_end + 1] in ("+", "-"):
        header_end += 1
    if text[header_end:header_end + 1].isdigit():
        return None
    line_text = text[starts[head.line]:at]
    parent = len(line_text) - len(line_text.lstrip(" "))
    for number in range(head.line + 1, len(starts)):
        content = text[starts[number]:starts[number + 1] if number + 1 < len(starts) else len(text)]
        body = content.rstrip("\r\n")
        if body.strip(" "):
            spaces = len(body) - len(body.lstrip(" "))
            if 1 <= spaces - parent <= 9 and body[spaces:spaces + 1] == "\t":
                return text[:header_end] + str(spaces - parent) + text[header_end:]
            return None
    return None


def _space_adjacent_value(text: str, exc: yaml.MarkedYAMLError) -> str | None:
    """``{a:[1]}`` and ``[1:, 2]``: in flow context YAML 1.2 (and snakeyaml-engine) takes a ':' right
    before a flow indicator as the value indicator; libyaml stops with "found unexpected ':'".  Put a
    space after that ':' (same line, so line numbers stay) and parse again."""
    mark = exc.problem_mark
    if mark is None or exc.problem != "found unexpected ':'":
        return None
    starts = _line_starts(text)
    if mark.line >= len(starts):
        return None
    at = starts[mark.line] + mark.column
    if text[at:at + 1] != ":" or text[at + 1:at + 2] not in (",", "[", "]", "{", "}"):
        return None
    return text[:at + 1] + " " + text[at + 1:]


def _syntax_error(exc: yaml.MarkedYAMLError, path: str) -> ConfigFileError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "invalid YAML"
    if exc.context:
        where = f" (line {exc.context_mark.line + 1})" if exc.context_mark else ""
        problem = f"{problem}, {exc.context}{where}"
    return _fail(path, f"invalid YAML: {problem}", line=mark.line + 1 if mark else None)
