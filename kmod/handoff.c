// SPDX-License-Identifier: GPL-2.0
/*
 * The queue core's sleepers: readers and writers that wait, on the
 * queue's FIFO lists, and are served by handoff, as POSIX mqueue does. A
 * writer gives its message straight to the first sleeping reader whose
 * buffer fits it (mq_serve_readers()), and a reader that frees room
 * appends the first sleeping writer's message for it
 * (mq_serve_writers()). Exactly the tasks that can make progress are
 * woken, after the lock is dropped, and they find their work done. A
 * limit change or a delete fails the sleepers it leaves no place for.
 */

#include <linux/sched/signal.h>

#include "queue_int.h"
#include "registry.h"

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

/**
 * __mq_serve_readers - hand queued messages to sleeping readers
 * @q: the queue; under q->lock
 * @wake: the tasks to wake once it is dropped
 *
 * A reader whose buffer is too small for the oldest message gets
 * -EMSGSIZE, as it would have without sleeping. Sleeping readers imply an
 * empty log afterwards.
 */
void __mq_serve_readers(struct mq_queue *q, struct mq_wake *wake)
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

/**
 * __mq_serve_writers - serve sleeping writers in order while their messages fit
 * @q: the queue; under q->lock
 * @wake: the tasks to wake once it is dropped
 *
 * Appends a held message, or tells a writer without one to copy it now.
 */
void __mq_serve_writers(struct mq_queue *q, struct mq_wake *wake)
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

/**
 * mq_sleep - wait on a list of sleepers until completed or interrupted
 * @q: the queue; called with q->lock held, returns with it released
 * @w: the caller's waiter, on its stack
 * @list: q->readers or q->writers
 * @count: q->blocked_readers or q->blocked_writers, counting it
 *
 * Return: the result the completer set, or -ERESTARTSYS if a signal came
 * first.
 */
int mq_sleep(struct mq_queue *q, struct mq_waiter *w, struct list_head *list,
	     u32 *count)
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

/**
 * mq_writers_pass_on - a woken writer gives up the room made for it
 * @q: the queue
 *
 * The writer failed before it could take the room (a fault or no memory
 * copying its message again): the writers behind it are served, which
 * would otherwise sleep on with room free.
 */
void mq_writers_pass_on(struct mq_queue *q)
{
	struct mq_wake wake = { 0 };

	spin_lock(&q->lock);
	if (!q->dead)
		mq_serve_writers(q, &wake);
	spin_unlock(&q->lock);
	mq_wake_up(&wake);
}

/**
 * mq_wait_pin - a writer waits, without its message, until it would fit
 * @q: the queue
 * @len: the message's length
 * @woken: set when room was made for it
 *
 * Sleeping writers hold their messages, charged to the queue's owner, but
 * never more than a queue's worth (cap_bytes) of them at once. A writer
 * past that, or any writer of a durable queue, waits here without a
 * message until its message would fit, then copies it again.
 * Return: 0 (copy again), -ERESTARTSYS or -EIDRM.
 */
int mq_wait_pin(struct mq_queue *q, size_t len, bool *woken)
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

