/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The registry of queues: ids (device minors), names, identities, the
 * generation counter for dumps, the front-end told of every queue's life
 * (struct mq_queue_observer) and the listener told of the store's events.
 */
#ifndef _MQ_REGISTRY_H
#define _MQ_REGISTRY_H

#include <linux/mutex.h>
#include <linux/netlink.h>

#include "queue.h"

/*
 * mq_reg_lock serialises every change: creation (names are unique under
 * it), deletion, limits, and the store's attach, detach and catalog
 * writes, so it is held across the store's I/O. Lookups do not take it:
 * they walk the registry under RCU, open(2) included, and the attached
 * store has a spinlock of its own for readers. The one call a user without
 * CAP_NET_ADMIN makes that takes it is a durable write that found the log
 * full, for one catalog write (giving back what no queue needs), and it
 * waits for it killably.
 */
extern struct mutex mq_reg_lock;

/* What happened to the store, for mq_event_ops.store. */
enum mq_store_event {
	MQ_STORE_EV_ATTACHED,
	MQ_STORE_EV_DETACHED,
	MQ_STORE_EV_CHANGED,	/* its state changed: degraded by an error */
};

/* What happened to a queue, for mq_event_ops.queue. */
enum mq_queue_event {
	MQ_QUEUE_EV_NEW,
	MQ_QUEUE_EV_SET,	/* limits, access or durability changed */
	MQ_QUEUE_EV_DEL,
};

/**
 * struct mq_event_ops - where the core tells what happened, for listeners
 * @queue: a queue was created, changed or deleted; under mq_reg_lock, so
 *	listeners hear of changes in the order they were made; may sleep
 * @store: the store was attached, detached (both under mq_reg_lock) or
 *	changed state (an I/O error: from the commit); may sleep
 */
struct mq_event_ops {
	void (*queue)(struct mq_queue *q, enum mq_queue_event ev);
	void (*store)(struct mq_store *s, enum mq_store_event ev);
};

void mq_events_set(const struct mq_event_ops *ops);
void mq_event_queue(struct mq_queue *q, enum mq_queue_event ev);
void mq_event_store(struct mq_store *s, enum mq_store_event ev);

void mq_registry_init(unsigned int max_queues,
		      const struct mq_queue_observer *observer);
void mq_registry_exit(void);

struct mq_queue *__mq_queue_lookup(const char *name);
struct mq_queue *__mq_queue_next(unsigned long *id);
bool mq_queue_registered(struct mq_queue *q);
int mq_queue_register(struct mq_queue *q, struct netlink_ext_ack *extack);
void mq_queue_unregister(struct mq_queue *q);
void mq_queue_publish(struct mq_queue *q);
void mq_queue_unpublish(struct mq_queue *q);
void mq_reg_changed(void);

void *mq_queue_observer_prepare(struct mq_queue *q);
int mq_queue_observer_changed(struct mq_queue *q, void *prepared);

u64 mq_registry_new_ident(void);
void mq_registry_ident_seen(u64 ident);
bool mq_registry_ident_used(u64 ident);

#endif /* _MQ_REGISTRY_H */
