#!/bin/sh
# pve-dualnet-network.sh: apply a new /etc/network/interfaces on a Proxmox VE host without ever
# stranding it: commit-confirmed, the way routers do it.
#
#   apply    ENV NEW [--confirm]  check NEW, back up the live file, arm a dead-man switch, switch,
#                                 ifreload -a, verify; on any failure roll back at once. A verified
#                                 change stays pending until `confirm` (over a new SSH connection,
#                                 proving the host is still reachable), or is rolled back when the
#                                 dead-man switch fires. --confirm confirms at once.
#   confirm  ENV SHA256           keep the pending change whose new file has this sha256
#   rollback [RUN]                roll back the pending change now (only RUN's, when given), or
#                                 finish a rollback that was interrupted
#   expire   RUN                  the dead-man switch (a transient systemd timer runs it): roll back
#                                 RUN unless it was confirmed. Neither waits on a stuck run: one
#                                 that still holds the lock well past its time is killed
#   watchdog RUN                  the dead-man switch where systemd does not run: a detached process
#                                 that runs `expire RUN` at RUN's deadline unless RUN was confirmed
#   boot-guard                    at boot, before pvenetcommit and networking (see
#                                 pve-dualnet-network-guard.service): restore the file that an
#                                 unconfirmed change of an earlier boot replaced
#   status                        print the pending change, if any, and whether its switch lives
#
# ENV is written by pve-dualnet (renderers/host-apply-env.ts); see "The environment file" below.
# Exit status: 0 done, 1 refused or failed before switching (nothing changed; for confirm: not
# confirmed, nothing rolled back), 2 rolled back, 3 rollback failed or unfinished (the host needs
# attention; the pending marker stays, so the next dead-man run, boot guard, apply or `rollback`
# finishes it), 4 busy (another change is applying or pending).
#
# One run at a time: a run holds an exclusive flock from staging to the end of verification or
# rollback; its id names its directory (log, backup, snapshot, result) under $STATE/runs.
# The pending marker ($STATE/pending) owns a change from before the switch until it is confirmed
# or completely rolled back: a rollback marks it PHASE=rollback before it touches the file, and
# drops it only once the restored file reloaded and the network matches the snapshot taken before
# the change. Nothing is ever written to /etc/network/interfaces.new, which Proxmox's
# pvenetcommit moves into place at boot; one the GUI wrote on top of a change that is rolled
# back is saved beside the run and removed, so it cannot bring the rejected change back.
set -u
umask 022
# A dropped SSH session must not kill a run half-way (traps roll back on TERM, not on HUP), and
# writing to a closed pipe must fail quietly instead of killing the shell.
trap '' HUP PIPE

# shellcheck disable=SC2034 # the name in log lines, read by the library
PROG=pve-dualnet
HERE=$(dirname "$0")
LIB=pve-dualnet-lib.sh
# shellcheck source=pve-dualnet-lib.sh
if [ ! -r "$HERE/$LIB" ] || ! command . "$HERE/$LIB" || [ "${PVE_DUALNET_LIB:-}" != 2 ]; then
  echo "pve-dualnet: refused: $HERE/$LIB is missing or of another version (it is uploaded and installed with this program); nothing changed"
  exit 1
fi

LIVE=/etc/network/interfaces
PENDING_GUI=/etc/network/interfaces.new
STATE=/var/lib/pve-dualnet/network
MARKER=$STATE/pending
LOCK_DIR=/run/pve-dualnet
LOCK=$LOCK_DIR/network.lock
# The ifreload that runs now (timeout's process group, PID:START), for a dead-man switch that must
# kill a stuck one: ifupdown2's own lock (/run/network/.lock) is held until it dies.
RELOADING=$LOCK_DIR/network.reload
BIN=/var/lib/pve-dualnet/bin
INSTALLED=$BIN/pve-dualnet-network.sh
GUARD_UNIT=pve-dualnet-network-guard.service
KEEP_RUNS=10
# Debian's ifupdown2 syntax check flags two things Proxmox writes on purpose and applies fine:
# an mtu on a bridge, and `bridge-ports none` (a portless bridge).
TOLERATED='bridge inherits mtu from its ports
bridge-ports: invalid value "none"'

SWITCHED=0
NEW_SHA=""
BACKUP=""
BACKUP_SHA=""
VERIFY_TIMEOUT=${VERIFY_TIMEOUT:-30}

need() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || finish 1 "refused: $tool is missing (Proxmox VE ships it; apt install ifupdown2 iproute2 iputils-ping util-linux coreutils)"
  done
}

# ---------------------------------------------------------------------------
# The environment file (rendered by pve-dualnet, sourced here)
# ---------------------------------------------------------------------------
#   NODE_NAME        the Proxmox node
#   INTERFACES       one line per interface: name mtu address|- carrier(yes|no) kind
#   NIC_MACS         one line per NIC whose permanent MAC the description gives: name mac
#   GATEWAY          the one default gateway; GATEWAY_DEV the interface it must be on
#   PEERS            internal addresses of the other nodes; PEER_MTU the size they must pass
#   INTERFACES6      dual-stack only: one line per interface with an IPv6 address: name address6
#   GATEWAY6         dual-stack only: the one IPv6 default gateway; GATEWAY6_DEV its interface
#   PEERS6           dual-stack only: internal IPv6 addresses of the other nodes (PEER_MTU too)
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
  NIC_MACS=${NIC_MACS:-}
  INTERFACES6=${INTERFACES6:-}
  GATEWAY6=${GATEWAY6:-}
  GATEWAY6_DEV=${GATEWAY6_DEV:-}
  PEERS6=${PEERS6:-}
  if [ -n "$GATEWAY6" ] && [ -z "$GATEWAY6_DEV" ]; then finish 1 "refused: GATEWAY6 is set but GATEWAY6_DEV is not in $1"; fi
}

# Whether $1 is an interface's kernel name. `ip link show dev` also finds a device by an
# alternative name (systemd keeps a renamed NIC's old name as one), which ifupdown2 cannot use.
is_kernel_name() {
  [ -n "$1" ] && [ -e "/sys/class/net/$1" ]
}

# The permanent MAC of interface $1 (a kernel name), lower case: "permaddr" where the kernel shows
# one (a bond slave carries the bond's address), else the link address; empty for no such name.
permanent_mac() {
  is_kernel_name "$1" || return 0
  ip -o link show dev "$1" 2>/dev/null | awk '{
    for (i = 1; i < NF; i++) { if ($i == "permaddr") perm = $(i + 1); if ($i == "link/ether") addr = $(i + 1) }
  } END { print tolower(perm != "" ? perm : addr) }'
}

# The interfaces whose permanent MAC is $1, space-separated; not bridges, bonds and VLANs, which
# take the MAC of an interface below them.
names_with_mac() {
  for dev in /sys/class/net/*; do
    [ -d "$dev/bridge" ] || [ -d "$dev/bonding" ] || [ -e "/proc/net/vlan/${dev##*/}" ] && continue
    dev=${dev##*/}
    [ "$(permanent_mac "$dev")" = "$1" ] && printf '%s ' "$dev"
  done
}

# Every NIC the description pins by MAC must carry that name here: NIC names move with a new
# kernel, firmware or udev rule, or when Proxmox VE 9's pve-network-interface-pinning renames
# them (nicN, after a reboot). Prints one line per mismatch.
nic_name_problems() {
  printf '%s\n' "$NIC_MACS" | while read -r name mac; do
    [ -n "$name" ] || continue
    found=$(permanent_mac "$name")
    [ "$found" = "$mac" ] && continue
    others=$(names_with_mac "$mac")
    if [ -n "$others" ]; then
      where="the NIC with $mac is named ${others% } here"
    else
      where="no interface here has $mac"
    fi
    printf '%s\n' "$name has MAC ${found:-none (it does not exist)}, not $mac: $where"
  done
}

# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------

start_run() {
  RUN="$(date -u +%Y%m%dT%H%M%SZ)-$$"
  RUN_DIR="$STATE/runs/$RUN"
  if ! mkdir -p "$RUN_DIR" 2>/dev/null; then
    RUN_DIR=""
    finish 1 "refused: cannot create the run directory under $STATE (disk full?); nothing changed"
  fi
}

lock_or_refuse() { # seconds
  take_lock "$1"
  case $? in
    0) return 0 ;;
    1) finish 1 "refused: cannot open the lock $LOCK (is /run full or read-only?); nothing changed" ;;
    *) finish 4 "busy: another pve-dualnet run held the network lock for $1 s; nothing changed" ;;
  esac
}

prune_runs() {
  # Keep the newest runs (their logs and backups); never the one of a pending change.
  keep_pending=$(marker_get "$MARKER" RUN)
  ls -1 "$STATE/runs" 2>/dev/null | sort -r | tail -n +$((KEEP_RUNS + 1)) | while read -r old; do
    [ "$old" = "$keep_pending" ] || rm -rf "${STATE:?}/runs/$old" 2>/dev/null || log "note: could not remove the old run $old (harmless: only its log and backup)"
  done
}

# ---------------------------------------------------------------------------
# The pending marker
#   RUN         the run that switched        PHASE     armed, or rollback once one has begun
#   BOOT_ID     the boot it was written in   OWNER     the process working on it (PID:START): the
#   SINCE       when OWNER took it over                apply, then whoever rolls it back
#   NEW_SHA     the file it switched to      BACKUP    the file before it, and BACKUP_SHA its hash
#   DEADLINE    the dead-man switch's time   VERIFY    the run's VERIFY_TIMEOUT (rollback limits)
#   WATCHDOG    timer:UNIT or pid:PID:START  REASON    why it is being rolled back
# ---------------------------------------------------------------------------

# How long an owner may work before a rollback preempts it: an apply is done verifying by
# its deadline (it reloads until 2 s before it, then looks once more); a rollback makes at most
# three reloads (reload_limit each, 5 s more to kill one) and then waits VERIFY s for the network.
OVERDUE_APPLY=10
reload_limit() { echo $((P_VERIFY + 60)); }
rollback_limit() { echo $((3 * ($(reload_limit) + 7) + P_VERIFY + 10)); }

load_pending() { # the marker into P_*; fails when there is none
  [ -f "$MARKER" ] || return 1
  P_RUN="" P_PHASE="" P_BOOT_ID="" P_OWNER="" P_SINCE=0 P_NEW_SHA="" P_BACKUP="" P_BACKUP_SHA=""
  P_DEADLINE=0 P_VERIFY="" P_WATCHDOG="" P_REASON=""
  while IFS= read -r field || [ -n "$field" ]; do
    value=${field#*=}
    case "$field" in
      RUN=*) P_RUN=$value ;;
      PHASE=*) P_PHASE=$value ;;
      BOOT_ID=*) P_BOOT_ID=$value ;;
      OWNER=*) P_OWNER=$value ;;
      SINCE=*) P_SINCE=$value ;;
      NEW_SHA=*) P_NEW_SHA=$value ;;
      BACKUP=*) P_BACKUP=$value ;;
      BACKUP_SHA=*) P_BACKUP_SHA=$value ;;
      DEADLINE=*) P_DEADLINE=$value ;;
      VERIFY=*) P_VERIFY=$value ;;
      WATCHDOG=*) P_WATCHDOG=$value ;;
      REASON=*) P_REASON=$value ;;
    esac
  done 2>/dev/null <"$MARKER"
  case "$P_DEADLINE" in '' | *[!0-9]*) P_DEADLINE=0 ;; esac
  case "$P_SINCE" in '' | *[!0-9]*) P_SINCE=0 ;; esac
  case "$P_VERIFY" in '' | *[!0-9]*) P_VERIFY=$VERIFY_TIMEOUT ;; esac
  [ -n "$P_RUN" ]
}

write_pending() {
  marker_write "$MARKER" "RUN=$P_RUN" "PHASE=$P_PHASE" "BOOT_ID=$P_BOOT_ID" "OWNER=$P_OWNER" "SINCE=$P_SINCE" \
    "NEW_SHA=$P_NEW_SHA" "BACKUP=$P_BACKUP" "BACKUP_SHA=$P_BACKUP_SHA" "DEADLINE=$P_DEADLINE" \
    "VERIFY=$P_VERIFY" "WATCHDOG=$P_WATCHDOG" "REASON=$P_REASON"
}

same_boot() { # the marker was written in this boot (a marker of an earlier version has no BOOT_ID)
  current=$(boot_id)
  [ -z "$P_BOOT_ID" ] || { [ -n "$current" ] && [ "$P_BOOT_ID" = "$current" ]; }
}

unit_running() {
  case "$(systemctl show -p ActiveState --value "$1" 2>/dev/null)" in
    active | activating | reloading | deactivating) return 0 ;;
  esac
  return 1
}

# Whether the marker's dead-man switch still lives: its timer or its service, or its watchdog
# process by pid and start time (never a bare pid: a zombie or a reused pid is not a watchdog).
deadman_alive() {
  same_boot || return 1
  case "$P_WATCHDOG" in
    timer:*) unit_running "${P_WATCHDOG#timer:}.timer" || unit_running "${P_WATCHDOG#timer:}.service" ;;
    pid:*:*) proc_alive "${P_WATCHDOG#pid:}" ;;
    pid:*) return 0 ;; # an earlier version's marker, without a start time: trusted until its deadline
    *) return 1 ;;
  esac
}

disarm_deadman() { # (never the process that runs this: the watchdog may be the one rolling back)
  case "$P_WATCHDOG" in
    timer:*) systemctl stop "${P_WATCHDOG#timer:}.timer" >/dev/null 2>&1 ;;
    pid:*:*)
      watchdog=${P_WATCHDOG#pid:}
      [ "${watchdog%%:*}" != $$ ] && proc_alive "$watchdog" && kill -s TERM "${watchdog%%:*}" 2>/dev/null
      ;;
  esac
  return 0
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

cleanup_staged() {
  rm -f /etc/network/.interfaces.pve-dualnet.* 2>/dev/null
  return 0
}

keep_copy() { # file, name in the run's directory: a verified copy; prints where it is
  dest="$STATE/runs/$P_RUN/$2"
  if cp -p "$1" "$dest" 2>/dev/null && sync "$dest" 2>/dev/null && [ "$(sha_of "$dest")" = "$(sha_of "$1")" ]; then
    printf '%s\n' "$dest"
  else
    printf '%s\n' "nowhere (could not write $dest)"
  fi
}

# An interfaces.new that the Proxmox GUI wrote while the change was live holds the GUI's edits on
# top of the change being rolled back: pvenetcommit would move it into place at the next boot
# and bring the rejected change back. It is saved beside the run and removed (never lost).
set_aside_gui_pending() {
  [ -e "$PENDING_GUI" ] || return 0
  saved=$(keep_copy "$PENDING_GUI" interfaces.new.from-gui)
  case "$saved" in
    nowhere*)
      # No room in the state directory: a rename beside it, which neither ifupdown2 nor
      # pvenetcommit reads.
      saved="/etc/network/.interfaces.new.pve-dualnet-saved.$P_RUN"
      mv -f "$PENDING_GUI" "$saved" 2>/dev/null || saved=""
      ;;
    *) drop_file "$PENDING_GUI" || saved="" ;;
  esac
  if [ -z "$saved" ]; then
    log "WARNING: $PENDING_GUI (Proxmox GUI changes made on top of the rejected change) could not be moved away: delete it before the next reboot, or pvenetcommit puts the rejected change back"
    return 0
  fi
  log "the Proxmox GUI wrote pending changes to $PENDING_GUI while this change was live, on top of it: saved to $saved and removed, so that pvenetcommit cannot put the rejected change back at the next boot. Make them again in the GUI (Node > Network) if they are still wanted"
}

# ---------------------------------------------------------------------------
# ifreload, with a time limit
# ---------------------------------------------------------------------------

# A reload still running from a killed or preempted run: killed with its process group.
stop_reload() {
  spec=$(cat "$RELOADING" 2>/dev/null) || return 0
  if proc_alive "$spec"; then
    log "killing an ifreload that still runs (process group ${spec%%:*}, of an interrupted run)"
    kill_group "$spec"
  fi
  rm -f "$RELOADING"
}

# Debian 13's ifupdown2 (3.0.0-1.3) writes its VRF table map into /etc/iproute2/rt_tables.d
# whenever an ifreload or ifup outside boot touches an interface that has a master (every bridge
# port), and fails with exit status 1 ("[Errno 2] No such file or directory:
# '/etc/iproute2/rt_tables.d/ifupdown2_vrf_map.conf'") when the directory is missing: Debian 13's
# iproute2 (6.15) keeps its tables under /usr/share/iproute2 and no longer creates /etc/iproute2
# (ifupdown2 pull request #348, open). Found on a booted Debian 13 host (lab/host.lab.ts): every
# change and every rollback failed there. The directory is where iproute2 reads local table
# names from; created empty, it changes nothing else.
VRF_MAP_DIR=/etc/iproute2/rt_tables.d
ensure_vrf_map_dir() {
  [ -d "$VRF_MAP_DIR" ] && return 0
  if mkdir -p "$VRF_MAP_DIR" 2>/dev/null; then
    log "created $VRF_MAP_DIR (empty), where ifupdown2 keeps its VRF table map: without it every ifreload -a fails on Debian 13, whose iproute2 no longer creates /etc/iproute2"
  else
    log "WARNING: cannot create $VRF_MAP_DIR: ifupdown2 may fail to reload (ifupdown2_vrf_map.conf)"
  fi
  return 0
}

# ifreload -a for at most $1 seconds, its output in the log. timeout(1) runs it in a process
# group of its own (recorded in $RELOADING) and kills the group when the time is up; a killed
# ifreload leaves nothing locked (ifupdown2's lock is a flock, released when it dies), and the
# next ifreload -a reconciles the network with the file.
reload() { # seconds
  stop_reload
  ensure_vrf_map_dir
  out="$LOCK_DIR/ifreload.$$"
  { : >"$out"; } 2>/dev/null || out=/dev/null
  timeout -k 5 "$1" ifreload -a >"$out" 2>&1 9>&- &
  reloading=$!
  proc_id "$reloading" >"$RELOADING" 2>/dev/null
  wait "$reloading"
  status=$?
  rm -f "$RELOADING"
  [ "$out" = /dev/null ] || {
    while IFS= read -r line; do log "ifreload: $line"; done <"$out"
    rm -f "$out"
  }
  case $status in
    0) ;;
    124) log "ifreload -a did not finish within $1 s: killed" ;;
    137) log "ifreload -a was killed" ;;
    *) log "ifreload -a failed (exit status $status)" ;;
  esac
  return "$status"
}

# ---------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------

# Which of the gateway and the peers answer now: peers that do not answer before a change are
# reported and not required after it (a node that is down must not block every change). Up to
# three pings each: one lost packet (the first one waits for ARP or neighbour discovery) must not
# excuse a peer from the checks after the switch.
probe_before() {
  REQUIRED_PEERS=""
  for peer in $PEERS; do
    if ping -c 3 -i 0.2 -W 1 "$peer" >/dev/null 2>&1 9>&-; then
      REQUIRED_PEERS="$REQUIRED_PEERS $peer"
    else
      log "peer $peer does not answer before the change: reported, not required after it"
    fi
  done
  if ! ping -c 1 -W 1 "$GATEWAY" >/dev/null 2>&1 9>&-; then
    log "note: gateway $GATEWAY does not answer before the change either"
  fi
  if [ -n "$GATEWAY6" ] && ! ping -6 -c 1 -W 1 "$GATEWAY6" >/dev/null 2>&1 9>&-; then
    log "note: IPv6 gateway $GATEWAY6 does not answer before the change either"
  fi
  REQUIRED_PEERS6=""
  for peer in $PEERS6; do
    if ping -6 -c 3 -i 0.2 -W 1 "$peer" >/dev/null 2>&1 9>&-; then
      REQUIRED_PEERS6="$REQUIRED_PEERS6 $peer"
    else
      log "peer $peer does not answer before the change: reported, not required after it"
    fi
  done
}

# The IPv6 checks of a dual-stack plan: each planned IPv6 address present and past duplicate
# address detection (a tentative address cannot be used yet; one that failed DAD never will), and
# with GATEWAY6 exactly one IPv6 default route that is not learned from router advertisements,
# via GATEWAY6 on GATEWAY6_DEV, and the gateway answering; the peers that answered IPv6 before
# the change answering full-size unfragmented IPv6 pings. Sets PROBLEM to the first failure.
verify_ipv6() {
  while read -r name address6; do
    [ -n "$name" ] || continue
    line=$(ip -o -6 addr show dev "$name" 2>/dev/null | grep -F " inet6 $address6 ")
    case "$line" in
      "") PROBLEM="$name does not have $address6"; return 1 ;;
      *" dadfailed"*) PROBLEM="$name's $address6 failed duplicate address detection (another host has it)"; return 1 ;;
      *" tentative"*) PROBLEM="$name's $address6 is still tentative (duplicate address detection)"; return 1 ;;
    esac
  done <<EOF
$INTERFACES6
EOF
  for peer in ${REQUIRED_PEERS6:-}; do
    # IPv6 header 40 + ICMPv6 header 8.
    ping -6 -M "do" -s $((PEER_MTU - 48)) -c 1 -W 1 "$peer" >/dev/null 2>&1 9>&- ||
      { PROBLEM="peer $peer does not answer $PEER_MTU-byte unfragmented IPv6 pings (MTU $PEER_MTU not carried end to end?)"; return 1; }
  done
  [ -n "$GATEWAY6" ] || return 0
  routes6=$(ip -6 route show default | grep -v ' proto ra ')
  count6=$(printf '%s\n' "$routes6" | grep -c '^default')
  [ "$count6" -eq 1 ] || { PROBLEM="$count6 IPv6 default routes, planned exactly one (via $GATEWAY6 dev $GATEWAY6_DEV): $(printf '%s' "$routes6" | tr '\n' ';')"; return 1; }
  # The device by its whole name: vmbr01 is not vmbr0.
  case "$routes6" in
    "default via $GATEWAY6 dev $GATEWAY6_DEV" | "default via $GATEWAY6 dev $GATEWAY6_DEV "*) ;;
    *) PROBLEM="the IPv6 default route is '$routes6', planned via $GATEWAY6 dev $GATEWAY6_DEV"; return 1 ;;
  esac
  ping -6 -c 1 -W 1 "$GATEWAY6" >/dev/null 2>&1 9>&- || { PROBLEM="IPv6 gateway $GATEWAY6 does not answer"; return 1; }
  return 0
}

# One pass over every check; sets PROBLEM to the first failure.
verify_once() {
  PROBLEM=""
  while read -r name mtu address carrier _kind; do
    [ -n "$name" ] || continue
    is_kernel_name "$name" || { PROBLEM="$name does not exist"; return 1; }
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
  # The gateway and the device by their whole names (a space or the end follows each): a route via
  # the planned gateway on vmbr01 is not one on vmbr0.
  case "$routes" in
    "default via $GATEWAY dev $GATEWAY_DEV" | "default via $GATEWAY dev $GATEWAY_DEV "*) ;;
    *) PROBLEM="the default route is '$routes', planned via $GATEWAY dev $GATEWAY_DEV"; return 1 ;;
  esac
  ping -c 1 -W 1 "$GATEWAY" >/dev/null 2>&1 9>&- || { PROBLEM="gateway $GATEWAY does not answer"; return 1; }
  verify_ipv6 || return 1
  for peer in $REQUIRED_PEERS; do
    # A full-size frame that must not be fragmented: the MTU holds end to end (switches too).
    ping -M "do" -s $((PEER_MTU - 28)) -c 1 -W 1 "$peer" >/dev/null 2>&1 9>&- ||
      { PROBLEM="peer $peer does not answer $PEER_MTU-byte unfragmented pings (MTU $PEER_MTU not carried end to end?)"; return 1; }
  done
  return 0
}

verify_until() { # deadline (epoch seconds)
  while :; do
    verify_once && return 0
    [ "$(now)" -lt "$1" ] || return 1
    log "waiting: $PROBLEM"
    sleep 1
  done
}

# The network as ifupdown2 makes it: links (admin state, MTU), IPv4 addresses, static global IPv6
# addresses and the default routes, one normalized line each. Carrier is left out: a cable is not
# the file's doing; so are what the kernel learns from router advertisements (dynamic addresses,
# proto ra routes).
snapshot() {
  ip -o link show 2>/dev/null | sed -n 's/^[0-9]*: \([^:@]*\)[^:]*: <\([^>]*\)> mtu \([0-9]*\) .*/\1 \3 \2/p' |
    while read -r name mtu flags; do
      up=down
      case ",$flags," in *,UP,*) up=up ;; esac
      echo "link $name $mtu $up"
    done
  ip -o -4 addr show 2>/dev/null | awk '{ print "addr", $2, $4 }'
  ip -4 route show default 2>/dev/null | sed 's/ proto [a-z]*//; s/ *$//; s/^/route /'
  ip -o -6 addr show scope global permanent 2>/dev/null | awk '{ print "addr", $2, $4 }'
  ip -6 route show default 2>/dev/null | grep -v ' proto ra ' | sed 's/ proto [a-z]*//; s/ *$//; s/^/route /'
}

# The snapshot of the interfaces a run's two files name (run directory/names), and every default
# route: what a rollback must bring back. Links the files do not name (a VM's tap started during
# the window) are no part of it. With it, what the files' own commands change (host_state).
managed_snapshot() { # run directory
  {
    if [ -f "$1/names" ]; then
      snapshot | awk 'NR == FNR { keep[$1] = 1; next } $1 == "route" || ($2 in keep)' "$1/names" -
    else
      snapshot
    fi
    host_state "$1"
  } | sort
}

# Interfaces a file names in auto/allow-*/iface lines.
names_in() {
  awk '$1 == "auto" || $1 ~ /^allow-/ { for (i = 2; i <= NF; i++) print $i } $1 == "iface" { print $2 }' "$@" | sort -u
}

# ---------------------------------------------------------------------------
# What the files' own commands change, which ifreload never gives back. The routed and NAT layouts
# turn on forwarding (ip_forward, IPv6 all/forwarding) and proxy ARP with `post-up echo 1 >
# /proc/sys/...` and add iptables/ip6tables rules with `post-up iptables -t nat -C RULE || iptables
# -t nat -A RULE`, removed by `post-down`. ifreload runs post-down only for an interface the file no
# longer has (Debian's and Proxmox's ifupdown2.conf set ifreload_down_changed=0: a changed interface
# is never taken down), runs every post-up again on each reload (a plain `-A`, as an older or
# hand-written file has, adds its rule once more each time), and nothing turns a kernel setting
# back. So before the switch the run records the settings both files write
# and how many copies of each rule they add are in place (run directory: sysctls, rules; the values
# go into its snapshot, `before`), and every rollback puts them back (restore_host_state).
# ---------------------------------------------------------------------------

# The /proc/sys files a file's up and down commands write ("echo 1 > /proc/sys/net/ipv4/ip_forward"):
# plain paths only.
sysctls_in() {
  awk '$1 ~ /^(pre-up|up|post-up|down|pre-down|post-down)$/ {
    for (i = 2; i <= NF; i++) {
      word = $i
      sub(/^>/, "", word)
      if (word ~ /^\/proc\/sys\/[A-Za-z0-9_.\/-]+$/ && word !~ /\.\./) print word
    }
  }' "$@" | sort -u
}

# The rules a file's up commands add with iptables or ip6tables, as `iptables -S` prints them: one
# line each, "TOOL TABLE -A CHAIN MATCH...". Two forms: a plain command ("iptables -t nat -A RULE"),
# and the check-then-add pve-dualnet writes ("iptables -t nat -C RULE || iptables -t nat -A RULE":
# every ifreload runs post-up again, and this adds the rule only where it is missing), whose halves
# must name the same tool, table and rule. Nothing else with a shell operator, variable or
# substitution counts. The rule is the words after -A/-I CHAIN (an -I position is left out).
rules_in() {
  awk '
    # Sets TOOL TABLE OP RULE from one command; fails on anything else.
    function parse(text,   n, w, i, word) {
      if (text ~ /[;&|$`<>(){}\\"]/) return 0
      n = split(text, w)
      if (w[1] != "iptables" && w[1] != "ip6tables") return 0
      TOOL = w[1]; TABLE = "filter"; OP = ""; RULE = ""; chain = ""
      for (i = 2; i <= n; i++) {
        word = w[i]
        gsub(/\047/, "", word)
        if (word == "-t" || word == "--table") { TABLE = w[++i]; gsub(/\047/, "", TABLE); continue }
        if (word == "-w" || word == "--wait") continue
        if (chain == "" && (word == "-A" || word == "--append" || word == "-I" || word == "--insert" || word == "-C" || word == "--check")) {
          OP = (word == "-C" || word == "--check") ? "C" : "A"
          chain = w[++i]
          gsub(/\047/, "", chain)
          if (OP == "A" && (word == "-I" || word == "--insert") && w[i + 1] ~ /^[0-9]+$/) i++
          continue
        }
        RULE = RULE " " word
      }
      if (chain == "" || RULE == "") return 0
      RULE = "-A " chain RULE
      return 1
    }
    $1 ~ /^(up|post-up)$/ {
      command = $0
      sub(/^[ \t]*[a-z-]+[ \t]+/, "", command)
      split_at = index(command, " || ")
      if (split_at == 0) {
        if (parse(command) && OP == "A") print TOOL, TABLE, RULE
        next
      }
      if (!parse(substr(command, 1, split_at - 1)) || OP != "C") next
      check = TOOL " " TABLE " " RULE
      if (parse(substr(command, split_at + 4)) && OP == "A" && TOOL " " TABLE " " RULE == check) print TOOL, TABLE, RULE
    }' "$@" | sort -u
}

# A /proc/sys file's value. Not by `read`: dash reads a byte at a time, and a /proc/sys file read
# at an offset gives no more, so read never sees the newline and fails.
sysctl_value() { # path
  cat "$1" 2>/dev/null
}

# iptables runs with -w 5: it waits for the xtables lock (iptables-legacy's; another run of
# iptables, pve-firewall's, may hold it) at most 5 s, never without end as a bare -w does, which
# would hang a rollback. A count that could not be read shows in the rollback's comparison.

# The recorded settings' values and the recorded rules' number of copies in place, one line each:
# "sysctl PATH VALUE", "rule TOOL TABLE COUNT -A CHAIN MATCH...". A setting that cannot be read (an
# interface that does not exist) has no line.
host_state() { # run directory
  if [ -f "$1/sysctls" ]; then
    while IFS= read -r path; do
      [ -n "$path" ] || continue
      value=$(sysctl_value "$path") && printf 'sysctl %s %s\n' "$path" "$value"
    done <"$1/sysctls"
  fi
  if [ -f "$1/rules" ]; then
    while read -r tool table rule; do
      [ -n "$rule" ] || continue
      chain=${rule#-A }
      chain=${chain%% *}
      count=$("$tool" -w 5 -t "$table" -S "$chain" 2>/dev/null | grep -cxF -e "$rule")
      printf 'rule %s %s %s %s\n' "$tool" "$table" "${count:-0}" "$rule"
    done <"$1/rules"
  fi
  return 0
}

# Puts back what host_state recorded before the change (run directory/before): each setting its
# value, each rule as many copies as there were (the rejected file's own rules: none). Says what it
# did; what it cannot do shows in the rollback's comparison with the snapshot.
restore_host_state() { # run directory
  [ -f "$1/before" ] || return 0
  grep -E '^(sysctl|rule) ' "$1/before" 2>/dev/null | while read -r kind first rest; do
    case "$kind" in
      sysctl)
        value=$(sysctl_value "$first") || continue
        [ "$value" = "$rest" ] && continue
        name=$(printf '%s' "${first#/proc/sys/}" | tr / .)
        if { printf '%s\n' "$rest" >"$first"; } 2>/dev/null; then
          log "restored $name to $rest (the rejected file had set $value)"
        else
          log "WARNING: could not restore $name to $rest (it is $value)"
        fi
        ;;
      rule)
        table=${rest%% *}
        rest=${rest#* }
        want=${rest%% *}
        rule=${rest#* }
        chain=${rule#-A }
        chain=${chain%% *}
        count=$("$first" -w 5 -t "$table" -S "$chain" 2>/dev/null | grep -cxF -e "$rule")
        removed=0
        while [ "${count:-0}" -gt "$want" ]; do
          # The words of the rule as iptables -S prints them, -A turned into -D (field splitting on
          # purpose, globbing off).
          set -f
          # shellcheck disable=SC2086
          set -- ${rule#-A }
          set +f
          "$first" -w 5 -t "$table" -D "$@" 2>/dev/null || break
          removed=$((removed + 1))
          count=$((count - 1))
        done
        [ "$removed" -eq 0 ] || log "removed $removed $([ "$removed" -eq 1 ] && echo copy || echo copies) of the rejected file's rule: $first -t $table $rule"
        ;;
    esac
  done
  return 0
}

# ---------------------------------------------------------------------------
# After a confirmation: what only the previous file did. ifreload of the new file leaves the
# previous file's forwarding, proxy ARP and rules in place where the new file keeps the interface
# (ifreload_down_changed=0, see above): a NAT host moved onto a bridged file would forward and
# masquerade for ever. This runs at confirmation, not at verification: until then the change may
# still be rolled back, and its rollback must find the previous file's state as it was (the
# snapshot, `before`, holds it; a rollback never adds a rule back).
#
# A setting only the previous file wrote goes back to what it was before a file applied by this
# program first wrote it: each confirmation records, for every setting the new file writes and the
# previous one did not, its value before the switch (from the run's `before`) in $ORIGINS ("PATH
# VALUE", a line each). Where no record has it (the previous file was written by hand, or applied
# by an earlier version), what the host's sysctl configuration sets at boot (configured_sysctl:
# applied before networking starts, so before any interfaces file ran), and where that sets
# nothing, the kernel's default, 0: ip_forward "Default: 0 (disabled)", IPv6 conf/all/forwarding
# "Default: 0 (disabled)", proxy_arp off unless set (the kernel's
# Documentation/networking/ip-sysctl.rst). Every copy of a rule only the previous file adds is
# removed (a plain -A of an older file added one more at each reload). Each is logged; what fails
# is a warning, never a reason to undo the confirmation.
# ---------------------------------------------------------------------------
ORIGINS=$STATE/settings-before

# The value the host's sysctl configuration gives a setting (PATH under /proc/sys) at boot, where
# systemd-sysctl applies it before networking starts: the files of sysctl.d(5) (systemd 252), one
# name in an earlier directory masking it in the later ones, read in the order of their names, the
# last assignment winning; a key's separator is a dot (dots and slashes then swap) or a slash.
# Empty when no file sets it.
configured_sysctl() { # path
  want=${1#/proc/sys/}
  files=$(for dir in /etc/sysctl.d /run/sysctl.d /usr/local/lib/sysctl.d /usr/lib/sysctl.d /lib/sysctl.d; do
    for file in "$dir"/*.conf; do [ -f "$file" ] && printf '%s %s\n' "${file##*/}" "$file"; done
  done | awk '!seen[$1]++' | sort -k1,1 | cut -d' ' -f2-)
  [ -n "$files" ] || return 0
  printf '%s\n' "$files" | while IFS= read -r file; do cat "$file" 2>/dev/null; echo; done | awk -v want="$want" '
    /^[ \t]*[#;]/ || index($0, "=") == 0 { next }
    {
      key = substr($0, 1, index($0, "=") - 1); value = substr($0, index($0, "=") + 1)
      gsub(/^[ \t]*-?[ \t]*|[ \t]+$/, "", key); gsub(/^[ \t]+|[ \t]+$/, "", value)
      slash = index(key, "/"); dot = index(key, ".")
      if (dot > 0 && (slash == 0 || dot < slash)) {
        path = ""
        for (i = 1; i <= length(key); i++) { c = substr(key, i, 1); path = path (c == "." ? "/" : c == "/" ? "." : c) }
        key = path
      }
      if (key == want) found = value
    }
    END { print found }'
}

settle_confirmed() { # previous file, confirmed file, run directory
  [ -f "$1" ] && [ -f "$2" ] || return 0
  old_sysctls=$(sysctls_in "$1")
  new_sysctls=$(sysctls_in "$2")
  origins=$(cat "$ORIGINS" 2>/dev/null)
  # The records of settings the confirmed file writes stay; those it is the first to write are made.
  kept=$(printf '%s\n' "$new_sysctls" | awk 'NR == FNR { if ($0 != "") keep[$0] = 1; next } ($1 in keep)' - "$ORIGINS" 2>/dev/null)
  for path in $new_sysctls; do
    printf '%s\n' "$old_sysctls" | grep -qxF -e "$path" && continue
    # The previous file did not write it: its value before the switch was not that file's doing.
    kept=$(printf '%s\n' "$kept" | awk -v p="$path" '$0 != "" && $1 != p')
    value=$(awk -v p="$path" '$1 == "sysctl" && $2 == p { sub(/^[^ ]+ [^ ]+ /, ""); print; exit }' "$3/before" 2>/dev/null)
    [ -n "$value" ] && kept="${kept:+$kept
}$path $value"
  done
  for path in $old_sysctls; do
    printf '%s\n' "$new_sysctls" | grep -qxF -e "$path" && continue
    value=$(sysctl_value "$path") || continue # the interface is gone, and its setting with it
    origin=$(printf '%s\n' "$origins" | awk -v p="$path" '$1 == p { sub(/^[^ ]+ /, ""); v = $0 } END { print v }')
    why="its value before the previous file set it"
    if [ -z "$origin" ]; then
      origin=$(configured_sysctl "$path")
      why="what the host's sysctl configuration sets at boot, before any interfaces file runs"
    fi
    [ -n "$origin" ] || { origin=0; why="the kernel's default: its value before the previous file set it is not known"; }
    [ "$value" = "$origin" ] && continue
    name=$(printf '%s' "${path#/proc/sys/}" | tr / .)
    if { printf '%s\n' "$origin" >"$path"; } 2>/dev/null; then
      log "reset $name to $origin ($why): only the previous file set it, to $value"
    else
      log "WARNING: could not reset $name to $origin (only the previous file set it, to $value)"
    fi
  done
  if [ -z "$kept" ]; then
    drop_file "$ORIGINS" 2>/dev/null
  elif ! { printf '%s\n' "$kept" >"$ORIGINS.tmp" && mv -f "$ORIGINS.tmp" "$ORIGINS"; } 2>/dev/null; then
    rm -f "$ORIGINS.tmp"
    log "WARNING: could not record the settings' earlier values in $ORIGINS (read-only or full?)"
  fi
  new_rules=$(rules_in "$2")
  rules_in "$1" | while read -r tool table rule; do
    [ -n "$rule" ] || continue
    printf '%s\n' "$new_rules" | grep -qxF -e "$tool $table $rule" && continue
    # The words of the rule as iptables -S prints them (field splitting on purpose, globbing off).
    set -f
    # shellcheck disable=SC2086
    set -- ${rule#-A }
    set +f
    removed=0
    while "$tool" -w 5 -t "$table" -D "$@" 2>/dev/null; do removed=$((removed + 1)); done
    [ "$removed" -eq 0 ] || log "removed $removed $([ "$removed" -eq 1 ] && echo copy || echo copies) of the previous file's rule: $tool -t $table $rule"
  done
  return 0
}

# ---------------------------------------------------------------------------
# Rollback: the marker owns the change until the rollback is done
# ---------------------------------------------------------------------------

# Rolls back the change the marker (P_*) describes; needs the lock. Marks PHASE=rollback before
# touching anything, restores the backup if the new file is live, reloads (killed and retried if
# it hangs), and waits until the network matches the snapshot taken before the change: only then
# is the marker dropped. Returns 0 when rolled back, 1 when the live file is neither the change's
# nor its backup (someone else's, e.g. the Proxmox GUI applied its own: kept, a copy saved, the
# marker dropped). Anything else ends the program with 3 and the marker in place, so the next
# dead-man run, boot guard, apply or `rollback` finishes the job. `result` is what the run's result
# file says from the moment the marker is gone (the caller's own final words, written once: a
# reader never sees an interim result in its place).
rollback_pending() { # reason [result]
  run_dir="$STATE/runs/$P_RUN"
  mkdir -p "$run_dir" 2>/dev/null
  live_sha=$(sha_of "$LIVE")
  if [ "$live_sha" != "$P_NEW_SHA" ] && [ "$live_sha" != "$P_BACKUP_SHA" ]; then
    copy=$(keep_copy "$LIVE" interfaces.kept)
    drop_file "$MARKER" || finish 3 "ROLLBACK FAILED: $LIVE was replaced by someone else during run $P_RUN's confirm window and is kept, but the marker $MARKER cannot be removed (read-only?)"
    disarm_deadman
    log "dropping a stale pending marker (run $P_RUN): $LIVE is neither the file that run switched to nor its backup: it was replaced by someone else (the Proxmox GUI?) and stays as it is, nothing rolled back (a copy: $copy)"
    return 1
  fi
  reason=$(printf '%s' "$1" | tr '\n' ' ')
  final=${2:-"rolled back: $reason"}
  P_PHASE=rollback
  P_REASON=$reason
  P_BOOT_ID=$(boot_id)
  P_OWNER=$(proc_id $$)
  P_SINCE=$(now)
  write_pending || log "WARNING: cannot record the rollback in $MARKER (read-only or full?): rolling back all the same"
  log "rolling back: $reason"
  if [ "$live_sha" = "$P_NEW_SHA" ]; then
    if [ ! -f "$P_BACKUP" ] || [ "$(sha_of "$P_BACKUP")" != "$P_BACKUP_SHA" ]; then
      finish 3 "ROLLBACK FAILED: the backup $P_BACKUP is missing or damaged; $LIVE was left as it is. Fix it from the console (ifreload -a)."
    fi
    set_aside_gui_pending
    install_live "$P_BACKUP" "$P_BACKUP_SHA" ||
      finish 3 "ROLLBACK FAILED: could not write $LIVE (disk full?); the backup is $P_BACKUP. Copy it back from the console and run ifreload -a."
    log "restored $LIVE from $P_BACKUP"
  else
    log "$LIVE already is the file from before the change: reloading it"
  fi
  checkpoint rollback-restored
  attempt=1
  until reload "$(reload_limit)"; do
    [ "$attempt" -lt 3 ] || finish 3 "ROLLBACK INCOMPLETE: the previous $LIVE is back but ifreload -a failed $attempt times. The rollback stays pending: 'sh $INSTALLED rollback' (or the next apply) retries it"
    attempt=$((attempt + 1))
    sleep 2
  done
  # What ifreload leaves of the rejected file: its forwarding, proxy ARP and firewall rules.
  restore_host_state "$run_dir"
  # The previous network must look as it did before the change: same links, addresses, route,
  # forwarding and rules.
  if [ -f "$run_dir/before" ]; then
    until_time=$(($(now) + P_VERIFY))
    until [ "$(managed_snapshot "$run_dir")" = "$(cat "$run_dir/before")" ]; do
      if [ "$(now)" -ge "$until_time" ]; then
        after=$(managed_snapshot "$run_dir")
        printf '%s\n' "$after" | grep -vxF -f "$run_dir/before" | while IFS= read -r line; do log "not there before the change: $line"; done
        printf '%s\n' "$after" >"$run_dir/after-rollback" 2>/dev/null
        grep -vxF -f "$run_dir/after-rollback" "$run_dir/before" | while IFS= read -r line; do log "missing since the change: $line"; done
        finish 3 "ROLLBACK INCOMPLETE: the previous $LIVE is back and reloaded, but the network differs from before the change (above). The rollback stays pending: 'sh $INSTALLED rollback' retries it"
      fi
      sleep 1
    done
  fi
  # The result first: whoever sees the marker gone reads how the run ended.
  printf '2 %s\n' "$final" 2>/dev/null >"$run_dir/result"
  drop_file "$MARKER" || finish 3 "ROLLBACK INCOMPLETE: the previous network is back, but the marker $MARKER cannot be removed (read-only?)"
  checkpoint rollback-recorded
  disarm_deadman
  cleanup_staged
  SWITCHED=0
  return 0
}

rollback_and_exit() { # reason (the apply's or confirm's own change)
  outcome="rolled back: $1. The previous network is live, as it was before the change."
  if rollback_pending "$1" "$outcome"; then
    finish 2 "$outcome"
  fi
  finish 3 "not rolled back: $LIVE was replaced by someone else while this run was live (see above)"
}

on_signal() {
  trap '' TERM INT
  if [ "$SWITCHED" = 1 ]; then
    rollback_and_exit "interrupted by a signal"
  fi
  cleanup_staged
  # Armed but not switched: the marker and its dead-man switch go too.
  if [ "$(marker_get "$MARKER" RUN)" = "$RUN" ] && load_pending; then
    disarm_deadman
    drop_file "$MARKER"
  fi
  finish 1 "interrupted by a signal before the switch; nothing changed"
}

# Arms the dead-man switch and fixes the deadline: CONFIRM_TIMEOUT from now, the switch follows at
# once (arming may take a while on a busy host; the window counts from the switch). The switch
# reads the deadline from the marker; a systemd timer that fires early waits for it.
arm_deadman() {
  # The marker first: the dead-man switch acts only on the run the marker names.
  P_RUN=$RUN P_PHASE=armed P_BOOT_ID=$(boot_id) P_OWNER=$(proc_id $$) P_SINCE=$(now) P_NEW_SHA=$NEW_SHA
  P_BACKUP=$BACKUP P_BACKUP_SHA=$BACKUP_SHA P_DEADLINE=$(($(now) + CONFIRM_TIMEOUT)) P_VERIFY=$VERIFY_TIMEOUT
  P_WATCHDOG=starting P_REASON=""
  write_pending || return 1
  if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1 &&
    # A transient timer and service (systemd-run(1); -p sets service properties). The service
    # exits 2 when it rolled back: a success (SuccessExitStatus=, systemd.service(5)); killed or
    # failed otherwise, systemd runs it again (Restart=on-failure), except after 3 (the host
    # needs a person, who finds the marker in place).
    systemd-run --quiet --unit="pve-dualnet-expire-$RUN" --description="pve-dualnet: dead-man switch of network change $RUN" \
      --on-active="$CONFIRM_TIMEOUT" --timer-property=AccuracySec=1s \
      -p SuccessExitStatus=2 -p Restart=on-failure -p RestartSec=10 -p RestartPreventExitStatus=3 \
      /bin/sh "$INSTALLED" expire "$RUN" >/dev/null 2>&1; then
    P_WATCHDOG="timer:pve-dualnet-expire-$RUN"
  else
    # Detached from this run (its own session, without the lock's descriptor), so killing the run
    # or its SSH session leaves the watchdog to do its job.
    setsid /bin/sh "$INSTALLED" watchdog "$RUN" </dev/null >/dev/null 2>&1 9>&- &
    watchdog=$(proc_id $!) || return 1
    P_WATCHDOG="pid:$watchdog"
  fi
  P_DEADLINE=$(($(now) + CONFIRM_TIMEOUT))
  write_pending
}

# A pending change found by a new run: awaiting confirmation (busy), or left behind (its
# dead-man switch is gone or overdue, or its rollback was interrupted): then it is rolled back
# first. A marker never makes a run roll back a file it does not describe.
settle_pending() {
  load_pending || return 0
  if [ "$P_PHASE" = rollback ]; then
    log "the rollback of run $P_RUN was interrupted ($P_REASON): finishing it first"
    rollback_pending "finishing the interrupted rollback of run $P_RUN: $P_REASON" &&
      log "rolled back the unconfirmed change of run $P_RUN"
    return 0
  fi
  if same_boot && [ "$(now)" -lt "$P_DEADLINE" ] && deadman_alive; then
    finish 4 "busy: run $P_RUN switched the network and awaits confirmation until $(clock "$P_DEADLINE"); nothing changed"
  fi
  log "run $P_RUN was never confirmed and its dead-man switch is gone or overdue: rolling it back first"
  rollback_pending "unconfirmed change of run $P_RUN" && log "rolled back the unconfirmed change of run $P_RUN"
}

# The confirmation is the marker's removal, checked and synced: a confirmation that cannot be
# recorded is no confirmation (the boot guard would roll a "confirmed" change back).
record_confirmation() {
  drop_file "$MARKER" && return 0
  [ -e "$MARKER" ] || write_pending
  return 1
}

# ---------------------------------------------------------------------------
# Installation beside the state: the program and its library for the dead-man switch, and the
# boot guard unit (real hosts only)
# ---------------------------------------------------------------------------

install_self() {
  mkdir -p "$BIN" 2>/dev/null || return 1
  for name in "$LIB" pve-dualnet-network.sh; do
    if ! cmp -s "$HERE/$name" "$BIN/$name"; then
      cp "$HERE/$name" "$BIN/$name.tmp" 2>/dev/null && chmod 0755 "$BIN/$name.tmp" && sync "$BIN/$name.tmp" &&
        mv -f "$BIN/$name.tmp" "$BIN/$name" || { rm -f "$BIN/$name.tmp"; return 1; }
    fi
  done
  unit_src="$HERE/$GUARD_UNIT"
  if [ -d /run/systemd/system ] && [ -f "$unit_src" ] && ! cmp -s "$unit_src" "/etc/systemd/system/$GUARD_UNIT"; then
    # reenable: disable, then enable from the [Install] section (systemctl(1)), which drops the
    # links of an earlier version's section (network-pre.target.wants) for the new ones.
    cp "$unit_src" "/etc/systemd/system/$GUARD_UNIT" && systemctl daemon-reload && systemctl reenable --quiet "$GUARD_UNIT" || return 1
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
  need ip ping ifreload ifup flock sha256sum setsid timeout
  load_env "$env_file"
  mkdir -p "$STATE/runs" 2>/dev/null || finish 1 "refused: cannot create $STATE (disk full?); nothing changed"
  start_run
  lock_or_refuse $((VERIFY_TIMEOUT + 30))
  trap on_signal TERM INT
  log "applying $new on $NODE_NAME"

  [ -f "$new" ] || finish 1 "refused: $new does not exist; nothing changed"
  settle_pending
  [ -e "$PENDING_GUI" ] && finish 1 "refused: $PENDING_GUI holds pending changes (made in the Proxmox GUI, or by pve-network-interface-pinning, which renames NICs at the next reboot), which pvenetcommit would put in place at the next boot over this change. Apply or revert them (Node > Network), or reboot to finish the pinning, first; nothing changed"
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
  report=$(timeout -k 5 $((VERIFY_TIMEOUT + 30)) ifup -a -s -i "$staged" 2>&1 9>&-)
  checked=$?
  problems=$(printf '%s\n' "$report" | grep -v -F "$TOLERATED" | grep -v '^[[:space:]]*$')
  if [ "$checked" -ge 124 ] && [ "$checked" -le 137 ]; then
    problems="ifup -s did not finish within $((VERIFY_TIMEOUT + 30)) s${problems:+:
$problems}"
  fi
  if [ -n "$problems" ]; then
    rm -f "$staged"
    finish 1 "refused: ifupdown2's syntax check of the new file failed; nothing changed:
$problems"
  fi
  moved=$(nic_name_problems)
  if [ -n "$moved" ]; then
    rm -f "$staged"
    finish 1 "refused: NIC names on $NODE_NAME are not the ones the description pins by MAC (NIC names moved: a new kernel, firmware, udev rule or NIC pinning); nothing changed:
$moved
Name the NICs as they are now (ip -br link), or pin them (Proxmox VE 9: pve-network-interface-pinning)"
  fi
  while read -r name _mtu _address _carrier kind; do
    [ "$kind" = nic ] || continue
    is_kernel_name "$name" || {
      rm -f "$staged"
      finish 1 "refused: NIC $name does not exist on $NODE_NAME (/sys/class/net: an alternative name is not enough for ifupdown2); nothing changed"
    }
  done <<EOF
$INTERFACES
EOF
  checkpoint checked

  probe_before
  BACKUP="$RUN_DIR/backup"
  LIVE_SHA=$(sha_of "$LIVE")
  # The backup, the interfaces both files name and the network as it is: what a rollback restores
  # and must find again.
  if ! cp -p "$LIVE" "$BACKUP" 2>/dev/null || ! sync "$BACKUP" 2>/dev/null ||
    [ "$(size_of "$BACKUP")" != "$(size_of "$LIVE")" ] || [ "$(sha_of "$BACKUP")" != "$LIVE_SHA" ] ||
    ! { names_in "$LIVE" "$staged" >"$RUN_DIR/names"; } 2>/dev/null ||
    ! { sysctls_in "$LIVE" "$staged" >"$RUN_DIR/sysctls"; } 2>/dev/null ||
    ! { rules_in "$LIVE" "$staged" >"$RUN_DIR/rules"; } 2>/dev/null ||
    ! { managed_snapshot "$RUN_DIR" >"$RUN_DIR/before"; } 2>/dev/null || ! sync "$RUN_DIR" 2>/dev/null; then
    rm -f "$staged" "$BACKUP"
    finish 1 "refused: could not back up $LIVE to $BACKUP (disk full?); nothing changed"
  fi
  BACKUP_SHA=$LIVE_SHA
  checkpoint backed-up

  if ! arm_deadman; then
    disarm_deadman
    drop_file "$MARKER"
    rm -f "$staged"
    finish 1 "refused: could not arm the dead-man switch (disk full?); nothing changed"
  fi
  # Both windows run from the switch: verification ends VERIFY_TIMEOUT s after it (one look after
  # a slow reload), at least CONFIRM_TIMEOUT - VERIFY_TIMEOUT s before the dead-man switch.
  deadline=$P_DEADLINE
  switched_at=$((deadline - CONFIRM_TIMEOUT))
  log "dead-man switch armed ($P_WATCHDOG): the previous file comes back at $(clock "$deadline") unless confirmed"
  checkpoint armed

  SWITCHED=1
  if ! mv -f "$staged" "$LIVE" || ! sync /etc/network; then
    rollback_and_exit "could not move the new file into place"
  fi
  log "switched: $LIVE is the new file (sha256 $NEW_SHA)"
  checkpoint switched

  # The reload may take until shortly before the deadline (verification then gets one look), so
  # that this run does not hold the lock when its dead-man switch fires; at least VERIFY_TIMEOUT.
  budget=$((deadline - 2 - $(now)))
  [ "$budget" -ge "$VERIFY_TIMEOUT" ] || budget=$VERIFY_TIMEOUT
  if ! reload "$budget"; then
    rollback_and_exit "ifreload -a failed"
  fi
  checkpoint reloaded
  if ! verify_until $((switched_at + VERIFY_TIMEOUT)); then
    rollback_and_exit "not verified within $VERIFY_TIMEOUT s of the switch: $PROBLEM"
  fi
  log "network verified: interfaces, MTUs, addresses, one default route via $GATEWAY on $GATEWAY_DEV${GATEWAY6:+ and one IPv6 default route via $GATEWAY6 on $GATEWAY6_DEV}, gateway and peers answer"
  checkpoint verified
  # A run that was held up past its deadline must not promise a confirmation window in the past.
  [ "$(now)" -lt "$deadline" ] || rollback_and_exit "verified only after the confirm deadline $(clock "$deadline")"

  if [ "$self_confirm" = --confirm ]; then
    record_confirmation || rollback_and_exit "could not record the confirmation in $STATE (read-only or full?)"
    disarm_deadman
    SWITCHED=0
    settle_confirmed "$BACKUP" "$LIVE" "$RUN_DIR"
    prune_runs
    finish 0 "confirmed: the new network is live"
  fi
  SWITCHED=0
  finish 0 "verified; awaiting confirmation until $(clock "$deadline") (confirm $NEW_SHA), else it is rolled back"
}

cmd_confirm() { # env sha
  [ $# -eq 2 ] || finish 1 "usage: $0 confirm ENV SHA256"
  need ip ping ifreload flock sha256sum timeout
  load_env "$1"
  want=$2
  mkdir -p "$STATE/runs" 2>/dev/null
  take_lock $((VERIFY_TIMEOUT + 30))
  case $? in
    0) ;;
    1) finish 1 "NOT CONFIRMED: cannot open the lock $LOCK (is /run full or read-only?). A pending change is rolled back by its dead-man switch" ;;
    *) finish 4 "busy: another pve-dualnet run held the network lock for $((VERIFY_TIMEOUT + 30)) s; not confirmed" ;;
  esac
  if ! load_pending; then
    [ "$(sha_of "$LIVE")" = "$want" ] && finish 0 "confirmed: $LIVE already is this file; nothing was pending"
    last=$(ls -1 "$STATE/runs" 2>/dev/null | sort | tail -n 1)
    [ -n "$last" ] && tail -n 5 "$STATE/runs/$last/log" 2>/dev/null
    finish 2 "not confirmed: the change was rolled back before confirmation (dead-man switch or a failed check); see $STATE/runs/$last/log"
  fi
  [ "$P_NEW_SHA" = "$want" ] || finish 1 "refused: the pending change (run $P_RUN) is another file, not $want"
  RUN=$P_RUN
  RUN_DIR="$STATE/runs/$RUN"
  if [ "$P_PHASE" = rollback ]; then
    rollback_and_exit "not confirmed: its rollback had begun ($P_REASON)"
  fi
  live_sha=$(sha_of "$LIVE")
  if [ "$live_sha" != "$want" ]; then
    [ "$live_sha" = "$P_BACKUP_SHA" ] && rollback_and_exit "not confirmed: $LIVE is the file from before the change again"
    # Someone else's file (the Proxmox GUI applied its own): never overwritten. The change is
    # handed over: its marker and dead-man switch go, the file and the network stay as they are.
    copy=$(keep_copy "$LIVE" interfaces.live-at-confirm)
    drop_file "$MARKER" || finish 1 "NOT CONFIRMED: $LIVE was replaced during the confirm window by someone else (the Proxmox GUI?), and the marker cannot be removed; the dead-man switch leaves that file alone"
    disarm_deadman
    finish 1 "NOT CONFIRMED: $LIVE was replaced during the confirm window by someone else (the Proxmox GUI?), not by this change. It stays live as it is (a copy: $copy); nothing was rolled back, the change is dropped. Review it and deploy again"
  fi
  # Time has passed since the run verified: look once more before keeping the change.
  REQUIRED_PEERS=""
  for peer in $PEERS; do ping -c 3 -i 0.2 -W 1 "$peer" >/dev/null 2>&1 9>&- && REQUIRED_PEERS="$REQUIRED_PEERS $peer"; done
  REQUIRED_PEERS6=""
  for peer in $PEERS6; do ping -6 -c 3 -i 0.2 -W 1 "$peer" >/dev/null 2>&1 9>&- && REQUIRED_PEERS6="$REQUIRED_PEERS6 $peer"; done
  verify_once || rollback_and_exit "no longer verifies at confirmation: $PROBLEM"
  record_confirmation || finish 1 "NOT CONFIRMED: could not record the confirmation in $STATE (read-only or full?). The change stays with its dead-man switch, which rolls it back at $(clock "$P_DEADLINE")"
  disarm_deadman
  settle_confirmed "$P_BACKUP" "$LIVE" "$RUN_DIR"
  prune_runs
  finish 0 "confirmed over a new connection: the new network is live"
}

# A rollback takes the lock without waiting on a stuck run: when the marker's owner still holds
# it past its time (an apply OVERDUE_APPLY s past its deadline, a rollback past rollback_limit;
# stuck in a step, or stopped), the owner is killed with the ifreload it started. Anyone else
# holding the lock (a confirm, an apply that found the change pending) is waited for: every step
# of theirs has a time limit.
lock_for_rollback() {
  if ! open_lock; then
    log "cannot open the lock $LOCK: rolling back without it (no other run can take it either)"
    return 0
  fi
  flock -n 9 && return 0
  log "waiting for the network lock"
  patience=$(($(rollback_limit) + 60))
  waited=0
  until flock -w 1 9; do
    if load_pending && [ "$P_RUN" = "$RUN" ] && [ "${P_OWNER%%:*}" != $$ ] && proc_alive "$P_OWNER"; then
      case "$P_PHASE" in
        rollback) due=$((P_SINCE + $(rollback_limit))) ;;
        *) due=$((P_DEADLINE + OVERDUE_APPLY)) ;;
      esac
      if [ "$(now)" -ge "$due" ]; then
        log "preempting pid ${P_OWNER%%:*} ($P_PHASE phase of run $RUN): it still holds the network lock, overdue since $(clock "$due")"
        kill -s KILL "${P_OWNER%%:*}" 2>/dev/null
        stop_reload
      fi
    fi
    waited=$((waited + 1))
    [ "$waited" -lt "$patience" ] || finish 4 "busy: the network lock stayed held for $patience s; the rollback stays pending ($MARKER)"
  done
}

cmd_rollback() { # mode (expire|rollback) [run]
  mode=$1
  want=${2:-}
  if [ "$mode" = expire ] && [ -n "$want" ]; then
    await_deadline "$want" || exit 0 # confirmed, or already rolled back
  fi
  if [ -e "$MARKER" ] && ! load_pending; then
    finish 3 "cannot read the pending marker $MARKER: nothing rolled back. Look at it from the console (sh $INSTALLED status)"
  fi
  if ! load_pending || { [ -n "$want" ] && [ "$P_RUN" != "$want" ]; }; then
    [ "$mode" = expire ] && exit 0 # confirmed, or already rolled back
    echo "nothing pending${want:+ for run $want}: nothing to roll back"
    exit 0
  fi
  RUN=$P_RUN
  RUN_DIR="$STATE/runs/$RUN"
  mkdir -p "$RUN_DIR" 2>/dev/null || RUN_DIR=""
  lock_for_rollback
  if ! load_pending || [ "$P_RUN" != "$RUN" ]; then
    # Whoever held the lock (the confirm, or the run's own rollback) finished the run: its result
    # stays theirs, this is a line in its log. (finish would overwrite the result: on a booted
    # host a dead-man switch that fired during the run's own rollback of a hung ifreload turned
    # "2 rolled back" into "0 nothing to roll back".)
    log "nothing to roll back: run $RUN was confirmed or rolled back meanwhile"
    exit 0
  fi
  if [ "$P_PHASE" = rollback ]; then
    why="finishing an interrupted rollback ($P_REASON)"
  elif [ "$mode" = expire ]; then
    why="not confirmed within the confirm timeout (dead-man switch)"
  else
    why="rolled back by hand (pve-dualnet-network.sh rollback)"
  fi
  if [ "$mode" = expire ]; then
    outcome="dead-man switch: the unconfirmed change was rolled back"
  else
    outcome="rolled back: the previous network is live, as it was before the change"
  fi
  rollback_pending "$why" "$outcome" && finish 2 "$outcome"
  finish 0 "nothing to roll back: $LIVE is no longer the unconfirmed file (kept as it is)"
}

# Waits for RUN's deadline (from its marker); fails when RUN is no longer pending. A marker that
# cannot be read for a moment is not taken for a confirmation.
await_deadline() { # run
  known=0
  while [ -e "$MARKER" ]; do
    if load_pending; then
      [ "$P_RUN" = "$1" ] || return 1
      known=$P_DEADLINE
    fi
    [ "$known" -eq 0 ] || [ "$(now)" -lt "$known" ] || return 0
    sleep 1
  done
  return 1
}

cmd_watchdog() { # run
  await_deadline "$1" || exit 0
  cmd_rollback expire "$1"
}

# At boot, before networking and pvenetcommit: a marker written in an earlier boot is a change
# that was never confirmed (or whose rollback never finished) when the host went down. The
# network is not up yet: restoring the file is the whole rollback (networking.service brings it
# up). A marker of this boot belongs to a run or dead-man switch of this boot: left alone.
cmd_boot_guard() {
  load_pending || exit 0
  if same_boot && [ -n "$P_BOOT_ID" ]; then
    echo "boot guard: the pending change of run $P_RUN was made in this boot: nothing to do (its dead-man switch is in charge)"
    exit 0
  fi
  take_lock 60
  case $? in
    0) ;;
    1) log "boot guard: cannot open the lock $LOCK: acting without it" ;;
    *) finish 4 "boot guard: busy: the network lock stayed held for 60 s" ;;
  esac
  load_pending || exit 0
  if same_boot && [ -n "$P_BOOT_ID" ]; then
    exit 0
  fi
  RUN=$P_RUN
  RUN_DIR="$STATE/runs/$RUN"
  mkdir -p "$RUN_DIR" 2>/dev/null || RUN_DIR=""
  live_sha=$(sha_of "$LIVE")
  if [ "$live_sha" = "$P_NEW_SHA" ]; then
    if [ ! -f "$P_BACKUP" ] || [ "$(sha_of "$P_BACKUP")" != "$P_BACKUP_SHA" ]; then
      finish 3 "boot guard: the backup $P_BACKUP is missing or damaged; the unconfirmed file stays live and the marker stays"
    fi
    set_aside_gui_pending
    install_live "$P_BACKUP" "$P_BACKUP_SHA" || finish 3 "boot guard: could not restore $P_BACKUP (disk full?); the unconfirmed file stays live and the marker stays"
    drop_file "$MARKER" || finish 3 "boot guard: restored $LIVE, but the marker $MARKER cannot be removed (read-only?)"
    cleanup_staged
    finish 2 "boot guard: restored the file run $RUN replaced (its change was never confirmed before the reboot)"
  fi
  if [ "$live_sha" = "$P_BACKUP_SHA" ]; then
    drop_file "$MARKER" || finish 3 "boot guard: the marker $MARKER cannot be removed (read-only?)"
    cleanup_staged
    [ "$P_PHASE" = rollback ] && finish 2 "boot guard: finished the interrupted rollback of run $RUN ($LIVE was already restored; the network comes up from it)"
    finish 0 "boot guard: run $RUN never switched; $LIVE is the file from before it"
  fi
  copy=$(keep_copy "$LIVE" interfaces.kept)
  drop_file "$MARKER" || finish 3 "boot guard: the marker $MARKER cannot be removed (read-only?)"
  finish 0 "boot guard: $LIVE is neither run $RUN's file nor its backup (replaced by someone else, e.g. the Proxmox GUI): kept as it is (a copy: $copy); dropped the marker"
}

cmd_status() {
  if load_pending; then
    echo "pending:"
    sed 's/^/  /' "$MARKER"
    if [ "$P_PHASE" = rollback ]; then
      echo "the rollback of run $P_RUN has begun and is not finished (interrupted?): the next dead-man run, apply or boot guard finishes it, or now: sh $INSTALLED rollback"
    elif deadman_alive; then
      echo "dead-man switch armed: rolls back at $(clock "$P_DEADLINE") unless confirmed"
    else
      echo "the dead-man switch is GONE: confirm, or roll back with: sh $INSTALLED rollback"
    fi
  else
    echo "nothing pending; $LIVE sha256 $(sha_of "$LIVE")"
  fi
}

command=${1:-}
[ $# -gt 0 ] && shift
case "$command" in
  apply) cmd_apply "$@" ;;
  confirm) cmd_confirm "$@" ;;
  rollback) cmd_rollback rollback "$@" ;;
  expire) cmd_rollback expire "$@" ;;
  watchdog) cmd_watchdog "$@" ;;
  boot-guard) cmd_boot_guard ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 apply ENV NEW [--confirm] | confirm ENV SHA256 | rollback [RUN] | expire RUN | watchdog RUN | boot-guard | status" >&2
    exit 1
    ;;
esac
