#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tools/vm/run.sh check|shell|demo|bench [ARGS...]
#
# Boots Debian's kernel in QEMU (TCG) with an initramfs holding mq.ko, the
# tools and the tests (all built by `make` into build/), and runs:
#   check  /mq/tests/run.sh ARGS: TAP live on stdout; the last line of
#          stdout is "N passed, N failed"
#   shell  an interactive shell (exit it to end the VM; ^A x kills QEMU).
#          Non-interactive stdin is fed to the shell once it is ready.
#   demo   /mq/demo.sh ARGS
#   bench  mqbench --json /tmp/bench.json ARGS; the JSON lands in
#          build/bench.json
# Exit status 0 only if the guest reported success with this run's token,
# with no kernel error (panic, oops, WARN, lockdep, ...) on the console and
# within the time limit.
#
# Environment: VM_TIMEOUT (seconds, 0 = none; default check 900, bench
# 900, demo 300, shell none), VM_DISK (an image for /dev/vda; default a
# fresh sparse build/vm/MODE/disk.img of VM_DISK_SIZE=1G; "none": no
# disk), and those of tools/vm/lib.sh (KVER, VM_MEM, VM_SMP, VM_APPEND,
# MQ_KO, TESTS_RUNNER, MQ_ALLOW_NO_MODULE, ...).
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

if [[ $mode == check ]]; then
	# Cut short (build error, crash, timeout, ^C): the summary is still the
	# last line.
	trap 'vm_cleanup; echo "0 passed, 1 failed"' EXIT
fi

vm_lock
vm_build_initramfs

disk=${VM_DISK:-}
if [[ -z $disk ]]; then
	disk=$(vm_state_dir "$mode")/disk.img
	mkdir -p "${disk%/*}"
	rm -f "$disk"
	truncate -s "${VM_DISK_SIZE:-1G}" "$disk"
elif [[ $disk == none ]]; then
	disk=
fi

t0=$SECONDS
VM_CONSOLE=stdio VM_ARGS="$*" vm_start "$mode" "$mode" "$disk"
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
	if vm_fetch "$mode" bench.json "$VM_B/bench.json"; then
		vm_log "bench: results in $VM_B/bench.json"
	elif ((ok)); then
		vm_log "bench: FAIL: no bench.json came back from the guest"
		ok=0
	fi
	;;
check)
	trap vm_cleanup EXIT
	summary=$(tr -d '\r' <"$(vm_console_log "$mode")" | grep -aE '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1 || true)
	if ((ok)); then
		if [[ -z $summary ]]; then
			vm_log "check: FAIL: the test runner printed no 'N passed, N failed' line"
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
