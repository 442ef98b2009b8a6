// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: mq-ring, a /dev/mq queue through libmq's mmap'd rings (the
 * Rings section of <linux/mq.h>).
 *
 * The cell's queue is made as for devmq (mech_devmq.c). Every producer
 * opens the queue and makes a ring fd with a TX ring on it, every
 * consumer one with an RX ring, all on that one queue: with P x C the
 * kernel spreads the producers' batches over the consumers' RX rings
 * (load balancing), and the engine reports how evenly (struct
 * run_result.share_min/max). The runs also count how many messages the
 * kernel handed straight from a TX ring to an RX ring rather than
 * through the queue (the status page's tx_direct): metric
 * "tx_direct_pct".
 *
 * Producer: mq_ring_reserve() and a copy per message, mq_ring_submit()
 * once per --batch messages (the rest stays in TX if the queue is full);
 * when TX is full, mq_ring_submit(), and mq_ring_submit_wait() if that
 * took nothing. Flush: mq_ring_submit_wait() until nothing is pending.
 * Consumer: mq_ring_peek() reads in place, mq_ring_release() gives each
 * message back once the engine has checked it, mq_ring_wait() sleeps in
 * the kernel only when RX is empty.
 *
 * A consumer may hold more messages in its RX ring than it will process:
 * at the end of a run one RX ring can get several stop messages. A
 * consumer that stops gives whatever is left in its RX ring back to the
 * queue with write(2) on its queue fd (opened O_RDWR for this), where the
 * consumers still waiting find them. That is what an application would
 * do too, as long as the kernel has no acknowledgements to redeliver
 * them.
 *
 * Depth: the queue holds `depth` messages (capacity-msgs D, capacity-bytes
 * D*SIZE, max-msg SIZE, as devmq), and each TX and RX ring holds at least
 * --ring-msgs messages (a power of two bytes, at most MQ_RING_SIZE_MAX).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/mq.h>
#include <libmq.h>

#include "mqbench.h"

/* Counted by the producers as they close (ctx->handle points here). */
struct ring_counts {
	uint64_t tx_msgs;
	uint64_t tx_direct;
};

/* One producer's or consumer's fds and rings (ep->handle points here). */
struct ring_end {
	struct mq_ring r;
	int qfd;			/* consumer: the queue, for write(2) */
	struct ring_counts *counts;
	unsigned int batch;		/* producer: reserved since the last submit */
	struct mq_ring_msg m;		/* consumer: the message last peeked */
	bool have;			/* ... and not released yet */
};

static uint32_t rec_bytes(size_t len)
{
	return (sizeof(struct mq_ring_rec) + len + MQ_RING_ALIGN - 1) &
	       ~(MQ_RING_ALIGN - 1);
}

/* Data bytes of each ring: at least depth messages (and two). */
static uint32_t ring_size(const struct mech_ctx *ctx)
{
	uint64_t want = (uint64_t)ctx->opts->ring_msgs *
			rec_bytes(ctx->cell.msg_bytes);
	uint32_t size = MQ_RING_SIZE_MIN;

	while (size < want && size < MQ_RING_SIZE_MAX)
		size *= 2;
	return size;
}

static const char *ring_unsupported(const struct cell *cell)
{
	static char why[160];

	if (rec_bytes(cell->msg_bytes) * 2ull > MQ_RING_SIZE_MAX) {
		snprintf(why, sizeof(why),
			 "mq-ring: a %zu-byte message does not fit a ring of at most %u bytes twice",
			 cell->msg_bytes, MQ_RING_SIZE_MAX);
		return why;
	}
	return NULL;
}

/* Does this kernel do rings? Ask the cell's queue. */
static int ring_probe(const struct mech_ctx *ctx)
{
	char path[PATH_MAX];
	struct mq_ring r;
	int ret;

	devmq_node_path(ctx, path, sizeof(path));
	ret = mq_ring_open(&r, path, O_RDWR, MQ_RING_SIZE_MIN,
			   MQ_RING_SIZE_MIN);
	if (ret) {
		errmsg("mq-ring: setting up rings on %s: %s%s", path,
		       strerror(-ret),
		       ret == -ENOTTY ? " (this mq module has no rings)" :
		       ret == -EPROTO ?
		       " (this mq module's ring records are older than libmq's)" :
		       "");
		return ret;
	}
	mq_ring_close(&r);
	return 0;
}

static int ring_setup(struct mech_ctx *ctx)
{
	uint32_t size = ring_size(ctx);
	struct ring_counts *counts;
	int ret;

	counts = mmap(NULL, sizeof(*counts), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED) {
		errmsg("mq-ring: mmap: %s", strerror(errno));
		return -ENOMEM;
	}
	ret = devmq_create(ctx, MQ_DURABILITY_MEMORY);
	if (!ret) {
		ret = ring_probe(ctx);
		if (ret)
			devmq_delete(ctx);
	}
	if (ret) {
		munmap(counts, sizeof(*counts));
		return ret;
	}
	ctx->handle = (long)counts;
	note("mq-ring: a queue per cell as devmq's (capacity-msgs %u capacity-bytes %u*SIZE max-msg SIZE); each producer its own fd with a TX ring, each consumer its own fd with an RX ring, all on the one queue (the kernel spreads batches over the RX rings); producers mq_ring_submit() every %d messages (mq_ring_submit_wait() when the queue is full), consumers read in place (mq_ring_peek(), mq_ring_release() per message, mq_ring_wait() when RX is empty) and at their stop give what is left in RX back with write(2)",
	     ctx->cell.depth, ctx->cell.depth, ctx->opts->batch);
	note("mq-ring %zu B: TX and RX rings of %u bytes (%u messages each)",
	     ctx->cell.msg_bytes, size, size / rec_bytes(ctx->cell.msg_bytes));
	return 0;
}

static int ring_open(const struct mech_ctx *ctx, struct endpoint *ep,
		     bool producer)
{
	uint32_t size = ring_size(ctx);
	char path[PATH_MAX];
	struct ring_end *e;
	int ret;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->counts = (struct ring_counts *)ctx->handle;
	e->qfd = -1;
	devmq_node_path(ctx, path, sizeof(path));
	if (producer) {
		ret = mq_ring_open(&e->r, path, O_WRONLY, size, 0);
	} else {
		e->qfd = open(path, O_RDWR | O_CLOEXEC);
		ret = e->qfd < 0 ? -errno : mq_ring_init(&e->r, e->qfd, 0, size);
	}
	if (ret) {
		if (e->qfd >= 0)
			close(e->qfd);
		free(e);
		return ret;
	}
	ep->fd = e->r.fd;
	ep->handle = (long)e;
	return 0;
}

static int ring_open_producer(const struct mech_ctx *ctx, int id,
			      struct endpoint *ep)
{
	return ring_open(ctx, ep, true);
}

static int ring_open_consumer(const struct mech_ctx *ctx, int id,
			      struct endpoint *ep)
{
	return ring_open(ctx, ep, false);
}

/* TX is full: hand the kernel what it will take, waiting if it takes none. */
static int ring_make_room(struct ring_end *e)
{
	int n;

	e->batch = 0;
	n = mq_ring_submit(&e->r);
	if (!n)
		n = mq_ring_submit_wait(&e->r);
	return n < 0 ? n : 0;
}

static int ring_send(struct endpoint *ep, const void *buf, size_t len)
{
	struct ring_end *e = (struct ring_end *)ep->handle;
	void *p;
	int ret;

	while (!(p = mq_ring_reserve(&e->r, (uint32_t)len))) {
		if (!mq_ring_tx_pending(&e->r))
			return -EMSGSIZE;	/* an empty ring has no room */
		ret = ring_make_room(e);
		if (ret)
			return ret;
	}
	memcpy(p, buf, len);
	if (++e->batch < ep->ctx->opts->batch)
		return 0;
	e->batch = 0;
	ret = mq_ring_submit(&e->r);
	return ret < 0 ? ret : 0;
}

static int ring_flush(struct endpoint *ep)
{
	struct ring_end *e = (struct ring_end *)ep->handle;
	int n;

	e->batch = 0;
	while (mq_ring_tx_pending(&e->r)) {
		n = mq_ring_submit_wait(&e->r);
		if (n < 0)
			return n;
		if (!n && mq_ring_tx_pending(&e->r)) {
			errmsg("mq-ring: MQ_RING_ENTER_SUBMIT|WAIT took nothing with %llu bytes pending in TX (tx_bad %llu)",
			       (unsigned long long)mq_ring_tx_pending(&e->r),
			       (unsigned long long)e->r.status->tx_bad);
			return -EIO;
		}
	}
	return 0;
}

static ssize_t ring_peek(struct endpoint *ep, const void **msg)
{
	struct ring_end *e = (struct ring_end *)ep->handle;
	int ret;

	if (e->have) {
		mq_ring_release(&e->r, &e->m);
		e->have = false;
	}
	do {
		ret = mq_ring_wait(&e->r, &e->m);
	} while (ret == -EINTR);
	if (ret)
		return ret;
	e->have = true;
	*msg = e->m.data;
	return e->m.len;
}

static void ring_close(struct endpoint *ep)
{
	struct ring_end *e = (struct ring_end *)ep->handle;
	struct mq_ring_msg m;
	ssize_t n;

	if (e->have)
		mq_ring_release(&e->r, &e->m);
	/* A consumer's leftovers (stop messages) go back to the queue. */
	while (e->qfd >= 0 && !mq_ring_peek(&e->r, &m)) {
		do {
			n = write(e->qfd, m.data, m.len);
		} while (n < 0 && errno == EINTR);
		if (n != (ssize_t)m.len)
			errmsg("mq-ring: consumer: giving a message back with write(2): %s",
			       n < 0 ? strerror(errno) : "short write");
		mq_ring_release(&e->r, &m);
	}
	if (e->r.tx.region) {
		__atomic_add_fetch(&e->counts->tx_msgs, e->r.status->tx_msgs,
				   __ATOMIC_RELAXED);
		__atomic_add_fetch(&e->counts->tx_direct,
				   e->r.status->tx_direct, __ATOMIC_RELAXED);
	}
	mq_ring_close(&e->r);
	if (e->qfd >= 0)
		close(e->qfd);
	free(e);
}

static const char *const ring_metrics[] = { "tx_direct_pct", NULL };

/* The engine's run, and how much of it went straight from TX to RX. */
static int ring_run(const struct mech_ctx *ctx, unsigned long per_producer,
		    struct run_result *res)
{
	struct ring_counts *counts = (struct ring_counts *)ctx->handle;
	int ret;

	memset(counts, 0, sizeof(*counts));
	ret = run_cell_once(ctx->mech, ctx, per_producer, res);
	if (!ret && counts->tx_msgs)
		res->metric[0] = 100.0 * (double)counts->tx_direct /
				 (double)counts->tx_msgs;
	return ret;
}

static void ring_teardown(struct mech_ctx *ctx)
{
	devmq_delete(ctx);
	munmap((void *)ctx->handle, sizeof(struct ring_counts));
	ctx->handle = 0;
}

const struct mech_ops mech_mq_ring = {
	.name = "mq-ring",
	.table = TABLE_IPC,
	.fifo = true,
	.rings = true,
	.prepare = devmq_prepare,
	.unsupported = ring_unsupported,
	.setup = ring_setup,
	.open_producer = ring_open_producer,
	.open_consumer = ring_open_consumer,
	.send = ring_send,
	.flush = ring_flush,
	.peek = ring_peek,
	.close = ring_close,
	.teardown = ring_teardown,
	.run = ring_run,
	.metrics = ring_metrics,
};
