"""Seeded generator of Flink memory configs for the differential test and the benchmark.

``generate(process, version, count, seed)`` returns ``Case`` objects: a flat
``{key: value}`` config (every value a string, as Flink's Configuration holds
values read from a file), the sizing path the case was built for, and tags
naming the traps it contains.  The same arguments always give the same cases.

Each case starts from a sizing path (fine-grained, flink.size, process.size,
none, legacy heap keys, and their combinations), with sizes built around each
other so that a good share is consistent and a good share sits just past a
check (network or overhead outside its range, sums above a total).  Then
optional keys are sprinkled in (defaults overridden, deprecated fallback keys,
legacy keys, slots and cores, distractor keys Flink ignores), and a share of
values is swapped for garbage of the right type: unit spellings Flink rejects,
Java-vs-Python parsing traps (non-ASCII digits, NUL, no-break spaces, ``nan``,
``1_0``), fractions at and past their bounds, overflowing numbers.
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass, field

KiB, MiB, GiB, TiB = 1 << 10, 1 << 20, 1 << 30, 1 << 40
LONG_MAX = (1 << 63) - 1
DEFAULT_SEED = 20240917
DEFAULT_CASES = 4000  # per Flink version, split across TaskManager and JobManager

_UNITS = (
    (1, ("b", "bytes")),
    (KiB, ("k", "kb", "kibibytes")),
    (MiB, ("m", "mb", "mebibytes")),
    (GiB, ("g", "gb", "gibibytes")),
    (TiB, ("t", "tb", "tebibytes")),
)

# Sizes Flink must reject or that break naive parsers (see flink-memory.md section 7).
GARBAGE_SIZES = (
    "1.5g", "1gib", "2GiB", "-1m", "+1m", "", " ", "0x10", "1e9", "12345678901234567890",
    "1p", "1,5g", "m", "1 g b", "abc", "1.0", "1m b", "1 mebibyte", "1 kibibyte", "10 megabytes",
    "\u0661\u0662m",  # Arabic-Indic digits: not ASCII digits for Flink
    "\uff11m",  # fullwidth one
    "1_000m",
    "\u00a01m", "1m\u00a0",  # no-break space is not trimmed by Java's String.trim()
    "\u20001g",  # EN QUAD: Python strips it, Java does not
    "9223372036854775808", "99999999999999999999b", "8388608t", "9007199254740993kb",
    "18014398509481984k",
)
# Whitespace and control characters Java's trim() removes (everything <= U+0020).
ODD_BUT_VALID_SIZES = ("\t512 m\n", " 1g ", "\x001g", "1g\x00", "\x0b256m", "1\u212ab", "0001g", "1 \t mb")
HUGE_SIZES = ("8388607t", "9223372036854775807", "9223372036854775807b", "8589934591g", "9007199254740991k")

GARBAGE_FRACTIONS = (
    "0", "1", "0.99999", "0.99999999", "0.9999999", "-0.1", ".5", "5e-1", "0.5f", "0.5d", "NaN", "nan",
    "abc", "0,5", "", "1.0", "0.0", "-0", "-0.0", " 0.3 ", "0x1p-2", "Infinity", "inf", "1e-45",
    "1e-50", "0.1_0", "\u0660.\u0665", "+0.25", "5.", "0.3\x00", "1.5", "2", "-1", "0.1\u00a0",
)
GARBAGE_INTS = (
    "0", "-1", "1.5", " 3", "3 ", "abc", "08", "2147483648", "+2", "\u0662", "1_0", "", "0x2", "-0",
    "99999999999",
)
GARBAGE_DOUBLES = (
    "0", "-1", "-0.5", "0.0", "1e2", "NaN", "abc", "Infinity", " 4 ", "1,5", "4d", "0x10p0", "",
    "1e400", "4.9e-324", "\u0662",
)
BOOLEANS = ("true", "false", "TRUE", "False", "tRuE")
GARBAGE_BOOLEANS = ("yes", "1", "", " true", "on", "0")


@dataclass
class Case:
    process: str
    path: str
    config: dict = field(default_factory=dict)
    tags: set = field(default_factory=set)


# --- value rendering -----------------------------------------------------------------------------


def _spell(rng: random.Random, word: str) -> str:
    r = rng.random()
    if r < 0.7:
        return word
    if r < 0.85:
        return word.upper()
    return "".join(c.upper() if rng.random() < 0.5 else c for c in word)


def render_size(rng: random.Random, nbytes: int, tags: set | None = None) -> str:
    """An exact spelling of ``nbytes`` in a random unit Flink accepts."""
    fits = [(mult, aliases) for mult, aliases in _UNITS if nbytes % mult == 0]
    # Prefer the largest exact unit (how people write sizes), but use the others too.
    weights = [1 + 4 * i for i in range(len(fits))]
    mult, aliases = rng.choices(fits, weights)[0]
    number = str(nbytes // mult)
    if rng.random() < 0.05:
        number = "0" * rng.randint(1, 3) + number
        if tags is not None:
            tags.add("size:leading-zeros")
    if mult == 1 and rng.random() < 0.5:
        unit = ""
        if tags is not None:
            tags.add("size:no-unit")
    else:
        alias = rng.choice(aliases)
        unit = _spell(rng, alias)
        if tags is not None:
            tags.add(f"unit:{alias}")
            if unit != alias:
                tags.add("unit:case")
    sep = rng.choices(["", " ", "  ", "\t"], [70, 20, 5, 5])[0] if unit else ""
    if sep and tags is not None:
        tags.add("size:space-before-unit")
    return number + sep + unit


def _log_uniform(rng: random.Random, lo: int, hi: int) -> int:
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def realistic_bytes(rng: random.Random, lo: int, hi: int) -> int:
    """A size between lo and hi, mostly whole MiB like real configs, sometimes odd byte counts."""
    value = _log_uniform(rng, max(lo, 1), max(hi, 2))
    r = rng.random()
    if r < 0.2 and value >= GiB:
        return value // GiB * GiB
    if r < 0.75:
        return max(value // MiB, 0) * MiB
    if r < 0.9:
        return value // KiB * KiB
    return value


def render_fraction(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.5:
        return f"{rng.uniform(0.01, 0.6):.{rng.randint(1, 3)}f}"
    if r < 0.8:
        return rng.choice(("0.1", "0.2", "0.25", "0.3", "0.4", "0.5", "0.7", "0.05", "0.15"))
    return repr(rng.uniform(0.0, 0.9))  # long doubles: float rounding in Flink's float fractions


# --- case construction ---------------------------------------------------------------------------


class _Builder:
    def __init__(self, rng: random.Random, process: str):
        self.rng = rng
        self.case = Case(process=process, path="")

    def size(self, key: str, nbytes: int) -> None:
        self.case.config[key] = render_size(self.rng, max(nbytes, 0), self.case.tags)

    def put(self, key: str, value: str, tag: str | None = None) -> None:
        self.case.config[key] = value
        if tag:
            self.case.tags.add(tag)

    def maybe(self, p: float) -> bool:
        return self.rng.random() < p


_TM = "taskmanager.memory."
_JM = "jobmanager.memory."
_TM_PATHS = {
    "fine-grained": 14, "fine-grained+flink": 10, "fine-grained+process": 7, "flink": 14,
    "flink+process": 10, "process": 22, "none": 4, "legacy-heap": 8,
}
_JM_PATHS = {
    "heap": 12, "heap+flink": 14, "heap+process": 8, "flink": 14, "flink+process": 12,
    "process": 24, "none": 4, "legacy-heap": 8,
}
_TM_SIZE_KEYS = (
    "process.size", "flink.size", "framework.heap.size", "framework.off-heap.size", "task.heap.size",
    "task.off-heap.size", "managed.size", "network.min", "network.max", "jvm-metaspace.size",
    "jvm-overhead.min", "jvm-overhead.max",
)
_JM_SIZE_KEYS = (
    "process.size", "flink.size", "heap.size", "off-heap.size", "jvm-metaspace.size",
    "jvm-overhead.min", "jvm-overhead.max",
)


def _overhead_and_metaspace(b: _Builder, prefix: str) -> tuple[int, int, int]:
    """Optionally override metaspace and overhead; return (metaspace, overhead min, overhead max)."""
    rng = b.rng
    ms, ov_min, ov_max = 256 * MiB, 192 * MiB, GiB
    if b.maybe(0.2):
        ms = realistic_bytes(rng, 64 * MiB, GiB)
        b.size(prefix + "jvm-metaspace.size", ms)
    set_min, set_max = b.maybe(0.25), b.maybe(0.25)
    if set_min:
        ov_min = realistic_bytes(rng, 32 * MiB, 768 * MiB)
    if set_max:
        ov_max = realistic_bytes(rng, 128 * MiB, 4 * GiB)
    if set_min and set_max and (ov_min > ov_max) == (rng.random() < 0.8):
        ov_min, ov_max = ov_max, ov_min  # a fifth keep min > max
    if set_min:
        b.size(prefix + "jvm-overhead.min", ov_min)
        b.case.tags.add("overhead:min")
    if set_max:
        b.size(prefix + "jvm-overhead.max", ov_max)
        b.case.tags.add("overhead:max")
    if b.maybe(0.25):
        b.put(prefix + "jvm-overhead.fraction", render_fraction(rng), "overhead:fraction")
    if ov_min > ov_max:
        b.case.tags.add("overhead:min>max")
    return ms, ov_min, ov_max


def _process_around(b: _Builder, total_flink: int, ms: int, ov_min: int, ov_max: int) -> int:
    """A process size near total_flink + metaspace + overhead: mostly in range, sometimes not."""
    rng = b.rng
    r = rng.random()
    if r < 0.72:
        ov = rng.randint(min(ov_min, ov_max), max(ov_min, ov_max))
    elif r < 0.82:
        ov = max(ov_min - rng.randint(1, 64 * MiB), 0)  # overhead below its min
    elif r < 0.92:
        ov = ov_max + rng.randint(1, 512 * MiB)  # overhead above its max
    else:
        return max(total_flink + ms - rng.randint(1, 256 * MiB), 0)  # less than flink + metaspace
    if rng.random() < 0.7:
        ov = ov // MiB * MiB
    return total_flink + ms + ov


def _taskmanager(rng: random.Random, line: str) -> Case:
    b = _Builder(rng, "taskmanager")
    path = rng.choices(list(_TM_PATHS), list(_TM_PATHS.values()))[0]
    b.case.path = path
    c = b.case

    fh = foh = 128 * MiB
    toh = 0
    if b.maybe(0.15):
        fh = realistic_bytes(rng, 16 * MiB, GiB) if rng.random() < 0.9 else 0
        b.size(_TM + "framework.heap.size", fh)
    if b.maybe(0.15):
        foh = realistic_bytes(rng, 16 * MiB, GiB) if rng.random() < 0.9 else 0
        b.size(_TM + "framework.off-heap.size", foh)
    if b.maybe(0.2):
        toh = realistic_bytes(rng, MiB, 4 * GiB) if rng.random() < 0.8 else 0
        b.size(_TM + "task.off-heap.size", toh)

    net_min, net_max = 64 * MiB, LONG_MAX
    network_keys = []
    for name in ("min", "max", "fraction"):
        if b.maybe(0.25):
            network_keys.append(name)
    net_values = {}
    if "min" in network_keys:
        net_min = realistic_bytes(rng, 8 * MiB, 512 * MiB) if rng.random() < 0.9 else 0
    if "max" in network_keys:
        net_max = realistic_bytes(rng, 64 * MiB, 8 * GiB)
        if "min" in network_keys and (net_min > net_max) == (rng.random() < 0.75):
            net_min, net_max = net_max, net_min  # a quarter keep min > max
    net_values = {"min": net_min, "max": net_max}
    for name in network_keys:
        new_key, old_key = _TM + "network." + name, "taskmanager.network.memory." + name
        value = render_fraction(rng) if name == "fraction" else render_size(rng, net_values[name], c.tags)
        r = rng.random()
        if r < 0.6:
            b.put(new_key, value, "network:" + name)
        elif r < 0.85:
            b.put(old_key, value, "deprecated:network")
        else:  # both: the new key must win
            b.put(new_key, value, "deprecated:network-both")
            old = render_fraction(rng) if name == "fraction" else render_size(
                rng, realistic_bytes(rng, MiB, 4 * GiB), c.tags)
            b.put(old_key, old)
    if net_min > net_max:
        c.tags.add("network:min>max")
    if b.maybe(0.25):
        b.put(_TM + "managed.fraction", render_fraction(rng), "managed:fraction")

    ms, ov_min, ov_max = _overhead_and_metaspace(b, _TM)

    def managed_size(nbytes):
        r = rng.random()
        if r < 0.7:
            b.size(_TM + "managed.size", nbytes)
        elif r < 0.85:
            b.size("taskmanager.memory.size", nbytes)
            c.tags.add("deprecated:managed")
        else:
            b.size(_TM + "managed.size", nbytes)
            b.size("taskmanager.memory.size", realistic_bytes(rng, 0 + MiB, 8 * GiB))
            c.tags.add("deprecated:managed-both")

    if path.startswith("fine-grained"):
        th = realistic_bytes(rng, 16 * MiB, 16 * GiB)
        mg = realistic_bytes(rng, 16 * MiB, 16 * GiB) if rng.random() < 0.85 else 0
        b.size(_TM + "task.heap.size", th)
        managed_size(mg)
        explicit = fh + foh + th + toh + mg
        if path == "fine-grained+flink":
            r = rng.random()
            if r < 0.75:
                net = rng.randint(net_min, min(net_max, net_min + 2 * GiB)) if net_min <= net_max else net_min
                net = net // MiB * MiB if rng.random() < 0.6 else net
            elif r < 0.9:
                net = max(net_min - rng.randint(1, 64 * MiB), 0)  # network below its min
            else:
                net = -rng.randint(1, GiB)  # components above Total Flink
            b.size(_TM + "flink.size", max(explicit + net, 0))
        elif path == "fine-grained+process":
            estimate = int(explicit / 0.9)
            b.size(_TM + "process.size", _process_around(b, estimate, ms, ov_min, ov_max))
    elif path.startswith("flink"):
        tf = realistic_bytes(rng, 256 * MiB, 60 * GiB)
        b.size(_TM + "flink.size", tf)
        if b.maybe(0.3):
            b.size(_TM + "task.heap.size", int(tf * rng.uniform(0.05, 0.6)))
            c.tags.add("with:task-heap")
        if b.maybe(0.3):
            managed_size(int(tf * rng.uniform(0.0, 0.5)))
            c.tags.add("with:managed")
        if path == "flink+process":
            b.size(_TM + "process.size", _process_around(b, tf, ms, ov_min, ov_max))
    elif path == "process":
        tp = realistic_bytes(rng, 256 * MiB if rng.random() < 0.1 else 640 * MiB, 64 * GiB)
        b.size(_TM + "process.size", tp)
        if b.maybe(0.25):
            b.size(_TM + "task.heap.size", int(tp * rng.uniform(0.05, 0.45)))
            c.tags.add("with:task-heap")
        if b.maybe(0.25):
            managed_size(int(tp * rng.uniform(0.0, 0.35)))
            c.tags.add("with:managed")
    elif path == "none":
        if b.maybe(0.4):
            b.size(_TM + "task.heap.size", realistic_bytes(rng, 64 * MiB, 8 * GiB))
        elif b.maybe(0.5):
            managed_size(realistic_bytes(rng, 64 * MiB, 8 * GiB))
    else:  # legacy-heap: honoured by 1.x (as Total Flink Memory), ignored by 2.x
        heap = realistic_bytes(rng, 256 * MiB, 32 * GiB) // MiB * MiB
        r = rng.random()
        if r < 0.45:
            b.size("taskmanager.heap.size", heap)
        elif r < 0.8:
            b.put("taskmanager.heap.mb", str(heap // MiB))
        else:
            b.size("taskmanager.heap.size", heap)
            b.put("taskmanager.heap.mb", str(realistic_bytes(rng, 256 * MiB, 8 * GiB) // MiB))
            c.tags.add("legacy:both-heap-keys")
        c.tags.add("legacy:tm-heap")
        r = rng.random()
        if r < 0.35:
            b.size(_TM + "process.size", realistic_bytes(rng, 512 * MiB, 32 * GiB))
        elif r < 0.5:
            b.size(_TM + "flink.size", realistic_bytes(rng, 512 * MiB, 32 * GiB))

    # Keys on every path.
    if b.maybe(0.3):
        r = rng.random()
        slots = str(rng.choice((1, 2, 4, 8, 16, 32))) if r < 0.8 else rng.choice(GARBAGE_INTS)
        b.put("taskmanager.numberOfTaskSlots", slots, "slots")
    if b.maybe(0.15):
        r = rng.random()
        cores = rng.choice(("1", "2", "4", "0.5", "2.5", "16")) if r < 0.7 else rng.choice(GARBAGE_DOUBLES)
        b.put("taskmanager.cpu.cores", cores, "cpu-cores")
    if b.maybe(0.08):
        r = rng.random()
        buffers = str(rng.choice((1024, 2048, 4096, 8192, 65536))) if r < 0.7 else rng.choice(GARBAGE_INTS)
        b.put("taskmanager.network.numberOfBuffers", buffers, "legacy:number-of-buffers")
        if b.maybe(0.3):
            b.size(_TM + "segment-size", rng.choice((4 * KiB, 16 * KiB, 32 * KiB, 64 * KiB, MiB)))
    if b.maybe(0.06) and path != "legacy-heap":
        b.size("taskmanager.heap.size", realistic_bytes(rng, 256 * MiB, 16 * GiB) // MiB * MiB)
        c.tags.add("legacy:tm-heap")
    if b.maybe(0.1):
        _distractor(b, "taskmanager")
    _corrupt(b, _TM, _TM_SIZE_KEYS, (_TM + "managed.fraction", _TM + "network.fraction",
                                      _TM + "jvm-overhead.fraction"))
    return c


def _jobmanager(rng: random.Random, line: str) -> Case:
    b = _Builder(rng, "jobmanager")
    path = rng.choices(list(_JM_PATHS), list(_JM_PATHS.values()))[0]
    b.case.path = path
    c = b.case

    off = 128 * MiB
    off_explicit = b.maybe(0.3)
    if off_explicit:
        off = realistic_bytes(rng, 16 * MiB, 2 * GiB) if rng.random() < 0.9 else 0
        b.size(_JM + "off-heap.size", off)
    ms, ov_min, ov_max = _overhead_and_metaspace(b, _JM)

    if path.startswith("heap"):
        heap = realistic_bytes(rng, 64 * MiB, 16 * GiB)
        b.size(_JM + "heap.size", heap)
        if heap < 128 * MiB:
            c.tags.add("jm:heap-below-128m")
        if path == "heap+flink":
            r = rng.random()
            if r < 0.65:
                tf = heap + off  # consistent
            elif r < 0.85:
                tf = heap + off + rng.choice((-1, 1)) * rng.randint(1, 256 * MiB)  # JM-2 or JM-1
            else:
                tf = max(heap - rng.randint(1, GiB), 1)  # heap above Total Flink
            b.size(_JM + "flink.size", max(tf, 0))
        elif path == "heap+process":
            b.size(_JM + "process.size", _process_around(b, heap + off, ms, ov_min, ov_max))
    elif path.startswith("flink"):
        tf = realistic_bytes(rng, 64 * MiB, 32 * GiB)
        if rng.random() < 0.1:
            tf = off + rng.randint(-64 * MiB, 64 * MiB)  # near the off-heap size (JM-3)
        b.size(_JM + "flink.size", max(tf, 0))
        if path == "flink+process":
            b.size(_JM + "process.size", _process_around(b, tf, ms, ov_min, ov_max))
    elif path == "process":
        tp = realistic_bytes(rng, 256 * MiB, 32 * GiB)
        b.size(_JM + "process.size", tp)
    elif path == "legacy-heap":
        heap = realistic_bytes(rng, 256 * MiB, 16 * GiB) // MiB * MiB
        r = rng.random()
        if r < 0.45:
            b.size("jobmanager.heap.size", heap)
        elif r < 0.8:
            b.put("jobmanager.heap.mb", str(heap // MiB))
        else:
            b.size("jobmanager.heap.size", heap)
            b.put("jobmanager.heap.mb", str(realistic_bytes(rng, 256 * MiB, 8 * GiB) // MiB))
            c.tags.add("legacy:both-heap-keys")
        c.tags.add("legacy:jm-heap")
        r = rng.random()
        if r < 0.3:
            b.size(_JM + "process.size", realistic_bytes(rng, 512 * MiB, 16 * GiB))
        elif r < 0.45:
            b.size(_JM + "flink.size", realistic_bytes(rng, 512 * MiB, 16 * GiB))
    # path "none": only what was sprinkled above

    if b.maybe(0.3):
        value = rng.choice(BOOLEANS) if rng.random() < 0.85 else rng.choice(GARBAGE_BOOLEANS)
        b.put(_JM + "enable-jvm-direct-memory-limit", value, "jm:direct-limit")
    if b.maybe(0.05) and path != "legacy-heap":
        b.put("jobmanager.heap.mb", str(realistic_bytes(rng, 256 * MiB, 8 * GiB) // MiB), "legacy:jm-heap")
    if b.maybe(0.1):
        _distractor(b, "jobmanager")
    _corrupt(b, _JM, _JM_SIZE_KEYS, (_JM + "jvm-overhead.fraction",))
    return c


def _distractor(b: _Builder, process: str) -> None:
    """Keys Flink stores and ignores: imaginary options, wrong case, stray whitespace, odd characters."""
    rng = b.rng
    choices = [
        ("jobmanager.memory.managed.fraction", render_fraction(rng)),
        ("flink.memory.managed.fraction", render_fraction(rng)),
        ("taskmanager.memory.heap.size", "4g"),
        (process.replace("t", "T", 1) + ".memory.process.size", "1x"),  # keys are case-sensitive
        (" " + process + ".memory.process.size", "garbage"),
        (process + ".memory.process.size ", "garbage"),
        ("taskmanager.memory.managed.consumer-weights", rng.choice(("OPERATOR:70,STATE_BACKEND:70",
                                                                    "PYTHON:10", "DATAPROC:1", "bad"))),
        ("weird\nkey #: 'x'", 'value\nwith "quotes" # and: colons'),
        ("env.java.opts.all", "-Xmx1g -XX:MaxDirectMemorySize=1t"),
    ]
    key, value = rng.choice(choices)
    b.put(key, value, "distractor")


def _corrupt(b: _Builder, prefix: str, size_keys, fraction_keys) -> None:
    """Swap some values for garbage, odd-but-valid spellings or huge numbers."""
    rng = b.rng
    c = b.case
    if rng.random() < 0.14:
        key = prefix + rng.choice(size_keys)
        r = rng.random()
        if r < 0.55:
            b.put(key, rng.choice(GARBAGE_SIZES), "garbage:size")
        elif r < 0.8:
            b.put(key, rng.choice(ODD_BUT_VALID_SIZES), "odd-size")
        else:
            b.put(key, rng.choice(HUGE_SIZES), "huge-size")
    if rng.random() < 0.08:
        b.put(rng.choice(fraction_keys), rng.choice(GARBAGE_FRACTIONS), "garbage:fraction")
    if "slots" not in c.tags and c.process == "taskmanager" and rng.random() < 0.02:
        b.put("taskmanager.numberOfTaskSlots", rng.choice(GARBAGE_INTS), "slots")


def generate(process: str, version: str, count: int, seed: int = DEFAULT_SEED) -> list[Case]:
    """``count`` cases for one process kind and Flink line; same arguments, same cases."""
    if process not in ("taskmanager", "jobmanager"):
        raise ValueError(f"process must be taskmanager or jobmanager, not {process!r}")
    line = ".".join(str(version).split(".")[:2])
    rng = random.Random(f"{seed}:{line}:{process}")
    build = _taskmanager if process == "taskmanager" else _jobmanager
    return [build(rng, line) for _ in range(count)]


def seed() -> int:
    """FLINKOPS_ORACLE_SEED explores other cases; the default keeps ``make test`` reproducible."""
    return int(os.environ.get("FLINKOPS_ORACLE_SEED", DEFAULT_SEED))


def cases_per_version() -> int:
    """FLINKOPS_ORACLE_CASES raises (or lowers, for a quick look) the number of cases per version."""
    return int(os.environ.get("FLINKOPS_ORACLE_CASES", DEFAULT_CASES))


def split(total: int) -> dict[str, int]:
    """Cases per process: 60 % TaskManager (more options), 40 % JobManager."""
    tm = total * 3 // 5
    return {"taskmanager": tm, "jobmanager": total - tm}
