// SPDX-License-Identifier: GPL-2.0
/*
 * The mmap'd rings of an fd (uapi/linux/mq.h, "Rings"): setup and mmap
 * validation; TX and RX against write(2)/read(2) and against each other,
 * in one process, across threads and across fork; wrap around with pad
 * records over many laps; bad records and bad indexes; full queues,
 * signals, poll, deletion; load balancing between ring consumers; no
 * kernel memory in fresh rings; hostile processes scribbling over their
 * own rings next to well-behaved ones. The durable part needs a scratch
 * block device ($MQT_STORE_DEV, default /dev/vda) and root.
 *
 * Raw accessors (struct rq) check the layout byte by byte; libmq
 * (build/libmq.a) is used where a well-behaved program would use it.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "libmq.h"
#include "mqtest.h"
#include "kselftest_harness.h"

/*
 * The record header, as this test was built: the kernel must report it
 * as setup's rec_size (ring_setup_reports_rec_size_and_features), so
 * the raw accessors below lay records out and check them with it.
 */
#define HDR	((uint32_t)sizeof(struct mq_ring_rec))
/* A payload whose record takes exactly 1 KiB. */
#define LEN_1K	(1024 - HDR)

_Static_assert(sizeof(struct mq_ring_rec) == 32, "the record header");
_Static_assert(sizeof(struct mq_ring_setup) == MQ_RING_SETUP_SIZE_VER0,
	       "MQ_RING_SETUP_SIZE_VER0");

static uint32_t rec_bytes(uint32_t len)
{
	return (HDR + len + MQ_RING_ALIGN - 1) & ~(MQ_RING_ALIGN - 1);
}

/*
 * ioctl(2) for everything in this program, libmq included (linked in
 * statically): a plain system call, except that a test may make
 * MQ_IOC_RING_SETUP report another record header size, as a later
 * kernel would, to see what libmq does with it.
 */
static uint32_t fake_rec_size;

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	long rc;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	rc = syscall(SYS_ioctl, fd, req, arg);
	if (rc >= 0 && req == MQ_IOC_RING_SETUP && fake_rec_size)
		((struct mq_ring_setup *)arg)->rec_size = fake_rec_size;
	return (int)rc;
}

static uint32_t hash32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352dU;
	x ^= x >> 15;
	x *= 0x846ca68bU;
	x ^= x >> 16;
	return x;
}

static uint32_t xs32(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

/* Message @seq is @len bytes of a pattern that depends on seq and position. */
static void pfill(void *buf, uint32_t seq, uint32_t len)
{
	uint8_t *b = buf, base = (uint8_t)hash32(seq);

	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(base + i * 7 + (i >> 8) + 1);
}

/* -1 if @buf holds message @seq's @len bytes, else the first bad index. */
static long pcheck(const void *buf, uint32_t seq, uint32_t len)
{
	const uint8_t *b = buf;
	uint8_t base = (uint8_t)hash32(seq);

	for (uint32_t i = 0; i < len; i++)
		if (b[i] != (uint8_t)(base + i * 7 + (i >> 8) + 1))
			return i;
	return -1;
}

static uint32_t len_upto(uint32_t seq, uint32_t max)
{
	return 1 + hash32(seq ^ 0x9e3779b9U) % max;
}

static uint32_t load_acq(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store_rel(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void on_alarm(int sig)
{
}

static void alarm_no_restart(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */

	sigaction(SIGALRM, &sa, NULL);
}

/* ---- raw ring access ---- */

struct rq {
	unsigned char *region;
	size_t len;
	uint32_t *head, *tail, *flags;
	unsigned char *data;
	uint32_t size, mask;
	uint32_t pos;		/* our side's next index */
	unsigned int pads, skips;
};

struct raw {
	int fd;			/* the ring fd */
	struct mq_ring_setup s;
	struct rq tx, rx;
	const volatile struct mq_ring_status *st;
};

/* MQ_IOC_RING_SETUP on queue fd @fd: the ring fd, or -errno. */
static int setup_ring(int fd, uint32_t tx, uint32_t rx,
		      struct mq_ring_setup *s)
{
	struct mq_ring_setup tmp;
	int rfd;

	if (!s)
		s = &tmp;
	memset(s, 0, sizeof(*s));
	s->size = sizeof(*s);
	s->tx_size = tx;
	s->rx_size = rx;
	rfd = ioctl(fd, MQ_IOC_RING_SETUP, s);
	return rfd < 0 ? -errno : rfd;
}

/* Expect a setup to fail: close what it made if it did not. */
static int setup_err(int fd, uint32_t tx, uint32_t rx)
{
	int rfd = setup_ring(fd, tx, rx, NULL);

	if (rfd >= 0) {
		close(rfd);
		return 0;
	}
	return rfd;
}

static int rq_map(struct rq *q, int fd, const struct mq_ring_offsets *o)
{
	void *p;

	memset(q, 0, sizeof(*q));
	if (!o->size)
		return 0;
	p = mmap(NULL, o->region, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t)o->mmap_off);
	if (p == MAP_FAILED)
		return -errno;
	q->region = p;
	q->len = o->region;
	q->head = (uint32_t *)(q->region + o->head);
	q->tail = (uint32_t *)(q->region + o->tail);
	q->flags = (uint32_t *)(q->region + o->flags);
	q->data = q->region + o->data;
	q->size = o->size;
	q->mask = o->size - 1;
	return 0;
}

/* Rings for queue fd @qfd: r->fd the ring fd, everything mapped. */
static int raw_init(struct raw *r, int qfd, uint32_t tx, uint32_t rx)
{
	void *st;
	int err;

	memset(r, 0, sizeof(*r));
	r->fd = setup_ring(qfd, tx, rx, &r->s);
	if (r->fd < 0)
		return r->fd;
	st = mmap(NULL, r->s.status_len, PROT_READ, MAP_SHARED, r->fd,
		  (off_t)r->s.status_off);
	if (st == MAP_FAILED)
		return -errno;
	r->st = st;
	err = rq_map(&r->tx, r->fd, &r->s.tx);
	if (!err)
		err = rq_map(&r->rx, r->fd, &r->s.rx);
	return err;
}

/* Unmap everything and close the ring fd (unless r->fd was set to -1). */
static void raw_fini(struct raw *r)
{
	if (r->tx.region)
		munmap(r->tx.region, r->tx.len);
	if (r->rx.region)
		munmap(r->rx.region, r->rx.len);
	if (r->st)
		munmap((void *)r->st, r->s.status_len);
	if (r->fd >= 0)
		close(r->fd);
	r->tx.region = r->rx.region = NULL;
	r->st = NULL;
	r->fd = -1;
}

static int ring_enter(int fd, uint64_t flags, struct mq_ring_enter *e)
{
	struct mq_ring_enter tmp;

	if (!e)
		e = &tmp;
	memset(e, 0, sizeof(*e));
	e->size = sizeof(*e);
	e->flags = flags;
	return ioctl(fd, MQ_IOC_RING_ENTER, e) ? -errno : 0;
}

/*
 * GETMSGS without waiting: messages delivered, or -errno. (Whether an
 * empty queue is 0 or EAGAIN is checked once, in enter_validation.)
 */
static int getmsgs(int fd)
{
	struct mq_ring_enter e;
	int err = ring_enter(fd, MQ_RING_ENTER_GETMSGS, &e);

	if (err == -EAGAIN)
		return 0;
	return err ? err : (int)e.delivered;
}

/* SUBMIT without waiting: records taken, or -errno; *bad the bad ones. */
static int submit(int fd, uint32_t *bad)
{
	struct mq_ring_enter e;
	int err = ring_enter(fd, MQ_RING_ENTER_SUBMIT, &e);

	if (bad)
		*bad = err ? 0 : e.bad;
	if (err == -EAGAIN)
		return 0;
	return err ? err : (int)e.submitted;
}

/* A TX record of message @seq at index @at (it must not wrap); the index after it. */
static uint32_t tx_put(struct rq *q, uint32_t at, uint32_t len, uint32_t flags,
		       uint32_t seq)
{
	struct mq_ring_rec *h = (struct mq_ring_rec *)(q->data + (at & q->mask));

	h->len = len;
	h->flags = flags;
	h->offset = 0x1122334455667788ULL;	/* ignored in TX */
	h->tstamp_ns = ~0ULL;
	h->reserved = 0;			/* must be zero */
	if (len && (at & q->mask) + rec_bytes(len) <= q->size)
		pfill(h + 1, seq, len);
	return at + rec_bytes(len);
}

/*
 * The next message in RX at q->pos, skipping (and checking) pad records
 * and short ends: 1 and *hp, 0 when there is none, or -1 with @why when
 * the kernel's records break the layout of the uapi comment.
 */
static int rx_next(struct rq *q, const struct mq_ring_rec **hp, char *why,
		   size_t wl)
{
	for (;;) {
		uint32_t tail = load_acq(q->tail), off, to_end, n;
		const struct mq_ring_rec *h;

		if (q->pos == tail)
			return 0;
		if (tail - q->pos > q->size || (tail - q->pos) % MQ_RING_ALIGN) {
			snprintf(why, wl, "tail %u with our index at %u", tail,
				 q->pos);
			return -1;
		}
		off = q->pos & q->mask;
		to_end = q->size - off;
		if (to_end < HDR) {
			q->pos += to_end;
			q->skips++;
			continue;
		}
		h = (const struct mq_ring_rec *)(q->data + off);
		if (h->reserved) {
			snprintf(why, wl, "record at %u: reserved %#llx", off,
				 (unsigned long long)h->reserved);
			return -1;
		}
		if (h->flags & MQ_RING_REC_PAD) {
			if (h->flags != MQ_RING_REC_PAD || h->len != to_end - HDR ||
			    tail - q->pos < to_end) {
				snprintf(why, wl,
					 "pad at %u: flags %#x len %u, want len %u (tail %u)",
					 off, h->flags, h->len, to_end - HDR, tail);
				return -1;
			}
			q->pos += to_end;
			q->pads++;
			continue;
		}
		n = rec_bytes(h->len);
		if (!h->len || n > to_end || n > tail - q->pos) {
			snprintf(why, wl,
				 "record at %u: len %u flags %#x, %u bytes to the end, %u to the tail",
				 off, h->len, h->flags, to_end, tail - q->pos);
			return -1;
		}
		*hp = h;
		q->pos += n;
		return 1;
	}
}

/* Reserve and fill message @seq in TX with libmq: 0, or -1 if no room. */
static int reserve_fill(struct mq_ring *r, uint32_t seq, uint32_t len)
{
	void *m = mq_ring_reserve(r, len);

	if (!m)
		return -1;
	pfill(m, seq, len);
	return 0;
}

static int try_mmap(int fd, size_t len, int prot, int flags, uint64_t off)
{
	void *p = mmap(NULL, len, prot, flags, fd, (off_t)off);

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, len);
	return 0;
}

static unsigned char iobuf[1 << 17];

static int write_msg(int fd, uint32_t seq, uint32_t len)
{
	pfill(iobuf, seq, len);
	return write(fd, iobuf, len) == (ssize_t)len ? 0 : -errno;
}

/* read(2) one message: 0 if it is message @seq of @len bytes, 1 if not, or -errno. */
static int read_msg(int fd, uint32_t seq, uint32_t len)
{
	ssize_t n = read(fd, iobuf, sizeof(iobuf));

	if (n < 0)
		return -errno;
	return (uint32_t)n == len && pcheck(iobuf, seq, len) < 0 ? 0 : 1;
}

/* A thread's state letter from /proc (S: asleep), or '?'. */
static char task_state(pid_t tid)
{
	char path[64], buf[256], *p = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "r");
	if (!f)
		return '?';
	if (fgets(buf, sizeof(buf), f))
		p = strrchr(buf, ')');
	fclose(f);
	return p && p[1] == ' ' ? p[2] : '?';
}

/* Where a thread sleeps in the kernel (/proc wchan), into @buf. */
static const char *task_wchan(pid_t tid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", tid);
	snprintf(buf, len, "?");
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, len, f))
			snprintf(buf, len, "?");
		fclose(f);
	}
	return buf;
}

static long mod_refcnt(void)
{
	FILE *f = fopen("/sys/module/mq/refcnt", "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* ---- the fixture: one queue, made by each test with its limits ---- */

FIXTURE(ring) {
	struct mqt_nl nl;
	char name[64];
	char path[128];
	bool made;
};

FIXTURE_SETUP(ring)
{
	ASSERT_EQ(0, mqt_nl_open(&self->nl));
	MQT_NAME(self->name, "ring");
	snprintf(self->path, sizeof(self->path), MQT_DEV_DIR "%s", self->name);
}

FIXTURE_TEARDOWN(ring)
{
	if (self->made)
		mqt_del(&self->nl, self->name);
	mqt_nl_close(&self->nl);
}

static int mkq_named(struct mqt_nl *nl, const char *name, uint32_t max_msg,
		     uint32_t cap_msgs, uint64_t cap_bytes)
{
	struct mqt_limits l = { .max_msg = max_msg, .cap_msgs = cap_msgs,
				.cap_bytes = cap_bytes, .mode = -1 };

	return mqt_add(nl, name, &l, NULL);
}

#define MKQ(max, msgs, bytes) do { \
	ASSERT_EQ(0, mkq_named(&self->nl, self->name, max, msgs, bytes)); \
	self->made = true; \
} while (0)

/* ================= setup ================= */

TEST_F(ring, setup_bad_sizes)
{
	static const struct { uint32_t tx, rx; } bad[] = {
		{ 5000, 0 }, { 0, 5000 }, { 4095, 0 }, { 0, 4097 },
		{ 12288, 0 }, { 0, 12288 }, { 2048, 0 }, { 0, 2048 },
		{ 1, 0 }, { 0, 1 }, { MQ_RING_SIZE_MAX * 2, 0 },
		{ 0, MQ_RING_SIZE_MAX * 2 }, { 0x80000000U, 0 },
		{ 0, 0xffffffffU }, { 0, 0 }, { 4096, 3 }, { 3, 4096 },
		{ 4096, MQ_RING_SIZE_MAX * 4 },
	};
	struct mq_info info;
	int fd, rfd;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EINVAL, setup_err(fd, bad[i].tx, bad[i].rx))
			TH_LOG("tx %u rx %u", bad[i].tx, bad[i].rx);
	}
	ASSERT_EQ(0, mqt_info(fd, &info));
	EXPECT_EQ(1, info.open_fds);		/* no ring fd left behind */
	rfd = setup_ring(fd, 4096, 4096, NULL);
	EXPECT_LT(fd, rfd);
	close(rfd);
	close(fd);
}

TEST_F(ring, setup_flags_reserved_out_fields_and_size)
{
	struct {
		struct mq_ring_setup s;
		uint64_t newer[4];
	} big;
	struct mq_ring_setup s;
	int fd, rfd;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
#define BAD_SETUP(field, val, err) do { \
	memset(&s, 0, sizeof(s)); \
	s.size = sizeof(s); \
	s.tx_size = 4096; \
	s.rx_size = 4096; \
	s.field = val; \
	rfd = ioctl(fd, MQ_IOC_RING_SETUP, &s); \
	EXPECT_EQ(-1, rfd) TH_LOG(#field " = " #val); \
	EXPECT_EQ(err, errno) TH_LOG(#field " = " #val); \
	if (rfd >= 0) \
		close(rfd); \
} while (0)
	BAD_SETUP(flags, 1, EINVAL);
	BAD_SETUP(flags, 1ULL << 63, EINVAL);
	BAD_SETUP(reserved0, 1, EINVAL);
	BAD_SETUP(tx.head, 64, EINVAL);		/* out fields must be zero */
	BAD_SETUP(rx.size, 4096, EINVAL);
	BAD_SETUP(rx.mmap_off, MQ_RING_OFF_RX, EINVAL);
	BAD_SETUP(status_off, MQ_RING_OFF_STATUS, EINVAL);
	BAD_SETUP(status_len, 4096, EINVAL);
	BAD_SETUP(rec_size, HDR, EINVAL);
	BAD_SETUP(rec_size, 1, EINVAL);
	BAD_SETUP(rec_size, 0x80000000U, EINVAL);
	BAD_SETUP(features, MQ_RING_FEAT_RX_TAIL, EINVAL);
	BAD_SETUP(features, 1ULL << 63, EINVAL);
	BAD_SETUP(size, MQ_RING_SETUP_SIZE_VER0 - 8, EINVAL);
	BAD_SETUP(size, 0, EINVAL);
	BAD_SETUP(size, 1 << 20, E2BIG);
#undef BAD_SETUP
	memset(&big, 0, sizeof(big));
	big.s.size = sizeof(big);
	big.s.tx_size = 4096;
	big.newer[3] = 1;
	EXPECT_EQ(-1, ioctl(fd, MQ_IOC_RING_SETUP, &big));
	EXPECT_EQ(E2BIG, errno);
	EXPECT_EQ(-1, ioctl(fd, MQ_IOC_RING_SETUP,
			    mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)));
	EXPECT_EQ(EFAULT, errno);
	/* A newer program's larger struct with a zero tail is fine. */
	big.newer[3] = 0;
	rfd = ioctl(fd, MQ_IOC_RING_SETUP, &big);
	ASSERT_LE(0, rfd);
	EXPECT_EQ(4096, big.s.tx.size);
	EXPECT_EQ(0, big.s.rx.size);
	EXPECT_EQ(0, big.newer[0] | big.newer[1] | big.newer[2] | big.newer[3]);
	close(rfd);
	close(fd);
}

/*
 * Each setup makes a new ring fd: O_RDWR, close-on-exec, its own rings,
 * counted in open_fds, and it keeps the queue after the queue fd closes.
 */
TEST_F(ring, setup_gives_independent_ring_fds)
{
	struct mq_info info;
	struct raw a, b;
	int fd, w;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_RDONLY);
	w = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, w);
	ASSERT_EQ(0, raw_init(&a, fd, 0, 4096));
	ASSERT_EQ(0, raw_init(&b, fd, 0, 8192));
	EXPECT_NE(a.fd, b.fd);
	EXPECT_EQ(O_RDWR, fcntl(a.fd, F_GETFL) & O_ACCMODE);
	EXPECT_EQ(FD_CLOEXEC, fcntl(a.fd, F_GETFD) & FD_CLOEXEC);
	EXPECT_EQ(8192, b.s.rx.size);
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(4, info.open_fds);
	ASSERT_EQ(0, write_msg(w, 0, 10));
	EXPECT_EQ(1, getmsgs(a.fd));
	EXPECT_EQ(0, getmsgs(b.fd));
	EXPECT_EQ(1, a.st->rx_msgs);
	EXPECT_EQ(0, b.st->rx_msgs);
	EXPECT_EQ(rec_bytes(10), load_acq(a.rx.tail));
	EXPECT_EQ(0, load_acq(b.rx.tail));
	/* The queue fd goes, the ring fd goes on. */
	close(fd);
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(3, info.open_fds);
	ASSERT_EQ(0, write_msg(w, 1, 10));
	EXPECT_EQ(1, getmsgs(b.fd));
	EXPECT_EQ(1, b.st->rx_msgs);
	raw_fini(&a);
	raw_fini(&b);
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(1, info.open_fds);
	close(w);
}

TEST_F(ring, setup_follows_open_mode)
{
	int ro, wo, rfd;

	MKQ(4096, 0, 0);
	ro = mqt_open(self->name, O_RDONLY);
	wo = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	EXPECT_EQ(-EBADF, setup_err(ro, 4096, 0));
	EXPECT_EQ(-EBADF, setup_err(ro, 4096, 4096));
	EXPECT_EQ(-EBADF, setup_err(wo, 0, 4096));
	EXPECT_EQ(-EBADF, setup_err(wo, 4096, 4096));
	rfd = setup_ring(ro, 0, 4096, NULL);
	EXPECT_LE(0, rfd);
	close(rfd);
	rfd = setup_ring(wo, 4096, 0, NULL);
	EXPECT_LE(0, rfd);
	close(rfd);
	close(ro);
	close(wo);
}

static void check_layout(struct __test_metadata *_metadata,
			 const struct mq_ring_offsets *o, uint32_t size,
			 uint64_t off)
{
	uint32_t idx[3] = { o->head, o->tail, o->flags };

	EXPECT_EQ(size, o->size);
	EXPECT_EQ(off, o->mmap_off);
	EXPECT_EQ(0, o->data % MQ_RING_ALIGN);
	EXPECT_LE((uint64_t)o->data + o->size, o->region);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(0, idx[i] % 4);
		EXPECT_LE(idx[i] + 4, o->data) TH_LOG("index %d at %u", i, idx[i]);
		for (int j = i + 1; j < 3; j++) {
			EXPECT_NE(idx[i] / 64, idx[j] / 64)
				TH_LOG("indexes %d and %d share a cache line", i, j);
		}
	}
}

TEST_F(ring, setup_layout)
{
	struct mq_ring_setup s, s2, s3;
	struct mq_ring_offsets zero;
	int fd, r1, r2, r3;

	MKQ(4096, 0, 0);
	memset(&zero, 0, sizeof(zero));
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	r1 = setup_ring(fd, 8192, 16384, &s);
	ASSERT_LE(0, r1);
	check_layout(_metadata, &s.tx, 8192, MQ_RING_OFF_TX);
	check_layout(_metadata, &s.rx, 16384, MQ_RING_OFF_RX);
	EXPECT_EQ(MQ_RING_OFF_STATUS, s.status_off);
	EXPECT_LE(sizeof(struct mq_ring_status), s.status_len);
	EXPECT_EQ(0, s.reserved0);
	EXPECT_EQ(HDR, s.rec_size);

	r2 = setup_ring(fd, 4096, 0, &s2);
	ASSERT_LE(0, r2);
	check_layout(_metadata, &s2.tx, 4096, MQ_RING_OFF_TX);
	EXPECT_EQ(0, memcmp(&zero, &s2.rx, sizeof(zero)));
	r3 = setup_ring(fd, 0, 4096, &s3);
	ASSERT_LE(0, r3);
	check_layout(_metadata, &s3.rx, 4096, MQ_RING_OFF_RX);
	EXPECT_EQ(0, memcmp(&zero, &s3.tx, sizeof(zero)));
	close(r1);
	close(r2);
	close(r3);
	close(fd);
}

/*
 * The reply says what the kernel uses: the record header it reads and
 * writes (what this test was built with), and what it supports, for
 * every combination of rings.
 */
TEST_F(ring, setup_reports_rec_size_and_features)
{
	static const struct { uint32_t tx, rx; } sizes[] = {
		{ 4096, 4096 }, { 8192, 0 }, { 0, 16384 },
	};
	const uint64_t all = MQ_RING_FEAT_RX_TAIL | MQ_RING_FEAT_DURABLE |
			     MQ_RING_FEAT_DIRECT;
	struct {
		struct mq_ring_setup s;
		uint64_t newer[2];
	} big;
	struct mq_ring_setup s;
	struct mq_ring r;
	int fd, rfd;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		rfd = setup_ring(fd, sizes[i].tx, sizes[i].rx, &s);
		ASSERT_LE(0, rfd);
		EXPECT_EQ(MQ_RING_SETUP_SIZE_VER0, s.size);
		EXPECT_EQ(sizeof(struct mq_ring_rec), s.rec_size);
		EXPECT_EQ(0, s.rec_size % MQ_RING_ALIGN);
		EXPECT_EQ(all, s.features) TH_LOG("features %#llx",
						  (unsigned long long)s.features);
		close(rfd);
	}
	/* A newer program's larger struct gets the same, its tail zero. */
	memset(&big, 0, sizeof(big));
	big.s.size = sizeof(big);
	big.s.rx_size = 4096;
	rfd = ioctl(fd, MQ_IOC_RING_SETUP, &big);
	ASSERT_LE(0, rfd);
	EXPECT_EQ(MQ_RING_SETUP_SIZE_VER0, big.s.size);
	EXPECT_EQ(HDR, big.s.rec_size);
	EXPECT_EQ(all, big.s.features);
	EXPECT_EQ(0, big.newer[0] | big.newer[1]);
	close(rfd);
	/* libmq keeps it. */
	ASSERT_EQ(0, mq_ring_init(&r, fd, 4096, 4096));
	EXPECT_EQ(HDR, r.tx.rec_size);
	EXPECT_EQ(HDR, r.rx.rec_size);
	mq_ring_close(&r);
	close(fd);
}

TEST_F(ring, setup_min_and_max_sizes)
{
	struct mq_ring_setup s;
	unsigned char *p;
	int wo, ro, r1, r2;

	MKQ(4096, 0, 0);
	wo = mqt_open(self->name, O_WRONLY);
	ro = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, wo);
	ASSERT_LE(0, ro);
	r1 = setup_ring(wo, MQ_RING_SIZE_MIN, 0, &s);
	ASSERT_LE(0, r1);
	EXPECT_EQ(MQ_RING_SIZE_MIN, s.tx.size);
	EXPECT_EQ(0, try_mmap(r1, s.tx.region, PROT_READ | PROT_WRITE,
			      MAP_SHARED, s.tx.mmap_off));
	r2 = setup_ring(ro, 0, MQ_RING_SIZE_MAX, &s);
	ASSERT_LE(0, r2);
	EXPECT_EQ(MQ_RING_SIZE_MAX, s.rx.size);
	p = mmap(NULL, s.rx.region, PROT_READ | PROT_WRITE, MAP_SHARED, r2,
		 (off_t)s.rx.mmap_off);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, p[s.rx.data]);
	EXPECT_EQ(0, p[s.rx.data + s.rx.size - 1]);
	munmap(p, s.rx.region);
	close(r1);
	close(r2);
	close(wo);
	close(ro);
}

TEST_F(ring, enter_validation)
{
	struct {
		struct mq_ring_enter e;
		uint64_t newer[2];
	} big;
	struct mq_ring_enter e;
	int plain, qfd, ro, wo, rw, rc;

	MKQ(4096, 0, 0);
	plain = mqt_open(self->name, O_RDWR);
	qfd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, plain);
	ASSERT_LE(0, qfd);
	ro = setup_ring(qfd, 0, 4096, NULL);
	wo = setup_ring(qfd, 4096, 0, NULL);
	rw = setup_ring(qfd, 4096, 4096, NULL);
	ASSERT_LE(0, ro);
	ASSERT_LE(0, wo);
	ASSERT_LE(0, rw);

	/* Not a ring fd, or a ring the fd does not have. */
	rc = ring_enter(plain, MQ_RING_ENTER_GETMSGS, NULL);
	EXPECT_TRUE(rc == -EINVAL || rc == -ENOTTY) TH_LOG("queue fd: %d", rc);
	rc = ring_enter(qfd, MQ_RING_ENTER_SUBMIT, NULL);
	EXPECT_TRUE(rc == -EINVAL || rc == -ENOTTY) TH_LOG("queue fd: %d", rc);
	EXPECT_EQ(-EINVAL, ring_enter(ro, MQ_RING_ENTER_SUBMIT, NULL));
	EXPECT_EQ(-EINVAL, ring_enter(wo, MQ_RING_ENTER_GETMSGS, NULL));

	/* Nothing to do is not an error: the counts say 0. */
	EXPECT_EQ(0, ring_enter(ro, MQ_RING_ENTER_GETMSGS, &e));
	EXPECT_EQ(0, e.delivered);
	EXPECT_EQ(0, ring_enter(wo, MQ_RING_ENTER_SUBMIT, &e));
	EXPECT_EQ(0, e.submitted);
	EXPECT_EQ(0, e.bad);

#define BAD_ENTER(field, val, err) do { \
	memset(&e, 0, sizeof(e)); \
	e.size = sizeof(e); \
	e.flags = MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_GETMSGS; \
	e.field = val; \
	EXPECT_EQ(-1, ioctl(rw, MQ_IOC_RING_ENTER, &e)) TH_LOG(#field " = " #val); \
	EXPECT_EQ(err, errno) TH_LOG(#field " = " #val); \
} while (0)
	BAD_ENTER(flags, 0x20, EINVAL);
	BAD_ENTER(flags, MQ_RING_ENTER_SUBMIT | (1ULL << 63), EINVAL);
	BAD_ENTER(reserved0, 1, EINVAL);
	BAD_ENTER(rx_tail, 1, EINVAL);	/* without MQ_RING_ENTER_RX_TAIL */
	BAD_ENTER(size, MQ_RING_ENTER_SIZE_VER0 - 8, EINVAL);
	BAD_ENTER(size, 0, EINVAL);
	BAD_ENTER(size, 1 << 20, E2BIG);
#undef BAD_ENTER
	EXPECT_EQ(-1, ioctl(rw, MQ_IOC_RING_ENTER,
			    mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)));
	EXPECT_EQ(EFAULT, errno);
	memset(&big, 0, sizeof(big));
	big.e.size = sizeof(big);
	big.e.flags = MQ_RING_ENTER_GETMSGS;
	big.newer[1] = 5;
	EXPECT_EQ(-1, ioctl(rw, MQ_IOC_RING_ENTER, &big));
	EXPECT_EQ(E2BIG, errno);
	big.newer[1] = 0;
	EXPECT_EQ(0, ioctl(rw, MQ_IOC_RING_ENTER, &big));
	close(ro);
	close(wo);
	close(rw);
	close(plain);
	close(qfd);
}

/* ================= mmap ================= */

TEST_F(ring, mmap_offsets_and_lengths)
{
	struct mq_ring_setup s, s2;
	size_t tl, rl;
	int qfd, fd, wo, e;

	MKQ(4096, 0, 0);
	qfd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, qfd);
	fd = setup_ring(qfd, 8192, 16384, &s);
	ASSERT_LE(0, fd);
	tl = s.tx.region;
	rl = s.rx.region;
	ASSERT_NE(tl, rl);	/* different sizes, different regions */

	/* The right ones. */
	EXPECT_EQ(0, try_mmap(fd, tl, PROT_READ | PROT_WRITE, MAP_SHARED, MQ_RING_OFF_TX));
	EXPECT_EQ(0, try_mmap(fd, rl, PROT_READ | PROT_WRITE, MAP_SHARED, MQ_RING_OFF_RX));
	EXPECT_EQ(0, try_mmap(fd, s.status_len, PROT_READ, MAP_SHARED, s.status_off));

	/* Wrong offsets. */
	EXPECT_EQ(-EINVAL, try_mmap(fd, tl, PROT_READ | PROT_WRITE, MAP_SHARED, MQ_RING_OFF_TX + 4096));
	EXPECT_EQ(-EINVAL, try_mmap(fd, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, MQ_RING_OFF_RX - 4096));
	EXPECT_EQ(-EINVAL, try_mmap(fd, rl, PROT_READ | PROT_WRITE, MAP_SHARED, MQ_RING_OFF_RX + 4096));
	EXPECT_EQ(-EINVAL, try_mmap(fd, 4096, PROT_READ, MAP_SHARED, s.status_off + 4096));
	EXPECT_EQ(-EINVAL, try_mmap(fd, 4096, PROT_READ, MAP_SHARED, 0x30000000ULL));
	EXPECT_EQ(-EINVAL, try_mmap(fd, 4096, PROT_READ, MAP_SHARED, 0x7ffff000ULL));

	/* Wrong lengths: more, less, another region's. */
	EXPECT_EQ(-EINVAL, try_mmap(fd, tl + 4096, PROT_READ | PROT_WRITE, MAP_SHARED, MQ_RING_OFF_TX));
	EXPECT_EQ(-EINVAL, try_mmap(fd, rl + 4096, PROT_READ | PROT_WRITE, MAP_SHARED, MQ_RING_OFF_RX));
	EXPECT_EQ(-EINVAL, try_mmap(fd, tl, PROT_READ | PROT_WRITE, MAP_SHARED, MQ_RING_OFF_RX));
	EXPECT_EQ(-EINVAL, try_mmap(fd, rl - 4096, PROT_READ | PROT_WRITE, MAP_SHARED, MQ_RING_OFF_RX));
	EXPECT_EQ(-EINVAL, try_mmap(fd, s.status_len + 4096, PROT_READ, MAP_SHARED, s.status_off));

	/* The queue fd maps nothing; a TX-only ring fd has no RX. */
	e = try_mmap(qfd, tl, PROT_READ | PROT_WRITE, MAP_SHARED, MQ_RING_OFF_TX);
	EXPECT_TRUE(e == -EINVAL || e == -ENODEV) TH_LOG("queue fd TX: %d", e);
	e = try_mmap(qfd, s.status_len, PROT_READ, MAP_SHARED, MQ_RING_OFF_STATUS);
	EXPECT_TRUE(e == -EINVAL || e == -ENODEV) TH_LOG("queue fd status: %d", e);
	wo = setup_ring(qfd, 4096, 0, &s2);
	ASSERT_LE(0, wo);
	EXPECT_EQ(-EINVAL, try_mmap(wo, s2.tx.region, PROT_READ | PROT_WRITE, MAP_SHARED, MQ_RING_OFF_RX));
	close(wo);
	close(fd);
	close(qfd);
}

TEST_F(ring, status_page_is_read_only)
{
	struct mq_ring_setup s;
	void *p;
	int qfd, fd;

	MKQ(4096, 0, 0);
	qfd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, qfd);
	fd = setup_ring(qfd, 4096, 4096, &s);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EACCES, try_mmap(fd, s.status_len, PROT_READ | PROT_WRITE,
				    MAP_SHARED, s.status_off));
	EXPECT_EQ(-EACCES, try_mmap(fd, s.status_len, PROT_WRITE, MAP_SHARED,
				    s.status_off));
	p = mmap(NULL, s.status_len, PROT_READ, MAP_SHARED, fd, (off_t)s.status_off);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, s.status_len, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(p, s.status_len);
	close(fd);
	close(qfd);
}

TEST_F(ring, rings_must_be_map_shared)
{
	struct mq_ring_setup s;
	int qfd, fd, e;

	MKQ(4096, 0, 0);
	qfd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, qfd);
	fd = setup_ring(qfd, 4096, 4096, &s);
	ASSERT_LE(0, fd);
	e = try_mmap(fd, s.tx.region, PROT_READ | PROT_WRITE, MAP_PRIVATE, s.tx.mmap_off);
	EXPECT_TRUE(e == -EINVAL || e == -EACCES) TH_LOG("TX MAP_PRIVATE: %d", e);
	e = try_mmap(fd, s.rx.region, PROT_READ | PROT_WRITE, MAP_PRIVATE, s.rx.mmap_off);
	EXPECT_TRUE(e == -EINVAL || e == -EACCES) TH_LOG("RX MAP_PRIVATE: %d", e);
	e = try_mmap(fd, s.tx.region, PROT_READ, MAP_PRIVATE, s.tx.mmap_off);
	EXPECT_TRUE(e == -EINVAL || e == -EACCES) TH_LOG("TX MAP_PRIVATE read-only: %d", e);
	close(fd);
	close(qfd);
}

TEST_F(ring, two_mappings_share_pages)
{
	struct mq_ring_setup s;
	unsigned char *a, *b;
	int qfd, fd;

	MKQ(4096, 0, 0);
	qfd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, qfd);
	fd = setup_ring(qfd, 8192, 0, &s);
	ASSERT_LE(0, fd);
	a = mmap(NULL, s.tx.region, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	b = mmap(NULL, s.tx.region, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, a);
	ASSERT_NE(MAP_FAILED, b);
	ASSERT_NE(a, b);
	memset(a + s.tx.data, 0x5a, s.tx.size);
	for (uint32_t i = 0; i < s.tx.size; i += 511) {
		ASSERT_EQ(0x5a, b[s.tx.data + i]);
	}
	munmap(a, s.tx.region);
	EXPECT_EQ(0x5a, b[s.tx.data + s.tx.size - 1]);
	munmap(b, s.tx.region);
	close(fd);
	close(qfd);
}

TEST_F(ring, mremap_cannot_grow_a_ring)
{
	struct mq_ring_setup s;
	void *p, *q;
	int qfd, fd;

	MKQ(4096, 0, 0);
	qfd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, qfd);
	fd = setup_ring(qfd, 4096, 0, &s);
	ASSERT_LE(0, fd);
	p = mmap(NULL, s.tx.region, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	q = mremap(p, s.tx.region, 2 * s.tx.region, MREMAP_MAYMOVE);
	EXPECT_EQ(MAP_FAILED, q);
	if (q != MAP_FAILED)
		munmap(q, 2 * s.tx.region);
	else
		munmap(p, s.tx.region);
	close(fd);
	close(qfd);
}

/* Nothing from kernel memory: a fresh ring's regions are zero, every byte. */
TEST_F(ring, fresh_rings_are_zero)
{
	struct raw r;
	const unsigned char *st;
	int fd;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 16384, 16384));
	for (size_t i = 0; i < r.tx.len; i++) {
		ASSERT_EQ(0, r.tx.region[i]) TH_LOG("TX byte %zu", i);
	}
	for (size_t i = 0; i < r.rx.len; i++) {
		ASSERT_EQ(0, r.rx.region[i]) TH_LOG("RX byte %zu", i);
	}
	st = (const unsigned char *)r.st;
	for (size_t i = 0; i < r.s.status_len; i++) {
		ASSERT_EQ(0, st[i]) TH_LOG("status byte %zu", i);
	}
	raw_fini(&r);
	close(fd);
}

/* ================= data path ================= */

TEST_F(ring, tx_batch_then_read)
{
	struct mq_ring r;
	struct mq_info info;
	uint32_t sum = 0, rb = 0;
	int rd;

	MKQ(4096, 0, 0);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_WRONLY, 16384, 0));
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, rd);
	for (uint32_t i = 0; i < 20; i++) {
		uint32_t len = 1 + (i * 37) % 600;
		void *m = mq_ring_reserve(&r, len);

		ASSERT_NE(NULL, m) TH_LOG("message %u", i);
		pfill(m, i, len);
		sum += len;
		rb += rec_bytes(len);
	}
	/* Nothing moves before the submit. */
	ASSERT_EQ(0, mqt_info(rd, &info));
	EXPECT_EQ(0, info.depth_msgs);
	EXPECT_EQ(20, mq_ring_submit(&r));
	EXPECT_EQ(20, r.status->tx_msgs);
	EXPECT_EQ(20, r.status->tx_durable);	/* a memory queue */
	EXPECT_EQ(0, r.status->tx_bad);
	EXPECT_EQ(0, r.status->rx_msgs);
	EXPECT_EQ(0, r.status->tx_direct);	/* nobody to hand them to */
	EXPECT_EQ(rb, load_acq(r.tx.tail));
	EXPECT_EQ(rb, load_acq(r.tx.head));	/* the kernel took it all */
	EXPECT_EQ(0, mq_ring_tx_pending(&r));
	ASSERT_EQ(0, mqt_info(rd, &info));
	EXPECT_EQ(20, info.depth_msgs);
	EXPECT_EQ(20, info.msgs_in);
	EXPECT_EQ(sum, info.bytes_in);
	EXPECT_EQ(20, info.tail_offset);
	for (uint32_t i = 0; i < 20; i++) {
		ASSERT_EQ(0, read_msg(rd, i, 1 + (i * 37) % 600)) TH_LOG("message %u", i);
	}
	EXPECT_EQ(-EAGAIN, read_msg(rd, 0, 1));
	mq_ring_close(&r);
	close(rd);
}

TEST_F(ring, write_then_rx_fill)
{
	struct mq_ring r;
	struct mq_ring_msg m;
	struct mq_info info;
	uint64_t t0, t1;
	uint32_t rb = 0;
	int w;

	MKQ(4096, 0, 0);
	w = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, w);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_RDONLY, 0, 16384));
	t0 = now_ns(CLOCK_REALTIME);
	for (uint32_t i = 0; i < 30; i++) {
		ASSERT_EQ(0, write_msg(w, i, 1 + (i * 53) % 400));
		rb += rec_bytes(1 + (i * 53) % 400);
	}
	EXPECT_EQ(-EAGAIN, mq_ring_peek(&r, &m));	/* not before a fill */
	ASSERT_EQ(30, mq_ring_fill(&r));
	t1 = now_ns(CLOCK_REALTIME);
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(0, info.depth_msgs);		/* out of the queue, in the ring */
	EXPECT_EQ(30, r.status->rx_msgs);
	EXPECT_EQ(rb, load_acq(r.rx.tail));	/* records laid out as specified */
	EXPECT_EQ(0, load_acq(r.rx.head));
	for (uint32_t i = 0; i < 30; i++) {
		uint32_t len = 1 + (i * 53) % 400;

		ASSERT_EQ(0, mq_ring_peek(&r, &m)) TH_LOG("message %u", i);
		EXPECT_EQ(len, m.len);
		EXPECT_EQ(i, m.offset);
		EXPECT_EQ(0, m.flags);
		EXPECT_LE(t0 - 1000000000ULL, m.tstamp_ns);
		EXPECT_GE(t1 + 1000000000ULL, m.tstamp_ns);
		ASSERT_EQ(-1, pcheck(m.data, i, len)) TH_LOG("message %u", i);
	}
	EXPECT_EQ(-EAGAIN, mq_ring_peek(&r, &m));
	mq_ring_release(&r, &m);
	EXPECT_EQ(0, mq_ring_fill(&r));
	EXPECT_EQ(30, r.status->rx_msgs);
	EXPECT_EQ(0, r.status->rx_bad);
	mq_ring_close(&r);
	close(w);
}

TEST_F(ring, rx_fill_takes_what_fits)
{
	struct mq_ring r;
	struct mq_ring_msg m, keep;
	struct mq_info info;
	uint32_t next = 0;
	int w;

	MKQ(4096, 0, 0);
	w = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, w);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_RDONLY, 0, 4096));
	for (uint32_t i = 0; i < 10; i++) {
		ASSERT_EQ(0, write_msg(w, i, LEN_1K));	/* records of 1 KiB */
	}
	ASSERT_EQ(4, mq_ring_fill(&r));
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(6, info.depth_msgs);
	EXPECT_EQ(0, mq_ring_fill(&r));		/* full */
	for (int i = 0; i < 4; i++, next++) {
		ASSERT_EQ(0, mq_ring_peek(&r, &m));
		EXPECT_EQ(next, m.offset);
		ASSERT_EQ(-1, pcheck(m.data, next, LEN_1K));
		if (i == 1)
			keep = m;
	}
	mq_ring_release(&r, &keep);		/* two of four back */
	ASSERT_EQ(2, mq_ring_fill(&r));
	for (int i = 0; i < 2; i++, next++) {
		ASSERT_EQ(0, mq_ring_peek(&r, &m));
		EXPECT_EQ(next, m.offset);
		ASSERT_EQ(-1, pcheck(m.data, next, LEN_1K));
	}
	mq_ring_release(&r, &m);
	ASSERT_EQ(4, mq_ring_fill(&r));
	for (int i = 0; i < 4; i++, next++) {
		ASSERT_EQ(0, mq_ring_peek(&r, &m));
		EXPECT_EQ(next, m.offset);
		ASSERT_EQ(-1, pcheck(m.data, next, LEN_1K));
	}
	EXPECT_EQ(4096 * 2 + 2048, load_acq(r.rx.tail));
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(0, info.depth_msgs);
	mq_ring_close(&r);
	close(w);
}

TEST_F(ring, rx_and_read_share_the_queue)
{
	struct mq_ring r;
	struct mq_ring_msg m;
	struct mq_recv rv;
	char buf[64];
	int w, rd;

	MKQ(4096, 0, 0);
	w = mqt_open(self->name, O_WRONLY);
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, w);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_RDONLY, 0, 4096));
	for (uint32_t i = 0; i < 5; i++) {
		ASSERT_EQ(0, write_msg(w, i, 10 + i));
	}
	ASSERT_EQ(0, read_msg(rd, 0, 10));
	ASSERT_EQ(0, read_msg(rd, 1, 11));
	ASSERT_EQ(3, mq_ring_fill(&r));
	/* Each message goes to one reader: these are in the ring now. */
	EXPECT_EQ(-EAGAIN, read_msg(rd, 2, 12));
	memset(&rv, 0, sizeof(rv));
	rv.size = sizeof(rv);
	rv.buf = (uintptr_t)buf;
	rv.buf_len = sizeof(buf);
	EXPECT_EQ(-1, ioctl(rd, MQ_IOC_RECV, &rv));
	EXPECT_EQ(EAGAIN, errno);
	for (uint32_t i = 2; i < 5; i++) {
		ASSERT_EQ(0, mq_ring_peek(&r, &m));
		EXPECT_EQ(i, m.offset);
		EXPECT_EQ(10 + i, m.len);
		EXPECT_EQ(-1, pcheck(m.data, i, 10 + i));
	}
	mq_ring_release(&r, &m);
	ASSERT_EQ(0, write_msg(w, 5, 15));
	ASSERT_EQ(1, mq_ring_fill(&r));
	ASSERT_EQ(0, mq_ring_peek(&r, &m));
	EXPECT_EQ(5, m.offset);
	mq_ring_close(&r);
	close(w);
	close(rd);
}

TEST_F(ring, rx_message_larger_than_ring_is_emsgsize)
{
	struct mq_ring r;
	struct mq_ring_msg m;
	struct mq_info info;
	int w, rd;

	MKQ(8192, 0, 0);
	w = mqt_open(self->name, O_WRONLY);
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, w);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_RDONLY, 0, 4096));
	ASSERT_EQ(0, write_msg(w, 0, 4096 - HDR + 1));
	EXPECT_EQ(-EMSGSIZE, mq_ring_fill(&r));
	EXPECT_EQ(-EMSGSIZE, mq_ring_wait(&r, &m));
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(1, info.depth_msgs);		/* it stays queued */
	EXPECT_EQ(4096 - HDR + 1, info.next_len);
	EXPECT_EQ(0, read_msg(rd, 0, 4096 - HDR + 1));
	/* The largest record a 4 KiB ring holds: the whole data area. */
	ASSERT_EQ(0, write_msg(w, 1, 4096 - HDR));
	ASSERT_EQ(1, mq_ring_fill(&r));
	ASSERT_EQ(0, mq_ring_peek(&r, &m));
	EXPECT_EQ(4096 - HDR, m.len);
	EXPECT_EQ(1, m.offset);
	EXPECT_EQ(-1, pcheck(m.data, 1, 4096 - HDR));
	mq_ring_release(&r, &m);

	/* Behind a small one, from the middle of the ring: the small one
	 * comes, then EMSGSIZE (not a hang), and the big one stays. */
	ASSERT_EQ(0, write_msg(w, 2, 10));
	ASSERT_EQ(0, write_msg(w, 3, 5000));
	ASSERT_EQ(0, mq_ring_wait(&r, &m));
	EXPECT_EQ(2, m.offset);
	mq_ring_release(&r, &m);
	EXPECT_EQ(-EMSGSIZE, mq_ring_wait(&r, &m));
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(1, info.depth_msgs);
	EXPECT_EQ(0, read_msg(rd, 3, 5000));
	EXPECT_EQ(2, r.status->rx_msgs);	/* 1 and 2; 0 and 3 by read(2) */
	mq_ring_close(&r);
	close(w);
	close(rd);
}

/* TX records up to size - HDR bytes, wrapping with pads: raw and through libmq. */
TEST_F(ring, tx_largest_records)
{
	struct mq_ring p;
	struct raw r;
	uint32_t sent = 0, got = 0;
	int fd, rd, loops = 0;

	MKQ(8192, 0, 0);
	fd = mqt_open(self->name, O_WRONLY);
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, raw_init(&r, fd, 4096, 0));
	ASSERT_EQ(4096, tx_put(&r.tx, 0, 4096 - HDR, 0, 0));
	store_rel(r.tx.tail, 4096);
	EXPECT_EQ(1, submit(r.fd, NULL));
	EXPECT_EQ(0, read_msg(rd, 0, 4096 - HDR));
	/* One byte more never fits a record: bad, not a crash. */
	tx_put(&r.tx, 4096, 4096 - HDR + 1, 0, 1);
	store_rel(r.tx.tail, 8192);
	EXPECT_EQ(0, submit(r.fd, NULL));
	EXPECT_EQ(1, r.st->tx_bad);
	EXPECT_EQ(8192, load_acq(r.tx.head));
	raw_fini(&r);

	/* libmq: messages over half the ring, so each wraps with a pad. */
	ASSERT_EQ(0, mq_ring_init(&p, fd, 4096, 0));
	while (got < 12 && loops++ < 1000) {
		uint32_t len = sent % 2 ? 3000 : 100;
		int rc;

		if (sent < 12 && !reserve_fill(&p, sent, len)) {
			sent++;
			continue;
		}
		ASSERT_LE(0, mq_ring_submit(&p));
		while ((rc = read_msg(rd, got, got % 2 ? 3000 : 100)) == 0)
			got++;
		ASSERT_EQ(-EAGAIN, rc) TH_LOG("message %u", got);
	}
	EXPECT_EQ(12, got);
	EXPECT_EQ(12, p.status->tx_msgs);
	EXPECT_EQ(0, p.status->tx_bad);
	mq_ring_close(&p);
	close(fd);
	close(rd);
}

/* Messages of the largest size there is, through TX and RX rings. */
TEST_F(ring, four_mib_messages_through_rings)
{
	static const uint32_t lens[] = { MQ_MAX_MSG_LIMIT, (1 << 20) + 3,
					 MQ_MAX_MSG_LIMIT - 1 };
	struct mq_ring p, c;
	struct mq_ring_msg m;
	unsigned char *buf;
	int w;

	ASSERT_EQ(0, mkq_named(&self->nl, self->name, MQ_MAX_MSG_LIMIT, 0,
			       3ULL * MQ_MAX_MSG_LIMIT));
	self->made = true;
	w = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, w);
	ASSERT_EQ(0, mq_ring_open(&c, self->path, O_RDONLY, 0, 8 << 20));
	ASSERT_EQ(0, mq_ring_open(&p, self->path, O_WRONLY, 8 << 20, 0));
	/* Straight from TX into RX. */
	for (uint32_t i = 0; i < 3; i++) {
		ASSERT_EQ(0, reserve_fill(&p, i, lens[i]));
		ASSERT_EQ(1, mq_ring_submit_wait(&p));
		ASSERT_EQ(0, mq_ring_wait(&c, &m));
		EXPECT_EQ(i, m.offset);
		ASSERT_EQ(lens[i], m.len);
		EXPECT_EQ(-1, pcheck(m.data, i, m.len)) TH_LOG("message %u", i);
		mq_ring_release(&c, &m);
	}
	/* And from write(2) through the queue into RX. */
	buf = malloc(MQ_MAX_MSG_LIMIT);
	ASSERT_NE(NULL, buf);
	pfill(buf, 3, MQ_MAX_MSG_LIMIT);
	ASSERT_EQ(MQ_MAX_MSG_LIMIT, write(w, buf, MQ_MAX_MSG_LIMIT));
	ASSERT_EQ(0, mq_ring_wait(&c, &m));
	EXPECT_EQ(3, m.offset);
	ASSERT_EQ(MQ_MAX_MSG_LIMIT, m.len);
	EXPECT_EQ(-1, pcheck(m.data, 3, m.len));
	free(buf);
	mq_ring_close(&p);
	mq_ring_close(&c);
	close(w);
}

/* The layout cannot be written back: EFAULT, and no ring fd is left behind. */
TEST_F(ring, setup_write_back_fault_leaks_nothing)
{
	struct mq_ring_setup *s;
	struct mq_info info;
	int fd, probe, probe2;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, s);
	s->size = sizeof(*s);
	s->tx_size = 4096;
	s->rx_size = 4096;
	ASSERT_EQ(0, mprotect(s, 4096, PROT_READ));
	probe = dup(0);
	ASSERT_LE(0, probe);
	close(probe);
	EXPECT_EQ(-1, ioctl(fd, MQ_IOC_RING_SETUP, s));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(0, mqt_info(fd, &info));
	EXPECT_EQ(1, info.open_fds);
	probe2 = dup(0);
	EXPECT_EQ(probe, probe2);		/* the lowest free fd is still free */
	close(probe2);
	munmap(s, 4096);
	close(fd);
}

/*
 * A record that needs the whole ring after a wrap: a consumer following
 * the protocol (it releases pad records too) must get it.
 */
TEST_F(ring, rx_largest_record_after_wrap)
{
	const struct mq_ring_rec *h;
	struct raw r;
	char why[160];
	uint32_t seen = 0;
	int w, fd, rc;

	MKQ(8192, 0, 0);
	w = mqt_open(self->name, O_WRONLY);
	fd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, w);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 0, 4096));
	ASSERT_EQ(0, write_msg(w, 0, 1));
	ASSERT_EQ(0, write_msg(w, 1, 4096 - HDR));
	ASSERT_EQ(0, write_msg(w, 2, 1));
	ASSERT_EQ(1, getmsgs(r.fd));
	for (int round = 0; round < 6 && seen < 3; round++) {
		while ((rc = rx_next(&r.rx, &h, why, sizeof(why))) == 1) {
			uint32_t want = seen == 1 ? 4096 - HDR : 1;

			EXPECT_EQ(seen, h->offset);
			EXPECT_EQ(want, h->len);
			EXPECT_EQ(-1, pcheck(h + 1, seen, want));
			seen++;
		}
		ASSERT_EQ(0, rc) TH_LOG("%s", why);
		store_rel(r.rx.head, r.rx.pos);	/* pads included */
		ASSERT_LE(0, getmsgs(r.fd));
	}
	EXPECT_EQ(3, seen) TH_LOG("RX head %u tail %u", load_acq(r.rx.head),
				  load_acq(r.rx.tail));
	EXPECT_EQ(1, r.rx.pads);
	raw_fini(&r);
	close(w);
	close(fd);
}

/*
 * The same through libmq, as a program would write it: messages larger
 * than half the ring need a pad the consumer has nothing after to release.
 */
TEST_F(ring, libmq_consumer_messages_over_half_the_ring)
{
	struct mq_ring r;
	struct mq_ring_msg m;
	uint32_t seen = 0;
	int w, idle = 0;

	MKQ(8192, 0, 0);
	w = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, w);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_RDONLY, 0, 8192));
	for (uint32_t i = 0; i < 12; i++) {
		ASSERT_EQ(0, write_msg(w, i, i % 2 ? 5000 : 100));
	}
	while (seen < 12 && idle < 5) {
		int rc = mq_ring_peek(&r, &m);

		if (rc == 0) {
			EXPECT_EQ(seen, m.offset);
			EXPECT_EQ(seen % 2 ? 5000 : 100, m.len);
			EXPECT_EQ(-1, pcheck(m.data, seen, m.len));
			mq_ring_release(&r, &m);
			seen++;
			idle = 0;
			continue;
		}
		ASSERT_EQ(-EAGAIN, rc);
		rc = mq_ring_fill(&r);
		ASSERT_LE(0, rc);
		if (!rc)
			idle++;
	}
	EXPECT_EQ(12, seen) TH_LOG("stuck before offset %u: RX head %u tail %u",
				   seen, load_acq(r.rx.head), load_acq(r.rx.tail));
	mq_ring_close(&r);
	close(w);
}

TEST_F(ring, read_write_keep_working_with_rings)
{
	struct raw r;
	struct mq_info info;
	char buf[16];
	int fd;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 4096, 4096));
	ASSERT_EQ(3, write(fd, "abc", 3));
	ASSERT_EQ(3, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, mqt_info(fd, &info));
	EXPECT_EQ(1, info.msgs_in);
	EXPECT_EQ(1, info.msgs_out);
	EXPECT_EQ(0, r.st->tx_msgs);
	EXPECT_EQ(0, r.st->rx_msgs);
	raw_fini(&r);
	close(fd);
}

TEST_F(ring, ring_to_ring_same_process)
{
	struct mq_ring p, c;
	struct mq_ring_msg m;
	uint32_t sent = 0, got = 0, loops = 0;
	const uint32_t n = 500;

	MKQ(4096, 0, 0);
	ASSERT_EQ(0, mq_ring_open(&p, self->path, O_WRONLY, 16384, 0));
	ASSERT_EQ(0, mq_ring_open(&c, self->path, O_RDONLY, 0, 16384));
	while (got < n && loops++ < 10000) {
		int rc;

		while (sent < n) {
			uint32_t len = len_upto(sent, 2000);
			void *d = mq_ring_reserve(&p, len);

			if (!d)
				break;
			pfill(d, sent++, len);
		}
		ASSERT_LE(0, mq_ring_submit(&p));
		while ((rc = mq_ring_peek(&c, &m)) == 0) {
			ASSERT_EQ(got, m.offset);
			ASSERT_EQ(len_upto(got, 2000), m.len);
			ASSERT_EQ(-1, pcheck(m.data, got, m.len)) TH_LOG("message %u", got);
			mq_ring_release(&c, &m);
			got++;
		}
		ASSERT_EQ(-EAGAIN, rc);
		ASSERT_LE(0, mq_ring_fill(&c));
	}
	EXPECT_EQ(n, got);
	EXPECT_EQ(n, p.status->tx_msgs);
	EXPECT_EQ(0, p.status->tx_bad);
	EXPECT_EQ(n, c.status->rx_msgs);
	EXPECT_EQ(0, c.status->rx_bad);
	mq_ring_close(&p);
	mq_ring_close(&c);
}

/* A producer thread with its own fd and TX ring (libmq, submit_wait). */
struct producer {
	const char *path;
	uint32_t tx_size, from, n, maxlen, batch;
	int err;
	char why[128];
	uint64_t tx_msgs, tx_bad, pending;
	uint32_t head, tail;
	int done;
};

static void *producer_main(void *arg)
{
	struct producer *p = arg;
	struct mq_ring r;
	uint32_t seq = p->from, inb = 0, stuck = 0, partial = 0;
	int rc = mq_ring_open(&r, p->path, O_WRONLY, p->tx_size, 0);

	if (rc) {
		p->err = rc;
		snprintf(p->why, sizeof(p->why), "mq_ring_open");
		goto out;
	}
	while (seq < p->from + p->n) {
		uint32_t len = len_upto(seq, p->maxlen);
		void *m = inb < p->batch ? mq_ring_reserve(&r, len) : NULL;

		if (m) {
			pfill(m, seq++, len);
			inb++;
			stuck = 0;
			continue;
		}
		if (++stuck > 100) {
			p->err = -ENOSPC;
			snprintf(p->why, sizeof(p->why),
				 "TX never had room for %u bytes: head %u tail %u",
				 len, load_acq(r.tx.head), load_acq(r.tx.tail));
			break;
		}
		rc = mq_ring_submit_wait(&r);
		if (rc < 0) {
			p->err = rc;
			snprintf(p->why, sizeof(p->why), "submit_wait at %u", seq);
			break;
		}
		if (load_acq(r.tx.head) != load_acq(r.tx.tail)) {
			/* Only before an error the next call reports. */
			if (++partial > 2) {
				p->err = -EPROTO;
				snprintf(p->why, sizeof(p->why),
					 "submit_wait left records: head %u tail %u",
					 load_acq(r.tx.head), load_acq(r.tx.tail));
				break;
			}
			continue;
		}
		partial = 0;
		inb = 0;
	}
	if (!p->err && (rc = mq_ring_submit_wait(&r)) < 0) {
		p->err = rc;
		snprintf(p->why, sizeof(p->why), "last submit_wait");
	}
	p->tx_msgs = r.status->tx_msgs;
	p->tx_bad = r.status->tx_bad;
	p->pending = mq_ring_tx_pending(&r);
	p->head = load_acq(r.tx.head);
	p->tail = load_acq(r.tx.tail);
	mq_ring_close(&r);
out:
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Consume n messages in order with mq_ring_wait; 0 or a description in why. */
static int consume_in_order(struct mq_ring *c, uint32_t n, uint32_t maxlen,
			    char *why, size_t wl)
{
	struct mq_ring_msg m;

	for (uint32_t got = 0; got < n; got++) {
		int rc = mq_ring_wait(c, &m);
		long bad;

		if (rc) {
			snprintf(why, wl, "mq_ring_wait at %u: %d", got, rc);
			return -1;
		}
		if (m.offset != got || m.len != len_upto(got, maxlen)) {
			snprintf(why, wl, "want offset %u len %u, got %llu %u",
				 got, len_upto(got, maxlen),
				 (unsigned long long)m.offset, m.len);
			return -1;
		}
		bad = pcheck(m.data, got, m.len);
		if (bad >= 0) {
			snprintf(why, wl, "message %u byte %ld", got, bad);
			return -1;
		}
		mq_ring_release(c, &m);
	}
	return 0;
}

TEST_F(ring, ring_to_ring_threads)
{
	struct producer p = { .path = self->path, .tx_size = 16384, .n = 3000,
			      .maxlen = 2000, .batch = 16 };
	struct mq_ring c;
	char why[160] = "";
	pthread_t t;

	MKQ(4096, 0, 0);
	ASSERT_EQ(0, mq_ring_open(&c, self->path, O_RDONLY, 0, 16384));
	ASSERT_EQ(0, pthread_create(&t, NULL, producer_main, &p));
	EXPECT_EQ(0, consume_in_order(&c, p.n, p.maxlen, why, sizeof(why)))
		TH_LOG("%s", why);
	pthread_join(t, NULL);
	EXPECT_EQ(0, p.err) TH_LOG("producer: %s", p.why);
	EXPECT_EQ(p.n, p.tx_msgs);
	EXPECT_EQ(0, p.tx_bad);
	EXPECT_EQ(0, p.pending);
	EXPECT_EQ(p.n, c.status->rx_msgs);
	mq_ring_close(&c);
}

TEST_F(ring, ring_to_ring_across_fork)
{
	struct mq_ring c;
	char why[160] = "";
	int status;
	pid_t pid;

	MKQ(4096, 0, 0);
	ASSERT_EQ(0, mq_ring_open(&c, self->path, O_RDONLY, 0, 8192));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct producer p = { .path = self->path, .tx_size = 8192,
				      .n = 2000, .maxlen = 1500, .batch = 8 };

		alarm(25);
		producer_main(&p);
		if (p.err)
			fprintf(stderr, "# child producer: %s: %d\n", p.why, p.err);
		_exit(p.err || p.tx_msgs != p.n || p.tx_bad ? 1 : 0);
	}
	EXPECT_EQ(0, consume_in_order(&c, 2000, 1500, why, sizeof(why)))
		TH_LOG("%s", why);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	mq_ring_close(&c);
}

/*
 * Many laps of a 16 KiB ring with messages of 1 to 3000 bytes, so TX and
 * RX wrap at every position, with pad records and short skips; every
 * byte of every record checked, and every RX pad as the uapi lays it out.
 */
TEST_F_TIMEOUT(ring, wraparound_many_laps, 60)
{
	struct producer p = { .path = self->path, .tx_size = 16384, .n = 3000,
			      .maxlen = 3000, .batch = 5 };
	const struct mq_ring_rec *h;
	struct raw r;
	char why[200];
	uint32_t seq = 0, since = 0;
	pthread_t t;
	int fd, rc;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 0, 16384));
	ASSERT_EQ(0, pthread_create(&t, NULL, producer_main, &p));
	while (seq < p.n) {
		rc = rx_next(&r.rx, &h, why, sizeof(why));
		if (rc < 0)
			break;
		if (rc == 0) {
			store_rel(r.rx.head, r.rx.pos);
			since = 0;
			rc = ring_enter(r.fd, MQ_RING_ENTER_GETMSGS | MQ_RING_ENTER_WAIT, NULL);
			if (rc) {
				snprintf(why, sizeof(why), "GETMSGS|WAIT: %d", rc);
				break;
			}
			continue;
		}
		if (h->offset != seq || h->len != len_upto(seq, p.maxlen) ||
		    h->flags) {
			snprintf(why, sizeof(why),
				 "want offset %u len %u, got %llu len %u flags %#x",
				 seq, len_upto(seq, p.maxlen),
				 (unsigned long long)h->offset, h->len, h->flags);
			rc = -1;
			break;
		}
		if (pcheck(h + 1, seq, h->len) >= 0) {
			snprintf(why, sizeof(why), "message %u payload", seq);
			rc = -1;
			break;
		}
		seq++;
		if (++since == 3) {
			store_rel(r.rx.head, r.rx.pos);
			since = 0;
		}
	}
	if (seq < p.n) {
		/* Let the producer finish (it may wait for room). */
		mqt_del(&self->nl, self->name);
		self->made = false;
	}
	pthread_join(t, NULL);
	ASSERT_EQ(p.n, seq) TH_LOG("%s", why);
	EXPECT_EQ(0, p.err) TH_LOG("producer: %s", p.why);
	EXPECT_EQ(p.n, p.tx_msgs);
	EXPECT_EQ(0, p.tx_bad);			/* libmq's TX pads are not bad */
	EXPECT_EQ(p.head, p.tail);
	EXPECT_LT(10 * 16384U, p.tail);		/* many laps */
	EXPECT_EQ(p.n, r.st->rx_msgs);
	EXPECT_EQ(0, r.st->rx_bad);
	EXPECT_LT(0, r.rx.pads + r.rx.skips);
	TH_LOG("RX: %u pads, %u short skips, tail %u", r.rx.pads, r.rx.skips,
	       load_acq(r.rx.tail));
	raw_fini(&r);
	close(fd);
}

/*
 * On a fresh ring every byte that is not a record the kernel wrote stays
 * zero: alignment padding, pad bodies, the short end skipped, the space
 * after the tail. Payloads are all 0xA5, so kernel junk would show.
 */
TEST_F(ring, fresh_rx_holds_only_records)
{
	static const uint32_t lens[] = { LEN_1K, LEN_1K, LEN_1K, 1008 - HDR };
	const struct mq_ring_rec *h;
	unsigned char buf[4096];
	struct raw r;
	char why[160];
	uint32_t at = 0;
	int w, fd;

	MKQ(4096, 0, 0);
	w = mqt_open(self->name, O_WRONLY);
	fd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, w);
	ASSERT_LE(0, fd);
	memset(buf, 0xa5, sizeof(buf));
	ASSERT_EQ(0, raw_init(&r, fd, 0, 4096));

	/* Records of 1, 2, ... 40 bytes: padding of every width. */
	for (uint32_t len = 1; len <= 40; len++) {
		ASSERT_EQ((ssize_t)len, write(w, buf, len));
	}
	ASSERT_EQ(40, getmsgs(r.fd));
	for (uint32_t len = 1; len <= 40; len++) {
		h = (const struct mq_ring_rec *)(r.rx.data + at);
		ASSERT_EQ(len, h->len);
		ASSERT_EQ(0, h->flags);
		ASSERT_EQ(len - 1, h->offset);
		ASSERT_EQ(0, h->reserved);
		for (uint32_t i = 0; i < len; i++) {
			ASSERT_EQ(0xa5, ((const unsigned char *)(h + 1))[i]);
		}
		for (uint32_t i = HDR + len; i < rec_bytes(len); i++) {
			ASSERT_EQ(0, r.rx.data[at + i])
				TH_LOG("padding byte %u of record %u", i, len);
		}
		at += rec_bytes(len);
	}
	ASSERT_EQ(at, load_acq(r.rx.tail));
	for (uint32_t i = at; i < r.rx.size; i++) {
		ASSERT_EQ(0, r.rx.data[i]) TH_LOG("data byte %u after the tail", i);
	}
	for (size_t i = 0; i < r.rx.len; i++) {
		unsigned char *p = r.rx.region + i;

		if (p >= r.rx.data && p < r.rx.data + r.rx.size)
			continue;
		if ((p >= (unsigned char *)r.rx.head && p < (unsigned char *)(r.rx.head + 1)) ||
		    (p >= (unsigned char *)r.rx.tail && p < (unsigned char *)(r.rx.tail + 1)))
			continue;
		ASSERT_EQ(0, *p) TH_LOG("region byte %zu", i);
	}
	raw_fini(&r);
	close(fd);

	/*
	 * A new ring: 4080 bytes of records leave 16 at the end, too few
	 * for a header, skipped; then a pad record on a lap never written.
	 */
	fd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 0, 4096));
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ((ssize_t)lens[i], write(w, buf, lens[i]));
	}
	ASSERT_EQ(4, getmsgs(r.fd));
	ASSERT_EQ(4080, load_acq(r.rx.tail));
	for (int i = 0; i < 4; i++) {
		ASSERT_EQ(1, rx_next(&r.rx, &h, why, sizeof(why))) TH_LOG("%s", why);
	}
	store_rel(r.rx.head, r.rx.pos);
	ASSERT_EQ(100, write(w, buf, 100));
	ASSERT_EQ(1, getmsgs(r.fd));
	ASSERT_EQ(1, rx_next(&r.rx, &h, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ(1, r.rx.skips);
	EXPECT_EQ(4096 + rec_bytes(100), load_acq(r.rx.tail));
	for (uint32_t i = 4080; i < 4096; i++) {
		EXPECT_EQ(0, r.rx.data[i]) TH_LOG("skipped byte %u", i);
	}
	raw_fini(&r);
	close(fd);

	fd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 0, 8192));
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(LEN_1K, write(w, buf, LEN_1K));
	}
	ASSERT_EQ(5, getmsgs(r.fd));
	while (rx_next(&r.rx, &h, why, sizeof(why)) == 1)
		;
	ASSERT_EQ(5120, r.rx.pos);
	store_rel(r.rx.head, r.rx.pos);
	/* rec_bytes(3500) > the 3072 left */
	ASSERT_EQ(3500, write(w, buf, 3500));
	ASSERT_EQ(1, getmsgs(r.fd));
	ASSERT_EQ(1, rx_next(&r.rx, &h, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ(3500, h->len);
	EXPECT_EQ(1, r.rx.pads);
	for (uint32_t i = 5120 + HDR; i < 8192; i++) {
		ASSERT_EQ(0, r.rx.data[i]) TH_LOG("pad body byte %u", i);
	}
	raw_fini(&r);
	close(fd);
	close(w);
}

/* ================= bad TX records and indexes ================= */

TEST_F(ring, tx_oversize_records_skipped_and_counted)
{
	static const uint32_t lens[] = { 50, 200, 60, 101, 1, 100, 4000 };
	struct mq_ring r;
	struct mq_ring_enter e;
	int rd;

	MKQ(100, 0, 0);
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_WRONLY, 8192, 0));
	for (uint32_t i = 0; i < 7; i++) {
		void *m = mq_ring_reserve(&r, lens[i]);

		ASSERT_NE(NULL, m);
		pfill(m, i, lens[i]);
	}
	store_rel(r.tx.tail, r.tx.local);
	ASSERT_EQ(0, mq_ring_enter(&r, MQ_RING_ENTER_SUBMIT, &e));
	EXPECT_EQ(4, e.submitted);
	EXPECT_EQ(3, e.bad);
	EXPECT_EQ(4, r.status->tx_msgs);
	EXPECT_EQ(3, r.status->tx_bad);
	EXPECT_EQ(r.tx.local, load_acq(r.tx.head));
	EXPECT_EQ(0, read_msg(rd, 0, 50));
	EXPECT_EQ(0, read_msg(rd, 2, 60));
	EXPECT_EQ(0, read_msg(rd, 4, 1));
	EXPECT_EQ(0, read_msg(rd, 5, 100));
	EXPECT_EQ(-EAGAIN, read_msg(rd, 0, 1));
	mq_ring_close(&r);
	close(rd);
}

/* The same with an RX ring open: the direct path checks max-msg too. */
TEST_F(ring, tx_oversize_records_skipped_on_the_direct_path)
{
	static const struct { uint32_t seq, len; } tx[] = {
		{ 0, 50 }, { 1, 200 }, { 2, 60 },	/* max-msg 100 */
		{ 3, 60 }, { 4, 40 },			/* then 55 */
	}, want[] = { { 0, 50 }, { 2, 60 }, { 4, 40 } };
	struct mq_ring p, c;
	struct mq_ring_enter e;
	struct mq_ring_msg m;

	MKQ(100, 0, 0);
	ASSERT_EQ(0, mq_ring_open(&c, self->path, O_RDONLY, 0, 16384));
	ASSERT_EQ(0, mq_ring_open(&p, self->path, O_WRONLY, 8192, 0));
	for (uint32_t i = 0; i < 5; i++) {
		void *d = mq_ring_reserve(&p, tx[i].len);

		ASSERT_NE(NULL, d);
		pfill(d, tx[i].seq, tx[i].len);
		if (i == 2) {
			store_rel(p.tx.tail, p.tx.local);
			ASSERT_EQ(0, mq_ring_enter(&p, MQ_RING_ENTER_SUBMIT, &e));
			EXPECT_EQ(2, e.submitted);
			EXPECT_EQ(1, e.bad);
			EXPECT_EQ(2, p.status->tx_direct);
			ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name,
						 MQ_A_QUEUE_MAX_MSG, 55, NULL));
		}
	}
	store_rel(p.tx.tail, p.tx.local);
	ASSERT_EQ(0, mq_ring_enter(&p, MQ_RING_ENTER_SUBMIT, &e));
	EXPECT_EQ(1, e.submitted);
	EXPECT_EQ(1, e.bad);
	EXPECT_EQ(3, p.status->tx_direct);
	EXPECT_EQ(2, p.status->tx_bad);
	mq_ring_fill(&c);
	for (uint32_t i = 0; i < 3; i++) {
		ASSERT_EQ(0, mq_ring_peek(&c, &m)) TH_LOG("message %u", i);
		EXPECT_EQ(i, m.offset);
		EXPECT_EQ(want[i].len, m.len);
		EXPECT_EQ(-1, pcheck(m.data, want[i].seq, m.len));
	}
	EXPECT_EQ(-EAGAIN, mq_ring_peek(&c, &m));
	mq_ring_release(&c, &m);
	mq_ring_close(&p);
	mq_ring_close(&c);
}

TEST_F(ring, tx_invalid_records_skipped_and_counted)
{
	struct raw r;
	uint32_t at = 0, bad;
	int fd, rd;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_WRONLY);
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, raw_init(&r, fd, 4096, 0));
	at = tx_put(&r.tx, at, 10, 0, 0);
	at = tx_put(&r.tx, at, 0, 0, 0);		/* len 0 */
	at = tx_put(&r.tx, at, 10, 0x2, 0);		/* unknown flags */
	at = tx_put(&r.tx, at, 10, 0x40000000, 0);
	at = tx_put(&r.tx, at, 20, 0, 1);
	store_rel(r.tx.tail, at);
	EXPECT_EQ(2, submit(r.fd, &bad));
	EXPECT_EQ(3, bad);
	EXPECT_EQ(2, r.st->tx_msgs);
	EXPECT_EQ(3, r.st->tx_bad);
	EXPECT_EQ(at, load_acq(r.tx.head));
	EXPECT_EQ(0, read_msg(rd, 0, 10));
	EXPECT_EQ(0, read_msg(rd, 1, 20));
	EXPECT_EQ(-EAGAIN, read_msg(rd, 0, 1));
	raw_fini(&r);
	close(fd);
	close(rd);
}

/*
 * The reserved field of a TX record is for a later ABI: a record (a pad
 * too) with it set is skipped and counted as bad, never taken as a
 * message, on the general path and on the direct one to an RX ring.
 */
TEST_F(ring, tx_reserved_field_makes_a_record_bad)
{
	static const uint64_t junk[] = { 1, 1ULL << 32, 1ULL << 63, ~0ULL };
	const struct mq_ring_rec *h;
	struct mq_ring_rec *pad;
	struct raw r, c;
	char why[160];
	uint32_t at = 0, bad;
	int fd, rd, cfd;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_WRONLY);
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, raw_init(&r, fd, 4096, 0));
	/* No RX ring: the general path. */
	at = tx_put(&r.tx, at, 10, 0, 0);
	for (int i = 0; i < 4; i++) {
		struct mq_ring_rec *b = (void *)(r.tx.data + at);

		at = tx_put(&r.tx, at, 10, 0, 100 + i);
		b->reserved = junk[i];
	}
	pad = (void *)(r.tx.data + at);
	at = tx_put(&r.tx, at, 16, MQ_RING_REC_PAD, 0);	/* a pad, reserved set */
	pad->reserved = 2;
	at = tx_put(&r.tx, at, 20, 0, 1);
	store_rel(r.tx.tail, at);
	EXPECT_EQ(2, submit(r.fd, &bad));
	EXPECT_EQ(5, bad);
	EXPECT_EQ(2, r.st->tx_msgs);
	EXPECT_EQ(5, r.st->tx_bad);
	EXPECT_EQ(at, load_acq(r.tx.head));
	EXPECT_EQ(0, read_msg(rd, 0, 10));
	EXPECT_EQ(0, read_msg(rd, 1, 20));
	EXPECT_EQ(-EAGAIN, read_msg(rd, 0, 1));

	/* With an RX ring: the direct path stops at it, it is still bad. */
	cfd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, raw_init(&c, cfd, 0, 4096));
	at = tx_put(&r.tx, at, 30, 0, 2);
	pad = (void *)(r.tx.data + (at & r.tx.mask));	/* not a pad: bad */
	at = tx_put(&r.tx, at, 30, 0, 200);
	pad->reserved = 1ULL << 40;
	at = tx_put(&r.tx, at, 40, 0, 3);
	store_rel(r.tx.tail, at);
	EXPECT_EQ(2, submit(r.fd, &bad));
	EXPECT_EQ(1, bad);
	EXPECT_EQ(6, r.st->tx_bad);
	EXPECT_EQ(4, r.st->tx_msgs);
	EXPECT_EQ(2, r.st->tx_direct);
	ASSERT_LE(0, getmsgs(c.fd));
	for (uint32_t i = 2; i < 4; i++) {
		ASSERT_EQ(1, rx_next(&c.rx, &h, why, sizeof(why))) TH_LOG("%s", why);
		EXPECT_EQ(i, h->offset);
		EXPECT_EQ(i == 2 ? 30 : 40, h->len);
		EXPECT_EQ(0, h->reserved);
		EXPECT_EQ(-1, pcheck(h + 1, i, h->len));
	}
	EXPECT_EQ(0, rx_next(&c.rx, &h, why, sizeof(why)));
	raw_fini(&c);
	raw_fini(&r);
	close(cfd);
	close(fd);
	close(rd);
}

/* Junk over what the consumer has seen, pads included, then release it. */
static void scribble_seen(struct rq *q)
{
	for (uint32_t i = load_acq(q->head); i != q->pos; i++)
		q->data[i & q->mask] = 0xff;
	store_rel(q->head, q->pos);
}

/*
 * RX records carry reserved zero, even where the consumer wrote junk
 * over its ring: on both ways in (filled from the queue, handed over
 * from a TX ring), and in the kernel's pad records.
 */
TEST_F(ring, rx_records_have_reserved_zero)
{
	const struct mq_ring_rec *h;
	struct mq_ring p;
	struct raw r;
	char why[160];
	uint32_t seq = 0, got = 0, pads = 0;
	int w, fd, rc = 0;

	MKQ(4096, 0, 0);
	w = mqt_open(self->name, O_WRONLY);
	fd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, w);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 0, 4096));
	ASSERT_EQ(0, mq_ring_open(&p, self->path, O_WRONLY, 8192, 0));
	memset(r.rx.data, 0xff, r.rx.size);
	for (int lap = 0; lap < 8; lap++) {
		uint32_t len = 100 + lap * 450;

		if (lap % 2) {
			ASSERT_EQ(0, write_msg(w, seq, len));
		} else {
			/* (Straight into the ring, or queued on the way.) */
			ASSERT_EQ(0, reserve_fill(&p, seq, len));
			ASSERT_EQ(1, mq_ring_submit(&p));
		}
		ASSERT_LE(0, getmsgs(r.fd));
		seq++;
		/* A large one may come only once the pad before it is released. */
		for (int tries = 0; tries < 3; tries++) {
			rc = rx_next(&r.rx, &h, why, sizeof(why));
			if (rc)
				break;
			scribble_seen(&r.rx);
			ASSERT_LE(0, getmsgs(r.fd));
		}
		ASSERT_EQ(1, rc) TH_LOG("lap %d: %s", lap, rc ? why : "no record");
		EXPECT_EQ(got, h->offset);
		EXPECT_EQ(len, h->len);
		EXPECT_EQ(0, h->reserved) TH_LOG("record %u", got);
		EXPECT_EQ(-1, pcheck(h + 1, got, len));
		got++;
		scribble_seen(&r.rx);
		pads = r.rx.pads;
	}
	EXPECT_EQ(seq, got);
	EXPECT_LT(0, pads);		/* it wrapped, with pad records */
	EXPECT_LT(0, p.status->tx_direct);
	EXPECT_EQ(0, r.st->rx_bad);
	mq_ring_close(&p);
	raw_fini(&r);
	close(fd);
	close(w);
}

/*
 * libmq with a kernel whose record header differs from its own (the
 * setup reply faked): shorter, or not aligned, is -EPROTO and leaves no
 * fd behind; longer is used for every record, TX and RX.
 */
TEST_F(ring, libmq_follows_the_kernels_rec_size)
{
	const uint32_t big = HDR + 16, gap = HDR + 8;	/* gap: < big */
	const uint32_t la = 4096 - gap - big;		/* A ends at 4096 - gap */
	struct mq_ring_rec *h;
	struct mq_ring_msg m;
	struct mq_info info;
	struct mq_ring r;
	unsigned char *p;
	int fd;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	fake_rec_size = HDR - 8;
	EXPECT_EQ(-EPROTO, mq_ring_init(&r, fd, 4096, 4096));
	fake_rec_size = HDR + 4;
	EXPECT_EQ(-EPROTO, mq_ring_init(&r, fd, 4096, 4096));
	fake_rec_size = 0;
	ASSERT_EQ(0, mqt_info(fd, &info));
	EXPECT_EQ(1, info.open_fds);		/* the ring fds went */

	/* A longer header: the bytes libmq does not know are zero. */
	fake_rec_size = big;
	ASSERT_EQ(0, mq_ring_init(&r, fd, 4096, 4096));
	fake_rec_size = 0;
	EXPECT_EQ(big, r.tx.rec_size);
	EXPECT_EQ(big, r.rx.rec_size);
	memset(r.tx.data, 0xff, r.tx.size);
	p = mq_ring_reserve(&r, 10);
	ASSERT_NE(NULL, p);
	EXPECT_EQ(r.tx.data + big, p);
	h = (void *)r.tx.data;
	EXPECT_EQ(10, h->len);
	EXPECT_EQ(0, h->flags);
	for (uint32_t i = sizeof(h->len) + sizeof(h->flags); i < big; i++) {
		ASSERT_EQ(0, r.tx.data[i]) TH_LOG("header byte %u", i);
	}
	EXPECT_EQ(NULL, mq_ring_reserve(&r, 4096 - big + 1));
	/*
	 * A record that must wrap: a pad with the long header to the end
	 * (and no room at the start until the kernel takes the first).
	 */
	EXPECT_EQ(NULL, mq_ring_reserve(&r, 4096 - big - 32));
	h = (void *)(r.tx.data + (big + 16));	/* after the 10 bytes */
	EXPECT_EQ(MQ_RING_REC_PAD, h->flags);
	EXPECT_EQ(4096 - (big + 16) - big, h->len);
	EXPECT_EQ(0, h->reserved);

	/*
	 * RX as such a kernel would lay it out: A, a gap too short for its
	 * header (not for ours: it looks like a record to us), then B.
	 */
	h = (void *)r.rx.data;
	memset(h, 0xee, big);
	h->len = la;
	h->flags = 0;
	h->offset = 7;
	h->tstamp_ns = 8;
	h->reserved = 0;
	memset(r.rx.data + big, 'a', la);
	h = (void *)(r.rx.data + 4096 - gap);
	memset(h, 0, gap);
	h->len = 1;
	store_rel(r.rx.tail, 4096 - gap);
	ASSERT_EQ(0, mq_ring_peek(&r, &m));
	EXPECT_EQ(r.rx.data + big, m.data);
	EXPECT_EQ(la, m.len);
	EXPECT_EQ(7, m.offset);
	EXPECT_EQ(8, m.tstamp_ns);
	EXPECT_EQ(-EAGAIN, mq_ring_peek(&r, &m));
	mq_ring_release(&r, &m);
	EXPECT_EQ(4096 - gap, load_acq(r.rx.head));
	h = (void *)r.rx.data;
	memset(h, 0xee, big);
	h->len = 5;
	h->flags = MQ_MSG_REDELIVERED;
	h->offset = 9;
	h->reserved = 0;
	memcpy(r.rx.data + big, "hello", 5);
	store_rel(r.rx.tail, 4096 + ((big + 5 + 7) & ~7U));
	ASSERT_EQ(0, mq_ring_peek(&r, &m));
	EXPECT_EQ(r.rx.data + big, m.data);
	EXPECT_EQ(5, m.len);
	EXPECT_EQ(9, m.offset);
	EXPECT_EQ(MQ_MSG_REDELIVERED, m.flags);
	EXPECT_EQ(0, memcmp(m.data, "hello", 5));
	EXPECT_EQ(-EAGAIN, mq_ring_peek(&r, &m));
	mq_ring_release(&r, &m);
	EXPECT_EQ(load_acq(r.rx.tail), load_acq(r.rx.head));
	mq_ring_close(&r);
	close(fd);
}

TEST_F(ring, tx_bad_tail_takes_nothing)
{
	const uint32_t one = rec_bytes(8);	/* the one record's end */
	const uint32_t tails[] = { one + 1, 4, one + 4, 4096 + 8, 8192,
				   0xfffffff8U, 0x80000000U };
	struct mq_info info;
	struct raw r;
	int fd;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 4096, 0));
	ASSERT_EQ(one, tx_put(&r.tx, 0, 8, 0, 0));
	for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		store_rel(r.tx.tail, tails[i]);
		EXPECT_EQ(-EINVAL, submit(r.fd, NULL)) TH_LOG("tail %#x", tails[i]);
		EXPECT_EQ(0, r.st->tx_msgs);
		EXPECT_EQ(0, load_acq(r.tx.head)) TH_LOG("tail %#x", tails[i]);
	}
	ASSERT_EQ(0, mqt_info(fd, &info));
	EXPECT_EQ(0, info.depth_msgs);
	store_rel(r.tx.tail, one);
	EXPECT_EQ(1, submit(r.fd, NULL));
	EXPECT_EQ(one, load_acq(r.tx.head));
	EXPECT_EQ(1, r.st->tx_msgs);
	raw_fini(&r);
	close(fd);
}

TEST_F(ring, tx_record_beyond_tail_ends_batch)
{
	const uint32_t one = rec_bytes(8);	/* a record of 8 bytes */
	struct raw r;
	uint32_t bad;
	int fd, rd;

	MKQ(4096, 0, 0);
	fd = mqt_open(self->name, O_WRONLY);
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, raw_init(&r, fd, 4096, 0));
	ASSERT_EQ(one, tx_put(&r.tx, 0, 8, 0, 0));	/* A */
	tx_put(&r.tx, one, LEN_1K, 0, 1);		/* claims 1 KiB */
	tx_put(&r.tx, 2 * one, 8, 0, 2);	/* inside it: not a record */
	store_rel(r.tx.tail, 3 * one);		/* only 2 * one after A */
	EXPECT_EQ(1, submit(r.fd, &bad));
	EXPECT_LE(1, bad);
	EXPECT_LE(1, r.st->tx_bad);
	EXPECT_EQ(3 * one, load_acq(r.tx.head));	/* the rest was dropped */
	ASSERT_EQ(4 * one, tx_put(&r.tx, 3 * one, 8, 0, 3));
	store_rel(r.tx.tail, 4 * one);
	EXPECT_EQ(1, submit(r.fd, &bad));
	EXPECT_EQ(0, bad);
	EXPECT_EQ(4 * one, load_acq(r.tx.head));
	EXPECT_EQ(2, r.st->tx_msgs);
	EXPECT_EQ(0, read_msg(rd, 0, 8));
	EXPECT_EQ(0, read_msg(rd, 3, 8));
	EXPECT_EQ(-EAGAIN, read_msg(rd, 0, 1));
	raw_fini(&r);
	close(fd);
	close(rd);
}

/* The kernel keeps its own indexes: garbage in TX head or RX tail changes nothing. */
TEST_F(ring, kernel_owned_indexes_are_not_trusted)
{
	const struct mq_ring_rec *h;
	struct raw t, c;
	char why[160];
	uint32_t at;
	int tfd, cfd;

	MKQ(4096, 0, 0);
	tfd = mqt_open(self->name, O_WRONLY);
	cfd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, tfd);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, raw_init(&t, tfd, 4096, 0));
	ASSERT_EQ(0, raw_init(&c, cfd, 0, 4096));
	store_rel(t.tx.head, 0x12345678);
	store_rel(t.tx.flags, 0xffffffff);
	store_rel(c.rx.tail, 0xabcdef00);
	store_rel(c.rx.flags, 0xffffffff);
	at = tx_put(&t.tx, 0, 10, 0, 0);
	at = tx_put(&t.tx, at, 20, 0, 1);
	store_rel(t.tx.tail, at);
	EXPECT_EQ(2, submit(t.fd, NULL));
	EXPECT_EQ(at, load_acq(t.tx.head));
	ASSERT_LE(0, getmsgs(c.fd));
	EXPECT_EQ(rec_bytes(10) + rec_bytes(20), load_acq(c.rx.tail));
	EXPECT_EQ(2, c.st->rx_msgs);
	for (uint32_t i = 0; i < 2; i++) {
		ASSERT_EQ(1, rx_next(&c.rx, &h, why, sizeof(why))) TH_LOG("%s", why);
		EXPECT_EQ(i, h->offset);
		EXPECT_EQ(10 + 10 * i, h->len);
		EXPECT_EQ(-1, pcheck(h + 1, i, h->len));
	}
	raw_fini(&t);
	raw_fini(&c);
	close(tfd);
	close(cfd);
}

/*
 * RX heads outside [last accepted head, tail] or misaligned are ignored
 * and counted, and the kernel never writes over unreleased records.
 */
TEST_F(ring, rx_bad_heads_ignored_and_counted)
{
	static unsigned char snap[4096];
	const struct mq_ring_rec *h;
	struct raw r;
	char why[160];
	uint64_t bad;
	int w, fd;

	MKQ(4096, 0, 0);
	w = mqt_open(self->name, O_WRONLY);
	fd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, w);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 0, 4096));
	for (uint32_t i = 0; i < 8; i++) {
		ASSERT_EQ(0, write_msg(w, i, LEN_1K));	/* records of 1 KiB */
	}
	ASSERT_EQ(4, getmsgs(r.fd));
	ASSERT_EQ(4096, load_acq(r.rx.tail));
	memcpy(snap, r.rx.data, 4096);

	bad = r.st->rx_bad;
	store_rel(r.rx.head, 4096 + 1024);	/* beyond the tail */
	EXPECT_EQ(0, getmsgs(r.fd));
	EXPECT_LT(bad, r.st->rx_bad);
	EXPECT_EQ(0, memcmp(snap, r.rx.data, 4096));

	bad = r.st->rx_bad;
	store_rel(r.rx.head, 1024 + 4);		/* misaligned */
	EXPECT_EQ(0, getmsgs(r.fd));
	EXPECT_LT(bad, r.st->rx_bad);
	EXPECT_EQ(0, memcmp(snap, r.rx.data, 4096));

	store_rel(r.rx.head, 1024);		/* message 0 back */
	EXPECT_EQ(1, getmsgs(r.fd));
	EXPECT_EQ(5120, load_acq(r.rx.tail));
	EXPECT_EQ(0, memcmp(snap + 1024, r.rx.data + 1024, 3072));
	h = (const struct mq_ring_rec *)r.rx.data;
	EXPECT_EQ(4, h->offset);
	EXPECT_EQ(-1, pcheck(h + 1, 4, LEN_1K));
	memcpy(snap, r.rx.data, 4096);

	bad = r.st->rx_bad;
	store_rel(r.rx.head, 0);		/* behind the accepted head */
	EXPECT_EQ(0, getmsgs(r.fd));
	EXPECT_LT(bad, r.st->rx_bad);
	EXPECT_EQ(0, memcmp(snap, r.rx.data, 4096));

	store_rel(r.rx.head, 5120);
	EXPECT_EQ(3, getmsgs(r.fd));
	r.rx.pos = 5120;
	for (uint32_t i = 5; i < 8; i++) {
		ASSERT_EQ(1, rx_next(&r.rx, &h, why, sizeof(why))) TH_LOG("%s", why);
		EXPECT_EQ(i, h->offset);
		EXPECT_EQ(-1, pcheck(h + 1, i, LEN_1K));
	}
	EXPECT_EQ(8, r.st->rx_msgs);
	raw_fini(&r);
	close(w);
	close(fd);
}

/* ================= full queue, signals ================= */

TEST_F(ring, full_queue_submit_takes_what_fits)
{
	struct mq_ring r;
	int rd, rc;

	MKQ(1000, 8, 0);
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_WRONLY, 16384, 0));
	for (uint32_t i = 0; i < 20; i++) {
		void *m = mq_ring_reserve(&r, 100);

		ASSERT_NE(NULL, m);
		pfill(m, i, 100);
	}
	EXPECT_EQ(8, mq_ring_submit(&r));
	EXPECT_EQ(12 * rec_bytes(100), mq_ring_tx_pending(&r));
	EXPECT_EQ(8 * rec_bytes(100), load_acq(r.tx.head));
	rc = mq_ring_submit(&r);
	EXPECT_EQ(0, rc) TH_LOG("submit to a full queue: %d", rc);
	EXPECT_EQ(8, r.status->tx_msgs);
	for (uint32_t i = 0; i < 3; i++) {
		ASSERT_EQ(0, read_msg(rd, i, 100));
	}
	EXPECT_EQ(3, mq_ring_submit(&r));
	for (uint32_t i = 3; i < 11; i++) {
		ASSERT_EQ(0, read_msg(rd, i, 100));
	}
	EXPECT_EQ(8, mq_ring_submit(&r));
	EXPECT_EQ(0, mq_ring_submit(&r));	/* full again, one waits */
	for (uint32_t i = 11; i < 19; i++) {
		ASSERT_EQ(0, read_msg(rd, i, 100));
	}
	EXPECT_EQ(1, mq_ring_submit(&r));
	ASSERT_EQ(0, read_msg(rd, 19, 100));
	EXPECT_EQ(-EAGAIN, read_msg(rd, 0, 1));
	EXPECT_EQ(20, r.status->tx_msgs);
	EXPECT_EQ(0, mq_ring_tx_pending(&r));
	mq_ring_close(&r);
	close(rd);
}

struct waiter {
	int fd;
	uint64_t flags;
	int rc;
	struct mq_ring_enter e;
	int done;
	pid_t tid;
};

static void *enter_thread(void *arg)
{
	struct waiter *w = arg;

	__atomic_store_n(&w->tid, gettid(), __ATOMIC_RELEASE);
	w->rc = ring_enter(w->fd, w->flags, &w->e);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Wait (up to 10 s) until the waiter thread sleeps in the kernel. */
static bool waiter_asleep(struct waiter *w)
{
	for (int i = 0; i < 1000; i++) {
		pid_t tid = __atomic_load_n(&w->tid, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(&w->done, __ATOMIC_ACQUIRE))
			return false;
		if (tid && task_state(tid) == 'S')
			return true;
		usleep(10000);
	}
	return false;
}

TEST_F(ring, submit_wait_sleeps_until_readers_drain)
{
	struct waiter wt = { .flags = MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_WAIT };
	struct mq_info info;
	struct mq_ring r;
	pthread_t t;
	int rd;

	MKQ(1000, 8, 0);
	rd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_WRONLY, 16384, 0));
	for (uint32_t i = 0; i < 20; i++) {
		void *m = mq_ring_reserve(&r, 100);

		ASSERT_NE(NULL, m);
		pfill(m, i, 100);
	}
	store_rel(r.tx.tail, r.tx.local);
	wt.fd = r.fd;
	ASSERT_EQ(0, pthread_create(&t, NULL, enter_thread, &wt));
	/* It takes what fits, then sleeps. */
	for (int i = 0; i < 500; i++) {
		ASSERT_EQ(0, mqt_info(rd, &info));
		if (info.depth_msgs == 8)
			break;
		usleep(10000);
	}
	EXPECT_EQ(8, info.depth_msgs);
	EXPECT_TRUE(waiter_asleep(&wt));
	usleep(200000);
	EXPECT_EQ(0, __atomic_load_n(&wt.done, __ATOMIC_ACQUIRE));	/* asleep */
	ASSERT_EQ(0, mqt_info(rd, &info));
	EXPECT_EQ(8, info.msgs_in);
	/* (The status page and TX head may lag until the call returns.) */
	TH_LOG("asleep: status tx_msgs %llu, TX head %u",
	       (unsigned long long)r.status->tx_msgs, load_acq(r.tx.head));
	for (uint32_t i = 0; i < 20; i++) {
		ASSERT_EQ(0, read_msg(rd, i, 100)) TH_LOG("message %u", i);
	}
	pthread_join(t, NULL);
	EXPECT_EQ(0, wt.rc);
	EXPECT_EQ(20, wt.e.submitted);
	EXPECT_EQ(20, r.status->tx_msgs);
	EXPECT_EQ(load_acq(r.tx.tail), load_acq(r.tx.head));
	mq_ring_close(&r);
	close(rd);
}

TEST_F(ring, getmsgs_wait_counts_as_a_blocked_reader)
{
	struct waiter wt = { .flags = MQ_RING_ENTER_GETMSGS | MQ_RING_ENTER_WAIT };
	struct mq_info info;
	struct mq_ring r;
	pthread_t t;
	int wr;

	MKQ(1000, 0, 0);
	wr = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, wr);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_RDONLY, 0, 16384));
	ASSERT_EQ(0, mqt_info(wr, &info));
	EXPECT_EQ(0, info.blocked_readers);
	wt.fd = r.fd;
	ASSERT_EQ(0, pthread_create(&t, NULL, enter_thread, &wt));
	EXPECT_TRUE(waiter_asleep(&wt));
	ASSERT_EQ(0, mqt_info(wr, &info));
	EXPECT_EQ(1, info.blocked_readers);	/* as a read(2) would be */
	ASSERT_EQ(0, write_msg(wr, 0, 100));
	pthread_join(t, NULL);
	EXPECT_EQ(0, wt.rc);
	EXPECT_EQ(1, wt.e.delivered);
	ASSERT_EQ(0, mqt_info(wr, &info));
	EXPECT_EQ(0, info.blocked_readers);
	mq_ring_close(&r);
	close(wr);
}

/* Submit, taking an EINTR that the spec lets a call report late once. */
static int submit_retry(int fd)
{
	int rc = submit(fd, NULL);

	return rc == -EINTR ? submit(fd, NULL) : rc;
}

struct plain_writer {
	int fd;
	size_t len;
	ssize_t rc;
};

static void *plain_write_thread(void *arg)
{
	struct plain_writer *pw = arg;
	char buf[4096];

	memset(buf, 'w', sizeof(buf));
	pw->rc = write(pw->fd, buf, pw->len);
	return NULL;
}

/*
 * A record that fits while a plain writer sleeps ahead of it: the ring
 * producer must wait behind it, asleep, as write(2) would (it once spun
 * in the kernel, unkillable, because the room it waited for was there).
 */
TEST_F(ring, submit_wait_queues_behind_a_sleeping_writer)
{
	struct waiter wt = { .flags = MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_WAIT };
	struct plain_writer pw = { .len = 1000 };
	struct mq_info info;
	struct mq_ring r;
	pthread_t t, tw;
	char buf[1000];
	int rd, wr;

	MKQ(1000, 100, 2000);
	rd = mqt_open(self->name, O_RDONLY);
	wr = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, rd);
	ASSERT_LE(0, wr);
	memset(buf, 'q', sizeof(buf));
	for (int i = 0; i < 15; i++)
		ASSERT_EQ(100, write(wr, buf, 100));
	/* 1500 bytes queued: 1000 more do not fit, 100 would. */
	pw.fd = wr;
	ASSERT_EQ(0, pthread_create(&tw, NULL, plain_write_thread, &pw));
	for (int i = 0; i < 500; i++) {
		ASSERT_EQ(0, mqt_info(rd, &info));
		if (info.blocked_writers == 1)
			break;
		usleep(10000);
	}
	ASSERT_EQ(1, info.blocked_writers);

	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_WRONLY, 16384, 0));
	ASSERT_NE(NULL, mq_ring_reserve(&r, 100));
	store_rel(r.tx.tail, r.tx.local);
	wt.fd = r.fd;
	ASSERT_EQ(0, pthread_create(&t, NULL, enter_thread, &wt));
	/* Asleep behind the writer, and staying asleep. */
	EXPECT_TRUE(waiter_asleep(&wt));
	for (int i = 0; i < 5; i++) {
		usleep(20000);
		EXPECT_EQ('S', task_state(__atomic_load_n(&wt.tid, __ATOMIC_ACQUIRE)));
	}
	ASSERT_EQ(0, mqt_info(rd, &info));
	EXPECT_EQ(2, info.blocked_writers);
	EXPECT_EQ(15, info.depth_msgs);

	/* Readers make room: the writer first, then the ring's record. */
	for (int i = 0; i < 15; i++)
		ASSERT_EQ(100, read(rd, buf, sizeof(buf)));
	pthread_join(tw, NULL);
	EXPECT_EQ(1000, pw.rc);
	pthread_join(t, NULL);
	EXPECT_EQ(0, wt.rc);
	EXPECT_EQ(1, wt.e.submitted);
	EXPECT_EQ(1000, read(rd, buf, sizeof(buf)));
	EXPECT_EQ(100, read(rd, buf, sizeof(buf)));
	mq_ring_close(&r);
	close(wr);
	close(rd);
}

TEST_F(ring, signal_during_submit_wait_keeps_counts)
{
	struct mq_ring_enter e;
	struct mq_ring r;
	uint32_t head;
	int rd, w, rc;

	MKQ(1000, 8, 0);
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_WRONLY, 16384, 0));
	for (uint32_t i = 0; i < 20; i++) {
		void *m = mq_ring_reserve(&r, 100);

		ASSERT_NE(NULL, m);
		pfill(m, i, 100);
	}
	store_rel(r.tx.tail, r.tx.local);
	alarm_no_restart();
	alarm(1);
	rc = mq_ring_enter(&r, MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_WAIT, &e);
	/* It did something: 0 and its count, not EINTR. */
	EXPECT_EQ(0, rc);
	EXPECT_EQ(8, e.submitted);
	EXPECT_EQ(8, r.status->tx_msgs);
	for (uint32_t i = 0; i < 8; i++) {
		ASSERT_EQ(0, read_msg(rd, i, 100));
	}
	EXPECT_EQ(8, submit_retry(r.fd));
	for (uint32_t i = 8; i < 16; i++) {
		ASSERT_EQ(0, read_msg(rd, i, 100));
	}
	EXPECT_EQ(4, submit_retry(r.fd));
	for (uint32_t i = 16; i < 20; i++) {
		ASSERT_EQ(0, read_msg(rd, i, 100));
	}
	EXPECT_EQ(-EAGAIN, read_msg(rd, 0, 1));
	EXPECT_EQ(20, r.status->tx_msgs);

	/* A wait that took nothing: EINTR, and the record stays. */
	w = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, w);
	for (uint32_t i = 0; i < 8; i++) {
		ASSERT_EQ(0, write_msg(w, 100 + i, 10));
	}
	ASSERT_NE(NULL, mq_ring_reserve(&r, 10));
	store_rel(r.tx.tail, r.tx.local);
	head = load_acq(r.tx.head);
	alarm(1);
	EXPECT_EQ(-EINTR, mq_ring_enter(&r, MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_WAIT, &e));
	EXPECT_EQ(20, r.status->tx_msgs);
	EXPECT_EQ(head, load_acq(r.tx.head));
	close(w);
	mq_ring_close(&r);
	close(rd);
}

TEST_F(ring, signal_during_ring_wait_is_eintr)
{
	struct mq_ring r;
	struct mq_ring_msg m;

	MKQ(1000, 0, 0);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_RDONLY, 0, 4096));
	alarm_no_restart();
	alarm(1);
	EXPECT_EQ(-EINTR, mq_ring_enter(&r, MQ_RING_ENTER_GETMSGS | MQ_RING_ENTER_WAIT, NULL));
	alarm(1);
	EXPECT_EQ(-EINTR, mq_ring_wait(&r, &m));
	EXPECT_EQ(0, r.status->rx_msgs);
	mq_ring_close(&r);
}

/* ================= poll ================= */

TEST_F(ring, poll_in_follows_ring_and_queue)
{
	const struct mq_ring_rec *h;
	struct pollfd p;
	struct mq_info info;
	struct raw r;
	char why[160];
	int w, fd;

	MKQ(1000, 0, 0);
	w = mqt_open(self->name, O_WRONLY);
	fd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, w);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 0, 4096));
	p = (struct pollfd){ .fd = r.fd, .events = POLLIN };
	EXPECT_EQ(0, poll(&p, 1, 0));
	ASSERT_EQ(0, write_msg(w, 0, 10));
	ASSERT_EQ(1, poll(&p, 1, 0));		/* the queue has one */
	EXPECT_EQ(POLLIN, p.revents);
	ASSERT_EQ(1, getmsgs(r.fd));
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(0, info.depth_msgs);
	ASSERT_EQ(1, poll(&p, 1, 0));		/* the ring has one */
	EXPECT_EQ(POLLIN, p.revents);
	ASSERT_EQ(1, rx_next(&r.rx, &h, why, sizeof(why))) TH_LOG("%s", why);
	store_rel(r.rx.head, r.rx.pos);
	EXPECT_EQ(0, getmsgs(r.fd));
	EXPECT_EQ(0, poll(&p, 1, 0));		/* released, nothing queued */
	raw_fini(&r);
	close(w);
	close(fd);
}

TEST_F(ring, poll_out_follows_tx_ring_and_queue)
{
	struct pollfd p;
	struct mq_ring r;
	int w, rd, n = 0;

	MKQ(1000, 4, 0);
	w = mqt_open(self->name, O_WRONLY);
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, w);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_WRONLY, 4096, 0));
	p = (struct pollfd){ .fd = r.fd, .events = POLLOUT };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents);
	for (uint32_t i = 0; i < 4; i++) {
		ASSERT_EQ(0, write_msg(w, i, 10));
	}
	/* Queue full, but the TX ring has room for a maximal message. */
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT, p.revents);
	for (void *m; (m = mq_ring_reserve(&r, LEN_1K)); n++)
		pfill(m, 10 + n, LEN_1K);	/* 4 records of 1 KiB fill it */
	EXPECT_EQ(4, n);
	EXPECT_EQ(0, mq_ring_submit(&r));
	/* Both full: no room anywhere. */
	EXPECT_EQ(0, poll(&p, 1, 0)) TH_LOG("revents %#x", p.revents);
	ASSERT_EQ(0, read_msg(rd, 0, 10));
	ASSERT_EQ(1, poll(&p, 1, 0));		/* the queue has room again */
	EXPECT_EQ(POLLOUT, p.revents);
	mq_ring_close(&r);
	close(w);
	close(rd);
}

struct poller {
	int fd;
	short events;
	int rc;
	short revents;
};

static void *poll_thread(void *arg)
{
	struct poller *p = arg;
	struct pollfd pfd = { .fd = p->fd, .events = p->events };

	p->rc = poll(&pfd, 1, 10000);
	p->revents = pfd.revents;
	return NULL;
}

TEST_F(ring, poll_woken_by_ring_submit)
{
	struct poller pl = { .events = POLLIN };
	struct mq_ring prod, c;
	pthread_t t;
	void *m;

	MKQ(1000, 0, 0);
	ASSERT_EQ(0, mq_ring_open(&c, self->path, O_RDONLY, 0, 4096));
	ASSERT_EQ(0, mq_ring_open(&prod, self->path, O_WRONLY, 4096, 0));
	pl.fd = c.fd;
	ASSERT_EQ(0, pthread_create(&t, NULL, poll_thread, &pl));
	usleep(200000);
	m = mq_ring_reserve(&prod, 10);
	ASSERT_NE(NULL, m);
	pfill(m, 0, 10);
	ASSERT_EQ(1, mq_ring_submit(&prod));
	pthread_join(t, NULL);
	EXPECT_EQ(1, pl.rc);
	EXPECT_EQ(POLLIN, pl.revents);
	mq_ring_close(&prod);
	mq_ring_close(&c);
}

struct pingpong {
	const char *path;
	struct mq_ring c;
	uint32_t acked;		/* messages consumed */
	int ready, err;
	pid_t tid;
};


static void *pingpong_consumer(void *arg)
{
	struct pingpong *pp = arg;
	struct mq_ring_msg m;
	int rc = mq_ring_open(&pp->c, pp->path, O_RDONLY, 0, 4096);

	pp->tid = gettid();
	__atomic_store_n(&pp->ready, 1, __ATOMIC_RELEASE);
	if (rc) {
		pp->err = rc;
		return NULL;
	}
	for (;;) {
		rc = mq_ring_wait(&pp->c, &m);
		if (rc) {
			if (rc != -EIDRM)
				pp->err = rc;
			break;
		}
		mq_ring_release(&pp->c, &m);
		__atomic_store_n(&pp->acked, (uint32_t)m.offset + 1, __ATOMIC_RELEASE);
	}
	mq_ring_close(&pp->c);
	return NULL;
}

/* Wait up to @ms for the consumer to have consumed @n messages. */
static bool acked_within(struct pingpong *pp, uint32_t n, int ms)
{
	uint64_t end = now_ns(CLOCK_MONOTONIC) + ms * 1000000ULL;

	while (__atomic_load_n(&pp->acked, __ATOMIC_ACQUIRE) < n) {
		if (now_ns(CLOCK_MONOTONIC) > end)
			return false;
		sched_yield();
	}
	return true;
}

/*
 * One message at a time, each handed straight into the ring of a
 * consumer that is just going back to sleep in mq_ring_wait(), at
 * varying moments. A message must never sit in the ring while the
 * consumer sleeps: none may wait 2 s with nothing else happening.
 */
TEST_F_TIMEOUT(ring, ring_wait_never_sleeps_on_a_message, 90)
{
	struct pingpong pp = { .path = self->path };
	struct mq_ring p;
	char wchan[64];
	uint32_t sent = 0, lost = 0, x = 12345;
	pthread_t t;

	MKQ(1000, 0, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, pingpong_consumer, &pp));
	while (!__atomic_load_n(&pp.ready, __ATOMIC_ACQUIRE))
		usleep(1000);
	ASSERT_EQ(0, pp.err);
	ASSERT_EQ(0, mq_ring_open(&p, self->path, O_WRONLY, 4096, 0));
	for (int round = 0; round < 3000 && lost < 3; round++) {
		uint64_t until = now_ns(CLOCK_MONOTONIC) + xs32(&x) % 60000;

		while (now_ns(CLOCK_MONOTONIC) < until)
			;
		ASSERT_EQ(0, reserve_fill(&p, sent, 8));
		ASSERT_EQ(1, mq_ring_submit(&p));
		sent++;
		if (acked_within(&pp, sent, 2000))
			continue;
		lost++;
		TH_LOG("round %d: message %u unread for 2 s: RX head %u tail %u, consumer saw up to %u, rx_msgs %llu, consumer state %c in %s",
		       round, sent - 1, load_acq(pp.c.rx.head),
		       load_acq(pp.c.rx.tail), pp.c.rx.cached,
		       (unsigned long long)pp.c.status->rx_msgs,
		       task_state(pp.tid), task_wchan(pp.tid, wchan, sizeof(wchan)));
		/* Another message wakes it, and it takes both. */
		ASSERT_EQ(0, reserve_fill(&p, sent, 8));
		ASSERT_EQ(1, mq_ring_submit(&p));
		sent++;
		ASSERT_TRUE(acked_within(&pp, sent, 5000));
	}
	EXPECT_EQ(0, lost);
	EXPECT_EQ(sent, p.status->tx_msgs);
	TH_LOG("%u messages, %llu handed over directly", sent,
	       (unsigned long long)p.status->tx_direct);
	mq_ring_close(&p);
	ASSERT_EQ(0, mqt_del(&self->nl, self->name));
	self->made = false;
	pthread_join(t, NULL);
	EXPECT_EQ(0, pp.err);
}

/* ================= several ring consumers ================= */

/*
 * While the queue is empty, each TX batch goes straight to the RX ring
 * with the most free space. Consumers that never release: the batches
 * spread evenly, and none waits in the queue.
 */
TEST_F(ring, batches_go_to_the_freest_ring)
{
	struct raw c[3];
	struct mq_ring p;
	struct mq_info info;
	uint32_t used[3] = { 0 }, seq = 0;
	int fds[3];

	MKQ(1000, 0, 0);
	for (int i = 0; i < 3; i++) {
		fds[i] = mqt_open(self->name, O_RDONLY);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, raw_init(&c[i], fds[i], 0, 8192));
	}
	ASSERT_EQ(0, mq_ring_open(&p, self->path, O_WRONLY, 16384, 0));
	for (int b = 0; b < 9; b++) {
		uint32_t changed = 0, most = 0, least = ~0U;

		for (int k = 0; k < 2; k++) {
			void *m = mq_ring_reserve(&p, 100);

			ASSERT_NE(NULL, m);
			pfill(m, seq++, 100);
		}
		ASSERT_EQ(2, mq_ring_submit(&p));
		ASSERT_EQ(0, mqt_info(fds[0], &info));
		EXPECT_EQ(0, info.depth_msgs) TH_LOG("batch %d stayed queued", b);
		for (int i = 0; i < 3; i++) {
			uint32_t t = load_acq(c[i].rx.tail);

			if (t != used[i]) {
				changed++;
				EXPECT_EQ(used[i] + 2 * rec_bytes(100), t)
					TH_LOG("batch %d ring %d", b, i);
			}
			used[i] = t;
			most = used[i] > most ? used[i] : most;
			least = used[i] < least ? used[i] : least;
		}
		EXPECT_EQ(1, changed) TH_LOG("batch %d went to %u rings", b, changed);
		EXPECT_GE(2 * rec_bytes(100), most - least) TH_LOG("batch %d", b);
	}
	for (int i = 0; i < 3; i++) {
		const struct mq_ring_rec *h;
		char why[160];
		uint64_t last = 0;
		int k = 0, rc;

		EXPECT_EQ(3 * 2 * rec_bytes(100), used[i]);
		while ((rc = rx_next(&c[i].rx, &h, why, sizeof(why))) == 1) {
			if (k++) {
				EXPECT_LT(last, h->offset);
			}
			last = h->offset;
			EXPECT_EQ(-1, pcheck(h + 1, (uint32_t)h->offset, 100));
		}
		EXPECT_EQ(0, rc) TH_LOG("%s", why);
		raw_fini(&c[i]);
		close(fds[i]);
	}
	EXPECT_EQ(18, p.status->tx_msgs);
	EXPECT_EQ(18, p.status->tx_direct);
	mq_ring_close(&p);
}

struct mcons {
	const char *path;
	struct mq_ring r;
	uint32_t rx_size, maxlen;
	uint32_t *total;
	int *ready;
	uint32_t *offs, n;
	int err;
	char why[160];
	pid_t tid;
};

static void *mcons_main(void *arg)
{
	struct mcons *c = arg;
	struct mq_ring_msg m;
	int rc = mq_ring_open(&c->r, c->path, O_RDONLY, 0, c->rx_size);

	c->tid = gettid();
	__atomic_add_fetch(c->ready, 1, __ATOMIC_ACQ_REL);
	if (rc) {
		c->err = rc;
		snprintf(c->why, sizeof(c->why), "mq_ring_open");
		return NULL;
	}
	for (;;) {
		rc = mq_ring_wait(&c->r, &m);
		if (rc == -EIDRM)
			break;
		if (rc) {
			c->err = rc;
			snprintf(c->why, sizeof(c->why), "mq_ring_wait");
			break;
		}
		if (c->n && m.offset <= c->offs[c->n - 1] && !c->err) {
			c->err = -EPROTO;
			snprintf(c->why, sizeof(c->why), "offset %llu after %u",
				 (unsigned long long)m.offset, c->offs[c->n - 1]);
		}
		if ((m.len != len_upto((uint32_t)m.offset, c->maxlen) ||
		     pcheck(m.data, (uint32_t)m.offset, m.len) >= 0) && !c->err) {
			c->err = -EBADMSG;
			snprintf(c->why, sizeof(c->why), "offset %llu len %u corrupt",
				 (unsigned long long)m.offset, m.len);
		}
		if (c->n < 100000)
			c->offs[c->n++] = (uint32_t)m.offset;
		mq_ring_release(&c->r, &m);
		__atomic_add_fetch(c->total, 1, __ATOMIC_ACQ_REL);
	}
	mq_ring_close(&c->r);
	return NULL;
}

/*
 * Three consumers draining their rings while a producer thread submits
 * as fast as it can: every message reaches exactly one of them, each in
 * order. (How it spreads depends on who gets a CPU: only logged.)
 */
TEST_F_TIMEOUT(ring, three_ring_consumers_share_without_loss, 60)
{
	struct producer p = { .path = self->path, .tx_size = 16384, .n = 3000,
			      .maxlen = 600, .batch = 8 };
	struct mcons c[3];
	pthread_t ct[3], pt;
	uint32_t total = 0;
	uint8_t *seen;
	int ready = 0;

	MKQ(1000, 0, 0);
	seen = calloc(p.n, 1);
	ASSERT_NE(NULL, seen);
	for (int i = 0; i < 3; i++) {
		c[i] = (struct mcons){ .path = self->path, .rx_size = 8192,
				       .maxlen = p.maxlen, .total = &total,
				       .ready = &ready };
		c[i].offs = calloc(100000, sizeof(uint32_t));
		ASSERT_NE(NULL, c[i].offs);
		ASSERT_EQ(0, pthread_create(&ct[i], NULL, mcons_main, &c[i]));
	}
	while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < 3)
		usleep(1000);
	ASSERT_EQ(0, pthread_create(&pt, NULL, producer_main, &p));
	pthread_join(pt, NULL);
	for (int i = 0; i < 4000 && __atomic_load_n(&total, __ATOMIC_ACQUIRE) < p.n; i++)
		usleep(10000);
	EXPECT_EQ(p.n, __atomic_load_n(&total, __ATOMIC_ACQUIRE));
	for (int i = 0; i < 3 && __atomic_load_n(&total, __ATOMIC_ACQUIRE) < p.n; i++) {
		char wchan[64];

		TH_LOG("consumer %d: RX head %u tail %u, seen up to %u, state %c in %s",
		       i, load_acq(c[i].r.rx.head), load_acq(c[i].r.rx.tail),
		       c[i].r.rx.cached, task_state(c[i].tid),
		       task_wchan(c[i].tid, wchan, sizeof(wchan)));
	}
	/* Deleting the queue sends the consumers home with EIDRM. */
	ASSERT_EQ(0, mqt_del(&self->nl, self->name));
	self->made = false;
	for (int i = 0; i < 3; i++)
		pthread_join(ct[i], NULL);
	EXPECT_EQ(0, p.err) TH_LOG("producer: %s", p.why);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(0, c[i].err) TH_LOG("consumer %d: %s", i, c[i].why);
		for (uint32_t k = 0; k < c[i].n; k++)
			if (c[i].offs[k] < p.n)
				seen[c[i].offs[k]]++;
		TH_LOG("consumer %d got %u", i, c[i].n);
	}
	for (uint32_t k = 0; k < p.n; k++) {
		ASSERT_EQ(1, seen[k]) TH_LOG("offset %u seen %u times", k, seen[k]);
	}
	for (int i = 0; i < 3; i++)
		free(c[i].offs);
	free(seen);
}

/*
 * Consumers that keep their rings drained: the producer submits a batch
 * only once every RX ring is empty, so every batch finds a tie, and
 * each consumer must get its share (a tie always won by the same ring
 * would starve the others).
 */
TEST_F_TIMEOUT(ring, drained_consumers_share_evenly, 60)
{
	const uint32_t n = 1200, batch = 4;
	struct mcons c[3];
	struct mq_ring p;
	pthread_t ct[3];
	uint32_t total = 0, seq = 0;
	uint8_t *seen;
	int ready = 0;

	MKQ(1000, 0, 0);
	seen = calloc(n, 1);
	ASSERT_NE(NULL, seen);
	for (int i = 0; i < 3; i++) {
		c[i] = (struct mcons){ .path = self->path, .rx_size = 8192,
				       .maxlen = 600, .total = &total,
				       .ready = &ready };
		c[i].offs = calloc(100000, sizeof(uint32_t));
		ASSERT_NE(NULL, c[i].offs);
		ASSERT_EQ(0, pthread_create(&ct[i], NULL, mcons_main, &c[i]));
	}
	while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < 3)
		usleep(1000);
	ASSERT_EQ(0, mq_ring_open(&p, self->path, O_WRONLY, 16384, 0));
	while (seq < n) {
		int drained = 0;

		for (int spin = 0; spin < 20000 && !drained; spin++) {
			drained = __atomic_load_n(&total, __ATOMIC_ACQUIRE) == seq;
			for (int i = 0; i < 3 && drained; i++)
				drained = load_acq(c[i].r.rx.head) ==
					  load_acq(c[i].r.rx.tail);
			if (!drained)
				usleep(500);
		}
		ASSERT_TRUE(drained) TH_LOG("consumers stuck at %u", seq);
		for (uint32_t k = 0; k < batch; k++) {
			ASSERT_EQ(0, reserve_fill(&p, seq, len_upto(seq, 600)));
			seq++;
		}
		ASSERT_EQ(batch, mq_ring_submit(&p));
	}
	for (int i = 0; i < 2000 && __atomic_load_n(&total, __ATOMIC_ACQUIRE) < n; i++)
		usleep(1000);
	EXPECT_EQ(n, p.status->tx_direct);	/* each went straight to a ring */
	ASSERT_EQ(0, mqt_del(&self->nl, self->name));
	self->made = false;
	for (int i = 0; i < 3; i++)
		pthread_join(ct[i], NULL);
	for (int i = 0; i < 3; i++) {
		EXPECT_EQ(0, c[i].err) TH_LOG("consumer %d: %s", i, c[i].why);
		for (uint32_t k = 0; k < c[i].n; k++) {
			if (c[i].offs[k] < n)
				seen[c[i].offs[k]]++;
		}
		TH_LOG("consumer %d got %u", i, c[i].n);
		EXPECT_LE(n / 4, c[i].n) TH_LOG("consumer %d share", i);
		free(c[i].offs);
	}
	for (uint32_t k = 0; k < n; k++) {
		ASSERT_EQ(1, seen[k]) TH_LOG("offset %u seen %u times", k, seen[k]);
	}
	mq_ring_close(&p);
	free(seen);
}

/* ================= counters, deletion, close ================= */

TEST_F(ring, memory_queue_counts_durable_as_taken)
{
	struct mq_ring r;
	struct mq_info info;
	struct pollfd p;
	int q;

	MKQ(1000, 0, 0);
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_WRONLY, 4096, 0));
	for (uint32_t i = 0; i < 10; i++) {
		void *m = mq_ring_reserve(&r, 10);

		ASSERT_NE(NULL, m);
		pfill(m, i, 10);
	}
	EXPECT_EQ(10, mq_ring_submit(&r));
	EXPECT_EQ(10, r.status->tx_msgs);
	EXPECT_EQ(10, r.status->tx_durable);
	EXPECT_EQ(10, mq_ring_tx_durable(&r));
	p = (struct pollfd){ .fd = r.fd, .events = POLLOUT };
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(10, r.status->tx_durable);
	EXPECT_EQ(0, mq_ring_submit_durable(&r));	/* nothing new */
	for (uint32_t i = 0; i < 5; i++) {
		ASSERT_EQ(0, reserve_fill(&r, 10 + i, 10));
	}
	EXPECT_EQ(5, mq_ring_submit_durable(&r));
	EXPECT_EQ(15, r.status->tx_msgs);
	EXPECT_EQ(15, r.status->tx_durable);
	EXPECT_EQ(0, r.status->tx_direct);	/* no RX ring to hand them to */
	q = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, q);
	ASSERT_EQ(0, mqt_info(q, &info));
	EXPECT_EQ(MQ_DURABILITY_MEMORY, info.durability);
	EXPECT_EQ(15, info.msgs_in);
	EXPECT_EQ(0, info.durable_offset);
	close(q);
	mq_ring_close(&r);
}

TEST_F(ring, delete_wakes_ring_waiter_with_eidrm)
{
	struct waiter wt = { .flags = MQ_RING_ENTER_GETMSGS | MQ_RING_ENTER_WAIT };
	struct pollfd p;
	struct raw c, t;
	pthread_t th;
	int cfd, tfd, plain;

	MKQ(1000, 0, 0);
	cfd = mqt_open(self->name, O_RDONLY);
	tfd = mqt_open(self->name, O_WRONLY);
	plain = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, cfd);
	ASSERT_LE(0, tfd);
	ASSERT_LE(0, plain);
	ASSERT_EQ(0, raw_init(&c, cfd, 0, 4096));
	ASSERT_EQ(0, raw_init(&t, tfd, 4096, 0));
	wt.fd = c.fd;
	ASSERT_EQ(0, pthread_create(&th, NULL, enter_thread, &wt));
	EXPECT_TRUE(waiter_asleep(&wt));
	ASSERT_EQ(0, mqt_del(&self->nl, self->name));
	self->made = false;
	pthread_join(th, NULL);
	EXPECT_EQ(-EIDRM, wt.rc);
	EXPECT_EQ(-EIDRM, ring_enter(c.fd, MQ_RING_ENTER_GETMSGS, NULL));
	store_rel(t.tx.tail, tx_put(&t.tx, 0, 10, 0, 0));
	EXPECT_EQ(-EIDRM, ring_enter(t.fd, MQ_RING_ENTER_SUBMIT, NULL));
	EXPECT_EQ(0, t.st->tx_msgs);
	/* EIDRM before any other check. */
	EXPECT_EQ(-EIDRM, ring_enter(c.fd, 0xff00, NULL));
	EXPECT_EQ(-EIDRM, setup_ring(plain, 4096, 4096, NULL));
	EXPECT_EQ(-EIDRM, setup_ring(plain, 3, 0, NULL));
	p = (struct pollfd){ .fd = c.fd, .events = POLLIN };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_TRUE(p.revents & POLLHUP);
	EXPECT_TRUE(p.revents & POLLERR);
	/* The mappings stay readable. */
	EXPECT_EQ(0, c.st->rx_msgs);
	EXPECT_EQ(0, load_acq(c.rx.tail));
	raw_fini(&c);
	raw_fini(&t);
	close(cfd);
	close(tfd);
	close(plain);
}

TEST_F(ring, delete_wakes_submit_waiter)
{
	struct waiter wt = { .flags = MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_WAIT };
	struct mq_info info;
	char name2[80];
	struct raw t;
	pthread_t th;
	uint32_t at;
	int w, tfd;

	/* A waiter that took nothing: EIDRM. */
	MKQ(1000, 2, 0);
	w = mqt_open(self->name, O_WRONLY);
	tfd = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, w);
	ASSERT_LE(0, tfd);
	ASSERT_EQ(0, write_msg(w, 0, 10));
	ASSERT_EQ(0, write_msg(w, 1, 10));
	ASSERT_EQ(0, raw_init(&t, tfd, 4096, 0));
	at = 0;
	for (int i = 0; i < 3; i++)
		at = tx_put(&t.tx, at, 10, 0, 10 + i);
	store_rel(t.tx.tail, at);
	wt.fd = t.fd;
	ASSERT_EQ(0, pthread_create(&th, NULL, enter_thread, &wt));
	EXPECT_TRUE(waiter_asleep(&wt));
	ASSERT_EQ(0, mqt_del(&self->nl, self->name));
	self->made = false;
	pthread_join(th, NULL);
	EXPECT_EQ(-EIDRM, wt.rc);
	EXPECT_EQ(0, t.st->tx_msgs);
	raw_fini(&t);
	close(tfd);
	close(w);

	/* A waiter that took one first: 0 and its count, EIDRM next time. */
	snprintf(name2, sizeof(name2), "%s-b", self->name);
	ASSERT_EQ(0, mkq_named(&self->nl, name2, 1000, 2, 0));
	w = mqt_open(name2, O_WRONLY);
	tfd = mqt_open(name2, O_WRONLY);
	ASSERT_LE(0, w);
	ASSERT_LE(0, tfd);
	ASSERT_EQ(0, write_msg(w, 0, 10));
	ASSERT_EQ(0, raw_init(&t, tfd, 4096, 0));
	at = 0;
	for (int i = 0; i < 3; i++)
		at = tx_put(&t.tx, at, 10, 0, 10 + i);
	store_rel(t.tx.tail, at);
	wt = (struct waiter){ .fd = t.fd,
			      .flags = MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_WAIT };
	ASSERT_EQ(0, pthread_create(&th, NULL, enter_thread, &wt));
	EXPECT_TRUE(waiter_asleep(&wt));
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(2, info.msgs_in);		/* it took one, then slept */
	mqt_del(&self->nl, name2);
	pthread_join(th, NULL);
	EXPECT_EQ(0, wt.rc);
	EXPECT_EQ(1, wt.e.submitted);
	EXPECT_EQ(1, t.st->tx_msgs);
	EXPECT_EQ(-EIDRM, ring_enter(t.fd, MQ_RING_ENTER_SUBMIT, NULL));
	raw_fini(&t);
	close(tfd);
	close(w);
}

/*
 * Deleting the queue while a producer and two consumers run flat out:
 * every thread comes home (EIDRM), and what the consumers got before is
 * intact, in order and never twice.
 */
TEST_F_TIMEOUT(ring, delete_under_traffic, 60)
{
	struct producer p = { .path = self->path, .tx_size = 8192, .n = 1000000,
			      .maxlen = 300, .batch = 8 };
	struct mcons c[2];
	pthread_t ct[2], pt;
	uint32_t total = 0;
	uint8_t *seen;
	int ready = 0;

	MKQ(1000, 64, 0);
	for (int i = 0; i < 2; i++) {
		c[i] = (struct mcons){ .path = self->path, .rx_size = 4096,
				       .maxlen = p.maxlen, .total = &total,
				       .ready = &ready };
		c[i].offs = calloc(100000, sizeof(uint32_t));
		ASSERT_NE(NULL, c[i].offs);
		ASSERT_EQ(0, pthread_create(&ct[i], NULL, mcons_main, &c[i]));
	}
	while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < 2)
		usleep(1000);
	ASSERT_EQ(0, pthread_create(&pt, NULL, producer_main, &p));
	for (int i = 0; i < 2000 && __atomic_load_n(&total, __ATOMIC_ACQUIRE) < 2000; i++)
		usleep(1000);
	ASSERT_EQ(0, mqt_del(&self->nl, self->name));
	self->made = false;
	pthread_join(pt, NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(ct[i], NULL);
	EXPECT_EQ(-EIDRM, p.err) TH_LOG("producer: %s", p.why);
	seen = calloc(1 << 20, 1);
	ASSERT_NE(NULL, seen);
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(0, c[i].err) TH_LOG("consumer %d: %s", i, c[i].why);
		for (uint32_t k = 0; k < c[i].n; k++) {
			ASSERT_GT(1U << 20, c[i].offs[k]);
			ASSERT_EQ(0, seen[c[i].offs[k]]++) TH_LOG("offset %u twice", c[i].offs[k]);
		}
		free(c[i].offs);
	}
	TH_LOG("%u messages received before the delete", total);
	EXPECT_LT(0, total);
	free(seen);
}

/*
 * What a process may do to its own mappings: unmap part of a region,
 * drop its pages (MADV_DONTNEED), change protections, map other memory
 * over it. The kernel's pages stay as they were, and a new mapping shows
 * them; none of it disturbs the rings.
 */
TEST_F(ring, mm_operations_on_ring_mappings)
{
	const struct mq_ring_rec *h;
	struct raw r;
	char why[160];
	unsigned char *p;
	uint32_t at;
	int fd, status;
	pid_t pid;

	MKQ(1000, 0, 0);
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 8192, 8192));
	at = tx_put(&r.tx, 0, 100, 0, 0);
	at = tx_put(&r.tx, at, 200, 0, 1);
	store_rel(r.tx.tail, at);

	/* TX read-only now: the kernel still stores its head. */
	ASSERT_EQ(0, mprotect(r.tx.region, r.tx.len, PROT_READ));
	EXPECT_EQ(2, submit(r.fd, NULL));
	EXPECT_EQ(at, load_acq(r.tx.head));
	ASSERT_EQ(0, mprotect(r.tx.region, r.tx.len, PROT_READ | PROT_WRITE));
	ASSERT_LE(0, getmsgs(r.fd));
	EXPECT_EQ(2, r.st->rx_msgs);

	/* Drop the RX pages from this mapping: touching it now is this
	 * process's problem (SIGBUS or zeros), a new mapping has the data. */
	ASSERT_EQ(0, madvise(r.rx.region, r.rx.len, MADV_DONTNEED));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		volatile unsigned char x = r.rx.data[0];

		(void)x;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) || WTERMSIG(status) == SIGBUS)
		TH_LOG("status %#x", status);
	munmap(r.rx.region, r.rx.len);
	ASSERT_EQ(0, rq_map(&r.rx, r.fd, &r.s.rx));
	for (uint32_t i = 0; i < 2; i++) {
		ASSERT_EQ(1, rx_next(&r.rx, &h, why, sizeof(why))) TH_LOG("%s", why);
		EXPECT_EQ(i, h->offset);
		EXPECT_EQ(-1, pcheck(h + 1, i, h->len));
	}
	store_rel(r.rx.head, r.rx.pos);

	/* Anonymous memory over the TX mapping; then unmap half of RX. */
	p = mmap(r.tx.region, r.tx.len, PROT_READ | PROT_WRITE,
		 MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_EQ(r.tx.region, p);
	memset(p, 0xff, r.tx.len);
	EXPECT_EQ(0, submit(r.fd, NULL));	/* its tail is still `at` */
	ASSERT_EQ(0, munmap(r.rx.region + r.rx.len - 4096, 4096));
	munmap(r.tx.region, r.tx.len);
	ASSERT_EQ(0, rq_map(&r.tx, r.fd, &r.s.tx));
	EXPECT_EQ(at, load_acq(r.tx.tail));	/* the ring's own page */
	at = tx_put(&r.tx, at, 50, 0, 2);
	store_rel(r.tx.tail, at);
	EXPECT_EQ(1, submit(r.fd, NULL));
	ASSERT_LE(0, getmsgs(r.fd));
	EXPECT_EQ(3, r.st->rx_msgs);
	munmap(r.rx.region, r.rx.len - 4096);
	ASSERT_EQ(0, rq_map(&r.rx, r.fd, &r.s.rx));
	r.rx.pos = load_acq(r.rx.head);
	ASSERT_EQ(1, rx_next(&r.rx, &h, why, sizeof(why))) TH_LOG("%s", why);
	EXPECT_EQ(2, h->offset);
	EXPECT_EQ(-1, pcheck(h + 1, 2, 50));
	raw_fini(&r);
	close(fd);
}

/*
 * Closing the queue fd and then the ring fd while the rings are mapped:
 * the mappings keep the ring file, so the rings, the queue's open count
 * and the module's reference stay until the last munmap.
 */
TEST_F(ring, close_while_mapped_keeps_rings)
{
	const struct mq_ring_rec *h;
	struct mq_info info;
	struct raw r;
	char why[160];
	long base, ref;
	int w, fd;

	MKQ(1000, 0, 0);
	w = mqt_open(self->name, O_WRONLY);
	ASSERT_LE(0, w);
	base = mod_refcnt();
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, raw_init(&r, fd, 4096, 4096));
	for (uint32_t i = 0; i < 3; i++) {
		ASSERT_EQ(0, write_msg(w, i, 100));
	}
	ASSERT_EQ(3, getmsgs(r.fd));
	close(fd);
	close(r.fd);
	r.fd = -1;
	ref = mod_refcnt();
	if (base >= 0) {
		EXPECT_LT(base, ref);
	}
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(2, info.open_fds);		/* w and the mapped ring */
	for (uint32_t i = 0; i < 3; i++) {
		ASSERT_EQ(1, rx_next(&r.rx, &h, why, sizeof(why))) TH_LOG("%s", why);
		EXPECT_EQ(i, h->offset);
		EXPECT_EQ(-1, pcheck(h + 1, i, 100));
	}
	memset(r.tx.data, 0x77, r.tx.size);	/* still ours to write */
	store_rel(r.rx.head, r.rx.pos);
	EXPECT_EQ(3, r.st->rx_msgs);
	/* Deleting the queue under the mappings changes nothing for them. */
	ASSERT_EQ(0, mqt_del(&self->nl, self->name));
	self->made = false;
	EXPECT_EQ(3, r.st->rx_msgs);
	raw_fini(&r);
	if (base >= 0) {
		EXPECT_EQ(base, mod_refcnt());
	}
	TH_LOG("module refcnt %ld, %ld while mapped", base, ref);
	close(w);
}

/* ================= hostile processes ================= */

struct hostile_report {
	uint64_t tx_msgs, rx_msgs, tx_bad, rx_bad;
	uint32_t ok, einval, unexpected, iters, writes;
	int first_rc, first_action;
};

/*
 * A child that writes random indexes, headers and bytes all over its own
 * rings and calls enter after each: only 0 or EINVAL may come back.
 */
static void hostile_child(const char *path, uint32_t seed, int iters, int out,
			  int go)
{
	struct hostile_report rep = { 0 };
	struct raw r;
	uint32_t x = seed | 1;
	char a;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	int wfd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	alarm(40);
	if (fd < 0 || wfd < 0 || raw_init(&r, fd, 4096, 4096))
		_exit(3);
	for (int i = 0; i < iters; i++) {
		uint32_t act = xs32(&x) % 12, v = xs32(&x);
		struct mq_ring_enter e;
		uint64_t flags;
		int rc;

		switch (act) {
		case 0:
			store_rel(r.tx.tail, v);
			break;
		case 1:
			store_rel(r.tx.tail, load_acq(r.tx.head) + (v % 520) * 8);
			break;
		case 2:
			store_rel(r.rx.head, v);
			break;
		case 3:
			store_rel(r.rx.head, load_acq(r.rx.tail) - (v % 600) * 8);
			break;
		case 4: {
			static const uint32_t fl[] = { 0, 0, 0, MQ_RING_REC_PAD,
						       1, 2, 0xffffffffU,
						       MQ_RING_REC_PAD | 1 };
			struct mq_ring_rec *h = (void *)(r.tx.data + ((v & r.tx.mask) & ~7U));
			uint32_t y = xs32(&x);

			h->len = y % 4 ? y % 1200 : xs32(&x);
			h->flags = fl[xs32(&x) % 8];
			h->offset = ((uint64_t)xs32(&x) << 32) | xs32(&x);
			h->reserved = xs32(&x) % 4 ? 0 : (uint64_t)xs32(&x) << (y % 33);
			break;
		}
		case 5:
			for (int k = 0; k < 16; k++)
				((uint32_t *)r.tx.data)[(v + k * 977) % (r.tx.size / 4)] = xs32(&x);
			break;
		case 6:
			store_rel(r.tx.head, v);
			store_rel(r.rx.tail, xs32(&x));
			store_rel(r.tx.flags, xs32(&x));
			store_rel(r.rx.flags, xs32(&x));
			break;
		case 7:
			for (int k = 0; k < 16; k++)
				((uint32_t *)r.rx.data)[(v + k * 131) % (r.rx.size / 4)] = xs32(&x);
			break;
		case 8: {
			/* Plausible records from the kernel's head on. */
			uint32_t at = load_acq(r.tx.head) & ~7U, n = 1 + v % 5;

			for (uint32_t k = 0; k < n; k++) {
				uint32_t len = 1 + xs32(&x) % 800;
				uint32_t off = at & r.tx.mask;

				if (r.tx.size - off < rec_bytes(len)) {
					if (r.tx.size - off >= HDR) {
						struct mq_ring_rec *h = (void *)(r.tx.data + off);

						h->len = r.tx.size - off - HDR;
						h->flags = MQ_RING_REC_PAD;
						h->reserved = 0;
					}
					at += r.tx.size - off;
					break;
				}
				memset(r.tx.data + off + HDR, 'H', len);
				((struct mq_ring_rec *)(r.tx.data + off))->len = len;
				((struct mq_ring_rec *)(r.tx.data + off))->flags = 0;
				((struct mq_ring_rec *)(r.tx.data + off))->reserved = 0;
				at += rec_bytes(len);
			}
			store_rel(r.tx.tail, at);
			break;
		}
		case 9:
			/* Map TX again: the same pages must come back. */
			munmap(r.tx.region, r.tx.len);
			if (rq_map(&r.tx, r.fd, &r.s.tx))
				_exit(4);
			break;
		case 10: {
			/* Junk enter arguments: any error, no crash. */
			struct { struct mq_ring_enter e; uint32_t junk[8]; } j;

			for (int k = 0; k < 4; k++)
				j.junk[k] = xs32(&x);
			memcpy(&j.e, j.junk, sizeof(j.junk) / 2);
			j.e.size = v % 64;
			ioctl(r.fd, MQ_IOC_RING_ENTER, &j);
			continue;
		}
		case 11: {
			struct pollfd p = { .fd = r.fd, .events = POLLIN | POLLOUT };

			poll(&p, 1, 0);
			/* Queued messages, so that fills meet the bad heads. */
			if (write(wfd, "hostile!", 8) == 8)
				rep.writes++;
			break;
		}
		}
		flags = (uint64_t[]){ MQ_RING_ENTER_SUBMIT, MQ_RING_ENTER_GETMSGS,
				      MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_GETMSGS,
				      MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_DURABLE }[xs32(&x) % 4];
		rc = ring_enter(r.fd, flags, &e);
		rep.iters++;
		if (!rc) {
			rep.ok++;
		} else if (rc == -EINVAL) {
			rep.einval++;
		} else if (!rep.unexpected++) {
			rep.first_rc = rc;
			rep.first_action = act;
		}
	}
	/*
	 * Wait until the good producer is done: until then its batches may
	 * still land in this RX ring, uncounted by a status read now.
	 */
	if (read(go, &a, 1) != 1)
		_exit(6);
	rep.tx_msgs = r.st->tx_msgs;
	rep.rx_msgs = r.st->rx_msgs;
	rep.tx_bad = r.st->tx_bad;
	rep.rx_bad = r.st->rx_bad;
	if (write(out, &rep, sizeof(rep)) != sizeof(rep))
		_exit(5);
	_exit(rep.unexpected ? 1 : 0);
}

#define GOOD_MAGIC 0x21444f4f47716dULL	/* "mqGOOD!" */

/* A well-behaved message: magic, seq, len, then the pattern. */
static uint32_t good_len(uint32_t seq)
{
	return 16 + len_upto(seq, 800);
}

static void good_fill(uint8_t *d, uint32_t seq)
{
	uint64_t magic = GOOD_MAGIC;
	uint32_t len = good_len(seq);

	pfill(d, seq, len);
	memcpy(d, &magic, 8);
	memcpy(d + 8, &seq, 4);
	memcpy(d + 12, &len, 4);
}

/* 1: not a well-behaved message; 0: intact, *seq set; -1: corrupt. */
static int good_check(const uint8_t *d, uint32_t len, uint32_t *seq)
{
	static uint8_t want[1024];
	uint64_t magic;

	if (len < 16)
		return 1;
	memcpy(&magic, d, 8);
	if (magic != GOOD_MAGIC)
		return 1;
	memcpy(seq, d + 8, 4);
	if (*seq >= 100000 || len != good_len(*seq))
		return -1;
	good_fill(want, *seq);
	return memcmp(want, d, len) ? -1 : 0;
}

struct good_producer {
	const char *path;
	uint32_t n;
	int err;
	uint64_t tx_msgs, tx_bad;
	int done;
};

static void *good_producer_main(void *arg)
{
	struct good_producer *p = arg;
	struct mq_ring r;
	uint32_t seq = 0, inb = 0;
	int rc = mq_ring_open(&r, p->path, O_WRONLY, 16384, 0);

	if (rc) {
		p->err = rc;
		goto out;
	}
	while (seq < p->n) {
		void *m = inb < 8 ? mq_ring_reserve(&r, good_len(seq)) : NULL;

		if (m) {
			good_fill(m, seq++);
			inb++;
			continue;
		}
		rc = mq_ring_submit_wait(&r);
		if (rc < 0) {
			p->err = rc;
			break;
		}
		inb = 0;
	}
	if (!p->err && (rc = mq_ring_submit_wait(&r)) < 0)
		p->err = rc;
	p->tx_msgs = r.status->tx_msgs;
	p->tx_bad = r.status->tx_bad;
	mq_ring_close(&r);
out:
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * A hostile child scribbles over its rings while a well-behaved producer
 * and consumer use the same queue: they keep working, their messages are
 * intact and in order, and the counts add up (nothing lost or doubled).
 */
TEST_F_TIMEOUT(ring, hostile_scribbler_beside_good_fds, 90)
{
	struct good_producer gp = { .path = self->path, .n = 2000 };
	struct hostile_report rep = { 0 };
	struct mq_ring c;
	struct mq_ring_msg m;
	struct mq_info info;
	uint64_t deadline = now_ns(CLOCK_MONOTONIC) + 60000000000ULL;
	uint32_t good = 0, other = 0, corrupt = 0, disorder = 0, last = 0;
	uint64_t last_off = 0, total = 0;
	int pfd[2], go[2], status = -1, child_done = 0, released = 0, qfd;
	pthread_t pt;
	pid_t pid;

	MKQ(1000, 0, 0);
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(0, pipe(go));
	qfd = mqt_open(self->name, O_RDONLY);
	ASSERT_LE(0, qfd);
	ASSERT_EQ(0, mq_ring_open(&c, self->path, O_RDONLY, 0, 16384));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		close(pfd[0]);
		close(go[1]);
		hostile_child(self->path, 0x1234567, 4000, pfd[1], go[0]);
	}
	close(pfd[1]);
	close(go[0]);
	ASSERT_EQ(0, pthread_create(&pt, NULL, good_producer_main, &gp));
	for (;;) {
		int rc = mq_ring_peek(&c, &m);
		uint32_t seq;

		if (rc == 0) {
			if (total && m.offset <= last_off)
				disorder++;
			last_off = m.offset;
			total++;
			rc = good_check(m.data, m.len, &seq);
			if (rc == 0) {
				if (good && seq <= last)
					disorder++;
				last = seq;
				good++;
			} else if (rc < 0) {
				corrupt++;
			} else {
				other++;
			}
			mq_ring_release(&c, &m);
			continue;
		}
		ASSERT_EQ(-EAGAIN, rc);
		rc = mq_ring_fill(&c);
		ASSERT_LE(0, rc);
		if (rc)
			continue;
		if (!released && __atomic_load_n(&gp.done, __ATOMIC_ACQUIRE)) {
			ASSERT_EQ(1, write(go[1], "g", 1));
			released = 1;
		}
		if (!child_done && waitpid(pid, &status, WNOHANG) == pid)
			child_done = 1;
		if (child_done && __atomic_load_n(&gp.done, __ATOMIC_ACQUIRE)) {
			ASSERT_EQ(0, mqt_info(qfd, &info));
			if (!info.depth_msgs)
				break;
		}
		if (now_ns(CLOCK_MONOTONIC) > deadline)
			break;
		usleep(1000);
	}
	pthread_join(pt, NULL);
	close(go[1]);
	if (!child_done)
		waitpid(pid, &status, 0);
	ASSERT_EQ(sizeof(rep), read(pfd[0], &rep, sizeof(rep)))
		TH_LOG("the hostile child died: status %#x", status);
	close(pfd[0]);
	TH_LOG("hostile: %u enters, %u ok, %u EINVAL, %u writes, tx %llu (bad %llu), rx %llu (bad %llu)",
	       rep.iters, rep.ok, rep.einval, rep.writes,
	       (unsigned long long)rep.tx_msgs, (unsigned long long)rep.tx_bad,
	       (unsigned long long)rep.rx_msgs, (unsigned long long)rep.rx_bad);
	TH_LOG("good consumer: %u good, %u hostile, %llu in all", good, other,
	       (unsigned long long)total);
	EXPECT_TRUE(WIFEXITED(status)) TH_LOG("status %#x", status);
	EXPECT_EQ(0, rep.unexpected) TH_LOG("first: %d after action %d",
					    rep.first_rc, rep.first_action);
	EXPECT_LT(0, rep.tx_bad + rep.einval + rep.rx_bad);
	EXPECT_EQ(0, gp.err);
	EXPECT_EQ(gp.n, gp.tx_msgs);
	EXPECT_EQ(0, gp.tx_bad);
	EXPECT_EQ(0, corrupt);
	EXPECT_EQ(0, disorder);
	EXPECT_LT(0, good);
	EXPECT_EQ(0, c.status->rx_bad);
	EXPECT_EQ(total, c.status->rx_msgs);
	EXPECT_LT(0, rep.rx_bad);		/* its fills met its bad heads */
	/* Every message taken in went to exactly one reader. */
	EXPECT_EQ(gp.n + rep.tx_msgs + rep.writes, total + rep.rx_msgs);
	ASSERT_EQ(0, mqt_info(qfd, &info));
	EXPECT_EQ(gp.n + rep.tx_msgs + rep.writes, info.msgs_in);
	EXPECT_EQ(0, info.depth_msgs);
	mq_ring_close(&c);
	close(qfd);
}

struct spinner {
	int fd;
	int bad, last_rc, calls;
};

static void *spin_enter(void *arg)
{
	struct spinner *s = arg;

	for (int i = 0; i < 3000; i++) {
		int rc = ring_enter(s->fd, MQ_RING_ENTER_SUBMIT | MQ_RING_ENTER_GETMSGS, NULL);

		s->calls++;
		if (rc == -EBADF)
			break;
		if (rc && rc != -EINVAL) {
			s->bad++;
			s->last_rc = rc;
		}
	}
	return NULL;
}

/*
 * A child unmaps its rings and closes the fd while another of its threads
 * is inside enter (spinning, or asleep in GETMSGS|WAIT and then woken by
 * a message the kernel puts in the now unmapped ring).
 */
TEST_F_TIMEOUT(ring, unmap_and_close_under_enter, 60)
{
	struct mq_info info;
	char buf[64];
	int w, status;

	MKQ(1000, 0, 0);
	w = mqt_open(self->name, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, w);
	for (int round = 0; round < 12; round++) {
		pid_t pid;

		while (read(w, buf, sizeof(buf)) > 0)
			;
		if (round % 2 == 0)
			for (uint32_t i = 0; i < 30; i++) {
				ASSERT_EQ(0, write_msg(w, i, 50));
			}
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			struct raw r;
			pthread_t t;
			uint32_t at = 0;
			int fd = mqt_open(self->name, O_RDWR);

			alarm(20);
			if (fd < 0 || raw_init(&r, fd, 4096, 4096))
				_exit(10);
			for (int i = 0; i < 3; i++)
				at = tx_put(&r.tx, at, 40, 0, i);
			store_rel(r.tx.tail, at);
			if (round % 2 == 0) {
				struct spinner s = { .fd = r.fd };

				pthread_create(&t, NULL, spin_enter, &s);
				usleep(hash32(round) % 3000);
				raw_fini(&r);
				close(fd);
				pthread_join(t, NULL);
				_exit(s.bad ? 11 : 0);
			} else {
				struct waiter wt = { .fd = r.fd,
					.flags = MQ_RING_ENTER_GETMSGS | MQ_RING_ENTER_WAIT };
				int w2;

				pthread_create(&t, NULL, enter_thread, &wt);
				if (!waiter_asleep(&wt))
					_exit(14);
				raw_fini(&r);
				close(fd);
				w2 = mqt_open(self->name, O_WRONLY);
				if (w2 < 0 || write(w2, "wake", 4) != 4)
					_exit(12);
				pthread_join(t, NULL);
				_exit(wt.rc == 0 && wt.e.delivered >= 1 ? 0 : 13);
			}
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		EXPECT_TRUE(WIFEXITED(status)) TH_LOG("round %d: status %#x", round, status);
		EXPECT_EQ(0, WEXITSTATUS(status)) TH_LOG("round %d", round);
	}
	while (read(w, buf, sizeof(buf)) > 0)
		;
	ASSERT_EQ(4, write(w, "okay", 4));
	ASSERT_EQ(4, read(w, buf, sizeof(buf)));
	EXPECT_EQ(0, memcmp(buf, "okay", 4));
	ASSERT_EQ(0, mqt_info(w, &info));
	EXPECT_EQ(1, info.open_fds);
	close(w);
}

/*
 * Parent and child share one fd and its TX ring after fork and both
 * produce into it at once, trampling each other's records and tails:
 * the kernel takes only valid records, and the queue stays sound.
 */
TEST_F_TIMEOUT(ring, fork_two_producers_on_one_tx_ring, 60)
{
	struct mq_ring r, good;
	int fd, rd, status, bad = 0;
	uint32_t x;
	uint64_t drained = 0;
	ssize_t n;
	pid_t pid;

	MKQ(1000, 0, 0);
	fd = mqt_open(self->name, O_RDWR);
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, mq_ring_init(&r, fd, 4096, 0));
	pid = fork();
	ASSERT_LE(0, pid);
	x = pid ? 77 : 99;
	for (int i = 0; i < 600; i++) {
		uint32_t len = 1 + xs32(&x) % 500;
		void *m = mq_ring_reserve(&r, len);
		int rc = 0;

		if (m)
			memset(m, pid ? 'P' : 'C', len);
		if (!m || i % 3 == 0)
			rc = mq_ring_submit(&r);
		if (rc < 0 && rc != -EINVAL)
			bad++;
	}
	if (pid == 0)
		_exit(bad ? 1 : 0);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, bad);
	while ((n = read(rd, iobuf, sizeof(iobuf))) > 0) {
		EXPECT_GE(1000, n);
		drained++;
	}
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(r.status->tx_msgs, drained);
	TH_LOG("%llu messages taken, %llu bad records",
	       (unsigned long long)r.status->tx_msgs,
	       (unsigned long long)r.status->tx_bad);
	/* A well-behaved fd on the same queue. */
	ASSERT_EQ(0, mq_ring_open(&good, self->path, O_WRONLY, 4096, 0));
	for (uint32_t i = 0; i < 10; i++) {
		ASSERT_EQ(0, reserve_fill(&good, i, 100 + i));
	}
	EXPECT_EQ(10, mq_ring_submit(&good));
	for (uint32_t i = 0; i < 10; i++) {
		EXPECT_EQ(0, read_msg(rd, i, 100 + i));
	}
	mq_ring_close(&good);
	mq_ring_close(&r);
	close(fd);
	close(rd);
}

/*
 * After fork, one fd's TX ring used by the child and its RX ring by the
 * parent: one writer per index, so everything arrives intact.
 */
TEST_F_TIMEOUT(ring, fork_shared_fd_child_tx_parent_rx, 60)
{
	struct mq_ring r;
	char why[160] = "";
	int fd, status;
	pid_t pid;

	MKQ(2000, 0, 0);
	fd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, mq_ring_init(&r, fd, 8192, 8192));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		uint32_t seq = 0, inb = 0;

		alarm(40);
		while (seq < 1000) {
			uint32_t len = len_upto(seq, 1500);
			void *m = inb < 4 ? mq_ring_reserve(&r, len) : NULL;

			if (m) {
				pfill(m, seq++, len);
				inb++;
				continue;
			}
			if (mq_ring_submit_wait(&r) < 0)
				_exit(1);
			inb = 0;
		}
		_exit(mq_ring_submit_wait(&r) < 0 ? 2 : 0);
	}
	EXPECT_EQ(0, consume_in_order(&r, 1000, 1500, why, sizeof(why)))
		TH_LOG("%s", why);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(1000, r.status->tx_msgs);
	EXPECT_EQ(1000, r.status->rx_msgs);
	mq_ring_close(&r);
	close(fd);
}

/* ================= durable queues ================= */

static const char *store_dev(void)
{
	const char *d = getenv("MQT_STORE_DEV");

	return d ? d : "/dev/vda";
}

static int store_cmd(struct mqt_nl *nl, uint8_t cmd, const char *path,
		     uint32_t seg)
{
	struct nl_msg *msg = mqt_msg(nl, cmd, 0);
	struct mqt_reply r;
	int err;

	if (path)
		nla_put_string(msg, MQ_A_STORE_PATH, path);
	if (seg)
		nla_put_u32(msg, MQ_A_STORE_SEGMENT_SIZE, seg);
	err = mqt_nl_send(nl, msg, &r);
	mqt_reply_free(&r);
	return err;
}

static int add_durable(struct mqt_nl *nl, const char *name, uint32_t dur,
		       uint32_t max_msg)
{
	struct nl_msg *msg = mqt_msg(nl, MQ_CMD_QUEUE_NEW, 0);
	struct mqt_reply r;
	int err;

	nla_put_string(msg, MQ_A_QUEUE_NAME, name);
	nla_put_u32(msg, MQ_A_QUEUE_DURABILITY, dur);
	nla_put_u32(msg, MQ_A_QUEUE_MAX_MSG, max_msg);
	err = mqt_nl_send(nl, msg, &r);
	mqt_reply_free(&r);
	return err;
}

FIXTURE(dring) {
	struct mqt_nl nl;
	char name[64];
	char path[128];
	bool skip;
};

FIXTURE_SETUP(dring)
{
	struct stat st;

	self->skip = stat(store_dev(), &st) || !S_ISBLK(st.st_mode) ||
		     geteuid() != 0;
	if (self->skip)
		return;
	ASSERT_EQ(0, mqt_nl_open(&self->nl));
	store_cmd(&self->nl, MQ_CMD_STORE_DETACH, NULL, 0);
	ASSERT_EQ(0, store_cmd(&self->nl, MQ_CMD_STORE_FORMAT, store_dev(), 1 << 20));
	ASSERT_EQ(0, store_cmd(&self->nl, MQ_CMD_STORE_ATTACH, store_dev(), 0));
	MQT_NAME(self->name, "dring");
	snprintf(self->path, sizeof(self->path), MQT_DEV_DIR "%s", self->name);
}

FIXTURE_TEARDOWN(dring)
{
	if (self->skip)
		return;
	mqt_del(&self->nl, self->name);
	store_cmd(&self->nl, MQ_CMD_STORE_DETACH, NULL, 0);
	mqt_nl_close(&self->nl);
}

#define SKIP_NO_DEV() do { \
	if (self->skip) \
		SKIP(return, "no scratch block device %s (or not root)", store_dev()); \
} while (0)

TEST_F(dring, sync_queue_submit_durable)
{
	struct mq_ring r;
	struct mq_info info;
	uint32_t seq = 0;
	int rd;

	SKIP_NO_DEV();
	ASSERT_EQ(0, add_durable(&self->nl, self->name, MQ_DURABILITY_SYNC, 4096));
	ASSERT_EQ(0, mq_ring_open(&r, self->path, O_WRONLY, 16384, 0));
	while (seq < 50) {
		void *m;
		int n = 0;

		while (seq < 50 && (m = mq_ring_reserve(&r, len_upto(seq, 2000)))) {
			pfill(m, seq, len_upto(seq, 2000));
			seq++;
			n++;
		}
		ASSERT_LT(0, n);
		ASSERT_EQ(n, mq_ring_submit_durable(&r));
		EXPECT_EQ(seq, r.status->tx_msgs);
		EXPECT_EQ(seq, r.status->tx_durable);
	}
	EXPECT_EQ(50, mq_ring_tx_durable(&r));
	rd = mqt_open(self->name, O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, rd);
	ASSERT_EQ(0, mqt_info(rd, &info));
	EXPECT_EQ(MQ_DURABILITY_SYNC, info.durability);
	EXPECT_EQ(50, info.durable_offset);
	for (uint32_t i = 0; i < 50; i++) {
		ASSERT_EQ(0, read_msg(rd, i, len_upto(i, 2000))) TH_LOG("message %u", i);
	}
	mq_ring_close(&r);
	close(rd);
}

TEST_F(dring, async_queue_durable_catches_up)
{
	struct mq_ring r;
	struct mq_ring_msg m;
	struct mq_info info;
	int qfd;

	SKIP_NO_DEV();
	ASSERT_EQ(0, add_durable(&self->nl, self->name, MQ_DURABILITY_ASYNC, 4096));
	qfd = mqt_open(self->name, O_RDWR);
	ASSERT_LE(0, qfd);
	ASSERT_EQ(0, mq_ring_init(&r, qfd, 8192, 8192));
	for (uint32_t i = 0; i < 20; i++) {
		ASSERT_EQ(0, reserve_fill(&r, i, 100));
	}
	EXPECT_EQ(20, mq_ring_submit(&r));
	EXPECT_EQ(20, r.status->tx_msgs);
	EXPECT_GE(20, r.status->tx_durable);
	EXPECT_EQ(0, mq_ring_submit_durable(&r));	/* waits for the 20 */
	EXPECT_EQ(20, r.status->tx_durable);
	ASSERT_EQ(0, mqt_info(qfd, &info));
	EXPECT_LE(20, info.durable_offset);
	/* And out through RX, in order. */
	for (uint32_t i = 0; i < 20; i++) {
		ASSERT_EQ(0, mq_ring_wait(&r, &m));
		EXPECT_EQ(i, m.offset);
		EXPECT_EQ(100, m.len);
		EXPECT_EQ(-1, pcheck(m.data, i, 100));
		mq_ring_release(&r, &m);
	}
	mq_ring_close(&r);
	close(qfd);
}

TEST_HARNESS_MAIN
