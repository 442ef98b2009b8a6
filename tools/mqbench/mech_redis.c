// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: redis-aof, a redis-server with "appendonly yes" and "appendfsync
 * always" (each write reaches the append-only file and is fdatasync()ed
 * before its reply; writes that arrive together share one fdatasync()),
 * its dir in --redis-dir, which should be a filesystem on the same disk as
 * the store. It is driven by redis-benchmark: the row's P producers are P
 * clients, each sending LPUSH of a SIZE-byte value and waiting for the
 * reply (no pipelining). Nothing consumes the list.
 *
 * Each cell starts a fresh server in DIR/mqbench-redis-PID-SEQ, listening
 * on a unix socket only, and checks its persistence settings. A run is
 *   redis-benchmark -s SOCK -c P -n P*N -d SIZE -t lpush --csv
 * and its requests/s (redis-benchmark's own clock, first request to last
 * reply) is the rate. The list must then hold exactly P*N more entries
 * (messages are not checked one by one: redis-benchmark sends the same
 * value each time); it is deleted after each run.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "mqbench.h"

#define START_TIMEOUT_S	60
#define STOP_TIMEOUT_S	20
#define CLI_TIMEOUT_S	60.0
#define EXT4_MAGIC	0xef53
#define LIST_KEY	"mylist"	/* redis-benchmark's LPUSH key */

static const char *reason;
static char reason_buf[512];
static char server[PATH_MAX], bench[PATH_MAX], cli[PATH_MAX];
static bool verbose;

/* "ext4 on vda3", or what is known of the filesystem under path. */
static void describe_fs(const char *path, char *buf, size_t len)
{
	char uevent[64], line[128], dev[128] = "";
	struct statfs sfs;
	struct stat st;
	FILE *f;

	if (stat(path, &st) || statfs(path, &sfs)) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(uevent, sizeof(uevent), "/sys/dev/block/%u:%u/uevent",
		 major(st.st_dev), minor(st.st_dev));
	f = fopen(uevent, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "DEVNAME=", 8))
			snprintf(dev, sizeof(dev), "%s", line + 8);
	if (f)
		fclose(f);
	chomp(dev);
	snprintf(buf, len, "%s on %s",
		 sfs.f_type == EXT4_MAGIC ? "ext4" : "not ext4",
		 *dev ? dev : "no block device");
}

static int redis_prepare(const struct bench_opts *opts)
{
	char *argv[] = { server, "--version", NULL };
	char out[256], fs[128], *p;
	struct stat st;

	verbose = opts->verbose;
	if (!opts->redis_dir) {
		reason = "redis-aof: no --redis-dir DIR given";
		return 0;
	}
	if (stat(opts->redis_dir, &st) || !S_ISDIR(st.st_mode)) {
		snprintf(reason_buf, sizeof(reason_buf),
			 "redis-aof: --redis-dir %s is not a directory",
			 opts->redis_dir);
		reason = reason_buf;
		return 0;
	}
	if (find_in_path("redis-server", server, sizeof(server)) ||
	    find_in_path("redis-benchmark", bench, sizeof(bench)) ||
	    find_in_path("redis-cli", cli, sizeof(cli))) {
		reason = "redis-aof: redis-server, redis-benchmark or redis-cli not on PATH (Debian: redis-server, redis-tools)";
		return 0;
	}
	if (run_command(argv, out, sizeof(out), CLI_TIMEOUT_S)) {
		reason = "redis-aof: redis-server --version failed";
		return 0;
	}
	chomp(out);
	p = strstr(out, " sha=");
	if (p)
		*p = '\0';
	describe_fs(opts->redis_dir, fs, sizeof(fs));
	note("redis-aof: %s, appendonly yes, appendfsync always, no RDB saves, no AOF rewrites, unix socket; dir in %s (%s); redis-benchmark -c P -d SIZE -t lpush, no pipelining, no consumer; the list's length is checked after each run",
	     out, opts->redis_dir, fs);
	return 0;
}

static const char *redis_unsupported(const struct cell *cell)
{
	return reason;
}

static void sock_path(const struct mech_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/%s.sock", ctx->name);
}

static void dir_path(const struct mech_ctx *ctx, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ctx->opts->redis_dir, ctx->name);
}

/* redis-cli -s SOCK ARGS...: its output in out; 0 or -1 (printed). */
static int redis_cli(const struct mech_ctx *ctx, char *out, size_t len, ...)
{
	char sock[PATH_MAX], *argv[12];
	va_list ap;
	int i = 0, ret;

	sock_path(ctx, sock, sizeof(sock));
	argv[i++] = cli;
	argv[i++] = "-s";
	argv[i++] = sock;
	va_start(ap, len);
	while (i < 11 && (argv[i] = va_arg(ap, char *)))
		i++;
	va_end(ap);
	argv[i] = NULL;
	ret = run_command(argv, out, len, CLI_TIMEOUT_S);
	chomp(out);
	if (ret) {
		errmsg("redis-aof: redis-cli %s failed: %s", argv[3], out);
		return -1;
	}
	return 0;
}

static int list_len(const struct mech_ctx *ctx, long long *n)
{
	char out[256], *end;

	if (redis_cli(ctx, out, sizeof(out), "LLEN", LIST_KEY, NULL))
		return -1;
	*n = strtoll(out, &end, 10);
	if (end == out || *end) {
		errmsg("redis-aof: LLEN answered '%s'", out);
		return -1;
	}
	return 0;
}

static bool listening(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	bool ok;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ok = !connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return ok;
}

static void stop_server(struct mech_ctx *ctx)
{
	pid_t pid = (pid_t)ctx->handle;
	struct timespec ms = { 0, 50 * 1000000 };
	int status, i;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (i = 0; i < STOP_TIMEOUT_S * 20; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid || (r < 0 && errno == ECHILD))
			break;
		nanosleep(&ms, NULL);
	}
	if (i == STOP_TIMEOUT_S * 20) {
		errmsg("redis-aof: redis-server did not stop, killing it");
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	ctx->handle = 0;
}

/* The end of the server's log, when it failed to start. */
static void print_log_tail(const char *log)
{
	char buf[1024];
	ssize_t n;
	off_t size;
	int fd;

	fd = open(log, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	size = lseek(fd, 0, SEEK_END);
	n = pread(fd, buf, sizeof(buf) - 1, size > (off_t)sizeof(buf) - 1 ?
		  size - (off_t)sizeof(buf) + 1 : 0);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	chomp(buf);
	errmsg("redis-aof: %s ends with:\n%s", log, buf);
}

/* Start the server, wait until it listens, check its settings. */
static int redis_setup(struct mech_ctx *ctx)
{
	char dir[PATH_MAX], sock[PATH_MAX], log[PATH_MAX + 16], out[256];
	char *argv[] = {
		server, "--port", "0", "--unixsocket", sock,
		"--unixsocketperm", "700", "--dir", dir,
		"--appendonly", "yes", "--appendfsync", "always",
		"--save", "", "--auto-aof-rewrite-percentage", "0",
		"--daemonize", "no", "--logfile", "", NULL,
	};
	static const char *const want[][2] = {
		{ "appendonly", "yes" }, { "appendfsync", "always" },
	};
	struct timespec ms = { 0, 50 * 1000000 };
	unsigned int i;
	sigset_t none;
	pid_t pid;
	int fd, status;

	snprintf(ctx->name, sizeof(ctx->name), "mqbench-redis-%d-%u",
		 (int)getpid(), ctx->seq);
	dir_path(ctx, dir, sizeof(dir));
	sock_path(ctx, sock, sizeof(sock));
	snprintf(log, sizeof(log), "%s/redis.log", dir);
	if (mkdir(dir, 0700) < 0) {
		errmsg("redis-aof: mkdir %s: %s", dir, strerror(errno));
		return -errno;
	}
	unlink(sock);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		errmsg("redis-aof: fork: %s", strerror(errno));
		remove_tree(dir);
		return -errno;
	}
	if (!pid) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGCHLD, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0)
			dup2(fd, STDIN_FILENO);
		execv(server, argv);
		_exit(127);
	}
	ctx->handle = pid;
	for (i = 0; !listening(sock); i++) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			print_log_tail(log);
			errmsg("redis-aof: redis-server exited before it listened");
			ctx->handle = 0;
			remove_tree(dir);
			return -EIO;
		}
		if (i >= START_TIMEOUT_S * 20 || interrupted()) {
			errmsg("redis-aof: redis-server did not listen on %s within %d s",
			       sock, START_TIMEOUT_S);
			stop_server(ctx);
			return -ETIMEDOUT;
		}
		nanosleep(&ms, NULL);
	}
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		char expect[64];

		snprintf(expect, sizeof(expect), "%s\n%s", want[i][0],
			 want[i][1]);
		if (redis_cli(ctx, out, sizeof(out), "CONFIG", "GET",
			      want[i][0], NULL) ||
		    strcmp(out, expect)) {
			errmsg("redis-aof: the server's %s is not %s", want[i][0],
			       want[i][1]);
			stop_server(ctx);
			remove_tree(dir);
			return -EINVAL;
		}
	}
	if (verbose)
		errmsg("redis-aof: redis-server %d listens on %s, dir %s", pid,
		       sock, dir);
	return 0;
}

static void redis_teardown(struct mech_ctx *ctx)
{
	char dir[PATH_MAX], sock[PATH_MAX];
	int ret;

	stop_server(ctx);
	dir_path(ctx, dir, sizeof(dir));
	sock_path(ctx, sock, sizeof(sock));
	unlink(sock);
	ret = remove_tree(dir);
	if (ret)
		errmsg("redis-aof: cannot remove %s: %s", dir, strerror(-ret));
}

/* The rps field of redis-benchmark --csv's "LPUSH" line. */
static double parse_rps(const char *out)
{
	const char *p = strstr(out, "\"LPUSH\",\"");
	char *end;
	double v;

	if (!p)
		return 0;
	v = strtod(p + 9, &end);
	return end > p + 9 && *end == '"' && v > 0 ? v : 0;
}

static int redis_run(const struct mech_ctx *ctx, unsigned long per_producer,
		     struct run_result *res)
{
	unsigned long long total = (unsigned long long)per_producer *
				   ctx->cell.producers;
	char sock[PATH_MAX], clients[16], requests[32], size[32];
	char *argv[] = { bench, "-s", sock, "-c", clients, "-n", requests,
			 "-d", size, "-t", "lpush", "--csv", NULL };
	long long before, after;
	char out[4096], dummy[64];
	double rps;
	int ret;

	sock_path(ctx, sock, sizeof(sock));
	snprintf(clients, sizeof(clients), "%d", ctx->cell.producers);
	snprintf(requests, sizeof(requests), "%llu", total);
	snprintf(size, sizeof(size), "%zu", ctx->cell.msg_bytes);
	if (list_len(ctx, &before))
		return -1;
	ret = run_command(argv, out, sizeof(out), ctx->opts->timeout);
	if (ret) {
		chomp(out);
		if (ret > 0)
			errmsg("redis-aof: redis-benchmark exited with status %d: %s",
			       ret, out);
		return -1;
	}
	rps = parse_rps(out);
	if (!rps) {
		chomp(out);
		errmsg("redis-aof: no LPUSH rate in redis-benchmark's output: %s",
		       out);
		return -1;
	}
	if (list_len(ctx, &after))
		return -1;
	if (after - before != (long long)total) {
		errmsg("redis-aof: the list grew by %lld entries, %llu were pushed",
		       after - before, total);
		return -1;
	}
	if (redis_cli(ctx, dummy, sizeof(dummy), "DEL", LIST_KEY, NULL))
		return -1;
	res->messages = total;
	res->seconds = (double)total / rps;
	return 0;
}

const struct mech_ops mech_redis_aof = {
	.name = "redis-aof",
	.table = TABLE_DURABLE,
	.no_consumer = true,
	.prepare = redis_prepare,
	.unsupported = redis_unsupported,
	.setup = redis_setup,
	.teardown = redis_teardown,
	.run = redis_run,
};
