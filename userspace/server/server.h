// qbd-server: listeners, connection dispatch and shutdown. The data path
// runs in reactors (reactor.h): one thread per core, each owning its
// connections and its io_uring.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "catalog.h"
#include "config.h"
#include "session.h"
#include "volume_url.h"

namespace qbd::server {

struct ServerOptions {
	std::string data_dir;
	std::vector<Endpoint> listen;       // tcp://; port 0: an ephemeral port (tests)
	std::vector<Endpoint> listen_rdma;  // rdma:// (rdma.h)
	Limits limits;
	// 0: one reactor per CPU the server may run on, each pinned to its
	// CPU, and a connection goes to the reactor of the CPU its packets
	// arrive on (SO_INCOMING_CPU). N: N unpinned reactors, round-robin.
	unsigned reactors = 0;
	// RDMA workers (rdma.h): 0 (the default): one per CPU, pinned, placed
	// as the reactors, each QP served on the worker of the CPU the client
	// posts it from. N > 0: N unpinned workers.
	unsigned rdma_workers = 0;
	// RDMA workers poll their completion queues this long (microseconds)
	// after the last work before sleeping: lower latency for a CPU kept
	// busy meanwhile. 0 (the default): they sleep at once.
	unsigned rdma_poll_us = 0;
	bool direct = true;     // try O_DIRECT on volume files
	// The server's key (key_file): when set, every connection must
	// authenticate before its first message is served.
	std::shared_ptr<const Key> key;
};

class Server {
public:
	// Opens the catalog, binds every listener and starts the threads.
	static Result<std::unique_ptr<Server>> start(const ServerOptions &opts);
	~Server();
	Server(const Server &) = delete;
	Server &operator=(const Server &) = delete;

	// The bound ports, in the order of ServerOptions::listen.
	std::vector<uint16_t> ports() const;
	// The bound RDMA ports, in the order of ServerOptions::listen_rdma.
	std::vector<uint16_t> rdma_ports() const;
	// Stops accepting, lets every connection finish the requests it has
	// read (replies are sent), closes them and joins the threads.
	// Idempotent; called by the destructor.
	void stop();
	Catalog &catalog() { return *catalog_; }

	struct Impl;

private:
	Server() = default;
	std::unique_ptr<Catalog> catalog_;
	std::unique_ptr<Impl> impl_;
};

// A --listen address: "tcp://ADDR:PORT", "ADDR:PORT", "ADDR" (port 7000),
// "rdma://ADDR:PORT" or "rdma://ADDR" (port 7001).
struct ListenAddr {
	Transport transport = Transport::tcp;
	Endpoint ep;
};
Result<ListenAddr> parse_listen(std::string_view s);
// Appends @a to opts.listen or opts.listen_rdma by its transport.
void add_listen(ServerOptions &opts, const ListenAddr &a);

// Where an accepted connection goes: the reactor pinned on its
// SO_INCOMING_CPU (@incoming_cpu, -1: unknown; @by_cpu maps a CPU number to
// its reactor, -1: none), else the next one round-robin (@rr); but when that
// reactor already owns more than one connection more than the least busy
// one (@live: connections per reactor), the least busy one — so a client
// that opens every connection from one CPU still spreads over the reactors.
unsigned pick_reactor(const std::vector<int> &by_cpu, int incoming_cpu, const std::vector<uint32_t> &live,
		      size_t &rr);

}  // namespace qbd::server
