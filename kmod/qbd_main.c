// SPDX-License-Identifier: GPL-2.0
/*
 * qbd: remote block device. Module init/exit (skeleton: control device and
 * /proc/qbdstat; the data path lands in its own files).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/capability.h>
#include <linux/qbd.h>

static long qbd_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return -ENOTTY;
}

static const struct file_operations qbd_ctl_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= qbd_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice qbd_ctl_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= QBD_CTL_NAME,
	.fops	= &qbd_ctl_fops,
	.mode	= 0600,
};

static int qbd_stat_show(struct seq_file *m, void *v)
{
	seq_puts(m, "# dev_id device pool/volume state transport\n");
	return 0;
}

static int __init qbd_init(void)
{
	int ret;

	if (!proc_create_single("qbdstat", 0444, NULL, qbd_stat_show))
		return -ENOMEM;
	ret = misc_register(&qbd_ctl_misc);
	if (ret)
		goto out_remove_proc;
	pr_info("loaded (abi %d)\n", QBD_ABI_VERSION);
	return 0;

out_remove_proc:
	remove_proc_entry("qbdstat", NULL);
	return ret;
}

static void __exit qbd_exit(void)
{
	misc_deregister(&qbd_ctl_misc);
	remove_proc_entry("qbdstat", NULL);
}

module_init(qbd_init);
module_exit(qbd_exit);
MODULE_DESCRIPTION("qbd remote block device");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
