// qbdadm: volume administration against the qbd servers.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <ctime>

#include "admin_client.h"
#include "config.h"
#include "proto.h"
#include "version.h"

using namespace qbd;

namespace {

struct Opts {
	std::string config, server, target, size, key_file, shard_size;
	uint32_t block_size = 4096;
	bool force = false, json = false;
};

std::string json_escape(const std::string &s)
{
	std::string o;
	for (char c : s) {
		if (c == '"' || c == '\\')
			o += '\\';
		o += c;  // names are [A-Za-z0-9._-]; messages are plain text
	}
	return o;
}

int fail(const std::string &cmd, const std::string &msg, bool json)
{
	if (json)
		printf("{\"error\": {\"command\": \"%s\", \"message\": \"%s\"}}\n", cmd.c_str(),
		       json_escape(msg).c_str());
	fprintf(stderr, "qbdadm: %s: %s\n", cmd.c_str(), msg.c_str());
	return 1;
}

Result<std::pair<std::string, std::string>> split_target(const std::string &t)
{
	size_t slash = t.find('/');
	if (slash == std::string::npos)
		return make_error(EINVAL, "invalid volume '" + t + "': expected POOL/VOLUME");
	std::string pool = t.substr(0, slash), vol = t.substr(slash + 1);
	if (auto s = check_pool_name(pool); !s)
		return make_error(EINVAL, "invalid volume '" + t + "': " + s.error().message);
	if (auto s = check_volume_name(vol); !s)
		return make_error(EINVAL, "invalid volume '" + t + "': " + s.error().message);
	return std::make_pair(pool, vol);
}

std::string human(uint64_t b)
{
	static const char *u[] = {"B", "K", "M", "G", "T", "P"};
	int i = 0;
	double v = static_cast<double>(b);
	while (v >= 1024 && i < 5 && b % 1024 == 0) {
		v /= 1024;
		b /= 1024;
		i++;
	}
	char buf[32];
	snprintf(buf, sizeof(buf), "%llu%s", (unsigned long long)b, u[i]);
	return buf;
}

std::string vol_json(const VolumeInfo &v)
{
	char buf[768];
	snprintf(buf, sizeof(buf),
		 "{\"pool\": \"%s\", \"volume\": \"%s\", \"vol_id\": %llu, \"size\": %llu, "
		 "\"block_size\": %u, \"shard_size\": %llu, \"layout_version\": %u, \"created\": %llu, "
		 "\"open_count\": %u}",
		 v.pool.c_str(), v.volume.c_str(), (unsigned long long)v.vol_id, (unsigned long long)v.size,
		 v.block_size, (unsigned long long)v.shard_size, v.layout_version,
		 (unsigned long long)v.created, v.open_count);
	return buf;
}

std::string time_str(uint64_t t)
{
	time_t tt = static_cast<time_t>(t);
	struct tm tm;
	gmtime_r(&tt, &tm);
	char buf[32];
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

void print_info(const VolumeInfo &v)
{
	printf("volume:         %s/%s\n", v.pool.c_str(), v.volume.c_str());
	printf("id:             %llu\n", (unsigned long long)v.vol_id);
	printf("size:           %llu (%s)\n", (unsigned long long)v.size, human(v.size).c_str());
	printf("block size:     %u\n", v.block_size);
	printf("shard size:     %llu (%s)\n", (unsigned long long)v.shard_size, human(v.shard_size).c_str());
	printf("layout version: %u\n", v.layout_version);
	printf("created:        %s\n", time_str(v.created).c_str());
	printf("open:           %u\n", v.open_count);
}

// The server to talk to: --server, else the first of [cluster] servers.
Result<AdminClient> connect(const Opts &o)
{
	// The configuration gives the key_file even with --server.
	auto cfg = load_client_config(o.config.empty() ? kDefaultClientConfig : o.config,
				      !o.config.empty());
	if (!cfg)
		return cfg.error();
	Endpoint ep = cfg->servers.front();
	std::chrono::milliseconds timeout = std::chrono::seconds(cfg->conn_timeout);
	if (!o.server.empty()) {
		auto e = parse_endpoint(o.server, QBD_DEFAULT_TCP_PORT);
		if (!e)
			return make_error(EINVAL, "--server: " + e.error().message);
		ep = *e;
	}
	if (!o.key_file.empty())
		cfg->key_file = o.key_file;
	auto key = load_client_key(*cfg);
	if (!key)
		return key.error();
	// One server for now: every server of a cluster sees the same catalog
	// once clustering exists.
	return AdminClient::connect(ep, timeout, *key);
}

}  // namespace

int main(int argc, char **argv)
{
	CLI::App app{"qbdadm: create, delete, list, inspect, resize and relayout qbd volumes"};
	app.require_subcommand(1);
	Opts o;
	app.add_option("-c,--config", o.config, std::string("client configuration (default ") +
							  kDefaultClientConfig + ")");
	app.add_option("-s,--server", o.server, "HOST[:PORT] of the server (overrides the configuration)");
	app.add_option("-k,--key-file", o.key_file,
		       "key file (mode 0600) to authenticate with (overrides key_file in the configuration)");
	app.set_version_flag("-v,--version", std::string("qbdadm ") + qbd::version());

	auto *create = app.add_subcommand("create", "create a volume");
	create->add_option("volume", o.target, "POOL/VOLUME")->required();
	create->add_option("--size", o.size, "size, with K/M/G/T suffixes")->required();
	create->add_option("--block-size", o.block_size, "logical block size")
		->check(CLI::IsMember({512, 4096}));
	create->add_option("--shard-size", o.shard_size,
			   "shard size, a power of two from 1M to 1T (default 1G)");
	create->add_flag("--json", o.json, "JSON output");

	auto *del = app.add_subcommand("delete", "delete a volume");
	del->add_option("volume", o.target, "POOL/VOLUME")->required();
	del->add_flag("-f,--force", o.force, "delete even while clients have it open");

	auto *list = app.add_subcommand("list", "list volumes");
	list->add_option("pool", o.target, "only this pool");
	list->add_flag("--json", o.json, "JSON output");

	auto *info = app.add_subcommand("info", "show a volume");
	info->add_option("volume", o.target, "POOL/VOLUME")->required();
	info->add_flag("--json", o.json, "JSON output");

	auto *resize = app.add_subcommand("resize", "grow a volume");
	resize->add_option("volume", o.target, "POOL/VOLUME")->required();
	resize->add_option("--size", o.size, "new size (larger than the current one)")->required();
	resize->add_flag("--json", o.json, "JSON output");

	auto *relayout = app.add_subcommand(
		"relayout", "bump a volume's layout version: clients still on the old one get "
			    "STALE_LAYOUT and remap (qbd --watch)");
	relayout->add_option("volume", o.target, "POOL/VOLUME")->required();
	relayout->add_flag("--json", o.json, "JSON output");

	CLI11_PARSE(app, argc, argv);
	std::string cmd = app.get_subcommands().front()->get_name();

	std::pair<std::string, std::string> pv;
	if (cmd != "list") {
		auto t = split_target(o.target);
		if (!t)
			return fail(cmd, t.error().message, o.json);
		pv = *t;
	} else if (!o.target.empty()) {
		if (auto s = check_pool_name(o.target); !s)
			return fail(cmd, "invalid pool '" + o.target + "': " + s.error().message, o.json);
	}
	uint64_t size = 0;
	if (!o.size.empty()) {
		auto s = parse_size(o.size);
		if (!s)
			return fail(cmd, s.error().message, o.json);
		size = *s;
		if (size == 0)
			return fail(cmd, "invalid size '" + o.size + "': must be larger than 0", o.json);
	}
	uint64_t shard_size = 0;  // the server's default
	if (!o.shard_size.empty()) {
		auto s = parse_size(o.shard_size);
		if (!s)
			return fail(cmd, s.error().message, o.json);
		shard_size = *s;
		if (shard_size < (1ull << 20) || shard_size > (1ull << 40) || (shard_size & (shard_size - 1)))
			return fail(cmd, "invalid shard size '" + o.shard_size + "': a power of two from 1M to 1T",
				    o.json);
	}
	auto cli = connect(o);
	if (!cli)
		return fail(cmd, cli.error().message, o.json);

	if (cmd == "relayout") {
		auto r = cli->relayout(pv.first, pv.second);
		if (!r)
			return fail(cmd, pv.first + "/" + pv.second + ": " + r.error().message, o.json);
		if (o.json)
			printf("%s\n", vol_json(*r).c_str());
		else
			printf("relayout %s/%s: layout version %u\n", r->pool.c_str(), r->volume.c_str(),
			       r->layout_version);
		return 0;
	}
	if (cmd == "create" || cmd == "info" || cmd == "resize") {
		Result<VolumeInfo> r = cmd == "create" ? cli->create(pv.first, pv.second, size, o.block_size, shard_size)
				       : cmd == "info" ? cli->info(pv.first, pv.second)
						       : cli->resize(pv.first, pv.second, size);
		if (!r)
			return fail(cmd, pv.first + "/" + pv.second + ": " + r.error().message, o.json);
		if (o.json)
			printf("%s\n", vol_json(*r).c_str());
		else if (cmd == "info")
			print_info(*r);
		else
			printf("%s %s/%s: size %llu (%s), block size %u, id %llu\n",
			       cmd == "create" ? "created" : "resized", r->pool.c_str(), r->volume.c_str(),
			       (unsigned long long)r->size, human(r->size).c_str(), r->block_size,
			       (unsigned long long)r->vol_id);
		return 0;
	}
	if (cmd == "delete") {
		auto s = cli->remove(pv.first, pv.second, o.force);
		if (!s)
			return fail(cmd, pv.first + "/" + pv.second + ": " + s.error().message, o.json);
		printf("deleted %s/%s\n", pv.first.c_str(), pv.second.c_str());
		return 0;
	}
	auto l = cli->list(o.target);
	if (!l)
		return fail(cmd, l.error().message, o.json);
	if (o.json) {
		printf("[");
		for (size_t i = 0; i < l->size(); i++)
			printf("%s%s", i ? ", " : "", vol_json((*l)[i]).c_str());
		printf("]\n");
		return 0;
	}
	printf("%-40s %8s %14s %6s %10s %5s\n", "VOLUME", "ID", "SIZE", "BLOCK", "SHARD", "OPEN");
	for (auto &v : *l)
		printf("%-40s %8llu %14s %6u %10s %5u\n", (v.pool + "/" + v.volume).c_str(),
		       (unsigned long long)v.vol_id, human(v.size).c_str(), v.block_size,
		       human(v.shard_size).c_str(), v.open_count);
	return 0;
}
