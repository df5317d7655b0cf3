#ifndef RECONCILER_DAEMON_LEASE_H
#define RECONCILER_DAEMON_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/provider.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/fence.h"

/*
 * The leases of `moor watch --lease-table` (moor(1), HIGH AVAILABILITY):
 * one manager per process, for the lease of each of its specs and the
 * process's own replica item, over the provider's lease ops.
 *
 * Protocol (the Amazon DynamoDB Lock Client's, no wall clock trusted):
 *  - acquire: conditional write when the item is absent or released; an
 *    item held by someone else is taken over only after its rvn has been
 *    seen unchanged for a whole lease duration on our monotonic clock;
 *  - renew every duration/4 (holder = me AND rvn = mine, new rvn);
 *  - release on stop (rc_lease_stop), so a restart hands over at once;
 *  - fence: the holder may send a mutating request only while less than
 *    duration - margin has passed since it *sent* its last successful
 *    renewal (the time before the call, so a slow answer never extends
 *    the lease); a lost condition closes it at once, a renewal that
 *    fails otherwise (throttled, unreachable) leaves it to that bound;
 *  - spread: replicas heartbeat their "replica:ID" item the same way; with
 *    R live replicas (own item included, an item unchanged for a whole
 *    duration is dead) and N specs, a replica takes free leases while it
 *    holds fewer than ceil(N/R), releases its surplus above that, and
 *    takes any lease left free or expired longer than duration/2
 *    whatever it holds, so no spec stays unheld for a whole duration.
 *
 * Threads: rc_lease_start runs the rounds on a thread of its own (every
 * RC_LEASE_POLL_MS or duration/4, whichever is shorter); every
 * other function may be called from any thread.
 */

#define RC_LEASE_DEFAULT_DURATION_MS 10000
/*
 * The thread's rounds come this often (duration/4 when shorter); renewals
 * still every duration/4.  A lease released by a clean stop is seen free,
 * and taken, within about this.
 */
#define RC_LEASE_POLL_MS	     500

struct rc_lease_config {
	const char *table;	/* borrowed */
	const char *replica_id; /* borrowed */
	uint64_t duration_ms;	/* 0 = RC_LEASE_DEFAULT_DURATION_MS */
	/*
	 * The longest a mutating request may take once sent; 0 = the
	 * default, duration * 2/5.  Must be less than duration / 2.
	 */
	uint64_t margin_ms;
	const char *const *names; /* the specs' lease names; copied */
	size_t n_names;
	const struct util_clock *clock; /* NULL = system; borrowed */
};

struct rc_lease;

/* UTIL_EINVAL for a bad config.  p is borrowed. */
int rc_lease_new(struct prov *p, const struct rc_lease_config *cfg,
		 struct rc_lease **ret, struct util_err *err);
/* The rounds on their own thread (see RC_LEASE_POLL_MS; and at once). */
int rc_lease_start(struct rc_lease *m, struct util_err *err);
/* One round now, on the calling thread (tests drive it without start). */
void rc_lease_round(struct rc_lease *m);
/* Stop the thread and release what is held (conditional writes). */
void rc_lease_stop(struct rc_lease *m);
/* After stop.  Accepts NULL. */
void rc_lease_free(struct rc_lease *m);

/*
 * Called on the lease thread when spec idx's lease is gained or lost
 * (fenced), so its loop can act at once.  Set before start.
 */
typedef void (*rc_lease_change_fn)(void *ctx, size_t idx, bool held);
void rc_lease_on_change(struct rc_lease *m, size_t idx, rc_lease_change_fn fn,
			void *ctx);

/* The fence of spec idx (valid until free). */
const struct util_fence *rc_lease_fence(struct rc_lease *m, size_t idx);
/* Whether spec idx's fence is open now. */
bool rc_lease_held(struct rc_lease *m, size_t idx);

/* What status and metrics show of spec idx's lease. */
struct rc_lease_info {
	bool held;	      /* by us, fence open */
	char holder[256];     /* last holder seen, "" when free/unknown */
	uint64_t age_ms;      /* since its rvn last changed, on our clock */
	uint64_t transitions; /* gained + lost, by us */
	unsigned live_replicas;
	unsigned target; /* ceil(N/R) */
};
void rc_lease_info(struct rc_lease *m, size_t idx, struct rc_lease_info *ret);

#endif
