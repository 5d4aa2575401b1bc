// /etc/qbd/map.conf parsing: good lines, every kind of bad line with its
// number, comments, duplicates.
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "map_conf.h"

using namespace qbd;

TEST(MapConf, GoodLines)
{
	auto mc = parse_map_conf("# boot volumes\n"
				 "\n"
				 "pool1/vol1\n"
				 "  tcp://pool1/vol2   /etc/qbd/other.conf   # trailing comment\n"
				 "rdma://pool2/db - 50M 1G 2000 0\n"
				 "pool2/logs\t/etc/qbd/x.conf\t1K 2k 3 4\r\n"
				 "pool3/last 0 0 0 0",
				 "map.conf");
	ASSERT_TRUE(mc.errors.empty()) << mc.errors[0];
	ASSERT_EQ(mc.entries.size(), 5u);
	const auto &e = mc.entries;
	EXPECT_EQ(e[0].line, 3u);
	EXPECT_EQ(e[0].url.name(), "pool1/vol1");
	EXPECT_EQ(e[0].text, "pool1/vol1");
	EXPECT_EQ(e[0].config, "");
	EXPECT_FALSE(e[0].limits.has_value());
	EXPECT_EQ(e[1].line, 4u);
	EXPECT_EQ(e[1].text, "tcp://pool1/vol2");
	EXPECT_EQ(e[1].config, "/etc/qbd/other.conf");
	EXPECT_FALSE(e[1].limits.has_value());
	EXPECT_EQ(e[2].url.transport, Transport::rdma);
	EXPECT_EQ(e[2].config, "");
	ASSERT_TRUE(e[2].limits.has_value());
	EXPECT_EQ(*e[2].limits, (MapLimits{50ull << 20, 1ull << 30, 2000, 0}));
	EXPECT_EQ(e[3].config, "/etc/qbd/x.conf");
	EXPECT_EQ(*e[3].limits, (MapLimits{1024, 2048, 3, 4}));
	EXPECT_EQ(e[4].line, 7u);
	EXPECT_EQ(*e[4].limits, (MapLimits{0, 0, 0, 0}));
}

TEST(MapConf, EmptyAndCommentsOnly)
{
	EXPECT_TRUE(parse_map_conf("", "f").entries.empty());
	EXPECT_TRUE(parse_map_conf("", "f").errors.empty());
	auto mc = parse_map_conf("# nothing\n   \n\t# still nothing\n", "f");
	EXPECT_TRUE(mc.entries.empty());
	EXPECT_TRUE(mc.errors.empty());
}

TEST(MapConf, EveryBadLineIsReportedWithItsNumberAndSkipped)
{
	const std::pair<const char *, const char *> cases[] = {
		{"pool//v", "invalid volume 'pool//v': empty volume name"},
		{"nbd://p/v", "invalid volume 'nbd://p/v': unknown transport 'nbd://'; use tcp:// or "
			      "rdma://"},
		{"novolume", "invalid volume 'novolume': no '/' between pool and volume; expected "
			     "POOL/VOLUME"},
		{"p/v relative.conf", "config 'relative.conf' is not an absolute path (or '-' for the "
				      "default)"},
		{"p/v 1 2", "3 fields; expected VOLUME [CONFIG] [READ_BPS WRITE_BPS READ_IOPS "
			    "WRITE_IOPS]"},
		{"p/v 1 2 3", "4 fields; expected VOLUME [CONFIG] [READ_BPS WRITE_BPS READ_IOPS "
			      "WRITE_IOPS]"},
		{"p/v /c 1 2 3 4 5", "7 fields; expected VOLUME [CONFIG] [READ_BPS WRITE_BPS "
				     "READ_IOPS WRITE_IOPS]"},
		{"p/v 1Q 0 0 0", nullptr},  // read_bps '1Q': parse_size's reason
		{"p/v 0 x 0 0", nullptr},
		{"p/v 0 0 1k 0", "read_iops '1k' is not a non-negative integer"},
		{"p/v 0 0 0 -1", "write_iops '-1' is not a non-negative integer"},
		{"p/v 0 0 0 99999999999999999999999", "write_iops '99999999999999999999999' is too "
						      "large"},
		{"p/v - 0 0 0 1.5", "write_iops '1.5' is not a non-negative integer"},
	};
	for (const auto &[line, msg] : cases) {
		std::string text = "good/one\n# comment\n" + std::string(line) + "\ngood/two\n";
		auto mc = parse_map_conf(text, "/etc/qbd/map.conf");
		ASSERT_EQ(mc.errors.size(), 1u) << line;
		if (msg)
			EXPECT_EQ(mc.errors[0], "/etc/qbd/map.conf:3: " + std::string(msg)) << line;
		else
			EXPECT_EQ(mc.errors[0].rfind("/etc/qbd/map.conf:3: ", 0), 0u) << mc.errors[0];
		ASSERT_EQ(mc.entries.size(), 2u) << line;
		EXPECT_EQ(mc.entries[0].url.name(), "good/one");
		EXPECT_EQ(mc.entries[1].url.name(), "good/two");
		EXPECT_EQ(mc.entries[1].line, 4u);
	}
	auto bps = parse_map_conf("p/v 0 7X 0 0\n", "m");
	ASSERT_EQ(bps.errors.size(), 1u);
	EXPECT_EQ(bps.errors[0].rfind("m:1: write_bps '7X': ", 0), 0u) << bps.errors[0];
}

TEST(MapConf, DuplicateVolumeIsAnErrorOnTheLaterLine)
{
	auto mc = parse_map_conf("p/v\nq/w\ntcp://p/v /etc/qbd/a.conf\n", "m");
	ASSERT_EQ(mc.errors.size(), 1u);
	EXPECT_EQ(mc.errors[0], "m:3: volume 'p/v' is already listed on line 1");
	ASSERT_EQ(mc.entries.size(), 2u);
}

TEST(MapConf, SeveralBadLinesInOrder)
{
	auto mc = parse_map_conf("a//b\nok/1\nc d e\n\nx/y 1 2\n", "m");
	ASSERT_EQ(mc.errors.size(), 3u);
	EXPECT_EQ(mc.errors[0].rfind("m:1: ", 0), 0u);
	EXPECT_EQ(mc.errors[1].rfind("m:3: ", 0), 0u);
	EXPECT_EQ(mc.errors[2].rfind("m:5: ", 0), 0u);
	ASSERT_EQ(mc.entries.size(), 1u);
	EXPECT_EQ(mc.entries[0].line, 2u);
}

TEST(MapConf, LoadFromFile)
{
	char path[] = "/tmp/qbd_map_conf.XXXXXX";
	int fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	close(fd);
	std::ofstream(path) << "p/v\nbad\n";
	auto mc = load_map_conf(path);
	ASSERT_TRUE(mc.ok()) << mc.error().message;
	EXPECT_EQ(mc->entries.size(), 1u);
	ASSERT_EQ(mc->errors.size(), 1u);
	EXPECT_EQ(mc->errors[0].rfind(std::string(path) + ":2: ", 0), 0u);
	unlink(path);
	auto missing = load_map_conf("/nonexistent/map.conf");
	ASSERT_FALSE(missing.ok());
	EXPECT_EQ(missing.error().code, ENOENT);
	EXPECT_EQ(missing.error().message,
		  "cannot read map file '/nonexistent/map.conf': No such file or directory");
}
