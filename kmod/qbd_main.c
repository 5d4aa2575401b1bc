// SPDX-License-Identifier: GPL-2.0
/*
 * qbd: remote block device. Module init/exit and parameters.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/blkdev.h>
#include "qbd.h"

/* one line per description, as the kernel writes them */
/* clang-format off */
static unsigned int io_depth = 128;
module_param(io_depth, uint, 0444);
MODULE_PARM_DESC(io_depth, "default requests in flight per hardware queue (1..1024, default 128)");

static unsigned int max_queues = 16;
module_param(max_queues, uint, 0444);
MODULE_PARM_DESC(max_queues, "cap on hardware queues per device (1..64, default 16)");

static unsigned int io_timeout_ms = 30000;
module_param(io_timeout_ms, uint, 0444);
MODULE_PARM_DESC(io_timeout_ms, "default ms an IO may wait for a server before it fails (default 30000)");

static unsigned int conn_timeout_ms = 8000;
module_param(conn_timeout_ms, uint, 0444);
MODULE_PARM_DESC(conn_timeout_ms, "default ms to connect and handshake (default 8000)");

static unsigned int hb_interval_ms = 1000;
module_param(hb_interval_ms, uint, 0444);
MODULE_PARM_DESC(hb_interval_ms, "default heartbeat interval in ms (default 1000)");

static unsigned int hb_timeout_ms = 3000;
module_param(hb_timeout_ms, uint, 0444);
MODULE_PARM_DESC(hb_timeout_ms, "default ms of silence before a connection is dead (default 3000)");
/* clang-format on */

struct qbd_defaults qbd_defaults;
int qbd_major;
struct workqueue_struct *qbd_io_wq;
/*
 * Recovery (reconnect, remap) and heartbeats: they make progress for IO that
 * writeback may be waiting on, so they get a rescuer (WQ_MEM_RECLAIM) rather
 * than the system workqueues; unbound, since a reconnect sleeps for seconds.
 */
struct workqueue_struct *qbd_ctl_wq;

/* Clamp the parameters once, before anything is allocated. */
static void qbd_check_params(void)
{
	struct qbd_defaults *d = &qbd_defaults;

	d->io_depth =
		clamp_t(u32, io_depth, QBD_MIN_IO_DEPTH, QBD_MAX_IO_DEPTH);
	d->max_queues = clamp_t(u32, max_queues, 1, QBD_MAX_QUEUES);
	d->io_timeout_ms = clamp_t(u32, io_timeout_ms, QBD_IO_TIMEOUT_MIN_MS,
				   QBD_IO_TIMEOUT_MAX_MS);
	d->conn_timeout_ms = clamp_t(u32, conn_timeout_ms,
				     QBD_CONN_TIMEOUT_MIN_MS,
				     QBD_CONN_TIMEOUT_MAX_MS);
	d->hb_interval_ms =
		clamp_t(u32, hb_interval_ms, QBD_HB_MIN_MS, QBD_HB_MAX_MS);
	d->hb_timeout_ms =
		clamp_t(u32, hb_timeout_ms, QBD_HB_MIN_MS, QBD_HB_MAX_MS);
	if (d->hb_timeout_ms <= d->hb_interval_ms)
		d->hb_timeout_ms = 3 * d->hb_interval_ms;
	if (d->io_depth != io_depth || d->max_queues != max_queues)
		pr_warn("io_depth/max_queues out of range, using %u/%u\n",
			d->io_depth, d->max_queues);
}

static int __init qbd_init(void)
{
	int ret;

	qbd_check_params();

	qbd_io_wq = alloc_workqueue("qbd_io", WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	if (!qbd_io_wq)
		return -ENOMEM;
	qbd_ctl_wq = alloc_workqueue("qbd_ctl", WQ_MEM_RECLAIM | WQ_UNBOUND, 0);
	if (!qbd_ctl_wq) {
		ret = -ENOMEM;
		goto out_destroy_wq;
	}

	ret = register_blkdev(0, "qbd");
	if (ret < 0)
		goto out_destroy_ctl_wq;
	qbd_major = ret;

	ret = qbd_proc_init();
	if (ret)
		goto out_unregister_blkdev;

	qbd_fault_module_init();
	ret = qbd_ctl_init();
	if (ret)
		goto out_fault_exit;

	pr_info("loaded (abi %d, major %d)\n", QBD_ABI_VERSION, qbd_major);
	return 0;

out_fault_exit:
	qbd_fault_module_exit();
	qbd_proc_exit();
out_unregister_blkdev:
	unregister_blkdev(qbd_major, "qbd");
out_destroy_ctl_wq:
	destroy_workqueue(qbd_ctl_wq);
out_destroy_wq:
	destroy_workqueue(qbd_io_wq);
	return ret;
}

/*
 * Every mapped device holds a module reference, so exit only runs with no
 * device left.
 */
static void __exit qbd_exit(void)
{
	qbd_ctl_exit();
	qbd_rdma_exit();
	qbd_fault_module_exit();
	qbd_proc_exit();
	unregister_blkdev(qbd_major, "qbd");
	destroy_workqueue(qbd_ctl_wq);
	destroy_workqueue(qbd_io_wq);
	pr_info("unloaded\n");
}

module_init(qbd_init);
module_exit(qbd_exit);
MODULE_DESCRIPTION("qbd remote block device");
MODULE_AUTHOR("qbd project");
MODULE_LICENSE("GPL");
MODULE_VERSION("0.1.0");
