// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: raw-disk, the ceiling of the disk under the store. One writer
 * does sequential O_DIRECT pwrite()s of 4 KiB at queue depth 1 on a
 * scratch device (--disk) of the same virtual disk as the store, then:
 *
 *   bandwidth  N writes from where the last run stopped (wrapping at the
 *              end of the device), then one fdatasync(): N divided by the
 *              time from the first write to the end of that flush is the
 *              rate, in 4 KiB writes per second (the "messages" here).
 *   flush      up to FLUSH_SAMPLES times one 4 KiB write then fdatasync(),
 *              timing the fdatasync() alone: with nothing dirty in the
 *              page cache (O_DIRECT) that is one FLUSH request to the
 *              device and back. Its mean and 99th percentile, and the
 *              rate of write+flush pairs (a lone synchronous writer's
 *              ceiling), are extra numbers of the run.
 *   large      for comparison, 1 MiB O_DIRECT writes for about half the
 *              run's target time (at most LARGE_MAX of them, so the host
 *              is not left flushing gigabytes into the next mechanism's
 *              run), then fdatasync(): MB/s. At queue depth 1 the 4 KiB
 *              figure is bound by the time per request (long under QEMU's
 *              TCG), not by the disk's bandwidth.
 *
 * Every block written carries (run, index); the first and the last block
 * of each run are read back and checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mqbench.h"

#define BLOCK		4096
#define LARGE		(1 << 20)
#define LARGE_MIN	8		/* large writes per run, at least */
#define LARGE_MAX	256		/* and at most */
#define MIN_DEVICE	(64ULL << 20)
#define FLUSH_SAMPLES	500
#define FLUSH_MIN	20
#define STAMP_MAGIC	0x6d71426bu	/* "mqBk" */

struct stamp {
	uint32_t magic;
	uint32_t run;
	uint64_t index;
	uint64_t offset;
};

static const char *reason;
static char reason_buf[512];
static uint64_t dev_size;		/* usable bytes, a multiple of BLOCK */
static uint64_t next_off;		/* where the next write goes */
static uint32_t run_no;

static int raw_open(const char *path, uint64_t *size)
{
	struct stat st;
	int fd, err;

	fd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		goto err;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			goto err;
	} else if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else {
		errno = ENOTBLK;
		goto err;
	}
	*size &= ~(uint64_t)(BLOCK - 1);
	return fd;
err:
	err = errno;
	close(fd);
	return -err;
}

static int raw_prepare(const struct bench_opts *opts)
{
	int fd;

	if (!opts->disk) {
		reason = "raw-disk: no --disk DEV given";
		return 0;
	}
	fd = raw_open(opts->disk, &dev_size);
	if (fd < 0) {
		snprintf(reason_buf, sizeof(reason_buf),
			 "raw-disk: cannot open %s for O_DIRECT writes: %s",
			 opts->disk, strerror(-fd));
		reason = reason_buf;
		return 0;
	}
	close(fd);
	if (dev_size < MIN_DEVICE) {
		snprintf(reason_buf, sizeof(reason_buf),
			 "raw-disk: %s has %llu bytes, want at least %llu",
			 opts->disk, (unsigned long long)dev_size, MIN_DEVICE);
		reason = reason_buf;
		return 0;
	}
	note("raw-disk: %s (%llu MiB, its contents destroyed), measured in the first 4096 B row: one writer, sequential 4 KiB O_DIRECT pwrite() at queue depth 1; msgs/s = 4 KiB writes/s up to and including one fdatasync() at the end of the run. Flush: 4 KiB write, then fdatasync() timed alone (a FLUSH round trip), up to %d per run; for comparison up to %d MiB in 1 MiB O_DIRECT writes and one fdatasync()",
	     opts->disk, (unsigned long long)(dev_size >> 20), FLUSH_SAMPLES,
	     LARGE_MAX);
	return 0;
}

/* One writer whatever the row: measured once, in the first 4096 B row. */
static const char *raw_unsupported(const struct cell *cell)
{
	const struct bench_matrix *mx = &bench_opts->matrix[TABLE_DURABLE];

	if (cell->msg_bytes != BLOCK)
		return "";
	if (cell->producers != mx->pairs[0].producers ||
	    cell->consumers != mx->pairs[0].consumers)
		return "";
	return reason;
}

static int raw_setup(struct mech_ctx *ctx)
{
	uint64_t size;
	void *buf;
	int fd;

	fd = raw_open(ctx->opts->disk, &size);
	if (fd < 0) {
		errmsg("raw-disk: open %s: %s", ctx->opts->disk, strerror(-fd));
		return fd;
	}
	if (posix_memalign(&buf, BLOCK, LARGE)) {
		close(fd);
		return -ENOMEM;
	}
	memset(buf, 0xa5, LARGE);
	ctx->fd[0] = fd;
	ctx->handle = (long)buf;
	return 0;
}

static void raw_teardown(struct mech_ctx *ctx)
{
	close(ctx->fd[0]);
	free((void *)ctx->handle);
}

/* Write len bytes at next_off, and move on (to 0 at the end). */
static int write_next(int fd, const void *buf, size_t len)
{
	ssize_t n;

	do {
		n = pwrite(fd, buf, len, (off_t)next_off);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)len) {
		errmsg("raw-disk: pwrite of %zu B at %llu: %s", len,
		       (unsigned long long)next_off,
		       n < 0 ? strerror(errno) : "short write");
		return -EIO;
	}
	next_off += len;
	if (next_off >= dev_size)
		next_off = 0;
	return 0;
}

/* Write block index of this run at next_off, and move on. */
static int write_block(int fd, void *buf, uint64_t index, uint64_t *off)
{
	struct stamp st = { STAMP_MAGIC, run_no, index, next_off };

	memcpy(buf, &st, sizeof(st));
	*off = next_off;
	return write_next(fd, buf, BLOCK);
}

/* One 1 MiB write at next_off (block-aligned; restarts at 0 near the end). */
static int write_large(int fd, void *buf)
{
	if (next_off + LARGE > dev_size)
		next_off = 0;
	return write_next(fd, buf, LARGE);
}

static int check_block(int fd, void *buf, uint64_t index, uint64_t off)
{
	struct stamp st;
	ssize_t n;

	n = pread(fd, buf, BLOCK, (off_t)off);
	memcpy(&st, buf, sizeof(st));
	if (n != BLOCK || st.magic != STAMP_MAGIC || st.run != run_no ||
	    st.index != index || st.offset != off) {
		errmsg("raw-disk: block %llu of run %u at %llu did not read back as written",
		       (unsigned long long)index, run_no,
		       (unsigned long long)off);
		return -EIO;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int raw_run(const struct mech_ctx *ctx, unsigned long per_producer,
		   struct run_result *res)
{
	uint64_t flush_ns[FLUSH_SAMPLES], t0, t1, sum = 0, first_off, last_off;
	uint64_t budget = (uint64_t)(ctx->opts->duration / 2 * 1e9);
	void *buf = (void *)ctx->handle;
	int fd = ctx->fd[0], n = 0;
	unsigned long i;

	run_no++;
	t0 = now_ns();
	for (i = 0; i < per_producer; i++)
		if (write_block(fd, buf, i, i ? &last_off : &first_off))
			return -1;
	if (fdatasync(fd) < 0) {
		errmsg("raw-disk: fdatasync: %s", strerror(errno));
		return -1;
	}
	t1 = now_ns();
	if (per_producer == 1)
		last_off = first_off;
	/* (The first block is overwritten if the run wrapped around.) */
	if ((per_producer < dev_size / BLOCK &&
	     check_block(fd, buf, 0, first_off)) ||
	    check_block(fd, buf, per_producer - 1, last_off))
		return -1;
	res->messages = per_producer;
	res->seconds = (double)(t1 - t0) / 1e9;

	t0 = now_ns();
	while (n < FLUSH_SAMPLES &&
	       (n < FLUSH_MIN || now_ns() - t0 < budget)) {
		uint64_t off, f0;

		if (write_block(fd, buf, per_producer + n, &off))
			return -1;
		f0 = now_ns();
		if (fdatasync(fd) < 0) {
			errmsg("raw-disk: fdatasync: %s", strerror(errno));
			return -1;
		}
		flush_ns[n] = now_ns() - f0;
		sum += flush_ns[n++];
	}
	t1 = now_ns();
	qsort(flush_ns, n, sizeof(flush_ns[0]), cmp_u64);
	res->metric[0] = (double)sum / n / 1e3;
	res->metric[1] = (double)flush_ns[(n * 99 + 99) / 100 - 1] / 1e3;
	res->metric[2] = n / ((double)(t1 - t0) / 1e9);

	t0 = now_ns();
	for (n = 0; n < LARGE_MIN || (n < LARGE_MAX && now_ns() - t0 < budget);
	     n++)
		if (write_large(fd, buf))
			return -1;
	if (fdatasync(fd) < 0) {
		errmsg("raw-disk: fdatasync: %s", strerror(errno));
		return -1;
	}
	t1 = now_ns();
	res->metric[3] = (double)n * LARGE / 1e6 / ((double)(t1 - t0) / 1e9);
	return 0;
}

static const char *const raw_metrics[] = {
	"flush_us_mean", "flush_us_p99", "write_flush_per_sec",
	"mb_per_sec_1m_writes", NULL,
};

const struct mech_ops mech_raw_disk = {
	.name = "raw-disk",
	.table = TABLE_DURABLE,
	.fixed_producers = 1,
	.no_consumer = true,
	.prepare = raw_prepare,
	.unsupported = raw_unsupported,
	.setup = raw_setup,
	.teardown = raw_teardown,
	.run = raw_run,
	.metrics = raw_metrics,
};
