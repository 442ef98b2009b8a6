// SPDX-License-Identifier: GPL-2.0
/*
 * The queues' life cycle and settings: creation, deletion, limits and
 * access, and durability as far as the core sees it (a durable queue is
 * put into and taken out of the store by the durable binding, through
 * struct mq_persist_ops). Every change is made under mq_reg_lock.
 */

#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/memcontrol.h>
#include <linux/cred.h>
#include <linux/timekeeping.h>
#include <linux/string.h>
#include <linux/ctype.h>

#include "queue.h"
#include "registry.h"

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

/**
 * mq_limits_check - check a queue's limits
 * @lim: the limits
 * @extack: where to say why not
 *
 * Return: 0 or -ERANGE.
 */
int mq_limits_check(const struct mq_limits *lim,
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

static bool mq_durable(u32 durability)
{
	return durability != MQ_DURABILITY_MEMORY;
}

static void mq_queue_release(struct kref *ref)
{
	struct mq_queue *q = container_of(ref, struct mq_queue, ref);

	mq_msgs_free(&q->msgs);
	mq_msg_free(q->spare);
	mem_cgroup_put(q->memcg);
	if (q->store)
		mq_persist->put(q->store);
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

/**
 * mq_queue_alloc - a new queue, not yet registered
 * @name: its name, valid
 * @lim: its limits, checked
 * @p: its access, where set (the caller's fsuid and fsgid otherwise)
 *
 * Charged to the calling task's memory cgroup, as its messages will be.
 * Return: the queue with a reference held, or NULL.
 */
struct mq_queue *mq_queue_alloc(const char *name,
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
	INIT_LIST_HEAD(&q->by_lpos);
	INIT_LIST_HEAD(&q->readers);
	INIT_LIST_HEAD(&q->reading);
	INIT_LIST_HEAD(&q->writers);
	INIT_LIST_HEAD(&q->store_node);
	init_waitqueue_head(&q->pollq);
	q->lim = *lim;
	q->mode = MQ_DEFAULT_MODE;
	q->uid = current_fsuid();
	q->gid = current_fsgid();
	mq_params_apply_access(q, p);
	q->memcg = get_mem_cgroup_from_mm(current->mm);
	q->created_ns = ktime_get_real_ns();
	q->ident = mq_registry_new_ident();
	return q;
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
		err = mq_persist->check(NULL, &lim, extack);
		if (err)
			goto err_unlock;
	}
	err = mq_queue_register(q, extack);
	if (err)
		goto err_unlock;
	if (mq_durable(durability)) {
		err = mq_persist->bind(q, durability, NULL, extack);
		if (err) {
			mq_queue_unregister(q);
			goto err_unlock;
		}
	}
	mq_queue_publish(q);
	mq_event_queue(q, MQ_QUEUE_EV_NEW);
	mutex_unlock(&mq_reg_lock);
	return q;

err_unlock:
	mutex_unlock(&mq_reg_lock);
	mq_queue_put(q);
	return ERR_PTR(err);
}

/**
 * __mq_queue_delete - take a queue out of the registry and wake everyone
 * with -EIDRM; under mq_reg_lock
 * @q: the queue, published
 * @forget: take it out of its store too (a delete; not a detach, which
 *	keeps it on disk)
 * @prepared: from mq_persist->prepare() for a durable queue, or NULL;
 *	consumed
 */
void __mq_queue_delete(struct mq_queue *q, bool forget, void *prepared)
{
	lockdep_assert_held(&mq_reg_lock);
	mq_queue_unpublish(q);
	if (q->store)
		mq_persist->unbind(q, forget, prepared);
	mq_queue_kill(q);
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
	void *cat = NULL;
	int err = -ENOENT;

	mutex_lock(&mq_reg_lock);
	if (mq_queue_registered(q)) {
		err = 0;
		if (q->store) {
			cat = mq_persist->prepare(q);
			if (!cat)
				err = -ENOMEM;
		}
		if (!err) {
			__mq_queue_delete(q, true, cat);
			mq_event_queue(q, MQ_QUEUE_EV_DEL);
		}
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
	void *prepared = NULL, *cat = NULL;
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
	if (!mq_queue_registered(q)) {
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
	depth = q->depth_msgs + q->blocked_writers + !list_empty(&q->reading) +
		!!atomic_read(&q->reading_mem);
	spin_unlock(&q->lock);
	mq_params_apply_limits(&lim, p);
	err = mq_limits_check(&lim, extack);
	if (err)
		goto out;
	new_dur = p->set & MQ_P_DURABILITY ? p->durability : dur;
	if (mq_durable(new_dur) && !mq_durable(dur)) {
		err = mq_persist->check(q, &lim, extack);
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
	} else if (mq_durable(new_dur)) {
		err = mq_persist->check(q, &lim, extack);
		if (err)
			goto out;
	}
	if (mq_durable(dur) || mq_durable(new_dur)) {
		/* Taken now: once the change is made it must be saved. */
		cat = mq_persist->prepare(q);
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
		prepared = mq_queue_observer_prepare(q);
		if (IS_ERR(prepared)) {
			NL_SET_ERR_MSG(extack, "cannot make the new device node; nothing changed");
			err = PTR_ERR(prepared);
			goto out;
		}
	}

	if (p->set & MQ_P_MODE)
		mode = p->mode & 0777;
	if (p->set & MQ_P_UID)
		uid = p->uid;
	if (p->set & MQ_P_GID)
		gid = p->gid;
	mq_queue_change_limits(q, &lim, mode, uid, gid);
	mq_reg_changed();
	*applied = true;

	if (access_changed) {
		err = mq_queue_observer_changed(q, prepared);
		if (err)
			NL_SET_ERR_MSG(extack,
				       "change made, but the device node could not be recreated");
	}
	if (!err) {
		err = mq_durable(dur) || mq_durable(new_dur) ?
		      mq_persist->set_durability(q, dur, new_dur, cat, extack) :
		      0;
		cat = NULL;
	}
	/* Made (whatever failed after): announced, in order. */
	mq_event_queue(q, MQ_QUEUE_EV_SET);
out:
	mutex_unlock(&mq_reg_lock);
	if (cat)
		mq_persist->unprepare(cat);
	return err;
}

/**
 * mq_queue_init - set up the core
 * @max_queues: the most queues that may exist at once
 * @observer: the front-end told of every queue's creation and deletion
 * @persist: the durable binding
 *
 * Return: 0.
 */
int mq_queue_init(unsigned int max_queues,
		  const struct mq_queue_observer *observer,
		  const struct mq_persist_ops *persist)
{
	mq_persist = persist;
	mq_registry_init(max_queues, observer);
	return 0;
}

/**
 * mq_queue_exit - delete every queue; no fd may be open any more
 */
void mq_queue_exit(void)
{
	unsigned long id = 0;
	struct mq_queue *q;

	mutex_lock(&mq_reg_lock);
	while ((q = __mq_queue_next(&id)))
		__mq_queue_delete(q, false, NULL);
	mutex_unlock(&mq_reg_lock);
	mq_registry_exit();
}
