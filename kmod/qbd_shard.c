// SPDX-License-Identifier: GPL-2.0
/*
 * qbd shard routing (pure logic): a volume is cut into power-of-two shards;
 * shard i is served by server i % nr_servers. blk-mq's chunk_sectors equals
 * the shard size, so a read or write never crosses a shard. The 6.1 block
 * layer splits only reads and writes at chunk_sectors: a DISCARD or
 * WRITE_ZEROES may cross (and a FLUSH concerns every server), so the
 * device code cuts those into pieces with the helpers at the end
 * (qbd_setup_cmd() in qbd_dev.c says how the pieces are sent).
 */
#include <linux/kernel.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include "qbd_logic.h"

/**
 * qbd_layout_init - derive the routing of a volume
 * @l: filled on success
 * @size: volume size in bytes
 * @shard_size: power of two, >= 1 MiB
 * @nr_servers: 1..QBD_MAX_SERVERS
 *
 * Return: 0, or -EINVAL when a value breaks its rule.
 */
int qbd_layout_init(struct qbd_layout *l, u64 size, u64 shard_size,
		    unsigned int nr_servers)
{
	if (!shard_size || !is_power_of_2(shard_size) ||
	    shard_size < QBD_MIN_SHARD_SIZE || shard_size > QBD_MAX_SHARD_SIZE)
		return -EINVAL;
	if (!nr_servers || nr_servers > QBD_MAX_SERVERS)
		return -EINVAL;
	l->shard_shift = ilog2(shard_size);
	l->nr_servers = nr_servers;
	l->nr_shards = (size >> l->shard_shift) + !!(size & (shard_size - 1));
	return 0;
}

/* Shard index of a byte offset. */
u64 qbd_shard_of(const struct qbd_layout *l, u64 offset)
{
	return offset >> l->shard_shift;
}

/* Does [offset, offset + len) touch more than one shard? len 0 never does. */
bool qbd_shard_crosses(const struct qbd_layout *l, u64 offset, u64 len)
{
	u64 last = offset + (len - 1);

	if (!len)
		return false;
	if (last < offset) /* runs past 2^64: certainly crosses */
		return true;
	return qbd_shard_of(l, offset) != qbd_shard_of(l, last);
}

/* Index into the map's servers[] that serves @shard. */
unsigned int qbd_shard_server(const struct qbd_layout *l, u64 shard)
{
	u32 rem;

	div_u64_rem(shard, l->nr_servers, &rem);
	return rem;
}

/**
 * qbd_shard_piece - the first piece of a range cut at shard boundaries
 * @l: the layout
 * @offset: start of the range, bytes
 * @len: bytes in the range
 *
 * Return: bytes from @offset to the end of its shard or of the range,
 * whichever comes first (0 when @len is 0). The next piece starts there.
 */
u32 qbd_shard_piece(const struct qbd_layout *l, u64 offset, u32 len)
{
	u64 mask = (1ULL << l->shard_shift) - 1;
	u64 left = mask + 1 - (offset & mask);

	return left < len ? (u32)left : len;
}

/* How many pieces qbd_shard_piece() cuts [offset, offset + len) into. */
unsigned int qbd_shard_pieces(const struct qbd_layout *l, u64 offset, u32 len)
{
	if (!len)
		return 0;
	return qbd_shard_of(l, offset + len - 1) - qbd_shard_of(l, offset) + 1;
}

/*
 * Server index of piece @piece of a FLUSH: a FLUSH goes to every server of
 * the map once, piece k to servers[k] (the server of shard k, as
 * k < nr_servers). @piece must be below nr_servers.
 */
unsigned int qbd_flush_server(const struct qbd_layout *l, unsigned int piece)
{
	return qbd_shard_server(l, piece);
}
