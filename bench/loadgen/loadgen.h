// qbd-loadgen: drives qbd-server with N connections (TCP or RDMA), each
// keeping QD requests in flight, and reports IOPS, bandwidth and latency
// percentiles; or verifies data (--verify); or plays a hostile RDMA
// client (--hostile) for the server's tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "config.h"
#include "result.h"
#include "volume_url.h"

namespace qbd::loadgen {

enum class Pattern { kRandRead, kRandWrite, kSeqRead, kSeqWrite };

struct Options {
	Transport transport = Transport::tcp;
	Endpoint server{"127.0.0.1", 7000};
	std::string source;  // rdma://: local address to connect from ("": any)
	std::string pool = "bench", volume = "native";
	uint32_t connections = 1;
	uint32_t queue_depth = 1;
	uint32_t block_size = 4096;      // benchmark size; verify: smallest size
	uint32_t max_block_size = 4096;  // verify: largest size (power-of-two steps)
	Pattern pattern = Pattern::kRandRead;
	double runtime_s = 10;
	double ramp_s = 1;
	uint64_t span = 0;   // verify: bytes of the volume covered (0: all)
	uint64_t seed = 1;   // verify: pattern seed
	bool read_only = false;  // verify: skip the write pass (check earlier data)
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

struct VerifyReport {
	uint64_t writes = 0, reads = 0, bytes = 0;
	uint64_t mismatched_sectors = 0;  // 512-byte sectors that read back wrong
};
// Every connection writes its share of the span with requests of mixed
// sizes (block_size..max_block_size) and a pattern that is a function of
// the byte offset and the seed, then reads it all back (split differently)
// and compares. An error when IO fails; mismatches are counted (and the
// first few printed on stderr).
Result<VerifyReport> verify(const Options &o);

// RDMA only: one connection per hostile case (wrong-size SENDs, bad magic,
// zero and garbage rkeys, a length near 2^32, ...); each case passes when
// the server disconnects that QP. Prints one line per case; returns the
// number of cases the server did not disconnect.
Result<uint32_t> hostile(const Options &o);

// Percentile @p (0..100) of sorted @v (nearest rank); 0 when empty.
double percentile(const std::vector<uint32_t> &sorted, double p);

}  // namespace qbd::loadgen
