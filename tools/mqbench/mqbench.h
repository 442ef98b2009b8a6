/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqbench: message throughput of /dev/mq against other IPC mechanisms, and
 * of durable /dev/mq queues against the raw disk and redis.
 *
 * Every mechanism is one struct mech_ops (see the mechs[] table in main.c).
 * The engine (run.c) forks producers and consumers, releases them together,
 * checks every message and times the run; a mechanism only moves messages.
 * A mechanism that is not a queue (the raw disk, an external benchmark
 * program) times its own runs instead (mech_ops.run). Ring mechanisms
 * batch in send() (mech_ops.flush) and hand the consumer messages in
 * place (mech_ops.peek).
 */
#ifndef MQBENCH_H
#define MQBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))

#define MQBENCH_MAX_SIZES	16
#define MQBENCH_MAX_PAIRS	16
#define MQBENCH_MAX_PROCS	64	/* producers, and consumers, per cell */
#define MQBENCH_MIN_MSG		24	/* header + tail check word */
#define MQBENCH_MAX_METRICS	4	/* extra numbers per run (mech_ops.metrics) */

/* The two tables: IPC throughput, and durable queues against the disk. */
enum bench_table {
	TABLE_IPC,
	TABLE_DURABLE,
	NTABLES,
};

/* --inject: make producer 0 misbehave once, to test the checks. */
enum fault {
	FAULT_NONE,
	FAULT_DROP,
	FAULT_DUP,
	FAULT_REORDER,
	FAULT_CORRUPT,
	FAULT_SHORT,
};

/* The matrix of one table: every size with every producers x consumers. */
struct bench_matrix {
	size_t sizes[MQBENCH_MAX_SIZES];
	int nsizes;
	struct { int producers, consumers; } pairs[MQBENCH_MAX_PAIRS];
	int npairs;
};

/* Options that apply to the whole run. */
struct bench_opts {
	struct bench_matrix matrix[NTABLES];
	unsigned int depth;		/* queue depth in messages */
	double duration;		/* seconds per measured run */
	unsigned long msgs;		/* fixed messages per producer; 0: calibrate */
	int reps;			/* measured runs per cell */
	double timeout;			/* seconds before a run is killed */
	const char *json;
	const char *store;		/* --store: device for the mq store */
	const char *disk;		/* --disk: scratch device for raw-disk */
	const char *redis_dir;		/* --redis-dir: redis-server's dir */
	const char *cleaner;		/* --cleaner: device for the cleaner's run */
	unsigned long latency_msgs;	/* one-in-flight samples; 0: none */
	unsigned int batch;		/* ring mechanisms: messages per batch */
	unsigned int ring_msgs;		/* ring mechanisms: messages a ring holds */
	bool verbose;
	enum fault fault;
	size_t max_size;		/* largest size of the IPC table */
};

/* One cell of the matrix. */
struct cell {
	size_t msg_bytes;
	int producers;
	int consumers;
	unsigned int depth;
};

/*
 * Per-cell state of a mechanism. setup() fills it in the parent; the children
 * inherit it across fork() and open their endpoints from it.
 */
struct mech_ctx {
	const struct bench_opts *opts;
	const struct mech_ops *mech;
	struct cell cell;
	unsigned int seq;		/* cell number, for unique names */
	char name[96];			/* queue/object name, if any */
	int fd[2];			/* pipe or socket pair, if any */
	bool stream;			/* reader must loop to get msg_bytes */
	long handle;			/* e.g. a server's pid */
};

/* One process's end of a mechanism. */
struct endpoint {
	const struct mech_ctx *ctx;
	int fd;
	long handle;			/* e.g. an mqd_t */
};

struct run_result;

/*
 * Operations of a mechanism. All return 0 (or a length) on success and a
 * negative errno on failure; parent-side operations print their own error
 * message. Optional operations may be NULL.
 *
 * prepare:	 once, before any cell: check prerequisites and raise
 *		 system limits. An error here stops mqbench before it runs
 *		 anything (exit 2). Mechanisms of the durable table never
 *		 fail here: what they lack makes their cells "n/a" instead
 *		 (unsupported), so the other columns still get measured.
 * restore:	 once, at exit: undo what prepare changed.
 * unsupported: NULL if the cell can be run honestly, else the reason,
 *		 printed as a footnote (the cell shows "n/a", and its JSON
 *		 row has the reason); "" leaves the cell blank (by design
 *		 not measured there, e.g. a second row of a measurement
 *		 that does not depend on the producers): no footnote, no
 *		 JSON row.
 * setup:	 in the parent, once per cell, before any child exists.
 * open_producer, open_consumer: in the child, before the start barrier.
 * send:	 send one message of exactly len bytes; it may only be
 *		 batched, until flush.
 * flush:	 producer: make everything sent so far reach the queue (the
 *		 engine calls it after the last message, after the stop
 *		 messages, and after every message of a latency run).
 * recv:	 receive one message into buf (cap bytes); return its length.
 * peek:	 instead of recv: the next message in place, in *msg, valid
 *		 until the next peek or close (which give its space back);
 *		 return its length.
 * close:	 in the child, after its last message.
 * teardown:	 in the parent, after the cell's last run (also after errors).
 * run:		 instead of the engine's producers and consumers: one timed
 *		 run that moves per_producer messages per producer (however
 *		 the mechanism counts them), checks them and fills res; 0 or
 *		 -1 after printing why. Then open_*, send, recv and close are
 *		 unused.
 * metrics:	 names (JSON keys) of extra numbers that run() puts in
 *		 res->metric[], NULL-terminated; the median of each is
 *		 reported.
 */
struct mech_ops {
	const char *name;
	enum bench_table table;
	bool fifo;			/* messages leave in the order they came */
	int fixed_producers;		/* > 0: uses this many whatever the row */
	bool no_consumer;		/* nothing consumes (JSON: 0 consumers) */
	bool spsc;			/* pairs: producer i to consumer i */
	bool rings;			/* in the rings table, next to devmq */
	int (*prepare)(const struct bench_opts *opts);
	void (*restore)(void);
	const char *(*unsupported)(const struct cell *cell);
	int (*setup)(struct mech_ctx *ctx);
	int (*open_producer)(const struct mech_ctx *ctx, int id,
			     struct endpoint *ep);
	int (*open_consumer)(const struct mech_ctx *ctx, int id,
			     struct endpoint *ep);
	int (*send)(struct endpoint *ep, const void *buf, size_t len);
	int (*flush)(struct endpoint *ep);
	ssize_t (*recv)(struct endpoint *ep, void *buf, size_t cap);
	ssize_t (*peek)(struct endpoint *ep, const void **msg);
	void (*close)(struct endpoint *ep);
	void (*teardown)(struct mech_ctx *ctx);
	int (*run)(const struct mech_ctx *ctx, unsigned long per_producer,
		   struct run_result *res);
	const char *const *metrics;
};

extern const struct mech_ops mech_devmq;
extern const struct mech_ops mech_posix_mq;
extern const struct mech_ops mech_pipe;
extern const struct mech_ops mech_unix_seqpacket;
extern const struct mech_ops mech_mq_ring;
extern const struct mech_ops mech_shm_ring;
extern const struct mech_ops mech_raw_disk;
extern const struct mech_ops mech_devmq_async;
extern const struct mech_ops mech_devmq_sync;
extern const struct mech_ops mech_redis_aof;

/* run.c */
struct run_result {
	double seconds;			/* barrier release to last message */
	uint64_t messages;
	double metric[MQBENCH_MAX_METRICS];	/* mech_ops.metrics */
	/*
	 * Fraction of the messages the least and the most busy consumer
	 * took (NAN with one consumer, or a mechanism's own run).
	 */
	double share_min, share_max;
};

/* A latency run: one message in flight, producer to consumer. */
struct latency_result {
	unsigned long samples;
	double p50_us, p99_us, max_us;
};

#define MQBENCH_LAT_MIN_MSG	32	/* header, time stamp, tail word */
#define MQBENCH_LAT_WARMUP	20	/* first messages, not counted */

int run_cell_once(const struct mech_ops *mech, const struct mech_ctx *ctx,
		  unsigned long per_producer, struct run_result *res);
int run_latency(const struct mech_ops *mech, const struct mech_ctx *ctx,
		unsigned long msgs, struct latency_result *res);
void signals_block(void);
int interrupted(void);

/* util.c */
extern const char *progname;
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void progress_init(void);
void progress(const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void notes_print(FILE *out, int (*rank)(const char *note));
uint64_t now_ns(void);
int find_in_path(const char *name, char *out, size_t len);
extern const struct bench_opts *bench_opts;
int run_command(char *const argv[], char *out, size_t len, double timeout);
void chomp(char *s);
int remove_tree(const char *path);
int sysctl_read_ulong(const char *path, unsigned long *val);
int sysctl_write_ulong(const char *path, unsigned long val);
int sysctl_raise(const char *path, unsigned long want, unsigned long *saved,
		 bool *changed);
ssize_t write_full(int fd, const void *buf, size_t len);
ssize_t read_full(int fd, void *buf, size_t len);
int probe_depth(int wfd, int rfd, size_t msg_bytes, bool stream,
		unsigned int limit);

/* mech_devmq.c: the cell's queue, also under mq-ring */
int devmq_create(struct mech_ctx *ctx, uint32_t durability);
void devmq_delete(const struct mech_ctx *ctx);
void devmq_node_path(const struct mech_ctx *ctx, char *buf, size_t len);
int devmq_prepare(const struct bench_opts *opts);

/* store.c: the mq store under devmq-async and devmq-sync */
const char *store_prepare(const struct bench_opts *opts);
void store_restore(void);
int store_flushes(uint64_t *flushes);

/* nl.c: requests to the generic netlink family "mq" */
struct store_info {
	uint64_t size, flushes;
	uint64_t moved_records, moved_bytes;
	uint32_t segment_size, flush_ms;
	bool have_flushes;
};

/* What cleaner.c measured. */
struct cleaner_result {
	bool ran;
	const char *why;		/* !ran: the reason */
	double rate_alone, rate_stuck;	/* msgs/s */
	double rate_backlog;		/* beside a backlog; 0: not run */
	uint64_t store_bytes, written;	/* written: per run */
	uint64_t moved_records, moved_bytes;
	uint64_t backlog_bytes;		/* the backlog's payload */
	uint64_t backlog_moved_records, backlog_moved_bytes;
	unsigned int msg_bytes;
};

const struct cleaner_result *cleaner_run(const struct bench_opts *opts);
void cleaner_print(FILE *out, const struct cleaner_result *r);
void cleaner_json(FILE *f, const struct cleaner_result *r, bool *first);

const char *durability_name(uint32_t durability);
int mqnl_queue_new(const struct mech_ctx *ctx, uint32_t durability,
		   char *why, size_t len);
int mqnl_queue_del(const char *name, char *why, size_t len);
int mqnl_store(uint8_t cmd, const char *dev, char *why, size_t len);
int mqnl_store_format(const char *dev, uint32_t seg_size, char *why,
		      size_t len);
int mqnl_store_info(struct store_info *si, char *why, size_t len);

#endif /* MQBENCH_H */
