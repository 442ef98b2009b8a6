/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the durable binding's two files share: durable.c (the data path's
 * persistence ops, the catalog, reclaim and the cleaner's schedule) and
 * bind.c (queues joining and leaving the store: the life cycle's ops,
 * attach, detach).
 */
#ifndef _MQ_DURABLE_INT_H
#define _MQ_DURABLE_INT_H

#include <linux/list.h>
#include <linux/netlink.h>

#include "queue.h"
#include "store.h"

/*
 * The attached store, changed by mq_dur_store_set() under mq_reg_lock
 * and mq_dur_store_lock; read under either (mq_queue_store_get() takes
 * mq_dur_store_lock and a reference), or READ_ONCE() for a glance.
 */
extern struct mq_store *mq_dur_store;
/*
 * Its queues (q->store_node), under mq_reg_lock; the count is read
 * without it, for stats.
 */
extern struct list_head mq_dur_queues;
extern u32 mq_dur_nqueues;

/* durable.c */
void mq_dur_store_set(struct mq_store *s);
int mq_dur_save(struct mq_store *s, struct mq_disk_catalog *cat,
		u64 log_tail, bool final);
int __mq_queue_store_reclaim(struct mq_store *s);
void mq_dur_low_space(struct mq_store *s);
void mq_clean_space_freed(void);
void mq_clean_flush(void);

/* bind.c: the life cycle's persistence ops */
int mq_dur_check(struct mq_queue *q, const struct mq_limits *lim,
		 struct netlink_ext_ack *extack);
void *mq_dur_prepare(struct mq_queue *q);
void mq_dur_unprepare(void *prepared);
int mq_dur_bind(struct mq_queue *q, u32 durability, void *cat,
		struct netlink_ext_ack *extack);
void mq_dur_unbind(struct mq_queue *q, bool forget, void *cat);
int mq_dur_set_durability(struct mq_queue *q, u32 dur, u32 new_dur,
			  void *cat, struct netlink_ext_ack *extack);

#endif /* _MQ_DURABLE_INT_H */
