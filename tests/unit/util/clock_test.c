#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "util/clock.h"

static void test_iso8601_roundtrip(void **state)
{
	char out[32];
	time_t t = 0;

	(void)state;
	assert_string_equal(util_time_iso8601(1440938160, out, sizeof(out)),
			    "2015-08-30T12:36:00Z");
	assert_int_equal(util_time_parse_iso8601("2015-08-30T12:36:00Z", &t),
			 0);
	assert_int_equal(t, 1440938160);
	/* STS and IMDS send fractions and offsets; both mean UTC here. */
	assert_int_equal(util_time_parse_iso8601("2015-08-30T12:36:00.123Z",
						 &t),
			 0);
	assert_int_equal(t, 1440938160);
	assert_int_equal(util_time_parse_iso8601("2015-08-30T12:36:00+00:00",
						 &t),
			 0);
	assert_int_equal(t, 1440938160);
}

static void test_iso8601_rejects(void **state)
{
	time_t t = 42;

	(void)state;
	assert_int_equal(util_time_parse_iso8601("2015-08-30", &t), -1);
	assert_int_equal(util_time_parse_iso8601("2015-08-30T12:36:00", &t),
			 -1);
	assert_int_equal(util_time_parse_iso8601("2015-08-30T12:36:00+02:00",
						 &t),
			 -1);
	assert_int_equal(util_time_parse_iso8601("garbage", &t), -1);
	assert_int_equal(t, 42);
}

static void test_iso8601_ms(void **state)
{
	struct timespec ts = { .tv_sec = 1440938160, .tv_nsec = 123456789 };
	char out[32];

	(void)state;
	assert_string_equal(util_time_iso8601_ms(&ts, out, sizeof(out)),
			    "2015-08-30T12:36:00.123Z");
	/* Milliseconds are cut, not rounded up into the next second. */
	ts.tv_nsec = 999999999;
	assert_string_equal(util_time_iso8601_ms(&ts, out, sizeof(out)),
			    "2015-08-30T12:36:00.999Z");
	ts.tv_sec = 0;
	ts.tv_nsec = 0;
	assert_string_equal(util_time_iso8601_ms(&ts, out, sizeof(out)),
			    "1970-01-01T00:00:00.000Z");
}

static void test_monotonic_advances(void **state)
{
	uint64_t a, b;

	(void)state;
	a = util_clock_system.mono_ms(NULL);
	util_clock_system.sleep_ms(NULL, 5);
	b = util_clock_system.mono_ms(NULL);
	assert_true(b >= a + 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso8601_roundtrip),
		cmocka_unit_test(test_iso8601_rejects),
		cmocka_unit_test(test_iso8601_ms),
		cmocka_unit_test(test_monotonic_advances),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
