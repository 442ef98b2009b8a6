// SPDX-License-Identifier: GPL-2.0
/*
 * A program built against the installed libmq-dev (make check-install):
 * sends one message through a TX ring (libmq), then reads it back with a
 * plain non-blocking read(2) and prints it.
 *
 * Usage: ring-hello QUEUE TEXT
 *   QUEUE  a path, /dev/mq/NAME (an existing queue)
 *   TEXT   the message
 * Exit status 0 if the message read back is TEXT.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <libmq.h>

int main(int argc, char **argv)
{
	struct mq_ring tx;
	char buf[4096];
	size_t len;
	ssize_t n;
	void *p;
	int fd, rc;

	if (argc != 3) {
		fprintf(stderr, "usage: ring-hello QUEUE TEXT\n");
		return 2;
	}
	len = strlen(argv[2]);
	if (len == 0 || len > sizeof(buf)) {
		fprintf(stderr, "ring-hello: TEXT must be 1 to %zu bytes\n", sizeof(buf));
		return 2;
	}

	rc = mq_ring_open(&tx, argv[1], O_WRONLY, MQ_RING_SIZE_MIN * 4, 0);
	if (rc < 0) {
		fprintf(stderr, "ring-hello: mq_ring_open %s: %s\n", argv[1], strerror(-rc));
		return 1;
	}
	p = mq_ring_reserve(&tx, (uint32_t)len);
	if (!p) {
		fprintf(stderr, "ring-hello: mq_ring_reserve: no room\n");
		return 1;
	}
	memcpy(p, argv[2], len);
	rc = mq_ring_submit_wait(&tx);
	if (rc < 0) {
		fprintf(stderr, "ring-hello: mq_ring_submit_wait: %s\n", strerror(-rc));
		return 1;
	}
	mq_ring_close(&tx);

	fd = open(argv[1], O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "ring-hello: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0) {
		fprintf(stderr, "ring-hello: read: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	printf("%.*s\n", (int)n, buf);
	return (size_t)n == len && memcmp(buf, argv[2], len) == 0 ? 0 : 1;
}
