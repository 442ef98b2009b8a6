// SPDX-License-Identifier: GPL-2.0
/*
 * Permissions: an unprivileged user cannot create, change or delete queues;
 * the device node carries the queue's mode, owner and group, they are
 * enforced at open(2), and `queue set` changes them at once.
 */
#include <grp.h>
#include <sys/wait.h>

#include "mqtest.h"
#include "kselftest_harness.h"

#define USER_UID	1000
#define USER_GID	1000
#define OTHER_GID	1001

/* Run fn() in a child as uid 1000 (with optional extra group); its exit
 * status is the result. */
static int as_user(int (*fn)(const char *), const char *name, gid_t extra)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		gid_t groups[1] = { extra };

		if (setgroups(extra ? 1 : 0, groups) || setgid(USER_GID) ||
		    setuid(USER_UID))
			_exit(100);
		_exit(fn(name));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int try_open(const char *name, int flags)
{
	int fd = mqt_open(name, flags);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int open_rd(const char *name) { return try_open(name, O_RDONLY); }
static int open_wr(const char *name) { return try_open(name, O_WRONLY); }

static int nl_cmds(const char *name)
{
	struct mqt_nl nl;
	struct mqt_reply r;

	if (mqt_nl_open(&nl))
		return 10;
	/* Reading is for everyone. */
	if (mqt_name_cmd(&nl, MQ_CMD_QUEUE_GET, name, &r))
		return 11;
	mqt_reply_free(&r);
	if (mqt_add(&nl, "perm-new-by-user", NULL, NULL) != -EPERM)
		return 12;
	if (mqt_set_u32(&nl, name, MQ_A_QUEUE_MODE, 0666, NULL) != -EPERM)
		return 13;
	if (mqt_del(&nl, name) != -EPERM)
		return 14;
	mqt_nl_close(&nl);
	return 0;
}

/* Joining "events": every queue's name, owner and limits are in them. */
static int join_events(const char *name)
{
	struct nl_sock *sk = nl_socket_alloc();
	int grp, err;

	if (!sk || genl_connect(sk))
		return 20;
	grp = genl_ctrl_resolve_grp(sk, MQ_GENL_NAME, MQ_GENL_MCGRP_EVENTS);
	if (grp < 0)
		return 21;
	err = nl_socket_add_membership(sk, grp);
	nl_socket_free(sk);
	return err == -NLE_PERM ? EPERM : err ? 22 : 0;
}

FIXTURE(perm) {
	struct mqt_nl nl;
	char name[64];
	char path[128];
};

FIXTURE_SETUP(perm)
{
	struct mqt_limits l = { .mode = 0600 };

	ASSERT_EQ(0, mqt_nl_open(&self->nl));
	MQT_NAME(self->name, "p");
	snprintf(self->path, sizeof(self->path), MQT_DEV_DIR "%s", self->name);
	ASSERT_EQ(0, mqt_add(&self->nl, self->name, &l, NULL));
}

FIXTURE_TEARDOWN(perm)
{
	mqt_del(&self->nl, self->name);
	mqt_nl_close(&self->nl);
}

static mode_t node_mode(const char *path, uid_t *uid, gid_t *gid)
{
	struct stat st;

	if (stat(path, &st))
		return (mode_t)-1;
	*uid = st.st_uid;
	*gid = st.st_gid;
	return st.st_mode & 07777;
}

TEST_F(perm, unprivileged_cannot_change_queues)
{
	uid_t uid;
	gid_t gid;

	EXPECT_EQ(0, as_user(nl_cmds, self->name, 0));
	EXPECT_EQ(0600, node_mode(self->path, &uid, &gid));
	EXPECT_TRUE(mqt_exists(&self->nl, self->name));
}

TEST_F(perm, events_need_cap_net_admin)
{
	EXPECT_EQ(EPERM, as_user(join_events, self->name, 0));
	EXPECT_EQ(0, join_events(self->name));	/* root may */
}

TEST_F(perm, node_mode_enforced)
{
	EXPECT_EQ(EACCES, as_user(open_rd, self->name, 0));
	EXPECT_EQ(EACCES, as_user(open_wr, self->name, 0));
}

TEST_F(perm, set_mode_takes_effect_at_once)
{
	uid_t uid;
	gid_t gid;

	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_MODE,
				 0644, NULL));
	EXPECT_EQ(0644, node_mode(self->path, &uid, &gid));
	EXPECT_EQ(0, as_user(open_rd, self->name, 0));
	EXPECT_EQ(EACCES, as_user(open_wr, self->name, 0));

	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_MODE,
				 0600, NULL));
	EXPECT_EQ(EACCES, as_user(open_rd, self->name, 0));
}

/* Mode 0 means no access for anyone but root, not devtmpfs's 0600. */
TEST_F(perm, mode_zero_is_no_access)
{
	uid_t uid;
	gid_t gid;

	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_UID,
				 USER_UID, NULL));
	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_MODE, 0,
				 NULL));
	EXPECT_EQ(0, node_mode(self->path, &uid, &gid));
	EXPECT_EQ(USER_UID, uid);
	EXPECT_EQ(EACCES, as_user(open_rd, self->name, 0));
}

TEST_F(perm, set_owner_and_group)
{
	uid_t uid;
	gid_t gid;

	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_UID,
				 USER_UID, NULL));
	EXPECT_EQ(0600, node_mode(self->path, &uid, &gid));
	EXPECT_EQ(USER_UID, uid);
	EXPECT_EQ(0, as_user(open_rd, self->name, 0));
	EXPECT_EQ(0, as_user(open_wr, self->name, 0));

	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_UID, 0,
				 NULL));
	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_GID,
				 OTHER_GID, NULL));
	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_MODE,
				 0060, NULL));
	node_mode(self->path, &uid, &gid);
	EXPECT_EQ(OTHER_GID, gid);
	EXPECT_EQ(0, as_user(open_wr, self->name, OTHER_GID));
	EXPECT_EQ(EACCES, as_user(open_wr, self->name, 0));
}

/* An fd opened while access was allowed keeps working, as with files. */
TEST_F(perm, open_fd_survives_tightening)
{
	int opened[2], go[2];
	pid_t pid;
	int status;
	char c = 0;

	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_MODE,
				 0666, NULL));
	ASSERT_EQ(0, pipe(opened));
	ASSERT_EQ(0, pipe(go));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) || setgid(USER_GID) || setuid(USER_UID))
			_exit(100);
		fd = mqt_open(self->name, O_WRONLY);
		if (fd < 0)
			_exit(1);
		if (write(opened[1], "o", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(2);
		_exit(write(fd, "late", 4) == 4 ? 0 : 3);
	}
	ASSERT_EQ(1, read(opened[0], &c, 1));
	ASSERT_EQ(0, mqt_set_u32(&self->nl, self->name, MQ_A_QUEUE_MODE,
				 0600, NULL));
	EXPECT_EQ(EACCES, as_user(open_wr, self->name, 0));
	ASSERT_EQ(1, write(go[1], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
