// SPDX-License-Identifier: GPL-2.0
/*
 * qbdctl_abuse: throw bad ioctls at /dev/qbdctl and check the answers.
 *
 *   qbdctl_abuse checks        table of malformed structs -> expected errno
 *   qbdctl_abuse random N SEED N random ioctls: numbers in and around our
 *                              magic, random and edge sizes, random bodies
 *                              behind valid headers, huge and negative
 *                              counts in the 32-bit fields, bad pointers
 *                              (random N SEED ID...: never unmap, suspend,
 *                              throttle or resize devices ID...; afterwards
 *                              every other device is resumed, unthrottled)
 *   qbdctl_abuse eperm         as uid 65534 every ioctl is EPERM
 *                              (the caller makes the node readable first)
 *
 * Prints one line per failed expectation and exits 1 if there was any.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/qbd.h>

static int failures;
static int fd = -1;

static void expect(const char *name, unsigned long cmd, void *arg, int want)
{
	int rc = ioctl(fd, cmd, arg);
	int got = rc < 0 ? errno : 0;

	if (got != want) {
		printf("FAIL %s: errno %d (%s), want %d (%s)\n", name, got,
		       strerror(got), want, strerror(want));
		failures++;
	}
}

static void good_map(struct qbd_map *m)
{
	memset(m, 0, sizeof(*m));
	m->hdr.size = sizeof(*m);
	strcpy(m->pool, "pool");
	strcpy(m->volume, "vol");
	m->vol_id = 1;
	m->size = 1 << 30;
	m->block_size = 4096;
	m->shard_size = 1 << 30;
	m->transport = QBD_TRANSPORT_TCP;
	m->nr_servers = 1;
	m->servers[0].family = 2;
	m->servers[0].port = 9;	/* discard port on 127.0.0.1: nothing listens */
	m->servers[0].addr[0] = 127;
	m->servers[0].addr[3] = 1;
}

static void good_remap(struct qbd_remap *r)
{
	struct qbd_map m;

	good_map(&m);
	memset(r, 0, sizeof(*r));
	r->hdr.size = sizeof(*r);
	r->dev_id = 254;	/* not mapped */
	r->nr_servers = 1;
	r->servers[0] = m.servers[0];
	r->vol_id = 1;
	r->size = 1 << 30;
}

static void run_remap_checks(void)
{
	struct qbd_remap r;

	good_remap(&r);
	expect("remap: no such device", QBD_IOC_REMAP, &r, ENOENT);
	r.hdr.size = sizeof(r) - 8;
	expect("remap: size - 8", QBD_IOC_REMAP, &r, EINVAL);
	good_remap(&r);
	r.hdr.flags = 1;
	expect("remap: unknown flag", QBD_IOC_REMAP, &r, EINVAL);
	good_remap(&r);
	r.reserved[3] = 1;
	expect("remap: reserved not zero", QBD_IOC_REMAP, &r, EINVAL);
	good_remap(&r);
	r.dev_id = -1;
	expect("remap: dev_id -1", QBD_IOC_REMAP, &r, EINVAL);
	good_remap(&r);
	r.nr_servers = 0;
	expect("remap: no servers", QBD_IOC_REMAP, &r, EINVAL);
	good_remap(&r);
	r.nr_servers = QBD_MAX_SERVERS + 1;
	expect("remap: too many servers", QBD_IOC_REMAP, &r, EINVAL);
	good_remap(&r);
	r.servers[0].port = 0;
	expect("remap: port 0", QBD_IOC_REMAP, &r, EINVAL);
	good_remap(&r);
	r.servers[1] = r.servers[0];
	expect("remap: server past nr_servers", QBD_IOC_REMAP, &r, EINVAL);
	good_remap(&r);
	r.transport = 77;
	expect("remap: transport 77", QBD_IOC_REMAP, &r, EINVAL);
	expect("remap: NULL pointer", QBD_IOC_REMAP, NULL, EFAULT);
}

static void run_checks(void)
{
	struct qbd_features f;
	struct qbd_unmap u;
	struct qbd_list l;
	struct qbd_info i;
	struct qbd_map m;
	__s32 ids[4];

	memset(&f, 0, sizeof(f));
	f.hdr.size = sizeof(f);
	expect("features: good", QBD_IOC_GET_FEATURES, &f, 0);
	f.hdr.size = sizeof(f) - 1;
	expect("features: size - 1", QBD_IOC_GET_FEATURES, &f, EINVAL);
	f.hdr.size = 0;
	expect("features: size 0", QBD_IOC_GET_FEATURES, &f, EINVAL);
	f.hdr.size = sizeof(f);
	f.hdr.flags = 0x80;
	expect("features: unknown flag", QBD_IOC_GET_FEATURES, &f, EINVAL);
	expect("features: NULL pointer", QBD_IOC_GET_FEATURES, NULL, EFAULT);
	expect("features: pointer into nowhere", QBD_IOC_GET_FEATURES, (void *)16, EFAULT);

	good_map(&m); m.hdr.size = sizeof(m) + 8;
	expect("map: size + 8", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.hdr.size = 0xffffffff;
	expect("map: size 2^32-1", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.hdr.flags = 1u << 31;
	expect("map: unknown flag", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.reserved[3] = 1;
	expect("map: reserved not zero", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); memset(m.pool, 'a', sizeof(m.pool));
	expect("map: pool not NUL-terminated", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.pool[0] = 0;
	expect("map: empty pool", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); strcpy(m.volume, "a/b");
	expect("map: slash in volume", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); strcpy(m.volume, "..");
	expect("map: volume ..", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.size = 0;
	expect("map: size 0", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.size = (1 << 30) + 512;
	expect("map: size not a multiple of block size", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.size = ~0ULL & ~4095ULL;
	expect("map: size 2^64-4096", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.block_size = 1000;
	expect("map: block size 1000", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.shard_size = 3 << 20;
	expect("map: shard size not a power of two", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.shard_size = 4096;
	expect("map: shard size 4 KiB", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.transport = 77;
	expect("map: transport 77", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.nr_servers = 0;
	expect("map: no servers", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.nr_servers = QBD_MAX_SERVERS + 1;
	expect("map: too many servers", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.nr_servers = 0x80000000u;
	expect("map: nr_servers 2^31", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.servers[0].family = 1;
	expect("map: address family 1", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.servers[0].port = 0;
	expect("map: port 0", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.io_depth = QBD_MAX_IO_DEPTH + 1;
	expect("map: io_depth too big", QBD_IOC_MAP, &m, EINVAL);
	good_map(&m); m.nr_queues = 100000;
	expect("map: nr_queues 100000", QBD_IOC_MAP, &m, EINVAL);
	expect("map: NULL pointer", QBD_IOC_MAP, NULL, EFAULT);

	memset(&u, 0, sizeof(u));
	u.hdr.size = sizeof(u);
	u.dev_id = 255;
	expect("unmap: no such device", QBD_IOC_UNMAP, &u, ENOENT);
	u.dev_id = -1;
	expect("unmap: dev_id -1", QBD_IOC_UNMAP, &u, EINVAL);
	u.dev_id = 0x7fffffff;
	expect("unmap: dev_id 2^31-1", QBD_IOC_UNMAP, &u, EINVAL);
	u.dev_id = 0;
	u.hdr.flags = 2;
	expect("unmap: unknown flag", QBD_IOC_UNMAP, &u, EINVAL);

	memset(&l, 0, sizeof(l));
	l.hdr.size = sizeof(l);
	l.capacity = 4;
	l.ids_ptr = (uintptr_t)ids;
	expect("list: good", QBD_IOC_LIST, &l, 0);
	l.capacity = 0x7fffffff;
	expect("list: capacity above QBD_MAX_DEVICES", QBD_IOC_LIST, &l, EINVAL);
	l.capacity = 4;
	l.ids_ptr = 0;
	expect("list: NULL ids_ptr with a capacity", QBD_IOC_LIST, &l, EINVAL);
	l.ids_ptr = (uintptr_t)ids;
	l.reserved[0] = 5;
	expect("list: reserved not zero", QBD_IOC_LIST, &l, EINVAL);

	memset(&i, 0, sizeof(i));
	i.hdr.size = sizeof(i);
	i.dev_id = 254;
	expect("info: no such device", QBD_IOC_INFO, &i, ENOENT);
	i.dev_id = -5;
	expect("info: negative id", QBD_IOC_INFO, &i, EINVAL);
	i.hdr.size = 8;
	expect("info: size 8", QBD_IOC_INFO, &i, EINVAL);

	/* a known command number encoded with another size */
	expect("map: ioctl number with a wrong size",
	       _IOWR(QBD_IOC_MAGIC, 0x01, struct qbd_unmap), &m, ENOTTY);
	expect("unknown command number", _IOWR(QBD_IOC_MAGIC, 0x7f, struct qbd_unmap), &u, ENOTTY);
	expect("another driver's magic", _IOWR('x', 0x01, struct qbd_map), &m, ENOTTY);
	run_remap_checks();
}

/* xorshift64*: cheap enough to fill every buffer under TCG */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1DULL;
}

/* struct sizes of our commands, by number; 0 = not a command */
static const unsigned int cmd_size[] = {
	sizeof(struct qbd_features), sizeof(struct qbd_map), sizeof(struct qbd_unmap),
	sizeof(struct qbd_list), sizeof(struct qbd_info), sizeof(struct qbd_throttle),
	sizeof(struct qbd_suspend), sizeof(struct qbd_suspend), sizeof(struct qbd_resize),
};
#define NR_CMDS (sizeof(cmd_size) / sizeof(cmd_size[0]))

/* values for the 32-bit count and id fields: huge, negative-looking, edges */
static const __u32 edge32[] = {
	0, 1, 2, 7, 8, 9, 63, 64, 65, 255, 256, 257, 1023, 1024, 1025, 4096,
	0x7fffffff, 0x80000000u, 0xfffffffeu, 0xffffffffu, 0x10000, 0xffff,
};
#define RBUF_SIZE (1 << 16)

/*
 * One random ioctl: the command number is ours (known commands with their
 * own size, a wrong size, or an unknown number) or a neighbour's magic;
 * the argument is a random buffer, a buffer whose header is right (so the
 * body is what gets checked) with edge values in random 32-bit fields,
 * or a random pointer.
 */
static unsigned long random_cmd(unsigned char *buf, unsigned int *len)
{
	static const unsigned int magics[] = { QBD_IOC_MAGIC, QBD_IOC_MAGIC - 1, QBD_IOC_MAGIC + 1, 0 };
	unsigned int magic = magics[rnd() % 4], nr, size, dir, i, k;
	struct qbd_ioc_hdr *hdr = (struct qbd_ioc_hdr *)buf;

	if (!magic)
		magic = rnd() & 0xff;
	nr = rnd() % 8 ? rnd() % (NR_CMDS + 2) : rnd() & 0xff;
	if (nr < NR_CMDS && rnd() % 4)
		size = cmd_size[nr];
	else
		size = rnd() % 4 ? rnd() % 1024 : rnd() % (1 << 14);
	dir = rnd() % 8 ? _IOC_READ | _IOC_WRITE : rnd() % 4;
	*len = size + 64;
	for (i = 0; i < *len; i += 8) {
		uint64_t v = rnd();

		memcpy(buf + i, &v, 8);
	}
	switch (rnd() % 4) {
	case 0:		/* all random */
		break;
	case 1:		/* zeroed body: reaches the deeper checks */
		memset(buf, 0, *len);
		/* fall through */
	default:	/* right header, edge values sprinkled in */
		hdr->size = rnd() % 8 ? size : edge32[rnd() % (sizeof(edge32) / sizeof(edge32[0]))];
		hdr->flags = rnd() % 8 ? 0 : (__u32)rnd();
		for (k = rnd() % 6; k > 0 && size >= 12; k--) {
			__u32 v = edge32[rnd() % (sizeof(edge32) / sizeof(edge32[0]))];

			memcpy(buf + 8 + 4 * (rnd() % ((size - 8) / 4)), &v, 4);
		}
		break;
	}
	return _IOC(dir, magic, nr, size & _IOC_SIZEMASK);
}

/* commands that change a device: never aimed at a protected one */
static int changes_device(unsigned long cmd)
{
	unsigned int nr = _IOC_NR(cmd);

	return _IOC_TYPE(cmd) == QBD_IOC_MAGIC &&
	       (nr == 2 || (nr >= 5 && nr <= 8) || nr >= NR_CMDS);
}

/*
 * Puts every unprotected device back the way a random run may have left
 * it: resumed (normal mode) and unthrottled.
 */
static void random_cleanup(const int *protect, int nprotect)
{
	struct qbd_suspend r;
	struct qbd_throttle t;
	int id, j;

	for (id = 0; id < QBD_MAX_DEVICES; id++) {
		for (j = 0; j < nprotect && protect[j] != id; j++)
			;
		if (j < nprotect)
			continue;
		memset(&r, 0, sizeof(r));
		r.hdr.size = sizeof(r);
		r.dev_id = id;
		r.mode = QBD_RESUME_NORMAL;
		ioctl(fd, QBD_IOC_RESUME, &r);
		memset(&t, 0, sizeof(t));
		t.hdr.size = sizeof(t);
		t.dev_id = id;
		ioctl(fd, QBD_IOC_SET_THROTTLE, &t);
	}
}

/*
 * N random ioctls from SEED. Devices in @protect (ids of volumes with a
 * verifying workload on them) are never unmapped, suspended, resumed,
 * throttled or resized: such a command is re-aimed at id QBD_MAX_DEVICES-1.
 */
static void run_random(long n, unsigned int seed, const int *protect, int nprotect)
{
	unsigned char *buf = calloc(1, RBUF_SIZE);
	unsigned int len;
	long k, ok = 0;
	int j;

	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
	for (k = 0; k < n; k++) {
		unsigned long cmd = random_cmd(buf, &len);
		void *arg = rnd() % 50 ? (void *)buf : (void *)(uintptr_t)rnd();
		__s32 id;

		memcpy(&id, buf + 8, sizeof(id));
		for (j = 0; j < nprotect; j++) {
			if (changes_device(cmd) && (id == protect[j] || arg != buf)) {
				id = QBD_MAX_DEVICES - 1;
				memcpy(buf + 8, &id, sizeof(id));
				arg = buf;
			}
		}

		errno = 0;
		if (ioctl(fd, cmd, arg) == 0) {
			ok++;
			continue;
		}
		switch (errno) {
		case EINVAL: case ENOTTY: case EFAULT: case ENOENT: case EEXIST:
		case EBUSY: case ENOMEM: case ECONNREFUSED: case ETIMEDOUT:
		case EHOSTUNREACH: case ENETUNREACH: case EOPNOTSUPP: case EALREADY:
		case ERANGE: case EOVERFLOW: case E2BIG: case ENOSPC:
			break;
		default:
			printf("FAIL random ioctl %ld cmd %#lx: unexpected errno %d (%s)\n",
			       k, cmd, errno, strerror(errno));
			failures++;
		}
	}
	printf("random: %ld ioctls, %ld returned 0\n", n, ok);
	random_cleanup(protect, nprotect);
	free(buf);
}

static void run_eperm(void)
{
	struct qbd_features f = { .hdr.size = sizeof(f) };
	struct qbd_map m;
	struct qbd_unmap u = { .hdr.size = sizeof(u) };
	struct qbd_list l = { .hdr.size = sizeof(l) };
	struct qbd_info i = { .hdr.size = sizeof(i) };
	struct qbd_remap r;

	good_map(&m);
	good_remap(&r);
	if (setgid(65534) || setuid(65534)) {
		printf("FAIL cannot drop to uid 65534: %s\n", strerror(errno));
		failures++;
		return;
	}
	expect("non-root GET_FEATURES", QBD_IOC_GET_FEATURES, &f, EPERM);
	expect("non-root MAP", QBD_IOC_MAP, &m, EPERM);
	expect("non-root UNMAP", QBD_IOC_UNMAP, &u, EPERM);
	expect("non-root LIST", QBD_IOC_LIST, &l, EPERM);
	expect("non-root INFO", QBD_IOC_INFO, &i, EPERM);
	expect("non-root REMAP", QBD_IOC_REMAP, &r, EPERM);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s checks | random N SEED [ID...] | eperm\n", argv[0]);
		return 2;
	}
	fd = open("/dev/" QBD_CTL_NAME, O_RDWR);
	if (fd < 0) {
		printf("FAIL open /dev/qbdctl: %s\n", strerror(errno));
		return 1;
	}
	if (!strcmp(argv[1], "checks"))
		run_checks();
	else if (!strcmp(argv[1], "random") && argc >= 4 && argc <= 4 + 16) {
		int protect[16], j;

		for (j = 4; j < argc; j++)
			protect[j - 4] = atoi(argv[j]);
		run_random(atol(argv[2]), (unsigned int)atoi(argv[3]), protect, argc - 4);
	}
	else if (!strcmp(argv[1], "eperm"))
		run_eperm();
	else {
		fprintf(stderr, "usage: %s checks | random N SEED [ID...] | eperm\n", argv[0]);
		return 2;
	}
	printf("%s: %d failure(s)\n", argv[1], failures);
	return failures ? 1 : 0;
}
