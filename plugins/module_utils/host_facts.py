# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host facts that decide whether a Flink process fits: RAM, cgroup memory limit, CPUs, Flink version.

Standard library only. The facts are read on the managed host by the POSIX ``sh``
fragment :data:`FACTS_SH` (no Python needed there) and interpreted here, on the controller.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# cgroup v1 stores "no limit" as PAGE_COUNTER_MAX pages, printed in bytes, which is
# LONG_MAX rounded down to the page size (9223372036854771712 with 4 KiB pages).
# Anything within 1 MiB of LONG_MAX covers every page size up to 1 MiB.
V1_UNLIMITED_FLOOR = (1 << 63) - (1 << 20)

# How the names of Flink's distribution jar look in lib/: flink-dist-1.17.2.jar (Scala-free,
# 1.15+) and flink-dist_2.12-1.14.6.jar or flink-dist_2.11-1.14.6.jar (1.14 and older, Scala suffixed).
_DIST_JAR = re.compile(r"^flink-dist(?:_2\.1[0-3])?-(\d+\.\d+(?:\.\d+)?(?:[-.][0-9A-Za-z.-]+)?)\.jar$")
DIST_GLOBS = ("lib/flink-dist-*.jar", "lib/flink-dist_2.12-*.jar", "lib/flink-dist_2.11-*.jar")


class HostFactError(Exception):
    """A fact could not be established; the message says what was looked for."""


# POSIX sh fragment printing records "@@<kind> <args>\n" each ended by a NUL byte:
# "@@meminfo MemTotal: <n> kB", "@@cglimit v1|v2 <value>" (one per cgroup level) and
# "@@cpus <list>" (Cpus_allowed_list: the CPUs this process may run on, as nproc counts them) or,
# where /proc/self/status is missing, "@@cpu <n>" from nproc/getconf. Only shell builtins run on
# Linux: every exec costs on the host.
# It expects $r (a path prefix, empty on real hosts; tests point it at a fake /proc and /sys).
# The cgroup of *this* shell is found from /proc/self/cgroup and mapped to a directory through
# /proc/self/mountinfo (mount root and mount point), as the JVM does, so hybrid hosts and
# containers with or without a cgroup namespace resolve to the right files. Every level from
# that cgroup up to the mount point is printed: an ancestor's limit binds too, and the controller
# takes the smallest.
FACTS_SH = r"""
if [ -r "$r/proc/meminfo" ]; then
  while read -r k n u; do
    if [ "$k" = MemTotal: ]; then printf '@@meminfo %s %s %s\n\000' "$k" "$n" "$u"; break; fi
  done < "$r/proc/meminfo"
fi
v1=; v2=; v2seen=
if [ -r "$r/proc/self/cgroup" ]; then
  while IFS= read -r l; do
    case $l in
      0::*) v2=${l#0::}; v2seen=1 ;;
      *) t=${l#*:}; case ",${t%%:*}," in *,memory,*) v1=${t#*:} ;; esac ;;
    esac
  done < "$r/proc/self/cgroup"
fi
lim() {
  mp=$r$2
  if [ "$3" = / ]; then rel=$4; else case $4 in "$3"|"$3"/*) rel=${4#"$3"} ;; *) rel= ;; esac; fi
  d=${mp%/}${rel}; d=${d%/}
  [ -d "$d" ] || d=$mp
  while :; do
    if [ -r "$d/$5" ] && read -r v < "$d/$5"; then printf '@@cglimit %s %s\n\000' "$1" "$v"; fi
    [ "${#d}" -le "${#mp}" ] && break
    d=${d%/*}
  done
}
if [ -r "$r/proc/self/mountinfo" ]; then
  while read -r _ _ _ mr mpt rest; do
    case $rest in
      *" - cgroup2 "*) [ -n "$v2seen" ] && lim v2 "$mpt" "$mr" "$v2" memory.max ;;
      *" - cgroup "*)
        case ",${rest##* }," in
          *,memory,*) [ -n "$v1" ] && lim v1 "$mpt" "$mr" "$v1" memory.limit_in_bytes ;;
        esac ;;
    esac
  done < "$r/proc/self/mountinfo"
fi
cpus=
if [ -r "$r/proc/self/status" ]; then
  while read -r k cpus; do
    if [ "$k" = Cpus_allowed_list: ]; then printf '@@cpus %s\n\000' "$cpus"; break; fi
    cpus=
  done < "$r/proc/self/status"
fi
if [ -z "$cpus" ]; then
  unset OMP_NUM_THREADS OMP_THREAD_LIMIT
  printf '@@cpu %s\n\000' "$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)"
fi
"""


def parse_meminfo(text: str) -> int | None:
    """MemTotal of a /proc/meminfo text, in bytes (the kernel prints KiB as "kB"); None if absent."""
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if sep and name.strip() == "MemTotal":
            fields = rest.split()
            if not fields or not fields[0].isdigit():
                raise HostFactError(f"/proc/meminfo: MemTotal is not a number: {rest.strip()!r}")
            unit = fields[1].lower() if len(fields) > 1 else ""
            if unit not in ("", "kb"):
                raise HostFactError(f"/proc/meminfo: unknown unit {fields[1]!r} for MemTotal")
            return int(fields[0]) * (1024 if unit == "kb" else 1)
    return None


def cgroup_limit(values: Iterable[tuple[str, str]]) -> int | None:
    """The binding memory limit in bytes from ("v1"|"v2", raw file value) pairs; None when unlimited.

    v2 ``memory.max`` is ``max`` or bytes; v1 ``memory.limit_in_bytes`` is bytes, with
    "unlimited" printed as a number close to LONG_MAX.
    """
    limits = []
    for version, raw in values:
        if version not in ("v1", "v2"):
            raise HostFactError(f"unknown cgroup version {version!r}")
        raw = raw.strip()
        if version == "v2" and raw == "max":
            continue
        if not raw.isdigit():
            raise HostFactError(f"cgroup {version} memory limit is not a number: {raw!r}")
        value = int(raw)
        if version == "v1" and value >= V1_UNLIMITED_FLOOR:
            continue
        limits.append(value)
    return min(limits) if limits else None


def parse_cpu_count(text: str) -> int | None:
    """A CPU count as nproc or getconf print it; None when neither answered."""
    text = text.strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def parse_cpu_list(text: str) -> int | None:
    """How many CPUs a kernel CPU list names (``0-3,8,10-11`` -> 7); None if it is not one."""
    count = 0
    for part in text.strip().split(","):
        low, sep, high = part.partition("-")
        if not low.isdigit() or (sep and not high.isdigit()):
            return None
        first, last = int(low), int(high) if sep else int(low)
        if last < first:
            return None
        count += last - first + 1
    return count or None


def flink_version_from_jar(name: str) -> str | None:
    """The version in a distribution jar name (``flink-dist-1.17.2.jar`` -> ``1.17.2``), else None."""
    match = _DIST_JAR.match(name)
    return match.group(1) if match else None


def detect_flink_version(lib_names: Iterable[str], lib_dir: str) -> str:
    """The Flink version of an install from the names of its ``lib/flink-dist*.jar`` files.

    Fails like Flink's ``bin/config.sh`` does when there is no distribution jar or more than one,
    saying what was looked for.
    """
    names = sorted(set(lib_names))
    versions = sorted({v for v in map(flink_version_from_jar, names) if v})
    looked_for = " or ".join(g.split("/", 1)[1] for g in DIST_GLOBS)
    if not names:
        raise HostFactError(
            f"cannot detect the Flink version: no {looked_for} in {lib_dir} "
            "(Flink's own scripts say: Flink distribution jar not found); "
            "point flink_home at a Flink installation or set flink_version"
        )
    if len(names) > 1:
        raise HostFactError(
            f"cannot detect the Flink version: multiple flink-dist*.jar found in {lib_dir} "
            f"({', '.join(names)}); Flink's own scripts refuse to start with more than one; "
            "remove the extra jar or set flink_version"
        )
    if not versions:
        raise HostFactError(
            f"cannot detect the Flink version from {lib_dir}/{names[0]}: the name does not look like "
            f"{looked_for}; set flink_version"
        )
    return versions[0]
