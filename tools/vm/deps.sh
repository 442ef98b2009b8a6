#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tools/vm/deps.sh [build|all|debug|bench|install]
#
# Checks that the Debian 12 packages needed to build (build), to build and
# run the QEMU tests (all, the default), or for these and the debug lane
# (debug: building a kernel from linux-source-6.1, trinity, stress-ng) or
# the benchmark (bench: redis-server and redis-benchmark, copied into the
# VM, and sfdisk and mke2fs for its disk image; tools/vm/run.sh bench asks
# for them) or for the packages and their test (install: dpkg-dev and
# lintian for make deb, debootstrap, mke2fs and QEMU for make
# check-install) are installed. Quiet no-op when they are. Otherwise, as root:
# apt-get update and install them; as another user: print what is missing
# and the command to install it, and exit 1.
#
# The VM boots the kernel whose headers the module is built against
# (tools/vm/kver.sh, as in the Makefile), so for `all`
# the matching linux-image-KVER must be installed too (the metapackages
# linux-headers-amd64 and linux-image-amd64 can point at different versions
# on a machine that was not upgraded).

set -euo pipefail

what=${1:-all}

build_pkgs=(build-essential gcc make pkg-config libnl-3-dev libnl-genl-3-dev
	linux-headers-amd64 linux-source-6.1 sparse kmod xz-utils)
run_pkgs=(linux-image-amd64 qemu-system-x86 busybox-static cpio gzip xz-utils
	kmod iproute2 util-linux libc-bin coreutils dash dmsetup)
debug_pkgs=(bc bison flex libelf-dev libssl-dev trinity stress-ng)
bench_pkgs=(redis-server redis-tools fdisk e2fsprogs)
install_pkgs=(dpkg-dev lintian file binutils debootstrap e2fsprogs qemu-system-x86)

case $what in
build) pkgs=("${build_pkgs[@]}") ;;
all) pkgs=("${build_pkgs[@]}" "${run_pkgs[@]}") ;;
debug) pkgs=("${build_pkgs[@]}" "${run_pkgs[@]}" "${debug_pkgs[@]}") ;;
bench) pkgs=("${build_pkgs[@]}" "${run_pkgs[@]}" "${bench_pkgs[@]}") ;;
install) pkgs=("${build_pkgs[@]}" "${install_pkgs[@]}") ;;
*)
	echo "usage: $0 [build|all|debug|bench|install]" >&2
	exit 2
	;;
esac

command -v dpkg-query >/dev/null || {
	echo "deps.sh: dpkg-query not found: this needs Debian 12 (bookworm)" >&2
	exit 1
}

# missing PKG...: those not installed.
missing() {
	local p
	for p in "$@"; do
		if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) != installed ]]; then
			printf '%s\n' "$p"
		fi
	done | sort -u
}

# kver: the kernel the module is built for and the VM boots.
kver() { "$(dirname "${BASH_SOURCE[0]}")/kver.sh"; }

# image_missing: linux-image-KVER when its kernel or modules are absent.
image_missing() {
	local k
	k=$(kver)
	if [[ $what != build && $what != install && -n $k && (! -e /boot/vmlinuz-$k || ! -e /lib/modules/$k/modules.dep) ]]; then
		printf 'linux-image-%s\n' "$k"
	fi
}

mapfile -t miss < <(missing "${pkgs[@]}"; image_missing)
((${#miss[@]} > 0)) || exit 0

if ((EUID != 0)); then
	echo "deps.sh: missing Debian packages: ${miss[*]}" >&2
	echo "deps.sh: install them with:" >&2
	echo "  sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${miss[*]}" >&2
	exit 1
fi

echo "deps.sh: installing ${miss[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${miss[@]}"

# Installing linux-headers-amd64 may have brought newer headers than the
# installed image: add the matching image.
mapfile -t miss < <(image_missing)
if ((${#miss[@]} > 0)); then
	apt-get install -y --no-install-recommends "${miss[@]}"
fi

mapfile -t miss < <(missing "${pkgs[@]}"; image_missing)
if ((${#miss[@]} > 0)); then
	echo "deps.sh: still missing after apt-get install: ${miss[*]}" >&2
	exit 1
fi
