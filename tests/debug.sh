#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The debug lane's in-guest runner (make check-debug; /init's mode debug).
# The kernel has KASAN, lockdep, kmemleak, UBSAN and fault injection; the
# host fails the run on any report on the console. In order:
#
#   suite  ./run.sh: the whole suite of make check (faults_test runs for
#          real here: failslab and fail_page_alloc are present)
#   fuzz   hostile callers for a bounded time, as root and then as uid
#          1000: trinity on the queues' nodes (its victim files), mqfuzz
#          beside it (random generic netlink messages to the family "mq",
#          random calls on /dev/mq/NAME), then stress-ng's dev (on a
#          queue), netlink-proc and netlink-task stressors; then a sanity
#          test of the queues
#   leaks  kmemleak: scan with mq.ko loaded, unload it, scan twice; any
#          unreferenced object with a frame in mq (shown as [mq] while
#          loaded, as a bare module address after) fails the run
#
# usage: debug.sh [NAME...] [fuzz=SECONDS]
#   NAME: suite names for run.sh (chrdev, netlink, ..., shell), or fuzz,
#   leaks; default: the whole suite, fuzz and leaks. fuzz=SECONDS is the
#   fuzzing time per user (default 90: trinity with mqfuzz 2/3 of it,
#   stress-ng 1/3; trinity as root spends its first 10 s counting down).
# Prints TAP and ends with "N passed, N failed" over everything.

cd "$(dirname "$0")" || exit 1
MQ_KO=${MQ_KO:-/mq/mq.ko}
KL=/sys/kernel/debug/kmemleak
pass=0
fail=0
fuzz_seconds=90

ok() { pass=$((pass + 1)); echo "ok - $*"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; }
now() { date +%s; }
mq_loaded() { [ -d /sys/module/mq ]; }

suite=
phases=
for a in "$@"; do
	case $a in
	fuzz=*) fuzz_seconds=${a#fuzz=} ;;
	fuzz | leaks) phases="$phases $a" ;;
	*) suite="$suite $a" ;;
	esac
done
if [ -z "$suite$phases" ]; then
	suite=all
	phases=" fuzz leaks"
fi

kmemleak_scan() {
	echo scan >"$KL" || return 1
}

# kmemleak_report FILE: print the objects of FILE (the kmemleak file) that
# have a frame in mq, then one line per other object; sets $mq_leaks.
kmemleak_report() {
	mq_leaks=$(awk '
		function flush() {
			if (rec == "") return
			if (mq) { printf "%s", rec; n++ }
			else if (++other <= 20) print "# kmemleak, no mq frame (ignored): " head " <-" frames > "/dev/stderr"
			rec = ""; mq = 0; frames = ""; nf = 0
		}
		/^unreferenced object/ {
			flush(); rec = $0 "\n"
			head = $0; sub(/^unreferenced object/, "object", head)
			next
		}
		rec != "" {
			rec = rec $0 "\n"
			if ($0 !~ /^ *\[</) next
			# "[<hashed address>] symbol+off/size [module]", or
			# "[<hashed address>] 0xADDRESS" once the code is gone.
			if ($0 ~ /\[mq\]$/) mq = 1
			if (match($0, /\] 0x[0-9a-f]+$/)) {
				a = substr($0, RSTART + 4)
				# the module area (nothing else is loaded here)
				if (length(a) == 16 && a >= "ffffffffa0000000" && a < "ffffffffff000000") mq = 1
			}
			if (++nf <= 4) { f = $0; sub(/^ *\[<[0-9a-f]+>\] /, "", f); frames = frames " " f }
		}
		END {
			flush()
			if (other > 20) print "# ... and " other - 20 " more" > "/dev/stderr"
			print n + 0 > "/tmp/kmemleak.count"
		}' "$1" 2>&1)
	printf '%s\n' "$mq_leaks" | grep -v '^$'
	mq_leaks=$(cat /tmp/kmemleak.count)
}

# kmemleak_check WHEN: wait out kmemleak's 5 s grace, scan twice (as its
# documentation advises: a stale copy of a pointer can hide a leak from one
# scan) and fail if anything of mq's is unreferenced.
kmemleak_check() {
	sleep 6
	kmemleak_scan
	sleep 1
	kmemleak_scan
	cat "$KL" >"/tmp/kmemleak.$1"
	kmemleak_report "/tmp/kmemleak.$1"
	if [ "$mq_leaks" -eq 0 ]; then
		ok "kmemleak: nothing of mq's unreferenced (module $1)"
	else
		notok "kmemleak: $mq_leaks objects of mq's unreferenced (module $1)"
	fi
}

# ---- suite ----

if [ -w "$KL" ]; then
	# Forget what boot left behind: only what the tests leak counts.
	t0=$(now)
	kmemleak_scan && echo clear >"$KL"
	echo "# kmemleak: baseline scan in $(($(now) - t0)) s"
else
	echo "# no $KL: leaks are not checked"
fi

if [ -n "$suite" ]; then
	[ "$suite" = all ] && suite=
	t0=$(now)
	# shellcheck disable=SC2086 # names are words
	./run.sh $suite 2>&1 | tee /tmp/suite.out
	echo "# suite: $(($(now) - t0)) s"
	sp=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' /tmp/suite.out | tail -n 1)
	sf=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' /tmp/suite.out | tail -n 1)
	if [ -z "$sp" ]; then
		notok "suite: run.sh printed no summary"
	else
		pass=$((pass + sp))
		fail=$((fail + sf))
	fi
fi

# ---- fuzz ----

# run_for SECONDS LOG CMD...: CMD in its own session (process group), for
# at most SECONDS; then the whole group gets SIGINT (trinity prints its
# totals), SIGTERM 10 s later, SIGKILL 3 s after that. Sets $took, $rc.
# (Background jobs of a script ignore SIGINT unless they catch it.)
run_for() {
	limit=$1 log=$2
	shift 2
	start=$(now)
	setsid "$@" </dev/null >"$log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null && [ $(($(now) - start)) -lt "$limit" ]; do
		sleep 1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -INT "-$pid" 2>/dev/null
		i=0
		while kill -0 "$pid" 2>/dev/null && [ $i -lt 10 ]; do
			sleep 1
			i=$((i + 1))
		done
		kill -TERM "-$pid" 2>/dev/null
		sleep 3
		kill -KILL "-$pid" 2>/dev/null
	fi
	wait "$pid"
	rc=$?
	took=$(($(now) - start))
}

queue_names() {
	mqctl -j queue list | tr '{' '\n' | sed -n 's/.*"name": *"\([^"]*\)".*/\1/p'
}

make_pool() {
	i=0
	while [ $i -lt 8 ]; do
		mqctl queue del "fz$i" 2>/dev/null
		case $i in
		0 | 1) mqctl queue add "fz$i" mode 0666 ;;
		2 | 3) mqctl queue add "fz$i" max-msg 4K capacity-msgs 8 mode 0666 ;;
		*) mqctl queue add "fz$i" max-msg 1K capacity-msgs 100 capacity-bytes 2K mode 0666 ;;
		esac || return 1
		j=0
		while [ $j -lt 4 ]; do
			echo "pool message $j" >"/dev/mq/fz$i" || return 1
			j=$((j + 1))
		done
		i=$((i + 1))
	done
}

# What a program can do with an open /dev/mq/NAME.
TRINITY_CALLS="read write readv writev pread64 pwrite64 preadv pwritev preadv2
pwritev2 ioctl poll ppoll select pselect6 epoll_ctl epoll_wait epoll_pwait
mmap lseek fcntl dup dup3 splice tee sendfile flock close"

# fuzz_as WHO SECONDS: trinity + mqfuzz, then stress-ng, as WHO (root|user)
fuzz_as() {
	who=$1 secs=$2
	tsecs=$((secs * 2 / 3))
	ssecs=$((secs - tsecs))
	wrap=
	topt=--dangerous
	if [ "$who" = user ]; then
		# util-linux's: busybox's setsid would pick its own applet
		wrap="/usr/bin/setpriv --reuid 1000 --regid 1000 --clear-groups"
		topt=
	fi
	make_pool || { notok "fuzz ($who): cannot make the queue pool"; return; }
	dir=/tmp/fuzz-$who
	mkdir -p "$dir" && chmod 0777 "$dir"
	cd "$dir" || return

	set --
	for c in $TRINITY_CALLS; do set -- "$@" -c "$c"; done
	seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	echo "# fuzz ($who): trinity (seed $seed) and mqfuzz for $tsecs s"
	# shellcheck disable=SC2086 # $wrap and $topt may be empty
	run_for $((tsecs + 20)) "$dir/mqfuzz.log" $wrap /mq/tests/mqfuzz -t "$tsecs" -p 2 &
	mf=$!
	# shellcheck disable=SC2086
	# The victim files are the queues' nodes. No sockets: trinity 2023.01
	# crashes making them here (and -P NETLINK gives up at the first
	# protocol this kernel lacks); mqfuzz covers the netlink family.
	run_for "$tsecs" "$dir/trinity.log" $wrap trinity $topt -l off -a 64 \
		-V /dev/mq -C 2 -s "$seed" \
		--disable-fds=sockets,perf,drm,testfile,inotify "$@"
	trc=$rc ttook=$took
	wait "$mf"
	grep -E 'mqfuzz: (seed|worker)' "$dir/mqfuzz.log" | sed 's/^/# /'
	grep -E 'fd providers|from /dev/mq|Ran [0-9]+ syscalls|iterations|Bailing' \
		"$dir/trinity.log" | tail -n 12 | sed 's/^/# trinity: /'
	echo "# fuzz ($who): trinity ran $ttook s (exit $trc)"
	# trinity must have got going and made calls
	if grep -qE 'Ran [0-9]+ syscalls|[0-9]+ iterations' "$dir/trinity.log"; then
		ok "fuzz ($who): trinity and mqfuzz, $ttook s"
	else
		notok "fuzz ($who): trinity did not run"
		sed 's/^/#   /' "$dir/trinity.log" | tail -n 30
	fi

	make_pool || { notok "fuzz ($who): cannot make the queue pool again"; return; }
	echo "# fuzz ($who): stress-ng dev, netlink-proc, netlink-task for $ssecs s"
	# shellcheck disable=SC2086
	run_for $((ssecs + 20)) "$dir/stress-ng.log" $wrap stress-ng \
		--dev 1 --dev-file /dev/mq/fz0 --netlink-proc 1 --netlink-task 1 \
		--timeout "${ssecs}s" --metrics-brief --temp-path "$dir"
	echo "# fuzz ($who): stress-ng ran $took s (exit $rc)"
	# 0 ok, 3 some stressor not implemented here (e.g. netlink-task as a user)
	if [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ]; then
		grep -E 'metrc|skipped|successful' "$dir/stress-ng.log" | sed 's/^/# stress-ng: /'
		ok "fuzz ($who): stress-ng, $took s"
	else
		sed 's/^/# stress-ng: /' "$dir/stress-ng.log" | tail -n 40
		notok "fuzz ($who): stress-ng exit status $rc"
	fi
	cd /mq/tests || exit 1
}

# After the fuzzing: every queue can be deleted, and a new one works.
t_sanity() {
	for q in $(queue_names); do
		mqctl queue del "$q" || return 1
	done
	[ -z "$(queue_names)" ] || { echo "queues left: $(queue_names)"; return 1; }
	[ -z "$(ls /dev/mq 2>/dev/null)" ] || { echo "nodes left: $(ls /dev/mq)"; return 1; }
	mqctl queue add sanity capacity-msgs 1000 || return 1
	i=0
	while [ $i -lt 200 ]; do
		echo "sanity $i" >/dev/mq/sanity || return 1
		i=$((i + 1))
	done
	i=0
	while [ $i -lt 200 ]; do
		m=$(dd if=/dev/mq/sanity bs=64 count=1 2>/dev/null)
		[ "$m" = "sanity $i" ] || { echo "message $i: '$m'"; return 1; }
		i=$((i + 1))
	done
	j=$(mqctl -j queue show sanity | tr -d ' \n')
	for kv in '"msgs_in":200' '"msgs_out":200' '"depth_msgs":0' '"depth_bytes":0'; do
		echo "$j" | grep -q "$kv" || { echo "missing $kv: $j"; return 1; }
	done
	mqctl queue del sanity
}

case $phases in
*fuzz*)
	mq_loaded || insmod "$MQ_KO"
	t0=$(now)
	fuzz_as root "$fuzz_seconds"
	fuzz_as user "$fuzz_seconds"
	echo "# fuzz: $(($(now) - t0)) s in all"
	if out=$(t_sanity 2>&1); then
		ok "fuzz: queues sane afterwards"
	else
		notok "fuzz: queues sane afterwards"
		echo "$out" | sed 's/^/#   /'
	fi
	# The unprivileged suite once more, on the fuzzed module.
	if ./netlink_test >/tmp/again.tap 2>&1; then
		ok "fuzz: netlink_test passes afterwards"
	else
		notok "fuzz: netlink_test passes afterwards"
		sed 's/^/#   /' /tmp/again.tap
	fi
	;;
esac

# ---- leaks ----

case $phases in
*leaks*)
	if [ ! -r "$KL" ]; then
		notok "kmemleak: $KL missing"
	else
		t0=$(now)
		mq_loaded || insmod "$MQ_KO"
		kmemleak_check loaded
		if rmmod mq; then
			ok "kmemleak: rmmod mq"
		else
			notok "kmemleak: rmmod mq"
		fi
		kmemleak_check unloaded
		echo "# kmemleak: $(($(now) - t0)) s"
	fi
	;;
esac

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
