// The catalog of pools and volumes kept in the data directory.
//
// DIR/catalog holds one line per volume; it is replaced atomically on every
// change (write DIR/catalog.tmp, fsync, rename over DIR/catalog, fsync DIR),
// so a crash leaves either the old or the new catalog, never a mix. Each
// volume's data is the sparse file DIR/volumes/<vol_id>.vol.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "admin_client.h"
#include "backend.h"
#include "result.h"

namespace qbd::server {

inline constexpr uint64_t kDefaultShardSize = 1ull << 30;  // 1 GiB
inline constexpr uint64_t kMinShardSize = 1ull << 20;      // 1 MiB
inline constexpr uint64_t kMaxShardSize = 1ull << 40;      // 1 TiB (chunk_sectors is 32 bits)

// A volume while the server runs. Shared by the catalog and every
// connection that opened it; the backend outlives a forced delete until
// the last connection lets go.
struct Volume {
	VolumeInfo info;                 // size and layout_version as loaded or created:
					 // the current ones are @size and @layout_version
	std::atomic<uint64_t> size{0};   // current size in bytes
	std::atomic<uint32_t> layout_version{0};  // current; requests naming an older
						   // one are answered STALE_LAYOUT
	std::atomic<bool> deleted{false};
	std::atomic<uint32_t> open_count{0};
	// FLUSH requests served OK since the server started (any transport);
	// each one logs a debug line with the count (note_flush()).
	std::atomic<uint64_t> flushes{0};
	std::unique_ptr<FileBackend> backend;
};

// Counts a FLUSH of @v served OK and logs it at debug level: the
// multi-server tests read it to see that a FLUSH reached every server.
void note_flush(Volume &v);

uint32_t status_for_errno(int err);

class Catalog {
public:
	// Opens (creating when needed) the catalog in @data_dir and every
	// volume file it names.
	static Result<std::unique_ptr<Catalog>> open(const std::string &data_dir, bool allow_direct);

	// The admin operations. Errors carry an errno (EEXIST, ENOENT, EBUSY,
	// EINVAL, ENOSPC, EIO) that status_for_errno() maps to QBD_S_*, and a
	// message for the client.
	Result<VolumeInfo> create(const std::string &pool, const std::string &vol, uint64_t size,
				  uint32_t block_size, uint64_t shard_size);
	Status remove(const std::string &pool, const std::string &vol, bool force);
	Result<std::vector<VolumeInfo>> list(const std::string &pool);
	Result<VolumeInfo> info(const std::string &pool, const std::string &vol);
	Result<VolumeInfo> resize(const std::string &pool, const std::string &vol, uint64_t new_size);
	// A new layout version (+1): connections keep working but requests that
	// name the old one get STALE_LAYOUT, so clients re-resolve (remap).
	Result<VolumeInfo> relayout(const std::string &pool, const std::string &vol);

	// Opens a volume for IO (counts in open_count); close() undoes it.
	Result<std::shared_ptr<Volume>> open_volume(const std::string &pool, const std::string &vol);
	void close_volume(const std::shared_ptr<Volume> &v);

	const std::string &data_dir() const { return dir_; }

private:
	explicit Catalog(std::string dir, bool allow_direct) : dir_(std::move(dir)), allow_direct_(allow_direct) {}
	Status load();
	Status save_locked();  // needs mu_
	// The volume, or ENOENT naming it; needs mu_.
	Result<std::shared_ptr<Volume>> find_locked(const std::string &pool, const std::string &vol);
	std::string volume_path(uint64_t vol_id) const;
	VolumeInfo snapshot(const Volume &v) const;

	const std::string dir_;
	const bool allow_direct_;
	std::mutex mu_;  // guards vols_, next_id_ and the catalog file
	std::map<std::pair<std::string, std::string>, std::shared_ptr<Volume>> vols_;
	uint64_t next_id_ = 1;
};

}  // namespace qbd::server
