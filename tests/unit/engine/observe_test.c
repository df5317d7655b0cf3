/*
 * Observe on its own, against the in-memory provider: what a spec or a
 * key adds to the read set, the world built from the answers (sorted,
 * de-duplicated, groups found by name and by ARN, absent ones absent),
 * membership and fingerprints, and a failed read failing the observation
 * with the read named.  How many calls are made is pinned elsewhere
 * (plan_test's test_reads_are_batched).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/engine/observe.h"
#include "tests/unit/support/memprov.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/alloc.h"
#include "util/strv.h"

#define V1 "version: 1\n"
#define A  "i-0000000a"
#define B  "i-0000000b"
#define C  "i-0000000c"
#define D  "i-0000000d"
#define E  "i-0000000e"

static const char spec_yaml[] = V1 "load_balancers:\n"
				   "  - target_group: web-tg\n"
				   "    members:\n"
				   "      - " A "\n"
				   "      - selector: {tags: {role: db}}\n"
				   "  - classic: web-classic\n"
				   "    enable_zones: true\n"
				   "    members: [" B "]\n"
				   "  - classic: other-classic\n"
				   "    members: [" C "]\n"
				   "elastic_ips:\n"
				   "  - allocation_id: eipalloc-0000000a\n"
				   "    instance: " B "\n"
				   "  - public_ip: 203.0.113.11\n"
				   "    network_interface: eni-0000000e\n"
				   "  - name: vip-web\n"
				   "    failover:\n"
				   "      candidates: [" C ", " D "]\n"
				   "      probe: {tcp: 22}\n";

static bool has(char **v, size_t n, const char *s)
{
	return util_strv_has(v, n, s);
}

static void test_reads_from_spec(void **state)
{
	struct spec *s = t_spec(spec_yaml);
	struct rc_reads r = RC_READS_INIT;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	assert_int_equal(rc_reads_from_spec(&r, s, NULL, NULL, &err), 0);
	assert_int_equal(r.n_tgs, 1);
	assert_string_equal(r.tgs[0], "web-tg");
	assert_int_equal(r.n_classic, 2);
	assert_true(has(r.classic, r.n_classic, "web-classic"));
	assert_true(has(r.classic, r.n_classic, "other-classic"));
	/* Members, the bound instance and the failover candidates. */
	for (const char *const *id = (const char *const[]){ A, B, C, D, NULL };
	     *id; id++)
		assert_true(has(r.instance_ids, r.n_instance_ids, *id));
	assert_int_equal(r.n_selectors, 1);
	assert_string_equal(r.selectors[0].key, "role=db|running");
	assert_int_equal(r.n_alloc_ids, 1);
	assert_string_equal(r.alloc_ids[0], "eipalloc-0000000a");
	assert_int_equal(r.n_public_ips, 1);
	assert_string_equal(r.public_ips[0], "203.0.113.11");
	assert_int_equal(r.n_names, 1);
	assert_string_equal(r.names[0], "vip-web");
	assert_int_equal(r.n_eni_ids, 1);
	assert_string_equal(r.eni_ids[0], "eni-0000000e");
	assert_false(r.identity);
	/* Instance members of a target group: one want each. */
	assert_int_equal(r.n_tg_wants, 2);
	assert_string_equal(r.tg_wants[0].tg, "web-tg");
	assert_string_equal(r.tg_wants[0].id, A);
	assert_null(r.tg_wants[1].id);
	assert_string_equal(r.tg_wants[1].selector, "role=db|running");
	/* A Classic want per member (health as needed); zones only where
	 * the ELB has enable_zones. */
	assert_int_equal(r.n_classic_wants, 2);
	for (size_t i = 0; i < r.n_classic_wants; i++) {
		const struct rc_classic_want *cw = &r.classic_wants[i];

		if (!strcmp(cw->lb, "web-classic")) {
			assert_string_equal(cw->id, B);
			assert_true(cw->zones);
		} else {
			assert_string_equal(cw->lb, "other-classic");
			assert_string_equal(cw->id, C);
			assert_false(cw->zones);
		}
	}
	assert_false(rc_reads_empty(&r));
	rc_reads_release(&r);
	assert_true(rc_reads_empty(&r));
	spec_free(s);
}

static void test_reads_from_spec_subset(void **state)
{
	struct spec *s = t_spec(spec_yaml);
	struct rc_reads r = RC_READS_INIT;
	struct util_err err = UTIL_ERR_INIT;
	const bool use_lb[] = { false, false, true };
	const bool use_eip[] = { false, true, false };

	(void)state;
	assert_int_equal(rc_reads_from_spec(&r, s, use_lb, use_eip, &err), 0);
	assert_int_equal(r.n_tgs, 0);
	assert_int_equal(r.n_selectors, 0);
	assert_int_equal(r.n_classic, 1);
	assert_string_equal(r.classic[0], "other-classic");
	assert_int_equal(r.n_instance_ids, 1);
	assert_string_equal(r.instance_ids[0], C);
	assert_int_equal(r.n_alloc_ids + r.n_names, 0);
	assert_int_equal(r.n_public_ips, 1);
	assert_int_equal(r.n_eni_ids, 1);
	assert_int_equal(r.n_tg_wants, 0);
	assert_int_equal(r.n_classic_wants, 1);
	assert_string_equal(r.classic_wants[0].lb, "other-classic");
	rc_reads_release(&r);
	spec_free(s);
}

static void test_selector_canonical(void **state)
{
	char role[] = "role", web[] = "web", env[] = "env", prod[] = "prod";
	char stopped[] = "stopped", running[] = "running",
	     sleeping[] = "sleeping";
	struct spec_tag tags[] = { { .key = role, .value = web },
				   { .key = env, .value = prod } };
	struct spec_tag swapped[] = { tags[1], tags[0] };
	char *states[] = { stopped, running, stopped };
	char *bad[] = { sleeping };
	struct rc_reads r = RC_READS_INIT;
	struct util_err err = UTIL_ERR_INIT;
	char *key;

	(void)state;
	/* Tags sorted, states sorted and unique, running by default. */
	key = rc_selector_key(tags, 2, states, 3);
	assert_string_equal(key, "env=prod,role=web|running,stopped");
	free(key);
	key = rc_selector_key(tags, 1, NULL, 0);
	assert_string_equal(key, "role=web|running");
	free(key);
	/* The same selector written twice is read once. */
	assert_int_equal(rc_reads_add_selector(&r, tags, 2, NULL, 0, &err), 0);
	assert_int_equal(rc_reads_add_selector(&r, swapped, 2, NULL, 0, &err),
			 0);
	assert_int_equal(r.n_selectors, 1);
	assert_int_equal(r.selectors[0].n_states, 1);
	assert_int_equal(r.selectors[0].states[0], PROV_INSTANCE_RUNNING);
	assert_string_equal(r.selectors[0].tags[0].key, "env");
	assert_int_equal(rc_reads_add_selector(&r, tags, 2, bad, 1, &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "'sleeping'"));
	assert_int_equal(r.n_selectors, 1);
	rc_reads_release(&r);
}

static void test_reads_add_key(void **state)
{
	struct rc_reads r = RC_READS_INIT;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	assert_int_equal(rc_reads_add_key(&r, "instance:" A, &err), 0);
	assert_int_equal(rc_reads_add_key(&r, "eni:eni-1", &err), 0);
	assert_int_equal(rc_reads_add_key(&r, "classic:c", &err), 0);
	assert_int_equal(rc_reads_add_key(&r, "tg:arn:aws:x:tg/t", &err), 0);
	assert_int_equal(rc_reads_add_key(&r, "eip:alloc:eipalloc-1", &err), 0);
	assert_int_equal(rc_reads_add_key(&r, "eip:ip:198.51.100.1", &err), 0);
	assert_int_equal(rc_reads_add_key(&r, "eip:name:vip", &err), 0);
	assert_string_equal(r.instance_ids[0], A);
	assert_string_equal(r.eni_ids[0], "eni-1");
	assert_string_equal(r.classic[0], "c");
	assert_string_equal(r.tgs[0], "arn:aws:x:tg/t");
	assert_string_equal(r.alloc_ids[0], "eipalloc-1");
	assert_string_equal(r.public_ips[0], "198.51.100.1");
	assert_string_equal(r.names[0], "vip");
	assert_int_equal(rc_reads_add_key(&r, "bogus:x", &err), UTIL_EINVAL);
	assert_int_equal(r.n_instance_ids + r.n_eni_ids + r.n_classic +
				 r.n_tgs + r.n_alloc_ids + r.n_public_ips +
				 r.n_names,
			 7);
	rc_reads_release(&r);
}

static void test_world_from_answers(void **state)
{
	struct prov *p = t_world();
	struct memprov *m = memprov_of(p);
	struct spec *s = t_spec(spec_yaml);
	struct rc_reads r = RC_READS_INIT;
	struct rc_world w = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	const struct rc_obs_group *byname, *byarn;
	const struct rc_obs_selector *sel;
	const struct prov_address *a;
	char *arg;
	size_t n;

	(void)state;
	memprov_set_member(m, "web-tg", A, 8080, PROV_HEALTH_HEALTHY);
	assert_int_equal(rc_reads_from_spec(&r, s, NULL, NULL, &err), 0);
	assert_int_equal(rc_reads_add_key(&r, "tg:nope-tg", &err), 0);
	assert_int_equal(rc_reads_add_key(&r, "instance:i-00000099", &err), 0);
	assert_int_equal(rc_reads_add_key(&r, "eip:name:vip-web", &err), 0);
	/* E by id too: it also matches the selector. */
	assert_int_equal(rc_reads_add_key(&r, "instance:" E, &err), 0);
	arg = util_xasprintf("tg:%s", memprov_tg_arn(m, "web-tg"));
	assert_int_equal(rc_reads_add_key(&r, arg, &err), 0);
	free(arg);
	r.identity = true;
	assert_int_equal(rc_observe(p, &r, NULL, &w, &err), 0);

	/* Instances by id and by selector, once each, sorted by id. */
	assert_non_null(rc_world_instance(&w, A));
	assert_non_null(rc_world_instance(&w, E));
	assert_null(rc_world_instance(&w, "i-00000099"));
	for (size_t i = 1; i < w.instances.n; i++)
		assert_true(strcmp(w.instances.v[i - 1].id,
				   w.instances.v[i].id) < 0);
	assert_string_equal(rc_world_instance(&w, B)->az, "us-east-1b");
	sel = rc_world_selector(&w, "role=db|running");
	assert_non_null(sel);
	assert_int_equal(sel->n_ids, 2);
	assert_string_equal(sel->ids[0], E);
	assert_string_equal(sel->ids[1], "i-0000000f");
	assert_null(rc_world_selector(&w, "role=web|running"));

	/* Groups: Classic first, then target groups, each by ref. */
	assert_int_equal(w.n_groups, 5);
	assert_int_equal(w.groups[0].kind, SPEC_LB_CLASSIC);
	assert_string_equal(w.groups[0].ref, "other-classic");
	assert_null(w.groups[0].classic); /* not in the world: absent */
	assert_non_null(
		rc_world_group(&w, SPEC_LB_CLASSIC, "web-classic")->classic);
	assert_null(rc_world_group(&w, SPEC_LB_TARGET_GROUP, "nope-tg")->tg);
	assert_null(rc_world_group(&w, SPEC_LB_TARGET_GROUP, "web-classic"));
	byname = rc_world_group(&w, SPEC_LB_TARGET_GROUP, "web-tg");
	byarn = rc_world_group(&w, SPEC_LB_TARGET_GROUP,
			       memprov_tg_arn(m, "web-tg"));
	assert_non_null(byname->tg);
	assert_ptr_equal(byname->tg, byarn->tg);
	assert_int_equal(byname->tg->port, 8080);

	/* Addresses and ENIs as answered; the identity when asked. */
	a = rc_world_address(&w, SPEC_EIP_BY_NAME, "vip-web", &n);
	assert_int_equal(n, 1);
	assert_string_equal(a->allocation_id, "eipalloc-0000000a");
	assert_non_null(rc_world_address(&w, SPEC_EIP_BY_PUBLIC_IP,
					 "203.0.113.11", &n));
	assert_null(rc_world_address(&w, SPEC_EIP_BY_ALLOCATION_ID,
				     "eipalloc-00000099", &n));
	assert_int_equal(n, 0);
	assert_string_equal(rc_world_eni(&w, "eni-0000000e")->private_ips[0],
			    "10.0.9.9");
	assert_true(w.have_identity);
	assert_non_null(w.identity.account);

	/* A and the db instances are not in web-tg yet: its ALB's zones. */
	assert_non_null(rc_world_lb(&w, byname->tg->lb_arns[0]));
	rc_world_release(&w);
	rc_reads_release(&r);
	spec_free(s);
	prov_free(p);
}

/* A read that fails fails the observation, naming the read. */
static void expect_read_fails(const char *op, const char *yaml,
			      const char *what)
{
	struct prov *p = t_world();
	struct spec *s = t_spec(yaml);
	struct rc_reads r = RC_READS_INIT;
	struct rc_world w = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	memprov_fail(memprov_of(p), op, NULL, -1, "UnauthorizedOperation", 0,
		     false);
	assert_int_equal(rc_reads_from_spec(&r, s, NULL, NULL, &err), 0);
	w.n_calls = 12345; /* untouched on failure */
	assert_int_equal(rc_observe(p, &r, NULL, &w, &err), UTIL_EAWS);
	assert_int_equal(w.n_calls, 12345);
	assert_non_null(strstr(err.msg, what));
	assert_string_equal(err.aws_code, "UnauthorizedOperation");
	assert_string_equal(err.request_id, "req-fault");
	rc_reads_release(&r);
	spec_free(s);
	prov_free(p);
}

static void test_errors_name_the_read(void **state)
{
	(void)state;
	expect_read_fails("target_groups", spec_yaml, "describe target groups");
	expect_read_fails("classic_lbs", spec_yaml,
			  "describe classic load balancers");
	expect_read_fails("instances_by_id", spec_yaml, "describe instances");
	expect_read_fails("instances_by_selector", spec_yaml,
			  "describe instances matching role=db|running");
	expect_read_fails("addresses", spec_yaml, "describe addresses");
	expect_read_fails("enis_by_id", spec_yaml,
			  "describe network interfaces");
	/* The zone read, made only because web-tg gets new members. */
	expect_read_fails("lbs_v2", spec_yaml, "describe load balancers");
}

static void test_membership(void **state)
{
	char id[] = A, not_registered[] = "Target.NotRegistered";
	char not_in_use[] = "Target.NotInUse";
	struct prov_target t = { .id = id, .port = 80 };
	struct prov_classic_member cm = { .instance_id = id };

	(void)state;
	t.health = PROV_HEALTH_DRAINING;
	assert_false(rc_target_present(&t));
	t.health = PROV_HEALTH_UNUSED;
	t.reason = not_registered;
	assert_false(rc_target_present(&t));
	t.reason = not_in_use;
	assert_true(rc_target_present(&t));
	t.health = PROV_HEALTH_INITIAL;
	assert_true(rc_target_present(&t));
	cm.health = PROV_HEALTH_DRAINING;
	assert_false(rc_classic_member_present(&cm));
	cm.health = PROV_HEALTH_UNHEALTHY;
	assert_true(rc_classic_member_present(&cm));
	assert_true(rc_health_counts(PROV_HEALTH_HEALTHY));
	assert_true(rc_health_counts(PROV_HEALTH_UNAVAILABLE));
	assert_false(rc_health_counts(PROV_HEALTH_INITIAL));
	assert_false(rc_health_counts(PROV_HEALTH_UNHEALTHY));
}

static void observe_keys(struct prov *p, const char *const *keys,
			 struct rc_world *w)
{
	struct rc_reads r = RC_READS_INIT;
	struct util_err err = UTIL_ERR_INIT;

	for (; *keys; keys++)
		assert_int_equal(rc_reads_add_key(&r, *keys, &err), 0);
	assert_int_equal(rc_observe(p, &r, NULL, w, &err), 0);
	rc_reads_release(&r);
}

static void test_group_members_and_fingerprints(void **state)
{
	static const char *const keys[] = { "tg:web-tg", "instance:" A,
					    "instance:i-00000099", NULL };
	struct prov *p = t_world();
	struct memprov *m = memprov_of(p);
	struct rc_world w = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char fp_tg[UTIL_SHA256_HEX_SIZE], fp_a[UTIL_SHA256_HEX_SIZE];
	char fp[UTIL_SHA256_HEX_SIZE], fp_gone[UTIL_SHA256_HEX_SIZE];
	char **mem;
	size_t n;

	(void)state;
	memprov_set_member(m, "web-tg", B, 8080, PROV_HEALTH_HEALTHY);
	memprov_set_member(m, "web-tg", A, 8080, PROV_HEALTH_UNHEALTHY);
	memprov_set_member(m, "web-tg", C, 8080, PROV_HEALTH_DRAINING);
	observe_keys(p, keys, &w);
	rc_group_members(rc_world_group(&w, SPEC_LB_TARGET_GROUP, "web-tg"),
			 &mem, &n);
	/* Present members only, sorted, as ID:PORT. */
	assert_int_equal(n, 2);
	assert_string_equal(mem[0], A ":8080");
	assert_string_equal(mem[1], B ":8080");
	assert_int_equal(rc_fingerprint(&w, "tg:web-tg", fp_tg, &err), 0);
	assert_int_equal(strlen(fp_tg), 64);
	/* The predicted fingerprint of the same member set is the same. */
	rc_fp_group_members(rc_world_group(&w, SPEC_LB_TARGET_GROUP, "web-tg"),
			    mem, n, fp);
	assert_string_equal(fp, fp_tg);
	util_strv_free(mem, n);
	assert_int_equal(rc_fingerprint(&w, "instance:" A, fp_a, &err), 0);
	assert_int_equal(rc_fingerprint(&w, "instance:i-00000099", fp_gone,
					&err),
			 0);
	assert_string_not_equal(fp_gone, fp_a);
	assert_int_equal(rc_fingerprint(&w, "nonsense", fp, &err), UTIL_EINVAL);
	rc_world_release(&w);

	/* Health is not part of a group's fingerprint; state is an instance's. */
	memprov_set_member(m, "web-tg", A, 8080, PROV_HEALTH_HEALTHY);
	memprov_set_instance_state(m, A, "stopped");
	observe_keys(p, keys, &w);
	assert_int_equal(rc_fingerprint(&w, "tg:web-tg", fp, &err), 0);
	assert_string_equal(fp, fp_tg);
	assert_int_equal(rc_fingerprint(&w, "instance:" A, fp, &err), 0);
	assert_string_not_equal(fp, fp_a);
	rc_world_release(&w);

	/* Membership is. */
	memprov_remove_member(m, "web-tg", B, 8080);
	observe_keys(p, keys, &w);
	assert_int_equal(rc_fingerprint(&w, "tg:web-tg", fp, &err), 0);
	assert_string_not_equal(fp, fp_tg);
	rc_world_release(&w);
	prov_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_from_spec),
		cmocka_unit_test(test_reads_from_spec_subset),
		cmocka_unit_test(test_selector_canonical),
		cmocka_unit_test(test_reads_add_key),
		cmocka_unit_test(test_world_from_answers),
		cmocka_unit_test(test_errors_name_the_read),
		cmocka_unit_test(test_membership),
		cmocka_unit_test(test_group_members_and_fingerprints),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
