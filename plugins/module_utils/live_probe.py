# Copyright (c) 2025 flinkops developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live probe: when a host's TaskManager started against when its config file last changed.

A file changed after its TaskManager started is a restart still pending. The probe is a POSIX
``sh`` fragment the gather (flink_config_info with ``live: true``) runs inside its one command,
in the physical conf dir, so the live audit costs no task and no round trip of its own. Linux
``/proc`` only; elsewhere it prints what it can and the audit says it could not tell.
"""

from __future__ import annotations

# One record "@@live\n<lines>\0". Lines: "now <epoch>", "mtime <file name> <epoch>" for each
# candidate config file that exists (symlinks followed), and "tm <pid> <start epoch>" for every
# TaskManager JVM ("jm ..." for a standalone JobManager JVM) whose --configDir resolves to this conf
# dir ($PWD: the gather has cd'd there with cd -P). stderr stays clean: the gather's framing tests
# hold every path to that.
LIVE_SH = r"""
printf '@@live\n'
(
  echo "now $(date +%s)"
  for n in flink-conf.yaml config.yaml; do
    [ -e "$n" ] || continue
    t=$(stat -L -c %Y "$n" 2>/dev/null) || t=$(date -r "$n" +%s 2>/dev/null) || t=
    echo "mtime $n $t"
  done
  if [ -r /proc/stat ]; then
    here=$PWD
    bt=$(awk '$1=="btime"{print $2}' /proc/stat)
    hz=$(getconf CLK_TCK 2>/dev/null) || hz=100
    grep -laE 'runtime.(taskexecutor.TaskManagerRunner|entrypoint.StandaloneSessionClusterEntrypoint)' \
      /proc/[0-9]*/cmdline 2>/dev/null |
    while read -r c; do
      p=${c#/proc/}; p=${p%/cmdline}
      # "tm <dir>" for a TaskManager, "jm <dir>" for a standalone JobManager
      d=$(tr '\000' '\n' 2>/dev/null < "$c" | awk '
        x && d == "" { d = $0 }
        $0 == "--configDir" { x = 1 }
        $0 == "org.apache.flink.runtime.taskexecutor.TaskManagerRunner" { m = "tm" }
        $0 == "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint" { m = "jm" }
        END { if (m != "" && d != "") print m " " d }')
      [ -n "$d" ] || continue
      kind=${d%% *}; d=${d#* }
      d=$(cd "$d" 2>/dev/null && pwd -P) || continue
      [ "$d" = "$here" ] || continue
      s=$(cat 2>/dev/null "/proc/$p/stat") || continue
      s=${s##*) }
      # Field 22 of /proc/<pid>/stat is the start in clock ticks after boot; split on purpose.
      set -f
      # shellcheck disable=SC2086
      set -- $s
      set +f
      shift 19
      echo "$kind $p $(( bt + $1 / hz ))"
    done
  fi
) | tr -d '\000'
printf '\000'
"""


def parse_live(text: str, config_name: str | None) -> dict:
    """The probe's lines -> ``{now, mtime, processes: [{pid, started}], jobmanagers: [{pid, started}]}``
    (mtime of ``config_name``; ``processes`` are the TaskManager JVMs).

    Missing or malformed numbers are None; unknown lines (noise) are ignored.
    """
    out: dict = {"now": None, "mtime": None, "processes": [], "jobmanagers": []}
    for line in str(text or "").splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "now" and len(parts) == 2 and parts[1].isdigit():
            out["now"] = int(parts[1])
        elif parts[0] == "mtime" and len(parts) == 3 and parts[1] == config_name and parts[2].isdigit():
            out["mtime"] = int(parts[2])
        elif parts[0] in ("tm", "jm") and len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            key = "processes" if parts[0] == "tm" else "jobmanagers"
            out[key].append({"pid": int(parts[1]), "started": int(parts[2])})
    return out
