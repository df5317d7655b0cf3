/*
 * reconciler/daemon/lease.c: several managers (replicas) on one
 * in-memory lease table, rounds driven by hand on an injected clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "providers/provider.h"
#include "reconciler/daemon/lease.h"
#include "tests/unit/support/memprov.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/fence.h"
#include "util/banned.h"

#define DUR    10000
#define MARGIN 4000

static uint64_t now;
static uint64_t renew_delay; /* added to the clock inside lease_renew */

static uint64_t t_mono(void *ctx)
{
	(void)ctx;
	return now;
}

static time_t t_wall(void *ctx)
{
	(void)ctx;
	return 1700000000;
}

static void t_sleep(void *ctx, uint64_t ms)
{
	(void)ctx;
	now += ms;
}

static const struct util_clock clk = { t_mono, t_wall, t_sleep, NULL };

static void hook(void *ctx, struct memprov *m, const char *call)
{
	(void)ctx;
	(void)m;
	/* Only the spec's renewal, not the replica item's. */
	if (!strncmp(call, "lease_renew", 11) && strstr(call, " s1 "))
		now += renew_delay;
}

static const char *six[] = { "s1", "s2", "s3", "s4", "s5", "s6" };

static struct prov *table(void)
{
	struct prov *p = memprov_new();

	now = 1000;
	renew_delay = 0;
	memprov_lease_table(memprov_of(p), "t", false);
	memprov_set_hook(memprov_of(p), hook, NULL);
	return p;
}

static struct rc_lease *mgr(struct prov *p, const char *id, size_t n)
{
	struct rc_lease_config c = { .table = "t",
				     .replica_id = id,
				     .duration_ms = DUR,
				     .margin_ms = MARGIN,
				     .names = six,
				     .n_names = n,
				     .clock = &clk };
	struct rc_lease *m;
	struct util_err err = { 0 };

	assert_int_equal(rc_lease_new(p, &c, &m, &err), 0);
	return m;
}

static unsigned n_held(struct rc_lease *m, size_t n)
{
	unsigned k = 0;

	for (size_t i = 0; i < n; i++)
		k += rc_lease_held(m, i);
	return k;
}

static char *holder(struct prov *p, const char *name)
{
	static char h[64];
	struct prov_lease l = { 0 };
	struct util_err err = { 0 };

	assert_int_equal(p->ops->lease_get(p, "t", name, &l, &err), 0);
	snprintf(h, sizeof(h), "%s", l.holder ? l.holder : "");
	prov_lease_release(&l);
	return h;
}

static void test_config(void **state)
{
	struct prov *p = table();
	struct rc_lease_config c = { .table = "t",
				     .replica_id = "a",
				     .duration_ms = DUR,
				     .margin_ms = DUR / 2 };
	struct rc_lease *m = NULL;
	struct util_err err = { 0 };

	(void)state;
	assert_int_equal(rc_lease_new(p, &c, &m, &err), UTIL_EINVAL);
	util_err_clear(&err);
	c.margin_ms = 0;
	c.replica_id = NULL;
	assert_int_equal(rc_lease_new(p, &c, &m, &err), UTIL_EINVAL);
	prov_free(p);
}

static void test_one_holder(void **state)
{
	struct prov *p = table();
	struct rc_lease *m[3] = { mgr(p, "a", 1), mgr(p, "b", 1),
				  mgr(p, "c", 1) };

	(void)state;
	for (int r = 0; r < 8; r++) {
		for (int i = 0; i < 3; i++)
			rc_lease_round(m[i]);
		assert_int_equal(rc_lease_held(m[0], 0) +
					 rc_lease_held(m[1], 0) +
					 rc_lease_held(m[2], 0),
				 1);
		now += DUR / 4;
	}
	assert_string_equal(holder(p, "s1"), "a");
	for (int i = 0; i < 3; i++) {
		rc_lease_stop(m[i]);
		rc_lease_free(m[i]);
	}
	prov_free(p);
}

static void test_takeover_after_full_duration(void **state)
{
	struct prov *p = table();
	struct rc_lease *a = mgr(p, "a", 1), *b = mgr(p, "b", 1);

	(void)state;
	rc_lease_round(a);
	assert_true(rc_lease_held(a, 0));
	rc_lease_round(b); /* b first sees a's rvn now */
	uint64_t seen = now;
	/* a stops renewing (hung); b keeps looking. */
	now = seen + DUR - 1;
	rc_lease_round(b);
	assert_false(rc_lease_held(b, 0));
	assert_string_equal(holder(p, "s1"), "a");
	assert_false(rc_lease_held(a, 0)); /* a's fence closed long ago */
	now = seen + DUR;
	rc_lease_round(b);
	assert_true(rc_lease_held(b, 0));
	assert_string_equal(holder(p, "s1"), "b");
	/* One Scan per round: a's, then b's three. */
	assert_int_equal(memprov_count(memprov_of(p), "lease_list"), 4);
	/* a comes back: its renewal loses and its fence stays closed. */
	rc_lease_round(a);
	assert_false(rc_lease_held(a, 0));
	assert_string_equal(holder(p, "s1"), "b");
	rc_lease_free(a);
	rc_lease_stop(b);
	rc_lease_free(b);
	prov_free(p);
}

static void test_fence_from_renewal_start(void **state)
{
	struct prov *p = table();
	struct rc_lease *a = mgr(p, "a", 1);
	const struct util_fence *f = rc_lease_fence(a, 0);
	struct util_err err = { 0 };
	uint64_t budget = 0;

	(void)state;
	rc_lease_round(a);
	now += DUR / 4;
	renew_delay = 3000; /* the renewal's answer comes 3 s late */
	uint64_t started = now;
	rc_lease_round(a);
	assert_int_equal(now, started + 3000);
	assert_int_equal(f->check(f->ctx, &budget, &err), 0);
	/* Until the lease could expire for the others. */
	assert_int_equal(budget, started + DUR - now);
	now = started + DUR - MARGIN - 1;
	assert_true(rc_lease_held(a, 0));
	assert_int_equal(f->check(f->ctx, &budget, &err), 0);
	assert_int_equal(budget, MARGIN + 1);
	now = started + DUR - MARGIN;
	assert_false(rc_lease_held(a, 0));
	assert_int_equal(f->check(f->ctx, &budget, &err), UTIL_EFENCED);
	util_err_clear(&err);
	rc_lease_stop(a);
	rc_lease_free(a);
	prov_free(p);
}

struct changes {
	int gained, lost;
};

static void on_change(void *ctx, size_t idx, bool held)
{
	struct changes *c = ctx;

	assert_int_equal(idx, 0);
	if (held)
		c->gained++;
	else
		c->lost++;
}

static void test_condition_fails_and_throttle(void **state)
{
	struct prov *p = table();
	struct rc_lease *a = mgr(p, "a", 1);
	struct changes ch = { 0 };
	struct prov_lease l = { 0 };
	struct util_err err = { 0 };

	(void)state;
	rc_lease_on_change(a, 0, on_change, &ch);
	rc_lease_round(a);
	assert_int_equal(ch.gained, 1);
	/* Throttled renewal: the fence stays until the time bound. */
	uint64_t start = now;
	now += DUR / 4;
	memprov_fail(memprov_of(p), "lease_renew", "s1", 1,
		     "ProvisionedThroughputExceededException", 0, false);
	rc_lease_round(a);
	assert_true(rc_lease_held(a, 0));
	assert_int_equal(ch.lost, 0);
	now = start + DUR - MARGIN;
	assert_false(rc_lease_held(a, 0));
	now = start + DUR / 2;
	/* Someone else's write: the renewal fails its condition. */
	assert_int_equal(p->ops->lease_get(p, "t", "s1", &l, &err), 0);
	struct prov_lease_write w = {
		.name = "s1", .holder = "x", .rvn = "other", .duration_ms = DUR
	};
	assert_int_equal(p->ops->lease_acquire(p, "t", &w, l.rvn, &err), 0);
	prov_lease_release(&l);
	assert_true(rc_lease_held(a, 0));
	rc_lease_round(a);
	assert_false(rc_lease_held(a, 0));
	assert_int_equal(ch.lost, 1);
	struct rc_lease_info info;
	rc_lease_info(a, 0, &info);
	assert_string_equal(info.holder, "x");
	assert_int_equal(info.transitions, 2);
	rc_lease_stop(a);
	rc_lease_free(a);
	prov_free(p);
}

static void test_stop_hands_over_at_once(void **state)
{
	struct prov *p = table();
	struct rc_lease *a = mgr(p, "a", 1), *b = mgr(p, "b", 1);
	struct changes ch = { 0 };

	(void)state;
	rc_lease_on_change(a, 0, on_change, &ch);
	rc_lease_round(a);
	rc_lease_round(b);
	assert_false(rc_lease_held(b, 0));
	rc_lease_stop(a);
	assert_int_equal(ch.lost, 1);
	assert_string_equal(holder(p, "s1"), "");
	rc_lease_round(b);
	assert_true(rc_lease_held(b, 0));
	rc_lease_free(a);
	rc_lease_stop(b);
	rc_lease_free(b);
	prov_free(p);
}

/* The fence in force while a lease op runs: its budget, or -1 closed. */
static long long budgets[16];
static size_t n_budgets;

static void record_fence(void *ctx, struct memprov *m, const char *call)
{
	uint64_t b;
	struct util_err err = { 0 };

	(void)ctx;
	(void)m;
	if (strncmp(call, "lease_", 6) || n_budgets == 16)
		return;
	budgets[n_budgets++] = util_fence_check(&b, &err) ? -1
			       : b == UINT64_MAX	  ? -2
							  : (long long)b;
	now += 100; /* each call takes 100 ms */
}

/*
 * A round's calls, and the release at stop, run under a deadline of the
 * lease manager's own (duration/4, the margin): what is left of it bounds
 * each call, so an unreachable table holds up neither rounds nor stop.
 */
static void test_calls_under_deadline(void **state)
{
	struct prov *p = table();
	struct rc_lease *a = mgr(p, "a", 1);

	(void)state;
	memprov_set_hook(memprov_of(p), record_fence, NULL);
	n_budgets = 0;
	rc_lease_round(a); /* scan, acquire s1, acquire replica:a */
	assert_int_equal(n_budgets, 3);
	assert_int_equal(budgets[0], DUR / 4);
	assert_int_equal(budgets[1], DUR / 4 - 100);
	assert_int_equal(budgets[2], DUR / 4 - 200);
	n_budgets = 0;
	rc_lease_stop(a); /* release both */
	assert_int_equal(n_budgets, 2);
	assert_int_equal(budgets[0], MARGIN);
	assert_int_equal(budgets[1], MARGIN - 100);
	/* Outside the manager's calls no fence is in force. */
	uint64_t b = 0;
	struct util_err err = { 0 };
	assert_int_equal(util_fence_check(&b, &err), 0);
	assert_true(b == UINT64_MAX);
	rc_lease_free(a);
	prov_free(p);
}

static void rounds(struct rc_lease **m, size_t n, int k)
{
	for (int r = 0; r < k; r++) {
		for (size_t i = 0; i < n; i++)
			rc_lease_round(m[i]);
		now += DUR / 4;
	}
}

static void test_spread(void **state)
{
	struct prov *p = table();
	struct rc_lease *m[3] = { mgr(p, "a", 6), mgr(p, "b", 6),
				  mgr(p, "c", 6) };
	struct rc_lease_info info;

	(void)state;
	rounds(m, 2, 12);
	assert_int_equal(n_held(m[0], 6), 3);
	assert_int_equal(n_held(m[1], 6), 3);
	rounds(m, 3, 12);
	assert_int_equal(n_held(m[0], 6), 2);
	assert_int_equal(n_held(m[1], 6), 2);
	assert_int_equal(n_held(m[2], 6), 2);
	rc_lease_info(m[0], 0, &info);
	assert_int_equal(info.live_replicas, 3);
	assert_int_equal(info.target, 2);
	/* c hangs: no more heartbeats.  Within one duration (after its
	 * fence closed) a and b hold all six between them. */
	rounds(m, 2, 5);
	rc_lease_round(m[0]);
	rc_lease_round(m[1]);
	assert_int_equal(n_held(m[0], 6) + n_held(m[1], 6), 6);
	assert_int_equal(n_held(m[2], 6), 0);
	for (int i = 0; i < 6; i++)
		assert_true(rc_lease_held(m[0], (size_t)i) !=
			    rc_lease_held(m[1], (size_t)i));
	rounds(m, 2, 12);
	assert_int_equal(n_held(m[0], 6), 3);
	assert_int_equal(n_held(m[1], 6), 3);
	for (int i = 0; i < 3; i++) {
		rc_lease_stop(m[i]);
		rc_lease_free(m[i]);
	}
	prov_free(p);
}

/*
 * The thread: its first round runs at once; stop wakes it from its wait
 * (a duration of minutes would otherwise hold the join), then releases.
 */
static void test_thread_start_stop(void **state)
{
	struct prov *p = table();
	struct rc_lease_config c = { .table = "t",
				     .replica_id = "a",
				     .duration_ms = 3600000,
				     .names = six,
				     .n_names = 1,
				     .clock = &clk };
	struct rc_lease *m;
	struct util_err err = { 0 };

	(void)state;
	assert_int_equal(rc_lease_new(p, &c, &m, &err), 0);
	assert_int_equal(rc_lease_start(m, &err), 0);
	while (memprov_count(memprov_of(p), "lease_list") == 0)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	rc_lease_stop(m);
	assert_int_equal(memprov_count(memprov_of(p), "lease_list"), 1);
	assert_int_equal(memprov_count(memprov_of(p), "lease_release"), 2);
	assert_string_equal(holder(p, "s1"), "");
	rc_lease_free(m);
	prov_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_one_holder),
		cmocka_unit_test(test_takeover_after_full_duration),
		cmocka_unit_test(test_fence_from_renewal_start),
		cmocka_unit_test(test_condition_fails_and_throttle),
		cmocka_unit_test(test_stop_hands_over_at_once),
		cmocka_unit_test(test_calls_under_deadline),
		cmocka_unit_test(test_spread),
		cmocka_unit_test(test_thread_start_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
