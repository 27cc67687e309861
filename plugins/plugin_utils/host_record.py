# -*- coding: utf-8 -*-
# Copyright: flinkops.flink contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One typed record of a gathered host, built from a ``flink_config_info`` result in one place.

Everything downstream of the gather (lint, drift, plan, report, upgrade) takes a ``GatheredHost``
(or learns from a ``NotGathered`` why there is none) instead of reading loosely shaped Ansible
result dicts. ``read_host`` is the only code that reads Ansible's ``failed`` / ``unreachable`` /
``skipped``; ``Limits`` is the one rule for the tightest memory limit of a host; ``model`` is the
one rule for reusing the gather's memory model or computing it.

Controller side; never imports Ansible.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from ansible_collections.flinkops.flink.plugins.module_utils import options as opts
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import PROCESS_KINDS, compute

PROCESSES = ("jobmanager", "taskmanager")  # the order every report and plan lists them in

# Where a limit comes from, most specific first: on a tie the inventory's word binds, then the cgroup.
LIMIT_SOURCES = ("inventory", "cgroup", "ram")


def _bytes(value):
    """A positive byte count, or None (unknown, unlimited, or not a number)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@dataclass(frozen=True, slots=True)
class Limits:
    """The memory limits known for a host and the one rule for which of them binds.

    ``ram``: MemTotal; ``cgroup``: the gathering shell's cgroup limit (None: unlimited);
    ``inventory``: the host variable ``flink_memory_limit_bytes`` (the container's limit as the
    operator states it). The tightest known one binds; the audit's lint, the report and the plan all
    ask this.
    """

    ram: int | None = None
    cgroup: int | None = None
    inventory: int | None = None

    @classmethod
    def of(cls, ram=None, cgroup=None, inventory=None) -> Limits:
        return cls(_bytes(ram), _bytes(cgroup), _bytes(inventory))

    def known(self) -> list:
        """``[(bytes, source)]`` of every known limit, tightest first (ties: LIMIT_SOURCES order)."""
        found = [(getattr(self, source), source) for source in LIMIT_SOURCES if getattr(self, source) is not None]
        return sorted(found, key=lambda item: (item[0], LIMIT_SOURCES.index(item[1])))

    @property
    def binding(self) -> tuple:
        """``(bytes, source)`` of the limit that binds, ``(None, None)`` when none is known: the first of
        ``known()``, found without sorting (the lint asks it for every host)."""
        limit, source = None, None
        for value, name in ((self.inventory, "inventory"), (self.cgroup, "cgroup"), (self.ram, "ram")):
            if value is not None and (limit is None or value < limit):  # strict: ties keep the earlier source
                limit, source = value, name
        return limit, source

    @property
    def bytes(self) -> int | None:
        return self.binding[0]

    @property
    def source(self) -> str | None:
        return self.binding[1]


@lru_cache(maxsize=4096)
def _computed(items: frozenset, process: str, line: str) -> dict:
    return compute(dict(items), process, line)


def _memory_keys(process: str) -> frozenset:
    keys = set()
    for option in opts.PROCESSES[process].values():
        keys.update(option.names())
    keys.update(k for k in opts.IMAGINARY_KEYS if k.startswith((process + ".", "flink.")))
    return frozenset(keys)


_MEMORY_KEYS = {p: _memory_keys(p) for p in PROCESS_KINDS}


def memory_keys(process: str) -> frozenset:
    """Keys that can change what Flink computes for ``process`` (every line, fallbacks, blog-only keys)."""
    return _MEMORY_KEYS[process]


def model_of(config: Mapping, gathered, process: str, line: str) -> dict:
    """The one reuse-or-compute rule for a memory model.

    The gather's own result (``gathered``: its ``memory`` entry for ``process``) is reused when it is a
    complete memory_model result for this Flink line: flink_config_info computed it from the
    unredacted file, and memory options are never sensitive, so it is what compute() gives for the
    redacted config. Otherwise it is computed from the config's memory keys (hosts with the same
    memory keys share one computation).
    """
    # pylint: disable-next=unidiomatic-typecheck
    if (type(gathered) is dict or isinstance(gathered, Mapping)) and gathered.get("flink_version") == line \
            and "valid" in gathered and "keys" in gathered:
        return gathered  # what results arriving from Ansible are: plain dicts (the exact-type test is cheap)
    keys = memory_keys(process)
    items = frozenset((k, v) for k, v in config.items() if k in keys)
    return _computed(items, process, line)


@dataclass(frozen=True, slots=True)
class GatheredHost:
    """What the gather read on one host: the file Flink reads, its facts and the host's limits."""

    name: str
    flink_version: str  # as gathered (a release such as 1.20.5, or a line)
    line: str  # its minor line (1.20)
    processes: tuple  # of PROCESSES, in that order
    config: Mapping  # flat key -> value, sensitive values redacted
    config_file: str | None = None
    conf_dir: str | None = None
    config_format: str | None = None
    config_lines: Mapping = field(default_factory=dict)
    ignored_files: tuple = ()
    skipped_lines: tuple = ()
    checksum: str | None = None
    read_at: float | None = None
    limits: Limits = field(default_factory=Limits)
    cpu_count: int | None = None
    memory: Mapping = field(default_factory=dict)  # process -> the gather's memory_model result
    live_probe: Mapping | None = None
    resource_id: str | None = None  # the id its TaskManager registers under over REST (live.resource_id)
    result: Mapping = field(default_factory=dict, repr=False, compare=False)  # the result it was read from

    def model(self, process: str) -> dict:
        """The memory model of ``process`` on this host (model_of: the gather's, or computed once)."""
        return model_of(self.config, self.memory.get(process) if isinstance(self.memory, Mapping) else None,
                        process, self.line)


@dataclass(frozen=True, slots=True)
class NotGathered:
    """A host whose gather gave nothing to analyse, and why (``msg``)."""

    name: str
    msg: str  # Ansible's own message for a failed or unreachable task, else what is wrong with the result
    unreachable: bool = False
    skipped: bool = False

    @property
    def why(self) -> str:
        """The message as the drift and the plan list it."""
        return f"unreachable: {self.msg}" if self.unreachable else self.msg


_minor_line = lru_cache(maxsize=256)(opts.minor_line)


def not_gathered(name, result) -> NotGathered | None:
    """Why a registered result cannot be analysed, or None when it can: the one reader of Ansible's
    ``failed`` / ``unreachable`` / ``skipped`` (read_host and fleet.split_results ask it)."""
    # pylint: disable-next=unidiomatic-typecheck
    if type(result) is not dict and not isinstance(result, Mapping):
        return NotGathered(str(name), f"no flink_config_info result (got {type(result).__name__})")
    if result.get("unreachable"):
        return NotGathered(str(name), str(result.get("msg") or "no message"), unreachable=True)
    if result.get("failed"):
        return NotGathered(str(name), str(result.get("msg") or "the gather failed without a message"))
    if result.get("skipped"):
        return NotGathered(str(name), "the gather task was skipped" +
                           (f": {result['skip_reason']}" if result.get("skip_reason") else ""), skipped=True)
    config = result.get("config")
    # pylint: disable-next=unidiomatic-typecheck
    if (type(config) is not dict and not isinstance(config, Mapping)) or not result.get("flink_version"):
        return NotGathered(str(name), "not a flink_config_info result (no config or flink_version)")
    try:
        _minor_line(str(result["flink_version"]))
    except ValueError as exc:
        return NotGathered(str(name), str(exc))
    return None


def _resource_id(name, result):
    # plugin_utils.live (REST and urllib) is imported only for a host that runs a TaskManager: the report,
    # lint and fleet code importing this module run in worker processes that compile what they import
    from ansible_collections.flinkops.flink.plugins.plugin_utils.live import resource_id

    return resource_id(name, result)


def read_host(name, result, inventory_limit=None) -> GatheredHost | NotGathered:
    """The record of one host from its registered flink_config_info result (the one place that reads
    Ansible's failed / unreachable / skipped). ``inventory_limit``: its flink_memory_limit_bytes."""
    name = str(name)
    why = not_gathered(name, result)
    if why is not None:
        return why
    version = str(result["flink_version"])
    procs = result.get("processes")
    procs = tuple(p for p in PROCESSES if p in procs) if isinstance(procs, (list, tuple)) else ()
    memory = result.get("memory")
    return GatheredHost(
        name=name,
        flink_version=version,
        line=_minor_line(version),
        processes=procs,
        config=result["config"],
        config_file=result.get("config_file"),
        conf_dir=result.get("conf_dir"),
        config_format=result.get("config_format"),
        config_lines=result.get("config_lines") or {},
        ignored_files=tuple(result.get("ignored_files") or ()),
        skipped_lines=tuple(result.get("skipped_lines") or ()),
        checksum=result.get("checksum"),
        read_at=result.get("read_at"),
        limits=Limits.of(result.get("mem_total_bytes"), result.get("cgroup_memory_limit_bytes"), inventory_limit),
        cpu_count=result.get("cpu_count"),
        memory=memory if isinstance(memory, Mapping) else {},
        live_probe=result.get("live_probe"),
        resource_id=_resource_id(name, result) if "taskmanager" in procs else None,
        result=result,
    )


if set(PROCESSES) != set(PROCESS_KINDS):  # the two process names, one set
    raise AssertionError("host_record's process names differ from flink_names'")
