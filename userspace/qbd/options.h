// The parsed command line of `qbd`.
#pragma once

#include <string>
#include <vector>

namespace qbd::cli {

enum class Command {
	none, map, unmap, list, info, version, throttle, suspend, resume, resize, map_all,
	unmap_all, remap, watch
};

// "map", "unmap", ... as used in error messages ("qbd: map: ...").
const char *command_name(Command c);

inline constexpr const char *kDefaultConfigPath = "/etc/qbd/qbd.conf";
inline constexpr const char *kDefaultMapFile = "/etc/qbd/map.conf";
inline constexpr unsigned kDefaultRetryTimeout = 60;  // seconds, -M
inline constexpr unsigned kMaxRetryTimeout = 3600;

struct Options {
	Command command = Command::none;
	std::string target;        // argument of -m/-u/-i/-s/-S/-R/-z/-r
	std::vector<std::string> commands_given;  // "-m", "-l", ... in order
	std::string config_path = kDefaultConfigPath;
	bool config_given = false; // -c was on the command line
	bool readonly = false;     // --ro
	bool force = false;        // --force
	bool json = false;         // --json
	bool verbose = false;      // -V
	std::string map_options;   // -o
	std::string throttle;      // -t: limits (-s, -m) or resume mode (-R)
	bool throttle_given = false;
	std::string size;          // -k (-z)
	std::string map_file = kDefaultMapFile;  // -f (-M, -U)
	bool map_file_given = false;
	unsigned retry_timeout = kDefaultRetryTimeout;  // --retry-timeout (-M)
	bool retry_timeout_given = false;
};

}  // namespace qbd::cli
