// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: compare message throughput of /dev/mq with other IPC mechanisms
 * in one run. See --help, and mqbench.h for how to add a mechanism.
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

/* Table order is column order; the first selected one is the ratio base. */
static const struct mech_ops *const mechs[] = {
	&mech_devmq,
	&mech_posix_mq,
	&mech_pipe,
	&mech_unix_seqpacket,
};

#define NMECHS	ARRAY_SIZE(mechs)

#define MAX_REPS	25
#define CAL_START_MSGS	2000UL		/* first calibration run, in total */
#define MIN_MSGS	100UL		/* per producer */
#define MAX_MSGS	100000000UL	/* per producer */

enum {
	EXIT_USAGE = 1,
	EXIT_UNAVAILABLE = 2,
	EXIT_RUN_FAILED = 3,
};

enum cell_state { CELL_NOT_RUN, CELL_OK, CELL_NA, CELL_FAILED };

struct result {
	enum cell_state state;
	double rate;			/* median of runs[] */
	double runs[MAX_REPS];
	int nruns;
	unsigned long per_producer;
};

static struct bench_opts opts = {
	.depth = 256,
	.duration = 1.0,
	.reps = 5,
	.timeout = 120.0,
	.mqctl = "mqctl",
};

static bool selected[NMECHS];
static bool prepared[NMECHS];
static struct result results[MQBENCH_MAX_SIZES][MQBENCH_MAX_PAIRS][NMECHS];
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
"Mechanisms:\n"
"  devmq           /dev/mq/NAME: one write() per message, one read() per\n"
"                  message; a queue per cell made with 'mqctl queue add'\n"
"  posix-mq        POSIX mqueue, mq_send()/mq_receive()\n"
"  pipe            one pipe; packet mode (O_DIRECT) up to PIPE_BUF, above it\n"
"                  only 1x1 (the consumer reads exactly SIZE bytes)\n"
"  unix-seqpacket  socketpair(AF_UNIX, SOCK_SEQPACKET), SO_SNDBUF sized for\n"
"                  the depth\n"
"\n"
"Options:\n"
"  --only MECH[,MECH...]  mechanisms to run (default: all)\n"
"  --sizes N[,N...]       message sizes in bytes, k suffix allowed\n"
"                         (default: 64,1024,16384; at least %d)\n"
"  --pairs PxC[,PxC...]   producers x consumers (default: 1x1,4x4)\n"
"  --depth D              queue depth in messages, the same for every\n"
"                         mechanism (default: %u)\n"
"  --duration SEC         target length of each measured run; the message\n"
"                         count is calibrated per cell (default: %.1f)\n"
"  --msgs N               send exactly N messages per producer instead\n"
"  --reps R               measured runs per cell; the median is reported\n"
"                         (default: %d)\n"
"  --timeout SEC          kill a run that takes longer (default: %.0f)\n"
"  --json FILE            also write the results as a JSON array of\n"
"                         {\"mechanism\", \"msg_bytes\", \"producers\",\n"
"                         \"consumers\", \"msgs_per_sec\"}\n"
"  --mqctl PATH           mqctl to run (default: mqctl from PATH)\n"
"  -v, --verbose          show mqctl commands and output\n"
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
"Exit status: 0 all cells ran and every message arrived exactly once;\n"
"1 usage error; 2 a selected mechanism is not available (nothing run);\n"
"3 a run failed (lost, duplicated or corrupt messages, or an error);\n"
"128+N killed by signal N (queues are deleted, sysctls restored).\n",
		progname, MQBENCH_MIN_MSG, opts.depth, opts.duration,
		opts.reps, opts.timeout);
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
			return;
		}
	}
	usage_error("unknown mechanism '%s'", name);
}

static void add_size(const char *s)
{
	unsigned long v = parse_ulong(s, "size", true);

	if (v < MQBENCH_MIN_MSG || v > MQ_MAX_MSG_LIMIT)
		usage_error("size %s out of range (%d to %u)", s,
			    MQBENCH_MIN_MSG, MQ_MAX_MSG_LIMIT);
	if (opts.nsizes == MQBENCH_MAX_SIZES)
		usage_error("too many sizes (at most %d)", MQBENCH_MAX_SIZES);
	opts.sizes[opts.nsizes++] = v;
}

static void add_pair(const char *s)
{
	int p, c, n;

	if (sscanf(s, "%dx%d%n", &p, &c, &n) != 2 || s[n])
		usage_error("invalid pair '%s' (want PxC, e.g. 4x4)", s);
	if (p < 1 || c < 1 || p > MQBENCH_MAX_PROCS || c > MQBENCH_MAX_PROCS)
		usage_error("pair %s out of range (1 to %d each)", s,
			    MQBENCH_MAX_PROCS);
	if (opts.npairs == MQBENCH_MAX_PAIRS)
		usage_error("too many pairs (at most %d)", MQBENCH_MAX_PAIRS);
	opts.pairs[opts.npairs].producers = p;
	opts.pairs[opts.npairs].consumers = c;
	opts.npairs++;
}

static void parse_args(int argc, char **argv)
{
	enum { O_ONLY = 256, O_SIZES, O_PAIRS, O_DEPTH, O_DURATION, O_MSGS,
	       O_REPS, O_TIMEOUT, O_JSON, O_MQCTL, O_INJECT };
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
		{ "mqctl", required_argument, NULL, O_MQCTL },
		{ "inject", required_argument, NULL, O_INJECT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	unsigned int i;
	bool any = false;
	int c;

	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		switch (c) {
		case O_ONLY:
			split_list(optarg, add_mech);
			break;
		case O_SIZES:
			opts.nsizes = 0;
			split_list(optarg, add_size);
			break;
		case O_PAIRS:
			opts.npairs = 0;
			split_list(optarg, add_pair);
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
		case O_JSON:
			opts.json = optarg;
			break;
		case O_MQCTL:
			opts.mqctl = optarg;
			break;
		case O_INJECT:
			for (i = 1; i < ARRAY_SIZE(faults); i++)
				if (!strcmp(optarg, faults[i]))
					opts.fault = (enum fault)i;
			if (!opts.fault)
				usage_error("unknown fault '%s'", optarg);
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

	for (i = 0; i < NMECHS; i++)
		any |= selected[i];
	if (!any)
		for (i = 0; i < NMECHS; i++)
			selected[i] = true;
	if (!opts.nsizes) {
		opts.sizes[opts.nsizes++] = 64;
		opts.sizes[opts.nsizes++] = 1024;
		opts.sizes[opts.nsizes++] = 16384;
	}
	if (!opts.npairs) {
		add_pair("1x1");
		add_pair("4x4");
	}
	for (i = 0; i < (unsigned int)opts.nsizes; i++)
		if (opts.sizes[i] > opts.max_size)
			opts.max_size = opts.sizes[i];
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[MAX_REPS];

	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
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
	unsigned long n = CAL_START_MSGS / ctx->cell.producers;
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
		if (run_cell_once(m, ctx, n, &r))
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

static void cell_prefix(const struct cell *cell, int index, int ncells)
{
	snprintf(progress_prefix, sizeof(progress_prefix),
		 "%s: [%2d/%d] %6zu B %dx%d:", progname, index, ncells,
		 cell->msg_bytes, cell->producers, cell->consumers);
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

	if (!cr->live)
		return;
	if (interrupted() ||
	    run_cell_once(cr->m, &cr->ctx, res->per_producer, &r)) {
		cell_fail(cr);
		progress(progress_prefix, " %s FAILED", cr->m->name);
		return;
	}
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
	if (!cr->live)
		return;
	cr->res->rate = median(cr->res->runs, cr->res->nruns);
	cr->res->state = CELL_OK;
	if (cr->m->teardown)
		cr->m->teardown(&cr->ctx);
	cr->live = false;
}

/*
 * A cell: every selected mechanism is set up and calibrated, then the
 * measured runs alternate between mechanisms (A B C, A B C, ...), so a
 * slow phase of the machine hits all of them alike, not one.
 */
static void run_cell(struct cell_run *crs, unsigned int n, const struct cell *cell,
		     int index, int ncells)
{
	unsigned int i;
	int rep;

	cell_prefix(cell, index, ncells);
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
		    (note[n] == ' ' || note[n] == ':'))
			return (int)i;
	}
	return NMECHS;
}

static unsigned int selected_count(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < NMECHS; i++)
		n += selected[i];
	return n;
}

static int name_width(unsigned int i)
{
	int w = (int)strlen(mechs[i]->name);

	return w < 10 ? 10 : w;
}

static void print_table(FILE *out)
{
	int base = -1, s, p, w;
	unsigned int i;
	char label[64], val[32];
	const struct result *rb, *ro;

	for (i = 0; i < NMECHS && base < 0; i++)
		if (selected[i])
			base = (int)i;

	fprintf(out, "\nmqbench: messages/s (higher is better), median of %d run%s of ",
		opts.reps, opts.reps > 1 ? "s" : "");
	if (opts.msgs)
		fprintf(out, "%lu messages per producer", opts.msgs);
	else
		fprintf(out, "~%.1f s", opts.duration);
	fprintf(out, "; queue depth %u messages\n", opts.depth);
	if (base >= 0 && selected_count() > 1)
		fprintf(out, "%s/X = %s msgs/s divided by X msgs/s (above 1: %s is faster)\n",
			mechs[base]->name, mechs[base]->name,
			mechs[base]->name);
	fputc('\n', out);

	fprintf(out, "%6s %5s", "size", "PxC");
	for (i = 0; i < NMECHS; i++)
		if (selected[i])
			fprintf(out, "  %*s", name_width(i), mechs[i]->name);
	for (i = 0; i < NMECHS; i++) {
		if (!selected[i] || (int)i == base)
			continue;
		snprintf(label, sizeof(label), "%s/%s", mechs[base]->name,
			 mechs[i]->name);
		fprintf(out, "  %*s", (int)strlen(label), label);
	}
	fputc('\n', out);

	for (s = 0; s < opts.nsizes; s++) {
		for (p = 0; p < opts.npairs; p++) {
			snprintf(label, sizeof(label), "%dx%d",
				 opts.pairs[p].producers,
				 opts.pairs[p].consumers);
			fprintf(out, "%6zu %5s", opts.sizes[s], label);
			for (i = 0; i < NMECHS; i++) {
				if (!selected[i])
					continue;
				ro = &results[s][p][i];
				if (ro->state == CELL_OK)
					snprintf(val, sizeof(val), "%.0f",
						 ro->rate);
				else
					snprintf(val, sizeof(val), "%s",
						 ro->state == CELL_NA ? "n/a" :
						 ro->state == CELL_FAILED ?
						 "FAILED" : "-");
				fprintf(out, "  %*s", name_width(i), val);
			}
			rb = &results[s][p][base];
			for (i = 0; i < NMECHS; i++) {
				if (!selected[i] || (int)i == base)
					continue;
				ro = &results[s][p][i];
				w = (int)(strlen(mechs[base]->name) + 1 +
					  strlen(mechs[i]->name));
				if (rb->state == CELL_OK && ro->state == CELL_OK)
					snprintf(val, sizeof(val), "%.2f",
						 rb->rate / ro->rate);
				else
					snprintf(val, sizeof(val), "%s",
						 ro->state == CELL_NA ? "n/a" : "-");
				fprintf(out, "  %*s", w, val);
			}
			fputc('\n', out);
		}
	}

	fprintf(out, "\nNotes:\n");
	fprintf(out, "  msgs/s = P*N messages / wall time from releasing the start barrier to the last\n"
		"  message consumed. Producers and consumers are separate processes, nothing pinned.\n"
		"  Every message carries (producer, sequence) and is checked: none lost, duplicated,\n"
		"  corrupt, or out of order per producer. After the last producer finishes it sends\n"
		"  one stop message per consumer.\n");
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

static int write_json(const char *path)
{
	unsigned int i;
	bool first = true;
	int s, p;
	FILE *f;

	f = fopen(path, "w");
	if (!f) {
		errmsg("%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "[");
	for (s = 0; s < opts.nsizes; s++) {
		for (p = 0; p < opts.npairs; p++) {
			for (i = 0; i < NMECHS; i++) {
				const struct result *r = &results[s][p][i];

				if (!selected[i] || r->state != CELL_OK)
					continue;
				fprintf(f, "%s\n  {\"mechanism\": \"%s\", \"msg_bytes\": %zu, \"producers\": %d, \"consumers\": %d, \"msgs_per_sec\": %.1f}",
					first ? "" : ",", mechs[i]->name,
					opts.sizes[s], opts.pairs[p].producers,
					opts.pairs[p].consumers, r->rate);
				first = false;
			}
		}
	}
	fprintf(f, "\n]\n");
	if (ferror(f) | fclose(f)) {
		errmsg("%s: write error", path);
		return -1;
	}
	return 0;
}

static struct cell make_cell(int size, int pair)
{
	struct cell cell = {
		.msg_bytes = opts.sizes[size],
		.producers = opts.pairs[pair].producers,
		.consumers = opts.pairs[pair].consumers,
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

int main(int argc, char **argv)
{
	int s, p, ncells = 0, nruns = 0, index = 0, status = 0;
	uint64_t start = now_ns();
	unsigned int i;
	const char *why;

	parse_args(argc, argv);
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

	for (s = 0; s < opts.nsizes; s++) {
		for (p = 0; p < opts.npairs; p++) {
			struct cell cell = make_cell(s, p);

			for (i = 0; i < NMECHS; i++) {
				if (!selected[i])
					continue;
				why = mechs[i]->unsupported ?
				      mechs[i]->unsupported(&cell) : NULL;
				if (why) {
					results[s][p][i].state = CELL_NA;
					note("n/a: %s", why);
				} else {
					nruns++;
				}
			}
			ncells++;
		}
	}
	fprintf(stderr, "%s: %d cells (%d mechanism runs), queue depth %u, %d run%s each of ",
		progname, ncells, nruns, opts.depth, opts.reps,
		opts.reps > 1 ? "s" : "");
	if (opts.msgs)
		fprintf(stderr, "%lu messages per producer\n", opts.msgs);
	else
		fprintf(stderr, "~%.1f s after calibrating warm-up runs\n",
			opts.duration);

	for (s = 0; s < opts.nsizes && !interrupted(); s++) {
		for (p = 0; p < opts.npairs && !interrupted(); p++) {
			struct cell cell = make_cell(s, p);
			struct cell_run crs[NMECHS];
			unsigned int n = 0;

			for (i = 0; i < NMECHS; i++) {
				struct result *res = &results[s][p][i];

				if (!selected[i] || res->state == CELL_NA)
					continue;
				crs[n].m = mechs[i];
				crs[n].res = res;
				n++;
			}
			if (!n)
				continue;
			run_cell(crs, n, &cell, ++index, ncells);
			for (i = 0; i < n; i++)
				if (crs[i].res->state != CELL_OK)
					status = EXIT_RUN_FAILED;
		}
	}
	restore_all();
	print_table(stdout);
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
