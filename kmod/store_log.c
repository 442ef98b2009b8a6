// SPDX-License-Identifier: GPL-2.0
/*
 * The store's log: one circular log of checksummed records on the block
 * device (the format: uapi/linux/mq_store.h, docs/store.md), appends,
 * commits and reading a record back.
 *
 * Appends go to the log buffer, pages in memory that mirror the log's
 * newest bytes, under s->lock; they never sleep, and a payload's checksum
 * is computed before, outside every lock. A commit writes the buffer from
 * the
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
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/timekeeping.h>
#include <linux/sched/signal.h>

#include "store_int.h"

static void *mq_logbuf_addr(struct mq_store *s, u64 lpos)
{
	return page_address(s->logbuf[(lpos >> PAGE_SHIFT) % s->logbuf_pages]) +
	       offset_in_page(lpos);
}

static void mq_logbuf_copy(struct mq_store *s, u64 lpos, const void *src,
			   size_t len)
{
	while (len) {
		size_t n = min_t(size_t, len, PAGE_SIZE - offset_in_page(lpos));

		memcpy(mq_logbuf_addr(s, lpos), src, n);
		lpos += n;
		src += n;
		len -= n;
	}
}

/* Clear log buffer pages up to @end before the log first writes there. */
static void mq_logbuf_zero(struct mq_store *s, u64 from, u64 end)
{
	if (s->zeroed < round_down(from, PAGE_SIZE))
		s->zeroed = round_down(from, PAGE_SIZE);
	while (s->zeroed < end) {
		clear_page(mq_logbuf_addr(s, s->zeroed));
		s->zeroed += PAGE_SIZE;
	}
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

/* Open segment @k at s->head's segment boundary; under s->lock. */
static void mq_seg_open(struct mq_store *s, u64 k, u64 prev_end)
{
	struct mq_disk_seg h;

	lockdep_assert_held(&s->lock);
	mq_logbuf_zero(s, k * s->seg_size, k * s->seg_size + BLK);
	mq_seg_header(s, &h, k, prev_end);
	mq_logbuf_copy(s, k * s->seg_size, &h, sizeof(h));
	s->head = k * s->seg_size + BLK;
}

/*
 * What an append is (@kind of mq_log_reserve()), and the segments it must
 * leave free: a message three, the cleaner's copy one, a position record
 * none. So readers can always record their progress, and when messages
 * meet a full log the cleaner still has segments to copy into: a round
 * copies at most a segment's records, which fit in one. A segment a copy
 * opened while messages may not open one is the copies' alone (messages
 * wait), so that a round, once started, can finish and give its segment
 * back, unless positions readers log meanwhile fill it. Stores of fewer
 * than MQ_STORE_MIN_SEGMENTS, formatted before, keep two for messages:
 * with three, their cleaner could never run.
 */
enum { MQ_KEEP_POS, MQ_KEEP_MOVED, MQ_KEEP_MSG };

static unsigned int mq_keep(const struct mq_store *s, unsigned int kind)
{
	if (kind != MQ_KEEP_MSG)
		return kind;
	return s->nseg < MQ_STORE_MIN_SEGMENTS ? 2 : 3;
}

/*
 * Find room for @need bytes for an append of @kind, leaving the segments
 * it must free; under s->lock.
 * Return: the position, -ENOSPC, -EINPROGRESS (commit first) or -EIO.
 */
static s64 mq_log_reserve(struct mq_store *s, u64 need, unsigned int kind)
{
	/* The segment of the last byte written (a header, at least). */
	u64 pos = s->head, k = (pos - 1) / s->seg_size;
	unsigned int keep = mq_keep(s, kind);

	lockdep_assert_held(&s->lock);
	if (s->err)
		return s->err;
	if (s->detached)
		return -EIO;
	/* While messages may not open one, the copies' is theirs alone. */
	if (kind == MQ_KEEP_MSG && k == s->copy_seg &&
	    k + 1 - s->tail_seg + keep >= s->nseg)
		return -ENOSPC;
	if (pos + need > (k + 1) * s->seg_size) {
		if (k + 1 - s->tail_seg + keep >= s->nseg)
			return -ENOSPC;
		/*
		 * Once the rest of the segment is durable the log buffer
		 * keeps nothing of it: the next commit starts with the new
		 * one. Otherwise the skipped end of the segment would count
		 * against the log buffer, and a record near the largest
		 * would never fit, however often the log is committed.
		 */
		if (s->durable >= pos)
			s->cbs = (k + 1) * s->seg_size;
		if ((k + 1) * s->seg_size + BLK + need > s->cbs + MQ_LOGBUF_BYTES)
			return -EINPROGRESS;
		s->seg_fill[k % MQ_SEG_FILL] = pos;
		mq_seg_open(s, k + 1, pos);
		s->copy_seg = kind == MQ_KEEP_MOVED ? k + 1 : U64_MAX;
		pos = s->head;
		/* Running short: the binding copies live messages forward. */
		if (s->nseg - (k + 2 - s->tail_seg) < mq_store_low_water(s) &&
		    s->low_space)
			s->low_space(s);
	}
	if (pos + need > s->cbs + MQ_LOGBUF_BYTES)
		return -EINPROGRESS;
	mq_logbuf_zero(s, pos, pos + need);
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

/* Copies a payload's pieces into the log buffer, one after another. */
struct mq_logbuf_cursor {
	struct mq_store *s;
	u64 lpos;
};

static void mq_logbuf_put(void *arg, const void *piece, size_t len)
{
	struct mq_logbuf_cursor *c = arg;

	mq_logbuf_copy(c->s, c->lpos, piece, len);
	c->lpos += len;
}

/**
 * mq_store_append_msg - log a message
 * @s: the store
 * @msg: the message: its queue's serial, offset, time, length, payload
 *	checksum and payload
 * @lpos: set to the record's log position
 * @end: set to the log position after the record
 *
 * Never sleeps: the caller may hold its own spinlock.
 * Return: 0, -ENOSPC (log full), -EINPROGRESS (commit, then try again)
 * or -EIO.
 */
int mq_store_append_msg(struct mq_store *s, const struct mq_store_msg *msg,
			u64 *lpos, u64 *end)
{
	struct mq_logbuf_cursor c = { .s = s };
	u64 need = mq_rec_size(msg->len);
	struct mq_disk_rec r;
	s64 pos;
	u32 crc;

	spin_lock(&s->lock);
	pos = mq_log_reserve(s, need, msg->flags & MQ_REC_F_MOVED ?
			     MQ_KEEP_MOVED : MQ_KEEP_MSG);
	if (pos < 0) {
		spin_unlock(&s->lock);
		return pos;
	}
	mq_rec_fill(s, &r, MQ_REC_MSG, pos, msg->serial, msg->offset,
		    msg->tstamp_ns, msg->len);
	r.flags = cpu_to_le16(msg->flags);
	if (msg->flags & MQ_REC_F_MOVED) {
		s->moved_records++;
		s->moved_bytes += need;
	}
	crc = mq_crc(s->seed, (u8 *)&r + 4, REC_HDR - 4);
	crc = __crc32c_le_combine(crc, msg->pcrc, msg->len);
	c.lpos = pos + REC_HDR;
	msg->walk(msg->payload, mq_logbuf_put, &c);
	r.crc = cpu_to_le32(crc);
	mq_logbuf_copy(s, pos, &r, REC_HDR);
	s->head = pos + need;
	s->records++;
	*lpos = pos;
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
		pos = mq_log_reserve(s, REC_HDR, MQ_KEEP_POS);
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
	mq_logbuf_copy(s, pos, &r, REC_HDR);
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
 * Add the log buffer's pages for log bytes [from, to) (block-aligned) to bios;
 * the block at @bounce_at (if any) from s->bounce instead.
 */
static int mq_commit_range(struct mq_store *s, struct bio **biop, u64 from,
			   u64 to, u64 bounce_at, int *nbios)
{
	struct bio *bio = *biop, *next;

	while (from < to) {
		struct page *page = from == bounce_at ? s->bounce :
			s->logbuf[(from >> PAGE_SHIFT) % s->logbuf_pages];
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
		copy_page(page_address(s->bounce), mq_logbuf_addr(s, bounce_at));
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

	lockdep_assert_held(&s->lock);
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

/**
 * mq_store_flush_fn - the async flush: commit what was appended
 * @work: the store's flush_work
 */
void mq_store_flush_fn(struct work_struct *work)
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

/* The log buffer, a new segment, and a superblock saying the store is in use. */
static int mq_store_start_log(struct mq_store *s)
{
	u64 k = s->head / s->seg_size;
	u32 i;

	s->bounce = alloc_page(GFP_KERNEL);
	if (!s->bounce)
		return -ENOMEM;
	s->logbuf_pages = MQ_LOGBUF_BYTES >> PAGE_SHIFT;
	s->logbuf = kvcalloc(s->logbuf_pages, sizeof(*s->logbuf), GFP_KERNEL);
	if (!s->logbuf)
		return -ENOMEM;
	for (i = 0; i < s->logbuf_pages; i++) {
		s->logbuf[i] = alloc_page(GFP_KERNEL);
		if (!s->logbuf[i])
			return -ENOMEM;
	}
	s->cbs = k * s->seg_size;
	s->zeroed = s->cbs;
	s->durable = s->cbs;
	s->submitted = s->cbs;
	spin_lock(&s->lock);
	mq_seg_open(s, k, k ? s->seg_fill[(k - 1) % MQ_SEG_FILL] : 0);
	spin_unlock(&s->lock);
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

/**
 * mq_store_durable - how far the log is on stable storage
 * @s: the store
 *
 * Return: the log position below which everything is durable.
 */
u64 mq_store_durable(struct mq_store *s)
{
	return READ_ONCE(s->durable);
}

/**
 * mq_store_low_water - free segments below which space is made
 * @s: the store
 *
 * Return: a quarter of the segments, and at least two above those
 * messages leave, so that the cleaner runs before writers meet a full
 * log.
 */
u32 mq_store_low_water(const struct mq_store *s)
{
	return max(s->nseg / 4, mq_keep(s, MQ_KEEP_MSG) + 2);
}

/**
 * mq_store_capacity - what the log holds of records while the cleaner
 *	keeps its low water of free segments
 * @s: the store
 * @max_rec: the largest record a queue may write: a segment's end may
 *	stay that empty
 *
 * Return: bytes.
 */
u64 mq_store_capacity(const struct mq_store *s, u64 max_rec)
{
	u32 lw = mq_store_low_water(s);
	u64 seg = s->seg_size - BLK;

	if (s->nseg <= lw + 1 || seg <= max_rec)
		return 0;
	return (u64)(s->nseg - lw - 1) * (seg - max_rec);
}

/**
 * mq_store_copy_room - may a round of the cleaner start
 * @s: the store
 *
 * Return: whether a copy may open a segment. Two free are enough when
 * position records leave the copies their room; when readers log more
 * than that during one round, its last copies fail (ENOSPC), and what
 * they could not move stays where it was (docs/store.md).
 */
bool mq_store_copy_room(struct mq_store *s)
{
	return mq_store_free_segs(s) > MQ_KEEP_MOVED;
}

/**
 * mq_store_msg_full - would a message that needs a new segment meet ENOSPC
 * @s: the store
 *
 * Return: whether the free segments are down to those messages leave.
 */
bool mq_store_msg_full(struct mq_store *s)
{
	bool full;

	spin_lock(&s->lock);
	full = (s->head - 1) / s->seg_size + 1 - s->tail_seg +
	       mq_keep(s, MQ_KEEP_MSG) >= s->nseg;
	spin_unlock(&s->lock);
	return full;
}

/**
 * mq_store_free_segs - segments not in use
 * @s: the store
 *
 * Return: how many.
 */
u32 mq_store_free_segs(struct mq_store *s)
{
	u64 used;

	spin_lock(&s->lock);
	/* As mq_log_reserve() counts: a full segment is not yet left. */
	used = (s->head - 1) / s->seg_size + 1 - s->tail_seg;
	spin_unlock(&s->lock);
	return used < s->nseg ? s->nseg - used : 0;
}
