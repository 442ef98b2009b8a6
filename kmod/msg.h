/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Message memory: a message and its payload, allocated, filled, copied
 * and freed. Nothing here knows of queues, locks or the store.
 */
#ifndef _MQ_MSG_H
#define _MQ_MSG_H

#include <linux/list.h>
#include <linux/types.h>
#include <linux/uio.h>
#include <asm/unaligned.h>

struct mem_cgroup;

/*
 * A message lives in page-sized pieces, as System V and POSIX messages do:
 * the header with the first bytes, then a chain of fragments. Every
 * allocation is order 0, however large the message, and none is rounded
 * up to the next power of two. (The store's log has segments; a message
 * has fragments.)
 */
struct mq_frag {
	struct mq_frag *next;
	u8 data[];
};

struct mq_msg {
	struct list_head node;
	struct list_head lnode;	/* durable: in q->by_lpos, else empty */
	u64 offset;
	u64 tstamp_ns;
	u64 lpos;		/* durable queues: the record's log position */
	u32 len;
	u32 flags;		/* MQ_MSG_* */
	u32 inl;		/* payload bytes in data[] */
	u32 pcrc;		/* durable: the payload's CRC-32C (seed 0) */
	bool pcrc_ok;
	u32 size;		/* the header's allocation (kmalloc bucket) */
	struct mq_frag *frags;	/* the payload past data[] */
	u8 data[];
};

/*
 * A durable queue's message keeps its payload in fragments only, so that
 * once on stable storage the payload can be dropped from memory (evicted)
 * and read back from the log when its turn comes.
 */
static inline bool mq_msg_resident(const struct mq_msg *m)
{
	return m->inl || m->frags;
}

#define MQ_MSG_INLINE	(PAGE_SIZE - sizeof(struct mq_msg))
#define MQ_FRAG_DATA	(PAGE_SIZE - sizeof(struct mq_frag))

/*
 * memcpy() for payloads. Small ones, the common case, go word by word:
 * the string instruction memcpy() uses costs more to start than such a
 * copy takes (and much more under emulation).
 */
static inline void mq_memcpy(void *dst, const void *src, size_t len)
{
	size_t i = 0;

	if (len > 256) {
		memcpy(dst, src, len);
		return;
	}
	for (; i + 8 <= len; i += 8)
		put_unaligned(get_unaligned((const u64 *)(src + i)),
			      (u64 *)(dst + i));
	for (; i < len; i++)
		((u8 *)dst)[i] = ((const u8 *)src)[i];
}

struct mq_msg *mq_msg_alloc(struct mem_cgroup *memcg, size_t len, bool inl);
void mq_msg_free(struct mq_msg *m);
struct mq_msg *mq_msg_get(struct mq_msg **spare, struct mem_cgroup *memcg,
			  size_t len, bool inl);
void mq_msg_put(struct mq_msg **spare, struct mq_msg *m);
void mq_msgs_free(struct list_head *list);
bool mq_msg_fill(struct mq_msg *m, struct iov_iter *from);
bool mq_msg_copy_out(const struct mq_msg *m, struct iov_iter *to);
void mq_msg_copy_to(const struct mq_msg *m, void *buf);
void mq_msg_walk(const struct mq_msg *m,
		 void (*fn)(void *arg, const void *piece, size_t len),
		 void *arg);
u32 mq_msg_crc(const struct mq_msg *m);
bool mq_msg_drop_payload(struct mq_msg *m);
int mq_msg_load_payload(struct mq_msg *m, struct mem_cgroup *memcg,
			const void *buf);

/* Free messages taken with mq_queue_take(). */
static inline void mq_msgs_put(struct list_head *list)
{
	mq_msgs_free(list);
}

#endif /* _MQ_MSG_H */
