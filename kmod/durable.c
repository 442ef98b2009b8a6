// SPDX-License-Identifier: GPL-2.0
/*
 * The durable binding: the one place, with bind.c, where queues meet the
 * store. This half serves the data path: it implements the core's struct
 * mq_persist_ops (logging messages, positions and read leases, evicting
 * payloads and loading them back), keeps the attached store and the list
 * of its queues, fills the store's catalog from them, gives back log
 * space no queue needs and schedules the cleaner (clean.c) when free
 * segments run short. bind.c binds queues to the store and unbinds them,
 * and attaches and detaches it.
 *
 * Locks: mq_reg_lock (the registry's) guards the attached store, its
 * list of queues and every catalog write; a queue's durable state is
 * under its own lock, as the core's is.
 */

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/spinlock.h>
#include <linux/crc32.h>
#include <linux/sched/signal.h>
#include <linux/workqueue.h>

#include "durable.h"
#include "durable_int.h"
#include "clean.h"
#include "registry.h"

/* Read leases are taken this many messages ahead (see mq_lease_ok()). */
#define MQ_LEASE_BATCH	1024

static unsigned int cache_mb = 64;
module_param(cache_mb, uint, 0644);
MODULE_PARM_DESC(cache_mb, "durable messages' payload kept in memory, MiB (default 64); the rest is read back from the store");

/* The attached store and its queues: their rules in durable_int.h. */
struct mq_store *mq_dur_store;
static DEFINE_SPINLOCK(mq_dur_store_lock);
LIST_HEAD(mq_dur_queues);
u32 mq_dur_nqueues;
/* Durable payload bytes in memory, over every queue of the store. */
static atomic64_t mq_store_resident;
/*
 * The cleaner's last run left messages no room (mq_clean_fn()), and no
 * log space may have come back since: a non-blocking writer is told
 * ENOSPC, not to wait for a run (mq_queue_store_reclaim()).
 */
static bool mq_clean_full;
static bool mq_clean_stale;
/* Writers waiting for the cleaner (mq_queue_store_reclaim()). */
static DECLARE_WAIT_QUEUE_HEAD(mq_clean_wq);

/**
 * mq_clean_space_freed - log space may be back
 *
 * Readers moved or a queue left: a run may find space again, so the next
 * non-blocking writer is not told ENOSPC from the last one. May be called
 * in atomic context.
 */
void mq_clean_space_freed(void)
{
	if (!READ_ONCE(mq_clean_stale))
		WRITE_ONCE(mq_clean_stale, true);
}

static u64 mq_cache_bytes(void)
{
	return (u64)READ_ONCE(cache_mb) << 20;
}

/* The payload walker the store's appends are given. */
static void mq_msg_pieces(const void *payload, mq_store_piece_fn put,
			  void *log)
{
	mq_msg_walk(payload, put, log);
}

/* Log a message before the core appends it; under q->lock. */
static int mq_dur_log_msg(struct mq_queue *q, struct mq_msg *m, u64 *end)
{
	struct mq_store_msg rec;
	int err;

	lockdep_assert_held(&q->lock);
	if (!m->pcrc_ok) {	/* the queue became durable after the copy */
		m->pcrc = mq_msg_crc(m);
		m->pcrc_ok = true;
	}
	rec = (struct mq_store_msg) {
		.serial = q->serial,
		.offset = m->offset,
		.tstamp_ns = m->tstamp_ns,
		.len = m->len,
		.pcrc = m->pcrc,
		.walk = mq_msg_pieces,
		.payload = m,
	};
	err = mq_store_append_msg(q->store, &rec, &m->lpos, end);
	return err;
}

/* A message joined q->msgs, or came back to it; under q->lock. */
static void mq_dur_linked(struct mq_queue *q, struct mq_msg *m, bool requeued)
{
	lockdep_assert_held(&q->lock);
	if (requeued) {
		q->evict_next = NULL;
		q->durable_next = NULL;
	}
	if (mq_msg_resident(m)) {
		q->resident_bytes += m->len;
		atomic64_add(m->len, &mq_store_resident);
	}
}

/* A message left q->msgs; under q->lock. */
static void mq_dur_unlinked(struct mq_queue *q, struct mq_msg *m)
{
	lockdep_assert_held(&q->lock);
	if (q->evict_next == m)
		q->evict_next = NULL;
	if (q->durable_next == m)
		q->durable_next = NULL;
	if (mq_msg_resident(m)) {
		q->resident_bytes -= m->len;
		atomic64_sub(m->len, &mq_store_resident);
	}
}

/* A deleted queue's messages all go; under q->lock. */
static void mq_dur_dropped(struct mq_queue *q)
{
	lockdep_assert_held(&q->lock);
	atomic64_sub(q->resident_bytes, &mq_store_resident);
	q->resident_bytes = 0;
	q->evict_next = NULL;
	q->durable_next = NULL;
}

/* Messages after the head that keep their payload for readers. */
#define MQ_HOT_HEAD	16

/*
 * Drop the payload of durable messages from memory, oldest first after
 * the readers' window, until @want bytes are freed; under q->lock. Only
 * messages on stable storage are evicted; they are read back from the
 * log when their turn comes.
 */
static void mq_evict(struct mq_queue *q, u64 want)
{
	u64 durable = mq_store_durable(q->store), freed = 0;
	struct mq_msg *m = q->evict_next;
	int skip = 0;

	lockdep_assert_held(&q->lock);
	if (!m) {
		m = list_first_entry_or_null(&q->msgs, struct mq_msg, node);
		if (!m)
			return;
		skip = MQ_HOT_HEAD;
	}
	list_for_each_entry_from(m, &q->msgs, node) {
		if (freed >= want ||
		    mq_store_rec_end(m->lpos, m->len) > durable)
			break;
		q->evict_next = m;
		if (skip) {
			skip--;
			continue;
		}
		if (mq_msg_drop_payload(m))
			freed += m->len;
	}
	q->resident_bytes -= freed;
	atomic64_sub(freed, &mq_store_resident);
}

/* Keep the store's messages in memory within its cache; no locks held. */
static void mq_cache_trim(struct mq_queue *q, struct mq_store *s)
{
	s64 over = atomic64_read(&mq_store_resident) - (s64)mq_cache_bytes();

	if (over <= 0)
		return;
	spin_lock(&q->lock);
	if (q->store == s)
		mq_evict(q, over + (mq_cache_bytes() >> 4));
	spin_unlock(&q->lock);
}

/*
 * Durable queues: a message is handed out only below the read lease, a
 * position logged ahead of the reads so that after a crash the messages
 * that may have been read come back flagged MQ_MSG_REDELIVERED. The
 * lease is extended MQ_LEASE_BATCH messages ahead, half a batch early,
 * and the record goes out with the next commit. Under q->lock. Return:
 * false if the reader must commit and try again.
 */
static bool mq_lease_ok(struct mq_queue *q, const struct mq_msg *m)
{
	u64 end;
	int err;

	lockdep_assert_held(&q->lock);
	if (q->lease_pending > q->lease &&
	    mq_store_durable(q->store) >= q->lease_end)
		q->lease = q->lease_pending;
	if (m->offset + MQ_LEASE_BATCH / 2 >= q->lease_pending) {
		err = mq_store_append_pos(q->store, q->serial, MQ_REC_LEASE,
					  m->offset + MQ_LEASE_BATCH, &end);
		if (!err) {
			q->lease_pending = m->offset + MQ_LEASE_BATCH;
			q->lease_end = end;
		} else if (err == -ENOSPC) {
			/* Not even room for positions: reading frees it. */
			return true;
		}
	}
	return m->offset < q->lease;
}

/* Log the position if it passed @before; under q->lock. */
static void mq_log_pos(struct mq_queue *q, u64 before)
{
	u64 pos = mq_queue_consumed(q), end;

	lockdep_assert_held(&q->lock);
	/* Best effort: the next position or the catalog carries it too. */
	if (pos > before) {
		mq_store_append_pos(q->store, q->serial, MQ_REC_POS, pos, &end);
		mq_clean_space_freed();
	}
}

/*
 * Read an evicted message's payload back from the log, checked against
 * its record. Return: 0, -ENOMEM, -EIO or -EUCLEAN (the record is
 * damaged: the message stays queued, the reader gets the error).
 */
static int mq_msg_load(struct mq_queue *q, struct mq_store *s,
		       struct mq_msg *m)
{
	void *buf;
	int err;

	buf = kvmalloc(m->len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	err = mq_store_read_rec(s, m->lpos, m->len, q->serial, m->offset, buf);
	if (err)
		pr_err("queue %s: message %llu: cannot read it back from the store (%d)\n",
		       q->name, m->offset, err);
	else
		err = mq_msg_load_payload(m, q->memcg, buf);
	kvfree(buf);
	return err;
}

/* Messages mq_queue_durable_offset() looks at, at most, per call. */
#define MQ_DURABLE_WALK	256

/*
 * The offset below which a durable queue's messages are on stable
 * storage; under q->lock. A queue's messages are logged in offset order,
 * and a cleaner's copy becomes a message's record only once durable, so
 * if the newest is durable, all are; otherwise the walk goes on from
 * where the last one stopped, a bounded step at a time (anyone with an
 * fd may ask), and the answer may lag behind, never run ahead.
 */
static u64 mq_queue_durable_offset(struct mq_queue *q)
{
	u64 durable = mq_store_durable(q->store);
	struct mq_msg *m;
	int n;

	lockdep_assert_held(&q->lock);
	if (list_empty(&q->msgs))
		return q->tail;
	m = list_last_entry(&q->msgs, struct mq_msg, node);
	if (mq_store_rec_end(m->lpos, m->len) <= durable)
		return q->tail;
	/* The newest is not durable: the walk stops at it, at the latest. */
	m = q->durable_next ?: list_first_entry(&q->msgs, struct mq_msg, node);
	for (n = 0; n < MQ_DURABLE_WALK &&
	     mq_store_rec_end(m->lpos, m->len) <= durable; n++)
		m = list_next_entry(m, node);
	q->durable_next = m;
	return m->offset;
}

static struct mq_store *mq_dur_get(struct mq_queue *q)
{
	lockdep_assert_held(&q->lock);
	mq_store_get(q->store);
	return q->store;
}

static int mq_dur_commit(struct mq_store *s)
{
	/* Nothing of the caller's is waiting to be appended: killable. */
	return mq_store_commit_all(s, true);
}

/* ---- the store ---- */

/**
 * mq_queue_store_get - the attached store
 *
 * Return: it, with a reference held, or NULL.
 */
struct mq_store *mq_queue_store_get(void)
{
	struct mq_store *s;

	spin_lock(&mq_dur_store_lock);
	s = mq_dur_store;
	if (s)
		mq_store_get(s);
	spin_unlock(&mq_dur_store_lock);
	return s;
}

/**
 * mq_queue_store_stats - a store's state and counters, with its queues
 * @s: the store, held
 * @st: filled in
 */
void mq_queue_store_stats(struct mq_store *s, struct mq_store_stats *st)
{
	mq_store_stats(s, st);
	st->queues = s == READ_ONCE(mq_dur_store) ?
		     READ_ONCE(mq_dur_nqueues) : 0;
}

/**
 * mq_queue_store_put - drop a reference from mq_queue_store_get()
 * @s: the store
 */
void mq_queue_store_put(struct mq_store *s)
{
	mq_store_put(s);
}

/**
 * mq_dur_store_set - attach or detach the store
 * @s: the store, or NULL
 *
 * Under mq_reg_lock.
 */
void mq_dur_store_set(struct mq_store *s)
{
	lockdep_assert_held(&mq_reg_lock);
	spin_lock(&mq_dur_store_lock);
	WRITE_ONCE(mq_dur_store, s);
	spin_unlock(&mq_dur_store_lock);
}

/**
 * mq_store_oldest_needed - the oldest segment a queue still needs
 * @s: the store
 * @q: a durable queue
 *
 * Return: the segment of its oldest queued message, or of a message being
 * read, or U64_MAX.
 */
static u64 mq_store_oldest_needed(struct mq_store *s, struct mq_queue *q)
{
	struct mq_reading *rd;
	struct mq_msg *m;
	u64 k = U64_MAX;

	spin_lock(&q->lock);
	m = list_first_entry_or_null(&q->by_lpos, struct mq_msg, lnode);
	if (m)
		k = mq_store_seg(s, m->lpos);
	/* A read in flight may be loading its message from the log. */
	list_for_each_entry(rd, &q->reading, node)
		k = min(k, mq_store_seg(s, rd->lpos));
	spin_unlock(&q->lock);
	return k;
}

/* What the catalog's entries are filled from. */
struct mq_cat_fill {
	bool final;		/* at detach: no reads are in flight */
};

static void mq_cat_fill_entry(struct mq_disk_queue *dq, struct mq_queue *q,
			      bool final)
{
	memset(dq, 0, sizeof(*dq));
	spin_lock(&q->lock);
	dq->serial = cpu_to_le64(q->serial);
	dq->ident = cpu_to_le64(q->ident);
	/* Reads in flight may yet give their messages back. */
	dq->head = cpu_to_le64(mq_queue_consumed(q));
	dq->tail = cpu_to_le64(q->tail);
	/*
	 * At detach nothing is being read: what is queued above the highest
	 * offset ever delivered was never read. Below it, after a message
	 * that a failed read gave back, are messages that were read.
	 */
	dq->lease = cpu_to_le64(final ?
				max(mq_queue_consumed(q), q->delivered_hi) :
				max(q->lease, q->lease_pending));
	dq->cap_bytes = cpu_to_le64(q->lim.cap_bytes);
	dq->max_msg = cpu_to_le32(q->lim.max_msg);
	dq->cap_msgs = cpu_to_le32(q->lim.cap_msgs);
	dq->mode = cpu_to_le32(q->mode);
	dq->uid = cpu_to_le32(from_kuid(&init_user_ns, q->uid));
	dq->gid = cpu_to_le32(from_kgid(&init_user_ns, q->gid));
	dq->durability = cpu_to_le32(q->durability);
	dq->created_ns = cpu_to_le64(q->created_ns);
	spin_unlock(&q->lock);
	strscpy(dq->name, q->name, sizeof(dq->name));
}

/* The store's catalog callback: an entry per queue; under mq_reg_lock. */
static u32 mq_cat_fill(void *arg, struct mq_disk_queue *dq, u32 max)
{
	const struct mq_cat_fill *f = arg;
	struct mq_queue *q;
	u32 n = 0;

	lockdep_assert_held(&mq_reg_lock);
	list_for_each_entry(q, &mq_dur_queues, store_node) {
		if (WARN_ON_ONCE(n == max))
			break;
		mq_cat_fill_entry(&dq[n++], q, f->final);
	}
	return n;
}

/**
 * mq_dur_save - write the catalog
 * @s: the store
 * @cat: its memory (mq_store_catalog_alloc()), consumed; NULL: allocated here
 * @log_tail: the log's new tail, 0 for where it is
 * @final: at detach, no reads are in flight
 *
 * Every queue of the store goes in; under mq_reg_lock.
 * Return: 0, -ENOMEM or -EIO.
 */
int mq_dur_save(struct mq_store *s, struct mq_disk_catalog *cat,
		u64 log_tail, bool final)
{
	struct mq_cat_fill f = { .final = final };

	lockdep_assert_held(&mq_reg_lock);
	return mq_store_write_catalog(s, cat, mq_dur_nqueues, mq_cat_fill,
				      &f, log_tail);
}

/**
 * __mq_queue_store_reclaim - give back the log space no queue needs
 * @s: the store
 *
 * The oldest segment still needed is the one holding the oldest queued
 * message of any durable queue, or a message being read. The catalog,
 * saving every queue's position, is written first, so the position
 * records in the segments given up are no longer needed. Under
 * mq_reg_lock.
 * Return: 0, -ENOMEM or -EIO.
 */
int __mq_queue_store_reclaim(struct mq_store *s)
{
	u64 oldest = mq_store_head_seg(s), k;
	struct mq_queue *q;

	lockdep_assert_held(&mq_reg_lock);
	list_for_each_entry(q, &mq_dur_queues, store_node) {
		k = mq_store_oldest_needed(s, q);
		if (k < oldest)
			oldest = k;
	}
	if (oldest <= mq_store_tail_seg(s))
		return 0;
	return mq_dur_save(s, NULL, oldest, false);
}

/*
 * The cleaner. The log gives a segment back only once no queue needs it,
 * so a message nobody reads would hold its segment, and so the whole log
 * behind it, and stop every durable queue. When free segments run short,
 * the live messages of the oldest segment are copied forward (records
 * flagged MQ_REC_F_MOVED), then the segment is given back: a queue that
 * does not move costs its own bytes, copied once per lap of the log,
 * however much of a segment it fills. That is done while it pays: the
 * store's queues hold at most three quarters of what the log holds with
 * the low water kept free (past that, each byte freed costs more than
 * three copied, and the store is full of messages someone still has to
 * read), or the oldest segment holds little.
 */
static bool mq_store_may_clean(struct mq_store *s,
			       const struct mq_clean_live *l)
{
	if (!l->in_seg_unknown && l->in_seg <= mq_store_seg_size(s) / 8)
		return true;
	return l->total <= mq_store_capacity(s, l->max_rec) / 4 * 3;
}

/* Writers waiting for log space, and pollers: some came back. */
static void mq_clean_wake(void)
{
	struct mq_queue *q;

	lockdep_assert_held(&mq_reg_lock);
	wake_up_all(&mq_clean_wq);
	list_for_each_entry(q, &mq_dur_queues, store_node)
		mq_queue_wake_writers(q);
}

/*
 * One round of the cleaner: while free segments are short, move the
 * oldest segment's live messages forward and give it back. A round needs
 * two free segments (mq_log_reserve()). Moving is best effort: what it
 * cannot do (a damaged record, no memory) leaves the segment where it
 * is. Under mq_reg_lock. Return: 1 (done, another may follow), 0 (none:
 * not needed or not possible), -EBUSY (a read in flight holds a record
 * there), or -EIO or -ENOMEM (the catalog).
 */
static int mq_clean_round(struct mq_store *s)
{
	u64 k = mq_store_tail_seg(s);
	struct mq_clean_live l;
	int err;

	lockdep_assert_held(&mq_reg_lock);
	if (mq_store_free_segs(s) >= mq_store_low_water(s))
		return 0;
	/* Not the segment being written, nor the one before it. */
	if (k + 1 >= mq_store_head_seg(s) || !mq_store_copy_room(s))
		return 0;
	if (mq_clean_live(s, &mq_dur_queues, k, &l))
		return -EBUSY;
	if (!mq_store_may_clean(s, &l))
		return 0;
	/* Its originals are read back from the device: on it first. */
	if (mq_store_durable(s) < (k + 1) * mq_store_seg_size(s)) {
		err = mq_store_commit_all(s, false);
		if (err)
			return err;
	}
	err = mq_clean_seg(s, &mq_dur_queues, k, false);
	if (err == -EIO)
		return err;
	if (err)
		pr_warn_ratelimited("%s: moving segment %llu's live messages failed (%d)\n",
				    mq_store_path(s), k, err);
	err = __mq_queue_store_reclaim(s);
	if (err)
		return err;
	return mq_store_tail_seg(s) != k;
}

/*
 * The cleaner runs in a work item, never in a writer: it reads records
 * back and commits, holding the registry lock, and no unprivileged call
 * may hold that across I/O. Each kick takes a ticket; a run records the
 * newest ticket it started after, so a writer knows when a run that saw
 * its need is over.
 */
static atomic_t mq_clean_kicks;
static atomic_t mq_clean_done;

/* A run is asked for and not over: kicks since the last run started. */
static bool mq_clean_pending(void)
{
	/* Pairs with mq_clean_fn()'s release: its mq_clean_full is seen. */
	return atomic_read_acquire(&mq_clean_done) !=
	       atomic_read(&mq_clean_kicks);
}

/*
 * A run: give back what no queue needs, then rounds, at most one for each
 * segment in use when it started (a lap of the log). Between rounds the
 * registry lock is let go, so that netlink requests and detach need not
 * wait for the whole run.
 */
static void mq_clean_fn(struct work_struct *work)
{
	int ticket = atomic_read(&mq_clean_kicks), err = 0;
	struct mq_store *s;
	bool busy = false;
	u32 rounds, used;

	mutex_lock(&mq_reg_lock);
	s = mq_dur_store;
	/* What readers free from here on, this run may not see. */
	WRITE_ONCE(mq_clean_stale, false);
	/* Cleared before any queue is looked at: a later mark stays. */
	smp_mb();
	if (s)
		mq_store_get(s);
	if (s && !mq_store_failed(s)) {
		used = mq_store_segments(s) - mq_store_free_segs(s);
		err = __mq_queue_store_reclaim(s);
		for (rounds = 0; !err && rounds < used; rounds++) {
			/* Writers need not wait for the whole run. */
			if (!mq_store_msg_full(s))
				mq_clean_wake();
			err = mq_clean_round(s);
			if (err == -EBUSY) {
				/* A read in flight: writers try again. */
				busy = true;
				err = 0;
				break;
			}
			if (err <= 0)
				break;
			err = 0;
			mutex_unlock(&mq_reg_lock);
			cond_resched();
			mutex_lock(&mq_reg_lock);
			if (mq_dur_store != s || mq_store_failed(s))
				break;
		}
		if (err < 0)
			pr_warn_ratelimited("%s: could not give log space back (%d)\n",
					    mq_store_path(s), err);
	}
	WRITE_ONCE(mq_clean_full, s && mq_dur_store == s && !busy &&
		   mq_store_msg_full(s));
	atomic_set_release(&mq_clean_done, ticket);
	/* Writers and pollers waiting for the end of the run. */
	mq_clean_wake();
	mutex_unlock(&mq_reg_lock);
	if (s)
		mq_store_put(s);
}

static DECLARE_WORK(mq_clean_work, mq_clean_fn);

/* Ask for a run; may be called in atomic context. Return: the ticket. */
static int mq_clean_kick(void)
{
	int ticket = atomic_inc_return(&mq_clean_kicks);

	/* It waits for the device, holding the registry lock. */
	queue_work(system_long_wq, &mq_clean_work);
	return ticket;
}

/**
 * mq_dur_low_space - the store's word that free segments run short
 * @s: the store
 *
 * Called under the store's spinlock: it only kicks the cleaner.
 */
void mq_dur_low_space(struct mq_store *s)
{
	mq_clean_kick();
}

/**
 * mq_clean_flush - wait for the cleaner's queued or running run to end
 *
 * Not under mq_reg_lock, which a run takes.
 */
void mq_clean_flush(void)
{
	lockdep_assert_not_held(&mq_reg_lock);
	flush_work(&mq_clean_work);
}

/**
 * mq_queue_store_reclaim - make log space for a writer that found none
 * @s: the store
 * @wait: the writer may block
 *
 * Giving space back writes the catalog, which waits for the device, and
 * copying reads records back: the cleaner's work item does both, no
 * writer. A blocking writer kicks it and waits, interruptibly, until a
 * round makes room for messages or a run that started after the kick is
 * over. A non-blocking writer kicks it and is told to try again once
 * poll(2) says so. Both are told the store is full when runs (for the
 * blocking: two after its kick; for the non-blocking: the last, and
 * nothing was read or deleted since) left messages no room, and no read
 * in flight kept them from looking.
 *
 * Return: 0 (try again), -ENOSPC, -ERESTARTSYS if a signal came while it
 * waited; !@wait: -EAGAIN (the cleaner is making room) or -ENOSPC.
 */
static int mq_queue_store_reclaim(struct mq_store *s, bool wait)
{
	int ticket, tries;

	if (!wait) {
		/* Nothing came back since: no run for it, and poll(2) says so. */
		if (!mq_clean_pending() && READ_ONCE(mq_clean_full) &&
		    !READ_ONCE(mq_clean_stale))
			return -ENOSPC;
		mq_clean_kick();
		return -EAGAIN;
	}
	/*
	 * A run can end with no room for a while (its segment's messages
	 * read while it moved them): full only if the next says so too.
	 */
	for (tries = 0; tries < 2; tries++) {
		ticket = mq_clean_kick();
		if (wait_event_interruptible(mq_clean_wq,
					     atomic_read_acquire(&mq_clean_done) - ticket >= 0 ||
					     !mq_store_msg_full(s)))
			return -ERESTARTSYS;
		if (atomic_read_acquire(&mq_clean_done) - ticket < 0 ||
		    !READ_ONCE(mq_clean_full) || !mq_store_msg_full(s))
			return 0;
	}
	return -ENOSPC;
}

/*
 * poll(2)'s question for a durable queue with room: may a message go
 * into the log, or is the cleaner making room a non-blocking writer was
 * told to wait for (EAGAIN)? Its run's end wakes the queue's pollers.
 * Under q->lock.
 */
static bool mq_dur_room(struct mq_queue *q)
{
	lockdep_assert_held(&q->lock);
	/* The poller is on q->pollq: pairs with the waker's wq_has_sleeper(). */
	smp_mb();
	return !mq_clean_pending() || !mq_store_msg_full(q->store);
}

const struct mq_persist_ops mq_durable_ops = {
	.log_msg = mq_dur_log_msg,
	.lease_ok = mq_lease_ok,
	.log_pos = mq_log_pos,
	.linked = mq_dur_linked,
	.unlinked = mq_dur_unlinked,
	.durable_offset = mq_queue_durable_offset,
	.dropped = mq_dur_dropped,
	.get = mq_dur_get,
	.put = mq_store_put,
	.commit = mq_dur_commit,
	.reclaim = mq_queue_store_reclaim,
	.room = mq_dur_room,
	.wait = mq_store_wait_writer,
	.trim = mq_cache_trim,
	.load = mq_msg_load,
	.durable = mq_store_durable,
	.check = mq_dur_check,
	.prepare = mq_dur_prepare,
	.unprepare = mq_dur_unprepare,
	.bind = mq_dur_bind,
	.unbind = mq_dur_unbind,
	.set_durability = mq_dur_set_durability,
};
