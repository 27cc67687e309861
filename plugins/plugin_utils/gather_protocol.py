# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gather protocol: the one POSIX shell command run on a host, its framing and its records.

Used by the actions of flinkops.flink.flink_config_info and flinkops.flink.flink_config (no Ansible
here). A Python module costs its start-up on every host; a single POSIX shell command reading the
config files and a few /proc and /sys files costs a fraction of that, and the managed host needs
no Python. Everything Flink-specific (which file, how it reads, the memory model) runs on the
controller (plugins/plugin_utils/gather_result.py).

Wire format. stdout is ``@@begin 2 b64|hex``, then the whole answer encoded (base64, or ``od``
hex where base64 is missing: POSIX has od, not base64), then ``@@end``. Encoding makes it
survive a pty (CR added), a banner, any byte in a file; the missing ``@@end`` shows a cut-short
answer. The decoded answer is a sequence of records, each ``@@<kind> <args>\n``, a payload and
a NUL byte. Payloads are paths, names or messages (never holding NUL), except ``@@data``: the
bytes of the files named, concatenated, whose lengths were announced just before in their
``@@file <name> ok <size>`` records (each file measured by reading at most ``mx`` bytes of it).
Data are read by length, never by looking for an end, and a file that changed size while read is
caught by the NUL not being where the lengths say.

On Linux the host runs, per file read, head and wc to measure it and head to send it, then one ls for
the inodes of all files and one base64; the rest is shell builtins (machine-id, boot_id and the node name
are read with the shell's read). With ``logs``: one ls of the log dir, one tail for every log file and one
tr, date and dd of /dev/kmsg (dmesg where dd cannot read it, journalctl -k where dmesg is refused), and one
awk that keeps of all of it the lines diagnose reads (and one awk for env.log.dir when no log dir is given):
six programs a host, whatever the number of files. tests/unit/plugins/plugin_utils/test_gather_forks.py counts them.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import shlex
from dataclasses import dataclass, field

from ansible_collections.flinkops.flink.plugins.module_utils import host_facts, live_probe
from ansible_collections.flinkops.flink.plugins.module_utils.config_files import LEGACY_NAME, YAML_NAME
from ansible_collections.flinkops.flink.plugins.plugin_utils import diagnose_tail

PROTOCOL = "2"
READ_UNIT = 4096


# The script proper. Variables set in front of it: h (flink_home, may be empty), c (conf_dir),
# m (max_file_size), mx (the most bytes read of one file: more than m), r (path prefix for /proc and
# /sys: empty on real hosts). A file is measured by reading at most mx bytes of it (head -c, POSIX.1-2024),
# never to its end: a file that never ends (a pseudo-file behind a symlink) must not hold up the host.
# A read error (head's status, passed out of the pipe on fd 3) makes the file unreadable, never shorter.
# Identity of a file read (@@machine, @@inode): the machine (machine-id, boot_id, node name: all three,
# as containers of one kernel share boot_id and clones share machine-id) and each file's inode (ls -iL is
# POSIX); with the physical path (cd -P, realpath) it names one file. No device number: stat(1) is not
# POSIX and differs between GNU, BSD and busybox, and df -P's first column is "overlay" or "tmpfs" for many
# filesystems at once; the physical path stands for the filesystem, the inode for the file in it.
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
    # One command substitution measures every file and lists their inodes. Its words: "<name> [x] <bytes
    # read>" for each file (x: a read error, head's status passed out of the pipe on fd 3 before wc can
    # answer), "-", then ls's "<inode> <name>" for each.
    fn=; fz=0; fq=; fp=; fino=; fi1=; fi2=
    for fw in $(for n in $ok; do printf '%s ' "$n"
                  { head -c "$mx" "$n" 2>/dev/null || echo x >&3; } | wc -c; done 3>&1
                echo -; ls -iLd $ok 2>/dev/null); do
      if [ -n "$fp" ]; then
        case $fw in flink-conf.yaml) fi1=$fino ;; config.yaml) fi2=$fino ;; *) fino=$fw ;; esac
        continue
      fi
      case $fw in
        flink-conf.yaml|config.yaml|-)
          if [ -z "$fn" ]; then :
          elif [ "$fz" -gt "$m" ]; then printf '@@file %s large %s\n\000' "$fn" "$fz"
          elif [ -n "$fq" ]; then printf '@@file %s unreadable\n%s\000' "$fn" "$(head -c "$mx" "$fn" 2>&1 >/dev/null)"
          else printf '@@file %s ok %s\n\000' "$fn" "$fz"; data="$data $fn"
          fi
          fn=$fw; fz=0; fq=; if [ "$fw" = - ]; then fp=1; fino=; fi ;;
        x) fq=1 ;;
        *) fz=$fw ;;
      esac
    done
  fi
  if [ -n "$data" ]; then
    # the file's identity, to tell two inventory hosts that resolve to one file (see _SCRIPT_BODY above), with
    # the shell's read: the first line of machine-id (cut to 64 bytes, as head -c 64 did) and of boot_id, and
    # the kernel's node name from /proc (what uname -n prints; uname only where /proc has none)
    fm=; fb=; fh=
    if [ -f /etc/machine-id ] && [ -r /etc/machine-id ]; then IFS= read -r fm 2>/dev/null < /etc/machine-id; fi
    [ "${#fm}" -gt 64 ] && fm=${fm%"${fm#????????????????????????????????????????????????????????????????}"}
    if [ -r "$r"/proc/sys/kernel/random/boot_id ]; then IFS= read -r fb < "$r"/proc/sys/kernel/random/boot_id; fi
    if [ -r /proc/sys/kernel/hostname ]; then IFS= read -r fh < /proc/sys/kernel/hostname
    else fh=$(uname -n 2>/dev/null)
    fi
    printf '@@machine\n%s\n%s\n%s\000' "$fm" "$fb" "$fh"
    for n in $data; do
      if [ "$n" = flink-conf.yaml ]; then fino=$fi1; else fino=$fi2; fi
      printf '@@inode %s %s\n\000' "$n" "${fino:-?}"
    done
    printf '@@data%s\n' "$data"
    for n in $data; do head -c "$mx" "$n"; done
    printf '\000'
  fi
@@LIVE@@elif [ -d "$c" ]; then printf '@@conf noaccess\n\000'
elif [ -e "$c" ]; then printf '@@conf notdir\n\000'
else printf '@@conf absent\n\000'
fi
@@LOGS@@} | if [ "$e" = b64 ]; then base64; else od -An -v -tx1; fi
echo "@@end"
"""


def build_script(flink_home: str | None, conf_dir: str, max_file_size: int, root: str = "",
                 live: bool = False, logs: tuple | None = None) -> str:
    """The one shell command run on the host (``root`` re-roots /proc and /sys, for tests).

    ``live`` adds the live probe (module_utils/live_probe.py), run in the conf dir; ``logs``
    ((log dir given or None, bytes per file)) the lines of each log tail diagnose reads
    (plugins/plugin_utils/diagnose_tail.py).
    """
    quote = shlex.quote
    # mx: the most bytes read of a file, more than m to tell a bigger one, and a whole number of pages: a
    # pseudo-file such as /proc/self/pagemap refuses a read whose length is not a multiple of 8
    limit = (int(max_file_size) // READ_UNIT + 1) * READ_UNIT
    assigns = (f"h={quote(flink_home or '')}; c={quote(conf_dir)}; m={int(max_file_size)}; mx={limit}; "
               f"r={quote(root)}")
    # No final newline: Ansible appends " && sleep 0" to the command, which must join the last
    # line (a line starting with "&&" is a syntax error, rc 2, and over a pty its message lands
    # after '@@end').
    body = _SCRIPT_BODY.replace("@@LIVE@@", live_probe.LIVE_SH.lstrip("\n") if live else "")
    if logs:
        assigns += f"; ld={quote(logs[0] or '')}; lb={int(logs[1])}"
    body = body.replace("@@LOGS@@", diagnose_tail.LOGS_SH.lstrip("\n") if logs else "")
    return assigns + "\n" + body.rstrip("\n")


class FramingError(Exception):
    """The command's output is not a complete, well-formed answer."""


class FileChangedError(FramingError):
    """A file's length differed from what was announced: it changed while being read."""


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
    # '@@end' looked for from the end (no base64 or hex line can be it), then the first one is the one wanted
    # unless the payload holds another: a thousand lines a host with logs not walked in Python
    end = next((i for i in range(len(lines) - 1, start, -1) if lines[i].rstrip("\r") == "@@end"), None)
    if end is None:
        raise FramingError("the output ended before '@@end' (cut short)")
    payload = "".join(lines[start + 1:end])
    if "@@end" in payload:
        end = next(i for i in range(start + 1, end) if lines[i].rstrip("\r") == "@@end")
        payload = "".join(lines[start + 1:end])
    if any(line.strip() for line in lines[end + 1:]):
        raise FramingError("output after '@@end'")
    text = "".join(payload.split())  # a pty may add CRs
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
    logs: list | None = None  # with logs: [(kind, args, payload)] of the log tail's records
    machine: str | None = None  # machine-id, boot_id and node name, one a line (what is readable of them)
    inodes: dict[str, str] = field(default_factory=dict)  # file name -> inode of the file read


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
        elif (rec.kind == "log" and len(args) == 3 and args[1].isdigit() and args[2].isdigit()) or (
                rec.kind == "logdir" and len(args) == 1) or (rec.kind == "logs" and not args):
            got.logs = (got.logs or []) + [(rec.kind, args, rec.payload)]
        elif rec.kind == "machine" and not args:
            got.machine = _text(rec.payload)
        elif rec.kind == "inode" and len(args) == 2:
            got.inodes[args[0]] = args[1]
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
        fs = got.files.setdefault(name, FileState(name, "unreadable", error="it could not be measured"))
        if fs.state != "absent":
            fs.resolved = links.get(name) or posixpath.join(got.conf_physical or "", name)
    return got
