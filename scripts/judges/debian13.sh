#!/bin/bash
# Builds (or finds) a minimal Debian 13 (trixie) root directory holding the judges of a Proxmox
# VE 9 host and a trixie guest: ifupdown2, python3-mako, iproute2 and cloud-init, as Debian's
# archive has them. The tests run them in it with chroot (__tests__/judges/debian13.ts).
#
#   scripts/judges/debian13.sh            -> prints the root's cache directory (building it once)
#   scripts/judges/debian13.sh --rebuild  -> builds it again from today's archive
#
# The directory is ${PVE_DUALNET_JUDGES_CACHE:-~/.cache/pve-dualnet-judges}/trixie-<key>, the key
# a hash of this script and debian13.packages, so it is built once per machine (1-3 minutes) and
# a warm run is a lookup. It holds root/ (the chroot), versions.txt (dpkg-query -W of the
# judges), packages.txt (of everything in root/) and built.json. A build happens in a temporary
# directory renamed into place, under a lock, so concurrent runs wait for one build.
# Needs root and mmdebstrap; the mirror is given to mmdebstrap, the machine's apt sources are
# never touched.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
list=$here/debian13.packages
suite=trixie
mirror=http://deb.debian.org/debian
cache=${PVE_DUALNET_JUDGES_CACHE:-$HOME/.cache/pve-dualnet-judges}
rebuild=
case "${1:-}" in
  --rebuild) rebuild=1 ;;
  "") ;;
  *) echo "usage: $0 [--rebuild]" >&2; exit 2 ;;
esac

key=$(cd "$here" && sha256sum debian13.sh debian13.packages | sha256sum | cut -c1-16)
dir=$cache/$suite-$key
# The common case, without a lock: a finished directory is complete (it was renamed into place).
if [ -z "$rebuild" ] && [ -f "$dir/built.json" ]; then
  echo "$dir"
  exit 0
fi

[ "$(id -u)" = 0 ] || { echo "debian13.sh needs root (mmdebstrap --mode=root, and chroot to run the judges)" >&2; exit 1; }
command -v mmdebstrap >/dev/null || { echo "debian13.sh needs mmdebstrap (apt-get install mmdebstrap)" >&2; exit 1; }
mkdir -p "$cache"
exec 9>"$cache/.lock-$suite"
flock 9
if [ -z "$rebuild" ] && [ -f "$dir/built.json" ]; then
  echo "$dir"
  exit 0
fi

# What a killed build left. Never through a mount point: mmdebstrap mounts /dev, /proc and /sys
# into its chroot, and a build killed before it unmounted them leaves them there.
for stale in "$cache/.build-$suite"-* "$cache/.old-$suite"-*; do
  [ -d "$stale" ] || continue
  if findmnt -rno TARGET | grep -q "^$stale/"; then
    echo "debian13.sh: $stale still has mounts (see findmnt); not removing it" >&2
  else
    rm -rf --one-file-system "$stale"
  fi
done

packages=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$list" | grep -v '^$' | paste -sd, -)
tmp=$(mktemp -d "$cache/.build-$suite-XXXXXX")
chmod 755 "$tmp" # apt downloads as _apt
trap 'rm -rf --one-file-system "$tmp"' EXIT
trap 'exit 130' INT TERM
started=$(date +%s)
echo "debian13.sh: building the $suite judges ($packages) from $mirror in $tmp" >&2

# Documentation, manuals and translations are not read by any judge.
mmdebstrap --mode=root --variant=apt --format=directory --components=main \
  --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --include="$packages" \
  "$suite" "$tmp/root" "$mirror" >&2

judges=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$list" | grep -v '^$')
# shellcheck disable=SC2086 # one package name a word
dpkg-query --admindir="$tmp/root/var/lib/dpkg" -W python3 $judges >"$tmp/versions.txt"
dpkg-query --admindir="$tmp/root/var/lib/dpkg" -W >"$tmp/packages.txt"
seconds=$(($(date +%s) - started))
cat >"$tmp/built.json" <<JSON
{
  "suite": "$suite",
  "release": "$(cat "$tmp/root/etc/debian_version")",
  "key": "$key",
  "mirror": "$mirror",
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "buildSeconds": $seconds
}
JSON

if [ -e "$dir" ]; then
  old=$(mktemp -d "$cache/.old-$suite-XXXXXX")
  mv "$dir" "$old/"
  mv "$tmp" "$dir"
  rm -rf --one-file-system "$old"
else
  mv "$tmp" "$dir"
fi
trap - EXIT
echo "debian13.sh: $suite judges built in ${seconds}s: $dir" >&2
sed 's/^/debian13.sh:   /' "$dir/versions.txt" >&2

# Roots of earlier keys (an edited script or list) are superseded.
for other in "$cache/$suite"-*; do
  [ "$other" = "$dir" ] || [ ! -d "$other" ] || rm -rf --one-file-system "$other"
done
echo "$dir"
