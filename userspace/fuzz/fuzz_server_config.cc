// libFuzzer target: qbd-server.conf parsing (server/server_config.cc
// parse_server_config, over the lib/config.cc INI walker). Invariants: an
// error names the source; accepted limits are usable (non-zero, max_io a
// multiple of 512 within the protocol's limit).
#include <string>

#include "fuzz_util.h"
#include "server_config.h"

using namespace qbd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	server::log_set_level(server::LogLevel::kError);
	std::string_view text(reinterpret_cast<const char *>(data), size);
	auto c = server::parse_server_config(text, "qbd-server.conf", {});
	if (!c) {
		if (c.error().message.rfind("qbd-server.conf:", 0) != 0)
			fuzz::die("error does not name the source: " + c.error().message);
		return 0;
	}
	const server::Limits &l = c->opts.limits;
	if (l.max_connections == 0 || l.max_queue_depth == 0)
		fuzz::die("a zero limit was accepted");
	if (l.max_io == 0 || l.max_io % QBD_PROTO_SECTOR || l.max_io > QBD_PROTO_MAX_IO)
		fuzz::die("max_io " + std::to_string(l.max_io) + " was accepted");
	return 0;
}
