/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cleaner's mechanics (clean.c), for the durable binding.
 */
#ifndef _MQ_CLEAN_H
#define _MQ_CLEAN_H

#include <linux/list.h>

#include "queue.h"
#include "store.h"

/* What mq_clean_live() finds in a segment. */
struct mq_clean_est {
	s64 live;		/* bytes of the records still needed */
	bool bounded;		/* @live is a bound, not a count */
};

int mq_clean_live(struct mq_store *s, struct list_head *queues, u64 k,
		  struct mq_clean_est *est);
int mq_clean_seg(struct mq_store *s, struct list_head *queues, u64 k,
		 bool killable);

#endif /* _MQ_CLEAN_H */
