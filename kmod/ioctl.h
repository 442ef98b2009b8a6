/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copying in the extensible ioctl structs of uapi/linux/mq.h: each starts
 * with the caller's "__u32 size".
 */
#ifndef _MQ_IOCTL_H
#define _MQ_IOCTL_H

#include <linux/uaccess.h>
#include <linux/ioctl.h>

/*
 * An ioctl number without its size field: the size is the struct's own
 * (uapi/linux/mq.h), so a number built from a newer or older header, of
 * another size, is the same call.
 */
#define MQ_IOC_NR(cmd)	((cmd) & ~IOCSIZE_MASK)

/*
 * Copy in an ioctl struct: its first u32 is the caller's size, at least
 * @min, at most a page; a larger struct's unknown tail must be zero.
 * Return: the caller's size, or a negative errno.
 */
static inline long mq_ioctl_struct_in(void *karg, size_t ksize, u32 min,
				      void __user *uarg)
{
	u32 usize;
	int err;

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < min)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	err = copy_struct_from_user(karg, ksize, uarg, usize);
	if (err)
		return err;	/* not "err ?: usize": that would be unsigned */
	return usize;
}

#endif /* _MQ_IOCTL_H */
