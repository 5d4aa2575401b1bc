// /etc/qbd/map.conf: the volumes `qbd -M` maps at boot and `qbd -U` unmaps.
//
//   # comment
//   [tcp://|rdma://]POOL/VOL [CONFIG] [READ_BPS WRITE_BPS READ_IOPS WRITE_IOPS]
//
// CONFIG is the qbd.conf to map with ("-" or absent: the default). The four
// limits come together or not at all; bps take K/M/G/T suffixes, iops are
// plain integers, 0 = unlimited. A bad line is reported with its number and
// skipped; the others still count.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"
#include "volume_url.h"

namespace qbd {

inline constexpr const char *kDefaultMapConf = "/etc/qbd/map.conf";

struct MapLimits {
	uint64_t read_bps = 0, write_bps = 0, read_iops = 0, write_iops = 0;
	bool operator==(const MapLimits &) const = default;
};

struct MapConfEntry {
	unsigned line = 0;   // 1-based
	std::string text;    // the URL as written ("tcp://pool/vol")
	VolumeUrl url;
	std::string config;  // empty: the default qbd.conf
	std::optional<MapLimits> limits;
};

struct MapConf {
	std::vector<MapConfEntry> entries;
	// "SOURCE:LINE: reason", one per bad line, in line order.
	std::vector<std::string> errors;
};

// Parses map.conf text; @source names it in the errors. A volume listed
// twice is an error on the later line.
MapConf parse_map_conf(std::string_view text, std::string_view source);

// Reads and parses @path; an unreadable file is an error.
Result<MapConf> load_map_conf(const std::string &path);

}  // namespace qbd
