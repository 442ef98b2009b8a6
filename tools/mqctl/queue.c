// SPDX-License-Identifier: GPL-2.0
/*
 * mqctl queue { add | set | del | show | list }
 *
 * add and set share one key parser and one request builder; show, list and
 * monitor share one parser and one printer of the kernel's description.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqctl.h"
#include "nl.h"
#include "print.h"
#include "queue.h"

#define NLA_POLICY_U32	{ .type = NLA_U32, .maxlen = sizeof(uint32_t) }
#define NLA_POLICY_U64	{ .type = NLA_U64, .maxlen = sizeof(uint64_t) }

/*
 * The wire types of uapi/linux/mq.h. Replies are validated against these,
 * and requests put each value with the type named here.
 */
static const struct nla_policy queue_policy[MQ_A_MAX + 1] = {
	[MQ_A_QUEUE_NAME]	= { .type = NLA_STRING, .maxlen = MQ_NAME_MAX + 1 },
	[MQ_A_QUEUE_ID]		= NLA_POLICY_U32,
	[MQ_A_QUEUE_MAX_MSG]	= NLA_POLICY_U32,
	[MQ_A_QUEUE_CAP_MSGS]	= NLA_POLICY_U32,
	[MQ_A_QUEUE_CAP_BYTES]	= NLA_POLICY_U64,
	[MQ_A_QUEUE_MODE]	= NLA_POLICY_U32,
	[MQ_A_QUEUE_UID]	= NLA_POLICY_U32,
	[MQ_A_QUEUE_GID]	= NLA_POLICY_U32,
	[MQ_A_QUEUE_DEVT]	= NLA_POLICY_U32,
	[MQ_A_QUEUE_STATS]	= { .type = NLA_NESTED },
};

static const struct nla_policy stats_policy[MQ_STAT_MAX + 1] = {
	[MQ_STAT_MSGS_IN]		= NLA_POLICY_U64,
	[MQ_STAT_BYTES_IN]		= NLA_POLICY_U64,
	[MQ_STAT_MSGS_OUT]		= NLA_POLICY_U64,
	[MQ_STAT_BYTES_OUT]		= NLA_POLICY_U64,
	[MQ_STAT_DEPTH_MSGS]		= NLA_POLICY_U64,
	[MQ_STAT_DEPTH_BYTES]		= NLA_POLICY_U64,
	[MQ_STAT_PEAK_MSGS]		= NLA_POLICY_U64,
	[MQ_STAT_HEAD_OFFSET]		= NLA_POLICY_U64,
	[MQ_STAT_TAIL_OFFSET]		= NLA_POLICY_U64,
	[MQ_STAT_BLOCKED_READERS]	= NLA_POLICY_U32,
	[MQ_STAT_BLOCKED_WRITERS]	= NLA_POLICY_U32,
	[MQ_STAT_OPEN_FDS]		= NLA_POLICY_U32,
};

/* ---- add, set: keys on the command line ---- */

enum key_kind { KEY_SIZE, KEY_COUNT, KEY_MODE, KEY_USER, KEY_GROUP };

static const struct queue_key {
	const char *word;
	int attr;
	enum key_kind kind;
} queue_keys[] = {
	{ "max-msg",		MQ_A_QUEUE_MAX_MSG,	KEY_SIZE },
	{ "capacity-msgs",	MQ_A_QUEUE_CAP_MSGS,	KEY_COUNT },
	{ "capacity-bytes",	MQ_A_QUEUE_CAP_BYTES,	KEY_SIZE },
	{ "mode",		MQ_A_QUEUE_MODE,	KEY_MODE },
	{ "owner",		MQ_A_QUEUE_UID,		KEY_USER },
	{ "group",		MQ_A_QUEUE_GID,		KEY_GROUP },
};

static const char *const key_expect[] = {
	[KEY_SIZE]	= "a size such as 4096, 64K or 4M",
	[KEY_COUNT]	= "a count such as 4096 or 4K",
	[KEY_MODE]	= "octal permission bits, 0 to 0777",
	[KEY_USER]	= "a user name or uid",
	[KEY_GROUP]	= "a group name or gid",
};

/* What the command line asked for: the values of the keys given. */
struct queue_req {
	const char *name;
	uint64_t val[MQ_A_MAX + 1];
	uint64_t set;		/* BIT_ULL(MQ_A_*) of each key given */
};

/* The largest value the attribute's wire type carries. */
static uint64_t attr_max(int attr)
{
	return queue_policy[attr].type == NLA_U64 ? UINT64_MAX : UINT32_MAX;
}

/* The largest number a key takes. */
static uint64_t key_max(const struct queue_key *k)
{
	switch (k->kind) {
	case KEY_MODE:
		return 0777;
	case KEY_USER:
	case KEY_GROUP:
		return UINT32_MAX - 1;	/* (uid_t)-1 means "no change" */
	default:
		return attr_max(k->attr);
	}
}

static int key_error(const struct queue_key *k, const char *s, int err)
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

static int key_value(const struct queue_key *k, const char *s, uint64_t *v)
{
	int err;

	switch (k->kind) {
	case KEY_SIZE:
	case KEY_COUNT:
		err = parse_size(s, key_max(k), v);
		break;
	case KEY_MODE:
		err = parse_mode(s, v);
		break;
	default:
		err = parse_id(s, k->kind == KEY_GROUP, v);
		break;
	}
	return err ? key_error(k, s, err) : 0;
}

static const struct queue_key *key_find(const char *word)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(queue_keys); i++)
		if (!strcmp(word, queue_keys[i].word))
			return &queue_keys[i];
	return NULL;
}

/* NAME [ KEY VALUE ]... into @r; @need_key: at least one key. */
static int parse_keys(struct queue_req *r, int argc, char **argv,
		      bool need_key)
{
	const struct queue_key *k;
	int i, ret;

	if (argc < 1)
		return usage_error("missing queue NAME");
	r->name = argv[0];
	for (i = 1; i < argc; i += 2) {
		k = key_find(argv[i]);
		if (!k)
			return usage_error("unknown key \"%s\"", argv[i]);
		if (r->set & BIT_ULL(k->attr))
			return usage_error("%s given twice", k->word);
		if (i + 1 == argc)
			return usage_error("%s needs a value", k->word);
		ret = key_value(k, argv[i + 1], &r->val[k->attr]);
		if (ret)
			return ret;
		r->set |= BIT_ULL(k->attr);
	}
	if (need_key && !r->set)
		return usage_error("nothing to set: give at least one key");
	return MQCTL_EXIT_OK;
}

/* A request naming one queue, with room for every key. */
static struct nl_msg *queue_msg(uint8_t cmd, const char *name)
{
	size_t room = nla_total_size(strlen(name) + 1) +
		      ARRAY_SIZE(queue_keys) * nla_total_size(sizeof(uint64_t));
	struct nl_msg *msg = mq_msg_new(cmd, 0, room);

	if (msg && nla_put_string(msg, MQ_A_QUEUE_NAME, name) < 0) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

static int put_keys(struct nl_msg *msg, const struct queue_req *r)
{
	int attr, err = 0;

	for (attr = 0; attr <= MQ_A_MAX && !err; attr++) {
		if (!(r->set & BIT_ULL(attr)))
			continue;
		if (queue_policy[attr].type == NLA_U64)
			err = nla_put_u64(msg, attr, r->val[attr]);
		else
			err = nla_put_u32(msg, attr, r->val[attr]);
	}
	return err;
}

/**
 * mq_attr_word() - the command line's word for an MQ_A_* attribute
 * @attr: the attribute an extended ACK blames
 *
 * NULL for the queue name: the kernel's messages about it ("no such
 * queue", "invalid queue name") need no prefix.
 *
 * Return: the key word, or NULL.
 */
const char *mq_attr_word(int attr)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(queue_keys); i++)
		if (queue_keys[i].attr == attr)
			return queue_keys[i].word;
	return NULL;
}

/* add and set: the same keys, the same request, another command. */
static int queue_change(uint8_t cmd, bool need_key, int argc, char **argv)
{
	struct queue_req r = {};
	struct nl_msg *msg;
	int ret;

	ret = parse_keys(&r, argc, argv, need_key);
	if (!ret)
		ret = mq_nl_open();
	if (ret)
		return ret;
	msg = queue_msg(cmd, r.name);
	if (!msg || put_keys(msg, &r) < 0) {
		nlmsg_free(msg);
		return fail(MQCTL_EXIT_KERNEL, "out of memory");
	}
	return mq_request(msg, NULL, NULL);
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
	return mq_request(msg, NULL, NULL);
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
	ret = mq_request(msg, show_reply, &q);
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

	if (argc)
		return usage_error("unexpected argument \"%s\"", argv[0]);
	ret = mq_nl_open();
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

static void get_numbers(struct nlattr **tb, const struct nla_policy *policy,
			int max, uint64_t *val, uint64_t *has)
{
	int i;

	for (i = 0; i <= max; i++) {
		if (!tb[i])
			continue;
		if (policy[i].type == NLA_U32)
			val[i] = nla_get_u32(tb[i]);
		else if (policy[i].type == NLA_U64)
			val[i] = nla_get_u64(tb[i]);
		else
			continue;
		*has |= BIT_ULL(i);
	}
}

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
	struct nlattr *tb[MQ_A_MAX + 1], *sb[MQ_STAT_MAX + 1] = {};
	int err;

	memset(q, 0, sizeof(*q));
	err = genlmsg_parse(nlh, 0, tb, MQ_A_MAX, queue_policy);
	if (!err && tb[MQ_A_QUEUE_STATS])
		err = nla_parse_nested(sb, MQ_STAT_MAX, tb[MQ_A_QUEUE_STATS],
				       stats_policy);
	if (err)
		return err;
	get_numbers(tb, queue_policy, MQ_A_MAX, q->attr, &q->has_attr);
	get_numbers(sb, stats_policy, MQ_STAT_MAX, q->stat, &q->has_stat);
	if (tb[MQ_A_QUEUE_NAME]) {
		snprintf(q->name, sizeof(q->name), "%s",
			 nla_get_string(tb[MQ_A_QUEUE_NAME]));
		q->has_attr |= BIT_ULL(MQ_A_QUEUE_NAME);
	}
	return 0;
}

/* A number printed with one JSON key and one text format. */
struct field {
	int id;			/* MQ_A_* or MQ_STAT_* */
	const char *key;	/* JSON */
	const char *fmt;	/* text */
	bool size;		/* bytes: exact in JSON, "64K" in text */
};

#define FIELD_NUM(id, key, fmt)		{ id, key, fmt, false }
#define FIELD_SIZE(id, key, fmt)	{ id, key, fmt, true }

static const struct field limit_fields[] = {
	FIELD_SIZE(MQ_A_QUEUE_MAX_MSG,	"max_msg",		" max-msg %s"),
	FIELD_NUM(MQ_A_QUEUE_CAP_MSGS,	"capacity_msgs",	" capacity-msgs %llu"),
	FIELD_SIZE(MQ_A_QUEUE_CAP_BYTES,	"capacity_bytes",	" capacity-bytes %s"),
};

static const struct field depth_fields[] = {
	FIELD_NUM(MQ_STAT_DEPTH_MSGS,	"depth_msgs",	" depth %llu msgs"),
	FIELD_SIZE(MQ_STAT_DEPTH_BYTES,	"depth_bytes",	" %s bytes"),
	FIELD_NUM(MQ_STAT_PEAK_MSGS,	"peak_msgs",	" peak %llu"),
	FIELD_NUM(MQ_STAT_HEAD_OFFSET,	"head_offset",	" offsets %llu"),
	FIELD_NUM(MQ_STAT_TAIL_OFFSET,	"tail_offset",	"..%llu"),
};

static const struct field traffic_fields[] = {
	FIELD_NUM(MQ_STAT_MSGS_IN,		"msgs_in",		" in %llu msgs"),
	FIELD_SIZE(MQ_STAT_BYTES_IN,		"bytes_in",		" %s bytes"),
	FIELD_NUM(MQ_STAT_MSGS_OUT,		"msgs_out",		" out %llu msgs"),
	FIELD_SIZE(MQ_STAT_BYTES_OUT,		"bytes_out",		" %s bytes"),
	FIELD_NUM(MQ_STAT_BLOCKED_READERS,	"blocked_readers",	" blocked readers %llu"),
	FIELD_NUM(MQ_STAT_BLOCKED_WRITERS,	"blocked_writers",	" writers %llu"),
	FIELD_NUM(MQ_STAT_OPEN_FDS,		"open_fds",		" open %llu"),
};

/* One text line of fields, each a JSON member; nothing if none is present. */
static void print_line(const char *label, const struct field *f, size_t n,
		       const uint64_t *val, uint64_t has, bool oneline)
{
	size_t i = 0;

	while (i < n && !(has & BIT_ULL(f[i].id)))
		i++;
	if (i == n)
		return;
	print_text(oneline ? "%s" : "\n   %s", label);
	for (; i < n; i++) {
		if (!(has & BIT_ULL(f[i].id)))
			continue;
		if (f[i].size)
			print_size(PRINT_ANY, f[i].key, f[i].fmt, val[f[i].id]);
		else
			print_uint(PRINT_ANY, f[i].key, f[i].fmt, val[f[i].id]);
	}
}

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
	uint32_t dev = q->attr[MQ_A_QUEUE_DEVT];
	char path[sizeof("/dev/mq/") + MQ_NAME_MAX];

	if (q->has_attr & BIT_ULL(MQ_A_QUEUE_NAME)) {
		snprintf(path, sizeof(path), "/dev/mq/%s", q->name);
		print_string(PRINT_ANY, "dev", " dev %s", path);
	}
	if (q->has_attr & BIT_ULL(MQ_A_QUEUE_DEVT)) {
		open_json_object("devt");
		print_uint(PRINT_JSON, "major", NULL, (dev & 0xfff00) >> 8);
		print_uint(PRINT_JSON, "minor", NULL,
			   (dev & 0xff) | ((dev >> 12) & 0xfff00));
		close_json_object();
	}
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
	print_dev(q);
	print_mode(q);
	print_ids(q);
	print_line(" limits", limit_fields, ARRAY_SIZE(limit_fields),
		   q->attr, q->has_attr, oneline);
	if (q->has_stat) {
		open_json_object("stats");
		print_line("", depth_fields, ARRAY_SIZE(depth_fields),
			   q->stat, q->has_stat, oneline);
		print_line("", traffic_fields, ARRAY_SIZE(traffic_fields),
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
	"       SIZE, COUNT := NUMBER[K|M|G|T]   (binary: 1K = 1024)\n"
	"       OCTAL := permission bits, 0 to 0777\n"
	"add leaves out keys to the kernel's defaults; set changes only the keys given.\n",
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
