// SPDX-License-Identifier: GPL-2.0
/*
 * The queue core. A queue is an append-only log of messages with 64-bit
 * offsets; readers remove the oldest. One spinlock per queue guards the
 * list and the counters; payloads are copied to and from user memory
 * outside it. Waiters sleep exclusively (one woken per message or per
 * freed slot) and pass a wakeup on when they leave without using it.
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

struct mq_msg {
	struct list_head node;
	u64 offset;
	u64 tstamp_ns;
	u32 len;
	u8 data[];
};

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
	struct mq_msg *msg;	/* reader: the message handed over; */
				/* writer: the message to append */
	size_t room;		/* reader: buffer size */
	int err;		/* the call's result when not 0 */
	int done;
};

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

		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
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

static void mq_msgs_free(struct list_head *list)
{
	struct mq_msg *m, *tmp;

	list_for_each_entry_safe(m, tmp, list, node)
		kvfree(m);
}

static void mq_queue_release(struct kref *ref)
{
	struct mq_queue *q = container_of(ref, struct mq_queue, ref);

	mq_msgs_free(&q->msgs);
	mem_cgroup_put(q->memcg);
	kfree(q);
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

	mutex_lock(&mq_reg_lock);
	q = xa_load(&mq_queues, id);
	if (q)
		mq_queue_get(q);
	mutex_unlock(&mq_reg_lock);
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

/* Finish a sleeper's call; under q->lock. */
static void mq_waiter_complete(struct mq_waiter *w, int err,
			       struct mq_wake *wake)
{
	struct task_struct *task = w->task;

	list_del(&w->node);
	(*w->count)--;
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
		if (m->len > w->room) {
			mq_waiter_complete(w, -EMSGSIZE, wake);
			continue;
		}
		mq_unlink(q, m);
		w->msg = m;
		mq_waiter_complete(w, 0, wake);
	}
}

/* Append sleeping writers' messages while they fit; under q->lock. */
static void mq_serve_writers(struct mq_queue *q, struct mq_wake *wake)
{
	struct mq_waiter *w, *tmp;

	list_for_each_entry_safe(w, tmp, &q->writers, node) {
		if (w->msg->len > q->lim.max_msg) {	/* lowered meanwhile */
			mq_waiter_complete(w, -EMSGSIZE, wake);
			continue;
		}
		if (!mq_has_room(q, w->msg->len))
			return;
		mq_append(q, w->msg);
		w->msg = NULL;
		mq_waiter_complete(w, 0, wake);
	}
	/* Only after a limit change can readers sleep on a non-empty log. */
	mq_serve_readers(q, wake);
}

/* Fail every sleeper of a dead queue; under q->lock. */
static void mq_fail_waiters(struct mq_queue *q, struct mq_wake *wake)
{
	struct mq_waiter *w, *tmp;

	list_for_each_entry_safe(w, tmp, &q->readers, node)
		mq_waiter_complete(w, -EIDRM, wake);
	list_for_each_entry_safe(w, tmp, &q->writers, node)
		mq_waiter_complete(w, -EIDRM, wake);
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
	w->task = current;
	w->count = count;
	w->err = 0;
	w->done = 0;
	list_add_tail(&w->node, list);
	(*count)++;
	while (!w->done) {
		if (signal_pending(current)) {
			list_del(&w->node);
			(*count)--;
			spin_unlock(&q->lock);
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

static struct mq_msg *mq_msg_alloc(struct mq_queue *q, size_t len)
{
	struct mem_cgroup *old = set_active_memcg(q->memcg);
	struct mq_msg *m;

	m = kvmalloc(struct_size(m, data, len), GFP_KERNEL_ACCOUNT);
	set_active_memcg(old);
	return m;
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
	int err = 0;

	if (len == 0)
		return -EINVAL;
	if (len > READ_ONCE(q->lim.max_msg))
		return -EMSGSIZE;

	m = mq_msg_alloc(q, len);
	if (!m)
		return -ENOMEM;
	m->len = len;
	if (!copy_from_iter_full(m->data, len, from)) {
		kvfree(m);
		return -EFAULT;
	}
	/* Coarse: a precise clock read per message costs more than it tells. */
	m->tstamp_ns = ktime_get_coarse_real_ns();

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
	} else {
		w.msg = m;
		/* Drops the lock; a completed writer's message is queued. */
		err = mq_sleep(q, &w, &q->writers, &q->blocked_writers);
		goto out;
	}
	spin_unlock(&q->lock);
	mq_wake_up(&wake);
out:
	if (err) {
		kvfree(m);
		return err;
	}
	mq_poll_wake(q, EPOLLIN | EPOLLRDNORM);
	return len;
}

/* Put back a message whose copy to the reader failed; under q->lock. */
static void mq_msg_unread(struct mq_queue *q, struct mq_msg *m)
{
	/* Every message still queued is younger: order is kept. */
	list_add(&m->node, &q->msgs);
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
		w.room = room;
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
	if (copy_to_iter(m->data, len, to) != len) {
		spin_lock(&q->lock);
		if (!q->dead) {
			mq_msg_unread(q, m);
			mq_serve_readers(q, &wake);
			m = NULL;
		}
		spin_unlock(&q->lock);
		mq_wake_up(&wake);
		kvfree(m);
		return -EFAULT;
	}
	kvfree(m);
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
	mq_reg_gen++;
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
	mq_reg_gen++;
	mq_observer->removed(q);

	spin_lock(&q->lock);
	q->dead = true;
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
 *
 * Lower limits never drop queued messages; writers wait until the queue
 * drains below them. Changed access is applied to the device node at once.
 *
 * Return: 0 or a negative errno; nothing changes on error.
 */
int mq_queue_set(struct mq_queue *q, const struct mq_queue_params *p,
		 struct netlink_ext_ack *extack)
{
	struct mq_wake wake = { 0 };
	struct mq_limits lim;
	int err;

	mutex_lock(&mq_reg_lock);
	if (xa_load(&mq_queues, q->id) != q) {
		NL_SET_ERR_MSG(extack, "no such queue");
		err = -ENOENT;
		goto out;
	}
	spin_lock(&q->lock);
	lim = q->lim;
	spin_unlock(&q->lock);
	mq_params_apply_limits(&lim, p);
	err = mq_limits_check(&lim, extack);
	if (err)
		goto out;

	spin_lock(&q->lock);
	q->lim = lim;
	mq_params_apply_access(q, p);
	/* Raised limits may let writers in, lowered ones may push them out. */
	mq_serve_writers(q, &wake);
	spin_unlock(&q->lock);
	mq_wake_up(&wake);
	mq_reg_gen++;
	wake_up_all(&q->pollq);

	if (p->set & (MQ_P_MODE | MQ_P_UID | MQ_P_GID)) {
		err = mq_observer->changed(q);
		if (err)
			NL_SET_ERR_MSG(extack,
				       "access changed, but the device node was not recreated");
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
