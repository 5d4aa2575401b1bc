#include "net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

namespace qbd {

Fd &Fd::operator=(Fd &&o) noexcept
{
	if (this != &o)
		reset(o.release());
	return *this;
}

void Fd::reset(int fd)
{
	if (fd_ >= 0)
		::close(fd_);
	fd_ = fd;
}

static int ms_left(Clock::time_point deadline)
{
	if (deadline == Clock::time_point::max())
		return -1;  // no deadline
	auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
	return left < 0 ? 0 : static_cast<int>(std::min<int64_t>(left, INT32_MAX));
}

static Status wait_fd(int fd, short events, Clock::time_point deadline, const char *what)
{
	for (;;) {
		struct pollfd p = {fd, events, 0};
		int r = ::poll(&p, 1, ms_left(deadline));
		if (r > 0)
			return ok_status();
		if (r == 0)
			return make_error(ETIMEDOUT, std::string("timed out waiting to ") + what);
		if (errno != EINTR)
			return make_error(errno, std::string("poll: ") + strerror(errno));
	}
}

Result<Fd> tcp_connect(const Endpoint &ep, std::chrono::milliseconds timeout)
{
	auto deadline = Clock::now() + timeout;
	struct addrinfo hints = {};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	struct addrinfo *res = nullptr;
	std::string port = std::to_string(ep.port);
	int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
	if (rc)
		return make_error(EHOSTUNREACH, "cannot resolve '" + ep.host + "': " + gai_strerror(rc));
	Error last = make_error(ECONNREFUSED, "no address for " + ep.str());
	for (auto *ai = res; ai; ai = ai->ai_next) {
		Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol));
		if (!fd) {
			last = make_error(errno, std::string("socket: ") + strerror(errno));
			continue;
		}
		if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) < 0) {
			if (errno != EINPROGRESS) {
				last = make_error(errno, "connect to " + ep.str() + ": " + strerror(errno));
				continue;
			}
			auto w = wait_fd(fd.get(), POLLOUT, deadline, ("connect to " + ep.str()).c_str());
			if (!w) {
				last = w.error();
				continue;
			}
			int err = 0;
			socklen_t len = sizeof(err);
			::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
			if (err) {
				last = make_error(err, "connect to " + ep.str() + ": " + strerror(err));
				continue;
			}
		}
		int one = 1;
		::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		::freeaddrinfo(res);
		return fd;
	}
	::freeaddrinfo(res);
	return last;
}

Status send_all(int fd, const void *buf, size_t n, Clock::time_point deadline)
{
	auto p = static_cast<const char *>(buf);
	while (n) {
		ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (r > 0) {
			p += r;
			n -= r;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			auto w = wait_fd(fd, POLLOUT, deadline, "send");
			if (!w)
				return w;
			continue;
		}
		return make_error(errno, std::string("send: ") + strerror(errno));
	}
	return ok_status();
}

Status recv_all(int fd, void *buf, size_t n, Clock::time_point deadline)
{
	auto p = static_cast<char *>(buf);
	while (n) {
		ssize_t r = ::recv(fd, p, n, MSG_DONTWAIT);
		if (r > 0) {
			p += r;
			n -= r;
			continue;
		}
		if (r == 0)
			return make_error(ECONNRESET, "connection closed by the peer");
		if (errno == EAGAIN || errno == EINTR) {
			auto w = wait_fd(fd, POLLIN, deadline, "receive");
			if (!w)
				return w;
			continue;
		}
		return make_error(errno, std::string("recv: ") + strerror(errno));
	}
	return ok_status();
}

std::string sockaddr_str(const struct sockaddr_storage &ss)
{
	char host[INET6_ADDRSTRLEN] = "?";
	if (ss.ss_family == AF_INET) {
		auto *a = reinterpret_cast<const sockaddr_in *>(&ss);
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		return std::string(host) + ":" + std::to_string(ntohs(a->sin_port));
	}
	if (ss.ss_family != AF_INET6)
		return "?";
	auto *a = reinterpret_cast<const sockaddr_in6 *>(&ss);
	inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
	return "[" + std::string(host) + "]:" + std::to_string(ntohs(a->sin6_port));
}

std::string peer_str(int fd)
{
	struct sockaddr_storage ss = {};
	socklen_t len = sizeof(ss);
	if (getpeername(fd, reinterpret_cast<sockaddr *>(&ss), &len))
		return "?";
	return sockaddr_str(ss);
}

}  // namespace qbd
