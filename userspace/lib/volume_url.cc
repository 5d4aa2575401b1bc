#include "volume_url.h"

#include <cctype>

namespace qbd {

const char *transport_name(Transport t)
{
	return t == Transport::rdma ? "rdma" : "tcp";
}

static bool name_char_ok(char c)
{
	return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

static std::string describe_char(char c)
{
	auto u = static_cast<unsigned char>(c);
	if (std::isprint(u))
		return "'" + std::string(1, c) + "'";
	static const char hex[] = "0123456789abcdef";
	return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
}

Status check_volume_part(std::string_view what, std::string_view name, std::size_t max)
{
	std::string w(what);
	if (name.empty())
		return make_error(EINVAL, "empty " + w + " name");
	if (name.size() > max)
		return make_error(EINVAL, w + " name is " + std::to_string(name.size()) +
					      " characters long, the limit is " + std::to_string(max));
	if (name == "." || name == "..")
		return make_error(EINVAL, w + " name '" + std::string(name) + "' is reserved");
	for (std::size_t i = 0; i < name.size(); i++) {
		if (!name_char_ok(name[i]))
			return make_error(EINVAL, w + " name has " + describe_char(name[i]) +
						      " at position " + std::to_string(i + 1) +
						      "; allowed are A-Z a-z 0-9 . _ -");
	}
	return ok_status();
}

Result<VolumeUrl> parse_volume_url(std::string_view url)
{
	VolumeUrl v;
	std::string_view rest = url;

	if (auto p = rest.find("://"); p != std::string_view::npos) {
		std::string_view scheme = rest.substr(0, p);
		if (scheme == "tcp")
			v.transport = Transport::tcp;
		else if (scheme == "rdma")
			v.transport = Transport::rdma;
		else
			return make_error(EINVAL, "unknown transport '" + std::string(scheme) +
							  "://'; use tcp:// or rdma://");
		v.explicit_transport = true;
		rest.remove_prefix(p + 3);
	}
	if (rest.empty())
		return make_error(EINVAL, "empty volume URL; expected [tcp://|rdma://]POOL/VOLUME");

	auto slash = rest.find('/');
	if (slash == std::string_view::npos)
		return make_error(EINVAL, "no '/' between pool and volume; expected POOL/VOLUME");
	std::string_view pool = rest.substr(0, slash);
	std::string_view vol = rest.substr(slash + 1);
	auto extra = vol.find('/');
	if (extra != std::string_view::npos)
		vol = vol.substr(0, extra);

	// Report the first rule broken from left to right: "pool//v" has an
	// empty volume name rather than one slash too many.
	if (auto st = check_volume_part("pool", pool, kPoolNameMax); !st)
		return st.error();
	if (auto st = check_volume_part("volume", vol, kVolumeNameMax); !st)
		return st.error();
	if (extra != std::string_view::npos)
		return make_error(EINVAL, "more than one '/'; expected exactly POOL/VOLUME");
	v.pool = pool;
	v.volume = vol;
	return v;
}

}  // namespace qbd
