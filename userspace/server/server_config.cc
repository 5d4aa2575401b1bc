#include "server_config.h"

namespace qbd::server {

Result<LogLevel> parse_log_level(std::string_view s)
{
	if (s == "debug") return LogLevel::kDebug;
	if (s == "info") return LogLevel::kInfo;
	if (s == "warn") return LogLevel::kWarn;
	if (s == "error") return LogLevel::kError;
	return make_error(EINVAL, "log level '" + std::string(s) + "' is not debug, info, warn or error");
}

Result<ServerConfigFile> parse_server_config(std::string_view text, std::string_view source,
					     ServerConfigFile cfg)
{
	std::string section;
	unsigned lineno = 0;
	size_t pos = 0;
	bool listen_seen = false;
	while (pos <= text.size()) {
		size_t nl = text.find('\n', pos);
		std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
		pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
		lineno++;
		auto fail = [&](const std::string &why) {
			return make_error(EINVAL, std::string(source) + ":" + std::to_string(lineno) + ": " + why);
		};
		std::string_view line = ini::trim(ini::strip_comment(raw));
		if (line.empty())
			continue;
		if (line.front() == '[') {
			if (line.back() != ']')
				return fail("section header '" + std::string(line) + "' has no closing ']'");
			section = std::string(ini::trim(line.substr(1, line.size() - 2)));
			if (section != "server")
				return fail("unknown section [" + section + "] (known: [server])");
			continue;
		}
		size_t eq = line.find('=');
		if (eq == std::string_view::npos)
			return fail("expected 'key = value', got '" + std::string(line) + "'");
		if (section.empty())
			return fail("key outside of the [server] section");
		std::string key(ini::trim(line.substr(0, eq)));
		std::string_view val = ini::trim(line.substr(eq + 1));
		ServerOptions &o = cfg.opts;
		if (key == "data_dir") {
			if (val.empty())
				return fail("data_dir is empty");
			o.data_dir = std::string(val);
		} else if (key == "listen") {
			if (!listen_seen)
				o.listen.clear();
			listen_seen = true;
			size_t p = 0;
			while (p <= val.size()) {
				size_t c = val.find(',', p);
				std::string_view item = ini::trim(val.substr(p, c == std::string_view::npos ? std::string_view::npos : c - p));
				p = c == std::string_view::npos ? val.size() + 1 : c + 1;
				auto ep = parse_listen(item);
				if (!ep)
					return fail(ep.error().message);
				o.listen.push_back(*ep);
			}
		} else if (key == "max_connections") {
			auto v = ini::parse_u32(val, 1, 1u << 20, key);
			if (!v)
				return fail(v.error().message);
			o.limits.max_connections = *v;
		} else if (key == "max_queue_depth") {
			auto v = ini::parse_u32(val, 1, 4096, key);
			if (!v)
				return fail(v.error().message);
			o.limits.max_queue_depth = *v;
		} else if (key == "max_io") {
			auto v = parse_size(val);
			if (!v)
				return fail(v.error().message);
			if (*v < 512 || *v > QBD_PROTO_MAX_IO || *v % 512)
				return fail("max_io " + std::to_string(*v) + " is not a multiple of 512 in 512..1048576");
			o.limits.max_io = static_cast<uint32_t>(*v);
		} else if (key == "reactors") {
			auto v = ini::parse_u32(val, 0, 256, key);
			if (!v)
				return fail(v.error().message);
			o.reactors = *v;
		} else if (key == "direct_io") {
			if (val == "yes" || val == "true" || val == "1")
				o.direct = true;
			else if (val == "no" || val == "false" || val == "0")
				o.direct = false;
			else
				return fail("direct_io '" + std::string(val) + "' is not yes or no");
		} else if (key == "log_level") {
			auto l = parse_log_level(val);
			if (!l)
				return fail(l.error().message);
			cfg.log_level = *l;
		} else {
			return fail("unknown key '" + key + "' (known: data_dir, listen, max_connections, "
				    "max_queue_depth, max_io, reactors, direct_io, log_level)");
		}
	}
	return cfg;
}

}  // namespace qbd::server
