// SPDX-License-Identifier: GPL-2.0
/*
 * The rings' data path: a TX ring's records taken into the queue (parsed,
 * handed straight to an RX ring or sent as write(2) would), the TX
 * durability checkpoints, and RX rings filled from the queue. The ring
 * fd's life, the overview and the locking rules are in ring.c; the
 * structures in ring_int.h.
 */

#include <linux/sched.h>
#include <linux/timekeeping.h>
#include <linux/uio.h>

#include "ring_int.h"

#define MQ_RX_PUBLISH	64	/* RX records written between publishes */

/* ---- TX: the process produces, the kernel takes into the queue ---- */

/*
 * Take apart the records from khead to @tail, at most @max. A record
 * that breaks the framing ends the batch: the rest up to @tail is bad.
 * Return: the messages found; *@end: where parsing stopped; *@bad: bad
 * records after the last message found.
 */
static int mq_tx_parse(struct mq_ring *r, u32 tail, u32 max_msg,
		       struct mq_txd *d, int max, u32 *end, u32 *bad)
{
	struct mq_rbuf *b = &r->tx;
	u32 h = b->khead, nbad = 0;
	int n = 0;

	while (h != tail && n < max) {
		u32 pos = h & b->mask, to_end = b->size - pos, avail = tail - h;
		struct mq_ring_rec *src, rec;
		u32 rlen;

		if (to_end < MQ_HDR) {
			if (avail < to_end)
				goto framing;
			h += to_end;
			continue;
		}
		if (avail < MQ_HDR)
			goto framing;
		/* Read once: only these three fields matter in TX. */
		src = (struct mq_ring_rec *)(b->data + pos);
		rec.len = READ_ONCE(src->len);
		rec.flags = READ_ONCE(src->flags);
		rec.reserved = READ_ONCE(src->reserved);
		if (rec.len > b->size)
			goto framing;
		rlen = mq_rec_bytes(rec.len);
		if (rlen > to_end || rlen > avail)
			goto framing;
		if (rec.flags == MQ_RING_REC_PAD && !rec.reserved) {
			h += rlen;
			continue;
		}
		/* reserved: a meaning of a later ABI, not to be misread */
		if (rec.flags || rec.reserved || !rec.len || rec.len > max_msg) {
			nbad++;
			h += rlen;
			continue;
		}
		d[n].start = h;
		d[n].pos = pos + MQ_HDR;
		d[n].len = rec.len;
		d[n].bad_before = nbad;
		nbad = 0;
		n++;
		h += rlen;
		continue;
framing:
		nbad++;
		h = tail;
		break;
	}
	*end = h;
	*bad = nbad;
	return n;
}

/*
 * The RX ring's consumer index, if it is a sane one; under rx_lock. @own:
 * the consumer's own call (a bad head is counted), not a producer's.
 */
static void mq_rx_sync_head(struct mq_ring *c, bool own)
{
	struct mq_rbuf *b = &c->rx;
	u32 h = smp_load_acquire(b->head);	/* the consumer is done */

	if (h - b->khead > b->ktail - b->khead || h % MQ_RING_ALIGN) {
		/* Counted once per look of the consumer's own, not ours. */
		if (own) {
			c->rx_bad++;
			WRITE_ONCE(c->status->rx_bad, c->rx_bad);
		}
		return;
	}
	b->khead = h;
}

/*
 * Where a record of @len bytes goes at index *@t: returns the bytes to
 * skip first (a pad record when they hold a header), or U32_MAX if it
 * does not fit before @head + size.
 */
static u32 mq_rx_place(const struct mq_rbuf *b, u32 t, u32 len)
{
	u32 need = mq_rec_bytes(len), to_end = b->size - (t & b->mask);
	u32 skip = to_end < need ? to_end : 0;

	if (t + skip + need - b->khead > b->size)
		return U32_MAX;
	return skip;
}

/* Write a record header at index @t (plain stores, no memcpy call). */
static void mq_rx_rec(struct mq_rbuf *b, u32 t, u32 len, u32 flags,
		      u64 offset, u64 tstamp)
{
	struct mq_ring_rec *rec = (struct mq_ring_rec *)(b->data + (t & b->mask));

	rec->len = len;
	rec->flags = flags;
	rec->offset = offset;
	rec->tstamp_ns = tstamp;
	rec->reserved = 0;	/* the consumer may have written anything */
}

static void mq_rx_skip(struct mq_rbuf *b, u32 t, u32 skip)
{
	if (skip >= MQ_HDR)
		mq_rx_rec(b, t, skip - MQ_HDR, MQ_RING_REC_PAD, 0, 0);
}

static void mq_rx_publish(struct mq_ring *c, u32 t, u32 msgs)
{
	WRITE_ONCE(c->rx.ktail, t);	/* read without the lock too */
	/* The records are written before the consumer can see them. */
	smp_store_release(c->rx.tail, t);
	c->rx_msgs += msgs;
	WRITE_ONCE(c->status->rx_msgs, c->rx_msgs);
}

/*
 * Copy messages @d[0..k) of TX ring @src into consumer @c's RX ring, where
 * they fit (mq_rx_place() said so), with offsets from @first, and
 * publish them; under c->rx_lock.
 */
static void mq_rx_copy(struct mq_ring *c, const struct mq_rbuf *src,
		       const struct mq_txd *d, int k, u64 first)
{
	u64 tstamp = ktime_get_coarse_real_ns();
	struct mq_rbuf *b = &c->rx;
	u32 t = b->ktail, skip;
	int i;

	for (i = 0; i < k; i++) {
		skip = mq_rx_place(b, t, d[i].len);
		mq_rx_skip(b, t, skip);
		t += skip;
		mq_rx_rec(b, t, d[i].len, 0, first + i, tstamp);
		mq_memcpy(b->data + (t & b->mask) + MQ_HDR,
			  src->data + d[i].pos, d[i].len);
		t += mq_rec_bytes(d[i].len);
	}
	mq_rx_publish(c, t, k);
}

/*
 * Copy the messages @d[0..n) of producer @src straight into consumer
 * @c's RX ring, as many as fit, if the queue allows it now.
 * Return: how many.
 */
static int mq_rx_direct(struct mq_ring *c, const struct mq_rbuf *src,
			const struct mq_txd *d, int n)
{
	struct mq_queue *q = c->q;
	struct mq_ring_enter e = { 0 };
	struct mq_rbuf *b = &c->rx;
	bool drained = false;
	u64 first, bytes;
	u32 t, skip, longest;
	int k = 0, err;

	/* Bounded: a fill moves at most a ring's worth, never sleeps long. */
	mutex_lock(&c->rx_lock);
	if (c->closed)
		goto out;
	mq_rx_sync_head(c, false);
	for (;;) {
		for (t = b->ktail, k = 0, bytes = 0, longest = 0; k < n; k++) {
			skip = mq_rx_place(b, t, d[k].len);
			if (skip == U32_MAX)
				break;
			t += skip + mq_rec_bytes(d[k].len);
			bytes += d[k].len;
			longest = max(longest, d[k].len);
		}
		if (!k)
			goto out;
		err = mq_queue_direct(q, k, bytes, longest, &first);
		if (err != -EAGAIN || drained || mq_queue_maybe_empty(q))
			break;
		/*
		 * Messages queued before ours (their writers found this
		 * ring busy or full): move them in first, then try again.
		 */
		mq_rx_fill(c, &e, false);
		drained = true;
	}
	if (err) {
		k = 0;
		goto out;
	}
	mq_rx_copy(c, src, d, k, first);
out:
	mutex_unlock(&c->rx_lock);
	if (k)
		mq_queue_wake_readers(q);
	return k;
}

/* The RX ring with the most free space, with a reference, or NULL. */
static struct mq_ring *mq_rx_pick(struct mq_ring_queue *rq)
{
	struct mq_ring *c, *best = NULL;
	u32 free, best_free = 0;

	spin_lock(&rq->lock);
	list_for_each_entry(c, &rq->rings, node) {
		/* An estimate, without rx_lock: a bad head just loses. */
		u32 used = READ_ONCE(c->rx.ktail) - READ_ONCE(*c->rx.head);

		free = used <= c->rx.size ? c->rx.size - used : 0;
		if (free > best_free) {
			best = c;
			best_free = free;
		}
	}
	if (best) {
		kref_get(&best->ref);
		/* Ties go round: the next pick starts after this one. */
		list_move_tail(&best->node, &rq->rings);
	}
	spin_unlock(&rq->lock);
	return best;
}

/*
 * The common case: a memory queue with nothing queued and an RX ring with
 * room. The TX records are checked (each header read once) and placed in
 * the RX ring picked, up to the first that needs more (bad, or no room
 * left), where mq_tx_submit()'s general path takes over; the queue hands
 * out their offsets at once, and only then are they copied, straight
 * from ring to ring: one loop fewer than the general path, worth about
 * 20% of the 64-byte ring rate in the VM. Return: messages handed over;
 * the TX head is moved past them.
 */
static int mq_tx_fast(struct mq_ring *r, u32 tail)
{
	u32 h, t, skip, longest = 0, max_msg = READ_ONCE(r->q->lim.max_msg);
	struct mq_rbuf *b = &r->tx, *rb;
	struct mq_queue *q = r->q;
	struct mq_txd *d = r->txd;
	u64 first, bytes = 0;
	struct mq_ring *c;
	int k = 0;

	if (mq_queue_is_durable(q) || list_empty(&r->rq->rings) ||
	    !mq_queue_maybe_empty(q))
		return 0;
	c = mq_rx_pick(r->rq);
	if (!c)
		return 0;
	rb = &c->rx;
	mutex_lock(&c->rx_lock);
	if (c->closed)
		goto out;
	mq_rx_sync_head(c, false);
	/* Pass 1: each header read once, what fits, nothing copied yet. */
	for (h = b->khead, t = rb->ktail; h != tail && k < MQ_TX_BATCH;) {
		u32 pos = h & b->mask, to_end = b->size - pos, avail = tail - h;
		struct mq_ring_rec *src = (struct mq_ring_rec *)(b->data + pos);
		u32 len, flags, rlen;
		u64 reserved;

		if (to_end < MQ_HDR) {
			if (avail < to_end)
				break;
			h += to_end;
			continue;
		}
		if (avail < MQ_HDR)
			break;
		len = READ_ONCE(src->len);
		flags = READ_ONCE(src->flags);
		reserved = READ_ONCE(src->reserved);
		if (len > b->size)
			break;
		rlen = mq_rec_bytes(len);
		if (rlen > to_end || rlen > avail)
			break;
		if (flags == MQ_RING_REC_PAD && !reserved) {
			h += rlen;
			continue;
		}
		/* Bad: the general path counts it. */
		if (flags || reserved || !len || len > max_msg)
			break;
		skip = mq_rx_place(rb, t, len);
		if (skip == U32_MAX)
			break;
		d[k].pos = pos + MQ_HDR;
		d[k++].len = len;
		t += skip + rlen;
		h += rlen;
		bytes += len;
		longest = max(longest, len);
	}
	/* Pads alone: step over them, whatever happens next. */
	if (!k)
		WRITE_ONCE(b->khead, h);
	/*
	 * Pass 2, once the messages are this ring's: nothing reaches the
	 * consumer's pages that may yet go to another reader.
	 */
	if (!k || mq_queue_direct(q, k, bytes, longest, &first)) {
		k = 0;
		goto out;
	}
	mq_rx_copy(c, b, d, k, first);
	WRITE_ONCE(b->khead, h);
out:
	mutex_unlock(&c->rx_lock);
	mq_ring_put(c);
	if (k)
		mq_queue_wake_readers(q);
	return k;
}

static int mq_tx_direct(struct mq_ring *r, const struct mq_txd *d, int n)
{
	struct mq_queue *q = r->q;
	int done = 0, tries, k;
	struct mq_ring *c;

	if (mq_queue_is_durable(q) || list_empty(&r->rq->rings))
		return 0;
	for (tries = 0; done < n && tries < 4; tries++) {
		c = mq_rx_pick(r->rq);
		if (!c)
			break;
		k = mq_rx_direct(c, &r->tx, d + done, n - done);
		mq_ring_put(c);
		if (!k)
			break;
		done += k;
	}
	r->tx_direct += done;
	return done;
}

/**
 * mq_tx_refresh - advance tx_durable past the checkpoints now durable
 * @r: a ring with a TX ring, under its tx_lock
 *
 * Messages up to a log position are durable once the store's durable
 * position passes it; the status page's tx_durable follows.
 */
void mq_tx_refresh(struct mq_ring *r)
{
	u64 durable;

	lockdep_assert_held(&r->tx_lock);
	if (!r->ck_n)
		return;
	durable = mq_queue_durable(r->q);
	while (r->ck_n && r->ck_end[r->ck_first] <= durable) {
		r->tx_durable = r->ck_count[r->ck_first];
		r->ck_first = (r->ck_first + 1) % MQ_CKPTS;
		r->ck_n--;
	}
	WRITE_ONCE(r->status->tx_durable, r->tx_durable);
}

/* tx_msgs messages are durable once the log reaches @end; under tx_lock. */
static void mq_tx_checkpoint(struct mq_ring *r, u64 end)
{
	unsigned int i;

	if (!end && !r->ck_n) {
		r->tx_durable = r->tx_msgs;
		WRITE_ONCE(r->status->tx_durable, r->tx_durable);
		return;
	}
	if (r->ck_n == MQ_CKPTS) {
		/* Coarser, still right: the newest end covers the rest. */
		i = (r->ck_first + r->ck_n - 1) % MQ_CKPTS;
	} else {
		i = (r->ck_first + r->ck_n) % MQ_CKPTS;
		r->ck_n++;
	}
	r->ck_count[i] = r->tx_msgs;
	r->ck_end[i] = max(end, r->last_end);
	r->last_end = r->ck_end[i];
}

/**
 * mq_tx_submit - take the TX ring's published records into the queue
 * @r: a ring with a TX ring, under its tx_lock
 * @wait: a record that finds the queue or the log full waits, as write(2) would
 * @e: the call's struct; its counts (submitted, bad) are added to
 *
 * Return: 0 or an errno if nothing was done; the counts in @e.
 */
int mq_tx_submit(struct mq_ring *r, bool wait, struct mq_ring_enter *e)
{
	struct mq_txd *d = r->txd;
	struct mq_rbuf *b = &r->tx;
	struct mq_queue *q = r->q;
	u32 tail, end, bad, sent, nbad;
	int n, i, direct, err = 0;
	bool again = false;

	lockdep_assert_held(&r->tx_lock);
	tail = smp_load_acquire(b->tail);	/* the records are written */
	if (tail - b->khead > b->size || tail % MQ_RING_ALIGN) {
		r->tx_bad++;
		WRITE_ONCE(r->status->tx_bad, r->tx_bad);
		return -EINVAL;
	}
	while (b->khead != tail) {
		u64 lend = 0;

		n = mq_tx_fast(r, tail);
		if (n) {
			e->submitted += n;
			r->tx_msgs += n;
			r->tx_direct += n;
			mq_tx_checkpoint(r, 0);
			smp_store_release(b->head, b->khead);	/* reuse is safe */
			WRITE_ONCE(r->status->tx_msgs, r->tx_msgs);
			WRITE_ONCE(r->status->tx_direct, r->tx_direct);
			cond_resched();
			continue;
		}
		n = mq_tx_parse(r, tail, READ_ONCE(q->lim.max_msg), d,
				MQ_TX_BATCH, &end, &bad);
		direct = n ? mq_tx_direct(r, d, n) : 0;
		sent = 0;
		nbad = 0;
		for (i = 0; i < n; i++) {
			struct kvec kv = {
				.iov_base = b->data + d[i].pos,
				.iov_len = d[i].len,
			};
			struct iov_iter from;
			ssize_t ret;

			nbad += d[i].bad_before;
			if (i < direct) {
				sent++;
				continue;
			}
			iov_iter_kvec(&from, ITER_SOURCE, &kv, 1, d[i].len);
			ret = mq_queue_send(q, &from, true, &lend);
			if ((ret == -EAGAIN || ret == -ENOSPC) && wait) {
				/*
				 * The queue or the log is full: this one waits
				 * as write(2) does (in order with other writers,
				 * for the cleaner, killable, EMSGSIZE if max-msg
				 * drops below it). Then all over again: the
				 * direct path may take the rest.
				 */
				iov_iter_kvec(&from, ITER_SOURCE, &kv, 1,
					      d[i].len);
				ret = mq_queue_send(q, &from, false, &lend);
				again = ret >= 0;
			}
			/* A signal while making room in the store, or waiting. */
			if (ret == -ERESTARTSYS)
				ret = -EINTR;
			if (ret == -EMSGSIZE) {
				/* max-msg was lowered under us */
				nbad++;
				continue;
			}
			if (ret < 0 && ret != -EAGAIN)
				err = ret;
			if (ret < 0)
				break;
			sent++;
			if (lend)
				r->last_end = max(r->last_end, lend);
			if (again) {
				i++;
				break;
			}
		}
		if (i == n) {
			nbad += bad;
			WRITE_ONCE(b->khead, end);
		} else {
			/* What is before it is done. */
			WRITE_ONCE(b->khead, d[i].start);
		}
		e->submitted += sent;
		e->bad += nbad;
		r->tx_msgs += sent;
		r->tx_bad += nbad;
		if (sent)
			mq_tx_checkpoint(r, lend ? r->last_end : 0);
		smp_store_release(b->head, b->khead);	/* reuse is safe */
		WRITE_ONCE(r->status->tx_msgs, r->tx_msgs);
		WRITE_ONCE(r->status->tx_bad, r->tx_bad);
		WRITE_ONCE(r->status->tx_direct, r->tx_direct);
		if (again) {
			again = false;
			cond_resched();
			continue;
		}
		if (err || i < n)
			break;
		cond_resched();
	}
	mq_tx_refresh(r);
	return err;
}

/* ---- RX: the kernel fills, the process consumes ---- */

/* What mq_rx_fits() keeps: the RX ring, the index after the last fit. */
struct mq_rx_fit {
	const struct mq_rbuf *b;
	u32 t;
};

/* mq_queue_take()'s question: does the next message fit after the last? */
static bool mq_rx_fits(void *arg, u32 len)
{
	struct mq_rx_fit *fit = arg;
	u32 skip = mq_rx_place(fit->b, fit->t, len);

	if (skip == U32_MAX)
		return false;
	fit->t += skip + mq_rec_bytes(len);
	return true;
}

/**
 * mq_rx_fill - move queued messages into the RX ring while they fit
 * @c: a ring with an RX ring, under its rx_lock
 * @e: the call's struct; its count (delivered) is added to
 * @own: the consumer's own call, not a producer's
 *
 * In batches, under one lock each, while they are in memory; then one by
 * one, as read(2) would, which may sleep (a durable queue's lease, a
 * payload read back from the store) and tells when the next message can
 * never fit.
 *
 * Return: 0 or an errno (-EMSGSIZE: the next message can never fit); the
 * count in @e.
 */
int mq_rx_fill(struct mq_ring *c, struct mq_ring_enter *e, bool own)
{
	struct mq_rbuf *b = &c->rx;
	u32 t, unpub = 0;
	int err = 0, n;

	lockdep_assert_held(&c->rx_lock);
	mq_rx_sync_head(c, own);
	for (;;) {
		struct mq_rx_fit fit = { .b = b, .t = b->ktail };
		struct mq_msg *m;
		LIST_HEAD(batch);
		u32 skip;

		n = mq_queue_take(c->q, mq_rx_fits, &fit, &batch, MQ_RX_PUBLISH);
		if (n <= 0)
			break;
		t = b->ktail;
		list_for_each_entry(m, &batch, node) {
			skip = mq_rx_place(b, t, m->len);
			mq_rx_skip(b, t, skip);
			t += skip;
			mq_rx_rec(b, t, m->len, m->flags, m->offset,
				  m->tstamp_ns);
			mq_msg_copy_to(m, b->data + (t & b->mask) + MQ_HDR);
			t += mq_rec_bytes(m->len);
		}
		mq_msgs_put(&batch);
		mq_rx_publish(c, t, n);
		e->delivered += n;
		cond_resched();
	}
	if (n < 0)
		return e->delivered ? 0 : n;

	t = b->ktail;
	for (;;) {
		u32 used = t - b->khead, free = b->size - used;
		u32 pos = t & b->mask, to_end = b->size - pos;
		u32 room = min(free, to_end);
		struct mq_msg_meta meta;
		struct iov_iter to;
		struct kvec kv;
		ssize_t n;

		if (to_end < MQ_HDR) {
			if (free < to_end + MQ_HDR + MQ_RING_ALIGN)
				break;
			t += to_end;
			continue;
		}
		if (room < MQ_HDR + MQ_RING_ALIGN)
			break;
		kv.iov_base = b->data + pos + MQ_HDR;
		kv.iov_len = room - MQ_HDR;
		iov_iter_kvec(&to, ITER_DEST, &kv, 1, kv.iov_len);
		n = mq_queue_read(c->q, &to, true, &meta);
		if (n == -EMSGSIZE && free > to_end) {
			/* Not before the end: a pad, then from the start. */
			mq_rx_skip(b, t, to_end);
			t += to_end;
			continue;
		}
		if (n == -EMSGSIZE && used)
			n = -EAGAIN;	/* full for now */
		if (n < 0) {
			if (n != -EAGAIN)
				err = n;
			break;
		}
		mq_rx_rec(b, t, n, meta.flags, meta.offset, meta.tstamp_ns);
		t += mq_rec_bytes(n);
		e->delivered++;
		if (++unpub == MQ_RX_PUBLISH) {
			mq_rx_publish(c, t, unpub);
			unpub = 0;
			cond_resched();
		}
	}
	/* Pads and skips are published too: the consumer steps over them. */
	mq_rx_publish(c, t, unpub);
	return e->delivered ? 0 : err;
}

