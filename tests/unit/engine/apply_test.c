/*
 * Apply against the in-memory provider: exact call sequences, phase
 * order, precondition re-checks, dependent-step skipping, no retries,
 * waits on an injected clock, cancellation, and convergence on re-run.
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

#include "reconciler/engine/apply.h"
#include "reconciler/engine/plan.h"
#include "tests/unit/support/memprov.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/buf.h"
#include "util/banned.h"

#define V1 "version: 1\n"
#define A  "i-0000000a"
#define B  "i-0000000b"
#define C  "i-0000000c"
#define D  "i-0000000d"
#define TG_ARN                                                 \
	"arn:aws:elasticloadbalancing:us-east-1:123456789012:" \
	"targetgroup/web-tg/0123456789abcdef"

struct fake_clock {
	uint64_t now;
	uint64_t slept;
	unsigned sleeps;
};

static uint64_t fc_mono(void *ctx)
{
	return ((struct fake_clock *)ctx)->now;
}

static time_t fc_wall(void *ctx)
{
	return (time_t)(1700000000 + ((struct fake_clock *)ctx)->now / 1000);
}

static void fc_sleep(void *ctx, uint64_t ms)
{
	struct fake_clock *c = ctx;

	c->now += ms;
	c->slept += ms;
	c->sleeps++;
}

struct fx {
	struct prov *p;
	struct memprov *m;
	struct spec *s;
	struct rc_plan *plan;
	struct rc_report rep;
	struct fake_clock fc;
	struct util_clock clock;
	struct rc_apply_opts ao;
	struct util_err err;
	volatile sig_atomic_t cancel, preempt;
	uint64_t preempt_at; /* progress: set preempt once a wait is this old */
	uint64_t dereg_at;   /* clock reading at the first deregistration */
	unsigned finished[64]; /* step ids in the order they finished */
	size_t n_finished;
	char *errors;
	int cancel_after; /* hook: set cancel after this many mutations */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->p = t_world();
	f->m = memprov_of(f->p);
	f->clock.mono_ms = fc_mono;
	f->clock.wall = fc_wall;
	f->clock.sleep_ms = fc_sleep;
	f->clock.ctx = &f->fc;
	f->ao.clock = &f->clock;
	f->ao.concurrency = 1; /* exact call order */
	f->ao.cancel = &f->cancel;
	f->ao.preempt = &f->preempt;
	f->dereg_at = UINT64_MAX;
	*state = f;
	return 0;
}

static void reset(struct fx *f)
{
	rc_plan_free(f->plan);
	spec_free(f->s);
	rc_report_release(&f->rep);
	free(f->errors);
	f->plan = NULL;
	f->s = NULL;
	f->errors = NULL;
	util_err_clear(&f->err);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	reset(f);
	prov_free(f->p);
	free(f);
	return 0;
}

static void plan(struct fx *f, const char *yaml)
{
	reset(f);
	f->s = t_spec(yaml);
	f->plan = t_plan(f->p, f->s, NULL, &f->errors);
	if (!f->plan)
		print_error("plan failed:\n%s", f->errors);
	assert_non_null(f->plan);
}

static int apply(struct fx *f)
{
	rc_report_release(&f->rep);
	util_err_clear(&f->err);
	memprov_clear_calls(f->m);
	return rc_apply(f->p, f->plan, &f->ao, &f->rep, &f->err);
}

static void expect_mutations(struct fx *f, const char *want)
{
	char *got = memprov_mutations(f->m);

	assert_string_equal(got, want);
	free(got);
}

static void expect_outcomes(struct fx *f, const char *want)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < f->rep.n; i++)
		buf_addf(&b, "%s%s", i ? " " : "",
			 rc_outcome_name(f->rep.results[i].outcome));
	assert_string_equal(b.buf, want);
	buf_release(&b);
}

static const char *detail(struct fx *f, size_t i)
{
	return f->rep.results[i].detail ? f->rep.results[i].detail : "";
}

/* Plan again: the world should now match the spec. */
static void expect_converged(struct fx *f, const char *yaml)
{
	plan(f, yaml);
	if (rc_plan_has_changes(f->plan)) {
		char *s = t_steps(f->plan);

		print_error("not converged:\n%s", s);
		free(s);
	}
	assert_false(rc_plan_has_changes(f->plan));
}

static void healthy(struct fx *f, const char *group, const char *id, int port)
{
	memprov_set_member(f->m, group, id, port, PROV_HEALTH_HEALTHY);
}

/* --- tests --------------------------------------------------------------- */

static const char converge_yaml[] = V1 "load_balancers:\n"
				       "  - classic: web-classic\n"
				       "    members: [" A ", " B "]\n"
				       "  - target_group: web-tg\n"
				       "    members: [" A ", " B "]\n"
				       "elastic_ips:\n"
				       "  - allocation_id: eipalloc-0000000a\n"
				       "    instance: " A "\n"
				       "  - name: vip-new\n"
				       "    allocate: true\n"
				       "    instance: " B "\n";

static void test_converge_from_empty(void **state)
{
	struct fx *f = *state;

	plan(f, converge_yaml);
	assert_int_equal(apply(f), 0);
	expect_mutations(f, "allocate Name=vip-new\n"
			    "classic_register web-classic " A "," B "\n"
			    "tg_register web-tg " A ":8080," B ":8080\n"
			    "associate eipalloc-0000000a instance=" A
			    " reassoc=0\n"
			    "associate eipalloc-m0000000000000001 instance=" B
			    " reassoc=0\n");
	expect_outcomes(f, "done done done done done done done");
	assert_string_equal(f->rep.results[0].allocation_id,
			    "eipalloc-m0000000000000001");
	assert_int_equal(f->rep.done, 7);
	assert_int_equal(memprov_n_addresses(f->m), 4);
	expect_converged(f, converge_yaml);
	/* ...and an apply of the new plan makes no call at all. */
	assert_int_equal(apply(f), 0);
	assert_int_equal(memprov_n_calls(f->m), 0);
	assert_int_equal(memprov_n_addresses(f->m), 4);
}

static void test_phase_reads(void **state)
{
	struct fx *f = *state;
	char *calls;

	plan(f, V1 "load_balancers:\n  - target_group: web-tg\n"
		   "    members: [" B "]\n");
	assert_int_equal(apply(f), 0);
	calls = memprov_calls(f->m);
	/*
	 * Each phase re-reads what its steps depend on; the wait, whose
	 * precondition its registration just verified, polls health only
	 * until healthy (memprov: on the first read after).
	 */
	assert_string_equal(calls, "instances_by_id " B "\n"
				   "target_groups web-tg\n"
				   "tg_register web-tg " B ":8080\n"
				   "target_health " TG_ARN "\n");
	free(calls);
}

static void test_fresh_world_saves_a_read(void **state)
{
	struct fx *f = *state;
	struct rc_reads r = RC_READS_INIT;
	struct rc_world w = { 0 };
	struct rc_notes errors = { 0 };

	reset(f);
	f->s = t_spec(V1 "load_balancers:\n  - target_group: web-tg\n"
			 "    wait: none\n    members: [" B "]\n");
	assert_int_equal(rc_reads_from_spec(&r, f->s, NULL, NULL, &f->err), 0);
	assert_int_equal(rc_observe(f->p, &r, NULL, &w, &f->err), 0);
	assert_int_equal(rc_plan_build(f->s, &w, NULL, &f->plan, &errors,
				       &f->err),
			 0);
	f->ao.fresh = &w;
	memprov_clear_calls(f->m);
	assert_int_equal(rc_apply(f->p, f->plan, &f->ao, &f->rep, &f->err), 0);
	f->ao.fresh = NULL;
	{
		char *calls = memprov_calls(f->m);

		assert_string_equal(calls, "tg_register web-tg " B ":8080\n");
		free(calls);
	}
	rc_world_release(&w);
	rc_reads_release(&r);
	rc_notes_release(&errors);
}

static void test_make_before_break_order(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "load_balancers:\n  - target_group: web-tg\n"
			       "    members: [" C ", " D "]\n";

	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-tg", B, 8080);
	memprov_set_healthy_after(f->m, 3);
	plan(f, yaml);
	assert_int_equal(apply(f), 0);
	expect_mutations(f, "tg_register web-tg " C ":8080," D ":8080\n"
			    "tg_deregister web-tg " A ":8080," B ":8080\n");
	/*
	 * The wait polled until C and D were healthy, backing off: first
	 * after 1s (just registered, they cannot be healthy at once).
	 */
	assert_true(f->fc.sleeps >= 2);
	assert_int_equal(f->fc.slept, 1000 + 1000 + 2000);
	assert_string_equal(detail(f, 1), "2 of 2 healthy");
	expect_converged(f, yaml);
}

static void test_wait_timeout_skips_deregistration(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-tg", A, 8080);
	f->ao.poll_max_ms = 4000;
	plan(f, V1 "load_balancers:\n  - target_group: web-tg\n"
		   "    timeout: 10s\n"
		   "    members: [" B "]\n");
	/* B never passes its health checks. */
	memprov_set_hook(f->m, NULL, NULL);
	memprov_set_healthy_after(f->m, 1000000);
	assert_int_equal(apply(f), UTIL_EFAIL);
	expect_mutations(f, "tg_register web-tg " B ":8080\n");
	expect_outcomes(f, "done failed skipped");
	assert_string_equal(f->rep.results[1].err.msg,
			    "timed out after 10s waiting for web-tg: 0 of 1 "
			    "healthy");
	assert_string_equal(detail(f, 2), "step 2 (wait web-tg) failed");
	/* Polls: 0, 1s, 3s, 7s (capped at 4s), then 10s: the deadline. */
	assert_int_equal(f->fc.slept, 10000);
	assert_int_equal(memprov_member_health(f->m, "web-tg", A, 8080),
			 PROV_HEALTH_HEALTHY);
}

static void leave_hook(void *ctx, struct memprov *m, const char *call)
{
	struct fx *f = ctx;

	/* After the registration, on the wait's second poll. */
	if (!strncmp(call, "tg_register", 11))
		f->cancel_after = 1;
	else if (f->cancel_after &&
		 (!strncmp(call, "target_groups", 13) ||
		  !strncmp(call, "target_health", 13)) &&
		 ++f->cancel_after == 3)
		memprov_remove_member(m, "web-tg", B, 8080);
}

static void test_member_leaves_while_waiting(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-tg", A, 8080);
	memprov_set_healthy_after(f->m, 5);
	plan(f, V1 "load_balancers:\n  - target_group: web-tg\n"
		   "    members: [" B "]\n");
	/*
	 * Someone deregisters B while moor waits for it (on the first poll,
	 * that would be a changed world: see the stale tests).
	 */
	memprov_set_hook(f->m, leave_hook, f);
	assert_int_equal(apply(f), UTIL_EFAIL);
	memprov_set_hook(f->m, NULL, NULL);
	expect_outcomes(f, "done failed skipped");
	assert_string_equal(f->rep.results[1].err.msg, B
			    " left web-tg while waiting for it to be healthy");
	expect_mutations(f, "tg_register web-tg " B ":8080\n");
	assert_int_equal(memprov_member_health(f->m, "web-tg", A, 8080),
			 PROV_HEALTH_HEALTHY);
}

/*
 * The exact reads of a health wait: its registration verified the group
 * just before its call, so every poll reads only health, backing off;
 * nothing else is read.
 */
static void test_reads_of_health_wait(void **state)
{
	struct fx *f = *state;
	char *calls;

	healthy(f, "web-tg", A, 8080);
	memprov_set_healthy_after(f->m, 3);
	plan(f, V1 "load_balancers:\n  - target_group: web-tg\n"
		   "    members: [" A ", " B "]\n");
	memprov_clear_calls(f->m);
	assert_int_equal(apply(f), 0);
	expect_outcomes(f, "done done");
	calls = memprov_calls(f->m);
	assert_string_equal(calls, "instances_by_id " B "\n"
				   "target_groups web-tg\n"
				   "tg_register web-tg " B ":8080\n"
				   "target_health " TG_ARN "\n"
				   "target_health " TG_ARN "\n"
				   "target_health " TG_ARN "\n");
	free(calls);
	/*
	 * Polls at 1s (B was just registered: AWS needs at least two
	 * passing checks, so a poll at once reads for nothing), 2s, 4s: the
	 * interval doubles.
	 */
	assert_int_equal(f->fc.slept, 4000);
}

/*
 * Every read of a converge earns its place (issue 13): each batch of
 * calls re-reads what its steps' preconditions name (the plan's world is
 * not passed here); a wait whose registration or deregistration has just
 * verified the group polls health only; the address, moved onto B once
 * B's waits are over, re-reads its precondition after them.  A new
 * needless read fails here.
 */
static void test_reads_of_converge(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "load_balancers:\n"
			       "  - classic: web-classic\n"
			       "    members: [" A ", " B "]\n"
			       "  - target_group: web-tg\n"
			       "    drain: wait\n"
			       "    members: [" A ", " B "]\n"
			       "elastic_ips:\n"
			       "  - allocation_id: eipalloc-0000000a\n"
			       "    instance: " B "\n";
	char *calls;

	healthy(f, "web-classic", A, 0);
	healthy(f, "web-classic", D, 0);
	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-tg", C, 8080);
	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	memprov_set_drain_reads(f->m, 1);
	plan(f, yaml);
	assert_int_equal(apply(f), 0);
	expect_outcomes(f, "done done done done done done done done");
	calls = memprov_calls(f->m);
	assert_string_equal(calls,
			    /*
			     * The registrations' preconditions (who is
			     * registered: no Classic health).
			     */
			    "instances_by_id " B "\n"
			    "classic_lbs web-classic\n"
			    "target_groups web-tg\n"
			    "classic_register web-classic " B "\n"
			    "tg_register web-tg " B ":8080\n"
			    /* The health waits: health only. */
			    "classic_health web-classic\n"
			    "target_health " TG_ARN "\n"
			    /* After the waits: re-read, then move, remove. */
			    "instances_by_id " B "\n"
			    "classic_lbs web-classic\n"
			    "target_groups web-tg\n"
			    "addresses alloc=eipalloc-0000000a\n"
			    "associate eipalloc-0000000a instance=" B
			    " reassoc=1\n"
			    "classic_deregister web-classic " D "\n"
			    "tg_deregister web-tg " C ":8080\n"
			    /* The drain: health only, until C has left. */
			    "target_health " TG_ARN "\n"
			    "target_health " TG_ARN "\n");
	free(calls);
	expect_converged(f, yaml);
}

/*
 * A plan that starts with a wait (B registered by an earlier apply, still
 * in its initial checks): A healthy, B registered through the API.
 */
static void wait_first_world(struct fx *f)
{
	struct prov_target_ref t = { .id = B, .port = 8080 };

	healthy(f, "web-tg", A, 8080);
	memprov_set_healthy_after(f->m, 2);
	assert_int_equal(f->p->ops->tg_register(f->p, TG_ARN, &t, 1, &f->err),
			 0);
}

static void wait_first_plan(struct fx *f, struct rc_world *w)
{
	struct rc_reads r = RC_READS_INIT;
	struct rc_notes errors = { 0 };

	reset(f);
	f->s = t_spec(V1 "load_balancers:\n  - target_group: web-tg\n"
			 "    members: [" B "]\n");
	assert_int_equal(rc_reads_from_spec(&r, f->s, NULL, NULL, &f->err), 0);
	assert_int_equal(rc_observe(f->p, &r, NULL, w, &f->err), 0);
	assert_int_equal(rc_plan_build(f->s, w, NULL, &f->plan, &errors,
				       &f->err),
			 0);
	assert_int_equal(f->plan->n_steps, 2);
	assert_int_equal(f->plan->steps[0].action, RC_ACT_WAIT);
	rc_reads_release(&r);
	rc_notes_release(&errors);
}

/*
 * The world the plan was just built from shows the wait's group as
 * planned: its first poll reads health only.
 */
static void test_wait_first_with_fresh_world(void **state)
{
	struct fx *f = *state;
	struct rc_world w = { 0 };
	char *calls;

	wait_first_world(f);
	wait_first_plan(f, &w);
	f->ao.fresh = &w;
	assert_int_equal(apply(f), 0);
	f->ao.fresh = NULL;
	expect_outcomes(f, "done done");
	calls = memprov_calls(f->m);
	assert_string_equal(calls, "target_health " TG_ARN "\n"
				   "target_groups web-tg\n"
				   "tg_deregister web-tg " A ":8080\n");
	free(calls);
	/* B was registered before this apply: polled at once. */
	assert_int_equal(f->fc.slept, 0);
	rc_world_release(&w);
}

/*
 * Without it (a saved plan, a later round), nothing this apply did
 * verified the group: the first poll re-reads it whole and finds it
 * changed since the plan.
 */
static void test_wait_first_rereads_group(void **state)
{
	struct fx *f = *state;
	struct rc_world w = { 0 };
	char *calls;

	wait_first_world(f);
	wait_first_plan(f, &w);
	memprov_set_member(f->m, "web-tg", C, 8080, PROV_HEALTH_HEALTHY);
	assert_int_equal(apply(f), UTIL_EFAIL);
	expect_outcomes(f, "skipped skipped");
	assert_string_equal(detail(f, 0), "the world changed since the plan: "
					  "tg:web-tg is not as planned");
	calls = memprov_calls(f->m);
	assert_string_equal(calls, "target_groups web-tg\n");
	free(calls);
	rc_world_release(&w);
}

static const char zones_yaml[] = V1 "load_balancers:\n"
				    "  - classic: web-classic\n"
				    "    enable_zones: true\n"
				    "    members: [" A ", i-00000003]\n";

/* The zone is enabled first, then the instance in it registered. */
static void test_enable_zones_then_register(void **state)
{
	struct fx *f = *state;

	plan(f, zones_yaml);
	assert_int_equal(apply(f), 0);
	expect_mutations(f, "classic_enable_zones web-classic us-east-1c\n"
			    "classic_register web-classic i-00000003," A "\n");
	expect_outcomes(f, "done done done");
	expect_converged(f, zones_yaml);
	assert_int_equal(f->plan->n_steps, 0);
}

/*
 * Someone enabled the zone since the plan: the step is already done, and
 * the registration, planned against the group with the zone enabled,
 * goes ahead.
 */
static void test_enable_zones_already(void **state)
{
	struct fx *f = *state;
	const char *const zone[] = { "us-east-1c" };
	struct util_err err = UTIL_ERR_INIT;

	plan(f, zones_yaml);
	assert_int_equal(f->p->ops->classic_enable_zones(f->p, "web-classic",
							 zone, 1, &err),
			 0);
	assert_int_equal(apply(f), 0);
	expect_mutations(f, "classic_register web-classic i-00000003," A "\n");
	expect_outcomes(f, "already done done");
	assert_string_equal(detail(f, 0), "already in place");
}

/* A failed enable-zones call skips the registration that needs it. */
static void test_enable_zones_failure_skips_register(void **state)
{
	struct fx *f = *state;

	plan(f, zones_yaml);
	memprov_fail(f->m, "classic_enable_zones", NULL, -1, "ValidationError",
		     0, false);
	assert_int_equal(apply(f), UTIL_EFAIL);
	expect_mutations(f, "classic_enable_zones web-classic us-east-1c\n");
	expect_outcomes(f, "failed skipped skipped");
	assert_string_equal(detail(f, 1),
			    "step 1 (enable-zones web-classic) failed");
	memprov_clear_faults(f->m);
}

static void test_stale_precondition_skips(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "load_balancers:\n"
			       "  - target_group: web-tg\n"
			       "    wait: none\n"
			       "    members: [" B "]\n"
			       "  - classic: web-classic\n"
			       "    wait: none\n"
			       "    members: [" A "]\n";

	healthy(f, "web-tg", A, 8080);
	plan(f, yaml);
	/* Behind moor's back, someone deregisters A from web-tg. */
	memprov_remove_member(f->m, "web-tg", A, 8080);
	assert_int_equal(apply(f), UTIL_EFAIL);
	expect_mutations(f, "classic_register web-classic " A "\n");
	expect_outcomes(f, "skipped done skipped");
	assert_string_equal(
		detail(f, 0),
		"the world changed since the plan: tg:web-tg is not "
		"as planned");
	assert_string_equal(detail(f, 2),
			    "step 1 (register web-tg) was skipped");
	/* A new plan takes the change into account and converges. */
	plan(f, yaml);
	assert_int_equal(apply(f), 0);
	expect_converged(f, yaml);
}

static void test_stale_saved_plan_refused(void **state)
{
	struct fx *f = *state;
	char *calls;

	healthy(f, "web-tg", A, 8080);
	plan(f, V1 "load_balancers:\n  - target_group: web-tg\n"
		   "    members: [" B "]\n"
		   "elastic_ips:\n  - allocation_id: eipalloc-0000000b\n"
		   "    instance: " B "\n");
	memprov_bind(f->m, "eipalloc-0000000b", C, NULL);
	f->ao.check_stale = true;
	assert_int_equal(apply(f), UTIL_ECONFLICT);
	assert_string_equal(
		f->err.msg,
		"stale plan: eip:alloc:eipalloc-0000000b changed "
		"since the plan was made; nothing was done (run moor "
		"plan again)");
	assert_int_equal(f->rep.n_stale, 1);
	expect_mutations(f, "");
	/*
	 * Unchanged: the saved plan applies, and what the staleness check
	 * read serves the first round's preconditions and the wait's: no
	 * read twice.
	 */
	plan(f, V1 "load_balancers:\n  - classic: web-classic\n"
		   "    members: [" B "]\n"
		   "  - target_group: web-tg\n"
		   "    members: [" B "]\n");
	assert_int_equal(apply(f), 0);
	expect_outcomes(f, "done done done done done");
	calls = memprov_calls(f->m);
	assert_string_equal(calls, "instances_by_id " B "\n"
				   "classic_lbs web-classic\n"
				   "target_groups web-tg\n"
				   "classic_register web-classic " B "\n"
				   "tg_register web-tg " B ":8080\n"
				   "classic_health web-classic\n"
				   "target_health " TG_ARN "\n"
				   "target_groups web-tg\n"
				   "tg_deregister web-tg " A ":8080\n");
	free(calls);
}

static void test_failed_step_skips_only_dependents(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "load_balancers:\n"
			       "  - target_group: web-tg\n"
			       "    members: [" B "]\n"
			       "  - classic: web-classic\n"
			       "    members: [" B "]\n"
			       "elastic_ips:\n"
			       "  - allocation_id: eipalloc-0000000a\n"
			       "    instance: " B "\n";

	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-classic", A, 0);
	plan(f, yaml);
	memprov_fail(f->m, "tg_register", NULL, -1, "AccessDenied", 0, false);
	assert_int_equal(apply(f), UTIL_EFAIL);
	expect_mutations(f, "tg_register web-tg " B ":8080\n"
			    "classic_register web-classic " B "\n"
			    "associate eipalloc-0000000a instance=" B
			    " reassoc=0\n"
			    "classic_deregister web-classic " A "\n");
	/* register tg, register classic, wait tg, wait classic, associate,
	 * deregister tg, deregister classic */
	expect_outcomes(f, "failed done skipped done done skipped done");
	assert_string_equal(f->rep.results[0].err.aws_code, "AccessDenied");
	assert_string_equal(f->rep.results[0].err.request_id, "req-fault");
	assert_int_equal(f->rep.results[0].attempts, 1);
	assert_int_equal(memprov_member_health(f->m, "web-tg", A, 8080),
			 PROV_HEALTH_HEALTHY);
	/* The failure cleared, a re-run converges. */
	memprov_clear_faults(f->m);
	plan(f, yaml);
	assert_int_equal(apply(f), 0);
	expect_mutations(f, "tg_register web-tg " B ":8080\n"
			    "tg_deregister web-tg " A ":8080\n");
	expect_converged(f, yaml);
}

/*
 * One retry layer, the client's: a call the client gave up on is not
 * sent again by apply; one re-read shows it did not land, so the step
 * fails, at once (no backoff), and a re-run converges.
 */
static void test_no_engine_retry(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "load_balancers:\n  - classic: web-classic\n"
			       "    wait: none\n    members: [" A "]\n";

	plan(f, yaml);
	memprov_fail(f->m, "classic_register", NULL, 1, "Throttling",
		     UTIL_ERR_RETRYABLE, false);
	assert_int_equal(apply(f), UTIL_EFAIL);
	expect_outcomes(f, "failed");
	assert_int_equal(f->rep.results[0].attempts, 1);
	assert_int_equal(memprov_count(f->m, "classic_register"), 1);
	assert_string_equal(f->rep.results[0].err.aws_code, "Throttling");
	assert_int_equal(f->fc.slept, 0);
	plan(f, yaml);
	assert_int_equal(apply(f), 0);
	expect_converged(f, yaml);
}

static void test_lost_response_confirmed(void **state)
{
	struct fx *f = *state;

	memprov_bind(f->m, "eipalloc-0000000a", C, NULL);
	plan(f, V1 "load_balancers:\n  - classic: web-classic\n"
		   "    ownership: additive\n    members: [" C "]\n"
		   "    wait: none\n"
		   "elastic_ips:\n  - allocation_id: eipalloc-0000000a\n"
		   "    instance: " B "\n");
	/* The move lands but its answer is lost. */
	memprov_fail(f->m, "associate", NULL, 1, "RequestTimeout",
		     UTIL_ERR_OUTCOME_UNKNOWN, true);
	assert_int_equal(apply(f), 0);
	expect_mutations(f, "classic_register web-classic " C "\n"
			    "associate eipalloc-0000000a instance=" B
			    " reassoc=1\n");
	assert_string_equal(memprov_address_holder(f->m, "eipalloc-0000000a"),
			    B);
	assert_int_equal(f->rep.results[1].attempts, 1);
	assert_string_equal(detail(f, 1),
			    "confirmed by reading back after: move "
			    "eipalloc-0000000a: injected fault");
}

/*
 * A disassociation answered "association not found" (an earlier attempt
 * whose answer was lost removed it): reading back finds the address
 * unbound, so the step is done.
 */
static void test_disassociate_gone_confirmed(void **state)
{
	struct fx *f = *state;

	memprov_bind(f->m, "eipalloc-0000000b", A, NULL);
	plan(f, V1 "elastic_ips:\n  - allocation_id: eipalloc-0000000b\n"
		   "    none: true\n");
	memprov_fail(f->m, "disassociate", NULL, 1,
		     "InvalidAssociationID.NotFound", 0, true);
	assert_int_equal(apply(f), 0);
	expect_outcomes(f, "done");
	assert_string_equal(memprov_address_holder(f->m, "eipalloc-0000000b"),
			    "");
	assert_string_equal(detail(f, 0),
			    "confirmed by reading back after: disassociate "
			    "eipalloc-0000000b: injected fault");
	/* Not gone: still bound (a real error), the step fails. */
	memprov_bind(f->m, "eipalloc-0000000b", A, NULL);
	plan(f, V1 "elastic_ips:\n  - allocation_id: eipalloc-0000000b\n"
		   "    none: true\n");
	memprov_fail(f->m, "disassociate", NULL, 1,
		     "InvalidAssociationID.NotFound", 0, false);
	assert_int_equal(apply(f), UTIL_EFAIL);
	expect_outcomes(f, "failed");
}

static void test_allocate_never_twice(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "elastic_ips:\n  - name: vip-db\n"
			       "    allocate: true\n    instance: " A "\n";

	plan(f, yaml);
	/* The allocation lands, its answer is lost. */
	memprov_fail(f->m, "allocate", NULL, 1, "InternalError",
		     UTIL_ERR_OUTCOME_UNKNOWN | UTIL_ERR_RETRYABLE, true);
	assert_int_equal(apply(f), 0);
	expect_mutations(f, "allocate Name=vip-db\n"
			    "associate eipalloc-m0000000000000001 instance=" A
			    " reassoc=0\n");
	assert_int_equal(memprov_n_addresses(f->m), 4);
	assert_string_equal(f->rep.results[0].allocation_id,
			    "eipalloc-m0000000000000001");
	expect_converged(f, yaml);
	assert_int_equal(apply(f), 0);
	assert_int_equal(memprov_n_addresses(f->m), 4);
}

static void test_allocate_found_at_apply(void **state)
{
	struct fx *f = *state;

	plan(f, V1 "elastic_ips:\n  - name: vip-db\n"
		   "    allocate: true\n    none: true\n");
	/* An earlier, interrupted apply allocated it after this plan. */
	memprov_add_address(f->m, "eipalloc-00000042", "198.51.100.42",
			    "vip-db", NULL);
	assert_int_equal(apply(f), 0);
	expect_outcomes(f, "already");
	expect_mutations(f, "");
	assert_int_equal(memprov_n_addresses(f->m), 4);
}

static void test_apply_min_healthy_live(void **state)
{
	struct fx *f = *state;

	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-tg", D, 8080);
	plan(f, V1 "load_balancers:\n  - target_group: web-tg\n"
		   "    min_healthy: 1\n"
		   "    members: [" D "]\n");
	/* D fails its checks between plan and apply (health is not part
	 * of the fingerprint). */
	memprov_set_member(f->m, "web-tg", D, 8080, PROV_HEALTH_UNHEALTHY);
	assert_int_equal(apply(f), UTIL_EFAIL);
	expect_outcomes(f, "skipped");
	assert_string_equal(detail(f, 0), "min_healthy: only 0 healthy members "
					  "would remain, 1 needed");
	expect_mutations(f, "");
}

/*
 * The same on a Classic ELB: a deregistration checked against min_healthy
 * re-reads the ELB's health (registrations do not).
 */
static void test_apply_min_healthy_live_classic(void **state)
{
	struct fx *f = *state;
	char *calls;

	healthy(f, "web-classic", A, 0);
	healthy(f, "web-classic", D, 0);
	plan(f, V1 "load_balancers:\n  - classic: web-classic\n"
		   "    min_healthy: 1\n"
		   "    members: [" D "]\n");
	memprov_set_member(f->m, "web-classic", D, 0, PROV_HEALTH_UNHEALTHY);
	assert_int_equal(apply(f), UTIL_EFAIL);
	expect_outcomes(f, "skipped");
	assert_string_equal(detail(f, 0), "min_healthy: only 0 healthy members "
					  "would remain, 1 needed");
	calls = memprov_calls(f->m);
	assert_string_equal(calls, "classic_lbs web-classic\n"
				   "classic_health web-classic\n");
	free(calls);
	/* A saved plan: the staleness check reads it, once, for the step. */
	f->ao.check_stale = true;
	assert_int_equal(apply(f), UTIL_EFAIL);
	expect_outcomes(f, "skipped");
	calls = memprov_calls(f->m);
	assert_string_equal(calls, "classic_lbs web-classic\n"
				   "classic_health web-classic\n");
	free(calls);
}

static void test_disassociate_and_drain(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1
		"load_balancers:\n  - target_group: web-tg\n"
		"    drain: wait\n"
		"    members: [" B "]\n"
		"elastic_ips:\n  - allocation_id: eipalloc-0000000b\n"
		"    none: true\n";

	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-tg", B, 8080);
	memprov_bind(f->m, "eipalloc-0000000b", A, NULL);
	memprov_set_drain_reads(f->m, 2);
	plan(f, yaml);
	assert_int_equal(apply(f), 0);
	expect_mutations(f, "tg_deregister web-tg " A ":8080\n"
			    "disassociate eipalloc-0000000b\n");
	expect_outcomes(f, "done done done");
	assert_string_equal(detail(f, 1), "1 of 1 drained");
	assert_true(f->fc.sleeps >= 1);
	expect_converged(f, yaml);
}

static void test_failover_move_is_one_call(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "elastic_ips:\n"
			       "  - allocation_id: eipalloc-0000000a\n"
			       "    failover:\n"
			       "      candidates: [" A ", " B "]\n"
			       "      probe: {tcp: 22}\n";

	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	memprov_set_instance_state(f->m, A, "stopped");
	plan(f, yaml);
	assert_int_equal(apply(f), 0);
	expect_mutations(f, "associate eipalloc-0000000a instance=" B
			    " reassoc=1\n");
	expect_converged(f, yaml);
}

static void cancel_hook(void *ctx, struct memprov *m, const char *call)
{
	struct fx *f = ctx;

	(void)m;
	if (!strncmp(call, "classic_register", 16))
		f->cancel = 1;
}

static void test_cancel_between_steps(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1
		"load_balancers:\n"
		"  - classic: web-classic\n"
		"    wait: none\n    members: [" A "]\n"
		"  - target_group: web-tg\n"
		"    wait: none\n    members: [" A "]\n"
		"elastic_ips:\n  - allocation_id: eipalloc-0000000a\n"
		"    instance: " A "\n";

	plan(f, yaml);
	memprov_set_hook(f->m, cancel_hook, f);
	assert_int_equal(apply(f), UTIL_ECANCELED);
	memprov_set_hook(f->m, NULL, NULL);
	/* The step in flight finished; nothing started after it. */
	expect_mutations(f, "classic_register web-classic " A "\n");
	expect_outcomes(f, "done skipped skipped");
	assert_true(f->rep.canceled);
	assert_string_equal(detail(f, 2), "canceled");
	f->cancel = 0;
	plan(f, yaml);
	assert_int_equal(apply(f), 0);
	expect_converged(f, yaml);
}

static void test_concurrent_phase(void **state)
{
	struct fx *f = *state;
	const char yaml[] = V1 "load_balancers:\n"
			       "  - classic: web-classic\n"
			       "    members: [" A ", " B "]\n"
			       "  - target_group: web-tg\n"
			       "    members: [" A ", " C "]\n"
			       "  - target_group: ip-tg\n"
			       "    members: [{ip: 10.0.0.10}]\n"
			       "elastic_ips:\n"
			       "  - allocation_id: eipalloc-0000000a\n"
			       "    instance: " A "\n"
			       "  - allocation_id: eipalloc-0000000b\n"
			       "    instance: " B "\n";

	f->ao.concurrency = 8;
	plan(f, yaml);
	assert_int_equal(apply(f), 0);
	assert_int_equal(f->rep.done, f->plan->n_steps);
	assert_int_equal(memprov_count(f->m, "associate"), 2);
	expect_converged(f, yaml);
}

static void test_move_target_stopped_before_apply(void **state)
{
	struct fx *f = *state;

	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	plan(f, V1 "load_balancers:\n  - classic: web-classic\n"
		   "    ownership: additive\n    wait: none\n"
		   "    members: [" A "]\n"
		   "elastic_ips:\n  - allocation_id: eipalloc-0000000a\n"
		   "    instance: " B "\n");
	/* The standby stops between plan and apply: no blind move. */
	memprov_set_instance_state(f->m, B, "stopped");
	assert_int_equal(apply(f), UTIL_EFAIL);
	expect_outcomes(f, "done skipped");
	assert_string_equal(detail(f, 1), "the world changed since the plan: "
					  "instance:" B " is not as planned");
	expect_mutations(f, "classic_register web-classic " A "\n");
	assert_string_equal(memprov_address_holder(f->m, "eipalloc-0000000a"),
			    A);
}

/* Each read is made once: retrying is the client's job. */
static void test_observe_reads_once(void **state)
{
	struct fx *f = *state;
	struct rc_reads r = RC_READS_INIT;
	struct rc_world w = { 0 };
	struct rc_observe_opts oo = { .concurrency = 1 };

	assert_int_equal(rc_reads_add_key(&r, "tg:web-tg", &f->err), 0);
	assert_int_equal(rc_reads_add_key(&r, "classic:web-classic", &f->err),
			 0);
	memprov_fail(f->m, "target_groups", NULL, 1, "Throttling",
		     UTIL_ERR_RETRYABLE, false);
	assert_int_equal(rc_observe(f->p, &r, &oo, &w, &f->err), UTIL_EAWS);
	assert_string_equal(f->err.aws_code, "Throttling");
	assert_int_equal(memprov_count(f->m, "target_groups"), 1);
	assert_int_equal(memprov_count(f->m, "classic_lbs"), 1);
	assert_int_equal(f->fc.slept, 0);
	util_err_clear(&f->err);
	rc_reads_release(&r);
}

static void order_step_done(void *ctx, const struct rc_step *s,
			    const struct rc_step_result *r)
{
	struct fx *f = ctx;

	(void)r;
	if (f->n_finished < 64)
		f->finished[f->n_finished++] = s->id;
}

static void order_waiting(void *ctx, const struct rc_step *s,
			  uint64_t elapsed_ms, size_t ready, size_t total)
{
	struct fx *f = ctx;

	(void)s;
	(void)ready;
	(void)total;
	if (f->preempt_at && elapsed_ms >= f->preempt_at)
		f->preempt = 1;
}

static void dereg_hook(void *ctx, struct memprov *m, const char *call)
{
	struct fx *f = ctx;

	(void)m;
	if (strstr(call, "_deregister") && f->dereg_at == UINT64_MAX)
		f->dereg_at = f->fc.now;
}

/* No step finished before a step it depends on. */
static void expect_deps_first(struct fx *f)
{
	for (size_t i = 0; i < f->n_finished; i++) {
		const struct rc_step *s = rc_plan_step(f->plan, f->finished[i]);

		for (size_t k = 0; k < s->n_deps; k++) {
			bool before = false;

			for (size_t j = 0; j < i; j++)
				before |= f->finished[j] == s->deps[k];
			assert_true(before);
		}
	}
}

static void test_wait_holds_only_its_group(void **state)
{
	struct fx *f = *state;
	struct rc_apply_progress pr = { .step_done = order_step_done,
					.waiting = order_waiting,
					.ctx = f };

	/* web-tg replaces A by C, which never passes its checks. */
	healthy(f, "web-tg", A, 8080);
	healthy(f, "web-tg", B, 8080);
	healthy(f, "web-classic", A, 0);
	healthy(f, "web-classic", D, 0);
	memprov_set_healthy_after(f->m, 1000000);
	plan(f, V1 "load_balancers:\n"
		   "  - target_group: web-tg\n"
		   "    timeout: 5m\n"
		   "    members: [" B ", " C "]\n"
		   "  - classic: web-classic\n"
		   "    wait: none\n"
		   "    members: [" A ", " B "]\n");
	f->ao.progress = &pr;
	memprov_set_hook(f->m, dereg_hook, f);
	assert_int_equal(apply(f), UTIL_EFAIL);
	memprov_set_hook(f->m, NULL, NULL);
	f->ao.progress = NULL;
	/* web-classic's steps did not wait for web-tg's five minutes. */
	expect_mutations(f, "tg_register web-tg " C ":8080\n"
			    "classic_register web-classic " B "\n"
			    "classic_deregister web-classic " D "\n");
	assert_int_equal(f->dereg_at, 0);
	/* register tg, register classic, wait tg, deregister tg and classic */
	expect_outcomes(f, "done done failed skipped done");
	assert_int_equal(f->fc.now, 5 * 60 * 1000);
	/* ...and web-tg kept make-before-break: A is still there. */
	assert_int_equal(memprov_member_health(f->m, "web-tg", A, 8080),
			 PROV_HEALTH_HEALTHY);
	assert_int_equal(f->n_finished, f->plan->n_steps);
	expect_deps_first(f);
}

static void test_preempt_ends_wait(void **state)
{
	struct fx *f = *state;
	struct rc_apply_progress pr = { .step_done = order_step_done,
					.waiting = order_waiting,
					.ctx = f };
	const char yaml[] = V1 "load_balancers:\n  - target_group: web-tg\n"
			       "    members: [" B "]\n";

	healthy(f, "web-tg", A, 8080);
	memprov_set_healthy_after(f->m, 1000000);
	plan(f, yaml);
	/* A newer spec arrives 3 s into a wait of up to 5 minutes. */
	f->preempt_at = 3000;
	f->ao.progress = &pr;
	assert_int_equal(apply(f), UTIL_ECANCELED);
	f->ao.progress = NULL;
	expect_mutations(f, "tg_register web-tg " B ":8080\n");
	expect_outcomes(f, "done skipped skipped");
	assert_true(f->rep.preempted);
	assert_false(f->rep.canceled);
	assert_string_equal(detail(f, 1), "preempted: a newer spec is in force "
					  "while waiting");
	assert_string_equal(detail(f, 2),
			    "preempted: a newer spec is in force");
	assert_true(f->fc.now < 10000);
	assert_int_equal(memprov_member_health(f->m, "web-tg", A, 8080),
			 PROV_HEALTH_HEALTHY);
	/* The next plan waits for B again before deregistering A. */
	f->preempt = 0;
	f->preempt_at = 0;
	plan(f, yaml);
	assert_int_equal(f->plan->n_steps, 2);
	assert_int_equal(f->plan->steps[0].action, RC_ACT_WAIT);
	assert_int_equal(f->plan->steps[1].action, RC_ACT_DEREGISTER);
	assert_int_equal(f->plan->steps[1].n_deps, 1);
	assert_int_equal(f->plan->steps[1].deps[0], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_converge_from_empty),
		T(test_enable_zones_then_register),
		T(test_enable_zones_already),
		T(test_enable_zones_failure_skips_register),
		T(test_phase_reads),
		T(test_fresh_world_saves_a_read),
		T(test_make_before_break_order),
		T(test_wait_timeout_skips_deregistration),
		T(test_member_leaves_while_waiting),
		T(test_stale_precondition_skips),
		T(test_stale_saved_plan_refused),
		T(test_failed_step_skips_only_dependents),
		T(test_no_engine_retry),
		T(test_reads_of_health_wait),
		T(test_reads_of_converge),
		T(test_wait_first_with_fresh_world),
		T(test_wait_first_rereads_group),
		T(test_lost_response_confirmed),
		T(test_disassociate_gone_confirmed),
		T(test_allocate_never_twice),
		T(test_allocate_found_at_apply),
		T(test_apply_min_healthy_live),
		T(test_apply_min_healthy_live_classic),
		T(test_disassociate_and_drain),
		T(test_failover_move_is_one_call),
		T(test_cancel_between_steps),
		T(test_concurrent_phase),
		T(test_move_target_stopped_before_apply),
		T(test_observe_reads_once),
		T(test_wait_holds_only_its_group),
		T(test_preempt_ends_wait),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
