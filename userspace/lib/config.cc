#include "config.h"

#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>

namespace qbd {

std::string Endpoint::str() const
{
	if (host.find(':') != std::string::npos)
		return "[" + host + "]:" + std::to_string(port);
	return host + ":" + std::to_string(port);
}

static bool valid_host_char(char c)
{
	return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
	       c == ':' || c == '%';
}

static Result<uint16_t> parse_port(std::string_view in, std::string_view p)
{
	if (p.empty())
		return make_error(EINVAL, "invalid endpoint '" + std::string(in) + "': empty port");
	uint32_t v = 0;
	auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
	if (ec != std::errc() || ptr != p.data() + p.size())
		return make_error(EINVAL, "invalid endpoint '" + std::string(in) + "': port '" +
						  std::string(p) + "' is not a number");
	if (v < 1 || v > 65535)
		return make_error(EINVAL, "invalid endpoint '" + std::string(in) + "': port " +
						  std::to_string(v) + " is not in 1..65535");
	return static_cast<uint16_t>(v);
}

Result<Endpoint> parse_endpoint(std::string_view s, uint16_t default_port)
{
	std::string in(s);
	if (s.empty())
		return make_error(EINVAL, "invalid endpoint '': empty address");
	Endpoint ep;
	ep.port = default_port;
	std::string_view host, port;
	bool has_port = false;
	if (s.front() == '[') {
		size_t close = s.find(']');
		if (close == std::string_view::npos)
			return make_error(EINVAL, "invalid endpoint '" + in + "': missing ']'");
		host = s.substr(1, close - 1);
		std::string_view rest = s.substr(close + 1);
		if (!rest.empty()) {
			if (rest.front() != ':')
				return make_error(EINVAL, "invalid endpoint '" + in +
								  "': expected ':PORT' after ']'");
			port = rest.substr(1);
			has_port = true;
		}
		if (host.find(':') == std::string_view::npos)
			return make_error(EINVAL, "invalid endpoint '" + in +
							  "': brackets are only for IPv6 addresses");
	} else {
		size_t first = s.find(':');
		if (first != std::string_view::npos && s.find(':', first + 1) == std::string_view::npos) {
			host = s.substr(0, first);
			port = s.substr(first + 1);
			has_port = true;
		} else {
			host = s;  // no colon, or a bare IPv6 literal
		}
	}
	if (host.empty())
		return make_error(EINVAL, "invalid endpoint '" + in + "': empty host");
	if (host.size() > 253)
		return make_error(EINVAL, "invalid endpoint '" + in + "': host longer than 253 characters");
	for (char c : host)
		if (!valid_host_char(c))
			return make_error(EINVAL, "invalid endpoint '" + in + "': character '" +
							  std::string(1, c) + "' is not allowed in a host");
	if (has_port) {
		auto p = parse_port(s, port);
		if (!p)
			return p.error();
		ep.port = *p;
	} else if (default_port == 0) {
		return make_error(EINVAL, "invalid endpoint '" + in + "': no port given");
	}
	ep.host = std::string(host);
	return ep;
}

Result<uint64_t> parse_size(std::string_view s)
{
	std::string in(s);
	if (s.empty())
		return make_error(EINVAL, "invalid size '': empty");
	uint64_t v = 0;
	auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	if (ptr == s.data())
		return make_error(EINVAL, "invalid size '" + in + "': does not start with a number");
	if (ec == std::errc::result_out_of_range)
		return make_error(ERANGE, "invalid size '" + in + "': number too large");
	std::string_view suf(ptr, s.data() + s.size() - ptr);
	unsigned shift = 0;
	if (!suf.empty()) {
		switch (std::toupper(static_cast<unsigned char>(suf.front()))) {
		case 'K': shift = 10; break;
		case 'M': shift = 20; break;
		case 'G': shift = 30; break;
		case 'T': shift = 40; break;
		case 'B':
			if (suf.size() == 1)
				return v;
			[[fallthrough]];
		default:
			return make_error(EINVAL, "invalid size '" + in + "': unknown suffix '" +
							  std::string(suf) + "' (use K, M, G or T)");
		}
		std::string_view tail = suf.substr(1);
		if (!(tail.empty() || tail == "B" || tail == "b" || tail == "iB" || tail == "ib"))
			return make_error(EINVAL, "invalid size '" + in + "': unknown suffix '" +
							  std::string(suf) + "' (use K, M, G or T)");
	}
	if (shift && v > (UINT64_MAX >> shift))
		return make_error(ERANGE, "invalid size '" + in + "': larger than 2^64-1 bytes");
	return v << shift;
}

namespace ini {

std::string_view trim(std::string_view s)
{
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
		s.remove_prefix(1);
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
		s.remove_suffix(1);
	return s;
}

std::string_view strip_comment(std::string_view s)
{
	size_t pos = s.find_first_of("#;");
	return pos == std::string_view::npos ? s : s.substr(0, pos);
}

Result<uint32_t> parse_u32(std::string_view s, uint32_t min, uint32_t max, std::string_view what)
{
	uint64_t v = 0;
	auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
	if (s.empty() || ec != std::errc() || ptr != s.data() + s.size())
		return make_error(EINVAL, std::string(what) + " '" + std::string(s) +
						  "' is not a number");
	if (v < min || v > max)
		return make_error(ERANGE, std::string(what) + " " + std::to_string(v) +
						  " is not in " + std::to_string(min) + ".." +
						  std::to_string(max));
	return static_cast<uint32_t>(v);
}

Status for_each_line(std::string_view text, std::string_view source,
		     const std::function<Status(const Line &)> &on_line)
{
	Line l;
	size_t pos = 0;
	while (pos <= text.size()) {
		size_t nl = text.find('\n', pos);
		std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
		pos = (nl == std::string_view::npos) ? text.size() + 1 : nl + 1;
		l.number++;
		auto fail = [&](const std::string &why) {
			return make_error(EINVAL, std::string(source) + ":" + std::to_string(l.number) + ": " + why);
		};
		std::string_view line = trim(strip_comment(raw));
		if (line.empty())
			continue;
		if (line.front() == '[') {
			if (line.back() != ']')
				return fail("section header '" + std::string(line) + "' has no closing ']'");
			l.section = std::string(trim(line.substr(1, line.size() - 2)));
			if (l.section.empty())
				return fail("empty section name");
			l.key.clear();
			l.value = {};
		} else {
			size_t eq = line.find('=');
			if (eq == std::string_view::npos)
				return fail("expected 'key = value', got '" + std::string(line) + "'");
			l.key = std::string(trim(line.substr(0, eq)));
			l.value = trim(line.substr(eq + 1));
			if (l.key.empty())
				return fail("empty key before '='");
		}
		if (auto st = on_line(l); !st)
			return fail(st.error().message);
	}
	return ok_status();
}

std::vector<std::string_view> split_list(std::string_view s)
{
	std::vector<std::string_view> items;
	size_t p = 0;
	while (p <= s.size()) {
		size_t c = s.find(',', p);
		items.push_back(trim(s.substr(p, c == std::string_view::npos ? std::string_view::npos : c - p)));
		p = (c == std::string_view::npos) ? s.size() + 1 : c + 1;
	}
	return items;
}

}  // namespace ini

Result<bool> parse_on_off(std::string_view v)
{
	if (v == "on" || v == "yes" || v == "true" || v == "1")
		return true;
	if (v == "off" || v == "no" || v == "false" || v == "0")
		return false;
	return make_error(EINVAL, "expected on or off (yes/no, true/false, 1/0)");
}

Result<ClientConfig> parse_client_config(std::string_view text, std::string_view source)
{
	ClientConfig cfg;
	auto walked = ini::for_each_line(text, source, [&](const ini::Line &l) -> Status {
		auto fail = [](const std::string &why) { return make_error(EINVAL, why); };
		if (l.is_header())
			return ok_status();
		const std::string &section = l.section, &key = l.key;
		std::string_view val = l.value;
		if (section.empty())
			return fail("key '" + key + "' outside of a section ([cluster] or [client])");
		if (section == "cluster") {
			if (key == "servers") {
				if (val.empty())
					return fail("servers: empty list");
				cfg.servers.clear();
				for (std::string_view item : ini::split_list(val)) {
					if (item.empty())
						return fail("servers: empty entry in '" + std::string(val) + "'");
					auto ep = parse_endpoint(item, 7000);
					if (!ep)
						return fail("servers: " + ep.error().message);
					if (cfg.servers.size() >= kMaxServers)
						return fail("servers: more than " + std::to_string(kMaxServers) + " servers");
					cfg.servers.push_back(*ep);
				}
			} else if (key == "zookeeper") {
				// cluster mode is not implemented yet; accepted and ignored
			} else {
				return fail("unknown key '" + key + "' in [cluster] (known: servers, zookeeper)");
			}
			return ok_status();
		}
		if (section == "client") {
			if (key == "key_file") {
				if (val.empty())
					return fail("key_file is empty");
				cfg.key_file = std::string(val);
				return ok_status();
			}
			if (key == "digest") {
				auto b = parse_on_off(val);
				if (!b)
					return fail("digest = " + std::string(val) + ": " + b.error().message);
				cfg.digest = *b;
				return ok_status();
			}
			uint32_t *dst = nullptr;
			uint32_t min = 1, max = kMaxTimeoutSec;
			if (key == "io_depth") {
				dst = &cfg.io_depth;
				min = kMinIoDepth;
				max = kMaxIoDepth;
			} else if (key == "io_timeout") {
				dst = &cfg.io_timeout;
			} else if (key == "conn_timeout") {
				dst = &cfg.conn_timeout;
			} else if (key == "heartbeat_interval") {
				dst = &cfg.heartbeat_interval;
			} else if (key == "heartbeat_timeout") {
				dst = &cfg.heartbeat_timeout;
			} else {
				return fail("unknown key '" + key + "' in [client] (known: io_depth, io_timeout, "
					    "conn_timeout, heartbeat_interval, heartbeat_timeout, key_file, digest)");
			}
			auto v = ini::parse_u32(val, min, max, key);
			if (!v)
				return fail(v.error().message);
			*dst = *v;
			return ok_status();
		}
		// Other sections belong to other tools or later versions.
		return ok_status();
	});
	if (!walked)
		return walked.error();
	if (cfg.heartbeat_timeout < cfg.heartbeat_interval)
		return make_error(EINVAL, std::string(source) + ": heartbeat_timeout " +
						  std::to_string(cfg.heartbeat_timeout) +
						  " is shorter than heartbeat_interval " +
						  std::to_string(cfg.heartbeat_interval));
	return cfg;
}

Result<ClientConfig> load_client_config(const std::string &path, bool must_exist)
{
	std::ifstream f(path);
	if (!f) {
		int err = errno;
		if (err == ENOENT && !must_exist)
			return ClientConfig{};
		return make_error(err ? err : EIO, "cannot read config '" + path + "': " + std::strerror(err));
	}
	std::stringstream ss;
	ss << f.rdbuf();
	if (f.bad())
		return make_error(EIO, "cannot read config '" + path + "'");
	return parse_client_config(ss.str(), path);
}

}  // namespace qbd
