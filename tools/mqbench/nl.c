// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: requests to the generic netlink family "mq", over libnl: the
 * queues of the devmq mechanisms, and the store under devmq-async and
 * devmq-sync (format, attach, detach, its counters).
 *
 * Each request opens its own socket: there are only a few per cell, and
 * the producers and consumers forked later inherit no socket. libnl 3.7
 * neither asks for extended ACKs nor parses them, so the socket sets
 * NETLINK_EXT_ACK itself and error_cb() reads NLMSGERR_ATTR_MSG. A failed
 * request is described as "'WHAT' failed: <the kernel's message> (<strerror>)",
 * WHAT being the request in mqctl's words, so that it can be repeated by
 * hand.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <linux/mq.h>

#include "mqbench.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK	270
#endif

typedef int (*reply_fn)(struct nlmsghdr *nlh, void *arg);

/* One request, and how it ended. */
struct request {
	uint8_t cmd;		/* MQ_CMD_* */
	char what[256];		/* the request in mqctl's words */
	struct nl_msg *msg;
	int build_err;		/* -NLE_* from putting its attributes */
	reply_fn reply;		/* for each reply message, or NULL */
	void *arg;
	bool done;		/* ACK or NLMSG_DONE seen */
	int error;		/* the errno the kernel answered with */
	int reply_err;		/* -NLE_* from reply */
	char ext[256];		/* the kernel's extended ACK message */
};

static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	static const struct nla_policy policy[NLMSGERR_ATTR_MAX + 1] = {
		[NLMSGERR_ATTR_MSG] = { .type = NLA_STRING },
	};
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	struct request *rq = arg;
	size_t off = sizeof(*e);

	rq->error = -e->error;
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return NL_STOP;
	/* Without NETLINK_CAP_ACK the request's payload sits before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	if (NLMSG_HDRLEN + off >= nlh->nlmsg_len ||
	    nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)((char *)e + off),
		      nlh->nlmsg_len - NLMSG_HDRLEN - off, policy) < 0)
		return NL_STOP;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(rq->ext, sizeof(rq->ext), "%s",
			 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
	return NL_STOP;
}

static int done_cb(struct nl_msg *msg, void *arg)
{
	((struct request *)arg)->done = true;
	return NL_STOP;
}

static int valid_cb(struct nl_msg *msg, void *arg)
{
	struct request *rq = arg;

	if (rq->reply)
		rq->reply_err = rq->reply(nlmsg_hdr(msg), rq->arg);
	return rq->reply_err ? NL_STOP : NL_OK;
}

/* A socket connected to the "mq" family, whose id lands in *family. */
static struct nl_sock *mq_connect(int *family, char *why, size_t len)
{
	struct nl_sock *sock = nl_socket_alloc();
	int one = 1, err;

	if (!sock) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	err = genl_connect(sock);
	if (err < 0) {
		snprintf(why, len, "cannot open a generic netlink socket: %s",
			 nl_geterror(err));
		goto err_free;
	}
	/* Best effort: without them errors just come without the text. */
	setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(sock), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	*family = genl_ctrl_resolve(sock, MQ_GENL_NAME);
	if (*family >= 0)
		return sock;
	if (*family == -NLE_OBJ_NOTFOUND)
		snprintf(why, len, "the mq module is not loaded (no generic netlink family \"%s\")",
			 MQ_GENL_NAME);
	else
		snprintf(why, len, "cannot look up the generic netlink family \"%s\": %s",
			 MQ_GENL_NAME, nl_geterror(*family));
err_free:
	nl_socket_free(sock);
	return NULL;
}

/* Starts a request; its family is filled in by request_run(). */
static void request_init(struct request *rq, uint8_t cmd)
{
	memset(rq, 0, sizeof(*rq));
	rq->cmd = cmd;
	rq->msg = nlmsg_alloc();
	if (!rq->msg)
		rq->build_err = -NLE_NOMEM;
	else if (!genlmsg_put(rq->msg, NL_AUTO_PORT, NL_AUTO_SEQ, 0, 0, 0, cmd,
			      MQ_GENL_VERSION))
		rq->build_err = -NLE_MSGSIZE;
}

/* Sends it, reads until its ACK, frees it; why says what went wrong. */
static int request_exchange(struct request *rq, char *why, size_t len)
{
	struct nl_sock *sock;
	struct nl_cb *cb;
	int family, err;

	sock = mq_connect(&family, why, len);
	if (!sock)
		return -ENOENT;
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nl_socket_free(sock);
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, valid_cb, rq);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, done_cb, rq);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, done_cb, rq);
	nl_cb_err(cb, NL_CB_CUSTOM, error_cb, rq);
	nlmsg_hdr(rq->msg)->nlmsg_type = family;
	err = nl_send_auto(sock, rq->msg);
	while (err >= 0 && !rq->done && !rq->reply_err)
		err = nl_recvmsgs(sock, cb);
	nl_cb_put(cb);
	nl_socket_free(sock);

	if (rq->error) {
		const char *text = rq->ext;

		if (!*text && (rq->error == EPERM || rq->error == EACCES))
			text = "permission denied: mqbench must run as root";
		snprintf(why, len, "'%s' failed: %s%s%s%s", rq->what, text,
			 *text ? " (" : "", strerror(rq->error),
			 *text ? ")" : "");
		return -rq->error;
	}
	if (rq->reply_err) {
		snprintf(why, len, "'%s': malformed reply from the kernel: %s",
			 rq->what, nl_geterror(rq->reply_err));
		return -EPROTO;
	}
	if (err < 0) {
		snprintf(why, len, "'%s' failed: netlink: %s", rq->what,
			 nl_geterror(err));
		return -EIO;
	}
	return 0;
}

/* Runs a request built by request_init() and nla_put*(). */
static int request_run(struct request *rq, char *why, size_t len)
{
	int ret;

	if (rq->build_err) {
		snprintf(why, len, "'%s': cannot build the request: %s",
			 rq->what, nl_geterror(rq->build_err));
		ret = -ENOMEM;
	} else {
		ret = request_exchange(rq, why, len);
	}
	nlmsg_free(rq->msg);
	/* Only what changes something: STORE_GET comes twice a run. */
	if (!ret && rq->cmd != MQ_CMD_STORE_GET && bench_opts->verbose)
		errmsg("netlink: '%s': done", rq->what);
	return ret;
}

/**
 * durability_name() - mqctl's word for a durability
 * @durability: MQ_DURABILITY_*
 *
 * Return: "memory", "async" or "sync".
 */
const char *durability_name(uint32_t durability)
{
	static const char *const names[] = {
		[MQ_DURABILITY_MEMORY] = "memory",
		[MQ_DURABILITY_ASYNC] = "async",
		[MQ_DURABILITY_SYNC] = "sync",
	};

	return durability < ARRAY_SIZE(names) ? names[durability] : "?";
}

/**
 * mqnl_queue_new() - create the cell's queue, ctx->name
 * @ctx: the cell: depth (capacity in messages) and message size
 * @durability: MQ_DURABILITY_*; memory is the kernel's default, not sent
 * @why: what failed, on failure
 * @len: its size
 *
 * The queue holds ctx->cell.depth messages of up to msg_bytes each.
 *
 * Return: 0, or a negative errno.
 */
int mqnl_queue_new(const struct mech_ctx *ctx, uint32_t durability,
		   char *why, size_t len)
{
	uint64_t cap_bytes = (uint64_t)ctx->cell.depth * ctx->cell.msg_bytes;
	struct request rq;

	request_init(&rq, MQ_CMD_QUEUE_NEW);
	snprintf(rq.what, sizeof(rq.what),
		 "queue add %s capacity-msgs %u capacity-bytes %llu max-msg %zu%s%s",
		 ctx->name, ctx->cell.depth, (unsigned long long)cap_bytes,
		 ctx->cell.msg_bytes,
		 durability == MQ_DURABILITY_MEMORY ? "" : " durability ",
		 durability == MQ_DURABILITY_MEMORY ? "" :
		 durability_name(durability));
	if (!rq.build_err)
		rq.build_err =
			nla_put_string(rq.msg, MQ_A_QUEUE_NAME, ctx->name) ?:
			nla_put_u32(rq.msg, MQ_A_QUEUE_CAP_MSGS, ctx->cell.depth) ?:
			nla_put_u64(rq.msg, MQ_A_QUEUE_CAP_BYTES, cap_bytes) ?:
			nla_put_u32(rq.msg, MQ_A_QUEUE_MAX_MSG, ctx->cell.msg_bytes);
	if (!rq.build_err && durability != MQ_DURABILITY_MEMORY)
		rq.build_err = nla_put_u32(rq.msg, MQ_A_QUEUE_DURABILITY,
					   durability);
	return request_run(&rq, why, len);
}

/**
 * mqnl_queue_del() - delete a queue
 * @name: its name
 * @why: what failed, on failure
 * @len: its size
 *
 * Return: 0, or a negative errno.
 */
int mqnl_queue_del(const char *name, char *why, size_t len)
{
	struct request rq;

	request_init(&rq, MQ_CMD_QUEUE_DEL);
	snprintf(rq.what, sizeof(rq.what), "queue del %s", name);
	if (!rq.build_err)
		rq.build_err = nla_put_string(rq.msg, MQ_A_QUEUE_NAME, name);
	return request_run(&rq, why, len);
}

/**
 * mqnl_store() - format, attach or detach the store
 * @cmd: MQ_CMD_STORE_FORMAT, MQ_CMD_STORE_ATTACH or MQ_CMD_STORE_DETACH
 * @dev: the block device; NULL for detach
 * @why: what failed, on failure
 * @len: its size
 *
 * Format overwrites @dev without the checks 'mqctl store format' makes
 * unless told "force".
 * Segment size and flush interval are left at the kernel's defaults.
 *
 * Return: 0, or a negative errno.
 */
int mqnl_store(uint8_t cmd, const char *dev, char *why, size_t len)
{
	struct request rq;

	request_init(&rq, cmd);
	/* mqctl needs "force" for what this request always does. */
	snprintf(rq.what, sizeof(rq.what), "store %s%s%s%s",
		 cmd == MQ_CMD_STORE_FORMAT ? "format" :
		 cmd == MQ_CMD_STORE_ATTACH ? "attach" : "detach",
		 dev ? " " : "", dev ?: "",
		 cmd == MQ_CMD_STORE_FORMAT ? " force" : "");
	if (!rq.build_err && dev)
		rq.build_err = nla_put_string(rq.msg, MQ_A_STORE_PATH, dev);
	return request_run(&rq, why, len);
}

/**
 * mqnl_store_format() - format @dev with segments of @seg_size bytes
 * @dev: the block device (its contents are lost)
 * @seg_size: a power of two, 1 to 64 MiB
 * @why: what failed, on failure
 * @len: its size
 *
 * Return: 0, or a negative errno.
 */
int mqnl_store_format(const char *dev, uint32_t seg_size, char *why,
		      size_t len)
{
	struct request rq;

	request_init(&rq, MQ_CMD_STORE_FORMAT);
	snprintf(rq.what, sizeof(rq.what), "store format %s segment-size %u force",
		 dev, seg_size);
	if (!rq.build_err)
		rq.build_err = nla_put_string(rq.msg, MQ_A_STORE_PATH, dev) ?:
			nla_put_u32(rq.msg, MQ_A_STORE_SEGMENT_SIZE, seg_size);
	return request_run(&rq, why, len);
}

static int store_info_reply(struct nlmsghdr *nlh, void *arg)
{
	static const struct nla_policy policy[MQ_A_MAX + 1] = {
		[MQ_A_STORE_INFO] = { .type = NLA_NESTED },
	};
	static const struct nla_policy sstat_policy[MQ_SSTAT_MAX + 1] = {
		[MQ_SSTAT_SIZE] = { .type = NLA_U64 },
		[MQ_SSTAT_SEGMENT_SIZE] = { .type = NLA_U32 },
		[MQ_SSTAT_FLUSH_MS] = { .type = NLA_U32 },
		[MQ_SSTAT_FLUSHES] = { .type = NLA_U64 },
		[MQ_SSTAT_MOVED_RECORDS] = { .type = NLA_U64 },
		[MQ_SSTAT_MOVED_BYTES] = { .type = NLA_U64 },
	};
	struct nlattr *tb[MQ_A_MAX + 1], *sb[MQ_SSTAT_MAX + 1];
	struct store_info *si = arg;
	int err;

	err = genlmsg_parse(nlh, 0, tb, MQ_A_MAX, policy);
	if (err)
		return err;
	if (!tb[MQ_A_STORE_INFO])
		return -NLE_MISSING_ATTR;
	err = nla_parse_nested(sb, MQ_SSTAT_MAX, tb[MQ_A_STORE_INFO],
			       sstat_policy);
	if (err)
		return err;
	if (sb[MQ_SSTAT_SIZE])
		si->size = nla_get_u64(sb[MQ_SSTAT_SIZE]);
	if (sb[MQ_SSTAT_SEGMENT_SIZE])
		si->segment_size = nla_get_u32(sb[MQ_SSTAT_SEGMENT_SIZE]);
	if (sb[MQ_SSTAT_FLUSH_MS])
		si->flush_ms = nla_get_u32(sb[MQ_SSTAT_FLUSH_MS]);
	if (sb[MQ_SSTAT_MOVED_RECORDS])
		si->moved_records = nla_get_u64(sb[MQ_SSTAT_MOVED_RECORDS]);
	if (sb[MQ_SSTAT_MOVED_BYTES])
		si->moved_bytes = nla_get_u64(sb[MQ_SSTAT_MOVED_BYTES]);
	si->have_flushes = sb[MQ_SSTAT_FLUSHES];
	if (si->have_flushes)
		si->flushes = nla_get_u64(sb[MQ_SSTAT_FLUSHES]);
	return 0;
}

/**
 * mqnl_store_info() - the attached store's MQ_A_STORE_INFO
 * @si: filled on success (absent numbers are 0)
 * @why: what failed, on failure
 * @len: its size
 *
 * Return: 0, or a negative errno (-ENODEV: no store attached).
 */
int mqnl_store_info(struct store_info *si, char *why, size_t len)
{
	struct request rq;

	memset(si, 0, sizeof(*si));
	request_init(&rq, MQ_CMD_STORE_GET);
	snprintf(rq.what, sizeof(rq.what), "store show");
	rq.reply = store_info_reply;
	rq.arg = si;
	return request_run(&rq, why, len);
}
