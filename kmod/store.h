/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The store: one block device holding every durable queue as a single
 * circular, checksummed log (uapi/linux/mq_store.h, docs/store.md).
 *
 * Its API takes plain values: serials, offsets, timestamps, lengths, log
 * positions, payloads as pieces handed over by the caller's walker. It
 * knows no queue and no front-end: the catalog's entries are filled by a
 * callback of the caller's and handed back to another at open, recovery
 * hands each record to a third. The durable binding (durable.c, bind.c)
 * is its one user. store_meta.c: device, superblocks, catalog, format, open,
 * close; store_log.c: the log buffer, appends, group commit, reading a
 * record back; store_recover.c: scanning the log at attach.
 */
#ifndef _MQ_STORE_H
#define _MQ_STORE_H

#include <linux/types.h>
#include <linux/netlink.h>
#include <linux/mq_store.h>

struct mq_store;

struct mq_store_stats {
	const char *path;		/* while the store is held */
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
	u32 queues;			/* filled in by the binding */
	u64 generation;
	u64 recovered_msgs;
	u64 corrupt_bytes;
	bool clean;
	u64 moved_records;
	u64 moved_bytes;
};

/* A record recovery found, for the caller's mq_store_rec_t. */
struct mq_store_rec {
	u16 type;		/* MQ_REC_* */
	u16 flags;		/* MQ_REC_F_* */
	u32 len;		/* MQ_REC_MSG: the payload's length */
	u64 serial;
	u64 offset;
	u64 tstamp_ns;
	u64 lpos;		/* where it is in the log */
};

/**
 * typedef mq_store_rec_t - recovery's callback, for each valid record
 * @arg: the caller's
 * @rec: the record
 *
 * Return: 1 (a message recovered), 0, or a negative errno (stop).
 */
typedef int (*mq_store_rec_t)(void *arg, const struct mq_store_rec *rec);

/**
 * typedef mq_store_cat_entry_t - open's callback, for each catalog entry
 * @arg: the caller's
 * @dq: the entry, its name terminated, its serial and offsets checked
 *
 * Return: 0, -EUCLEAN (invalid: skipped) or another errno (fail).
 */
typedef int (*mq_store_cat_entry_t)(void *arg, const struct mq_disk_queue *dq);

/**
 * typedef mq_store_cat_fill_t - fill the catalog's entries, for a write
 * @arg: the caller's
 * @dq: @max zeroed entries
 * @max: how many there is room for
 *
 * Return: how many were filled.
 */
typedef u32 (*mq_store_cat_fill_t)(void *arg, struct mq_disk_queue *dq,
				   u32 max);

/* Takes a payload's next piece, in a walker's hands. */
typedef void (*mq_store_piece_fn)(void *log, const void *piece, size_t len);

/**
 * struct mq_store_msg - a message to log
 * @serial: its queue's serial
 * @offset: its offset
 * @tstamp_ns: when it was written
 * @len: its length
 * @pcrc: its payload's CRC-32C, seed 0
 * @flags: MQ_REC_F_MOVED for the cleaner's copy of a queued message (it
 *	may take the next to last free segment, which messages leave it;
 *	the last is for positions)
 * @walk: hands @payload's pieces, in order, to @put; must not sleep
 * @payload: the caller's
 */
struct mq_store_msg {
	u64 serial;
	u64 offset;
	u64 tstamp_ns;
	u32 len;
	u32 pcrc;
	u16 flags;
	void (*walk)(const void *payload, mq_store_piece_fn put, void *log);
	const void *payload;
};

/* store_meta.c */
int mq_store_format(const char *path, u32 seg_size,
		    struct netlink_ext_ack *extack);
struct mq_store *mq_store_open(const char *path, u32 flush_ms,
			       void (*changed)(struct mq_store *s),
			       void (*low_space)(struct mq_store *s),
			       mq_store_cat_entry_t entry, void *arg,
			       struct netlink_ext_ack *extack);
void mq_store_abort(struct mq_store *s);
void mq_store_close(struct mq_store *s, bool clean);
void mq_store_get(struct mq_store *s);
void mq_store_put(struct mq_store *s);
struct mq_disk_catalog *mq_store_catalog_alloc(struct mq_store *s, u32 count);
int mq_store_write_catalog(struct mq_store *s, struct mq_disk_catalog *cat,
			   u32 count, mq_store_cat_fill_t fill, void *arg,
			   u64 log_tail);
void mq_store_stats(struct mq_store *s, struct mq_store_stats *st);
u32 mq_store_max_msg(const struct mq_store *s);
const char *mq_store_path(const struct mq_store *s);
bool mq_store_was_clean(const struct mq_store *s);
bool mq_store_failed(const struct mq_store *s);
u64 mq_store_new_serial(struct mq_store *s);
u64 mq_store_tail_seg(struct mq_store *s);
u64 mq_store_seg(const struct mq_store *s, u64 lpos);
u32 mq_store_seg_size(const struct mq_store *s);
u32 mq_store_segments(const struct mq_store *s);

/* store_recover.c */
int mq_store_recover(struct mq_store *s, mq_store_rec_t apply, void *arg,
		     struct netlink_ext_ack *extack);

/* store_log.c */
int mq_store_begin(struct mq_store *s);
int mq_store_append_msg(struct mq_store *s, const struct mq_store_msg *msg,
			u64 *lpos, u64 *end);
int mq_store_append_pos(struct mq_store *s, u64 serial, u16 type,
			u64 offset, u64 *end);
int mq_store_wait_writer(struct mq_store *s, u64 end);
int mq_store_commit_all(struct mq_store *s, bool killable);
int mq_store_read_rec(struct mq_store *s, u64 lpos, u32 len, u64 serial,
		      u64 offset, void *payload);
u64 mq_store_head_seg(struct mq_store *s);
u64 mq_store_durable(struct mq_store *s);
u32 mq_store_low_water(const struct mq_store *s);
u32 mq_store_free_segs(struct mq_store *s);
bool mq_store_msg_full(struct mq_store *s);
u64 mq_store_capacity(const struct mq_store *s, u64 max_rec);
bool mq_store_copy_room(struct mq_store *s);

/* The log position after a message's record. */
static inline u64 mq_store_rec_end(u64 lpos, u32 len)
{
	return lpos + round_up(sizeof(struct mq_disk_rec) + len, 8);
}

#endif /* _MQ_STORE_H */
