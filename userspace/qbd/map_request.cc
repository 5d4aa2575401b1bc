#include "map_request.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <memory>
#include <string>

namespace qbd::cli {

static uint32_t seconds_to_ms(uint32_t s)
{
	// config.h caps timeouts at kMaxTimeoutSec (a day), far below 2^32 ms.
	return s * 1000u;
}

Result<qbd_map> build_map_request(const MapInput &in)
{
	const VolumeInfo &v = in.volume;
	std::string name = in.url.name();

	if (auto st = check_volume_part("pool", in.url.pool, kPoolNameMax); !st)
		return st.error();
	if (auto st = check_volume_part("volume", in.url.volume, kVolumeNameMax); !st)
		return st.error();
	if (v.block_size != 512 && v.block_size != 4096)
		return make_error(EINVAL, "server reports block size " +
						  std::to_string(v.block_size) + " for " + name +
						  "; the module supports 512 and 4096");
	if (v.size == 0 || v.size % v.block_size)
		return make_error(EINVAL, "server reports size " + std::to_string(v.size) +
						  " for " + name +
						  ", not a non-zero multiple of the block size " +
						  std::to_string(v.block_size));
	if (v.shard_size < (1ull << 20) || (v.shard_size & (v.shard_size - 1)))
		return make_error(EINVAL, "server reports shard size " +
						  std::to_string(v.shard_size) + " for " + name +
						  ", not a power of two >= 1 MiB");
	if (in.servers.empty() || in.servers.size() > QBD_MAX_SERVERS)
		return make_error(EINVAL, std::to_string(in.servers.size()) +
						  " servers for " + name + "; the module takes 1.." +
						  std::to_string(QBD_MAX_SERVERS));
	if (in.config.io_depth < QBD_MIN_IO_DEPTH || in.config.io_depth > QBD_MAX_IO_DEPTH)
		return make_error(EINVAL, "io_depth " + std::to_string(in.config.io_depth) +
						  " is outside 1.." +
						  std::to_string(QBD_MAX_IO_DEPTH));

	qbd_map m = make_map_struct();
	m.hdr.flags = in.readonly ? QBD_MAP_F_READONLY : 0;
	if (in.config.digest)
		m.hdr.flags |= QBD_MAP_F_DIGEST;
	std::memcpy(m.pool, in.url.pool.data(), in.url.pool.size());
	std::memcpy(m.volume, in.url.volume.data(), in.url.volume.size());
	m.vol_id = v.vol_id;
	m.size = v.size;
	m.block_size = v.block_size;
	m.layout_version = v.layout_version;
	m.shard_size = v.shard_size;
	m.transport = in.url.transport == Transport::rdma ? QBD_TRANSPORT_RDMA
							  : QBD_TRANSPORT_TCP;
	m.nr_servers = static_cast<uint32_t>(in.servers.size());
	for (size_t i = 0; i < in.servers.size(); i++) {
		const qbd_server_addr &a = in.servers[i];
		if (a.family != AF_INET && a.family != AF_INET6)
			return make_error(EINVAL, "server " + std::to_string(i) +
							  " has address family " +
							  std::to_string(a.family) +
							  "; only IPv4 and IPv6 are supported");
		if (a.port == 0)
			return make_error(EINVAL, "server " + std::to_string(i) + " has port 0");
		m.servers[i] = a;
	}
	m.nr_queues = in.options.nr_queues.value_or(0);
	m.io_depth = in.config.io_depth;
	m.io_timeout_ms = seconds_to_ms(in.config.io_timeout);
	m.conn_timeout_ms = seconds_to_ms(in.config.conn_timeout);
	m.hb_interval_ms = seconds_to_ms(in.config.heartbeat_interval);
	m.hb_timeout_ms = seconds_to_ms(in.config.heartbeat_timeout);
	m.read_bps = in.options.read_bps;
	m.write_bps = in.options.write_bps;
	m.read_iops = in.options.read_iops;
	m.write_iops = in.options.write_iops;
	if (in.key) {
		m.key_len = static_cast<uint32_t>(in.key->size());
		std::memcpy(m.key, in.key->data(), in.key->size());
	}
	return m;
}

Result<qbd_server_addr> resolve_server(const Endpoint &ep, uint16_t port)
{
	uint16_t p = port ? port : ep.port;
	addrinfo hints{};
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	addrinfo *res = nullptr;
	std::string service = std::to_string(p);
	int rc = getaddrinfo(ep.host.c_str(), service.c_str(), &hints, &res);
	if (rc == EAI_NONAME || rc == EAI_ADDRFAMILY) {
		// AI_ADDRCONFIG hides ::1 on a host with only loopback IPv6; retry
		// without it before giving up.
		hints.ai_flags = 0;
		rc = getaddrinfo(ep.host.c_str(), service.c_str(), &hints, &res);
	}
	if (rc != 0)
		return make_error(EHOSTUNREACH, "cannot resolve server '" + ep.host +
							"': " + gai_strerror(rc));
	std::unique_ptr<addrinfo, void (*)(addrinfo *)> guard(res, freeaddrinfo);

	for (addrinfo *ai = res; ai; ai = ai->ai_next) {
		qbd_server_addr a;
		std::memset(&a, 0, sizeof(a));
		a.port = p;
		if (ai->ai_family == AF_INET) {
			auto *sin = reinterpret_cast<const sockaddr_in *>(ai->ai_addr);
			a.family = AF_INET;
			std::memcpy(a.addr, &sin->sin_addr, 4);
			return a;
		}
		if (ai->ai_family == AF_INET6) {
			auto *sin6 = reinterpret_cast<const sockaddr_in6 *>(ai->ai_addr);
			a.family = AF_INET6;
			std::memcpy(a.addr, &sin6->sin6_addr, 16);
			return a;
		}
	}
	return make_error(EHOSTUNREACH, "server '" + ep.host + "' has no IPv4 or IPv6 address");
}

}  // namespace qbd::cli
