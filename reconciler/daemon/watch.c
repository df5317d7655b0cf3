#include "reconciler/daemon/watch.h"
#include "reconciler/daemon/watch_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/backoff.h"
#include "reconciler/daemon/cycle.h"
#include "reconciler/daemon/evloop.h"
#include "reconciler/daemon/fotable.h"
#include "reconciler/daemon/httpd.h"
#include "reconciler/daemon/lease.h"
#include "reconciler/daemon/probe.h"
#include "reconciler/daemon/snapshots.h"
#include "reconciler/daemon/spec_ref.h"
#include "reconciler/daemon/specwatch.h"
#include "reconciler/daemon/workers.h"
#include "providers/fenced.h"
#include "providers/provider.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/banned.h"

double rcw_rnd(struct rc_watch *w)
{
	/* xorshift64*: the resync jitter needs no more. */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (double)((w->rng * 2685821657736338717ULL) >> 11) /
	       (double)(1ULL << 53);
}

/* --- worker threads ------------------------------------------------------- */

uint64_t rcw_mono(const struct rc_watch *w)
{
	return w->clk->mono_ms(w->clk->ctx);
}

time_t rcw_wall(const struct rc_watch *w)
{
	return w->clk->wall(w->clk->ctx);
}

static uint64_t wc_mono(void *ctx)
{
	return rcw_mono(ctx);
}

static time_t wc_wall(void *ctx)
{
	return rcw_wall(ctx);
}

/*
 * The engine's sleeps (waits, retries) end at once when stopping, and
 * the full worker's also when a newer spec preempts its reconcile.
 */
static void sleep_unless(struct rc_watch *w, uint64_t ms,
			 const volatile sig_atomic_t *also)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->sleep_m);
	while (!w->cancel && !(also && *also))
		if (pthread_cond_timedwait(&w->sleep_c, &w->sleep_m, &ts) ==
		    ETIMEDOUT)
			break;
	pthread_mutex_unlock(&w->sleep_m);
}

static void wc_sleep(void *ctx, uint64_t ms)
{
	sleep_unless(ctx, ms, NULL);
}

static void wc_sleep_full(void *ctx, uint64_t ms)
{
	struct rc_watch *w = ctx;

	sleep_unless(w, ms, &w->preempt);
}

static void run_job(void *ctx, struct rc_job *j)
{
	struct rc_watch *w = ctx;
	struct rc_cycle_opts o = { 0 };

	util_log_set_thread_spec(w->cfg.controlled ? w->cfg.name : NULL);
	o.concurrency = w->cfg.concurrency;
	o.has_max_changes = w->cfg.has_max_changes;
	o.max_changes = w->cfg.max_changes;
	o.region = w->cfg.region;
	o.clock = j->kind == RC_JOB_FULL ? &w->fclock : &w->wclock;
	o.cancel = &w->cancel;
	o.preempt = j->kind == RC_JOB_FULL ? &w->preempt : NULL;
	o.observe_only = j->observe_only;
	if (j->kind == RC_JOB_FULL)
		rc_cycle_full(w->fp, j->ws->s, j->use_lb, j->use_eip, j->drift,
			      &o, &j->res);
	else
		rc_cycle_failover(w->fp, j->ws->s, j->in, j->n_in, j->now_ms,
				  &o, &j->res);
}

static void arm_resync(struct rc_watch *w)
{
	rc_ev_timer_arm_in(w->resync_t,
			   rc_jitter_ms(w->resync_ms, 10, rcw_rnd(w)));
}

void rcw_fit_resync(struct rc_watch *w)
{
	uint64_t was = w->resync_ms;
	char d1[32], d2[32];

	w->resync_ms = rc_aws_resync_fit(rcw_spec(w), &w->cfg.read_budget,
					 w->cfg.resync_ms, &w->read_share);
	if (w->resync_ms == was)
		return;
	if (w->resync_ms > w->cfg.resync_ms)
		util_log(UTIL_LOG_WARN, "read_budget", w->cfg.spec_path,
			 "a resync's reads do not fit the read budget every "
			 "%s: resyncing every %s instead (ELB account bucket "
			 "%.0f%% used)",
			 util_duration_format(w->cfg.resync_ms, d1, sizeof(d1)),
			 util_duration_format(w->resync_ms, d2, sizeof(d2)),
			 w->read_share.elb_account * 100);
	else if (was)
		util_log(UTIL_LOG_INFO, "read_budget", w->cfg.spec_path,
			 "a resync's reads fit the read budget again: "
			 "resyncing every %s",
			 util_duration_format(w->resync_ms, d1, sizeof(d1)));
	/* The next resync comes at the new pace. */
	if (was && w->resync_t)
		arm_resync(w);
}

static void on_resync(void *ctx)
{
	struct rc_watch *w = ctx;

	if (w->stopping)
		return;
	arm_resync(w);
	if (rc_specwatch_refresh(w->sw))
		util_log(UTIL_LOG_INFO, "watch_restored",
			 rc_specwatch_path(w->sw),
			 "watching the spec's directory again");
	rcw_reload(w, "resync", false, true);
	rcw_full_request(w, "resync");
	rcw_fo_request_all(w);
	rcw_status_soon(w);
}

/* --- workers done, signals, stopping ----------------------------------------- */

static void maybe_finish(struct rc_watch *w)
{
	if (w->full.busy || w->fast.busy)
		return;
	rc_evloop_stop(w->l);
}

static void on_worker(void *ctx, int fd, uint32_t events)
{
	struct rc_watch *w = ctx;
	uint64_t n;
	struct rc_job *j;

	(void)events;
	while (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
	if ((j = rc_worker_collect(&w->full)) != NULL) {
		rc_evloop_release(w->l);
		rcw_full_done(w, j);
		rc_job_free(j);
	}
	if ((j = rc_worker_collect(&w->fast)) != NULL) {
		rc_evloop_release(w->l);
		rcw_fo_done(w, j);
		rc_job_free(j);
	}
	if (w->stopping) {
		maybe_finish(w);
		return;
	}
	rcw_full_start(w);
	rcw_fo_start(w);
}

static void on_stop_timeout(void *ctx)
{
	struct rc_watch *w = ctx;
	char d[32];

	util_log(UTIL_LOG_ERROR, "stop_timeout", NULL,
		 "work in flight did not finish within %s; exiting anyway",
		 util_duration_format(w->cfg.stop_timeout_ms, d, sizeof(d)));
	w->abandoned = true;
	rc_evloop_stop(w->l);
}

static void begin_stop(struct rc_watch *w, const char *sig)
{
	if (w->stopping) {
		util_log(UTIL_LOG_INFO, "watch_stopping", NULL,
			 "%s: already stopping", sig);
		return;
	}
	w->stopping = true;
	util_log(UTIL_LOG_INFO, "watch_stopping", NULL,
		 "%s: finishing the step in flight, then exiting%s", sig,
		 w->full.busy || w->fast.busy ? "" : " (nothing in flight)");
	pthread_mutex_lock(&w->sleep_m);
	w->cancel = 1;
	pthread_cond_broadcast(&w->sleep_c);
	pthread_mutex_unlock(&w->sleep_m);
	for (size_t i = 0; i < w->n_fo; i++) {
		struct rc_fot_addr *a = w->fo[i];

		rc_ev_timer_disarm(a->tick);
		rc_ev_timer_disarm(a->recheck);
		for (size_t k = 0; k < a->n; k++) {
			rc_probe_cancel(a->c[k].probe);
			a->c[k].probe = NULL;
		}
	}
	rc_ev_timer_disarm(w->resync_t);
	rc_ev_timer_disarm(w->debounce_t);
	rc_ev_timer_disarm(w->retry_t);
	rc_ev_timer_arm_in(w->stop_t, w->cfg.stop_timeout_ms);
	maybe_finish(w);
}

static void handle_signal(struct rc_watch *w, unsigned signo)
{
	switch (signo) {
	case SIGHUP:
		if (w->stopping)
			break;
		util_log(UTIL_LOG_INFO, "signal", w->cfg.spec_path,
			 "SIGHUP: re-reading the spec");
		rcw_reload(w, "sighup", true, false);
		break;
	case SIGUSR1:
		rcw_status_log(w);
		break;
	case SIGTERM:
		begin_stop(w, "SIGTERM");
		break;
	case SIGINT:
		begin_stop(w, "SIGINT");
		break;
	default:
		break;
	}
}

static void on_signal(void *ctx, int fd, uint32_t events)
{
	struct signalfd_siginfo si;

	(void)events;
	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		handle_signal(ctx, si.ssi_signo);
}

/* rc_watch_run_many forwards the process's signals, a byte each. */
static void on_control(void *ctx, int fd, uint32_t events)
{
	unsigned char b[64];
	ssize_t n;

	(void)events;
	while ((n = read(fd, b, sizeof(b))) > 0)
		for (ssize_t i = 0; i < n; i++)
			handle_signal(ctx, b[i]);
}

/* --- the lease ----------------------------------------------------------- */

bool rcw_leader(const struct rc_watch *w)
{
	return !w->cfg.lease || rc_lease_held(w->cfg.lease, w->cfg.lease_idx);
}

/*
 * The lease was gained or lost.  Gained: reconcile and check every
 * failover address at once (the probes' verdicts are already known).
 * Lost: the fence already stops every call not yet sent; the reconcile
 * in flight stops waiting, and failover waits for the lease.
 */
static void on_lease(void *ctx, int fd, uint32_t events)
{
	struct rc_watch *w = ctx;
	bool held = rcw_leader(w);
	uint64_t n;

	(void)events;
	while (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		;
	if (held == w->leader || w->stopping)
		return;
	w->leader = held;
	util_log(UTIL_LOG_INFO, held ? "lease_holder" : "lease_follower",
		 w->cfg.spec_path,
		 held ? "holding the lease of '%s': reconciling now"
		      : "not holding the lease of '%s': observing only",
		 w->cfg.name ? w->cfg.name : "?");
	if (held) {
		rcw_full_request(w, "lease");
		rcw_fo_request_all(w);
	} else {
		rcw_preempt_full(w);
	}
	rcw_status_soon(w);
}

/* --- set-up and tear-down ----------------------------------------------------- */

void rc_watch_signal_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGUSR1);
}

void rc_watch_block_signals(void)
{
	sigset_t set;

	rc_watch_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

static void watch_free(struct rc_watch *w)
{
	rc_worker_stop(&w->full);
	rc_worker_stop(&w->fast);
	for (size_t i = 0; i < w->n_fo; i++)
		rc_fot_addr_free(w->fo[i]);
	free(w->fo);
	rc_prober_free(w->pr);
	rc_awsprober_free(w->ap);
	rc_specwatch_free(w->sw);
	rc_evloop_free(w->l);
	if (w->fp != w->p)
		prov_free(w->fp);
	if (w->sigfd >= 0)
		close(w->sigfd);
	if (w->evfd >= 0)
		close(w->evfd);
	rc_snapshots_release(&w->seen);
	rc_backoff_release(&w->bo);
	rc_spec_ref_drop(w->cur);
	free(w->full_trigger);
	free(w->file_error);
	free(w->initial_region);
	free(w->last_reconcile_trigger);
	free(w->last_error);
	free(w->last_error_resource);
	free(w->last_error_code);
	free(w->last_error_rid);
	pthread_mutex_destroy(&w->sleep_m);
	pthread_cond_destroy(&w->sleep_c);
	free(w);
}

/* The signals' fd (or the forwarded ones') and the lease's. */
static int add_fds(struct rc_watch *w, struct util_err *err)
{
	if (w->cfg.controlled ? rc_ev_io_add(w->l, w->cfg.control_fd, EPOLLIN,
					     on_control, w, NULL, err)
			      : rc_ev_io_add(w->l, w->sigfd, EPOLLIN, on_signal,
					     w, NULL, err))
		return -1;
	if (!w->cfg.lease)
		return 0;
	w->fp = prov_fenced_new(w->p,
				rc_lease_fence(w->cfg.lease, w->cfg.lease_idx));
	return rc_ev_io_add(w->l, w->cfg.lease_fd, EPOLLIN, on_lease, w, NULL,
			    err);
}

static int watch_setup(struct rc_watch *w, struct util_err *err)
{
	sigset_t set;
	pthread_condattr_t ca;

	pthread_mutex_init(&w->sleep_m, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->sleep_c, &ca);
	pthread_condattr_destroy(&ca);
	w->wclock.mono_ms = wc_mono;
	w->wclock.wall = wc_wall;
	w->wclock.sleep_ms = wc_sleep;
	w->wclock.ctx = w;
	w->fclock = w->wclock;
	w->fclock.sleep_ms = wc_sleep_full;

	rc_watch_signal_set(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (!w->cfg.controlled) {
		w->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
		if (w->sigfd < 0)
			return util_err_set(err, UTIL_EIO, "signalfd: %s",
					    strerror(errno));
	}
	w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->evfd < 0)
		return util_err_set(err, UTIL_EIO, "eventfd: %s",
				    strerror(errno));
	if (rc_evloop_new(&w->l, err) < 0)
		return -1;
	if (w->cfg.clock)
		rc_evloop_use_clock(w->l, w->clk);
	if (rc_prober_new(w->l, &w->pr, err) < 0 ||
	    rc_awsprober_new(w->l, w->p, &w->ap, err) < 0 ||
	    rc_specwatch_new(w->cfg.spec_path, &w->sw, err) < 0 ||
	    add_fds(w, err) < 0)
		return -1;
	if (rc_ev_io_add(w->l, w->evfd, EPOLLIN, on_worker, w, NULL, err) < 0 ||
	    rc_ev_io_add(w->l, rc_specwatch_fd(w->sw), EPOLLIN, rcw_on_inotify,
			 w, NULL, err) < 0)
		return -1;
	w->debounce_t = rc_ev_timer_new(w->l, rcw_on_debounce, w);
	w->resync_t = rc_ev_timer_new(w->l, on_resync, w);
	w->retry_t = rc_ev_timer_new(w->l, rcw_on_retry, w);
	w->status_t = rc_ev_timer_new(w->l, rcw_on_status_timer, w);
	w->stop_t = rc_ev_timer_new(w->l, on_stop_timeout, w);
	if (w->cfg.httpd)
		rc_httpd_attach(w->cfg.httpd, w->l);
	rc_debounce_init(&w->deb, w->cfg.debounce_ms);
	rc_backoff_init(&w->bo,
			w->cfg.backoff_min_ms ? w->cfg.backoff_min_ms
					      : RC_WATCH_BACKOFF_MIN_MS,
			w->cfg.backoff_max_ms ? w->cfg.backoff_max_ms
					      : RC_WATCH_BACKOFF_MAX_MS);
	if (rc_worker_start(&w->full, "full", run_job, w, w->evfd, err) < 0 ||
	    rc_worker_start(&w->fast, "failover", run_job, w, w->evfd, err) < 0)
		return -1;
	return 0;
}

/*
 * Owns the daemon's life: set-up, the first reconcile, the loop, the last
 * status write and tear-down (hence over 60 lines).
 */
int rc_watch_run(struct prov *p, struct spec *initial,
		 const struct rc_watch_config *cfg, bool *ret_abandoned,
		 struct util_err *err)
{
	struct rc_watch *w = util_xcalloc(1, sizeof(*w));
	const struct spec *s;
	char d1[32], d2[32];
	size_t lbs, members, eips;
	int r = -1;

	*ret_abandoned = false;
	w->cfg = *cfg;
	if (!w->cfg.resync_ms)
		w->cfg.resync_ms = RC_WATCH_DEFAULT_RESYNC_MS;
	if (!w->cfg.stop_timeout_ms)
		w->cfg.stop_timeout_ms = RC_WATCH_DEFAULT_STOP_TIMEOUT_MS;
	w->p = w->fp = p;
	w->clk = cfg->clock ? cfg->clock : &util_clock_system;
	w->sigfd = w->evfd = -1;
	w->rng = (uint64_t)util_mono_ms() * 0x9E3779B97F4A7C15ULL ^
		 (uint64_t)getpid() ^ (uint64_t)time(NULL) << 20;
	if (!w->rng)
		w->rng = 1;
	w->cur = rc_spec_ref_new(initial, 1);
	s = initial;
	w->initial_region = util_xstrdup_or_null(s->region);
	memcpy(w->seen_sha, s->sha256, sizeof(w->seen_sha));
	w->started_at = w->spec_loaded_at = rcw_wall(w);
	if (watch_setup(w, err) < 0)
		goto out;
	rcw_fo_rebuild(w);
	rcw_fit_resync(w);

	spec_counts(s, &lbs, &members, &eips);
	util_log(UTIL_LOG_INFO, "watch_started", w->cfg.spec_path,
		 "watching '%s' (sha256 %.12s): %zu load balancer%s, %zu "
		 "member%s, %zu elastic IP%s (%zu with failover); resync "
		 "every %s, debounce %s",
		 w->cfg.spec_path, s->sha256, lbs, lbs == 1 ? "" : "s", members,
		 members == 1 ? "" : "s", eips, eips == 1 ? "" : "s", w->n_fo,
		 util_duration_format(w->resync_ms, d1, sizeof(d1)),
		 util_duration_format(w->cfg.debounce_ms, d2, sizeof(d2)));
	if (!rc_specwatch_complete(w->sw))
		util_log(UTIL_LOG_WARN, "watch_failed", w->cfg.spec_path,
			 "not every inotify watch is in place; edits are "
			 "picked up at the next resync");
	rcw_full_request(w, "startup");
	rcw_fo_request_all(w);
	arm_resync(w);
	rcw_status_write(w);

	if (rc_evloop_run(w->l, err) < 0)
		goto out;
	*ret_abandoned = w->abandoned;
	rcw_status_write(w);
	util_log(UTIL_LOG_INFO, "watch_stopped", NULL, "stopped%s",
		 w->abandoned ? " with work in flight" : "");
	r = 0;
out:
	if (w->abandoned)
		return r; /* a worker still uses w: the caller exits */
	watch_free(w);
	return r;
}
