// The commands of `qbd`, one file each: run_<cmd>(Context&) returns the exit
// status and prints results on ctx.out, errors through ctx.fail().
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "admin_client.h"
#include "config.h"
#include "context.h"
#include "volume_url.h"

namespace qbd::cli {

struct ResolvedVolume {
	VolumeInfo info;
	Endpoint server;  // the server that answered
};

// What map does outside the control device; the tests replace these.
struct MapHooks {
	std::function<Status(Context &)> ensure_module;
	std::function<Result<ResolvedVolume>(Context &, const ClientConfig &, const VolumeUrl &)>
		resolve_volume;
	std::function<Result<qbd_server_addr>(const Endpoint &, uint16_t port)> resolve_addr;
	// Waits for the device node and rereads its partitions.
	std::function<Status(Context &, const std::string &dev)> settle;
	// -z: grows the volume on the server that knows it (AdminClient::resize).
	std::function<Result<VolumeInfo>(Context &, const ClientConfig &, const VolumeUrl &,
					 uint64_t new_size)>
		resize_volume;
	// -M: the pause between retries.
	std::function<void(std::chrono::milliseconds)> sleep;
};

MapHooks system_map_hooks();

// Asks each server of @cfg in turn (AdminClient::info) until one knows the volume.
Result<ResolvedVolume> resolve_volume_on_servers(Context &ctx, const ClientConfig &cfg,
						 const VolumeUrl &url);

// Maps ctx.opts.target as -m does (without printing); returns the dev_id.
Result<int> map_volume(Context &ctx, const MapHooks &hooks);

// Grows @url to @new_size on the first server of @cfg that knows it.
Result<VolumeInfo> resize_volume_on_servers(Context &ctx, const ClientConfig &cfg,
					    const VolumeUrl &url, uint64_t new_size);

// Re-resolves the layout of mapped device @dev_id and hands it to the module
// (QBD_IOC_REMAP); @given is the URL the user named, if any (its transport
// must be the device's). Returns what was done, for the log.
Result<std::string> remap_device(Context &ctx, Control &c, const MapHooks &hooks, int dev_id,
				 const std::optional<VolumeUrl> &given);

int run_map(Context &ctx, const MapHooks &hooks);
int run_remap(Context &ctx, const MapHooks &hooks);
int run_watch(Context &ctx, const MapHooks &hooks);
int run_throttle(Context &ctx);
int run_suspend(Context &ctx);
int run_resume(Context &ctx);
int run_resize(Context &ctx, const MapHooks &hooks);
int run_map_all(Context &ctx, const MapHooks &hooks);
int run_unmap_all(Context &ctx);
int run_unmap(Context &ctx);
int run_list(Context &ctx);
int run_info(Context &ctx);
int run_version(Context &ctx);

}  // namespace qbd::cli
