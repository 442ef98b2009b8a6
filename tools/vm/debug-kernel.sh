#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tools/vm/debug-kernel.sh
#
# Builds the debug lane's kernel (KASAN, lockdep, kmemleak, UBSAN, fault
# injection: tests/debug.config) from Debian's linux-source-6.1, once per
# machine, and prints where it is as shell assignments on stdout:
#
#   MQ_DEBUG_TREE=...     the built tree: make -C "$MQ_DEBUG_TREE" M=... modules
#   MQ_DEBUG_BZIMAGE=...  the kernel QEMU boots (-kernel)
#   MQ_DEBUG_VMLINUX=...  its ELF image, with symbols
#   MQ_DEBUG_KVER=...     its release (vermagic of modules built against it)
#
# The fragment is applied to x86_64 allnoconfig with the kernel's own
# scripts/kconfig/merge_config.sh, then olddefconfig; every value the
# fragment asks for must be in the final .config, or the build stops.
#
# Cache: MQ_DEBUG_CACHE, default /var/cache/mq-debug-kernel as root, else
# ${XDG_CACHE_HOME:-~/.cache}/mq-debug-kernel. One directory per key: the
# sha256 of the fragment, the linux-source-6.1 package version and the
# compiler version. A directory is complete once it holds .mq-built; an
# unfinished one is removed and built again. Entries unused for 30 days
# are removed. Progress goes to stderr, the build log to BUILD.log in the
# entry.

set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fragment=${MQ_DEBUG_CONFIG:-$top/tests/debug.config}
tarball=${KSRC_TAR:-/usr/src/linux-source-6.1.tar.xz}
jobs=${MQ_DEBUG_JOBS:-$(nproc)}

log() { printf 'debug-kernel: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ -r $fragment ]] || die "$fragment missing"
[[ -r $tarball ]] || die "$tarball missing: apt-get install linux-source-6.1 (tools/vm/deps.sh debug)"
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
	die "linux-source-6.1 is not installed (dpkg-query)"
ccver=$(${CC:-gcc} --version | head -n 1)
for t in make gcc bc bison flex xz; do
	command -v "$t" >/dev/null || die "$t missing: run tools/vm/deps.sh debug"
done

if [[ -n ${MQ_DEBUG_CACHE:-} ]]; then
	cache=$MQ_DEBUG_CACHE
elif ((EUID == 0)); then
	cache=/var/cache/mq-debug-kernel
else
	cache=${XDG_CACHE_HOME:-$HOME/.cache}/mq-debug-kernel
fi
key=$( {
	cat "$fragment"
	printf 'linux-source-6.1 %s\n%s\nrecipe 1\n' "$srcver" "$ccver"
} | sha256sum | cut -c1-16)
entry=$cache/$srcver-$key
tree=$entry/linux-source-6.1
mkdir -p "$cache"

# One builder per entry; others wait for it.
exec {lockfd}>"$cache/.lock-$key"
if ! flock -n "$lockfd"; then
	log "waiting for another build of $entry ..."
	flock "$lockfd"
fi

print() {
	touch "$entry/.mq-used"
	printf 'MQ_DEBUG_TREE=%q\nMQ_DEBUG_BZIMAGE=%q\nMQ_DEBUG_VMLINUX=%q\nMQ_DEBUG_KVER=%q\n' \
		"$tree" "$tree/arch/x86/boot/bzImage" "$tree/vmlinux" "$(cat "$entry/.mq-built")"
}

if [[ -s $entry/.mq-built && -f $tree/arch/x86/boot/bzImage && -f $tree/Module.symvers ]]; then
	log "cached: $entry"
	print
	exit 0
fi

t0=$SECONDS
log "building the debug kernel in $entry (linux-source-6.1 $srcver, $jobs jobs; log $entry/BUILD.log)"
rm -rf "$entry"
mkdir -p "$entry"
buildlog=$entry/BUILD.log
: >"$buildlog"

run() { # run CMD...: into the build log; on failure show its end
	if ! "$@" >>"$buildlog" 2>&1; then
		tail -n 40 "$buildlog" | sed 's/^/debug-kernel:   | /' >&2
		die "failed: $* (whole log: $buildlog)"
	fi
}

log "extracting $tarball"
run tar -xJf "$tarball" -C "$entry"
[[ -f $tree/Makefile ]] || die "$tarball did not hold linux-source-6.1/"
t1=$SECONDS

cd "$tree"
kmake=(make ARCH=x86_64 "-j$jobs")
run "${kmake[@]}" allnoconfig
run scripts/kconfig/merge_config.sh -m .config "$fragment"
run "${kmake[@]}" olddefconfig

# Every value asked for must have stuck (a missing dependency drops it).
bad=()
while IFS= read -r line; do
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		grep -qxF -- "$line" .config || bad+=("$line (got: $(grep -E "^(# )?${BASH_REMATCH[1]}[= ]" .config || echo unset))")
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		! grep -q "^${BASH_REMATCH[1]}=" .config || bad+=("$line (got: $(grep "^${BASH_REMATCH[1]}=" .config))")
	fi
done <"$fragment"
if ((${#bad[@]} > 0)); then
	log "these values of $fragment did not survive into .config:"
	printf 'debug-kernel:   %s\n' "${bad[@]}" >&2
	grep -E 'Value requested|redefined|not in final' "$buildlog" | sed 's/^/debug-kernel:   | /' >&2 || true
	die "fix the fragment (a dependency is missing or a value is out of range)"
fi

log "compiling (config ok: $(grep -c '=y' .config) options =y)"
# bzImage, not vmlinux through PVH as the normal lane boots Debian's
# kernel: 6.1's PVH entry code runs KASAN-instrumented before KASAN is set
# up, and faults.
run "${kmake[@]}" bzImage modules
run "${kmake[@]}" modules_prepare
kver=$("${kmake[@]}" -s kernelrelease)
[[ -f arch/x86/boot/bzImage && -f Module.symvers ]] || die "no bzImage or Module.symvers after the build"
printf '%s\n' "$kver" >"$entry/.mq-built"
log "built $kver in $((SECONDS - t0)) s (extract $((t1 - t0)) s, config + compile $((SECONDS - t1)) s)"

# Forget entries nobody used for 30 days (other fragments, old sources).
find "$cache" -mindepth 2 -maxdepth 2 -name .mq-used -mtime +30 -printf '%h\n' 2>/dev/null |
	while read -r old; do
		[[ $old != "$entry" ]] || continue
		log "removing unused $old"
		rm -rf "$old"
	done

print
