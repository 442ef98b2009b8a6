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
 */

#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/xarray.h>
#include <linux/mutex.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/sched/signal.h>
#include <linux/memcontrol.h>
#include <linux/cred.h>
#include <linux/timekeeping.h>
#include <linux/string.h>
#include <linux/ctype.h>

#include "queue.h"

/*
 * A message lives in page-sized pieces, as System V and POSIX messages do:
 * the header with the first bytes, then a chain of segments. Every
 * allocation is order 0, however large the message, and none is rounded
 * up to the next power of two.
 */
struct mq_seg {
	struct mq_seg *next;
	u8 data[];
};

struct mq_msg {
	struct list_head node;
	u64 offset;
	u64 tstamp_ns;
	u32 len;
	struct mq_seg *segs;	/* the payload past data[] */
	u8 data[];
};

#define MQ_MSG_INLINE	(PAGE_SIZE - sizeof(struct mq_msg))
#define MQ_SEG_DATA	(PAGE_SIZE - sizeof(struct mq_seg))

/*
 * A task asleep in read or write, on q->readers or q->writers, on its own
 * stack. Whoever completes it does so under q->lock: fills @msg and @err,
 * unlinks it, takes a reference to the task and only then publishes
 * @done. The sleeper may return as soon as it sees @done, so nothing
 * touches the waiter after that; the task is woken after the lock is
 * dropped (struct mq_wake), as POSIX mqueue does with its wake_q.
 */
struct mq_waiter {
	struct list_head node;
	struct task_struct *task;
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

static DEFINE_MUTEX(mq_reg_lock);	/* registry: xarray, names, gen */
static DEFINE_XARRAY_ALLOC(mq_queues);
static u32 mq_next_id;
static unsigned int mq_reg_gen;
static unsigned int mq_max_queues;
static const struct mq_queue_observer *mq_observer;

/**
 * mq_queue_name_valid - check a queue name
 * @name: NUL-terminated name
 *
 * Return: true for 1 to MQ_NAME_MAX characters of [A-Za-z0-9._-] that do
 * not start with a dot.
 */
bool mq_queue_name_valid(const char *name)
{
	size_t i, len = strnlen(name, MQ_NAME_MAX + 1);

	if (len == 0 || len > MQ_NAME_MAX || name[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		/* The kernel's isalnum() takes Latin-1 letters too. */
		if (!isascii(c) || (!isalnum(c) && c != '.' && c != '_' &&
				    c != '-'))
			return false;
	}
	return true;
}

static int mq_limits_check(const struct mq_limits *lim,
			   struct netlink_ext_ack *extack)
{
	if (lim->max_msg < 1 || lim->max_msg > MQ_MAX_MSG_LIMIT) {
		NL_SET_ERR_MSG(extack, "max-msg out of range (1 to 4 MiB)");
		return -ERANGE;
	}
	if (lim->cap_msgs < 1) {
		NL_SET_ERR_MSG(extack, "capacity-msgs must be at least 1");
		return -ERANGE;
	}
	if (lim->cap_bytes < lim->max_msg) {
		NL_SET_ERR_MSG(extack, "capacity-bytes is smaller than max-msg");
		return -ERANGE;
	}
	return 0;
}

static void mq_params_apply_limits(struct mq_limits *lim,
				   const struct mq_queue_params *p)
{
	if (p->set & MQ_P_MAX_MSG)
		lim->max_msg = p->max_msg;
	if (p->set & MQ_P_CAP_MSGS)
		lim->cap_msgs = p->cap_msgs;
	if (p->set & MQ_P_CAP_BYTES)
		lim->cap_bytes = p->cap_bytes;
}

static void mq_params_apply_access(struct mq_queue *q,
				   const struct mq_queue_params *p)
{
	if (p->set & MQ_P_MODE)
		q->mode = p->mode & 0777;
	if (p->set & MQ_P_UID)
		q->uid = p->uid;
	if (p->set & MQ_P_GID)
		q->gid = p->gid;
}

static void mq_msg_free(struct mq_msg *m)
{
	struct mq_seg *seg, *next;

	if (!m)
		return;
	for (seg = m->segs; seg; seg = next) {
		next = seg->next;
		kfree(seg);
	}
	kfree(m);
}

static void mq_msgs_free(struct list_head *list)
{
	struct mq_msg *m, *tmp;

	list_for_each_entry_safe(m, tmp, list, node)
		mq_msg_free(m);
}

static void mq_queue_release(struct kref *ref)
{
	struct mq_queue *q = container_of(ref, struct mq_queue, ref);

	mq_msgs_free(&q->msgs);
	mem_cgroup_put(q->memcg);
	kfree_rcu(q, rcu);	/* mq_queue_get_by_id() may be looking */
}

/**
 * mq_queue_put - drop a reference to a queue
 * @q: the queue
 */
void mq_queue_put(struct mq_queue *q)
{
	kref_put(&q->ref, mq_queue_release);
}

/* Under mq_reg_lock. */
static struct mq_queue *__mq_queue_lookup(const char *name)
{
	struct mq_queue *q;
	unsigned long id;

	xa_for_each(&mq_queues, id, q)
		if (!strcmp(q->name, name))
			return q;
	return NULL;
}

/**
 * mq_queue_lookup - find a queue by name
 * @name: the queue's name
 *
 * Return: the queue with a reference held, or NULL.
 */
struct mq_queue *mq_queue_lookup(const char *name)
{
	struct mq_queue *q;

	mutex_lock(&mq_reg_lock);
	q = __mq_queue_lookup(name);
	if (q)
		mq_queue_get(q);
	mutex_unlock(&mq_reg_lock);
	return q;
}

/**
 * mq_queue_get_by_id - find a live queue by id (its device minor)
 * @id: the queue's id
 *
 * Return: the queue with a reference held, or NULL.
 */
struct mq_queue *mq_queue_get_by_id(u32 id)
{
	struct mq_queue *q;

	/* open(2) must not wait behind device registration. */
	rcu_read_lock();
	q = xa_load(&mq_queues, id);
	if (q && !kref_get_unless_zero(&q->ref))
		q = NULL;
	rcu_read_unlock();
	return q;
}

/**
 * mq_queue_get_next - iterate over queues in id order
 * @id: in: the first id to consider; out: the id after the one returned
 *
 * Return: the next queue with a reference held, or NULL at the end.
 */
struct mq_queue *mq_queue_get_next(unsigned long *id)
{
	struct mq_queue *q;

	mutex_lock(&mq_reg_lock);
	q = xa_find(&mq_queues, id, ULONG_MAX, XA_PRESENT);
	if (q) {
		mq_queue_get(q);
		(*id)++;
	}
	mutex_unlock(&mq_reg_lock);
	return q;
}

/**
 * mq_queue_generation - a counter that changes whenever a queue is created,
 * changed or deleted, for consistent dumps
 *
 * Return: the current generation.
 */
unsigned int mq_queue_generation(void)
{
	return READ_ONCE(mq_reg_gen);
}

/* Under mq_reg_lock. */
static void mq_reg_changed(void)
{
	WRITE_ONCE(mq_reg_gen, mq_reg_gen + 1);
}

/* Under q->lock. */
static bool mq_has_room(const struct mq_queue *q, size_t len)
{
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
	m->offset = q->tail++;
	list_add_tail(&m->node, &q->msgs);
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
	list_del(&m->node);
	q->depth_msgs--;
	q->depth_bytes -= m->len;
	q->msgs_out++;
	q->bytes_out += m->len;
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

	list_for_each_entry_safe(w, tmp, &q->readers, node) {
		m = list_first_entry_or_null(&q->msgs, struct mq_msg, node);
		if (!m)
			return;
		if (m->len > w->len) {
			mq_waiter_complete(q, w, -EMSGSIZE, wake);
			continue;
		}
		mq_unlink(q, m);
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
	struct mq_waiter *w, *tmp;

	list_for_each_entry_safe(w, tmp, &q->writers, node) {
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

	list_for_each_entry_safe(w, tmp, &q->writers, node)
		if (w->len > q->lim.max_msg)
			mq_waiter_complete(q, w, -EMSGSIZE, wake);
}

/* Fail every sleeper of a dead queue; under q->lock. */
static void mq_fail_waiters(struct mq_queue *q, struct mq_wake *wake)
{
	struct mq_waiter *w, *tmp;

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
 * Sleeping writers hold their messages, charged to the queue's owner, but
 * never more than a queue's worth (cap_bytes) of them at once. A writer
 * past that waits here without a message until its message would fit,
 * then copies it again. Return: 0 (copy again), -ERESTARTSYS or -EIDRM.
 */
static int mq_wait_pin(struct mq_queue *q, size_t len)
{
	struct mq_waiter w = { .msg = NULL, .len = len };
	int err;

	spin_lock(&q->lock);
	if (q->dead) {
		spin_unlock(&q->lock);
		return -EIDRM;
	}
	if (mq_has_room(q, len) || q->pinned_bytes + len <= q->lim.cap_bytes) {
		spin_unlock(&q->lock);
		return 0;
	}
	err = mq_sleep(q, &w, &q->writers, &q->blocked_writers);
	return err == MQ_RETRY ? 0 : err;
}

/* Allocate a message of @len bytes, charged to the queue's owner. */
static struct mq_msg *mq_msg_alloc(struct mq_queue *q, size_t len)
{
	struct mem_cgroup *old = set_active_memcg(q->memcg);
	size_t n = min_t(size_t, len, MQ_MSG_INLINE), left = len - n;
	struct mq_seg **tail, *seg;
	struct mq_msg *m;

	m = kmalloc(struct_size(m, data, n), GFP_KERNEL_ACCOUNT);
	if (!m)
		goto out;
	m->len = len;
	m->segs = NULL;
	for (tail = &m->segs; left; left -= n, tail = &seg->next) {
		n = min_t(size_t, left, MQ_SEG_DATA);
		seg = kmalloc(struct_size(seg, data, n), GFP_KERNEL_ACCOUNT);
		if (!seg) {
			mq_msg_free(m);
			m = NULL;
			break;
		}
		seg->next = NULL;
		*tail = seg;
	}
out:
	set_active_memcg(old);
	return m;
}

/* Copy a whole message in from user memory. */
static bool mq_msg_fill(struct mq_msg *m, struct iov_iter *from)
{
	size_t n = min_t(size_t, m->len, MQ_MSG_INLINE), left = m->len - n;
	struct mq_seg *seg;

	if (!copy_from_iter_full(m->data, n, from))
		return false;
	for (seg = m->segs; seg; seg = seg->next, left -= n) {
		n = min_t(size_t, left, MQ_SEG_DATA);
		if (!copy_from_iter_full(seg->data, n, from))
			return false;
	}
	return true;
}

/* Copy a whole message out to user memory. */
static bool mq_msg_copy_out(const struct mq_msg *m, struct iov_iter *to)
{
	size_t n = min_t(size_t, m->len, MQ_MSG_INLINE), left = m->len - n;
	const struct mq_seg *seg;

	if (copy_to_iter(m->data, n, to) != n)
		return false;
	for (seg = m->segs; seg; seg = seg->next, left -= n) {
		n = min_t(size_t, left, MQ_SEG_DATA);
		if (copy_to_iter(seg->data, n, to) != n)
			return false;
	}
	return true;
}

/**
 * mq_queue_write - append one message
 * @q: the queue
 * @from: the whole message
 * @nonblock: fail with -EAGAIN instead of waiting for room
 *
 * Return: the message length, or -EINVAL (empty), -EMSGSIZE (too big),
 * -EAGAIN, -ERESTARTSYS, -EFAULT, -ENOMEM or -EIDRM; on error nothing was
 * appended.
 */
ssize_t mq_queue_write(struct mq_queue *q, struct iov_iter *from,
		       bool nonblock)
{
	size_t len = iov_iter_count(from);
	struct mq_wake wake = { 0 };
	struct mq_waiter w;
	struct mq_msg *m;
	int err;

	if (READ_ONCE(q->dead))
		return -EIDRM;
	if (len == 0)
		return -EINVAL;
	if (len > READ_ONCE(q->lim.max_msg))
		return -EMSGSIZE;
again:
	m = mq_msg_alloc(q, len);
	if (!m)
		return -ENOMEM;
	if (!mq_msg_fill(m, from)) {
		mq_msg_free(m);
		return -EFAULT;
	}
	/* Coarse: a precise clock read per message costs more than it tells. */
	m->tstamp_ns = ktime_get_coarse_real_ns();

	err = 0;
	spin_lock(&q->lock);
	if (q->dead) {
		err = -EIDRM;
	} else if (len > q->lim.max_msg) {
		err = -EMSGSIZE;
	} else if (mq_has_room(q, len) && list_empty(&q->writers)) {
		mq_append(q, m);
		mq_serve_readers(q, &wake);
	} else if (nonblock) {
		err = -EAGAIN;
	} else if (q->pinned_bytes + len <= q->lim.cap_bytes) {
		q->pinned_bytes += len;
		w.msg = m;
		w.len = len;
		/* Drops the lock; on success a reader appended m for us. */
		err = mq_sleep(q, &w, &q->writers, &q->blocked_writers);
		goto out;
	} else {
		spin_unlock(&q->lock);
		mq_msg_free(m);
		iov_iter_revert(from, len);
		err = mq_wait_pin(q, len);
		if (err)
			return err;
		goto again;
	}
	spin_unlock(&q->lock);
	mq_wake_up(&wake);
out:
	if (err) {
		mq_msg_free(m);
		return err;
	}
	mq_poll_wake(q, EPOLLIN | EPOLLRDNORM);
	return len;
}

/* Put back a message whose copy to the reader failed; under q->lock. */
static void mq_msg_unread(struct mq_queue *q, struct mq_msg *m)
{
	struct mq_msg *pos;

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
}

/**
 * mq_queue_read - remove and return the oldest message
 * @q: the queue
 * @to: where to copy it; too small a buffer gets -EMSGSIZE
 * @nonblock: fail with -EAGAIN instead of waiting for a message
 *
 * Return: the message length, or -EMSGSIZE, -EAGAIN, -ERESTARTSYS, -EFAULT
 * or -EIDRM; on error the message stays queued.
 */
ssize_t mq_queue_read(struct mq_queue *q, struct iov_iter *to, bool nonblock)
{
	size_t len, room = iov_iter_count(to);
	struct mq_wake wake = { 0 };
	struct mq_waiter w;
	struct mq_msg *m;
	int err = 0;

	spin_lock(&q->lock);
	m = list_first_entry_or_null(&q->msgs, struct mq_msg, node);
	if (q->dead) {
		err = -EIDRM;
	} else if (m && m->len > room) {
		err = -EMSGSIZE;
	} else if (m) {
		mq_unlink(q, m);
		mq_serve_writers(q, &wake);
	} else if (nonblock) {
		err = -EAGAIN;
	} else {
		w.len = room;
		w.msg = NULL;
		/* Drops the lock; a completed reader holds its message. */
		err = mq_sleep(q, &w, &q->readers, &q->blocked_readers);
		m = w.msg;
		goto out;
	}
	spin_unlock(&q->lock);
	mq_wake_up(&wake);
out:
	if (err)
		return err;

	len = m->len;
	if (!mq_msg_copy_out(m, to)) {
		spin_lock(&q->lock);
		if (!q->dead) {
			mq_msg_unread(q, m);
			mq_serve_readers(q, &wake);
			m = NULL;
		}
		spin_unlock(&q->lock);
		mq_wake_up(&wake);
		mq_msg_free(m);
		mq_poll_wake(q, EPOLLIN | EPOLLRDNORM);
		return -EFAULT;
	}
	mq_msg_free(m);
	mq_poll_wake(q, EPOLLOUT | EPOLLWRNORM);
	return len;
}

/**
 * mq_queue_create - create a queue and its front-end objects
 * @name: a valid queue name
 * @p: optional limits and access; unset fields take defaults
 * @extack: where to say why it failed
 *
 * The queue's memory is charged to the calling task's memory cgroup, now
 * and for every message written later by anyone.
 *
 * Return: the new queue with a reference held for the caller, or ERR_PTR.
 */
struct mq_queue *mq_queue_create(const char *name,
				 const struct mq_queue_params *p,
				 struct netlink_ext_ack *extack)
{
	struct mq_limits lim = {
		.max_msg = MQ_DEFAULT_MAX_MSG,
		.cap_msgs = MQ_DEFAULT_CAP_MSGS,
		.cap_bytes = MQ_DEFAULT_CAP_BYTES,
	};
	struct mq_queue *q;
	int err;

	if (!mq_queue_name_valid(name)) {
		NL_SET_ERR_MSG(extack,
			       "invalid queue name: 1-64 of [A-Za-z0-9._-], no leading '.'");
		return ERR_PTR(-EINVAL);
	}
	mq_params_apply_limits(&lim, p);
	err = mq_limits_check(&lim, extack);
	if (err)
		return ERR_PTR(err);

	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q)
		return ERR_PTR(-ENOMEM);
	kref_init(&q->ref);
	strscpy(q->name, name, sizeof(q->name));
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->msgs);
	INIT_LIST_HEAD(&q->readers);
	INIT_LIST_HEAD(&q->writers);
	init_waitqueue_head(&q->pollq);
	q->lim = lim;
	q->mode = MQ_DEFAULT_MODE;
	q->uid = current_fsuid();
	q->gid = current_fsgid();
	mq_params_apply_access(q, p);
	q->memcg = get_mem_cgroup_from_mm(current->mm);

	mutex_lock(&mq_reg_lock);
	if (__mq_queue_lookup(name)) {
		NL_SET_ERR_MSG(extack, "queue exists");
		err = -EEXIST;
		goto err_unlock;
	}
	err = xa_alloc_cyclic(&mq_queues, &q->id, q,
			      XA_LIMIT(0, mq_max_queues - 1), &mq_next_id,
			      GFP_KERNEL);
	if (err == -EBUSY) {
		NL_SET_ERR_MSG(extack, "too many queues (module parameter max_queues)");
		err = -ENOSPC;
	}
	if (err < 0)
		goto err_unlock;
	err = mq_observer->added(q);
	if (err) {
		NL_SET_ERR_MSG(extack, "cannot create the device node");
		goto err_erase;
	}
	mq_reg_changed();
	mq_queue_get(q);	/* the registry's reference */
	mutex_unlock(&mq_reg_lock);
	return q;

err_erase:
	xa_erase(&mq_queues, q->id);
err_unlock:
	mutex_unlock(&mq_reg_lock);
	mq_queue_put(q);
	return ERR_PTR(err);
}

/* Under mq_reg_lock. */
static void __mq_queue_delete(struct mq_queue *q)
{
	struct mq_wake wake = { 0 };
	LIST_HEAD(doomed);

	xa_erase(&mq_queues, q->id);
	mq_reg_changed();
	mq_observer->removed(q);

	spin_lock(&q->lock);
	WRITE_ONCE(q->dead, true);
	list_splice_init(&q->msgs, &doomed);
	q->depth_msgs = 0;
	q->depth_bytes = 0;
	mq_fail_waiters(q, &wake);
	spin_unlock(&q->lock);
	mq_wake_up(&wake);

	wake_up_all(&q->pollq);
	mq_msgs_free(&doomed);
	mq_queue_put(q);	/* the registry's reference */
}

/**
 * mq_queue_delete - delete a queue
 * @q: the queue, with a reference held by the caller
 *
 * Its messages are dropped, every waiter wakes with -EIDRM, and open fds
 * keep the (dead) queue alive until they are closed.
 *
 * Return: 0, or -ENOENT if it was deleted already.
 */
int mq_queue_delete(struct mq_queue *q)
{
	int err = -ENOENT;

	mutex_lock(&mq_reg_lock);
	if (xa_load(&mq_queues, q->id) == q) {
		__mq_queue_delete(q);
		err = 0;
	}
	mutex_unlock(&mq_reg_lock);
	return err;
}

/**
 * mq_queue_set - change a queue's limits or access
 * @q: the queue
 * @p: the fields to change
 * @extack: where to say why it failed
 * @applied: set to whether the change was made (even if it then failed)
 *
 * Lower limits never drop queued messages; writers wait until the queue
 * drains below them, and sleeping writers holding messages larger than a
 * lowered max-msg fail with -EMSGSIZE. Changed access is applied to the
 * device node at once.
 *
 * Return: 0 or a negative errno. Invalid limits, or no memory for the new
 * node, change nothing; if the driver core then fails to add the new
 * node, the change stays made (@applied) and the error says so.
 */
int mq_queue_set(struct mq_queue *q, const struct mq_queue_params *p,
		 struct netlink_ext_ack *extack, bool *applied)
{
	struct mq_wake wake = { 0 };
	void *prepared = NULL;
	struct mq_limits lim;
	bool access_changed;
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
	int err;

	*applied = false;
	mutex_lock(&mq_reg_lock);
	if (xa_load(&mq_queues, q->id) != q) {
		NL_SET_ERR_MSG(extack, "no such queue");
		err = -ENOENT;
		goto out;
	}
	spin_lock(&q->lock);
	lim = q->lim;
	mode = q->mode;
	uid = q->uid;
	gid = q->gid;
	spin_unlock(&q->lock);
	mq_params_apply_limits(&lim, p);
	err = mq_limits_check(&lim, extack);
	if (err)
		goto out;
	/* Other changes are serialised by mq_reg_lock: the access is stable. */
	access_changed = ((p->set & MQ_P_MODE) && (p->mode & 0777) != mode) ||
			 ((p->set & MQ_P_UID) && !uid_eq(p->uid, uid)) ||
			 ((p->set & MQ_P_GID) && !gid_eq(p->gid, gid));
	if (access_changed) {
		prepared = mq_observer->prepare(q);
		if (IS_ERR(prepared)) {
			NL_SET_ERR_MSG(extack, "cannot make the new device node; nothing changed");
			err = PTR_ERR(prepared);
			goto out;
		}
	}

	spin_lock(&q->lock);
	q->lim = lim;
	mq_params_apply_access(q, p);
	/* Raised limits may let writers in, lowered ones may push them out. */
	mq_fail_oversize_writers(q, &wake);
	mq_serve_writers(q, &wake);
	spin_unlock(&q->lock);
	mq_wake_up(&wake);
	mq_reg_changed();
	wake_up_all(&q->pollq);
	*applied = true;

	if (access_changed) {
		err = mq_observer->changed(q, prepared);
		if (err)
			NL_SET_ERR_MSG(extack,
				       "change made, but the device node could not be recreated");
	}
out:
	mutex_unlock(&mq_reg_lock);
	return err;
}

/**
 * mq_queue_poll - readiness of a queue
 * @q: the queue
 * @file: the polling file
 * @wait: the poll table
 *
 * Return: EPOLLIN when a message is queued, EPOLLOUT when a message of the
 * maximum size fits, EPOLLHUP | EPOLLERR once the queue is deleted.
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
	if (!q->dead && mq_has_room(q, q->lim.max_msg))
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
	s->blocked_readers = q->blocked_readers;
	s->blocked_writers = q->blocked_writers;
	spin_unlock(&q->lock);
	s->open_fds = atomic_read(&q->open_fds);
}

/**
 * mq_queue_init - set up the registry
 * @max_queues: the most queues that may exist at once
 * @observer: the front-end told of every queue's creation and deletion
 *
 * Return: 0.
 */
int mq_queue_init(unsigned int max_queues,
		  const struct mq_queue_observer *observer)
{
	mq_max_queues = max_queues;
	mq_observer = observer;
	return 0;
}

/**
 * mq_queue_exit - delete every queue; no fd may be open any more
 */
void mq_queue_exit(void)
{
	struct mq_queue *q;
	unsigned long id;

	mutex_lock(&mq_reg_lock);
	xa_for_each(&mq_queues, id, q)
		__mq_queue_delete(q);
	mutex_unlock(&mq_reg_lock);
	xa_destroy(&mq_queues);
}
