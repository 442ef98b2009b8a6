// SPDX-License-Identifier: GPL-2.0
/*
 * A consumer through an RX ring (libmq): the kernel moves messages of the
 * queue into memory shared with the process, which reads them in place;
 * a system call only when the ring is empty.
 *
 * Usage: ring_consumer QUEUE [COUNT]
 *   QUEUE  a queue name (/dev/mq/QUEUE) or a path
 *   COUNT  stop after COUNT messages and print only the first 3;
 *          without it, print every message until the queue is deleted
 *          or SIGINT/SIGTERM
 *
 * Messages in the RX ring are already out of the queue: those still in it
 * when the program stops are lost (see mq_ring_peek(3)), and it says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/mq.h>
#include <libmq.h>

#define HDR	((uint32_t)sizeof(struct mq_ring_rec))
#define SHOW	64			/* bytes of a message printed */

static const char *prog = "ring_consumer";
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: %s QUEUE [COUNT]\n", prog);
	exit(1);
}

static uint64_t parse_count(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno == ERANGE || !v) {
		fprintf(stderr, "%s: COUNT: \"%s\" is not a number from 1 up\n",
			prog, s);
		exit(1);
	}
	return v;
}

/*
 * The RX ring: a power of two from @min holding at least two of the
 * largest records. A record never wraps: after a pad at the end of the
 * ring the largest one must still fit in what is left.
 */
static uint32_t ring_size(uint32_t max_msg, uint32_t min)
{
	uint64_t rec = (HDR + (uint64_t)max_msg + MQ_RING_ALIGN - 1) &
		       ~(uint64_t)(MQ_RING_ALIGN - 1);
	uint64_t size = min;

	while (size < 2 * rec && size < MQ_RING_SIZE_MAX)
		size <<= 1;
	return (uint32_t)size;
}

static void print_msg(const struct mq_ring_msg *m)
{
	const unsigned char *p = m->data;
	char text[SHOW + 1];
	uint32_t n = m->len < SHOW ? m->len : SHOW;

	for (uint32_t i = 0; i < n; i++)
		text[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '.';
	text[n] = '\0';
	printf("%s: got \"%s%s\" (%u bytes, offset %llu%s)\n", prog, text,
	       m->len > n ? "..." : "", m->len, (unsigned long long)m->offset,
	       m->flags & MQ_MSG_REDELIVERED ? ", redelivered" : "");
}

int main(int argc, char **argv)
{
	struct mq_info info = { .size = sizeof(info) };
	struct sigaction sa = { .sa_handler = on_signal };
	uint64_t count = 0, got = 0, bytes = 0, redelivered = 0, left = 0;
	int fd, err, status = 0, deleted = 0;
	struct mq_ring_msg m;
	struct mq_ring r;
	char path[256];

	if (argc < 2 || argc > 3 || argv[1][0] == '-')
		usage();
	if (argc > 2)
		count = parse_count(argv[2]);
	if (strchr(argv[1], '/'))
		snprintf(path, sizeof(path), "%s", argv[1]);
	else
		snprintf(path, sizeof(path), "/dev/mq/%s", argv[1]);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/*
	 * Open it ourselves to size the ring for the queue's max-msg, and
	 * for MQ_IOC_INFO at the end: the ring fd takes only mmap, poll and
	 * MQ_IOC_RING_ENTER.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC);
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
	/*
	 * The kernel fills the ring with as many messages as fit, and what
	 * is in it when we stop is lost: with COUNT, keep the ring small.
	 */
	err = mq_ring_init(&r, fd, 0, ring_size(info.max_msg,
						count ? MQ_RING_SIZE_MIN : 256 << 10));
	if (err < 0) {
		fprintf(stderr, "%s: %s: ring setup: %s%s\n", prog, path,
			strerror(-err),
			err == -ENOTTY ? " (mq.ko without rings?)" :
			err == -EPROTO ? " (mq.ko with an older ring ABI)" : "");
		return 1;
	}

	/* No SA_RESTART: a signal ends mq_ring_wait() with -EINTR. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	while (!stop && (!count || got < count)) {
		/* A message in the ring, or fill it and sleep until one is. */
		err = mq_ring_wait(&r, &m);
		if (err == -EINTR)
			continue;	/* stop says whether it was ours */
		/*
		 * Queued messages did not fit in the ring while we held
		 * some. We hold none now (each is released below), so
		 * there is room: just wait again.
		 */
		if (err == -ENOBUFS)
			continue;
		if (err == -EIDRM) {
			/* Only once the ring is empty: nothing is lost. */
			fprintf(stderr, "%s: %s: the queue was deleted\n", prog, path);
			deleted = 1;
			break;
		}
		if (err < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(-err));
			status = 1;
			break;
		}
		if (!count || got < 3)
			print_msg(&m);
		got++;
		bytes += m.len;
		if (m.flags & MQ_MSG_REDELIVERED)
			redelivered++;
		/*
		 * Release each message before the next wait: with the ring
		 * full of messages not released, queued ones cannot get in
		 * and mq_ring_wait() fails with -ENOBUFS.
		 */
		mq_ring_release(&r, &m);
	}

	/* What the kernel already moved into the ring and we did not read. */
	while (mq_ring_peek(&r, &m) == 0)
		left++;

	printf("%s: received %llu messages, %llu bytes, %llu redelivered\n",
	       prog, (unsigned long long)got, (unsigned long long)bytes,
	       (unsigned long long)redelivered);
	if (left)
		fprintf(stderr, "%s: %llu more messages were in the RX ring and are lost with it\n",
			prog, (unsigned long long)left);
	/* Its fields are outputs: they go in zeroed, every time. */
	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	if (!deleted && ioctl(fd, MQ_IOC_INFO, &info) == 0)
		printf("%s: queue: %llu in, %llu out, %llu waiting\n", prog,
		       (unsigned long long)info.msgs_in,
		       (unsigned long long)info.msgs_out,
		       (unsigned long long)info.depth_msgs);
	mq_ring_close(&r);
	close(fd);
	if (count && got < count)
		status = 1;
	return status;
}
