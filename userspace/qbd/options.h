// The parsed command line of `qbd`.
#pragma once

#include <string>
#include <vector>

namespace qbd::cli {

enum class Command { none, map, unmap, list, info, version };

// "map", "unmap", ... as used in error messages ("qbd: map: ...").
const char *command_name(Command c);

inline constexpr const char *kDefaultConfigPath = "/etc/qbd/qbd.conf";

struct Options {
	Command command = Command::none;
	std::string target;        // -m/-u/-i argument
	std::vector<std::string> commands_given;  // "-m", "-l", ... in order
	std::string config_path = kDefaultConfigPath;
	bool config_given = false; // -c was on the command line
	bool readonly = false;     // --ro
	bool force = false;        // --force
	bool json = false;         // --json
	bool verbose = false;      // -V
	std::string map_options;   // -o
};

}  // namespace qbd::cli
