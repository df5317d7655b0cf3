#include "reconciler/engine/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/engine/key.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/parse.h"
#include "util/str.h"
#include "util/strv.h"
#include "util/banned.h"

/* --- names ------------------------------------------------------------ */

static const char *const phase_names[] = {
	[RC_PHASE_ALLOCATE] = "allocate",
	[RC_PHASE_ENABLE_ZONES] = "enable-zones",
	[RC_PHASE_REGISTER] = "register",
	[RC_PHASE_WAIT_HEALTHY] = "wait-healthy",
	[RC_PHASE_ADDRESS] = "address",
	[RC_PHASE_DEREGISTER] = "deregister",
	[RC_PHASE_WAIT_DRAINED] = "wait-drained",
	[RC_PHASE_DISASSOCIATE] = "disassociate",
};

static const char *const action_names[] = {
	[RC_ACT_ALLOCATE] = "allocate",
	[RC_ACT_REGISTER] = "register",
	[RC_ACT_WAIT] = "wait",
	[RC_ACT_ASSOCIATE] = "associate",
	[RC_ACT_MOVE] = "move",
	[RC_ACT_DEREGISTER] = "deregister",
	[RC_ACT_DISASSOCIATE] = "disassociate",
	[RC_ACT_ENABLE_ZONES] = "enable-zones",
};

static const char *const until_names[] = {
	[RC_UNTIL_NONE] = "none",
	[RC_UNTIL_REGISTERED] = "registered",
	[RC_UNTIL_HEALTHY] = "healthy",
	[RC_UNTIL_DRAINED] = "drained",
};

const char *rc_phase_name(enum rc_phase p)
{
	if ((size_t)p < ARRAY_SIZE(phase_names) && phase_names[p])
		return phase_names[p];
	return "?";
}

const char *rc_action_name(enum rc_action a)
{
	if ((size_t)a < ARRAY_SIZE(action_names))
		return action_names[a];
	return "?";
}

const char *rc_until_name(enum rc_until u)
{
	if ((size_t)u < ARRAY_SIZE(until_names))
		return until_names[u];
	return "?";
}

static int parse_name(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s && i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return (int)i;
	return -1;
}

int rc_phase_parse(const char *s, enum rc_phase *ret)
{
	int i = parse_name(phase_names, ARRAY_SIZE(phase_names), s);

	if (i < 0)
		return -1;
	*ret = (enum rc_phase)i;
	return 0;
}

int rc_action_parse(const char *s, enum rc_action *ret)
{
	int i = parse_name(action_names, ARRAY_SIZE(action_names), s);

	if (i < 0)
		return -1;
	*ret = (enum rc_action)i;
	return 0;
}

int rc_until_parse(const char *s, enum rc_until *ret)
{
	int i = parse_name(until_names, ARRAY_SIZE(until_names), s);

	if (i < 0)
		return -1;
	*ret = (enum rc_until)i;
	return 0;
}

bool rc_step_is_change(const struct rc_step *s)
{
	return s->action != RC_ACT_WAIT;
}

size_t rc_step_changes(const struct rc_step *s)
{
	switch (s->action) {
	case RC_ACT_REGISTER:
	case RC_ACT_DEREGISTER:
		return s->n_members;
	case RC_ACT_WAIT:
		return 0;
	case RC_ACT_ALLOCATE:
	case RC_ACT_ASSOCIATE:
	case RC_ACT_MOVE:
	case RC_ACT_DISASSOCIATE:
	case RC_ACT_ENABLE_ZONES: /* one call, whatever the zones */
		break;
	}
	return 1;
}

const char *rc_eip_label(const struct spec_eip *e)
{
	switch (e->ref) {
	case SPEC_EIP_BY_ALLOCATION_ID:
		return e->allocation_id;
	case SPEC_EIP_BY_PUBLIC_IP:
		return e->public_ip;
	case SPEC_EIP_BY_NAME:
		break;
	}
	return e->name;
}

static const char *eip_value(const struct spec_eip *e)
{
	return rc_eip_label(e);
}

/* --- notes ------------------------------------------------------------ */

void rc_notes_add(struct rc_notes *n, enum rc_note_level level,
		  const char *resource, struct spec_loc loc, const char *fmt,
		  ...)
{
	struct rc_note *note;
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	n->v = util_xrealloc(n->v, (n->n + 1) * sizeof(*n->v));
	note = &n->v[n->n++];
	note->level = level;
	note->resource = resource ? util_xstrdup(resource) : NULL;
	note->loc = loc;
	note->msg = buf_detach(&b, NULL);
	if (level == RC_NOTE_ERROR)
		n->n_errors++;
}

void rc_notes_release(struct rc_notes *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		free(n->v[i].resource);
		free(n->v[i].msg);
	}
	free(n->v);
	free(n->path);
	memset(n, 0, sizeof(*n));
}

void rc_note_format(const struct rc_notes *n, size_t i, struct buf *out)
{
	const struct rc_note *note = &n->v[i];

	if (n->path && note->loc.line) {
		buf_addf(out, "%s:%u:%u: ", n->path, note->loc.line,
			 note->loc.col ? note->loc.col : 1);
	} else if (n->path && note->level == RC_NOTE_ERROR) {
		buf_addf(out, "%s: ", n->path);
	}
	if (note->level == RC_NOTE_WARNING)
		buf_addstr(out, "warning: ");
	buf_addstr(out, note->msg);
}

/* --- plan memory ------------------------------------------------------ */

static void binding_release(struct rc_binding *b)
{
	free(b->instance);
	free(b->eni);
	free(b->private_ip);
	memset(b, 0, sizeof(*b));
}

static void members_release(struct rc_member *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].az);
		free(v[i].name);
	}
	free(v);
}

void rc_held_release(struct rc_held *h)
{
	if (!h)
		return;
	free(h->key);
	free(h->label);
	free(h->reason);
	members_release(h->members, h->n_members);
	memset(h, 0, sizeof(*h));
}

const char *rc_guard_name(const char *s)
{
	static const char *const guards[] = { "min_healthy" };

	for (size_t i = 0; s && i < ARRAY_SIZE(guards); i++)
		if (!strcmp(s, guards[i]))
			return guards[i];
	return NULL;
}

void rc_step_release(struct rc_step *s)
{
	if (!s)
		return;
	free(s->key);
	free(s->label);
	free(s->reason);
	free(s->tg_arn);
	members_release(s->members, s->n_members);
	for (size_t i = 0; i < s->n_zones; i++)
		free(s->zones[i]);
	free(s->zones);
	free(s->allocation_id);
	free(s->public_ip);
	free(s->name);
	binding_release(&s->from);
	binding_release(&s->to);
	for (size_t i = 0; i < s->n_pre; i++)
		free(s->pre[i].key);
	free(s->pre);
	free(s->deps);
	memset(s, 0, sizeof(*s));
}

void rc_plan_free(struct rc_plan *p)
{
	if (!p)
		return;
	free(p->moor_version);
	free(p->spec_path);
	free(p->spec_content);
	util_strv_free(p->only, p->n_only);
	free(p->summary_json);
	free(p->region);
	free(p->account);
	for (size_t i = 0; i < p->n_observed; i++)
		free(p->observed[i].key);
	free(p->observed);
	for (size_t i = 0; i < p->n_steps; i++)
		rc_step_release(&p->steps[i]);
	free(p->steps);
	for (size_t i = 0; i < p->n_held; i++)
		rc_held_release(&p->held[i]);
	free(p->held);
	rc_notes_release(&p->notes);
	for (size_t i = 0; i < p->n_groups; i++)
		free(p->groups[i].label);
	free(p->groups);
	for (size_t i = 0; i < p->n_addresses; i++) {
		free(p->addresses[i].label);
		free(p->addresses[i].public_ip);
		free(p->addresses[i].from);
		free(p->addresses[i].to);
	}
	free(p->addresses);
	free(p);
}

void rc_plan_count(const struct rc_plan *p, struct rc_plan_counts *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct rc_step *s = &p->steps[i];

		c->changes += rc_step_changes(s);
		switch (s->action) {
		case RC_ACT_ALLOCATE:
			c->allocate++;
			break;
		case RC_ACT_REGISTER:
			c->register_members += s->n_members;
			break;
		case RC_ACT_DEREGISTER:
			c->deregister_members += s->n_members;
			break;
		case RC_ACT_WAIT:
			c->waits++;
			break;
		case RC_ACT_ASSOCIATE:
			c->associate++;
			break;
		case RC_ACT_MOVE:
			c->move++;
			break;
		case RC_ACT_DISASSOCIATE:
			c->disassociate++;
			break;
		case RC_ACT_ENABLE_ZONES:
			c->enable_zones += s->n_zones;
			break;
		}
	}
	for (size_t i = 0; i < p->n_held; i++)
		c->held_back += p->held[i].n_members;
	for (size_t i = 0; i < p->notes.n; i++) {
		if (p->notes.v[i].level == RC_NOTE_WARNING)
			c->warnings++;
		else if (p->notes.v[i].level == RC_NOTE_INFO)
			c->infos++;
	}
	for (size_t i = 0; i < p->n_groups; i++)
		if (p->groups[i].n_register || p->groups[i].n_deregister)
			c->groups_changed++;
	for (size_t i = 0; i < p->n_addresses; i++)
		if (!util_streq(p->addresses[i].from, p->addresses[i].to) ||
		    !p->addresses[i].public_ip)
			c->addresses_changed++;
}

bool rc_plan_has_changes(const struct rc_plan *p)
{
	for (size_t i = 0; i < p->n_steps; i++)
		if (rc_step_is_change(&p->steps[i]))
			return true;
	return false;
}

bool rc_plan_differs(const struct rc_plan *p)
{
	return p->n_held || rc_plan_has_changes(p);
}

const struct rc_step *rc_plan_step(const struct rc_plan *p, unsigned id)
{
	if (id >= 1 && id <= p->n_steps && p->steps[id - 1].id == id)
		return &p->steps[id - 1];
	for (size_t i = 0; i < p->n_steps; i++)
		if (p->steps[i].id == id)
			return &p->steps[i];
	return NULL;
}

static int cmp_precond(const void *a, const void *b)
{
	return strcmp(((const struct rc_precond *)a)->key,
		      ((const struct rc_precond *)b)->key);
}

const char *rc_plan_observed(const struct rc_plan *p, const char *key)
{
	struct rc_precond k = { .key = (char *)(uintptr_t)key };
	const struct rc_precond *f;

	if (!p->n_observed)
		return NULL;
	f = bsearch(&k, p->observed, p->n_observed, sizeof(*p->observed),
		    cmp_precond);
	return f ? f->fp : NULL;
}

void rc_plan_seal(struct rc_plan *p)
{
	struct util_sha256 h;
	size_t out = 0;

	if (p->n_observed)
		qsort(p->observed, p->n_observed, sizeof(*p->observed),
		      cmp_precond);
	for (size_t i = 0; i < p->n_observed; i++) {
		if (out &&
		    !strcmp(p->observed[out - 1].key, p->observed[i].key)) {
			free(p->observed[i].key);
			continue;
		}
		p->observed[out++] = p->observed[i];
	}
	p->n_observed = out;
	util_sha256_init(&h);
	util_sha256_field(&h, "moor-observed-v1");
	for (size_t i = 0; i < p->n_observed; i++) {
		util_sha256_field(&h, p->observed[i].key);
		util_sha256_field(&h, p->observed[i].fp);
	}
	util_sha256_final_hex(&h, p->fingerprint);
}

/* --- --only ----------------------------------------------------------- */

int rc_select_only(const struct spec *s, const char *const *names, size_t n,
		   bool **ret_lb, bool **ret_eip, struct util_err *err)
{
	bool *lb = util_xcalloc(s->n_lbs + 1, sizeof(*lb));
	bool *eip = util_xcalloc(s->n_eips + 1, sizeof(*eip));

	for (size_t k = 0; k < n; k++) {
		bool hit = false;

		for (size_t i = 0; i < s->n_lbs; i++)
			if (!strcmp(s->lbs[i].name, names[k]))
				hit = lb[i] = true;
		for (size_t i = 0; i < s->n_eips; i++)
			if (!strcmp(rc_eip_label(&s->eips[i]), names[k]))
				hit = eip[i] = true;
		if (!hit) {
			free(lb);
			free(eip);
			return util_err_set(
				err, UTIL_EINVAL,
				"--only: '%s' is not declared in %s", names[k],
				s->path);
		}
	}
	*ret_lb = lb;
	*ret_eip = eip;
	return 0;
}

/* --- the builder ------------------------------------------------------- */

struct builder {
	const struct spec *s;
	const struct rc_world *w;
	const struct rc_plan_opts *o;
	struct rc_plan *p;
	struct rc_notes *errors;
	struct rc_step *steps; /* in creation order; id = 1 + index */
	size_t n_steps;
	char **named; /* every instance / ENI id the spec names, sorted */
	size_t n_named;
	size_t observed_alloc;
};

static struct rc_step *new_step(struct builder *b, enum rc_phase phase,
				enum rc_action action, const char *key,
				const char *label, struct spec_loc loc)
{
	struct rc_step *st;

	b->steps = util_xrealloc(b->steps, (b->n_steps + 1) * sizeof(*st));
	st = &b->steps[b->n_steps++];
	memset(st, 0, sizeof(*st));
	st->id = (unsigned)b->n_steps;
	st->phase = phase;
	st->action = action;
	st->key = util_xstrdup(key);
	st->label = util_xstrdup(label);
	st->loc = loc;
	return st;
}

static void step_dep(struct rc_step *st, unsigned id)
{
	if (!id)
		return;
	st->deps = util_xrealloc(st->deps,
				 (st->n_deps + 1) * sizeof(*st->deps));
	st->deps[st->n_deps++] = id;
}

static void observed_add(struct builder *b, const char *key, const char *fp)
{
	struct rc_plan *p = b->p;

	UTIL_GROW(p->observed, b->observed_alloc, p->n_observed + 1);
	p->observed[p->n_observed].key = util_xstrdup(key);
	memcpy(p->observed[p->n_observed].fp, fp, UTIL_SHA256_HEX_SIZE);
	p->n_observed++;
}

static void step_pre(struct rc_step *st, const char *key, const char *fp)
{
	st->pre = util_xrealloc(st->pre, (st->n_pre + 1) * sizeof(*st->pre));
	st->pre[st->n_pre].key = util_xstrdup(key);
	memcpy(st->pre[st->n_pre].fp, fp, UTIL_SHA256_HEX_SIZE);
	st->n_pre++;
}

/* A precondition on a resource as observed now (and record it). */
static void step_pre_now(struct builder *b, struct rc_step *st, const char *key)
{
	char fp[UTIL_SHA256_HEX_SIZE];

	if (rc_fingerprint(b->w, key, fp, NULL) < 0)
		return;
	step_pre(st, key, fp);
	observed_add(b, key, fp);
}

static void observe_key(struct builder *b, const char *key)
{
	char fp[UTIL_SHA256_HEX_SIZE];

	if (rc_fingerprint(b->w, key, fp, NULL) == 0)
		observed_add(b, key, fp);
}

static void err_at(struct builder *b, const char *res, struct spec_loc loc,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void err_at(struct builder *b, const char *res, struct spec_loc loc,
		   const char *fmt, ...)
{
	struct buf m = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&m, fmt, ap);
	va_end(ap);
	rc_notes_add(b->errors, RC_NOTE_ERROR, res, loc, "%s", m.buf);
	buf_release(&m);
}

static bool named(const struct builder *b, const char *id)
{
	return id && util_strv_contains(b->named, b->n_named, id);
}

static void collect_named(struct builder *b)
{
	const struct spec *s = b->s;
	size_t alloc = 0;

#define ADD(x)                                                      \
	do {                                                        \
		if (x) {                                            \
			UTIL_GROW(b->named, alloc, b->n_named + 1); \
			b->named[b->n_named++] = util_xstrdup(x);   \
		}                                                   \
	} while (0)
	for (size_t i = 0; i < s->n_lbs; i++)
		for (size_t k = 0; k < s->lbs[i].n_members; k++)
			ADD(s->lbs[i].members[k].id);
	for (size_t i = 0; i < b->w->n_selectors; i++)
		for (size_t k = 0; k < b->w->selectors[i].n_ids; k++)
			ADD(b->w->selectors[i].ids[k]);
	for (size_t i = 0; i < s->n_eips; i++) {
		const struct spec_eip *e = &s->eips[i];

		ADD(e->instance);
		ADD(e->eni);
		if (e->bind == SPEC_BIND_FAILOVER)
			for (size_t k = 0; k < e->failover.n_candidates; k++)
				ADD(e->failover.candidates[k].instance);
	}
#undef ADD
	/* ENIs of named instances are named too. */
	for (size_t i = 0, n = b->n_named; i < n; i++) {
		const struct prov_instance *in = rc_world_instance(b->w,
								   b->named[i]);

		for (size_t k = 0; in && k < in->n_enis; k++) {
			UTIL_GROW(b->named, alloc, b->n_named + 1);
			b->named[b->n_named++] = util_xstrdup(in->enis[k].id);
		}
	}
	util_strv_sort_uniq(b->named, &b->n_named);
}

static const char *instance_name(const struct rc_world *w, const char *id)
{
	const struct prov_instance *in = rc_world_instance(w, id);

	return in ? prov_tag_get(in->tags, in->n_tags, "Name") : NULL;
}

/* --- groups ------------------------------------------------------------ */

struct want {
	char *key;
	const char *id;
	int port;
	const char *az;
	struct spec_loc loc;
	size_t order;
};

struct have {
	char *key;
	const char *id;
	int port;
	enum prov_health health;
};

static int cmp_want(const void *a, const void *b)
{
	const struct want *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return (x->order > y->order) - (x->order < y->order);
}

static int cmp_have(const void *a, const void *b)
{
	return strcmp(((const struct have *)a)->key,
		      ((const struct have *)b)->key);
}

static const struct have *find_have(const struct have *h, size_t n,
				    const char *key)
{
	struct have k = { .key = (char *)(uintptr_t)key };

	if (!n)
		return NULL;
	return bsearch(&k, h, n, sizeof(*h), cmp_have);
}

static const struct want *find_want(const struct want *v, size_t n,
				    const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v[mid].key, key);

		if (!c)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void members_add(struct rc_member **v, size_t *n,
			const struct rc_world *w, const char *id, int port,
			const char *az)
{
	struct rc_member *m;
	const char *name = instance_name(w, id);

	*v = util_xrealloc(*v, (*n + 1) * sizeof(*m));
	m = &(*v)[(*n)++];
	m->id = util_xstrdup(id);
	m->port = port;
	m->az = az ? util_xstrdup(az) : NULL;
	m->name = name ? util_xstrdup(name) : NULL;
}

static void add_member(struct rc_step *st, const struct rc_world *w,
		       const char *id, int port, const char *az)
{
	members_add(&st->members, &st->n_members, w, id, port, az);
}

static void list_keys(struct buf *out, char *const *keys, size_t n)
{
	const size_t max = 8;

	for (size_t i = 0; i < n && i < max; i++)
		buf_addf(out, "%s%s", i ? ", " : "", keys[i]);
	if (n > max)
		buf_addf(out, " and %zu more", n - max);
}

struct group_ctx {
	const struct spec_lb *lb;
	const struct rc_obs_group *g;
	const char *label;
	char *key;
	int group_port;
	bool ip_targets;
	struct want *wants;
	size_t n_wants;
	struct have *have;
	size_t n_have;
	char **add_zones; /* enable_zones: zones to enable, sorted */
	size_t n_add_zones;
	/* What the plan does; borrowed pointers into wants and have. */
	const struct want **reg;
	size_t n_reg;
	const struct have **extra;
	size_t n_extra;
	const struct have **hold;
	size_t n_hold;
	const char **fpkeys; /* member keys once the steps so far ran */
	size_t n_fpkeys;
	size_t stay_healthy, healthy_now, undeclared;
	unsigned floor;
	unsigned reg_id, wait_id;
	char fp[UTIL_SHA256_HEX_SIZE]; /* the group once the steps so far ran */
};

static bool port_ok(struct builder *b, struct group_ctx *c,
		    const struct spec_member *m, int *ret_port)
{
	int port;

	if (c->g->classic) {
		if (m->port) {
			err_at(b, c->label, m->loc,
			       "%s is a Classic ELB: members take no port",
			       c->label);
			return false;
		}
		*ret_port = 0;
		return true;
	}
	port = m->port ? m->port : c->group_port;
	if (port < 1 || port > 65535) {
		err_at(b, c->label, m->loc,
		       "port %d is not valid for %s (1-65535)", port, c->label);
		return false;
	}
	*ret_port = port;
	return true;
}

static void want_add(struct group_ctx *c, const char *id, int port,
		     const char *az, struct spec_loc loc)
{
	struct want *wv;

	c->wants = util_xrealloc(c->wants, (c->n_wants + 1) * sizeof(*wv));
	wv = &c->wants[c->n_wants];
	wv->key = rc_member_key(c->lb->kind, id, port);
	wv->id = id;
	wv->port = port;
	wv->az = az;
	wv->loc = loc;
	wv->order = c->n_wants++;
}

/* Owns the group's declared members: ids, ips and selectors, deduplicated. */
static void collect_wants(struct builder *b, struct group_ctx *c)
{
	const struct spec_lb *lb = c->lb;
	size_t out = 0;

	for (size_t k = 0; k < lb->n_members; k++) {
		const struct spec_member *m = &lb->members[k];
		int port;

		if (m->kind == SPEC_MEMBER_IP) {
			if (!c->ip_targets) {
				err_at(b, c->label, m->loc,
				       "%s takes instance targets, not ip "
				       "addresses",
				       c->label);
				continue;
			}
			if (port_ok(b, c, m, &port))
				want_add(c, m->ip, port, m->az, m->loc);
			continue;
		}
		if (c->ip_targets) {
			err_at(b, c->label, m->loc,
			       "%s has target type ip: declare members as ip "
			       "addresses",
			       c->label);
			continue;
		}
		if (!port_ok(b, c, m, &port))
			continue;
		if (m->kind == SPEC_MEMBER_ID) {
			want_add(c, m->id, port, NULL, m->loc);
		} else {
			char *skey = rc_selector_key(m->tags, m->n_tags,
						     m->states, m->n_states);
			const struct rc_obs_selector *sel =
				rc_world_selector(b->w, skey);

			if (!sel || !sel->n_ids)
				rc_notes_add(&b->p->notes, RC_NOTE_WARNING,
					     c->label, m->loc,
					     "%s: selector %s matches no "
					     "instance",
					     c->label, skey);
			for (size_t i = 0; sel && i < sel->n_ids; i++)
				want_add(c, sel->ids[i], port, NULL, m->loc);
			free(skey);
		}
	}
	if (c->n_wants)
		qsort(c->wants, c->n_wants, sizeof(*c->wants), cmp_want);
	/* Declared twice (an id and a selector, say): keep the first. */
	for (size_t i = 0; i < c->n_wants; i++) {
		if (out && !strcmp(c->wants[out - 1].key, c->wants[i].key)) {
			free(c->wants[i].key);
			continue;
		}
		c->wants[out++] = c->wants[i];
	}
	c->n_wants = out;
}

static void collect_have(struct group_ctx *c)
{
	const struct rc_obs_group *g = c->g;

	if (g->classic) {
		c->have = util_xcalloc(g->classic->n_members + 1,
				       sizeof(*c->have));
		for (size_t i = 0; i < g->classic->n_members; i++) {
			const struct prov_classic_member *m =
				&g->classic->members[i];

			if (!rc_classic_member_present(m))
				continue;
			c->have[c->n_have].key = util_xstrdup(m->instance_id);
			c->have[c->n_have].id = m->instance_id;
			c->have[c->n_have].health = m->health;
			c->n_have++;
		}
	} else {
		c->have = util_xcalloc(g->tg->n_targets + 1, sizeof(*c->have));
		for (size_t i = 0; i < g->tg->n_targets; i++) {
			const struct prov_target *t = &g->tg->targets[i];

			if (!rc_target_present(t))
				continue;
			c->have[c->n_have].key =
				rc_member_key(SPEC_LB_TARGET_GROUP, t->id,
					      t->port);
			c->have[c->n_have].id = t->id;
			c->have[c->n_have].port = t->port;
			c->have[c->n_have].health = t->health;
			c->n_have++;
		}
	}
	if (c->n_have)
		qsort(c->have, c->n_have, sizeof(*c->have), cmp_have);
}

static void zones_list(struct buf *out, char *const *zones, size_t n)
{
	if (!n)
		buf_addstr(out, "none");
	for (size_t i = 0; i < n; i++)
		buf_addf(out, "%s%s", i ? ", " : "", zones[i]);
}

/*
 * EnableAvailabilityZonesForLoadBalancer serves EC2-Classic and the
 * default VPC only; elsewhere a zone is enabled by attaching a subnet,
 * and which subnet (public or private) is the user's call, not moor's.
 */
static bool classic_vpc_default(struct builder *b, struct group_ctx *c,
				const struct want *wv,
				const struct prov_instance *in)
{
	const struct prov_classic_lb *lb = c->g->classic;
	const struct prov_vpc *v = rc_world_vpc(b->w, lb->vpc_id);
	struct buf m = BUF_INIT;

	if (!lb->vpc_id || (v && v->is_default))
		return true;
	zones_list(&m, lb->azs, lb->n_azs);
	err_at(b, c->label, wv->loc,
	       "cannot register %s with %s: instance is in %s, which %s does "
	       "not serve (it serves %s); %s is in %s, %s, where a zone is "
	       "enabled by attaching a subnet in it (aws elb "
	       "attach-load-balancer-to-subnets), which moor leaves to you",
	       wv->id, c->label, in->az, c->label, m.buf, c->label, lb->vpc_id,
	       v ? "not the default VPC" : "a VPC DescribeVpcs does not list");
	buf_release(&m);
	return false;
}

/*
 * A Classic ELB routes only to instances in its enabled zones: any other
 * would never turn healthy.  With enable_zones, note the zone to enable.
 */
static bool classic_zone_ok(struct builder *b, struct group_ctx *c,
			    const struct want *wv,
			    const struct prov_instance *in)
{
	const struct prov_classic_lb *lb = c->g->classic;
	struct buf m = BUF_INIT;

	if (in->az && util_strv_has(lb->azs, lb->n_azs, in->az))
		return true;
	if (in->az && c->lb->enable_zones && !classic_vpc_default(b, c, wv, in))
		return false;
	if (in->az && c->lb->enable_zones) {
		if (!util_strv_has(c->add_zones, c->n_add_zones, in->az)) {
			c->add_zones =
				util_xrealloc(c->add_zones,
					      (c->n_add_zones + 1) *
						      sizeof(*c->add_zones));
			c->add_zones[c->n_add_zones++] = util_xstrdup(in->az);
			util_strv_sort_uniq(c->add_zones, &c->n_add_zones);
		}
		return true;
	}
	zones_list(&m, lb->azs, lb->n_azs);
	err_at(b, c->label, wv->loc,
	       "cannot register %s with %s: instance is in %s, which %s does "
	       "not serve (it serves %s); enable the zone on the load "
	       "balancer, or set 'enable_zones: true' on this entry",
	       wv->id, c->label, in->az ? in->az : "no zone", c->label, m.buf);
	buf_release(&m);
	return false;
}

/*
 * A target group's targets get traffic only in the zones of its load
 * balancers' subnets, which moor does not change.  A load balancer that
 * no longer exists sets no condition.
 */
static bool tg_zone_ok(struct builder *b, struct group_ctx *c,
		       const struct want *wv, const struct prov_instance *in)
{
	const struct prov_target_group *tg = c->g->tg;

	for (size_t i = 0; i < tg->n_lb_arns; i++) {
		const struct prov_lb *lb = rc_world_lb(b->w, tg->lb_arns[i]);
		struct buf m = BUF_INIT;
		const char *name;

		if (!lb ||
		    (in->az && util_strv_has(lb->azs, lb->n_azs, in->az)))
			continue;
		name = lb->name ? lb->name : lb->arn;
		zones_list(&m, lb->azs, lb->n_azs);
		err_at(b, c->label, wv->loc,
		       "cannot register %s with %s: instance is in %s, where "
		       "its load balancer %s has no subnet (it serves %s); add "
		       "a subnet in that zone to %s, or declare an instance in "
		       "a zone it serves",
		       wv->id, c->label, in->az ? in->az : "no zone", name,
		       m.buf, name);
		buf_release(&m);
		return false;
	}
	return true;
}

/*
 * Preconditions of registering w: it exists, runs, sits in the VPC and in
 * a zone the load balancer serves.
 */
static bool check_register(struct builder *b, struct group_ctx *c,
			   const struct want *wv)
{
	const struct prov_instance *in;
	const char *vpc = c->g->classic ? c->g->classic->vpc_id
					: c->g->tg->vpc_id;

	if (c->ip_targets)
		return true;
	in = rc_world_instance(b->w, wv->id);
	if (!in) {
		err_at(b, c->label, wv->loc, "instance %s does not exist",
		       wv->id);
		return false;
	}
	if (in->state != PROV_INSTANCE_RUNNING) {
		err_at(b, c->label, wv->loc,
		       "cannot register %s with %s: instance is %s, not "
		       "running",
		       wv->id, c->label, prov_instance_state_name(in->state));
		return false;
	}
	if (vpc && !util_streq(in->vpc_id, vpc)) {
		err_at(b, c->label, wv->loc,
		       "cannot register %s with %s: instance is in %s, the "
		       "load balancer in %s",
		       wv->id, c->label, in->vpc_id ? in->vpc_id : "no VPC",
		       vpc);
		return false;
	}
	if (c->g->classic)
		return classic_zone_ok(b, c, wv, in);
	return tg_zone_ok(b, c, wv, in);
}

/*
 * The group's fingerprint with members keys (borrowed, any order), once
 * the plan has enabled its zones.
 */
static void keys_fp(const struct group_ctx *c, const char **keys, size_t n,
		    char out[UTIL_SHA256_HEX_SIZE])
{
	char **dup = util_xcalloc(n + 1, sizeof(*dup));

	for (size_t i = 0; i < n; i++)
		dup[i] = util_xstrdup(keys[i]);
	util_strv_sort_uniq(dup, &n);
	rc_fp_group_zones(c->g, c->add_zones, c->n_add_zones, dup, n, out);
	util_strv_free(dup, n);
}

/*
 * min_healthy keeps the healthy undeclared members hold[0..n) registered:
 * live state differs from the spec, so the plan lists them as held back.
 * stay_healthy: healthy members once the plan's other steps ran.
 */
static void hold_back(struct builder *b, const struct group_ctx *c,
		      const struct have *const *hold, size_t n, unsigned floor,
		      size_t stay_healthy)
{
	struct rc_held *h;
	char **keys = util_xcalloc(n, sizeof(*keys));
	struct buf m = BUF_INIT;

	b->p->held = util_xrealloc(b->p->held, (b->p->n_held + 1) * sizeof(*h));
	h = &b->p->held[b->p->n_held++];
	memset(h, 0, sizeof(*h));
	h->action = RC_ACT_DEREGISTER;
	h->key = util_xstrdup(c->key);
	h->label = util_xstrdup(c->label);
	h->loc = c->lb->min_healthy.loc;
	h->guard = "min_healthy";
	h->floor = floor;
	/* Each held member is needed: losing any one breaks the floor. */
	h->healthy = stay_healthy + n - 1;
	for (size_t i = 0; i < n; i++) {
		members_add(&h->members, &h->n_members, b->w, hold[i]->id,
			    hold[i]->port, NULL);
		keys[i] = hold[i]->key;
	}
	list_keys(&m, keys, n);
	h->reason = util_xasprintf("deregistering %s%s would leave %zu "
				   "healthy, the floor is %u",
				   n == 1 ? "" : "any of ", m.buf, h->healthy,
				   floor);
	buf_release(&m);
	free(keys);
}

/*
 * Enable the zones new members need, before registering them; returns
 * the step's id.
 */
static unsigned plan_enable_zones(struct builder *b, struct group_ctx *c)
{
	struct rc_step *st;
	struct buf m = BUF_INIT;

	if (!c->n_add_zones)
		return 0;
	st = new_step(b, RC_PHASE_ENABLE_ZONES, RC_ACT_ENABLE_ZONES, c->key,
		      c->label, c->lb->loc);
	st->group_kind = c->lb->kind;
	st->zones = util_xcalloc(c->n_add_zones, sizeof(*st->zones));
	for (size_t i = 0; i < c->n_add_zones; i++)
		st->zones[st->n_zones++] = util_xstrdup(c->add_zones[i]);
	zones_list(&m, c->add_zones, c->n_add_zones);
	st->reason = util_xasprintf("enable_zones: new members sit in %s, "
				    "which %s does not serve",
				    m.buf, c->label);
	buf_release(&m);
	step_pre_now(b, st, c->key);
	return st->id;
}

/*
 * A declared, present member a deregistration must wait for: not healthy
 * yet (initial checks, or a Classic ELB's OutOfService until it passes),
 * but able to become so.  A member whose instance is not running cannot;
 * waiting for it would only time out, and min_healthy is the guard there.
 */
static bool awaits_health(const struct builder *b, const struct group_ctx *c,
			  const struct have *h)
{
	const struct prov_instance *in;

	if (rc_health_counts(h->health) ||
	    !find_want(c->wants, c->n_wants, h->key))
		return false;
	if (c->ip_targets)
		return true;
	in = rc_world_instance(b->w, h->id);
	return in && in->state == PROV_INSTANCE_RUNNING;
}

static unsigned min_healthy_floor(const struct spec_lb *lb, size_t desired)
{
	const struct spec_min_healthy *mh = &lb->min_healthy;

	if (!mh->set)
		return 0;
	if (!mh->percent)
		return mh->value;
	return (unsigned)((mh->value * desired + 99) / 100);
}

/* The group must exist and hold instance or ip targets. */
static bool group_resolve(struct builder *b, struct group_ctx *c)
{
	const struct spec_lb *lb = c->lb;

	c->key = rc_key_group(lb->kind, lb->name);
	c->g = rc_world_group(b->w, lb->kind, lb->name);
	observe_key(b, c->key);
	if (!c->g || (!c->g->classic && !c->g->tg)) {
		err_at(b, c->label, lb->loc, "%s '%s' does not exist",
		       lb->kind == SPEC_LB_CLASSIC ? "classic load balancer"
						   : "target group",
		       lb->name);
		return false;
	}
	if (c->g->tg) {
		enum prov_target_type tt = c->g->tg->target_type;

		if (tt != PROV_TARGET_INSTANCE && tt != PROV_TARGET_IP) {
			err_at(b, c->label, lb->loc,
			       "target group '%s' has target type %s; moor "
			       "manages instance and ip targets",
			       lb->name, prov_target_type_name(tt));
			return false;
		}
		c->ip_targets = tt == PROV_TARGET_IP;
		c->group_port = c->g->tg->port;
	}
	return true;
}

/*
 * Declared members not registered (each checked for registering) and
 * registered ones not declared, which additive ownership leaves alone.
 */
static bool group_diff(struct builder *b, struct group_ctx *c)
{
	bool ok = true;

	c->reg = util_xcalloc(c->n_wants + 1, sizeof(*c->reg));
	for (size_t i = 0; i < c->n_wants; i++) {
		const struct have *h = find_have(c->have, c->n_have,
						 c->wants[i].key);

		if (!h) {
			ok &= check_register(b, c, &c->wants[i]);
			c->reg[c->n_reg++] = &c->wants[i];
		} else if (rc_health_counts(h->health)) {
			c->stay_healthy++;
		}
	}
	c->extra = util_xcalloc(c->n_have + 1, sizeof(*c->extra));
	c->hold = util_xcalloc(c->n_have + 1, sizeof(*c->hold));
	for (size_t i = 0; i < c->n_have; i++) {
		if (rc_health_counts(c->have[i].health))
			c->healthy_now++;
		if (!find_want(c->wants, c->n_wants, c->have[i].key))
			c->extra[c->n_extra++] = &c->have[i];
	}
	if (c->lb->ownership == SPEC_OWNERSHIP_ADDITIVE && c->n_extra) {
		char **keys = util_xcalloc(c->n_extra, sizeof(*keys));
		struct buf m = BUF_INIT;

		for (size_t i = 0; i < c->n_extra; i++)
			keys[i] = c->extra[i]->key;
		list_keys(&m, keys, c->n_extra);
		rc_notes_add(&b->p->notes, RC_NOTE_INFO, c->label, c->lb->loc,
			     "%s: %zu registered member%s not declared, left "
			     "alone (ownership: additive): %s",
			     c->label, c->n_extra, c->n_extra == 1 ? "" : "s",
			     m.buf);
		buf_release(&m);
		free(keys);
		c->undeclared = c->n_extra;
		c->n_extra = 0;
	}
	return ok;
}

/* min_healthy: keep enough healthy undeclared members. */
static void group_min_healthy(struct builder *b, struct group_ctx *c)
{
	if (c->lb->wait == SPEC_WAIT_HEALTHY)
		c->stay_healthy += c->n_reg;
	c->floor = min_healthy_floor(c->lb, c->n_wants);
	if (c->floor && c->n_extra && c->stay_healthy < c->floor) {
		size_t need = c->floor - c->stay_healthy, out = 0;

		for (size_t i = 0; i < c->n_extra; i++) {
			if (need && rc_health_counts(c->extra[i]->health)) {
				c->hold[c->n_hold++] = c->extra[i];
				need--;
				continue;
			}
			c->extra[out++] = c->extra[i];
		}
		c->n_extra = out;
		if (c->n_hold)
			hold_back(b, c, c->hold, c->n_hold, c->floor,
				  c->stay_healthy);
	}
}

/* Mass deregistration guard. */
static bool group_mass_guard(struct builder *b, const struct group_ctx *c)
{
	if (c->n_extra && 2 * c->n_extra > c->n_have + c->n_reg &&
	    !b->o->allow_mass_deregister) {
		/*
		 * Worded for plan, apply and watch alike: the daemon never
		 * takes the flag, so a deliberate mass change goes through
		 * one supervised apply.
		 */
		err_at(b, c->label, c->lb->loc,
		       "refusing to deregister %zu of %zu members of %s "
		       "(more than half); if this is intended, run moor "
		       "apply --allow-mass-deregister",
		       c->n_extra, c->n_have + c->n_reg, c->label);
		return false;
	}
	return true;
}

/* A step on the group, carrying its kind and target group. */
static struct rc_step *group_step(struct builder *b, const struct group_ctx *c,
				  enum rc_phase phase, enum rc_action act)
{
	struct rc_step *st = new_step(b, phase, act, c->key, c->label,
				      c->lb->loc);

	st->group_kind = c->lb->kind;
	if (c->g->tg)
		st->tg_arn = util_xstrdup(c->g->tg->arn);
	return st;
}

/*
 * Register the declared members missing; c->fp becomes the group's
 * fingerprint once they are in.
 */
static void group_register(struct builder *b, struct group_ctx *c)
{
	unsigned zones_id;

	c->fpkeys = util_xcalloc(c->n_have + c->n_reg + 1, sizeof(*c->fpkeys));
	for (size_t i = 0; i < c->n_have; i++)
		c->fpkeys[c->n_fpkeys++] = c->have[i].key;
	zones_id = plan_enable_zones(b, c);
	if (c->n_reg) {
		struct rc_step *st = group_step(b, c, RC_PHASE_REGISTER,
						RC_ACT_REGISTER);

		st->reason = util_xstrdup("declared, not registered");
		/* The group as the enable-zones step leaves it. */
		keys_fp(c, c->fpkeys, c->n_fpkeys, c->fp);
		step_pre(st, c->key, c->fp);
		step_dep(st, zones_id);
		for (size_t i = 0; i < c->n_reg; i++) {
			const struct want *r = c->reg[i];

			add_member(st, b->w, r->id, r->port, r->az);
			c->fpkeys[c->n_fpkeys++] = r->key;
			if (!c->ip_targets) {
				char *ik = rc_key_instance(r->id);

				step_pre_now(b, st, ik);
				free(ik);
			}
		}
		c->reg_id = st->id;
	}
	keys_fp(c, c->fpkeys, c->n_fpkeys, c->fp);
}

/* The health wait between registering and deregistering. */
static void group_wait(struct builder *b, struct group_ctx *c)
{
	const struct spec_lb *lb = c->lb;
	struct rc_step *st;
	size_t n_wait = c->n_reg;

	if (lb->wait == SPEC_WAIT_NONE || !(c->n_reg || c->n_extra))
		return;
	/*
	 * Before deregistering, also wait for declared members not
	 * healthy yet -- in their initial checks, or failing them
	 * (a Classic ELB's new member is OutOfService until it passes)
	 * -- e.g. registered by an apply that was interrupted or
	 * pre-empted, or make-before-break would not hold.
	 */
	if (c->n_extra && lb->wait == SPEC_WAIT_HEALTHY)
		for (size_t i = 0; i < c->n_have; i++)
			if (awaits_health(b, c, &c->have[i]))
				n_wait++;
	if (!n_wait)
		return;
	st = group_step(b, c, RC_PHASE_WAIT_HEALTHY, RC_ACT_WAIT);
	st->until = lb->wait == SPEC_WAIT_HEALTHY ? RC_UNTIL_HEALTHY
						  : RC_UNTIL_REGISTERED;
	st->timeout_ms = lb->timeout_ms;
	st->reason = util_xstrdup(
		lb->wait == SPEC_WAIT_HEALTHY
			? "new members must pass health checks"
			: "new members must be registered");
	for (size_t i = 0; i < c->n_reg; i++)
		add_member(st, b->w, c->reg[i]->id, c->reg[i]->port,
			   c->reg[i]->az);
	for (size_t i = 0; n_wait > c->n_reg && i < c->n_have; i++)
		if (awaits_health(b, c, &c->have[i]))
			add_member(st, b->w, c->have[i].id, c->have[i].port,
				   NULL);
	step_pre(st, c->key, c->fp);
	step_dep(st, c->reg_id);
	c->wait_id = st->id;
}

/* Drain: wait until the deregistered members have left. */
static void group_drain(struct builder *b, const struct group_ctx *c,
			unsigned dereg_id)
{
	struct rc_step *st = group_step(b, c, RC_PHASE_WAIT_DRAINED,
					RC_ACT_WAIT);

	st->until = RC_UNTIL_DRAINED;
	st->timeout_ms = c->lb->drain_timeout_ms ? c->lb->drain_timeout_ms
						 : c->lb->timeout_ms;
	st->reason = util_xstrdup("drain: wait until they have left");
	for (size_t i = 0; i < c->n_extra; i++)
		add_member(st, b->w, c->extra[i]->id, c->extra[i]->port, NULL);
	step_pre(st, c->key, c->fp);
	step_dep(st, dereg_id);
}

/*
 * Deregister the undeclared members; c->fp becomes the group's
 * fingerprint once they are out.
 */
static void group_deregister(struct builder *b, struct group_ctx *c)
{
	struct rc_step *st;
	const char **left;
	size_t n_left = 0;
	unsigned dereg_id;

	if (!c->n_extra)
		return;
	st = group_step(b, c, RC_PHASE_DEREGISTER, RC_ACT_DEREGISTER);
	left = util_xcalloc(c->n_fpkeys + 1, sizeof(*left));
	st->reason = util_xstrdup("registered, not declared");
	st->min_healthy = c->floor;
	for (size_t i = 0; i < c->n_extra; i++)
		add_member(st, b->w, c->extra[i]->id, c->extra[i]->port, NULL);
	step_pre(st, c->key, c->fp);
	step_dep(st, c->reg_id);
	step_dep(st, c->wait_id);
	dereg_id = st->id;
	for (size_t i = 0; i < c->n_fpkeys; i++) {
		bool gone = false;

		for (size_t k = 0; k < c->n_extra && !gone; k++)
			gone = !strcmp(c->fpkeys[i], c->extra[k]->key);
		if (!gone)
			left[n_left++] = c->fpkeys[i];
	}
	keys_fp(c, left, n_left, c->fp);
	free(left);
	if (c->lb->drain_wait)
		group_drain(b, c, dereg_id);
}

static void group_summary(struct builder *b, const struct group_ctx *c)
{
	struct rc_group_summary *sum;

	b->p->groups = util_xrealloc(b->p->groups,
				     (b->p->n_groups + 1) * sizeof(*sum));
	sum = &b->p->groups[b->p->n_groups++];
	memset(sum, 0, sizeof(*sum));
	sum->label = util_xstrdup(c->label);
	sum->kind = c->lb->kind;
	sum->ownership = c->lb->ownership;
	sum->before = c->n_have;
	sum->after = c->n_have + c->n_reg - c->n_extra;
	sum->healthy = c->healthy_now;
	sum->undeclared = c->undeclared;
	sum->n_register = c->n_reg;
	sum->n_deregister = c->n_extra;
}

static void group_release(struct group_ctx *c)
{
	for (size_t i = 0; i < c->n_wants; i++)
		free(c->wants[i].key);
	free(c->wants);
	for (size_t i = 0; i < c->n_have; i++)
		free(c->have[i].key);
	free(c->have);
	util_strv_free(c->add_zones, c->n_add_zones);
	free(c->reg);
	free(c->extra);
	free(c->hold);
	free(c->fpkeys);
	free(c->key);
}

static void plan_group(struct builder *b, size_t idx)
{
	const struct spec_lb *lb = &b->s->lbs[idx];
	struct group_ctx c = { .lb = lb, .label = lb->name };
	size_t n_errors_before = b->errors->n_errors;
	bool ok;

	if (!group_resolve(b, &c))
		goto out;
	collect_wants(b, &c);
	collect_have(&c);
	ok = group_diff(b, &c);
	group_min_healthy(b, &c);
	ok = group_mass_guard(b, &c) && ok;
	if (ok && b->errors->n_errors == n_errors_before) {
		group_register(b, &c);
		group_wait(b, &c);
		group_deregister(b, &c);
	}
	group_summary(b, &c);
out:
	group_release(&c);
}

/* --- addresses --------------------------------------------------------- */

static const char *holder(const struct prov_address *a)
{
	if (!a)
		return NULL;
	if (a->instance_id)
		return a->instance_id;
	if (a->eni_id)
		return a->eni_id;
	return NULL;
}

static void binding_set(struct rc_binding *bd, const char *instance,
			const char *eni, const char *private_ip)
{
	binding_release(bd);
	bd->instance = instance ? util_xstrdup(instance) : NULL;
	bd->eni = eni ? util_xstrdup(eni) : NULL;
	bd->private_ip = private_ip ? util_xstrdup(private_ip) : NULL;
}

/* The desired binding of an address, worked out from the spec. */
struct target {
	bool ok;	/* a target was found */
	bool instance;	/* an instance (else an ENI) */
	const char *id; /* instance or ENI id */
	const struct prov_instance *in;
	const char *call_eni;	/* ENI the call must name, or NULL */
	const char *private_ip; /* declared private IP, or NULL */
	const char *want_ip;	/* the private IP it should map to */
	char *reason;		/* failover: why this candidate */
};

static bool candidate_ok(struct builder *b, const struct spec_eip *e, size_t i,
			 const struct prov_instance **ret)
{
	const struct prov_instance *in =
		rc_world_instance(b->w, e->failover.candidates[i].instance);

	*ret = in;
	if (!in || in->state != PROV_INSTANCE_RUNNING)
		return false;
	if (b->o->candidate_ok &&
	    !b->o->candidate_ok(b->o->candidate_ctx, e, i, in))
		return false;
	return true;
}

static void failover_target(struct builder *b, const struct spec_eip *e,
			    const char *cur, struct target *t)
{
	const struct spec_failover *f = &e->failover;
	const struct prov_instance *in;
	ssize_t cur_idx = -1, first = -1;

	for (size_t i = 0; i < f->n_candidates; i++) {
		if (cur && !strcmp(f->candidates[i].instance, cur))
			cur_idx = (ssize_t)i;
		if (first < 0 && candidate_ok(b, e, i, &in))
			first = (ssize_t)i;
	}
	if (f->failback == SPEC_FAILBACK_STAY && cur_idx >= 0 &&
	    candidate_ok(b, e, (size_t)cur_idx, &in)) {
		t->ok = true;
		t->id = f->candidates[cur_idx].instance;
		t->in = in;
		return;
	}
	if (first < 0)
		return;
	candidate_ok(b, e, (size_t)first, &in);
	t->ok = true;
	t->id = f->candidates[first].instance;
	t->in = in;
	if (cur_idx >= 0 && f->failback == SPEC_FAILBACK_PREFER_FIRST &&
	    candidate_ok(b, e, (size_t)cur_idx, &in))
		t->reason = util_xasprintf("failback: %s is the first "
					   "candidate and is available",
					   t->id);
	else if (cur_idx >= 0)
		t->reason = util_xasprintf("failover: %s is not available; %s "
					   "is the first available candidate",
					   cur, t->id);
	else if (cur)
		t->reason = util_xasprintf("%s is not a candidate; %s is the "
					   "first available candidate",
					   cur, t->id);
	else
		t->reason = util_xasprintf("unbound; %s is the first "
					   "available candidate",
					   t->id);
}

/* Find which ENI of in carries ip; NULL if none. */
static const struct prov_eni *eni_with_ip(const struct prov_instance *in,
					  const char *ip)
{
	for (size_t i = 0; i < in->n_enis; i++)
		for (size_t k = 0; k < in->enis[i].n_private_ips; k++)
			if (util_streq(in->enis[i].private_ips[k], ip))
				return &in->enis[i];
	return NULL;
}

/*
 * Work out where e should point; false (with an error) when the spec
 * names something that does not exist.
 */
static bool address_target(struct builder *b, const struct spec_eip *e,
			   const char *label, const char *cur, struct target *t)
{
	memset(t, 0, sizeof(*t));
	if (e->bind == SPEC_BIND_FAILOVER) {
		failover_target(b, e, cur, t);
		if (!t->ok) {
			rc_notes_add(&b->p->notes, RC_NOTE_WARNING, label,
				     e->failover.loc,
				     "%s: no failover candidate is running; "
				     "leaving it %s%s",
				     label, cur ? "on " : "unbound",
				     cur ? cur : "");
			return true;
		}
		t->instance = true;
		t->want_ip = t->in->private_ip;
		if (t->in->n_enis > 1 && t->in->enis[0].id)
			t->call_eni = t->in->enis[0].id;
		return true;
	}
	if (e->bind == SPEC_BIND_INSTANCE) {
		const struct prov_instance *in = rc_world_instance(b->w,
								   e->instance);

		if (!in) {
			err_at(b, label, e->loc,
			       "%s: instance %s does not exist", label,
			       e->instance);
			return false;
		}
		t->ok = t->instance = true;
		t->id = e->instance;
		t->in = in;
		t->private_ip = e->private_ip;
		t->want_ip = e->private_ip ? e->private_ip : in->private_ip;
		if (e->private_ip) {
			const struct prov_eni *en = eni_with_ip(in,
								e->private_ip);

			if (!en) {
				err_at(b, label, e->loc,
				       "%s: instance %s has no private IP %s",
				       label, e->instance, e->private_ip);
				return false;
			}
			if (in->n_enis > 1)
				t->call_eni = en->id;
		} else if (in->n_enis > 1 && in->enis[0].id) {
			t->call_eni = in->enis[0].id;
		}
		return true;
	}
	if (e->bind == SPEC_BIND_ENI) {
		const struct prov_eni *en = rc_world_eni(b->w, e->eni);
		bool has = false;

		if (!en) {
			err_at(b, label, e->loc,
			       "%s: network interface %s does not exist", label,
			       e->eni);
			return false;
		}
		t->ok = true;
		t->id = e->eni;
		t->call_eni = e->eni;
		t->private_ip = e->private_ip;
		t->want_ip = e->private_ip
				     ? e->private_ip
				     : (en->n_private_ips ? en->private_ips[0]
							  : NULL);
		for (size_t k = 0; e->private_ip && k < en->n_private_ips; k++)
			has |= util_streq(en->private_ips[k], e->private_ip);
		if (e->private_ip && !has) {
			err_at(b, label, e->loc,
			       "%s: network interface %s has no private IP %s",
			       label, e->eni, e->private_ip);
			return false;
		}
		if (en->instance_id)
			t->in = rc_world_instance(b->w, en->instance_id);
		return true;
	}
	return true; /* SPEC_BIND_NONE */
}

static bool bound_to(const struct prov_address *a, const struct target *t,
		     bool failover)
{
	if (!a->association_id && !a->instance_id && !a->eni_id)
		return false;
	if (t->instance) {
		if (!util_streq(a->instance_id, t->id))
			return false;
	} else if (!util_streq(a->eni_id, t->id)) {
		return false;
	}
	if (failover || !a->private_ip || !t->want_ip)
		return true;
	return util_streq(a->private_ip, t->want_ip);
}

static void address_summary(struct builder *b, const char *label,
			    const char *public_ip, const char *from,
			    const char *to)
{
	struct rc_address_summary *s;

	b->p->addresses = util_xrealloc(b->p->addresses,
					(b->p->n_addresses + 1) * sizeof(*s));
	s = &b->p->addresses[b->p->n_addresses++];
	s->label = util_xstrdup(label);
	s->public_ip = public_ip ? util_xstrdup(public_ip) : NULL;
	s->from = from ? util_xstrdup(from) : NULL;
	s->to = to ? util_xstrdup(to) : NULL;
}

static void target_pre(struct builder *b, struct rc_step *st,
		       const struct spec_eip *e, const struct target *t)
{
	char *k;

	if (t->instance) {
		k = rc_key_instance(t->id);
	} else {
		k = rc_key_eni(t->id);
		(void)e;
	}
	step_pre_now(b, st, k);
	free(k);
}

/* The target of an associate or move must be running. */
static bool check_target(struct builder *b, const struct spec_eip *e,
			 const char *label, const struct target *t)
{
	if (t->instance && t->in->state != PROV_INSTANCE_RUNNING) {
		err_at(b, label, e->loc,
		       "cannot associate %s with %s: instance is %s, not "
		       "running",
		       label, t->id, prov_instance_state_name(t->in->state));
		return false;
	}
	return true;
}

struct addr_ctx {
	const struct spec_eip *e;
	const char *label;
	char *key;
	const struct prov_address *a; /* NULL: not allocated yet */
	const char *cur;	      /* what it is bound to, or NULL */
	struct target t;
};

/*
 * The address must be unique, exist (or be allocatable) and be a VPC
 * one, and its target must exist; n: addresses found by its reference.
 */
static bool address_checks(struct builder *b, struct addr_ctx *c, size_t n)
{
	const struct spec_eip *e = c->e;

	if (n > 1) {
		err_at(b, c->label, e->loc,
		       "%zu addresses are named '%s'; the Name tag must be "
		       "unique",
		       n, e->name);
		return false;
	}
	if (!c->a && !(e->ref == SPEC_EIP_BY_NAME && e->allocate)) {
		err_at(b, c->label, e->loc, "address %s does not exist",
		       c->label);
		return false;
	}
	if (c->a && !util_streq(c->a->domain, "vpc")) {
		err_at(b, c->label, e->loc,
		       "address %s is not a VPC address (domain %s)", c->label,
		       c->a->domain ? c->a->domain : "unknown");
		return false;
	}
	return address_target(b, e, c->label, c->cur, &c->t);
}

/* allocate: a new address, then its association when it has a target. */
static void address_allocate(struct builder *b, struct addr_ctx *c)
{
	const struct spec_eip *e = c->e;
	struct rc_step *st;
	unsigned alloc_id;

	st = new_step(b, RC_PHASE_ALLOCATE, RC_ACT_ALLOCATE, c->key, c->label,
		      e->loc);
	st->name = util_xstrdup(e->name);
	st->reason = util_xstrdup("declared with allocate, none found "
				  "by its Name tag");
	step_pre_now(b, st, c->key);
	alloc_id = st->id;
	if (!c->t.ok) {
		address_summary(b, c->label, NULL, NULL, NULL);
		return;
	}
	if (!check_target(b, e, c->label, &c->t))
		return;
	st = new_step(b, RC_PHASE_ADDRESS, RC_ACT_ASSOCIATE, c->key, c->label,
		      e->loc);
	st->name = util_xstrdup(e->name);
	binding_set(&st->to, c->t.instance ? c->t.id : NULL, c->t.call_eni,
		    c->t.private_ip);
	st->reason = c->t.reason ? util_xstrdup(c->t.reason)
				 : util_xstrdup("newly allocated");
	step_dep(st, alloc_id);
	target_pre(b, st, e, &c->t);
	address_summary(b, c->label, NULL, NULL, c->t.id);
}

/* bind: none -- disassociate whatever holds the address. */
static void address_unbind(struct builder *b, const struct addr_ctx *c)
{
	const struct prov_address *a = c->a;
	struct rc_step *st;

	address_summary(b, c->label, a->public_ip, c->cur, NULL);
	if (!c->cur && !a->association_id)
		return;
	st = new_step(b, RC_PHASE_DISASSOCIATE, RC_ACT_DISASSOCIATE, c->key,
		      c->label, c->e->loc);
	st->allocation_id = util_xstrdup(a->allocation_id);
	st->public_ip = util_xstrdup(a->public_ip);
	binding_set(&st->from, a->instance_id, a->eni_id, a->private_ip);
	st->reason = util_xasprintf("declared none, associated with %s",
				    c->cur ? c->cur : "something");
	if (c->cur && !named(b, c->cur)) {
		st->hijack = true;
		rc_notes_add(&b->p->notes, RC_NOTE_WARNING, c->label, c->e->loc,
			     "hijack: %s is bound to %s, which the "
			     "spec does not name",
			     c->label, c->cur);
	}
	step_pre_now(b, st, c->key);
}

/* The move of a bound address to its target, with why. */
static struct rc_step *address_move(struct builder *b, const struct addr_ctx *c)
{
	const struct prov_address *a = c->a;
	const char *cur = c->cur;
	const struct target *t = &c->t;
	struct rc_step *st = new_step(b, RC_PHASE_ADDRESS, RC_ACT_MOVE, c->key,
				      c->label, c->e->loc);

	if (cur && !named(b, cur)) {
		st->hijack = true;
		st->reason = util_xasprintf("drift: moved to %s out of "
					    "band",
					    cur);
		rc_notes_add(&b->p->notes, RC_NOTE_WARNING, c->label, c->e->loc,
			     "hijack: %s is bound to %s, which the "
			     "spec does not name; moving it back to "
			     "%s",
			     c->label, cur, t->id);
	} else if (t->reason) {
		st->reason = util_xstrdup(t->reason);
	} else if (cur && !strcmp(cur, t->id)) {
		st->reason = util_xasprintf("declared %s, bound to %s",
					    t->want_ip ? t->want_ip : "",
					    a->private_ip ? a->private_ip
							  : "another address");
	} else {
		st->reason = util_xasprintf("declared %s, bound to %s", t->id,
					    cur ? cur : "?");
	}
	binding_set(&st->from, a->instance_id, a->eni_id, a->private_ip);
	return st;
}

/* An existing address bound to a target: associate or move it there. */
static void address_bind(struct builder *b, const struct addr_ctx *c)
{
	const struct prov_address *a = c->a;
	const struct target *t = &c->t;
	struct rc_step *st;

	if (!t->ok) { /* failover without a candidate: leave it */
		address_summary(b, c->label, a->public_ip, c->cur, c->cur);
		return;
	}
	address_summary(b, c->label, a->public_ip, c->cur, t->id);
	if (bound_to(a, t, c->e->bind == SPEC_BIND_FAILOVER))
		return;
	if (!check_target(b, c->e, c->label, t))
		return;
	if (!c->cur && !a->association_id) {
		st = new_step(b, RC_PHASE_ADDRESS, RC_ACT_ASSOCIATE, c->key,
			      c->label, c->e->loc);
		st->reason = t->reason
				     ? util_xstrdup(t->reason)
				     : util_xstrdup("declared, not associated");
	} else {
		st = address_move(b, c);
	}
	st->allocation_id = util_xstrdup(a->allocation_id);
	st->public_ip = util_xstrdup(a->public_ip);
	binding_set(&st->to, t->instance ? t->id : NULL, t->call_eni,
		    t->private_ip);
	if (!t->instance)
		binding_set(&st->to, NULL, t->id, t->private_ip);
	step_pre_now(b, st, c->key);
	target_pre(b, st, c->e, t);
}

static void plan_address(struct builder *b, size_t idx)
{
	struct addr_ctx c = { .e = &b->s->eips[idx] };
	size_t n = 0;

	c.label = rc_eip_label(c.e);
	c.key = rc_key_address(c.e->ref, eip_value(c.e));
	c.a = rc_world_address(b->w, c.e->ref, eip_value(c.e), &n);
	c.cur = holder(c.a);
	observe_key(b, c.key);
	if (address_checks(b, &c, n)) {
		if (!c.a)
			address_allocate(b, &c);
		else if (c.e->bind == SPEC_BIND_NONE)
			address_unbind(b, &c);
		else
			address_bind(b, &c);
	}
	free(c.t.reason);
	free(c.key);
}

/* --- assembling ----------------------------------------------------------- */

static int cmp_step(const void *a, const void *b)
{
	const struct rc_step *x = a, *y = b;

	if (x->phase != y->phase)
		return x->phase < y->phase ? -1 : 1;
	return (x->id > y->id) - (x->id < y->id);
}

/* Order steps by phase (stable) and renumber, remapping dependencies. */
static void order_steps(struct builder *b)
{
	unsigned *map = util_xcalloc(b->n_steps + 1, sizeof(*map));

	if (b->n_steps)
		qsort(b->steps, b->n_steps, sizeof(*b->steps), cmp_step);
	for (size_t i = 0; i < b->n_steps; i++)
		map[b->steps[i].id] = (unsigned)i + 1;
	for (size_t i = 0; i < b->n_steps; i++) {
		b->steps[i].id = (unsigned)i + 1;
		for (size_t k = 0; k < b->steps[i].n_deps; k++)
			b->steps[i].deps[k] = map[b->steps[i].deps[k]];
	}
	free(map);
}

/* What moor apply PLAN needs to plan again: the spec and the selection. */
static void record_input(struct rc_plan *p, const struct rc_plan_opts *o)
{
	if (o->spec_content) {
		p->spec_content = util_xmalloc(o->spec_content_len + 1);
		memcpy(p->spec_content, o->spec_content, o->spec_content_len);
		p->spec_content[o->spec_content_len] = '\0';
		p->spec_content_len = o->spec_content_len;
	}
	if (o->n_only) {
		p->only = util_xcalloc(o->n_only, sizeof(*p->only));
		for (size_t i = 0; i < o->n_only; i++)
			p->only[i] = util_xstrdup(o->only[i]);
		p->n_only = o->n_only;
	}
}

/* Owns the plan's header, the per-resource passes and the error verdict. */
int rc_plan_build(const struct spec *s, const struct rc_world *w,
		  const struct rc_plan_opts *opts, struct rc_plan **ret,
		  struct rc_notes *errors, struct util_err *err)
{
	static const struct rc_plan_opts no_opts;
	struct builder b = { .s = s, .w = w, .o = opts ? opts : &no_opts };
	struct rc_plan *p = util_xcalloc(1, sizeof(*p));
	struct rc_plan_counts counts;
	int r = UTIL_EINVAL;

	b.p = p;
	b.errors = errors;
	if (!errors->path && s->path)
		errors->path = util_xstrdup(s->path);
	p->format_version = RC_PLAN_FORMAT_VERSION;
	p->moor_version = util_xstrdup(b.o->moor_version ? b.o->moor_version
							 : "unknown");
	p->spec_path = util_xstrdup(s->path ? s->path : "-");
	memcpy(p->spec_sha256, s->sha256, sizeof(p->spec_sha256));
	p->spec_sha256[UTIL_SHA256_HEX_SIZE - 1] = '\0';
	record_input(p, b.o);
	if (b.o->region)
		p->region = util_xstrdup(b.o->region);
	else if (s->region)
		p->region = util_xstrdup(s->region);
	if (w->have_identity && w->identity.account)
		p->account = util_xstrdup(w->identity.account);
	p->notes.path = s->path ? util_xstrdup(s->path) : NULL;

	collect_named(&b);
	for (size_t i = 0; i < s->n_lbs; i++)
		if (!b.o->use_lb || b.o->use_lb[i])
			plan_group(&b, i);
	for (size_t i = 0; i < s->n_eips; i++)
		if (!b.o->use_eip || b.o->use_eip[i])
			plan_address(&b, i);
	order_steps(&b);
	p->steps = b.steps;
	p->n_steps = b.n_steps;
	b.steps = NULL;
	b.n_steps = 0;
	rc_plan_seal(p);

	rc_plan_count(p, &counts);
	if (b.o->has_max_changes && counts.changes > b.o->max_changes) {
		struct spec_loc none = { 0, 0 };

		rc_notes_add(errors, RC_NOTE_ERROR, NULL, none,
			     "the plan makes %zu changes, more than "
			     "--max-changes %u allows",
			     counts.changes, b.o->max_changes);
	}
	if (errors->n_errors) {
		/* Warnings explain errors (a selector that matches nothing). */
		for (size_t i = 0; i < p->notes.n; i++)
			if (p->notes.v[i].level == RC_NOTE_WARNING)
				rc_notes_add(errors, RC_NOTE_WARNING,
					     p->notes.v[i].resource,
					     p->notes.v[i].loc, "%s",
					     p->notes.v[i].msg);
		util_err_set(err, UTIL_EINVAL,
			     "%s: %zu problem%s; nothing done",
			     s->path ? s->path : "spec", errors->n_errors,
			     errors->n_errors == 1 ? "" : "s");
		goto out;
	}
	*ret = p;
	p = NULL;
	r = 0;
out:
	util_strv_free(b.named, b.n_named);
	for (size_t i = 0; i < b.n_steps; i++)
		rc_step_release(&b.steps[i]);
	free(b.steps);
	rc_plan_free(p);
	return r;
}
