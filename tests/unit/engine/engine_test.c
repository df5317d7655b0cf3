/*
 * The engine's entry point (reconciler/engine/engine.c): one call reads
 * what the spec names, observes it and plans, on the in-memory provider.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "providers/provider.h"
#include "reconciler/engine/engine.h"
#include "reconciler/engine/observe.h"
#include "reconciler/engine/plan.h"
#include "spec/spec.h"
#include "tests/unit/support/memprov.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/err.h"
#include "util/banned.h"

#define A "i-0000000a"
#define B "i-0000000b"
#define C "i-0000000c"

static const char two_groups[] = "version: 1\n"
				 "load_balancers:\n"
				 "  - classic: web-classic\n"
				 "    members: [" A ", " B "]\n"
				 "  - target_group: web-tg\n"
				 "    members: [" A "]\n";

struct fx {
	struct prov *p;
	struct memprov *m;
	struct spec *s;
	struct rc_engine_result er;
	struct rc_notes errors;
	struct util_err err;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->p = t_world();
	f->m = memprov_of(f->p);
	f->s = t_spec(two_groups);
	f->er = (struct rc_engine_result)RC_ENGINE_RESULT_INIT;
	f->err = (struct util_err)UTIL_ERR_INIT;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rc_engine_result_release(&f->er);
	rc_notes_release(&f->errors);
	spec_free(f->s);
	prov_free(f->p);
	free(f);
	return 0;
}

static void test_plans_what_it_observed(void **state)
{
	struct fx *f = *state;
	struct rc_plan_opts po = { 0 };
	struct rc_engine_opts o = { .plan = &po, .identity = true };
	char *steps;

	assert_int_equal(rc_engine_plan(f->p, f->s, &o, &f->er, &f->errors,
					&f->err),
			 0);
	assert_true(f->er.observed);
	assert_non_null(f->er.plan);
	assert_int_equal(f->errors.n, 0);
	steps = t_steps(f->er.plan);
	assert_string_equal(steps,
			    "1 register web-classic " A "," B "\n"
			    "2 register web-tg " A ":8080\n"
			    "3 wait web-classic healthy " A "," B " <- 1\n"
			    "4 wait web-tg healthy " A ":8080 <- 2\n");
	free(steps);
	/* The world and the reads come back, for apply and a re-read. */
	assert_true(f->er.world.have_identity);
	assert_true(f->er.reads.identity);
	assert_non_null(
		rc_world_group(&f->er.world, SPEC_LB_CLASSIC, "web-classic"));
	assert_int_equal(memprov_count(f->m, "identity"), 1);
	rc_engine_result_release(&f->er);
	assert_null(f->er.plan);
	assert_false(f->er.observed);
}

/* The plan's selection is also what is read: nothing else is asked. */
static void test_selection_limits_reads(void **state)
{
	struct fx *f = *state;
	bool use_lb[] = { false, true };
	struct rc_plan_opts po = { .use_lb = use_lb };
	struct rc_engine_opts o = { .plan = &po };
	char *steps;

	assert_int_equal(rc_engine_plan(f->p, f->s, &o, &f->er, &f->errors,
					&f->err),
			 0);
	steps = t_steps(f->er.plan);
	assert_string_equal(steps, "1 register web-tg " A ":8080\n"
				   "2 wait web-tg healthy " A ":8080 <- 1\n");
	free(steps);
	assert_null(
		rc_world_group(&f->er.world, SPEC_LB_CLASSIC, "web-classic"));
	assert_int_equal(memprov_count(f->m, "classic_lbs"), 0);
	assert_int_equal(memprov_count(f->m, "identity"), 0);
	assert_false(f->er.world.have_identity);
}

static void test_observe_failure(void **state)
{
	struct fx *f = *state;
	struct rc_plan_opts po = { 0 };
	struct rc_engine_opts o = { .plan = &po };

	memprov_fail(f->m, "classic_lbs", NULL, -1, "AccessDenied", 0, false);
	assert_true(rc_engine_plan(f->p, f->s, &o, &f->er, &f->errors,
				   &f->err) < 0);
	assert_false(f->er.observed);
	assert_null(f->er.plan);
	assert_int_equal(f->errors.n, 0);
	assert_string_equal(f->err.aws_code, "AccessDenied");
}

/* A refusal keeps the observation, so the caller can plan again. */
static void test_refusal_keeps_world(void **state)
{
	struct fx *f = *state;
	struct rc_plan_opts po = { .has_max_changes = true, .max_changes = 1 };
	struct rc_engine_opts o = { .plan = &po };
	struct rc_plan *again = NULL;
	struct rc_notes errors = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	assert_int_equal(rc_engine_plan(f->p, f->s, &o, &f->er, &f->errors,
					&f->err),
			 UTIL_EINVAL);
	assert_true(f->er.observed);
	assert_null(f->er.plan);
	assert_int_equal(f->errors.n, 1);
	po.has_max_changes = false;
	assert_int_equal(rc_plan_build(f->s, &f->er.world, &po, &again, &errors,
				       &err),
			 0);
	assert_int_equal(memprov_count(f->m, "classic_lbs"), 1);
	rc_plan_free(again);
	rc_notes_release(&errors);
}

/*
 * Every read earns its place: the exact reads of a plan whose output
 * (text) shows no health and no account, one read at a time so the
 * order is fixed.  A new needless read fails here.
 */
static char *plan_reads(struct fx *f)
{
	static const struct rc_observe_opts one = { .concurrency = 1 };
	struct rc_plan_opts po = { 0 };
	struct rc_engine_opts o = { .plan = &po,
				    .observe = &one,
				    .health_as_needed = true };

	memprov_clear_calls(f->m);
	rc_engine_result_release(&f->er);
	assert_int_equal(rc_engine_plan(f->p, f->s, &o, &f->er, &f->errors,
					&f->err),
			 0);
	return memprov_calls(f->m);
}

static void test_reads_of_noop_plan(void **state)
{
	struct fx *f = *state;
	char *calls;

	memprov_set_member(f->m, "web-classic", A, 0, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-classic", B, 0, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-tg", A, 8080, PROV_HEALTH_HEALTHY);
	calls = plan_reads(f);
	/* No Classic health, no caller identity, no group attributes. */
	assert_string_equal(calls, "instances_by_id " A "," B "\n"
				   "classic_lbs web-classic\n"
				   "target_groups web-tg\n");
	free(calls);
	assert_false(rc_plan_has_changes(f->er.plan));
}

/* With an address and a selector: one read more each, nothing else. */
static void test_reads_of_noop_plan_with_address(void **state)
{
	struct fx *f = *state;
	char *calls;

	spec_free(f->s);
	f->s = t_spec("version: 1\n"
		      "load_balancers:\n"
		      "  - classic: web-classic\n"
		      "    members: [" A ", " B "]\n"
		      "  - target_group: web-tg\n"
		      "    members: [{selector: {tags: {role: db}}}]\n"
		      "elastic_ips:\n"
		      "  - allocation_id: eipalloc-0000000a\n"
		      "    instance: " A "\n");
	memprov_set_member(f->m, "web-classic", A, 0, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-classic", B, 0, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-tg", "i-0000000e", 8080,
			   PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-tg", "i-0000000f", 8080,
			   PROV_HEALTH_HEALTHY);
	memprov_bind(f->m, "eipalloc-0000000a", A, NULL);
	calls = plan_reads(f);
	/* The groups first: their paced ELB reads are the long pole. */
	assert_string_equal(calls, "instances_by_id " A "," B "\n"
				   "classic_lbs web-classic\n"
				   "target_groups web-tg\n"
				   "instances_by_selector role=db\n"
				   "addresses alloc=eipalloc-0000000a\n");
	free(calls);
	assert_false(rc_plan_has_changes(f->er.plan));
}

static void test_reads_of_converge_plan(void **state)
{
	struct fx *f = *state;
	char *calls = plan_reads(f);

	/* Registrations need no health; web-tg's zones are checked. */
	assert_string_equal(calls,
			    "instances_by_id " A "," B "\n"
			    "classic_lbs web-classic\n"
			    "target_groups web-tg\n"
			    "lbs_v2 arn:aws:elasticloadbalancing:us-east-1:"
			    "123456789012:loadbalancer/app/web-alb/"
			    "0123456789abcdef\n");
	free(calls);
}

/* A deregistration is checked against min_healthy: that ELB's health. */
static void test_reads_of_deregistration(void **state)
{
	struct fx *f = *state;
	char *calls;

	memprov_set_member(f->m, "web-classic", A, 0, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-classic", B, 0, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-classic", C, 0, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-tg", A, 8080, PROV_HEALTH_HEALTHY);
	calls = plan_reads(f);
	assert_string_equal(calls, "instances_by_id " A "," B "\n"
				   "classic_lbs web-classic\n"
				   "target_groups web-tg\n"
				   "classic_health web-classic\n");
	free(calls);
	assert_true(rc_plan_has_changes(f->er.plan));
}

static void delete_on_health_read(void *ctx, struct memprov *m,
				  const char *call)
{
	(void)ctx;
	if (!strncmp(call, "classic_health ", 15))
		memprov_remove_group(m, "web-classic");
}

/*
 * An ELB deleted between its listing and its health read is not an
 * observe error: it is planned as listed (its steps find it gone).
 */
static void test_health_of_classic_gone_since_listed(void **state)
{
	struct fx *f = *state;
	char *calls;

	memprov_set_member(f->m, "web-classic", A, 0, PROV_HEALTH_HEALTHY);
	memprov_set_member(f->m, "web-classic", C, 0, PROV_HEALTH_HEALTHY);
	memprov_set_hook(f->m, delete_on_health_read, NULL);
	calls = plan_reads(f);
	memprov_set_hook(f->m, NULL, NULL);
	assert_int_equal(memprov_count(f->m, "classic_health"), 1);
	free(calls);
	assert_int_equal(rc_world_group(&f->er.world, SPEC_LB_CLASSIC,
					"web-classic")
				 ->classic->n_members,
			 2);
}

/* Formats that show health (markdown, JSON, a saved plan) read it all. */
static void test_reads_when_health_shown(void **state)
{
	struct fx *f = *state;
	struct rc_plan_opts po = { 0 };
	struct rc_engine_opts o = { .plan = &po };

	memprov_set_member(f->m, "web-classic", A, 0, PROV_HEALTH_HEALTHY);
	assert_int_equal(rc_engine_plan(f->p, f->s, &o, &f->er, &f->errors,
					&f->err),
			 0);
	assert_int_equal(memprov_count(f->m, "classic_health"), 1);
	assert_int_equal(rc_world_group(&f->er.world, SPEC_LB_CLASSIC,
					"web-classic")
				 ->classic->members[0]
				 .health,
			 PROV_HEALTH_HEALTHY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plans_what_it_observed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_health_of_classic_gone_since_listed, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_selection_limits_reads,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_observe_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reads_of_noop_plan, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_reads_of_noop_plan_with_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_of_converge_plan,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_of_deregistration,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reads_when_health_shown,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_keeps_world, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
