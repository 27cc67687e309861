# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of flinkops.flink.flink_config_info: one ``sh`` command per host, the rest here.

A Python module costs its start-up on every host; a single POSIX shell command reading the
config files and a few /proc and /sys files costs a fraction of that, and the managed host needs
no Python. Everything Flink-specific (which file, how it reads, the memory model) runs here on
the controller with the collection's module_utils / plugin_utils.

Wire format (stdout of the command), line based and binary-safe because every byte that comes
from a file or a path travels encoded (base64, or ``od`` hex where base64 is missing)::

    @@begin 1 b64|hex
    @@<kind> <tokens...>        header line; tokens are produced by the script itself
    <encoded payload lines>     zero or more, until the next header
    ...
    @@end

File records carry their size as counted by ``wc -c`` and the decoded payload must have
exactly that length, so a truncated or changing file is detected, never guessed at.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
import shlex
from dataclasses import dataclass, field

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.flinkops.flink.plugins.module_utils import host_facts
from ansible_collections.flinkops.flink.plugins.module_utils.config_files import (
    LEGACY_NAME,
    YAML_NAME,
    ConfigFileError,
    choose_config_file,
)
from ansible_collections.flinkops.flink.plugins.module_utils.flink_conf import (
    parse_flink_conf,
)
from ansible_collections.flinkops.flink.plugins.module_utils.memory_model import compute
from ansible_collections.flinkops.flink.plugins.module_utils.options import (
    minor_line,
    redact,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import (
    parse_config_yaml,
)

PROTOCOL = "1"
DEFAULT_MAX_FILE_SIZE = 1024 * 1024
PROCESSES = ("jobmanager", "taskmanager")
GROUPS = {"jobmanager": "flink_jobmanager", "taskmanager": "flink_taskmanager"}

ARGUMENT_SPEC = {
    "flink_home": {"type": "str"},
    "conf_dir": {"type": "str"},
    "flink_version": {"type": "str"},
    "max_file_size": {"type": "bytes", "default": DEFAULT_MAX_FILE_SIZE},
    "processes": {"type": "list", "elements": "str", "choices": list(PROCESSES)},
}

# The script proper. Variables set in front of it: h (flink_home, may be empty), c (conf_dir),
# m (max_file_size), r (path prefix for /proc and /sys: empty on real hosts).
_SCRIPT_BODY = r"""
LC_ALL=C; export LC_ALL
if command -v base64 >/dev/null 2>&1; then e=b64; else e=hex; fi
enc() { if [ "$e" = b64 ]; then base64; else od -An -v -tx1; fi; }
echo "@@begin 1 $e"
""" + host_facts.FACTS_SH + r"""
if [ -n "$h" ]; then
  if [ -d "$h" ]; then echo "@@home dir"; elif [ -e "$h" ]; then echo "@@home notdir"; else echo "@@home absent"; fi
  if [ -d "$h/lib" ]; then
    echo "@@lib dir"
    for f in "$h"/lib/flink-dist*.jar; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\000' "${f##*/}"; fi; done | enc
  else
    echo "@@lib absent"
  fi
fi
rd() {
  p=$c/$1
  if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo "@@file $1 absent"; return; fi
  if [ -L "$p" ]; then rp=$(realpath "$p" 2>/dev/null || readlink -f "$p" 2>/dev/null); else rp=$cr/$1; fi
  if [ ! -e "$p" ]; then
    echo "@@file $1 broken"; { printf '%s\000' "$rp"; cat "$p" 2>&1 >/dev/null; } | enc; return
  fi
  if [ -d "$p" ]; then echo "@@file $1 dir"; printf '%s\000' "$rp" | enc; return; fi
  s=$(wc -c 2>/dev/null < "$p")
  if [ -z "$s" ]; then
    echo "@@file $1 unreadable"; { printf '%s\000' "$rp"; cat "$p" 2>&1 >/dev/null; } | enc; return
  fi
  s=$((s))
  if [ "$s" -gt "$m" ]; then echo "@@file $1 large $s"; printf '%s\000' "$rp" | enc; return; fi
  echo "@@file $1 ok $s"; { printf '%s\000' "$rp"; cat "$p"; } | enc
}
if [ -d "$c" ] && [ -x "$c" ]; then
  echo "@@conf dir"
  cr=$(cd -P "$c" 2>/dev/null && pwd -P) || cr=$c
  rd flink-conf.yaml
  rd config.yaml
elif [ -d "$c" ]; then echo "@@conf noaccess"
elif [ -e "$c" ]; then echo "@@conf notdir"
else echo "@@conf absent"
fi
echo "@@end"
"""


def build_script(flink_home: str | None, conf_dir: str, max_file_size: int, root: str = "") -> str:
    """The one shell command run on the host (``root`` re-roots /proc and /sys, for tests)."""
    quote = shlex.quote
    assigns = f"h={quote(flink_home or '')}; c={quote(conf_dir)}; m={int(max_file_size)}; r={quote(root)}"
    return assigns + "\n" + _SCRIPT_BODY


class FramingError(Exception):
    """The command's output is not a complete, well-formed answer."""


@dataclass
class Record:
    kind: str
    args: list[str]
    payload: bytes


def _decode(encoding: str, lines: list[str]) -> bytes:
    text = "".join(lines)
    try:
        if encoding == "b64":
            # Whitespace and CR (a pty may add them) are stripped; anything else is an error.
            return base64.b64decode("".join(text.split()), validate=True)
        return bytes.fromhex(text)
    except (binascii.Error, ValueError) as exc:
        raise FramingError(f"undecodable {encoding} payload: {exc}") from None


def parse_frames(stdout: str) -> list[Record]:
    """Split the command's output into records and decode their payloads.

    Lines before ``@@begin`` are ignored (a login banner, a become prompt echo); a missing
    ``@@end`` means the output was cut short.
    """
    lines = stdout.splitlines()
    start = None
    for index, line in enumerate(lines):
        if line.startswith("@@begin "):
            start = index
            break
    if start is None:
        raise FramingError("no '@@begin' line in the output")
    head = lines[start].split()
    if len(head) != 3 or head[1] != PROTOCOL or head[2] not in ("b64", "hex"):
        raise FramingError(f"unsupported header {lines[start]!r}")
    encoding = head[2]
    records: list[Record] = []
    current: tuple[str, list[str]] | None = None
    payload: list[str] = []
    ended = False

    def flush():
        if current is not None:
            records.append(Record(current[0], current[1], _decode(encoding, payload)))

    for line in lines[start + 1:]:
        if ended:
            if line.strip():
                raise FramingError(f"output after '@@end': {line[:60]!r}")
            continue
        if line.startswith("@@"):
            flush()
            payload = []
            parts = line[2:].rstrip("\r").split(" ")
            if parts[0] == "end":
                current = None
                ended = True
                continue
            current = (parts[0], parts[1:])
        elif current is None:
            raise FramingError(f"payload before any record: {line[:60]!r}")
        else:
            payload.append(line)
    if not ended:
        raise FramingError("the output ended before '@@end' (cut short)")
    return records


@dataclass
class FileState:
    """One candidate config file as the host saw it."""

    name: str
    state: str  # absent | broken | dir | unreadable | large | ok
    size: int | None = None
    resolved: str | None = None
    content: bytes | None = None
    error: str | None = None


@dataclass
class Gathered:
    """Everything the command reported, decoded."""

    meminfo: str = ""
    cgroup_limits: list[tuple[str, str]] = field(default_factory=list)
    cpu: str = ""
    home: str | None = None  # dir | notdir | absent | None when no flink_home was given
    lib: str | None = None  # dir | absent
    lib_names: list[str] = field(default_factory=list)
    conf: str = "absent"  # dir | noaccess | notdir | absent
    files: dict[str, FileState] = field(default_factory=dict)


def _split_path(payload: bytes) -> tuple[str, bytes]:
    path, sep, rest = payload.partition(b"\0")
    if not sep:
        raise FramingError("file record without its path")
    return path.decode("utf-8", "surrogateescape"), rest


def interpret(records: list[Record]) -> Gathered:
    """Turn records into a :class:`Gathered`, checking each record's shape."""
    got = Gathered()
    for rec in records:
        args = rec.args
        if rec.kind == "meminfo":
            got.meminfo = " ".join(args)
        elif rec.kind == "cglimit" and len(args) >= 2:
            got.cgroup_limits.append((args[0], " ".join(args[1:])))
        elif rec.kind == "cpu":
            got.cpu = " ".join(args)
        elif rec.kind == "home" and len(args) == 1:
            got.home = args[0]
        elif rec.kind == "lib" and len(args) == 1:
            got.lib = args[0]
            got.lib_names = [n.decode("utf-8", "surrogateescape") for n in rec.payload.split(b"\0") if n]
        elif rec.kind == "conf" and len(args) == 1:
            got.conf = args[0]
        elif rec.kind == "file" and len(args) >= 2:
            name, state = args[0], args[1]
            if name not in (LEGACY_NAME, YAML_NAME):
                raise FramingError(f"unexpected file record {name!r}")
            fs = FileState(name, state)
            if state in ("ok", "large"):
                if len(args) != 3 or not args[2].isdigit():
                    raise FramingError(f"file record {name} without a size")
                fs.size = int(args[2])
            if state != "absent":
                fs.resolved, rest = _split_path(rec.payload)
                if state == "ok":
                    fs.content = rest
                elif rest:
                    fs.error = rest.decode("utf-8", "replace").strip()
            got.files[name] = fs
        else:
            raise FramingError(f"unexpected record '@@{rec.kind} {' '.join(args)}'")
    return got


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


def build_result(got: Gathered, host: str, *, flink_home: str | None, conf_dir: str,
                 flink_version: str | None, processes: list[str], max_file_size: int) -> tuple[dict, list[str]]:
    """The task result for one host from what its command reported; raises GatherError.

    Returns (result, warnings). Pure: no Ansible, no I/O, so it is unit tested directly.
    """
    warnings: list[str] = []

    # Flink version: the option wins; otherwise the name of lib/flink-dist*.jar.
    detected = None
    lib_dir = posixpath.join(flink_home, "lib") if flink_home else None
    if flink_home:
        if got.home == "absent":
            detect_error = f"flink_home {flink_home} does not exist"
        elif got.home == "notdir":
            detect_error = f"flink_home {flink_home} is not a directory"
        elif got.lib != "dir":
            detect_error = f"{lib_dir} does not exist, so {flink_home} is not a Flink installation"
        else:
            detect_error = None
            try:
                detected = host_facts.detect_flink_version(got.lib_names, lib_dir)
            except host_facts.HostFactError as exc:
                detect_error = str(exc)
        if detect_error and not flink_version:
            looked = " or ".join(host_facts.DIST_GLOBS)
            if "cannot detect" in detect_error:
                raise GatherError(f"{host}: {detect_error}")
            raise GatherError(f"{host}: cannot detect the Flink version: {detect_error} (looked for {looked} "
                              "under flink_home); set flink_home to a Flink installation or set flink_version")
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
    present = {n for n, f in files.items() if f.state in ("ok", "large", "unreadable", "dir")}
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
        raise GatherError(f"{host}: {path}{via}: {chosen.size} bytes is over max_file_size ({max_file_size} bytes), "
                          "so it was not transferred; Flink itself would read it: raise max_file_size to audit it")
    if chosen.state == "dir":
        raise GatherError(f"{host}: {path}{via}: is a directory, not a file; Flink {minor} would fail to read its "
                          "configuration")
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
        "config": redact(parsed.config, version),
        "config_file": path,
        "config_format": parsed.format,
        "config_lines": dict(parsed.lines),
        "ignored_files": list(choice.ignored),
        "skipped_lines": list(parsed.skipped_lines),
        "checksum": hashlib.sha256(content).hexdigest(),
        "flink_version": version,
        "processes": list(processes),
        "mem_total_bytes": mem_total,
        "cgroup_memory_limit_bytes": cg_limit,
        "cpu_count": host_facts.parse_cpu_count(got.cpu),
        "memory": memory,
    }
    return result, warnings


def _minor_or_none(version: str) -> str | None:
    try:
        return minor_line(version)
    except ValueError:
        return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True  # reads only; nothing on the host changes
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        _, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        host = task_vars.get("inventory_hostname", "?")
        flink_home, conf_dir, version = args["flink_home"], args["conf_dir"], args["flink_version"]
        for name in ("flink_home", "conf_dir"):
            if args[name] is not None and not posixpath.isabs(args[name]):
                return self._fail(result, f"{host}: {name} must be an absolute path on the host, got {args[name]!r}")
        if not flink_home and not (conf_dir and version):
            return self._fail(result, f"{host}: flink_home is required unless both conf_dir and flink_version "
                                      "are given")
        if args["max_file_size"] <= 0:
            return self._fail(result, f"{host}: max_file_size must be positive, got {args['max_file_size']}")
        conf_dir = posixpath.normpath(conf_dir or posixpath.join(flink_home, "conf"))
        processes = args["processes"]
        if processes is None:
            processes = default_processes(task_vars.get("group_names"))
        processes = list(dict.fromkeys(processes))

        # Connection and become failures are Ansible's to report (unreachable vs failed).
        out = self._low_level_execute_command(build_script(flink_home, conf_dir, args["max_file_size"]), sudoable=True)
        try:
            try:
                got = interpret(parse_frames(out["stdout"]))
            except FramingError as exc:
                stderr = out.get("stderr", "").strip()
                detail = f"; stderr: {stderr[-500:]}" if stderr else ""
                return self._fail(result, f"{host}: the gather command's output is unusable ({exc}); "
                                          f"rc={out.get('rc')}{detail}")
            data, warnings = build_result(got, host, flink_home=flink_home, conf_dir=conf_dir,
                                          flink_version=version, processes=processes,
                                          max_file_size=args["max_file_size"])
        except GatherError as exc:
            return self._fail(result, str(exc))
        except AnsibleError:
            raise
        except Exception as exc:  # noqa: BLE001 -- the task boundary: a message, never a traceback
            return self._fail(result, f"{host}: internal error in flink_config_info ({type(exc).__name__}: {exc}); "
                                      "please report it")
        result.update(data)
        if warnings:
            result.setdefault("warnings", []).extend(warnings)
        return result

    @staticmethod
    def _fail(result: dict, msg: str) -> dict:
        result.update(failed=True, changed=False, msg=msg)
        return result
