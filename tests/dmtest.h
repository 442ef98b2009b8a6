/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers of tests/dmtest.c (one translation unit, like mqtest.h): TAP
 * lines, running programs, device-mapper devices without udev, O_DIRECT
 * I/O on the scratch disk, store and queue requests, and messages whose
 * every byte can be checked.
 */
#ifndef DMTEST_H
#define DMTEST_H

#include <dirent.h>
#include <stdarg.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/dm-ioctl.h>

#include "mqtest.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MIB		(1ULL << 20)
#define MSG_MAX		(128U << 10)	/* max-msg of every queue */
#define CAP_BYTES	(64ULL << 20)

static int passed, failed;

static void vline(const char *prefix, const char *fmt, va_list ap)
{
	fputs(prefix, stdout);
	vprintf(fmt, ap);
	putchar('\n');
}

static bool check(bool good, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(good ? "ok - " : "not ok - ", fmt, ap);
	va_end(ap);
	if (good)
		passed++;
	else
		failed++;
	return good;
}

static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("# ", fmt, ap);
	va_end(ap);
}

/* ---- commands and device-mapper ---- */

/* Run a program, its output on our stderr (or nowhere); its exit status. */
static int run(bool quiet, const char *const *argv)
{
	int status, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		fd = quiet ? open("/dev/null", O_WRONLY) : 2;
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Run a shell command; its output, each line also as a comment. */
static int capture(const char *cmd, char *out, size_t size)
{
	FILE *p = popen(cmd, "r");
	size_t used = 0;
	char line[256];

	out[0] = 0;
	if (!p)
		return -1;
	while (fgets(line, sizeof(line), p)) {
		note("%s: %.*s", cmd, (int)strcspn(line, "\n"), line);
		used += snprintf(out + used, size - used, "%s", line);
		if (used >= size)
			used = size - 1;
	}
	return pclose(p);
}

struct dm_dev {
	const char *name;
	char path[64];		/* /dev/mapper/NAME */
	char devno[24];		/* MAJ:MIN, for the tables of others */
	bool live;
};

static int dmsetup(bool quiet, const char *verb, const struct dm_dev *d,
		   const char *table)
{
	const char *argv[] = { "dmsetup", "--noudevsync", verb, d->name,
			       table ? "--table" : NULL, table, NULL };

	return run(quiet, argv);
}

static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	bool got;

	if (!f)
		return -errno;
	got = fgets(buf, size, f);
	fclose(f);
	buf[got ? strcspn(buf, "\n") : 0] = 0;
	return got ? 0 : -EIO;
}

/* Find @d's device number in sysfs; make /dev/mapper/NAME (no udev here). */
static int dm_node(struct dm_dev *d)
{
	unsigned int maj = 0, min = 0;
	char path[300], buf[64];
	DIR *dir = opendir("/sys/block");
	bool found = false;
	struct dirent *de;
	struct stat st;

	while (dir && !found && (de = readdir(dir))) {
		if (strncmp(de->d_name, "dm-", 3))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dm/name", de->d_name);
		if (read_line(path, buf, sizeof(buf)) || strcmp(buf, d->name))
			continue;
		snprintf(path, sizeof(path), "/sys/block/%s/dev", de->d_name);
		found = !read_line(path, buf, sizeof(buf)) &&
			sscanf(buf, "%u:%u", &maj, &min) == 2;
	}
	if (dir)
		closedir(dir);
	if (!found)
		return -ENOENT;
	snprintf(d->devno, sizeof(d->devno), "%u:%u", maj, min);
	snprintf(d->path, sizeof(d->path), "/dev/mapper/%s", d->name);
	if (!stat(d->path, &st) && S_ISBLK(st.st_mode) &&
	    st.st_rdev == makedev(maj, min))
		return 0;
	unlink(d->path);
	mkdir("/dev/mapper", 0755);
	return mknod(d->path, S_IFBLK | 0600, makedev(maj, min)) ? -errno : 0;
}

static bool dm_create(struct dm_dev *d, const char *fmt, ...)
{
	char table[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(table, sizeof(table), fmt, ap);
	va_end(ap);
	if (dmsetup(false, "create", d, table)) {
		note("dmsetup create %s '%s' failed", d->name, table);
		return false;
	}
	d->live = true;
	return !dm_node(d);
}

/* Replace @d's table under its users. */
static bool dm_swap(struct dm_dev *d, const char *table)
{
	bool loaded;

	if (dmsetup(false, "suspend", d, NULL))
		return false;
	loaded = !dmsetup(false, "load", d, table);
	/* Even with the old table: a suspended device holds every I/O. */
	return !dmsetup(false, "resume", d, NULL) && loaded;
}

/* Remove @d (quiet: it may not exist, left from a run cut short). */
static void dm_remove(struct dm_dev *d, bool quiet)
{
	const char *argv[] = { "dmsetup", "--noudevsync", "--retry", "remove",
			       d->name, NULL };

	if (!run(quiet, argv) || !d->live) {
		d->live = false;
		snprintf(d->path, sizeof(d->path), "/dev/mapper/%s", d->name);
		unlink(d->path);
	} else {
		check(false, "cleanup: dmsetup remove %s", d->name);
	}
}

/*
 * A log-writes mark, through the DM_TARGET_MSG ioctl: what `dmsetup
 * message NAME 0 mark TEXT` sends, without a process per mark.
 */
static int dm_mark(const struct dm_dev *d, const char *fmt, ...)
{
	static int ctl = -1;
	union {
		struct dm_ioctl io;
		char raw[sizeof(struct dm_ioctl) + sizeof(struct dm_target_msg) + 64];
	} u;
	struct dm_target_msg *tm = (void *)(u.raw + sizeof(u.io));
	va_list ap;

	if (ctl < 0)
		ctl = open("/dev/mapper/control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	memset(&u, 0, sizeof(u));
	u.io.version[0] = DM_VERSION_MAJOR;
	u.io.data_size = sizeof(u);
	u.io.data_start = sizeof(u.io);
	snprintf(u.io.name, sizeof(u.io.name), "%s", d->name);
	strcpy(tm->message, "mark ");
	va_start(ap, fmt);
	vsnprintf(tm->message + 5, 64 - 5, fmt, ap);
	va_end(ap);
	return ioctl(ctl, DM_TARGET_MSG, &u) ? -errno : 0;
}

/* ---- the disk, netlink, queues and messages ---- */

static int disk_fd = -1;	/* DEV, O_DIRECT */

static int disk_io(bool wr, uint64_t off, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = wr ? pwrite(disk_fd, (char *)buf + done, len - done, off + done) :
			 pread(disk_fd, (char *)buf + done, len - done, off + done);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	return 0;
}

static void *zalloc_aligned(size_t len)
{
	void *p;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	return memset(p, 0, len);
}

static struct mqt_nl nl;
static char last_extack[256];	/* of the last failed request */

/* MQ_SSTAT_* of a store description into @st (indexed by MQ_SSTAT_*). */
static int store_numbers(struct nlattr *info, uint64_t *st)
{
	struct nlattr *tb[MQ_SSTAT_MAX + 1];
	int i;

	memset(st, 0, (MQ_SSTAT_MAX + 1) * sizeof(*st));
	if (!info || nla_parse_nested(tb, MQ_SSTAT_MAX, info, NULL))
		return -EPROTO;
	for (i = 0; i <= MQ_SSTAT_MAX; i++)
		if (tb[i])
			st[i] = nla_len(tb[i]) == 8 ? nla_get_u64(tb[i]) :
						      nla_get_u32(tb[i]);
	return 0;
}

/*
 * Send @msg. Success: @st (if any) gets the reply's MQ_SSTAT_* numbers;
 * failure: last_extack the kernel's reason.
 */
static int request(struct nl_msg *msg, uint64_t *st)
{
	struct mqt_reply r;
	int err = mqt_nl_send(&nl, msg, &r);

	if (err)
		snprintf(last_extack, sizeof(last_extack), "%s", r.extack);
	else if (st)
		err = store_numbers(r.tb[MQ_A_STORE_INFO], st);
	mqt_reply_free(&r);
	return err;
}

static int store_req(uint8_t cmd, const char *path, uint32_t seg_size,
		     uint64_t *st)
{
	struct nl_msg *msg = mqt_msg(&nl, cmd, 0);

	if (path)
		nla_put_string(msg, MQ_A_STORE_PATH, path);
	if (seg_size)
		nla_put_u32(msg, MQ_A_STORE_SEGMENT_SIZE, seg_size);
	return request(msg, st);
}

struct qdef {
	const char *name;
	char tag;		/* in every message, so queues never mix */
	uint32_t durability;
};

/* " (error: extack)" for a failed request, "" for none. */
static const char *why(int err)
{
	static char buf[300];

	if (!err)
		return "";
	snprintf(buf, sizeof(buf), " (%s%s%s)", strerror(-err),
		 last_extack[0] ? ": " : "", last_extack);
	last_extack[0] = 0;
	return buf;
}

static int queue_new(const struct qdef *q, uint32_t cap_msgs)
{
	struct nl_msg *msg = mqt_msg(&nl, MQ_CMD_QUEUE_NEW, 0);

	nla_put_string(msg, MQ_A_QUEUE_NAME, q->name);
	nla_put_u32(msg, MQ_A_QUEUE_DURABILITY, q->durability);
	nla_put_u32(msg, MQ_A_QUEUE_MAX_MSG, MSG_MAX);
	nla_put_u32(msg, MQ_A_QUEUE_CAP_MSGS, cap_msgs);
	nla_put_u64(msg, MQ_A_QUEUE_CAP_BYTES, CAP_BYTES);
	return request(msg, NULL);
}

/* Sizes cycle through these: some cross blocks, one a tenth of a segment. */
static const uint32_t msg_lens[] = {
	8, 100, 4000, 4097, 5000, 9000, 24000, 60000, 300, 120000,
};

static uint32_t msg_len(char tag, uint32_t seq)
{
	return msg_lens[(seq * 3 + (unsigned char)tag) % ARRAY_SIZE(msg_lens)];
}

/* Message @seq of queue @tag: seq (4 bytes), tag, then its own noise. */
static uint32_t msg_make(unsigned char *buf, char tag, uint32_t seq)
{
	uint32_t len = msg_len(tag, seq), i;
	uint32_t x = (seq * 2654435761u + (unsigned char)tag) | 1;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = x >> 24;
	}
	memcpy(buf, &seq, 4);
	buf[4] = tag;
	return len;
}

static bool msg_intact(const unsigned char *buf, uint32_t len, char tag,
		       uint32_t seq)
{
	static unsigned char want[MSG_MAX];

	return len == msg_len(tag, seq) && len == msg_make(want, tag, seq) &&
	       !memcmp(buf, want, len);
}

static int msg_write(int fd, char tag, uint32_t seq)
{
	static unsigned char buf[MSG_MAX];
	uint32_t len = msg_make(buf, tag, seq);

	return write(fd, buf, len) == (ssize_t)len ? 0 : -errno;
}

struct got {
	uint64_t offset;
	uint32_t seq;		/* from the message; UINT32_MAX: none */
	uint32_t flags;		/* MQ_MSG_* */
	bool intact;
};

/* Take the oldest message with MQ_IOC_RECV; false at the end (errno). */
static bool recv_one(int fd, char tag, struct got *g)
{
	static unsigned char buf[MSG_MAX];
	struct mq_recv rv = { .size = sizeof(rv), .buf = (uintptr_t)buf,
			      .buf_len = sizeof(buf) };

	if (ioctl(fd, MQ_IOC_RECV, &rv))
		return false;
	g->offset = rv.offset;
	g->flags = rv.msg_flags;
	g->seq = UINT32_MAX;
	if (rv.len >= 5 && buf[4] == tag)
		memcpy(&g->seq, buf, 4);
	g->intact = g->seq != UINT32_MAX && msg_intact(buf, rv.len, tag, g->seq);
	return true;
}

/* Read queue @q empty; how many messages (into @got), or -errno. */
static int drain(const struct qdef *q, struct got *got, int max)
{
	int fd = mqt_open(q->name, O_RDONLY | O_NONBLOCK), n = 0, err;

	if (fd < 0)
		return -errno;
	while (n < max && recv_one(fd, q->tag, &got[n]))
		n++;
	err = n == max ? -E2BIG : errno == EAGAIN ? 0 : -errno;
	close(fd);
	return err ? err : n;
}

#endif /* DMTEST_H */
