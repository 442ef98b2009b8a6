// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: /dev/mq/NAME, one write() per message, one read() per message.
 * Each cell gets its own queue, created and deleted with mqctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/mq.h>

#include "mqbench.h"

#define DEVMQ_DIR	"/dev/mq"
#define NODE_WAIT_MS	5000

static char mqctl_path[PATH_MAX];
static bool verbose;

/* Find name like execvp() would, so we can say clearly when it is missing. */
static int find_in_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	const char *p, *end;

	if (strchr(name, '/')) {
		if (access(name, X_OK))
			return -errno;
		snprintf(out, len, "%s", name);
		return 0;
	}
	if (!path || !*path)
		path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (p = path; ; p = end + 1) {
		end = strchrnul(p, ':');
		if (end == p)
			snprintf(out, len, "./%s", name);
		else
			snprintf(out, len, "%.*s/%s", (int)(end - p), p, name);
		if (!access(out, X_OK))
			return 0;
		if (!*end)
			break;
	}
	return -ENOENT;
}

static int devmq_prepare(const struct bench_opts *opts)
{
	struct stat st;
	int ret;

	verbose = opts->verbose;
	if (stat("/sys/module/mq", &st) && stat(DEVMQ_DIR, &st)) {
		errmsg("devmq: the mq module is not loaded (no /sys/module/mq, no %s): load mq.ko first, or leave devmq out with --only",
		       DEVMQ_DIR);
		return -ENOENT;
	}
	ret = find_in_path(opts->mqctl, mqctl_path, sizeof(mqctl_path));
	if (ret) {
		errmsg("devmq: %s not found%s (%s): put mqctl on PATH or give --mqctl PATH",
		       opts->mqctl, strchr(opts->mqctl, '/') ? "" : " on PATH",
		       strerror(-ret));
		return ret;
	}
	return 0;
}

static void node_path(const struct mech_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, DEVMQ_DIR "/%s", ctx->name);
}

static int mqctl(const char *verb, const struct mech_ctx *ctx)
{
	char msgs[32], bytes[32], size[32];
	char *argv[12], out[1024], cmd[512];
	size_t len, used;
	int i = 0, ret;

	snprintf(msgs, sizeof(msgs), "%u", ctx->cell.depth);
	snprintf(bytes, sizeof(bytes), "%llu",
		 (unsigned long long)ctx->cell.depth * ctx->cell.msg_bytes);
	snprintf(size, sizeof(size), "%zu", ctx->cell.msg_bytes);
	argv[i++] = mqctl_path;
	argv[i++] = "queue";
	argv[i++] = (char *)verb;
	argv[i++] = (char *)ctx->name;
	if (!strcmp(verb, "add")) {
		argv[i++] = "capacity-msgs";
		argv[i++] = msgs;
		argv[i++] = "capacity-bytes";
		argv[i++] = bytes;
		argv[i++] = "max-msg";
		argv[i++] = size;
	}
	argv[i] = NULL;
	for (i = 0, used = 0; argv[i] && used < sizeof(cmd); i++)
		used += snprintf(cmd + used, sizeof(cmd) - used, "%s%s",
				 i ? " " : "", argv[i]);
	ret = run_command(argv, out, sizeof(out));
	len = strlen(out);
	while (len && out[len - 1] == '\n')
		out[--len] = '\0';
	if (ret > 0) {
		errmsg("devmq: '%s' failed with exit status %d%s%s", cmd, ret,
		       len ? ": " : "", out);
		return -EIO;
	}
	if (verbose && !ret)
		errmsg("devmq: ran '%s'%s%s", cmd, len ? ": " : "", out);
	return ret;
}

static int devmq_setup(struct mech_ctx *ctx)
{
	struct mq_info info = { .size = sizeof(info) };
	char path[PATH_MAX];
	struct timespec ms = { 0, 1000000 };
	int fd, i, ret;

	snprintf(ctx->name, sizeof(ctx->name), "mqbench-%d-%u", (int)getpid(),
		 ctx->seq);
	ret = mqctl("add", ctx);
	if (ret)
		return ret;
	node_path(ctx, path, sizeof(path));
	/* The node is made by devtmpfs (or udev): give it a moment. */
	for (i = 0; (fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0;
	     i++) {
		if (errno != ENOENT || i >= NODE_WAIT_MS) {
			ret = -errno;
			errmsg("devmq: mqctl created queue %s but %s %s: %s",
			       ctx->name, path,
			       errno == ENOENT ? "did not appear (is devtmpfs mounted on /dev?)" :
			       "cannot be opened", strerror(errno));
			mqctl("del", ctx);
			return ret;
		}
		nanosleep(&ms, NULL);
	}
	if (ioctl(fd, MQ_IOC_INFO, &info) < 0) {
		errmsg("devmq: warning: MQ_IOC_INFO on %s: %s", path,
		       strerror(errno));
	} else if (info.cap_msgs != ctx->cell.depth ||
		   info.max_msg != ctx->cell.msg_bytes ||
		   info.cap_bytes != (__u64)ctx->cell.depth * ctx->cell.msg_bytes) {
		errmsg("devmq: queue %s has capacity-msgs %u capacity-bytes %llu max-msg %u, asked for %u, %llu, %zu",
		       ctx->name, info.cap_msgs,
		       (unsigned long long)info.cap_bytes, info.max_msg,
		       ctx->cell.depth,
		       (unsigned long long)ctx->cell.depth * ctx->cell.msg_bytes,
		       ctx->cell.msg_bytes);
		close(fd);
		mqctl("del", ctx);
		return -EINVAL;
	}
	close(fd);
	note("devmq: a queue per cell, 'mqctl queue add NAME capacity-msgs %u capacity-bytes %u*SIZE max-msg SIZE'; producers open it O_WRONLY, consumers O_RDONLY",
	     ctx->cell.depth, ctx->cell.depth);
	return 0;
}

static int devmq_open(const struct mech_ctx *ctx, struct endpoint *ep,
		      int flags)
{
	char path[PATH_MAX];

	node_path(ctx, path, sizeof(path));
	ep->fd = open(path, flags | O_CLOEXEC);
	return ep->fd < 0 ? -errno : 0;
}

static int devmq_open_producer(const struct mech_ctx *ctx, int id,
			       struct endpoint *ep)
{
	return devmq_open(ctx, ep, O_WRONLY);
}

static int devmq_open_consumer(const struct mech_ctx *ctx, int id,
			       struct endpoint *ep)
{
	return devmq_open(ctx, ep, O_RDONLY);
}

static int devmq_send(struct endpoint *ep, const void *buf, size_t len)
{
	ssize_t n;

	do {
		n = write(ep->fd, buf, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static ssize_t devmq_recv(struct endpoint *ep, void *buf, size_t cap)
{
	ssize_t n;

	do {
		n = read(ep->fd, buf, cap);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static void devmq_close(struct endpoint *ep)
{
	close(ep->fd);
}

static void devmq_teardown(struct mech_ctx *ctx)
{
	mqctl("del", ctx);
}

const struct mech_ops mech_devmq = {
	.name = "devmq",
	.fifo = true,
	.prepare = devmq_prepare,
	.setup = devmq_setup,
	.open_producer = devmq_open_producer,
	.open_consumer = devmq_open_consumer,
	.send = devmq_send,
	.recv = devmq_recv,
	.close = devmq_close,
	.teardown = devmq_teardown,
};
