// libFuzzer target: map.conf parsing (lib/map_conf.cc parse_map_conf).
// Invariants: every entry's URL parses again to the same volume, lines are
// increasing, no volume is listed twice, every error names the source.
#include <set>
#include <string>

#include "fuzz_util.h"
#include "map_conf.h"

using namespace qbd;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::string_view text(reinterpret_cast<const char *>(data), size);
	MapConf m = parse_map_conf(text, "map.conf");
	for (auto &e : m.errors)
		if (e.rfind("map.conf:", 0) != 0)
			fuzz::die("error does not name the source: " + e);
	unsigned last = 0;
	std::set<std::string> seen;
	for (auto &e : m.entries) {
		if (e.line <= last)
			fuzz::die("entries out of line order");
		last = e.line;
		auto u = parse_volume_url(e.text);
		if (!u || u->name() != e.url.name() || u->transport != e.url.transport)
			fuzz::die("entry URL does not parse back: " + e.text);
		if (!seen.insert(e.url.name()).second)
			fuzz::die("volume listed twice: " + e.url.name());
	}
	return 0;
}
