#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "util/array.h"
#include "util/err.h"
#include "util/parse.h"

static void test_durations_valid(void **state)
{
	static const struct {
		const char *in;
		uint64_t ms;
	} cases[] = {
		{ "500ms", 500 },   { "30s", 30000 },	{ "5m", 300000 },
		{ "1h", 3600000 },  { "1m30s", 90000 }, { "1.5s", 1500 },
		{ "0s", 0 },	    { "0.25s", 250 },	{ "2h1ms", 7200001 },
		{ "1d", 86400000 }, { "0.5m", 30000 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct util_err err = UTIL_ERR_INIT;
		uint64_t ms = 12345;

		assert_int_equal(util_duration_parse(cases[i].in, &ms, &err),
				 0);
		assert_int_equal(ms, cases[i].ms);
		assert_false(util_err_isset(&err));
	}
}

static void test_durations_invalid(void **state)
{
	static const struct {
		const char *in;
		const char *msg;
	} cases[] = {
		{ "", "empty duration" },
		{ "30", "has no unit" },
		{ "-5s", "invalid duration" },
		{ "5 s", "invalid duration" },
		{ "5min", "invalid duration" },
		{ "s", "invalid duration" },
		{ "1.0001s", "finer than a millisecond" },
		{ "99999999999999999999h", "too large" },
		{ "5000000000000d", "too large" },
		{ "1s1", "has no unit" },
		{ ".s", "invalid duration" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct util_err err = UTIL_ERR_INIT;
		uint64_t ms = 7;

		assert_int_equal(util_duration_parse(cases[i].in, &ms, &err),
				 UTIL_EINVAL);
		assert_int_equal(ms, 7);
		if (!strstr(err.msg, cases[i].msg))
			fail_msg("'%s': got '%s'", cases[i].in, err.msg);
	}
}

static void test_duration_format_roundtrip(void **state)
{
	static const uint64_t v[] = {
		0, 1, 500, 1000, 90000, 3600000, 3600001, 86400000 + 1500
	};
	char out[32];

	(void)state;
	assert_string_equal(util_duration_format(90000, out, sizeof(out)),
			    "1m30s");
	assert_string_equal(util_duration_format(1500, out, sizeof(out)),
			    "1s500ms");
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		uint64_t back = 0;

		util_duration_format(v[i], out, sizeof(out));
		assert_int_equal(util_duration_parse(out, &back, NULL), 0);
		assert_int_equal(back, v[i]);
	}
}

static void test_numbers(void **state)
{
	struct util_err err = UTIL_ERR_INIT;
	uint64_t u = 0;
	int64_t s = 0;
	int i = 0;

	(void)state;
	assert_int_equal(util_parse_u64("18446744073709551615", UINT64_MAX, &u,
					NULL),
			 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(util_parse_u64("18446744073709551616", UINT64_MAX, &u,
					NULL),
			 UTIL_EINVAL);
	assert_int_equal(util_parse_u64("-1", UINT64_MAX, &u, NULL),
			 UTIL_EINVAL);
	assert_int_equal(util_parse_u64(" 1", 10, &u, NULL), UTIL_EINVAL);
	assert_int_equal(util_parse_u64("11", 10, &u, NULL), UTIL_EINVAL);
	assert_int_equal(util_parse_i64("-42", -100, 100, &s, NULL), 0);
	assert_int_equal(s, -42);
	assert_int_equal(util_parse_int("65536", 1, 65535, &i, &err),
			 UTIL_EINVAL);
	assert_string_equal(err.msg, "invalid number '65536'");
	assert_int_equal(util_parse_int("8080", 1, 65535, &i, NULL), 0);
	assert_int_equal(i, 8080);
	assert_int_equal(util_parse_int("80x", 1, 65535, &i, NULL),
			 UTIL_EINVAL);
	assert_int_equal(util_parse_int("", 1, 65535, &i, NULL), UTIL_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations_valid),
		cmocka_unit_test(test_durations_invalid),
		cmocka_unit_test(test_duration_format_roundtrip),
		cmocka_unit_test(test_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
