/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mqbench: message throughput of /dev/mq against other IPC mechanisms.
 *
 * Every mechanism is one struct mech_ops (see the mechs[] table in main.c).
 * The engine (run.c) forks producers and consumers, releases them together,
 * checks every message and times the run; a mechanism only moves messages.
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

/* --inject: make producer 0 misbehave once, to test the checks. */
enum fault {
	FAULT_NONE,
	FAULT_DROP,
	FAULT_DUP,
	FAULT_REORDER,
	FAULT_CORRUPT,
	FAULT_SHORT,
};

/* Options that apply to the whole run. */
struct bench_opts {
	size_t sizes[MQBENCH_MAX_SIZES];
	int nsizes;
	struct { int producers, consumers; } pairs[MQBENCH_MAX_PAIRS];
	int npairs;
	unsigned int depth;		/* queue depth in messages */
	double duration;		/* seconds per measured run */
	unsigned long msgs;		/* fixed messages per producer; 0: calibrate */
	int reps;			/* measured runs per cell */
	double timeout;			/* seconds before a run is killed */
	const char *mqctl;		/* path or name of mqctl */
	const char *json;
	bool verbose;
	enum fault fault;
	size_t max_size;		/* largest of sizes[] */
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
	struct cell cell;
	unsigned int seq;		/* cell number, for unique names */
	char name[96];			/* queue/object name, if any */
	int fd[2];			/* pipe or socket pair, if any */
	bool stream;			/* reader must loop to get msg_bytes */
};

/* One process's end of a mechanism. */
struct endpoint {
	const struct mech_ctx *ctx;
	int fd;
	long handle;			/* e.g. an mqd_t */
};

/*
 * Operations of a mechanism. All return 0 (or a length) on success and a
 * negative errno on failure; parent-side operations print their own error
 * message. Optional operations may be NULL.
 *
 * prepare:	 once, before any cell: check prerequisites and raise
 *		 system limits. An error here stops mqbench before it runs
 *		 anything (exit 2).
 * restore:	 once, at exit: undo what prepare changed.
 * unsupported: NULL if the cell can be run honestly, else the reason,
 *		 printed as a footnote (the cell shows "n/a", no JSON row).
 * setup:	 in the parent, once per cell, before any child exists.
 * open_producer, open_consumer: in the child, before the start barrier.
 * send:	 send one message of exactly len bytes.
 * recv:	 receive one message into buf (cap bytes); return its length.
 * close:	 in the child, after its last message.
 * teardown:	 in the parent, after the cell's last run (also after errors).
 */
struct mech_ops {
	const char *name;
	bool fifo;			/* messages leave in the order they came */
	int (*prepare)(const struct bench_opts *opts);
	void (*restore)(void);
	const char *(*unsupported)(const struct cell *cell);
	int (*setup)(struct mech_ctx *ctx);
	int (*open_producer)(const struct mech_ctx *ctx, int id,
			     struct endpoint *ep);
	int (*open_consumer)(const struct mech_ctx *ctx, int id,
			     struct endpoint *ep);
	int (*send)(struct endpoint *ep, const void *buf, size_t len);
	ssize_t (*recv)(struct endpoint *ep, void *buf, size_t cap);
	void (*close)(struct endpoint *ep);
	void (*teardown)(struct mech_ctx *ctx);
};

extern const struct mech_ops mech_devmq;
extern const struct mech_ops mech_posix_mq;
extern const struct mech_ops mech_pipe;
extern const struct mech_ops mech_unix_seqpacket;

/* run.c */
struct run_result {
	double seconds;			/* barrier release to last message */
	uint64_t messages;
};

int run_cell_once(const struct mech_ops *mech, const struct mech_ctx *ctx,
		  unsigned long per_producer, struct run_result *res);
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
int run_command(char *const argv[], char *out, size_t len);
int sysctl_read_ulong(const char *path, unsigned long *val);
int sysctl_write_ulong(const char *path, unsigned long val);
int sysctl_raise(const char *path, unsigned long want, unsigned long *saved,
		 bool *changed);
ssize_t write_full(int fd, const void *buf, size_t len);
ssize_t read_full(int fd, void *buf, size_t len);
int probe_depth(int wfd, int rfd, size_t msg_bytes, bool stream,
		unsigned int limit);

#endif /* MQBENCH_H */
