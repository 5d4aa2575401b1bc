// Volume URLs: [tcp://|rdma://]POOL/VOLUME, as given to `qbd -m`.
#pragma once

#include <string>
#include <string_view>

#include "result.h"

namespace qbd {

enum class Transport { tcp, rdma };

// "tcp" or "rdma".
const char *transport_name(Transport t);

struct VolumeUrl {
	Transport transport = Transport::tcp;
	bool explicit_transport = false;  // the URL named its scheme
	std::string pool;
	std::string volume;

	// "pool/volume", without the scheme.
	std::string name() const { return pool + "/" + volume; }
};

// Longest pool and volume names (the uapi buffers minus the NUL).
inline constexpr std::size_t kPoolNameMax = 63;
inline constexpr std::size_t kVolumeNameMax = 127;

// Checks one pool or volume name: 1..max characters of [A-Za-z0-9._-],
// not "." or "..". @what is "pool" or "volume" and names it in the error.
Status check_volume_part(std::string_view what, std::string_view name, std::size_t max);

// Parses [tcp://|rdma://]pool/volume. The error message says which rule the
// input broke, without repeating the input (callers quote it).
Result<VolumeUrl> parse_volume_url(std::string_view url);

}  // namespace qbd
