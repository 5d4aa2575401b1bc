// /dev/qbdctl wrapper and filling struct qbd_map from a config and a volume.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstring>

#include <gtest/gtest.h>

#include "ioctl.h"
#include "map_request.h"

using namespace qbd;
using namespace qbd::cli;

namespace {

MapInput sample_input()
{
	MapInput in;
	in.url = *parse_volume_url("tcp://pool1/vol1");
	in.config.io_depth = 64;
	in.config.io_timeout = 30;
	in.config.conn_timeout = 8;
	in.config.heartbeat_interval = 1;
	in.config.heartbeat_timeout = 3;
	in.volume.pool = "pool1";
	in.volume.volume = "vol1";
	in.volume.vol_id = 42;
	in.volume.size = 10ull << 30;
	in.volume.block_size = 4096;
	in.volume.shard_size = 64ull << 20;
	in.volume.layout_version = 7;
	in.servers = {*resolve_server(Endpoint{"127.0.0.1", 7000})};
	return in;
}

}  // namespace

TEST(IoctlStructs, HeadersCarryTheirSize)
{
	EXPECT_EQ(make_map_struct().hdr.size, sizeof(qbd_map));
	EXPECT_EQ(make_map_struct().dev_id, -1);
	EXPECT_EQ(make_info_struct(3).hdr.size, sizeof(qbd_info));
	EXPECT_EQ(make_info_struct(3).dev_id, 3);
	EXPECT_EQ(make_features_struct().hdr.size, sizeof(qbd_features));
	qbd_unmap u = make_unmap_struct(5, true);
	EXPECT_EQ(u.hdr.size, sizeof(qbd_unmap));
	EXPECT_EQ(u.hdr.flags, QBD_UNMAP_F_FORCE);
	EXPECT_EQ(u.dev_id, 5);
	EXPECT_EQ(make_unmap_struct(5, false).hdr.flags, 0u);
}

TEST(MapRequest, FillsEveryField)
{
	MapInput in = sample_input();
	in.options.nr_queues = 2;
	in.options.read_bps = 50ull << 20;
	in.options.write_iops = 2000;
	auto r = build_map_request(in);
	ASSERT_TRUE(r.ok()) << r.error().message;
	const qbd_map &m = *r;
	EXPECT_EQ(m.hdr.size, sizeof(qbd_map));
	EXPECT_EQ(m.hdr.flags, 0u);
	EXPECT_STREQ(m.pool, "pool1");
	EXPECT_STREQ(m.volume, "vol1");
	EXPECT_EQ(m.vol_id, 42u);
	EXPECT_EQ(m.size, 10ull << 30);
	EXPECT_EQ(m.block_size, 4096u);
	EXPECT_EQ(m.layout_version, 7u);
	EXPECT_EQ(m.shard_size, 64ull << 20);
	EXPECT_EQ(m.transport, static_cast<__u32>(QBD_TRANSPORT_TCP));
	EXPECT_EQ(m.nr_servers, 1u);
	EXPECT_EQ(m.servers[0].family, AF_INET);
	EXPECT_EQ(m.servers[0].port, 7000);
	const uint8_t lo[4] = {127, 0, 0, 1};
	EXPECT_EQ(std::memcmp(m.servers[0].addr, lo, 4), 0);
	EXPECT_EQ(m.nr_queues, 2u);
	EXPECT_EQ(m.io_depth, 64u);
	EXPECT_EQ(m.io_timeout_ms, 30000u);
	EXPECT_EQ(m.conn_timeout_ms, 8000u);
	EXPECT_EQ(m.hb_interval_ms, 1000u);
	EXPECT_EQ(m.hb_timeout_ms, 3000u);
	EXPECT_EQ(m.read_bps, 50ull << 20);
	EXPECT_EQ(m.write_bps, 0u);
	EXPECT_EQ(m.read_iops, 0u);
	EXPECT_EQ(m.write_iops, 2000u);
	EXPECT_EQ(m.key_len, 0u);
	for (auto x : m.reserved)
		EXPECT_EQ(x, 0u);
	for (unsigned i = 1; i < QBD_MAX_SERVERS; i++)
		EXPECT_EQ(m.servers[i].family, 0u) << "server slot " << i;
}

TEST(MapRequest, ReadOnlyAndRdma)
{
	MapInput in = sample_input();
	in.readonly = true;
	in.url = *parse_volume_url("rdma://pool1/vol1");
	auto r = build_map_request(in);
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->hdr.flags, QBD_MAP_F_READONLY);
	EXPECT_EQ(r->transport, static_cast<__u32>(QBD_TRANSPORT_RDMA));
}

TEST(MapRequest, MaximalNamesFitWithTheirNul)
{
	MapInput in = sample_input();
	in.url.pool = std::string(63, 'p');
	in.url.volume = std::string(127, 'v');
	auto r = build_map_request(in);
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->pool[62], 'p');
	EXPECT_EQ(r->pool[63], '\0');
	EXPECT_EQ(r->volume[126], 'v');
	EXPECT_EQ(r->volume[127], '\0');
}

TEST(MapRequest, RejectsWhatTheModuleWould)
{
	struct Case {
		const char *name;
		void (*mutate)(MapInput &);
		const char *expect;
	};
	const Case cases[] = {
		{"block size 1024", [](MapInput &in) { in.volume.block_size = 1024; },
		 "server reports block size 1024 for pool1/vol1; the module supports 512 and 4096"},
		{"size 0", [](MapInput &in) { in.volume.size = 0; },
		 "server reports size 0 for pool1/vol1, not a non-zero multiple of the block size 4096"},
		{"size not aligned", [](MapInput &in) { in.volume.size = 4096 + 512; },
		 "server reports size 4608 for pool1/vol1, not a non-zero multiple of the block size 4096"},
		{"shard not power of two", [](MapInput &in) { in.volume.shard_size = 3ull << 20; },
		 "server reports shard size 3145728 for pool1/vol1, not a power of two >= 1 MiB"},
		{"shard too small", [](MapInput &in) { in.volume.shard_size = 512 << 10; },
		 "server reports shard size 524288 for pool1/vol1, not a power of two >= 1 MiB"},
		{"no servers", [](MapInput &in) { in.servers.clear(); },
		 "0 servers for pool1/vol1; the module takes 1..8"},
		{"nine servers", [](MapInput &in) { in.servers.resize(9, in.servers[0]); },
		 "9 servers for pool1/vol1; the module takes 1..8"},
		{"bad family", [](MapInput &in) { in.servers[0].family = AF_UNIX; },
		 "server 0 has address family 1; only IPv4 and IPv6 are supported"},
		{"port 0", [](MapInput &in) { in.servers[0].port = 0; }, "server 0 has port 0"},
		{"io_depth 0", [](MapInput &in) { in.config.io_depth = 0; },
		 "io_depth 0 is outside 1..1024"},
		{"pool too long", [](MapInput &in) { in.url.pool = std::string(64, 'p'); },
		 "pool name is 64 characters long, the limit is 63"},
	};
	for (const Case &c : cases) {
		MapInput in = sample_input();
		c.mutate(in);
		auto r = build_map_request(in);
		ASSERT_FALSE(r.ok()) << c.name;
		EXPECT_EQ(r.error().code, EINVAL) << c.name;
		EXPECT_EQ(r.error().message, c.expect) << c.name;
	}
}

TEST(ResolveServer, Ipv4AndIpv6Literals)
{
	auto v4 = resolve_server(Endpoint{"10.1.2.3", 7000});
	ASSERT_TRUE(v4.ok()) << v4.error().message;
	EXPECT_EQ(v4->family, AF_INET);
	EXPECT_EQ(v4->port, 7000);
	EXPECT_EQ(format_server_addr(*v4), "10.1.2.3:7000");

	auto v6 = resolve_server(Endpoint{"::1", 7000}, 7001);
	ASSERT_TRUE(v6.ok()) << v6.error().message;
	EXPECT_EQ(v6->family, AF_INET6);
	EXPECT_EQ(v6->port, 7001);
	EXPECT_EQ(v6->addr[15], 1);
	EXPECT_EQ(format_server_addr(*v6), "[::1]:7001");
}

TEST(ResolveServer, UnknownNameFails)
{
	auto r = resolve_server(Endpoint{"no-such-host.invalid", 7000});
	ASSERT_FALSE(r.ok());
	EXPECT_NE(r.error().message.find("cannot resolve server 'no-such-host.invalid'"),
		  std::string::npos)
		<< r.error().message;
}

TEST(IoctlNames, StatesTransportsAddresses)
{
	EXPECT_EQ(state_name(QBD_STATE_LIVE), "live");
	EXPECT_EQ(state_name(QBD_STATE_RECONNECTING), "reconnecting");
	EXPECT_EQ(state_name(QBD_STATE_FAILED), "failed");
	EXPECT_EQ(state_name(QBD_STATE_DELETING), "deleting");
	EXPECT_EQ(state_name(99), "unknown(99)");
	EXPECT_EQ(transport_code_name(QBD_TRANSPORT_TCP), "tcp");
	EXPECT_EQ(transport_code_name(QBD_TRANSPORT_RDMA), "rdma");
	EXPECT_EQ(transport_code_name(0), "unknown(0)");
	qbd_server_addr a{};
	a.family = 77;
	EXPECT_EQ(format_server_addr(a), "invalid(family 77)");
	char s[4] = {'a', 'b', 'c', 'd'};
	EXPECT_EQ(fixed_string(s, 4), "abcd");
	EXPECT_EQ(fixed_string("ab\0cd", 5), "ab");
}

TEST(IoctlAdvice, ErrnoToWords)
{
	EXPECT_EQ(ioctl_advice(EPERM), "need root (CAP_SYS_ADMIN)");
	EXPECT_EQ(ioctl_advice(EBUSY), "device is in use");
	EXPECT_EQ(ioctl_advice(ENOENT), "no such device");
	EXPECT_NE(ioctl_advice(EINVAL).find("dmesg"), std::string::npos);
	EXPECT_EQ(ioctl_advice(EDOM), "");
}

TEST(ControlDevice, MissingNodeSaysSo)
{
	auto r = ControlDevice::open("/nonexistent/qbdctl");
	ASSERT_FALSE(r.ok());
	EXPECT_EQ(r.error().code, ENOENT);
	EXPECT_EQ(r.error().message, "cannot open /nonexistent/qbdctl: No such file or directory "
				     "(is the qbd module loaded?)");
}

TEST(ControlDevice, NotAControlDevice)
{
	// /dev/null takes no ioctls: every call fails with ENOTTY, named.
	auto r = ControlDevice::open("/dev/null");
	ASSERT_TRUE(r.ok()) << r.error().message;
	auto f = (*r)->get_features();
	ASSERT_FALSE(f.ok());
	EXPECT_EQ(f.error().code, ENOTTY);
	EXPECT_EQ(f.error().message.rfind("QBD_IOC_GET_FEATURES on /dev/null: ", 0), 0u)
		<< f.error().message;
	auto l = (*r)->list();
	ASSERT_FALSE(l.ok());
	EXPECT_EQ(l.error().code, ENOTTY);
	auto u = (*r)->unmap(0, false);
	ASSERT_FALSE(u.ok());
	EXPECT_NE(u.error().message.find("QBD_IOC_UNMAP"), std::string::npos);
	auto m = (*r)->map(make_map_struct());
	ASSERT_FALSE(m.ok());
	EXPECT_NE(m.error().message.find("QBD_IOC_MAP"), std::string::npos);
	auto i = (*r)->info(0);
	ASSERT_FALSE(i.ok());
	EXPECT_NE(i.error().message.find("QBD_IOC_INFO"), std::string::npos);
}

TEST(IoctlStructs, ThrottleSuspendResize)
{
	qbd_throttle t = make_throttle_struct(4);
	EXPECT_EQ(t.hdr.size, sizeof(qbd_throttle));
	EXPECT_EQ(t.hdr.flags, 0u);
	EXPECT_EQ(t.dev_id, 4);
	EXPECT_EQ(t.read_bps + t.write_bps + t.read_iops + t.write_iops + t.burst_ms, 0u);
	for (auto r : t.reserved)
		EXPECT_EQ(r, 0u);
	qbd_suspend s = make_suspend_struct(2, QBD_RESUME_DISCARD);
	EXPECT_EQ(s.hdr.size, sizeof(qbd_suspend));
	EXPECT_EQ(s.dev_id, 2);
	EXPECT_EQ(s.mode, static_cast<__u32>(QBD_RESUME_DISCARD));
	for (auto r : s.reserved)
		EXPECT_EQ(r, 0u);
	qbd_resize z = make_resize_struct(7, 1ull << 40);
	EXPECT_EQ(z.hdr.size, sizeof(qbd_resize));
	EXPECT_EQ(z.dev_id, 7);
	EXPECT_EQ(z.size, 1ull << 40);
	EXPECT_EQ(z.reserved0, 0u);
}

TEST(IoctlNames, SuspendedAndResumeModes)
{
	EXPECT_EQ(state_name(QBD_STATE_SUSPENDED), "suspended");
	EXPECT_EQ(resume_mode_name(QBD_RESUME_NORMAL), "normal");
	EXPECT_EQ(resume_mode_name(QBD_RESUME_ERROR), "error");
	EXPECT_EQ(resume_mode_name(QBD_RESUME_DISCARD), "discard");
	EXPECT_EQ(resume_mode_name(9), "unknown(9)");
	EXPECT_EQ(*parse_resume_mode("normal"), static_cast<uint32_t>(QBD_RESUME_NORMAL));
	EXPECT_EQ(*parse_resume_mode("error"), static_cast<uint32_t>(QBD_RESUME_ERROR));
	EXPECT_EQ(*parse_resume_mode("discard"), static_cast<uint32_t>(QBD_RESUME_DISCARD));
	for (const char *bad : {"", "Normal", "eio", "discard "}) {
		auto r = parse_resume_mode(bad);
		ASSERT_FALSE(r.ok()) << bad;
		EXPECT_EQ(r.error().message, "resume mode '" + std::string(bad) +
						     "' is not one of normal, error, discard");
	}
}

TEST(ControlDevice, NewIoctlsAreNamedInErrors)
{
	auto r = ControlDevice::open("/dev/null");
	ASSERT_TRUE(r.ok()) << r.error().message;
	const std::pair<Status, const char *> calls[] = {
		{(*r)->set_throttle(make_throttle_struct(0)), "QBD_IOC_SET_THROTTLE on /dev/null: "},
		{(*r)->suspend(0), "QBD_IOC_SUSPEND on /dev/null: "},
		{(*r)->resume(0, QBD_RESUME_ERROR), "QBD_IOC_RESUME on /dev/null: "},
		{(*r)->resize(0, 1 << 20), "QBD_IOC_RESIZE on /dev/null: "},
	};
	for (const auto &[st, prefix] : calls) {
		ASSERT_FALSE(st.ok()) << prefix;
		EXPECT_EQ(st.error().code, ENOTTY) << prefix;
		EXPECT_EQ(st.error().message.rfind(prefix, 0), 0u) << st.error().message;
	}
}
