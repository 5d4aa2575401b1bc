// SPDX-License-Identifier: GPL-2.0
/*
 * qbd control device /dev/qbdctl: GET_FEATURES, MAP, UNMAP, LIST, INFO,
 * SET_THROTTLE, SUSPEND, RESUME, RESIZE (the device side is in qbd_ops.c),
 * REMAP (qbd_dev.c).
 * Every ioctl checks CAP_SYS_ADMIN first, then copies the header, checks
 * the size, copies the struct and validates every field.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cpumask.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "qbd.h"

/* Serialises map/unmap and guards qbd_devices and qbd_ids. */
DEFINE_MUTEX(qbd_ctl_mutex);
LIST_HEAD(qbd_devices);
static DEFINE_IDA(qbd_ids);

static void qbd_ctl_reject(const char *cmd, int ret, const char *why)
{
	pr_info_ratelimited("%s: rejected (%d): %s\n", cmd, ret, why);
}

/* Copy a struct whose first member is struct qbd_ioc_hdr of exactly @size. */
static void *qbd_copy_in(const char *cmd, void __user *arg, size_t size)
{
	struct qbd_ioc_hdr hdr;
	void *p;

	if (copy_from_user(&hdr, arg, sizeof(hdr)))
		return ERR_PTR(-EFAULT);
	if (hdr.size != size) {
		pr_info_ratelimited("%s: rejected: hdr.size %u is not %zu\n",
				    cmd, hdr.size, size);
		return ERR_PTR(-EINVAL);
	}
	p = memdup_user(arg, size);
	if (IS_ERR(p))
		return p;
	/* the size could change between the two copies: check again */
	if (((struct qbd_ioc_hdr *)p)->size != size) {
		kfree_sensitive(p); /* a MAP may carry a key */
		return ERR_PTR(-EINVAL);
	}
	return p;
}

static struct qbd_device *qbd_find_locked(int id)
{
	struct qbd_device *qdev;

	lockdep_assert_held(&qbd_ctl_mutex);
	list_for_each_entry(qdev, &qbd_devices, node)
		if (qdev->id == id)
			return qdev;
	return NULL;
}

static long qbd_ioc_features(void __user *arg)
{
	struct qbd_features *f;
	const char *why = "";
	int ret;

	f = qbd_copy_in("GET_FEATURES", arg, sizeof(*f));
	if (IS_ERR(f))
		return PTR_ERR(f);
	ret = qbd_validate_features_in(f, &why);
	if (ret) {
		qbd_ctl_reject("GET_FEATURES", ret, why);
		goto out;
	}
	memset(f, 0, sizeof(*f));
	f->hdr.size = sizeof(*f);
	f->abi_version = QBD_ABI_VERSION;
	f->max_devices = QBD_MAX_DEVICES;
	f->features = QBD_FEAT_TCP | QBD_FEAT_RDMA | QBD_FEAT_DISCARD |
		      QBD_FEAT_FUA | QBD_FEAT_THROTTLE | QBD_FEAT_SUSPEND |
		      QBD_FEAT_RESIZE | QBD_FEAT_REMAP | QBD_FEAT_AUTH |
		      QBD_FEAT_DIGEST | QBD_FAULT_FEATURE;
	f->max_queues = qbd_defaults.max_queues;
	f->max_io_depth = QBD_MAX_IO_DEPTH;
	f->max_servers = QBD_MAX_SERVERS;
	f->max_io_bytes = QBD_PROTO_MAX_IO;
	if (copy_to_user(arg, f, sizeof(*f)))
		ret = -EFAULT;
out:
	kfree(f);
	return ret;
}

static long qbd_ioc_map(void __user *arg)
{
	struct qbd_device *qdev, *other;
	const char *why = "";
	struct qbd_map *m;
	int ret, id;

	m = qbd_copy_in("MAP", arg, sizeof(*m));
	if (IS_ERR(m))
		return PTR_ERR(m);
	ret = qbd_validate_map(m, &why);
	if (ret) {
		qbd_ctl_reject("MAP", ret, why);
		goto out_free;
	}
	qbd_map_apply_defaults(m, &qbd_defaults, num_online_cpus());

	mutex_lock(&qbd_ctl_mutex);
	list_for_each_entry(other, &qbd_devices, node) {
		if (!strcmp(other->cfg.pool, m->pool) &&
		    !strcmp(other->cfg.volume, m->volume)) {
			/* clang-format off */
			pr_info_ratelimited("MAP: %s/%s is already mapped as qbd%d\n",
					    m->pool, m->volume, other->id);
			/* clang-format on */
			ret = -EEXIST;
			goto out_unlock;
		}
	}
	id = ida_alloc_max(&qbd_ids, QBD_MAX_DEVICES - 1, GFP_KERNEL);
	if (id < 0) {
		ret = id == -ENOSPC ? -EBUSY : id;
		goto out_unlock;
	}
	qdev = qbd_dev_create(m, id);
	if (IS_ERR(qdev)) {
		ret = PTR_ERR(qdev);
		goto out_free_id;
	}
	list_add_tail(&qdev->node, &qbd_devices);
	mutex_unlock(&qbd_ctl_mutex);

	m->dev_id = id;
	if (copy_to_user(&((struct qbd_map __user *)arg)->dev_id, &m->dev_id,
			 sizeof(m->dev_id)))
		ret = -EFAULT; /* the device stays: LIST finds it */
	kfree_sensitive(m); /* it held the key */
	return ret;

out_free_id:
	ida_free(&qbd_ids, id);
out_unlock:
	mutex_unlock(&qbd_ctl_mutex);
out_free:
	kfree_sensitive(m); /* it may hold the key */
	return ret;
}

static long qbd_ioc_unmap(void __user *arg)
{
	struct qbd_device *qdev;
	const char *why = "";
	struct qbd_unmap u;
	int ret, id;

	if (copy_from_user(&u, arg, sizeof(u.hdr)))
		return -EFAULT;
	if (u.hdr.size != sizeof(u)) {
		qbd_ctl_reject("UNMAP", -EINVAL,
			       "hdr.size is not sizeof(struct qbd_unmap)");
		return -EINVAL;
	}
	if (copy_from_user(&u, arg, sizeof(u)))
		return -EFAULT;
	ret = qbd_validate_unmap(&u, &why);
	if (ret) {
		qbd_ctl_reject("UNMAP", ret, why);
		return ret;
	}

	mutex_lock(&qbd_ctl_mutex);
	qdev = qbd_find_locked(u.dev_id);
	if (!qdev) {
		ret = -ENOENT;
		goto out_unlock;
	}
	id = qdev->id;
	ret = qbd_dev_remove(qdev, u.hdr.flags & QBD_UNMAP_F_FORCE);
	if (!ret)
		ida_free(&qbd_ids, id);
out_unlock:
	mutex_unlock(&qbd_ctl_mutex);
	return ret;
}

static long qbd_ioc_list(void __user *arg)
{
	struct qbd_device *qdev;
	const char *why = "";
	struct qbd_list l;
	s32 __user *ids;
	u32 n = 0;
	int ret;

	if (copy_from_user(&l, arg, sizeof(l.hdr)))
		return -EFAULT;
	if (l.hdr.size != sizeof(l)) {
		qbd_ctl_reject("LIST", -EINVAL,
			       "hdr.size is not sizeof(struct qbd_list)");
		return -EINVAL;
	}
	if (copy_from_user(&l, arg, sizeof(l)))
		return -EFAULT;
	ret = qbd_validate_list(&l, &why);
	if (ret) {
		qbd_ctl_reject("LIST", ret, why);
		return ret;
	}
	ids = u64_to_user_ptr(l.ids_ptr);
	l.total = 0;
	mutex_lock(&qbd_ctl_mutex);
	list_for_each_entry(qdev, &qbd_devices, node) {
		if (n < l.capacity) {
			if (put_user(qdev->id, &ids[n])) {
				ret = -EFAULT;
				break;
			}
			n++;
		}
		l.total++;
	}
	mutex_unlock(&qbd_ctl_mutex);
	if (ret)
		return ret;
	l.count = n;
	if (copy_to_user(arg, &l, sizeof(l)))
		return -EFAULT;
	return 0;
}

static void qbd_fill_info(struct qbd_device *qdev, struct qbd_info *in)
{
	const struct qbd_map *m = &qdev->cfg;
	unsigned long flags;

	in->state = qbd_shown_state(qdev);
	memcpy(in->pool, m->pool, sizeof(in->pool));
	memcpy(in->volume, m->volume, sizeof(in->volume));
	in->vol_id = m->vol_id;
	in->size = m->size;
	in->block_size = m->block_size;
	in->layout_version = m->layout_version;
	in->shard_size = m->shard_size;
	in->transport = m->transport;
	in->nr_servers = m->nr_servers;
	memcpy(in->servers, m->servers, sizeof(in->servers));
	in->nr_queues = qdev->nr_queues;
	in->io_depth = qdev->depth;
	in->io_timeout_ms = m->io_timeout_ms;
	in->conn_timeout_ms = m->conn_timeout_ms;
	in->hb_interval_ms = m->hb_interval_ms;
	in->hb_timeout_ms = m->hb_timeout_ms;
	in->read_bps = m->read_bps;
	in->write_bps = m->write_bps;
	in->read_iops = m->read_iops;
	in->write_iops = m->write_iops;
	in->map_flags = m->hdr.flags;
	spin_lock_irqsave(&qdev->lock, flags);
	in->open_count = qdev->open_count;
	in->resume_mode = qdev->resume_mode;
	spin_unlock_irqrestore(&qdev->lock, flags);
	in->burst_ms = qbd_dev_burst_ms(qdev);
	qbd_dev_stats(qdev, &in->stats);
}

static long qbd_ioc_info(void __user *arg)
{
	struct qbd_device *qdev;
	const char *why = "";
	struct qbd_info *in;
	int ret, id;

	in = qbd_copy_in("INFO", arg, sizeof(*in));
	if (IS_ERR(in))
		return PTR_ERR(in);
	ret = qbd_validate_info_in(in, &why);
	if (ret) {
		qbd_ctl_reject("INFO", ret, why);
		goto out;
	}
	id = in->dev_id;
	memset(in, 0, sizeof(*in));
	in->hdr.size = sizeof(*in);
	in->dev_id = id;
	mutex_lock(&qbd_ctl_mutex);
	qdev = qbd_find_locked(id);
	if (qdev)
		qbd_fill_info(qdev, in);
	mutex_unlock(&qbd_ctl_mutex);
	if (!qdev) {
		ret = -ENOENT;
		goto out;
	}
	if (copy_to_user(arg, in, sizeof(*in)))
		ret = -EFAULT;
out:
	kfree(in);
	return ret;
}

/*
 * SET_THROTTLE, SUSPEND, RESUME, RESIZE, REMAP: copy, validate, find the device,
 * act under qbd_ctl_mutex. @arg's struct is copied by the caller.
 */
static int qbd_dev_cmd(const char *cmd, unsigned int nr, void *p)
{
	struct qbd_device *qdev;
	const char *why = "";
	s32 dev_id;
	int ret;

	switch (nr) {
	case QBD_IOC_SET_THROTTLE:
		ret = qbd_validate_throttle(p, &why);
		dev_id = ((struct qbd_throttle *)p)->dev_id;
		break;
	case QBD_IOC_SUSPEND:
	case QBD_IOC_RESUME:
		ret = qbd_validate_suspend(p, nr == QBD_IOC_RESUME, &why);
		dev_id = ((struct qbd_suspend *)p)->dev_id;
		break;
	case QBD_IOC_RESIZE:
		ret = qbd_validate_resize_in(p, &why);
		dev_id = ((struct qbd_resize *)p)->dev_id;
		break;
	case QBD_IOC_REMAP:
		ret = qbd_validate_remap_in(p, &why);
		dev_id = ((struct qbd_remap *)p)->dev_id;
		break;
	default:
		return -ENOTTY;
	}
	if (ret) {
		qbd_ctl_reject(cmd, ret, why);
		return ret;
	}

	mutex_lock(&qbd_ctl_mutex);
	qdev = qbd_find_locked(dev_id);
	if (!qdev) {
		ret = -ENOENT;
		goto out_unlock;
	}
	switch (nr) {
	case QBD_IOC_SET_THROTTLE:
		ret = qbd_dev_set_throttle(qdev, p);
		break;
	case QBD_IOC_SUSPEND:
		ret = qbd_dev_suspend(qdev);
		break;
	case QBD_IOC_RESUME:
		ret = qbd_dev_resume(qdev, ((struct qbd_suspend *)p)->mode);
		break;
	case QBD_IOC_RESIZE:
		ret = qbd_dev_resize(qdev, ((struct qbd_resize *)p)->size,
				     &why);
		/* clang-format off */
		if (ret)
			pr_info_ratelimited("%s: RESIZE to %llu rejected (%d): %s (mapped size %llu, block size %u)\n",
					    qbd_name(qdev),
					    ((struct qbd_resize *)p)->size, ret,
					    why, qdev->cfg.size,
					    qdev->cfg.block_size);
		/* clang-format on */
		break;
	case QBD_IOC_REMAP:
		ret = qbd_dev_remap(qdev, p, &why);
		/* clang-format off */
		if (ret == -EINVAL || ret == -EOPNOTSUPP)
			pr_info_ratelimited("%s: REMAP rejected (%d): %s (mapped vol_id %llu, size %llu, block size %u)\n",
					    qbd_name(qdev), ret, why,
					    qdev->cfg.vol_id, qdev->cfg.size,
					    qdev->cfg.block_size);
		/* clang-format on */
		break;
	}
out_unlock:
	mutex_unlock(&qbd_ctl_mutex);
	return ret;
}

static long qbd_ioc_dev_cmd(const char *cmd, unsigned int nr, void __user *arg,
			    size_t size)
{
	void *p;
	int ret;

	p = qbd_copy_in(cmd, arg, size);
	if (IS_ERR(p))
		return PTR_ERR(p);
	ret = qbd_dev_cmd(cmd, nr, p);
	kfree(p);
	return ret;
}

static long qbd_ctl_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	switch (cmd) {
	case QBD_IOC_GET_FEATURES:
		return qbd_ioc_features(argp);
	case QBD_IOC_MAP:
		return qbd_ioc_map(argp);
	case QBD_IOC_UNMAP:
		return qbd_ioc_unmap(argp);
	case QBD_IOC_LIST:
		return qbd_ioc_list(argp);
	case QBD_IOC_INFO:
		return qbd_ioc_info(argp);
	case QBD_IOC_SET_THROTTLE:
		return qbd_ioc_dev_cmd("SET_THROTTLE", cmd, argp,
				       sizeof(struct qbd_throttle));
	case QBD_IOC_SUSPEND:
		return qbd_ioc_dev_cmd("SUSPEND", cmd, argp,
				       sizeof(struct qbd_suspend));
	case QBD_IOC_RESUME:
		return qbd_ioc_dev_cmd("RESUME", cmd, argp,
				       sizeof(struct qbd_suspend));
	case QBD_IOC_RESIZE:
		return qbd_ioc_dev_cmd("RESIZE", cmd, argp,
				       sizeof(struct qbd_resize));
	case QBD_IOC_REMAP:
		return qbd_ioc_dev_cmd("REMAP", cmd, argp,
				       sizeof(struct qbd_remap));
	default:
		return -ENOTTY;
	}
}

static const struct file_operations qbd_ctl_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = qbd_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice qbd_ctl_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = QBD_CTL_NAME,
	.fops = &qbd_ctl_fops,
	.mode = 0600,
};

int qbd_ctl_init(void)
{
	int ret;

	ret = qbd_genl_init();
	if (ret)
		return ret;
	ret = misc_register(&qbd_ctl_misc);
	if (ret)
		goto out_genl;
	return 0;

out_genl:
	qbd_genl_exit();
	return ret;
}

void qbd_ctl_exit(void)
{
	misc_deregister(&qbd_ctl_misc);
	qbd_genl_exit();
	ida_destroy(&qbd_ids);
}
