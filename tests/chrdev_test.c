// SPDX-License-Identifier: GPL-2.0
/*
 * The character device contract of /dev/mq/NAME: message boundaries,
 * errnos, blocking and non-blocking calls, poll, signals, deletion under
 * waiters, MQ_IOC_INFO.
 */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "mqtest.h"
#include "kselftest_harness.h"

#define SMALL_MAX	4096
#define SMALL_CAP	8

FIXTURE(q) {
	struct mqt_nl nl;
	char name[64];
	int fd;
};

FIXTURE_VARIANT(q) {
	uint32_t max_msg;
	uint32_t cap_msgs;
	uint64_t cap_bytes;
};

FIXTURE_VARIANT_ADD(q, small) {
	.max_msg = SMALL_MAX,
	.cap_msgs = SMALL_CAP,
	.cap_bytes = 4 * SMALL_MAX,
};

FIXTURE_SETUP(q)
{
	struct mqt_limits l = {
		.max_msg = variant->max_msg,
		.cap_msgs = variant->cap_msgs,
		.cap_bytes = variant->cap_bytes,
		.mode = -1,
	};

	ASSERT_EQ(0, mqt_nl_open(&self->nl));
	MQT_NAME(self->name, "q");
	ASSERT_EQ(0, mqt_add(&self->nl, self->name, &l, NULL));
	self->fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(q)
{
	if (self->fd >= 0)
		close(self->fd);
	mqt_del(&self->nl, self->name);
	mqt_nl_close(&self->nl);
}

/* An address that faults: a page mapped with no access. */
static void *bad_ptr(void)
{
	return mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void fill(char *buf, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(seed * 131 + i * 7);
}

TEST_F(q, boundaries_1_to_max)
{
	static char in[SMALL_MAX], out[SMALL_MAX + 16];
	size_t sizes[] = { 1, 2, 63, 64, 65, 1000, SMALL_MAX - 1, SMALL_MAX };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill(in, sizes[i], i);
		ASSERT_EQ((ssize_t)sizes[i], write(self->fd, in, sizes[i]));
	}
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		fill(in, sizes[i], i);
		memset(out, 0, sizeof(out));
		ASSERT_EQ((ssize_t)sizes[i], read(self->fd, out, sizeof(out)));
		ASSERT_EQ(0, memcmp(in, out, sizes[i]));
	}
}

TEST_F(q, zero_length_write_is_einval)
{
	struct mq_info info;

	EXPECT_EQ(-1, write(self->fd, "", 0));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(0, info.depth_msgs);
	EXPECT_EQ(0, info.msgs_in);
}

TEST_F(q, oversize_write_is_emsgsize)
{
	static char buf[SMALL_MAX + 1];
	struct mq_info info;

	EXPECT_EQ(-1, write(self->fd, buf, SMALL_MAX + 1));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(0, info.depth_msgs);
}

TEST_F(q, short_buffer_is_emsgsize_and_message_stays)
{
	char out[16];
	struct mq_info info;

	ASSERT_EQ(10, write(self->fd, "0123456789", 10));
	EXPECT_EQ(-1, read(self->fd, out, 9));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(1, info.depth_msgs);
	EXPECT_EQ(10, info.next_len);
	EXPECT_EQ(10, read(self->fd, out, 10));
	EXPECT_EQ(0, memcmp(out, "0123456789", 10));
}

TEST_F(q, bad_user_buffer_is_efault_and_changes_nothing)
{
	struct mq_info info;
	char out[16];
	void *bad = bad_ptr();

	ASSERT_NE(MAP_FAILED, bad);
	EXPECT_EQ(-1, write(self->fd, bad, 10));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(0, info.depth_msgs);

	ASSERT_EQ(5, write(self->fd, "hello", 5));
	EXPECT_EQ(-1, read(self->fd, bad, 10));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(1, info.depth_msgs);
	EXPECT_EQ(0, info.msgs_out);
	EXPECT_EQ(5, read(self->fd, out, sizeof(out)));
	EXPECT_EQ(0, memcmp(out, "hello", 5));
}

TEST_F(q, order_and_offsets)
{
	struct mq_info info;
	char buf[32];

	for (int i = 0; i < 5; i++) {
		int n = snprintf(buf, sizeof(buf), "m%d", i);

		ASSERT_EQ(n, write(self->fd, buf, n));
	}
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(0, info.head_offset);
	EXPECT_EQ(5, info.tail_offset);
	EXPECT_EQ(5, info.peak_msgs);
	for (int i = 0; i < 5; i++) {
		char want[32];
		int n = snprintf(want, sizeof(want), "m%d", i);

		ASSERT_EQ(n, read(self->fd, buf, sizeof(buf)));
		ASSERT_EQ(0, memcmp(buf, want, n));
	}
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(5, info.head_offset);
	EXPECT_EQ(5, info.msgs_out);
	EXPECT_EQ(0, info.depth_bytes);
}

TEST_F(q, writev_gathers_readv_scatters)
{
	struct iovec iov[3] = {
		{ "abc", 3 }, { "", 0 }, { "defgh", 5 },
	};
	char a[4] = { 0 }, b[16] = { 0 };
	struct iovec rio[2] = { { a, 3 }, { b, sizeof(b) } };

	ASSERT_EQ(8, writev(self->fd, iov, 3));
	ASSERT_EQ(8, readv(self->fd, rio, 2));
	EXPECT_EQ(0, memcmp(a, "abc", 3));
	EXPECT_EQ(0, memcmp(b, "defgh", 5));
}

TEST_F(q, nonblock_empty_is_eagain)
{
	char buf[8];
	int fd = mqt_open(self->name, O_RDWR | O_NONBLOCK);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

TEST_F(q, nonblock_full_msgs_is_eagain)
{
	struct mq_info info;
	int fd = mqt_open(self->name, O_RDWR | O_NONBLOCK);

	ASSERT_LE(0, fd);
	for (int i = 0; i < SMALL_CAP; i++)
		ASSERT_EQ(1, write(fd, "x", 1));
	EXPECT_EQ(-1, write(fd, "x", 1));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, mqt_info(fd, &info));
	EXPECT_EQ(SMALL_CAP, info.depth_msgs);
	close(fd);
}

TEST_F(q, nonblock_full_bytes_is_eagain)
{
	static char buf[SMALL_MAX];
	int fd = mqt_open(self->name, O_RDWR | O_NONBLOCK);

	ASSERT_LE(0, fd);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(SMALL_MAX, write(fd, buf, SMALL_MAX));
	EXPECT_EQ(-1, write(fd, buf, 1));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(SMALL_MAX, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(SMALL_MAX, write(fd, buf, SMALL_MAX));
	close(fd);
}

struct delayed {
	int fd;
	int usec;
	int op;	/* 0 write, 1 read, 2 delete */
	struct mqt_nl *nl;
	const char *name;
};

static void *delayed_op(void *arg)
{
	struct delayed *d = arg;
	char buf[SMALL_MAX];

	usleep(d->usec);
	if (d->op == 0)
		return (void *)(long)write(d->fd, "wake", 4);
	if (d->op == 1)
		return (void *)(long)read(d->fd, buf, sizeof(buf));
	return (void *)(long)mqt_del(d->nl, d->name);
}

TEST_F(q, blocking_read_woken_by_writer)
{
	struct delayed d = { .fd = self->fd, .usec = 200000, .op = 0 };
	char buf[16];
	pthread_t t;
	void *ret;

	ASSERT_EQ(0, pthread_create(&t, NULL, delayed_op, &d));
	EXPECT_EQ(4, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "wake", 4));
	pthread_join(t, &ret);
	EXPECT_EQ(4, (long)ret);
}

TEST_F(q, blocking_write_woken_by_reader)
{
	struct delayed d = { .fd = self->fd, .usec = 200000, .op = 1 };
	pthread_t t;
	void *ret;

	for (int i = 0; i < SMALL_CAP; i++)
		ASSERT_EQ(1, write(self->fd, "x", 1));
	ASSERT_EQ(0, pthread_create(&t, NULL, delayed_op, &d));
	EXPECT_EQ(2, write(self->fd, "yy", 2));
	pthread_join(t, &ret);
	EXPECT_EQ(1, (long)ret);
}

TEST_F(q, poll_readiness)
{
	struct pollfd p = { .fd = self->fd, .events = POLLIN | POLLOUT };

	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents);
	ASSERT_EQ(1, write(self->fd, "x", 1));
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN | POLLOUT, p.revents);
	for (int i = 1; i < SMALL_CAP; i++)
		ASSERT_EQ(1, write(self->fd, "x", 1));
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN, p.revents);
	p.events = POLLOUT;
	EXPECT_EQ(0, poll(&p, 1, 50));
}

TEST_F(q, epoll_wakes_on_write)
{
	struct delayed d = { .fd = self->fd, .usec = 100000, .op = 0 };
	struct epoll_event ev = { .events = EPOLLIN }, out;
	int ep = epoll_create1(0);
	pthread_t t;

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, self->fd, &ev));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	ASSERT_EQ(0, pthread_create(&t, NULL, delayed_op, &d));
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 5000));
	EXPECT_TRUE(out.events & EPOLLIN);
	pthread_join(t, NULL);
	close(ep);
}

static void on_alarm(int sig)
{
}

TEST_F(q, blocked_read_interrupted_by_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct mq_info info;
	char buf[8];

	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EINTR, errno);
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(0, info.blocked_readers);
}

TEST_F(q, blocked_write_interrupted_by_signal)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct mq_info info;

	sigaction(SIGALRM, &sa, NULL);
	for (int i = 0; i < SMALL_CAP; i++)
		ASSERT_EQ(1, write(self->fd, "x", 1));
	alarm(1);
	EXPECT_EQ(-1, write(self->fd, "y", 1));
	EXPECT_EQ(EINTR, errno);
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(SMALL_CAP, info.depth_msgs);
	EXPECT_EQ(0, info.blocked_writers);
}

/*
 * Four processes blocked in read (empty queue) or in write (full queue):
 * deleting the queue wakes them all with EIDRM.
 */
static void delete_under_waiters(struct __test_metadata *_metadata,
				 const char *name, int fd, bool readers)
{
	struct mqt_nl nl2;
	struct mq_info info;
	pid_t pids[4];
	int status;

	if (!readers)
		for (int i = 0; i < SMALL_CAP; i++)
			ASSERT_EQ(1, write(fd, "x", 1));
	for (int i = 0; i < 4; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0) {
			char buf[SMALL_MAX];
			int cfd = mqt_open(name, O_RDWR);

			if (readers)
				_exit(read(cfd, buf, sizeof(buf)) == -1 &&
				      errno == EIDRM ? 0 : 1);
			_exit(write(cfd, "x", 1) == -1 && errno == EIDRM ? 0 : 2);
		}
	}
	for (int i = 0; i < 1000; i++) {
		ASSERT_EQ(0, mqt_info(fd, &info));
		if ((readers ? info.blocked_readers : info.blocked_writers) == 4)
			break;
		usleep(10000);
	}
	EXPECT_EQ(4, readers ? info.blocked_readers : info.blocked_writers);
	ASSERT_EQ(0, mqt_nl_open(&nl2));
	ASSERT_EQ(0, mqt_del(&nl2, name));
	mqt_nl_close(&nl2);
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
}

TEST_F(q, delete_wakes_blocked_readers)
{
	delete_under_waiters(_metadata, self->name, self->fd, true);
}

TEST_F(q, delete_wakes_blocked_writers)
{
	delete_under_waiters(_metadata, self->name, self->fd, false);
}

TEST_F(q, deleted_queue_fd_reports_eidrm_and_hup)
{
	struct pollfd p = { .fd = self->fd, .events = POLLIN | POLLOUT };
	struct mq_info info;
	char buf[8];
	struct stat st;
	char path[128];

	ASSERT_EQ(1, write(self->fd, "x", 1));
	ASSERT_EQ(0, mqt_del(&self->nl, self->name));
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EIDRM, errno);
	EXPECT_EQ(-1, write(self->fd, "x", 1));
	EXPECT_EQ(EIDRM, errno);
	EXPECT_EQ(-EIDRM, mqt_info(self->fd, &info));
	/* EIDRM comes first, whatever else is wrong with the call. */
	EXPECT_EQ(-1, write(self->fd, "", 0));
	EXPECT_EQ(EIDRM, errno);
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_TRUE(p.revents & POLLHUP);
	EXPECT_TRUE(p.revents & POLLERR);
	snprintf(path, sizeof(path), MQT_DEV_DIR "%s", self->name);
	EXPECT_EQ(-1, stat(path, &st));
	/* A new queue of the same name is a different queue. */
	ASSERT_EQ(0, mqt_add(&self->nl, self->name, NULL, NULL));
	EXPECT_EQ(-1, read(self->fd, buf, sizeof(buf)));
	EXPECT_EQ(EIDRM, errno);
}

/* A child that writes @len bytes of @byte and exits 0 on success, or with
 * the errno; SIGALRM after @secs interrupts it (exit EINTR). */
static pid_t writer_child(const char *name, size_t len, char byte, int secs)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	pid_t pid = fork();

	if (pid == 0) {
		static char buf[SMALL_MAX];
		int fd = mqt_open(name, O_WRONLY);

		sigaction(SIGALRM, &sa, NULL);
		memset(buf, byte, len);
		alarm(secs);
		_exit(write(fd, buf, len) == (ssize_t)len ? 0 : errno);
	}
	return pid;
}

static int wait_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static void wait_blocked_writers(struct __test_metadata *_metadata, int fd,
				 unsigned int n)
{
	struct mq_info info;

	for (int i = 0; i < 1000; i++) {
		ASSERT_EQ(0, mqt_info(fd, &info));
		if (info.blocked_writers == n)
			return;
		usleep(10000);
	}
	ASSERT_EQ(n, info.blocked_writers);
}

/* A big writer that gives up must not leave a small one behind it asleep. */
TEST_F(q, writer_leaving_on_signal_passes_room_on)
{
	static char buf[SMALL_MAX];
	pid_t big, small;

	for (int i = 0; i < 3; i++)
		ASSERT_EQ(SMALL_MAX, write(self->fd, buf, SMALL_MAX));
	ASSERT_EQ(100, write(self->fd, buf, 100));
	big = writer_child(self->name, SMALL_MAX, 'b', 1);
	wait_blocked_writers(_metadata, self->fd, 1);
	small = writer_child(self->name, 100, 's', 30);
	wait_blocked_writers(_metadata, self->fd, 2);
	EXPECT_EQ(EINTR, wait_status(big));
	/* Nobody reads, yet the small one fits and gets in. */
	EXPECT_EQ(0, wait_status(small));
}

/* Writers waiting for room, more than a queue's worth: nothing lost. */
TEST_F(q, many_sleeping_writers_all_get_in)
{
	static char buf[SMALL_MAX + 1];
	pid_t pids[6];
	struct mq_info info;

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(SMALL_MAX, write(self->fd, buf, SMALL_MAX));
	for (int i = 0; i < 6; i++) {
		pids[i] = writer_child(self->name, SMALL_MAX, 'A' + i, 60);
		wait_blocked_writers(_metadata, self->fd, i + 1);
	}
	/* Concurrent writers have no order among them: each gets in once. */
	int seen[6] = { 0 };

	for (int i = 0; i < 4 + 6; i++) {
		ASSERT_EQ(SMALL_MAX, read(self->fd, buf, sizeof(buf)));
		if (i >= 4 && buf[0] >= 'A' && buf[0] < 'A' + 6)
			seen[buf[0] - 'A']++;
	}
	for (int i = 0; i < 6; i++) {
		EXPECT_EQ(1, seen[i]) TH_LOG("writer %c", 'A' + i);
	}
	for (int i = 0; i < 6; i++)
		EXPECT_EQ(0, wait_status(pids[i]));
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(0, info.depth_msgs);
	EXPECT_EQ(10, info.msgs_in);
}

/* Lowering max-msg fails every sleeping writer whose message no longer fits. */
TEST_F(q, lowered_max_msg_fails_sleeping_writers)
{
	pid_t pids[3];

	for (int i = 0; i < SMALL_CAP; i++)
		ASSERT_EQ(1, write(self->fd, "x", 1));
	for (int i = 0; i < 3; i++) {
		pids[i] = writer_child(self->name, i == 1 ? 10 : 100, 'w', 30);
		wait_blocked_writers(_metadata, self->fd, i + 1);
	}
	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_MAX_MSG,
				 50, NULL));
	EXPECT_EQ(EMSGSIZE, wait_status(pids[0]));
	EXPECT_EQ(EMSGSIZE, wait_status(pids[2]));
	wait_blocked_writers(_metadata, self->fd, 1);
	ASSERT_EQ(1, read(self->fd, (char[8]){ 0 }, 8));
	EXPECT_EQ(0, wait_status(pids[1]));
}

TEST_F(q, info_ioctl_sizes_and_flags)
{
	struct {
		struct mq_info info;
		uint64_t newer[4];
	} big;
	struct mq_info info;

	ASSERT_EQ(3, write(self->fd, "abc", 3));
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(sizeof(info), info.size);
	EXPECT_EQ(SMALL_MAX, info.max_msg);
	EXPECT_EQ(SMALL_CAP, info.cap_msgs);
	EXPECT_EQ(4 * SMALL_MAX, info.cap_bytes);
	EXPECT_EQ(1, info.depth_msgs);
	EXPECT_EQ(3, info.depth_bytes);
	EXPECT_EQ(3, info.bytes_in);
	EXPECT_EQ(1, info.open_fds);

	/* A newer, larger struct with a zeroed tail is fine. */
	memset(&big, 0, sizeof(big));
	big.info.size = sizeof(big);
	ASSERT_EQ(0, ioctl(self->fd, MQ_IOC_INFO, &big));
	EXPECT_EQ(sizeof(struct mq_info), big.info.size);
	/* ... but not with unknown non-zero fields. */
	memset(&big, 0, sizeof(big));
	big.info.size = sizeof(big);
	big.newer[2] = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_INFO, &big));
	EXPECT_EQ(E2BIG, errno);

	memset(&info, 0, sizeof(info));
	info.size = MQ_INFO_SIZE_VER0 - 8;
	EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	info.size = 1 << 20;
	EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_INFO, &info));
	EXPECT_EQ(E2BIG, errno);

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.flags = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	info.flags = 0;
	info.reserved0 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	info.reserved0 = 0;
	info.reserved1 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_INFO, &info));
	EXPECT_EQ(EINVAL, errno);

	EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_INFO, bad_ptr()));
	EXPECT_EQ(EFAULT, errno);
}

TEST_F(q, junk_ioctls_are_enotty)
{
	unsigned int cmds[] = {
		0, 1, _IO(MQ_IOC_MAGIC, 0), _IO(MQ_IOC_MAGIC, 0x7f),
		MQ_IOC_RING_ENTER,	/* a ring fd's, not a queue fd's */
		/* MQ_IOC_INFO's number with another direction */
		_IO(MQ_IOC_MAGIC, 1), _IOR(MQ_IOC_MAGIC, 1, struct mq_info),
		_IOW(MQ_IOC_MAGIC, 1, struct mq_info), TCGETS, FIONREAD,
		0xffffffff,
	};
	char buf[256] = { 0 };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, cmds[i], buf));
		EXPECT_EQ(ENOTTY, errno) TH_LOG("cmd %#x", cmds[i]);
	}
}

/* The ABI's growth rules: outputs go in zero, the number's size is ignored. */
TEST_F(q, info_outputs_in_zero_and_any_size_in_the_number)
{
	struct mq_info info;
	size_t off;

	ASSERT_EQ(0, mqt_info(self->fd, &info));
	/* Reusing a filled struct: its outputs are not zero. */
	EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_INFO, &info));
	EXPECT_EQ(EINVAL, errno);
	/* Each output field alone. */
	for (off = offsetof(struct mq_info, queue_id); off < sizeof(info);
	     off += 4) {
		memset(&info, 0, sizeof(info));
		info.size = sizeof(info);
		((unsigned char *)&info)[off] = 1;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_INFO, &info));
		EXPECT_EQ(EINVAL, errno) TH_LOG("byte %zu", off);
	}
	/* A number built from an older (or newer) header of another size. */
	memset(&info, 0, sizeof(info));
	info.size = MQ_INFO_SIZE_VER0;
	EXPECT_EQ(0, ioctl(self->fd, _IOC(_IOC_READ | _IOC_WRITE, MQ_IOC_MAGIC,
					  1, MQ_INFO_SIZE_VER0), &info));
	EXPECT_EQ(MQ_INFO_SIZE_VER0, info.size);
	EXPECT_EQ(0, info.ident);	/* past the caller's size: untouched */
}

/* The identity: the same in MQ_IOC_INFO and netlink, never reused. */
TEST_F(q, ident_is_never_reused)
{
	struct mq_info info;
	struct mqt_reply r;
	uint64_t first;
	int fd;

	ASSERT_EQ(0, mqt_info(self->fd, &info));
	ASSERT_NE(0, info.ident);
	first = info.ident;
	ASSERT_EQ(0, mqt_name_cmd(&self->nl, MQ_CMD_QUEUE_GET, self->name, &r));
	ASSERT_NE(NULL, r.tb[MQ_A_QUEUE_IDENT]);
	EXPECT_EQ(first, nla_get_u64(r.tb[MQ_A_QUEUE_IDENT]));
	mqt_reply_free(&r);

	/* Deleted and created again under its name: another queue. */
	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, mqt_del(&self->nl, self->name));
	ASSERT_EQ(0, mqt_add(&self->nl, self->name, NULL, NULL));
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqt_info(fd, &info));
	EXPECT_NE(0, info.ident);
	EXPECT_NE(first, info.ident);
	self->fd = fd;
}

TEST_F(q, recv_tells_offset_time_and_flags)
{
	struct mq_recv rv;
	char buf[64];
	struct timespec now;
	int fd;

	clock_gettime(CLOCK_REALTIME, &now);
	ASSERT_EQ(3, write(self->fd, "abc", 3));
	ASSERT_EQ(2, write(self->fd, "de", 2));
	memset(&rv, 0, sizeof(rv));
	rv.size = sizeof(rv);
	rv.buf = (uintptr_t)buf;
	rv.buf_len = 2;
	EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_RECV, &rv));
	EXPECT_EQ(EMSGSIZE, errno);
	rv.buf_len = sizeof(buf);
	rv.reserved1 = 1;
	EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_RECV, &rv));
	EXPECT_EQ(EINVAL, errno);
	rv.reserved1 = 0;
	rv.size = MQ_RECV_SIZE_VER0 - 8;
	EXPECT_EQ(-1, ioctl(self->fd, MQ_IOC_RECV, &rv));
	EXPECT_EQ(EINVAL, errno);
	rv.size = sizeof(rv);
	ASSERT_EQ(0, ioctl(self->fd, MQ_IOC_RECV, &rv));
	EXPECT_EQ(3, rv.len);
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
	EXPECT_EQ(0, rv.offset);
	EXPECT_EQ(0, rv.msg_flags);
	/* Coarse time: within a couple of ticks of the write. */
	EXPECT_LE((uint64_t)now.tv_sec * 1000000000ULL - 100000000ULL, rv.tstamp_ns);
	memset(&rv, 0, sizeof(rv));
	rv.size = sizeof(rv);
	rv.buf = (uintptr_t)buf;
	rv.buf_len = sizeof(buf);
	ASSERT_EQ(0, ioctl(self->fd, MQ_IOC_RECV, &rv));
	EXPECT_EQ(1, rv.offset);
	EXPECT_EQ(2, rv.len);
	/* Empty and non-blocking: as read(2). */
	memset(&rv, 0, sizeof(rv));
	rv.size = sizeof(rv);
	rv.buf = (uintptr_t)buf;
	rv.buf_len = sizeof(buf);
	fd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, MQ_IOC_RECV, &rv));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

TEST_F(q, no_seek)
{
	EXPECT_EQ(-1, lseek(self->fd, 0, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
}

TEST_F(q, lower_limits_keep_messages)
{
	static char buf[SMALL_MAX];
	struct mq_info info;
	struct mqt_reply r;

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(100, write(self->fd, buf, 100));
	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_CAP_MSGS,
				 2, &r));
	ASSERT_EQ(0, mqt_info(self->fd, &info));
	EXPECT_EQ(4, info.depth_msgs);
	EXPECT_EQ(2, info.cap_msgs);
	int fd = mqt_open(self->name, O_RDWR | O_NONBLOCK);

	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, write(fd, buf, 1));
	EXPECT_EQ(EAGAIN, errno);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(100, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(1, write(fd, buf, 1));
	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_MAX_MSG,
				 10, &r));
	EXPECT_EQ(-1, write(fd, buf, 11));
	EXPECT_EQ(EMSGSIZE, errno);
	close(fd);
}

TEST_F(q, many_fds_share_one_queue)
{
	int fds[16];
	char buf[8];

	for (int i = 0; i < 16; i++) {
		fds[i] = mqt_open(self->name, i & 1 ? O_RDONLY : O_WRONLY);
		ASSERT_LE(0, fds[i]);
	}
	for (int i = 0; i < 16; i += 2)
		ASSERT_EQ(1, write(fds[i], "z", 1));
	for (int i = 1; i < 16; i += 2)
		ASSERT_EQ(1, read(fds[i], buf, sizeof(buf)));
	/* Access mode of the fd is enforced by the VFS. */
	EXPECT_EQ(-1, read(fds[0], buf, sizeof(buf)));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-1, write(fds[1], "z", 1));
	EXPECT_EQ(EBADF, errno);
	for (int i = 0; i < 16; i++)
		close(fds[i]);
}

/* Default limits of a queue created with none given, and 4 MiB messages. */
TEST(defaults_and_max_size)
{
	struct mqt_nl nl;
	struct mqt_limits l = { .max_msg = MQ_MAX_MSG_LIMIT, .mode = -1,
				.cap_bytes = 2ULL * MQ_MAX_MSG_LIMIT };
	struct mq_info info;
	char name[64];
	char *in, *out;
	int fd;

	ASSERT_EQ(0, mqt_nl_open(&nl));
	MQT_NAME(name, "d");
	ASSERT_EQ(0, mqt_add(&nl, name, NULL, NULL));
	fd = mqt_open(name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mqt_info(fd, &info));
	EXPECT_EQ(MQ_DEFAULT_MAX_MSG, info.max_msg);
	EXPECT_EQ(MQ_DEFAULT_CAP_MSGS, info.cap_msgs);
	EXPECT_EQ(MQ_DEFAULT_CAP_BYTES, info.cap_bytes);
	close(fd);
	ASSERT_EQ(0, mqt_del(&nl, name));

	ASSERT_EQ(0, mqt_add(&nl, name, &l, NULL));
	fd = mqt_open(name, O_RDWR);
	ASSERT_LE(0, fd);
	in = malloc(MQ_MAX_MSG_LIMIT + 1);
	out = malloc(MQ_MAX_MSG_LIMIT + 1);
	fill(in, MQ_MAX_MSG_LIMIT, 7);
	EXPECT_EQ(MQ_MAX_MSG_LIMIT, write(fd, in, MQ_MAX_MSG_LIMIT));
	EXPECT_EQ(-1, write(fd, in, MQ_MAX_MSG_LIMIT + 1));
	EXPECT_EQ(EMSGSIZE, errno);
	EXPECT_EQ(MQ_MAX_MSG_LIMIT, read(fd, out, MQ_MAX_MSG_LIMIT + 1));
	EXPECT_EQ(0, memcmp(in, out, MQ_MAX_MSG_LIMIT));
	free(in);
	free(out);
	close(fd);
	ASSERT_EQ(0, mqt_del(&nl, name));
	mqt_nl_close(&nl);
}

/* Large messages span several pages inside the kernel: gather and scatter
 * across those boundaries at odd offsets, contents checked. */
TEST(large_writev_readv_across_pages)
{
	static char in[21000], a[3000], b[18000];
	struct iovec wv[3] = { { in, 5000 }, { in + 5000, 7001 },
			       { in + 12001, 8999 } };
	struct iovec rv[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
	struct mqt_limits l = { .max_msg = 65536, .mode = -1 };
	struct mqt_nl nl;
	char name[64];
	int fd;

	ASSERT_EQ(0, mqt_nl_open(&nl));
	MQT_NAME(name, "v");
	ASSERT_EQ(0, mqt_add(&nl, name, &l, NULL));
	fd = mqt_open(name, O_RDWR);
	ASSERT_LE(0, fd);
	fill(in, sizeof(in), 3);
	for (size_t len = 4000; len <= 12300; len += 97) {
		char out[12300];

		ASSERT_EQ((ssize_t)len, write(fd, in, len));
		ASSERT_EQ((ssize_t)len, read(fd, out, sizeof(out)));
		ASSERT_EQ(0, memcmp(in, out, len)) TH_LOG("len %zu", len);
	}
	ASSERT_EQ(21000, writev(fd, wv, 3));
	ASSERT_EQ(21000, readv(fd, rv, 2));
	EXPECT_EQ(0, memcmp(in, a, sizeof(a)));
	EXPECT_EQ(0, memcmp(in + sizeof(a), b, sizeof(b)));
	close(fd);
	ASSERT_EQ(0, mqt_del(&nl, name));
	mqt_nl_close(&nl);
}

TEST_HARNESS_MAIN
