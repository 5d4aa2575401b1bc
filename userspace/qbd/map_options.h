// `qbd -m ... -o KEY=VALUE,...`: map options that override qbd.conf.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "config.h"
#include "result.h"

namespace qbd::cli {

struct MapOptions {
	std::optional<uint32_t> io_depth;
	std::optional<uint32_t> nr_queues;
	std::optional<uint32_t> io_timeout;         // seconds
	std::optional<uint32_t> conn_timeout;       // seconds
	std::optional<uint32_t> heartbeat_interval; // seconds
	std::optional<uint32_t> heartbeat_timeout;  // seconds
	uint64_t read_bps = 0, write_bps = 0;       // 0 = unlimited
	uint64_t read_iops = 0, write_iops = 0;
	std::optional<bool> digest;                 // "digest" or digest=on|off
};

// Parses "io_depth=64,io_timeout=10,digest". Empty input is no options.
// "digest" alone means digest=on. Errors
// name the option and the rule ("io_depth=0: must be 1..1024").
Result<MapOptions> parse_map_options(std::string_view s);

// @cfg with the options of @o applied, then checked as a whole
// (heartbeat_timeout is not shorter than heartbeat_interval, as in qbd.conf).
Result<ClientConfig> apply_map_options(ClientConfig cfg, const MapOptions &o);

}  // namespace qbd::cli
