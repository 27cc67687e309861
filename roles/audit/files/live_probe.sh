#!/bin/sh
# Live audit probe, run on a TaskManager host by the audit role (ansible.builtin.raw, no Python):
#   sh -c "$(cat live_probe.sh)" probe <config file> <conf dir>...
# Prints "now <epoch>", "mtime <epoch>" of the config file, and "tm <pid> <start epoch>" for every
# TaskManager JVM whose --configDir is one of the conf dirs (symlinks resolved). The audit compares
# the two times: a file changed after its TaskManager started is a restart still pending.
# Linux /proc only; elsewhere it prints what it can and the audit says it could not tell.
LC_ALL=C; export LC_ALL
f=$1; shift
echo "now $(date +%s)"
m=$(stat -c %Y "$f" 2>/dev/null) || m=$(date -r "$f" +%s 2>/dev/null) || m=
echo "mtime $m"
[ -r /proc/stat ] || exit 0
bt=$(awk '$1=="btime"{print $2}' /proc/stat)
hz=$(getconf CLK_TCK 2>/dev/null) || hz=100
want=
for d in "$@"; do r=$(cd "$d" 2>/dev/null && pwd -P) && want="$want
$r"; done
grep -la 'org.apache.flink.runtime.taskexecutor.TaskManagerRunner' /proc/[0-9]*/cmdline 2>/dev/null |
while read -r c; do
  p=${c#/proc/}; p=${p%/cmdline}
  d=$(tr '\000' '\n' 2>/dev/null < "$c" | awk '
    x && d == "" { d = $0 }
    $0 == "--configDir" { x = 1 }
    $0 == "org.apache.flink.runtime.taskexecutor.TaskManagerRunner" { m = 1 }
    END { if (m && d != "") print d }')
  [ -n "$d" ] || continue
  r=$(cd "$d" 2>/dev/null && pwd -P) || continue
  case "$want
" in *"
$r
"*) ;; *) continue;; esac
  s=$(cat 2>/dev/null "/proc/$p/stat") || continue
  s=${s##*) }
  # Field 22 of /proc/<pid>/stat is the start in clock ticks after boot; split on purpose.
  set -f
  # shellcheck disable=SC2086
  set -- $s
  shift 19
  echo "tm $p $(( bt + $1 / hz ))"
done
