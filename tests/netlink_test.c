// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink family "mq": queue new/del/get/dump/set, strict
 * validation with an extack message on every rejection, and the "events"
 * multicast group. Every rejected request must change nothing.
 */
#include <sys/sysmacros.h>
#include <sys/time.h>

#include <pthread.h>

#include "mqtest.h"
#include "kselftest_harness.h"

FIXTURE(nl) {
	struct mqt_nl nl;
	char name[64];
};

FIXTURE_SETUP(nl)
{
	ASSERT_EQ(0, mqt_nl_open(&self->nl));
	MQT_NAME(self->name, "n");
}

FIXTURE_TEARDOWN(nl)
{
	mqt_del(&self->nl, self->name);
	mqt_nl_close(&self->nl);
}

/*
 * A rejection: the expected errno and some text saying why. Two
 * statements, so a TH_LOG() may follow; use it inside braces only.
 */
#define EXPECT_REJECT(want, r)						\
	EXPECT_EQ(-(want), (r).err);					\
	EXPECT_NE(0, strlen((r).extack))

static uint32_t get_u32(struct mqt_nl *nl, const char *name, int attr)
{
	struct mqt_reply r;
	uint32_t v = 0xdeadbeef;

	if (!mqt_name_cmd(nl, MQ_CMD_QUEUE_GET, name, &r) && r.tb[attr])
		v = nla_get_u32(r.tb[attr]);
	mqt_reply_free(&r);
	return v;
}

TEST_F(nl, add_get_del)
{
	struct mqt_limits l = { .max_msg = 1000, .cap_msgs = 10,
				.cap_bytes = 5000, .mode = 0640 };
	struct mqt_reply r;
	char path[128];
	struct stat st;

	ASSERT_EQ(0, mqt_add(&self->nl, self->name, &l, NULL));
	ASSERT_EQ(0, mqt_name_cmd(&self->nl, MQ_CMD_QUEUE_GET, self->name, &r));
	EXPECT_EQ(MQ_CMD_QUEUE_GET, r.cmd);
	ASSERT_NE(NULL, r.tb[MQ_A_QUEUE_NAME]);
	EXPECT_STREQ(self->name, nla_get_string(r.tb[MQ_A_QUEUE_NAME]));
	EXPECT_EQ(1000, nla_get_u32(r.tb[MQ_A_QUEUE_MAX_MSG]));
	EXPECT_EQ(10, nla_get_u32(r.tb[MQ_A_QUEUE_CAP_MSGS]));
	EXPECT_EQ(5000, nla_get_u64(r.tb[MQ_A_QUEUE_CAP_BYTES]));
	EXPECT_EQ(0640, nla_get_u32(r.tb[MQ_A_QUEUE_MODE]));
	EXPECT_EQ(getuid(), nla_get_u32(r.tb[MQ_A_QUEUE_UID]));
	ASSERT_NE(NULL, r.tb[MQ_A_QUEUE_STATS]);
	ASSERT_NE(NULL, r.st[MQ_STAT_DEPTH_MSGS]);
	EXPECT_EQ(0, nla_get_u64(r.st[MQ_STAT_DEPTH_MSGS]));
	ASSERT_NE(NULL, r.tb[MQ_A_QUEUE_DEVT]);

	snprintf(path, sizeof(path), MQT_DEV_DIR "%s", self->name);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0640, st.st_mode & 07777);
	EXPECT_EQ(nla_get_u32(r.tb[MQ_A_QUEUE_DEVT]),
		  (uint32_t)((minor(st.st_rdev) & 0xff) |
			     (major(st.st_rdev) << 8) |
			     ((minor(st.st_rdev) & ~0xffu) << 12)));
	mqt_reply_free(&r);

	ASSERT_EQ(0, mqt_del(&self->nl, self->name));
	EXPECT_FALSE(mqt_exists(&self->nl, self->name));
	EXPECT_EQ(-1, stat(path, &st));
}

TEST_F(nl, stats_follow_traffic)
{
	struct mqt_reply r;
	char buf[64];
	int fd;

	ASSERT_EQ(0, mqt_add(&self->nl, self->name, NULL, NULL));
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(5, write(fd, "hello", 5));
	ASSERT_EQ(3, write(fd, "abc", 3));
	ASSERT_EQ(5, read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, mqt_name_cmd(&self->nl, MQ_CMD_QUEUE_GET, self->name, &r));
	EXPECT_EQ(2, nla_get_u64(r.st[MQ_STAT_MSGS_IN]));
	EXPECT_EQ(8, nla_get_u64(r.st[MQ_STAT_BYTES_IN]));
	EXPECT_EQ(1, nla_get_u64(r.st[MQ_STAT_MSGS_OUT]));
	EXPECT_EQ(5, nla_get_u64(r.st[MQ_STAT_BYTES_OUT]));
	EXPECT_EQ(1, nla_get_u64(r.st[MQ_STAT_DEPTH_MSGS]));
	EXPECT_EQ(3, nla_get_u64(r.st[MQ_STAT_DEPTH_BYTES]));
	EXPECT_EQ(2, nla_get_u64(r.st[MQ_STAT_PEAK_MSGS]));
	EXPECT_EQ(1, nla_get_u64(r.st[MQ_STAT_HEAD_OFFSET]));
	EXPECT_EQ(2, nla_get_u64(r.st[MQ_STAT_TAIL_OFFSET]));
	EXPECT_EQ(1, nla_get_u32(r.st[MQ_STAT_OPEN_FDS]));
	EXPECT_EQ(0, nla_get_u32(r.st[MQ_STAT_BLOCKED_READERS]));
	mqt_reply_free(&r);
	close(fd);
}

TEST_F(nl, invalid_names_rejected)
{
	static const char *const bad[] = {
		"", ".", "..", ".hidden", "a/b", "a b", "tab\t", "new\nline",
		"caf\xc3\xa9", "\xc3\xc9", "\xe9t\xe9", "star*", "q:1", "semi;colon", "back\\slash",
		"0123456789012345678901234567890123456789012345678901234567890123x",
	};
	struct mqt_reply r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mqt_add(&self->nl, bad[i], NULL, &r);
		EXPECT_REJECT(EINVAL, r) TH_LOG("name '%s'", bad[i]);
		EXPECT_FALSE(mqt_exists(&self->nl, bad[i]));
	}
}

TEST_F(nl, valid_name_forms)
{
	static const char *const good[] = {
		"a", "-dash", "_u", "A.b-c_D9",
		"0123456789012345678901234567890123456789012345678901234567890123",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ASSERT_EQ(0, mqt_add(&self->nl, good[i], NULL, NULL))
			TH_LOG("name '%s'", good[i]);
		EXPECT_TRUE(mqt_exists(&self->nl, good[i]));
		EXPECT_EQ(0, mqt_del(&self->nl, good[i]));
	}
}

TEST_F(nl, duplicate_name_is_eexist)
{
	struct mqt_limits l = { .max_msg = 100, .mode = -1 };
	struct mqt_reply r;

	ASSERT_EQ(0, mqt_add(&self->nl, self->name, NULL, NULL));
	mqt_add(&self->nl, self->name, &l, &r);
	EXPECT_REJECT(EEXIST, r);
	EXPECT_STREQ("queue exists", r.extack);
	EXPECT_EQ(MQ_DEFAULT_MAX_MSG,
		  get_u32(&self->nl, self->name, MQ_A_QUEUE_MAX_MSG));
}

TEST_F(nl, missing_name)
{
	static const uint8_t cmds[] = {
		MQ_CMD_QUEUE_NEW, MQ_CMD_QUEUE_DEL, MQ_CMD_QUEUE_GET,
		MQ_CMD_QUEUE_SET,
	};
	struct mqt_reply r;

	for (size_t i = 0; i < sizeof(cmds); i++) {
		struct nl_msg *msg = mqt_msg(&self->nl, cmds[i], 0);

		nla_put_u32(msg, MQ_A_QUEUE_MAX_MSG, 100);
		mqt_nl_send(&self->nl, msg, &r);
		EXPECT_REJECT(EINVAL, r) TH_LOG("cmd %d", cmds[i]);
		mqt_reply_free(&r);
	}
}

TEST_F(nl, nonexistent_queue_is_enoent)
{
	struct mqt_reply r;

	mqt_name_cmd(&self->nl, MQ_CMD_QUEUE_DEL, self->name, &r);
	EXPECT_REJECT(ENOENT, r);
	mqt_name_cmd(&self->nl, MQ_CMD_QUEUE_GET, self->name, &r);
	EXPECT_REJECT(ENOENT, r);
	mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_MODE, 0600, &r);
	EXPECT_REJECT(ENOENT, r);
	EXPECT_FALSE(mqt_exists(&self->nl, self->name));
}

TEST_F(nl, unknown_attribute_rejected)
{
	struct nl_msg *msg = mqt_msg(&self->nl, MQ_CMD_QUEUE_NEW, 0);
	struct mqt_reply r;

	nla_put_string(msg, MQ_A_QUEUE_NAME, self->name);
	nla_put_u32(msg, MQ_A_MAX + 1, 1);
	mqt_nl_send(&self->nl, msg, &r);
	EXPECT_REJECT(EINVAL, r);
	EXPECT_FALSE(mqt_exists(&self->nl, self->name));

	/* Read-only attributes are not accepted as input either. */
	msg = mqt_msg(&self->nl, MQ_CMD_QUEUE_NEW, 0);
	nla_put_string(msg, MQ_A_QUEUE_NAME, self->name);
	nla_put_u32(msg, MQ_A_QUEUE_ID, 7);
	mqt_nl_send(&self->nl, msg, &r);
	EXPECT_REJECT(EINVAL, r);
	EXPECT_FALSE(mqt_exists(&self->nl, self->name));
}

TEST_F(nl, wrong_types_rejected)
{
	struct mqt_reply r;
	struct nl_msg *msg;

	/* A u64 where a u32 belongs. */
	msg = mqt_msg(&self->nl, MQ_CMD_QUEUE_NEW, 0);
	nla_put_string(msg, MQ_A_QUEUE_NAME, self->name);
	nla_put_u64(msg, MQ_A_QUEUE_MAX_MSG, 100);
	mqt_nl_send(&self->nl, msg, &r);
	EXPECT_REJECT(EINVAL, r);

	/* A u32 where a u64 belongs. */
	msg = mqt_msg(&self->nl, MQ_CMD_QUEUE_NEW, 0);
	nla_put_string(msg, MQ_A_QUEUE_NAME, self->name);
	nla_put_u32(msg, MQ_A_QUEUE_CAP_BYTES, 100000);
	mqt_nl_send(&self->nl, msg, &r);
	EXPECT_REJECT(EINVAL, r);

	/* A name without its terminating NUL. */
	msg = mqt_msg(&self->nl, MQ_CMD_QUEUE_NEW, 0);
	nla_put(msg, MQ_A_QUEUE_NAME, 4, "abcd");
	mqt_nl_send(&self->nl, msg, &r);
	EXPECT_REJECT(EINVAL, r);
	EXPECT_FALSE(mqt_exists(&self->nl, "abcd"));

	/* A u16 mode. */
	msg = mqt_msg(&self->nl, MQ_CMD_QUEUE_NEW, 0);
	nla_put_string(msg, MQ_A_QUEUE_NAME, self->name);
	nla_put_u16(msg, MQ_A_QUEUE_MODE, 0600);
	mqt_nl_send(&self->nl, msg, &r);
	EXPECT_REJECT(EINVAL, r);
	EXPECT_FALSE(mqt_exists(&self->nl, self->name));
}

TEST_F(nl, limits_out_of_range)
{
	struct {
		struct mqt_limits l;
		int err;
	} cases[] = {
		{ { .max_msg = MQ_MAX_MSG_LIMIT + 1, .mode = -1 }, ERANGE },
		{ { .max_msg = 0xffffffff, .mode = -1 }, ERANGE },
		{ { .max_msg = 1000, .cap_bytes = 999, .mode = -1 }, ERANGE },
		{ { .mode = 01000 }, ERANGE },
		{ { .mode = 0x10000 }, ERANGE },
	};
	struct mqt_reply r;
	struct nl_msg *msg;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mqt_add(&self->nl, self->name, &cases[i].l, &r);
		EXPECT_REJECT(cases[i].err, r) TH_LOG("case %zu", i);
		EXPECT_FALSE(mqt_exists(&self->nl, self->name));
	}
	/* Zeroes (mqt_add treats 0 as "unset", so build them by hand). */
	for (int attr = MQ_A_QUEUE_MAX_MSG; attr <= MQ_A_QUEUE_CAP_BYTES;
	     attr++) {
		msg = mqt_msg(&self->nl, MQ_CMD_QUEUE_NEW, 0);
		nla_put_string(msg, MQ_A_QUEUE_NAME, self->name);
		if (attr == MQ_A_QUEUE_CAP_BYTES)
			nla_put_u64(msg, attr, 0);
		else
			nla_put_u32(msg, attr, 0);
		mqt_nl_send(&self->nl, msg, &r);
		EXPECT_REJECT(ERANGE, r) TH_LOG("attr %d = 0", attr);
		EXPECT_GE(r.bad_attr_off, 0);
		EXPECT_FALSE(mqt_exists(&self->nl, self->name));
	}
	/* The edges themselves are accepted. */
	struct mqt_limits edge = { .max_msg = MQ_MAX_MSG_LIMIT, .cap_msgs = 1,
				   .cap_bytes = MQ_MAX_MSG_LIMIT, .mode = 0 };
	ASSERT_EQ(0, mqt_add(&self->nl, self->name, &edge, NULL));
	EXPECT_EQ(0, mqt_del(&self->nl, self->name));
	edge.max_msg = 1;
	edge.cap_bytes = 1;
	ASSERT_EQ(0, mqt_add(&self->nl, self->name, &edge, NULL));
}

TEST_F(nl, set_changes_and_rejections_change_nothing)
{
	struct mqt_limits l = { .cap_bytes = 100000, .mode = -1 };
	struct mqt_reply r;
	struct nl_msg *msg;

	ASSERT_EQ(0, mqt_add(&self->nl, self->name, &l, NULL));
	EXPECT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_MAX_MSG,
				 1024, NULL));
	EXPECT_EQ(1024, get_u32(&self->nl, self->name, MQ_A_QUEUE_MAX_MSG));
	EXPECT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_CAP_MSGS,
				 7, NULL));
	EXPECT_EQ(7, get_u32(&self->nl, self->name, MQ_A_QUEUE_CAP_MSGS));

	/* max-msg above capacity-bytes: refused, nothing changes. */
	mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_MAX_MSG,
		    MQ_MAX_MSG_LIMIT, &r);
	EXPECT_REJECT(ERANGE, r);
	EXPECT_EQ(1024, get_u32(&self->nl, self->name, MQ_A_QUEUE_MAX_MSG));

	/* One bad attribute among good ones: none applied. */
	msg = mqt_msg(&self->nl, MQ_CMD_QUEUE_SET, 0);
	nla_put_string(msg, MQ_A_QUEUE_NAME, self->name);
	nla_put_u32(msg, MQ_A_QUEUE_CAP_MSGS, 99);
	nla_put_u32(msg, MQ_A_QUEUE_MODE, 07777);
	mqt_nl_send(&self->nl, msg, &r);
	EXPECT_REJECT(ERANGE, r);
	EXPECT_EQ(7, get_u32(&self->nl, self->name, MQ_A_QUEUE_CAP_MSGS));

	/* Nothing to set. */
	mqt_name_cmd(&self->nl, MQ_CMD_QUEUE_SET, self->name, &r);
	EXPECT_REJECT(EINVAL, r);
	mqt_reply_free(&r);
}

TEST_F(nl, unknown_command_rejected)
{
	struct nl_msg *msg = mqt_msg(&self->nl, MQ_CMD_MAX + 1, 0);
	struct mqt_reply r;

	nla_put_string(msg, MQ_A_QUEUE_NAME, self->name);
	mqt_nl_send(&self->nl, msg, &r);
	EXPECT_EQ(-EOPNOTSUPP, r.err);
}

static int count_cb(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[MQ_A_MAX + 1];
	const char *prefix = ((const char **)arg)[0];
	int *n = ((int **)arg)[1];

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, MQ_A_MAX, NULL) ||
	    !tb[MQ_A_QUEUE_NAME])
		return NL_SKIP;
	if (!strncmp(nla_get_string(tb[MQ_A_QUEUE_NAME]), prefix,
		     strlen(prefix)))
		(*n)++;
	return NL_OK;
}

/* Enough queues that a dump takes several messages; each seen once. */
TEST_F(nl, dump_all_queues)
{
	char prefix[32], name[64];
	const int n = 40;
	int seen = 0;
	void *arg[2] = { prefix, &seen };
	struct nl_msg *msg;

	snprintf(prefix, sizeof(prefix), "d%d-", getpid());
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%03d", prefix, i);
		ASSERT_EQ(0, mqt_add(&self->nl, name, NULL, NULL));
	}
	msg = nlmsg_alloc();
	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, self->nl.family, 0,
		    NLM_F_DUMP, MQ_CMD_QUEUE_GET, MQ_GENL_VERSION);
	ASSERT_LE(0, nl_send_auto(self->nl.sk, msg));
	nlmsg_free(msg);
	nl_socket_modify_cb(self->nl.sk, NL_CB_VALID, NL_CB_CUSTOM, count_cb,
			    arg);
	ASSERT_EQ(0, nl_recvmsgs_default(self->nl.sk));
	nl_socket_modify_cb(self->nl.sk, NL_CB_VALID, NL_CB_DEFAULT, NULL,
			    NULL);
	EXPECT_EQ(n, seen);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s%03d", prefix, i);
		EXPECT_EQ(0, mqt_del(&self->nl, name));
	}
}

struct events {
	int cmds[8];
	char names[8][72];
	int n;
};

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct events *ev = arg;
	struct nlattr *tb[MQ_A_MAX + 1];
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	if (ev->n >= 8 ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, MQ_A_MAX, NULL) ||
	    !tb[MQ_A_QUEUE_NAME])
		return NL_SKIP;
	ev->cmds[ev->n] = gh->cmd;
	snprintf(ev->names[ev->n], sizeof(ev->names[0]), "%s",
		 nla_get_string(tb[MQ_A_QUEUE_NAME]));
	ev->n++;
	return NL_OK;
}

TEST_F(nl, events_announce_new_set_del)
{
	struct timeval tv = { .tv_sec = 5 };
	struct events ev = { 0 };
	struct nl_sock *mon = nl_socket_alloc();
	int grp, want[] = { MQ_CMD_QUEUE_NEW, MQ_CMD_QUEUE_SET,
			    MQ_CMD_QUEUE_DEL };
	int got = 0;

	ASSERT_EQ(0, genl_connect(mon));
	nl_socket_disable_seq_check(mon);
	grp = genl_ctrl_resolve_grp(mon, MQ_GENL_NAME, MQ_GENL_MCGRP_EVENTS);
	ASSERT_LE(0, grp);
	ASSERT_EQ(0, nl_socket_add_membership(mon, grp));
	setsockopt(nl_socket_get_fd(mon), SOL_SOCKET, SO_RCVTIMEO, &tv,
		   sizeof(tv));
	nl_socket_modify_cb(mon, NL_CB_VALID, NL_CB_CUSTOM, event_cb, &ev);

	ASSERT_EQ(0, mqt_add(&self->nl, self->name, NULL, NULL));
	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_CAP_MSGS,
				 3, NULL));
	ASSERT_EQ(0, mqt_del(&self->nl, self->name));
	/* Events of other queues may interleave: match ours in order. */
	for (int tries = 0; tries < 10 && got < 3; tries++) {
		if (nl_recvmsgs_default(mon) < 0)
			break;
		got = 0;
		for (int i = 0; i < ev.n && got < 3; i++)
			if (!strcmp(ev.names[i], self->name) &&
			    ev.cmds[i] == want[got])
				got++;
	}
	EXPECT_EQ(3, got);
	nl_socket_free(mon);
}

/* Racing creates and deletes of one name: their events alternate. */
struct race {
	const char *name;
	int n;
};

static void *race_fn(void *arg)
{
	struct race *r = arg;
	struct mqt_nl nl;

	if (mqt_nl_open(&nl))
		return NULL;
	for (int i = 0; i < r->n; i++) {
		mqt_add(&nl, r->name, NULL, NULL);
		mqt_del(&nl, r->name);
	}
	mqt_nl_close(&nl);
	return NULL;
}

struct order {
	const char *name;
	int last;		/* the last cmd seen for the name, or 0 */
	int seen, bad;
};

static int order_cb(struct nl_msg *msg, void *arg)
{
	struct order *o = arg;
	struct nlattr *tb[MQ_A_MAX + 1];
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, MQ_A_MAX, NULL) ||
	    !tb[MQ_A_QUEUE_NAME] ||
	    strcmp(nla_get_string(tb[MQ_A_QUEUE_NAME]), o->name))
		return NL_SKIP;
	/* NEW after DEL (or first), DEL after NEW: never two in a row. */
	if (gh->cmd == o->last ||
	    (gh->cmd == MQ_CMD_QUEUE_DEL && o->last != MQ_CMD_QUEUE_NEW))
		o->bad++;
	o->last = gh->cmd;
	o->seen++;
	return NL_OK;
}

TEST_F(nl, events_come_in_the_order_of_the_changes)
{
	struct timeval tv = { .tv_usec = 500000 };
	struct race r = { .name = self->name, .n = 150 };
	struct order o = { .name = self->name };
	struct nl_sock *mon = nl_socket_alloc();
	int grp, err, rcvbuf = 1 << 24;
	pthread_t t[2];

	ASSERT_EQ(0, genl_connect(mon));
	nl_socket_disable_seq_check(mon);
	grp = genl_ctrl_resolve_grp(mon, MQ_GENL_NAME, MQ_GENL_MCGRP_EVENTS);
	ASSERT_LE(0, grp);
	ASSERT_EQ(0, nl_socket_add_membership(mon, grp));
	/* Root may pass rmem_max: no event may be dropped. */
	ASSERT_EQ(0, setsockopt(nl_socket_get_fd(mon), SOL_SOCKET,
				SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)));
	setsockopt(nl_socket_get_fd(mon), SOL_SOCKET, SO_RCVTIMEO, &tv,
		   sizeof(tv));
	nl_socket_modify_cb(mon, NL_CB_VALID, NL_CB_CUSTOM, order_cb, &o);
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, race_fn, &r));
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	/* Read until quiet; an overrun (ENOBUFS) would lose events. */
	while ((err = nl_recvmsgs_default(mon)) >= 0)
		;
	nl_socket_free(mon);
	EXPECT_NE(-NLE_NOMEM, err) TH_LOG("the events overran the socket");
	EXPECT_LT(0, o.seen);
	EXPECT_EQ(0, o.bad) TH_LOG("%d of %d events out of order", o.bad, o.seen);
	EXPECT_EQ(MQ_CMD_QUEUE_DEL, o.last);
}

TEST_HARNESS_MAIN
