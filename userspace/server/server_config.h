// /etc/qbd/qbd-server.conf: defaults for qbd-server's flags.
//
//   [server]
//   data_dir = /var/lib/qbd
//   listen = tcp://0.0.0.0:7000, tcp://[::]:7000, rdma://10.0.0.1:7001
//   max_connections = 1024
//   max_queue_depth = 128
//   max_io = 1M
//   reactors = 0            # 0: one per CPU
//   direct_io = yes         # try O_DIRECT on volume files
//   log_level = info        # debug, info, warn, error
//   key_file = /etc/qbd/qbd.key   # shared secret: clients must authenticate
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "log.h"
#include "server.h"

namespace qbd::server {

inline constexpr const char *kDefaultServerConfig = "/etc/qbd/qbd-server.conf";

struct ServerConfigFile {
	ServerOptions opts;
	LogLevel log_level = LogLevel::kInfo;
	std::string key_file;  // "" = no key, no authentication
};

Result<LogLevel> parse_log_level(std::string_view s);
// Parses the text of a server config file over the defaults in @base.
Result<ServerConfigFile> parse_server_config(std::string_view text, std::string_view source,
					     ServerConfigFile base);

}  // namespace qbd::server
