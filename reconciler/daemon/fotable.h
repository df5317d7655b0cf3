#ifndef RECONCILER_DAEMON_FOTABLE_H
#define RECONCILER_DAEMON_FOTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "providers/provider.h"
#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/cycle.h"
#include "reconciler/daemon/evloop.h"
#include "reconciler/daemon/failover.h"
#include "reconciler/daemon/probe.h"
#include "reconciler/daemon/spec_ref.h"

/*
 * The failover table of `moor watch`: per address with `failover:`, what
 * the event loop knows of it and of its candidates (health, holder,
 * damping, probes in flight).  The loop alone reads and writes it.
 *
 * Memory: an address owns its strings, candidates, probes in flight and
 * timers; rc_fot_addr_free frees them all.  w is its daemon (not owned).
 */

struct rc_watch;
struct rc_fot_addr;

struct rc_fot_cand {
	struct rc_fot_addr *a;
	char *instance;
	char *probe_key; /* the probe and its timing, to compare on reload */
	struct rc_hc hc;
	bool observed; /* a failover cycle has looked it up */
	bool found;
	enum prov_instance_state state;
	char *private_ip;
	struct rc_probe *probe; /* in flight */
	char *probe_desc;
	char *last_result;
	time_t last_probe_at;
};

struct rc_fot_addr {
	struct rc_watch *w;
	char *key, *label;
	size_t eip; /* index in the spec in force */
	struct rc_fot_cand *c;
	size_t n;
	bool holder_known; /* observed at least once */
	bool found, bound;
	char *holder;
	char *public_ip;
	uint64_t last_move_ms;
	uint64_t moves;
	time_t last_move_at;
	uint64_t not_before_ms; /* no probe-driven cycle before this */
	uint64_t last_alert_ms;
	uint64_t damped_logged; /* retry_at of the damping last logged */
	bool pending, in_flight;
	bool decided;
	struct rc_fo_decision last;
	char *last_error;
	struct rc_aws_sub *aws;	     /* AWS probe round in flight */
	struct rc_ev_timer *tick;    /* probe rounds */
	struct rc_ev_timer *recheck; /* damping, backoff, spacing */
};

/*
 * The entry of address i of ws (bound by failover), keeping what old (the
 * same address under the spec before, or NULL) knew: holder, moves,
 * damping, and per candidate that stays its observation and, if probed
 * the same way, its health.  w and the timers are the caller's to set.
 */
struct rc_fot_addr *rc_fot_addr_new(const struct rc_spec_ref *ws, size_t i,
				    const struct rc_fot_addr *old);

/* Cancels its probes, frees its timers and itself.  NULL is a no-op. */
void rc_fot_addr_free(struct rc_fot_addr *a);

/* The entry for key in v[0..n), or NULL. */
struct rc_fot_addr *rc_fot_find(struct rc_fot_addr *const *v, size_t n,
				const char *key);

/*
 * Take in what failover cycle o observed of a: holder, address, and per
 * candidate its state and private IP.  A stopped or re-addressed
 * candidate's health starts over.
 */
void rc_fot_observed(struct rc_fot_addr *a, const struct rc_cycle_fo_out *o);

#endif
