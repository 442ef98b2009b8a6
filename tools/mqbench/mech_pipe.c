// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: a pipe shared by every producer (write end) and every consumer
 * (read end).
 *
 * A pipe has no messages, so a message must stay whole by other means:
 *   - msg <= PIPE_BUF: packet mode, pipe2(O_DIRECT). Each write of at most
 *     PIPE_BUF bytes is atomic and becomes one packet; each read returns
 *     one packet. Any number of producers and consumers.
 *   - msg > PIPE_BUF, one producer and one consumer: a plain pipe; the
 *     consumer reads exactly msg bytes (a read loop), which keeps the
 *     boundaries because nobody else writes or reads.
 *   - msg > PIPE_BUF with more processes on either end: writes are no
 *     longer atomic and reads can split messages between consumers. Not
 *     measured ("n/a").
 * Depth: F_SETPIPE_SZ so that `depth` messages fit (one page per packet,
 * or depth * msg bytes in a plain pipe), then measured.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mqbench.h"

#define PIPE_MAX_SIZE	"/proc/sys/fs/pipe-max-size"

static unsigned long saved_max_size;
static bool max_size_changed;

static bool is_stream(size_t len)
{
	return len > PIPE_BUF;
}

/* The pipe size that holds depth messages of len bytes. */
static unsigned long pipe_bytes(unsigned int depth, size_t len)
{
	/* A packet takes a whole pipe buffer (a page) however small it is. */
	unsigned long page = sysconf(_SC_PAGESIZE);
	unsigned long want = is_stream(len) ? depth * len : depth * page;
	unsigned long size = page;

	while (size < want)		/* the kernel rounds up so */
		size *= 2;
	return size;
}

/* Without CAP_SYS_RESOURCE, F_SETPIPE_SZ stops at fs.pipe-max-size. */
static int pipe_prepare(const struct bench_opts *opts)
{
	const struct bench_matrix *mx = &opts->matrix[TABLE_IPC];
	unsigned long want = 0, size;
	int i, ret;

	for (i = 0; i < mx->nsizes; i++) {
		size = pipe_bytes(opts->depth, mx->sizes[i]);
		if (size > want)
			want = size;
	}
	ret = sysctl_raise(PIPE_MAX_SIZE, want, &saved_max_size,
			   &max_size_changed);
	if (ret)
		errmsg("pipe: warning: cannot raise %s to %lu: %s",
		       PIPE_MAX_SIZE, want, strerror(-ret));
	else if (max_size_changed)
		note("pipe: %s raised from %lu to %lu for the run, restored after",
		     PIPE_MAX_SIZE, saved_max_size, want);
	return 0;
}

static void pipe_restore(void)
{
	int ret;

	if (!max_size_changed)
		return;
	ret = sysctl_write_ulong(PIPE_MAX_SIZE, saved_max_size);
	if (ret)
		errmsg("pipe: cannot restore %s to %lu: %s", PIPE_MAX_SIZE,
		       saved_max_size, strerror(-ret));
	max_size_changed = false;
}

static const char *pipe_unsupported(const struct cell *cell)
{
	if (is_stream(cell->msg_bytes) &&
	    (cell->producers > 1 || cell->consumers > 1))
		return "pipe: above PIPE_BUF (4096 B) a message stays whole only with one producer and one consumer (larger writes are not atomic, and a message read in pieces can be split between consumers)";
	return NULL;
}

static int pipe_setup(struct mech_ctx *ctx)
{
	size_t len = ctx->cell.msg_bytes;
	unsigned long want = pipe_bytes(ctx->cell.depth, len);
	int size, depth;

	ctx->stream = is_stream(len);
	if (pipe2(ctx->fd, O_CLOEXEC | (ctx->stream ? 0 : O_DIRECT)) < 0) {
		errmsg("pipe: pipe2: %s", strerror(errno));
		return -errno;
	}
	size = fcntl(ctx->fd[1], F_SETPIPE_SZ, (int)want);
	if (size < 0) {
		errmsg("pipe: F_SETPIPE_SZ %lu: %s", want, strerror(errno));
		goto err;
	}
	depth = probe_depth(ctx->fd[1], ctx->fd[0], len, ctx->stream,
			    4 * ctx->cell.depth);
	if (depth < 0) {
		errmsg("pipe: measuring depth: %s", strerror(-depth));
		goto err;
	}
	note("pipe %zu B: %s, F_SETPIPE_SZ %d bytes: holds %d messages",
	     len, ctx->stream ?
	     "plain pipe, consumer reads exactly SIZE bytes per message" :
	     "packet mode (O_DIRECT), one write/read per message", size, depth);
	return 0;
err:
	close(ctx->fd[0]);
	close(ctx->fd[1]);
	return -EIO;
}

static int pipe_open_producer(const struct mech_ctx *ctx, int id,
			      struct endpoint *ep)
{
	ep->fd = ctx->fd[1];
	return 0;
}

static int pipe_open_consumer(const struct mech_ctx *ctx, int id,
			      struct endpoint *ep)
{
	ep->fd = ctx->fd[0];
	return 0;
}

static int pipe_send(struct endpoint *ep, const void *buf, size_t len)
{
	ssize_t n = write_full(ep->fd, buf, len);

	return n < 0 ? (int)n : 0;
}

static ssize_t pipe_recv(struct endpoint *ep, void *buf, size_t cap)
{
	ssize_t n;

	if (ep->ctx->stream) {
		n = read_full(ep->fd, buf, ep->ctx->cell.msg_bytes);
		return n ? n : -EPIPE;
	}
	do {
		n = read(ep->fd, buf, cap);
	} while (n < 0 && errno == EINTR);
	if (!n)
		return -EPIPE;
	return n < 0 ? -errno : n;
}

static void pipe_teardown(struct mech_ctx *ctx)
{
	close(ctx->fd[0]);
	close(ctx->fd[1]);
}

const struct mech_ops mech_pipe = {
	.name = "pipe",
	.table = TABLE_IPC,
	.fifo = true,
	.prepare = pipe_prepare,
	.restore = pipe_restore,
	.unsupported = pipe_unsupported,
	.setup = pipe_setup,
	.open_producer = pipe_open_producer,
	.open_consumer = pipe_open_consumer,
	.send = pipe_send,
	.recv = pipe_recv,
	.teardown = pipe_teardown,
};
