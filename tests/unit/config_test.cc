// Endpoint, size and configuration-file parsing: good input and every bad line.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "config.h"
#include "server_config.h"

using namespace qbd;

TEST(Endpoint, Good)
{
	struct Case {
		const char *in;
		std::string host;
		uint16_t port;
		std::string str;
	} cases[] = {
		{"10.0.0.1:7000", "10.0.0.1", 7000, "10.0.0.1:7000"},
		{"host", "host", 7000, "host:7000"},
		{"host.example-1:1", "host.example-1", 1, "host.example-1:1"},
		{"[::1]:7001", "::1", 7001, "[::1]:7001"},
		{"[fe80::1]", "fe80::1", 7000, "[fe80::1]:7000"},
		{"::1", "::1", 7000, "[::1]:7000"},
		{"h:65535", "h", 65535, "h:65535"},
	};
	for (auto &k : cases) {
		auto r = parse_endpoint(k.in, 7000);
		ASSERT_TRUE(r.ok()) << k.in << ": " << r.error().message;
		EXPECT_EQ(r->host, k.host) << k.in;
		EXPECT_EQ(r->port, k.port) << k.in;
		EXPECT_EQ(r->str(), k.str) << k.in;
	}
}

TEST(Endpoint, Bad)
{
	struct Case {
		const char *in, *why;
	} cases[] = {
		{"", "empty address"},       {":7000", "empty host"},     {"h:", "empty port"},
		{"h:0", "not in 1..65535"},  {"h:65536", "not in 1..65535"}, {"h:7x", "not a number"},
		{"[::1", "missing ']'"},     {"[::1]7000", "expected ':PORT'"}, {"[host]:1", "only for IPv6"},
		{"a b:1", "not allowed"},    {"h/x", "not allowed"},      {"h:-1", "not a number"},
	};
	for (auto &k : cases) {
		auto r = parse_endpoint(k.in, 7000);
		ASSERT_FALSE(r.ok()) << k.in;
		EXPECT_NE(r.error().message.find(k.why), std::string::npos) << k.in << ": " << r.error().message;
		EXPECT_NE(r.error().message.find(std::string("'") + k.in + "'"), std::string::npos)
			<< "error names the input: " << r.error().message;
	}
	EXPECT_FALSE(parse_endpoint("host", 0).ok()) << "no default port";
}

TEST(Size, Good)
{
	struct Case {
		const char *in;
		uint64_t v;
	} cases[] = {
		{"0", 0},           {"4096", 4096},          {"512K", 512ull << 10}, {"512k", 512ull << 10},
		{"10G", 10ull << 30}, {"1T", 1ull << 40},    {"3M", 3ull << 20},     {"2GiB", 2ull << 30},
		{"2GB", 2ull << 30}, {"100B", 100},          {"16777215T", 16777215ull << 40},
		{"18446744073709551615", UINT64_MAX},
	};
	for (auto &k : cases) {
		auto r = parse_size(k.in);
		ASSERT_TRUE(r.ok()) << k.in << ": " << r.error().message;
		EXPECT_EQ(*r, k.v) << k.in;
	}
}

TEST(Size, Bad)
{
	for (const char *in : {"", "G", "-1", "1.5G", "10X", "10GG", "10 G", "16777216T", "18446744073709551616",
			       "1Gx", "0x10"}) {
		auto r = parse_size(in);
		ASSERT_FALSE(r.ok()) << in;
		EXPECT_NE(r.error().message.find(std::string("'") + in + "'"), std::string::npos)
			<< "error names the input: " << r.error().message;
	}
}

TEST(ClientConfig, DesignExample)
{
	const char *text = R"([cluster]
servers = 10.0.0.1:7000,10.0.0.2:7000   # embedded default: qbd-server endpoints
# zookeeper = zk1:2181,zk2:2181         # cluster mode (later)
[client]
io_depth = 128
io_timeout = 30          # seconds an IO may wait for a server before it fails
conn_timeout = 8
heartbeat_interval = 1
heartbeat_timeout = 3
)";
	auto r = parse_client_config(text, "qbd.conf");
	ASSERT_TRUE(r.ok()) << r.error().message;
	ASSERT_EQ(r->servers.size(), 2u);
	EXPECT_EQ(r->servers[1], (Endpoint{"10.0.0.2", 7000}));
	EXPECT_EQ(r->io_depth, 128u);
	EXPECT_EQ(r->io_timeout, 30u);
}

TEST(ClientConfig, DefaultsAndOverrides)
{
	auto r = parse_client_config("", "qbd.conf");
	ASSERT_TRUE(r.ok());
	ASSERT_EQ(r->servers.size(), 1u);
	EXPECT_EQ(r->servers[0], (Endpoint{"127.0.0.1", 7000}));
	EXPECT_EQ(r->io_depth, 128u);
	EXPECT_EQ(r->conn_timeout, 8u);
	EXPECT_EQ(r->heartbeat_interval, 1u);
	EXPECT_EQ(r->heartbeat_timeout, 3u);
	EXPECT_FALSE(r->digest);
	for (const char *on : {"on", "yes", "true", "1"})
		EXPECT_TRUE(parse_client_config(std::string("[client]\ndigest = ") + on + "\n", "c")->digest) << on;
	for (const char *off : {"off", "no", "false", "0"})
		EXPECT_FALSE(parse_client_config(std::string("[client]\ndigest = ") + off + "\n", "c")->digest) << off;
	r = parse_client_config("[client]\r\nio_depth=7\n; comment\n[other]\nanything = at all\n[cluster]\nservers = [::1]:9000, h\n",
				"x.conf");
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->io_depth, 7u);
	ASSERT_EQ(r->servers.size(), 2u);
	EXPECT_EQ(r->servers[0], (Endpoint{"::1", 9000}));
	EXPECT_EQ(r->servers[1], (Endpoint{"h", 7000}));
}

TEST(ClientConfig, EveryBadLine)
{
	struct Case {
		const char *text;
		const char *where, *why;
	} cases[] = {
		{"io_depth = 1\n", "qbd.conf:1:", "outside of a section"},
		{"[client\n", "qbd.conf:1:", "no closing ']'"},
		{"[]\n", "qbd.conf:1:", "empty section"},
		{"[client]\nio_depth\n", "qbd.conf:2:", "expected 'key = value'"},
		{"[client]\n= 5\n", "qbd.conf:2:", "empty key"},
		{"[client]\nio_depth = 0\n", "qbd.conf:2:", "not in 1..1024"},
		{"[client]\nio_depth = 1025\n", "qbd.conf:2:", "not in 1..1024"},
		{"[client]\nio_depth = ten\n", "qbd.conf:2:", "not a number"},
		{"[client]\nio_depth = -1\n", "qbd.conf:2:", "not a number"},
		{"[client]\nio_depth =\n", "qbd.conf:2:", "not a number"},
		{"[client]\nio_timeout = 0\n", "qbd.conf:2:", "not in 1..86400"},
		{"[client]\nconn_timeout = 86401\n", "qbd.conf:2:", "not in 1..86400"},
		{"[client]\nheartbeat_interval = 99999999999\n", "qbd.conf:2:", "not in"},
		{"[client]\nheartbeat_timeout = 1x\n", "qbd.conf:2:", "not a number"},
		{"[client]\nbogus = 1\n", "qbd.conf:2:", "unknown key 'bogus'"},
		{"[client]\ndigest = maybe\n", "qbd.conf:2:", "expected on or off"},
		{"[client]\ndigest =\n", "qbd.conf:2:", "expected on or off"},
		{"[cluster]\nbogus = 1\n", "qbd.conf:2:", "unknown key 'bogus'"},
		{"[cluster]\nservers =\n", "qbd.conf:2:", "empty list"},
		{"[cluster]\nservers = a,,b\n", "qbd.conf:2:", "empty entry"},
		{"[cluster]\nservers = a:0\n", "qbd.conf:2:", "not in 1..65535"},
		{"[cluster]\nservers = 1,2,3,4,5,6,7,8,9\n", "qbd.conf:2:", "more than 8"},
		{"[client]\nheartbeat_interval = 5\nheartbeat_timeout = 2\n", "qbd.conf", "shorter than"},
	};
	for (auto &k : cases) {
		auto r = parse_client_config(k.text, "qbd.conf");
		ASSERT_FALSE(r.ok()) << k.text;
		EXPECT_EQ(r.error().message.rfind(k.where, 0), 0u) << k.text << " -> " << r.error().message;
		EXPECT_NE(r.error().message.find(k.why), std::string::npos) << k.text << " -> " << r.error().message;
	}
}

TEST(ClientConfig, LoadFile)
{
	auto missing = load_client_config("/nonexistent/qbd.conf", false);
	ASSERT_TRUE(missing.ok());
	EXPECT_EQ(missing->servers.size(), 1u);
	auto must = load_client_config("/nonexistent/qbd.conf", true);
	ASSERT_FALSE(must.ok());
	EXPECT_NE(must.error().message.find("/nonexistent/qbd.conf"), std::string::npos);
	char path[] = "/tmp/qbd-conf-XXXXXX";
	int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	close(fd);
	{
		std::ofstream f(path);
		f << "[client]\nio_timeout = 99\n[client]\nio_depth = x\n";
	}
	auto bad = load_client_config(path, true);
	unlink(path);
	ASSERT_FALSE(bad.ok());
	EXPECT_EQ(bad.error().message.rfind(std::string(path) + ":4:", 0), 0u) << bad.error().message;
}

TEST(ServerConfig, GoodAndBad)
{
	server::ServerConfigFile base;
	auto r = server::parse_server_config(
		"[server]\ndata_dir = /var/lib/qbd\nlisten = tcp://127.0.0.1:7100, [::1], rdma://10.0.0.1, "
		"rdma://10.0.0.2:7300\n"
		"max_connections = 10\nmax_queue_depth = 64\nmax_io = 512K\nreactors = 3\n"
		"direct_io = no\nlog_level = debug\n",
		"s.conf", base);
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->opts.data_dir, "/var/lib/qbd");
	ASSERT_EQ(r->opts.listen.size(), 2u);
	EXPECT_EQ(r->opts.listen[0], (Endpoint{"127.0.0.1", 7100}));
	EXPECT_EQ(r->opts.listen[1], (Endpoint{"::1", 7000}));
	ASSERT_EQ(r->opts.listen_rdma.size(), 2u);
	EXPECT_EQ(r->opts.listen_rdma[0], (Endpoint{"10.0.0.1", QBD_DEFAULT_RDMA_PORT}));
	EXPECT_EQ(r->opts.listen_rdma[1], (Endpoint{"10.0.0.2", 7300}));
	EXPECT_EQ(r->opts.limits.max_connections, 10u);
	EXPECT_EQ(r->opts.limits.max_queue_depth, 64u);
	EXPECT_EQ(r->opts.limits.max_io, 512u << 10);
	EXPECT_EQ(r->opts.reactors, 3u);
	EXPECT_FALSE(r->opts.direct);
	EXPECT_EQ(r->log_level, server::LogLevel::kDebug);
	struct Case {
		const char *text, *why;
	} bad[] = {
		{"data_dir = x\n", "outside of the [server]"},
		{"[srv]\n", "unknown section"},
		{"[server]\ndata_dir =\n", "empty"},
		{"[server]\nlisten = udp://1.2.3.4\n", "not tcp:// or rdma://"},
		{"[server]\nlisten = rdma://1.2.3.4:0\n", "not in 1..65535"},
		{"[server]\nlisten = tcp://h:0\n", "not in 1..65535"},
		{"[server]\nmax_connections = 0\n", "not in"},
		{"[server]\nmax_queue_depth = 5000\n", "not in"},
		{"[server]\nmax_io = 2M\n", "not a multiple of 512 in"},
		{"[server]\nmax_io = 1000\n", "not a multiple of 512 in"},
		{"[server]\ndirect_io = maybe\n", "not yes or no"},
		{"[server]\nlog_level = loud\n", "not debug"},
		{"[server]\nfoo = 1\n", "unknown key"},
	};
	for (auto &k : bad) {
		auto e = server::parse_server_config(k.text, "s.conf", base);
		ASSERT_FALSE(e.ok()) << k.text;
		EXPECT_EQ(e.error().message.rfind("s.conf:", 0), 0u) << e.error().message;
		EXPECT_NE(e.error().message.find(k.why), std::string::npos) << k.text << " -> " << e.error().message;
	}
}
