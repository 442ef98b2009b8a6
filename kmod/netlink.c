// SPDX-License-Identifier: GPL-2.0
/*
 * The generic netlink front-end: family "mq", the control plane for queues.
 * Every attribute is validated by a per-op policy before a handler sees it;
 * every rejection says why in the extended ACK.
 */

#include <linux/module.h>
#include <linux/kdev_t.h>
#include <linux/cred.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "netlink.h"
#include "registry.h"
#include "durable.h"

enum mq_mcgrp {
	MQ_MCGRP_EVENTS,
};

static const struct genl_multicast_group mq_mcgrps[] = {
	/* Every queue's name, owner and limits, the store's device: admins. */
	[MQ_MCGRP_EVENTS] = { .name = MQ_GENL_MCGRP_EVENTS,
			      .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static struct netlink_range_validation mq_max_msg_range = {
	.min = 1,
	.max = MQ_MAX_MSG_LIMIT,
};

static const struct nla_policy mq_queue_name_policy[MQ_A_MAX + 1] = {
	[MQ_A_QUEUE_NAME] = { .type = NLA_NUL_STRING, .len = MQ_NAME_MAX },
};

static const struct nla_policy mq_queue_config_policy[MQ_A_MAX + 1] = {
	[MQ_A_QUEUE_NAME] = { .type = NLA_NUL_STRING, .len = MQ_NAME_MAX },
	[MQ_A_QUEUE_MAX_MSG] = NLA_POLICY_FULL_RANGE(NLA_U32, &mq_max_msg_range),
	[MQ_A_QUEUE_CAP_MSGS] = NLA_POLICY_MIN(NLA_U32, 1),
	[MQ_A_QUEUE_CAP_BYTES] = NLA_POLICY_MIN(NLA_U64, 1),
	[MQ_A_QUEUE_MODE] = NLA_POLICY_MAX(NLA_U32, 0777),
	[MQ_A_QUEUE_UID] = { .type = NLA_U32 },
	[MQ_A_QUEUE_GID] = { .type = NLA_U32 },
	[MQ_A_QUEUE_DURABILITY] = NLA_POLICY_MAX(NLA_U32, MQ_DURABILITY_SYNC),
};

static struct netlink_range_validation mq_seg_size_range = {
	.min = MQ_SEG_MIN,
	.max = MQ_SEG_MAX,
};

static const struct nla_policy mq_store_format_policy[MQ_A_MAX + 1] = {
	[MQ_A_STORE_PATH] = { .type = NLA_NUL_STRING, .len = MQ_STORE_PATH_MAX },
	[MQ_A_STORE_SEGMENT_SIZE] = NLA_POLICY_FULL_RANGE(NLA_U32,
							  &mq_seg_size_range),
};

static const struct nla_policy mq_store_attach_policy[MQ_A_MAX + 1] = {
	[MQ_A_STORE_PATH] = { .type = NLA_NUL_STRING, .len = MQ_STORE_PATH_MAX },
	[MQ_A_STORE_FLUSH_MS] = NLA_POLICY_RANGE(NLA_U32, 1, 10000),
};

static const struct nla_policy mq_store_none_policy[MQ_A_MAX + 1] = {
};

static struct genl_family mq_genl_family;

static int mq_nl_put_stats(struct sk_buff *skb,
			   const struct mq_queue_snapshot *s)
{
	struct nlattr *nest = nla_nest_start(skb, MQ_A_QUEUE_STATS);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, MQ_STAT_MSGS_IN, s->msgs_in, MQ_STAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_STAT_BYTES_IN, s->bytes_in, MQ_STAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_STAT_MSGS_OUT, s->msgs_out, MQ_STAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_STAT_BYTES_OUT, s->bytes_out, MQ_STAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_STAT_DEPTH_MSGS, s->depth_msgs, MQ_STAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_STAT_DEPTH_BYTES, s->depth_bytes, MQ_STAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_STAT_PEAK_MSGS, s->peak_msgs, MQ_STAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_STAT_HEAD_OFFSET, s->head, MQ_STAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_STAT_TAIL_OFFSET, s->tail, MQ_STAT_PAD) ||
	    nla_put_u32(skb, MQ_STAT_BLOCKED_READERS, s->blocked_readers) ||
	    nla_put_u32(skb, MQ_STAT_BLOCKED_WRITERS, s->blocked_writers) ||
	    nla_put_u32(skb, MQ_STAT_OPEN_FDS, s->open_fds)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/*
 * One queue's full description. @ns is the user namespace that uid and gid
 * are shown in: the requester's, or the initial one for events.
 */
static int mq_nl_fill_queue(struct sk_buff *skb, struct mq_queue *q, u8 cmd,
			    u32 portid, u32 seq, int flags,
			    struct user_namespace *ns,
			    struct netlink_callback *cb)
{
	u32 devt = mq_queue_devt(q);
	struct mq_queue_snapshot s;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &mq_genl_family, flags, cmd);
	if (!hdr)
		return -EMSGSIZE;
	if (cb)
		genl_dump_check_consistent(cb, hdr);

	mq_queue_snapshot(q, &s);
	if (nla_put_string(skb, MQ_A_QUEUE_NAME, q->name) ||
	    nla_put_u32(skb, MQ_A_QUEUE_ID, q->id) ||
	    nla_put_u64_64bit(skb, MQ_A_QUEUE_IDENT, q->ident, MQ_A_PAD) ||
	    nla_put_u32(skb, MQ_A_QUEUE_MAX_MSG, s.lim.max_msg) ||
	    nla_put_u32(skb, MQ_A_QUEUE_CAP_MSGS, s.lim.cap_msgs) ||
	    nla_put_u64_64bit(skb, MQ_A_QUEUE_CAP_BYTES, s.lim.cap_bytes,
			      MQ_A_PAD) ||
	    nla_put_u32(skb, MQ_A_QUEUE_MODE, s.mode) ||
	    nla_put_u32(skb, MQ_A_QUEUE_UID, from_kuid_munged(ns, s.uid)) ||
	    nla_put_u32(skb, MQ_A_QUEUE_GID, from_kgid_munged(ns, s.gid)) ||
	    (devt && nla_put_u32(skb, MQ_A_QUEUE_DEVT, devt)) ||
	    nla_put_u32(skb, MQ_A_QUEUE_DURABILITY, s.durability) ||
	    mq_nl_put_stats(skb, &s)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Tell the events group about a queue; under mq_reg_lock (the core's). */
static void mq_nl_queue_event(struct mq_queue *q, enum mq_queue_event ev)
{
	static const u8 cmds[] = {
		[MQ_QUEUE_EV_NEW] = MQ_CMD_QUEUE_NEW,
		[MQ_QUEUE_EV_SET] = MQ_CMD_QUEUE_SET,
		[MQ_QUEUE_EV_DEL] = MQ_CMD_QUEUE_DEL,
	};
	u8 cmd = cmds[ev];
	struct sk_buff *skb;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	if (mq_nl_fill_queue(skb, q, cmd, 0, 0, 0, &init_user_ns, NULL)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_multicast(&mq_genl_family, skb, 0, MQ_MCGRP_EVENTS, GFP_KERNEL);
}

static struct mq_queue *mq_nl_queue_from_attrs(struct genl_info *info)
{
	struct nlattr *attr = info->attrs[MQ_A_QUEUE_NAME];
	struct mq_queue *q;

	if (!attr) {
		GENL_SET_ERR_MSG(info, "missing queue name");
		return ERR_PTR(-EINVAL);
	}
	q = mq_queue_lookup(nla_data(attr));
	if (!q) {
		NL_SET_ERR_MSG_ATTR(info->extack, attr, "no such queue");
		return ERR_PTR(-ENOENT);
	}
	return q;
}

/* uid and gid are read and shown in the requesting socket's namespace. */
static struct user_namespace *mq_nl_user_ns(struct sk_buff *skb)
{
	return sk_user_ns(NETLINK_CB(skb).sk);
}

static int mq_nl_parse_params(struct sk_buff *skb, struct genl_info *info,
			      struct mq_queue_params *p)
{
	struct user_namespace *ns = mq_nl_user_ns(skb);
	struct nlattr **a = info->attrs;

	memset(p, 0, sizeof(*p));
	if (a[MQ_A_QUEUE_MAX_MSG]) {
		p->set |= MQ_P_MAX_MSG;
		p->max_msg = nla_get_u32(a[MQ_A_QUEUE_MAX_MSG]);
	}
	if (a[MQ_A_QUEUE_CAP_MSGS]) {
		p->set |= MQ_P_CAP_MSGS;
		p->cap_msgs = nla_get_u32(a[MQ_A_QUEUE_CAP_MSGS]);
	}
	if (a[MQ_A_QUEUE_CAP_BYTES]) {
		p->set |= MQ_P_CAP_BYTES;
		p->cap_bytes = nla_get_u64(a[MQ_A_QUEUE_CAP_BYTES]);
	}
	if (a[MQ_A_QUEUE_MODE]) {
		p->set |= MQ_P_MODE;
		p->mode = nla_get_u32(a[MQ_A_QUEUE_MODE]);
	}
	if (a[MQ_A_QUEUE_UID]) {
		p->set |= MQ_P_UID;
		p->uid = make_kuid(ns, nla_get_u32(a[MQ_A_QUEUE_UID]));
		if (!uid_valid(p->uid)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a[MQ_A_QUEUE_UID],
					    "invalid owner");
			return -EINVAL;
		}
	}
	if (a[MQ_A_QUEUE_DURABILITY]) {
		p->set |= MQ_P_DURABILITY;
		p->durability = nla_get_u32(a[MQ_A_QUEUE_DURABILITY]);
	}
	if (a[MQ_A_QUEUE_GID]) {
		p->set |= MQ_P_GID;
		p->gid = make_kgid(ns, nla_get_u32(a[MQ_A_QUEUE_GID]));
		if (!gid_valid(p->gid)) {
			NL_SET_ERR_MSG_ATTR(info->extack, a[MQ_A_QUEUE_GID],
					    "invalid group");
			return -EINVAL;
		}
	}
	return 0;
}

static int mq_nl_queue_new(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *name = info->attrs[MQ_A_QUEUE_NAME];
	struct mq_queue_params p;
	struct mq_queue *q;
	int err;

	if (!name) {
		GENL_SET_ERR_MSG(info, "missing queue name");
		return -EINVAL;
	}
	err = mq_nl_parse_params(skb, info, &p);
	if (err)
		return err;
	q = mq_queue_create(nla_data(name), &p, info->extack);
	if (IS_ERR(q)) {
		if (info->extack && !info->extack->bad_attr &&
		    PTR_ERR(q) == -EINVAL)
			info->extack->bad_attr = name;
		return PTR_ERR(q);
	}
	mq_queue_put(q);	/* the core announced it */
	return 0;
}

static int mq_nl_queue_del(struct sk_buff *skb, struct genl_info *info)
{
	struct mq_queue *q = mq_nl_queue_from_attrs(info);
	int err;

	if (IS_ERR(q))
		return PTR_ERR(q);
	err = mq_queue_delete(q);
	if (err == -ENOMEM)
		GENL_SET_ERR_MSG(info, "no memory for the store's catalog; nothing changed");
	else if (err)
		GENL_SET_ERR_MSG(info, "no such queue");
	mq_queue_put(q);
	return err;
}

static int mq_nl_queue_set(struct sk_buff *skb, struct genl_info *info)
{
	struct mq_queue_params p;
	struct mq_queue *q;
	bool applied;
	int err;

	err = mq_nl_parse_params(skb, info, &p);
	if (err)
		return err;
	if (!p.set) {
		GENL_SET_ERR_MSG(info, "nothing to set");
		return -EINVAL;
	}
	q = mq_nl_queue_from_attrs(info);
	if (IS_ERR(q))
		return PTR_ERR(q);
	err = mq_queue_set(q, &p, info->extack, &applied);
	mq_queue_put(q);
	return err;
}

static int mq_nl_queue_get(struct sk_buff *skb, struct genl_info *info)
{
	struct mq_queue *q = mq_nl_queue_from_attrs(info);
	struct sk_buff *msg;
	int err;

	if (IS_ERR(q))
		return PTR_ERR(q);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	err = mq_nl_fill_queue(msg, q, MQ_CMD_QUEUE_GET, info->snd_portid,
			       info->snd_seq, 0, mq_nl_user_ns(skb), NULL);
	if (err) {
		nlmsg_free(msg);
		goto out;
	}
	err = genlmsg_reply(msg, info);
out:
	mq_queue_put(q);
	return err;
}

/* cb->args[0]: the id of the next queue to dump. */
static int mq_nl_queue_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	unsigned long id = cb->args[0];
	struct mq_queue *q;
	int err = 0;

	cb->seq = mq_queue_generation();
	while ((q = mq_queue_get_next(&id))) {
		err = mq_nl_fill_queue(skb, q, MQ_CMD_QUEUE_GET,
				       NETLINK_CB(cb->skb).portid,
				       cb->nlh->nlmsg_seq, NLM_F_MULTI,
				       mq_nl_user_ns(cb->skb), cb);
		mq_queue_put(q);
		if (err)
			break;
		cb->args[0] = id;
	}
	/* A full skb ends this part of the dump; the next call goes on. */
	if (err == -EMSGSIZE && skb->len)
		return skb->len;
	return err ?: skb->len;
}

/* ---- the store ---- */

static int mq_nl_fill_store(struct sk_buff *skb, struct mq_store *s, u8 cmd,
			    u32 portid, u32 seq)
{
	struct mq_store_stats st;
	struct nlattr *nest;
	void *hdr;

	hdr = genlmsg_put(skb, portid, seq, &mq_genl_family, 0, cmd);
	if (!hdr)
		return -EMSGSIZE;
	mq_queue_store_stats(s, &st);
	if (nla_put_string(skb, MQ_A_STORE_PATH, st.path) ||
	    nla_put_u32(skb, MQ_A_STORE_SEGMENT_SIZE, st.seg_size) ||
	    nla_put_u32(skb, MQ_A_STORE_FLUSH_MS, st.flush_ms))
		goto cancel;
	nest = nla_nest_start(skb, MQ_A_STORE_INFO);
	if (!nest)
		goto cancel;
	if (nla_put_u32(skb, MQ_SSTAT_DEVT, st.devt) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_SIZE, st.size, MQ_SSTAT_PAD) ||
	    nla_put_u32(skb, MQ_SSTAT_SEGMENT_SIZE, st.seg_size) ||
	    nla_put_u32(skb, MQ_SSTAT_SEGMENTS, st.segments) ||
	    nla_put_u32(skb, MQ_SSTAT_SEGMENTS_USED, st.segments_used) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_BYTES_USED, st.bytes_used, MQ_SSTAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_BYTES_FREE, st.bytes_free, MQ_SSTAT_PAD) ||
	    nla_put_u32(skb, MQ_SSTAT_STATE, st.state) ||
	    nla_put_u32(skb, MQ_SSTAT_FLUSH_MS, st.flush_ms) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_FLUSHES, st.flushes, MQ_SSTAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_FLUSH_NS_AVG, st.flush_ns_avg, MQ_SSTAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_FLUSH_NS_MAX, st.flush_ns_max, MQ_SSTAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_BYTES_WRITTEN, st.bytes_written, MQ_SSTAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_RECORDS, st.records, MQ_SSTAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_IO_ERRORS, st.io_errors, MQ_SSTAT_PAD) ||
	    nla_put_u32(skb, MQ_SSTAT_QUEUES, st.queues) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_GENERATION, st.generation, MQ_SSTAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_RECOVERED_MSGS, st.recovered_msgs, MQ_SSTAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_CORRUPT_BYTES, st.corrupt_bytes, MQ_SSTAT_PAD) ||
	    nla_put_u32(skb, MQ_SSTAT_CLEAN, st.clean) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_MOVED_RECORDS, st.moved_records, MQ_SSTAT_PAD) ||
	    nla_put_u64_64bit(skb, MQ_SSTAT_MOVED_BYTES, st.moved_bytes, MQ_SSTAT_PAD)) {
		nla_nest_cancel(skb, nest);
		goto cancel;
	}
	nla_nest_end(skb, nest);
	genlmsg_end(skb, hdr);
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/* Tell the events group about a store. */
static void mq_nl_store_event(struct mq_store *s, enum mq_store_event ev)
{
	static const u8 cmds[] = {
		[MQ_STORE_EV_ATTACHED] = MQ_CMD_STORE_ATTACH,
		[MQ_STORE_EV_DETACHED] = MQ_CMD_STORE_DETACH,
		[MQ_STORE_EV_CHANGED] = MQ_CMD_STORE_GET,
	};
	u8 cmd = cmds[ev];
	struct sk_buff *skb;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return;
	if (mq_nl_fill_store(skb, s, cmd, 0, 0)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_multicast(&mq_genl_family, skb, 0, MQ_MCGRP_EVENTS, GFP_KERNEL);
}

const struct mq_event_ops mq_nl_events = {
	.queue = mq_nl_queue_event,
	.store = mq_nl_store_event,
};

/* Opening block devices by path is for the host's administrator. */
static const char *mq_nl_store_path(struct genl_info *info)
{
	struct nlattr *attr = info->attrs[MQ_A_STORE_PATH];

	if (!attr) {
		GENL_SET_ERR_MSG(info, "missing store device path");
		return ERR_PTR(-EINVAL);
	}
	if (!capable(CAP_SYS_ADMIN)) {
		GENL_SET_ERR_MSG(info, "opening a block device needs CAP_SYS_ADMIN");
		return ERR_PTR(-EPERM);
	}
	return nla_data(attr);
}

static int mq_nl_store_format(struct sk_buff *skb, struct genl_info *info)
{
	const char *path = mq_nl_store_path(info);
	u32 seg = 0;

	if (IS_ERR(path))
		return PTR_ERR(path);
	if (info->attrs[MQ_A_STORE_SEGMENT_SIZE])
		seg = nla_get_u32(info->attrs[MQ_A_STORE_SEGMENT_SIZE]);
	return mq_queue_store_format(path, seg, info->extack);
}

static int mq_nl_store_attach(struct sk_buff *skb, struct genl_info *info)
{
	const char *path = mq_nl_store_path(info);
	u32 ms = 0;

	if (IS_ERR(path))
		return PTR_ERR(path);
	if (info->attrs[MQ_A_STORE_FLUSH_MS])
		ms = nla_get_u32(info->attrs[MQ_A_STORE_FLUSH_MS]);
	return mq_queue_store_attach(path, ms, info->extack);
}

static int mq_nl_store_detach(struct sk_buff *skb, struct genl_info *info)
{
	if (!capable(CAP_SYS_ADMIN)) {
		GENL_SET_ERR_MSG(info, "detaching a store needs CAP_SYS_ADMIN");
		return -EPERM;
	}
	return mq_queue_store_detach(false, info->extack);
}

static int mq_nl_store_get(struct sk_buff *skb, struct genl_info *info)
{
	struct mq_store *s = mq_queue_store_get();
	struct sk_buff *msg;
	int err;

	if (!s) {
		GENL_SET_ERR_MSG(info, "no store attached");
		return -ENODEV;
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		err = -ENOMEM;
		goto out;
	}
	err = mq_nl_fill_store(msg, s, MQ_CMD_STORE_GET, info->snd_portid,
			       info->snd_seq);
	if (err) {
		nlmsg_free(msg);
		goto out;
	}
	err = genlmsg_reply(msg, info);
out:
	mq_queue_store_put(s);
	return err;
}

static const struct genl_ops mq_genl_ops[] = {
	{
		.cmd = MQ_CMD_QUEUE_NEW,
		.doit = mq_nl_queue_new,
		.policy = mq_queue_config_policy,
		.maxattr = MQ_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = MQ_CMD_QUEUE_DEL,
		.doit = mq_nl_queue_del,
		.policy = mq_queue_name_policy,
		.maxattr = MQ_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = MQ_CMD_QUEUE_GET,
		.doit = mq_nl_queue_get,
		.dumpit = mq_nl_queue_dump,
		.policy = mq_queue_name_policy,
		.maxattr = MQ_A_MAX,
	},
	{
		.cmd = MQ_CMD_QUEUE_SET,
		.doit = mq_nl_queue_set,
		.policy = mq_queue_config_policy,
		.maxattr = MQ_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = MQ_CMD_STORE_FORMAT,
		.doit = mq_nl_store_format,
		.policy = mq_store_format_policy,
		.maxattr = MQ_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = MQ_CMD_STORE_ATTACH,
		.doit = mq_nl_store_attach,
		.policy = mq_store_attach_policy,
		.maxattr = MQ_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = MQ_CMD_STORE_DETACH,
		.doit = mq_nl_store_detach,
		.policy = mq_store_none_policy,
		.maxattr = MQ_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = MQ_CMD_STORE_GET,
		.doit = mq_nl_store_get,
		.policy = mq_store_none_policy,
		.maxattr = MQ_A_MAX,
	},
};

static struct genl_family mq_genl_family __ro_after_init = {
	.name = MQ_GENL_NAME,
	.version = MQ_GENL_VERSION,
	.maxattr = MQ_A_MAX,
	.module = THIS_MODULE,
	/*
	 * Not under genl_mutex: a command waiting for the store's device
	 * (a catalog write) must not stall every generic netlink family.
	 * The core does its own locking.
	 */
	.parallel_ops = true,
	.ops = mq_genl_ops,
	.n_ops = ARRAY_SIZE(mq_genl_ops),
	.mcgrps = mq_mcgrps,
	.n_mcgrps = ARRAY_SIZE(mq_mcgrps),
};

/**
 * mq_netlink_init - register the generic netlink family "mq"
 *
 * Return: 0 or a negative errno.
 */
int __init mq_netlink_init(void)
{
	return genl_register_family(&mq_genl_family);
}

/**
 * mq_netlink_exit - unregister the family; no handler runs after this
 */
void mq_netlink_exit(void)
{
	genl_unregister_family(&mq_genl_family);
}
