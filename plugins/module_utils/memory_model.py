# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Flink computes for a process's memory, byte for byte, 1.14 to 2.3.

Structured like Flink's own ``util.config.memory`` package: one generic
process derivation (``_derive_process``: the three sizing paths, metaspace
and JVM overhead) and two per-process parts (``_TaskManager``,
``_JobManager``) that split Total Flink Memory into components.  Options are
read lazily and in Flink's order, because the first failing read decides
which error Flink reports.  Errors carry Flink's exception chain verbatim.
Standard library only; ``compute`` is the entry point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from itertools import repeat

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.java_types import (
    JavaNumberFormatError,
    double_to_string,
    flink_text,
    float_to_string,
    parse_double,
    parse_float,
    parse_int,
)
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import (
    LONG_MAX,
    MemorySizeError,
    parse_bytes,
    to_human_readable,
)
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import (
    to_string as size_to_string,
)

PROCESS_KINDS = ("taskmanager", "jobmanager")

# Error messages print the same few sizes (defaults, ranges) over and over: one Decimal rounding each.
# typed: a size is always an int here, but 1 and 1.0 (or True) must never share a cached text.
hr = lru_cache(maxsize=4096, typed=True)(to_human_readable)


# --- Java exceptions, as far as their messages and wrapping matter -----------------------------


class JavaError(Exception):
    """An exception Flink would throw: ``JavaError(message)`` or ``JavaError(message, cause)``.

    No ``__init__``: BaseException keeps the arguments as ``args`` in C, the cheapest way to build the
    thousands of these that a fleet's refused configs raise. ``chain()`` lists its and its causes' messages.
    """

    java_class = "java.lang.RuntimeException"

    @property
    def message(self) -> str:
        return self.args[0]

    @property
    def cause(self) -> JavaError | None:
        args = self.args
        return args[1] if len(args) > 1 else None

    def __str__(self) -> str:
        return self.args[0]

    def chain(self) -> list:
        out, err = [], self
        while err is not None:
            out.append(err.message)
            err = err.cause
        return out


class IllegalConfiguration(JavaError):
    java_class = "org.apache.flink.configuration.IllegalConfigurationException"


class IllegalArgument(JavaError):
    java_class = "java.lang.IllegalArgumentException"


class NumberFormat(IllegalArgument):
    java_class = "java.lang.NumberFormatException"


class Arithmetic(JavaError):
    java_class = "java.lang.ArithmeticException"


class NullPointer(JavaError):
    java_class = "java.lang.NullPointerException"


# --- MemorySize arithmetic (exact, overflow-checked like Math.addExact) ------------------------


def _add(*sizes: int) -> int:
    # Every size here is >= 0 (parsed, multiplied or subtracted with Flink's checks), so the partial
    # sums only grow: the total overflows a long exactly when some Math.addExact step would.
    total = sum(sizes)
    if total > LONG_MAX:
        raise Arithmetic("long overflow")
    return total


def _subtract(a: int, b: int) -> int:
    if a - b < 0:
        raise IllegalArgument("bytes must be >= 0")
    return a - b


@lru_cache(maxsize=1024)
def _exact_ratio(multiplier: float) -> tuple:
    # BigDecimal.valueOf(double) goes through Double.toString: the shortest decimal.
    return Decimal(repr(multiplier)).as_integer_ratio()


def _multiply(size: int, multiplier: float) -> int:
    """``MemorySize.multiply(double)``: BigDecimal product, truncated to a long."""
    if not multiplier >= 0:
        raise IllegalArgument("multiplier must be >= 0")
    num, den = _exact_ratio(multiplier)
    product = size * num
    if product > LONG_MAX * den:
        raise Arithmetic("long overflow")
    return product // den


# --- Configuration: typed reads with Flink's fallbacks and messages ----------------------------


def _option_str(option: opts.Option) -> str:
    """``ConfigOption.toString()``, as E1 and E8 print it."""
    if option.default is None:
        default = "null"
    elif option.kind == "memory":
        default = size_to_string(option.default)
    elif option.kind == "float":
        default = float_to_string(option.default)
    else:
        default = str(option.default)
    fallbacks = ", ".join(f"{{key={k}, isDeprecated=true}}" for k in option.deprecated_keys)
    return f"Key: '{option.key}' , default: {default} (fallback keys: [{fallbacks}])"


class _Config:
    """A read-only view of one config for one Flink line, recording what was read."""

    # One of these per config: slots make it cheaper to build and its attributes cheaper to read.
    __slots__ = ("raw", "line", "options", "float_defaults", "overrides", "legacy_heap", "legacy_source", "read")

    def __init__(self, raw: Mapping, line: str, options: dict, float_defaults: dict):
        self.raw = raw
        self.line = line
        self.options = options
        self.float_defaults = float_defaults  # key -> its Java float default, widened (_Process.float_defaults)
        self.overrides = {}  # key -> bytes set by Flink itself (legacy heap mapping)
        self.legacy_heap = None  # {"bytes", "key", "maps_to"} once the start scripts mapped a legacy heap
        self.legacy_source = None  # the legacy key or variable being read
        self.read = {}  # key -> the key that supplied the value, or None when defaulted

    def _lookup(self, option: opts.Option):
        if self.overrides and option.key in self.overrides:
            return option.key, self.overrides[option.key]
        raw = self.raw
        for key in option.all_names:
            if key in raw:
                return key, raw[key]
        return None, None

    def contains(self, option: opts.Option) -> bool:
        if self.overrides and option.key in self.overrides:
            return True
        raw = self.raw
        for key in option.all_names:  # noqa: SIM110 (a loop: any() over a generator costs more here)
            if key in raw:
                return True
        return False

    def _get(self, option: opts.Option, convert):
        # _lookup inlined: this is the model's innermost step (a dozen reads per config).
        key = option.key
        if self.overrides and key in self.overrides:
            self.read.setdefault(key, key)
            return self.overrides[key]  # bytes Flink set itself: no text to parse
        raw = self.raw
        for source in option.all_names:
            if source in raw:
                value = raw[source]
                break
        else:
            self.read.setdefault(key, None)
            if option.kind == "float":  # a Java float default, widened like any other
                return self.float_defaults[key]
            return option.default
        self.read.setdefault(key, source)
        try:
            text = value if isinstance(value, str) else flink_text(value)
        except TypeError as exc:
            raise IllegalArgument(
                f"Could not parse value '{value}' for key '{option.key}'.",
                IllegalArgument(f"unsupported value type {exc}"),
            ) from None
        try:
            return convert(text)
        except (MemorySizeError, JavaNumberFormatError) as exc:
            cls = NumberFormat if isinstance(exc, JavaNumberFormatError) else IllegalArgument
            if str(exc) == "text does not start with a number":
                cls = NumberFormat
            raise IllegalArgument(
                f"Could not parse value '{text}' for key '{option.key}'.", cls(str(exc))
            ) from None
        except IllegalArgument as exc:
            raise IllegalArgument(
                f"Could not parse value '{text}' for key '{option.key}'.", exc
            ) from None

    def memory(self, option: opts.Option) -> int:
        """``ProcessMemoryUtils.getMemorySizeFromConfig``."""
        try:
            value = self._get(option, parse_bytes)
            if value is None:
                raise NullPointer("The memory option is not set and has no default value.")
            return value
        except JavaError as exc:
            raise IllegalConfiguration(
                f"Cannot read memory size from config option '{option.key}'.", exc
            ) from None

    def raw_memory(self, option: opts.Option) -> int:
        """``config.get(memoryOption)`` without the memory-utils wrapper."""
        return self._get(option, parse_bytes)

    def float(self, option: opts.Option) -> float:
        return self._get(option, parse_float)

    def double(self, option: opts.Option) -> float:
        return self._get(option, parse_double)

    def int(self, option: opts.Option) -> int:
        return self._get(option, parse_int)

    def bool(self, option: opts.Option) -> bool:
        def convert(text):
            upper = text.upper()
            if upper in ("TRUE", "FALSE"):
                return upper == "TRUE"
            raise IllegalArgument(
                f"Unrecognized option for boolean: {text}. Expected either true or false(case insensitive)"
            )

        return self._get(option, convert)


# --- RangeFraction and the fraction-based derivations ------------------------------------------


def _range_fraction(conf: _Config, min_size: int, max_size: int, fraction_option: opts.Option):
    """``ProcessMemoryUtils.getRangeFraction``: (min, max, fraction) or E8."""
    fraction = conf.float(fraction_option)
    reason = None
    if not min_size <= max_size:
        reason = "min value must be less or equal to max value"
    elif not (fraction >= 0 and fraction < 1):
        reason = "fraction must be in range [0, 1)"
    if reason:
        raise IllegalConfiguration(
            f"Inconsistently configured {_option_str(fraction_option)} ({double_to_string(fraction)}) "
            f"and its min ({hr(min_size)}), max ({hr(max_size)}) value",
            IllegalArgument(reason),
        )
    return min_size, max_size, fraction


def _cap(value: int, rng) -> int:
    # Flink logs INFO and clamps: a fraction-derived size never fails on its range.
    if value > rng[1]:
        return rng[1]
    return rng[0] if value < rng[0] else value


def _with_fraction(base: int, rng) -> int:
    return _cap(_multiply(base, rng[2]), rng)


def _with_inverse_fraction(base: int, rng) -> int:
    fraction = rng[2]
    return _cap(_multiply(base, fraction / (1 - fraction)), rng)


# --- The generic process derivation (ProcessMemoryUtils) ---------------------------------------


class _Process:
    """Per-process options and the split of Total Flink Memory (FlinkMemoryUtils)."""

    kind = ""
    failed_prefix = ""
    # Slots: the model reads these attributes for every config. A class's instances past 30 attributes
    # (CPython 3.11's shared-keys limit) get a plain dict, every read of which costs more (TaskManager,
    # 2.3 and 1.16 alike: ~800 instructions a pooled config at 30).
    __slots__ = (
        "line", "options", "legacy", "float_defaults", "legacy_env", "legacy_heap_names", "legacy_heap_key",
        "legacy_heap_mb_key", "honoured", "ignorable", "total_process", "total_flink", "metaspace",
        "overhead_min", "overhead_max", "overhead_fraction", "fine_grained", "error_prefix",
    )

    def __init__(self, line: str):
        self.line = line
        self.fine_grained = ()
        self.error_prefix = None  # see _JobManager
        self.options = opts.catalog(self.kind, line)  # this line's options and defaults
        # 1.x start scripts map a legacy heap (a variable or a key) to the new options; 2.x dropped both.
        # Decided once per line here, not per config: what the line does not honour costs nothing.
        self.legacy = opts.is_legacy_line(line)
        # A float option's default as _Config reads it (a Java float, widened): parsed once per line, not per read.
        self.float_defaults = {
            key: parse_float(repr(o.default)) for key, o in self.options.items()
            if o.kind == "float" and o.default is not None
        }
        self.legacy_env = opts.LEGACY_HEAP_ENV[self.kind]
        # Every name conf.contains() would look for (the catalog's fallbacks included, none today); Flink
        # never sets these keys itself, so a look at the file answers contains() for each of them.
        self.legacy_heap_names = tuple(
            name for key in (self.kind + ".heap.size", self.kind + ".heap.mb") for name in self.options[key].all_names
        ) if self.legacy else ()
        # The specs test the two names with `in` (two dict lookups cost a third of keys().isdisjoint(names)).
        if self.legacy and len(self.legacy_heap_names) != 2:
            raise RuntimeError(f"legacy heap keys with fallbacks, not tested by the specs: {self.legacy_heap_names}")
        self.legacy_heap_key, self.legacy_heap_mb_key = self.legacy_heap_names or (None, None)
        # _keys: what this process reads on this line, and the keys of it that the line stores and ignores.
        self.honoured = opts.honoured_keys(self.kind, line)
        self.ignorable = frozenset(
            k for k in (*opts.PROCESSES[self.kind], *opts.IMAGINARY_KEYS)
            if k.startswith(self.kind + ".") and k not in self.honoured
        )
        prefix = self.kind + ".memory."
        o = self.options
        self.total_process = o[prefix + "process.size"]
        self.total_flink = o[prefix + "flink.size"]
        self.metaspace = o[prefix + "jvm-metaspace.size"]
        self.overhead_min = o[prefix + "jvm-overhead.min"]
        self.overhead_max = o[prefix + "jvm-overhead.max"]
        self.overhead_fraction = o[prefix + "jvm-overhead.fraction"]

    def from_fine_grained(self, conf):  # -> dict of components with "total_flink"
        raise NotImplementedError

    def from_total_flink(self, conf, total_flink):
        raise NotImplementedError


def _overhead_range(conf, proc):
    return _range_fraction(
        conf, conf.memory(proc.overhead_min), conf.memory(proc.overhead_max), proc.overhead_fraction
    )


def _derive_process(conf: _Config, proc: _Process):
    """``ProcessMemoryUtils.memoryProcessSpecFromConfig``: (path, flink parts, metaspace, overhead)."""
    if all(conf.contains(o) for o in proc.fine_grained):
        path = "fine-grained"
        flink = proc.from_fine_grained(conf)
        metaspace, overhead = _metaspace_overhead_from_flink(conf, proc, flink["total_flink"])
    elif conf.contains(proc.total_flink):
        path = "total-flink"
        total_flink = conf.memory(proc.total_flink)
        flink = proc.from_total_flink(conf, total_flink)
        metaspace, overhead = _metaspace_overhead_from_flink(conf, proc, total_flink)
    elif conf.contains(proc.total_process):
        path = "total-process"
        total_process = conf.memory(proc.total_process)
        metaspace = conf.memory(proc.metaspace)
        overhead = _with_fraction(total_process, _overhead_range(conf, proc))
        if _add(metaspace, overhead) > total_process:
            raise IllegalConfiguration(
                f"Sum of configured JVM Metaspace ({hr(metaspace)}) and JVM Overhead ({hr(overhead)}) "
                f"exceed configured Total Process Memory ({hr(total_process)})."
            )
        flink = proc.from_total_flink(conf, _subtract(total_process, _add(metaspace, overhead)))
    else:
        raise IllegalConfiguration(
            f"Either required fine-grained memory ({' and '.join(o.key for o in proc.fine_grained)}), "
            f"or Total Flink Memory size ({_option_str(proc.total_flink)}), "
            f"or Total Process Memory size ({_option_str(proc.total_process)}) need to be configured explicitly."
        )
    return path, flink, metaspace, overhead


def _metaspace_overhead_from_flink(conf, proc, total_flink):
    """``deriveJvmMetaspaceAndOverheadFromTotalFlinkMemory``."""
    metaspace = conf.memory(proc.metaspace)
    flink_and_metaspace = _add(total_flink, metaspace)
    if conf.contains(proc.total_process):
        total_process = conf.memory(proc.total_process)
        metaspace = conf.memory(proc.metaspace)
        flink_and_metaspace = _add(total_flink, metaspace)
        if total_process < flink_and_metaspace:
            raise IllegalConfiguration(
                f"The configured Total Process Memory size ({hr(total_process)}) is less than the sum of the "
                f"derived Total Flink Memory size ({hr(total_flink)}) and the configured or default JVM "
                f"Metaspace size  ({hr(metaspace)})."
            )
        overhead = _subtract(total_process, flink_and_metaspace)
        rng = _overhead_range(conf, proc)
        if overhead > rng[1] or overhead < rng[0]:
            raise IllegalConfiguration(
                f"Derived JVM Overhead size ({hr(overhead)}) is not in configured JVM Overhead range "
                f"[{hr(rng[0])}, {hr(rng[1])}]."
            )
        return metaspace, overhead
    overhead = _with_inverse_fraction(flink_and_metaspace, _overhead_range(conf, proc))
    _add(total_flink, metaspace, overhead)  # Flink's sanityCheckTotalProcessMemory sums (and may overflow) here
    return metaspace, overhead


# --- TaskManager (TaskExecutorFlinkMemoryUtils) ------------------------------------------------


class _TaskManager(_Process):
    kind = "taskmanager"
    failed_prefix = "TaskManager memory configuration failed: "
    __slots__ = (
        "task_heap", "managed", "framework_heap", "framework_off_heap", "task_off_heap", "managed_fraction",
        "network_min", "network_max", "network_fraction", "segment_size", "legacy_buffers", "legacy_buffer_names",
        "legacy_buffers_key",
    )

    def __init__(self, line):
        super().__init__(line)
        o = self.options
        self.task_heap = o["taskmanager.memory.task.heap.size"]
        self.managed = o["taskmanager.memory.managed.size"]
        self.fine_grained = (self.task_heap, self.managed)
        self.framework_heap = o["taskmanager.memory.framework.heap.size"]
        self.framework_off_heap = o["taskmanager.memory.framework.off-heap.size"]
        self.task_off_heap = o["taskmanager.memory.task.off-heap.size"]
        self.managed_fraction = o["taskmanager.memory.managed.fraction"]
        self.network_min = o["taskmanager.memory.network.min"]
        self.network_max = o["taskmanager.memory.network.max"]
        self.network_fraction = o["taskmanager.memory.network.fraction"]
        self.segment_size = o["taskmanager.memory.segment-size"]
        self.legacy_buffers = o["taskmanager.network.numberOfBuffers"] if self.legacy else None
        # Its names as conf.contains() reads them; Flink never sets the key itself (no override).
        self.legacy_buffer_names = self.legacy_buffers.all_names if self.legacy else ()
        if self.legacy and len(self.legacy_buffer_names) != 1:  # _uses_legacy_network looks for exactly one
            raise RuntimeError(f"numberOfBuffers with fallbacks, not tested by the model: {self.legacy_buffer_names}")
        self.legacy_buffers_key = self.legacy_buffers.key if self.legacy else None

    def _network_range(self, conf):
        return _range_fraction(
            conf, conf.memory(self.network_min), conf.memory(self.network_max), self.network_fraction
        )

    def _uses_legacy_network(self, conf):
        if not self.legacy:
            return False
        # The legacy key first: it is almost always absent (contains() has no side effect). Flink never
        # sets it itself, so a look at the file for each of its names is the whole contains().
        if self.legacy_buffers_key not in conf.raw:  # one lookup (keys().isdisjoint of its names: ~3x that)
            return False
        return not (conf.contains(self.network_min) or conf.contains(self.network_max)
                    or conf.contains(self.network_fraction))

    def _legacy_network(self, conf):
        buffers = conf.int(self.legacy_buffers)
        page = conf.raw_memory(self.segment_size)
        if page > 0x7FFFFFFF:
            raise IllegalArgument(f"Cannot downcast long value {page} to integer.")
        if page < 4096:
            raise IllegalConfiguration(
                f"Invalid configuration value for {self.segment_size.key} : {page} - "
                "Minimum memory segment size is 4096"
            )
        if page & (page - 1):
            raise IllegalConfiguration(
                f"Invalid configuration value for {self.segment_size.key} : {page} - "
                "Memory segment size must be a power of 2."
            )
        size = buffers * page
        if size < 0:
            raise IllegalArgument("bytes must be >= 0")
        return size

    def _managed(self, conf, total_flink):
        if conf.contains(self.managed):
            return conf.memory(self.managed)
        return _with_fraction(total_flink, _range_fraction(conf, 0, LONG_MAX, self.managed_fraction))

    def _network_remainder(self, conf, network, total_flink):
        """The network size left over from explicit sizes must fit its configuration (E5)."""
        try:
            if self._uses_legacy_network(conf):
                configured = self._legacy_network(conf)
                if configured != network:
                    raise IllegalConfiguration(
                        f"Derived Network Memory size ({hr(network)}) does not match configured Network "
                        f"Memory size ({hr(configured)})."
                    )
            else:
                low, high, _unused = self._network_range(conf)
                if network > high or network < low:
                    raise IllegalConfiguration(
                        f"Derived Network Memory size ({hr(network)}) is not in configured Network Memory "
                        f"range [{hr(low)}, {hr(high)}]."
                    )
        except IllegalConfiguration as exc:
            raise IllegalConfiguration(
                "If Total Flink, Task Heap and (or) Managed Memory sizes are explicitly configured then the "
                "Network Memory size is the rest of the Total Flink memory after subtracting all other "
                "configured types of memory, but the derived Network Memory is inconsistent with its "
                "configuration.",
                exc,
            ) from None

    def _exceeds_with_task_heap(self, fh, foh, th, toh, mg, total_flink):
        return IllegalConfiguration(
            f"Sum of configured Framework Heap Memory ({hr(fh)}), Framework Off-Heap Memory ({hr(foh)}), "
            f"Task Heap Memory ({hr(th)}), Task Off-Heap Memory ({hr(toh)}) and Managed Memory ({hr(mg)}) "
            f"exceed configured Total Flink Memory ({hr(total_flink)})."
        )

    def from_fine_grained(self, conf):
        th = conf.memory(self.task_heap)
        mg = conf.memory(self.managed)
        fh = conf.memory(self.framework_heap)
        foh = conf.memory(self.framework_off_heap)
        toh = conf.memory(self.task_off_heap)
        without_network = _add(fh, foh, th, toh, mg)
        if conf.contains(self.total_flink):
            total_flink = conf.memory(self.total_flink)
            if without_network > total_flink:
                raise self._exceeds_with_task_heap(fh, foh, th, toh, mg, total_flink)
            net = _subtract(total_flink, without_network)
            self._network_remainder(conf, net, total_flink)
        elif self._uses_legacy_network(conf):
            net = self._legacy_network(conf)
        else:
            net = _with_inverse_fraction(without_network, self._network_range(conf))
        return self._parts(conf, fh, foh, th, toh, net, mg)

    def from_total_flink(self, conf, total_flink):
        fh = conf.memory(self.framework_heap)
        foh = conf.memory(self.framework_off_heap)
        toh = conf.memory(self.task_off_heap)
        if conf.contains(self.task_heap):
            th = conf.memory(self.task_heap)
            mg = self._managed(conf, total_flink)
            without_network = _add(fh, foh, th, toh, mg)
            if without_network > total_flink:
                raise self._exceeds_with_task_heap(fh, foh, th, toh, mg, total_flink)
            net = _subtract(total_flink, without_network)
            self._network_remainder(conf, net, total_flink)
        else:
            mg = self._managed(conf, total_flink)
            if self._uses_legacy_network(conf):
                net = self._legacy_network(conf)
            else:
                net = _with_fraction(total_flink, self._network_range(conf))
            without_task_heap = _add(fh, foh, toh, mg, net)
            if without_task_heap > total_flink:
                raise IllegalConfiguration(
                    f"Sum of configured Framework Heap Memory ({hr(fh)}), Framework Off-Heap Memory ({hr(foh)}), "
                    f"Task Off-Heap Memory ({hr(toh)}), Managed Memory ({hr(mg)}) and Network Memory ({hr(net)}) "
                    f"exceed configured Total Flink Memory ({hr(total_flink)})."
                )
            th = _subtract(total_flink, without_task_heap)
        return self._parts(conf, fh, foh, th, toh, net, mg)

    def _parts(self, conf, fh, foh, th, toh, net, mg):
        total = _add(fh, foh, th, toh, net, mg)
        if conf.contains(self.total_flink):
            configured = conf.memory(self.total_flink)
            if configured != total:  # cannot happen with Flink's own arithmetic; kept as Flink keeps it
                raise IllegalConfiguration(
                    f"Configured and Derived Flink internal memory sizes (total {hr(total)}) do not add up to the "
                    f"configured Total Flink Memory size ({hr(configured)})."
                )
        return {
            "framework_heap": fh,
            "task_heap": th,
            "framework_off_heap": foh,
            "task_off_heap": toh,
            "managed": mg,
            "network": net,
            "total_flink": total,
        }


# --- JobManager (JobManagerFlinkMemoryUtils) ---------------------------------------------------


class _JobManager(_Process):
    kind = "jobmanager"
    failed_prefix = "JobManager memory configuration failed: "
    __slots__ = ("heap", "off_heap")

    def __init__(self, line):
        super().__init__(line)
        self.heap = self.options["jobmanager.memory.heap.size"]
        self.off_heap = self.options["jobmanager.memory.off-heap.size"]
        self.fine_grained = (self.heap,)
        # 1.x start scripts wrap a JobManager's IllegalConfiguration once more in this prefix; 2.x does not.
        # compute adds it to the chain it builds, without the second exception (a raise and catch) per refusal.
        self.error_prefix = self.failed_prefix if self.legacy else None

    def from_fine_grained(self, conf):
        heap = conf.memory(self.heap)
        off_heap = conf.memory(self.off_heap)
        if conf.contains(self.total_flink):
            total_flink = conf.memory(self.total_flink)
            if conf.contains(self.off_heap):
                if _add(heap, off_heap) != total_flink:
                    raise IllegalConfiguration(
                        f"Sum of the configured JVM Heap Memory ({hr(heap)}) and the configured Off-heap Memory "
                        f"({hr(off_heap)}) does not match the configured Total Flink Memory ({hr(total_flink)}). "
                        "Please, make the configuration consistent or configure only one option: either JVM Heap "
                        "or Total Flink Memory."
                    )
            else:
                if total_flink < heap:
                    raise IllegalConfiguration(
                        f"The configured JVM Heap Memory ({hr(heap)}) exceeds the configured Total Flink Memory "
                        f"({hr(total_flink)}). Please, make the configuration consistent or configure only one "
                        "option: either JVM Heap or Total Flink Memory."
                    )
                off_heap = _subtract(total_flink, heap)
        return self._parts(heap, off_heap)

    def from_total_flink(self, conf, total_flink):
        off_heap = conf.memory(self.off_heap)
        if total_flink <= off_heap:
            raise IllegalConfiguration(
                f"The configured Total Flink Memory ({hr(total_flink)}) is less than the configured Off-heap "
                f"Memory ({hr(off_heap)})."
            )
        return self._parts(_subtract(total_flink, off_heap), off_heap)

    @staticmethod
    def _parts(heap, off_heap):
        return {"heap": heap, "off_heap": off_heap, "total_flink": _add(heap, off_heap)}


_PROCESSES = {"taskmanager": _TaskManager, "jobmanager": _JobManager}


@lru_cache(maxsize=32)
def _process(process: str, line: str) -> _Process:
    """One immutable option set per process kind and line, shared by every call."""
    return _PROCESSES[process](line)


# --- Start-script behaviour (BashJavaUtils) ----------------------------------------------------


def _legacy_heap(conf: _Config, proc: _Process, environment: Mapping):
    """1.x: the pre-FLIP-49 heap setting (env var, then key, then MiB key), in bytes or None."""
    env_value = environment.get(proc.legacy_env) if environment else None
    if env_value is not None:
        conf.legacy_source = proc.legacy_env
        try:
            return parse_bytes(env_value)
        except MemorySizeError as exc:
            raise IllegalConfiguration(
                f"Cannot read total process memory size from environment variable value {env_value}.",
                IllegalArgument(str(exc)),
            ) from None
    # conf.contains() of each key is a look at the file: each has one name (_Process checks) and Flink
    # never sets either itself.
    raw = conf.raw
    if proc.legacy_heap_key in raw:
        conf.legacy_source = proc.legacy_heap_key
        return conf.memory(conf.options[proc.legacy_heap_key])
    if proc.legacy_heap_mb_key in raw:
        conf.legacy_source = proc.legacy_heap_mb_key
        megabytes = conf.int(conf.options[proc.legacy_heap_mb_key])
        if megabytes < 0:
            raise IllegalConfiguration(
                f"Configured total process memory size ({megabytes}MB) must not be less than 0."
            )
        return megabytes << 20
    return None


def _map_legacy_heap(conf: _Config, proc: _Process, target: opts.Option, environment: Mapping):
    if conf.contains(target):
        return None
    legacy = _legacy_heap(conf, proc, environment)
    if legacy is not None:
        conf.overrides[target.key] = legacy
        # Kept on the config so that a refusal further on still says where this size came from.
        conf.legacy_heap = {"bytes": legacy, "key": conf.legacy_source, "maps_to": target.key}
    return legacy


def _taskmanager_spec(conf: _Config, proc: _TaskManager, environment: Mapping):
    legacy = None
    # 1.x: whether the start script has a legacy heap to map, its variable or a legacy key; most configs
    # have neither. Flink never sets a legacy key itself, so a look at the file answers contains() for each
    # name. Inlined in both specs: it runs for every config (the variable only looked for in a non-empty
    # environment, the default being none).
    raw = conf.raw
    if proc.legacy and (proc.legacy_heap_key in raw or proc.legacy_heap_mb_key in raw
                        or (environment and proc.legacy_env in environment)):
        try:
            legacy = _map_legacy_heap(conf, proc, proc.total_flink, environment)
        except IllegalConfiguration as exc:
            raise IllegalConfiguration(
                "TaskManager failed to map legacy JVM heap option to the new one: " + exc.message, exc
            ) from None
    try:
        path, flink, metaspace, overhead = _derive_process(conf, proc)
        cpu_option = proc.options["taskmanager.cpu.cores"]
        slots_option = proc.options["taskmanager.numberOfTaskSlots"]
        cpu = conf.double(cpu_option) if conf.contains(cpu_option) else float(conf.int(slots_option))
        if cpu <= 0:
            raise IllegalConfiguration(
                "TaskExecutors need to be started with a positive number of CPU cores. "
                "Please configure taskmanager.cpu.cores accordingly."
            )
        if math.isnan(cpu) or math.isinf(cpu):
            raise NumberFormat(
                f"Character {double_to_string(cpu)[0]} is neither a decimal digit number, decimal point, "
                "nor \"e\" notation exponential mark."
            )
        slots = conf.int(slots_option)
    except IllegalConfiguration as exc:
        raise IllegalConfiguration(proc.failed_prefix + exc.message, exc) from None
    sizes = dict(flink)
    sizes["jvm_metaspace"] = metaspace
    sizes["jvm_overhead"] = overhead
    sizes["total_process"] = _add(flink["total_flink"], metaspace, overhead)
    jvm = {
        "heap": flink["framework_heap"] + flink["task_heap"],
        "direct": flink["framework_off_heap"] + flink["task_off_heap"] + flink["network"],
        "metaspace": metaspace,
    }
    dynamic = {
        "taskmanager.cpu.cores": double_to_string(_cpu_resource(cpu)),
        "taskmanager.memory.framework.heap.size": f"{flink['framework_heap']}b",
        "taskmanager.memory.framework.off-heap.size": f"{flink['framework_off_heap']}b",
        "taskmanager.memory.task.heap.size": f"{flink['task_heap']}b",
        "taskmanager.memory.task.off-heap.size": f"{flink['task_off_heap']}b",
        "taskmanager.memory.network.min": f"{flink['network']}b",
        "taskmanager.memory.network.max": f"{flink['network']}b",
        "taskmanager.memory.managed.size": f"{flink['managed']}b",
        "taskmanager.memory.jvm-metaspace.size": f"{metaspace}b",
        "taskmanager.memory.jvm-overhead.min": f"{overhead}b",
        "taskmanager.memory.jvm-overhead.max": f"{overhead}b",
        "taskmanager.numberOfTaskSlots": str(slots),
        "external-resources": "none",
    }
    return path, legacy, sizes, jvm, dynamic, {"slots": slots, "cpu_cores": cpu}


def _cpu_resource(cpu: float) -> float:
    """``CPUResource`` keeps 8 decimal places, rounding down (0.123456789 -> 0.12345678)."""
    return float(Decimal(repr(cpu)).quantize(Decimal("1e-8"), rounding=ROUND_DOWN))


def _jobmanager_spec(conf: _Config, proc: _JobManager, environment: Mapping):
    legacy = None
    raw = conf.raw
    # 1.x start scripts map the legacy heap (and wrap an IllegalConfiguration from here on: compute adds
    # proc.error_prefix); 2.x dropped both.
    if proc.legacy and (proc.legacy_heap_key in raw or proc.legacy_heap_mb_key in raw
                        or (environment and proc.legacy_env in environment)):
        legacy = _map_legacy_heap(conf, proc, proc.heap, environment)
    path, flink, metaspace, overhead = _derive_process(conf, proc)
    # Nothing after this raises an IllegalConfiguration (conf.bool: IllegalArgument), so compute's prefix
    # covers exactly what the start scripts' wrap covers.
    direct_limit = conf.bool(proc.options["jobmanager.memory.enable-jvm-direct-memory-limit"])
    sizes = {
        "heap": flink["heap"],
        "off_heap": flink["off_heap"],
        "jvm_metaspace": metaspace,
        "jvm_overhead": overhead,
        "total_flink": flink["total_flink"],
        "total_process": _add(flink["total_flink"], metaspace, overhead),
    }
    jvm = {"heap": flink["heap"], "direct": flink["off_heap"] if direct_limit else None, "metaspace": metaspace}
    dynamic = {
        "jobmanager.memory.heap.size": f"{flink['heap']}b",
        "jobmanager.memory.off-heap.size": f"{flink['off_heap']}b",
        "jobmanager.memory.jvm-metaspace.size": f"{metaspace}b",
        "jobmanager.memory.jvm-overhead.min": f"{overhead}b",
        "jobmanager.memory.jvm-overhead.max": f"{overhead}b",
    }
    return path, legacy, sizes, jvm, dynamic, {}


# --- Public entry point ------------------------------------------------------------------------


def _error_text(chain: list) -> str:
    """One readable line: each cause only where it adds to the message before it."""
    parts = [chain[0]]
    for previous, message in zip(chain, chain[1:], strict=False):
        # Most wraps are a prefix before their cause's message: endswith() answers those without the
        # substring search, which scans the whole of a long message for a match at its end.
        if not previous.endswith(message) and message not in previous:
            parts.append(message)
    return " Caused by: ".join(parts)


def _invalid(line, process, chain, classes, keys=None):
    return {
        "valid": False,
        "error": _error_text(chain),
        "error_chain": chain,
        "error_classes": classes,
        "process": process,
        "flink_version": line,
        "sizes": None,
        "jvm": None,
        "dynamic_properties": None,
        "keys": keys or {},
    }


_STR = repeat(str)  # isinstance(key, str) for every key, without a Python-level loop


def check_call(process, flink_version) -> str:
    """Validate the caller's arguments (not the config); return the minor line."""
    if process not in PROCESS_KINDS:
        raise ValueError(f"unknown process {process!r}: expected one of {', '.join(PROCESS_KINDS)}")
    return opts.minor_line(flink_version)


def compute(config: Mapping, process: str, flink_version, environment: Mapping | None = None) -> dict:
    """What Flink's start scripts compute for ``process`` with ``config`` on ``flink_version``.

    Never raises for a config Flink would reject (``valid: false`` and Flink's
    error instead); raises ValueError for a bad call (unknown process or
    version).  ``environment`` holds start-script variables such as
    FLINK_TM_HEAP (1.x only); by default none are set.
    """
    line = check_call(process, flink_version)
    if not isinstance(config, Mapping):
        return _invalid(line, process, [f"config must be a mapping of Flink keys to values, "
                                        f"got {type(config).__name__}"], ["TypeError"])
    bad_keys = () if all(map(isinstance, config, _STR)) else [k for k in config if not isinstance(k, str)]
    if bad_keys:
        return _invalid(line, process, [f"config keys must be strings; got {bad_keys[0]!r} "
                                        f"({type(bad_keys[0]).__name__})"], ["TypeError"])
    proc = _process(process, line)
    conf = _Config(config, line, proc.options, proc.float_defaults)  # the catalog of (process, line), from _Process
    builder = _taskmanager_spec if process == "taskmanager" else _jobmanager_spec
    try:
        path, legacy, sizes, jvm, dynamic, extra = builder(conf, proc, environment or {})
    except JavaError as exc:
        chain, classes, err = [], [], exc  # exc.chain() and the classes, in one walk, on args directly
        if proc.error_prefix is not None and isinstance(exc, IllegalConfiguration):
            # The wrap 1.x's JobManager start adds: IllegalConfiguration(prefix + message, exc).
            chain.append(proc.error_prefix + exc.args[0])
            classes.append(IllegalConfiguration.java_class)
        while err is not None:
            args = err.args
            chain.append(args[0])
            classes.append(err.java_class)
            err = args[1] if len(args) > 1 else None
        return _invalid(line, process, chain, classes, _keys(conf, proc, None, None, conf.legacy_heap))
    result = {
        "valid": True,
        "error": None,
        "error_chain": None,
        "error_classes": None,
        "process": process,
        "flink_version": line,
        "sizes": sizes,
        "jvm": jvm,
        "dynamic_properties": dynamic,
        "keys": _keys(conf, proc, path, legacy, conf.legacy_heap),
    }
    result.update(extra)
    return result


def _keys(conf: _Config, proc: _Process, path, legacy, legacy_heap=None) -> dict:
    """Which keys decided the result: explicit, defaulted, deprecated fallbacks, ignored."""
    explicit, defaulted, fallback = [], [], {}
    for key, source in conf.read.items():
        if source is None:
            defaulted.append(key)
        else:
            explicit.append(key)
            if source != key:
                fallback[source] = key
    honoured = proc.honoured
    # The process's catalog keys (and blog-only ones) this line stores and ignores, found in the file.
    ignored = sorted(proc.ignorable.intersection(conf.raw))
    unused = sorted(k for k in conf.raw if k in honoured and k not in conf.read and k not in fallback)
    return {
        "sizing_path": path,
        # bytes, the legacy key (or start-script variable) it came from, the key Flink maps it to
        "legacy_heap": legacy_heap if legacy_heap is not None else ({"bytes": legacy} if legacy is not None else None),
        "explicit": sorted(explicit),
        "defaulted": sorted(defaulted),
        "fallback": fallback,
        "ignored": ignored,
        "unused": unused,
    }
