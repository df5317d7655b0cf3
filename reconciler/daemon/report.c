#include "reconciler/daemon/httpd.h"
#include "reconciler/daemon/lease.h"
#include "reconciler/daemon/watch_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/cycle.h"
#include "reconciler/daemon/status.h"
#include "reconciler/engine/observe.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/banned.h"

/*
 * What the daemon reports: reconcile counters and the last error,
 * SIGUSR1's status lines, and the status and metrics files
 * (status.h renders them).
 */

/* Status writes caused by probes: at most one per this. */
#define STATUS_MIN_INTERVAL_MS 1000

static void set_last_error(struct rc_watch *w, const struct util_err *e,
			   const char *resource)
{
	if (!util_err_isset(e))
		return;
	free(w->last_error);
	free(w->last_error_resource);
	free(w->last_error_code);
	free(w->last_error_rid);
	w->last_error = rc_status_err_line(e);
	w->last_error_resource = util_xstrdup_or_null(resource);
	w->last_error_code = e->aws_code[0] ? util_xstrdup(e->aws_code) : NULL;
	w->last_error_rid = e->request_id[0] ? util_xstrdup(e->request_id)
					     : NULL;
	w->last_error_at = rcw_wall(w);
}

void rcw_count_result(struct rc_watch *w, const struct rc_job *j)
{
	const struct rc_cycle_result *r = &j->res;

	switch (r->status) {
	case RC_CYCLE_OK:
		w->n_ok++;
		break;
	case RC_CYCLE_REFUSED:
		w->n_refused++;
		break;
	case RC_CYCLE_ERROR:
	case RC_CYCLE_CANCELED:
		w->n_error++;
		break;
	case RC_CYCLE_PREEMPTED: /* neither: the newer spec runs next */
		break;
	}
	w->n_drift += r->drift;
	w->last_reconcile_at = rcw_wall(w);
	free(w->last_reconcile_trigger);
	w->last_reconcile_trigger = util_xstrdup(j->trigger);
	w->last_reconcile_result = rc_cycle_status_name(r->status);
	w->last_reconcile_changes = r->changes;
	w->last_reconcile_held_back = r->held_back;
	w->last_reconcile_ms = r->elapsed_ms;
	if (r->status != RC_CYCLE_OK && r->status != RC_CYCLE_CANCELED &&
	    r->status != RC_CYCLE_PREEMPTED)
		set_last_error(w, &r->err, r->err_resource);
}

/* SIGUSR1's line for failover address a: holder, policy, candidates. */
static void status_log_fo(const struct rc_fot_addr *a, struct buf *b)
{
	buf_reset(b);
	for (size_t k = 0; k < a->n; k++)
		buf_addf(b, "%s%s %s%s", k ? ", " : "", a->c[k].instance,
			 rc_health_name(a->c[k].hc.state),
			 a->c[k].observed &&
					 a->c[k].state != PROV_INSTANCE_RUNNING
				 ? " (not running)"
				 : "");
	util_log(UTIL_LOG_INFO, "status_address", a->label,
		 "%s on %s (failover, %s, %llu move%s): %s", a->label,
		 a->holder	   ? a->holder
		 : a->holder_known ? "nothing"
				   : "(not observed yet)",
		 spec_failback_name(rcw_fo_spec(a)->failback),
		 (unsigned long long)a->moves, a->moves == 1 ? "" : "s",
		 b->buf);
}

/* SIGUSR1's lines for the addresses without failover and the groups. */
static void status_log_seen(struct rc_watch *w)
{
	const struct spec *s = rcw_spec(w);

	for (size_t i = 0; i < s->n_eips; i++) {
		const struct rc_snap_addr *wa =
			rc_snapshots_addr(&w->seen, w->cur->eip_keys[i]);
		const char *label = rc_eip_label(&s->eips[i]);

		if (s->eips[i].bind == SPEC_BIND_FAILOVER)
			continue;
		util_log(UTIL_LOG_INFO, "status_address", label, "%s on %s",
			 label,
			 !wa		? "(not observed yet)"
			 : wa->a.holder ? wa->a.holder
					: "nothing");
	}
	for (size_t i = 0; i < s->n_lbs; i++) {
		const char *label = spec_lb_label(&s->lbs[i]);
		const struct rc_snap_group *g = rc_snapshots_group(&w->seen,
								   label);

		if (!g)
			util_log(UTIL_LOG_INFO, "status_group", label,
				 "%s: not observed yet", label);
		else
			util_log(UTIL_LOG_INFO, "status_group", label,
				 "%s: %zu member%s, %zu healthy%s", label,
				 g->g.total, g->g.total == 1 ? "" : "s",
				 g->g.healthy,
				 g->g.found ? "" : " (not found)");
	}
}

void rcw_status_log(struct rc_watch *w)
{
	const struct spec *s = rcw_spec(w);
	struct buf b = BUF_INIT;
	char when[32];

	util_log(UTIL_LOG_INFO, "status", NULL,
		 "spec %.12s in force (file %s), last reconcile %s %s (%s), "
		 "%zu resource%s backing off, %llu ok / %llu failed / %llu "
		 "refused reconciles, %llu drift correction%s",
		 s->sha256, rc_spec_file_name(w->file),
		 w->last_reconcile_at ? util_time_iso8601(w->last_reconcile_at,
							  when, sizeof(when))
				      : "never",
		 w->last_reconcile_result ? w->last_reconcile_result : "-",
		 w->last_reconcile_trigger ? w->last_reconcile_trigger : "-",
		 w->bo.n, w->bo.n == 1 ? "" : "s", (unsigned long long)w->n_ok,
		 (unsigned long long)w->n_error,
		 (unsigned long long)w->n_refused,
		 (unsigned long long)w->n_drift, w->n_drift == 1 ? "" : "s");
	for (size_t i = 0; i < w->n_fo; i++)
		status_log_fo(w->fo[i], &b);
	status_log_seen(w);
	buf_release(&b);
}

/* A file that cannot be written is reported once, not on every write. */
static void status_warn(struct rc_watch *w, const char *path,
			const struct util_err *e, bool *warned)
{
	(void)w;
	if (!*warned)
		util_log(UTIL_LOG_WARN, "status_write_failed", path,
			 "%s; retrying on every update", e->msg);
	*warned = true;
}

/* The daemon-wide fields of the status document. */
static void status_fill_head(const struct rc_watch *w, struct rc_status *st)
{
	st->moor_version = MOOR_VERSION;
	st->pid = (long)getpid();
	st->started_at = w->started_at;
	st->updated_at = rcw_wall(w);
	st->spec_path = w->cfg.spec_path;
	st->spec_sha256 = rcw_spec(w)->sha256;
	st->spec_loaded_at = w->spec_loaded_at;
	st->spec_file = rc_spec_file_name(w->file);
	st->spec_file_error = w->file_error;
	st->last_reconcile_at = w->last_reconcile_at;
	st->last_reconcile_trigger = w->last_reconcile_trigger;
	st->last_reconcile_result = w->last_reconcile_result;
	st->last_reconcile_changes = w->last_reconcile_changes;
	st->last_reconcile_held_back = w->last_reconcile_held_back;
	st->last_reconcile_ms = w->last_reconcile_ms;
	st->last_success_at = w->last_success_at;
	st->last_error_at = w->last_error_at;
	st->last_error = w->last_error;
	st->last_error_resource = w->last_error_resource;
	st->last_error_code = w->last_error_code;
	st->last_error_request_id = w->last_error_rid;
	st->reconcile_ok = w->n_ok;
	st->reconcile_error = w->n_error;
	st->reconcile_refused = w->n_refused;
	st->drift_corrections = w->n_drift;
	st->resources_backing_off = w->bo.n;
	st->read_budget = w->cfg.read_budget.share > 0
				  ? w->cfg.read_budget.share
				  : RC_AWS_DEFAULT_SHARE;
	st->resync_ms = w->resync_ms;
	st->read_share = w->read_share;
}

/* Every address of the spec in force; cands[i] as rc_status_fill_fo_addr. */
static void status_fill_addrs(struct rc_watch *w, struct rc_status *st,
			      struct rc_status_addr *addrs,
			      struct rc_status_cand **cands)
{
	const struct spec *s = rcw_spec(w);

	for (size_t i = 0; i < s->n_eips; i++) {
		struct rc_status_addr *sa = &addrs[st->n_addrs];
		const struct rc_fot_addr *a = rcw_fo_find(w,
							  w->cur->eip_keys[i]);

		sa->label = rc_eip_label(&s->eips[i]);
		if (a) {
			rc_status_fill_fo_addr(a, rcw_fo_spec(a)->failback,
					       rcw_mono(w), rcw_wall(w), sa,
					       &cands[i]);
		} else {
			const struct rc_snap_addr *wa =
				rc_snapshots_addr(&w->seen,
						  w->cur->eip_keys[i]);

			if (wa) {
				sa->public_ip = wa->a.public_ip;
				sa->holder = wa->a.holder;
				sa->last_error = wa->last_error;
			}
		}
		st->n_addrs++;
	}
	st->addrs = addrs;
}

/* Write the status and metrics files asked for. */
static void status_emit(struct rc_watch *w, const struct rc_status *st)
{
	struct buf out = BUF_INIT;
	struct util_err e = UTIL_ERR_INIT;

	if (w->cfg.status_file) {
		buf_reset(&out);
		if (rc_status_to_json(st, &out, &e) < 0 ||
		    rc_status_write_file(w->cfg.status_file, out.buf, out.len,
					 &e) < 0)
			status_warn(w, w->cfg.status_file, &e,
				    &w->status_warned);
		else
			w->status_warned = false;
		util_err_clear(&e);
	}
	if (w->cfg.metrics_file) {
		buf_reset(&out);
		rc_status_to_metrics(st, &out);
		if (rc_status_write_file(w->cfg.metrics_file, out.buf, out.len,
					 &e) < 0)
			status_warn(w, w->cfg.metrics_file, &e,
				    &w->metrics_warned);
		else
			w->metrics_warned = false;
	}
	buf_release(&out);
}

/* The lease's part of the status (NULL without --lease-table). */
static const struct rc_status_lease *status_lease(struct rc_watch *w,
						  struct rc_lease_info *info,
						  struct rc_status_lease *l)
{
	if (!w->cfg.lease)
		return NULL;
	rc_lease_info(w->cfg.lease, w->cfg.lease_idx, info);
	l->table = w->cfg.lease_table;
	l->replica_id = w->cfg.replica_id;
	l->held = info->held;
	l->holder = info->holder;
	l->age_ms = info->age_ms;
	l->transitions = info->transitions;
	l->live_replicas = info->live_replicas;
	l->target = info->target;
	return l;
}

void rcw_status_write(struct rc_watch *w)
{
	struct rc_lease_info info;
	struct rc_status_lease lst;
	const struct spec *s = rcw_spec(w);
	struct rc_status st = { 0 };
	struct rc_status_addr *addrs;
	struct rc_status_group *groups;
	struct rc_status_member **members;
	struct rc_status_cand **cands;

	rc_ev_timer_disarm(w->status_t);
	w->last_status_ms = rcw_mono(w);
	if (!w->cfg.status_file && !w->cfg.metrics_file && !w->cfg.httpd)
		return;
	addrs = util_xcalloc(s->n_eips + 1, sizeof(*addrs));
	groups = util_xcalloc(s->n_lbs + 1, sizeof(*groups));
	members = util_xcalloc(s->n_lbs + 1, sizeof(*members));
	cands = util_xcalloc(s->n_eips + 1, sizeof(*cands));
	status_fill_head(w, &st);
	st.spec_name = w->cfg.name;
	st.lease = status_lease(w, &info, &lst);
	status_fill_addrs(w, &st, addrs, cands);
	rc_status_fill_groups(rcw_spec(w), &w->seen, &st, groups, members);
	status_emit(w, &st);
	rc_httpd_publish(w->cfg.httpd, &st);
	for (size_t i = 0; i < s->n_lbs; i++)
		free(members[i]);
	for (size_t i = 0; i < s->n_eips; i++)
		free(cands[i]);
	free(members);
	free(cands);
	free(addrs);
	free(groups);
}

void rcw_on_status_timer(void *ctx)
{
	rcw_status_write(ctx);
}

/* A status write soon: now, or STATUS_MIN_INTERVAL_MS after the last. */
void rcw_status_soon(struct rc_watch *w)
{
	uint64_t now = rcw_mono(w);

	if (now >= w->last_status_ms + STATUS_MIN_INTERVAL_MS)
		rcw_status_write(w);
	else
		rc_ev_timer_arm_before(w->status_t,
				       w->last_status_ms +
					       STATUS_MIN_INTERVAL_MS);
}
