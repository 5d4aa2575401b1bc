// Blocking socket helpers with deadlines, for the admin client and tests.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

struct sockaddr_storage;

#include "config.h"
#include "result.h"

namespace qbd {

using Clock = std::chrono::steady_clock;

// An owned file descriptor, closed on destruction.
class Fd {
public:
	Fd() = default;
	explicit Fd(int fd) : fd_(fd) {}
	Fd(Fd &&o) noexcept : fd_(o.release()) {}
	Fd &operator=(Fd &&o) noexcept;
	Fd(const Fd &) = delete;
	Fd &operator=(const Fd &) = delete;
	~Fd() { reset(); }
	int get() const { return fd_; }
	int release() { int f = fd_; fd_ = -1; return f; }
	void reset(int fd = -1);
	explicit operator bool() const { return fd_ >= 0; }

private:
	int fd_ = -1;
};

// Resolves @ep and connects (TCP, TCP_NODELAY) within @timeout.
Result<Fd> tcp_connect(const Endpoint &ep, std::chrono::milliseconds timeout);
// Sends / receives exactly @n bytes before @deadline (ETIMEDOUT after it,
// ECONNRESET when the peer closes first); Clock::time_point::max() waits
// forever.
Status send_all(int fd, const void *buf, size_t n, Clock::time_point deadline);
Status recv_all(int fd, void *buf, size_t n, Clock::time_point deadline);

// "10.0.0.1:7000" or "[::1]:7000" for an IPv4 or IPv6 address.
std::string sockaddr_str(const struct sockaddr_storage &ss);
// The address of @fd's peer, or "?" when it has none.
std::string peer_str(int fd);

}  // namespace qbd
