#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "providers/aws/ratelimit.h"
#include "tests/unit/support/awsp_testutil.h"
#include "util/array.h"

static void test_defaults(void **state)
{
	struct awsp_ratelimit_config c;

	(void)state;
	awsp_ratelimit_defaults(&c);
	/* AWS-PROTOCOL.md section 7. */
	assert_true(c.b[AWSP_RL_EC2_READ].burst == 100 &&
		    c.b[AWSP_RL_EC2_READ].rate == 20);
	assert_true(c.b[AWSP_RL_EC2_UNFILTERED].burst == 50 &&
		    c.b[AWSP_RL_EC2_UNFILTERED].rate == 10);
	assert_true(c.b[AWSP_RL_EC2_MUTATE].burst == 50 &&
		    c.b[AWSP_RL_EC2_MUTATE].rate == 5);
	assert_true(c.b[AWSP_RL_ELB_REGISTER].burst == 20 &&
		    c.b[AWSP_RL_ELB_REGISTER].rate == 4);
	assert_true(c.b[AWSP_RL_ELBV2_REGISTER].burst == 20 &&
		    c.b[AWSP_RL_ELBV2_REGISTER].rate == 4);
	assert_true(c.b[AWSP_RL_ELB_ACCOUNT].burst == 40 &&
		    c.b[AWSP_RL_ELB_ACCOUNT].rate == 10);
	assert_true(c.b[AWSP_RL_ELB_READ].burst == 40 &&
		    c.b[AWSP_RL_ELB_READ].rate == 10);
	assert_true(c.b[AWSP_RL_ELBV2_MUTATE].burst == 20 &&
		    c.b[AWSP_RL_ELBV2_MUTATE].rate == 3);
	assert_string_equal(awsp_rl_bucket_name(AWSP_RL_EC2_MUTATE),
			    "ec2-mutating");
	assert_string_equal(awsp_rl_bucket_name(AWSP_RL_ELB_ACCOUNT),
			    "elb-account");
	/* moor's own (AWS documents none for DynamoDB's requests). */
	assert_true(c.b[AWSP_RL_DYNAMODB].burst == 100 &&
		    c.b[AWSP_RL_DYNAMODB].rate == 50);
	assert_string_equal(awsp_rl_bucket_name(AWSP_RL_DYNAMODB), "dynamodb");
}

static void test_config_set(void **state)
{
	struct awsp_ratelimit_config c;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	awsp_ratelimit_defaults(&c);
	assert_int_equal(awsp_ratelimit_config_set(&c, "ec2-mutating=200/20.5",
						   &err),
			 0);
	assert_true(c.b[AWSP_RL_EC2_MUTATE].burst == 200);
	assert_true(c.b[AWSP_RL_EC2_MUTATE].rate == 20.5);
	assert_int_equal(awsp_ratelimit_config_set(&c, "elb-account=off", &err),
			 0);
	assert_true(c.b[AWSP_RL_ELB_ACCOUNT].rate == 0);
	assert_true(c.b[AWSP_RL_ELB_READ].rate == 10);
	assert_int_equal(awsp_ratelimit_config_set(&c, "dynamodb=10/2", &err),
			 0);
	assert_true(c.b[AWSP_RL_DYNAMODB].burst == 10 &&
		    c.b[AWSP_RL_DYNAMODB].rate == 2);
	assert_int_equal(awsp_ratelimit_config_set(&c, "off", &err), 0);
	for (int i = 0; i < AWSP_RL_COUNT; i++)
		assert_true(c.b[i].rate == 0);

	static const char *const bad[] = {
		"ec2=1/1",
		"ec2-mutating",
		"ec2-mutating=",
		"ec2-mutating=10",
		"ec2-mutating=10/",
		"ec2-mutating=/5",
		"ec2-mutating=0/5",
		"ec2-mutating=10/0",
		"ec2-mutating=-1/5",
		"ec2-mutating=x/5",
		"ec2-mutating=1/5x",
		"ec2-mutating=0.5/5",
		"ec2-mutating=1/nan",
		"",
		"ec2-mutating=1/inf",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		awsp_ratelimit_defaults(&c);
		util_err_clear(&err);
		assert_int_equal(awsp_ratelimit_config_set(&c, bad[i], &err),
				 UTIL_EINVAL);
		assert_non_null(strstr(err.msg, "ec2-non-mutating"));
		assert_true(c.b[AWSP_RL_EC2_MUTATE].burst == 50);
		assert_true(c.b[AWSP_RL_EC2_MUTATE].rate == 5);
	}
}

static void test_burst_then_rate(void **state)
{
	struct fake_clock fc;
	struct awsp_ratelimit_config c;
	struct awsp_ratelimit *rl;
	struct awsp_ratelimit_stats st;
	enum awsp_rl_bucket b = AWSP_RL_EC2_MUTATE;

	(void)state;
	fake_clock_init(&fc, 1000, 0);
	awsp_ratelimit_defaults(&c);
	rl = awsp_ratelimit_new(&c, &fc.clock);
	/* The burst (less one token of headroom) goes through at once. */
	for (int i = 0; i < 49; i++)
		assert_int_equal(awsp_ratelimit_acquire(rl, &b, 1), 0);
	assert_int_equal(fc.now_ms, 1000);
	/* Then one every 200 ms (5 per second). */
	for (int i = 0; i < 100; i++)
		assert_int_equal(awsp_ratelimit_acquire(rl, &b, 1), 200);
	assert_int_equal(fc.now_ms, 1000 + 100 * 200);
	awsp_ratelimit_stats(rl, &st);
	assert_int_equal(st.taken[AWSP_RL_EC2_MUTATE], 149);
	assert_int_equal(st.waits[AWSP_RL_EC2_MUTATE], 100);
	assert_int_equal(st.waited_ms[AWSP_RL_EC2_MUTATE], 20000);
	assert_int_equal(st.taken[AWSP_RL_EC2_READ], 0);

	/* Idle time refills, up to the burst and no further. */
	fake_clock_advance(&fc, 3600 * 1000);
	for (int i = 0; i < 49; i++)
		assert_int_equal(awsp_ratelimit_acquire(rl, &b, 1), 0);
	assert_int_equal(awsp_ratelimit_acquire(rl, &b, 1), 200);
	awsp_ratelimit_free(rl);
	fake_clock_destroy(&fc);
}

static void test_reservations_queue(void **state)
{
	struct fake_clock fc;
	struct awsp_ratelimit_config c;
	struct awsp_ratelimit *rl;
	enum awsp_rl_bucket b = AWSP_RL_EC2_MUTATE;

	(void)state;
	fake_clock_init(&fc, 0, 0);
	awsp_ratelimit_defaults(&c);
	rl = awsp_ratelimit_new(&c, &fc.clock);
	for (int i = 0; i < 49; i++)
		assert_int_equal(awsp_ratelimit_reserve(rl, &b, 1), 0);
	/*
	 * Callers arriving at the same instant are spaced out: each is
	 * charged the wait of all those before it.
	 */
	assert_int_equal(awsp_ratelimit_reserve(rl, &b, 1), 200);
	assert_int_equal(awsp_ratelimit_reserve(rl, &b, 1), 400);
	assert_int_equal(awsp_ratelimit_reserve(rl, &b, 1), 600);
	/* Half a refill later the queue has moved up by 100 ms. */
	fake_clock_advance(&fc, 100);
	assert_int_equal(awsp_ratelimit_reserve(rl, &b, 1), 700);
	/* reserve never sleeps. */
	assert_int_equal(fc.sleeps, 0);
	awsp_ratelimit_free(rl);
	fake_clock_destroy(&fc);
}

static void test_elb_account_bucket(void **state)
{
	struct fake_clock fc;
	struct awsp_ratelimit_config c;
	struct awsp_ratelimit *rl;
	struct awsp_ratelimit_stats st;
	enum awsp_rl_bucket reg[] = { AWSP_RL_ELB_REGISTER,
				      AWSP_RL_ELB_ACCOUNT };
	enum awsp_rl_bucket v2read[] = { AWSP_RL_ELBV2_READ,
					 AWSP_RL_ELB_ACCOUNT };
	uint64_t total = 0;

	(void)state;
	fake_clock_init(&fc, 0, 0);
	awsp_ratelimit_defaults(&c);
	rl = awsp_ratelimit_new(&c, &fc.clock);
	/* Registration: 19 free, then 4/s (250 ms), the stricter bucket. */
	for (int i = 0; i < 19; i++)
		total += awsp_ratelimit_acquire(rl, reg, 2);
	assert_int_equal(total, 0);
	assert_int_equal(awsp_ratelimit_acquire(rl, reg, 2), 250);
	/*
	 * The account bucket has 39 - 20 (+2.5 refilled) left: v2 describes
	 * drain it although their own bucket is full.
	 */
	for (int i = 0; i < 21; i++)
		total += awsp_ratelimit_acquire(rl, v2read, 2);
	assert_int_equal(total, 0);
	assert_int_equal(awsp_ratelimit_acquire(rl, v2read, 2), 50);
	awsp_ratelimit_stats(rl, &st);
	assert_int_equal(st.taken[AWSP_RL_ELB_ACCOUNT], 42);
	assert_int_equal(st.taken[AWSP_RL_ELBV2_READ], 22);
	assert_int_equal(st.waits[AWSP_RL_ELBV2_READ], 0);
	assert_int_equal(st.waits[AWSP_RL_ELB_ACCOUNT], 1);
	/* Duplicates in one request count once. */
	enum awsp_rl_bucket dup[] = { AWSP_RL_EC2_READ, AWSP_RL_EC2_READ };
	awsp_ratelimit_acquire(rl, dup, 2);
	awsp_ratelimit_stats(rl, &st);
	assert_int_equal(st.taken[AWSP_RL_EC2_READ], 1);
	awsp_ratelimit_free(rl);
	fake_clock_destroy(&fc);
}

static void test_disabled_and_throttled(void **state)
{
	struct fake_clock fc;
	struct awsp_ratelimit_config c;
	struct awsp_ratelimit *rl;
	enum awsp_rl_bucket b = AWSP_RL_EC2_READ;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fake_clock_init(&fc, 0, 0);
	awsp_ratelimit_defaults(&c);
	assert_int_equal(awsp_ratelimit_config_set(&c, "ec2-non-mutating=off",
						   &err),
			 0);
	rl = awsp_ratelimit_new(&c, &fc.clock);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(awsp_ratelimit_acquire(rl, &b, 1), 0);
	awsp_ratelimit_free(rl);

	/* A throttle drains a full bucket: the next call waits a refill. */
	awsp_ratelimit_defaults(&c);
	rl = awsp_ratelimit_new(&c, &fc.clock);
	assert_int_equal(awsp_ratelimit_acquire(rl, &b, 1), 0);
	awsp_ratelimit_throttled(rl, &b, 1);
	assert_int_equal(awsp_ratelimit_acquire(rl, &b, 1), 50);
	/* A bucket already in debt is not forgiven by a throttle. */
	assert_int_equal(awsp_ratelimit_acquire(rl, &b, 1), 50);
	awsp_ratelimit_free(rl);
	awsp_ratelimit_free(NULL);
	fake_clock_destroy(&fc);
}

struct thr {
	struct awsp_ratelimit *rl;
};

static void *worker(void *arg)
{
	struct thr *t = arg;
	enum awsp_rl_bucket b[] = { AWSP_RL_ELBV2_REGISTER,
				    AWSP_RL_ELB_ACCOUNT };

	for (int i = 0; i < 30; i++)
		awsp_ratelimit_acquire(t->rl, b, 2);
	return NULL;
}

static void test_threads(void **state)
{
	struct fake_clock fc;
	struct awsp_ratelimit_config c;
	struct thr t;
	pthread_t th[4];
	struct awsp_ratelimit_stats st;

	(void)state;
	fake_clock_init(&fc, 0, 0);
	awsp_ratelimit_defaults(&c);
	t.rl = awsp_ratelimit_new(&c, &fc.clock);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker, &t), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	awsp_ratelimit_stats(t.rl, &st);
	assert_int_equal(st.taken[AWSP_RL_ELBV2_REGISTER], 120);
	assert_int_equal(st.taken[AWSP_RL_ELB_ACCOUNT], 120);
	/*
	 * 120 tokens at burst 19 and 4/s need over 25 s of (simulated)
	 * time: the sleeps must have covered it.
	 */
	assert_true(fc.now_ms >= 25000);
	awsp_ratelimit_free(t.rl);
	fake_clock_destroy(&fc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_config_set),
		cmocka_unit_test(test_burst_then_rate),
		cmocka_unit_test(test_reservations_queue),
		cmocka_unit_test(test_elb_account_bucket),
		cmocka_unit_test(test_disabled_and_throttled),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
