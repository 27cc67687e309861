# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The enforce role's decisions; its tasks only apply them (flink_config) and report.

Three steps, each a pure function of plain data:

* ``prepare``: the memory_plan of the gathered fleet, trimmed to what the role reads, with the hosts
  that already hold it (they get no further task) and the lines that show the plan;
* ``assign``: for every host the keys to set and remove, from the plan or from the groups of
  ``enforce_settings`` / ``enforce_remove`` it belongs to, and every problem found before anything
  is written (bad arguments, a group name that is no group, keys Flink does not know, values that
  cannot be written, a key two groups give different values);
* ``outcome``: from what flink_config returned on each host, each host's status, the hosts that
  need a restart, the summary (naming each failed host and why) and the report lines; a host whose
  file still holds keys its Flink line does not read (a misspelled key, found by config_lint, their
  one home) is "not compliant", with how to remove them (nothing is written for them).

Messages name hosts, groups and keys, never values: settings may hold secrets.
Controller side; never imports Ansible.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import EditError
from ansible_collections.flinkops.flink.plugins.plugin_utils import catalog
from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import FleetError, host_list, natural_sorted

# lint, plan and the file editor (config_edit: Flink's text of a value) are imported by the decisions that
# need them (outcome; prepare; assign and prepare): each decision runs in a worker process of its own, which
# compiles every collection module it imports from source (tests/unit/plugins/filter/test_filter_imports.py).


def as_flink_value(key, value):
    """config_edit.as_flink_value: the text Flink's loader reads for ``value`` (EditError when none)."""
    from ansible_collections.flinkops.flink.plugins.plugin_utils.config_edit import as_flink_value as text

    return text(key, value)


# Group names of enforce_settings / enforce_remove that are not inventory groups: 'all' is every host,
# the process names stand for the inventory groups of the collection's conventions.
PROCESS_GROUPS = {"jobmanager": "flink_jobmanager", "taskmanager": "flink_taskmanager"}
SPECIAL_GROUPS = ("all", *PROCESS_GROUPS)

USAGE = ("flinkops.flink.enforce needs either enforce_plan (the result of the memory_plan filter, with its groups "
         "and hosts) or enforce_settings / enforce_remove (group name to a mapping of keys and values / to a list "
         "of keys), not both and not neither.")
CLASH_HINT = "give each key one value per host."
ALLOW_HINT = "To write it anyway, list it in enforce_allow_unknown_keys"


PUBLIC = ("groups", "set", "remove", "todo", "clashes", "clash_groups", "quiet_unknown")


class EnforceError(ValueError):
    """Enforcing cannot start: the message says why (names only, no values)."""


# --- prepare: the plan of the gathered fleet ----------------------------------------------------

# 'policy' where plan.py means the caller's policy: here it is the variable enforce_policy.
_POLICY_WORD = re.compile(r"(?<![\w.])policy(?=\.\w|\s+must\b|\s+key\(s\))")


def policy_message(message: str) -> str:
    """A memory_plan error in the enforce playbook's terms: the policy is the variable enforce_policy."""
    return _POLICY_WORD.sub("enforce_policy", message)


def prepare(results, policy, hosts: Sequence, memory_limits=None) -> dict:
    """The plan for the enforce role: memory_plan of ``results`` trimmed to what the role reads.

    Returns ``groups`` (name -> ``set``, ``remove``, ``hosts``), ``hosts`` (host -> ``groups``,
    ``holds``), ``compliant`` (hosts whose gather already holds their plan: no further task),
    ``run_on`` (the other hosts of ``hosts``; the first host when none is left, so that the role
    still reports for the fleet) and ``lines`` (one per group, to show). EnforceError for a bad
    policy or a plan Flink would refuse, naming enforce_policy.
    """
    from ansible_collections.flinkops.flink.plugins.plugin_utils.plan import PlanError, PolicyError, memory_plan

    try:
        plan = memory_plan(results, policy, memory_limits=memory_limits)  # the inventory's limits (issue 15.2)
    except (PolicyError, PlanError, FleetError) as exc:
        raise EnforceError(policy_message(str(exc))) from None
    groups = {name: {"set": g["set"], "remove": g["remove"], "hosts": g["hosts"]} for name, g in plan["groups"].items()}
    planned = {host: {"groups": p["groups"], "holds": p["holds"]} for host, p in plan["hosts"].items()}
    compliant = [host for host, p in planned.items() if p["holds"]]
    held = set(compliant)
    shared, warnings = shared_files(results, groups, planned)
    pending = [h for h in hosts if h not in held and h not in shared]
    lines = [f"Plan for {name} ({len(g['hosts'])} hosts): set {json.dumps(g['set'])}; remove {json.dumps(g['remove'])}"
             for name, g in groups.items()]
    return {"groups": groups, "hosts": planned, "compliant": compliant, "run_on": pending or list(hosts)[:1],
            "shared": shared, "warnings": warnings,
            "lines": (lines or ["Plan: no group to plan (no host was gathered)"]) + warnings}


def _identity_key(result) -> tuple | None:
    """What names the file a host's gather read, machine-wide (gather_result's file_identity), or None."""
    if not isinstance(result, Mapping) or result.get("failed") or result.get("skipped"):
        return None
    ident = result.get("file_identity")
    if not isinstance(ident, Mapping) or not all(ident.get(k) for k in ("machine", "path", "inode")):
        return None
    return (str(ident["machine"]), str(ident["path"]), str(ident["inode"]))


def _host_plan(planned: Mapping, groups: Mapping, host: str) -> tuple:
    """The bytes-relevant part of a host's plan: the keys and values set (as written) and the keys removed."""
    names = (planned.get(host) or {}).get("groups") or ()
    combined = _combine(tuple(names), {n: groups[n]["set"] for n in names if n in groups},
                        {n: groups[n]["remove"] for n in names if n in groups})
    texts = tuple(sorted((k, as_flink_value(k, v)) for k, v in combined["set"].items()))
    return texts, tuple(sorted(combined["remove"])), tuple(names)


def shared_files(results: Mapping, groups: Mapping, planned: Mapping) -> tuple[dict, list]:
    """Hosts whose gathers read one file (same machine, physical path and inode).

    Returns ``shared`` (host -> ``writer``, ``file``: the hosts that do not write, because the writer
    writes the same bytes for them) and one warning per shared file naming its hosts. EnforceError when
    the plans of such hosts would give the file different settings (naming the hosts and the file).
    """
    by_file: dict = {}
    for host in natural_sorted([str(h) for h in results]):
        key = _identity_key(results[host])
        if key is not None and host in planned:
            by_file.setdefault(key, []).append(host)
    shared, warnings, refused = {}, [], []
    for (_machine, path, _inode), hosts in by_file.items():
        if len(hosts) < 2:
            continue
        writer = hosts[0]
        mine = _host_plan(planned, groups, writer)
        other = next((h for h in hosts[1:] if _host_plan(planned, groups, h)[:2] != mine[:2]), None)
        if other is not None:
            theirs = _host_plan(planned, groups, other)[2]
            refused.append(f"the hosts {writer} and {other} resolve to one file, {path}, but their plans give it "
                           f"different settings (groups {', '.join(mine[2]) or 'none'} and "
                           f"{', '.join(theirs) or 'none'}); give them one conf dir each or one group")
            continue
        warnings.append(f"The hosts {host_list(hosts)} resolve to one file, {path}: only {writer} writes it "
                        "(the same bytes for all of them); a restart applies to all of them")
        shared.update({h: {"writer": writer, "file": path} for h in hosts[1:]})
    if refused:
        raise EnforceError("Nothing written: " + "; ".join(refused) + ".")
    return shared, warnings


# --- assign: what each host gets, and what is refused before anything is written ---------------

def _is_sequence(value) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _shape_problems(plan, settings, remove) -> list:
    """Why the inputs cannot be combined at all (before anything reads them)."""
    problems = []
    for name, value in (("enforce_plan", plan), ("enforce_settings", settings), ("enforce_remove", remove)):
        if not isinstance(value, Mapping):
            problems.append(f"{name} must be a mapping, got {type(value).__name__}")
    if problems:
        return problems
    if bool(plan) == bool(settings or remove):
        problems.append("both enforce_plan and enforce_settings / enforce_remove are given" if plan
                        else "none of enforce_plan, enforce_settings, enforce_remove is given")
    if plan and not (isinstance(plan.get("groups"), Mapping) and isinstance(plan.get("hosts"), Mapping)):
        problems.append("enforce_plan has no groups and hosts mappings (it is not a memory_plan result)")
    problems += [f"enforce_settings.{name} is not a mapping of keys to values (got {type(v).__name__})"
                 for name, v in settings.items() if not isinstance(v, Mapping)]
    problems += [f"enforce_remove.{name} is not a list of keys (got {type(v).__name__})"
                 for name, v in remove.items() if not _is_sequence(v)]
    return problems


def _group_problems(settings: Mapping, remove: Mapping, inventory_groups) -> list:
    """Group names that are neither an inventory group nor all/jobmanager/taskmanager (a typo writes
    nothing to the hosts it meant, silently)."""
    known = set(SPECIAL_GROUPS) | set(inventory_groups)
    candidates = sorted(known - {"ungrouped"})
    problems = []
    for var, given in (("enforce_settings", settings), ("enforce_remove", remove)):
        for name in given:
            if name in known:
                continue
            guesses = difflib.get_close_matches(str(name), candidates, n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(g) for g in guesses)}?" if guesses else ""
            problems.append(f"{var} names the group {str(name)!r}, which is neither an inventory group nor "
                            f"all, jobmanager or taskmanager{hint}")
    return problems


def _value_problems(settings: Mapping) -> list:
    """Keys and values flink_config would refuse on every host (checked once, before any write)."""
    problems = []
    for group, keys in settings.items():
        for key, value in keys.items():
            if not isinstance(key, str) or not key:
                problems.append(f"enforce_settings.{group}: a key must be a non-empty string, got {key!r}")
                continue
            try:
                as_flink_value(key, value)
            except EditError as exc:
                problems.append(f"enforce_settings.{group}: {exc}")
    return problems


def allowed(patterns) -> frozenset:
    """The keys (or shell patterns such as ``race.*``) of enforce_allow_unknown_keys."""
    if isinstance(patterns, bool) or not _is_sequence(patterns) and patterns is not None:
        raise EnforceError("enforce_allow_unknown_keys must be a list of keys (or patterns such as "
                           "'metrics.custom.*') that may be written although Flink does not know them; "
                           f"got {type(patterns).__name__}")
    return frozenset(str(p) for p in patterns or ())


@lru_cache(maxsize=4096)
def _is_allowed(key: str, patterns: frozenset) -> bool:
    return key in patterns or any(fnmatch.fnmatchcase(key, p) for p in patterns if "*" in p or "?" in p or "[" in p)


@lru_cache(maxsize=1 << 14)
def unknown_key(key: str, line: str | None) -> str | None:
    """Why ``key`` must not be written to a host of Flink ``line`` (None: every line), or None when Flink reads it."""
    every = catalog.lines()
    if line is None:
        if any(catalog.is_known(key, ln) for ln in every):
            return None
        where = f"any Flink line ({every[0]} to {every[-1]})"
        guesses = list(dict.fromkeys(g for ln in reversed(every) for g in catalog.did_you_mean(key, ln)))[:3]
    else:
        if catalog.is_known(key, line):
            return None
        known_on = catalog.lines_knowing(key)
        if known_on:
            return f"{key!r} is not read by Flink {line} (only by Flink {', '.join(known_on)})"
        where = f"Flink {line}"
        guesses = catalog.did_you_mean(key, line)
    if key in opts.IMAGINARY_KEYS:
        return f"{key!r} does not exist in any Flink release (it comes from blog posts). {opts.IMAGINARY_KEYS[key]}"
    hint = f"; did you mean {' or '.join(repr(g) for g in guesses)}?" if guesses else ""
    return f"{key!r} is not a key {where} knows{hint}"


def _known_on(key: str, line: str | None) -> bool:
    """Whether Flink of ``line`` reads ``key`` (None: every line does)."""
    return catalog.is_known(key, line) if line else all(catalog.is_known(key, ln) for ln in catalog.lines())


def _line_of(version) -> str | None:
    try:
        return opts.minor_line(version) if version else None
    except ValueError:
        return None  # flink_config says what is wrong with the version, on that host


def _member_groups(host: str, names: list, members: dict) -> tuple:
    return tuple(n for n in names if n == "all" or host in members.get(n, ())
                 or (n in PROCESS_GROUPS and host in members.get(PROCESS_GROUPS[n], ())))


def _combine(names: tuple, sets: Mapping, removes: Mapping) -> dict:
    """The keys one host gets from its groups (later groups win), and the keys two groups give different
    values (compared as the text flink_config writes) with the groups that give them."""
    given, texts, by_key = {}, {}, {}
    for name in names:
        for key, value in (sets.get(name) or {}).items():
            given[key] = value
            texts.setdefault(key, set()).add(as_flink_value(key, value))
            by_key.setdefault(key, []).append(name)
    clashes = [k for k, t in texts.items() if len(t) > 1]
    clash_groups = [n for n in names if any(n in by_key[k] for k in clashes)]
    to_remove = list(dict.fromkeys(k for n in names for k in (removes.get(n) or ())))
    both = [k for k in to_remove if k in given]
    return {"groups": list(names), "set": given, "remove": to_remove, "todo": bool(given or to_remove),
            "clashes": clashes, "clash_groups": clash_groups, "set_and_removed": both}


def assign(hosts: Sequence, inventory_groups: Mapping, plan=None, settings=None, remove=None,
           allow_unknown_keys=(), versions: Mapping | None = None, argument_errors: Sequence = ()) -> dict:
    """Per host what to set and remove, and every problem that must stop the run before anything is written.

    ``hosts``: the play's hosts; ``inventory_groups``: Ansible's ``groups`` (group -> hosts);
    ``versions``: host -> its Flink version where known before reading it (flink_version, an earlier
    gather), for the unknown-key check on that host's line (elsewhere: keys no Flink line knows);
    ``argument_errors``: what the role's argument check found. Returns ``hosts`` (host -> ``groups``,
    ``set``, ``remove``, ``todo``, ``clashes``, ``clash_groups``, ``quiet_unknown``), ``errors`` and
    ``message`` (every problem, one text).
    """
    plan = {} if plan is None else plan
    settings = {} if settings is None else settings
    remove = {} if remove is None else remove
    errors = [str(e) for e in argument_errors]
    shape = _shape_problems(plan, settings, remove)
    if shape:
        return _refused(errors + ["; ".join(shape) + ". " + USAGE])
    try:
        patterns = allowed(allow_unknown_keys)
    except EnforceError as exc:
        return _refused([*errors, str(exc)])
    if plan:
        sets = {n: g.get("set") or {} for n, g in plan["groups"].items()}
        removes = {n: g.get("remove") or [] for n, g in plan["groups"].items()}
    else:
        errors += _group_problems(settings, remove, inventory_groups)
        errors += _value_problems(settings)
        if errors:
            return _refused(errors)
        sets, removes = settings, remove
        names = list(dict.fromkeys([*settings, *remove]))
        members = {n: set(inventory_groups.get(n) or ()) for n in
                   {*names, *(PROCESS_GROUPS[n] for n in names if n in PROCESS_GROUPS)}}
    versions = versions or {}
    out, memo = {}, {}
    unknown = {}  # problem text -> [hosts], [groups]
    for host in hosts:
        if plan:
            mine = tuple((plan["hosts"].get(host) or {}).get("groups") or ())
        else:
            mine = _member_groups(host, names, members)
        line = _line_of(versions.get(host))
        decided = memo.get((mine, line))
        if decided is None:
            decided = _combine(mine, sets, removes)
            decided["unknown"] = [(k, why) for k in decided["set"] if not _is_allowed(k, patterns)
                                  for why in (unknown_key(k, line),) if why]
            # flink_config need not warn about the keys the user allowed, unless it may have to about others
            opted = [k for k in decided["set"] if _is_allowed(k, patterns)]
            decided["quiet_unknown"] = bool(opted) and all(_known_on(k, line) for k in decided["set"]
                                                           if k not in opted)
            memo[(mine, line)] = decided
        for key, why in decided["unknown"]:
            entry = unknown.setdefault(why, ([], []))
            entry[0].append(host)
            entry[1].extend(n for n in mine if key in (sets.get(n) or {}) and n not in entry[1])
        out[host] = decided
    source = "the plan's group " if plan else "enforce_settings."
    for why, (hs, groups) in unknown.items():
        glue = " " if why.endswith("?") else ". "
        where = f"{source}{', '.join(map(str, groups))} on {host_list(natural_sorted(hs))}"
        errors.append(f"{where}: {why}{glue}{ALLOW_HINT}")
    both = [f"{h}: {', '.join(d['set_and_removed'])} is both set and removed (groups {', '.join(d['groups'])})"
            for h, d in out.items() if d["set_and_removed"]]
    if both:
        errors.append("; ".join(both))
    clashes = [f"{h}: the groups {', '.join(d['clash_groups'])} give different values for {', '.join(d['clashes'])}"
               for h, d in out.items() if d["clashes"]]
    if clashes:
        errors.append(CLASH_HINT + " " + "; ".join(clashes))
    hosts_out = {}
    if not errors:
        public = {}  # hosts that share their groups share one entry
        for host, d in out.items():
            entry = public.get(id(d))
            if entry is None:
                entry = public[id(d)] = {k: d[k] for k in PUBLIC}
            hosts_out[host] = entry
    return {"errors": errors, "message": _message(errors), "hosts": hosts_out}


def _refused(errors: list) -> dict:
    return {"errors": errors, "message": _message(errors), "hosts": {}}


def _message(errors: list) -> str:
    if not errors:
        return ""
    sentences = [e if e.endswith((".", "?")) else e + "." for e in errors]
    # the first follows "Nothing written: "; a later one starting with a plain word starts a sentence
    later = [s[:1].upper() + s[1:] if s.startswith(CLASH_HINT) else s for s in sentences[1:]]
    return "Nothing written: " + " ".join([sentences[0], *later])


# --- outcome: what happened on each host ---------------------------------------------------------

STATUSES = ("changed", "would change", "compliant", "not compliant", "not planned", "failed")

# config_lint's codes for a key in a file that Flink of that line does not read: misspelled, blog-only,
# removed by that line, or only read by later lines. lint decides (one home); enforce reports them.
UNREAD_CODES = ("unknown-key", "blog-only-key", "removed-key")
_RESULT_FACTS = ("config_lines", "config_file", "config_format")


def unread_keys(result, patterns: frozenset = frozenset()) -> list:
    """The keys of a host's file that its Flink line does not read, as config_lint finds them.

    ``result``: a flink_config result or a flink_config_info result (its ``config`` and
    ``flink_version``; ``config_lines`` gives the line); ``patterns``: enforce_allow_unknown_keys (keys
    the user means to keep). Each item: ``key``, ``line`` (or None), ``code``, ``message``, ``fix``.
    """
    if not isinstance(result, Mapping) or result.get("failed") or result.get("skipped"):
        return []
    config, version = result.get("config"), result.get("flink_version")
    if not isinstance(config, Mapping) or not config or not version:
        return []
    from ansible_collections.flinkops.flink.plugins.plugin_utils import lint as lint_rules

    facts = {k: result[k] for k in _RESULT_FACTS if isinstance(result.get(k), (str, Mapping))}
    try:
        findings = lint_rules.config_lint(config, str(version), facts=facts, processes=[])
    except lint_rules.LintCallError:
        return []  # not a config lint can read: flink_config said what is wrong with it
    return [{k: f[k] for k in ("key", "line", "code", "message", "fix")} for f in findings
            if f["code"] in UNREAD_CODES and f["key"] and not _is_allowed(f["key"], patterns)]


def _unread_text(found: list) -> str:
    """A host line's account of the keys its file still holds: each with lint's reason and fix."""
    parts = []
    for item in found:
        where = f" (line {item['line']})" if item["line"] else ""
        parts.append(f"{item['key']}{where}: {item['message']} {item['fix']}")
    return ("; still in the file, nothing written for it (remove it with enforce_remove): "
            + "; ".join(parts)) if parts else ""


def _status(result) -> str:
    if not isinstance(result, Mapping) or result.get("skipped"):
        return "not planned"
    if result.get("changed"):
        return "changed" if result.get("restart_required") else "would change"
    return "compliant"


def failure_reason(result, host: str = "") -> str:
    """One line saying why a host failed (its module's own message)."""
    if not isinstance(result, Mapping):
        return "failed before its flink_config task ran"
    msg = str(result.get("msg") or "failed without a message").strip()
    if host and msg.startswith(f"{host}: "):
        msg = msg[len(host) + 2:]  # the line names the host already
    first = msg.splitlines()[0] if msg else msg
    if result.get("unreachable"):
        first = "unreachable: " + first
    return first if len(first) <= 500 else first[:497] + "..."


def _change_text(changes) -> str:
    parts = []
    for c in changes or ():
        text = f"{c.get('action')} {c.get('key')}"
        if c.get("action") == "update":
            text += f" {c.get('before')} -> {c.get('after')}"
        elif c.get("action") == "add":
            text += f" = {c.get('after')}"
        parts.append(text)
    return (": " + "; ".join(parts)) if parts else ""


def outcome(results: Mapping, hosts_all: Sequence, alive: Sequence, batch: Sequence, compliant: Sequence = (),
            confirmed: bool = False, check_mode: bool = False, planned: bool = False,
            shared: Mapping | None = None, gathered: Mapping | None = None, allow_unknown_keys=()) -> dict:
    """Each host's status and facts, the restart list, the summary and the report lines.

    ``results``: host -> its registered flink_config result (None when it has none); ``hosts_all``,
    ``alive``, ``batch``: the play's hosts, those not failed, this batch's; ``compliant``: hosts the
    caller found compliant outside the play (not contacted); ``shared``: host -> ``writer``, ``file`` for
    hosts left out because another host writes their file (prepare): they get the writer's status and restart.
    ``gathered``: host -> its flink_config_info result from earlier in the run, for the hosts without a
    flink_config result (not contacted, nothing to set) or whose result was taken from it (``read_from``
    gather); ``allow_unknown_keys``: enforce_allow_unknown_keys.
    A host whose file (after this run) still holds keys its Flink line does not read is reported with them
    (``unknown_keys``), and "not compliant" where it would be compliant.
    """
    in_play = set(hosts_all)
    alive_set = set(alive)
    patterns = allowed(allow_unknown_keys)
    gathered = gathered if isinstance(gathered, Mapping) else {}
    facts, lines, status_of, unread = [], [], {}, {}

    def still_there(host, result):
        mine = result if isinstance(result, Mapping) and result.get("config") is not None else None
        if mine is None or mine.get("read_from") == "gather" and isinstance(gathered.get(host), Mapping):
            mine = gathered.get(host)  # the read itself: it has the line numbers
        found = unread_keys(mine, patterns)
        if found:
            unread[host] = found
        return found

    for host in compliant:
        if host in in_play:
            continue
        found = still_there(host, None)
        status = "not compliant" if found else "compliant"
        status_of[host] = status
        facts.append({"host": host, "restart_required": False, "changes": [], "status": status,
                      "unknown_keys": found})
        lines.append(f"{host}: {status} (its gather shows every planned key in place; not contacted)"
                     f"{_unread_text(found)}" if found else
                     f"{host}: compliant (its gather shows every key in place; not contacted)")
    for host in batch:
        if host not in alive_set:
            continue
        result = results.get(host)
        status = _status(result)
        found = still_there(host, result)
        if found and status == "compliant":
            status = "not compliant"
        status_of[host] = status
        result = result if isinstance(result, Mapping) else {}
        changes = list(result.get("changes") or [])
        facts.append({"host": host, "restart_required": bool(result.get("restart_required")), "changes": changes,
                      "status": status, "unknown_keys": found})
        if status == "not planned":
            where = " (the plan does not cover this host)" if planned else " (nothing to set)"
        else:
            where = f" {result.get('config_file')}"
        lines.append(f"{host}: {status}{where}{_change_text(changes)}{_unread_text(found)}")
    failures = {}
    for host in hosts_all:
        if host in alive_set:
            continue
        failures[host] = failure_reason(results.get(host), host)
        facts.append({"host": host, "restart_required": False, "changes": [], "status": "failed"})
        lines.append(f"{host}: failed: {failures[host]}")
    mirrored = []
    for host, share in (shared or {}).items():
        writer, path = share.get("writer"), share.get("file")
        if host in in_play:
            continue
        if writer in failures:
            failures[host] = f"{path} is written by {writer}, the host sharing it, which failed"
            facts.append({"host": host, "restart_required": False, "changes": [], "status": "failed"})
            lines.append(f"{host}: failed: {failures[host]}")
        elif writer in status_of:
            mine = dict(next(f for f in facts if f["host"] == writer), host=host)
            status_of[host] = mine["status"]
            facts.append(mine)
            mirrored.append(host)
            if writer in unread:
                unread[host] = unread[writer]
            lines.append(f"{host}: {mine['status']} {path} (the same file as {writer}, written by it)")
    reported = [h for h in alive if h in status_of] + [h for h in compliant if h not in in_play] + mirrored
    restart = [f["host"] for f in facts if f["restart_required"] and f["status"] == "changed"]
    summary = {
        "changed": [h for h in reported if status_of[h] == "changed"],
        "would_change": [h for h in reported if status_of[h] == "would change"],
        "compliant": [h for h in reported if status_of[h] == "compliant"],
        "not_compliant": [h for h in reported if status_of[h] == "not compliant"],
        "not_planned": [h for h in reported if status_of[h] == "not planned"],
        "failed": list(failures),
        "failures": failures,
        "unknown_keys": {h: unread[h] for h in reported if h in unread},
        "confirmed": bool(confirmed),
        "check_mode": bool(check_mode),
        "written": bool(confirmed) and not check_mode,
    }
    lines.append(summary_line(summary, restart))
    return {"facts": facts, "restart_hosts": restart, "summary": summary, "lines": lines}


def summary_line(summary: Mapping, restart: Sequence) -> str:
    """The last report line: what was done (or what a check run found) and what failed, by name."""
    if summary["check_mode"]:
        head = "Check run (--check), nothing written"
    elif not summary["confirmed"]:
        head = "Check mode (enforce_confirm is false), nothing written"
    else:
        head = "Written"
    not_compliant = summary.get("not_compliant") or []
    text = (f"{head}: {len(summary['changed'])} changed, {len(summary['would_change'])} would change, "
            f"{len(summary['compliant'])} compliant, "
            + (f"{len(not_compliant)} not compliant, " if not_compliant else "")
            + f"{len(summary['failed'])} failed.")
    if summary["failures"]:
        text += " Failed: " + "; ".join(f"{h} ({why})" for h, why in summary["failures"].items()) + "."
    if not summary["written"] and summary["would_change"]:
        text += f" Would change: {', '.join(summary['would_change'])}."
    text += f" Restart needed on: {', '.join(restart) or 'none'}."
    return text + removal_text(summary.get("unknown_keys") or {})


def removal_text(unread: Mapping) -> str:
    """What the summary says about keys Flink does not read that are still in the files: which, where,
    lint's fix for each, and the enforce_remove run that removes them (one per set of keys, limited to
    the hosts holding them: a key one host's line does not read may be right on another's)."""
    if not unread:
        return ""
    by_keys: dict = {}
    fixes: dict = {}
    for host, found in unread.items():
        keys = tuple(dict.fromkeys(item["key"] for item in found))
        by_keys.setdefault(keys, []).append(host)
        for item in found:
            fixes.setdefault(item["key"], item["fix"])
    held = "; ".join(f"{', '.join(hosts)}: {', '.join(keys)}" for keys, hosts in by_keys.items())
    runs = "; ".join(f"ansible-playbook -i <inventory> flinkops.flink.enforce --limit {','.join(hosts)} "
                     f"-e '{json.dumps({'enforce_remove': {'all': list(keys)}})}' -e enforce_confirm=true"
                     for keys, hosts in by_keys.items())
    advice = " ".join(f"{key}: {fix}" for key, fix in fixes.items())
    return (f" Not compliant: keys Flink does not read are still in the files ({held}); nothing was written for "
            f"them. {advice} Remove them with enforce_remove (after setting what they meant, if anything): {runs}.")
