// Filling struct qbd_map from what `qbd -m` learned: the volume URL, the
// client config (with -o applied), the volume as the server described it,
// and the server's resolved address. Pure functions, no device needed.
#pragma once

#include <vector>

#include <linux/qbd.h>

#include "admin_client.h"
#include "auth.h"
#include "ioctl.h"
#include "config.h"
#include "map_options.h"
#include "result.h"
#include "volume_url.h"

namespace qbd::cli {

struct MapInput {
	VolumeUrl url;
	ClientConfig config;     // -o already applied
	MapOptions options;      // nr_queues and throttle limits
	VolumeInfo volume;       // from AdminClient::info
	std::vector<qbd_server_addr> servers;
	bool readonly = false;
	std::shared_ptr<const Key> key;  // key_file's key, or nullptr
};

// The struct for QBD_IOC_MAP. Checks what the module would refuse anyway,
// so the user hears which value is wrong: names fit, block size 512 or
// 4096, size a non-zero multiple of the block size, shard size a power of
// two >= 1 MiB, 1..QBD_MAX_SERVERS servers of a known family.
Result<qbd_map> build_map_request(const MapInput &in);

// Resolves @ep with getaddrinfo (IPv4 or IPv6, the first answer) into a
// qbd_server_addr for the module; @port replaces the endpoint's port when
// non-zero.
Result<qbd_server_addr> resolve_server(const Endpoint &ep, uint16_t port = 0);

}  // namespace qbd::cli
