#ifndef RECONCILER_DAEMON_SNAPSHOTS_H
#define RECONCILER_DAEMON_SNAPSHOTS_H

#include <stddef.h>
#include <time.h>

#include "reconciler/daemon/cycle.h"

/*
 * What the last full reconciles of `moor watch` saw of each group and
 * address, and the error each last failed with: the status file and the
 * SIGUSR1 log line show it.  The event loop alone reads and writes it.
 *
 * Memory: the snapshots own every string and member array in them (moved
 * out of cycle results); rc_snapshots_release frees them.
 */

struct rc_snap_group {
	struct rc_cycle_group g;
	time_t at; /* when it was observed */
	char *last_error;
};

struct rc_snap_addr {
	struct rc_cycle_addr a;
	char *last_error;
};

struct rc_snapshots {
	struct rc_snap_group *groups;
	size_t n_groups;
	struct rc_snap_addr *addrs;
	size_t n_addrs;
};

/*
 * Keep the groups and addresses r saw (moved out of r, observed at now),
 * and the error of each resource that failed in r (others have none).
 */
void rc_snapshots_keep(struct rc_snapshots *sn, struct rc_cycle_result *r,
		       time_t now);

/* The group labelled label / the address with key, or NULL. */
struct rc_snap_group *rc_snapshots_group(const struct rc_snapshots *sn,
					 const char *label);
struct rc_snap_addr *rc_snapshots_addr(const struct rc_snapshots *sn,
				       const char *key);

void rc_snapshots_release(struct rc_snapshots *sn);

#endif
