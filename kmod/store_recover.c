// SPDX-License-Identifier: GPL-2.0
/*
 * The store's recovery: at attach, the log is scanned from the catalog's
 * log tail to its newest segment, every record checked, and each valid
 * one handed, in log order, to the caller's callback; a torn tail is cut
 * off (docs/store.md, "Recovery"). What the records mean to queues is the
 * caller's business.
 */

#include <linux/blkdev.h>
#include <linux/slab.h>
#include <linux/mm.h>

#include "store_int.h"

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
	u16 type = le16_to_cpu(r->type), flags = le16_to_cpu(r->flags);
	u32 len = le32_to_cpu(r->len);

	return le64_to_cpu(r->seg) == k && type >= MQ_REC_MSG &&
	       type <= MQ_REC_LEASE && !r->reserved &&
	       !(flags & ~MQ_REC_F_MOVED) && (!flags || type == MQ_REC_MSG) &&
	       le64_to_cpu(r->offset) < MQ_OFFSET_LIMIT &&
	       len <= lim - p - REC_HDR && len <= mq_store_max_msg(s) &&
	       (type == MQ_REC_MSG ? len != 0 : len == 0);
}

/**
 * mq_rec_ok - is there a valid record of segment @k at @p?
 * @s: the store
 * @buf: bytes of the segment, from its start or a block within it
 * @p: where in @buf
 * @lim: where in @buf the records end, at the latest
 * @k: the segment
 *
 * Return: the record, checksum and all, or NULL.
 */
const struct mq_disk_rec *mq_rec_ok(struct mq_store *s, const u8 *buf,
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
	mq_store_rec_t apply;	/* the caller's, for each record */
	void *arg;
};

/* Hand a valid record to the caller; count the messages it kept. */
static int mq_apply(struct mq_scan *sc, const struct mq_disk_rec *rec,
		    u64 lpos)
{
	struct mq_store_rec r = {
		.type = le16_to_cpu(rec->type),
		.flags = le16_to_cpu(rec->flags),
		.serial = le64_to_cpu(rec->serial),
		.offset = le64_to_cpu(rec->offset),
		.tstamp_ns = le64_to_cpu(rec->tstamp_ns),
		.lpos = lpos,
		.len = le32_to_cpu(rec->len),
	};
	int ret = sc->apply(sc->arg, &r);

	if (ret < 0)
		return ret;
	if (ret)
		sc->s->recovered_msgs++;
	return 0;
}

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
static s64 mq_scan_seg(struct mq_scan *sc, bool last)
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
		err = mq_apply(sc, &rec, base + p);
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
 * mq_store_recover - read the log back
 * @s: the store, from mq_store_open()
 * @apply: called with each valid record, in log order: a negative errno
 *	stops recovery, 1 counts a message recovered
 * @arg: for @apply
 * @extack: where to say why it failed
 *
 * Then prepares the log's next segment, cutting off a torn tail.
 * Return: 0 or a negative errno.
 */
int mq_store_recover(struct mq_store *s, mq_store_rec_t apply, void *arg,
		     struct netlink_ext_ack *extack)
{
	struct mq_scan sc = { .s = s, .apply = apply, .arg = arg };
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
		end = mq_scan_seg(&sc, k == last);
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
