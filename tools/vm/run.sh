#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tools/vm/run.sh check|debug|shell|demo|bench [ARGS...]
#
# Boots Debian's kernel in QEMU (TCG) with an initramfs holding mq.ko, the
# tools and the tests (all built by `make` into build/), and runs:
#   check  /mq/tests/run.sh ARGS: TAP live on stdout; the last line of
#          stdout is "N passed, N failed"
#   debug  /mq/tests/debug.sh ARGS: the suite, fuzzing and kmemleak, for
#          the debug kernel (tools/vm/check-debug.sh sets it up); output
#          as for check
#   shell  an interactive shell (exit it to end the VM; ^A x kills QEMU).
#          Non-interactive stdin is fed to the shell once it is ready.
#   demo   /mq/demo.sh ARGS
#   bench  mqbench --json /tmp/bench.json --store /dev/vda1 --disk /dev/vda2
#          --redis-dir /mnt/bench ARGS on a fresh partitioned disk image
#          (see bench_disk below); the JSON lands in build/bench.json.
#          Installs its packages first (deps.sh bench: redis, sfdisk).
# Exit status 0 only if the guest reported success with this run's token,
# with no kernel error (panic, oops, WARN, lockdep, ...) on the console and
# within the time limit.
#
# Environment: VM_TIMEOUT (seconds, 0 = none; default check 900, debug
# 1800, bench 900, demo 300, shell none), VM_DISK (an image for /dev/vda;
# default a fresh sparse build/vm/MODE/disk.img of VM_DISK_SIZE=1G, for
# bench 3G and partitioned; "none": no disk; bench with a VM_DISK of your
# own gets no durable-table arguments: pass them as ARGS), and those of
# tools/vm/lib.sh (KVER, VM_MEM, VM_SMP, VM_APPEND, MQ_KO, TESTS_RUNNER,
# MQ_ALLOW_NO_MODULE, ...).
# Console log: build/vm-MODE.log.

set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
	sed -n '4,/^$/{/^$/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
	exit 2
}

[[ $# -ge 1 ]] || usage
mode=$1
shift
case $mode in
check | bench) timeout=900 ;;
debug) timeout=1800 ;;
demo) timeout=300 ;;
shell) timeout=0 ;;
-h | --help) usage ;;
*) usage ;;
esac
timeout=${VM_TIMEOUT:-$timeout}
[[ $timeout =~ ^[0-9]+$ ]] || vm_die "VM_TIMEOUT must be a number of seconds"

trap vm_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [[ $mode == check || $mode == debug ]]; then
	# Cut short (build error, crash, timeout, ^C): the summary is still the
	# last line.
	trap 'vm_cleanup; echo "0 passed, 1 failed"' EXIT
fi

# bench_disk IMG: the benchmark's disk, one virtio disk partitioned so that
# every durable mechanism works on the same device (same QEMU backend, same
# host file and cache mode) and the measured runs can alternate between
# them within a cell:
#   vda1  1 GiB    the mq store (mqbench formats and attaches it)
#   vda2  512 MiB  raw-disk's scratch area (O_DIRECT writes, flushes)
#   vda3  the rest ext4 (made here, fully initialised so no lazy init
#                  runs during the benchmark), mounted by the guest's /init
#                  on /mnt/bench: redis-aof's dir
#   vda4  32 MiB   a small store for mqbench --cleaner
# The image is sparse and made afresh for every run.
bench_disk() {
	local img=$1 bytes sectors p3=3147776 p4size=65536 p3size
	PATH=$PATH:/usr/sbin:/sbin
	rm -f "$img"
	truncate -s "${VM_DISK_SIZE:-3G}" "$img"
	bytes=$(stat -c %s "$img")
	sectors=$((bytes / 512))
	p3size=$((sectors - p3 - p4size))
	((p3size >= 1048576)) || vm_die "VM_DISK_SIZE=${VM_DISK_SIZE:-3G}: the bench disk needs at least 2 GiB"
	sfdisk --quiet "$img" <<-EOF || vm_die "sfdisk $img failed"
		label: dos
		start=2048, size=2097152, type=83
		start=2099200, size=1048576, type=83
		start=$p3, size=$p3size, type=83
		start=$((p3 + p3size)), size=$p4size, type=83
	EOF
	mke2fs -q -F -t ext4 -b 4096 -m 0 -L mqbench \
		-E "offset=$((p3 * 512)),lazy_itable_init=0,lazy_journal_init=0" \
		"$img" "$((p3size / 8))" || vm_die "mke2fs on $img failed"
}

if [[ $mode == bench ]]; then
	# redis-server and redis-benchmark go into the VM; sfdisk and mke2fs
	# make its disk.
	"$VM_TOP/tools/vm/deps.sh" bench
	VM_EXTRA_BINS+=" redis-server redis-benchmark redis-cli"
	VM_EXTRA_MODULES+=" ext4"
fi

vm_lock
vm_build_initramfs

disk=${VM_DISK:-}
args=$*
if [[ -z $disk && $mode == bench ]]; then
	disk=$(vm_state_dir "$mode")/disk.img
	mkdir -p "${disk%/*}"
	bench_disk "$disk"
	args="--store /dev/vda1 --disk /dev/vda2 --redis-dir /mnt/bench --cleaner /dev/vda4 $args"
	VM_APPEND="mqvm.benchfs=/dev/vda3${VM_APPEND:+ $VM_APPEND}"
elif [[ -z $disk ]]; then
	disk=$(vm_state_dir "$mode")/disk.img
	mkdir -p "${disk%/*}"
	rm -f "$disk"
	truncate -s "${VM_DISK_SIZE:-1G}" "$disk"
elif [[ $disk == none ]]; then
	disk=
fi

t0=$SECONDS
VM_CONSOLE=stdio VM_ARGS="$args" vm_start "$mode" "$mode" "$disk"
qrc=0
vm_wait "$mode" "$timeout" || qrc=$?
echo
vm_log "$mode: VM ran $((SECONDS - t0)) s (QEMU exit status $qrc); console log $(vm_console_log "$mode")"

ok=1
if [[ $mode == shell ]]; then
	# Only kernel errors and a timeout fail a shell session (its exit status
	# is the user's business; `reboot -f` skips /init's result line).
	vm_scan_console "$mode" || ok=0
	if [[ -n ${VM_TIMED_OUT[$mode]:-} ]]; then
		vm_log "$mode: FAIL: timeout"
		ok=0
	elif [[ -z $(vm_guest_rc "$mode") ]]; then
		vm_log "$mode: note: the VM ended without /init's result (reboot -f or a crash)"
	fi
else
	vm_check "$mode" || ok=0
fi

case $mode in
bench)
	if [[ -n ${VM_BENCH_BASE:-} ]]; then
		if vm_fetch "$mode" bench-base.json "$VM_B/bench-base.json"; then
			vm_log "bench: the baseline's results in $VM_B/bench-base.json"
		else
			vm_log "bench: FAIL: no bench-base.json came back from the guest"
			ok=0
		fi
	fi
	if vm_fetch "$mode" bench.json "$VM_B/bench.json"; then
		vm_log "bench: results in $VM_B/bench.json"
	elif ((ok)); then
		vm_log "bench: FAIL: no bench.json came back from the guest"
		ok=0
	fi
	;;
check | debug)
	trap vm_cleanup EXIT
	summary=$(tr -d '\r' <"$(vm_console_log "$mode")" | grep -aE '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1 || true)
	if ((ok)); then
		if [[ -z $summary ]]; then
			vm_log "$mode: FAIL: the test runner printed no 'N passed, N failed' line"
			summary="0 passed, 1 failed"
			ok=0
		fi
	else
		if [[ $summary =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
			# The runner finished but the VM did not end cleanly (e.g. a
			# WARN at rmmod, or a test failed): count it as one more failure
			# unless the runner already reported failures.
			f=${BASH_REMATCH[2]}
			((f > 0)) || f=1
			summary="${BASH_REMATCH[1]} passed, $f failed"
		else
			summary="0 passed, 1 failed"
		fi
	fi
	echo "$summary"
	;;
esac

((ok)) && exit 0
exit 1
