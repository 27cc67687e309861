# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Flink option catalog per minor line: keys, types, defaults, fallbacks.

One data-driven place: supporting a new Flink release means adding its line
to ``SUPPORTED_LINES`` and recording what changed in ``_CHANGES``.  Only the
options that decide process memory (and the keys around them that operators
get wrong) are described here.  Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

SUPPORTED_LINES = ("1.14", "1.15", "1.16", "1.17", "1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3")
REDACTED = "******"
LONG_MAX = (1 << 63) - 1


@dataclass(frozen=True)
class Option:
    """One ``ConfigOption``: ``default`` is the Java value (bytes for sizes)."""

    key: str
    kind: str  # memory | float | double | int | bool
    default: object = None
    deprecated_keys: tuple = ()
    description: str = ""
    lines: tuple = SUPPORTED_LINES  # minor lines where Flink honours the key
    line_defaults: tuple = ()  # (line, default) pairs where a line's default differs

    def __post_init__(self):
        # all_names: what names() returns, as a plain attribute for the memory model's inner loop.
        object.__setattr__(self, "all_names", (self.key,) + self.deprecated_keys)

    def names(self):
        """The key, then every fallback key Flink reads in that order."""
        return self.all_names


def _mem(key, default=None, deprecated=(), description="", lines=SUPPORTED_LINES, line_defaults=()):
    return Option(key, "memory", default, tuple(deprecated), description, lines, tuple(line_defaults))


MIB = 1 << 20
GIB = 1 << 30
_LEGACY_LINES = ("1.14", "1.15", "1.16", "1.17", "1.18", "1.19", "1.20")  # removed in 2.0, then silently ignored

TASKMANAGER = {
    o.key: o
    for o in (
        _mem("taskmanager.memory.process.size", description="Total Process Memory"),
        _mem("taskmanager.memory.flink.size", description="Total Flink Memory"),
        _mem("taskmanager.memory.framework.heap.size", 128 * MIB, description="Framework Heap"),
        _mem("taskmanager.memory.framework.off-heap.size", 128 * MIB, description="Framework Off-Heap"),
        _mem("taskmanager.memory.task.heap.size", description="Task Heap"),
        _mem("taskmanager.memory.task.off-heap.size", 0, description="Task Off-Heap"),
        _mem("taskmanager.memory.managed.size", deprecated=("taskmanager.memory.size",),
             description="Managed Memory"),
        Option("taskmanager.memory.managed.fraction", "float", 0.4, description="Managed Memory fraction"),
        _mem("taskmanager.memory.network.min", 64 * MIB, ("taskmanager.network.memory.min",),
             description="Network Memory min"),
        # Capped at 1 gb up to 1.16; uncapped (Long.MAX_VALUE bytes) since 1.17 (the jars say so).
        _mem("taskmanager.memory.network.max", LONG_MAX, ("taskmanager.network.memory.max",),
             description="Network Memory max", line_defaults=[(line, GIB) for line in ("1.14", "1.15", "1.16")]),
        Option("taskmanager.memory.network.fraction", "float", 0.1, ("taskmanager.network.memory.fraction",),
               description="Network Memory fraction"),
        _mem("taskmanager.memory.jvm-metaspace.size", 256 * MIB, description="JVM Metaspace"),
        _mem("taskmanager.memory.jvm-overhead.min", 192 * MIB, description="JVM Overhead min"),
        _mem("taskmanager.memory.jvm-overhead.max", GIB, description="JVM Overhead max"),
        Option("taskmanager.memory.jvm-overhead.fraction", "float", 0.1, description="JVM Overhead fraction"),
        _mem("taskmanager.memory.segment-size", 32 * 1024, description="Memory segment size"),
        Option("taskmanager.numberOfTaskSlots", "int", 1, description="Task slots"),
        Option("taskmanager.cpu.cores", "double", None, description="CPU cores"),
        Option("taskmanager.memory.managed.consumer-weights", "map",
               "OPERATOR:70,STATE_BACKEND:70,PYTHON:30", description="Managed memory consumer weights"),
        # Legacy (pre-FLIP-49) keys: honoured by 1.x start scripts, gone in 2.0.
        _mem("taskmanager.heap.size", description="legacy TaskManager heap", lines=_LEGACY_LINES),
        Option("taskmanager.heap.mb", "int", description="legacy TaskManager heap (MiB)", lines=_LEGACY_LINES),
        Option("taskmanager.network.numberOfBuffers", "int", 2048,
               description="legacy network buffer count", lines=_LEGACY_LINES),
    )
}

JOBMANAGER = {
    o.key: o
    for o in (
        _mem("jobmanager.memory.process.size", description="Total Process Memory"),
        _mem("jobmanager.memory.flink.size", description="Total Flink Memory"),
        _mem("jobmanager.memory.heap.size", description="JVM Heap"),
        _mem("jobmanager.memory.off-heap.size", 128 * MIB, description="Off-Heap"),
        _mem("jobmanager.memory.jvm-metaspace.size", 256 * MIB, description="JVM Metaspace"),
        _mem("jobmanager.memory.jvm-overhead.min", 192 * MIB, description="JVM Overhead min"),
        _mem("jobmanager.memory.jvm-overhead.max", GIB, description="JVM Overhead max"),
        Option("jobmanager.memory.jvm-overhead.fraction", "float", 0.1, description="JVM Overhead fraction"),
        Option("jobmanager.memory.enable-jvm-direct-memory-limit", "bool", False,
               description="set -XX:MaxDirectMemorySize for the JobManager"),
        _mem("jobmanager.heap.size", description="legacy JobManager heap", lines=_LEGACY_LINES),
        Option("jobmanager.heap.mb", "int", description="legacy JobManager heap (MiB)", lines=_LEGACY_LINES),
    )
}

PROCESSES = {"taskmanager": TASKMANAGER, "jobmanager": JOBMANAGER}

# Environment variables the 1.x start scripts read as a legacy heap size.
LEGACY_HEAP_ENV = {"taskmanager": "FLINK_TM_HEAP", "jobmanager": "FLINK_JM_HEAP"}

# Keys that only ever existed in blog posts: Flink stores them and ignores them.
IMAGINARY_KEYS = {
    "jobmanager.memory.managed.fraction": "The JobManager has no managed memory; size it with "
    "jobmanager.memory.process.size (or jobmanager.memory.heap.size).",
    "flink.memory.managed.fraction": "There is no such key; managed memory belongs to TaskManagers: "
    "taskmanager.memory.managed.fraction (a fraction of Total Flink Memory).",
    "taskmanager.memory.heap.size": "There is no such key; the TaskManager heap is "
    "taskmanager.memory.framework.heap.size + taskmanager.memory.task.heap.size.",
    "flink.memory.managed.size": "There is no such key; use taskmanager.memory.managed.size.",
    "flink.memory.heap.size": "There is no such key; size the TaskManager with taskmanager.memory.process.size "
    "(or taskmanager.memory.task.heap.size) and the JobManager with jobmanager.memory.heap.size.",
}

# Managed memory consumers each line knows; DATAPROC was dropped in 2.0.
MANAGED_CONSUMERS = {line: ("OPERATOR", "STATE_BACKEND", "PYTHON") for line in SUPPORTED_LINES}
for _line in _LEGACY_LINES:
    MANAGED_CONSUMERS[_line] = ("OPERATOR", "STATE_BACKEND", "PYTHON", "DATAPROC")


@lru_cache(maxsize=256)
def minor_line(version) -> str:
    """``'2.3.0'`` or ``'2.3'`` -> ``'2.3'``; ValueError naming the supported lines."""
    text = str(version).strip()
    parts = text.split(".")
    line = ".".join(parts[:2])
    if len(parts) not in (2, 3) or not all(p.isdigit() for p in parts) or line not in SUPPORTED_LINES:
        raise ValueError(
            f"unsupported Flink version {text!r}: expected X.Y or X.Y.Z of one of {', '.join(SUPPORTED_LINES)}"
        )
    return line


def is_legacy_line(line: str) -> bool:
    """True for 1.x lines (legacy heap keys, DATAPROC, numberOfBuffers still honoured)."""
    return line in _LEGACY_LINES


def catalog(process: str, version) -> dict:
    """The options that decide ``process`` memory on that Flink line, by key (shared: do not modify)."""
    return _catalog(process, minor_line(version))


@lru_cache(maxsize=64)
def _catalog(process: str, line: str) -> dict:
    return {k: option_on_line(o, line) for k, o in PROCESSES[process].items() if line in o.lines}


def option_on_line(option: Option, line) -> Option:
    """``option`` with the default ``line`` ships (Option.default is the newest lines' default)."""
    for default_line, default in option.line_defaults:
        if default_line == line:
            return replace(option, default=default)
    return option


@lru_cache(maxsize=64)
def honoured_keys(process: str, version) -> frozenset:
    """Every key (new and deprecated spellings) that sizes ``process`` on that line."""
    return frozenset(name for option in catalog(process, version).values() for name in option.names())


# --- sensitive keys and redaction: the one home of the rule -----------------------------------
#
# Flink's GlobalConfiguration.isSensitive: ``key.toLowerCase()`` contains one of SENSITIVE_KEYS.
# ``toLowerCase()`` follows the JVM's default locale: under tr/az, U+0130 (I with dot) lowers to
# a plain ``i`` (so ``metrics.reporter.x.APİKEY`` is hidden) and ``I`` to a dotless one; in every
# other locale U+0130 lowers to ``i`` + U+0307 and ``I`` to ``i``.  Every sensitive word holds at
# most one ``i``, so lowering U+0130 to ``i`` first hides exactly what Flink hides in some locale.

# Flink's GlobalConfiguration.SENSITIVE_KEYS, as each line ships it.
_SENSITIVE_1_14 = ("password", "secret", "fs.azure.account.key", "apikey")  # 1.14 to 1.16
_SENSITIVE_BASE = _SENSITIVE_1_14 + ("auth-params", "service-key", "token", "basic-auth", "jaas.config")
SENSITIVE_PATTERNS = {}
for _line in SUPPORTED_LINES:
    if _line in ("1.14", "1.15", "1.16"):
        SENSITIVE_PATTERNS[_line] = _SENSITIVE_1_14
        continue
    _extra = ()
    if _line not in ("1.17", "1.18"):
        _extra += ("http-headers",)
    if _line in ("2.1", "2.2", "2.3"):  # 2.1.3 and 2.2.1 ship it too (tests/oracle/test_sensitive_keys_oracle.py)
        _extra += ("api-key",)
    SENSITIVE_PATTERNS[_line] = _SENSITIVE_BASE + _extra
# Any line's words: a key only 2.3 hides (``api-key``) may hold the same secret on a 2.2 host.
ALL_SENSITIVE_PATTERNS = tuple(sorted({p for patterns in SENSITIVE_PATTERNS.values() for p in patterns}))
_DOTTED_CAPITAL_I = "\u0130"


def _lowered(key: str) -> str:
    """``key`` lowered as Flink lowers it, in whichever locale finds the most sensitive words."""
    return key.replace(_DOTTED_CAPITAL_I, "i").lower()


def _matches(key, patterns) -> bool:
    if not isinstance(key, str):
        return False
    lowered = _lowered(key)
    return any(p in lowered for p in patterns)


@lru_cache(maxsize=8192)
def is_sensitive(key: str, version) -> bool:
    """Flink ``version`` hides the value of ``key`` (in some JVM locale)."""
    return _matches(key, SENSITIVE_PATTERNS[minor_line(version)])


@lru_cache(maxsize=8192)
def is_sensitive_anywhere(key: str) -> bool:
    """Some Flink line hides the value of ``key``: what this collection never shows."""
    return _matches(key, ALL_SENSITIVE_PATTERNS)


def redact_value(key: str, value):
    """``value`` as shown for ``key``: ``******`` when some Flink line hides it (None stays None)."""
    return REDACTED if value is not None and is_sensitive_anywhere(key) else value


def redact_anywhere(config: dict) -> dict:
    """A copy of ``config`` with every value some Flink line hides replaced by ``******``."""
    return {k: (REDACTED if is_sensitive_anywhere(k) else v) for k, v in config.items()}


def redact(config: dict, version) -> dict:
    """A copy of ``config`` with sensitive values replaced as Flink ``version`` shows them."""
    patterns = SENSITIVE_PATTERNS[minor_line(version)]
    return {k: (REDACTED if _matches(k, patterns) else v) for k, v in config.items()}
