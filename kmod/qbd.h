/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qbd: private header shared by the module's files.
 *
 * qbd_main.c	module init/exit, parameters, block major, workqueue
 * qbd_ctl.c	/dev/qbdctl and its ioctls, the device list
 * qbd_dev.c	gendisk + blk-mq, device state machine and recovery
 * qbd_tcp.c	the TCP transport (struct qbd_transport_ops)
 * qbd_rdma.c	the RDMA transport (kernel verbs, rdma_cm)
 * qbd_xport.c	what both transports share (reply lookup, hello)
 * qbd_proc.c	/proc/qbdstat
 * qbd_sysfs.c	attributes under /sys/block/qbdN/qbd/
 * qbd_ops.c	throttle enforcement, suspend/resume, online resize
 * qbd_genl.c	the "qbd" generic netlink family: remap events
 * qbd_fault.c	debugfs fault injection for tests (qbd_fault.h)
 * qbd_throttle.c: token bucket arithmetic (pure, qbd_throttle.h)
 * qbd_shard.c, qbd_proto.c, qbd_validate.c: pure logic (qbd_logic.h)
 */
#ifndef QBD_H
#define QBD_H

#include <linux/blk-mq.h>
#include <linux/hrtimer.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/spinlock.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
#include "qbd_logic.h"
#include "qbd_fault.h"

#define QBD_MINORS 16 /* per disk: the disk and 15 partitions */
#define QBD_MAX_BACKOFF_MS 5000 /* reconnect attempts settle at this */
#define QBD_MIN_BACKOFF_MS 100
/*
 * Data digest mismatches one request may have before it fails with EIO:
 * the request is resent this many times (docs/protocol.md).
 */
#define QBD_DIGEST_RETRIES 3

/* Module parameters (qbd_main.c), validated at init. */
extern struct qbd_defaults qbd_defaults;
extern int qbd_major;
extern struct workqueue_struct *qbd_io_wq;
extern struct workqueue_struct *qbd_ctl_wq;

struct qbd_device;
struct qbd_queue;

/**
 * struct qbd_transport_ops - what the device code needs from a transport
 * @name: "tcp", shown in /proc/qbdstat and sysfs
 * @features: QBD_PF_* asked on top of QBD_PF_ALL (e.g. RDMA_INV)
 * @virt_boundary: blk-mq virt boundary mask the transport needs (0: none)
 * @connect: open the connection of hardware queue @q to server @srv and do
 *	the handshake; blocks up to conn_timeout. 0 or -errno.
 * @disconnect: close it; on return no transport context touches a request
 *	of @q any more (in-flight requests are then cancelled by the caller).
 * @queue_rq: send (or queue for sending) a started request; @last is
 *	blk-mq's bd->last.
 * @commit_rqs: push out what queue_rq left queued.
 * @heartbeat: called every hb_interval while LIVE: send a PING when idle,
 *	return -ETIMEDOUT when nothing came back for hb_timeout.
 */
struct qbd_transport_ops {
	const char *name;
	u64 features;
	unsigned long virt_boundary;
	int (*connect)(struct qbd_queue *q, unsigned int srv);
	void (*disconnect)(struct qbd_queue *q, unsigned int srv);
	void (*queue_rq)(struct qbd_queue *q, unsigned int srv,
			 struct request *rq, bool last);
	void (*commit_rqs)(struct qbd_queue *q);
	int (*heartbeat)(struct qbd_queue *q, unsigned int srv);
};

extern const struct qbd_transport_ops qbd_tcp_ops;
extern const struct qbd_transport_ops qbd_rdma_ops;
void qbd_rdma_exit(void);

/**
 * struct qbd_queue - one blk-mq hardware queue
 * @qdev: owning device
 * @qid: hardware queue index
 * @io_cpu: CPU its connections do their work on
 * @conns: transport connection per server (NULL while disconnected);
 *	set and cleared only by the recovery/unmap path with the queue
 *	quiesced or the device not LIVE
 */
struct qbd_queue {
	struct qbd_device *qdev;
	unsigned int qid;
	int io_cpu;
	void *conns[QBD_MAX_SERVERS];
};

/* struct qbd_cmd.state */
enum {
	QBD_CMD_IDLE = 0,
	QBD_CMD_QUEUED, /* handed to the transport, being sent */
	QBD_CMD_SENT, /* every byte sent: a reply may come */
};

/**
 * struct qbd_cmd - per-request driver data (blk-mq pdu)
 * @hdr: the wire header, built in queue_rq
 * @queue: hardware queue the request belongs to
 * @state: QBD_CMD_*; SENT is stored with release by the sender, read
 *	with acquire by the receiver
 * @gen: bumped on every dispatch; part of the handle
 * @opcode: QBD_OP_*
 * @srv: servers[] index the request went to
 * @retry: set by a cancel: requeue instead of completing
 * @resend: with @retry, set by a data digest mismatch: requeue and kick the
 *	requeue list at once (a cancel's requeues wait for the unquiesce)
 * @status: completion status
 * @length: bytes of data (READ/WRITE), 0 otherwise
 * @start_ns: first dispatch, for latency (0: not started)
 * @admitted: the throttle charged this request (resends pass; cleared when
 *	it ends)
 * @tentry: on a qbd_device.held list while the throttle holds it
 * @held_ns: when the throttle took it (ktime_get_ns()): it is charged as of
 *	then when released
 * @lentry: on the connection's lockless request list
 * @entry: on the connection's send list (under its send mutex)
 * @hdr_off: header bytes sent so far
 * @data_left: data bytes still to send or receive
 * @curr_bio: bio whose data is being sent or received
 * @bi: position in @curr_bio
 * @rx_digest: READ: the reply's digest (QBD_PF_DATA_DIGEST)
 * @digest_tries: digest mismatches since the first dispatch
 * @fault_entry: on the fault injector's held list (delay_reply)
 * @fault_due: jiffies at which a held reply completes
 * @part_done: a fanned-out request (see qbd_setup_cmd()): FLUSH: servers
 *	flushed; DISCARD/WRITE_ZEROES: bytes from the start done. Reset at
 *	the first dispatch (@start_ns 0) and when the layout changes.
 * @part_len: what the piece in flight adds to @part_done
 * @part_layout: layout_version @part_done counts in
 * @part_status: first error of the pieces done
 * @more: pieces remain after the one in flight
 */
struct qbd_cmd {
	struct qbd_req hdr;
	struct qbd_queue *queue;
	int state;
	u16 gen;
	u8 opcode;
	u8 srv;
	bool retry;
	bool resend;
	blk_status_t status;
	u32 length;
	u64 start_ns;
	bool admitted;
	struct list_head tentry;
	u64 held_ns;
	struct llist_node lentry;
	struct list_head entry;
	u32 hdr_off;
	u32 data_left;
	struct bio *curr_bio;
	struct bvec_iter bi;
	u32 rx_digest;
	u8 digest_tries;
	struct list_head fault_entry;
	unsigned long fault_due;
	u32 part_done;
	u32 part_len;
	u32 part_layout;
	blk_status_t part_status;
	bool more;
};

/**
 * struct qbd_pcpu_stats - per-CPU counters, summed for reporting
 */
struct qbd_pcpu_stats {
	u64 read_ios;
	u64 write_ios;
	u64 read_bytes;
	u64 write_bytes;
	u64 other_ios;
	u64 errors;
	u64 retries;
	u64 latency_us;
	u64 completed;
	u64 digest_errors;
	s64 in_flight;
};

/**
 * struct qbd_device - one mapped volume, /dev/qbdN
 * @id: N
 * @cfg: the map as validated, defaults applied; read-only after map
 * @layout: shard routing of the volume
 * @ops: the transport
 * @max_io: largest request sent (min of our limit and every server's)
 * @features: QBD_PF_* every server granted
 * @auth_tfm: "hmac(sha256)" holding the map's key, or NULL (no key); set at
 *	create, freed with the device; the key lives nowhere else
 * @depth: tags per hardware queue
 * @tag_set: blk-mq tag set
 * @disk: the gendisk
 * @queues: @nr_queues hardware queues
 * @lock: guards @state, @fail_deadline, @open_count, @remapping,
 *	@reconnecting_since, @last_event, @event_reason and @notice_size
 * @state: QBD_STATE_*; written under @lock with smp_store_release, read
 *	locklessly in queue_rq with smp_load_acquire
 * @fail_deadline: jiffies at which RECONNECTING turns FAILED
 * @reconnecting_since: jiffies of the last move away from LIVE
 * @remapping: REMAP owns the connections: errors start no recovery
 * @last_event: jiffies of the last remap event (0: none yet)
 * @event_reason: QBD_EVENT_REASON_* of the event @event_work sends
 * @event_work: sends the remap event (genl multicast and uevent)
 * @notice_size: larger volume size a server reported in a PING reply
 * @size_work: grows the disk to @notice_size (process context)
 * @open_count: opens of the disk and its partitions
 * @recovery_work: tears down, cancels and reconnects
 * @attempt: reconnect attempts since the last LIVE (recovery_work only)
 * @flaps: LIVE periods in a row shorter than a second (recovery_work only)
 * @live_since: jiffies of the last move to LIVE (recovery_work only)
 * @quiesced: we quiesced the queue (recovery_work and unmap only)
 * @conns_up: connections are installed (recovery_work and unmap only)
 * @io_ready: the tag set exists, replies may be matched to requests
 * @hb_work: heartbeat, every hb_interval while LIVE
 * @suspended: SUSPEND quiesced the queue (one level of its own); written
 *	under @lock and qbd_ctl_mutex, read locklessly
 * @resume_mode: QBD_RESUME_* applied in queue_rq; written like @suspended
 * @throttle_lock: guards @throttle, @held and the arming of
 *	@throttle_timer (one per device: the bucket math is a few
 *	instructions; per-queue buckets would split the limit). Taken
 *	irqsave: @throttle_timer runs in hardirq context.
 * @throttle: the four token buckets
 * @held: reads ([0]) and writes ([1]) the throttle holds, oldest first,
 *	taken off the hardware queue unstarted (no IO timeout runs on them),
 *	so a request waiting for its bucket never holds up the other
 *	direction or the requests behind it
 * @throttle_timer: fires when the oldest held request of a direction may
 *	go; charges it and hands it back to blk-mq (requeue), where queue_rq
 *	sends it like any request. Armed whenever @held is not empty.
 * @throttle_on: some limit is set; read locklessly to skip the lock
 * @fault: fault injection (qbd_fault.c), NULL when built without it
 * @stats: per-CPU counters
 * @reconnects: successful reconnections
 * @node: in qbd_devices, under qbd_ctl_mutex
 */
struct qbd_device {
	int id;
	struct qbd_map cfg;
	struct qbd_layout layout;
	const struct qbd_transport_ops *ops;
	u32 max_io;
	u64 features;
	struct crypto_shash *auth_tfm;
	u32 depth;
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	struct qbd_queue *queues;
	unsigned int nr_queues;

	/*
	 * guards state, fail_deadline, open_count, remapping,
	 * reconnecting_since, last_event, event_reason, notice_size
	 */
	spinlock_t lock;
	int state;
	unsigned long fail_deadline;
	int open_count;
	unsigned long reconnecting_since;
	bool remapping;
	unsigned long last_event;
	u32 event_reason;
	struct work_struct event_work;
	u64 notice_size;
	struct delayed_work size_work;

	struct delayed_work recovery_work;
	unsigned int attempt;
	unsigned int flaps;
	unsigned long live_since;
	bool quiesced;
	bool conns_up;
	bool io_ready;
	struct delayed_work hb_work;

	bool suspended;
	u32 resume_mode;
	spinlock_t throttle_lock; /* guards throttle, held[], throttle_timer */
	struct qbd_tb_set throttle;
	struct list_head held[2];
	struct hrtimer throttle_timer;
	bool throttle_on;

	struct qbd_fault_set *fault;
	struct qbd_pcpu_stats __percpu *stats;
	atomic64_t reconnects;
	struct list_head node;
};

static inline int qbd_state(struct qbd_device *qdev)
{
	/* pairs with qbd_set_state(): LIVE means the connections are there */
	return smp_load_acquire(&qdev->state);
}

static inline const char *qbd_name(struct qbd_device *qdev)
{
	return qdev->disk ? qdev->disk->disk_name : "qbd";
}

/* qbd_dev.c */
struct qbd_device *qbd_dev_create(const struct qbd_map *m, int id);
int qbd_dev_remove(struct qbd_device *qdev, bool force);
void qbd_dev_error(struct qbd_device *qdev);
void qbd_dev_stats(struct qbd_device *qdev, struct qbd_stats *st);
const char *qbd_state_name(int state);
void qbd_complete_cmd(struct qbd_cmd *cmd);
void qbd_complete_cmd_now(struct qbd_cmd *cmd);
int qbd_dev_remap(struct qbd_device *qdev, const struct qbd_remap *r,
		  const char **why);
void qbd_dev_ask_remap(struct qbd_device *qdev, u32 reason);
void qbd_dev_size_notice(struct qbd_device *qdev, u64 size);

/* qbd_xport.c */
struct sockaddr_storage;
struct qbd_cmd *qbd_xport_find_cmd(struct qbd_queue *q, unsigned int srv,
				   u64 handle, const char **why);
int qbd_xport_reply_status(struct qbd_cmd *cmd, u32 status, const char *peer);
int qbd_xport_hb_due(struct qbd_device *qdev, unsigned long last_rx);
u32 qbd_xport_data_crc(struct request *rq);
void qbd_xport_digest_error(struct qbd_cmd *cmd, const char *what);
bool qbd_xport_check_read(struct qbd_cmd *cmd);
void qbd_xport_hello(struct qbd_queue *q, struct qbd_hello_args *a,
		     struct qbd_hello_expect *e);
int qbd_xport_hello_done(struct qbd_queue *q,
			 const struct qbd_hello_reply *reply, const char **why);
int qbd_xport_sockaddr(const struct qbd_server_addr *sa,
		       struct sockaddr_storage *ss, char *peer,
		       size_t peer_len);

/* qbd_auth.c */
int qbd_auth_init(struct qbd_device *qdev);
void qbd_auth_free(struct qbd_device *qdev);

/* qbd_ops.c */
void qbd_ops_init(struct qbd_device *qdev);
bool qbd_ops_queue_rq(struct qbd_device *qdev, struct request *rq, int state,
		      blk_status_t *ret);
void qbd_ops_kick(struct qbd_device *qdev);
void qbd_ops_remove(struct qbd_device *qdev);
int qbd_shown_state(struct qbd_device *qdev);
const char *qbd_resume_mode_name(u32 mode);
int qbd_dev_set_throttle(struct qbd_device *qdev, const struct qbd_throttle *t);
u32 qbd_dev_burst_ms(struct qbd_device *qdev);
int qbd_dev_suspend(struct qbd_device *qdev);
int qbd_dev_resume(struct qbd_device *qdev, u32 mode);
int qbd_dev_resize(struct qbd_device *qdev, u64 size, const char **why);
int qbd_dev_grow(struct qbd_device *qdev, u64 size, const char **why);
void qbd_ops_size_work(struct work_struct *work);

/* qbd_genl.c */
int qbd_genl_init(void);
void qbd_genl_exit(void);
void qbd_genl_remap_needed(struct qbd_device *qdev, u32 reason);

/* qbd_ctl.c: the mapped devices, under qbd_ctl_mutex */
extern struct mutex qbd_ctl_mutex;
extern struct list_head qbd_devices;
int qbd_ctl_init(void);
void qbd_ctl_exit(void);

/* qbd_proc.c */
int qbd_proc_init(void);
void qbd_proc_exit(void);

/* qbd_sysfs.c */
extern const struct attribute_group *qbd_disk_groups[];

#endif /* QBD_H */
