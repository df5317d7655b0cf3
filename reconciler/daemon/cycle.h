#ifndef RECONCILER_DAEMON_CYCLE_H
#define RECONCILER_DAEMON_CYCLE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/provider.h"
#include "reconciler/engine/apply.h"
#include "reconciler/daemon/failover.h"
#include "spec/spec.h"
#include "util/clock.h"
#include "util/err.h"

/*
 * One reconcile of `moor watch`: observe, plan and apply with the
 * engine's rules and guards, synchronously (the daemon runs it on a
 * worker thread).  Two kinds:
 *
 *  - full (rc_cycle_full): the groups and the addresses without a
 *    failover block that the caller selects (the daemon leaves out
 *    resources backing off after a failure).  Mass deregistration is
 *    never allowed.  When the plan is refused, the resources the refusal
 *    names are set aside and the rest is planned again, so one bad group
 *    does not stop drift correction everywhere else.
 *  - failover (rc_cycle_failover): some failover addresses.  It observes
 *    each address and its candidates, decides with rc_fo_decide() from
 *    the health verdicts it is given and what it just observed, and
 *    plans only those addresses, with the engine's candidate_ok hook
 *    admitting only the chosen candidate, so a move is exactly one
 *    AssociateAddress with reassociation allowed, with the engine's
 *    preconditions and report.  Failover addresses are never part of a
 *    full reconcile: a full plan can wait minutes for health before its
 *    address phase, by which time its choice of holder may be stale.
 *
 * Events are logged through util_log as they happen: apply_phase,
 * apply_step (by the engine), apply_failed (with the AWS code, HTTP
 * status and request id), plan_refused (one per reason, with its spec
 * location), held_back (one per group a guard holds back, with the
 * reason), drift_corrected, failover, failback, observe_failed.
 *
 * Ownership: struct rc_cycle_result owns everything it points to; free
 * with rc_cycle_result_release().
 */

struct rc_cycle_opts {
	unsigned concurrency;		/* reads and steps in parallel; 0 = 8 */
	bool has_max_changes;		/* else no cap */
	unsigned max_changes;		/* 0 allows none */
	const char *region;		/* recorded in plans; may be NULL */
	const struct util_clock *clock; /* apply's; NULL = system */
	const volatile sig_atomic_t *cancel; /* may be NULL */
	/*
	 * Set when a newer spec is in force: apply's waits end, steps not yet
	 * sent are skipped, the status is preempted (apply.h).  May be NULL.
	 */
	const volatile sig_atomic_t *preempt;
	uint64_t poll_min_ms, poll_max_ms; /* apply's waits; 0 = default */
	/*
	 * A follower's cycle (--lease-table, not the holder): observe,
	 * decide and plan, apply nothing; planned counts the changes.
	 */
	bool observe_only;
};

enum rc_cycle_status {
	RC_CYCLE_OK = 0,  /* everything selected is as declared */
	RC_CYCLE_ERROR,	  /* an observation or a step failed */
	RC_CYCLE_REFUSED, /* a guard or precondition refused (part of) it */
	RC_CYCLE_CANCELED,
	RC_CYCLE_PREEMPTED, /* a newer spec stopped it: run that one instead */
};

const char *rc_cycle_status_name(enum rc_cycle_status s);

/* What became of one resource (for per-resource backoff). */
struct rc_cycle_outcome {
	char *key;   /* resource key ("tg:web"), or "*" for everything */
	char *label; /* display name */
	bool failed; /* failed, skipped or refused: back off */
	bool refused;
	struct util_err err;
};

struct rc_cycle_member {
	char *id;
	int port;
	enum prov_health health;
};

/* A group as observed (for the status file). */
struct rc_cycle_group {
	char *label;
	enum spec_lb_kind kind;
	bool found;
	struct rc_cycle_member *members; /* at most RC_CYCLE_MAX_MEMBERS */
	size_t n_members;
	size_t total, healthy;
	size_t held_back; /* undeclared members a guard keeps registered */
};

#define RC_CYCLE_MAX_MEMBERS 1000

/* An address as observed. */
struct rc_cycle_addr {
	char *key;
	char *label;
	bool found;
	char *public_ip;
	char *holder; /* instance id, else ENI id; NULL when unbound */
	bool bound;
};

/* Failover: the inputs for one address. */
struct rc_cycle_fo_in {
	size_t eip;		      /* index into spec->eips */
	const enum rc_health *health; /* per candidate, in spec order */
	uint64_t last_move_ms;	      /* 0 = never moved */
	/* The holder last seen (NULL: unbound), if seen at all. */
	bool holder_known;
	const char *holder;
};

struct rc_cycle_fo_cand {
	char *instance;
	bool found;
	enum prov_instance_state state;
	char *private_ip;
};

/* Failover: what happened to one address. */
struct rc_cycle_fo_out {
	struct rc_cycle_addr addr;
	bool observed;
	int holder_idx; /* candidate index of the holder, -1 if none */
	struct rc_cycle_fo_cand *cands;
	size_t n_cands;
	struct rc_fo_decision decision;
	bool moved; /* an associate or move was made */
	char *from, *to;
	bool drift; /* the holder had changed behind our back */
	bool failed;
	struct util_err err;
};

struct rc_cycle_result {
	enum rc_cycle_status status;
	struct util_err err; /* the first failure */
	char *err_resource;  /* label it concerns, or NULL */
	bool observed;	     /* the observation succeeded */
	size_t changes;	     /* steps done */
	size_t planned;	     /* observe_only: changes the plan holds */
	size_t drift;	     /* of which undid drift */
	size_t held_back;    /* members the plan held back (rc_plan.held) */
	uint64_t elapsed_ms;
	struct rc_cycle_outcome *outcomes;
	size_t n_outcomes;
	struct rc_cycle_group *groups; /* full */
	size_t n_groups;
	struct rc_cycle_addr *addrs; /* full: the addresses it planned */
	size_t n_addrs;
	struct rc_cycle_fo_out *fo; /* failover */
	size_t n_fo;
};

void rc_cycle_result_release(struct rc_cycle_result *r);

/*
 * Full reconcile of the selected groups (use_lb) and addresses (use_eip;
 * failover addresses among them are ignored).  drift: s is the spec last
 * applied in full, so any change made undoes drift (logged as
 * drift_corrected and counted).  Always fills *ret; returns 0 when
 * status is RC_CYCLE_OK, else a negative code (err in ret).
 */
int rc_cycle_full(struct prov *p, const struct spec *s, const bool *use_lb,
		  const bool *use_eip, bool drift,
		  const struct rc_cycle_opts *o, struct rc_cycle_result *ret);

/*
 * Check and, if need be, move the failover addresses in[0..n) (now_ms is
 * the monotonic time the damping compares with).  Always fills *ret
 * (ret->fo parallel to in); returns 0 when nothing failed.
 */
int rc_cycle_failover(struct prov *p, const struct spec *s,
		      const struct rc_cycle_fo_in *in, size_t n,
		      uint64_t now_ms, const struct rc_cycle_opts *o,
		      struct rc_cycle_result *ret);

/* Resource keys of spec entries, as plans name them (caller frees). */
char *rc_cycle_lb_key(const struct spec_lb *lb);
char *rc_cycle_eip_key(const struct spec_eip *e);

#endif
