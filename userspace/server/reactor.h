// A reactor: one thread that owns a set of connections and an io_uring
// for their network and disk IO. The acceptor hands new connections over
// through a locked queue and an eventfd; nothing else is shared on the
// data path.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "catalog.h"
#include "session.h"

namespace qbd::server {

// What every reactor shares (read-mostly).
struct ReactorShared {
	ReactorShared(Catalog &c, const Limits &l) : catalog(c), limits(l) {}
	Catalog &catalog;
	const Limits limits;
	std::shared_ptr<const Key> key;  // nullptr: no authentication
	std::atomic<uint32_t> connections{0};  // open connections, all reactors
};

class Reactor {
public:
	// @cpu >= 0 pins the reactor's thread to that CPU.
	static Result<std::unique_ptr<Reactor>> start(unsigned index, std::shared_ptr<ReactorShared> shared,
						      int cpu = -1);
	~Reactor();
	// Gives the connection @fd to this reactor (any thread).
	void hand_off(int fd, uint64_t conn_id);
	// Stops reading requests, finishes those in flight, closes every
	// connection and joins the thread.
	void stop();
	unsigned index() const { return index_; }
	// Connections this reactor owns now (handed off, not yet freed).
	uint32_t live() const { return live_.load(std::memory_order_relaxed); }
	ReactorShared &shared() { return *shared_; }

	struct Loop;

private:
	Reactor(unsigned index, std::shared_ptr<ReactorShared> shared);
	const unsigned index_;
	std::shared_ptr<ReactorShared> shared_;
	std::unique_ptr<Loop> loop_;
	std::atomic<uint32_t> live_{0};
	std::thread thread_;
};

// Pins @t to @cpu (-1: leaves it unpinned); a failure is logged (naming
// @what), not fatal: the thread runs, only its placement is lost.
void pin_thread(std::thread &t, int cpu, const std::string &what);

}  // namespace qbd::server
