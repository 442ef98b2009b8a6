/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The generic netlink side of mqctl: one socket to the "mq" family per run.
 * Every function that talks to the kernel reports its own errors on stderr
 * and returns an MQCTL_EXIT_* code.
 */
#ifndef MQCTL_NL_H
#define MQCTL_NL_H

#include <stddef.h>
#include <stdint.h>
#include <netlink/genl/genl.h>

/**
 * typedef mq_reply_fn - called for each message the kernel answers with
 * @nlh: the message (generic netlink header, then attributes)
 * @arg: the caller's argument
 *
 * Return: 0, or a negative libnl error (-NLE_*) if the message is
 * malformed; that ends the request with MQCTL_EXIT_KERNEL.
 */
typedef int (*mq_reply_fn)(struct nlmsghdr *nlh, void *arg);

/* Defined by the objects (queue.c): names the key an error blames. */
const char *mq_attr_word(int attr);

int mq_nl_open(void);
void mq_nl_close(void);
struct nl_msg *mq_msg_new(uint8_t cmd, int flags, size_t room);
int mq_request(struct nl_msg *msg, mq_reply_fn fn, void *arg);
int mq_dump(uint8_t cmd, mq_reply_fn fn, void (*restart)(void *arg),
	    void *arg);
int mq_events_join(void);
int mq_events_fd(void);
int mq_events_read(mq_reply_fn fn, void *arg);

#endif /* MQCTL_NL_H */
