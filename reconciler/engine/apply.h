#ifndef RECONCILER_ENGINE_APPLY_H
#define RECONCILER_ENGINE_APPLY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/provider.h"
#include "reconciler/engine/observe.h"
#include "reconciler/engine/plan.h"
#include "util/clock.h"
#include "util/err.h"

/*
 * Apply: run a plan's steps in dependency order (plan.h lists the
 * phases; they order related steps, not the whole plan).
 *
 * A step starts once every step it depends on (deps) succeeded and every
 * earlier-phase step on the same resource -- or, between an address and
 * a group, naming the same instance -- has finished.  Unrelated steps do
 * not wait for each other: a health wait on one group holds up only that
 * group's later steps (and the addresses bound to its new members), never
 * another group's registrations or deregistrations.  Calls whose turn
 * has come are made before any wait sleeps.
 *
 * Right before a batch of steps whose turn has come, apply re-reads
 * exactly the resources they depend on (one batched observation) and,
 * for every step:
 *
 *  1. skips it if a step it depends on did not succeed ("dependent steps
 *     are skipped"; independent steps go on);
 *  2. marks it "already" when the world already looks as the step would
 *     leave it (someone did it by hand, or an earlier interrupted apply);
 *  3. skips it when any precondition fingerprint differs from the re-read
 *     ("the world changed"), instead of acting blindly;
 *  4. for a deregistration, skips it if live health says it would take
 *     the group below min_healthy;
 *  5. makes the call, once: retrying is the AWS client's job (one retry
 *     layer).  When the call failed in a way that leaves doubt (the
 *     client gave up on a retryable error, or the answer was lost) apply
 *     re-reads the resource once -- a documented re-read, not a retry:
 *     done if the change landed, else failed.  An allocation is thus
 *     never sent twice, so it is never duplicated.
 *
 * Steps whose turn comes together run concurrently (concurrency).  A
 * wait polls only health (one DescribeTargetHealth or
 * DescribeInstanceHealth, no re-read of the group) when its precondition
 * is known to hold: the (de)registration it follows made its call in
 * this apply after checking the group against a re-read, or the world the
 * plan was just built from (fresh) shows the group as planned.
 * Otherwise its first poll re-reads the group whole (those due together,
 * one read): the documented re-read of its precondition.  A health wait
 * on members this apply just registered polls first after poll_min (AWS
 * marks them healthy only after two passing checks at least); other
 * waits poll at once.  Each wait with its own exponential backoff from
 * poll_min_ms to poll_max_ms (as AWS's waiters back off; the client's
 * token buckets pace every call), until its own timeout; a member that
 * leaves the group while waited for healthy fails the wait.
 *
 * Cancellation: *cancel (set by a signal handler) is checked between
 * steps and between polls; steps in flight finish, the rest are skipped
 * as canceled.  *preempt (moor watch: a newer spec is in force) works the
 * same way -- waits end at the next poll or sleep, steps not yet sent are
 * skipped -- and is reported as preempted, not canceled.  Re-running
 * apply after any failure, cancellation or crash converges, because a
 * new plan starts from what is live.
 *
 * Library code: nothing is printed.  Progress goes through struct
 * rc_apply_progress, whose callbacks may be called from several threads
 * at once (the caller serialises its output).
 */

enum rc_outcome {
	RC_OUT_PENDING = 0,
	RC_OUT_DONE,	/* the change was made */
	RC_OUT_ALREADY, /* the world already matched: nothing to do */
	RC_OUT_SKIPPED, /* not run; detail says why */
	RC_OUT_FAILED,	/* AWS (or a wait) said no; err says why */
};

struct rc_step_result {
	enum rc_outcome outcome;
	char *detail; /* one line: why skipped, what was confirmed */
	struct util_err err;
	unsigned attempts;   /* calls made (0 for waits / skips) */
	uint64_t elapsed_ms; /* waits: how long */
	char *allocation_id; /* allocate: the new address */
	char *public_ip;     /* allocate: its public IP */
};

struct rc_report {
	struct rc_step_result *results; /* indexed like plan->steps */
	size_t n;
	size_t done, already, skipped, failed;
	char **stale; /* keys that changed (stale saved plan) */
	size_t n_stale;
	bool canceled;
	bool preempted; /* *preempt stopped it (and *cancel did not) */
};

void rc_report_release(struct rc_report *r);
/* UTIL_ECONFLICT in err, naming the first of rep->stale. */
int rc_report_stale_err(const struct rc_report *rep, struct util_err *err);
const char *rc_outcome_name(enum rc_outcome o);

struct rc_apply_progress {
	void (*phase)(void *ctx, enum rc_phase phase, size_t n_steps);
	void (*step_done)(void *ctx, const struct rc_step *s,
			  const struct rc_step_result *r);
	/* Once per poll of a wait step. */
	void (*waiting)(void *ctx, const struct rc_step *s, uint64_t elapsed_ms,
			size_t ready, size_t total);
	void *ctx;
};

struct rc_apply_opts {
	unsigned concurrency;			  /* steps in parallel; 0 = 8 */
	const struct util_clock *clock;		  /* NULL = util_clock_system */
	const volatile sig_atomic_t *cancel;	  /* may be NULL */
	const volatile sig_atomic_t *preempt;	  /* may be NULL */
	const struct rc_apply_progress *progress; /* may be NULL */
	uint64_t poll_min_ms;			  /* 0 = 1000 */
	uint64_t poll_max_ms;			  /* 0 = 15000 */
	/*
	 * A saved plan: before anything, re-read every resource the steps
	 * name and refuse (UTIL_ECONFLICT, report->stale) if any fingerprint
	 * differs from plan->observed.  When it holds, what was read serves
	 * as the fresh world below (the first batch does not read again).
	 */
	bool check_stale;
	/*
	 * The world the plan was just built from, if still fresh (apply from
	 * a spec without a prompt): the first batch of steps uses it
	 * instead of reading again.
	 */
	const struct rc_world *fresh;
};

/*
 * Apply plan.  *ret is filled in every case but UTIL_EINVAL (caller frees
 * with rc_report_release()).  Returns 0 when every step is done or
 * already so; UTIL_ECONFLICT for a stale plan (nothing was done);
 * UTIL_ECANCELED when *cancel or *preempt stopped it; UTIL_EFAIL when a
 * step failed or was skipped (err holds the first failure).
 */
int rc_apply(struct prov *p, const struct rc_plan *plan,
	     const struct rc_apply_opts *opts, struct rc_report *ret,
	     struct util_err *err);

#endif
