#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The crash loop: a VM loads a sync durable queue (2 writers, a slower
# reader: tests/crashload.c) and is killed (SIGKILL to QEMU: a power cut,
# no flush of anything) at a random moment; it boots again on the same
# disk image, attaches the store, drains the queue and loads it again.
# After the last kill a final boot drains what is left. Then every message
# whose write(2) returned (ACK) must have been read (GOT) at least once,
# a message read twice must have come back flagged redelivered, and no
# message may ever be corrupt (BAD).
#
# usage: tools/vm/crash-loop.sh [ROUNDS]   (default 20; env CRASH_SEED)
# Ends with one line "N passed, N failed".

set -uo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rounds=${1:-20}
seed=${CRASH_SEED:-$RANDOM}
RANDOM=$seed
dir=$VM_B/crash
disk=$dir/disk.img
events=$dir/events.log
id=crash

trap vm_cleanup EXIT
trap 'exit 130' INT
vm_lock
vm_build_initramfs
rm -rf "$dir"
mkdir -p "$dir"
# Small, with 1 MiB segments (crashload init): the log comes round many
# times, so the cleaner moves queue "stuck"'s one message under the cuts.
truncate -s 48M "$disk"
: >"$events"

fail() {
	echo "crash-loop: FAIL: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

# boot N ARGS...: one boot running "crashload ARGS"; its console, kept.
boot() {
	local n=$1
	shift
	VM_ARGS="exec ./crashload $*" vm_start "$id" check "$disk"
}

keep_log() {
	local n=$1 log
	log=$(vm_console_log "$id")
	tr -d '\r' <"$log" >"$dir/boot-$n.log"
	# A power cut can cut the last line short ("ACK 1" of "ACK 1600139"):
	# only whole lines are events.
	if [[ -n $(tail -c 1 "$dir/boot-$n.log") ]]; then
		head -n -1 "$dir/boot-$n.log"
	else
		cat "$dir/boot-$n.log"
	fi | grep -E '^(HEAD|ACK|GOT|BAD|NAK|DRAINED|READY|LOADING|STUCK)( |$)' |
		sed "s/^/$n /" >>"$events"
	if ! vm_scan_console "$id"; then
		fail "boot $n: kernel error on the console ($dir/boot-$n.log)"
	fi
}

echo "crash-loop: $rounds rounds, seed $seed, disk $disk"
boot 0 init /dev/vda
vm_wait "$id" 120 || fail "boot 0 (format) did not finish"
keep_log 0
grep -q '^0 READY' "$events" || fail "format and create failed: $dir/boot-0.log"

for ((i = 1; i <= rounds; i++)); do
	boot "$i" run /dev/vda $((i * 1000000))
	# Wait for the load to start, then kill at a random moment within 1-5 s.
	log=$(vm_console_log "$id")
	# (grep the file itself: "tr | grep -q" fails under pipefail when
	# grep quits early and tr gets SIGPIPE, which made a started load
	# look as if it never started.)
	for ((w = 0; w < 600; w++)); do
		[[ -f $log ]] && grep -q '^LOADING' "$log" && break
		kill -0 "${VM_PID[$id]}" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^LOADING' "$log" 2>/dev/null ||
		{ keep_log "$i"; fail "round $i: the load never started ($dir/boot-$i.log)"; }
	delay=$((1000 + RANDOM % 4000))
	sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
	vm_kill "$id" KILL
	keep_log "$i"
	acks=$(grep -c "^$i ACK " "$events")
	gots=$(grep -c "^$i GOT " "$events")
	drained=$(grep "^$i DRAINED " "$events" | awk '{print $3}')
	echo "crash-loop: round $i: killed after ${delay} ms of load; drained ${drained:-?} at boot, then $acks acked, $gots read"
done

boot final drain /dev/vda
vm_wait "$id" 300 || fail "the final drain did not finish"
keep_log final
grep -q '^final DRAINED ' "$events" || fail "the final drain failed: $dir/boot-final.log"
grep -q '^final STUCK ok' "$events" ||
	fail "the stuck queue's message did not come back intact: $dir/boot-final.log"

# The verdict, from every boot's events. A power cut may fall between a
# read returning and its GOT line reaching the console: that message was
# delivered (and its position may be on disk) but never recorded. Such a
# read shows as a gap between the last offset read in a round and the
# HEAD after the next boot; the reader waits for each GOT line to leave
# the VM before it reads again, so there is at most one per round, and
# only these may account for an acknowledged message never seen.
awk '
	{ r = $1 == "final" ? 1e9 : $1 + 0 }
	$2 == "ACK" { acked[$3] = 1; nacked++ }
	$2 == "HEAD" { head[r] = $3 + 0; rounds[r] = 1 }
	$2 == "GOT" {
		if (($3 in got) && !($4 % 2)) { dup_unflagged++; if (du++ < 5) print "crash-loop: read twice, second time not flagged redelivered: " $3 > "/dev/stderr" }
		if ($3 in got) dups++
		got[$3]++; ngot++
		if (!(r in last) || $5 + 0 > last[r]) last[r] = $5 + 0
	}
	$2 == "BAD" { bad++; print "crash-loop: " $0 > "/dev/stderr" }
	END {
		n = 0
		for (r in rounds) if (r + 0 < 1e9 && r + 0 > n) n = r + 0
		for (i = 1; i <= n; i++) {
			a = i; b = i < n ? i + 1 : 1e9
			if (!(a in head) || !(b in head)) continue
			l = (a in last) ? last[a] : head[a] - 1
			gap = head[b] - l - 1
			if (gap > 1) { badgap++; print "crash-loop: round " a ": " gap " messages consumed unseen (at most 1)" > "/dev/stderr" }
			if (gap > 0) unseen += gap
		}
		for (s in acked) if (!(s in got)) { lost++; if (l2++ < 10) print "crash-loop: acked but never read: " s > "/dev/stderr" }
		printf "crash-loop: %d acked, %d reads, %d acked never read (%d reads cut off by a power cut before they were recorded), %d corrupt, %d read twice (%d of them unflagged)\n", nacked, ngot, lost, unseen, bad, dups, dup_unflagged
		exit (lost > unseen || badgap || bad || dup_unflagged || !nacked) ? 1 : 0
	}' "$events"
rc=$?
if ((rc == 0)); then
	echo "ok - crash loop: $rounds power cuts under sync load, nothing acked lost"
	echo "1 passed, 0 failed"
else
	echo "not ok - crash loop (seed $seed; events in $events)"
	echo "0 passed, 1 failed"
fi
exit "$rc"
