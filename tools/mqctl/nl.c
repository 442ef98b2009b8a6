// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink plumbing: the socket, requests and their extended ACKs,
 * consistent dumps, and the "events" multicast group.
 *
 * libnl 3.7 neither asks for extended ACKs nor parses them, so the socket
 * sets NETLINK_EXT_ACK itself and error_cb() reads NLMSGERR_ATTR_MSG from
 * the error message's TLVs. The kernel's message is what the user sees:
 * "mqctl: [KEY: ]<extack message> (<strerror>)", or "mqctl: <strerror>"
 * without one (see kernel_error()).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <linux/mq.h>

#include "mqctl.h"
#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

#define DUMP_TRIES	3		/* restarts of a dump the kernel interrupted */
#define EVENTS_RCVBUF	(1 << 20)	/* room for bursts before events are lost */

static struct nl_sock *sock;
static int family;

const struct nla_policy mq_policy[MQ_A_MAX + 1] = {
	[MQ_A_QUEUE_NAME]	= { .type = NLA_STRING, .maxlen = MQ_NAME_MAX + 1 },
	[MQ_A_QUEUE_ID]		= MQ_NLA_U32,
	[MQ_A_QUEUE_MAX_MSG]	= MQ_NLA_U32,
	[MQ_A_QUEUE_CAP_MSGS]	= MQ_NLA_U32,
	[MQ_A_QUEUE_CAP_BYTES]	= MQ_NLA_U64,
	[MQ_A_QUEUE_MODE]	= MQ_NLA_U32,
	[MQ_A_QUEUE_UID]	= MQ_NLA_U32,
	[MQ_A_QUEUE_GID]	= MQ_NLA_U32,
	[MQ_A_QUEUE_DEVT]	= MQ_NLA_U32,
	[MQ_A_QUEUE_STATS]	= { .type = NLA_NESTED },
	[MQ_A_QUEUE_DURABILITY]	= MQ_NLA_U32,
	[MQ_A_STORE_PATH]	= { .type = NLA_STRING, .maxlen = PATH_MAX },
	[MQ_A_STORE_SEGMENT_SIZE] = MQ_NLA_U32,
	[MQ_A_STORE_FLUSH_MS]	= MQ_NLA_U32,
	[MQ_A_STORE_INFO]	= { .type = NLA_NESTED },
	[MQ_A_QUEUE_IDENT]	= MQ_NLA_U64,
};

/* What errors mean when neither the request nor the kernel says more. */
static const struct mq_errtext default_texts[] = {
	MQ_ERRTEXT(EPERM,	"permission denied: this needs CAP_NET_ADMIN"),
	MQ_ERRTEXT(EACCES,	"permission denied: this needs CAP_NET_ADMIN"),
	MQ_ERRTEXT(EOPNOTSUPP,	"the loaded mq module does not know this request; is it older than mqctl?"),
	{}
};

/* One request in flight: where replies go, and how it ended. */
struct xfer {
	struct nl_msg *req;
	mq_reply_fn fn;
	void *arg;
	const struct mq_errtext *texts;	/* the request's, or NULL */
	bool done;		/* ACK or NLMSG_DONE seen */
	int reply_err;		/* -NLE_* from fn */
	int error;		/* errno the kernel answered with */
	char msg[256];		/* the kernel's extended ACK message */
	const char *bad_key;	/* the key of the attribute it blamed, or NULL */
};

/**
 * mq_nl_open() - connect to the "mq" generic netlink family
 *
 * Return: MQCTL_EXIT_OK; MQCTL_EXIT_NOKERNEL if netlink or the family is
 * not there (the module is not loaded).
 */
int mq_nl_open(void)
{
	int one = 1, err;

	sock = nl_socket_alloc();
	if (!sock)
		return fail(MQCTL_EXIT_KERNEL, "out of memory");
	err = genl_connect(sock);
	if (err < 0)
		return fail(MQCTL_EXIT_NOKERNEL, "cannot open a generic netlink socket: %s",
			    nl_geterror(err));
	/* Both are best effort: a kernel without them just sends less. */
	setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl_socket_enable_msg_peek(sock);	/* dump batches exceed a page */

	family = genl_ctrl_resolve(sock, MQ_GENL_NAME);
	if (family == -NLE_OBJ_NOTFOUND)
		return fail(MQCTL_EXIT_NOKERNEL,
			    "the mq module is not loaded (modprobe mq)");
	if (family < 0)
		return fail(MQCTL_EXIT_NOKERNEL, "cannot look up the \"%s\" family: %s",
			    MQ_GENL_NAME, nl_geterror(family));
	return MQCTL_EXIT_OK;
}

/**
 * mq_nl_close() - close the socket mq_nl_open() opened, if any
 */
void mq_nl_close(void)
{
	nl_socket_free(sock);
	sock = NULL;
}

/**
 * mq_msg_new() - a request to the "mq" family, version MQ_GENL_VERSION
 * @cmd: MQ_CMD_*
 * @flags: extra netlink flags (NLM_F_DUMP)
 * @room: bytes of attributes it must hold
 *
 * Sized by the caller, so that even an absurdly long queue name reaches
 * the kernel, which judges it.
 *
 * Return: the message, NULL when out of memory.
 */
struct nl_msg *mq_msg_new(uint8_t cmd, int flags, size_t room)
{
	struct nl_msg *msg = nlmsg_alloc_size(NLMSG_HDRLEN + GENL_HDRLEN + room);

	if (msg && !genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, family, 0,
				flags, cmd, MQ_GENL_VERSION)) {
		nlmsg_free(msg);
		msg = NULL;
	}
	return msg;
}

/* The command line's word for the attribute at @off in the request. */
static const char *bad_attr(const struct xfer *x, uint32_t off)
{
	struct nlmsghdr *req = nlmsg_hdr(x->req);

	if (off < NLMSG_HDRLEN || off + NLA_HDRLEN > req->nlmsg_len)
		return NULL;
	return mq_attr_word(nla_type((struct nlattr *)((char *)req + off)));
}

/* Reads the extended ACK TLVs at @off in @nlh's payload. */
static void ext_ack(struct xfer *x, struct nlmsghdr *nlh, size_t off)
{
	static const struct nla_policy policy[NLMSGERR_ATTR_MAX + 1] = {
		[NLMSGERR_ATTR_MSG] = { .type = NLA_STRING },
		[NLMSGERR_ATTR_OFFS] = { .type = NLA_U32 },
	};
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	size_t len = nlmsg_datalen(nlh);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off > len)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)nlmsg_data(nlh) + off),
		      len - off, policy) < 0)
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(x->msg, sizeof(x->msg), "%s",
			 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
	if (tb[NLMSGERR_ATTR_OFFS] && x->req)
		x->bad_key = bad_attr(x, nla_get_u32(tb[NLMSGERR_ATTR_OFFS]));
}

static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct xfer *x = arg;
	size_t off = sizeof(*e);

	x->error = -e->error;
	/* Without NETLINK_CAP_ACK the request's payload sits before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < NLMSG_HDRLEN)
			return NL_STOP;
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	}
	ext_ack(x, nlh, off);
	return NL_STOP;
}

/* NLMSG_DONE ends a dump; a dump that failed carries -errno in it. */
static int finish_cb(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct xfer *x = arg;
	int err;

	x->done = true;
	if (nlmsg_datalen(nlh) >= (int)sizeof(err)) {
		memcpy(&err, nlmsg_data(nlh), sizeof(err));
		if (err < 0) {
			x->error = -err;
			ext_ack(x, nlh, NLMSG_ALIGN(sizeof(err)));
		}
	}
	return NL_STOP;
}

static int ack_cb(struct nl_msg *msg, void *arg)
{
	struct xfer *x = arg;

	x->done = true;
	return NL_STOP;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct xfer *x = arg;

	if (x->fn)
		x->reply_err = x->fn(nlmsg_hdr(msg), x->arg);
	return x->reply_err ? NL_STOP : NL_OK;
}

static int no_seq_check(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

static struct nl_cb *xfer_cb(struct xfer *x)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		return NULL;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, ack_cb, x);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, finish_cb, x);
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, x);
	return cb;
}

/* Sends @msg, reads until its ACK or NLMSG_DONE. Returns 0 or -NLE_*. */
static int transact(struct nl_msg *msg, struct xfer *x)
{
	struct nl_cb *cb = xfer_cb(x);
	int err;

	if (!cb)
		return -NLE_NOMEM;
	x->req = msg;
	err = nl_send_auto(sock, msg);
	while (err >= 0 && !x->done && !x->reply_err)
		err = nl_recvmsgs(sock, cb);
	nl_cb_put(cb);
	return err < 0 ? err : 0;
}

static const char *errtext(const struct mq_errtext *t, int error)
{
	while (t) {
		for (; t->error; t++)
			if (t->error == error)
				return t->text;
		t = t->more;
	}
	return NULL;
}

/*
 * "mqctl: [KEY: ]MESSAGE (STRERROR)": KEY when the kernel blamed an
 * attribute its message does not already name ("integer out of range").
 * Without a message from the kernel, the request's own text for the
 * error, else a default one, else STRERROR alone.
 */
static int kernel_error(const struct xfer *x)
{
	int code = x->error == EPERM || x->error == EACCES ?
		   MQCTL_EXIT_PERM : MQCTL_EXIT_KERNEL;
	const char *why = strerror(x->error), *key = x->bad_key;
	const char *text = x->msg;
	char prefix[64] = "";

	if (key && !strstr(x->msg, key))
		snprintf(prefix, sizeof(prefix), "%s: ", key);
	if (!text[0])
		text = errtext(x->texts, x->error) ?:
		       errtext(default_texts, x->error);
	if (text)
		return fail(code, "%s%s (%s)", prefix, text, why);
	return fail(code, "%s%s", prefix, why);
}

/* How a request ended, as an exit code, with the message printed. */
static int xfer_result(const struct xfer *x, int err)
{
	if (x->error)
		return kernel_error(x);
	if (x->reply_err)
		return fail(MQCTL_EXIT_KERNEL, "malformed reply from the kernel: %s",
			    nl_geterror(x->reply_err));
	if (err < 0)
		return fail(MQCTL_EXIT_KERNEL, "netlink: %s", nl_geterror(err));
	return MQCTL_EXIT_OK;
}

/**
 * mq_request() - send a request and wait for its answer
 * @msg: from mq_msg_new(); freed here
 * @fn: called for each reply message; NULL: replies are ignored
 * @arg: passed to @fn
 * @texts: what errors mean for this request when the kernel does not say
 *	(tried before the defaults); NULL: the defaults only
 *
 * Return: an MQCTL_EXIT_* code; errors are already printed.
 */
int mq_request(struct nl_msg *msg, mq_reply_fn fn, void *arg,
	       const struct mq_errtext *texts)
{
	struct xfer x = { .fn = fn, .arg = arg, .texts = texts };
	int err = transact(msg, &x);

	nlmsg_free(msg);
	return xfer_result(&x, err);
}

/**
 * mq_dump() - dump all objects of a kind, restarting if the set changed
 * @cmd: MQ_CMD_* to send with NLM_F_DUMP
 * @fn: called for each object's message
 * @restart: forgets what @fn collected so far, before a restart
 * @arg: passed to @fn and @restart
 *
 * A dump the kernel marks NLM_F_DUMP_INTR (objects came or went while it
 * ran) is restarted; after DUMP_TRIES such dumps the last one is kept and
 * a warning printed.
 *
 * Return: an MQCTL_EXIT_* code; errors are already printed.
 */
int mq_dump(uint8_t cmd, mq_reply_fn fn, void (*restart)(void *arg),
	    void *arg)
{
	struct nl_msg *msg;
	int try, err;

	for (try = 1;; try++) {
		struct xfer x = { .fn = fn, .arg = arg };

		msg = mq_msg_new(cmd, NLM_F_DUMP, 0);
		if (!msg)
			return fail(MQCTL_EXIT_KERNEL, "out of memory");
		err = transact(msg, &x);
		nlmsg_free(msg);
		if (err != -NLE_DUMP_INTR || x.error || x.reply_err)
			return xfer_result(&x, err);
		if (try == DUMP_TRIES) {
			fputs("mqctl: warning: queues kept changing during the dump; the list may be inconsistent\n",
			      stderr);
			return MQCTL_EXIT_OK;
		}
		restart(arg);
	}
}

/**
 * mq_events_join() - subscribe to the "events" group, for mq_events_read()
 *
 * The socket becomes non-blocking, to be polled on mq_events_fd().
 *
 * Return: an MQCTL_EXIT_* code; errors are already printed.
 */
int mq_events_join(void)
{
	int group, err;

	group = genl_ctrl_resolve_grp(sock, MQ_GENL_NAME, MQ_GENL_MCGRP_EVENTS);
	if (group == -NLE_OBJ_NOTFOUND)
		return fail(MQCTL_EXIT_NOKERNEL,
			    "the mq module has no \"%s\" group; is it older than mqctl?",
			    MQ_GENL_MCGRP_EVENTS);
	if (group < 0)
		return fail(MQCTL_EXIT_NOKERNEL, "cannot look up the \"%s\" group: %s",
			    MQ_GENL_MCGRP_EVENTS, nl_geterror(group));
	err = nl_socket_add_membership(sock, group);
	if (err == -NLE_PERM || err == -NLE_NOACCESS)
		return fail(MQCTL_EXIT_PERM, "permission denied: cannot join the \"%s\" group (%s)",
			    MQ_GENL_MCGRP_EVENTS, nl_geterror(err));
	if (err < 0)
		return fail(MQCTL_EXIT_KERNEL, "cannot join the \"%s\" group: %s",
			    MQ_GENL_MCGRP_EVENTS, nl_geterror(err));
	nl_socket_set_buffer_size(sock, EVENTS_RCVBUF, 0);
	nl_socket_set_nonblocking(sock);
	return MQCTL_EXIT_OK;
}

/**
 * mq_events_fd() - the descriptor to poll for events
 */
int mq_events_fd(void)
{
	return nl_socket_get_fd(sock);
}

/**
 * mq_events_read() - handle the events that are waiting, without blocking
 * @fn: called for each event message
 * @arg: passed to @fn
 *
 * Events lost to a full receive buffer are reported on stderr, not fatal.
 *
 * Return: an MQCTL_EXIT_* code; errors are already printed.
 */
int mq_events_read(mq_reply_fn fn, void *arg)
{
	struct xfer x = { .fn = fn, .arg = arg };
	struct nl_cb *cb = xfer_cb(&x);
	int err;

	if (!cb)
		return fail(MQCTL_EXIT_KERNEL, "out of memory");
	/* Events are not answers: they carry no sequence number of ours. */
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, no_seq_check, NULL);
	err = nl_recvmsgs(sock, cb);
	nl_cb_put(cb);
	if (err == -NLE_AGAIN)
		return MQCTL_EXIT_OK;
	if (err == -NLE_NOMEM && !x.reply_err) {	/* ENOBUFS */
		fprintf(stderr, "mqctl: warning: events were lost (receive buffer overrun)\n");
		return MQCTL_EXIT_OK;
	}
	return xfer_result(&x, err);
}

/**
 * mq_parse() - validate a description: its attributes and its one nest
 * @nlh: a reply, dump or event message
 * @tb: its attributes, MQ_A_MAX + 1 of them, checked against mq_policy
 * @nest: the MQ_A_* of the nest (MQ_A_QUEUE_STATS, MQ_A_STORE_INFO)
 * @nb: the nest's attributes, @nest_max + 1 of them; all NULL without it
 * @nest_max: the highest type in the nest
 * @nest_policy: their wire types
 *
 * Attributes this mqctl does not know (from a newer kernel) are ignored;
 * known ones of the wrong size make the message malformed.
 *
 * Return: 0, or a negative libnl error.
 */
int mq_parse(struct nlmsghdr *nlh, struct nlattr **tb, int nest,
	     struct nlattr **nb, int nest_max,
	     const struct nla_policy *nest_policy)
{
	int err;

	memset(nb, 0, (nest_max + 1) * sizeof(*nb));
	err = genlmsg_parse(nlh, 0, tb, MQ_A_MAX, mq_policy);
	if (!err && tb[nest])
		err = nla_parse_nested(nb, nest_max, tb[nest], nest_policy);
	return err;
}

/**
 * mq_get_numbers() - the u32 and u64 attributes of a parsed message
 * @tb: the attributes, indexed by type
 * @policy: their wire types
 * @max: the highest type
 * @val: the values, indexed by type
 * @has: BIT_ULL(type) is set for each number present
 */
void mq_get_numbers(struct nlattr **tb, const struct nla_policy *policy,
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
