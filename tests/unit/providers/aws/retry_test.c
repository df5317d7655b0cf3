#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "providers/aws/retry.h"
#include "util/array.h"

static void test_throttling_codes(void **state)
{
	static const char *const yes[] = {
		"Throttling",
		"ThrottlingException",
		"RequestLimitExceeded",
		"Client.RequestLimitExceeded",
		"EC2ThrottledException",
		"TooManyRequestsException",
		"SlowDown",
		"PriorRequestNotComplete",
		"ProvisionedThroughputExceededException",
		"BandwidthLimitExceeded",
		"RequestThrottled",
	};
	static const char *const no[] = {
		"",
		"ThrottlingX",
		"throttling",
		"Client.",
		"InternalError",
		NULL,
		"AddressLimitExceeded",
		"DependencyThrottle",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		assert_true(awsp_retry_is_throttling(yes[i]));
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		assert_false(awsp_retry_is_throttling(no[i]));
	assert_true(awsp_retry_is_transient("RequestTimeout"));
	assert_true(awsp_retry_is_transient("RequestTimeoutException"));
	assert_true(awsp_retry_is_transient("IDPCommunicationError"));
	assert_false(awsp_retry_is_transient("InvalidParameterValue"));
}

static void test_classify(void **state)
{
	static const struct {
		long status;
		const char *code;
		enum awsp_retry_class want;
	} cases[] = {
		{ 200, NULL, AWSP_RETRY_NO },
		{ 200, "Throttling", AWSP_RETRY_NO },
		{ 400, "Throttling", AWSP_RETRY_THROTTLING },
		{ 503, "RequestLimitExceeded", AWSP_RETRY_THROTTLING },
		{ 429, NULL, AWSP_RETRY_THROTTLING },
		{ 500, NULL, AWSP_RETRY_TRANSIENT },
		{ 500, "InternalError", AWSP_RETRY_TRANSIENT },
		{ 502, NULL, AWSP_RETRY_TRANSIENT },
		{ 503, "ServiceUnavailable", AWSP_RETRY_TRANSIENT },
		{ 504, NULL, AWSP_RETRY_TRANSIENT },
		{ 400, "RequestTimeout", AWSP_RETRY_TRANSIENT },
		{ 400, "TransactionConflictException", AWSP_RETRY_TRANSIENT },
		{ 400, "ProvisionedThroughputExceededException",
		  AWSP_RETRY_THROTTLING },
		{ 400, "ThrottlingException", AWSP_RETRY_THROTTLING },
		{ 400, "RequestLimitExceeded", AWSP_RETRY_THROTTLING },
		{ 400, "ConditionalCheckFailedException", AWSP_RETRY_NO },
		{ 400, "ResourceNotFoundException", AWSP_RETRY_NO },
		{ 501, NULL, AWSP_RETRY_NO },
		{ 505, NULL, AWSP_RETRY_NO },
		{ 400, "InvalidParameterValue", AWSP_RETRY_NO },
		{ 401, "AuthFailure", AWSP_RETRY_NO },
		{ 403, "UnauthorizedOperation", AWSP_RETRY_NO },
		{ 400, "InvalidInstanceID.NotFound", AWSP_RETRY_NO },
		{ 404, NULL, AWSP_RETRY_NO },
		{ 400, "DependencyThrottle", AWSP_RETRY_NO },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(awsp_retry_classify(cases[i].status,
						     cases[i].code),
				 cases[i].want);
	assert_string_equal(awsp_retry_class_name(AWSP_RETRY_THROTTLING),
			    "throttling");
	assert_string_equal(awsp_retry_class_name(AWSP_RETRY_TIMEOUT),
			    "timeout");
}

static void test_delay(void **state)
{
	(void)state;
	/* rand * min(2^(n-1), 20) s */
	assert_int_equal(awsp_retry_delay_ms(1, 0.5), 500);
	assert_int_equal(awsp_retry_delay_ms(2, 0.5), 1000);
	assert_int_equal(awsp_retry_delay_ms(3, 0.25), 1000);
	assert_int_equal(awsp_retry_delay_ms(5, 0.5), 8000);
	assert_int_equal(awsp_retry_delay_ms(6, 0.5), 10000); /* capped 20 */
	assert_int_equal(awsp_retry_delay_ms(60, 0.5), 10000);
	assert_int_equal(awsp_retry_delay_ms(4000000000u, 0.5), 10000);
	assert_int_equal(awsp_retry_delay_ms(1, 0.0), 0);
	assert_true(awsp_retry_delay_ms(30, 0.9999999) < 20000);
	assert_true(awsp_retry_delay_ms(30, 0.9999999) >= 19990);
	/* Out-of-range random values are clamped, never amplified. */
	assert_true(awsp_retry_delay_ms(1, 7.0) < 1000);
	assert_int_equal(awsp_retry_delay_ms(1, -1.0), 0);
	assert_int_equal(awsp_retry_delay_ms(0, 0.5), 500);
}

static void test_quota(void **state)
{
	struct awsp_retry_quota q;
	unsigned cost = 0;

	(void)state;
	awsp_retry_quota_init(&q, AWSP_RETRY_QUOTA_CAPACITY);
	assert_int_equal(awsp_retry_quota_available(&q), 500);
	assert_true(awsp_retry_quota_acquire(&q, false, &cost));
	assert_int_equal(cost, 5);
	assert_true(awsp_retry_quota_acquire(&q, true, &cost));
	assert_int_equal(cost, 10);
	assert_int_equal(awsp_retry_quota_available(&q), 485);
	/* Success after a retry refunds that retry's cost. */
	awsp_retry_quota_success(&q, 10);
	assert_int_equal(awsp_retry_quota_available(&q), 495);
	/* Success without retries adds one, never beyond capacity. */
	awsp_retry_quota_success(&q, 0);
	assert_int_equal(awsp_retry_quota_available(&q), 496);
	for (int i = 0; i < 10; i++)
		awsp_retry_quota_success(&q, 0);
	assert_int_equal(awsp_retry_quota_available(&q), 500);
	awsp_retry_quota_success(&q, 10);
	assert_int_equal(awsp_retry_quota_available(&q), 500);

	/* Drain: 100 retries of 5 empty it; the next is refused. */
	for (int i = 0; i < 100; i++)
		assert_true(awsp_retry_quota_acquire(&q, false, &cost));
	assert_int_equal(awsp_retry_quota_available(&q), 0);
	cost = 77;
	assert_false(awsp_retry_quota_acquire(&q, false, &cost));
	assert_int_equal(cost, 77);
	/* 7 tokens cover a normal retry but not a timeout retry. */
	for (int i = 0; i < 7; i++)
		awsp_retry_quota_success(&q, 0);
	assert_false(awsp_retry_quota_acquire(&q, true, &cost));
	assert_int_equal(awsp_retry_quota_available(&q), 7);
	assert_true(awsp_retry_quota_acquire(&q, false, &cost));
	assert_int_equal(awsp_retry_quota_available(&q), 2);
	awsp_retry_quota_destroy(&q);
}

static void test_parse_max_attempts(void **state)
{
	struct util_err err = UTIL_ERR_INIT;
	unsigned v = 0;

	(void)state;
	assert_int_equal(awsp_retry_parse_max_attempts("1", &v, &err), 0);
	assert_int_equal(v, 1);
	assert_int_equal(awsp_retry_parse_max_attempts("10", &v, &err), 0);
	assert_int_equal(v, 10);
	static const char *const bad[] = { "0", "-1", "", "x", "101", "3 " };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		util_err_clear(&err);
		v = 42;
		assert_int_equal(awsp_retry_parse_max_attempts(bad[i], &v,
							       &err),
				 UTIL_EINVAL);
		assert_int_equal(v, 42);
		assert_non_null(strstr(err.msg, "max attempts"));
	}
}

static void test_system_random(void **state)
{
	double seen_lo = 1, seen_hi = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		double v = awsp_random_system.next(awsp_random_system.ctx);

		assert_true(v >= 0 && v < 1);
		if (v < seen_lo)
			seen_lo = v;
		if (v > seen_hi)
			seen_hi = v;
	}
	/* 1000 uniform draws all in one half would be a broken source. */
	assert_true(seen_lo < 0.5 && seen_hi > 0.5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_throttling_codes),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_delay),
		cmocka_unit_test(test_quota),
		cmocka_unit_test(test_parse_max_attempts),
		cmocka_unit_test(test_system_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
