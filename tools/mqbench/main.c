// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: compare message throughput of /dev/mq with other IPC mechanisms,
 * and of durable /dev/mq queues with the raw disk and redis, in one run.
 * See --help, and mqbench.h for how to add a mechanism.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/mq.h>

#include "mqbench.h"

/*
 * Order is column order within each table (mech_ops.table); in the IPC
 * table the first selected one is the ratio base. The ring mechanisms
 * (mech_ops.rings) run in the IPC table's cells but have their own table,
 * next to devmq.
 */
static const struct mech_ops *const mechs[] = {
	&mech_devmq,
	&mech_posix_mq,
	&mech_pipe,
	&mech_unix_seqpacket,
	&mech_mq_ring,
	&mech_shm_ring,
	&mech_raw_disk,
	&mech_devmq_async,
	&mech_devmq_sync,
	&mech_redis_aof,
};

#define NMECHS	ARRAY_SIZE(mechs)

static const char *const table_names[NTABLES] = {
	[TABLE_IPC] = "IPC",
	[TABLE_DURABLE] = "durable",
};

#define MAX_REPS	25
/* First calibration run, in total: durable mechanisms can be slow. */
static const unsigned long cal_start_msgs[NTABLES] = {
	[TABLE_IPC] = 2000,
	[TABLE_DURABLE] = 200,
};

#define MIN_MSGS	100UL		/* per producer */
#define MAX_MSGS	100000000UL	/* per producer */

enum {
	EXIT_USAGE = 1,
	EXIT_UNAVAILABLE = 2,
	EXIT_RUN_FAILED = 3,
};

enum cell_state { CELL_NOT_RUN, CELL_OK, CELL_NA, CELL_FAILED, CELL_BLANK };

struct result {
	enum cell_state state;
	double rate;			/* median of runs[] */
	double runs[MAX_REPS];
	int nruns;
	unsigned long per_producer;
	double metric[MQBENCH_MAX_METRICS];	/* medians of mruns[] */
	double mruns[MQBENCH_MAX_METRICS][MAX_REPS];
	double share_min, share_max;	/* medians of the consumer spread */
	double smin_runs[MAX_REPS], smax_runs[MAX_REPS];
	bool have_latency;
	bool latency_failed;		/* the cell's throughput still counts */
	struct latency_result lat;
	const char *why;		/* CELL_NA: the reason */
};

const struct bench_opts *bench_opts;

static struct bench_opts opts = {
	.depth = 256,
	.duration = 1.0,
	.reps = 5,
	.timeout = 120.0,
	.latency_msgs = 2000,
	.batch = 256,
	.ring_msgs = 4096,
};

/* The size of the latency runs (the IPC table's smallest); 0: none. */
static size_t latency_size;

static bool selected[NMECHS];
static bool plan_only;		/* --plan */
static bool only_given;
static bool prepared[NMECHS];
static struct result results[NTABLES][MQBENCH_MAX_SIZES][MQBENCH_MAX_PAIRS][NMECHS];
static unsigned int cell_seq;

static void usage(FILE *out)
{
	unsigned int i;

	fprintf(out,
"Usage: %s [OPTIONS]\n"
"\n"
"Compare message throughput (messages/s) of IPC mechanisms in one run:\n"
"producers and consumers are separate processes sharing one queue; each\n"
"producer sends N messages of SIZE bytes carrying (producer, sequence),\n"
"consumers check that every message arrives exactly once.\n"
"\n"
"With --store, --disk or --redis-dir a second table compares durable\n"
"/dev/mq queues with the disk under them and with redis (run it on a\n"
"machine whose disk you can spare: --store and --disk are overwritten).\n"
"\n"
"IPC mechanisms:\n"
"  devmq           /dev/mq/NAME: one write() per message, one read() per\n"
"                  message; a queue per cell, made over generic netlink\n"
"  posix-mq        POSIX mqueue, mq_send()/mq_receive()\n"
"  pipe            one pipe; packet mode (O_DIRECT) up to PIPE_BUF, above it\n"
"                  only 1x1 (the consumer reads exactly SIZE bytes)\n"
"  unix-seqpacket  socketpair(AF_UNIX, SOCK_SEQPACKET), SO_SNDBUF sized for\n"
"                  the depth\n"
"  mq-ring         /dev/mq/NAME through libmq's mmap'd rings: each producer\n"
"                  an fd with a TX ring (mq_ring_reserve() per message,\n"
"                  mq_ring_submit() per --batch messages), each consumer an\n"
"                  fd with an RX ring (read in place: mq_ring_peek(),\n"
"                  mq_ring_release(); mq_ring_wait() when empty), one queue;\n"
"                  the kernel spreads batches over the consumers' rings\n"
"  shm-ring        the baseline without mq: a single-producer\n"
"                  single-consumer ring in shared memory per producer and\n"
"                  consumer pair (PxC: P independent pairs, P == C), tail\n"
"                  published per --batch messages, an eventfd wakes a side\n"
"                  only if it said it sleeps\n"
"  mq-ring and shm-ring have their own table, next to devmq, with the\n"
"  ratios mq-ring/devmq and mq-ring/shm-ring and how evenly the consumers\n"
"  shared the messages.\n"
"\n"
"Durable mechanisms:\n"
"  raw-disk        the disk under the store: one writer, sequential 4 KiB\n"
"                  O_DIRECT pwrite() on --disk at queue depth 1 and one\n"
"                  fdatasync() per run (msgs/s counts 4 KiB writes; measured\n"
"                  once, in the first 4096 B row); flush latency, a 4 KiB\n"
"                  write then fdatasync() timed; and MB/s in 1 MiB writes\n"
"  devmq-async     as devmq, on a queue with durability async in the mq\n"
"                  store that mqbench formats and attaches on --store\n"
"  devmq-sync      the same with durability sync: write() returns once the\n"
"                  message is on stable storage\n"
"  redis-aof       redis-server (appendonly yes, appendfsync always) with\n"
"                  its dir in --redis-dir, driven by redis-benchmark: P\n"
"                  clients doing LPUSH of SIZE-byte values\n"
"  A durable mechanism that cannot run (no device given, no store support\n"
"  in the kernel, no redis-server) shows \"n/a\" with the reason.\n"
"\n"
"Options:\n"
"  --only MECH[,MECH...]  mechanisms to run (default: the IPC ones, and the\n"
"                         durable ones when --store, --disk or --redis-dir\n"
"                         is given)\n"
"  --sizes N[,N...]       message sizes in bytes, k suffix allowed\n"
"                         (default: 64,1024,16384; at least %d)\n"
"  --pairs PxC[,PxC...]   producers x consumers (default: 1x1,4x4)\n"
"  --durable-sizes N[,N...]  the same for the durable table (default:\n"
"                         4096,64)\n"
"  --durable-pairs PxC[,PxC...]  (default: 1x1,4x1,16x1)\n"
"  --store DEV            block device for the mq store, formatted (its\n"
"                         contents destroyed) and detached at exit\n"
"  --disk DEV             scratch block device for raw-disk, on the same\n"
"                         disk as DEV of --store (its contents destroyed)\n"
"  --redis-dir DIR        redis-server's dir, on a filesystem on that disk\n"
"  --cleaner DEV          after the tables, format a small store on DEV\n"
"                         (its contents destroyed; 32 MiB or so is plenty)\n"
"                         and move ten times its size through one async\n"
"                         queue, alone, beside a queue holding one\n"
"                         unread message, and beside one holding a\n"
"                         backlog of a tenth of the store: the cost of a\n"
"                         queue that does not move, and the store\n"
"                         cleaner's copying\n"
"  --depth D              queue depth in messages, the same for every\n"
"                         mechanism (default: %u)\n"
"  --duration SEC         target length of each measured run; the message\n"
"                         count is calibrated per cell (default: %.1f)\n"
"  --msgs N               send exactly N messages per producer instead\n"
"  --reps R               measured runs per cell; the median is reported\n"
"                         (default: %d)\n"
"  --timeout SEC          kill a run that takes longer (default: %.0f)\n"
"  --latency-msgs N       in the IPC table's smallest size with 1x1, also\n"
"                         time N single messages, one in flight, per\n"
"                         mechanism: p50 and p99 from the producer's clock\n"
"                         before send to the consumer's after recv\n"
"                         (CLOCK_MONOTONIC); 0: not (default: %lu)\n"
"  --batch N              mq-ring and shm-ring producers publish (submit) at\n"
"                         most every N messages, and when the ring is full\n"
"                         (default: %u)\n"
"  --ring-msgs N          mq-ring and shm-ring rings (each TX and RX ring of\n"
"                         mq-ring, each shm-ring) hold at least N messages\n"
"                         of the cell's size: a power of two bytes, the same\n"
"                         for both (default: %u; the queue keeps --depth)\n"
"  --json FILE            also write the results as a JSON array of\n"
"                         {\"mechanism\", \"msg_bytes\", \"producers\",\n"
"                         \"consumers\", \"msgs_per_sec\"}. Durable rows add\n"
"                         \"mb_per_sec\" (payload), and: raw-disk (1 producer,\n"
"                         0 consumers) \"flush_us_mean\", \"flush_us_p99\",\n"
"                         \"write_flush_per_sec\", \"mb_per_sec_1m_writes\";\n"
"                         devmq-async and devmq-sync \"msgs_per_flush\" (per\n"
"                         store commit); redis-aof has 0 consumers. A cell\n"
"                         that could not be measured (n/a) has\n"
"                         \"msgs_per_sec\": null and \"na\": the reason.\n"
"                         IPC rows with more than one consumer add\n"
"                         \"consumer_share_min\" and \"consumer_share_max\"\n"
"                         (fractions of the messages; even: 1/C); rows with\n"
"                         latency runs \"latency_us_p50\", \"latency_us_p99\",\n"
"                         \"latency_msgs\"; mq-ring rows \"tx_direct_pct\" (%%\n"
"                         of the messages handed straight from a TX ring to\n"
"                         an RX ring, not through the queue)\n"
"  --plan                 print the cells the other options select, one line\n"
"                         each: the options that run that cell alone\n"
"                         (--only, --sizes and --pairs or their durable\n"
"                         counterparts, and --latency-msgs 0 where no\n"
"                         latency is measured), then exit. make bench\n"
"                         BASE=REV runs the baseline and this tree cell by\n"
"                         cell with them, so a slow phase of the machine\n"
"                         falls on both\n"
"  -v, --verbose          show the netlink requests that create and delete\n"
"                         queues and set up the store\n"
"  --inject FAULT         test mqbench itself: producer 0 breaks one message\n"
"                         in every run (drop, dup, reorder, corrupt, short);\n"
"                         every run must then fail with exit status 3\n"
"  -h, --help             this text\n"
"\n"
"Each cell first runs short warm-up runs that calibrate N, then R measured\n"
"runs (N is corrected once if the first is off by more than 1.5x); msgs/s\n"
"is P*N divided by the time from releasing the start barrier to the last\n"
"message consumed. The depth is the same everywhere: devmq capacity-msgs D\n"
"and capacity-bytes D*SIZE, posix-mq mq_maxmsg D, a pipe sized for D\n"
"messages, SO_SNDBUF sized for D messages; each is measured and reported.\n"
"posix-mq raises fs.mqueue.msg_max/msgsize_max and pipe fs.pipe-max-size\n"
"as needed (restored at exit), posix-mq lifts RLIMIT_MSGQUEUE; this needs\n"
"root. The table goes to stdout, progress and errors to stderr.\n"
"\n"
"Exit status: 0 all cells ran (or are n/a) and every message arrived\n"
"exactly once; 1 usage error; 2 a selected IPC mechanism is not available\n"
"(nothing run); 3 a run failed (lost, duplicated or corrupt messages, or\n"
"an error); 128+N killed by signal N (queues are deleted, sysctls\n"
"restored, the store detached).\n",
		progname, MQBENCH_MIN_MSG, opts.depth, opts.duration,
		opts.reps, opts.timeout, opts.latency_msgs, opts.batch,
		opts.ring_msgs);
	fprintf(out, "\nKnown mechanisms:");
	for (i = 0; i < NMECHS; i++)
		fprintf(out, " %s", mechs[i]->name);
	fputc('\n', out);
}

static void __attribute__((noreturn)) usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", progname);
	exit(EXIT_USAGE);
}

static unsigned long parse_ulong(const char *s, const char *what, bool suffix)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (end == s || errno || *s == '-')
		usage_error("invalid %s '%s'", what, s);
	if (suffix && (*end == 'k' || *end == 'K')) {
		v *= 1024;
		end++;
	} else if (suffix && (*end == 'm' || *end == 'M')) {
		v *= 1024 * 1024;
		end++;
	}
	if (*end)
		usage_error("invalid %s '%s'", what, s);
	return v;
}

static double parse_seconds(const char *s, const char *what)
{
	char *end;
	double v;

	v = strtod(s, &end);
	if (end == s || *end || !(v > 0) || !isfinite(v))
		usage_error("invalid %s '%s'", what, s);
	return v;
}

/* Split a comma list in place; calls fn for each item. */
static void split_list(char *list, void (*fn)(const char *item))
{
	char *save = NULL, *tok;

	for (tok = strtok_r(list, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save))
		fn(tok);
}

static void add_mech(const char *name)
{
	unsigned int i;

	for (i = 0; i < NMECHS; i++) {
		if (!strcmp(name, mechs[i]->name)) {
			selected[i] = true;
			only_given = true;
			return;
		}
	}
	usage_error("unknown mechanism '%s'", name);
}

/* The matrix that --sizes/--pairs or --durable-sizes/-pairs fill. */
static struct bench_matrix *cur_matrix;

static void add_size(const char *s)
{
	unsigned long v = parse_ulong(s, "size", true);
	struct bench_matrix *mx = cur_matrix;

	if (v < MQBENCH_MIN_MSG || v > MQ_MAX_MSG_LIMIT)
		usage_error("size %s out of range (%d to %u)", s,
			    MQBENCH_MIN_MSG, MQ_MAX_MSG_LIMIT);
	if (mx->nsizes == MQBENCH_MAX_SIZES)
		usage_error("too many sizes (at most %d)", MQBENCH_MAX_SIZES);
	mx->sizes[mx->nsizes++] = v;
}

static void add_pair(const char *s)
{
	struct bench_matrix *mx = cur_matrix;
	int p, c, n;

	if (sscanf(s, "%dx%d%n", &p, &c, &n) != 2 || s[n])
		usage_error("invalid pair '%s' (want PxC, e.g. 4x4)", s);
	if (p < 1 || c < 1 || p > MQBENCH_MAX_PROCS || c > MQBENCH_MAX_PROCS)
		usage_error("pair %s out of range (1 to %d each)", s,
			    MQBENCH_MAX_PROCS);
	if (mx->npairs == MQBENCH_MAX_PAIRS)
		usage_error("too many pairs (at most %d)", MQBENCH_MAX_PAIRS);
	mx->pairs[mx->npairs].producers = p;
	mx->pairs[mx->npairs].consumers = c;
	mx->npairs++;
}

static void set_matrix(enum bench_table t, bool pairs, char *list)
{
	cur_matrix = &opts.matrix[t];
	if (pairs) {
		cur_matrix->npairs = 0;
		split_list(list, add_pair);
	} else {
		cur_matrix->nsizes = 0;
		split_list(list, add_size);
	}
}

static void default_matrix(enum bench_table t, const char *sizes,
			   const char *pairs)
{
	char buf[64];

	if (!opts.matrix[t].nsizes) {
		snprintf(buf, sizeof(buf), "%s", sizes);
		set_matrix(t, false, buf);
	}
	if (!opts.matrix[t].npairs) {
		snprintf(buf, sizeof(buf), "%s", pairs);
		set_matrix(t, true, buf);
	}
}

static void parse_args(int argc, char **argv)
{
	enum { O_ONLY = 256, O_SIZES, O_PAIRS, O_DEPTH, O_DURATION, O_MSGS,
	       O_REPS, O_TIMEOUT, O_JSON, O_INJECT, O_DSIZES,
	       O_DPAIRS, O_STORE, O_DISK, O_REDIS_DIR, O_CLEANER, O_LATENCY, O_BATCH,
	       O_RING_MSGS, O_PLAN };
	static const char *const faults[] = {
		[FAULT_DROP] = "drop", [FAULT_DUP] = "dup",
		[FAULT_REORDER] = "reorder", [FAULT_CORRUPT] = "corrupt",
		[FAULT_SHORT] = "short",
	};
	static const struct option longopts[] = {
		{ "only", required_argument, NULL, O_ONLY },
		{ "sizes", required_argument, NULL, O_SIZES },
		{ "pairs", required_argument, NULL, O_PAIRS },
		{ "depth", required_argument, NULL, O_DEPTH },
		{ "duration", required_argument, NULL, O_DURATION },
		{ "msgs", required_argument, NULL, O_MSGS },
		{ "reps", required_argument, NULL, O_REPS },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "json", required_argument, NULL, O_JSON },
		{ "inject", required_argument, NULL, O_INJECT },
		{ "durable-sizes", required_argument, NULL, O_DSIZES },
		{ "durable-pairs", required_argument, NULL, O_DPAIRS },
		{ "store", required_argument, NULL, O_STORE },
		{ "disk", required_argument, NULL, O_DISK },
		{ "redis-dir", required_argument, NULL, O_REDIS_DIR },
		{ "cleaner", required_argument, NULL, O_CLEANER },
		{ "latency-msgs", required_argument, NULL, O_LATENCY },
		{ "batch", required_argument, NULL, O_BATCH },
		{ "ring-msgs", required_argument, NULL, O_RING_MSGS },
		{ "plan", no_argument, NULL, O_PLAN },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_matrix *mx;
	unsigned long v;
	unsigned int i;
	bool durable;
	int c;

	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_ONLY:
			split_list(optarg, add_mech);
			break;
		case O_SIZES:
			set_matrix(TABLE_IPC, false, optarg);
			break;
		case O_PAIRS:
			set_matrix(TABLE_IPC, true, optarg);
			break;
		case O_DSIZES:
			set_matrix(TABLE_DURABLE, false, optarg);
			break;
		case O_DPAIRS:
			set_matrix(TABLE_DURABLE, true, optarg);
			break;
		case O_STORE:
			opts.store = optarg;
			break;
		case O_DISK:
			opts.disk = optarg;
			break;
		case O_REDIS_DIR:
			opts.redis_dir = optarg;
			break;
		case O_CLEANER:
			opts.cleaner = optarg;
			break;
		case O_DEPTH:
			v = parse_ulong(optarg, "depth", false);
			if (v < 1 || v > 65536)
				usage_error("depth %s out of range (1 to 65536)",
					    optarg);
			opts.depth = v;
			break;
		case O_DURATION:
			opts.duration = parse_seconds(optarg, "duration");
			break;
		case O_MSGS:
			v = parse_ulong(optarg, "message count", true);
			if (v < 1 || v > MAX_MSGS)
				usage_error("--msgs out of range (1 to %lu)",
					    MAX_MSGS);
			opts.msgs = v;
			break;
		case O_REPS:
			v = parse_ulong(optarg, "repetitions", false);
			if (v < 1 || v > MAX_REPS)
				usage_error("--reps out of range (1 to %d)",
					    MAX_REPS);
			opts.reps = (int)v;
			break;
		case O_TIMEOUT:
			opts.timeout = parse_seconds(optarg, "timeout");
			break;
		case O_LATENCY:
			v = parse_ulong(optarg, "message count", true);
			if (v > MAX_MSGS)
				usage_error("--latency-msgs out of range (0 to %lu)",
					    MAX_MSGS);
			opts.latency_msgs = v;
			break;
		case O_BATCH:
			v = parse_ulong(optarg, "batch", false);
			if (v < 1 || v > 65536)
				usage_error("--batch out of range (1 to 65536)");
			opts.batch = v;
			break;
		case O_RING_MSGS:
			v = parse_ulong(optarg, "ring-msgs", false);
			if (v < 2 || v > 1u << 20)
				usage_error("--ring-msgs out of range (2 to 1048576)");
			opts.ring_msgs = v;
			break;
		case O_JSON:
			opts.json = optarg;
			break;
		case O_INJECT:
			for (i = 1; i < ARRAY_SIZE(faults); i++)
				if (!strcmp(optarg, faults[i]))
					opts.fault = (enum fault)i;
			if (!opts.fault)
				usage_error("unknown fault '%s'", optarg);
			break;
		case O_PLAN:
			plan_only = true;
			break;
		case 'v':
			opts.verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "Try '%s --help'.\n", progname);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);

	if (!only_given) {
		durable = opts.store || opts.disk || opts.redis_dir;
		for (i = 0; i < NMECHS; i++)
			selected[i] = mechs[i]->table == TABLE_IPC || durable;
	}
	default_matrix(TABLE_IPC, "64,1024,16384", "1x1,4x4");
	default_matrix(TABLE_DURABLE, "4096,64", "1x1,4x1,16x1");
	mx = &opts.matrix[TABLE_IPC];
	for (i = 0; i < (unsigned int)mx->nsizes; i++) {
		if (mx->sizes[i] > opts.max_size)
			opts.max_size = mx->sizes[i];
		if (!latency_size || mx->sizes[i] < latency_size)
			latency_size = mx->sizes[i];
	}
	if (!opts.latency_msgs)
		latency_size = 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of v[0..n), NaNs left out; NaN if nothing is left. */
static double median(const double *v, int n)
{
	double s[MAX_REPS];
	int i, k = 0;

	for (i = 0; i < n; i++)
		if (!isnan(v[i]))
			s[k++] = v[i];
	if (!k)
		return NAN;
	qsort(s, k, sizeof(*s), cmp_double);
	return k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
}

/* One run: the engine's producers and consumers, or the mechanism's own. */
static int run_once(const struct mech_ops *m, const struct mech_ctx *ctx,
		    unsigned long per_producer, struct run_result *r)
{
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < MQBENCH_MAX_METRICS; i++)
		r->metric[i] = NAN;
	r->share_min = r->share_max = NAN;
	if (m->run)
		return m->run(ctx, per_producer, r);
	return run_cell_once(m, ctx, per_producer, r);
}

static void fmt_rate(char *buf, size_t len, double rate)
{
	if (rate >= 1e6)
		snprintf(buf, len, "%.2fM", rate / 1e6);
	else if (rate >= 1e3)
		snprintf(buf, len, "%.1fk", rate / 1e3);
	else
		snprintf(buf, len, "%.0f", rate);
}

static unsigned long scale_msgs(unsigned long n, double f)
{
	double want = n * f;

	return want < MIN_MSGS ? MIN_MSGS :
	       want > MAX_MSGS ? MAX_MSGS : (unsigned long)want;
}

/*
 * Pick the message count so that a run lasts about opts.duration: start
 * small and grow until a run is long enough to trust its rate.
 */
static int calibrate(const struct mech_ops *m, const struct mech_ctx *ctx,
		     unsigned long *per_producer)
{
	unsigned long n = cal_start_msgs[m->table] / ctx->cell.producers;
	double target = opts.duration / 4, f;
	struct run_result r;
	int i;

	if (target < 0.05)
		target = 0.05;
	if (target > 1)
		target = 1;
	if (n < MIN_MSGS)
		n = MIN_MSGS;
	for (i = 0; ; i++) {
		if (run_once(m, ctx, n, &r))
			return -1;
		if (r.seconds >= target || i == 8 || n >= MAX_MSGS)
			break;
		f = target * 1.5 / (r.seconds > 1e-6 ? r.seconds : 1e-6);
		f = f < 2 ? 2 : (f > 100 ? 100 : f);
		n = n * f > MAX_MSGS ? MAX_MSGS : (unsigned long)(n * f);
		if (interrupted())
			return -1;
	}
	*per_producer = scale_msgs(n, opts.duration / r.seconds);
	return 0;
}

static char progress_prefix[128];

/* One mechanism's part of a cell, alive from setup to teardown. */
struct cell_run {
	const struct mech_ops *m;
	struct mech_ctx ctx;
	struct result *res;
	bool live;		/* set up, calibrated, no run failed */
};

static void cell_prefix(const struct cell *cell, int index, int ncells,
			const char *table)
{
	snprintf(progress_prefix, sizeof(progress_prefix),
		 "%s: [%2d/%d] %s %6zu B %dx%d:", progname, index, ncells,
		 table, cell->msg_bytes, cell->producers, cell->consumers);
}

static void cell_fail(struct cell_run *cr)
{
	if (cr->m->teardown)
		cr->m->teardown(&cr->ctx);
	cr->live = false;
	cr->res->state = interrupted() ? CELL_NOT_RUN : CELL_FAILED;
}

/* Set up one mechanism for a cell and calibrate its message count. */
static void cell_start(struct cell_run *cr, const struct cell *cell)
{
	struct result *res = cr->res;

	memset(&cr->ctx, 0, sizeof(cr->ctx));
	cr->ctx.opts = &opts;
	cr->ctx.mech = cr->m;
	cr->ctx.cell = *cell;
	cr->ctx.seq = cell_seq++;
	cr->ctx.fd[0] = cr->ctx.fd[1] = -1;
	cr->live = false;
	res->state = CELL_FAILED;
	progress(progress_prefix, " %s", cr->m->name);
	if (cr->m->setup(&cr->ctx)) {
		res->state = interrupted() ? CELL_NOT_RUN : CELL_FAILED;
		progress(progress_prefix, " (setup FAILED)");
		return;
	}
	cr->live = true;
	if (opts.msgs) {
		res->per_producer = opts.msgs;
	} else if (calibrate(cr->m, &cr->ctx, &res->per_producer)) {
		cell_fail(cr);
		progress(progress_prefix, " (calibration FAILED)");
		return;
	}
	progress(progress_prefix, " %lu", res->per_producer);
}

/* One measured run of one mechanism. */
static void cell_rep(struct cell_run *cr, int rep)
{
	struct result *res = cr->res;
	struct run_result r;
	char rate[32];
	int i;

	if (!cr->live)
		return;
	if (interrupted() ||
	    run_once(cr->m, &cr->ctx, res->per_producer, &r)) {
		cell_fail(cr);
		progress(progress_prefix, " %s FAILED", cr->m->name);
		return;
	}
	for (i = 0; i < MQBENCH_MAX_METRICS; i++)
		res->mruns[i][res->nruns] = r.metric[i];
	res->smin_runs[res->nruns] = r.share_min;
	res->smax_runs[res->nruns] = r.share_max;
	res->runs[res->nruns++] = r.messages / r.seconds;
	fmt_rate(rate, sizeof(rate), r.messages / r.seconds);
	progress(progress_prefix, " %s %s", cr->m->name, rate);
	/* A short calibration run can be off: correct it once. */
	if (!opts.msgs && !rep && opts.reps > 1 &&
	    (r.seconds > opts.duration * 1.5 ||
	     r.seconds < opts.duration / 1.5)) {
		double f = opts.duration / r.seconds;

		f = f > 4 ? 4 : (f < 0.25 ? 0.25 : f);
		res->per_producer = scale_msgs(res->per_producer, f);
	}
}

static void cell_end(struct cell_run *cr)
{
	int i;

	if (!cr->live)
		return;
	cr->res->rate = median(cr->res->runs, cr->res->nruns);
	for (i = 0; i < MQBENCH_MAX_METRICS; i++)
		cr->res->metric[i] = median(cr->res->mruns[i], cr->res->nruns);
	cr->res->share_min = median(cr->res->smin_runs, cr->res->nruns);
	cr->res->share_max = median(cr->res->smax_runs, cr->res->nruns);
	cr->res->state = CELL_OK;
	if (cr->m->teardown)
		cr->m->teardown(&cr->ctx);
	cr->live = false;
}

/*
 * The latency run of one mechanism, after its measured runs (same set-up).
 * A failure there (the messages are checked as ever) shows as FAILED in
 * the latency table and fails mqbench, but leaves the throughput alone.
 */
static void cell_latency(struct cell_run *cr)
{
	struct result *res = cr->res;

	if (!cr->live || interrupted())
		return;
	if (run_latency(cr->m, &cr->ctx, opts.latency_msgs, &res->lat)) {
		res->latency_failed = !interrupted();
		progress(progress_prefix, " %s FAILED", cr->m->name);
		return;
	}
	res->have_latency = true;
	progress(progress_prefix, " %s %.0f/%.0f", cr->m->name,
		 res->lat.p50_us, res->lat.p99_us);
}

/*
 * A cell: every selected mechanism is set up and calibrated, then the
 * measured runs alternate between mechanisms (A B C, A B C, ...), so a
 * slow phase of the machine hits all of them alike, not one. In the
 * latency cell, then one latency run of each.
 */
static void run_cell(struct cell_run *crs, unsigned int n, const struct cell *cell,
		     int index, int ncells, const char *table, bool latency)
{
	unsigned int i;
	int rep;

	cell_prefix(cell, index, ncells, table);
	progress(progress_prefix, " calibrating (msgs/producer):");
	for (i = 0; i < n && !interrupted(); i++)
		cell_start(&crs[i], cell);
	progress(progress_prefix, "\n");
	for (rep = 0; rep < opts.reps && !interrupted(); rep++) {
		progress(progress_prefix, " run %d/%d:", rep + 1, opts.reps);
		for (i = 0; i < n; i++)
			cell_rep(&crs[i], rep);
		progress(progress_prefix, "\n");
	}
	if (latency && !interrupted()) {
		progress(progress_prefix, " latency p50/p99 us:");
		for (i = 0; i < n; i++)
			cell_latency(&crs[i]);
		progress(progress_prefix, "\n");
	}
	for (i = 0; i < n; i++) {
		if (interrupted() && crs[i].live)
			cell_fail(&crs[i]);
		cell_end(&crs[i]);
	}
}

/* Footnotes: "n/a" first, then each mechanism's in column order. */
static int note_rank(const char *note)
{
	unsigned int i;
	size_t n;

	if (!strncmp(note, "n/a", 3))
		return -1;
	for (i = 0; i < NMECHS; i++) {
		n = strlen(mechs[i]->name);
		if (!strncmp(note, mechs[i]->name, n) &&
		    (note[n] == ' ' || note[n] == ':' || note[n] == ','))
			return (int)i;
	}
	return NMECHS;
}

static bool in_table(unsigned int i, enum bench_table t)
{
	return selected[i] && mechs[i]->table == t;
}

static unsigned int table_count(enum bench_table t)
{
	unsigned int i, n = 0;

	for (i = 0; i < NMECHS; i++)
		n += in_table(i, t);
	return n;
}

static int mech_index(const char *name)
{
	unsigned int i;

	for (i = 0; i < NMECHS; i++)
		if (!strcmp(mechs[i]->name, name))
			return (int)i;
	return -1;
}

static bool is_latency_cell(enum bench_table t, const struct cell *cell)
{
	return t == TABLE_IPC && latency_size &&
	       cell->msg_bytes == latency_size && cell->producers == 1 &&
	       cell->consumers == 1;
}

/*
 * The printed tables: the IPC table's cells are shown twice, the ring
 * mechanisms apart with devmq, so that each table stays readable.
 */
enum view {
	VIEW_IPC,
	VIEW_RINGS,
	VIEW_DURABLE,
	NVIEWS,
};

static enum bench_table view_table(enum view v)
{
	return v == VIEW_DURABLE ? TABLE_DURABLE : TABLE_IPC;
}

static bool in_view(unsigned int i, enum view v)
{
	if (!in_table(i, view_table(v)))
		return false;
	if (v == VIEW_IPC)
		return !mechs[i]->rings;
	if (v == VIEW_RINGS)
		return mechs[i]->rings || !strcmp(mechs[i]->name, "devmq");
	return true;
}

/* Whether the view is printed: some mechanism of its own is selected. */
static bool view_shown(enum view v)
{
	unsigned int i;

	for (i = 0; i < NMECHS; i++)
		if (in_view(i, v) && (v != VIEW_RINGS || mechs[i]->rings))
			return true;
	return false;
}

/* The rings table shows how evenly the consumers of a shared queue shared. */
static bool spread_col(unsigned int i, enum view v)
{
	return v == VIEW_RINGS && in_view(i, v) && !mechs[i]->spsc;
}

static int name_width(unsigned int i)
{
	int w = (int)strlen(mechs[i]->name);

	return w < 10 ? 10 : w;
}

/*
 * A ratio column: num's msgs/s divided by den's in the same row, or with
 * first_row in the row of the same size and the table's first producers x
 * consumers (a measurement made once per size, or num's own there).
 */
struct ratio_col {
	int num, den;
	bool first_row;
	char label[64];
};

#define MAX_RATIOS	NMECHS

static void add_ratio(struct ratio_col *cols, int *n, const char *num,
		      const char *den, bool first_row)
{
	const struct bench_matrix *mx = &opts.matrix[TABLE_DURABLE];
	int a = mech_index(num), b = mech_index(den);

	if (!selected[a] || !selected[b] || (a == b && mx->npairs < 2))
		return;
	cols[*n].num = a;
	cols[*n].den = b;
	cols[*n].first_row = first_row;
	if (a != b)
		snprintf(cols[*n].label, sizeof(cols[*n].label), "%s/%s", num,
			 den);
	else
		snprintf(cols[*n].label, sizeof(cols[*n].label), "%s/(%dx%d)",
			 num, mx->pairs[0].producers, mx->pairs[0].consumers);
	(*n)++;
}

static int ratio_cols(enum view v, struct ratio_col *cols)
{
	int base = -1, n = 0;
	unsigned int i;

	if (v == VIEW_DURABLE) {
		add_ratio(cols, &n, "devmq-sync", "redis-aof", false);
		add_ratio(cols, &n, "devmq-async", "raw-disk", true);
		add_ratio(cols, &n, "devmq-sync", "devmq-sync", true);
		return n;
	}
	if (v == VIEW_RINGS) {
		add_ratio(cols, &n, "mq-ring", "devmq", false);
		add_ratio(cols, &n, "mq-ring", "shm-ring", false);
		return n;
	}
	for (i = 0; i < NMECHS; i++) {
		if (!in_view(i, v))
			continue;
		if (base < 0) {
			base = (int)i;
			continue;
		}
		cols[n].num = base;
		cols[n].den = (int)i;
		cols[n].first_row = false;
		snprintf(cols[n].label, sizeof(cols[n].label), "%s/%s",
			 mechs[base]->name, mechs[i]->name);
		n++;
	}
	return n;
}

static const char *state_text(const struct result *r)
{
	return r->state == CELL_NA ? "n/a" :
	       r->state == CELL_FAILED ? "FAILED" :
	       r->state == CELL_BLANK ? "" : "-";
}

static void print_header(FILE *out, enum view v)
{
	const char *what = v == VIEW_DURABLE ? " durable queues, disk, redis:" :
			   v == VIEW_RINGS ? " rings:" : "";

	fprintf(out, "\nmqbench:%s messages/s (higher is better), median of %d run%s of ",
		what, opts.reps, opts.reps > 1 ? "s" : "");
	if (opts.msgs)
		fprintf(out, "%lu messages per producer", opts.msgs);
	else
		fprintf(out, "~%.1f s", opts.duration);
	fprintf(out, "; queue depth %u messages\n", opts.depth);
}

static void print_ratio_legend(FILE *out, enum view v,
			       const struct ratio_col *cols, int ncols)
{
	unsigned int i;
	int k;

	if (v == VIEW_IPC) {
		if (ncols)
			fprintf(out, "%s/X = %s msgs/s divided by X msgs/s (above 1: %s is faster)\n",
				mechs[cols[0].num]->name,
				mechs[cols[0].num]->name,
				mechs[cols[0].num]->name);
		return;
	}
	if (v == VIEW_RINGS) {
		if (view_shown(VIEW_IPC))
			fprintf(out, "The same cells and runs as the table above (the measured runs alternate with its mechanisms').\n");
		if (ncols)
			fprintf(out, "mq-ring/X = mq-ring msgs/s divided by X msgs/s in the same row (above 1: mq-ring is faster);\n"
				"  for reference, issue 4's bars at 64 B (not checked here): mq-ring/devmq >= 10 at 1x1, mq-ring/shm-ring >= 0.5\n");
		for (i = 0; i < NMECHS; i++)
			if (spread_col(i, v))
				break;
		if (i < NMECHS)
			fprintf(out, "X spread = the shares of the messages that the least and the most busy consumer took\n"
				"  (median of the runs; even: 100%%/C). shm-ring's pairs share nothing: each consumer has its producer's\n");
		return;
	}
	for (k = 0; k < ncols; k++) {
		if (cols[k].num == cols[k].den)
			fprintf(out, "%s = %s msgs/s with P producers divided by its msgs/s in the first row of the same size (group commit)\n",
				cols[k].label, mechs[cols[k].num]->name);
		else if (!strcmp(mechs[cols[k].den]->name, "raw-disk"))
			fprintf(out, "%s = payload bytes/s divided by raw-disk's bytes/s in 4 KiB writes, measured once per size in its first row (a bandwidth ratio)\n",
				cols[k].label);
		else
			fprintf(out, "%s = msgs/s divided by msgs/s in the same row (above 1: %s is faster)\n",
				cols[k].label, mechs[cols[k].num]->name);
	}
}

static void fmt_spread(char *buf, size_t len, const struct result *r)
{
	if (r->state != CELL_OK || isnan(r->share_min) || isnan(r->share_max))
		snprintf(buf, len, "%s", r->state == CELL_OK ? "" :
			 state_text(r));
	else
		snprintf(buf, len, "%.1f-%.1f%%", r->share_min * 100,
			 r->share_max * 100);
}

static void print_rows(FILE *out, enum view v,
		       const struct ratio_col *cols, int ncols)
{
	enum bench_table t = view_table(v);
	const struct bench_matrix *mx = &opts.matrix[t];
	const struct result *ro, *rd;
	char label[64], val[32];
	unsigned int i;
	int s, p, k, w;

	fprintf(out, "%6s %5s", "size", "PxC");
	for (i = 0; i < NMECHS; i++)
		if (in_view(i, v))
			fprintf(out, "  %*s", name_width(i), mechs[i]->name);
	for (k = 0; k < ncols; k++)
		fprintf(out, "  %s", cols[k].label);
	for (i = 0; i < NMECHS; i++)
		if (spread_col(i, v))
			fprintf(out, "  %s spread", mechs[i]->name);
	fputc('\n', out);

	for (s = 0; s < mx->nsizes; s++) {
		for (p = 0; p < mx->npairs; p++) {
			snprintf(label, sizeof(label), "%dx%d",
				 mx->pairs[p].producers, mx->pairs[p].consumers);
			fprintf(out, "%6zu %5s", mx->sizes[s], label);
			for (i = 0; i < NMECHS; i++) {
				if (!in_view(i, v))
					continue;
				ro = &results[t][s][p][i];
				if (ro->state == CELL_OK)
					snprintf(val, sizeof(val), "%.0f",
						 ro->rate);
				else
					snprintf(val, sizeof(val), "%s",
						 state_text(ro));
				fprintf(out, "  %*s", name_width(i), val);
			}
			for (k = 0; k < ncols; k++) {
				ro = &results[t][s][p][cols[k].num];
				rd = &results[t][s][cols[k].first_row ? 0 : p][cols[k].den];
				w = (int)strlen(cols[k].label);
				if (ro->state == CELL_OK && rd->state == CELL_OK)
					snprintf(val, sizeof(val), "%.2f",
						 ro->rate / rd->rate);
				else
					snprintf(val, sizeof(val), "%s",
						 ro->state == CELL_NA ||
						 rd->state == CELL_NA ? "n/a" : "-");
				fprintf(out, "  %*s", w, val);
			}
			for (i = 0; i < NMECHS; i++) {
				if (!spread_col(i, v))
					continue;
				fmt_spread(val, sizeof(val), &results[t][s][p][i]);
				fprintf(out, "  %*s",
					(int)strlen(mechs[i]->name) + 7, val);
			}
			fputc('\n', out);
		}
	}
}

/*
 * For each mechanism of view @v whose first metric is @metric, one line
 * per size: "@label:" then PxC and the value for every measured cell.
 * @any: something was printed above (no blank line then).
 */
static void print_metric_lines(FILE *out, enum bench_table t, enum view v,
			       const char *metric, const char *label, bool any)
{
	const struct bench_matrix *mx = &opts.matrix[t];
	const struct result *r;
	unsigned int i;
	int s, p;

	for (i = 0; i < NMECHS; i++) {
		if (!in_view(i, v) || !mechs[i]->metrics ||
		    strcmp(mechs[i]->metrics[0], metric))
			continue;
		for (s = 0; s < mx->nsizes; s++) {
			bool started = false;

			for (p = 0; p < mx->npairs; p++) {
				r = &results[t][s][p][i];
				if (r->state != CELL_OK || isnan(r->metric[0]))
					continue;
				if (!any)
					fputc('\n', out);
				if (!started)
					fprintf(out, "%s %zu B, %s:", mechs[i]->name,
						mx->sizes[s], label);
				any = true;
				started = true;
				fprintf(out, " %dx%d %.1f", mx->pairs[p].producers,
					mx->pairs[p].consumers, r->metric[0]);
			}
			if (started)
				fputc('\n', out);
		}
	}
}

/* The durable table's extra numbers, per row. */
static void print_details(FILE *out)
{
	const struct bench_matrix *mx = &opts.matrix[TABLE_DURABLE];
	int raw = mech_index("raw-disk"), s, p;
	const struct result *r;
	bool any = false;

	for (s = 0; s < mx->nsizes; s++) {
		for (p = 0; p < mx->npairs; p++) {
			r = &results[TABLE_DURABLE][s][p][raw];
			if (!selected[raw] || r->state != CELL_OK)
				continue;
			if (!any)
				fprintf(out, "\n");
			any = true;
			fprintf(out, "raw-disk: 4 KiB writes %.0f/s = %.1f MB/s (1 MiB writes: %.1f MB/s); flush after a 4 KiB write: mean %.0f us, p99 %.0f us; %.0f write+flush pairs/s\n",
				r->rate, r->rate * mx->sizes[s] / 1e6,
				r->metric[3], r->metric[0], r->metric[1],
				r->metric[2]);
		}
	}
	print_metric_lines(out, TABLE_DURABLE, VIEW_DURABLE, "msgs_per_flush",
			   "messages per store flush (commit)", any);
}

/* The rings table's extra numbers: mq-ring's direct handoffs. */
static void print_ring_details(FILE *out)
{
	print_metric_lines(out, TABLE_IPC, VIEW_RINGS, "tx_direct_pct",
			   "% of the messages the kernel handed straight from a TX ring to an RX ring",
			   false);
}

/* The latency cell's result of mechanism i, or NULL. */
static const struct result *latency_result(unsigned int i)
{
	const struct bench_matrix *mx = &opts.matrix[TABLE_IPC];
	int s, p;

	if (!latency_size)
		return NULL;
	for (s = 0; s < mx->nsizes; s++)
		for (p = 0; p < mx->npairs; p++)
			if (mx->sizes[s] == latency_size &&
			    mx->pairs[p].producers == 1 &&
			    mx->pairs[p].consumers == 1)
				return &results[TABLE_IPC][s][p][i];
	return NULL;
}

/* The latency runs: a row for p50 and one for p99, a column per mechanism. */
static void print_latency(FILE *out)
{
	const struct result *r;
	char val[32];
	unsigned int i;
	int row;

	for (i = 0; i < NMECHS; i++) {
		r = in_table(i, TABLE_IPC) ? latency_result(i) : NULL;
		if (r && (r->have_latency || r->latency_failed))
			break;
	}
	if (i == NMECHS)
		return;
	fprintf(out, "\nmqbench: latency of one message, %zu B, one producer and one consumer, one message in flight:\n"
		"microseconds (lower is better) from the producer's clock before send to the consumer's after recv\n"
		"(CLOCK_MONOTONIC), %lu messages each after %d not counted\n\n",
		latency_size, opts.latency_msgs, MQBENCH_LAT_WARMUP);
	fprintf(out, "%12s", "");
	for (i = 0; i < NMECHS; i++)
		if (in_table(i, TABLE_IPC))
			fprintf(out, "  %*s", name_width(i), mechs[i]->name);
	fputc('\n', out);
	for (row = 0; row < 3; row++) {
		fprintf(out, "%12s", row == 0 ? "p50" : row == 1 ? "p99" : "max");
		for (i = 0; i < NMECHS; i++) {
			if (!in_table(i, TABLE_IPC))
				continue;
			r = latency_result(i);
			if (r && r->have_latency)
				snprintf(val, sizeof(val), "%.1f",
					 row == 0 ? r->lat.p50_us :
					 row == 1 ? r->lat.p99_us :
					 r->lat.max_us);
			else
				snprintf(val, sizeof(val), "%s",
					 !r ? "-" : r->latency_failed ?
					 "FAILED" : state_text(r));
			fprintf(out, "  %*s", name_width(i), val);
		}
		fputc('\n', out);
	}
}

static void print_tables(FILE *out)
{
	struct ratio_col cols[MAX_RATIOS];
	enum view v;
	int ncols;

	for (v = 0; v < NVIEWS; v++) {
		if (!view_shown(v))
			continue;
		ncols = ratio_cols(v, cols);
		print_header(out, v);
		print_ratio_legend(out, v, cols, ncols);
		fputc('\n', out);
		print_rows(out, v, cols, ncols);
		if (v == VIEW_DURABLE)
			print_details(out);
		if (v == VIEW_RINGS)
			print_ring_details(out);
		if (v == VIEW_RINGS || (v == VIEW_IPC && !view_shown(VIEW_RINGS)))
			print_latency(out);
	}

	fprintf(out, "\nNotes:\n");
	fprintf(out, "  msgs/s = P*N messages / wall time from releasing the start barrier to the last\n"
		"  message consumed. Producers and consumers are separate processes, nothing pinned.\n"
		"  Every message carries (producer, sequence) and is checked: none lost, duplicated,\n"
		"  corrupt, or out of order per producer. After the last producer finishes it sends\n"
		"  one stop message per consumer (shm-ring: each producer one to its own consumer).\n");
	if (table_count(TABLE_DURABLE))
		fprintf(out, "  raw-disk and redis-aof time themselves and count their own units (see below).\n"
			"  For reference, issue 3's targets (not checked here): devmq-sync/redis-aof >= 1\n"
			"  at 1 and at 16 producers, devmq-async/raw-disk >= 0.70, devmq-sync 16 producers\n"
			"  >= 8x 1 producer.\n");
	if (opts.msgs)
		fprintf(out, "  N = %lu messages per producer (--msgs).\n", opts.msgs);
	else
		fprintf(out, "  N is calibrated per cell by warm-up runs, and corrected once if the first\n"
			"  measured run is off by more than 1.5x (see stderr).\n");
	fprintf(out, "  In each cell the measured runs alternate between mechanisms (A B C, A B C,\n"
		"  ...), so a slow phase of the machine hits all of them alike.\n");
	notes_print(out, note_rank);
	fflush(out);
}

static void json_number(FILE *f, const char *key, double v)
{
	if (isnan(v))
		fprintf(f, ", \"%s\": null", key);
	else
		fprintf(f, ", \"%s\": %.1f", key, v);
}

/* s: a C string; JSON needs only quotes, backslashes, controls escaped. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static const struct cleaner_result *cleaner;	/* --cleaner, once run */

static int write_json(const char *path)
{
	const struct bench_matrix *mx;
	enum bench_table t;
	unsigned int i;
	bool first = true;
	int s, p, k;
	FILE *f;

	f = fopen(path, "w");
	if (!f) {
		errmsg("%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "[");
	for (t = 0; t < NTABLES; t++) {
		mx = &opts.matrix[t];
		for (s = 0; s < mx->nsizes; s++) {
			for (p = 0; p < mx->npairs; p++) {
				for (i = 0; i < NMECHS; i++) {
					const struct result *r = &results[t][s][p][i];

					if (!in_table(i, t) ||
					    (r->state != CELL_OK && r->state != CELL_NA))
						continue;
					fprintf(f, "%s\n  {\"mechanism\": \"%s\", \"msg_bytes\": %zu, \"producers\": %d, \"consumers\": %d",
						first ? "" : ",", mechs[i]->name,
						mx->sizes[s],
						mechs[i]->fixed_producers ?:
						mx->pairs[p].producers,
						mechs[i]->no_consumer ? 0 :
						mx->pairs[p].consumers);
					first = false;
					if (r->state == CELL_NA) {
						fprintf(f, ", \"msgs_per_sec\": null, \"na\": ");
						json_string(f, r->why ? r->why : "n/a");
						fprintf(f, "}");
						continue;
					}
					fprintf(f, ", \"msgs_per_sec\": %.1f", r->rate);
					if (t == TABLE_DURABLE)
						json_number(f, "mb_per_sec",
							    r->rate * mx->sizes[s] / 1e6);
					for (k = 0; mechs[i]->metrics &&
					     mechs[i]->metrics[k]; k++)
						json_number(f, mechs[i]->metrics[k],
							    r->metric[k]);
					if (t == TABLE_IPC && mx->pairs[p].consumers > 1 &&
					    !isnan(r->share_min))
						fprintf(f, ", \"consumer_share_min\": %.4f, \"consumer_share_max\": %.4f",
							r->share_min, r->share_max);
					if (r->have_latency)
						fprintf(f, ", \"latency_us_p50\": %.1f, \"latency_us_p99\": %.1f, \"latency_msgs\": %lu",
							r->lat.p50_us, r->lat.p99_us,
							r->lat.samples);
					else if (r->latency_failed)
						fprintf(f, ", \"latency_us_p50\": null, \"latency_us_p99\": null, \"latency_failed\": true");
					fprintf(f, "}");
				}
			}
		}
	}
	if (cleaner)
		cleaner_json(f, cleaner, &first);
	fprintf(f, "\n]\n");
	if (ferror(f) | fclose(f)) {
		errmsg("%s: write error", path);
		return -1;
	}
	return 0;
}

static struct cell make_cell(enum bench_table t, int size, int pair)
{
	const struct bench_matrix *mx = &opts.matrix[t];
	struct cell cell = {
		.msg_bytes = mx->sizes[size],
		.producers = mx->pairs[pair].producers,
		.consumers = mx->pairs[pair].consumers,
		.depth = opts.depth,
	};

	return cell;
}

static void restore_all(void)
{
	unsigned int i;

	for (i = 0; i < NMECHS; i++)
		if (prepared[i] && mechs[i]->restore)
			mechs[i]->restore();
}

/* Say why there are no latency runs, if there are none. */
static void latency_plan(void)
{
	const struct bench_matrix *mx = &opts.matrix[TABLE_IPC];
	int p;

	if (!latency_size || !table_count(TABLE_IPC))
		return;
	if (latency_size < MQBENCH_LAT_MIN_MSG) {
		note("latency: not measured: the smallest size, %zu B, has no room for the time stamp (at least %d B)",
		     latency_size, MQBENCH_LAT_MIN_MSG);
		latency_size = 0;
		return;
	}
	for (p = 0; p < mx->npairs; p++)
		if (mx->pairs[p].producers == 1 && mx->pairs[p].consumers == 1)
			return;
	note("latency: not measured: --pairs has no 1x1");
	latency_size = 0;
}

/* Mark the cells that cannot run as "n/a"; returns how many will run. */
static int plan(enum bench_table t, int *ncells)
{
	const struct bench_matrix *mx = &opts.matrix[t];
	int s, p, nruns = 0;
	unsigned int i;
	const char *why;

	if (!table_count(t))
		return 0;
	for (s = 0; s < mx->nsizes; s++) {
		for (p = 0; p < mx->npairs; p++) {
			struct cell cell = make_cell(t, s, p);

			for (i = 0; i < NMECHS; i++) {
				if (!in_table(i, t))
					continue;
				why = mechs[i]->unsupported ?
				      mechs[i]->unsupported(&cell) : NULL;
				if (why && !*why) {
					results[t][s][p][i].state = CELL_BLANK;
				} else if (why) {
					results[t][s][p][i].state = CELL_NA;
					results[t][s][p][i].why = strdup(why);
					note("n/a: %s", why);
				} else {
					nruns++;
				}
			}
			(*ncells)++;
		}
	}
	return nruns;
}

/*
 * --plan: a line per cell, the options that run it alone, in the order
 * the cells run. Only the latency cell keeps --latency-msgs: with one
 * size, the smallest is that one, and every 1x1 cell would measure it.
 */
static void print_plan(void)
{
	const struct bench_matrix *mx;
	enum bench_table t;
	unsigned int i;
	int s, p;

	for (t = 0; t < NTABLES; t++) {
		char only[256] = "";
		size_t len = 0;

		if (!table_count(t))
			continue;
		for (i = 0; i < NMECHS; i++)
			if (in_table(i, t))
				len += snprintf(only + len, sizeof(only) - len, "%s%s",
						len ? "," : "", mechs[i]->name);
		mx = &opts.matrix[t];
		for (s = 0; s < mx->nsizes; s++) {
			for (p = 0; p < mx->npairs; p++) {
				struct cell cell = make_cell(t, s, p);

				printf("--only %s --%ssizes %zu --%spairs %dx%d%s\n",
				       only, t == TABLE_IPC ? "" : "durable-",
				       cell.msg_bytes,
				       t == TABLE_IPC ? "" : "durable-",
				       cell.producers, cell.consumers,
				       t == TABLE_IPC && !is_latency_cell(t, &cell) ?
				       " --latency-msgs 0" : "");
			}
		}
	}
}

int main(int argc, char **argv)
{
	int s, p, ncells = 0, nruns = 0, index = 0, status = 0;
	uint64_t start = now_ns();
	const struct bench_matrix *mx;
	enum bench_table t;
	unsigned int i;

	parse_args(argc, argv);
	if (plan_only) {
		print_plan();
		return 0;
	}
	bench_opts = &opts;
	signals_block();
	progress_init();

	for (i = 0; i < NMECHS; i++) {
		if (!selected[i] || !mechs[i]->prepare)
			continue;
		if (mechs[i]->prepare(&opts)) {
			errmsg("%s is not available; nothing was run", mechs[i]->name);
			restore_all();
			return EXIT_UNAVAILABLE;
		}
		prepared[i] = true;
	}

	for (t = 0; t < NTABLES; t++)
		nruns += plan(t, &ncells);
	latency_plan();
	fprintf(stderr, "%s: %d cells (%d mechanism runs), queue depth %u, %d run%s each of ",
		progname, ncells, nruns, opts.depth, opts.reps,
		opts.reps > 1 ? "s" : "");
	if (opts.msgs)
		fprintf(stderr, "%lu messages per producer\n", opts.msgs);
	else
		fprintf(stderr, "~%.1f s after calibrating warm-up runs\n",
			opts.duration);

	for (t = 0; t < NTABLES && !interrupted(); t++) {
		mx = &opts.matrix[t];
		if (!table_count(t))
			continue;
		for (s = 0; s < mx->nsizes && !interrupted(); s++) {
			for (p = 0; p < mx->npairs && !interrupted(); p++) {
				struct cell cell = make_cell(t, s, p);
				struct cell_run crs[NMECHS];
				unsigned int n = 0;

				for (i = 0; i < NMECHS; i++) {
					struct result *res = &results[t][s][p][i];

					if (!in_table(i, t) || res->state == CELL_NA ||
					    res->state == CELL_BLANK)
						continue;
					crs[n].m = mechs[i];
					crs[n].res = res;
					n++;
				}
				if (!n) {
					index++;
					continue;
				}
				run_cell(crs, n, &cell, ++index, ncells,
					 table_names[t], is_latency_cell(t, &cell));
				for (i = 0; i < n; i++)
					if (crs[i].res->state != CELL_OK ||
					    crs[i].res->latency_failed)
						status = EXIT_RUN_FAILED;
			}
		}
	}
	restore_all();
	/* One store per host: after the durable table's is detached. */
	if (opts.cleaner && !interrupted()) {
		cleaner = cleaner_run(&opts);
		if (!cleaner->ran)
			status = EXIT_RUN_FAILED;
	}
	print_tables(stdout);
	if (cleaner)
		cleaner_print(stdout, cleaner);
	if (interrupted()) {
		errmsg("interrupted by signal %d: the table is partial, no JSON written",
		       interrupted());
		return 128 + interrupted();
	}
	if (opts.json && write_json(opts.json))
		status = EXIT_RUN_FAILED;
	fprintf(stderr, "%s: done in %.0f s%s\n", progname,
		(double)(now_ns() - start) / 1e9,
		status ? "; some cells FAILED (see above)" : "");
	return status;
}
