// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: socketpair(AF_UNIX, SOCK_SEQPACKET); every producer sends on one
 * end, every consumer receives on the other.
 *
 * A connected unix datagram/seqpacket socket is flow-controlled only by
 * the sender's SO_SNDBUF: each queued skb charges its truesize until the
 * receiver takes it. So the depth is set by sizing SO_SNDBUF (with
 * SO_SNDBUFFORCE when allowed, past net.core.wmem_max) to `depth` skbs of
 * this message size, measured with SIOCOUTQ, and then checked by filling
 * the socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "mqbench.h"

#define SNDBUF_TRIES	6

/* The kernel doubles what it is given; want is the doubled value. */
static int set_sndbuf(int fd, long want, int *got, bool *forced)
{
	int val = (int)(want / 2);
	socklen_t len = sizeof(*got);

	*forced = !setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &val,
			      sizeof(val));
	if (!*forced &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &val, sizeof(val)))
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, got, &len))
		return -errno;
	return 0;
}

/* The memory one queued message of len bytes charges to the sender. */
static long skb_charge(struct mech_ctx *ctx, char *buf, size_t len)
{
	int queued = -1;

	if (send(ctx->fd[0], buf, len, MSG_DONTWAIT) != (ssize_t)len)
		return -errno;
	if (ioctl(ctx->fd[0], SIOCOUTQ, &queued) < 0)
		queued = -errno;
	recv(ctx->fd[1], buf, len, MSG_DONTWAIT);
	return queued;
}

static int unix_setup(struct mech_ctx *ctx)
{
	size_t len = ctx->cell.msg_bytes;
	long depth = ctx->cell.depth, charge, want;
	int got = 0, have = 0, i, ret;
	bool forced = false;
	char *msg;

	msg = calloc(1, len);
	if (!msg)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctx->fd) < 0) {
		ret = -errno;
		errmsg("unix-seqpacket: socketpair: %s", strerror(errno));
		free(msg);
		return ret;
	}
	/* Room for one message, to measure what it charges. */
	ret = set_sndbuf(ctx->fd[0], 2 * (long)len + 65536, &got, &forced);
	if (ret) {
		errmsg("unix-seqpacket: SO_SNDBUF: %s", strerror(-ret));
		goto err;
	}
	charge = skb_charge(ctx, msg, len);
	if (charge <= 0) {
		errmsg("unix-seqpacket: measuring SIOCOUTQ: %s",
		       strerror(charge ? (int)-charge : EINVAL));
		goto err;
	}
	/* depth skbs fit when sndbuf is in ((depth - 1) * charge, depth * charge] */
	want = depth * charge - charge / 2;
	for (i = 0; i < SNDBUF_TRIES; i++) {
		if (want < (long)len + 64)
			want = (long)len + 64;	/* sendmsg needs len + 32 */
		ret = set_sndbuf(ctx->fd[0], want, &got, &forced);
		if (ret) {
			errmsg("unix-seqpacket: SO_SNDBUF %ld: %s", want / 2,
			       strerror(-ret));
			goto err;
		}
		have = probe_depth(ctx->fd[0], ctx->fd[1], len, false,
				   4 * ctx->cell.depth);
		if (have < 0) {
			errmsg("unix-seqpacket: measuring depth: %s",
			       strerror(-have));
			goto err;
		}
		if (have == depth)
			break;
		want += (depth - have) * charge;
	}
	note("unix-seqpacket %zu B: SO_SNDBUF%s %ld (kernel reports %d; one message charges %ld): holds %d messages",
	     len, forced ? "FORCE" : "", want / 2, got, charge, have);
	free(msg);
	return 0;
err:
	free(msg);
	close(ctx->fd[0]);
	close(ctx->fd[1]);
	return -EIO;
}

static int unix_open_producer(const struct mech_ctx *ctx, int id,
			      struct endpoint *ep)
{
	ep->fd = ctx->fd[0];
	return 0;
}

static int unix_open_consumer(const struct mech_ctx *ctx, int id,
			      struct endpoint *ep)
{
	ep->fd = ctx->fd[1];
	return 0;
}

static int unix_send(struct endpoint *ep, const void *buf, size_t len)
{
	ssize_t n;

	do {
		n = send(ep->fd, buf, len, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static ssize_t unix_recv(struct endpoint *ep, void *buf, size_t cap)
{
	ssize_t n;

	do {
		n = recv(ep->fd, buf, cap, 0);
	} while (n < 0 && errno == EINTR);
	if (!n)
		return -EPIPE;
	return n < 0 ? -errno : n;
}

static void unix_teardown(struct mech_ctx *ctx)
{
	close(ctx->fd[0]);
	close(ctx->fd[1]);
}

const struct mech_ops mech_unix_seqpacket = {
	.name = "unix-seqpacket",
	.table = TABLE_IPC,
	.fifo = true,
	.setup = unix_setup,
	.open_producer = unix_open_producer,
	.open_consumer = unix_open_consumer,
	.send = unix_send,
	.recv = unix_recv,
	.teardown = unix_teardown,
};
