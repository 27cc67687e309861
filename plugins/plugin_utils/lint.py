# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``config_lint``: what is wrong with one Flink config for one Flink version, and how to fix it.

Every finding is ``{severity, code, key, line, message, fix}``: ``severity`` is
``error`` (Flink refuses to start, or a job or the host will fail),
``warning`` (Flink silently does something other than what the file says) or
``info``; ``line`` is the file line of ``key`` when the gather reported it.
Memory verdicts come from ``memory_model.compute`` (byte-exact with Flink),
key verdicts from the catalog extracted from Flink's jars.  Values of
sensitive keys never appear in a message or a fix.

Controller side; never imports Ansible.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.config_files import FLINK_CONF_ONLY_LINES
from ansible_collections.flinkops.flink.plugins.module_utils.flink_names import PROCESS_NAMES
from ansible_collections.flinkops.flink.plugins.module_utils.java_types import (
    JavaNumberFormatError,
    flink_text,
    parse_int,
)
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import PROCESS_KINDS, compute
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import (
    MemorySizeError,
    parse_bytes,
    to_config_string,
    to_human_readable,
    to_string,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils import catalog
from ansible_collections.flinkops.flink.plugins.plugin_utils.host_record import Limits, model_of

SEVERITIES = ("error", "warning", "info")
DEFAULT_MIN_MANAGED_PER_SLOT = "128m"
SHIPPED_PROCESS_SIZE = {"taskmanager": "1728m", "jobmanager": "1600m"}  # conf/ of every release
BOM = "\ufeff"
CONSUMER_WEIGHTS = "taskmanager.memory.managed.consumer-weights"
MIB = 1 << 20

# Flink's legacy-parser skip reasons (flink_conf.py) and what to do about each.
_SKIP_FIXES = {
    "Line is not a key-value pair (missing space after ':'?)":
        "Write the line as 'key: value' with a space after the colon; flink-conf.yaml has no nesting, "
        "so write every key flat (taskmanager.memory.process.size: 1728m).",
    "Key or value was empty":
        "Give the key a value or delete the line. flink-conf.yaml cuts every line at its first '#', "
        "so a value that starts with '#' is empty.",
}


class LintCallError(ValueError):
    """The call itself is wrong (not the config): the filter turns it into AnsibleFilterError."""


# --- small helpers -----------------------------------------------------------------------------


def as_flink_text(value) -> str:
    """Flink's text for a value (java_types.flink_text); anything else as Python prints it, for a message."""
    try:
        return flink_text(value)
    except TypeError:
        return str(value)


@lru_cache(maxsize=4096)
def size_text(n: int) -> str:
    """A size in Flink's words: ``1728 mb`` when a unit divides it, else ``512.000mb (536870920 bytes)``."""
    text = to_string(n)
    return text if not text.endswith(" bytes") or n < 1024 else to_human_readable(n)


def _quote_keys(keys) -> str:
    keys = [f"'{k}'" for k in keys]
    if len(keys) <= 1:
        return "".join(keys)
    return ", ".join(keys[:-1]) + " and " + keys[-1]


class _Lint:
    def __init__(self, config: Mapping, line: str, facts: Mapping, processes, min_per_slot: int | None):
        self.config = config
        self.line = line
        self.facts = facts
        self.processes = processes
        self.min_per_slot = min_per_slot
        self.lines = facts.get("config_lines") or {}
        fmt = facts.get("config_format")
        self.file = facts.get("config_file") or (
            "flink-conf.yaml" if fmt == "legacy" or (fmt is None and line in FLINK_CONF_ONLY_LINES) else
            "config.yaml" if fmt == "yaml" or (fmt is None and not opts.is_legacy_line(line)) else
            "the config file")
        self.findings = []
        self._seen = set()
        self.models = {}
        self.reported_keys = set()  # keys a specific check already explained

    # Values of sensitive keys are never shown, whatever the caller passed.
    def show(self, key: str) -> str:
        if opts.is_sensitive_anywhere(key):
            return opts.REDACTED
        return as_flink_text(self.config.get(key))

    def add(self, severity, code, key, message, fix, line=None):
        ident = (code, key, line, message)
        if ident in self._seen:
            return
        self._seen.add(ident)
        if line is None and key is not None:
            line = self.lines.get(key)
        self.findings.append({
            "severity": severity, "code": code, "key": key,
            "line": line if isinstance(line, int) and not isinstance(line, bool) else None,
            "message": message, "fix": fix,
        })

    def model(self, process: str) -> dict:
        if process not in self.models:
            # The gather's own model counts only when it was computed for this very config.
            memory = self.facts.get("memory") if self.facts.get("config") == self.config else None
            gathered = memory.get(process) if isinstance(memory, Mapping) else None
            self.models[process] = model_of(self.config, gathered, process, self.line)
        return self.models[process]


# --- keys: unknown, blog-only, deprecated, removed ---------------------------------------------


# Pre-FLIP-49 memory keys the 1.x start scripts honour and 2.0 dropped (taskmanager.heap.size, ...).
_LEGACY_MEMORY = frozenset(k for p in opts.PROCESSES.values() for k, o in p.items() if o.lines != opts.SUPPORTED_LINES)


# Per Flink line, keys seen to need no finding of their own (a plain, current option, a pattern key,
# a fallback): most keys of a fleet's files, and the same on every host, so they are decided once.
_QUIET_KEYS: dict = {}
_QUIET_MAX = 1 << 16


def _check_keys(lint: _Lint):
    line = lint.line
    all_lines = catalog.lines()
    legacy_memory = _LEGACY_MEMORY
    quiet = _QUIET_KEYS.setdefault(line, set())
    for key in lint.config:
        if key in quiet:
            continue
        if key.startswith(BOM):
            real = key[len(BOM):]
            bom_file = lint.file if lint.file != "the config file" else "flink-conf.yaml"
            lint.add(
                "warning", "bom-in-key", key,
                f"The file starts with a UTF-8 byte order mark (BOM) and Flink {line}'s legacy parser keeps it "
                f"as part of the first key: Flink reads '\\ufeff{real}', a key it does not know, and ignores "
                f"'{real}' silently.",
                f"Save {bom_file} as UTF-8 without a BOM (for example: sed -i '1s/^\\xEF\\xBB\\xBF//' "
                f"{bom_file}).",
            )
            continue
        if key in opts.IMAGINARY_KEYS and not catalog.is_known(key, line):
            lint.add(
                "warning", "blog-only-key", key,
                f"'{key}' does not exist in any Flink release (it comes from blog posts); Flink {line} stores "
                f"it and ignores it without a warning.",
                f"Remove '{key}'. {opts.IMAGINARY_KEYS[key]}",
            )
            continue
        known = catalog.how_known(key, line)
        if known is None:
            _unknown_key(lint, key, all_lines, legacy_memory)
        elif known[0] == "deprecated":
            _deprecated_key(lint, key, known[1])
        elif known[0] != "option" or not catalog.is_deprecated_option(key, line):
            if len(quiet) < _QUIET_MAX:
                quiet.add(key)
        elif key not in lint.reported_keys:
            later = [ln for ln in all_lines[all_lines.index(line) + 1:] if not catalog.is_known(key, ln)]
            gone = f"; Flink {later[0]} no longer reads it" if later else ""
            successor = catalog.replacement(key, all_lines[-1]) if later else None
            lint.add(
                "info", "deprecated-option", key,
                f"'{key}' is deprecated in Flink {line}{gone}.",
                (f"Replace it with '{successor}'." if successor else
                 f"Plan to remove '{key}': Flink names no successor for it."),
            )


def _unknown_key(lint: _Lint, key: str, all_lines, legacy_memory):
    line = lint.line
    knowing = catalog.lines_knowing(key)
    here = all_lines.index(line)
    earlier = [ln for ln in knowing if all_lines.index(ln) < here]
    later = [ln for ln in knowing if all_lines.index(ln) > here]
    if earlier:
        successor = catalog.replacement(key, line)
        message = (f"Flink {line} no longer reads '{key}' (Flink {earlier[-1]} was the last to read it) and "
                   f"ignores it silently.")
        if key in legacy_memory:
            message += _memory_context(lint, key)
        process = key.split(".")[0]
        if key.endswith((".heap.size", ".heap.mb")) and key in catalog.MANUAL_REPLACEMENTS:
            value = lint.show(key) + ("m" if key.endswith(".mb") else "")
            fix = (f"Remove '{key}'. Flink 1.x used it as {successor}; to keep that, set {successor}: {value} - "
                   f"or better, size the {PROCESS_NAMES.get(process, process)} with {process}.memory.process.size "
                   f"alone.")
        elif key == "taskmanager.network.numberOfBuffers":
            fix = (f"Remove '{key}' and size Network Memory with {successor} (number of buffers x "
                   f"taskmanager.memory.segment-size, 32 kb by default).")
        elif successor:
            fix = f"Remove '{key}' and set '{successor}' instead (check that the value still fits its type)."
        else:
            fix = f"Remove '{key}': Flink {line} has no replacement for it."
        lint.add("warning", "removed-key", key, message, fix)
        lint.reported_keys.add(key)
        return
    if later:
        lint.add(
            "warning", "unknown-key", key,
            f"'{key}' exists only from Flink {later[0]} on; Flink {line} ignores it silently.",
            f"Remove '{key}', or upgrade to Flink {later[0]} or later.",
        )
        return
    suggestions = catalog.did_you_mean(key, line)
    message = (f"Flink {line} has no option '{key}' and ignores it silently (Flink does not warn about "
               f"unknown keys).")
    if suggestions:
        others = f" (or {_quote_keys(suggestions[1:])})" if len(suggestions) > 1 else ""
        fix = f"Did you mean '{suggestions[0]}'{others}? Rename the key."
    else:
        fix = f"Remove '{key}' or correct its name; no key of Flink {line} is close to it."
    lint.add("warning", "unknown-key", key, message, fix)


def _memory_context(lint: _Lint, key: str) -> str:
    process = key.split(".")[0]
    if process not in PROCESS_KINDS:
        return ""
    result = lint.model(process)
    if not result["valid"]:
        return f" Without it the {PROCESS_NAMES[process]} is not sized at all (see the error finding)."
    sizes = result["sizes"]
    return (f" The {PROCESS_NAMES[process]} is sized by {result['keys']['sizing_path']} instead: Total Flink Memory "
            f"{size_text(sizes['total_flink'])}, Total Process Memory {size_text(sizes['total_process'])}.")


@lru_cache(maxsize=4096)
def _deprecation(key: str, new: str, line: str) -> tuple:
    """(" Flink X no longer reads it." or "", the names Flink reads for ``new`` in its order)."""
    all_lines = catalog.lines()
    later = [ln for ln in all_lines[all_lines.index(line) + 1:] if not catalog.is_known(key, ln)]
    gone = f" Flink {later[0]} no longer reads it." if later else ""
    option = catalog.option(new, line) or {}
    # Flink reads the key, then its fallback names in their declared order; the first one set wins.
    return gone, (new, *option.get("deprecated_keys", ()), *option.get("fallback_keys", ()))


def _deprecated_key(lint: _Lint, key: str, new: str):
    line = lint.line
    gone, order = _deprecation(key, new, line)
    winner = next((k for k in order if k in lint.config), key)
    if winner != key:
        message = (f"'{key}' is a deprecated name of '{new}'; '{winner}' is also set and comes first, so Flink "
                   f"{line} uses it ({lint.show(winner)}) and ignores '{key}' ({lint.show(key)}).{gone}")
        fix = f"Remove '{key}'."
        if winner != new:
            fix = f"Remove '{key}', and rename '{winner}' to '{new}'."
    else:
        message = (f"'{key}' is deprecated in Flink {line}; Flink still reads it as '{new}' and logs "
                   f"\"Config uses deprecated configuration key '{key}' instead of proper key '{new}'\".{gone}")
        fix = f"Rename '{key}' to '{new}' (same value)."
    lint.add("warning", "deprecated-key", key, message, fix)


# --- files: which file Flink reads, skipped lines, BOM and '#' ---------------------------------


def _process_unknown(lint: _Lint):
    lint.add("warning", "process-unknown", None,
             "Which Flink process this host runs is unknown: the host is in neither inventory group "
             "flink_jobmanager nor flink_taskmanager (the gather takes the processes from them), so its memory "
             "was not checked and it is in no drift group.",
             "Put the host in flink_jobmanager or flink_taskmanager, or leave it out of the audited hosts "
             "(audit_hosts) if it runs no Flink process.")


def _check_version(lint: _Lint):
    """The version the config is read as (an inventory flink_version wins) against the jar in lib/."""
    detected = lint.facts.get("flink_version_detected")
    if not isinstance(detected, str) or not detected:
        return
    try:
        jar_line = opts.minor_line(detected)
    except ValueError:
        jar_line = None
    if jar_line == lint.line:
        return
    given = lint.facts.get("flink_version") or lint.line
    lint.add("warning", "flink-version-mismatch", None,
             f"The config is checked as Flink {lint.line} reads it (flink_version {given}), but the host's lib/ "
             f"holds Flink {detected}: the keys, defaults and memory Flink {detected} uses may differ from every "
             f"answer here.",
             f"Remove the host variable flink_version (the version is then read from the jar) or set it to "
             f"{detected}.")


def _check_files(lint: _Lint):
    facts, line = lint.facts, lint.line
    for item in facts.get("ignored_files") or ():
        if not isinstance(item, Mapping):
            continue
        name, reason = item.get("name"), item.get("reason") or ""
        if name == "flink-conf.yaml":
            fix = ("Move every setting into config.yaml (bin/migrate-config-file.sh of Flink 1.19 or 1.20 "
                   "converts the file), then delete flink-conf.yaml so nobody edits the file Flink ignores.")
        elif line in FLINK_CONF_ONLY_LINES:
            fix = f"Delete {name}: Flink {line} reads only flink-conf.yaml (config.yaml is read from 1.19 on)."
        else:
            fix = (f"Keep one file: delete {name}, or convert flink-conf.yaml with bin/migrate-config-file.sh, "
                   f"review the new config.yaml and delete flink-conf.yaml.")
        lint.add("warning", "ignored-file", None,
                 f"Flink {line} does not read {name}: {reason.rstrip('.')}.", fix)
    for item in facts.get("skipped_lines") or ():
        if not isinstance(item, Mapping):
            continue
        number, reason = item.get("line"), item.get("reason") or "skipped"
        lint.add("warning", "skipped-line", None,
                 f"Flink {line} skips line {number} of {lint.file} with a WARN in its log: {reason}.",
                 _SKIP_FIXES.get(reason, "Rewrite the line as 'key: value'."), line=number)
    for item in facts.get("overridden") or ():
        if not isinstance(item, Mapping):
            continue
        key, number, by = item.get("key"), item.get("line"), item.get("by_line")
        if not isinstance(key, str) or not isinstance(number, int) or not isinstance(by, int):
            continue
        lint.add("info", "overridden-key", key,
                 f"'{key}' is set on line {number} of {lint.file} and again on line {by}: Flink {line} uses "
                 f"line {by} and ignores line {number}.",
                 f"Delete line {number} so that the file says once what Flink uses.", line=number)
    for item in facts.get("hash_cut_keys") or ():
        key, number = (item.get("key"), item.get("line")) if isinstance(item, Mapping) else (item, None)
        if not isinstance(key, str):
            continue
        secret = (" A password or secret containing '#' is silently shortened, so authentication fails."
                  if opts.is_sensitive_anywhere(key) else "")
        lint.add(
            "warning", "hash-cut-value", key,
            f"flink-conf.yaml is cut at the first '#' of every line, even inside a value: Flink {line} reads "
            f"'{key}' only up to where the '#' was.{secret}",
            "Remove the '#' from the value (flink-conf.yaml has no quoting or escaping for it), or move to "
            "config.yaml (Flink 1.19+), where '#' starts a comment only after whitespace. Note that "
            "bin/migrate-config-file.sh copies the already shortened value.",
            line=number if isinstance(number, int) else None,
        )


# --- memory: rejected configs, sizing paths, host limits, managed per slot ---------------------


# Flink's rejection messages (flink-memory.md section 3): the keys to blame, in order of preference
# (the first one set is reported), and the fix.
_ERROR_FIXES = (
    ("Either required fine-grained memory", (),
     "Size the {Name} with one key: set {p}.memory.process.size (Flink ships {shipped}), or "
     "{p}.memory.flink.size{fine}."),
    ("Sum of configured JVM Metaspace", ("{p}.memory.process.size",),
     "Raise {p}.memory.process.size above JVM Metaspace + JVM Overhead, or lower "
     "{p}.memory.jvm-metaspace.size or {p}.memory.jvm-overhead.min/.max."),
    ("Sum of configured Framework Heap Memory", ("{p}.memory.flink.size", "{p}.memory.process.size"),
     "Give Total Flink Memory room for the listed parts: raise {p}.memory.process.size (or .flink.size), or "
     "lower the explicit parts (managed size/fraction, network min/fraction, off-heap, task heap)."),
    ("If Total Flink, Task Heap and (or) Managed Memory sizes are explicitly configured", ("{p}.memory.flink.size",),
     "Remove taskmanager.memory.flink.size so Flink derives Network Memory from its fraction, or remove "
     "taskmanager.memory.task.heap.size, or widen taskmanager.memory.network.min/.max to include the "
     "derived size."),
    ("The configured Total Process Memory size", ("{p}.memory.process.size",),
     "Set only one of {p}.memory.process.size and {p}.memory.flink.size (process.size alone is simplest), "
     "or raise process.size above Total Flink Memory + JVM Metaspace + JVM Overhead min."),
    ("Derived JVM Overhead size", ("{p}.memory.process.size",),
     "Set only one of {p}.memory.process.size and {p}.memory.flink.size (or the fine-grained sizes): "
     "then Flink derives JVM Overhead from its fraction instead of taking the rest."),
    ("Inconsistently configured", (),
     "Set the fraction named in the error within [0, 1) and its min at or below its max."),
    ("TaskExecutors need to be started with a positive number of CPU cores",
     ("taskmanager.cpu.cores", "taskmanager.numberOfTaskSlots"),
     "Set taskmanager.numberOfTaskSlots to 1 or more (or taskmanager.cpu.cores above 0)."),
    ("The configured JVM Heap Memory", ("jobmanager.memory.heap.size",),
     "Set only one of jobmanager.memory.heap.size and jobmanager.memory.flink.size (or size the JobManager "
     "with jobmanager.memory.process.size alone)."),
    ("Sum of the configured JVM Heap Memory", ("jobmanager.memory.heap.size",),
     "Make jobmanager.memory.heap.size + jobmanager.memory.off-heap.size equal jobmanager.memory.flink.size, "
     "or set only one of heap.size and flink.size."),
    ("The configured Total Flink Memory", ("jobmanager.memory.flink.size",),
     "Raise jobmanager.memory.flink.size above jobmanager.memory.off-heap.size, or lower off-heap.size."),
)

_PARSE_KEY = re.compile(r"(?:Could not parse value '.*' for key|Cannot read memory size from config option) "
                        r"'([^']+)'", re.S)
_KEY_IN_TEXT = re.compile(r"\b((?:taskmanager|jobmanager)\.[A-Za-z0-9.\-]+[A-Za-z0-9])")


def _rejected_by_legacy_heap(lint: _Lint, process: str, result: dict) -> bool:
    """A refusal caused by a legacy heap key the 1.x start scripts mapped to a new key the user never
    wrote (taskmanager.heap.size -> taskmanager.memory.flink.size): blame the legacy key, not the keys
    it conflicts with. True when it was (Flink accepts the config without the legacy key)."""
    legacy = (result.get("keys") or {}).get("legacy_heap") or {}
    key, target = legacy.get("key"), legacy.get("maps_to")
    if key not in lint.config or target in lint.config:
        return False
    if not compute({k: v for k, v in lint.config.items() if k != key}, process, lint.line)["valid"]:
        return False
    p = process
    what = "Total Flink Memory" if p == "taskmanager" else "JVM Heap"
    others = [k for k in (f"{p}.memory.process.size", f"{p}.memory.task.heap.size", f"{p}.memory.managed.size",
                          f"{p}.memory.jvm-overhead.min", f"{p}.memory.jvm-overhead.max",
                          f"{p}.memory.jvm-metaspace.size") if k in lint.config]
    conflict = (" and conflicts with " + ", ".join(f"{k} {lint.show(k)}" for k in others)) if others else ""
    value = lint.show(key) + (" (MiB)" if key.endswith(".mb") else "")
    lint.add("error", "rejected-config", key,
             f"Flink {lint.line} refuses to start the {PROCESS_NAMES[p]} with this config: your legacy {key} "
             f"{value} becomes {what} ({target} = {to_config_string(legacy['bytes'])}){conflict}. Flink's error: "
             f"{result['error']}",
             f"Remove '{key}' (legacy: Flink 2.0 ignores it) and size the {PROCESS_NAMES[p]} with "
             f"{p}.memory.process.size alone.")
    lint.reported_keys.add(key)
    return True


def _rejected(lint: _Lint, process: str, result: dict):
    if _rejected_by_legacy_heap(lint, process, result):
        return
    name, p = PROCESS_NAMES[process], process
    chain = result.get("error_chain") or [result["error"]]
    text = result["error"]
    parsed = _PARSE_KEY.search(text)
    key = parsed.group(1) if parsed else None
    if key is None:
        mentioned = [k for k in _KEY_IN_TEXT.findall(text) if k in lint.config]
        key = mentioned[0] if mentioned else None
    if parsed:
        option = opts.PROCESSES[process].get(key)
        if option is not None and option.kind == "memory":
            fix = (f"Write '{key}' as whole digits and a unit Flink accepts (b, k/kb, m/mb, g/gb, t/tb; powers "
                   f"of 1024), for example 1536m; '1.5g', '2GiB' and quoted values are rejected.")
        else:
            fix = f"Write '{key}' as a plain number Flink can parse (for example 0.4 for a fraction, 4 for slots)."
        if opts.is_sensitive_anywhere(key):
            text = text.replace(as_flink_text(lint.config.get(key)), opts.REDACTED)
    else:
        inner = chain[-1] if len(chain) > 1 and chain[0].endswith(chain[-1]) else chain[0]
        inner = inner.split("failed: ", 1)[-1] if "memory configuration failed: " in inner else inner
        fix = "Correct the keys named in the error."
        for prefix, blame, template in _ERROR_FIXES:
            if inner.startswith(prefix) or prefix in text:
                fix = template.format(
                    Name=name, p=p, shipped=SHIPPED_PROCESS_SIZE[p],
                    fine=(", or both taskmanager.memory.task.heap.size and taskmanager.memory.managed.size"
                          if p == "taskmanager" else ", or jobmanager.memory.heap.size"))
                blamed = [_set(lint, k.format(p=p)) for k in blame]
                key = next((k for k in blamed if k), key)
                break
        if key in (f"{p}.memory.process.size", f"{p}.memory.flink.size"):
            smallest = _smallest_valid(lint, process, key)
            if smallest:
                fix += f" With the other keys unchanged, Flink accepts {key}: {smallest} or more."
        if "Either required fine-grained memory" in text:
            ignored = [k for k in (f"{p}.heap.size", f"{p}.heap.mb") if k in lint.config]
            if ignored and not opts.is_legacy_line(lint.line):
                fix += f" Flink {lint.line} ignores {_quote_keys(ignored)} (removed in Flink 2.0)."
    lint.add("error", "rejected-config", key,
             f"Flink {lint.line} refuses to start the {name} with this config: {text}", fix)


def _frozen_without(config: Mapping, drop) -> tuple | None:
    try:
        return tuple(sorted((k, as_flink_text(v)) for k, v in config.items() if k not in drop))
    except TypeError:
        return None


_SEARCHES: dict = {}  # searches depend only on the other keys: hosts that differ in size share them


def _cached_search(name, frozen, compute_it):
    if frozen is None:
        return compute_it()
    ident = (name, frozen)
    if ident not in _SEARCHES:
        if len(_SEARCHES) >= 4096:
            _SEARCHES.pop(next(iter(_SEARCHES)))
        _SEARCHES[ident] = compute_it()
    return _SEARCHES[ident]


def _smallest_valid(lint: _Lint, process: str, key: str) -> str | None:
    """The smallest whole-MiB value of ``key`` Flink accepts with every other key unchanged, or None.

    Returned only when the memory model accepts it and rejects 1 MiB less, so the claim is exact.
    """
    frozen = _frozen_without(lint.config, (key,))
    return _cached_search(("smallest", lint.line, process, key), frozen,
                          lambda: _search_smallest_valid(lint, process, key))


def _search_smallest_valid(lint: _Lint, process: str, key: str) -> str | None:
    def valid(mib):
        return compute(dict(lint.config, **{key: f"{mib}m"}), process, lint.line)["valid"]

    low = _smallest_mib(valid)
    if low is None or (low > 1 and valid(low - 1)):
        return None
    return to_config_string(low * MIB)


def _smallest_mib(ok) -> int | None:
    """The smallest whole MiB in 1 MiB .. 1 TiB for which ``ok`` holds (it grows with the size: ~20 model
    runs), or None when even 1 TiB is not enough."""
    low, high = 1, 1 << 20
    if not ok(high):
        return None
    while low < high:
        mid = (low + high) // 2
        if ok(mid):
            high = mid
        else:
            low = mid + 1
    return low


def _path_keys(process: str) -> dict:
    if process == "taskmanager":
        return {"fine-grained": ("taskmanager.memory.task.heap.size", "taskmanager.memory.managed.size"),
                "total-flink": ("taskmanager.memory.flink.size",),
                "total-process": ("taskmanager.memory.process.size",)}
    return {"fine-grained": ("jobmanager.memory.heap.size",),
            "total-flink": ("jobmanager.memory.flink.size",),
            "total-process": ("jobmanager.memory.process.size",)}


def _names_of(option_key: str) -> tuple:
    option = opts.PROCESSES[option_key.split(".")[0]].get(option_key)
    return tuple(option.names()) if option else (option_key,)


def _set(lint: _Lint, option_key: str) -> str | None:
    """The key (or its deprecated alias) that supplies an option in this config."""
    for name in _names_of(option_key):
        if name in lint.config:
            return name
    return None


# Every name (the key and its fallbacks) that can supply each sizing path's keys, per process.
_PATH_NAMES = {p: [[_names_of(k) for k in keys] for keys in _path_keys(p).values()] for p in PROCESS_KINDS}


def _sizing_paths(lint: _Lint, process: str, result: dict):
    config = lint.config
    if sum(all(any(n in config for n in names) for names in path) for path in _PATH_NAMES[process]) < 2:
        return  # one sizing path or none: the usual case, decided without building anything
    paths = {path: [_set(lint, k) for k in keys] for path, keys in _path_keys(process).items()}
    active = [path for path, found in paths.items() if all(found)]
    if len(active) < 2:
        return
    name, sizes = PROCESS_NAMES[process], result["sizes"]
    used = result["keys"]["sizing_path"]
    described = []
    for path in active:
        keys = paths[path]
        described.append(" + ".join(f"{k} ({lint.show(k)})" for k in keys))
    tp_key = paths["total-process"][0]
    tf_key = paths["total-flink"][0]
    detail = []
    if used == "fine-grained" and process == "jobmanager":
        detail.append(f"Flink {lint.line} takes JVM Heap from {paths['fine-grained'][0]} and adds Off-Heap Memory: "
                      f"Total Flink Memory {size_text(sizes['total_flink'])}")
    elif used == "fine-grained":
        detail.append(f"Flink {lint.line} uses the fine-grained sizes and adds the rest up to Total Flink Memory "
                      f"{size_text(sizes['total_flink'])}")
        if tf_key and process == "taskmanager":
            detail.append(f"because {tf_key} is also set, Network Memory is not derived from its fraction but is "
                          f"the rest of {tf_key}: {size_text(sizes['network'])}")
        elif tf_key:
            detail.append(f"because {tf_key} is also set, Off-Heap Memory is the rest of it: "
                          f"{size_text(sizes['off_heap'])}")
    else:
        detail.append(f"Flink {lint.line} sizes Total Flink Memory from {tf_key}: {size_text(sizes['total_flink'])}")
    if tp_key:
        detail.append(f"{tp_key} ({lint.show(tp_key)}) is not split by fractions: Flink takes JVM Overhead as the "
                      f"rest, {size_text(sizes['total_process'])} - {size_text(sizes['total_flink'])} - JVM "
                      f"Metaspace {size_text(sizes['jvm_metaspace'])} = {size_text(sizes['jvm_overhead'])}, instead "
                      f"of deriving it from {process}.memory.jvm-overhead.fraction (the rest must lie within "
                      f"{process}.memory.jvm-overhead.min/.max or Flink refuses to start)")
    message = (f"More than one way to size the {name} is set: {'; '.join(described)}. "
               + "; ".join(detail) + ".")
    fix = _single_path_fix(lint, process, paths, active)
    lint.add("warning", "sizing-paths", tp_key or tf_key, message, fix)


def _single_path_fix(lint: _Lint, process: str, paths: dict, active: list) -> str:
    """Alternatives that keep exactly one sizing path, each checked with the memory model."""
    name = PROCESS_NAMES[process]
    alternatives = []
    for keep in ("total-process", "total-flink", "fine-grained"):
        if keep not in active:
            continue
        drop = sorted({k for path in active if path != keep for k in paths[path] if k not in paths[keep]})
        trial = {k: v for k, v in lint.config.items() if k not in drop}
        result = compute(trial, process, lint.line)
        if not result["valid"]:
            continue
        sizes = result["sizes"]
        alternatives.append(
            f"keep {_quote_keys(paths[keep])} and remove {_quote_keys(drop)} (Flink then computes Total Process "
            f"Memory {size_text(sizes['total_process'])}, Total Flink Memory {size_text(sizes['total_flink'])})")
    if not alternatives:
        return f"Set only one way to size the {name}: {process}.memory.process.size alone is simplest."
    return "Set one sizing path only: " + "; or ".join(alternatives) + "."


def _legacy_heap(lint: _Lint, process: str, result: dict):
    legacy = result["keys"].get("legacy_heap")
    if not legacy:
        return
    source = next((k for k in (f"{process}.heap.size", f"{process}.heap.mb") if k in lint.config), None)
    if source is None:
        return  # from FLINK_TM_HEAP / FLINK_JM_HEAP, which the lint cannot see
    sizes = result["sizes"]
    target = "taskmanager.memory.flink.size" if process == "taskmanager" else "jobmanager.memory.heap.size"
    what = "Total Flink Memory" if process == "taskmanager" else "JVM Heap"
    message = (f"Flink {lint.line}'s start scripts map the legacy '{source}' ({lint.show(source)}) to {target} = "
               f"{size_text(legacy['bytes'])}, so {what} is {size_text(legacy['bytes'])}")
    tp_key = _set(lint, f"{process}.memory.process.size")
    if tp_key:
        message += (f"; {tp_key} ({lint.show(tp_key)}) then only sets JVM Overhead to "
                    f"{size_text(sizes['jvm_overhead'])}")
    message += ". Flink 2.0 and later ignore the legacy key."
    fix = (f"Remove '{source}' and size the {PROCESS_NAMES[process]} with {process}.memory.process.size alone; "
           f"to keep today's {what}, set {target}: {to_config_string(legacy['bytes'])} instead.")
    lint.add("warning", "legacy-heap", source, message, fix)
    lint.reported_keys.add(source)


_UNUSED_WHY = {
    "taskmanager.memory.managed.fraction": "taskmanager.memory.managed.size is set and wins",
    "taskmanager.heap.size": "taskmanager.memory.flink.size is set, so the start scripts skip the legacy key",
    "taskmanager.heap.mb": "taskmanager.memory.flink.size is set, so the start scripts skip the legacy key",
    "jobmanager.heap.size": "jobmanager.memory.heap.size is set, so the start scripts skip the legacy key",
    "jobmanager.heap.mb": "jobmanager.memory.heap.size is set, so the start scripts skip the legacy key",
    "taskmanager.network.numberOfBuffers": "a taskmanager.memory.network.* key is set and wins",
}


# Options the memory model lists but Flink reads at run time, not when sizing the process.
_RUNTIME_KEYS = {CONSUMER_WEIGHTS, "taskmanager.memory.segment-size"}


def _unused(lint: _Lint, process: str, result: dict):
    for key in result["keys"].get("unused") or ():
        if key in lint.reported_keys or key in _RUNTIME_KEYS:
            continue
        known = catalog.how_known(key, lint.line)
        if known and known[0] == "deprecated" and known[1] in lint.config:  # the deprecated-key finding says it
            continue
        why = _UNUSED_WHY.get(key, f"the {result['keys']['sizing_path']} sizing path Flink takes does not read it")
        lint.add("info", "unused-key", key,
                 f"'{key}' ({lint.show(key)}) has no effect on the {PROCESS_NAMES[process]} in Flink {lint.line}: "
                 f"{why}.",
                 f"Remove '{key}' so the file says what Flink does.")
        lint.reported_keys.add(key)


def _check_ignored(lint: _Lint):
    """Keys memory_model says this line ignores that no key check explained (a safety net)."""
    for result in lint.models.values():
        for key in (result.get("keys") or {}).get("ignored") or ():
            if key in lint.config and not any(f["key"] == key for f in lint.findings):
                lint.add("warning", "removed-key", key, f"Flink {lint.line} ignores '{key}' silently.",
                         f"Remove '{key}'.")


_LIMIT_WORDS = {  # Limits source -> (what it is, what happens past it)
    "inventory": ("memory limit (flink_memory_limit_bytes)", "the kernel OOM-kills the process when it grows past it"),
    "cgroup": ("cgroup memory limit", "the kernel OOM-kills the process when it grows past it"),
    "ram": ("RAM (MemTotal)", "the host will swap or the OOM killer will end the process"),
}


def _host_limits(lint: _Lint, valid: dict):
    if not valid:
        return
    total = sum(r["sizes"]["total_process"] for r in valid.values())
    facts = lint.facts
    limit, source = Limits.of(facts.get("mem_total_bytes"), facts.get("cgroup_memory_limit_bytes"),
                              facts.get("flink_memory_limit_bytes")).binding
    if limit is None or total <= limit:
        return
    what, consequence = _LIMIT_WORDS[source]
    names = " and ".join(PROCESS_NAMES[p] for p in valid)
    parts = " + ".join(f"{PROCESS_NAMES[p]} {size_text(r['sizes']['total_process'])}" for p, r in valid.items())
    target = "taskmanager" if "taskmanager" in valid else "jobmanager"
    others = sum(r["sizes"]["total_process"] for p, r in valid.items() if p != target)
    room = (limit - others) // MIB * MIB
    key = f"{target}.memory.process.size"
    sum_text = f" ({parts})" if len(valid) > 1 else ""
    message = (f"The {names} on this host may use {size_text(total)} of Total Process Memory{sum_text}, more than the "
               f"host's {what} of {size_text(limit)}: {consequence}.")
    if room > 0:
        fix = (f"Size the {PROCESS_NAMES[target]} to fit: {key}: {to_config_string(room)} at most (less to leave the "
               f"OS headroom), and remove other {target} sizing keys; or raise the limit.")
    else:
        fix = f"Lower the memory of the processes on this host (the other processes alone need {size_text(others)})."
    lint.add("error", "exceeds-host-memory", key if key in lint.config else None, message, fix)


def _managed_per_slot(lint: _Lint, result: dict):
    if lint.min_per_slot is None:
        return
    sizes, slots = result["sizes"], result.get("slots") or 1
    per_slot = sizes["managed"] // slots
    if per_slot >= lint.min_per_slot:
        return
    threshold = lint.min_per_slot
    need = threshold * slots
    message = (f"Each of the {slots} slot(s) gets {size_text(per_slot)} of Managed Memory "
               f"({size_text(sizes['managed'])} / {slots}), below {size_text(threshold)}: RocksDB state and batch "
               f"operators get little or no memory per slot.")
    # Offer changes that the memory model accepts, in order of least disruption.
    candidates = []
    if _set(lint, "taskmanager.memory.managed.size"):
        candidates.append(("taskmanager.memory.managed.size", to_config_string(-(-need // MIB) * MIB)))
    else:
        fraction = math.ceil(need / sizes["total_flink"] * 100) / 100
        if fraction < 1:
            candidates.append(("taskmanager.memory.managed.fraction", f"{fraction:.2f}"))
    fixes = []
    for key, value in candidates:
        trial = dict(lint.config)
        trial[key] = value
        result2 = compute(trial, "taskmanager", lint.line)
        if result2["valid"] and result2["sizes"]["managed"] // slots >= threshold:
            fixes.append(f"set {key}: {value} (Managed Memory becomes {size_text(result2['sizes']['managed'])})")
    if slots > 1 and sizes["managed"] >= threshold:
        fixes.append(f"lower taskmanager.numberOfTaskSlots to {max(1, sizes['managed'] // threshold)}")
    grown = _process_size_for(lint, slots, threshold)
    if grown:
        fixes.append(f"size the TaskManager with taskmanager.memory.process.size: {grown} (and no other sizing key)")
    if not fixes:
        fixes.append("raise the TaskManager's memory (taskmanager.memory.process.size) and the managed fraction")
    lint.add("warning", "managed-per-slot", _set(lint, "taskmanager.memory.managed.size")
             or _set(lint, "taskmanager.memory.managed.fraction") or "taskmanager.numberOfTaskSlots",
             message, "To reach the threshold: " + "; or ".join(fixes) + ".")


MIN_TASK_HEAP_PER_SLOT = 32 * MIB  # below this a slot's user code has hardly any heap: OOMs and GC storms


def _mib(n: int) -> str:
    return f"{n / MIB:.0f} MiB" if n % MIB else f"{n // MIB} MiB"


def _task_heap_per_slot(lint: _Lint, result: dict):
    """Task heap per slot below MIN_TASK_HEAP_PER_SLOT: user functions of each slot share it."""
    sizes, slots = result["sizes"], result.get("slots") or 1
    per_slot = sizes["task_heap"] // slots
    if per_slot >= MIN_TASK_HEAP_PER_SLOT:
        return
    need = MIN_TASK_HEAP_PER_SLOT * slots
    managed_key = _set(lint, "taskmanager.memory.managed.fraction")
    cause = ""
    if not _set(lint, "taskmanager.memory.managed.size"):
        fraction = lint.show(managed_key) if managed_key else "0.4 (Flink's default)"
        cause = (f" taskmanager.memory.managed.fraction {fraction} gives Managed Memory {_mib(sizes['managed'])} of "
                 f"Total Flink Memory {_mib(sizes['total_flink'])}, Network takes {_mib(sizes['network'])}, the "
                 f"framework {_mib(sizes['framework_heap'] + sizes['framework_off_heap'])}; the rest is the task heap.")
    message = (f"Each of the {slots} slot(s) gets about {_mib(per_slot)} of task heap ({_mib(sizes['task_heap'])} / "
               f"{slots}), below {_mib(MIN_TASK_HEAP_PER_SLOT)}: user code runs out of heap or spends its time in "
               f"GC.{cause}")
    fixes = []
    if not _set(lint, "taskmanager.memory.managed.size") and not _set(lint, "taskmanager.memory.task.heap.size"):
        # the largest managed fraction (two decimals) that leaves every slot the floor, checked with Flink's rules
        room = sizes["task_heap"] + sizes["managed"] - need
        fraction = math.floor(room / sizes["total_flink"] * 100) / 100 if room > 0 else -1
        if fraction >= 0:
            trial = compute({**lint.config, "taskmanager.memory.managed.fraction": f"{fraction:.2f}"}, "taskmanager",
                            lint.line)
            if trial["valid"] and trial["sizes"]["task_heap"] // slots >= MIN_TASK_HEAP_PER_SLOT:
                fixes.append(f"set taskmanager.memory.managed.fraction: {fraction:.2f} (task heap becomes "
                             f"{_mib(trial['sizes']['task_heap'])}, {_mib(trial['sizes']['task_heap'] // slots)} "
                             f"per slot)")
    if slots > 1 and sizes["task_heap"] >= MIN_TASK_HEAP_PER_SLOT:
        fixes.append(f"lower taskmanager.numberOfTaskSlots to {max(1, sizes['task_heap'] // MIN_TASK_HEAP_PER_SLOT)}")
    fixes.append("raise taskmanager.memory.process.size")
    lint.add("warning", "task-heap-per-slot", managed_key or "taskmanager.numberOfTaskSlots", message,
             "Give each slot more task heap: " + "; or ".join(fixes) + ".")


_OTHER_TM_SIZING = ("taskmanager.memory.process.size", "taskmanager.memory.flink.size",
                    "taskmanager.memory.task.heap.size", "taskmanager.heap.size", "taskmanager.heap.mb")


def _process_size_for(lint: _Lint, slots: int, threshold: int) -> str | None:
    """The smallest process.size (whole MiB, other sizing keys removed) giving each slot the threshold."""
    frozen = _frozen_without(lint.config, _OTHER_TM_SIZING)
    return _cached_search(("per-slot", lint.line, slots, threshold), frozen,
                          lambda: _search_process_size_for(lint, slots, threshold))


def _search_process_size_for(lint: _Lint, slots: int, threshold: int) -> str | None:
    base = {k: v for k, v in lint.config.items() if k not in _OTHER_TM_SIZING[1:]}

    def enough(mib):
        result = compute(dict(base, **{"taskmanager.memory.process.size": f"{mib}m"}), "taskmanager", lint.line)
        return result["valid"] and result["sizes"]["managed"] // slots >= threshold

    low = _smallest_mib(enough)
    return None if low is None else f"{low}m"


def _check_memory(lint: _Lint):
    valid = {}
    for process in lint.processes:
        result = lint.model(process)
        if not result["valid"]:
            _rejected(lint, process, result)
            continue
        valid[process] = result
        _legacy_heap(lint, process, result)
        _sizing_paths(lint, process, result)
        _unused(lint, process, result)
    _host_limits(lint, valid)
    if "taskmanager" in valid:
        _managed_per_slot(lint, valid["taskmanager"])
        _task_heap_per_slot(lint, valid["taskmanager"])


# --- managed memory consumer weights ------------------------------------------------------------


class FlinkMapError(ValueError):
    pass


def split_escaped(text: str, delimiter: str) -> list:
    """Flink's ``StructuredOptionsSplitter.splitEscaped``: quotes with doubled-quote escapes, trimmed
    unquoted tokens, and "Illegal quoting" where a quote is not a whole token."""
    tokens, pos, n = [], 0, len(text)
    while pos < n:
        c = text[pos]
        if c in "'\"":
            buf, i = [], pos + 1
            while True:
                if i >= n:
                    raise FlinkMapError("Could not split string. Quoting was not closed properly.")
                if text[i] == c:
                    if i + 1 < n and text[i + 1] == c:
                        buf.append(c)
                        i += 2
                        continue
                    break
                buf.append(text[i])
                i += 1
            tokens.append(("quoted", "".join(buf), pos))
            pos = i + 1
        elif c == delimiter:
            tokens.append(("delim", c, pos))
            pos += 1
        elif c.isspace():
            pos += 1
        else:
            start, buf = pos, []
            while pos < n and text[pos] != delimiter:
                if text[pos] in "'\"":
                    raise FlinkMapError(f"Could not split string. Illegal quoting at position: {pos}")
                buf.append(text[pos])
                pos += 1
            tokens.append(("plain", "".join(buf).strip(), start))
    splits = []
    for i, (kind, value, _unused) in enumerate(tokens):
        if kind == "quoted":
            if i + 1 < len(tokens) and tokens[i + 1][0] != "delim":
                raise FlinkMapError(f"Could not split string. Illegal quoting at position: {tokens[i + 1][2] - 1}")
            splits.append(value)
        elif kind == "plain":
            splits.append(value)
        elif i + 1 < len(tokens) and tokens[i + 1][0] == "delim":
            splits.append("")
    return splits


def parse_flink_map(text: str) -> dict:
    """A map option's string value as Flink parses it (``K:V,K:V``); FlinkMapError as Flink's cause."""
    result = {}
    for item in split_escaped(text, ","):
        pair = split_escaped(item, ":")
        if len(pair) != 2:
            raise FlinkMapError("Map item is not a key-value pair (missing ':'?)")
        if pair[0] in result:
            raise FlinkMapError(f"Duplicate key {pair[0]} (attempted merging values {result[pair[0]]} and {pair[1]})")
        result[pair[0]] = pair[1]
    return result


def configured_weights(config: Mapping):
    """``(source key, {name: weight string})`` as Flink reads the option, or None when unset.

    The exact key wins; otherwise Flink assembles the map from prefixed keys
    (``...consumer-weights.PYTHON: 10``, which is also what a nested config.yaml map becomes).
    """
    if CONSUMER_WEIGHTS in config:
        return CONSUMER_WEIGHTS, parse_flink_map(as_flink_text(config[CONSUMER_WEIGHTS]))
    prefix = CONSUMER_WEIGHTS + "."
    sub = {k[len(prefix):]: as_flink_text(v) for k, v in config.items() if isinstance(k, str) and k.startswith(prefix)}
    if sub:
        return sorted(k for k in config if isinstance(k, str) and k.startswith(prefix))[0], sub
    return None


def effective_weights(config: Mapping, flink_version) -> dict:
    """What Flink's ManagedMemoryUtils makes of the consumer weights on that line.

    ``{"source": key or None, "configured": {name: text} or None, "weights": {use case: int},
    "dropped": [names Flink ignores], "error": Flink's message or None}``; unset means Flink's default.
    """
    line = opts.minor_line(flink_version)
    names = opts.MANAGED_CONSUMERS[line]
    out = {"source": None, "configured": None, "weights": {}, "dropped": [], "error": None}
    try:
        found = configured_weights(config)
    except FlinkMapError as exc:
        out.update(source=CONSUMER_WEIGHTS, error=f"Could not parse value for key '{CONSUMER_WEIGHTS}': {exc}")
        return out
    if found is None:
        default = (catalog.option(CONSUMER_WEIGHTS, line) or {}).get("default")
        found = (None, parse_flink_map(default or "OPERATOR:70,STATE_BACKEND:70,PYTHON:30"))
    out["source"], out["configured"] = found
    weights = found[1]
    for use_case, candidates in _use_cases(line).items():
        for name in candidates:
            if name in weights:
                try:
                    weight = parse_int(weights[name])
                except JavaNumberFormatError as exc:
                    out["error"] = f"NumberFormatException: {exc}"
                    return out
                if weight < 0:
                    out["error"] = (f"Managed memory weight should not be negative. Configured weight for "
                                    f"{use_case} is {weight}.")
                    return out
                out["weights"][use_case] = weight
                break
    out["dropped"] = [n for n in weights if n not in names]
    return out


def _use_cases(line: str) -> dict:
    use_cases = {"OPERATOR": ["OPERATOR"], "STATE_BACKEND": ["STATE_BACKEND"], "PYTHON": ["PYTHON"]}
    if "DATAPROC" in opts.MANAGED_CONSUMERS[line]:  # 1.x: DATAPROC stands in for OPERATOR and STATE_BACKEND
        use_cases["OPERATOR"].append("DATAPROC")
        use_cases["STATE_BACKEND"].append("DATAPROC")
    return use_cases


def _check_consumer_weights(lint: _Lint):
    line = lint.line
    try:
        found = configured_weights(lint.config)
    except FlinkMapError as exc:
        lint.add("error", "consumer-weights", CONSUMER_WEIGHTS,
                 f"Could not parse value '{lint.show(CONSUMER_WEIGHTS)}' for key '{CONSUMER_WEIGHTS}'. Caused by: "
                 f"{exc}. Flink {line} fails every job that uses managed memory (batch operators, RocksDB, Python).",
                 "Write the weights as NAME:WEIGHT pairs separated by commas, e.g. "
                 "OPERATOR:70,STATE_BACKEND:70,PYTHON:30.")
        return
    if found is None:
        return
    key, weights = found
    label = CONSUMER_WEIGHTS if key == CONSUMER_WEIGHTS else f"the {CONSUMER_WEIGHTS}.* keys"
    names = opts.MANAGED_CONSUMERS[line]
    legacy = "DATAPROC" in names
    use_cases = _use_cases(line)
    effective, problems = {}, []
    for use_case, candidates in use_cases.items():
        for name in candidates:
            if name in weights:
                try:
                    weight = parse_int(weights[name])
                except JavaNumberFormatError as exc:
                    problems.append(f"NumberFormatException: {exc}")
                    break
                if weight < 0:
                    problems.append(f"Managed memory weight should not be negative. Configured weight for "
                                    f"{use_case} is {weight}.")
                effective[use_case] = weight
                break
    default = catalog.option(CONSUMER_WEIGHTS, line) or {}
    default_text = default.get("default") or "OPERATOR:70,STATE_BACKEND:70,PYTHON:30"
    if problems:
        problem = problems[0] if problems[0].endswith(".") else problems[0] + "."
        lint.add("error", "consumer-weights", key,
                 f"Flink {line} cannot use {label}: {problem} Every job that uses managed memory fails.",
                 f"Give every consumer a whole, non-negative weight, e.g. {default_text}.")
        return
    unknown = [n for n in weights if n not in names]
    for name in unknown:
        close = [n for n in names if n.lower() == name.lower()]
        if name == "DATAPROC":
            why = "DATAPROC was removed in Flink 2.0 (1.x used it for OPERATOR and STATE_BACKEND)"
        elif close:
            why = f"consumer names are case-sensitive (did you mean {close[0]}?)"
        else:
            why = f"Flink {line} knows only {', '.join(names)}"
        lint.add("warning", "consumer-weights", key,
                 f"{label} names '{name}', which Flink {line} drops silently: {why}.",
                 f"Use the exact names {', '.join(n for n in names if n != 'DATAPROC')}.")
    if legacy and "DATAPROC" in weights:
        lint.add("info", "consumer-weights", key,
                 f"DATAPROC in {label} is deprecated: Flink {line} uses it only for OPERATOR and STATE_BACKEND when "
                 f"they are not named, and Flink 2.0 drops it.",
                 "Name OPERATOR and STATE_BACKEND explicitly instead of DATAPROC.")
    missing = [u for u in use_cases if u not in effective]
    zero = [u for u, w in effective.items() if w == 0]
    if missing or zero:
        merged = parse_flink_map(default_text)
        merged = {n: w for n, w in merged.items() if n in names and n != "DATAPROC"}
        for use_case, weight in effective.items():
            if weight > 0:
                merged[use_case] = str(weight)
        suggestion = ",".join(f"{n}:{w}" for n, w in merged.items())
        parts = []
        if missing:
            parts.append(f"{_quote_keys(missing)} {'is' if len(missing) == 1 else 'are'} not named, and setting the "
                         f"option replaces Flink's whole default ({default_text})")
        if zero:
            parts.append(f"{_quote_keys(zero)} {'has' if len(zero) == 1 else 'have'} weight 0")
        lint.add("warning", "consumer-weights", key,
                 f"Managed Memory consumer weights in Flink {line}: {'; '.join(parts)}. Those consumers get no managed "
                 f"memory: jobs that need it (OPERATOR: batch operators, STATE_BACKEND: RocksDB, PYTHON: Python UDFs) "
                 f"fail to allocate it (Flink logs this only at DEBUG).",
                 f"If those consumers are really unused, nothing to do; otherwise set {CONSUMER_WEIGHTS}: {suggestion}")


# --- entry point --------------------------------------------------------------------------------


def _sort_key(finding: dict):
    line = finding["line"]
    return (SEVERITIES.index(finding["severity"]), line if line is not None else math.inf,
            finding["key"] or "", finding["code"], finding["message"])


def check_config(config, error=None) -> None:
    """A flat config: a mapping with string keys (``error``: the exception class to raise)."""
    error = error or LintCallError
    if not isinstance(config, Mapping):
        raise error(f"config must be a mapping of Flink keys to values, got {type(config).__name__}")
    bad = [k for k in config if not isinstance(k, str)]
    if bad:
        raise error(f"config keys must be strings; got {bad[0]!r} ({type(bad[0]).__name__})")


def check_facts(facts, processes, error=None) -> tuple:
    """(facts, processes in PROCESS_KINDS order): ``processes`` defaults to the facts' (an empty list
    there: the gather does not know the process, so none is checked), else both."""
    error = error or LintCallError
    if facts is None:
        facts = {}
    if not isinstance(facts, Mapping):
        raise error(f"facts must be a mapping (a flink_config_info result or part of one), got {type(facts).__name__}")
    if processes is None:
        processes = facts.get("processes")
        if not isinstance(processes, (list, tuple)):
            processes = list(PROCESS_KINDS)
    if isinstance(processes, str):
        processes = [processes]
    processes = list(processes)
    for process in processes:
        if process not in PROCESS_KINDS:
            raise error(f"unknown process {process!r}: expected any of {', '.join(PROCESS_KINDS)}")
    return facts, [p for p in PROCESS_KINDS if p in processes]  # stable order, no duplicates


def check_call(config, flink_version, facts, processes, min_managed_per_slot):
    """Validate the arguments (not the config); return (line, facts, processes, threshold bytes)."""
    check_config(config)
    try:
        line = _minor_line(flink_version)
    except TypeError:  # unhashable: not a version at all
        raise LintCallError(f"flink_version must be a version string such as 2.3, got "
                            f"{type(flink_version).__name__}") from None
    facts, processes = check_facts(facts, processes)
    threshold = None
    if min_managed_per_slot not in (None, 0, "0", ""):
        threshold = _threshold(as_flink_text(min_managed_per_slot))
    return line, facts, processes, threshold


@lru_cache(maxsize=64)
def _minor_line(version) -> str:
    try:
        return opts.minor_line(version)
    except ValueError as exc:
        raise LintCallError(str(exc)) from None


@lru_cache(maxsize=64)
def _threshold(text: str) -> int:
    try:
        return parse_bytes(text)
    except MemorySizeError as exc:
        raise LintCallError(f"min_managed_per_slot {text!r} is not a Flink memory size: {exc}") from None


def config_lint(config, flink_version, facts=None, processes=None,
                min_managed_per_slot=DEFAULT_MIN_MANAGED_PER_SLOT) -> list:
    """Findings for one config on one Flink version, most severe first (see the module docstring).

    ``facts`` may be a whole ``flink_config_info`` result or part of one: ``config_lines``,
    ``config_file``, ``config_format``, ``skipped_lines``, ``ignored_files``, ``hash_cut_keys``,
    ``overridden``, ``mem_total_bytes``, ``cgroup_memory_limit_bytes``, ``flink_memory_limit_bytes``
    (the inventory's limit), ``processes``.  ``processes`` defaults to
    ``facts.processes``, else both.  ``min_managed_per_slot`` (a Flink size; None disables) is the
    Managed Memory each slot should get.  Raises LintCallError for a bad call.
    """
    line, facts, processes, threshold = check_call(config, flink_version, facts, processes, min_managed_per_slot)
    return _lint(config, line, facts, processes, threshold)


def _lint(config, line, facts, processes, threshold) -> list:
    lint = _Lint(config, line, facts, processes, threshold)
    _check_memory(lint)  # first: it marks the keys it explains, so key checks do not repeat them
    _check_keys(lint)
    _check_ignored(lint)
    _check_files(lint)
    _check_version(lint)
    if not processes and isinstance(facts.get("processes"), (list, tuple)):
        _process_unknown(lint)
    if "taskmanager" in processes:
        _check_consumer_weights(lint)
    return sorted(lint.findings, key=_sort_key)
