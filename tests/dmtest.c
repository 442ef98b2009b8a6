// SPDX-License-Identifier: GPL-2.0
/*
 * The store on failing and crashing disks, with device-mapper.
 *
 *   dmtest DEV     DEV: a scratch disk of at least 104 MiB; all is lost
 *
 * flakey  dm-flakey over DEV: a store with a sync queue and acknowledged
 *         messages, then every write fails. A sync write gets EIO, the
 *         store says it is degraded (MQ_CMD_STORE_GET, an event on the
 *         "events" group, `mqctl store show`), later durable writes get
 *         EIO. Healed, the store detaches and attaches again with every
 *         acknowledged message once, intact, in order.
 * replay  dm-log-writes records a workload (format, attach, queues, sync
 *         and async writes, reads, a limit change, detach) with a mark
 *         before and after each step. The log is replayed, in order, onto
 *         a zeroed image; at every flush and FUA entry the image is copied
 *         to a scratch device and attached, and what the marks say was
 *         acknowledged by then is checked (the rules: check_queue()).
 *
 * stall   dm-linear over DEV, suspended: a sync writer leads a commit
 *         that cannot end, a second one sleeps behind it. SIGKILL ends
 *         the second at once; the leader waits in state D. Resumed, the
 *         leader's write is acknowledged, the store takes writes again,
 *         and the queue holds all three messages (the killed writer's
 *         too: it was queued), once each, intact, in order. Then the
 *         async flush is the commit stuck on the device: a sync writer
 *         waiting to lead the next one dies of SIGKILL at once too, and
 *         so does an async writer that filled the log buffer (8 MiB);
 *         resumed, the queue holds exactly what it was answered for.
 * catalog dm-error over each superblock and each catalog copy in turn:
 *         attach is refused with EIO, naming what it could not read, and
 *         nothing is attached; healed, the queue comes back whole.
 *
 * Output: "ok - ..." / "not ok - ..." lines, "# ..." comments, and last
 * "N passed, N failed"; exit status 0 only if nothing failed. Runs as
 * root with mq.ko loaded; needs dmsetup, dm_flakey and dm_log_writes, and
 * no udev (device nodes are made here). DEV's layout, in MiB: flakey
 * (then stall, then catalog) 0-16, data 16-28, log 28-92, scratch 92-104.
 */
#include <limits.h>
#include <poll.h>
#include <linux/fs.h>
#include <linux/mq_store.h>

#include "dmtest.h"

#define SEG_SIZE	(1U << 20)	/* the smallest: more segments, sooner full */
#define FLAKEY_OFF	0
#define FLAKEY_BYTES	(16 * MIB)
#define DATA_OFF	(16 * MIB)	/* the workload's store, under log-writes */
#define DATA_BYTES	(12 * MIB)
#define LOG_OFF		(28 * MIB)
#define LOG_BYTES	(64 * MIB)
#define SCRATCH_OFF	(92 * MIB)	/* a replayed image, attached */
#define DISK_BYTES	(SCRATCH_OFF + DATA_BYTES)

static struct dm_dev dm_flakey = { "mqdm-flakey" }, dm_data = { "mqdm-data" },
		     dm_log = { "mqdm-log" }, dm_lw = { "mqdm-lw" },
		     dm_scratch = { "mqdm-scratch" }, dm_stall = { "mqdm-stall" },
		     dm_cat = { "mqdm-cat" };
/* In the order they can be removed: what is stacked on others first. */
static struct dm_dev *const dm_all[] = {
	&dm_lw, &dm_flakey, &dm_data, &dm_log, &dm_scratch, &dm_stall, &dm_cat,
};

enum { QS, QA };	/* the replay's queues */
static const struct qdef qs[] = {
	[QS] = { "dmsync", 'S', MQ_DURABILITY_SYNC },
	[QA] = { "dmasync", 'A', MQ_DURABILITY_ASYNC },
};

static const struct qdef q_flakey = { "dmflakey", 'F', MQ_DURABILITY_SYNC };
static const struct qdef q_stall = { "dmstall", 'T', MQ_DURABILITY_SYNC };
static const struct qdef q_stall_async = { "dmstallasync", 'U',
					   MQ_DURABILITY_ASYNC };
static const struct qdef q_stall_fill = { "dmstallfill", 'V',
					  MQ_DURABILITY_ASYNC };
static const struct qdef q_late = { "dmlate", 'L', MQ_DURABILITY_SYNC };
static const struct qdef q_cat = { "dmcat", 'C', MQ_DURABILITY_SYNC };

/* ---- scenario 1: I/O errors with dm-flakey ---- */

#define FLAKEY_MSGS	24

static struct nl_sock *events_open(void)
{
	struct nl_sock *sk = nl_socket_alloc();
	int grp = -1;

	if (!sk)
		return NULL;
	if (!genl_connect(sk))
		grp = genl_ctrl_resolve_grp(sk, MQ_GENL_NAME, MQ_GENL_MCGRP_EVENTS);
	if (grp < 0 || nl_socket_add_membership(sk, grp)) {
		nl_socket_free(sk);
		return NULL;
	}
	nl_socket_disable_seq_check(sk);
	nl_socket_set_nonblocking(sk);
	return sk;
}

static int event_cb(struct nl_msg *msg, void *arg)
{
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *tb[MQ_A_MAX + 1];
	uint64_t st[MQ_SSTAT_MAX + 1];

	if (gh->cmd == MQ_CMD_STORE_GET &&
	    !genlmsg_parse(nlmsg_hdr(msg), 0, tb, MQ_A_MAX, NULL) &&
	    !store_numbers(tb[MQ_A_STORE_INFO], st) &&
	    st[MQ_SSTAT_STATE] == MQ_STORE_DEGRADED)
		*(bool *)arg = true;
	return NL_OK;
}

/* Has a MQ_CMD_STORE_GET event saying "degraded" come, within @ms? */
static bool event_degraded(struct nl_sock *sk, int ms)
{
	struct pollfd pfd = { .fd = nl_socket_get_fd(sk), .events = POLLIN };
	bool seen = false;

	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, event_cb, &seen);
	for (; !seen && ms > 0; ms -= 100)
		if (poll(&pfd, 1, 100) > 0)
			nl_recvmsgs_default(sk);
	return seen;
}

/* After the failure: every acknowledged message once, intact, in order. */
static bool flakey_verify(const struct got *got, int n, uint32_t acked,
			  uint32_t written)
{
	bool seen[FLAKEY_MSGS + 2] = { false }, good = true;
	uint32_t seq;
	int i;

	for (i = 0; i < n; i++) {
		const struct got *g = &got[i];

		if (!g->intact || g->seq >= written || seen[g->seq] ||
		    (g->seq < acked && g->offset != g->seq) ||
		    (i && (g->seq <= got[i - 1].seq ||
			   g->offset <= got[i - 1].offset))) {
			note("flakey: offset %llu: %s message %d", (unsigned long long)g->offset,
			     g->intact ? "misplaced" : "corrupt", (int)g->seq);
			good = false;
			continue;
		}
		seen[g->seq] = true;
		if (g->seq >= acked)
			note("flakey: unacknowledged message %u is back, intact", g->seq);
	}
	for (seq = 0; seq < acked; seq++) {
		if (!seen[seq]) {
			note("flakey: acknowledged message %u lost", seq);
			good = false;
		}
	}
	return good;
}

static void scenario_flakey(const char *dev)
{
	const unsigned long long sectors = FLAKEY_BYTES >> 9;
	struct got got[FLAKEY_MSGS + 8];
	uint64_t st[MQ_SSTAT_MAX + 1];
	struct mq_info info = { 0 };
	struct nl_sock *ev = NULL;
	char table[256], out[4096];
	uint32_t acked = 0;
	int fd = -1, err, n;

	note("scenario 1: I/O errors (dm-flakey over %s)", dev);
	if (!check(dm_create(&dm_flakey, "0 %llu flakey %s %llu 1 0", sectors,
			     dev, (unsigned long long)FLAKEY_OFF >> 9),
		   "flakey: dm-flakey device, always up"))
		goto out;
	err = store_req(MQ_CMD_STORE_FORMAT, dm_flakey.path, SEG_SIZE, NULL) ?:
	      store_req(MQ_CMD_STORE_ATTACH, dm_flakey.path, 0, NULL) ?:
	      queue_new(&q_flakey, 10000);
	if (!check(!err, "flakey: store formatted and attached, sync queue made%s",
		   why(err)))
		goto out;
	ev = events_open();
	check(ev, "flakey: subscribed to the events group");
	fd = mqt_open(q_flakey.name, O_WRONLY);
	while (fd >= 0 && acked < FLAKEY_MSGS &&
	       !msg_write(fd, q_flakey.tag, acked))
		acked++;
	if (!check(acked == FLAKEY_MSGS, "flakey: %u of %d sync writes acknowledged",
		   acked, FLAKEY_MSGS))
		goto out;

	snprintf(table, sizeof(table), "0 %llu flakey %s %llu 0 1 1 error_writes",
		 sectors, dev, (unsigned long long)FLAKEY_OFF >> 9);
	if (!check(dm_swap(&dm_flakey, table), "flakey: table now fails every write"))
		goto out;
	err = msg_write(fd, q_flakey.tag, acked);
	check(err == -EIO, "flakey: a sync write fails with EIO (%s)",
	      err ? strerror(-err) : "it succeeded");
	err = store_req(MQ_CMD_STORE_GET, NULL, 0, st);
	check(!err && st[MQ_SSTAT_STATE] == MQ_STORE_DEGRADED &&
	      st[MQ_SSTAT_IO_ERRORS] > 0,
	      "flakey: MQ_CMD_STORE_GET says degraded (state %llu, io-errors %llu)",
	      (unsigned long long)st[MQ_SSTAT_STATE],
	      (unsigned long long)st[MQ_SSTAT_IO_ERRORS]);
	check(ev && event_degraded(ev, 3000),
	      "flakey: an MQ_CMD_STORE_GET event on \"events\" said degraded");
	err = msg_write(fd, q_flakey.tag, acked + 1);
	check(err == -EIO, "flakey: the next sync write fails with EIO too (%s)",
	      err ? strerror(-err) : "it succeeded");
	err = queue_new(&q_late, 100);
	check(err == -EIO, "flakey: a new durable queue is refused with EIO (%s)",
	      err ? strerror(-err) : "it was made");
	check(!capture("mqctl store show 2>&1", out, sizeof(out)) &&
	      strstr(out, "degraded"), "flakey: mqctl store show says degraded");

	snprintf(table, sizeof(table), "0 %llu flakey %s %llu 1 0", sectors,
		 dev, (unsigned long long)FLAKEY_OFF >> 9);
	if (!check(dm_swap(&dm_flakey, table), "flakey: table healthy again"))
		goto out;
	close(fd);
	fd = -1;
	err = store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
	check(!err, "flakey: the degraded store detaches%s", why(err));
	err = store_req(MQ_CMD_STORE_ATTACH, dm_flakey.path, 0, NULL) ?:
	      store_req(MQ_CMD_STORE_GET, NULL, 0, st);
	if (!check(!err && st[MQ_SSTAT_STATE] == MQ_STORE_OK,
		   "flakey: attached again, state ok%s", why(err)))
		goto out;
	note("flakey: recovered %llu messages, clean %llu",
	     (unsigned long long)st[MQ_SSTAT_RECOVERED_MSGS],
	     (unsigned long long)st[MQ_SSTAT_CLEAN]);
	n = drain(&q_flakey, got, ARRAY_SIZE(got));
	check(n >= 0 && flakey_verify(got, n, acked, acked + 2),
	      "flakey: all %u acknowledged messages back once each, intact, in order (%d read)",
	      acked, n);
	fd = mqt_open(q_flakey.name, O_WRONLY);
	err = fd < 0 ? -errno : mqt_info(fd, &info) ?:
				msg_write(fd, q_flakey.tag, acked + 2);
	check(!err, "flakey: the store takes sync writes again%s", why(err));
	note("flakey: the next message got offset %llu (the failed writes had %u and %u)",
	     (unsigned long long)info.tail_offset, acked, acked + 1);
out:
	if (fd >= 0)
		close(fd);
	if (ev)
		nl_socket_free(ev);
	store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
	dm_remove(&dm_flakey, false);
}

/* ---- scenario 2: the workload under dm-log-writes ---- */

enum ev_kind { EV_FORMAT, EV_ATTACH, EV_QNEW, EV_WRITE, EV_READ, EV_SET, EV_DETACH };
static const char *const ev_names[] = {
	"format", "attach", "queue new", "write", "read", "set", "detach",
};

/*
 * A step of the workload. Its marks "sK" and "dK" (K: its index) go to
 * the log before it starts and after it returned; start and done are the
 * indexes of those log entries (LONG_MAX: not in the log).
 */
struct ev {
	enum ev_kind kind;
	int q;			/* EV_QNEW, EV_WRITE, EV_READ, EV_SET */
	uint32_t seq;		/* EV_WRITE, EV_READ: the message */
	long start, done;
};

#define MAX_EV		256
#define MAX_SEQ		64
#define SYNC_WRITES	40
#define CAP_OLD		10000	/* cap-msgs of QS, then EV_SET makes it */
#define CAP_NEW		5000

static struct workload {
	struct ev ev[MAX_EV];
	int nev;
	int write_ev[2][MAX_SEQ], read_ev[2][MAX_SEQ];	/* ev index, or -1 */
	uint32_t written[2], read[2];
	int fd[2];
} wl;

static void close_queues(void)
{
	int q;

	for (q = QS; q <= QA; q++) {
		if (wl.fd[q] >= 0)
			close(wl.fd[q]);
		wl.fd[q] = -1;
	}
}

static bool step(enum ev_kind kind, int q)
{
	uint32_t seq = kind == EV_READ ? wl.read[q] : wl.written[q];
	int k = wl.nev, err;
	struct got g;

	if (k == MAX_EV || seq >= MAX_SEQ)
		return false;
	wl.ev[k] = (struct ev){ kind, q, seq, LONG_MAX, LONG_MAX };
	err = dm_mark(&dm_lw, "s%d", k);
	wl.nev++;
	switch (kind) {
	case EV_FORMAT:
		err = err ?: store_req(MQ_CMD_STORE_FORMAT, dm_lw.path, SEG_SIZE, NULL);
		break;
	case EV_ATTACH:
		err = err ?: store_req(MQ_CMD_STORE_ATTACH, dm_lw.path, 0, NULL);
		break;
	case EV_QNEW:
		err = err ?: queue_new(&qs[q], CAP_OLD);
		wl.fd[q] = err ? -1 : mqt_open(qs[q].name, O_RDWR);
		if (!err && wl.fd[q] < 0)
			err = -errno;
		break;
	case EV_WRITE:
		wl.write_ev[q][seq] = k;
		err = err ?: msg_write(wl.fd[q], qs[q].tag, seq);
		wl.written[q] += !err;
		break;
	case EV_READ:
		wl.read_ev[q][seq] = k;
		if (!err && !recv_one(wl.fd[q], qs[q].tag, &g))
			err = -errno;
		else if (!err && (!g.intact || g.seq != seq || g.offset != seq))
			err = -EBADMSG;
		wl.read[q] += !err;
		break;
	case EV_SET:
		err = err ?: mqt_set_u32(&nl, qs[q].name, MQ_A_QUEUE_CAP_MSGS,
					 CAP_NEW, NULL);
		break;
	case EV_DETACH:
		close_queues();
		err = err ?: store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
		break;
	}
	err = err ?: dm_mark(&dm_lw, "d%d", k);
	if (err)
		note("workload: step %d (%s %s %u):%s", k, ev_names[kind],
		     kind == EV_FORMAT || kind == EV_ATTACH || kind == EV_DETACH ?
		     "-" : qs[q].name, seq, why(err));
	return !err;
}

static bool workload(void)
{
	int i;

	memset(wl.write_ev, -1, sizeof(wl.write_ev));
	memset(wl.read_ev, -1, sizeof(wl.read_ev));
	wl.fd[QS] = -1;
	wl.fd[QA] = -1;
	if (!step(EV_FORMAT, 0) || !step(EV_ATTACH, 0) ||
	    !step(EV_QNEW, QS) || !step(EV_QNEW, QA))
		return false;
	for (i = 0; i < SYNC_WRITES; i++) {
		if (!step(EV_WRITE, QS) ||
		    (i % 4 == 1 && !step(EV_WRITE, QA)) ||
		    (i % 6 == 5 && !step(EV_READ, QS)) ||
		    (i % 13 == 12 && !step(EV_READ, QA)) ||
		    (i == SYNC_WRITES / 2 && !step(EV_SET, QS)))
			return false;
	}
	return step(EV_WRITE, QA) && step(EV_DETACH, 0);
}

/*
 * The log, as drivers/md/dm-log-writes.c (6.1) writes it (little-endian;
 * there is no uapi header). Sector 0: the super. Then nr_entries entries, each one
 * log sector (struct lw_entry, then a mark's text) followed by the
 * nr_sectors written (none for a discard). Sectors are sectorsize bytes,
 * the logical block size of the logged device; entry sectors count them.
 */
#define LW_MAGIC	0x6a736677736872ULL
#define LW_FLUSH	(1 << 0)
#define LW_FUA		(1 << 1)
#define LW_DISCARD	(1 << 2)
#define LW_MARK		(1 << 3)

struct lw_super {
	uint64_t magic;
	uint64_t version;
	uint64_t nr_entries;
	uint32_t sectorsize;
};

struct lw_entry {
	uint64_t sector;
	uint64_t nr_sectors;
	uint64_t flags;
	uint64_t data_len;
};

struct log {
	unsigned char *buf;	/* the log region, read as far as needed */
	uint64_t have;
	uint32_t ss;		/* sectorsize */
	long n;			/* entries */
	uint64_t *at;		/* byte offset of each entry in buf */
};

static int log_need(struct log *log, uint64_t end)
{
	uint64_t want = (end + 4 * MIB - 1) & ~(4 * MIB - 1);
	int err;

	if (end <= log->have)
		return 0;
	if (end > LOG_BYTES)
		return -ERANGE;
	if (want > LOG_BYTES)
		want = LOG_BYTES;
	err = disk_io(false, LOG_OFF + log->have, log->buf + log->have,
		      want - log->have);
	if (!err)
		log->have = want;
	return err;
}

static const struct lw_entry *log_entry(const struct log *log, long i)
{
	return (const struct lw_entry *)(log->buf + log->at[i]);
}

/* Read the log, index its entries, and note where each mark is. */
static int log_read(struct log *log)
{
	const struct lw_super *sb = (void *)log->buf;
	const struct lw_entry *e;
	uint64_t pos;
	char text[64];
	int k, len;
	long i;

	if (log_need(log, 4096))
		return -EIO;
	if (sb->magic != LW_MAGIC || sb->version != 1 || sb->sectorsize < 512 ||
	    sb->sectorsize > 4096 || (sb->sectorsize & (sb->sectorsize - 1)) ||
	    !sb->nr_entries || sb->nr_entries > LOG_BYTES / 512) {
		note("log: bad super (magic %llx, version %llu, %llu entries)",
		     (unsigned long long)sb->magic, (unsigned long long)sb->version,
		     (unsigned long long)sb->nr_entries);
		return -EUCLEAN;
	}
	log->ss = sb->sectorsize;
	log->n = sb->nr_entries;
	log->at = calloc(log->n, sizeof(*log->at));
	if (!log->at)
		return -ENOMEM;
	for (i = 0, pos = log->ss; i < log->n; i++) {
		if (log_need(log, pos + log->ss))
			return -ERANGE;
		log->at[i] = pos;
		e = log_entry(log, i);
		if (e->data_len && (!(e->flags & LW_MARK) ||
				    e->data_len > log->ss - sizeof(*e)))
			return -EUCLEAN;	/* inline data: not written by 6.1 */
		if (e->flags & LW_MARK) {
			snprintf(text, sizeof(text), "%.*s", (int)e->data_len,
				 (const char *)(e + 1));
			if (sscanf(text, "s%d%n", &k, &len) == 1 && !text[len] &&
			    k >= 0 && k < wl.nev)
				wl.ev[k].start = i;
			else if (sscanf(text, "d%d%n", &k, &len) == 1 &&
				 !text[len] && k >= 0 && k < wl.nev)
				wl.ev[k].done = i;
		}
		pos += log->ss;
		if (!(e->flags & LW_DISCARD))
			pos += e->nr_sectors * log->ss;
		if (e->sector + e->nr_sectors > DATA_BYTES / log->ss ||
		    log_need(log, pos))
			return -ERANGE;
	}
	return 0;
}

/* What a replay point can be wrong about; each a line of the report. */
enum { F_ATTACH, F_ACKED, F_ORDER, F_BOGUS, F_CATALOG, F_REDELIVERED, F_FINAL, F__N };
static const char *const f_what[F__N] = {
	[F_ATTACH] = "attach and detach work, but before format made a superblock (EMEDIUMTYPE)",
	[F_ACKED] = "every acknowledged sync message is back",
	[F_ORDER] = "log order: no holes, async messages before an acked sync write are back",
	[F_BOGUS] = "no corrupt, duplicated or never-written message, offsets as written",
	[F_CATALOG] = "queues and limit changes there exactly when acknowledged",
	[F_REDELIVERED] = "messages read before the point come back flagged MQ_MSG_REDELIVERED",
	[F_FINAL] = "after the final detach: clean, nothing flagged, read messages gone",
};

static int f_count[F__N];

/* How often the rules above found something to check, and it held. */
static struct {
	long acked;	/* acknowledged message back */
	long implied;	/* an unacknowledged one the log order required */
	long flagged;	/* a message read before, back flagged */
	uint64_t segments;	/* the most segments in use at an attach */
	uint64_t corrupt;	/* the most corrupt bytes skipped at one */
} cover;

/* Count a failure at the point at log entry @at; tell the first few. */
static void point_fail(int what, long at, const char *fmt, ...)
{
	char prefix[64];
	va_list ap;

	if (f_count[what]++ >= 3)
		return;
	snprintf(prefix, sizeof(prefix), "# point at log entry %ld: ", at);
	va_start(ap, fmt);
	vline(prefix, fmt, ap);
	va_end(ap);
}

/*
 * @e completed before the state at a point whose next point is @next.
 * dm-log-writes logs a write once it is stable (a plain one with the
 * flush after it, a FUA one when done) and marks as they come: only
 * marks stand between a point and a mark before the next point, so all
 * that the step made stable is in the state at the point.
 */
static bool done_by(const struct ev *e, long next)
{
	return e->done < next;
}

/* @e began before the state at point @at: it may have written to it. */
static bool started_by(const struct ev *e, long at)
{
	return e->start < at;
}

static const struct ev *find_ev(enum ev_kind kind, int q)
{
	int k;

	for (k = 0; k < wl.nev; k++)
		if (wl.ev[k].kind == kind && wl.ev[k].q == q)
			return &wl.ev[k];
	return NULL;
}

/* The last barrier (see check_queue()) done by a point, or -1. */
static int last_barrier(long next)
{
	int k, last = -1;

	for (k = 0; k < wl.nev; k++)
		if (((wl.ev[k].kind == EV_WRITE && wl.ev[k].q == QS) ||
		     wl.ev[k].kind == EV_DETACH) && done_by(&wl.ev[k], next))
			last = k;
	return last;
}

/*
 * What must hold for queue @q in the state at point @at (next point:
 * @next; final: the detach is done):
 * - the queue exists if its creation is done, and not if it has not
 *   started; its durability is right, its cap-msgs old or new likewise;
 * - every message read is intact, at the offset it was written at (one
 *   writer), was written (its write started), comes once, and the
 *   offsets have no hole (log order);
 * - a message is there unless a read of it had started, if its own sync
 *   write is done, or if it was written before the last "barrier" done
 *   (a sync write or the detach: a commit takes all that was appended);
 * - a message whose read was done comes back flagged MQ_MSG_REDELIVERED
 *   (a read waits for its lease to be stable) but after the final clean
 *   detach, where it is gone and nothing is flagged.
 */
static void check_queue(long at, long next, int q, bool final)
{
	const struct ev *qnew = find_ev(EV_QNEW, q), *set = find_ev(EV_SET, q);
	const char *name = qs[q].name;
	bool present[MAX_SEQ] = { false };
	int fd, n, i, barrier = last_barrier(next);
	static struct got got[MAX_SEQ + 8];
	struct mq_info info;
	uint32_t seq;

	fd = mqt_open(name, O_RDONLY);
	if (fd < 0) {
		if (done_by(qnew, next))
			point_fail(F_CATALOG, at, "queue %s missing", name);
		return;
	}
	if (!started_by(qnew, at))
		point_fail(F_CATALOG, at, "queue %s there before it was made", name);
	mqt_info(fd, &info);
	close(fd);
	if (info.durability != qs[q].durability ||
	    (set && done_by(set, next) && info.cap_msgs != CAP_NEW) ||
	    (set && !started_by(set, at) && info.cap_msgs != CAP_OLD))
		point_fail(F_CATALOG, at, "queue %s: durability %u, cap-msgs %u",
			   name, info.durability, info.cap_msgs);

	n = drain(&qs[q], got, ARRAY_SIZE(got));
	if (n < 0)
		point_fail(F_BOGUS, at, "reading %s: %s", name, strerror(-n));
	for (i = 0; i < n; i++) {
		const struct got *g = &got[i];
		int w = g->seq < MAX_SEQ ? wl.write_ev[q][g->seq] : -1;
		int r = g->seq < MAX_SEQ ? wl.read_ev[q][g->seq] : -1;

		if (!g->intact || g->offset != g->seq || w < 0 ||
		    !started_by(&wl.ev[w], at) || present[g->seq]) {
			point_fail(F_BOGUS, at, "%s offset %llu: %s message %d",
				   name, (unsigned long long)g->offset,
				   g->intact ? "unexpected" : "corrupt", (int)g->seq);
			continue;
		}
		if (i && g->offset != got[i - 1].offset + 1)
			point_fail(F_ORDER, at, "%s: hole before offset %llu",
				   name, (unsigned long long)g->offset);
		present[g->seq] = true;
		if (r >= 0 && done_by(&wl.ev[r], next) && !final) {
			if (g->flags & MQ_MSG_REDELIVERED)
				cover.flagged++;
			else
				point_fail(F_REDELIVERED, at, "%s message %u not flagged",
					   name, g->seq);
		}
		if (final && (g->flags || (r >= 0 && done_by(&wl.ev[r], next))))
			point_fail(F_FINAL, at, "%s message %u (flags %u) read before",
				   name, g->seq, g->flags);
	}
	for (seq = 0; seq < wl.written[q]; seq++) {
		int w = wl.write_ev[q][seq], r = wl.read_ev[q][seq];
		bool acked = q == QS && done_by(&wl.ev[w], next);

		if ((!acked && w >= barrier) || (r >= 0 && started_by(&wl.ev[r], at)))
			continue;	/* may be there or not */
		if (present[seq] && acked)
			cover.acked++;
		else if (present[seq])
			cover.implied++;
		else
			point_fail(acked ? F_ACKED : F_ORDER, at, "%s message %u missing%s",
				   name, seq, acked ? " (acknowledged)" : "");
	}
}

/*
 * Attach the image on the scratch device: the state at log entry @at (a
 * flush or FUA), whose next such entry is @next, and check it. @super:
 * the image has an mq superblock. Return: false if there was no store
 * yet (and that was allowed).
 */
static bool check_point(long at, long next, bool super)
{
	const struct ev *format = find_ev(EV_FORMAT, 0);
	const struct ev *detach = find_ev(EV_DETACH, 0);
	uint64_t st[MQ_SSTAT_MAX + 1];
	bool final = done_by(detach, next);
	int err, q;

	/*
	 * Format writes its superblock last, onto a zeroed region: until
	 * then attach finds no superblock; from then on it must work.
	 */
	err = store_req(MQ_CMD_STORE_ATTACH, dm_scratch.path, 0, NULL);
	if (err) {
		if (err == -EMEDIUMTYPE && !super && !done_by(format, next))
			return false;
		point_fail(F_ATTACH, at, "attach:%s", why(err));
		return true;
	}
	if (!super || !started_by(format, at))
		point_fail(F_ATTACH, at, "a store before the format wrote one");
	err = store_req(MQ_CMD_STORE_GET, NULL, 0, st);
	if (!err && st[MQ_SSTAT_CORRUPT_BYTES] > cover.corrupt)
		cover.corrupt = st[MQ_SSTAT_CORRUPT_BYTES];
	if (!err && st[MQ_SSTAT_SEGMENTS_USED] > cover.segments)
		cover.segments = st[MQ_SSTAT_SEGMENTS_USED];
	if (final && (err || st[MQ_SSTAT_CLEAN] != 1))
		point_fail(F_FINAL, at, "not clean after the detach");
	for (q = QS; q <= QA; q++)
		check_queue(at, next, q, final);
	err = store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
	if (err)
		point_fail(F_ATTACH, at, "detach:%s", why(err));
	return true;
}

static bool has_super(const unsigned char *img)
{
	return !memcmp(img, MQ_SUPER_MAGIC, 8) ||
	       !memcmp(img + MQ_STORE_BLOCK, MQ_SUPER_MAGIC, 8);
}

static bool is_point(const struct log *log, long i)
{
	return log_entry(log, i)->flags & (LW_FLUSH | LW_FUA);
}

/* Replay @log onto a zeroed image; check the store at every point. */
static void replay(const struct log *log)
{
	unsigned char *img = zalloc_aligned(DATA_BYTES);
	int points = 0, unformatted = 0, f, k;
	long i, next;

	for (k = 0; k < wl.nev; k++)
		if (wl.ev[k].start == LONG_MAX || wl.ev[k].done == LONG_MAX)
			break;
	if (!check(img && k == wl.nev, "replay: all %d steps' marks are in the log",
		   wl.nev))
		goto out;
	for (i = 0; i < log->n; i++) {
		const struct lw_entry *e = log_entry(log, i);
		unsigned char *to = img + e->sector * log->ss;

		if (e->flags & LW_DISCARD)
			memset(to, 0, e->nr_sectors * log->ss);
		else if (!(e->flags & LW_MARK))
			memcpy(to, (const char *)e + log->ss, e->nr_sectors * log->ss);
		if (!is_point(log, i))
			continue;
		for (next = i + 1; next < log->n && !is_point(log, next); next++)
			;
		if (disk_io(true, SCRATCH_OFF, img, DATA_BYTES)) {
			check(false, "replay: writing the scratch copy");
			goto out;
		}
		points++;
		unformatted += !check_point(i, next, has_super(img));
	}
	check(points > 0, "replay: %d flush/FUA points of %ld log entries %s (%d %s)",
	      points, log->n, "attached and checked", unformatted,
	      "before the store existed");
	note("replay: rules that found something to check, and held: %ld %s, %ld %s, %ld %s",
	     cover.acked, "acknowledged messages back", cover.implied,
	     "required by log order", cover.flagged, "read before and flagged");
	note("replay: up to %llu segments in use, up to %llu corrupt bytes skipped at an attach",
	     (unsigned long long)cover.segments, (unsigned long long)cover.corrupt);
	for (f = 0; f < F__N; f++)
		check(!f_count[f], "replay: %s%s", f_what[f],
		      f_count[f] ? " (see above)" : "");
out:
	free(img);
}

static void scenario_replay(const char *dev)
{
	struct log log = { 0 };
	char out[1024];
	bool ok;
	int err;

	note("scenario 2: crash points (dm-log-writes over %s)", dev);
	log.buf = zalloc_aligned(LOG_BYTES);
	/* The logged device starts zeroed, like the image it is replayed on. */
	err = !log.buf ? -ENOMEM :
	      disk_io(true, DATA_OFF, log.buf, DATA_BYTES) ?:
	      disk_io(true, LOG_OFF, log.buf, 4096);
	if (!check(!err && dm_create(&dm_data, "0 %llu linear %s %llu", DATA_BYTES >> 9,
				     dev, DATA_OFF >> 9) &&
		   dm_create(&dm_log, "0 %llu linear %s %llu", LOG_BYTES >> 9,
			     dev, LOG_OFF >> 9) &&
		   dm_create(&dm_scratch, "0 %llu linear %s %llu", DATA_BYTES >> 9,
			     dev, SCRATCH_OFF >> 9) &&
		   dm_create(&dm_lw, "0 %llu log-writes %s %s", DATA_BYTES >> 9,
			     dm_data.devno, dm_log.devno),
		   "replay: data, log and scratch regions, log-writes over data"))
		goto out;

	ok = workload();
	check(ok, "replay: workload of %u sync and %u async writes, %u and %u reads, %s",
	      wl.written[QS], wl.written[QA], wl.read[QS], wl.read[QA],
	      "a limit change, detach");
	if (!ok) {
		close_queues();
		store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
	}
	check(!capture("dmsetup status mqdm-lw", out, sizeof(out)) &&
	      !strstr(out, "logging_disabled"), "replay: log-writes logged every write");
	dm_remove(&dm_lw, false);
	if (!ok)
		goto out;
	err = log_read(&log);
	if (!check(!err, "replay: log read, %ld entries of %u bytes%s", log.n, log.ss,
		   why(err)))
		goto out;
	replay(&log);
out:
	free(log.at);
	free(log.buf);
}

/* ---- scenario 3: a device that stops answering ---- */

/* The state letter of task @pid (/proc/PID/stat), or 0. */
static char task_state(pid_t pid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_line(path, buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* Whether task @pid is in state D within @ms. */
static bool wait_state_d(pid_t pid, int ms)
{
	for (; ms > 0; ms -= 10) {
		if (task_state(pid) == 'D')
			return true;
		usleep(10 * 1000);
	}
	return false;
}

/* Reap child @pid within @ms into *@status; false if it has not ended. */
static bool reap(pid_t pid, int ms, int *status)
{
	for (; ms > 0; ms -= 10) {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return true;
		if (r < 0)
			return false;
		usleep(10 * 1000);
	}
	return false;
}

/* Whether child @pid, sent SIGKILL, dies of it within 5 s (reaped). */
static bool dies_of_sigkill(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	return reap(pid, 5000, &st) && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

/* A child that makes one sync write of message @seq to q_stall and exits
 * 0 if it was acknowledged. */
static pid_t stall_writer(uint32_t seq)
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	fd = mqt_open(q_stall.name, O_WRONLY);
	_exit(fd >= 0 && !msg_write(fd, q_stall.tag, seq) ? 0 : 1);
}

/*
 * A child that writes messages 0, 1, ... to q_stall_fill until one fails
 * or it is killed, and after each answered write sends its seq to @wfd.
 */
static pid_t stall_filler(int wfd)
{
	pid_t pid = fork();
	uint32_t seq;
	int fd;

	if (pid)
		return pid;
	fd = mqt_open(q_stall_fill.name, O_WRONLY);
	for (seq = 0; fd >= 0 && !msg_write(fd, q_stall_fill.tag, seq); seq++)
		if (write(wfd, &seq, sizeof(seq)) != sizeof(seq))
			break;
	_exit(1);
}

/*
 * Phase 3, on the suspended device: an async writer blocked on a full log
 * buffer can be killed.
 */
static void stall_fill(void)
{
	static struct got got[1024];
	uint32_t seq, acked = 0, before;
	int p[2], n, i, ms, still = 0, st;
	bool blocked = false, ok;
	pid_t pid;

	if (!check(!pipe(p), "stall: pipe"))
		return;
	pid = stall_filler(p[1]);
	close(p[1]);
	/* Blocked for good: in D, nothing answered for 200 ms (20 s at most). */
	for (ms = 0; pid > 0 && ms < 20000 && !blocked; ms += 50) {
		before = acked;
		while (ioctl(p[0], FIONREAD, &n) == 0 && n >= (int)sizeof(seq) &&
		       read(p[0], &seq, sizeof(seq)) == sizeof(seq))
			acked = seq + 1;
		if (waitpid(pid, &st, WNOHANG) == pid)
			pid = -1;	/* a write failed */
		else if (task_state(pid) == 'D' && acked == before)
			blocked = ++still >= 4;
		else
			still = 0;
		usleep(50 * 1000);
	}
	if (!check(blocked,
		   "stall: an async writer blocks once the log buffer is full (%u answered)",
		   acked)) {
		dmsetup(false, "resume", &dm_stall, NULL);
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		close(p[0]);
		return;
	}
	ok = check(dies_of_sigkill(pid), "stall: SIGKILL ends it");
	check(!dmsetup(false, "resume", &dm_stall, NULL),
	      "stall: device resumed a third time");
	if (!ok)
		waitpid(pid, NULL, 0);
	while (read(p[0], &seq, sizeof(seq)) == sizeof(seq))
		acked = seq + 1;
	close(p[0]);
	n = drain(&q_stall_fill, got, ARRAY_SIZE(got));
	for (i = 0; i < n; i++)
		if (got[i].seq != (uint32_t)i || !got[i].intact)
			break;
	check(acked > 0 && n == (int)acked && i == n,
	      "stall: the queue holds exactly the %u answered messages, intact, in order (%d read)",
	      acked, n);
}

static void scenario_stall(const char *dev)
{
	const unsigned long long sectors = FLAKEY_BYTES >> 9;
	pid_t lead = -1, behind = -1;
	bool suspended = false;
	struct got got[8];
	int fd, err, n, i, st;

	note("scenario 3: a device that stops answering (dm-linear over %s, suspended)",
	     dev);
	if (!check(dm_create(&dm_stall, "0 %llu linear %s %llu", sectors, dev,
			     (unsigned long long)FLAKEY_OFF >> 9),
		   "stall: dm-linear device"))
		goto out;
	err = store_req(MQ_CMD_STORE_FORMAT, dm_stall.path, SEG_SIZE, NULL) ?:
	      store_req(MQ_CMD_STORE_ATTACH, dm_stall.path, 0, NULL) ?:
	      queue_new(&q_stall, 100);
	if (!check(!err, "stall: store formatted and attached, sync queue made%s",
		   why(err)))
		goto out;
	suspended = !dmsetup(false, "suspend", &dm_stall, NULL);
	if (!check(suspended, "stall: device suspended: its I/O waits"))
		goto out;
	lead = stall_writer(0);
	if (!check(lead > 0 && wait_state_d(lead, 5000),
		   "stall: a sync writer leads a commit and waits for the device (state D)"))
		goto out;
	behind = stall_writer(1);
	if (!check(behind > 0 && wait_state_d(behind, 5000),
		   "stall: a second sync writer sleeps behind that commit"))
		goto out;
	if (check(dies_of_sigkill(behind),
		  "stall: SIGKILL ends the writer behind the stalled commit"))
		behind = -1;
	check(task_state(lead) == 'D', "stall: the leader still waits for its I/O");
	suspended = dmsetup(false, "resume", &dm_stall, NULL);
	if (!check(!suspended, "stall: device resumed"))
		goto out;
	if (check(reap(lead, 10000, &st) && WIFEXITED(st) && !WEXITSTATUS(st),
		  "stall: the leader's write is then acknowledged"))
		lead = -1;
	fd = mqt_open(q_stall.name, O_WRONLY);
	err = fd < 0 ? -errno : msg_write(fd, q_stall.tag, 2);
	if (fd >= 0)
		close(fd);
	check(!err, "stall: the store takes sync writes again%s", why(err));
	n = drain(&q_stall, got, ARRAY_SIZE(got));
	for (i = 0; i < n && i < 3; i++)
		if (got[i].seq != (uint32_t)i || !got[i].intact || got[i].flags)
			break;
	check(n == 3 && i == 3,
	      "stall: the queue holds messages 0, 1 (the killed writer's) and 2, intact, in order (%d read)",
	      n);

	/* Now the flush worker's commit is the one that cannot end. */
	err = queue_new(&q_stall_async, 100);
	fd = err ? -1 : mqt_open(q_stall_async.name, O_WRONLY);
	if (!check(fd >= 0, "stall: async queue made%s", why(err)))
		goto out;
	suspended = !dmsetup(false, "suspend", &dm_stall, NULL);
	if (!check(suspended, "stall: device suspended again")) {
		close(fd);
		goto out;
	}
	err = msg_write(fd, q_stall_async.tag, 0);
	close(fd);
	check(!err, "stall: an async write returns at once%s", why(err));
	usleep(300 * 1000);	/* the flush (every 50 ms) is now stuck */
	lead = stall_writer(3);
	if (!check(lead > 0 && wait_state_d(lead, 5000),
		   "stall: a sync writer waits to lead the next commit"))
		goto out;
	if (check(dies_of_sigkill(lead),
		  "stall: SIGKILL ends it while the async flush is stuck"))
		lead = -1;
	suspended = dmsetup(false, "resume", &dm_stall, NULL);
	if (!check(!suspended, "stall: device resumed again"))
		goto out;
	fd = mqt_open(q_stall.name, O_WRONLY);
	err = fd < 0 ? -errno : msg_write(fd, q_stall.tag, 4);
	if (fd >= 0)
		close(fd);
	check(!err, "stall: sync writes work again%s", why(err));
	n = drain(&q_stall, got, ARRAY_SIZE(got));
	check(n == 2 && got[0].seq == 3 && got[1].seq == 4 && got[0].intact &&
	      got[1].intact && got[0].offset == 3 && got[1].offset == 4,
	      "stall: messages 3 (the killed writer's) and 4 follow, intact, in order (%d read)",
	      n);
	n = drain(&q_stall_async, got, ARRAY_SIZE(got));
	check(n == 1 && got[0].seq == 0 && got[0].intact,
	      "stall: the async message is there, intact (%d read)", n);

	/* And a writer waiting for room in the log buffer. */
	err = queue_new(&q_stall_fill, 10000);
	if (!check(!err, "stall: async queue for the fill made%s", why(err)))
		goto out;
	suspended = !dmsetup(false, "suspend", &dm_stall, NULL);
	if (check(suspended, "stall: device suspended a third time"))
		stall_fill();
	suspended = false;	/* stall_fill() resumed it */
out:
	if (suspended)
		dmsetup(false, "resume", &dm_stall, NULL);
	for (i = 0; i < 2; i++) {
		pid_t pid = i ? behind : lead;

		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
	dm_remove(&dm_stall, false);
}

/*
 * ---- scenario 4: a superblock or catalog copy that cannot be read ----
 *
 * Attach takes the newer valid copy, and passes over one that reads back
 * damaged (a torn write). One that cannot be read at all may be the
 * newer (a catalog whose save gave segments back, a superblock saying
 * the store is in use): attach must refuse, not take the older in its
 * place. dm-error over each copy in turn.
 */
#define CAT_MSGS	3

/*
 * @why: what the refusal must name. dm-error fails writes too, so a
 * module that took the other superblock still failed, later, writing
 * the next one: the reason tells the two apart.
 */
static const struct {
	const char *what, *why;
	unsigned long long at, len;	/* bytes */
} meta_copies[] = {
	{ "superblock 0", "superblocks", 0, MQ_STORE_BLOCK },
	{ "superblock 1", "superblocks", MQ_STORE_BLOCK, MQ_STORE_BLOCK },
	{ "catalog copy 0", "catalog", MQ_CAT_OFFSET, MQ_CAT_BYTES },
	{ "catalog copy 1", "catalog", MQ_CAT_OFFSET + MQ_CAT_BYTES,
	  MQ_CAT_BYTES },
};

static void scenario_catalog(const char *dev)
{
	const unsigned long long sectors = FLAKEY_BYTES >> 9,
		off = FLAKEY_OFF >> 9;
	unsigned long long at, len, pos;
	struct got got[CAT_MSGS + 2];
	char table[512];
	int fd, err, n;
	bool named;
	size_t c, k;
	uint32_t i;

	note("scenario 4: a superblock or catalog copy that cannot be read (dm-error over it)");
	if (!check(dm_create(&dm_cat, "0 %llu linear %s %llu", sectors, dev, off),
		   "catalog: dm-linear device"))
		goto out;
	err = store_req(MQ_CMD_STORE_FORMAT, dm_cat.path, SEG_SIZE, NULL) ?:
	      store_req(MQ_CMD_STORE_ATTACH, dm_cat.path, 0, NULL) ?:
	      queue_new(&q_cat, 100);
	if (!check(!err, "catalog: store formatted and attached, sync queue made%s",
		   why(err)))
		goto out;
	fd = mqt_open(q_cat.name, O_WRONLY);
	for (i = 0, err = fd < 0 ? -errno : 0; !err && i < CAT_MSGS; i++)
		err = msg_write(fd, q_cat.tag, i);
	if (fd >= 0)
		close(fd);
	err = err ?: store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
	if (!check(!err, "catalog: %d messages written, store detached%s",
		   CAT_MSGS, why(err)))
		goto out;
	for (c = 0; c < ARRAY_SIZE(meta_copies); c++) {
		at = meta_copies[c].at >> 9;
		len = meta_copies[c].len >> 9;
		k = 0;
		if (at)
			k = snprintf(table, sizeof(table),
				     "0 %llu linear %s %llu\n", at, dev, off);
		if (k >= sizeof(table))
			goto out;
		pos = at + len;
		snprintf(table + k, sizeof(table) - k,
			 "%llu %llu error\n%llu %llu linear %s %llu", at, len,
			 pos, sectors - pos, dev, off + pos);
		if (!check(dm_swap(&dm_cat, table),
			   "catalog: %s now fails every read", meta_copies[c].what))
			goto out;
		err = store_req(MQ_CMD_STORE_ATTACH, dm_cat.path, 0, NULL);
		named = strstr(last_extack, meta_copies[c].why);
		check(err == -EIO && named,
		      "catalog: %s unreadable: attach refused with EIO, reading the %s%s",
		      meta_copies[c].what, meta_copies[c].why,
		      err ? why(err) : " (it attached)");
		if (!err)
			store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
		fd = mqt_open(q_cat.name, O_RDONLY);
		check(fd < 0 && errno == ENOENT,
		      "catalog: and the queue is not there (%s)",
		      fd < 0 ? strerror(errno) : "it opened");
		if (fd >= 0)
			close(fd);
	}
	snprintf(table, sizeof(table), "0 %llu linear %s %llu", sectors, dev, off);
	if (!check(dm_swap(&dm_cat, table), "catalog: table healthy again"))
		goto out;
	err = store_req(MQ_CMD_STORE_ATTACH, dm_cat.path, 0, NULL);
	if (!check(!err, "catalog: attached%s", why(err)))
		goto out;
	n = drain(&q_cat, got, ARRAY_SIZE(got));
	check(n == CAT_MSGS && flakey_verify(got, n, CAT_MSGS, CAT_MSGS),
	      "catalog: the %d messages back once each, intact, in order (%d read)",
	      CAT_MSGS, n);
out:
	store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
	dm_remove(&dm_cat, false);
}

int main(int argc, char **argv)
{
	const char *modprobe[] = { "modprobe", "-a", "dm_flakey", "dm_log_writes", NULL };
	uint64_t bytes = 0;
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: dmtest DEV   (a scratch disk: all is lost)\n");
		return 2;
	}
	disk_fd = open(argv[1], O_RDWR | O_DIRECT | O_CLOEXEC);
	if (disk_fd >= 0)
		ioctl(disk_fd, BLKGETSIZE64, &bytes);
	if (check(bytes >= DISK_BYTES, "setup: %s holds %llu MiB (%llu needed)", argv[1],
		  (unsigned long long)(bytes / MIB),
		  (unsigned long long)(DISK_BYTES / MIB)) &&
	    check(!mqt_nl_open(&nl), "setup: the mq netlink family") &&
	    check(!run(false, modprobe), "setup: modprobe dm_flakey dm_log_writes")) {
		/* Left over from a run that was cut short. */
		store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
		for (i = 0; i < ARRAY_SIZE(dm_all); i++)
			dm_remove(dm_all[i], true);
		scenario_flakey(argv[1]);
		scenario_replay(argv[1]);
		scenario_stall(argv[1]);
		scenario_catalog(argv[1]);
		store_req(MQ_CMD_STORE_DETACH, NULL, 0, NULL);
		for (i = 0; i < ARRAY_SIZE(dm_all); i++)
			if (dm_all[i]->live)
				dm_remove(dm_all[i], false);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
