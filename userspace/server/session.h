// Connection-level protocol logic shared by the IO engines: the hello
// handshake, the admin interface and request execution against a volume.
// Pure functions of their inputs plus the catalog; no sockets here.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "catalog.h"
#include "proto.h"

namespace qbd::server {

struct Limits {
	uint32_t max_connections = 1024;
	uint32_t max_queue_depth = 128;  // per connection
	uint32_t max_io = QBD_PROTO_MAX_IO;
};

// Outcome of a hello: the reply to send and, on success, the opened volume
// (the caller must Catalog::close_volume() it when the connection ends).
struct HelloResult {
	qbd_hello_reply reply;
	std::shared_ptr<Volume> volume;
	VolumeGeometry geo;
	uint32_t queue_depth = 0;
	std::string name;  // "pool/vol" for log lines
	std::string rule;  // why it failed, for the log
};
// @transport decides which features can be granted (grant_features()).
// The caller sends the reply; a later handshake step (authentication) can
// run between this and the send.
HelloResult handle_hello(Catalog &cat, const qbd_hello &h, const Limits &lim,
			 Transport transport = Transport::tcp);

// Checks the first 8 bytes of a connection. Returns an empty string when
// fine, else the rule that broke.
std::string check_msg_hdr(const qbd_msg_hdr &h);

// One admin request -> reply header + payload bytes.
struct AdminResult {
	qbd_admin_reply reply;
	std::vector<qbd_admin_vol> payload;
	std::string summary;  // for the log
};
AdminResult handle_admin(Catalog &cat, const qbd_admin_req &req);

// Fills an IO reply header.
inline void fill_reply(qbd_reply &r, uint64_t handle_le, uint32_t status, uint32_t length)
{
	memset(&r, 0, sizeof(r));
	r.magic = to_le32(QBD_PROTO_MAGIC);
	r.status = to_le32(status);
	r.handle = handle_le;
	r.length = to_le32(length);
}

// The geometry to check a request against now (size may have grown).
inline VolumeGeometry current_geometry(const VolumeGeometry &g, const Volume &v)
{
	VolumeGeometry cur = g;
	cur.size = v.size.load(std::memory_order_relaxed);
	return cur;
}

// Runs a checked request synchronously (READ into / WRITE from @buf).
// Returns a QBD_S_* status.
uint32_t execute_sync(Volume &v, const qbd_req &req, void *buf);

}  // namespace qbd::server
