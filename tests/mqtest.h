/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the mq tests: netlink requests through libnl (with
 * raw attribute control, so tests can send malformed requests), the
 * extended ACK text of every error, and /dev/mq helpers.
 */
#ifndef MQTEST_H
#define MQTEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <linux/netlink.h>
#include <netlink/netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>
#include <linux/mq.h>

#define MQT_DEV_DIR "/dev/mq/"

struct mqt_reply {
	int err;			/* 0 or -errno */
	char extack[256];		/* the kernel's message, if any */
	int bad_attr_off;		/* NLMSGERR_ATTR_OFFS, -1 if none */
	struct nlattr *tb[MQ_A_MAX + 1];	/* first reply's attributes */
	struct nlattr *st[MQ_STAT_MAX + 1];	/* and its stats nest */
	struct nl_msg *msg;		/* owns tb/st memory */
	int nmsgs;			/* replies seen (dumps) */
	uint8_t cmd;			/* cmd of the first reply */
	bool done;			/* ack, error or end of dump seen */
};

/* Line-buffered stdout, so forked tests never print a buffer twice. */
__attribute__((constructor)) static void mqt_stdout_linebuf(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

struct mqt_nl {
	struct nl_sock *sk;
	int family;
};

static inline int mqt_nl_open(struct mqt_nl *nl)
{
	int one = 1;

	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return -ENOMEM;
	if (genl_connect(nl->sk))
		return -ENOTCONN;
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	nl->family = genl_ctrl_resolve(nl->sk, MQ_GENL_NAME);
	if (nl->family < 0)
		return -ENOENT;
	return 0;
}

static inline void mqt_nl_close(struct mqt_nl *nl)
{
	nl_socket_free(nl->sk);
}

static inline void mqt_reply_free(struct mqt_reply *r)
{
	if (r->msg)
		nlmsg_free(r->msg);
	r->msg = NULL;
}

static int mqt_err_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct mqt_reply *r = arg;
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t ack_len = sizeof(*e);
	int len;

	r->err = e->error;
	r->done = true;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		ack_len += e->msg.nlmsg_len - NLMSG_HDRLEN;
	len = nlh->nlmsg_len - NLMSG_HDRLEN - ack_len;
	if (len <= 0)
		return NL_STOP;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)e + ack_len), len, NULL))
		return NL_STOP;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(r->extack, sizeof(r->extack), "%s",
			 (char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_OFFS])
		r->bad_attr_off = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	return NL_STOP;
}

static int mqt_done_cb(struct nl_msg *msg, void *arg)
{
	((struct mqt_reply *)arg)->done = true;
	return NL_STOP;
}

static struct nla_policy mqt_stat_policy[MQ_STAT_MAX + 1];

static int mqt_valid_cb(struct nl_msg *msg, void *arg)
{
	struct mqt_reply *r = arg;
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));

	if (r->nmsgs++)
		return NL_OK;
	r->msg = msg;
	nlmsg_get(msg);
	r->cmd = gh->cmd;
	genlmsg_parse(nlmsg_hdr(msg), 0, r->tb, MQ_A_MAX, NULL);
	if (r->tb[MQ_A_QUEUE_STATS])
		nla_parse_nested(r->st, MQ_STAT_MAX, r->tb[MQ_A_QUEUE_STATS],
				 mqt_stat_policy);
	return NL_OK;
}

/*
 * Send @msg (built by the caller, genl header included) and collect the
 * answer. Returns 0 or -errno; r holds the extack text and first reply.
 */
static inline int mqt_nl_send(struct mqt_nl *nl, struct nl_msg *msg,
			      struct mqt_reply *r)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_CUSTOM);
	int err;

	memset(r, 0, sizeof(*r));
	r->bad_attr_off = -1;
	nl_cb_err(cb, NL_CB_CUSTOM, mqt_err_cb, r);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, mqt_done_cb, r);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, mqt_done_cb, r);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, mqt_valid_cb, r);
	err = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (err < 0) {
		nl_cb_put(cb);
		return r->err = -EIO;
	}
	/* Replies, then the ack (or the end of a dump) come separately. */
	do {
		err = nl_recvmsgs(nl->sk, cb);
	} while (err >= 0 && !r->done);
	nl_cb_put(cb);
	if (err < 0 && !r->err)
		r->err = -EIO;
	return r->err;
}

static inline struct nl_msg *mqt_msg(struct mqt_nl *nl, uint8_t cmd,
				     int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
		    flags | NLM_F_ACK, cmd, MQ_GENL_VERSION);
	return msg;
}

struct mqt_limits {
	uint32_t max_msg;	/* 0: default */
	uint32_t cap_msgs;	/* 0: default */
	uint64_t cap_bytes;	/* 0: default */
	int mode;		/* -1: default */
};

static inline int mqt_add(struct mqt_nl *nl, const char *name,
			  const struct mqt_limits *l, struct mqt_reply *r)
{
	struct nl_msg *msg = mqt_msg(nl, MQ_CMD_QUEUE_NEW, 0);
	struct mqt_reply tmp;

	nla_put_string(msg, MQ_A_QUEUE_NAME, name);
	if (l && l->max_msg)
		nla_put_u32(msg, MQ_A_QUEUE_MAX_MSG, l->max_msg);
	if (l && l->cap_msgs)
		nla_put_u32(msg, MQ_A_QUEUE_CAP_MSGS, l->cap_msgs);
	if (l && l->cap_bytes)
		nla_put_u64(msg, MQ_A_QUEUE_CAP_BYTES, l->cap_bytes);
	if (l && l->mode >= 0)
		nla_put_u32(msg, MQ_A_QUEUE_MODE, l->mode);
	if (!r)
		r = &tmp;
	mqt_nl_send(nl, msg, r);
	mqt_reply_free(r);
	return r->err;
}

static inline int mqt_name_cmd(struct mqt_nl *nl, uint8_t cmd,
			       const char *name, struct mqt_reply *r)
{
	struct nl_msg *msg = mqt_msg(nl, cmd, 0);
	struct mqt_reply tmp;
	int err;

	nla_put_string(msg, MQ_A_QUEUE_NAME, name);
	err = mqt_nl_send(nl, msg, r ? r : &tmp);
	if (!r)
		mqt_reply_free(&tmp);
	return err;
}

static inline bool mqt_exists(struct mqt_nl *nl, const char *name)
{
	struct mqt_reply r;
	int err = mqt_name_cmd(nl, MQ_CMD_QUEUE_GET, name, &r);

	mqt_reply_free(&r);
	return err == 0;
}

static inline int mqt_del(struct mqt_nl *nl, const char *name)
{
	return mqt_name_cmd(nl, MQ_CMD_QUEUE_DEL, name, NULL);
}

/* Set one u32 attribute of a queue. */
static inline int mqt_set_u32(struct mqt_nl *nl, const char *name, int attr,
			      uint32_t val, struct mqt_reply *r)
{
	struct nl_msg *msg = mqt_msg(nl, MQ_CMD_QUEUE_SET, 0);
	struct mqt_reply tmp;
	int err;

	nla_put_string(msg, MQ_A_QUEUE_NAME, name);
	nla_put_u32(msg, attr, val);
	err = mqt_nl_send(nl, msg, r ? r : &tmp);
	mqt_reply_free(r ? r : &tmp);
	return err;
}

static inline int mqt_open(const char *name, int flags)
{
	char path[128];

	snprintf(path, sizeof(path), MQT_DEV_DIR "%s", name);
	return open(path, flags);
}

static inline int mqt_info(int fd, struct mq_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, MQ_IOC_INFO, info) ? -errno : 0;
}

/* A name unique to this process and call site. */
#define MQT_NAME(buf, tag) \
	snprintf(buf, sizeof(buf), "t%d-%s-%d", getpid(), tag, __LINE__)

#endif /* MQTEST_H */
