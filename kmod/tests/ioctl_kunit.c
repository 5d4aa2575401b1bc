// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite qbd_ioctl: ioctl struct validation, one case per rule.
 */
#include <kunit/test.h>
#include <linux/socket.h>
#include "qbd_logic.h"

static void qbd_good_map(struct qbd_map *m)
{
	memset(m, 0, sizeof(*m));
	m->hdr.size = sizeof(*m);
	strscpy(m->pool, "pool1", sizeof(m->pool));
	strscpy(m->volume, "vol1", sizeof(m->volume));
	m->vol_id = 1;
	m->size = 1ULL << 30;
	m->block_size = 4096;
	m->shard_size = 4ULL << 20;
	m->transport = QBD_TRANSPORT_TCP;
	m->nr_servers = 1;
	m->servers[0].family = AF_INET;
	m->servers[0].port = 7000;
	m->servers[0].addr[0] = 127;
	m->servers[0].addr[3] = 1;
}

#define MUT(fn, body)                     \
	static void fn(struct qbd_map *m) \
	{                                 \
		body;                     \
	}
MUT(m_none, (void)m)
MUT(m_size_small, m->hdr.size = sizeof(*m) - 8)
MUT(m_size_big, m->hdr.size = sizeof(*m) + 8)
MUT(m_size_zero, m->hdr.size = 0)
MUT(m_flags_unknown, m->hdr.flags = 1U << 5)
MUT(m_flags_ro, m->hdr.flags = QBD_MAP_F_READONLY)
MUT(m_key_ok, m->key_len = 16; memset(m->key, 0xab, 16))
MUT(m_key_max, m->key_len = 64; memset(m->key, 0xab, 64))
MUT(m_key_short, m->key_len = 15; memset(m->key, 0xab, 15))
MUT(m_key_long, m->key_len = 65; memset(m->key, 0xab, 64))
MUT(m_key_no_len, m->key[0] = 1)
MUT(m_key_tail, m->key_len = 16; memset(m->key, 0xab, 17))
MUT(m_key_rdma, m->key_len = 16; m->transport = QBD_TRANSPORT_RDMA)
MUT(m_digest_tcp, m->hdr.flags = QBD_MAP_F_DIGEST)
static void m_digest_rdma(struct qbd_map *m)
{
	m->hdr.flags = QBD_MAP_F_DIGEST;
	m->transport = QBD_TRANSPORT_RDMA;
}

MUT(m_reserved_last, m->reserved[7] = 1)
MUT(m_pool_unterminated, memset(m->pool, 'a', sizeof(m->pool)))
MUT(m_pool_max, memset(m->pool, 'a', sizeof(m->pool) - 1))
MUT(m_pool_empty, m->pool[0] = 0)
MUT(m_pool_dot, strscpy(m->pool, ".", sizeof(m->pool)))
MUT(m_pool_dotdot, strscpy(m->pool, "..", sizeof(m->pool)))
MUT(m_pool_slash, strscpy(m->pool, "a/b", sizeof(m->pool)))
MUT(m_pool_space, strscpy(m->pool, "a b", sizeof(m->pool)))
MUT(m_vol_unterminated, memset(m->volume, 'v', sizeof(m->volume)))
MUT(m_vol_empty, m->volume[0] = 0)
MUT(m_vol_highbyte, m->volume[1] = (char)0xc3)
MUT(m_vol_newline, strscpy(m->volume, "v\n", sizeof(m->volume)))
MUT(m_vol_chars_ok, strscpy(m->volume, "A-z_0.9", sizeof(m->volume)))
MUT(m_bs_1024, m->block_size = 1024)
MUT(m_bs_0, m->block_size = 0)
MUT(m_bs_512, m->block_size = 512)
MUT(m_vsize_0, m->size = 0)
MUT(m_vsize_unaligned, m->size = (1ULL << 30) + 512)
MUT(m_vsize_huge, m->size = (1ULL << 60) + 4096)
MUT(m_shard_npot, m->shard_size = 3ULL << 20)
MUT(m_shard_small, m->shard_size = 512ULL << 10)
MUT(m_shard_big, m->shard_size = 2ULL << 40)
MUT(m_shard_zero, m->shard_size = 0)
MUT(m_shard_count, m->size = 1ULL << 60; m->shard_size = 1ULL << 20)
MUT(m_shard_count_max, m->size = 1ULL << 52; m->shard_size = 1ULL << 20)
MUT(m_transport_0, m->transport = 0)
MUT(m_transport_3, m->transport = 3)
MUT(m_transport_rdma, m->transport = QBD_TRANSPORT_RDMA)
MUT(m_nsrv_0, m->nr_servers = 0)
MUT(m_nsrv_9, m->nr_servers = QBD_MAX_SERVERS + 1)
MUT(m_family_0, m->servers[0].family = 0)
MUT(m_family_unix, m->servers[0].family = AF_UNIX)
MUT(m_port_0, m->servers[0].port = 0)
MUT(m_srv_reserved, m->servers[0].reserved = 1)
MUT(m_v4_trailing, m->servers[0].addr[4] = 1)
MUT(m_v4_any, memset(m->servers[0].addr, 0, 16))
MUT(m_v6_ok, m->servers[0].family = AF_INET6; m->servers[0].addr[15] = 1)
static void m_v6_any(struct qbd_map *m)
{
	m->servers[0].family = AF_INET6;
	memset(m->servers[0].addr, 0, 16);
}

MUT(m_unused_slot, m->servers[1].port = 7000)
MUT(m_two_srv_ok, m->nr_servers = 2; m->servers[1] = m->servers[0])
static void m_second_srv_bad(struct qbd_map *m)
{
	m->nr_servers = 2;
	m->servers[1] = m->servers[0];
	m->servers[1].family = 99;
}

MUT(m_queues_64, m->nr_queues = QBD_MAX_QUEUES)
MUT(m_queues_65, m->nr_queues = QBD_MAX_QUEUES + 1)
MUT(m_depth_1, m->io_depth = 1)
MUT(m_depth_max, m->io_depth = QBD_MAX_IO_DEPTH)
MUT(m_depth_big, m->io_depth = QBD_MAX_IO_DEPTH + 1)
MUT(m_io_to_low, m->io_timeout_ms = 999)
MUT(m_io_to_high, m->io_timeout_ms = 3600001)
MUT(m_conn_to_low, m->conn_timeout_ms = 99)
MUT(m_hb_int_low, m->hb_interval_ms = 99)
MUT(m_hb_to_high, m->hb_timeout_ms = 600001)
MUT(m_hb_order, m->hb_interval_ms = 2000; m->hb_timeout_ms = 2000)
MUT(m_hb_ok, m->hb_interval_ms = 1000; m->hb_timeout_ms = 3000)
MUT(m_throttle_ok, m->read_bps = 1 << 20; m->write_iops = 100)

struct qbd_map_case {
	const char *name;
	void (*mutate)(struct qbd_map *m);
	int want;
};

static const struct qbd_map_case qbd_map_cases[] = {
	{ "good map", m_none, 0 },
	{ "hdr.size too small", m_size_small, -EINVAL },
	{ "hdr.size too big", m_size_big, -EINVAL },
	{ "hdr.size zero", m_size_zero, -EINVAL },
	{ "unknown flag", m_flags_unknown, -EINVAL },
	{ "readonly flag", m_flags_ro, 0 },
	{ "data digest over TCP", m_digest_tcp, 0 },
	{ "data digest over RDMA", m_digest_rdma, -EOPNOTSUPP },
	{ "key of 16 bytes", m_key_ok, 0 },
	{ "key of 64 bytes", m_key_max, 0 },
	{ "key of 15 bytes", m_key_short, -EINVAL },
	{ "key_len 65", m_key_long, -EINVAL },
	{ "key bytes without key_len", m_key_no_len, -EINVAL },
	{ "key bytes after key_len", m_key_tail, -EINVAL },
	{ "key over RDMA", m_key_rdma, 0 },
	{ "reserved[7] nonzero", m_reserved_last, -EINVAL },
	{ "pool not NUL-terminated", m_pool_unterminated, -EINVAL },
	{ "pool 63 chars", m_pool_max, 0 },
	{ "pool empty", m_pool_empty, -EINVAL },
	{ "pool '.'", m_pool_dot, -EINVAL },
	{ "pool '..'", m_pool_dotdot, -EINVAL },
	{ "pool with '/'", m_pool_slash, -EINVAL },
	{ "pool with space", m_pool_space, -EINVAL },
	{ "volume not NUL-terminated", m_vol_unterminated, -EINVAL },
	{ "volume empty", m_vol_empty, -EINVAL },
	{ "volume with byte 0xc3", m_vol_highbyte, -EINVAL },
	{ "volume with newline", m_vol_newline, -EINVAL },
	{ "volume with every allowed class", m_vol_chars_ok, 0 },
	{ "block_size 1024", m_bs_1024, -EINVAL },
	{ "block_size 0", m_bs_0, -EINVAL },
	{ "block_size 512", m_bs_512, 0 },
	{ "size 0", m_vsize_0, -EINVAL },
	{ "size not block multiple", m_vsize_unaligned, -EINVAL },
	{ "size above 2^60", m_vsize_huge, -EINVAL },
	{ "shard_size 3 MiB", m_shard_npot, -EINVAL },
	{ "shard_size 512 KiB", m_shard_small, -EINVAL },
	{ "shard_size 2 TiB", m_shard_big, -EINVAL },
	{ "shard_size 0", m_shard_zero, -EINVAL },
	{ "2^40 shards", m_shard_count, -EINVAL },
	{ "2^32 shards", m_shard_count_max, 0 },
	{ "transport 0", m_transport_0, -EINVAL },
	{ "transport 3", m_transport_3, -EINVAL },
	{ "transport RDMA", m_transport_rdma, 0 },
	{ "nr_servers 0", m_nsrv_0, -EINVAL },
	{ "nr_servers 9", m_nsrv_9, -EINVAL },
	{ "family 0", m_family_0, -EINVAL },
	{ "family AF_UNIX", m_family_unix, -EINVAL },
	{ "port 0", m_port_0, -EINVAL },
	{ "server reserved nonzero", m_srv_reserved, -EINVAL },
	{ "AF_INET with bytes past 4", m_v4_trailing, -EINVAL },
	{ "AF_INET 0.0.0.0", m_v4_any, -EINVAL },
	{ "AF_INET6 ::1", m_v6_ok, 0 },
	{ "AF_INET6 ::", m_v6_any, -EINVAL },
	{ "slot past nr_servers used", m_unused_slot, -EINVAL },
	{ "two servers", m_two_srv_ok, 0 },
	{ "second server bad family", m_second_srv_bad, -EINVAL },
	{ "nr_queues 64", m_queues_64, 0 },
	{ "nr_queues 65", m_queues_65, -EINVAL },
	{ "io_depth 1", m_depth_1, 0 },
	{ "io_depth max", m_depth_max, 0 },
	{ "io_depth above max", m_depth_big, -EINVAL },
	{ "io_timeout_ms 999", m_io_to_low, -EINVAL },
	{ "io_timeout_ms above 1h", m_io_to_high, -EINVAL },
	{ "conn_timeout_ms 99", m_conn_to_low, -EINVAL },
	{ "hb_interval_ms 99", m_hb_int_low, -EINVAL },
	{ "hb_timeout_ms above max", m_hb_to_high, -EINVAL },
	{ "hb_timeout_ms == hb_interval_ms", m_hb_order, -EINVAL },
	{ "heartbeat 1s/3s", m_hb_ok, 0 },
	{ "throttle values", m_throttle_ok, 0 },
};

static void qbd_ioctl_map_table(struct kunit *test)
{
	struct qbd_map *m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, m);
	for (i = 0; i < ARRAY_SIZE(qbd_map_cases); i++) {
		const struct qbd_map_case *c = &qbd_map_cases[i];
		const char *why = NULL;
		int ret;

		qbd_good_map(m);
		c->mutate(m);
		ret = qbd_validate_map(m, &why);
		KUNIT_EXPECT_EQ_MSG(test, ret, c->want, "case '%s' (why: %s)",
				    c->name, why ? why : "-");
		if (ret)
			KUNIT_EXPECT_NOT_NULL_MSG(test, why,
						  "case '%s' gives no reason",
						  c->name);
	}
}

static void qbd_ioctl_map_defaults(struct kunit *test)
{
	const struct qbd_defaults d = {
		.io_depth = 128,
		.max_queues = 16,
		.io_timeout_ms = 30000,
		.conn_timeout_ms = 8000,
		.hb_interval_ms = 1000,
		.hb_timeout_ms = 3000,
	};
	struct qbd_map *m = kunit_kzalloc(test, sizeof(*m), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, m);
	qbd_good_map(m);
	qbd_map_apply_defaults(m, &d, 4);
	KUNIT_EXPECT_EQ(test, m->nr_queues, 4U);
	KUNIT_EXPECT_EQ(test, m->io_depth, 128U);
	KUNIT_EXPECT_EQ(test, m->io_timeout_ms, 30000U);
	KUNIT_EXPECT_EQ(test, m->hb_timeout_ms, 3000U);

	qbd_good_map(m);
	m->nr_queues = 64;
	m->io_depth = 7;
	m->hb_interval_ms = 5000; /* above the default timeout */
	qbd_map_apply_defaults(m, &d, 32);
	KUNIT_EXPECT_EQ(test, m->nr_queues, 16U); /* module cap */
	KUNIT_EXPECT_EQ(test, m->io_depth, 7U);
	KUNIT_EXPECT_GT(test, m->hb_timeout_ms, m->hb_interval_ms);

	qbd_good_map(m);
	m->nr_queues = 3;
	qbd_map_apply_defaults(m, &d, 2);
	KUNIT_EXPECT_EQ(test, m->nr_queues, 2U); /* online CPUs */
}

static void qbd_ioctl_unmap(struct kunit *test)
{
	struct qbd_unmap u = { .hdr.size = sizeof(u), .dev_id = 0 };
	const char *why;

	KUNIT_EXPECT_EQ(test, qbd_validate_unmap(&u, &why), 0);
	u.hdr.flags = QBD_UNMAP_F_FORCE;
	KUNIT_EXPECT_EQ(test, qbd_validate_unmap(&u, &why), 0);
	u.hdr.flags = 2;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_unmap(&u, &why), -EINVAL,
			    "unknown flag");
	u.hdr.flags = 0;
	u.dev_id = -1;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_unmap(&u, &why), -EINVAL,
			    "dev_id -1");
	u.dev_id = QBD_MAX_DEVICES;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_unmap(&u, &why), -EINVAL,
			    "dev_id max");
	u.dev_id = 1;
	u.reserved[3] = 1;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_unmap(&u, &why), -EINVAL,
			    "reserved");
	u.reserved[3] = 0;
	u.reserved0 = 1;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_unmap(&u, &why), -EINVAL,
			    "reserved0");
	u.reserved0 = 0;
	u.hdr.size = 8;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_unmap(&u, &why), -EINVAL,
			    "size 8");
}

static void qbd_ioctl_list_info_features(struct kunit *test)
{
	struct qbd_list l = { .hdr.size = sizeof(l),
			      .capacity = 4,
			      .ids_ptr = 0x1000 };
	struct qbd_info *in = kunit_kzalloc(test, sizeof(*in), GFP_KERNEL);
	struct qbd_features f = { .hdr.size = sizeof(f) };
	const char *why;

	KUNIT_ASSERT_NOT_NULL(test, in);
	KUNIT_EXPECT_EQ(test, qbd_validate_list(&l, &why), 0);
	l.ids_ptr = 0;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_list(&l, &why), -EINVAL,
			    "NULL ids_ptr");
	l.capacity = 0;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_list(&l, &why), 0, "count only");
	l.capacity = QBD_MAX_DEVICES + 1;
	l.ids_ptr = 0x1000;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_list(&l, &why), -EINVAL,
			    "capacity");
	l.capacity = 1;
	l.hdr.flags = 1;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_list(&l, &why), -EINVAL,
			    "list flags");
	l.hdr.flags = 0;
	l.reserved[0] = 1;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_list(&l, &why), -EINVAL,
			    "list reserved");

	in->hdr.size = sizeof(*in);
	KUNIT_EXPECT_EQ(test, qbd_validate_info_in(in, &why), 0);
	in->dev_id = -5;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_info_in(in, &why), -EINVAL,
			    "info dev_id");
	in->dev_id = 0;
	in->hdr.size = sizeof(*in) - 8;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_info_in(in, &why), -EINVAL,
			    "info size");

	KUNIT_EXPECT_EQ(test, qbd_validate_features_in(&f, &why), 0);
	f.hdr.size = 4;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_features_in(&f, &why), -EINVAL,
			    "features size");
	f.hdr.size = sizeof(f);
	f.hdr.flags = 1;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_features_in(&f, &why), -EINVAL,
			    "features flags");
}

static void qbd_ioctl_name_rules(struct kunit *test)
{
	char buf[8];
	const char *why = NULL;

	KUNIT_EXPECT_EQ(test, qbd_check_name("abc", 8, &why), 0);
	KUNIT_EXPECT_EQ(test, qbd_check_name("1234567", 8, &why), 0);
	memcpy(buf, "12345678", 8);
	KUNIT_EXPECT_EQ(test, qbd_check_name(buf, 8, &why), -EINVAL);
	KUNIT_EXPECT_STREQ(test, why, "name is not NUL-terminated");
	KUNIT_EXPECT_EQ(test, qbd_check_name("a%b", 8, &why), -EINVAL);
	KUNIT_EXPECT_EQ(test, qbd_check_name(".a", 8, &why), 0);
}

/* SET_THROTTLE, SUSPEND, RESUME, RESIZE: one row per rule. */
static void qbd_ioctl_dev_cmds(struct kunit *test)
{
	static const struct {
		const char *name;
		int field; /* what to break: see the switch */
		u64 val;
		int want;
	} cases[] = {
		{ "good", 0, 0, 0 },
		{ "size small", 1, 8, -EINVAL },
		{ "size big", 2, 8, -EINVAL },
		{ "flags", 3, 1, -EINVAL },
		{ "reserved[0]", 4, 1, -EINVAL },
		{ "reserved[3]", 5, 1, -EINVAL },
		{ "dev_id -1", 6, (u64)-1, -EINVAL },
		{ "dev_id max", 6, QBD_MAX_DEVICES, -EINVAL },
		{ "dev_id last", 6, QBD_MAX_DEVICES - 1, 0 },
	};
	static const char *const cmds[] = { "throttle", "suspend", "resume",
					    "resize" };
	struct qbd_throttle t;
	struct qbd_suspend sp;
	struct qbd_resize r;
	const char *why;
	int i, c;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		for (c = 0; c < 4; c++) {
			struct qbd_ioc_hdr *h;
			u64 *res;
			s32 *dev;
			u32 size;
			int ret;

			memset(&t, 0, sizeof(t));
			memset(&sp, 0, sizeof(sp));
			memset(&r, 0, sizeof(r));
			t.hdr.size = sizeof(t);
			sp.hdr.size = sizeof(sp);
			r.hdr.size = sizeof(r);
			if (c == 0) {
				h = &t.hdr;
				res = t.reserved;
				dev = &t.dev_id;
			} else if (c < 3) {
				h = &sp.hdr;
				res = sp.reserved;
				dev = &sp.dev_id;
			} else {
				h = &r.hdr;
				res = r.reserved;
				dev = &r.dev_id;
			}
			size = h->size;
			switch (cases[i].field) {
			case 1:
				h->size = size - cases[i].val;
				break;
			case 2:
				h->size = size + cases[i].val;
				break;
			case 3:
				h->flags = cases[i].val;
				break;
			case 4:
				res[0] = cases[i].val;
				break;
			case 5:
				res[3] = cases[i].val;
				break;
			case 6:
				*dev = (s32)cases[i].val;
				break;
			}
			why = NULL;
			if (c == 0)
				ret = qbd_validate_throttle(&t, &why);
			else if (c < 3)
				ret = qbd_validate_suspend(&sp, c == 2, &why);
			else
				ret = qbd_validate_resize_in(&r, &why);
			KUNIT_EXPECT_EQ_MSG(test, ret, cases[i].want,
					    "case %s, command %s",
					    cases[i].name, cmds[c]);
			if (cases[i].want)
				KUNIT_EXPECT_NOT_NULL_MSG(test, why,
							  "case %s: no reason",
							  cases[i].name);
		}
	}

	/* the fields of each command */
	memset(&t, 0, sizeof(t));
	t.hdr.size = sizeof(t);
	t.read_bps = U64_MAX;
	t.write_iops = U64_MAX;
	t.burst_ms = QBD_THROTTLE_MAX_BURST_MS;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_throttle(&t, &why), 0,
			    "max limits");
	t.burst_ms = QBD_THROTTLE_MAX_BURST_MS + 1;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_throttle(&t, &why), -EINVAL,
			    "burst_ms");

	memset(&sp, 0, sizeof(sp));
	sp.hdr.size = sizeof(sp);
	for (c = 0; c <= 3; c++) {
		sp.mode = c;
		KUNIT_EXPECT_EQ_MSG(test, qbd_validate_suspend(&sp, true, &why),
				    c <= QBD_RESUME_DISCARD ? 0 : -EINVAL,
				    "resume mode %d", c);
		KUNIT_EXPECT_EQ_MSG(test,
				    qbd_validate_suspend(&sp, false, &why),
				    c ? -EINVAL : 0, "suspend mode %d", c);
	}

	memset(&r, 0, sizeof(r));
	r.hdr.size = sizeof(r);
	r.reserved0 = 1;
	KUNIT_EXPECT_EQ_MSG(test, qbd_validate_resize_in(&r, &why), -EINVAL,
			    "resize reserved0");
}

static void qbd_ioctl_resize_rules(struct kunit *test)
{
	static const struct {
		const char *name;
		u64 size;
		int want;
	} cases[] = {
		{ "same", 1ULL << 30, 0 },
		{ "grow", 2ULL << 30, 0 },
		{ "grow one block", (1ULL << 30) + 4096, 0 },
		{ "shrink", (1ULL << 30) - 4096, -EINVAL },
		{ "zero", 0, -EINVAL },
		{ "not a block multiple", (1ULL << 30) + 512, -EINVAL },
		{ "16 TiB", 1ULL << 44, 0 },
		{ "2^60 with 4 MiB shards", 1ULL << 60, -EINVAL },
		{ "above 2^60", (1ULL << 60) + 4096, -EINVAL },
		{ "u64 max", U64_MAX, -EINVAL },
	};
	struct qbd_map m;
	const char *why;
	int i;

	qbd_good_map(&m);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		why = NULL;
		KUNIT_EXPECT_EQ_MSG(test,
				    qbd_check_resize(cases[i].size, &m, &why),
				    cases[i].want, "case %s", cases[i].name);
		if (cases[i].want)
			KUNIT_EXPECT_NOT_NULL_MSG(test, why, "case %s",
						  cases[i].name);
	}
	/* 1 MiB shards: 2^52 bytes is 2^32 shards, one more is too many */
	m.shard_size = 1ULL << 20;
	KUNIT_EXPECT_EQ(test, qbd_check_resize(1ULL << 52, &m, &why), 0);
	KUNIT_EXPECT_EQ(test, qbd_check_resize((1ULL << 52) + 4096, &m, &why),
			-EINVAL);
	/* 1 TiB shards: 2^60 is the size limit, not the shard count */
	m.shard_size = 1ULL << 40;
	KUNIT_EXPECT_EQ(test, qbd_check_resize(1ULL << 60, &m, &why), 0);
}

static void qbd_good_remap(struct qbd_remap *r, const struct qbd_map *m)
{
	memset(r, 0, sizeof(*r));
	r->hdr.size = sizeof(*r);
	r->dev_id = 3;
	r->nr_servers = 1;
	r->servers[0].family = AF_INET;
	r->servers[0].port = 7001;
	r->servers[0].addr[0] = 10;
	r->servers[0].addr[3] = 2;
	r->layout_version = m->layout_version + 1;
	r->vol_id = m->vol_id;
	r->size = m->size;
}

/* REMAP: one row per rule, for the struct and against the mapped device. */
static void qbd_ioctl_remap_table(struct kunit *test)
{
	static const struct {
		const char *name;
		int field;
		u64 val;
		int want;
	} cases[] = {
		{ "good", 0, 0, 0 },
		{ "size small", 1, 8, -EINVAL },
		{ "size big", 2, 8, -EINVAL },
		{ "flags", 3, 1, -EINVAL },
		{ "reserved[0]", 4, 1, -EINVAL },
		{ "reserved[3]", 5, 1, -EINVAL },
		{ "dev_id -1", 6, (u64)-1, -EINVAL },
		{ "dev_id max", 6, QBD_MAX_DEVICES, -EINVAL },
		{ "nr_servers 0", 7, 0, -EINVAL },
		{ "nr_servers 9", 7, QBD_MAX_SERVERS + 1, -EINVAL },
		{ "nr_servers 2, second zero", 7, 2, -EINVAL },
		{ "server past nr_servers", 8, 1, -EINVAL },
		{ "port 0", 9, 0, -EINVAL },
		{ "family 1", 10, 1, -EINVAL },
		{ "addr 0.0.0.0", 11, 0, -EINVAL },
		{ "server reserved", 12, 1, -EINVAL },
		{ "transport 3", 13, 3, -EINVAL },
		{ "transport tcp", 13, QBD_TRANSPORT_TCP, 0 },
		{ "transport rdma (device is tcp; the queue is checked later)",
		  13, QBD_TRANSPORT_RDMA, 0 },
		{ "other vol_id", 14, 1, -EINVAL },
		{ "shrink", 15, (1ULL << 30) - 4096, -EINVAL },
		{ "grow", 15, 2ULL << 30, 0 },
		{ "not a block multiple", 15, (1ULL << 30) + 512, -EINVAL },
		{ "above 2^60", 15, (1ULL << 60) + 4096, -EINVAL },
	};
	struct qbd_remap r;
	struct qbd_map m;
	const char *why;
	int i, ret;

	qbd_good_map(&m);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		qbd_good_remap(&r, &m);
		switch (cases[i].field) {
		case 1:
			r.hdr.size -= cases[i].val;
			break;
		case 2:
			r.hdr.size += cases[i].val;
			break;
		case 3:
			r.hdr.flags = cases[i].val;
			break;
		case 4:
			r.reserved[0] = cases[i].val;
			break;
		case 5:
			r.reserved[3] = cases[i].val;
			break;
		case 6:
			r.dev_id = (s32)cases[i].val;
			break;
		case 7:
			r.nr_servers = cases[i].val;
			break;
		case 8:
			r.servers[1] = r.servers[0];
			break;
		case 9:
			r.servers[0].port = cases[i].val;
			break;
		case 10:
			r.servers[0].family = cases[i].val;
			break;
		case 11:
			memset(r.servers[0].addr, 0, sizeof(r.servers[0].addr));
			break;
		case 12:
			r.servers[0].reserved = cases[i].val;
			break;
		case 13:
			r.transport = cases[i].val;
			break;
		case 14:
			r.vol_id = m.vol_id + cases[i].val;
			break;
		case 15:
			r.size = cases[i].val;
			break;
		}
		why = NULL;
		ret = qbd_validate_remap_in(&r, &why);
		if (!ret)
			ret = qbd_check_remap(&r, &m, &why);
		KUNIT_EXPECT_EQ_MSG(test, ret, cases[i].want, "case %s",
				    cases[i].name);
		if (cases[i].want)
			KUNIT_EXPECT_NOT_NULL_MSG(test, why, "case %s: why",
						  cases[i].name);
	}
}

static struct kunit_case qbd_ioctl_cases[] = {
	KUNIT_CASE(qbd_ioctl_map_table),
	KUNIT_CASE(qbd_ioctl_map_defaults),
	KUNIT_CASE(qbd_ioctl_unmap),
	KUNIT_CASE(qbd_ioctl_list_info_features),
	KUNIT_CASE(qbd_ioctl_name_rules),
	KUNIT_CASE(qbd_ioctl_dev_cmds),
	KUNIT_CASE(qbd_ioctl_resize_rules),
	KUNIT_CASE(qbd_ioctl_remap_table),
	{}
};

static struct kunit_suite qbd_ioctl_suite = {
	.name = "qbd_ioctl",
	.test_cases = qbd_ioctl_cases,
};

kunit_test_suite(qbd_ioctl_suite);
