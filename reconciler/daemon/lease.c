#include "reconciler/daemon/lease.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "providers/provider.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/fence.h"
#include "util/log.h"
#include "util/banned.h"

/* What the last Scan showed of one item, timed on our monotonic clock. */
struct obs {
	char *name;
	char *holder; /* NULL: released */
	char *rvn;
	bool present;
	uint64_t since; /* when rvn last changed (or was first seen) */
	bool live;	/* replica items: changed within a duration */
	bool seen;	/* in this round's Scan */
};

/* One lease we may hold: a spec's (idx < n) or our replica item (idx n). */
struct slot {
	struct rc_lease *m;
	size_t idx;
	char *name;
	enum prov_lease_kind kind;
	bool mine;
	char *rvn;	   /* ours, while mine */
	uint64_t start_ms; /* when our last successful write was started */
	bool reported;	   /* held as last told to fn */
	uint64_t transitions;
	rc_lease_change_fn fn;
	void *ctx;
	struct util_fence fence;
};

struct rc_lease {
	struct prov *p;
	char *table, *me;
	uint64_t dur, margin;
	const struct util_clock *clock;
	struct slot *slots; /* n + 1: the replica item last */
	size_t n;
	struct obs *obs;
	size_t n_obs;
	unsigned live, target;
	pthread_mutex_t lock;  /* slots' and obs' state */
	pthread_mutex_t round; /* one round at a time */
	pthread_cond_t wake;
	bool started, stopping;
	pthread_t thread;
};

static uint64_t now_ms(const struct rc_lease *m)
{
	return m->clock->mono_ms(m->clock->ctx);
}

/* A fresh UUID-like rvn (caller frees). */
static char *new_rvn(void)
{
	unsigned char b[16];
	char *s = util_xmalloc(37);

	if (RAND_bytes(b, sizeof(b)) != 1) {
		/* Never expected; fall back to time plus address entropy. */
		uint64_t t = util_mono_ms() ^ (uintptr_t)s;

		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (unsigned char)(t >> (8 * (i % 8))) ^
			       (unsigned char)(i * 37);
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(s, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return s;
}

/* Whether s's fence is open at now (lock held). */
static bool open_at(const struct slot *s, uint64_t now)
{
	const struct rc_lease *m = s->m;

	return s->mine && now - s->start_ms < m->dur - m->margin;
}

static int fence_check(void *ctx, uint64_t *ret_budget_ms, struct util_err *err)
{
	struct slot *s = ctx;
	struct rc_lease *m = s->m;
	int rc = 0;

	pthread_mutex_lock(&m->lock);
	uint64_t now = now_ms(m);
	if (open_at(s, now))
		/* Until the lease could expire for the others. */
		*ret_budget_ms = s->start_ms + m->dur - now;
	else
		rc = util_err_set(err, UTIL_EFENCED,
				  "lease %s is not held by %s", s->name, m->me);
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static struct obs *find_obs(struct rc_lease *m, const char *name)
{
	for (size_t i = 0; i < m->n_obs; i++)
		if (!strcmp(m->obs[i].name, name))
			return &m->obs[i];
	return NULL;
}

static void obs_free(struct obs *o)
{
	free(o->name);
	free(o->holder);
	free(o->rvn);
}

static int check_config(const struct rc_lease_config *cfg, struct util_err *err)
{
	uint64_t d = cfg->duration_ms ? cfg->duration_ms
				      : RC_LEASE_DEFAULT_DURATION_MS;

	if (!cfg->table || !*cfg->table || !cfg->replica_id ||
	    !*cfg->replica_id)
		return util_err_set(err, UTIL_EINVAL,
				    "lease table and replica id are required");
	if (d < 4)
		return util_err_set(err, UTIL_EINVAL,
				    "lease duration too short");
	if (cfg->margin_ms && cfg->margin_ms >= d / 2)
		return util_err_set(err, UTIL_EINVAL,
				    "lease margin must be less than half the "
				    "duration");
	return 0;
}

static void slot_init(struct rc_lease *m, size_t i, const char *name,
		      enum prov_lease_kind kind)
{
	struct slot *s = &m->slots[i];

	s->m = m;
	s->idx = i;
	s->name = util_xstrdup(name);
	s->kind = kind;
	s->fence.check = fence_check;
	s->fence.ctx = s;
}

int rc_lease_new(struct prov *p, const struct rc_lease_config *cfg,
		 struct rc_lease **ret, struct util_err *err)
{
	struct rc_lease *m;
	pthread_condattr_t ca;
	char buf[512];

	if (check_config(cfg, err))
		return UTIL_EINVAL;
	m = util_xcalloc(1, sizeof(*m));
	m->p = p;
	m->table = util_xstrdup(cfg->table);
	m->me = util_xstrdup(cfg->replica_id);
	m->dur = cfg->duration_ms ? cfg->duration_ms
				  : RC_LEASE_DEFAULT_DURATION_MS;
	m->margin = cfg->margin_ms ? cfg->margin_ms : m->dur * 2 / 5;
	m->clock = cfg->clock ? cfg->clock : &util_clock_system;
	m->n = cfg->n_names;
	m->slots = util_xcalloc(m->n + 1, sizeof(*m->slots));
	for (size_t i = 0; i < m->n; i++)
		slot_init(m, i, cfg->names[i], PROV_LEASE_SPEC);
	snprintf(buf, sizeof(buf), "replica:%s", m->me);
	slot_init(m, m->n, buf, PROV_LEASE_REPLICA);
	m->live = 1;
	m->target = (unsigned)m->n;
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->round, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&m->wake, &ca);
	pthread_condattr_destroy(&ca);
	*ret = m;
	return 0;
}

static struct prov_lease_write write_of(const struct rc_lease *m,
					const struct slot *s, const char *rvn)
{
	struct prov_lease_write w = {
		.name = s->name,
		.kind = s->kind,
		.holder = m->me,
		.rvn = rvn,
		.duration_ms = m->dur,
		.heartbeat_unix_ms = (int64_t)m->clock->wall(m->clock->ctx) *
				     1000,
	};
	return w;
}

/* Record a successful write of rvn started at t0. */
static void set_mine(struct rc_lease *m, struct slot *s, char *rvn, uint64_t t0)
{
	pthread_mutex_lock(&m->lock);
	free(s->rvn);
	s->rvn = rvn;
	s->mine = true;
	s->start_ms = t0;
	pthread_mutex_unlock(&m->lock);
}

static void drop(struct rc_lease *m, struct slot *s)
{
	pthread_mutex_lock(&m->lock);
	s->mine = false;
	free(s->rvn);
	s->rvn = NULL;
	pthread_mutex_unlock(&m->lock);
}

static void renew(struct rc_lease *m, struct slot *s)
{
	struct util_err err = { 0 };
	char *rvn = new_rvn();
	struct prov_lease_write w = write_of(m, s, rvn);
	uint64_t t0 = now_ms(m);
	int rc = m->p->ops->lease_renew(m->p, m->table, &w, s->rvn, &err);

	if (!rc) {
		set_mine(m, s, rvn, t0);
		return;
	}
	free(rvn);
	if (rc == UTIL_ECONFLICT) {
		util_log(UTIL_LOG_WARN, "lease_lost", s->name,
			 "renewal lost its condition: someone else holds it");
		drop(m, s);
	} else {
		util_log(UTIL_LOG_WARN, "lease_renew_failed", s->name, "%s",
			 err.msg);
		/* Past a whole duration the others may have taken it. */
		if (now_ms(m) - s->start_ms >= m->dur)
			drop(m, s);
	}
	util_err_clear(&err);
}

/* Fold one Scan into the observations (state lock held). */
static void observe(struct rc_lease *m, const struct prov_lease_list *l,
		    uint64_t now)
{
	for (size_t i = 0; i < m->n_obs; i++)
		m->obs[i].seen = false;
	for (size_t i = 0; i < l->n; i++) {
		const struct prov_lease *it = &l->v[i];
		struct obs *o = find_obs(m, it->name);

		if (!o) {
			m->obs = util_xrealloc(m->obs, (m->n_obs + 1) *
							       sizeof(*m->obs));
			o = &m->obs[m->n_obs++];
			memset(o, 0, sizeof(*o));
			o->name = util_xstrdup(it->name);
			o->since = now;
		}
		o->seen = true;
		if (!o->present || !o->rvn || !it->rvn ||
		    strcmp(o->rvn, it->rvn))
			o->since = now;
		o->present = true;
		free(o->rvn);
		o->rvn = it->rvn ? util_xstrdup(it->rvn) : NULL;
		free(o->holder);
		o->holder = it->holder ? util_xstrdup(it->holder) : NULL;
	}
	for (size_t i = 0; i < m->n_obs; i++)
		if (!m->obs[i].seen && m->obs[i].present) {
			m->obs[i].present = false;
			m->obs[i].since = now;
		}
}

/* Count the live replicas (ours always) and log joins and leaves. */
static void count_replicas(struct rc_lease *m, uint64_t now)
{
	unsigned live = 1;
	const char *mine = m->slots[m->n].name;

	for (size_t i = 0; i < m->n_obs; i++) {
		struct obs *o = &m->obs[i];
		bool was = o->live;

		if (strncmp(o->name, "replica:", 8) || !strcmp(o->name, mine))
			continue;
		o->live = o->present && o->holder && now - o->since < m->dur;
		live += o->live;
		if (o->live != was)
			util_log(UTIL_LOG_INFO,
				 o->live ? "replica_joined" : "replica_left",
				 o->name + 8, "%s",
				 o->live ? "heartbeating"
					 : "stopped heartbeating");
	}
	m->live = live;
	m->target = (unsigned)((m->n + live - 1) / live);
}

static void acquire(struct rc_lease *m, struct slot *s, const char *prev,
		    bool takeover)
{
	struct util_err err = { 0 };
	char *rvn = new_rvn();
	struct prov_lease_write w = write_of(m, s, rvn);
	uint64_t t0 = now_ms(m);
	int rc = m->p->ops->lease_acquire(m->p, m->table, &w, prev, &err);

	if (rc) {
		free(rvn);
		if (rc != UTIL_ECONFLICT)
			util_log(UTIL_LOG_WARN, "lease_renew_failed", s->name,
				 "acquire: %s", err.msg);
		util_err_clear(&err);
		return;
	}
	set_mine(m, s, rvn, t0);
	util_log(UTIL_LOG_INFO, takeover ? "lease_takeover" : "lease_acquired",
		 s->name, "held by %s", m->me);
}

static void release(struct rc_lease *m, struct slot *s)
{
	struct util_err err = { 0 };
	char *rvn = new_rvn();
	int rc = m->p->ops->lease_release(m->p, m->table, s->name, m->me,
					  s->rvn, rvn, &err);

	drop(m, s);
	if (rc)
		util_log(UTIL_LOG_WARN, "lease_renew_failed", s->name,
			 "release: %s", err.msg);
	else
		util_log(UTIL_LOG_INFO, "lease_released", s->name,
			 "released by %s", m->me);
	util_err_clear(&err);
	free(rvn);
}

/*
 * Whether to take s now, and with which prev rvn (*prev borrowed from the
 * observation; NULL = absent or released).
 */
static bool want(struct rc_lease *m, struct slot *s, unsigned held,
		 uint64_t now, const char **prev, bool *takeover)
{
	struct obs *o = find_obs(m, s->name);
	uint64_t age = o ? now - o->since : 0;
	bool below = s->kind == PROV_LEASE_REPLICA || held < m->target;

	*prev = NULL;
	*takeover = false;
	if (!o || !o->present || !o->holder)
		return below || (o && age >= m->dur / 2);
	if (!strcmp(o->holder, m->me) && s->kind == PROV_LEASE_REPLICA) {
		*prev = o->rvn; /* our own earlier incarnation's item */
		return true;
	}
	if (age < m->dur)
		return false;
	*prev = o->rvn;
	*takeover = true;
	return below || age >= m->dur + m->dur / 2;
}

static void take_and_spread(struct rc_lease *m, uint64_t now)
{
	unsigned held = 0;
	struct slot *last = NULL;

	for (size_t i = 0; i < m->n; i++)
		held += m->slots[i].mine;
	for (size_t i = 0; i <= m->n; i++) {
		struct slot *s = &m->slots[i];
		const char *prev;
		bool takeover;
		char *p;

		if (s->mine)
			continue;
		pthread_mutex_lock(&m->lock);
		bool w = want(m, s, held, now, &prev, &takeover);
		p = prev ? util_xstrdup(prev) : NULL;
		pthread_mutex_unlock(&m->lock);
		if (w)
			acquire(m, s, p, takeover);
		free(p);
		if (s->mine && s->kind == PROV_LEASE_SPEC)
			held++;
	}
	for (size_t i = 0; i < m->n; i++)
		if (m->slots[i].mine)
			last = &m->slots[i];
	if (last && held > m->target)
		release(m, last); /* one surplus lease per round */
}

/* Tell fn about gains and losses (also those the time bound made). */
static void report(struct rc_lease *m)
{
	for (size_t i = 0; i < m->n; i++) {
		struct slot *s = &m->slots[i];

		pthread_mutex_lock(&m->lock);
		bool h = open_at(s, now_ms(m));
		bool changed = h != s->reported;
		if (changed) {
			s->reported = h;
			s->transitions++;
		}
		pthread_mutex_unlock(&m->lock);
		if (changed && !h)
			util_log(UTIL_LOG_WARN, "lease_lost", s->name,
				 "fence closed");
		if (changed && s->fn)
			s->fn(s->ctx, i, h);
	}
}

/*
 * The calls of a round (or of the release at stop) end by a deadline:
 * the thread's fence (util/fence.h) sends nothing past it and bounds
 * each attempt by what is left, so an unreachable table neither holds up
 * the next round nor the process's stop.
 */
struct deadline {
	const struct rc_lease *m;
	uint64_t until;
	struct util_fence fence;
};

static int deadline_check(void *ctx, uint64_t *ret_budget_ms,
			  struct util_err *err)
{
	const struct deadline *d = ctx;
	uint64_t now = now_ms(d->m);

	if (now >= d->until)
		return util_err_set(err, UTIL_EFENCED,
				    "out of time for this lease round");
	*ret_budget_ms = d->until - now;
	return 0;
}

static const struct util_fence *deadline_set(struct deadline *d,
					     const struct rc_lease *m,
					     uint64_t ms)
{
	d->m = m;
	d->until = now_ms(m) + ms;
	d->fence.check = deadline_check;
	d->fence.ctx = d;
	return util_fence_set(&d->fence);
}

void rc_lease_round(struct rc_lease *m)
{
	struct prov_lease_list l = { 0 };
	struct util_err err = { 0 };
	struct deadline d;
	const struct util_fence *prev;

	pthread_mutex_lock(&m->round);
	prev = deadline_set(&d, m, m->dur / 4);
	for (size_t i = 0; i <= m->n; i++)
		if (m->slots[i].mine &&
		    now_ms(m) - m->slots[i].start_ms >= m->dur / 4)
			renew(m, &m->slots[i]);
	uint64_t now = now_ms(m);
	if (m->p->ops->lease_list(m->p, m->table, &l, &err)) {
		util_log(UTIL_LOG_WARN, "lease_renew_failed", m->table,
			 "scan: %s", err.msg);
		util_err_clear(&err);
	} else {
		pthread_mutex_lock(&m->lock);
		observe(m, &l, now);
		count_replicas(m, now);
		pthread_mutex_unlock(&m->lock);
		prov_lease_list_release(&l);
		take_and_spread(m, now);
	}
	util_fence_set(prev);
	report(m);
	pthread_mutex_unlock(&m->round);
}

static void *run(void *arg)
{
	struct rc_lease *m = arg;

	pthread_mutex_lock(&m->lock);
	while (!m->stopping) {
		struct timespec ts;
		uint64_t ms = m->dur / 4 < RC_LEASE_POLL_MS ? m->dur / 4
							    : RC_LEASE_POLL_MS;

		pthread_mutex_unlock(&m->lock);
		rc_lease_round(m);
		pthread_mutex_lock(&m->lock);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(ms / 1000);
		ts.tv_nsec += (long)(ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!m->stopping)
			pthread_cond_timedwait(&m->wake, &m->lock, &ts);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int rc_lease_start(struct rc_lease *m, struct util_err *err)
{
	int rc = pthread_create(&m->thread, NULL, run, m);

	if (rc)
		return util_err_set(err, UTIL_EIO, "lease thread: %s",
				    strerror(rc));
	m->started = true;
	return 0;
}

void rc_lease_stop(struct rc_lease *m)
{
	struct deadline d;
	const struct util_fence *prev;

	pthread_mutex_lock(&m->lock);
	m->stopping = true;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	if (m->started)
		pthread_join(m->thread, NULL);
	m->started = false;
	pthread_mutex_lock(&m->round);
	prev = deadline_set(&d, m, m->margin);
	for (size_t i = 0; i <= m->n; i++)
		if (m->slots[i].mine)
			release(m, &m->slots[i]);
	util_fence_set(prev);
	report(m);
	pthread_mutex_unlock(&m->round);
}

void rc_lease_free(struct rc_lease *m)
{
	if (!m)
		return;
	for (size_t i = 0; i <= m->n; i++) {
		free(m->slots[i].name);
		free(m->slots[i].rvn);
	}
	free(m->slots);
	for (size_t i = 0; i < m->n_obs; i++)
		obs_free(&m->obs[i]);
	free(m->obs);
	free(m->table);
	free(m->me);
	pthread_mutex_destroy(&m->lock);
	pthread_mutex_destroy(&m->round);
	pthread_cond_destroy(&m->wake);
	free(m);
}

void rc_lease_on_change(struct rc_lease *m, size_t idx, rc_lease_change_fn fn,
			void *ctx)
{
	m->slots[idx].fn = fn;
	m->slots[idx].ctx = ctx;
}

const struct util_fence *rc_lease_fence(struct rc_lease *m, size_t idx)
{
	return &m->slots[idx].fence;
}

bool rc_lease_held(struct rc_lease *m, size_t idx)
{
	pthread_mutex_lock(&m->lock);
	bool h = open_at(&m->slots[idx], now_ms(m));
	pthread_mutex_unlock(&m->lock);
	return h;
}

void rc_lease_info(struct rc_lease *m, size_t idx, struct rc_lease_info *ret)
{
	struct slot *s = &m->slots[idx];

	memset(ret, 0, sizeof(*ret));
	pthread_mutex_lock(&m->lock);
	uint64_t now = now_ms(m);
	struct obs *o = find_obs(m, s->name);
	ret->held = open_at(s, now);
	if (o && o->present && o->holder)
		snprintf(ret->holder, sizeof(ret->holder), "%s", o->holder);
	ret->age_ms = o ? now - o->since : 0;
	ret->transitions = s->transitions;
	ret->live_replicas = m->live;
	ret->target = m->target;
	pthread_mutex_unlock(&m->lock);
}
