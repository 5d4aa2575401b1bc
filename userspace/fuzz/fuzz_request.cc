// libFuzzer target: the server's request checks (lib/proto.cc check_req,
// session.cc check_msg_hdr, read_fixed). Input: a geometry, then a request
// header, then a message header. Invariants: a request that passes is
// inside the volume, sector aligned, within max_io and within one shard; a
// WRITE that is refused without closing discards exactly its length.
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_util.h"
#include "proto.h"
#include "session.h"

using namespace qbd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzedDataProvider in(data, size);
	VolumeGeometry geo;
	geo.vol_id = in.ConsumeIntegral<uint64_t>();
	geo.size = in.ConsumeIntegral<uint64_t>();
	geo.shard_size = in.ConsumeBool() ? 0 : uint64_t(1) << in.ConsumeIntegralInRange(20, 40);
	geo.layout_version = in.ConsumeIntegral<uint32_t>();
	geo.max_io = in.ConsumeIntegral<uint32_t>();
	geo.features = in.ConsumeIntegral<uint64_t>();
	qbd_req req;
	qbd_msg_hdr hdr;
	memset(&req, 0, sizeof(req));
	memset(&hdr, 0, sizeof(hdr));
	auto raw = in.ConsumeBytes<uint8_t>(sizeof(req));
	if (!raw.empty())
		memcpy(&req, raw.data(), raw.size());
	auto rawh = in.ConsumeBytes<uint8_t>(sizeof(hdr));
	if (!rawh.empty())
		memcpy(&hdr, rawh.data(), rawh.size());

	ReqVerdict v = check_req(req, geo);
	const uint64_t off = le64(req.offset);
	const uint32_t len = le32(req.length);
	if (v.action != ReqVerdict::kServe && v.rule.empty())
		fuzz::die("refused without a rule");
	if (v.action == ReqVerdict::kServe) {
		if (le32(req.magic) != QBD_PROTO_MAGIC)
			fuzz::die("bad magic served");
		if (req.opcode == QBD_OP_READ || req.opcode == QBD_OP_WRITE || req.opcode == QBD_OP_DISCARD ||
		    req.opcode == QBD_OP_WRITE_ZEROES) {
			if (len == 0 || off % 512 || len % 512 || off > geo.size || len > geo.size - off)
				fuzz::die("served a request outside the volume");
			if (req.opcode <= QBD_OP_WRITE && len > geo.max_io)
				fuzz::die("served a request over max_io");
			if (geo.shard_size && req.opcode <= QBD_OP_WRITE &&
			    off / geo.shard_size != (off + len - 1) / geo.shard_size)
				fuzz::die("served a request across shards");
		} else if (req.opcode > QBD_OP_MAX) {
			fuzz::die("served an unknown opcode");
		}
	} else if (v.action == ReqVerdict::kReply) {
		if (v.status == QBD_S_OK)
			fuzz::die("error reply with status OK");
		if (v.discard_payload != (req.opcode == QBD_OP_WRITE ? len : 0))
			fuzz::die("refused WRITE does not discard its payload exactly");
	}
	(void)status_name(v.status);
	(void)op_name(req.opcode);

	std::string bad = server::check_msg_hdr(hdr);
	bool good = le32(hdr.magic) == QBD_PROTO_MAGIC && le16(hdr.version) == QBD_PROTO_VERSION &&
		    (le16(hdr.type) == QBD_MSG_HELLO || le16(hdr.type) == QBD_MSG_ADMIN);
	if (bad.empty() != good)
		fuzz::die("check_msg_hdr disagrees: '" + bad + "'");

	auto field = in.ConsumeRemainingBytes<char>();
	if (!field.empty()) {
		auto s = read_fixed(field.data(), field.size(), "field");
		if (s && (s->size() >= field.size() || memchr(field.data(), 0, field.size()) == nullptr))
			fuzz::die("read_fixed accepted a field without NUL");
	}
	return 0;
}
