# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of flinkops.flink.flink_config: read with one ``sh`` command, decide here, write only on change.

1. Read the file the host's Flink reads exactly as flinkops.flink.flink_config_info does (its script,
   framing and checks are reused: one shell command, no Python on the host).
2. Compute the edit on the controller (plugin_utils/config_edit.py): the file's own format, every
   spelling of removed keys, unknown-key warnings, the memory model of each process for validation,
   and a diff with sensitive values hidden.
3. Only when the bytes change, and not in check mode, run the flink_config module on the host with
   the new content and the sha256 read in step 1: it writes atomically, or refuses when the file
   changed in between.
"""

from __future__ import annotations

import base64
import dataclasses
import posixpath
import time

from ansible.plugins.action import ActionBase

from ansible_collections.flinkops.flink.plugins.module_utils.config_files import LEGACY_NAME, YAML_NAME
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf_edit import EditError
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.task_options import (
    CONFIG_OPTIONS,
    CONFIG_WRITE_OLD_NAMES,
    CONFIG_WRITE_OPTIONS,
    HOST_VARIABLES,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils import catalog
from ansible_collections.flinkops.flink.plugins.plugin_utils.action_base import ActionFailed, FlinkAction
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_edit import (
    EditRefused,
    already_holds,
    infer_processes,
    plan_edit,
    unknown_key_warnings,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.gather_protocol import build_script
from ansible_collections.flinkops.flink.plugins.plugin_utils.gather_result import (
    GatherError,
    build_result,
    read_answer,
    redact_anywhere,
    resolve_target,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.write_outcome import write_failure

# Imported in ansible-playbook's main process (the strategy loads the action class before it forks a
# worker per host): the catalog's index, which each host's unknown-key check reads, is built here once and
# inherited by every worker instead of being built again in each.
catalog.index_every_line()

GATHERED_KEYS = ("config", "config_file", "conf_dir", "config_format", "flink_version", "checksum", "read_at",
                 "skipped_lines")


def _outside_conf_dir(path: str, conf_dir: str) -> bool:
    """Whether the resolved config file lies outside the (resolved) conf dir and the directories under it."""
    return not posixpath.normpath(path).startswith(posixpath.normpath(conf_dir).rstrip("/") + "/")


def gathered_unusable(gathered, conf_dir: str, version: str | None, max_age: int, now: float) -> str | None:
    """Why a flink_config_info result cannot stand in for reading the host now (None: it can).

    It must be a successful read of the same conf dir (and version, when given), fresh, of a file
    inside that dir whose every line Flink reads (the editor and Flink's map agree line for line).
    """
    if gathered.get("failed") or gathered.get("skipped") or gathered.get("unreachable"):
        return "the gather failed on this host"
    missing = [k for k in GATHERED_KEYS if k not in gathered]
    if missing:
        return f"it is not a flink_config_info result (no {', '.join(missing)})"
    if not isinstance(gathered["config"], dict) or not isinstance(gathered["read_at"], (int, float)):
        return "it is not a flink_config_info result (config or read_at of the wrong type)"
    if gathered["conf_dir"] != conf_dir:
        return f"it read {gathered['conf_dir']}, not {conf_dir}"
    if version is not None and gathered["flink_version"] != version:
        return f"it read as Flink {gathered['flink_version']}, not {version}"
    age = now - gathered["read_at"]
    if not 0 <= age <= max_age:
        return f"it was read {age:.0f} seconds ago (gathered_max_age: {max_age})"
    if gathered["skipped_lines"]:
        return "the file has lines Flink skips"
    if _outside_conf_dir(gathered["config_file"], conf_dir):
        return f"the file it read, {gathered['config_file']}, is not inside {conf_dir}"
    return None


class ActionModule(FlinkAction, ActionBase):
    NAME = "flink_config"
    ARGUMENT_SPEC = CONFIG_OPTIONS
    INTERNAL = (*CONFIG_WRITE_OPTIONS, *CONFIG_WRITE_OLD_NAMES)
    HOST_VARIABLES = {option: variable for option, variable in HOST_VARIABLES.items()
                      if option in CONFIG_OPTIONS}
    _supports_check_mode = True  # decided here; the module runs only to write

    def act(self, result, args, host, task_vars):
        try:
            target = resolve_target(args, host, task_vars.get("group_names"))
        except GatherError as exc:
            raise ActionFailed(str(exc)) from None
        conf_dir, version, processes = target.conf_dir, target.flink_version, target.processes

        gathered = args["gathered"]
        if gathered is not None and not args["restore_from"]:
            why = gathered_unusable(gathered, conf_dir, version, args["gathered_max_age"], time.time())
            if why is None and already_holds(gathered["config"], args["settings"], args["remove"],
                                             gathered["flink_version"]):
                self._as_gathered(result, host, gathered, args, processes)
                return
            result["gather_not_used"] = why or "it shows something to change, so the host is read to change it"

        try:
            read = self._read(host, target)
            gathered, content = read["gathered"], read["content"]
            path, fmt, version = gathered["config_file"], gathered["config_format"], gathered["flink_version"]
            outside = _outside_conf_dir(path, read["conf_physical"] or conf_dir)
            if outside and not args["follow_symlinks_outside_conf_dir"]:
                link = posixpath.join(conf_dir, posixpath.basename(read["name"]))
                raise ActionFailed(f"{host}: {link} is a symlink to {path}, outside the conf dir "
                                   f"{read['conf_physical'] or conf_dir}; nothing was written. The target may "
                                   "be shared with other hosts or programs: set "
                                   "follow_symlinks_outside_conf_dir: true to edit it, or replace the link "
                                   "with a file")
            if args["restore_from"]:
                plan = self._restore_plan(host, args, path, fmt, version, processes, content, task_vars)
            else:
                plan = plan_edit(content, fmt, path, version, args["settings"], args["remove"], processes,
                                 validate=args["validate"], allow_unknown_keys=args["allow_unknown_keys"],
                                 want_diff=self._task.diff)
        except (EditError, EditRefused) as exc:
            raise ActionFailed(f"{host}: {exc}") from None
        except GatherError as exc:
            raise ActionFailed(str(exc)) from None

        if read["warnings"]:
            result.setdefault("warnings", []).extend(read["warnings"])
        self._describe(result, host, gathered, read_from="host", changed=plan.changed,
                       config=redact_anywhere(plan.after), changes=plan.changes, memory=plan.memory,
                       warnings=plan.warnings)
        if plan.diff is not None:
            result["diff"] = plan.diff
        if not plan.changed or self._task.check_mode:
            if plan.changed:
                result["checksum"] = plan.checksum
            return

        module_args = {
            "_path": path,
            "_content": base64.b64encode(plan.content).decode("ascii"),
            "_expected_checksum": gathered["checksum"],
            "_content_checksum": plan.checksum,
            "backup": args["backup"],
            "backups_to_keep": args["backups_to_keep"],
        }
        written = self._execute_module(module_name="flinkops.flink.flink_config", module_args=module_args,
                                       task_vars=task_vars)
        # what the module did, failed or not: a file written is a restart to come
        wrote = bool(written.get("changed"))
        result.update(changed=wrote, restart_required=wrote)
        if written.get("failed"):
            raise ActionFailed(write_failure(written, host))
        result["checksum"] = written.get("checksum", plan.checksum)
        if written.get("written_by_another"):
            result.setdefault("warnings", []).append(
                f"{host}: {path} already held the new content when written, although it changed since it was read: "
                "another writer wrote the same settings in between. Do two inventory hosts resolve to this one file "
                "(one conf dir shared by two hosts)? Nothing more to do here")
        if written.get("backup_file"):
            result["backup_file"] = written["backup_file"]

    def _restore_plan(self, host, args, path, fmt, version, processes, content, task_vars):
        """The write that puts ``restore_from`` back, byte for byte, checked as any edit is (Flink must start)."""
        backup = args["restore_from"]
        if args["settings"] or args["remove"]:
            raise ActionFailed(f"{host}: restore_from puts a backup back as it is; give no settings or remove with it")
        if posixpath.dirname(backup) != posixpath.dirname(path):
            raise ActionFailed(f"{host}: restore_from {backup} is not a backup next to {path}; nothing was written")
        got = self._execute_module(module_name="ansible.builtin.slurp", module_args={"src": backup},
                                   task_vars=task_vars)
        if got.get("failed"):
            raise ActionFailed(f"{host}: cannot read the backup {backup} ({got.get('msg')}); nothing was written")
        restored = base64.b64decode(got["content"])
        plan = plan_edit(restored, fmt, path, version, {}, [], processes, validate=False, want_diff=False)
        bad = [f"the {p}: {m['error']}" for p, m in plan.memory.items() if not m["valid"]]
        if bad and args["validate"]:
            raise ActionFailed(f"{host}: {backup}: Flink {version} would not start {' and '.join(bad)}; nothing was "
                               "written (validate: false writes it anyway)")
        return dataclasses.replace(plan, changed=restored != content, changes=[])

    @classmethod
    def _as_gathered(cls, result: dict, host: str, gathered: dict, args: dict, processes: list) -> dict:
        """The result for a host whose gathered read already holds everything: what reading it again would
        give (its warnings included), without contacting it."""
        config, version = gathered["config"], gathered["flink_version"]
        warnings = [] if args["allow_unknown_keys"] else unknown_key_warnings(args["settings"], version)
        # memory keys are never sensitive: the redacted map computes as the file does
        procs = processes or infer_processes(config)
        return cls._describe(result, host, gathered, read_from="gather", changed=False, config=config, changes=[],
                             memory={p: compute(config, p, version) for p in procs}, warnings=warnings)

    @staticmethod
    def _describe(result: dict, host: str, read: dict, *, read_from: str, changed: bool, config: dict,
                  changes: list, memory: dict, warnings: list) -> dict:
        """The result's account of the file, in one shape whether this task read it or a gather did.

        ``read``: the flink_config_info result of that read; ``warnings``: about the file (prefixed here).
        """
        path = read["config_file"]
        if warnings:
            result.setdefault("warnings", []).extend(f"{host}: {path}: {w}" for w in warnings)
        result.update(changed=changed, read_from=read_from, restart_required=False, config_file=path,
                      config_format=read["config_format"], flink_version=read["flink_version"], config=config,
                      changes=changes, checksum=read["checksum"], memory=memory)
        return result

    def _read(self, host, target) -> dict:
        """The gathered facts and the raw bytes of the file Flink reads; raises GatherError."""
        # sudoable only with become (no pty otherwise: see flink_config_info)
        out = self._low_level_execute_command(build_script(target.flink_home, target.conf_dir,
                                                           target.max_file_size),
                                              sudoable=self._connection.become is not None)
        got = read_answer(out, host, target.conf_dir)
        gathered, warnings = build_result(got, host, flink_home=target.flink_home, conf_dir=target.conf_dir,
                                          flink_version=target.flink_version, processes=target.processes,
                                          max_file_size=target.max_file_size)
        name = LEGACY_NAME if gathered["config_format"] == "legacy" else YAML_NAME
        return {"gathered": gathered, "content": got.files[name].content or b"", "warnings": warnings,
                "name": name, "conf_physical": got.conf_physical}
