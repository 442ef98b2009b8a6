/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The store: one block device holding every durable queue as a single
 * circular, checksummed log (uapi/linux/mq_store.h, docs/store.md).
 */
#ifndef _MQ_STORE_H
#define _MQ_STORE_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/netlink.h>
#include <linux/mq_store.h>

struct block_device;
struct mq_queue;
struct mq_msg;

#define MQ_RING_BYTES	(8U << 20)	/* log bytes buffered in memory */
#define MQ_SEG_FILL	16		/* closed segments a commit may span */

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
	void *sb_buf;			/* a block for superblock writes */
	u32 flush_ms;

	atomic64_t resident;		/* durable payload bytes in memory */

	spinlock_t lock;		/* the log's append state, below */
	u64 head;			/* next record's log position */
	u64 tail_seg;			/* oldest segment still needed */
	u64 cbs;			/* first block not yet wholly durable */
	u64 durable;			/* everything before is on stable storage */
	u64 submitted;			/* the last commit's end: frozen before */
	u64 zeroed;			/* ring pages cleared up to here */
	u64 seg_fill[MQ_SEG_FILL];	/* where closed segments' records end */
	u64 pos_lpos;			/* the last POS record, while not durable */
	u64 pos_serial;
	int err;			/* sticky: an I/O error degraded the store */
	bool flush_armed;
	struct page **ring;
	u32 ring_pages;
	struct page *bounce;		/* the commit's last block, a copy */

	bool committing;		/* a writer leads a commit (lock) */
	atomic_t returning;		/* sync writers between two writes */
	wait_queue_head_t gather_wq;	/* a leader waiting for them */
	struct list_head gatherers;	/* sync writers waiting (lock) */
	wait_queue_head_t commit_wq;	/* writers waiting for it to end */
	struct mutex commit_mutex;	/* one commit at a time */
	struct delayed_work flush_work;

	struct list_head queues;	/* durable queues, under mq_reg_lock */
	u32 nqueues;

	/* statistics, under lock (flush ones under commit_mutex) */
	u64 records;
	u64 flushes;
	u64 flush_ns_total;
	u64 flush_ns_max;
	u64 bytes_written;
	u64 io_errors;
	u64 recovered_msgs;
	u64 corrupt_bytes;
};

struct mq_store_stats {
	u32 devt;
	u64 size;
	u32 seg_size;
	u32 segments;
	u32 segments_used;
	u64 bytes_used;
	u64 bytes_free;
	u32 state;
	u32 flush_ms;
	u64 flushes;
	u64 flush_ns_avg;
	u64 flush_ns_max;
	u64 bytes_written;
	u64 records;
	u64 io_errors;
	u32 queues;
	u64 generation;
	u64 recovered_msgs;
	u64 corrupt_bytes;
	bool clean;
};

/* A queue as the catalog describes it, for attach. */
struct mq_restore {
	struct list_head node;
	struct mq_disk_queue dq;	/* validated, host-endian where used */
	struct mq_queue *q;
	u64 head;
	u64 next;			/* offset after the last message found */
	u64 lease;
	u64 cat_tail;			/* the tail when the catalog was saved */
	u64 lost;			/* offsets skipped: damaged records */
};

int mq_store_format(const char *path, u32 seg_size,
		    struct netlink_ext_ack *extack);
struct mq_store *mq_store_open(const char *path, u32 flush_ms,
			       void (*changed)(struct mq_store *s),
			       struct list_head *restored,
			       struct netlink_ext_ack *extack);
int mq_store_recover(struct mq_store *s, struct list_head *restored,
		     struct netlink_ext_ack *extack);
int mq_store_begin(struct mq_store *s);
void mq_store_abort(struct mq_store *s);
void mq_store_close(struct mq_store *s, bool clean);
u64 mq_store_oldest_needed(struct mq_store *s, struct mq_queue *q);
u64 mq_store_head_seg(struct mq_store *s);
void mq_store_put(struct mq_store *s);

static inline void mq_store_get(struct mq_store *s)
{
	kref_get(&s->ref);
}

u32 mq_store_max_msg(const struct mq_store *s);
u64 mq_store_cache_bytes(const struct mq_store *s);
int mq_store_read_rec(struct mq_store *s, u64 lpos, u32 len, u64 serial,
		      u64 offset, void *payload);
int mq_store_append_msg(struct mq_store *s, u64 serial, struct mq_msg *m,
			u64 *end);
int mq_store_append_pos(struct mq_store *s, u64 serial, u16 type,
			u64 offset, u64 *end);
int mq_store_wait_writer(struct mq_store *s, u64 end);
int mq_store_commit_all(struct mq_store *s, bool killable);
struct mq_disk_catalog *mq_store_catalog_alloc(struct mq_store *s, u32 extra);
int mq_store_write_catalog(struct mq_store *s, struct mq_disk_catalog *cat,
			   u64 log_tail, bool final);
void mq_store_stats(struct mq_store *s, struct mq_store_stats *st);

/* The log position after a message's record. */
static inline u64 mq_store_rec_end(u64 lpos, u32 len)
{
	return lpos + round_up(sizeof(struct mq_disk_rec) + len, 8);
}

static inline u64 mq_store_durable(const struct mq_store *s)
{
	return READ_ONCE(s->durable);
}

#endif /* _MQ_STORE_H */
