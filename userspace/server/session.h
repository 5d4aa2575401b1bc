// Connection-level protocol logic shared by the IO engines: the hello
// handshake, the admin interface and request execution against a volume.
// Pure functions of their inputs plus the catalog; no sockets here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "auth.h"
#include "catalog.h"
#include "proto.h"

namespace qbd::server {

struct Limits {
	uint32_t max_connections = 1024;
	uint32_t max_queue_depth = 128;  // per connection
	uint32_t max_io = QBD_PROTO_MAX_IO;
	bool data_digest = true;  // grant QBD_PF_DATA_DIGEST (TCP) when asked
	// RDMA: largest WRITE taken inline (QBD_PF_RDMA_INLINE); 0: never
	// grant it. Capped by max_io.
	uint32_t rdma_inline = QBD_RDMA_INLINE_MAX;
};

// The inline WRITE size an RDMA server offers to a connection whose max_io
// is @max_io: a multiple of 512, at most QBD_RDMA_INLINE_MAX; 0 for none.
inline uint32_t rdma_inline_offer(const Limits &lim, uint32_t max_io)
{
	uint32_t n = std::min({lim.rdma_inline, max_io, QBD_RDMA_INLINE_MAX});
	return n - n % QBD_PROTO_SECTOR;
}

// Outcome of a hello: the reply to send and, on success, the opened volume
// (the caller must Catalog::close_volume() it when the connection ends).
struct HelloResult {
	qbd_hello_reply reply;
	std::shared_ptr<Volume> volume;
	VolumeGeometry geo;
	uint32_t queue_depth = 0;
	uint32_t rdma_inline = 0;  // QBD_PF_RDMA_INLINE granted: its size, else 0
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

// Authentication of a connection's first message (docs/protocol.md,
// "Authentication").
struct AuthPending {
	unsigned char first[sizeof(qbd_hello)];  // as sent: the proofs cover it
	Nonce server_nonce{};
};
static_assert(sizeof(qbd_hello) == sizeof(qbd_admin_req));
struct AuthStart {
	enum Action { kProceed, kChallenge, kRefuse } action = kProceed;
	qbd_auth_challenge challenge{};  // kChallenge: send it
	AuthPending pending{};           // kChallenge: keep it for auth_check
	std::string rule;                // kRefuse: why, for the log and the reply
};
// @first: a connection's first message (264 bytes, header checked).
// @key: the server's key, nullptr when it has none. Clears the auth bit and
// the nonce in @first, so handle_hello / handle_admin see a plain message.
AuthStart auth_start(const Key *key, unsigned char *first);
// Checks the client's answer to the challenge: "" when it proves the key,
// else why not.
std::string auth_check(const Key &key, const AuthPending &p, const qbd_auth_proof &proof);
// The reply refusing a first message of @type with @status: a
// qbd_hello_reply or a qbd_admin_reply carrying @message. Fills @buf (at
// least sizeof(qbd_admin_reply)) and returns the length.
size_t refusal_reply(uint16_t type, uint32_t status, const std::string &message, unsigned char *buf);

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

// The geometry to check a request against now (size may have grown, the
// layout version may have moved on: older requests get STALE_LAYOUT).
inline VolumeGeometry current_geometry(const VolumeGeometry &g, const Volume &v)
{
	VolumeGeometry cur = g;
	cur.size = v.size.load(std::memory_order_relaxed);
	cur.layout_version = v.layout_version.load(std::memory_order_relaxed);
	return cur;
}

// Runs a checked request synchronously (READ into / WRITE from @buf).
// Returns a QBD_S_* status.
uint32_t execute_sync(Volume &v, const qbd_req &req, void *buf);

}  // namespace qbd::server
