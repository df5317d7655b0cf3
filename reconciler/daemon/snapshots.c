#include "reconciler/daemon/snapshots.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/daemon/status.h"
#include "util/alloc.h"
#include "util/banned.h"

struct rc_snap_group *rc_snapshots_group(const struct rc_snapshots *sn,
					 const char *label)
{
	for (size_t i = 0; i < sn->n_groups; i++)
		if (!strcmp(sn->groups[i].g.label, label))
			return &sn->groups[i];
	return NULL;
}

struct rc_snap_addr *rc_snapshots_addr(const struct rc_snapshots *sn,
				       const char *key)
{
	for (size_t i = 0; i < sn->n_addrs; i++)
		if (!strcmp(sn->addrs[i].a.key, key))
			return &sn->addrs[i];
	return NULL;
}

static void group_release(struct rc_cycle_group *g)
{
	for (size_t k = 0; k < g->n_members; k++)
		free(g->members[k].id);
	free(g->members);
	free(g->label);
}

static void addr_release(struct rc_cycle_addr *a)
{
	free(a->key);
	free(a->label);
	free(a->public_ip);
	free(a->holder);
}

static void keep_groups(struct rc_snapshots *sn, struct rc_cycle_result *r,
			time_t now)
{
	for (size_t i = 0; i < r->n_groups; i++) {
		struct rc_snap_group *g =
			rc_snapshots_group(sn, r->groups[i].label);

		if (!g) {
			sn->groups = util_xrealloc(sn->groups,
						   (sn->n_groups + 1) *
							   sizeof(*sn->groups));
			g = &sn->groups[sn->n_groups++];
			memset(g, 0, sizeof(*g));
		} else {
			group_release(&g->g);
		}
		g->g = r->groups[i];
		g->at = now;
		memset(&r->groups[i], 0, sizeof(r->groups[i]));
	}
}

static void keep_addrs(struct rc_snapshots *sn, struct rc_cycle_result *r)
{
	for (size_t i = 0; i < r->n_addrs; i++) {
		struct rc_snap_addr *a = rc_snapshots_addr(sn, r->addrs[i].key);

		if (!a) {
			sn->addrs = util_xrealloc(sn->addrs,
						  (sn->n_addrs + 1) *
							  sizeof(*sn->addrs));
			a = &sn->addrs[sn->n_addrs++];
			memset(a, 0, sizeof(*a));
		} else {
			addr_release(&a->a);
		}
		a->a = r->addrs[i];
		memset(&r->addrs[i], 0, sizeof(r->addrs[i]));
	}
}

/* Errors per resource, for the status file. */
static void keep_errors(struct rc_snapshots *sn,
			const struct rc_cycle_result *r)
{
	for (size_t i = 0; i < sn->n_groups; i++) {
		free(sn->groups[i].last_error);
		sn->groups[i].last_error = NULL;
	}
	for (size_t i = 0; i < sn->n_addrs; i++) {
		free(sn->addrs[i].last_error);
		sn->addrs[i].last_error = NULL;
	}
	for (size_t i = 0; i < r->n_outcomes; i++) {
		const struct rc_cycle_outcome *o = &r->outcomes[i];
		struct rc_snap_group *g;
		struct rc_snap_addr *a;

		if (!o->failed)
			continue;
		if ((g = rc_snapshots_group(sn, o->label)) != NULL) {
			free(g->last_error);
			g->last_error = rc_status_err_line(&o->err);
		}
		if ((a = rc_snapshots_addr(sn, o->key)) != NULL) {
			free(a->last_error);
			a->last_error = rc_status_err_line(&o->err);
		}
	}
}

void rc_snapshots_keep(struct rc_snapshots *sn, struct rc_cycle_result *r,
		       time_t now)
{
	keep_groups(sn, r, now);
	keep_addrs(sn, r);
	keep_errors(sn, r);
}

void rc_snapshots_release(struct rc_snapshots *sn)
{
	for (size_t i = 0; i < sn->n_groups; i++) {
		group_release(&sn->groups[i].g);
		free(sn->groups[i].last_error);
	}
	free(sn->groups);
	for (size_t i = 0; i < sn->n_addrs; i++) {
		addr_release(&sn->addrs[i].a);
		free(sn->addrs[i].last_error);
	}
	free(sn->addrs);
	memset(sn, 0, sizeof(*sn));
}
