#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of mqctl, no kernel module needed: unit tests of the parsers
# and the printer, then the command line against fakemq.so, a preloaded
# stand-in for mq.ko's netlink family (see fakemq.c). "store create" is
# run for real: its errors anywhere, its success path only as root with
# /dev/loop-control (else a SKIP line says why); the loop devices it makes
# are detached again.
#
#   tools/mqctl/tests/run.sh            uses build/mqctl (built if missing)
#   VALGRIND=1 tools/mqctl/tests/run.sh every mqctl run under valgrind
#
# Prints TAP lines and ends with "N passed, N failed"; exits 1 on failure.

set -u
cd "$(dirname "$0")/../../.." || exit 1
TOP=$PWD
MQCTL=${MQCTL:-$TOP/build/mqctl}
[[ $MQCTL == /* ]] || MQCTL=$TOP/$MQCTL		# some tests run elsewhere
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

mq() {		# mqctl against the fake kernel; FAKEMQ_* from the caller's env,
		# run in $MQ_CWD if set
	(cd "${MQ_CWD:-.}" &&
	 LD_PRELOAD=$T/fakemq.so FAKEMQ_LOG=$T/log "${VG[@]}" "$MQCTL" "$@")
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
t "help lists store" 0 'mqctl \[ OPTIONS \] store \{ create \| format \| attach \| detach \| show \| help \}' help
t "store help" 0 'mqctl store format DEV \[ segment-size SIZE \] \[ force \]' store help
t "store help: the default" 0 '"mqctl store" alone runs "mqctl store show"' store help
t "store create help" 0 '^Usage: mqctl store create FILE \{ size \| --size \} SIZE$' store create help
t "store attach help" 0 'MS := milliseconds, 1 to 10000' store attach help
t "store show help" 0 '^Usage: mqctl store show$' store show help
t "queue add help: durability" 0 'durability \{ memory \| async \| sync \}' queue add help
t "monitor help: store events" 0 'the store attached \(attach\), detached \(detach\) or changed' monitor help

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
t "durability: unknown word" 1 '^mqctl: invalid durability "fast": expected memory, async or sync$' queue add q durability fast
t "durability: a number is not a word" 1 'invalid durability "1": expected memory' queue set jobs durability 1
t "durability: no abbreviation" 1 'invalid durability "mem"' queue set jobs durability mem
t "durability without value" 1 '^mqctl: durability needs a value' queue add q durability
t "queue keys only" 1 '^mqctl: unknown key "segment-size"' queue add q segment-size 4M
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
same "show: text" 'jobs: id 1 dev /dev/mq/jobs mode 0660 owner root group root durability memory
    limits max-msg 64K capacity-msgs 4096 capacity-bytes 4M
    depth 12 msgs 3456 bytes peak 40 offsets 100..112
    in 112 msgs 28K bytes out 100 msgs 25K bytes blocked readers 0 writers 0 open 2' queue show jobs
same "show -j: one object" '{"name":"jobs","id":1,"dev":"/dev/mq/jobs","devt":{"major":240,"minor":1},"mode":432,"mode_str":"0660","uid":0,"owner":"root","gid":0,"group":"root","durability":"memory","max_msg":65536,"capacity_msgs":4096,"capacity_bytes":4194304,"stats":{"depth_msgs":12,"depth_bytes":3456,"peak_msgs":40,"head_offset":100,"tail_offset":112,"msgs_in":112,"bytes_in":28672,"msgs_out":100,"bytes_out":25600,"blocked_readers":0,"blocked_writers":0,"open_fds":2}}' -j queue show jobs
t "unnamed uid: number in text" 0 '^mail: id 2 dev /dev/mq/mail mode 0660 owner 4242 group 4242 durability async$' queue show mail
t "unnamed uid: no owner key in JSON" 0 '"uid":4242,"gid":4242,"durability":"async","max_msg"' -j queue show mail
FAKEMQ_DURABILITY=9 t "unknown durability: its number in text" 0 '^jobs: .* group root durability 9$' queue show jobs
FAKEMQ_DURABILITY=9 t "unknown durability: its number in JSON" 0 '"group":"root","durability":9,"max_msg"' -j queue show jobs
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

# ---- store: fixtures, files standing in for block devices ----
RT=$(realpath "$T")
head -c 8192 /dev/zero >"$T/blank"
head -c 8192 /dev/zero | tr '\0' 'x' >"$T/data"
{ head -c 4096 /dev/zero; printf 'MQSTORE\0'; head -c 4088 /dev/zero; } >"$T/oldstore"
ln -sfn blank "$T/link"
mkdir -p "$T/sub"
rm -f "$T/new.img"

# ---- store: usage errors, exit 1, nothing sent ----
t "store: unknown command" 1 '^mqctl: unknown command "frob"' store frob
t "format without DEV" 1 '^mqctl: missing DEV$' store format
t "attach without DEV" 1 '^mqctl: missing DEV$' store attach
t "missing DEV: the command's help" 1 '^Try "mqctl store attach help"\.$' store attach
t "format: no such DEV" 1 '^mqctl: cannot use nodev\.mqctl: No such file or directory$' store format nodev.mqctl
t "attach: no such DEV" 1 '^mqctl: cannot use /no/such/dev: No such file or directory$' store attach /no/such/dev
t "format: a key of attach" 1 '^mqctl: unknown key "flush-interval"' store format "$T/blank" flush-interval 100
t "attach: a key of format" 1 '^mqctl: unknown key "segment-size"' store attach "$T/blank" segment-size 4M
t "attach: force is format's" 1 '^mqctl: unknown key "force"' store attach "$T/blank" force
t "segment-size: bad suffix" 1 '^mqctl: invalid segment-size "4Q": expected a size such as 4096, 64K or 4M$' store format "$T/blank" segment-size 4Q
t "segment-size: two suffixes" 1 'invalid segment-size "4MB": expected a size' store format "$T/blank" segment-size 4MB
t "segment-size: over u32" 1 'invalid segment-size "4G": too large \(at most 4294967295\)' store format "$T/blank" segment-size 4G
t "segment-size: negative" 1 'invalid segment-size "-1": must not be negative' store format "$T/blank" segment-size -1
t "segment-size without value" 1 '^mqctl: segment-size needs a value' store format "$T/blank" segment-size
t "segment-size given twice" 1 '^mqctl: segment-size given twice' store format "$T/blank" segment-size 1M segment-size 2M
t "force given twice" 1 '^mqctl: force given twice' store format "$T/blank" force force
t "flush-interval: no units" 1 '^mqctl: invalid flush-interval "1s": expected a number of milliseconds such as 100$' store attach "$T/blank" flush-interval 1s
t "flush-interval: no size suffix" 1 'invalid flush-interval "1K"' store attach "$T/blank" flush-interval 1K
t "flush-interval: over u32" 1 'invalid flush-interval "4294967296": too large' store attach "$T/blank" flush-interval 4294967296
t "flush-interval without value" 1 '^mqctl: flush-interval needs a value' store attach "$T/blank" flush-interval
t "detach: extra argument" 1 '^mqctl: unexpected argument "x"' store detach x
t "show: extra argument" 1 '^mqctl: unexpected argument "x"' store show x
t "create without FILE" 1 '^mqctl: missing FILE$' store create
t "create without size" 1 '^mqctl: missing size SIZE$' store create "$T/new.img"
t "create: bad size suffix" 1 '^mqctl: invalid size "64Q": expected a size' store create "$T/new.img" size 64Q
t "create: --size, bad" 1 '^mqctl: invalid --size "x": expected a size' store create "$T/new.img" --size x
t "create: size given twice" 1 'given twice' store create "$T/new.img" size 64M --size 64M
t "create: too small" 1 '^mqctl: invalid size 1M: a store needs at least 8404992 bytes \(8\.0M\)$' store create "$T/new.img" size 1M
t "create: zero" 1 'invalid size 0: a store needs at least' store create "$T/new.img" size 0
t "create: not whole blocks" 1 '^mqctl: invalid size: 67109376 bytes is not a multiple of 4K' store create "$T/new.img" size 67109376
t "create: a key of format" 1 '^mqctl: unknown key "segment-size"' store create "$T/new.img" size 64M segment-size 4M
[ -e "$T/new.img" ] && result 0 "create: usage errors make no file" || result 1 "create: usage errors make no file"
t "store usage errors send nothing" 1 '' store format "$T/blank" segment-size 4Q
[ -s "$T/log" ] && result 0 "nothing reached the kernel (store)" "$(cat "$T/log")" || result 1 "nothing reached the kernel (store)"

# ---- store: format refuses to overwrite what it cannot see is blank ----
t "format: a DEV holding data" 1 "^mqctl: $RT/data is not blank \\(its first 1M holds data\\): add \"force\" to format it anyway$" store format "$T/data"
[ -s "$T/log" ] && result 0 "format refused: nothing sent" "$(cat "$T/log")" || result 1 "format refused: nothing sent"
t "format: a DEV holding a store" 1 "^mqctl: $RT/oldstore holds an mq store: formatting it destroys its queues and messages; add \"force\" to format it anyway$" store format "$T/oldstore"
t "format: force" 0 '' store format "$T/data" force
logged "format, forced: sent" "FORMAT path=$RT/data"
t "format: force among keys" 0 '' store format "$T/oldstore" force segment-size 1M
logged "format, forced, with a key" "FORMAT path=$RT/oldstore segment_size=1048576"
FAKEMQ_NOFAMILY=1 t "format: no module comes before the check" 3 'the mq module is not loaded' store format "$T/data"

# ---- store: requests as sent ----
t "format: blank DEV" 0 '' store format "$T/blank"
logged "format: absolute path, no key" "FORMAT path=$RT/blank"
MQ_CWD=$T/sub t "format: a relative DEV" 0 '' store format ../blank
logged "format: relative DEV made absolute" "FORMAT path=$RT/blank"
t "format: a link is resolved" 0 '' store format "$T/link"
logged "format: the link's target" "FORMAT path=$RT/blank"
t "format: segment-size" 0 '' store format "$T/blank" segment-size 16M
logged "format: segment-size as a u32" "FORMAT path=$RT/blank segment_size=16777216"
t "attach" 0 '' store attach "$T/blank"
logged "attach: path only" "ATTACH path=$RT/blank"
MQ_CWD=$T t "attach: a relative link" 0 '' store attach ./sub/../link flush-interval 250
logged "attach: relative DEV made absolute, flush-interval" "ATTACH path=$RT/blank flush_ms=250"
FAKEMQ_STORE=ok t "prefixes: st d" 0 '' st d
logged "detach: no attributes" "DETACH"
FAKEMQ_STORE=ok t "store alone shows" 0 '^/dev/loop7: state ok' store
logged "show: a plain get" "STORE"
FAKEMQ_STORE=ok t "add durability sync" 0 '' queue add d1 durability sync
logged "add: durability as a u32" "NEW name=d1 durability=2"
t "set durability memory" 0 '' queue set jobs durability memory
logged "set: durability memory is 0" "SET name=jobs durability=0"
FAKEMQ_STORE=ok t "add: durability async" 0 '' queue add d2 max-msg 1M durability async
logged "add: durability with other keys" "NEW name=d2 max_msg=1048576 durability=1"

# ---- store: the kernel refuses ----
t "show: no store" 2 '^mqctl: no store attached \(No such device\)$' store show
FAKEMQ_NOEXTACK=1 t "show: no store, no extack" 2 '^mqctl: no store attached \(No such device\)$' store show
t "detach: no store" 2 '^mqctl: no store attached \(No such device\)$' store detach
FAKEMQ_STORE=ok t "format while attached" 2 '^mqctl: a store is attached \(Device or resource busy\)$' store format "$T/blank"
FAKEMQ_STORE=ok FAKEMQ_NOEXTACK=1 t "format while attached, no extack" 2 '^mqctl: the device is in use, or a store is attached \("mqctl store detach" first\) \(Device or resource busy\)$' store format "$T/blank"
FAKEMQ_STORE=ok FAKEMQ_NOEXTACK=1 t "attach while attached, no extack" 2 '^mqctl: the device is in use, or a store is already attached \(Device or resource busy\)$' store attach "$T/blank"
FAKEMQ_ERRNO=EBUSY t "detach: a durable queue is open" 2 '^mqctl: a durable queue is open; close it first \(Device or resource busy\)$' store detach
t "segment-size out of range: key named" 2 '^mqctl: segment-size: must be a power of 2 from 1M to 64M \(Numerical result out of range\)$' store format "$T/blank" segment-size 3M
t "flush-interval 0: key named" 2 '^mqctl: flush-interval: integer out of range \(Numerical result out of range\)$' store attach "$T/blank" flush-interval 0
t "flush-interval 10001" 2 '^mqctl: flush-interval: integer out of range' store attach "$T/blank" flush-interval 10001
FAKEMQ_ERRNO=EMEDIUMTYPE t "attach: EMEDIUMTYPE" 2 '^mqctl: not an mq store \("mqctl store format" makes one\) \(Wrong medium type\)$' store attach "$T/blank"
FAKEMQ_ERRNO=EPROTONOSUPPORT t "attach: EPROTONOSUPPORT" 2 '^mqctl: the store has a newer format version than the mq module \(Protocol not supported\)$' store attach "$T/blank"
FAKEMQ_ERRNO=EUCLEAN t "attach: EUCLEAN" 2 '^mqctl: the store is damaged beyond recovery \(Structure needs cleaning\)$' store attach "$T/blank"
FAKEMQ_ERRNO=ENOTBLK t "attach: ENOTBLK" 2 '^mqctl: not a block device \(for a file, see "mqctl store create"\) \(Block device required\)$' store attach "$T/blank"
FAKEMQ_ERRNO=ENOSPC t "format: ENOSPC" 2 '^mqctl: the device is too small for a store \(No space left on device\)$' store format "$T/blank"
FAKEMQ_ERRNO=EIO t "show: EIO" 2 "^mqctl: I/O error on the store's device \\(Input/output error\\)$" store show
FAKEMQ_ERRNO=ENOSPC t "queue add: ENOSPC" 2 '^mqctl: no room: too many queues, or the store is full \(No space left on device\)$' queue add q
FAKEMQ_ERRNO=EIO t "queue add: EIO" 2 '^mqctl: the store is degraded by an I/O error \(mqctl store show\) \(Input/output error\)$' queue add q
t "durable queue without a store" 2 '^mqctl: durability: durable queues need an attached store \(No such device\)$' queue add q durability sync
FAKEMQ_NOEXTACK=1 t "durable queue without a store, no extack" 2 '^mqctl: no store attached: durable queues need one \(mqctl store attach\) \(No such device\)$' queue add q durability async
FAKEMQ_EPERM=1 t "format without CAP_SYS_ADMIN" 4 '^mqctl: permission denied: this needs CAP_SYS_ADMIN \(Operation not permitted\)$' store format "$T/blank"
FAKEMQ_EPERM=1 t "attach without CAP_SYS_ADMIN" 4 'needs CAP_SYS_ADMIN' store attach "$T/blank"
FAKEMQ_EPERM=1 FAKEMQ_STORE=ok t "detach without CAP_SYS_ADMIN" 4 'needs CAP_SYS_ADMIN' store detach
FAKEMQ_EPERM=1 FAKEMQ_STORE=ok t "show needs no capability" 0 '^/dev/loop7:' store show
FAKEMQ_NOFAMILY=1 t "no mq family: store show" 3 'the mq module is not loaded' store show
FAKEMQ_NOFAMILY=1 t "no mq family: attach" 3 'the mq module is not loaded' store attach "$T/blank"
FAKEMQ_BADREPLY=1 FAKEMQ_STORE=ok t "store reply failing the policy (u32 for u64)" 2 '^mqctl: malformed reply from the kernel' store show
out=$(FAKEMQ_BADREPLY=1 FAKEMQ_STORE=ok mq store show 2>/dev/null)
[ -z "$out" ] && result 1 "malformed store reply: no output" || result 0 "malformed store reply: no output" "$out"

# ---- store: output ----
FAKEMQ_STORE=ok same "store show: text" '/dev/loop7: state ok size 1G segment-size 4M flush-interval 100ms
    segments 255 used 3 live 12M free 1008M queues 2
    flushes 1234 latency avg 120us max 4.1ms written 48M records 10452 io-errors 0
    generation 17 clean-detach yes recovered 12 msgs corrupt 0 bytes' store show
FAKEMQ_STORE=ok same "store show -j: raw numbers, stable keys" '{"path":"/dev/loop7","devt":{"major":7,"minor":7},"state":"ok","size":1073741824,"segment_size":4194304,"flush_ms":100,"segments":255,"segments_used":3,"bytes_used":12582912,"bytes_free":1056964608,"queues":2,"flushes":1234,"flush_ns_avg":120000,"flush_ns_max":4100000,"bytes_written":50331648,"records":10452,"io_errors":0,"generation":17,"clean":true,"recovered_msgs":12,"corrupt_bytes":0}' -j store show
FAKEMQ_STORE=ok json_ok "store show -p parses" -p store show
FAKEMQ_STORE=ok t "store show -p: indented" 0 '^    "flush_ns_max": 4100000,$' -p store show
FAKEMQ_STORE=degraded t "degraded: state in text" 0 '^/dev/loop7: state degraded size 1G' store show
FAKEMQ_STORE=degraded t "degraded: errors and an unclean detach" 0 'io-errors 3$' store show
FAKEMQ_STORE=degraded t "degraded: clean-detach no" 0 '^    generation 17 clean-detach no ' store show
FAKEMQ_STORE=degraded t "degraded: JSON" 0 '"state":"degraded",.*"io_errors":3,.*"clean":false,' -j store show
FAKEMQ_STORE=7 t "unknown state: its number in text" 0 '^/dev/loop7: state 7 size 1G' store show
FAKEMQ_STORE=7 t "unknown state: its number in JSON" 0 '"devt":\{"major":7,"minor":7\},"state":7,"size"' -j store show
FAKEMQ_OLD=1 FAKEMQ_STORE=ok same "older kernel: the store's top-level values" '/dev/loop7: state ok segment-size 4M flush-interval 100ms' store show
FAKEMQ_OLD=1 FAKEMQ_STORE=ok same "older kernel: store JSON" '{"path":"/dev/loop7","state":"ok","segment_size":4194304,"flush_ms":100}' -j store show
t "durability in JSON: its name" 0 '"durability":"async"' -j queue show mail
t "durability in list" 0 '^mail: .* durability async$' queue list

# ---- store create: a file on a loop device, for real ----
# Its errors need no loop device; they must leave every existing file as it was.
cp "$T/data" "$T/data.orig"
t "create: existing file of another size" 1 "^mqctl: $T/data exists with 8K \\(8192 bytes\\), not 64M: refusing to change it$" store create "$T/data" size 64M
cmp -s "$T/data" "$T/data.orig" && result 1 "create: the refused file is untouched" ||
	result 0 "create: the refused file is untouched" "$(ls -l "$T/data")"
t "create: a directory" 1 "^mqctl: $T exists and is not a regular file$" store create "$T" size 64M
t "create: a device" 1 '^mqctl: /dev/null exists and is not a regular file$' store create /dev/null size 64M
t "create: no such directory" 1 "^mqctl: cannot create $T/no/such/f.img: No such file or directory$" store create "$T/no/such/f.img" size 64M
t "create: a relative path" 1 '^mqctl: cannot create no/such/f.img: No such file or directory$' store create no/such/f.img size 64M

loops=()
cleanup_loops() {
	local dev
	for dev in "${loops[@]}"; do
		losetup -d "$dev" 2>/dev/null
	done
	loops=()
}
trap cleanup_loops EXIT
if [ ! -c /dev/loop-control ] || [ "$(id -u)" != 0 ] || ! command -v losetup >/dev/null; then
	why="no /dev/loop-control"
	[ -c /dev/loop-control ] && why="not root"
	command -v losetup >/dev/null || why="no losetup"
	echo "# skipped: $why: store create's success path needs loop devices"
	result 1 "create: attaches a loop device # SKIP $why"
else
	rm -f "$T/store.img" "$T/empty.img"
	out=$("$MQCTL" store create "$T/store.img" size 64M 2>"$T/create.err")
	rc=$?
	dev=$out
	[[ $dev == /dev/loop* ]] && loops+=("$dev")
	[ $rc = 0 ] && [[ $dev =~ ^/dev/loop[0-9]+$ ]] && [ -b "$dev" ] &&
		result 1 "create: prints the loop device" ||
		result 0 "create: prints the loop device" "exit $rc: $out $(cat "$T/create.err")"
	sys=/sys/block/${dev#/dev/}/loop
	[ "$(cat "$sys/backing_file" 2>/dev/null)" = "$RT/store.img" ] &&
		result 1 "create: backed by FILE, absolute" ||
		result 0 "create: backed by FILE, absolute" "$(cat "$sys/backing_file" 2>&1)"
	[ "$(cat "$sys/autoclear" 2>/dev/null)" = 0 ] &&
		result 1 "create: no autoclear" || result 0 "create: no autoclear" "$(cat "$sys/autoclear" 2>&1)"
	if [ "$(cat "$sys/dio" 2>/dev/null)" = 1 ] || grep -q 'warning: .*no direct I/O' "$T/create.err"; then
		result 1 "create: direct I/O, or a warning why not"
	else
		result 0 "create: direct I/O, or a warning why not" "dio $(cat "$sys/dio" 2>&1); $(cat "$T/create.err")"
	fi
	[ "$(stat -c '%s %a' "$T/store.img")" = "67108864 600" ] &&
		result 1 "create: FILE of SIZE, mode 0600" ||
		result 0 "create: FILE of SIZE, mode 0600" "$(stat -c '%s %a' "$T/store.img")"
	[ "$(blockdev --getsize64 "$dev" 2>/dev/null)" = 67108864 ] &&
		result 1 "create: the device has SIZE" ||
		result 0 "create: the device has SIZE" "$(blockdev --getsize64 "$dev" 2>&1)"
	out=$("$MQCTL" -j store create "$T/store.img" --size 64M 2>&1)
	[ "$out" = "{\"file\":\"$RT/store.img\",\"device\":\"$dev\",\"size\":67108864}" ] &&
		result 1 "create again: the same device, JSON" ||
		result 0 "create again: the same device, JSON" "$out"
	[ "$(losetup -j "$T/store.img" | grep -c .)" = 1 ] &&
		result 1 "create again: no second loop device" ||
		result 0 "create again: no second loop device" "$(losetup -j "$T/store.img")"
	t "create: attached FILE of another size" 1 'exists with 64M \(67108864 bytes\), not 128M' store create "$T/store.img" size 128M
	: >"$T/empty.img"
	out=$("$MQCTL" store create "$T/empty.img" size 16M 2>&1)
	rc=$?
	[[ $out == /dev/loop* ]] && loops+=("$out")
	[ $rc = 0 ] && [ "$(stat -c %s "$T/empty.img")" = 16777216 ] &&
		result 1 "create: an empty FILE is grown" ||
		result 0 "create: an empty FILE is grown" "exit $rc: $out"
	cleanup_loops
	rm -f "$T/store.img" "$T/empty.img"
fi

out=$(mq queue list 2>&1 >/dev/full)
rc=$?
[ $rc = 2 ] && grep -q '^mqctl: cannot write the output' <<<"$out" &&
	result 1 "unwritable output: exit 2" || result 0 "unwritable output: exit 2" "exit $rc: $out"

# ---- monitor ----
monitor() {	# monitor DESC QUEUE_RE STORE_RE ARGS...: 3 queue and 3 store events, then SIGTERM
	local desc=$1 re=$2 store_re=$3 i pid rc
	shift 3
	# Not through mq(): $! must be mqctl's pid, not a subshell's.
	LD_PRELOAD=$T/fakemq.so "${VG[@]}" "$MQCTL" "$@" >"$T/mon.out" 2>&1 &
	pid=$!
	for i in $(seq 100); do
		[ "$(grep -c . "$T/mon.out")" -ge 6 ] && break
		sleep 0.1
	done
	kill -TERM $pid
	wait $pid
	rc=$?
	if [ $rc = 0 ] && [ "$(grep -cE -- "$re" "$T/mon.out")" = 3 ] &&
	   [ "$(grep -cE -- "$store_re" "$T/mon.out")" = 3 ]; then
		result 1 "$desc"
	else
		result 0 "$desc" "exit $rc; output:
$(cat "$T/mon.out")"
	fi
}
monitor "monitor: a line per event, SIGTERM exits 0" \
	'^(new|set|del) queue jobs id 1 dev /dev/mq/jobs mode 0660 owner root group root durability memory limits max-msg 64K .* open 2$' \
	'^(attach|change|detach) store /dev/loop7 state ok size 1G segment-size 4M flush-interval 100ms segments 255 .* corrupt 0 bytes$' monitor
monitor "monitor -j: an object per line" '^\{"event":"(new|set|del)","queue":\{"name":"jobs",.*\}\}$' \
	'^\{"event":"(attach|change|detach)","store":\{"path":"/dev/loop7",.*"corrupt_bytes":0\}\}$' -j monitor

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
complete_to "objects" "queue store monitor help" "mqctl "
complete_to "options" "-j -p -h -V --json --pretty --help --version" "mqctl -"
complete_to "queue commands" "add set del show list help" "mqctl -j queue "
complete_to "queue names from mqctl" "help jobs mail" "mqctl queue show "
complete_to "prefixes resolve" "jobs" "mqctl q sh j"
complete_to "keys not yet given" "capacity-msgs capacity-bytes owner group durability" "mqctl queue set jobs max-msg 1M mode 0600 "
complete_to "owner: users" "root" "mqctl queue add q owner roo"
complete_to "del takes one NAME" "" "mqctl queue del jobs "

complete_to "durability values" "memory async sync" "mqctl queue add q durability "
complete_to "store commands" "create format attach detach show help" "mqctl store "
complete_to "store prefixes resolve" "help" "mqctl st det "
complete_to "show takes nothing" "help" "mqctl store show "
complete_to "create: FILE from files" "tools/mqctl/mqctl.bash-completion" "mqctl store create tools/mqctl/mqctl.bash-comp"
complete_to "create: the size key" "size --size" "mqctl store create f.img "
complete_to "create: sizes" "64M 256M 1G 4G" "mqctl store create f.img size "
complete_to "DEV: no character devices" "" "mqctl store format /dev/nul"
if [ -b /dev/loop0 ]; then
	complete_to "DEV: block devices" "/dev/loop0" "mqctl store attach /dev/loop0"
else
	result 1 "completion: DEV: block devices # SKIP no /dev/loop0"
fi
complete_to "format: its keys" "segment-size force" "mqctl store format /dev/loop0 "
complete_to "format: keys not yet given" "segment-size" "mqctl store format /dev/loop0 force "
complete_to "format: segment sizes" "1M 4M 16M 64M" "mqctl store format /dev/loop0 segment-size "
complete_to "attach: its key" "flush-interval" "mqctl store attach /dev/loop0 "
complete_to "attach: intervals" "10 100 1000" "mqctl store attach /dev/loop0 flush-interval "
complete_to "attach: nothing more" "" "mqctl store attach /dev/loop0 flush-interval 100 "

# ---- mq-store: what mq.service runs, against the fake module ------------
# s DESC RC REGEX CONF ARGS...: mq-store ARGS with CONF as /etc/mq/mq.conf
# (none if CONF is "-") exits RC and prints a line matching REGEX; the
# requests it sent end up in $T/log.
printf '#!/bin/sh\nLD_PRELOAD=%s/fakemq.so FAKEMQ_LOG=%s/log exec %s "$@"\n' \
	"$T" "$T" "$MQCTL" >"$T/mqctl-fake"
chmod +x "$T/mqctl-fake"
s() {
	local desc=$1 rc=$2 re=$3 conf=$4 out got
	shift 4
	: >"$T/log"
	rm -f "$T/mq.conf"
	[ "$conf" = - ] || printf '%b' "$conf" >"$T/mq.conf"
	out=$(MQ_CONF=$T/mq.conf MQCTL=$T/mqctl-fake MODPROBE=true \
		sh tools/packaging/mq-store "$@" 2>&1)
	got=$?
	if [ "$got" = "$rc" ] && grep -qE -- "$re" <<<"$out"; then
		result 1 "mq-store: $desc"
	else
		result 0 "mq-store: $desc" "exit $got (want $rc), output:
$out"
	fi
}
# sent DESC REGEX / nosent DESC REGEX: the last mq-store run sent (did not
# send) a request matching REGEX.
sent() {
	grep -qE -- "$2" "$T/log" && result 1 "mq-store: $1" ||
		result 0 "mq-store: $1" "requests: $(cat "$T/log")"
}
nosent() {
	grep -qE -- "$2" "$T/log" && result 0 "mq-store: $1" "requests: $(cat "$T/log")" ||
		result 1 "mq-store: $1"
}
s "no configuration: memory queues only" 0 "no store configured in .*memory queues only" - start
nosent "no configuration: no attach" "^ATTACH"
s "comments only: memory queues only" 0 "memory queues only" "# store=/dev/sdz\n\n   \n" start
if [ -b /dev/loop7 ] && [ -b /dev/loop0 ]; then
	# (The fake keeps no state between runs: the show after it finds none.)
	s "attaches the store named" 0 "^" " store = /dev/loop7   # the disk\nflush-interval=200\n" start
	sent "attach: the device and the flush interval" "^ATTACH path=/dev/loop7 flush_ms=200$"
	FAKEMQ_STORE=ok s "attached already: a restart does nothing" 0 "/dev/loop7 is attached already" "store=/dev/loop7\n" start
	nosent "attached already: no attach" "^ATTACH"
	FAKEMQ_STORE=ok s "another store attached: refused" 1 "another store \(device 7:7\) is attached, not /dev/loop0" "store=/dev/loop0\n" start
else
	result 1 "mq-store: attach paths # SKIP no /dev/loop0 and /dev/loop7 block devices"
fi
s "unknown key: its line" 1 "mq.conf:2: unknown key \"stor\"" "# x\nstor=/dev/loop7\n" start
nosent "unknown key: no attach" "^ATTACH"
s "not key=value" 1 "mq.conf:1: expected key=value, got \"/dev/loop7\"" "/dev/loop7\n" start
s "relative device" 1 "store=\"loop7\": expected an absolute device path" "store=loop7\n" start
s "bad flush interval" 1 "flush-interval=\"1s\": expected milliseconds" "store=/dev/loop7\nflush-interval=1s\n" start
s "device that never appears" 1 "/dev/mq-no-such: no such block device after 0s" "store=/dev/mq-no-such\ndevice-timeout=0\n" start
nosent "missing device: no attach" "^ATTACH"
FAKEMQ_STORE=ok s "stop detaches" 0 "store detached cleanly" - stop
sent "stop: a detach" "^DETACH"
s "stop without a store" 0 "no store attached" - stop
nosent "stop without a store: no detach" "^DETACH"
s "no command: usage" 2 "usage: .* start\|stop" -

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
