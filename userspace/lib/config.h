// Configuration parsing shared by qbd, qbdadm and qbd-server: endpoints,
// sizes with binary suffixes, and the client configuration file qbd.conf.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "result.h"

namespace qbd {

// A server address: host name or IP literal, and a TCP port.
struct Endpoint {
	std::string host;
	uint16_t port = 0;
	// "host:port", with brackets around IPv6 literals: "[::1]:7000".
	std::string str() const;
	bool operator==(const Endpoint &) const = default;
};

// "10.0.0.1:7000", "host", "host:7000", "[::1]:7000", "[::1]", "::1".
// A missing port means @default_port. Ports are 1..65535.
Result<Endpoint> parse_endpoint(std::string_view s, uint16_t default_port);

// "4096", "512K", "10G", "1T": binary suffixes K/M/G/T (either case,
// optionally followed by "B" or "iB"). Errors name the input.
Result<uint64_t> parse_size(std::string_view s);

// A client's view of the cluster and its timeouts ([cluster] and [client]
// sections of /etc/qbd/qbd.conf, see qbd.conf(5)).
struct ClientConfig {
	std::vector<Endpoint> servers{{"127.0.0.1", 7000}};
	uint32_t io_depth = 128;
	uint32_t io_timeout = 30;         // seconds
	uint32_t conn_timeout = 8;        // seconds
	uint32_t heartbeat_interval = 1;  // seconds
	uint32_t heartbeat_timeout = 3;   // seconds
	std::string key_file;             // "": no key (see load_client_key)
	bool digest = false;              // CRC32C data digest (TCP only)
};

inline constexpr const char *kDefaultClientConfig = "/etc/qbd/qbd.conf";

// "on"/"yes"/"true"/"1" or "off"/"no"/"false"/"0"; anything else an error.
Result<bool> parse_on_off(std::string_view v);

// Limits enforced by parse_client_config (inclusive).
inline constexpr uint32_t kMinIoDepth = 1, kMaxIoDepth = 1024;
inline constexpr uint32_t kMaxTimeoutSec = 86400;
inline constexpr size_t kMaxServers = 8;

// Parses INI text: "[section]" lines, "key = value" lines, "#" or ";"
// comments (also after a value), blank lines. Known sections: [cluster]
// (servers, zookeeper) and [client] (io_depth, io_timeout, conn_timeout,
// heartbeat_interval, heartbeat_timeout, key_file, digest); other sections are ignored so
// other tools may keep their settings in the same file. A bad line is an
// error "SOURCE:LINE: reason".
Result<ClientConfig> parse_client_config(std::string_view text, std::string_view source);

// Reads and parses @path. A missing file gives the defaults unless
// @must_exist.
Result<ClientConfig> load_client_config(const std::string &path, bool must_exist);

// Helpers shared with the server's configuration parser.
namespace ini {
std::string_view trim(std::string_view s);
// Strips a trailing "# ..." or "; ..." comment (not inside the value's first char).
std::string_view strip_comment(std::string_view s);
Result<uint32_t> parse_u32(std::string_view s, uint32_t min, uint32_t max, std::string_view what);

// One meaningful line of an INI text: a section header ([name], @key empty)
// or a "key = value" entry of @section.
struct Line {
	unsigned number = 0;
	std::string section;
	std::string key;
	std::string_view value;
	bool is_header() const { return key.empty(); }
};

// Calls @on_line for every line of @text that is not blank or a comment, in
// order. A malformed line (header without ']', empty section name, no '=',
// empty key) or an error from @on_line ends the walk with the error
// "SOURCE:LINE: reason".
Status for_each_line(std::string_view text, std::string_view source,
		     const std::function<Status(const Line &)> &on_line);

// The items of a comma-separated list, trimmed; empty items are kept so the
// caller can reject them.
std::vector<std::string_view> split_list(std::string_view s);
}  // namespace ini

}  // namespace qbd
