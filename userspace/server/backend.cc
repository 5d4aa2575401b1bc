#include "backend.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "log.h"

namespace qbd::server {

Result<std::unique_ptr<FileBackend>> FileBackend::open(const std::string &path, bool allow_direct)
{
	auto b = std::make_unique<FileBackend>();
	b->path_ = path;
	b->buffered_fd_.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
	if (!b->buffered_fd_)
		return make_error(errno, "open " + path + ": " + strerror(errno));
	if (allow_direct) {
		b->direct_fd_.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_DIRECT));
		if (b->direct_fd_) {
			b->direct_ = true;
		} else {
			LOG_WARN("volume file %s: O_DIRECT refused (%s); using buffered IO with "
				 "fdatasync for FLUSH/FUA",
				 path.c_str(), strerror(errno));
		}
	}
	return b;
}

int FileBackend::read(void *buf, uint32_t len, uint64_t off)
{
	int fd = can_direct(buf, len, off) ? direct_fd_.get() : buffered_fd_.get();
	char *p = static_cast<char *>(buf);
	while (len) {
		ssize_t r = ::pread(fd, p, len, static_cast<off_t>(off));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0) {  // past EOF (cannot happen inside the volume): zeros
			memset(p, 0, len);
			return 0;
		}
		p += r;
		len -= r;
		off += r;
	}
	return 0;
}

int FileBackend::write(const void *buf, uint32_t len, uint64_t off, bool fua)
{
	int fd = can_direct(buf, len, off) ? direct_fd_.get() : buffered_fd_.get();
	const char *p = static_cast<const char *>(buf);
	while (len) {
		struct iovec iov = {const_cast<char *>(p), len};
		ssize_t r = ::pwritev2(fd, &iov, 1, static_cast<off_t>(off), fua ? RWF_DSYNC : 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= r;
		off += r;
	}
	return 0;
}

int FileBackend::flush()
{
	// One fdatasync covers both fds: they share the inode.
	return ::fdatasync(buffered_fd_.get()) < 0 ? -errno : 0;
}

int FileBackend::discard(uint64_t off, uint64_t len) { return punch_hole(buffered_fd_.get(), off, len); }
int FileBackend::write_zeroes(uint64_t off, uint64_t len) { return zero_range(buffered_fd_.get(), off, len); }

int FileBackend::resize(uint64_t size)
{
	return ::ftruncate(buffered_fd_.get(), static_cast<off_t>(size)) < 0 ? -errno : 0;
}

static int write_zeros(int fd, uint64_t off, uint64_t len)
{
	static const std::vector<char> zeros(1 << 20, 0);
	while (len) {
		size_t n = std::min<uint64_t>(len, zeros.size());
		ssize_t r = ::pwrite(fd, zeros.data(), n, static_cast<off_t>(off));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += r;
		len -= r;
	}
	return 0;
}

int punch_hole(int fd, uint64_t off, uint64_t len)
{
	if (::fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
			static_cast<off_t>(len)) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	// No holes here (e.g. a block device): discarded blocks read as zeros anyway.
	return write_zeros(fd, off, len);
}

int zero_range(int fd, uint64_t off, uint64_t len)
{
	if (::fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(off),
			static_cast<off_t>(len)) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EINVAL)
		return -errno;
	return punch_hole(fd, off, len);
}

}  // namespace qbd::server
