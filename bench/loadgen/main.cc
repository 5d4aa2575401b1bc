// qbd-loadgen: benchmark qbd-server alone over TCP or RDMA (see loadgen.h).
//
//   qbd-loadgen --server [tcp://|rdma://]ADDR[:PORT] --volume bench/native
//               --connections 8 --queue-depth 4 --rw randread --bs 4k
//               --runtime 10 --ramp 1 [--json]
//   qbd-loadgen --server rdma://10.0.0.1 --volume p/v --verify --bs 4k-1M
//               --connections 4 --queue-depth 16 [--span 64M] [--seed N]
//   qbd-loadgen --server rdma://10.0.0.1 --volume p/v --hostile
#include <CLI/CLI.hpp>
#include <cstdio>

#include "loadgen.h"
#include "qbd_proto.h"

using namespace qbd;
using namespace qbd::loadgen;

static int fail(const std::string &msg)
{
	fprintf(stderr, "qbd-loadgen: %s\n", msg.c_str());
	return 1;
}

int main(int argc, char **argv)
{
	CLI::App app{"qbd-loadgen: drive qbd-server with N connections x QD requests in flight"};
	Options o;
	std::string server = "127.0.0.1:7000", volume = "bench/native", rw = "randread", bs = "4k";
	bool json = false, do_verify = false, do_hostile = false;
	std::string span = "0";
	app.add_option("-s,--server", server,
		       "[tcp://|rdma://]ADDR[:PORT] of qbd-server (127.0.0.1:7000; rdma:// port 7001)");
	app.add_option("--source", o.source, "rdma://: local ADDR to connect from (default: any)");
	app.add_option("-V,--volume", volume, "POOL/VOLUME, opened with a hello on every connection");
	app.add_option("-c,--connections", o.connections, "TCP connections, 1..4096 (1)")
		->check(CLI::Range(1u, 4096u));
	app.add_option("-q,--queue-depth", o.queue_depth, "requests in flight per connection, 1..4096 (1)")
		->check(CLI::Range(1u, 4096u));
	app.add_option("--rw", rw, "randread, randwrite, read or write (randread)");
	app.add_option("--bs", bs,
		       "request size, a multiple of 512 up to 1M (4k); --verify: MIN-MAX, powers of two");
	app.add_flag("--verify", do_verify,
		     "write a pattern over the span with mixed sizes, read it back, compare; exit 1 on "
		     "any mismatch");
	app.add_option("--span", span, "--verify: bytes of the volume covered (0: all)");
	app.add_option("--seed", o.seed, "--verify: pattern seed (1)");
	app.add_flag("--read-only", o.read_only,
		     "--verify: only read back and compare bytes an earlier --verify wrote (same --seed)");
	app.add_flag("--hostile", do_hostile,
		     "rdma:// only: break the protocol one way per connection; exit 1 unless the server "
		     "disconnects each");
	app.add_option("-t,--runtime", o.runtime_s, "seconds measured (10)")->check(CLI::Range(0.1, 86400.0));
	app.add_option("--ramp", o.ramp_s, "seconds run before measuring (1)")->check(CLI::Range(0.0, 3600.0));
	app.add_flag("--json", json, "print one JSON object instead of a line of text");
	CLI11_PARSE(app, argc, argv);

	std::string_view addr = server;
	if (addr.substr(0, 7) == "rdma://") {
		o.transport = Transport::rdma;
		addr.remove_prefix(7);
	} else if (addr.substr(0, 6) == "tcp://") {
		addr.remove_prefix(6);
	}
	auto ep = parse_endpoint(addr, o.transport == Transport::rdma ? QBD_DEFAULT_RDMA_PORT
								       : QBD_DEFAULT_TCP_PORT);
	if (!ep)
		return fail("--server: " + ep.error().message);
	o.server = *ep;
	auto slash = volume.find('/');
	if (slash == std::string::npos)
		return fail("--volume '" + volume + "' is not POOL/VOLUME");
	o.pool = volume.substr(0, slash);
	o.volume = volume.substr(slash + 1);
	auto pat = parse_pattern(rw);
	if (!pat)
		return fail("--rw: " + pat.error().message);
	o.pattern = *pat;
	std::string bs_max = bs;
	if (auto dash = bs.find('-'); dash != std::string::npos) {
		bs_max = bs.substr(dash + 1);
		bs = bs.substr(0, dash);
	}
	for (auto [text, out] : {std::pair{&bs, &o.block_size}, std::pair{&bs_max, &o.max_block_size}}) {
		auto size = parse_size(*text);
		if (!size)
			return fail("--bs: " + size.error().message);
		if (*size == 0 || *size % 512 || *size > (1u << 20))
			return fail("--bs " + std::to_string(*size) + " is not a multiple of 512 in 512..1M");
		*out = static_cast<uint32_t>(*size);
	}
	if (o.max_block_size != o.block_size && !do_verify)
		return fail("--bs MIN-MAX is for --verify only");
	auto sp = parse_size(span);
	if (!sp)
		return fail("--span: " + sp.error().message);
	o.span = *sp;

	if (do_hostile) {
		auto h = hostile(o);
		if (!h)
			return fail(h.error().message);
		if (*h)
			return fail(std::to_string(*h) + " hostile case(s) were not disconnected");
		printf("hostile: every case disconnected\n");
		return 0;
	}
	if (do_verify) {
		auto v = verify(o);
		if (!v)
			return fail(v.error().message);
		printf("verify %s: %llu writes, %llu reads, %.1f MiB, %llu mismatched sectors\n",
		       transport_name(o.transport), static_cast<unsigned long long>(v->writes),
		       static_cast<unsigned long long>(v->reads), static_cast<double>(v->bytes) / (1 << 20),
		       static_cast<unsigned long long>(v->mismatched_sectors));
		return v->mismatched_sectors ? 1 : 0;
	}

	auto r = run(o);
	if (!r)
		return fail(r.error().message);
	if (json) {
		printf("{\"connections\": %u, \"queue_depth\": %u, \"rw\": \"%s\", \"bs\": %u, "
		       "\"seconds\": %.3f, \"ios\": %llu, \"iops\": %.1f, \"mib_s\": %.2f, "
		       "\"lat_us\": {\"mean\": %.1f, \"p50\": %.1f, \"p99\": %.1f, \"p99.9\": %.1f, "
		       "\"max\": %.1f}}\n",
		       o.connections, o.queue_depth, pattern_name(o.pattern), o.block_size, r->seconds,
		       static_cast<unsigned long long>(r->ios), r->iops, r->mib_s, r->lat_mean_us, r->lat_p50_us, r->lat_p99_us, r->lat_p999_us,
		       r->lat_max_us);
	} else {
		printf("%s bs=%u conns=%u qd=%u: %.0f IOPS, %.1f MiB/s, lat us mean %.1f p50 %.1f p99 %.1f "
		       "p99.9 %.1f max %.1f\n",
		       pattern_name(o.pattern), o.block_size, o.connections, o.queue_depth, r->iops, r->mib_s,
		       r->lat_mean_us, r->lat_p50_us, r->lat_p99_us, r->lat_p999_us, r->lat_max_us);
	}
	return 0;
}
