// Devices of `qbd`: naming a mapped volume by POOL/VOL or /dev/qbdN, the
// device node, the module, and the small state kept in /run/qbd.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "context.h"
#include "ioctl.h"
#include "result.h"

namespace qbd::cli {

// "/dev/qbd3" -> 3 (also "qbd3"). Anything else is an error naming the rule.
Result<int> parse_device_name(const std::string &s);

// The dev_id mapping @pool/@volume, or nullopt (LIST, then INFO of each).
Result<std::optional<int>> find_mapped(Control &ctl, const std::string &pool,
				       const std::string &volume);

struct Target {
	int dev_id = -1;
	std::string name;  // "pool/vol" when known
};

// Resolves the argument of -u/-i: POOL/VOL (mapped), /dev/qbdN, or a path
// that resolves to /dev/qbdN (e.g. the udev link /dev/qbd/POOL/VOL).
Result<Target> resolve_target(Context &ctx, Control &ctl, const std::string &arg);

// Polls until @path is a block device, up to @timeout.
Status wait_for_block_device(const std::string &path, std::chrono::milliseconds timeout);

// BLKRRPART on @path.
Status reread_partitions(const std::string &path);

// Loads the module with `modprobe qbd` when @ctl_path is missing, then waits
// (up to 5 s) for @ctl_path to appear.
Status ensure_module(Context &ctx);

// /run/qbd/qbdN: "VOL_ID CONFIG_PATH", written at map, removed at unmap, read
// by list and info for the config column. Failures here are warnings.
void save_state(const Context &ctx, int dev_id, uint64_t vol_id, const std::string &config);
std::string load_state_config(const Context &ctx, int dev_id, uint64_t vol_id);
void remove_state(const Context &ctx, int dev_id);

}  // namespace qbd::cli

namespace qbd::cli {

// ENOTSUP naming @what ("throttling") when the loaded module lacks @bit
// (QBD_FEAT_*) in QBD_IOC_GET_FEATURES.
Status require_feature(Control &ctl, uint64_t bit, const std::string &what);

// The error for a failed ioctl on @dev: ENOENT/ENODEV say "not mapped".
std::string device_ioctl_error(const Context &ctx, int dev_id, const std::string &action,
			       const Error &e);

}  // namespace qbd::cli
