#include "proto.h"

#include "crc32c.h"

namespace qbd {

static Status check_name(std::string_view name, size_t max, const char *what)
{
	if (name.empty())
		return make_error(EINVAL, std::string("empty ") + what + " name");
	if (name.size() > max)
		return make_error(EINVAL, std::string(what) + " name '" + std::string(name) + "' is " +
						  std::to_string(name.size()) + " characters, the limit is " +
						  std::to_string(max));
	if (name == "." || name == "..")
		return make_error(EINVAL, std::string(what) + " name '" + std::string(name) +
						  "' is not allowed");
	for (char c : name) {
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == '-';
		if (!ok) {
			std::string shown = (c >= 0x20 && c < 0x7f) ? std::string(1, c) : "\\x" + [&] {
				char b[3];
				snprintf(b, sizeof(b), "%02x", static_cast<unsigned char>(c));
				return std::string(b);
			}();
			return make_error(EINVAL, std::string(what) + " name '" + std::string(name) +
							  "': character '" + shown +
							  "' is not allowed (use A-Z a-z 0-9 . _ -)");
		}
	}
	return ok_status();
}

Status check_pool_name(std::string_view name) { return check_name(name, kPoolNameMax, "pool"); }
Status check_volume_name(std::string_view name) { return check_name(name, kVolumeNameMax, "volume"); }

Result<std::string> read_fixed(const char *field, size_t size, std::string_view what)
{
	const void *nul = memchr(field, 0, size);
	if (!nul)
		return make_error(EINVAL, std::string(what) + " is not NUL-terminated within " +
						  std::to_string(size) + " bytes");
	return std::string(field, static_cast<const char *>(nul) - field);
}

void write_fixed(char *field, size_t size, std::string_view s)
{
	memset(field, 0, size);
	memcpy(field, s.data(), std::min(s.size(), size - 1));
}

const char *status_name(uint32_t status)
{
	static const char *const names[] = {"OK",      "IO_ERROR", "INVALID",     "NO_VOLUME",
					    "STALE_LAYOUT", "NO_SPACE", "EXISTS",   "BUSY",
					    "UNSUPPORTED",  "TOO_BIG",  "OUT_OF_RANGE", "AUTH_FAILED", "DIGEST"};
	if (status < sizeof(names) / sizeof(names[0]))
		return names[status];
	return "UNKNOWN_STATUS";
}

int status_errno(uint32_t status)
{
	switch (status) {
	case QBD_S_OK: return 0;
	case QBD_S_IO_ERROR: return EIO;
	case QBD_S_INVALID: return EINVAL;
	case QBD_S_NO_VOLUME: return ENOENT;
	case QBD_S_STALE_LAYOUT: return ESTALE;
	case QBD_S_NO_SPACE: return ENOSPC;
	case QBD_S_EXISTS: return EEXIST;
	case QBD_S_BUSY: return EBUSY;
	case QBD_S_UNSUPPORTED: return EOPNOTSUPP;
	case QBD_S_TOO_BIG: return E2BIG;
	case QBD_S_OUT_OF_RANGE: return ERANGE;
	case QBD_S_AUTH_FAILED: return EACCES;
	case QBD_S_DIGEST: return EBADMSG;
	default: return EPROTO;
	}
}

const char *op_name(uint8_t op)
{
	static const char *const names[] = {"READ", "WRITE", "FLUSH", "DISCARD", "WRITE_ZEROES", "PING"};
	if (op <= QBD_OP_MAX)
		return names[op];
	return "UNKNOWN_OP";
}

uint64_t grant_features(uint64_t asked, Transport transport)
{
	uint64_t supported = QBD_PF_ALL;
	if (transport == Transport::rdma)
		supported |= QBD_PF_RDMA_INV | QBD_PF_RDMA_INLINE;
	else
		supported |= QBD_PF_DATA_DIGEST;  // TCP only: RoCE/IB carry an ICRC
	return asked & supported;
}

ReqVerdict check_req(const qbd_req &req, const VolumeGeometry &geo, Transport transport, bool rdma_inline)
{
	ReqVerdict v;
	auto reply = [&](uint32_t status, std::string rule) {
		v.action = ReqVerdict::kReply;
		v.status = status;
		v.rule = std::move(rule);
		return v;
	};
	if (le32(req.magic) != QBD_PROTO_MAGIC) {
		v.action = ReqVerdict::kClose;
		v.rule = "bad magic (stream out of sync)";
		return v;
	}
	const uint8_t op = req.opcode;
	const uint32_t len = le32(req.length);
	const uint64_t off = le64(req.offset);
	// Once the magic is right the header is framed; decide how much WRITE
	// payload follows before anything else, so an error reply keeps sync.
	if (op == QBD_OP_WRITE) {
		if (len > geo.max_io) {
			v.action = ReqVerdict::kClose;
			v.status = QBD_S_TOO_BIG;
			v.rule = "WRITE length " + std::to_string(len) + " over the limit " +
				 std::to_string(geo.max_io) + " (cannot skip the payload safely)";
			return v;
		}
		v.discard_payload = len;
	}
	if (op > QBD_OP_MAX)
		return reply(QBD_S_UNSUPPORTED, "opcode " + std::to_string(op) + " is unknown");
	if (op == QBD_OP_PING)
		return v;  // heartbeat: framing is all that matters
	if (req.flags & ~QBD_RF_ALL)
		return reply(QBD_S_INVALID, "flags 0x" + [&] {
			char b[8];
			snprintf(b, sizeof(b), "%x", req.flags);
			return std::string(b);
		}() + " has unknown bits");
	if ((req.flags & QBD_RF_FUA) && op != QBD_OP_WRITE)
		return reply(QBD_S_INVALID, std::string("FUA flag on ") + op_name(op));
	if (req.reserved0 || req.reserved1)
		return reply(QBD_S_INVALID, "reserved fields are not zero");
	if (rdma_inline) {
		// The data came in the SEND (the caller checked its length): no
		// client buffer to name.
		if (op != QBD_OP_WRITE || req.rdma_addr || req.rdma_key) {
			v.action = ReqVerdict::kClose;
			v.status = QBD_S_INVALID;
			v.rule = op == QBD_OP_WRITE ? "inline WRITE with rdma_addr/rdma_key set"
						    : std::string(op_name(op)) + " with inline data";
			return v;
		}
	} else if (transport == Transport::rdma && (op == QBD_OP_READ || op == QBD_OP_WRITE)) {
		if (!req.rdma_key) {
			v.action = ReqVerdict::kClose;
			v.status = QBD_S_INVALID;
			v.rule = std::string(op_name(op)) + " with rdma_key 0 (no client buffer)";
			return v;
		}
	} else if (req.rdma_addr || req.rdma_key) {
		return reply(QBD_S_INVALID, transport == Transport::rdma
						    ? std::string("rdma_addr/rdma_key set on ") + op_name(op)
						    : "rdma_addr/rdma_key set on a TCP connection");
	}
	if (req.snap_seq)
		return reply(QBD_S_UNSUPPORTED, "snapshots are not supported (snap_seq " +
						 std::to_string(le64(req.snap_seq)) + ")");
	if (req.digest && !(geo.features & QBD_PF_DATA_DIGEST))
		return reply(QBD_S_UNSUPPORTED, "data digests are not negotiated");
	if (req.digest && op != QBD_OP_WRITE)
		return reply(QBD_S_INVALID, std::string("digest set on ") + op_name(op) +
						 " (only a WRITE carries one)");
	if (le64(req.vol_id) != geo.vol_id)
		return reply(QBD_S_INVALID, "vol_id " + std::to_string(le64(req.vol_id)) +
						 " is not the volume open on this connection (" +
						 std::to_string(geo.vol_id) + ")");
	if (le32(req.layout_version) < geo.layout_version)
		return reply(QBD_S_STALE_LAYOUT, "layout_version " + std::to_string(le32(req.layout_version)) +
						     " older than " + std::to_string(geo.layout_version));
	if (le32(req.layout_version) > geo.layout_version)
		return reply(QBD_S_INVALID, "layout_version " + std::to_string(le32(req.layout_version)) +
						 " newer than the server's " + std::to_string(geo.layout_version));
	switch (op) {
	case QBD_OP_FLUSH:
		if (len || off)
			return reply(QBD_S_INVALID, std::string(op_name(op)) + " with offset " +
							 std::to_string(off) + " length " + std::to_string(len) +
							 " (both must be 0)");
		if (op == QBD_OP_FLUSH && !(geo.features & QBD_PF_FUA))
			return reply(QBD_S_UNSUPPORTED, "FLUSH without the FUA feature");
		return v;
	case QBD_OP_DISCARD:
		if (!(geo.features & QBD_PF_DISCARD))
			return reply(QBD_S_UNSUPPORTED, "DISCARD without the DISCARD feature");
		break;
	case QBD_OP_WRITE_ZEROES:
		if (!(geo.features & QBD_PF_WRITE_ZEROES))
			return reply(QBD_S_UNSUPPORTED, "WRITE_ZEROES without the WRITE_ZEROES feature");
		break;
	case QBD_OP_WRITE:
		if ((req.flags & QBD_RF_FUA) && !(geo.features & QBD_PF_FUA))
			return reply(QBD_S_UNSUPPORTED, "FUA write without the FUA feature");
		break;
	default:
		break;
	}
	if (len == 0)
		return reply(QBD_S_INVALID, std::string(op_name(op)) + " with length 0");
	if ((op == QBD_OP_READ || op == QBD_OP_WRITE) && len > geo.max_io)
		return reply(QBD_S_TOO_BIG, std::string(op_name(op)) + " length " + std::to_string(len) +
					    " over the limit " + std::to_string(geo.max_io));
	if (off % QBD_PROTO_SECTOR || len % QBD_PROTO_SECTOR)
		return reply(QBD_S_INVALID, "offset " + std::to_string(off) + " length " + std::to_string(len) +
					    " not multiples of 512");
	if (off > geo.size || len > geo.size - off)
		return reply(QBD_S_OUT_OF_RANGE, "offset " + std::to_string(off) + " + length " +
						     std::to_string(len) + " past the volume end " +
						     std::to_string(geo.size));
	if (geo.shard_size) {
		uint64_t shard = off / geo.shard_size;
		if (shard != le32(req.shard))
			return reply(QBD_S_INVALID, "shard " + std::to_string(le32(req.shard)) + " but offset " +
							 std::to_string(off) + " is in shard " + std::to_string(shard));
		if ((op == QBD_OP_READ || op == QBD_OP_WRITE) && (off + len - 1) / geo.shard_size != shard)
			return reply(QBD_S_INVALID, "offset " + std::to_string(off) + " length " +
							 std::to_string(len) + " crosses a shard boundary");
	}
	return v;
}

uint32_t check_write_digest(const qbd_req &req, const void *data, uint32_t len, uint64_t features)
{
	if (!(features & QBD_PF_DATA_DIGEST) || req.opcode != QBD_OP_WRITE)
		return QBD_S_OK;
	return crc32c(data, len) == le32(req.digest) ? QBD_S_OK : QBD_S_DIGEST;
}

uint32_t reply_digest(uint8_t op, uint32_t status, const void *data, uint32_t len, uint64_t features)
{
	if (!(features & QBD_PF_DATA_DIGEST) || op != QBD_OP_READ || status != QBD_S_OK)
		return 0;
	return to_le32(crc32c(data, len));
}

}  // namespace qbd
