// The `file` storage backend: a volume is a sparse file (or a block
// device) read and written with O_DIRECT where the filesystem allows it,
// buffered otherwise. FLUSH is fdatasync; FUA writes are followed by
// fdatasync (or use RWF_DSYNC), so both modes have the same durability.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "net.h"
#include "result.h"

namespace qbd::server {

class FileBackend {
public:
	// Opens @path read-write. With @allow_direct, tries O_DIRECT first and
	// falls back to buffered IO (logged) when the filesystem refuses it.
	static Result<std::unique_ptr<FileBackend>> open(const std::string &path, bool allow_direct);

	bool direct() const { return direct_; }
	// The fd for data IO (O_DIRECT when direct()); buffers and offsets must
	// be 4096-aligned for it, else use buffered_fd().
	int data_fd() const { return direct_ ? direct_fd_.get() : buffered_fd_.get(); }
	int buffered_fd() const { return buffered_fd_.get(); }

	// Synchronous operations; return 0 or -errno.
	int read(void *buf, uint32_t len, uint64_t off);
	int write(const void *buf, uint32_t len, uint64_t off, bool fua);
	int flush();
	int discard(uint64_t off, uint64_t len);
	int write_zeroes(uint64_t off, uint64_t len);
	int resize(uint64_t size);

	// True when the fd to use for an IO at @off of @len bytes from @buf is
	// the O_DIRECT one.
	bool can_direct(const void *buf, uint64_t len, uint64_t off) const
	{
		return direct_ && !((reinterpret_cast<uintptr_t>(buf) | len | off) & 4095);
	}

private:
	Fd direct_fd_, buffered_fd_;
	bool direct_ = false;
	std::string path_;
};

// fallocate modes with fallbacks: PUNCH_HOLE for discard; ZERO_RANGE, else
// PUNCH_HOLE, else writing zeros, for write-zeroes. 0 or -errno.
int punch_hole(int fd, uint64_t off, uint64_t len);
int zero_range(int fd, uint64_t off, uint64_t len);

}  // namespace qbd::server
