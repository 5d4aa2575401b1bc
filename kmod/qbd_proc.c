// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/qbdstat: a '#' header line, then one line per mapped device.
 */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include "qbd.h"

static int qbd_stat_show(struct seq_file *m, void *v)
{
	struct qbd_device *qdev;
	struct qbd_stats st;
	u64 done, avg;

	/* clang-format off */
	seq_puts(m, "# dev_id device pool/volume state transport read_ios write_ios read_bytes write_bytes other_ios in_flight errors retries reconnects avg_lat_us read_bps write_bps read_iops write_iops burst_ms resume_mode digest_errors faults_injected\n");
	/* clang-format on */
	mutex_lock(&qbd_ctl_mutex);
	list_for_each_entry(qdev, &qbd_devices, node) {
		qbd_dev_stats(qdev, &st);
		done = st.read_ios + st.write_ios + st.other_ios;
		avg = done ? div64_u64(st.total_latency_us, done) : 0;
		/* clang-format off */
		seq_printf(m, "%d /dev/%s %s/%s %s %s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %u %s %llu %llu\n",
			   qdev->id, qbd_name(qdev), qdev->cfg.pool,
			   qdev->cfg.volume, qbd_state_name(qbd_shown_state(qdev)),
			   qdev->ops->name, st.read_ios, st.write_ios,
			   st.read_bytes, st.write_bytes, st.other_ios,
			   st.in_flight, st.errors, st.retries, st.reconnects,
			   avg, READ_ONCE(qdev->cfg.read_bps),
			   READ_ONCE(qdev->cfg.write_bps),
			   READ_ONCE(qdev->cfg.read_iops),
			   READ_ONCE(qdev->cfg.write_iops),
			   qbd_dev_burst_ms(qdev),
			   qbd_resume_mode_name(READ_ONCE(qdev->resume_mode)),
			   st.digest_errors, st.faults_injected);
		/* clang-format on */
	}
	mutex_unlock(&qbd_ctl_mutex);
	return 0;
}

int qbd_proc_init(void)
{
	if (!proc_create_single("qbdstat", 0444, NULL, qbd_stat_show))
		return -ENOMEM;
	return 0;
}

void qbd_proc_exit(void)
{
	remove_proc_entry("qbdstat", NULL);
}
