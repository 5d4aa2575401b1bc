// libFuzzer target: qbd.conf parsing (lib/config.cc parse_client_config).
// Invariants: an accepted config respects the documented limits; an error
// names the source and a line.
#include <string>

#include "config.h"
#include "fuzz_util.h"

using namespace qbd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string_view text(reinterpret_cast<const char *>(data), size);
	auto c = parse_client_config(text, "qbd.conf");
	if (!c) {
		if (c.error().message.rfind("qbd.conf:", 0) != 0)
			fuzz::die("error does not name the source: " + c.error().message);
		return 0;
	}
	if (c->servers.empty() || c->servers.size() > kMaxServers)
		fuzz::die("server count out of bounds");
	for (auto &e : c->servers) {
		if (e.port == 0 || e.host.empty())
			fuzz::die("accepted an empty host or port 0");
		auto again = parse_endpoint(e.str(), 1);
		if (!again || !(*again == e))
			fuzz::die("endpoint does not round-trip: " + e.str());
	}
	if (c->io_depth < kMinIoDepth || c->io_depth > kMaxIoDepth || c->io_timeout > kMaxTimeoutSec ||
	    c->conn_timeout > kMaxTimeoutSec || c->heartbeat_interval > kMaxTimeoutSec ||
	    c->heartbeat_timeout > kMaxTimeoutSec)
		fuzz::die("a value out of its documented range was accepted");
	return 0;
}
