#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/buf.h"
#include "util/err.h"

static char *render(const struct util_err *err, struct buf *b)
{
	buf_reset(b);
	util_err_format(err, b);
	return b->buf;
}

static void test_first_error_wins(void **state)
{
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	assert_false(util_err_isset(&err));
	assert_int_equal(util_err_set(&err, UTIL_ENOTFOUND, "no '%s'", "x"),
			 UTIL_ENOTFOUND);
	util_err_set(&err, UTIL_EFAIL, "later");
	assert_int_equal(err.code, UTIL_ENOTFOUND);
	assert_string_equal(err.msg, "no 'x'");
	util_err_clear(&err);
	assert_false(util_err_isset(&err));
}

static void test_spec_location(void **state)
{
	struct util_err err = UTIL_ERR_INIT;
	struct buf b = BUF_INIT;

	(void)state;
	util_err_set_loc(&err, "web.yaml", 3, 5,
			 "unknown key 'memebrs', did you mean 'members'?");
	assert_int_equal(err.code, UTIL_EINVAL);
	assert_string_equal(render(&err, &b),
			    "web.yaml:3:5: unknown key 'memebrs', did you mean "
			    "'members'?");
	buf_release(&b);
}

static void test_aws_error(void **state)
{
	struct util_err err = UTIL_ERR_INIT;
	struct buf b = BUF_INIT;

	(void)state;
	util_err_set_aws(&err, 400, "InvalidInstanceID.NotFound",
			 "The instance ID 'i-1' does not exist\n", "req-1", 0);
	util_err_prefix(&err, "describe instances");
	assert_int_equal(err.code, UTIL_EAWS);
	assert_string_equal(render(&err, &b),
			    "InvalidInstanceID.NotFound: describe instances: "
			    "The instance ID 'i-1' does not exist (HTTP 400, "
			    "request id req-1)");
	util_err_clear(&err);
	util_err_set_aws(&err, 503, NULL, NULL, NULL, UTIL_ERR_RETRYABLE);
	assert_true(err.flags & UTIL_ERR_RETRYABLE);
	assert_string_equal(render(&err, &b), "HTTP 503");
	buf_release(&b);
}

static void test_prefix_without_error_is_noop(void **state)
{
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	util_err_prefix(&err, "context");
	assert_false(util_err_isset(&err));
	assert_string_equal(err.msg, "");
}

static void test_copy_respects_first(void **state)
{
	struct util_err a = UTIL_ERR_INIT, b = UTIL_ERR_INIT;

	(void)state;
	util_err_set(&b, UTIL_ETIMEOUT, "timed out");
	util_err_copy(&a, &b);
	assert_int_equal(a.code, UTIL_ETIMEOUT);
	util_err_clear(&b);
	util_err_set(&b, UTIL_EIO, "io");
	util_err_copy(&a, &b);
	assert_string_equal(a.msg, "timed out");
	assert_string_equal(util_err_code_name(a.code), "timeout");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_spec_location),
		cmocka_unit_test(test_aws_error),
		cmocka_unit_test(test_prefix_without_error_is_noop),
		cmocka_unit_test(test_copy_respects_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
