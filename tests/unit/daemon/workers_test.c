/*
 * moor watch's worker threads and the spec they share with the loop: a
 * job handed to a worker runs off the loop's thread, the loop hears of it
 * on its eventfd and collects it; a job keeps the spec it was given alive
 * after the loop put another in force; a worker stopped with a job not
 * collected frees it (the sanitizer run checks the leaks).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/daemon/spec_ref.h"
#include "reconciler/daemon/workers.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/alloc.h"
#include "util/banned.h"

#define V1 "version: 1\n"
#define SPEC_ONE                        \
	V1 "load_balancers:\n"          \
	   "  - target_group: web-tg\n" \
	   "    members: [i-0000000a]\n"

struct fx {
	int evfd;
	pthread_t loop;
	pthread_t ran_on;
	size_t lbs_seen;
	struct rc_worker wk;
};

/* Runs on the worker: what it sees of the job's spec, and where. */
static void run(void *ctx, struct rc_job *j)
{
	struct fx *f = ctx;

	f->ran_on = pthread_self();
	f->lbs_seen = j->ws->s->n_lbs;
	j->res.status = RC_CYCLE_OK;
	j->res.changes = (size_t)j->now_ms;
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct util_err e = UTIL_ERR_INIT;

	f->evfd = eventfd(0, EFD_CLOEXEC);
	assert_true(f->evfd >= 0);
	f->loop = pthread_self();
	assert_int_equal(rc_worker_start(&f->wk, "test", run, f, f->evfd, &e),
			 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rc_worker_stop(&f->wk);
	close(f->evfd);
	free(f);
	return 0;
}

static struct rc_job *job_on(struct rc_spec_ref *ws, uint64_t now)
{
	struct rc_job *j = util_xcalloc(1, sizeof(*j));

	j->kind = RC_JOB_FULL;
	j->ws = rc_spec_ref_take(ws);
	j->now_ms = now;
	return j;
}

/* Blocks until the worker signals, as the loop's epoll would. */
static struct rc_job *wait_done(struct fx *f)
{
	uint64_t n = 0;

	assert_int_equal(read(f->evfd, &n, sizeof(n)), (ssize_t)sizeof(n));
	assert_true(n >= 1);
	return rc_worker_collect(&f->wk);
}

static void test_job_round_trip(void **state)
{
	struct fx *f = *state;
	struct rc_spec_ref *ws = rc_spec_ref_new(t_spec(SPEC_ONE), 1);
	struct rc_job *j;

	assert_null(rc_worker_collect(&f->wk));
	assert_false(f->wk.busy);
	rc_worker_give(&f->wk, job_on(ws, 7));
	assert_true(f->wk.busy);
	j = wait_done(f);
	assert_non_null(j);
	assert_false(f->wk.busy);
	assert_false(pthread_equal(f->ran_on, f->loop));
	assert_int_equal(j->res.status, RC_CYCLE_OK);
	assert_int_equal(j->res.changes, 7);
	assert_null(rc_worker_collect(&f->wk));
	rc_job_free(j);
	rc_spec_ref_drop(ws);
}

static void test_job_keeps_its_spec(void **state)
{
	struct fx *f = *state;
	struct rc_spec_ref *old = rc_spec_ref_new(t_spec(SPEC_ONE), 1);
	struct rc_spec_ref *cur;
	struct rc_job *j = job_on(old, 1);

	char *key = rc_cycle_lb_key(&old->s->lbs[0]);

	assert_string_equal(old->lb_keys[0], key);
	free(key);
	/* A reload puts generation 2 in force and lets go of 1. */
	cur = rc_spec_ref_new(t_spec(SPEC_ONE "  - target_group: ip-tg\n"
					      "    members: [i-0000000b]\n"),
			      old->gen + 1);
	rc_spec_ref_drop(old);
	rc_worker_give(&f->wk, j);
	j = wait_done(f);
	assert_int_equal(f->lbs_seen, 1);
	assert_int_equal(j->ws->gen, 1);
	assert_int_equal(cur->gen, 2);
	assert_int_equal(cur->s->n_lbs, 2);
	rc_job_free(j); /* the last reference to generation 1 */
	rc_spec_ref_drop(cur);
}

static void test_stop_frees_uncollected(void **state)
{
	struct fx *f = *state;
	struct rc_spec_ref *ws = rc_spec_ref_new(t_spec(SPEC_ONE), 1);
	uint64_t n;

	rc_worker_give(&f->wk, job_on(ws, 1));
	rc_spec_ref_drop(ws);
	assert_int_equal(read(f->evfd, &n, sizeof(n)), (ssize_t)sizeof(n));
	rc_worker_stop(&f->wk); /* done, never collected: freed here */
	assert_false(f->wk.started);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_job_round_trip),
		T(test_job_keeps_its_spec),
		T(test_stop_frees_uncollected),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
