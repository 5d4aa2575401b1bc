#include "catalog.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "log.h"
#include "proto.h"

namespace qbd::server {

static const char kCatalogMagic[] = "qbd-catalog";
static const int kCatalogVersion = 1;

uint32_t status_for_errno(int err)
{
	switch (err) {
	case 0: return QBD_S_OK;
	case EEXIST: return QBD_S_EXISTS;
	case ENOENT: return QBD_S_NO_VOLUME;
	case EBUSY: return QBD_S_BUSY;
	case EINVAL: case ERANGE: return QBD_S_INVALID;
	case ENOSPC: case EFBIG: return QBD_S_NO_SPACE;
	case EOPNOTSUPP: return QBD_S_UNSUPPORTED;
	default: return QBD_S_IO_ERROR;
	}
}

static Status mkdir_p(const std::string &path)
{
	if (::mkdir(path.c_str(), 0750) == 0 || errno == EEXIST) {
		struct stat st;
		if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
			return ok_status();
		return make_error(ENOTDIR, path + " exists and is not a directory");
	}
	return make_error(errno, "mkdir " + path + ": " + strerror(errno));
}

static Status fsync_path(const std::string &path, int flags)
{
	Fd fd(::open(path.c_str(), flags | O_CLOEXEC));
	if (!fd)
		return make_error(errno, "open " + path + ": " + strerror(errno));
	if (::fsync(fd.get()) < 0)
		return make_error(errno, "fsync " + path + ": " + strerror(errno));
	return ok_status();
}

std::string Catalog::volume_path(uint64_t vol_id) const
{
	return dir_ + "/volumes/" + std::to_string(vol_id) + ".vol";
}

Result<std::unique_ptr<Catalog>> Catalog::open(const std::string &data_dir, bool allow_direct)
{
	if (data_dir.empty())
		return make_error(EINVAL, "empty data directory");
	std::unique_ptr<Catalog> c(new Catalog(data_dir, allow_direct));
	if (auto s = mkdir_p(data_dir); !s)
		return s.error();
	if (auto s = mkdir_p(data_dir + "/volumes"); !s)
		return s.error();
	if (auto s = c->load(); !s)
		return s.error();
	return c;
}

Status Catalog::load()
{
	std::string path = dir_ + "/catalog";
	std::ifstream f(path);
	if (!f) {
		if (errno != ENOENT)
			return make_error(errno, "cannot read " + path + ": " + strerror(errno));
		LOG_INFO("catalog %s: not found, starting empty", path.c_str());
		std::lock_guard lk(mu_);
		return save_locked();
	}
	std::string line;
	unsigned lineno = 0;
	auto bad = [&](const std::string &why) {
		return make_error(EINVAL, path + ":" + std::to_string(lineno) + ": " + why);
	};
	while (std::getline(f, line)) {
		lineno++;
		std::istringstream in(line);
		std::string kind;
		in >> kind;
		if (lineno == 1) {
			int version = 0;
			std::string next;
			in >> version >> next;
			if (kind != kCatalogMagic || version != kCatalogVersion || next.rfind("next_id=", 0) != 0)
				return bad("not a qbd catalog version 1 header");
			next_id_ = std::strtoull(next.c_str() + 8, nullptr, 10);
			continue;
		}
		if (kind.empty())
			continue;
		if (kind != "vol")
			return bad("unknown record '" + kind + "'");
		auto v = std::make_shared<Volume>();
		VolumeInfo &i = v->info;
		if (!(in >> i.vol_id >> i.pool >> i.volume >> i.size >> i.block_size >> i.shard_size >>
		      i.layout_version >> i.created))
			return bad("truncated volume record");
		if (!check_pool_name(i.pool) || !check_volume_name(i.volume))
			return bad("invalid pool or volume name");
		if (i.layout_version == 0)
			return bad("layout version 0 (versions start at 1)");
		v->size = i.size;
		v->layout_version = i.layout_version;
		auto b = FileBackend::open(volume_path(i.vol_id), allow_direct_);
		if (!b)
			return bad("volume " + i.pool + "/" + i.volume + ": " + b.error().message);
		v->backend = std::move(*b);
		if (i.vol_id >= next_id_)
			next_id_ = i.vol_id + 1;
		vols_[{i.pool, i.volume}] = v;
	}
	LOG_INFO("catalog %s: %zu volumes", path.c_str(), vols_.size());
	return ok_status();
}

Status Catalog::save_locked()
{
	std::string path = dir_ + "/catalog", tmp = path + ".tmp";
	std::ostringstream out;
	out << kCatalogMagic << " " << kCatalogVersion << " next_id=" << next_id_ << "\n";
	for (auto &[key, v] : vols_) {
		const VolumeInfo &i = v->info;
		out << "vol " << i.vol_id << " " << i.pool << " " << i.volume << " " << v->size.load() << " "
		    << i.block_size << " " << i.shard_size << " " << v->layout_version.load() << " " << i.created
		    << "\n";
	}
	std::string text = out.str();
	Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
	if (!fd)
		return make_error(errno, "open " + tmp + ": " + strerror(errno));
	size_t done = 0;
	while (done < text.size()) {
		ssize_t r = ::write(fd.get(), text.data() + done, text.size() - done);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return make_error(errno, "write " + tmp + ": " + strerror(errno));
		}
		done += r;
	}
	if (::fsync(fd.get()) < 0)
		return make_error(errno, "fsync " + tmp + ": " + strerror(errno));
	fd.reset();
	if (::rename(tmp.c_str(), path.c_str()) < 0)
		return make_error(errno, "rename " + tmp + ": " + strerror(errno));
	return fsync_path(dir_, O_RDONLY | O_DIRECTORY);
}

VolumeInfo Catalog::snapshot(const Volume &v) const
{
	VolumeInfo i = v.info;
	i.size = v.size;
	i.layout_version = v.layout_version;
	i.open_count = v.open_count;
	return i;
}

Result<VolumeInfo> Catalog::create(const std::string &pool, const std::string &vol, uint64_t size,
				   uint32_t block_size, uint64_t shard_size)
{
	if (auto s = check_pool_name(pool); !s)
		return s.error();
	if (auto s = check_volume_name(vol); !s)
		return s.error();
	if (block_size == 0)
		block_size = 4096;
	if (block_size != 512 && block_size != 4096)
		return make_error(EINVAL, "block size " + std::to_string(block_size) + " is not 512 or 4096");
	if (shard_size == 0)
		shard_size = kDefaultShardSize;
	if (shard_size < kMinShardSize || shard_size > kMaxShardSize || (shard_size & (shard_size - 1)))
		return make_error(EINVAL, "shard size " + std::to_string(shard_size) +
						  " is not a power of two between 1 MiB and 1 TiB");
	if (size == 0 || size % block_size)
		return make_error(EINVAL, "size " + std::to_string(size) +
						  " is not a positive multiple of the block size " +
						  std::to_string(block_size));
	if (size > (uint64_t)INT64_MAX || (size - 1) / shard_size > UINT32_MAX)
		return make_error(EINVAL, "size " + std::to_string(size) + " needs more than 2^32 shards of " +
						  std::to_string(shard_size) + " bytes");

	std::lock_guard lk(mu_);
	if (vols_.count({pool, vol}))
		return make_error(EEXIST, "volume " + pool + "/" + vol + " exists");
	auto v = std::make_shared<Volume>();
	VolumeInfo &i = v->info;
	i.pool = pool;
	i.volume = vol;
	i.vol_id = next_id_++;
	i.size = size;
	i.block_size = block_size;
	i.shard_size = shard_size;
	i.layout_version = 1;
	i.created = static_cast<uint64_t>(time(nullptr));
	v->size = size;
	v->layout_version = 1;
	std::string path = volume_path(i.vol_id);
	{
		Fd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640));
		if (!fd)
			return make_error(errno, "create " + path + ": " + strerror(errno));
		if (::ftruncate(fd.get(), static_cast<off_t>(size)) < 0) {
			int err = errno;
			::unlink(path.c_str());
			return make_error(err, "size " + std::to_string(size) + " for " + path + ": " + strerror(err));
		}
		::fsync(fd.get());
	}
	auto b = FileBackend::open(path, allow_direct_);
	if (!b) {
		::unlink(path.c_str());
		return b.error();
	}
	v->backend = std::move(*b);
	vols_[{pool, vol}] = v;
	if (auto s = save_locked(); !s) {
		vols_.erase({pool, vol});
		::unlink(path.c_str());
		return s.error();
	}
	LOG_INFO("vol=%s/%s: created id %lu size %lu block %u shard %lu", pool.c_str(), vol.c_str(),
		 (unsigned long)i.vol_id, (unsigned long)size, block_size, (unsigned long)shard_size);
	return snapshot(*v);
}

Result<std::shared_ptr<Volume>> Catalog::find_locked(const std::string &pool, const std::string &vol)
{
	auto it = vols_.find({pool, vol});
	if (it == vols_.end())
		return make_error(ENOENT, "volume " + pool + "/" + vol + " does not exist");
	return it->second;
}

Status Catalog::remove(const std::string &pool, const std::string &vol, bool force)
{
	std::lock_guard lk(mu_);
	auto found = find_locked(pool, vol);
	if (!found)
		return found.error();
	auto v = *found;
	uint32_t opens = v->open_count;
	if (opens && !force)
		return make_error(EBUSY, "volume " + pool + "/" + vol + " is open on " + std::to_string(opens) +
						 " connection(s); use --force");
	vols_.erase({pool, vol});
	if (auto s = save_locked(); !s) {
		vols_[{pool, vol}] = v;
		return s.error();
	}
	v->deleted = true;  // open connections now get NO_VOLUME
	std::string path = volume_path(v->info.vol_id);
	if (::unlink(path.c_str()) < 0)
		LOG_WARN("vol=%s/%s: unlink %s: %s", pool.c_str(), vol.c_str(), path.c_str(), strerror(errno));
	LOG_INFO("vol=%s/%s: deleted%s", pool.c_str(), vol.c_str(), opens ? " (forced while open)" : "");
	return ok_status();
}

Result<std::vector<VolumeInfo>> Catalog::list(const std::string &pool)
{
	if (!pool.empty())
		if (auto s = check_pool_name(pool); !s)
			return s.error();
	std::lock_guard lk(mu_);
	std::vector<VolumeInfo> out;
	for (auto &[key, v] : vols_)
		if (pool.empty() || key.first == pool)
			out.push_back(snapshot(*v));
	return out;
}

Result<VolumeInfo> Catalog::info(const std::string &pool, const std::string &vol)
{
	std::lock_guard lk(mu_);
	auto found = find_locked(pool, vol);
	if (!found)
		return found.error();
	return snapshot(**found);
}

Result<VolumeInfo> Catalog::resize(const std::string &pool, const std::string &vol, uint64_t new_size)
{
	std::lock_guard lk(mu_);
	auto found = find_locked(pool, vol);
	if (!found)
		return found.error();
	auto v = *found;
	uint64_t old = v->size;
	if (new_size < old)
		return make_error(EINVAL, "new size " + std::to_string(new_size) + " is smaller than the current " +
						  std::to_string(old) + " (volumes only grow)");
	if (new_size % v->info.block_size)
		return make_error(EINVAL, "new size " + std::to_string(new_size) +
						  " is not a multiple of the block size " +
						  std::to_string(v->info.block_size));
	if (new_size > (uint64_t)INT64_MAX || (new_size - 1) / v->info.shard_size > UINT32_MAX)
		return make_error(EINVAL, "new size " + std::to_string(new_size) + " needs more than 2^32 shards");
	if (new_size == old)
		return snapshot(*v);
	if (int r = v->backend->resize(new_size); r < 0)
		return make_error(-r, "grow to " + std::to_string(new_size) + ": " + strerror(-r));
	v->size = new_size;
	v->info.size = new_size;
	if (auto s = save_locked(); !s) {
		v->size = old;
		v->info.size = old;
		return s.error();
	}
	LOG_INFO("vol=%s/%s: resized %lu -> %lu", pool.c_str(), vol.c_str(), (unsigned long)old,
		 (unsigned long)new_size);
	return snapshot(*v);
}

Result<VolumeInfo> Catalog::relayout(const std::string &pool, const std::string &vol)
{
	std::lock_guard lk(mu_);
	auto found = find_locked(pool, vol);
	if (!found)
		return found.error();
	auto v = *found;
	uint32_t old = v->layout_version;
	if (old == UINT32_MAX)
		return make_error(EINVAL, "layout version is at its maximum " + std::to_string(old));
	v->layout_version = old + 1;
	if (auto s = save_locked(); !s) {
		v->layout_version = old;
		return s.error();
	}
	LOG_INFO("vol=%s/%s: layout version %u -> %u", pool.c_str(), vol.c_str(), old, old + 1);
	return snapshot(*v);
}

Result<std::shared_ptr<Volume>> Catalog::open_volume(const std::string &pool, const std::string &vol)
{
	std::lock_guard lk(mu_);
	auto found = find_locked(pool, vol);
	if (!found)
		return found.error();
	(*found)->open_count++;
	return found;
}

void Catalog::close_volume(const std::shared_ptr<Volume> &v)
{
	std::lock_guard lk(mu_);
	v->open_count--;
}

void note_flush(Volume &v)
{
	uint64_t n = v.flushes.fetch_add(1, std::memory_order_relaxed) + 1;
	LOG_DEBUG("vol=%s/%s: FLUSH done, %lu served", v.info.pool.c_str(), v.info.volume.c_str(),
		  (unsigned long)n);
}

}  // namespace qbd::server
