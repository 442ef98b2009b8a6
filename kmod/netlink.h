/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _MQ_NETLINK_H
#define _MQ_NETLINK_H

int mq_netlink_init(void);
void mq_netlink_exit(void);

struct mq_event_ops;
extern const struct mq_event_ops mq_nl_events;

#endif /* _MQ_NETLINK_H */
