// Client side of the admin interface (QBD_MSG_ADMIN on the server's port):
// create, delete, list, info and resize volumes. Used by qbdadm and qbd.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "auth.h"
#include "config.h"
#include "net.h"
#include "result.h"

struct qbd_admin_vol;

namespace qbd {

struct VolumeInfo {
	std::string pool, volume;
	uint64_t vol_id = 0, size = 0, shard_size = 0, created = 0;
	uint32_t block_size = 0, layout_version = 0, open_count = 0;
};

// Decodes one payload entry, checking its strings.
Result<VolumeInfo> decode_admin_vol(const qbd_admin_vol &v);
void encode_admin_vol(const VolumeInfo &in, qbd_admin_vol &out);

// One admin connection. Errors carry the server's message and an errno
// mapped from its status (EEXIST, ENOENT, EBUSY, EINVAL, ...).
class AdminClient {
public:
	// With @key, the first request authenticates the connection (and the
	// server must prove it holds the same key); without, a server that
	// requires a key refuses every request with EACCES.
	static Result<AdminClient> connect(const Endpoint &ep, std::chrono::milliseconds timeout,
					   std::shared_ptr<const Key> key = nullptr);

	Result<VolumeInfo> create(const std::string &pool, const std::string &vol, uint64_t size,
				  uint32_t block_size = 4096, uint64_t shard_size = 0);
	Status remove(const std::string &pool, const std::string &vol, bool force);
	Result<std::vector<VolumeInfo>> list(const std::string &pool);  // "" = all
	Result<VolumeInfo> info(const std::string &pool, const std::string &vol);
	Result<VolumeInfo> resize(const std::string &pool, const std::string &vol, uint64_t new_size);
	Result<VolumeInfo> relayout(const std::string &pool, const std::string &vol);

	const Endpoint &endpoint() const { return ep_; }

private:
	AdminClient(Endpoint ep, Fd fd, std::chrono::milliseconds timeout, std::shared_ptr<const Key> key)
		: ep_(std::move(ep)), fd_(std::move(fd)), timeout_(timeout), key_(std::move(key)) {}
	Status authenticate(const qbd_admin_req &first, qbd_admin_reply &rep,
			    Clock::time_point deadline);
	Result<std::vector<VolumeInfo>> call(uint32_t op, uint32_t flags, const std::string &pool,
					     const std::string &vol, uint64_t size, uint32_t block_size,
					     uint64_t shard_size);
	Result<VolumeInfo> call_one(uint32_t op, uint32_t flags, const std::string &pool,
				    const std::string &vol, uint64_t size, uint32_t block_size,
				    uint64_t shard_size);

	Endpoint ep_;
	Fd fd_;
	std::chrono::milliseconds timeout_;
	std::shared_ptr<const Key> key_;
	bool first_ = true;  // the next request is the connection's first
};

// Largest admin reply payload a client accepts.
inline constexpr uint32_t kMaxAdminPayload = 64u << 20;

}  // namespace qbd
