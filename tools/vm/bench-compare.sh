#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# usage: tools/vm/bench-compare.sh BASE.json NEW.json [BASE-NAME]
#
# Sets two mqbench --json results of the same VM run side by side (make
# bench BASE=REV writes build/bench-base.json and build/bench.json): for
# every cell both measured, messages/s of each and new/base; and for
# devmq, its ratio to POSIX mqueue in each run, the figure that does not
# depend on how fast the emulation ran at that moment.

set -euo pipefail
[[ $# -ge 2 ]] || { echo "usage: $0 BASE.json NEW.json [BASE-NAME]" >&2; exit 2; }
base=$1 new=$2 name=${3:-base}

rows() { # FILE: "mech size PxC rate" per measured row
	sed -nE 's/.*"mechanism": "([^"]+)", "msg_bytes": ([0-9]+), "producers": ([0-9]+), "consumers": ([0-9]+), "msgs_per_sec": ([0-9.]+).*/\1 \2 \3x\4 \5/p' "$1"
}

awk -v name="$name" '
	FNR == 1 { f++ }
	{ k = $1 " " $2 " " $3; v[f, k] = $4; if (f == 1) order[++n] = k }
	END {
		printf "%-28s %8s %5s %14s %14s %8s\n", "mechanism", "bytes", "PxC", name, "this tree", "ratio"
		for (i = 1; i <= n; i++) {
			k = order[i]
			if (!((2, k) in v)) continue
			split(k, p, " ")
			printf "%-28s %8s %5s %14.0f %14.0f %7.2fx\n", p[1], p[2], p[3], v[1, k], v[2, k], v[2, k] / v[1, k]
		}
		printf "\ndevmq against posix-mq, in each run:\n"
		printf "%8s %5s %14s %14s\n", "bytes", "PxC", name, "this tree"
		for (i = 1; i <= n; i++) {
			k = order[i]
			split(k, p, " ")
			if (p[1] != "devmq") continue
			pk = "posix-mq " p[2] " " p[3]
			if (!((1, pk) in v) || !((2, pk) in v) || !((2, k) in v)) continue
			printf "%8s %5s %13.2fx %13.2fx\n", p[2], p[3], v[1, k] / v[1, pk], v[2, k] / v[2, pk]
		}
	}' <(rows "$base") <(rows "$new")
