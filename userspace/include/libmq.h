/* SPDX-License-Identifier: MIT */
/*
 * libmq: helpers for mq's mmap'd rings, in the style of liburing.
 *
 * A struct mq_ring is one ring fd of a queue (/dev/mq/NAME) with a TX
 * ring, an RX ring or both mapped (see the Rings section of
 * <linux/mq.h>). The library only lays records out in shared memory and
 * calls MQ_IOC_RING_ENTER; it allocates nothing after setup and is not
 * thread-safe: one thread per struct mq_ring (set up one ring fd per
 * thread).
 *
 *	struct mq_ring r;
 *	mq_ring_open(&r, "/dev/mq/jobs", O_RDWR, 1 << 20, 1 << 20);
 *	void *p = mq_ring_reserve(&r, len);	// NULL: TX full, submit first
 *	memcpy(p, data, len);
 *	mq_ring_submit(&r);			// one syscall per batch
 *
 *	struct mq_ring_msg m;
 *	while (mq_ring_wait(&r, &m) == 0) {	// sleeps only if nothing is new
 *		use(m.data, m.len);
 *		mq_ring_release(&r, &m);
 *	}
 *
 * Functions return 0 or a count on success and a negative errno on
 * failure; errno is not used.
 */
#ifndef LIBMQ_H
#define LIBMQ_H

#include <stddef.h>
#include <stdint.h>
#include <linux/mq.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mq_ring_q {
	void *region;			/* the mmap'd region */
	size_t region_len;
	uint32_t *head;			/* consumer index (shared) */
	uint32_t *tail;			/* producer index (shared) */
	unsigned char *data;
	uint32_t size;			/* data bytes, a power of two */
	uint32_t mask;
	uint32_t local;			/* our side's unpublished index */
	uint32_t cached;		/* the other side's last seen index */
	uint32_t last;			/* RX: after the last message peeked */
	uint32_t rec_size;		/* the kernel's record header size */
};

struct mq_ring {
	int fd;				/* the ring fd: poll(2) it */
	int qfd;			/* the queue's fd, -1 once closed */
	struct mq_ring_q tx;		/* region NULL without a TX ring */
	struct mq_ring_q rx;		/* region NULL without an RX ring */
	const volatile struct mq_ring_status *status;
	size_t status_len;
};

/* A message read in place from the RX ring. */
struct mq_ring_msg {
	const void *data;
	uint32_t len;
	uint32_t flags;			/* MQ_MSG_REDELIVERED */
	uint64_t offset;		/* its offset in the queue */
	uint64_t tstamp_ns;		/* when it was written, CLOCK_REALTIME */
	uint32_t next;			/* private: the index after it */
};

/*
 * Set rings up for the queue of an open fd (which stays the caller's:
 * the ring fd keeps the queue open by itself); sizes 0 (none) or powers
 * of two from MQ_RING_SIZE_MIN to MQ_RING_SIZE_MAX. A TX ring needs fd
 * open for writing, an RX ring for reading. -EPROTO: the kernel's ring
 * records (setup's rec_size) are not laid out as this library knows.
 */
int mq_ring_init(struct mq_ring *r, int fd, uint32_t tx_size, uint32_t rx_size);
/*
 * open(2) path with flags (O_RDONLY, O_WRONLY or O_RDWR; O_CLOEXEC is
 * added), init, then close the queue fd.
 */
int mq_ring_open(struct mq_ring *r, const char *path, int flags,
		 uint32_t tx_size, uint32_t rx_size);
/* Unmap and close the ring fd. */
void mq_ring_close(struct mq_ring *r);

/*
 * Producer. mq_ring_reserve() returns room for one message of len bytes
 * in TX, to be filled before the next mq_ring_submit(). NULL means no
 * room now (submit, or wait for POLLOUT) or never: len 0, larger than
 * the ring can hold (size - 32, or size - rec_size, the kernel's record
 * header, kept in tx.rec_size), or no TX ring; a len above the queue's
 * max-msg (MQ_IOC_INFO on the queue fd) is skipped by the kernel and
 * counted in status->tx_bad. mq_ring_submit() publishes everything
 * reserved and asks the kernel to take it: the return is the number of
 * messages the kernel took, or a negative errno. mq_ring_submit_wait()
 * sleeps while the queue is full until all are taken;
 * mq_ring_submit_durable() also waits until they are on stable storage.
 */
void *mq_ring_reserve(struct mq_ring *r, uint32_t len);
int mq_ring_submit(struct mq_ring *r);
int mq_ring_submit_wait(struct mq_ring *r);
int mq_ring_submit_durable(struct mq_ring *r);
/*
 * mq_ring_tx_pending(): bytes reserved in TX that the kernel has not yet
 * taken (or skipped as bad): 0 once everything submitted is done with.
 * mq_ring_tx_durable(): how many of the messages taken from this ring
 * are on stable storage (all of them, for a memory queue), as of the
 * last submit or poll(2).
 */
uint32_t mq_ring_tx_pending(const struct mq_ring *r);
uint64_t mq_ring_tx_durable(const struct mq_ring *r);

/*
 * Consumer. mq_ring_peek() gives the next message in RX without a
 * syscall (-EAGAIN if none); mq_ring_wait() peeks, and when there is
 * nothing to peek fills RX from the queue, sleeping until a message
 * comes; it fails with -ENOBUFS when queued messages cannot get in
 * because the ring is full of messages peeked but not released.
 * mq_ring_fill() fills RX without sleeping (returns how many were
 * added). mq_ring_release() gives the message's space back (in order:
 * releasing a message releases every one before it).
 */
int mq_ring_peek(struct mq_ring *r, struct mq_ring_msg *m);
int mq_ring_wait(struct mq_ring *r, struct mq_ring_msg *m);
int mq_ring_fill(struct mq_ring *r);
void mq_ring_release(struct mq_ring *r, const struct mq_ring_msg *m);

/*
 * The raw call: MQ_IOC_RING_ENTER with flags; counts in *e if not NULL.
 * It publishes nothing: mq_ring_submit*() store the TX tail first.
 */
int mq_ring_enter(struct mq_ring *r, uint64_t flags, struct mq_ring_enter *e);

#ifdef __cplusplus
}
#endif

#endif /* LIBMQ_H */
