// Helpers for the server tests: an in-process qbd-server on an ephemeral
// loopback port in a temporary data directory, and a blocking IO client.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "admin_client.h"
#include "net.h"
#include "proto.h"
#include "server.h"

namespace qbd::testing {

using namespace std::chrono_literals;

inline Clock::time_point soon() { return Clock::now() + 10s; }

struct TempDir {
	std::string path;
	TempDir()
	{
		char t[] = "/tmp/qbd-test.XXXXXX";
		path = mkdtemp(t);
	}
	~TempDir() { std::filesystem::remove_all(path); }
};

struct TestServer {
	TempDir dir;
	std::unique_ptr<server::Server> srv;
	Endpoint ep;
	explicit TestServer(server::Limits lim = {}, unsigned reactors = 2)
	{
		server::ServerOptions o;
		o.data_dir = dir.path;
		o.listen = {Endpoint{"127.0.0.1", 0}};
		o.limits = lim;
		o.reactors = reactors;
		auto s = server::Server::start(o);
		EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
		srv = std::move(*s);
		ep = Endpoint{"127.0.0.1", srv->ports().at(0)};
	}
	AdminClient admin()
	{
		auto c = AdminClient::connect(ep, 5s);
		EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
		return std::move(*c);
	}
};

inline qbd_hello make_hello(const std::string &pool, const std::string &vol, uint32_t qd = 32,
			    uint64_t features = QBD_PF_ALL)
{
	qbd_hello h;
	memset(&h, 0, sizeof(h));
	fill_msg_hdr(h.hdr, QBD_MSG_HELLO);
	h.features = to_le64(features);
	h.queue_depth = to_le32(qd);
	h.max_io = to_le32(QBD_PROTO_MAX_IO);
	write_fixed(h.pool, sizeof(h.pool), pool);
	write_fixed(h.volume, sizeof(h.volume), vol);
	return h;
}

struct IoReply {
	uint32_t status = 0;
	uint64_t handle = 0;
	std::vector<char> data;
	uint64_t vol_size = 0;  // PING replies: the volume's size
	uint32_t digest = 0;    // host order
};

// A blocking client speaking the IO protocol on one connection.
struct IoClient {
	Fd fd;
	qbd_hello_reply hello{};
	VolumeGeometry geo;

	static IoClient open(const Endpoint &ep, const std::string &pool, const std::string &vol,
			     uint64_t features = QBD_PF_ALL)
	{
		IoClient c;
		auto fd = tcp_connect(ep, 5s);
		EXPECT_TRUE(fd.ok());
		c.fd = std::move(*fd);
		qbd_hello h = make_hello(pool, vol, 32, features);
		EXPECT_TRUE(send_all(c.fd.get(), &h, sizeof(h), soon()).ok());
		EXPECT_TRUE(recv_all(c.fd.get(), &c.hello, sizeof(c.hello), soon()).ok());
		c.geo.vol_id = le64(c.hello.vol_id);
		c.geo.size = le64(c.hello.size);
		c.geo.shard_size = le64(c.hello.shard_size);
		c.geo.layout_version = le32(c.hello.layout_version);
		return c;
	}
	qbd_req req(uint8_t op, uint64_t off, uint32_t len, uint64_t handle, uint8_t flags = 0) const
	{
		qbd_req r;
		memset(&r, 0, sizeof(r));
		r.magic = to_le32(QBD_PROTO_MAGIC);
		r.opcode = op;
		r.flags = flags;
		r.handle = to_le64(handle);
		r.vol_id = to_le64(geo.vol_id);
		r.layout_version = to_le32(geo.layout_version);
		r.offset = to_le64(off);
		r.length = to_le32(len);
		if (geo.shard_size)
			r.shard = to_le32(static_cast<uint32_t>(off / geo.shard_size));
		return r;
	}
	bool send_req(const qbd_req &r, const void *data = nullptr, size_t n = 0)
	{
		if (!send_all(fd.get(), &r, sizeof(r), soon()).ok())
			return false;
		return !n || send_all(fd.get(), data, n, soon()).ok();
	}
	// Reads one reply; status UINT32_MAX when the connection broke.
	IoReply recv_reply()
	{
		IoReply out;
		qbd_reply rep;
		if (!recv_all(fd.get(), &rep, sizeof(rep), soon()).ok()) {
			out.status = UINT32_MAX;
			return out;
		}
		EXPECT_EQ(le32(rep.magic), QBD_PROTO_MAGIC);
		out.status = le32(rep.status);
		out.handle = le64(rep.handle);
		out.vol_size = le64(rep.vol_size);
		out.digest = le32(rep.digest);
		uint32_t len = le32(rep.length);
		EXPECT_LE(len, QBD_PROTO_MAX_IO);
		out.data.resize(len);
		if (len && !recv_all(fd.get(), out.data.data(), len, soon()).ok())
			out.status = UINT32_MAX;
		return out;
	}
	IoReply call(const qbd_req &r, const void *data = nullptr, size_t n = 0)
	{
		if (!send_req(r, data, n))
			return IoReply{UINT32_MAX, 0, {}};
		return recv_reply();
	}
	uint32_t write(uint64_t off, const std::vector<char> &d, uint8_t flags = 0)
	{
		return call(req(QBD_OP_WRITE, off, d.size(), 1, flags), d.data(), d.size()).status;
	}
	std::vector<char> read(uint64_t off, uint32_t len)
	{
		IoReply r = call(req(QBD_OP_READ, off, len, 2));
		EXPECT_EQ(r.status, QBD_S_OK);
		return r.data;
	}
	// True when the server closed the connection (recv sees EOF/reset).
	bool closed_by_peer()
	{
		char b;
		auto s = recv_all(fd.get(), &b, 1, Clock::now() + 5s);
		return !s.ok() && s.error().code != ETIMEDOUT;
	}
};

inline std::vector<char> pattern(size_t n, uint32_t seed)
{
	std::vector<char> v(n);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		v[i] = static_cast<char>(x);
	}
	return v;
}

}  // namespace qbd::testing
