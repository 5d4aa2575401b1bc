// The RDMA engine: rdma:// listeners and the connections they accept,
// served by worker threads of its own: one by default, one per CPU with
// qbd-server --rdma-workers 0 (see rdma.cc for why and how a connection
// finds its worker).
#pragma once

#include <memory>
#include <vector>

#include "config.h"
#include "reactor.h"

namespace qbd::server {

class RdmaEngine {
public:
	// Binds every endpoint (port 0: ephemeral) and starts one worker thread
	// per entry of @cpus, pinned to that CPU (-1: unpinned; empty: one
	// unpinned worker). @poll_us: how long a worker polls its completion
	// queues after the last work before it sleeps (0: it sleeps at once).
	// An error when there is no RDMA device for an address or a bind fails.
	static Result<std::unique_ptr<RdmaEngine>> start(const std::vector<Endpoint> &listen,
							 std::shared_ptr<ReactorShared> shared,
							 const std::vector<int> &cpus, unsigned poll_us = 0);
	~RdmaEngine();
	RdmaEngine(const RdmaEngine &) = delete;
	RdmaEngine &operator=(const RdmaEngine &) = delete;

	// Bound ports, in the order of @listen.
	std::vector<uint16_t> ports() const;
	// Stops accepting, finishes the requests already received (replies are
	// sent), disconnects every QP, frees everything and joins the threads.
	// Idempotent.
	void stop();

	struct Impl;

private:
	RdmaEngine() = default;
	std::unique_ptr<Impl> impl_;
};

}  // namespace qbd::server
