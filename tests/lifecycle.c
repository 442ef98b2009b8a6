// SPDX-License-Identifier: GPL-2.0
/*
 * The registry and the store's life cycle: queues reachable before they
 * are whole, left alive after a failed create, opened while a detach is
 * under way, lookups stuck behind a stalled device, and module unload
 * after an I/O error. Each scenario races an open(2) (or a lookup)
 * against a netlink request, with device-mapper making the window wide.
 *
 *   lifecycle DEV [TEST...]   DEV: a scratch disk of at least 16 MiB;
 *                             all is lost. TEST: run only these.
 *
 * Queue ids (device minors) are handed out cyclically, so the id the next
 * queue gets is known in advance (create and delete a memory queue); a
 * child makes its own node for that minor and opens it in a loop, which
 * reaches the queue from the moment its id is allocated.
 *
 * failed_durable_create_no_orphan
 *         the store on dm-delay over dm-error: a durable create's catalog
 *         write fails 800 ms after the queue was registered. An fd opened
 *         in that window must not keep a live queue: its calls fail with
 *         EIDRM (or no open succeeds at all).
 * detach_busy_check_races_open
 *         the store on dm-delay (writes 1 s late): a child opens the
 *         durable queue once detach's writes are in flight. Detach may
 *         refuse (EBUSY) or the open may fail, never both succeed (the
 *         fd's calls would then fail with EIDRM).
 * stalled_device_does_not_block_get
 *         a small store, full (ENOSPC): reads give space back with no
 *         writer asking (the cleaner's work item). Full again, on
 *         dm-linear that is suspended while the registry lock is held
 *         across a catalog write: first the cleaner's (asked for by
 *         reads), then a durable create's (inside a netlink handler).
 *         QUEUE_GET of an unrelated memory queue, a dump and STORE_GET,
 *         as uid 65534, must answer within 3 s; a writer meeting the full
 *         store waits for the cleaner and must die of SIGKILL; a
 *         non-blocking writer must be answered within 2 s, and an event
 *         loop (poll POLLOUT, write) must not get EAGAIN after POLLOUT
 *         over and over. Resumed, nothing is lost.
 * unload_after_io_error_event
 *         dm-flakey, an async queue with messages not yet flushed (flush
 *         interval 10 s), then every write fails and the module is
 *         unloaded: the final commit's I/O error is reported while the
 *         netlink family is already gone. Unload must work without a
 *         kernel warning, the module must load again and the store
 *         attach again.
 * attach_exposes_unbound_queue
 *         durable queues holding messages (not resident after attach);
 *         a child opens their predicted minors in a loop while the store
 *         is attached, reads and writes what it opened. Any open that
 *         succeeds must see the durable queue whole (the oldest stored
 *         message, intact) and a write must be durable (there after
 *         detach and attach). Unfixed: a read in the window dereferences
 *         a NULL store (oops). Run last: an oops ends the VM.
 *
 * Output: "ok - ..." / "not ok - ..." lines, "# ..." comments, and last
 * "N passed, N failed"; exit status 0 only if nothing failed. Runs as
 * root with mq.ko loaded ($MQ_KO, default /mq/mq.ko, for the reload);
 * needs dmsetup, dm_delay and dm_flakey, and no udev.
 */
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <linux/fs.h>
#include <linux/mq_store.h>

#pragma GCC diagnostic ignored "-Wunused-function"
#include "dmtest.h"

#define SEG_SIZE	(1U << 20)
#define STORE_BYTES	(16 * MIB)	/* every store at the start of DEV */
#define SMALL_BYTES	(9 * MIB)	/* the stall's: 6 segments */
#define NOBODY		65534

static const char *disk;
static struct dm_dev dm_store = { "mqlc-store" }, dm_err = { "mqlc-err" };
static struct dm_dev *const dm_all[] = { &dm_store, &dm_err };

/* ---- helpers ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void msleep(int ms)
{
	usleep(ms * 1000);
}

static char task_state(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_line(path, buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static bool wait_state_d(pid_t pid, int ms)
{
	for (; ms > 0; ms -= 10) {
		if (task_state(pid) == 'D')
			return true;
		msleep(10);
	}
	return false;
}

/* After @ms, is child @pid still there, asleep interruptibly (S)? */
static bool wait_blocked(pid_t pid, int ms, char *state)
{
	char c;

	msleep(ms);
	c = task_state(pid);
	if (state)
		*state = c ? c : '-';
	return c == 'S';
}

/* Reap child @pid within @ms; false if it has not ended. */
static bool reap(pid_t pid, int ms, int *status)
{
	int st;

	for (; ms > 0; ms -= 10) {
		pid_t r = waitpid(pid, status ? status : &st, WNOHANG);

		if (r == pid)
			return true;
		if (r < 0)
			return false;
		msleep(10);
	}
	return false;
}

/* SIGKILL a child and reap it, giving up after @ms (it may be in D). */
static bool kill_reap(pid_t pid, int ms)
{
	if (pid <= 0)
		return true;
	kill(pid, SIGKILL);
	return reap(pid, ms, NULL);
}

/* Where the task waits (/proc/PID/stack), as comments. */
static void note_stack(const char *who, pid_t pid)
{
	char path[64], line[256];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/stack", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (n++ < 8 && fgets(line, sizeof(line), f))
		note("%s: %.*s", who, (int)strcspn(line, "\n"), line);
	fclose(f);
}

static bool become_nobody(void)
{
	return !setgroups(0, NULL) && !setresgid(NOBODY, NOBODY, NOBODY) &&
	       !setresuid(NOBODY, NOBODY, NOBODY);
}

/* Read exactly @len bytes from @fd within @ms; false on timeout/EOF. */
static bool read_within(int fd, void *buf, size_t len, int ms)
{
	size_t got = 0;
	long long end = now_ms() + ms;

	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = end - now_ms();
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return false;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			return false;
		got += n;
	}
	return true;
}

static bool wait_byte(int fd, int ms)
{
	char c;

	return read_within(fd, &c, 1, ms);
}

static int queue_id(const char *name, uint32_t *id)
{
	struct mqt_reply r;
	int err = mqt_name_cmd(&nl, MQ_CMD_QUEUE_GET, name, &r);

	if (!err && r.tb[MQ_A_QUEUE_ID])
		*id = nla_get_u32(r.tb[MQ_A_QUEUE_ID]);
	else if (!err)
		err = -EPROTO;
	mqt_reply_free(&r);
	return err;
}

static unsigned int max_queues(void)
{
	char buf[32];

	return read_line("/sys/module/mq/parameters/max_queues", buf, sizeof(buf)) ?
	       1024 : (unsigned int)atoi(buf);
}

static unsigned int mq_major;

/*
 * The id the next queue will get: make a memory queue, note its id (and
 * the major of /dev/mq), delete it. Return: 0 or -errno.
 */
static int next_id(uint32_t *id)
{
	const char *name = "mqlc-probe";
	struct stat st;
	uint32_t got = 0;
	int err;

	err = mqt_add(&nl, name, NULL, NULL) ?: queue_id(name, &got);
	if (!err && !stat(MQT_DEV_DIR "mqlc-probe", &st))
		mq_major = major(st.st_rdev);
	mqt_del(&nl, name);
	if (!err)
		*id = (got + 1) % max_queues();
	return err;
}

/* A node of our own for minor @minor (the queue may not exist yet). */
static int make_node(char *path, size_t size, uint32_t minor)
{
	snprintf(path, size, "/dev/mqlc-node-%u", minor);	/* /tmp is nodev */
	unlink(path);
	return mknod(path, S_IFCHR | 0600, makedev(mq_major, minor)) ? -errno : 0;
}

static int node_minor(const char *name)
{
	char path[300];
	struct stat st;

	snprintf(path, sizeof(path), MQT_DEV_DIR "%s", name);
	return stat(path, &st) ? -1 : (int)minor(st.st_rdev);
}

static int store_attach_ms(const char *path, uint32_t flush_ms)
{
	struct nl_msg *msg = mqt_msg(&nl, MQ_CMD_STORE_ATTACH, 0);

	nla_put_string(msg, MQ_A_STORE_PATH, path);
	if (flush_ms)
		nla_put_u32(msg, MQ_A_STORE_FLUSH_MS, flush_ms);
	return request(msg, NULL);
}

static const char *errname(int err)
{
	return err ? strerror(-err) : "success";
}

/* The store device, linear over DEV (@bytes from its start). */
static bool store_linear(unsigned long long bytes)
{
	char table[256];

	snprintf(table, sizeof(table), "0 %llu linear %s 0", bytes >> 9, disk);
	return dm_store.live ? dm_swap(&dm_store, table) :
			       dm_create(&dm_store, "%s", table);
}

static bool store_table(const char *fmt, ...)
{
	char table[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(table, sizeof(table), fmt, ap);
	va_end(ap);
	return dm_swap(&dm_store, table);
}

/* The /sys/block/dm-N directory of @d, for its inflight counters. */
static bool dm_sysdir(const struct dm_dev *d, char *out, size_t size)
{
	unsigned int maj, min;

	if (sscanf(d->devno, "%u:%u", &maj, &min) != 2)
		return false;
	snprintf(out, size, "/sys/dev/block/%u:%u", maj, min);
	return true;
}

static void cleanup(void)
{
	size_t i;

	store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
	for (i = 0; i < ARRAY_SIZE(dm_all); i++)
		if (dm_all[i]->live)
			dm_remove(dm_all[i], false);
}

/* Format and attach a store on dm_store (linear, @bytes). */
static bool fresh_store(const char *test, unsigned long long bytes)
{
	int err;

	if (!check(store_linear(bytes), "%s: dm-linear store device", test))
		return false;
	err = store_req(MQ_CMD_STORE_FORMAT, dm_store.path, SEG_SIZE, NULL) ?:
	      store_req(MQ_CMD_STORE_ATTACH, dm_store.path, 0, NULL);
	return check(!err, "%s: store formatted and attached%s", test, why(err));
}

/* ---- failed_durable_create_no_orphan ---- */

struct t2_res {
	int opened;		/* 1: an open succeeded */
	int open_err;		/* the last failed open's errno */
	int write_err, info_err;	/* after the create failed */
};

/*
 * Open @node until it works or @stop has a byte (or 15 s); then wait for
 * @go and try the fd. Results on @res.
 */
static void t2_child(const char *node, int stop, int go, int res)
{
	struct t2_res r = { 0 };
	long long end = now_ms() + 15000;
	struct mq_info info;
	int fd = -1;

	while (now_ms() < end) {
		struct pollfd p = { .fd = stop, .events = POLLIN };

		fd = open(node, O_RDWR | O_NONBLOCK);
		if (fd >= 0)
			break;
		r.open_err = errno;
		if (poll(&p, 1, 0) > 0)
			break;
	}
	r.opened = fd >= 0;
	if (write(res, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	if (fd >= 0 && wait_byte(go, 15000)) {
		r.write_err = msg_write(fd, 'O', 0);
		r.info_err = mqt_info(fd, &info);
		if (write(res, &r, sizeof(r)) != sizeof(r))
			_exit(1);
	}
	_exit(0);
}

static void test_failed_create(void)
{
	const char *T = "failed_create";
	const unsigned long long sectors = STORE_BYTES >> 9;
	const struct qdef q = { "mqlc-orphan", 'O', MQ_DURABILITY_SYNC };
	int stop[2] = { -1, -1 }, go[2] = { -1, -1 }, res[2] = { -1, -1 };
	struct t2_res r = { 0 };
	char node[64];
	uint32_t id;
	pid_t pid = -1;
	long long t0;
	int err;

	note("failed_durable_create_no_orphan: dm-delay (writes 800 ms late) over dm-error");
	if (!fresh_store(T, STORE_BYTES) ||
	    !check(dm_create(&dm_err, "0 %llu error", sectors), "%s: dm-error device", T))
		goto out;
	err = next_id(&id) ?: make_node(node, sizeof(node), id);
	if (!check(!err, "%s: the next queue id is %u, node %s%s", T, id, node, why(err)))
		goto out;
	if (!check(store_table("0 %llu delay %s 0 0 %s 0 800", sectors, disk, dm_err.devno),
		   "%s: store device now fails every write, 800 ms late", T))
		goto out;
	if (pipe(stop) || pipe(go) || pipe(res))
		goto out;
	pid = fork();
	if (!pid)
		t2_child(node, stop[0], go[0], res[1]);
	msleep(50);
	t0 = now_ms();
	err = queue_new(&q, 100);
	note("%s: the durable create returned %s after %lld ms", T, errname(err),
	     now_ms() - t0);
	check(err == -EIO, "%s: the durable create fails with EIO (%s)", T, errname(err));
	if (write(stop[1], "x", 1) != 1 || !read_within(res[0], &r, sizeof(r), 5000)) {
		check(false, "%s: the opener answered", T);
		goto out;
	}
	if (!r.opened) {
		check(true, "%s: no open of minor %u succeeded during the create (last: %s)",
		      T, id, strerror(r.open_err));
	} else {
		note("%s: an open of minor %u succeeded during the create", T, id);
		if (write(go[1], "x", 1) != 1 || !read_within(res[0], &r, sizeof(r), 5000)) {
			check(false, "%s: the opener answered after the failure", T);
			goto out;
		}
		check(r.write_err == -EIDRM && r.info_err == -EIDRM,
		      "%s: the fd opened during the failed create: write %s, MQ_IOC_INFO %s (want EIDRM: no orphan)",
		      T, errname(r.write_err), errname(r.info_err));
	}
	err = mqt_name_cmd(&nl, MQ_CMD_QUEUE_GET, q.name, NULL);
	check(err == -ENOENT, "%s: the queue does not exist (%s)", T, errname(err));
	check(node_minor(q.name) < 0, "%s: no /dev/mq/%s", T, q.name);
out:
	if (pid > 0 && !kill_reap(pid, 5000))
		check(false, "%s: the opener did not end", T);
	for (int i = 0; i < 2; i++) {
		if (stop[i] >= 0)
			close(stop[i]);
		if (go[i] >= 0)
			close(go[i]);
		if (res[i] >= 0)
			close(res[i]);
	}
	unlink(node);
	store_linear(STORE_BYTES);
	cleanup();
}

/* ---- detach_busy_check_races_open ---- */

struct t3_res {
	int opened;
	int open_err;		/* of the last failed open */
	int saw_inflight;	/* detach's writes seen in flight first */
	long long open_ms;	/* when it opened, after go */
	int info_err, write_err;
};

static int inflight_writes(const char *sysdir)
{
	char path[160], buf[64];
	int r = 0, w = 0;

	snprintf(path, sizeof(path), "%s/inflight", sysdir);
	if (read_line(path, buf, sizeof(buf)) || sscanf(buf, "%d %d", &r, &w) != 2)
		return -1;
	return w;
}

static void t3_child(const char *name, const char *sysdir, int go, int check_fd,
		     int res)
{
	struct t3_res r = { 0 };
	struct mq_info info;
	long long t0, end;
	int fd = -1;

	if (!wait_byte(go, 15000))
		_exit(1);
	t0 = now_ms();
	/* Past detach's busy check: its writes are on their way (3 s at most). */
	for (end = t0 + 3000; now_ms() < end; msleep(2))
		if (inflight_writes(sysdir) > 0) {
			r.saw_inflight = 1;
			break;
		}
	for (end = now_ms() + 8000; now_ms() < end;) {
		fd = mqt_open(name, O_RDWR | O_NONBLOCK);
		if (fd >= 0)
			break;
		r.open_err = errno;
		if (errno == ENOENT)	/* the node is gone: the detach is done */
			break;
	}
	r.opened = fd >= 0;
	r.open_ms = now_ms() - t0;
	if (write(res, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	if (fd >= 0 && wait_byte(check_fd, 15000)) {
		r.info_err = mqt_info(fd, &info);
		r.write_err = msg_write(fd, 'D', 1);
		if (write(res, &r, sizeof(r)) != sizeof(r))
			_exit(1);
	}
	_exit(0);
}

static void test_detach_race(void)
{
	const char *T = "detach_race";
	const unsigned long long sectors = STORE_BYTES >> 9;
	const struct qdef q = { "mqlc-detach", 'D', MQ_DURABILITY_SYNC };
	int go[2] = { -1, -1 }, chk[2] = { -1, -1 }, res[2] = { -1, -1 };
	struct t3_res r = { 0 };
	char sysdir[128];
	pid_t pid = -1;
	long long t0, dt;
	int fd, err, i;

	note("detach_busy_check_races_open: dm-delay, writes 1 s late");
	if (!fresh_store(T, STORE_BYTES))
		goto out;
	err = queue_new(&q, 100);
	fd = err ? -1 : mqt_open(q.name, O_WRONLY);
	err = err ?: fd < 0 ? -errno : msg_write(fd, q.tag, 0);
	if (fd >= 0)
		close(fd);
	if (!check(!err, "%s: durable queue with a message%s", T, why(err)))
		goto out;
	if (!check(dm_sysdir(&dm_store, sysdir, sizeof(sysdir)) &&
		   store_table("0 %llu delay %s 0 0 %s 0 1000", sectors, disk, disk),
		   "%s: store device now delays writes by 1 s", T))
		goto out;
	if (pipe(go) || pipe(chk) || pipe(res))
		goto out;
	pid = fork();
	if (!pid)
		t3_child(q.name, sysdir, go[0], chk[0], res[1]);
	if (write(go[1], "x", 1) != 1)
		goto out;
	t0 = now_ms();
	err = store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
	dt = now_ms() - t0;
	note("%s: detach returned %s after %lld ms", T, errname(err), dt);
	if (!read_within(res[0], &r, sizeof(r), 10000)) {
		check(false, "%s: the opener answered", T);
		goto out;
	}
	note("%s: the opener %s detach's writes in flight; its open %s after %lld ms",
	     T, r.saw_inflight ? "saw" : "did NOT see", r.opened ? "succeeded" : "failed",
	     r.open_ms);
	if (r.opened) {
		if (write(chk[1], "x", 1) != 1 || !read_within(res[0], &r, sizeof(r), 5000)) {
			check(false, "%s: the opener answered after the detach", T);
			goto out;
		}
		note("%s: on that fd after the detach: MQ_IOC_INFO %s, write %s", T,
		     errname(r.info_err), errname(r.write_err));
	}
	check(!(err == 0 && r.opened),
	      "%s: detach %s and an open during it %s (never both succeed)", T,
	      errname(err), r.opened ? "succeeded" : strerror(r.open_err));
	check(!r.opened || (r.info_err != -EIDRM && r.write_err != -EIDRM),
	      "%s: an fd opened during the detach does not see EIDRM (MQ_IOC_INFO %s, write %s)",
	      T, r.opened ? errname(r.info_err) : "-", r.opened ? errname(r.write_err) : "-");
	check(err == 0 || err == -EBUSY, "%s: detach: 0 or EBUSY (%s)", T, errname(err));
out:
	if (pid > 0 && !kill_reap(pid, 5000))
		check(false, "%s: the opener did not end", T);
	for (i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (chk[i] >= 0)
			close(chk[i]);
		if (res[i] >= 0)
			close(res[i]);
	}
	store_linear(STORE_BYTES);
	cleanup();
}

/* ---- stalled_device_does_not_block_get ---- */

enum { G_GET, G_DUMP, G_STORE, G__N };
static const char *const g_what[] = {
	"QUEUE_GET of an unrelated memory queue", "a queue dump (QUEUE_GET, NLM_F_DUMP)",
	"STORE_GET",
};

/*
 * As uid 65534, one lookup; exit 0 if it answered. The socket is ours,
 * the family id the parent's: resolving it would wait for genl's mutex.
 */
static pid_t getter(int kind, const char *mem)
{
	struct mqt_nl me;
	struct nl_msg *msg;
	struct mqt_reply r;
	pid_t pid = fork();
	int err;

	if (pid)
		return pid;
	if (!become_nobody())
		_exit(3);
	me.family = nl.family;
	me.sk = nl_socket_alloc();
	if (!me.sk || genl_connect(me.sk))
		_exit(4);
	switch (kind) {
	case G_GET:
		err = mqt_name_cmd(&me, MQ_CMD_QUEUE_GET, mem, NULL);
		break;
	case G_DUMP:
		msg = mqt_msg(&me, MQ_CMD_QUEUE_GET, NLM_F_DUMP);
		err = mqt_nl_send(&me, msg, &r);
		mqt_reply_free(&r);
		break;
	default:
		msg = mqt_msg(&me, MQ_CMD_STORE_GET, 0);
		err = mqt_nl_send(&me, msg, &r);
		mqt_reply_free(&r);
		break;
	}
	_exit(err ? 2 : 0);
}

/* A root child that creates durable queue @name; exit 0 if it did. */
static pid_t creator(const char *name)
{
	const struct qdef q = { name, 'N', MQ_DURABILITY_SYNC };
	pid_t pid = fork();

	if (pid)
		return pid;
	if (mqt_nl_open(&nl))	/* our own socket (before any stall) */
		_exit(3);
	_exit(queue_new(&q, 100) ? 2 : 0);
}

#define STALL_READS	90	/* reads on the suspended device, under the lease: 2 segments */

/* A root child that reads messages @from, ... (@n of them) of @name; exit 0 if intact. */
static pid_t reader(const char *name, char tag, uint32_t from, int n)
{
	pid_t pid = fork();
	struct got g;
	int fd, i;

	if (pid)
		return pid;
	fd = mqt_open(name, O_RDONLY | O_NONBLOCK);
	for (i = 0; fd >= 0 && i < n; i++)
		if (!recv_one(fd, tag, &g) || !g.intact || g.seq != from + i)
			_exit(1);
	_exit(fd < 0 ? 2 : 0);
}

/* A root child that writes one message to @name; exit 0 if appended, 1 on ENOSPC. */
static pid_t full_writer(const char *name, char tag, uint32_t seq)
{
	pid_t pid = fork();
	int fd, err;

	if (pid)
		return pid;
	fd = mqt_open(name, O_WRONLY);
	err = fd < 0 ? -errno : msg_write(fd, tag, seq);
	_exit(!err ? 0 : err == -ENOSPC ? 1 : 2);
}

/*
 * A root child that writes one message to @name with O_NONBLOCK; exit 0
 * if appended, 1 on ENOSPC, 3 on EAGAIN.
 */
static pid_t nonblock_writer(const char *name, char tag, uint32_t seq)
{
	pid_t pid = fork();
	int fd, err;

	if (pid)
		return pid;
	fd = mqt_open(name, O_WRONLY | O_NONBLOCK);
	err = fd < 0 ? -errno : msg_write(fd, tag, seq);
	_exit(!err ? 0 : err == -ENOSPC ? 1 : err == -EAGAIN ? 3 : 2);
}

/*
 * An event loop on the full store while the registry lock is held across
 * a write to the suspended device: poll(POLLOUT) then write, for a second.
 * A write that gets EAGAIN right after poll said POLLOUT is a spin.
 * Return: how many messages went in; *@spins, *@rounds counted.
 */
static uint32_t nonblock_loop(const struct qdef *q, uint32_t seq, int *spins, int *rounds)
{
	struct pollfd p = { .events = POLLOUT };
	struct timespec t0, t;
	uint32_t in = 0;
	int err, n;

	*spins = 0;
	*rounds = 0;
	p.fd = mqt_open(q->name, O_WRONLY | O_NONBLOCK);
	if (p.fd < 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		n = poll(&p, 1, 100);
		err = msg_write(p.fd, q->tag, seq + in);
		if (!err)
			in++;
		if (n == 1 && (p.revents & POLLOUT) && err == -EAGAIN)
			(*spins)++;
		(*rounds)++;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < 1000 &&
		 *rounds < 100000);
	close(p.fd);
	return in;
}

/* Write messages *@acked, ... to @q until one fails; its error. */
static int fill_up(const struct qdef *q, uint32_t *acked)
{
	int fd = mqt_open(q->name, O_WRONLY), err, n;

	if (fd < 0)
		return -errno;
	for (n = 0; n < 400 && !(err = msg_write(fd, q->tag, *acked)); n++)
		(*acked)++;
	close(fd);
	return err;
}

/*
 * While the registry lock is held across a write to the suspended
 * device: lookups as uid 65534, and a writer that meets the full store.
 * Children still waiting are left in @get and *@wr for after the resume.
 */
static void stall_lookups(const char *T, const char *phase, const char *mem,
			  const struct qdef *fill, uint32_t seq, pid_t *get, pid_t *wr)
{
	bool answered, killed;
	int i, status = 0;
	char c, who[32];

	for (i = 0; i < G__N; i++)
		get[i] = getter(i, mem);
	msleep(3000);
	for (i = 0; i < G__N; i++) {
		answered = reap(get[i], 10, &status);
		c = answered ? 0 : task_state(get[i]);
		if (!answered) {
			snprintf(who, sizeof(who), "%s: getter %d", phase, i);
			note_stack(who, get[i]);
		}
		check(answered && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "%s: %s: uid %d: %s answers within 3 s while the device is suspended (%s%c)",
		      T, phase, NOBODY, g_what[i],
		      answered ? "answered" : "no answer, task in state ", c ? c : ' ');
		if (answered)
			get[i] = -1;
	}

	*wr = full_writer(fill->name, fill->tag, seq);
	if (wait_blocked(*wr, 2000, NULL)) {
		snprintf(who, sizeof(who), "%s: writer", phase);
		note_stack(who, *wr);
		killed = kill_reap(*wr, 2000);
		check(killed, "%s: %s: SIGKILL ends a writer of the full store waiting for space%s",
		      T, phase, killed ? "" : " (still there 2 s later)");
		if (killed)
			*wr = -1;
	} else if (reap(*wr, 10, &status)) {
		check(true, "%s: %s: a writer of the full store is answered at once (exit %d)",
		      T, phase, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		*wr = -1;
	} else {
		check(false, "%s: %s: a writer of the full store neither waits nor is answered", T,
		      phase);
	}
}

/* After the resume: the children left behind end. */
static void stall_reap(const char *T, const char *phase, pid_t *get, pid_t *wr)
{
	int i, status;

	for (i = 0; i < G__N; i++) {
		if (get[i] > 0 && !reap(get[i], 10000, &status))
			check(false, "%s: %s: %s answers once the device is back", T, phase,
			      g_what[i]);
		get[i] = -1;
	}
	if (*wr > 0 && !(reap(*wr, 10000, &status) && WIFSIGNALED(status)))
		check(false, "%s: %s: the killed writer is gone once the device is back", T,
		      phase);
	*wr = -1;
}

static void test_stall(void)
{
	const char *T = "stall";
	const char *mem = "mqlc-mem", *created = "mqlc-new";
	const struct qdef fill = { "mqlc-fill", 'F', MQ_DURABILITY_ASYNC };
	pid_t make = -1, w1 = -1, get[G__N] = { -1, -1, -1 }, wr = -1, nb = -1, rd = -1;
	uint64_t st[MQ_SSTAT_MAX + 1];
	bool suspended = false;
	struct mq_info info;
	uint32_t acked = 0, nread = 0, extra = 0, maybe = 0, in;
	char c;
	int fd = -1, err, i, status = -1, spins, rounds;
	bool answered;
	struct got g;

	note("stalled_device_does_not_block_get: a full 9 MiB store on a suspended device");
	if (!fresh_store(T, SMALL_BYTES))
		goto out;
	err = mqt_add(&nl, mem, NULL, NULL) ?: queue_new(&fill, 10000);
	if (!check(!err, "%s: memory queue and async queue made%s", T, why(err)))
		goto out;
	err = fill_up(&fill, &acked);
	if (!check(err == -ENOSPC, "%s: the store is full: write %u gets %s (want ENOSPC)",
		   T, acked, errname(err)))
		goto out;

	/*
	 * Phase 1: read half of it. A non-blocking writer gets in: EAGAIN
	 * while the cleaner's work item gives the space back, then its
	 * write; the writer itself does no I/O. Full again, the device
	 * suspended, more reads (under a lease already durable), and this
	 * time the cleaner's catalog write waits, under the registry lock
	 * (and no netlink lock).
	 */
	fd = mqt_open(fill.name, O_RDONLY | O_NONBLOCK);
	while (fd >= 0 && nread < acked / 2 && recv_one(fd, fill.tag, &g) &&
	       g.intact && g.seq == nread)
		nread++;
	if (fd >= 0)
		close(fd);
	fd = -1;
	if (!check(nread == acked / 2, "%s: read %u of the %u messages, intact, in order",
		   T, nread, acked))
		goto out;
	/* The async flush of the positions, and a run of the cleaner. */
	/* EAGAIN while the cleaner gives the space back. */
	fd = mqt_open(fill.name, O_WRONLY | O_NONBLOCK);
	for (i = 0, err = -EAGAIN; fd >= 0 && i < 50 && err == -EAGAIN; i++) {
		err = msg_write(fd, fill.tag, acked);
		if (err == -EAGAIN)
			msleep(100);
	}
	if (fd >= 0)
		close(fd);
	fd = -1;
	if (!check(!err, "%s: after the reads a non-blocking write goes in, the cleaner giving the space back (%s, after %d tries)",
		   T, err ? errname(err) : "ok", i))
		goto out;
	acked++;
	err = fill_up(&fill, &acked);
	if (!check(err == -ENOSPC, "%s: full again at message %u (%s)", T, acked,
		   errname(err)))
		goto out;
	msleep(300);
	suspended = !dmsetup(false, "suspend", &dm_store, NULL);
	if (!check(suspended, "%s: store device suspended", T))
		goto out;
	rd = reader(fill.name, fill.tag, nread, STALL_READS);
	if (reap(rd, 2000, &status)) {
		check(WIFEXITED(status) && !WEXITSTATUS(status),
		      "%s: reclaim: %d more reads, under the lease", T, STALL_READS);
		nread += STALL_READS;
		rd = -1;
	}
	msleep(300);	/* they asked the cleaner; its catalog write waits */
	/* A non-blocking writer waits for neither the cleaner nor the device. */
	w1 = nonblock_writer(fill.name, fill.tag, acked);
	answered = reap(w1, 2000, &status);
	if (!answered)
		note_stack("reclaim: non-blocking writer", w1);
	check(answered && WIFEXITED(status) && WEXITSTATUS(status) != 2,
	      "%s: reclaim: a non-blocking writer of the full store is answered within 2 s (%s)",
	      T, !answered ? "no: it waits for the device" :
	      !WIFEXITED(status) ? "killed" : WEXITSTATUS(status) == 0 ? "appended" :
	      WEXITSTATUS(status) == 1 ? "ENOSPC" : WEXITSTATUS(status) == 3 ? "EAGAIN" : "error");
	if (answered && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		extra++;
	if (!answered) {
		nb = w1;	/* it holds the registry lock: reaped after the resume */
		maybe++;
	}
	w1 = full_writer(fill.name, fill.tag, acked);
	answered = !wait_blocked(w1, 2000, &c);
	if (!check(!answered,
		   "%s: reclaim: a writer meeting the full store waits for the cleaner (state %c)",
		   T, c))
		goto out;
	note_stack("reclaim: waiting writer", w1);
	stall_lookups(T, "reclaim", mem, &fill, acked + 1, get, &wr);
	maybe++;	/* a killed writer's message may have gone in */
	suspended = dmsetup(false, "resume", &dm_store, NULL);
	if (!check(!suspended, "%s: device resumed", T))
		goto out;
	check(reap(w1, 15000, &status) && WIFEXITED(status) && WEXITSTATUS(status) < 2,
	      "%s: reclaim: then the waiting writer is answered (%s)", T,
	      WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "appended" : "ENOSPC");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		extra++;
	w1 = -1;
	if (rd > 0) {
		check(reap(rd, 15000, &status) && WIFEXITED(status) && !WEXITSTATUS(status),
		      "%s: reclaim: the %d reads are answered once the device is back", T,
		      STALL_READS);
		nread += STALL_READS;
		rd = -1;
	}
	if (nb > 0 && !reap(nb, 15000, NULL))
		check(false, "%s: reclaim: the non-blocking writer ends once the device is back", T);
	nb = -1;
	stall_reap(T, "reclaim", get, &wr);

	/* Phase 2: full again; a durable create's catalog write stalls. */
	acked += 2;	/* seqs acked and acked + 1 went to the writers */
	err = fill_up(&fill, &acked);
	if (!check(err == -ENOSPC, "%s: full again at message %u (%s)", T, acked,
		   errname(err)))
		goto out;
	msleep(300);
	suspended = !dmsetup(false, "suspend", &dm_store, NULL);
	if (!check(suspended, "%s: store device suspended again", T))
		goto out;
	make = creator(created);
	if (!check(wait_state_d(make, 5000),
		   "%s: create: a durable create waits for its catalog write (state D)", T))
		goto out;
	note_stack("create: holder", make);
	in = nonblock_loop(&fill, acked + 1, &spins, &rounds);
	extra += in;
	check(spins <= 2,
	      "%s: create: an event loop on the full store does not spin: %d of %d writes got EAGAIN right after POLLOUT",
	      T, spins, rounds);
	stall_lookups(T, "create", mem, &fill, acked, get, &wr);
	maybe++;
	suspended = dmsetup(false, "resume", &dm_store, NULL);
	if (!check(!suspended, "%s: device resumed again", T))
		goto out;
	check(reap(make, 15000, &status) && WIFEXITED(status) && !WEXITSTATUS(status),
	      "%s: create: then the durable create completes", T);
	make = -1;
	stall_reap(T, "create", get, &wr);

	fd = mqt_open(fill.name, O_RDONLY);
	err = fd < 0 ? -errno : mqt_info(fd, &info);
	{
		/* acked counts two seqs the writers used: take them out again. */
		uint64_t lo = acked - 2 - nread + extra, hi = lo + maybe;

		check(!err && info.depth_msgs >= lo && info.depth_msgs <= hi,
		      "%s: nothing lost: the full queue holds %llu messages (%llu to %llu expected)%s",
		      T, err ? 0ULL : (unsigned long long)info.depth_msgs,
		      (unsigned long long)lo, (unsigned long long)hi, why(err));
	}
	err = store_req(MQ_CMD_STORE_GET, NULL, 0, st);
	check(!err && st[MQ_SSTAT_STATE] == MQ_STORE_OK && mqt_exists(&nl, created) &&
	      mqt_exists(&nl, mem),
	      "%s: the store is ok, the new durable queue and the memory queue exist%s", T,
	      why(err));
out:
	if (fd >= 0)
		close(fd);
	if (suspended)
		dmsetup(false, "resume", &dm_store, NULL);
	for (i = 0; i < G__N; i++)
		if (!kill_reap(get[i], 10000))
			check(false, "%s: a getter did not end", T);
	if (!kill_reap(make, 10000) || !kill_reap(wr, 10000) || !kill_reap(w1, 10000) ||
	    !kill_reap(nb, 10000) || !kill_reap(rd, 10000))
		check(false, "%s: a child did not end", T);
	mqt_del(&nl, mem);
	mqt_del(&nl, created);
	mqt_del(&nl, fill.name);
	cleanup();
}

/* ---- unload_after_io_error_event ---- */

static int kmsg = -1;

/*
 * Kernel messages on /dev/kmsg @fd since the last read, as comments.
 * Return: how many contain one of @what[@n].
 */
static int kmsg_hits(int fd, const char *const *what, size_t n)
{
	char buf[1024];
	int hits = 0;
	ssize_t len;
	size_t i;

	while ((len = read(fd, buf, sizeof(buf) - 1)) > 0 || (len < 0 && errno == EPIPE)) {
		char *text;

		if (len <= 0)
			continue;
		buf[len] = 0;
		text = strchr(buf, ';');
		text = text ? text + 1 : buf;
		note("kmsg: %.*s", (int)strcspn(text, "\n"), text);
		for (i = 0; i < n; i++) {
			if (strstr(text, what[i])) {
				hits++;
				break;
			}
		}
	}
	return hits;
}

/* Kernel messages since the last call, as comments; true if a warning. */
static bool kmsg_scan(void)
{
	static const char *const bad[] = {
		"WARNING", "BUG", "Oops", "Call Trace", "general protection",
	};

	return kmsg >= 0 && kmsg_hits(kmsg, bad, ARRAY_SIZE(bad)) > 0;
}

static void test_unload(void)
{
	const char *T = "unload";
	const unsigned long long sectors = STORE_BYTES >> 9;
	const struct qdef q = { "mqlc-unload", 'U', MQ_DURABILITY_ASYNC };
	const char *ko = getenv("MQ_KO") ? getenv("MQ_KO") : "/mq/mq.ko";
	const char *rmmod[] = { "rmmod", "mq", NULL };
	const char *insmod[] = { "insmod", ko, NULL };
	uint64_t st[MQ_SSTAT_MAX + 1];
	struct stat sb;
	int fd, err, i, rc;

	note("unload_after_io_error_event: dm-flakey, unflushed async messages, writes fail, rmmod");
	if (!check(dm_create(&dm_store, "0 %llu flakey %s 0 1 0", sectors, disk),
		   "%s: dm-flakey store device, always up", T))
		goto out;
	err = store_req(MQ_CMD_STORE_FORMAT, dm_store.path, SEG_SIZE, NULL) ?:
	      store_attach_ms(dm_store.path, 10000) ?: queue_new(&q, 100);
	fd = err ? -1 : mqt_open(q.name, O_WRONLY);
	for (i = 0; fd >= 0 && i < 5 && !err; i++)
		err = msg_write(fd, q.tag, i);
	if (fd >= 0)
		close(fd);
	if (!check(!err && fd >= 0,
		   "%s: store attached (flush interval 10 s), 5 async messages in its log buffer%s",
		   T, why(err)))
		goto out;
	if (!check(store_table("0 %llu flakey %s 0 0 1 1 error_writes", sectors, disk),
		   "%s: store device now fails every write", T))
		goto out;
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg >= 0)
		lseek(kmsg, 0, SEEK_END);
	rc = run(false, rmmod);
	check(rc == 0 && stat("/sys/module/mq", &sb),
	      "%s: rmmod mq with the store's final commit failing (exit %d)", T, rc);
	msleep(200);
	check(!kmsg_scan(), "%s: no kernel warning at the unload", T);
	if (kmsg >= 0)
		close(kmsg);
	kmsg = -1;
	if (!stat("/sys/module/mq", &sb))
		goto out;
	rc = run(false, insmod);
	mqt_nl_close(&nl);
	err = mqt_nl_open(&nl);
	if (!check(rc == 0 && !err, "%s: insmod %s again, the family is back (exit %d)%s",
		   T, ko, rc, why(err)))
		goto out;
	err = store_table("0 %llu flakey %s 0 1 0", sectors, disk) ? 0 : -EIO;
	err = err ?: store_req(MQ_CMD_STORE_ATTACH, dm_store.path, 0, NULL) ?:
		     store_req(MQ_CMD_STORE_GET, NULL, 0, st);
	check(!err && mqt_exists(&nl, q.name),
	      "%s: healed, the store attaches again with its queue%s", T, why(err));
	if (!err)
		note("%s: clean %llu, recovered %llu messages (unflushed async ones may be lost)",
		     T, (unsigned long long)st[MQ_SSTAT_CLEAN],
		     (unsigned long long)st[MQ_SSTAT_RECOVERED_MSGS]);
	mqt_del(&nl, q.name);
out:
	if (stat("/sys/module/mq", &sb)) {
		run(false, insmod);
		mqt_nl_close(&nl);
		mqt_nl_open(&nl);
	}
	cleanup();
}

/* ---- attach_exposes_unbound_queue ---- */

#define T1_QUEUES	8
#define T1_MSGS		6	/* each; at most one read per attach */
#define T1_CYCLES	6

struct t1_rec {
	int idx;		/* queue, by predicted minor */
	int read_len;		/* or -errno */
	uint32_t seq;
	char tag;
	bool intact;
	int write_err;		/* of message 100 + cycle */
};

static char t1_tag(int i)
{
	return 'a' + i;
}

/*
 * Open the @n nodes in turn until each worked once (or @stop); on each
 * fd read one message, then write one; a record per open on @res.
 */
static void t1_child(char nodes[][64], int n, int cycle, int stop, int res)
{
	static unsigned char buf[MSG_MAX];
	bool done[T1_QUEUES] = { false };
	int left = n, i, fd;
	long long end = now_ms() + 20000;
	struct t1_rec r;
	ssize_t len;

	while (left && now_ms() < end) {
		struct pollfd p = { .fd = stop, .events = POLLIN };

		for (i = 0; i < n; i++) {
			if (done[i])
				continue;
			fd = open(nodes[i], O_RDWR | O_NONBLOCK);
			if (fd < 0)
				continue;
			memset(&r, 0, sizeof(r));
			r.idx = i;
			len = read(fd, buf, sizeof(buf));
			r.read_len = len < 0 ? -errno : (int)len;
			if (len >= 5) {
				memcpy(&r.seq, buf, 4);
				r.tag = buf[4];
				r.intact = msg_intact(buf, len, r.tag, r.seq);
			}
			r.write_err = msg_write(fd, t1_tag(i), 100 + cycle);
			close(fd);
			done[i] = true;
			left--;
			if (write(res, &r, sizeof(r)) != sizeof(r))
				_exit(1);
		}
		if (poll(&p, 1, 0) > 0)
			break;
	}
	_exit(0);
}

static void test_attach(void)
{
	const char *T = "attach";
	static char names[T1_QUEUES][32], nodes[T1_QUEUES][64];
	static struct got got[T1_MSGS + T1_CYCLES + 8];
	struct qdef q[T1_QUEUES];
	bool want[T1_QUEUES][100 + T1_CYCLES] = { { false } };
	uint32_t next[T1_QUEUES], id;
	int stop[2], res[2], i, c, n, k, err, fd, hits = 0, bad;
	struct t1_rec r;
	pid_t pid;

	note("attach_exposes_unbound_queue: %d durable queues, a child opening their next minors during attach",
	     T1_QUEUES);
	if (!fresh_store(T, STORE_BYTES))
		goto out;
	for (i = 0, err = 0; i < T1_QUEUES && !err; i++) {
		snprintf(names[i], sizeof(names[i]), "mqlc-att%d", i);
		q[i] = (struct qdef){ names[i], t1_tag(i), MQ_DURABILITY_SYNC };
		err = queue_new(&q[i], 100);
		fd = err ? -1 : mqt_open(names[i], O_WRONLY);
		if (!err && fd < 0)
			err = -errno;
		for (k = 0; !err && k < T1_MSGS; k++) {
			err = msg_write(fd, q[i].tag, k);
			want[i][k] = true;
		}
		if (fd >= 0)
			close(fd);
		next[i] = 0;
	}
	if (!check(!err, "%s: %d sync queues of %d messages each%s", T, T1_QUEUES,
		   T1_MSGS, why(err)))
		goto out;
	err = store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
	if (!check(!err, "%s: detached%s", T, why(err)))
		goto out;

	for (c = 0; c < T1_CYCLES; c++) {
		err = next_id(&id);
		for (i = 0; !err && i < T1_QUEUES; i++)
			err = make_node(nodes[i], sizeof(nodes[i]),
					(id + i) % max_queues());
		if (!check(!err, "%s: cycle %d: the queues will get ids %u-%u%s", T, c, id,
			   id + T1_QUEUES - 1, why(err)))
			goto out;
		if (pipe(stop) || pipe(res))
			goto out;
		fflush(stdout);
		pid = fork();
		if (!pid)
			t1_child(nodes, T1_QUEUES, c, stop[0], res[1]);
		close(res[1]);
		msleep(50);
		err = store_req(MQ_CMD_STORE_ATTACH, dm_store.path, 0, NULL);
		if (write(stop[1], "x", 1) != 1)
			err = err ?: -EPIPE;
		if (!reap(pid, 10000, NULL)) {
			check(false, "%s: cycle %d: the opener ended", T, c);
			kill_reap(pid, 5000);
		}
		close(stop[0]);
		close(stop[1]);
		bad = 0;
		while (read_within(res[0], &r, sizeof(r), 100)) {
			i = r.idx;
			hits++;
			note("%s: cycle %d: open of %s during the attach: read %d (%c%u%s), write %s",
			     T, c, names[i], r.read_len, r.tag ? r.tag : '-', r.seq,
			     r.intact ? ", intact" : "", errname(r.write_err));
			if (r.read_len > 0 && r.intact && r.tag == t1_tag(i) &&
			    r.seq == next[i]) {
				want[i][next[i]++] = false;
			} else {
				bad++;
			}
			if (!r.write_err)
				want[i][100 + c] = true;
		}
		close(res[0]);
		if (!check(!err, "%s: cycle %d: attached%s", T, c, why(err)))
			goto out;
		for (i = 0, k = 0; i < T1_QUEUES; i++)
			k += node_minor(names[i]) == (int)((id + i) % max_queues());
		/* Not a failure of the module, but the race was then not tried. */
		if (k != T1_QUEUES)
			note("%s: cycle %d: only %d of %d queues got the predicted id", T, c, k,
			     T1_QUEUES);
		check(!bad, "%s: cycle %d: every open during the attach read the oldest stored message, intact",
		      T, c);
		err = store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
		if (!check(!err, "%s: cycle %d: detached%s", T, c, why(err)))
			goto out;
	}
	note("%s: %d opens succeeded during the attaches", T, hits);

	err = store_req(MQ_CMD_STORE_ATTACH, dm_store.path, 0, NULL);
	if (!check(!err, "%s: attached for the check%s", T, why(err)))
		goto out;
	for (i = 0, bad = 0; i < T1_QUEUES; i++) {
		bool seen[100 + T1_CYCLES] = { false };

		n = drain(&q[i], got, ARRAY_SIZE(got));
		if (n < 0) {
			note("%s: %s: drain: %s", T, names[i], errname(n));
			bad++;
			continue;
		}
		for (k = 0; k < n; k++) {
			uint32_t s = got[k].seq;

			if (!got[k].intact || s >= 100 + T1_CYCLES || !want[i][s] || seen[s]) {
				note("%s: %s: unexpected message %d%s", T, names[i], (int)s,
				     got[k].intact ? "" : " (corrupt)");
				bad++;
			} else {
				seen[s] = true;
			}
		}
		for (k = 0; k < 100 + T1_CYCLES; k++) {
			if (want[i][k] && !seen[k]) {
				note("%s: %s: message %d lost%s", T, names[i], k,
				     k >= 100 ? " (a write acknowledged during the attach)" : "");
				bad++;
			}
		}
	}
	check(!bad, "%s: after detach and attach every message is there once, intact, and every write made during an attach is durable",
	      T);
	for (i = 0; i < T1_QUEUES; i++)
		mqt_del(&nl, names[i]);
out:
	for (i = 0; i < T1_QUEUES; i++)
		if (nodes[i][0])
			unlink(nodes[i]);
	cleanup();
}

/* ---- stuck_queue_does_not_stop_others ---- */

#define T8_LATE		40	/* the earlier queue's messages, */
#define T8_LATE_LEN	10000	/* 400 KB in all */

static int t8_late(int fd, uint32_t seq, bool write_it)
{
	static char m[T8_LATE_LEN], got[T8_LATE_LEN + 1];
	ssize_t n;

	memset(m, 'a' + seq % 26, sizeof(m));
	memcpy(m, &seq, sizeof(seq));
	if (write_it)
		return write(fd, m, sizeof(m)) == sizeof(m) ? 0 : -errno;
	n = read(fd, got, sizeof(got));
	return n < 0 ? -errno : n != sizeof(m) || memcmp(got, m, n) ? -EBADMSG : 0;
}

/*
 * A busy queue's traffic, written and read 8 deep; with @late, also a
 * queue with a backlog that moves: one read and one written each round.
 */
struct busy {
	int fd;
	char tag;
	uint32_t seq, rseq;
	unsigned long long through;	/* bytes written */
	bool late;
	int lfd;
	uint32_t lseq, lrseq;
};

/* Write and read through @b until it has taken @upto bytes. Return: errno. */
static int busy_run(struct busy *b, unsigned long long upto)
{
	static unsigned char buf[MSG_MAX];
	int err = 0, i;
	ssize_t n;

	while (!err && b->through < upto) {
		if (b->late)
			err = t8_late(b->lfd, b->lrseq++, false) ?:
			      t8_late(b->lfd, b->lseq++, true);
		for (i = 0; i < 8 && !err; i++, b->seq++) {
			err = msg_write(b->fd, b->tag, b->seq);
			b->through += msg_len(b->tag, b->seq);
		}
		for (i = 0; i < 8 && !err && b->rseq < b->seq; i++, b->rseq++) {
			n = read(b->fd, buf, sizeof(buf));
			if (n < 0 || !msg_intact(buf, n, b->tag, b->rseq))
				err = n < 0 ? -errno : -EBADMSG;
		}
	}
	return err;
}

/*
 * One unread message in one durable queue, and another queue moving ten
 * times the store's size through it: the cleaner copies the stuck message
 * forward as the log comes round, so no write meets ENOSPC, and the
 * message is there, intact, after all of it and after detach and attach.
 */
static void test_stuck(void)
{
	const char *T = "stuck";
	const struct qdef stuck = { "mqlc-stuck", 'S', MQ_DURABILITY_SYNC };
	const struct qdef busy = { "mqlc-busy", 'B', MQ_DURABILITY_ASYNC };
	static unsigned char buf[MSG_MAX];
	struct busy bq = { .tag = busy.tag };
	unsigned long long moved = 0, through;
	uint64_t st[MQ_SSTAT_MAX + 1];
	int sfd = -1, bfd = -1, err;
	ssize_t n;

	if (!fresh_store(T, STORE_BYTES))
		goto out;
	err = queue_new(&stuck, 10) ?: queue_new(&busy, 64);
	sfd = err ? -1 : mqt_open(stuck.name, O_RDWR);
	bfd = err ? -1 : mqt_open(busy.name, O_RDWR);
	err = err ?: sfd < 0 || bfd < 0 ? -errno : msg_write(sfd, stuck.tag, 7);
	if (!check(!err, "%s: a stuck queue with one message, and a busy one%s", T,
		   why(err)))
		goto out;
	/* Ten times the store through the busy queue. */
	bq.fd = bfd;
	err = busy_run(&bq, 10ULL * STORE_BYTES) ?:
	      store_req(MQ_CMD_STORE_GET, NULL, 0, st);
	through = bq.through;
	if (!err)
		moved = st[MQ_SSTAT_MOVED_BYTES];
	check(!err, "%s: %llu MiB through the busy queue in a %llu MiB store, no write refused (message %u)%s",
	      T, through / MIB, (unsigned long long)(STORE_BYTES / MIB), bq.seq, why(err));
	check(!err && st[MQ_SSTAT_MOVED_RECORDS] > 0,
	      "%s: the cleaner moved the stuck message forward: %llu records, %llu bytes",
	      T, (unsigned long long)st[MQ_SSTAT_MOVED_RECORDS], moved);
	note("%s: relocation took %.4f%% of the bytes written", T,
	     through ? 100.0 * moved / through : 0);
	close(sfd);
	close(bfd);
	sfd = bfd = -1;
	/* Recovery finds the copy, not a gap. */
	err = store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL) ?:
	      store_req(MQ_CMD_STORE_ATTACH, dm_store.path, 0, NULL);
	sfd = err ? -1 : mqt_open(stuck.name, O_RDONLY | O_NONBLOCK);
	n = sfd < 0 ? -1 : read(sfd, buf, sizeof(buf));
	check(!err && n > 0 && msg_intact(buf, n, stuck.tag, 7),
	      "%s: after detach and attach the stuck message reads back intact%s", T,
	      why(err));
	n = sfd < 0 ? -1 : read(sfd, buf, sizeof(buf));
	check(n < 0 && errno == EAGAIN, "%s: and only once", T);
out:
	if (sfd >= 0)
		close(sfd);
	if (bfd >= 0)
		close(bfd);
	mqt_del(&nl, stuck.name);
	mqt_del(&nl, busy.name);
	cleanup();
}

/* ---- many_small_stuck_messages_are_moved ---- */

#define T8_GROUP	5000	/* small unread messages in a group */
#define T8_LEN		40	/* 96-byte records: 480 KB a group */

static int t8_write(int fd, uint32_t seq)
{
	char m[T8_LEN + 1];

	snprintf(m, sizeof(m), "many-%010u-%024u", seq, seq);
	return write(fd, m, T8_LEN) == T8_LEN ? 0 : -errno;
}

static bool t8_intact(const char *buf, ssize_t n, uint32_t seq)
{
	char m[T8_LEN + 1];

	snprintf(m, sizeof(m), "many-%010u-%024u", seq, seq);
	return n == T8_LEN && !memcmp(buf, m, T8_LEN);
}

/*
 * 5000 small unread messages in one queue, in the first segment, and
 * another queue moving ten times the store through it. Then, four
 * segments on, either 5000 more in the same queue (a queue whose
 * messages spread over segments far apart), or, @late, a backlog of
 * 400 KB that moves (one read, one written per round) in a queue made
 * before it. Either way the cleaner must move the oldest segment's
 * messages (written when it counted live bytes per segment, it once gave
 * up on both), and no write meets ENOSPC.
 */
static void stuck_many(bool late)
{
	const char *T = late ? "late" : "many";
	const struct qdef many = { "mqlc-many", 'M', MQ_DURABILITY_ASYNC };
	const struct qdef busy = { "mqlc-busy", 'B', MQ_DURABILITY_ASYNC };
	const struct qdef lq = { "mqlc-late", 'L', MQ_DURABILITY_ASYNC };
	static unsigned char buf[MSG_MAX];
	struct busy bq = { .tag = busy.tag };
	uint64_t st[MQ_SSTAT_MAX + 1] = { 0 };
	int mfd = -1, bfd = -1, lfd = -1, err = 0, bad = 0, gerr;
	uint32_t k, mseq = 0, want = late ? T8_GROUP : 2 * T8_GROUP;
	ssize_t n;

	if (!fresh_store(T, STORE_BYTES))
		goto out;
	if (late) {
		err = queue_new(&lq, T8_LATE);
		lfd = err ? -1 : mqt_open(lq.name, O_RDWR);
		if (!err && lfd < 0)
			err = -errno;
	}
	err = err ?: queue_new(&many, 2 * T8_GROUP) ?: queue_new(&busy, 64);
	mfd = err ? -1 : mqt_open(many.name, O_RDWR);
	bfd = err ? -1 : mqt_open(busy.name, O_RDWR);
	if (!err && (mfd < 0 || bfd < 0))
		err = -errno;
	for (k = 0; k < T8_GROUP && !err; k++)
		err = t8_write(mfd, mseq++);
	if (!check(!err, "%s: %u small messages nobody reads, and a busy queue%s", T,
		   T8_GROUP, why(err)))
		goto out;
	bq.fd = bfd;
	err = busy_run(&bq, 4ULL * SEG_SIZE);
	for (k = 0; k < want - T8_GROUP && !err; k++)
		err = t8_write(mfd, mseq++);
	for (k = 0; late && k < T8_LATE && !err; k++)
		err = t8_late(lfd, bq.lseq++, true);
	bq.late = late;
	bq.lfd = lfd;
	err = err ?: busy_run(&bq, 10ULL * STORE_BYTES);
	gerr = store_req(MQ_CMD_STORE_GET, NULL, 0, st);
	if (err && !gerr)
		note("%s: %llu of %llu segments in use, %llu records moved", T,
		     (unsigned long long)st[MQ_SSTAT_SEGMENTS_USED],
		     (unsigned long long)st[MQ_SSTAT_SEGMENTS],
		     (unsigned long long)st[MQ_SSTAT_MOVED_RECORDS]);
	err = err ?: gerr;
	check(!err, "%s: %llu MiB through the busy queue in a %llu MiB store, no write refused (message %u)%s",
	      T, bq.through / MIB, (unsigned long long)(STORE_BYTES / MIB), bq.seq, why(err));
	check(!err && st[MQ_SSTAT_MOVED_RECORDS] >= T8_GROUP,
	      "%s: the cleaner moved the small messages forward: %llu records, %llu bytes",
	      T, (unsigned long long)st[MQ_SSTAT_MOVED_RECORDS],
	      (unsigned long long)st[MQ_SSTAT_MOVED_BYTES]);
	close(mfd);
	close(bfd);
	if (lfd >= 0)
		close(lfd);
	mfd = bfd = lfd = -1;
	err = store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL) ?:
	      store_req(MQ_CMD_STORE_ATTACH, dm_store.path, 0, NULL);
	mfd = err ? -1 : mqt_open(many.name, O_RDONLY | O_NONBLOCK);
	for (k = 0; mfd >= 0 && k < mseq; k++) {
		n = read(mfd, buf, sizeof(buf));
		if (!t8_intact((char *)buf, n, k)) {
			if (!bad++)
				note("%s: message %u: %s", T, k,
				     n < 0 ? strerror(errno) : "not as written");
		}
	}
	if (late) {
		lfd = err ? -1 : mqt_open(lq.name, O_RDONLY | O_NONBLOCK);
		for (k = bq.lrseq; k < bq.lseq; k++)
			bad += lfd < 0 || t8_late(lfd, k, false) != 0;
	}
	check(!err && mfd >= 0 && mseq == want && !bad,
	      "%s: after detach and attach all %u%s read back in order, intact%s", T, mseq,
	      late ? " and the earlier queue's backlog" : "", why(err));
	n = mfd < 0 ? -1 : read(mfd, buf, sizeof(buf));
	check(n < 0 && errno == EAGAIN, "%s: and only once", T);
out:
	if (mfd >= 0)
		close(mfd);
	if (bfd >= 0)
		close(bfd);
	if (lfd >= 0)
		close(lfd);
	mqt_del(&nl, many.name);
	mqt_del(&nl, busy.name);
	if (late)
		mqt_del(&nl, lq.name);
	cleanup();
}

static void test_stuck_many(void)
{
	stuck_many(false);
}

static void test_stuck_late(void)
{
	stuck_many(true);
}

/* ---- stuck_backlog_does_not_stop_others, store_full_of_unread_is_enospc ---- */

/*
 * A stuck queue whose backlog fills whole segments, written at once:
 * @backlog bytes. Under three quarters of the log, the cleaner copies
 * those segments forward as the log comes round (they are all live), and
 * ten times the store goes through a busy queue with no write refused;
 * the backlog is all there, in order, after detach and attach. Over it,
 * the store is full: the busy queue meets ENOSPC, the cleaner does not
 * copy round and round meanwhile, and reading the backlog brings the
 * space back.
 */
static void stuck_backlog(unsigned long long backlog, bool full)
{
	const char *T = full ? "full" : "backlog";
	const struct qdef stuck = { "mqlc-backlog", 'K', MQ_DURABILITY_ASYNC };
	const struct qdef busy = { "mqlc-busy", 'B', MQ_DURABILITY_ASYNC };
	struct busy bq = { .tag = busy.tag };
	uint64_t st[MQ_SSTAT_MAX + 1] = { 0 }, moved;
	unsigned long long bytes = 0;
	uint32_t n = 0, k, bad = 0;
	int sfd = -1, bfd = -1, err, gerr;
	struct got g;

	if (!fresh_store(T, STORE_BYTES))
		goto out;
	err = queue_new(&stuck, 100000) ?: queue_new(&busy, 64);
	sfd = err ? -1 : mqt_open(stuck.name, O_RDWR);
	bfd = err ? -1 : mqt_open(busy.name, O_RDWR);
	if (!err && (sfd < 0 || bfd < 0))
		err = -errno;
	for (; !err && bytes < backlog; n++) {
		err = msg_write(sfd, stuck.tag, n);
		bytes += msg_len(stuck.tag, n);
	}
	if (!check(!err, "%s: a stuck queue with %llu KiB of backlog in %u messages, and a busy one%s",
		   T, bytes >> 10, n, why(err)))
		goto out;
	bq.fd = bfd;
	err = busy_run(&bq, 10ULL * STORE_BYTES);
	gerr = store_req(MQ_CMD_STORE_GET, NULL, 0, st);
	moved = st[MQ_SSTAT_MOVED_BYTES];
	if (!full) {
		check(!err && !gerr,
		      "%s: %llu MiB through the busy queue in a %llu MiB store, no write refused (message %u)%s",
		      T, bq.through / MIB, (unsigned long long)(STORE_BYTES / MIB), bq.seq,
		      why(err ?: gerr));
		check(!gerr && moved >= bytes,
		      "%s: the cleaner moved the backlog forward: %llu records, %llu KiB (%.1f%% of the bytes written)",
		      T, (unsigned long long)st[MQ_SSTAT_MOVED_RECORDS],
		      (unsigned long long)moved >> 10,
		      bq.through ? 100.0 * moved / bq.through : 0);
	} else {
		if (err)
			bq.seq--;	/* busy_run() counted the refused one */
		check(err == -ENOSPC && bq.through < STORE_BYTES,
		      "%s: the busy queue meets ENOSPC after %llu KiB (%s)", T, bq.through >> 10,
		      errname(err));
		check(!gerr && moved < STORE_BYTES,
		      "%s: the cleaner did not copy round and round: %llu KiB moved%s", T,
		      (unsigned long long)moved >> 10, why(gerr));
	}
	close(bfd);
	close(sfd);
	bfd = sfd = -1;
	/* Recovery finds the copies, not gaps. */
	err = store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL) ?:
	      store_req(MQ_CMD_STORE_ATTACH, dm_store.path, 0, NULL);
	sfd = err ? -1 : mqt_open(stuck.name, O_RDONLY | O_NONBLOCK);
	for (k = 0; sfd >= 0 && k < n; k++)
		if (!recv_one(sfd, stuck.tag, &g) || !g.intact || g.seq != k)
			bad++;
	check(!err && sfd >= 0 && !bad,
	      "%s: after detach and attach the %u backlog messages read back in order, intact (%u bad)%s",
	      T, n, bad, why(err));
	check(sfd >= 0 && !recv_one(sfd, stuck.tag, &g) && errno == EAGAIN, "%s: and only once",
	      T);
	if (full) {
		/* The space is back: the busy queue goes on. */
		bfd = mqt_open(busy.name, O_RDWR);
		bq.fd = bfd;
		bq.through = 0;
		err = bfd < 0 ? -errno : busy_run(&bq, STORE_BYTES);
		check(!err, "%s: once the backlog is read, 16 MiB more go through the busy queue%s",
		      T, why(err));
	}
out:
	if (sfd >= 0)
		close(sfd);
	if (bfd >= 0)
		close(bfd);
	mqt_del(&nl, stuck.name);
	mqt_del(&nl, busy.name);
	cleanup();
}

/* ---- small_backlog_busy_readers ---- */

#define T10_PAIRS	4	/* busy queues, a writer and a reader each */
#define T10_LEN		64

/*
 * A backlog of 3 MiB of 64-byte messages nobody reads (a segment of them
 * takes many commits to copy) and four busy queues, each a writer and a
 * reader in its own process, moving ten times the store between them:
 * readers log positions while the cleaner copies, and writers wait for
 * it side by side. No write may be refused, no copy may run out of room
 * ("moving segment ... failed"), and the backlog is all there after.
 */
static void test_small_backlog(void)
{
	static const char *const copy_failed[] = { "live messages failed" };
	const char *T = "small";
	const struct qdef stuck = { "mqlc-small", 'Q', MQ_DURABILITY_ASYNC };
	struct qdef busy[T10_PAIRS];
	char names[T10_PAIRS][32] = { { 0 } }, m[T10_LEN], got[T10_LEN + 1];
	pid_t kids[T10_PAIRS];
	uint32_t n = 0, k, bad = 0;
	int sfd = -1, kfd, err = 0, i, status, ok = 0;
	uint64_t st[MQ_SSTAT_MAX + 1] = { 0 };
	ssize_t r;

	if (!fresh_store(T, STORE_BYTES))
		goto out;
	err = queue_new(&stuck, 100000);
	for (i = 0; i < T10_PAIRS && !err; i++) {
		snprintf(names[i], sizeof(names[i]), "mqlc-busy%d", i);
		busy[i] = (struct qdef){ names[i], 'b' + i, MQ_DURABILITY_ASYNC };
		err = queue_new(&busy[i], 64);
	}
	sfd = err ? -1 : mqt_open(stuck.name, O_RDWR);
	if (!err && sfd < 0)
		err = -errno;
	for (; !err && n * (T10_LEN + 56ULL) < 3 * MIB; n++) {
		snprintf(m, sizeof(m), "small-%010u-%040u", n, n);
		err = write(sfd, m, T10_LEN) == T10_LEN ? 0 : -errno;
	}
	if (!check(!err, "%s: %u unread messages of %d bytes, and %d busy queues%s", T, n,
		   T10_LEN, T10_PAIRS, why(err)))
		goto out;
	kfd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kfd >= 0)
		lseek(kfd, 0, SEEK_END);
	for (i = 0; i < T10_PAIRS; i++) {
		kids[i] = fork();
		if (!kids[i]) {
			struct busy bq = { .tag = busy[i].tag };

			bq.fd = mqt_open(busy[i].name, O_RDWR);
			_exit(bq.fd < 0 ? 3 : busy_run(&bq, 10ULL * STORE_BYTES / T10_PAIRS) ? 1 : 0);
		}
	}
	for (i = 0; i < T10_PAIRS; i++)
		if (kids[i] > 0 && waitpid(kids[i], &status, 0) == kids[i] &&
		    WIFEXITED(status) && !WEXITSTATUS(status))
			ok++;
	err = store_req(MQ_CMD_STORE_GET, NULL, 0, st);
	check(ok == T10_PAIRS,
	      "%s: %d of %d busy queues moved %llu MiB each, no write refused; the cleaner moved %llu records",
	      T, ok, T10_PAIRS, (unsigned long long)(10ULL * STORE_BYTES / T10_PAIRS / MIB),
	      (unsigned long long)st[MQ_SSTAT_MOVED_RECORDS]);
	i = kfd >= 0 ? kmsg_hits(kfd, copy_failed, ARRAY_SIZE(copy_failed)) : -1;
	check(i == 0, "%s: no copy ran out of room (%d kernel warnings)", T, i);
	if (kfd >= 0)
		close(kfd);
	close(sfd);
	sfd = mqt_open(stuck.name, O_RDONLY | O_NONBLOCK);
	for (k = 0; k < n; k++) {
		snprintf(m, sizeof(m), "small-%010u-%040u", k, k);
		r = sfd < 0 ? -1 : read(sfd, got, sizeof(got));
		bad += r != T10_LEN || memcmp(got, m, T10_LEN);
	}
	check(!bad, "%s: the %u unread messages read back in order, intact (%u bad)", T, n, bad);
out:
	if (sfd >= 0)
		close(sfd);
	mqt_del(&nl, stuck.name);
	for (i = 0; i < T10_PAIRS; i++)
		if (names[i][0])
			mqt_del(&nl, names[i]);
	cleanup();
}

static void test_stuck_backlog(void)
{
	stuck_backlog(3 * MIB, false);	/* three segments' worth */
}

static void test_store_full(void)
{
	stuck_backlog(8 * MIB, true);	/* over three quarters of the log */
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "many_small_stuck_messages_are_moved", test_stuck_many },
	{ "other_queues_backlog_does_not_count", test_stuck_late },
	{ "stuck_queue_does_not_stop_others", test_stuck },
	{ "stuck_backlog_does_not_stop_others", test_stuck_backlog },
	{ "store_full_of_unread_is_enospc", test_store_full },
	{ "small_backlog_busy_readers", test_small_backlog },
	{ "failed_durable_create_no_orphan", test_failed_create },
	{ "detach_busy_check_races_open", test_detach_race },
	{ "stalled_device_does_not_block_get", test_stall },
	{ "unload_after_io_error_event", test_unload },
	{ "attach_exposes_unbound_queue", test_attach },	/* last: it may oops */
};

int main(int argc, char **argv)
{
	const char *modprobe[] = { "modprobe", "-a", "dm_delay", "dm_flakey", NULL };
	uint64_t bytes = 0;
	size_t i;
	int a, fd;

	if (argc < 2) {
		fprintf(stderr, "usage: lifecycle DEV [TEST...]   (DEV: a scratch disk: all is lost)\n");
		return 2;
	}
	disk = argv[1];
	signal(SIGPIPE, SIG_IGN);
	fd = open(disk, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ioctl(fd, BLKGETSIZE64, &bytes);
		close(fd);
	}
	for (a = 2; a < argc; a++) {
		for (i = 0; i < ARRAY_SIZE(tests); i++)
			if (!strcmp(argv[a], tests[i].name))
				break;
		if (i == ARRAY_SIZE(tests)) {
			fprintf(stderr, "lifecycle: no test %s\n", argv[a]);
			return 2;
		}
	}
	if (check(bytes >= STORE_BYTES, "setup: %s holds %llu MiB (%llu needed)", disk,
		  (unsigned long long)(bytes / MIB), (unsigned long long)(STORE_BYTES / MIB)) &&
	    check(!mqt_nl_open(&nl), "setup: the mq netlink family") &&
	    check(!run(false, modprobe), "setup: modprobe dm_delay dm_flakey")) {
		/* Left over from a run that was cut short. */
		store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
		for (i = 0; i < ARRAY_SIZE(dm_all); i++)
			dm_remove(dm_all[i], true);
		for (i = 0; i < ARRAY_SIZE(tests); i++) {
			bool want = argc == 2;

			for (a = 2; a < argc; a++)
				want |= !strcmp(argv[a], tests[i].name);
			if (want)
				tests[i].fn();
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
