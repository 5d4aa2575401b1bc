// SPDX-License-Identifier: GPL-2.0
/*
 * qbd wire protocol (pure logic): encode request and hello headers, decode
 * and check reply headers and handles. Nothing a server sends is used
 * before it passes these checks.
 */
#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <crypto/algapi.h>
#include <crypto/hash.h>
#include "qbd_logic.h"

#define QBD_HANDLE_TAG_MASK ((1ULL << QBD_HANDLE_TAG_BITS) - 1)
#define QBD_HANDLE_GEN_SHIFT QBD_HANDLE_TAG_BITS
#define QBD_HANDLE_QID_SHIFT (QBD_HANDLE_TAG_BITS + QBD_HANDLE_GEN_BITS)
#define QBD_HANDLE_USED \
	((1ULL << (QBD_HANDLE_QID_SHIFT + QBD_HANDLE_QID_BITS)) - 1)

u64 qbd_handle_pack(u32 qid, u32 tag, u16 gen)
{
	return ((u64)(qid & 0xffff) << QBD_HANDLE_QID_SHIFT) |
	       ((u64)gen << QBD_HANDLE_GEN_SHIFT) | (tag & QBD_HANDLE_TAG_MASK);
}

/**
 * qbd_handle_unpack - split a request handle
 * @handle: as received
 * @qid: hardware queue id
 * @tag: blk-mq tag
 * @gen: generation
 *
 * Return: 0, or -EPROTO when bits outside the defined fields are set (this
 * includes the heartbeat bit: the caller checks that one first).
 */
int qbd_handle_unpack(u64 handle, u32 *qid, u32 *tag, u16 *gen)
{
	if (handle & ~QBD_HANDLE_USED)
		return -EPROTO;
	*tag = handle & QBD_HANDLE_TAG_MASK;
	*gen = (handle >> QBD_HANDLE_GEN_SHIFT) & 0xffff;
	*qid = (handle >> QBD_HANDLE_QID_SHIFT) & 0xffff;
	return 0;
}

void qbd_proto_encode_req(struct qbd_req *h, const struct qbd_req_args *a)
{
	memset(h, 0, sizeof(*h));
	h->magic = cpu_to_le32(QBD_PROTO_MAGIC);
	h->opcode = a->opcode;
	h->flags = a->flags;
	h->handle = cpu_to_le64(a->handle);
	h->vol_id = cpu_to_le64(a->vol_id);
	h->shard = cpu_to_le32(a->shard);
	h->layout_version = cpu_to_le32(a->layout_version);
	h->offset = cpu_to_le64(a->offset);
	h->length = cpu_to_le32(a->length);
}

/* The inverse of encode, with the checks a server makes (used by tests). */
int qbd_proto_decode_req(const struct qbd_req *h, struct qbd_req_args *a)
{
	if (le32_to_cpu(h->magic) != QBD_PROTO_MAGIC)
		return -EPROTO;
	if (h->opcode > QBD_OP_MAX || (h->flags & ~QBD_RF_ALL))
		return -EPROTO;
	a->opcode = h->opcode;
	a->flags = h->flags;
	a->handle = le64_to_cpu(h->handle);
	a->vol_id = le64_to_cpu(h->vol_id);
	a->shard = le32_to_cpu(h->shard);
	a->layout_version = le32_to_cpu(h->layout_version);
	a->offset = le64_to_cpu(h->offset);
	a->length = le32_to_cpu(h->length);
	return 0;
}

void qbd_proto_encode_hello(struct qbd_hello *h, const struct qbd_hello_args *a)
{
	memset(h, 0, sizeof(*h));
	h->hdr.magic = cpu_to_le32(QBD_PROTO_MAGIC);
	h->hdr.version = cpu_to_le16(QBD_PROTO_VERSION);
	h->hdr.type = cpu_to_le16(QBD_MSG_HELLO);
	h->features = cpu_to_le64(a->features);
	h->vol_id = cpu_to_le64(a->vol_id);
	h->queue_id = cpu_to_le32(a->queue_id);
	h->queue_depth = cpu_to_le32(a->queue_depth);
	h->max_io = cpu_to_le32(a->max_io);
	strscpy(h->pool, a->pool, sizeof(h->pool));
	strscpy(h->volume, a->volume, sizeof(h->volume));
	if (a->auth_nonce) {
		h->features = cpu_to_le64(a->features | QBD_PF_AUTH);
		memcpy(h->auth_nonce, a->auth_nonce, sizeof(h->auth_nonce));
	}
}

/**
 * qbd_proto_auth_proof - one side's authentication proof
 * @tfm: an "hmac(sha256)" transform holding the key
 * @label: QBD_AUTH_SERVER_LABEL or QBD_AUTH_CLIENT_LABEL
 * @first: the hello as sent (it carries the client nonce)
 * @server_nonce: QBD_AUTH_NONCE_LEN bytes from the challenge
 * @out: QBD_AUTH_MAC_LEN bytes: HMAC-SHA256(K, label | first | server_nonce)
 *
 * Return: 0 or the crypto API's -errno.
 */
int qbd_proto_auth_proof(struct crypto_shash *tfm, const char *label,
			 const struct qbd_hello *first, const u8 *server_nonce,
			 u8 *out)
{
	SHASH_DESC_ON_STACK(desc, tfm);
	int ret;

	desc->tfm = tfm;
	ret = crypto_shash_init(desc);
	if (!ret)
		ret = crypto_shash_update(desc, label, QBD_AUTH_LABEL_LEN);
	if (!ret)
		ret = crypto_shash_update(desc, (const u8 *)first,
					  sizeof(*first));
	if (!ret)
		ret = crypto_shash_update(desc, server_nonce,
					  QBD_AUTH_NONCE_LEN);
	if (!ret)
		ret = crypto_shash_final(desc, out);
	shash_desc_zero(desc);
	return ret;
}

/**
 * qbd_proto_answer_challenge - check the server's challenge, build our proof
 * @tfm: an "hmac(sha256)" transform holding the key
 * @first: the hello as sent
 * @ch: the challenge as received
 * @proof: filled: our proof, or (on -EACCES) the refusal to send back
 * @why: set to the broken rule on failure
 *
 * The server's proof is compared in constant time.
 *
 * Return: 0; -EPROTO for a malformed challenge; -EACCES when the server's
 * proof does not match our key; a crypto API -errno.
 */
int qbd_proto_answer_challenge(struct crypto_shash *tfm,
			       const struct qbd_hello *first,
			       const struct qbd_auth_challenge *ch,
			       struct qbd_auth_proof *proof, const char **why)
{
	u8 mac[QBD_AUTH_MAC_LEN];
	int ret;

	memset(proof, 0, sizeof(*proof));
	proof->hdr.magic = cpu_to_le32(QBD_PROTO_MAGIC);
	proof->hdr.version = cpu_to_le16(QBD_PROTO_VERSION);
	proof->hdr.type = cpu_to_le16(QBD_MSG_AUTH);
	if (le32_to_cpu(ch->hdr.magic) != QBD_PROTO_MAGIC ||
	    le16_to_cpu(ch->hdr.version) != QBD_PROTO_VERSION ||
	    le16_to_cpu(ch->hdr.type) != QBD_MSG_AUTH ||
	    le32_to_cpu(ch->status) != QBD_S_OK || ch->reserved0) {
		*why = "auth challenge: malformed (header, status or reserved)";
		return -EPROTO;
	}
	ret = qbd_proto_auth_proof(tfm, QBD_AUTH_SERVER_LABEL, first,
				   ch->server_nonce, mac);
	if (ret) {
		*why = "auth: HMAC-SHA256 failed";
		goto out;
	}
	if (crypto_memneq(mac, ch->server_proof, sizeof(mac))) {
		*why = "authentication failed: the server's proof does not match our key";
		proof->status = cpu_to_le32(QBD_S_AUTH_FAILED);
		ret = -EACCES;
		goto out;
	}
	ret = qbd_proto_auth_proof(tfm, QBD_AUTH_CLIENT_LABEL, first,
				   ch->server_nonce, proof->client_proof);
	if (ret)
		*why = "auth: HMAC-SHA256 failed";
out:
	memzero_explicit(mac, sizeof(mac));
	return ret;
}

static const char *const qbd_status_names[] = {
	[QBD_S_OK] = "OK",
	[QBD_S_IO_ERROR] = "IO_ERROR",
	[QBD_S_INVALID] = "INVALID",
	[QBD_S_NO_VOLUME] = "NO_VOLUME",
	[QBD_S_STALE_LAYOUT] = "STALE_LAYOUT",
	[QBD_S_NO_SPACE] = "NO_SPACE",
	[QBD_S_EXISTS] = "EXISTS",
	[QBD_S_BUSY] = "BUSY",
	[QBD_S_UNSUPPORTED] = "UNSUPPORTED",
	[QBD_S_TOO_BIG] = "TOO_BIG",
	[QBD_S_OUT_OF_RANGE] = "OUT_OF_RANGE",
	[QBD_S_AUTH_FAILED] = "AUTH_FAILED",
	[QBD_S_DIGEST] = "DIGEST",
};

static_assert(ARRAY_SIZE(qbd_status_names) == QBD_S_LAST + 1,
	      "qbd_status_names must name every status up to QBD_S_LAST");

const char *qbd_proto_status_name(u32 status)
{
	if (status < ARRAY_SIZE(qbd_status_names))
		return qbd_status_names[status];
	return "UNKNOWN";
}

/*
 * A server status as an errno for the block layer: OK -> 0, NO_SPACE ->
 * -ENOSPC, STALE_LAYOUT -> -ESTALE (an error until remap exists), anything
 * else -> -EIO.
 */
int qbd_proto_status_errno(u32 status)
{
	switch (status) {
	case QBD_S_OK:
		return 0;
	case QBD_S_NO_SPACE:
		return -ENOSPC;
	case QBD_S_STALE_LAYOUT:
		return -ESTALE;
	default:
		return -EIO;
	}
}

/**
 * qbd_proto_check_hello_reply - check the server's answer to our hello
 * @r: as received
 * @e: what we asked and what the map says
 * @out: filled on success
 * @why: set to the broken rule on failure
 *
 * Return: 0; -EPROTO for a malformed reply; -ENOENT when the server has no
 * such volume; -EREMOTEIO for any other refusal; -EINVAL when the volume
 * does not match the map (smaller, other block size).
 */
int qbd_proto_check_hello_reply(const struct qbd_hello_reply *r,
				const struct qbd_hello_expect *e,
				struct qbd_hello_result *out, const char **why)
{
	u32 status, depth, max_io, bs;
	u64 features, size;

	if (le32_to_cpu(r->hdr.magic) != QBD_PROTO_MAGIC) {
		*why = "hello reply: bad magic";
		return -EPROTO;
	}
	if (le16_to_cpu(r->hdr.version) != QBD_PROTO_VERSION) {
		*why = "hello reply: protocol version is not 1";
		return -EPROTO;
	}
	if (le16_to_cpu(r->hdr.type) != QBD_MSG_HELLO) {
		*why = "hello reply: message type is not HELLO";
		return -EPROTO;
	}
	status = le32_to_cpu(r->status);
	if (status == QBD_S_NO_VOLUME) {
		*why = "hello reply: server has no such volume";
		return -ENOENT;
	}
	if (status == QBD_S_AUTH_FAILED) {
		*why = "authentication failed: the server refused us (no or wrong key)";
		return -EACCES;
	}
	if (status != QBD_S_OK) {
		*why = "hello reply: server refused the hello";
		return -EREMOTEIO;
	}
	depth = le32_to_cpu(r->queue_depth);
	if (!depth || depth > e->queue_depth) {
		*why = "hello reply: granted queue depth is 0 or above the depth asked";
		return -EPROTO;
	}
	features = le64_to_cpu(r->features);
	if (features & ~e->features) {
		*why = "hello reply: granted features the client did not ask for";
		return -EPROTO;
	}
	size = le64_to_cpu(r->size);
	if (size < e->size) {
		*why = "hello reply: volume is smaller than the mapped size";
		return -EINVAL;
	}
	bs = le32_to_cpu(r->block_size);
	if (bs != e->block_size) {
		*why = "hello reply: block size differs from the mapped block size";
		return -EINVAL;
	}
	max_io = le32_to_cpu(r->max_io);
	if (max_io < 4096 || max_io % QBD_PROTO_SECTOR) {
		*why = "hello reply: max_io is below 4096 or not a multiple of 512";
		return -EPROTO;
	}
	out->status = status;
	out->queue_depth = depth;
	out->features = features;
	out->size = size;
	out->max_io = max_io;
	return 0;
}

/**
 * qbd_proto_check_reply - check a reply header on its own
 * @r: as received
 * @max_io: the largest data length that may follow
 * @out: filled on success
 * @why: set to the broken rule on failure
 *
 * Return: 0 or -EPROTO. The handle is checked by the caller, which knows
 * its requests; qbd_proto_check_reply_for() then checks the length against
 * the request.
 */
int qbd_proto_check_reply(const struct qbd_reply *r, u32 max_io,
			  struct qbd_reply_info *out, const char **why)
{
	u32 status, length;

	if (le32_to_cpu(r->magic) != QBD_PROTO_MAGIC) {
		*why = "reply: bad magic";
		return -EPROTO;
	}
	status = le32_to_cpu(r->status);
	if (status >= ARRAY_SIZE(qbd_status_names)) {
		*why = "reply: unknown status";
		return -EPROTO;
	}
	length = le32_to_cpu(r->length);
	if (length > max_io) {
		*why = "reply: data length above max_io";
		return -EPROTO;
	}
	if (length % QBD_PROTO_SECTOR) {
		*why = "reply: data length not a multiple of 512";
		return -EPROTO;
	}
	if (status != QBD_S_OK && length) {
		*why = "reply: data follows an error status";
		return -EPROTO;
	}
	out->status = status;
	out->handle = le64_to_cpu(r->handle);
	out->length = length;
	return 0;
}

/*
 * Check a reply against the request it names: data follows only a
 * successful READ, and then exactly the length asked.
 */
int qbd_proto_check_reply_for(const struct qbd_reply_info *ri, u8 opcode,
			      u32 req_len, const char **why)
{
	if (opcode == QBD_OP_READ && ri->status == QBD_S_OK) {
		if (ri->length != req_len) {
			*why = "reply: READ data length differs from the request";
			return -EPROTO;
		}
		return 0;
	}
	if (ri->length) {
		*why = "reply: data follows a reply that carries none";
		return -EPROTO;
	}
	return 0;
}
