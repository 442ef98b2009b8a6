#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A scripted tour of mq, run inside the VM by `make demo` (as /mq/demo.sh,
# POSIX sh, mq.ko loaded, mqctl on PATH). Placeholder: extend it as
# features land.

set -e

# step CMD...: show a command, then run it.
step() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@"
}

# say TEXT: show a shell line that step cannot run (redirections).
say() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
}

step mqctl queue add demo
step ls -l /dev/mq/

say 'echo hello >/dev/mq/demo; echo world >/dev/mq/demo'
echo hello >/dev/mq/demo
echo world >/dev/mq/demo
step mqctl queue show demo

# One read() returns one message: dd with count=1 does exactly one read.
say 'dd if=/dev/mq/demo bs=4096 count=1 status=none    # one read() = one message'
dd if=/dev/mq/demo bs=4096 count=1 status=none
say 'dd if=/dev/mq/demo bs=4096 count=1 status=none'
dd if=/dev/mq/demo bs=4096 count=1 status=none
step mqctl queue show demo
step mqctl queue del demo
printf '\ndemo: done\n'
