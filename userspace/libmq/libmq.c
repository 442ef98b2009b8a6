// SPDX-License-Identifier: MIT
/*
 * libmq: mq's mmap'd rings from user space (see libmq.h and the Rings
 * section of <linux/mq.h>, which is the protocol).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "libmq.h"

/*
 * The header this library knows. The kernel's may be longer (setup's
 * rec_size, in q->rec_size): records are laid out and stepped over with
 * that one, and the bytes of it past these fields are zero in ours.
 */
#define HDR	((uint32_t)sizeof(struct mq_ring_rec))

static uint32_t rec_bytes(const struct mq_ring_q *q, uint32_t len)
{
	return (q->rec_size + len + MQ_RING_ALIGN - 1) & ~(MQ_RING_ALIGN - 1);
}

/*
 * Zero a TX record's header. The fields we know are cleared as one
 * constant-size store (inlined: this runs per message); only a kernel
 * with a longer header costs a memset() of the rest.
 */
static void clear_hdr(struct mq_ring_rec *h, uint32_t hdr)
{
	*h = (struct mq_ring_rec){ 0 };
	if (hdr > HDR)
		memset(h + 1, 0, hdr - HDR);
}

static uint32_t load_acquire(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_release(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static int map_ring(struct mq_ring_q *q, int fd, const struct mq_ring_offsets *o,
		    uint32_t rec_size)
{
	void *p;

	if (!o->size)
		return 0;
	p = mmap(NULL, o->region, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)o->mmap_off);
	if (p == MAP_FAILED)
		return -errno;
	q->region = p;
	q->region_len = o->region;
	q->head = (uint32_t *)((char *)p + o->head);
	q->tail = (uint32_t *)((char *)p + o->tail);
	q->data = (unsigned char *)p + o->data;
	q->size = o->size;
	q->mask = o->size - 1;
	q->rec_size = rec_size;
	return 0;
}

int mq_ring_init(struct mq_ring *r, int fd, uint32_t tx_size, uint32_t rx_size)
{
	struct mq_ring_setup s;
	void *st;
	int err, rfd;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->qfd = fd;
	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.tx_size = tx_size;
	s.rx_size = rx_size;
	rfd = ioctl(fd, MQ_IOC_RING_SETUP, &s);
	if (rfd < 0)
		return -errno;
	r->fd = rfd;
	st = mmap(NULL, s.status_len, PROT_READ, MAP_SHARED, rfd,
		  (off_t)s.status_off);
	if (st == MAP_FAILED) {
		err = -errno;
		mq_ring_close(r);
		return err;
	}
	r->status = st;
	r->status_len = s.status_len;
	/*
	 * A kernel's record header may be longer than ours (new fields at
	 * its end), never shorter; and it keeps payloads aligned.
	 */
	if (s.rec_size < HDR || s.rec_size % MQ_RING_ALIGN) {
		mq_ring_close(r);
		return -EPROTO;
	}
	err = map_ring(&r->tx, rfd, &s.tx, s.rec_size);
	if (!err)
		err = map_ring(&r->rx, rfd, &s.rx, s.rec_size);
	if (err) {
		mq_ring_close(r);
		return err;
	}
	/* A fresh ring starts at 0; take the kernel's word for it. */
	if (r->tx.region) {
		r->tx.local = load_acquire(r->tx.tail);
		r->tx.cached = load_acquire(r->tx.head);
	}
	if (r->rx.region) {
		r->rx.local = load_acquire(r->rx.head);
		r->rx.cached = load_acquire(r->rx.tail);
	}
	return 0;
}

int mq_ring_open(struct mq_ring *r, const char *path, int flags,
		 uint32_t tx_size, uint32_t rx_size)
{
	int fd, err;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->qfd = -1;
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = mq_ring_init(r, fd, tx_size, rx_size);
	close(fd);
	r->qfd = -1;
	return err;
}

void mq_ring_close(struct mq_ring *r)
{
	if (r->tx.region)
		munmap(r->tx.region, r->tx.region_len);
	if (r->rx.region)
		munmap(r->rx.region, r->rx.region_len);
	if (r->status)
		munmap((void *)r->status, r->status_len);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->qfd = -1;
}

int mq_ring_enter(struct mq_ring *r, uint64_t flags, struct mq_ring_enter *e)
{
	struct mq_ring_enter tmp;

	if (!e)
		e = &tmp;
	memset(e, 0, sizeof(*e));
	e->size = sizeof(*e);
	e->flags = flags;
	if (ioctl(r->fd, MQ_IOC_RING_ENTER, e) < 0)
		return -errno;
	return 0;
}

void *mq_ring_reserve(struct mq_ring *r, uint32_t len)
{
	struct mq_ring_q *q = &r->tx;
	uint32_t hdr = q->rec_size, need, pos, to_end, skip = 0;
	struct mq_ring_rec *h;

	if (!q->region || !len || len > q->size - hdr)
		return NULL;
	need = rec_bytes(q, len);
	pos = q->local & q->mask;
	to_end = q->size - pos;
	if (to_end < need)
		skip = to_end;		/* pad (or bare skip) to the start */
	if (q->local + skip + need - q->cached > q->size)
		q->cached = load_acquire(q->head);
	if (skip && q->local + skip - q->cached <= q->size) {
		/*
		 * Pad to the start now, even if the record does not fit
		 * yet: once the kernel has taken the pad, it will.
		 */
		if (skip >= hdr) {
			h = (struct mq_ring_rec *)(q->data + pos);
			clear_hdr(h, hdr);
			h->flags = MQ_RING_REC_PAD;
			h->len = skip - hdr;
		}
		q->local += skip;
		pos = 0;
		skip = 0;
	}
	if (skip || q->local + need - q->cached > q->size)
		return NULL;
	h = (struct mq_ring_rec *)(q->data + pos);
	clear_hdr(h, hdr);
	h->len = len;
	q->local += need;
	return (unsigned char *)h + hdr;
}

static int submit(struct mq_ring *r, uint64_t flags)
{
	struct mq_ring_enter e;
	int err;

	if (!r->tx.region)
		return -EINVAL;
	store_release(r->tx.tail, r->tx.local);
	err = mq_ring_enter(r, MQ_RING_ENTER_SUBMIT | flags, &e);
	if (err)
		return err;
	return (int)e.submitted;
}

int mq_ring_submit(struct mq_ring *r)
{
	return submit(r, 0);
}

int mq_ring_submit_wait(struct mq_ring *r)
{
	return submit(r, MQ_RING_ENTER_WAIT);
}

int mq_ring_submit_durable(struct mq_ring *r)
{
	return submit(r, MQ_RING_ENTER_WAIT | MQ_RING_ENTER_DURABLE);
}

uint32_t mq_ring_tx_pending(const struct mq_ring *r)
{
	if (!r->tx.region)
		return 0;
	return r->tx.local - load_acquire(r->tx.head);
}

uint64_t mq_ring_tx_durable(const struct mq_ring *r)
{
	if (!r->status)
		return 0;
	return __atomic_load_n(&r->status->tx_durable, __ATOMIC_ACQUIRE);
}

/*
 * Step over a pad (or the bytes too short for a header) at the end of the
 * RX data area. If everything before it is released, release it too:
 * the kernel may be waiting for that room to place a large message.
 */
static void skip_gap(struct mq_ring_q *q, uint32_t bytes)
{
	int all_released = __atomic_load_n(q->head, __ATOMIC_RELAXED) == q->local;

	q->local += bytes;
	if (all_released)
		store_release(q->head, q->local);
}

int mq_ring_peek(struct mq_ring *r, struct mq_ring_msg *m)
{
	struct mq_ring_q *q = &r->rx;
	const struct mq_ring_rec *h;
	uint32_t hdr = q->rec_size, pos, to_end;

	if (!q->region)
		return -EINVAL;
	for (;;) {
		if (q->local == q->cached) {
			q->cached = load_acquire(q->tail);
			if (q->local == q->cached)
				return -EAGAIN;
		}
		pos = q->local & q->mask;
		to_end = q->size - pos;
		h = (const struct mq_ring_rec *)(q->data + pos);
		if (to_end < hdr || (h->flags & MQ_RING_REC_PAD)) {
			skip_gap(q, to_end < hdr ? to_end : rec_bytes(q, h->len));
			continue;
		}
		m->data = (const unsigned char *)h + hdr;
		m->len = h->len;
		m->flags = h->flags;
		m->offset = h->offset;
		m->tstamp_ns = h->tstamp_ns;
		m->next = q->local + rec_bytes(q, h->len);
		/* Seen: the next peek starts after it, release gives it back. */
		q->local = m->next;
		q->last = m->next;
		return 0;
	}
}

void mq_ring_release(struct mq_ring *r, const struct mq_ring_msg *m)
{
	/*
	 * The last message peeked: pads stepped over after it go too, or
	 * the kernel would wait for that room for ever.
	 */
	store_release(r->rx.head, m->next == r->rx.last ? r->rx.local : m->next);
}

int mq_ring_fill(struct mq_ring *r)
{
	struct mq_ring_enter e;
	int err = mq_ring_enter(r, MQ_RING_ENTER_GETMSGS, &e);

	return err ? err : (int)e.delivered;
}

int mq_ring_wait(struct mq_ring *r, struct mq_ring_msg *m)
{
	struct mq_ring_enter e;
	int err;

	for (;;) {
		err = mq_ring_peek(r, m);
		if (err != -EAGAIN)
			return err;
		/* Sleep only while the tail is still the one peek saw. */
		memset(&e, 0, sizeof(e));
		e.size = sizeof(e);
		e.flags = MQ_RING_ENTER_GETMSGS | MQ_RING_ENTER_WAIT |
			  MQ_RING_ENTER_RX_TAIL;
		e.rx_tail = r->rx.cached;
		if (ioctl(r->fd, MQ_IOC_RING_ENTER, &e) < 0)
			return -errno;
		/*
		 * Back without anything new while we hold records: queued
		 * messages do not fit until we release some.
		 */
		if (!e.delivered && load_acquire(r->rx.tail) == r->rx.cached &&
		    __atomic_load_n(r->rx.head, __ATOMIC_RELAXED) != r->rx.cached)
			return -ENOBUFS;
	}
}
