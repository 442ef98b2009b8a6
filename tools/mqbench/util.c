// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: helpers shared by the engine and the mechanisms.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mqbench.h"

const char *progname = "mqbench";

/*
 * Progress goes to stderr one line per cell, and error messages from the
 * parent or any child may come in the middle of it. The first message ends
 * the open line; a flag in shared memory makes that true across processes.
 */
static uint32_t *line_broken;
static bool line_open;

void progress_init(void)
{
	void *p = mmap(NULL, sizeof(*line_broken), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p != MAP_FAILED)
		line_broken = p;
}

/* Print on the progress line; prefix starts it again if it was broken. */
void progress(const char *prefix, const char *fmt, ...)
{
	va_list ap;

	if (!line_open || (line_broken && __atomic_load_n(line_broken,
							  __ATOMIC_ACQUIRE))) {
		fputs(prefix, stderr);
		if (line_broken)
			__atomic_store_n(line_broken, 0, __ATOMIC_RELEASE);
	}
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	line_open = !strchr(fmt, '\n');
	fflush(stderr);
}

void errmsg(const char *fmt, ...)
{
	va_list ap;

	if (line_open && (!line_broken ||
			  !__atomic_exchange_n(line_broken, 1, __ATOMIC_ACQ_REL)))
		fputc('\n', stderr);
	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define MAX_NOTES 64
static char *notes[MAX_NOTES];
static int nnotes;

/* Remember a footnote for the table; identical notes are kept once. */
void note(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int i;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return;
	for (i = 0; i < nnotes; i++) {
		if (!strcmp(notes[i], s)) {
			free(s);
			return;
		}
	}
	if (nnotes < MAX_NOTES)
		notes[nnotes++] = s;
	else
		free(s);
}

/* Print the notes ordered by rank(), in the order they came within a rank. */
void notes_print(FILE *out, int (*rank)(const char *note))
{
	int i, r, lo = 0, hi = 0, next;

	for (i = 0; i < nnotes; i++) {
		r = rank(notes[i]);
		lo = !i || r < lo ? r : lo;
		hi = !i || r > hi ? r : hi;
	}
	for (r = lo; nnotes && r <= hi; r = next) {
		next = hi + 1;
		for (i = 0; i < nnotes; i++) {
			int k = rank(notes[i]);

			if (k == r)
				fprintf(out, "  %s\n", notes[i]);
			else if (k > r && k < next)
				next = k;
		}
	}
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Find name like execvp() would, so we can say clearly when it is missing. */
int find_in_path(const char *name, char *out, size_t len)
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

/* Strip trailing newlines. */
void chomp(char *s)
{
	size_t len = strlen(s);

	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		s[--len] = '\0';
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	return remove(path) ? -errno : 0;
}

/* rm -rf path; 0 or a negative errno. */
int remove_tree(const char *path)
{
	int ret = nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);

	if (ret < 0 && errno == ENOENT)
		return 0;
	return ret ? (ret < 0 ? -errno : ret) : 0;
}

/*
 * Run argv[0] (searched in PATH unless it contains a slash) and wait for it,
 * at most timeout seconds (0: no limit; then it is killed, -ETIMEDOUT).
 * Its stdout and stderr are collected in out (NUL-terminated, cut to len),
 * so they never land in the middle of a progress line. Returns its exit
 * status, or a negative errno if it could not be run (the error is printed).
 */
int run_command(char *const argv[], char *out, size_t len, double timeout)
{
	int status, err = 0, epfd[2], opfd[2], wait_ms;
	uint64_t deadline = 0, now;
	struct pollfd pfd;
	bool killed = false;
	size_t used = 0;
	sigset_t all;
	char junk[256];
	ssize_t n;
	pid_t pid;

	if (len)
		out[0] = '\0';
	if (timeout > 0)
		deadline = now_ns() + (uint64_t)(timeout * 1e9);
	if (pipe2(epfd, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(opfd, O_CLOEXEC) < 0) {
		err = -errno;
		goto close_epfd;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		goto close_opfd;
	}
	if (!pid) {
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		dup2(opfd[1], STDOUT_FILENO);
		dup2(opfd[1], STDERR_FILENO);
		execvp(argv[0], argv);
		err = errno;
		if (write(epfd[1], &err, sizeof(err)) < 0)
			_exit(127);
		_exit(127);
	}
	close(epfd[1]);
	epfd[1] = -1;
	close(opfd[1]);
	opfd[1] = -1;
	pfd.fd = opfd[0];
	pfd.events = POLLIN;
	for (;;) {
		if (deadline && !killed) {
			now = now_ns();
			if (now >= deadline) {
				kill(pid, SIGKILL);
				killed = true;
				continue;
			}
			wait_ms = (int)((deadline - now) / 1000000) + 1;
			if (poll(&pfd, 1, wait_ms) == 0)
				continue;
		}
		if (used + 1 < len)
			n = read(opfd[0], out + used, len - 1 - used);
		else
			n = read(opfd[0], junk, sizeof(junk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (used + 1 < len)
			used += n;
	}
	if (len)
		out[used] = '\0';
	do {
		n = read(epfd[0], &err, sizeof(err));
	} while (n < 0 && errno == EINTR);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			err = -errno;
			goto close_opfd;
		}
	}
	if (n == sizeof(err)) {
		errmsg("cannot run %s: %s", argv[0], strerror(err));
		err = -err;
	} else if (killed) {
		errmsg("%s did not finish within %.0f s, killed", argv[0],
		       timeout);
		err = -ETIMEDOUT;
	} else if (WIFSIGNALED(status)) {
		errmsg("%s killed by signal %d", argv[0], WTERMSIG(status));
		err = -EINTR;
	} else {
		err = WEXITSTATUS(status);
	}
close_opfd:
	close(opfd[0]);
	if (opfd[1] >= 0)
		close(opfd[1]);
close_epfd:
	close(epfd[0]);
	if (epfd[1] >= 0)
		close(epfd[1]);
	return err;
}

int sysctl_read_ulong(const char *path, unsigned long *val)
{
	FILE *f = fopen(path, "r");
	int ret = 0;

	if (!f)
		return -errno;
	if (fscanf(f, "%lu", val) != 1)
		ret = -EINVAL;
	fclose(f);
	return ret;
}

int sysctl_write_ulong(const char *path, unsigned long val)
{
	char buf[32];
	int fd, len;
	ssize_t n;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%lu\n", val);
	n = write(fd, buf, len);
	if (n < 0)
		n = -errno;
	close(fd);
	return n == len ? 0 : (n < 0 ? (int)n : -EIO);
}

/*
 * Raise the sysctl at path to at least want. On success *saved holds the old
 * value and *changed tells whether it must be written back.
 */
int sysctl_raise(const char *path, unsigned long want, unsigned long *saved,
		 bool *changed)
{
	int ret;

	*changed = false;
	ret = sysctl_read_ulong(path, saved);
	if (ret)
		return ret;
	if (*saved >= want)
		return 0;
	ret = sysctl_write_ulong(path, want);
	if (ret)
		return ret;
	*changed = true;
	return 0;
}

ssize_t write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = write(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += n;
	}
	return done;
}

/* Read exactly len bytes; 0 at end of file before the first byte. */
ssize_t read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, p + done, len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!n)
			return done ? -EPIPE : 0;
		done += n;
	}
	return done;
}

/*
 * Measure how many messages of msg_bytes fit in a pipe or socket before a
 * writer would block: fill it without blocking, then drain it. In stream
 * mode, partial writes count by bytes. Returns the depth in messages.
 */
int probe_depth(int wfd, int rfd, size_t msg_bytes, bool stream,
		unsigned int limit)
{
	int wfl, rfl, ret = 0;
	size_t bytes = 0;
	unsigned int msgs = 0;
	char *buf;
	ssize_t n;

	buf = calloc(1, msg_bytes);
	if (!buf)
		return -ENOMEM;
	wfl = fcntl(wfd, F_GETFL);
	rfl = fcntl(rfd, F_GETFL);
	if (wfl < 0 || rfl < 0 ||
	    fcntl(wfd, F_SETFL, wfl | O_NONBLOCK) < 0 ||
	    fcntl(rfd, F_SETFL, rfl | O_NONBLOCK) < 0) {
		ret = -errno;
		goto out;
	}
	while (msgs < limit) {
		n = write(wfd, buf, msg_bytes);
		if (n < 0) {
			if (errno == EAGAIN)
				break;
			ret = -errno;
			break;
		}
		bytes += n;
		msgs++;
		if ((size_t)n < msg_bytes)
			break;
	}
	for (;;) {
		n = read(rfd, buf, msg_bytes);
		if (n < 0) {
			if (errno != EAGAIN && !ret)
				ret = -errno;
			break;
		}
		if (!n)
			break;
	}
	if (!ret)
		ret = stream ? (int)(bytes / msg_bytes) : (int)msgs;
out:
	if (wfl >= 0)
		fcntl(wfd, F_SETFL, wfl);
	if (rfl >= 0)
		fcntl(rfd, F_SETFL, rfl);
	free(buf);
	return ret;
}
