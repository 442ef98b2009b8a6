// SPDX-License-Identifier: GPL-2.0
/*
 * mqctl store { create | format | attach | detach | show }
 *
 * format, attach and detach are one request each; show and monitor share
 * one parser and one printer of the kernel's description. create makes a
 * file-backed loop device (loop.c) and needs no module.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/mq_store.h>

#include "keys.h"
#include "mqctl.h"
#include "nl.h"
#include "print.h"
#include "store.h"

/* format refuses to overwrite a device whose first bytes are not all zero. */
#define BLANK_CHECK_BYTES	(1U << 20)

/* The smallest store: superblocks, catalogs and the fewest, smallest segments. */
#define STORE_MIN_BYTES	((uint64_t)MQ_SEGS_OFFSET + \
			 (uint64_t)MQ_STORE_MIN_SEGMENTS * MQ_SEG_MIN)

static const struct nla_policy store_policy[MQ_SSTAT_MAX + 1] = {
	[MQ_SSTAT_DEVT]			= MQ_NLA_U32,
	[MQ_SSTAT_SIZE]			= MQ_NLA_U64,
	[MQ_SSTAT_SEGMENT_SIZE]		= MQ_NLA_U32,
	[MQ_SSTAT_SEGMENTS]		= MQ_NLA_U32,
	[MQ_SSTAT_SEGMENTS_USED]	= MQ_NLA_U32,
	[MQ_SSTAT_BYTES_USED]		= MQ_NLA_U64,
	[MQ_SSTAT_BYTES_FREE]		= MQ_NLA_U64,
	[MQ_SSTAT_STATE]		= MQ_NLA_U32,
	[MQ_SSTAT_FLUSH_MS]		= MQ_NLA_U32,
	[MQ_SSTAT_FLUSHES]		= MQ_NLA_U64,
	[MQ_SSTAT_FLUSH_NS_AVG]		= MQ_NLA_U64,
	[MQ_SSTAT_FLUSH_NS_MAX]		= MQ_NLA_U64,
	[MQ_SSTAT_BYTES_WRITTEN]	= MQ_NLA_U64,
	[MQ_SSTAT_RECORDS]		= MQ_NLA_U64,
	[MQ_SSTAT_IO_ERRORS]		= MQ_NLA_U64,
	[MQ_SSTAT_QUEUES]		= MQ_NLA_U32,
	[MQ_SSTAT_GENERATION]		= MQ_NLA_U64,
	[MQ_SSTAT_RECOVERED_MSGS]	= MQ_NLA_U64,
	[MQ_SSTAT_CORRUPT_BYTES]	= MQ_NLA_U64,
	[MQ_SSTAT_CLEAN]		= MQ_NLA_U32,
	[MQ_SSTAT_MOVED_RECORDS]	= MQ_NLA_U64,
	[MQ_SSTAT_MOVED_BYTES]		= MQ_NLA_U64,
};

/*
 * What the errors of uapi/linux/mq.h mean for store requests, when the
 * kernel's extended ACK does not say.
 */
static const struct mq_errtext store_errors[] = {
	MQ_ERRTEXT(EPERM,	"permission denied: this needs CAP_SYS_ADMIN"),
	MQ_ERRTEXT(EACCES,	"permission denied: this needs CAP_SYS_ADMIN"),
	MQ_ERRTEXT(ENODEV,	"no store attached"),
	MQ_ERRTEXT(ENOTBLK,	"not a block device (for a file, see \"mqctl store create\")"),
	MQ_ERRTEXT(EMEDIUMTYPE,	"not an mq store (\"mqctl store format\" makes one)"),
	MQ_ERRTEXT(EPROTONOSUPPORT, "the store has a newer format version than the mq module"),
	MQ_ERRTEXT(EUCLEAN,	"the store is damaged beyond recovery"),
	MQ_ERRTEXT(ENOSPC,	"the device is too small for a store"),
	MQ_ERRTEXT(EIO,		"I/O error on the store's device"),
	{}
};

/* EBUSY differs by request. */
static const struct mq_errtext format_errors[] = {
	MQ_ERRTEXT(EBUSY, "the device is in use, or a store is attached (\"mqctl store detach\" first)"),
	{ .more = store_errors }
};

static const struct mq_errtext attach_errors[] = {
	MQ_ERRTEXT(EBUSY, "the device is in use, or a store is already attached"),
	{ .more = store_errors }
};

static const struct mq_errtext detach_errors[] = {
	MQ_ERRTEXT(EBUSY, "a durable queue is open; close it first"),
	{ .more = store_errors }
};

/* ---- format, attach, detach: requests ---- */

/* DEV as the kernel gets it: absolute, links resolved. */
static int store_path(const char *dev, char *path)
{
	if (!realpath(dev, path))
		return fail_errno("cannot use", dev);
	return MQCTL_EXIT_OK;
}

/* Reads up to @len bytes from the start of @fd; returns how many, or -1. */
static ssize_t read_head(int fd, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, buf + got, len - got, got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (!n)
			break;
		got += n;
	}
	return got;
}

static bool holds_store(const char *buf, size_t len)
{
	size_t off;

	for (off = 0; off <= MQ_STORE_BLOCK; off += MQ_STORE_BLOCK)
		if (off + sizeof(MQ_SUPER_MAGIC) <= len &&
		    !memcmp(buf + off, MQ_SUPER_MAGIC, sizeof(MQ_SUPER_MAGIC)))
			return true;
	return false;
}

/*
 * format destroys what the device holds: without "force" it takes only a
 * device whose first BLANK_CHECK_BYTES are zeros (new, or wiped), where
 * every file system and partition table keeps its signature.
 */
static int check_blank(const char *path)
{
	char *buf = malloc(BLANK_CHECK_BYTES);
	ssize_t n, i;
	int fd, ret = MQCTL_EXIT_OK;

	if (!buf)
		return fail(MQCTL_EXIT_KERNEL, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read_head(fd, buf, BLANK_CHECK_BYTES);
	if (n < 0)
		ret = fail_errno("cannot read", path);
	else if (holds_store(buf, n))
		ret = fail(MQCTL_EXIT_USAGE,
			   "%s holds an mq store: formatting it destroys its queues and messages; add \"force\" to format it anyway",
			   path);
	for (i = 0; !ret && i < n; i++)
		if (buf[i])
			ret = fail(MQCTL_EXIT_USAGE,
				   "%s is not blank (its first 1M holds data): add \"force\" to format it anyway",
				   path);
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

static int store_request(uint8_t cmd, const char *path,
			 const struct key_values *kv,
			 const struct mq_errtext *texts)
{
	size_t room = nla_total_size(strlen(path) + 1) + keys_room();
	struct nl_msg *msg = mq_msg_new(cmd, 0, room);

	if (!msg || nla_put_string(msg, MQ_A_STORE_PATH, path) < 0 ||
	    keys_put(msg, kv) < 0) {
		nlmsg_free(msg);
		return fail(MQCTL_EXIT_KERNEL, "out of memory");
	}
	return mq_request(msg, NULL, NULL, texts);
}

/* DEV [ KEY VALUE ]...: its path and keys, and a socket to send them on. */
static int dev_and_keys(uint64_t allowed, char *path, struct key_values *kv,
			int argc, char **argv)
{
	int ret;

	if (argc < 1)
		return usage_error("missing DEV");
	ret = keys_parse(allowed, kv, argc - 1, argv + 1);
	if (!ret)
		ret = store_path(argv[0], path);
	if (!ret)
		ret = mq_nl_open();
	return ret;
}

static int store_format(int argc, char **argv)
{
	struct key_values kv = {};
	char path[PATH_MAX];
	int ret;

	ret = dev_and_keys(BIT_ULL(MQ_A_STORE_SEGMENT_SIZE) | BIT_ULL(KEY_FORCE),
			   path, &kv, argc, argv);
	if (!ret && !(kv.set & BIT_ULL(KEY_FORCE)))
		ret = check_blank(path);
	if (ret)
		return ret;
	return store_request(MQ_CMD_STORE_FORMAT, path, &kv, format_errors);
}

static int store_attach(int argc, char **argv)
{
	struct key_values kv = {};
	char path[PATH_MAX];
	int ret;

	ret = dev_and_keys(BIT_ULL(MQ_A_STORE_FLUSH_MS), path, &kv, argc, argv);
	if (ret)
		return ret;
	return store_request(MQ_CMD_STORE_ATTACH, path, &kv, attach_errors);
}

/* A request with no attributes, after checking there are no arguments. */
static int bare_request(uint8_t cmd, int argc, char **argv, mq_reply_fn fn,
			void *arg, const struct mq_errtext *texts)
{
	struct nl_msg *msg;
	int ret;

	ret = no_arguments(argc, argv) ?: mq_nl_open();
	if (ret)
		return ret;
	msg = mq_msg_new(cmd, 0, 0);
	if (!msg)
		return fail(MQCTL_EXIT_KERNEL, "out of memory");
	return mq_request(msg, fn, arg, texts);
}

static int store_detach(int argc, char **argv)
{
	return bare_request(MQ_CMD_STORE_DETACH, argc, argv, NULL, NULL,
			    detach_errors);
}

static int show_reply(struct nlmsghdr *nlh, void *arg)
{
	return store_parse(nlh, arg);
}

static int store_show(int argc, char **argv)
{
	struct store s = {};
	int ret;

	ret = bare_request(MQ_CMD_STORE_GET, argc, argv, show_reply, &s,
			   store_errors);
	if (!ret && (s.path[0] || s.has_stat))
		store_print(&s, NULL, false);
	return ret;
}

/* ---- create: a file-backed loop device ---- */

static int store_create(int argc, char **argv)
{
	struct key_values kv = {};
	char have[32], need[32];
	struct loop_file lf;
	uint64_t size;
	int ret;

	if (argc < 1)
		return usage_error("missing FILE");
	ret = keys_parse(BIT_ULL(KEY_FILE_SIZE), &kv, argc - 1, argv + 1);
	if (ret)
		return ret;
	if (!(kv.set & BIT_ULL(KEY_FILE_SIZE)))
		return usage_error("missing size SIZE");
	size = kv.val[KEY_FILE_SIZE];
	if (size % MQ_STORE_BLOCK)
		return usage_error("invalid size: %llu bytes is not a multiple of 4K, the store's block",
				   (unsigned long long)size);
	if (size < STORE_MIN_BYTES)
		return usage_error("invalid size %s: a store needs at least %llu bytes (%s)",
				   format_size(have, sizeof(have), size),
				   (unsigned long long)STORE_MIN_BYTES,
				   format_size(need, sizeof(need), STORE_MIN_BYTES));
	ret = loop_create(argv[0], size, &lf);
	if (ret)
		return ret;
	open_json_object(NULL);
	print_string(PRINT_JSON, "file", NULL, lf.file);
	print_string(PRINT_ANY, "device", "%s\n", lf.device);
	print_uint(PRINT_JSON, "size", NULL, lf.size);
	close_json_object();
	return MQCTL_EXIT_OK;
}

/* ---- the kernel's description of the store ---- */

/* A value sent only at top level (MQ_A_STORE_*) stands in for its MQ_SSTAT_*. */
static void fallback(struct store *s, struct nlattr **tb, int attr, int stat)
{
	if (tb[attr] && !(s->has_stat & BIT_ULL(stat))) {
		s->stat[stat] = nla_get_u32(tb[attr]);
		s->has_stat |= BIT_ULL(stat);
	}
}

/**
 * store_parse() - validate and read a store description
 * @nlh: a reply or event message
 * @s: where to put it
 *
 * Attributes this mqctl does not know (from a newer kernel) are ignored;
 * known ones of the wrong size make the message malformed.
 *
 * Return: 0, or a negative libnl error.
 */
int store_parse(struct nlmsghdr *nlh, struct store *s)
{
	struct nlattr *tb[MQ_A_MAX + 1], *sb[MQ_SSTAT_MAX + 1];
	int err;

	memset(s, 0, sizeof(*s));
	err = mq_parse(nlh, tb, MQ_A_STORE_INFO, sb, MQ_SSTAT_MAX, store_policy);
	if (err)
		return err;
	mq_get_numbers(sb, store_policy, MQ_SSTAT_MAX, s->stat, &s->has_stat);
	fallback(s, tb, MQ_A_STORE_SEGMENT_SIZE, MQ_SSTAT_SEGMENT_SIZE);
	fallback(s, tb, MQ_A_STORE_FLUSH_MS, MQ_SSTAT_FLUSH_MS);
	if (tb[MQ_A_STORE_PATH])
		snprintf(s->path, sizeof(s->path), "%s",
			 nla_get_string(tb[MQ_A_STORE_PATH]));
	return 0;
}

static const char *const state_names[] = {
	[MQ_STORE_OK]		= "ok",
	[MQ_STORE_DEGRADED]	= "degraded",
};

static const struct print_field config_fields[] = {
	FIELD_SIZE(MQ_SSTAT_SIZE,		"size",		" size %s"),
	FIELD_SIZE(MQ_SSTAT_SEGMENT_SIZE,	"segment_size",	" segment-size %s"),
	FIELD_NUM(MQ_SSTAT_FLUSH_MS,		"flush_ms",	" flush-interval %llums"),
};

static const struct print_field space_fields[] = {
	FIELD_NUM(MQ_SSTAT_SEGMENTS,		"segments",	" segments %llu"),
	FIELD_NUM(MQ_SSTAT_SEGMENTS_USED,	"segments_used", " used %llu"),
	FIELD_SIZE(MQ_SSTAT_BYTES_USED,		"bytes_used",	" live %s"),
	FIELD_SIZE(MQ_SSTAT_BYTES_FREE,		"bytes_free",	" free %s"),
	FIELD_NUM(MQ_SSTAT_QUEUES,		"queues",	" queues %llu"),
};

static const struct print_field io_fields[] = {
	FIELD_NUM(MQ_SSTAT_FLUSHES,		"flushes",	" flushes %llu"),
	FIELD_NS(MQ_SSTAT_FLUSH_NS_AVG,		"flush_ns_avg",	" latency avg %s"),
	FIELD_NS(MQ_SSTAT_FLUSH_NS_MAX,		"flush_ns_max",	" max %s"),
	FIELD_SIZE(MQ_SSTAT_BYTES_WRITTEN,	"bytes_written", " written %s"),
	FIELD_NUM(MQ_SSTAT_RECORDS,		"records",	" records %llu"),
	FIELD_NUM(MQ_SSTAT_IO_ERRORS,		"io_errors",	" io-errors %llu"),
	FIELD_NUM(MQ_SSTAT_MOVED_RECORDS,	"moved_records", " moved %llu msgs"),
	FIELD_SIZE(MQ_SSTAT_MOVED_BYTES,	"moved_bytes",	" moved-bytes %s"),
};

static const struct print_field attach_fields[] = {
	FIELD_NUM(MQ_SSTAT_GENERATION,		"generation",	" generation %llu"),
	FIELD_BOOL(MQ_SSTAT_CLEAN,		"clean",	" clean-detach %s"),
	FIELD_NUM(MQ_SSTAT_RECOVERED_MSGS,	"recovered_msgs", " recovered %llu msgs"),
	FIELD_SIZE(MQ_SSTAT_CORRUPT_BYTES,	"corrupt_bytes", " corrupt %s bytes"),
};

/**
 * store_print() - print a store description, text or JSON
 * @s: the store
 * @key: its JSON key; NULL at top level
 * @oneline: text on one line (events), not a block of four
 */
void store_print(const struct store *s, const char *key, bool oneline)
{
	uint64_t state = s->stat[MQ_SSTAT_STATE];

	open_json_object(key);
	if (s->path[0])
		print_string(PRINT_ANY, "path", oneline ? "%s" : "%s:", s->path);
	if (s->has_stat & BIT_ULL(MQ_SSTAT_DEVT))
		print_devt("devt", s->stat[MQ_SSTAT_DEVT]);
	if (s->has_stat & BIT_ULL(MQ_SSTAT_STATE))
		print_enum("state", " state %s",
			   state < ARRAY_SIZE(state_names) ? state_names[state] : NULL,
			   state);
	print_fields("", config_fields, ARRAY_SIZE(config_fields),
		     s->stat, s->has_stat, true);
	print_fields("", space_fields, ARRAY_SIZE(space_fields),
		     s->stat, s->has_stat, oneline);
	print_fields("", io_fields, ARRAY_SIZE(io_fields),
		     s->stat, s->has_stat, oneline);
	print_fields("", attach_fields, ARRAY_SIZE(attach_fields),
		     s->stat, s->has_stat, oneline);
	print_text("\n");
	close_json_object();
}

static const struct cmd store_cmds[] = {
	{ "create",	store_create,	"store create FILE { size | --size } SIZE", true },
	{ "format",	store_format,	"store format DEV [ segment-size SIZE ] [ force ]", true },
	{ "attach",	store_attach,	"store attach DEV [ flush-interval MS ]", true },
	{ "detach",	store_detach,	"store detach", false },
	{ "show",	store_show,	"store show", false },
	{}
};

static const struct cmd_table store_table = {
	.object = "store",
	.cmds = store_cmds,
	.dflt = "show",
	.where =
	"where  FILE := a regular file, made (or taken as it is) to back a loop device\n"
	"       DEV := a block device, such as the /dev/loopN that create prints\n"
	"       SIZE := NUMBER[K|M|G|T]   (binary: 1K = 1024)\n"
	"       MS := milliseconds, 1 to 10000\n"
	"create prints the loop device; it does not format. format overwrites DEV:\n"
	"without \"force\" only a DEV whose first 1M is zeros. segment-size: a power\n"
	"of 2, 1M to 64M (default 4M). create needs no mq module.\n",
};

/**
 * store_main() - mqctl store ...
 * @argc: number of words after "store"
 * @argv: the words after "store"
 *
 * Return: an MQCTL_EXIT_* code.
 */
int store_main(int argc, char **argv)
{
	return cmd_dispatch(&store_table, argc, argv);
}
