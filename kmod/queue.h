/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The queue core: messages, offsets, limits, the data path (queue.c),
 * its sleepers (handoff.c), a durable queue's log order and restore
 * (restore.c), the queues' life cycle and settings (admin.c) and their
 * registry (registry.h). It knows nothing of how a queue is reached: the
 * front-ends (chrdev, ring, netlink) call into it. It knows nothing of
 * the store either: durable queues persist through struct
 * mq_persist_ops, which the durable binding implements.
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

struct mem_cgroup;
struct mq_store;

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
	u64 ident;			/* never reused (mq_info.ident) */
	char name[MQ_NAME_MAX + 1];

	spinlock_t lock;		/* everything below, unless noted */
	struct list_head msgs;		/* struct mq_msg, ascending offset */
	/*
	 * Durable queues: the same messages in ascending log position. The
	 * cleaner's copies put a message's record after younger ones', so
	 * the two orders differ; this one says which segments are needed.
	 */
	struct list_head by_lpos;
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
	atomic_t blocked_outside;	/* readers asleep in a front-end's wait */

	atomic_t open_fds;		/* changed under lock, read without */
	bool detaching;			/* its store is being detached */
	wait_queue_head_t pollq;	/* poll(2) only; read/write use waiters */

	struct mem_cgroup *memcg;	/* all queue memory is charged here */
	struct mq_msg *spare;		/* mq_msg_get(); xchg, no lock */
	void *ring_fe;			/* the rings front-end's; never looked at */

	u32 durability;
	u64 created_ns;
	u64 redelivered;		/* queued messages flagged so */
	struct list_head reading;	/* struct mq_reading: reads in flight */
	/*
	 * A memory queue's reads in flight, only counted (no position waits
	 * for them): ended without the lock (mq_read_end()).
	 */
	atomic_t reading_mem;
	u64 delivered_hi;		/* above every offset delivered */

	/*
	 * The durable binding's (durable.c, bind.c), under lock unless noted. The
	 * core only tests @store (a durable queue) and hands it back to the
	 * binding (struct mq_persist_ops); it never looks inside.
	 */
	struct mq_store *store;		/* set under mq_reg_lock and q->lock */
	struct list_head store_node;	/* the binding's list, mq_reg_lock */
	u64 serial;			/* the store's name for the queue */
	u64 lease;			/* offsets below may be read */
	u64 lease_pending;		/* ... once lease_end is durable */
	u64 lease_end;
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
	bool counted;			/* memory queue: in q->reading_mem */
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
 * @devt: the device number of a queue's node (new_encode_dev()), or 0;
 *	called from anywhere, without locks
 *
 * All but @devt are called under mq_reg_lock, one at a time.
 */
struct mq_queue_observer {
	int (*added)(struct mq_queue *q);
	void (*removed)(struct mq_queue *q);
	void *(*prepare)(struct mq_queue *q);
	void (*unprepare)(void *prepared);
	int (*changed)(struct mq_queue *q, void *prepared);
	u32 (*devt)(const struct mq_queue *q);
};

/**
 * struct mq_persist_ops - how the core keeps durable queues
 *
 * The core defines this and the durable binding (durable.c, bind.c)
 * implements it; main.c hands it to mq_queue_init(). A queue is durable while
 * q->store is set, and the core calls these only then (the lifecycle ops
 * but @check, @prepare, @bind and @set_durability only for such a queue:
 * those also for one about to become durable). The core never
 * looks inside a store: the handle is the binding's.
 *
 * Under q->lock:
 * @log_msg: log @m, its offset set, before it is appended; *@end: the log
 *	position that must be durable for it to be. Return: 0, -EINPROGRESS
 *	(@commit, then try again), -ENOSPC (@reclaim, then try again) or
 *	-EIO
 * @lease_ok: may @m, the oldest, be handed out? false: @commit the lease
 *	logged meanwhile and try again
 * @log_pos: the consumed position may have passed @before: log it
 * @linked: @m joined q->msgs (@requeued: given back, not at the tail)
 * @unlinked: @m left q->msgs
 * @durable_offset: the offset below which the messages are durable
 * @dropped: a deleted queue's messages all go
 * @get: q->store, with a reference, for the calls below
 *
 * With no lock held, on a store from @get:
 * @put: drop the reference
 * @commit: commit everything logged so far (killable). Return: 0, -EIO
 *	or -EINTR
 * @reclaim: give back log space consumed by every queue; if @wait, wait
 *	for the cleaner when that is not enough. Return: as @commit,
 *	-ERESTARTSYS (a signal while it waited) or -EAGAIN (!@wait, and the
 *	registry lock was busy)
 * @wait: wait until log position @end is durable, for a sync write, in a
 *	group commit. Return: as @commit
 * @trim: a message was appended: keep the store's cache within bounds
 * @load: read @m's evicted payload back. Return: 0, -ENOMEM, -EIO or
 *	-EUCLEAN
 * @durable: the log position below which everything is durable
 *
 * Lifecycle, under mq_reg_lock:
 * @check: may @q (NULL: a new queue) be, or stay, durable with @lim?
 * @prepare: memory for the catalog that a change of @q (durable, or
 *	becoming so) will write, taken before anything changes; NULL: no
 *	memory (the change fails with -ENOMEM)
 * @unprepare: free what @prepare returned, unused
 * @bind: make @q durable in the attached store; consumes @prepared
 * @unbind: @q is being deleted (@forget: out of the catalog too; not at
 *	detach); consumes @prepared
 * @set_durability: @q's durability changes from @dur to @new_dur, either
 *	of them durable; consumes @prepared
 */
struct mq_persist_ops {
	int (*log_msg)(struct mq_queue *q, struct mq_msg *m, u64 *end);
	bool (*lease_ok)(struct mq_queue *q, const struct mq_msg *m);
	void (*log_pos)(struct mq_queue *q, u64 before);
	void (*linked)(struct mq_queue *q, struct mq_msg *m, bool requeued);
	void (*unlinked)(struct mq_queue *q, struct mq_msg *m);
	u64 (*durable_offset)(struct mq_queue *q);
	void (*dropped)(struct mq_queue *q);
	struct mq_store *(*get)(struct mq_queue *q);

	void (*put)(struct mq_store *s);
	int (*commit)(struct mq_store *s);
	int (*reclaim)(struct mq_store *s, bool wait);
	bool (*room)(struct mq_queue *q);
	int (*wait)(struct mq_store *s, u64 end);
	void (*trim)(struct mq_queue *q, struct mq_store *s);
	int (*load)(struct mq_queue *q, struct mq_store *s, struct mq_msg *m);
	u64 (*durable)(struct mq_store *s);

	int (*check)(struct mq_queue *q, const struct mq_limits *lim,
		     struct netlink_ext_ack *extack);
	void *(*prepare)(struct mq_queue *q);
	void (*unprepare)(void *prepared);
	int (*bind)(struct mq_queue *q, u32 durability, void *prepared,
		    struct netlink_ext_ack *extack);
	void (*unbind)(struct mq_queue *q, bool forget, void *prepared);
	int (*set_durability)(struct mq_queue *q, u32 dur, u32 new_dur,
			      void *prepared, struct netlink_ext_ack *extack);
};

/* The binding, set once by mq_queue_init(). */
extern const struct mq_persist_ops *mq_persist;

int mq_queue_init(unsigned int max_queues,
		  const struct mq_queue_observer *observer,
		  const struct mq_persist_ops *persist);
void mq_queue_exit(void);

struct mq_queue *mq_queue_create(const char *name,
				 const struct mq_queue_params *p,
				 struct netlink_ext_ack *extack);
int mq_queue_delete(struct mq_queue *q);
int mq_queue_set(struct mq_queue *q, const struct mq_queue_params *p,
		 struct netlink_ext_ack *extack, bool *applied);
bool mq_queue_name_valid(const char *name);
int mq_limits_check(const struct mq_limits *lim,
		    struct netlink_ext_ack *extack);
struct mq_queue *mq_queue_alloc(const char *name,
				const struct mq_limits *lim,
				const struct mq_queue_params *p);
void __mq_queue_delete(struct mq_queue *q, bool forget, void *prepared);

struct mq_queue *mq_queue_lookup(const char *name);
struct mq_queue *mq_queue_get_by_id(u32 id);
struct mq_queue *mq_queue_get_next(unsigned long *id);
unsigned int mq_queue_generation(void);
u32 mq_queue_devt(const struct mq_queue *q);

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
void mq_queue_wake_writers(struct mq_queue *q);
u64 mq_queue_durable(struct mq_queue *q);
int mq_queue_sync(struct mq_queue *q, u64 end);
__poll_t mq_queue_poll(struct mq_queue *q, struct file *file,
		       poll_table *wait);
void mq_queue_snapshot(struct mq_queue *q, struct mq_queue_snapshot *s);
void mq_queue_change_limits(struct mq_queue *q, const struct mq_limits *lim,
			    umode_t mode, kuid_t uid, kgid_t gid);
void mq_queue_kill(struct mq_queue *q);

/* Queues coming back from the store, before they are registered. */
int mq_queue_restore_msg(struct mq_queue *q, u64 offset, u64 tstamp,
			 u64 lpos, u32 len);
int mq_queue_restore_moved(struct mq_queue *q, u64 offset, u64 tstamp,
			   u64 lpos, u32 len, struct mq_msg **hint);
void mq_queue_by_lpos_insert(struct mq_queue *q, struct mq_msg *m,
			     bool newest);
void mq_queue_restore_head(struct mq_queue *q, u64 head);

#endif /* _MQ_QUEUE_H */
