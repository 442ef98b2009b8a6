#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The in-guest test runner (busybox sh). Runs every kselftest binary next
# to it and the shell-level tests below (module load/unload, mqctl), prints
# TAP, and ends with one line "N passed, N failed". Exit status 0 only when
# nothing failed.
#
# usage: run.sh [NAME...]   NAME: a binary without _test (chrdev, netlink,
#                           ...) or "shell"; default: all of them.
#        run.sh exec CMD... run CMD in /mq/tests (tools/vm/crash-loop.sh)
# Environment: MQ_KO (default /mq/mq.ko).

cd "$(dirname "$0")" || exit 1
MQ_KO=${MQ_KO:-/mq/mq.ko}
pass=0
fail=0
skip=0

ok() { pass=$((pass + 1)); echo "ok - $*"; }
notok() { fail=$((fail + 1)); echo "not ok - $*"; }
check() { # check NAME CMD...: one shell-level test
	name=$1
	shift
	if out=$("$@" 2>&1); then
		ok "$name"
	else
		notok "$name"
		echo "$out" | sed 's/^/#   /'
	fi
}

# ---- kselftest binaries ----

run_binary() {
	bin=$1
	echo "# ==== $bin"
	log=/tmp/$bin.tap
	./"$bin" >"$log" 2>&1
	rc=$?
	cat "$log"
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	s=$(grep -c '^ok .*# SKIP' "$log")
	pass=$((pass + p - s))
	skip=$((skip + s))
	fail=$((fail + f))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		notok "$bin exited with status $rc without reporting a failure"
	fi
}

# "exec CMD...": run one command instead (the crash loop's load), its
# status the VM's.
if [ "${1:-}" = exec ]; then
	shift
	"$@"
	exit
fi

want=${*:-$(ls ./*_test | sed 's|^\./||; s|_test$||') shell}
for t in $want; do
	[ "$t" = shell ] || run_binary "${t}_test"
done

# ---- shell-level tests ----

mq_loaded() { [ -d /sys/module/mq ]; }

t_unload_refused_while_open() {
	mqctl queue add held || return 1
	exec 3</dev/mq/held || return 1
	if rmmod mq 2>/dev/null; then
		echo "rmmod succeeded with an fd open"
		return 1
	fi
	mq_loaded || return 1
	exec 3<&-
	rmmod mq || return 1
	! mq_loaded || return 1
	[ ! -e /dev/mq/held ] || { echo "node left behind"; return 1; }
	insmod "$MQ_KO"
}

t_unload_with_messages_and_waiters_gone() {
	mqctl queue add full1 capacity-msgs 100 || return 1
	mqctl queue add full2 || return 1
	i=0
	while [ $i -lt 50 ]; do
		echo "message $i" >/dev/mq/full1 || return 1
		i=$((i + 1))
	done
	echo x >/dev/mq/full2 || return 1
	rmmod mq || return 1
	insmod "$MQ_KO" || return 1
	# Queues are memory-only for now: nothing survives a reload.
	[ -z "$(mqctl -j queue list | tr -d '[] \n')" ] || {
		echo "queues after reload: $(mqctl queue list)"
		return 1
	}
}

t_max_queues_cap() {
	rmmod mq || return 1
	if insmod "$MQ_KO" max_queues=0 2>/dev/null; then
		echo "max_queues=0 accepted"
		return 1
	fi
	insmod "$MQ_KO" max_queues=3 || return 1
	mqctl queue add c1 && mqctl queue add c2 && mqctl queue add c3 || return 1
	out=$(mqctl queue add c4 2>&1)
	rc=$?
	[ $rc -eq 2 ] || { echo "exit $rc, want 2: $out"; return 1; }
	echo "$out" | grep -q "too many queues" || { echo "$out"; return 1; }
	[ ! -e /dev/mq/c4 ] || return 1
	mqctl queue del c2 && mqctl queue add c4 || return 1
	rmmod mq && insmod "$MQ_KO"
}

t_echo_cat() {
	mqctl queue add shell || return 1
	echo hello >/dev/mq/shell || return 1
	echo world >/dev/mq/shell || return 1
	# One read() is one message (and an empty queue blocks, like a
	# FIFO without writers: so read exactly one message each time).
	a=$(dd if=/dev/mq/shell bs=64 count=1 2>/dev/null)
	[ "$a" = hello ] || { echo "got '$a'"; return 1; }
	b=$(dd if=/dev/mq/shell bs=64 count=1 2>/dev/null)
	[ "$b" = world ] || { echo "got '$b'"; return 1; }
	mqctl queue del shell
}

t_mqctl_show_and_json() {
	mqctl queue add jobs max-msg 1K capacity-msgs 10 capacity-bytes 8K \
		mode 0640 owner 1000 group 1001 || return 1
	printf abc >/dev/mq/jobs || return 1
	out=$(mqctl queue show jobs) || return 1
	echo "$out"
	for w in jobs /dev/mq/jobs 0640; do
		echo "$out" | grep -q -- "$w" || { echo "missing '$w'"; return 1; }
	done
	j=$(mqctl -j queue show jobs) || return 1
	echo "$j"
	for kv in '"name":"jobs"' '"max_msg":1024' '"capacity_msgs":10' \
		'"capacity_bytes":8192' '"uid":1000' '"gid":1001' \
		'"depth_msgs":1' '"depth_bytes":3'; do
		echo "$j" | tr -d ' \n' | grep -q "$kv" || {
			echo "missing $kv"
			return 1
		}
	done
	l=$(mqctl -j queue list | tr -d ' \n') || return 1
	echo "$l" | grep -q '^\[.*"name":"jobs".*\]$' || { echo "$l"; return 1; }
	ls -ln /dev/mq/jobs | grep -q '^crw-r-----.* 1000 *1001 ' || {
		ls -ln /dev/mq/jobs
		return 1
	}
	mqctl queue set jobs mode 0600 owner 0 group 0 || return 1
	ls -ln /dev/mq/jobs | grep -q '^crw-------.* 0 *0 ' || {
		ls -ln /dev/mq/jobs
		return 1
	}
	mqctl queue del jobs
}

t_mqctl_errors_and_exit_codes() {
	mqctl queue add dup || return 1
	out=$(mqctl queue add dup 2>&1)
	rc=$?
	[ $rc -eq 2 ] || { echo "duplicate: exit $rc"; return 1; }
	echo "$out" | grep -q "queue exists" || { echo "$out"; return 1; }
	out=$(mqctl queue add .bad 2>&1)
	[ $? -eq 2 ] && echo "$out" | grep -q "invalid queue name" ||
		{ echo "bad name: $out"; return 1; }
	out=$(mqctl queue del nosuch 2>&1)
	[ $? -eq 2 ] && echo "$out" | grep -q "no such queue" ||
		{ echo "del nosuch: $out"; return 1; }
	mqctl queue add x max-msg 12Q >/dev/null 2>&1
	[ $? -eq 1 ] || { echo "bad size: not a usage error"; return 1; }
	mqctl queue frobnicate >/dev/null 2>&1
	[ $? -eq 1 ] || { echo "unknown command: not a usage error"; return 1; }
	mqctl queue add y max-msg 5M >/dev/null 2>&1
	[ $? -eq 2 ] || { echo "max-msg 5M accepted"; return 1; }
	mqctl --help >/dev/null || return 1
	mqctl queue help >/dev/null || return 1
	out=$(setpriv --reuid 1000 --regid 1000 --clear-groups \
		mqctl queue add byuser 2>&1)
	rc=$?
	[ $rc -eq 4 ] || { echo "unprivileged add: exit $rc: $out"; return 1; }
	setpriv --reuid 1000 --regid 1000 --clear-groups mqctl queue list \
		>/dev/null || { echo "unprivileged list failed"; return 1; }
	mqctl queue del dup
}

t_mqctl_monitor() {
	mqctl monitor >/tmp/monitor.out 2>&1 &
	mon=$!
	sleep 1
	mqctl queue add watched && mqctl queue set watched capacity-msgs 5 &&
		mqctl queue del watched
	sleep 1
	kill $mon
	wait $mon 2>/dev/null
	cat /tmp/monitor.out
	grep -q "watched" /tmp/monitor.out &&
		[ "$(grep -c watched /tmp/monitor.out)" -eq 3 ]
}

# Queue memory is charged to the memory cgroup of the queue's creator,
# whoever writes the messages.
t_memcg_charged_to_creator() {
	cg=/sys/fs/cgroup/mqcharge
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control || return 1
	mkdir -p $cg || return 1
	sh -c "echo \$\$ >$cg/cgroup.procs && exec mqctl queue add charged \
		max-msg 64K capacity-msgs 1000 capacity-bytes 64M" || return 1
	before=$(cat $cg/memory.current)
	dd if=/dev/zero of=/dev/mq/charged bs=64k count=256 2>/dev/null ||
		return 1
	after=$(cat $cg/memory.current)
	echo "creator's cgroup: $before -> $after bytes after 16 MiB written"
	[ $((after - before)) -ge $((16 << 20)) ] || return 1
	mqctl queue del charged || return 1
	final=$(cat $cg/memory.current)
	echo "after delete: $final bytes"
	[ "$final" -lt $((after - (15 << 20))) ] || return 1
	rmdir $cg
}

t_mqctl_without_module() {
	rmmod mq || return 1
	out=$(mqctl queue list 2>&1)
	rc=$?
	insmod "$MQ_KO" || return 1
	[ $rc -eq 3 ] || { echo "exit $rc: $out"; return 1; }
	echo "$out" | grep -q "not loaded"
}

# mqctl's store commands on the VM's scratch disk, for real.
t_mqctl_store() {
	dev=${MQT_STORE_DEV:-/dev/vda}
	[ -b "$dev" ] || { echo "no $dev"; return 1; }
	mqctl store detach 2>/dev/null
	mqctl store format "$dev" force || return 1
	mqctl store attach "$dev" flush-interval 20 || return 1
	out=$(mqctl store show) || return 1
	echo "$out" | grep -q "ok" || { echo "show: $out"; return 1; }
	mqctl -j store show | grep -q '"flush_ms":20' || return 1
	mqctl queue add durable1 durability sync || return 1
	mqctl queue show durable1 | grep -q "sync" || return 1
	echo hello >/dev/mq/durable1 || return 1
	mqctl store detach || return 1
	[ ! -e /dev/mq/durable1 ] || { echo "queue left after detach"; return 1; }
	out=$(mqctl queue add durable2 durability async 2>&1)
	rc=$?
	[ $rc -ne 0 ] || { echo "durable queue without a store"; return 1; }
	echo "$out" | grep -q "no store" || { echo "$out"; return 1; }
	mqctl store attach "$dev" || return 1
	[ "$(head -n 1 /dev/mq/durable1)" = hello ] || return 1
	mqctl queue del durable1 || return 1
	mqctl store detach
}

# rmmod detaches the store (saving it); after insmod an attach brings the
# queues back.
t_store_survives_reload() {
	dev=${MQT_STORE_DEV:-/dev/vda}
	mqctl store detach 2>/dev/null
	mqctl store format "$dev" force || return 1
	mqctl store attach "$dev" || return 1
	mqctl queue add kept durability async capacity-msgs 100 mode 0640 || return 1
	for i in 1 2 3; do echo "m$i" >/dev/mq/kept || return 1; done
	head -n 1 /dev/mq/kept >/dev/null || return 1
	rmmod mq || return 1
	insmod "$MQ_KO" || return 1
	[ ! -e /dev/mq/kept ] || { echo "queue without a store"; return 1; }
	mqctl store attach "$dev" || return 1
	mqctl -j queue show kept | grep -q '"capacity_msgs":100' ||
		{ mqctl -j queue show kept; return 1; }
	[ "$(stat -c %a /dev/mq/kept)" = 640 ] || return 1
	[ "$(head -n 1 /dev/mq/kept)" = m2 ] || return 1
	[ "$(head -n 1 /dev/mq/kept)" = m3 ] || return 1
	mqctl queue del kept && mqctl store detach
}

if echo " $want " | grep -q " shell "; then
	echo "# ==== shell tests"
	mq_loaded || insmod "$MQ_KO"
	check echo_cat t_echo_cat
	check mqctl_show_and_json t_mqctl_show_and_json
	check mqctl_errors_and_exit_codes t_mqctl_errors_and_exit_codes
	check mqctl_monitor t_mqctl_monitor
	check mqctl_store t_mqctl_store
	check store_survives_reload t_store_survives_reload
	check unload_refused_while_open t_unload_refused_while_open
	check unload_with_messages t_unload_with_messages_and_waiters_gone
	check max_queues_cap t_max_queues_cap
	check memcg_charged_to_creator t_memcg_charged_to_creator
	check mqctl_without_module t_mqctl_without_module
fi

[ "$skip" -gt 0 ] && echo "# $skip skipped"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
