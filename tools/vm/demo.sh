#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A scripted tour of mq, run inside the VM by `make demo` (as /mq/demo.sh,
# POSIX sh, mq.ko loaded, mqctl and the examples on PATH).

set -e

# step CMD...: show a command, then run it.
step() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@"
}

# say TEXT: show a shell line that step cannot run (pipes, redirections).
say() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
}

title() {
	printf '\n\033[1;34m== %s\033[0m\n' "$*"
}

title "Queues are character devices, created with mqctl"
mqctl monitor >/tmp/monitor.log 2>&1 &
monitor=$!
sleep 0.3
step mqctl queue add jobs max-msg 4K capacity-msgs 1000
step ls -l /dev/mq/

title "One write() is one message, one read() is one message"
say 'echo "resize photo 17" >/dev/mq/jobs; echo "send mail 4" >/dev/mq/jobs'
echo "resize photo 17" >/dev/mq/jobs
echo "send mail 4" >/dev/mq/jobs
step mqctl queue show jobs
say 'dd if=/dev/mq/jobs bs=4096 count=1 status=none    # exactly one read()'
dd if=/dev/mq/jobs bs=4096 count=1 status=none
say 'dd if=/dev/mq/jobs bs=4096 count=1 status=none'
dd if=/dev/mq/jobs bs=4096 count=1 status=none
say 'dd if=/dev/mq/jobs bs=4 count=1 status=none    # buffer too small: EMSGSIZE, nothing lost'
echo "a message longer than four bytes" >/dev/mq/jobs
dd if=/dev/mq/jobs bs=4 count=1 status=none || true
dd if=/dev/mq/jobs bs=4096 count=1 status=none

title "Competing consumers: two producers, two consumers, plain C"
say 'producer jobs 2000 & producer jobs 2000 & consumer jobs & consumer jobs; wait'
consumer jobs 2000 >/tmp/c1.log &
c1=$!
consumer jobs 2000 >/tmp/c2.log &
c2=$!
producer jobs 2000
producer jobs 2000
wait $c1 $c2
cat /tmp/c1.log /tmp/c2.log
printf '(each message went to exactly one consumer: %s + %s = 4000)\n' \
	"$(sed -n 's/.*received \([0-9]*\) messages.*/\1/p' /tmp/c1.log)" \
	"$(sed -n 's/.*received \([0-9]*\) messages.*/\1/p' /tmp/c2.log)"
step mqctl -j -p queue show jobs

title "Access is the node's mode, owner and group, changed at once"
step mqctl queue set jobs mode 0600
step ls -l /dev/mq/jobs
say 'setpriv --reuid mqtest --regid mqtest --clear-groups sh -c "echo hi >/dev/mq/jobs"'
setpriv --reuid 1000 --regid 1000 --clear-groups sh -c 'echo hi >/dev/mq/jobs' || true
step mqctl queue set jobs owner mqtest
say 'setpriv --reuid mqtest --regid mqtest --clear-groups sh -c "echo hi >/dev/mq/jobs"'
setpriv --reuid 1000 --regid 1000 --clear-groups sh -c 'echo hi >/dev/mq/jobs'
echo "(written)"
say 'setpriv --reuid mqtest --regid mqtest --clear-groups mqctl queue del jobs'
setpriv --reuid 1000 --regid 1000 --clear-groups mqctl queue del jobs || true

title "Bad input gets the kernel's reason"
say 'mqctl queue add .hidden'
mqctl queue add .hidden || true
say 'mqctl queue add big max-msg 8M'
mqctl queue add big max-msg 8M || true

title "Deleting a queue wakes its blocked readers with EIDRM"
step mqctl queue add empty
say 'dd if=/dev/mq/empty bs=64 count=1 &    # blocks: the queue is empty'
dd if=/dev/mq/empty bs=64 count=1 status=none &
reader=$!
sleep 0.5
step mqctl queue list
step mqctl queue del empty
wait $reader || true
step mqctl queue del jobs

title "Rings: batches through shared memory (libmq), one syscall per batch"
step mqctl queue add fast capacity-msgs 100000 capacity-bytes 64M
say 'ring_consumer fast 200000 &     # an RX ring: reads messages in place'
ring_consumer fast 200000 >/tmp/ring_consumer.log 2>&1 &
consumer=$!
sleep 0.3
step ring_producer fast 200000 64
wait $consumer || true
cat /tmp/ring_consumer.log
step mqctl queue show fast
step mqctl queue del fast

title "What mqctl monitor saw meanwhile"
sleep 0.3
kill $monitor
cat /tmp/monitor.log

title "Durable queues: a store on the VM's disk, surviving detach and rmmod"
step mqctl store format /dev/vda force
step mqctl store attach /dev/vda
step mqctl queue add orders durability sync
say 'echo "order 1" > /dev/mq/orders; echo "order 2" > /dev/mq/orders   # each on disk when echo returns'
echo "order 1" >/dev/mq/orders
echo "order 2" >/dev/mq/orders
step mqctl store show
step rmmod mq
say 'insmod /mq/mq.ko'
insmod /mq/mq.ko
step mqctl store attach /dev/vda
step mqctl queue show orders
say 'head -n 1 /dev/mq/orders; head -n 1 /dev/mq/orders'
head -n 1 /dev/mq/orders
head -n 1 /dev/mq/orders
step mqctl store detach
printf '\ndemo: done\n'
