// SPDX-License-Identifier: GPL-2.0
/*
 * Message memory. A message is a header holding its first bytes and a
 * chain of page-sized fragments (msg.h); every allocation is order 0 and
 * charged to the memory cgroup the caller names, the queue's owner's.
 */

#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/crc32.h>
#include <linux/sched/mm.h>
#include <linux/memcontrol.h>

#include "msg.h"

/**
 * mq_msg_free - free a message and its payload
 * @m: the message, or NULL
 */
void mq_msg_free(struct mq_msg *m)
{
	if (!m)
		return;
	mq_msg_drop_payload(m);
	kfree(m);
}

/**
 * mq_msgs_free - free a list of messages
 * @list: struct mq_msg, linked by node
 */
void mq_msgs_free(struct list_head *list)
{
	struct mq_msg *m, *tmp;

	list_for_each_entry_safe(m, tmp, list, node)
		mq_msg_free(m);
}

/**
 * mq_msg_alloc - allocate a message
 * @memcg: the memory cgroup it is charged to
 * @len: its length
 * @inl: the first bytes may live in the header (not for durable queues,
 *	whose payload must be all in fragments, which eviction drops)
 *
 * Return: the message, its payload not yet filled, or NULL.
 */
struct mq_msg *mq_msg_alloc(struct mem_cgroup *memcg, size_t len, bool inl)
{
	struct mem_cgroup *old = set_active_memcg(memcg);
	size_t n = inl ? min_t(size_t, len, MQ_MSG_INLINE) : 0, left = len - n;
	struct mq_frag **tail, *frag;
	struct mq_msg *m;
	size_t size = kmalloc_size_roundup(struct_size(m, data, n));

	m = kmalloc(size, GFP_KERNEL_ACCOUNT);
	if (!m)
		goto out;
	m->size = size;
	INIT_LIST_HEAD(&m->lnode);
	m->len = len;
	m->inl = n;
	m->frags = NULL;
	for (tail = &m->frags; left; left -= n, tail = &frag->next) {
		n = min_t(size_t, left, MQ_FRAG_DATA);
		frag = kmalloc(struct_size(frag, data, n), GFP_KERNEL_ACCOUNT);
		if (!frag) {
			mq_msg_free(m);
			m = NULL;
			break;
		}
		frag->next = NULL;
		*tail = frag;
	}
out:
	set_active_memcg(old);
	return m;
}

/**
 * mq_msg_get - allocate a message, reusing a spare header if it fits
 * @spare: the spare slot of the queue the message is for
 * @memcg: the memory cgroup it is charged to (the spare's too)
 * @len: its length
 * @inl: as for mq_msg_alloc()
 *
 * A queue keeps the header of one message it freed (mq_msg_put()): with a
 * writer and a reader on different CPUs, each small message would
 * otherwise cost an allocation, its zeroing, a memcg charge and a free to
 * another CPU's slab. Only a message that fits in its header is kept,
 * and only one of the same kmalloc bucket reuses it, so a queue's memory
 * is what it would be without the slot, plus the one header.
 *
 * Return: as mq_msg_alloc().
 */
struct mq_msg *mq_msg_get(struct mq_msg **spare, struct mem_cgroup *memcg,
			  size_t len, bool inl)
{
	struct mq_msg *m;

	/* KASAN's quarantine finds a use after free only if it is freed. */
	if (IS_ENABLED(CONFIG_KASAN) || !inl || len > MQ_MSG_INLINE ||
	    !READ_ONCE(*spare))
		return mq_msg_alloc(memcg, len, inl);
	m = xchg(spare, NULL);
	if (m && m->size == kmalloc_size_roundup(struct_size(m, data, len))) {
		INIT_LIST_HEAD(&m->lnode);
		m->len = len;
		m->inl = len;
		return m;
	}
	mq_msg_free(m);
	return mq_msg_alloc(memcg, len, inl);
}

/**
 * mq_msg_put - free a message, or keep its header as the queue's spare
 * @spare: the spare slot of the queue it was allocated for
 * @m: the message, or NULL
 */
void mq_msg_put(struct mq_msg **spare, struct mq_msg *m)
{
	if (!IS_ENABLED(CONFIG_KASAN) && m && m->inl && !m->frags &&
	    !READ_ONCE(*spare) &&
	    !cmpxchg(spare, NULL, m))
		return;
	mq_msg_free(m);
}

/**
 * mq_msg_fill - copy a whole message in
 * @m: the message, allocated for iov_iter_count(@from) bytes
 * @from: its payload
 *
 * Return: false if the source faulted.
 */
bool mq_msg_fill(struct mq_msg *m, struct iov_iter *from)
{
	size_t n = m->inl, left = m->len - n;
	struct mq_frag *frag;

	if (!copy_from_iter_full(m->data, n, from))
		return false;
	for (frag = m->frags; frag; frag = frag->next, left -= n) {
		n = min_t(size_t, left, MQ_FRAG_DATA);
		if (!copy_from_iter_full(frag->data, n, from))
			return false;
	}
	return true;
}

/**
 * mq_msg_copy_out - copy a whole message out
 * @m: the message, in memory
 * @to: where to
 *
 * Return: false if the destination faulted.
 */
bool mq_msg_copy_out(const struct mq_msg *m, struct iov_iter *to)
{
	size_t n = m->inl, left = m->len - n;
	const struct mq_frag *frag;

	if (copy_to_iter(m->data, n, to) != n)
		return false;
	for (frag = m->frags; frag; frag = frag->next, left -= n) {
		n = min_t(size_t, left, MQ_FRAG_DATA);
		if (copy_to_iter(frag->data, n, to) != n)
			return false;
	}
	return true;
}

/**
 * mq_msg_copy_to - copy a message's payload (in memory) to kernel memory
 * @m: the message
 * @buf: m->len bytes
 */
void mq_msg_copy_to(const struct mq_msg *m, void *buf)
{
	size_t n = m->inl, left = m->len - n;
	const struct mq_frag *frag;

	mq_memcpy(buf, m->data, n);
	for (frag = m->frags; frag; frag = frag->next, left -= n) {
		buf += n;
		n = min_t(size_t, left, MQ_FRAG_DATA);
		mq_memcpy(buf, frag->data, n);
	}
}

/**
 * mq_msg_walk - hand a message's payload (in memory) over piece by piece
 * @m: the message
 * @fn: called with each piece, in order
 * @arg: for @fn
 */
void mq_msg_walk(const struct mq_msg *m,
		 void (*fn)(void *arg, const void *piece, size_t len),
		 void *arg)
{
	size_t n = m->inl, left = m->len - n;
	const struct mq_frag *frag;

	if (n)
		fn(arg, m->data, n);
	for (frag = m->frags; frag; frag = frag->next, left -= n) {
		n = min_t(size_t, left, MQ_FRAG_DATA);
		fn(arg, frag->data, n);
	}
}

/**
 * mq_msg_crc - a message's payload checksum, for its record
 * @m: the message, resident
 *
 * CRC-32C seeded with 0, to be combined with the header's
 * (__crc32c_le_combine()). Called before the message is appended, with
 * no lock held: the expensive part of logging stays out of the locks.
 *
 * Return: the checksum.
 */
u32 mq_msg_crc(const struct mq_msg *m)
{
	size_t n = m->inl, left = m->len - n;
	const struct mq_frag *frag;
	u32 crc = __crc32c_le(0, m->data, n);

	for (frag = m->frags; frag; frag = frag->next, left -= n) {
		n = min_t(size_t, left, MQ_FRAG_DATA);
		crc = __crc32c_le(crc, frag->data, n);
	}
	return crc;
}

/**
 * mq_msg_drop_payload - free the fragments of a message's payload
 * @m: the message; a durable one keeps its payload in fragments only
 *
 * Return: whether there were any.
 */
bool mq_msg_drop_payload(struct mq_msg *m)
{
	struct mq_frag *frag, *next;

	if (!m->frags)
		return false;
	for (frag = m->frags; frag; frag = next) {
		next = frag->next;
		kfree(frag);
	}
	m->frags = NULL;
	return true;
}

/**
 * mq_msg_load_payload - give an evicted message its payload again
 * @m: the message, without payload in memory
 * @memcg: the memory cgroup it is charged to
 * @buf: m->len bytes of payload
 *
 * Return: 0 or -ENOMEM (@m unchanged).
 */
int mq_msg_load_payload(struct mq_msg *m, struct mem_cgroup *memcg,
			const void *buf)
{
	struct mq_msg *tmp = mq_msg_alloc(memcg, m->len, false);
	size_t left = m->len, n, done = 0;
	struct mq_frag *frag;

	if (!tmp)
		return -ENOMEM;
	for (frag = tmp->frags; frag; frag = frag->next, left -= n) {
		n = min_t(size_t, left, MQ_FRAG_DATA);
		memcpy(frag->data, buf + done, n);
		done += n;
	}
	m->frags = tmp->frags;
	tmp->frags = NULL;
	mq_msg_free(tmp);
	return 0;
}
