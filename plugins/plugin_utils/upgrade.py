# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``upgrade_readiness``: what happens to one Flink config when the cluster moves to another release.

Three questions, each answered from Flink's own behaviour: which keys stop
working (the key catalog extracted from both releases' jars), which file the
new release reads (Flink's ``GlobalConfiguration`` rules, see
``module_utils/config_files.py``), and how the resolved memory of each
process changes (``memory_model.compute`` on both releases, byte for byte).

``blocking`` lists what makes the new release refuse to start; ``changes``
lists what it silently does differently.  Values of sensitive keys are never
shown.  Controller side; never imports Ansible.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.config_files import (
    FLINK_CONF_ONLY_LINES,
    LEGACY_NAME,
    YAML_NAME,
)
from ansible_collections.flinkops.flink.plugins.module_utils.flink_names import LABELS, PROCESS_NAMES
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.memory_size import MemorySizeError, parse_bytes
from ansible_collections.flinkops.flink.plugins.plugin_utils import catalog
from ansible_collections.flinkops.flink.plugins.plugin_utils.lint import (
    LintCallError,
    as_flink_text,
    check_config,
    check_facts,
    effective_weights,
    size_text,
)

_LEGACY_ONLY = FLINK_CONF_ONLY_LINES
_EITHER = ("1.19", "1.20")


class UpgradeCallError(LintCallError):
    """The call itself is wrong: the filter turns it into AnsibleFilterError."""


def _show(key: str, value, line: str) -> str:
    del line  # hidden when any release hides it
    return opts.REDACTED if opts.is_sensitive_anywhere(key) else as_flink_text(value)


def _order(line: str) -> int:
    return opts.SUPPORTED_LINES.index(line)


# --- keys ---------------------------------------------------------------------------------------


def _key_changes(config: Mapping, from_line: str, to_line: str) -> dict:
    stop, start, deprecated, types = [], [], [], []
    for key in sorted(config):
        before, after = catalog.how_known(key, from_line), catalog.how_known(key, to_line)
        if before and not after:
            successor = catalog.replacement(key, to_line)
            value = _show(key, config[key], from_line)
            if successor:
                fix = f"Replace '{key}' with '{successor}' (check that the value '{value}' still fits)."
            else:
                fix = f"Remove '{key}': Flink {to_line} has no replacement for it."
            if key in catalog.MANUAL_REPLACEMENTS and key.endswith((".heap.size", ".heap.mb")):
                process = key.split(".")[0]
                fix = (f"Remove '{key}' and size the {PROCESS_NAMES[process]} with {process}.memory.process.size "
                       f"(see the memory section for what Flink {to_line} computes without it).")
            stop.append({
                "key": key, "replacement": successor,
                "message": f"Flink {from_line} reads '{key}'; Flink {to_line} ignores it silently.",
                "fix": fix,
            })
        elif after and not before:
            start.append({
                "key": key,
                "message": f"Flink {from_line} ignores '{key}', but Flink {to_line} reads it: its value "
                           f"'{_show(key, config[key], to_line)}' takes effect after the upgrade.",
            })
        elif before and after:
            if after[0] == "deprecated" and before[0] != "deprecated":
                deprecated.append({
                    "key": key, "replacement": after[1],
                    "message": f"'{key}' still works on Flink {to_line} but is deprecated there in favour of "
                               f"'{after[1]}'.",
                    "fix": f"Rename '{key}' to '{after[1]}'.",
                })
            old, new = catalog.option(key, from_line), catalog.option(key, to_line)
            if old and new and old["type"] != new["type"]:
                types.append({
                    "key": key, "from_type": old["type"], "to_type": new["type"],
                    "message": f"'{key}' is a {old['type']} on Flink {from_line} and a {new['type']} on Flink "
                               f"{to_line}: check that '{_show(key, config[key], to_line)}' parses as "
                               f"{new['type']}.",
                })
    return {"stop_working": stop, "start_working": start, "deprecated": deprecated, "type_changed": types}


# The unit labels of Flink's TimeUtils.parseDuration, in milliseconds (sub-millisecond units left out).
_DURATION_UNITS = {}
for _ms, _labels in ((86_400_000, ("d", "day", "days")), (3_600_000, ("h", "hour", "hours")),
                     (60_000, ("min", "minute", "minutes")), (1000, ("s", "sec", "secs", "second", "seconds")),
                     (1, ("ms", "milli", "millis", "millisecond", "milliseconds"))):
    for _label in _labels:
        _DURATION_UNITS[_label] = _ms
_DURATION = re.compile(r"(\d+) *([a-z]+)\Z")


def _comparable(value, type_name):
    """A default in a form that survives a type change (Long millis -> Duration, String -> MemorySize)."""
    if value is None:
        return None
    if type_name in ("Duration", "String"):
        match = _DURATION.match(value)
        if match and match.group(2) in _DURATION_UNITS:
            return ("ms", int(match.group(1)) * _DURATION_UNITS[match.group(2)])
    if type_name in ("Integer", "Long") and value.lstrip("-").isdigit():
        return ("ms", int(value))  # Flink's pre-Duration timeouts were milliseconds
    if type_name in ("MemorySize", "String"):
        try:
            return ("bytes", parse_bytes(value))
        except MemorySizeError:
            pass
    return ("text", value)


def _defaults_changed(config: Mapping, from_line: str, to_line: str) -> list:
    """Options on both lines whose default changed (in value, not just in spelling) and that this
    config leaves unset."""
    out = []
    for key in sorted(catalog.known_keys(to_line)):
        old, new = catalog.option(key, from_line), catalog.option(key, to_line)
        if not old or not new or old["default"] == new["default"]:
            continue
        if _comparable(old["default"], old["type"]) == _comparable(new["default"], new["type"]):
            continue
        names = {key, *old["deprecated_keys"], *old["fallback_keys"], *new["deprecated_keys"], *new["fallback_keys"]}
        if names & set(config):
            continue
        out.append({"key": key, "from": old["default"], "to": new["default"]})
    return out


# --- files --------------------------------------------------------------------------------------


def _current_file(facts: Mapping, from_line: str) -> tuple:
    """(base name, format, assumed) of the file Flink ``from_line`` reads on this host."""
    path, fmt = facts.get("config_file"), facts.get("config_format")
    if isinstance(path, str) and path:
        name = posixpath.basename(path)
        return name, fmt or ("legacy" if name == LEGACY_NAME else "yaml"), False
    if fmt in ("legacy", "yaml"):
        return (LEGACY_NAME if fmt == "legacy" else YAML_NAME), fmt, False
    if from_line in _LEGACY_ONLY or from_line in _EITHER:
        return LEGACY_NAME, "legacy", from_line in _EITHER
    return YAML_NAME, "yaml", False


def _file_change(facts: Mapping, from_line: str, to_line: str) -> dict:
    name, fmt, assumed = _current_file(facts, from_line)
    ignored = {i.get("name") for i in facts.get("ignored_files") or () if isinstance(i, Mapping)}
    out = {"from_file": name, "from_format": fmt, "assumed": assumed, "to_file": name, "to_format": fmt,
           "must_convert": False, "switches_to_ignored_file": False, "message": "", "fix": None}
    if to_line in _LEGACY_ONLY:
        if fmt == "yaml":
            out.update(to_file=LEGACY_NAME, to_format="legacy", must_convert=True,
                       message=f"Flink {to_line} reads only {LEGACY_NAME}; with only {YAML_NAME} it refuses to "
                               f"start: \"The Flink config file '<conf dir>/{LEGACY_NAME}' does not exist.\"",
                       fix=f"Write the settings as flat 'key: value' lines into {LEGACY_NAME} before the downgrade.")
        else:
            out["message"] = f"Flink {to_line} reads {LEGACY_NAME}, as Flink {from_line} does."
        return out
    if to_line in _EITHER:
        if fmt == "legacy":
            out["message"] = (f"Flink {to_line} still reads {LEGACY_NAME} (and ignores {YAML_NAME} while "
                              f"{LEGACY_NAME} exists); Flink 2.0 will need {YAML_NAME}.")
            out["fix"] = (f"Optional now, required for 2.0: convert with bin/migrate-config-file.sh of Flink "
                          f"{to_line} and delete {LEGACY_NAME}.")
        else:
            out["message"] = f"Flink {to_line} reads {YAML_NAME} (when no {LEGACY_NAME} exists)."
        return out
    # 2.0 and later read only config.yaml.
    out.update(to_file=YAML_NAME, to_format="yaml")
    if fmt == "yaml":
        out["message"] = f"Flink {to_line} reads {YAML_NAME}, as Flink {from_line} does."
        return out
    if YAML_NAME in ignored:
        flag = "switches_to_ignored_file"
        message = (f"Flink {from_line} reads {LEGACY_NAME} and ignores the {YAML_NAME} next to it; Flink {to_line} "
                   f"reads only {YAML_NAME}, so that ignored file becomes the configuration and every setting in "
                   f"{LEGACY_NAME} is dropped.")
        fix = (f"Before the upgrade, make {YAML_NAME} hold today's settings: regenerate it from {LEGACY_NAME} with "
               f"bin/migrate-config-file.sh, review it, then delete {LEGACY_NAME}.")
    else:
        how = (f"run bin/migrate-config-file.sh of your Flink {from_line} (it writes {YAML_NAME} from {LEGACY_NAME})"
               if from_line in _EITHER else
               f"convert it with bin/migrate-config-file.sh from a Flink 1.19 or 1.20 distribution (Flink "
               f"{from_line} has no such script)")
        flag = "must_convert"
        message = (f"Flink {to_line} reads only {YAML_NAME} (standard YAML) and ignores {LEGACY_NAME}; with only "
                   f"{LEGACY_NAME} it refuses to start: \"The Flink config file '<conf dir>/{YAML_NAME}' does not "
                   f"exist.\"")
        fix = (f"Before the upgrade, {how}; review the result (values already cut at '#' stay cut, secrets are "
               f"written in clear text), then delete {LEGACY_NAME}.")
    out.update({flag: True, "message": message, "fix": fix})
    return out


# --- memory -------------------------------------------------------------------------------------


def _summary(result: dict) -> dict:
    return {
        "valid": result["valid"], "error": result["error"],
        "sizing_path": (result.get("keys") or {}).get("sizing_path"),
        "sizes": result["sizes"], "jvm": result["jvm"],
    }


def _memory_unknown(config: Mapping, process: str, from_line: str, to_line: str) -> dict:
    """The new release reads another file, whose settings the caller did not give: no memory to compare."""
    return {"from": _summary(compute(config, process, from_line)), "to": None, "changes": {}, "jvm_changes": {},
            "changed": None,
            "message": f"Not compared: Flink {to_line} reads {YAML_NAME}, not the {LEGACY_NAME} these settings "
                       f"come from, so the {PROCESS_NAMES[process]}'s memory on Flink {to_line} is whatever that "
                       f"file gives (pass its settings as to_config to compare)."}


def _memory_change(config: Mapping, process: str, from_line: str, to_line: str, to_config=None) -> dict:
    """``to_config``: the settings the new release reads when it reads another file than ``config``'s."""
    before = compute(config, process, from_line)
    after = compute(config if to_config is None else to_config, process, to_line)
    out = {"from": _summary(before), "to": _summary(after), "changes": {}, "jvm_changes": {}, "changed": False,
           "message": ""}
    name = PROCESS_NAMES[process]
    if not after["valid"]:
        out["changed"] = True
        out["message"] = f"Flink {to_line} refuses to start the {name}: {after['error']}"
        return out
    if not before["valid"]:
        out["changed"] = True
        out["message"] = f"Flink {from_line} refuses this config for the {name}; Flink {to_line} accepts it."
        return out
    for part, old in before["sizes"].items():
        new = after["sizes"].get(part)
        if new is not None and new != old:
            out["changes"][part] = {"from": old, "to": new, "delta": new - old}
    for part, old in before["jvm"].items():
        new = after["jvm"].get(part)
        if new != old:
            out["jvm_changes"][part] = {"from": old, "to": new,
                                        "delta": (new - old) if None not in (old, new) else None}
    path_changed = before["keys"]["sizing_path"] != after["keys"]["sizing_path"]
    out["changed"] = bool(out["changes"] or out["jvm_changes"]) or path_changed
    if not out["changed"]:
        out["message"] = f"The {name} gets the same memory on Flink {to_line}, byte for byte."
        return out
    parts = [f"{LABELS.get(part, part)} {size_text(c['from'])} -> {size_text(c['to'])}"
             for part, c in out["changes"].items()]
    why = ""
    legacy = (before["keys"] or {}).get("legacy_heap")
    if legacy and not (after["keys"] or {}).get("legacy_heap"):
        why = (f" Flink {from_line}'s start scripts sized it from the legacy heap key "
               f"({size_text(legacy['bytes'])}); Flink {to_line} ignores that key.")
    path_note = ""
    if before["keys"]["sizing_path"] != after["keys"]["sizing_path"]:
        path_note = f" Sizing path: {before['keys']['sizing_path']} -> {after['keys']['sizing_path']}."
    out["message"] = f"The {name}'s memory changes: {'; '.join(parts)}.{path_note}{why}"
    return out


def _weights_change(config: Mapping, from_line: str, to_line: str):
    before, after = effective_weights(config, from_line), effective_weights(config, to_line)
    if before["weights"] == after["weights"] and before["error"] == after["error"]:
        return None
    lost = [u for u in before["weights"] if u not in after["weights"]]

    def text(weights):
        return ",".join(f"{k}:{v}" for k, v in weights.items()) or "none"

    message = (f"Managed Memory consumer weights change from {text(before['weights'])} on Flink {from_line} to "
               f"{text(after['weights'])} on Flink {to_line}")
    if lost and "DATAPROC" in (before["configured"] or {}):
        message += f" (DATAPROC, which stood in for {' and '.join(lost)}, is dropped from Flink 2.0)"
    fix = None
    if lost:
        fix = ("Name the consumers explicitly before the upgrade: taskmanager.memory.managed.consumer-weights: "
               + text(before["weights"]))
    return {"key": "taskmanager.memory.managed.consumer-weights", "from": before["weights"],
            "to": after["weights"], "message": message + ".", "fix": fix}


# --- entry point --------------------------------------------------------------------------------


def check_call(config, from_version, to_version, facts, processes):
    check_config(config, UpgradeCallError)
    try:
        from_line, to_line = opts.minor_line(from_version), opts.minor_line(to_version)
    except ValueError as exc:
        raise UpgradeCallError(str(exc)) from None
    facts, processes = check_facts(facts, processes, UpgradeCallError)
    return from_line, to_line, facts, processes


def upgrade_readiness(config, from_version, to_version, facts=None, processes=None, to_config=None) -> dict:
    """What moving ``config`` from Flink ``from_version`` to ``to_version`` breaks or changes.

    ``facts`` (optional) is a ``flink_config_info`` result or part of it: ``config_file`` /
    ``config_format`` say which file the host uses today (else it is inferred from ``from_version``),
    ``ignored_files`` reveals a config.yaml that 1.19/1.20 ignore, ``processes`` picks the processes
    (default both).  ``to_config`` (optional): the settings of the file the new release will read when
    it is not the one ``config`` comes from (the config.yaml that 1.19/1.20 ignore); memory on the new
    release is computed from it, and not compared without it.  Raises UpgradeCallError for a bad call.
    """
    from_line, to_line, facts, processes = check_call(config, from_version, to_version, facts, processes)
    if to_config is not None and not isinstance(to_config, Mapping):
        raise UpgradeCallError(f"to_config must be a mapping of Flink keys to values, got {type(to_config).__name__}")
    keys = _key_changes(config, from_line, to_line)
    file_change = _file_change(facts, from_line, to_line)
    switches = file_change["switches_to_ignored_file"]
    if switches and to_config is None:
        memory = {p: _memory_unknown(config, p, from_line, to_line) for p in processes}
    else:
        memory = {p: _memory_change(config, p, from_line, to_line, to_config if switches else None)
                  for p in processes}
    weights = _weights_change(config, from_line, to_line) if "taskmanager" in processes else None

    blocking, changes = [], []
    if file_change["must_convert"]:
        blocking.append(file_change["message"])
    if switches:
        # Not a refusal to start, but every setting of today's file is dropped: not ready.
        blocking.append(file_change["message"])
    for change in memory.values():
        if change["to"] is None:
            changes.append(change["message"])
        elif not change["to"]["valid"]:
            blocking.append(change["message"])
        elif change["changed"]:
            changes.append(change["message"])
    changes += [item["message"] for item in keys["stop_working"]]
    changes += [item["message"] for item in keys["start_working"]]
    if weights:
        changes.append(weights["message"])
    return {
        "from_version": from_line,
        "to_version": to_line,
        "ready": not blocking,
        "blocking": blocking,
        "changes": changes,
        "config_file": file_change,
        "keys": keys,
        "consumer_weights": weights,
        "memory": memory,
        "defaults_changed": _defaults_changed(config, from_line, to_line),
        "removed_keys_total": len(catalog.removed_between(from_line, to_line)) if _order(to_line) > _order(from_line)
        else 0,
    }
