// SPDX-License-Identifier: GPL-2.0
/*
 * qbd: the RDMA transport (kernel verbs, rdma_cm). Placeholder: the map
 * ioctl refuses QBD_TRANSPORT_RDMA until this is filled in.
 */
#include "qbd.h"

static int qbd_rdma_connect(struct qbd_queue *q, unsigned int srv)
{
	return -EOPNOTSUPP;
}

static void qbd_rdma_disconnect(struct qbd_queue *q, unsigned int srv)
{
}

static void qbd_rdma_queue_rq(struct qbd_queue *q, unsigned int srv,
			      struct request *rq, bool last)
{
}

static void qbd_rdma_commit_rqs(struct qbd_queue *q)
{
}

static int qbd_rdma_heartbeat(struct qbd_queue *q, unsigned int srv)
{
	return 0;
}

const struct qbd_transport_ops qbd_rdma_ops = {
	.name = "rdma",
	.connect = qbd_rdma_connect,
	.disconnect = qbd_rdma_disconnect,
	.queue_rq = qbd_rdma_queue_rq,
	.commit_rqs = qbd_rdma_commit_rqs,
	.heartbeat = qbd_rdma_heartbeat,
};
