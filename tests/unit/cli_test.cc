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
		{{}, "no command; exactly one of -m, -u, -l, -i, -v is required; see qbd --help"},
		{{"-V"}, "no command; exactly one of -m, -u, -l, -i, -v is required; see qbd --help"},
		{{"-m", "p/v", "-u", "p/v"},
		 "-m and -u cannot be combined; exactly one of -m, -u, -l, -i, -v is required; "
		 "see qbd --help"},
		{{"-l", "-v"},
		 "-l and -v cannot be combined; exactly one of -m, -u, -l, -i, -v is required; "
		 "see qbd --help"},
		{{"-l", "--ro"}, "--ro is only valid with -m/--map; see qbd --help"},
		{{"-u", "p/v", "-o", "io_depth=1"}, "-o/--options is only valid with -m/--map; see qbd --help"},
		{{"-m", "p/v", "--force"}, "--force is only valid with -u/--unmap; see qbd --help"},
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
			    "write_bps, read_iops, write_iops"},
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
	int busy_dev = -1;  // unmap without force fails with EBUSY
	uint64_t features = QBD_FEAT_TCP;
	int next_id = 0;

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
		  "write_bps  read_iops  write_iops\n"
		  "0       11      /dev/qbd0  pool1/vol1                  -       1000      "
		  "0          0          0\n"
		  "2       12      /dev/qbd2  pool1/a-much-longer-volume  -       1000      "
		  "0          0          0\n");

	Harness j({"-l", "--json"});
	j.fake->devices[0] = sample_info(0, "pool1", "vol1", 11);
	ASSERT_EQ(run_list(j.ctx), 0);
	EXPECT_EQ(j.out.str(), "[\n  {\"dev_id\": 0, \"vol_id\": 11, \"device\": \"/dev/qbd0\", "
			       "\"volume\": \"pool1/vol1\", \"config\": \"-\", \"read_bps\": 1000, "
			       "\"write_bps\": 0, \"read_iops\": 0, \"write_iops\": 0}\n]\n");

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
	EXPECT_EQ(r.err, "qbd: no command; exactly one of -m, -u, -l, -i, -v is required; see qbd --help\n");
	EXPECT_EQ(r.out, "");

	r = run_binary("-m p/v -l");
	EXPECT_EQ(exit_code(r.status), 2);
	EXPECT_EQ(r.err, "qbd: -m and -l cannot be combined; exactly one of -m, -u, -l, -i, -v is "
			 "required; see qbd --help\n");
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
