// SPDX-License-Identifier: GPL-2.0
/*
 * qbd events: the generic netlink family "qbd" with the multicast group
 * "events" (include/uapi/linux/qbd.h). The module sends
 * QBD_GENL_CMD_REMAP_NEEDED when a device wants a new layout; `qbd --watch`
 * listens and remaps. The family has no commands userspace can send.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/kobject.h>
#include <net/genetlink.h>
#include "qbd.h"

static const struct genl_multicast_group qbd_genl_mcgrps[] = {
	{ .name = QBD_GENL_MCGRP_EVENTS },
};

static struct genl_family qbd_genl_family __ro_after_init = {
	.name = QBD_GENL_NAME,
	.version = QBD_GENL_VERSION,
	.maxattr = QBD_GENL_A_MAX,
	.module = THIS_MODULE,
	.mcgrps = qbd_genl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(qbd_genl_mcgrps),
};

int qbd_genl_init(void)
{
	return genl_register_family(&qbd_genl_family);
}

void qbd_genl_exit(void)
{
	genl_unregister_family(&qbd_genl_family);
}

static const char *qbd_reason_name(u32 reason)
{
	switch (reason) {
	case QBD_EVENT_REASON_UNREACHABLE:
		return "unreachable";
	case QBD_EVENT_REASON_STALE_LAYOUT:
		return "stale_layout";
	default:
		return "unknown";
	}
}

/* The KOBJ_CHANGE uevent of the disk: QBD_EVENT=remap QBD_REASON=... */
static void qbd_uevent_remap(struct qbd_device *qdev, u32 reason)
{
	char event_env[] = "QBD_EVENT=remap";
	char reason_env[32];
	char *envp[3];

	snprintf(reason_env, sizeof(reason_env), "QBD_REASON=%s",
		 qbd_reason_name(reason));
	envp[0] = event_env;
	envp[1] = reason_env;
	envp[2] = NULL;
	kobject_uevent_env(&disk_to_dev(qdev->disk)->kobj, KOBJ_CHANGE, envp);
}

/**
 * qbd_genl_remap_needed - multicast a remap event for @qdev
 * @qdev: the device
 * @reason: QBD_EVENT_REASON_*
 *
 * Process context (the device's event_work). Nobody listening is fine.
 */
void qbd_genl_remap_needed(struct qbd_device *qdev, u32 reason)
{
	struct sk_buff *skb;
	void *hdr;
	int ret;

	pr_info_ratelimited("%s: asking for a remap of %s/%s (%s)\n",
			    qbd_name(qdev), qdev->cfg.pool, qdev->cfg.volume,
			    qbd_reason_name(reason));
	qbd_uevent_remap(qdev, reason);
	skb = genlmsg_new(NLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!skb)
		return;
	hdr = genlmsg_put(skb, 0, 0, &qbd_genl_family, 0,
			  QBD_GENL_CMD_REMAP_NEEDED);
	if (!hdr)
		goto out_free;
	if (nla_put_u32(skb, QBD_GENL_A_DEV_ID, qdev->id) ||
	    nla_put_string(skb, QBD_GENL_A_POOL, qdev->cfg.pool) ||
	    nla_put_string(skb, QBD_GENL_A_VOLUME, qdev->cfg.volume) ||
	    nla_put_u32(skb, QBD_GENL_A_REASON, reason))
		goto out_free;
	genlmsg_end(skb, hdr);
	ret = genlmsg_multicast(&qbd_genl_family, skb, 0, 0, GFP_KERNEL);
	if (ret && ret != -ESRCH)
		pr_warn_ratelimited("%s: remap event not sent (%d)\n",
				    qbd_name(qdev), ret);
	return;

out_free:
	nlmsg_free(skb);
}
