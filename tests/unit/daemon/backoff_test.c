#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "reconciler/daemon/backoff.h"

static void test_exponential_capped(void **state)
{
	struct rc_backoff b;
	uint64_t now = 1000, want = 1000;

	(void)state;
	rc_backoff_init(&b, 1000, 300000);
	assert_true(rc_backoff_ready(&b, "tg:web", now));
	assert_int_equal(rc_backoff_next(&b, now), 0);
	for (int i = 0; i < 12; i++) {
		uint64_t d = rc_backoff_fail(&b, "tg:web", now);

		assert_int_equal(d, want);
		assert_int_equal(rc_backoff_failures(&b, "tg:web"),
				 (unsigned)i + 1);
		assert_false(rc_backoff_ready(&b, "tg:web", now));
		assert_false(rc_backoff_ready(&b, "tg:web", now + d - 1));
		assert_true(rc_backoff_ready(&b, "tg:web", now + d));
		assert_int_equal(rc_backoff_next(&b, now), now + d);
		now += d;
		want = want * 2 > 300000 ? 300000 : want * 2;
	}
	/* Capped at 5 minutes, whatever happens. */
	assert_int_equal(rc_backoff_fail(&b, "tg:web", now), 300000);
	/* Other keys are independent. */
	assert_true(rc_backoff_ready(&b, "eip:name:vip", now));
	assert_int_equal(rc_backoff_failures(&b, "eip:name:vip"), 0);
	/* A success forgets. */
	rc_backoff_ok(&b, "tg:web");
	assert_true(rc_backoff_ready(&b, "tg:web", now));
	assert_int_equal(rc_backoff_fail(&b, "tg:web", now), 1000);
	rc_backoff_release(&b);
}

static void test_next_and_clear(void **state)
{
	struct rc_backoff b;

	(void)state;
	rc_backoff_init(&b, 500, 100); /* max below base: raised to it */
	rc_backoff_fail(&b, "a", 0);
	rc_backoff_fail(&b, "b", 200);
	rc_backoff_fail(&b, "b", 200); /* still 500: capped */
	assert_int_equal(rc_backoff_next(&b, 0), 500);
	assert_int_equal(rc_backoff_next(&b, 500), 700);
	assert_int_equal(rc_backoff_next(&b, 700), 0);
	rc_backoff_ok(&b, "zzz"); /* unknown: nothing */
	rc_backoff_clear(&b);
	assert_true(rc_backoff_ready(&b, "b", 0));
	assert_int_equal(b.n, 0);
	rc_backoff_release(&b);
	rc_backoff_release(NULL);
}

static void test_jitter_bounds(void **state)
{
	(void)state;
	assert_int_equal(rc_jitter_ms(60000, 10, 0.0), 54000);
	assert_int_equal(rc_jitter_ms(60000, 10, 0.5), 60000);
	assert_int_equal(rc_jitter_ms(60000, 10, 1.0), 66000);
	assert_int_equal(rc_jitter_ms(60000, 0, 0.9), 60000);
	/* Out-of-range r is clamped; pct above 100 too. */
	assert_int_equal(rc_jitter_ms(1000, 10, -3.0), 900);
	assert_int_equal(rc_jitter_ms(1000, 10, 7.0), 1100);
	assert_int_equal(rc_jitter_ms(1000, 500, 0.0), 0);
	for (int i = 0; i < 1000; i++) {
		uint64_t v = rc_jitter_ms(60000, 10, i / 1000.0);

		assert_true(v >= 54000 && v <= 66000);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exponential_capped),
		cmocka_unit_test(test_next_and_clear),
		cmocka_unit_test(test_jitter_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
