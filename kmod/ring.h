/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rings front-end: mmap'd TX and RX rings (uapi/linux/mq.h, "Rings").
 * The chrdev front-end passes MQ_IOC_RING_SETUP here; the ring fd it
 * returns is this front-end's own.
 */
#ifndef _MQ_RING_H
#define _MQ_RING_H

#include <linux/fs.h>

#include "queue.h"

int mq_ring_setup(struct file *qfile, struct mq_queue *q,
		  struct mq_ring_setup *s, void __user *uarg, u32 usize);

#endif /* _MQ_RING_H */
