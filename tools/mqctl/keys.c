// SPDX-License-Identifier: GPL-2.0
/*
 * KEY VALUE pairs on the command line (see keys.h). Values are checked for
 * their form and for what the wire type carries; ranges are the kernel's
 * to judge, and its extended ACK names the key (mq_attr_word()).
 */
#include <errno.h>
#include <string.h>

#include "keys.h"
#include "mqctl.h"
#include "nl.h"

static const struct key keys[] = {
	{ "max-msg",		MQ_A_QUEUE_MAX_MSG,	KEY_SIZE },
	{ "capacity-msgs",	MQ_A_QUEUE_CAP_MSGS,	KEY_COUNT },
	{ "capacity-bytes",	MQ_A_QUEUE_CAP_BYTES,	KEY_SIZE },
	{ "mode",		MQ_A_QUEUE_MODE,	KEY_MODE },
	{ "owner",		MQ_A_QUEUE_UID,		KEY_USER },
	{ "group",		MQ_A_QUEUE_GID,		KEY_GROUP },
	{ "durability",		MQ_A_QUEUE_DURABILITY,	KEY_DURABILITY },
	{ "segment-size",	MQ_A_STORE_SEGMENT_SIZE, KEY_SIZE },
	{ "flush-interval",	MQ_A_STORE_FLUSH_MS,	KEY_MSECS },
	{ "size",		KEY_FILE_SIZE,		KEY_SIZE },
	{ "--size",		KEY_FILE_SIZE,		KEY_SIZE },
	{ "force",		KEY_FORCE,		KEY_FLAG },
};

static const char *const key_expect[] = {
	[KEY_SIZE]	= "a size such as 4096, 64K or 4M",
	[KEY_COUNT]	= "a count such as 4096 or 4K",
	[KEY_MODE]	= "octal permission bits, 0 to 0777",
	[KEY_USER]	= "a user name or uid",
	[KEY_GROUP]	= "a group name or gid",
	[KEY_MSECS]	= "a number of milliseconds such as 100",
	[KEY_DURABILITY] = "memory, async or sync",
};

/* The largest number a key takes. */
static uint64_t key_max(const struct key *k)
{
	switch (k->kind) {
	case KEY_MODE:
		return 0777;
	case KEY_USER:
	case KEY_GROUP:
		return UINT32_MAX - 1;	/* (uid_t)-1 means "no change" */
	default:
		if (k->attr > MQ_A_MAX)
			return INT64_MAX;	/* a file size: off_t */
		return mq_policy[k->attr].type == NLA_U64 ? UINT64_MAX :
							     UINT32_MAX;
	}
}

static int key_error(const struct key *k, const char *s, int err)
{
	switch (err) {
	case -EDOM:
		return usage_error("invalid %s \"%s\": must not be negative",
				   k->word, s);
	case -ENOENT:
		return usage_error("invalid %s \"%s\": no such %s", k->word, s,
				   k->kind == KEY_GROUP ? "group" : "user");
	case -ERANGE:
		if (k->kind != KEY_MODE)
			return usage_error("invalid %s \"%s\": too large (at most %llu)",
					   k->word, s,
					   (unsigned long long)key_max(k));
		break;
	}
	return usage_error("invalid %s \"%s\": expected %s", k->word, s,
			   key_expect[k->kind]);
}

/**
 * key_value() - read a key's value, reporting a bad one
 * @k: the key
 * @s: the value's text
 * @v: the value
 *
 * Return: MQCTL_EXIT_OK, or MQCTL_EXIT_USAGE with the error printed.
 */
int key_value(const struct key *k, const char *s, uint64_t *v)
{
	int err;

	switch (k->kind) {
	case KEY_SIZE:
	case KEY_COUNT:
		err = parse_size(s, key_max(k), v);
		break;
	case KEY_MSECS:
		err = parse_uint(s, key_max(k), v);
		break;
	case KEY_MODE:
		err = parse_mode(s, v);
		break;
	case KEY_DURABILITY:
		err = parse_durability(s, v);
		break;
	default:
		err = parse_id(s, k->kind == KEY_GROUP, v);
		break;
	}
	return err ? key_error(k, s, err) : MQCTL_EXIT_OK;
}

static const struct key *key_find(uint64_t allowed, const char *word)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if ((allowed & BIT_ULL(keys[i].attr)) &&
		    !strcmp(word, keys[i].word))
			return &keys[i];
	return NULL;
}

/**
 * keys_parse() - read [ KEY VALUE | FLAG ]... into @kv
 * @allowed: BIT_ULL() of the MQ_A_* and KEY_* the command takes
 * @kv: the values; zeroed by the caller
 * @argc: number of words
 * @argv: the words
 *
 * Return: MQCTL_EXIT_OK, or MQCTL_EXIT_USAGE with the error printed.
 */
int keys_parse(uint64_t allowed, struct key_values *kv, int argc, char **argv)
{
	const struct key *k;
	int i, ret;

	for (i = 0; i < argc; i++) {
		k = key_find(allowed, argv[i]);
		if (!k)
			return usage_error("unknown key \"%s\"", argv[i]);
		if (kv->set & BIT_ULL(k->attr))
			return usage_error("%s given twice", k->word);
		kv->set |= BIT_ULL(k->attr);
		if (k->kind == KEY_FLAG)
			continue;
		if (++i == argc)
			return usage_error("%s needs a value", k->word);
		ret = key_value(k, argv[i], &kv->val[k->attr]);
		if (ret)
			return ret;
	}
	return MQCTL_EXIT_OK;
}

/**
 * keys_put() - add the attributes @kv sets to a request
 * @msg: the request, with keys_room() bytes to spare
 * @kv: the values
 *
 * Return: 0, or a negative libnl error.
 */
int keys_put(struct nl_msg *msg, const struct key_values *kv)
{
	int attr, err = 0;

	for (attr = 0; attr <= MQ_A_MAX && !err; attr++) {
		if (!(kv->set & BIT_ULL(attr)))
			continue;
		if (mq_policy[attr].type == NLA_U64)
			err = nla_put_u64(msg, attr, kv->val[attr]);
		else
			err = nla_put_u32(msg, attr, kv->val[attr]);
	}
	return err;
}

/**
 * keys_room() - the bytes keys_put() may need in a request
 */
size_t keys_room(void)
{
	return ARRAY_SIZE(keys) * nla_total_size(sizeof(uint64_t));
}

/**
 * mq_attr_word() - the command line's word for an MQ_A_* attribute
 * @attr: the attribute an extended ACK blames
 *
 * NULL for the queue name and the store's path: the kernel's messages
 * about them ("no such queue", "not a block device") need no prefix.
 *
 * Return: the key word, or NULL.
 */
const char *mq_attr_word(int attr)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (keys[i].attr == attr && attr <= MQ_A_MAX)
			return keys[i].word;
	return NULL;
}
