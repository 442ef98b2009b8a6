#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# usage: tools/vm/kver.sh
#
# Prints the kernel mq.ko is built for (the Makefile's KVER) and the VM
# boots (tools/vm/lib.sh): the running kernel when its Debian headers are
# installed (make install on a host after a kernel upgrade it has not
# booted yet), else the newest installed -amd64 headers. Prints nothing
# when there are none.
r=$(uname -r)
if [ -d "/usr/src/linux-headers-$r" ]; then
	echo "$r"
	exit 0
fi
find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' -printf '%f\n' 2>/dev/null |
	sed 's/^linux-headers-//' | sort -V | tail -n 1
