/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * qbd wire protocol, version 1. Shared by the module (C) and qbd-server (C++).
 * docs/protocol.md is the prose description; this header is the truth.
 *
 * All multi-byte fields are little-endian (__le*). Nothing here is trusted
 * by the receiver before it is checked.
 *
 * A TCP connection starts with one message from the client whose first
 * 8 bytes are a struct qbd_msg_hdr:
 *  - QBD_MSG_HELLO: opens one volume for IO on this connection (one
 *    connection per client hardware queue). The server answers with a
 *    struct qbd_hello_reply. After a successful hello the connection
 *    carries struct qbd_req / struct qbd_reply until it closes.
 *  - QBD_MSG_ADMIN: one struct qbd_admin_req; the server answers with
 *    struct qbd_admin_reply followed by @payload_len bytes, and the client
 *    may send further admin requests on the same connection.
 *
 * Authentication (both kinds of connection), when the server has a key:
 * the client's first message says it holds a key (QBD_PF_AUTH in
 * qbd_hello.features, QBD_AF_AUTH in the first qbd_admin_req.flags) and
 * carries a random client nonce Nc in @auth_nonce. The server answers with
 * a struct qbd_auth_challenge (server nonce Ns, server proof); the client
 * checks the proof and answers with a struct qbd_auth_proof; only then does
 * the server handle the first message and send its normal reply. Proofs:
 *   server proof = HMAC-SHA256(K, "qbd-server" | M | Ns)
 *   client proof = HMAC-SHA256(K, "qbd-client" | M | Ns)
 * where M is the client's first message exactly as sent (264 bytes, Nc and
 * the pool/volume names inside it). Fresh nonces on both sides make every
 * proof good for one connection only; the labels keep one side's proof
 * from serving as the other's. A server with a key refuses a client without
 * one (reply status QBD_S_AUTH_FAILED, then close); a client with a key
 * refuses a server that answers without a challenge.
 *
 * IO: a request header, followed (WRITE only) by @length bytes of data.
 * A reply header, followed (READ with status 0 only) by @length bytes.
 * Replies may come in any order; @handle ties a reply to its request.
 *
 * RDMA (rdma_cm, reliable connected QPs, default port 7001): no data
 * travels in a SEND but inline WRITE data (below). After the connection is ESTABLISHED the client SENDs a
 * struct qbd_hello (264 bytes) and the server SENDs a struct qbd_hello_reply
 * (80 bytes); with authentication the server first SENDs its
 * qbd_auth_challenge (64 bytes) and the client SENDs its qbd_auth_proof
 * (48 bytes). Then each client SEND is one struct qbd_req (72 bytes),
 * followed by its data for an inline WRITE only, and each server SEND
 * exactly one struct qbd_reply (32 bytes). ADMIN is
 * TCP only. A READ or WRITE carries the client buffer in @rdma_addr and
 * @rdma_key: one registered region (FRWR) of exactly @length bytes. The
 * server pulls WRITE data with RDMA READ, writes it, then SENDs the reply;
 * it reads READ data, pushes it with RDMA WRITE, then SENDs the reply on the
 * same QP (so the data is placed before the reply is seen). With
 * QBD_PF_RDMA_INV granted, the server sends a reply to a READ or WRITE as
 * SEND_WITH_INV of @rdma_key. Other requests carry rdma_addr = rdma_key = 0.
 * Inline writes (QBD_PF_RDMA_INLINE granted): the hello reply's
 * @rdma_inline says how many WRITE bytes (N, a multiple of 512 up to
 * QBD_RDMA_INLINE_MAX) the server takes inline. The client may then send a
 * WRITE of length <= N as one SEND of the header followed by exactly
 * @length data bytes, with rdma_addr = rdma_key = 0; the server writes the
 * data from its receive buffer (no RDMA READ) and replies with a plain SEND
 * (nothing to invalidate). A SEND longer than 72 bytes that is not such a
 * WRITE (other opcode, length not the bytes that came, over N, not
 * granted, a key set) disconnects the QP. Larger writes, and any write the
 * client prefers, use RDMA READ as before. Such a server's receive buffers
 * hold sizeof(qbd_req) + N bytes (QBD_RDMA_INLINE_BUF at most).
 * Receive buffers: the server posts at least queue_depth + QBD_RDMA_SPARE_RECV
 * receives of QBD_RDMA_REQ_BUF bytes before accepting; the client posts
 * queue_depth + QBD_RDMA_SPARE_RECV of QBD_RDMA_REPLY_BUF bytes before
 * connecting (PINGs use the spare credits). A message of the wrong size or
 * any check that would close a TCP connection disconnects the QP.
 */
#ifndef QBD_PROTO_H
#define QBD_PROTO_H

#include <linux/types.h>

#ifdef __cplusplus
#define QBD_STATIC_ASSERT(e, m) static_assert(e, m)
#else
#define QBD_STATIC_ASSERT(e, m) _Static_assert(e, m)
#endif

#define QBD_PROTO_MAGIC		0x31444251u	/* "QBD1" read as little-endian */
#define QBD_PROTO_VERSION	1
#define QBD_DEFAULT_TCP_PORT	7000
#define QBD_DEFAULT_RDMA_PORT	7001

#define QBD_PROTO_POOL_MAX	64
#define QBD_PROTO_VOLUME_MAX	128
#define QBD_PROTO_MAX_IO	(1u << 20)	/* largest READ/WRITE length */
#define QBD_PROTO_SECTOR	512u		/* offsets/lengths are multiples */

/* struct qbd_msg_hdr.type */
#define QBD_MSG_HELLO		1
#define QBD_MSG_ADMIN		2
#define QBD_MSG_AUTH		3	/* qbd_auth_challenge / qbd_auth_proof */

/* Feature bits negotiated in the hello (client asks, server grants). */
#define QBD_PF_FUA		(1ull << 0)	/* FUA writes and FLUSH */
#define QBD_PF_DISCARD		(1ull << 1)	/* DISCARD */
#define QBD_PF_WRITE_ZEROES	(1ull << 2)	/* WRITE_ZEROES */
#define QBD_PF_ALL		(QBD_PF_FUA | QBD_PF_DISCARD | QBD_PF_WRITE_ZEROES)
/* RDMA only (never granted over TCP): replies invalidate the client rkey. */
#define QBD_PF_RDMA_INV		(1ull << 3)
/*
 * Client -> server only, never granted: the client holds a key and
 * qbd_hello.auth_nonce is its nonce. Without it auth_nonce must be zero.
 */
#define QBD_PF_AUTH		(1ull << 4)
/*
 * Data digest: when granted (TCP only), a WRITE's qbd_req.digest is the
 * CRC32C (Castagnoli; initial value ~0, final xor ~0, as iSCSI and NVMe/TCP)
 * of its data, and a READ reply with status OK carries the CRC32C of the
 * data that follows in qbd_reply.digest. Every other digest field is 0. A
 * WRITE whose data does not match gets QBD_S_DIGEST and nothing is written.
 */
#define QBD_PF_DATA_DIGEST	(1ull << 5)
/*
 * RDMA only (never granted over TCP): small WRITE data inline in the SEND,
 * up to qbd_hello_reply.rdma_inline bytes (see the RDMA paragraph above).
 */
#define QBD_PF_RDMA_INLINE	(1ull << 6)

/* Authentication (HMAC-SHA256, see the top of this file). */
#define QBD_AUTH_NONCE_LEN	16
#define QBD_AUTH_MAC_LEN	32	/* HMAC-SHA256 output */
#define QBD_AUTH_KEY_MIN	16	/* key bytes */
#define QBD_AUTH_KEY_MAX	64
#define QBD_AUTH_LABEL_LEN	10	/* "qbd-server", "qbd-client" */
#define QBD_AUTH_SERVER_LABEL	"qbd-server"
#define QBD_AUTH_CLIENT_LABEL	"qbd-client"

/* RDMA message buffers (see the RDMA paragraph above). */
#define QBD_RDMA_REQ_BUF	264u	/* max(qbd_hello, qbd_req) */
#define QBD_RDMA_REPLY_BUF	80u	/* max(qbd_hello_reply, qbd_reply) */
#define QBD_RDMA_SPARE_RECV	4u
/* Inline WRITE data: the most a server may offer, and its receive buffer. */
#define QBD_RDMA_INLINE_MAX	4096u
#define QBD_RDMA_INLINE_BUF	(72u + QBD_RDMA_INLINE_MAX)	/* qbd_req + data */

/* Status codes (qbd_reply.status, qbd_hello_reply.status, qbd_admin_reply.status). */
#define QBD_S_OK		0
#define QBD_S_IO_ERROR		1	/* backend failed */
#define QBD_S_INVALID		2	/* request broke a rule (see server log) */
#define QBD_S_NO_VOLUME		3	/* no such pool/volume */
#define QBD_S_STALE_LAYOUT	4	/* layout_version too old: remap */
#define QBD_S_NO_SPACE		5
#define QBD_S_EXISTS		6	/* admin create: volume exists */
#define QBD_S_BUSY		7	/* admin delete: volume open; too many connections */
#define QBD_S_UNSUPPORTED	8	/* opcode or version not supported */
#define QBD_S_TOO_BIG		9	/* length over the server's limit */
#define QBD_S_OUT_OF_RANGE	10	/* offset + length past the end of the volume */
#define QBD_S_AUTH_FAILED	11	/* no key, wrong key or bad proof: closing */
#define QBD_S_DIGEST		12	/* WRITE data does not match its digest */
#define QBD_S_LAST		QBD_S_DIGEST	/* the highest status defined */

/**
 * struct qbd_msg_hdr - first 8 bytes of every connection's first message
 * @magic: QBD_PROTO_MAGIC
 * @version: QBD_PROTO_VERSION
 * @type: QBD_MSG_*
 */
struct qbd_msg_hdr {
	__le32 magic;
	__le16 version;
	__le16 type;
};
QBD_STATIC_ASSERT(sizeof(struct qbd_msg_hdr) == 8, "qbd_msg_hdr size");

/**
 * struct qbd_hello - open a volume on this connection (client -> server)
 * @hdr: type QBD_MSG_HELLO
 * @features: QBD_PF_* the client wants
 * @vol_id: volume id as resolved by the admin interface (0: by name only)
 * @queue_id: the client's hardware queue served by this connection
 * @queue_depth: most requests the client keeps in flight on it
 * @max_io: largest request length the client will send
 * @pool: NUL-terminated pool name
 * @volume: NUL-terminated volume name
 * @auth_nonce: with QBD_PF_AUTH: the client nonce Nc (random); else zero
 */
struct qbd_hello {
	struct qbd_msg_hdr hdr;
	__le64 features;
	__le64 vol_id;
	__le32 queue_id;
	__le32 queue_depth;
	__le32 max_io;
	__le32 reserved0;
	char pool[QBD_PROTO_POOL_MAX];
	char volume[QBD_PROTO_VOLUME_MAX];
	__u8 auth_nonce[QBD_AUTH_NONCE_LEN];
	__u8 reserved[16];
};
QBD_STATIC_ASSERT(sizeof(struct qbd_hello) == 264, "qbd_hello size");

/**
 * struct qbd_hello_reply - server -> client
 * @status: QBD_S_*; on anything but QBD_S_OK the server closes
 * @features: QBD_PF_* granted (a subset of what was asked)
 * @size: volume size in bytes
 * @queue_depth: depth the server grants (<= asked)
 * @max_io: largest request length the server accepts
 * @rdma_inline: with QBD_PF_RDMA_INLINE granted: the largest WRITE the
 *	client may send inline (a multiple of 512, 512..QBD_RDMA_INLINE_MAX);
 *	else 0
 */
struct qbd_hello_reply {
	struct qbd_msg_hdr hdr;
	__le32 status;
	__le32 queue_depth;
	__le64 features;
	__le64 vol_id;
	__le64 size;
	__le64 shard_size;
	__le32 block_size;
	__le32 layout_version;
	__le32 max_io;
	__le32 rdma_inline;
	__u8 reserved[16];
};
QBD_STATIC_ASSERT(sizeof(struct qbd_hello_reply) == 80, "qbd_hello_reply size");

/**
 * struct qbd_auth_challenge - server -> client, answers a first message
 *	that asked for authentication
 * @hdr: type QBD_MSG_AUTH
 * @status: QBD_S_OK (a failure is sent as the first message's own reply)
 * @reserved0: 0
 * @server_nonce: Ns, random
 * @server_proof: HMAC-SHA256(K, "qbd-server" | M | Ns)
 *
 * 64 bytes: fits an RDMA reply buffer (QBD_RDMA_REPLY_BUF).
 */
struct qbd_auth_challenge {
	struct qbd_msg_hdr hdr;
	__le32 status;
	__le32 reserved0;
	__u8 server_nonce[QBD_AUTH_NONCE_LEN];
	__u8 server_proof[QBD_AUTH_MAC_LEN];
};
QBD_STATIC_ASSERT(sizeof(struct qbd_auth_challenge) == 64, "qbd_auth_challenge size");
QBD_STATIC_ASSERT(sizeof(struct qbd_auth_challenge) <= QBD_RDMA_REPLY_BUF,
		  "qbd_auth_challenge fits an RDMA reply buffer");

/**
 * struct qbd_auth_proof - client -> server, answers a challenge
 * @hdr: type QBD_MSG_AUTH
 * @status: QBD_S_OK with the proof; QBD_S_AUTH_FAILED when the server's
 *	proof did not verify (the keys differ; @client_proof is zero and the
 *	client closes)
 * @reserved0: 0
 * @client_proof: HMAC-SHA256(K, "qbd-client" | M | Ns)
 */
struct qbd_auth_proof {
	struct qbd_msg_hdr hdr;
	__le32 status;
	__le32 reserved0;
	__u8 client_proof[QBD_AUTH_MAC_LEN];
};
QBD_STATIC_ASSERT(sizeof(struct qbd_auth_proof) == 48, "qbd_auth_proof size");
QBD_STATIC_ASSERT(sizeof(struct qbd_auth_proof) <= QBD_RDMA_REQ_BUF,
		  "qbd_auth_proof fits an RDMA request buffer");

/* qbd_req.opcode */
#define QBD_OP_READ		0
#define QBD_OP_WRITE		1
#define QBD_OP_FLUSH		2
#define QBD_OP_DISCARD		3
#define QBD_OP_WRITE_ZEROES	4
#define QBD_OP_PING		5	/* heartbeat: empty reply, no disk IO */
#define QBD_OP_MAX		QBD_OP_PING

/* qbd_req.flags */
#define QBD_RF_FUA		(1u << 0)	/* WRITE: durable before the reply */
#define QBD_RF_ALL		(QBD_RF_FUA)

/**
 * struct qbd_req - an IO request (client -> server)
 * @magic: QBD_PROTO_MAGIC, checked on every request
 * @opcode: QBD_OP_*
 * @flags: QBD_RF_*
 * @handle: opaque to the server, echoed in the reply (client: tag + generation)
 * @vol_id: the volume this connection opened
 * @shard: offset / shard_size, checked by the server
 * @layout_version: the client's layout; older than the server's -> STALE_LAYOUT
 * @offset: byte offset in the volume, a multiple of 512
 * @length: bytes; a multiple of 512; 0 for FLUSH and PING
 * @digest: WRITE with QBD_PF_DATA_DIGEST: CRC32C of the data; else 0
 * @snap_seq: snapshot sequence (future), 0
 * @rdma_addr: RDMA READ/WRITE: address of the client's registered buffer
 *	(the MR's iova); 0 over TCP and for other opcodes
 * @rdma_key: RDMA READ/WRITE: rkey of that buffer; 0 over TCP and others
 */
struct qbd_req {
	__le32 magic;
	__u8 opcode;
	__u8 flags;
	__le16 reserved0;
	__le64 handle;
	__le64 vol_id;
	__le32 shard;
	__le32 layout_version;
	__le64 offset;
	__le32 length;
	__le32 digest;
	__le64 snap_seq;
	__le64 rdma_addr;
	__le32 rdma_key;
	__le32 reserved1;
};
QBD_STATIC_ASSERT(sizeof(struct qbd_req) == 72, "qbd_req size");
QBD_STATIC_ASSERT(QBD_RDMA_INLINE_BUF == sizeof(struct qbd_req) + QBD_RDMA_INLINE_MAX,
		  "an inline WRITE fits QBD_RDMA_INLINE_BUF");

/**
 * struct qbd_rdma_cm_req - private data of the client's rdma_cm connect
 * @magic: QBD_RDMA_CM_MAGIC
 * @version: 1
 * @qid: the client's queue index (for log lines)
 * @cpu: the CPU the client posts this queue's requests from, QBD_RDMA_CM_ANY_CPU
 *	when it has none. A server with one thread per CPU serves the
 *	connection on that CPU's thread when it has one: over soft-RoCE on one
 *	host the connection's completions then arrive on the CPU that serves it.
 * @reserved: 0
 *
 * Optional: a server takes a connect request without private data, or
 * with private data it does not know (shorter, or another magic), and then
 * places the connection by load alone.
 */
struct qbd_rdma_cm_req {
	__le32 magic;
	__le16 version;
	__le16 qid;
	__le32 cpu;
	__le32 reserved;
};
QBD_STATIC_ASSERT(sizeof(struct qbd_rdma_cm_req) == 16, "qbd_rdma_cm_req size");
#define QBD_RDMA_CM_MAGIC	0x4d434251u	/* "QBCM" read as little-endian */
#define QBD_RDMA_CM_ANY_CPU	0xffffffffu

/**
 * struct qbd_reply - an IO reply (server -> client)
 * @magic: QBD_PROTO_MAGIC
 * @status: QBD_S_*
 * @handle: the request's handle
 * @length: data bytes that follow this header (READ with status OK), else 0
 * @digest: READ with status OK and QBD_PF_DATA_DIGEST: CRC32C of the
 *	data that follows; else 0
 * @vol_size: PING replies: the volume's size in bytes now, so a client
 *	notices a volume grown by someone else (size-change notice); 0 in
 *	every other reply
 */
struct qbd_reply {
	__le32 magic;
	__le32 status;
	__le64 handle;
	__le32 length;
	__le32 digest;
	__le64 vol_size;
};
QBD_STATIC_ASSERT(sizeof(struct qbd_reply) == 32, "qbd_reply size");

/* qbd_admin_req.op */
#define QBD_ADM_CREATE		1	/* pool/volume, size, block_size, shard_size */
#define QBD_ADM_DELETE		2	/* pool/volume; QBD_AF_FORCE when open */
#define QBD_ADM_LIST		3	/* pool ("" = all): payload = qbd_admin_vol[] */
#define QBD_ADM_INFO		4	/* pool/volume: payload = one qbd_admin_vol */
#define QBD_ADM_RESIZE		5	/* pool/volume, size (grow only) */
#define QBD_ADM_RELAYOUT	6	/* pool/volume: layout_version + 1 */

#define QBD_AF_FORCE		(1u << 0)
/* First admin request only: the client holds a key; @auth_nonce is Nc. */
#define QBD_AF_AUTH		(1u << 1)

/**
 * struct qbd_admin_req - volume administration (client -> server)
 * @size: CREATE/RESIZE: bytes; others 0
 * @block_size: CREATE: 512 or 4096 (0 = 4096)
 * @shard_size: CREATE: power of two >= 1 MiB (0 = server default)
 * @auth_nonce: first request with QBD_AF_AUTH: the client nonce; else zero
 */
struct qbd_admin_req {
	struct qbd_msg_hdr hdr;
	__le32 op;
	__le32 flags;
	__le64 size;
	__le64 shard_size;
	__le32 block_size;
	__le32 reserved0;
	char pool[QBD_PROTO_POOL_MAX];
	char volume[QBD_PROTO_VOLUME_MAX];
	__u8 auth_nonce[QBD_AUTH_NONCE_LEN];
	__u8 reserved[16];
};
QBD_STATIC_ASSERT(sizeof(struct qbd_admin_req) == 264, "qbd_admin_req size");

/**
 * struct qbd_admin_reply - server -> client; @payload_len bytes follow
 * @message: NUL-terminated human-readable reason when status != OK
 */
struct qbd_admin_reply {
	struct qbd_msg_hdr hdr;
	__le32 status;
	__le32 payload_len;
	char message[112];
};
QBD_STATIC_ASSERT(sizeof(struct qbd_admin_reply) == 128, "qbd_admin_reply size");

/**
 * struct qbd_admin_vol - one volume in an admin reply payload
 * @created: seconds since the epoch
 * @open_count: connections that have it open now
 */
struct qbd_admin_vol {
	__le64 vol_id;
	__le64 size;
	__le64 shard_size;
	__le64 created;
	__le32 block_size;
	__le32 layout_version;
	__le32 open_count;
	__le32 reserved0;
	char pool[QBD_PROTO_POOL_MAX];
	char volume[QBD_PROTO_VOLUME_MAX];
};
QBD_STATIC_ASSERT(sizeof(struct qbd_admin_vol) == 240, "qbd_admin_vol size");

#endif /* QBD_PROTO_H */
