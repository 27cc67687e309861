# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one run() of the collection's four action plugins: refuse internal options, validate the
arguments, do the task, and one error path turning every failure into a message.

A mixin, placed before Ansible's ActionBase (``class ActionModule(FlinkAction, ActionBase)``), so
that plugin_utils imports without Ansible: Ansible's exceptions are looked up only when one is
being handled, at task run time, where Ansible is there by definition.
"""

from __future__ import annotations

import gc
import json
import multiprocessing


def plain_json(value):
    """Ansible's tagged values and lazy containers as plain JSON data."""
    return json.loads(json.dumps(value, default=str))


def wait_options(interval: float) -> dict:
    """The argument spec of a task that reads once or, given wait_for, waits (flink_cluster_info,
    flink_zookeeper_info; documented in plugins/doc_fragments/wait.py): ``interval`` is wait_interval's default."""
    return {
        "wait_for": {"type": "dict"},
        "wait_timeout": {"type": "float", "default": 0},
        "wait_interval": {"type": "float", "default": interval},
    }


def fail_unless_met(outcome: dict, where: str, wait_timeout: float) -> None:
    """End a wait: nothing when ``outcome["ok"]``, else ActionFailed naming ``where`` (the task's name and what it
    watched) and why - the conditions that failed for good, or those still not true when wait_timeout ran out."""
    if outcome["ok"]:
        return
    if outcome["fatal"]:
        why = "; ".join(outcome["fatal"])
    else:
        why = (f"still not true after {outcome['waited']:.0f}s (wait_timeout {wait_timeout:g}s): "
               + "; ".join(outcome["unmet"]))
    raise ActionFailed(f"{where}: {why}")


def freeze_inherited_objects() -> bool:
    """In a worker forked from ansible-playbook (an action runs in one, one task and host a process): every object
    the worker inherited (the inventory, every result registered so far) put out of the cycle collector's reach,
    so a collection the task's own allocations set off walks only what the task made. Else a full one walks the
    whole inherited heap and, its pages being the parent's until written, copies each page it touches (the
    audit with logs: 0.8 ms a host in the gather's workers, py-spy; more the more hosts and results the parent
    holds). Not in a process that was not forked so (tests, in-process callers), where the objects would never be
    collected again. True when it froze."""
    if multiprocessing.parent_process() is None:
        return False
    gc.freeze()
    return True


class ActionFailed(Exception):
    """Fail the task with ``msg`` (complete: host, file, what to do); ``fields`` go into the result
    (a write that happened before the failure keeps ``changed`` true)."""

    def __init__(self, msg: str, **fields):
        super().__init__(msg)
        self.msg = msg
        self.fields = fields


def _is_ansible_error(exc: BaseException) -> bool:
    """Ansible's own errors (unreachable host, bad arguments, undefined variables) are Ansible's to report."""
    from ansible.errors import AnsibleError  # noqa: PLC0415 -- see the module docstring

    return isinstance(exc, AnsibleError)


class FlinkAction:
    """Template of a controller-side task. Subclasses set ARGUMENT_SPEC (and INTERNAL, the options only
    the action itself sets for its module) and implement ``act``."""

    NAME = ""  # the task's module name, for messages
    ARGUMENT_SPEC: dict = {}
    INTERNAL: tuple = ()
    HOST_VARIABLES: dict = {}  # option -> the host variable it defaults to (module_utils/task_options.py)
    MESSAGE_PREFIX = "host"  # "host": messages start with the inventory host; "name": with NAME

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def act(self, result: dict, args: dict, host: str, task_vars: dict) -> None:
        """Fill ``result``; raise ActionFailed to fail the task."""
        raise NotImplementedError

    def prefix(self, host: str) -> str:
        return f"{host}: " if self.MESSAGE_PREFIX == "host" else f"{self.NAME}: "

    def _options_from_host_variables(self, task_vars: dict) -> None:
        """Each option the task does not set, from the host variable of the same meaning when the host has it.
        Not for a delegated task: its variables are the inventory host's, not those of the host it runs on."""
        if self._task.delegate_to:
            return
        for option, variable in self.HOST_VARIABLES.items():
            if option not in self._task.args and task_vars.get(variable) is not None:
                self._task.args[option] = self._templar.template(task_vars[variable])

    def run(self, tmp=None, task_vars=None):
        freeze_inherited_objects()  # the worker ends with the task: nothing it inherited needs collecting
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        host = task_vars.get("inventory_hostname", "?")
        result["changed"] = False
        try:
            given = [k for k in self.INTERNAL if k in self._task.args]
            if given:
                raise ActionFailed(f"{self.prefix(host)}{', '.join(given)} are set by the action plugin itself, "
                                   f"not by a playbook; remove them (see ansible-doc flinkops.flink.{self.NAME})")
            self._options_from_host_variables(task_vars)
            args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)[1]
            self.act(result, args, host, task_vars)
        except ActionFailed as exc:
            result.update(exc.fields)
            result.update(failed=True, msg=exc.msg)
        except Exception as exc:  # noqa: BLE001 -- the task boundary: a message, never a traceback
            if _is_ansible_error(exc):
                raise
            where = f"{host}: internal error in {self.NAME}" if self.MESSAGE_PREFIX == "host" else \
                f"{self.NAME}: internal error"
            result.update(failed=True, msg=f"{where} ({type(exc).__name__}: {exc}); please report it")
        return result
