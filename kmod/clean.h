/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cleaner's mechanics (clean.c), for the durable binding.
 */
#ifndef _MQ_CLEAN_H
#define _MQ_CLEAN_H

#include <linux/list.h>

#include "queue.h"
#include "store.h"

/* What mq_clean_live() found. */
struct mq_clean_live {
	u64 total;		/* a bound of what the queues' records take */
	u64 max_rec;		/* the largest record a queue may write */
	u64 in_seg;		/* bytes of records in the segment counted */
	bool in_seg_unknown;	/* ... but a queue has more there */
};

int mq_clean_live(struct mq_store *s, struct list_head *queues, u64 k,
		  struct mq_clean_live *l);
int mq_clean_seg(struct mq_store *s, struct list_head *queues, u64 k,
		 bool killable);

#endif /* _MQ_CLEAN_H */
