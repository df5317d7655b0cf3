#ifndef RECONCILER_DAEMON_EVLOOP_H
#define RECONCILER_DAEMON_EVLOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/*
 * struct rc_evloop: the single-threaded event loop of `moor watch`, in the
 * shape of redis's ae: file descriptors watched with epoll, and one-shot
 * timers multiplexed onto one timerfd (CLOCK_MONOTONIC, absolute), which
 * is itself in the epoll set.  Nothing sleeps: the loop blocks in
 * epoll_wait until an fd is ready or the earliest timer is due.
 *
 * Everything here runs on the thread that calls rc_evloop_run(); none of
 * it is thread-safe.  Other threads wake the loop through an fd of their
 * own (an eventfd) registered with rc_ev_io_add().
 *
 * Callbacks may add, change and free any registration or timer,
 * including their own: frees are deferred until the current dispatch is
 * over, and an event for a registration freed earlier in the same batch
 * is dropped.  A timer armed from a timer callback for a time already
 * past runs on the next iteration, after pending I/O, so timers can
 * never starve file descriptors.
 *
 * Times are milliseconds of the loop's clock: util_mono_ms() unless
 * rc_evloop_use_clock() gave it another one.
 */

struct rc_evloop;
struct util_clock;
struct rc_ev_io;
struct rc_ev_timer;

typedef void (*rc_ev_io_fn)(void *ctx, int fd, uint32_t events);
typedef void (*rc_ev_timer_fn)(void *ctx);

/* Caller frees *ret with rc_evloop_free(). */
int rc_evloop_new(struct rc_evloop **ret, struct util_err *err);
/*
 * Frees the loop and every registration and timer still attached to it
 * (their fds are not closed).  Accepts NULL.
 */
void rc_evloop_free(struct rc_evloop *l);

/*
 * Run timers on clk (borrowed; must outlive the loop) instead of the
 * system clock: for tests.  Deadlines are then clk->mono_ms() times, the
 * timerfd is unused and the loop never sleeps on real time: when no fd is
 * ready, no timer is due and nothing is held (rc_evloop_hold), it calls
 * clk->sleep_ms() for the time left to the earliest timer, which a fake
 * clock implements by moving its time forward.  While work is held, the
 * loop blocks on its fds (a worker's eventfd) instead, so fake time
 * advances only when the loop is otherwise idle.
 */
void rc_evloop_use_clock(struct rc_evloop *l, const struct util_clock *clk);
/*
 * Count work in flight on other threads whose completion arrives on an
 * fd (hold when it starts, release once its completion was handled).
 * Only a loop on an injected clock looks at the count.
 */
void rc_evloop_hold(struct rc_evloop *l);
void rc_evloop_release(struct rc_evloop *l);

/*
 * Watch fd for events (EPOLLIN, EPOLLOUT; level-triggered).  fn gets the
 * epoll event bits (EPOLLERR/EPOLLHUP included).  *ret (may be NULL) is
 * the registration, owned by the loop: free it with rc_ev_io_free()
 * before closing fd.
 */
int rc_ev_io_add(struct rc_evloop *l, int fd, uint32_t events, rc_ev_io_fn fn,
		 void *ctx, struct rc_ev_io **ret, struct util_err *err);
int rc_ev_io_modify(struct rc_ev_io *io, uint32_t events, struct util_err *err);
/* Stop watching (does not close the fd).  Accepts NULL. */
void rc_ev_io_free(struct rc_ev_io *io);

/* A disarmed timer; the loop owns it (freed with the loop at the latest). */
struct rc_ev_timer *rc_ev_timer_new(struct rc_evloop *l, rc_ev_timer_fn fn,
				    void *ctx);
/* Run fn once at deadline_ms (re-arming replaces the previous deadline). */
void rc_ev_timer_arm(struct rc_ev_timer *t, uint64_t deadline_ms);
/* Run fn once delay_ms from now. */
void rc_ev_timer_arm_in(struct rc_ev_timer *t, uint64_t delay_ms);
/* Arm for deadline_ms unless already armed for an earlier time. */
void rc_ev_timer_arm_before(struct rc_ev_timer *t, uint64_t deadline_ms);
void rc_ev_timer_disarm(struct rc_ev_timer *t);
bool rc_ev_timer_armed(const struct rc_ev_timer *t);
/* The deadline of an armed timer (0 when disarmed). */
uint64_t rc_ev_timer_deadline(const struct rc_ev_timer *t);
/* Disarm and free.  Accepts NULL. */
void rc_ev_timer_free(struct rc_ev_timer *t);

/*
 * One iteration: wait up to max_wait_ms (-1 = no limit beyond the next
 * timer) for I/O or timers, then dispatch what is ready.  Returns 0, or
 * UTIL_EIO when epoll fails (EINTR is not a failure).
 */
int rc_evloop_run_once(struct rc_evloop *l, int max_wait_ms,
		       struct util_err *err);
/* Iterate until rc_evloop_stop(); 0, or the first rc_evloop_run_once error. */
int rc_evloop_run(struct rc_evloop *l, struct util_err *err);
/* Make rc_evloop_run() return after the current iteration. */
void rc_evloop_stop(struct rc_evloop *l);

#endif
