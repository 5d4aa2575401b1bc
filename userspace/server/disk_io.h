// Disk IO of a checked request on io_uring, shared by the engines that run
// it asynchronously (the RDMA thread; the TCP reactor's rules are the
// same): which operation, which fd, and what a completion means.
#pragma once

#include <liburing.h>

#include <cstdint>

#include "backend.h"
#include "catalog.h"
#include "proto.h"

namespace qbd::server {

// Prepares @s for the rest of request @req (checked): a READ or WRITE of
// its length less @done bytes at its offset + @done, from @data + @done (the
// O_DIRECT fd when the IO is aligned and not @buffered, RWF_DSYNC for FUA);
// FSYNC(DATASYNC) for FLUSH; FALLOCATE for DISCARD and WRITE_ZEROES.
void prep_disk_sqe(io_uring_sqe *s, FileBackend &b, const qbd_req &req, char *data, uint32_t done,
		   bool buffered);

// What a completion @res of the SQE prep_disk_sqe() made means:
// @again: submit the rest (short transfer, or O_DIRECT refused the
// alignment: @buffered is set then); else @status is the request's QBD_S_*.
// A READ past the end of the file reads zeros; a DISCARD or WRITE_ZEROES
// that fallocate cannot do runs the synchronous fallback here. A FLUSH
// done is counted on @v (note_flush()).
struct DiskStep {
	bool again = false;
	uint32_t status = QBD_S_OK;
};
DiskStep disk_step(Volume &v, const qbd_req &req, char *data, int res, uint32_t &done, bool &buffered);

}  // namespace qbd::server
