/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qbd RDMA transport: its pure sizing and inline rules (qbd_rdma_logic.c,
 * KUnit qbd_rdma).
 */
#ifndef QBD_RDMA_H
#define QBD_RDMA_H

#include <linux/sizes.h>
#include <linux/types.h>
#include <qbd_proto.h>

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

/* send SGEs a request may use: its header and the pages of inline data */
#define QBD_RDMA_MAX_SEND_SGE (1 + QBD_RDMA_INLINE_MAX / QBD_RDMA_PAGE + 1)

int qbd_rdma_sizes(u32 depth, struct qbd_rdma_sizes *s);
u32 qbd_rdma_mr_pages(u32 dev_max_pages);
u32 qbd_rdma_max_io(u32 mr_pages);
u32 qbd_rdma_inline_sges(u32 len);
int qbd_rdma_inline_size(u64 granted, u32 offered, u32 send_sge, u32 *out);

#endif /* QBD_RDMA_H */
