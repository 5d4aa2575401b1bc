// libFuzzer target: the admin interface (session.cc handle_admin) against a
// scratch catalog in a temporary directory: a sequence of create / delete /
// list / info / resize requests (and unknown ops) with random fields, some
// built from a few plausible names and sizes, some raw bytes. Invariants:
// every reply has a status and a NUL-terminated message, payload entries
// decode, nothing is written outside the data directory, and reopening the
// catalog from disk gives back the same volumes.
#include <fuzzer/FuzzedDataProvider.h>

#include "admin_client.h"
#include "fuzz_util.h"
#include "session.h"

using namespace qbd;

static const char *const kNames[] = {"pool", "vol", "a", "p-2", "v.1", "", ".", "..", "../x", "x/y"};

static uint64_t pick_size(FuzzedDataProvider &in)
{
	static const uint64_t kSizes[] = {0,           512,        4096,        1 << 20,
					  3ull << 30,  1ull << 40, 1ull << 62,  (1ull << 63) - 4096,
					  ~0ull - 511, ~0ull};
	if (in.ConsumeBool())
		return in.PickValueInArray(kSizes);
	return in.ConsumeIntegral<uint64_t>();
}

static void fill_name(FuzzedDataProvider &in, char *field, size_t n)
{
	if (in.ConsumeBool()) {
		const char *s = in.PickValueInArray(kNames);
		memcpy(field, s, strlen(s));
	} else {
		auto raw = in.ConsumeBytes<char>(in.ConsumeIntegralInRange<size_t>(0, n));
		if (!raw.empty())
			memcpy(field, raw.data(), raw.size());
	}
}

static std::vector<VolumeInfo> all(server::Catalog &c)
{
	auto l = c.list("");
	if (!l)
		fuzz::die("list: " + l.error().message);
	return *l;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static fuzz::ScratchCatalog *sc = new fuzz::ScratchCatalog;
	sc->reset();
	FuzzedDataProvider in(data, size);
	for (int n = 0; n < 16 && in.remaining_bytes(); n++) {
		qbd_admin_req req;
		memset(&req, 0, sizeof(req));
		if (in.ConsumeIntegralInRange(0, 7) == 0) {
			auto raw = in.ConsumeBytes<uint8_t>(sizeof(req));
			if (!raw.empty())
				memcpy(&req, raw.data(), raw.size());
		} else {
			fill_msg_hdr(req.hdr, QBD_MSG_ADMIN);
			req.op = to_le32(in.ConsumeIntegralInRange<uint32_t>(0, 6));
			if (in.ConsumeIntegralInRange(0, 7) == 0)
				req.flags = to_le32(in.ConsumeIntegral<uint32_t>());
			else if (in.ConsumeBool())
				req.flags = to_le32(QBD_AF_FORCE);
			fill_name(in, req.pool, sizeof(req.pool));
			fill_name(in, req.volume, sizeof(req.volume));
			req.size = to_le64(pick_size(in));
			req.block_size = to_le32(in.ConsumeBool() ? in.PickValueInArray({0u, 512u, 4096u})
								  : in.ConsumeIntegral<uint32_t>());
			req.shard_size = to_le64(in.ConsumeBool() ? 0 : pick_size(in));
			if (in.ConsumeIntegralInRange(0, 15) == 0)
				req.reserved0 = in.ConsumeIntegral<uint8_t>();
		}
		server::AdminResult r = server::handle_admin(sc->cat(), req);
		if (!memchr(r.reply.message, 0, sizeof(r.reply.message)))
			fuzz::die("admin reply message without NUL");
		uint32_t st = le32(r.reply.status);
		if (st != QBD_S_OK && !r.payload.empty())
			fuzz::die("error reply with a payload");
		if (st == QBD_S_OK && le32(r.reply.payload_len) != r.payload.size() * sizeof(qbd_admin_vol))
			fuzz::die("payload_len does not match the payload");
		for (auto &v : r.payload)
			if (!decode_admin_vol(v))
				fuzz::die("payload entry does not decode");
		sc->check_contained();
	}
	// What is on disk is what the catalog holds.
	auto before = all(sc->cat());
	auto again = server::Catalog::open(sc->data(), false);
	if (!again)
		fuzz::die("catalog does not reopen: " + again.error().message);
	auto after = all(**again);
	if (before.size() != after.size())
		fuzz::die("reopened catalog has a different number of volumes");
	for (size_t i = 0; i < before.size(); i++)
		if (before[i].pool != after[i].pool || before[i].volume != after[i].volume ||
		    before[i].vol_id != after[i].vol_id || before[i].size != after[i].size ||
		    before[i].shard_size != after[i].shard_size || before[i].block_size != after[i].block_size)
			fuzz::die("reopened catalog differs in " + before[i].pool + "/" + before[i].volume);
	return 0;
}
