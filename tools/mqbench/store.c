// SPDX-License-Identifier: GPL-2.0
/*
 * mqbench: the mq store under devmq-async and devmq-sync.
 *
 * Once per run, over generic netlink (nl.c): format and attach the store
 * on --store, then make and delete a probe queue of each durability, so
 * that a kernel without durable queues shows as "n/a" with the reason
 * instead of a failed cell. At exit: detach it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/mq.h>

#include "mqbench.h"

static bool attached;
static char reason[640];

/* The probe: can a durable queue of each kind be made in this store? */
static int probe(const struct bench_opts *opts)
{
	static const uint32_t kinds[] = { MQ_DURABILITY_ASYNC,
					  MQ_DURABILITY_SYNC };
	struct mech_ctx ctx = {
		.opts = opts,
		.cell = { .msg_bytes = 4096, .producers = 1, .consumers = 1,
			  .depth = opts->depth },
	};
	char why[512];
	unsigned int i;
	int ret;

	snprintf(ctx.name, sizeof(ctx.name), "mqbench-probe-%d", (int)getpid());
	for (i = 0; i < ARRAY_SIZE(kinds); i++) {
		ret = mqnl_queue_new(&ctx, kinds[i], why, sizeof(why));
		if (ret) {
			snprintf(reason, sizeof(reason),
				 "cannot make a durable queue: %s", why);
			return ret;
		}
		if (mqnl_queue_del(ctx.name, why, sizeof(why)))
			errmsg("store: %s", why);
	}
	return 0;
}

/**
 * store_prepare() - format and attach the store on opts->store
 * @opts: the run's options
 *
 * Return: NULL when durable queues can be made, else why not (for the
 * "n/a" footnote).
 */
const char *store_prepare(const struct bench_opts *opts)
{
	char layout[128] = "default segment size and flush interval";
	struct store_info si;
	struct stat st;
	char why[512];

	if (!opts->store)
		return "no --store DEV given";
	if (stat(opts->store, &st) || !S_ISBLK(st.st_mode)) {
		snprintf(reason, sizeof(reason), "store not attached: %s is not a block device",
			 opts->store);
		return reason;
	}
	if (mqnl_store(MQ_CMD_STORE_FORMAT, opts->store, why, sizeof(why)) ||
	    mqnl_store(MQ_CMD_STORE_ATTACH, opts->store, why, sizeof(why))) {
		snprintf(reason, sizeof(reason), "store not attached: %s", why);
		return reason;
	}
	attached = true;
	if (probe(opts))
		return reason;
	if (!mqnl_store_info(&si, why, sizeof(why)))
		snprintf(layout, sizeof(layout), "%llu MiB, segments of %u KiB, async flush interval %u ms",
			 (unsigned long long)(si.size >> 20),
			 si.segment_size >> 10, si.flush_ms);
	note("devmq-async, devmq-sync: store on %s, formatted and attached over generic netlink (as 'mqctl store format DEV force', 'mqctl store attach DEV'): %s",
	     opts->store, layout);
	return NULL;
}

/**
 * store_restore() - detach the store if store_prepare() attached it
 */
void store_restore(void)
{
	char why[512];

	if (!attached)
		return;
	attached = false;
	if (mqnl_store(MQ_CMD_STORE_DETACH, NULL, why, sizeof(why)))
		errmsg("store: %s", why);
}

/**
 * store_flushes() - the attached store's flush (commit) counter
 * @flushes: filled on success
 *
 * Return: 0, or a negative errno (quietly: the number is only a footnote).
 */
int store_flushes(uint64_t *flushes)
{
	struct store_info si;
	char why[512];
	int ret;

	ret = mqnl_store_info(&si, why, sizeof(why));
	if (ret)
		return ret;
	if (!si.have_flushes)
		return -ENODATA;
	*flushes = si.flushes;
	return 0;
}
