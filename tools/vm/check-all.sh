#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: the host-side tests of mqctl (parsers, printer, command line
# against a netlink stand-in), then the whole suite in the VM against the
# real module. Ends with one line "N passed, N failed" over both; exit
# status 0 only if both passed.

set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

summary() { # the counts from a log's last "N passed, N failed" line
	grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 |
		sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/'
}

mkdir -p build
echo "# ==== host: mqctl"
tools/mqctl/tests/run.sh 2>&1 | tee build/check-host.log
host_rc=${PIPESTATUS[0]}
echo "# ==== VM: mq.ko"
tools/vm/run.sh check "$@" 2>&1 | tee build/check-vm.log
vm_rc=${PIPESTATUS[0]}

read -r hp hf <<<"$(summary build/check-host.log)"
read -r vp vf <<<"$(summary build/check-vm.log)"
hp=${hp:-0} hf=${hf:-1} vp=${vp:-0} vf=${vf:-1}
((host_rc == 0 || hf > 0)) || hf=1
((vm_rc == 0 || vf > 0)) || vf=1
echo "# host $hp passed, $hf failed; VM $vp passed, $vf failed"
echo "$((hp + vp)) passed, $((hf + vf)) failed"
((host_rc == 0 && vm_rc == 0))
