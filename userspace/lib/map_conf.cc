#include "map_conf.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "config.h"

namespace qbd {

static std::vector<std::string_view> split_words(std::string_view s)
{
	std::vector<std::string_view> w;
	size_t i = 0;
	while (i < s.size()) {
		while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
			i++;
		size_t b = i;
		while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			i++;
		if (i > b)
			w.push_back(s.substr(b, i - b));
	}
	return w;
}

static Result<uint64_t> parse_limit(std::string_view what, std::string_view v, bool bytes)
{
	if (bytes) {
		auto n = parse_size(v);
		if (!n)
			return make_error(EINVAL, std::string(what) + " '" + std::string(v) +
							  "': " + n.error().message);
		return *n;
	}
	uint64_t n = 0;
	for (char c : v) {
		if (c < '0' || c > '9')
			return make_error(EINVAL, std::string(what) + " '" + std::string(v) +
							  "' is not a non-negative integer");
		uint64_t d = static_cast<uint64_t>(c - '0');
		if (n > (UINT64_MAX - d) / 10)
			return make_error(EINVAL, std::string(what) + " '" + std::string(v) +
							  "' is too large");
		n = n * 10 + d;
	}
	return n;
}

static Result<MapConfEntry> parse_line(std::string_view line)
{
	auto words = split_words(line);
	MapConfEntry e;
	e.text = std::string(words[0]);
	auto url = parse_volume_url(words[0]);
	if (!url)
		return make_error(EINVAL, "invalid volume '" + e.text + "': " + url.error().message);
	e.url = *url;
	size_t rest = words.size() - 1;
	size_t first_limit = 1;
	if (rest == 1 || rest == 5) {
		std::string_view c = words[1];
		if (c != "-") {
			if (c[0] != '/')
				return make_error(EINVAL, "config '" + std::string(c) +
								  "' is not an absolute path (or '-' "
								  "for the default)");
			e.config = std::string(c);
		}
		first_limit = 2;
	} else if (rest != 0 && rest != 4) {
		return make_error(EINVAL, std::to_string(words.size()) +
						  " fields; expected VOLUME [CONFIG] [READ_BPS "
						  "WRITE_BPS READ_IOPS WRITE_IOPS]");
	}
	if (rest >= 4) {
		static const char *names[] = {"read_bps", "write_bps", "read_iops", "write_iops"};
		uint64_t v[4];
		for (int i = 0; i < 4; i++) {
			auto n = parse_limit(names[i], words[first_limit + i], i < 2);
			if (!n)
				return n.error();
			v[i] = *n;
		}
		e.limits = MapLimits{v[0], v[1], v[2], v[3]};
	}
	return e;
}

MapConf parse_map_conf(std::string_view text, std::string_view source)
{
	MapConf mc;
	unsigned lineno = 0;
	size_t pos = 0;
	while (pos < text.size()) {
		auto nl = text.find('\n', pos);
		std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
		pos = nl == std::string_view::npos ? text.size() : nl + 1;
		lineno++;
		if (auto hash = line.find('#'); hash != std::string_view::npos)
			line = line.substr(0, hash);
		if (split_words(line).empty())
			continue;
		auto where = std::string(source) + ":" + std::to_string(lineno) + ": ";
		auto e = parse_line(line);
		if (!e) {
			mc.errors.push_back(where + e.error().message);
			continue;
		}
		e->line = lineno;
		bool dup = false;
		for (const auto &prev : mc.entries) {
			if (prev.url.name() == e->url.name()) {
				mc.errors.push_back(where + "volume '" + e->url.name() +
						    "' is already listed on line " +
						    std::to_string(prev.line));
				dup = true;
				break;
			}
		}
		if (!dup)
			mc.entries.push_back(std::move(*e));
	}
	return mc;
}

Result<MapConf> load_map_conf(const std::string &path)
{
	std::ifstream f(path);
	if (!f)
		return make_error(errno ? errno : ENOENT, "cannot read map file '" + path +
								  "': " + std::strerror(errno ? errno : ENOENT));
	std::stringstream ss;
	ss << f.rdbuf();
	if (f.bad())
		return make_error(EIO, "cannot read map file '" + path + "'");
	return parse_map_conf(ss.str(), path);
}

}  // namespace qbd
