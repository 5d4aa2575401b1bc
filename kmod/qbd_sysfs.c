// SPDX-License-Identifier: GPL-2.0
/*
 * sysfs attributes of a qbd disk, in /sys/block/qbdN/qbd/: pool, volume,
 * vol_id, serial, state, transport, timeouts, servers, throttle, resume_mode.
 */
#include <linux/blkdev.h>
#include <linux/device.h>
#include <linux/socket.h>
#include <linux/sysfs.h>
#include "qbd.h"

static struct qbd_device *qbd_from_dev(struct device *dev)
{
	return dev_to_disk(dev)->private_data;
}

static ssize_t pool_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", qbd_from_dev(dev)->cfg.pool);
}
static DEVICE_ATTR_RO(pool);

static ssize_t volume_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%s\n", qbd_from_dev(dev)->cfg.volume);
}
static DEVICE_ATTR_RO(volume);

static ssize_t vol_id_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%llu\n", qbd_from_dev(dev)->cfg.vol_id);
}
static DEVICE_ATTR_RO(vol_id);

/* A stable identifier for udev: pool/volume and the volume id. */
static ssize_t serial_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct qbd_device *qdev = qbd_from_dev(dev);

	return sysfs_emit(buf, "qbd-%016llx\n", qdev->cfg.vol_id);
}
static DEVICE_ATTR_RO(serial);

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  qbd_state_name(qbd_shown_state(qbd_from_dev(dev))));
}
static DEVICE_ATTR_RO(state);

static ssize_t transport_show(struct device *dev, struct device_attribute *attr,
			      char *buf)
{
	return sysfs_emit(buf, "%s\n", qbd_from_dev(dev)->ops->name);
}
static DEVICE_ATTR_RO(transport);

static ssize_t io_timeout_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", qbd_from_dev(dev)->cfg.io_timeout_ms);
}
static DEVICE_ATTR_RO(io_timeout);

static ssize_t timeouts_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	const struct qbd_map *m = &qbd_from_dev(dev)->cfg;
	int len;

	/* one line, in two calls to keep the format strings short */
	len = sysfs_emit(buf, "io_timeout_ms=%u conn_timeout_ms=%u ",
			 m->io_timeout_ms, m->conn_timeout_ms);
	return len + sysfs_emit_at(buf, len,
				   "hb_interval_ms=%u hb_timeout_ms=%u\n",
				   m->hb_interval_ms, m->hb_timeout_ms);
}
static DEVICE_ATTR_RO(timeouts);

/* One line per server: index, address:port. */
static ssize_t servers_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	const struct qbd_map *m = &qbd_from_dev(dev)->cfg;
	int len = 0;
	u32 i;

	for (i = 0; i < m->nr_servers; i++) {
		const struct qbd_server_addr *s = &m->servers[i];

		if (s->family == AF_INET)
			len += sysfs_emit_at(buf, len, "%u %pI4:%u\n", i,
					     s->addr, s->port);
		else
			len += sysfs_emit_at(buf, len, "%u [%pI6c]:%u\n", i,
					     s->addr, s->port);
	}
	return len;
}
static DEVICE_ATTR_RO(servers);

/* Throttle limits in force, 0 = unlimited. */
static ssize_t throttle_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	struct qbd_device *qdev = qbd_from_dev(dev);
	int len;

	/* one line, in two calls to keep the format strings short */
	len = sysfs_emit(buf, "read_bps=%llu write_bps=%llu ",
			 READ_ONCE(qdev->cfg.read_bps),
			 READ_ONCE(qdev->cfg.write_bps));
	return len +
	       sysfs_emit_at(buf, len,
			     "read_iops=%llu write_iops=%llu burst_ms=%u\n",
			     READ_ONCE(qdev->cfg.read_iops),
			     READ_ONCE(qdev->cfg.write_iops),
			     qbd_dev_burst_ms(qdev));
}
static DEVICE_ATTR_RO(throttle);

static ssize_t resume_mode_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	u32 mode = READ_ONCE(qbd_from_dev(dev)->resume_mode);

	return sysfs_emit(buf, "%s\n", qbd_resume_mode_name(mode));
}
static DEVICE_ATTR_RO(resume_mode);

/* "on" when the map asked for (and the servers granted) data digests */
static ssize_t digest_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	struct qbd_device *qdev = qbd_from_dev(dev);

	return sysfs_emit(buf, "%s\n",
			  (qdev->features & QBD_PF_DATA_DIGEST) ? "on" : "off");
}
static DEVICE_ATTR_RO(digest);

static ssize_t digest_errors_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	struct qbd_stats st;

	qbd_dev_stats(qbd_from_dev(dev), &st);
	return sysfs_emit(buf, "%llu\n", st.digest_errors);
}
static DEVICE_ATTR_RO(digest_errors);

static struct attribute *qbd_disk_attrs[] = {
	/* clang-format off */
	&dev_attr_pool.attr,
	&dev_attr_volume.attr,
	&dev_attr_vol_id.attr,
	&dev_attr_serial.attr,
	&dev_attr_state.attr,
	&dev_attr_transport.attr,
	&dev_attr_io_timeout.attr,
	&dev_attr_timeouts.attr,
	&dev_attr_servers.attr,
	&dev_attr_throttle.attr,
	&dev_attr_resume_mode.attr,
	&dev_attr_digest.attr,
	&dev_attr_digest_errors.attr,
	NULL,
	/* clang-format on */
};

static const struct attribute_group qbd_disk_group = {
	.name = "qbd",
	.attrs = qbd_disk_attrs,
};

const struct attribute_group *qbd_disk_groups[] = {
	&qbd_disk_group,
	NULL,
};
