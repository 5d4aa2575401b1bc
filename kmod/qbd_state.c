// SPDX-License-Identifier: GPL-2.0
/*
 * qbd device state machine rules (pure logic): which state a device shows,
 * what suspend and resume do to the queue, what happens to a request
 * reaching queue_rq in a given state and resume mode, and the connection
 * state transitions. qbd_dev.c and qbd_ops.c act on these answers; the
 * KUnit suite qbd_state checks every combination.
 */
#include <linux/errno.h>
#include <linux/math64.h>
#include "qbd_logic.h"

/* The state userspace sees: SUSPENDED hides the connection state. */
int qbd_state_shown(int state, bool suspended)
{
	if (state != QBD_STATE_DELETING && suspended)
		return QBD_STATE_SUSPENDED;
	return state;
}

/* SUSPEND: quiesce once; suspending a suspended device does nothing. */
enum qbd_queue_step qbd_suspend_step(bool suspended)
{
	return suspended ? QBD_STEP_NONE : QBD_STEP_QUIESCE;
}

/*
 * RESUME: drop SUSPEND's quiesce; on a device that is not suspended only
 * the mode changes and the queues are run so held requests meet it.
 */
enum qbd_queue_step qbd_resume_step(bool suspended)
{
	return suspended ? QBD_STEP_UNQUIESCE : QBD_STEP_RUN;
}

/**
 * qbd_rq_action - what queue_rq does with a request
 * @state: QBD_STATE_* (the connection state, never SUSPENDED)
 * @resume_mode: QBD_RESUME_* in force
 *
 * DELETING fails everything; then the resume mode decides (ERROR fails,
 * DISCARD completes without the server); then FAILED fails; anything
 * else goes on to the throttle and the transport (RECONNECTING keeps the
 * queue quiesced, so what reaches queue_rq then is requeued by recovery).
 */
enum qbd_rq_action qbd_rq_action(int state, u32 resume_mode)
{
	if (state == QBD_STATE_DELETING)
		return QBD_RQ_FAIL;
	if (resume_mode == QBD_RESUME_ERROR)
		return QBD_RQ_FAIL;
	if (resume_mode == QBD_RESUME_DISCARD)
		return QBD_RQ_DISCARD;
	if (state == QBD_STATE_FAILED)
		return QBD_RQ_FAIL;
	return QBD_RQ_SEND;
}

/* A connection broke: only a LIVE device (not being remapped) moves. */
int qbd_state_on_error(int state, bool remapping)
{
	if (state == QBD_STATE_LIVE && !remapping)
		return QBD_STATE_RECONNECTING;
	return state;
}

/* Every connection is up again: LIVE, unless the device is going away. */
int qbd_state_on_connected(int state)
{
	return state == QBD_STATE_DELETING ? state : QBD_STATE_LIVE;
}

/* A reconnect attempt failed: RECONNECTING past io_timeout is FAILED. */
int qbd_state_on_connect_failed(int state, bool deadline_passed)
{
	if (state == QBD_STATE_RECONNECTING && deadline_passed)
		return QBD_STATE_FAILED;
	return state;
}

/**
 * qbd_fault_decide - does a fault injection chance inject? (qbd_fault.c)
 * @probability: percent, 0..100 (used when @interval is 0)
 * @interval: inject on every @interval-th chance (0: use @probability)
 * @seen: this chance's number, from 1
 * @rnd: a random number
 */
bool qbd_fault_decide(u32 probability, u32 interval, u64 seen, u32 rnd)
{
	u32 rem;

	if (interval) {
		div_u64_rem(seen, interval, &rem);
		return seen && !rem;
	}
	return rnd % 100 < probability;
}
