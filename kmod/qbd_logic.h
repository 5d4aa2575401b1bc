/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qbd pure logic: shard routing, wire header encode/decode, ioctl struct
 * validation, the device state machine rules. Nothing here touches blk-mq,
 * sockets or locks, so the KUnit suites build it on UML
 * (kmod/tests/qbd_logic_all.c includes the .c files).
 */
#ifndef QBD_LOGIC_H
#define QBD_LOGIC_H

#include <linux/bits.h>
#include <linux/types.h>
#include <linux/qbd.h>
#include <qbd_proto.h>
#include "qbd_throttle.h"

/* ---- qbd_shard.c ---- */

/**
 * struct qbd_layout - how a volume is cut into shards
 * @shard_shift: log2(shard size in bytes)
 * @nr_servers: servers the shards are spread over (shard i -> i % nr_servers)
 * @nr_shards: shards in the volume (the last one may be short)
 */
struct qbd_layout {
	unsigned int shard_shift;
	unsigned int nr_servers;
	u64 nr_shards;
};

int qbd_layout_init(struct qbd_layout *l, u64 size, u64 shard_size,
		    unsigned int nr_servers);
u64 qbd_shard_of(const struct qbd_layout *l, u64 offset);
bool qbd_shard_crosses(const struct qbd_layout *l, u64 offset, u64 len);
unsigned int qbd_shard_server(const struct qbd_layout *l, u64 shard);
u32 qbd_shard_piece(const struct qbd_layout *l, u64 offset, u32 len);
unsigned int qbd_shard_pieces(const struct qbd_layout *l, u64 offset, u32 len);
unsigned int qbd_flush_server(const struct qbd_layout *l, unsigned int piece);

/* ---- qbd_proto.c ---- */

/*
 * Handle on the wire: bits 0..15 blk-mq tag, 16..31 generation (bumped
 * every time the request is (re)issued), 32..47 hardware queue id, bit 63
 * heartbeat. Anything else set is a bad handle.
 */
#define QBD_HANDLE_TAG_BITS 16
#define QBD_HANDLE_GEN_BITS 16
#define QBD_HANDLE_QID_BITS 16
#define QBD_HANDLE_PING BIT_ULL(63)

u64 qbd_handle_pack(u32 qid, u32 tag, u16 gen);
int qbd_handle_unpack(u64 handle, u32 *qid, u32 *tag, u16 *gen);

/**
 * struct qbd_req_args - what goes into one request header
 */
struct qbd_req_args {
	u8 opcode;
	u8 flags;
	u64 handle;
	u64 vol_id;
	u32 shard;
	u32 layout_version;
	u64 offset;
	u32 length;
};

void qbd_proto_encode_req(struct qbd_req *h, const struct qbd_req_args *a);
int qbd_proto_decode_req(const struct qbd_req *h, struct qbd_req_args *a);

/**
 * struct qbd_hello_args - what the client asks in the hello
 */
struct qbd_hello_args {
	u64 features;
	u64 vol_id;
	u32 queue_id;
	u32 queue_depth;
	u32 max_io;
	const char *pool;
	const char *volume;
	const u8 *auth_nonce; /* NULL: no key; else QBD_AUTH_NONCE_LEN bytes */
};

void qbd_proto_encode_hello(struct qbd_hello *h,
			    const struct qbd_hello_args *a);

/**
 * struct qbd_hello_expect - what a hello reply must satisfy
 * @size: mapped size; the volume must be at least this big
 * @block_size: mapped block size; must match
 * @features: features asked; granted must be a subset
 * @queue_depth: depth asked; granted must be 1..asked
 */
struct qbd_hello_expect {
	u64 size;
	u32 block_size;
	u64 features;
	u32 queue_depth;
};

/**
 * struct qbd_hello_result - the checked, host-order hello reply
 */
struct qbd_hello_result {
	u32 status;
	u32 queue_depth;
	u64 features;
	u64 size;
	u32 max_io;
};

int qbd_proto_check_hello_reply(const struct qbd_hello_reply *r,
				const struct qbd_hello_expect *e,
				struct qbd_hello_result *out, const char **why);

struct crypto_shash;
int qbd_proto_auth_proof(struct crypto_shash *tfm, const char *label,
			 const struct qbd_hello *first, const u8 *server_nonce,
			 u8 *out);
int qbd_proto_answer_challenge(struct crypto_shash *tfm,
			       const struct qbd_hello *first,
			       const struct qbd_auth_challenge *ch,
			       struct qbd_auth_proof *proof, const char **why);

/**
 * struct qbd_reply_info - a checked, host-order reply header
 */
struct qbd_reply_info {
	u32 status;
	u64 handle;
	u32 length;
};

int qbd_proto_check_reply(const struct qbd_reply *r, u32 max_io,
			  struct qbd_reply_info *out, const char **why);
int qbd_proto_check_reply_for(const struct qbd_reply_info *ri, u8 opcode,
			      u32 req_len, const char **why);
int qbd_proto_status_errno(u32 status);
const char *qbd_proto_status_name(u32 status);

/* ---- qbd_validate.c ---- */

/**
 * struct qbd_defaults - module-wide defaults and caps applied to a map
 */
struct qbd_defaults {
	u32 io_depth;
	u32 max_queues;
	u32 io_timeout_ms;
	u32 conn_timeout_ms;
	u32 hb_interval_ms;
	u32 hb_timeout_ms;
};

#define QBD_MIN_SHARD_SIZE BIT_ULL(20)
#define QBD_MAX_SHARD_SIZE BIT_ULL(40) /* chunk_sectors is 32 bits */
#define QBD_MAX_VOLUME_SIZE BIT_ULL(60)
#define QBD_IO_TIMEOUT_MIN_MS 1000U
#define QBD_IO_TIMEOUT_MAX_MS 3600000U
#define QBD_CONN_TIMEOUT_MIN_MS 100U
#define QBD_CONN_TIMEOUT_MAX_MS 600000U
#define QBD_HB_MIN_MS 100U
#define QBD_HB_MAX_MS 600000U

int qbd_check_name(const char *name, size_t max, const char **why);
int qbd_validate_map(const struct qbd_map *m, const char **why);
void qbd_map_apply_defaults(struct qbd_map *m, const struct qbd_defaults *d,
			    unsigned int online_cpus);
int qbd_validate_unmap(const struct qbd_unmap *u, const char **why);
int qbd_validate_list(const struct qbd_list *l, const char **why);
int qbd_validate_info_in(const struct qbd_info *in, const char **why);
int qbd_validate_features_in(const struct qbd_features *f, const char **why);
int qbd_validate_throttle(const struct qbd_throttle *t, const char **why);
int qbd_validate_suspend(const struct qbd_suspend *s, bool resume,
			 const char **why);
int qbd_validate_resize_in(const struct qbd_resize *r, const char **why);
int qbd_check_resize(u64 size, const struct qbd_map *cur, const char **why);
int qbd_validate_remap_in(const struct qbd_remap *r, const char **why);
int qbd_check_remap(const struct qbd_remap *r, const struct qbd_map *cur,
		    const char **why);

/* ---- qbd_state.c: the device state machine rules ---- */

/* What SUSPEND / RESUME do to the request queue. */
enum qbd_queue_step {
	QBD_STEP_NONE = 0,
	QBD_STEP_QUIESCE,
	QBD_STEP_UNQUIESCE,
	QBD_STEP_RUN, /* run the hardware queues (held requests meet the mode) */
};

/* What queue_rq does with a request. */
enum qbd_rq_action {
	QBD_RQ_SEND = 0, /* throttle, then the transport */
	QBD_RQ_FAIL, /* complete with EIO */
	QBD_RQ_DISCARD, /* complete OK without the server; reads see zeros */
};

int qbd_state_shown(int state, bool suspended);
enum qbd_queue_step qbd_suspend_step(bool suspended);
enum qbd_queue_step qbd_resume_step(bool suspended);
enum qbd_rq_action qbd_rq_action(int state, u32 resume_mode);
int qbd_state_on_error(int state, bool remapping);
int qbd_state_on_connected(int state);
int qbd_state_on_connect_failed(int state, bool deadline_passed);
bool qbd_fault_decide(u32 probability, u32 interval, u64 seen, u32 rnd);

#endif /* QBD_LOGIC_H */
