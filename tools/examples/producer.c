// SPDX-License-Identifier: GPL-2.0
/*
 * A producer: one write() is one message. Usage: producer QUEUE COUNT
 * No library needed; the only mq-specific thing is the path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char path[128], msg[64];
	long count;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: %s QUEUE COUNT\n", argv[0]);
		return 1;
	}
	count = strtol(argv[2], NULL, 0);
	snprintf(path, sizeof(path), "/dev/mq/%s", argv[1]);
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		fprintf(stderr, "producer: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (long i = 0; i < count; i++) {
		int n = snprintf(msg, sizeof(msg), "order %ld from pid %d", i,
				 getpid());

		/* Blocks while the queue is full: back-pressure for free. */
		if (write(fd, msg, n) != n) {
			fprintf(stderr, "producer: write: %s\n", strerror(errno));
			return 1;
		}
	}
	printf("producer: sent %ld messages\n", count);
	return 0;
}
