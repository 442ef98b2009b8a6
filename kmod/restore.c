// SPDX-License-Identifier: GPL-2.0
/*
 * A durable queue in the log: its messages in log order (q->by_lpos),
 * which a failed read and the cleaner's copies keep, and the queue built
 * again at attach from the records recovery finds, before anyone can
 * reach it.
 */

#include "queue_int.h"

/**
 * mq_queue_by_lpos_insert - put a message where its log position goes
 * in q->by_lpos
 * @q: a durable queue; under q->lock
 * @m: a queued message, on no by_lpos list
 * @newest: its record is among the newest (a cleaner's copy), not the
 *	oldest (a message a failed read gave back): the end to walk from
 */
void mq_queue_by_lpos_insert(struct mq_queue *q, struct mq_msg *m,
			     bool newest)
{
	struct mq_msg *pos;

	lockdep_assert_held(&q->lock);
	/* A message given back may have a cleaner's copy: the nearer end. */
	if (!newest && !list_empty(&q->by_lpos)) {
		struct mq_msg *first = list_first_entry(&q->by_lpos,
							struct mq_msg, lnode);
		struct mq_msg *last = list_last_entry(&q->by_lpos,
						      struct mq_msg, lnode);

		newest = m->lpos >= last->lpos ||
			 (m->lpos > first->lpos &&
			  m->lpos - first->lpos > last->lpos - m->lpos);
	}
	if (newest) {
		list_for_each_entry_reverse(pos, &q->by_lpos, lnode)
			if (pos->lpos < m->lpos)
				break;
		list_add(&m->lnode, &pos->lnode);
		return;
	}
	list_for_each_entry(pos, &q->by_lpos, lnode)
		if (pos->lpos > m->lpos)
			break;
	list_add_tail(&m->lnode, &pos->lnode);
}

/**
 * mq_queue_restore_msg - put a message found in the log back in its queue
 * @q: the queue, not yet registered
 * @offset: its offset, above every one restored before
 * @tstamp: when it was written
 * @lpos: its record's log position
 * @len: its length
 *
 * Only its description: the payload stays on disk until it is read.
 *
 * Return: 1 (a message was added) or -ENOMEM.
 */
int mq_queue_restore_msg(struct mq_queue *q, u64 offset, u64 tstamp,
			 u64 lpos, u32 len)
{
	struct mq_msg *m = mq_msg_alloc(q->memcg, 0, false);

	if (!m)
		return -ENOMEM;
	m->len = len;		/* evicted: read back when its turn comes */
	m->tstamp_ns = tstamp;
	m->lpos = lpos;
	m->flags = 0;
	/* No one else sees the queue yet: the lock is for the rules. */
	spin_lock(&q->lock);
	/* Not bound yet: mq_append() leaves by_lpos to this. */
	WARN_ON_ONCE(q->store);
	q->tail = offset;
	mq_append(q, m);
	list_add_tail(&m->lnode, &q->by_lpos);	/* found in log order */
	spin_unlock(&q->lock);
	return 1;
}

/**
 * mq_queue_restore_moved - put a cleaner's copy found in the log back
 * @q: the queue, not yet registered
 * @offset: its offset, at or above the queue's position
 * @tstamp: when it was written
 * @lpos: the copy's log position, above every one restored before
 * @len: its length
 * @hint: where the last one went, or NULL; updated. The cleaner copies a
 *	queue's messages in offset order, so the next one goes after it.
 *	The caller clears it when restored messages go (a position).
 *
 * A copy of a message restored already (its original is still in the
 * log) moves it to the copy's position, the newest; otherwise the message
 * goes in offset order, before younger ones.
 *
 * Return: 1 if a message was added, 0 if it was there, or -ENOMEM.
 */
int mq_queue_restore_moved(struct mq_queue *q, u64 offset, u64 tstamp,
			   u64 lpos, u32 len, struct mq_msg **hint)
{
	struct mq_msg *m = mq_msg_alloc(q->memcg, 0, false), *pos;
	int added = 0;

	if (!m)
		return -ENOMEM;
	spin_lock(&q->lock);
	pos = *hint && (*hint)->offset <= offset ? *hint :
	      list_first_entry(&q->msgs, struct mq_msg, node);
	list_for_each_entry_from(pos, &q->msgs, node) {
		if (pos->offset == offset) {
			pos->lpos = lpos;
			list_move_tail(&pos->lnode, &q->by_lpos);
			*hint = pos;
			goto out;
		}
		if (pos->offset > offset)
			break;
	}
	m->len = len;
	m->tstamp_ns = tstamp;
	m->lpos = lpos;
	m->flags = 0;
	m->offset = offset;
	list_add_tail(&m->node, &pos->node);
	list_add_tail(&m->lnode, &q->by_lpos);
	q->depth_msgs++;
	q->depth_bytes += len;
	q->peak_msgs = max(q->peak_msgs, q->depth_msgs);
	q->msgs_in++;
	q->bytes_in += len;
	q->tail = max(q->tail, offset + 1);
	*hint = m;
	m = NULL;
	added = 1;
out:
	spin_unlock(&q->lock);
	mq_msg_free(m);
	return added;
}

/**
 * mq_queue_restore_head - drop restored messages read before
 * @q: the queue, not yet registered
 * @head: the logged position
 */
void mq_queue_restore_head(struct mq_queue *q, u64 head)
{
	struct mq_msg *m, *tmp;
	LIST_HEAD(gone);

	spin_lock(&q->lock);
	list_for_each_entry_safe(m, tmp, &q->msgs, node) {
		if (m->offset >= head)
			break;
		mq_unlink(q, m);
		list_add_tail(&m->node, &gone);
	}
	if (q->tail < head)
		q->tail = head;
	spin_unlock(&q->lock);
	mq_msgs_free(&gone);
}
