// libFuzzer target: size suffixes and endpoints (lib/config.cc parse_size,
// used by qbd -s/-S, qbdadm, map.conf, -t and qbd-server's max_io; and
// parse_endpoint). Invariants: an accepted size is the digits times the
// suffix without wrapping; an accepted endpoint round-trips through str().
#include <string>

#include "config.h"
#include "fuzz_util.h"

using namespace qbd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string_view s(reinterpret_cast<const char *>(data), size);
	auto n = parse_size(s);
	if (n) {
		// The same number written out in bytes parses to itself.
		auto again = parse_size(std::to_string(*n));
		if (!again || *again != *n)
			fuzz::die("size does not round-trip: " + std::to_string(*n));
	} else if (n.error().message.empty()) {
		fuzz::die("size error without a message");
	}
	auto e = parse_endpoint(s, 7000);
	if (e) {
		if (e->port == 0 || e->host.empty())
			fuzz::die("endpoint with port 0 or empty host accepted");
		auto again = parse_endpoint(e->str(), 1);
		if (!again || !(*again == *e))
			fuzz::die("endpoint does not round-trip: " + e->str());
	}
	return 0;
}
