/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The durable binding: queues in the store. It implements the core's
 * struct mq_persist_ops on top of the store (store.h), and attaches,
 * detaches and restores the store for the control plane.
 */
#ifndef _MQ_DURABLE_H
#define _MQ_DURABLE_H

#include <linux/netlink.h>

#include "queue.h"
#include "store.h"

extern const struct mq_persist_ops mq_durable_ops;

int mq_queue_store_format(const char *path, u32 seg_size,
			  struct netlink_ext_ack *extack);
int mq_queue_store_attach(const char *path, u32 flush_ms,
			  struct netlink_ext_ack *extack);
int mq_queue_store_detach(bool force, struct netlink_ext_ack *extack);
struct mq_store *mq_queue_store_get(void);
void mq_queue_store_put(struct mq_store *s);
void mq_queue_store_stats(struct mq_store *s, struct mq_store_stats *st);

#endif /* _MQ_DURABLE_H */
