// qbd-server: serves volumes in a data directory over TCP.
#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <sstream>

#include "log.h"
#include "server.h"
#include "server_config.h"
#include "version.h"

using namespace qbd;
using namespace qbd::server;

static int fail(const std::string &msg)
{
	fprintf(stderr, "qbd-server: %s\n", msg.c_str());
	return 1;
}

int main(int argc, char **argv)
{
	CLI::App app{"qbd-server: serves qbd volumes from a data directory over TCP"};
	std::string config_path, data_dir, log_level, max_io, key_file;
	std::vector<std::string> listen;
	uint32_t max_conns = 0, max_qd = 0, reactors = 0, rdma_workers = 0, rdma_poll_us = 0;
	bool no_direct = false, show_version = false, no_digest = false, no_inline = false;
	app.add_option("-c,--config", config_path,
		       std::string("configuration file (default ") + kDefaultServerConfig + " when present)");
	app.add_option("-d,--data-dir", data_dir, "directory with the catalog and the volume files");
	app.add_option("-l,--listen", listen, "tcp://ADDR[:PORT] or rdma://ADDR[:PORT] to listen on (repeatable; ports 7000, 7001)");
	app.add_option("--max-connections", max_conns, "most connections open at once (1024)")
		->check(CLI::Range(1u, 1u << 20));
	app.add_option("--max-queue-depth", max_qd, "most requests in flight per connection (128)")
		->check(CLI::Range(1u, 4096u));
	app.add_option("--max-io", max_io, "largest READ/WRITE accepted, 512..1M (1M)");
	app.add_option("--reactors", reactors, "reactor threads (0: one per CPU, each pinned to its CPU and serving the connections whose packets arrive there; N: N unpinned, round-robin)")->check(CLI::Range(0u, 256u));
	app.add_option("--rdma-workers", rdma_workers, "RDMA worker threads (0, the default: placed as the reactors, each QP on the worker of the CPU the client posts from; N: N unpinned)")->check(CLI::Range(0u, 256u));
	app.add_option("--rdma-poll-us", rdma_poll_us, "RDMA workers poll for completions this many microseconds after the last work before sleeping, a CPU busy meanwhile (0: sleep at once; up to 100000)")->check(CLI::Range(0u, 100000u));
	app.add_flag("--no-direct-io", no_direct, "never use O_DIRECT on volume files");
	app.add_flag("--no-digest", no_digest,
		     "never grant the CRC32C data digest (clients asking for it cannot map)");
	app.add_flag("--no-rdma-inline", no_inline,
		     "RDMA: never take WRITE data inline in the request SEND (every WRITE is pulled with RDMA READ)");
	app.add_option("--log-level", log_level, "debug, info, warn or error (info)");
	app.add_option("--key-file", key_file,
		       "shared-secret key file (mode 0600, one line of hex): clients must authenticate");
	app.add_flag("-v,--version", show_version, "print the version and exit");
	CLI11_PARSE(app, argc, argv);
	if (show_version) {
		printf("qbd-server %s\n", qbd::version());
		return 0;
	}

	ServerConfigFile cfg;
	cfg.opts.listen = {Endpoint{"0.0.0.0", QBD_DEFAULT_TCP_PORT}};
	std::string path = config_path.empty() ? kDefaultServerConfig : config_path;
	std::ifstream f(path);
	if (f) {
		std::stringstream ss;
		ss << f.rdbuf();
		auto parsed = parse_server_config(ss.str(), path, cfg);
		if (!parsed)
			return fail(parsed.error().message);
		cfg = std::move(*parsed);
	} else if (!config_path.empty()) {
		return fail("cannot read config '" + config_path + "': " + strerror(errno));
	}
	// Flags win over the file.
	ServerOptions &o = cfg.opts;
	if (!data_dir.empty())
		o.data_dir = data_dir;
	if (!listen.empty()) {
		o.listen.clear();
		o.listen_rdma.clear();
		for (auto &l : listen) {
			auto ep = parse_listen(l);
			if (!ep)
				return fail(ep.error().message);
			add_listen(o, *ep);
		}
	}
	if (app.count("--max-connections"))
		o.limits.max_connections = max_conns;
	if (app.count("--max-queue-depth"))
		o.limits.max_queue_depth = max_qd;
	if (app.count("--max-io")) {
		auto v = parse_size(max_io);
		if (!v)
			return fail("--max-io: " + v.error().message);
		if (*v < 512 || *v > QBD_PROTO_MAX_IO || *v % 512)
			return fail("--max-io " + std::to_string(*v) + " is not a multiple of 512 in 512..1048576");
		o.limits.max_io = static_cast<uint32_t>(*v);
	}
	if (app.count("--reactors"))
		o.reactors = reactors;
	o.rdma_workers = rdma_workers;
	o.rdma_poll_us = rdma_poll_us;
	if (no_digest)
		o.limits.data_digest = false;
	if (no_inline)
		o.limits.rdma_inline = 0;
	if (no_direct)
		o.direct = false;
	if (!log_level.empty()) {
		auto l = parse_log_level(log_level);
		if (!l)
			return fail("--log-level: " + l.error().message);
		cfg.log_level = *l;
	}
	log_set_level(cfg.log_level);
	if (!key_file.empty())
		cfg.key_file = key_file;
	if (!cfg.key_file.empty()) {
		auto k = load_key_file(cfg.key_file);
		if (!k)
			return fail(k.error().message);
		o.key = std::make_shared<const Key>(std::move(*k));
	}
	if (o.data_dir.empty())
		return fail("no data directory: give --data-dir DIR or data_dir in " + path);

	// SIGINT/SIGTERM go to sigwait() below, not to the reactors.
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
	signal(SIGPIPE, SIG_IGN);

	LOG_INFO("qbd-server %s starting, data dir %s, authentication %s", qbd::version(),
		 o.data_dir.c_str(), o.key ? "required (key_file)" : "off (no key_file)");
	// Request buffers (up to max_io) stay on the heap and are reused: above
	// glibc's default 128 KiB threshold each one was an mmap, page faults
	// and a munmap, 19x the CPU per 128k READ (docs/benchmarks.md).
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	auto srv = Server::start(o);
	if (!srv)
		return fail(srv.error().message);
	int sig = 0;
	sigwait(&sigs, &sig);
	LOG_INFO("%s: draining in-flight IO and stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	(*srv)->stop();
	return 0;
}
