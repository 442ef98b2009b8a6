/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The store's own, shared by store_meta.c, store_log.c and
 * store_recover.c; its users see store.h only.
 */
#ifndef _MQ_STORE_INT_H
#define _MQ_STORE_INT_H

#include <linux/blk_types.h>
#include <linux/crc32.h>
#include <linux/kref.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/mq.h>

#include "store.h"

#define BLK		MQ_STORE_BLOCK
#define REC_HDR		sizeof(struct mq_disk_rec)
#define FMODE_STORE	(FMODE_READ | FMODE_WRITE | FMODE_EXCL)

#define MQ_LOGBUF_BYTES	(8U << 20)	/* log bytes buffered in memory */
#define MQ_SEG_FILL	16		/* closed segments a commit may span */

struct block_device;

struct mq_store {
	struct kref ref;
	struct block_device *bdev;
	char path[256];
	u32 devt;
	u8 uuid[16];
	u32 seed;			/* CRC-32C seed, from the uuid */
	u32 seg_size;
	u32 nseg;
	u64 dev_bytes;
	u64 sb_gen;
	u64 cat_gen;
	int cat_slot;			/* copy holding the newest catalog */
	u64 next_serial;
	u64 epoch;			/* this attach's: the superblock generation */
	bool was_clean;
	bool detached;
	void (*changed)(struct mq_store *s);	/* state changed: degraded */
	void (*low_space)(struct mq_store *s);	/* free segments short */
	void *sb_buf;			/* a block for superblock writes */
	u32 flush_ms;

	spinlock_t lock;		/* the log's append state, below */
	u64 head;			/* next record's log position */
	u64 tail_seg;			/* oldest segment still needed */
	u64 cbs;			/* first block not yet wholly durable */
	u64 durable;			/* everything before is on stable storage */
	u64 submitted;			/* the last commit's end: frozen before */
	u64 zeroed;			/* log buffer cleared up to here */
	u64 seg_fill[MQ_SEG_FILL];	/* where closed segments' records end */
	u64 copy_seg;			/* opened by a cleaner's copy (U64_MAX) */
	u64 pos_lpos;			/* the last POS record, while not durable */
	u64 pos_serial;
	int err;			/* sticky: an I/O error degraded the store */
	bool flush_armed;
	struct page **logbuf;		/* the log's newest bytes */
	u32 logbuf_pages;
	struct page *bounce;		/* the commit's last block, a copy */

	bool committing;		/* a writer leads a commit (lock) */
	atomic_t returning;		/* sync writers between two writes */
	wait_queue_head_t gather_wq;	/* a leader waiting for them */
	struct list_head gatherers;	/* sync writers waiting (lock) */
	wait_queue_head_t commit_wq;	/* writers waiting for it to end */
	struct mutex commit_mutex;	/* one commit at a time */
	struct delayed_work flush_work;

	/* statistics, under lock (flush ones under commit_mutex) */
	u64 records;
	u64 flushes;
	u64 flush_ns_total;
	u64 flush_ns_max;
	u64 bytes_written;
	u64 io_errors;
	u64 recovered_msgs;
	u64 corrupt_bytes;
	u64 moved_records;		/* copied forward by the cleaner */
	u64 moved_bytes;
};

static inline u32 mq_crc(u32 seed, const void *p, size_t len)
{
	return __crc32c_le(seed, p, len);
}

static inline u64 mq_rec_size(u32 len)
{
	return round_up(REC_HDR + len, 8);
}

static inline u64 mq_segs_offset(void)
{
	return MQ_SEGS_OFFSET;
}

/* The device offset of log position @lpos. */
static inline u64 mq_phys(const struct mq_store *s, u64 lpos)
{
	u64 k = lpos / s->seg_size;

	return mq_segs_offset() + (k % s->nseg) * s->seg_size +
	       lpos % s->seg_size;
}

/* store_meta.c */
int mq_bdev_rw(struct block_device *bdev, blk_opf_t opf, u64 pos,
	       void *buf, size_t len);
int mq_super_write(struct mq_store *s, u32 flags);

/* store_log.c */
void mq_store_flush_fn(struct work_struct *work);

/* store_recover.c */
const struct mq_disk_rec *mq_rec_ok(struct mq_store *s, const u8 *buf,
				    u64 p, u64 lim, u64 k);

#endif /* _MQ_STORE_INT_H */
