// SPDX-License-Identifier: GPL-2.0
/*
 * The store: every durable queue of the host in one circular log on one
 * block device (the format: uapi/linux/mq_store.h, docs/store.md).
 *
 * Appends go to a ring of pages in memory that mirrors the log's newest
 * bytes, under s->lock; they never sleep, and a message's checksum is
 * computed before, outside every lock. A commit writes the ring from the
 * first block not yet durable to the last appended byte, as bios, and
 * makes it stable: REQ_FUA, or a flush after several bios. No pre-flush:
 * every earlier commit ended stable, and the superblock and catalog carry
 * their own. The partly filled last block is written again by the next
 * commit, its durable prefix unchanged. Group commit: a writer that must
 * wait for its record leads a commit if none is under way, committing
 * everything appended so far; otherwise it sleeps until the commit under
 * way ends, and all writers that arrived meanwhile share the next one.
 * "async" records are committed by a delayed work within flush_ms.
 */

#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/crc32.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/uuid.h>
#include <linux/timekeeping.h>
#include <linux/kdev_t.h>
#include <linux/sched/signal.h>

#include "store.h"
#include "queue.h"

#define BLK		MQ_STORE_BLOCK
#define REC_HDR		sizeof(struct mq_disk_rec)
#define FMODE_STORE	(FMODE_READ | FMODE_WRITE | FMODE_EXCL)

static unsigned int cache_mb = 64;
module_param(cache_mb, uint, 0644);
MODULE_PARM_DESC(cache_mb, "durable messages' payload kept in memory, MiB (default 64); the rest is read back from the store");

static u32 mq_crc(u32 seed, const void *p, size_t len)
{
	return __crc32c_le(seed, p, len);
}

static u64 mq_rec_size(u32 len)
{
	return round_up(REC_HDR + len, 8);
}

/* ---- block I/O ---- */

/*
 * Read or write @len bytes (whole blocks) at byte @pos of the device,
 * from or to a kmalloc'd or vmalloc'd @buf, and wait.
 */
static int mq_bdev_rw(struct block_device *bdev, blk_opf_t opf, u64 pos,
		      void *buf, size_t len)
{
	blk_opf_t flags = opf & (REQ_PREFLUSH | REQ_FUA);
	struct bio *bio = NULL, *next;
	size_t done = 0;
	int err, nbios = 0;

	opf &= ~(REQ_PREFLUSH | REQ_FUA);
	/* The device sees physical pages: no stale lines of a vmap alias. */
	if (is_vmalloc_addr(buf) && op_is_write(opf))
		flush_kernel_vmap_range(buf, len);
	while (done < len) {
		struct page *page = is_vmalloc_addr(buf + done) ?
			vmalloc_to_page(buf + done) : virt_to_page(buf + done);
		unsigned int off = offset_in_page(buf + done);
		unsigned int n = min_t(size_t, len - done, PAGE_SIZE - off);

		if (!bio || bio_add_page(bio, page, n, off) != n) {
			unsigned int nr = min_t(size_t, BIO_MAX_VECS,
				DIV_ROUND_UP(len - done, PAGE_SIZE) + 1);

			next = bio_alloc(bdev, nr, opf, GFP_KERNEL);
			next->bi_iter.bi_sector = (pos + done) >> SECTOR_SHIFT;
			if (bio) {
				bio_chain(bio, next);
				submit_bio(bio);
			}
			bio = next;
			nbios++;
			/* A fresh bio always takes a page. */
			__bio_add_page(bio, page, n, off);
		}
		done += n;
	}
	if (!bio)
		return 0;
	/* One bio can carry the flush itself; more need one after. */
	if (nbios == 1)
		bio->bi_opf |= flags;
	err = submit_bio_wait(bio);
	bio_put(bio);
	if (!err && flags && nbios > 1)
		err = blkdev_issue_flush(bdev);
	if (is_vmalloc_addr(buf) && !op_is_write(opf))
		invalidate_kernel_vmap_range(buf, len);
	return err;
}

/* ---- superblock and catalog ---- */

static u64 mq_segs_offset(void)
{
	return MQ_SEGS_OFFSET;
}

static u32 mq_super_crc(const struct mq_disk_super *sb)
{
	struct mq_disk_super tmp = *sb;

	tmp.crc = 0;
	return mq_crc(~0U, &tmp, sizeof(tmp));
}

/* With s->sb_buf, taken at attach, it needs no memory: detach cannot fail. */
static int mq_super_write(struct mq_store *s, u32 flags)
{
	struct mq_disk_super *sb = s->sb_buf;
	int err;

	if (sb)
		memset(sb, 0, BLK);
	else
		sb = kzalloc(BLK, GFP_KERNEL);
	if (!sb)
		return -ENOMEM;
	memcpy(sb->magic, MQ_SUPER_MAGIC, sizeof(sb->magic));
	sb->version = cpu_to_le32(MQ_STORE_VERSION);
	sb->generation = cpu_to_le64(s->sb_gen + 1);
	memcpy(sb->uuid, s->uuid, sizeof(sb->uuid));
	sb->device_bytes = cpu_to_le64(s->dev_bytes);
	sb->segment_size = cpu_to_le32(s->seg_size);
	sb->segment_count = cpu_to_le32(s->nseg);
	sb->flags = cpu_to_le32(flags);
	sb->block_size = cpu_to_le32(BLK);
	sb->format_ns = cpu_to_le64(ktime_get_real_ns());
	sb->crc = cpu_to_le32(mq_super_crc(sb));
	err = mq_bdev_rw(s->bdev, REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA,
			 ((s->sb_gen + 1) & 1) * BLK, sb, BLK);
	if (!err)
		s->sb_gen++;
	if (sb != s->sb_buf)
		kfree(sb);
	return err;
}

/* Validate a superblock copy. Return: 0, or why not (negative errno). */
static int mq_super_check(const struct mq_disk_super *sb, u64 dev_bytes)
{
	u32 seg = le32_to_cpu(sb->segment_size);
	u64 nseg = le32_to_cpu(sb->segment_count);

	if (memcmp(sb->magic, MQ_SUPER_MAGIC, sizeof(sb->magic)))
		return -EMEDIUMTYPE;
	/* A newer version may lay the rest out otherwise: check it first. */
	if (le32_to_cpu(sb->version) > MQ_STORE_VERSION)
		return -EPROTONOSUPPORT;
	if (le32_to_cpu(sb->crc) != mq_super_crc(sb) ||
	    le32_to_cpu(sb->version) != MQ_STORE_VERSION)
		return -EUCLEAN;
	if (le32_to_cpu(sb->block_size) != BLK || !is_power_of_2(seg) ||
	    seg < MQ_SEG_MIN || seg > MQ_SEG_MAX ||
	    nseg < MQ_STORE_MIN_SEGMENTS ||
	    le64_to_cpu(sb->device_bytes) > dev_bytes ||
	    mq_segs_offset() + nseg * seg > le64_to_cpu(sb->device_bytes))
		return -EUCLEAN;
	return 0;
}

static void mq_cat_fill_entry(struct mq_disk_queue *dq, struct mq_queue *q,
			      bool final)
{
	memset(dq, 0, sizeof(*dq));
	spin_lock(&q->lock);
	dq->serial = cpu_to_le64(q->serial);
	dq->ident = cpu_to_le64(q->ident);
	/* Reads in flight may yet give their messages back. */
	dq->head = cpu_to_le64(mq_queue_consumed(q));
	dq->tail = cpu_to_le64(q->tail);
	/*
	 * At detach nothing is being read: what is queued above the highest
	 * offset ever delivered was never read. Below it, after a message
	 * that a failed read gave back, are messages that were read.
	 */
	dq->lease = cpu_to_le64(final ?
				max(mq_queue_consumed(q), q->delivered_hi) :
				max(q->lease, q->lease_pending));
	dq->cap_bytes = cpu_to_le64(q->lim.cap_bytes);
	dq->max_msg = cpu_to_le32(q->lim.max_msg);
	dq->cap_msgs = cpu_to_le32(q->lim.cap_msgs);
	dq->mode = cpu_to_le32(q->mode);
	dq->uid = cpu_to_le32(from_kuid(&init_user_ns, q->uid));
	dq->gid = cpu_to_le32(from_kgid(&init_user_ns, q->gid));
	dq->durability = cpu_to_le32(q->durability);
	dq->created_ns = cpu_to_le64(q->created_ns);
	spin_unlock(&q->lock);
	strscpy(dq->name, q->name, sizeof(dq->name));
}

static size_t mq_cat_bytes(u32 nqueues)
{
	return round_up(sizeof(struct mq_disk_catalog) +
			(size_t)nqueues * sizeof(struct mq_disk_queue), BLK);
}

/**
 * mq_store_catalog_alloc - memory for the next catalog write
 * @s: the store
 * @extra: queues that will be added before the write
 *
 * A change that must be saved takes it first, so that no memory is
 * needed once the change is made. Under mq_reg_lock.
 * Return: a buffer for mq_store_write_catalog(), or NULL.
 */
struct mq_disk_catalog *mq_store_catalog_alloc(struct mq_store *s, u32 extra)
{
	struct mq_disk_catalog *cat;

	cat = kvzalloc(mq_cat_bytes(s->nqueues + extra), GFP_KERNEL);
	if (cat)	/* how many it has room for, until it is filled */
		cat->count = cpu_to_le32(s->nqueues + extra);
	return cat;
}

/**
 * mq_store_write_catalog - write every durable queue's definition and
 * position, and where the log starts, to the older catalog copy
 * @s: the store
 * @cat: from mq_store_catalog_alloc(), or NULL to allocate here; freed
 * @log_tail: the oldest segment still needed
 * @final: at detach: no reads are in flight
 *
 * Called with mq_reg_lock held (it guards s->queues). Return: 0 or errno.
 */
int mq_store_write_catalog(struct mq_store *s, struct mq_disk_catalog *cat,
			   u64 log_tail, bool final)
{
	struct mq_disk_queue *dq;
	struct mq_queue *q;
	size_t len;
	u32 n = 0, crc;
	int slot = !s->cat_slot, err;

	if (cat && WARN_ON_ONCE(le32_to_cpu(cat->count) < s->nqueues)) {
		kvfree(cat);
		cat = NULL;
	}
	if (!cat)
		cat = mq_store_catalog_alloc(s, 0);
	if (!cat)
		return -ENOMEM;
	len = mq_cat_bytes(s->nqueues);
	memset(cat, 0, len);
	dq = (void *)cat + sizeof(*cat);
	list_for_each_entry(q, &s->queues, store_node)
		mq_cat_fill_entry(&dq[n++], q, final);
	cat->magic = cpu_to_le32(MQ_CAT_MAGIC);
	cat->generation = cpu_to_le64(s->cat_gen + 1);
	cat->count = cpu_to_le32(n);
	cat->entry_size = cpu_to_le32(sizeof(*dq));
	cat->log_tail = cpu_to_le64(log_tail);
	cat->next_serial = cpu_to_le64(s->next_serial);
	memcpy(cat->uuid, s->uuid, sizeof(cat->uuid));
	crc = mq_crc(s->seed, cat, sizeof(*cat));
	crc = mq_crc(crc, dq, (size_t)n * sizeof(*dq));
	cat->crc = cpu_to_le32(crc);
	err = mq_bdev_rw(s->bdev, REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA,
			 MQ_CAT_OFFSET + (u64)slot * MQ_CAT_BYTES, cat, len);
	kvfree(cat);
	if (err) {
		spin_lock(&s->lock);
		s->io_errors++;
		if (!s->err)
			s->err = -EIO;
		spin_unlock(&s->lock);
		return -EIO;
	}
	s->cat_gen++;
	s->cat_slot = slot;
	spin_lock(&s->lock);
	if (log_tail > s->tail_seg)
		s->tail_seg = log_tail;
	spin_unlock(&s->lock);
	return 0;
}

/* Read and check a catalog copy. Return: the copy (kvfree it) or ERR_PTR. */
static struct mq_disk_catalog *mq_cat_read(struct mq_store *s, int slot)
{
	struct mq_disk_catalog *cat, hdr;
	u32 n, crc;
	int err;

	cat = kvmalloc(MQ_CAT_BYTES, GFP_KERNEL);
	if (!cat)
		return ERR_PTR(-ENOMEM);
	err = mq_bdev_rw(s->bdev, REQ_OP_READ,
			 MQ_CAT_OFFSET + (u64)slot * MQ_CAT_BYTES, cat,
			 MQ_CAT_BYTES);
	if (err)
		goto fail;
	err = -EUCLEAN;
	n = le32_to_cpu(cat->count);
	if (le32_to_cpu(cat->magic) != MQ_CAT_MAGIC ||
	    memcmp(cat->uuid, s->uuid, sizeof(s->uuid)) ||
	    le32_to_cpu(cat->entry_size) != sizeof(struct mq_disk_queue) ||
	    n > MQ_CAT_MAX_QUEUES)
		goto fail;
	hdr = *cat;
	hdr.crc = 0;
	crc = mq_crc(s->seed, &hdr, sizeof(hdr));
	crc = mq_crc(crc, (void *)cat + sizeof(*cat),
		     (size_t)n * sizeof(struct mq_disk_queue));
	if (crc != le32_to_cpu(cat->crc))
		goto fail;
	return cat;
fail:
	kvfree(cat);
	return ERR_PTR(err);
}

/* ---- format ---- */

/* Claimed exclusively, with @holder: a second claim fails with -EBUSY. */
static struct block_device *mq_bdev_open(const char *path, void *holder,
					 struct netlink_ext_ack *extack)
{
	struct block_device *bdev;

	bdev = blkdev_get_by_path(path, FMODE_STORE, holder);
	if (IS_ERR(bdev)) {
		if (PTR_ERR(bdev) == -EBUSY)
			NL_SET_ERR_MSG(extack, "device busy (in use, or the attached store)");
		else
			NL_SET_ERR_MSG(extack, "cannot open the block device");
		return bdev;
	}
	if (bdev_logical_block_size(bdev) > BLK) {
		blkdev_put(bdev, FMODE_STORE);
		NL_SET_ERR_MSG(extack, "device blocks larger than 4 KiB are not supported");
		return ERR_PTR(-EINVAL);
	}
	return bdev;
}

static void mq_seg_header(struct mq_store *s, struct mq_disk_seg *h, u64 k,
			  u64 prev_end)
{
	memset(h, 0, sizeof(*h));
	h->magic = cpu_to_le32(MQ_SEG_MAGIC);
	h->seq = cpu_to_le64(k);
	h->prev_end = cpu_to_le64(prev_end);
	memcpy(h->uuid, s->uuid, sizeof(h->uuid));
	h->crc = cpu_to_le32(mq_crc(s->seed, h, sizeof(*h)));
}

/**
 * mq_store_format - write an empty store
 * @path: the block device
 * @seg_size: segment size, 0 for the default
 * @extack: where to say why it failed
 *
 * Return: 0 or a negative errno.
 */
int mq_store_format(const char *path, u32 seg_size,
		    struct netlink_ext_ack *extack)
{
	struct mq_store *s;
	void *blk;
	u64 nseg;
	int err;

	if (!seg_size)
		seg_size = MQ_SEG_DEFAULT;
	if (!is_power_of_2(seg_size) || seg_size < MQ_SEG_MIN ||
	    seg_size > MQ_SEG_MAX) {
		NL_SET_ERR_MSG(extack, "segment size must be a power of 2 from 1 MiB to 64 MiB");
		return -EINVAL;
	}
	s = kzalloc(sizeof(*s), GFP_KERNEL);
	blk = kzalloc(BLK, GFP_KERNEL);
	if (!s || !blk) {
		err = -ENOMEM;
		goto out;
	}
	s->bdev = mq_bdev_open(path, s, extack);
	if (IS_ERR(s->bdev)) {
		err = PTR_ERR(s->bdev);
		goto out;
	}
	s->dev_bytes = bdev_nr_bytes(s->bdev);
	nseg = s->dev_bytes > mq_segs_offset() ?
		(s->dev_bytes - mq_segs_offset()) / seg_size : 0;
	if (nseg < MQ_STORE_MIN_SEGMENTS) {
		NL_SET_ERR_MSG(extack, "device too small (4 segments and 2 catalogs)");
		err = -ENOSPC;
		goto out_put;
	}
	s->seg_size = seg_size;
	s->nseg = min_t(u64, nseg, U32_MAX);
	generate_random_uuid(s->uuid);
	s->seed = mq_crc(~0U, s->uuid, sizeof(s->uuid));
	s->next_serial = 1;

	/*
	 * Wipe both superblocks first: a crash mid-format leaves no store
	 * rather than a half-made one. Then both catalogs, then the first
	 * superblock. Old segments need no wiping: their records name
	 * another uuid.
	 */
	err = mq_bdev_rw(s->bdev, REQ_OP_WRITE, 0, blk, BLK) ?:
	      mq_bdev_rw(s->bdev, REQ_OP_WRITE | REQ_PREFLUSH | REQ_FUA, BLK,
			 blk, BLK);
	if (err)
		goto io_err;
	INIT_LIST_HEAD(&s->queues);
	spin_lock_init(&s->lock);
	s->cat_slot = 1;
	err = mq_store_write_catalog(s, NULL, 0, true);	/* slot 0 */
	if (err)
		goto io_err;
	s->cat_slot = 0;
	err = mq_store_write_catalog(s, NULL, 0, true);	/* slot 1, generation 2 */
	if (err)
		goto io_err;
	s->sb_gen = 0;
	err = mq_super_write(s, MQ_SB_CLEAN);	/* generation 1, copy 1 */
	if (err)
		goto io_err;
	pr_info("formatted %s: %u segments of %u KiB\n", path, s->nseg,
		seg_size >> 10);
	goto out_put;
io_err:
	NL_SET_ERR_MSG(extack, "I/O error writing the device");
out_put:
	blkdev_put(s->bdev, FMODE_STORE);
out:
	kfree(blk);
	kfree(s);
	return err;
}

/* ---- attach and recovery ---- */

static void mq_store_release(struct kref *ref)
{
	struct mq_store *s = container_of(ref, struct mq_store, ref);
	u32 i;

	if (s->ring) {
		for (i = 0; i < s->ring_pages; i++)
			if (s->ring[i])
				__free_page(s->ring[i]);
		kvfree(s->ring);
	}
	if (s->bounce)
		__free_page(s->bounce);
	kfree(s->sb_buf);
	kfree(s);
}

/**
 * mq_store_put - drop a reference to a store
 * @s: the store
 */
void mq_store_put(struct mq_store *s)
{
	kref_put(&s->ref, mq_store_release);
}

static void mq_store_flush_fn(struct work_struct *work);

/**
 * mq_store_open - open a store and read its catalog
 * @path: the block device
 * @flush_ms: async flush interval, 0 for the default
 * @changed: called (it may sleep) when an I/O error degrades the store
 * @restored: filled with a struct mq_restore per queue of the catalog
 * @extack: where to say why it failed
 *
 * Nothing is written yet. Return: the store, or ERR_PTR.
 */
struct mq_store *mq_store_open(const char *path, u32 flush_ms,
			       void (*changed)(struct mq_store *s),
			       struct list_head *restored,
			       struct netlink_ext_ack *extack)
{
	struct mq_disk_super *sb[2] = { NULL, NULL };
	struct mq_disk_catalog *cat[2] = { NULL, NULL }, *c;
	struct mq_disk_queue *dq;
	int err, e[2], i, best = -1;
	struct mq_store *s;
	u32 n;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return ERR_PTR(-ENOMEM);
	kref_init(&s->ref);
	spin_lock_init(&s->lock);
	mutex_init(&s->commit_mutex);
	init_waitqueue_head(&s->commit_wq);
	init_waitqueue_head(&s->gather_wq);
	INIT_LIST_HEAD(&s->gatherers);
	INIT_DELAYED_WORK(&s->flush_work, mq_store_flush_fn);
	INIT_LIST_HEAD(&s->queues);
	s->flush_ms = flush_ms ?: 50;
	s->changed = changed;
	strscpy(s->path, path, sizeof(s->path));
	s->pos_lpos = U64_MAX;
	s->sb_buf = kmalloc(BLK, GFP_KERNEL);
	if (!s->sb_buf) {
		err = -ENOMEM;
		goto fail;
	}

	s->bdev = mq_bdev_open(path, s, extack);
	if (IS_ERR(s->bdev)) {
		err = PTR_ERR(s->bdev);
		s->bdev = NULL;
		goto fail;
	}
	s->devt = new_encode_dev(s->bdev->bd_dev);
	s->dev_bytes = bdev_nr_bytes(s->bdev);

	for (i = 0; i < 2; i++) {
		sb[i] = kmalloc(BLK, GFP_KERNEL);
		if (!sb[i]) {
			err = -ENOMEM;
			goto fail;
		}
		e[i] = mq_bdev_rw(s->bdev, REQ_OP_READ, i * BLK, sb[i], BLK);
		if (!e[i])
			e[i] = mq_super_check(sb[i], s->dev_bytes);
		if (!e[i] && (best < 0 || le64_to_cpu(sb[i]->generation) >
				       le64_to_cpu(sb[best]->generation)))
			best = i;
	}
	if (best < 0) {
		if (e[0] == -EMEDIUMTYPE && e[1] == -EMEDIUMTYPE) {
			err = -EMEDIUMTYPE;
			NL_SET_ERR_MSG(extack, "not an mq store (no mq superblock)");
		} else if (e[0] == -EPROTONOSUPPORT || e[1] == -EPROTONOSUPPORT) {
			err = -EPROTONOSUPPORT;
			NL_SET_ERR_MSG(extack, "store format newer than version 1: left untouched");
		} else if (e[0] == -EIO || e[1] == -EIO) {
			err = -EIO;
			NL_SET_ERR_MSG(extack, "I/O error reading the superblocks");
		} else {
			err = -EUCLEAN;
			NL_SET_ERR_MSG(extack, "both superblocks damaged or misfit");
		}
		goto fail;
	}
	memcpy(s->uuid, sb[best]->uuid, sizeof(s->uuid));
	s->seed = mq_crc(~0U, s->uuid, sizeof(s->uuid));
	s->seg_size = le32_to_cpu(sb[best]->segment_size);
	s->nseg = le32_to_cpu(sb[best]->segment_count);
	s->sb_gen = le64_to_cpu(sb[best]->generation);
	s->was_clean = le32_to_cpu(sb[best]->flags) & MQ_SB_CLEAN;
	s->epoch = s->sb_gen + 1;
	s->dev_bytes = le64_to_cpu(sb[best]->device_bytes);

	best = -1;
	for (i = 0; i < 2; i++) {
		cat[i] = mq_cat_read(s, i);
		if (IS_ERR(cat[i]))
			continue;
		if (best < 0 || le64_to_cpu(cat[i]->generation) >
				le64_to_cpu(cat[best]->generation))
			best = i;
	}
	if (best < 0) {
		err = -EUCLEAN;
		NL_SET_ERR_MSG(extack, "both catalog copies are damaged");
		goto fail;
	}
	c = cat[best];
	s->cat_slot = best;
	s->cat_gen = le64_to_cpu(c->generation);
	s->next_serial = le64_to_cpu(c->next_serial);
	s->tail_seg = le64_to_cpu(c->log_tail);
	/* Log positions are segment number x size: keep them far from wrapping. */
	if (s->tail_seg > U64_MAX / MQ_SEG_MAX / 4) {
		err = -EUCLEAN;
		NL_SET_ERR_MSG(extack, "the catalog's log tail is out of range");
		goto fail;
	}
	n = le32_to_cpu(c->count);
	dq = (void *)c + sizeof(*c);
	for (i = 0; i < n; i++) {
		struct mq_restore *r;
		u32 dur = le32_to_cpu(dq[i].durability);
		u64 serial = le64_to_cpu(dq[i].serial);

		dq[i].name[sizeof(dq[i].name) - 1] = 0;
		/* Offsets far from wrapping: read leases are taken ahead. */
		if (!mq_queue_name_valid(dq[i].name) || !serial ||
		    serial >= s->next_serial ||
		    le64_to_cpu(dq[i].head) >= MQ_OFFSET_LIMIT ||
		    le64_to_cpu(dq[i].tail) >= MQ_OFFSET_LIMIT ||
		    le64_to_cpu(dq[i].lease) >= MQ_OFFSET_LIMIT ||
		    (dur != MQ_DURABILITY_ASYNC && dur != MQ_DURABILITY_SYNC)) {
			pr_warn("%s: catalog entry %d is invalid: skipped\n",
				path, i);
			continue;
		}
		r = kzalloc(sizeof(*r), GFP_KERNEL);
		if (!r) {
			err = -ENOMEM;
			goto fail;
		}
		r->dq = dq[i];
		r->head = le64_to_cpu(dq[i].head);
		r->next = r->head;
		r->lease = le64_to_cpu(dq[i].lease);
		r->cat_tail = le64_to_cpu(dq[i].tail);
		list_add_tail(&r->node, restored);
	}
	for (i = 0; i < 2; i++) {
		kfree(sb[i]);
		if (!IS_ERR(cat[i]))
			kvfree(cat[i]);
	}
	return s;
fail:
	for (i = 0; i < 2; i++) {
		kfree(sb[i]);
		if (!IS_ERR_OR_NULL(cat[i]))
			kvfree(cat[i]);
	}
	if (s->bdev)
		blkdev_put(s->bdev, FMODE_STORE);
	kfree(s->sb_buf);
	kfree(s);
	return ERR_PTR(err);
}

static u64 mq_phys(const struct mq_store *s, u64 lpos)
{
	u64 k = lpos / s->seg_size;

	return mq_segs_offset() + (k % s->nseg) * s->seg_size +
	       lpos % s->seg_size;
}

static bool mq_seg_header_ok(struct mq_store *s, const void *buf, u64 k)
{
	struct mq_disk_seg h;

	memcpy(&h, buf, sizeof(h));
	if (le32_to_cpu(h.magic) != MQ_SEG_MAGIC || le64_to_cpu(h.seq) != k ||
	    memcmp(h.uuid, s->uuid, sizeof(s->uuid)))
		return false;
	h.crc = 0;
	return mq_crc(s->seed, &h, sizeof(h)) ==
	       le32_to_cpu(((const struct mq_disk_seg *)buf)->crc);
}

/*
 * Does @r look like a record of segment @k at @p, within @lim bytes? No
 * message is longer than mq_store_max_msg().
 */
static bool mq_rec_hdr_ok(struct mq_store *s, const struct mq_disk_rec *r,
			  u64 p, u64 lim, u64 k)
{
	u16 type = le16_to_cpu(r->type);
	u32 len = le32_to_cpu(r->len);

	return le64_to_cpu(r->seg) == k && type >= MQ_REC_MSG &&
	       type <= MQ_REC_LEASE && !r->flags && !r->reserved &&
	       le64_to_cpu(r->offset) < MQ_OFFSET_LIMIT &&
	       len <= lim - p - REC_HDR && len <= mq_store_max_msg(s) &&
	       (type == MQ_REC_MSG ? len != 0 : len == 0);
}

/* Is there a valid record of segment @k at @p, within @lim bytes? */
static const struct mq_disk_rec *mq_rec_ok(struct mq_store *s, const u8 *buf,
					   u64 p, u64 lim, u64 k)
{
	const struct mq_disk_rec *r = (const void *)(buf + p);

	if (p + REC_HDR > lim || !mq_rec_hdr_ok(s, r, p, lim, k))
		return NULL;
	if (mq_crc(s->seed, buf + p + 4, REC_HDR - 4 + le32_to_cpu(r->len)) !=
	    le32_to_cpu(r->crc))
		return NULL;
	return r;
}

static struct mq_restore *mq_restore_find(struct list_head *restored,
					  u64 serial)
{
	struct mq_restore *r;

	list_for_each_entry(r, restored, node)
		if (le64_to_cpu(r->dq.serial) == serial)
			return r;
	return NULL;
}

static int mq_apply(struct mq_store *s, struct list_head *restored,
		    const struct mq_disk_rec *rec, u64 lpos)
{
	struct mq_restore *r = mq_restore_find(restored,
					       le64_to_cpu(rec->serial));
	u64 off = le64_to_cpu(rec->offset);
	int err;

	if (!r)
		return 0;	/* a deleted queue's */
	switch (le16_to_cpu(rec->type)) {
	case MQ_REC_MSG:
		if (off < r->next)
			return 0;	/* read already */
		if (off > r->next)
			r->lost += off - r->next;
		err = mq_queue_restore_msg(r->q, off,
					   le64_to_cpu(rec->tstamp_ns), lpos,
					   le32_to_cpu(rec->len));
		if (err)
			return err;
		r->next = off + 1;
		s->recovered_msgs++;
		break;
	case MQ_REC_POS:
		if (off > r->head) {
			r->head = off;
			mq_queue_restore_head(r->q, off);
			if (r->next < off)
				r->next = off;
		}
		break;
	case MQ_REC_LEASE:
		/* After a clean detach the catalog knows better. */
		if (!s->was_clean)
			r->lease = max(r->lease, off);
		break;
	}
	return 0;
}

/*
 * Recovery reads a segment through a window of MQ_SCAN_WIN bytes, so that
 * attaching takes the same memory whatever the segment size; a record
 * longer than the window is checked in pieces.
 */
#define MQ_SCAN_WIN	SZ_1M

/* A segment being scanned: which of its bytes the window holds. */
struct mq_scan {
	struct mq_store *s;
	u8 *buf;		/* MQ_SCAN_WIN bytes */
	u64 k;			/* the segment */
	u64 lim;		/* its records end by here (segment-relative) */
	u64 from, to;		/* buf holds [from, to) of the segment */
	u64 wasted;		/* checksummed for records that were not */
	int io_err;		/* a read of the device failed */
};

static void mq_scan_start(struct mq_scan *sc, u64 k, u64 lim)
{
	sc->k = k;
	sc->lim = lim;
	sc->from = 0;
	sc->to = 0;
	sc->wasted = 0;
	sc->io_err = 0;
}

/*
 * Point *@out at bytes [@p, @p + @n) of the segment, reading them in if
 * the window does not hold them; @n at most MQ_SCAN_WIN - BLK, @p + @n at
 * most sc->lim. Invalidates what earlier calls returned.
 */
static int mq_scan_get(struct mq_scan *sc, u64 p, u32 n, const u8 **out)
{
	struct mq_store *s = sc->s;
	int err;

	if (p < sc->from || p + n > sc->to) {
		u64 from = round_down(p, BLK);
		u64 to = min_t(u64, from + MQ_SCAN_WIN, round_up(sc->lim, BLK));

		sc->from = 0;
		sc->to = 0;
		err = mq_bdev_rw(s->bdev, REQ_OP_READ,
				 mq_phys(s, sc->k * s->seg_size + from),
				 sc->buf, to - from);
		if (err) {
			sc->io_err = err;
			return err;
		}
		sc->from = from;
		sc->to = to;
	}
	*out = sc->buf + (p - sc->from);
	return 0;
}

/*
 * Is there a valid record at @p? Return: 1 and the header in @r, 0 if
 * not, or a negative errno from reading.
 */
static int mq_scan_rec(struct mq_scan *sc, u64 p, struct mq_disk_rec *r)
{
	const u32 piece = MQ_SCAN_WIN - BLK;
	u64 q = p + REC_HDR;
	const u8 *b;
	u32 crc, left;
	int err;

	if (p + REC_HDR > sc->lim)
		return 0;
	err = mq_scan_get(sc, p, REC_HDR, &b);
	if (err)
		return err;
	memcpy(r, b, REC_HDR);
	if (!mq_rec_hdr_ok(sc->s, r, p, sc->lim, sc->k))
		return 0;
	crc = mq_crc(sc->s->seed, b + 4, REC_HDR - 4);
	for (left = le32_to_cpu(r->len); left; left -= min(left, piece)) {
		err = mq_scan_get(sc, q, min(left, piece), &b);
		if (err)
			return err;
		crc = mq_crc(crc, b, min(left, piece));
		q += min(left, piece);
	}
	if (crc == le32_to_cpu(r->crc))
		return 1;
	sc->wasted += le32_to_cpu(r->len);
	return 0;
}

/*
 * Scan the segment of @sc, applying its records. Records end at sc->lim
 * when known (the next segment says so); otherwise (@last) at the first
 * one that does not check out. Past damage, every 8 bytes are tried for
 * the next record that checks out; a segment made of records that look
 * right but are not (each checksummed to its claimed length) would take
 * time quadratic in its size, so after checksumming twice the segment's
 * size for such records the rest of it is given up as damaged.
 * Return: where its records end (segment-relative), or errno.
 */
static s64 mq_scan_seg(struct mq_scan *sc, struct list_head *restored,
		       bool last)
{
	struct mq_store *s = sc->s;
	u64 p = BLK, base = sc->k * s->seg_size;
	struct mq_disk_rec rec;
	int ok, err;

	while (p + REC_HDR <= sc->lim) {
		cond_resched();
		ok = mq_scan_rec(sc, p, &rec);
		if (ok < 0)
			return ok;
		if (!ok) {
			if (last)
				break;
			if (sc->wasted > 2 * s->seg_size) {
				pr_warn("%s: segment %llu: damaged from byte %llu on, skipped\n",
					s->path, sc->k, p);
				s->corrupt_bytes += sc->lim - p;
				return sc->lim;
			}
			/* Damaged: find the next record that checks out. */
			p += 8;
			s->corrupt_bytes += 8;
			continue;
		}
		err = mq_apply(s, restored, &rec, base + p);
		if (err)
			return err;
		p += mq_rec_size(le32_to_cpu(rec.len));
	}
	return p;
}

/*
 * Zero the last segment of the log from @end on, durably: a record
 * written after a torn one must never be taken for part of the log later.
 */
static int mq_scan_clear_tail(struct mq_scan *sc, u64 end)
{
	struct mq_store *s = sc->s;
	u64 from = round_down(end, BLK), n;
	const u8 *b;
	int err;

	/* The block holding @end keeps what comes before it. */
	if (end > from) {
		err = mq_scan_get(sc, from, BLK, &b);
		if (err)
			return err;
		memmove(sc->buf, b, end - from);
	}
	memset(sc->buf + (end - from), 0, MQ_SCAN_WIN - (end - from));
	sc->from = 0;
	sc->to = 0;
	while (from < s->seg_size) {
		n = min_t(u64, MQ_SCAN_WIN, s->seg_size - from);
		/* The last write flushes those before it too. */
		err = mq_bdev_rw(s->bdev, from + n < s->seg_size ?
				 REQ_OP_WRITE : REQ_OP_WRITE | REQ_PREFLUSH |
				 REQ_FUA, mq_phys(s, sc->k * s->seg_size + from),
				 sc->buf, n);
		if (err)
			return err;
		memset(sc->buf, 0, BLK);
		from += n;
	}
	return 0;
}

/**
 * mq_store_recover - read the log back into the restored queues
 * @s: the store, from mq_store_open()
 * @restored: its queues, each with its struct mq_queue allocated
 * @extack: where to say why it failed
 *
 * Then prepares the log's next segment, cutting off a torn tail.
 * Return: 0 or a negative errno.
 */
int mq_store_recover(struct mq_store *s, struct list_head *restored,
		     struct netlink_ext_ack *extack)
{
	struct mq_scan sc = { .s = s };
	u64 k, last = 0, end_lpos = 0, next_start;
	bool any = false;
	const u8 *b;
	u8 *hdr;
	s64 end;
	int err = 0;
	u32 i;

	sc.buf = kvmalloc(MQ_SCAN_WIN, GFP_KERNEL);
	hdr = kmalloc(BLK, GFP_KERNEL);
	if (!sc.buf || !hdr) {
		err = -ENOMEM;
		goto out;
	}
	/* The newest segment: the highest valid header from log_tail on. */
	for (i = 0; i < s->nseg; i++) {
		k = s->tail_seg + i;
		err = mq_bdev_rw(s->bdev, REQ_OP_READ, mq_phys(s, k * s->seg_size),
				 hdr, BLK);
		if (err)
			goto io_err;
		if (mq_seg_header_ok(s, hdr, k)) {
			last = k;
			any = true;
		}
	}
	for (k = s->tail_seg; any && k <= last; k++) {
		u64 lim = s->seg_size;

		if (k < last) {
			struct mq_disk_seg nh;

			err = mq_bdev_rw(s->bdev, REQ_OP_READ,
					 mq_phys(s, (k + 1) * s->seg_size), hdr,
					 BLK);
			if (err)
				goto io_err;
			memcpy(&nh, hdr, sizeof(nh));
			if (mq_seg_header_ok(s, hdr, k + 1) &&
			    le64_to_cpu(nh.prev_end) > k * s->seg_size &&
			    le64_to_cpu(nh.prev_end) <= (k + 1) * s->seg_size)
				lim = le64_to_cpu(nh.prev_end) - k * s->seg_size;
		}
		mq_scan_start(&sc, k, lim);
		err = mq_scan_get(&sc, 0, BLK, &b);
		if (err)
			goto io_err;
		if (!mq_seg_header_ok(s, b, k)) {
			pr_warn("%s: segment %llu: damaged header, skipped\n",
				s->path, k);
			s->corrupt_bytes += s->seg_size;
			continue;
		}
		end = mq_scan_seg(&sc, restored, k == last);
		if (end < 0) {
			err = end;
			if (sc.io_err)
				goto io_err;
			goto out;
		}
		if (k == last) {
			end_lpos = k * s->seg_size + end;
			if (end < s->seg_size) {
				err = mq_scan_clear_tail(&sc, end);
				if (err)
					goto io_err;
			}
		}
	}
	next_start = any ? last + 1 : s->tail_seg;
	s->head = next_start * s->seg_size;	/* the header goes here */
	s->seg_fill[(next_start - 1) % MQ_SEG_FILL] = end_lpos;
	goto out;
io_err:
	NL_SET_ERR_MSG(extack, "I/O error reading the log");
out:
	kvfree(sc.buf);
	kfree(hdr);
	return err;
}

/* ---- the log ---- */

static void *mq_ring_addr(struct mq_store *s, u64 lpos)
{
	return page_address(s->ring[(lpos >> PAGE_SHIFT) % s->ring_pages]) +
	       offset_in_page(lpos);
}

static void mq_ring_copy(struct mq_store *s, u64 lpos, const void *src,
			 size_t len)
{
	while (len) {
		size_t n = min_t(size_t, len, PAGE_SIZE - offset_in_page(lpos));

		memcpy(mq_ring_addr(s, lpos), src, n);
		lpos += n;
		src += n;
		len -= n;
	}
}

/* Clear ring pages up to @end before the log first writes there. */
static void mq_ring_zero(struct mq_store *s, u64 from, u64 end)
{
	if (s->zeroed < round_down(from, PAGE_SIZE))
		s->zeroed = round_down(from, PAGE_SIZE);
	while (s->zeroed < end) {
		clear_page(mq_ring_addr(s, s->zeroed));
		s->zeroed += PAGE_SIZE;
	}
}

/* Open segment @k at s->head's segment boundary; under s->lock. */
static void mq_seg_open(struct mq_store *s, u64 k, u64 prev_end)
{
	struct mq_disk_seg h;

	mq_ring_zero(s, k * s->seg_size, k * s->seg_size + BLK);
	mq_seg_header(s, &h, k, prev_end);
	mq_ring_copy(s, k * s->seg_size, &h, sizeof(h));
	s->head = k * s->seg_size + BLK;
}

/*
 * Find room for @need bytes; under s->lock. Position records may use the
 * last free segment, messages may not, so readers can always record
 * their progress, and progress is what frees space.
 * Return: the position, -ENOSPC, -EINPROGRESS (commit first) or -EIO.
 */
static s64 mq_log_reserve(struct mq_store *s, u64 need, bool msg)
{
	/* The segment of the last byte written (a header, at least). */
	u64 pos = s->head, k = (pos - 1) / s->seg_size;

	if (s->err)
		return s->err;
	if (s->detached)
		return -EIO;
	if (pos + need > (k + 1) * s->seg_size) {
		if (k + 1 - s->tail_seg >= s->nseg - (msg ? 1 : 0))
			return -ENOSPC;
		/*
		 * Once the rest of the segment is durable the ring keeps
		 * nothing of it: the next commit starts with the new one.
		 * Otherwise the skipped end of the segment would count
		 * against the ring, and a record near the largest would
		 * never fit, however often the log is committed.
		 */
		if (s->durable >= pos)
			s->cbs = (k + 1) * s->seg_size;
		if ((k + 1) * s->seg_size + BLK + need > s->cbs + MQ_RING_BYTES)
			return -EINPROGRESS;
		s->seg_fill[k % MQ_SEG_FILL] = pos;
		mq_seg_open(s, k + 1, pos);
		pos = s->head;
	}
	if (pos + need > s->cbs + MQ_RING_BYTES)
		return -EINPROGRESS;
	mq_ring_zero(s, pos, pos + need);
	return pos;
}

static void mq_rec_fill(struct mq_store *s, struct mq_disk_rec *r, u16 type,
			u64 pos, u64 serial, u64 offset, u64 tstamp, u32 len)
{
	memset(r, 0, sizeof(*r));
	r->type = cpu_to_le16(type);
	r->len = cpu_to_le32(len);
	r->seg = cpu_to_le64(pos / s->seg_size);
	r->serial = cpu_to_le64(serial);
	r->offset = cpu_to_le64(offset);
	r->tstamp_ns = cpu_to_le64(tstamp);
	r->epoch = cpu_to_le64(s->epoch);
}

static void mq_flush_arm(struct mq_store *s)
{
	if (!s->flush_armed) {
		s->flush_armed = true;
		queue_delayed_work(system_wq, &s->flush_work,
				   msecs_to_jiffies(s->flush_ms));
	}
}

/**
 * mq_store_append_msg - log a message; under its queue's lock
 * @s: the store
 * @serial: the queue's serial
 * @m: the message, with its offset set; its lpos is set here
 * @end: set to the log position after the record
 *
 * Return: 0, -ENOSPC (log full), -EINPROGRESS (commit, then try again)
 * or -EIO.
 */
int mq_store_append_msg(struct mq_store *s, u64 serial, struct mq_msg *m,
			u64 *end)
{
	u64 need = mq_rec_size(m->len), lpos;
	size_t n = m->inl, left = m->len - n;
	struct mq_disk_rec r;
	struct mq_frag *frag;
	s64 pos;
	u32 crc;

	spin_lock(&s->lock);
	pos = mq_log_reserve(s, need, true);
	if (pos < 0) {
		spin_unlock(&s->lock);
		return pos;
	}
	mq_rec_fill(s, &r, MQ_REC_MSG, pos, serial, m->offset, m->tstamp_ns,
		    m->len);
	crc = mq_crc(s->seed, (u8 *)&r + 4, REC_HDR - 4);
	if (!m->pcrc_ok) {	/* the queue became durable after the copy */
		m->pcrc = mq_msg_crc(m);
		m->pcrc_ok = true;
	}
	crc = __crc32c_le_combine(crc, m->pcrc, m->len);
	lpos = pos + REC_HDR;
	mq_ring_copy(s, lpos, m->data, n);
	lpos += n;
	for (frag = m->frags; frag; frag = frag->next, left -= n) {
		n = min_t(size_t, left, MQ_FRAG_DATA);
		mq_ring_copy(s, lpos, frag->data, n);
		lpos += n;
	}
	r.crc = cpu_to_le32(crc);
	mq_ring_copy(s, pos, &r, REC_HDR);
	s->head = pos + need;
	s->records++;
	m->lpos = pos;
	*end = s->head;
	mq_flush_arm(s);
	spin_unlock(&s->lock);
	return 0;
}

/**
 * mq_store_append_pos - log a consumer position or a read lease
 * @s: the store
 * @serial: the queue's serial
 * @type: MQ_REC_POS or MQ_REC_LEASE
 * @offset: the position
 * @end: set to the log position after the record
 *
 * A position record not yet on its way to the device is updated in place
 * rather than followed by another. Return: 0 or as mq_store_append_msg().
 */
int mq_store_append_pos(struct mq_store *s, u64 serial, u16 type,
			u64 offset, u64 *end)
{
	struct mq_disk_rec r;
	s64 pos;

	spin_lock(&s->lock);
	if (type == MQ_REC_POS && s->pos_serial == serial &&
	    s->pos_lpos != U64_MAX && s->pos_lpos >= s->submitted &&
	    s->pos_lpos + REC_HDR == s->head) {
		/*
		 * The last record, and no commit has taken it yet: a commit
		 * writes from its snapshot of the log, and a record changed
		 * under its bio could land torn, cutting the log short there.
		 */
		pos = s->pos_lpos;
	} else {
		pos = mq_log_reserve(s, REC_HDR, false);
		if (pos < 0) {
			spin_unlock(&s->lock);
			return pos;
		}
		s->head = pos + REC_HDR;
		s->records++;
	}
	mq_rec_fill(s, &r, type, pos, serial, offset, ktime_get_coarse_real_ns(),
		    0);
	r.crc = cpu_to_le32(mq_crc(s->seed, (u8 *)&r + 4, REC_HDR - 4));
	mq_ring_copy(s, pos, &r, REC_HDR);
	if (type == MQ_REC_POS) {
		s->pos_lpos = pos;
		s->pos_serial = serial;
	} else {
		s->pos_lpos = U64_MAX;
	}
	*end = s->head;
	mq_flush_arm(s);
	spin_unlock(&s->lock);
	return 0;
}

/*
 * Add the ring's pages for log bytes [from, to) (block-aligned) to bios;
 * the block at @bounce_at (if any) from s->bounce instead.
 */
static int mq_commit_range(struct mq_store *s, struct bio **biop, u64 from,
			   u64 to, u64 bounce_at, int *nbios)
{
	struct bio *bio = *biop, *next;

	while (from < to) {
		struct page *page = from == bounce_at ? s->bounce :
			s->ring[(from >> PAGE_SHIFT) % s->ring_pages];
		sector_t sector = mq_phys(s, from) >> SECTOR_SHIFT;

		if (!bio || bio_end_sector(bio) != sector ||
		    bio_add_page(bio, page, PAGE_SIZE, 0) != PAGE_SIZE) {
			unsigned int nr = min_t(u64, BIO_MAX_VECS,
						(to - from) >> PAGE_SHIFT);

			next = bio_alloc(s->bdev, nr, REQ_OP_WRITE, GFP_NOIO);
			next->bi_iter.bi_sector = sector;
			if (bio) {
				bio_chain(bio, next);
				submit_bio(bio);
			}
			bio = next;
			(*nbios)++;
			__bio_add_page(bio, page, PAGE_SIZE, 0);
		}
		from += PAGE_SIZE;
	}
	*biop = bio;
	return 0;
}

/* Write and make stable everything appended; under s->commit_mutex. */
static int mq_store_commit(struct mq_store *s)
{
	u64 start, end, k, t0, dt, fill[MQ_SEG_FILL], bounce_at = U64_MAX;
	struct bio *bio = NULL;
	int err = 0, nbios = 0;

	lockdep_assert_held(&s->commit_mutex);
	spin_lock(&s->lock);
	start = s->cbs;
	end = s->head;
	memcpy(fill, s->seg_fill, sizeof(fill));
	if (s->err || end <= s->durable) {
		err = s->err;
		spin_unlock(&s->lock);
		return err;
	}
	s->submitted = end;	/* what is before is no longer changed */
	/*
	 * The last block goes on filling while its bio is in flight: write
	 * a copy, for devices that need stable pages (and checksums that
	 * hold).
	 */
	if (end % BLK) {
		bounce_at = round_down(end, BLK);
		copy_page(page_address(s->bounce), mq_ring_addr(s, bounce_at));
	}
	spin_unlock(&s->lock);

	t0 = ktime_get_ns();
	for (k = start / s->seg_size; !err && k <= (end - 1) / s->seg_size; k++) {
		u64 from = max(start, k * s->seg_size);
		u64 to = k == (end - 1) / s->seg_size ? end :
			 fill[k % MQ_SEG_FILL];

		if (from < to)
			err = mq_commit_range(s, &bio, round_down(from, BLK),
					      round_up(to, BLK), bounce_at,
					      &nbios);
	}
	if (bio) {
		/* Only this commit's blocks: everything before is stable. */
		if (nbios == 1)
			bio->bi_opf |= REQ_FUA;
		if (err)
			bio_io_error(bio);
		else
			err = submit_bio_wait(bio);
		bio_put(bio);
		if (!err && nbios > 1)
			err = blkdev_issue_flush(s->bdev);
	}
	dt = ktime_get_ns() - t0;

	spin_lock(&s->lock);
	if (err) {
		s->io_errors++;
		s->err = -EIO;
	} else {
		s->bytes_written += round_up(end, BLK) - round_down(start, BLK);
		WRITE_ONCE(s->durable, end);
		s->cbs = round_down(end, BLK);
	}
	s->flushes++;
	s->flush_ns_total += dt;
	s->flush_ns_max = max(s->flush_ns_max, dt);
	spin_unlock(&s->lock);
	if (err) {
		pr_err("%s: I/O error %d writing the log: store degraded\n",
		       s->path, err);
		s->changed(s);
		return -EIO;
	}
	return 0;
}

static int __mq_store_wait(struct mq_store *s, u64 end, bool writer,
			   bool killable);

/*
 * A leader's wait for the writers of the last commit to come back with
 * their next records, so that they share this commit rather than the one
 * after (the writers would otherwise settle into two halves taking
 * turns). s->returning counts sync writers that finished a write and have
 * not started the next; the leader waits while there are any, at most
 * the mean commit time (and 2 ms). A writer that does not come back (it had nothing
 * more to write) is forgotten when the wait times out.
 */
static void mq_store_gather(struct mq_store *s)
{
	u64 avg;

	if (atomic_read(&s->returning) <= 0)
		return;
	spin_lock(&s->lock);
	avg = s->flushes ? div64_u64(s->flush_ns_total, s->flushes) : 0;
	spin_unlock(&s->lock);
	/* The last writer back wakes us (mq_store_wait_writer()). */
	if (wait_event_hrtimeout(s->gather_wq,
				 atomic_read(&s->returning) <= 0,
				 ns_to_ktime(min_t(u64, avg, 2 * NSEC_PER_MSEC))))
		atomic_set(&s->returning, 0);
}

/**
 * mq_store_wait_writer - wait until the log is stable up to @end, for a
 * sync write(2), counted for group commit
 * @s: the store
 * @end: the log position after its record
 *
 * A fatal signal ends the wait for another writer's commit (the record
 * stays appended, and the next commit takes it); a writer leading the
 * commit waits for its I/O, as fsync(2) does.
 *
 * Return: 0, -EIO if the record never will be on stable storage, or
 * -EINTR if the writer was killed first.
 */
int mq_store_wait_writer(struct mq_store *s, u64 end)
{
	/* Back, if it was away; the last one back ends a leader's gather. */
	if (atomic_dec_if_positive(&s->returning) == 0)
		wake_up(&s->gather_wq);
	if (mq_store_durable(s) >= end) {
		atomic_inc(&s->returning);	/* it will be back */
		return 0;
	}
	return __mq_store_wait(s, end, true, true);
}

/*
 * A sync writer waiting in __mq_store_wait(), on s->gatherers: the commit
 * that covers it counts it as returning at once, before it has even run,
 * so the next leader knows how many to wait for.
 */
struct mq_gatherer {
	struct list_head node;
	u64 end;
	bool counted;
};

/* After a commit: count the writers it releases; under s->lock. */
static void mq_store_count_released(struct mq_store *s)
{
	struct mq_gatherer *g;

	list_for_each_entry(g, &s->gatherers, node) {
		if (!g->counted && g->end <= s->durable) {
			g->counted = true;
			atomic_inc(&s->returning);
		}
	}
}

static int __mq_store_wait(struct mq_store *s, u64 end, bool writer,
			   bool killable)
{
	struct mq_gatherer g = { .end = end };
	DEFINE_WAIT(wait);
	int err = 0;

	if (writer) {
		spin_lock(&s->lock);
		list_add_tail(&g.node, &s->gatherers);
		spin_unlock(&s->lock);
	}
	for (;;) {
		if (mq_store_durable(s) >= end)
			break;
		spin_lock(&s->lock);
		if (s->err) {
			spin_unlock(&s->lock);
			err = -EIO;
			break;
		}
		/* Made durable since the check above (and maybe counted). */
		if (s->durable >= end) {
			spin_unlock(&s->lock);
			break;
		}
		/*
		 * Dying: no new I/O to wait for. The record is in the log
		 * buffer, and the flush worker, armed when it was appended,
		 * or the next writer's commit takes it.
		 */
		if (killable && fatal_signal_pending(current)) {
			spin_unlock(&s->lock);
			err = -EINTR;
			break;
		}
		if (!s->committing) {
			/* Lead: commit what everyone has appended so far. */
			s->committing = true;
			spin_unlock(&s->lock);
			if (writer)
				mq_store_gather(s);
			/* The flush worker may hold it, stuck on the device. */
			if (killable)
				err = mutex_lock_killable(&s->commit_mutex);
			else
				mutex_lock(&s->commit_mutex);
			if (!err) {
				mq_store_commit(s);
				mutex_unlock(&s->commit_mutex);
			}
			spin_lock(&s->lock);
			s->committing = false;
			if (!err)
				mq_store_count_released(s);
			spin_unlock(&s->lock);
			/* The others: done, or (if this one was killed) to lead. */
			wake_up_all(&s->commit_wq);
			if (err)
				break;
			continue;
		}
		/* Follow: a commit is under way; the next one takes ours. */
		prepare_to_wait(&s->commit_wq, &wait,
				killable ? TASK_KILLABLE : TASK_UNINTERRUPTIBLE);
		spin_unlock(&s->lock);
		schedule();
		finish_wait(&s->commit_wq, &wait);
	}
	if (writer) {
		spin_lock(&s->lock);
		list_del(&g.node);
		/* Released by the flush worker's commit: not counted yet. */
		if (!err && !g.counted)
			atomic_inc(&s->returning);
		spin_unlock(&s->lock);
	}
	return err;
}

/**
 * mq_store_commit_all - commit everything appended so far
 * @s: the store
 * @killable: a fatal signal may end the wait for another's commit
 *
 * Return: 0, -EIO, or (@killable) -EINTR.
 */
int mq_store_commit_all(struct mq_store *s, bool killable)
{
	u64 end;

	spin_lock(&s->lock);
	end = s->head;
	spin_unlock(&s->lock);
	return __mq_store_wait(s, end, false, killable);
}

static void mq_store_flush_fn(struct work_struct *work)
{
	struct mq_store *s = container_of(to_delayed_work(work),
					  struct mq_store, flush_work);

	mutex_lock(&s->commit_mutex);
	spin_lock(&s->lock);
	s->flush_armed = false;
	spin_unlock(&s->lock);
	mq_store_commit(s);
	mutex_unlock(&s->commit_mutex);
	wake_up_all(&s->commit_wq);
}

/**
 * mq_store_cache_bytes - how much durable payload to keep in memory
 * @s: the store
 *
 * Return: bytes (module parameter cache_mb).
 */
u64 mq_store_cache_bytes(const struct mq_store *s)
{
	return (u64)READ_ONCE(cache_mb) << 20;
}

/**
 * mq_store_read_rec - read a message's payload back from the log
 * @s: the store
 * @lpos: its record's position
 * @len: its length
 * @serial: its queue's serial
 * @offset: its offset
 * @payload: @len bytes to fill
 *
 * Return: 0, -ENOMEM, -EIO, or -EUCLEAN if the record does not check out.
 */
int mq_store_read_rec(struct mq_store *s, u64 lpos, u32 len, u64 serial,
		      u64 offset, void *payload)
{
	u64 end = mq_store_rec_end(lpos, len);
	u64 from = round_down(lpos, BLK), to = round_up(end, BLK);
	const struct mq_disk_rec *r;
	u8 *buf;
	int err;

	if (lpos / s->seg_size != (end - 1) / s->seg_size)
		return -EUCLEAN;
	buf = kvmalloc(to - from, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	err = mq_bdev_rw(s->bdev, REQ_OP_READ, mq_phys(s, from), buf, to - from);
	if (err) {
		err = -EIO;
		goto out;
	}
	r = mq_rec_ok(s, buf, lpos - from, end - from, lpos / s->seg_size);
	if (!r || le16_to_cpu(r->type) != MQ_REC_MSG ||
	    le32_to_cpu(r->len) != len || le64_to_cpu(r->serial) != serial ||
	    le64_to_cpu(r->offset) != offset) {
		err = -EUCLEAN;
		goto out;
	}
	memcpy(payload, r + 1, len);
out:
	kvfree(buf);
	return err;
}

/**
 * mq_store_max_msg - the largest message a durable queue may take
 * @s: the store
 *
 * Return: a quarter of a segment, at most MQ_MAX_MSG_LIMIT.
 */
u32 mq_store_max_msg(const struct mq_store *s)
{
	return min_t(u32, s->seg_size / 4, MQ_MAX_MSG_LIMIT);
}

/* The ring, a new segment, and a superblock saying the store is in use. */
static int mq_store_start_log(struct mq_store *s)
{
	u64 k = s->head / s->seg_size;
	u32 i;

	s->bounce = alloc_page(GFP_KERNEL);
	if (!s->bounce)
		return -ENOMEM;
	s->ring_pages = MQ_RING_BYTES >> PAGE_SHIFT;
	s->ring = kvcalloc(s->ring_pages, sizeof(*s->ring), GFP_KERNEL);
	if (!s->ring)
		return -ENOMEM;
	for (i = 0; i < s->ring_pages; i++) {
		s->ring[i] = alloc_page(GFP_KERNEL);
		if (!s->ring[i])
			return -ENOMEM;
	}
	s->cbs = k * s->seg_size;
	s->zeroed = s->cbs;
	s->durable = s->cbs;
	s->submitted = s->cbs;
	mq_seg_open(s, k, k ? s->seg_fill[(k - 1) % MQ_SEG_FILL] : 0);
	return mq_super_write(s, 0);
}

/**
 * mq_store_begin - make a recovered store ready for appends
 * @s: the store
 *
 * Return: 0 or a negative errno.
 */
int mq_store_begin(struct mq_store *s)
{
	return mq_store_start_log(s);
}

/**
 * mq_store_abort - give up a store that was opened but never begun
 * @s: the store
 */
void mq_store_abort(struct mq_store *s)
{
	blkdev_put(s->bdev, FMODE_STORE);
	s->bdev = NULL;
	mq_store_put(s);
}

/**
 * mq_store_close - flush, mark clean and release the device
 * @s: the store; its queues are gone from the registry
 * @clean: the final catalog is written (or nothing changed since the last
 *	one): mark the store clean
 *
 * Drops the attach reference.
 */
void mq_store_close(struct mq_store *s, bool clean)
{
	cancel_delayed_work_sync(&s->flush_work);
	mq_store_commit_all(s, false);
	spin_lock(&s->lock);
	s->detached = true;
	spin_unlock(&s->lock);
	if (clean && !s->err && mq_super_write(s, MQ_SB_CLEAN))
		pr_err("%s: cannot mark the store clean\n", s->path);
	blkdev_put(s->bdev, FMODE_STORE);
	s->bdev = NULL;
	pr_info("%s: detached\n", s->path);
	mq_store_put(s);
}

/**
 * mq_store_stats - a consistent copy of a store's state and counters
 * @s: the store
 * @st: filled in
 */
void mq_store_stats(struct mq_store *s, struct mq_store_stats *st)
{
	u64 used;

	memset(st, 0, sizeof(*st));
	spin_lock(&s->lock);
	used = s->head / s->seg_size + 1 - s->tail_seg;
	st->devt = s->devt;
	st->size = s->dev_bytes;
	st->seg_size = s->seg_size;
	st->segments = s->nseg;
	st->segments_used = min_t(u64, used, s->nseg);
	st->bytes_used = (u64)st->segments_used * s->seg_size;
	st->bytes_free = (u64)(s->nseg - st->segments_used) * s->seg_size;
	st->state = s->err ? MQ_STORE_DEGRADED : MQ_STORE_OK;
	st->flush_ms = s->flush_ms;
	st->flushes = s->flushes;
	st->flush_ns_avg = s->flushes ? div64_u64(s->flush_ns_total,
						  s->flushes) : 0;
	st->flush_ns_max = s->flush_ns_max;
	st->bytes_written = s->bytes_written;
	st->records = s->records;
	st->io_errors = s->io_errors;
	st->queues = s->nqueues;
	st->generation = s->sb_gen;
	st->recovered_msgs = s->recovered_msgs;
	st->corrupt_bytes = s->corrupt_bytes;
	st->clean = s->was_clean;
	spin_unlock(&s->lock);
}

/**
 * mq_store_oldest_needed - the oldest segment a queue still needs
 * @s: the store
 * @q: a durable queue
 *
 * Return: the segment of its oldest queued message, or of a message being
 * read, or U64_MAX.
 */
u64 mq_store_oldest_needed(struct mq_store *s, struct mq_queue *q)
{
	struct mq_reading *rd;
	struct mq_msg *m;
	u64 k = U64_MAX;

	spin_lock(&q->lock);
	m = list_first_entry_or_null(&q->msgs, struct mq_msg, node);
	if (m)
		k = m->lpos / s->seg_size;
	/* A read in flight may be loading its message from the log. */
	list_for_each_entry(rd, &q->reading, node)
		k = min(k, rd->lpos / s->seg_size);
	spin_unlock(&q->lock);
	return k;
}

/**
 * mq_store_head_seg - the segment appends go to now
 * @s: the store
 *
 * Return: its virtual number.
 */
u64 mq_store_head_seg(struct mq_store *s)
{
	u64 k;

	spin_lock(&s->lock);
	k = s->head / s->seg_size;
	spin_unlock(&s->lock);
	return k;
}
