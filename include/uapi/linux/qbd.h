/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * qbd control ABI: ioctls on /dev/qbdctl.
 *
 * Every struct starts with a header: @size is sizeof() of the struct as the
 * caller knows it (the kernel rejects sizes it does not know with -EINVAL),
 * @flags are per-command flags (unknown bits are rejected with -EINVAL).
 * Every struct ends with reserved space that must be zero on input.
 * All ioctls need CAP_SYS_ADMIN (-EPERM otherwise).
 *
 * Shared by kmod/ and userspace/. Only fixed-width __u* types, no pointers
 * except as __u64.
 */
#ifndef _UAPI_LINUX_QBD_H
#define _UAPI_LINUX_QBD_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define QBD_CTL_NAME		"qbdctl"
#define QBD_ABI_VERSION		1

#define QBD_POOL_MAX		64	/* bytes, including the NUL */
#define QBD_VOLUME_MAX		128	/* bytes, including the NUL */
#define QBD_MAX_SERVERS		8	/* endpoints a map may name */
#define QBD_MAX_DEVICES		256
#define QBD_MAX_QUEUES		64	/* hardware queues per device */
#define QBD_MIN_IO_DEPTH	1
#define QBD_MAX_IO_DEPTH	1024
#define QBD_KEY_MIN		16	/* qbd_map.key_len when non-zero */
#define QBD_KEY_MAX		64

/* Feature bits reported by QBD_IOC_GET_FEATURES. */
#define QBD_FEAT_TCP		(1ULL << 0)	/* TCP transport */
#define QBD_FEAT_RDMA		(1ULL << 1)	/* RDMA transport */
#define QBD_FEAT_DISCARD	(1ULL << 2)	/* discard and write-zeroes */
#define QBD_FEAT_FUA		(1ULL << 3)	/* flush and FUA */
#define QBD_FEAT_THROTTLE	(1ULL << 4)	/* QBD_IOC_SET_THROTTLE */
#define QBD_FEAT_SUSPEND	(1ULL << 5)	/* QBD_IOC_SUSPEND / QBD_IOC_RESUME */
#define QBD_FEAT_RESIZE		(1ULL << 6)	/* QBD_IOC_RESIZE */
#define QBD_FEAT_REMAP		(1ULL << 7)	/* QBD_IOC_REMAP and the "qbd" genl events */
#define QBD_FEAT_AUTH		(1ULL << 10)	/* qbd_map.key: HMAC-SHA256 auth (TCP) */
#define QBD_FEAT_DIGEST		(1ULL << 11)	/* QBD_MAP_F_DIGEST: CRC32C data digest (TCP) */
#define QBD_FEAT_FAULT		(1ULL << 12)	/* debugfs fault injection built in */

/* Transports (qbd_map.transport, qbd_info.transport). */
#define QBD_TRANSPORT_TCP	1
#define QBD_TRANSPORT_RDMA	2

/* Device states (qbd_info.state). */
#define QBD_STATE_LIVE		1	/* connected, serving IO */
#define QBD_STATE_RECONNECTING	2	/* lost a connection, retrying; IO held */
#define QBD_STATE_FAILED	3	/* away past io_timeout; IO fails with EIO */
#define QBD_STATE_DELETING	4	/* being unmapped */
#define QBD_STATE_SUSPENDED	5	/* new IO held (not failed) until resume */

/* Resume modes (qbd_suspend.mode for QBD_IOC_RESUME, qbd_info.resume_mode). */
#define QBD_RESUME_NORMAL	0	/* held and new IO proceeds */
#define QBD_RESUME_ERROR	1	/* held and new IO completes with EIO */
#define QBD_RESUME_DISCARD	2	/* held and new IO succeeds without reaching the
					 * server; reads return zeros */

/**
 * struct qbd_ioc_hdr - leading header of every ioctl struct
 * @size: sizeof() the whole struct as the caller knows it
 * @flags: command flags, QBD_*_F_*; unknown bits are -EINVAL
 */
struct qbd_ioc_hdr {
	__u32 size;
	__u32 flags;
};

/**
 * struct qbd_features - QBD_IOC_GET_FEATURES (out only, but @hdr.size in)
 */
struct qbd_features {
	struct qbd_ioc_hdr hdr;
	__u32 abi_version;	/* QBD_ABI_VERSION of the module */
	__u32 max_devices;
	__u64 features;		/* QBD_FEAT_* */
	__u32 max_queues;
	__u32 max_io_depth;
	__u32 max_servers;
	__u32 max_io_bytes;	/* largest single request the module sends */
	__u64 reserved[6];
};

/**
 * struct qbd_server_addr - one server endpoint
 * @family: AF_INET (2) or AF_INET6 (10)
 * @port: TCP/RDMA port, host byte order
 * @addr: network byte order, 4 bytes used for AF_INET
 */
struct qbd_server_addr {
	__u16 family;
	__u16 port;
	__u32 reserved;
	__u8 addr[16];
};

#define QBD_MAP_F_READONLY	(1U << 0)
/*
 * CRC32C of every READ and WRITE's data, checked on both sides
 * (docs/protocol.md, "Data digest"). TCP only: an RDMA map gets
 * -EOPNOTSUPP; a server that does not grant it fails the map with
 * -EPROTONOSUPPORT.
 */
#define QBD_MAP_F_DIGEST	(1U << 1)
#define QBD_MAP_F_ALL		(QBD_MAP_F_READONLY | QBD_MAP_F_DIGEST)

/**
 * struct qbd_map - QBD_IOC_MAP
 *
 * In: everything but @dev_id. The volume itself is described by what the
 * userspace tool resolved from the servers: id, size, block and shard size,
 * layout version. Shard i is served by servers[i % nr_servers].
 * Out: @dev_id, the N of /dev/qbdN.
 *
 * Timeouts are in milliseconds; 0 picks the module default.
 * Throttle limits: 0 means unlimited.
 *
 * @key_len: 0 (no key) or QBD_KEY_MIN..QBD_KEY_MAX bytes of @key; the bytes
 *	of @key after @key_len must be zero. With a key every connection
 *	authenticates to the server (docs/protocol.md). The key is write-only:
 *	no ioctl, procfs, sysfs or debugfs file returns it, and the module
 *	wipes its copies on unmap and on every error path. TCP only for now:
 *	an RDMA map with a key gets -EOPNOTSUPP.
 */
struct qbd_map {
	struct qbd_ioc_hdr hdr;
	char pool[QBD_POOL_MAX];
	char volume[QBD_VOLUME_MAX];
	__u64 vol_id;
	__u64 size;		/* bytes, multiple of block_size */
	__u32 block_size;	/* 512 or 4096 */
	__u32 layout_version;
	__u64 shard_size;	/* bytes, power of two, >= 1 MiB */
	__u32 transport;	/* QBD_TRANSPORT_* */
	__u32 nr_servers;	/* 1..QBD_MAX_SERVERS */
	struct qbd_server_addr servers[QBD_MAX_SERVERS];
	__u32 nr_queues;	/* 0 = online CPUs, capped */
	__u32 io_depth;		/* 0 = default (128) */
	__u32 io_timeout_ms;
	__u32 conn_timeout_ms;
	__u32 hb_interval_ms;
	__u32 hb_timeout_ms;
	__u64 read_bps;
	__u64 write_bps;
	__u64 read_iops;
	__u64 write_iops;
	__s32 dev_id;		/* out */
	__u32 key_len;		/* 0 = no key */
	__u8 key[QBD_KEY_MAX];	/* write-only secret */
	__u64 reserved[8];
};

#define QBD_UNMAP_F_FORCE	(1U << 0)	/* fail outstanding IO, unmap even if open */
#define QBD_UNMAP_F_ALL		(QBD_UNMAP_F_FORCE)

/**
 * struct qbd_unmap - QBD_IOC_UNMAP
 * @dev_id: device to remove. -EBUSY when it is open and not forced,
 *	-ENOENT when there is no such device.
 */
struct qbd_unmap {
	struct qbd_ioc_hdr hdr;
	__s32 dev_id;
	__u32 reserved0;
	__u64 reserved[4];
};

/**
 * struct qbd_list - QBD_IOC_LIST
 * @capacity: in: number of __s32 slots at @ids_ptr
 * @count: out: number of ids written (<= capacity)
 * @total: out: number of mapped devices (may exceed @capacity)
 * @ids_ptr: user pointer to an array of __s32 dev ids
 */
struct qbd_list {
	struct qbd_ioc_hdr hdr;
	__u32 capacity;
	__u32 count;
	__u32 total;
	__u32 reserved0;
	__u64 ids_ptr;
	__u64 reserved[4];
};

/**
 * struct qbd_stats - per-device counters, as also shown in /proc/qbdstat
 */
struct qbd_stats {
	__u64 read_ios;
	__u64 write_ios;
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 other_ios;	/* flush, discard, write-zeroes */
	__u64 errors;		/* requests completed with an error */
	__u64 retries;		/* requests resent after a connection loss or timeout */
	__u64 reconnects;	/* successful reconnections */
	__u64 in_flight;
	__u64 total_latency_us;	/* sum over completed requests */
	__u64 digest_errors;	/* data digest mismatches, either side */
	__u64 faults_injected;	/* debugfs fault injection (tests) */
	__u64 reserved[4];
};

/**
 * struct qbd_info - QBD_IOC_INFO
 * In: @hdr, @dev_id. Out: everything else (as given at map time, plus state
 * and counters).
 */
struct qbd_info {
	struct qbd_ioc_hdr hdr;
	__s32 dev_id;
	__u32 state;		/* QBD_STATE_* */
	char pool[QBD_POOL_MAX];
	char volume[QBD_VOLUME_MAX];
	__u64 vol_id;
	__u64 size;
	__u32 block_size;
	__u32 layout_version;
	__u64 shard_size;
	__u32 transport;
	__u32 nr_servers;
	struct qbd_server_addr servers[QBD_MAX_SERVERS];
	__u32 nr_queues;
	__u32 io_depth;
	__u32 io_timeout_ms;
	__u32 conn_timeout_ms;
	__u32 hb_interval_ms;
	__u32 hb_timeout_ms;
	__u64 read_bps;
	__u64 write_bps;
	__u64 read_iops;
	__u64 write_iops;
	__u32 map_flags;	/* QBD_MAP_F_* given at map time */
	__u32 open_count;
	struct qbd_stats stats;
	__u32 resume_mode;	/* QBD_RESUME_* in force (after a resume) */
	__u32 burst_ms;		/* throttle burst allowance */
	__u64 reserved[7];
};

/**
 * struct qbd_throttle - QBD_IOC_SET_THROTTLE
 * @dev_id: device
 * @read_bps, @write_bps, @read_iops, @write_iops: limits, 0 = unlimited;
 *	each enforced by its own token bucket inside the module
 * @burst_ms: how much unused allowance a bucket may save up, in
 *	milliseconds of its rate (0 = the module default)
 */
struct qbd_throttle {
	struct qbd_ioc_hdr hdr;
	__s32 dev_id;
	__u32 burst_ms;
	__u64 read_bps;
	__u64 write_bps;
	__u64 read_iops;
	__u64 write_iops;
	__u64 reserved[4];
};

/**
 * struct qbd_suspend - QBD_IOC_SUSPEND and QBD_IOC_RESUME
 * @dev_id: device
 * @mode: RESUME: QBD_RESUME_*; SUSPEND: must be 0
 */
struct qbd_suspend {
	struct qbd_ioc_hdr hdr;
	__s32 dev_id;
	__u32 mode;
	__u64 reserved[4];
};

/**
 * struct qbd_resize - QBD_IOC_RESIZE: the volume already grew on the
 * server; grow the device to @size bytes (a multiple of the block size,
 * not smaller than the current size: -EINVAL otherwise).
 */
struct qbd_resize {
	struct qbd_ioc_hdr hdr;
	__s32 dev_id;
	__u32 reserved0;
	__u64 size;
	__u64 reserved[4];
};

/**
 * struct qbd_remap - QBD_IOC_REMAP: a new layout for a mapped volume
 * @dev_id: device
 * @nr_servers: 1..QBD_MAX_SERVERS; shard i goes to servers[i % nr_servers]
 * @servers: the new endpoints (entries past @nr_servers zero)
 * @layout_version: the volume's layout version now
 * @transport: QBD_TRANSPORT_* the device already uses (0 = keep it);
 *	another transport is -EOPNOTSUPP
 * @vol_id: must be the mapped volume's id (-EINVAL otherwise: another
 *	volume under the same name is never switched to)
 * @size: the volume's size now; not smaller than the mapped size, a
 *	multiple of its block size. A larger size grows the device.
 *
 * The device closes its connections, installs the new servers and
 * reconnects; requests in flight are resent, none fails because of the
 * remap. Throttle limits, suspend state and the device number stay.
 * Returns 0 when every new connection is up; -errno of the first failed
 * connection otherwise (the new layout stays installed and the device
 * keeps reconnecting to it as after a connection loss).
 */
struct qbd_remap {
	struct qbd_ioc_hdr hdr;
	__s32 dev_id;
	__u32 nr_servers;
	struct qbd_server_addr servers[QBD_MAX_SERVERS];
	__u32 layout_version;
	__u32 transport;
	__u64 vol_id;
	__u64 size;
	__u64 reserved[4];
};

/*
 * Events: generic netlink family QBD_GENL_NAME, multicast group
 * QBD_GENL_MCGRP_EVENTS. QBD_GENL_CMD_REMAP_NEEDED is sent (at most once
 * per conn_timeout per device) when a device has been reconnecting for
 * longer than conn_timeout or a server answered "stale layout"; the
 * device also gets a KOBJ_CHANGE uevent with QBD_EVENT=remap.
 */
#define QBD_GENL_NAME		"qbd"
#define QBD_GENL_VERSION	1
#define QBD_GENL_MCGRP_EVENTS	"events"

enum {
	QBD_GENL_CMD_UNSPEC,
	QBD_GENL_CMD_REMAP_NEEDED,	/* module -> userspace, multicast */
	__QBD_GENL_CMD_MAX,
};

enum {
	QBD_GENL_A_UNSPEC,
	QBD_GENL_A_DEV_ID,	/* u32: the N of /dev/qbdN */
	QBD_GENL_A_POOL,	/* NUL-terminated string */
	QBD_GENL_A_VOLUME,	/* NUL-terminated string */
	QBD_GENL_A_REASON,	/* u32: QBD_EVENT_REASON_* */
	__QBD_GENL_A_MAX,
};
#define QBD_GENL_A_MAX		(__QBD_GENL_A_MAX - 1)

#define QBD_EVENT_REASON_UNREACHABLE	1	/* reconnecting past conn_timeout */
#define QBD_EVENT_REASON_STALE_LAYOUT	2	/* a server answered STALE_LAYOUT */

#define QBD_IOC_MAGIC		0xB5
#define QBD_IOC_GET_FEATURES	_IOWR(QBD_IOC_MAGIC, 0x00, struct qbd_features)
#define QBD_IOC_MAP		_IOWR(QBD_IOC_MAGIC, 0x01, struct qbd_map)
#define QBD_IOC_UNMAP		_IOWR(QBD_IOC_MAGIC, 0x02, struct qbd_unmap)
#define QBD_IOC_LIST		_IOWR(QBD_IOC_MAGIC, 0x03, struct qbd_list)
#define QBD_IOC_INFO		_IOWR(QBD_IOC_MAGIC, 0x04, struct qbd_info)
#define QBD_IOC_SET_THROTTLE	_IOWR(QBD_IOC_MAGIC, 0x05, struct qbd_throttle)
#define QBD_IOC_SUSPEND		_IOWR(QBD_IOC_MAGIC, 0x06, struct qbd_suspend)
#define QBD_IOC_RESUME		_IOWR(QBD_IOC_MAGIC, 0x07, struct qbd_suspend)
#define QBD_IOC_RESIZE		_IOWR(QBD_IOC_MAGIC, 0x08, struct qbd_resize)
#define QBD_IOC_REMAP		_IOWR(QBD_IOC_MAGIC, 0x09, struct qbd_remap)

#endif /* _UAPI_LINUX_QBD_H */
