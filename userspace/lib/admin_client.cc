#include "admin_client.h"

#include "proto.h"

namespace qbd {

Result<VolumeInfo> decode_admin_vol(const qbd_admin_vol &v)
{
	VolumeInfo out;
	auto pool = read_fixed(v.pool, sizeof(v.pool), "pool");
	if (!pool)
		return pool.error();
	auto vol = read_fixed(v.volume, sizeof(v.volume), "volume");
	if (!vol)
		return vol.error();
	out.pool = std::move(*pool);
	out.volume = std::move(*vol);
	out.vol_id = le64(v.vol_id);
	out.size = le64(v.size);
	out.shard_size = le64(v.shard_size);
	out.created = le64(v.created);
	out.block_size = le32(v.block_size);
	out.layout_version = le32(v.layout_version);
	out.open_count = le32(v.open_count);
	return out;
}

void encode_admin_vol(const VolumeInfo &in, qbd_admin_vol &out)
{
	memset(&out, 0, sizeof(out));
	out.vol_id = to_le64(in.vol_id);
	out.size = to_le64(in.size);
	out.shard_size = to_le64(in.shard_size);
	out.created = to_le64(in.created);
	out.block_size = to_le32(in.block_size);
	out.layout_version = to_le32(in.layout_version);
	out.open_count = to_le32(in.open_count);
	write_fixed(out.pool, sizeof(out.pool), in.pool);
	write_fixed(out.volume, sizeof(out.volume), in.volume);
}

Result<AdminClient> AdminClient::connect(const Endpoint &ep, std::chrono::milliseconds timeout,
					 std::shared_ptr<const Key> key)
{
	auto fd = tcp_connect(ep, timeout);
	if (!fd)
		return fd.error();
	return AdminClient(ep, std::move(*fd), timeout, std::move(key));
}

// After the first request went out with QBD_AF_AUTH: the header of the
// answer is in @rep. A challenge is checked and answered and the real
// reply read into @rep; a plain reply means the server has no key.
Status AdminClient::authenticate(const qbd_admin_req &first, qbd_admin_reply &rep,
				 Clock::time_point deadline)
{
	if (le16(rep.hdr.type) != QBD_MSG_AUTH) {
		if (auto s = recv_all(fd_.get(), &rep.status, sizeof(rep) - sizeof(rep.hdr), deadline); !s)
			return s.error();
		if (le32(rep.status) == QBD_S_AUTH_FAILED)
			return ok_status();  // the caller reports the server's message
		return make_error(EACCES, "authentication failed: the server did not authenticate itself "
					  "(it has no key_file?); not trusting it");
	}
	qbd_auth_challenge ch;
	memcpy(&ch, &rep, sizeof(rep.hdr));
	if (auto s = recv_all(fd_.get(), reinterpret_cast<char *>(&ch) + sizeof(ch.hdr),
			      sizeof(ch) - sizeof(ch.hdr), deadline);
	    !s)
		return s.error();
	qbd_auth_proof proof;
	Status answered = answer_challenge(*key_, &first, sizeof(first), ch, proof);
	auto sent = send_all(fd_.get(), &proof, sizeof(proof), deadline);
	wipe(&proof, sizeof(proof));
	if (!answered)
		return answered.error();
	if (!sent)
		return sent.error();
	return recv_all(fd_.get(), &rep, sizeof(rep), deadline);
}

Result<std::vector<VolumeInfo>> AdminClient::call(uint32_t op, uint32_t flags, const std::string &pool,
						  const std::string &vol, uint64_t size,
						  uint32_t block_size, uint64_t shard_size)
{
	if (!fd_)
		return make_error(ENOTCONN, "admin connection to " + ep_.str() + " is closed");
	if (!pool.empty() || op != QBD_ADM_LIST) {
		auto s = check_pool_name(pool);
		if (!s)
			return s.error();
	}
	if (op != QBD_ADM_LIST) {
		auto s = check_volume_name(vol);
		if (!s)
			return s.error();
	}
	qbd_admin_req req;
	memset(&req, 0, sizeof(req));
	fill_msg_hdr(req.hdr, QBD_MSG_ADMIN);
	req.op = to_le32(op);
	req.flags = to_le32(flags);
	req.size = to_le64(size);
	req.shard_size = to_le64(shard_size);
	req.block_size = to_le32(block_size);
	write_fixed(req.pool, sizeof(req.pool), pool);
	write_fixed(req.volume, sizeof(req.volume), vol);
	const bool auth = first_ && key_;
	if (auth) {
		auto n = random_nonce();
		if (!n)
			return n.error();
		req.flags = to_le32(flags | QBD_AF_AUTH);
		memcpy(req.auth_nonce, n->data(), n->size());
	}
	first_ = false;

	auto deadline = Clock::now() + timeout_;
	auto fail = [&](const Error &e) {
		fd_.reset();  // the stream is no longer in a known state
		return make_error(e.code, "server " + ep_.str() + ": " + e.message);
	};
	if (auto s = send_all(fd_.get(), &req, sizeof(req), deadline); !s)
		return fail(s.error());
	qbd_admin_reply rep;
	if (auto s = recv_all(fd_.get(), &rep, auth ? sizeof(rep.hdr) : sizeof(rep), deadline); !s)
		return fail(s.error());
	if (auth)
		if (auto s = authenticate(req, rep, deadline); !s)
			return fail(s.error());
	if (le32(rep.hdr.magic) != QBD_PROTO_MAGIC || le16(rep.hdr.type) != QBD_MSG_ADMIN)
		return fail(make_error(EPROTO, "bad admin reply header (magic or type)"));
	if (le16(rep.hdr.version) != QBD_PROTO_VERSION)
		return fail(make_error(EPROTO, "admin reply version " + std::to_string(le16(rep.hdr.version)) +
						       " is not " + std::to_string(QBD_PROTO_VERSION)));
	uint32_t plen = le32(rep.payload_len);
	if (plen > kMaxAdminPayload || plen % sizeof(qbd_admin_vol))
		return fail(make_error(EPROTO, "admin reply payload length " + std::to_string(plen) +
						       " is not a multiple of " +
						       std::to_string(sizeof(qbd_admin_vol)) + " up to " +
						       std::to_string(kMaxAdminPayload)));
	std::vector<qbd_admin_vol> raw(plen / sizeof(qbd_admin_vol));
	if (plen)
		if (auto s = recv_all(fd_.get(), raw.data(), plen, deadline); !s)
			return fail(s.error());
	uint32_t status = le32(rep.status);
	if (status != QBD_S_OK) {
		rep.message[sizeof(rep.message) - 1] = 0;
		std::string msg = rep.message[0] ? rep.message : status_name(status);
		return make_error(status_errno(status), msg);
	}
	std::vector<VolumeInfo> out;
	out.reserve(raw.size());
	for (auto &r : raw) {
		auto v = decode_admin_vol(r);
		if (!v)
			return fail(make_error(EPROTO, "bad volume in admin reply: " + v.error().message));
		out.push_back(std::move(*v));
	}
	return out;
}

Result<VolumeInfo> AdminClient::call_one(uint32_t op, uint32_t flags, const std::string &pool,
					 const std::string &vol, uint64_t size, uint32_t block_size,
					 uint64_t shard_size)
{
	auto r = call(op, flags, pool, vol, size, block_size, shard_size);
	if (!r)
		return r.error();
	if (r->size() != 1)
		return make_error(EPROTO, "server " + ep_.str() + ": expected one volume in the reply, got " +
						  std::to_string(r->size()));
	return std::move(r->front());
}

Result<VolumeInfo> AdminClient::create(const std::string &pool, const std::string &vol, uint64_t size,
				       uint32_t block_size, uint64_t shard_size)
{
	return call_one(QBD_ADM_CREATE, 0, pool, vol, size, block_size, shard_size);
}

Status AdminClient::remove(const std::string &pool, const std::string &vol, bool force)
{
	auto r = call(QBD_ADM_DELETE, force ? QBD_AF_FORCE : 0, pool, vol, 0, 0, 0);
	if (!r)
		return r.error();
	return ok_status();
}

Result<std::vector<VolumeInfo>> AdminClient::list(const std::string &pool)
{
	return call(QBD_ADM_LIST, 0, pool, "", 0, 0, 0);
}

Result<VolumeInfo> AdminClient::info(const std::string &pool, const std::string &vol)
{
	return call_one(QBD_ADM_INFO, 0, pool, vol, 0, 0, 0);
}

Result<VolumeInfo> AdminClient::resize(const std::string &pool, const std::string &vol, uint64_t new_size)
{
	return call_one(QBD_ADM_RESIZE, 0, pool, vol, new_size, 0, 0);
}

Result<VolumeInfo> AdminClient::relayout(const std::string &pool, const std::string &vol)
{
	return call_one(QBD_ADM_RELAYOUT, 0, pool, vol, 0, 0, 0);
}

}  // namespace qbd
