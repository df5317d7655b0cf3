#ifndef RECONCILER_DAEMON_FAILOVER_H
#define RECONCILER_DAEMON_FAILOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/provider.h"
#include "spec/spec.h"

/*
 * Failover decisions for `moor watch`: pure functions of their inputs
 * (health verdicts, instance states, where the address is, the time), so
 * unit tests drive them with a hand-made clock.
 *
 * Health of one candidate follows keepalived / HAProxy: `fall` failed
 * probes in a row mark it down, `rise` passed probes in a row mark it up.
 * A candidate starts unknown and gets its first verdict from whichever
 * streak completes first.  "Up" therefore always means "passed `rise`
 * probes in a row", which is what prefer_first waits for before failing
 * back.
 *
 * Where an address should be (rc_fo_decide), with h its holder:
 *
 *  - h is a candidate, running and not down (up, or not known yet):
 *    keep it there.  A holder whose health is still unknown is never
 *    moved away from, so a daemon that just started moves nothing.  With
 *    failback prefer_first and h up, an earlier candidate that is up and
 *    running takes it back (failback).
 *  - h is down or no longer running, or the address is unbound or bound
 *    to something that is not a candidate: the first candidate in order
 *    that is up and running gets it.  An unknown candidate is not up.
 *  - nobody qualifies: leave the address where it is.  That is
 *    RC_FO_ALL_DOWN when every candidate is down or not running (an
 *    alert), RC_FO_WAITING when some running candidate has no verdict
 *    yet.
 *
 * Flap damping: at most one move per address per damp_ms
 * (interval x (fall + rise)).  A move decided sooner is RC_FO_DAMPED,
 * to be retried at retry_at_ms.
 */

enum rc_health {
	RC_HEALTH_UNKNOWN = 0,
	RC_HEALTH_UP,
	RC_HEALTH_DOWN,
};

const char *rc_health_name(enum rc_health h);

/* One candidate's probe history.  Zeroed = unknown, no streak. */
struct rc_hc {
	enum rc_health state;
	unsigned ok_streak;   /* passed probes in a row */
	unsigned fail_streak; /* failed probes in a row */
};

/*
 * Record one probe result (fall, rise >= 1).  Returns true when the
 * verdict changed (unknown -> up/down, up -> down, down -> up).
 */
bool rc_hc_record(struct rc_hc *h, bool ok, unsigned fall, unsigned rise);
/* Back to unknown (the instance stopped, or its address changed). */
void rc_hc_reset(struct rc_hc *h);

/* What the decision needs to know about one candidate. */
struct rc_fo_cand {
	enum rc_health health;
	bool running; /* observed running */
};

struct rc_fo_input {
	const struct rc_fo_cand *cands; /* in order of preference */
	size_t n_cands;
	/* Index of the candidate holding the address, -1 if none does. */
	int holder;
	/* Bound to something (a non-candidate when holder < 0). */
	bool bound;
	enum spec_failback failback;
	uint64_t now_ms;
	uint64_t last_move_ms; /* when this address last moved; 0 = never */
	uint64_t damp_ms;      /* minimum time between two moves */
};

enum rc_fo_verdict {
	RC_FO_KEEP = 0, /* where it is is where it should be */
	RC_FO_MOVE,	/* move (or associate) to target */
	RC_FO_DAMPED,	/* should move to target, not before retry_at_ms */
	RC_FO_ALL_DOWN, /* no candidate can take it: leave it, alert */
	RC_FO_WAITING,	/* no candidate up yet, some not known: leave it */
};

enum rc_fo_reason {
	RC_FO_WHY_NONE = 0,
	RC_FO_WHY_HOLDER_DOWN,	      /* the holder's probes fail */
	RC_FO_WHY_HOLDER_NOT_RUNNING, /* the holder is not running */
	RC_FO_WHY_FAILBACK,	      /* prefer_first: an earlier one is up */
	RC_FO_WHY_UNBOUND,	      /* the address is bound to nothing */
	RC_FO_WHY_NOT_CANDIDATE,      /* bound to something not a candidate */
};

struct rc_fo_decision {
	enum rc_fo_verdict verdict;
	/*
	 * MOVE, DAMPED: the candidate it should go to.  KEEP: the holder.
	 * ALL_DOWN, WAITING: -1.
	 */
	int target;
	enum rc_fo_reason reason; /* MOVE, DAMPED: why it should move */
	uint64_t retry_at_ms;	  /* DAMPED: when the move is allowed */
};

void rc_fo_decide(const struct rc_fo_input *in, struct rc_fo_decision *ret);

/*
 * Running, as a decision counts it: a failover cycle looked the instance
 * up (observed) and saw it running.  The one definition for the loop
 * (from what it last saw) and a failover cycle (from what it just saw).
 */
bool rc_fo_running(bool observed, enum prov_instance_state state);

/*
 * The decision input for an address of failover block f, cands being its
 * f->n_candidates candidates in order (the caller's; not copied), holder
 * the index of the one holding it (-1: none), bound whether it is bound to
 * anything, at now_ms, last moved at last_move_ms (0: never).
 */
void rc_fo_input_init(struct rc_fo_input *in, const struct spec_failover *f,
		      const struct rc_fo_cand *cands, int holder, bool bound,
		      uint64_t now_ms, uint64_t last_move_ms);

const char *rc_fo_verdict_name(enum rc_fo_verdict v);
/* "failover", "failback", "drift" ... as log events and JSON name them. */
const char *rc_fo_reason_name(enum rc_fo_reason r);

/*
 * Log failover_damped: label should move to target (for reason) but
 * moved moved_ago_ms ago, and damping holds it for holds_ms more.
 */
void rc_fo_log_damped(const char *label, const char *target,
		      enum rc_fo_reason reason, uint64_t moved_ago_ms,
		      uint64_t holds_ms);

/* interval x (fall + rise), the damping window of a failover block. */
uint64_t rc_fo_damp_ms(const struct spec_failover *f);

#endif
