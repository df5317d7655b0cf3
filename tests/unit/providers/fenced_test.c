/*
 * providers/fenced.c: a closed fence stops mutating ops before anything
 * is sent; an open one is in force for the calling thread during the base
 * call and the previous fence is back afterwards; reads and lease ops
 * pass through (the lease ops' conditions as the in-memory provider
 * implements them are checked here through the wrapper).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>

#include "providers/fenced.h"
#include "providers/provider.h"
#include "tests/unit/support/memprov.h"
#include "util/err.h"
#include "util/fence.h"
#include "util/banned.h"

struct fx {
	bool open;
	unsigned checks;
	uint64_t seen_budget; /* util_fence_check inside the base call */
};

static int check(void *ctx, uint64_t *ret_budget_ms, struct util_err *err)
{
	struct fx *x = ctx;

	x->checks++;
	if (!x->open)
		return util_err_set(err, UTIL_EFENCED, "not the holder");
	*ret_budget_ms = 1234;
	return 0;
}

static void hook(void *ctx, struct memprov *m, const char *call)
{
	struct fx *x = ctx;
	struct util_err err = { 0 };

	(void)m;
	(void)call;
	assert_int_equal(util_fence_check(&x->seen_budget, &err), 0);
}

static void test_closed_sends_nothing(void **state)
{
	struct fx x = { .open = false };
	struct util_fence f = { check, &x };
	struct prov *base = memprov_new();
	struct prov *p = prov_fenced_new(base, &f);
	struct util_err err = { 0 };
	const char *ids[] = { "i-1" };

	(void)state;
	memprov_add_classic(memprov_of(base), "web", "vpc-1", "a");
	memprov_add_instance(memprov_of(base), "i-1", "running", "vpc-1", "a",
			     "10.0.0.1", NULL);
	assert_int_equal(p->ops->classic_register(p, "web", ids, 1, &err),
			 UTIL_EFENCED);
	assert_int_equal(x.checks, 1);
	assert_int_equal(memprov_n_calls(memprov_of(base)), 0);
	util_err_clear(&err);

	/* Reads go through a closed fence without asking it. */
	struct prov_instance_list l = { 0 };
	assert_int_equal(p->ops->instances_by_id(p, ids, 1, &l, &err), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(x.checks, 1);
	prov_instance_list_release(&l);
	prov_free(p);
	prov_free(base);
}

static void test_open_is_in_force_during_call(void **state)
{
	struct fx x = { .open = true };
	struct util_fence f = { check, &x };
	struct prov *base = memprov_new();
	struct prov *p = prov_fenced_new(base, &f);
	struct util_err err = { 0 };
	const char *ids[] = { "i-1" };
	uint64_t b = 0;

	(void)state;
	memprov_add_classic(memprov_of(base), "web", "vpc-1", "a");
	memprov_add_instance(memprov_of(base), "i-1", "running", "vpc-1", "a",
			     "10.0.0.1", NULL);
	memprov_set_hook(memprov_of(base), hook, &x);
	assert_int_equal(p->ops->classic_register(p, "web", ids, 1, &err), 0);
	assert_int_equal(memprov_count(memprov_of(base), "classic_register"),
			 1);
	assert_int_equal(x.seen_budget, 1234);
	/* 2 checks: the wrapper's and the one made inside the call. */
	assert_int_equal(x.checks, 2);
	/* The thread's previous fence (none) is back. */
	assert_int_equal(util_fence_check(&b, &err), 0);
	assert_true(b == UINT64_MAX);
	prov_free(p);
	prov_free(base);
}

static struct prov_lease_write W(const char *holder, const char *rvn) {
	struct prov_lease_write w = { .name = "s1",
				      .kind = PROV_LEASE_SPEC,
				      .holder = holder,
				      .rvn = rvn,
				      .duration_ms = 10000 };
	return w;
}

static void
test_leases_pass_through_closed_fence(void **state)
{
	struct fx x = { .open = false };
	struct util_fence f = { check, &x };
	struct prov *base = memprov_new();
	struct memprov *m = memprov_of(base);
	struct prov *p = prov_fenced_new(base, &f);
	struct util_err err = { 0 };
	struct prov_lease_write a = W("r1", "v1"), b = W("r2", "v2");
	struct prov_lease l = { 0 };
	struct prov_lease_list ll = { 0 };

	(void)state;
	assert_int_equal(p->ops->lease_table_check(p, "t", &err),
			 UTIL_ENOTFOUND);
	util_err_clear(&err);
	memprov_lease_table(m, "t", true);
	assert_int_equal(p->ops->lease_table_check(p, "t", &err), UTIL_EINVAL);
	util_err_clear(&err);
	memprov_lease_table(m, "t", false);
	assert_int_equal(p->ops->lease_table_check(p, "t", &err), 0);
	/* Absent: acquire with prev NULL; a second one loses. */
	assert_int_equal(p->ops->lease_acquire(p, "t", &a, NULL, &err), 0);
	assert_int_equal(p->ops->lease_acquire(p, "t", &b, NULL, &err),
			 UTIL_ECONFLICT);
	util_err_clear(&err);
	/* Renew needs holder and rvn. */
	assert_int_equal(p->ops->lease_renew(p, "t", &b, "v1", &err),
			 UTIL_ECONFLICT);
	util_err_clear(&err);
	a.rvn = "v3";
	assert_int_equal(p->ops->lease_renew(p, "t", &a, "v1", &err), 0);
	/* Takeover on the rvn seen. */
	assert_int_equal(p->ops->lease_acquire(p, "t", &b, "v1", &err),
			 UTIL_ECONFLICT);
	util_err_clear(&err);
	assert_int_equal(p->ops->lease_acquire(p, "t", &b, "v3", &err), 0);
	assert_int_equal(p->ops->lease_get(p, "t", "s1", &l, &err), 0);
	assert_string_equal(l.holder, "r2");
	assert_string_equal(l.rvn, "v2");
	prov_lease_release(&l);
	/* Release, then a fresh acquire with prev NULL. */
	assert_int_equal(p->ops->lease_release(p, "t", "s1", "r1", "v2", "v4",
					       &err),
			 UTIL_ECONFLICT);
	util_err_clear(&err);
	assert_int_equal(p->ops->lease_release(p, "t", "s1", "r2", "v2", "v4",
					       &err),
			 0);
	assert_int_equal(p->ops->lease_list(p, "t", &ll, &err), 0);
	assert_int_equal(ll.n, 1);
	assert_null(ll.v[0].holder);
	assert_string_equal(ll.v[0].rvn, "v4");
	prov_lease_list_release(&ll);
	a.rvn = "v5";
	assert_int_equal(p->ops->lease_acquire(p, "t", &a, NULL, &err), 0);
	/* A fault cuts one op off. */
	memprov_fail(m, "lease_renew", NULL, 1, "Throttled", 0, false);
	assert_int_equal(p->ops->lease_renew(p, "t", &a, "v5", &err),
			 UTIL_EAWS);
	util_err_clear(&err);
	assert_int_equal(p->ops->lease_renew(p, "t", &a, "v5", &err), 0);
	assert_int_equal(memprov_count(m, "lease_renew"), 4);
	assert_int_equal(x.checks, 0);
	assert_int_equal(p->ops->lease_get(p, "t", "nope", &l, &err),
			 UTIL_ENOTFOUND);
	util_err_clear(&err);
	prov_free(p);
	prov_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_closed_sends_nothing),
		cmocka_unit_test(test_open_is_in_force_during_call),
		cmocka_unit_test(test_leases_pass_through_closed_fence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
