// Bookkeeping for the RDMA engine (rdma.cc) that needs no device, so the
// unit tests can check it: the data buffer pool's free list and the shared
// receive queue's per-connection budget.
#pragma once

#include <cstdint>
#include <optional>
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

}  // namespace qbd::server
