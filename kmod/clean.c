// SPDX-License-Identifier: GPL-2.0
/*
 * The cleaner's mechanics: copying the live messages of a log segment
 * forward, so that the segment can be given back (docs/store.md, "The
 * cleaner"). When and whether to do it is durable.c's.
 *
 * A message's copy is appended under its queue's lock, flagged
 * MQ_REC_F_MOVED, from a payload read back from the log (its original,
 * checked); it becomes the message's record (m->lpos, q->by_lpos)
 * only once it is on stable storage, so that no reader loads a record
 * that is not there and no crash loses what the original still holds.
 */

#include <linux/crc32.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "clean.h"
#include "registry.h"

#define MQ_CLEAN_BATCH	64	/* messages copied per commit */

struct mq_move {
	u64 offset;
	u64 lpos;		/* the original's */
	u64 tstamp;
	u64 new_lpos;		/* the copy's, 0 while there is none */
	u32 len;
};

/* A payload in one buffer, for the store's walker. */
struct mq_flat {
	const void *buf;
	u32 len;
};

static void mq_flat_pieces(const void *payload, mq_store_piece_fn put,
			   void *log)
{
	const struct mq_flat *f = payload;

	put(log, f->buf, f->len);
}

/* A queue's message at @offset whose record is at @lpos; under q->lock. */
static struct mq_msg *mq_clean_find(struct mq_queue *q, u64 offset, u64 lpos)
{
	struct mq_msg *m;
	int n = 0;

	lockdep_assert_held(&q->lock);
	/* The oldest records: the first few of the log-ordered list. */
	list_for_each_entry(m, &q->by_lpos, lnode) {
		if (m->offset == offset && m->lpos == lpos)
			return m;
		if (m->lpos > lpos || ++n > 2 * MQ_CLEAN_BATCH)
			break;
	}
	return NULL;
}

/* Does a read in flight of @q hold a record in segment @k? Under q->lock. */
static bool mq_clean_reading(struct mq_store *s, struct mq_queue *q, u64 k)
{
	struct mq_reading *rd;

	lockdep_assert_held(&q->lock);
	list_for_each_entry(rd, &q->reading, node)
		if (mq_store_seg(s, rd->lpos) == k)
			return true;
	return false;
}

/* Messages of a queue looked at in the oldest segment, at most. */
#define MQ_CLEAN_PEEK	64

/**
 * mq_clean_live - what the store's queues hold, and what segment @k does
 * @s: the store
 * @queues: its queues (struct mq_queue, on store_node)
 * @k: the segment
 * @l: filled in
 *
 * Under mq_reg_lock, which guards @queues. Each queue counts by its
 * depth, an upper bound of what its records take in the log, and by its
 * first MQ_CLEAN_PEEK messages in @k: O(1) a queue, however many
 * messages it holds.
 * Return: 0, or -EBUSY if a read in flight holds a record in @k (the
 * next round tries again).
 */
int mq_clean_live(struct mq_store *s, struct list_head *queues, u64 k,
		  struct mq_clean_live *l)
{
	struct mq_queue *q;
	struct mq_msg *m;
	int n = 0, peek;
	bool busy;

	lockdep_assert_held(&mq_reg_lock);
	*l = (struct mq_clean_live){ 0 };
	list_for_each_entry(q, queues, store_node) {
		spin_lock(&q->lock);
		busy = mq_clean_reading(s, q, k);
		l->total += q->depth_bytes + q->depth_msgs *
			    (sizeof(struct mq_disk_rec) + 7);
		l->max_rec = max_t(u64, l->max_rec, sizeof(struct mq_disk_rec) +
				   q->lim.max_msg + 7);
		peek = 0;
		list_for_each_entry(m, &q->by_lpos, lnode) {
			if (mq_store_seg(s, m->lpos) != k)
				break;
			if (++peek > MQ_CLEAN_PEEK) {
				l->in_seg_unknown = true;
				break;
			}
			l->in_seg += mq_store_rec_end(m->lpos, m->len) - m->lpos;
		}
		spin_unlock(&q->lock);
		if (busy)
			return -EBUSY;
		if (!(++n % 256))
			cond_resched();
	}
	return 0;
}

/*
 * Copy the messages of @mv (read from the log) forward, then, once the
 * copies are durable, make them the messages' records. Under mq_reg_lock.
 * Return: how many were moved, or errno.
 */
static int mq_clean_move(struct mq_store *s, struct mq_queue *q,
			 struct mq_move *mv, int n, bool killable)
{
	struct mq_flat flat;
	struct mq_msg *m;
	void *buf = NULL;
	size_t buf_len = 0;
	int i, moved = 0, err = 0;
	u64 end;

	lockdep_assert_held(&mq_reg_lock);
	for (i = 0; i < n && !err; i++) {
		u32 pcrc;

		if (mv[i].len > buf_len) {
			kvfree(buf);
			buf_len = mv[i].len;
			buf = kvmalloc(buf_len, GFP_KERNEL);
			if (!buf) {
				/* Still commit and switch what was copied. */
				err = -ENOMEM;
				break;
			}
		}
		err = mq_store_read_rec(s, mv[i].lpos, mv[i].len, q->serial,
					mv[i].offset, buf);
		if (err == -EUCLEAN) {
			/* Damaged: it stays, and so does its segment. */
			pr_warn_ratelimited("%s: queue %s: message %llu: its record is damaged, it cannot be moved\n",
					    mq_store_path(s), q->name, mv[i].offset);
			err = 0;
			continue;
		}
		if (err)
			break;
		pcrc = __crc32c_le(0, buf, mv[i].len);
again:
		spin_lock(&q->lock);
		m = mq_clean_find(q, mv[i].offset, mv[i].lpos);
		if (m) {
			struct mq_store_msg rec = {
				.serial = q->serial,
				.offset = mv[i].offset,
				.tstamp_ns = mv[i].tstamp,
				.len = mv[i].len,
				.pcrc = pcrc,
				.flags = MQ_REC_F_MOVED,
				.walk = mq_flat_pieces,
				.payload = &flat,
			};

			flat.buf = buf;
			flat.len = mv[i].len;
			err = mq_store_append_msg(s, &rec, &mv[i].new_lpos,
						  &end);
		}
		spin_unlock(&q->lock);
		if (err == -EINPROGRESS) {
			err = mq_store_commit_all(s, killable);
			if (!err)
				goto again;
		}
	}
	kvfree(buf);
	/* What was copied is moved once durable, whatever came after. */
	i = mq_store_commit_all(s, killable);
	if (i)
		return err ?: i;
	spin_lock(&q->lock);
	for (i = 0; i < n; i++) {
		if (!mv[i].new_lpos)
			continue;
		/* Gone meanwhile: its copy is garbage like its original. */
		m = mq_clean_find(q, mv[i].offset, mv[i].lpos);
		if (!m)
			continue;
		list_del(&m->lnode);
		m->lpos = mv[i].new_lpos;
		mq_queue_by_lpos_insert(q, m, true);
		moved++;
	}
	spin_unlock(&q->lock);
	return err ?: moved;
}

/**
 * mq_clean_seg - copy every live message of a segment forward
 * @s: the store
 * @queues: its queues (struct mq_queue, on store_node)
 * @k: the segment
 * @killable: a fatal signal ends the waits for the device
 *
 * Under mq_reg_lock. Once it returns, no queued message's record is in
 * @k but those it could not read (damaged) and those a read took away
 * meanwhile; the caller gives the segment back.
 * Return: 0, -ENOMEM, -EINTR or -EIO.
 */
int mq_clean_seg(struct mq_store *s, struct list_head *queues, u64 k,
		 bool killable)
{
	struct mq_queue *q;
	struct mq_move *mv;
	struct mq_msg *m;
	int n, err = 0;

	lockdep_assert_held(&mq_reg_lock);
	mv = kvmalloc_array(MQ_CLEAN_BATCH, sizeof(*mv), GFP_KERNEL);
	if (!mv)
		return -ENOMEM;
	list_for_each_entry(q, queues, store_node) {
		for (;;) {
			n = 0;
			spin_lock(&q->lock);
			list_for_each_entry(m, &q->by_lpos, lnode) {
				if (n == MQ_CLEAN_BATCH ||
				    mq_store_seg(s, m->lpos) != k)
					break;
				mv[n++] = (struct mq_move){
					.offset = m->offset,
					.lpos = m->lpos,
					.tstamp = m->tstamp_ns,
					.len = m->len,
				};
			}
			spin_unlock(&q->lock);
			if (!n)
				break;
			/* Moved or read meanwhile: each batch leaves it. */
			err = mq_clean_move(s, q, mv, n, killable);
			if (err < 0)
				goto out;
			if (!err)
				break;	/* nothing moved: do not spin */
			err = 0;
			if (killable && fatal_signal_pending(current)) {
				err = -EINTR;
				goto out;
			}
		}
	}
out:
	kvfree(mv);
	return err;
}
