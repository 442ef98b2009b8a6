// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures. failslab and fail_page_alloc are limited to this
 * process (task-filter) and switched on (/proc/self/make-it-fail) only
 * around the one system call under test, where the kernel does the work:
 * the sendmsg(2) of a netlink request, a write(2), read(2), poll(2), ...
 *
 *   random_1pct, random_10pct: rounds of create, open, write, writev, read,
 *     poll, epoll, info, set (limits and access), get and delete, every
 *     allocation failing with that probability;
 *   each_allocation_once: every call made again and again, its 1st, 2nd,
 *     3rd ... allocation failed (/proc/thread-self/fail-nth) until it
 *     makes no more.
 *   store_10pct, store_nth: the same on a sync queue in the store (on the
 *     scratch disk, $MQT_STORE_DEV, default /dev/vda), with the store's
 *     own calls added: detach and attach again (the queue and its
 *     messages must come back whole, none flagged redelivered, or the
 *     call must fail and leave the store as it was), and store show. The
 *     store's memory cache is off (cache_mb 0), so reads load each
 *     message back from the disk.
 *
 * Every failed call must return a clean errno (ENOMEM, or ENOBUFS where
 * netlink drops a request or its answer), nothing else; after each call
 * the queue must match a model of what succeeded: existence and device
 * node, limits and mode, the messages in order with their contents, and
 * every MQ_IOC_INFO counter (depth == tail - head == msgs_in - msgs_out,
 * bytes alike). Leaks are kmemleak's job: the debug lane scans after the
 * suite, with the module unloaded.
 *
 * Needs CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC and
 * CONFIG_FAULT_INJECTION_DEBUG_FS (the debug lane's kernel, make
 * check-debug) and root; elsewhere every test is skipped.
 */
#include <dirent.h>
#include <poll.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/mq_store.h>

#include "mqtest.h"
#include "kselftest_harness.h"

#define FSLAB	"/sys/kernel/debug/failslab/"
#define FPAGE	"/sys/kernel/debug/fail_page_alloc/"
#define CACHE_MB	"/sys/module/mq/parameters/cache_mb"
#define BUDGET	1000000000L	/* "times": counts down per injected fault */

#define MAX_MSG		65536
#define CAP_MSGS	16
#define MODEL_CAP	64	/* more than any cap_msgs used */

static const char *const knobs[] = {
	FSLAB "probability", FSLAB "interval", FSLAB "times", FSLAB "space",
	FSLAB "verbose", FSLAB "task-filter", FSLAB "ignore-gfp-wait",
	FPAGE "probability", FPAGE "interval", FPAGE "times", FPAGE "space",
	FPAGE "verbose", FPAGE "task-filter", FPAGE "ignore-gfp-wait",
	FPAGE "ignore-gfp-highmem", FPAGE "min-order",
};
#define NKNOBS (sizeof(knobs) / sizeof(knobs[0]))

enum op {
	OP_NEW, OP_OPEN, OP_WRITE, OP_WRITEV, OP_READ, OP_READ_SHORT, OP_POLL,
	OP_EPOLL, OP_INFO, OP_SET_CAP, OP_SET_MODE, OP_GET, OP_DEL,
	OP_DETACH, OP_ATTACH, OP_STORE_GET, NOPS
};
/* The mix of a round, after its create and open. */
static const enum op mix[] = {
	OP_WRITE, OP_WRITE, OP_WRITE, OP_WRITE, OP_WRITEV, OP_READ, OP_READ,
	OP_READ, OP_READ_SHORT, OP_POLL, OP_EPOLL, OP_INFO, OP_GET, OP_SET_CAP,
	OP_SET_MODE, OP_POLL,
};
/* With a store: the same, and its own calls. */
static const enum op mix_store[] = {
	OP_WRITE, OP_WRITE, OP_WRITE, OP_WRITE, OP_WRITEV, OP_READ, OP_READ,
	OP_READ, OP_READ_SHORT, OP_POLL, OP_EPOLL, OP_INFO, OP_GET, OP_SET_CAP,
	OP_SET_MODE, OP_POLL, OP_DETACH, OP_STORE_GET,
};
static const char *const op_names[NOPS] = {
	"create", "open", "write", "writev", "read", "read-short", "poll",
	"epoll", "info", "set-cap", "set-mode", "get", "delete", "detach",
	"attach", "store-get",
};

struct counts {
	long calls[NOPS];
	long failed[NOPS];	/* returned ENOMEM/ENOBUFS */
	long lost_acks;		/* netlink answer dropped: outcome looked up */
	long nodes_lost;	/* set-mode applied but node not recreated */
	long node_bugs;		/* node missing, stale, misplaced or left behind */
	long injected_slab, injected_page;
};

/* What the queue must look like. */
struct model {
	char name[64];
	bool exists;
	uint32_t id;		/* from the first lookup after create */
	int fd;
	uint32_t max_msg, cap_msgs, mode;
	uint64_t cap_bytes;
	uint64_t in, out, bytes_in, bytes_out, tail;
	uint32_t seq[MODEL_CAP], len[MODEL_CAP];
	int head, n;
	uint64_t bytes;
	uint32_t next_seq;
};

FIXTURE(faults) {
	char skip[128];
	struct mqt_nl nl;
	int mif;		/* /proc/self/make-it-fail */
	int nth;		/* /proc/thread-self/fail-nth */
	char saved[NKNOBS][32];
	bool configured;
	unsigned int seed;
	struct counts c;
	struct model m;
	char *buf, *rbuf;
	char cache_mb[32];	/* the store variants: its value before */
	bool attached;		/* the store variants attached the store */
};

FIXTURE_VARIANT(faults) {
	int percent;		/* 0: the fail-nth sweep */
	int rounds;
	int seconds;		/* stop starting rounds after this long */
	bool store;		/* a sync queue in the store */
};

FIXTURE_VARIANT_ADD(faults, pct1) { .percent = 1, .rounds = 60, .seconds = 60 };
FIXTURE_VARIANT_ADD(faults, pct10) { .percent = 10, .rounds = 60, .seconds = 60 };
FIXTURE_VARIANT_ADD(faults, nth) { .percent = 0 };
FIXTURE_VARIANT_ADD(faults, store_pct10) {
	.percent = 10, .rounds = 30, .seconds = 60, .store = true,
};
FIXTURE_VARIANT_ADD(faults, store_nth) { .percent = 0, .store = true };

/* The variant's queues are sync, in the store. */
static bool durable;

static const char *store_dev(void)
{
	const char *d = getenv("MQT_STORE_DEV");

	return d ? d : "/dev/vda";
}

static int put_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

static int get_str(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static long get_long(const char *path)
{
	char buf[32];

	return get_str(path, buf, sizeof(buf)) ? -1 : strtol(buf, NULL, 0);
}

static int store_req(FIXTURE_DATA(faults) *self, uint8_t cmd, bool faulty,
		     int *how, struct mqt_reply *r);

/* A fresh store on the scratch disk, its memory cache off. */
static void store_setup(struct __test_metadata *_metadata,
			FIXTURE_DATA(faults) *self)
{
	struct mqt_reply r;
	int how;

	if (access(store_dev(), R_OK | W_OK)) {
		snprintf(self->skip, sizeof(self->skip), "no scratch disk %s",
			 store_dev());
		return;
	}
	ASSERT_EQ(0, get_str(CACHE_MB, self->cache_mb, sizeof(self->cache_mb)));
	ASSERT_EQ(0, put_str(CACHE_MB, "0"));
	store_req(self, MQ_CMD_STORE_DETACH, false, &how, &r);
	mqt_reply_free(&r);
	ASSERT_EQ(0, store_req(self, MQ_CMD_STORE_FORMAT, false, &how, &r))
		TH_LOG("format %s: %s", store_dev(), r.extack);
	mqt_reply_free(&r);
	ASSERT_EQ(0, store_req(self, MQ_CMD_STORE_ATTACH, false, &how, &r))
		TH_LOG("attach %s: %s", store_dev(), r.extack);
	mqt_reply_free(&r);
	self->attached = true;
}

FIXTURE_SETUP(faults)
{
	char buf[32];
	size_t i;

	self->mif = self->nth = -1;
	self->m.fd = -1;
	if (geteuid() != 0) {
		snprintf(self->skip, sizeof(self->skip), "needs root");
		return;
	}
	if (access(FSLAB "probability", W_OK) || access(FPAGE "probability", W_OK)) {
		snprintf(self->skip, sizeof(self->skip),
			 "no failslab/fail_page_alloc in debugfs (kernel without fault injection: make check-debug)");
		return;
	}
	ASSERT_EQ(0, mqt_nl_open(&self->nl));
	setsockopt(nl_socket_get_fd(self->nl.sk), SOL_SOCKET, SO_RCVTIMEO,
		   &(struct timeval){ .tv_sec = 30 }, sizeof(struct timeval));
	self->mif = open("/proc/self/make-it-fail", O_WRONLY);
	ASSERT_LE(0, self->mif);
	self->nth = open("/proc/thread-self/fail-nth", O_RDWR);
	ASSERT_LE(0, self->nth);
	self->buf = malloc(MAX_MSG + 1);
	self->rbuf = malloc(MAX_MSG + 1);
	ASSERT_NE(NULL, self->buf);
	ASSERT_NE(NULL, self->rbuf);
	/* Nothing of ours may fault in pages while failures are on. */
	memset(self->buf, 0, MAX_MSG + 1);
	memset(self->rbuf, 0, MAX_MSG + 1);
	ASSERT_EQ(0, mlockall(MCL_CURRENT)) TH_LOG("mlockall: %s", strerror(errno));

	for (i = 0; i < NKNOBS; i++)
		ASSERT_EQ(0, get_str(knobs[i], self->saved[i], sizeof(self->saved[i])))
			TH_LOG("knob %zu", i);
	self->configured = true;
	/* Off while we set up, then only this process, every allocation. */
	ASSERT_EQ(0, put_str(FSLAB "probability", "0"));
	ASSERT_EQ(0, put_str(FPAGE "probability", "0"));
	for (i = 0; i < 2; i++) {
		const char *d = i ? FPAGE : FSLAB;
		char path[128];

#define KNOB(name, val) do { \
		snprintf(path, sizeof(path), "%s%s", d, name); \
		ASSERT_EQ(0, put_str(path, val)) TH_LOG("%s", path); \
	} while (0)
		KNOB("interval", "1");
		KNOB("space", "0");
		KNOB("verbose", "0");
		KNOB("task-filter", "Y");
		KNOB("ignore-gfp-wait", "N");
		snprintf(buf, sizeof(buf), "%ld", BUDGET);
		KNOB("times", buf);
		if (i) {
			KNOB("ignore-gfp-highmem", "N");
			KNOB("min-order", "0");
		}
		snprintf(buf, sizeof(buf), "%d", variant->percent);
		KNOB("probability", buf);
#undef KNOB
	}
	self->seed = (unsigned int)time(NULL) ^ (unsigned int)getpid();
	durable = variant->store;
	if (durable)
		store_setup(_metadata, self);
}

FIXTURE_TEARDOWN(faults)
{
	size_t i;

	if (self->mif >= 0 && pwrite(self->mif, "0", 1, 0) != 1)
		TH_LOG("make-it-fail: %s", strerror(errno));
	if (self->nth >= 0 && pwrite(self->nth, "0", 1, 0) != 1)
		TH_LOG("fail-nth: %s", strerror(errno));
	if (!self->configured)
		return;
	put_str(FSLAB "probability", "0");
	put_str(FPAGE "probability", "0");
	/* probability last: the rest is harmless while it is 0 */
	for (i = NKNOBS; i-- > 0;)
		if (!strstr(knobs[i], "probability"))
			put_str(knobs[i], self->saved[i]);
	put_str(FSLAB "probability", self->saved[0]);
	put_str(FPAGE "probability", self->saved[7]);
	if (self->attached) {
		struct mqt_reply r;
		int how;

		if (self->m.fd >= 0)
			close(self->m.fd);
		store_req(self, MQ_CMD_STORE_DETACH, false, &how, &r);
		mqt_reply_free(&r);
	}
	if (self->cache_mb[0])
		put_str(CACHE_MB, self->cache_mb);
}

/* ---- failures on, for one system call ---- */

static int inject_mode;		/* 0 off, 1 probability, 2 fail-nth */
static int last_nl_err;		/* libnl's error when an answer was lost */
static int inject_nth;
static bool nth_fired;

static void inject_on(FIXTURE_DATA(faults) *self)
{
	char buf[16];

	if (inject_mode == 1) {
		if (pwrite(self->mif, "1", 1, 0) != 1)
			abort();
	} else if (inject_mode == 2) {
		snprintf(buf, sizeof(buf), "%d", inject_nth);
		if (pwrite(self->nth, buf, strlen(buf), 0) != (ssize_t)strlen(buf))
			abort();
	}
}

static void inject_off(FIXTURE_DATA(faults) *self)
{
	char buf[16];
	ssize_t n;

	if (inject_mode == 1) {
		if (pwrite(self->mif, "0", 1, 0) != 1)
			abort();
	} else if (inject_mode == 2) {
		n = pread(self->nth, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			abort();
		buf[n] = 0;
		/* 0: the armed failure happened (this call had n allocations) */
		if (atoi(buf) == 0)
			nth_fired = true;
		if (pwrite(self->nth, "0", 1, 0) != 1)
			abort();
	}
}

#define FAULTY(self, call) ({						\
	long __r;							\
	int __e;							\
	inject_on(self);						\
	__r = (long)(call);						\
	__e = errno;							\
	inject_off(self);						\
	errno = __e;							\
	__r;								\
})

static bool clean_errno(int e)
{
	return e == ENOMEM || e == ENOBUFS;
}

/* ---- netlink, with only the request's sendmsg(2) under failures ---- */

/* libnl's sequence check goes astray when a request or answer is lost. */
static int any_seq(struct nl_msg *msg, void *arg)
{
	return NL_OK;
}

/*
 * Answers to this request only. When the kernel cannot allocate an ack it
 * sets the socket's error, which the next recvmsg(2) reports before
 * anything queued: a GET's reply can be left behind, to be skipped later.
 */
struct flt_call {
	struct mqt_reply *r;
	uint32_t seq;
};

static int flt_err_cb(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	struct flt_call *c = arg;

	if (nlh->nlmsg_seq != c->seq)
		return NL_SKIP;
	return mqt_err_cb(who, e, c->r);
}

static int flt_done_cb(struct nl_msg *msg, void *arg)
{
	struct flt_call *c = arg;

	if (nlmsg_hdr(msg)->nlmsg_seq != c->seq)
		return NL_SKIP;
	return mqt_done_cb(msg, c->r);
}

static int flt_valid_cb(struct nl_msg *msg, void *arg)
{
	struct flt_call *c = arg;

	if (nlmsg_hdr(msg)->nlmsg_seq != c->seq)
		return NL_SKIP;
	return mqt_valid_cb(msg, c->r);
}

enum { NL_DONE, NL_NOT_SENT, NL_LOST };

/*
 * Send @msg and collect the answer like mqt_nl_send(). Returns 0 or
 * -errno; *how says whether the request was refused by sendmsg(2) (so
 * nothing happened) or its answer was lost (the outcome is unknown).
 */
static int flt_nl(FIXTURE_DATA(faults) *self, struct nl_msg *msg,
		  struct mqt_reply *r, bool faulty, int *how)
{
	struct flt_call call = { .r = r };
	struct nlmsghdr *nlh;
	struct nl_cb *cb;
	long n;
	int err;

	memset(r, 0, sizeof(*r));
	r->bad_attr_off = -1;
	nl_complete_msg(self->nl.sk, msg);
	nlh = nlmsg_hdr(msg);
	call.seq = nlh->nlmsg_seq;
	if (faulty)
		n = FAULTY(self, send(nl_socket_get_fd(self->nl.sk), nlh,
				      nlh->nlmsg_len, 0));
	else
		n = send(nl_socket_get_fd(self->nl.sk), nlh, nlh->nlmsg_len, 0);
	err = errno;
	nlmsg_free(msg);
	if (n < 0) {
		*how = NL_NOT_SENT;
		return r->err = -err;
	}
	cb = nl_cb_alloc(NL_CB_CUSTOM);
	nl_cb_err(cb, NL_CB_CUSTOM, flt_err_cb, &call);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, flt_done_cb, &call);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, flt_done_cb, &call);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, flt_valid_cb, &call);
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, any_seq, NULL);
	do {
		err = nl_recvmsgs(self->nl.sk, cb);
	} while (err >= 0 && !r->done);
	nl_cb_put(cb);
	if (!r->done) {
		/* The kernel could not allocate our answer (sk_err ENOBUFS). */
		last_nl_err = err;
		*how = NL_LOST;
		return r->err = -ENOBUFS;
	}
	*how = NL_DONE;
	return r->err;
}

static struct nl_msg *req(FIXTURE_DATA(faults) *self, uint8_t cmd)
{
	struct nl_msg *msg = mqt_msg(&self->nl, cmd, 0);

	nla_put_string(msg, MQ_A_QUEUE_NAME, self->m.name);
	return msg;
}

static int store_req(FIXTURE_DATA(faults) *self, uint8_t cmd, bool faulty,
		     int *how, struct mqt_reply *r)
{
	struct nl_msg *msg = mqt_msg(&self->nl, cmd, 0);

	if (cmd == MQ_CMD_STORE_FORMAT || cmd == MQ_CMD_STORE_ATTACH)
		nla_put_string(msg, MQ_A_STORE_PATH, store_dev());
	/*
	 * The smallest segments: recovery reads the log a segment at a
	 * time, and an attach's allocations (the pages of that buffer among
	 * them) must stay few enough for the fail-nth sweep.
	 */
	if (cmd == MQ_CMD_STORE_FORMAT)
		nla_put_u32(msg, MQ_A_STORE_SEGMENT_SIZE, 1 << 20);
	return flt_nl(self, msg, r, faulty, how);
}

/* The truth, without failures: is the store attached. */
static bool store_attached(struct __test_metadata *_metadata,
			   FIXTURE_DATA(faults) *self)
{
	struct mqt_reply r;
	int err, how;

	err = store_req(self, MQ_CMD_STORE_GET, false, &how, &r);
	mqt_reply_free(&r);
	EXPECT_EQ(NL_DONE, how);
	EXPECT_TRUE(err == 0 || err == -ENODEV) TH_LOG("store get: %s", strerror(-err));
	return !err;
}

/* The truth, without failures: does it exist, with which settings. */
static int lookup(struct __test_metadata *_metadata,
		  FIXTURE_DATA(faults) *self, struct mqt_reply *r)
{
	int how, err;

	err = flt_nl(self, req(self, MQ_CMD_QUEUE_GET), r, false, &how);
	EXPECT_EQ(NL_DONE, how) TH_LOG("lookup of %s: answer lost (%s), inject mode %d, nth %d",
				       self->m.name, nl_geterror(last_nl_err), inject_mode, inject_nth);
	EXPECT_TRUE(err == 0 || err == -ENOENT) TH_LOG("get: %s", strerror(-err));
	return err;
}

/* stat() of the node: 0 absent, else its permission bits | 01000000 */
static unsigned int node_mode(FIXTURE_DATA(faults) *self)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), MQT_DEV_DIR "%s", self->m.name);
	if (stat(path, &st))
		return 0;
	return 01000000 | (st.st_mode & 07777);
}

/*
 * A node at /dev/NAME instead of /dev/mq/NAME: devtmpfs falls back to the
 * device's name when the type's devnode() fails to allocate the path.
 */
static bool stray_node(FIXTURE_DATA(faults) *self)
{
	char path[128];

	snprintf(path, sizeof(path), "/dev/%s", self->m.name);
	return access(path, F_OK) == 0;
}

/* ---- the model ---- */

static bool room_for(const struct model *m, uint32_t len)
{
	return m->n < (int)m->cap_msgs && m->bytes + len <= m->cap_bytes;
}

static void fill(char *buf, uint32_t seq, uint32_t len)
{
	uint32_t i;

	memcpy(buf, &seq, 4);
	memcpy(buf + 4, &len, 4);
	for (i = 8; i < len; i++)
		buf[i] = (char)(seq * 31 + i);
}

static bool check(const char *buf, uint32_t seq, uint32_t len)
{
	uint32_t s, l, i;

	memcpy(&s, buf, 4);
	memcpy(&l, buf + 4, 4);
	if (s != seq || l != len)
		return false;
	for (i = 8; i < len; i++)
		if (buf[i] != (char)(seq * 31 + i))
			return false;
	return true;
}

static void push(struct model *m, uint32_t len)
{
	int i = (m->head + m->n) % MODEL_CAP;

	m->seq[i] = m->next_seq++;
	m->len[i] = len;
	m->n++;
	m->bytes += len;
	m->in++;
	m->bytes_in += len;
	m->tail++;
}

static void pop(struct model *m)
{
	m->bytes -= m->len[m->head];
	m->out++;
	m->bytes_out += m->len[m->head];
	m->head = (m->head + 1) % MODEL_CAP;
	m->n--;
}

static int set_mode(FIXTURE_DATA(faults) *self, uint32_t mode);

/*
 * /dev/mq/NAME must exist, with the queue's mode, exactly while the queue
 * does, and nothing may appear at /dev/NAME. Each anomaly is counted (the
 * test fails at the end), shown (the first few) and repaired, so that the
 * rest goes on being checked.
 *
 * Seen: devtmpfs gets the node's path from an allocation made in the
 * caller's context (device_get_devnode(): the devnode callback's
 * kasprintf of "mq/NAME" at first, which fell back to /dev/NAME when it
 * failed; since the device is named "mq!NAME", a kstrdup). When it fails,
 * device_add() and device_del() go on without touching the node: a queue
 * without a node, a node left behind after delete (whose minor a later
 * queue may get), or after a change of access the old node, old mode and
 * owner, kept while the call says it succeeded. Fixed by adding and
 * removing the device in a kernel worker (kmod/chrdev.c, mq_dev_swap()).
 */
static void node_check(struct __test_metadata *_metadata,
		       FIXTURE_DATA(faults) *self, const char *after, int err)
{
	struct model *m = &self->m;
	unsigned int want = m->exists ? 01000000 | m->mode : 0;
	unsigned int got = node_mode(self);
	bool stray = stray_node(self);
	char path[128];

	if (got == want && !stray)
		return;
	if (self->c.node_bugs < 8 && m->exists && !got && !stray) {
		/* where did it go? */
		DIR *d;
		struct dirent *de;
		struct stat st;
		const char *dirs[] = { "/dev", "/dev/mq" };
		int k;

		for (k = 0; k < 2; k++) {
			d = opendir(dirs[k]);
			while (d && (de = readdir(d))) {
				char p2[128];

				snprintf(p2, sizeof(p2), "%s/%.60s", dirs[k], de->d_name);
				if (!stat(p2, &st) && S_ISCHR(st.st_mode) && minor(st.st_rdev) == m->id &&
				    major(st.st_rdev) > 200)
					TH_LOG("  a node with minor %u: %s", m->id, p2);
			}
			if (d)
				closedir(d);
		}
	}
	if (inject_mode == 2)
		snprintf(path, sizeof(path), ", its allocation #%d failing", inject_nth);
	else
		path[0] = 0;
	if (++self->c.node_bugs <= 8)
		TH_LOG("after %s (said %d%s): queue %s (mode %o), /dev/mq/%s %s (mode %o)%s",
		       after, err, path,
		       m->exists ? "exists" : "is gone", m->mode, m->name,
		       got ? "exists" : "is missing", got & 07777,
		       stray ? ", and a stray /dev/NAME" : "");
	if (stray) {
		snprintf(path, sizeof(path), "/dev/%s", m->name);
		EXPECT_EQ(0, unlink(path));
	}
	if (got != want && got) {
		snprintf(path, sizeof(path), MQT_DEV_DIR "%s", m->name);
		EXPECT_EQ(0, unlink(path));
	}
	if (got != want && m->exists) {
		/* A change of access makes the node again. */
		ASSERT_EQ(0, set_mode(self, m->mode == 0604 ? 0600 : 0604));
		ASSERT_EQ(0, set_mode(self, m->mode));
	}
	ASSERT_EQ(want, node_mode(self)) TH_LOG("node not repaired");
	ASSERT_FALSE(stray_node(self));
}

/* MQ_IOC_INFO (and the node) against the model. */
static void verify(struct __test_metadata *_metadata,
		   FIXTURE_DATA(faults) *self, const char *after)
{
	struct model *m = &self->m;
	struct mq_info info;

	ASSERT_EQ(0, mqt_info(m->fd, &info)) TH_LOG("after %s", after);
	EXPECT_EQ(m->max_msg, info.max_msg) TH_LOG("after %s", after);
	EXPECT_EQ(m->cap_msgs, info.cap_msgs) TH_LOG("after %s", after);
	EXPECT_EQ(m->cap_bytes, info.cap_bytes) TH_LOG("after %s", after);
	EXPECT_EQ((uint64_t)m->n, info.depth_msgs) TH_LOG("after %s", after);
	EXPECT_EQ(m->bytes, info.depth_bytes) TH_LOG("after %s", after);
	EXPECT_EQ(m->in, info.msgs_in) TH_LOG("after %s", after);
	EXPECT_EQ(m->out, info.msgs_out) TH_LOG("after %s", after);
	EXPECT_EQ(m->bytes_in, info.bytes_in) TH_LOG("after %s", after);
	EXPECT_EQ(m->bytes_out, info.bytes_out) TH_LOG("after %s", after);
	EXPECT_EQ(m->tail, info.tail_offset) TH_LOG("after %s", after);
	EXPECT_EQ(info.depth_msgs, info.tail_offset - info.head_offset)
		TH_LOG("after %s", after);
	EXPECT_EQ(info.depth_msgs, info.msgs_in - info.msgs_out)
		TH_LOG("after %s", after);
	EXPECT_EQ(info.depth_bytes, info.bytes_in - info.bytes_out)
		TH_LOG("after %s", after);
	EXPECT_EQ(m->n ? m->len[m->head] : 0, info.next_len)
		TH_LOG("after %s", after);
	EXPECT_LE(info.depth_msgs, info.peak_msgs) TH_LOG("after %s", after);
	EXPECT_EQ(0, info.blocked_readers);
	EXPECT_EQ(0, info.blocked_writers);
	EXPECT_EQ(1, info.open_fds) TH_LOG("after %s", after);
	EXPECT_EQ(m->id, info.queue_id) TH_LOG("after %s", after);
	node_check(_metadata, self, after, 0);
}

static void count(FIXTURE_DATA(faults) *self, enum op op, long ret, int err)
{
	self->c.calls[op]++;
	if (ret < 0 && clean_errno(err))
		self->c.failed[op]++;
}

/* ---- one call each, failures on; each checks its outcome ---- */

static void do_create(struct __test_metadata *_metadata,
		      FIXTURE_DATA(faults) *self, bool faulty)
{
	struct model *m = &self->m;
	struct mqt_reply r;
	struct nl_msg *msg;
	int err, how, truth;

	msg = req(self, MQ_CMD_QUEUE_NEW);
	nla_put_u32(msg, MQ_A_QUEUE_MAX_MSG, MAX_MSG);
	nla_put_u32(msg, MQ_A_QUEUE_CAP_MSGS, CAP_MSGS);
	nla_put_u32(msg, MQ_A_QUEUE_MODE, 0600);
	if (durable)
		nla_put_u32(msg, MQ_A_QUEUE_DURABILITY, MQ_DURABILITY_SYNC);
	err = flt_nl(self, msg, &r, faulty, &how);
	mqt_reply_free(&r);
	count(self, OP_NEW, err, -err);
	if (how == NL_LOST)
		self->c.lost_acks++;
	ASSERT_TRUE(!err || clean_errno(-err))
		TH_LOG("create: %s (%s)", strerror(-err), r.extack);
	truth = lookup(_metadata, self, &r);
	if (!truth) {
		m->id = nla_get_u32(r.tb[MQ_A_QUEUE_ID]);
		EXPECT_EQ(MAX_MSG, nla_get_u32(r.tb[MQ_A_QUEUE_MAX_MSG]));
		EXPECT_EQ(CAP_MSGS, nla_get_u32(r.tb[MQ_A_QUEUE_CAP_MSGS]));
		EXPECT_EQ(0600, nla_get_u32(r.tb[MQ_A_QUEUE_MODE]));
		EXPECT_EQ(0, nla_get_u64(r.st[MQ_STAT_MSGS_IN]));
	}
	mqt_reply_free(&r);
	if (how != NL_LOST)
		ASSERT_EQ(!err, !truth) TH_LOG("create said %d, get said %d", err, truth);
	m->exists = !truth;
	if (m->exists) {
		m->max_msg = MAX_MSG;
		m->cap_msgs = CAP_MSGS;
		m->cap_bytes = MQ_DEFAULT_CAP_BYTES;
		m->mode = 0600;
	}
	/* A queue has its node, and no node outlives a failed create. */
	node_check(_metadata, self, "create", err);
}

static void do_open(struct __test_metadata *_metadata,
		    FIXTURE_DATA(faults) *self)
{
	long fd;

	fd = FAULTY(self, mqt_open(self->m.name, O_RDWR | O_NONBLOCK));
	count(self, OP_OPEN, fd, errno);
	ASSERT_TRUE(fd >= 0 || clean_errno(errno)) TH_LOG("open: %s", strerror(errno));
	if (fd < 0)
		fd = mqt_open(self->m.name, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	self->m.fd = fd;
}

static uint32_t pick_len(FIXTURE_DATA(faults) *self)
{
	unsigned int r = rand_r(&self->seed);

	switch (r % 8) {
	case 0:
		return 8 + r / 8 % (MAX_MSG - 7);	/* up to max-msg */
	case 1:
		return 4097 + r / 8 % 12000;		/* kvmalloc: vmalloc */
	default:
		return 8 + r / 8 % 600;
	}
}

static void do_write(struct __test_metadata *_metadata,
		     FIXTURE_DATA(faults) *self, bool vec)
{
	struct model *m = &self->m;
	uint32_t len = pick_len(self);
	struct iovec iov[3];
	bool room = room_for(m, len);
	long n;

	fill(self->buf, m->next_seq, len);
	if (vec) {
		iov[0].iov_base = self->buf;
		iov[0].iov_len = 3;
		iov[1].iov_base = self->buf + 3;
		iov[1].iov_len = (len - 3) / 2;
		iov[2].iov_base = self->buf + 3 + iov[1].iov_len;
		iov[2].iov_len = len - 3 - iov[1].iov_len;
		n = FAULTY(self, writev(m->fd, iov, 3));
	} else {
		n = FAULTY(self, write(m->fd, self->buf, len));
	}
	count(self, vec ? OP_WRITEV : OP_WRITE, n, errno);
	if (n == (long)len) {
		ASSERT_TRUE(room) TH_LOG("a write got into a full queue");
		push(m, len);
	} else if (n < 0 && errno == EAGAIN) {
		ASSERT_FALSE(room) TH_LOG("EAGAIN with room for %u bytes", len);
	} else {
		ASSERT_TRUE(n < 0 && clean_errno(errno))
			TH_LOG("write of %u: %ld (%s)", len, n, strerror(errno));
	}
}

static void do_read(struct __test_metadata *_metadata,
		    FIXTURE_DATA(faults) *self, bool short_buf)
{
	struct model *m = &self->m;
	size_t size = MAX_MSG;
	long n;

	if (short_buf) {
		if (!m->n || m->len[m->head] < 2)
			return;
		size = m->len[m->head] - 1;
	}
	n = FAULTY(self, read(m->fd, self->rbuf, size));
	count(self, short_buf ? OP_READ_SHORT : OP_READ, n, errno);
	if (short_buf) {
		ASSERT_EQ(-1, n);
		ASSERT_TRUE(errno == EMSGSIZE || clean_errno(errno)) TH_LOG("%s", strerror(errno));
	} else if (n >= 0) {
		ASSERT_LT(0, m->n) TH_LOG("read %ld from an empty queue", n);
		ASSERT_EQ(m->len[m->head], n);
		ASSERT_TRUE(check(self->rbuf, m->seq[m->head], n))
			TH_LOG("message %u: wrong contents or order", m->seq[m->head]);
		pop(m);
	} else if (errno == EAGAIN) {
		ASSERT_EQ(0, m->n) TH_LOG("EAGAIN with %d queued", m->n);
	} else {
		ASSERT_TRUE(clean_errno(errno)) TH_LOG("read: %s", strerror(errno));
	}
}

static short expected_events(const struct model *m)
{
	return (m->n ? POLLIN : 0) | (room_for(m, m->max_msg) ? POLLOUT : 0);
}

static void do_poll(struct __test_metadata *_metadata,
		    FIXTURE_DATA(faults) *self)
{
	struct pollfd p = { .fd = self->m.fd, .events = POLLIN | POLLOUT };
	long n;

	n = FAULTY(self, poll(&p, 1, 0));
	count(self, OP_POLL, n, errno);
	if (n < 0) {
		ASSERT_TRUE(clean_errno(errno)) TH_LOG("poll: %s", strerror(errno));
		return;
	}
	ASSERT_EQ(expected_events(&self->m), p.revents & (POLLIN | POLLOUT | POLLHUP | POLLERR));
}

static void do_epoll(struct __test_metadata *_metadata,
		     FIXTURE_DATA(faults) *self)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT };
	long ep, n;
	short want = expected_events(&self->m);

	ep = FAULTY(self, epoll_create1(EPOLL_CLOEXEC));
	if (ep < 0) {
		count(self, OP_EPOLL, ep, errno);
		ASSERT_TRUE(clean_errno(errno)) TH_LOG("epoll_create1: %s", strerror(errno));
		return;
	}
	n = FAULTY(self, epoll_ctl(ep, EPOLL_CTL_ADD, self->m.fd, &ev));
	if (n == 0) {
		memset(&ev, 0, sizeof(ev));
		n = FAULTY(self, epoll_wait(ep, &ev, 1, 0));
		if (n >= 0) {
			ASSERT_EQ(!!want, n);
			if (n)
				ASSERT_EQ((unsigned int)want, ev.events & (EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLERR));
		}
	}
	count(self, OP_EPOLL, n, errno);
	ASSERT_TRUE(n >= 0 || clean_errno(errno)) TH_LOG("epoll: %s", strerror(errno));
	close(ep);
}

static void do_info(struct __test_metadata *_metadata,
		    FIXTURE_DATA(faults) *self)
{
	struct mq_info info;
	long err;

	err = FAULTY(self, mqt_info(self->m.fd, &info));
	count(self, OP_INFO, err, -err);
	ASSERT_EQ(0, err) TH_LOG("info: %s", strerror(-err));
	ASSERT_EQ(self->m.in, info.msgs_in);
}

static void do_get(struct __test_metadata *_metadata,
		   FIXTURE_DATA(faults) *self)
{
	struct mqt_reply r;
	int err, how;

	err = flt_nl(self, req(self, MQ_CMD_QUEUE_GET), &r, true, &how);
	count(self, OP_GET, err, -err);
	if (how == NL_LOST)
		self->c.lost_acks++;
	ASSERT_TRUE(!err || clean_errno(-err)) TH_LOG("get: %s (%s)", strerror(-err), r.extack);
	if (!err) {
		EXPECT_EQ(self->m.id, nla_get_u32(r.tb[MQ_A_QUEUE_ID]))
			TH_LOG("get %s: reply for %s", self->m.name,
			       (char *)nla_data(r.tb[MQ_A_QUEUE_NAME]));
		EXPECT_EQ(self->m.cap_msgs, nla_get_u32(r.tb[MQ_A_QUEUE_CAP_MSGS]));
		EXPECT_EQ(self->m.in, nla_get_u64(r.st[MQ_STAT_MSGS_IN]));
		EXPECT_EQ((uint64_t)self->m.n, nla_get_u64(r.st[MQ_STAT_DEPTH_MSGS]));
	}
	mqt_reply_free(&r);
}

/* set the mode, no failures */
static int set_mode(FIXTURE_DATA(faults) *self, uint32_t mode)
{
	struct nl_msg *msg = req(self, MQ_CMD_QUEUE_SET);
	struct mqt_reply r;
	int err, how;

	nla_put_u32(msg, MQ_A_QUEUE_MODE, mode);
	err = flt_nl(self, msg, &r, false, &how);
	mqt_reply_free(&r);
	return err;
}

/* set cap-msgs (limits only) or mode (the node is made again) */
static void do_set(struct __test_metadata *_metadata,
		   FIXTURE_DATA(faults) *self, bool mode)
{
	struct model *m = &self->m;
	uint32_t val, now;
	struct mqt_reply r;
	struct nl_msg *msg;
	int err, how;
	bool applied, partial;

	/* Always a change: otherwise "applied" could not be told apart. */
	val = mode ? (m->mode == 0600 ? 0640 : 0600) : 1 + rand_r(&self->seed) % 24;
	if (!mode && val == m->cap_msgs)
		val = val % 24 + 1;
	msg = req(self, MQ_CMD_QUEUE_SET);
	nla_put_u32(msg, mode ? MQ_A_QUEUE_MODE : MQ_A_QUEUE_CAP_MSGS, val);
	err = flt_nl(self, msg, &r, true, &how);
	count(self, mode ? OP_SET_MODE : OP_SET_CAP, err, -err);
	if (how == NL_LOST)
		self->c.lost_acks++;
	ASSERT_TRUE(!err || clean_errno(-err)) TH_LOG("set: %s (%s)", strerror(-err), r.extack);
	partial = err && how == NL_DONE && strstr(r.extack, "change made");
	mqt_reply_free(&r);

	ASSERT_EQ(0, lookup(_metadata, self, &r));
	now = nla_get_u32(r.tb[mode ? MQ_A_QUEUE_MODE : MQ_A_QUEUE_CAP_MSGS]);
	mqt_reply_free(&r);
	applied = now == val;
	ASSERT_TRUE(applied || now == (mode ? m->mode : m->cap_msgs))
		TH_LOG("set %o, was %o, now %o", val, mode ? m->mode : m->cap_msgs, now);
	if (how == NL_DONE)
		ASSERT_EQ(!err || partial, applied)
			TH_LOG("set said %d (partial %d), value now %o", err, partial, now);
	ASSERT_TRUE(mode || !partial);
	/* An answer lost: had it come, it might have said "change made". */
	if (how == NL_LOST && applied && err)
		partial = true;
	if (mode)
		m->mode = now;
	else
		m->cap_msgs = now;
	if (!mode || node_mode(self) || stray_node(self) || !partial) {
		node_check(_metadata, self, mode ? "set-mode" : "set-cap", err);
		return;
	}
	/*
	 * Applied, but the node could not be made again, and the error said
	 * so (documented in uapi/linux/mq.h): another change of access puts
	 * it back.
	 */
	self->c.nodes_lost++;
	ASSERT_EQ(0, set_mode(self, m->mode == 0604 ? 0600 : 0604));
	ASSERT_EQ(0, set_mode(self, m->mode));
	node_check(_metadata, self, "set-mode, node made again", 0);
}

static void do_delete(struct __test_metadata *_metadata,
		      FIXTURE_DATA(faults) *self, bool faulty)
{
	struct model *m = &self->m;
	struct pollfd p = { .fd = m->fd, .events = POLLIN | POLLOUT };
	struct mqt_reply r;
	int err, how, truth;

	err = flt_nl(self, req(self, MQ_CMD_QUEUE_DEL), &r, faulty, &how);
	count(self, OP_DEL, err, -err);
	if (how == NL_LOST)
		self->c.lost_acks++;
	ASSERT_TRUE(!err || clean_errno(-err)) TH_LOG("delete: %s (%s)", strerror(-err), r.extack);
	mqt_reply_free(&r);
	truth = lookup(_metadata, self, &r);
	mqt_reply_free(&r);
	if (how != NL_LOST)
		ASSERT_EQ(!err, truth == -ENOENT) TH_LOG("delete said %d, get said %d", err, truth);
	if (!truth) {
		/* Still there: it must be whole. */
		if (m->fd >= 0)
			verify(_metadata, self, "failed delete");
		ASSERT_EQ(0, flt_nl(self, req(self, MQ_CMD_QUEUE_DEL), &r, false, &how));
		mqt_reply_free(&r);
	}
	m->exists = false;
	node_check(_metadata, self, "delete", err);
	if (m->fd < 0)
		return;
	EXPECT_EQ(-1, read(m->fd, self->rbuf, MAX_MSG));
	EXPECT_EQ(EIDRM, errno);
	EXPECT_EQ(-1, write(m->fd, "x", 1));
	EXPECT_EQ(EIDRM, errno);
	EXPECT_EQ(-EIDRM, mqt_info(m->fd, &(struct mq_info){ 0 }));
	EXPECT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLHUP | POLLERR, p.revents);
	close(m->fd);
	m->fd = -1;
}

/* store show: its answer carries the state, and the store stays ok */
static void do_store_get(struct __test_metadata *_metadata,
			 FIXTURE_DATA(faults) *self)
{
	struct nlattr *tb[MQ_SSTAT_MAX + 1];
	struct mqt_reply r;
	int err, how;

	err = store_req(self, MQ_CMD_STORE_GET, true, &how, &r);
	count(self, OP_STORE_GET, err, -err);
	if (how == NL_LOST)
		self->c.lost_acks++;
	ASSERT_TRUE(!err || clean_errno(-err))
		TH_LOG("store get: %s (%s)", strerror(-err), r.extack);
	if (!err) {
		ASSERT_NE(NULL, r.tb[MQ_A_STORE_INFO]);
		ASSERT_EQ(0, nla_parse_nested(tb, MQ_SSTAT_MAX,
					      r.tb[MQ_A_STORE_INFO], NULL));
		ASSERT_NE(NULL, tb[MQ_SSTAT_STATE]);
		EXPECT_EQ(MQ_STORE_OK, nla_get_u32(tb[MQ_SSTAT_STATE]))
			TH_LOG("the store is degraded");
	}
	mqt_reply_free(&r);
}

/*
 * Detach the store and attach it again, failures on for either call. A
 * detach either fails and leaves the store and the queue as they were,
 * or saves them: then the queue is gone until an attach, which either
 * fails and creates nothing, or brings the queue back whole: its
 * settings, its messages in order (checked as they are read), none
 * flagged redelivered (a clean detach saved every position), and
 * counters that start again from what it holds.
 */
static void do_reattach(struct __test_metadata *_metadata,
			FIXTURE_DATA(faults) *self, bool faulty_detach,
			bool faulty_attach)
{
	struct model *m = &self->m;
	struct mqt_reply r;
	struct mq_info info;
	int err, how, fd;
	bool attached;

	close(m->fd);
	m->fd = -1;
	err = store_req(self, MQ_CMD_STORE_DETACH, faulty_detach, &how, &r);
	count(self, OP_DETACH, err, -err);
	if (how == NL_LOST)
		self->c.lost_acks++;
	ASSERT_TRUE(!err || clean_errno(-err))
		TH_LOG("detach: %s (%s)", strerror(-err), r.extack);
	mqt_reply_free(&r);
	attached = store_attached(_metadata, self);
	if (how != NL_LOST)
		ASSERT_EQ(!!err, attached) TH_LOG("detach said %d", err);
	if (attached) {
		/* Still attached: the queue is as it was. */
		fd = mqt_open(m->name, O_RDWR | O_NONBLOCK);
		ASSERT_LE(0, fd) TH_LOG("open after a failed detach: %s", strerror(errno));
		m->fd = fd;
		verify(_metadata, self, "failed detach");
		return;
	}
	/* Saved and gone, node and all. */
	ASSERT_EQ(-ENOENT, lookup(_metadata, self, &r));
	mqt_reply_free(&r);
	m->exists = false;
	node_check(_metadata, self, "detach", err);

	err = store_req(self, MQ_CMD_STORE_ATTACH, faulty_attach, &how, &r);
	count(self, OP_ATTACH, err, -err);
	if (how == NL_LOST)
		self->c.lost_acks++;
	ASSERT_TRUE(!err || clean_errno(-err))
		TH_LOG("attach: %s (%s)", strerror(-err), r.extack);
	mqt_reply_free(&r);
	attached = store_attached(_metadata, self);
	if (how != NL_LOST)
		ASSERT_EQ(!err, attached) TH_LOG("attach said %d", err);
	if (!attached) {
		/* Nothing attached, nothing created. */
		ASSERT_EQ(-ENOENT, lookup(_metadata, self, &r));
		mqt_reply_free(&r);
		node_check(_metadata, self, "failed attach", err);
		ASSERT_EQ(0, store_req(self, MQ_CMD_STORE_ATTACH, false, &how, &r))
			TH_LOG("attach after a failed one: %s", r.extack);
		mqt_reply_free(&r);
	}
	ASSERT_EQ(0, lookup(_metadata, self, &r)) TH_LOG("the queue did not come back");
	m->id = nla_get_u32(r.tb[MQ_A_QUEUE_ID]);
	mqt_reply_free(&r);
	m->exists = true;
	fd = mqt_open(m->name, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd) TH_LOG("open after attach: %s", strerror(errno));
	m->fd = fd;
	ASSERT_EQ(0, mqt_info(fd, &info));
	EXPECT_EQ(0, info.redelivered);
	EXPECT_EQ(0, info.next_flags & MQ_MSG_REDELIVERED);
	EXPECT_EQ(MQ_DURABILITY_SYNC, info.durability);
	m->in = m->n;
	m->out = 0;
	m->bytes_in = m->bytes;
	m->bytes_out = 0;
	verify(_metadata, self, "attach");
}

static void new_model(FIXTURE_DATA(faults) *self, int round)
{
	memset(&self->m, 0, sizeof(self->m));
	self->m.fd = -1;
	snprintf(self->m.name, sizeof(self->m.name), "flt%d-%d", getpid(), round);
}

static void take_counts(FIXTURE_DATA(faults) *self, long *slab, long *page)
{
	*slab = BUDGET - get_long(FSLAB "times");
	*page = BUDGET - get_long(FPAGE "times");
}

static void report(FIXTURE_DATA(faults) *self, const char *what)
{
	struct counts *c = &self->c;
	char line[1024];
	int i, o = 0;

	printf("# %s: injected %ld failslab + %ld fail_page_alloc faults; "
	       "%ld answers lost, %ld nodes not recreated (said so), "
	       "%ld nodes wrong (missing, stale, misplaced or left behind)\n",
	       what, c->injected_slab, c->injected_page, c->lost_acks,
	       c->nodes_lost, c->node_bugs);
	for (i = 0; i < NOPS; i++)
		if (c->calls[i])
			o += snprintf(line + o, sizeof(line) - o, " %s %ld/%ld",
				      op_names[i], c->failed[i], c->calls[i]);
	printf("# %s: failed/calls:%s\n", what, line);
}

/*
 * Rounds of every operation, each allocation failing with the variant's
 * probability; the model is checked after each call.
 */
static void random_rounds(struct __test_metadata *_metadata,
			  FIXTURE_DATA(faults) *self,
			  const FIXTURE_VARIANT(faults) *variant)
{
	time_t start = time(NULL);
	char what[64];
	int round, k;

	printf("# %d%% of allocations failing, seed %u\n", variant->percent, self->seed);
	inject_mode = 1;
	for (round = 0; round < variant->rounds &&
	     time(NULL) - start < variant->seconds; round++) {
		new_model(self, round);
		do_create(_metadata, self, true);
		if (!self->m.exists)
			do_create(_metadata, self, false);
		ASSERT_TRUE(self->m.exists);
		do_open(_metadata, self);
		verify(_metadata, self, "open");
		for (k = 0; k < 40; k++) {
			enum op op = durable ?
				mix_store[rand_r(&self->seed) % ARRAY_SIZE(mix_store)] :
				mix[rand_r(&self->seed) % ARRAY_SIZE(mix)];

			switch (op) {
			case OP_WRITE:
			case OP_WRITEV:
				do_write(_metadata, self, op == OP_WRITEV);
				break;
			case OP_READ:
			case OP_READ_SHORT:
				do_read(_metadata, self, op == OP_READ_SHORT);
				break;
			case OP_POLL:
				do_poll(_metadata, self);
				break;
			case OP_EPOLL:
				do_epoll(_metadata, self);
				break;
			case OP_INFO:
				do_info(_metadata, self);
				break;
			case OP_GET:
				do_get(_metadata, self);
				break;
			case OP_SET_CAP:
			case OP_SET_MODE:
				do_set(_metadata, self, op == OP_SET_MODE);
				break;
			case OP_DETACH:
				do_reattach(_metadata, self, true, true);
				break;
			case OP_STORE_GET:
				do_store_get(_metadata, self);
				break;
			default:
				ASSERT_TRUE(false);
			}
			verify(_metadata, self, op_names[op]);
		}
		do_delete(_metadata, self, true);
	}
	take_counts(self, &self->c.injected_slab, &self->c.injected_page);
	snprintf(what, sizeof(what), "%s%d%%, %d rounds",
		 durable ? "store, " : "", variant->percent, round);
	report(self, what);
	EXPECT_EQ(0, self->c.node_bugs) TH_LOG("device nodes went wrong: see node_check()");
	EXPECT_LT(0, self->c.injected_slab) TH_LOG("no failslab fault was injected");
}

/*
 * fail-nth: make the call with its 1st allocation failing, then its 2nd,
 * ... until it makes fewer allocations than that. @setup puts the queue in
 * the state the call needs; @call makes it once, failures armed.
 */
static int sweep_every(struct __test_metadata *_metadata,
		       FIXTURE_DATA(faults) *self, const char *what,
		       void (*setup)(struct __test_metadata *, FIXTURE_DATA(faults) *),
		       void (*call)(struct __test_metadata *, FIXTURE_DATA(faults) *),
		       int step);

static int sweep(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self,
		 const char *what,
		 void (*setup)(struct __test_metadata *, FIXTURE_DATA(faults) *),
		 void (*call)(struct __test_metadata *, FIXTURE_DATA(faults) *))
{
	return sweep_every(_metadata, self, what, setup, call, 1);
}

/*
 * sweep(), but past the 100th allocation only every @step-th is failed
 * (an attach makes thousands: the pages of the log's 8 MiB ring).
 */
static int sweep_every(struct __test_metadata *_metadata,
		       FIXTURE_DATA(faults) *self, const char *what,
		       void (*setup)(struct __test_metadata *, FIXTURE_DATA(faults) *),
		       void (*call)(struct __test_metadata *, FIXTURE_DATA(faults) *),
		       int step)
{
	int n, failed = 0, limit = 1000 * step;

	inject_mode = 2;
	for (n = 1; n < limit; n += n < 100 ? 1 : step, failed++) {
		inject_nth = n;
		nth_fired = false;
		setup(_metadata, self);
		call(_metadata, self);
		if (self->m.exists && self->m.fd >= 0)
			verify(_metadata, self, what);
		if (!nth_fired)
			break;
	}
	inject_mode = 0;
	if (self->m.exists)
		do_delete(_metadata, self, false);
	else if (self->m.fd >= 0)
		close(self->m.fd);
	self->m.fd = -1;
	EXPECT_GT(limit, n) TH_LOG("%s: still allocating after %d allocations", what, limit);
	if (step == 1)
		printf("# %s: failed each of its %d allocations once\n", what, n - 1);
	else
		printf("# %s: failed %d of its (fewer than %d) allocations once: each of the first 100, then every %dth\n",
		       what, failed, n, step);
	return failed;
}

static int sweep_round;

/* setups */
static void s_none(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	if (self->m.exists) {
		inject_mode = 0;
		do_delete(_metadata, self, false);
		inject_mode = 2;
	}
	new_model(self, 1000 + sweep_round++);
}

static void s_queue(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	if (self->m.exists)
		return;
	inject_mode = 0;
	new_model(self, 1000 + sweep_round++);
	do_create(_metadata, self, false);
	do_open(_metadata, self);
	inject_mode = 2;
}

static void s_queue_empty(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	s_queue(_metadata, self);
	inject_mode = 0;
	while (self->m.n)
		do_read(_metadata, self, false);
	inject_mode = 2;
}

static void s_queue_one_msg(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	s_queue_empty(_metadata, self);
	inject_mode = 0;
	fill(self->buf, self->m.next_seq, 100);
	ASSERT_EQ(100, write(self->m.fd, self->buf, 100));
	push(&self->m, 100);
	inject_mode = 2;
}

/* calls */
static void c_create(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	do_create(_metadata, self, true);
	if (self->m.exists) {
		inject_mode = 0;
		do_open(_metadata, self);
		inject_mode = 2;
	}
}

static void c_open(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	long fd;

	close(self->m.fd);
	self->m.fd = -1;
	fd = FAULTY(self, mqt_open(self->m.name, O_RDWR | O_NONBLOCK));
	count(self, OP_OPEN, fd, errno);
	ASSERT_TRUE(fd >= 0 || clean_errno(errno)) TH_LOG("open: %s", strerror(errno));
	if (fd < 0)
		fd = mqt_open(self->m.name, O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	self->m.fd = fd;
}

static void write_len(struct __test_metadata *_metadata,
		      FIXTURE_DATA(faults) *self, uint32_t len)
{
	long n;

	fill(self->buf, self->m.next_seq, len);
	n = FAULTY(self, write(self->m.fd, self->buf, len));
	count(self, OP_WRITE, n, errno);
	if (n == (long)len)
		push(&self->m, len);
	else
		ASSERT_TRUE(n < 0 && clean_errno(errno)) TH_LOG("write: %ld %s", n, strerror(errno));
}

static void c_write_small(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	write_len(_metadata, self, 200);
}

static void c_write_big(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	write_len(_metadata, self, 40000);
}

static void c_read(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	do_read(_metadata, self, false);
}

static void c_poll(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	do_poll(_metadata, self);
}

static void c_epoll(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	do_epoll(_metadata, self);
}

static void c_get(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	do_get(_metadata, self);
}

static void c_set_cap(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	do_set(_metadata, self, false);
}

static void c_set_mode(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	do_set(_metadata, self, true);
}

static void c_delete(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	do_delete(_metadata, self, true);
}

static void c_detach(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	do_reattach(_metadata, self, true, false);
}

static void c_attach(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	do_reattach(_metadata, self, false, true);
}

static void c_store_get(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	do_store_get(_metadata, self);
}

/* A queue holding two messages, the first one read: a position to save. */
static void s_queue_read_one(struct __test_metadata *_metadata, FIXTURE_DATA(faults) *self)
{
	s_queue_one_msg(_metadata, self);
	inject_mode = 0;
	fill(self->buf, self->m.next_seq, 3000);
	ASSERT_EQ(3000, write(self->m.fd, self->buf, 3000));
	push(&self->m, 3000);
	do_read(_metadata, self, false);
	inject_mode = 2;
}

static void each_allocation(struct __test_metadata *_metadata,
			    FIXTURE_DATA(faults) *self)
{
	int total = 0;

	total += sweep(_metadata, self, "create", s_none, c_create);
	total += sweep(_metadata, self, "open", s_queue, c_open);
	total += sweep(_metadata, self, "write 200 B", s_queue_empty, c_write_small);
	total += sweep(_metadata, self, "write 40000 B", s_queue_empty, c_write_big);
	total += sweep(_metadata, self, "read", s_queue_one_msg, c_read);
	total += sweep(_metadata, self, "poll", s_queue_one_msg, c_poll);
	total += sweep(_metadata, self, "epoll", s_queue_one_msg, c_epoll);
	total += sweep(_metadata, self, "get", s_queue_one_msg, c_get);
	total += sweep(_metadata, self, "set cap-msgs", s_queue_one_msg, c_set_cap);
	total += sweep(_metadata, self, "set mode", s_queue_one_msg, c_set_mode);
	total += sweep(_metadata, self, "delete", s_queue_one_msg, c_delete);
	if (durable) {
		total += sweep(_metadata, self, "store get", s_queue_one_msg, c_store_get);
		total += sweep(_metadata, self, "detach", s_queue_read_one, c_detach);
		total += sweep_every(_metadata, self, "attach", s_queue_read_one,
				     c_attach, 23);
	}
	self->c.injected_slab = total;
	report(self, durable ? "store, fail-nth" : "fail-nth");
	EXPECT_EQ(0, self->c.node_bugs) TH_LOG("device nodes went wrong: see node_check()");
	EXPECT_LT(50, total) TH_LOG("only %d allocations failed: is fail-nth working?", total);
}

TEST_F_TIMEOUT(faults, run, 600)
{
	if (self->skip[0])
		SKIP(return, "%s", self->skip);
	if (variant->percent)
		random_rounds(_metadata, self, variant);
	else
		each_allocation(_metadata, self);
}

TEST_HARNESS_MAIN
