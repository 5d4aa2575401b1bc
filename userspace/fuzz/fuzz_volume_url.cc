// libFuzzer target: volume URLs (lib/volume_url.cc parse_volume_url).
// Invariants: an accepted URL has valid names, re-parses to itself (with
// and without its scheme), and the wire-side name checks (lib/proto.cc)
// agree with it.
#include <string>

#include "fuzz_util.h"
#include "proto.h"
#include "volume_url.h"

using namespace qbd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string_view s(reinterpret_cast<const char *>(data), size);
	auto u = parse_volume_url(s);
	if (!u) {
		if (u.error().message.empty())
			fuzz::die("error without a message");
		return 0;
	}
	if (!check_pool_name(u->pool) || !check_volume_name(u->volume))
		fuzz::die("accepted names the server would refuse: " + u->name());
	std::string full = std::string(transport_name(u->transport)) + "://" + u->name();
	auto again = parse_volume_url(full);
	if (!again || again->name() != u->name() || again->transport != u->transport)
		fuzz::die("URL does not round-trip: " + full);
	auto bare = parse_volume_url(u->name());
	if (!bare || bare->name() != u->name())
		fuzz::die("bare name does not parse: " + u->name());
	return 0;
}
