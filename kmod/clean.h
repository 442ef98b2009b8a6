/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cleaner's mechanics (clean.c), for the durable binding.
 */
#ifndef _MQ_CLEAN_H
#define _MQ_CLEAN_H

#include <linux/list.h>

#include "queue.h"
#include "store.h"

s64 mq_clean_live(struct mq_store *s, struct list_head *queues, u64 k);
int mq_clean_seg(struct mq_store *s, struct list_head *queues, u64 k,
		 bool killable);

#endif /* _MQ_CLEAN_H */
