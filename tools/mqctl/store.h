/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The attached store as the kernel describes it in replies and events, and
 * the file-backed loop device "store create" makes (loop.c).
 */
#ifndef MQCTL_STORE_H
#define MQCTL_STORE_H

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/mq.h>
#include <netlink/genl/genl.h>

static_assert(MQ_SSTAT_MAX < 64, "presence bits overflow");

/**
 * struct store - one store description
 * @path: MQ_A_STORE_PATH, "" if absent
 * @stat: the MQ_SSTAT_* values, indexed by attribute; MQ_SSTAT_FLUSH_MS
 *	and MQ_SSTAT_SEGMENT_SIZE fall back to MQ_A_STORE_FLUSH_MS and
 *	MQ_A_STORE_SEGMENT_SIZE when only those are sent
 * @has_stat: BIT_ULL(MQ_SSTAT_*) for each value present
 *
 * An older kernel may leave values out: print only what is present.
 */
struct store {
	char path[PATH_MAX];
	uint64_t stat[MQ_SSTAT_MAX + 1];
	uint64_t has_stat;
};

int store_parse(struct nlmsghdr *nlh, struct store *s);
void store_print(const struct store *s, const char *key, bool oneline);

/**
 * struct loop_file - what "store create" made
 * @file: the backing file, absolute
 * @device: the loop device, "/dev/loopN"
 * @size: the file's size, bytes
 */
struct loop_file {
	char file[PATH_MAX];
	char device[sizeof("/dev/") + NAME_MAX];
	uint64_t size;
};

int loop_create(const char *file, uint64_t size, struct loop_file *lf);

#endif /* MQCTL_STORE_H */
