// SPDX-License-Identifier: GPL-2.0
/*
 * "mqctl store create FILE size SIZE": a file to back a store, on a loop
 * device.
 *
 * Existing data is never changed: FILE is made (O_EXCL), or an empty
 * regular file is grown, or a regular file of exactly SIZE is taken as it
 * is (a store made before, to attach again after a reboot). A file already
 * on a loop device gives that device, so running create twice is harmless.
 * What this run made or grew is undone if it then fails.
 *
 * The loop device: LOOP_CONFIGURE (Linux 5.8), else LOOP_SET_FD and
 * LOOP_SET_STATUS64; direct I/O, so that the store's writes do not sit
 * twice in the page cache (flushes reach the disk either way: loop turns
 * them into fsync() of FILE); no autoclear, so the device stays when the
 * store is detached.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/loop.h>

#include "mqctl.h"
#include "store.h"

#define LOOP_TRIES	8	/* free devices other programs may take first */

/* What this run did to FILE, to undo on failure. */
enum made { MADE_NOTHING, MADE_FILE, MADE_GROWN };

/* Gives an empty FILE its SIZE, in blocks allocated now where possible. */
static int grow(int fd, const char *file, uint64_t size)
{
	if (!fallocate(fd, 0, 0, size))
		return fsync(fd) ? fail_errno("cannot sync", file) : MQCTL_EXIT_OK;
	if (errno != EOPNOTSUPP)
		return fail_errno("cannot allocate the space of", file);
	fprintf(stderr, "mqctl: warning: %s cannot be preallocated: it is sparse, and a full file system will show as store I/O errors\n",
		file);
	if (ftruncate(fd, size) || fsync(fd))
		return fail_errno("cannot size", file);
	return MQCTL_EXIT_OK;
}

/* Makes FILE or checks the one there; an fd open for reading and writing. */
static int backing_file(const char *file, uint64_t size, int *fd,
			enum made *made)
{
	char have[32], want[32];
	struct stat st;

	*fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (*fd >= 0) {
		*made = MADE_FILE;
		return grow(*fd, file, size);
	}
	if (errno != EEXIST)
		return fail_errno("cannot create", file);
	/* Checked before opening: opening a device or a FIFO is not harmless. */
	if (stat(file, &st))
		return fail_errno("cannot use", file);
	if (!S_ISREG(st.st_mode))
		return fail(MQCTL_EXIT_USAGE, "%s exists and is not a regular file",
			    file);
	if (st.st_size && (uint64_t)st.st_size != size)
		return fail(MQCTL_EXIT_USAGE,
			    "%s exists with %s (%llu bytes), not %s: refusing to change it",
			    file, format_size(have, sizeof(have), st.st_size),
			    (unsigned long long)st.st_size,
			    format_size(want, sizeof(want), size));
	*fd = open(file, O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		return fail_errno("cannot open", file);
	if (fstat(*fd, &st))
		return fail_errno("cannot use", file);
	if (!S_ISREG(st.st_mode) || (st.st_size && (uint64_t)st.st_size != size))
		return fail(MQCTL_EXIT_KERNEL, "%s changed while being checked", file);
	if (st.st_size)
		return MQCTL_EXIT_OK;
	*made = MADE_GROWN;
	return grow(*fd, file, size);
}

/* The loop device @file is already on, if any (as losetup -j finds it). */
static int loop_find(int fd, const char *file, struct loop_file *lf)
{
	char sys[sizeof("/sys/block//loop") + NAME_MAX], *dev = lf->device;
	struct loop_info64 info = {};
	struct dirent *e;
	struct stat st;
	bool found = false;
	DIR *d;
	int lfd;

	if (fstat(fd, &st))
		return fail_errno("cannot use", file);
	d = opendir("/sys/block");
	if (!d)
		return MQCTL_EXIT_OK;	/* no sysfs: no loop device to find */
	while (!found && (e = readdir(d))) {
		/* Only bound devices have a "loop" directory. */
		snprintf(sys, sizeof(sys), "/sys/block/%s/loop", e->d_name);
		if (strncmp(e->d_name, "loop", 4) || access(sys, F_OK))
			continue;
		snprintf(dev, sizeof(lf->device), "/dev/%s", e->d_name);
		lfd = open(dev, O_RDONLY | O_CLOEXEC);
		if (lfd < 0)
			continue;
		found = !ioctl(lfd, LOOP_GET_STATUS64, &info) &&
			kdev_major(info.lo_device) == major(st.st_dev) &&
			kdev_minor(info.lo_device) == minor(st.st_dev) &&
			info.lo_inode == st.st_ino;
		close(lfd);
	}
	closedir(d);
	if (!found) {
		dev[0] = '\0';
		return MQCTL_EXIT_OK;
	}
	if (info.lo_offset || info.lo_sizelimit ||
	    (info.lo_flags & LO_FLAGS_READ_ONLY))
		return fail(MQCTL_EXIT_USAGE,
			    "%s is already on %s, with an offset, a size limit or read-only; detach it first (losetup -d %s)",
			    file, dev, dev);
	return MQCTL_EXIT_OK;
}

/* Binds @lfd to @bfd; returns 0 or an errno. */
static int loop_bind(int lfd, int bfd, const char *file, bool dio)
{
	struct loop_config cfg = { .fd = bfd };
	struct loop_info64 *info = &cfg.info;
	int err;

	snprintf((char *)info->lo_file_name, sizeof(info->lo_file_name), "%s",
		 file);
	info->lo_flags = dio ? LO_FLAGS_DIRECT_IO : 0;
	if (!ioctl(lfd, LOOP_CONFIGURE, &cfg))
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return errno;
	/* Before Linux 5.8: in three steps. */
	if (ioctl(lfd, LOOP_SET_FD, bfd))
		return errno;
	info->lo_flags = 0;
	if (ioctl(lfd, LOOP_SET_STATUS64, info)) {
		err = errno;
		ioctl(lfd, LOOP_CLR_FD, 0);
		return err;
	}
	if (dio)
		ioctl(lfd, LOOP_SET_DIRECT_IO, 1);	/* checked by the caller */
	return 0;
}

static int loop_error(const char *what, const char *path, int err)
{
	errno = err;
	if (err == EACCES || err == EPERM)
		return fail(MQCTL_EXIT_PERM, "%s %s: %s (loop devices need CAP_SYS_ADMIN)",
			    what, path, strerror(err));
	if (err == ENOENT)
		return fail(MQCTL_EXIT_KERNEL, "%s %s: %s (no loop device support? modprobe loop)",
			    what, path, strerror(err));
	return fail_errno(what, path);
}

/* A free loop device, bound to @file; its path in @lf->device. */
static int loop_attach(const char *file, struct loop_file *lf)
{
	struct loop_info64 info = {};
	int ctl, bfd, lfd, n, try, err = EBUSY;
	bool dio = true;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return loop_error("cannot open", "/dev/loop-control", errno);
	/* O_DIRECT also gives the device the logical block size of FILE's disk. */
	bfd = open(file, O_RDWR | O_CLOEXEC | O_DIRECT);
	if (bfd < 0 && errno == EINVAL) {
		dio = false;
		bfd = open(file, O_RDWR | O_CLOEXEC);
	}
	if (bfd < 0) {
		close(ctl);
		return fail_errno("cannot open", file);
	}
	for (try = 0; try < LOOP_TRIES && err == EBUSY; try++) {
		n = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (n < 0) {
			err = errno;
			snprintf(lf->device, sizeof(lf->device), "/dev/loop-control");
			break;
		}
		snprintf(lf->device, sizeof(lf->device), "/dev/loop%d", n);
		lfd = open(lf->device, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			err = errno;
			break;
		}
		err = loop_bind(lfd, bfd, file, dio);
		if (!err && (ioctl(lfd, LOOP_GET_STATUS64, &info) ||
			     !(info.lo_flags & LO_FLAGS_DIRECT_IO)))
			fprintf(stderr, "mqctl: warning: %s: no direct I/O on %s (the file system does not support it): its writes go through the page cache\n",
				lf->device, file);
		close(lfd);
	}
	close(bfd);
	close(ctl);
	return err ? loop_error("cannot attach a loop device:", lf->device, err) :
		     MQCTL_EXIT_OK;
}

/**
 * loop_create() - make FILE (or take it) and put it on a loop device
 * @file: the file, as given
 * @size: its size, bytes: a multiple of 512
 * @lf: what was made
 *
 * Return: an MQCTL_EXIT_* code; errors are already printed.
 */
int loop_create(const char *file, uint64_t size, struct loop_file *lf)
{
	enum made made = MADE_NOTHING;
	int fd = -1, ret;

	memset(lf, 0, sizeof(*lf));
	lf->size = size;
	ret = backing_file(file, size, &fd, &made);
	if (!ret && !realpath(file, lf->file))
		ret = fail_errno("cannot resolve", file);
	if (!ret)
		ret = loop_find(fd, file, lf);
	if (!ret && !lf->device[0])
		ret = loop_attach(lf->file, lf);
	if (ret && made == MADE_FILE)
		unlink(file);
	else if (ret && made == MADE_GROWN && ftruncate(fd, 0))
		fail_errno("cannot empty again", file);
	if (fd >= 0)
		close(fd);
	return ret;
}
