/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A queue as the kernel describes it in replies, dumps and events.
 */
#ifndef MQCTL_QUEUE_H
#define MQCTL_QUEUE_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/mq.h>
#include <netlink/genl/genl.h>

static_assert(MQ_A_MAX < 64 && MQ_STAT_MAX < 64, "presence bits overflow");

/**
 * struct queue - one queue description
 * @name: MQ_A_QUEUE_NAME
 * @attr: the numeric MQ_A_QUEUE_* values, indexed by attribute
 * @stat: the MQ_STAT_* values, indexed by attribute
 * @has_attr: BIT_ULL(MQ_A_*) for each attribute present, @name included
 * @has_stat: BIT_ULL(MQ_STAT_*) for each statistic present
 *
 * An older kernel may leave attributes out: print only what is present.
 */
struct queue {
	char name[MQ_NAME_MAX + 1];
	uint64_t attr[MQ_A_MAX + 1];
	uint64_t stat[MQ_STAT_MAX + 1];
	uint64_t has_attr;
	uint64_t has_stat;
};

int queue_parse(struct nlmsghdr *nlh, struct queue *q);
void queue_print(const struct queue *q, const char *key, bool oneline);

#endif /* MQCTL_QUEUE_H */
