// SPDX-License-Identifier: GPL-2.0
/*
 * mqctl monitor: follow the "events" multicast group, one line per event,
 * until SIGINT or SIGTERM.
 *
 * The signals are taken through a signalfd polled beside the socket: libnl
 * retries a recvmsg() that a signal interrupts, so a handler alone could
 * not end a blocked read.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/signalfd.h>

#include "mqctl.h"
#include "nl.h"
#include "print.h"
#include "queue.h"

static const char *const event_names[] = {
	[MQ_CMD_QUEUE_NEW] = "new",
	[MQ_CMD_QUEUE_SET] = "set",
	[MQ_CMD_QUEUE_DEL] = "del",
};

static int event_reply(struct nlmsghdr *nlh, void *arg)
{
	struct genlmsghdr *g = nlmsg_data(nlh);
	struct queue q;
	const char *event;
	int err;

	if (!genlmsg_valid_hdr(nlh, 0) || g->cmd >= ARRAY_SIZE(event_names) ||
	    !event_names[g->cmd])
		return 0;	/* an event this mqctl does not know */
	event = event_names[g->cmd];
	err = queue_parse(nlh, &q);
	if (err) {
		fprintf(stderr, "mqctl: warning: malformed %s event: %s\n",
			event, nl_geterror(err));
		return 0;
	}
	open_json_object(NULL);
	print_string(PRINT_ANY, "event", "%s queue ", event);
	queue_print(&q, "queue", true);
	close_json_object();
	print_flush();
	return 0;
}

static int monitor_loop(int sigfd)
{
	struct pollfd pfd[] = {
		{ .fd = mq_events_fd(), .events = POLLIN },
		{ .fd = sigfd, .events = POLLIN },
	};
	int ret = MQCTL_EXIT_OK;

	while (!ret) {
		if (poll(pfd, ARRAY_SIZE(pfd), -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail(MQCTL_EXIT_KERNEL, "poll: %s", strerror(errno));
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents)
			ret = mq_events_read(event_reply, NULL);
	}
	return ret;
}

/**
 * monitor_main() - mqctl monitor
 * @argc: number of words after "monitor"
 * @argv: the words after "monitor"
 *
 * Return: an MQCTL_EXIT_* code; MQCTL_EXIT_OK when ended by a signal.
 */
int monitor_main(int argc, char **argv)
{
	sigset_t mask;
	int sigfd, ret;

	if (argc && is_help(argv[0])) {
		printf("Usage: mqctl [ -j [ -p ] ] monitor\n"
		       "Prints a line for each queue created (new), changed (set) or deleted (del)\n"
		       "until interrupted; with -j, one JSON object per line.\n");
		return MQCTL_EXIT_OK;
	}
	if (argc)
		return usage_error("unexpected argument \"%s\"", argv[0]);

	/* Blocked before anything else, so none can slip past the signalfd. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sigfd < 0)
		return fail(MQCTL_EXIT_KERNEL, "signalfd: %s", strerror(errno));

	ret = mq_nl_open();
	if (!ret)
		ret = mq_events_join();
	if (!ret)
		ret = monitor_loop(sigfd);
	close(sigfd);
	return ret;
}
