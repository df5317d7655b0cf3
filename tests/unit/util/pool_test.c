#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "util/pool.h"

struct ctx {
	pthread_mutex_t lock;
	int runs[1000];
	int active, max_active;
	pthread_t seen[64];
	size_t n_seen;
};

static void task(void *arg, size_t i)
{
	struct ctx *c = arg;
	int found = 0;

	pthread_mutex_lock(&c->lock);
	c->runs[i]++;
	c->active++;
	if (c->active > c->max_active)
		c->max_active = c->active;
	for (size_t k = 0; k < c->n_seen; k++)
		found |= pthread_equal(c->seen[k], pthread_self());
	if (!found && c->n_seen < 64)
		c->seen[c->n_seen++] = pthread_self();
	pthread_mutex_unlock(&c->lock);
	/* Long enough that workers overlap. */
	for (volatile int spin = 0; spin < 20000; spin++)
		;
	pthread_mutex_lock(&c->lock);
	c->active--;
	pthread_mutex_unlock(&c->lock);
}

static void run(size_t n, unsigned conc, struct ctx *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	util_parallel(n, conc, task, c);
	pthread_mutex_destroy(&c->lock);
}

static void test_each_task_runs_once(void **state)
{
	static struct ctx c;

	(void)state;
	run(1000, 8, &c);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal(c.runs[i], 1);
	assert_true(c.max_active <= 8);
	assert_true(c.n_seen <= 8);
}

static void test_serial_when_concurrency_one(void **state)
{
	static struct ctx c;

	(void)state;
	run(50, 1, &c);
	assert_int_equal(c.max_active, 1);
	assert_int_equal(c.n_seen, 1);
	assert_true(pthread_equal(c.seen[0], pthread_self()));
	run(0, 4, &c);
	assert_int_equal(c.n_seen, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_task_runs_once),
		cmocka_unit_test(test_serial_when_concurrency_one),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
