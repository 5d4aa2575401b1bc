// SPDX-License-Identifier: GPL-2.0
/*
 * qbd RDMA transport, pure logic: queue sizes for a depth, the largest
 * request one FRWR MR maps, and the inline WRITE size a connection uses.
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/minmax.h>
#include <qbd_proto.h>
#include "qbd_rdma.h"

/**
 * qbd_rdma_sizes - queue and CQ sizes for a connection of @depth requests
 * @depth: requests in flight, 1..QBD_MAX_IO_DEPTH
 * @s: filled
 *
 * Return: 0, or -EINVAL for a depth of 0 or one whose sizes overflow.
 */
int qbd_rdma_sizes(u32 depth, struct qbd_rdma_sizes *s)
{
	if (!depth || depth > (U32_MAX - 64) / 4)
		return -EINVAL;
	s->nr_recv = depth + QBD_RDMA_SPARE_RECV;
	s->send_wr = 3 * depth + 2;
	s->recv_wr = s->nr_recv + 1;
	s->cqe = s->send_wr + s->recv_wr;
	return 0;
}

/**
 * qbd_rdma_mr_pages - pages per MR: enough for the protocol's largest
 * request starting anywhere in its first page, at most what the device
 * registers (max_fast_reg_page_list_len)
 * @dev_max_pages: the device's limit
 */
u32 qbd_rdma_mr_pages(u32 dev_max_pages)
{
	return min_t(u32, dev_max_pages, QBD_PROTO_MAX_IO / QBD_RDMA_PAGE + 1);
}

/**
 * qbd_rdma_max_io - largest request an MR of @mr_pages pages maps
 * @mr_pages: pages per MR
 *
 * A request may start anywhere in its first page (the disk's virt boundary
 * keeps the rest page-aligned), so it spans one page more than its length.
 * Return: bytes, a multiple of 4096; 0 when @mr_pages < 2 (unusable).
 */
u32 qbd_rdma_max_io(u32 mr_pages)
{
	if (mr_pages < 2)
		return 0;
	return min_t(u32, QBD_PROTO_MAX_IO, (mr_pages - 1) * QBD_RDMA_PAGE);
}

/**
 * qbd_rdma_inline_sges - data SGEs an inline WRITE of up to @len bytes needs
 * @len: bytes
 *
 * Its first segment may start anywhere in a page (the virt boundary keeps
 * the others whole pages), so one more than its pages.
 * Return: SGEs; 0 for a length of 0.
 */
u32 qbd_rdma_inline_sges(u32 len)
{
	if (!len)
		return 0;
	return DIV_ROUND_UP(len, QBD_RDMA_PAGE) + 1;
}

/**
 * qbd_rdma_inline_size - the inline WRITE size a connection uses
 * @granted: QBD_PF_* the hello reply granted
 * @offered: its rdma_inline
 * @send_sge: SGEs a SEND of ours may carry (the QP's max_send_sge)
 * @out: bytes a WRITE may have to go inline; 0: none go inline
 *
 * Without QBD_PF_RDMA_INLINE the field means nothing (older servers leave
 * it 0). With it, the server must offer a multiple of 512 in
 * 512..QBD_RDMA_INLINE_MAX. We take the largest multiple of 512 up to the
 * offer whose pages fit our SGEs beside the header.
 * Return: 0, or -EPROTO for an offer that breaks the rule.
 */
int qbd_rdma_inline_size(u64 granted, u32 offered, u32 send_sge, u32 *out)
{
	u32 n;

	*out = 0;
	if (!(granted & QBD_PF_RDMA_INLINE))
		return 0;
	if (!offered || offered % QBD_PROTO_SECTOR ||
	    offered > QBD_RDMA_INLINE_MAX)
		return -EPROTO;
	for (n = offered; n; n -= QBD_PROTO_SECTOR)
		if (1 + qbd_rdma_inline_sges(n) <= send_sge)
			break;
	*out = n;
	return 0;
}
