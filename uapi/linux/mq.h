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
 * Access is the queue's mode, owner and group (its device node carries
 * them), checked at open(2) like any file's (mode 0 means no access but
 * for root): the node's and the queue's own, so that a copy of a node, or
 * a stale one whose minor a newer queue has, opens nothing the queue's
 * settings do not allow (EACCES). While the store of a durable queue is
 * being detached, open(2) of it fails with EBUSY; a queue being created
 * or attached is not there yet (ENXIO).
 *
 * ioctls
 * ------
 * Every ioctl argument starts with "__u32 size" (the caller's sizeof) and
 * "__u64 flags". A size below the first published version's is EINVAL; a
 * larger struct from a newer program is accepted if its unknown tail is
 * zero (else E2BIG; above PAGE_SIZE always E2BIG), and output is truncated
 * to the caller's size. Unknown flag bits, non-zero reserved fields and
 * non-zero output fields ("out:" below: zero the struct, or clear them,
 * before each call) are EINVAL, so that any of them can become an input
 * later. Unknown ioctl numbers: ENOTTY. On a deleted queue every call
 * fails with EIDRM before any other check.
 *
 * The numbers are _IOWR(MQ_IOC_MAGIC, nr, struct): type 0xB8 (unassigned
 * in the ioctl-number list of Linux 6.1; numbers are matched per device,
 * so another driver's use of the type elsewhere does not clash), number
 * nr, direction read and write. Their size field is that of the struct
 * in the header a program was built with: the kernel matches type,
 * number and direction and takes the size from the struct's own size
 * field, so programs built with an older or a newer header keep working.
 *
 *   MQ_IOC_INFO  struct mq_info: the queue's limits, depth and counters.
 *   MQ_IOC_RECV  struct mq_recv: read(2) with metadata: removes the oldest
 *                message into buf and tells its length, offset,
 *                timestamp and flags (MQ_MSG_REDELIVERED). Errors as
 *                read(2); O_NONBLOCK applies.
 *   MQ_IOC_RING_SETUP  struct mq_ring_setup: a TX ring, an RX ring or both
 *                for the queue, behind a new fd (the return value), and
 *                where to map them.
 *   MQ_IOC_RING_ENTER  (on a ring fd) struct mq_ring_enter: submit TX,
 *                fill RX, wait.
 *
 * Rings
 * -----
 * A ring fd has a TX ring (the process produces messages, the kernel
 * takes them into the queue), an RX ring (the kernel moves messages of
 * the queue into it, the process reads them in place) or both, in the
 * style of io_uring and AF_XDP. MQ_IOC_RING_SETUP on an fd of the queue
 * allocates them, charged to the calling process's memory cgroup, and
 * returns the ring fd (O_RDWR, close-on-exec): a TX ring needs the queue
 * fd open for writing, an RX ring open for reading (else EBADF), and the
 * ring fd keeps those rights, and the queue, for its life, like an open
 * fd of the queue (it counts in open_fds). Sizes are fixed for the life
 * of the ring fd. On the ring fd, each ring is one mmap(2) region at a
 * fixed offset (MQ_RING_OFF_TX, MQ_RING_OFF_RX) of "region" bytes,
 * MAP_SHARED, read and write; the status page (MQ_RING_OFF_STATUS,
 * struct mq_ring_status) is kernel-owned and may only be mapped
 * read-only. Wrong offsets, lengths or protections fail with EINVAL or
 * EACCES. The ring fd takes MQ_IOC_RING_ENTER and poll(2) (below).
 *
 * A ring region holds a __u32 head, a __u32 tail and a __u32 flags word
 * (each on its own cache line, at the offsets struct mq_ring_offsets
 * gives) and a data area of "size" bytes (a power of two). head and tail
 * are free-running byte counters: the bytes in the ring are tail - head,
 * at data + (index & (size - 1)). The producer owns tail, the consumer
 * head: for TX the process produces, for RX the kernel does. Publish with
 * a release store after writing the records, read the other side's index
 * with an acquire load.
 *
 * The data area holds records, each a struct mq_ring_rec header followed
 * by the payload, padded to MQ_RING_ALIGN (8) bytes. A record never
 * wraps: when fewer than sizeof(struct mq_ring_rec) bytes are left before
 * the end of the data area, they are skipped; when the header fits but
 * the record does not, the producer writes a pad record (flags
 * MQ_RING_REC_PAD, len the bytes after its header up to the end) and
 * goes on at the start. (The kernel takes a TX pad of any length that
 * fits, as a record to step over.) A record's len is at most size - 32.
 *
 * The record header can grow. MQ_IOC_RING_SETUP reports its size, the
 * same in both rings, in rec_size: sizeof(struct mq_ring_rec) (32)
 * today; a later kernel may report more, with new fields after these.
 * A program uses rec_size wherever this comment says
 * sizeof(struct mq_ring_rec) or 32 (where a payload starts, how far a
 * record reaches, when a gap at the end is too short for a header, a
 * pad's len), zeroes the header bytes it does not know in the records
 * it writes, and refuses a rec_size smaller than the sizeof it was
 * built with. The field reserved is zero in RX and must be zero in TX:
 * a TX record (a pad too) with reserved not zero is skipped and counted
 * in tx_bad like one with unknown flags, so that a later kernel can
 * give it a meaning for new producers without misreading old ones.
 * features tells what the kernel supports (MQ_RING_FEAT_*).
 *
 * TX: each record is one message (flags 0, reserved 0, offset and
 * tstamp_ns ignored). MQ_RING_ENTER with MQ_RING_ENTER_SUBMIT takes the
 * records between the kernel's head and the published tail into the
 * queue, in order, with the same limits, permissions (checked at setup)
 * and accounting as write(2), and stores the new head. It does not wait
 * for a sync queue's commit: the status page tells when the messages are
 * on stable storage, and MQ_RING_ENTER_DURABLE waits for it, once for
 * the whole batch. The kernel reads every record header once and trusts
 * nothing in the ring: a record with unknown flags, reserved not zero,
 * len 0 or len above the queue's max message size is skipped and counted
 * (tx_bad); a record that does not fit between its start and the tail
 * ends the batch: the rest up to the tail is dropped and counted as one
 * bad record. A tail more than size ahead of the kernel's head, or not
 * aligned, fails the call with EINVAL, counted in tx_bad, and takes
 * nothing. A full queue stops the batch (the rest stays in the ring)
 * unless MQ_RING_ENTER_WAIT is set.
 *
 * RX: the kernel writes messages of the queue as records (len, offset,
 * tstamp_ns, flags MQ_MSG_REDELIVERED, reserved 0) and publishes the
 * tail; each message goes to exactly one reader, ring or read(2). A
 * message is removed from the queue once it is in the ring (durable
 * queues log the position as for read(2)). The process reads records in
 * place and releases them by storing head. A head that is not between
 * the kernel's last accepted head and its tail, or not aligned, is
 * ignored and counted (rx_bad). The kernel fills an RX ring on
 * MQ_RING_ENTER with MQ_RING_ENTER_GETMSGS; and while a memory queue
 * holds nothing and no read(2) sleeps on it, writers with TX rings move
 * their messages straight into the RX rings of the queue, each batch to
 * the ring with the most free space: that is the load balancing between
 * ring consumers. A message larger than the RX ring can hold fails
 * MQ_RING_ENTER_GETMSGS with EMSGSIZE and stays queued.
 *
 * Status: tx_msgs counts the messages taken from this fd's TX ring into
 * the queue, tx_durable those of them on stable storage (durable queues;
 * equal to tx_msgs for memory queues). The kernel updates tx_durable on
 * every MQ_RING_ENTER and poll(2); MQ_RING_ENTER_DURABLE waits for it.
 *
 * poll(2) on a ring fd: EPOLLIN (only with an RX ring) when the RX ring
 * holds a record or the queue a message; EPOLLOUT (only with a TX ring)
 * when the TX ring has room for a maximal message or the queue has room
 * for one; EPOLLHUP|EPOLLERR once the queue is deleted.
 * Ring fds and plain read(2)/write(2) users share a queue freely.
 *
 * Generic netlink family "mq", version 1
 * --------------------------------------
 * Commands (attributes are MQ_A_*; "R" required, "O" optional):
 *
 *   MQ_CMD_QUEUE_NEW   create a queue. CAP_NET_ADMIN.
 *                      R NAME; O MAX_MSG, CAP_MSGS, CAP_BYTES, MODE, UID, GID.
 *   MQ_CMD_QUEUE_DEL   delete a queue. CAP_NET_ADMIN. R NAME. A durable
 *                      queue: ENOMEM (no memory for the store's catalog)
 *                      changes nothing.
 *   MQ_CMD_QUEUE_SET   change limits or access. CAP_NET_ADMIN.
 *                      R NAME; O MAX_MSG, CAP_MSGS, CAP_BYTES, MODE, UID, GID.
 *                      Limits may be lowered below the current depth: the
 *                      queue then accepts no writes until it drains below
 *                      them. Nothing already queued is dropped; blocked
 *                      writers whose message exceeds a lowered MAX_MSG
 *                      fail with EMSGSIZE. New access replaces the device
 *                      node (same dev_t): open fds are unaffected, an
 *                      open(2) racing with it may fail (ENOENT, EACCES).
 *                      Out of memory for the new node (or, for a durable
 *                      queue, for the store's catalog): nothing changes.
 *                      If the driver core then fails to add it, the
 *                      change stays made, is announced, and the error
 *                      says so.
 *   MQ_CMD_QUEUE_GET   with NAME: one queue; with NLM_F_DUMP: all queues.
 *                      Any user.
 *
 *   MQ_CMD_STORE_FORMAT  write an empty store on a block device.
 *                      CAP_SYS_ADMIN. R STORE_PATH; O STORE_SEGMENT_SIZE.
 *                      Overwrites whatever the device held; refused with
 *                      EBUSY while that device (or any store) is attached.
 *   MQ_CMD_STORE_ATTACH  open the store on STORE_PATH and bring back its
 *                      queues. CAP_SYS_ADMIN. R STORE_PATH; O
 *                      STORE_FLUSH_MS. A device that is not an mq store,
 *                      or of a newer format version (either superblock),
 *                      is refused (EMEDIUMTYPE, EPROTONOSUPPORT) and left
 *                      untouched; so is one whose superblocks or catalog
 *                      cannot be read (EIO, ENOMEM: try again); a damaged
 *                      one is recovered as far as it is intact, or
 *                      refused (EUCLEAN) with the reason.
 *   MQ_CMD_STORE_DETACH  flush, mark clean and close the store; its queues
 *                      go away. CAP_SYS_ADMIN. EBUSY while a durable
 *                      queue has an open fd; ENOMEM (no memory for the
 *                      final catalog): still attached, nothing changed.
 *   MQ_CMD_STORE_GET   the attached store (ENODEV when none). Any user.
 *                      Replies and store events carry STORE_PATH,
 *                      STORE_SEGMENT_SIZE, STORE_FLUSH_MS (default 50)
 *                      and the STORE_INFO nest (MQ_SSTAT_*). A path that
 *                      is not a block device: ENOTBLK.
 *
 * Durability (QUEUE_DURABILITY, MQ_DURABILITY_*): "memory" queues live
 * in RAM only. "async" and "sync" queues live in the attached store: a
 * write(2) to an "async" queue returns once the message is in the
 * store's log buffer, flushed to stable storage within STORE_FLUSH_MS;
 * a write(2) to a "sync" queue returns only after its message is on
 * stable storage; concurrent writers share commits. A store that cannot
 * take a message fails the write with ENOSPC (full, or its queues hold
 * over three quarters of its log: space comes back as consumers read)
 * or EIO (device error: the store is degraded, see
 * STORE_STATE); nothing is appended then. A full log makes a blocking
 * writer wait for the store's cleaner first; a non-blocking one gets
 * EAGAIN while the cleaner works, and poll(2) reports EPOLLOUT again
 * when it is done: ENOSPC only once a run of it left no room. Consumer positions are logged
 * as messages are read, and a message is handed to a reader only once a
 * read lease covering it is on stable storage; after a crash, the
 * messages that may have been read since the last durable position come
 * back flagged MQ_MSG_REDELIVERED (MQ_IOC_RECV, MQ_IOC_INFO): a message
 * without the flag was never read. Durable queues need
 * MAX_MSG no larger than a quarter of the store's segment size;
 * changing a queue between memory and durable needs it to be empty.
 *
 * Replies, dumps and events all carry the full queue description: NAME, ID,
 * IDENT, MAX_MSG, CAP_MSGS, CAP_BYTES, MODE, UID, GID, DEVT and the STATS
 * nest (MQ_STAT_*). ID is the queue's minor, reused once the queue is
 * deleted; IDENT is never reused. Dumps are consistent (NLM_F_DUMP_INTR is set when the set of
 * queues changed while the dump ran: restart it).
 *
 * Multicast group "events": MQ_CMD_QUEUE_NEW, MQ_CMD_QUEUE_SET and
 * MQ_CMD_QUEUE_DEL are sent to it after a queue was created, changed or
 * deleted, with the queue's description; MQ_CMD_STORE_ATTACH,
 * MQ_CMD_STORE_DETACH and MQ_CMD_STORE_GET (the store's state changed,
 * e.g. degraded by an I/O error) with the store's description. Joining
 * it needs CAP_NET_ADMIN (EPERM otherwise): it is a live feed of every
 * queue's creation, change and deletion on the host, as it happens,
 * which is the administrator's to follow (QUEUE_GET and STORE_GET, which
 * a user asks for, stay open to all).
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
#define MQ_STORE_PATH_MAX	255	/* bytes of a store's device path */
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
	MQ_CMD_STORE_FORMAT,
	MQ_CMD_STORE_ATTACH,
	MQ_CMD_STORE_DETACH,
	MQ_CMD_STORE_GET,

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
	MQ_A_QUEUE_DURABILITY,	/* u32, MQ_DURABILITY_* */
	MQ_A_STORE_PATH,	/* NUL-terminated string, the block device */
	MQ_A_STORE_SEGMENT_SIZE,	/* u32, bytes: power of 2, 1-64 MiB */
	MQ_A_STORE_FLUSH_MS,	/* u32, async flush interval, 1-10000 ms */
	MQ_A_STORE_INFO,	/* nest of MQ_SSTAT_*, read-only */
	MQ_A_QUEUE_IDENT,	/* u64, read-only: see mq_info.ident */

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
	MQ_STAT_BLOCKED_READERS,	/* u32, readers asleep now (rings too) */
	MQ_STAT_BLOCKED_WRITERS,	/* u32, writers asleep now */
	MQ_STAT_OPEN_FDS,	/* u32 */

	__MQ_STAT_MAX
};

#define MQ_STAT_MAX (__MQ_STAT_MAX - 1)

enum mq_durability {
	MQ_DURABILITY_MEMORY,	/* RAM only */
	MQ_DURABILITY_ASYNC,	/* in the store, flushed within FLUSH_MS */
	MQ_DURABILITY_SYNC,	/* write(2) returns once on stable storage */
};

enum mq_store_state {
	MQ_STORE_OK,
	MQ_STORE_DEGRADED,	/* an I/O error: durable writes fail with EIO */
};

/* The attached store, in MQ_A_STORE_INFO; all read-only. */
enum mq_store_stat {
	MQ_SSTAT_UNSPEC,
	MQ_SSTAT_PAD,
	MQ_SSTAT_DEVT,		/* u32, new_encode_dev() of the device */
	MQ_SSTAT_SIZE,		/* u64, bytes of the device in use */
	MQ_SSTAT_SEGMENT_SIZE,	/* u32, bytes */
	MQ_SSTAT_SEGMENTS,	/* u32, segments in all */
	MQ_SSTAT_SEGMENTS_USED,	/* u32, segments holding live records */
	MQ_SSTAT_BYTES_USED,	/* u64, log bytes live (segments used) */
	MQ_SSTAT_BYTES_FREE,	/* u64, log bytes free */
	MQ_SSTAT_STATE,		/* u32, MQ_STORE_* */
	MQ_SSTAT_FLUSH_MS,	/* u32, async flush interval */
	MQ_SSTAT_FLUSHES,	/* u64, flushes (commits) done */
	MQ_SSTAT_FLUSH_NS_AVG,	/* u64, mean commit latency */
	MQ_SSTAT_FLUSH_NS_MAX,	/* u64, worst commit latency */
	MQ_SSTAT_BYTES_WRITTEN,	/* u64, log bytes written */
	MQ_SSTAT_RECORDS,	/* u64, records appended since attach */
	MQ_SSTAT_IO_ERRORS,	/* u64 */
	MQ_SSTAT_QUEUES,	/* u32, durable queues */
	MQ_SSTAT_GENERATION,	/* u64, superblock generation */
	MQ_SSTAT_RECOVERED_MSGS,	/* u64, messages brought back at attach */
	MQ_SSTAT_CORRUPT_BYTES,	/* u64, damaged log bytes skipped at attach */
	MQ_SSTAT_CLEAN,		/* u32, 1 if the detach before this attach
				 * was clean (0: recovered after a crash)
				 */
	MQ_SSTAT_MOVED_RECORDS,	/* u64, messages the cleaner copied forward
				 * so that their segments could be given back
				 */
	MQ_SSTAT_MOVED_BYTES,	/* u64, log bytes those copies took */

	__MQ_SSTAT_MAX
};

#define MQ_SSTAT_MAX (__MQ_SSTAT_MAX - 1)

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
 * @blocked_readers: readers asleep now (read(2), MQ_IOC_RECV, and ring
 *	consumers in MQ_RING_ENTER_WAIT)
 * @blocked_writers: writers asleep now
 * @open_fds: open file descriptions of this queue
 * @msgs_in: messages written since creation
 * @bytes_in: bytes written since creation
 * @msgs_out: messages read since creation
 * @bytes_out: bytes read since creation
 * @durability: MQ_DURABILITY_* (since size 160)
 * @next_flags: MQ_MSG_* of the oldest queued message
 * @durable_offset: messages below this offset are on stable storage
 *	(memory queues: 0)
 * @redelivered: queued messages flagged MQ_MSG_REDELIVERED
 * @ident: the queue's identity: unique on the host and never reused
 *	(a queue deleted and created again under the same name, or given
 *	the same minor, has another); a durable queue keeps it in the store
 *	across detach, attach and reboots (also MQ_A_QUEUE_IDENT)
 *
 * Every field but @size and @flags is an output: zero on input.
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
	__u32 durability;
	__u32 next_flags;
	__u64 durable_offset;
	__u64 redelivered;
	__u64 ident;
};

#define MQ_INFO_SIZE_VER0	128	/* first published sizeof(struct mq_info) */
#define MQ_INFO_SIZE_VER1	160	/* + durability, next_flags, ... */

/* Message flags (struct mq_recv, mq_info.next_flags). */
#define MQ_MSG_REDELIVERED	0x1U	/* may have been read before */

/**
 * struct mq_recv - argument of MQ_IOC_RECV
 * @size: in: sizeof(struct mq_recv) as the caller knows it
 * @reserved0: must be zero
 * @flags: in: must be zero
 * @buf: in: user address of the buffer
 * @buf_len: in: its size
 * @msg_flags: out: MQ_MSG_*
 * @len: out: the message's length
 * @reserved1: must be zero
 * @offset: out: the message's offset
 * @tstamp_ns: out: when it was written, CLOCK_REALTIME
 */
struct mq_recv {
	__u32 size;
	__u32 reserved0;
	__u64 flags;
	__u64 buf;
	__u32 buf_len;
	__u32 msg_flags;
	__u32 len;
	__u32 reserved1;
	__u64 offset;
	__u64 tstamp_ns;
};

#define MQ_RECV_SIZE_VER0	56

/**
 * struct mq_ring_offsets - where a ring's parts are in its mmap region
 * @head: byte offset of the __u32 consumer index
 * @tail: byte offset of the __u32 producer index
 * @flags: byte offset of the __u32 flags word (none defined yet)
 * @data: byte offset of the data area
 * @size: bytes in the data area, a power of two
 * @region: bytes to map at @mmap_off
 * @mmap_off: the mmap(2) offset of the region (MQ_RING_OFF_*)
 */
struct mq_ring_offsets {
	__u32 head;
	__u32 tail;
	__u32 flags;
	__u32 data;
	__u32 size;
	__u32 region;
	__u64 mmap_off;
};

/**
 * struct mq_ring_setup - argument of MQ_IOC_RING_SETUP
 * @size: in: sizeof(struct mq_ring_setup) as the caller knows it
 * @reserved0: must be zero
 * @flags: in: must be zero
 * @tx_size: in: TX data bytes, a power of two from MQ_RING_SIZE_MIN to
 *	MQ_RING_SIZE_MAX, or 0 for no TX ring (the fd must be writable)
 * @rx_size: in: RX data bytes, the same, or 0 (the fd must be readable)
 * @tx: out: the TX ring's layout (zero without one)
 * @rx: out: the RX ring's layout (zero without one)
 * @status_off: out: the mmap(2) offset of the status page
 * @status_len: out: bytes to map there
 * @rec_size: out: bytes of a record header in both rings, the payload's
 *	offset in a record (sizeof(struct mq_ring_rec), 32, today; see
 *	"Rings" above)
 * @features: out: MQ_RING_FEAT_* this kernel supports
 *
 * Every out field must be zero on input.
 *
 * Return: the ring fd. Errors: EINVAL (bad sizes, both 0, flags, out
 * fields not zero), EBADF (a ring the fd's open mode does not allow),
 * ENOMEM (also: the rings' pages, control pages and the status page
 * included, would take the caller's user past its RLIMIT_MEMLOCK, as
 * io_uring's rings do; not with CAP_IPC_LOCK), EMFILE.
 */
struct mq_ring_setup {
	__u32 size;
	__u32 reserved0;
	__u64 flags;
	__u32 tx_size;
	__u32 rx_size;
	struct mq_ring_offsets tx;
	struct mq_ring_offsets rx;
	__u64 status_off;
	__u32 status_len;
	__u32 rec_size;
	__u64 features;
};

#define MQ_RING_SETUP_SIZE_VER0	112

/* mq_ring_setup.features: what the kernel does. */
#define MQ_RING_FEAT_RX_TAIL	0x1ULL	/* MQ_RING_ENTER_RX_TAIL */
#define MQ_RING_FEAT_DURABLE	0x2ULL	/* MQ_RING_ENTER_DURABLE, tx_durable */
#define MQ_RING_FEAT_DIRECT	0x4ULL	/* TX batches straight into RX rings */

#define MQ_RING_SIZE_MIN	4096U
#define MQ_RING_SIZE_MAX	(64U << 20)
#define MQ_RING_ALIGN		8U

#define MQ_RING_OFF_TX		0x0ULL
#define MQ_RING_OFF_RX		0x10000000ULL
#define MQ_RING_OFF_STATUS	0x20000000ULL

/**
 * struct mq_ring_rec - a record in a ring's data area
 * @len: payload bytes that follow; for a pad record, the bytes skipped
 * @flags: MQ_RING_REC_PAD; in RX also MQ_MSG_REDELIVERED
 * @offset: RX: the message's offset in the queue (TX: ignored)
 * @tstamp_ns: RX: when it was written, CLOCK_REALTIME (TX: ignored)
 * @reserved: RX: zero; TX: must be zero (else the record is bad)
 *
 * The header is mq_ring_setup.rec_size bytes: more than this in a later
 * kernel, never less.
 */
struct mq_ring_rec {
	__u32 len;
	__u32 flags;
	__u64 offset;
	__u64 tstamp_ns;
	__u64 reserved;
};

#define MQ_RING_REC_PAD		0x80000000U

/**
 * struct mq_ring_status - the kernel-owned status page (read-only)
 * @tx_msgs: messages taken from TX into the queue
 * @tx_durable: of those, how many are on stable storage, in order
 * @tx_bad: TX records skipped or dropped as invalid
 * @rx_msgs: messages written into RX
 * @rx_bad: RX head stores ignored as invalid
 * @tx_direct: of tx_msgs, those handed straight to an RX ring
 */
struct mq_ring_status {
	__u64 tx_msgs;
	__u64 tx_durable;
	__u64 tx_bad;
	__u64 rx_msgs;
	__u64 rx_bad;
	__u64 tx_direct;
};

/**
 * struct mq_ring_enter - argument of MQ_IOC_RING_ENTER
 * @size: in: sizeof(struct mq_ring_enter) as the caller knows it
 * @reserved0: must be zero
 * @flags: in: MQ_RING_ENTER_*
 * @submitted: out: TX records taken into the queue by this call
 * @delivered: out: messages this call wrote into the RX ring
 * @bad: out: TX records this call skipped or dropped as invalid
 * @rx_tail: in: with MQ_RING_ENTER_RX_TAIL, the RX tail the caller last
 *	read; else must be zero
 *
 * SUBMIT takes TX records into the queue; with WAIT it sleeps while the
 * queue is full until every published record is taken. DURABLE then
 * waits until every message taken from TX is on stable storage.
 * GETMSGS fills the RX ring from the queue; with WAIT, if that added
 * nothing and the queue is empty, it sleeps while the RX ring holds no
 * record past the process's head (tail == head), or, with RX_TAIL,
 * while the RX tail still equals @rx_tail: a consumer that holds records
 * it has not released passes the tail it saw, futex-style, so that a
 * batch handed over after it looked and before it slept wakes it. If the
 * queue holds messages that do not fit, it returns at once (the ring is
 * full until the process releases records). Like write(2) after a
 * partial transfer, a call that did something returns 0 with its
 * counts; an error or a signal that came after that is not reported
 * (the next call meets the error again, if it lasts). Only a call that
 * did nothing fails. Errors: EINVAL (flags, a ring the
 * fd does not have, a bad TX tail: nothing is taken then), EINTR (a
 * signal during a wait), EIDRM, EMSGSIZE (the queue's next message is
 * larger than the RX ring can ever hold), and as for write(2) EIO,
 * ENOSPC, ENOMEM.
 */
struct mq_ring_enter {
	__u32 size;
	__u32 reserved0;
	__u64 flags;
	__u32 submitted;
	__u32 delivered;
	__u32 bad;
	__u32 rx_tail;
};

#define MQ_RING_ENTER_SIZE_VER0	32

#define MQ_RING_ENTER_SUBMIT	0x1ULL
#define MQ_RING_ENTER_GETMSGS	0x2ULL
#define MQ_RING_ENTER_WAIT	0x4ULL
#define MQ_RING_ENTER_DURABLE	0x8ULL
#define MQ_RING_ENTER_RX_TAIL	0x10ULL

/* See "ioctls" above: the kernel takes the size from the struct. */
#define MQ_IOC_MAGIC	0xB8
#define MQ_IOC_INFO	_IOWR(MQ_IOC_MAGIC, 0x01, struct mq_info)
#define MQ_IOC_RECV	_IOWR(MQ_IOC_MAGIC, 0x02, struct mq_recv)
#define MQ_IOC_RING_SETUP	_IOWR(MQ_IOC_MAGIC, 0x03, struct mq_ring_setup)
#define MQ_IOC_RING_ENTER	_IOWR(MQ_IOC_MAGIC, 0x04, struct mq_ring_enter)

#endif /* _UAPI_LINUX_MQ_H */
