// SPDX-License-Identifier: GPL-2.0
/*
 * fakemq.so: a stand-in for mq.ko's generic netlink family, for testing
 * mqctl on a host that cannot load the module. LD_PRELOAD it: it takes over
 * the NETLINK_GENERIC socket libnl opens (an AF_UNIX datagram pair below)
 * and answers as uapi/linux/mq.h says the kernel does: the "nlctrl" family
 * look-up, MQ_CMD_QUEUE_* and MQ_CMD_STORE_* with extended ACKs,
 * consistent dumps and the "events" group.
 *
 * Every run starts with two queues, "jobs" (memory) and "mail" (async),
 * and no store attached. Requests are checked (genl version, attribute
 * sizes: u32 vs u64, strings) and logged, one line each, to $FAKEMQ_LOG.
 * Other knobs, all environment variables:
 *   FAKEMQ_NOFAMILY=1      the family is not registered (module not loaded)
 *   FAKEMQ_EPERM=1         changes fail with EPERM, as without CAP_NET_ADMIN
 *   FAKEMQ_NOEXTACK=1      errors carry no extended ACK message
 *   FAKEMQ_NOCAP=1         ignore NETLINK_CAP_ACK (errors echo the request)
 *   FAKEMQ_DUMP_INTR=N     the first N dumps are marked NLM_F_DUMP_INTR
 *   FAKEMQ_DUMP_EIO=1      dumps end in NLMSG_DONE carrying -EIO
 *   FAKEMQ_OLD=1           replies leave out DEVT, DURABILITY and the stats
 *                          nest; the store's only SEGMENT_SIZE and FLUSH_MS
 *                          (at top level) and its state
 *   FAKEMQ_BADREPLY=1      replies carry CAP_BYTES and SSTAT_SIZE as a u32
 *                          (malformed)
 *   FAKEMQ_STORE=STATE     a store is attached, in STATE: ok, degraded, or
 *                          a number (one this mqctl does not know)
 *   FAKEMQ_DURABILITY=N    "jobs" has durability N
 *   FAKEMQ_ERRNO=NAME      every mq request fails with that errno (EBUSY,
 *                          ENODEV, ...), with no extended ACK message
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/mq.h>

#define FAMILY_ID	0x20
#define EVENTS_GROUP	7
#define MAX_QUEUES	16
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
/* The module's message for a bad name (kmod/admin.c). */
#define BAD_NAME	"invalid queue name: 1-64 of [A-Za-z0-9._-], no leading '.'"

/* The fake store (FAKEMQ_STORE): a 1G loop device, 4M segments. */
#define STORE_PATH	"/dev/loop7"
#define STORE_DEVT	((7 << 8) | 7)	/* new_encode_dev(7, 7) */

struct fq {
	char name[MQ_NAME_MAX + 1];
	uint32_t a32[MQ_A_MAX + 1];
	uint64_t cap_bytes;
	uint64_t stat[MQ_STAT_MAX + 1];
};

static struct fq queues[MAX_QUEUES];
static int nqueues;
static uint32_t next_id = 1;
static int fake_fd = -1, peer_fd = -1;
static int ext_ack, cap_ack, dumps;

static int (*real_socket)(int, int, int);
static int (*real_close)(int);

static bool env(const char *name)
{
	const char *v = getenv(name);

	return v && *v && strcmp(v, "0");
}

static void log_line(const char *fmt, ...)
{
	const char *path = getenv("FAKEMQ_LOG");
	va_list ap;
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "a");
	if (!f)
		return;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static void add_queue(const char *name, uint32_t uid, uint64_t depth,
		      uint32_t durability)
{
	struct fq *q = &queues[nqueues++];
	uint32_t id = next_id++;

	memset(q, 0, sizeof(*q));
	snprintf(q->name, sizeof(q->name), "%s", name);
	q->a32[MQ_A_QUEUE_ID] = id;
	q->a32[MQ_A_QUEUE_MAX_MSG] = MQ_DEFAULT_MAX_MSG;
	q->a32[MQ_A_QUEUE_CAP_MSGS] = MQ_DEFAULT_CAP_MSGS;
	q->a32[MQ_A_QUEUE_MODE] = MQ_DEFAULT_MODE;
	q->a32[MQ_A_QUEUE_UID] = uid;
	q->a32[MQ_A_QUEUE_GID] = uid;
	q->a32[MQ_A_QUEUE_DEVT] = (240 << 8) | id;	/* new_encode_dev(240, id) */
	q->a32[MQ_A_QUEUE_DURABILITY] = durability;
	q->cap_bytes = MQ_DEFAULT_CAP_BYTES;
	q->stat[MQ_STAT_DEPTH_MSGS] = depth;
	q->stat[MQ_STAT_DEPTH_BYTES] = depth * 288;
	q->stat[MQ_STAT_PEAK_MSGS] = depth * 3 + 4;
	q->stat[MQ_STAT_HEAD_OFFSET] = 100;
	q->stat[MQ_STAT_TAIL_OFFSET] = 100 + depth;
	q->stat[MQ_STAT_MSGS_IN] = 100 + depth;
	q->stat[MQ_STAT_BYTES_IN] = (100 + depth) * 256;
	q->stat[MQ_STAT_MSGS_OUT] = 100;
	q->stat[MQ_STAT_BYTES_OUT] = 25600;
	q->stat[MQ_STAT_OPEN_FDS] = 2;
}

__attribute__((constructor)) static void fakemq_init(void)
{
	real_socket = dlsym(RTLD_NEXT, "socket");
	real_close = dlsym(RTLD_NEXT, "close");
	add_queue("jobs", 0, 12, atoi(getenv("FAKEMQ_DURABILITY") ?: "0"));
	add_queue("mail", 4242, 0, MQ_DURABILITY_ASYNC);
}

/* ---- building messages ---- */

struct buf {
	char data[16384];
	size_t len;
};

static struct nlmsghdr *msg_start(struct buf *b, uint16_t type, uint16_t flags,
				  uint32_t seq)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)(b->data + b->len);

	memset(nlh, 0, NLMSG_HDRLEN);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_len = NLMSG_HDRLEN;
	b->len += NLMSG_HDRLEN;
	return nlh;
}

static void msg_put(struct buf *b, struct nlmsghdr *nlh, const void *p,
		    size_t len)
{
	memcpy(b->data + b->len, p, len);
	memset(b->data + b->len + len, 0, NLMSG_ALIGN(len) - len);
	b->len += NLMSG_ALIGN(len);
	nlh->nlmsg_len = b->data + b->len - (char *)nlh;
}

static void attr_put(struct buf *b, struct nlmsghdr *nlh, uint16_t type,
		     const void *p, size_t len)
{
	struct nlattr *a = (struct nlattr *)(b->data + b->len);

	a->nla_len = NLA_HDRLEN + len;
	a->nla_type = type;
	if (len)
		memcpy((char *)a + NLA_HDRLEN, p, len);
	memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(len) - len);
	b->len += NLA_HDRLEN + NLA_ALIGN(len);
	nlh->nlmsg_len = b->data + b->len - (char *)nlh;
}

static struct nlattr *nest_start(struct buf *b, struct nlmsghdr *nlh,
				 uint16_t type)
{
	struct nlattr *a = (struct nlattr *)(b->data + b->len);

	attr_put(b, nlh, type | NLA_F_NESTED, NULL, 0);
	return a;
}

static void nest_end(struct buf *b, struct nlattr *a)
{
	a->nla_len = b->data + b->len - (char *)a;
}

static void put_u32(struct buf *b, struct nlmsghdr *nlh, int type, uint32_t v)
{
	attr_put(b, nlh, type, &v, sizeof(v));
}

static void put_u64(struct buf *b, struct nlmsghdr *nlh, int type, uint64_t v)
{
	attr_put(b, nlh, type, &v, sizeof(v));
}

static void genl_put(struct buf *b, struct nlmsghdr *nlh, uint8_t cmd)
{
	struct genlmsghdr g = { .cmd = cmd, .version = MQ_GENL_VERSION };

	msg_put(b, nlh, &g, sizeof(g));
}

static void send_buf(struct buf *b)
{
	if (b->len && write(peer_fd, b->data, b->len) < 0)
		perror("fakemq: write");
	b->len = 0;
}

static void put_queue(struct buf *b, struct nlmsghdr *nlh, const struct fq *q)
{
	static const int a32[] = {
		MQ_A_QUEUE_ID, MQ_A_QUEUE_MAX_MSG, MQ_A_QUEUE_CAP_MSGS,
		MQ_A_QUEUE_MODE, MQ_A_QUEUE_UID, MQ_A_QUEUE_GID,
	};
	struct nlattr *nest;
	size_t i;
	int s;

	attr_put(b, nlh, MQ_A_QUEUE_NAME, q->name, strlen(q->name) + 1);
	for (i = 0; i < ARRAY_SIZE(a32); i++)
		put_u32(b, nlh, a32[i], q->a32[a32[i]]);
	if (env("FAKEMQ_BADREPLY"))
		put_u32(b, nlh, MQ_A_QUEUE_CAP_BYTES, q->cap_bytes);
	else
		put_u64(b, nlh, MQ_A_QUEUE_CAP_BYTES, q->cap_bytes);
	if (env("FAKEMQ_OLD"))
		return;
	put_u32(b, nlh, MQ_A_QUEUE_DEVT, q->a32[MQ_A_QUEUE_DEVT]);
	put_u32(b, nlh, MQ_A_QUEUE_DURABILITY, q->a32[MQ_A_QUEUE_DURABILITY]);
	nest = nest_start(b, nlh, MQ_A_QUEUE_STATS);
	for (s = MQ_STAT_MSGS_IN; s <= MQ_STAT_MAX; s++) {
		if (s >= MQ_STAT_BLOCKED_READERS)
			put_u32(b, nlh, s, q->stat[s]);
		else
			put_u64(b, nlh, s, q->stat[s]);
	}
	nest_end(b, nest);
}

static uint32_t store_state(void)
{
	const char *v = getenv("FAKEMQ_STORE") ?: "ok";

	if (!strcmp(v, "degraded"))
		return MQ_STORE_DEGRADED;
	return isdigit((unsigned char)*v) ? atoi(v) : MQ_STORE_OK;
}

static void put_store(struct buf *b, struct nlmsghdr *nlh)
{
	static const struct { int type; uint64_t v; int size; } info[] = {
		{ MQ_SSTAT_DEVT,		STORE_DEVT,	4 },
		{ MQ_SSTAT_SIZE,		1ULL << 30,	8 },
		{ MQ_SSTAT_SEGMENT_SIZE,	4U << 20,	4 },
		{ MQ_SSTAT_SEGMENTS,		255,		4 },
		{ MQ_SSTAT_SEGMENTS_USED,	3,		4 },
		{ MQ_SSTAT_BYTES_USED,		12ULL << 20,	8 },
		{ MQ_SSTAT_BYTES_FREE,		1008ULL << 20,	8 },
		{ MQ_SSTAT_STATE,		0,		4 },
		{ MQ_SSTAT_FLUSH_MS,		100,		4 },
		{ MQ_SSTAT_FLUSHES,		1234,		8 },
		{ MQ_SSTAT_FLUSH_NS_AVG,	120000,		8 },
		{ MQ_SSTAT_FLUSH_NS_MAX,	4100000,	8 },
		{ MQ_SSTAT_BYTES_WRITTEN,	48ULL << 20,	8 },
		{ MQ_SSTAT_RECORDS,		10452,		8 },
		{ MQ_SSTAT_IO_ERRORS,		0,		8 },
		{ MQ_SSTAT_QUEUES,		2,		4 },
		{ MQ_SSTAT_GENERATION,		17,		8 },
		{ MQ_SSTAT_RECOVERED_MSGS,	12,		8 },
		{ MQ_SSTAT_CORRUPT_BYTES,	0,		8 },
		{ MQ_SSTAT_CLEAN,		1,		4 },
	};
	bool degraded = store_state() == MQ_STORE_DEGRADED;
	struct nlattr *nest;
	uint64_t v;
	size_t i;

	attr_put(b, nlh, MQ_A_STORE_PATH, STORE_PATH, sizeof(STORE_PATH));
	if (env("FAKEMQ_OLD")) {
		put_u32(b, nlh, MQ_A_STORE_SEGMENT_SIZE, 4U << 20);
		put_u32(b, nlh, MQ_A_STORE_FLUSH_MS, 100);
		nest = nest_start(b, nlh, MQ_A_STORE_INFO);
		put_u32(b, nlh, MQ_SSTAT_STATE, store_state());
		nest_end(b, nest);
		return;
	}
	nest = nest_start(b, nlh, MQ_A_STORE_INFO);
	for (i = 0; i < ARRAY_SIZE(info); i++) {
		v = info[i].v;
		if (info[i].type == MQ_SSTAT_STATE)
			v = store_state();
		else if (info[i].type == MQ_SSTAT_IO_ERRORS && degraded)
			v = 3;
		else if (info[i].type == MQ_SSTAT_CLEAN && degraded)
			v = 0;
		if (info[i].size == 4 || (info[i].type == MQ_SSTAT_SIZE &&
					  env("FAKEMQ_BADREPLY")))
			put_u32(b, nlh, info[i].type, v);
		else
			put_u64(b, nlh, info[i].type, v);
	}
	nest_end(b, nest);
}

/* An error or ACK for @req, with an extended ACK message if there is one. */
static void ack_attr(struct buf *b, const struct nlmsghdr *req, int error,
		     const char *text, const void *bad)
{
	bool capped = cap_ack || !error;
	struct nlmsgerr e = { .error = -error, .msg = *req };
	struct nlmsghdr *nlh = msg_start(b, NLMSG_ERROR, 0, req->nlmsg_seq);

	msg_put(b, nlh, &e, sizeof(e));
	if (capped)
		nlh->nlmsg_flags |= NLM_F_CAPPED;
	else
		msg_put(b, nlh, NLMSG_DATA(req), req->nlmsg_len - NLMSG_HDRLEN);
	if (error && text && ext_ack && !env("FAKEMQ_NOEXTACK")) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		attr_put(b, nlh, NLMSGERR_ATTR_MSG, text, strlen(text) + 1);
		if (bad)
			put_u32(b, nlh, NLMSGERR_ATTR_OFFS,
				(const char *)bad - (const char *)req);
	}
	send_buf(b);
}

static void ack(struct buf *b, const struct nlmsghdr *req, int error,
		const char *text)
{
	ack_attr(b, req, error, text, NULL);
}

/* ---- the nlctrl family ---- */

static void ctrl_request(const struct nlmsghdr *req)
{
	const struct nlattr *a = (void *)((char *)NLMSG_DATA(req) + GENL_HDRLEN);
	struct nlattr *groups, *group;
	struct nlmsghdr *nlh;
	struct buf b = {};
	uint16_t id = FAMILY_ID;

	if (a->nla_type != CTRL_ATTR_FAMILY_NAME ||
	    strcmp((char *)a + NLA_HDRLEN, MQ_GENL_NAME) ||
	    env("FAKEMQ_NOFAMILY"))
		return ack(&b, req, ENOENT, "Unknown family");
	nlh = msg_start(&b, GENL_ID_CTRL, 0, req->nlmsg_seq);
	genl_put(&b, nlh, CTRL_CMD_NEWFAMILY);
	attr_put(&b, nlh, CTRL_ATTR_FAMILY_NAME, MQ_GENL_NAME, sizeof(MQ_GENL_NAME));
	attr_put(&b, nlh, CTRL_ATTR_FAMILY_ID, &id, sizeof(id));
	put_u32(&b, nlh, CTRL_ATTR_VERSION, MQ_GENL_VERSION);
	put_u32(&b, nlh, CTRL_ATTR_HDRSIZE, 0);
	put_u32(&b, nlh, CTRL_ATTR_MAXATTR, MQ_A_MAX);
	groups = nest_start(&b, nlh, CTRL_ATTR_MCAST_GROUPS);
	group = nest_start(&b, nlh, 1);
	put_u32(&b, nlh, CTRL_ATTR_MCAST_GRP_ID, EVENTS_GROUP);
	attr_put(&b, nlh, CTRL_ATTR_MCAST_GRP_NAME, MQ_GENL_MCGRP_EVENTS,
		 sizeof(MQ_GENL_MCGRP_EVENTS));
	nest_end(&b, group);
	nest_end(&b, groups);
	send_buf(&b);
	if (req->nlmsg_flags & NLM_F_ACK)
		ack(&b, req, 0, NULL);
}

/* ---- the mq family ---- */

struct req {
	const char *name;
	const char *path;
	uint64_t val[MQ_A_MAX + 1];
	const struct nlattr *attr[MQ_A_MAX + 1];
	uint64_t set;
};

static const char *const cmd_names[] = {
	[MQ_CMD_UNSPEC] = "UNSPEC", [MQ_CMD_QUEUE_NEW] = "NEW",
	[MQ_CMD_QUEUE_DEL] = "DEL", [MQ_CMD_QUEUE_GET] = "GET",
	[MQ_CMD_QUEUE_SET] = "SET", [MQ_CMD_STORE_FORMAT] = "FORMAT",
	[MQ_CMD_STORE_ATTACH] = "ATTACH", [MQ_CMD_STORE_DETACH] = "DETACH",
	[MQ_CMD_STORE_GET] = "STORE",
};

static bool is_u32_attr(int type)
{
	return (type > MQ_A_QUEUE_ID && type < MQ_A_QUEUE_DEVT &&
		type != MQ_A_QUEUE_CAP_BYTES) ||
	       type == MQ_A_QUEUE_DURABILITY ||
	       type == MQ_A_STORE_SEGMENT_SIZE || type == MQ_A_STORE_FLUSH_MS;
}

/* Checks sizes as the kernel's policy would; returns an error text. */
static const char *parse_req(const struct nlmsghdr *nlh, struct req *r)
{
	const struct genlmsghdr *g = NLMSG_DATA(nlh);
	int len = nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	const struct nlattr *a = (void *)((char *)g + GENL_HDRLEN);
	int size;

	if (g->version != MQ_GENL_VERSION)
		return "wrong genl version";
	for (; len >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= len;
	     len -= NLA_ALIGN(a->nla_len),
	     a = (void *)((char *)a + NLA_ALIGN(a->nla_len))) {
		size = a->nla_len - NLA_HDRLEN;
		if (a->nla_type == MQ_A_QUEUE_NAME ||
		    a->nla_type == MQ_A_STORE_PATH) {
			if (!size || ((char *)a)[NLA_HDRLEN + size - 1])
				return "name not a string";
			if (a->nla_type == MQ_A_QUEUE_NAME)
				r->name = (char *)a + NLA_HDRLEN;
			else
				r->path = (char *)a + NLA_HDRLEN;
		} else if (a->nla_type == MQ_A_QUEUE_CAP_BYTES) {
			if (size != 8)
				return "CAP_BYTES must be a u64";
			memcpy(&r->val[a->nla_type], (char *)a + NLA_HDRLEN, 8);
		} else if (is_u32_attr(a->nla_type)) {
			uint32_t v;

			if (size != 4)
				return "attribute must be a u32";
			memcpy(&v, (char *)a + NLA_HDRLEN, 4);
			r->val[a->nla_type] = v;
		} else {
			return "Unknown attribute type";
		}
		r->set |= 1ULL << a->nla_type;
		r->attr[a->nla_type] = a;
	}
	return NULL;
}

static void log_req(const struct nlmsghdr *nlh, const struct req *r)
{
	static const char *const names[MQ_A_MAX + 1] = {
		[MQ_A_QUEUE_MAX_MSG] = "max_msg", [MQ_A_QUEUE_CAP_MSGS] = "cap_msgs",
		[MQ_A_QUEUE_CAP_BYTES] = "cap_bytes", [MQ_A_QUEUE_MODE] = "mode",
		[MQ_A_QUEUE_UID] = "uid", [MQ_A_QUEUE_GID] = "gid",
		[MQ_A_QUEUE_DURABILITY] = "durability",
		[MQ_A_STORE_SEGMENT_SIZE] = "segment_size",
		[MQ_A_STORE_FLUSH_MS] = "flush_ms",
	};
	const struct genlmsghdr *g = NLMSG_DATA(nlh);
	char line[4096 + 512];
	size_t n;
	int i;

	n = snprintf(line, sizeof(line), "%s%s",
		     g->cmd < ARRAY_SIZE(cmd_names) ? cmd_names[g->cmd] : "?",
		     nlh->nlmsg_flags & NLM_F_DUMP ? " dump" : "");
	if (r->name)
		n += snprintf(line + n, sizeof(line) - n, " name=%s", r->name);
	if (r->path)
		n += snprintf(line + n, sizeof(line) - n, " path=%s", r->path);
	for (i = 0; i <= MQ_A_MAX; i++)
		if (r->set & (1ULL << i) && names[i])
			n += snprintf(line + n, sizeof(line) - n, " %s=%llu",
				      names[i], (unsigned long long)r->val[i]);
	log_line("%s\n", line);
}

static struct fq *find(const char *name)
{
	int i;

	for (i = 0; name && i < nqueues; i++)
		if (!strcmp(queues[i].name, name))
			return &queues[i];
	return NULL;
}

static bool name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n > MQ_NAME_MAX || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return false;
	return true;
}

static void reply_queue(const struct nlmsghdr *req, const struct fq *q,
			uint8_t cmd, uint16_t flags, struct buf *b)
{
	struct nlmsghdr *nlh = msg_start(b, FAMILY_ID, flags, req->nlmsg_seq);

	genl_put(b, nlh, cmd);
	put_queue(b, nlh, q);
}

static void dump(const struct nlmsghdr *req)
{
	uint16_t flags = NLM_F_MULTI;
	struct nlmsghdr *nlh;
	struct buf b = {};
	int i, err = 0;

	if (++dumps <= atoi(getenv("FAKEMQ_DUMP_INTR") ?: "0"))
		flags |= NLM_F_DUMP_INTR;
	for (i = 0; i < nqueues; i++)
		reply_queue(req, &queues[i], MQ_CMD_QUEUE_GET, flags, &b);
	send_buf(&b);
	nlh = msg_start(&b, NLMSG_DONE, flags, req->nlmsg_seq);
	if (env("FAKEMQ_DUMP_EIO"))
		err = -EIO;
	msg_put(&b, nlh, &err, sizeof(err));
	if (err && ext_ack && !env("FAKEMQ_NOEXTACK")) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		attr_put(&b, nlh, NLMSGERR_ATTR_MSG, "store I/O error",
			 sizeof("store I/O error"));
	}
	send_buf(&b);
}

/* FAKEMQ_ERRNO: the error every request fails with, 0 for none. */
static int forced_errno(void)
{
	static const struct { const char *name; int error; } errors[] = {
		{ "EBUSY", EBUSY }, { "ENODEV", ENODEV }, { "ENOTBLK", ENOTBLK },
		{ "EMEDIUMTYPE", EMEDIUMTYPE }, { "EUCLEAN", EUCLEAN },
		{ "EPROTONOSUPPORT", EPROTONOSUPPORT }, { "ENOSPC", ENOSPC },
		{ "EIO", EIO }, { "EPERM", EPERM },
	};
	const char *v = getenv("FAKEMQ_ERRNO");
	size_t i;

	for (i = 0; v && i < ARRAY_SIZE(errors); i++)
		if (!strcmp(v, errors[i].name))
			return errors[i].error;
	return 0;
}

/* MQ_CMD_STORE_*: one store at most, attached when FAKEMQ_STORE is set. */
static void store_request(const struct nlmsghdr *req, const struct req *r)
{
	const struct genlmsghdr *g = NLMSG_DATA(req);
	bool attached = getenv("FAKEMQ_STORE");
	uint64_t seg = r->val[MQ_A_STORE_SEGMENT_SIZE];
	uint64_t ms = r->val[MQ_A_STORE_FLUSH_MS];
	struct nlmsghdr *nlh;
	struct buf b = {};

	if ((g->cmd == MQ_CMD_STORE_FORMAT || g->cmd == MQ_CMD_STORE_ATTACH) &&
	    (!r->path || r->path[0] != '/'))
		return ack(&b, req, EINVAL, "store path must be absolute");
	if ((r->set & (1ULL << MQ_A_STORE_SEGMENT_SIZE)) &&
	    (seg < (1U << 20) || seg > (64U << 20) || (seg & (seg - 1))))
		return ack_attr(&b, req, ERANGE, "must be a power of 2 from 1M to 64M",
				r->attr[MQ_A_STORE_SEGMENT_SIZE]);
	if ((r->set & (1ULL << MQ_A_STORE_FLUSH_MS)) && (!ms || ms > 10000))
		return ack_attr(&b, req, ERANGE, "integer out of range",
				r->attr[MQ_A_STORE_FLUSH_MS]);
	switch (g->cmd) {
	case MQ_CMD_STORE_FORMAT:
	case MQ_CMD_STORE_ATTACH:
		if (attached)
			return ack(&b, req, EBUSY, "a store is attached");
		break;
	case MQ_CMD_STORE_DETACH:
		if (!attached)
			return ack(&b, req, ENODEV, "no store attached");
		break;
	default:
		if (!attached)
			return ack(&b, req, ENODEV, "no store attached");
		nlh = msg_start(&b, FAMILY_ID, 0, req->nlmsg_seq);
		genl_put(&b, nlh, MQ_CMD_STORE_GET);
		put_store(&b, nlh);
		send_buf(&b);
		break;
	}
	if (req->nlmsg_flags & NLM_F_ACK)
		ack(&b, req, 0, NULL);
}

static void mq_request(const struct nlmsghdr *req)
{
	const struct genlmsghdr *g = NLMSG_DATA(req);
	struct req r = {};
	struct buf b = {};
	const char *why;
	struct fq *q;
	int i;

	why = parse_req(req, &r);
	log_req(req, &r);
	if (why)
		return ack(&b, req, EINVAL, why);
	if (forced_errno())
		return ack(&b, req, forced_errno(), NULL);
	if (g->cmd == MQ_CMD_QUEUE_GET && (req->nlmsg_flags & NLM_F_DUMP))
		return dump(req);
	if (g->cmd != MQ_CMD_QUEUE_GET && g->cmd != MQ_CMD_STORE_GET &&
	    env("FAKEMQ_EPERM"))
		return ack(&b, req, EPERM, NULL);
	if (g->cmd >= MQ_CMD_STORE_FORMAT && g->cmd <= MQ_CMD_STORE_GET)
		return store_request(req, &r);
	if (!r.name)
		return ack(&b, req, EINVAL, "missing queue name");
	if (r.val[MQ_A_QUEUE_DURABILITY] > MQ_DURABILITY_SYNC)
		return ack_attr(&b, req, ERANGE, "integer out of range",
				r.attr[MQ_A_QUEUE_DURABILITY]);
	if (r.val[MQ_A_QUEUE_DURABILITY] && !getenv("FAKEMQ_STORE"))
		return ack_attr(&b, req, ENODEV, "durable queues need an attached store",
				r.attr[MQ_A_QUEUE_DURABILITY]);
	/* The kernel's policy: NLA_POLICY_FULL_RANGE(NLA_U32, 1..4M). */
	if ((r.set & (1ULL << MQ_A_QUEUE_MAX_MSG)) &&
	    (!r.val[MQ_A_QUEUE_MAX_MSG] ||
	     r.val[MQ_A_QUEUE_MAX_MSG] > MQ_MAX_MSG_LIMIT))
		return ack_attr(&b, req, ERANGE, "integer out of range",
				r.attr[MQ_A_QUEUE_MAX_MSG]);
	if ((r.set & (1ULL << MQ_A_QUEUE_CAP_BYTES)) &&
	    r.val[MQ_A_QUEUE_CAP_BYTES] < MQ_DEFAULT_MAX_MSG)
		return ack(&b, req, EINVAL, "capacity-bytes is smaller than max-msg");
	q = find(r.name);
	switch (g->cmd) {
	case MQ_CMD_QUEUE_NEW:
		if (!name_ok(r.name))
			return ack_attr(&b, req, EINVAL, BAD_NAME,
					r.attr[MQ_A_QUEUE_NAME]);
		if (q)
			return ack(&b, req, EEXIST, "queue exists");
		add_queue(r.name, 0, 0, r.val[MQ_A_QUEUE_DURABILITY]);
		break;
	case MQ_CMD_QUEUE_GET:
		if (!q)
			return ack_attr(&b, req, ENOENT, "no such queue",
					r.attr[MQ_A_QUEUE_NAME]);
		reply_queue(req, q, MQ_CMD_QUEUE_GET, 0, &b);
		send_buf(&b);
		break;
	case MQ_CMD_QUEUE_DEL:
		if (!q)
			return ack(&b, req, ENOENT, "no such queue");
		*q = queues[--nqueues];
		break;
	case MQ_CMD_QUEUE_SET:
		if (!q)
			return ack(&b, req, ENOENT, "no such queue");
		for (i = MQ_A_QUEUE_MAX_MSG; i <= MQ_A_QUEUE_DURABILITY; i++)
			if (r.set & (1ULL << i) && is_u32_attr(i))
				q->a32[i] = r.val[i];
		break;
	default:
		return ack(&b, req, EOPNOTSUPP, NULL);
	}
	if (req->nlmsg_flags & NLM_F_ACK)
		ack(&b, req, 0, NULL);
}

/*
 * Six events, as if someone else changed queues and the store while
 * monitor runs: three of a queue, three of the store.
 */
static void send_events(void)
{
	static const uint8_t cmds[] = {
		MQ_CMD_QUEUE_NEW, MQ_CMD_QUEUE_SET, MQ_CMD_QUEUE_DEL,
		MQ_CMD_STORE_ATTACH, MQ_CMD_STORE_GET, MQ_CMD_STORE_DETACH,
	};
	struct nlmsghdr req = {}, *nlh;
	struct buf b = {};
	size_t i;

	for (i = 0; i < sizeof(cmds); i++) {
		if (cmds[i] < MQ_CMD_STORE_FORMAT) {
			reply_queue(&req, &queues[0], cmds[i], 0, &b);
		} else {
			nlh = msg_start(&b, FAMILY_ID, 0, 0);
			genl_put(&b, nlh, cmds[i]);
			put_store(&b, nlh);
		}
		send_buf(&b);
	}
}

/* ---- the socket calls libnl makes ---- */

int socket(int domain, int type, int protocol)
{
	int sv[2];

	if (domain != AF_NETLINK || protocol != NETLINK_GENERIC)
		return real_socket(domain, type, protocol);
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	fake_fd = sv[0];
	peer_fd = sv[1];
	return fake_fd;
}

int close(int fd)
{
	if (fd == fake_fd && fd >= 0) {
		real_close(peer_fd);
		fake_fd = -1;
		peer_fd = -1;
	}
	return real_close(fd);
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	int (*real)(int, const struct sockaddr *, socklen_t) =
		dlsym(RTLD_NEXT, "bind");

	return fd == fake_fd ? 0 : real(fd, addr, len);
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	int (*real)(int, struct sockaddr *, socklen_t *) =
		dlsym(RTLD_NEXT, "getsockname");
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK, .nl_pid = getpid() };

	if (fd != fake_fd)
		return real(fd, addr, len);
	memcpy(addr, &nl, sizeof(nl));
	*len = sizeof(nl);
	return 0;
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	int (*real)(int, int, int, const void *, socklen_t) =
		dlsym(RTLD_NEXT, "setsockopt");
	int on;

	if (fd != fake_fd || level != SOL_NETLINK)
		return real(fd, level, name, val, len);
	on = *(const int *)val;
	if (name == NETLINK_EXT_ACK)
		ext_ack = on;
	else if (name == NETLINK_CAP_ACK)
		cap_ack = on && !env("FAKEMQ_NOCAP");
	else if (name == NETLINK_ADD_MEMBERSHIP && on == EVENTS_GROUP)
		send_events();
	else
		return errno = ENOPROTOOPT, -1;
	return 0;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	ssize_t (*real)(int, const struct msghdr *, int) =
		dlsym(RTLD_NEXT, "sendmsg");
	const struct nlmsghdr *nlh = msg->msg_iov[0].iov_base;

	if (fd != fake_fd)
		return real(fd, msg, flags);
	if (nlh->nlmsg_type == GENL_ID_CTRL)
		ctrl_request(nlh);
	else if (nlh->nlmsg_type == FAMILY_ID)
		mq_request(nlh);
	else
		return errno = EINVAL, -1;
	return nlh->nlmsg_len;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	ssize_t (*real)(int, struct msghdr *, int) = dlsym(RTLD_NEXT, "recvmsg");
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	ssize_t n = real(fd, msg, flags);

	if (fd == fake_fd && n >= 0 && msg->msg_name) {
		memcpy(msg->msg_name, &nl, sizeof(nl));
		msg->msg_namelen = sizeof(nl);
	}
	return n;
}
