// Helpers around the wire protocol (include/proto/qbd_proto.h): little-endian
// field access, name rules, fixed-size string fields, request validation.
// Shared by qbd-server, qbdadm and the admin client; the module has its own C.
#pragma once

#include <endian.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "qbd_proto.h"
#include "result.h"
#include "volume_url.h"

namespace qbd {

inline uint16_t le16(uint16_t v) { return le16toh(v); }
inline uint32_t le32(uint32_t v) { return le32toh(v); }
inline uint64_t le64(uint64_t v) { return le64toh(v); }
inline uint16_t to_le16(uint16_t v) { return htole16(v); }
inline uint32_t to_le32(uint32_t v) { return htole32(v); }
inline uint64_t to_le64(uint64_t v) { return htole64(v); }

// kPoolNameMax, kVolumeNameMax come from volume_url.h (one definition).
static_assert(kPoolNameMax == QBD_PROTO_POOL_MAX - 1, "pool name limit");
static_assert(kVolumeNameMax == QBD_PROTO_VOLUME_MAX - 1, "volume name limit");

// Pool names: [A-Za-z0-9._-], 1..63 characters, not "." or "..".
Status check_pool_name(std::string_view name);
// Volume names: [A-Za-z0-9._-], 1..127 characters, not "." or "..".
Status check_volume_name(std::string_view name);

// Reads a NUL-terminated string out of a fixed-size field; an error (naming
// @what) when there is no NUL inside the field.
Result<std::string> read_fixed(const char *field, size_t size, std::string_view what);
// Writes @s NUL-padded into a fixed field; @s must be shorter than @size.
void write_fixed(char *field, size_t size, std::string_view s);

// "OK", "IO_ERROR", ... ("STATUS_<n>" for unknown values).
const char *status_name(uint32_t status);
// Positive errno for a QBD_S_* status (0 for OK).
int status_errno(uint32_t status);
// "READ", "WRITE", ... ("OP_<n>" for unknown values).
const char *op_name(uint8_t op);

inline void fill_msg_hdr(qbd_msg_hdr &h, uint16_t type)
{
	h.magic = to_le32(QBD_PROTO_MAGIC);
	h.version = to_le16(QBD_PROTO_VERSION);
	h.type = to_le16(type);
}

// What an opened volume looks like to the request validator.
struct VolumeGeometry {
	uint64_t vol_id = 0;
	uint64_t size = 0;
	uint64_t shard_size = 0;
	uint32_t layout_version = 0;
	uint32_t max_io = QBD_PROTO_MAX_IO;
	uint64_t features = 0;  // QBD_PF_* granted on this connection
};

// The verdict on one request header.
struct ReqVerdict {
	enum Action { kServe, kReply, kClose } action = kServe;
	uint32_t status = QBD_S_OK;  // for kReply
	std::string rule;            // which rule broke (for the log)
	// kReply on a WRITE: the payload still has to be read and dropped, so
	// the stream stays in sync. kClose when it cannot be trusted.
	uint32_t discard_payload = 0;
};

// Checks a request header (already in host memory, fields little-endian)
// against the volume opened on the connection. Never touches data.
// Magic mismatch closes the connection (the stream is out of sync);
// a WRITE length over max_io closes it too (we would have to swallow an
// untrusted amount of data). Anything else gets an error reply.
// @transport decides the rdma_addr/rdma_key rule: over TCP both must be 0;
// over RDMA a READ or WRITE needs a non-zero rdma_key (a 0 key closes: the
// client cannot have meant it) and every other opcode needs both 0.
// @rdma_inline: the request came with inline data (RDMA, QBD_PF_RDMA_INLINE):
// it must be a WRITE with rdma_addr = rdma_key = 0, anything else closes.
ReqVerdict check_req(const qbd_req &req, const VolumeGeometry &geo,
		     Transport transport = Transport::tcp, bool rdma_inline = false);

// The QBD_PF_* a server grants for @asked on @transport: the common
// features it supports plus QBD_PF_RDMA_INV and QBD_PF_RDMA_INLINE over
// RDMA only and
// QBD_PF_DATA_DIGEST over TCP only.
uint64_t grant_features(uint64_t asked, Transport transport);

// The data digest (QBD_PF_DATA_DIGEST, TCP). A WRITE's payload against its
// header's digest: QBD_S_OK, or QBD_S_DIGEST when they differ (nothing may
// be written then); QBD_S_OK when the connection has no digests.
uint32_t check_write_digest(const qbd_req &req, const void *data, uint32_t len, uint64_t features);
// qbd_reply.digest (little-endian) for a reply: the CRC32C of a successful
// READ's data when digests are on, else 0.
uint32_t reply_digest(uint8_t op, uint32_t status, const void *data, uint32_t len, uint64_t features);

}  // namespace qbd
