// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: POSIX message queues, mq_send()/mq_receive(), priority 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "mqbench.h"

#define MSG_MAX		"/proc/sys/fs/mqueue/msg_max"
#define MSGSIZE_MAX	"/proc/sys/fs/mqueue/msgsize_max"

static struct {
	const char *path;
	unsigned long saved;
	bool changed;
} sysctls[] = {
	{ .path = MSG_MAX }, { .path = MSGSIZE_MAX },
};

static int posix_mq_prepare(const struct bench_opts *opts)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	unsigned long long need;
	unsigned long want[] = { opts->depth, opts->max_size };
	unsigned int i;
	int ret;

	if (access(MSG_MAX, F_OK)) {
		errmsg("posix-mq: %s: %s (kernel without POSIX message queues?)",
		       MSG_MAX, strerror(errno));
		return -ENOENT;
	}
	/*
	 * A queue charges about depth * size bytes to RLIMIT_MSGQUEUE, and
	 * only CAP_SYS_RESOURCE may raise the hard limit.
	 */
	need = (unsigned long long)opts->depth * opts->max_size;
	if (setrlimit(RLIMIT_MSGQUEUE, &rl) == 0) {
		note("posix-mq: RLIMIT_MSGQUEUE set to unlimited");
	} else if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MSGQUEUE, &rl);
		if (rl.rlim_max < need)
			errmsg("posix-mq: warning: RLIMIT_MSGQUEUE is %llu bytes and cannot be raised (no CAP_SYS_RESOURCE): queues of %u x %zu B will fail",
			       (unsigned long long)rl.rlim_max, opts->depth,
			       opts->max_size);
	}
	for (i = 0; i < ARRAY_SIZE(sysctls); i++) {
		ret = sysctl_raise(sysctls[i].path, want[i], &sysctls[i].saved,
				   &sysctls[i].changed);
		if (ret)
			errmsg("posix-mq: warning: cannot raise %s to %lu: %s",
			       sysctls[i].path, want[i], strerror(-ret));
		else if (sysctls[i].changed)
			note("posix-mq: %s raised from %lu to %lu for the run, restored after",
			     sysctls[i].path, sysctls[i].saved, want[i]);
	}
	return 0;
}

static void posix_mq_restore(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(sysctls); i++) {
		if (!sysctls[i].changed)
			continue;
		ret = sysctl_write_ulong(sysctls[i].path, sysctls[i].saved);
		if (ret)
			errmsg("posix-mq: cannot restore %s to %lu: %s",
			       sysctls[i].path, sysctls[i].saved,
			       strerror(-ret));
		sysctls[i].changed = false;
	}
}

static int posix_mq_setup(struct mech_ctx *ctx)
{
	struct mq_attr attr = {
		.mq_maxmsg = ctx->cell.depth,
		.mq_msgsize = (long)ctx->cell.msg_bytes,
	};
	mqd_t q;

	snprintf(ctx->name, sizeof(ctx->name), "/mqbench-%d-%u", (int)getpid(),
		 ctx->seq);
	q = mq_open(ctx->name, O_RDWR | O_CREAT | O_EXCL, 0600,
		    &attr);
	if (q == (mqd_t)-1) {
		int err = errno;

		errmsg("posix-mq: mq_open(%s, mq_maxmsg %ld, mq_msgsize %ld): %s%s",
		       ctx->name, attr.mq_maxmsg, attr.mq_msgsize,
		       strerror(err), err == EMFILE ?
		       " (RLIMIT_MSGQUEUE too low for this queue)" : "");
		return -err;
	}
	mq_close(q);
	note("posix-mq: a queue per cell, mq_maxmsg %u, mq_msgsize SIZE; producers open it O_WRONLY, consumers O_RDONLY",
	     ctx->cell.depth);
	return 0;
}

static int posix_mq_open(const struct mech_ctx *ctx, struct endpoint *ep,
			 int flags)
{
	mqd_t q = mq_open(ctx->name, flags);

	if (q == (mqd_t)-1)
		return -errno;
	ep->handle = (long)q;
	return 0;
}

static int posix_mq_open_producer(const struct mech_ctx *ctx, int id,
				  struct endpoint *ep)
{
	return posix_mq_open(ctx, ep, O_WRONLY);
}

static int posix_mq_open_consumer(const struct mech_ctx *ctx, int id,
				  struct endpoint *ep)
{
	return posix_mq_open(ctx, ep, O_RDONLY);
}

static int posix_mq_send(struct endpoint *ep, const void *buf, size_t len)
{
	int ret;

	do {
		ret = mq_send((mqd_t)ep->handle, buf, len, 0);
	} while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : 0;
}

static ssize_t posix_mq_recv(struct endpoint *ep, void *buf, size_t cap)
{
	ssize_t n;

	do {
		n = mq_receive((mqd_t)ep->handle, buf, cap, NULL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static void posix_mq_close(struct endpoint *ep)
{
	mq_close((mqd_t)ep->handle);
}

static void posix_mq_teardown(struct mech_ctx *ctx)
{
	if (mq_unlink(ctx->name) < 0)
		errmsg("posix-mq: mq_unlink(%s): %s", ctx->name,
		       strerror(errno));
}

const struct mech_ops mech_posix_mq = {
	.name = "posix-mq",
	.table = TABLE_IPC,
	.fifo = true,			/* all messages have priority 0 */
	.prepare = posix_mq_prepare,
	.restore = posix_mq_restore,
	.setup = posix_mq_setup,
	.open_producer = posix_mq_open_producer,
	.open_consumer = posix_mq_open_consumer,
	.send = posix_mq_send,
	.recv = posix_mq_recv,
	.close = posix_mq_close,
	.teardown = posix_mq_teardown,
};
