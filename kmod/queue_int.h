/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The queue core's own internals, shared by its data path (queue.c), its
 * sleepers and handoff (handoff.c) and its restore from the log
 * (restore.c). Nothing outside the core includes this.
 */
#ifndef _MQ_QUEUE_INT_H
#define _MQ_QUEUE_INT_H

#include <linux/sched/task.h>
#include <linux/poll.h>

#include "queue.h"

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

/* Under q->lock. */
static inline bool mq_has_room(const struct mq_queue *q, size_t len)
{
	lockdep_assert_held(&q->lock);
	return q->depth_msgs < q->lim.cap_msgs &&
	       q->depth_bytes + len <= q->lim.cap_bytes;
}

static inline void mq_poll_wake(struct mq_queue *q, __poll_t events)
{
	if (wq_has_sleeper(&q->pollq))
		wake_up_interruptible_poll(&q->pollq, events);
}

/* Wake the tasks completed under q->lock, after dropping it. */
static inline void mq_wake_up(struct mq_wake *wake)
{
	while (wake->n) {
		struct task_struct *task = wake->tasks[--wake->n];

		wake_up_process(task);
		put_task_struct(task);
	}
}

/* Append a message to the log; under q->lock, with room checked. */
static inline void mq_append(struct mq_queue *q, struct mq_msg *m)
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
static inline void mq_unlink(struct mq_queue *q, struct mq_msg *m)
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

/* queue.c */
void mq_take(struct mq_queue *q, struct mq_msg *m, struct mq_reading *rd);

/* handoff.c */
void __mq_serve_readers(struct mq_queue *q, struct mq_wake *wake);
void __mq_serve_writers(struct mq_queue *q, struct mq_wake *wake);
int mq_sleep(struct mq_queue *q, struct mq_waiter *w, struct list_head *list,
	     u32 *count) __releases(&q->lock);
void mq_writers_pass_on(struct mq_queue *q);
int mq_wait_pin(struct mq_queue *q, size_t len, bool *woken);

/*
 * Every append and every read asks whether someone sleeps: answered
 * here, without a call, when no one does. Under q->lock.
 */
static inline void mq_serve_readers(struct mq_queue *q, struct mq_wake *wake)
{
	lockdep_assert_held(&q->lock);
	if (!list_empty(&q->readers))
		__mq_serve_readers(q, wake);
}

static inline void mq_serve_writers(struct mq_queue *q, struct mq_wake *wake)
{
	lockdep_assert_held(&q->lock);
	if (!list_empty(&q->writers) || !list_empty(&q->readers))
		__mq_serve_writers(q, wake);
}

#endif /* _MQ_QUEUE_INT_H */
