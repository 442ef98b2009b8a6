// SPDX-License-Identifier: GPL-2.0
/*
 * A backlog larger than RAM (tools/vm/check-all.sh runs it in a VM with
 * 512 MiB): format and attach DEV, write SIZE MiB of 64 KiB messages to
 * an async queue with nobody reading, detach and attach again (the
 * backlog comes back as descriptions only), then read everything back and
 * check every byte. The payload kept in memory must stay near the module's
 * cache (cache_mb) throughout, and the guest must not run out of memory.
 *
 *   backlog DEV SIZE_MIB
 *
 * Prints TAP-ish "ok"/"not ok" lines and "N passed, N failed".
 */
#include <stdarg.h>
#include <time.h>

#include "mqtest.h"

#define QNAME	"backlog"
#define MSG	65536

static int pass, fail;

static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (ok)
		pass++;
	else
		fail++;
}

static long mem_available_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long kb = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb / 1024;
}

static int store(struct mqt_nl *nl, uint8_t cmd, const char *dev,
		 uint32_t seg)
{
	struct nl_msg *msg = mqt_msg(nl, cmd, 0);
	struct mqt_reply r;
	int err;

	if (dev)
		nla_put_string(msg, MQ_A_STORE_PATH, dev);
	if (seg)
		nla_put_u32(msg, MQ_A_STORE_SEGMENT_SIZE, seg);
	err = mqt_nl_send(nl, msg, &r);
	if (err)
		printf("# store command %d: %s (%s)\n", cmd, strerror(-err), r.extack);
	mqt_reply_free(&r);
	return err;
}

static void fill(uint64_t *buf, uint64_t seq)
{
	size_t i;

	for (i = 0; i < MSG / 8; i++)
		buf[i] = seq * 0x9e3779b97f4a7c15ULL + i;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	uint64_t *buf = malloc(MSG), *want = malloc(MSG), n, i, bad = 0;
	long mem0, memmin, m;
	struct mqt_nl nl;
	struct nl_msg *msg;
	struct mqt_reply r;
	struct mq_info info;
	double t0;
	int fd;

	if (argc != 3 || mqt_nl_open(&nl)) {
		fprintf(stderr, "usage: backlog DEV SIZE_MIB\n");
		return 2;
	}
	n = strtoull(argv[2], NULL, 10) * (1 << 20) / MSG;
	mem0 = memmin = mem_available_mib();
	printf("# %llu messages of 64 KiB; MemAvailable %ld MiB at start\n",
	       (unsigned long long)n, mem0);
	if (store(&nl, MQ_CMD_STORE_FORMAT, argv[1], 4 << 20) ||
	    store(&nl, MQ_CMD_STORE_ATTACH, argv[1], 0))
		return 1;
	msg = mqt_msg(&nl, MQ_CMD_QUEUE_NEW, 0);
	nla_put_string(msg, MQ_A_QUEUE_NAME, QNAME);
	nla_put_u32(msg, MQ_A_QUEUE_DURABILITY, MQ_DURABILITY_ASYNC);
	nla_put_u32(msg, MQ_A_QUEUE_MAX_MSG, MSG);
	nla_put_u32(msg, MQ_A_QUEUE_CAP_MSGS, n + 10);
	nla_put_u64(msg, MQ_A_QUEUE_CAP_BYTES, (n + 10) * MSG);
	if (mqt_nl_send(&nl, msg, &r)) {
		printf("# create: %s\n", r.extack);
		return 1;
	}
	mqt_reply_free(&r);

	t0 = now();
	fd = mqt_open(QNAME, O_WRONLY);
	for (i = 0; i < n; i++) {
		fill(buf, i);
		if (write(fd, buf, MSG) != MSG) {
			printf("# write %llu: %s\n", (unsigned long long)i, strerror(errno));
			break;
		}
		if (i % 1024 == 0) {
			m = mem_available_mib();
			memmin = m < memmin ? m : memmin;
		}
	}
	close(fd);
	result(i == n, "wrote %llu MiB in %.0f s, MemAvailable never below %ld MiB",
	       (unsigned long long)(i * MSG >> 20), now() - t0, memmin);
	result(memmin > 64, "memory left while the backlog grew (min %ld MiB)", memmin);

	/* Detach and attach: the backlog comes back without its payload. */
	result(!store(&nl, MQ_CMD_STORE_DETACH, NULL, 0) &&
	       !store(&nl, MQ_CMD_STORE_ATTACH, argv[1], 0),
	       "detach and attach with the backlog");
	fd = mqt_open(QNAME, O_RDONLY | O_NONBLOCK);
	memset(&info, 0, sizeof(info));
	if (fd >= 0)
		mqt_info(fd, &info);
	result(info.depth_msgs == n,
	       "all %llu messages back after attach (MemAvailable %ld MiB)",
	       (unsigned long long)info.depth_msgs, mem_available_mib());

	t0 = now();
	for (i = 0; i < n; i++) {
		if (read(fd, buf, MSG) != MSG) {
			printf("# read %llu: %s\n", (unsigned long long)i, strerror(errno));
			break;
		}
		fill(want, i);
		if (memcmp(buf, want, MSG) && bad++ < 5)
			printf("# message %llu differs\n", (unsigned long long)i);
		if (i % 1024 == 0) {
			m = mem_available_mib();
			memmin = m < memmin ? m : memmin;
		}
	}
	result(i == n && !bad, "read back %llu messages in %.0f s, %llu wrong",
	       (unsigned long long)i, now() - t0, (unsigned long long)bad);
	result(read(fd, buf, MSG) < 0 && errno == EAGAIN, "then the queue is empty");
	close(fd);
	store(&nl, MQ_CMD_STORE_DETACH, NULL, 0);
	printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}
