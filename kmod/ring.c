// SPDX-License-Identifier: GPL-2.0
/*
 * The rings front-end: per-fd mmap'd rings (uapi/linux/mq.h, "Rings").
 *
 * A TX ring carries a producer's messages into the queue, an RX ring the
 * queue's messages to a consumer, one system call per batch. Everything
 * in the shared pages is hostile: every index and record header is read
 * once, checked against the kernel's own copy of the indexes (khead,
 * ktail) and used only as that copy; payloads are copied once, so what
 * the process does to the pages afterwards changes nothing here.
 *
 * Messages reach an RX ring in two ways. The consumer's MQ_RING_ENTER
 * pulls them from the queue, as read(2) would. And while a memory queue
 * holds nothing and no reader sleeps, a TX batch goes straight from the
 * producer's ring into the RX ring with the most free space, with no
 * message allocated: mq_queue_direct() accounts for it as a write and a
 * read. That choice by free space is the load balancing between ring
 * consumers.
 *
 * Locking: r->tx_lock serialises the TX consumer side (khead, counters,
 * checkpoints); r->rx_lock the RX producer side (ktail, the accepted
 * head, closed). Order: rx_lock, then the queue's locks; the lock of
 * the queue's list of RX rings (struct mq_ring_queue) is taken alone.
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/uio.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/capability.h>

#include "ring.h"
#include "ioctl.h"

/*
 * The record header, as this kernel reads and writes it in both rings and
 * reports it in mq_ring_setup.rec_size: everything here steps by it.
 */
#define MQ_HDR		((u32)sizeof(struct mq_ring_rec))
#define MQ_FEATURES	(MQ_RING_FEAT_RX_TAIL | MQ_RING_FEAT_DURABLE | \
			 MQ_RING_FEAT_DIRECT)
#define MQ_CTRL_HEAD	0
#define MQ_CTRL_TAIL	64
#define MQ_CTRL_FLAGS	128
#define MQ_TX_BATCH	256	/* TX records parsed per round */
#define MQ_RX_PUBLISH	64	/* RX records written between publishes */
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

/* Sets and clears q->ring_fe. */
static DEFINE_SPINLOCK(mq_ring_fe_lock);

struct mq_ring {
	struct kref ref;
	struct mq_queue *q;
	struct mq_ring_queue *rq;	/* q's RX rings */
	struct mq_rbuf tx;
	struct mq_rbuf rx;
	struct page *status_page;
	struct mq_ring_status *status;
	bool started;		/* live: counted in open_fds, RX listed */
	struct user_struct *user;	/* charged @locked pages */
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

static u32 mq_rec_bytes(u32 len)
{
	return round_up(MQ_HDR + len, MQ_RING_ALIGN);
}

static void mq_rbuf_free(struct mq_rbuf *b)
{
	unsigned int i;

	if (b->vaddr)
		vunmap(b->vaddr);
	for (i = 0; i < b->npages && b->pages; i++)
		if (b->pages[i])
			put_page(b->pages[i]);
	kvfree(b->pages);
}

/* A ring's pages: the control page and the data; none without a ring. */
static unsigned int mq_rbuf_pages(u32 size)
{
	return size ? 1 + size / PAGE_SIZE : 0;
}

/* Zeroed pages, charged to the caller's memory cgroup. */
static int mq_rbuf_alloc(struct mq_rbuf *b, u32 size)
{
	unsigned int i, n = mq_rbuf_pages(size);

	b->pages = kvcalloc(n, sizeof(*b->pages), GFP_KERNEL_ACCOUNT);
	if (!b->pages)
		return -ENOMEM;
	b->npages = n;
	for (i = 0; i < n; i++) {
		b->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!b->pages[i])
			return -ENOMEM;
	}
	b->vaddr = vmap(b->pages, n, VM_MAP, PAGE_KERNEL);
	if (!b->vaddr)
		return -ENOMEM;
	b->head = b->vaddr + MQ_CTRL_HEAD;
	b->tail = b->vaddr + MQ_CTRL_TAIL;
	b->data = b->vaddr + PAGE_SIZE;
	b->size = size;
	b->mask = size - 1;
	return 0;
}

static void mq_rbuf_offsets(const struct mq_rbuf *b, u64 mmap_off,
			    struct mq_ring_offsets *o)
{
	memset(o, 0, sizeof(*o));
	if (!b->npages)
		return;
	o->head = MQ_CTRL_HEAD;
	o->tail = MQ_CTRL_TAIL;
	o->flags = MQ_CTRL_FLAGS;
	o->data = PAGE_SIZE;
	o->size = b->size;
	o->region = b->npages * PAGE_SIZE;
	o->mmap_off = mmap_off;
}

/*
 * Ring pages are pinned for the ring's life, outside the process's own
 * memory: like io_uring's rings and AF_XDP's umems they count against the
 * owner's RLIMIT_MEMLOCK (user->locked_vm), unless it has CAP_IPC_LOCK.
 */
static int mq_ring_account(struct mq_ring *r, unsigned long pages)
{
	unsigned long limit, cur, new;

	if (capable(CAP_IPC_LOCK))
		return 0;
	limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_read(&r->user->locked_vm);
	do {
		new = cur + pages;
		if (new > limit || new < cur)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&r->user->locked_vm, &cur, new));
	r->locked = pages;
	return 0;
}

/* The queue's record, shared by its rings, with a reference: or NULL. */
static struct mq_ring_queue *mq_ring_queue_get(struct mq_queue *q)
{
	struct mq_ring_queue *rq, *fresh;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
	if (!fresh)
		return NULL;
	spin_lock(&mq_ring_fe_lock);
	rq = q->ring_fe;
	if (rq) {
		refcount_inc(&rq->ref);
	} else {
		refcount_set(&fresh->ref, 1);
		spin_lock_init(&fresh->lock);
		INIT_LIST_HEAD(&fresh->rings);
		q->ring_fe = fresh;
		rq = fresh;
		fresh = NULL;
	}
	spin_unlock(&mq_ring_fe_lock);
	kfree(fresh);
	return rq;
}

static void mq_ring_queue_put(struct mq_queue *q, struct mq_ring_queue *rq)
{
	bool last;

	spin_lock(&mq_ring_fe_lock);
	last = refcount_dec_and_test(&rq->ref);
	if (last)
		q->ring_fe = NULL;
	spin_unlock(&mq_ring_fe_lock);
	if (last)
		kfree(rq);
}

static void mq_ring_kref_release(struct kref *ref)
{
	struct mq_ring *r = container_of(ref, struct mq_ring, ref);

	atomic_long_sub(r->locked, &r->user->locked_vm);
	free_uid(r->user);
	mq_rbuf_free(&r->tx);
	mq_rbuf_free(&r->rx);
	kvfree(r->txd);
	if (r->status_page)
		put_page(r->status_page);
	if (r->rq)
		mq_ring_queue_put(r->q, r->rq);
	mq_queue_put(r->q);
	kfree(r);
}

static void mq_ring_put(struct mq_ring *r)
{
	kref_put(&r->ref, mq_ring_kref_release);
}

static bool mq_ring_size_ok(u32 size)
{
	return !size || (is_power_of_2(size) && size >= MQ_RING_SIZE_MIN &&
			 size <= MQ_RING_SIZE_MAX);
}

static const struct file_operations mq_ring_fops;

static struct mq_ring *mq_ring_create(struct file *qfile, struct mq_queue *q,
				      struct mq_ring_setup *s)
{
	struct mq_ring *r;
	int err;

	if (s->flags || s->reserved0 ||
	    memchr_inv(&s->tx, 0, sizeof(s->tx)) ||
	    memchr_inv(&s->rx, 0, sizeof(s->rx)) ||
	    s->status_off || s->status_len || s->rec_size || s->features)
		return ERR_PTR(-EINVAL);
	if (!mq_ring_size_ok(s->tx_size) || !mq_ring_size_ok(s->rx_size) ||
	    (!s->tx_size && !s->rx_size))
		return ERR_PTR(-EINVAL);
	if ((s->tx_size && !(qfile->f_mode & FMODE_WRITE)) ||
	    (s->rx_size && !(qfile->f_mode & FMODE_READ)))
		return ERR_PTR(-EBADF);

	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return ERR_PTR(-ENOMEM);
	kref_init(&r->ref);
	mq_queue_get(q);
	r->q = q;
	r->user = get_uid(current_user());
	mutex_init(&r->tx_lock);
	mutex_init(&r->rx_lock);
	INIT_LIST_HEAD(&r->node);
	err = -ENOMEM;
	r->rq = mq_ring_queue_get(q);
	if (!r->rq)
		goto err;
	err = mq_ring_account(r, 1 + mq_rbuf_pages(s->tx_size) +
			      mq_rbuf_pages(s->rx_size));
	if (err)
		goto err;
	err = -ENOMEM;
	r->status_page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!r->status_page)
		goto err;
	r->status = page_address(r->status_page);
	if (s->tx_size) {
		r->txd = kvmalloc_array(MQ_TX_BATCH, sizeof(*r->txd),
					GFP_KERNEL_ACCOUNT);
		if (!r->txd)
			goto err;
		err = mq_rbuf_alloc(&r->tx, s->tx_size);
		if (err)
			goto err;
	}
	if (s->rx_size) {
		err = mq_rbuf_alloc(&r->rx, s->rx_size);
		if (err)
			goto err;
	}
	mq_rbuf_offsets(&r->tx, MQ_RING_OFF_TX, &s->tx);
	mq_rbuf_offsets(&r->rx, MQ_RING_OFF_RX, &s->rx);
	s->status_off = MQ_RING_OFF_STATUS;
	s->status_len = PAGE_SIZE;
	s->rec_size = MQ_HDR;
	s->features = MQ_FEATURES;
	return r;

err:
	mq_ring_put(r);
	return ERR_PTR(err);
}

/* Live: the ring fd counts as an open fd of the queue, RX rings get fed. */
static void mq_ring_start(struct mq_ring *r)
{
	struct mq_queue *q = r->q;

	r->started = true;
	/*
	 * Not through mq_queue_open(): the queue fd this comes from is open
	 * (counted) for the whole ioctl, so a detach is refused meanwhile,
	 * and the ring fd then keeps it so.
	 */
	WARN_ON_ONCE(!atomic_read(&q->open_fds));
	atomic_inc(&q->open_fds);
	if (r->rx.npages) {
		spin_lock(&r->rq->lock);
		list_add_tail(&r->node, &r->rq->rings);
		spin_unlock(&r->rq->lock);
	}
}

/* The ring fd is closing: no more messages into its RX ring. */
static int mq_ring_file_release(struct inode *inode, struct file *file)
{
	struct mq_ring *r = file->private_data;
	struct mq_queue *q = r->q;

	if (r->rx.npages) {
		mutex_lock(&r->rx_lock);
		r->closed = true;
		mutex_unlock(&r->rx_lock);
		spin_lock(&r->rq->lock);
		list_del_init(&r->node);
		spin_unlock(&r->rq->lock);
	}
	if (r->started)
		atomic_dec(&q->open_fds);
	/* Mappings keep their pages; the rest goes with the last reference. */
	mq_ring_put(r);
	return 0;
}

/**
 * mq_ring_setup - MQ_IOC_RING_SETUP: rings for a queue, behind a new fd
 * @qfile: the queue's fd (its open mode decides which rings it may have)
 * @q: its queue
 * @s: the caller's struct, copied in; the layout is written back
 * @uarg: where to write it back
 * @usize: the caller's size of it
 *
 * Return: the ring fd (O_RDWR, close-on-exec), or -EINVAL, -EBADF,
 * -ENOMEM, -EMFILE, -EFAULT.
 */
int mq_ring_setup(struct file *qfile, struct mq_queue *q,
		  struct mq_ring_setup *s, void __user *uarg, u32 usize)
{
	struct mq_ring *r = mq_ring_create(qfile, q, s);
	struct file *file;
	int fd;

	BUILD_BUG_ON(sizeof(struct mq_ring_setup) != MQ_RING_SETUP_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct mq_ring_rec) != 32);
	BUILD_BUG_ON(MQ_HDR % MQ_RING_ALIGN);
	if (IS_ERR(r))
		return PTR_ERR(r);
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		mq_ring_put(r);
		return fd;
	}
	file = anon_inode_getfile("[mq_ring]", &mq_ring_fops, r,
				  O_RDWR | O_CLOEXEC);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		mq_ring_put(r);
		return PTR_ERR(file);
	}
	s->size = min_t(u32, usize, sizeof(*s));
	if (copy_to_user(uarg, s, s->size)) {
		fput(file);		/* releases r: not started, nothing in it */
		put_unused_fd(fd);
		return -EFAULT;
	}
	/* Only now may producers hand it messages: nothing fails after. */
	mq_ring_start(r);
	fd_install(fd, file);
	return fd;
}

/*
 * Map a ring or the status page: MAP_SHARED, at a MQ_RING_OFF_* offset,
 * the region's exact length; the status page read-only. Return: 0,
 * -EINVAL or -EACCES.
 */
static int mq_ring_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mq_ring *r = file->private_data;
	unsigned long len = vma->vm_end - vma->vm_start, n;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	struct page **pages;

	if (!(vma->vm_flags & VM_SHARED))
		return -EINVAL;
	switch (off) {
	case MQ_RING_OFF_TX:
		pages = r->tx.pages;
		n = r->tx.npages;
		break;
	case MQ_RING_OFF_RX:
		pages = r->rx.pages;
		n = r->rx.npages;
		break;
	case MQ_RING_OFF_STATUS:
		if (vma->vm_flags & VM_WRITE)
			return -EACCES;
		vma->vm_flags &= ~VM_MAYWRITE;
		pages = &r->status_page;
		n = 1;
		break;
	default:
		return -EINVAL;
	}
	if (!n || len != n << PAGE_SHIFT)
		return -EINVAL;
	vma->vm_flags |= VM_DONTEXPAND | VM_DONTDUMP;
	return vm_insert_pages(vma, vma->vm_start, pages, &n);
}

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

static int mq_rx_fill(struct mq_ring *c, struct mq_ring_enter *e, bool own);
static u32 mq_rx_place(const struct mq_rbuf *b, u32 t, u32 len);

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

/* Messages up to a log position are durable: advance tx_durable. */
static void mq_tx_refresh(struct mq_ring *r)
{
	u64 durable;

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

/*
 * Take the TX ring's published records into the queue. Return: 0 or an
 * errno if nothing was done; the counts in @e.
 */
static int mq_tx_submit(struct mq_ring *r, bool wait, struct mq_ring_enter *e)
{
	struct mq_txd *d = r->txd;
	struct mq_rbuf *b = &r->tx;
	struct mq_queue *q = r->q;
	u32 tail, end, bad, sent, nbad;
	int n, i, direct, err = 0;
	bool again = false;

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

/*
 * Move queued messages into the RX ring while they fit. Return: 0 or an
 * errno (-EMSGSIZE: the next message can never fit); the count in @e.
 */
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

/*
 * Move queued messages into the RX ring while they fit: in batches, under
 * one lock each, while they are in memory; then one by one, as read(2)
 * would, which may sleep (a durable queue's lease, a payload read back
 * from the store) and tells when the next message can never fit.
 * @own: the consumer's own call, not a producer's. Return: 0 or an errno
 * (-EMSGSIZE: the next message can never fit); the count in @e.
 */
static int mq_rx_fill(struct mq_ring *c, struct mq_ring_enter *e, bool own)
{
	struct mq_rbuf *b = &c->rx;
	u32 t, unpub = 0;
	int err = 0, n;

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

/* Something for a waiting consumer: its tail moved, or the queue has some. */
static bool mq_rx_ready(struct mq_ring *c, u32 tail)
{
	return READ_ONCE(c->rx.ktail) != tail ||
	       (mq_queue_poll(c->q, NULL, NULL) & (EPOLLIN | EPOLLHUP));
}

/*
 * MQ_IOC_RING_ENTER, with the caller's struct copied in; counts are
 * written into it. Return: 0 (see @e for what was done) or a negative
 * errno if nothing was.
 */
static long mq_ring_enter(struct mq_ring *r, struct mq_ring_enter *e)
{
	const u64 known = MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_GETMSGS |
			  MQ_RING_ENTER_WAIT | MQ_RING_ENTER_DURABLE |
			  MQ_RING_ENTER_RX_TAIL;
	bool wait = e->flags & MQ_RING_ENTER_WAIT;
	struct mq_queue *q = r->q;
	int err = 0;

	if (e->flags & ~known || e->reserved0 ||
	    (e->rx_tail && !(e->flags & MQ_RING_ENTER_RX_TAIL)) ||
	    e->submitted || e->delivered || e->bad)
		return -EINVAL;
	if ((e->flags & (MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_DURABLE) &&
	     !r->tx.npages) ||
	    (e->flags & MQ_RING_ENTER_GETMSGS && !r->rx.npages))
		return -EINVAL;

	if (e->flags & (MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_DURABLE)) {
		if (mutex_lock_interruptible(&r->tx_lock))
			return -EINTR;
		if (e->flags & MQ_RING_ENTER_SUBMIT)
			err = mq_tx_submit(r, wait, e);
		if (!err && e->flags & MQ_RING_ENTER_DURABLE &&
		    r->tx_durable != r->tx_msgs) {
			err = mq_queue_sync(q, r->last_end);
			mq_tx_refresh(r);
		}
		mutex_unlock(&r->tx_lock);
		if (err)
			return e->submitted ? 0 : err;
	} else if (r->tx.npages && mutex_trylock(&r->tx_lock)) {
		mq_tx_refresh(r);
		mutex_unlock(&r->tx_lock);
	}

	if (e->flags & MQ_RING_ENTER_GETMSGS) {
		/*
		 * WAIT: while the tail is where the consumer last saw it
		 * (RX_TAIL) or where it has released up to. Compared with
		 * the tail only, never trusted otherwise.
		 */
		u32 tail0 = e->flags & MQ_RING_ENTER_RX_TAIL ? e->rx_tail :
			    READ_ONCE(*r->rx.head);

		for (;;) {
			bool filled = false;

			/*
			 * Nothing queued: do not hold rx_lock for nothing, a
			 * writer may be about to hand a batch over directly.
			 */
			if (!mq_queue_maybe_empty(q)) {
				if (mutex_lock_interruptible(&r->rx_lock)) {
					err = -EINTR;
					break;
				}
				err = mq_rx_fill(r, e, true);
				mutex_unlock(&r->rx_lock);
				filled = true;
			}
			if (err || !wait || READ_ONCE(r->rx.ktail) != tail0)
				break;
			if (READ_ONCE(q->dead)) {
				err = -EIDRM;
				break;
			}
			/*
			 * Queued messages that did not fit: the ring is full
			 * until the consumer releases some, which no wake-up
			 * tells. Return rather than spin.
			 */
			if (filled && !mq_queue_maybe_empty(q))
				break;
			atomic_inc(&q->blocked_outside);
			err = wait_event_interruptible(q->pollq,
						       mq_rx_ready(r, tail0));
			atomic_dec(&q->blocked_outside);
			if (err) {
				err = -EINTR;
				break;
			}
		}
		if (err && (e->submitted || e->delivered))
			err = 0;
	}
	return err;
}

/*
 * poll(2) on a ring fd: the queue's events, and EPOLLIN if the RX ring
 * holds records, EPOLLOUT if the TX ring has room for a maximal message.
 */
static __poll_t mq_ring_poll(struct file *file, poll_table *wait)
{
	struct mq_ring *r = file->private_data;
	__poll_t mask = mq_queue_poll(r->q, file, wait);
	u32 used, need;

	if (mask & EPOLLHUP)
		return mask;
	/* A ring fd reads and writes only through the rings it has. */
	if (!r->rx.npages)
		mask &= ~(EPOLLIN | EPOLLRDNORM);
	if (!r->tx.npages)
		mask &= ~(EPOLLOUT | EPOLLWRNORM);
	if (r->rx.npages && READ_ONCE(r->rx.ktail) != READ_ONCE(*r->rx.head))
		mask |= EPOLLIN | EPOLLRDNORM;
	if (r->tx.npages) {
		used = READ_ONCE(*r->tx.tail) - READ_ONCE(r->tx.khead);
		need = min_t(u64, mq_rec_bytes(READ_ONCE(r->q->lim.max_msg)),
			     r->tx.size);
		if (used <= r->tx.size && r->tx.size - used >= need)
			mask |= EPOLLOUT | EPOLLWRNORM;
		if (mutex_trylock(&r->tx_lock)) {
			mq_tx_refresh(r);
			mutex_unlock(&r->tx_lock);
		}
	}
	return mask;
}

static long mq_ring_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct mq_ring *r = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct mq_ring_enter e;
	long usize, err;

	if (MQ_IOC_NR(cmd) != MQ_IOC_NR(MQ_IOC_RING_ENTER))
		return -ENOTTY;
	if (READ_ONCE(r->q->dead))
		return -EIDRM;
	usize = mq_ioctl_struct_in(&e, sizeof(e), MQ_RING_ENTER_SIZE_VER0,
				   uarg);
	if (usize < 0)
		return usize;
	err = mq_ring_enter(r, &e);
	if (err)
		return err;
	e.size = min_t(u32, usize, sizeof(e));
	/* The work is done: a fault here loses only the counts. */
	if (copy_to_user(uarg, &e, e.size))
		return -EFAULT;
	return 0;
}

static const struct file_operations mq_ring_fops = {
	.owner = THIS_MODULE,
	.release = mq_ring_file_release,
	.mmap = mq_ring_mmap,
	.poll = mq_ring_poll,
	.unlocked_ioctl = mq_ring_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};
