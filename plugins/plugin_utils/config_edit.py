# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide an edit of a host's Flink config file on the controller (the flink_config action's core).

Given the bytes of the file Flink reads, its format and the host's Flink version: which names to
delete for each removed key (the key, the deprecated keys Flink falls back to), which settings
are keys Flink does not know (with a did-you-mean), the new bytes (``flink_conf_edit`` or
``config_yaml_edit``), whether Flink would start each process with them (``memory_model``), and
a diff and change list with sensitive values hidden.  Pure: no Ansible, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import (
    EditError,
    edit_flink_conf,
    redact_flink_conf_text,
)
from ansible_collections.flinkops.flink.plugins.module_utils.java_types import flink_text, same_number
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import MemorySizeError, parse_bytes
from ansible_collections.flinkops.flink.plugins.plugin_utils import catalog
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml_edit import (
    edit_config_yaml,
    redact_config_yaml_text,
)

PROCESSES = ("jobmanager", "taskmanager")


class EditRefused(Exception):
    """The edit was computed but must not be written (Flink would not start); the message says why."""


@lru_cache(maxsize=4096)
def spellings(key: str, version) -> tuple:
    """``key`` and every other name Flink reads as that option on ``version``: its deprecated and
    fallback keys, unless such a name is an option of its own (removing ``rest.bind-port`` must not
    remove ``rest.port``)."""
    names = [key]
    for table in opts.PROCESSES.values():
        option = table.get(key)
        if option is not None:
            names.extend(option.deprecated_keys)
    info = catalog.option(key, version)
    if info:
        for name in (*info["deprecated_keys"], *info["fallback_keys"]):
            own = catalog.option(name, version)
            if own is None or own["deprecated"]:
                names.append(name)
    return tuple(dict.fromkeys(names))


def as_flink_value(key: str, value) -> str:
    """A setting's value as the string to write: Flink's text for it (java_types.flink_text)."""
    try:
        return flink_text(value)
    except TypeError:
        pass
    kind = "nothing (null)" if value is None else f"a {type(value).__name__}"
    raise EditError(f"the value is {kind}; give it as a string as Flink shows it (use remove to delete a key)",
                    key=str(key))


def holds(key: str, current, wanted: str, version) -> bool:
    """Whether Flink reads the file's ``current`` text of ``key`` as ``wanted``: the same text, or, for an
    option Flink parses as a Float or Double, the same number (``0.00001`` holds ``1.0E-5``), or, for a
    MemorySize, the same bytes (``4096m`` holds ``4g``)."""
    if current == wanted:
        return True
    if not isinstance(current, str):
        return False
    kind = catalog.value_type(key, version)
    if kind == "MemorySize":
        return same_bytes(current, wanted)
    return same_number(current, wanted, kind)


def same_bytes(a: str, b: str) -> bool:
    """Whether two texts are one MemorySize to Flink (``1024m`` and ``1g``); False for text it refuses."""
    try:
        return parse_bytes(a) == parse_bytes(b)
    except MemorySizeError:
        return False


def unknown_key_warnings(keys: Iterable, version) -> list:
    """A warning for each key Flink ``version`` does not read, with what the user probably meant."""
    line = opts.minor_line(version)
    out = []
    for key in keys:
        if key in opts.IMAGINARY_KEYS and not catalog.is_known(key, line):
            out.append(f"'{key}' does not exist in any Flink release (it comes from blog posts): Flink {line} would "
                       f"store and ignore it. {opts.IMAGINARY_KEYS[key]}")
            continue
        if catalog.is_known(key, line):
            continue
        known_on = catalog.lines_knowing(key)
        if known_on:
            out.append(f"'{key}' is not read by Flink {line} (only by Flink {', '.join(known_on)}); Flink would store "
                       "and ignore it")
            continue
        guesses = catalog.did_you_mean(key, line)
        hint = ""
        if guesses:
            others = f" (or {', '.join(repr(g) for g in guesses[1:])})" if len(guesses) > 1 else ""
            hint = f"; did you mean '{guesses[0]}'{others}?"
        out.append(f"'{key}' is not a key Flink {line} knows: Flink would store and ignore it{hint}")
    return out


def infer_processes(config: Mapping) -> list:
    """Processes whose memory keys the file sets (when the inventory does not say which run here)."""
    found = []
    for process in PROCESSES:
        names = {n for o in opts.PROCESSES[process].values() for n in o.names()}
        if any(k in names or k.startswith(f"{process}.memory.") for k in config):
            found.append(process)
    return found


def already_holds(config: Mapping, settings: Mapping | None, remove: Iterable | None, version) -> bool:
    """Whether a file Flink reads as ``config`` (a gathered, redacted map) needs no edit at all: every
    setting at its value and no name Flink reads for a removed key.

    False whenever it cannot tell (a sensitive setting's value is hidden; a value the editor would
    refuse): the caller then reads the file and lets the editor decide and explain. Never True where
    the editor would change a byte of a file without skipped lines (property-tested).
    """
    try:
        wanted = {str(k): as_flink_value(k, v) for k, v in (settings or {}).items()}
    except EditError:
        return False
    for key, value in wanted.items():
        if opts.is_sensitive_anywhere(key) or not holds(key, config.get(key), value, version):
            return False
    for key in remove or ():
        if not isinstance(key, str) or key in wanted:
            return False
        if any(name in config for name in spellings(key, version)):
            return False
    return True


@dataclass
class Plan:
    """The decided edit of one file."""

    content: bytes
    changed: bool
    before: dict  # Flink's map before (unredacted)
    after: dict  # and after
    changes: list  # redacted
    memory: dict  # process -> memory_model result for the new file
    checksum: str  # sha256 of the new content
    diff: dict | None = None
    warnings: list = field(default_factory=list)


def redacted_text(content: bytes, fmt: str) -> str:
    """The file as text for a diff, sensitive values hidden (any Flink line's list of sensitive words)."""
    text = content.decode("utf-8", "replace")
    if fmt == "legacy":
        return redact_flink_conf_text(text, opts.is_sensitive_anywhere)
    return redact_config_yaml_text(text.lstrip("\ufeff"), opts.is_sensitive_anywhere)


def plan_edit(content: bytes, fmt: str, path: str, version: str, settings: Mapping | None = None,
              remove: Iterable | None = None, processes: Iterable | None = None, validate: bool = True,
              allow_unknown_keys: bool = False, want_diff: bool = False) -> Plan:
    """Compute the edit; EditError when it cannot be made safely, EditRefused when validation fails."""
    settings = {str(k): as_flink_value(k, v) for k, v in (settings or {}).items()}
    remove = [str(k) for k in (remove or ())]
    warnings = [] if allow_unknown_keys else unknown_key_warnings(settings, version)

    def aliases(key):
        return spellings(key, version)[1:]

    if fmt == "legacy":
        edit = edit_flink_conf
    elif fmt == "yaml":
        edit = edit_config_yaml
    else:
        raise ValueError(f"unknown config format {fmt!r}: expected legacy or yaml")
    result = edit(content, path, settings, remove, aliases=aliases)
    # The editors compare text; a number the file already holds in another spelling is no change.
    held = {c["key"] for c in result.changes
            if c["action"] == "update" and holds(c["key"], result.before.get(c["key"]), c["after"], version)}
    if held:
        settings = {k: v for k, v in settings.items() if k not in held}
        result = edit(content, path, settings, remove, aliases=aliases)

    procs = list(processes) if processes else infer_processes(result.after)
    memory = {p: compute(result.after, p, version) for p in procs}
    if validate and result.changed:
        bad = [p for p in procs if not memory[p]["valid"]]
        if bad:
            reasons = []
            for p in bad:
                was = compute(result.before, p, version)
                now = "also refuses the current file" if not was["valid"] else "starts with the current file"
                reasons.append(f"the {p} ({now}): {memory[p]['error']}")
            raise EditRefused(f"{path}: Flink {version} would not start {' and '.join(reasons)}; nothing was written "
                              "(validate: false writes it anyway)")
    hide = opts.redact_value
    changes = [dict(c, before=hide(c["key"], c["before"]), after=hide(c["key"], c["after"]))
               for c in result.changes]
    diff = None
    if want_diff and result.changed:
        diff = {"before": redacted_text(content, fmt), "after": redacted_text(result.content, fmt),
                "before_header": path, "after_header": path}
    return Plan(content=result.content, changed=result.changed, before=result.before, after=result.after,
                changes=changes, memory=memory, checksum=hashlib.sha256(result.content).hexdigest(), diff=diff,
                warnings=warnings)
