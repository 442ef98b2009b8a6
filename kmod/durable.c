// SPDX-License-Identifier: GPL-2.0
/*
 * The durable binding: the one place where queues meet the store. It
 * implements the core's struct mq_persist_ops (logging messages,
 * positions and read leases, evicting payloads and loading them back),
 * keeps the list of the attached store's queues, fills the store's
 * catalog from them, and brings them back at attach from what the store
 * finds (its catalog's entries and, in recovery, its records).
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
#include "clean.h"
#include "registry.h"

/* Read leases are taken this many messages ahead (see mq_lease_ok()). */
#define MQ_LEASE_BATCH	1024

static unsigned int cache_mb = 64;
module_param(cache_mb, uint, 0644);
MODULE_PARM_DESC(cache_mb, "durable messages' payload kept in memory, MiB (default 64); the rest is read back from the store");

/* The attached store: changed under mq_reg_lock and mq_store_cur_lock. */
static struct mq_store *mq_store_cur;
static DEFINE_SPINLOCK(mq_store_cur_lock);
static DEFINE_MUTEX(mq_attach_lock);	/* attaches, one at a time; first */
/* Its queues, under mq_reg_lock (the count is read without, for stats). */
static LIST_HEAD(mq_store_queues);
static u32 mq_store_nqueues;
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

/*
 * Readers moved or a queue left: a run may find space again, so the next
 * non-blocking writer is not told ENOSPC from the last one. May be called
 * in atomic context.
 */
static void mq_clean_space_freed(void)
{
	if (!READ_ONCE(mq_clean_stale))
		WRITE_ONCE(mq_clean_stale, true);
}

static u64 mq_cache_bytes(void)
{
	return (u64)READ_ONCE(cache_mb) << 20;
}

/* The store's own report that its state changed (an I/O error). */
static void mq_store_changed(struct mq_store *s)
{
	mq_event_store(s, MQ_STORE_EV_CHANGED);
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

	spin_lock(&mq_store_cur_lock);
	s = mq_store_cur;
	if (s)
		mq_store_get(s);
	spin_unlock(&mq_store_cur_lock);
	return s;
}

/* Attach or detach the store; under mq_reg_lock. */
static void mq_store_cur_set(struct mq_store *s)
{
	lockdep_assert_held(&mq_reg_lock);
	spin_lock(&mq_store_cur_lock);
	mq_store_cur = s;
	spin_unlock(&mq_store_cur_lock);
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
	list_for_each_entry(q, &mq_store_queues, store_node) {
		if (WARN_ON_ONCE(n == max))
			break;
		mq_cat_fill_entry(&dq[n++], q, f->final);
	}
	return n;
}

/*
 * Write the catalog: every queue of the store, and @log_tail (0: where
 * it is); under mq_reg_lock. Consumes @cat (NULL: allocated here).
 */
static int mq_store_save(struct mq_store *s, struct mq_disk_catalog *cat,
			 u64 log_tail, bool final)
{
	struct mq_cat_fill f = { .final = final };

	lockdep_assert_held(&mq_reg_lock);
	return mq_store_write_catalog(s, cat, mq_store_nqueues, mq_cat_fill,
				      &f, log_tail);
}

/*
 * Free log space: the oldest segment still needed is the one holding the
 * oldest queued message of any durable queue, or a message being read. The catalog, saving every
 * queue's position, is written first, so the position records in the
 * segments given up are no longer needed. Under mq_reg_lock.
 */
static int __mq_queue_store_reclaim(struct mq_store *s)
{
	u64 oldest = mq_store_head_seg(s), k;
	struct mq_queue *q;

	lockdep_assert_held(&mq_reg_lock);
	list_for_each_entry(q, &mq_store_queues, store_node) {
		k = mq_store_oldest_needed(s, q);
		if (k < oldest)
			oldest = k;
	}
	if (oldest <= mq_store_tail_seg(s))
		return 0;
	return mq_store_save(s, NULL, oldest, false);
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
	list_for_each_entry(q, &mq_store_queues, store_node)
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
	if (mq_clean_live(s, &mq_store_queues, k, &l))
		return -EBUSY;
	if (!mq_store_may_clean(s, &l))
		return 0;
	/* Its originals are read back from the device: on it first. */
	if (mq_store_durable(s) < (k + 1) * mq_store_seg_size(s)) {
		err = mq_store_commit_all(s, false);
		if (err)
			return err;
	}
	err = mq_clean_seg(s, &mq_store_queues, k, false);
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
	s = mq_store_cur;
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
			if (mq_store_cur != s || mq_store_failed(s))
				break;
		}
		if (err < 0)
			pr_warn_ratelimited("%s: could not give log space back (%d)\n",
					    mq_store_path(s), err);
	}
	WRITE_ONCE(mq_clean_full, s && mq_store_cur == s && !busy &&
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

/* The store's word that free segments run short: under its spinlock. */
static void mq_store_low_space(struct mq_store *s)
{
	mq_clean_kick();
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

/* Can the attached store take a durable queue with @lim? mq_reg_lock. */
static int mq_store_fits(const struct mq_limits *lim,
			 struct netlink_ext_ack *extack)
{
	struct mq_store *s = mq_store_cur;

	lockdep_assert_held(&mq_reg_lock);
	if (!s) {
		NL_SET_ERR_MSG(extack, "no store attached (mqctl store attach DEV)");
		return -ENODEV;
	}
	if (mq_store_failed(s)) {
		NL_SET_ERR_MSG(extack, "the store is degraded by an I/O error");
		return -EIO;
	}
	if (lim->max_msg > mq_store_max_msg(s)) {
		NL_SET_ERR_MSG(extack, "max-msg over a quarter of the store's segment");
		return -ERANGE;
	}
	return 0;
}

/* The core's question: may @q (NULL: new) be durable with @lim? */
static int mq_dur_check(struct mq_queue *q, const struct mq_limits *lim,
			struct netlink_ext_ack *extack)
{
	lockdep_assert_held(&mq_reg_lock);
	if (!q || !q->store)
		return mq_store_fits(lim, extack);
	if (lim->max_msg > mq_store_max_msg(q->store)) {
		NL_SET_ERR_MSG(extack, "max-msg over a quarter of the store's segment");
		return -ERANGE;
	}
	return 0;
}

/*
 * Memory for the catalog a change of @q will write: its store's, or the
 * attached one's with room for @q; under mq_reg_lock.
 */
static void *mq_dur_prepare(struct mq_queue *q)
{
	lockdep_assert_held(&mq_reg_lock);
	if (q->store)
		return mq_store_catalog_alloc(q->store, mq_store_nqueues);
	if (!mq_store_cur)
		return NULL;
	return mq_store_catalog_alloc(mq_store_cur, mq_store_nqueues + 1);
}

static void mq_dur_unprepare(void *prepared)
{
	kvfree(prepared);
}

/* Messages queued, on their way in, or being read; under q->lock. */
static bool mq_queue_busy(const struct mq_queue *q)
{
	lockdep_assert_held(&q->lock);
	return q->depth_msgs || q->blocked_writers || !list_empty(&q->reading) ||
	       atomic_read(&q->reading_mem);
}

/* Put a queue into the attached store and save the catalog; mq_reg_lock. */
static int mq_store_add_queue(struct mq_queue *q, u32 durability,
			      void *cat,
			      struct netlink_ext_ack *extack)
{
	struct mq_store *s = mq_store_cur;
	int err;

	lockdep_assert_held(&mq_reg_lock);
	if (mq_store_nqueues >= MQ_CAT_MAX_QUEUES) {
		kvfree(cat);
		NL_SET_ERR_MSG(extack, "the store's catalog is full (4096 queues)");
		return -ENOSPC;
	}
	spin_lock(&q->lock);
	if (mq_queue_busy(q)) {
		/* Written to, or being read, since mq_queue_set() looked. */
		spin_unlock(&q->lock);
		kvfree(cat);
		NL_SET_ERR_MSG(extack, "only an empty queue can move into the store");
		return -EBUSY;
	}
	mq_store_get(s);
	q->serial = mq_store_new_serial(s);
	q->store = s;
	q->durability = durability;
	q->lease = q->tail;
	q->lease_pending = q->tail;
	spin_unlock(&q->lock);
	list_add_tail(&q->store_node, &mq_store_queues);
	WRITE_ONCE(mq_store_nqueues, mq_store_nqueues + 1);
	err = mq_store_save(s, cat, 0, false);
	if (err) {
		if (err == -ENOMEM)
			NL_SET_ERR_MSG(extack, "out of memory for the store's catalog");
		else
			NL_SET_ERR_MSG(extack, "I/O error writing the store's catalog");
		list_del_init(&q->store_node);
		WRITE_ONCE(mq_store_nqueues, mq_store_nqueues - 1);
		spin_lock(&q->lock);
		q->store = NULL;
		q->durability = MQ_DURABILITY_MEMORY;
		spin_unlock(&q->lock);
		mq_store_put(s);
	}
	return err;
}

/* Take a queue out of store @s's catalog; mq_reg_lock. */
static int mq_store_remove_queue(struct mq_store *s, struct mq_queue *q,
				 void *cat)
{
	lockdep_assert_held(&mq_reg_lock);
	list_del_init(&q->store_node);
	WRITE_ONCE(mq_store_nqueues, mq_store_nqueues - 1);
	return mq_store_save(s, cat, 0, false);
}

/*
 * A durable queue is being deleted; under mq_reg_lock. @forget: out of
 * the catalog too (a delete; not a detach, which keeps it on disk).
 */
static void mq_dur_unbind(struct mq_queue *q, bool forget, void *cat)
{
	lockdep_assert_held(&mq_reg_lock);
	mq_clean_space_freed();
	if (!list_empty(&q->store_node) && forget) {
		if (mq_store_remove_queue(q->store, q, cat))
			pr_warn("queue %s: deleted, but the store's catalog could not be written: it comes back on the next attach\n",
				q->name);
		return;
	}
	kvfree(cat);
	if (!list_empty(&q->store_node)) {
		list_del_init(&q->store_node);
		WRITE_ONCE(mq_store_nqueues, mq_store_nqueues - 1);
	}
}

/* The durability part of mq_queue_set(); under mq_reg_lock. */
static int mq_queue_set_durability(struct mq_queue *q, u32 dur, u32 new_dur,
				   void *cat,
				   struct netlink_ext_ack *extack)
{
	struct mq_store *s = q->store;
	int err;

	lockdep_assert_held(&mq_reg_lock);
	if (!s) {
		err = mq_store_add_queue(q, new_dur, cat, extack);
		if (err == -EBUSY)
			NL_SET_ERR_MSG(extack, "change made, but not durability: not empty");
		else if (err)
			NL_SET_ERR_MSG(extack, "change made, but not saved in the store");
		return err;
	}
	if (new_dur == MQ_DURABILITY_MEMORY) {
		spin_lock(&q->lock);
		if (mq_queue_busy(q)) {
			/* Written to, or being read, since mq_queue_set() looked. */
			spin_unlock(&q->lock);
			kvfree(cat);
			NL_SET_ERR_MSG(extack, "change made, but not durability: not empty");
			return -EBUSY;
		}
		q->store = NULL;
		q->durability = new_dur;
		spin_unlock(&q->lock);
		err = mq_store_remove_queue(s, q, cat);
		mq_store_put(s);
	} else {
		spin_lock(&q->lock);
		q->durability = new_dur;
		spin_unlock(&q->lock);
		err = mq_store_save(s, cat, 0, false);
	}
	if (err)
		NL_SET_ERR_MSG(extack, "change made, but the store's catalog could not be written");
	return err;
}

/* A queue as the catalog describes it, for attach. */
struct mq_restore {
	struct list_head node;
	struct mq_disk_queue dq;	/* validated, host-endian where used */
	struct mq_queue *q;
	u64 head;
	u64 next;			/* offset after the last message found */
	u64 lease;
	u64 cat_tail;			/* the tail when the catalog was saved */
	u64 lost;			/* offsets missing (see attach) */
	struct mq_msg *moved_hint;	/* mq_queue_restore_moved()'s */
};

/* What recovery's records are applied to. */
struct mq_recovery {
	struct list_head *restored;
	bool was_clean;
};

static void mq_restore_free(struct list_head *restored)
{
	struct mq_restore *r, *tmp;

	list_for_each_entry_safe(r, tmp, restored, node) {
		if (r->q)
			mq_queue_put(r->q);
		kfree(r);
	}
}

/*
 * The store's catalog callback at open: a queue to bring back, its name
 * terminated, its serial and offsets checked by the store. Return: 0,
 * -EUCLEAN (skip it) or -ENOMEM.
 */
static int mq_restore_entry(void *arg, const struct mq_disk_queue *dq)
{
	u32 dur = le32_to_cpu(dq->durability);
	struct list_head *restored = arg;
	struct mq_restore *r;

	if (!mq_queue_name_valid(dq->name) ||
	    (dur != MQ_DURABILITY_ASYNC && dur != MQ_DURABILITY_SYNC))
		return -EUCLEAN;
	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	r->dq = *dq;
	r->head = le64_to_cpu(dq->head);
	r->next = r->head;
	r->lease = le64_to_cpu(dq->lease);
	r->cat_tail = le64_to_cpu(dq->tail);
	list_add_tail(&r->node, restored);
	return 0;
}

static struct mq_restore *mq_restore_find(struct list_head *restored,
					  u64 serial)
{
	struct mq_restore *r;

	list_for_each_entry(r, restored, node)
		if (le64_to_cpu(r->dq.serial) == serial)
			return r;
	return NULL;
}

/*
 * The store's recovery callback: a record found in the log, in log
 * order. Return: 1 (a message recovered), 0, or -ENOMEM.
 */
static int mq_restore_rec(void *arg, const struct mq_store_rec *rec)
{
	struct mq_recovery *rc = arg;
	struct mq_restore *r = mq_restore_find(rc->restored, rec->serial);
	u64 off = rec->offset;
	int err;

	if (!r)
		return 0;	/* a deleted queue's */
	switch (rec->type) {
	case MQ_REC_MSG:
		if (off < r->head)
			return 0;	/* read already */
		if (rec->flags & MQ_REC_F_MOVED)
			/* Behind newer ones: a copy, or all that is left. */
			err = mq_queue_restore_moved(r->q, off, rec->tstamp_ns,
						     rec->lpos, rec->len,
						     &r->moved_hint);
		else if (off >= r->next)
			err = mq_queue_restore_msg(r->q, off, rec->tstamp_ns,
						   rec->lpos, rec->len);
		else
			err = 0;	/* not past the last one found: a duplicate */
		if (err < 0)
			return err;
		r->next = max(r->next, off + 1);
		return err;
	case MQ_REC_POS:
		if (off > r->head) {
			r->head = off;
			r->moved_hint = NULL;	/* it may be dropped */
			mq_queue_restore_head(r->q, off);
			if (r->next < off)
				r->next = off;
		}
		break;
	case MQ_REC_LEASE:
		/* After a clean detach the catalog knows better. */
		if (!rc->was_clean)
			r->lease = max(r->lease, off);
		break;
	}
	return 0;
}

/* A queue as its catalog entry describes it. */
static struct mq_queue *mq_restore_queue(struct mq_restore *r)
{
	const struct mq_disk_queue *dq = &r->dq;
	struct mq_queue_params p = {
		.set = MQ_P_MODE | MQ_P_UID | MQ_P_GID,
		.mode = le32_to_cpu(dq->mode) & 0777,
		.uid = make_kuid(&init_user_ns, le32_to_cpu(dq->uid)),
		.gid = make_kgid(&init_user_ns, le32_to_cpu(dq->gid)),
	};
	struct mq_limits lim = {
		.max_msg = le32_to_cpu(dq->max_msg),
		.cap_msgs = le32_to_cpu(dq->cap_msgs),
		.cap_bytes = le64_to_cpu(dq->cap_bytes),
	};
	struct mq_queue *q;

	if (mq_limits_check(&lim, NULL) || !uid_valid(p.uid) ||
	    !gid_valid(p.gid))
		return ERR_PTR(-EUCLEAN);
	q = mq_queue_alloc(dq->name, &lim, &p);
	if (!q)
		return ERR_PTR(-ENOMEM);
	q->serial = le64_to_cpu(dq->serial);
	q->durability = le32_to_cpu(dq->durability);
	q->created_ns = le64_to_cpu(dq->created_ns);
	/* A store from before identities were saved: keep the new one. */
	if (dq->ident) {
		q->ident = le64_to_cpu(dq->ident);
		mq_registry_ident_seen(q->ident);
	}
	q->tail = r->head;
	return q;
}

/*
 * Has a queue or another restored one @q's identity? Under mq_reg_lock.
 * Identities grow, so a collision is rare: a store moved from another
 * host, or a clock that was set back.
 */
static bool mq_ident_used(struct mq_queue *q, struct list_head *restored)
{
	struct mq_restore *r;

	lockdep_assert_held(&mq_reg_lock);
	if (mq_registry_ident_used(q->ident))
		return true;
	list_for_each_entry(r, restored, node) {
		if (r->q == q)
			break;
		if (r->q->ident == q->ident)
			return true;
	}
	return false;
}

static int __mq_queue_store_attach(const char *path, u32 flush_ms,
				   struct netlink_ext_ack *extack)
{
	struct mq_recovery rc;
	struct mq_store_stats st;
	struct mq_restore *r;
	LIST_HEAD(restored);
	struct mq_store *s;
	struct mq_msg *m;
	int err, n = 0;

	if (READ_ONCE(mq_store_cur)) {
		NL_SET_ERR_MSG(extack, "a store is attached already (one per host)");
		return -EBUSY;
	}
	s = mq_store_open(path, flush_ms, mq_store_changed, mq_store_low_space,
			  mq_restore_entry, &restored, extack);
	if (IS_ERR(s)) {
		mq_restore_free(&restored);
		return PTR_ERR(s);
	}
	list_for_each_entry(r, &restored, node) {
		r->q = mq_restore_queue(r);
		if (IS_ERR(r->q)) {
			err = PTR_ERR(r->q);
			r->q = NULL;
			NL_SET_ERR_MSG(extack, "a catalog entry is damaged");
			goto fail;
		}
	}
	rc.restored = &restored;
	rc.was_clean = mq_store_was_clean(s);
	err = mq_store_recover(s, mq_restore_rec, &rc, extack);
	if (err)
		goto fail;

	mutex_lock(&mq_reg_lock);
	if (mq_store_cur) {
		NL_SET_ERR_MSG(extack, "a store is attached already (one per host)");
		err = -EBUSY;
		goto fail_unlock;
	}
	list_for_each_entry(r, &restored, node) {
		if (__mq_queue_lookup(r->q->name)) {
			NL_SET_ERR_MSG(extack, "a stored queue has an existing queue's name");
			err = -EEXIST;
			goto fail_unlock;
		}
		/* A store from another host may bring an identity in use. */
		if (mq_ident_used(r->q, &restored))
			r->q->ident = mq_registry_new_ident();
	}
	err = mq_store_begin(s);
	if (err) {
		NL_SET_ERR_MSG(extack, "cannot start the store's log");
		goto fail_unlock;
	}
	list_for_each_entry(r, &restored, node) {
		struct mq_queue *q = r->q;

		/*
		 * Never give an offset twice: one handed out before the
		 * catalog was saved stays used even if its message was lost
		 * (a write that failed, or async and not yet flushed).
		 */
		q->tail = max3(q->tail, r->next, r->cat_tail);
		list_for_each_entry(m, &q->msgs, node) {
			if (m->offset >= r->lease)
				break;
			m->flags |= MQ_MSG_REDELIVERED;
			q->redelivered++;
		}
		/*
		 * Offsets between the position and the newest found that
		 * are not there: damaged records, or messages read while a
		 * read before them was given back (the position cannot pass
		 * that one).
		 */
		r->lost = r->next - r->head - q->depth_msgs;
		if (r->lost)
			pr_warn("%s: queue %s: %llu message%s missing (damaged, or read ahead of a read that failed)\n",
				path, q->name, r->lost, r->lost == 1 ? "" : "s");
		err = mq_queue_register(q, extack);
		if (err)
			goto fail_unregister;
		/* Bound before anyone can reach it. */
		mq_store_get(s);
		spin_lock(&q->lock);
		q->store = s;
		spin_unlock(&q->lock);
		list_add_tail(&q->store_node, &mq_store_queues);
		WRITE_ONCE(mq_store_nqueues, mq_store_nqueues + 1);
		mq_queue_publish(q);
		n++;
	}
	mq_store_cur_set(s);
	/* Save the positions found and give back what they free. */
	if (__mq_queue_store_reclaim(s))
		pr_warn("%s: cannot write the catalog after recovery\n", path);
	/* Under the lock: before a detach that follows can say so. */
	mq_event_store(s, MQ_STORE_EV_ATTACHED);
	mutex_unlock(&mq_reg_lock);
	mq_store_stats(s, &st);
	pr_info("%s: attached, %d queues, %llu messages recovered%s\n", path,
		n, st.recovered_msgs, st.clean ? "" : " after an unclean stop");
	mq_restore_free(&restored);
	return 0;

fail_unregister:
	/* All or nothing: what is not registered would vanish from disk. */
	list_for_each_entry(r, &restored, node)
		if (r->q->store)
			__mq_queue_delete(r->q, false, NULL);
	mutex_unlock(&mq_reg_lock);
	mq_restore_free(&restored);
	/*
	 * Nothing was saved: a store that was clean still is, unless a queue
	 * was registered (and could be read) before the failure.
	 */
	mq_store_close(s, mq_store_was_clean(s) && !n);
	return err;
fail_unlock:
	mutex_unlock(&mq_reg_lock);
fail:
	mq_restore_free(&restored);
	mq_store_abort(s);
	return err;
}

/**
 * mq_queue_store_attach - attach the store on a block device and bring
 * its queues back
 * @path: the device
 * @flush_ms: async flush interval, 0 for the default
 * @extack: where to say why it failed
 *
 * Return: 0 or a negative errno (-EINTR: killed while another attach
 * ran); on error nothing is attached or created.
 */
int mq_queue_store_attach(const char *path, u32 flush_ms,
			  struct netlink_ext_ack *extack)
{
	int err;

	/* One at a time: a second must not recover its device to be refused. */
	if (mutex_lock_killable(&mq_attach_lock))
		return -EINTR;
	err = __mq_queue_store_attach(path, flush_ms, extack);
	mutex_unlock(&mq_attach_lock);
	return err;
}

/*
 * Mark (@on) or unmark the store's queues as being detached; under
 * mq_reg_lock. Marking fails, and changes nothing, if one is open (unless
 * @force). Return: whether they are marked.
 */
static bool mq_store_queues_detaching(struct mq_store *s, bool on, bool force)
{
	struct mq_queue *q;
	bool busy = false;

	lockdep_assert_held(&mq_reg_lock);
	list_for_each_entry(q, &mq_store_queues, store_node) {
		spin_lock(&q->lock);
		if (on && !force && atomic_read(&q->open_fds))
			busy = true;
		else
			q->detaching = on;
		spin_unlock(&q->lock);
		if (busy)
			break;
	}
	if (busy)
		mq_store_queues_detaching(s, false, false);
	return !busy;
}

/**
 * mq_queue_store_detach - detach the attached store
 * @force: even with open fds (module unload: there are none)
 * @extack: where to say why it failed
 *
 * Its queues are flushed, saved and go away; they come back on attach.
 * Return: 0, -ENODEV, -EBUSY or -ENOMEM (still attached).
 */
int mq_queue_store_detach(bool force, struct netlink_ext_ack *extack)
{
	struct mq_queue *q, *tmp;
	struct mq_disk_catalog *cat;
	struct mq_store *s;
	bool clean;

	mutex_lock(&mq_reg_lock);
	s = mq_store_cur;
	if (!s) {
		mutex_unlock(&mq_reg_lock);
		/* A late kick of a detached store's writer: not past unload. */
		flush_work(&mq_clean_work);
		NL_SET_ERR_MSG(extack, "no store attached");
		return -ENODEV;
	}
	/* From here on, open(2) of a durable queue fails with EBUSY. */
	if (!mq_store_queues_detaching(s, true, force)) {
		mutex_unlock(&mq_reg_lock);
		NL_SET_ERR_MSG(extack, "a durable queue is open: close it first");
		return -EBUSY;
	}
	/* Before anything is done: a detach without memory changes nothing. */
	cat = mq_store_catalog_alloc(s, mq_store_nqueues);
	if (!cat && !force) {
		mq_store_queues_detaching(s, false, false);
		mutex_unlock(&mq_reg_lock);
		NL_SET_ERR_MSG(extack, "out of memory for the store's catalog; still attached");
		return -ENOMEM;
	}
	mq_store_commit_all(s, false);
	clean = !mq_store_save(s, cat, 0, true);
	if (!clean)
		pr_err("%s: cannot write the catalog at detach\n",
		       mq_store_path(s));
	list_for_each_entry_safe(q, tmp, &mq_store_queues, store_node)
		__mq_queue_delete(q, false, NULL);
	mq_store_cur_set(NULL);
	mq_event_store(s, MQ_STORE_EV_DETACHED);
	mutex_unlock(&mq_reg_lock);
	/*
	 * A run from here on finds no store; the one queued may still be
	 * for this one, and a writer may wait for it: let it end.
	 */
	flush_work(&mq_clean_work);
	mq_store_close(s, clean);
	return 0;
}

/**
 * mq_queue_store_format - write an empty store
 * @path: the block device
 * @seg_size: segment size, 0 for the default
 * @extack: where to say why it failed
 *
 * Return: 0 or a negative errno.
 */
int mq_queue_store_format(const char *path, u32 seg_size,
			  struct netlink_ext_ack *extack)
{
	return mq_store_format(path, seg_size, extack);
}

/**
 * mq_queue_store_stats - a store's state and counters, with its queues
 * @s: the store, held
 * @st: filled in
 */
void mq_queue_store_stats(struct mq_store *s, struct mq_store_stats *st)
{
	mq_store_stats(s, st);
	st->queues = s == READ_ONCE(mq_store_cur) ?
		     READ_ONCE(mq_store_nqueues) : 0;
}

/**
 * mq_queue_store_put - drop a reference from mq_queue_store_get()
 * @s: the store
 */
void mq_queue_store_put(struct mq_store *s)
{
	mq_store_put(s);
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
	.bind = mq_store_add_queue,
	.unbind = mq_dur_unbind,
	.set_durability = mq_queue_set_durability,
};
