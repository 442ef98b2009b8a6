// SPDX-License-Identifier: GPL-2.0
/*
 * The registry of queues: an allocating xarray indexed by queue id (the
 * device minor), names unique under mq_reg_lock, lookups under RCU
 * (queues are freed with kfree_rcu), and the listeners of queue and store
 * events. A queue's id is reserved first (mq_queue_register()) and the
 * queue is stored into its slot only once it is whole
 * (mq_queue_publish()): nothing finds a queue that a failure may yet take
 * away.
 */

#include <linux/xarray.h>
#include <linux/rwsem.h>
#include <linux/timekeeping.h>

#include "registry.h"

/* Serialises every change of the registry (its rules: registry.h). */
DEFINE_MUTEX(mq_reg_lock);
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

/**
 * mq_event_queue - tell the listener, if any, of a queue event
 * @q: the queue
 * @ev: what happened
 *
 * Under mq_reg_lock: events go out in the order of the changes. May sleep.
 */
void mq_event_queue(struct mq_queue *q, enum mq_queue_event ev)
{
	lockdep_assert_held(&mq_reg_lock);
	down_read(&mq_events_sem);
	if (mq_events)
		mq_events->queue(q, ev);
	up_read(&mq_events_sem);
}

/**
 * mq_event_store - tell the listener, if any, of a store event
 * @s: the store
 * @ev: what happened
 *
 * May sleep.
 */
void mq_event_store(struct mq_store *s, enum mq_store_event ev)
{
	down_read(&mq_events_sem);
	if (mq_events)
		mq_events->store(s, ev);
	up_read(&mq_events_sem);
}

/**
 * __mq_queue_lookup - find a registered queue by name; under mq_reg_lock
 * @name: the name
 *
 * Return: the queue (no reference taken), or NULL.
 */
struct mq_queue *__mq_queue_lookup(const char *name)
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
 * __mq_queue_next - iterate over published queues; under mq_reg_lock
 * @id: in: the first id to consider; out: the id after the one returned
 *
 * Return: the next queue (no reference taken), or NULL at the end.
 */
struct mq_queue *__mq_queue_next(unsigned long *id)
{
	struct mq_queue *q;

	lockdep_assert_held(&mq_reg_lock);
	q = xa_find(&mq_queues, id, ULONG_MAX, XA_PRESENT);
	if (q)
		(*id)++;
	return q;
}

/**
 * mq_queue_registered - is @q the published queue of its id? mq_reg_lock
 * @q: the queue
 *
 * Return: false once it is deleted.
 */
bool mq_queue_registered(struct mq_queue *q)
{
	lockdep_assert_held(&mq_reg_lock);
	return xa_load(&mq_queues, q->id) == q;
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

/**
 * mq_reg_changed - a queue was created, changed or deleted; mq_reg_lock
 */
void mq_reg_changed(void)
{
	lockdep_assert_held(&mq_reg_lock);
	WRITE_ONCE(mq_reg_gen, mq_reg_gen + 1);
}

/**
 * mq_queue_register - give a queue its id and device; under mq_reg_lock
 * @q: the queue, not yet reachable
 * @extack: where to say why it failed
 *
 * The id is only reserved: until mq_queue_publish() nothing finds the
 * queue, and an open(2) of its minor fails with ENXIO, so no one sees a
 * queue that is not yet bound to its store or that a failure will take
 * away again.
 *
 * Return: 0, -EEXIST (the name is taken), -ENOSPC (max_queues) or the
 * front-end's error.
 */
int mq_queue_register(struct mq_queue *q, struct netlink_ext_ack *extack)
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

/**
 * mq_queue_unregister - undo mq_queue_register() of a queue never
 * published; under mq_reg_lock
 * @q: the queue
 */
void mq_queue_unregister(struct mq_queue *q)
{
	lockdep_assert_held(&mq_reg_lock);
	mq_observer->removed(q);
	xa_erase(&mq_queues, q->id);
}

/**
 * mq_queue_publish - make a registered queue reachable, fully set up;
 * under mq_reg_lock
 * @q: the queue; the registry takes a reference
 */
void mq_queue_publish(struct mq_queue *q)
{
	void *old;

	lockdep_assert_held(&mq_reg_lock);
	mq_queue_get(q);	/* the registry's reference */
	/* The slot exists (reserved): storing into it allocates nothing. */
	old = xa_store(&mq_queues, q->id, q, GFP_KERNEL);
	WARN_ON_ONCE(old);
	mq_reg_changed();
}

/**
 * mq_queue_unpublish - take a published queue out of the registry and
 * its device away; under mq_reg_lock
 * @q: the queue; the caller drops the registry's reference
 */
void mq_queue_unpublish(struct mq_queue *q)
{
	lockdep_assert_held(&mq_reg_lock);
	xa_erase(&mq_queues, q->id);
	mq_reg_changed();
	mq_observer->removed(q);
}

/**
 * mq_queue_observer_prepare - the front-end's preparation for new access
 * @q: the queue; under mq_reg_lock
 *
 * Return: what mq_queue_observer_changed() consumes, or an ERR_PTR.
 */
void *mq_queue_observer_prepare(struct mq_queue *q)
{
	lockdep_assert_held(&mq_reg_lock);
	return mq_observer->prepare(q);
}

/**
 * mq_queue_observer_changed - tell the front-end a queue's access changed
 * @q: the queue; under mq_reg_lock
 * @prepared: from mq_queue_observer_prepare()
 *
 * Return: 0 or the front-end's error.
 */
int mq_queue_observer_changed(struct mq_queue *q, void *prepared)
{
	lockdep_assert_held(&mq_reg_lock);
	return mq_observer->changed(q, prepared);
}

/**
 * mq_queue_devt - the device number of a queue's node, for replies
 * @q: the queue
 *
 * Return: new_encode_dev() of it, or 0.
 */
u32 mq_queue_devt(const struct mq_queue *q)
{
	return mq_observer->devt(q);
}

/**
 * mq_registry_new_ident - a queue identity never handed out before
 *
 * Return: it.
 */
u64 mq_registry_new_ident(void)
{
	return atomic64_inc_return(&mq_next_ident);
}

/**
 * mq_registry_ident_seen - an identity came back from the store
 * @ident: it; later ones are handed out above it
 */
void mq_registry_ident_seen(u64 ident)
{
	u64 cur = atomic64_read(&mq_next_ident);

	while (cur < ident &&
	       !atomic64_try_cmpxchg(&mq_next_ident, &cur, ident))
		;
}

/**
 * mq_registry_ident_used - does a registered queue have this identity?
 * @ident: the identity
 *
 * Under mq_reg_lock. Return: whether one does.
 */
bool mq_registry_ident_used(u64 ident)
{
	struct mq_queue *q;
	unsigned long id;

	lockdep_assert_held(&mq_reg_lock);
	xa_for_each(&mq_queues, id, q)
		if (q->ident == ident)
			return true;
	return false;
}

/**
 * mq_registry_init - set up the registry
 * @max_queues: the most queues that may exist at once
 * @observer: the front-end told of every queue's creation and deletion
 */
void mq_registry_init(unsigned int max_queues,
		      const struct mq_queue_observer *observer)
{
	mq_max_queues = max_queues;
	mq_observer = observer;
	atomic64_set(&mq_next_ident, ktime_get_real_ns());
}

/**
 * mq_registry_exit - free the registry; every queue is gone
 */
void mq_registry_exit(void)
{
	xa_destroy(&mq_queues);
}
