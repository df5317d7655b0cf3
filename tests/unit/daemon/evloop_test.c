#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "reconciler/daemon/evloop.h"
#include "util/clock.h"

struct rec {
	char order[64];
	size_t n;
	struct rc_ev_timer *other; /* freed by a callback */
	struct rc_ev_timer *self;
	int rearm;
};

static void mark(struct rec *r, char c)
{
	if (r->n + 1 < sizeof(r->order))
		r->order[r->n++] = c;
}

static void on_a(void *ctx)
{
	mark(ctx, 'a');
}

static void on_b(void *ctx)
{
	mark(ctx, 'b');
}

static void on_c(void *ctx)
{
	mark(ctx, 'c');
}

/* Run iterations until n marks are recorded (or a generous deadline). */
static void run_until(struct rc_evloop *l, struct rec *r, size_t n)
{
	uint64_t end = util_mono_ms() + 5000;

	while (r->n < n && util_mono_ms() < end)
		assert_int_equal(rc_evloop_run_once(l, 100, NULL), 0);
}

static void test_timers_in_order(void **state)
{
	struct rc_evloop *l;
	struct rec r = { 0 };
	struct rc_ev_timer *a, *b, *c;
	uint64_t t0 = util_mono_ms();

	(void)state;
	assert_int_equal(rc_evloop_new(&l, NULL), 0);
	a = rc_ev_timer_new(l, on_a, &r);
	b = rc_ev_timer_new(l, on_b, &r);
	c = rc_ev_timer_new(l, on_c, &r);
	rc_ev_timer_arm(c, t0 + 60);
	rc_ev_timer_arm(a, t0 + 20);
	rc_ev_timer_arm(b, t0 + 40);
	assert_true(rc_ev_timer_armed(b));
	assert_int_equal(rc_ev_timer_deadline(b), t0 + 40);
	/* arm_before keeps an earlier deadline, takes an earlier one. */
	rc_ev_timer_arm_before(b, t0 + 50);
	assert_int_equal(rc_ev_timer_deadline(b), t0 + 40);
	rc_ev_timer_arm_before(b, t0 + 30);
	assert_int_equal(rc_ev_timer_deadline(b), t0 + 30);
	run_until(l, &r, 3);
	assert_string_equal(r.order, "abc");
	/* They fired no earlier than their deadlines. */
	assert_true(util_mono_ms() >= t0 + 60);
	assert_false(rc_ev_timer_armed(a));
	assert_int_equal(rc_ev_timer_deadline(a), 0);
	/* A disarmed timer does not fire. */
	rc_ev_timer_arm_in(a, 10);
	rc_ev_timer_disarm(a);
	rc_ev_timer_arm_in(b, 30);
	run_until(l, &r, 4);
	assert_string_equal(r.order, "abcb");
	rc_evloop_free(l); /* frees the timers too */
}

static void on_free_other(void *ctx)
{
	struct rec *r = ctx;

	mark(r, 'f');
	rc_ev_timer_free(r->other);
	r->other = NULL;
}

static void on_rearm(void *ctx)
{
	struct rec *r = ctx;

	mark(r, 'r');
	if (r->rearm-- > 0)
		rc_ev_timer_arm(r->self, 0); /* in the past */
}

static void test_free_and_rearm_in_callback(void **state)
{
	struct rc_evloop *l;
	struct rec r = { 0 };
	struct rc_ev_timer *f;
	uint64_t now = util_mono_ms();

	(void)state;
	assert_int_equal(rc_evloop_new(&l, NULL), 0);
	f = rc_ev_timer_new(l, on_free_other, &r);
	r.other = rc_ev_timer_new(l, on_a, &r);
	/* Both due in the same dispatch: the freed one must not run. */
	rc_ev_timer_arm(f, now);
	rc_ev_timer_arm(r.other, now + 1);
	while (util_mono_ms() < now + 2)
		;
	assert_int_equal(rc_evloop_run_once(l, 0, NULL), 0);
	assert_string_equal(r.order, "f");
	/*
	 * A timer re-armed for the past from its own callback runs once per
	 * iteration, not in a loop.
	 */
	r.n = 0;
	memset(r.order, 0, sizeof(r.order));
	r.self = rc_ev_timer_new(l, on_rearm, &r);
	r.rearm = 3;
	rc_ev_timer_arm(r.self, 0);
	assert_int_equal(rc_evloop_run_once(l, 0, NULL), 0);
	assert_string_equal(r.order, "r");
	assert_int_equal(rc_evloop_run_once(l, 0, NULL), 0);
	assert_string_equal(r.order, "rr");
	rc_ev_timer_free(r.self);
	rc_ev_timer_free(f);
	rc_ev_timer_free(NULL);
	assert_int_equal(rc_evloop_run_once(l, 0, NULL), 0);
	assert_string_equal(r.order, "rr");
	rc_evloop_free(l);
}

static int s_io_calls;

struct io_ctx {
	struct rc_ev_io *self;
	struct rc_ev_io **other; /* the other registration, to free */
};

static void on_io(void *ctx, int fd, uint32_t events)
{
	struct io_ctx *c = ctx;
	uint64_t v;

	assert_true(events & EPOLLIN);
	assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
	s_io_calls++;
	/* Free the other registration, which is ready in the same batch. */
	if (c->other && *c->other) {
		rc_ev_io_free(*c->other);
		*c->other = NULL;
	}
}

static void test_io_and_deferred_free(void **state)
{
	struct rc_evloop *l;
	int e[2] = { eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
		     eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	struct rc_ev_io *io[2] = { NULL, NULL };
	struct io_ctx c[2] = { { NULL, &io[1] }, { NULL, &io[0] } };
	uint64_t one = 1;
	int alive;

	(void)state;
	assert_true(e[0] >= 0 && e[1] >= 0);
	assert_int_equal(rc_evloop_new(&l, NULL), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(rc_ev_io_add(l, e[i], EPOLLIN, on_io, &c[i],
					      &io[i], NULL),
				 0);
		assert_int_equal(write(e[i], &one, sizeof(one)), sizeof(one));
	}
	/* Whichever runs first frees the other: exactly one callback. */
	assert_int_equal(rc_evloop_run_once(l, 1000, NULL), 0);
	assert_int_equal(s_io_calls, 1);
	alive = io[0] ? 0 : 1;
	assert_non_null(io[alive]);
	assert_null(io[!alive]);
	c[alive].other = NULL;
	/* Nothing ready: returns after the wait with nothing run. */
	assert_int_equal(rc_evloop_run_once(l, 10, NULL), 0);
	assert_int_equal(s_io_calls, 1);
	/* Watching for nothing, then for input again. */
	assert_int_equal(rc_ev_io_modify(io[alive], 0, NULL), 0);
	assert_int_equal(write(e[alive], &one, sizeof(one)), sizeof(one));
	assert_int_equal(rc_evloop_run_once(l, 10, NULL), 0);
	assert_int_equal(s_io_calls, 1);
	assert_int_equal(rc_ev_io_modify(io[alive], EPOLLIN, NULL), 0);
	assert_int_equal(rc_evloop_run_once(l, 1000, NULL), 0);
	assert_int_equal(s_io_calls, 2);
	/* The same fd registered again takes the old registration over. */
	assert_int_equal(rc_ev_io_add(l, e[alive], EPOLLIN, on_io, &c[alive],
				      NULL, NULL),
			 0);
	assert_int_equal(write(e[alive], &one, sizeof(one)), sizeof(one));
	assert_int_equal(rc_evloop_run_once(l, 1000, NULL), 0);
	assert_int_equal(s_io_calls, 3);
	rc_evloop_free(l);
	close(e[0]);
	close(e[1]);
}

static void stop_cb(void *ctx)
{
	rc_evloop_stop(ctx);
}

static void test_run_and_stop(void **state)
{
	struct rc_evloop *l;
	struct rc_ev_timer *t;

	(void)state;
	assert_int_equal(rc_evloop_new(&l, NULL), 0);
	t = rc_ev_timer_new(l, stop_cb, l);
	rc_ev_timer_arm_in(t, 20);
	/* Blocks in epoll until the timerfd fires, then stops. */
	assert_int_equal(rc_evloop_run(l, NULL), 0);
	assert_false(rc_ev_timer_armed(t));
	rc_evloop_free(l);
	rc_evloop_free(NULL);
}

struct fake_clock {
	uint64_t now;
	unsigned sleeps;
};

static uint64_t fake_mono(void *ctx)
{
	return ((struct fake_clock *)ctx)->now;
}

static time_t fake_wall(void *ctx)
{
	return (time_t)(((struct fake_clock *)ctx)->now / 1000);
}

static void fake_sleep(void *ctx, uint64_t ms)
{
	struct fake_clock *fc = ctx;

	fc->now += ms;
	fc->sleeps++;
}

struct stamped {
	struct rec r;
	struct fake_clock *fc;
	uint64_t at[8];
};

static void on_stamp(void *ctx)
{
	struct stamped *s = ctx;

	if (s->r.n < 8)
		s->at[s->r.n] = s->fc->now;
	mark(&s->r, 't');
}

/* Hours of timers run on the injected clock, each exactly at its deadline. */
static void test_injected_clock_runs_timers_without_waiting(void **state)
{
	struct fake_clock fc = { .now = 1000 };
	struct util_clock clk = { fake_mono, fake_wall, fake_sleep, &fc };
	struct stamped s = { .fc = &fc };
	struct rc_evloop *l;
	struct rc_ev_timer *a, *b;

	(void)state;
	assert_int_equal(rc_evloop_new(&l, NULL), 0);
	rc_evloop_use_clock(l, &clk);
	a = rc_ev_timer_new(l, on_stamp, &s);
	b = rc_ev_timer_new(l, on_stamp, &s);
	rc_ev_timer_arm_in(b, 7200000);
	rc_ev_timer_arm_in(a, 10000);
	assert_int_equal(rc_ev_timer_deadline(a), 11000);
	while (s.r.n < 2)
		assert_int_equal(rc_evloop_run_once(l, -1, NULL), 0);
	assert_int_equal(s.at[0], 11000);
	assert_int_equal(s.at[1], 7201000);
	assert_int_equal(fc.sleeps, 2);
	assert_false(rc_ev_timer_armed(a) || rc_ev_timer_armed(b));
	rc_evloop_free(l);
}

struct held {
	struct stamped s;
	struct rc_evloop *l;
	int efd;
};

static void *worker(void *ctx)
{
	struct held *h = ctx;
	uint64_t one = 1;

	usleep(20000); /* finish late: the loop must wait, not jump */
	assert_int_equal(write(h->efd, &one, sizeof(one)), sizeof(one));
	return NULL;
}

static void on_done(void *ctx, int fd, uint32_t events)
{
	struct held *h = ctx;
	uint64_t n;

	(void)events;
	assert_int_equal(read(fd, &n, sizeof(n)), sizeof(n));
	h->s.at[h->s.r.n] = h->s.fc->now;
	mark(&h->s.r, 'w');
	rc_evloop_release(h->l);
}

/* Held work on a thread completes before the injected clock moves on. */
static void test_injected_clock_waits_for_held_work(void **state)
{
	struct fake_clock fc = { .now = 5000 };
	struct util_clock clk = { fake_mono, fake_wall, fake_sleep, &fc };
	struct held h = { .s.fc = &fc };
	struct rc_ev_io *io;
	struct rc_ev_timer *t;
	pthread_t th;

	(void)state;
	h.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(h.efd >= 0);
	assert_int_equal(rc_evloop_new(&h.l, NULL), 0);
	rc_evloop_use_clock(h.l, &clk);
	assert_int_equal(rc_ev_io_add(h.l, h.efd, EPOLLIN, on_done, &h, &io,
				      NULL),
			 0);
	t = rc_ev_timer_new(h.l, on_stamp, &h.s);
	rc_ev_timer_arm_in(t, 1);
	rc_evloop_hold(h.l);
	assert_int_equal(pthread_create(&th, NULL, worker, &h), 0);
	while (h.s.r.n < 2)
		assert_int_equal(rc_evloop_run_once(h.l, -1, NULL), 0);
	pthread_join(th, NULL);
	assert_memory_equal(h.s.r.order, "wt", 2);
	assert_int_equal(h.s.at[0], 5000);
	assert_int_equal(h.s.at[1], 5001);
	rc_ev_io_free(io);
	rc_evloop_free(h.l);
	close(h.efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_in_order),
		cmocka_unit_test(test_free_and_rearm_in_callback),
		cmocka_unit_test(test_io_and_deferred_free),
		cmocka_unit_test(test_run_and_stop),
		cmocka_unit_test(
			test_injected_clock_runs_timers_without_waiting),
		cmocka_unit_test(test_injected_clock_waits_for_held_work),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
