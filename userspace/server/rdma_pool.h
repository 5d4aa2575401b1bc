// Bookkeeping for the RDMA engine (rdma.cc) that needs no device, so the
// unit tests can check it: the data buffer pool's free list and the shared
// receive queue's per-connection budget.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "qbd_proto.h"

namespace qbd::server {

// Indexes of @n equal buffers carved out of one registered region. Not
// thread-safe: owned by one RDMA thread.
class BufferPool {
public:
	explicit BufferPool(uint32_t n) : used_(n, false)
	{
		free_.reserve(n);
		for (uint32_t i = n; i > 0; i--)
			free_.push_back(i - 1);
	}
	std::optional<uint32_t> acquire()
	{
		if (free_.empty())
			return std::nullopt;
		uint32_t i = free_.back();
		free_.pop_back();
		used_[i] = true;
		return i;
	}
	// False (and nothing changes) for an index that is not in use.
	bool release(uint32_t i)
	{
		if (i >= used_.size() || !used_[i])
			return false;
		used_[i] = false;
		free_.push_back(i);
		return true;
	}
	uint32_t free_count() const { return static_cast<uint32_t>(free_.size()); }
	uint32_t in_use() const { return static_cast<uint32_t>(used_.size() - free_.size()); }
	uint32_t size() const { return static_cast<uint32_t>(used_.size()); }

private:
	std::vector<uint32_t> free_;
	std::vector<bool> used_;
};

// The shared receive queue holds @capacity receives; every connection
// reserves queue_depth + QBD_RDMA_SPARE_RECV of them before it is accepted,
// so a client that keeps to its credits always finds a receive posted.
class RecvBudget {
public:
	explicit RecvBudget(uint32_t capacity) : capacity_(capacity) {}
	static uint32_t per_connection(uint32_t queue_depth) { return queue_depth + QBD_RDMA_SPARE_RECV; }
	bool reserve(uint32_t queue_depth)
	{
		uint64_t need = per_connection(queue_depth);
		if (reserved_ + need > capacity_)
			return false;
		reserved_ += static_cast<uint32_t>(need);
		return true;
	}
	void release(uint32_t queue_depth) { reserved_ -= per_connection(queue_depth); }
	uint32_t reserved() const { return reserved_; }
	uint32_t capacity() const { return capacity_; }

private:
	uint32_t capacity_;
	uint32_t reserved_ = 0;
};

// A message longer than a qbd_req on an open RDMA connection: "" when it
// is an inline WRITE the peer may send (@features granted on the
// connection, @inline_max bytes offered in the hello reply; the header @r
// as it came, @msg_len the bytes the receive completion says came), else
// the rule it breaks (the QP is then disconnected). rdma_addr/rdma_key
// are check_req()'s (rdma_inline = true).
std::string check_inline(const qbd_req &r, uint32_t msg_len, uint64_t features, uint32_t inline_max);

// The CPU a connect request's private data (@data, @len bytes as the CM
// delivered them) names in its qbd_rdma_cm_req; -1 for none: no private
// data, too short, another magic or version 0, QBD_RDMA_CM_ANY_CPU, or a
// CPU number over 2^20. Only placement follows it; nothing is refused.
int rdma_cm_req_cpu(const void *data, size_t len);

// The receive buffers of a device: @n_recv buffers of @stride bytes; a
// message lands @offset bytes into one, so that inline WRITE data (after
// the 72-byte header) starts page-aligned (O_DIRECT). With @inline_max 0
// they are QBD_RDMA_REQ_BUF bytes, packed.
struct RecvLayout {
	uint32_t offset = 0;
	uint32_t stride = QBD_RDMA_REQ_BUF;
	uint32_t len = QBD_RDMA_REQ_BUF;  // the receive's SGE length
	static RecvLayout for_inline(uint32_t inline_max)
	{
		RecvLayout l;
		if (!inline_max)
			return l;
		constexpr uint32_t kPage = 4096;
		l.offset = kPage - static_cast<uint32_t>(sizeof(qbd_req));
		l.len = static_cast<uint32_t>(sizeof(qbd_req)) + inline_max;
		if (l.len < QBD_RDMA_REQ_BUF)
			l.len = QBD_RDMA_REQ_BUF;
		l.stride = (l.offset + l.len + kPage - 1) / kPage * kPage;
		return l;
	}
};

}  // namespace qbd::server
