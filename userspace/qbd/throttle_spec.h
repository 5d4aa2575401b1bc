// `qbd -s ... -t read_bps=N,write_bps=N,read_iops=N,write_iops=N[,burst_ms=N]`
// and `qbd -m ... -t ...`: the throttle limits of a device. Pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <linux/qbd.h>

#include "result.h"

namespace qbd::cli {

// Largest burst allowance qbd asks for: a minute of the rate.
inline constexpr uint32_t kMaxBurstMs = 60000;

// What -t names; a key left out keeps its current value.
struct ThrottleSpec {
	std::optional<uint64_t> read_bps, write_bps;    // bytes/s, 0 = unlimited
	std::optional<uint64_t> read_iops, write_iops;  // requests/s, 0 = unlimited
	std::optional<uint32_t> burst_ms;               // 0 = the module default

	bool empty() const
	{
		return !read_bps && !write_bps && !read_iops && !write_iops && !burst_ms;
	}
};

// Parses "read_iops=2000,write_bps=50M". bps take K/M/G/T suffixes (powers
// of 1024), iops and burst_ms are plain integers. Each key at most once; an
// empty spec is an error. Messages name the key and the rule
// ("read_iops=1k: not a non-negative integer").
Result<ThrottleSpec> parse_throttle_spec(std::string_view s);

// QBD_IOC_SET_THROTTLE for @dev_id: the keys of @spec, the rest from @cur
// (what QBD_IOC_INFO reported).
qbd_throttle build_throttle_request(int dev_id, const qbd_info &cur, const ThrottleSpec &spec);

}  // namespace qbd::cli
