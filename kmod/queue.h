/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The queue core: messages, offsets, limits, waiters and the registry of
 * queues. It knows nothing of how a queue is reached; the front-ends
 * (chrdev, netlink) call into it.
 */
#ifndef _MQ_QUEUE_H
#define _MQ_QUEUE_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/uidgid.h>
#include <linux/uio.h>
#include <linux/poll.h>
#include <linux/netlink.h>
#include <linux/mq.h>

#include "msg.h"

struct device;
struct mem_cgroup;
struct mq_store;

/* Read leases are taken this many messages ahead (see mq_lease()). */
#define MQ_LEASE_BATCH	1024

/* Which fields of struct mq_queue_params are set. */
enum {
	MQ_P_MAX_MSG	= BIT(0),
	MQ_P_CAP_MSGS	= BIT(1),
	MQ_P_CAP_BYTES	= BIT(2),
	MQ_P_MODE	= BIT(3),
	MQ_P_UID	= BIT(4),
	MQ_P_GID	= BIT(5),
	MQ_P_DURABILITY	= BIT(6),
};

struct mq_queue_params {
	u32 set;
	u32 max_msg;
	u32 cap_msgs;
	u64 cap_bytes;
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
	u32 durability;
};

struct mq_limits {
	u32 max_msg;
	u32 cap_msgs;
	u64 cap_bytes;
};

struct mq_queue {
	struct kref ref;
	struct rcu_head rcu;
	u32 id;				/* the minor: reused after deletion */
	u32 devt;			/* new_encode_dev() of the node, or 0 */
	u64 ident;			/* never reused (mq_info.ident) */
	char name[MQ_NAME_MAX + 1];

	spinlock_t lock;		/* everything below, unless noted */
	struct list_head msgs;		/* struct mq_msg, ascending offset */
	struct mq_limits lim;
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
	u64 tail;			/* offset of the next message */
	u64 depth_msgs;
	u64 depth_bytes;
	u64 peak_msgs;
	u64 msgs_in;
	u64 bytes_in;
	u64 msgs_out;
	u64 bytes_out;
	bool dead;

	struct list_head readers;	/* struct mq_waiter, FIFO */
	struct list_head writers;	/* struct mq_waiter, FIFO */
	u32 blocked_readers;
	u32 blocked_writers;
	u64 pinned_bytes;		/* messages held by sleeping writers */

	/* The rings front-end's RX rings on this queue, its own business. */
	spinlock_t rings_lock;
	struct list_head rings;
	atomic_t ring_sleepers;		/* in MQ_RING_ENTER_WAIT for messages */

	atomic_t open_fds;		/* changed under lock, read without */
	bool detaching;			/* its store is being detached */
	wait_queue_head_t pollq;	/* poll(2) only; read/write use waiters */

	struct mem_cgroup *memcg;	/* all queue memory is charged here */
	struct device *dev;		/* owned by the chrdev front-end */

	/* Durable queues (durability async or sync) */
	u32 durability;
	struct mq_store *store;		/* set under mq_reg_lock and q->lock */
	struct list_head store_node;	/* in store->queues, mq_reg_lock */
	u64 serial;			/* the store's name for the queue */
	u64 created_ns;
	u64 lease;			/* offsets below may be read */
	u64 lease_pending;		/* ... once lease_end is durable */
	u64 lease_end;
	u64 redelivered;		/* queued messages flagged so */
	struct list_head reading;	/* struct mq_reading: reads in flight */
	u64 delivered_hi;		/* above every offset delivered */
	u64 resident_bytes;		/* payload in memory */
	struct mq_msg *evict_next;	/* where eviction goes on, or NULL */
	struct mq_msg *durable_next;	/* all before are durable, or NULL */
};

/*
 * A read(2) in flight on a durable queue: its message is out of the
 * queue, not yet delivered, and comes back if the copy fails. Until it is
 * over, the position logged for the queue stays at or below @offset, and
 * the log keeps @lpos's segment.
 */
struct mq_reading {
	struct list_head node;		/* in q->reading, or empty */
	u64 offset;
	u64 lpos;
};

u64 mq_queue_consumed(struct mq_queue *q);

/* A consistent copy of a queue's state, for MQ_IOC_INFO and netlink. */
struct mq_queue_snapshot {
	struct mq_limits lim;
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
	u32 next_len;
	u32 blocked_readers;
	u32 blocked_writers;
	u32 open_fds;
	u64 head;
	u64 tail;
	u64 depth_msgs;
	u64 depth_bytes;
	u64 peak_msgs;
	u64 msgs_in;
	u64 bytes_in;
	u64 msgs_out;
	u64 bytes_out;
	u32 durability;
	u32 next_flags;
	u64 durable_offset;
	u64 redelivered;
	bool dead;
};

/* What MQ_IOC_RECV reports of the message it read. */
struct mq_msg_meta {
	u64 offset;
	u64 tstamp_ns;
	u32 flags;
};

/**
 * struct mq_queue_observer - a front-end that follows queue lifetimes
 * @added: a queue was created; an error undoes the creation
 * @removed: a queue was deleted (also called to undo @added)
 * @prepare: a queue's access is about to change: allocate what @changed
 *	needs (an ERR_PTR stops the change before anything is made)
 * @changed: a queue's access (mode, owner, group) changed; consumes what
 *	@prepare returned
 */
struct mq_queue_observer {
	int (*added)(struct mq_queue *q);
	void (*removed)(struct mq_queue *q);
	void *(*prepare)(struct mq_queue *q);
	int (*changed)(struct mq_queue *q, void *prepared);
};

/* What happened to the store, for mq_event_ops.store. */
enum mq_store_event {
	MQ_STORE_EV_ATTACHED,
	MQ_STORE_EV_DETACHED,
	MQ_STORE_EV_CHANGED,	/* its state changed: degraded by an error */
};

/**
 * struct mq_event_ops - where the core tells what happened, for listeners
 * @store: the store was attached, detached or changed state; may sleep
 */
struct mq_event_ops {
	void (*store)(struct mq_store *s, enum mq_store_event ev);
};

void mq_events_set(const struct mq_event_ops *ops);

int mq_queue_init(unsigned int max_queues,
		  const struct mq_queue_observer *observer);
void mq_queue_exit(void);

struct mq_queue *mq_queue_create(const char *name,
				 const struct mq_queue_params *p,
				 struct netlink_ext_ack *extack);
int mq_queue_delete(struct mq_queue *q);
int mq_queue_set(struct mq_queue *q, const struct mq_queue_params *p,
		 struct netlink_ext_ack *extack, bool *applied);
bool mq_queue_name_valid(const char *name);

struct mq_queue *mq_queue_lookup(const char *name);
struct mq_queue *mq_queue_get_by_id(u32 id);
struct mq_queue *mq_queue_get_next(unsigned long *id);
unsigned int mq_queue_generation(void);

static inline void mq_queue_get(struct mq_queue *q)
{
	kref_get(&q->ref);
}

void mq_queue_put(struct mq_queue *q);
int mq_queue_open(struct mq_queue *q, int mask);
void mq_queue_close(struct mq_queue *q);

/* A hint without the lock: nothing is queued. */
static inline bool mq_queue_maybe_empty(const struct mq_queue *q)
{
	return !READ_ONCE(q->depth_msgs) && !READ_ONCE(q->dead);
}

/* A hint without the lock: the queue lives in the store. */
static inline bool mq_queue_is_durable(const struct mq_queue *q)
{
	return READ_ONCE(q->store);
}

ssize_t mq_queue_write(struct mq_queue *q, struct iov_iter *from,
		       bool nonblock);
ssize_t mq_queue_read(struct mq_queue *q, struct iov_iter *to, bool nonblock,
		      struct mq_msg_meta *meta);
int mq_queue_take(struct mq_queue *q, bool (*fits)(void *arg, u32 len),
		  void *arg, struct list_head *out, u32 max);
ssize_t mq_queue_send(struct mq_queue *q, struct iov_iter *from,
		      bool nonblock, u64 *endp);
int mq_queue_direct(struct mq_queue *q, u32 n, u64 bytes, u32 longest,
		    u64 *first);
void mq_queue_wake_readers(struct mq_queue *q);
u64 mq_queue_durable(struct mq_queue *q);
int mq_queue_sync(struct mq_queue *q, u64 end);
__poll_t mq_queue_poll(struct mq_queue *q, struct file *file,
		       poll_table *wait);
void mq_queue_snapshot(struct mq_queue *q, struct mq_queue_snapshot *s);

/* The store's side (queue.c) */
int mq_queue_store_attach(const char *path, u32 flush_ms,
			  struct netlink_ext_ack *extack);
int mq_queue_store_detach(bool force, struct netlink_ext_ack *extack);
struct mq_store *mq_queue_store_get(void);
int mq_queue_restore_msg(struct mq_queue *q, u64 offset, u64 tstamp,
			 u64 lpos, u32 len);
void mq_queue_restore_head(struct mq_queue *q, u64 head);

#endif /* _MQ_QUEUE_H */
