// Volume URL parsing: [tcp://|rdma://]POOL/VOLUME, every rule.
#include <cctype>
#include <string>

#include <gtest/gtest.h>

#include "volume_url.h"

using qbd::parse_volume_url;
using qbd::Transport;

TEST(VolumeUrl, PlainPoolVolume)
{
	auto r = parse_volume_url("pool1/vol1");
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->pool, "pool1");
	EXPECT_EQ(r->volume, "vol1");
	EXPECT_EQ(r->transport, Transport::tcp);
	EXPECT_FALSE(r->explicit_transport);
	EXPECT_EQ(r->name(), "pool1/vol1");
}

TEST(VolumeUrl, Schemes)
{
	auto t = parse_volume_url("tcp://p/v");
	ASSERT_TRUE(t.ok()) << t.error().message;
	EXPECT_EQ(t->transport, Transport::tcp);
	EXPECT_TRUE(t->explicit_transport);
	auto r = parse_volume_url("rdma://p/v");
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->transport, Transport::rdma);
	EXPECT_EQ(r->pool, "p");
	EXPECT_STREQ(qbd::transport_name(Transport::rdma), "rdma");
	EXPECT_STREQ(qbd::transport_name(Transport::tcp), "tcp");
}

TEST(VolumeUrl, AllowedCharacters)
{
	auto r = parse_volume_url("A-z_0.9/x.Y-z_9");
	ASSERT_TRUE(r.ok()) << r.error().message;
	EXPECT_EQ(r->pool, "A-z_0.9");
	EXPECT_EQ(r->volume, "x.Y-z_9");
	// Dots are fine when the name is more than "." or "..".
	EXPECT_TRUE(parse_volume_url(".../.a").ok());
}

TEST(VolumeUrl, LengthLimits)
{
	std::string p63(63, 'p'), p64(64, 'p'), v127(127, 'v'), v128(128, 'v');
	EXPECT_TRUE(parse_volume_url(p63 + "/v").ok());
	EXPECT_TRUE(parse_volume_url("p/" + v127).ok());
	auto lp = parse_volume_url(p64 + "/v");
	ASSERT_FALSE(lp.ok());
	EXPECT_EQ(lp.error().message, "pool name is 64 characters long, the limit is 63");
	auto lv = parse_volume_url("p/" + v128);
	ASSERT_FALSE(lv.ok());
	EXPECT_EQ(lv.error().message, "volume name is 128 characters long, the limit is 127");
}

struct BadCase {
	const char *input;
	const char *message;
};

// gtest prints the case by its input rather than its bytes.
void PrintTo(const BadCase &c, std::ostream *os)
{
	*os << "'" << c.input << "'";
}

class VolumeUrlBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(VolumeUrlBad, SaysWhichRuleBroke)
{
	const BadCase &c = GetParam();
	auto r = parse_volume_url(c.input);
	ASSERT_FALSE(r.ok()) << "'" << c.input << "' parsed as " << r->name();
	EXPECT_EQ(r.error().code, EINVAL);
	EXPECT_EQ(r.error().message, c.message) << "input '" << c.input << "'";
}

INSTANTIATE_TEST_SUITE_P(
	Rules, VolumeUrlBad,
	::testing::Values(
		BadCase{"", "empty volume URL; expected [tcp://|rdma://]POOL/VOLUME"},
		BadCase{"tcp://", "empty volume URL; expected [tcp://|rdma://]POOL/VOLUME"},
		BadCase{"nbd://p/v", "unknown transport 'nbd://'; use tcp:// or rdma://"},
		BadCase{"TCP://p/v", "unknown transport 'TCP://'; use tcp:// or rdma://"},
		BadCase{"://p/v", "unknown transport '://'; use tcp:// or rdma://"},
		BadCase{"poolvol", "no '/' between pool and volume; expected POOL/VOLUME"},
		BadCase{"/v", "empty pool name"},
		BadCase{"p/", "empty volume name"},
		BadCase{"pool//v", "empty volume name"},
		BadCase{"p/v/w", "more than one '/'; expected exactly POOL/VOLUME"},
		BadCase{"p/v/", "more than one '/'; expected exactly POOL/VOLUME"},
		BadCase{"./v", "pool name '.' is reserved"},
		BadCase{"../v", "pool name '..' is reserved"},
		BadCase{"p/.", "volume name '.' is reserved"},
		BadCase{"p/..", "volume name '..' is reserved"},
		BadCase{"po ol/v", "pool name has ' ' at position 3; allowed are A-Z a-z 0-9 . _ -"},
		BadCase{"p/v:1", "volume name has ':' at position 2; allowed are A-Z a-z 0-9 . _ -"},
		BadCase{"p/v\x01", "volume name has byte 0x01 at position 2; allowed are A-Z a-z 0-9 . _ -"},
		BadCase{"p/v\xc3\xa9", "volume name has byte 0xc3 at position 2; allowed are A-Z a-z 0-9 . _ -"},
		BadCase{"tcp://rdma://p/v", "pool name has ':' at position 5; allowed are A-Z a-z 0-9 . _ -"}),
	[](const ::testing::TestParamInfo<BadCase> &info) {
		// The case's index and its input with everything but [A-Za-z0-9] as '_'.
		std::string n = std::to_string(info.index) + "_";
		for (const char *p = info.param.input; *p; p++)
			n += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
		return n;
	});

TEST(VolumeUrl, CheckPartNamesWhat)
{
	auto st = qbd::check_volume_part("pool", "", 63);
	ASSERT_FALSE(st.ok());
	EXPECT_EQ(st.error().message, "empty pool name");
	EXPECT_TRUE(qbd::check_volume_part("volume", "ok", 127).ok());
}
