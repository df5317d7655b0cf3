#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "util/err.h"
#include "util/fence.h"

struct gate {
	int open;
	uint64_t budget;
	unsigned asked;
};

static int gate_check(void *ctx, uint64_t *ret_budget_ms, struct util_err *err)
{
	struct gate *g = ctx;

	g->asked++;
	if (!g->open)
		return util_err_set(err, UTIL_EFENCED, "lease not held");
	*ret_budget_ms = g->budget;
	return 0;
}

static void test_no_fence_allows_everything(void **state)
{
	struct util_err err = UTIL_ERR_INIT;
	uint64_t budget = 0;

	(void)state;
	assert_int_equal(util_fence_check(&budget, &err), 0);
	assert_true(budget == UINT64_MAX);
	assert_int_equal(err.code, 0);
}

static void test_fence_answers_and_is_restored(void **state)
{
	struct gate g = { .open = 1, .budget = 1500 };
	struct util_fence f = { gate_check, &g };
	struct util_err err = UTIL_ERR_INIT;
	const struct util_fence *was;
	uint64_t budget = 0;

	(void)state;
	was = util_fence_set(&f);
	assert_null(was);
	assert_int_equal(util_fence_check(&budget, &err), 0);
	assert_true(budget == 1500);
	g.open = 0;
	assert_int_equal(util_fence_check(&budget, &err), UTIL_EFENCED);
	assert_int_equal(err.code, UTIL_EFENCED);
	assert_string_equal(util_err_code_name(err.code), "fenced");
	assert_ptr_equal(util_fence_set(was), &f);
	util_err_clear(&err);
	assert_int_equal(util_fence_check(&budget, &err), 0);
	assert_int_equal(g.asked, 2);
}

static void *other_thread(void *arg)
{
	uint64_t budget = 0;
	struct util_err err = UTIL_ERR_INIT;

	*(int *)arg = util_fence_check(&budget, &err);
	return NULL;
}

/* A fence holds for the thread that set it, not for the others. */
static void test_fence_is_per_thread(void **state)
{
	struct gate g = { .open = 0 };
	struct util_fence f = { gate_check, &g };
	pthread_t t;
	int r = -1;

	(void)state;
	util_fence_set(&f);
	assert_int_equal(pthread_create(&t, NULL, other_thread, &r), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	util_fence_set(NULL);
	assert_int_equal(r, 0);
	assert_int_equal(g.asked, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_fence_allows_everything),
		cmocka_unit_test(test_fence_answers_and_is_restored),
		cmocka_unit_test(test_fence_is_per_thread),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
