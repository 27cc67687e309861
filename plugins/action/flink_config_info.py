# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of flinkops.flink.flink_config_info: one ``sh`` command per host, the rest here.

A Python module costs its start-up on every host; a single POSIX shell command reading the
config files and a few /proc and /sys files costs a fraction of that, and the managed host needs
no Python. Everything Flink-specific (which file, how it reads, the memory model) runs here on
the controller with the collection's module_utils / plugin_utils.

Wire format. stdout is ``@@begin 2 b64|hex``, then the whole answer encoded (base64, or ``od``
hex where base64 is missing: POSIX has od, not base64), then ``@@end``. Encoding makes it
survive a pty (CR added), a banner, any byte in a file; the missing ``@@end`` shows a cut-short
answer. The decoded answer is a sequence of records, each ``@@<kind> <args>\n``, a payload and
a NUL byte. Payloads are paths, names or messages (never holding NUL), except ``@@data``: the
bytes of the files named, concatenated, whose lengths ``wc -c`` announced just before in their
``@@file <name> ok <size>`` records. Data are read by length, never by looking for an end, and a
file that changed size while read is caught by the NUL not being where the lengths say.

On Linux the host runs three programs (wc, cat, base64); the rest is shell builtins.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import posixpath
import shlex
import time
from dataclasses import dataclass, field

from ansible.errors import AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.flinkops.flink.plugins.module_utils import host_facts, live_probe
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
    REDACTED,
    minor_line,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.config_yaml import (
    parse_config_yaml,
)
from ansible_collections.flinkops.flink.plugins.plugin_utils.fleet import is_sensitive_anywhere

PROTOCOL = "2"
DEFAULT_MAX_FILE_SIZE = 1024 * 1024
PROCESSES = ("jobmanager", "taskmanager")
GROUPS = {"jobmanager": "flink_jobmanager", "taskmanager": "flink_taskmanager"}

ARGUMENT_SPEC = {
    "flink_home": {"type": "str"},
    "conf_dir": {"type": "str"},
    "flink_version": {"type": "str"},
    "max_file_size": {"type": "bytes", "default": DEFAULT_MAX_FILE_SIZE},
    "processes": {"type": "list", "elements": "str", "choices": list(PROCESSES)},
    "live": {"type": "bool", "default": False},
}

# The script proper. Variables set in front of it: h (flink_home, may be empty), c (conf_dir),
# m (max_file_size), r (path prefix for /proc and /sys: empty on real hosts).
_SCRIPT_BODY = r"""
LC_ALL=C; export LC_ALL
if command -v base64 >/dev/null 2>&1; then e=b64; else e=hex; fi
echo "@@begin 2 $e"
{
""" + host_facts.FACTS_SH + r"""
if [ -n "$h" ]; then
  if [ -d "$h" ]; then t=dir; elif [ -e "$h" ]; then t=notdir; else t=absent; fi
  printf '@@home %s\n\000' "$t"
  if [ -d "$h/lib" ]; then
    printf '@@lib dir\n'
    for f in "$h"/lib/flink-dist*.jar; do
      if [ -e "$f" ] || [ -L "$f" ]; then printf '%s/' "${f##*/}"; fi
    done
    printf '\000'
  else
    printf '@@lib absent\n\000'
  fi
fi
if [ -d "$c" ] && cd -P "$c" 2>/dev/null; then
  printf '@@conf dir\n%s\000' "$PWD"
  ok=
  for n in flink-conf.yaml config.yaml; do
    if [ ! -e "$n" ] && [ ! -L "$n" ]; then printf '@@file %s absent\n\000' "$n"; continue; fi
    if [ -L "$n" ]; then
      printf '@@link %s\n%s\000' "$n" "$(realpath "$n" 2>/dev/null || readlink -f "$n" 2>/dev/null)"
    fi
    if [ ! -e "$n" ]; then printf '@@file %s broken\n%s\000' "$n" "$(cat "$n" 2>&1 >/dev/null)"
    elif [ -d "$n" ]; then printf '@@file %s dir\n\000' "$n"
    elif [ ! -f "$n" ]; then printf '@@file %s special\n\000' "$n"
    elif [ ! -r "$n" ]; then printf '@@file %s unreadable\n%s\000' "$n" "$(cat "$n" 2>&1 >/dev/null)"
    else ok="$ok $n"
    fi
  done
  data=
  if [ -n "$ok" ]; then
    set -- $(wc -c $ok 2>/dev/null)
    while [ $# -ge 2 ]; do
      if [ "$2" != total ]; then
        if [ "$1" -gt "$m" ]; then printf '@@file %s large %s\n\000' "$2" "$1"
        else printf '@@file %s ok %s\n\000' "$2" "$1"; data="$data $2"
        fi
      fi
      shift 2
    done
  fi
  if [ -n "$data" ]; then printf '@@data%s\n' "$data"; cat $data; printf '\000'; fi
@@LIVE@@elif [ -d "$c" ]; then printf '@@conf noaccess\n\000'
elif [ -e "$c" ]; then printf '@@conf notdir\n\000'
else printf '@@conf absent\n\000'
fi
} | if [ "$e" = b64 ]; then base64; else od -An -v -tx1; fi
echo "@@end"
"""


def build_script(flink_home: str | None, conf_dir: str, max_file_size: int, root: str = "",
                 live: bool = False) -> str:
    """The one shell command run on the host (``root`` re-roots /proc and /sys, for tests).

    ``live`` adds the live probe (module_utils/live_probe.py), run in the conf dir.
    """
    quote = shlex.quote
    assigns = f"h={quote(flink_home or '')}; c={quote(conf_dir)}; m={int(max_file_size)}; r={quote(root)}"
    # No final newline: Ansible appends " && sleep 0" to the command, which must join the last
    # line (a line starting with "&&" is a syntax error, rc 2, and over a pty its message lands
    # after '@@end').
    body = _SCRIPT_BODY.replace("@@LIVE@@", live_probe.LIVE_SH.lstrip("\n") if live else "")
    return assigns + "\n" + body.rstrip("\n")


class FramingError(Exception):
    """The command's output is not a complete, well-formed answer."""


class FileChangedError(FramingError):
    """A file's length differed from what ``wc -c`` announced: it changed while being read."""


@dataclass
class Record:
    kind: str
    args: list[str]
    payload: bytes


def decode_output(stdout: str) -> bytes:
    """The decoded answer between ``@@begin`` and ``@@end``.

    Lines before ``@@begin`` are ignored (a login banner, a become prompt echo); a missing
    ``@@end`` means the output was cut short.
    """
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("@@begin ")), None)
    if start is None:
        raise FramingError("no '@@begin' line in the output")
    head = lines[start].split()
    if len(head) != 3 or head[1] != PROTOCOL or head[2] not in ("b64", "hex"):
        raise FramingError(f"unsupported header {lines[start]!r}")
    end = next((i for i in range(start + 1, len(lines)) if lines[i].rstrip("\r") == "@@end"), None)
    if end is None:
        raise FramingError("the output ended before '@@end' (cut short)")
    if any(line.strip() for line in lines[end + 1:]):
        raise FramingError("output after '@@end'")
    text = "".join("".join(lines[start + 1:end]).split())  # a pty may add CRs
    try:
        if head[2] == "b64":
            return base64.b64decode(text, validate=True)
        return bytes.fromhex(text)
    except (binascii.Error, ValueError) as exc:
        raise FramingError(f"undecodable {head[2]} payload: {exc}") from None


def parse_records(data: bytes) -> list[Record]:
    """Split a decoded answer into records (see the module docstring)."""
    records: list[Record] = []
    sizes: dict[str, int] = {}
    pos = 0
    while pos < len(data):
        if not data.startswith(b"@@", pos):
            raise FramingError(f"record expected at byte {pos}")
        eol = data.find(b"\n", pos)
        if eol < 0:
            raise FramingError("record header without its end of line")
        kind, *args = data[pos + 2:eol].decode("utf-8", "surrogateescape").split(" ")
        pos = eol + 1
        if kind == "data":
            if any(name not in sizes for name in args):
                raise FramingError(f"data for files without a size: {' '.join(args)}")
            end = pos + sum(sizes[name] for name in args)
            if end >= len(data) or data[end] != 0:
                raise FileChangedError(f"{' and '.join(args)}: the bytes read differ from the size announced")
        else:
            end = data.find(b"\0", pos)
            if end < 0:
                raise FramingError(f"record @@{kind} without its end")
            if kind == "file" and len(args) == 3 and args[1] == "ok" and args[2].isdigit():
                sizes[args[0]] = int(args[2])
        records.append(Record(kind, args, data[pos:end]))
        pos = end + 1
    return records


def parse_frames(stdout: str) -> list[Record]:
    """stdout of the gather command -> its records."""
    return parse_records(decode_output(stdout))


@dataclass
class FileState:
    """One candidate config file as the host saw it."""

    name: str
    state: str  # absent | broken | dir | special | unreadable | large | ok
    size: int | None = None
    resolved: str | None = None
    content: bytes | None = None
    error: str | None = None


@dataclass
class Gathered:
    """Everything the command reported, decoded."""

    meminfo: str = ""
    cgroup_limits: list[tuple[str, str]] = field(default_factory=list)
    cpu_count: int | None = None
    home: str | None = None  # dir | notdir | absent | None when no flink_home was given
    lib: str | None = None  # dir | absent
    lib_names: list[str] = field(default_factory=list)
    conf: str = "absent"  # dir | noaccess | notdir | absent
    conf_physical: str | None = None
    files: dict[str, FileState] = field(default_factory=dict)
    live: str | None = None  # the live probe's lines, when it ran


def _text(payload: bytes) -> str:
    return payload.decode("utf-8", "surrogateescape")


def interpret(records: list[Record]) -> Gathered:
    """Turn records into a :class:`Gathered`, checking each record's shape."""
    got = Gathered()
    links: dict[str, str] = {}
    for rec in records:
        args = rec.args
        if rec.kind == "meminfo":
            got.meminfo = " ".join(args)
        elif rec.kind == "cglimit" and len(args) >= 2:
            got.cgroup_limits.append((args[0], " ".join(args[1:])))
        elif rec.kind == "cpus":
            got.cpu_count = host_facts.parse_cpu_list(" ".join(args))
        elif rec.kind == "cpu":
            got.cpu_count = host_facts.parse_cpu_count(" ".join(args))
        elif rec.kind == "home" and len(args) == 1:
            got.home = args[0]
        elif rec.kind == "lib" and len(args) == 1:
            got.lib = args[0]
            got.lib_names = [n for n in _text(rec.payload).split("/") if n]
        elif rec.kind == "conf" and len(args) == 1:
            got.conf = args[0]
            got.conf_physical = _text(rec.payload) or None
        elif rec.kind == "live" and not args:
            got.live = _text(rec.payload)
        elif rec.kind == "link" and len(args) == 1:
            links[args[0]] = _text(rec.payload)
        elif rec.kind == "file" and len(args) >= 2:
            name, state = args[0], args[1]
            if name not in (LEGACY_NAME, YAML_NAME):
                raise FramingError(f"unexpected file record {name!r}")
            fs = FileState(name, state)
            if state in ("ok", "large"):
                if len(args) != 3 or not args[2].isdigit():
                    raise FramingError(f"file record {name} without a size")
                fs.size = int(args[2])
            elif state in ("broken", "unreadable"):
                fs.error = _text(rec.payload).strip()
            got.files[name] = fs
        elif rec.kind == "data":
            offset = 0
            for name in args:
                fs = got.files[name]
                fs.content = rec.payload[offset:offset + fs.size]
                offset += fs.size
        else:
            raise FramingError(f"unexpected record '@@{rec.kind} {' '.join(args)}'")
    for name in (LEGACY_NAME, YAML_NAME):
        if got.conf != "dir":
            break
        # readable by test(1) yet missing from wc's answer: an I/O error on the host
        fs = got.files.setdefault(name, FileState(name, "unreadable", error="wc -c could not read it"))
        if fs.state != "absent":
            fs.resolved = links.get(name) or posixpath.join(got.conf_physical or "", name)
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
        raise GatherError(f"{host}: {path}{via}: {chosen.size} bytes is over max_file_size ({max_file_size} bytes), "
                          "so it was not transferred; Flink itself would read it: raise max_file_size to audit it")
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
        "checksum": hashlib.sha256(content).hexdigest(),
        "flink_version": version,
        "processes": list(processes),
        "mem_total_bytes": mem_total,
        "cgroup_memory_limit_bytes": cg_limit,
        "cpu_count": got.cpu_count,
        "memory": memory,
    }
    if got.live is not None:
        result["live_probe"] = live_probe.parse_live(got.live, choice.name)
    return result, warnings


def redact_anywhere(config: dict) -> dict:
    """``config`` with the value of every key that any Flink line deems sensitive hidden: a key that
    only Flink 2.3 hides (``api-key``) may hold the same secret on a 2.2 host."""
    return {k: (REDACTED if is_sensitive_anywhere(k) else v) for k, v in config.items()}


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
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
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
        live = args["live"] and "taskmanager" in processes
        # sudoable only with become: over SSH a sudoable command gets a pty (ssh -tt), which costs the
        # host a pty and login records on every run and mixes stderr into the answer.
        out = self._low_level_execute_command(build_script(flink_home, conf_dir, args["max_file_size"], live=live),
                                              sudoable=self._connection.become is not None)
        try:
            try:
                got = interpret(parse_frames(out["stdout"]))
            except FileChangedError as exc:
                return self._fail(result, f"{host}: {conf_dir}/{exc}: the file changed while being read; "
                                          "run the task again")
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
        # when it was read, by the controller's clock: flink_config trusts a gathered result only while fresh
        result["read_at"] = round(time.time(), 3)
        if warnings:
            result.setdefault("warnings", []).extend(warnings)
        return result

    @staticmethod
    def _fail(result: dict, msg: str) -> dict:
        result.update(failed=True, changed=False, msg=msg)
        return result
