#include "throttle_spec.h"

#include <string>

#include "config.h"
#include "ioctl.h"

namespace qbd::cli {

static Result<uint64_t> parse_count(std::string_view key, std::string_view v)
{
	std::string item = std::string(key) + "=" + std::string(v);
	if (v.empty())
		return make_error(EINVAL, item + ": empty value");
	uint64_t n = 0;
	for (char c : v) {
		if (c < '0' || c > '9')
			return make_error(EINVAL, item + ": not a non-negative integer");
		uint64_t d = static_cast<uint64_t>(c - '0');
		if (n > (UINT64_MAX - d) / 10)
			return make_error(EINVAL, item + ": too large");
		n = n * 10 + d;
	}
	return n;
}

static Result<uint64_t> parse_bytes(std::string_view key, std::string_view v)
{
	std::string item = std::string(key) + "=" + std::string(v);
	if (v.empty())
		return make_error(EINVAL, item + ": empty value");
	auto n = parse_size(v);
	if (!n)
		return make_error(EINVAL, item + ": " + n.error().message);
	return *n;
}

Result<ThrottleSpec> parse_throttle_spec(std::string_view s)
{
	ThrottleSpec t;
	if (s.empty())
		return make_error(EINVAL, "empty throttle spec; expected KEY=VALUE,... with keys "
					  "read_bps, write_bps, read_iops, write_iops, burst_ms");
	if (s.back() == ',')
		return make_error(EINVAL, "empty item (two commas in a row, or a trailing comma)");
	while (!s.empty()) {
		auto comma = s.find(',');
		std::string_view item = s.substr(0, comma);
		s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
		if (item.empty())
			return make_error(EINVAL,
					  "empty item (two commas in a row, or a trailing comma)");
		auto eq = item.find('=');
		if (eq == std::string_view::npos)
			return make_error(EINVAL, "'" + std::string(item) +
							  "' has no value; expected KEY=VALUE");
		std::string_view key = item.substr(0, eq), val = item.substr(eq + 1);
		std::optional<uint64_t> *dst = nullptr;
		bool bytes = false;
		if (key == "read_bps") {
			dst = &t.read_bps;
			bytes = true;
		} else if (key == "write_bps") {
			dst = &t.write_bps;
			bytes = true;
		} else if (key == "read_iops") {
			dst = &t.read_iops;
		} else if (key == "write_iops") {
			dst = &t.write_iops;
		} else if (key == "burst_ms") {
			if (t.burst_ms)
				return make_error(EINVAL, "burst_ms given twice");
			auto n = parse_count(key, val);
			if (!n)
				return n.error();
			if (*n > kMaxBurstMs)
				return make_error(EINVAL, "burst_ms=" + std::string(val) +
								  ": must be 0.." +
								  std::to_string(kMaxBurstMs) +
								  " (0 = the module default)");
			t.burst_ms = static_cast<uint32_t>(*n);
			continue;
		} else {
			return make_error(EINVAL, "unknown key '" + std::string(key) +
							  "'; known: read_bps, write_bps, read_iops, "
							  "write_iops, burst_ms");
		}
		if (dst->has_value())
			return make_error(EINVAL, std::string(key) + " given twice");
		auto n = bytes ? parse_bytes(key, val) : parse_count(key, val);
		if (!n)
			return n.error();
		*dst = *n;
	}
	return t;
}

qbd_throttle build_throttle_request(int dev_id, const qbd_info &cur, const ThrottleSpec &spec)
{
	qbd_throttle t = make_throttle_struct(dev_id);
	t.read_bps = spec.read_bps.value_or(cur.read_bps);
	t.write_bps = spec.write_bps.value_or(cur.write_bps);
	t.read_iops = spec.read_iops.value_or(cur.read_iops);
	t.write_iops = spec.write_iops.value_or(cur.write_iops);
	t.burst_ms = spec.burst_ms.value_or(cur.burst_ms);
	return t;
}

}  // namespace qbd::cli
