/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * mq: a message queue in the kernel.
 *
 * This header is the whole protocol between mq.ko and user space.
 *
 * Queues
 * ------
 * Every queue is a character device, /dev/mq/NAME. A queue is an append-only
 * log of messages; each message has a 64-bit offset (0, 1, 2, ... in write
 * order), a length and a timestamp.
 *
 *   write(2)/writev(2)  append exactly one message, atomically. 0 bytes:
 *                       EINVAL; more than the queue's max message size:
 *                       EMSGSIZE. A full queue (capacity in messages or in
 *                       bytes reached) blocks the writer, or fails with
 *                       EAGAIN under O_NONBLOCK.
 *   read(2)/readv(2)    remove and return exactly one message, the oldest.
 *                       A buffer shorter than the message: EMSGSIZE, and the
 *                       message stays queued (MQ_IOC_INFO tells its length).
 *                       An empty queue blocks the reader, or EAGAIN.
 *   poll(2)/epoll(7)    EPOLLIN when a message can be read, EPOLLOUT when a
 *                       message of the maximum size fits; EPOLLHUP|EPOLLERR
 *                       once the queue is deleted.
 *
 * Blocking calls are interruptible (EINTR / ERESTARTSYS); a call interrupted
 * by a signal has transferred nothing. Deleting a queue wakes every waiter
 * with EIDRM; later reads, writes and ioctls on an fd of a deleted queue
 * fail with EIDRM. An open fd holds a reference: nothing is freed under it.
 *
 * Access is the device node's mode, owner and group, checked at open(2)
 * like any file (mode 0 means no access but for root).
 *
 * ioctls
 * ------
 * Every ioctl argument starts with "__u32 size" (the caller's sizeof) and
 * "__u64 flags". A size below the first published version's is EINVAL; a
 * larger struct from a newer program is accepted if its unknown tail is
 * zero (else E2BIG; above PAGE_SIZE always E2BIG), and output is truncated
 * to the caller's size. Unknown flag bits and non-zero reserved fields:
 * EINVAL. Unknown ioctl numbers: ENOTTY. On a deleted queue every call
 * fails with EIDRM before any other check.
 *
 *   MQ_IOC_INFO  struct mq_info: the queue's limits, depth and counters.
 *
 * Generic netlink family "mq", version 1
 * --------------------------------------
 * Commands (attributes are MQ_A_*; "R" required, "O" optional):
 *
 *   MQ_CMD_QUEUE_NEW   create a queue. CAP_NET_ADMIN.
 *                      R NAME; O MAX_MSG, CAP_MSGS, CAP_BYTES, MODE, UID, GID.
 *   MQ_CMD_QUEUE_DEL   delete a queue. CAP_NET_ADMIN. R NAME.
 *   MQ_CMD_QUEUE_SET   change limits or access. CAP_NET_ADMIN.
 *                      R NAME; O MAX_MSG, CAP_MSGS, CAP_BYTES, MODE, UID, GID.
 *                      Limits may be lowered below the current depth: the
 *                      queue then accepts no writes until it drains below
 *                      them. Nothing already queued is dropped; blocked
 *                      writers whose message exceeds a lowered MAX_MSG
 *                      fail with EMSGSIZE. New access replaces the device
 *                      node (same dev_t): open fds are unaffected, an
 *                      open(2) racing with it may fail (ENOENT, EACCES).
 *                      Out of memory for the new node: nothing changes.
 *                      If the driver core then fails to add it, the
 *                      change stays made, is announced, and the error
 *                      says so.
 *   MQ_CMD_QUEUE_GET   with NAME: one queue; with NLM_F_DUMP: all queues.
 *                      Any user.
 *
 * Replies, dumps and events all carry the full queue description: NAME, ID,
 * MAX_MSG, CAP_MSGS, CAP_BYTES, MODE, UID, GID, DEVT and the STATS nest
 * (MQ_STAT_*). Dumps are consistent (NLM_F_DUMP_INTR is set when the set of
 * queues changed while the dump ran: restart it).
 *
 * Multicast group "events": MQ_CMD_QUEUE_NEW, MQ_CMD_QUEUE_SET and
 * MQ_CMD_QUEUE_DEL are sent to it after a queue was created, changed or
 * deleted, with the queue's description.
 *
 * Errors come back as netlink errors with an extended ACK message (and the
 * offending attribute where there is one), for example:
 *   EEXIST  "queue exists"            ENOENT  "no such queue"
 *   EINVAL  "invalid queue name"      ERANGE  "max-msg out of range"
 *   ENOSPC  "too many queues"         EPERM   (no CAP_NET_ADMIN)
 *
 * Names: 1 to MQ_NAME_MAX characters of [A-Za-z0-9._-], not starting with
 * a dot. Limits: MAX_MSG from 1 to MQ_MAX_MSG_LIMIT bytes; CAP_MSGS at
 * least 1; CAP_BYTES at least MAX_MSG. MODE holds permission bits only
 * (0 to 0777).
 */
#ifndef _UAPI_LINUX_MQ_H
#define _UAPI_LINUX_MQ_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define MQ_GENL_NAME		"mq"
#define MQ_GENL_VERSION		1
#define MQ_GENL_MCGRP_EVENTS	"events"

#define MQ_NAME_MAX		64
#define MQ_MAX_MSG_LIMIT	(4U << 20)
#define MQ_DEFAULT_MAX_MSG	(64U << 10)
#define MQ_DEFAULT_CAP_MSGS	4096U
#define MQ_DEFAULT_CAP_BYTES	(4ULL << 20)
#define MQ_DEFAULT_MODE		0660

enum mq_cmd {
	MQ_CMD_UNSPEC,
	MQ_CMD_QUEUE_NEW,
	MQ_CMD_QUEUE_DEL,
	MQ_CMD_QUEUE_GET,
	MQ_CMD_QUEUE_SET,

	__MQ_CMD_MAX
};

#define MQ_CMD_MAX (__MQ_CMD_MAX - 1)

enum mq_attr {
	MQ_A_UNSPEC,
	MQ_A_PAD,
	MQ_A_QUEUE_NAME,	/* NUL-terminated string */
	MQ_A_QUEUE_ID,		/* u32, read-only */
	MQ_A_QUEUE_MAX_MSG,	/* u32, bytes */
	MQ_A_QUEUE_CAP_MSGS,	/* u32, messages */
	MQ_A_QUEUE_CAP_BYTES,	/* u64, bytes */
	MQ_A_QUEUE_MODE,	/* u32, permission bits */
	MQ_A_QUEUE_UID,		/* u32, in the caller's user namespace */
	MQ_A_QUEUE_GID,		/* u32, in the caller's user namespace */
	MQ_A_QUEUE_DEVT,	/* u32, read-only: new_encode_dev() of the node */
	MQ_A_QUEUE_STATS,	/* nest of MQ_STAT_*, read-only */

	__MQ_A_MAX
};

#define MQ_A_MAX (__MQ_A_MAX - 1)

enum mq_stat {
	MQ_STAT_UNSPEC,
	MQ_STAT_PAD,
	MQ_STAT_MSGS_IN,	/* u64 */
	MQ_STAT_BYTES_IN,	/* u64 */
	MQ_STAT_MSGS_OUT,	/* u64 */
	MQ_STAT_BYTES_OUT,	/* u64 */
	MQ_STAT_DEPTH_MSGS,	/* u64 */
	MQ_STAT_DEPTH_BYTES,	/* u64 */
	MQ_STAT_PEAK_MSGS,	/* u64, highest depth in messages seen */
	MQ_STAT_HEAD_OFFSET,	/* u64, offset of the oldest queued message */
	MQ_STAT_TAIL_OFFSET,	/* u64, offset the next message will get */
	MQ_STAT_BLOCKED_READERS,	/* u32, readers asleep now */
	MQ_STAT_BLOCKED_WRITERS,	/* u32, writers asleep now */
	MQ_STAT_OPEN_FDS,	/* u32 */

	__MQ_STAT_MAX
};

#define MQ_STAT_MAX (__MQ_STAT_MAX - 1)

/**
 * struct mq_info - argument of MQ_IOC_INFO
 * @size: in: sizeof(struct mq_info) as the caller knows it
 * @reserved0: must be zero
 * @flags: in: must be zero (no flags defined yet)
 * @queue_id: the queue's id
 * @max_msg: maximum message size, bytes
 * @cap_msgs: capacity, messages
 * @cap_bytes: capacity, bytes
 * @depth_msgs: messages queued now
 * @depth_bytes: payload bytes queued now
 * @peak_msgs: highest depth_msgs seen
 * @head_offset: offset of the oldest queued message (== tail when empty)
 * @tail_offset: offset the next written message will get
 * @next_len: length of the oldest queued message, 0 when empty
 * @blocked_readers: readers asleep now
 * @blocked_writers: writers asleep now
 * @open_fds: open file descriptions of this queue
 * @msgs_in: messages written since creation
 * @bytes_in: bytes written since creation
 * @msgs_out: messages read since creation
 * @bytes_out: bytes read since creation
 */
struct mq_info {
	__u32 size;
	__u32 reserved0;
	__u64 flags;
	__u32 queue_id;
	__u32 max_msg;
	__u32 cap_msgs;
	__u32 next_len;
	__u64 cap_bytes;
	__u64 depth_msgs;
	__u64 depth_bytes;
	__u64 peak_msgs;
	__u64 head_offset;
	__u64 tail_offset;
	__u32 blocked_readers;
	__u32 blocked_writers;
	__u32 open_fds;
	__u32 reserved1;
	__u64 msgs_in;
	__u64 bytes_in;
	__u64 msgs_out;
	__u64 bytes_out;
};

#define MQ_INFO_SIZE_VER0	128	/* first published sizeof(struct mq_info) */

#define MQ_IOC_MAGIC	0xB8
/* The size lives in the struct, not in the number, so the ABI can grow. */
#define MQ_IOC_INFO	_IO(MQ_IOC_MAGIC, 0x01)

#endif /* _UAPI_LINUX_MQ_H */
