// SPDX-License-Identifier: GPL-2.0
/*
 * The store's metadata: the device, its two superblocks and two catalog
 * copies (uapi/linux/mq_store.h, docs/store.md), format, open and close,
 * and the store's state for its users. The catalog's entries are the
 * caller's: it fills them through a callback, and gets them back, one by
 * one, at open. Nothing here knows what a queue is.
 */

#include <linux/blkdev.h>
#include <linux/bio.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/uuid.h>
#include <linux/timekeeping.h>
#include <linux/kdev_t.h>

#include "store_int.h"

/* Stores formatted before the minimum was 6 still attach. */
#define MQ_STORE_ATTACH_MIN_SEGMENTS	4

/**
 * mq_bdev_rw - read or write whole blocks of the device, and wait
 * @bdev: the device
 * @opf: REQ_OP_READ or REQ_OP_WRITE, maybe with REQ_PREFLUSH | REQ_FUA
 * @pos: the byte offset
 * @buf: kmalloc'd or vmalloc'd memory
 * @len: bytes, whole blocks
 *
 * Return: 0 or a negative errno.
 */
int mq_bdev_rw(struct block_device *bdev, blk_opf_t opf, u64 pos,
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

static u32 mq_super_crc(const struct mq_disk_super *sb)
{
	struct mq_disk_super tmp = *sb;

	tmp.crc = 0;
	return mq_crc(~0U, &tmp, sizeof(tmp));
}

/**
 * mq_super_write - write the next superblock generation to its copy
 * @s: the store
 * @flags: MQ_SB_*
 *
 * With s->sb_buf, taken at attach, it needs no memory: detach cannot fail.
 * Return: 0 or a negative errno.
 */
int mq_super_write(struct mq_store *s, u32 flags)
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
	/* Version 1 is version 2 without moved records: the next write says 2. */
	if (le32_to_cpu(sb->crc) != mq_super_crc(sb) ||
	    le32_to_cpu(sb->version) < 1)
		return -EUCLEAN;
	if (le32_to_cpu(sb->block_size) != BLK || !is_power_of_2(seg) ||
	    seg < MQ_SEG_MIN || seg > MQ_SEG_MAX ||
	    nseg < MQ_STORE_ATTACH_MIN_SEGMENTS ||
	    le64_to_cpu(sb->device_bytes) > dev_bytes ||
	    mq_segs_offset() + nseg * seg > le64_to_cpu(sb->device_bytes))
		return -EUCLEAN;
	return 0;
}

static size_t mq_cat_bytes(u32 count)
{
	return round_up(sizeof(struct mq_disk_catalog) +
			(size_t)count * sizeof(struct mq_disk_queue), BLK);
}

/**
 * mq_store_catalog_alloc - memory for the next catalog write
 * @s: the store
 * @count: the entries it will hold
 *
 * A change that must be saved takes it first, so that no memory is
 * needed once the change is made.
 * Return: a buffer for mq_store_write_catalog(), or NULL.
 */
struct mq_disk_catalog *mq_store_catalog_alloc(struct mq_store *s, u32 count)
{
	struct mq_disk_catalog *cat;

	cat = kvzalloc(mq_cat_bytes(count), GFP_KERNEL);
	if (cat)	/* how many it has room for, until it is filled */
		cat->count = cpu_to_le32(count);
	return cat;
}

/**
 * mq_store_write_catalog - write the catalog's entries, and where the
 * log starts, to the older catalog copy
 * @s: the store
 * @cat: from mq_store_catalog_alloc(), or NULL to allocate here; freed
 * @count: how many entries, at most
 * @fill: fills them (zeroed) and returns how many it filled; NULL: none
 * @arg: for @fill
 * @log_tail: the oldest segment still needed; below the current one
 *	(0, say): the current one
 *
 * The caller serialises catalog writes. Return: 0 or errno.
 */
int mq_store_write_catalog(struct mq_store *s, struct mq_disk_catalog *cat,
			   u32 count, mq_store_cat_fill_t fill, void *arg,
			   u64 log_tail)
{
	struct mq_disk_queue *dq;
	size_t len;
	u32 n = 0, crc;
	int slot = !s->cat_slot, err;

	log_tail = max(log_tail, s->tail_seg);
	if (cat && WARN_ON_ONCE(le32_to_cpu(cat->count) < count)) {
		kvfree(cat);
		cat = NULL;
	}
	if (!cat)
		cat = mq_store_catalog_alloc(s, count);
	if (!cat)
		return -ENOMEM;
	len = mq_cat_bytes(count);
	memset(cat, 0, len);
	dq = (void *)cat + sizeof(*cat);
	if (fill)
		n = fill(arg, dq, count);
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
	u64 pos = MQ_CAT_OFFSET + (u64)slot * MQ_CAT_BYTES;
	struct mq_disk_catalog *cat, hdr;
	u32 n, crc;
	int err;

	cat = kvmalloc(MQ_CAT_BYTES, GFP_KERNEL);
	if (!cat)
		return ERR_PTR(-ENOMEM);
	/*
	 * The header, then only the entries it counts: a bad sector in the
	 * part no save ever wrote must not stop an attach. Any read error
	 * is EIO, not to be taken for no memory.
	 */
	err = -EIO;
	if (mq_bdev_rw(s->bdev, REQ_OP_READ, pos, cat, BLK))
		goto fail;
	err = -EUCLEAN;
	n = le32_to_cpu(cat->count);
	if (le32_to_cpu(cat->magic) != MQ_CAT_MAGIC ||
	    memcmp(cat->uuid, s->uuid, sizeof(s->uuid)) ||
	    le32_to_cpu(cat->entry_size) != sizeof(struct mq_disk_queue) ||
	    n > MQ_CAT_MAX_QUEUES)
		goto fail;
	if (mq_cat_bytes(n) > BLK &&
	    mq_bdev_rw(s->bdev, REQ_OP_READ, pos + BLK, (void *)cat + BLK,
		       mq_cat_bytes(n) - BLK)) {
		err = -EIO;
		goto fail;
	}
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
		NL_SET_ERR_MSG(extack, "device too small (6 segments and 2 catalogs)");
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
	spin_lock_init(&s->lock);
	s->cat_slot = 1;
	err = mq_store_write_catalog(s, NULL, 0, NULL, NULL, 0);	/* slot 0 */
	if (err)
		goto io_err;
	s->cat_slot = 0;
	/* slot 1, generation 2 */
	err = mq_store_write_catalog(s, NULL, 0, NULL, NULL, 0);
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

static void mq_store_release(struct kref *ref)
{
	struct mq_store *s = container_of(ref, struct mq_store, ref);
	u32 i;

	if (s->logbuf) {
		for (i = 0; i < s->logbuf_pages; i++)
			if (s->logbuf[i])
				__free_page(s->logbuf[i]);
		kvfree(s->logbuf);
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

/**
 * mq_store_get - take a reference to a store
 * @s: the store
 */
void mq_store_get(struct mq_store *s)
{
	kref_get(&s->ref);
}

/**
 * mq_store_open - open a store and read its catalog
 * @path: the block device
 * @flush_ms: async flush interval, 0 for the default
 * @changed: called (it may sleep) when an I/O error degrades the store
 * @low_space: called (under a spinlock: it may not sleep) when free
 *	segments run short (mq_store_low_water())
 * @entry: called with each catalog entry whose serial and offsets are
 *	sane, its name terminated: 0 keeps it, -EUCLEAN skips it as
 *	invalid, another errno fails the open
 * @arg: for @entry
 * @extack: where to say why it failed
 *
 * Nothing is written yet. Return: the store, or ERR_PTR.
 */
struct mq_store *mq_store_open(const char *path, u32 flush_ms,
			       void (*changed)(struct mq_store *s),
			       void (*low_space)(struct mq_store *s),
			       mq_store_cat_entry_t entry, void *arg,
			       struct netlink_ext_ack *extack)
{
	struct mq_disk_super *sb[2] = { NULL, NULL };
	struct mq_disk_catalog *cat[2] = { NULL, NULL }, *c;
	struct mq_disk_queue *dq;
	int err, e[2], rd[2], i, best = -1;
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
	s->flush_ms = flush_ms ?: 50;
	s->changed = changed;
	s->low_space = low_space;
	strscpy(s->path, path, sizeof(s->path));
	s->pos_lpos = U64_MAX;
	s->copy_seg = U64_MAX;
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
		rd[i] = mq_bdev_rw(s->bdev, REQ_OP_READ, i * BLK, sb[i], BLK);
		e[i] = rd[i] ?: mq_super_check(sb[i], s->dev_bytes);
		if (!e[i] && (best < 0 || le64_to_cpu(sb[i]->generation) >
				       le64_to_cpu(sb[best]->generation)))
			best = i;
	}
	/*
	 * As with the catalog (below): a superblock that cannot be read may
	 * be the newer, and the older may call an unclean stop clean.
	 */
	if (rd[0] || rd[1]) {
		err = -EIO;
		NL_SET_ERR_MSG(extack, "I/O error reading the superblocks");
		goto fail;
	}
	/* A newer module's superblock is the newer one: never written over. */
	if (e[0] == -EPROTONOSUPPORT || e[1] == -EPROTONOSUPPORT) {
		err = -EPROTONOSUPPORT;
		NL_SET_ERR_MSG(extack, "store format newer than version 2: left untouched");
		goto fail;
	}
	if (best < 0) {
		if (e[0] == -EMEDIUMTYPE && e[1] == -EMEDIUMTYPE) {
			err = -EMEDIUMTYPE;
			NL_SET_ERR_MSG(extack, "not an mq store (no mq superblock)");
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
	/*
	 * Only a copy that reads back damaged (a torn write) is passed over
	 * for the other. One that could not be read may be the newer, whose
	 * save already gave segments back: the older would be stale.
	 */
	for (i = 0; i < 2; i++) {
		if (!IS_ERR(cat[i]) || PTR_ERR(cat[i]) == -EUCLEAN)
			continue;
		err = PTR_ERR(cat[i]);
		if (err == -ENOMEM)
			NL_SET_ERR_MSG(extack, "out of memory reading the store's catalog");
		else
			NL_SET_ERR_MSG(extack, "I/O error reading the store's catalog");
		goto fail;
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
		u64 serial = le64_to_cpu(dq[i].serial);

		dq[i].name[sizeof(dq[i].name) - 1] = 0;
		/* Offsets far from wrapping: read leases are taken ahead. */
		err = !serial || serial >= s->next_serial ||
		      le64_to_cpu(dq[i].head) >= MQ_OFFSET_LIMIT ||
		      le64_to_cpu(dq[i].tail) >= MQ_OFFSET_LIMIT ||
		      le64_to_cpu(dq[i].lease) >= MQ_OFFSET_LIMIT ?
		      -EUCLEAN : entry(arg, &dq[i]);
		if (err == -EUCLEAN) {
			pr_warn("%s: catalog entry %d is invalid: skipped\n",
				path, i);
			continue;
		}
		if (err)
			goto fail;
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
	st->path = s->path;
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
	st->generation = s->sb_gen;
	st->recovered_msgs = s->recovered_msgs;
	st->corrupt_bytes = s->corrupt_bytes;
	st->clean = s->was_clean;
	st->moved_records = s->moved_records;
	st->moved_bytes = s->moved_bytes;
	spin_unlock(&s->lock);
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

/**
 * mq_store_path - the store's device, as attached
 * @s: the store
 *
 * Return: its path.
 */
const char *mq_store_path(const struct mq_store *s)
{
	return s->path;
}

/**
 * mq_store_was_clean - was the store marked clean when it was opened?
 * @s: the store
 *
 * Return: true after a clean detach.
 */
bool mq_store_was_clean(const struct mq_store *s)
{
	return s->was_clean;
}

/**
 * mq_store_failed - has an I/O error degraded the store?
 * @s: the store
 *
 * Return: true if so; its writes fail with -EIO.
 */
bool mq_store_failed(const struct mq_store *s)
{
	return READ_ONCE(s->err);
}

/**
 * mq_store_new_serial - a serial for a new queue, saved with the catalog
 * @s: the store; the caller serialises catalog changes
 *
 * Return: a serial never used in this store.
 */
u64 mq_store_new_serial(struct mq_store *s)
{
	return s->next_serial++;
}

/**
 * mq_store_tail_seg - the oldest segment the log still keeps
 * @s: the store
 *
 * Return: its virtual number.
 */
u64 mq_store_tail_seg(struct mq_store *s)
{
	u64 k;

	spin_lock(&s->lock);
	k = s->tail_seg;
	spin_unlock(&s->lock);
	return k;
}

/**
 * mq_store_seg - the segment of a log position
 * @s: the store
 * @lpos: the position
 *
 * Return: its virtual number.
 */
u64 mq_store_seg(const struct mq_store *s, u64 lpos)
{
	return lpos / s->seg_size;
}

/**
 * mq_store_seg_size - bytes in a segment
 * @s: the store
 *
 * Return: them.
 */
u32 mq_store_seg_size(const struct mq_store *s)
{
	return s->seg_size;
}

/**
 * mq_store_segments - segments in the log
 * @s: the store
 *
 * Return: how many.
 */
u32 mq_store_segments(const struct mq_store *s)
{
	return s->nseg;
}
