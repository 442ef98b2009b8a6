// SPDX-License-Identifier: GPL-2.0
/*
 * The durable binding's half for the control plane: queues joining and
 * leaving the store. A queue created or set durable is bound to the
 * attached store and written into its catalog; one deleted or set back
 * to memory leaves both. Attach builds the queues the catalog names again
 * and applies recovery's records to them; detach saves them and lets
 * them go. The attached store and its list of queues are durable.c's,
 * shared through durable_int.h; every change is under mq_reg_lock, as
 * every catalog write is.
 */

#include <linux/slab.h>
#include <linux/list.h>
#include <linux/mutex.h>

#include "durable.h"
#include "durable_int.h"
#include "registry.h"

static DEFINE_MUTEX(mq_attach_lock);	/* attaches, one at a time; first */

/* @q, bound to the attached store, joins its list; under mq_reg_lock. */
static void mq_store_list_add(struct mq_queue *q)
{
	lockdep_assert_held(&mq_reg_lock);
	list_add_tail(&q->store_node, &mq_dur_queues);
	WRITE_ONCE(mq_dur_nqueues, mq_dur_nqueues + 1);
}

/* @q leaves the attached store's list; under mq_reg_lock. */
static void mq_store_list_del(struct mq_queue *q)
{
	lockdep_assert_held(&mq_reg_lock);
	list_del_init(&q->store_node);
	WRITE_ONCE(mq_dur_nqueues, mq_dur_nqueues - 1);
}

/* ---- a queue joins or leaves the store ---- */

/* Can the attached store take a durable queue with @lim? mq_reg_lock. */
static int mq_store_fits(const struct mq_limits *lim,
			 struct netlink_ext_ack *extack)
{
	struct mq_store *s = mq_dur_store;

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

/**
 * mq_dur_check - the core's question: may a queue be durable with @lim?
 * @q: the queue, or NULL for a new one
 * @lim: its limits
 * @extack: where to say why not
 *
 * Under mq_reg_lock. Return: 0, -ENODEV, -EIO or -ERANGE.
 */
int mq_dur_check(struct mq_queue *q, const struct mq_limits *lim,
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

/**
 * mq_dur_prepare - memory for the catalog a change of @q will write
 * @q: the queue
 *
 * Its store's catalog, or the attached one's with room for @q; under
 * mq_reg_lock. Return: the memory, or NULL (none, or no store).
 */
void *mq_dur_prepare(struct mq_queue *q)
{
	lockdep_assert_held(&mq_reg_lock);
	if (q->store)
		return mq_store_catalog_alloc(q->store, mq_dur_nqueues);
	if (!mq_dur_store)
		return NULL;
	return mq_store_catalog_alloc(mq_dur_store, mq_dur_nqueues + 1);
}

/**
 * mq_dur_unprepare - free what mq_dur_prepare() gave, unused
 * @prepared: it, or NULL
 */
void mq_dur_unprepare(void *prepared)
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

/**
 * mq_dur_bind - bind a queue to the attached store
 * @q: the queue, empty
 * @durability: MQ_DURABILITY_ASYNC or _SYNC
 * @cat: the catalog's memory (mq_dur_prepare()), consumed
 * @extack: where to say why it failed
 *
 * The catalog is saved with @q in it; under mq_reg_lock.
 * Return: 0, -ENOSPC (the catalog is full), -EBUSY (not empty), -ENOMEM
 * or -EIO; on error @q stays a memory queue.
 */
int mq_dur_bind(struct mq_queue *q, u32 durability, void *cat,
		struct netlink_ext_ack *extack)
{
	struct mq_store *s = mq_dur_store;
	int err;

	lockdep_assert_held(&mq_reg_lock);
	if (mq_dur_nqueues >= MQ_CAT_MAX_QUEUES) {
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
	mq_store_list_add(q);
	err = mq_dur_save(s, cat, 0, false);
	if (err) {
		if (err == -ENOMEM)
			NL_SET_ERR_MSG(extack, "out of memory for the store's catalog");
		else
			NL_SET_ERR_MSG(extack, "I/O error writing the store's catalog");
		mq_store_list_del(q);
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
	mq_store_list_del(q);
	return mq_dur_save(s, cat, 0, false);
}

/**
 * mq_dur_unbind - a durable queue is being deleted
 * @q: the queue
 * @forget: out of the catalog too (a delete; not a detach, which keeps it
 *	on disk)
 * @cat: the catalog's memory (mq_dur_prepare()), consumed
 *
 * Under mq_reg_lock.
 */
void mq_dur_unbind(struct mq_queue *q, bool forget, void *cat)
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
	if (!list_empty(&q->store_node))
		mq_store_list_del(q);
}

/**
 * mq_dur_set_durability - the durability part of mq_queue_set()
 * @q: the queue
 * @dur: its durability now
 * @new_dur: what it becomes
 * @cat: the catalog's memory (mq_dur_prepare()), consumed
 * @extack: where to say why it failed
 *
 * Under mq_reg_lock. Return: 0, -EBUSY (only an empty queue moves in or
 * out of the store), -ENOSPC, -ENOMEM or -EIO.
 */
int mq_dur_set_durability(struct mq_queue *q, u32 dur, u32 new_dur,
			  void *cat, struct netlink_ext_ack *extack)
{
	struct mq_store *s = q->store;
	int err;

	lockdep_assert_held(&mq_reg_lock);
	if (!s) {
		err = mq_dur_bind(q, new_dur, cat, extack);
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
		err = mq_dur_save(s, cat, 0, false);
	}
	if (err)
		NL_SET_ERR_MSG(extack, "change made, but the store's catalog could not be written");
	return err;
}

/* ---- the store comes and goes ---- */

/* The store's own report that its state changed (an I/O error). */
static void mq_store_changed(struct mq_store *s)
{
	mq_event_store(s, MQ_STORE_EV_CHANGED);
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

	if (READ_ONCE(mq_dur_store)) {
		NL_SET_ERR_MSG(extack, "a store is attached already (one per host)");
		return -EBUSY;
	}
	s = mq_store_open(path, flush_ms, mq_store_changed, mq_dur_low_space,
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
	if (mq_dur_store) {
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
		mq_store_list_add(q);
		mq_queue_publish(q);
		n++;
	}
	mq_dur_store_set(s);
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
	list_for_each_entry(q, &mq_dur_queues, store_node) {
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
	s = mq_dur_store;
	if (!s) {
		mutex_unlock(&mq_reg_lock);
		/* A late kick of a detached store's writer: not past unload. */
		mq_clean_flush();
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
	cat = mq_store_catalog_alloc(s, mq_dur_nqueues);
	if (!cat && !force) {
		mq_store_queues_detaching(s, false, false);
		mutex_unlock(&mq_reg_lock);
		NL_SET_ERR_MSG(extack, "out of memory for the store's catalog; still attached");
		return -ENOMEM;
	}
	mq_store_commit_all(s, false);
	clean = !mq_dur_save(s, cat, 0, true);
	if (!clean)
		pr_err("%s: cannot write the catalog at detach\n",
		       mq_store_path(s));
	list_for_each_entry_safe(q, tmp, &mq_dur_queues, store_node)
		__mq_queue_delete(q, false, NULL);
	mq_dur_store_set(NULL);
	mq_event_store(s, MQ_STORE_EV_DETACHED);
	mutex_unlock(&mq_reg_lock);
	/*
	 * A run from here on finds no store; the one queued may still be
	 * for this one, and a writer may wait for it: let it end.
	 */
	mq_clean_flush();
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
