// The wire structs have the sizes and field offsets docs/protocol.md gives.
#include <cstddef>

#include <gtest/gtest.h>

#include "qbd_proto.h"

TEST(ProtoLayout, RequestOffsets) {
	EXPECT_EQ(offsetof(qbd_req, handle), 8u);
	EXPECT_EQ(offsetof(qbd_req, offset), 32u);
	EXPECT_EQ(offsetof(qbd_req, length), 40u);
	EXPECT_EQ(offsetof(qbd_req, rdma_addr), 56u);
}

TEST(ProtoLayout, ReplyOffsets) {
	EXPECT_EQ(offsetof(qbd_reply, handle), 8u);
	EXPECT_EQ(offsetof(qbd_reply, length), 16u);
}

TEST(ProtoLayout, RdmaCmReqOffsets) {
	EXPECT_EQ(sizeof(qbd_rdma_cm_req), 16u);
	EXPECT_EQ(offsetof(qbd_rdma_cm_req, version), 4u);
	EXPECT_EQ(offsetof(qbd_rdma_cm_req, qid), 6u);
	EXPECT_EQ(offsetof(qbd_rdma_cm_req, cpu), 8u);
}
