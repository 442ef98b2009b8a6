// SPDX-License-Identifier: GPL-2.0
/*
 * Concurrency: competing producers and consumers lose, duplicate, reorder
 * or corrupt nothing; and a randomized mix of every operation, deletes and
 * closes included, runs for a bounded time without harm.
 */
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#include "mqtest.h"
#include "kselftest_harness.h"

#define PRODUCERS	4
#define CONSUMERS	4
#define PER_PRODUCER	100000
#define STOP		0xffffffffu

struct rec {
	uint32_t producer;
	uint32_t seq;
	uint32_t len;		/* payload bytes after the header */
	uint32_t sum;		/* FNV-1a of the payload */
	uint8_t payload[];
};

struct shared {
	_Atomic uint8_t seen[PRODUCERS][PER_PRODUCER];
	_Atomic uint64_t bad_sum, bad_order, bad_len, dups;
};

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

static int producer(const char *name, uint32_t id)
{
	uint8_t buf[sizeof(struct rec) + 256];
	struct rec *r = (struct rec *)buf;
	int fd = mqt_open(name, O_WRONLY);
	uint32_t x = id * 2654435761u + 1;

	if (fd < 0)
		return 1;
	for (uint32_t seq = 0; seq < PER_PRODUCER; seq++) {
		x = x * 1103515245u + 12345u;
		r->producer = id;
		r->seq = seq;
		r->len = (x >> 8) % 241 + 1;
		for (uint32_t i = 0; i < r->len; i++)
			r->payload[i] = (uint8_t)(x + i * 31);
		r->sum = fnv1a(r->payload, r->len);
		if (write(fd, buf, sizeof(*r) + r->len) !=
		    (ssize_t)(sizeof(*r) + r->len))
			return 2;
	}
	close(fd);
	return 0;
}

static int consumer(const char *name, struct shared *sh)
{
	uint8_t buf[sizeof(struct rec) + 256];
	struct rec *r = (struct rec *)buf;
	int64_t last[PRODUCERS];
	int fd = mqt_open(name, O_RDONLY);

	if (fd < 0)
		return 1;
	for (int i = 0; i < PRODUCERS; i++)
		last[i] = -1;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < (ssize_t)sizeof(*r))
			return 2;
		if (r->producer == STOP)
			break;
		if (r->producer >= PRODUCERS || r->seq >= PER_PRODUCER ||
		    n != (ssize_t)(sizeof(*r) + r->len)) {
			sh->bad_len++;
			continue;
		}
		if (fnv1a(r->payload, r->len) != r->sum)
			sh->bad_sum++;
		if ((int64_t)r->seq <= last[r->producer])
			sh->bad_order++;
		last[r->producer] = r->seq;
		if (atomic_fetch_add(&sh->seen[r->producer][r->seq], 1))
			sh->dups++;
	}
	close(fd);
	return 0;
}

FIXTURE(stress) {
	int unused;
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
}

/* 400,000 messages under TCG take a while: allow minutes, not seconds. */
TEST_F_TIMEOUT(stress, producers_4x4_nothing_lost, 400)
{
	struct mqt_limits l = { .cap_msgs = 256, .mode = -1 };
	struct shared *sh;
	struct mqt_nl nl;
	pid_t pids[PRODUCERS + CONSUMERS];
	struct rec stop = { .producer = STOP };
	uint64_t missing = 0;
	char name[64];
	int status, fd;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	ASSERT_EQ(0, mqt_nl_open(&nl));
	MQT_NAME(name, "s");
	ASSERT_EQ(0, mqt_add(&nl, name, &l, NULL));

	for (int i = 0; i < PRODUCERS + CONSUMERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0)
			_exit(i < PRODUCERS ? producer(name, i) :
					      consumer(name, sh));
	}
	for (int i = 0; i < PRODUCERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	/* FIFO: the stop records come after every data record. */
	fd = mqt_open(name, O_WRONLY);
	ASSERT_LE(0, fd);
	for (int i = 0; i < CONSUMERS; i++)
		ASSERT_EQ(sizeof(stop), write(fd, &stop, sizeof(stop)));
	close(fd);
	for (int i = PRODUCERS; i < PRODUCERS + CONSUMERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	for (int p = 0; p < PRODUCERS; p++)
		for (int s = 0; s < PER_PRODUCER; s++)
			missing += sh->seen[p][s] == 0;
	EXPECT_EQ(0, missing);
	EXPECT_EQ(0, sh->dups);
	EXPECT_EQ(0, sh->bad_order);
	EXPECT_EQ(0, sh->bad_sum);
	EXPECT_EQ(0, sh->bad_len);
	ksft_print_msg("%d messages through 4x4, %lu missing, %lu duplicated\n",
		       PRODUCERS * PER_PRODUCER, (unsigned long)missing,
		       (unsigned long)sh->dups);
	EXPECT_EQ(0, mqt_del(&nl, name));
	mqt_nl_close(&nl);
	munmap(sh, sizeof(*sh));
}

/* ---- randomized mix ---- */

#define POOL		3
#define WORKERS		6
#define MIX_SECONDS	20

static void on_alarm(int sig)
{
}

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void mix_worker(const char *prefix, uint32_t seed, time_t until)
{
	static uint8_t buf[70000];
	struct sigaction sa = { .sa_handler = on_alarm };
	int fds[8] = { -1, -1, -1, -1, -1, -1, -1, -1 };
	struct mqt_limits l = { .mode = -1 };
	struct mqt_nl nl;
	char name[64];

	sigaction(SIGALRM, &sa, NULL);
	if (mqt_nl_open(&nl))
		_exit(1);
	while (time(NULL) < until) {
		int slot = rnd(&seed) % 8, fd = fds[slot];
		struct mq_info info;
		struct pollfd p;
		size_t len;

		snprintf(name, sizeof(name), "%s%u", prefix, rnd(&seed) % POOL);
		switch (rnd(&seed) % 12) {
		case 0:
			l.max_msg = rnd(&seed) % 2 ? 0 : rnd(&seed) % 70000;
			l.cap_msgs = rnd(&seed) % 64;
			mqt_add(&nl, name, &l, NULL);
			break;
		case 1:
			if (rnd(&seed) % 4 == 0)
				mqt_del(&nl, name);
			break;
		case 2:
			mqt_set_u32(&nl, name, MQ_A_QUEUE_CAP_MSGS,
				    rnd(&seed) % 40, NULL);
			break;
		case 3:
			if (fd >= 0)
				close(fd);
			fds[slot] = mqt_open(name, O_RDWR |
					     (rnd(&seed) % 2 ? O_NONBLOCK : 0));
			break;
		case 4:
			if (fd >= 0)
				close(fd);
			fds[slot] = -1;
			break;
		case 5: case 6:
			len = rnd(&seed) % 3 ? rnd(&seed) % 512 :
					       rnd(&seed) % sizeof(buf);
			ualarm(20000, 0);
			if (fd >= 0)
				(void)!write(fd, buf, len);
			ualarm(0, 0);
			break;
		case 7: case 8:
			len = rnd(&seed) % sizeof(buf);
			ualarm(20000, 0);
			if (fd >= 0)
				(void)!read(fd, buf, len);
			ualarm(0, 0);
			break;
		case 9:
			if (fd >= 0)
				mqt_info(fd, &info);
			break;
		case 10:
			p.fd = fd;
			p.events = POLLIN | POLLOUT;
			poll(&p, 1, rnd(&seed) % 5);
			break;
		case 11:
			if (fd >= 0 && rnd(&seed) % 8 == 0) {
				pid_t pid = fork();

				/* A child that holds the fd and dies. */
				if (pid == 0) {
					ualarm(20000, 0);
					(void)!write(fd, "c", 1);
					_exit(0);
				}
				if (pid > 0)
					waitpid(pid, NULL, 0);
			}
			break;
		}
	}
	mqt_nl_close(&nl);
	_exit(0);
}

TEST_F_TIMEOUT(stress, randomized_mix, MIX_SECONDS + 100)
{
	uint32_t seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();
	time_t until = time(NULL) + MIX_SECONDS;
	struct mqt_nl nl;
	pid_t pids[WORKERS];
	static char big[MQ_MAX_MSG_LIMIT];
	char prefix[32], name[64], buf[16];
	int status, fd;

	ksft_print_msg("randomized mix: seed %u, %d workers, %d s\n", seed,
		       WORKERS, MIX_SECONDS);
	snprintf(prefix, sizeof(prefix), "mix%d-", getpid());
	for (int i = 0; i < WORKERS; i++) {
		pids[i] = fork();
		ASSERT_LE(0, pids[i]);
		if (pids[i] == 0)
			mix_worker(prefix, seed + i * 7919, until);
	}
	for (int i = 0; i < WORKERS; i++) {
		ASSERT_EQ(pids[i], waitpid(pids[i], &status, 0));
		EXPECT_TRUE(WIFEXITED(status));
		EXPECT_EQ(0, WEXITSTATUS(status));
	}
	/* Afterwards every pool queue still works and can be deleted. */
	ASSERT_EQ(0, mqt_nl_open(&nl));
	for (int i = 0; i < POOL; i++) {
		struct mqt_limits l = { .mode = -1 };
		struct mq_info info;

		snprintf(name, sizeof(name), "%s%d", prefix, i);
		if (!mqt_exists(&nl, name))
			ASSERT_EQ(0, mqt_add(&nl, name, &l, NULL));
		ASSERT_EQ(0, mqt_set_u32(&nl, name, MQ_A_QUEUE_CAP_MSGS,
					 4096, NULL));
		fd = mqt_open(name, O_RDWR | O_NONBLOCK);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, mqt_info(fd, &info));
		EXPECT_EQ(info.depth_msgs, info.tail_offset - info.head_offset);
		EXPECT_EQ(info.msgs_in - info.msgs_out, info.depth_msgs);
		EXPECT_EQ(info.bytes_in - info.bytes_out, info.depth_bytes);
		EXPECT_EQ(0, info.blocked_readers);
		EXPECT_EQ(0, info.blocked_writers);
		EXPECT_EQ(1, info.open_fds);
		/* Drain what the mix left, then a fresh message round-trips. */
		while (read(fd, big, sizeof(big)) > 0)
			;
		EXPECT_EQ(EAGAIN, errno);
		ASSERT_EQ(0, mqt_set_u32(&nl, name, MQ_A_QUEUE_MAX_MSG, 64,
					 NULL));
		ASSERT_EQ(5, write(fd, "sane!", 5));
		ASSERT_EQ(5, read(fd, buf, sizeof(buf)));
		EXPECT_EQ(0, memcmp(buf, "sane!", 5));
		close(fd);
		EXPECT_EQ(0, mqt_del(&nl, name));
	}
	mqt_nl_close(&nl);
}

TEST_HARNESS_MAIN
