#!/bin/sh
# pve-dualnet-lib.sh: what pve-dualnet-network.sh and pve-dualnet-sysctl.sh share. Never run:
# each program sources it from its own directory (the upload's staging directory, or
# /var/lib/pve-dualnet/bin where pve-dualnet-network.sh installs itself with it for its dead-man
# switch and boot guard), so a program and its library always come from the same upload.
#
# A program sets PROG (its name in log lines), LOCK_DIR and LOCK before using the lock, and
# RUN / RUN_DIR once a run has its directory. Provided: log, finish, checkpoint, sha_of,
# size_of, now, boot_id, proc_id / proc_alive (a process by pid and start time), kill_group,
# open_lock / take_lock (an exclusive flock on file descriptor 9), marker_write / marker_get
# (KEY=value files written with write-and-rename) and drop_file (a checked, durable removal).
# shellcheck shell=sh

# The programs refuse a library of another version.
# shellcheck disable=SC2034 # read by the programs
PVE_DUALNET_LIB=2

PROG=${PROG:-pve-dualnet}
RUN=""
RUN_DIR=""

# ---------------------------------------------------------------------------
# Logging: every line to the terminal (Terraform shows it; systemd's journal for the dead-man
# switch and the boot guard) and to the run's own log
# ---------------------------------------------------------------------------

log() {
  line="$(date '+%H:%M:%S') $PROG${RUN:+[$RUN]}: $*"
  [ -n "$RUN_DIR" ] && printf '%s\n' "$line" 2>/dev/null >>"$RUN_DIR/log"
  printf '%s\n' "$line" 2>/dev/null
  return 0
}

finish() { # status message...
  status=$1
  shift
  log "$*"
  [ -n "$RUN_DIR" ] && printf '%s %s\n' "$status" "$*" 2>/dev/null >"$RUN_DIR/result"
  exit "$status"
}

# A fault-injection point for the tests: with PVE_DUALNET_PAUSE_AT=<name>, the run stops here
# until $LOCK_DIR/resume appears (at most 60 s), holding whatever it holds (the lock among them).
checkpoint() {
  log "checkpoint $1"
  [ "${PVE_DUALNET_PAUSE_AT:-}" = "$1" ] || return 0
  paused=0
  while [ ! -e "$LOCK_DIR/resume" ] && [ "$paused" -lt 300 ]; do
    sleep 0.2 9>&-
    paused=$((paused + 1))
  done
  rm -f "$LOCK_DIR/resume"
}

# ---------------------------------------------------------------------------
# Files and time. Field splitting in the shell itself, not cut/sed: the loops that use these run
# every second, and a rollback should depend on as little as it can.
# ---------------------------------------------------------------------------

sha_of() {
  set -- "$(sha256sum "$1" 2>/dev/null)"
  printf '%s\n' "${1%% *}"
}
size_of() { wc -c <"$1" 2>/dev/null | tr -d ' '; }
now() { date +%s; }
clock() { date -d "@$1" '+%H:%M:%S'; }

# This boot's id: a marker that records it tells a reboot from the same boot. The tests simulate a
# new boot through PVE_DUALNET_BOOT_ID_FILE (the lab cannot reboot).
boot_id() {
  { read -r _boot <"${PVE_DUALNET_BOOT_ID_FILE:-/proc/sys/kernel/random/boot_id}"; } 2>/dev/null || _boot=""
  printf '%s\n' "$_boot"
}

# Removes a file (an absolute path) and makes the removal durable; fails when the file is still there (a read-only
# or failing file system) or its directory cannot be synced.
drop_file() {
  rm -f "$1" 2>/dev/null
  [ ! -e "$1" ] && sync "${1%/*}" 2>/dev/null
}

# ---------------------------------------------------------------------------
# Processes: a pid alone may be a zombie or a reused number. A process is named by its pid and its
# start time (field 22 of /proc/PID/stat, clock ticks since boot): "PID:START".
# ---------------------------------------------------------------------------

proc_stat() { # pid: sets PROC_STATE and PROC_START; fails when there is no such process
  case "$1" in '' | *[!0-9]*) return 1 ;; esac
  { read -r _stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  # Field 2 (the command name, in parentheses) may hold spaces: split after its closing ") ".
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- ${_stat##*) }
  [ $# -ge 20 ] || return 1
  PROC_STATE=$1
  shift 19
  PROC_START=$1
}

proc_id() { # pid: prints PID:START
  proc_stat "$1" && printf '%s:%s\n' "$1" "$PROC_START"
}

proc_alive() { # PID:START: that very process runs (not a zombie, not a new process with its pid)
  case "$1" in *:*) ;; *) return 1 ;; esac
  proc_stat "${1%%:*}" || return 1
  [ "$PROC_START" = "${1#*:}" ] || return 1
  case "$PROC_STATE" in Z | X | x) return 1 ;; esac
  return 0
}

kill_group() { # PID:START of a process group leader: SIGKILL to its whole group, then wait for it
  proc_alive "$1" || return 0
  kill -s KILL -- "-${1%%:*}" 2>/dev/null
  _waited=0
  while proc_alive "$1" && [ "$_waited" -lt 50 ]; do
    sleep 0.1
    _waited=$((_waited + 1))
  done
  return 0
}

# ---------------------------------------------------------------------------
# The lock: an exclusive flock on $LOCK, held on file descriptor 9 until the program exits.
# Children that may outlive a step are started with 9>&- so they never hold it.
# ---------------------------------------------------------------------------

open_lock() {
  mkdir -p "$LOCK_DIR" 2>/dev/null
  # `command` takes away exec's special built-in status: a redirection that fails returns non-zero
  # instead of ending a non-interactive shell (POSIX XCU 2.8.1 and command(1p)); dash would
  # otherwise exit with 2 ("rolled back") before any message.
  { command exec 9>"$LOCK"; } 2>/dev/null
}

take_lock() { # seconds: 0 locked, 1 the lock file cannot be opened, 4 busy for that long
  open_lock || return 1
  flock -n 9 && return 0
  log "waiting for the lock $LOCK (another pve-dualnet run holds it)"
  flock -w "$1" 9 || return 4
}

# ---------------------------------------------------------------------------
# Markers: KEY=value lines, written with write-and-rename and synced, so a marker is either the
# old one or the new one, never half there, and survives a crash once written.
# ---------------------------------------------------------------------------

marker_write() { # file (an absolute path) KEY=value...
  _file=$1
  shift
  _tmp="${_file%/*}/.${_file##*/}.$$"
  if { printf '%s\n' "$@" >"$_tmp"; } 2>/dev/null && sync "$_tmp" 2>/dev/null &&
    mv -f "$_tmp" "$_file" 2>/dev/null && sync "${_file%/*}" 2>/dev/null; then
    return 0
  fi
  rm -f "$_tmp" 2>/dev/null
  return 1
}

marker_get() { # file KEY: its first value
  while IFS= read -r _field || [ -n "$_field" ]; do
    case "$_field" in "$2="*)
      printf '%s\n' "${_field#*=}"
      return 0
      ;;
    esac
  done 2>/dev/null <"$1"
  return 1
}
