#include "reconciler/daemon/evloop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/banned.h"

#define MAX_EVENTS 64

struct rc_ev_io {
	struct rc_evloop *l;
	int fd;
	uint32_t events;
	rc_ev_io_fn fn;
	void *ctx;
	bool dead;
	struct rc_ev_io *next; /* all registrations */
};

struct rc_ev_timer {
	struct rc_evloop *l;
	rc_ev_timer_fn fn;
	void *ctx;
	bool armed, dead;
	uint64_t deadline;
	uint64_t gen; /* dispatch generation it was armed in */
	struct rc_ev_timer *next;
};

struct rc_evloop {
	int epfd;
	int tfd;
	uint64_t tfd_armed; /* deadline the timerfd holds; 0 = disarmed */
	struct rc_ev_io *ios;
	struct rc_ev_timer *timers;
	uint64_t gen;
	int dispatching; /* > 0: frees are deferred */
	bool stop;
	bool has_dead;
	const struct util_clock *clk; /* NULL: the system clock, timerfd */
	unsigned held;		      /* work in flight (injected clock only) */
};

static void timer_tick(void *ctx, int fd, uint32_t events);

static uint64_t now_ms(const struct rc_evloop *l)
{
	return l->clk ? l->clk->mono_ms(l->clk->ctx) : util_mono_ms();
}

void rc_evloop_use_clock(struct rc_evloop *l, const struct util_clock *clk)
{
	l->clk = clk;
}

void rc_evloop_hold(struct rc_evloop *l)
{
	l->held++;
}

void rc_evloop_release(struct rc_evloop *l)
{
	if (l->held)
		l->held--;
}

int rc_evloop_new(struct rc_evloop **ret, struct util_err *err)
{
	struct rc_evloop *l = util_xcalloc(1, sizeof(*l));
	struct epoll_event ev;

	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->tfd = -1;
	if (l->epfd < 0) {
		util_err_set(err, UTIL_EIO, "epoll_create1: %s",
			     strerror(errno));
		goto fail;
	}
	l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (l->tfd < 0) {
		util_err_set(err, UTIL_EIO, "timerfd_create: %s",
			     strerror(errno));
		goto fail;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL; /* the timerfd */
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->tfd, &ev) < 0) {
		util_err_set(err, UTIL_EIO, "epoll_ctl: %s", strerror(errno));
		goto fail;
	}
	*ret = l;
	return 0;
fail:
	rc_evloop_free(l);
	return UTIL_EIO;
}

static void reap(struct rc_evloop *l)
{
	struct rc_ev_io **pi = &l->ios;
	struct rc_ev_timer **pt = &l->timers;

	if (!l->has_dead || l->dispatching)
		return;
	while (*pi) {
		struct rc_ev_io *io = *pi;

		if (io->dead) {
			*pi = io->next;
			free(io);
		} else {
			pi = &io->next;
		}
	}
	while (*pt) {
		struct rc_ev_timer *t = *pt;

		if (t->dead) {
			*pt = t->next;
			free(t);
		} else {
			pt = &t->next;
		}
	}
	l->has_dead = false;
}

void rc_evloop_free(struct rc_evloop *l)
{
	if (!l)
		return;
	while (l->ios) {
		struct rc_ev_io *io = l->ios;

		l->ios = io->next;
		free(io);
	}
	while (l->timers) {
		struct rc_ev_timer *t = l->timers;

		l->timers = t->next;
		free(t);
	}
	if (l->tfd >= 0)
		close(l->tfd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}

int rc_ev_io_add(struct rc_evloop *l, int fd, uint32_t events, rc_ev_io_fn fn,
		 void *ctx, struct rc_ev_io **ret, struct util_err *err)
{
	struct rc_ev_io *io = util_xcalloc(1, sizeof(*io));
	struct epoll_event ev;

	io->l = l;
	io->fd = fd;
	io->events = events;
	io->fn = fn;
	io->ctx = ctx;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = io;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		/*
		 * A registration of ours for an fd that was closed and
		 * reused is gone from epoll already, so EEXIST only means
		 * another live registration: take the fd over.
		 */
		if (errno != EEXIST ||
		    epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) < 0) {
			int e = errno;

			free(io);
			return util_err_set(err, UTIL_EIO,
					    "epoll_ctl add fd %d: %s", fd,
					    strerror(e));
		}
		for (struct rc_ev_io *o = l->ios; o; o = o->next)
			if (o->fd == fd && !o->dead) {
				o->dead = true;
				l->has_dead = true;
			}
	}
	io->next = l->ios;
	l->ios = io;
	if (ret)
		*ret = io;
	return 0;
}

int rc_ev_io_modify(struct rc_ev_io *io, uint32_t events, struct util_err *err)
{
	struct epoll_event ev;

	if (io->events == events)
		return 0;
	memset(&ev, 0, sizeof(ev));
	ev.events = events;
	ev.data.ptr = io;
	if (epoll_ctl(io->l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
		return util_err_set(err, UTIL_EIO, "epoll_ctl mod fd %d: %s",
				    io->fd, strerror(errno));
	io->events = events;
	return 0;
}

void rc_ev_io_free(struct rc_ev_io *io)
{
	if (!io || io->dead)
		return;
	/* Fails harmlessly when the fd was closed already. */
	epoll_ctl(io->l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->dead = true;
	io->l->has_dead = true;
	reap(io->l);
}

struct rc_ev_timer *rc_ev_timer_new(struct rc_evloop *l, rc_ev_timer_fn fn,
				    void *ctx)
{
	struct rc_ev_timer *t = util_xcalloc(1, sizeof(*t));

	t->l = l;
	t->fn = fn;
	t->ctx = ctx;
	t->next = l->timers;
	l->timers = t;
	return t;
}

void rc_ev_timer_arm(struct rc_ev_timer *t, uint64_t deadline_ms)
{
	t->armed = true;
	t->deadline = deadline_ms;
	t->gen = t->l->gen;
}

void rc_ev_timer_arm_in(struct rc_ev_timer *t, uint64_t delay_ms)
{
	rc_ev_timer_arm(t, now_ms(t->l) + delay_ms);
}

void rc_ev_timer_arm_before(struct rc_ev_timer *t, uint64_t deadline_ms)
{
	if (!t->armed || deadline_ms < t->deadline)
		rc_ev_timer_arm(t, deadline_ms);
}

void rc_ev_timer_disarm(struct rc_ev_timer *t)
{
	t->armed = false;
}

bool rc_ev_timer_armed(const struct rc_ev_timer *t)
{
	return t->armed;
}

uint64_t rc_ev_timer_deadline(const struct rc_ev_timer *t)
{
	return t->armed ? t->deadline : 0;
}

void rc_ev_timer_free(struct rc_ev_timer *t)
{
	if (!t || t->dead)
		return;
	t->armed = false;
	t->dead = true;
	t->l->has_dead = true;
	reap(t->l);
}

static uint64_t earliest(const struct rc_evloop *l)
{
	uint64_t e = 0;

	for (const struct rc_ev_timer *t = l->timers; t; t = t->next)
		if (t->armed && !t->dead && (!e || t->deadline < e))
			e = t->deadline;
	return e;
}

/* Point the timerfd at deadline (0 = disarm), if it is not there yet. */
static void arm_tfd(struct rc_evloop *l, uint64_t deadline)
{
	struct itimerspec its;

	if (deadline == l->tfd_armed)
		return;
	memset(&its, 0, sizeof(its));
	if (deadline) {
		its.it_value.tv_sec = (time_t)(deadline / 1000);
		its.it_value.tv_nsec = (long)(deadline % 1000) * 1000000L;
	}
	/*
	 * An absolute time of 0 would disarm; every real deadline is far
	 * past the epoch of CLOCK_MONOTONIC, but be safe.
	 */
	if (deadline && !its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
		l->tfd_armed = deadline;
}

static void timer_tick(void *ctx, int fd, uint32_t events)
{
	uint64_t n;
	struct rc_evloop *l = ctx;

	(void)events;
	while (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
	/* The kernel disarmed it: it must be set again, even to the same. */
	l->tfd_armed = 0;
}

static void run_timers(struct rc_evloop *l)
{
	uint64_t now = now_ms(l);

	l->gen++;
	for (;;) {
		struct rc_ev_timer *due = NULL;

		for (struct rc_ev_timer *t = l->timers; t; t = t->next)
			if (t->armed && !t->dead && t->gen < l->gen &&
			    t->deadline <= now &&
			    (!due || t->deadline < due->deadline))
				due = t;
		if (!due)
			break;
		due->armed = false;
		due->fn(due->ctx);
	}
}

int rc_evloop_run_once(struct rc_evloop *l, int max_wait_ms,
		       struct util_err *err)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t next = earliest(l), now = now_ms(l);
	int timeout = max_wait_ms, n;

	if (next && next <= now)
		timeout = 0;
	else if (!l->clk)
		arm_tfd(l, next);
	else if (!l->held && next)
		timeout = 0; /* idle: rather move the injected clock on */
	n = epoll_wait(l->epfd, evs, MAX_EVENTS, timeout);
	if (n == 0 && l->clk && !l->held && next > now)
		l->clk->sleep_ms(l->clk->ctx, next - now);
	if (n < 0) {
		if (errno == EINTR)
			return 0;
		return util_err_set(err, UTIL_EIO, "epoll_wait: %s",
				    strerror(errno));
	}
	l->dispatching++;
	for (int i = 0; i < n; i++) {
		struct rc_ev_io *io = evs[i].data.ptr;

		if (!io) {
			timer_tick(l, l->tfd, evs[i].events);
			continue;
		}
		if (io->dead)
			continue;
		io->fn(io->ctx, io->fd, evs[i].events);
	}
	run_timers(l);
	l->dispatching--;
	reap(l);
	return 0;
}

int rc_evloop_run(struct rc_evloop *l, struct util_err *err)
{
	l->stop = false;
	while (!l->stop) {
		int r = rc_evloop_run_once(l, -1, err);

		if (r < 0)
			return r;
	}
	return 0;
}

void rc_evloop_stop(struct rc_evloop *l)
{
	l->stop = true;
}
