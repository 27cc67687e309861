#!/bin/sh
# Stop or start one Flink process on this host, the way an operator would by hand:
# bin/taskmanager.sh start (or bin/jobmanager.sh) with the host's own FLINK_CONF_DIR, pid dir and ident
# string, or the host's systemd unit. POSIX sh; the host needs no Python.
#
#   flink_ctl.sh stop|start|status            (process from FLINKOPS_PROCESS: taskmanager|jobmanager)
#
# The stop does what bin/flink-daemon.sh stop does (the last pid of the pid file leaves it, SIGTERM,
# SIGKILL after 10 s) without bin/taskmanager.sh: on Flink 1.19+ every call of that script first runs a
# JVM to parse config.yaml, seconds on a busy host, for a pid file this script already knows.
# Each JVM it sees is printed as "pid=<pid> start=<start>" (start: /proc's start time in clock ticks
# since boot, else ps's lstart): the same JVM gives the same line (plugins/plugin_utils/jvm_identity.py).
#
# Environment (set by the rolling_restart role): FLINKOPS_HOME, FLINKOPS_CONF_DIR, FLINKOPS_PID_DIR,
# FLINKOPS_LOG_DIR, FLINKOPS_IDENT (empty: $USER, as flink-daemon.sh does), FLINKOPS_UNIT (systemd
# unit; empty: the scripts), FLINKOPS_GRACE (seconds the new JVM must stay up), FLINKOPS_STOP_TIMEOUT.
# A start detaches the JVM from the caller's session and terminal (start_detached): it survives the end of
# the SSH session (with or without a pty) that ran this script.
set -u
action=${1:-}
process=${FLINKOPS_PROCESS:-taskmanager}
case $process in
  taskmanager) daemon=taskexecutor ;;
  jobmanager) daemon=standalonesession ;;
  *) echo "flink_ctl.sh: unknown process '$process'" >&2; exit 2 ;;
esac
unit=${FLINKOPS_UNIT:-}
grace=${FLINKOPS_GRACE:-5}
stop_timeout=${FLINKOPS_STOP_TIMEOUT:-60}

if [ -z "$unit" ]; then
  home=${FLINKOPS_HOME:?FLINKOPS_HOME is not set}
  FLINK_CONF_DIR=${FLINKOPS_CONF_DIR:?FLINKOPS_CONF_DIR is not set}
  export FLINK_CONF_DIR
  if [ -n "${FLINKOPS_PID_DIR:-}" ]; then FLINK_PID_DIR=$FLINKOPS_PID_DIR; export FLINK_PID_DIR; fi
  if [ -n "${FLINKOPS_LOG_DIR:-}" ]; then FLINK_LOG_DIR=$FLINKOPS_LOG_DIR; export FLINK_LOG_DIR; fi
  if [ -n "${FLINKOPS_IDENT:-}" ]; then FLINK_IDENT_STRING=$FLINKOPS_IDENT; export FLINK_IDENT_STRING; fi
  pid_file="${FLINK_PID_DIR:-/tmp}/flink-${FLINK_IDENT_STRING:-${USER:-}}-$daemon.pid"
fi

current_pid() {
  if [ -n "$unit" ]; then
    p=$(systemctl show -p MainPID --value "$unit" 2>/dev/null) || p=
    [ "$p" = 0 ] && p=
  else
    p=
    [ -f "$pid_file" ] && p=$(tail -n 1 "$pid_file" 2>/dev/null)
  fi
  echo "$p"
}

# Polls five times a second where sleep takes fractions (GNU, busybox, BSD), else once a second.
if sleep 0.01 2>/dev/null; then nap=0.2; tps=5; else nap=1; tps=1; fi
nap() { sleep "$nap"; }
seconds() { echo "$(($1 / tps)).$(($1 % tps * 10 / tps))s"; }

jvm_start() {
  # When the process $1 started: field 22 of /proc/<pid>/stat (clock ticks since boot), else ps's lstart.
  if [ -r "/proc/$1/stat" ]; then
    t=$(cut -d')' -f2- < "/proc/$1/stat" 2>/dev/null | awk '{print $20}')
    [ -n "$t" ] && { echo "$t"; return; }
  fi
  ps -o lstart= -p "$1" 2>/dev/null | tr -s ' ' '_' | sed 's/^_//; s/_$//'
}

identity() {
  echo "pid=$1 start=$(jvm_start "$1")"
}

alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
  # A zombie (dead, not yet reaped where PID 1 does not reap) is not alive.
  if [ -r "/proc/$1/stat" ]; then
    case $(cut -d')' -f2 < "/proc/$1/stat" 2>/dev/null) in " Z"*) return 1 ;; esac
  fi
  return 0
}

last_output() {
  # The newest .out of this daemon: what the JVM printed before it died (an unknown option, say).
  if [ -n "$unit" ]; then
    journalctl -u "$unit" -n 20 --no-pager 2>/dev/null
    return
  fi
  log=${FLINK_LOG_DIR:-$home/log}
  # shellcheck disable=SC2012  # ls -t is the POSIX way to pick the newest file
  out=$(ls -t "$log"/flink-*-"$daemon"-*.out 2>/dev/null | head -n 1)
  [ -n "$out" ] && tail -n 20 "$out"
}

registered_since() {
  # The TaskManager's own log says it registered with the ResourceManager, in a log newer than $1.
  [ "$process" = taskmanager ] && [ -z "$unit" ] && [ -n "$1" ] || return 1
  log=${FLINK_LOG_DIR:-$home/log}
  find "$log" -name "flink-${FLINK_IDENT_STRING:-${USER:-}}-$daemon-*.log" -newer "$1" 2>/dev/null \
    | while read -r f; do grep -l "Successful registration at resource manager" "$f"; done | grep -q .
}

start_detached() {
  # Run "$@" (bin/taskmanager.sh start, which puts the JVM in the background) so that the JVM outlives the
  # session that started it: Ansible's raw over SSH runs this under a terminal (ssh -tt), and when that
  # session ends the kernel sends SIGHUP to its foreground process group, the JVM included (flink-daemon.sh
  # starts it with & and no nohup; a JVM exits on SIGHUP). So: a new session without a controlling terminal
  # (setsid), SIGHUP ignored (nohup, as Flink's start-cluster.sh does over ssh), stdin from /dev/null, the
  # script's own output to a file in the log dir (the JVM's goes to its .out there), printed afterwards.
  log=${FLINK_LOG_DIR:-$home/log}
  ctl_out="$log/flinkops-ctl-$daemon.out"
  mkdir -p "$log" 2>/dev/null
  { : > "$ctl_out"; } 2>/dev/null || ctl_out=/dev/null
  if setsid -w true < /dev/null > /dev/null 2>&1; then
    setsid -w nohup "$@" < /dev/null > "$ctl_out" 2>&1
  else
    nohup "$@" < /dev/null > "$ctl_out" 2>&1
  fi
  rc=$?
  if [ "$ctl_out" != /dev/null ]; then
    if [ "$rc" -eq 0 ]; then cat "$ctl_out"; else cat "$ctl_out" >&2; fi
  fi
  return "$rc"
}

drop_last_pid() {
  # flink-daemon.sh stop: the last pid leaves the pid file; an empty pid file is removed.
  [ -f "$pid_file" ] || return 0
  sed '$d' "$pid_file" > "$pid_file.tmp" 2>/dev/null || return 0
  if [ -s "$pid_file.tmp" ]; then mv "$pid_file.tmp" "$pid_file"; else rm -f "$pid_file" "$pid_file.tmp"; fi
}

case $action in
  status)
    p=$(current_pid)
    if alive "$p"; then echo "running $(identity "$p")"; else echo "stopped"; fi
    ;;
  stop)
    p=$(current_pid)
    if ! alive "$p"; then
      # Nothing to stop; tidy a stale pid file as flink-daemon.sh does.
      if [ -n "$unit" ]; then
        echo "was-stopped: unit $unit has no main process"
      else
        drop_last_pid
        echo "was-stopped: no running $daemon in $pid_file"
      fi
      exit 0
    fi
    echo "stopping $(identity "$p")"
    if [ -n "$unit" ]; then
      systemctl stop "$unit" || exit 1
    else
      drop_last_pid
      kill "$p" 2>/dev/null
    fi
    # As flink-daemon.sh does, SIGKILL a JVM still there 10 s after SIGTERM.
    i=0
    while alive "$p"; do
      if [ "$i" -ge $((stop_timeout * tps)) ]; then echo "pid $p still running ${stop_timeout}s after stop" >&2; exit 1; fi
      if [ "$i" -eq $((10 * tps)) ] && [ -z "$unit" ]; then
        echo "pid $p did not stop within 10 s of SIGTERM: SIGKILL"
        kill -9 "$p" 2>/dev/null
      fi
      nap; i=$((i + 1))
    done
    echo "stopped pid=$p after $(seconds "$i")"
    ;;
  start)
    p=$(current_pid)
    if alive "$p"; then echo "already running pid=$p; stop it first" >&2; exit 1; fi
    # Logs written after this file are the new JVM's (the scripts rotate the old ones away anyway).
    marker=$(mktemp "${TMPDIR:-/tmp}/flinkops-start.XXXXXX") || marker=
    if [ -n "$unit" ]; then
      systemctl start "$unit" || { rm -f "$marker"; last_output >&2; exit 1; }
    else
      start_detached "$home/bin/$process.sh" start || { rm -f "$marker"; last_output >&2; exit 1; }
    fi
    # Watch the new JVM for up to $grace seconds, $tps times a second: one that dies fails here with its
    # own last words. A TaskManager whose log already says it registered has started: the REST checks
    # take over at once instead of after the whole grace.
    i=0
    while [ "$i" -lt $((grace * tps)) ]; do
      nap; i=$((i + 1))
      p=$(current_pid)
      if ! alive "$p"; then
        echo "the $process exited within $(((i + tps - 1) / tps))s of starting; its last output:" >&2
        last_output >&2
        rm -f "$marker"
        exit 1
      fi
      if registered_since "$marker"; then
        rm -f "$marker"
        echo "started $(identity "$p"), registered after $(seconds "$i")"
        exit 0
      fi
    done
    rm -f "$marker"
    echo "started $(identity "$p")"
    ;;
  *)
    echo "usage: flink_ctl.sh stop|start|status" >&2
    exit 2
    ;;
esac
