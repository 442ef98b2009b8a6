// SPDX-License-Identifier: GPL-2.0
/*
 * A producer through a TX ring (libmq): messages are written in place in
 * memory shared with the kernel and handed over in batches, one ioctl per
 * batch instead of one write() per message.
 *
 * Usage: ring_producer [--durable] QUEUE COUNT [SIZE]
 *   QUEUE      a queue name (/dev/mq/QUEUE) or a path
 *   COUNT      messages to send
 *   SIZE       bytes per message: the text, "order N from pid P", cut or
 *              padded with '-' (default: just the text)
 *   --durable  after each batch, wait until it is on stable storage
 *              (mq_ring_submit_durable(); at once for a memory queue)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/mq.h>
#include <libmq.h>

#define BATCH	256			/* messages per submit, at most */
#define HDR	((uint32_t)sizeof(struct mq_ring_rec))

static const char *prog = "ring_producer";

static void usage(void)
{
	fprintf(stderr, "usage: %s [--durable] QUEUE COUNT [SIZE]\n", prog);
	exit(1);
}

/* A whole decimal number from min to max, or exit with a clear message. */
static uint64_t parse_num(const char *what, const char *s, uint64_t min,
			  uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno == ERANGE) {
		fprintf(stderr, "%s: %s: \"%s\" is not a number\n", prog, what, s);
		exit(1);
	}
	if (v < min || v > max) {
		fprintf(stderr, "%s: %s: %llu is out of range (%llu to %llu)\n",
			prog, what, v, (unsigned long long)min,
			(unsigned long long)max);
		exit(1);
	}
	return v;
}

/* The TX ring: a power of two holding at least 8 of the largest message. */
static uint32_t ring_size(uint32_t len)
{
	uint64_t rec = (HDR + (uint64_t)len + MQ_RING_ALIGN - 1) &
		       ~(uint64_t)(MQ_RING_ALIGN - 1);
	uint64_t size = 256 << 10;

	while (size < 8 * rec && size < MQ_RING_SIZE_MAX)
		size <<= 1;
	return (uint32_t)size;
}

/*
 * Hand everything reserved to the kernel and wait until it has taken all
 * of it (and, with durable, until all of it is on stable storage). A
 * signal may cut a wait short: after part of the batch was taken the
 * call returns that part and reports nothing, before it -EINTR; both
 * only mean "call again". mq_ring_tx_pending() (bytes the kernel has
 * not taken or skipped yet) says when everything is done with.
 */
static int flush(struct mq_ring *r, int durable)
{
	uint64_t bad = r->status->tx_bad;
	int n;

	for (;;) {
		n = durable ? mq_ring_submit_durable(r) : mq_ring_submit_wait(r);
		if (n == -EINTR)
			continue;
		if (n < 0)
			return n;
		if (r->status->tx_bad != bad) {
			/* Cannot happen with the lengths checked below. */
			fprintf(stderr, "%s: the kernel rejected %llu records\n",
				prog, (unsigned long long)(r->status->tx_bad - bad));
			return -EINVAL;
		}
		if (mq_ring_tx_pending(r))
			continue;
		if (!durable || mq_ring_tx_durable(r) >= r->status->tx_msgs)
			return 0;
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct mq_info info = { .size = sizeof(info) };
	const char *pos[3];
	uint64_t count, next = 0, sent, bytes = 0, batches = 0;
	uint32_t size = 0, max_len;
	int npos = 0, durable = 0, fd, err;
	char path[256], text[64];
	struct mq_ring r;
	double t0, t;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--durable"))
			durable = 1;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			usage();
		else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "%s: unknown option %s\n", prog, argv[i]);
			usage();
		} else if (npos < 3)
			pos[npos++] = argv[i];
		else
			usage();
	}
	if (npos < 2)
		usage();
	count = parse_num("COUNT", pos[1], 0, UINT64_MAX);
	if (npos > 2)
		size = parse_num("SIZE", pos[2], 1, MQ_MAX_MSG_LIMIT);
	if (strchr(pos[0], '/'))
		snprintf(path, sizeof(path), "%s", pos[0]);
	else
		snprintf(path, sizeof(path), "/dev/mq/%s", pos[0]);

	/* Longest message: SIZE, or the text with the largest number. */
	max_len = size ? size : (uint32_t)snprintf(text, sizeof(text),
				 "order %llu from pid %d",
				 (unsigned long long)count, getpid());
	/*
	 * Open the queue ourselves: MQ_IOC_INFO (the limits) is a call on
	 * the queue's fd, not on the ring fd.
	 */
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s%s\n", prog, path, strerror(errno),
			errno == ENOENT ? " (no such queue: mqctl queue add)" : "");
		return 1;
	}
	if (ioctl(fd, MQ_IOC_INFO, &info) < 0) {
		fprintf(stderr, "%s: %s: MQ_IOC_INFO: %s\n", prog, path,
			strerror(errno));
		return 1;
	}
	/* The kernel would skip a longer record (tx_bad): refuse it here. */
	if (max_len > info.max_msg) {
		fprintf(stderr, "%s: a message of %u bytes is larger than the queue's max-msg (%u)\n",
			prog, max_len, info.max_msg);
		return 1;
	}
	err = mq_ring_init(&r, fd, ring_size(max_len), 0);
	close(fd);		/* the ring fd keeps the queue open */
	if (err < 0) {
		fprintf(stderr, "%s: %s: ring setup: %s%s\n", prog, path,
			strerror(-err),
			err == -ENOTTY ? " (mq.ko without rings?)" :
			err == -EPROTO ? " (mq.ko with an older ring ABI)" : "");
		return 1;
	}

	t0 = now();
	while (next < count) {
		/* Reserve a batch: until BATCH messages or the ring is full. */
		for (int n = 0; n < BATCH && next < count; n++) {
			int tlen = snprintf(text, sizeof(text), "order %llu from pid %d",
					    (unsigned long long)next, getpid());
			uint32_t len = size ? size : (uint32_t)tlen;
			char *p = mq_ring_reserve(&r, len);

			if (!p)
				break;		/* ring full: submit first */
			if (size) {
				memset(p, '-', len);
				memcpy(p, text, (uint32_t)tlen < len ? (uint32_t)tlen : len);
			} else {
				memcpy(p, text, len);
			}
			bytes += len;
			next++;
		}
		/* One system call for the whole batch (more if the queue is full). */
		err = flush(&r, durable);
		if (err < 0) {
			fprintf(stderr, "%s: submit: %s\n", prog, strerror(-err));
			fprintf(stderr, "%s: %llu of %llu messages sent\n", prog,
				(unsigned long long)r.status->tx_msgs,
				(unsigned long long)count);
			mq_ring_close(&r);
			return 1;
		}
		batches++;
	}
	sent = r.status->tx_msgs;
	t = now() - t0;

	printf("%s: sent %llu messages, %llu bytes, in %llu batch%s, %.3f s",
	       prog, (unsigned long long)sent, (unsigned long long)bytes,
	       (unsigned long long)batches, batches == 1 ? "" : "es", t);
	if (t > 0 && sent)
		printf(" (%.0f msgs/s)", sent / t);
	if (durable)
		printf("; %llu on stable storage",
		       (unsigned long long)mq_ring_tx_durable(&r));
	printf("\n");
	mq_ring_close(&r);
	return 0;
}
