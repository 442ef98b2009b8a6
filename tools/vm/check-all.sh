#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: the host-side tests of mqctl (parsers, printer, command line
# against a netlink stand-in), then the whole suite in the VM against the
# real module, then the crash loop (tools/vm/crash-loop.sh). Ends with one line "N passed, N failed" over both; exit
# status 0 only if both passed.

set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

summary() { # the counts from a log's last "N passed, N failed" line
	grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 |
		sed -E 's/^([0-9]+) passed, ([0-9]+) failed.*/\1 \2/'
}

# The store tests fill the store on the VM's scratch disk: keep it small.
export VM_DISK_SIZE=${VM_DISK_SIZE:-160M}

mkdir -p build
echo "# ==== host: mqctl"
tools/mqctl/tests/run.sh 2>&1 | tee build/check-host.log
host_rc=${PIPESTATUS[0]}
echo "# ==== VM: mq.ko"
tools/vm/run.sh check "$@" 2>&1 | tee build/check-vm.log
vm_rc=${PIPESTATUS[0]}

# The store's VM scenarios, each in a VM of its own:
#   crash    power cuts under sync load (tools/vm/crash-loop.sh)
#   backlog  a 2 GiB backlog in a VM with 512 MiB of RAM
#   dm       I/O errors (dm-flakey) and a replay of the store's writes to
#            every flush and FUA point (dm-log-writes)
#   lifecycle  the registry and the store's life cycle under races widened
#            with dm-delay, dm-flakey and a suspended device
part() { # part NAME CMD...: run one, log build/check-NAME.log
	local name=$1
	shift
	echo "# ==== VM: $name"
	"$@" 2>&1 | tee "build/check-$name.log"
	rcs[$name]=${PIPESTATUS[0]}
}
declare -A rcs=([host]=$host_rc [vm]=$vm_rc)
part crash tools/vm/crash-loop.sh "${CRASH_ROUNDS:-20}"
part backlog env VM_MEM=512 VM_DISK_SIZE=2600M \
	tools/vm/run.sh check exec ./backlog /dev/vda 2048
part dm env VM_DISK_SIZE=512M tools/vm/run.sh check exec ./dmtest /dev/vda
part lifecycle env VM_DISK_SIZE=512M tools/vm/run.sh check exec ./lifecycle /dev/vda

tp=0 tf=0 line=
for name in host vm crash backlog dm lifecycle; do
	read -r p f <<<"$(summary "build/check-$name.log")"
	p=${p:-0} f=${f:-1}
	((rcs[$name] == 0 || f > 0)) || f=1
	line+="$name $p passed, $f failed; "
	tp=$((tp + p)) tf=$((tf + f))
done
echo "# ${line%; }"
echo "$tp passed, $tf failed"
((tf == 0))
