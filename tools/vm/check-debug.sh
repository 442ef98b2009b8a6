#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tools/vm/check-debug.sh [NAME...] [fuzz=SECONDS]
#
# `make check-debug`, the debug lane: the debug kernel from Debian's
# linux-source-6.1 (KASAN, lockdep, kmemleak, UBSAN, fault injection:
# tests/debug.config; built once per machine by tools/vm/debug-kernel.sh),
# mq.ko built against it into build/debug/ (build/mq.ko is left alone),
# then the VM (tools/vm/run.sh debug): the whole suite, trinity, mqfuzz and
# stress-ng as root and as uid 1000, a sanity test, and kmemleak with the
# module loaded and unloaded (tests/debug.sh). NAMEs and fuzz= go to
# tests/debug.sh. Fails on any test failure, any leak of mq's, and any
# kernel report on the console. The last line is "N passed, N failed";
# the log is build/check-debug.log, the console build/vm-debug.log.
#
# Environment: VM_MEM (default 2048), VM_TIMEOUT (default 1800) and the
# rest of tools/vm/lib.sh's; MQ_DEBUG_CACHE (tools/vm/debug-kernel.sh).

set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
top=$PWD
D=$top/build/debug
lane_t0=$SECONDS

fail() {
	echo "check-debug: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

mkdir -p "$D"

# ---- the kernel (cached) ----
kout=$(tools/vm/debug-kernel.sh 2>"$D/kernel.log") || {
	cat "$D/kernel.log" >&2
	fail "the debug kernel did not build"
}
cat "$D/kernel.log" >&2
eval "$kout"
t_kernel=$((SECONDS - lane_t0))
kernel_how="built in $t_kernel s"
grep -q '^debug-kernel: cached' "$D/kernel.log" && kernel_how=cached

# ---- mq.ko against it, from a copy of the sources (kmod/ keeps the
# objects of the normal build) ----
t1=$SECONDS
rm -rf "$D/mod"
mkdir -p "$D/mod/kmod" "$D/mod/uapi/linux"
cp Kbuild "$D/mod/"
cp kmod/Kbuild kmod/*.[ch] "$D/mod/kmod/"
cp uapi/linux/*.h "$D/mod/uapi/linux/"
if ! make -C "$MQ_DEBUG_TREE" M="$D/mod" W=1 modules >"$D/module.log" 2>&1; then
	cat "$D/module.log" >&2
	fail "mq.ko did not build against $MQ_DEBUG_TREE"
fi
grep -E 'warning|error' "$D/module.log" >&2 || true
cp "$D/mod/kmod/mq.ko" "$D/mq.ko"
echo "check-debug: kernel $MQ_DEBUG_KVER ($MQ_DEBUG_TREE, $kernel_how); mq.ko in $((SECONDS - t1)) s" >&2

# ---- the VM ----
export KVER=$MQ_DEBUG_KVER VM_KERNEL=$MQ_DEBUG_BZIMAGE VM_MODDIR=$MQ_DEBUG_TREE
export MQ_KO=$D/mq.ko
# KASAN's shadow and kmemleak's metadata need room.
export VM_MEM=${VM_MEM:-2048}
export VM_EXTRA_BINS="${VM_EXTRA_BINS:-setpriv} trinity stress-ng"
# Lockdep's, kmemleak's, KASAN's and SLUB's own words, besides the default
# list (not every report goes through WARN(), which panics anyway).
# shellcheck source=tools/vm/lib.sh
VM_FAIL_RE=$(. tools/vm/lib.sh && printf '%s' "$VM_FAIL_RE")
VM_FAIL_RE+='|inconsistent lock state|bad unlock balance|suspicious RCU usage'
VM_FAIL_RE+='|lock held when returning|lockdep is turned off|ODEBUG:'
# (not "Cannot allocate a scan area": it then scans the whole object)
VM_FAIL_RE+='|kmemleak: .*(disabled|Cannot allocate a kmemleak|failed)|Bad page (state|map)'
VM_FAIL_RE+='|nonexistent vm area|Poison overwritten|Redzone overwritten'
VM_FAIL_RE+='|Object already free|Freepointer corrupt|refcount_t: |INFO: task .* blocked'
export VM_FAIL_RE
# An injected allocation failure may print a warning with a stack dump:
# expected, not a report.
export VM_BENIGN_RE=${VM_BENIGN_RE:-'page allocation failure|vmalloc error:'}

# The store tests fill the store on the scratch disk: keep it small.
export VM_DISK_SIZE=${VM_DISK_SIZE:-160M}

t2=$SECONDS
tools/vm/run.sh debug "$@" 2>&1 | tee build/check-debug.log
rc=${PIPESTATUS[0]}
t_vm=$((SECONDS - t2))

summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' build/check-debug.log | tail -n 1)
echo "# ==== debug lane"
echo "# kernel $MQ_DEBUG_KVER $kernel_how; VM $t_vm s; all $((SECONDS - lane_t0)) s"
tr -d '\r' <build/check-debug.log | grep -aE \
	-e '^# (store, )?([0-9]+%, [0-9]+ rounds|fail-nth): ' \
	-e '^# (fuzz|mqfuzz|suite|kmemleak)|^(not )?ok - (fuzz|kmemleak)' \
	-e '^# trinity: .*Ran [0-9]+ syscalls' -e '^# stress-ng: .*metrc: .*[0-9]+ +[0-9.]+ '
echo "${summary:-0 passed, 1 failed}"
exit "$rc"
