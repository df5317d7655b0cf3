/*
 * Environment lookup: the table the tests inject, the process environment,
 * and the two readings the SDKs give a value (empty = unset, "true").
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "providers/aws/env.h"

static void test_table_lookup(void **state)
{
	const char *vars[] = { "AWS_REGION=eu-west-1", "AWS=short",
			       "AWS_REGION_X=no", "EMPTY=", NULL };
	struct awsp_env env = { awsp_env_table_get, vars };

	(void)state;
	assert_string_equal(awsp_getenv(&env, "AWS_REGION"), "eu-west-1");
	/* A name that is a prefix of another entry's name is not it. */
	assert_string_equal(awsp_getenv(&env, "AWS"), "short");
	assert_null(awsp_getenv(&env, "AWS_REG"));
	assert_null(awsp_getenv(&env, "NOPE"));
	assert_string_equal(awsp_getenv(&env, "EMPTY"), "");
}

static void test_table_last_wins(void **state)
{
	const char *vars[] = { "K=first", "OTHER=x", "K=second", NULL };
	struct awsp_env env = { awsp_env_table_get, vars };

	(void)state;
	assert_string_equal(awsp_getenv(&env, "K"), "second");
}

static void test_table_null_is_empty(void **state)
{
	struct awsp_env env = { awsp_env_table_get, NULL };

	(void)state;
	assert_null(awsp_getenv(&env, "K"));
}

static void test_nonempty(void **state)
{
	const char *vars[] = { "SET=v", "EMPTY=", NULL };
	struct awsp_env env = { awsp_env_table_get, vars };

	(void)state;
	assert_string_equal(awsp_getenv_nonempty(&env, "SET"), "v");
	assert_null(awsp_getenv_nonempty(&env, "EMPTY"));
	assert_null(awsp_getenv_nonempty(&env, "UNSET"));
}

static void test_true(void **state)
{
	const char *vars[] = { "A=true", "B=TRUE", "C=True",  "D=1",
			       "E=yes",	 "F=",	   "G=truex", NULL };
	struct awsp_env env = { awsp_env_table_get, vars };

	(void)state;
	assert_true(awsp_env_true(&env, "A"));
	assert_true(awsp_env_true(&env, "B"));
	assert_true(awsp_env_true(&env, "C"));
	assert_false(awsp_env_true(&env, "D"));
	assert_false(awsp_env_true(&env, "E"));
	assert_false(awsp_env_true(&env, "F"));
	assert_false(awsp_env_true(&env, "G"));
	assert_false(awsp_env_true(&env, "UNSET"));
}

static void test_process(void **state)
{
	(void)state;
	assert_int_equal(setenv("MOOR_ENV_TEST", "from-process", 1), 0);
	assert_string_equal(awsp_getenv(&awsp_env_process, "MOOR_ENV_TEST"),
			    "from-process");
	assert_int_equal(unsetenv("MOOR_ENV_TEST"), 0);
	assert_null(awsp_getenv(&awsp_env_process, "MOOR_ENV_TEST"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_lookup),
		cmocka_unit_test(test_table_last_wins),
		cmocka_unit_test(test_table_null_is_empty),
		cmocka_unit_test(test_nonempty),
		cmocka_unit_test(test_true),
		cmocka_unit_test(test_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
