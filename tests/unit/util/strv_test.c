#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/strv.h"

static void test_push_copies_and_grows(void **state)
{
	char **v = NULL;
	size_t n = 0;
	char s[16];

	(void)state;
	/* Past several doublings; every element is its own copy. */
	for (int i = 0; i < 100; i++) {
		snprintf(s, sizeof(s), "s%d", i);
		util_strv_push(&v, &n, s);
	}
	assert_int_equal(n, 100);
	for (int i = 0; i < 100; i++) {
		snprintf(s, sizeof(s), "s%d", i);
		assert_string_equal(v[i], s);
		assert_ptr_not_equal(v[i], s);
	}
	util_strv_free(v, n);
	util_strv_free(NULL, 0);
}

static void test_sort_uniq_and_contains(void **state)
{
	static const char *const in[] = { "b", "a", "c", "a", "b", "b" };
	char **v = NULL;
	size_t n = 0;

	(void)state;
	util_strv_sort_uniq(v, &n);
	assert_int_equal(n, 0);
	assert_false(util_strv_contains(v, n, "a"));
	for (size_t i = 0; i < ARRAY_SIZE(in); i++)
		util_strv_push(&v, &n, in[i]);
	util_strv_sort_uniq(v, &n);
	assert_int_equal(n, 3);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "c");
	assert_true(util_strv_contains(v, n, "a"));
	assert_true(util_strv_contains(v, n, "c"));
	assert_false(util_strv_contains(v, n, "bb"));
	util_strv_free(v, n);
}

static void test_has_any_order(void **state)
{
	char **v = NULL;
	size_t n = 0;

	(void)state;
	assert_false(util_strv_has(v, n, "x"));
	util_strv_push(&v, &n, "z");
	util_strv_push(&v, &n, "x");
	assert_true(util_strv_has(v, n, "x"));
	assert_true(util_strv_has(v, n, "z"));
	assert_false(util_strv_has(v, n, "y"));
	util_strv_free(v, n);
}

static void test_cmp(void **state)
{
	const char *a = "a", *b = "b";

	(void)state;
	assert_true(util_strv_cmp(&a, &b) < 0);
	assert_true(util_strv_cmp(&b, &a) > 0);
	assert_int_equal(util_strv_cmp(&a, &a), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_copies_and_grows),
		cmocka_unit_test(test_sort_uniq_and_contains),
		cmocka_unit_test(test_has_any_order),
		cmocka_unit_test(test_cmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
