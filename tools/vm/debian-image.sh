#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tools/vm/debian-image.sh
#
# Builds, once per machine, the Debian 12 (bookworm) root file system that
# tools/vm/check-install.sh (make check-install) boots under QEMU to install
# mq's packages on a real system: debootstrap (variant minbase) from
# http://deb.debian.org/debian with systemd, Debian's kernel and headers,
# DKMS and its compiler, man-db, bash-completion, libnl and the rest of
# what the packages need, so that the guest installs them with no network.
# Then, as an installed Debian 12 is, upgraded from bookworm-updates and
# bookworm-security (deb.debian.org/debian-security) and left with one
# kernel, the newest; MQ_DEBIAN_UPDATES=0 keeps the point release as
# debootstrap installs it (an older kernel: another cache entry).
# Prints the entry's directory on stdout (the last line); its contents:
#
#   DIR/rootfs/                     the tree (root disk: /dev/vda, ext4)
#   DIR/rootfs/boot/vmlinuz-KVER    the kernel QEMU boots (-kernel)
#   DIR/rootfs/boot/initrd.img-KVER its initramfs (-initrd), with virtio_blk
#   DIR/kver                        KVER
#   DIR/BUILD.log                   debootstrap's and the chroot's output
#
# In the tree: hostname mq-install, /etc/fstab with / on /dev/vda, a
# persistent journal, apt's timers and the like masked (they only slow a
# TCG boot), and tests/install/mq-install-test.service enabled (it runs
# /root/mq-install/guest-test.sh, which check-install.sh puts in its copy
# of the tree; without it the unit does nothing). root has no password:
# nobody logs in, the getty on the console is harmless.
#
# Cache: MQ_DEBIAN_CACHE, default /var/cache/mq-debian-image as root, else
# ${XDG_CACHE_HOME:-~/.cache}/mq-debian-image (debootstrap needs root
# anyway). One directory per key: the sha256 of the suite, the mirrors,
# MQ_DEBIAN_UPDATES, the variant, the package list and this script's
# recipe number (bump it when the steps below change). An entry is not
# refreshed as the archive moves on: remove it to get newer packages. The entry is built in a temporary directory
# and renamed into place only once complete; a half-built one is never
# used and is removed by the next run. Downloaded .debs are kept in
# CACHE/debs across builds. Entries unused for 30 days are removed.
# Needs root (debootstrap, chroot); installs debootstrap with apt-get if
# it is missing.

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
unit=$top/tests/install/mq-install-test.service

# What the image is. A change to any of these is a new key.
recipe=2
suite=bookworm
mirror=http://deb.debian.org/debian
security=http://deb.debian.org/debian-security
variant=minbase
# 1: bookworm-updates and bookworm-security too, upgraded to them, as an
# installed Debian 12 is (the kernel is then the one the host's
# linux-image-amd64 gets); 0: the point release only (its older kernel).
updates=${MQ_DEBIAN_UPDATES:-1}
[[ $updates == 0 || $updates == 1 ]] || { echo "debian-image: MQ_DEBIAN_UPDATES must be 0 or 1" >&2; exit 1; }
packages=(systemd systemd-sysv udev dbus kmod linux-image-amd64 linux-headers-amd64
	dkms gcc make libc6-dev pkg-config man-db bash-completion
	libnl-3-200 libnl-genl-3-200 e2fsprogs initramfs-tools procps)

log() { printf 'debian-image: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

((EUID == 0)) || die "needs root (debootstrap and chroot)"
[[ -r $unit ]] || die "$unit missing"
if ! command -v debootstrap >/dev/null; then
	log "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2 ||
		die "apt-get install debootstrap failed"
fi

if [[ -n ${MQ_DEBIAN_CACHE:-} ]]; then
	cache=$MQ_DEBIAN_CACHE
elif ((EUID == 0)); then
	cache=/var/cache/mq-debian-image
else
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/mq-debian-image
fi
key=$(printf 'suite %s\nmirror %s\nsecurity %s\nupdates %s\nvariant %s\npackages %s\nrecipe %s\n' \
	"$suite" "$mirror" "$security" "$updates" "$variant" "${packages[*]}" "$recipe" | sha256sum | cut -c1-16)
entry=$cache/$suite-$key
mkdir -p "$cache/debs"

# One builder per key; others wait for it.
exec {lockfd}>"$cache/.lock-$key"
if ! flock -n "$lockfd"; then
	log "waiting for another build of $entry ..."
	flock "$lockfd"
fi

if [[ -s $entry/kver && -d $entry/rootfs/etc ]]; then
	touch "$entry/.mq-used"
	log "cached: $entry"
	printf '%s\n' "$entry"
	exit 0
fi

# Leftovers of a build that stopped half way (this key only).
for old in "$cache/.build-$key".*; do
	[[ -e $old ]] || continue
	log "removing an unfinished build: $old"
	rm -rf --one-file-system "$old"
done

t0=$SECONDS
tmp=$(mktemp -d "$cache/.build-$key.XXXXXX")
root=$tmp/rootfs
buildlog=$tmp/BUILD.log
: >"$buildlog"
mounted=()
cleanup() {
	local m i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		m=${mounted[i]}
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
	if [[ -n ${tmp:-} && -d $tmp ]]; then
		cp "$tmp/BUILD.log" "$cache/BUILD-failed-$key.log" 2>/dev/null || true
		log "build failed: removed $tmp (its log: $cache/BUILD-failed-$key.log)"
		rm -rf --one-file-system "$tmp"
	fi
}
trap cleanup EXIT

run() { # run CMD...: into the build log; on failure show its end
	if ! "$@" >>"$buildlog" 2>&1; then
		tail -n 40 "$buildlog" | sed 's/^/debian-image:   | /' >&2
		die "failed: $*"
	fi
}
# chroot_env CMD...: CMD in the image, with a clean environment.
chroot_env() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"; }
in_root() { run chroot_env "$@"; }

log "debootstrap $suite ($variant, ${#packages[@]} packages and their dependencies) from $mirror into $tmp (log: BUILD.log there)"
include=$(
	IFS=,
	printf '%s' "${packages[*]}"
)
run debootstrap --variant="$variant" --include="$include" --cache-dir="$cache/debs" \
	--merged-usr "$suite" "$root" "$mirror"
t1=$SECONDS
log "debootstrap done in $((t1 - t0)) s"

for m in proc sys dev; do
	case $m in
	proc) mount -t proc proc "$root/proc" ;;
	sys) mount -t sysfs sysfs "$root/sys" ;;
	dev) mount --bind /dev "$root/dev" ;;
	esac
	mounted+=("$root/$m")
done

# The system check-install.sh boots.
printf 'mq-install\n' >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tmq-install\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
cat >"$root/etc/fstab" <<-'EOF'
	# <file system> <mount point> <type> <options> <dump> <pass>
	/dev/vda / ext4 rw,errors=remount-ro 0 0
EOF
# Apt's sources stay on deb.debian.org (the guest has no network anyway).
if ((updates)); then
	printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
		"$mirror" "$suite" "$mirror" "$suite" "$security" "$suite" >"$root/etc/apt/sources.list"
	log "upgrading to $suite-updates and $suite-security"
	in_root apt-get update
	in_root apt-get -y -o Dpkg::Options::=--force-confold dist-upgrade
	# One kernel: the newest (the metapackages moved to it).
	mapfile -t kvers < <(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V)
	old=()
	for k in "${kvers[@]:0:${#kvers[@]}-1}"; do
		old+=("linux-image-$k" "linux-headers-$k")
	done
	if ((${#old[@]} > 0)); then
		log "removing the point release's kernel: ${old[*]}"
		in_root apt-get -y purge "${old[@]}"
		in_root apt-get -y --purge autoremove
	fi
else
	printf 'deb %s %s main\n' "$mirror" "$suite" >"$root/etc/apt/sources.list"
fi
# The journal on disk: the test reads the previous boot's (the shutdown).
mkdir -p "$root/var/log/journal"
# Nothing that runs by the clock or wants a network (a TCG boot is slow).
in_root systemctl mask apt-daily.timer apt-daily-upgrade.timer man-db.timer \
	e2scrub_all.timer e2scrub_reap.service fstrim.timer \
	systemd-networkd-wait-online.service
# The initramfs mounts a virtio-blk root: Debian's MODULES=most has the
# drivers; list them anyway so that a changed default cannot lose them.
printf 'virtio_pci\nvirtio_blk\next4\n' >>"$root/etc/initramfs-tools/modules"
# The test's unit (check-install.sh refreshes it in its copy of the tree).
install -m 0644 "$unit" "$root/etc/systemd/system/mq-install-test.service"
in_root systemctl enable mq-install-test.service
in_root update-initramfs -u -k all
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/*_dists_*
# The host's resolver means nothing in the guest (it has no network).
printf '# no network in the check-install guest\n' >"$root/etc/resolv.conf"

# The kernel and its initramfs, checked.
mapfile -t kvers < <(find "$root/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V)
((${#kvers[@]} == 1)) || die "expected one kernel in $root/boot, found: ${kvers[*]:-none}"
kver=${kvers[0]}
[[ -r $root/boot/initrd.img-$kver ]] || die "no initrd.img-$kver in $root/boot"
[[ -d $root/usr/src/linux-headers-$kver ]] || die "no linux-headers-$kver: DKMS could not build for the image's kernel"
# The image's own lsinitramfs: the host need not have initramfs-tools.
initrd_files=$(chroot_env lsinitramfs "/boot/initrd.img-$kver" 2>>"$buildlog") ||
	die "lsinitramfs initrd.img-$kver (in the image) failed: see $buildlog"
for m in virtio_pci virtio_blk ext4; do
	grep -q "/$m\.ko" <<<"$initrd_files" ||
		die "initrd.img-$kver has no $m.ko: the guest could not mount its root"
done
printf '%s\n' "$kver" >"$tmp/kver"

for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
	umount "${mounted[i]}"
done
mounted=()

rm -rf --one-file-system "$entry"
mv "$tmp" "$entry"
tmp=
rm -f "$cache/BUILD-failed-$key.log"
touch "$entry/.mq-used"
log "built $entry ($suite$( ((updates)) && echo " + updates + security"), kernel $kver, $(du -sh --one-file-system "$entry/rootfs" | cut -f1)) in $((SECONDS - t0)) s (debootstrap $((t1 - t0)) s, configuration $((SECONDS - t1)) s)"

# Forget entries nobody used for 30 days (other keys).
find "$cache" -mindepth 2 -maxdepth 2 -name .mq-used -mtime +30 -printf '%h\n' 2>/dev/null |
	while read -r old; do
		[[ $old != "$entry" ]] || continue
		log "removing unused $old"
		rm -rf --one-file-system "$old"
	done

printf '%s\n' "$entry"
