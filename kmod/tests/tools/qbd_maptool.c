// SPDX-License-Identifier: GPL-2.0
/*
 * qbd_maptool: drive /dev/qbdctl directly, for testing the module without
 * the qbd CLI.
 *
 *   qbd_maptool map POOL VOL SIZE ADDR PORT [key=value...]
 *       keys: bs, shard, io_timeout, conn_timeout, hb_interval, hb_timeout,
 *             queues, depth, vol_id, layout (the volume's layout_version,
 *             as qbdadm info shows it), transport=tcp|rdma,
 *             server=ADDR:PORT (repeatable: servers[1], servers[2], ...;
 *             shard i goes to servers[i % nr_servers])  -> prints the dev id
 *   qbd_maptool unmap ID [force]
 *   qbd_maptool info ID
 *   qbd_maptool list
 *   qbd_maptool garbage     every bad struct must give EINVAL (TAP lines)
 *   qbd_maptool noperm      without CAP_SYS_ADMIN every ioctl gives EPERM
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/qbd.h>

static int ctl(void)
{
	int fd = open("/dev/qbdctl", O_RDWR);

	if (fd < 0) {
		perror("open /dev/qbdctl");
		exit(2);
	}
	return fd;
}

static void good_map(struct qbd_map *m, const char *pool, const char *vol,
		     unsigned long long size, const char *addr, int port)
{
	memset(m, 0, sizeof(*m));
	m->hdr.size = sizeof(*m);
	snprintf(m->pool, sizeof(m->pool), "%s", pool);
	snprintf(m->volume, sizeof(m->volume), "%s", vol);
	m->size = size;
	m->block_size = 4096;
	m->shard_size = 4 << 20;
	m->transport = QBD_TRANSPORT_TCP;
	m->nr_servers = 1;
	m->servers[0].family = AF_INET;
	m->servers[0].port = port;
	inet_pton(AF_INET, addr, m->servers[0].addr);
}

/* server=ADDR:PORT: one more entry in servers[] (IPv4). */
static int add_server(struct qbd_map *m, const char *spec)
{
	struct qbd_server_addr *sa;
	const char *colon = strrchr(spec, ':');
	char addr[64];
	int port;

	if (m->nr_servers >= QBD_MAX_SERVERS)
		return fprintf(stderr, "at most %d servers\n", QBD_MAX_SERVERS), 1;
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(addr))
		return fprintf(stderr, "server=ADDR:PORT, not %s\n", spec), 1;
	memcpy(addr, spec, colon - spec);
	addr[colon - spec] = 0;
	port = atoi(colon + 1);
	sa = &m->servers[m->nr_servers];
	memset(sa, 0, sizeof(*sa));
	sa->family = AF_INET;
	sa->port = port;
	if (port <= 0 || port > 65535 || inet_pton(AF_INET, addr, sa->addr) != 1)
		return fprintf(stderr, "server=ADDR:PORT, not %s\n", spec), 1;
	m->nr_servers++;
	return 0;
}

static int do_map(int argc, char **argv)
{
	struct qbd_map m;
	int i, fd;

	if (argc < 7)
		return fprintf(stderr, "map POOL VOL SIZE ADDR PORT [k=v..]\n"), 2;
	good_map(&m, argv[2], argv[3], strtoull(argv[4], NULL, 0), argv[5],
		 atoi(argv[6]));
	for (i = 7; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		unsigned long long v;

		if (!eq)
			return fprintf(stderr, "bad option %s\n", argv[i]), 2;
		*eq = 0;
		v = strtoull(eq + 1, NULL, 0);
		if (!strcmp(argv[i], "server")) {
			if (add_server(&m, eq + 1))
				return 2;
			continue;
		}
		if (!strcmp(argv[i], "transport")) {
			if (!strcmp(eq + 1, "rdma"))
				m.transport = QBD_TRANSPORT_RDMA;
			else if (strcmp(eq + 1, "tcp"))
				return fprintf(stderr, "transport tcp or rdma\n"), 2;
			continue;
		}
		if (!strcmp(argv[i], "bs"))
			m.block_size = v;
		else if (!strcmp(argv[i], "shard"))
			m.shard_size = v;
		else if (!strcmp(argv[i], "io_timeout"))
			m.io_timeout_ms = v;
		else if (!strcmp(argv[i], "conn_timeout"))
			m.conn_timeout_ms = v;
		else if (!strcmp(argv[i], "hb_interval"))
			m.hb_interval_ms = v;
		else if (!strcmp(argv[i], "hb_timeout"))
			m.hb_timeout_ms = v;
		else if (!strcmp(argv[i], "queues"))
			m.nr_queues = v;
		else if (!strcmp(argv[i], "depth"))
			m.io_depth = v;
		else if (!strcmp(argv[i], "vol_id"))
			m.vol_id = v;
		else if (!strcmp(argv[i], "layout"))
			m.layout_version = v;
		else
			return fprintf(stderr, "unknown option %s\n", argv[i]), 2;
	}
	fd = ctl();
	if (ioctl(fd, QBD_IOC_MAP, &m)) {
		fprintf(stderr, "map: %s\n", strerror(errno));
		return 1;
	}
	printf("%d\n", m.dev_id);
	return 0;
}

static int do_unmap(int argc, char **argv)
{
	struct qbd_unmap u = { .hdr.size = sizeof(u) };
	int fd = ctl();

	if (argc < 3)
		return 2;
	u.dev_id = atoi(argv[2]);
	if (argc > 3 && !strcmp(argv[3], "force"))
		u.hdr.flags = QBD_UNMAP_F_FORCE;
	if (ioctl(fd, QBD_IOC_UNMAP, &u)) {
		fprintf(stderr, "unmap: %s\n", strerror(errno));
		return errno == EBUSY ? 16 : 1;
	}
	return 0;
}

static int do_info(int argc, char **argv)
{
	struct qbd_info in = { .hdr.size = sizeof(in) };
	int fd = ctl();

	if (argc < 3)
		return 2;
	in.dev_id = atoi(argv[2]);
	if (ioctl(fd, QBD_IOC_INFO, &in)) {
		fprintf(stderr, "info: %s\n", strerror(errno));
		return 1;
	}
	printf("dev_id=%d state=%u pool=%s volume=%s size=%llu queues=%u depth=%u open=%u read_ios=%llu write_ios=%llu errors=%llu retries=%llu reconnects=%llu in_flight=%llu\n",
	       in.dev_id, in.state, in.pool, in.volume,
	       (unsigned long long)in.size, in.nr_queues, in.io_depth,
	       in.open_count, (unsigned long long)in.stats.read_ios,
	       (unsigned long long)in.stats.write_ios,
	       (unsigned long long)in.stats.errors,
	       (unsigned long long)in.stats.retries,
	       (unsigned long long)in.stats.reconnects,
	       (unsigned long long)in.stats.in_flight);
	return 0;
}

static int do_list(void)
{
	int ids[QBD_MAX_DEVICES];
	struct qbd_list l = {
		.hdr.size = sizeof(l), .capacity = QBD_MAX_DEVICES,
		.ids_ptr = (unsigned long)ids,
	};
	int fd = ctl();
	unsigned int i;

	if (ioctl(fd, QBD_IOC_LIST, &l)) {
		fprintf(stderr, "list: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < l.count; i++)
		printf("%d\n", ids[i]);
	return 0;
}

static int failures, n;

static void expect(const char *name, int ret, int want_errno)
{
	int got = ret ? errno : 0;

	n++;
	if (got == want_errno) {
		printf("ok %d - %s -> %s\n", n, name, want_errno ? strerror(want_errno) : "0");
	} else {
		printf("not ok %d - %s -> %s (want %s)\n", n, name,
		       got ? strerror(got) : "0", strerror(want_errno));
		failures++;
	}
}

#define MAP_CASE(name, stmt) do {					\
	good_map(&m, "gpool", "gvol", 1 << 30, "127.0.0.1", 1);		\
	stmt;								\
	expect("MAP " name, ioctl(fd, QBD_IOC_MAP, &m), EINVAL);	\
} while (0)

static int do_garbage(void)
{
	int fd = ctl();
	struct qbd_map m;
	struct qbd_unmap u;
	struct qbd_info in;
	struct qbd_list l;
	struct qbd_features f;
	unsigned char junk[sizeof(struct qbd_info)];
	int i;

	MAP_CASE("hdr.size - 8", m.hdr.size -= 8);
	MAP_CASE("hdr.size + 8", m.hdr.size += 8);
	MAP_CASE("hdr.size 0", m.hdr.size = 0);
	MAP_CASE("unknown flag", m.hdr.flags = 0x80);
	MAP_CASE("reserved nonzero", m.reserved[2] = 9);
	MAP_CASE("key byte after key_len", m.key[3] = 1);
	MAP_CASE("key_len below the minimum", m.key_len = 8);
	MAP_CASE("pool unterminated", memset(m.pool, 'p', sizeof(m.pool)));
	MAP_CASE("pool empty", m.pool[0] = 0);
	MAP_CASE("pool '..'", strcpy(m.pool, ".."));
	MAP_CASE("volume with '/'", strcpy(m.volume, "a/b"));
	MAP_CASE("volume unterminated", memset(m.volume, 'v', sizeof(m.volume)));
	MAP_CASE("block_size 1000", m.block_size = 1000);
	MAP_CASE("size not block multiple", m.size += 512);
	MAP_CASE("size 0", m.size = 0);
	MAP_CASE("shard 3 MiB", m.shard_size = 3 << 20);
	MAP_CASE("shard 64 KiB", m.shard_size = 64 << 10);
	MAP_CASE("nr_servers 0", m.nr_servers = 0);
	MAP_CASE("nr_servers 9", m.nr_servers = 9);
	MAP_CASE("family 99", m.servers[0].family = 99);
	MAP_CASE("port 0", m.servers[0].port = 0);
	MAP_CASE("addr 0.0.0.0", memset(m.servers[0].addr, 0, 16));
	MAP_CASE("transport 7", m.transport = 7);
	MAP_CASE("io_depth 100000", m.io_depth = 100000);
	MAP_CASE("nr_queues 1000", m.nr_queues = 1000);
	MAP_CASE("io_timeout 5 ms", m.io_timeout_ms = 5);
	MAP_CASE("hb_timeout <= hb_interval", m.hb_interval_ms = 2000;
		 m.hb_timeout_ms = 1000);
	/* random bytes with a right size: must be refused, never crash */
	srand(1);
	for (i = 0; i < 64; i++) {
		size_t k;

		for (k = 0; k < sizeof(m); k++)
			((unsigned char *)&m)[k] = rand();
		m.hdr.size = sizeof(m);
		m.hdr.flags = 0;
		expect("MAP random bytes", ioctl(fd, QBD_IOC_MAP, &m), EINVAL);
	}
	memset(&u, 0, sizeof(u));
	u.hdr.size = 4;
	expect("UNMAP hdr.size 4", ioctl(fd, QBD_IOC_UNMAP, &u), EINVAL);
	u.hdr.size = sizeof(u);
	u.hdr.flags = 0x10;
	expect("UNMAP unknown flag", ioctl(fd, QBD_IOC_UNMAP, &u), EINVAL);
	u.hdr.flags = 0;
	u.dev_id = -3;
	expect("UNMAP dev_id -3", ioctl(fd, QBD_IOC_UNMAP, &u), EINVAL);
	u.dev_id = 200;
	expect("UNMAP absent dev", ioctl(fd, QBD_IOC_UNMAP, &u), ENOENT);
	memset(&in, 0, sizeof(in));
	in.hdr.size = sizeof(in) + 4;
	expect("INFO hdr.size +4", ioctl(fd, QBD_IOC_INFO, &in), EINVAL);
	memset(&l, 0, sizeof(l));
	l.hdr.size = sizeof(l);
	l.capacity = 4;
	expect("LIST NULL ids_ptr", ioctl(fd, QBD_IOC_LIST, &l), EINVAL);
	l.capacity = 1;
	l.ids_ptr = 16;
	expect("LIST bad user pointer", ioctl(fd, QBD_IOC_LIST, &l), 0);
	memset(&f, 0, sizeof(f));
	f.hdr.size = 3;
	expect("GET_FEATURES hdr.size 3", ioctl(fd, QBD_IOC_GET_FEATURES, &f), EINVAL);
	f.hdr.size = sizeof(f);
	expect("GET_FEATURES", ioctl(fd, QBD_IOC_GET_FEATURES, &f), 0);
	memset(junk, 0xff, sizeof(junk));
	expect("INFO all 0xff", ioctl(fd, QBD_IOC_INFO, junk), EINVAL);
	expect("MAP NULL pointer", ioctl(fd, QBD_IOC_MAP, NULL), EFAULT);
	expect("unknown ioctl", ioctl(fd, _IOWR(QBD_IOC_MAGIC, 0x7f, int), junk), ENOTTY);
	printf("garbage: %d case(s), %d failure(s)\n", n, failures);
	return failures ? 1 : 0;
}

static int do_noperm(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];
	struct qbd_features f = { .hdr.size = sizeof(f) };
	struct qbd_map m;
	int fd = ctl();

	if (syscall(SYS_capget, &h, d))
		return perror("capget"), 1;
	d[0].effective &= ~(1U << CAP_SYS_ADMIN);
	if (syscall(SYS_capset, &h, d))
		return perror("capset"), 1;
	expect("GET_FEATURES without CAP_SYS_ADMIN",
	       ioctl(fd, QBD_IOC_GET_FEATURES, &f), EPERM);
	good_map(&m, "p", "v", 1 << 30, "127.0.0.1", 7000);
	expect("MAP without CAP_SYS_ADMIN", ioctl(fd, QBD_IOC_MAP, &m), EPERM);
	m.hdr.size = 0;
	expect("garbage MAP without CAP_SYS_ADMIN", ioctl(fd, QBD_IOC_MAP, &m), EPERM);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return fprintf(stderr, "usage: see the source\n"), 2;
	if (!strcmp(argv[1], "map"))
		return do_map(argc, argv);
	if (!strcmp(argv[1], "unmap"))
		return do_unmap(argc, argv);
	if (!strcmp(argv[1], "info"))
		return do_info(argc, argv);
	if (!strcmp(argv[1], "list"))
		return do_list();
	if (!strcmp(argv[1], "garbage"))
		return do_garbage();
	if (!strcmp(argv[1], "noperm"))
		return do_noperm();
	return fprintf(stderr, "unknown command %s\n", argv[1]), 2;
}
