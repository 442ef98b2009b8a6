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
#include <linux/mq.h>
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

/**
 * struct mq_errtext - what an error of one request means
 * @error: the errno the kernel answers with; 0 ends a table
 * @text: printed in its place when the kernel's extended ACK says nothing
 * @more: in the entry that ends a table: a table to go on with, or NULL
 */
struct mq_errtext {
	int error;
	const char *text;
	const struct mq_errtext *more;
};

#define MQ_ERRTEXT(e, t)	{ .error = (e), .text = (t) }

#define MQ_NLA_U32	{ .type = NLA_U32, .maxlen = sizeof(uint32_t) }
#define MQ_NLA_U64	{ .type = NLA_U64, .maxlen = sizeof(uint64_t) }

/*
 * The wire types of every MQ_A_* (uapi/linux/mq.h). Replies are validated
 * against these, and requests put each value with the type named here.
 */
extern const struct nla_policy mq_policy[MQ_A_MAX + 1];

/* Defined in keys.c: names the key an error blames. */
const char *mq_attr_word(int attr);

int mq_nl_open(void);
void mq_nl_close(void);
struct nl_msg *mq_msg_new(uint8_t cmd, int flags, size_t room);
int mq_request(struct nl_msg *msg, mq_reply_fn fn, void *arg,
	       const struct mq_errtext *texts);
int mq_dump(uint8_t cmd, mq_reply_fn fn, void (*restart)(void *arg),
	    void *arg);
int mq_events_join(void);
int mq_events_fd(void);
int mq_events_read(mq_reply_fn fn, void *arg);
int mq_parse(struct nlmsghdr *nlh, struct nlattr **tb, int nest,
	     struct nlattr **nb, int nest_max,
	     const struct nla_policy *nest_policy);
void mq_get_numbers(struct nlattr **tb, const struct nla_policy *policy,
		    int max, uint64_t *val, uint64_t *has);

#endif /* MQCTL_NL_H */
