#ifndef RECONCILER_DAEMON_WATCH_INT_H
#define RECONCILER_DAEMON_WATCH_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/backoff.h"
#include "reconciler/daemon/evloop.h"
#include "reconciler/daemon/fotable.h"
#include "reconciler/daemon/probe.h"
#include "reconciler/daemon/snapshots.h"
#include "reconciler/daemon/spec_ref.h"
#include "reconciler/daemon/specwatch.h"
#include "reconciler/daemon/watch.h"
#include "reconciler/daemon/workers.h"
#include "spec/spec.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/hash.h"

/*
 * Inside `moor watch`: the daemon's state and what its modules call on
 * each other.  Only reconciler/daemon/ includes this.  Everything here
 * runs on the event loop's thread, which alone reads and writes struct
 * rc_watch (the workers get copies and references, workers.h).
 *
 *   watch.c      set-up, signals, stopping, the resync, worker clocks
 *   reload.c     reading the spec file and putting a new spec in force
 *   proberounds.c  the failover table's probe rounds and their results
 *   fosched.c    failover decisions on the loop and failover jobs
 *   fullsched.c  full reconciles: scheduling, retries, pre-emption
 *   report.c     counters, SIGUSR1's status lines, status/metrics files
 *
 * Memory: struct rc_watch owns every pointer in it except p (the
 * caller's provider), cfg.lease and cfg's strings (the caller's, alive
 * until rc_watch_run returns).
 */

struct rc_watch {
	struct rc_watch_config cfg;
	char *initial_region;
	struct prov *p;
	/*
	 * What the workers call: p behind the lease's fence (fenced.h) with
	 * --lease-table, else p.  leader: the lease was held when last
	 * looked at (the fence itself decides each call).
	 */
	struct prov *fp;
	bool leader;
	struct rc_evloop *l;
	struct rc_prober *pr;
	struct rc_awsprober *ap;
	struct rc_specwatch *sw;
	int sigfd, evfd;
	struct rc_ev_timer *debounce_t, *resync_t, *retry_t, *status_t, *stop_t;
	struct rc_debounce deb;
	uint64_t rng;
	/*
	 * The resync period in force: cfg.resync_ms, or longer when a
	 * resync's reads would not fit the read budget (rcw_fit_resync),
	 * and each ELB bucket's share they spend.
	 */
	uint64_t resync_ms;
	struct rc_aws_share read_share;

	struct rc_spec_ref *cur;
	char seen_sha[UTIL_SHA256_HEX_SIZE]; /* file content last read */
	/*
	 * The spec generation last applied whole.  Drift is a difference
	 * found while that generation is still in force: moor left live
	 * state as it declares, so only someone else changed it.  A spec
	 * edited back to an earlier text is a new generation, not drift.
	 */
	uint64_t applied_gen;
	/* What is on disk; TOO_BIG is kept as UNREADABLE. */
	enum rc_spec_file file;
	char *file_error;
	time_t spec_loaded_at;

	struct rc_backoff bo;
	struct rc_fot_addr **fo;
	size_t n_fo;
	struct rc_worker full, fast;
	bool full_pending;
	char *full_trigger;

	bool stopping, abandoned;
	volatile sig_atomic_t cancel;
	/* A newer spec is in force: the full worker's reconcile is moot. */
	volatile sig_atomic_t preempt;
	pthread_mutex_t sleep_m;
	pthread_cond_t sleep_c;
	const struct util_clock *clk; /* cfg.clock or the system one */
	struct util_clock wclock;     /* the failover worker's */
	struct util_clock fclock; /* the full worker's: preempt ends sleeps */

	/* status */
	time_t started_at;
	time_t last_reconcile_at, last_success_at, last_error_at;
	char *last_reconcile_trigger;
	const char *last_reconcile_result;
	size_t last_reconcile_changes;
	size_t last_reconcile_held_back;
	uint64_t last_reconcile_ms;
	char *last_error, *last_error_resource, *last_error_code,
		*last_error_rid;
	uint64_t n_ok, n_error, n_refused, n_drift;
	struct rc_snapshots seen; /* what the last full reconciles saw */
	uint64_t last_status_ms;
	bool status_warned, metrics_warned;
};

/* The spec in force (owned by w->cur). */
static inline const struct spec *rcw_spec(const struct rc_watch *w)
{
	return w->cur->s;
}

/* watch.c: the resync period the spec in force fits the budget at. */
void rcw_fit_resync(struct rc_watch *w);

/* watch.c: whether this replica may mutate (no lease, or it holds it). */
bool rcw_leader(const struct rc_watch *w);

/* watch.c: a number in [0, 1) for jitter. */
double rcw_rnd(struct rc_watch *w);

/* reload.c */
/*
 * Look at the file: a new valid spec replaces the one in force; anything
 * else keeps it.  force (SIGHUP): reconcile even when nothing changed.
 * again (resync): repeat the warning for a file still not usable.
 */
/* The daemon's clock (rc_watch_config.clock): monotonic ms, wall time. */
uint64_t rcw_mono(const struct rc_watch *w);
time_t rcw_wall(const struct rc_watch *w);

void rcw_reload(struct rc_watch *w, const char *trigger, bool force,
		bool again);
/* Loop callbacks: the debounce timer (ctx w), the inotify fd. */
void rcw_on_debounce(void *ctx);
void rcw_on_inotify(void *ctx, int fd, uint32_t events);

/* proberounds.c */
/* The failover address's spec, and the entry for key (or NULL). */
const struct spec_failover *rcw_fo_spec(const struct rc_fot_addr *a);
struct rc_fot_addr *rcw_fo_find(const struct rc_watch *w, const char *key);
/*
 * The failover table for the spec in force, keeping what is known (health,
 * holder, damping) of addresses and candidates that stay.
 */
void rcw_fo_rebuild(struct rc_watch *w);

/* fosched.c */
/* Decide for a from the cached state; start a failover cycle if it moves. */
void rcw_fo_evaluate(struct rc_fot_addr *a);
/* Timer callback of a->recheck (ctx a). */
void rcw_fo_recheck(void *ctx);
/* A failover cycle for every address asking for one. */
void rcw_fo_start(struct rc_watch *w);
/* Every failover address, for the resync and a new spec. */
void rcw_fo_request_all(struct rc_watch *w);
/* The failover worker handed back j (still the caller's to free). */
void rcw_fo_done(struct rc_watch *w, struct rc_job *j);

/* fullsched.c */
/* Ask for a full reconcile (coalesced while the worker is busy). */
void rcw_full_request(struct rc_watch *w, const char *trigger);
void rcw_full_start(struct rc_watch *w);
/* The full worker handed back j (still the caller's to free). */
void rcw_full_done(struct rc_watch *w, struct rc_job *j);
/* Back off what j's cycle failed, forget what worked. */
void rcw_apply_outcomes(struct rc_watch *w, const struct rc_job *j);
/* Record last_success_at when live state equals the spec. */
void rcw_success_check(struct rc_watch *w, const struct rc_cycle_result *r);
/* The retry timer: when the earliest non-failover backoff ends. */
void rcw_arm_retry(struct rc_watch *w);
void rcw_on_retry(void *ctx);
/* A newer spec is in force: end the full worker's waits and steps. */
void rcw_preempt_full(struct rc_watch *w);

/* report.c */
/* Count j's result and keep it (and its error) for the status. */
void rcw_count_result(struct rc_watch *w, const struct rc_job *j);
/* SIGUSR1: the status as log lines. */
void rcw_status_log(struct rc_watch *w);
/* Write the status and metrics files now, or soon (rate-limited). */
void rcw_status_write(struct rc_watch *w);
void rcw_status_soon(struct rc_watch *w);
void rcw_on_status_timer(void *ctx);

#endif
