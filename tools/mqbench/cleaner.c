// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench --cleaner DEV: what a durable queue that does not move costs
 * the others.
 *
 * A small store (1 MiB segments) on DEV, and one async queue moving ten
 * times the store's size through it (4 KiB messages, 8 in flight), twice
 * in the same run: once alone, once beside a queue holding one message
 * that nobody reads. Without the store's cleaner the second run stops
 * with ENOSPC once the log comes round to the unread message; with it,
 * the message is copied forward each lap. Then a third time, beside a
 * queue holding a backlog of a tenth of the store, written at once, so
 * that it fills whole segments. Reported: the rates, their ratios to
 * the first, and the log bytes the copies took against the bytes
 * written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/mq.h>

#include "mqbench.h"

#define CLEANER_SEG	(1U << 20)
#define CLEANER_MSG	4096U
#define CLEANER_DEPTH	8U
#define CLEANER_LAPS	10
#define CLEANER_BACKLOG	10	/* the backlog: a tenth of the store */

static struct cleaner_result res;
static char why[640];			/* res.why */

/* Open a queue's node, waiting for devtmpfs to make it. */
static int open_node(const char *name, int flags)
{
	struct timespec ms = { 0, 1000000 };
	char path[128];
	int fd, i;

	snprintf(path, sizeof(path), "/dev/mq/%s", name);
	for (i = 0; i < 2000; i++) {
		fd = open(path, flags | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			return fd;
		nanosleep(&ms, NULL);
	}
	return -1;
}

/* @bytes through queue @fd, CLEANER_DEPTH in flight. Return: msgs/s or -errno. */
static double traffic(int fd, uint64_t bytes, const char *what)
{
	static char buf[CLEANER_MSG];
	uint64_t n = bytes / CLEANER_MSG, sent = 0, got = 0, t0;
	unsigned int i;

	memset(buf, 0x6d, sizeof(buf));
	t0 = now_ns();
	while (got < n) {
		for (i = 0; i < CLEANER_DEPTH && sent < n; i++, sent++) {
			if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
				int err = errno;

				errmsg("cleaner: %s: write %llu of %llu: %s", what,
				       (unsigned long long)sent,
				       (unsigned long long)n, strerror(err));
				return -err;
			}
		}
		while (got < sent) {
			if (read(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf)) {
				int err = errno;

				errmsg("cleaner: %s: read: %s", what, strerror(err));
				return -err;
			}
			got++;
		}
	}
	return n / ((double)(now_ns() - t0) / 1e9);
}

/*
 * The third run, beside a backlog queue @name; @bfd the busy queue's fd
 * (in @ctx->name's place: ctx is the busy queue's). Sets res.rate_backlog
 * and what was moved, or says in res.why why not (the first two rows
 * stand).
 */
static void backlog_run(struct mech_ctx *ctx, const char *name, int bfd,
			struct store_info *before)
{
	uint64_t n = res.store_bytes / CLEANER_BACKLOG / CLEANER_MSG, i;
	static char buf[CLEANER_MSG], back[CLEANER_MSG];
	struct store_info after;
	char err[512];
	int fd;

	ctx->cell.depth = n;
	snprintf(ctx->name, sizeof(ctx->name), "%s", name);
	if (mqnl_queue_new(ctx, MQ_DURABILITY_ASYNC, err, sizeof(err))) {
		snprintf(why, sizeof(why), "backlog: %s", err);
		return;
	}
	fd = open_node(name, O_RDWR | O_NONBLOCK);
	for (i = 0; fd >= 0 && i < n; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		memcpy(buf, &i, sizeof(i));
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			break;
	}
	if (fd < 0 || i < n || mqnl_store_info(before, err, sizeof(err))) {
		snprintf(why, sizeof(why), "backlog: %s", strerror(errno));
		goto out;
	}
	res.backlog_bytes = n * CLEANER_MSG;
	fprintf(stderr, "%s: cleaner: the same beside a queue with a %llu KiB backlog\n",
		progname, (unsigned long long)(res.backlog_bytes >> 10));
	res.rate_backlog = traffic(bfd, res.written, "beside a backlog");
	if (res.rate_backlog < 0) {
		snprintf(why, sizeof(why), "beside a backlog: %s",
			 strerror(-res.rate_backlog));
		res.rate_backlog = 0;
		goto out;
	}
	if (mqnl_store_info(&after, err, sizeof(err))) {
		snprintf(why, sizeof(why), "store show: %s", err);
		res.rate_backlog = 0;
		goto out;
	}
	res.backlog_moved_records = after.moved_records - before->moved_records;
	res.backlog_moved_bytes = after.moved_bytes - before->moved_bytes;
	for (i = 0; i < n; i++) {
		memset(buf, 'a' + i % 26, sizeof(buf));
		memcpy(buf, &i, sizeof(i));
		if (read(fd, back, sizeof(back)) != (ssize_t)sizeof(back) ||
		    memcmp(back, buf, sizeof(buf))) {
			snprintf(why, sizeof(why),
				 "the backlog did not read back intact (message %llu)",
				 (unsigned long long)i);
			res.rate_backlog = 0;
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
}

/**
 * cleaner_run() - measure the cost of an unread message, on opts->cleaner
 * @opts: the run's options
 *
 * Formats DEV (its contents are lost) and detaches it again at the end;
 * no other store may be attached.
 *
 * Return: the results (ran false, why set, when it could not run).
 */
const struct cleaner_result *cleaner_run(const struct bench_opts *opts)
{
	struct mech_ctx ctx = {
		.opts = opts,
		.cell = { .msg_bytes = CLEANER_MSG, .producers = 1,
			  .consumers = 1, .depth = 64 },
	};
	char busy[96], stuck[96], blog[96], err[512];
	struct store_info before, after;
	int bfd = -1, sfd = -1;
	char msg[64];

	res.why = why;
	snprintf(busy, sizeof(busy), "mqbench-cleaner-busy-%d", (int)getpid());
	snprintf(stuck, sizeof(stuck), "mqbench-cleaner-stuck-%d", (int)getpid());
	snprintf(blog, sizeof(blog), "mqbench-cleaner-backlog-%d", (int)getpid());
	if (mqnl_store_format(opts->cleaner, CLEANER_SEG, err, sizeof(err)) ||
	    mqnl_store(MQ_CMD_STORE_ATTACH, opts->cleaner, err, sizeof(err)) ||
	    mqnl_store_info(&before, err, sizeof(err))) {
		snprintf(why, sizeof(why), "store on %s: %s", opts->cleaner, err);
		return &res;
	}
	res.store_bytes = before.size;
	res.written = CLEANER_LAPS * before.size;
	res.msg_bytes = CLEANER_MSG;
	memcpy(ctx.name, busy, sizeof(busy));
	if (mqnl_queue_new(&ctx, MQ_DURABILITY_ASYNC, err, sizeof(err))) {
		snprintf(why, sizeof(why), "%s", err);
		goto out;
	}
	bfd = open_node(busy, O_RDWR);
	if (bfd < 0) {
		snprintf(why, sizeof(why), "/dev/mq/%s: %s", busy, strerror(errno));
		goto out;
	}
	fprintf(stderr, "%s: cleaner: %llu MiB through a %llu MiB store, alone\n",
		progname, (unsigned long long)(res.written >> 20),
		(unsigned long long)(res.store_bytes >> 20));
	res.rate_alone = traffic(bfd, res.written, "alone");
	if (res.rate_alone < 0) {
		snprintf(why, sizeof(why), "alone: %s", strerror(-res.rate_alone));
		goto out;
	}

	memcpy(ctx.name, stuck, sizeof(stuck));
	if (mqnl_queue_new(&ctx, MQ_DURABILITY_ASYNC, err, sizeof(err))) {
		snprintf(why, sizeof(why), "%s", err);
		goto out;
	}
	sfd = open_node(stuck, O_RDWR | O_NONBLOCK);
	snprintf(msg, sizeof(msg), "the message nobody reads");
	if (sfd < 0 || write(sfd, msg, sizeof(msg)) != sizeof(msg) ||
	    mqnl_store_info(&before, err, sizeof(err))) {
		snprintf(why, sizeof(why), "the stuck queue: %s", strerror(errno));
		goto out;
	}
	fprintf(stderr, "%s: cleaner: the same beside a queue with one unread message\n",
		progname);
	res.rate_stuck = traffic(bfd, res.written, "beside an unread message");
	if (res.rate_stuck < 0) {
		snprintf(why, sizeof(why), "beside an unread message: %s%s",
			 strerror(-res.rate_stuck),
			 res.rate_stuck == -ENOSPC ? " (the log is held by the unread message)" : "");
		goto out;
	}
	if (mqnl_store_info(&after, err, sizeof(err))) {
		snprintf(why, sizeof(why), "store show: %s", err);
		goto out;
	}
	res.moved_records = after.moved_records - before.moved_records;
	res.moved_bytes = after.moved_bytes - before.moved_bytes;
	{
		char back[sizeof(msg)];

		if (read(sfd, back, sizeof(back)) != sizeof(back) ||
		    memcmp(back, msg, sizeof(msg))) {
			snprintf(why, sizeof(why), "the unread message did not read back intact");
			goto out;
		}
	}
	res.ran = true;
	backlog_run(&ctx, blog, bfd, &before);
out:
	if (bfd >= 0)
		close(bfd);
	if (sfd >= 0)
		close(sfd);
	mqnl_queue_del(busy, err, sizeof(err));
	mqnl_queue_del(stuck, err, sizeof(err));
	mqnl_queue_del(blog, err, sizeof(err));
	if (mqnl_store(MQ_CMD_STORE_DETACH, NULL, err, sizeof(err)))
		errmsg("cleaner: %s", err);
	return &res;
}

/**
 * cleaner_print() - the cleaner's table
 * @out: where
 * @r: from cleaner_run()
 */
void cleaner_print(FILE *out, const struct cleaner_result *r)
{
	fprintf(out, "\nA durable queue that does not move (--cleaner): devmq-async, %u B, 1x1, %u in flight\n",
		CLEANER_MSG, CLEANER_DEPTH);
	if (!r->ran) {
		fprintf(out, "  n/a: %s\n", r->why);
		return;
	}
	fprintf(out, "  %-44s %12.0f msgs/s\n", "alone", r->rate_alone);
	fprintf(out, "  %-44s %12.0f msgs/s  %.2fx\n",
		"beside a queue with one unread message", r->rate_stuck,
		r->rate_stuck / r->rate_alone);
	if (r->rate_backlog > 0)
		fprintf(out, "  %-44s %12.0f msgs/s  %.2fx\n",
			"beside a queue with a backlog (below)", r->rate_backlog,
			r->rate_backlog / r->rate_alone);
	else
		fprintf(out, "  beside a queue with a backlog: n/a: %s\n", r->why);
	fprintf(out, "  each run moved %llu MiB (%dx the %llu MiB store); the cleaner copied the unread message %llu times, %llu bytes: %.4f%% of the bytes written\n",
		(unsigned long long)(r->written >> 20), CLEANER_LAPS,
		(unsigned long long)(r->store_bytes >> 20),
		(unsigned long long)r->moved_records,
		(unsigned long long)r->moved_bytes,
		100.0 * r->moved_bytes / r->written);
	if (r->rate_backlog > 0)
		fprintf(out, "  the backlog, %llu KiB written at once: the cleaner copied %llu records, %llu KiB: %.1f%% of the bytes written\n",
			(unsigned long long)(r->backlog_bytes >> 10),
			(unsigned long long)r->backlog_moved_records,
			(unsigned long long)(r->backlog_moved_bytes >> 10),
			100.0 * r->backlog_moved_bytes / r->written);
}

/**
 * cleaner_json() - the cleaner's rows for --json
 * @f: the file, inside its array
 * @r: from cleaner_run()
 * @first: no row written yet; cleared
 */
void cleaner_json(FILE *f, const struct cleaner_result *r, bool *first)
{
	if (!r->ran)
		return;
	fprintf(f, "%s\n  {\"mechanism\": \"devmq-async-alone\", \"msg_bytes\": %u, \"producers\": 1, \"consumers\": 1, \"msgs_per_sec\": %.1f, \"bytes_through\": %llu, \"store_bytes\": %llu}",
		*first ? "" : ",", r->msg_bytes, r->rate_alone,
		(unsigned long long)r->written,
		(unsigned long long)r->store_bytes);
	fprintf(f, ",\n  {\"mechanism\": \"devmq-async-beside-unread\", \"msg_bytes\": %u, \"producers\": 1, \"consumers\": 1, \"msgs_per_sec\": %.1f, \"bytes_through\": %llu, \"store_bytes\": %llu, \"moved_records\": %llu, \"moved_bytes\": %llu}",
		r->msg_bytes, r->rate_stuck, (unsigned long long)r->written,
		(unsigned long long)r->store_bytes,
		(unsigned long long)r->moved_records,
		(unsigned long long)r->moved_bytes);
	if (r->rate_backlog > 0)
		fprintf(f, ",\n  {\"mechanism\": \"devmq-async-beside-backlog\", \"msg_bytes\": %u, \"producers\": 1, \"consumers\": 1, \"msgs_per_sec\": %.1f, \"bytes_through\": %llu, \"store_bytes\": %llu, \"backlog_bytes\": %llu, \"moved_records\": %llu, \"moved_bytes\": %llu}",
			r->msg_bytes, r->rate_backlog, (unsigned long long)r->written,
			(unsigned long long)r->store_bytes,
			(unsigned long long)r->backlog_bytes,
			(unsigned long long)r->backlog_moved_records,
			(unsigned long long)r->backlog_moved_bytes);
	*first = false;
}
