#include "reconciler/daemon/failover.h"

#include <limits.h>
#include <string.h>

#include "util/log.h"
#include "util/parse.h"
#include "util/banned.h"

const char *rc_health_name(enum rc_health h)
{
	switch (h) {
	case RC_HEALTH_UNKNOWN:
		return "unknown";
	case RC_HEALTH_UP:
		return "up";
	case RC_HEALTH_DOWN:
		return "down";
	}
	return "unknown";
}

bool rc_hc_record(struct rc_hc *h, bool ok, unsigned fall, unsigned rise)
{
	enum rc_health before = h->state;

	if (fall < 1)
		fall = 1;
	if (rise < 1)
		rise = 1;
	if (ok) {
		h->fail_streak = 0;
		if (h->ok_streak < UINT_MAX)
			h->ok_streak++;
		if (h->state != RC_HEALTH_UP && h->ok_streak >= rise)
			h->state = RC_HEALTH_UP;
	} else {
		h->ok_streak = 0;
		if (h->fail_streak < UINT_MAX)
			h->fail_streak++;
		if (h->state != RC_HEALTH_DOWN && h->fail_streak >= fall)
			h->state = RC_HEALTH_DOWN;
	}
	return h->state != before;
}

void rc_hc_reset(struct rc_hc *h)
{
	h->state = RC_HEALTH_UNKNOWN;
	h->ok_streak = 0;
	h->fail_streak = 0;
}

static bool usable(const struct rc_fo_cand *c)
{
	return c->running && c->health == RC_HEALTH_UP;
}

static int first_usable(const struct rc_fo_input *in)
{
	for (size_t i = 0; i < in->n_cands; i++)
		if (usable(&in->cands[i]))
			return (int)i;
	return -1;
}

/* Some running candidate other than skip has no verdict yet. */
static bool some_unknown(const struct rc_fo_input *in, int skip)
{
	for (size_t i = 0; i < in->n_cands; i++)
		if ((int)i != skip && in->cands[i].running &&
		    in->cands[i].health == RC_HEALTH_UNKNOWN)
			return true;
	return false;
}

void rc_fo_decide(const struct rc_fo_input *in, struct rc_fo_decision *ret)
{
	const struct rc_fo_cand *h = NULL;
	enum rc_fo_reason why;
	int target;

	ret->verdict = RC_FO_KEEP;
	ret->target = -1;
	ret->reason = RC_FO_WHY_NONE;
	ret->retry_at_ms = 0;
	if (in->holder >= 0 && (size_t)in->holder < in->n_cands)
		h = &in->cands[in->holder];

	if (h && h->running && h->health != RC_HEALTH_DOWN) {
		ret->target = in->holder;
		target = first_usable(in);
		if (in->failback != SPEC_FAILBACK_PREFER_FIRST ||
		    h->health != RC_HEALTH_UP || target < 0 ||
		    target >= in->holder)
			return;
		why = RC_FO_WHY_FAILBACK;
	} else {
		if (h)
			why = h->running ? RC_FO_WHY_HOLDER_DOWN
					 : RC_FO_WHY_HOLDER_NOT_RUNNING;
		else
			why = in->bound ? RC_FO_WHY_NOT_CANDIDATE
					: RC_FO_WHY_UNBOUND;
		target = first_usable(in);
		if (target < 0) {
			ret->verdict = some_unknown(in, h ? in->holder : -1)
					       ? RC_FO_WAITING
					       : RC_FO_ALL_DOWN;
			ret->target = -1;
			return;
		}
	}
	ret->target = target;
	ret->reason = why;
	if (in->last_move_ms && in->now_ms < in->last_move_ms + in->damp_ms) {
		ret->verdict = RC_FO_DAMPED;
		ret->retry_at_ms = in->last_move_ms + in->damp_ms;
		return;
	}
	ret->verdict = RC_FO_MOVE;
}

const char *rc_fo_verdict_name(enum rc_fo_verdict v)
{
	switch (v) {
	case RC_FO_KEEP:
		return "keep";
	case RC_FO_MOVE:
		return "move";
	case RC_FO_DAMPED:
		return "damped";
	case RC_FO_ALL_DOWN:
		return "all_down";
	case RC_FO_WAITING:
		return "waiting";
	}
	return "?";
}

const char *rc_fo_reason_name(enum rc_fo_reason r)
{
	switch (r) {
	case RC_FO_WHY_NONE:
		return "none";
	case RC_FO_WHY_HOLDER_DOWN:
		return "holder_down";
	case RC_FO_WHY_HOLDER_NOT_RUNNING:
		return "holder_not_running";
	case RC_FO_WHY_FAILBACK:
		return "failback";
	case RC_FO_WHY_UNBOUND:
		return "unbound";
	case RC_FO_WHY_NOT_CANDIDATE:
		return "not_candidate";
	}
	return "?";
}

void rc_fo_log_damped(const char *label, const char *target,
		      enum rc_fo_reason reason, uint64_t moved_ago_ms,
		      uint64_t holds_ms)
{
	char ago[32], left[32];

	util_log(UTIL_LOG_WARN, "failover_damped", label,
		 "%s should move to %s (%s) but moved %s ago; flap damping "
		 "holds it for %s",
		 label, target, rc_fo_reason_name(reason),
		 util_duration_format(moved_ago_ms, ago, sizeof(ago)),
		 util_duration_format(holds_ms, left, sizeof(left)));
}

bool rc_fo_running(bool observed, enum prov_instance_state state)
{
	return observed && state == PROV_INSTANCE_RUNNING;
}

void rc_fo_input_init(struct rc_fo_input *in, const struct spec_failover *f,
		      const struct rc_fo_cand *cands, int holder, bool bound,
		      uint64_t now_ms, uint64_t last_move_ms)
{
	memset(in, 0, sizeof(*in));
	in->cands = cands;
	in->n_cands = f->n_candidates;
	in->holder = holder;
	in->bound = bound;
	in->failback = f->failback;
	in->now_ms = now_ms;
	in->last_move_ms = last_move_ms;
	in->damp_ms = rc_fo_damp_ms(f);
}

uint64_t rc_fo_damp_ms(const struct spec_failover *f)
{
	return f->interval_ms * ((uint64_t)f->fall + f->rise);
}
