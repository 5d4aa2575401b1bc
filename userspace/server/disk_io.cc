#include "disk_io.h"

#include <fcntl.h>

#include <cstring>

namespace qbd::server {

void prep_disk_sqe(io_uring_sqe *s, FileBackend &b, const qbd_req &req, char *data, uint32_t done,
		   bool buffered)
{
	const uint64_t off = le64(req.offset) + done;
	const uint32_t len = le32(req.length) - done;
	switch (req.opcode) {
	case QBD_OP_READ:
	case QBD_OP_WRITE: {
		char *buf = data + done;
		int fd = (!buffered && b.can_direct(buf, len, off)) ? b.data_fd() : b.buffered_fd();
		if (req.opcode == QBD_OP_READ) {
			io_uring_prep_read(s, fd, buf, len, off);
		} else {
			io_uring_prep_write(s, fd, buf, len, off);
			if (req.flags & QBD_RF_FUA)
				s->rw_flags = RWF_DSYNC;
		}
		break;
	}
	case QBD_OP_FLUSH:
		io_uring_prep_fsync(s, b.buffered_fd(), IORING_FSYNC_DATASYNC);
		break;
	case QBD_OP_DISCARD:
		io_uring_prep_fallocate(s, b.buffered_fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
					le32(req.length));
		break;
	case QBD_OP_WRITE_ZEROES:
		io_uring_prep_fallocate(s, b.buffered_fd(), FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off,
					le32(req.length));
		break;
	default:
		io_uring_prep_nop(s);
		break;
	}
}

DiskStep disk_step(Volume &v, const qbd_req &req, char *data, int res, uint32_t &done, bool &buffered)
{
	FileBackend &b = *v.backend;
	DiskStep st;
	const uint8_t op = req.opcode;
	const uint32_t len = le32(req.length);
	if (res == -EINVAL && (op == QBD_OP_READ || op == QBD_OP_WRITE) && !buffered && b.direct()) {
		// The device wants a larger alignment for O_DIRECT: go buffered.
		buffered = true;
		st.again = true;
		return st;
	}
	if ((res == -EOPNOTSUPP || res == -EINVAL) && (op == QBD_OP_DISCARD || op == QBD_OP_WRITE_ZEROES)) {
		// No fallocate mode for it here: the synchronous fallbacks.
		int fd = b.buffered_fd();
		uint64_t off = le64(req.offset);
		res = op == QBD_OP_DISCARD ? punch_hole(fd, off, len) : zero_range(fd, off, len);
	}
	if (res < 0) {
		st.status = (res == -ENOSPC || res == -EDQUOT) ? QBD_S_NO_SPACE : QBD_S_IO_ERROR;
		return st;
	}
	if (op == QBD_OP_READ || op == QBD_OP_WRITE) {
		if (res == 0 && op == QBD_OP_READ) {
			// End of a file shorter than the volume: zeros.
			memset(data + done, 0, len - done);
			done = len;
		}
		done += static_cast<uint32_t>(res);
		if (done < len) {
			if (res == 0)
				st.status = QBD_S_IO_ERROR;
			else
				st.again = true;
		}
	}
	if (op == QBD_OP_FLUSH)
		note_flush(v);
	return st;
}

}  // namespace qbd::server
