#!/bin/sh
# pve-dualnet-network.sh: apply a new /etc/network/interfaces on a Proxmox VE host without ever
# stranding it: commit-confirmed, the way routers do it.
#
#   apply   ENV NEW [--confirm]  check NEW, back up the live file, arm a dead-man switch, switch,
#                                ifreload -a, verify; on any failure restore the backup at once.
#                                A verified change stays pending until `confirm` (over a new SSH
#                                connection, proving the host is still reachable), or is rolled
#                                back when the dead-man switch fires. --confirm confirms at once.
#   confirm ENV SHA256           keep the pending change whose new file has this sha256
#   expire  RUN                  the dead-man switch: roll back RUN unless it was confirmed
#   boot-guard                   at boot, before networking: restore the file an unconfirmed
#                                change replaced (a reboot inside the confirm window)
#   status                       print the pending change, if any
#
# ENV is written by pve-dualnet (renderers/host-apply-env.ts); see "The environment file" below.
# Exit status: 0 done, 1 refused or failed before switching (nothing changed), 2 rolled back,
# 3 rollback failed (the host needs attention), 4 busy (another change is applying or pending).
#
# One run at a time: a run holds an exclusive flock from staging to the end of verification or
# rollback; its id names its directory (log, backup, result) under $STATE/runs. Nothing is ever
# written to /etc/network/interfaces.new, which Proxmox's pvenetcommit moves into place at boot.
set -u
umask 022
# A dropped SSH session must not kill a run half-way (traps roll back on TERM, not on HUP), and
# writing to a closed pipe must fail quietly instead of killing the shell.
trap '' HUP PIPE

LIVE=/etc/network/interfaces
PENDING_GUI=/etc/network/interfaces.new
STATE=/var/lib/pve-dualnet/network
LOCK_DIR=/run/pve-dualnet
LOCK=$LOCK_DIR/network.lock
INSTALLED=/var/lib/pve-dualnet/bin/pve-dualnet-network.sh
GUARD_UNIT=pve-dualnet-network-guard.service
KEEP_RUNS=10
# Debian's ifupdown2 syntax check flags two things Proxmox writes on purpose and applies fine:
# an mtu on a bridge, and `bridge-ports none` (a portless bridge).
TOLERATED='bridge inherits mtu from its ports
bridge-ports: invalid value "none"'

RUN=""
RUN_DIR=""
SWITCHED=0
BEFORE=""
NEW_SHA=""
BACKUP=""
BACKUP_SHA=""

# ---------------------------------------------------------------------------
# Logging: every line to the terminal (Terraform shows it) and to this run's own log
# ---------------------------------------------------------------------------

log() {
  line="$(date '+%H:%M:%S') pve-dualnet${RUN:+[$RUN]}: $*"
  [ -n "$RUN_DIR" ] && printf '%s\n' "$line" 2>/dev/null >>"$RUN_DIR/log"
  printf '%s\n' "$line" 2>/dev/null
  return 0
}

finish() {
  status=$1
  shift
  log "$*"
  [ -n "$RUN_DIR" ] && printf '%s %s\n' "$status" "$*" 2>/dev/null >"$RUN_DIR/result"
  exit "$status"
}

# A fault-injection point for the tests: PVE_DUALNET_PAUSE_AT=<name> stops here for 60 s.
checkpoint() {
  log "checkpoint $1"
  if [ "${PVE_DUALNET_PAUSE_AT:-}" = "$1" ]; then sleep 60 >/dev/null 2>&1 9>&-; fi
}

# Field splitting and pattern matching in the shell itself, not sed/cut/grep: the verification
# and the watchdog loops run every second, and a rollback should depend on as little as it can.
sha_of() {
  set -- "$(sha256sum "$1" 2>/dev/null)"
  printf '%s\n' "${1%% *}"
}
size_of() { wc -c <"$1" 2>/dev/null | tr -d ' '; }
now() { date +%s; }

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || finish 1 "refused: $tool is missing (Proxmox VE ships it; apt install ifupdown2 iproute2 iputils-ping util-linux)"
  done
}

# ---------------------------------------------------------------------------
# The environment file (rendered by pve-dualnet, sourced here)
# ---------------------------------------------------------------------------
#   NODE_NAME        the Proxmox node
#   INTERFACES       one line per interface: name mtu address|- carrier(yes|no) kind
#   GATEWAY          the one default gateway; GATEWAY_DEV the interface it must be on
#   PEERS            internal addresses of the other nodes; PEER_MTU the size they must pass
#   CONFIRM_TIMEOUT  seconds from the switch until an unconfirmed change is rolled back
#   VERIFY_TIMEOUT   seconds the new network gets to pass verification

load_env() {
  [ -r "$1" ] || finish 1 "refused: environment file $1 is missing"
  # shellcheck disable=SC1090 # rendered by pve-dualnet
  . "$1"
  for var in NODE_NAME INTERFACES GATEWAY GATEWAY_DEV CONFIRM_TIMEOUT VERIFY_TIMEOUT PEER_MTU; do
    eval "value=\${$var:-}"
    # shellcheck disable=SC2154 # set by the eval above
    [ -n "$value" ] || finish 1 "refused: $var is not set in $1"
  done
  PEERS=${PEERS:-}
}

# ---------------------------------------------------------------------------
# Runs and the lock
# ---------------------------------------------------------------------------

start_run() {
  RUN="$(date -u +%Y%m%dT%H%M%SZ)-$$"
  RUN_DIR="$STATE/runs/$RUN"
  if ! mkdir -p "$RUN_DIR" 2>/dev/null; then
    RUN_DIR=""
    finish 1 "refused: cannot create the run directory under $STATE (disk full?); nothing changed"
  fi
}

take_lock() {
  mkdir -p "$LOCK_DIR" || finish 1 "refused: cannot create $LOCK_DIR"
  exec 9>"$LOCK" || finish 1 "refused: cannot open $LOCK"
  if ! flock -n 9; then
    log "waiting for the network lock (another pve-dualnet run is applying)"
    flock -w "$1" 9 || finish 4 "busy: another pve-dualnet run held the network lock for $1 s; nothing changed"
  fi
}

prune_runs() {
  # Keep the newest runs (their logs and backups); never the one of a pending change.
  keep_pending=""
  [ -f "$STATE/pending" ] && keep_pending=$(pending_field RUN)
  ls -1 "$STATE/runs" 2>/dev/null | sort -r | tail -n +$((KEEP_RUNS + 1)) | while read -r old; do
    [ "$old" = "$keep_pending" ] || rm -rf "${STATE:?}/runs/$old"
  done
}

# The pending marker: KEY=value lines, written with write-and-rename so it is never half there.
write_pending() {
  tmp="$STATE/.pending.$RUN"
  {
    echo "RUN=$RUN"
    echo "NEW_SHA=$NEW_SHA"
    echo "BACKUP=$BACKUP"
    echo "BACKUP_SHA=$BACKUP_SHA"
    echo "DEADLINE=$1"
    echo "WATCHDOG=$2"
  } >"$tmp" && sync "$tmp" && mv -f "$tmp" "$STATE/pending" && sync "$STATE"
}

pending_field() { # key: its first value in the marker
  while IFS= read -r field || [ -n "$field" ]; do
    case "$field" in "$1="*)
      printf '%s\n' "${field#*=}"
      return 0
      ;;
    esac
  done 2>/dev/null <"$STATE/pending"
}

# ---------------------------------------------------------------------------
# Writing /etc/network/interfaces: a same-directory copy, fsync, hash check, rename
# ---------------------------------------------------------------------------

install_live() { # source, expected sha256
  tmp="/etc/network/.interfaces.pve-dualnet.${RUN:-boot}"
  if ! cp "$1" "$tmp" 2>/dev/null || ! sync "$tmp" 2>/dev/null || [ "$(sha_of "$tmp")" != "$2" ]; then
    rm -f "$tmp"
    return 1
  fi
  mv -f "$tmp" "$LIVE" && sync /etc/network
}

# ifreload -a, its output in the log (and so on the terminal).
reload() {
  output=$(ifreload -a 2>&1)
  status=$?
  [ -z "$output" ] || printf '%s\n' "$output" | while IFS= read -r line; do log "ifreload: $line"; done
  return $status
}

# ---------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------

# Which of the gateway and the peers answer now: peers that do not answer before a change are
# reported and not required after it (a node that is down must not block every change).
probe_before() {
  REQUIRED_PEERS=""
  for peer in $PEERS; do
    if ping -c 1 -W 1 "$peer" >/dev/null 2>&1; then
      REQUIRED_PEERS="$REQUIRED_PEERS $peer"
    else
      log "peer $peer does not answer before the change: reported, not required after it"
    fi
  done
  if ! ping -c 1 -W 1 "$GATEWAY" >/dev/null 2>&1; then
    log "note: gateway $GATEWAY does not answer before the change either"
  fi
}

# One pass over every check; sets PROBLEM to the first failure.
verify_once() {
  PROBLEM=""
  while read -r name mtu address carrier _kind; do
    [ -n "$name" ] || continue
    link=$(ip -o link show dev "$name" 2>/dev/null) || { PROBLEM="$name does not exist"; return 1; }
    flags=${link#*<}
    flags=${flags%%>*}
    case ",$flags," in *,UP,*) ;; *) PROBLEM="$name is not up"; return 1 ;; esac
    if [ "$carrier" = yes ]; then
      case ",$flags," in *,LOWER_UP,*) ;; *) PROBLEM="$name has no carrier (link down)"; return 1 ;; esac
    fi
    actual=""
    case "$link" in *" mtu "*)
      actual=${link#* mtu }
      actual=${actual%% *}
      ;;
    esac
    [ "$actual" = "$mtu" ] || { PROBLEM="$name has MTU ${actual:-?}, planned $mtu"; return 1; }
    if [ "$address" != "-" ]; then
      case "$(ip -o -4 addr show dev "$name" 2>/dev/null)" in
        *" inet $address "*) ;;
        *) PROBLEM="$name does not have $address"; return 1 ;;
      esac
    fi
  done <<EOF
$INTERFACES
EOF
  routes=$(ip -4 route show default)
  count=$(printf '%s\n' "$routes" | grep -c '^default')
  [ "$count" -eq 1 ] || { PROBLEM="$count default routes, planned exactly one (via $GATEWAY dev $GATEWAY_DEV): $(printf '%s' "$routes" | tr '\n' ';')"; return 1; }
  case "$routes" in
    "default via $GATEWAY dev $GATEWAY_DEV"*) ;;
    *) PROBLEM="the default route is '$routes', planned via $GATEWAY dev $GATEWAY_DEV"; return 1 ;;
  esac
  ping -c 1 -W 1 "$GATEWAY" >/dev/null 2>&1 || { PROBLEM="gateway $GATEWAY does not answer"; return 1; }
  for peer in $REQUIRED_PEERS; do
    # A full-size frame that must not be fragmented: the MTU holds end to end (switches too).
    ping -M "do" -s $((PEER_MTU - 28)) -c 1 -W 1 "$peer" >/dev/null 2>&1 ||
      { PROBLEM="peer $peer does not answer $PEER_MTU-byte unfragmented pings (MTU $PEER_MTU not carried end to end?)"; return 1; }
  done
  return 0
}

# The network as it is: links (up, carrier, MTU), IPv4 addresses and the default routes, one
# normalized line each. Taken before a change, it is what a rollback must bring back.
snapshot() {
  ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: \([^:@]*\)[^:]*: <\([^>]*\)> mtu \([0-9]*\) .*/\1 \3 \2/p' |
    while read -r name mtu flags; do
      up=down
      case ",$flags," in *,UP,*) up=up ;; esac
      carrier=no-carrier
      case ",$flags," in *,LOWER_UP,*) carrier=carrier ;; esac
      echo "link $name $mtu $up $carrier"
    done
  ip -o -4 addr show 2>/dev/null | awk '{ print "addr", $2, $4 }'
  ip -4 route show default 2>/dev/null | sed 's/ proto [a-z]*//; s/ *$//; s/^/route /'
}

verify_until() { # deadline (epoch seconds)
  while :; do
    verify_once && return 0
    [ "$(now)" -lt "$1" ] || return 1
    log "waiting: $PROBLEM"
    sleep 1
  done
}

# ---------------------------------------------------------------------------
# Rollback, the dead-man switch
# ---------------------------------------------------------------------------

# Puts the backup back and reloads. Never writes a backup whose hash is not the recorded one.
restore() { # reason
  log "rolling back: $1"
  if [ ! -f "$BACKUP" ] || [ "$(sha_of "$BACKUP")" != "$BACKUP_SHA" ]; then
    finish 3 "ROLLBACK FAILED: the backup $BACKUP is missing or damaged; $LIVE was left as it is. Fix it from the console (ifreload -a)."
  fi
  if ! install_live "$BACKUP" "$BACKUP_SHA"; then
    finish 3 "ROLLBACK FAILED: could not write $LIVE (disk full?); the backup is $BACKUP. Copy it back from the console and run ifreload -a."
  fi
  rm -f "$STATE/pending"
  sync "$STATE" 2>/dev/null
  if ! reload; then
    finish 3 "ROLLBACK INCOMPLETE: the previous $LIVE is back but ifreload -a failed; run ifreload -a from the console"
  fi
  SWITCHED=0
  return 0
}

rollback_and_exit() { # reason
  restore "$1"
  # The previous network must look as it did before the change: same links, addresses, route.
  deadline=$(($(now) + VERIFY_TIMEOUT))
  while [ -n "$BEFORE" ]; do
    [ "$(snapshot | sort)" = "$BEFORE" ] && finish 2 "rolled back: $1. The previous network is live, as it was before the change."
    [ "$(now)" -lt "$deadline" ] || break
    sleep 1
  done
  after=$(snapshot | sort)
  printf '%s\n' "$BEFORE" | while IFS= read -r line; do
    printf '%s\n' "$after" | grep -qxF "$line" || log "missing since the change: $line"
  done
  finish 2 "rolled back: $1. The previous file is live, but the network differs from before the change (above)."
}

on_signal() {
  trap '' TERM INT
  if [ "$SWITCHED" = 1 ]; then
    rollback_and_exit "interrupted by a signal"
  fi
  cleanup_staged
  finish 1 "interrupted by a signal before the switch; nothing changed"
}

arm_deadman() { # deadline
  # The marker first: the dead-man switch acts only on the run the marker names.
  write_pending "$1" starting || return 1
  # A transient systemd timer on a real host; a detached watchdog where systemd does not run.
  if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1 &&
    systemd-run --quiet --unit="pve-dualnet-expire-$RUN" --on-active="$CONFIRM_TIMEOUT" \
      --timer-property=AccuracySec=1s /bin/sh "$INSTALLED" expire "$RUN" >/dev/null 2>&1; then
    WATCHDOG="timer:pve-dualnet-expire-$RUN"
  else
    # Detached from this run (its own session, without the lock's descriptor), so killing the run
    # or its SSH session leaves the watchdog to do its job.
    setsid /bin/sh "$INSTALLED" watchdog "$RUN" "$1" </dev/null >/dev/null 2>&1 9>&- &
    WATCHDOG="pid:$!"
  fi
  write_pending "$1" "$WATCHDOG"
}

disarm_deadman() {
  watchdog=$(pending_field WATCHDOG)
  case "$watchdog" in
    timer:*) systemctl stop "${watchdog#timer:}.timer" >/dev/null 2>&1 ;;
    pid:*) kill "${watchdog#pid:}" 2>/dev/null ;;
  esac
  return 0
}

deadman_alive() {
  watchdog=$(pending_field WATCHDOG)
  case "$watchdog" in
    timer:*) systemctl is-active --quiet "${watchdog#timer:}.timer" 2>/dev/null ;;
    pid:*) kill -0 "${watchdog#pid:}" 2>/dev/null ;;
    *) return 1 ;;
  esac
}

# A pending change found by a new run: awaiting confirmation (busy), or stale (its dead-man
# switch is gone or overdue): then it is rolled back if it is still live, else the marker is
# dropped. A marker never makes a run roll back a file it does not describe.
settle_pending() {
  [ -f "$STATE/pending" ] || return 0
  p_run=$(pending_field RUN)
  p_new=$(pending_field NEW_SHA)
  p_deadline=$(pending_field DEADLINE)
  case "$p_deadline" in '' | *[!0-9]*) p_deadline=0 ;; esac
  if [ "$(now)" -lt "$p_deadline" ] && deadman_alive; then
    finish 4 "busy: run $p_run switched the network and awaits confirmation until $(date -d "@$p_deadline" '+%H:%M:%S'); nothing changed"
  fi
  if [ -n "$p_new" ] && [ "$(sha_of "$LIVE")" = "$p_new" ]; then
    log "run $p_run was never confirmed and its dead-man switch is gone: rolling it back first"
    BACKUP=$(pending_field BACKUP)
    BACKUP_SHA=$(pending_field BACKUP_SHA)
    restore "unconfirmed change of run $p_run"
    log "rolled back the unconfirmed change of run $p_run"
  else
    log "dropping a stale pending marker (run ${p_run:-?}): $LIVE is not the file it describes"
    rm -f "$STATE/pending"
  fi
}

cleanup_staged() {
  rm -f /etc/network/.interfaces.pve-dualnet.* 2>/dev/null
  return 0
}

# ---------------------------------------------------------------------------
# Installation of the guard (real hosts only)
# ---------------------------------------------------------------------------

install_self() {
  mkdir -p "$(dirname "$INSTALLED")" || return 1
  if ! cmp -s "$0" "$INSTALLED"; then
    cp "$0" "$INSTALLED.tmp" && chmod 0755 "$INSTALLED.tmp" && mv -f "$INSTALLED.tmp" "$INSTALLED" || return 1
  fi
  unit_src="$(dirname "$0")/$GUARD_UNIT"
  if [ -d /run/systemd/system ] && [ -f "$unit_src" ] && ! cmp -s "$unit_src" "/etc/systemd/system/$GUARD_UNIT"; then
    cp "$unit_src" "/etc/systemd/system/$GUARD_UNIT" && systemctl daemon-reload && systemctl enable --quiet "$GUARD_UNIT" || return 1
  fi
  return 0
}

# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------

cmd_apply() { # env new [--confirm]
  [ $# -ge 2 ] || finish 1 "usage: $0 apply ENV NEW [--confirm]"
  env_file=$1
  new=$2
  self_confirm=${3:-}
  need ip ping ifreload ifup flock sha256sum setsid
  load_env "$env_file"
  mkdir -p "$STATE/runs" 2>/dev/null || finish 1 "refused: cannot create $STATE (disk full?); nothing changed"
  start_run
  take_lock $((VERIFY_TIMEOUT + 30))
  trap on_signal TERM INT
  log "applying $new on $NODE_NAME"

  [ -f "$new" ] || finish 1 "refused: $new does not exist; nothing changed"
  settle_pending
  [ -e "$PENDING_GUI" ] && finish 1 "refused: $PENDING_GUI holds pending changes made in the Proxmox GUI, which pvenetcommit would put in place at the next boot over this change. Apply or revert them (Node > Network) first; nothing changed"
  install_self || finish 1 "refused: cannot install $INSTALLED (disk full?); nothing changed"
  cleanup_staged

  NEW_SHA=$(sha_of "$new")
  if [ "$NEW_SHA" = "$(sha_of "$LIVE")" ]; then
    probe_before
    if verify_once; then
      finish 0 "already live: $LIVE is this file and the network verifies; nothing changed"
    fi
    finish 1 "already live: $LIVE is this file, but the network does not verify: $PROBLEM. Nothing changed; nothing to roll back to"
  fi

  # Check the new file before touching anything: syntax, attributes, interfaces that exist.
  staged="/etc/network/.interfaces.pve-dualnet.$RUN"
  if ! cp "$new" "$staged" 2>/dev/null || ! sync "$staged" 2>/dev/null || [ "$(sha_of "$staged")" != "$NEW_SHA" ]; then
    rm -f "$staged"
    finish 1 "refused: cannot stage the new file in /etc/network (disk full?); nothing changed"
  fi
  report=$(ifup -a -s -i "$staged" 2>&1)
  problems=$(printf '%s\n' "$report" | grep -v -F "$TOLERATED" | grep -v '^[[:space:]]*$')
  if [ -n "$problems" ]; then
    rm -f "$staged"
    finish 1 "refused: ifupdown2's syntax check of the new file failed; nothing changed:
$problems"
  fi
  while read -r name _mtu _address _carrier kind; do
    [ "$kind" = nic ] || continue
    ip link show dev "$name" >/dev/null 2>&1 || {
      rm -f "$staged"
      finish 1 "refused: NIC $name does not exist on $NODE_NAME (ip link); nothing changed"
    }
  done <<EOF
$INTERFACES
EOF
  checkpoint checked

  probe_before
  BEFORE=$(snapshot | sort)
  BACKUP="$RUN_DIR/backup"
  LIVE_SHA=$(sha_of "$LIVE")
  if ! cp -p "$LIVE" "$BACKUP" 2>/dev/null || ! sync "$BACKUP" 2>/dev/null ||
    [ "$(size_of "$BACKUP")" != "$(size_of "$LIVE")" ] || [ "$(sha_of "$BACKUP")" != "$LIVE_SHA" ]; then
    rm -f "$staged" "$BACKUP"
    finish 1 "refused: could not back up $LIVE to $BACKUP (disk full?); nothing changed"
  fi
  BACKUP_SHA=$LIVE_SHA
  checkpoint backed-up

  # Both windows run from the switch: however long ifreload takes, verification ends at least
  # CONFIRM_TIMEOUT - VERIFY_TIMEOUT seconds before the dead-man switch, leaving time to confirm.
  switched_at=$(now)
  deadline=$((switched_at + CONFIRM_TIMEOUT))
  if ! arm_deadman "$deadline"; then
    disarm_deadman
    rm -f "$staged" "$STATE/.pending.$RUN"
    finish 1 "refused: could not arm the dead-man switch (disk full?); nothing changed"
  fi
  log "dead-man switch armed ($(pending_field WATCHDOG)): the previous file comes back at $(date -d "@$deadline" '+%H:%M:%S') unless confirmed"

  SWITCHED=1
  if ! mv -f "$staged" "$LIVE" || ! sync /etc/network; then
    rollback_and_exit "could not move the new file into place"
  fi
  log "switched: $LIVE is the new file (sha256 $NEW_SHA)"
  checkpoint switched

  if ! reload; then
    rollback_and_exit "ifreload -a failed"
  fi
  checkpoint reloaded
  if ! verify_until $((switched_at + VERIFY_TIMEOUT)); then
    rollback_and_exit "not verified within $VERIFY_TIMEOUT s of the switch: $PROBLEM"
  fi
  log "network verified: interfaces, MTUs, addresses, one default route via $GATEWAY on $GATEWAY_DEV, gateway and peers answer"
  checkpoint verified

  if [ "$self_confirm" = --confirm ]; then
    disarm_deadman
    rm -f "$STATE/pending"
    SWITCHED=0
    prune_runs
    finish 0 "confirmed: the new network is live"
  fi
  SWITCHED=0
  finish 0 "verified; awaiting confirmation until $(date -d "@$deadline" '+%H:%M:%S') (confirm $NEW_SHA), else it is rolled back"
}

cmd_confirm() { # env sha
  [ $# -eq 2 ] || finish 1 "usage: $0 confirm ENV SHA256"
  need ip ping ifreload flock sha256sum
  load_env "$1"
  want=$2
  mkdir -p "$STATE/runs" 2>/dev/null
  take_lock $((VERIFY_TIMEOUT + 30))
  if [ ! -f "$STATE/pending" ]; then
    [ "$(sha_of "$LIVE")" = "$want" ] && finish 0 "confirmed: $LIVE already is this file; nothing was pending"
    last=$(ls -1 "$STATE/runs" 2>/dev/null | sort | tail -n 1)
    [ -n "$last" ] && tail -n 5 "$STATE/runs/$last/log" 2>/dev/null
    finish 2 "not confirmed: the change was rolled back before confirmation (dead-man switch or a failed check); see $STATE/runs/$last/log"
  fi
  RUN=$(pending_field RUN)
  RUN_DIR="$STATE/runs/$RUN"
  [ "$(pending_field NEW_SHA)" = "$want" ] || finish 1 "refused: the pending change (run $RUN) is another file, not $want"
  BACKUP=$(pending_field BACKUP)
  BACKUP_SHA=$(pending_field BACKUP_SHA)
  [ "$(sha_of "$LIVE")" = "$want" ] || rollback_and_exit "$LIVE changed while the change was pending"
  # Time has passed since the run verified: look once more before keeping the change.
  REQUIRED_PEERS=""
  for peer in $PEERS; do ping -c 1 -W 1 "$peer" >/dev/null 2>&1 && REQUIRED_PEERS="$REQUIRED_PEERS $peer"; done
  verify_once || rollback_and_exit "no longer verifies at confirmation: $PROBLEM"
  disarm_deadman
  rm -f "$STATE/pending"
  sync "$STATE"
  prune_runs
  finish 0 "confirmed over a new connection: the new network is live"
}

cmd_expire() { # run
  RUN=$1
  RUN_DIR="$STATE/runs/$RUN"
  take_lock 300
  [ "$(pending_field RUN)" = "$RUN" ] || exit 0 # confirmed, or already rolled back
  BACKUP=$(pending_field BACKUP)
  BACKUP_SHA=$(pending_field BACKUP_SHA)
  if [ "$(sha_of "$LIVE")" != "$(pending_field NEW_SHA)" ]; then
    rm -f "$STATE/pending"
    finish 0 "dead-man switch: $LIVE is no longer the unconfirmed file; nothing to roll back"
  fi
  restore "not confirmed within the confirm timeout (dead-man switch)"
  finish 2 "dead-man switch: the unconfirmed change was rolled back"
}

cmd_watchdog() { # run deadline
  while [ "$(now)" -lt "$2" ]; do
    [ "$(pending_field RUN)" = "$1" ] || exit 0
    sleep 1
  done
  cmd_expire "$1"
}

cmd_boot_guard() {
  [ -f "$STATE/pending" ] || exit 0
  RUN=$(pending_field RUN)
  RUN_DIR="$STATE/runs/$RUN"
  BACKUP=$(pending_field BACKUP)
  BACKUP_SHA=$(pending_field BACKUP_SHA)
  if [ "$(sha_of "$LIVE")" != "$(pending_field NEW_SHA)" ]; then
    rm -f "$STATE/pending"
    finish 0 "boot guard: dropped a stale pending marker (run $RUN)"
  fi
  if [ ! -f "$BACKUP" ] || [ "$(sha_of "$BACKUP")" != "$BACKUP_SHA" ] || ! install_live "$BACKUP" "$BACKUP_SHA"; then
    finish 3 "boot guard: could not restore $BACKUP; the unconfirmed file stays live"
  fi
  rm -f "$STATE/pending"
  cleanup_staged
  finish 2 "boot guard: restored the file run $RUN replaced (its change was never confirmed)"
}

cmd_status() {
  if [ -f "$STATE/pending" ]; then
    echo "pending:"
    sed 's/^/  /' "$STATE/pending"
  else
    echo "nothing pending; $LIVE sha256 $(sha_of "$LIVE")"
  fi
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  apply) cmd_apply "$@" ;;
  confirm) cmd_confirm "$@" ;;
  expire) cmd_expire "$@" ;;
  watchdog) cmd_watchdog "$@" ;;
  boot-guard) cmd_boot_guard ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 apply ENV NEW [--confirm] | confirm ENV SHA256 | expire RUN | boot-guard | status" >&2
    exit 1
    ;;
esac
