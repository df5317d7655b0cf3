#ifndef RECONCILER_DAEMON_WATCH_H
#define RECONCILER_DAEMON_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/provider.h"
#include "reconciler/daemon/httpd.h"
#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/lease.h"
#include "spec/spec.h"
#include "util/clock.h"
#include "util/err.h"

/*
 * moor watch: the daemon that keeps live state equal to the spec file.
 *
 * Threads.  One thread runs the event loop (evloop.h): the inotify fd
 * (specwatch.h), a signalfd, an eventfd the workers signal on, libcurl's
 * probe sockets (probe.h) and timers (debounce, resync, probe rounds,
 * retries, status writes, the stop deadline).  Two worker threads run
 * the blocking engine calls (cycle.h), one job at a time each:
 *
 *   full      observe, plan, apply the groups and the addresses without
 *             failover; its health waits may take minutes
 *   failover  check and move failover addresses; short, and never
 *             queued behind a full reconcile, so a move is as fast as
 *             the probes allow
 *
 * Triggers that arrive while a worker is busy coalesce into one
 * follow-up run.  A newer spec pre-empts the full worker's reconcile:
 * its waits end at once and its unsent steps are skipped (apply.h), and
 * the follow-up runs the newer spec.  The failover worker is never
 * pre-empted.  The loop owns all state; workers get a reference to
 * the spec in force and copies of what they need, and hand results back
 * through the eventfd.
 *
 * Triggers.  A change of the spec file (debounced), SIGHUP (re-read
 * now, reconcile even if unchanged), the resync timer (jittered +-10%:
 * re-read the file, re-observe everything, correct drift, re-check every
 * floating IP), and health probes: after every probe result the address
 * is re-evaluated (failover.h) from the cached state, and a failover
 * cycle is started when it should move.
 *
 * Safety.  The first spec must be valid (the caller checks).  Later, a
 * file that does not parse or validate, is empty, missing, unreadable or
 * changes the region is logged and ignored: the last good spec stays in
 * force, and the warning is repeated on every resync until it is fixed.
 * Mass deregistration is never allowed.  A resource whose reconcile
 * fails backs off (1 s doubling to 5 min) and is retried when its wait
 * is over; a new spec clears every backoff.
 *
 * Stopping.  SIGTERM or SIGINT: probes stop, the engine's cancel flag is
 * set (apply finishes the steps in flight and skips the rest; waits and
 * retry sleeps end at once), and rc_watch_run returns 0 when both
 * workers are idle, or after stop_timeout_ms with *ret_abandoned set
 * (a worker is still inside an AWS call; the caller must exit without
 * freeing what the worker uses).  SIGUSR1 logs the status.
 *
 * Log events (util_log): watch_started, watch_stopping, watch_stopped,
 * stop_timeout, spec_reloaded, spec_unchanged, spec_restored,
 * spec_invalid, spec_missing, spec_empty, spec_unreadable, spec_warning,
 * reconcile, reconcile_preempted, backoff, probe_up, probe_down,
 * failover_damped, all_candidates_down, read_budget, status, status_address,
 * status_group; and from cycle.h: apply_phase, apply_step, apply_failed,
 * apply_skipped, observe_failed, plan_refused, drift_corrected, failover,
 * failback, associated, holder_changed.
 */

#define RC_WATCH_DEFAULT_RESYNC_MS	 60000
#define RC_WATCH_DEFAULT_DEBOUNCE_MS	 200
#define RC_WATCH_DEFAULT_STOP_TIMEOUT_MS 30000
#define RC_WATCH_BACKOFF_MIN_MS		 1000
#define RC_WATCH_BACKOFF_MAX_MS		 (5 * 60 * 1000)

struct rc_watch_config {
	const char *spec_path;
	uint64_t resync_ms;	  /* 0 = RC_WATCH_DEFAULT_RESYNC_MS */
	uint64_t debounce_ms;	  /* quiet time after the last file event */
	uint64_t stop_timeout_ms; /* 0 = RC_WATCH_DEFAULT_STOP_TIMEOUT_MS */
	const char *status_file;  /* NULL = none */
	const char *metrics_file; /* NULL = none */
	unsigned concurrency;	  /* reads and steps in parallel; 0 = 8 */
	bool has_max_changes;	  /* else no cap */
	unsigned max_changes;	  /* per plan; 0 allows none */
	const char *region;	  /* recorded in plans; may be NULL */
	/*
	 * The region comes from the command line: the spec's `region:` may
	 * change.  Otherwise an edit that changes it is refused (the
	 * provider was opened for the first one).
	 */
	bool region_fixed;
	uint64_t backoff_min_ms, backoff_max_ms; /* 0 = the defaults */
	/* --listen (httpd.h): fed from the loop; the caller's.  May be NULL. */
	struct rc_httpd *httpd;
	/* What AWS probes may read; an edit over it is refused.  Zeroed = any. */
	struct rc_aws_budget read_budget;
	/*
	 * The daemon's time (timers, deadlines, status times); NULL = the
	 * system clock.  Another clock also drives the event loop
	 * (rc_evloop_use_clock), for tests.  Borrowed: outlives the run.
	 */
	const struct util_clock *clock;
	/*
	 * The spec's name (its lease's; NULL = none).  With controlled (several
	 * specs in one process, rc_watch_run_many), the process's signals
	 * arrive on control_fd, one byte per signal number, instead of on a
	 * signalfd of the daemon's own.
	 */
	const char *name;
	bool controlled;
	int control_fd;
	/*
	 * With --lease-table (lease.h): the manager and this spec's index in
	 * it, and an eventfd written when the lease is gained or lost.  Only
	 * the holder mutates (through a fenced provider); a follower
	 * observes, probes and keeps its status.  lease NULL = sole replica.
	 */
	struct rc_lease *lease;
	size_t lease_idx;
	int lease_fd;
	const char *lease_table, *replica_id; /* for the status */
};

/*
 * Block the signals the daemon reads through its signalfd (HUP, INT,
 * TERM, USR1) in the calling thread.  Call it before any thread is
 * created (the provider's included), so every thread inherits the mask.
 */
void rc_watch_block_signals(void);

/*
 * Run the daemon until SIGTERM/SIGINT.  Takes ownership of initial (the
 * valid spec read at start-up; freed here).  p must stay valid until
 * return (if *ret_abandoned, until the process exits).  Returns 0 after
 * a stop, or a negative code when the daemon cannot start (inotify,
 * epoll, threads) with err set.
 */
int rc_watch_run(struct prov *p, struct spec *initial,
		 const struct rc_watch_config *cfg, bool *ret_abandoned,
		 struct util_err *err);

/* The signals the daemon reads (HUP, INT, TERM, USR1), into *set. */
void rc_watch_signal_set(sigset_t *set);

/* One spec of rc_watch_run_many: spec is taken (NULLed), cfg copied. */
struct rc_watch_member {
	struct spec *spec;
	struct rc_watch_config cfg;
};

/*
 * Several specs in one process, or one spec with leases: a daemon per
 * spec (rc_watch_run) on a thread of its own; the process's signals go
 * to every one.  With lc (--lease-table; names are the cfg's), only the
 * holder of a spec's lease mutates for it, and the leases held are
 * released after a clean stop.  Each cfg must name its status and
 * metrics files apart and leave httpd NULL but for one member.  Returns
 * like rc_watch_run; a daemon that cannot start stops them all.
 */
int rc_watch_run_many(struct prov *p, struct rc_watch_member *specs, size_t n,
		      const struct rc_lease_config *lc, bool *ret_abandoned,
		      struct util_err *err);

#endif
