// qbd's command line: option parsing, -o map options, the commands against a
// fake control device, and the built binary run with bad arguments.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "cli.h"
#include "commands.h"
#include "device.h"
#include "map_options.h"
#include "map_request.h"
#include "throttle_spec.h"
#include "watch_backoff.h"
#include "version.h"

using namespace qbd;
using namespace qbd::cli;

// ---- option parsing -----------------------------------------------------

static Result<Options> parse(std::vector<std::string> a)
{
	return parse_args(a);
}

TEST(CliParse, MapWithModifiers)
{
	auto r = parse({"-m", "tcp://p/v", "--ro", "-o", "io_depth=8", "-c", "/x.conf", "-V"});
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->command, Command::map);
	EXPECT_EQ(r->target, "tcp://p/v");
	EXPECT_TRUE(r->readonly);
	EXPECT_TRUE(r->verbose);
	EXPECT_TRUE(r->config_given);
	EXPECT_EQ(r->config_path, "/x.conf");
	EXPECT_EQ(r->map_options, "io_depth=8");
}

TEST(CliParse, LongFormsAndDefaults)
{
	auto r = parse({"--map", "p/v"});
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->config_path, "/etc/qbd/qbd.conf");
	EXPECT_FALSE(r->config_given);
	EXPECT_FALSE(r->readonly);

	auto u = parse({"--unmap", "/dev/qbd0", "--force"});
	ASSERT_TRUE(u.ok()) << u.error().message;
	EXPECT_EQ(u->command, Command::unmap);
	EXPECT_TRUE(u->force);

	auto l = parse({"--list", "--json"});
	ASSERT_TRUE(l.ok()) << l.error().message;
	EXPECT_EQ(l->command, Command::list);
	EXPECT_TRUE(l->json);

	auto i = parse({"-i", "p/v", "--json"});
	ASSERT_TRUE(i.ok()) << i.error().message;
	EXPECT_EQ(i->command, Command::info);

	auto v = parse({"--version"});
	ASSERT_TRUE(v.ok()) << v.error().message;
	EXPECT_EQ(v->command, Command::version);
}

TEST(CliParse, HelpComesBackWithCodeZero)
{
	auto r = parse({"-h"});
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().code, 0);
	EXPECT_NE(r.error().message.find("-m,--map"), std::string::npos);
	EXPECT_NE(r.error().message.find("heartbeat_timeout=S"), std::string::npos);
}

struct UsageCase {
	std::vector<std::string> args;
	const char *message;
};

TEST(CliParse, UsageErrorsSayWhichRule)
{
	const UsageCase cases[] = {
		{{}, "no command; exactly one of -m, -u, -l, -i, -s, -S, -R, -z, -r, -M, -U, --watch, -v is required; see qbd --help"},
		{{"-V"}, "no command; exactly one of -m, -u, -l, -i, -s, -S, -R, -z, -r, -M, -U, --watch, -v is required; see qbd --help"},
		{{"-m", "p/v", "-u", "p/v"},
		 "-m and -u cannot be combined; exactly one of -m, -u, -l, -i, -s, -S, -R, -z, -r, -M, -U, --watch, -v is required; "
		 "see qbd --help"},
		{{"-l", "-v"},
		 "-l and -v cannot be combined; exactly one of -m, -u, -l, -i, -s, -S, -R, -z, -r, -M, -U, --watch, -v is required; "
		 "see qbd --help"},
		{{"-l", "--ro"}, "--ro is only valid with -m/--map; see qbd --help"},
		{{"-u", "p/v", "-o", "io_depth=1"}, "-o/--options is only valid with -m/--map; see qbd --help"},
		{{"-m", "p/v", "--force"},
		 "--force is only valid with -u/--unmap or -U/--unmap-all; see qbd --help"},
		{{"-m", "p/v", "--json"}, "--json is only valid with -l/--list or -i/--info; see qbd --help"},
		{{"-m"}, "--map: 1 required [tcp://|rdma://]POOL/VOL missing; see qbd --help"},
		{{"-l", "--bogus"}, "The following argument was not expected: --bogus; see qbd --help"},
	};
	for (const auto &c : cases) {
		auto r = parse(c.args);
		std::string joined;
		for (const auto &a : c.args)
			joined += a + " ";
		ASSERT_FALSE(r.ok()) << "args: " << joined;
		EXPECT_EQ(r.error().code, EINVAL) << "args: " << joined;
		EXPECT_EQ(r.error().message, c.message) << "args: " << joined;
	}
}

// ---- -o map options -----------------------------------------------------

TEST(MapOptions, EveryKey)
{
	auto r = parse_map_options("io_depth=32,nr_queues=4,io_timeout=10,conn_timeout=2,"
				   "heartbeat_interval=2,heartbeat_timeout=5,read_bps=50M,"
				   "write_bps=1G,read_iops=2000,write_iops=1000");
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->io_depth, 32u);
	EXPECT_EQ(r->nr_queues, 4u);
	EXPECT_EQ(r->io_timeout, 10u);
	EXPECT_EQ(r->conn_timeout, 2u);
	EXPECT_EQ(r->heartbeat_interval, 2u);
	EXPECT_EQ(r->heartbeat_timeout, 5u);
	EXPECT_EQ(r->read_bps, 50ull << 20);
	EXPECT_EQ(r->write_bps, 1ull << 30);
	EXPECT_EQ(r->read_iops, 2000u);
	EXPECT_EQ(r->write_iops, 1000u);
	auto empty = parse_map_options("");
	ASSERT_TRUE(empty.ok());
	EXPECT_FALSE(empty->io_depth.has_value());
}

TEST(MapOptions, BadOptionsNameTheRule)
{
	const std::pair<const char *, const char *> cases[] = {
		{"io_depth=0", "io_depth=0: must be 1..1024"},
		{"io_depth=1025", "io_depth=1025: must be 1..1024"},
		{"io_depth=", "io_depth=: empty value"},
		{"io_depth=-1", "io_depth=-1: not a non-negative integer"},
		{"io_depth=1x", "io_depth=1x: not a non-negative integer"},
		{"io_depth=99999999999999999999999", "io_depth=99999999999999999999999: too large"},
		{"nr_queues=65", "nr_queues=65: must be 0..64 (0 = online CPUs)"},
		{"io_timeout=0", "io_timeout=0: must be 1..86400 seconds"},
		{"heartbeat_timeout=86401", "heartbeat_timeout=86401: must be 1..86400 seconds"},
		{"io_depth", "option 'io_depth' has no value; expected KEY=VALUE"},
		{"io_depth=1,,io_timeout=2", "empty option (two commas in a row, or a trailing comma)"},
		{"io_depth=1,", "empty option (two commas in a row, or a trailing comma)"},
		{"depth=1", "unknown option 'depth'; known: io_depth, nr_queues, io_timeout, "
			    "conn_timeout, heartbeat_interval, heartbeat_timeout, read_bps, "
			    "write_bps, read_iops, write_iops, digest"},
		{"digest=maybe", "digest=maybe: expected on or off (yes/no, true/false, 1/0)"},
		{"read_iops=1k", "read_iops=1k: not a non-negative integer"},
	};
	for (const auto &[in, msg] : cases) {
		auto r = parse_map_options(in);
		ASSERT_FALSE(r.ok()) << in;
		EXPECT_EQ(r.error().message, msg) << in;
	}
	auto bps = parse_map_options("read_bps=12Q");
	ASSERT_FALSE(bps.ok());
	EXPECT_EQ(bps.error().message.rfind("read_bps=12Q: ", 0), 0u) << bps.error().message;
}

TEST(MapOptions, ApplyOverridesAndChecksHeartbeat)
{
	ClientConfig cfg;
	auto o = parse_map_options("io_depth=16,io_timeout=5,heartbeat_timeout=4");
	ASSERT_TRUE(o.ok());
	auto r = apply_map_options(cfg, *o);
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->io_depth, 16u);
	EXPECT_EQ(r->io_timeout, 5u);
	EXPECT_EQ(r->heartbeat_timeout, 4u);
	EXPECT_EQ(r->conn_timeout, cfg.conn_timeout);

	auto bad = apply_map_options(cfg, *parse_map_options("heartbeat_interval=5"));
	ASSERT_FALSE(bad.ok());
	EXPECT_EQ(bad.error().message, "heartbeat_timeout 3 s is shorter than heartbeat_interval 5 s");
}

TEST(DeviceName, Parse)
{
	EXPECT_EQ(*parse_device_name("/dev/qbd0"), 0);
	EXPECT_EQ(*parse_device_name("/dev/qbd17"), 17);
	EXPECT_EQ(*parse_device_name("qbd3"), 3);
	for (const char *bad : {"/dev/qbd", "/dev/sda", "/dev/qbd1p1", "/dev/qbd01", "/dev/qbd256",
				"/dev/qbdctl"}) {
		auto r = parse_device_name(bad);
		EXPECT_FALSE(r.ok()) << bad;
		if (!r.ok()) {
			EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
		}
	}
}

// ---- commands against a fake control device -----------------------------

namespace {

class FakeControl : public Control {
public:
	std::map<int, qbd_info> devices;
	std::vector<qbd_map> maps;
	std::vector<std::pair<int, bool>> unmaps;
	std::vector<qbd_throttle> throttles;
	std::vector<std::pair<int, uint32_t>> resumes;  // dev_id, mode
	std::vector<std::pair<int, uint64_t>> resizes;
	std::vector<qbd_remap> remaps;
	int busy_dev = -1;  // unmap without force fails with EBUSY
	uint64_t features = QBD_FEAT_TCP | QBD_FEAT_THROTTLE | QBD_FEAT_SUSPEND | QBD_FEAT_RESIZE;
	int next_id = 0;
	Error map_error{0, ""};  // map fails with this while map_failures > 0
	int map_failures = 0;

	Result<qbd_features> get_features() override
	{
		qbd_features f = make_features_struct();
		f.abi_version = QBD_ABI_VERSION;
		f.features = features;
		f.max_io_depth = QBD_MAX_IO_DEPTH;
		f.max_queues = QBD_MAX_QUEUES;
		return f;
	}
	Result<int> map(const qbd_map &req) override
	{
		if (map_failures > 0) {
			map_failures--;
			return map_error;
		}
		maps.push_back(req);
		int id = next_id++;
		qbd_info i = make_info_struct(id);
		std::memcpy(i.pool, req.pool, sizeof(i.pool));
		std::memcpy(i.volume, req.volume, sizeof(i.volume));
		i.vol_id = req.vol_id;
		devices[id] = i;
		return id;
	}
	Status unmap(int dev_id, bool force) override
	{
		unmaps.emplace_back(dev_id, force);
		if (!devices.count(dev_id))
			return make_error(ENOENT, "QBD_IOC_UNMAP on fake: No such file or directory");
		if (dev_id == busy_dev && !force)
			return make_error(EBUSY, "QBD_IOC_UNMAP on fake: Device or resource busy");
		devices.erase(dev_id);
		return ok_status();
	}
	Result<std::vector<int>> list() override
	{
		std::vector<int> ids;
		for (auto &[id, _] : devices)
			ids.push_back(id);
		return ids;
	}
	Result<qbd_info> info(int dev_id) override
	{
		auto it = devices.find(dev_id);
		if (it == devices.end())
			return make_error(ENOENT, "QBD_IOC_INFO on fake: No such file or directory");
		return it->second;
	}
	Status set_throttle(const qbd_throttle &t) override
	{
		throttles.push_back(t);
		auto it = devices.find(t.dev_id);
		if (it == devices.end())
			return make_error(ENOENT, "QBD_IOC_SET_THROTTLE on fake: No such file or directory");
		it->second.read_bps = t.read_bps;
		it->second.write_bps = t.write_bps;
		it->second.read_iops = t.read_iops;
		it->second.write_iops = t.write_iops;
		it->second.burst_ms = t.burst_ms;
		return ok_status();
	}
	Status suspend(int dev_id) override
	{
		auto it = devices.find(dev_id);
		if (it == devices.end())
			return make_error(ENOENT, "QBD_IOC_SUSPEND on fake: No such file or directory");
		// As the module: suspending a suspended device is a no-op.
		it->second.state = QBD_STATE_SUSPENDED;
		return ok_status();
	}
	Status resume(int dev_id, uint32_t mode) override
	{
		resumes.emplace_back(dev_id, mode);
		auto it = devices.find(dev_id);
		if (it == devices.end())
			return make_error(ENOENT, "QBD_IOC_RESUME on fake: No such file or directory");
		it->second.state = QBD_STATE_LIVE;
		it->second.resume_mode = mode;
		return ok_status();
	}
	Status resize(int dev_id, uint64_t size) override
	{
		resizes.emplace_back(dev_id, size);
		auto it = devices.find(dev_id);
		if (it == devices.end())
			return make_error(ENOENT, "QBD_IOC_RESIZE on fake: No such file or directory");
		if (size < it->second.size)
			return make_error(EINVAL, "QBD_IOC_RESIZE on fake: Invalid argument");
		it->second.size = size;
		return ok_status();
	}
	Status remap(const qbd_remap &r) override
	{
		remaps.push_back(r);
		auto it = devices.find(r.dev_id);
		if (it == devices.end())
			return make_error(ENOENT, "QBD_IOC_REMAP on fake: No such file or directory");
		if (r.vol_id != it->second.vol_id || r.size < it->second.size)
			return make_error(EINVAL, "QBD_IOC_REMAP on fake: Invalid argument");
		it->second.size = r.size;
		it->second.layout_version = r.layout_version;
		it->second.nr_servers = r.nr_servers;
		std::memcpy(it->second.servers, r.servers, sizeof(r.servers));
		return ok_status();
	}
};

// What the commands get from open_control: forwards to the Harness's fake,
// which outlives the command so the test can inspect it.
class ControlRef : public Control {
public:
	explicit ControlRef(Control &c) : c_(c) {}
	Result<qbd_features> get_features() override { return c_.get_features(); }
	Result<int> map(const qbd_map &req) override { return c_.map(req); }
	Status unmap(int dev_id, bool force) override { return c_.unmap(dev_id, force); }
	Result<std::vector<int>> list() override { return c_.list(); }
	Result<qbd_info> info(int dev_id) override { return c_.info(dev_id); }
	Status set_throttle(const qbd_throttle &t) override { return c_.set_throttle(t); }
	Status suspend(int dev_id) override { return c_.suspend(dev_id); }
	Status resume(int dev_id, uint32_t mode) override { return c_.resume(dev_id, mode); }
	Status resize(int dev_id, uint64_t size) override { return c_.resize(dev_id, size); }
	Status remap(const qbd_remap &r) override { return c_.remap(r); }

private:
	Control &c_;
};

qbd_info sample_info(int id, const char *pool, const char *vol, uint64_t vol_id)
{
	qbd_info i = make_info_struct(id);
	std::strncpy(i.pool, pool, sizeof(i.pool) - 1);
	std::strncpy(i.volume, vol, sizeof(i.volume) - 1);
	i.vol_id = vol_id;
	i.state = QBD_STATE_LIVE;
	i.transport = QBD_TRANSPORT_TCP;
	i.nr_servers = 1;
	i.servers[0].family = AF_INET;
	i.servers[0].port = 7000;
	i.servers[0].addr[0] = 127;
	i.servers[0].addr[3] = 1;
	i.size = 1ull << 30;
	i.block_size = 4096;
	i.shard_size = 1ull << 26;
	i.io_depth = 128;
	i.io_timeout_ms = 30000;
	i.read_bps = 1000;
	i.stats.read_ios = 3;
	i.stats.write_ios = 1;
	i.stats.total_latency_us = 400;
	return i;
}

// A Context whose control device is @fake and whose /dev and /run live in a
// temporary directory.
struct Harness {
	FakeControl fake_control;
	FakeControl *fake = &fake_control;
	std::ostringstream out, err;
	std::filesystem::path dir;
	Context ctx;

	explicit Harness(std::vector<std::string> args)
	{
		char tmpl[] = "/tmp/qbd_cli_test.XXXXXX";
		dir = mkdtemp(tmpl);
		auto o = parse_args(args);
		EXPECT_TRUE(o.ok()) << o.error().message;
		ctx.opts = *o;
		if (!ctx.opts.config_given)  // hermetic: not the host's /etc/qbd/qbd.conf
			ctx.opts.config_path = (dir / "absent.conf").string();
		ctx.out = &out;
		ctx.err = &err;
		ctx.dev_dir = "/dev";
		ctx.state_dir = (dir / "run").string();
		ctx.sys_module_dir = (dir / "sys_module_qbd").string();
		ctx.open_control = [this](const std::string &) -> Result<std::unique_ptr<Control>> {
			return std::unique_ptr<Control>(new ControlRef(fake_control));
		};
	}
	~Harness() { std::filesystem::remove_all(dir); }
};

MapHooks fake_hooks(VolumeInfo vi, int *settled)
{
	MapHooks h;
	h.ensure_module = [](Context &) { return ok_status(); };
	h.resolve_volume = [vi](Context &, const ClientConfig &cfg,
				const VolumeUrl &) -> Result<ResolvedVolume> {
		return ResolvedVolume{vi, cfg.servers.at(0)};
	};
	h.resolve_addr = [](const Endpoint &ep, uint16_t port) { return resolve_server(ep, port); };
	h.settle = [settled](Context &, const std::string &) {
		++*settled;
		return ok_status();
	};
	return h;
}

VolumeInfo sample_volume()
{
	VolumeInfo v;
	v.pool = "p";
	v.volume = "v";
	v.vol_id = 9;
	v.size = 1ull << 30;
	v.block_size = 512;
	v.shard_size = 1ull << 20;
	v.layout_version = 2;
	return v;
}

std::string write_conf(const std::filesystem::path &dir, const std::string &text)
{
	auto p = dir / "qbd.conf";
	std::ofstream(p) << text;
	return p.string();
}

}  // namespace

TEST(CliMap, FillsTheRequestFromConfigAndOptions)
{
	Harness h({"-m", "tcp://p/v", "-o", "io_depth=16,write_iops=100", "--ro"});
	h.ctx.opts.config_path = write_conf(h.dir, "[cluster]\nservers = 127.0.0.1:7100\n"
						   "[client]\nio_timeout = 12\nconn_timeout = 4\n");
	h.ctx.opts.config_given = true;
	int settled = 0;
	int rc = run_map(h.ctx, fake_hooks(sample_volume(), &settled));
	ASSERT_EQ(rc, 0) << h.err.str();
	EXPECT_EQ(h.out.str(), "/dev/qbd0\n");
	EXPECT_EQ(h.err.str(), "");
	EXPECT_EQ(settled, 1);
	ASSERT_EQ(h.fake->maps.size(), 1u);
	const qbd_map &m = h.fake->maps[0];
	EXPECT_STREQ(m.pool, "p");
	EXPECT_STREQ(m.volume, "v");
	EXPECT_EQ(m.vol_id, 9u);
	EXPECT_EQ(m.block_size, 512u);
	EXPECT_EQ(m.layout_version, 2u);
	EXPECT_EQ(m.hdr.flags, QBD_MAP_F_READONLY);
	EXPECT_EQ(m.io_depth, 16u);
	EXPECT_EQ(m.io_timeout_ms, 12000u);
	EXPECT_EQ(m.conn_timeout_ms, 4000u);
	EXPECT_EQ(m.write_iops, 100u);
	EXPECT_EQ(m.servers[0].port, 7100);
	// The config column of -l remembers which file the map used.
	EXPECT_EQ(load_state_config(h.ctx, 0, 9), h.ctx.opts.config_path);
	EXPECT_EQ(load_state_config(h.ctx, 0, 10), "-");
}

TEST(CliMap, AlreadyMappedFailsWithoutMapping)
{
	Harness h({"-m", "p/v"});
	h.ctx.opts.config_path = "/nonexistent/qbd.conf";  // missing default: defaults
	h.fake->devices[4] = sample_info(4, "p", "v", 9);
	int settled = 0;
	int rc = run_map(h.ctx, fake_hooks(sample_volume(), &settled));
	EXPECT_EQ(rc, 1);
	EXPECT_EQ(h.err.str(), "qbd: map: volume 'p/v' is already mapped as /dev/qbd4\n");
	EXPECT_EQ(h.out.str(), "");
	EXPECT_TRUE(h.fake->maps.empty());
}

TEST(CliMap, RdmaRefusedUntilTheModuleHasIt)
{
	Harness h({"-m", "rdma://p/v"});
	h.ctx.opts.config_path = "/nonexistent/qbd.conf";
	int settled = 0;
	EXPECT_EQ(run_map(h.ctx, fake_hooks(sample_volume(), &settled)), 1);
	EXPECT_EQ(h.err.str(), "qbd: map: rdma://p/v: rdma transport not supported by this module\n");
	EXPECT_TRUE(h.fake->maps.empty());
}

TEST(MapOptions, Digest)
{
	EXPECT_FALSE(parse_map_options("io_depth=4")->digest.has_value());
	EXPECT_TRUE(*parse_map_options("digest")->digest);
	EXPECT_TRUE(*parse_map_options("io_depth=4,digest=on")->digest);
	EXPECT_FALSE(*parse_map_options("digest=off,io_depth=4")->digest);
	ClientConfig cfg;
	cfg.digest = true;
	EXPECT_FALSE(apply_map_options(cfg, *parse_map_options("digest=no"))->digest);
	EXPECT_TRUE(apply_map_options(cfg, *parse_map_options(""))->digest) << "qbd.conf's value stays";
}

TEST(CliMap, DigestSetsTheMapFlag)
{
	Harness h({"-m", "p/v", "-o", "digest"});
	h.ctx.opts.config_path = "/nonexistent/qbd.conf";
	h.fake->features |= QBD_FEAT_DIGEST;
	int settled = 0;
	ASSERT_EQ(run_map(h.ctx, fake_hooks(sample_volume(), &settled)), 0) << h.err.str();
	ASSERT_EQ(h.fake->maps.size(), 1u);
	EXPECT_EQ(h.fake->maps[0].hdr.flags, QBD_MAP_F_DIGEST);
}

TEST(CliMap, DigestOverRdmaOrWithoutModuleSupportIsRefused)
{
	Harness h({"-m", "rdma://p/v", "-o", "digest"});
	h.ctx.opts.config_path = "/nonexistent/qbd.conf";
	h.fake->features |= QBD_FEAT_RDMA | QBD_FEAT_DIGEST;
	int settled = 0;
	EXPECT_EQ(run_map(h.ctx, fake_hooks(sample_volume(), &settled)), 1);
	EXPECT_NE(h.err.str().find("TCP only"), std::string::npos) << h.err.str();
	EXPECT_TRUE(h.fake->maps.empty());

	Harness old({"-m", "p/v", "-o", "digest"});
	old.ctx.opts.config_path = "/nonexistent/qbd.conf";
	old.fake->features &= ~uint64_t{QBD_FEAT_DIGEST};
	EXPECT_EQ(run_map(old.ctx, fake_hooks(sample_volume(), &settled)), 1);
	EXPECT_NE(old.err.str().find("QBD_FEAT_DIGEST"), std::string::npos) << old.err.str();
	EXPECT_TRUE(old.fake->maps.empty());
}

TEST(CliMap, RdmaUsesTheRdmaPortWhenSupported)
{
	Harness h({"-m", "rdma://p/v"});
	h.ctx.opts.config_path = "/nonexistent/qbd.conf";
	h.fake->features |= QBD_FEAT_RDMA;
	int settled = 0;
	ASSERT_EQ(run_map(h.ctx, fake_hooks(sample_volume(), &settled)), 0) << h.err.str();
	ASSERT_EQ(h.fake->maps.size(), 1u);
	EXPECT_EQ(h.fake->maps[0].transport, static_cast<__u32>(QBD_TRANSPORT_RDMA));
	EXPECT_EQ(h.fake->maps[0].servers[0].port, 7001);
}

TEST(CliMap, NodeThatNeverAppearsIsUnmappedAgain)
{
	Harness h({"-m", "p/v"});
	h.ctx.opts.config_path = "/nonexistent/qbd.conf";
	int settled = 0;
	MapHooks hooks = fake_hooks(sample_volume(), &settled);
	hooks.settle = [](Context &, const std::string &dev) -> Status {
		return make_error(ETIMEDOUT, dev + " did not appear within 10 s");
	};
	EXPECT_EQ(run_map(h.ctx, hooks), 1);
	EXPECT_EQ(h.err.str(), "qbd: map: p/v: /dev/qbd0 did not appear within 10 s; unmapped it again\n");
	EXPECT_EQ(h.out.str(), "");
	EXPECT_TRUE(h.fake->devices.empty());
	ASSERT_EQ(h.fake->unmaps.size(), 1u);
}

TEST(CliMap, ExplicitConfigMustExist)
{
	Harness h({"-m", "p/v", "-c", "/nonexistent/qbd.conf"});
	int settled = 0;
	EXPECT_EQ(run_map(h.ctx, fake_hooks(sample_volume(), &settled)), 1);
	EXPECT_NE(h.err.str().find("qbd: map: p/v: "), std::string::npos) << h.err.str();
	EXPECT_NE(h.err.str().find("/nonexistent/qbd.conf"), std::string::npos) << h.err.str();
	EXPECT_TRUE(h.fake->maps.empty());
}

TEST(CliMap, ServerVolumeCheckedBeforeMapping)
{
	Harness h({"-m", "p/v"});
	h.ctx.opts.config_path = "/nonexistent/qbd.conf";
	VolumeInfo vi = sample_volume();
	vi.block_size = 520;
	int settled = 0;
	EXPECT_EQ(run_map(h.ctx, fake_hooks(vi, &settled)), 1);
	EXPECT_EQ(h.err.str(), "qbd: map: server reports block size 520 for p/v; the module "
			       "supports 512 and 4096\n");
	EXPECT_TRUE(h.fake->maps.empty());
}

TEST(CliUnmap, BusySaysUseForce)
{
	Harness h({"-u", "/dev/qbd0"});
	h.fake->devices[0] = sample_info(0, "pool", "vol", 1);
	h.fake->busy_dev = 0;
	EXPECT_EQ(run_unmap(h.ctx), 1);
	EXPECT_EQ(h.err.str(), "qbd: unmap: /dev/qbd0 (pool/vol) is in use (mounted or open); "
			       "use --force to fail its IO and unmap anyway\n");
	EXPECT_EQ(h.fake->devices.size(), 1u);
}

TEST(CliUnmap, ForceByVolumeName)
{
	Harness h({"-u", "pool/vol", "--force"});
	h.fake->devices[0] = sample_info(0, "other", "vol", 1);
	h.fake->devices[3] = sample_info(3, "pool", "vol", 2);
	h.fake->busy_dev = 3;
	EXPECT_EQ(run_unmap(h.ctx), 0) << h.err.str();
	ASSERT_EQ(h.fake->unmaps.size(), 1u);
	EXPECT_EQ(h.fake->unmaps[0], std::make_pair(3, true));
	EXPECT_EQ(h.fake->devices.count(3), 0u);
	EXPECT_EQ(h.out.str(), "");
}

TEST(CliUnmap, PoolNamedLikeADevice)
{
	Harness h({"-u", "qbd0/vol"});
	h.fake->devices[5] = sample_info(5, "qbd0", "vol", 1);
	EXPECT_EQ(run_unmap(h.ctx), 0) << h.err.str();
	ASSERT_EQ(h.fake->unmaps.size(), 1u);
	EXPECT_EQ(h.fake->unmaps[0].first, 5);
}

TEST(CliUnmap, NotMapped)
{
	Harness h({"-u", "pool/vol"});
	EXPECT_EQ(run_unmap(h.ctx), 1);
	EXPECT_EQ(h.err.str(), "qbd: unmap: volume 'pool/vol' is not mapped\n");
	Harness h2({"-u", "/dev/qbd7"});
	EXPECT_EQ(run_unmap(h2.ctx), 1);
	EXPECT_EQ(h2.err.str(), "qbd: unmap: /dev/qbd7 is not mapped\n");
	Harness h3({"-u", "pool//x"});
	EXPECT_EQ(run_unmap(h3.ctx), 1);
	EXPECT_EQ(h3.err.str(), "qbd: unmap: invalid volume 'pool//x': empty volume name\n");
}

TEST(CliList, TableAndJson)
{
	Harness h({"-l"});
	h.fake->devices[0] = sample_info(0, "pool1", "vol1", 11);
	h.fake->devices[2] = sample_info(2, "pool1", "a-much-longer-volume", 12);
	int rc = run_list(h.ctx);
	ASSERT_EQ(rc, 0) << h.err.str();
	EXPECT_EQ(h.out.str(),
		  "dev_id  vol_id  device     volume                      config  read_bps  "
		  "write_bps  read_iops  write_iops  state  resume_mode  burst_ms\n"
		  "0       11      /dev/qbd0  pool1/vol1                  -       1000      "
		  "0          0          0           live   normal       0\n"
		  "2       12      /dev/qbd2  pool1/a-much-longer-volume  -       1000      "
		  "0          0          0           live   normal       0\n");

	Harness j({"-l", "--json"});
	j.fake->devices[0] = sample_info(0, "pool1", "vol1", 11);
	ASSERT_EQ(run_list(j.ctx), 0);
	EXPECT_EQ(j.out.str(), "[\n  {\"dev_id\": 0, \"vol_id\": 11, \"device\": \"/dev/qbd0\", "
			       "\"volume\": \"pool1/vol1\", \"config\": \"-\", \"read_bps\": 1000, "
			       "\"write_bps\": 0, \"read_iops\": 0, \"write_iops\": 0, "
			       "\"state\": \"live\", \"resume_mode\": \"normal\", \"burst_ms\": 0}\n]\n");

	Harness e({"-l", "--json"});
	ASSERT_EQ(run_list(e.ctx), 0);
	EXPECT_EQ(e.out.str(), "[]\n");
}

TEST(CliInfo, TextAndJson)
{
	Harness h({"-i", "pool1/vol1"});
	h.fake->devices[1] = sample_info(1, "pool1", "vol1", 11);
	ASSERT_EQ(run_info(h.ctx), 0) << h.err.str();
	std::string s = h.out.str();
	for (const char *line : {"dev_id:                1\n", "device:                /dev/qbd1\n",
				 "state:                 live\n", "transport:             tcp\n",
				 "servers:               127.0.0.1:7000\n",
				 "io_timeout_ms:         30000\n", "avg_latency_us:        100\n",
				 "read_ios:              3\n"})
		EXPECT_NE(s.find(line), std::string::npos) << "missing '" << line << "' in\n" << s;

	Harness j({"-i", "/dev/qbd1", "--json"});
	j.fake->devices[1] = sample_info(1, "pool1", "vol1", 11);
	ASSERT_EQ(run_info(j.ctx), 0) << j.err.str();
	std::string js = j.out.str();
	EXPECT_EQ(js.front(), '{');
	EXPECT_NE(js.find("\"servers\": [\"127.0.0.1:7000\"]"), std::string::npos) << js;
	EXPECT_NE(js.find("\"state\": \"live\""), std::string::npos) << js;
	EXPECT_NE(js.find("\"read_ios\": 3"), std::string::npos) << js;
}

TEST(CliInfo, JsonErrorsAreJson)
{
	Harness h({"-i", "/dev/qbd9", "--json"});
	EXPECT_EQ(run_info(h.ctx), 1);
	EXPECT_EQ(h.err.str(), "{\"error\":{\"command\":\"info\",\"input\":\"/dev/qbd9\","
			       "\"errno\":2,\"message\":\"/dev/qbd9 is not mapped\"}}\n");
}

TEST(CliVersion, ModuleNotLoaded)
{
	Harness h({"-v"});
	ASSERT_EQ(run_version(h.ctx), 0);
	EXPECT_EQ(h.out.str(), "qbd " + std::string(qbd::version()) + " (abi 1)\nmodule: not loaded\n");
}

TEST(CliVersion, ModuleLoaded)
{
	Harness h({"-v"});
	std::filesystem::create_directories(h.ctx.sys_module_dir);
	std::ofstream(h.ctx.sys_module_dir + "/version") << "0.1.0\n";
	ASSERT_EQ(run_version(h.ctx), 0);
	EXPECT_NE(h.out.str().find("module: qbd 0.1.0 (abi 1)\n"), std::string::npos) << h.out.str();
}

// ---- the built binary -----------------------------------------------------

namespace {

struct Run {
	int status;
	std::string out, err;
};

// Runs the qbd binary with @args (shell-quoted by the caller) and $QBD_CTL
// pointing at a node that is not a qbd control device.
Run run_binary(const std::string &args, const std::string &ctl = "/nonexistent/qbdctl")
{
	char tmpl[] = "/tmp/qbd_cli_err.XXXXXX";
	int fd = mkstemp(tmpl);
	EXPECT_GE(fd, 0);
	close(fd);
	std::string cmd = "QBD_CTL=" + ctl + " " QBD_CLI_BINARY " " + args + " 2>" + tmpl;
	Run r;
	FILE *p = popen(cmd.c_str(), "r");
	EXPECT_NE(p, nullptr);
	std::array<char, 4096> buf;
	size_t n;
	while ((n = fread(buf.data(), 1, buf.size(), p)) > 0)
		r.out.append(buf.data(), n);
	r.status = pclose(p);
	std::ifstream f(tmpl);
	std::stringstream ss;
	ss << f.rdbuf();
	r.err = ss.str();
	unlink(tmpl);
	return r;
}

int exit_code(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

TEST(CliBinary, UsageErrorsExitTwo)
{
	auto r = run_binary("");
	EXPECT_EQ(exit_code(r.status), 2);
	EXPECT_EQ(r.err, "qbd: no command; exactly one of -m, -u, -l, -i, -s, -S, -R, -z, -r, -M, -U, --watch, -v is required; see qbd --help\n");
	EXPECT_EQ(r.out, "");

	r = run_binary("-m p/v -l");
	EXPECT_EQ(exit_code(r.status), 2);
	EXPECT_EQ(r.err, "qbd: -m and -l cannot be combined; exactly one of -m, -u, -l, -i, -s, -S, "
			 "-R, -z, -r, -M, -U, --watch, -v is required; see qbd --help\n");
}

TEST(CliBinary, BadVolumeExitsOneAndTouchesNothing)
{
	auto r = run_binary("-m 'pool//v'");
	EXPECT_EQ(exit_code(r.status), 1);
	EXPECT_EQ(r.err, "qbd: map: invalid volume 'pool//v': empty volume name\n");
	EXPECT_EQ(r.out, "");

	r = run_binary("-m nbd://p/v");
	EXPECT_EQ(exit_code(r.status), 1);
	EXPECT_EQ(r.err, "qbd: map: invalid volume 'nbd://p/v': unknown transport 'nbd://'; use "
			 "tcp:// or rdma://\n");

	r = run_binary("-m p/v -o io_depth=0");
	EXPECT_EQ(exit_code(r.status), 1);
	EXPECT_EQ(r.err, "qbd: map: p/v: invalid option -o 'io_depth=0': io_depth=0: must be 1..1024\n");
}

TEST(CliBinary, MissingControlDevice)
{
	auto r = run_binary("-u /dev/qbd0");
	EXPECT_EQ(exit_code(r.status), 1);
	EXPECT_EQ(r.err, "qbd: unmap: /dev/qbd0: cannot open /nonexistent/qbdctl: No such file or "
			 "directory (is the qbd module loaded?)\n");

	// With $QBD_CTL set, map never runs modprobe for it.
	r = run_binary("-m p/v -c /dev/null");
	EXPECT_EQ(exit_code(r.status), 1);
	EXPECT_EQ(r.err, "qbd: map: p/v: /nonexistent/qbdctl does not exist ($QBD_CTL names it; not "
			 "loading the module for a custom path)\n");
}

TEST(CliBinary, EveryCommandReportsABrokenConfig)
{
	char path[] = "/tmp/qbd_cli_conf.XXXXXX";
	int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	const char text[] = "[client]\nio_depth = lots\n";
	ASSERT_EQ(write(fd, text, sizeof(text) - 1), static_cast<ssize_t>(sizeof(text) - 1));
	close(fd);
	for (const char *cmd : {"-l", "-i /dev/qbd0", "-u p/v", "-m p/v"}) {
		auto r = run_binary(std::string("-c ") + path + " " + cmd);
		EXPECT_EQ(exit_code(r.status), 1) << cmd;
		EXPECT_NE(r.err.find(std::string(path) + ":2: io_depth 'lots' is not a number"),
			  std::string::npos)
			<< cmd << ": " << r.err;
		EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
	}
	auto r = run_binary("-c /nonexistent/qbd.conf -l");
	EXPECT_EQ(exit_code(r.status), 1);
	EXPECT_EQ(r.err, "qbd: list: cannot read config '/nonexistent/qbd.conf': No such file or "
			 "directory\n");
	unlink(path);
}

TEST(CliBinary, NotAControlDevice)
{
	auto r = run_binary("-l", "/dev/null");
	EXPECT_EQ(exit_code(r.status), 1);
	EXPECT_EQ(r.err, "qbd: list: cannot list devices: QBD_IOC_LIST on /dev/null: Inappropriate "
			 "ioctl for device (not a qbd control device, or the module is too old)\n");
	r = run_binary("-l --json", "/dev/null");
	EXPECT_EQ(exit_code(r.status), 1);
	EXPECT_EQ(r.err.rfind("{\"error\":{\"command\":\"list\",\"input\":\"\",\"errno\":25,", 0), 0u)
		<< r.err;
}

TEST(CliBinary, HelpAndVersion)
{
	auto r = run_binary("-h");
	EXPECT_EQ(exit_code(r.status), 0);
	EXPECT_NE(r.out.find("Usage: qbd [OPTIONS]"), std::string::npos) << r.out;
	EXPECT_EQ(r.err, "");
	r = run_binary("-v");
	EXPECT_EQ(exit_code(r.status), 0);
	EXPECT_EQ(r.out.rfind("qbd " + std::string(qbd::version()) + " (abi 1)\n", 0), 0u) << r.out;
}

// ---- issue 6: throttle, suspend/resume, resize, map-at-boot ---------------

TEST(CliParse, NewVerbsAndTheirModifiers)
{
	auto s = parse({"-s", "tcp://p/v", "-t", "read_iops=100"});
	ASSERT_TRUE(s.ok()) << s.error().message;
	EXPECT_EQ(s->command, Command::throttle);
	EXPECT_EQ(s->target, "tcp://p/v");
	EXPECT_EQ(s->throttle, "read_iops=100");

	auto S = parse({"--suspend", "/dev/qbd1"});
	ASSERT_TRUE(S.ok()) << S.error().message;
	EXPECT_EQ(S->command, Command::suspend);

	auto R = parse({"-R", "p/v", "-t", "discard"});
	ASSERT_TRUE(R.ok()) << R.error().message;
	EXPECT_EQ(R->command, Command::resume);
	EXPECT_EQ(R->throttle, "discard");
	auto R2 = parse({"--resume", "p/v"});
	ASSERT_TRUE(R2.ok()) << R2.error().message;
	EXPECT_FALSE(R2->throttle_given);

	auto z = parse({"-z", "p/v", "-k", "20G"});
	ASSERT_TRUE(z.ok()) << z.error().message;
	EXPECT_EQ(z->command, Command::resize);
	EXPECT_EQ(z->size, "20G");

	auto M = parse({"-M"});
	ASSERT_TRUE(M.ok()) << M.error().message;
	EXPECT_EQ(M->command, Command::map_all);
	EXPECT_EQ(M->map_file, "/etc/qbd/map.conf");
	EXPECT_EQ(M->retry_timeout, 60u);
	auto M2 = parse({"--map-all", "-f", "/x/map.conf", "--retry-timeout", "5"});
	ASSERT_TRUE(M2.ok()) << M2.error().message;
	EXPECT_EQ(M2->map_file, "/x/map.conf");
	EXPECT_EQ(M2->retry_timeout, 5u);

	auto U = parse({"-U", "--force", "-f", "/x"});
	ASSERT_TRUE(U.ok()) << U.error().message;
	EXPECT_EQ(U->command, Command::unmap_all);
	EXPECT_TRUE(U->force);

	auto m = parse({"-m", "p/v", "-t", "read_bps=1M"});
	ASSERT_TRUE(m.ok()) << m.error().message;
	EXPECT_TRUE(m->throttle_given);
}

TEST(CliParse, NewVerbRulesSayWhichRule)
{
	const UsageCase cases[] = {
		{{"-s", "p/v"},
		 "-s/--set-throttle needs -t KEY=VALUE,... (read_bps, write_bps, read_iops, "
		 "write_iops, burst_ms); see qbd --help"},
		{{"-z", "p/v"}, "-z/--resize needs -k SIZE; see qbd --help"},
		{{"-S", "p/v", "-t", "normal"},
		 "-t/--throttle is only valid with -s/--set-throttle, -m/--map or -R/--resume; see "
		 "qbd --help"},
		{{"-l", "-k", "1G"}, "-k/--size is only valid with -z/--resize; see qbd --help"},
		{{"-m", "p/v", "-f", "/x"},
		 "-f/--file is only valid with -M/--map-all or -U/--unmap-all; see qbd --help"},
		{{"-U", "--retry-timeout", "3"},
		 "--retry-timeout is only valid with -M/--map-all; see qbd --help"},
		{{"-M", "--retry-timeout", "3601"}, nullptr},
		{{"-M", "--retry-timeout", "-1"}, nullptr},
		{{"-M", "-U"},
		 "-M and -U cannot be combined; exactly one of -m, -u, -l, -i, -s, -S, -R, -z, -r, -M, "
		 "-U, --watch, -v is required; see qbd --help"},
		{{"-s", "p/v", "-S", "p/v", "-t", "read_iops=1"},
		 "-s and -S cannot be combined; exactly one of -m, -u, -l, -i, -s, -S, -R, -z, -r, -M, "
		 "-U, --watch, -v is required; see qbd --help"},
		{{"-M", "--json"}, "--json is only valid with -l/--list or -i/--info; see qbd --help"},
		{{"-S", "p/v", "--force"},
		 "--force is only valid with -u/--unmap or -U/--unmap-all; see qbd --help"},
	};
	for (const auto &c : cases) {
		auto r = parse(c.args);
		std::string joined;
		for (const auto &a : c.args)
			joined += a + " ";
		ASSERT_FALSE(r.ok()) << "args: " << joined;
		EXPECT_EQ(r.error().code, EINVAL) << "args: " << joined;
		if (c.message)
			EXPECT_EQ(r.error().message, c.message) << "args: " << joined;
		else
			EXPECT_NE(r.error().message.find("--retry-timeout"), std::string::npos)
				<< r.error().message;
	}
}

TEST(ThrottleSpec, EveryKeyWithSuffixes)
{
	auto r = parse_throttle_spec("read_bps=1M,write_bps=2k,read_iops=100,write_iops=0,"
				     "burst_ms=250");
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->read_bps, 1ull << 20);
	EXPECT_EQ(r->write_bps, 2048u);
	EXPECT_EQ(r->read_iops, 100u);
	EXPECT_EQ(r->write_iops, 0u);
	EXPECT_EQ(r->burst_ms, 250u);
	auto one = parse_throttle_spec("write_iops=7");
	ASSERT_TRUE(one.ok());
	EXPECT_FALSE(one->read_bps.has_value());
	EXPECT_FALSE(one->burst_ms.has_value());
	EXPECT_EQ(one->write_iops, 7u);
	auto huge = parse_throttle_spec("read_iops=18446744073709551615,write_bps=16T");
	ASSERT_TRUE(huge.ok()) << huge.error().message;
	EXPECT_EQ(huge->read_iops, UINT64_MAX);
	EXPECT_EQ(huge->write_bps, 16ull << 40);
}

TEST(ThrottleSpec, EveryBadKeyAndValue)
{
	const std::pair<const char *, const char *> cases[] = {
		{"", "empty throttle spec; expected KEY=VALUE,... with keys read_bps, write_bps, "
		     "read_iops, write_iops, burst_ms"},
		{"read_iops=1,", "empty item (two commas in a row, or a trailing comma)"},
		{",read_iops=1", "empty item (two commas in a row, or a trailing comma)"},
		{"read_iops=1,,write_iops=2", "empty item (two commas in a row, or a trailing comma)"},
		{"read_iops", "'read_iops' has no value; expected KEY=VALUE"},
		{"iops=5", "unknown key 'iops'; known: read_bps, write_bps, read_iops, write_iops, "
			   "burst_ms"},
		{"READ_IOPS=5", "unknown key 'READ_IOPS'; known: read_bps, write_bps, read_iops, "
				"write_iops, burst_ms"},
		{"=5", "unknown key ''; known: read_bps, write_bps, read_iops, write_iops, burst_ms"},
		{"read_iops=", "read_iops=: empty value"},
		{"write_iops=", "write_iops=: empty value"},
		{"read_bps=", "read_bps=: empty value"},
		{"write_bps=", "write_bps=: empty value"},
		{"burst_ms=", "burst_ms=: empty value"},
		{"read_iops=1k", "read_iops=1k: not a non-negative integer"},
		{"write_iops=-3", "write_iops=-3: not a non-negative integer"},
		{"read_iops=1.5", "read_iops=1.5: not a non-negative integer"},
		{"read_iops=18446744073709551616", "read_iops=18446744073709551616: too large"},
		{"burst_ms=60001", "burst_ms=60001: must be 0..60000 (0 = the module default)"},
		{"burst_ms=1s", "burst_ms=1s: not a non-negative integer"},
		{"read_iops=1,read_iops=2", "read_iops given twice"},
		{"write_bps=1,write_bps=1", "write_bps given twice"},
		{"burst_ms=1,burst_ms=1", "burst_ms given twice"},
	};
	for (const auto &[in, msg] : cases) {
		auto r = parse_throttle_spec(in);
		ASSERT_FALSE(r.ok()) << "'" << in << "'";
		EXPECT_EQ(r.error().code, EINVAL) << in;
		EXPECT_EQ(r.error().message, msg) << "'" << in << "'";
	}
	for (const char *in : {"read_bps=12Q", "write_bps=x", "read_bps=-1", "write_bps=1.5M"}) {
		auto r = parse_throttle_spec(in);
		ASSERT_FALSE(r.ok()) << in;
		std::string key = std::string(in).substr(0, std::string(in).find('=') + 1);
		EXPECT_EQ(r.error().message.rfind(std::string(in) + ": ", 0), 0u)
			<< r.error().message;
	}
}

TEST(ThrottleSpec, UnspecifiedKeysKeepTheirValues)
{
	qbd_info cur = sample_info(3, "p", "v", 1);
	cur.read_bps = 11;
	cur.write_bps = 22;
	cur.read_iops = 33;
	cur.write_iops = 44;
	cur.burst_ms = 55;
	auto t = build_throttle_request(3, cur, *parse_throttle_spec("write_iops=0,read_bps=1K"));
	EXPECT_EQ(t.hdr.size, sizeof(qbd_throttle));
	EXPECT_EQ(t.dev_id, 3);
	EXPECT_EQ(t.read_bps, 1024u);
	EXPECT_EQ(t.write_bps, 22u);
	EXPECT_EQ(t.read_iops, 33u);
	EXPECT_EQ(t.write_iops, 0u);
	EXPECT_EQ(t.burst_ms, 55u);
}

TEST(CliThrottle, SetsAndKeepsTheRest)
{
	Harness h({"-s", "pool/vol", "-t", "read_iops=100,burst_ms=200"});
	h.fake->devices[2] = sample_info(2, "pool", "vol", 1);  // read_bps 1000
	h.fake->devices[2].write_iops = 7;
	ASSERT_EQ(run_throttle(h.ctx), 0) << h.err.str();
	ASSERT_EQ(h.fake->throttles.size(), 1u);
	const qbd_throttle &t = h.fake->throttles[0];
	EXPECT_EQ(t.dev_id, 2);
	EXPECT_EQ(t.read_bps, 1000u);
	EXPECT_EQ(t.write_bps, 0u);
	EXPECT_EQ(t.read_iops, 100u);
	EXPECT_EQ(t.write_iops, 7u);
	EXPECT_EQ(t.burst_ms, 200u);
	EXPECT_EQ(h.out.str(), "");
	EXPECT_EQ(h.err.str(), "");

	// -i shows it.
	Harness i({"-i", "/dev/qbd2"});
	i.fake->devices[2] = h.fake->devices[2];
	ASSERT_EQ(run_info(i.ctx), 0);
	EXPECT_NE(i.out.str().find("read_iops:             100\n"), std::string::npos) << i.out.str();
	EXPECT_NE(i.out.str().find("burst_ms:              200\n"), std::string::npos) << i.out.str();
}

TEST(CliThrottle, BadSpecTouchesNothing)
{
	Harness h({"-s", "/dev/qbd0", "-t", "read_iops=fast"});
	h.fake->devices[0] = sample_info(0, "p", "v", 1);
	EXPECT_EQ(run_throttle(h.ctx), 1);
	EXPECT_EQ(h.err.str(), "qbd: throttle: /dev/qbd0: invalid throttle -t 'read_iops=fast': "
			       "read_iops=fast: not a non-negative integer\n");
	EXPECT_TRUE(h.fake->throttles.empty());

	Harness n({"-s", "/dev/qbd4", "-t", "read_iops=1"});
	EXPECT_EQ(run_throttle(n.ctx), 1);
	EXPECT_EQ(n.err.str(), "qbd: throttle: /dev/qbd4 is not mapped\n");

	Harness old({"-s", "/dev/qbd0", "-t", "read_iops=1"});
	old.fake->devices[0] = sample_info(0, "p", "v", 1);
	old.fake->features = QBD_FEAT_TCP;
	EXPECT_EQ(run_throttle(old.ctx), 1);
	EXPECT_EQ(old.err.str(), "qbd: throttle: /dev/qbd0: the loaded qbd module does not support "
				 "throttling (module too old?)\n");
	EXPECT_TRUE(old.fake->throttles.empty());
}

TEST(CliMap, ThrottleAtMapTime)
{
	Harness h({"-m", "p/v", "-o", "read_iops=5,write_bps=9", "-t", "read_bps=2M,read_iops=100"});
	int settled = 0;
	ASSERT_EQ(run_map(h.ctx, fake_hooks(sample_volume(), &settled)), 0) << h.err.str();
	ASSERT_EQ(h.fake->maps.size(), 1u);
	const qbd_map &m = h.fake->maps[0];
	EXPECT_EQ(m.read_bps, 2u << 20);
	EXPECT_EQ(m.write_bps, 9u);  // from -o, -t did not name it
	EXPECT_EQ(m.read_iops, 100u);
	EXPECT_EQ(m.write_iops, 0u);

	Harness b({"-m", "p/v", "-t", "read_iops=1,burst_ms=10"});
	EXPECT_EQ(run_map(b.ctx, fake_hooks(sample_volume(), &settled)), 1);
	EXPECT_EQ(b.err.str(), "qbd: map: p/v: invalid throttle -t 'read_iops=1,burst_ms=10': "
			       "burst_ms cannot be given at map time; set it with -s after mapping\n");
	EXPECT_TRUE(b.fake->maps.empty());
}

TEST(CliSuspend, SuspendResumeModes)
{
	Harness s({"-S", "p/v"});
	s.fake->devices[1] = sample_info(1, "p", "v", 1);
	ASSERT_EQ(run_suspend(s.ctx), 0) << s.err.str();
	EXPECT_EQ(s.fake->devices[1].state, static_cast<__u32>(QBD_STATE_SUSPENDED));
	EXPECT_EQ(run_suspend(s.ctx), 0) << s.err.str();  // again: not an error
	EXPECT_EQ(s.err.str(), "");
	EXPECT_EQ(s.fake->devices[1].state, static_cast<__u32>(QBD_STATE_SUSPENDED));

	Harness i({"-i", "p/v"});
	i.fake->devices[1] = s.fake->devices[1];
	ASSERT_EQ(run_info(i.ctx), 0);
	EXPECT_NE(i.out.str().find("state:                 suspended\n"), std::string::npos)
		<< i.out.str();

	const std::pair<std::vector<std::string>, uint32_t> modes[] = {
		{{"-R", "p/v"}, QBD_RESUME_NORMAL},
		{{"-R", "p/v", "-t", "normal"}, QBD_RESUME_NORMAL},
		{{"-R", "p/v", "-t", "error"}, QBD_RESUME_ERROR},
		{{"-R", "/dev/qbd1", "-t", "discard"}, QBD_RESUME_DISCARD},
	};
	for (const auto &[args, mode] : modes) {
		Harness r(args);
		r.fake->devices[1] = s.fake->devices[1];
		ASSERT_EQ(run_resume(r.ctx), 0) << r.err.str();
		ASSERT_EQ(r.fake->resumes.size(), 1u);
		EXPECT_EQ(r.fake->resumes[0], std::make_pair(1, mode));
		Harness i2({"-i", "p/v", "--json"});
		i2.fake->devices[1] = r.fake->devices[1];
		ASSERT_EQ(run_info(i2.ctx), 0);
		EXPECT_NE(i2.out.str().find("\"resume_mode\": \"" + resume_mode_name(mode) + "\""),
			  std::string::npos)
			<< i2.out.str();
	}

	Harness bad({"-R", "p/v", "-t", "drop"});
	bad.fake->devices[1] = s.fake->devices[1];
	EXPECT_EQ(run_resume(bad.ctx), 1);
	EXPECT_EQ(bad.err.str(), "qbd: resume: p/v: invalid -t: resume mode 'drop' is not one of "
				 "normal, error, discard\n");
	EXPECT_TRUE(bad.fake->resumes.empty());

	Harness none({"-S", "p/x"});
	EXPECT_EQ(run_suspend(none.ctx), 1);
	EXPECT_EQ(none.err.str(), "qbd: suspend: volume 'p/x' is not mapped\n");
}

namespace {

// Hooks whose server side of -z is a volume of @server_size bytes.
MapHooks resize_hooks(uint64_t *server_size, int *server_calls)
{
	int unused = 0;
	MapHooks h = fake_hooks(sample_volume(), &unused);
	h.settle = nullptr;
	h.resize_volume = [server_size, server_calls](Context &, const ClientConfig &,
						      const VolumeUrl &url,
						      uint64_t size) -> Result<VolumeInfo> {
		++*server_calls;
		if (size < *server_size)
			return make_error(EINVAL, "cannot shrink");
		*server_size = size;
		VolumeInfo v = sample_volume();
		v.pool = url.pool;
		v.volume = url.volume;
		v.size = size;
		return v;
	};
	return h;
}

}  // namespace

TEST(CliResize, GrowsServerThenDevice)
{
	Harness h({"-z", "tcp://pool/vol", "-k", "2G"});
	h.fake->devices[0] = sample_info(0, "pool", "vol", 1);  // 1 GiB, 4096
	uint64_t server = 1ull << 30;
	int calls = 0;
	ASSERT_EQ(run_resize(h.ctx, resize_hooks(&server, &calls)), 0) << h.err.str();
	EXPECT_EQ(calls, 1);
	EXPECT_EQ(server, 2ull << 30);
	ASSERT_EQ(h.fake->resizes.size(), 1u);
	EXPECT_EQ(h.fake->resizes[0], std::make_pair(0, uint64_t{2} << 30));
	EXPECT_EQ(h.fake->devices[0].size, 2ull << 30);
}

TEST(CliResize, SmallerOrUnalignedRefusedNothingChanged)
{
	const std::pair<const char *, const char *> cases[] = {
		{"512M", "qbd: resize: pool/vol: new size 536870912 bytes (512M) is smaller than the "
			 "current 1073741824 bytes (1G) of /dev/qbd0; qbd only grows volumes, "
			 "nothing changed\n"},
		{"1073745920", nullptr},  // grows, aligned: fine (checked below)
		{"1073742336", "qbd: resize: pool/vol: new size 1073742336 bytes (1048584.5K) is not a "
			       "multiple of the block size 4096 of /dev/qbd0; nothing changed\n"},
		{"lots", "qbd: resize: pool/vol: invalid size -k 'lots': "},
	};
	for (const auto &[size, msg] : cases) {
		if (!msg)
			continue;
		Harness h({"-z", "pool/vol", "-k", size});
		h.fake->devices[0] = sample_info(0, "pool", "vol", 1);
		uint64_t server = 1ull << 30;
		int calls = 0;
		EXPECT_EQ(run_resize(h.ctx, resize_hooks(&server, &calls)), 1) << size;
		if (std::string(size) == "1073742336")
			EXPECT_EQ(h.err.str().rfind("qbd: resize: pool/vol: new size 1073742336 bytes", 0),
				  0u)
				<< h.err.str();
		else
			EXPECT_EQ(h.err.str().rfind(msg, 0), 0u) << h.err.str();
		EXPECT_EQ(calls, 0) << size;
		EXPECT_EQ(server, 1ull << 30) << size;
		EXPECT_TRUE(h.fake->resizes.empty()) << size;
		EXPECT_EQ(h.fake->devices[0].size, 1ull << 30) << size;
	}
}

TEST(CliResize, ServerRefusalLeavesTheDevice)
{
	Harness h({"-z", "/dev/qbd0", "-k", "4G"});
	h.fake->devices[0] = sample_info(0, "pool", "vol", 1);
	uint64_t server = 8ull << 30;  // someone grew it further already
	int calls = 0;
	EXPECT_EQ(run_resize(h.ctx, resize_hooks(&server, &calls)), 1);
	EXPECT_EQ(h.err.str(), "qbd: resize: /dev/qbd0: cannot grow pool/vol on the server: "
			       "cannot shrink; nothing changed\n");
	EXPECT_TRUE(h.fake->resizes.empty());
}

// ---- -r: remap ----------------------------------------------------------------

TEST(CliRemap, HandsTheNewLayoutToTheDevice)
{
	Harness h({"-r", "tcp://pool/vol"});
	h.fake->features |= QBD_FEAT_REMAP;
	h.fake->devices[0] = sample_info(0, "pool", "vol", 9);  // 1 GiB
	VolumeInfo v = sample_volume();  // vol_id 9, layout 2
	v.size = 2ull << 30;
	int settled = 0;
	ASSERT_EQ(run_remap(h.ctx, fake_hooks(v, &settled)), 0) << h.err.str();
	ASSERT_EQ(h.fake->remaps.size(), 1u);
	const qbd_remap &r = h.fake->remaps[0];
	EXPECT_EQ(r.hdr.size, sizeof(qbd_remap));
	EXPECT_EQ(r.hdr.flags, 0u);
	EXPECT_EQ(r.dev_id, 0);
	EXPECT_EQ(r.vol_id, 9u);
	EXPECT_EQ(r.size, 2ull << 30);
	EXPECT_EQ(r.layout_version, 2u);
	EXPECT_EQ(r.transport, unsigned{QBD_TRANSPORT_TCP});
	EXPECT_EQ(r.nr_servers, 1u);
	EXPECT_NE(r.servers[0].port, 0);
	EXPECT_EQ(settled, 0);
	EXPECT_NE(h.out.str().find("/dev/qbd0 (pool/vol) remapped to "), std::string::npos)
		<< h.out.str();
}

TEST(CliRemap, AnotherTransportSwitchesTheDevice)
{
	Harness h({"-r", "rdma://pool/vol"});
	h.fake->features |= QBD_FEAT_REMAP;
	h.fake->devices[0] = sample_info(0, "pool", "vol", 9);  // mapped over TCP
	VolumeInfo v = sample_volume();
	int settled = 0;
	ASSERT_EQ(run_remap(h.ctx, fake_hooks(v, &settled)), 0) << h.err.str();
	ASSERT_EQ(h.fake->remaps.size(), 1u);
	EXPECT_EQ(h.fake->remaps[0].transport, unsigned{QBD_TRANSPORT_RDMA});
	EXPECT_EQ(h.fake->remaps[0].servers[0].port, QBD_DEFAULT_RDMA_PORT);
	EXPECT_NE(h.out.str().find("remapped to rdma "), std::string::npos) << h.out.str();
}

TEST(CliRemap, RefusalsChangeNothing)
{
	struct Case {
		std::vector<std::string> args;
		uint64_t vol_id, size;
		bool feature;
		const char *says;
	} cases[] = {
		{{"-r", "pool/vol"}, 10, 1ull << 30, true, "(a different volume under the same name)"},
		{{"-r", "pool/vol"}, 9, 1ull << 29, true, "smaller than the 1073741824 of /dev/qbd0"},
		{{"-r", "pool/nope"}, 9, 1ull << 30, true, "is not mapped"},
		{{"-r", "pool//vol"}, 9, 1ull << 30, true, "invalid volume 'pool//vol'"},
		{{"-r", "/dev/qbd0"}, 9, 1ull << 30, false, "remap"},
	};
	for (const Case &c : cases) {
		Harness h(c.args);
		if (c.feature)
			h.fake->features |= QBD_FEAT_REMAP;
		h.fake->devices[0] = sample_info(0, "pool", "vol", 9);
		VolumeInfo v = sample_volume();
		v.vol_id = c.vol_id;
		v.size = c.size;
		int settled = 0;
		EXPECT_EQ(run_remap(h.ctx, fake_hooks(v, &settled)), 1) << c.says;
		EXPECT_NE(h.err.str().find(c.says), std::string::npos) << h.err.str();
		EXPECT_TRUE(h.fake->remaps.empty()) << c.says;
		EXPECT_EQ(h.fake->devices[0].size, 1ull << 30) << c.says;
	}
}

namespace {

std::string write_map_conf(const std::filesystem::path &dir, const std::string &text)
{
	auto p = dir / "map.conf";
	std::ofstream(p) << text;
	return p.string();
}

}  // namespace

TEST(CliMapAll, GoodMappedBadReportedExitOne)
{
	Harness h({"-M", "-f", "/placeholder"});
	h.ctx.opts.map_file = write_map_conf(h.dir, "# boot\n"
						    "pool1/a\n"
						    "pool1//bad\n"
						    "tcp://pool1/b - 1M 2M 30 40\n"
						    "pool1/c 1 2\n");
	h.fake->devices[7] = sample_info(7, "pool1", "a", 3);  // already mapped
	int settled = 0;
	EXPECT_EQ(run_map_all(h.ctx, fake_hooks(sample_volume(), &settled)), 1);
	const std::string f = h.ctx.opts.map_file;
	EXPECT_EQ(h.err.str(), "qbd: map-all: " + f + ":3: invalid volume 'pool1//bad': empty "
			       "volume name\n"
			       "qbd: map-all: " + f + ":5: 3 fields; expected VOLUME [CONFIG] "
			       "[READ_BPS WRITE_BPS READ_IOPS WRITE_IOPS]\n");
	EXPECT_EQ(h.out.str(), "pool1/a /dev/qbd7 (already mapped)\npool1/b /dev/qbd0\n");
	ASSERT_EQ(h.fake->maps.size(), 1u);
	const qbd_map &m = h.fake->maps[0];
	EXPECT_STREQ(m.volume, "b");
	EXPECT_EQ(m.read_bps, 1u << 20);
	EXPECT_EQ(m.write_bps, 2u << 20);
	EXPECT_EQ(m.read_iops, 30u);
	EXPECT_EQ(m.write_iops, 40u);

	// Again: everything there, idempotent; the bad lines still count.
	h.out.str("");
	h.err.str("");
	EXPECT_EQ(run_map_all(h.ctx, fake_hooks(sample_volume(), &settled)), 1);
	EXPECT_EQ(h.out.str(), "pool1/a /dev/qbd7 (already mapped)\n"
			       "pool1/b /dev/qbd0 (already mapped)\n");
	EXPECT_EQ(h.fake->maps.size(), 1u);
}

TEST(CliMapAll, AllGoodExitsZeroAndUnmapAllUndoes)
{
	Harness h({"-M", "-f", "/placeholder"});
	h.ctx.opts.map_file = write_map_conf(h.dir, "p/one\np/two\n");
	int settled = 0;
	ASSERT_EQ(run_map_all(h.ctx, fake_hooks(sample_volume(), &settled)), 0) << h.err.str();
	EXPECT_EQ(h.out.str(), "p/one /dev/qbd0\np/two /dev/qbd1\n");
	EXPECT_EQ(h.fake->devices.size(), 2u);

	h.ctx.opts.command = Command::unmap_all;
	h.out.str("");
	h.fake->devices[5] = sample_info(5, "other", "keep", 1);
	ASSERT_EQ(run_unmap_all(h.ctx), 0) << h.err.str();
	EXPECT_EQ(h.out.str(), "p/two /dev/qbd1 unmapped\np/one /dev/qbd0 unmapped\n");
	ASSERT_EQ(h.fake->devices.size(), 1u);
	EXPECT_EQ(h.fake->devices.count(5), 1u);
	// Nothing mapped any more: still fine.
	ASSERT_EQ(run_unmap_all(h.ctx), 0) << h.err.str();
}

TEST(CliMapAll, UnmapAllBusyNeedsForce)
{
	Harness h({"-U", "-f", "/placeholder"});
	h.ctx.opts.map_file = write_map_conf(h.dir, "p/v\n");
	h.fake->devices[2] = sample_info(2, "p", "v", 1);
	h.fake->busy_dev = 2;
	EXPECT_EQ(run_unmap_all(h.ctx), 1);
	EXPECT_EQ(h.err.str(), "qbd: unmap-all: " + h.ctx.opts.map_file + ":1: p/v: /dev/qbd2 is in "
			       "use (mounted or open); use --force to fail its IO and unmap anyway\n");
	h.ctx.opts.force = true;
	EXPECT_EQ(run_unmap_all(h.ctx), 0);
	EXPECT_TRUE(h.fake->devices.empty());
}

TEST(CliMapAll, RetriesWithBackoffThenGivesUp)
{
	Harness h({"-M", "-f", "/placeholder", "--retry-timeout", "3"});
	h.ctx.opts.map_file = write_map_conf(h.dir, "p/v\n");
	int settled = 0;
	MapHooks hooks = fake_hooks(sample_volume(), &settled);
	std::vector<long> sleeps;
	hooks.sleep = [&sleeps](std::chrono::milliseconds d) { sleeps.push_back(d.count()); };
	int down = 2;  // the server answers on the third attempt
	auto resolve = hooks.resolve_volume;
	hooks.resolve_volume = [&down, resolve](Context &c, const ClientConfig &cfg,
						const VolumeUrl &u) -> Result<ResolvedVolume> {
		if (down > 0) {
			down--;
			return make_error(EHOSTUNREACH, "127.0.0.1:7000: Connection refused");
		}
		return resolve(c, cfg, u);
	};
	ASSERT_EQ(run_map_all(h.ctx, hooks), 0) << h.err.str();
	EXPECT_EQ(sleeps, (std::vector<long>{500, 1000}));
	EXPECT_EQ(h.out.str(), "p/v /dev/qbd0\n");

	// Never up: attempts until the budget (3 s) is spent, then one error.
	Harness g({"-M", "-f", "/placeholder", "--retry-timeout", "3"});
	g.ctx.opts.map_file = write_map_conf(g.dir, "p/v\n");
	sleeps.clear();
	hooks.resolve_volume = [](Context &, const ClientConfig &,
				  const VolumeUrl &) -> Result<ResolvedVolume> {
		return make_error(EHOSTUNREACH, "127.0.0.1:7000: Connection refused");
	};
	EXPECT_EQ(run_map_all(g.ctx, hooks), 1);
	EXPECT_EQ(sleeps, (std::vector<long>{500, 1000}));
	EXPECT_EQ(g.err.str(), "qbd: map-all: " + g.ctx.opts.map_file + ":1: p/v: 127.0.0.1:7000: "
			       "Connection refused (gave up after 3 attempts, --retry-timeout 3 s)\n");
	EXPECT_TRUE(g.fake->maps.empty());

	// A permanent error is not retried.
	Harness p({"-M", "-f", "/placeholder"});
	p.ctx.opts.map_file = write_map_conf(p.dir, "p/v\n");
	sleeps.clear();
	hooks.resolve_volume = [](Context &, const ClientConfig &,
				  const VolumeUrl &) -> Result<ResolvedVolume> {
		return make_error(ENOENT, "volume 'p/v' not found");
	};
	EXPECT_EQ(run_map_all(p.ctx, hooks), 1);
	EXPECT_TRUE(sleeps.empty());
	EXPECT_EQ(p.err.str(), "qbd: map-all: " + p.ctx.opts.map_file +
				       ":1: p/v: volume 'p/v' not found\n");
}

TEST(CliMapAll, MissingFileFails)
{
	Harness h({"-M", "-f", "/nonexistent/map.conf"});
	int settled = 0;
	EXPECT_EQ(run_map_all(h.ctx, fake_hooks(sample_volume(), &settled)), 1);
	EXPECT_EQ(h.err.str(), "qbd: map-all: cannot read map file '/nonexistent/map.conf': No such "
			       "file or directory\n");
}

// qbd --watch backoff: doubling per failure in a row, capped, events during
// the wait answered once when it is over, a success starts from scratch.
TEST(WatchBackoff, DoublesCapsAndForgets)
{
	using namespace std::chrono;
	WatchBackoff b(seconds(8), seconds(60));
	auto t = WatchBackoff::Clock::time_point{} + hours(1);
	EXPECT_TRUE(b.event(3, t));
	EXPECT_EQ(b.poll_timeout_ms(t), -1);
	EXPECT_EQ(b.failed(3, t), seconds(8));
	EXPECT_FALSE(b.event(3, t + seconds(1)));  // held, remembered
	EXPECT_FALSE(b.due(t + seconds(7)));
	EXPECT_EQ(b.poll_timeout_ms(t + seconds(7)), 1000);
	EXPECT_EQ(b.due(t + seconds(8)), 3);
	EXPECT_FALSE(b.due(t + seconds(8)));  // taken once
	EXPECT_EQ(b.failed(3, t + seconds(8)), seconds(16));
	EXPECT_EQ(b.failed(3, t + seconds(24)), seconds(32));
	EXPECT_EQ(b.failed(3, t + seconds(56)), seconds(60));  // capped
	EXPECT_EQ(b.failed(3, t + seconds(116)), seconds(60));
	EXPECT_EQ(b.failures(3), 5u);
	EXPECT_FALSE(b.due(t + hours(1)));  // no event meanwhile: nothing to do
	EXPECT_TRUE(b.event(3, t + seconds(176)));  // wait over: at once
	EXPECT_TRUE(b.event(4, t));  // other devices are not held by it
	b.forget(3);
	EXPECT_EQ(b.failures(3), 0u);
	EXPECT_EQ(b.failed(3, t), seconds(8));
}
