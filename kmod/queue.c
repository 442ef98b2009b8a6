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
#include "store.h"

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

/*
 * The registry. mq_reg_lock serialises every change: creation (names are
 * unique under it), deletion, limits, and the store's attach, detach and
 * catalog writes, so it is held across the store's I/O. Nothing a user
 * without CAP_NET_ADMIN can ask for waits for it: lookups walk the
 * xarray under RCU, open(2) included, and the attached store has a
 * spinlock of its own for readers.
 */
static DEFINE_MUTEX(mq_reg_lock);
static DEFINE_XARRAY_ALLOC(mq_queues);
static u32 mq_next_id;
static unsigned int mq_reg_gen;
/*
 * The next queue identity: it starts at the wall clock in ns when the
 * module loads and only grows (past every identity a store brings back),
 * so none is handed out twice, across reloads too, while the clock does
 * not go back by more than the time since the last load.
 */
static atomic64_t mq_next_ident;
static unsigned int mq_max_queues;
static const struct mq_queue_observer *mq_observer;
/* The attached store: changed under mq_reg_lock and mq_store_cur_lock. */
static struct mq_store *mq_store_cur;
static DEFINE_SPINLOCK(mq_store_cur_lock);

/* Who hears of the store's events; taken for reading around each. */
static const struct mq_event_ops *mq_events;
static DECLARE_RWSEM(mq_events_sem);

/**
 * mq_events_set - set (or with NULL, take away) the events' listener
 * @ops: the listener
 *
 * Once this returns with NULL, no call to the old listener is running or
 * will be made.
 */
void mq_events_set(const struct mq_event_ops *ops)
{
	down_write(&mq_events_sem);
	mq_events = ops;
	up_write(&mq_events_sem);
}

static void mq_event_store(struct mq_store *s, enum mq_store_event ev)
{
	down_read(&mq_events_sem);
	if (mq_events)
		mq_events->store(s, ev);
	up_read(&mq_events_sem);
}

/* The store's own report that its state changed (an I/O error). */
static void mq_store_changed(struct mq_store *s)
{
	mq_event_store(s, MQ_STORE_EV_CHANGED);
}

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

static int mq_queue_store_reclaim(struct mq_store *s);

static bool mq_durable(u32 durability)
{
	return durability != MQ_DURABILITY_MEMORY;
}

static void mq_queue_release(struct kref *ref)
{
	struct mq_queue *q = container_of(ref, struct mq_queue, ref);

	mq_msgs_free(&q->msgs);
	mem_cgroup_put(q->memcg);
	if (q->store)
		mq_store_put(q->store);
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

static struct mq_queue *__mq_queue_lookup(const char *name)
{
	struct mq_queue *q;
	unsigned long id;

	lockdep_assert_held(&mq_reg_lock);
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
	unsigned long id;

	rcu_read_lock();
	xa_for_each(&mq_queues, id, q) {
		if (!strcmp(q->name, name) && kref_get_unless_zero(&q->ref)) {
			rcu_read_unlock();
			return q;
		}
	}
	rcu_read_unlock();
	return NULL;
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

	rcu_read_lock();
	while ((q = xa_find(&mq_queues, id, ULONG_MAX, XA_PRESENT))) {
		(*id)++;
		if (kref_get_unless_zero(&q->ref))
			break;
	}
	rcu_read_unlock();
	return q;
}

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
 * mq_queue_generation - a counter that changes whenever a queue is created,
 * changed or deleted, for consistent dumps
 *
 * Return: the current generation.
 */
unsigned int mq_queue_generation(void)
{
	return READ_ONCE(mq_reg_gen);
}

static void mq_reg_changed(void)
{
	lockdep_assert_held(&mq_reg_lock);
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
	if (q->store && mq_msg_resident(m)) {
		q->resident_bytes += m->len;
		atomic64_add(m->len, &q->store->resident);
	}
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
	if (m->flags & MQ_MSG_REDELIVERED)
		q->redelivered--;
	if (q->evict_next == m)
		q->evict_next = NULL;
	if (q->durable_next == m)
		q->durable_next = NULL;
	if (q->store && mq_msg_resident(m)) {
		q->resident_bytes -= m->len;
		atomic64_sub(m->len, &q->store->resident);
	}
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
	atomic64_sub(freed, &q->store->resident);
}

/* Keep the store's messages in memory within its cache; no locks held. */
static void mq_cache_trim(struct mq_queue *q, struct mq_store *s)
{
	s64 over = atomic64_read(&s->resident) - (s64)mq_store_cache_bytes(s);

	if (over <= 0)
		return;
	spin_lock(&q->lock);
	if (q->store == s)
		mq_evict(q, over + (mq_store_cache_bytes(s) >> 4));
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

	if (!q->store)
		return true;
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

	list_for_each_entry(rd, &q->reading, node)
		pos = min(pos, rd->offset);
	return pos;
}

/* Log the position if it passed @before; under q->lock. */
static void mq_log_pos(struct mq_queue *q, u64 before)
{
	u64 pos = mq_queue_consumed(q), end;

	/* Best effort: the next position or the catalog carries it too. */
	if (pos > before)
		mq_store_append_pos(q->store, q->serial, MQ_REC_POS, pos, &end);
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
	u64 before = q->store ? mq_queue_consumed(q) : 0;

	mq_unlink(q, m);
	if (rd) {
		rd->offset = m->offset;
		rd->lpos = m->lpos;
		list_add_tail(&rd->node, &q->reading);
		return;
	}
	q->delivered_hi = max(q->delivered_hi, m->offset + 1);
	if (q->store)
		mq_log_pos(q, before);
}

/*
 * A read(2) is over, its message delivered or given back; under q->lock.
 * A queue deleted meanwhile logs nothing more.
 */
static void mq_read_done(struct mq_queue *q, struct mq_reading *rd)
{
	u64 before;

	if (list_empty(&rd->node))
		return;
	before = mq_queue_consumed(q);
	list_del_init(&rd->node);
	if (q->store && !q->dead)
		mq_log_pos(q, before);
}

/* A read(2) delivered its message: mq_read_done() from outside the lock. */
static void mq_read_end(struct mq_queue *q, struct mq_reading *rd)
{
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

	list_for_each_entry_safe(w, tmp, &q->readers, node) {
		m = list_first_entry_or_null(&q->msgs, struct mq_msg, node);
		if (!m)
			return;
		if (m->len > w->len) {
			mq_waiter_complete(q, w, -EMSGSIZE, wake);
			continue;
		}
		/* Not in memory, or not leased: the reader does it itself. */
		if (!mq_msg_resident(m) || !mq_lease_ok(q, m)) {
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
 * -EAGAIN, -ERESTARTSYS, -EFAULT, -ENOMEM, -EIDRM, -ENOSPC (store full),
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
	bool reclaimed = false, sync = false, woken = false;
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
	m = mq_msg_alloc(q->memcg, len, !READ_ONCE(q->store));
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
			err = mq_store_append_msg(q->store, q->serial, m, &end);
			if (!err || err == -EINPROGRESS || err == -ENOSPC) {
				s = q->store;
				mq_store_get(s);
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
	if (err == -EINPROGRESS || (err == -ENOSPC && !reclaimed)) {
		/* The log's memory is full, or its space: make room. */
		if (err == -EINPROGRESS) {
			/* Nothing of ours appended yet: killable. */
			err = mq_store_commit_all(s, true);
		} else {
			reclaimed = true;
			err = mq_queue_store_reclaim(s);
		}
		mq_store_put(s);
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
			mq_store_put(s);
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
			err = mq_store_wait_writer(s, end);
		if (!err)
			mq_cache_trim(q, s);
		mq_store_put(s);
		if (err)
			return err;
	}
	return len;
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
	if (m->flags & MQ_MSG_REDELIVERED)
		q->redelivered++;
	q->evict_next = NULL;
	q->durable_next = NULL;
	if (q->store && mq_msg_resident(m)) {
		q->resident_bytes += m->len;
		atomic64_add(m->len, &q->store->resident);
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
again:
	err = 0;
	spin_lock(&q->lock);
	m = list_first_entry_or_null(&q->msgs, struct mq_msg, node);
	if (q->dead) {
		err = -EIDRM;
	} else if (m && m->len > room) {
		err = -EMSGSIZE;
	} else if (m && !mq_lease_ok(q, m)) {
		/* Commit the lease (and all before it), then try again. */
		s = q->store;
		mq_store_get(s);
		spin_unlock(&q->lock);
		err = mq_store_commit_all(s, true);
		mq_store_put(s);
		if (err)
			return err;
		goto again;
	} else if (m) {
		mq_take(q, m, &w.rd);
		if (!mq_msg_resident(m)) {
			load = q->store;
			mq_store_get(load);
		}
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
		err = mq_msg_load(q, load, m);
		mq_store_put(load);
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
	mq_msg_free(m);
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
		if (!m || !mq_msg_resident(m) || !mq_lease_ok(q, m) ||
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

static struct mq_queue *mq_queue_alloc(const char *name,
				       const struct mq_limits *lim,
				       const struct mq_queue_params *p)
{
	struct mq_queue *q;

	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q)
		return NULL;
	kref_init(&q->ref);
	strscpy(q->name, name, sizeof(q->name));
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->msgs);
	INIT_LIST_HEAD(&q->readers);
	INIT_LIST_HEAD(&q->reading);
	INIT_LIST_HEAD(&q->writers);
	INIT_LIST_HEAD(&q->store_node);
	init_waitqueue_head(&q->pollq);
	spin_lock_init(&q->rings_lock);
	INIT_LIST_HEAD(&q->rings);
	q->lim = *lim;
	q->mode = MQ_DEFAULT_MODE;
	q->uid = current_fsuid();
	q->gid = current_fsgid();
	mq_params_apply_access(q, p);
	q->memcg = get_mem_cgroup_from_mm(current->mm);
	q->created_ns = ktime_get_real_ns();
	q->ident = atomic64_inc_return(&mq_next_ident);
	return q;
}

/*
 * Give a queue its id and device; under mq_reg_lock. The id is only
 * reserved: until mq_queue_publish() nothing finds the queue, and an
 * open(2) of its minor fails with ENXIO, so no one sees a queue that is
 * not yet bound to its store or that a failure will take away again.
 */
static int mq_queue_register(struct mq_queue *q,
			     struct netlink_ext_ack *extack)
{
	int err;

	lockdep_assert_held(&mq_reg_lock);
	if (__mq_queue_lookup(q->name)) {
		NL_SET_ERR_MSG(extack, "queue exists");
		return -EEXIST;
	}
	err = xa_alloc_cyclic(&mq_queues, &q->id, NULL,
			      XA_LIMIT(0, mq_max_queues - 1), &mq_next_id,
			      GFP_KERNEL);
	if (err == -EBUSY) {
		NL_SET_ERR_MSG(extack, "too many queues (module parameter max_queues)");
		err = -ENOSPC;
	}
	if (err < 0)
		return err;
	err = mq_observer->added(q);
	if (err) {
		NL_SET_ERR_MSG(extack, "cannot create the device node");
		xa_erase(&mq_queues, q->id);
		return err;
	}
	return 0;
}

/* Undo mq_queue_register() of a queue never published; mq_reg_lock. */
static void mq_queue_unregister(struct mq_queue *q)
{
	lockdep_assert_held(&mq_reg_lock);
	mq_observer->removed(q);
	xa_erase(&mq_queues, q->id);
}

/* Make a registered queue reachable, fully set up; under mq_reg_lock. */
static void mq_queue_publish(struct mq_queue *q)
{
	void *old;

	lockdep_assert_held(&mq_reg_lock);
	mq_queue_get(q);	/* the registry's reference */
	/* The slot exists (reserved): storing into it allocates nothing. */
	old = xa_store(&mq_queues, q->id, q, GFP_KERNEL);
	WARN_ON_ONCE(old);
	mq_reg_changed();
}

/* Can the attached store take a durable queue with @lim? mq_reg_lock. */
static int mq_store_fits(const struct mq_limits *lim,
			 struct netlink_ext_ack *extack)
{
	struct mq_store *s = mq_store_cur;

	if (!s) {
		NL_SET_ERR_MSG(extack, "no store attached (mqctl store attach DEV)");
		return -ENODEV;
	}
	if (READ_ONCE(s->err)) {
		NL_SET_ERR_MSG(extack, "the store is degraded by an I/O error");
		return -EIO;
	}
	if (lim->max_msg > mq_store_max_msg(s)) {
		NL_SET_ERR_MSG(extack, "max-msg over a quarter of the store's segment");
		return -ERANGE;
	}
	return 0;
}

/* Messages queued, on their way in, or being read; under q->lock. */
static bool mq_queue_busy(const struct mq_queue *q)
{
	return q->depth_msgs || q->blocked_writers || !list_empty(&q->reading);
}

/* Put a queue into the attached store and save the catalog; mq_reg_lock. */
static int mq_store_add_queue(struct mq_queue *q, u32 durability,
			      struct mq_disk_catalog *cat,
			      struct netlink_ext_ack *extack)
{
	struct mq_store *s = mq_store_cur;
	int err;

	if (s->nqueues >= MQ_CAT_MAX_QUEUES) {
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
	q->serial = s->next_serial++;
	q->store = s;
	q->durability = durability;
	q->lease = q->tail;
	q->lease_pending = q->tail;
	spin_unlock(&q->lock);
	list_add_tail(&q->store_node, &s->queues);
	s->nqueues++;
	err = mq_store_write_catalog(s, cat, s->tail_seg, false);
	if (err) {
		if (err == -ENOMEM)
			NL_SET_ERR_MSG(extack, "out of memory for the store's catalog");
		else
			NL_SET_ERR_MSG(extack, "I/O error writing the store's catalog");
		list_del_init(&q->store_node);
		s->nqueues--;
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
				 struct mq_disk_catalog *cat)
{
	list_del_init(&q->store_node);
	s->nqueues--;
	return mq_store_write_catalog(s, cat, s->tail_seg, false);
}

/**
 * mq_queue_create - create a queue and its front-end objects
 * @name: a valid queue name
 * @p: optional limits, access and durability; unset fields take defaults
 * @extack: where to say why it failed
 *
 * The queue's memory is charged to the calling task's memory cgroup, now
 * and for every message written later by anyone. A durable queue is
 * saved in the attached store's catalog before this returns.
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
	u32 durability = p->set & MQ_P_DURABILITY ? p->durability :
			 MQ_DURABILITY_MEMORY;
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

	q = mq_queue_alloc(name, &lim, p);
	if (!q)
		return ERR_PTR(-ENOMEM);

	mutex_lock(&mq_reg_lock);
	if (mq_durable(durability)) {
		err = mq_store_fits(&lim, extack);
		if (err)
			goto err_unlock;
	}
	err = mq_queue_register(q, extack);
	if (err)
		goto err_unlock;
	if (mq_durable(durability)) {
		err = mq_store_add_queue(q, durability, NULL, extack);
		if (err) {
			mq_queue_unregister(q);
			goto err_unlock;
		}
	}
	mq_queue_publish(q);
	mutex_unlock(&mq_reg_lock);
	return q;

err_unlock:
	mutex_unlock(&mq_reg_lock);
	mq_queue_put(q);
	return ERR_PTR(err);
}

/*
 * Take a queue out of the registry and wake everyone with -EIDRM; under
 * mq_reg_lock. @forget: take it out of its store too (a delete; not a
 * detach, which keeps it on disk).
 */
static void __mq_queue_delete(struct mq_queue *q, bool forget,
			      struct mq_disk_catalog *cat)
{
	struct mq_wake wake = { 0 };
	LIST_HEAD(doomed);

	xa_erase(&mq_queues, q->id);
	mq_reg_changed();
	mq_observer->removed(q);
	if (q->store && !list_empty(&q->store_node) && forget) {
		if (mq_store_remove_queue(q->store, q, cat))
			pr_warn("queue %s: deleted, but the store's catalog could not be written: it comes back on the next attach\n",
				q->name);
	} else {
		kvfree(cat);
		if (q->store && !list_empty(&q->store_node)) {
			list_del_init(&q->store_node);
			q->store->nqueues--;
		}
	}

	spin_lock(&q->lock);
	WRITE_ONCE(q->dead, true);
	if (q->store) {
		atomic64_sub(q->resident_bytes, &q->store->resident);
		q->resident_bytes = 0;
	}
	q->evict_next = NULL;
	q->durable_next = NULL;
	list_splice_init(&q->msgs, &doomed);
	q->depth_msgs = 0;
	q->depth_bytes = 0;
	q->redelivered = 0;
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
 * Return: 0, -ENOENT if it was deleted already, or -ENOMEM (a durable
 * queue: no memory for the store's catalog; nothing changed).
 */
int mq_queue_delete(struct mq_queue *q)
{
	struct mq_disk_catalog *cat = NULL;
	int err = -ENOENT;

	mutex_lock(&mq_reg_lock);
	if (xa_load(&mq_queues, q->id) == q) {
		err = 0;
		if (q->store) {
			cat = mq_store_catalog_alloc(q->store, 0);
			if (!cat)
				err = -ENOMEM;
		}
		if (!err)
			__mq_queue_delete(q, true, cat);
	}
	mutex_unlock(&mq_reg_lock);
	return err;
}

/* The durability part of mq_queue_set(); under mq_reg_lock. */
static int mq_queue_set_durability(struct mq_queue *q, u32 dur, u32 new_dur,
				   struct mq_disk_catalog *cat,
				   struct netlink_ext_ack *extack)
{
	struct mq_store *s = q->store;
	int err;

	if (!mq_durable(dur) && !mq_durable(new_dur))
		return 0;
	if (!mq_durable(dur)) {
		err = mq_store_add_queue(q, new_dur, cat, extack);
		if (err == -EBUSY)
			NL_SET_ERR_MSG(extack, "change made, but not durability: not empty");
		else if (err)
			NL_SET_ERR_MSG(extack, "change made, but not saved in the store");
		return err;
	}
	if (!mq_durable(new_dur)) {
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
		err = mq_store_write_catalog(s, cat, s->tail_seg, false);
	}
	if (err)
		NL_SET_ERR_MSG(extack, "change made, but the store's catalog could not be written");
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
	struct mq_disk_catalog *cat = NULL;
	struct mq_wake wake = { 0 };
	void *prepared = NULL;
	struct mq_limits lim;
	bool access_changed;
	u32 dur, new_dur;
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
	u64 depth;
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
	dur = q->durability;
	/* A read in flight may yet give its message back. */
	depth = q->depth_msgs + q->blocked_writers + !list_empty(&q->reading);
	spin_unlock(&q->lock);
	mq_params_apply_limits(&lim, p);
	err = mq_limits_check(&lim, extack);
	if (err)
		goto out;
	new_dur = p->set & MQ_P_DURABILITY ? p->durability : dur;
	if (mq_durable(new_dur) && !mq_durable(dur)) {
		err = mq_store_fits(&lim, extack);
		if (err)
			goto out;
		if (depth) {
			NL_SET_ERR_MSG(extack, "only an empty queue can move into the store");
			err = -EBUSY;
			goto out;
		}
	} else if (!mq_durable(new_dur) && mq_durable(dur) && depth) {
		/* Its messages may be on disk only. */
		NL_SET_ERR_MSG(extack, "only an empty queue can leave the store");
		err = -EBUSY;
		goto out;
	} else if (mq_durable(new_dur) &&
		   lim.max_msg > mq_store_max_msg(q->store)) {
		NL_SET_ERR_MSG(extack, "max-msg over a quarter of the store's segment");
		err = -ERANGE;
		goto out;
	}
	if (mq_durable(dur) || mq_durable(new_dur)) {
		/* Taken now: once the change is made it must be saved. */
		cat = mq_store_catalog_alloc(mq_durable(dur) ? q->store :
					     mq_store_cur, !mq_durable(dur));
		if (!cat) {
			NL_SET_ERR_MSG(extack, "no memory for the catalog; nothing changed");
			err = -ENOMEM;
			goto out;
		}
	}
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
	if (!err) {
		err = mq_queue_set_durability(q, dur, new_dur, cat, extack);
		cat = NULL;
	}
out:
	mutex_unlock(&mq_reg_lock);
	kvfree(cat);
	return err;
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
		durable = mq_store_durable(q->store);
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
	s = q->store;
	if (s)
		mq_store_get(s);
	spin_unlock(&q->lock);
	if (!s)
		return 0;
	err = mq_store_wait_writer(s, end);
	mq_store_put(s);
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

/* Messages mq_queue_durable_offset() looks at, at most, per call. */
#define MQ_DURABLE_WALK	256

/*
 * The offset below which a durable queue's messages are on stable
 * storage; under q->lock. A queue's records are logged in offset order,
 * so if the newest is durable, all are; otherwise the walk goes on from
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
			     atomic_read(&q->ring_sleepers);
	s->blocked_writers = q->blocked_writers;
	s->durability = q->durability;
	s->next_flags = first ? first->flags : 0;
	s->redelivered = q->redelivered;
	s->durable_offset = q->store ? mq_queue_durable_offset(q) : 0;
	spin_unlock(&q->lock);
	s->open_fds = atomic_read(&q->open_fds);
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
	list_for_each_entry(q, &s->queues, store_node) {
		k = mq_store_oldest_needed(s, q);
		if (k < oldest)
			oldest = k;
	}
	if (oldest <= s->tail_seg)
		return 0;
	return mq_store_write_catalog(s, NULL, oldest, false);
}

/**
 * mq_queue_store_reclaim - give log space read by every queue back
 * @s: the store
 *
 * Return: 0, -EIO, or -EINTR if the caller was killed while waiting.
 */
static int mq_queue_store_reclaim(struct mq_store *s)
{
	int err = -EIO;

	/* Behind a catalog write on a device that may have stopped. */
	if (mutex_lock_killable(&mq_reg_lock))
		return -EINTR;
	if (mq_store_cur == s)
		err = __mq_queue_store_reclaim(s);
	mutex_unlock(&mq_reg_lock);
	return err;
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
 * Return: 0 or -ENOMEM.
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
	q->tail = offset;
	mq_append(q, m);
	return 0;
}

/**
 * mq_queue_restore_head - drop restored messages read before
 * @q: the queue, not yet registered
 * @head: the logged position
 */
void mq_queue_restore_head(struct mq_queue *q, u64 head)
{
	struct mq_msg *m, *tmp;

	list_for_each_entry_safe(m, tmp, &q->msgs, node) {
		if (m->offset >= head)
			break;
		mq_unlink(q, m);
		mq_msg_free(m);
	}
	if (q->tail < head)
		q->tail = head;
}

static void mq_restore_free(struct list_head *restored)
{
	struct mq_restore *r, *tmp;

	list_for_each_entry_safe(r, tmp, restored, node) {
		if (r->q)
			mq_queue_put(r->q);
		kfree(r);
	}
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
		u64 ident = le64_to_cpu(dq->ident), cur;

		q->ident = ident;
		cur = atomic64_read(&mq_next_ident);
		while (cur < ident &&
		       !atomic64_try_cmpxchg(&mq_next_ident, &cur, ident))
			;
	}
	q->tail = r->head;
	return q;
}

/**
 * mq_queue_store_attach - attach the store on a block device and bring
 * its queues back
 * @path: the device
 * @flush_ms: async flush interval, 0 for the default
 * @extack: where to say why it failed
 *
 * Return: 0 or a negative errno; on error nothing is attached or created.
 */
int mq_queue_store_attach(const char *path, u32 flush_ms,
			  struct netlink_ext_ack *extack)
{
	struct mq_restore *r;
	LIST_HEAD(restored);
	struct mq_store *s;
	struct mq_msg *m;
	int err, n = 0;

	if (READ_ONCE(mq_store_cur)) {
		NL_SET_ERR_MSG(extack, "a store is attached already (one per host)");
		return -EBUSY;
	}
	s = mq_store_open(path, flush_ms, mq_store_changed, &restored, extack);
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
	err = mq_store_recover(s, &restored, extack);
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
		if (r->lost)
			pr_warn("%s: queue %s: %llu message%s lost to damage\n",
				path, q->name, r->lost, r->lost == 1 ? "" : "s");
		err = mq_queue_register(q, extack);
		if (err)
			goto fail_unregister;
		/* Bound before anyone can reach it. */
		mq_store_get(s);
		spin_lock(&q->lock);
		q->store = s;
		spin_unlock(&q->lock);
		list_add_tail(&q->store_node, &s->queues);
		s->nqueues++;
		mq_queue_publish(q);
		n++;
	}
	mq_store_cur_set(s);
	/* Save the positions found and give back what they free. */
	if (__mq_queue_store_reclaim(s))
		pr_warn("%s: cannot write the catalog after recovery\n", path);
	mutex_unlock(&mq_reg_lock);
	pr_info("%s: attached, %d queues, %llu messages recovered%s\n", path,
		n, s->recovered_msgs, s->was_clean ? "" : " after an unclean stop");
	mq_event_store(s, MQ_STORE_EV_ATTACHED);
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
	mq_store_close(s, s->was_clean && !n);
	return err;
fail_unlock:
	mutex_unlock(&mq_reg_lock);
fail:
	mq_restore_free(&restored);
	mq_store_abort(s);
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
	list_for_each_entry(q, &s->queues, store_node) {
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
	cat = mq_store_catalog_alloc(s, 0);
	if (!cat && !force) {
		mq_store_queues_detaching(s, false, false);
		mutex_unlock(&mq_reg_lock);
		NL_SET_ERR_MSG(extack, "out of memory for the store's catalog; still attached");
		return -ENOMEM;
	}
	mq_store_commit_all(s, false);
	clean = !mq_store_write_catalog(s, cat, s->tail_seg, true);
	if (!clean)
		pr_err("%s: cannot write the catalog at detach\n", s->path);
	list_for_each_entry_safe(q, tmp, &s->queues, store_node)
		__mq_queue_delete(q, false, NULL);
	mq_store_cur_set(NULL);
	mutex_unlock(&mq_reg_lock);
	mq_event_store(s, MQ_STORE_EV_DETACHED);
	mq_store_close(s, clean);
	return 0;
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
	atomic64_set(&mq_next_ident, ktime_get_real_ns());
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
		__mq_queue_delete(q, false, NULL);
	mutex_unlock(&mq_reg_lock);
	xa_destroy(&mq_queues);
}
