// SPDX-License-Identifier: GPL-2.0
/*
 * mqctl queue { add | set | del | show | list }
 *
 * add and set share one request builder (their keys: keys.c); show, list
 * and monitor share one parser and one printer of the kernel's description.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "mqctl.h"
#include "nl.h"
#include "print.h"
#include "queue.h"

static const struct nla_policy stats_policy[MQ_STAT_MAX + 1] = {
	[MQ_STAT_MSGS_IN]		= MQ_NLA_U64,
	[MQ_STAT_BYTES_IN]		= MQ_NLA_U64,
	[MQ_STAT_MSGS_OUT]		= MQ_NLA_U64,
	[MQ_STAT_BYTES_OUT]		= MQ_NLA_U64,
	[MQ_STAT_DEPTH_MSGS]		= MQ_NLA_U64,
	[MQ_STAT_DEPTH_BYTES]		= MQ_NLA_U64,
	[MQ_STAT_PEAK_MSGS]		= MQ_NLA_U64,
	[MQ_STAT_HEAD_OFFSET]		= MQ_NLA_U64,
	[MQ_STAT_TAIL_OFFSET]		= MQ_NLA_U64,
	[MQ_STAT_BLOCKED_READERS]	= MQ_NLA_U32,
	[MQ_STAT_BLOCKED_WRITERS]	= MQ_NLA_U32,
	[MQ_STAT_OPEN_FDS]		= MQ_NLA_U32,
};

/* What add and set take besides NAME. */
#define QUEUE_KEYS	(BIT_ULL(MQ_A_QUEUE_MAX_MSG) | BIT_ULL(MQ_A_QUEUE_CAP_MSGS) | \
			 BIT_ULL(MQ_A_QUEUE_CAP_BYTES) | BIT_ULL(MQ_A_QUEUE_MODE) | \
			 BIT_ULL(MQ_A_QUEUE_UID) | BIT_ULL(MQ_A_QUEUE_GID) | \
			 BIT_ULL(MQ_A_QUEUE_DURABILITY))

/* What errors mean when the kernel does not say. */
static const struct mq_errtext queue_errors[] = {
	MQ_ERRTEXT(ENODEV,	"no store attached: durable queues need one (mqctl store attach)"),
	MQ_ERRTEXT(ENOSPC,	"no room: too many queues, or the store is full"),
	MQ_ERRTEXT(EIO,		"the store is degraded by an I/O error (mqctl store show)"),
	{}
};

/* ---- add, set: keys on the command line ---- */

/* A request naming one queue, with room for every key. */
static struct nl_msg *queue_msg(uint8_t cmd, const char *name)
{
	size_t room = nla_total_size(strlen(name) + 1) + keys_room();
	struct nl_msg *msg = mq_msg_new(cmd, 0, room);

	if (msg && nla_put_string(msg, MQ_A_QUEUE_NAME, name) < 0) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

/* add and set: NAME [ KEY VALUE ]..., the same request, another command. */
static int queue_change(uint8_t cmd, bool need_key, int argc, char **argv)
{
	struct key_values kv = {};
	struct nl_msg *msg;
	int ret;

	if (argc < 1)
		return usage_error("missing queue NAME");
	ret = keys_parse(QUEUE_KEYS, &kv, argc - 1, argv + 1);
	if (ret)
		return ret;
	if (need_key && !kv.set)
		return usage_error("nothing to set: give at least one key");
	ret = mq_nl_open();
	if (ret)
		return ret;
	msg = queue_msg(cmd, argv[0]);
	if (!msg || keys_put(msg, &kv) < 0) {
		nlmsg_free(msg);
		return fail(MQCTL_EXIT_KERNEL, "out of memory");
	}
	return mq_request(msg, NULL, NULL, queue_errors);
}

static int queue_add(int argc, char **argv)
{
	return queue_change(MQ_CMD_QUEUE_NEW, false, argc, argv);
}

static int queue_set(int argc, char **argv)
{
	return queue_change(MQ_CMD_QUEUE_SET, true, argc, argv);
}

/* ---- del, show, list ---- */

static int one_name(int argc, char **argv)
{
	if (argc < 1)
		return usage_error("missing queue NAME");
	if (argc > 1)
		return usage_error("unexpected argument \"%s\"", argv[1]);
	return mq_nl_open();
}

static int queue_del(int argc, char **argv)
{
	struct nl_msg *msg;
	int ret;

	ret = one_name(argc, argv);
	if (ret)
		return ret;
	msg = queue_msg(MQ_CMD_QUEUE_DEL, argv[0]);
	if (!msg)
		return fail(MQCTL_EXIT_KERNEL, "out of memory");
	return mq_request(msg, NULL, NULL, queue_errors);
}

static int show_reply(struct nlmsghdr *nlh, void *arg)
{
	return queue_parse(nlh, arg);
}

static int queue_show(int argc, char **argv)
{
	struct queue q = {};
	struct nl_msg *msg;
	int ret;

	ret = one_name(argc, argv);
	if (ret)
		return ret;
	msg = queue_msg(MQ_CMD_QUEUE_GET, argv[0]);
	if (!msg)
		return fail(MQCTL_EXIT_KERNEL, "out of memory");
	ret = mq_request(msg, show_reply, &q, NULL);
	if (!ret && q.has_attr)
		queue_print(&q, NULL, false);
	return ret;
}

struct queue_list {
	struct queue *v;
	size_t n, cap;
};

static int list_reply(struct nlmsghdr *nlh, void *arg)
{
	struct queue_list *l = arg;
	struct queue *v;
	int err;

	if (l->n == l->cap) {
		v = realloc(l->v, (l->cap + 16) * sizeof(*v));
		if (!v)
			return -NLE_NOMEM;
		l->v = v;
		l->cap += 16;
	}
	err = queue_parse(nlh, &l->v[l->n]);
	if (!err)
		l->n++;
	return err;
}

static void list_restart(void *arg)
{
	struct queue_list *l = arg;

	l->n = 0;
}

static int queue_list(int argc, char **argv)
{
	struct queue_list l = {};
	size_t i;
	int ret;

	ret = no_arguments(argc, argv) ?: mq_nl_open();
	if (ret)
		return ret;
	/* Collected first: a restarted dump must not print twice. */
	ret = mq_dump(MQ_CMD_QUEUE_GET, list_reply, list_restart, &l);
	if (!ret) {
		open_json_array(NULL);
		for (i = 0; i < l.n; i++)
			queue_print(&l.v[i], NULL, false);
		close_json_array();
	}
	free(l.v);
	return ret;
}

/* ---- the kernel's description of a queue ---- */

/**
 * queue_parse() - validate and read a queue description
 * @nlh: a reply, dump or event message
 * @q: where to put it
 *
 * Attributes this mqctl does not know (from a newer kernel) are ignored;
 * known ones of the wrong size make the message malformed.
 *
 * Return: 0, or a negative libnl error.
 */
int queue_parse(struct nlmsghdr *nlh, struct queue *q)
{
	struct nlattr *tb[MQ_A_MAX + 1], *sb[MQ_STAT_MAX + 1];
	int err;

	memset(q, 0, sizeof(*q));
	err = mq_parse(nlh, tb, MQ_A_QUEUE_STATS, sb, MQ_STAT_MAX, stats_policy);
	if (err)
		return err;
	mq_get_numbers(tb, mq_policy, MQ_A_MAX, q->attr, &q->has_attr);
	mq_get_numbers(sb, stats_policy, MQ_STAT_MAX, q->stat, &q->has_stat);
	if (tb[MQ_A_QUEUE_NAME]) {
		snprintf(q->name, sizeof(q->name), "%s",
			 nla_get_string(tb[MQ_A_QUEUE_NAME]));
		q->has_attr |= BIT_ULL(MQ_A_QUEUE_NAME);
	}
	return 0;
}

static const struct print_field limit_fields[] = {
	FIELD_SIZE(MQ_A_QUEUE_MAX_MSG,	"max_msg",		" max-msg %s"),
	FIELD_NUM(MQ_A_QUEUE_CAP_MSGS,	"capacity_msgs",	" capacity-msgs %llu"),
	FIELD_SIZE(MQ_A_QUEUE_CAP_BYTES,	"capacity_bytes",	" capacity-bytes %s"),
};

static const struct print_field depth_fields[] = {
	FIELD_NUM(MQ_STAT_DEPTH_MSGS,	"depth_msgs",	" depth %llu msgs"),
	FIELD_SIZE(MQ_STAT_DEPTH_BYTES,	"depth_bytes",	" %s bytes"),
	FIELD_NUM(MQ_STAT_PEAK_MSGS,	"peak_msgs",	" peak %llu"),
	FIELD_NUM(MQ_STAT_HEAD_OFFSET,	"head_offset",	" offsets %llu"),
	FIELD_NUM(MQ_STAT_TAIL_OFFSET,	"tail_offset",	"..%llu"),
};

static const struct print_field traffic_fields[] = {
	FIELD_NUM(MQ_STAT_MSGS_IN,		"msgs_in",		" in %llu msgs"),
	FIELD_SIZE(MQ_STAT_BYTES_IN,		"bytes_in",		" %s bytes"),
	FIELD_NUM(MQ_STAT_MSGS_OUT,		"msgs_out",		" out %llu msgs"),
	FIELD_SIZE(MQ_STAT_BYTES_OUT,		"bytes_out",		" %s bytes"),
	FIELD_NUM(MQ_STAT_BLOCKED_READERS,	"blocked_readers",	" blocked readers %llu"),
	FIELD_NUM(MQ_STAT_BLOCKED_WRITERS,	"blocked_writers",	" writers %llu"),
	FIELD_NUM(MQ_STAT_OPEN_FDS,		"open_fds",		" open %llu"),
};

static const struct id_field {
	int attr;
	const char *id_key;	/* JSON: the number */
	const char *name_key;	/* JSON: the name, when it has one */
	const char *name_fmt;	/* text: the name... */
	const char *id_fmt;	/* ...or else the number */
	const char *(*name_of)(uint32_t id);
} id_fields[] = {
	{ MQ_A_QUEUE_UID, "uid", "owner", " owner %s", " owner %llu", user_name },
	{ MQ_A_QUEUE_GID, "gid", "group", " group %s", " group %llu", group_name },
};

static void print_ids(const struct queue *q)
{
	const struct id_field *f;
	const char *name;
	uint32_t id;

	for (f = id_fields; f < id_fields + ARRAY_SIZE(id_fields); f++) {
		if (!(q->has_attr & BIT_ULL(f->attr)))
			continue;
		id = q->attr[f->attr];
		print_uint(PRINT_JSON, f->id_key, NULL, id);
		name = f->name_of(id);
		if (name)
			print_string(PRINT_ANY, f->name_key, f->name_fmt, name);
		else
			print_uint(PRINT_FP, NULL, f->id_fmt, id);
	}
}

/* The node: its path, and its number (new_encode_dev()) in JSON. */
static void print_dev(const struct queue *q)
{
	char path[sizeof("/dev/mq/") + MQ_NAME_MAX];

	if (q->has_attr & BIT_ULL(MQ_A_QUEUE_NAME)) {
		snprintf(path, sizeof(path), "/dev/mq/%s", q->name);
		print_string(PRINT_ANY, "dev", " dev %s", path);
	}
	if (q->has_attr & BIT_ULL(MQ_A_QUEUE_DEVT))
		print_devt("devt", q->attr[MQ_A_QUEUE_DEVT]);
}

static void print_mode(const struct queue *q)
{
	char buf[16];

	if (!(q->has_attr & BIT_ULL(MQ_A_QUEUE_MODE)))
		return;
	snprintf(buf, sizeof(buf), "%04llo",
		 (unsigned long long)q->attr[MQ_A_QUEUE_MODE]);
	print_uint(PRINT_JSON, "mode", NULL, q->attr[MQ_A_QUEUE_MODE]);
	print_string(PRINT_ANY, "mode_str", " mode %s", buf);
}

/**
 * queue_print() - print a queue description, text or JSON
 * @q: the queue
 * @key: its JSON key; NULL at top level or in an array
 * @oneline: text on one line (events), not a block of four
 */
void queue_print(const struct queue *q, const char *key, bool oneline)
{
	open_json_object(key);
	if (q->has_attr & BIT_ULL(MQ_A_QUEUE_NAME))
		print_string(PRINT_ANY, "name", oneline ? "%s" : "%s:", q->name);
	if (q->has_attr & BIT_ULL(MQ_A_QUEUE_ID))
		print_uint(PRINT_ANY, "id", " id %llu", q->attr[MQ_A_QUEUE_ID]);
	if (q->has_attr & BIT_ULL(MQ_A_QUEUE_IDENT))
		print_uint(PRINT_JSON, "ident", NULL, q->attr[MQ_A_QUEUE_IDENT]);
	print_dev(q);
	print_mode(q);
	print_ids(q);
	if (q->has_attr & BIT_ULL(MQ_A_QUEUE_DURABILITY))
		print_enum("durability", " durability %s",
			   durability_name(q->attr[MQ_A_QUEUE_DURABILITY]),
			   q->attr[MQ_A_QUEUE_DURABILITY]);
	print_fields(" limits", limit_fields, ARRAY_SIZE(limit_fields),
		     q->attr, q->has_attr, oneline);
	if (q->has_stat) {
		open_json_object("stats");
		print_fields("", depth_fields, ARRAY_SIZE(depth_fields),
			     q->stat, q->has_stat, oneline);
		print_fields("", traffic_fields, ARRAY_SIZE(traffic_fields),
			     q->stat, q->has_stat, oneline);
		close_json_object();
	}
	print_text("\n");
	close_json_object();
}

static const struct cmd queue_cmds[] = {
	{ "add",	queue_add,	"queue add NAME [ KEYS ]", true },
	{ "set",	queue_set,	"queue set NAME KEYS", true },
	{ "del",	queue_del,	"queue del NAME", false },
	{ "show",	queue_show,	"queue show NAME", false },
	{ "list",	queue_list,	"queue list", false },
	{}
};

static const struct cmd_table queue_table = {
	.object = "queue",
	.cmds = queue_cmds,
	.dflt = "list",
	.where =
	"where  KEYS := [ max-msg SIZE ] [ capacity-msgs COUNT ] [ capacity-bytes SIZE ]\n"
	"               [ mode OCTAL ] [ owner { USER | UID } ] [ group { GROUP | GID } ]\n"
	"               [ durability { memory | async | sync } ]\n"
	"       SIZE, COUNT := NUMBER[K|M|G|T]   (binary: 1K = 1024)\n"
	"       OCTAL := permission bits, 0 to 0777\n"
	"add leaves out keys to the kernel's defaults (durability memory); set changes\n"
	"only the keys given. async and sync queues live in the attached store.\n",
};

/**
 * queue_main() - mqctl queue ...
 * @argc: number of words after "queue"
 * @argv: the words after "queue"
 *
 * Return: an MQCTL_EXIT_* code.
 */
int queue_main(int argc, char **argv)
{
	return cmd_dispatch(&queue_table, argc, argv);
}
