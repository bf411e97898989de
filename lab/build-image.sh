#!/bin/bash
# Builds (or finds in the cache) a bootable lab image of a Debian release, from Debian's packages only:
#
#   lab/build-image.sh bookworm|trixie     -> prints the image directory
#
# The directory holds base.qcow2 (ext4 root, label pvdn-root, no partition table), vmlinuz and
# initrd.img for direct kernel boot, packages.txt (dpkg-query -W of the image) and image.json.
# It lives in ${PVE_DUALNET_LAB_CACHE:-~/.cache/pve-dualnet-lab}/<release>-<key>; the key hashes
# this script, lab/images/ (package lists and files put into the image) and the suite's package
# index (the sha256 of main/binary-amd64/Packages.xz in its InRelease), so a new point release or
# an edited list builds a new image. Builds happen in a temporary directory renamed into place.
# Needs root, mmdebstrap, e2fsprogs (mkfs.ext4 -d), qemu-utils and curl.
set -euo pipefail

ROOT_LABEL=pvdn-root
here=$(cd "$(dirname "$0")" && pwd)
images=$here/images

# mmdebstrap runs this script again inside its customize hook, with the chroot as argument.
if [ "${1:-}" = --customize ]; then
  root=$2
  chroot "$root" systemctl enable --quiet pvdn-lab-files.service systemd-networkd.service
  # Nothing a lab boot waits for or that competes for TCG cycles later.
  chroot "$root" systemctl mask --quiet apt-daily.timer apt-daily-upgrade.timer man-db.timer \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer dpkg-db-backup.timer logrotate.timer \
    systemd-binfmt.service proc-sys-fs-binfmt_misc.automount
  echo LANG=C.UTF-8 >"$root/etc/default/locale"
  echo pvdn-lab >"$root/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tpvdn-lab\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  # Root is mounted read-write by the kernel (rw on the command line): no fsck, no remount.
  printf 'LABEL=%s / ext4 rw,errors=remount-ro 0 0\n' "$ROOT_LABEL" >"$root/etc/fstab"
  chroot "$root" dpkg-query -W >"$PVDN_OUT/packages.txt"
  cp "$root"/boot/vmlinuz-* "$PVDN_OUT/vmlinuz"
  cp "$root"/boot/initrd.img-* "$PVDN_OUT/initrd.img"
  exit 0
fi

release=${1:?usage: build-image.sh RELEASE (bookworm, trixie)}
[ -f "$images/packages.txt" ] || { echo "no $images/packages.txt" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "build-image.sh needs root (mmdebstrap --mode=root)" >&2; exit 1; }
mirror=${PVE_DUALNET_LAB_MIRROR:-http://deb.debian.org/debian}
cache=${PVE_DUALNET_LAB_CACHE:-$HOME/.cache/pve-dualnet-lab}
mkdir -p "$cache"

newest_cached() {
  # shellcheck disable=SC2012 # names are ours: <release>-<hex key>
  ls -1dt "$cache/$release"-* 2>/dev/null | sed -n 1p
}

# The suite's package index identity; offline, the newest image already built will do.
if inrelease=$(curl -fsS --max-time 30 "$mirror/dists/$release/InRelease"); then
  index=$(awk '$3 == "main/binary-amd64/Packages.xz" && length($1) == 64 { print $1; exit }' <<<"$inrelease")
  version=$(awk '$1 == "Version:" { print $2; exit }' <<<"$inrelease")
  [ -n "$index" ] || { echo "no main/binary-amd64/Packages.xz in $mirror/dists/$release/InRelease" >&2; exit 1; }
else
  cached=$(newest_cached)
  [ -n "$cached" ] || { echo "cannot reach $mirror and no $release image is cached" >&2; exit 1; }
  echo "build-image: $mirror unreachable, using the cached $cached" >&2
  echo "$cached"
  exit 0
fi

key=$(
  cd "$here"
  {
    sha256sum build-image.sh
    find images -type f -print0 | LC_ALL=C sort -z | xargs -0 stat -c '%a %n'
    find images -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    echo "$release $index"
  } | sha256sum | cut -c1-16
)
dir=$cache/$release-$key

exec 9>"$cache/.lock-$release"
flock 9
if [ -f "$dir/image.json" ]; then
  echo "$dir"
  exit 0
fi

# What a killed build left. Never through a mount point: mmdebstrap mounts /dev, /proc and /sys
# into its chroot, and a build killed before it unmounted them leaves them there.
for stale in "$cache/.build-$release"-*; do
  [ -d "$stale" ] || continue
  if findmnt -rno TARGET | grep -q "^$stale/"; then
    echo "build-image: $stale still has mounts (see findmnt); not removing it" >&2
  else
    rm -rf --one-file-system "$stale"
  fi
done

lists=("$images/packages.txt")
[ -f "$images/packages.$release.txt" ] && lists+=("$images/packages.$release.txt")
packages=$(cat "${lists[@]}" | sed -e 's/#.*//' -e 's/[[:space:]]//g' | grep -v '^$' | paste -sd, -)
tmp=$(mktemp -d "$cache/.build-$release-XXXXXX")
chmod 755 "$tmp" # apt downloads as _apt
trap 'rm -rf --one-file-system "$tmp"' EXIT
trap 'exit 130' INT TERM
started=$(date +%s)
echo "build-image: building $release ($version, index ${index:0:12}) in $tmp" >&2

# The .debs of the last build are offered to apt again: a rebuild downloads only what changed.
# The overlay goes in before the --include packages, so the kernel's initrd is built once with
# its configuration (MODULES=list and the hook listing the root disk's modules).
debs=$cache/debs-$release
mkdir -p "$debs" "$tmp/debs"
PVDN_OUT=$tmp mmdebstrap --mode=root --variant=apt --format=directory --components=main \
  --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
  --include="$packages" \
  --skip=essential/unlink \
  --setup-hook="mkdir -p \"\$1/var/cache/apt/archives\"" \
  --setup-hook="sync-in '$debs' /var/cache/apt/archives/" \
  --essential-hook="sync-in '$images/overlay' /" \
  --customize-hook="'$here/build-image.sh' --customize \"\$1\"" \
  --customize-hook="sync-out /var/cache/apt/archives '$tmp/debs'" \
  "$release" "$tmp/root" "$mirror" >&2
rm -rf "$debs"
mv "$tmp/debs" "$debs"

# The ext4 file system from the directory itself (no loop mount); 4 GiB of room for the tests,
# sparse, and qemu-img stores only the blocks in use.
mkfs.ext4 -q -L "$ROOT_LABEL" -d "$tmp/root" -E root_owner=0:0 "$tmp/root.img" 4G >&2
rm -rf "$tmp/root"
qemu-img convert -f raw -O qcow2 "$tmp/root.img" "$tmp/base.qcow2"
rm "$tmp/root.img"
chmod a-w "$tmp/base.qcow2"

seconds=$(($(date +%s) - started))
cat >"$tmp/image.json" <<EOF
{
  "release": "$release",
  "version": "$version",
  "key": "$key",
  "packagesIndexSha256": "$index",
  "disk": "base.qcow2",
  "kernel": "vmlinuz",
  "initrd": "initrd.img",
  "append": "root=LABEL=$ROOT_LABEL rw",
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "buildSeconds": $seconds
}
EOF
mv "$tmp" "$dir"
trap - EXIT
echo "build-image: $release built in ${seconds}s: $dir" >&2

# Older images of this release are superseded; the previous one stays for runs that started with it.
# shellcheck disable=SC2012 # names are ours: <release>-<hex key>
ls -1dt "$cache/$release"-* | tail -n +3 | while read -r old; do rm -rf "$old"; done
echo "$dir"
