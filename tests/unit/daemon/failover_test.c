#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "reconciler/daemon/failover.h"
#include "util/log.h"

/* --- fall / rise ---------------------------------------------------------- */

static void test_hc_first_verdict(void **state)
{
	struct rc_hc h = { 0 };

	(void)state;
	/* fall 2, rise 3: unknown until a streak completes. */
	assert_false(rc_hc_record(&h, true, 2, 3));
	assert_false(rc_hc_record(&h, true, 2, 3));
	assert_int_equal(h.state, RC_HEALTH_UNKNOWN);
	assert_true(rc_hc_record(&h, true, 2, 3));
	assert_int_equal(h.state, RC_HEALTH_UP);

	rc_hc_reset(&h);
	assert_int_equal(h.state, RC_HEALTH_UNKNOWN);
	assert_false(rc_hc_record(&h, false, 2, 3));
	assert_true(rc_hc_record(&h, false, 2, 3));
	assert_int_equal(h.state, RC_HEALTH_DOWN);
}

static void test_hc_fall_rise(void **state)
{
	struct rc_hc h = { 0 };

	(void)state;
	rc_hc_record(&h, true, 3, 2);
	rc_hc_record(&h, true, 3, 2);
	assert_int_equal(h.state, RC_HEALTH_UP);
	/* Two failures are not enough, and a pass in between resets. */
	assert_false(rc_hc_record(&h, false, 3, 2));
	assert_false(rc_hc_record(&h, false, 3, 2));
	assert_false(rc_hc_record(&h, true, 3, 2));
	assert_false(rc_hc_record(&h, false, 3, 2));
	assert_false(rc_hc_record(&h, false, 3, 2));
	assert_int_equal(h.state, RC_HEALTH_UP);
	assert_true(rc_hc_record(&h, false, 3, 2));
	assert_int_equal(h.state, RC_HEALTH_DOWN);
	/* Further failures change nothing. */
	assert_false(rc_hc_record(&h, false, 3, 2));
	/* rise 2: one pass, a failure, then two passes. */
	assert_false(rc_hc_record(&h, true, 3, 2));
	assert_false(rc_hc_record(&h, false, 3, 2));
	assert_false(rc_hc_record(&h, true, 3, 2));
	assert_int_equal(h.state, RC_HEALTH_DOWN);
	assert_true(rc_hc_record(&h, true, 3, 2));
	assert_int_equal(h.state, RC_HEALTH_UP);
	assert_int_equal(h.ok_streak, 2);
	assert_int_equal(h.fail_streak, 0);
}

static void test_hc_one(void **state)
{
	struct rc_hc h = { 0 };

	(void)state;
	/* fall 1, rise 1 (and 0 is treated as 1): every probe decides. */
	assert_true(rc_hc_record(&h, true, 0, 0));
	assert_true(rc_hc_record(&h, false, 1, 1));
	assert_true(rc_hc_record(&h, true, 1, 1));
	assert_string_equal(rc_health_name(h.state), "up");
}

/* --- decisions ---------------------------------------------------------------- */

#define U RC_HEALTH_UP
#define D RC_HEALTH_DOWN
#define K RC_HEALTH_UNKNOWN

struct fx {
	struct rc_fo_cand c[4];
	struct rc_fo_input in;
	struct rc_fo_decision d;
};

static void setup3(struct fx *f, enum rc_health a, enum rc_health b,
		   enum rc_health c, int holder)
{
	memset(f, 0, sizeof(*f));
	f->c[0] = (struct rc_fo_cand){ a, true };
	f->c[1] = (struct rc_fo_cand){ b, true };
	f->c[2] = (struct rc_fo_cand){ c, true };
	f->in.cands = f->c;
	f->in.n_cands = 3;
	f->in.holder = holder;
	f->in.bound = holder >= 0;
	f->in.failback = SPEC_FAILBACK_STAY;
	f->in.now_ms = 100000;
	f->in.damp_ms = 5000;
}

static void decide(struct fx *f)
{
	rc_fo_decide(&f->in, &f->d);
}

static void test_keep_healthy_holder(void **state)
{
	struct fx f;

	(void)state;
	setup3(&f, U, U, U, 1);
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_KEEP);
	assert_int_equal(f.d.target, 1);
}

static void test_unknown_holder_is_kept(void **state)
{
	struct fx f;

	(void)state;
	/* At start-up nothing is known: nothing moves. */
	setup3(&f, K, K, K, 0);
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_KEEP);
	assert_int_equal(f.d.target, 0);
	/* Even with prefer_first and an earlier candidate up. */
	setup3(&f, U, K, K, 1);
	f.in.failback = SPEC_FAILBACK_PREFER_FIRST;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_KEEP);
	assert_int_equal(f.d.target, 1);
}

static void test_holder_down_moves_to_first_up(void **state)
{
	struct fx f;

	(void)state;
	setup3(&f, D, U, U, 0);
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_MOVE);
	assert_int_equal(f.d.target, 1);
	assert_int_equal(f.d.reason, RC_FO_WHY_HOLDER_DOWN);
	assert_string_equal(rc_fo_reason_name(f.d.reason), "holder_down");
	/* The first up candidate in order, not the one after the holder. */
	setup3(&f, U, K, D, 2);
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_MOVE);
	assert_int_equal(f.d.target, 0);
	/* Unknown candidates are not up: skipped. */
	setup3(&f, D, K, U, 0);
	decide(&f);
	assert_int_equal(f.d.target, 2);
}

static void test_holder_not_running(void **state)
{
	struct fx f;

	(void)state;
	/* Probes still say up (or unknown), but the instance stopped. */
	setup3(&f, U, U, K, 0);
	f.c[0].running = false;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_MOVE);
	assert_int_equal(f.d.target, 1);
	assert_int_equal(f.d.reason, RC_FO_WHY_HOLDER_NOT_RUNNING);
	/* An up candidate that is not running is not usable either. */
	setup3(&f, D, U, U, 0);
	f.c[1].running = false;
	decide(&f);
	assert_int_equal(f.d.target, 2);
}

static void test_all_down_and_waiting(void **state)
{
	struct fx f;

	(void)state;
	setup3(&f, D, D, D, 0);
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_ALL_DOWN);
	assert_int_equal(f.d.target, -1);
	/* A stopped unknown candidate counts as down. */
	setup3(&f, D, K, D, 0);
	f.c[1].running = false;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_ALL_DOWN);
	/* A running unknown one may still come up: waiting, no alert. */
	setup3(&f, D, K, D, 0);
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_WAITING);
	assert_string_equal(rc_fo_verdict_name(f.d.verdict), "waiting");
}

static void test_unbound_and_foreign(void **state)
{
	struct fx f;

	(void)state;
	setup3(&f, K, U, U, -1);
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_MOVE);
	assert_int_equal(f.d.target, 1);
	assert_int_equal(f.d.reason, RC_FO_WHY_UNBOUND);
	/* Bound to an instance that is not a candidate (console drift). */
	setup3(&f, U, U, U, -1);
	f.in.bound = true;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_MOVE);
	assert_int_equal(f.d.target, 0);
	assert_int_equal(f.d.reason, RC_FO_WHY_NOT_CANDIDATE);
	/* Nobody up yet at start-up: leave it alone, quietly. */
	setup3(&f, K, K, K, -1);
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_WAITING);
	setup3(&f, D, D, D, -1);
	f.in.bound = true;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_ALL_DOWN);
}

static void test_failback(void **state)
{
	struct fx f;

	(void)state;
	/* stay: the standby keeps it although the primary is up again. */
	setup3(&f, U, U, K, 1);
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_KEEP);
	/* prefer_first: back to the primary. */
	f.in.failback = SPEC_FAILBACK_PREFER_FIRST;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_MOVE);
	assert_int_equal(f.d.target, 0);
	assert_int_equal(f.d.reason, RC_FO_WHY_FAILBACK);
	/* Not while the primary is only unknown or down. */
	setup3(&f, K, U, U, 1);
	f.in.failback = SPEC_FAILBACK_PREFER_FIRST;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_KEEP);
	/* To the earliest up one, which need not be the first. */
	setup3(&f, D, U, U, 2);
	f.in.failback = SPEC_FAILBACK_PREFER_FIRST;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_MOVE);
	assert_int_equal(f.d.target, 1);
	/* Never to a later candidate. */
	setup3(&f, U, U, U, 0);
	f.in.failback = SPEC_FAILBACK_PREFER_FIRST;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_KEEP);
}

static void test_damping(void **state)
{
	struct fx f;

	(void)state;
	setup3(&f, D, U, U, 0);
	/* Moved 1 s ago, window 5 s: not before 4 s from now. */
	f.in.last_move_ms = f.in.now_ms - 1000;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_DAMPED);
	assert_int_equal(f.d.target, 1);
	assert_int_equal(f.d.retry_at_ms, f.in.now_ms + 4000);
	/* At the end of the window the move is allowed. */
	f.in.now_ms = f.d.retry_at_ms;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_MOVE);
	/* A failback is damped too. */
	setup3(&f, U, U, U, 1);
	f.in.failback = SPEC_FAILBACK_PREFER_FIRST;
	f.in.last_move_ms = f.in.now_ms - 4999;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_DAMPED);
	assert_int_equal(f.d.retry_at_ms, f.in.now_ms + 1);
	/* Keeping is never damped, and never having moved is no damping. */
	setup3(&f, U, U, U, 1);
	f.in.last_move_ms = f.in.now_ms;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_KEEP);
	setup3(&f, D, U, U, 0);
	f.in.last_move_ms = 0;
	decide(&f);
	assert_int_equal(f.d.verdict, RC_FO_MOVE);
}

/*
 * A flapping primary with prefer_first, probed every second: however it
 * flaps, moves are at least the window apart.
 */
static void test_flapping_is_damped(void **state)
{
	struct spec_failover sf = { 0 };
	struct rc_hc hc[2] = { { 0 }, { 0 } };
	struct rc_fo_cand c[2];
	struct rc_fo_input in = { 0 };
	struct rc_fo_decision d;
	uint64_t last = 0, damp;
	int holder = 0, moves = 0;

	(void)state;
	sf.interval_ms = 1000;
	sf.fall = 1;
	sf.rise = 2;
	damp = rc_fo_damp_ms(&sf);
	assert_int_equal(damp, 3000);
	in.cands = c;
	in.n_cands = 2;
	in.failback = SPEC_FAILBACK_PREFER_FIRST;
	in.damp_ms = damp;
	for (uint64_t t = 1000; t <= 120000; t += 1000) {
		/* Primary: up 2 s, down 1 s, forever; standby always up. */
		rc_hc_record(&hc[0], (t / 1000) % 3 != 0, sf.fall, sf.rise);
		rc_hc_record(&hc[1], true, sf.fall, sf.rise);
		for (int i = 0; i < 2; i++)
			c[i] = (struct rc_fo_cand){ hc[i].state, true };
		in.holder = holder;
		in.bound = true;
		in.now_ms = t;
		in.last_move_ms = last;
		rc_fo_decide(&in, &d);
		if (d.verdict == RC_FO_MOVE) {
			assert_true(last == 0 || t - last >= damp);
			holder = d.target;
			last = t;
			moves++;
		}
	}
	assert_true(moves >= 2);
	assert_true(moves <= 120000 / 3000 + 1);
}

/* --- the damping message ------------------------------------------------- */

static void damped_sink(void *ctx, const struct util_log_event *ev)
{
	if (!strcmp(ev->event, "failover_damped"))
		snprintf(ctx, 256, "%s", ev->msg);
}

static void test_damped_message_has_both_durations(void **state)
{
	char msg[256] = "";

	(void)state;
	util_log_set_sink(damped_sink, msg, UTIL_LOG_DEBUG);
	rc_fo_log_damped("vip", "i-0000000b", RC_FO_WHY_HOLDER_DOWN, 2000,
			 28000);
	util_log_set_sink(NULL, NULL, UTIL_LOG_DEBUG);
	assert_string_equal(msg,
			    "vip should move to i-0000000b (holder_down) but "
			    "moved 2s ago; flap damping holds it for 28s");
}

/*
 * The input the loop and a failover cycle both build: running means
 * observed running (an instance never looked up is not, whatever its
 * state field holds), and the damping window comes from the block.
 */
static void test_decision_input(void **state)
{
	struct spec_failover f = { .n_candidates = 2,
				   .interval_ms = 2000,
				   .fall = 3,
				   .rise = 2,
				   .failback = SPEC_FAILBACK_STAY };
	struct rc_fo_cand c[2] = { { RC_HEALTH_DOWN, false },
				   { RC_HEALTH_UP, false } };
	struct rc_fo_input in;
	struct rc_fo_decision d;
	uint64_t now = 5000;

	(void)state;
	assert_false(rc_fo_running(false, PROV_INSTANCE_RUNNING));
	assert_false(rc_fo_running(true, PROV_INSTANCE_STOPPED));
	assert_false(rc_fo_running(true, PROV_INSTANCE_UNKNOWN));
	assert_true(rc_fo_running(true, PROV_INSTANCE_RUNNING));
	c[0].running = rc_fo_running(true, PROV_INSTANCE_RUNNING);
	/* The standby is up but was never looked up: nobody can take it. */
	c[1].running = rc_fo_running(false, PROV_INSTANCE_RUNNING);
	rc_fo_input_init(&in, &f, c, 0, true, now, 1000);
	assert_int_equal(in.n_cands, 2);
	assert_int_equal(in.damp_ms, 10000);
	rc_fo_decide(&in, &d);
	assert_int_equal(d.verdict, RC_FO_ALL_DOWN);
	/* Looked up and running: it should take it, once the window ends. */
	c[1].running = rc_fo_running(true, PROV_INSTANCE_RUNNING);
	rc_fo_decide(&in, &d);
	assert_int_equal(d.verdict, RC_FO_DAMPED);
	assert_int_equal(d.target, 1);
	assert_int_equal(d.retry_at_ms, 11000);
	rc_fo_input_init(&in, &f, c, 0, true, d.retry_at_ms, 1000);
	rc_fo_decide(&in, &d);
	assert_int_equal(d.verdict, RC_FO_MOVE);
	assert_int_equal(d.target, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hc_first_verdict),
		cmocka_unit_test(test_hc_fall_rise),
		cmocka_unit_test(test_hc_one),
		cmocka_unit_test(test_keep_healthy_holder),
		cmocka_unit_test(test_unknown_holder_is_kept),
		cmocka_unit_test(test_holder_down_moves_to_first_up),
		cmocka_unit_test(test_holder_not_running),
		cmocka_unit_test(test_all_down_and_waiting),
		cmocka_unit_test(test_unbound_and_foreign),
		cmocka_unit_test(test_failback),
		cmocka_unit_test(test_damping),
		cmocka_unit_test(test_flapping_is_damped),
		cmocka_unit_test(test_damped_message_has_both_durations),
		cmocka_unit_test(test_decision_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
