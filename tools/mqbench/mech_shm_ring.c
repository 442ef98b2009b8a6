// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: shm-ring, the baseline a user could write without mq: a plain
 * single-producer single-consumer ring in shared memory between two
 * processes, with an eventfd to wake a sleeping side.
 *
 * The ring is free-running u32 head (consumer's) and tail (producer's),
 * each on its own cache line, and a power-of-two data area of records:
 * an 8-byte header (length, flags) and the payload, padded to 8 bytes; a
 * record never wraps (a pad record fills the end). The producer writes
 * records and publishes them in batches (--batch messages, or when the ring
 * is full, or on flush) with a release store of tail; the consumer reads
 * each record in place (acquire load of tail) and gives space back with
 * a release store of head, every quarter ring and whenever it runs dry.
 *
 * Sleeping: a side that finds the ring empty (consumer) or full (producer)
 * sets its "sleeping" flag, then a full barrier, then looks again, and
 * only then blocks in read() of its eventfd. The other side, after
 * publishing, issues a full barrier, reads the flag and writes the
 * eventfd only if the flag was set (and it cleared it). So a busy ring
 * costs no system call at all, and an idle one a wakeup per batch.
 *
 * More producers and consumers: independent pairs, producer i to consumer
 * i (what a user would do; P must equal C), so there is no load balancing
 * and no shared queue: each pair has its own ring.
 *
 * Size: each ring holds at least --ring-msgs messages (rounded up to a
 * power of two bytes, at most 64 MiB), as mq-ring's rings do. The rings
 * live in one MAP_SHARED | MAP_ANONYMOUS region
 * made in setup() and inherited by the producers and consumers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mqbench.h"

#define REC_PAD		0x1u
#define SHM_ALIGN	8u
#define RING_MIN	4096u
#define RING_MAX	(64u << 20)	/* as mq's rings (MQ_RING_SIZE_MAX) */

struct shm_rec {
	uint32_t len;
	uint32_t flags;
};

#define HDR	((uint32_t)sizeof(struct shm_rec))

/* One pair's ring, in the shared region. */
struct shm_ring {
	uint32_t head __attribute__((aligned(64)));
	uint32_t tail __attribute__((aligned(64)));
	uint32_t consumer_sleeping __attribute__((aligned(64)));
	uint32_t producer_sleeping __attribute__((aligned(64)));
	unsigned char data[] __attribute__((aligned(64)));
};

/* The cell's rings (ctx->handle points here). */
struct shm_state {
	void *region;
	size_t region_len;
	size_t stride;			/* bytes from one pair's ring to the next */
	uint32_t size;			/* data bytes per ring */
	int npairs;
	int data_efd[MQBENCH_MAX_PROCS];	/* wakes consumer i */
	int room_efd[MQBENCH_MAX_PROCS];	/* wakes producer i */
};

/* One side of one pair, in the child (ep->handle points here). */
struct shm_end {
	struct shm_ring *r;
	unsigned char *data;
	uint32_t size, mask;
	uint32_t local;			/* our index, ahead of what is published */
	uint32_t published;		/* our index as the other side sees it */
	uint32_t cached;		/* the other side's index, last seen */
	uint32_t batch;			/* producer: messages not yet published */
	uint32_t max_batch;		/* ... published when there are this many */
	int wake_fd;			/* to wake the other side */
	int sleep_fd;			/* to sleep on */
	bool consumer;
};

static uint32_t rec_bytes(uint32_t len)
{
	return (HDR + len + SHM_ALIGN - 1) & ~(SHM_ALIGN - 1);
}

static uint32_t ring_size(const struct mech_ctx *ctx)
{
	/* Two at least: a record and the pad before it must fit. */
	uint64_t want = (uint64_t)ctx->opts->ring_msgs *
			rec_bytes(ctx->cell.msg_bytes);
	uint32_t size = RING_MIN;

	while (size < want && size < RING_MAX)
		size *= 2;
	return size;
}

static const char *shmring_unsupported(const struct cell *cell)
{
	static char why[160];

	if (cell->producers != cell->consumers)
		return "shm-ring: independent single-producer single-consumer pairs, producer i to consumer i: needs as many consumers as producers";
	if (rec_bytes(cell->msg_bytes) * 2ull > RING_MAX) {
		snprintf(why, sizeof(why),
			 "shm-ring: a %zu-byte message does not fit a ring of at most %u bytes twice",
			 cell->msg_bytes, RING_MAX);
		return why;
	}
	return NULL;
}

static int shmring_setup(struct mech_ctx *ctx)
{
	int npairs = ctx->cell.consumers, i, ret;
	struct shm_state *st;
	size_t len;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	for (i = 0; i < MQBENCH_MAX_PROCS; i++)
		st->data_efd[i] = st->room_efd[i] = -1;
	st->npairs = npairs;
	st->size = ring_size(ctx);
	st->stride = (sizeof(struct shm_ring) + st->size + 4095) & ~(size_t)4095;
	len = st->stride * npairs;
	st->region = mmap(NULL, len, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st->region == MAP_FAILED) {
		errmsg("shm-ring: mmap of %zu bytes: %s", len, strerror(errno));
		free(st);
		return -ENOMEM;
	}
	st->region_len = len;
	for (i = 0; i < npairs; i++) {
		st->data_efd[i] = eventfd(0, EFD_CLOEXEC);
		st->room_efd[i] = eventfd(0, EFD_CLOEXEC);
		if (st->data_efd[i] < 0 || st->room_efd[i] < 0) {
			ret = -errno;
			errmsg("shm-ring: eventfd: %s", strerror(errno));
			ctx->handle = (long)st;
			ctx->mech->teardown(ctx);
			return ret;
		}
	}
	ctx->handle = (long)st;
	note("shm-ring: the user-space baseline: a single-producer single-consumer ring per producer/consumer pair in MAP_SHARED memory (PxC: P independent pairs, no load balancing), variable-length records read in place; the producer publishes its tail every %d messages (or when full), the consumer its head every quarter ring (or when empty); an eventfd wakes a side only if it set its sleeping flag",
	     ctx->opts->batch);
	note("shm-ring %zu B: rings of %u bytes (%u messages)",
	     ctx->cell.msg_bytes, st->size,
	     st->size / rec_bytes(ctx->cell.msg_bytes));
	return 0;
}

static int shmring_open(const struct mech_ctx *ctx, int id,
			struct endpoint *ep, bool producer)
{
	struct shm_state *st = (struct shm_state *)ctx->handle;
	struct shm_end *e;

	if (id >= st->npairs)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->r = (struct shm_ring *)((char *)st->region + st->stride * id);
	e->data = e->r->data;
	e->size = st->size;
	e->mask = st->size - 1;
	if (producer) {
		e->local = __atomic_load_n(&e->r->tail, __ATOMIC_RELAXED);
		e->cached = __atomic_load_n(&e->r->head, __ATOMIC_ACQUIRE);
		e->wake_fd = st->data_efd[id];
		e->sleep_fd = st->room_efd[id];
	} else {
		e->local = __atomic_load_n(&e->r->head, __ATOMIC_RELAXED);
		e->cached = __atomic_load_n(&e->r->tail, __ATOMIC_ACQUIRE);
		e->wake_fd = st->room_efd[id];
		e->sleep_fd = st->data_efd[id];
	}
	e->published = e->local;
	e->consumer = !producer;
	e->max_batch = ctx->opts->batch;
	ep->handle = (long)e;
	return 0;
}

static int shmring_open_producer(const struct mech_ctx *ctx, int id,
				 struct endpoint *ep)
{
	return shmring_open(ctx, id, ep, true);
}

static int shmring_open_consumer(const struct mech_ctx *ctx, int id,
				 struct endpoint *ep)
{
	return shmring_open(ctx, id, ep, false);
}

/* After publishing: wake the other side if it said it would sleep. */
static int wake_other(struct shm_end *e, uint32_t *sleeping)
{
	uint64_t one = 1;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!__atomic_load_n(sleeping, __ATOMIC_RELAXED) ||
	    !__atomic_exchange_n(sleeping, 0, __ATOMIC_SEQ_CST))
		return 0;
	if (write(e->wake_fd, &one, sizeof(one)) != sizeof(one))
		return -errno;
	return 0;
}

/*
 * Sleep until ready(e) holds: set the flag, full barrier, look again,
 * and only then block on the eventfd.
 */
static int sleep_until(struct shm_end *e, uint32_t *sleeping,
		       bool (*ready)(struct shm_end *e, uint32_t arg),
		       uint32_t arg)
{
	uint64_t v;
	ssize_t n;

	while (!ready(e, arg)) {
		__atomic_store_n(sleeping, 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (ready(e, arg)) {
			__atomic_store_n(sleeping, 0, __ATOMIC_RELAXED);
			break;
		}
		n = read(e->sleep_fd, &v, sizeof(v));
		if (n < 0 && errno != EINTR)
			return -errno;
		__atomic_store_n(sleeping, 0, __ATOMIC_RELAXED);
	}
	return 0;
}

/* ---- producer ---- */

static bool has_room(struct shm_end *e, uint32_t need)
{
	if (e->local + need - e->cached <= e->size)
		return true;
	e->cached = __atomic_load_n(&e->r->head, __ATOMIC_ACQUIRE);
	return e->local + need - e->cached <= e->size;
}

static int publish_tail(struct shm_end *e)
{
	e->batch = 0;
	if (e->local == e->published)
		return 0;
	__atomic_store_n(&e->r->tail, e->local, __ATOMIC_RELEASE);
	e->published = e->local;
	return wake_other(e, &e->r->consumer_sleeping);
}

static int shmring_send(struct endpoint *ep, const void *buf, size_t len)
{
	struct shm_end *e = (struct shm_end *)ep->handle;
	uint32_t need = rec_bytes((uint32_t)len), pos, to_end, skip;
	struct shm_rec *h;
	int ret;

	if (need > e->size)
		return -EMSGSIZE;
	pos = e->local & e->mask;
	to_end = e->size - pos;
	skip = to_end < need ? to_end : 0;
	if (!has_room(e, skip + need)) {
		/* Full: let the consumer see what we have, then wait. */
		ret = publish_tail(e);
		if (!ret)
			ret = sleep_until(e, &e->r->producer_sleeping, has_room,
					  skip + need);
		if (ret)
			return ret;
	}
	if (skip) {
		/* A record never wraps: pad to the end (skip >= HDR). */
		h = (struct shm_rec *)(e->data + pos);
		h->len = skip - HDR;
		h->flags = REC_PAD;
		e->local += skip;
		pos = 0;
	}
	h = (struct shm_rec *)(e->data + pos);
	h->len = (uint32_t)len;
	h->flags = 0;
	memcpy(h + 1, buf, len);
	e->local += need;
	if (++e->batch >= e->max_batch)
		return publish_tail(e);
	return 0;
}

static int shmring_flush(struct endpoint *ep)
{
	return publish_tail((struct shm_end *)ep->handle);
}

/* ---- consumer ---- */

static bool has_data(struct shm_end *e, uint32_t unused)
{
	if (e->local != e->cached)
		return true;
	e->cached = __atomic_load_n(&e->r->tail, __ATOMIC_ACQUIRE);
	return e->local != e->cached;
}

static int publish_head(struct shm_end *e)
{
	if (e->local == e->published)
		return 0;
	__atomic_store_n(&e->r->head, e->local, __ATOMIC_RELEASE);
	e->published = e->local;
	return wake_other(e, &e->r->producer_sleeping);
}

/*
 * The next record in place. Peeking gives the previous one back: its
 * space is published every quarter ring, and before sleeping.
 */
static ssize_t shmring_peek(struct endpoint *ep, const void **msg)
{
	struct shm_end *e = (struct shm_end *)ep->handle;
	const struct shm_rec *h;
	int ret;

	for (;;) {
		if (e->local - e->published >= e->size / 4) {
			ret = publish_head(e);
			if (ret)
				return ret;
		}
		if (!has_data(e, 0)) {
			ret = publish_head(e);
			if (!ret)
				ret = sleep_until(e, &e->r->consumer_sleeping,
						  has_data, 0);
			if (ret)
				return ret;
		}
		h = (const struct shm_rec *)(e->data + (e->local & e->mask));
		if (h->len > e->size - HDR)
			return -EIO;	/* cannot happen: our own producer */
		e->local += rec_bytes(h->len);
		if (!(h->flags & REC_PAD))
			break;
	}
	*msg = h + 1;
	return h->len;
}

static void shmring_close(struct endpoint *ep)
{
	struct shm_end *e = (struct shm_end *)ep->handle;

	/*
	 * The consumer gives back the stop message too: the next run's
	 * starts at head. (A producer has flushed already.)
	 */
	if (e->consumer)
		publish_head(e);
	free(e);
}

static void shmring_teardown(struct mech_ctx *ctx)
{
	struct shm_state *st = (struct shm_state *)ctx->handle;
	int i;

	if (!st)
		return;
	for (i = 0; i < MQBENCH_MAX_PROCS; i++) {
		if (st->data_efd[i] >= 0)
			close(st->data_efd[i]);
		if (st->room_efd[i] >= 0)
			close(st->room_efd[i]);
	}
	munmap(st->region, st->region_len);
	free(st);
	ctx->handle = 0;
}

const struct mech_ops mech_shm_ring = {
	.name = "shm-ring",
	.table = TABLE_IPC,
	.fifo = true,
	.spsc = true,
	.rings = true,
	.unsupported = shmring_unsupported,
	.setup = shmring_setup,
	.open_producer = shmring_open_producer,
	.open_consumer = shmring_open_consumer,
	.send = shmring_send,
	.flush = shmring_flush,
	.peek = shmring_peek,
	.close = shmring_close,
	.teardown = shmring_teardown,
};
