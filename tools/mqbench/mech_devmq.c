// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: /dev/mq/NAME, one write() per message, one read() per message.
 * Each cell gets its own queue, created and deleted over generic netlink
 * (nl.c).
 *
 * devmq-async and devmq-sync are the same on durable queues (durability
 * async or sync) in the store that store.c formats and attaches; their
 * runs also count the store's flushes, to show how many messages share
 * one (group commit).
 *
 * mq-ring (mech_ring.c) makes its queues here too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/mq.h>

#include "mqbench.h"

#define DEVMQ_DIR	"/dev/mq"
#define NODE_WAIT_MS	5000

/**
 * devmq_prepare() - check that the mq module is loaded
 * @opts: the run's options
 *
 * Return: 0, or -ENOENT after saying so.
 */
int devmq_prepare(const struct bench_opts *opts)
{
	struct stat st;

	if (stat("/sys/module/mq", &st) && stat(DEVMQ_DIR, &st)) {
		errmsg("devmq: the mq module is not loaded (no /sys/module/mq, no %s): load mq.ko first, or leave devmq out with --only",
		       DEVMQ_DIR);
		return -ENOENT;
	}
	return 0;
}

/**
 * devmq_node_path() - the device node of the cell's queue
 * @ctx: the cell, after devmq_create()
 * @buf: filled with the path
 * @len: its size
 */
void devmq_node_path(const struct mech_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, DEVMQ_DIR "/%s", ctx->name);
}

/**
 * devmq_delete() - delete the cell's queue, saying why if that fails
 * @ctx: the cell, after devmq_create()
 */
void devmq_delete(const struct mech_ctx *ctx)
{
	char why[512];

	if (mqnl_queue_del(ctx->name, why, sizeof(why)))
		errmsg("%s: %s", ctx->mech->name, why);
}

/*
 * Wait for the queue's node, then check that the queue is what we asked
 * for: limits, and durability (MQ_DURABILITY_*).
 */
static int devmq_check(struct mech_ctx *ctx, uint32_t durability)
{
	struct mq_info info = { .size = sizeof(info) };
	char path[PATH_MAX];
	struct timespec ms = { 0, 1000000 };
	int fd, i, ret;

	devmq_node_path(ctx, path, sizeof(path));
	/* The node is made by devtmpfs (or udev): give it a moment. */
	for (i = 0; (fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0;
	     i++) {
		if (errno != ENOENT || i >= NODE_WAIT_MS) {
			ret = -errno;
			errmsg("%s: created queue %s but %s %s: %s",
			       ctx->mech->name, ctx->name, path,
			       errno == ENOENT ? "did not appear (is devtmpfs mounted on /dev?)" :
			       "cannot be opened", strerror(errno));
			return ret;
		}
		nanosleep(&ms, NULL);
	}
	if (ioctl(fd, MQ_IOC_INFO, &info) < 0) {
		errmsg("%s: warning: MQ_IOC_INFO on %s: %s", ctx->mech->name,
		       path, strerror(errno));
	} else if (info.cap_msgs != ctx->cell.depth ||
		   info.max_msg != ctx->cell.msg_bytes ||
		   info.cap_bytes != (__u64)ctx->cell.depth * ctx->cell.msg_bytes) {
		errmsg("%s: queue %s has capacity-msgs %u capacity-bytes %llu max-msg %u, asked for %u, %llu, %zu",
		       ctx->mech->name, ctx->name, info.cap_msgs,
		       (unsigned long long)info.cap_bytes, info.max_msg,
		       ctx->cell.depth,
		       (unsigned long long)ctx->cell.depth * ctx->cell.msg_bytes,
		       ctx->cell.msg_bytes);
		close(fd);
		return -EINVAL;
	} else if (info.durability != durability) {
		errmsg("%s: queue %s has durability %u, asked for %u",
		       ctx->mech->name, ctx->name, info.durability, durability);
		close(fd);
		return -EINVAL;
	}
	close(fd);
	return 0;
}

/**
 * devmq_create() - make the cell's queue
 * @ctx: the cell; ctx->name is set to the queue's name
 * @durability: MQ_DURABILITY_*
 *
 * The queue is made over generic netlink and checked through its node:
 * capacity-msgs D, capacity-bytes D*SIZE, max-msg SIZE.
 *
 * Return: 0, or a negative errno after saying why.
 */
int devmq_create(struct mech_ctx *ctx, uint32_t durability)
{
	char why[512];
	int ret;

	snprintf(ctx->name, sizeof(ctx->name), "mqbench-%d-%u", (int)getpid(),
		 ctx->seq);
	ret = mqnl_queue_new(ctx, durability, why, sizeof(why));
	if (ret) {
		errmsg("%s: %s", ctx->mech->name, why);
		return ret;
	}
	ret = devmq_check(ctx, durability);
	if (ret)
		devmq_delete(ctx);
	return ret;
}

static int devmq_setup(struct mech_ctx *ctx)
{
	int ret = devmq_create(ctx, MQ_DURABILITY_MEMORY);

	if (!ret)
		note("devmq: a queue per cell, made over generic netlink as 'mqctl queue add NAME capacity-msgs %u capacity-bytes %u*SIZE max-msg SIZE'; producers open it O_WRONLY, consumers O_RDONLY",
		     ctx->cell.depth, ctx->cell.depth);
	return ret;
}

static int devmq_open(const struct mech_ctx *ctx, struct endpoint *ep,
		      int flags)
{
	char path[PATH_MAX];

	devmq_node_path(ctx, path, sizeof(path));
	ep->fd = open(path, flags | O_CLOEXEC);
	return ep->fd < 0 ? -errno : 0;
}

static int devmq_open_producer(const struct mech_ctx *ctx, int id,
			       struct endpoint *ep)
{
	return devmq_open(ctx, ep, O_WRONLY);
}

static int devmq_open_consumer(const struct mech_ctx *ctx, int id,
			       struct endpoint *ep)
{
	return devmq_open(ctx, ep, O_RDONLY);
}

static int devmq_send(struct endpoint *ep, const void *buf, size_t len)
{
	ssize_t n;

	do {
		n = write(ep->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static ssize_t devmq_recv(struct endpoint *ep, void *buf, size_t cap)
{
	ssize_t n;

	do {
		n = read(ep->fd, buf, cap);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static void devmq_close(struct endpoint *ep)
{
	close(ep->fd);
}

static void devmq_teardown(struct mech_ctx *ctx)
{
	devmq_delete(ctx);
}

/* ---- devmq-async, devmq-sync ---- */

static const char *store_reason;
static bool store_prepared;

static int durable_prepare(const struct bench_opts *opts)
{
	if (!store_prepared) {
		store_prepared = true;
		store_reason = store_prepare(opts);
	}
	return 0;
}

static void durable_restore(void)
{
	if (store_prepared) {
		store_prepared = false;
		store_restore();
	}
}

static const char *durable_unsupported(const struct cell *cell)
{
	static char why[640];

	if (!store_reason)
		return NULL;
	snprintf(why, sizeof(why), "devmq-async, devmq-sync: %s", store_reason);
	return why;
}

static int durable_setup(struct mech_ctx *ctx, uint32_t durability)
{
	int ret = devmq_create(ctx, durability);

	if (!ret)
		note("%s: a queue per cell in the store, made over generic netlink as 'mqctl queue add NAME capacity-msgs %u capacity-bytes %u*SIZE max-msg SIZE durability %s'; producers open it O_WRONLY, consumers O_RDONLY; %s",
		     ctx->mech->name, ctx->cell.depth, ctx->cell.depth,
		     durability_name(durability),
		     durability == MQ_DURABILITY_SYNC ?
		     "write() returns once the message is on stable storage" :
		     "write() returns once the message is in the store's log buffer, and a run ends when the consumer has every message: the last ones reach stable storage up to one flush interval later");
	return ret;
}

static int devmq_async_setup(struct mech_ctx *ctx)
{
	return durable_setup(ctx, MQ_DURABILITY_ASYNC);
}

static int devmq_sync_setup(struct mech_ctx *ctx)
{
	return durable_setup(ctx, MQ_DURABILITY_SYNC);
}

static const char *const durable_metrics[] = { "msgs_per_flush", NULL };

/* The engine's run, and the store's flushes (commits) it took. */
static int durable_run(const struct mech_ctx *ctx, unsigned long per_producer,
		       struct run_result *res)
{
	uint64_t before, after;
	bool counted;
	int ret;

	counted = !store_flushes(&before);
	ret = run_cell_once(ctx->mech, ctx, per_producer, res);
	if (ret)
		return ret;
	res->metric[0] = NAN;
	if (counted && !store_flushes(&after) && after > before)
		res->metric[0] = (double)res->messages / (double)(after - before);
	return 0;
}

const struct mech_ops mech_devmq = {
	.name = "devmq",
	.table = TABLE_IPC,
	.fifo = true,
	.prepare = devmq_prepare,
	.setup = devmq_setup,
	.open_producer = devmq_open_producer,
	.open_consumer = devmq_open_consumer,
	.send = devmq_send,
	.recv = devmq_recv,
	.close = devmq_close,
	.teardown = devmq_teardown,
};

/* devmq-async and devmq-sync differ only in their queues' durability. */
#define DEVMQ_DURABLE(mech_name, setup_fn) {		\
	.name = mech_name,				\
	.table = TABLE_DURABLE,				\
	.fifo = true,					\
	.prepare = durable_prepare,			\
	.restore = durable_restore,			\
	.unsupported = durable_unsupported,		\
	.setup = setup_fn,				\
	.open_producer = devmq_open_producer,		\
	.open_consumer = devmq_open_consumer,		\
	.send = devmq_send,				\
	.recv = devmq_recv,				\
	.close = devmq_close,				\
	.teardown = devmq_teardown,			\
	.run = durable_run,				\
	.metrics = durable_metrics,			\
}

const struct mech_ops mech_devmq_async =
	DEVMQ_DURABLE("devmq-async", devmq_async_setup);
const struct mech_ops mech_devmq_sync =
	DEVMQ_DURABLE("devmq-sync", devmq_sync_setup);
