/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _MQ_NETLINK_H
#define _MQ_NETLINK_H

int mq_netlink_init(void);
void mq_netlink_exit(void);

struct mq_store;
void mq_nl_store_event(struct mq_store *s, u8 cmd);

#endif /* _MQ_NETLINK_H */
