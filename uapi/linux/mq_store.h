/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR MIT) */
/*
 * mq: the on-disk format of a store (version 2). docs/store.md explains
 * it; this header is its definition. Everything is little-endian; every
 * structure is checksummed with CRC-32C (Castagnoli).
 *
 * Layout of the device, in 4 KiB blocks:
 *
 *   0        superblock copy 0
 *   1        superblock copy 1
 *   2 ...    catalog copy 0, then catalog copy 1 (MQ_CAT_BYTES each)
 *   then     segment 0, segment 1, ... (segment_size bytes each)
 *
 * Superblock: the two copies are written alternately (generation even:
 * copy 0, odd: copy 1); the valid copy with the highest generation wins.
 *
 * Catalog: every durable queue (definition, limits, access, consumer
 * position) and the log's oldest live segment. Rewritten whole, to the
 * copy not holding the newest valid catalog, and flushed, on every queue
 * create, change and delete and when log space is reclaimed; the valid
 * copy with the highest generation wins.
 *
 * Log: one circular log of segments for all queues. Virtual segment k
 * lives in physical segment k % segment_count. Its first block is a
 * segment header naming k; records follow, 8-byte aligned, never crossing
 * a segment's end. A segment's records end where the next segment's
 * header says (prev_end); in the newest segment, at the first record that
 * does not check out (a torn tail). Each record names its segment, so a
 * record left from an earlier pass over the device is never taken for a
 * new one, and every checksum is seeded from the store's uuid, so nothing
 * of an earlier format is either.
 */
#ifndef _UAPI_LINUX_MQ_STORE_H
#define _UAPI_LINUX_MQ_STORE_H

#include <linux/types.h>

#define MQ_STORE_BLOCK		4096
#define MQ_STORE_VERSION	2	/* 1: without MQ_REC_F_MOVED */
#define MQ_SUPER_MAGIC		"MQSTORE\0"	/* 8 bytes */
#define MQ_CAT_MAGIC		0x5441434dU	/* "MCAT" */
#define MQ_SEG_MAGIC		0x4745534dU	/* "MSEG" */

#define MQ_CAT_MAX_QUEUES	4096
#define MQ_CAT_BYTES		(MQ_STORE_BLOCK + MQ_CAT_MAX_QUEUES * 256)
#define MQ_CAT_OFFSET		(2 * MQ_STORE_BLOCK)
#define MQ_SEGS_OFFSET		(MQ_CAT_OFFSET + 2 * MQ_CAT_BYTES)

#define MQ_SEG_MIN		0x100000U	/* 1 MiB */
#define MQ_SEG_MAX		0x4000000U	/* 64 MiB */
#define MQ_SEG_DEFAULT		(4U << 20)
/*
 * Segments a store is formatted with, at least: messages leave three
 * free (the cleaner's copies may open all but the last, position records
 * all), and the cleaner never takes the segment being written or the one
 * before it. Stores of 4 or 5, formatted before, still attach; their
 * messages leave two, and their cleaner has little or no room to work.
 */
#define MQ_STORE_MIN_SEGMENTS	6

/*
 * Queue offsets (records, and a catalog entry's head, tail and lease) are
 * below this; anything at or above it is damage.
 */
#define MQ_OFFSET_LIMIT		0x4000000000000000ULL	/* 2^62 */

/* Superblock flags */
#define MQ_SB_CLEAN		0x1U	/* detached cleanly */

/**
 * struct mq_disk_super - a superblock copy, at the start of its block
 * @magic: MQ_SUPER_MAGIC
 * @version: MQ_STORE_VERSION; a newer version is refused
 * @crc: CRC-32C (seed ~0) of the whole struct with @crc zero
 * @generation: +1 on every write
 * @uuid: made at format
 * @device_bytes: size of the device at format
 * @segment_size: bytes, a power of two
 * @segment_count: segments after MQ_SEGS_OFFSET
 * @flags: MQ_SB_*
 * @block_size: MQ_STORE_BLOCK
 * @format_ns: when formatted, CLOCK_REALTIME
 * @reserved: zero
 */
struct mq_disk_super {
	__u8 magic[8];
	__le32 version;
	__le32 crc;
	__le64 generation;
	__u8 uuid[16];
	__le64 device_bytes;
	__le32 segment_size;
	__le32 segment_count;
	__le32 flags;
	__le32 block_size;
	__le64 format_ns;
	__le64 reserved[8];
};

/**
 * struct mq_disk_catalog - head of a catalog copy; count entries follow
 * @magic: MQ_CAT_MAGIC
 * @crc: CRC-32C (seeded from the uuid) of this header with @crc zero and
 *	the @count entries after it
 * @generation: +1 on every write
 * @count: entries that follow (at most MQ_CAT_MAX_QUEUES)
 * @entry_size: sizeof(struct mq_disk_queue)
 * @log_tail: virtual number of the oldest segment still needed
 * @next_serial: the serial the next queue will get
 * @uuid: the store's
 * @reserved: zero
 */
struct mq_disk_catalog {
	__le32 magic;
	__le32 crc;
	__le64 generation;
	__le32 count;
	__le32 entry_size;
	__le64 log_tail;
	__le64 next_serial;
	__u8 uuid[16];
	__le64 reserved[4];
};

/**
 * struct mq_disk_queue - a durable queue in the catalog (256 bytes)
 * @serial: unique in the store, never reused; records name it
 * @head: offset of the oldest message not yet read
 * @tail: offset the next message will get (a hint: records win)
 * @lease: messages below this offset may have been read
 * @cap_bytes: limit
 * @max_msg: limit
 * @cap_msgs: limit
 * @mode: permission bits
 * @uid: owner, in the initial user namespace
 * @gid: group, in the initial user namespace
 * @durability: MQ_DURABILITY_ASYNC or MQ_DURABILITY_SYNC
 * @created_ns: CLOCK_REALTIME
 * @name: NUL-terminated
 * @ident: the queue's identity (mq_info.ident); 0 in entries written
 *	before it was kept: the queue then gets a new one at attach
 * @reserved: zero
 */
struct mq_disk_queue {
	__le64 serial;
	__le64 head;
	__le64 tail;
	__le64 lease;
	__le64 cap_bytes;
	__le32 max_msg;
	__le32 cap_msgs;
	__le32 mode;
	__le32 uid;
	__le32 gid;
	__le32 durability;
	__le64 created_ns;
	char name[72];
	__le64 ident;
	__le64 reserved[13];
};

/**
 * struct mq_disk_seg - header of a segment, at the start of its first block
 * @magic: MQ_SEG_MAGIC
 * @crc: CRC-32C (seeded from the uuid) of the struct with @crc zero
 * @seq: the virtual segment number
 * @prev_end: virtual log position where segment @seq - 1's records end
 * @uuid: the store's
 * @reserved: zero
 */
struct mq_disk_seg {
	__le32 magic;
	__le32 crc;
	__le64 seq;
	__le64 prev_end;
	__u8 uuid[16];
	__le64 reserved[4];
};

/* Record types */
enum {
	MQ_REC_MSG = 1,		/* a message: payload follows */
	MQ_REC_POS = 2,		/* a consumer position: @offset is the head */
	MQ_REC_LEASE = 3,	/* messages below @offset may be read */
};

/*
 * Record flags. MQ_REC_F_MOVED: a copy of a message still queued, written
 * by the cleaner so that the segment of the original can be given back;
 * it may follow records of higher offsets of its queue. Every copy of an
 * offset holds the same message; recovery keeps the newest one found.
 */
#define MQ_REC_F_MOVED		0x1

/**
 * struct mq_disk_rec - a record header; @len payload bytes follow, then
 * zeros to the next multiple of 8
 * @crc: CRC-32C (seeded from the uuid) of the header after @crc and the
 *	payload
 * @type: MQ_REC_*
 * @flags: MQ_REC_F_* (MQ_REC_MSG only), else zero
 * @len: payload bytes (0 but for MQ_REC_MSG)
 * @reserved: zero
 * @seg: the virtual segment the record was written in
 * @serial: the queue's serial
 * @offset: the message's offset, or the position
 * @tstamp_ns: when written, CLOCK_REALTIME
 * @epoch: the writer's epoch (0 until replication)
 */
struct mq_disk_rec {
	__le32 crc;
	__le16 type;
	__le16 flags;
	__le32 len;
	__le32 reserved;
	__le64 seg;
	__le64 serial;
	__le64 offset;
	__le64 tstamp_ns;
	__le64 epoch;
};

#endif /* _UAPI_LINUX_MQ_STORE_H */
