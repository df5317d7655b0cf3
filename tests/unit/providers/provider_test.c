/*
 * providers/provider.c: freeing a provider through its ops, releasing
 * results (filled for real by the in-memory provider), tag lookup, and
 * the names of instance states, health values and target types.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "providers/provider.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/err.h"
#include "util/banned.h"

/* Release functions leave their struct zeroed (so a second call is safe). */
static void assert_zeroed(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			fail_msg("byte %zu of %zu is not zero", i, n);
}

static struct prov *s_freed;
static int s_n_freed;

static void count_free(struct prov *p)
{
	s_freed = p;
	s_n_freed++;
}

static void test_free_calls_the_ops(void **state)
{
	static const struct prov_ops counting = { .name = "counting",
						  .free = count_free };
	static const struct prov_ops no_free = { .name = "no-free" };
	struct prov p = { .ops = &counting };
	struct prov q = { .ops = &no_free };
	struct prov r = { .ops = NULL };

	(void)state;
	s_freed = NULL;
	s_n_freed = 0;
	prov_free(&p);
	assert_int_equal(s_n_freed, 1);
	assert_ptr_equal(s_freed, &p);
	/* NULL, no ops, no free op: nothing to call, nothing called. */
	prov_free(NULL);
	prov_free(&q);
	prov_free(&r);
	assert_int_equal(s_n_freed, 1);
	/* The in-memory provider frees itself (leaks show under ASan). */
	prov_free(t_world());
}

static void test_tag_get(void **state)
{
	char name[] = "Name", vip[] = "vip-web", orphan[] = "orphan";
	char empty[] = "empty", role[] = "role", web[] = "web", db[] = "db";
	struct prov_tag tags[] = {
		{ .key = name, .value = vip },
		{ .key = NULL, .value = orphan },
		{ .key = empty, .value = NULL },
		{ .key = role, .value = web },
		{ .key = role, .value = db },
	};

	(void)state;
	assert_string_equal(prov_tag_get(tags, ARRAY_SIZE(tags), "Name"),
			    "vip-web");
	/* A tag without a value is present, as "". */
	assert_string_equal(prov_tag_get(tags, ARRAY_SIZE(tags), "empty"), "");
	/* The first of two with one key; keys compare exactly. */
	assert_string_equal(prov_tag_get(tags, ARRAY_SIZE(tags), "role"),
			    "web");
	assert_null(prov_tag_get(tags, ARRAY_SIZE(tags), "name"));
	assert_null(prov_tag_get(tags, ARRAY_SIZE(tags), "missing"));
	/* Only the first n tags count. */
	assert_null(prov_tag_get(tags, 1, "role"));
	assert_null(prov_tag_get(NULL, 0, "Name"));
}

static void test_instance_states(void **state)
{
	static const struct {
		enum prov_instance_state s;
		const char *name;
	} states[] = {
		{ PROV_INSTANCE_PENDING, "pending" },
		{ PROV_INSTANCE_RUNNING, "running" },
		{ PROV_INSTANCE_SHUTTING_DOWN, "shutting-down" },
		{ PROV_INSTANCE_TERMINATED, "terminated" },
		{ PROV_INSTANCE_STOPPING, "stopping" },
		{ PROV_INSTANCE_STOPPED, "stopped" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(states); i++) {
		assert_string_equal(prov_instance_state_name(states[i].s),
				    states[i].name);
		assert_int_equal(prov_instance_state_parse(states[i].name),
				 states[i].s);
	}
	assert_string_equal(prov_instance_state_name(PROV_INSTANCE_UNKNOWN),
			    "unknown");
	assert_string_equal(prov_instance_state_name(
				    (enum prov_instance_state)99),
			    "unknown");
	/* AWS's words exactly: anything else is unknown. */
	assert_int_equal(prov_instance_state_parse("Running"),
			 PROV_INSTANCE_UNKNOWN);
	assert_int_equal(prov_instance_state_parse("shutting_down"),
			 PROV_INSTANCE_UNKNOWN);
	assert_int_equal(prov_instance_state_parse(""), PROV_INSTANCE_UNKNOWN);
	assert_int_equal(prov_instance_state_parse(NULL),
			 PROV_INSTANCE_UNKNOWN);
}

static void test_health_names(void **state)
{
	static const struct {
		enum prov_health h;
		const char *name;
	} health[] = {
		{ PROV_HEALTH_UNKNOWN, "unknown" },
		{ PROV_HEALTH_INITIAL, "initial" },
		{ PROV_HEALTH_HEALTHY, "healthy" },
		{ PROV_HEALTH_UNHEALTHY, "unhealthy" },
		{ PROV_HEALTH_DRAINING, "draining" },
		{ PROV_HEALTH_UNUSED, "unused" },
		{ PROV_HEALTH_UNAVAILABLE, "unavailable" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(health); i++)
		assert_string_equal(prov_health_name(health[i].h),
				    health[i].name);
	assert_string_equal(prov_health_name((enum prov_health)99), "unknown");
}

static void test_target_types(void **state)
{
	static const struct {
		enum prov_target_type t;
		const char *name;
	} types[] = {
		{ PROV_TARGET_INSTANCE, "instance" },
		{ PROV_TARGET_IP, "ip" },
		{ PROV_TARGET_LAMBDA, "lambda" },
		{ PROV_TARGET_ALB, "alb" },
	};
	enum prov_target_type t;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		assert_string_equal(prov_target_type_name(types[i].t),
				    types[i].name);
		t = PROV_TARGET_ALB;
		assert_int_equal(prov_target_type_parse(types[i].name, &t), 0);
		assert_int_equal(t, types[i].t);
	}
	assert_string_equal(prov_target_type_name((enum prov_target_type)99),
			    "unknown");
	/* A word it does not know: -1, and *ret untouched. */
	t = PROV_TARGET_LAMBDA;
	assert_int_equal(prov_target_type_parse("Instance", &t), -1);
	assert_int_equal(prov_target_type_parse("", &t), -1);
	assert_int_equal(prov_target_type_parse(NULL, &t), -1);
	assert_int_equal(t, PROV_TARGET_LAMBDA);
}

/*
 * Every observe result, as a provider fills it, released: one element on
 * its own, then the list (which releases that element a second time).
 * Each is zeroed after and safe to release again; what was not freed
 * shows as a leak under ASan.
 */
static void test_release_observed(void **state)
{
	static const char *const ids[] = { "i-0000000a", "i-0000000b" };
	static const char *const enis[] = { "eni-0000000e" };
	static const char *const classics[] = { "web-classic" };
	static const char *const tgs[] = { "web-tg" };
	static const char *const allocs[] = { "eipalloc-0000000a" };
	static const char *const vpcs[] = { "vpc-1" };
	struct prov_address_query q = { .allocation_ids = allocs,
					.n_allocation_ids = 1 };
	struct util_err err = UTIL_ERR_INIT;
	struct prov *p = t_world();
	struct prov_identity id = { 0 };
	struct prov_instance_list il = { 0 };
	struct prov_eni_list el = { 0 };
	struct prov_classic_lb_list cl = { 0 };
	struct prov_target_group_list tl = { 0 };
	struct prov_lb_list ll = { 0 };
	struct prov_address_list al = { 0 };
	struct prov_vpc_list vl = { 0 };

	(void)state;
	assert_int_equal(p->ops->identity(p, &id, &err), 0);
	assert_non_null(id.account);
	prov_identity_release(&id);
	assert_zeroed(&id, sizeof(id));
	prov_identity_release(&id);

	assert_int_equal(p->ops->instances_by_id(p, ids, 2, &il, &err), 0);
	assert_int_equal(il.n, 2);
	assert_true(il.v[0].n_tags > 0);
	assert_true(il.v[0].n_enis > 0);
	prov_instance_release(&il.v[1]);
	assert_zeroed(&il.v[1], sizeof(il.v[1]));
	prov_instance_list_release(&il);
	assert_zeroed(&il, sizeof(il));
	prov_instance_list_release(&il);

	assert_int_equal(p->ops->enis_by_id(p, enis, 1, &el, &err), 0);
	assert_int_equal(el.n, 1);
	prov_eni_release(&el.v[0]);
	assert_zeroed(&el.v[0], sizeof(el.v[0]));
	prov_eni_list_release(&el);
	assert_zeroed(&el, sizeof(el));
	prov_eni_list_release(&el);

	/* Everything read, so every field the release frees is filled. */
	assert_int_equal(p->ops->classic_lbs(p, classics, 1, PROV_READ_HEALTH,
					     &cl, &err),
			 0);
	assert_int_equal(cl.n, 1);
	assert_true(cl.v[0].n_azs > 0);
	prov_classic_lb_release(&cl.v[0]);
	assert_zeroed(&cl.v[0], sizeof(cl.v[0]));
	prov_classic_lb_list_release(&cl);
	assert_zeroed(&cl, sizeof(cl));
	prov_classic_lb_list_release(&cl);

	assert_int_equal(p->ops->target_groups(p, tgs, 1, PROV_READ_DELAY, &tl,
					       &err),
			 0);
	assert_int_equal(tl.n, 1);
	assert_int_equal(tl.v[0].n_lb_arns, 1);
	assert_int_equal(p->ops->lbs_v2(p, (const char *const *)tl.v[0].lb_arns,
					1, &ll, &err),
			 0);
	assert_int_equal(ll.n, 1);
	prov_target_group_release(&tl.v[0]);
	assert_zeroed(&tl.v[0], sizeof(tl.v[0]));
	prov_target_group_list_release(&tl);
	assert_zeroed(&tl, sizeof(tl));
	prov_target_group_list_release(&tl);
	prov_lb_release(&ll.v[0]);
	assert_zeroed(&ll.v[0], sizeof(ll.v[0]));
	prov_lb_list_release(&ll);
	assert_zeroed(&ll, sizeof(ll));
	prov_lb_list_release(&ll);

	assert_int_equal(p->ops->addresses(p, &q, &al, &err), 0);
	assert_int_equal(al.n, 1);
	assert_true(al.v[0].n_tags > 0);
	prov_address_release(&al.v[0]);
	assert_zeroed(&al.v[0], sizeof(al.v[0]));
	prov_address_list_release(&al);
	assert_zeroed(&al, sizeof(al));
	prov_address_list_release(&al);

	assert_int_equal(p->ops->vpcs(p, vpcs, 1, &vl, &err), 0);
	assert_int_equal(vl.n, 1);
	prov_vpc_list_release(&vl);
	assert_zeroed(&vl, sizeof(vl));
	prov_vpc_list_release(&vl);
	prov_free(p);
}

/* Each member release on its own, from hand-built structs. */
static void test_release_members(void **state)
{
	struct prov_classic_member cm = {
		.instance_id = util_xstrdup("i-0000000a"),
		.state = util_xstrdup("InService"),
		.reason_code = util_xstrdup("N/A"),
		.description = util_xstrdup("N/A"),
	};
	struct prov_target t = {
		.id = util_xstrdup("i-0000000a"),
		.az = util_xstrdup("us-east-1a"),
		.state = util_xstrdup("healthy"),
		.reason = util_xstrdup("Target.ResponseCodeMismatch"),
		.description = util_xstrdup("Health checks failed"),
	};
	struct prov_tag *tags = util_xcalloc(2, sizeof(*tags));

	(void)state;
	prov_classic_member_release(&cm);
	assert_zeroed(&cm, sizeof(cm));
	prov_classic_member_release(&cm);
	prov_target_release(&t);
	assert_zeroed(&t, sizeof(t));
	prov_target_release(&t);
	/* Tags with either half missing. */
	tags[0].key = util_xstrdup("Name");
	tags[1].value = util_xstrdup("orphan");
	prov_tag_array_free(tags, 2);
	prov_tag_array_free(NULL, 0);
}

/* Every release accepts NULL. */
static void test_release_null(void **state)
{
	(void)state;
	prov_eni_release(NULL);
	prov_instance_release(NULL);
	prov_instance_list_release(NULL);
	prov_eni_list_release(NULL);
	prov_classic_member_release(NULL);
	prov_classic_lb_release(NULL);
	prov_classic_lb_list_release(NULL);
	prov_target_release(NULL);
	prov_target_group_release(NULL);
	prov_target_group_list_release(NULL);
	prov_lb_release(NULL);
	prov_lb_list_release(NULL);
	prov_vpc_list_release(NULL);
	prov_address_release(NULL);
	prov_address_list_release(NULL);
	prov_identity_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_free_calls_the_ops),
		cmocka_unit_test(test_tag_get),
		cmocka_unit_test(test_instance_states),
		cmocka_unit_test(test_health_names),
		cmocka_unit_test(test_target_types),
		cmocka_unit_test(test_release_observed),
		cmocka_unit_test(test_release_members),
		cmocka_unit_test(test_release_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
