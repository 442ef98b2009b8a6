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

struct device;
struct mem_cgroup;

/* Which fields of struct mq_queue_params are set. */
enum {
	MQ_P_MAX_MSG	= BIT(0),
	MQ_P_CAP_MSGS	= BIT(1),
	MQ_P_CAP_BYTES	= BIT(2),
	MQ_P_MODE	= BIT(3),
	MQ_P_UID	= BIT(4),
	MQ_P_GID	= BIT(5),
};

struct mq_queue_params {
	u32 set;
	u32 max_msg;
	u32 cap_msgs;
	u64 cap_bytes;
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
};

struct mq_limits {
	u32 max_msg;
	u32 cap_msgs;
	u64 cap_bytes;
};

struct mq_queue {
	struct kref ref;
	struct rcu_head rcu;
	u32 id;
	u32 devt;			/* new_encode_dev() of the node, or 0 */
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

	atomic_t open_fds;
	wait_queue_head_t pollq;	/* poll(2) only; read/write use waiters */

	struct mem_cgroup *memcg;	/* all queue memory is charged here */
	struct device *dev;		/* owned by the chrdev front-end */
};

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
	bool dead;
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

ssize_t mq_queue_write(struct mq_queue *q, struct iov_iter *from,
		       bool nonblock);
ssize_t mq_queue_read(struct mq_queue *q, struct iov_iter *to, bool nonblock);
__poll_t mq_queue_poll(struct mq_queue *q, struct file *file,
		       poll_table *wait);
void mq_queue_snapshot(struct mq_queue *q, struct mq_queue_snapshot *s);

#endif /* _MQ_QUEUE_H */
