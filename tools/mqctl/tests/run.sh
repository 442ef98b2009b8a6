#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of mqctl, no kernel module needed: unit tests of the parsers
# and the printer, then the command line against fakemq.so, a preloaded
# stand-in for mq.ko's netlink family (see fakemq.c).
#
#   tools/mqctl/tests/run.sh            uses build/mqctl (built if missing)
#   VALGRIND=1 tools/mqctl/tests/run.sh every mqctl run under valgrind
#
# Prints TAP lines and ends with "N passed, N failed"; exits 1 on failure.

set -u
cd "$(dirname "$0")/../../.." || exit 1
TOP=$PWD
MQCTL=${MQCTL:-$TOP/build/mqctl}
T=$TOP/build/mqctl-tests
CFLAGS="-O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -I$TOP/uapi"

mkdir -p "$T"
[ -x "$MQCTL" ] || make -s "$MQCTL" || exit 1
cc $CFLAGS -fPIC -shared -o "$T/fakemq.so" tools/mqctl/tests/fakemq.c -ldl || exit 1
cc $CFLAGS -o "$T/unit" tools/mqctl/tests/unit.c tools/mqctl/print.c \
	tools/mqctl/parse.c || exit 1

VG=()
if [ "${VALGRIND:-0}" != 0 ]; then
	VG=(valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
	    --error-exitcode=99)
fi

passed=0
failed=0
n=0

result() {	# result OK DESC [DETAILS]
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		passed=$((passed + 1))
		echo "ok $n - $2"
	else
		failed=$((failed + 1))
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && sed 's/^/# /' <<<"$3"
	fi
}

mq() {		# mqctl against the fake kernel; FAKEMQ_* from the caller's env
	LD_PRELOAD=$T/fakemq.so FAKEMQ_LOG=$T/log "${VG[@]}" "$MQCTL" "$@"
}

# t DESC RC REGEX ARGS...: mqctl ARGS exits RC and prints (stdout and
# stderr) a line matching REGEX.
t() {
	local desc=$1 rc=$2 re=$3 out got
	shift 3
	: >"$T/log"
	out=$(mq "$@" 2>&1)
	got=$?
	if [ "$got" = "$rc" ] && grep -qE -- "$re" <<<"$out"; then
		result 1 "$desc"
	else
		result 0 "$desc" "exit $got (want $rc), output:
$out"
	fi
}

# same DESC EXPECTED ARGS...: stdout of mqctl ARGS is exactly EXPECTED.
same() {
	local desc=$1 want=$2 out
	shift 2
	out=$(mq "$@" 2>&1)
	if [ "$out" = "$want" ]; then
		result 1 "$desc"
	else
		result 0 "$desc" "$(diff <(echo "$want") <(echo "$out"))"
	fi
}

logged() {	# logged DESC LINE: the fake kernel received that request
	if grep -qxF -- "$2" "$T/log"; then
		result 1 "$1"
	else
		result 0 "$1" "request log:
$(cat "$T/log")"
	fi
}

json_ok() {	# json_ok DESC ARGS...: the output parses as one JSON value
	local desc=$1 out
	shift
	command -v python3 >/dev/null || { result 1 "$desc # SKIP no python3"; return; }
	out=$(mq "$@" 2>&1)
	if python3 -c 'import json, sys; json.load(sys.stdin)' <<<"$out" 2>/dev/null; then
		result 1 "$desc"
	else
		result 0 "$desc" "$out"
	fi
}

# ---- unit tests ----
while read -r line; do
	case $line in
	"ok "*) result 1 "unit: ${line#ok * - }" ;;
	"not ok "*) result 0 "unit: ${line#not ok * - }" ;;
	esac
done < <("${VG[@]}" "$T/unit")

# ---- help: exit 0 ----
t "no arguments: usage, exit 1" 1 '^Usage: mqctl' 
t "help" 0 'Exit status: 0 success, 1 usage error, 2 the kernel refused' help
t "-h" 0 '^Usage: mqctl' -h
t "--help" 0 '^Usage: mqctl' --help
t "-V" 0 '^mqctl [0-9.]+ \(generic netlink family "mq" version 1\)' -V
t "queue help" 0 'mqctl queue set NAME KEYS' queue help
t "queue add help" 0 'KEYS := \[ max-msg SIZE \]' queue add help
t "queue del --help" 0 '^Usage: mqctl queue del NAME$' queue del --help
t "monitor help" 0 '^Usage: mqctl \[ -j \[ -p \] \] monitor' monitor help

# ---- usage errors: exit 1 ----
t "unknown object" 1 '^mqctl: unknown object "bogus"' bogus
t "unknown option" 1 '^mqctl: unknown option "-x"' -x queue list
t "unknown long option" 1 '^mqctl: unknown option "--bogus"' --bogus
t "ambiguous command" 1 '^mqctl: command "s" is ambiguous: set, show' queue s x
t "unknown command" 1 '^mqctl: unknown command "frob"' queue frob
t "hint names the command's help" 1 '^Try "mqctl queue add help"\.' queue add
t "add without NAME" 1 '^mqctl: missing queue NAME' queue add
t "unknown key" 1 '^mqctl: unknown key "foo"' queue add q foo 1
t "key without value" 1 '^mqctl: max-msg needs a value' queue add q max-msg
t "key given twice" 1 '^mqctl: mode given twice' queue add q mode 0600 mode 0640
t "set without keys" 1 '^mqctl: nothing to set' queue set jobs
t "del: extra argument" 1 '^mqctl: unexpected argument "b"' queue del a b
t "show: no NAME" 1 '^mqctl: missing queue NAME' queue show
t "list: extra argument" 1 '^mqctl: unexpected argument "x"' queue list x
t "monitor: extra argument" 1 '^mqctl: unexpected argument "x"' monitor x
t "size: junk" 1 '^mqctl: invalid max-msg "12X": expected a size' queue add q max-msg 12X
t "size: two suffixes" 1 'invalid capacity-bytes "1KB"' queue add q capacity-bytes 1KB
t "size: negative" 1 '^mqctl: invalid max-msg "-1": must not be negative' queue add q max-msg -1
t "size: over u32" 1 'invalid max-msg "4G": too large \(at most 4294967295\)' queue add q max-msg 4G
t "count: over u32" 1 'invalid capacity-msgs "4294967296": too large' queue add q capacity-msgs 4294967296
t "size: over u64" 1 'invalid capacity-bytes "16777216T": too large \(at most 18446744073709551615\)' queue add q capacity-bytes 16777216T
t "size: strtoull overflow" 1 'too large' queue add q capacity-bytes 99999999999999999999
t "mode: not octal" 1 'invalid mode "0888": expected octal permission bits' queue add q mode 0888
t "mode: above 0777" 1 'invalid mode "01000"' queue add q mode 01000
t "owner: unknown user" 1 'invalid owner "no-such-user.mqctl": no such user' queue add q owner no-such-user.mqctl
t "group: unknown group" 1 'invalid group "no-such-group.mqctl": no such group' queue add q group no-such-group.mqctl
t "owner: (uid_t)-1" 1 'invalid owner "4294967295": too large' queue add q owner 4294967295
t "group: negative" 1 'invalid group "-5": must not be negative' queue set q group -5
t "usage errors send nothing" 1 '' queue add q max-msg 12X
[ -s "$T/log" ] && result 0 "nothing reached the kernel" "$(cat "$T/log")" || result 1 "nothing reached the kernel"

# ---- cannot reach the kernel: exit 3 ----
FAKEMQ_NOFAMILY=1 t "no mq family: list" 3 '^mqctl: the mq module is not loaded \(modprobe mq\)$' queue list
FAKEMQ_NOFAMILY=1 t "no mq family: add" 3 'the mq module is not loaded' queue add q
FAKEMQ_NOFAMILY=1 t "no mq family: monitor" 3 'the mq module is not loaded' monitor

# ---- the kernel refuses: exit 2, its extended ACK message ----
t "add: exists" 2 '^mqctl: queue exists \(File exists\)$' queue add jobs
FAKEMQ_NOCAP=1 t "extack after an uncapped error" 2 '^mqctl: queue exists \(File exists\)$' queue add jobs
FAKEMQ_NOEXTACK=1 t "no extack: strerror alone" 2 '^mqctl: File exists$' queue add jobs
t "show: no such queue" 2 '^mqctl: no such queue \(No such file or directory\)$' queue show nope
t "del: no such queue" 2 '^mqctl: no such queue' queue del nope
t "invalid name" 2 '^mqctl: invalid queue name' queue add .hidden
t "policy error names the key" 2 '^mqctl: max-msg: integer out of range \(Numerical result out of range\)$' queue add q max-msg 0
FAKEMQ_NOCAP=1 t "key named after an uncapped error" 2 '^mqctl: max-msg: integer out of range' queue set jobs max-msg 8M
t "message naming its key is not prefixed" 2 '^mqctl: capacity-bytes is smaller than max-msg \(Invalid argument\)$' queue set jobs capacity-bytes 1K
FAKEMQ_DUMP_EIO=1 t "dump error in NLMSG_DONE" 2 '^mqctl: store I/O error \(Input/output error\)$' queue list
FAKEMQ_BADREPLY=1 t "reply failing the policy (u32 for u64)" 2 '^mqctl: malformed reply from the kernel' queue show jobs
FAKEMQ_BADREPLY=1 t "dump failing the policy prints nothing" 2 '^mqctl: malformed reply' -j queue list
out=$(FAKEMQ_BADREPLY=1 mq -j queue list 2>/dev/null)
[ -z "$out" ] && result 1 "failed dump: no partial output" || result 0 "failed dump: no partial output" "$out"

# ---- permission denied: exit 4 ----
FAKEMQ_EPERM=1 t "add without CAP_NET_ADMIN" 4 '^mqctl: permission denied: this needs CAP_NET_ADMIN \(Operation not permitted\)$' queue add q
FAKEMQ_EPERM=1 t "del without CAP_NET_ADMIN" 4 'needs CAP_NET_ADMIN' queue del jobs

# ---- requests as sent ----
t "add with every key" 0 '' queue add new1 max-msg 64K capacity-msgs 4K capacity-bytes 1T mode 640 owner root group 0
logged "add: values and wire types" "NEW name=new1 max_msg=65536 cap_msgs=4096 cap_bytes=1099511627776 mode=416 uid=0 gid=0"
t "add with no key" 0 '' queue add new2
logged "add: name only" "NEW name=new2"
t "set one key" 0 '' queue set jobs mode 0600
logged "set: only the key given" "SET name=jobs mode=384"
t "del" 0 '' queue del jobs
logged "del: name only" "DEL name=jobs"
t "prefixes: q l" 0 '^jobs: id 1' q l
logged "list is a dump" "GET dump"
t "queue alone lists" 0 '^mail: id 2' queue

# ---- output ----
same "show: text" 'jobs: id 1 dev /dev/mq/jobs mode 0660 owner root group root
    limits max-msg 64K capacity-msgs 4096 capacity-bytes 4M
    depth 12 msgs 3456 bytes peak 40 offsets 100..112
    in 112 msgs 28K bytes out 100 msgs 25K bytes blocked readers 0 writers 0 open 2' queue show jobs
same "show -j: one object" '{"name":"jobs","id":1,"dev":"/dev/mq/jobs","devt":{"major":240,"minor":1},"mode":432,"mode_str":"0660","uid":0,"owner":"root","gid":0,"group":"root","max_msg":65536,"capacity_msgs":4096,"capacity_bytes":4194304,"stats":{"depth_msgs":12,"depth_bytes":3456,"peak_msgs":40,"head_offset":100,"tail_offset":112,"msgs_in":112,"bytes_in":28672,"msgs_out":100,"bytes_out":25600,"blocked_readers":0,"blocked_writers":0,"open_fds":2}}' -j queue show jobs
t "unnamed uid: number in text" 0 '^mail: id 2 dev /dev/mq/mail mode 0660 owner 4242 group 4242$' queue show mail
t "unnamed uid: no owner key in JSON" 0 '"uid":4242,"gid":4242,"max_msg"' -j queue show mail
t "list -j: an array" 0 '^\[\{"name":"jobs".*\},\{"name":"mail".*\}\]$' -j queue list
json_ok "list -p parses" -p queue list
t "list -p: indented" 0 '^        "capacity_bytes": 4194304,$' -p queue list
FAKEMQ_OLD=1 same "older kernel: only what is there" 'jobs: id 1 dev /dev/mq/jobs mode 0660 owner root group root
    limits max-msg 64K capacity-msgs 4096 capacity-bytes 4M' queue show jobs
FAKEMQ_OLD=1 t "older kernel: JSON without stats" 0 '"capacity_bytes":4194304\}$' -j queue show jobs
FAKEMQ_DUMP_INTR=1 t "interrupted dump restarts" 0 '^\[\{"name":"jobs".*"name":"mail".*\]$' -j queue list
out=$(FAKEMQ_DUMP_INTR=1 mq -j queue list 2>&1)
[ "$(grep -c . <<<"$out")" = 1 ] && ! grep -q warning <<<"$out" &&
	result 1 "restarted dump printed once, no warning" ||
	result 0 "restarted dump printed once, no warning" "$out"
FAKEMQ_DUMP_INTR=9 t "dump interrupted every time: warning" 0 'warning: queues kept changing during the dump' queue list

out=$(mq queue list 2>&1 >/dev/full)
rc=$?
[ $rc = 2 ] && grep -q '^mqctl: cannot write the output' <<<"$out" &&
	result 1 "unwritable output: exit 2" || result 0 "unwritable output: exit 2" "exit $rc: $out"

# ---- monitor ----
monitor() {	# monitor DESC REGEX ARGS...: three events, then SIGTERM ends it
	local desc=$1 re=$2 i pid rc
	shift 2
	# Not through mq(): $! must be mqctl's pid, not a subshell's.
	LD_PRELOAD=$T/fakemq.so "${VG[@]}" "$MQCTL" "$@" >"$T/mon.out" 2>&1 &
	pid=$!
	for i in $(seq 100); do
		[ "$(grep -c . "$T/mon.out")" -ge 3 ] && break
		sleep 0.1
	done
	kill -TERM $pid
	wait $pid
	rc=$?
	if [ $rc = 0 ] && [ "$(grep -cE -- "$re" "$T/mon.out")" = 3 ]; then
		result 1 "$desc"
	else
		result 0 "$desc" "exit $rc; output:
$(cat "$T/mon.out")"
	fi
}
monitor "monitor: a line per event, SIGTERM exits 0" \
	'^(new|set|del) queue jobs id 1 dev /dev/mq/jobs mode 0660 owner root group root limits max-msg 64K .* open 2$' monitor
monitor "monitor -j: an object per line" '^\{"event":"(new|set|del)","queue":\{"name":"jobs",.*\}\}$' -j monitor

# ---- bash completion ----
mkdir -p "$T/bin" && ln -sf "$MQCTL" "$T/bin/mqctl"
complete_to() {	# complete_to DESC EXPECTED LINE: what <TAB> offers after LINE
	local got
	got=$(PATH=$T/bin:$PATH LD_PRELOAD=$T/fakemq.so bash -c '
		. tools/mqctl/mqctl.bash-completion
		read -ra COMP_WORDS <<<"$1"
		[[ $1 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_mqctl mqctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		echo "${COMPREPLY[*]}"' _ "$3")
	[ "$got" = "$2" ] && result 1 "completion: $1" ||
		result 0 "completion: $1" "offered \"$got\", want \"$2\""
}
complete_to "objects" "queue monitor help" "mqctl "
complete_to "options" "-j -p -h -V --json --pretty --help --version" "mqctl -"
complete_to "queue commands" "add set del show list help" "mqctl -j queue "
complete_to "queue names from mqctl" "help jobs mail" "mqctl queue show "
complete_to "prefixes resolve" "jobs" "mqctl q sh j"
complete_to "keys not yet given" "capacity-msgs capacity-bytes owner group" "mqctl queue set jobs max-msg 1M mode 0600 "
complete_to "owner: users" "root" "mqctl queue add q owner roo"
complete_to "del takes one NAME" "" "mqctl queue del jobs "

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
