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
 *
 * This file is the ring fd's life: setup, the rings' pages and their
 * accounting, the queue's list of RX rings, mmap, poll and the
 * MQ_RING_ENTER call. The data path, moving messages through the rings,
 * is ring_io.c; ring_int.h is what the two share.
 */

#include <linux/anon_inodes.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/capability.h>

#include "ring_int.h"
#include "ioctl.h"

#define MQ_FEATURES	(MQ_RING_FEAT_RX_TAIL | MQ_RING_FEAT_DURABLE | \
			 MQ_RING_FEAT_DIRECT)
#define MQ_CTRL_HEAD	0
#define MQ_CTRL_TAIL	64
#define MQ_CTRL_FLAGS	128

/* Sets and clears q->ring_fe. */
static DEFINE_SPINLOCK(mq_ring_fe_lock);

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
 * The ring holds the opener's cred, which pins its user_struct: a
 * reference of the user's own would need free_uid(), which Debian 12's
 * kernels before 6.1.0-57 do not export to modules.
 */
static int mq_ring_account(struct mq_ring *r, unsigned long pages)
{
	unsigned long limit, cur, new;

	if (capable(CAP_IPC_LOCK))
		return 0;
	limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_read(&r->cred->user->locked_vm);
	do {
		new = cur + pages;
		if (new > limit || new < cur)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&r->cred->user->locked_vm, &cur, new));
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

	atomic_long_sub(r->locked, &r->cred->user->locked_vm);
	put_cred(r->cred);
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

/**
 * mq_ring_put - drop a reference to a ring; the last one frees it
 * @r: the ring
 */
void mq_ring_put(struct mq_ring *r)
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
	r->cred = get_current_cred();
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
