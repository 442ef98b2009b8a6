/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _MQ_CHRDEV_H
#define _MQ_CHRDEV_H

#include "queue.h"

extern const struct mq_queue_observer mq_chrdev_observer;

int mq_chrdev_init(unsigned int max_queues);
void mq_chrdev_exit(void);

#endif /* _MQ_CHRDEV_H */
