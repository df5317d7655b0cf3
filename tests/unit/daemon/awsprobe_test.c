#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/provider.h"
#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/evloop.h"
#include "reconciler/daemon/failover.h"
#include "spec/spec.h"
#include "tests/unit/support/memprov.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/err.h"

#define ID_A "i-0aaaaaaaaaaaaaaaa"
#define ID_B "i-0bbbbbbbbbbbbbbbb"
#define ID_C "i-0cccccccccccccccc"
#define ID_D "i-0dddddddddddddddd"

/* Writable copies for the provider structs' char * fields. */
static char id_a[] = ID_A;
static char web_tg[] = "web-tg";
static char web[] = "web";

/* --- verdicts -------------------------------------------------------------- */

static void test_target_verdicts(void **state)
{
	struct {
		enum prov_health h;
		char word[16];
		enum rc_aws_verdict want;
	} cases[] = {
		{ PROV_HEALTH_HEALTHY, "healthy", RC_AWS_UP },
		{ PROV_HEALTH_UNHEALTHY, "unhealthy", RC_AWS_DOWN },
		{ PROV_HEALTH_UNUSED, "unused", RC_AWS_DOWN },
		{ PROV_HEALTH_INITIAL, "initial", RC_AWS_KEEP },
		{ PROV_HEALTH_DRAINING, "draining", RC_AWS_KEEP },
		{ PROV_HEALTH_UNAVAILABLE, "unavailable", RC_AWS_KEEP },
	};
	char d[160];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct prov_target t = { .id = id_a,
					 .health = cases[i].h,
					 .state = cases[i].word };
		struct prov_target_group tg = { .name = web_tg,
						.targets = &t,
						.n_targets = 1 };

		assert_int_equal(rc_aws_target_verdict(&tg, ID_A, d, sizeof(d)),
				 cases[i].want);
		assert_non_null(strstr(d, cases[i].word));
		/* Another instance is not a target: down. */
		assert_int_equal(rc_aws_target_verdict(&tg, ID_B, d, sizeof(d)),
				 RC_AWS_DOWN);
		assert_string_equal(d, "not a target of web-tg");
	}
	assert_int_equal(rc_aws_target_verdict(NULL, ID_A, d, sizeof(d)),
			 RC_AWS_DOWN);
}

static void test_classic_verdicts(void **state)
{
	struct {
		char word[16];
		enum rc_aws_verdict want;
	} cases[] = {
		{ "InService", RC_AWS_UP },
		{ "OutOfService", RC_AWS_DOWN },
		{ "Unknown", RC_AWS_KEEP },
	};
	char d[160];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct prov_classic_member m = { .instance_id = id_a,
						 .state = cases[i].word };
		struct prov_classic_lb lb = { .name = web,
					      .members = &m,
					      .n_members = 1 };

		assert_int_equal(rc_aws_classic_verdict(&lb, ID_A, d,
							sizeof(d)),
				 cases[i].want);
		assert_int_equal(rc_aws_classic_verdict(&lb, ID_B, d,
							sizeof(d)),
				 RC_AWS_DOWN);
	}
	assert_int_equal(rc_aws_classic_verdict(NULL, ID_A, d, sizeof(d)),
			 RC_AWS_DOWN);
}

static void test_status_verdicts(void **state)
{
	struct {
		enum prov_instance_state st;
		char sys[20], inst[20];
		enum rc_aws_verdict want;
	} cases[] = {
		{ PROV_INSTANCE_RUNNING, "ok", "ok", RC_AWS_UP },
		{ PROV_INSTANCE_RUNNING, "impaired", "ok", RC_AWS_DOWN },
		{ PROV_INSTANCE_RUNNING, "ok", "impaired", RC_AWS_DOWN },
		{ PROV_INSTANCE_RUNNING, "initializing", "ok", RC_AWS_KEEP },
		{ PROV_INSTANCE_RUNNING, "ok", "initializing", RC_AWS_KEEP },
		{ PROV_INSTANCE_RUNNING, "ok", "insufficient-data",
		  RC_AWS_KEEP },
		{ PROV_INSTANCE_RUNNING, "initializing", "impaired",
		  RC_AWS_DOWN },
		{ PROV_INSTANCE_STOPPED, "not-applicable", "not-applicable",
		  RC_AWS_DOWN },
		{ PROV_INSTANCE_PENDING, "ok", "ok", RC_AWS_DOWN },
	};
	char d[160];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct prov_instance_status s = {
			.instance_id = id_a,
			.state = cases[i].st,
			.system_status = cases[i].sys,
			.instance_status = cases[i].inst,
		};
		struct prov_instance_status_list l = { &s, 1 };

		assert_int_equal(rc_aws_status_verdict(&l, ID_A, d, sizeof(d)),
				 cases[i].want);
		assert_int_equal(rc_aws_status_verdict(&l, ID_B, d, sizeof(d)),
				 RC_AWS_DOWN);
	}
}

/*
 * Keep means keep: a candidate up, then a round that says initial or
 * draining, stays up whatever fall is, because the round records nothing
 * (the daemon records only up and down, as rc_hc_record results).
 */
static void test_keep_previous(void **state)
{
	struct rc_hc hc = { 0 };
	struct prov_target t = { .id = id_a };
	struct prov_target_group tg = { .targets = &t, .n_targets = 1 };
	static const enum prov_health rounds[] = {
		PROV_HEALTH_HEALTHY,  PROV_HEALTH_HEALTHY,  PROV_HEALTH_INITIAL,
		PROV_HEALTH_DRAINING, PROV_HEALTH_DRAINING, PROV_HEALTH_INITIAL,
	};
	char d[160];

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(rounds); i++) {
		enum rc_aws_verdict v;

		t.health = rounds[i];
		v = rc_aws_target_verdict(&tg, ID_A, d, sizeof(d));
		if (v != RC_AWS_KEEP)
			rc_hc_record(&hc, v == RC_AWS_UP, 1, 2);
	}
	assert_int_equal(hc.state, RC_HEALTH_UP);
	t.health = PROV_HEALTH_UNHEALTHY;
	assert_int_equal(rc_aws_target_verdict(&tg, ID_A, d, sizeof(d)),
			 RC_AWS_DOWN);
}

/* --- rounds on the in-memory provider -------------------------------------- */

static struct prov *world(void)
{
	struct prov *p = memprov_new();
	struct memprov *m = memprov_of(p);
	const char *ids[] = { ID_A, ID_B, ID_C, ID_D };

	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		memprov_add_instance(m, ids[i], "running", "vpc-1",
				     "us-east-1a", "10.0.0.1", NULL);
	memprov_add_tg(m, "web-tg", "instance", 80, "vpc-1", 0);
	memprov_add_classic(m, "web-elb", "vpc-1", "us-east-1a");
	memprov_set_member(m, "web-tg", ID_A, 80, PROV_HEALTH_HEALTHY);
	memprov_set_member(m, "web-tg", ID_B, 80, PROV_HEALTH_UNHEALTHY);
	memprov_set_member(m, "web-tg", ID_C, 80, PROV_HEALTH_INITIAL);
	memprov_set_member(m, "web-elb", ID_A, 0, PROV_HEALTH_HEALTHY);
	memprov_set_status_checks(m, ID_B, "ok", "impaired");
	return p;
}

static void ask(struct rc_aws_ask *a, enum spec_probe_kind k, const char *ref,
		const char *id)
{
	memset(a, 0, sizeof(*a));
	a->kind = k;
	a->ref = ref;
	a->instance = id;
}

/* N candidates in one group: one DescribeTargetHealth per round. */
static void test_round_batches(void **state)
{
	struct prov *p = world();
	struct memprov *m = memprov_of(p);
	struct rc_aws_ask a[8];
	struct rc_aws_reads rd;
	size_t reads;

	(void)state;
	ask(&a[0], SPEC_PROBE_TARGET_HEALTH, "web-tg", ID_A);
	ask(&a[1], SPEC_PROBE_TARGET_HEALTH, "web-tg", ID_B);
	ask(&a[2], SPEC_PROBE_TARGET_HEALTH, "web-tg", ID_C);
	ask(&a[3], SPEC_PROBE_TARGET_HEALTH, "web-tg", ID_D);
	ask(&a[4], SPEC_PROBE_INSTANCE_HEALTH, "web-elb", ID_A);
	ask(&a[5], SPEC_PROBE_INSTANCE_HEALTH, "web-elb", ID_B);
	ask(&a[6], SPEC_PROBE_INSTANCE_STATUS, NULL, ID_A);
	ask(&a[7], SPEC_PROBE_INSTANCE_STATUS, NULL, ID_B);
	rc_aws_count_reads(a, 8, &rd);
	assert_int_equal(rd.elbv2, 1);
	assert_int_equal(rd.elb, 1);
	assert_int_equal(rd.ec2, 1);
	for (int round = 1; round <= 2; round++) {
		reads = rc_aws_round(p, a, 8);
		assert_int_equal(reads, 3);
		assert_int_equal(memprov_count(m, "target_health"), round);
		assert_int_equal(memprov_count(m, "classic_health"), round);
		assert_int_equal(memprov_count(m, "instance_status"), round);
	}
	assert_int_equal(memprov_n_calls(m), 6);
	assert_int_equal(a[0].verdict, RC_AWS_UP);
	assert_int_equal(a[1].verdict, RC_AWS_DOWN);
	assert_int_equal(a[2].verdict, RC_AWS_KEEP);
	assert_int_equal(a[3].verdict, RC_AWS_DOWN); /* not a target */
	assert_int_equal(a[4].verdict, RC_AWS_UP);
	assert_int_equal(a[5].verdict, RC_AWS_DOWN);
	assert_int_equal(a[6].verdict, RC_AWS_UP);
	assert_int_equal(a[7].verdict, RC_AWS_DOWN);
	assert_string_equal(a[7].detail,
			    "running, system ok, instance impaired");
	prov_free(p);
}

/* A failed read says nothing; a group that is gone says down. */
static void test_round_errors(void **state)
{
	struct prov *p = world();
	struct memprov *m = memprov_of(p);
	struct rc_aws_ask a[3];

	(void)state;
	ask(&a[0], SPEC_PROBE_TARGET_HEALTH, "web-tg", ID_A);
	ask(&a[1], SPEC_PROBE_TARGET_HEALTH, "gone-tg", ID_A);
	ask(&a[2], SPEC_PROBE_INSTANCE_STATUS, NULL, ID_A);
	memprov_fail(m, "target_health", "web-tg", 1, "Throttling",
		     UTIL_ERR_RETRYABLE, false);
	memprov_fail(m, "instance_status", NULL, 1, "RequestLimitExceeded",
		     UTIL_ERR_RETRYABLE, false);
	assert_int_equal(rc_aws_round(p, a, 3), 3);
	assert_int_equal(a[0].verdict, RC_AWS_KEEP);
	assert_true(a[0].read_failed);
	assert_non_null(strstr(a[0].detail, "cannot read"));
	assert_int_equal(a[1].verdict, RC_AWS_DOWN);
	assert_false(a[1].read_failed);
	assert_int_equal(a[2].verdict, RC_AWS_KEEP);
	rc_aws_round(p, a, 3);
	assert_false(a[0].read_failed);
	assert_int_equal(a[0].verdict, RC_AWS_UP);
	assert_int_equal(a[2].verdict, RC_AWS_UP);
	prov_free(p);
}

static void test_status_chunks(void **state)
{
	struct rc_aws_ask a[250];
	char ids[250][20];
	struct rc_aws_reads rd;

	(void)state;
	for (size_t i = 0; i < 250; i++) {
		snprintf(ids[i], sizeof(ids[i]), "i-%017zx", i);
		ask(&a[i], SPEC_PROBE_INSTANCE_STATUS, NULL, ids[i]);
	}
	rc_aws_count_reads(a, 250, &rd);
	assert_int_equal(rd.ec2, 3);
	assert_int_equal(rd.elb + rd.elbv2, 0);
	/* The same instance asked twice is one id. */
	rc_aws_count_reads(a, 100, &rd);
	assert_int_equal(rd.ec2, 1);
	ask(&a[100], SPEC_PROBE_INSTANCE_STATUS, NULL, ids[0]);
	rc_aws_count_reads(a, 101, &rd);
	assert_int_equal(rd.ec2, 1);
}

/* --- the read budget --------------------------------------------------------- */

static const struct rc_aws_budget defaults = {
	.ec2 = 10, .elb = 10, .elbv2 = 10, .elb_account = 10
};

static struct spec *load(const char *yaml)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;

	if (spec_load_buffer("t.yaml", yaml, strlen(yaml), &s, &d, &err))
		fail_msg("spec: %s", err.msg);
	spec_diags_release(&d);
	return s;
}

#define EIP(n, ivl, probe, cands)                             \
	"  - allocation_id: eipalloc-0123456789abcdef" n "\n" \
	"    failover:\n"                                     \
	"      candidates: [" cands "]\n"                     \
	"      probe: " probe "\n"                            \
	"      interval: " ivl "\n"                           \
	"      timeout: 50ms\n"

static void test_budget(void **state)
{
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s;

	(void)state;
	/* Four candidates, one group, every 200ms: 5/s, exactly half. */
	s = load("version: 1\nelastic_ips:\n" EIP("0", "200ms",
						  "{target_health: web-tg}",
						  ID_A ", " ID_B ", " ID_C
						       ", " ID_D));
	assert_int_equal(rc_aws_budget_check(s, &defaults, &err), 0);
	spec_free(s);

	s = load("version: 1\nelastic_ips:\n" EIP("0", "100ms",
						  "{target_health: web-tg}",
						  ID_A ", " ID_B));
	assert_int_equal(rc_aws_budget_check(s, &defaults, &err), UTIL_EINVAL);
	assert_int_equal(err.line, 5);
	assert_int_equal(err.col, 7);
	assert_string_equal(err.msg,
			    "1 probe read every 100ms = 10/s (10/s across the "
			    "spec) exceeds half the ELBv2 describe bucket's "
			    "10/s refill (5/s); raise 'interval' to at least "
			    "200ms");
	util_err_clear(&err);
	spec_free(s);

	/* Two blocks: the account bucket is shared by Classic and v2. */
	s = load("version: 1\nelastic_ips:\n" EIP("0", "1s",
						  "{target_health: web-tg}",
						  ID_A ", " ID_B)
			 EIP("1", "200ms", "{instance_health: web-elb}",
			     ID_C ", " ID_D));
	assert_int_equal(rc_aws_budget_check(s, &defaults, &err), UTIL_EINVAL);
	assert_int_equal(err.line, 11);
	assert_string_equal(err.msg,
			    "1 probe read every 200ms = 5/s (6/s across the "
			    "spec) exceeds half the ELB account bucket's 10/s "
			    "refill (5/s); raise 'interval' to at least 250ms");
	util_err_clear(&err);
	spec_free(s);

	/* Network probes spend nothing. */
	s = load("version: 1\nelastic_ips:\n" EIP("0", "100ms", "{tcp: 22}",
						  ID_A ", " ID_B));
	assert_int_equal(rc_aws_budget_check(s, &defaults, &err), 0);
	spec_free(s);
}

/* A world of n target groups and one Classic ELB, each with one member. */
static struct spec *lb_world(unsigned n)
{
	char *y = util_xstrdup("version: 1\nload_balancers:\n"
			       "  - classic: web-elb\n"
			       "    members: [" ID_A "]\n");

	for (unsigned i = 0; i < n; i++) {
		char *t = util_xasprintf("%s  - target_group: tg-%u\n"
					 "    members: [" ID_A "]\n",
					 y, i);

		free(y);
		y = t;
	}
	struct spec *s = load(y);

	free(y);
	return s;
}

static void test_resync_fit(void **state)
{
	struct rc_aws_budget b = defaults;
	struct rc_aws_share used;
	struct spec *s;

	(void)state;
	/* 9 groups: 10 ELBv2 reads a minute, 2 Classic, 12 account-wide. */
	s = lb_world(9);
	assert_int_equal(rc_aws_resync_fit(s, &b, 60000, &used), 60000);
	assert_true(used.elbv2 > 0.0166 && used.elbv2 < 0.0167);
	assert_true(used.elb_account > 0.0199 && used.elb_account < 0.0201);
	/* A 1s resync would bunch 12 reads into half of 10/s: 2.4s. */
	assert_int_equal(rc_aws_resync_fit(s, &b, 1000, &used), 2400);
	assert_true(used.elb_account > 0.4999 && used.elb_account < 0.5001);
	/* --read-budget 10%: 12 s. */
	b.share = 0.1;
	assert_int_equal(rc_aws_resync_fit(s, &b, 1000, &used), 12000);
	assert_true(used.elb_account > 0.0999 && used.elb_account < 0.1001);
	spec_free(s);
}

static void test_parse_share(void **state)
{
	struct util_err err = UTIL_ERR_INIT;
	const char *bad[] = { "",     "0",   "0%",   "1.5",  "150%",
			      "-0.1", "abc", "50%%", "0.5x", "nan" };
	double v = 0;

	(void)state;
	assert_int_equal(rc_aws_parse_share("0.25", &v, &err), 0);
	assert_true(v == 0.25);
	assert_int_equal(rc_aws_parse_share("50%", &v, &err), 0);
	assert_true(v == 0.5);
	assert_int_equal(rc_aws_parse_share("1", &v, &err), 0);
	assert_true(v == 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 7;
		assert_int_equal(rc_aws_parse_share(bad[i], &v, &err),
				 UTIL_EINVAL);
		assert_true(v == 7);
		assert_non_null(strstr(err.msg, "0 < SHARE <= 1"));
		util_err_clear(&err);
	}
}

static void test_budget_share(void **state)
{
	struct rc_aws_budget b = defaults;
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s;

	(void)state;
	/* 5/s fits half of 10/s, not a quarter. */
	s = load("version: 1\nelastic_ips:\n" EIP("0", "200ms",
						  "{target_health: web-tg}",
						  ID_A ", " ID_B));
	assert_int_equal(rc_aws_budget_check(s, &b, &err), 0);
	b.share = 0.25;
	assert_int_equal(rc_aws_budget_check(s, &b, &err), UTIL_EINVAL);
	assert_string_equal(err.msg,
			    "1 probe read every 200ms = 5/s (5/s across the "
			    "spec) exceeds 25% of the ELBv2 describe "
			    "bucket's 10/s refill (2.5/s); raise 'interval' "
			    "to at least 400ms");
	util_err_clear(&err);
	spec_free(s);
}

/* --- off the loop ------------------------------------------------------------ */

struct got {
	int calls;
	enum rc_aws_verdict v[2];
};

static void on_done(void *ctx, struct rc_aws_ask *asks, size_t n)
{
	struct got *g = ctx;

	g->calls++;
	for (size_t i = 0; i < n && i < 2; i++)
		g->v[asks[i].cand] = asks[i].verdict;
}

static void test_prober(void **state)
{
	struct prov *p = world();
	struct rc_evloop *l;
	struct rc_awsprober *ap;
	struct util_err err = UTIL_ERR_INIT;
	struct rc_aws_ask a[2];
	struct got g = { 0 }, canceled = { 0 };
	struct rc_aws_sub *sub;
	char ref[] = "web-tg";

	(void)state;
	assert_int_equal(rc_evloop_new(&l, &err), 0);
	assert_int_equal(rc_awsprober_new(l, p, &ap, &err), 0);
	ask(&a[0], SPEC_PROBE_TARGET_HEALTH, ref, ID_A);
	ask(&a[1], SPEC_PROBE_TARGET_HEALTH, ref, ID_B);
	a[1].cand = 1;
	sub = rc_awsprober_submit(ap, a, 2, on_done, &canceled);
	rc_aws_sub_cancel(sub);
	rc_awsprober_submit(ap, a, 2, on_done, &g);
	ref[0] = 'X'; /* the prober copied the strings */
	while (!g.calls)
		assert_true(rc_evloop_run_once(l, 1000, &err) >= 0);
	assert_int_equal(g.calls, 1);
	assert_int_equal(canceled.calls, 0);
	assert_int_equal(g.v[0], RC_AWS_UP);
	assert_int_equal(g.v[1], RC_AWS_DOWN);
	rc_awsprober_free(ap);
	rc_evloop_free(l);
	prov_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_target_verdicts),
		cmocka_unit_test(test_classic_verdicts),
		cmocka_unit_test(test_status_verdicts),
		cmocka_unit_test(test_keep_previous),
		cmocka_unit_test(test_round_batches),
		cmocka_unit_test(test_round_errors),
		cmocka_unit_test(test_status_chunks),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_resync_fit),
		cmocka_unit_test(test_parse_share),
		cmocka_unit_test(test_budget_share),
		cmocka_unit_test(test_prober),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
