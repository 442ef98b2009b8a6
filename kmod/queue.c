// SPDX-License-Identifier: GPL-2.0
/*
 * The queue core. A queue is an append-only log of messages with 64-bit
 * offsets; readers remove the oldest. One spinlock per queue guards the
 * list, the counters and the lists of sleeping readers and writers;
 * payloads are copied to and from user memory outside it.
 *
 * Sleepers are served in FIFO order by handoff, as POSIX mqueue does: a
 * writer gives its message straight to the first sleeping reader whose
 * buffer fits it, and a reader that frees room appends the first sleeping
 * writer's message for it. Exactly the tasks that can make progress are
 * woken, after the lock is dropped, and they find their work done.
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

#include "queue.h"
#include "registry.h"

/*
 * A task asleep in read or write, on q->readers or q->writers, on its own
 * stack. Whoever completes it does so under q->lock: fills @msg and @err,
 * unlinks it, takes a reference to the task and only then publishes
 * @done. The sleeper may return as soon as it sees @done, so nothing
 * touches the waiter after that, but for @rd: a reader handed a message
 * is on q->reading until it is done with it (mq_read_done()). The task
 * is woken after the lock is dropped (struct mq_wake), as POSIX mqueue
 * does with its wake_q.
 */
struct mq_waiter {
	struct list_head node;
	struct task_struct *task;
	struct mq_reading rd;	/* reader of a durable queue: its read */
	u32 *count;		/* q->blocked_readers or q->blocked_writers */
	struct mq_msg *msg;	/* reader: the message handed over; writer:
				 * the message to append, NULL while it
				 * waits to copy one (see mq_wait_pin())
				 */
	size_t len;		/* reader: buffer size; writer: message size */
	int err;		/* the call's result when not 0 */
	int done;
};

/* A writer's result: copy the message again, there is room for it now. */
#define MQ_RETRY	1

/* Tasks to wake once q->lock is dropped. */
struct mq_wake {
	unsigned int n;
	struct task_struct *tasks[4];
};

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

/* Under q->lock. */
static bool mq_has_room(const struct mq_queue *q, size_t len)
{
	lockdep_assert_held(&q->lock);
	return q->depth_msgs < q->lim.cap_msgs &&
	       q->depth_bytes + len <= q->lim.cap_bytes;
}

static void mq_poll_wake(struct mq_queue *q, __poll_t events)
{
	if (wq_has_sleeper(&q->pollq))
		wake_up_interruptible_poll(&q->pollq, events);
}

/* Take a sleeper off its list; under q->lock. */
static void mq_waiter_unlink(struct mq_queue *q, struct mq_waiter *w)
{
	lockdep_assert_held(&q->lock);
	list_del(&w->node);
	(*w->count)--;
	if (w->count == &q->blocked_writers && w->msg)
		q->pinned_bytes -= w->len;
}

/* Finish a sleeper's call; under q->lock. */
static void mq_waiter_complete(struct mq_queue *q, struct mq_waiter *w,
			       int err, struct mq_wake *wake)
{
	struct task_struct *task = w->task;

	lockdep_assert_held(&q->lock);
	mq_waiter_unlink(q, w);
	w->err = err;
	get_task_struct(task);
	/* Pairs with mq_sleep()'s acquire: err and msg are seen first. */
	smp_store_release(&w->done, 1);
	/* From here on the waiter may be gone. */
	if (wake->n < ARRAY_SIZE(wake->tasks)) {
		wake->tasks[wake->n++] = task;
	} else {
		wake_up_process(task);
		put_task_struct(task);
	}
}

/* Wake the tasks completed under q->lock, after dropping it. */
static void mq_wake_up(struct mq_wake *wake)
{
	while (wake->n) {
		struct task_struct *task = wake->tasks[--wake->n];

		wake_up_process(task);
		put_task_struct(task);
	}
}

/* Append a message to the log; under q->lock, with room checked. */
static void mq_append(struct mq_queue *q, struct mq_msg *m)
{
	lockdep_assert_held(&q->lock);
	m->offset = q->tail++;
	list_add_tail(&m->node, &q->msgs);
	if (q->store) {
		list_add_tail(&m->lnode, &q->by_lpos);	/* the newest record */
		mq_persist->linked(q, m, false);
	}
	q->depth_msgs++;
	q->depth_bytes += m->len;
	if (q->depth_msgs > q->peak_msgs)
		q->peak_msgs = q->depth_msgs;
	q->msgs_in++;
	q->bytes_in += m->len;
}

/* Take the oldest message off the log; under q->lock. */
static void mq_unlink(struct mq_queue *q, struct mq_msg *m)
{
	lockdep_assert_held(&q->lock);
	list_del(&m->node);
	if (!list_empty(&m->lnode))
		list_del_init(&m->lnode);
	q->depth_msgs--;
	q->depth_bytes -= m->len;
	q->msgs_out++;
	q->bytes_out += m->len;
	if (m->flags & MQ_MSG_REDELIVERED)
		q->redelivered--;
	if (q->store)
		mq_persist->unlinked(q, m);
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

/*
 * Take the oldest message for a reader; under q->lock. @rd: a read(2)
 * that may yet fail and give the message back: it stays registered until
 * mq_read_done() (a durable queue's position waits for it, and the queue
 * cannot move into or out of the store meanwhile); NULL: delivered now
 * (into a ring).
 */
static void mq_take(struct mq_queue *q, struct mq_msg *m,
		    struct mq_reading *rd)
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

/*
 * Hand queued messages to sleeping readers; under q->lock. A reader whose
 * buffer is too small for the oldest message gets -EMSGSIZE, as it would
 * have without sleeping. Sleeping readers imply an empty log afterwards.
 */
static void mq_serve_readers(struct mq_queue *q, struct mq_wake *wake)
{
	struct mq_waiter *w, *tmp;
	struct mq_msg *m;

	lockdep_assert_held(&q->lock);
	list_for_each_entry_safe(w, tmp, &q->readers, node) {
		m = list_first_entry_or_null(&q->msgs, struct mq_msg, node);
		if (!m)
			return;
		if (m->len > w->len) {
			mq_waiter_complete(q, w, -EMSGSIZE, wake);
			continue;
		}
		/* Not in memory, or not leased: the reader does it itself. */
		if (!mq_msg_resident(m) || (q->store && !mq_persist->lease_ok(q, m))) {
			mq_waiter_complete(q, w, MQ_RETRY, wake);
			continue;
		}
		mq_take(q, m, &w->rd);
		w->msg = m;
		mq_waiter_complete(q, w, 0, wake);
	}
}

/*
 * Serve sleeping writers in order while their messages fit: append a
 * held message, or tell a writer without one to copy it now. Under
 * q->lock.
 */
static void mq_serve_writers(struct mq_queue *q, struct mq_wake *wake)
{
	u64 msgs = q->depth_msgs, bytes = q->depth_bytes;
	struct mq_waiter *w, *tmp;

	lockdep_assert_held(&q->lock);
	list_for_each_entry_safe(w, tmp, &q->writers, node) {
		if (q->store) {
			/*
			 * Durable queues' writers wait without a message and
			 * log it themselves: wake as many as there is room
			 * for, not a herd for one slot.
			 */
			if (msgs >= q->lim.cap_msgs ||
			    bytes + w->len > q->lim.cap_bytes)
				break;
			msgs++;
			bytes += w->len;
			mq_waiter_complete(q, w, MQ_RETRY, wake);
			continue;
		}
		if (!mq_has_room(q, w->len)) {
			if (w->msg || q->pinned_bytes + w->len > q->lim.cap_bytes)
				break;
			mq_waiter_complete(q, w, MQ_RETRY, wake);
			continue;
		}
		if (!w->msg) {
			mq_waiter_complete(q, w, MQ_RETRY, wake);
			continue;
		}
		q->pinned_bytes -= w->len;
		mq_append(q, w->msg);
		w->msg = NULL;		/* the log's now, and no longer pinned */
		mq_waiter_complete(q, w, 0, wake);
	}
	/* Only after a limit change can readers sleep on a non-empty log. */
	mq_serve_readers(q, wake);
}

/* After max-msg was lowered: writers holding larger messages fail. */
static void mq_fail_oversize_writers(struct mq_queue *q, struct mq_wake *wake)
{
	struct mq_waiter *w, *tmp;

	lockdep_assert_held(&q->lock);
	list_for_each_entry_safe(w, tmp, &q->writers, node)
		if (w->len > q->lim.max_msg)
			mq_waiter_complete(q, w, -EMSGSIZE, wake);
}

/* Fail every sleeper of a dead queue; under q->lock. */
static void mq_fail_waiters(struct mq_queue *q, struct mq_wake *wake)
{
	struct mq_waiter *w, *tmp;

	lockdep_assert_held(&q->lock);
	list_for_each_entry_safe(w, tmp, &q->readers, node)
		mq_waiter_complete(q, w, -EIDRM, wake);
	list_for_each_entry_safe(w, tmp, &q->writers, node)
		mq_waiter_complete(q, w, -EIDRM, wake);
}

/*
 * Wait on @list until completed or interrupted, counted in @count.
 * Called with q->lock held; returns with it released. Return: the result
 * the completer set, or -ERESTARTSYS if a signal came first.
 */
static int mq_sleep(struct mq_queue *q, struct mq_waiter *w,
		    struct list_head *list, u32 *count)
	__releases(&q->lock)
{
	struct mq_wake wake = { 0 };

	lockdep_assert_held(&q->lock);
	w->task = current;
	w->count = count;
	w->err = 0;
	w->done = 0;
	list_add_tail(&w->node, list);
	(*count)++;
	while (!w->done) {
		if (signal_pending(current)) {
			mq_waiter_unlink(q, w);
			/* Writers behind us may fit where we did not. */
			if (list == &q->writers)
				mq_serve_writers(q, &wake);
			spin_unlock(&q->lock);
			mq_wake_up(&wake);
			return -ERESTARTSYS;
		}
		set_current_state(TASK_INTERRUPTIBLE);
		spin_unlock(&q->lock);
		schedule();
		/* Completed: the result is ours without the lock. */
		if (smp_load_acquire(&w->done))
			return w->err;
		spin_lock(&q->lock);
	}
	spin_unlock(&q->lock);
	return w->err;
}

/*
 * A writer woken for room failed before it could take it (a fault or no
 * memory copying its message again): serve the writers behind it, which
 * would otherwise sleep on with room free.
 */
static void mq_writers_pass_on(struct mq_queue *q)
{
	struct mq_wake wake = { 0 };

	spin_lock(&q->lock);
	if (!q->dead)
		mq_serve_writers(q, &wake);
	spin_unlock(&q->lock);
	mq_wake_up(&wake);
}

/*
 * Sleeping writers hold their messages, charged to the queue's owner, but
 * never more than a queue's worth (cap_bytes) of them at once. A writer
 * past that, or any writer of a durable queue, waits here without a
 * message until its message would fit, then copies it again; @woken says
 * room was made for it. Return: 0 (copy again), -ERESTARTSYS or -EIDRM.
 */
static int mq_wait_pin(struct mq_queue *q, size_t len, bool *woken)
{
	struct mq_waiter w = { .msg = NULL, .len = len };
	bool go;
	int err;

	spin_lock(&q->lock);
	if (q->dead) {
		spin_unlock(&q->lock);
		return -EIDRM;
	}
	if (q->store)
		go = mq_has_room(q, len) && list_empty(&q->writers);
	else
		go = mq_has_room(q, len) ||
		     q->pinned_bytes + len <= q->lim.cap_bytes;
	if (go) {
		spin_unlock(&q->lock);
		return 0;
	}
	err = mq_sleep(q, &w, &q->writers, &q->blocked_writers);
	if (err == MQ_RETRY) {
		*woken = true;
		return 0;
	}
	return err;
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

/**
 * mq_queue_by_lpos_insert - put a message where its log position goes
 * in q->by_lpos
 * @q: a durable queue; under q->lock
 * @m: a queued message, on no by_lpos list
 * @newest: its record is among the newest (a cleaner's copy), not the
 *	oldest (a message a failed read gave back): the end to walk from
 */
void mq_queue_by_lpos_insert(struct mq_queue *q, struct mq_msg *m,
			     bool newest)
{
	struct mq_msg *pos;

	lockdep_assert_held(&q->lock);
	/* A message given back may have a cleaner's copy: the nearer end. */
	if (!newest && !list_empty(&q->by_lpos)) {
		struct mq_msg *first = list_first_entry(&q->by_lpos,
							struct mq_msg, lnode);
		struct mq_msg *last = list_last_entry(&q->by_lpos,
						      struct mq_msg, lnode);

		newest = m->lpos >= last->lpos ||
			 (m->lpos > first->lpos &&
			  m->lpos - first->lpos > last->lpos - m->lpos);
	}
	if (newest) {
		list_for_each_entry_reverse(pos, &q->by_lpos, lnode)
			if (pos->lpos < m->lpos)
				break;
		list_add(&m->lnode, &pos->lnode);
		return;
	}
	list_for_each_entry(pos, &q->by_lpos, lnode)
		if (pos->lpos > m->lpos)
			break;
	list_add_tail(&m->lnode, &pos->lnode);
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

/**
 * mq_queue_change_limits - apply new limits and access to a queue
 * @q: the queue; under mq_reg_lock (admin.c)
 * @lim: the limits
 * @mode: the access bits
 * @uid: the owner
 * @gid: the group
 *
 * Raised limits may let sleeping writers in, lowered ones push out those
 * whose messages no longer fit; pollers look again.
 */
void mq_queue_change_limits(struct mq_queue *q, const struct mq_limits *lim,
			    umode_t mode, kuid_t uid, kgid_t gid)
{
	struct mq_wake wake = { 0 };

	spin_lock(&q->lock);
	q->lim = *lim;
	q->mode = mode;
	q->uid = uid;
	q->gid = gid;
	mq_fail_oversize_writers(q, &wake);
	mq_serve_writers(q, &wake);
	spin_unlock(&q->lock);
	mq_wake_up(&wake);
	wake_up_all(&q->pollq);
}

/**
 * mq_queue_kill - a deleted queue's messages go, its sleepers wake
 * @q: the queue, out of the registry; under mq_reg_lock (admin.c)
 *
 * Every sleeper completes with -EIDRM, pollers see EPOLLHUP | EPOLLERR.
 */
void mq_queue_kill(struct mq_queue *q)
{
	struct mq_wake wake = { 0 };
	LIST_HEAD(doomed);

	lockdep_assert_held(&mq_reg_lock);

	spin_lock(&q->lock);
	WRITE_ONCE(q->dead, true);
	if (q->store)
		mq_persist->dropped(q);
	list_splice_init(&q->msgs, &doomed);
	INIT_LIST_HEAD(&q->by_lpos);	/* the same messages */
	q->depth_msgs = 0;
	q->depth_bytes = 0;
	q->redelivered = 0;
	mq_fail_waiters(q, &wake);
	spin_unlock(&q->lock);
	mq_wake_up(&wake);

	wake_up_all(&q->pollq);
	mq_msgs_free(&doomed);
}

/**
 * mq_queue_restore_msg - put a message found in the log back in its queue
 * @q: the queue, not yet registered
 * @offset: its offset, above every one restored before
 * @tstamp: when it was written
 * @lpos: its record's log position
 * @len: its length
 *
 * Only its description: the payload stays on disk until it is read.
 *
 * Return: 1 (a message was added) or -ENOMEM.
 */
int mq_queue_restore_msg(struct mq_queue *q, u64 offset, u64 tstamp,
			 u64 lpos, u32 len)
{
	struct mq_msg *m = mq_msg_alloc(q->memcg, 0, false);

	if (!m)
		return -ENOMEM;
	m->len = len;		/* evicted: read back when its turn comes */
	m->tstamp_ns = tstamp;
	m->lpos = lpos;
	m->flags = 0;
	/* No one else sees the queue yet: the lock is for the rules. */
	spin_lock(&q->lock);
	/* Not bound yet: mq_append() leaves by_lpos to this. */
	WARN_ON_ONCE(q->store);
	q->tail = offset;
	mq_append(q, m);
	list_add_tail(&m->lnode, &q->by_lpos);	/* found in log order */
	spin_unlock(&q->lock);
	return 1;
}

/**
 * mq_queue_restore_moved - put a cleaner's copy found in the log back
 * @q: the queue, not yet registered
 * @offset: its offset, at or above the queue's position
 * @tstamp: when it was written
 * @lpos: the copy's log position, above every one restored before
 * @len: its length
 * @hint: where the last one went, or NULL; updated. The cleaner copies a
 *	queue's messages in offset order, so the next one goes after it.
 *	The caller clears it when restored messages go (a position).
 *
 * A copy of a message restored already (its original is still in the
 * log) moves it to the copy's position, the newest; otherwise the message
 * goes in offset order, before younger ones.
 *
 * Return: 1 if a message was added, 0 if it was there, or -ENOMEM.
 */
int mq_queue_restore_moved(struct mq_queue *q, u64 offset, u64 tstamp,
			   u64 lpos, u32 len, struct mq_msg **hint)
{
	struct mq_msg *m = mq_msg_alloc(q->memcg, 0, false), *pos;
	int added = 0;

	if (!m)
		return -ENOMEM;
	spin_lock(&q->lock);
	pos = *hint && (*hint)->offset <= offset ? *hint :
	      list_first_entry(&q->msgs, struct mq_msg, node);
	list_for_each_entry_from(pos, &q->msgs, node) {
		if (pos->offset == offset) {
			pos->lpos = lpos;
			list_move_tail(&pos->lnode, &q->by_lpos);
			*hint = pos;
			goto out;
		}
		if (pos->offset > offset)
			break;
	}
	m->len = len;
	m->tstamp_ns = tstamp;
	m->lpos = lpos;
	m->flags = 0;
	m->offset = offset;
	list_add_tail(&m->node, &pos->node);
	list_add_tail(&m->lnode, &q->by_lpos);
	q->depth_msgs++;
	q->depth_bytes += len;
	q->peak_msgs = max(q->peak_msgs, q->depth_msgs);
	q->msgs_in++;
	q->bytes_in += len;
	q->tail = max(q->tail, offset + 1);
	*hint = m;
	m = NULL;
	added = 1;
out:
	spin_unlock(&q->lock);
	mq_msg_free(m);
	return added;
}

/**
 * mq_queue_restore_head - drop restored messages read before
 * @q: the queue, not yet registered
 * @head: the logged position
 */
void mq_queue_restore_head(struct mq_queue *q, u64 head)
{
	struct mq_msg *m, *tmp;
	LIST_HEAD(gone);

	spin_lock(&q->lock);
	list_for_each_entry_safe(m, tmp, &q->msgs, node) {
		if (m->offset >= head)
			break;
		mq_unlink(q, m);
		list_add_tail(&m->node, &gone);
	}
	if (q->tail < head)
		q->tail = head;
	spin_unlock(&q->lock);
	mq_msgs_free(&gone);
}
