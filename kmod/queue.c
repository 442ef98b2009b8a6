// SPDX-License-Identifier: GPL-2.0
/*
 * The queue core. A queue is an append-only log of messages with 64-bit
 * offsets; readers remove the oldest. One spinlock per queue guards the
 * list, the counters and the lists of sleeping readers and writers;
 * payloads are copied to and from user memory outside it.
 *
 * This file is the data path: send, read, take, direct, sync, poll,
 * snapshot, open. Sleepers are served in FIFO order by handoff
 * (handoff.c); a durable queue's messages in log order and its restore
 * are in restore.c.
 *
 * A durable queue's messages, positions and read leases are logged
 * through struct mq_persist_ops (the durable binding), under the queue's
 * lock where the interface says so; this file never looks at the store.
 */

#include <linux/slab.h>
#include <linux/sched/task.h>
#include <linux/sched/signal.h>
#include <linux/cred.h>
#include <linux/timekeeping.h>

#include "queue_int.h"
#include "registry.h"

const struct mq_persist_ops *mq_persist;

/*
 * May the caller open @q for @mask (MAY_READ, MAY_WRITE)? The queue's own
 * mode, owner and group decide, as a file's do (generic_permission(),
 * capable_wrt_inode_uidgid()): the node the caller came through may be a
 * copy made with other access, or of a deleted queue whose minor this one
 * reuses.
 */
static int mq_queue_permission(struct mq_queue *q, int mask)
{
	struct user_namespace *ns = current_user_ns();
	umode_t mode;
	kuid_t uid;
	kgid_t gid;

	spin_lock(&q->lock);
	mode = q->mode;
	uid = q->uid;
	gid = q->gid;
	spin_unlock(&q->lock);

	if (uid_eq(current_fsuid(), uid))
		mode >>= 6;
	else if (in_group_p(gid))
		mode >>= 3;
	if (!(mask & ~mode & (MAY_READ | MAY_WRITE)))
		return 0;
	if (!kuid_has_mapping(ns, uid) || !kgid_has_mapping(ns, gid))
		return -EACCES;
	if (ns_capable(ns, CAP_DAC_OVERRIDE))
		return 0;
	if (!(mask & MAY_WRITE) && ns_capable(ns, CAP_DAC_READ_SEARCH))
		return 0;
	return -EACCES;
}

/**
 * mq_queue_open - count a new open file description of a queue
 * @q: the queue, with a reference held
 * @mask: the access asked for: MAY_READ and/or MAY_WRITE
 *
 * Checks the opener against the queue's current access. Counted under
 * the queue's lock, so that a detach that found no open fds sees this
 * one or makes it fail.
 *
 * Return: 0, -EACCES, or -EBUSY (its store is being detached).
 */
int mq_queue_open(struct mq_queue *q, int mask)
{
	int err = mq_queue_permission(q, mask);

	if (err)
		return err;
	spin_lock(&q->lock);
	if (q->detaching)
		err = -EBUSY;
	else
		atomic_inc(&q->open_fds);
	spin_unlock(&q->lock);
	return err;
}

/**
 * mq_queue_close - an open file description of a queue is gone
 * @q: the queue
 */
void mq_queue_close(struct mq_queue *q)
{
	atomic_dec(&q->open_fds);
}

/**
 * mq_queue_consumed - where a durable queue's consumption stands
 * @q: the queue; under q->lock
 *
 * Every message below was delivered: the oldest queued message's offset,
 * or the tail, or a read in flight's, whichever is lowest.
 * Return: the offset.
 */
u64 mq_queue_consumed(struct mq_queue *q)
{
	struct mq_msg *m = list_first_entry_or_null(&q->msgs, struct mq_msg,
						    node);
	u64 pos = m ? m->offset : q->tail;
	struct mq_reading *rd;

	lockdep_assert_held(&q->lock);
	list_for_each_entry(rd, &q->reading, node)
		pos = min(pos, rd->offset);
	return pos;
}

/**
 * mq_take - take the oldest message for a reader
 * @q: the queue; under q->lock
 * @m: its oldest message
 * @rd: a read(2) that may yet fail and give the message back: it stays
 *	registered until mq_read_done() (a durable queue's position waits
 *	for it, and the queue cannot move into or out of the store
 *	meanwhile); NULL: delivered now (into a ring)
 */
void mq_take(struct mq_queue *q, struct mq_msg *m, struct mq_reading *rd)
{
	u64 before;

	lockdep_assert_held(&q->lock);
	before = q->store ? mq_queue_consumed(q) : 0;
	mq_unlink(q, m);
	if (rd && !q->store) {
		/* Counted only: the queue cannot become durable meanwhile. */
		rd->offset = m->offset;
		rd->counted = true;
		atomic_inc(&q->reading_mem);
		return;
	}
	if (rd) {
		rd->offset = m->offset;
		rd->lpos = m->lpos;
		list_add_tail(&rd->node, &q->reading);
		return;
	}
	q->delivered_hi = max(q->delivered_hi, m->offset + 1);
	if (q->store)
		mq_persist->log_pos(q, before);
}

/*
 * A read(2) is over, its message delivered or given back; under q->lock.
 * A queue deleted meanwhile logs nothing more.
 */
static void mq_read_done(struct mq_queue *q, struct mq_reading *rd)
{
	u64 before;

	lockdep_assert_held(&q->lock);
	if (rd->counted) {
		rd->counted = false;
		atomic_dec(&q->reading_mem);
		return;
	}
	if (list_empty(&rd->node))
		return;
	before = mq_queue_consumed(q);
	list_del_init(&rd->node);
	if (q->store && !q->dead)
		mq_persist->log_pos(q, before);
}

/* A read(2) delivered its message: mq_read_done() from outside the lock. */
static void mq_read_end(struct mq_queue *q, struct mq_reading *rd)
{
	/* A memory queue's: nothing waits for its position. */
	if (rd->counted) {
		rd->counted = false;
		atomic_dec(&q->reading_mem);
		return;
	}
	/* Once the reader runs, only it adds or removes rd: lockless test. */
	if (list_empty(&rd->node))
		return;
	spin_lock(&q->lock);
	q->delivered_hi = max(q->delivered_hi, rd->offset + 1);
	mq_read_done(q, rd);
	spin_unlock(&q->lock);
}

/**
 * mq_queue_write - append one message
 * @q: the queue
 * @from: the whole message
 * @nonblock: fail with -EAGAIN instead of waiting for room
 *
 * A durable queue's message is logged in the store as it is appended;
 * for durability sync the call returns once the record is on stable
 * storage.
 *
 * Return: the message length, or -EINVAL (empty), -EMSGSIZE (too big),
 * -EAGAIN (full, or @nonblock and the log is being made room in),
 * -ERESTARTSYS, -EFAULT, -ENOMEM, -EIDRM, -ENOSPC (store full),
 * -EIO (store degraded) or -EINTR (killed while waiting on the store);
 * on error nothing was appended, but for -EIO or -EINTR from a sync
 * queue's wait for stable storage: the message is queued and in the log
 * buffer, not known to be on stable storage.
 */
ssize_t mq_queue_write(struct mq_queue *q, struct iov_iter *from,
		       bool nonblock)
{
	return mq_queue_send(q, from, nonblock, NULL);
}

/**
 * mq_queue_send - append one message, maybe without waiting for the disk
 * @q: the queue
 * @from: the whole message
 * @nonblock: fail with -EAGAIN instead of waiting for room
 * @endp: NULL: as mq_queue_write(); else the call does not wait for a
 *	sync queue's commit and sets *@endp to the log position that must
 *	be durable for the message to be (0 for a memory queue); see
 *	mq_queue_sync() and mq_queue_durable()
 *
 * Return: as mq_queue_write().
 */
ssize_t mq_queue_send(struct mq_queue *q, struct iov_iter *from,
		      bool nonblock, u64 *endp)
{
	size_t len = iov_iter_count(from);
	struct mq_wake wake = { 0 };
	struct mq_store *s = NULL;
	bool sync = false, woken = false;
	struct mq_waiter w;
	struct mq_msg *m;
	u64 end = 0;
	int err;

	if (READ_ONCE(q->dead))
		return -EIDRM;
	if (len == 0)
		return -EINVAL;
	if (len > READ_ONCE(q->lim.max_msg))
		return -EMSGSIZE;
again:
	m = mq_msg_get(&q->spare, q->memcg, len, !READ_ONCE(q->store));
	if (!m) {
		err = -ENOMEM;
		goto out;
	}
	if (!mq_msg_fill(m, from)) {
		err = -EFAULT;
		goto out;
	}
	/* Coarse: a precise clock read per message costs more than it tells. */
	m->tstamp_ns = ktime_get_coarse_real_ns();
	m->flags = 0;
	m->lpos = 0;
	m->pcrc_ok = false;
	if (READ_ONCE(q->store)) {
		/* The record's checksum, outside every lock. */
		m->pcrc = mq_msg_crc(m);
		m->pcrc_ok = true;
	}

relock:
	err = 0;
	spin_lock(&q->lock);
	if (q->dead) {
		err = -EIDRM;
	} else if (q->store && m->inl) {
		/*
		 * Laid out for a memory queue, and the queue became durable
		 * since: a durable payload must be all in fragments, which
		 * eviction drops. Copy it again.
		 */
		spin_unlock(&q->lock);
		mq_msg_free(m);
		iov_iter_revert(from, len);
		goto again;
	} else if (len > q->lim.max_msg) {
		err = -EMSGSIZE;
	} else if (mq_has_room(q, len) &&
		   (list_empty(&q->writers) || (woken && q->store))) {
		if (q->store) {
			m->offset = q->tail;
			err = mq_persist->log_msg(q, m, &end);
			if (!err || err == -EINPROGRESS || err == -ENOSPC) {
				s = mq_persist->get(q);
				sync = q->durability == MQ_DURABILITY_SYNC;
			}
		}
		if (!err) {
			mq_append(q, m);
			mq_serve_readers(q, &wake);
		}
	} else if (nonblock) {
		err = -EAGAIN;
	} else if (!q->store &&
		   q->pinned_bytes + len <= q->lim.cap_bytes) {
		q->pinned_bytes += len;
		w.msg = m;
		w.len = len;
		/* Drops the lock; on success a reader appended m for us. */
		err = mq_sleep(q, &w, &q->writers, &q->blocked_writers);
		goto out;
	} else {
		spin_unlock(&q->lock);
		mq_msg_free(m);
		m = NULL;
		iov_iter_revert(from, len);
		woken = false;
		err = mq_wait_pin(q, len, &woken);
		if (err)
			return err;
		goto again;
	}
	spin_unlock(&q->lock);
	mq_wake_up(&wake);
	if (err == -EINPROGRESS || err == -ENOSPC) {
		/*
		 * The log's memory is full, or its space: make room. Space
		 * comes back in rounds of the cleaner, which other writers
		 * may take first: until it says the store is full.
		 */
		if (err == -EINPROGRESS)
			/* Nothing of ours appended yet: killable. */
			err = mq_persist->commit(s);
		else
			err = mq_persist->reclaim(s, !nonblock);
		mq_persist->put(s);
		s = NULL;
		/* A writer can steer the log here again and again. */
		cond_resched();
		if (!err && signal_pending(current))
			err = -ERESTARTSYS;
		if (!err)
			goto relock;
	}
out:
	if (err) {
		if (s)
			mq_persist->put(s);
		mq_msg_free(m);
		/* Woken for room it will not take: the next writer may. */
		if (woken)
			mq_writers_pass_on(q);
		return err;
	}
	mq_poll_wake(q, EPOLLIN | EPOLLRDNORM);
	if (endp)
		*endp = s ? end : 0;
	if (s) {
		if (sync && !endp)
			err = mq_persist->wait(s, end);
		if (!err)
			mq_persist->trim(q, s);
		mq_persist->put(s);
		if (err)
			return err;
	}
	return len;
}

/* Put back a message whose copy to the reader failed; under q->lock. */
static void mq_msg_unread(struct mq_queue *q, struct mq_msg *m)
{
	struct mq_msg *pos;

	lockdep_assert_held(&q->lock);
	/* Another reader's failed copy may have gone back already. */
	list_for_each_entry(pos, &q->msgs, node)
		if (pos->offset > m->offset)
			break;
	list_add_tail(&m->node, &pos->node);
	/* The slot may have gone to a writer: depth can pass cap by one. */
	q->depth_msgs++;
	q->depth_bytes += m->len;
	q->msgs_out--;
	q->bytes_out -= m->len;
	if (m->flags & MQ_MSG_REDELIVERED)
		q->redelivered++;
	if (q->store) {
		mq_queue_by_lpos_insert(q, m, false);
		mq_persist->linked(q, m, true);
	}
}

/**
 * mq_queue_read - remove and return the oldest message
 * @q: the queue
 * @to: where to copy it; too small a buffer gets -EMSGSIZE
 * @nonblock: fail with -EAGAIN instead of waiting for a message
 * @meta: if not NULL, filled with the message's offset, time and flags
 *
 * Return: the message length, or -EMSGSIZE, -EAGAIN, -ERESTARTSYS, -EFAULT,
 * -EIDRM, -EIO (a durable queue's store failed), or -ENOMEM or -EUCLEAN
 * (an evicted message could not be read back); on error the message
 * stays queued, unless the queue was deleted meanwhile.
 */
ssize_t mq_queue_read(struct mq_queue *q, struct iov_iter *to, bool nonblock,
		      struct mq_msg_meta *meta)
{
	size_t len, room = iov_iter_count(to);
	struct mq_store *s, *load = NULL;
	struct mq_wake wake = { 0 };
	struct mq_waiter w;
	struct mq_msg *m;
	int err;

	INIT_LIST_HEAD(&w.rd.node);
	w.rd.counted = false;
again:
	err = 0;
	spin_lock(&q->lock);
	m = list_first_entry_or_null(&q->msgs, struct mq_msg, node);
	if (q->dead) {
		err = -EIDRM;
	} else if (m && m->len > room) {
		err = -EMSGSIZE;
	} else if (m && q->store && !mq_persist->lease_ok(q, m)) {
		/* Commit the lease (and all before it), then try again. */
		s = mq_persist->get(q);
		spin_unlock(&q->lock);
		err = mq_persist->commit(s);
		mq_persist->put(s);
		if (err)
			return err;
		goto again;
	} else if (m) {
		mq_take(q, m, &w.rd);
		if (!mq_msg_resident(m))
			load = mq_persist->get(q);
		mq_serve_writers(q, &wake);
	} else if (nonblock) {
		err = -EAGAIN;
	} else {
		w.len = room;
		w.msg = NULL;
		/* Drops the lock; a completed reader holds its message. */
		err = mq_sleep(q, &w, &q->readers, &q->blocked_readers);
		if (err == MQ_RETRY)
			goto again;
		m = w.msg;
		goto out;
	}
	spin_unlock(&q->lock);
	mq_wake_up(&wake);
out:
	if (err)
		return err;

	len = m->len;
	if (meta) {
		meta->offset = m->offset;
		meta->tstamp_ns = m->tstamp_ns;
		meta->flags = m->flags;
	}
	if (load) {
		/* Evicted: its turn has come, read it back from the log. */
		err = mq_persist->load(q, load, m);
		mq_persist->put(load);
		if (err) {
			spin_lock(&q->lock);
			if (!q->dead) {
				mq_msg_unread(q, m);
				m = NULL;
			}
			mq_read_done(q, &w.rd);
			spin_unlock(&q->lock);
			mq_msg_free(m);
			return err;
		}
	}
	if (!mq_msg_copy_out(m, to)) {
		spin_lock(&q->lock);
		if (!q->dead) {
			mq_msg_unread(q, m);
			mq_serve_readers(q, &wake);
			m = NULL;
		}
		mq_read_done(q, &w.rd);
		spin_unlock(&q->lock);
		mq_wake_up(&wake);
		mq_msg_free(m);
		mq_poll_wake(q, EPOLLIN | EPOLLRDNORM);
		return -EFAULT;
	}
	/* Delivered: now the position may pass it. */
	mq_read_end(q, &w.rd);
	mq_msg_put(&q->spare, m);
	mq_poll_wake(q, EPOLLOUT | EPOLLWRNORM);
	return len;
}

/**
 * mq_queue_take - remove queued messages for a consumer that copies them
 * @q: the queue
 * @fits: called under the queue's lock with each next message's length;
 *	false stops
 * @arg: for @fits
 * @out: the messages, oldest first; the caller frees them (mq_msgs_put())
 * @max: at most this many
 *
 * Takes only what needs no sleeping: messages in memory and, for durable
 * queues, under the read lease; mq_queue_read() does the rest. The copy
 * cannot fail: their position is logged at once (a read(2)'s, when it is
 * done).
 *
 * Return: how many, or -EIDRM.
 */
int mq_queue_take(struct mq_queue *q, bool (*fits)(void *arg, u32 len),
		  void *arg, struct list_head *out, u32 max)
{
	struct mq_wake wake = { 0 };
	struct mq_msg *m;
	int n = 0;

	spin_lock(&q->lock);
	if (q->dead) {
		spin_unlock(&q->lock);
		return -EIDRM;
	}
	while (n < max) {
		m = list_first_entry_or_null(&q->msgs, struct mq_msg, node);
		if (!m || !mq_msg_resident(m) || (q->store && !mq_persist->lease_ok(q, m)) ||
		    !fits(arg, m->len))
			break;
		mq_take(q, m, NULL);
		list_add_tail(&m->node, out);
		n++;
	}
	if (n)
		mq_serve_writers(q, &wake);
	spin_unlock(&q->lock);
	mq_wake_up(&wake);
	if (n)
		mq_poll_wake(q, EPOLLOUT | EPOLLWRNORM);
	return n;
}

/**
 * mq_queue_direct - account messages handed straight to a consumer
 * @q: the queue
 * @n: how many
 * @bytes: their total length
 * @longest: the length of the longest
 * @first: out: the offset of the first; they get consecutive ones
 *
 * A front-end that can copy messages from a producer straight to a
 * consumer does so only while that cannot reorder or bypass anything:
 * for a memory queue with nothing queued and no reader asleep. The
 * messages are then written and read at once, as if they went through
 * the log. @longest is checked against max-msg here, under the lock that
 * a limit change takes: a front-end's own earlier check may be stale.
 * Return: 0, -EIDRM, or -EAGAIN (go through the log, which checks each
 * message).
 */
int mq_queue_direct(struct mq_queue *q, u32 n, u64 bytes, u32 longest,
		    u64 *first)
{
	int err = 0;

	spin_lock(&q->lock);
	if (q->dead) {
		err = -EIDRM;
	} else if (q->store || !list_empty(&q->msgs) || q->blocked_readers ||
		   longest > q->lim.max_msg) {
		err = -EAGAIN;
	} else {
		*first = q->tail;
		q->tail += n;
		q->msgs_in += n;
		q->msgs_out += n;
		q->bytes_in += bytes;
		q->bytes_out += bytes;
	}
	spin_unlock(&q->lock);
	return err;
}

/* Wake whoever polls or waits on @q for messages (a direct handoff). */
void mq_queue_wake_readers(struct mq_queue *q)
{
	mq_poll_wake(q, EPOLLIN | EPOLLRDNORM);
}

/**
 * mq_queue_wake_writers - tell a queue's pollers that writing may go on
 * @q: the queue
 *
 * For the durable binding, when log space may have come back.
 */
void mq_queue_wake_writers(struct mq_queue *q)
{
	mq_poll_wake(q, EPOLLOUT | EPOLLWRNORM);
}

/**
 * mq_queue_durable - how far a queue's store is on stable storage
 * @q: the queue
 *
 * Return: the store's durable log position, or U64_MAX for a memory
 * queue (everything it holds is as durable as it gets).
 */
u64 mq_queue_durable(struct mq_queue *q)
{
	u64 durable = U64_MAX;

	spin_lock(&q->lock);
	if (q->store)
		durable = mq_persist->durable(q->store);
	spin_unlock(&q->lock);
	return durable;
}

/**
 * mq_queue_sync - wait until log position @end is on stable storage
 * @q: the queue
 * @end: from mq_queue_send()
 *
 * Joins (or leads) a group commit, as a sync write(2) does. Return: 0,
 * -EIO if it never will be, or -EINTR if the caller was killed first.
 */
int mq_queue_sync(struct mq_queue *q, u64 end)
{
	struct mq_store *s;
	int err;

	spin_lock(&q->lock);
	s = q->store ? mq_persist->get(q) : NULL;
	spin_unlock(&q->lock);
	if (!s)
		return 0;
	err = mq_persist->wait(s, end);
	mq_persist->put(s);
	return err;
}

/**
 * mq_queue_poll - readiness of a queue
 * @q: the queue
 * @file: the polling file
 * @wait: the poll table
 *
 * Return: EPOLLIN when a message is queued, EPOLLOUT when a message of the
 * maximum size fits (and the durable binding does not say to wait for
 * log space), EPOLLHUP | EPOLLERR once the queue is deleted.
 */
__poll_t mq_queue_poll(struct mq_queue *q, struct file *file,
		       poll_table *wait)
{
	__poll_t mask = 0;

	poll_wait(file, &q->pollq, wait);

	spin_lock(&q->lock);
	if (q->dead)
		mask = EPOLLHUP | EPOLLERR;
	if (!list_empty(&q->msgs))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (!q->dead && mq_has_room(q, q->lim.max_msg) &&
	    (!q->store || mq_persist->room(q)))
		mask |= EPOLLOUT | EPOLLWRNORM;
	spin_unlock(&q->lock);
	return mask;
}

/**
 * mq_queue_snapshot - copy a queue's limits, access and counters
 * @q: the queue
 * @s: where to put them
 */
void mq_queue_snapshot(struct mq_queue *q, struct mq_queue_snapshot *s)
{
	struct mq_msg *first;

	spin_lock(&q->lock);
	first = list_first_entry_or_null(&q->msgs, struct mq_msg, node);
	s->lim = q->lim;
	s->mode = q->mode;
	s->uid = q->uid;
	s->gid = q->gid;
	s->next_len = first ? first->len : 0;
	s->head = first ? first->offset : q->tail;
	s->tail = q->tail;
	s->depth_msgs = q->depth_msgs;
	s->depth_bytes = q->depth_bytes;
	s->peak_msgs = q->peak_msgs;
	s->msgs_in = q->msgs_in;
	s->bytes_in = q->bytes_in;
	s->msgs_out = q->msgs_out;
	s->bytes_out = q->bytes_out;
	s->dead = q->dead;
	s->blocked_readers = q->blocked_readers +
			     atomic_read(&q->blocked_outside);
	s->blocked_writers = q->blocked_writers;
	s->durability = q->durability;
	s->next_flags = first ? first->flags : 0;
	s->redelivered = q->redelivered;
	s->durable_offset = q->store ? mq_persist->durable_offset(q) : 0;
	spin_unlock(&q->lock);
	s->open_fds = atomic_read(&q->open_fds);
}

