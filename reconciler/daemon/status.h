#ifndef RECONCILER_DAEMON_STATUS_H
#define RECONCILER_DAEMON_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/fotable.h"
#include "reconciler/daemon/snapshots.h"
#include "spec/spec.h"
#include "util/err.h"

struct buf;

/*
 * The status of `moor watch`, as a value, and its two renderings:
 *
 *  - the status file (--status-file): JSON, format "moor-watch-status"
 *    version 1, for humans, scripts and monitoring;
 *  - the metrics file (--metrics-file): the Prometheus text exposition
 *    format, for node_exporter's textfile collector.
 *
 * Both files are replaced atomically (rc_status_write_file: a temporary
 * file in the same directory, fsync, rename), so a reader never sees half
 * a file.
 *
 * Every string in these structs is borrowed from the daemon's state for
 * the duration of one render call; NULL means "not known" and is
 * rendered as JSON null (or left out of the metrics).  Times are wall
 * clock seconds since the epoch, 0 = never.
 */

struct rc_status_cand {
	const char *instance;
	const char *private_ip;
	bool observed;	    /* seen in AWS (else: unknown or gone) */
	const char *state;  /* instance state word ("running"), or NULL */
	const char *health; /* "up", "down", "unknown" */
	unsigned ok_streak, fail_streak;
	const char *probe; /* what is probed ("http http://..."), or NULL */
	const char *last_result; /* "HTTP 200", "connection refused" */
	time_t last_probe_at;
};

struct rc_status_addr {
	const char *label;
	const char *public_ip;
	const char *holder; /* instance or ENI id; NULL when unbound */
	bool failover;
	/* Failover addresses only: */
	const char *failback; /* "stay", "prefer_first" */
	const char *verdict;  /* the last decision: "keep", "move", ... */
	const char *desired;  /* the candidate it should be on, or NULL */
	time_t damped_until;
	uint64_t moves; /* moves made by failover since start */
	time_t last_move_at;
	const struct rc_status_cand *cands;
	size_t n_cands;
	const char *last_error;
};

struct rc_status_member {
	const char *id;
	int port;	    /* 0 for Classic ELBs */
	const char *health; /* "healthy", "unhealthy", "initial", ... */
};

struct rc_status_group {
	const char *label;
	const char *kind; /* "classic", "target_group" */
	bool found;
	const struct rc_status_member *members;
	size_t n_members; /* as listed (may be capped) */
	size_t total;	  /* all present members */
	size_t healthy;
	size_t held_back; /* undeclared members a guard keeps registered */
	time_t observed_at;
	const char *last_error;
};

struct rc_status_lease {
	const char *table;
	const char *replica_id;
	bool held; /* by this replica, fence open */
	const char *holder;
	uint64_t age_ms;
	uint64_t transitions; /* gained or lost by this replica */
	unsigned live_replicas;
	unsigned target; /* the most leases a replica keeps: ceil(N/R) */
};

struct rc_status {
	const char *moor_version;
	long pid;
	time_t started_at;
	time_t updated_at;

	const char *spec_path;
	const char *spec_sha256; /* of the spec in force */
	time_t spec_loaded_at;
	/* What is on disk: "ok", "invalid", "missing", "empty", ... */
	const char *spec_file;
	const char *spec_file_error; /* why it is not in force, or NULL */

	time_t last_reconcile_at;
	const char *last_reconcile_trigger;
	const char *last_reconcile_result; /* "ok", "error", "refused" */
	size_t last_reconcile_changes;
	size_t last_reconcile_held_back; /* held back by a guard */
	uint64_t last_reconcile_ms;
	time_t last_success_at;

	time_t last_error_at;
	const char *last_error; /* one line, or NULL */
	const char *last_error_resource;
	const char *last_error_code; /* AWS code, or NULL */
	const char *last_error_request_id;

	uint64_t reconcile_ok, reconcile_error, reconcile_refused;
	uint64_t drift_corrections;
	size_t resources_backing_off;
	/* Members held back by a guard, over every group's last reconcile. */
	size_t held_back;

	/*
	 * The read budget (--read-budget): the share of each ELB bucket's
	 * refill moor may spend, the resync period it fits in, and the
	 * share a resync plus the AWS probes spend per period.
	 */
	double read_budget;
	uint64_t resync_ms;
	struct rc_aws_share read_share;

	/*
	 * --lease-table: the spec's lease (lease NULL without one).  holder
	 * is the replica seen holding it ("" when free); age is since its
	 * record version last changed, on this replica's clock.
	 */
	const char *spec_name;
	const struct rc_status_lease *lease;

	const struct rc_status_addr *addrs;
	size_t n_addrs;
	const struct rc_status_group *groups;
	size_t n_groups;
};

/* Append the status file's JSON (pretty-printed, final newline). */
int rc_status_to_json(const struct rc_status *s, struct buf *out,
		      struct util_err *err);
/* Append the metrics in the Prometheus text format. */
void rc_status_to_metrics(const struct rc_status *s, struct buf *out);
/* The file on disk is the spec in force (moor_spec_in_force). */
bool rc_status_spec_in_force(const struct rc_status *s);

/*
 * A failover address into sa at now (the monotonic clock) / now_wall (the
 * same instant on the wall clock): *cands (caller frees) holds its
 * candidates; sa points into a, which must outlive it.
 */
void rc_status_fill_fo_addr(const struct rc_fot_addr *a,
			    enum spec_failback failback, uint64_t now,
			    time_t now_wall, struct rc_status_addr *sa,
			    struct rc_status_cand **cands);

/*
 * Every group of s, as sn last saw it, into groups (s->n_lbs of them) and
 * st; members[i] (caller frees) holds group i's members.  Counts held-back
 * members into st->held_back.  The entries point into s and sn.
 */
void rc_status_fill_groups(const struct spec *s, const struct rc_snapshots *sn,
			   struct rc_status *st, struct rc_status_group *groups,
			   struct rc_status_member **members);

/* An error as one line, as the status file shows it (caller frees). */
char *rc_status_err_line(const struct util_err *e);

/*
 * Replace path with data atomically, mode 0644 (util_write_file_atomic():
 * PATH.tmp.PID, fsync, rename).  node_exporter's textfile collector reads
 * only *.prom names, so it never sees the temporary file.
 */
int rc_status_write_file(const char *path, const char *data, size_t len,
			 struct util_err *err);

#endif
