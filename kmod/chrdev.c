// SPDX-License-Identifier: GPL-2.0
/*
 * The character device front-end: /dev/mq/NAME, one device per queue, one
 * cdev for the whole minor range (minor == queue id). The node carries the
 * queue's mode, owner and group; the VFS checks them at open(2). The
 * devices are this file's own, in a table indexed by minor: the core
 * knows only that a front-end follows its queues (mq_chrdev_observer).
 */

#include <linux/module.h>
#include <linux/fs.h>
#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#include "chrdev.h"
#include "ring.h"
#include "ioctl.h"

static dev_t mq_devt;
static unsigned int mq_minors;
static struct cdev mq_cdev;
static struct class *mq_class;
/*
 * Each queue's device, by minor. Changed only by the observer's calls,
 * which the core makes under its registry lock, one at a time; a minor
 * belongs to one registered queue at a time.
 */
static struct device **mq_devs;

/*
 * An open file description of a queue: its own state, apart from the
 * queue's (file->private_data).
 */
struct mq_file {
	struct mq_queue *q;
};

static struct mq_queue *mq_file_queue(struct file *file)
{
	struct mq_file *mf = file->private_data;

	return mf->q;
}

/*
 * The node's access. Its name comes from the device's, "mq!NAME", which
 * the driver core turns into "mq/NAME": were this callback to allocate
 * the name and fail, devtmpfs would fall back to the bare device name
 * and create /dev/NAME.
 */
static char *mq_devnode(struct device *dev, umode_t *mode, kuid_t *uid,
			kgid_t *gid)
{
	struct mq_queue *q = dev_get_drvdata(dev);

	if (mode || uid || gid) {
		spin_lock(&q->lock);
		/* devtmpfs turns a mode of 0 into 0600: keep the type bit. */
		if (mode)
			*mode = S_IFCHR | q->mode;
		if (uid)
			*uid = q->uid;
		if (gid)
			*gid = q->gid;
		spin_unlock(&q->lock);
	}
	return NULL;
}

static const struct device_type mq_dev_type = {
	.name = "mq_queue",
	.devnode = mq_devnode,
};

static void mq_dev_release(struct device *dev)
{
	kfree(dev);
}

/*
 * A queue's device, allocated and named but not yet added: everything
 * that can fail in the caller's context, done before anything changes.
 */
static void *mq_chrdev_prepare(struct mq_queue *q)
{
	struct device *dev;
	int err;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	device_initialize(dev);
	dev->devt = MKDEV(MAJOR(mq_devt), q->id);
	dev->class = mq_class;
	dev->type = &mq_dev_type;
	dev->release = mq_dev_release;
	dev_set_drvdata(dev, q);
	err = dev_set_name(dev, "mq!%s", q->name);
	if (err) {
		put_device(dev);
		return ERR_PTR(err);
	}
	return dev;
}

struct mq_dev_swap {
	struct work_struct work;
	struct device *old;
	struct device *new;
	int err;
};

static void mq_dev_swap_fn(struct work_struct *work)
{
	struct mq_dev_swap *s = container_of(work, struct mq_dev_swap, work);

	if (s->old)
		device_del(s->old);
	if (s->new)
		s->err = device_add(s->new);
}

/*
 * Take @old's node away and put @new's in place, in a kernel worker, and
 * wait for it. The driver core ignores devtmpfs failures: the node's path
 * is allocated in the calling task (device_get_devnode()), and if that
 * fails, device_add() goes on without a node and device_del() leaves the
 * old one behind, with its old mode and owner, and a minor a later queue
 * may get. An allocation can fail in a task that is being killed (or under
 * fault injection), never this small one in a worker. Consumes @old and,
 * on failure, @new.
 */
static int mq_dev_swap(struct device *old, struct device *new)
{
	struct mq_dev_swap s = { .old = old, .new = new };

	INIT_WORK_ONSTACK(&s.work, mq_dev_swap_fn);
	queue_work(system_unbound_wq, &s.work);
	flush_work(&s.work);
	destroy_work_on_stack(&s.work);
	if (old)
		put_device(old);
	if (s.err && new)
		put_device(new);
	return s.err;
}

static int mq_chrdev_added(struct mq_queue *q)
{
	struct device *dev = mq_chrdev_prepare(q);
	int err;

	if (IS_ERR(dev))
		return PTR_ERR(dev);
	err = mq_dev_swap(NULL, dev);
	if (err)
		return err;
	mq_devs[q->id] = dev;
	return 0;
}

static void mq_chrdev_removed(struct mq_queue *q)
{
	struct device *dev = mq_devs[q->id];

	if (dev && !WARN_ON_ONCE(dev_get_drvdata(dev) != q)) {
		mq_dev_swap(dev, NULL);
		mq_devs[q->id] = NULL;
	}
}

/*
 * devtmpfs sets a node's mode and owner only when it creates it, so new
 * access is applied by creating the node again (same dev_t), from a
 * device @prepared before the access changed. Open fds are not affected;
 * an open(2) racing with the change may fail with ENOENT or EACCES while
 * the node is replaced.
 */
static int mq_chrdev_changed(struct mq_queue *q, void *prepared)
{
	struct device *old = mq_devs[q->id];
	int err;

	mq_devs[q->id] = NULL;
	err = mq_dev_swap(old, prepared);
	if (!err)
		mq_devs[q->id] = prepared;
	return err;
}

/* The node's device number: the queue's minor in our region. */
static u32 mq_chrdev_devt(const struct mq_queue *q)
{
	return new_encode_dev(MKDEV(MAJOR(mq_devt), q->id));
}

const struct mq_queue_observer mq_chrdev_observer = {
	.added = mq_chrdev_added,
	.removed = mq_chrdev_removed,
	.prepare = mq_chrdev_prepare,
	.changed = mq_chrdev_changed,
	.devt = mq_chrdev_devt,
};

static int mq_open(struct inode *inode, struct file *file)
{
	struct mq_queue *q = mq_queue_get_by_id(iminor(inode));
	int mask = 0, err;
	struct mq_file *mf;

	if (!q)
		return -ENXIO;
	if (file->f_mode & FMODE_READ)
		mask |= MAY_READ;
	if (file->f_mode & FMODE_WRITE)
		mask |= MAY_WRITE;
	/* The VFS checked the node; the queue's own access decides too. */
	mf = kzalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
	if (!mf) {
		err = -ENOMEM;
		goto err_put;
	}
	err = mq_queue_open(q, mask);
	if (err)
		goto err_free;
	mf->q = q;
	file->private_data = mf;
	return stream_open(inode, file);

err_free:
	kfree(mf);
err_put:
	mq_queue_put(q);
	return err;
}

static int mq_release(struct inode *inode, struct file *file)
{
	struct mq_file *mf = file->private_data;

	mq_queue_close(mf->q);
	mq_queue_put(mf->q);
	kfree(mf);
	return 0;
}

static bool mq_nonblock(struct kiocb *iocb)
{
	return (iocb->ki_filp->f_flags & O_NONBLOCK) ||
	       (iocb->ki_flags & IOCB_NOWAIT);
}

static ssize_t mq_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	return mq_queue_read(mq_file_queue(iocb->ki_filp), to,
			     mq_nonblock(iocb), NULL);
}

static ssize_t mq_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	return mq_queue_write(mq_file_queue(iocb->ki_filp), from,
			      mq_nonblock(iocb));
}

/*
 * Plain read(2)/write(2) come here without a kiocb; readv/writev, aio and
 * io_uring take the _iter paths. Same semantics either way.
 */
static ssize_t mq_read(struct file *file, char __user *buf, size_t len,
		       loff_t *ppos)
{
	struct iov_iter to;

	iov_iter_ubuf(&to, ITER_DEST, buf, len);
	return mq_queue_read(mq_file_queue(file), &to,
			     file->f_flags & O_NONBLOCK, NULL);
}

static ssize_t mq_write(struct file *file, const char __user *buf,
			size_t len, loff_t *ppos)
{
	struct iov_iter from;

	iov_iter_ubuf(&from, ITER_SOURCE, (void __user *)buf, len);
	return mq_queue_write(mq_file_queue(file), &from,
			      file->f_flags & O_NONBLOCK);
}

static __poll_t mq_poll(struct file *file, poll_table *wait)
{
	return mq_queue_poll(mq_file_queue(file), file, wait);
}

static void mq_info_fill(struct mq_info *info, struct mq_queue *q)
{
	struct mq_queue_snapshot s;

	mq_queue_snapshot(q, &s);
	info->queue_id = q->id;
	info->ident = q->ident;
	info->max_msg = s.lim.max_msg;
	info->cap_msgs = s.lim.cap_msgs;
	info->cap_bytes = s.lim.cap_bytes;
	info->next_len = s.next_len;
	info->depth_msgs = s.depth_msgs;
	info->depth_bytes = s.depth_bytes;
	info->peak_msgs = s.peak_msgs;
	info->head_offset = s.head;
	info->tail_offset = s.tail;
	info->blocked_readers = s.blocked_readers;
	info->blocked_writers = s.blocked_writers;
	info->open_fds = s.open_fds;
	info->msgs_in = s.msgs_in;
	info->bytes_in = s.bytes_in;
	info->msgs_out = s.msgs_out;
	info->bytes_out = s.bytes_out;
	info->durability = s.durability;
	info->next_flags = s.next_flags;
	info->durable_offset = s.durable_offset;
	info->redelivered = s.redelivered;
}

/* Copy in an ioctl struct (see ioctl.h), but first: is the queue alive? */
static long mq_ioctl_copy_in(struct mq_queue *q, void *karg, size_t ksize,
			     u32 min, void __user *uarg)
{
	if (READ_ONCE(q->dead))
		return -EIDRM;
	return mq_ioctl_struct_in(karg, ksize, min, uarg);
}

static long mq_ioctl_info(struct mq_queue *q, void __user *uarg)
{
	struct mq_info info;
	long usize;

	usize = mq_ioctl_copy_in(q, &info, sizeof(info), MQ_INFO_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;
	/* All but size and flags are outputs: zero on input. */
	if (info.flags ||
	    memchr_inv(&info.reserved0, 0, sizeof(info.reserved0)) ||
	    memchr_inv(&info.queue_id, 0,
		       sizeof(info) - offsetof(struct mq_info, queue_id)))
		return -EINVAL;

	mq_info_fill(&info, q);
	info.size = min_t(u32, usize, sizeof(info));
	if (copy_to_user(uarg, &info, info.size))
		return -EFAULT;
	return 0;
}

/* read(2) that also tells the message's offset, time and flags. */
static long mq_ioctl_recv(struct file *file, struct mq_queue *q,
			  void __user *uarg)
{
	struct mq_msg_meta meta;
	struct mq_recv rv;
	struct iov_iter to;
	long usize;
	ssize_t n;

	usize = mq_ioctl_copy_in(q, &rv, sizeof(rv), MQ_RECV_SIZE_VER0, uarg);
	if (usize < 0)
		return usize;
	if (rv.flags || rv.reserved0 || rv.reserved1 || rv.msg_flags ||
	    rv.len || rv.offset || rv.tstamp_ns)
		return -EINVAL;
	iov_iter_ubuf(&to, ITER_DEST, u64_to_user_ptr(rv.buf), rv.buf_len);
	n = mq_queue_read(q, &to, file->f_flags & O_NONBLOCK, &meta);
	if (n < 0)
		return n;
	rv.len = n;
	rv.offset = meta.offset;
	rv.tstamp_ns = meta.tstamp_ns;
	rv.msg_flags = meta.flags;
	rv.size = min_t(u32, usize, sizeof(rv));
	/* The message is consumed: a fault here loses only the metadata. */
	if (copy_to_user(uarg, &rv, rv.size))
		return -EFAULT;
	return 0;
}

/* Rings for this fd's queue: a new fd that maps, polls and enters them. */
static long mq_ioctl_ring_setup(struct file *file, struct mq_queue *q,
				void __user *uarg)
{
	struct mq_ring_setup rs;
	long usize;

	usize = mq_ioctl_copy_in(q, &rs, sizeof(rs), MQ_RING_SETUP_SIZE_VER0,
				 uarg);
	if (usize < 0)
		return usize;
	return mq_ring_setup(file, q, &rs, uarg, usize);
}

static long mq_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mq_queue *q = mq_file_queue(file);

	switch (MQ_IOC_NR(cmd)) {
	case MQ_IOC_NR(MQ_IOC_INFO):
		return mq_ioctl_info(q, (void __user *)arg);
	case MQ_IOC_NR(MQ_IOC_RECV):
		return mq_ioctl_recv(file, q, (void __user *)arg);
	case MQ_IOC_NR(MQ_IOC_RING_SETUP):
		return mq_ioctl_ring_setup(file, q, (void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations mq_fops = {
	.owner = THIS_MODULE,
	.open = mq_open,
	.release = mq_release,
	.read = mq_read,
	.write = mq_write,
	.read_iter = mq_read_iter,
	.write_iter = mq_write_iter,
	.poll = mq_poll,
	.unlocked_ioctl = mq_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

/**
 * mq_chrdev_init - reserve the device numbers and register the class
 * @max_queues: number of minors to reserve, one per queue
 *
 * Return: 0 or a negative errno.
 */
int mq_chrdev_init(unsigned int max_queues)
{
	int err;

	mq_minors = max_queues;
	mq_devs = kvcalloc(mq_minors, sizeof(*mq_devs), GFP_KERNEL);
	if (!mq_devs)
		return -ENOMEM;
	err = alloc_chrdev_region(&mq_devt, 0, mq_minors, "mq");
	if (err)
		goto err_devs;

	mq_class = class_create(THIS_MODULE, "mq");
	if (IS_ERR(mq_class)) {
		err = PTR_ERR(mq_class);
		goto err_region;
	}

	cdev_init(&mq_cdev, &mq_fops);
	mq_cdev.owner = THIS_MODULE;
	err = cdev_add(&mq_cdev, mq_devt, mq_minors);
	if (err)
		goto err_class;
	return 0;

err_class:
	class_destroy(mq_class);
err_region:
	unregister_chrdev_region(mq_devt, mq_minors);
err_devs:
	kvfree(mq_devs);
	return err;
}

/**
 * mq_chrdev_exit - undo mq_chrdev_init(); every queue is gone already
 */
void mq_chrdev_exit(void)
{
	cdev_del(&mq_cdev);
	class_destroy(mq_class);
	unregister_chrdev_region(mq_devt, mq_minors);
	kvfree(mq_devs);
}
