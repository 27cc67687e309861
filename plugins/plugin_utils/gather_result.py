# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One host's gather result from what its command reported (plugins/plugin_utils/gather_protocol.py).

Pure: no Ansible, no I/O. Decides which file Flink reads and whether the host could hand it over,
parses it as Flink does, computes the memory model of each process and redacts sensitive values.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass

from ansible_collections.flinkops.flink.plugins.module_utils import host_facts, live_probe
from ansible_collections.flinkops.flink.plugins.module_utils.config_files import ConfigFileError, choose_config_file
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import parse_flink_conf
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.options import minor_line, redact_anywhere
from ansible_collections.flinkops.flink.plugins.module_utils.task_options import PROCESSES
from ansible_collections.flinkops.flink.plugins.plugin_utils import diagnose_tail
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import parse_config_yaml
from ansible_collections.flinkops.flink.plugins.plugin_utils.gather_protocol import (
    FileChangedError,
    FramingError,
    Gathered,
    interpret,
    parse_frames,
)

GROUPS = {"jobmanager": "flink_jobmanager", "taskmanager": "flink_taskmanager"}


class GatherError(Exception):
    """This host's gather failed; the message is complete (host, file, line, key, what to do)."""


def _errno_reason(text: str | None) -> str:
    # cat's message ends with the strerror text (LC_ALL=C), e.g. "Too many levels of symbolic links".
    if not text:
        return "unknown error"
    return text.rsplit(": ", 1)[-1]


def _choose(version: str, present: set[str], conf_dir: str, host: str):
    try:
        return choose_config_file(version, sorted(present), conf_dir)
    except ConfigFileError as exc:
        raise GatherError(f"{host}: {exc}") from exc


def default_processes(group_names) -> list[str]:
    """Processes a host runs according to the inventory groups flink_jobmanager / flink_taskmanager."""
    groups = set(group_names or ())
    return [p for p in PROCESSES if GROUPS[p] in groups]


@dataclass(frozen=True)
class Target:
    """Where a host task reads: the host options checked and their defaults filled in."""

    flink_home: str | None
    conf_dir: str
    flink_version: str | None
    processes: list
    max_file_size: int


def resolve_target(args: dict, host: str, group_names) -> Target:
    """The host options of flink_config_info / flink_config (module_utils/task_options.py HOST_OPTIONS),
    checked; raises GatherError naming the host and the option."""
    flink_home, conf_dir, version = args["flink_home"], args["conf_dir"], args["flink_version"]
    for name in ("flink_home", "conf_dir"):
        if args[name] is not None and not posixpath.isabs(args[name]):
            raise GatherError(f"{host}: {name} must be an absolute path on the host, got {args[name]!r}")
    if not flink_home and not (conf_dir and version):
        raise GatherError(f"{host}: flink_home is required unless both conf_dir and flink_version are given")
    if args["max_file_size"] <= 0:
        raise GatherError(f"{host}: max_file_size must be positive, got {args['max_file_size']}")
    processes = args["processes"]
    if processes is None:
        processes = default_processes(group_names)
    return Target(flink_home, posixpath.normpath(conf_dir or posixpath.join(flink_home, "conf")), version,
                  list(dict.fromkeys(processes)), args["max_file_size"])


def build_result(got: Gathered, host: str, *, flink_home: str | None, conf_dir: str,
                 flink_version: str | None, processes: list[str], max_file_size: int,
                 log_dir: str | None = None) -> tuple[dict, list[str]]:
    """The task result for one host from what its command reported; raises GatherError.

    Returns (result, warnings). Pure: no Ansible, no I/O, so it is unit tested directly.
    """
    warnings: list[str] = []

    # Flink version: the option wins; otherwise the name of lib/flink-dist*.jar.
    detected = None
    lib_dir = posixpath.join(flink_home, "lib") if flink_home else None
    if flink_home:
        not_flink = None
        if got.home == "absent":
            not_flink = f"flink_home {flink_home} does not exist"
        elif got.home == "notdir":
            not_flink = f"flink_home {flink_home} is not a directory"
        elif got.lib != "dir":
            not_flink = f"{lib_dir} does not exist, so {flink_home} is not a Flink installation"
        try:
            if not_flink:
                looked = " or ".join(host_facts.DIST_GLOBS)
                raise host_facts.HostFactError(
                    f"cannot detect the Flink version: {not_flink} (looked for {looked} under flink_home); "
                    "point flink_home at a Flink installation or set flink_version")
            detected = host_facts.detect_flink_version(got.lib_names, lib_dir)
        except host_facts.HostFactError as exc:
            if not flink_version:
                raise GatherError(f"{host}: {exc}") from None
    version = flink_version or detected
    try:
        minor = minor_line(version)
    except ValueError as exc:
        where = "flink_version" if flink_version else f"Flink in {lib_dir}"
        raise GatherError(f"{host}: {where} {version!r} is not supported: {exc}") from None
    if flink_version and detected and _minor_or_none(detected) != minor:
        warnings.append(f"{host}: flink_version {flink_version} given, but {lib_dir} holds Flink {detected}; "
                        f"the config is read as Flink {flink_version} reads it")

    # Which file Flink reads, and whether this host can hand it over.
    if got.conf == "absent":
        raise GatherError(f"{host}: conf_dir {conf_dir} does not exist; Flink would refuse to start "
                          "(the configuration directory does not describe an existing directory)")
    if got.conf == "notdir":
        raise GatherError(f"{host}: conf_dir {conf_dir} is not a directory; Flink would refuse to start")
    if got.conf == "noaccess":
        raise GatherError(f"{host}: conf_dir {conf_dir} cannot be searched (permission denied); "
                          "use become or fix its permissions")
    files = got.files
    present = {n for n, f in files.items() if f.state in ("ok", "large", "unreadable", "dir", "special")}
    broken = {n for n, f in files.items() if f.state == "broken"}
    # A symlink that cannot be followed is "no file" to Flink (File.exists() is false). Fail only
    # when it stands where Flink would otherwise find its file: that is almost surely a mistake.
    wanted = _choose(version, present | broken, conf_dir, host)
    if wanted.name in broken:
        link = posixpath.join(conf_dir, wanted.name)
        try:
            instead = f"read {_choose(version, present, conf_dir, host).name} instead"
        except GatherError:
            instead = "refuse to start (its config file does not exist)"
        raise GatherError(
            f"{host}: {link}: symlink cannot be followed ({_errno_reason(files[wanted.name].error)}); Flink {minor} "
            f"treats the file as missing and would {instead}; fix or remove the link")
    choice = _choose(version, present, conf_dir, host) if broken else wanted
    chosen = files[choice.name]
    path = chosen.resolved or posixpath.join(conf_dir, choice.name)
    via = "" if path == posixpath.join(conf_dir, choice.name) else f" (through {posixpath.join(conf_dir, choice.name)})"
    if chosen.state == "large":
        # only the first bytes were read to tell (a file that never ends must not hold up the host)
        raise GatherError(f"{host}: {path}{via}: larger than max_file_size ({max_file_size} bytes), so it was not "
                          "transferred; Flink itself would read it: raise max_file_size to audit it")
    if chosen.state == "dir":
        raise GatherError(f"{host}: {path}{via}: is a directory, not a file; Flink {minor} would fail to read its "
                          "configuration")
    if chosen.state == "special":
        # never opened: a FIFO blocks until someone writes to it, /dev/zero never ends
        raise GatherError(f"{host}: {path}{via}: is not a regular file (a FIFO, socket or device); it was not read, "
                          f"and Flink {minor} would block or fail reading it; replace it with a regular file")
    if chosen.state == "unreadable":
        raise GatherError(f"{host}: {path}{via}: cannot be read ({_errno_reason(chosen.error)}); Flink running as "
                          "this user could not read it either and would fail to start; use become or fix permissions")
    content = chosen.content or b""
    if len(content) != chosen.size:
        raise GatherError(f"{host}: {path}{via}: changed while being read ({chosen.size} bytes announced, "
                          f"{len(content)} received); run the task again")

    try:
        parse = parse_flink_conf if choice.format == "legacy" else parse_config_yaml
        parsed = parse(content, path)
    except ConfigFileError as exc:
        raise GatherError(f"{host}: {exc}{via}") from None

    memory = {p: compute(parsed.config, p, version) for p in processes}
    try:
        mem_total = host_facts.parse_meminfo(got.meminfo)
    except host_facts.HostFactError as exc:
        warnings.append(f"{host}: {exc}")
        mem_total = None
    try:
        cg_limit = host_facts.cgroup_limit(got.cgroup_limits)
    except host_facts.HostFactError as exc:
        warnings.append(f"{host}: {exc}")
        cg_limit = None
    result = {
        "changed": False,
        "config": redact_anywhere(parsed.config),
        "config_file": path,
        "conf_dir": conf_dir,
        "config_format": parsed.format,
        "config_lines": dict(parsed.lines),
        "ignored_files": list(choice.ignored),
        "skipped_lines": list(parsed.skipped_lines),
        "overridden": list(parsed.overridden),
        "hash_cut_keys": list(parsed.hash_cut),
        "checksum": hashlib.sha256(content).hexdigest(),
        "flink_version": version,
        # both sides of the choice, for the lint to warn when a stale flink_version variable disagrees with the jar
        "flink_version_given": flink_version,
        "flink_version_detected": detected,
        "processes": list(processes),
        "mem_total_bytes": mem_total,
        "cgroup_memory_limit_bytes": cg_limit,
        "cpu_count": got.cpu_count,
        "memory": memory,
        # which file this is, machine-wide: two inventory hosts with one identity share one file (enforce)
        "file_identity": _identity(got, choice.name, path),
    }
    if got.live is not None:
        result["live_probe"] = live_probe.parse_live(got.live, choice.name)
    if got.logs is not None:
        result["logs"] = diagnose_tail.entries(got.logs, log_dir)
    return result, warnings


def _identity(got: Gathered, name: str, path: str) -> dict | None:
    """The machine, physical path and inode of the file read, or None when the host did not say."""
    inode = got.inodes.get(name)
    if not got.machine or not (got.machine.strip()) or not inode or not inode.isdigit():
        return None
    # a digest: machine-id(5) is to be kept confidential, and this result reaches reports and fact caches
    machine = hashlib.sha256(got.machine.encode("utf-8", "surrogateescape")).hexdigest()[:32]
    return {"machine": machine, "path": path, "inode": inode}


def _minor_or_none(version: str) -> str | None:
    try:
        return minor_line(version)
    except ValueError:
        return None


def read_answer(out: dict, host: str, conf_dir: str) -> Gathered:
    """The command's answer (Ansible's low-level result: stdout, stderr, rc) decoded; raises GatherError.

    A cut-short or garbled answer says what the host printed on stderr (a shell error, a become prompt).
    """
    try:
        return interpret(parse_frames(out.get("stdout") or ""))
    except FileChangedError as exc:
        raise GatherError(f"{host}: {conf_dir}/{exc}: the file changed while being read; run the task again") from None
    except FramingError as exc:
        stderr = (out.get("stderr") or "").strip()
        detail = f"; stderr: {stderr[-500:]}" if stderr else ""
        raise GatherError(f"{host}: the gather command's output is unusable ({exc}); rc={out.get('rc')}{detail}") \
            from None
