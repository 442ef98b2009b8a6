// SPDX-License-Identifier: GPL-2.0
/*
 * mq: message queues in the kernel. This file only orders init and exit.
 */

#include <linux/module.h>
#include <linux/moduleparam.h>

#include "queue.h"
#include "registry.h"
#include "durable.h"
#include "chrdev.h"
#include "netlink.h"

#define MQ_MAX_QUEUES_LIMIT	65536

static unsigned int max_queues = 1024;
module_param(max_queues, uint, 0444);
MODULE_PARM_DESC(max_queues, "most queues that may exist at once (1-65536, default 1024)");

static int __init mq_init(void)
{
	int err;

	BUILD_BUG_ON(sizeof(struct mq_info) != MQ_INFO_SIZE_VER1);
	BUILD_BUG_ON(sizeof(struct mq_recv) != MQ_RECV_SIZE_VER0);
	BUILD_BUG_ON(sizeof(struct mq_disk_queue) != 256);
	BUILD_BUG_ON(sizeof(struct mq_disk_rec) != 56);
	BUILD_BUG_ON(sizeof(struct mq_disk_super) > MQ_STORE_BLOCK);
	BUILD_BUG_ON(PAGE_SIZE != MQ_STORE_BLOCK);

	if (max_queues < 1 || max_queues > MQ_MAX_QUEUES_LIMIT) {
		pr_err("max_queues=%u out of range (1-%u)\n", max_queues,
		       MQ_MAX_QUEUES_LIMIT);
		return -EINVAL;
	}

	err = mq_queue_init(max_queues, &mq_chrdev_observer, &mq_durable_ops);
	if (err)
		return err;
	err = mq_chrdev_init(max_queues);
	if (err)
		goto err_queue;
	err = mq_netlink_init();
	if (err)
		goto err_chrdev;
	mq_events_set(&mq_nl_events);
	pr_info("loaded, up to %u queues\n", max_queues);
	return 0;

err_chrdev:
	mq_chrdev_exit();
err_queue:
	mq_queue_exit();
	return err;
}

static void __exit mq_exit(void)
{
	/* Before the family goes: the store's last commit may yet report. */
	mq_events_set(NULL);
	mq_netlink_exit();
	mq_queue_store_detach(true, NULL);	/* saves the durable queues */
	mq_queue_exit();	/* deletes every queue and its device */
	mq_chrdev_exit();
}

module_init(mq_init);
module_exit(mq_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("mq: message queues as character devices, with persistence and replication");
MODULE_AUTHOR("The mq developers");
