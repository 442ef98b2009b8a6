// SPDX-License-Identifier: GPL-2.0
/*
 * Reproducers for defects a kernel review found; each fails on the
 * module as it was and passes once the defect is fixed:
 *
 * - switch_to_durable_mid_copy: a write that copied its message as for a
 *   memory queue (payload partly inline) is appended after the queue
 *   moved into the store; eviction drops only its segments and a reader
 *   gets the inline part only.
 * - woken_writer_failure_passes_on: a durable queue's woken writer whose
 *   second copy fails (EFAULT) must pass its turn on to the next sleeping
 *   writer.
 * - open_checks_queue_access_not_node: open(2) must check the queue's
 *   access, not just the mode of whichever node names its minor (a copy
 *   made with mknod, or a stale node of a deleted queue).
 * - ring_memory_charged_to_memlock: ring memory counts against
 *   RLIMIT_MEMLOCK like io_uring's and AF_XDP's (CAP_IPC_LOCK exempt).
 * - record_near_segment_end_no_livelock: a large record that no longer
 *   fits in the log's segment must not spin forever in write(2).
 * - offsets_near_2_64_refused: a store image with offsets near 2^64 must
 *   be taken as damage, not make a read spin.
 *
 * The durable tests need the scratch block device, as store_test does:
 * $MQT_STORE_DEV, default /dev/vda. Everything on it is lost.
 *
 * Risky operations run in a forked child or a thread with every wait
 * bounded; what a test could not end (an unkillable spinning child) is
 * said in its failure message, and also written to /dev/kmsg, so that it
 * is in the console log even if a soft lockup then ends the VM.
 */
#include <endian.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/fs.h>
#include <linux/mq_store.h>
#include <linux/userfaultfd.h>

#include "mqtest.h"
#include "kselftest_harness.h"

#define NOBODY		65534
#define USER_UID	1000
#define USER_GID	1000

/* ---- small helpers (copied from store_test.c and friends) ---- */

static const char *store_dev(void)
{
	const char *d = getenv("MQT_STORE_DEV");

	return d ? d : "/dev/vda";
}

static int store_cmd(struct mqt_nl *nl, uint8_t cmd, const char *path,
		     uint32_t seg, struct mqt_reply *r)
{
	struct nl_msg *msg = mqt_msg(nl, cmd, 0);
	struct mqt_reply tmp;
	int err;

	if (path)
		nla_put_string(msg, MQ_A_STORE_PATH, path);
	if (seg)
		nla_put_u32(msg, MQ_A_STORE_SEGMENT_SIZE, seg);
	err = mqt_nl_send(nl, msg, r ? r : &tmp);
	if (!r)
		mqt_reply_free(&tmp);
	return err;
}

static int store_format(struct mqt_nl *nl, uint32_t seg)
{
	return store_cmd(nl, MQ_CMD_STORE_FORMAT, store_dev(), seg, NULL);
}

static int store_attach(struct mqt_nl *nl)
{
	return store_cmd(nl, MQ_CMD_STORE_ATTACH, store_dev(), 0, NULL);
}

static int store_detach(struct mqt_nl *nl)
{
	return store_cmd(nl, MQ_CMD_STORE_DETACH, NULL, 0, NULL);
}

static int add_durable(struct mqt_nl *nl, const char *name, uint32_t dur,
		       uint32_t max_msg, uint32_t cap_msgs, uint64_t cap_bytes)
{
	struct nl_msg *msg = mqt_msg(nl, MQ_CMD_QUEUE_NEW, 0);
	struct mqt_reply r;
	int err;

	nla_put_string(msg, MQ_A_QUEUE_NAME, name);
	nla_put_u32(msg, MQ_A_QUEUE_DURABILITY, dur);
	if (max_msg)
		nla_put_u32(msg, MQ_A_QUEUE_MAX_MSG, max_msg);
	if (cap_msgs)
		nla_put_u32(msg, MQ_A_QUEUE_CAP_MSGS, cap_msgs);
	if (cap_bytes)
		nla_put_u64(msg, MQ_A_QUEUE_CAP_BYTES, cap_bytes);
	err = mqt_nl_send(nl, msg, &r);
	mqt_reply_free(&r);
	return err;
}

/* Message @seq of length @len: checkable contents. */
static void fill(char *buf, uint32_t seq, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)(seq * 131 + i * 7 + (i >> 8));
	if (len >= 8) {
		memcpy(buf, &seq, 4);
		memcpy(buf + 4, &len, 4);
	}
}

/* Where @buf first differs from message @seq, or -1 if it does not. */
static long mismatch(const char *buf, uint32_t seq, uint32_t len)
{
	char *want = malloc(len);
	long at = -1;
	uint32_t i;

	if (!want)
		return 0;
	fill(want, seq, len);
	for (i = 0; i < len; i++) {
		if (want[i] != buf[i]) {
			at = i;
			break;
		}
	}
	free(want);
	return at;
}

static int queue_info(const char *name, struct mq_info *info)
{
	int fd = mqt_open(name, O_RDONLY), err;

	if (fd < 0)
		return -errno;
	err = mqt_info(fd, info);
	close(fd);
	return err;
}

static int recv_msg(int fd, void *buf, uint32_t size, struct mq_recv *rv)
{
	memset(rv, 0, sizeof(*rv));
	rv->size = sizeof(*rv);
	rv->buf = (uintptr_t)buf;
	rv->buf_len = size;
	return ioctl(fd, MQ_IOC_RECV, rv) ? -errno : 0;
}

static int dev_rw(bool wr, off_t off, void *buf, size_t len)
{
	int fd = open(store_dev(), (wr ? O_RDWR : O_RDONLY) | O_DIRECT | O_SYNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = wr ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

static int param_get(const char *name)
{
	char path[128], buf[32];
	int fd, n;

	snprintf(path, sizeof(path), "/sys/module/mq/parameters/%s", name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	return atoi(buf);
}

static int param_set(const char *name, int val)
{
	char path[128], buf[32];
	int fd, n, len;

	snprintf(path, sizeof(path), "/sys/module/mq/parameters/%s", name);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d\n", val);
	n = write(fd, buf, len);
	close(fd);
	return n == len ? 0 : -EIO;
}

/* A line in the kernel log too: it survives a panic that ends the VM. */
static void kmsg(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fd = open("/dev/kmsg", O_WRONLY);
	if (fd < 0)
		return;
	if (write(fd, buf, n > (int)sizeof(buf) - 1 ? (int)sizeof(buf) - 1 : n) < 0)
		n = 0;
	close(fd);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait up to @ms for @pid. Return: 1 (reaped, *status set) or 0. */
static int wait_for(pid_t pid, int *status, int ms)
{
	long long end = now_ms() + ms;

	do {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return 1;
		if (r < 0) {
			*status = 255 << 8;	/* not ours: nothing to wait for */
			return 1;
		}
		usleep(10000);
	} while (now_ms() < end);
	return 0;
}

/*
 * Wait up to @ms for @pid; if it is not done, SIGKILL it and wait up to
 * @kill_ms more. Return: 0 done in time (*status set), 1 killed and
 * reaped, 2 did not die of SIGKILL either.
 */
static int wait_or_kill(pid_t pid, int *status, int ms, int kill_ms)
{
	if (wait_for(pid, status, ms))
		return 0;
	kill(pid, SIGKILL);
	return wait_for(pid, status, kill_ms) ? 1 : 2;
}

static int timed_join(pthread_t t, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &ts);
}

/* Become @uid:@gid with no supplementary groups. */
static int become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) || setresgid(gid, gid, gid) ||
	    setresuid(uid, uid, uid))
		return -1;
	return 0;
}

/* CRC-32C (Castagnoli), reflected, no final inversion: __crc32c_le(). */
static uint32_t crc32c(uint32_t crc, const void *p, size_t len)
{
	static uint32_t table[256];
	const uint8_t *b = p;
	uint32_t i, k, c;

	if (!table[1]) {
		for (i = 0; i < 256; i++) {
			c = i;
			for (k = 0; k < 8; k++)
				c = (c >> 1) ^ (0x82F63B78U & -(c & 1));
			table[i] = c;
		}
	}
	while (len--)
		crc = table[(crc ^ *b++) & 0xff] ^ (crc >> 8);
	return crc;
}

/* A write(2) in a thread. */
struct bg_write {
	int fd;
	const void *buf;
	size_t len;
	ssize_t ret;
	int err;
};

static void *bg_write_fn(void *arg)
{
	struct bg_write *w = arg;

	w->ret = write(w->fd, w->buf, w->len);
	w->err = errno;
	return NULL;
}

/* ---- fixtures ---- */

FIXTURE(hstore) {
	struct mqt_nl nl;
	bool skip;
	int cache_mb;		/* to restore, or -1 */
};

FIXTURE_SETUP(hstore)
{
	struct stat st;

	self->cache_mb = -1;
	self->skip = stat(store_dev(), &st) || !S_ISBLK(st.st_mode) ||
		     geteuid() != 0;
	if (self->skip)
		return;
	ASSERT_EQ(0, mqt_nl_open(&self->nl));
	store_detach(&self->nl);	/* from an earlier test, if any */
	ASSERT_EQ(0, store_format(&self->nl, 1 << 20));
	ASSERT_EQ(0, store_attach(&self->nl));
}

FIXTURE_TEARDOWN(hstore)
{
	if (self->skip)
		return;
	if (self->cache_mb >= 0)
		param_set("cache_mb", self->cache_mb);
	store_detach(&self->nl);
	mqt_nl_close(&self->nl);
}

#define SKIP_NO_DEV() do { \
	if (self->skip) \
		SKIP(return, "no scratch block device %s (or not root)", store_dev()); \
} while (0)

FIXTURE(harden) {
	struct mqt_nl nl;
};

FIXTURE_SETUP(harden)
{
	ASSERT_EQ(0, geteuid()) TH_LOG("needs root");
	ASSERT_EQ(0, mqt_nl_open(&self->nl));
}

FIXTURE_TEARDOWN(harden)
{
	mqt_nl_close(&self->nl);
}

/* ---- 1: a queue moved into the store under a write's copy ---- */

/*
 * The writer copies an 8000-byte message (more than the inline part of a
 * memory queue's message) from a buffer whose second page is missing and
 * registered with userfaultfd: the copy stalls with the inline part
 * allocated. Meanwhile the empty queue becomes durable (sync) and gets 20
 * messages, so that with cache_mb 0 eviction reaches past the hot head to
 * where the stalled message lands. Then the copy goes on and every
 * message must read back whole.
 */
TEST_F(hstore, switch_to_durable_mid_copy)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct mqt_limits lim = { .max_msg = 70000, .cap_msgs = 100,
				  .cap_bytes = 1 << 20, .mode = -1 };
	const uint32_t big = 8000, small = 100, nsmall = 20;
	size_t pg = sysconf(_SC_PAGESIZE);
	struct bg_write bw = { .ret = 0 };
	struct uffdio_copy cp;
	struct uffd_msg ev;
	struct mq_recv rv;
	struct pollfd p;
	char q[64], *region, *want, *rbuf, sbuf[100];
	bool started = false;
	pthread_t t;
	int uffd, fd, rfd, err;
	uint32_t i;
	long at;

	SKIP_NO_DEV();
	ASSERT_GE(2 * pg, big);
	uffd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0)
		SKIP(return, "no userfaultfd: %s", strerror(errno));
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_API, &api));
	MQT_NAME(q, "mid");
	ASSERT_EQ(0, mqt_add(&self->nl, q, &lim, NULL));

	self->cache_mb = param_get("cache_mb");
	ASSERT_LE(0, self->cache_mb);
	ASSERT_EQ(0, param_set("cache_mb", 0));

	region = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, region);
	ASSERT_EQ(0, posix_memalign((void **)&want, pg, 2 * pg));
	memset(want, 0, 2 * pg);
	fill(want, nsmall, big);		/* the message at offset 20 */
	memcpy(region, want, pg);		/* page 0 present, page 1 not */
	reg.range.start = (uintptr_t)region + pg;
	reg.range.len = pg;
	ASSERT_EQ(0, ioctl(uffd, UFFDIO_REGISTER, &reg));

	fd = mqt_open(q, O_RDWR);
	ASSERT_LE(0, fd);
	rfd = mqt_open(q, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, rfd);
	bw.fd = fd;
	bw.buf = region;
	bw.len = big;
	ASSERT_EQ(0, pthread_create(&t, NULL, bg_write_fn, &bw));
	started = true;

	/* The writer's copy reached page 1 and waits there. */
	p.fd = uffd;
	p.events = POLLIN;
	err = poll(&p, 1, 10000);
	EXPECT_EQ(1, err) TH_LOG("the write's copy never faulted");
	if (err != 1)
		goto out;
	ASSERT_EQ((ssize_t)sizeof(ev), read(uffd, &ev, sizeof(ev)));
	ASSERT_EQ(UFFD_EVENT_PAGEFAULT, ev.event);

	/* The queue is empty (the write is not counted anywhere yet). */
	EXPECT_EQ(0, mqt_set_u32(&self->nl, q, MQ_A_QUEUE_DURABILITY,
				 MQ_DURABILITY_SYNC, NULL));
	for (i = 0; i < nsmall; i++) {
		fill(sbuf, i, small);
		EXPECT_EQ((ssize_t)small, write(fd, sbuf, small));
	}

	/* Let the copy finish. */
	memset(&cp, 0, sizeof(cp));
	cp.dst = (uintptr_t)region + pg;
	cp.src = (uintptr_t)want + pg;
	cp.len = pg;
	EXPECT_EQ(0, ioctl(uffd, UFFDIO_COPY, &cp)) TH_LOG("UFFDIO_COPY: %s",
							  strerror(errno));
out:
	close(uffd);	/* a fault not resolved above is retried without it */
	if (started) {
		err = timed_join(t, 10000);
		ASSERT_EQ(0, err) TH_LOG("the stalled write did not return");
		EXPECT_EQ((ssize_t)big, bw.ret) TH_LOG("write: %s",
						      strerror(bw.err));
	}

	rbuf = malloc(70000);
	ASSERT_NE(NULL, rbuf);
	for (i = 0; i <= nsmall; i++) {
		uint32_t len = i < nsmall ? small : big;

		memset(rbuf, 0xEE, 70000);
		err = recv_msg(rfd, rbuf, 70000, &rv);
		EXPECT_EQ(0, err) TH_LOG("read %u: %s", i, strerror(-err));
		if (err)
			break;
		EXPECT_EQ(i, rv.offset);
		EXPECT_EQ(len, rv.len);
		at = mismatch(rbuf, i, len);
		EXPECT_EQ(-1, at)
			TH_LOG("message %u (%u bytes) read back wrong from byte %ld on",
			       i, len, at);
	}
	EXPECT_EQ(-EAGAIN, recv_msg(rfd, rbuf, 70000, &rv));
	free(rbuf);
	free(want);
	munmap(region, 2 * pg);
	close(fd);
	close(rfd);
	EXPECT_EQ(0, mqt_del(&self->nl, q));
}

/* ---- 2: a woken writer that fails passes its turn on ---- */

static int wait_blocked_writers(const char *name, uint32_t n, int ms)
{
	long long end = now_ms() + ms;
	struct mq_info info;

	do {
		if (!queue_info(name, &info) && info.blocked_writers == n)
			return 0;
		usleep(10000);
	} while (now_ms() < end);
	return -ETIMEDOUT;
}

/*
 * A durable queue with room for one message, full: writer A sleeps,
 * writer B sleeps behind it, both without their messages. A's buffer is
 * unmapped; one read wakes A (room for one), whose copy fails. B must
 * get the room.
 *
 * No memory-queue variant: there, writers waiting without a message
 * (mq_wait_pin()) are all woken whenever they might fit, not counted
 * against the room, so B is woken together with A and never stranded.
 */
TEST_F(hstore, woken_writer_failure_passes_on)
{
	struct bg_write a = { .ret = 0 }, b = { .ret = 0 };
	bool a_done = false;
	size_t pg = sysconf(_SC_PAGESIZE);
	char q[64], msg[100], bbuf[100], rbuf[200];
	struct mq_info info;
	pthread_t ta, tb;
	int fd, rfd, err;
	char *abuf;

	SKIP_NO_DEV();
	MQT_NAME(q, "pass");
	ASSERT_EQ(0, add_durable(&self->nl, q, MQ_DURABILITY_ASYNC, 4096, 1,
				 1 << 20));
	fd = mqt_open(q, O_RDWR);
	ASSERT_LE(0, fd);
	rfd = mqt_open(q, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, rfd);
	fill(msg, 0, sizeof(msg));
	ASSERT_EQ((ssize_t)sizeof(msg), write(fd, msg, sizeof(msg)));

	abuf = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, abuf);
	fill(abuf, 1, 100);
	a.fd = fd;
	a.buf = abuf;
	a.len = 100;
	ASSERT_EQ(0, pthread_create(&ta, NULL, bg_write_fn, &a));
	ASSERT_EQ(0, wait_blocked_writers(q, 1, 5000)) TH_LOG("A never slept");
	fill(bbuf, 2, sizeof(bbuf));
	b.fd = fd;
	b.buf = bbuf;
	b.len = sizeof(bbuf);
	ASSERT_EQ(0, pthread_create(&tb, NULL, bg_write_fn, &b));
	ASSERT_EQ(0, wait_blocked_writers(q, 2, 5000)) TH_LOG("B never slept");

	/* A's next copy faults. */
	ASSERT_EQ(0, munmap(abuf, pg));
	ASSERT_EQ((ssize_t)sizeof(msg), read(rfd, rbuf, sizeof(rbuf)));

	err = timed_join(ta, 5000);
	a_done = !err;
	EXPECT_EQ(0, err) TH_LOG("A did not return");
	if (!err) {
		EXPECT_EQ(-1, a.ret);
		EXPECT_EQ(EFAULT, a.err);
	}
	err = timed_join(tb, 3000);
	if (err) {
		memset(&info, 0, sizeof(info));
		queue_info(q, &info);
		EXPECT_EQ(0, err)
			TH_LOG("B still asleep 3 s after A failed: blocked_writers %u, depth %llu of %u",
			       info.blocked_writers,
			       (unsigned long long)info.depth_msgs,
			       info.cap_msgs);
		/* Deleting the queue wakes it (EIDRM). */
		mqt_del(&self->nl, q);
		EXPECT_EQ(0, timed_join(tb, 5000)) TH_LOG("B not woken by delete");
		if (err)
			goto out;	/* A may still be asleep too */
	} else {
		EXPECT_EQ((ssize_t)sizeof(bbuf), b.ret) TH_LOG("B: %s",
							       strerror(b.err));
		EXPECT_EQ((ssize_t)sizeof(bbuf), read(rfd, rbuf, sizeof(rbuf)));
		EXPECT_EQ(0, memcmp(rbuf, bbuf, sizeof(bbuf)));
	}
	if (!a_done) {
		mqt_del(&self->nl, q);
		timed_join(ta, 5000);
	}
out:
	close(fd);
	close(rfd);
	mqt_del(&self->nl, q);
}

/* ---- 3: open(2) checks the queue's access, not the node's ---- */

struct open_as {
	uid_t uid;
	gid_t gid;
	const char *path;
};

/* Open @path O_RDWR as @uid:@gid in a child. Return: 0, errno, or -1. */
static int try_open_as(uid_t uid, gid_t gid, const char *path)
{
	pid_t pid = fork();
	int status, fd;

	if (pid == 0) {
		if (become(uid, gid))
			_exit(100);
		fd = open(path, O_RDWR);
		if (fd < 0)
			_exit(errno);
		close(fd);
		_exit(0);
	}
	if (pid < 0)
		return -1;
	if (wait_or_kill(pid, &status, 5000, 2000) || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* The dev_t of a queue's node, or 0. */
static dev_t node_rdev(const char *name)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), MQT_DEV_DIR "%s", name);
	return stat(path, &st) ? 0 : st.st_rdev;
}

static int copy_node(const char *name, const char *copy, dev_t *rdev)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), MQT_DEV_DIR "%s", name);
	if (stat(path, &st))
		return -errno;
	*rdev = st.st_rdev;
	unlink(copy);
	/* Not in /tmp: it is mounted nodev there. */
	if (mknod(copy, S_IFCHR | 0666, st.st_rdev) || chmod(copy, 0666))
		return -errno;
	return 0;
}

/*
 * A 0600 root queue; a copy of its node with mode 0666 (same major and
 * minor). Then a stale node: a 0666 queue's node copied, the queue
 * deleted and its minor given to a new 0600 queue.
 */
TEST_F_TIMEOUT(harden, open_checks_queue_access_not_node, 90)
{
	struct mqt_limits priv = { .mode = 0600 }, pub = { .mode = 0666 };
	char q[64], q2[64], q3[64], tmp[64], copy[128], copy2[128];
	dev_t rdev, rdev2, rdev3;
	long long t0, spent;
	unsigned int n = 0;
	int maxq;

	MQT_NAME(q, "node");
	snprintf(copy, sizeof(copy), "/dev/mqt-harden-%d-a", getpid());
	snprintf(copy2, sizeof(copy2), "/dev/mqt-harden-%d-b", getpid());
	ASSERT_EQ(0, mqt_add(&self->nl, q, &priv, NULL));
	ASSERT_EQ(0, copy_node(q, copy, &rdev));
	EXPECT_EQ(EACCES, try_open_as(NOBODY, NOBODY, copy))
		TH_LOG("uid %d opened a copy (mode 0666, %u:%u) of a 0600 root queue's node",
		       NOBODY, major(rdev), minor(rdev));
	EXPECT_EQ(0, try_open_as(0, 0, copy)) TH_LOG("root could not open the copy");
	ASSERT_EQ(0, mqt_set_u32(&self->nl, q, MQ_A_QUEUE_UID, NOBODY, NULL));
	EXPECT_EQ(0, try_open_as(NOBODY, NOBODY, copy))
		TH_LOG("the owner could not open the copy");
	unlink(copy);
	ASSERT_EQ(0, mqt_del(&self->nl, q));

	/* The stale node: the same minor, a different queue. */
	MQT_NAME(q2, "pub");
	ASSERT_EQ(0, mqt_add(&self->nl, q2, &pub, NULL));
	ASSERT_EQ(0, copy_node(q2, copy2, &rdev2));
	EXPECT_EQ(0, try_open_as(NOBODY, NOBODY, copy2));
	ASSERT_EQ(0, mqt_del(&self->nl, q2));
	/* Ids are cyclic: go round once so that the next queue gets it. */
	maxq = param_get("max_queues");
	ASSERT_LT(0, maxq);
	t0 = now_ms();
	snprintf(tmp, sizeof(tmp), "t%d-cyc", getpid());
	for (;;) {
		dev_t d;

		ASSERT_EQ(0, mqt_add(&self->nl, tmp, NULL, NULL));
		d = node_rdev(tmp);
		ASSERT_EQ(0, mqt_del(&self->nl, tmp));
		ASSERT_NE(0, d);
		n++;
		if ((minor(d) + 1) % maxq == minor(rdev2))
			break;
		if (n > (unsigned int)maxq + 1 || now_ms() - t0 > 40000)
			break;
	}
	spent = now_ms() - t0;
	TH_LOG("went round the ids in %u creates and deletes, %lld ms", n, spent);
	MQT_NAME(q3, "priv");
	ASSERT_EQ(0, mqt_add(&self->nl, q3, &priv, NULL));
	rdev3 = node_rdev(q3);
	ASSERT_NE(0, rdev3);
	if (rdev3 != rdev2) {
		TH_LOG("the new queue got minor %u, not the stale node's %u: stale variant not checked",
		       minor(rdev3), minor(rdev2));
	} else {
		EXPECT_EQ(EACCES, try_open_as(NOBODY, NOBODY, copy2))
			TH_LOG("uid %d opened a stale 0666 node (%u:%u), now a 0600 root queue's",
			       NOBODY, major(rdev2), minor(rdev2));
		EXPECT_EQ(0, try_open_as(0, 0, copy2));
	}
	unlink(copy2);
	EXPECT_EQ(0, mqt_del(&self->nl, q3));
}

/* ---- 4: ring memory counts against RLIMIT_MEMLOCK ---- */

static int ring_setup(int fd, uint32_t tx, uint32_t rx)
{
	struct mq_ring_setup s;
	int rfd;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.tx_size = tx;
	s.rx_size = rx;
	rfd = ioctl(fd, MQ_IOC_RING_SETUP, &s);
	return rfd < 0 ? -errno : rfd;
}

/*
 * In a child: RLIMIT_MEMLOCK 64 KiB, as @uid (0: stay root), then a
 * 1 MiB TX ring and 100 rings of 16 KiB one after the other. Return:
 * bit 0: the 1 MiB ring was set up; bit 1: it failed, not with ENOMEM;
 * bit 2: a small ring failed; 100+: the child could not start.
 */
static int rings_as(uid_t uid, gid_t gid, const char *name)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct rlimit rl = { .rlim_cur = 64 << 10, .rlim_max = 64 << 10 };
		int fd, rfd, i, res = 0;

		if (setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(100);
		if (uid && become(uid, gid))
			_exit(101);
		fd = mqt_open(name, O_RDWR);
		if (fd < 0)
			_exit(102);
		rfd = ring_setup(fd, 1 << 20, 0);
		if (rfd >= 0) {
			res |= 1;
			close(rfd);
		} else if (rfd != -ENOMEM) {
			printf("#   uid %d: 1 MiB ring: %s\n", uid, strerror(-rfd));
			res |= 2;
		}
		for (i = 0; i < 100; i++) {
			rfd = ring_setup(fd, 16 << 10, 0);
			if (rfd < 0) {
				printf("#   uid %d: 16 KiB ring number %d: %s\n",
				       uid, i + 1, strerror(-rfd));
				res |= 4;
				break;
			}
			close(rfd);
		}
		close(fd);
		_exit(res);
	}
	if (pid < 0)
		return 103;
	if (wait_or_kill(pid, &status, 20000, 2000) || !WIFEXITED(status))
		return 104;
	return WEXITSTATUS(status);
}

TEST_F(harden, ring_memory_charged_to_memlock)
{
	struct mqt_limits pub = { .mode = 0666 };
	char q[64];
	int res;

	MQT_NAME(q, "ring");
	ASSERT_EQ(0, mqt_add(&self->nl, q, &pub, NULL));
	res = rings_as(USER_UID, USER_GID, q);
	EXPECT_GT(100, res) TH_LOG("the child failed to start (%d)", res);
	EXPECT_EQ(0, res & 1)
		TH_LOG("uid %d with RLIMIT_MEMLOCK 64 KiB set up a 1 MiB TX ring",
		       USER_UID);
	EXPECT_EQ(0, res & 2) TH_LOG("the 1 MiB ring failed, but not with ENOMEM");
	EXPECT_EQ(0, res & 4)
		TH_LOG("16 KiB rings set up and closed in a row failed");
	/* CAP_IPC_LOCK: no limit. */
	res = rings_as(0, 0, q);
	EXPECT_EQ(1, res) TH_LOG("root: %d (bit 0: the 1 MiB ring worked)", res);
	EXPECT_EQ(0, mqt_del(&self->nl, q));
}

/* ---- 5: a record that no longer fits in its segment ---- */

/*
 * 16 MiB segments; the log head at 12 MiB into the first one (records
 * start after its 4 KiB header); then a 4 MiB message, whose record must
 * go to the next segment, and the in-memory log buffer (8 MiB from the
 * first block not yet durable) can never take it there.
 */
TEST_F_TIMEOUT(hstore, record_near_segment_end_no_livelock, 90)
{
	const uint32_t mib = 1 << 20, big = 4 << 20;
	uint32_t lens[13], i;
	struct mq_recv rv;
	char q[64], *buf;
	int fd, status, how, err;
	pid_t pid;
	long at;

	SKIP_NO_DEV();
	ASSERT_EQ(0, store_detach(&self->nl));
	ASSERT_EQ(0, store_format(&self->nl, 16 << 20));
	ASSERT_EQ(0, store_attach(&self->nl));
	MQT_NAME(q, "segend");
	ASSERT_EQ(0, add_durable(&self->nl, q, MQ_DURABILITY_ASYNC, big, 1000,
				 64ULL << 20));
	for (i = 0; i < 11; i++)
		lens[i] = mib - 56;		/* records of exactly 1 MiB */
	lens[11] = mib - 4152;			/* 1 MiB - 4 KiB: head at 12 MiB */
	lens[12] = big;
	buf = malloc(big);
	ASSERT_NE(NULL, buf);
	fd = mqt_open(q, O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < 12; i++) {
		fill(buf, i, lens[i]);
		ASSERT_EQ((ssize_t)lens[i], write(fd, buf, lens[i]));
	}

	kmsg("harden_test: record_near_segment_end_no_livelock: writing 4 MiB with the log head at 12 MiB of a 16 MiB segment\n");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		fill(buf, 12, big);
		_exit(write(fd, buf, big) == (ssize_t)big ? 0 : 1);
	}
	how = wait_or_kill(pid, &status, 10000, 5000);
	if (how) {
		kmsg("harden_test: record_near_segment_end_no_livelock: the 4 MiB write did not return in 10 s; after SIGKILL it %s within 5 s\n",
		     how == 1 ? "died" : "did NOT die");
	}
	ASSERT_EQ(0, how)
		TH_LOG("the 4 MiB write did not return within 10 s; SIGKILL: it %s within 5 s",
		       how == 1 ? "died" : "did not die (unkillable)");
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status)) TH_LOG("the 4 MiB write failed");
	close(fd);

	fd = mqt_open(q, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	for (i = 0; i < 13; i++) {
		err = recv_msg(fd, buf, big, &rv);
		ASSERT_EQ(0, err) TH_LOG("read %u: %s", i, strerror(-err));
		EXPECT_EQ(i, rv.offset);
		EXPECT_EQ(lens[i], rv.len);
		at = mismatch(buf, i, lens[i]);
		EXPECT_EQ(-1, at) TH_LOG("message %u differs at byte %ld", i, at);
	}
	EXPECT_EQ(-EAGAIN, recv_msg(fd, buf, big, &rv));
	close(fd);
	free(buf);
	EXPECT_EQ(0, mqt_del(&self->nl, q));
}

/* ---- 6: offsets near 2^64 in a store image ---- */

#define HUGE_OFF	(~0ULL - 9)	/* 2^64 - 10 */

struct rd_result {
	int err;		/* 0 or -errno */
	uint32_t len;
	uint64_t offset;
	long bad_at;		/* -1: contents right */
};

/*
 * Queue X: its catalog entry's head, tail and lease set to 2^64 - 10.
 * Queue Y: its third message's record says offset 2^64 - 10. Both with
 * valid checksums. After attach, X must be gone (an invalid entry) and Y
 * must hold its first two messages only; no call may hang.
 */
TEST_F_TIMEOUT(hstore, offsets_near_2_64_refused, 60)
{
	const uint32_t lens[3] = { 100, 300, 5000 };
	const size_t seg = 1 << 20;
	struct mq_disk_super *sb;
	struct mq_disk_catalog *cat[2], *c;
	struct mq_disk_queue *dq, *dx = NULL, *dy = NULL;
	struct rd_result res[8];
	uint8_t *sbuf, *segbuf;
	char x[64], y[64], *buf;
	uint32_t seed, crc, nseg, i, n;
	int best = -1, fd, k, nres = 0, status, how;
	bool patched = false;
	struct mq_info info;
	pid_t pid;
	int pfd[2];

	SKIP_NO_DEV();
	snprintf(x, sizeof(x), "t%d-hugecat", getpid());
	snprintf(y, sizeof(y), "t%d-hugerec", getpid());
	ASSERT_EQ(0, add_durable(&self->nl, x, MQ_DURABILITY_SYNC, 70000, 100,
				 0));
	ASSERT_EQ(0, add_durable(&self->nl, y, MQ_DURABILITY_SYNC, 70000, 100,
				 0));
	buf = malloc(70000);
	ASSERT_NE(NULL, buf);
	for (k = 0; k < 2; k++) {
		fd = mqt_open(k ? y : x, O_WRONLY);
		ASSERT_LE(0, fd);
		for (i = 0; i < 3; i++) {
			fill(buf, i, lens[i]);
			ASSERT_EQ((ssize_t)lens[i], write(fd, buf, lens[i]));
		}
		close(fd);
	}
	ASSERT_EQ(0, store_detach(&self->nl));

	/* The superblock: uuid and the checksum seed. */
	ASSERT_EQ(0, posix_memalign((void **)&sbuf, 4096, 8192));
	ASSERT_EQ(0, dev_rw(false, 0, sbuf, 8192));
	sb = (struct mq_disk_super *)sbuf;
	if (memcmp(sb->magic, MQ_SUPER_MAGIC, 8))
		sb = (struct mq_disk_super *)(sbuf + 4096);
	ASSERT_EQ(0, memcmp(sb->magic, MQ_SUPER_MAGIC, 8));
	ASSERT_EQ(seg, le32toh(sb->segment_size));
	nseg = le32toh(sb->segment_count);
	seed = crc32c(~0U, sb->uuid, sizeof(sb->uuid));

	/* The newest valid catalog copy: X's entry. */
	for (k = 0; k < 2; k++) {
		struct mq_disk_catalog hdr;

		ASSERT_EQ(0, posix_memalign((void **)&cat[k], 4096, MQ_CAT_BYTES));
		ASSERT_EQ(0, dev_rw(false, MQ_CAT_OFFSET + (off_t)k * MQ_CAT_BYTES,
				    cat[k], MQ_CAT_BYTES));
		c = cat[k];
		n = le32toh(c->count);
		if (le32toh(c->magic) != MQ_CAT_MAGIC || n > MQ_CAT_MAX_QUEUES)
			continue;
		hdr = *c;
		hdr.crc = 0;
		crc = crc32c(seed, &hdr, sizeof(hdr));
		crc = crc32c(crc, (char *)c + sizeof(*c), n * sizeof(*dq));
		if (crc != le32toh(c->crc))
			continue;
		if (best < 0 || le64toh(c->generation) >
				le64toh(cat[best]->generation))
			best = k;
	}
	ASSERT_LE(0, best) TH_LOG("no catalog copy checks out: the test's CRC-32C is wrong");
	c = cat[best];
	n = le32toh(c->count);
	dq = (struct mq_disk_queue *)((char *)c + sizeof(*c));
	for (i = 0; i < n; i++) {
		if (!strcmp(dq[i].name, x))
			dx = &dq[i];
		if (!strcmp(dq[i].name, y))
			dy = &dq[i];
	}
	ASSERT_NE(NULL, dx);
	ASSERT_NE(NULL, dy);
	dx->head = htole64(HUGE_OFF);
	dx->tail = htole64(HUGE_OFF);
	dx->lease = htole64(HUGE_OFF);
	c->crc = 0;
	crc = crc32c(seed, c, sizeof(*c));
	crc = crc32c(crc, dq, n * sizeof(*dq));
	c->crc = htole32(crc);
	ASSERT_EQ(0, dev_rw(true, MQ_CAT_OFFSET + (off_t)best * MQ_CAT_BYTES,
			    c, MQ_CAT_BYTES));

	/* Y's message 2: its record's offset. */
	ASSERT_EQ(0, posix_memalign((void **)&segbuf, 4096, seg));
	for (k = 0; k < (int)nseg && !patched; k++) {
		struct mq_disk_seg *h = (struct mq_disk_seg *)segbuf;
		off_t base = MQ_SEGS_OFFSET + (off_t)k * seg;
		size_t p = 4096;

		ASSERT_EQ(0, dev_rw(false, base, segbuf, seg));
		if (le32toh(h->magic) != MQ_SEG_MAGIC ||
		    memcmp(h->uuid, sb->uuid, sizeof(h->uuid)))
			continue;
		while (p + sizeof(struct mq_disk_rec) <= seg) {
			struct mq_disk_rec *r = (struct mq_disk_rec *)(segbuf + p);
			uint32_t len = le32toh(r->len);
			uint16_t type = le16toh(r->type);

			if (type < MQ_REC_MSG || type > MQ_REC_LEASE ||
			    le64toh(r->seg) != le64toh(h->seq) ||
			    p + sizeof(*r) + len > seg ||
			    crc32c(seed, (char *)r + 4, sizeof(*r) - 4 + len) !=
			    le32toh(r->crc))
				break;
			if (type == MQ_REC_MSG && r->serial == dy->serial &&
			    le64toh(r->offset) == 2) {
				r->offset = htole64(HUGE_OFF);
				r->crc = htole32(crc32c(seed, (char *)r + 4,
							sizeof(*r) - 4 + len));
				ASSERT_EQ(0, dev_rw(true, base, segbuf, seg));
				patched = true;
				break;
			}
			p += (sizeof(*r) + len + 7) & ~7UL;
		}
	}
	ASSERT_TRUE(patched) TH_LOG("queue Y's third record not found in the log");
	free(segbuf);
	free(cat[0]);
	free(cat[1]);
	free(sbuf);

	ASSERT_EQ(0, store_attach(&self->nl));
	/* X: its entry is damage. */
	if (mqt_exists(&self->nl, x)) {
		memset(&info, 0, sizeof(info));
		queue_info(x, &info);
		EXPECT_FALSE(true)
			TH_LOG("queue X came back from a catalog entry with head, tail and lease 2^64 - 10: head_offset %llu, tail_offset %llu",
			       (unsigned long long)info.head_offset,
			       (unsigned long long)info.tail_offset);
	}

	/* Y: read it all in a child, every call bounded. */
	ASSERT_EQ(0, pipe(pfd));
	kmsg("harden_test: offsets_near_2_64_refused: reading queue %s\n", y);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct mq_recv rv;
		struct rd_result rr;
		int rfd = mqt_open(y, O_RDONLY | O_NONBLOCK);

		close(pfd[0]);
		for (k = 0; k < 8; k++) {
			memset(&rr, 0, sizeof(rr));
			rr.bad_at = -1;
			rr.err = rfd < 0 ? -errno : recv_msg(rfd, buf, 70000, &rv);
			if (!rr.err) {
				rr.len = rv.len;
				rr.offset = rv.offset;
				if (rv.offset < 3 && rv.len == lens[rv.offset])
					rr.bad_at = mismatch(buf, rv.offset,
							     rv.len);
				else
					rr.bad_at = 0;
			}
			if (write(pfd[1], &rr, sizeof(rr)) != sizeof(rr) ||
			    rr.err)
				break;
		}
		_exit(0);
	}
	close(pfd[1]);
	how = wait_or_kill(pid, &status, 10000, 4000);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };

		if (nres == 8 || poll(&p, 1, 0) != 1 ||
		    read(pfd[0], &res[nres], sizeof(res[0])) != sizeof(res[0]))
			break;
		nres++;
	}
	close(pfd[0]);
	if (how)
		kmsg("harden_test: offsets_near_2_64_refused: read %d of queue %s did not return in 10 s; after SIGKILL the reader %s within 4 s\n",
		     nres + 1, y, how == 1 ? "died" : "did NOT die");
	EXPECT_EQ(0, how)
		TH_LOG("read %d of queue Y (after %d that returned) did not return within 10 s; SIGKILL: the reader %s within 4 s",
		       nres + 1, nres, how == 1 ? "died" : "did not die (unkillable)");
	for (k = 0; k < nres; k++) {
		if (res[k].err) {
			TH_LOG("read %d: %s", k + 1, strerror(-res[k].err));
			continue;
		}
		TH_LOG("read %d: offset %llu, %u bytes%s", k + 1,
		       (unsigned long long)res[k].offset, res[k].len,
		       res[k].bad_at == -1 ? "" : ", contents WRONG");
		EXPECT_GT(1ULL << 63, res[k].offset);
		EXPECT_EQ(-1, res[k].bad_at);
	}
	if (!how) {
		/* Messages 0 and 1, then nothing. */
		ASSERT_EQ(3, nres);
		EXPECT_EQ(0, res[0].err);
		EXPECT_EQ(0, res[0].offset);
		EXPECT_EQ(0, res[1].err);
		EXPECT_EQ(1, res[1].offset);
		EXPECT_EQ(-EAGAIN, res[2].err);
	}
	free(buf);
}

TEST_HARNESS_MAIN
