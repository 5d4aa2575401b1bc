#include "map_options.h"

#include <string>

#include <linux/qbd.h>

namespace qbd::cli {

static Result<uint64_t> parse_u64(std::string_view key, std::string_view v)
{
	if (v.empty())
		return make_error(EINVAL, std::string(key) + "=: empty value");
	uint64_t n = 0;
	for (char c : v) {
		if (c < '0' || c > '9')
			return make_error(EINVAL, std::string(key) + "=" + std::string(v) +
							  ": not a non-negative integer");
		uint64_t d = static_cast<uint64_t>(c - '0');
		if (n > (UINT64_MAX - d) / 10)
			return make_error(EINVAL, std::string(key) + "=" + std::string(v) +
							  ": too large");
		n = n * 10 + d;
	}
	return n;
}

static Result<uint32_t> parse_ranged(std::string_view key, std::string_view v, uint32_t min,
				     uint32_t max, const char *unit)
{
	auto n = parse_u64(key, v);
	if (!n)
		return n.error();
	if (*n < min || *n > max)
		return make_error(EINVAL, std::string(key) + "=" + std::string(v) + ": must be " +
						  std::to_string(min) + ".." + std::to_string(max) +
						  unit);
	return static_cast<uint32_t>(*n);
}

static Result<uint64_t> parse_rate(std::string_view key, std::string_view v, bool bytes)
{
	if (!bytes)
		return parse_u64(key, v);
	if (v.empty())
		return make_error(EINVAL, std::string(key) + "=: empty value");
	auto n = parse_size(v);
	if (!n)
		return make_error(EINVAL, std::string(key) + "=" + std::string(v) + ": " +
						  n.error().message);
	return *n;
}

Result<MapOptions> parse_map_options(std::string_view s)
{
	MapOptions o;
	if (!s.empty() && s.back() == ',')
		return make_error(EINVAL, "empty option (two commas in a row, or a trailing comma)");
	while (!s.empty()) {
		auto comma = s.find(',');
		std::string_view item = s.substr(0, comma);
		s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
		if (item.empty())
			return make_error(EINVAL, "empty option (two commas in a row, or a "
						  "trailing comma)");
		auto eq = item.find('=');
		if (item == "digest") {
			o.digest = true;
			continue;
		}
		if (item.substr(0, eq) == "digest") {
			auto b = parse_on_off(item.substr(eq + 1));
			if (!b)
				return make_error(EINVAL, std::string(item) + ": " + b.error().message);
			o.digest = *b;
			continue;
		}
		if (eq == std::string_view::npos)
			return make_error(EINVAL, "option '" + std::string(item) +
							  "' has no value; expected KEY=VALUE");
		std::string_view key = item.substr(0, eq), val = item.substr(eq + 1);
		Result<uint32_t> r32 = uint32_t{0};
		std::optional<uint32_t> *dst32 = nullptr;
		uint64_t *dst64 = nullptr;
		Result<uint64_t> r64 = uint64_t{0};

		if (key == "io_depth") {
			r32 = parse_ranged(key, val, kMinIoDepth, kMaxIoDepth, "");
			dst32 = &o.io_depth;
		} else if (key == "nr_queues") {
			r32 = parse_ranged(key, val, 0, QBD_MAX_QUEUES, " (0 = online CPUs)");
			dst32 = &o.nr_queues;
		} else if (key == "io_timeout") {
			r32 = parse_ranged(key, val, 1, kMaxTimeoutSec, " seconds");
			dst32 = &o.io_timeout;
		} else if (key == "conn_timeout") {
			r32 = parse_ranged(key, val, 1, kMaxTimeoutSec, " seconds");
			dst32 = &o.conn_timeout;
		} else if (key == "heartbeat_interval") {
			r32 = parse_ranged(key, val, 1, kMaxTimeoutSec, " seconds");
			dst32 = &o.heartbeat_interval;
		} else if (key == "heartbeat_timeout") {
			r32 = parse_ranged(key, val, 1, kMaxTimeoutSec, " seconds");
			dst32 = &o.heartbeat_timeout;
		} else if (key == "read_bps") {
			r64 = parse_rate(key, val, true);
			dst64 = &o.read_bps;
		} else if (key == "write_bps") {
			r64 = parse_rate(key, val, true);
			dst64 = &o.write_bps;
		} else if (key == "read_iops") {
			r64 = parse_rate(key, val, false);
			dst64 = &o.read_iops;
		} else if (key == "write_iops") {
			r64 = parse_rate(key, val, false);
			dst64 = &o.write_iops;
		} else {
			return make_error(EINVAL,
					  "unknown option '" + std::string(key) +
						  "'; known: io_depth, nr_queues, io_timeout, "
						  "conn_timeout, heartbeat_interval, heartbeat_timeout, "
						  "read_bps, write_bps, read_iops, write_iops, digest");
		}
		if (dst32) {
			if (!r32)
				return r32.error();
			*dst32 = *r32;
		} else {
			if (!r64)
				return r64.error();
			*dst64 = *r64;
		}
	}
	return o;
}

Result<ClientConfig> apply_map_options(ClientConfig cfg, const MapOptions &o)
{
	if (o.io_depth)
		cfg.io_depth = *o.io_depth;
	if (o.io_timeout)
		cfg.io_timeout = *o.io_timeout;
	if (o.conn_timeout)
		cfg.conn_timeout = *o.conn_timeout;
	if (o.heartbeat_interval)
		cfg.heartbeat_interval = *o.heartbeat_interval;
	if (o.heartbeat_timeout)
		cfg.heartbeat_timeout = *o.heartbeat_timeout;
	if (o.digest)
		cfg.digest = *o.digest;
	if (cfg.heartbeat_timeout < cfg.heartbeat_interval)
		return make_error(EINVAL, "heartbeat_timeout " +
						  std::to_string(cfg.heartbeat_timeout) +
						  " s is shorter than heartbeat_interval " +
						  std::to_string(cfg.heartbeat_interval) + " s");
	return cfg;
}

}  // namespace qbd::cli
