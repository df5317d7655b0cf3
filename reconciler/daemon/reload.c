#include "reconciler/daemon/awsprobe.h"
#include "reconciler/daemon/watch_int.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reconciler/daemon/backoff.h"
#include "reconciler/daemon/specwatch.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/hash.h"
#include "util/log.h"
#include "util/str.h"
#include "util/banned.h"

/*
 * The spec file: reading it on an edit, SIGHUP or resync, and putting a
 * new valid spec in force.  A file that cannot be used is logged and
 * leaves the spec in force as it is.
 */

static void set_file(struct rc_watch *w, enum rc_spec_file f, const char *why)
{
	w->file = f;
	free(w->file_error);
	w->file_error = util_xstrdup_or_null(why);
}

static void log_diags(const struct spec_diags *d, enum spec_severity sev,
		      const char *event, enum util_log_level lvl)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < d->n; i++) {
		if (d->v[i].severity != sev)
			continue;
		buf_reset(&b);
		spec_diag_format(d, i, &b);
		util_log(lvl, event, d->path, "%s", b.buf);
	}
	buf_release(&b);
}

/* The file cannot be read or declares nothing: the spec in force stays. */
static void reload_unusable(struct rc_watch *w, enum rc_spec_file f,
			    const struct util_err *e, const char *trigger,
			    bool force, bool again)
{
	static const char *const events[] = {
		[RC_SPEC_FILE_MISSING] = "spec_missing",
		[RC_SPEC_FILE_EMPTY] = "spec_empty",
		[RC_SPEC_FILE_UNREADABLE] = "spec_unreadable",
		[RC_SPEC_FILE_TOO_BIG] = "spec_unreadable",
	};
	const char *path = w->cfg.spec_path;
	const char *keep = w->cur->s->sha256;
	enum rc_spec_file fs = f == RC_SPEC_FILE_TOO_BIG
				       ? RC_SPEC_FILE_UNREADABLE
				       : f;
	char *why = f == RC_SPEC_FILE_MISSING
			    ? util_xasprintf("'%s' does not exist", path)
		    : f == RC_SPEC_FILE_EMPTY
			    ? util_xasprintf("'%s' declares nothing", path)
			    : util_xstrdup(e->msg);

	if (fs != w->file || again || force)
		util_log(UTIL_LOG_WARN, events[f], path,
			 "%s; keeping the last good spec (sha256 "
			 "%.12s) in force",
			 why, keep);
	set_file(w, fs, why);
	free(why);
	w->seen_sha[0] = '\0';
	if (force)
		rcw_full_request(w, trigger);
}

/* The edit does not load: the spec in force stays. */
static void reload_invalid(struct rc_watch *w, const struct spec_diags *d,
			   const struct util_err *e, const char *trigger,
			   bool force)
{
	const char *path = w->cfg.spec_path;

	log_diags(d, SPEC_ERROR, "spec_invalid", UTIL_LOG_ERROR);
	if (!d->n_errors)
		util_log(UTIL_LOG_ERROR, "spec_invalid", path, "%s", e->msg);
	util_log(UTIL_LOG_WARN, "spec_invalid", path,
		 "ignoring the edit: %zu error%s; the last good spec "
		 "(sha256 %.12s) stays in force",
		 d->n_errors ? d->n_errors : 1, d->n_errors > 1 ? "s" : "",
		 w->cur->s->sha256);
	set_file(w, RC_SPEC_FILE_INVALID, e->msg);
	if (force)
		rcw_full_request(w, trigger);
}

/*
 * A spec in another region is refused: one daemon, one region.  So is a
 * new name under --lease-table: the lease held is the name's.
 */
static bool reload_refused(struct rc_watch *w, const struct spec *s)
{
	const char *path = w->cfg.spec_path;
	char *why;

	if (w->cfg.lease && !util_streq(s->name, w->cfg.name))
		why = util_xasprintf("%s: name changed from %s to %s; restart "
				     "moor watch to change a spec's lease",
				     path, w->cfg.name, s->name);
	else if (w->cfg.region_fixed ||
		 util_streq(s->region, w->initial_region))
		return false;
	else
		why = util_xasprintf(
			"%s: region changed from %s to %s; restart moor "
			"watch to change regions",
			path, w->initial_region ? w->initial_region : "(none)",
			s->region ? s->region : "(none)");
	util_log(UTIL_LOG_ERROR, "spec_invalid", path, "%s; ignoring the edit",
		 why);
	set_file(w, RC_SPEC_FILE_INVALID, why);
	free(why);
	return true;
}

/* The file declares the spec already in force. */
static void reload_same(struct rc_watch *w, const char *sha,
			const char *trigger, bool force)
{
	const char *path = w->cfg.spec_path;

	if (w->file != RC_SPEC_FILE_OK)
		util_log(UTIL_LOG_INFO, "spec_restored", path,
			 "'%s' is valid again and is the spec in "
			 "force",
			 path);
	else if (force)
		util_log(UTIL_LOG_INFO, "spec_unchanged", path,
			 "'%s' has not changed (sha256 %.12s)", path, sha);
	set_file(w, RC_SPEC_FILE_OK, NULL);
	if (force) {
		rcw_full_request(w, trigger);
		rcw_fo_request_all(w);
	}
}

/* Put s (taken) in force and reconcile everything on it. */
static void reload_install(struct rc_watch *w, struct spec *s,
			   const char *trigger)
{
	const char *path = w->cfg.spec_path;
	size_t lbs, members, eips;
	struct rc_spec_ref *old = w->cur;

	spec_counts(s, &lbs, &members, &eips);
	util_log(UTIL_LOG_INFO, "spec_reloaded", path,
		 "loaded '%s' (sha256 %.12s, was %.12s): %zu load "
		 "balancer%s, %zu member%s, %zu elastic IP%s",
		 path, s->sha256, old->s->sha256, lbs, lbs == 1 ? "" : "s",
		 members, members == 1 ? "" : "s", eips, eips == 1 ? "" : "s");
	w->cur = rc_spec_ref_new(s, old->gen + 1);
	rc_spec_ref_drop(old);
	w->spec_loaded_at = rcw_wall(w);
	set_file(w, RC_SPEC_FILE_OK, NULL);
	/* A new spec deserves a fresh try everywhere. */
	rc_backoff_clear(&w->bo);
	rc_ev_timer_disarm(w->retry_t);
	rcw_fo_rebuild(w);
	rcw_fit_resync(w);
	rcw_preempt_full(w);
	rcw_full_request(w, trigger);
	rcw_fo_request_all(w);
}

/*
 * Look at the file: a new valid spec replaces the one in force; anything
 * else keeps it.  force (SIGHUP): reconcile even when nothing changed.
 * again (resync): repeat the warning for a file still not usable.
 */
void rcw_reload(struct rc_watch *w, const char *trigger, bool force, bool again)
{
	const char *path = w->cfg.spec_path;
	struct buf data = BUF_INIT;
	struct util_err e = UTIL_ERR_INIT;
	struct spec_diags d = { 0 };
	struct spec *s = NULL;
	char sha[UTIL_SHA256_HEX_SIZE];
	enum rc_spec_file f;

	f = rc_spec_file_read(path, SPEC_MAX_FILE_SIZE, &data, &e);
	if (f != RC_SPEC_FILE_OK) {
		reload_unusable(w, f, &e, trigger, force, again);
		goto out;
	}
	util_sha256_hex(data.buf, data.len, sha);
	if (!force && !strcmp(sha, w->seen_sha)) {
		if (again && w->file != RC_SPEC_FILE_OK)
			util_log(UTIL_LOG_WARN, "spec_invalid", path,
				 "%s; still keeping the last good spec "
				 "(sha256 %.12s) in force",
				 w->file_error ? w->file_error : "invalid",
				 w->cur->s->sha256);
		goto out;
	}
	memcpy(w->seen_sha, sha, sizeof(sha));
	if (spec_load_buffer(path, data.buf, data.len, &s, &d, &e) < 0 ||
	    rc_aws_budget_check(s, &w->cfg.read_budget, &e) < 0) {
		reload_invalid(w, &d, &e, trigger, force);
		goto out;
	}
	if (reload_refused(w, s))
		goto out;
	log_diags(&d, SPEC_WARNING, "spec_warning", UTIL_LOG_WARN);
	if (!strcmp(s->sha256, w->cur->s->sha256)) {
		reload_same(w, sha, trigger, force);
		goto out;
	}
	reload_install(w, s, trigger);
	s = NULL;
out:
	rcw_status_soon(w);
	spec_free(s);
	spec_diags_release(&d);
	buf_release(&data);
}

void rcw_on_debounce(void *ctx)
{
	struct rc_watch *w = ctx;

	if (!rc_debounce_due(&w->deb, rcw_mono(w)))
		return;
	rc_debounce_clear(&w->deb);
	if (!w->stopping)
		rcw_reload(w, "edit", false, false);
}

void rcw_on_inotify(void *ctx, int fd, uint32_t events)
{
	struct rc_watch *w = ctx;

	(void)fd;
	(void)events;
	if (rc_specwatch_read(w->sw) && !w->stopping)
		rc_ev_timer_arm(w->debounce_t,
				rc_debounce_event(&w->deb, rcw_mono(w)));
}
