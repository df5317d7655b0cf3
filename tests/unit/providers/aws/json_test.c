#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "providers/aws/json.h"
#include "util/array.h"
#include "util/err.h"

static void parse(const char *s, struct awsp_aws_error *e, int want)
{
	assert_int_equal(awsp_json_parse_error(s, s ? strlen(s) : 0, e), want);
}

static void test_codes(void **state)
{
	struct awsp_aws_error e;

	(void)state;
	parse("{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
	      "ConditionalCheckFailedException\","
	      "\"message\":\"The conditional request failed\"}",
	      &e, 0);
	assert_string_equal(e.code, "ConditionalCheckFailedException");
	assert_string_equal(e.message, "The conditional request failed");
	assert_null(e.type);
	assert_null(e.request_id);
	awsp_aws_error_release(&e);

	/* "Message" (capital M), and no namespace. */
	parse("{\"__type\":\"ThrottlingException\",\"Message\":\"slow\"}", &e,
	      0);
	assert_string_equal(e.code, "ThrottlingException");
	assert_string_equal(e.message, "slow");
	awsp_aws_error_release(&e);

	/* No message at all. */
	parse("{\"__type\":\"a.b#ResourceNotFoundException\"}", &e, 0);
	assert_string_equal(e.code, "ResourceNotFoundException");
	assert_null(e.message);
	awsp_aws_error_release(&e);
}

static void test_not_errors(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"__type\":5}",
		"{\"__type\":\"ns#\"}",
		"{\"__type\":\"\"}",
		"{\"Item\":{}}",
		"{\"__type\":\"ns#Code\"",
	};
	struct awsp_aws_error e;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		parse(bad[i], &e, UTIL_EINVAL);
		assert_null(e.code);
		assert_null(e.message);
	}
	parse(NULL, &e, UTIL_EINVAL);
	/* The length bounds the parse: a valid prefix is not enough. */
	assert_int_equal(awsp_json_parse_error("{\"__type\":\"ns#C\"}", 5, &e),
			 UTIL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes),
		cmocka_unit_test(test_not_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
