// SPDX-License-Identifier: GPL-2.0
/*
 * mqctl monitor: follow the "events" multicast group, one line per event
 * (queues and the store), until SIGINT or SIGTERM.
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
#include "store.h"

/* The events of the "events" group: what happened, and to which object. */
static const struct event {
	const char *name;
	bool store;		/* a store description, not a queue's */
} events[] = {
	[MQ_CMD_QUEUE_NEW]	= { "new",	false },
	[MQ_CMD_QUEUE_SET]	= { "set",	false },
	[MQ_CMD_QUEUE_DEL]	= { "del",	false },
	[MQ_CMD_STORE_ATTACH]	= { "attach",	true },
	[MQ_CMD_STORE_DETACH]	= { "detach",	true },
	[MQ_CMD_STORE_GET]	= { "change",	true },	/* its state changed */
};

static int event_reply(struct nlmsghdr *nlh, void *arg)
{
	struct genlmsghdr *g = nlmsg_data(nlh);
	const struct event *ev;
	union {
		struct queue q;
		struct store s;
	} d;
	int err;

	if (!genlmsg_valid_hdr(nlh, 0) || g->cmd >= ARRAY_SIZE(events) ||
	    !events[g->cmd].name)
		return 0;	/* an event this mqctl does not know */
	ev = &events[g->cmd];
	err = ev->store ? store_parse(nlh, &d.s) : queue_parse(nlh, &d.q);
	if (err) {
		fprintf(stderr, "mqctl: warning: malformed %s event: %s\n",
			ev->name, nl_geterror(err));
		return 0;
	}
	open_json_object(NULL);
	print_string(PRINT_ANY, "event", ev->store ? "%s store " : "%s queue ",
		     ev->name);
	if (ev->store)
		store_print(&d.s, "store", true);
	else
		queue_print(&d.q, "queue", true);
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
		       "Prints a line for each queue created (new), changed (set) or deleted (del),\n"
		       "and for the store attached (attach), detached (detach) or changed (change,\n"
		       "as when an I/O error degrades it), until interrupted; with -j, one JSON\n"
		       "object per line.\n");
		return MQCTL_EXIT_OK;
	}
	if (no_arguments(argc, argv))
		return MQCTL_EXIT_USAGE;

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
