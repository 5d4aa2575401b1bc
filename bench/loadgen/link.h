// One client connection to qbd-server over TCP or RDMA, with a data buffer
// per request slot (slot = the request's handle). The loadgen's loops run
// on this interface and do not care about the transport.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "loadgen.h"
#include "proto.h"

namespace qbd::loadgen {

struct HelloInfo {
	uint64_t size = 0, vol_id = 0, shard_size = 0, features = 0;
	uint32_t layout_version = 0, queue_depth = 0, max_io = 0;
};

class Link {
public:
	virtual ~Link() = default;
	// Connects and sends @hello (as is: the hostile mode breaks it on
	// purpose); returns the raw reply.
	virtual Result<qbd_hello_reply> open(const qbd_hello &hello) = 0;
	// @slots buffers of @buf_size bytes; call before open().
	virtual Status alloc(uint32_t slots, uint32_t buf_size) = 0;
	virtual char *buf(uint32_t slot) = 0;
	// Sends @r (handle = slot); a WRITE's data is buf(slot). Over RDMA
	// rdma_addr/rdma_key are filled in for READ/WRITE unless @raw.
	virtual Status submit(qbd_req &r, uint32_t slot, bool raw = false) = 0;
	// Waits for the next reply; a READ's data lands in buf(handle).
	virtual Status wait(qbd_reply &rep) = 0;
	// Hostile mode: connects without sending anything.
	virtual Status connect_only() = 0;
	// Hostile mode: sends @len arbitrary bytes as one message.
	virtual Status send_raw(const void *p, uint32_t len) = 0;
	// Hostile mode: true when the server disconnected within @seconds.
	virtual bool disconnected_within(double seconds) = 0;
	virtual uint32_t rkey() const { return 0; }
};

std::unique_ptr<Link> make_link(const Options &o);

// A hello for @o on queue @qid.
qbd_hello make_hello(const Options &o, uint32_t qid, uint32_t max_io);
// Checks a hello reply against what @o needs.
Result<HelloInfo> check_hello_reply(const Options &o, const qbd_hello_reply &r, uint32_t max_io);

}  // namespace qbd::loadgen
