// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite qbd_state: the device state machine rules of qbd_state.c,
 * every state against every resume mode and suspend flag.
 */
#include <kunit/test.h>
#include "qbd_logic.h"

static const int qbd_all_states[] = {
	QBD_STATE_LIVE,
	QBD_STATE_RECONNECTING,
	QBD_STATE_FAILED,
	QBD_STATE_DELETING,
};

static void qbd_state_shown_table(struct kunit *test)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(qbd_all_states); i++) {
		int s = qbd_all_states[i];

		KUNIT_EXPECT_EQ_MSG(test, qbd_state_shown(s, false), s,
				    "state %d not suspended", s);
		KUNIT_EXPECT_EQ_MSG(test, qbd_state_shown(s, true),
				    s == QBD_STATE_DELETING ?
					    QBD_STATE_DELETING :
					    QBD_STATE_SUSPENDED,
				    "state %d suspended", s);
	}
}

static void qbd_state_suspend_resume_steps(struct kunit *test)
{
	KUNIT_EXPECT_EQ_MSG(test, qbd_suspend_step(false), QBD_STEP_QUIESCE,
			    "suspend a running device quiesces");
	KUNIT_EXPECT_EQ_MSG(test, qbd_suspend_step(true), QBD_STEP_NONE,
			    "suspend twice: the second does nothing");
	KUNIT_EXPECT_EQ_MSG(test, qbd_resume_step(true), QBD_STEP_UNQUIESCE,
			    "resume a suspended device unquiesces");
	KUNIT_EXPECT_EQ_MSG(test, qbd_resume_step(false), QBD_STEP_RUN,
			    "resume a running device only runs the queues");
}

static void qbd_state_rq_action_table(struct kunit *test)
{
	static const struct {
		int state;
		u32 mode;
		enum qbd_rq_action want;
	} cases[] = {
		{ QBD_STATE_LIVE, QBD_RESUME_NORMAL, QBD_RQ_SEND },
		{ QBD_STATE_LIVE, QBD_RESUME_ERROR, QBD_RQ_FAIL },
		{ QBD_STATE_LIVE, QBD_RESUME_DISCARD, QBD_RQ_DISCARD },
		{ QBD_STATE_RECONNECTING, QBD_RESUME_NORMAL, QBD_RQ_SEND },
		{ QBD_STATE_RECONNECTING, QBD_RESUME_ERROR, QBD_RQ_FAIL },
		{ QBD_STATE_RECONNECTING, QBD_RESUME_DISCARD, QBD_RQ_DISCARD },
		{ QBD_STATE_FAILED, QBD_RESUME_NORMAL, QBD_RQ_FAIL },
		{ QBD_STATE_FAILED, QBD_RESUME_ERROR, QBD_RQ_FAIL },
		/* discard abandons a dead volume without hanging the host */
		{ QBD_STATE_FAILED, QBD_RESUME_DISCARD, QBD_RQ_DISCARD },
		{ QBD_STATE_DELETING, QBD_RESUME_NORMAL, QBD_RQ_FAIL },
		{ QBD_STATE_DELETING, QBD_RESUME_ERROR, QBD_RQ_FAIL },
		{ QBD_STATE_DELETING, QBD_RESUME_DISCARD, QBD_RQ_FAIL },
	};
	enum qbd_rq_action got;
	int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		got = qbd_rq_action(cases[i].state, cases[i].mode);
		KUNIT_EXPECT_EQ_MSG(test, got, cases[i].want,
				    "state %d, resume mode %u", cases[i].state,
				    cases[i].mode);
	}
}

static void qbd_state_connection_transitions(struct kunit *test)
{
	int i, s, want;

	for (i = 0; i < ARRAY_SIZE(qbd_all_states); i++) {
		s = qbd_all_states[i];
		want = s == QBD_STATE_LIVE ? QBD_STATE_RECONNECTING : s;
		KUNIT_EXPECT_EQ_MSG(test, qbd_state_on_error(s, false), want,
				    "error in state %d", s);
		KUNIT_EXPECT_EQ_MSG(test, qbd_state_on_error(s, true), s,
				    "error in state %d while remapping", s);
		want = s == QBD_STATE_DELETING ? s : QBD_STATE_LIVE;
		KUNIT_EXPECT_EQ_MSG(test, qbd_state_on_connected(s), want,
				    "connected in state %d", s);
		KUNIT_EXPECT_EQ_MSG(test, qbd_state_on_connect_failed(s, false),
				    s, "connect failed in state %d, in time",
				    s);
		want = s == QBD_STATE_RECONNECTING ? QBD_STATE_FAILED : s;
		KUNIT_EXPECT_EQ_MSG(test, qbd_state_on_connect_failed(s, true),
				    want, "connect failed in state %d, late",
				    s);
	}
}

/* Fault injection's decision: every Nth chance, or a percentage. */
static void qbd_state_fault_decide(struct kunit *test)
{
	static const struct {
		u32 prob, interval;
		u64 seen;
		u32 rnd;
		bool want;
	} c[] = {
		{ 0, 1, 1, 0, true },		{ 0, 1, 2, 0, true },
		{ 0, 3, 1, 0, false },		{ 0, 3, 3, 0, true },
		{ 0, 3, 6, 0, true },		{ 0, 3, 7, 0, false },
		{ 100, 3, 2, 0, false },	{ 0, 0, 5, 0, false },
		{ 100, 0, 5, 99, true },	{ 50, 0, 1, 49, true },
		{ 50, 0, 1, 50, false },	{ 50, 0, 1, 149, true },
		{ 1, 0, 1, 0xffffffff, false },
	};
	unsigned int i;
	bool got;

	for (i = 0; i < ARRAY_SIZE(c); i++) {
		got = qbd_fault_decide(c[i].prob, c[i].interval, c[i].seen,
				       c[i].rnd);
		KUNIT_EXPECT_EQ_MSG(test, got, c[i].want,
				    "case %u: prob %u interval %u seen %llu", i,
				    c[i].prob, c[i].interval, c[i].seen);
	}
}

static struct kunit_case qbd_state_cases[] = {
	KUNIT_CASE(qbd_state_fault_decide),
	KUNIT_CASE(qbd_state_shown_table),
	KUNIT_CASE(qbd_state_suspend_resume_steps),
	KUNIT_CASE(qbd_state_rq_action_table),
	KUNIT_CASE(qbd_state_connection_transitions),
	{}
};

static struct kunit_suite qbd_state_suite = {
	.name = "qbd_state",
	.test_cases = qbd_state_cases,
};

kunit_test_suite(qbd_state_suite);
