/* SPDX-License-Identifier: GPL-2.0 */
/*
 * KEY VALUE pairs on the command line ("max-msg 64K", "flush-interval 100"):
 * one table of every key of every command, each naming the MQ_A_*
 * attribute it sets, so the words, their values and their error messages
 * are the same wherever a key is taken.
 */
#ifndef MQCTL_KEYS_H
#define MQCTL_KEYS_H

#include <assert.h>
#include <stdint.h>
#include <linux/mq.h>
#include <netlink/genl/genl.h>

#include "mqctl.h"

enum key_kind {
	KEY_SIZE,		/* NUMBER[K|M|G|T] */
	KEY_COUNT,		/* the same, read as a count */
	KEY_MODE,		/* octal permission bits */
	KEY_USER,		/* a user name or uid */
	KEY_GROUP,		/* a group name or gid */
	KEY_MSECS,		/* a plain number of milliseconds */
	KEY_DURABILITY,		/* memory, async or sync */
	KEY_FLAG,		/* no value: the word alone */
};

/*
 * Keys that set no attribute, numbered after the attributes: they stay in
 * mqctl (a file's size, the consent to overwrite a device).
 */
enum {
	KEY_FILE_SIZE = MQ_A_MAX + 1,
	KEY_FORCE,

	__KEY_MAX
};

static_assert(__KEY_MAX <= 64, "key bits overflow");

/**
 * struct key - one KEY word
 * @word: the word on the command line
 * @attr: the MQ_A_* attribute it sets (its wire type bounds the value),
 *	or a KEY_* above MQ_A_MAX
 * @kind: how its value is written
 */
struct key {
	const char *word;
	int attr;
	enum key_kind kind;
};

/**
 * struct key_values - the keys a command line gave
 * @val: their values, indexed by MQ_A_* or KEY_*
 * @set: BIT_ULL() of the MQ_A_* or KEY_* of each key given
 */
struct key_values {
	uint64_t val[__KEY_MAX];
	uint64_t set;
};

int key_value(const struct key *k, const char *s, uint64_t *v);
int keys_parse(uint64_t allowed, struct key_values *kv, int argc, char **argv);
int keys_put(struct nl_msg *msg, const struct key_values *kv);
size_t keys_room(void);

#endif /* MQCTL_KEYS_H */
