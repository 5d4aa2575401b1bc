// SPDX-License-Identifier: GPL-2.0
/*
 * qbd fault injection, for tests: per device, under
 * /sys/kernel/debug/qbd/qbdN/<fault>/ (see enum qbd_fault_kind):
 *
 *   probability  0..100: percent of chances that inject (when interval is 0)
 *   interval     0..1000000: inject on every Nth chance (0: use probability)
 *   times        -1..INT_MAX: injections left (-1: no limit; 0: off, default)
 *   injected     read-only: injections so far
 *
 * and delay_reply/delay_ms (1..60000, default 1000): how long a held reply
 * waits. Inert until times is set: the hooks cost one atomic read then.
 * Every write is checked; a bad one is -EINVAL and changes nothing.
 *
 * The hooks sit where a request is sent (qbd_dev.c queue_rq, both
 * transports) and where a reply is taken (qbd_complete_cmd(), both
 * transports); corrupt_reply acts before the data digest is checked.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "qbd.h"

#define QBD_FAULT_MAX_INTERVAL 1000000
#define QBD_FAULT_MAX_DELAY_MS 60000

static const char *const qbd_fault_names[QBD_FAULT_NR] = {
	[QBD_FAULT_DROP_REQ] = "drop_req",
	[QBD_FAULT_CORRUPT_REQ] = "corrupt_req",
	[QBD_FAULT_DROP_REPLY] = "drop_reply",
	[QBD_FAULT_DELAY_REPLY] = "delay_reply",
	[QBD_FAULT_FAIL_REPLY] = "fail_reply",
	[QBD_FAULT_CORRUPT_REPLY] = "corrupt_reply",
};

/**
 * struct qbd_fault_knob - one writable debugfs value
 * @val: the value; written by debugfs, read locklessly by the hooks
 * @min: smallest value a write may set
 * @max: largest
 */
struct qbd_fault_knob {
	atomic_t val;
	int min;
	int max;
};

/**
 * struct qbd_fault - one kind of fault
 * @probability: percent
 * @interval: every Nth chance
 * @times: injections left (-1: unlimited)
 * @seen: chances so far (only counted while @times is not 0)
 * @injected: injections so far
 */
struct qbd_fault {
	struct qbd_fault_knob probability;
	struct qbd_fault_knob interval;
	struct qbd_fault_knob times;
	atomic64_t seen;
	atomic64_t injected;
};

/**
 * struct qbd_fault_set - a device's faults
 * @dir: its debugfs directory (NULL when debugfs is unavailable)
 * @f: one per enum qbd_fault_kind
 * @delay_ms: how long delay_reply holds a reply
 * @held_lock: guards @held
 * @held: replies delay_reply holds, oldest first (qbd_cmd.fault_entry)
 * @held_work: completes the held replies that are due
 */
struct qbd_fault_set {
	struct dentry *dir;
	struct qbd_fault f[QBD_FAULT_NR];
	struct qbd_fault_knob delay_ms;
	spinlock_t held_lock; /* guards held */
	struct list_head held;
	struct delayed_work held_work;
};

static struct dentry *qbd_fault_root;

/* ---- debugfs files ---- */

static ssize_t qbd_knob_read(struct file *file, char __user *buf, size_t len,
			     loff_t *ppos)
{
	struct qbd_fault_knob *k = file->private_data;
	char tmp[16];
	int n;

	n = scnprintf(tmp, sizeof(tmp), "%d\n", atomic_read(&k->val));
	return simple_read_from_buffer(buf, len, ppos, tmp, n);
}

static ssize_t qbd_knob_write(struct file *file, const char __user *buf,
			      size_t len, loff_t *ppos)
{
	struct qbd_fault_knob *k = file->private_data;
	int v, ret;

	if (*ppos)
		return -EINVAL;
	ret = kstrtoint_from_user(buf, len, 0, &v);
	if (ret)
		return -EINVAL;
	if (v < k->min || v > k->max)
		return -EINVAL;
	atomic_set(&k->val, v);
	return len;
}

static const struct file_operations qbd_knob_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = qbd_knob_read,
	.write = qbd_knob_write,
	.llseek = default_llseek,
};

static ssize_t qbd_counter_read(struct file *file, char __user *buf, size_t len,
				loff_t *ppos)
{
	atomic64_t *c = file->private_data;
	char tmp[24];
	int n;

	n = scnprintf(tmp, sizeof(tmp), "%lld\n", (s64)atomic64_read(c));
	return simple_read_from_buffer(buf, len, ppos, tmp, n);
}

static const struct file_operations qbd_counter_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = qbd_counter_read,
	.llseek = default_llseek,
};

static void qbd_knob_init(struct qbd_fault_knob *k, int val, int min, int max)
{
	atomic_set(&k->val, val);
	k->min = min;
	k->max = max;
}

int qbd_fault_module_init(void)
{
	/* no debugfs is no error: the faults just cannot be set */
	qbd_fault_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	return 0;
}

void qbd_fault_module_exit(void)
{
	debugfs_remove_recursive(qbd_fault_root);
	qbd_fault_root = NULL;
}

static void qbd_fault_held_work(struct work_struct *work);

/**
 * qbd_fault_init - allocate a device's (inert) faults
 * @qdev: the device being created
 *
 * Return: 0 or -ENOMEM.
 */
int qbd_fault_init(struct qbd_device *qdev)
{
	struct qbd_fault_set *fs;
	int i;

	fs = kzalloc(sizeof(*fs), GFP_KERNEL);
	if (!fs)
		return -ENOMEM;
	for (i = 0; i < QBD_FAULT_NR; i++) {
		qbd_knob_init(&fs->f[i].probability, 0, 0, 100);
		qbd_knob_init(&fs->f[i].interval, 0, 0, QBD_FAULT_MAX_INTERVAL);
		qbd_knob_init(&fs->f[i].times, 0, -1, INT_MAX);
		atomic64_set(&fs->f[i].seen, 0);
		atomic64_set(&fs->f[i].injected, 0);
	}
	qbd_knob_init(&fs->delay_ms, 1000, 1, QBD_FAULT_MAX_DELAY_MS);
	spin_lock_init(&fs->held_lock);
	INIT_LIST_HEAD(&fs->held);
	INIT_DELAYED_WORK(&fs->held_work, qbd_fault_held_work);
	qdev->fault = fs;
	return 0;
}

/* /sys/kernel/debug/qbd/qbdN/: once the disk has its name. */
void qbd_fault_add_debugfs(struct qbd_device *qdev)
{
	struct qbd_fault_set *fs = qdev->fault;
	struct dentry *d;
	int i;

	if (!fs || IS_ERR_OR_NULL(qbd_fault_root))
		return;
	fs->dir = debugfs_create_dir(qbd_name(qdev), qbd_fault_root);
	for (i = 0; i < QBD_FAULT_NR; i++) {
		struct qbd_fault *f = &fs->f[i];

		d = debugfs_create_dir(qbd_fault_names[i], fs->dir);
		debugfs_create_file("probability", 0600, d, &f->probability,
				    &qbd_knob_fops);
		debugfs_create_file("interval", 0600, d, &f->interval,
				    &qbd_knob_fops);
		debugfs_create_file("times", 0600, d, &f->times,
				    &qbd_knob_fops);
		debugfs_create_file("injected", 0400, d, &f->injected,
				    &qbd_counter_fops);
		if (i == QBD_FAULT_DELAY_REPLY)
			debugfs_create_file("delay_ms", 0600, d, &fs->delay_ms,
					    &qbd_knob_fops);
	}
}

/* Unmap: the files go first (an open one returns -EIO from then on). */
void qbd_fault_remove_debugfs(struct qbd_device *qdev)
{
	struct qbd_fault_set *fs = qdev->fault;
	int i;

	if (!fs)
		return;
	debugfs_remove_recursive(fs->dir);
	fs->dir = NULL;
	/* nothing is injected while the device goes away */
	for (i = 0; i < QBD_FAULT_NR; i++)
		atomic_set(&fs->f[i].times.val, 0);
}

/* With the device: nothing is held any more (teardown released it). */
void qbd_fault_free(struct qbd_device *qdev)
{
	struct qbd_fault_set *fs = qdev->fault;

	if (!fs)
		return;
	cancel_delayed_work_sync(&fs->held_work);
	kfree(fs);
	qdev->fault = NULL;
}

/* ---- hooks ---- */

/**
 * qbd_fault_hit - one chance for fault @kind: inject it or not
 * @qdev: the device
 * @kind: which fault
 *
 * Any context. Counts the injection (debugfs and qbd_stats).
 */
bool qbd_fault_hit(struct qbd_device *qdev, enum qbd_fault_kind kind)
{
	struct qbd_fault_set *fs = qdev->fault;
	struct qbd_fault *f;
	u64 seen;
	int t;

	if (!fs)
		return false;
	f = &fs->f[kind];
	t = atomic_read(&f->times.val);
	if (likely(!t))
		return false;
	seen = atomic64_inc_return(&f->seen);
	if (!qbd_fault_decide(atomic_read(&f->probability.val),
			      atomic_read(&f->interval.val), seen,
			      get_random_u32()))
		return false;
	if (t > 0 && atomic_dec_if_positive(&f->times.val) < 0)
		return false;
	atomic64_inc(&f->injected);
	return true;
}

/* Injections so far, all kinds (qbd_stats.faults_injected). */
u64 qbd_fault_injected(struct qbd_device *qdev)
{
	struct qbd_fault_set *fs = qdev->fault;
	u64 n = 0;
	int i;

	if (!fs)
		return 0;
	for (i = 0; i < QBD_FAULT_NR; i++)
		n += atomic64_read(&fs->f[i].injected);
	return n;
}

/**
 * qbd_fault_hold_reply - delay_reply: maybe hold a reply's completion
 * @cmd: a request whose reply was just taken
 *
 * Return: true when held; @held_work completes it after delay_ms (or
 * qbd_fault_release_held() sooner).
 */
bool qbd_fault_hold_reply(struct qbd_cmd *cmd)
{
	struct qbd_device *qdev = cmd->queue->qdev;
	struct qbd_fault_set *fs = qdev->fault;
	unsigned long flags, delay;
	bool first;

	if (!qbd_fault_hit(qdev, QBD_FAULT_DELAY_REPLY))
		return false;
	delay = msecs_to_jiffies(atomic_read(&fs->delay_ms.val));
	cmd->fault_due = jiffies + delay;
	spin_lock_irqsave(&fs->held_lock, flags);
	first = list_empty(&fs->held);
	list_add_tail(&cmd->fault_entry, &fs->held);
	if (first)
		mod_delayed_work(system_wq, &fs->held_work, delay);
	spin_unlock_irqrestore(&fs->held_lock, flags);
	return true;
}

/* Take the held replies that are due (all with @all) off the list. */
static void qbd_fault_take_held(struct qbd_fault_set *fs, bool all,
				struct list_head *out, unsigned long *next)
{
	struct qbd_cmd *cmd, *tmp;
	unsigned long flags;

	*next = 0;
	spin_lock_irqsave(&fs->held_lock, flags);
	list_for_each_entry_safe(cmd, tmp, &fs->held, fault_entry) {
		if (!all && time_before(jiffies, cmd->fault_due)) {
			*next = cmd->fault_due - jiffies;
			break;
		}
		list_move_tail(&cmd->fault_entry, out);
	}
	spin_unlock_irqrestore(&fs->held_lock, flags);
}

static void qbd_fault_complete_list(struct list_head *list)
{
	struct qbd_cmd *cmd, *tmp;

	list_for_each_entry_safe(cmd, tmp, list, fault_entry) {
		list_del_init(&cmd->fault_entry);
		qbd_complete_cmd_now(cmd);
	}
}

static void qbd_fault_held_work(struct work_struct *work)
{
	struct delayed_work *dw = to_delayed_work(work);
	struct qbd_fault_set *fs =
		container_of(dw, struct qbd_fault_set, held_work);
	unsigned long next;
	LIST_HEAD(due);

	qbd_fault_take_held(fs, false, &due, &next);
	qbd_fault_complete_list(&due);
	if (next)
		queue_delayed_work(system_wq, &fs->held_work, next);
}

/**
 * qbd_fault_release_held - complete every held reply now
 * @qdev: the device, its connections closed (teardown)
 *
 * After this no fault context touches a request any more: the held
 * replies were real replies and complete as such before recovery cancels
 * what is still in flight.
 */
void qbd_fault_release_held(struct qbd_device *qdev)
{
	struct qbd_fault_set *fs = qdev->fault;
	unsigned long next;
	LIST_HEAD(all);

	if (!fs)
		return;
	cancel_delayed_work_sync(&fs->held_work);
	qbd_fault_take_held(fs, true, &all, &next);
	qbd_fault_complete_list(&all);
}
