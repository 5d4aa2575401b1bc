// libFuzzer target: the hello handshake (session.cc handle_hello) against a
// scratch catalog holding two volumes. Invariants: an accepted hello opened
// a volume the catalog has, never grants more than asked or allowed, and a
// refused one opens nothing (open counts go back to zero).
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_util.h"
#include "session.h"

using namespace qbd;

static fuzz::ScratchCatalog *scratch()
{
	static fuzz::ScratchCatalog *s = [] {
		auto *sc = new fuzz::ScratchCatalog;
		if (!sc->cat().create("pool", "vol", 1 << 20, 4096, 0) ||
		    !sc->cat().create("p-2", "v.1", 3ull << 30, 512, 1 << 20))
			fuzz::die("cannot create the seed volumes");
		return sc;
	}();
	return s;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz::ScratchCatalog &sc = *scratch();
	FuzzedDataProvider in(data, size);
	server::Limits lim;
	lim.max_queue_depth = in.ConsumeIntegralInRange<uint32_t>(1, 1024);
	lim.max_io = in.ConsumeIntegralInRange<uint32_t>(1, 2048) * 512;
	qbd_hello h;
	memset(&h, 0, sizeof(h));
	auto raw = in.ConsumeRemainingBytes<uint8_t>();
	if (!raw.empty())
		memcpy(&h, raw.data(), std::min(raw.size(), sizeof(h)));

	(void)server::check_msg_hdr(h.hdr);
	server::HelloResult r = server::handle_hello(sc.cat(), h, lim);
	if (le32(r.reply.status) == QBD_S_OK) {
		if (!r.volume)
			fuzz::die("OK without a volume");
		if (r.queue_depth == 0 || r.queue_depth > lim.max_queue_depth || r.queue_depth > le32(h.queue_depth))
			fuzz::die("granted queue depth out of bounds");
		if (r.geo.max_io > lim.max_io || r.geo.max_io > le32(h.max_io) || r.geo.max_io % 512)
			fuzz::die("granted max_io out of bounds");
		if (r.geo.features & ~le64(h.features))
			fuzz::die("granted a feature not asked for");
		sc.cat().close_volume(r.volume);
	} else {
		if (r.volume)
			fuzz::die("refused but a volume is open");
		if (r.rule.empty())
			fuzz::die("refused without a rule");
	}
	auto l = sc.cat().list("");
	if (!l)
		fuzz::die("list: " + l.error().message);
	for (auto &i : *l)
		if (i.open_count)
			fuzz::die("volume left open after the hello");
	return 0;
}
