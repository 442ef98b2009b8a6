// SPDX-License-Identifier: GPL-2.0
/*
 * A consumer: one read() is one message; poll() says when one is there.
 * Usage: consumer QUEUE [IDLE_MS]  (stops after IDLE_MS without a message)
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/mq.h>

int main(int argc, char **argv)
{
	struct mq_info info = { .size = sizeof(info) };
	char path[128], buf[65536];
	int idle_ms = argc > 2 ? atoi(argv[2]) : 1000;
	long got = 0;
	struct pollfd p;

	if (argc < 2) {
		fprintf(stderr, "usage: %s QUEUE [IDLE_MS]\n", argv[0]);
		return 1;
	}
	snprintf(path, sizeof(path), "/dev/mq/%s", argv[1]);
	p.fd = open(path, O_RDONLY | O_NONBLOCK);
	if (p.fd < 0) {
		fprintf(stderr, "consumer: %s: %s\n", path, strerror(errno));
		return 1;
	}
	p.events = POLLIN;
	while (poll(&p, 1, idle_ms) > 0) {
		ssize_t n = read(p.fd, buf, sizeof(buf) - 1);

		if (n < 0 && errno == EAGAIN)
			continue;	/* another consumer was faster */
		if (n < 0) {
			fprintf(stderr, "consumer: read: %s\n", strerror(errno));
			return 1;
		}
		buf[n] = '\0';
		if (got++ < 3)
			printf("consumer: got \"%s\"\n", buf);
	}
	if (ioctl(p.fd, MQ_IOC_INFO, &info) == 0)
		printf("consumer: received %ld messages; queue: %llu in, %llu out, %llu waiting\n",
		       got, (unsigned long long)info.msgs_in,
		       (unsigned long long)info.msgs_out,
		       (unsigned long long)info.depth_msgs);
	return 0;
}
