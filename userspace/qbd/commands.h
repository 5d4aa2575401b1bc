// The commands of `qbd`, one file each: run_<cmd>(Context&) returns the exit
// status and prints results on ctx.out, errors through ctx.fail().
#pragma once

#include <functional>

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
};

MapHooks system_map_hooks();

// Asks each server of @cfg in turn (AdminClient::info) until one knows the volume.
Result<ResolvedVolume> resolve_volume_on_servers(Context &ctx, const ClientConfig &cfg,
						 const VolumeUrl &url);

int run_map(Context &ctx, const MapHooks &hooks);
int run_unmap(Context &ctx);
int run_list(Context &ctx);
int run_info(Context &ctx);
int run_version(Context &ctx);

}  // namespace qbd::cli
