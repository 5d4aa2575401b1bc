// qbd-loadgen: drives qbd-server with N TCP connections, each keeping QD
// requests in flight, and reports IOPS, bandwidth and latency percentiles.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.h"
#include "result.h"

namespace qbd::loadgen {

enum class Pattern { kRandRead, kRandWrite, kSeqRead, kSeqWrite };

struct Options {
	Endpoint server{"127.0.0.1", 7000};
	std::string pool = "bench", volume = "native";
	uint32_t connections = 1;
	uint32_t queue_depth = 1;
	uint32_t block_size = 4096;
	Pattern pattern = Pattern::kRandRead;
	double runtime_s = 10;
	double ramp_s = 1;
};

struct Report {
	uint64_t ios = 0;       // completed after the ramp
	uint64_t bytes = 0;
	double seconds = 0;     // measured interval
	double iops = 0, mib_s = 0;
	double lat_mean_us = 0, lat_p50_us = 0, lat_p99_us = 0, lat_p999_us = 0, lat_max_us = 0;
	uint64_t volume_size = 0;
};

// "randread", "randwrite", "read", "write".
Result<Pattern> parse_pattern(const std::string &s);
const char *pattern_name(Pattern p);

// Opens the connections (hello on each), runs the load for ramp + runtime,
// drains, and returns what was measured after the ramp. An error when a
// connection cannot be opened or breaks, a reply carries an error status,
// or the server sends a reply that does not match a request in flight.
Result<Report> run(const Options &o);

// Percentile @p (0..100) of sorted @v (nearest rank); 0 when empty.
double percentile(const std::vector<uint32_t> &sorted, double p);

}  // namespace qbd::loadgen
