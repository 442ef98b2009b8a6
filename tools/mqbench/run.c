// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: one timed run of one cell.
 *
 * The parent forks C consumers, then P producers. Each child opens its
 * endpoint, reports ready on a pipe and blocks reading a second pipe; the
 * parent takes the start time and closes that pipe, which releases everyone
 * at once. Each producer sends N messages carrying (producer, sequence);
 * the last producer to finish then sends one stop message per consumer,
 * which (the mechanisms being FIFO) arrive after every data message, so no
 * consumer is left blocked in recv. Consumers mark each (producer, sequence)
 * in a bitmap in shared memory: a bit already set is a duplicate, a bit
 * never set is a loss. The consumer that takes the last data message
 * records the end time. Mechanisms of independent pairs (mech_ops.spsc)
 * instead have every producer send its own consumer one stop message.
 *
 * A latency run (run_latency()) has one producer and one consumer and
 * one message in flight: the producer stamps CLOCK_MONOTONIC into the
 * message, sends (and flushes) it, and waits until the consumer, which
 * takes the time as soon as it has the message, says it got it.
 */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/futex.h>

#include "mqbench.h"

#define MAGIC_DATA	0x6d714264u	/* "mqBd" */
#define MAGIC_STOP	0x6d714273u	/* "mqBs" */
#define TAIL_KEY	0x9e3779b97f4a7c15ull
#define RECV_SLACK	4096		/* so an oversized message shows */
#define MAX_REPORTS	3		/* per consumer, on stderr */
#define DRAIN_GRACE_NS	(10 * 1000000000ull)

struct msg_hdr {
	uint32_t magic;
	uint32_t producer;
	uint64_t seq;
};

/* In a latency run the producer's clock follows the header. */
#define STAMP_OFF	sizeof(struct msg_hdr)

struct shared {
	uint64_t consumed __attribute__((aligned(64)));
	uint64_t end_ns __attribute__((aligned(64)));
	uint32_t producers_done;
	uint32_t stops;
	uint64_t dups;
	uint64_t bad;
	uint64_t reordered;
	uint32_t error_claimed;
	char first_error[256];
	uint64_t per_consumer[MQBENCH_MAX_PROCS];	/* messages each took */
	uint32_t acked __attribute__((aligned(64)));	/* latency: futex */
	uint64_t bitmap[] __attribute__((aligned(64)));
	/* then, in a latency run, a sample (ns) per message */
};

struct run {
	const struct mech_ops *mech;
	const struct mech_ctx *ctx;
	unsigned long per_producer;
	uint64_t total;
	size_t words;			/* bitmap words per producer */
	struct shared *sh;
	uint64_t *lat;			/* latency run: samples, else NULL */
	pid_t parent;
	int ready_fd;			/* child: write end */
	int go_fd;			/* child: read end */
};

static int stop_signal;

/*
 * The parent keeps SIGINT, SIGTERM and SIGCHLD blocked and collects them
 * with sigtimedwait(), so an interrupted run can still kill its children,
 * delete its queue and restore the sysctls. Children unblock everything.
 */
static void on_sigchld(int sig)
{
}

void signals_block(void)
{
	struct sigaction sa = { .sa_handler = on_sigchld };
	sigset_t set;

	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

/* Returns the signal that asked us to stop, or 0. */
int interrupted(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;
	int sig;

	if (stop_signal)
		return stop_signal;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sig = sigtimedwait(&set, NULL, &zero);
	if (sig > 0)
		stop_signal = sig;
	return stop_signal;
}

static uint64_t tail_word(uint32_t producer, uint64_t seq)
{
	return seq ^ TAIL_KEY ^ ((uint64_t)producer << 40);
}

static void report(struct run *r, int *reports, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct run *r, int *reports, const char *fmt, ...)
{
	struct shared *sh = r->sh;
	char buf[sizeof(sh->first_error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!__atomic_exchange_n(&sh->error_claimed, 1, __ATOMIC_ACQ_REL))
		memcpy(sh->first_error, buf, sizeof(buf));
	if ((*reports)++ < MAX_REPORTS)
		errmsg("%s: %s", r->mech->name, buf);
}

static void fill_msg(void *buf, size_t len, uint32_t magic, uint32_t producer,
		     uint64_t seq)
{
	struct msg_hdr h = { .magic = magic, .producer = producer, .seq = seq };
	uint64_t tail = tail_word(producer, seq);

	memcpy(buf, &h, sizeof(h));
	memcpy((char *)buf + len - sizeof(tail), &tail, sizeof(tail));
}

static int send_msg(struct run *r, struct endpoint *ep, unsigned char *buf,
		    size_t len, uint32_t magic, int id, uint64_t seq,
		    bool corrupt)
{
	fill_msg(buf, len, magic, id, seq);
	if (corrupt)
		buf[len - 1] ^= 0xff;
	return r->mech->send(ep, buf, len);
}

/* One message of producer 0 goes wrong, to prove the checks catch it. */
static int send_faulty(struct run *r, struct endpoint *ep, unsigned char *buf,
		       size_t len, uint64_t seq)
{
	int ret;

	switch (r->ctx->opts->fault) {
	case FAULT_DROP:
		return 0;
	case FAULT_DUP:
		ret = send_msg(r, ep, buf, len, MAGIC_DATA, 0, seq, false);
		return ret ?: send_msg(r, ep, buf, len, MAGIC_DATA, 0, seq,
				       false);
	case FAULT_REORDER:
		if (seq + 1 >= r->per_producer)
			break;
		ret = send_msg(r, ep, buf, len, MAGIC_DATA, 0, seq + 1, false);
		return ret ?: send_msg(r, ep, buf, len, MAGIC_DATA, 0, seq,
				       false);
	case FAULT_CORRUPT:
		return send_msg(r, ep, buf, len, MAGIC_DATA, 0, seq, true);
	case FAULT_SHORT:
		return send_msg(r, ep, buf, len - 1, MAGIC_DATA, 0, seq, false);
	case FAULT_NONE:
		break;
	}
	return send_msg(r, ep, buf, len, MAGIC_DATA, 0, seq, false);
}

static int flush(struct run *r, struct endpoint *ep)
{
	return r->mech->flush ? r->mech->flush(ep) : 0;
}

static void futex_wait(uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, word, FUTEX_WAIT, val, NULL, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* The latency run's producer: one message, then wait for the consumer. */
static int produce_one(struct run *r, struct endpoint *ep, unsigned char *buf,
		       size_t len, unsigned long seq)
{
	uint32_t *acked = &r->sh->acked, v;
	uint64_t stamp;
	int ret;

	stamp = now_ns();
	fill_msg(buf, len, MAGIC_DATA, 0, seq);
	memcpy(buf + STAMP_OFF, &stamp, sizeof(stamp));
	ret = r->mech->send(ep, buf, len);
	if (!ret)
		ret = flush(r, ep);
	if (ret)
		return ret;
	while ((v = __atomic_load_n(acked, __ATOMIC_ACQUIRE)) != seq + 1)
		futex_wait(acked, v);
	return 0;
}

/*
 * The stop messages, after every data message is in the queue: one per
 * consumer from the last producer to finish, or with independent pairs
 * each producer's own consumer's.
 */
static int send_stops(struct run *r, struct endpoint *ep, unsigned char *buf,
		      size_t len, int id)
{
	const struct cell *c = &r->ctx->cell;
	int first = 0, count = c->consumers, k, ret = 0;

	if (r->mech->spsc) {
		first = id;
		count = 1;
	} else if (__atomic_add_fetch(&r->sh->producers_done, 1,
				      __ATOMIC_ACQ_REL) != (uint32_t)c->producers) {
		return 0;
	}
	for (k = first; k < first + count && !ret; k++)
		ret = send_msg(r, ep, buf, len, MAGIC_STOP, id, k, false);
	return ret ?: flush(r, ep);
}

static int produce(struct run *r, struct endpoint *ep, int id)
{
	size_t len = r->ctx->cell.msg_bytes;
	unsigned long seq;
	unsigned char *buf;
	size_t i;
	int ret = 0;

	buf = aligned_alloc(64, (len + 63) & ~(size_t)63);
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 7 + id);
	for (seq = 0; seq < r->per_producer; seq++) {
		if (r->lat) {
			ret = produce_one(r, ep, buf, len, seq);
		} else if (!id && seq == r->per_producer / 2 &&
			   r->ctx->opts->fault) {
			ret = send_faulty(r, ep, buf, len, seq);
			if (r->ctx->opts->fault == FAULT_REORDER)
				seq++;
		} else {
			ret = send_msg(r, ep, buf, len, MAGIC_DATA, id, seq,
				       false);
		}
		if (ret < 0) {
			errmsg("%s: producer %d: send of message %lu: %s",
			       r->mech->name, id, seq, strerror(-ret));
			goto out;
		}
	}
	ret = flush(r, ep);
	if (ret < 0) {
		errmsg("%s: producer %d: flush after the last message: %s",
		       r->mech->name, id, strerror(-ret));
		goto out;
	}
	ret = send_stops(r, ep, buf, len, id);
	if (ret < 0)
		errmsg("%s: producer %d: send of stop message: %s",
		       r->mech->name, id, strerror(-ret));
out:
	free(buf);
	return ret;
}

/* The latency run's consumer: the sample, then tell the producer. */
static void consumed_one(struct run *r, const void *msg, uint64_t t,
			 uint64_t seq)
{
	uint64_t stamp;

	memcpy(&stamp, (const char *)msg + STAMP_OFF, sizeof(stamp));
	r->lat[seq] = t - stamp;
	__atomic_store_n(&r->sh->acked, (uint32_t)seq + 1, __ATOMIC_RELEASE);
	futex_wake(&r->sh->acked);
}

static int consume(struct run *r, struct endpoint *ep, int id)
{
	const struct cell *c = &r->ctx->cell;
	size_t len = c->msg_bytes, cap = len + RECV_SLACK;
	uint64_t next[MQBENCH_MAX_PROCS] = { 0 };
	struct shared *sh = r->sh;
	int reports = 0, ret = 0;
	uint64_t tail, bit, old, n, mine = 0, t = 0;
	struct msg_hdr h;
	const void *msg;
	uint64_t *word;
	void *buf;
	ssize_t got;

	buf = aligned_alloc(64, (cap + 63) & ~(size_t)63);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (r->mech->peek) {
			got = r->mech->peek(ep, &msg);
		} else {
			got = r->mech->recv(ep, buf, cap);
			msg = buf;
		}
		if (r->lat)
			t = now_ns();
		if (got < 0) {
			errmsg("%s: consumer %d: recv: %s", r->mech->name, id,
			       strerror((int)-got));
			ret = (int)got;
			break;
		}
		if (!got) {
			errmsg("%s: consumer %d: recv: end of file",
			       r->mech->name, id);
			ret = -EPIPE;
			break;
		}
		if ((size_t)got != len) {
			__atomic_add_fetch(&sh->bad, 1, __ATOMIC_RELAXED);
			report(r, &reports, "consumer %d got a message of %zd bytes, sent %zu",
			       id, got, len);
			continue;
		}
		memcpy(&h, msg, sizeof(h));
		memcpy(&tail, (const char *)msg + len - sizeof(tail),
		       sizeof(tail));
		if (h.magic == MAGIC_STOP) {
			__atomic_add_fetch(&sh->stops, 1, __ATOMIC_RELAXED);
			break;
		}
		if (h.magic != MAGIC_DATA || h.producer >= (uint32_t)c->producers ||
		    h.seq >= r->per_producer ||
		    tail != tail_word(h.producer, h.seq)) {
			__atomic_add_fetch(&sh->bad, 1, __ATOMIC_RELAXED);
			report(r, &reports, "consumer %d got a corrupt message (magic %#x producer %u seq %llu)",
			       id, h.magic, h.producer, (unsigned long long)h.seq);
			continue;
		}
		if (r->lat)
			consumed_one(r, msg, t, h.seq);
		word = &sh->bitmap[h.producer * r->words + h.seq / 64];
		bit = 1ull << (h.seq % 64);
		old = __atomic_fetch_or(word, bit, __ATOMIC_RELAXED);
		if (old & bit) {
			__atomic_add_fetch(&sh->dups, 1, __ATOMIC_RELAXED);
			report(r, &reports, "consumer %d got producer %u's message %llu twice",
			       id, h.producer, (unsigned long long)h.seq);
			continue;
		}
		if (r->mech->fifo && h.seq < next[h.producer]) {
			__atomic_add_fetch(&sh->reordered, 1, __ATOMIC_RELAXED);
			report(r, &reports, "consumer %d got producer %u's message %llu after %llu",
			       id, h.producer, (unsigned long long)h.seq,
			       (unsigned long long)next[h.producer] - 1);
		}
		next[h.producer] = h.seq + 1;
		mine++;
		n = __atomic_add_fetch(&sh->consumed, 1, __ATOMIC_ACQ_REL);
		if (n == r->total)
			__atomic_store_n(&sh->end_ns, now_ns(), __ATOMIC_RELEASE);
	}
	sh->per_consumer[id] = mine;
	free(buf);
	return ret;
}

static void __attribute__((noreturn))
child_main(struct run *r, bool producer, int id)
{
	struct endpoint ep = { .ctx = r->ctx, .fd = -1 };
	sigset_t none;
	ssize_t n;
	char c;
	int ret;

	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Nobody would drain or stop us once the parent is gone. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != r->parent)
		_exit(1);

	if (producer)
		ret = r->mech->open_producer(r->ctx, id, &ep);
	else
		ret = r->mech->open_consumer(r->ctx, id, &ep);
	if (ret < 0) {
		errmsg("%s: %s %d: open: %s", r->mech->name,
		       producer ? "producer" : "consumer", id, strerror(-ret));
		c = 'E';
		n = write(r->ready_fd, &c, 1);
		_exit(1);
	}
	c = 'R';
	n = write(r->ready_fd, &c, 1);
	close(r->ready_fd);
	do {
		n = read(r->go_fd, &c, 1);	/* EOF is the start signal */
	} while (n < 0 && errno == EINTR);
	close(r->go_fd);

	ret = producer ? produce(r, &ep, id) : consume(r, &ep, id);
	if (r->mech->close)
		r->mech->close(&ep);
	_exit(ret ? 1 : 0);
}

static void kill_all(pid_t *pids, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			kill(pids[i], SIGKILL);
}

/*
 * Reap every child; on the first failure, timeout or signal kill the rest
 * (they may be blocked on a queue nobody will drain). Returns 0 if every
 * child exited with status 0.
 */
static int wait_children(const char *name, pid_t *pids, int n,
			 int first_producer, uint64_t deadline)
{
	int left = n, producers = n - first_producer, failed = 0, status, i;
	uint64_t drain_deadline = UINT64_MAX;
	struct timespec ts;
	sigset_t set;
	uint64_t now;
	pid_t pid;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	while (left) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			for (i = 0; i < n && pids[i] != pid; i++)
				;
			if (i == n)
				continue;
			pids[i] = -1;
			left--;
			if (WIFEXITED(status) && !WEXITSTATUS(status)) {
				if (i >= first_producer && !--producers)
					drain_deadline = now_ns() + DRAIN_GRACE_NS;
				continue;
			}
			if (!failed) {
				if (WIFSIGNALED(status))
					errmsg("%s: a child was killed by signal %d",
					       name, WTERMSIG(status));
				failed = 1;
				kill_all(pids, n);
			}
		}
		if (!left)
			break;
		now = now_ns();
		if (now >= drain_deadline && !failed) {
			errmsg("%s: consumers still running %llu s after the last producer finished (a lost stop message, or a byte stream out of step?), killing them",
			       name, DRAIN_GRACE_NS / 1000000000ull);
			failed = 1;
			kill_all(pids, n);
		}
		if (now >= deadline && failed == 2) {
			errmsg("%s: %d children did not die from SIGKILL; leaving them",
			       name, left);
			break;
		}
		if (now >= deadline) {
			if (!failed) {
				errmsg("%s: run timed out (--timeout), killing it",
				       name);
				kill_all(pids, n);
			}
			failed = 2;	/* now only wait for SIGKILL to work */
			deadline = now + DRAIN_GRACE_NS;
		}
		ts.tv_sec = 0;
		ts.tv_nsec = 200 * 1000000;
		sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
			stop_signal = sig;
			if (!failed)
				kill_all(pids, n);
			failed = 1;
		}
	}
	return failed ? -1 : 0;
}

static int wait_ready(const char *name, int fd, int count, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[64];
	ssize_t n, i;
	uint64_t now;

	while (count > 0) {
		if (interrupted())
			return -1;
		now = now_ns();
		if (now >= deadline) {
			errmsg("%s: children did not get ready in time", name);
			return -1;
		}
		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;	/* every child is gone */
		}
		for (i = 0; i < n; i++)
			if (buf[i] != 'R')
				return -1;
		count -= n;
	}
	return 0;
}

static int verify(struct run *r, struct run_result *res, uint64_t t0)
{
	const struct cell *c = &r->ctx->cell;
	struct shared *sh = r->sh;
	const char *name = r->mech->name;
	uint64_t have, seq;
	int p;
	size_t w;

	if (sh->dups || sh->bad || sh->reordered) {
		errmsg("%s: %llu duplicate, %llu corrupt, %llu reordered messages; first: %s",
		       name, (unsigned long long)sh->dups,
		       (unsigned long long)sh->bad,
		       (unsigned long long)sh->reordered, sh->first_error);
		return -1;
	}
	for (p = 0; p < c->producers; p++) {
		have = 0;
		for (w = 0; w < r->words; w++)
			have += __builtin_popcountll(sh->bitmap[p * r->words + w]);
		if (have == r->per_producer)
			continue;
		for (seq = 0; seq < r->per_producer; seq++)
			if (!(sh->bitmap[p * r->words + seq / 64] &
			      (1ull << (seq % 64))))
				break;
		errmsg("%s: lost %llu of producer %d's %lu messages (first: %llu)",
		       name, (unsigned long long)(r->per_producer - have), p,
		       r->per_producer, (unsigned long long)seq);
		return -1;
	}
	if (sh->consumed != r->total || sh->stops != (uint32_t)c->consumers ||
	    !sh->end_ns) {
		errmsg("%s: consumed %llu of %llu messages and %u of %d stop messages",
		       name, (unsigned long long)sh->consumed,
		       (unsigned long long)r->total, sh->stops, c->consumers);
		return -1;
	}
	res->messages = r->total;
	res->seconds = (double)(sh->end_ns - t0) / 1e9;
	return 0;
}

/* Of the messages, the fractions the least and the most busy consumer took. */
static void consumer_shares(const struct run *r, struct run_result *res)
{
	const struct cell *c = &r->ctx->cell;
	uint64_t lo = UINT64_MAX, hi = 0, n;
	int i;

	res->share_min = res->share_max = NAN;
	if (c->consumers < 2 || !r->total)
		return;
	for (i = 0; i < c->consumers; i++) {
		n = r->sh->per_consumer[i];
		lo = n < lo ? n : lo;
		hi = n > hi ? n : hi;
	}
	res->share_min = (double)lo / (double)r->total;
	res->share_max = (double)hi / (double)r->total;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Percentiles of the samples, the first MQBENCH_LAT_WARMUP left out. */
static void latency_stats(struct run *r, struct latency_result *lat)
{
	uint64_t *v = r->lat + MQBENCH_LAT_WARMUP;
	size_t n = r->per_producer - MQBENCH_LAT_WARMUP;

	qsort(v, n, sizeof(*v), cmp_u64);
	lat->samples = n;
	lat->p50_us = (double)v[(n - 1) / 2] / 1e3;
	lat->p99_us = (double)v[(n * 99 + 99) / 100 - 1] / 1e3;
	lat->max_us = (double)v[n - 1] / 1e3;
}

/* Fork, release, reap and check one run of r; lat: a latency run's. */
static int run_common(struct run *r, struct run_result *res,
		      struct latency_result *lat)
{
	const struct mech_ops *mech = r->mech;
	const struct cell *c = &r->ctx->cell;
	int nchild = c->producers + c->consumers, i, ret = -1;
	pid_t pids[2 * MQBENCH_MAX_PROCS];
	int ready[2] = { -1, -1 }, go[2] = { -1, -1 };
	uint64_t deadline, t0;
	size_t map_len, bitmap_len;

	r->total = (uint64_t)r->per_producer * c->producers;
	r->parent = getpid();
	r->words = ((r->per_producer + 63) / 64 + 7) & ~(size_t)7;
	bitmap_len = r->words * c->producers * sizeof(uint64_t);
	map_len = sizeof(struct shared) + bitmap_len;
	if (lat)
		map_len += r->per_producer * sizeof(uint64_t);
	r->sh = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->sh == MAP_FAILED) {
		errmsg("%s: mmap of %zu bytes: %s", mech->name, map_len,
		       strerror(errno));
		return -1;
	}
	if (lat)
		r->lat = (uint64_t *)((char *)r->sh->bitmap + bitmap_len);
	if (pipe(ready) < 0 || pipe(go) < 0) {
		errmsg("pipe: %s", strerror(errno));
		goto out;
	}
	deadline = now_ns() + (uint64_t)(r->ctx->opts->timeout * 1e9);

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < nchild; i++) {
		bool producer = i >= c->consumers;

		pids[i] = fork();
		if (pids[i] < 0) {
			errmsg("fork: %s", strerror(errno));
			kill_all(pids, i);
			wait_children(mech->name, pids, i, i, deadline);
			goto out;
		}
		if (!pids[i]) {
			close(ready[0]);
			close(go[1]);
			r->ready_fd = ready[1];
			r->go_fd = go[0];
			child_main(r, producer,
				   producer ? i - c->consumers : i);
		}
	}
	close(ready[1]);
	ready[1] = -1;
	close(go[0]);
	go[0] = -1;

	if (wait_ready(mech->name, ready[0], nchild, deadline) < 0) {
		kill_all(pids, nchild);
		wait_children(mech->name, pids, nchild, c->consumers, deadline);
		goto out;
	}
	t0 = now_ns();
	close(go[1]);			/* go */
	go[1] = -1;
	ret = wait_children(mech->name, pids, nchild, c->consumers, deadline);
	if (ret < 0) {
		errmsg("%s: %llu of %llu messages and %u of %d stop messages were consumed",
		       mech->name, (unsigned long long)r->sh->consumed,
		       (unsigned long long)r->total, r->sh->stops,
		       c->consumers);
		goto out;
	}
	ret = verify(r, res, t0);
	if (!ret)
		consumer_shares(r, res);
	if (!ret && lat)
		latency_stats(r, lat);
out:
	for (i = 0; i < 2; i++) {
		if (ready[i] >= 0)
			close(ready[i]);
		if (go[i] >= 0)
			close(go[i]);
	}
	munmap(r->sh, map_len);
	return ret;
}

/**
 * run_cell_once() - fork, release, time and check one run
 * @mech: the mechanism
 * @ctx: its state for this cell, after setup()
 * @per_producer: messages each producer sends
 * @res: filled on success
 *
 * Return: 0 if every message arrived exactly once; -1 after printing why not.
 */
int run_cell_once(const struct mech_ops *mech, const struct mech_ctx *ctx,
		  unsigned long per_producer, struct run_result *res)
{
	struct run r = {
		.mech = mech,
		.ctx = ctx,
		.per_producer = per_producer,
	};

	return run_common(&r, res, NULL);
}

/**
 * run_latency() - time single messages, one in flight
 * @mech: the mechanism
 * @ctx: its state for a cell of one producer and one consumer whose
 *	messages have room for a time stamp (MQBENCH_LAT_MIN_MSG)
 * @msgs: messages to time
 * @res: filled on success
 *
 * The producer takes CLOCK_MONOTONIC, puts it in the message, sends and
 * flushes it, and waits (on a futex) until the consumer has it; the
 * consumer takes the clock as soon as recv() or peek() returns. A few
 * messages more are sent first and not counted (warm-up). Every message
 * is checked as in a throughput run.
 *
 * Return: 0, or -1 after printing why not.
 */
int run_latency(const struct mech_ops *mech, const struct mech_ctx *ctx,
		unsigned long msgs, struct latency_result *res)
{
	struct run_result rr;
	struct run r = {
		.mech = mech,
		.ctx = ctx,
		.per_producer = msgs + MQBENCH_LAT_WARMUP,
	};

	if (ctx->cell.producers != 1 || ctx->cell.consumers != 1 ||
	    ctx->cell.msg_bytes < MQBENCH_LAT_MIN_MSG || !msgs)
		return -1;
	memset(res, 0, sizeof(*res));
	return run_common(&r, &rr, res);
}
