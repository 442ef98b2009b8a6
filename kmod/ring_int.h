/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rings front-end's own, shared by ring.c (the ring fd's life) and
 * ring_io.c (the data path); its users see ring.h only. The locking
 * rules are in ring.c's top comment.
 */
#ifndef _MQ_RING_INT_H
#define _MQ_RING_INT_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/spinlock.h>
#include <linux/mq.h>

#include "ring.h"

/*
 * The record header, as this kernel reads and writes it in both rings and
 * reports it in mq_ring_setup.rec_size: everything here steps by it.
 */
#define MQ_HDR		((u32)sizeof(struct mq_ring_rec))
#define MQ_TX_BATCH	256	/* TX records parsed per round */
#define MQ_CKPTS	16	/* durability checkpoints kept */

struct mq_rbuf {
	struct page **pages;	/* the control page, then the data */
	unsigned int npages;	/* 0: no such ring */
	void *vaddr;
	u32 *head;
	u32 *tail;
	u8 *data;
	u32 size;
	u32 mask;
	u32 khead;		/* the kernel's copies of the indexes */
	u32 ktail;
};

/* One TX record taken apart: payload at data + pos. */
struct mq_txd {
	u32 start;		/* index of its header */
	u32 pos;
	u32 len;
	u32 bad_before;		/* bad records between the last one and it */
};

/*
 * This front-end's state for one queue: the list of its RX rings, which
 * producers pick from. The core holds it for us (q->ring_fe) and never
 * looks at it; every ring of the queue holds a reference.
 */
struct mq_ring_queue {
	refcount_t ref;
	spinlock_t lock;	/* the list, taken alone */
	struct list_head rings;	/* struct mq_ring, RX rings */
};

struct mq_ring {
	struct kref ref;
	struct mq_queue *q;
	struct mq_ring_queue *rq;	/* q's RX rings */
	struct mq_rbuf tx;
	struct mq_rbuf rx;
	struct page *status_page;
	struct mq_ring_status *status;
	bool started;		/* live: counted in open_fds, RX listed */
	const struct cred *cred;	/* its user is charged @locked pages */
	unsigned long locked;

	struct mutex tx_lock;	/* the TX side: khead and all below */
	struct mq_txd *txd;	/* MQ_TX_BATCH of them, for a round */
	u64 tx_msgs;
	u64 tx_durable;
	u64 tx_bad;
	u64 tx_direct;
	u64 ck_count[MQ_CKPTS];	/* tx_msgs durable once the log is at */
	u64 ck_end[MQ_CKPTS];	/* ... ck_end: oldest first */
	unsigned int ck_first;
	unsigned int ck_n;
	u64 last_end;		/* the newest message's log end, or 0 */

	struct mutex rx_lock;	/* the RX side: ktail, khead, below */
	struct list_head node;	/* in rq->rings (rq->lock), RX rings */
	bool closed;
	u64 rx_msgs;
	u64 rx_bad;
};

/* A record of @len payload bytes, with its header and padding. */
static inline u32 mq_rec_bytes(u32 len)
{
	return round_up(MQ_HDR + len, MQ_RING_ALIGN);
}

/* ring.c */
void mq_ring_put(struct mq_ring *r);

/* ring_io.c */
int mq_tx_submit(struct mq_ring *r, bool wait, struct mq_ring_enter *e);
void mq_tx_refresh(struct mq_ring *r);
int mq_rx_fill(struct mq_ring *c, struct mq_ring_enter *e, bool own);

#endif /* _MQ_RING_INT_H */
