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
	bool listen_seen = false;
	auto walked = ini::for_each_line(text, source, [&](const ini::Line &l) -> Status {
		auto fail = [](const std::string &why) { return make_error(EINVAL, why); };
		if (l.is_header()) {
			if (l.section != "server")
				return fail("unknown section [" + l.section + "] (known: [server])");
			return ok_status();
		}
		if (l.section.empty())
			return fail("key outside of the [server] section");
		const std::string &key = l.key;
		std::string_view val = l.value;
		ServerOptions &o = cfg.opts;
		if (key == "data_dir") {
			if (val.empty())
				return fail("data_dir is empty");
			o.data_dir = std::string(val);
		} else if (key == "listen") {
			if (!listen_seen) {
				o.listen.clear();
				o.listen_rdma.clear();
			}
			listen_seen = true;
			for (std::string_view item : ini::split_list(val)) {
				auto ep = parse_listen(item);
				if (!ep)
					return fail(ep.error().message);
				add_listen(o, *ep);
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
		} else if (key == "key_file") {
			if (val.empty())
				return fail("key_file is empty");
			cfg.key_file = std::string(val);
		} else {
			return fail("unknown key '" + key + "' (known: data_dir, listen, max_connections, "
				    "max_queue_depth, max_io, reactors, direct_io, log_level, key_file)");
		}
		return ok_status();
	});
	if (!walked)
		return walked.error();
	return cfg;
}

}  // namespace qbd::server
