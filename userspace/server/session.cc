#include "session.h"

#include <cstring>

#include "log.h"

namespace qbd::server {

std::string check_msg_hdr(const qbd_msg_hdr &h)
{
	if (le32(h.magic) != QBD_PROTO_MAGIC) {
		char b[64];
		snprintf(b, sizeof(b), "bad magic 0x%08x (want 0x%08x)", le32(h.magic), QBD_PROTO_MAGIC);
		return b;
	}
	if (le16(h.version) != QBD_PROTO_VERSION)
		return "protocol version " + std::to_string(le16(h.version)) + " is not supported (want " +
		       std::to_string(QBD_PROTO_VERSION) + ")";
	uint16_t t = le16(h.type);
	if (t != QBD_MSG_HELLO && t != QBD_MSG_ADMIN)
		return "message type " + std::to_string(t) + " is unknown";
	return {};
}

static bool all_zero(const void *p, size_t n)
{
	auto *b = static_cast<const unsigned char *>(p);
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

HelloResult handle_hello(Catalog &cat, const qbd_hello &h, const Limits &lim, Transport transport)
{
	HelloResult r;
	memset(&r.reply, 0, sizeof(r.reply));
	fill_msg_hdr(r.reply.hdr, QBD_MSG_HELLO);
	auto fail = [&](uint32_t status, std::string rule) {
		r.reply.status = to_le32(status);
		r.rule = std::move(rule);
		r.volume.reset();
		return std::move(r);
	};
	auto pool = read_fixed(h.pool, sizeof(h.pool), "pool");
	if (!pool)
		return fail(QBD_S_INVALID, "hello: " + pool.error().message);
	auto vol = read_fixed(h.volume, sizeof(h.volume), "volume");
	if (!vol)
		return fail(QBD_S_INVALID, "hello: " + vol.error().message);
	r.name = *pool + "/" + *vol;
	if (auto s = check_pool_name(*pool); !s)
		return fail(QBD_S_INVALID, "hello: " + s.error().message);
	if (auto s = check_volume_name(*vol); !s)
		return fail(QBD_S_INVALID, "hello: " + s.error().message);
	if (h.reserved0 || !all_zero(h.reserved, sizeof(h.reserved)))
		return fail(QBD_S_INVALID, "hello: reserved fields are not zero");
	if (!all_zero(h.auth_nonce, sizeof(h.auth_nonce)))
		return fail(QBD_S_INVALID, "hello: auth_nonce is set without the AUTH feature");
	uint32_t qd = le32(h.queue_depth);
	if (qd == 0)
		return fail(QBD_S_INVALID, "hello: queue_depth 0");
	uint32_t max_io = le32(h.max_io);
	if (max_io == 0 || max_io % QBD_PROTO_SECTOR)
		return fail(QBD_S_INVALID, "hello: max_io " + std::to_string(max_io) +
						  " is not a positive multiple of 512");
	auto v = cat.open_volume(*pool, *vol);
	if (!v)
		return fail(QBD_S_NO_VOLUME, "hello: " + v.error().message);
	r.volume = *v;
	const VolumeInfo &info = r.volume->info;
	uint64_t want_id = le64(h.vol_id);
	if (want_id && want_id != info.vol_id) {
		cat.close_volume(r.volume);
		return fail(QBD_S_NO_VOLUME, "hello: vol_id " + std::to_string(want_id) + " but " + r.name +
						     " is id " + std::to_string(info.vol_id) +
						     " (deleted and recreated?)");
	}
	r.queue_depth = std::min(qd, lim.max_queue_depth);
	r.geo.vol_id = info.vol_id;
	r.geo.size = r.volume->size;
	r.geo.shard_size = info.shard_size;
	r.geo.layout_version = r.volume->layout_version;
	r.geo.max_io = std::min(max_io, lim.max_io);
	r.geo.features = grant_features(le64(h.features), transport);
	if (!lim.data_digest)
		r.geo.features &= ~uint64_t{QBD_PF_DATA_DIGEST};
	const uint32_t inl = rdma_inline_offer(lim, r.geo.max_io);
	if (!inl)
		r.geo.features &= ~uint64_t{QBD_PF_RDMA_INLINE};
	r.rdma_inline = (r.geo.features & QBD_PF_RDMA_INLINE) ? inl : 0;
	r.reply.rdma_inline = to_le32(r.rdma_inline);
	r.reply.status = to_le32(QBD_S_OK);
	r.reply.queue_depth = to_le32(r.queue_depth);
	r.reply.features = to_le64(r.geo.features);
	r.reply.vol_id = to_le64(info.vol_id);
	r.reply.size = to_le64(r.geo.size);
	r.reply.shard_size = to_le64(info.shard_size);
	r.reply.block_size = to_le32(info.block_size);
	r.reply.layout_version = to_le32(r.geo.layout_version);
	r.reply.max_io = to_le32(r.geo.max_io);
	return r;
}

AuthStart auth_start(const Key *key, unsigned char *first)
{
	AuthStart a;
	qbd_msg_hdr h;
	memcpy(&h, first, sizeof(h));
	const bool hello = le16(h.type) == QBD_MSG_HELLO;
	bool asked;
	// Where the AUTH bit and the nonce live in each kind of first message.
	if (hello) {
		qbd_hello m;
		memcpy(&m, first, sizeof(m));
		asked = le64(m.features) & QBD_PF_AUTH;
	} else {
		qbd_admin_req m;
		memcpy(&m, first, sizeof(m));
		asked = le32(m.flags) & QBD_AF_AUTH;
	}
	if (asked && key) {
		memcpy(a.pending.first, first, sizeof(a.pending.first));
		auto n = random_nonce();
		if (!n) {
			a.action = AuthStart::kRefuse;
			a.rule = n.error().message;
			return a;
		}
		a.pending.server_nonce = *n;
		Mac proof = auth_proof(*key, QBD_AUTH_SERVER_LABEL, first, sizeof(a.pending.first), *n);
		fill_msg_hdr(a.challenge.hdr, QBD_MSG_AUTH);
		a.challenge.status = to_le32(QBD_S_OK);
		memcpy(a.challenge.server_nonce, n->data(), n->size());
		memcpy(a.challenge.server_proof, proof.data(), proof.size());
		a.action = AuthStart::kChallenge;
	} else if (key) {
		a.action = AuthStart::kRefuse;
		a.rule = "authentication required: the client sent no key (set key_file in its qbd.conf)";
		return a;
	}
	// No key here and a client that has one: the bit is not granted (the
	// client then refuses us); its nonce means nothing. Strip both.
	if (hello) {
		qbd_hello m;
		memcpy(&m, first, sizeof(m));
		if (asked) {
			m.features = to_le64(le64(m.features) & ~QBD_PF_AUTH);
			memset(m.auth_nonce, 0, sizeof(m.auth_nonce));
		}
		memcpy(first, &m, sizeof(m));
	} else {
		qbd_admin_req m;
		memcpy(&m, first, sizeof(m));
		if (asked) {
			m.flags = to_le32(le32(m.flags) & ~QBD_AF_AUTH);
			memset(m.auth_nonce, 0, sizeof(m.auth_nonce));
		}
		memcpy(first, &m, sizeof(m));
	}
	return a;
}

std::string auth_check(const Key &key, const AuthPending &p, const qbd_auth_proof &proof)
{
	if (le32(proof.hdr.magic) != QBD_PROTO_MAGIC || le16(proof.hdr.version) != QBD_PROTO_VERSION ||
	    le16(proof.hdr.type) != QBD_MSG_AUTH)
		return "authentication failed: the answer to the challenge is not an AUTH message";
	if (le32(proof.status) == QBD_S_AUTH_FAILED)
		return "authentication failed: the client rejected this server's proof (the keys differ)";
	if (le32(proof.status) != QBD_S_OK || proof.reserved0)
		return "authentication failed: malformed AUTH message (status " +
		       std::to_string(le32(proof.status)) + ")";
	Mac want = auth_proof(key, QBD_AUTH_CLIENT_LABEL, p.first, sizeof(p.first), p.server_nonce);
	if (!mac_equal(want.data(), proof.client_proof))
		return "authentication failed: the client's proof does not match the key (wrong key?)";
	return {};
}

size_t refusal_reply(uint16_t type, uint32_t status, const std::string &message, unsigned char *buf)
{
	if (type == QBD_MSG_HELLO) {
		qbd_hello_reply rep = {};
		fill_msg_hdr(rep.hdr, QBD_MSG_HELLO);
		rep.status = to_le32(status);
		memcpy(buf, &rep, sizeof(rep));
		return sizeof(rep);
	}
	qbd_admin_reply rep = {};
	fill_msg_hdr(rep.hdr, QBD_MSG_ADMIN);
	rep.status = to_le32(status);
	write_fixed(rep.message, sizeof(rep.message), message);
	memcpy(buf, &rep, sizeof(rep));
	return sizeof(rep);
}

AdminResult handle_admin(Catalog &cat, const qbd_admin_req &req)
{
	AdminResult r;
	memset(&r.reply, 0, sizeof(r.reply));
	fill_msg_hdr(r.reply.hdr, QBD_MSG_ADMIN);
	auto fail = [&](uint32_t status, const std::string &msg) {
		r.reply.status = to_le32(status);
		write_fixed(r.reply.message, sizeof(r.reply.message), msg);
		r.payload.clear();
		r.summary += ": " + std::string(status_name(status)) + ": " + msg;
		return std::move(r);
	};
	auto fail_err = [&](const Error &e) { return fail(status_for_errno(e.code), e.message); };
	auto add = [&](const VolumeInfo &i) {
		r.payload.emplace_back();
		encode_admin_vol(i, r.payload.back());
	};
	uint32_t op = le32(req.op);
	static const char *const ops[] = {"?", "create", "delete", "list", "info", "resize", "relayout"};
	r.summary = std::string("admin ") + (op <= QBD_ADM_RELAYOUT ? ops[op] : "?");
	auto pool = read_fixed(req.pool, sizeof(req.pool), "pool");
	if (!pool)
		return fail(QBD_S_INVALID, pool.error().message);
	auto vol = read_fixed(req.volume, sizeof(req.volume), "volume");
	if (!vol)
		return fail(QBD_S_INVALID, vol.error().message);
	r.summary += " " + *pool + (vol->empty() ? "" : "/" + *vol);
	if (req.reserved0 || !all_zero(req.reserved, sizeof(req.reserved)))
		return fail(QBD_S_INVALID, "reserved fields are not zero");
	if (!all_zero(req.auth_nonce, sizeof(req.auth_nonce)))
		return fail(QBD_S_INVALID, "auth_nonce is set outside the first request of a connection");
	uint32_t flags = le32(req.flags);
	uint32_t allowed = op == QBD_ADM_DELETE ? QBD_AF_FORCE : 0;
	if (flags & ~allowed)
		return fail(QBD_S_INVALID, "flags 0x" + std::to_string(flags) + " not valid for this op");
	if (op == QBD_ADM_LIST) {
		if (!vol->empty())
			return fail(QBD_S_INVALID, "list takes a pool only, got volume '" + *vol + "'");
		auto l = cat.list(*pool);
		if (!l)
			return fail_err(l.error());
		for (auto &i : *l)
			add(i);
	} else if (op >= QBD_ADM_CREATE && op <= QBD_ADM_RELAYOUT) {
		if (auto s = check_pool_name(*pool); !s)
			return fail(QBD_S_INVALID, s.error().message);
		if (auto s = check_volume_name(*vol); !s)
			return fail(QBD_S_INVALID, s.error().message);
		Result<VolumeInfo> res = make_error(EINVAL, "");
		switch (op) {
		case QBD_ADM_CREATE:
			res = cat.create(*pool, *vol, le64(req.size), le32(req.block_size), le64(req.shard_size));
			break;
		case QBD_ADM_DELETE: {
			auto s = cat.remove(*pool, *vol, flags & QBD_AF_FORCE);
			if (!s)
				return fail_err(s.error());
			break;
		}
		case QBD_ADM_INFO:
			res = cat.info(*pool, *vol);
			break;
		case QBD_ADM_RESIZE:
			res = cat.resize(*pool, *vol, le64(req.size));
			break;
		case QBD_ADM_RELAYOUT:
			res = cat.relayout(*pool, *vol);
			break;
		}
		if (op != QBD_ADM_DELETE) {
			if (!res)
				return fail_err(res.error());
			add(*res);
		}
	} else {
		return fail(QBD_S_UNSUPPORTED, "admin op " + std::to_string(op) + " is unknown");
	}
	r.reply.status = to_le32(QBD_S_OK);
	r.reply.payload_len = to_le32(static_cast<uint32_t>(r.payload.size() * sizeof(qbd_admin_vol)));
	r.summary += ": OK";
	return r;
}

static uint32_t errno_status(int r)
{
	if (r >= 0)
		return QBD_S_OK;
	return r == -ENOSPC || r == -EDQUOT ? QBD_S_NO_SPACE : QBD_S_IO_ERROR;
}

uint32_t execute_sync(Volume &v, const qbd_req &req, void *buf)
{
	if (v.deleted.load(std::memory_order_relaxed))
		return QBD_S_NO_VOLUME;
	const uint64_t off = le64(req.offset);
	const uint32_t len = le32(req.length);
	FileBackend &b = *v.backend;
	switch (req.opcode) {
	case QBD_OP_READ: return errno_status(b.read(buf, len, off));
	case QBD_OP_WRITE: return errno_status(b.write(buf, len, off, req.flags & QBD_RF_FUA));
	case QBD_OP_FLUSH: {
		uint32_t st = errno_status(b.flush());
		if (st == QBD_S_OK)
			note_flush(v);
		return st;
	}
	case QBD_OP_DISCARD: return errno_status(b.discard(off, len));
	case QBD_OP_WRITE_ZEROES: return errno_status(b.write_zeroes(off, len));
	case QBD_OP_PING: return QBD_S_OK;
	default: return QBD_S_UNSUPPORTED;
	}
}

}  // namespace qbd::server
