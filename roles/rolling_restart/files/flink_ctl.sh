#!/bin/sh
# Stop or start one Flink process on this host, the way an operator would by hand:
# bin/taskmanager.sh (or bin/jobmanager.sh) with the host's own FLINK_CONF_DIR, pid dir and ident
# string, or the host's systemd unit. POSIX sh; the host needs no Python.
#
#   flink_ctl.sh stop|start|status            (process from FLINKOPS_PROCESS: taskmanager|jobmanager)
#
# Environment (set by the rolling_restart role): FLINKOPS_HOME, FLINKOPS_CONF_DIR, FLINKOPS_PID_DIR,
# FLINKOPS_LOG_DIR, FLINKOPS_IDENT (empty: $USER, as flink-daemon.sh does), FLINKOPS_UNIT (systemd
# unit; empty: the scripts), FLINKOPS_GRACE (seconds the new JVM must stay up), FLINKOPS_STOP_TIMEOUT.
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

case $action in
  status)
    p=$(current_pid)
    if alive "$p"; then echo "running pid=$p"; else echo "stopped"; fi
    ;;
  stop)
    p=$(current_pid)
    if ! alive "$p"; then
      # Nothing to stop; let the script tidy a stale pid file.
      if [ -n "$unit" ]; then
        echo "was-stopped: unit $unit has no main process"
      else
        [ -f "$pid_file" ] && "$home/bin/$process.sh" stop >/dev/null 2>&1
        echo "was-stopped: no running $daemon in $pid_file"
      fi
      exit 0
    fi
    if [ -n "$unit" ]; then
      systemctl stop "$unit" || exit 1
    else
      "$home/bin/$process.sh" stop || exit 1
    fi
    i=0
    while alive "$p"; do
      if [ "$i" -ge "$stop_timeout" ]; then echo "pid $p still running ${stop_timeout}s after stop" >&2; exit 1; fi
      sleep 1; i=$((i + 1))
    done
    echo "stopped pid=$p"
    ;;
  start)
    p=$(current_pid)
    if alive "$p"; then echo "already running pid=$p; stop it first" >&2; exit 1; fi
    # Logs written after this file are the new JVM's (the scripts rotate the old ones away anyway).
    marker=$(mktemp "${TMPDIR:-/tmp}/flinkops-start.XXXXXX") || marker=
    if [ -n "$unit" ]; then
      systemctl start "$unit" || { rm -f "$marker"; last_output >&2; exit 1; }
    else
      "$home/bin/$process.sh" start || { rm -f "$marker"; last_output >&2; exit 1; }
    fi
    # Watch the new JVM for up to $grace seconds: one that dies fails here with its own last words.
    # A TaskManager whose log already says it registered has started: the REST checks take over at
    # once instead of after the whole grace.
    i=0
    while [ "$i" -lt "$grace" ]; do
      sleep 1; i=$((i + 1))
      p=$(current_pid)
      if ! alive "$p"; then
        echo "the $process exited within ${i}s of starting; its last output:" >&2
        last_output >&2
        rm -f "$marker"
        exit 1
      fi
      if registered_since "$marker"; then
        rm -f "$marker"
        echo "started pid=$p, registered after ${i}s"
        exit 0
      fi
    done
    rm -f "$marker"
    echo "started pid=$p"
    ;;
  *)
    echo "usage: flink_ctl.sh stop|start|status" >&2
    exit 2
    ;;
esac
