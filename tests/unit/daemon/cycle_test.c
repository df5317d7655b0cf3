/*
 * moor watch's reconcile cycles against the in-memory provider: a full
 * reconcile leaves failover addresses alone, counts drift, sets refused
 * groups aside and plans the rest, never mass-deregisters; a failover
 * cycle decides from health verdicts and live state and moves with one
 * call, or not at all.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconciler/daemon/cycle.h"
#include "tests/unit/support/memprov.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/banned.h"

#define V1 "version: 1\n"
#define A  "i-0000000a"
#define B  "i-0000000b"
#define C  "i-0000000c"
#define D  "i-0000000d"

static uint64_t fc_mono(void *ctx)
{
	return *(uint64_t *)ctx;
}

static time_t fc_wall(void *ctx)
{
	return (time_t)(1700000000 + *(uint64_t *)ctx / 1000);
}

static void fc_sleep(void *ctx, uint64_t ms)
{
	*(uint64_t *)ctx += ms;
}

struct fx {
	struct prov *p;
	struct memprov *m;
	struct spec *s;
	struct rc_cycle_result res;
	uint64_t now;
	struct util_clock clock;
	struct rc_cycle_opts o;
	volatile sig_atomic_t cancel;
	/* Preemption: the spec the daemon loads at preempt_at. */
	volatile sig_atomic_t preempt;
	uint64_t preempt_at, preempted_at, registered_at;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->p = t_world();
	f->m = memprov_of(f->p);
	f->now = 1000000;
	f->clock.mono_ms = fc_mono;
	f->clock.wall = fc_wall;
	f->clock.sleep_ms = fc_sleep;
	f->clock.ctx = &f->now;
	f->o.clock = &f->clock;
	f->o.concurrency = 1;
	f->o.cancel = &f->cancel;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rc_cycle_result_release(&f->res);
	spec_free(f->s);
	prov_free(f->p);
	free(f);
	return 0;
}

static void load(struct fx *f, const char *yaml)
{
	spec_free(f->s);
	f->s = t_spec(yaml);
	memprov_clear_calls(f->m);
}

/* Full reconcile of everything in the spec. */
static int full(struct fx *f, bool drift)
{
	bool lb[16], eip[16];

	for (size_t i = 0; i < 16; i++)
		lb[i] = eip[i] = true;
	rc_cycle_result_release(&f->res);
	return rc_cycle_full(f->p, f->s, lb, eip, drift, &f->o, &f->res);
}

static void expect_mutations(struct fx *f, const char *want)
{
	char *got = memprov_mutations(f->m);

	assert_string_equal(got, want);
	free(got);
}

static bool has(struct fx *f, const char *key)
{
	for (size_t i = 0; i < f->res.n_outcomes; i++)
		if (!strcmp(f->res.outcomes[i].key, key))
			return true;
	return false;
}

/* The outcome of key; fails the test when there is none. */
static const struct rc_cycle_outcome *find(struct fx *f, const char *key)
{
	static const struct rc_cycle_outcome none;

	for (size_t i = 0; i < f->res.n_outcomes; i++)
		if (!strcmp(f->res.outcomes[i].key, key))
			return &f->res.outcomes[i];
	fail_msg("no outcome for %s", key);
	return &none;
}

/* --- full ----------------------------------------------------------------- */

static const char mixed_yaml[] = V1 "load_balancers:\n"
				    "  - target_group: web-tg\n"
				    "    wait: none\n"
				    "    members: [" A ", " B "]\n"
				    "elastic_ips:\n"
				    "  - allocation_id: eipalloc-0000000b\n"
				    "    instance: " C "\n"
				    "  - allocation_id: eipalloc-0000000a\n"
				    "    failover:\n"
				    "      candidates: [" D ", " B "]\n"
				    "      probe: {tcp: 22}\n";

static void test_full_leaves_failover_alone(void **state)
{
	struct fx *f = *state;

	load(f, mixed_yaml);
	assert_int_equal(full(f, false), 0);
	assert_int_equal(f->res.status, RC_CYCLE_OK);
	/* The failover address is unbound, yet untouched. */
	expect_mutations(f, "tg_register web-tg " A ":8080," B ":8080\n"
			    "associate eipalloc-0000000b instance=" C
			    " reassoc=0\n");
	assert_int_equal(f->res.changes, 2);
	assert_int_equal(f->res.drift, 0);
	assert_false(find(f, "tg:web-tg")->failed);
	assert_true(has(f, "eip:alloc:eipalloc-0000000b"));
	assert_false(has(f, "eip:alloc:eipalloc-0000000a"));
	/* The status snapshot is read after the changes. */
	assert_int_equal(f->res.n_groups, 1);
	assert_string_equal(f->res.groups[0].label, "web-tg");
	assert_int_equal(f->res.groups[0].total, 2);
	assert_int_equal(f->res.n_addrs, 1);
	assert_string_equal(f->res.addrs[0].holder, C);
	assert_string_equal(memprov_address_holder(f->m, "eipalloc-0000000a"),
			    "");

	/* Drift made by hand is counted as such when undone. */
	memprov_remove_member(f->m, "web-tg", B, 8080);
	memprov_clear_calls(f->m);
	assert_int_equal(full(f, true), 0);
	expect_mutations(f, "tg_register web-tg " B ":8080\n");
	assert_int_equal(f->res.changes, 1);
	assert_int_equal(f->res.drift, 1);
	/* Nothing to do: no calls but reads. */
	memprov_clear_calls(f->m);
	assert_int_equal(full(f, true), 0);
	expect_mutations(f, "");
	assert_int_equal(f->res.changes, 0);
}

/*
 * Issue 10: min_healthy keeps a healthy undeclared member while a declared
 * one is down.  Nothing fails and nothing is called, but the cycle says
 * how many members it held back, for the status file and metrics.
 */
static void test_full_counts_held_back(void **state)
{
	struct fx *f = *state;

	memprov_set_member(f->m, "web-tg", A, 8080, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-tg", B, 8080, PROV_HEALTH_UNHEALTHY);
	memprov_set_member(f->m, "web-tg", C, 8080, PROV_HEALTH_HEALTHY);
	load(f, V1 "load_balancers:\n"
		   "  - target_group: web-tg\n"
		   "    members: [" A ", " B "]\n"
		   "    min_healthy: 2\n");
	assert_int_equal(full(f, false), 0);
	assert_int_equal(f->res.status, RC_CYCLE_OK);
	expect_mutations(f, "");
	assert_int_equal(f->res.changes, 0);
	assert_int_equal(f->res.held_back, 1);
	assert_int_equal(f->res.n_groups, 1);
	assert_int_equal(f->res.groups[0].held_back, 1);
	/* B recovers: C goes, nothing is held back any more. */
	memprov_set_member(f->m, "web-tg", B, 8080, PROV_HEALTH_HEALTHY);
	memprov_clear_calls(f->m);
	assert_int_equal(full(f, false), 0);
	expect_mutations(f, "tg_deregister web-tg " C ":8080\n");
	assert_int_equal(f->res.held_back, 0);
	assert_int_equal(f->res.groups[0].held_back, 0);
}

static void test_full_sets_refused_aside(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "load_balancers:\n"
			       "  - classic: web-classic\n"
			       "    wait: none\n"
			       "    members: [i-0000000000000dead]\n"
			       "  - target_group: web-tg\n"
			       "    wait: none\n"
			       "    members: [" A "]\n";

	load(f, yaml);
	assert_true(full(f, false) < 0);
	assert_int_equal(f->res.status, RC_CYCLE_REFUSED);
	/* The good group is applied anyway. */
	expect_mutations(f, "tg_register web-tg " A ":8080\n");
	assert_true(find(f, "classic:web-classic")->failed);
	assert_true(find(f, "classic:web-classic")->refused);
	assert_false(find(f, "tg:web-tg")->failed);
	assert_non_null(strstr(f->res.err.msg, "i-0000000000000dead"));
	assert_string_equal(f->res.err_resource, "web-classic");
}

static void test_full_never_mass_deregisters(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "load_balancers:\n"
			       "  - target_group: web-tg\n"
			       "    members: [" A "]\n";

	memprov_set_member(f->m, "web-tg", A, 8080, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-tg", B, 8080, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-tg", C, 8080, PROV_HEALTH_HEALTHY);
	load(f, yaml);
	assert_true(full(f, false) < 0);
	assert_int_equal(f->res.status, RC_CYCLE_REFUSED);
	expect_mutations(f, "");
	assert_true(find(f, "tg:web-tg")->refused);
}

static void test_full_apply_failure(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "load_balancers:\n"
			       "  - target_group: web-tg\n"
			       "    wait: none\n"
			       "    members: [" A "]\n";

	memprov_fail(f->m, "tg_register", NULL, -1, "AccessDenied", 0, false);
	load(f, yaml);
	assert_true(full(f, false) < 0);
	assert_int_equal(f->res.status, RC_CYCLE_ERROR);
	assert_true(find(f, "tg:web-tg")->failed);
	assert_false(find(f, "tg:web-tg")->refused);
	assert_string_equal(find(f, "tg:web-tg")->err.aws_code, "AccessDenied");
	assert_int_equal(f->res.changes, 0);
}

static void test_full_observe_failure(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "load_balancers:\n"
			       "  - target_group: web-tg\n"
			       "    members: [" A "]\n";

	memprov_fail(f->m, "target_groups", NULL, -1, "ServiceUnavailable",
		     UTIL_ERR_RETRYABLE, false);
	load(f, yaml);
	assert_true(full(f, false) < 0);
	assert_int_equal(f->res.status, RC_CYCLE_ERROR);
	assert_false(f->res.observed);
	assert_true(find(f, "*")->failed);
	expect_mutations(f, "");
}

/*
 * The full worker's clock in the daemon: its sleeps end when a newer
 * spec preempts the reconcile.  Here the newer spec arrives at
 * preempt_at (the loop would set the flag and wake the sleeper).
 */
static uint64_t pc_mono(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static time_t pc_wall(void *ctx)
{
	return (time_t)(1700000000 + ((struct fx *)ctx)->now / 1000);
}

static void register_hook(void *ctx, struct memprov *m, const char *call)
{
	struct fx *f = ctx;

	(void)m;
	if (!strncmp(call, "classic_register", 16))
		f->registered_at = f->now;
}

static void pc_sleep(void *ctx, uint64_t ms)
{
	struct fx *f = ctx;

	if (f->preempt_at && !f->preempt && f->now + ms >= f->preempt_at) {
		f->now = f->preempt_at;
		f->preempted_at = f->now;
		f->preempt = 1;
		return;
	}
	f->now += ms;
}

static void test_full_edit_preempts_wait(void **state)
{
	struct fx *f = *state;
	struct util_clock pc = { .mono_ms = pc_mono,
				 .wall = pc_wall,
				 .sleep_ms = pc_sleep,
				 .ctx = f };
	const uint64_t t0 = f->now;
	/* web-tg replaces A by C, which never passes its checks. */
	const char before[] = V1 "load_balancers:\n"
				 "  - target_group: web-tg\n"
				 "    members: [" B ", " C "]\n"
				 "  - classic: web-classic\n"
				 "    wait: none\n"
				 "    members: [" A "]\n";
	/* The edit: B joins web-classic. */
	const char after[] = V1 "load_balancers:\n"
				"  - target_group: web-tg\n"
				"    members: [" B ", " C "]\n"
				"  - classic: web-classic\n"
				"    wait: none\n"
				"    members: [" A ", " B "]\n";

	memprov_set_member(f->m, "web-tg", A, 8080, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-tg", B, 8080, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-classic", A, 0, PROV_HEALTH_HEALTHY);
	memprov_set_healthy_after(f->m, 1000000);
	f->o.clock = &pc;
	f->o.preempt = &f->preempt;
	f->preempt_at = t0 + 3000;
	load(f, before);
	/* The edit arrives 3 s into web-tg's five-minute wait. */
	assert_true(full(f, false) < 0);
	assert_int_equal(f->res.status, RC_CYCLE_PREEMPTED);
	assert_int_equal(f->preempted_at, t0 + 3000);
	assert_true(f->now - t0 < 10000);
	expect_mutations(f, "tg_register web-tg " C ":8080\n");
	/* Preempted is no failure: nothing backs off. */
	for (size_t i = 0; i < f->res.n_outcomes; i++)
		assert_false(f->res.outcomes[i].failed);
	/* The daemon runs the newer spec at once. */
	f->preempt = 0;
	f->preempt_at = 0;
	load(f, after);
	memprov_set_hook(f->m, register_hook, f);
	full(f, false);
	memprov_set_hook(f->m, NULL, NULL);
	assert_int_equal(memprov_count(f->m, "classic_register"), 1);
	/* The edit was applied 3 s after it arrived, not 5 minutes. */
	assert_int_equal(f->registered_at, t0 + 3000);
	/* ...and web-tg still does not lose A before C is healthy. */
	assert_int_equal(memprov_member_health(f->m, "web-tg", A, 8080),
			 PROV_HEALTH_HEALTHY);
	f->o.clock = &f->clock;
	f->o.preempt = NULL;
}

static void test_full_nothing_selected(void **state)
{
	struct fx *f = *state;
	bool lb[4] = { false }, eip[4] = { false };

	load(f, mixed_yaml);
	assert_int_equal(rc_cycle_full(f->p, f->s, lb, eip, false, &f->o,
				       &f->res),
			 0);
	assert_int_equal(memprov_n_calls(f->m), 0);
}

/* --- failover --------------------------------------------------------------- */

static const char fo_yaml[] = V1 "elastic_ips:\n"
				 "  - allocation_id: eipalloc-0000000a\n"
				 "    failover:\n"
				 "      candidates: [" A ", " B ", " C "]\n"
				 "      probe: {tcp: 22}\n"
				 "      interval: 1s\n"
				 "      timeout: 500ms\n"
				 "      fall: 2\n"
				 "      rise: 3\n";

static int fo(struct fx *f, enum rc_health a, enum rc_health b,
	      enum rc_health c, uint64_t last_move, const char *known)
{
	enum rc_health h[3] = { a, b, c };
	struct rc_cycle_fo_in in = { 0 };

	in.eip = 0;
	in.health = h;
	in.last_move_ms = last_move;
	in.holder_known = true;
	in.holder = known;
	rc_cycle_result_release(&f->res);
	memprov_clear_calls(f->m);
	return rc_cycle_failover(f->p, f->s, &in, 1, f->now, &f->o, &f->res);
}

static void test_failover_moves_with_one_call(void **state)
{
	struct fx *f = *state;
	const struct rc_cycle_fo_out *o;

	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	load(f, fo_yaml);
	assert_int_equal(fo(f, RC_HEALTH_DOWN, RC_HEALTH_UNKNOWN, RC_HEALTH_UP,
			    0, A),
			 0);
	expect_mutations(f, "associate eipalloc-0000000a instance=" C
			    " reassoc=1\n");
	o = &f->res.fo[0];
	assert_true(o->moved);
	assert_string_equal(o->from, A);
	assert_string_equal(o->to, C);
	assert_int_equal(o->decision.reason, RC_FO_WHY_HOLDER_DOWN);
	assert_int_equal(o->holder_idx, 2);
	assert_string_equal(o->addr.holder, C);
	assert_false(o->drift);
	assert_int_equal(f->res.changes, 1);
	/* What it observed, for the probes. */
	assert_int_equal(o->n_cands, 3);
	assert_string_equal(o->cands[1].instance, B);
	assert_int_equal(o->cands[1].state, PROV_INSTANCE_RUNNING);
	assert_non_null(o->cands[1].private_ip);
	assert_string_equal(memprov_address_holder(f->m, "eipalloc-0000000a"),
			    C);
}

/* A follower (--lease-table): the same observation and decision, no call. */
static void test_observe_only_changes_nothing(void **state)
{
	struct fx *f = *state;
	const struct rc_cycle_fo_out *o;

	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	f->o.observe_only = true;
	load(f, mixed_yaml);
	assert_int_equal(full(f, false), 0);
	expect_mutations(f, "");
	assert_int_equal(f->res.changes, 0);
	assert_int_equal(f->res.planned, 2);
	assert_true(f->res.observed);
	assert_int_equal(f->res.n_groups, 1);

	load(f, fo_yaml);
	assert_int_equal(fo(f, RC_HEALTH_DOWN, RC_HEALTH_UNKNOWN, RC_HEALTH_UP,
			    0, A),
			 0);
	expect_mutations(f, "");
	o = &f->res.fo[0];
	assert_false(o->moved);
	assert_int_equal(o->decision.reason, RC_FO_WHY_HOLDER_DOWN);
	assert_int_equal(f->res.planned, 1);
	assert_string_equal(o->addr.holder, A);
	assert_int_equal(o->n_cands, 3);
	assert_non_null(o->cands[2].private_ip);
	assert_string_equal(memprov_address_holder(f->m, "eipalloc-0000000a"),
			    A);
}

static void test_failover_keeps(void **state)
{
	struct fx *f = *state;

	memprov_bind(f->m, "eipalloc-0000000a", B, NULL);
	load(f, fo_yaml);
	/* Nothing known yet: nothing moves, even with A up. */
	assert_int_equal(fo(f, RC_HEALTH_UP, RC_HEALTH_UNKNOWN,
			    RC_HEALTH_UNKNOWN, 0, B),
			 0);
	expect_mutations(f, "");
	assert_int_equal(f->res.fo[0].decision.verdict, RC_FO_KEEP);
	/* stay: a healthy standby keeps it. */
	assert_int_equal(fo(f, RC_HEALTH_UP, RC_HEALTH_UP, RC_HEALTH_UP, 0, B),
			 0);
	expect_mutations(f, "");
	/* All down: left where it is. */
	assert_int_equal(fo(f, RC_HEALTH_DOWN, RC_HEALTH_DOWN, RC_HEALTH_DOWN,
			    0, B),
			 0);
	expect_mutations(f, "");
	assert_int_equal(f->res.fo[0].decision.verdict, RC_FO_ALL_DOWN);
	assert_string_equal(memprov_address_holder(f->m, "eipalloc-0000000a"),
			    B);
}

static void test_failover_damped(void **state)
{
	struct fx *f = *state;

	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	load(f, fo_yaml);
	/* Window 1s x (2 + 3): a move 2 s ago blocks this one. */
	assert_int_equal(fo(f, RC_HEALTH_DOWN, RC_HEALTH_UP, RC_HEALTH_UP,
			    f->now - 2000, A),
			 0);
	expect_mutations(f, "");
	assert_int_equal(f->res.fo[0].decision.verdict, RC_FO_DAMPED);
	assert_int_equal(f->res.fo[0].decision.retry_at_ms, f->now + 3000);
	f->now += 3000;
	assert_int_equal(fo(f, RC_HEALTH_DOWN, RC_HEALTH_UP, RC_HEALTH_UP,
			    f->now - 5000, A),
			 0);
	expect_mutations(f, "associate eipalloc-0000000a instance=" B
			    " reassoc=1\n");
}

static void test_failover_holder_stopped(void **state)
{
	struct fx *f = *state;

	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	memprov_set_instance_state(f->m, A, "stopped");
	load(f, fo_yaml);
	/* Probes have not noticed yet; the instance state says enough. */
	assert_int_equal(fo(f, RC_HEALTH_UP, RC_HEALTH_UP, RC_HEALTH_UP, 0, A),
			 0);
	expect_mutations(f, "associate eipalloc-0000000a instance=" B
			    " reassoc=1\n");
	assert_int_equal(f->res.fo[0].decision.reason,
			 RC_FO_WHY_HOLDER_NOT_RUNNING);
	assert_int_equal(f->res.fo[0].cands[0].state, PROV_INSTANCE_STOPPED);
}

static void test_failover_drift(void **state)
{
	struct fx *f = *state;

	/* Moved by hand to an instance that is not a candidate. */
	memprov_bind(f->m, "eipalloc-0000000a", D, NULL);
	load(f, fo_yaml);
	assert_int_equal(fo(f, RC_HEALTH_UP, RC_HEALTH_UP, RC_HEALTH_UP, 0, A),
			 0);
	expect_mutations(f, "associate eipalloc-0000000a instance=" A
			    " reassoc=1\n");
	assert_true(f->res.fo[0].drift);
	assert_int_equal(f->res.fo[0].decision.reason, RC_FO_WHY_NOT_CANDIDATE);
	assert_int_equal(f->res.drift, 1);
}

static void test_failover_failure(void **state)
{
	struct fx *f = *state;

	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	memprov_fail(f->m, "associate", NULL, -1, "UnauthorizedOperation", 0,
		     false);
	load(f, fo_yaml);
	assert_true(fo(f, RC_HEALTH_DOWN, RC_HEALTH_UP, RC_HEALTH_UP, 0, A) <
		    0);
	assert_int_equal(f->res.status, RC_CYCLE_ERROR);
	assert_true(f->res.fo[0].failed);
	assert_false(f->res.fo[0].moved);
	assert_string_equal(f->res.fo[0].err.aws_code, "UnauthorizedOperation");
	assert_true(find(f, "eip:alloc:eipalloc-0000000a")->failed);
	assert_string_equal(memprov_address_holder(f->m, "eipalloc-0000000a"),
			    A);
}

static void test_failover_missing_address(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "elastic_ips:\n"
			       "  - allocation_id: eipalloc-000000000000000ff\n"
			       "    failover:\n"
			       "      candidates: [" A ", " B "]\n"
			       "      probe: {tcp: 22}\n";
	enum rc_health h[2] = { RC_HEALTH_UP, RC_HEALTH_UP };
	struct rc_cycle_fo_in in = { .eip = 0, .health = h };

	load(f, yaml);
	assert_true(rc_cycle_failover(f->p, f->s, &in, 1, f->now, &f->o,
				      &f->res) < 0);
	assert_int_equal(f->res.status, RC_CYCLE_REFUSED);
	assert_true(f->res.fo[0].failed);
	expect_mutations(f, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_full_leaves_failover_alone),
		T(test_full_counts_held_back),
		T(test_full_sets_refused_aside),
		T(test_full_never_mass_deregisters),
		T(test_full_apply_failure),
		T(test_full_observe_failure),
		T(test_full_nothing_selected),
		T(test_full_edit_preempts_wait),
		T(test_failover_moves_with_one_call),
		T(test_observe_only_changes_nothing),
		T(test_failover_keeps),
		T(test_failover_damped),
		T(test_failover_holder_stopped),
		T(test_failover_drift),
		T(test_failover_failure),
		T(test_failover_missing_address),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
