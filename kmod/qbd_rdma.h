/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qbd RDMA transport: its pure sizing rules (qbd_rdma_logic.c, KUnit
 * qbd_rdma).
 */
#ifndef QBD_RDMA_H
#define QBD_RDMA_H

#include <linux/sizes.h>
#include <linux/types.h>

#define QBD_RDMA_PAGE SZ_4K /* MR page size and blk-mq virt boundary */

/**
 * struct qbd_rdma_sizes - what one connection of depth @depth needs
 * @nr_recv: preposted receives (depth + QBD_RDMA_SPARE_RECV)
 * @send_wr: send queue: REG_MR, SEND and LOCAL_INV per request, the PING
 *	and ib_drain_qp's marker
 * @recv_wr: receive queue: @nr_recv and the drain marker
 * @cqe: CQ entries for both
 */
struct qbd_rdma_sizes {
	u32 nr_recv;
	u32 send_wr;
	u32 recv_wr;
	u32 cqe;
};

int qbd_rdma_sizes(u32 depth, struct qbd_rdma_sizes *s);
u32 qbd_rdma_mr_pages(u32 dev_max_pages);
u32 qbd_rdma_max_io(u32 mr_pages);

#endif /* QBD_RDMA_H */
