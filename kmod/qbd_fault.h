/* SPDX-License-Identifier: GPL-2.0 */
/*
 * qbd fault injection (debugfs, for tests): see qbd_fault.c and
 * docs/operations.md. Built unless the module is built with QBD_FAULT=n;
 * then these stand-ins make every hook a no-op.
 */
#ifndef QBD_FAULT_H
#define QBD_FAULT_H

#include <linux/types.h>

struct qbd_device;
struct qbd_cmd;

/* Where a fault is injected (one debugfs directory each). */
enum qbd_fault_kind {
	QBD_FAULT_DROP_REQ, /* not sent: the request times out, reconnect */
	QBD_FAULT_CORRUPT_REQ, /* WRITE digest flipped: the server refuses it */
	QBD_FAULT_DROP_REPLY, /* reply read and ignored: timeout, reconnect */
	QBD_FAULT_DELAY_REPLY, /* reply held for delay_ms */
	QBD_FAULT_FAIL_REPLY, /* reply turned into an IO error */
	QBD_FAULT_CORRUPT_REPLY, /* a byte of READ data flipped */
	QBD_FAULT_NR,
};

#ifdef QBD_FAULT_INJECTION
int qbd_fault_module_init(void);
void qbd_fault_module_exit(void);
int qbd_fault_init(struct qbd_device *qdev);
void qbd_fault_add_debugfs(struct qbd_device *qdev);
void qbd_fault_remove_debugfs(struct qbd_device *qdev);
void qbd_fault_free(struct qbd_device *qdev);
bool qbd_fault_hit(struct qbd_device *qdev, enum qbd_fault_kind kind);
bool qbd_fault_hold_reply(struct qbd_cmd *cmd);
void qbd_fault_release_held(struct qbd_device *qdev);
u64 qbd_fault_injected(struct qbd_device *qdev);
#define QBD_FAULT_FEATURE QBD_FEAT_FAULT
#else
static inline int qbd_fault_module_init(void)
{
	return 0;
}

static inline void qbd_fault_module_exit(void)
{
}

static inline int qbd_fault_init(struct qbd_device *qdev)
{
	return 0;
}

static inline void qbd_fault_add_debugfs(struct qbd_device *qdev)
{
}

static inline void qbd_fault_remove_debugfs(struct qbd_device *qdev)
{
}

static inline void qbd_fault_free(struct qbd_device *qdev)
{
}

static inline bool qbd_fault_hit(struct qbd_device *qdev,
				 enum qbd_fault_kind kind)
{
	return false;
}

static inline bool qbd_fault_hold_reply(struct qbd_cmd *cmd)
{
	return false;
}

static inline void qbd_fault_release_held(struct qbd_device *qdev)
{
}

static inline u64 qbd_fault_injected(struct qbd_device *qdev)
{
	return 0;
}

#define QBD_FAULT_FEATURE 0
#endif

#endif /* QBD_FAULT_H */
