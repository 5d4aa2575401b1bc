// What every command of `qbd` runs with: the parsed options, the output
// streams, where the control device and the state directory are, and how
// to open the control device (the tests substitute a fake).
#pragma once

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>

#include "config.h"
#include "ioctl.h"
#include "options.h"
#include "result.h"

namespace qbd::cli {

struct Context {
	Options opts;
	std::ostream *out = nullptr;
	std::ostream *err = nullptr;
	std::string ctl_path = kDefaultControlPath;  // $QBD_CTL overrides
	std::string dev_dir = "/dev";                // where /dev/qbdN appear
	std::string state_dir = "/run/qbd";          // config path of each mapping
	std::string sys_module_dir = "/sys/module/qbd";
	std::function<Result<std::unique_ptr<Control>>(const std::string &path)> open_control;

	const char *cmd() const { return command_name(opts.command); }
	// "-V": one line on stderr, "qbd: map: MSG".
	void log(const std::string &msg) const;
	// The one error printer: "qbd: CMD: MSG", with "INPUT: " before MSG when
	// MSG does not quote the input (or a JSON object with --json)
	// on stderr. Returns the exit status for main().
	int fail(const std::string &msg, int code = 0) const;
	void warn(const std::string &msg) const;
	std::string device_path(int dev_id) const;
	Result<std::unique_ptr<Control>> control() const;
	// Reads the config (-c, else the default; a missing default gives the
	// built-in defaults) so a broken file is reported by every command.
	Result<ClientConfig> load_config() const;
	// What every device command does first: load_config() (so a broken
	// file is reported), then control().
	Result<std::unique_ptr<Control>> configured_control() const;
};

// A Context for the real system: $QBD_CTL, std::cout/std::cerr, ControlDevice.
Context make_system_context(const Options &opts);

// A JSON string literal with the escapes RFC 8259 requires.
std::string json_string(const std::string &s);

// An ioctl error as a user reads it: "MESSAGE (ADVICE)".
std::string describe_ioctl_error(const Error &e);

}  // namespace qbd::cli
