#include "reconciler/daemon/status.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/file.h"
#include "util/banned.h"

#define STATUS_FORMAT	      "moor-watch-status"
#define STATUS_FORMAT_VERSION 1

/* --- JSON --------------------------------------------------------------------- */

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

static void add_time(cJSON *o, const char *k, time_t t)
{
	char b[32];

	if (t)
		cJSON_AddStringToObject(o, k,
					util_time_iso8601(t, b, sizeof(b)));
	else
		cJSON_AddNullToObject(o, k);
}

static void add_num(cJSON *o, const char *k, double v)
{
	cJSON_AddNumberToObject(o, k, v);
}

static cJSON *cand_json(const struct rc_status_cand *c)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "instance", c->instance);
	add_str(o, "private_ip", c->private_ip);
	cJSON_AddBoolToObject(o, "observed", c->observed);
	add_str(o, "state", c->state);
	add_str(o, "health", c->health ? c->health : "unknown");
	add_num(o, "ok_streak", c->ok_streak);
	add_num(o, "fail_streak", c->fail_streak);
	add_str(o, "probe", c->probe);
	add_str(o, "last_result", c->last_result);
	add_time(o, "last_probe_at", c->last_probe_at);
	return o;
}

static cJSON *addr_json(const struct rc_status_addr *a)
{
	cJSON *o = cJSON_CreateObject(), *cs;

	add_str(o, "label", a->label);
	add_str(o, "public_ip", a->public_ip);
	add_str(o, "holder", a->holder);
	cJSON_AddBoolToObject(o, "failover", a->failover);
	if (a->failover) {
		add_str(o, "failback", a->failback);
		add_str(o, "verdict", a->verdict);
		add_str(o, "desired", a->desired);
		add_time(o, "damped_until", a->damped_until);
		add_num(o, "moves", (double)a->moves);
		add_time(o, "last_move_at", a->last_move_at);
		cs = cJSON_AddArrayToObject(o, "candidates");
		for (size_t i = 0; i < a->n_cands; i++)
			cJSON_AddItemToArray(cs, cand_json(&a->cands[i]));
	}
	add_str(o, "last_error", a->last_error);
	return o;
}

static cJSON *group_json(const struct rc_status_group *g)
{
	cJSON *o = cJSON_CreateObject(), *ms;

	add_str(o, "label", g->label);
	add_str(o, "kind", g->kind);
	cJSON_AddBoolToObject(o, "found", g->found);
	add_num(o, "members_total", (double)g->total);
	add_num(o, "healthy", (double)g->healthy);
	add_num(o, "held_back", (double)g->held_back);
	cJSON_AddBoolToObject(o, "members_truncated", g->n_members < g->total);
	ms = cJSON_AddArrayToObject(o, "members");
	for (size_t i = 0; i < g->n_members; i++) {
		const struct rc_status_member *m = &g->members[i];
		cJSON *mo = cJSON_CreateObject();

		add_str(mo, "id", m->id);
		if (m->port)
			add_num(mo, "port", m->port);
		add_str(mo, "health", m->health);
		cJSON_AddItemToArray(ms, mo);
	}
	add_time(o, "observed_at", g->observed_at);
	add_str(o, "last_error", g->last_error);
	return o;
}

/*
 * Owns the status file's top-level object: one field after another in the
 * documented order (hence over 60 lines).
 */
static void reads_json(cJSON *root, const struct rc_status *s)
{
	cJSON *o = cJSON_AddObjectToObject(root, "reads");

	add_num(o, "budget", s->read_budget);
	add_num(o, "resync_ms", (double)s->resync_ms);
	add_num(cJSON_AddObjectToObject(o, "elb"), "share_used",
		s->read_share.elb);
	add_num(cJSON_AddObjectToObject(o, "elbv2"), "share_used",
		s->read_share.elbv2);
	add_num(cJSON_AddObjectToObject(o, "elb_account"), "share_used",
		s->read_share.elb_account);
}

static void lease_json(cJSON *root, const struct rc_status *s)
{
	const struct rc_status_lease *l = s->lease;
	cJSON *o;

	if (!l) {
		cJSON_AddNullToObject(root, "lease");
		return;
	}
	o = cJSON_AddObjectToObject(root, "lease");
	add_str(o, "table", l->table);
	add_str(o, "replica_id", l->replica_id);
	cJSON_AddBoolToObject(o, "held", l->held);
	add_str(o, "holder", l->holder && *l->holder ? l->holder : NULL);
	add_num(o, "age_ms", (double)l->age_ms);
	add_num(o, "transitions", (double)l->transitions);
	add_num(o, "live_replicas", l->live_replicas);
	add_num(o, "target", l->target);
}

/* Owns the status JSON document (format moor-watch-status), field for field
 * as moor(1) describes it. */
int rc_status_to_json(const struct rc_status *s, struct buf *out,
		      struct util_err *err)
{
	cJSON *root = cJSON_CreateObject(), *o, *a;
	char *text;
	int r = 0;

	cJSON_AddStringToObject(root, "format", STATUS_FORMAT);
	add_num(root, "format_version", STATUS_FORMAT_VERSION);
	add_str(root, "moor_version", s->moor_version);
	add_num(root, "pid", (double)s->pid);
	add_time(root, "started_at", s->started_at);
	add_time(root, "updated_at", s->updated_at);

	o = cJSON_AddObjectToObject(root, "spec");
	add_str(o, "name", s->spec_name);
	add_str(o, "path", s->spec_path);
	add_str(o, "sha256", s->spec_sha256);
	add_time(o, "loaded_at", s->spec_loaded_at);
	add_str(o, "file", s->spec_file);
	add_str(o, "file_error", s->spec_file_error);

	o = cJSON_AddObjectToObject(root, "last_reconcile");
	add_time(o, "at", s->last_reconcile_at);
	add_str(o, "trigger", s->last_reconcile_trigger);
	add_str(o, "result", s->last_reconcile_result);
	add_num(o, "changes", (double)s->last_reconcile_changes);
	add_num(o, "held_back", (double)s->last_reconcile_held_back);
	add_num(o, "duration_ms", (double)s->last_reconcile_ms);
	add_time(root, "last_success_at", s->last_success_at);

	if (s->last_error) {
		o = cJSON_AddObjectToObject(root, "last_error");
		add_time(o, "at", s->last_error_at);
		add_str(o, "resource", s->last_error_resource);
		add_str(o, "message", s->last_error);
		add_str(o, "aws_code", s->last_error_code);
		add_str(o, "request_id", s->last_error_request_id);
	} else {
		cJSON_AddNullToObject(root, "last_error");
	}

	o = cJSON_AddObjectToObject(root, "counters");
	add_num(o, "reconcile_ok", (double)s->reconcile_ok);
	add_num(o, "reconcile_error", (double)s->reconcile_error);
	add_num(o, "reconcile_refused", (double)s->reconcile_refused);
	add_num(o, "drift_corrections", (double)s->drift_corrections);
	add_num(o, "resources_backing_off", (double)s->resources_backing_off);
	add_num(o, "held_back", (double)s->held_back);
	reads_json(root, s);
	lease_json(root, s);

	a = cJSON_AddArrayToObject(root, "addresses");
	for (size_t i = 0; i < s->n_addrs; i++)
		cJSON_AddItemToArray(a, addr_json(&s->addrs[i]));
	a = cJSON_AddArrayToObject(root, "groups");
	for (size_t i = 0; i < s->n_groups; i++)
		cJSON_AddItemToArray(a, group_json(&s->groups[i]));

	text = cJSON_Print(root);
	if (!text) {
		r = util_err_set(err, UTIL_EFAIL, "cannot render the status");
	} else {
		buf_addstr(out, text);
		buf_addch(out, '\n');
		free(text);
	}
	cJSON_Delete(root);
	return r;
}

/* --- Prometheus -------------------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped. */
static void label(struct buf *out, const char *v)
{
	for (const char *p = v ? v : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			buf_addch(out, '\\');
		if (*p == '\n') {
			buf_addstr(out, "\\n");
			continue;
		}
		buf_addch(out, *p);
	}
}

static void head(struct buf *out, const char *name, const char *type,
		 const char *help)
{
	buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void read_metrics(const struct rc_status *s, struct buf *out)
{
	head(out, "moor_read_budget_ratio", "gauge",
	     "The share of each ELB read bucket's refill moor may spend "
	     "(--read-budget).");
	buf_addf(out, "moor_read_budget_ratio %.4g\n", s->read_budget);
	head(out, "moor_read_budget_used_ratio", "gauge",
	     "The share of an ELB read bucket's refill a resync and the AWS "
	     "probes spend per resync period.");
	buf_addf(out, "moor_read_budget_used_ratio{bucket=\"elb\"} %.4g\n",
		 s->read_share.elb);
	buf_addf(out, "moor_read_budget_used_ratio{bucket=\"elbv2\"} %.4g\n",
		 s->read_share.elbv2);
	buf_addf(out,
		 "moor_read_budget_used_ratio{bucket=\"elb_account\"} %.4g\n",
		 s->read_share.elb_account);
}

static void lease_metrics(const struct rc_status *s, struct buf *out)
{
	if (!s->lease)
		return;
	head(out, "moor_lease_held", "gauge",
	     "1 while this replica holds the spec's lease (and may mutate).");
	buf_addstr(out, "moor_lease_held{spec=\"");
	label(out, s->spec_name);
	buf_addf(out, "\"} %d\n", s->lease->held);
	head(out, "moor_lease_transitions_total", "counter",
	     "Times this replica gained or lost the spec's lease.");
	buf_addstr(out, "moor_lease_transitions_total{spec=\"");
	label(out, s->spec_name);
	buf_addf(out, "\"} %llu\n", (unsigned long long)s->lease->transitions);
	head(out, "moor_lease_age_seconds", "gauge",
	     "Time since the spec's lease record last changed, on this "
	     "replica's clock.");
	buf_addstr(out, "moor_lease_age_seconds{spec=\"");
	label(out, s->spec_name);
	buf_addf(out, "\"} %.3f\n", (double)s->lease->age_ms / 1000.0);
}

/*
 * Owns the metrics file: one metric family after another in the documented
 * order (hence over 60 lines).
 */
void rc_status_to_metrics(const struct rc_status *s, struct buf *out)
{
	head(out, "moor_reconcile_total", "counter",
	     "Reconciles (observe, plan, apply) by result.");
	buf_addf(out, "moor_reconcile_total{result=\"ok\"} %llu\n",
		 (unsigned long long)s->reconcile_ok);
	buf_addf(out, "moor_reconcile_total{result=\"error\"} %llu\n",
		 (unsigned long long)s->reconcile_error);
	buf_addf(out, "moor_reconcile_total{result=\"refused\"} %llu\n",
		 (unsigned long long)s->reconcile_refused);

	head(out, "moor_drift_corrections_total", "counter",
	     "Changes made to undo drift: live state changed behind moor's "
	     "back.");
	buf_addf(out, "moor_drift_corrections_total %llu\n",
		 (unsigned long long)s->drift_corrections);

	head(out, "moor_failovers_total", "counter",
	     "Moves of a floating IP made by failover or failback.");
	for (size_t i = 0; i < s->n_addrs; i++) {
		if (!s->addrs[i].failover)
			continue;
		buf_addstr(out, "moor_failovers_total{address=\"");
		label(out, s->addrs[i].label);
		buf_addf(out, "\"} %llu\n",
			 (unsigned long long)s->addrs[i].moves);
	}

	head(out, "moor_last_success_timestamp_seconds", "gauge",
	     "When moor last found live state equal to the spec "
	     "(0 = not yet).");
	buf_addf(out, "moor_last_success_timestamp_seconds %lld\n",
		 (long long)s->last_success_at);

	head(out, "moor_probe_up", "gauge",
	     "1 when a failover candidate passes its health probes, 0 when "
	     "down or not known yet.");
	for (size_t i = 0; i < s->n_addrs; i++) {
		const struct rc_status_addr *a = &s->addrs[i];

		for (size_t k = 0; k < a->n_cands; k++) {
			buf_addstr(out, "moor_probe_up{address=\"");
			label(out, a->label);
			buf_addstr(out, "\",instance=\"");
			label(out, a->cands[k].instance);
			buf_addf(out, "\"} %d\n",
				 a->cands[k].health &&
					 !strcmp(a->cands[k].health, "up"));
		}
	}

	head(out, "moor_spec_in_force", "gauge",
	     "1 when the file on disk is the spec in force, 0 when it is "
	     "invalid, missing or empty and the last good spec is kept.");
	buf_addf(out, "moor_spec_in_force %d\n", rc_status_spec_in_force(s));

	head(out, "moor_resources_backing_off", "gauge",
	     "Resources whose last attempt failed, waiting to be retried.");
	buf_addf(out, "moor_resources_backing_off %zu\n",
		 s->resources_backing_off);

	head(out, "moor_held_back", "gauge",
	     "Changes a guard holds back (members min_healthy keeps "
	     "registered): live state differs from the spec.");
	buf_addf(out, "moor_held_back %zu\n", s->held_back);
	read_metrics(s, out);
	lease_metrics(s, out);

	head(out, "moor_group_members", "gauge",
	     "Present members of a load balancer group.");
	for (size_t i = 0; i < s->n_groups; i++) {
		buf_addstr(out, "moor_group_members{group=\"");
		label(out, s->groups[i].label);
		buf_addf(out, "\"} %zu\n", s->groups[i].total);
	}
	head(out, "moor_group_healthy_members", "gauge",
	     "Healthy members of a load balancer group.");
	for (size_t i = 0; i < s->n_groups; i++) {
		buf_addstr(out, "moor_group_healthy_members{group=\"");
		label(out, s->groups[i].label);
		buf_addf(out, "\"} %zu\n", s->groups[i].healthy);
	}
}

bool rc_status_spec_in_force(const struct rc_status *s)
{
	return s->spec_file && !strcmp(s->spec_file, "ok");
}

/* --- files -------------------------------------------------------------------- */

int rc_status_write_file(const char *path, const char *data, size_t len,
			 struct util_err *err)
{
	return util_write_file_atomic(path, data, len, 0644, err);
}

char *rc_status_err_line(const struct util_err *e)
{
	struct buf b = BUF_INIT;

	util_err_format(e, &b);
	return buf_detach(&b, NULL);
}

/* --- the document from the daemon's state ------------------------------- */

static const char *health_word(enum prov_health h)
{
	return prov_health_name(h);
}

void rc_status_fill_fo_addr(const struct rc_fot_addr *a,
			    enum spec_failback failback, uint64_t now,
			    time_t now_wall, struct rc_status_addr *sa,
			    struct rc_status_cand **cands)
{
	sa->failover = true;
	sa->public_ip = a->public_ip;
	sa->holder = a->holder;
	sa->failback = spec_failback_name(failback);
	sa->verdict = a->decided ? rc_fo_verdict_name(a->last.verdict) : NULL;
	sa->desired = a->decided && a->last.target >= 0 &&
				      (size_t)a->last.target < a->n
			      ? a->c[a->last.target].instance
			      : NULL;
	if (a->decided && a->last.verdict == RC_FO_DAMPED &&
	    a->last.retry_at_ms > now)
		sa->damped_until = now_wall +
				   (time_t)((a->last.retry_at_ms - now + 999) /
					    1000);
	sa->moves = a->moves;
	sa->last_move_at = a->last_move_at;
	sa->last_error = a->last_error;
	*cands = util_xcalloc(a->n + 1, sizeof(**cands));
	for (size_t k = 0; k < a->n; k++) {
		const struct rc_fot_cand *c = &a->c[k];
		struct rc_status_cand *sc = &(*cands)[k];

		sc->instance = c->instance;
		sc->private_ip = c->private_ip;
		sc->observed = c->observed && c->found;
		sc->state = c->observed && c->found
				    ? prov_instance_state_name(c->state)
				    : NULL;
		sc->health = rc_health_name(c->hc.state);
		sc->ok_streak = c->hc.ok_streak;
		sc->fail_streak = c->hc.fail_streak;
		sc->probe = c->probe_desc;
		sc->last_result = c->last_result;
		sc->last_probe_at = c->last_probe_at;
	}
	sa->cands = *cands;
	sa->n_cands = a->n;
}

void rc_status_fill_groups(const struct spec *s, const struct rc_snapshots *sn,
			   struct rc_status *st, struct rc_status_group *groups,
			   struct rc_status_member **members)
{
	for (size_t i = 0; i < s->n_lbs; i++) {
		struct rc_status_group *sg = &groups[st->n_groups++];
		const struct rc_snap_group *g =
			rc_snapshots_group(sn, spec_lb_label(&s->lbs[i]));

		sg->label = spec_lb_label(&s->lbs[i]);
		sg->kind = s->lbs[i].kind == SPEC_LB_CLASSIC ? "classic"
							     : "target_group";
		if (!g)
			continue;
		sg->found = g->g.found;
		sg->total = g->g.total;
		sg->healthy = g->g.healthy;
		sg->held_back = g->g.held_back;
		st->held_back += g->g.held_back;
		sg->observed_at = g->at;
		sg->last_error = g->last_error;
		members[i] = util_xcalloc(g->g.n_members + 1,
					  sizeof(**members));
		for (size_t k = 0; k < g->g.n_members; k++) {
			members[i][k].id = g->g.members[k].id;
			members[i][k].port = g->g.members[k].port;
			members[i][k].health = health_word(
				g->g.members[k].health);
		}
		sg->members = members[i];
		sg->n_members = g->g.n_members;
	}
	st->groups = groups;
	st->n_groups = s->n_lbs;
}
