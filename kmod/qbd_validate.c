// SPDX-License-Identifier: GPL-2.0
/*
 * qbd ioctl struct validation (pure logic). Every field a caller hands us
 * is checked here before anything is allocated; a failure names the value
 * and the rule it broke in *why.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/socket.h>
#include "qbd_logic.h"

static const char qbd_bad_pool[] =
	"pool: bad name (NUL-terminated, 1..63 of A-Z a-z 0-9 . _ -, not . or ..)";
static const char qbd_bad_volume[] =
	"volume: bad name (NUL-terminated, 1..127 of A-Z a-z 0-9 . _ -, not . or ..)";

static bool qbd_all_zero(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

static bool qbd_name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/**
 * qbd_check_name - a pool or volume name
 * @name: the field
 * @max: its size, NUL included
 * @why: set to the broken rule on failure
 *
 * Rules: NUL-terminated within @max bytes, not empty, not "." or "..",
 * only A-Z a-z 0-9 . _ -
 */
int qbd_check_name(const char *name, size_t max, const char **why)
{
	size_t len = strnlen(name, max);
	size_t i;

	if (len == max) {
		*why = "name is not NUL-terminated";
		return -EINVAL;
	}
	if (!len) {
		*why = "name is empty";
		return -EINVAL;
	}
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		*why = "name is '.' or '..'";
		return -EINVAL;
	}
	for (i = 0; i < len; i++) {
		if (!qbd_name_char_ok(name[i])) {
			*why = "name has a character outside A-Z a-z 0-9 . _ -";
			return -EINVAL;
		}
	}
	return 0;
}

static int qbd_check_server(const struct qbd_server_addr *s, const char **why)
{
	if (s->reserved) {
		*why = "servers[].reserved is not zero";
		return -EINVAL;
	}
	if (!s->port) {
		*why = "servers[].port is 0";
		return -EINVAL;
	}
	switch (s->family) {
	case AF_INET:
		if (!qbd_all_zero(s->addr + 4, sizeof(s->addr) - 4)) {
			*why = "servers[].addr: AF_INET uses 4 bytes, the other 12 must be zero";
			return -EINVAL;
		}
		if (qbd_all_zero(s->addr, 4)) {
			*why = "servers[].addr is the unspecified address 0.0.0.0";
			return -EINVAL;
		}
		return 0;
	case AF_INET6:
		if (qbd_all_zero(s->addr, sizeof(s->addr))) {
			*why = "servers[].addr is the unspecified address ::";
			return -EINVAL;
		}
		return 0;
	default:
		*why = "servers[].family is not AF_INET (2) or AF_INET6 (10)";
		return -EINVAL;
	}
}

static int qbd_check_ms(u32 v, u32 min, u32 max, const char *msg,
			const char **why)
{
	if (v && (v < min || v > max)) {
		*why = msg;
		return -EINVAL;
	}
	return 0;
}

/*
 * The key: none, or QBD_KEY_MIN..QBD_KEY_MAX bytes with zero padding after
 * them (so no stale bytes ride along). Both transports authenticate.
 */
static int qbd_validate_key(const struct qbd_map *m, const char **why)
{
	if (!m->key_len) {
		if (!qbd_all_zero(m->key, sizeof(m->key))) {
			*why = "key bytes are set but key_len is 0";
			return -EINVAL;
		}
		return 0;
	}
	if (m->key_len < QBD_KEY_MIN || m->key_len > QBD_KEY_MAX) {
		*why = "key_len is not 0 or 16..64";
		return -EINVAL;
	}
	if (!qbd_all_zero(m->key + m->key_len, sizeof(m->key) - m->key_len)) {
		*why = "key bytes after key_len are not zero";
		return -EINVAL;
	}
	return 0;
}

/**
 * qbd_validate_map - check a struct qbd_map as copied from userspace
 * @m: the map
 * @why: set to the broken rule on failure
 *
 * Return: 0 or -EINVAL (with *why).
 */
int qbd_validate_map(const struct qbd_map *m, const char **why)
{
	u32 i;
	int ret;

	if (m->hdr.size != sizeof(*m)) {
		*why = "hdr.size is not sizeof(struct qbd_map)";
		return -EINVAL;
	}
	if (m->hdr.flags & ~QBD_MAP_F_ALL) {
		*why = "hdr.flags has unknown bits";
		return -EINVAL;
	}
	if (!qbd_all_zero(m->reserved, sizeof(m->reserved))) {
		*why = "reserved fields are not zero";
		return -EINVAL;
	}
	ret = qbd_validate_key(m, why);
	if (ret)
		return ret;
	if ((m->hdr.flags & QBD_MAP_F_DIGEST) &&
	    m->transport == QBD_TRANSPORT_RDMA) {
		*why = "data digest is TCP only (RoCE/InfiniBand carry an ICRC)";
		return -EOPNOTSUPP;
	}
	ret = qbd_check_name(m->pool, sizeof(m->pool), why);
	if (ret) {
		*why = qbd_bad_pool;
		return ret;
	}
	ret = qbd_check_name(m->volume, sizeof(m->volume), why);
	if (ret) {
		*why = qbd_bad_volume;
		return ret;
	}
	if (m->block_size != 512 && m->block_size != 4096) {
		*why = "block_size is not 512 or 4096";
		return -EINVAL;
	}
	if (!m->size || m->size % m->block_size) {
		*why = "size is 0 or not a multiple of block_size";
		return -EINVAL;
	}
	if (m->size > QBD_MAX_VOLUME_SIZE) {
		*why = "size is above 2^60 bytes";
		return -EINVAL;
	}
	if (!is_power_of_2(m->shard_size) ||
	    m->shard_size < QBD_MIN_SHARD_SIZE ||
	    m->shard_size > QBD_MAX_SHARD_SIZE) {
		*why = "shard_size is not a power of two in 1 MiB..1 TiB";
		return -EINVAL;
	}
	if ((m->size - 1) >> ilog2(m->shard_size) > U32_MAX) {
		*why = "size / shard_size is above 2^32 shards";
		return -EINVAL;
	}
	if (m->transport != QBD_TRANSPORT_TCP &&
	    m->transport != QBD_TRANSPORT_RDMA) {
		*why = "transport is not QBD_TRANSPORT_TCP (1) or QBD_TRANSPORT_RDMA (2)";
		return -EINVAL;
	}
	if (!m->nr_servers || m->nr_servers > QBD_MAX_SERVERS) {
		*why = "nr_servers is not in 1..QBD_MAX_SERVERS (8)";
		return -EINVAL;
	}
	for (i = 0; i < m->nr_servers; i++) {
		ret = qbd_check_server(&m->servers[i], why);
		if (ret)
			return ret;
	}
	for (; i < QBD_MAX_SERVERS; i++) {
		if (!qbd_all_zero(&m->servers[i], sizeof(m->servers[i]))) {
			*why = "servers[] past nr_servers are not zero";
			return -EINVAL;
		}
	}
	if (m->nr_queues > QBD_MAX_QUEUES) {
		*why = "nr_queues is above QBD_MAX_QUEUES (64)";
		return -EINVAL;
	}
	if (m->io_depth && (m->io_depth < QBD_MIN_IO_DEPTH ||
			    m->io_depth > QBD_MAX_IO_DEPTH)) {
		*why = "io_depth is not 0 or in 1..QBD_MAX_IO_DEPTH (1024)";
		return -EINVAL;
	}
	ret = qbd_check_ms(m->io_timeout_ms, QBD_IO_TIMEOUT_MIN_MS,
			   QBD_IO_TIMEOUT_MAX_MS,
			   "io_timeout_ms is not 0 or in 1000..3600000", why);
	if (ret)
		return ret;
	ret = qbd_check_ms(m->conn_timeout_ms, QBD_CONN_TIMEOUT_MIN_MS,
			   QBD_CONN_TIMEOUT_MAX_MS,
			   "conn_timeout_ms is not 0 or in 100..600000", why);
	if (ret)
		return ret;
	ret = qbd_check_ms(m->hb_interval_ms, QBD_HB_MIN_MS, QBD_HB_MAX_MS,
			   "hb_interval_ms is not 0 or in 100..600000", why);
	if (ret)
		return ret;
	ret = qbd_check_ms(m->hb_timeout_ms, QBD_HB_MIN_MS, QBD_HB_MAX_MS,
			   "hb_timeout_ms is not 0 or in 100..600000", why);
	if (ret)
		return ret;
	if (m->hb_interval_ms && m->hb_timeout_ms &&
	    m->hb_timeout_ms <= m->hb_interval_ms) {
		*why = "hb_timeout_ms is not above hb_interval_ms";
		return -EINVAL;
	}
	return 0;
}

/*
 * Fill the zero ("default") fields of a validated map. Queues are capped
 * by the module's cap and the online CPUs.
 */
void qbd_map_apply_defaults(struct qbd_map *m, const struct qbd_defaults *d,
			    unsigned int online_cpus)
{
	u32 nq = m->nr_queues ? m->nr_queues : online_cpus;

	nq = min3(nq, online_cpus, d->max_queues);
	m->nr_queues = max(nq, 1U);
	if (!m->io_depth)
		m->io_depth = d->io_depth;
	if (!m->io_timeout_ms)
		m->io_timeout_ms = d->io_timeout_ms;
	if (!m->conn_timeout_ms)
		m->conn_timeout_ms = d->conn_timeout_ms;
	if (!m->hb_interval_ms)
		m->hb_interval_ms = d->hb_interval_ms;
	if (!m->hb_timeout_ms)
		m->hb_timeout_ms = d->hb_timeout_ms;
	/* A default interval next to an explicit timeout (or the reverse). */
	if (m->hb_timeout_ms <= m->hb_interval_ms)
		m->hb_timeout_ms = m->hb_interval_ms * 3;
}

int qbd_validate_unmap(const struct qbd_unmap *u, const char **why)
{
	if (u->hdr.size != sizeof(*u)) {
		*why = "hdr.size is not sizeof(struct qbd_unmap)";
		return -EINVAL;
	}
	if (u->hdr.flags & ~QBD_UNMAP_F_ALL) {
		*why = "hdr.flags has unknown bits";
		return -EINVAL;
	}
	if (u->reserved0 || !qbd_all_zero(u->reserved, sizeof(u->reserved))) {
		*why = "reserved fields are not zero";
		return -EINVAL;
	}
	if (u->dev_id < 0 || u->dev_id >= QBD_MAX_DEVICES) {
		*why = "dev_id is not in 0..QBD_MAX_DEVICES-1";
		return -EINVAL;
	}
	return 0;
}

int qbd_validate_list(const struct qbd_list *l, const char **why)
{
	if (l->hdr.size != sizeof(*l)) {
		*why = "hdr.size is not sizeof(struct qbd_list)";
		return -EINVAL;
	}
	if (l->hdr.flags) {
		*why = "hdr.flags is not zero";
		return -EINVAL;
	}
	if (l->reserved0 || !qbd_all_zero(l->reserved, sizeof(l->reserved))) {
		*why = "reserved fields are not zero";
		return -EINVAL;
	}
	if (l->capacity > QBD_MAX_DEVICES) {
		*why = "capacity is above QBD_MAX_DEVICES (256)";
		return -EINVAL;
	}
	if (l->capacity && !l->ids_ptr) {
		*why = "ids_ptr is NULL with a nonzero capacity";
		return -EINVAL;
	}
	return 0;
}

int qbd_validate_info_in(const struct qbd_info *in, const char **why)
{
	if (in->hdr.size != sizeof(*in)) {
		*why = "hdr.size is not sizeof(struct qbd_info)";
		return -EINVAL;
	}
	if (in->hdr.flags) {
		*why = "hdr.flags is not zero";
		return -EINVAL;
	}
	if (in->dev_id < 0 || in->dev_id >= QBD_MAX_DEVICES) {
		*why = "dev_id is not in 0..QBD_MAX_DEVICES-1";
		return -EINVAL;
	}
	return 0;
}

int qbd_validate_features_in(const struct qbd_features *f, const char **why)
{
	if (f->hdr.size != sizeof(*f)) {
		*why = "hdr.size is not sizeof(struct qbd_features)";
		return -EINVAL;
	}
	if (f->hdr.flags) {
		*why = "hdr.flags is not zero";
		return -EINVAL;
	}
	return 0;
}

/* The dev_id, flags and reserved rules every per-device command shares. */
static int qbd_check_dev_cmd(u32 size, u32 want, u32 flags, s32 dev_id,
			     const void *reserved, size_t reserved_len,
			     const char *size_msg, const char **why)
{
	if (size != want) {
		*why = size_msg;
		return -EINVAL;
	}
	if (flags) {
		*why = "hdr.flags is not zero";
		return -EINVAL;
	}
	if (!qbd_all_zero(reserved, reserved_len)) {
		*why = "reserved fields are not zero";
		return -EINVAL;
	}
	if (dev_id < 0 || dev_id >= QBD_MAX_DEVICES) {
		*why = "dev_id is not in 0..QBD_MAX_DEVICES-1";
		return -EINVAL;
	}
	return 0;
}

/* Any u64 limit is valid (0 = unlimited); burst_ms is capped. */
int qbd_validate_throttle(const struct qbd_throttle *t, const char **why)
{
	int ret;

	ret = qbd_check_dev_cmd(t->hdr.size, sizeof(*t), t->hdr.flags,
				t->dev_id, t->reserved, sizeof(t->reserved),
				"hdr.size is not sizeof(struct qbd_throttle)",
				why);
	if (ret)
		return ret;
	if (t->burst_ms > QBD_THROTTLE_MAX_BURST_MS) {
		*why = "burst_ms is above 60000";
		return -EINVAL;
	}
	return 0;
}

/* @resume: QBD_IOC_RESUME (mode is QBD_RESUME_*) or QBD_IOC_SUSPEND (0). */
int qbd_validate_suspend(const struct qbd_suspend *s, bool resume,
			 const char **why)
{
	int ret;

	ret = qbd_check_dev_cmd(s->hdr.size, sizeof(*s), s->hdr.flags,
				s->dev_id, s->reserved, sizeof(s->reserved),
				"hdr.size is not sizeof(struct qbd_suspend)",
				why);
	if (ret)
		return ret;
	if (!resume && s->mode) {
		*why = "mode is not 0 for SUSPEND";
		return -EINVAL;
	}
	if (resume && s->mode != QBD_RESUME_NORMAL &&
	    s->mode != QBD_RESUME_ERROR && s->mode != QBD_RESUME_DISCARD) {
		*why = "mode is not QBD_RESUME_NORMAL (0), ERROR (1) or DISCARD (2)";
		return -EINVAL;
	}
	return 0;
}

/* The fields of a RESIZE that do not depend on the device. */
int qbd_validate_resize_in(const struct qbd_resize *r, const char **why)
{
	int ret;

	ret = qbd_check_dev_cmd(r->hdr.size, sizeof(*r), r->hdr.flags,
				r->dev_id, r->reserved, sizeof(r->reserved),
				"hdr.size is not sizeof(struct qbd_resize)",
				why);
	if (ret)
		return ret;
	if (r->reserved0) {
		*why = "reserved fields are not zero";
		return -EINVAL;
	}
	return 0;
}

/*
 * The fields of a REMAP that do not depend on the device: header, dev_id,
 * servers (the rules of MAP), transport known. vol_id and size are checked
 * against the device by qbd_check_remap().
 */
int qbd_validate_remap_in(const struct qbd_remap *r, const char **why)
{
	u32 i;
	int ret;

	ret = qbd_check_dev_cmd(r->hdr.size, sizeof(*r), r->hdr.flags,
				r->dev_id, r->reserved, sizeof(r->reserved),
				"hdr.size is not sizeof(struct qbd_remap)",
				why);
	if (ret)
		return ret;
	if (r->transport && r->transport != QBD_TRANSPORT_TCP &&
	    r->transport != QBD_TRANSPORT_RDMA) {
		*why = "transport is not 0, QBD_TRANSPORT_TCP (1) or QBD_TRANSPORT_RDMA (2)";
		return -EINVAL;
	}
	if (!r->nr_servers || r->nr_servers > QBD_MAX_SERVERS) {
		*why = "nr_servers is not in 1..QBD_MAX_SERVERS (8)";
		return -EINVAL;
	}
	for (i = 0; i < r->nr_servers; i++) {
		ret = qbd_check_server(&r->servers[i], why);
		if (ret)
			return ret;
	}
	for (; i < QBD_MAX_SERVERS; i++) {
		if (!qbd_all_zero(&r->servers[i], sizeof(r->servers[i]))) {
			*why = "servers[] past nr_servers are not zero";
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Can a device mapped as @cur take the layout @r? Same volume, a size it
 * can grow to (a change of transport is checked by qbd_dev_remap()).
 */
int qbd_check_remap(const struct qbd_remap *r, const struct qbd_map *cur,
		    const char **why)
{
	if (r->vol_id != cur->vol_id) {
		*why = "vol_id is not the mapped volume's (a different volume under that name?)";
		return -EINVAL;
	}
	/* another transport: qbd_dev_remap() checks the queue's limits */
	return qbd_check_resize(r->size, cur, why);
}

/*
 * Can a device mapped as @cur grow to @size bytes? Grow only (the same
 * size is a no-op), a multiple of the block size, within the limits a map
 * has.
 */
int qbd_check_resize(u64 size, const struct qbd_map *cur, const char **why)
{
	if (size < cur->size) {
		*why = "size is smaller than the mapped size (shrinking is not supported)";
		return -EINVAL;
	}
	if (size & (cur->block_size - 1)) {
		*why = "size is not a multiple of the block size";
		return -EINVAL;
	}
	if (size > QBD_MAX_VOLUME_SIZE) {
		*why = "size is above 2^60 bytes";
		return -EINVAL;
	}
	if ((size - 1) >> ilog2(cur->shard_size) > U32_MAX) {
		*why = "size / shard_size is above 2^32 shards";
		return -EINVAL;
	}
	return 0;
}
