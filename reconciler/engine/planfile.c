#include "reconciler/engine/planfile.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/engine/key.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/hash.h"
#include "util/str.h"
#include "util/banned.h"

/* --- writing ------------------------------------------------------------ */

static void add_str(cJSON *o, const char *name, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, name, v);
	else
		cJSON_AddNullToObject(o, name);
}

static const char *kind_of_key(const char *key)
{
	struct rc_key k;

	if (rc_key_parse(key, &k, NULL) < 0)
		return "other";
	if (k.kind == RC_KEY_CLASSIC)
		return "classic";
	if (k.kind == RC_KEY_TARGET_GROUP)
		return "target_group";
	if (rc_key_kind_is_address(k.kind))
		return "address";
	return "other";
}

static cJSON *loc_json(struct spec_loc loc)
{
	cJSON *l;

	if (!loc.line)
		return cJSON_CreateNull();
	l = cJSON_CreateObject();
	cJSON_AddNumberToObject(l, "line", loc.line);
	cJSON_AddNumberToObject(l, "column", loc.col);
	return l;
}

static cJSON *binding_json(const struct rc_binding *b)
{
	cJSON *o;

	if (!b->instance && !b->eni && !b->private_ip)
		return cJSON_CreateNull();
	o = cJSON_CreateObject();
	add_str(o, "instance", b->instance);
	add_str(o, "network_interface", b->eni);
	add_str(o, "private_ip", b->private_ip);
	return o;
}

static cJSON *precond_json(const struct rc_precond *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "key", v[i].key);
		cJSON_AddStringToObject(o, "fingerprint", v[i].fp);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *members_json(const struct rc_member *v, size_t n)
{
	cJSON *m = cJSON_CreateArray();

	for (size_t i = 0; i < n; i++) {
		cJSON *x = cJSON_CreateObject();

		cJSON_AddStringToObject(x, "id", v[i].id);
		if (v[i].port)
			cJSON_AddNumberToObject(x, "port", v[i].port);
		if (v[i].az)
			cJSON_AddStringToObject(x, "az", v[i].az);
		if (v[i].name)
			cJSON_AddStringToObject(x, "name", v[i].name);
		cJSON_AddItemToArray(m, x);
	}
	return m;
}

static cJSON *held_json(const struct rc_held *h)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *r = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "action", rc_action_name(h->action));
	cJSON_AddStringToObject(r, "key", h->key);
	cJSON_AddStringToObject(r, "kind", kind_of_key(h->key));
	cJSON_AddStringToObject(r, "name", h->label);
	cJSON_AddItemToObject(o, "resource", r);
	cJSON_AddItemToObject(o, "members",
			      members_json(h->members, h->n_members));
	cJSON_AddStringToObject(o, "guard", h->guard);
	cJSON_AddNumberToObject(o, "floor", h->floor);
	cJSON_AddNumberToObject(o, "healthy", (double)h->healthy);
	add_str(o, "reason", h->reason);
	cJSON_AddItemToObject(o, "location", loc_json(h->loc));
	return o;
}

static cJSON *step_json(const struct rc_step *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *r = cJSON_CreateObject();
	cJSON *deps = cJSON_CreateArray();
	bool group = !rc_key_is_address(s->key);

	cJSON_AddNumberToObject(o, "id", s->id);
	cJSON_AddStringToObject(o, "phase", rc_phase_name(s->phase));
	cJSON_AddNumberToObject(o, "phase_number", s->phase);
	cJSON_AddStringToObject(o, "action", rc_action_name(s->action));
	cJSON_AddStringToObject(r, "key", s->key);
	cJSON_AddStringToObject(r, "kind", kind_of_key(s->key));
	cJSON_AddStringToObject(r, "name", s->label);
	if (group && s->group_kind == SPEC_LB_TARGET_GROUP)
		add_str(r, "arn", s->tg_arn);
	cJSON_AddItemToObject(o, "resource", r);
	if (group)
		cJSON_AddItemToObject(o, "members",
				      members_json(s->members, s->n_members));
	if (s->action == RC_ACT_WAIT) {
		cJSON *w = cJSON_CreateObject();

		cJSON_AddStringToObject(w, "until", rc_until_name(s->until));
		cJSON_AddNumberToObject(w, "timeout_ms", (double)s->timeout_ms);
		cJSON_AddItemToObject(o, "wait", w);
	}
	if (s->action == RC_ACT_DEREGISTER)
		cJSON_AddNumberToObject(o, "min_healthy", s->min_healthy);
	if (s->action == RC_ACT_ENABLE_ZONES) {
		cJSON *z = cJSON_CreateArray();

		for (size_t i = 0; i < s->n_zones; i++)
			cJSON_AddItemToArray(z,
					     cJSON_CreateString(s->zones[i]));
		cJSON_AddItemToObject(o, "zones", z);
	}
	if (!group) {
		cJSON *a = cJSON_CreateObject();

		add_str(a, "allocation_id", s->allocation_id);
		add_str(a, "public_ip", s->public_ip);
		add_str(a, "name", s->name);
		cJSON_AddItemToObject(a, "from", binding_json(&s->from));
		cJSON_AddItemToObject(a, "to", binding_json(&s->to));
		cJSON_AddBoolToObject(a, "hijack", s->hijack);
		cJSON_AddItemToObject(o, "address", a);
	}
	add_str(o, "reason", s->reason);
	cJSON_AddItemToObject(o, "location", loc_json(s->loc));
	for (size_t i = 0; i < s->n_deps; i++)
		cJSON_AddItemToArray(deps, cJSON_CreateNumber(s->deps[i]));
	cJSON_AddItemToObject(o, "depends_on", deps);
	cJSON_AddItemToObject(o, "precondition",
			      precond_json(s->pre, s->n_pre));
	return o;
}

static cJSON *notes_json(const struct rc_notes *n, enum rc_note_level level)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < n->n; i++) {
		cJSON *o;

		if (n->v[i].level != level)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "message", n->v[i].msg);
		add_str(o, "resource", n->v[i].resource);
		cJSON_AddItemToObject(o, "location", loc_json(n->v[i].loc));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

/* Every count is derived from the steps and notes (rc_plan_count). */
static cJSON *summary_json(const struct rc_plan *p)
{
	cJSON *o = cJSON_CreateObject();
	struct rc_plan_counts c;

	rc_plan_count(p, &c);
	/* Live state differs from the spec (changes or held back). */
	cJSON_AddBoolToObject(o, "has_changes", rc_plan_differs(p));
	cJSON_AddNumberToObject(o, "changes", (double)c.changes);
	cJSON_AddNumberToObject(o, "held_back", (double)c.held_back);
	cJSON_AddNumberToObject(o, "steps", (double)p->n_steps);
	cJSON_AddNumberToObject(o, "allocate", (double)c.allocate);
	cJSON_AddNumberToObject(o, "register", (double)c.register_members);
	cJSON_AddNumberToObject(o, "deregister", (double)c.deregister_members);
	cJSON_AddNumberToObject(o, "associate", (double)c.associate);
	cJSON_AddNumberToObject(o, "move", (double)c.move);
	cJSON_AddNumberToObject(o, "disassociate", (double)c.disassociate);
	cJSON_AddNumberToObject(o, "enable_zones", (double)c.enable_zones);
	cJSON_AddNumberToObject(o, "waits", (double)c.waits);
	cJSON_AddNumberToObject(o, "warnings", (double)c.warnings);
	cJSON_AddNumberToObject(o, "infos", (double)c.infos);
	return o;
}

static cJSON *spec_json(const struct rc_plan *p)
{
	cJSON *o = cJSON_CreateObject();

	add_str(o, "path", p->spec_path);
	add_str(o, "sha256", p->spec_sha256[0] ? p->spec_sha256 : NULL);
	add_str(o, "content", p->spec_content);
	return o;
}

static cJSON *options_json(const struct rc_plan *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; i < p->n_only; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(p->only[i]));
	cJSON_AddItemToObject(o, "only", a);
	return o;
}

/* Owns the saved plan's JSON document, field for field as docs/plan-json.md
 * describes it (rc_plan_from_json reads it back). */
int rc_plan_to_json(const struct rc_plan *p, struct buf *out,
		    struct util_err *err)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *o, *a;
	char *text;
	int r = 0;

	cJSON_AddNumberToObject(root, "format_version", p->format_version);
	add_str(root, "moor_version", p->moor_version);
	cJSON_AddItemToObject(root, "spec", spec_json(p));
	cJSON_AddItemToObject(root, "options", options_json(p));
	add_str(root, "region", p->region);
	add_str(root, "account", p->account);

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "fingerprint", p->fingerprint);
	cJSON_AddItemToObject(o, "resources",
			      precond_json(p->observed, p->n_observed));
	cJSON_AddItemToObject(root, "observed", o);

	cJSON_AddItemToObject(root, "summary", summary_json(p));

	a = cJSON_CreateArray();
	for (size_t i = 0; i < p->n_steps; i++)
		cJSON_AddItemToArray(a, step_json(&p->steps[i]));
	cJSON_AddItemToObject(root, "steps", a);
	a = cJSON_CreateArray();
	for (size_t i = 0; i < p->n_held; i++)
		cJSON_AddItemToArray(a, held_json(&p->held[i]));
	cJSON_AddItemToObject(root, "held_back", a);
	cJSON_AddItemToObject(root, "warnings",
			      notes_json(&p->notes, RC_NOTE_WARNING));
	cJSON_AddItemToObject(root, "infos",
			      notes_json(&p->notes, RC_NOTE_INFO));

	a = cJSON_CreateArray();
	for (size_t i = 0; i < p->n_groups; i++) {
		const struct rc_group_summary *g = &p->groups[i];

		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", g->label);
		cJSON_AddStringToObject(o, "kind",
					g->kind == SPEC_LB_CLASSIC
						? "classic"
						: "target_group");
		cJSON_AddStringToObject(o, "ownership",
					g->ownership == SPEC_OWNERSHIP_ADDITIVE
						? "additive"
						: "exclusive");
		cJSON_AddNumberToObject(o, "members_before", (double)g->before);
		cJSON_AddNumberToObject(o, "members_after", (double)g->after);
		cJSON_AddNumberToObject(o, "healthy_now", (double)g->healthy);
		cJSON_AddNumberToObject(o, "undeclared", (double)g->undeclared);
		cJSON_AddNumberToObject(o, "register", (double)g->n_register);
		cJSON_AddNumberToObject(o, "deregister",
					(double)g->n_deregister);
		cJSON_AddItemToArray(a, o);
	}
	cJSON_AddItemToObject(root, "groups", a);
	a = cJSON_CreateArray();
	for (size_t i = 0; i < p->n_addresses; i++) {
		const struct rc_address_summary *s = &p->addresses[i];

		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", s->label);
		add_str(o, "public_ip", s->public_ip);
		add_str(o, "from", s->from);
		add_str(o, "to", s->to);
		cJSON_AddItemToArray(a, o);
	}
	cJSON_AddItemToObject(root, "addresses", a);

	text = cJSON_Print(root);
	if (!text) {
		r = util_err_set(err, UTIL_EFAIL, "cannot render the plan");
	} else {
		buf_addstr(out, text);
		buf_addch(out, '\n');
		if (buf_failed(out))
			r = util_err_set(err, UTIL_ELIMIT,
					 "the plan is too large to render");
	}
	free(text);
	cJSON_Delete(root);
	return r;
}

/* --- comparing ------------------------------------------------------------ */

/* Where two JSON values first differ. */
struct jdiff {
	struct buf path;    /* "members", "address.to.instance", "members[2]" */
	const cJSON *a, *b; /* the differing values; NULL = absent */
};

static bool jdiff_find(const cJSON *a, const cJSON *b, struct jdiff *d)
{
	const cJSON *x;
	size_t mark = d->path.len;

	if (a && b && cJSON_Compare(a, b, true))
		return false;
	if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
		cJSON_ArrayForEach(x, a)
		{
			buf_addf(&d->path, "%s%s", mark ? "." : "", x->string);
			if (jdiff_find(x,
				       cJSON_GetObjectItemCaseSensitive(
					       b, x->string),
				       d))
				return true;
			buf_setlen(&d->path, mark);
		}
		cJSON_ArrayForEach(x, b)
		{
			if (cJSON_GetObjectItemCaseSensitive(a, x->string))
				continue;
			buf_addf(&d->path, "%s%s", mark ? "." : "", x->string);
			d->a = NULL;
			d->b = x;
			return true;
		}
	}
	if (cJSON_IsArray(a) && cJSON_IsArray(b) &&
	    cJSON_GetArraySize(a) == cJSON_GetArraySize(b)) {
		for (int i = 0; i < cJSON_GetArraySize(a); i++) {
			buf_addf(&d->path, "[%d]", i);
			if (jdiff_find(cJSON_GetArrayItem(a, i),
				       cJSON_GetArrayItem(b, i), d))
				return true;
			buf_setlen(&d->path, mark);
		}
	}
	d->a = a;
	d->b = b;
	return true;
}

/* A short rendering of a JSON value for a message. */
static void jdiff_value(struct buf *out, const cJSON *v)
{
	char *t = cJSON_PrintUnformatted(v);

	if (t && strlen(t) > 60)
		buf_addf(out, "%.57s...", t);
	else
		buf_addstr(out, t ? t : "?");
	free(t);
}

/* "members differ (the plan lists 3, moor plans 1)" */
static void jdiff_describe(const struct jdiff *d, const char *a_who,
			   const char *b_who, struct buf *out)
{
	const char *what = d->path.len ? d->path.buf : "the value";

	if (cJSON_IsArray(d->a) && cJSON_IsArray(d->b)) {
		buf_addf(out, "%s differ (%s lists %d, %s %d)", what, a_who,
			 cJSON_GetArraySize(d->a), b_who,
			 cJSON_GetArraySize(d->b));
		return;
	}
	buf_addf(out, "%s differs (%s ", what, a_who);
	if (d->a) {
		buf_addstr(out, "says ");
		jdiff_value(out, d->a);
	} else {
		buf_addstr(out, "has none");
	}
	buf_addf(out, ", %s ", b_who);
	if (d->b)
		jdiff_value(out, d->b);
	else
		buf_addstr(out, "none");
	buf_addch(out, ')');
}

int rc_step_diff(const struct rc_step *a, const struct rc_step *b,
		 struct buf *out)
{
	cJSON *ja = step_json(a), *jb = step_json(b);
	struct jdiff d = { .path = BUF_INIT };
	int r = 0;

	if (jdiff_find(ja, jb, &d)) {
		jdiff_describe(&d, "the plan", "moor plans", out);
		r = 1;
	}
	buf_release(&d.path);
	cJSON_Delete(ja);
	cJSON_Delete(jb);
	return r;
}

/* --- reading ------------------------------------------------------------- */

struct rd {
	const char *path;
	struct util_err *err;
	unsigned step; /* the step being read, for messages; 0 = none */
	bool bad;
};

static void bad(struct rd *rd, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void bad(struct rd *rd, const char *what, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	if (rd->bad)
		return;
	rd->bad = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rd->step)
		util_err_set(rd->err, UTIL_EINVAL,
			     "%s: not a valid moor plan: step %u: %s %s",
			     rd->path, rd->step, what, msg);
	else
		util_err_set(rd->err, UTIL_EINVAL,
			     "%s: not a valid moor plan: %s %s", rd->path, what,
			     msg);
}

static const cJSON *get(struct rd *rd, const cJSON *o, const char *name,
			bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!v && required)
		bad(rd, name, "is missing");
	return v;
}

/* A string or null (NULL); "" when missing and not required. */
static char *get_str(struct rd *rd, const cJSON *o, const char *name,
		     bool required)
{
	const cJSON *v = get(rd, o, name, required);

	if (!v || cJSON_IsNull(v)) {
		if (required && v)
			bad(rd, name, "must not be null");
		return NULL;
	}
	if (!cJSON_IsString(v)) {
		bad(rd, name, "must be a string");
		return NULL;
	}
	return util_xstrdup(v->valuestring);
}

static double get_num(struct rd *rd, const cJSON *o, const char *name,
		      bool required, double min, double max)
{
	const cJSON *v = get(rd, o, name, required);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < min ||
	    v->valuedouble > max ||
	    v->valuedouble != (double)(long long)v->valuedouble) {
		bad(rd, name, "must be an integer in [%.0f, %.0f]", min, max);
		return 0;
	}
	return v->valuedouble;
}

static void get_fp(struct rd *rd, const cJSON *o, const char *name,
		   char out[UTIL_SHA256_HEX_SIZE])
{
	char *s = get_str(rd, o, name, true);

	out[0] = '\0';
	if (s && strlen(s) != UTIL_SHA256_HEX_SIZE - 1)
		bad(rd, name, "must be 64 hex digits");
	else if (s)
		memcpy(out, s, UTIL_SHA256_HEX_SIZE);
	free(s);
}

static void get_preconds(struct rd *rd, const cJSON *a, const char *what,
			 struct rc_precond **ret, size_t *ret_n)
{
	const cJSON *x;
	size_t n = 0;

	*ret = NULL;
	*ret_n = 0;
	if (!cJSON_IsArray(a)) {
		bad(rd, what, "must be a list");
		return;
	}
	*ret = util_xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof(**ret));
	cJSON_ArrayForEach(x, a)
	{
		char *key = get_str(rd, x, "key", true);

		if (!key)
			break;
		(*ret)[n].key = key;
		get_fp(rd, x, "fingerprint", (*ret)[n].fp);
		n++;
	}
	*ret_n = n;
}

static struct spec_loc get_loc(struct rd *rd, const cJSON *o)
{
	struct spec_loc loc = { 0, 0 };
	const cJSON *l = get(rd, o, "location", false);

	if (l && cJSON_IsObject(l)) {
		loc.line = (unsigned)get_num(rd, l, "line", true, 0, 1e9);
		loc.col = (unsigned)get_num(rd, l, "column", true, 0, 1e9);
	}
	return loc;
}

static void get_binding(struct rd *rd, const cJSON *o, const char *name,
			struct rc_binding *b)
{
	const cJSON *v = get(rd, o, name, false);

	if (!v || cJSON_IsNull(v))
		return;
	if (!cJSON_IsObject(v)) {
		bad(rd, name, "must be an object or null");
		return;
	}
	b->instance = get_str(rd, v, "instance", false);
	b->eni = get_str(rd, v, "network_interface", false);
	b->private_ip = get_str(rd, v, "private_ip", false);
}

/* The phase each action runs in (docs/plan-json.md, plan.h). */
static bool action_in_phase(enum rc_action a, enum rc_phase ph)
{
	switch (a) {
	case RC_ACT_ALLOCATE:
		return ph == RC_PHASE_ALLOCATE;
	case RC_ACT_REGISTER:
		return ph == RC_PHASE_REGISTER;
	case RC_ACT_WAIT:
		return ph == RC_PHASE_WAIT_HEALTHY ||
		       ph == RC_PHASE_WAIT_DRAINED;
	case RC_ACT_ASSOCIATE:
	case RC_ACT_MOVE:
		return ph == RC_PHASE_ADDRESS;
	case RC_ACT_DEREGISTER:
		return ph == RC_PHASE_DEREGISTER;
	case RC_ACT_DISASSOCIATE:
		return ph == RC_PHASE_DISASSOCIATE;
	case RC_ACT_ENABLE_ZONES:
		return ph == RC_PHASE_ENABLE_ZONES;
	}
	return false;
}

/*
 * What the file says of a step must be exactly what the step read from it
 * writes back: no field the reader skips or that contradicts another
 * (phase_number, resource.kind) can hide in a plan apply runs.
 */
static void check_step_round_trip(struct rd *rd, const cJSON *o,
				  const struct rc_step *s)
{
	cJSON *w = step_json(s);
	struct jdiff d = { .path = BUF_INIT };

	if (jdiff_find(w, o, &d)) {
		if (!d.a)
			bad(rd, d.path.buf, "does not belong in a %s step",
			    rc_action_name(s->action));
		else
			bad(rd, d.path.buf,
			    "does not agree with the rest of the step");
	}
	buf_release(&d.path);
	cJSON_Delete(w);
}

static void get_members(struct rd *rd, const cJSON *v, struct rc_member **ret,
			size_t *ret_n)
{
	const cJSON *x;

	if (!cJSON_IsArray(v)) {
		bad(rd, "members", "must be a list");
		return;
	}
	*ret = util_xcalloc((size_t)cJSON_GetArraySize(v) + 1, sizeof(**ret));
	cJSON_ArrayForEach(x, v)
	{
		struct rc_member *m = &(*ret)[(*ret_n)++];

		m->id = get_str(rd, x, "id", true);
		m->port = (int)get_num(rd, x, "port", false, 0, 65535);
		m->az = get_str(rd, x, "az", false);
		m->name = get_str(rd, x, "name", false);
	}
}

static void read_held(struct rd *rd, const cJSON *o, struct rc_held *h)
{
	const cJSON *r = get(rd, o, "resource", true);
	const cJSON *v;
	char *word = get_str(rd, o, "action", true);

	if (word && (rc_action_parse(word, &h->action) < 0 ||
		     h->action != RC_ACT_DEREGISTER))
		bad(rd, "held_back action", "'%s' is unknown", word);
	free(word);
	if (r) {
		h->key = get_str(rd, r, "key", true);
		h->label = get_str(rd, r, "name", true);
	}
	if (h->key && !rc_key_is_group(h->key))
		bad(rd, "held_back resource key", "'%s' is unknown", h->key);
	word = get_str(rd, o, "guard", true);
	h->guard = rc_guard_name(word);
	if (word && !h->guard)
		bad(rd, "guard", "'%s' is unknown", word);
	free(word);
	if ((v = get(rd, o, "members", true)) != NULL)
		get_members(rd, v, &h->members, &h->n_members);
	h->floor = (unsigned)get_num(rd, o, "floor", true, 0, 1e9);
	h->healthy = (size_t)get_num(rd, o, "healthy", true, 0, 1e9);
	h->reason = get_str(rd, o, "reason", true);
	h->loc = get_loc(rd, o);
}

/* Optional: a plan without changes held back may leave the list out. */
static void read_held_list(struct rd *rd, const cJSON *a, struct rc_plan *p)
{
	const cJSON *x;

	if (!a)
		return;
	if (!cJSON_IsArray(a)) {
		bad(rd, "held_back", "must be a list");
		return;
	}
	p->held = util_xcalloc((size_t)cJSON_GetArraySize(a) + 1,
			       sizeof(*p->held));
	cJSON_ArrayForEach(x, a)
	{
		read_held(rd, x, &p->held[p->n_held++]);
		if (rd->bad)
			return;
	}
}

static void read_deps(struct rd *rd, const cJSON *v, struct rc_step *s,
		      size_t n_steps)
{
	const cJSON *x;

	if (!cJSON_IsArray(v)) {
		bad(rd, "depends_on", "must be a list");
		return;
	}
	s->deps = util_xcalloc((size_t)cJSON_GetArraySize(v) + 1,
			       sizeof(*s->deps));
	cJSON_ArrayForEach(x, v)
	{
		if (!cJSON_IsNumber(x) || x->valuedouble < 1 ||
		    x->valuedouble > (double)n_steps ||
		    x->valuedouble >= (double)s->id) {
			bad(rd, "depends_on", "must name earlier steps");
			return;
		}
		s->deps[s->n_deps++] = (unsigned)x->valuedouble;
	}
}

/* An enable-zones step's "zones": a non-empty list of zone names. */
static void read_zones(struct rd *rd, const cJSON *o, struct rc_step *s)
{
	const cJSON *v = get(rd, o, "zones", s->action == RC_ACT_ENABLE_ZONES);
	const cJSON *x;

	if (!v)
		return;
	if (!cJSON_IsArray(v) || !cJSON_GetArraySize(v)) {
		bad(rd, "zones", "must be a non-empty list");
		return;
	}
	s->zones = util_xcalloc((size_t)cJSON_GetArraySize(v),
				sizeof(*s->zones));
	cJSON_ArrayForEach(x, v)
	{
		if (!cJSON_IsString(x) || !*x->valuestring) {
			bad(rd, "zones", "must be zone names");
			return;
		}
		s->zones[s->n_zones++] = util_xstrdup(x->valuestring);
	}
}

/* A step acts on a group or an address, never on an instance or ENI. */
static void read_step_key(struct rd *rd, struct rc_step *s)
{
	struct rc_key k;

	if (rc_key_parse(s->key, &k, NULL) < 0 ||
	    !(rc_key_kind_is_group(k.kind) || rc_key_kind_is_address(k.kind))) {
		s->group_kind = SPEC_LB_TARGET_GROUP;
		bad(rd, "resource key", "'%s' is unknown", s->key);
		return;
	}
	s->group_kind = rc_key_lb_kind(k.kind);
	if (k.kind == RC_KEY_TARGET_GROUP && !s->tg_arn &&
	    s->action != RC_ACT_WAIT)
		bad(rd, "arn", "is missing for a target group step");
}

static void read_step(struct rd *rd, const cJSON *o, struct rc_step *s,
		      size_t index, size_t n_steps)
{
	const cJSON *r = get(rd, o, "resource", true);
	const cJSON *v;
	char *word;

	rd->step = (unsigned)index + 1;
	s->id = (unsigned)get_num(rd, o, "id", true, 1, 1e9);
	if (s->id != index + 1)
		bad(rd, "steps", "must be numbered 1, 2, ... in order");
	word = get_str(rd, o, "phase", true);
	if (word && rc_phase_parse(word, &s->phase) < 0)
		bad(rd, "phase", "'%s' is unknown", word);
	free(word);
	word = get_str(rd, o, "action", true);
	if (word && rc_action_parse(word, &s->action) < 0)
		bad(rd, "action", "'%s' is unknown", word);
	else if (word && !rd->bad && !action_in_phase(s->action, s->phase))
		bad(rd, "action", "'%s' does not run in phase '%s'", word,
		    rc_phase_name(s->phase));
	free(word);
	if (r) {
		s->key = get_str(rd, r, "key", true);
		s->label = get_str(rd, r, "name", true);
		s->tg_arn = get_str(rd, r, "arn", false);
	}
	if (s->key)
		read_step_key(rd, s);
	s->reason = get_str(rd, o, "reason", false);
	s->loc = get_loc(rd, o);
	if ((v = get(rd, o, "members", false)) != NULL)
		get_members(rd, v, &s->members, &s->n_members);
	if ((v = get(rd, o, "wait", s->action == RC_ACT_WAIT)) != NULL &&
	    !cJSON_IsNull(v)) {
		word = get_str(rd, v, "until", true);
		if (word && rc_until_parse(word, &s->until) < 0)
			bad(rd, "until", "'%s' is unknown", word);
		free(word);
		s->timeout_ms = (uint64_t)get_num(rd, v, "timeout_ms", true, 0,
						  9e15);
	}
	s->min_healthy = (unsigned)get_num(rd, o, "min_healthy", false, 0, 1e9);
	read_zones(rd, o, s);
	if ((v = get(rd, o, "address", false)) != NULL && cJSON_IsObject(v)) {
		const cJSON *h = get(rd, v, "hijack", false);

		s->allocation_id = get_str(rd, v, "allocation_id", false);
		s->public_ip = get_str(rd, v, "public_ip", false);
		s->name = get_str(rd, v, "name", false);
		get_binding(rd, v, "from", &s->from);
		get_binding(rd, v, "to", &s->to);
		s->hijack = h && cJSON_IsTrue(h);
	}
	if ((v = get(rd, o, "depends_on", false)) != NULL)
		read_deps(rd, v, s, n_steps);
	if ((v = get(rd, o, "precondition", true)) != NULL)
		get_preconds(rd, v, "precondition", &s->pre, &s->n_pre);
	if (!rd->bad)
		check_step_round_trip(rd, o, s);
}

static void read_notes(struct rd *rd, const cJSON *a, enum rc_note_level lv,
		       struct rc_notes *n)
{
	const cJSON *x;

	if (!a)
		return;
	if (!cJSON_IsArray(a)) {
		bad(rd, lv == RC_NOTE_WARNING ? "warnings" : "infos",
		    "must be a list");
		return;
	}
	cJSON_ArrayForEach(x, a)
	{
		char *msg = get_str(rd, x, "message", true);
		char *res = get_str(rd, x, "resource", false);

		if (msg)
			rc_notes_add(n, lv, res, get_loc(rd, x), "%s", msg);
		free(msg);
		free(res);
	}
}

static void read_summaries(struct rd *rd, const cJSON *root, struct rc_plan *p)
{
	const cJSON *a = get(rd, root, "groups", false), *x;

	if (a && cJSON_IsArray(a)) {
		p->groups = util_xcalloc((size_t)cJSON_GetArraySize(a) + 1,
					 sizeof(*p->groups));
		cJSON_ArrayForEach(x, a)
		{
			struct rc_group_summary *g = &p->groups[p->n_groups++];
			char *kind = get_str(rd, x, "kind", false);
			char *own = get_str(rd, x, "ownership", false);

			g->label = get_str(rd, x, "name", true);
			g->kind = util_streq(kind, "classic")
					  ? SPEC_LB_CLASSIC
					  : SPEC_LB_TARGET_GROUP;
			g->ownership = util_streq(own, "additive")
					       ? SPEC_OWNERSHIP_ADDITIVE
					       : SPEC_OWNERSHIP_EXCLUSIVE;
			g->before = (size_t)get_num(rd, x, "members_before",
						    false, 0, 1e9);
			g->after = (size_t)get_num(rd, x, "members_after",
						   false, 0, 1e9);
			g->healthy = (size_t)get_num(rd, x, "healthy_now",
						     false, 0, 1e9);
			g->undeclared = (size_t)get_num(rd, x, "undeclared",
							false, 0, 1e9);
			g->n_register = (size_t)get_num(rd, x, "register",
							false, 0, 1e9);
			g->n_deregister = (size_t)get_num(rd, x, "deregister",
							  false, 0, 1e9);
			free(kind);
			free(own);
		}
	}
	a = get(rd, root, "addresses", false);
	if (a && cJSON_IsArray(a)) {
		p->addresses = util_xcalloc((size_t)cJSON_GetArraySize(a) + 1,
					    sizeof(*p->addresses));
		cJSON_ArrayForEach(x, a)
		{
			struct rc_address_summary *s =
				&p->addresses[p->n_addresses++];

			s->label = get_str(rd, x, "name", true);
			s->public_ip = get_str(rd, x, "public_ip", false);
			s->from = get_str(rd, x, "from", false);
			s->to = get_str(rd, x, "to", false);
		}
	}
}

static void read_spec(struct rd *rd, const cJSON *v, struct rc_plan *p)
{
	char *sha = get_str(rd, v, "sha256", false);
	const cJSON *c = get(rd, v, "content", false);

	p->spec_path = get_str(rd, v, "path", false);
	if (sha && strlen(sha) == UTIL_SHA256_HEX_SIZE - 1)
		memcpy(p->spec_sha256, sha, UTIL_SHA256_HEX_SIZE);
	free(sha);
	if (c && cJSON_IsString(c)) {
		char hex[UTIL_SHA256_HEX_SIZE];

		p->spec_content_len = strlen(c->valuestring);
		p->spec_content = util_xstrdup(c->valuestring);
		util_sha256_hex(p->spec_content, p->spec_content_len, hex);
		if (strcmp(hex, p->spec_sha256))
			bad(rd, "spec content", "does not match spec sha256");
	} else if (c && !cJSON_IsNull(c)) {
		bad(rd, "spec content", "must be a string or null");
	}
}

static void read_options(struct rd *rd, const cJSON *root, struct rc_plan *p)
{
	const cJSON *o = get(rd, root, "options", true), *a, *x;

	if (!o)
		return;
	a = get(rd, o, "only", true);
	if (!a)
		return;
	if (!cJSON_IsArray(a)) {
		bad(rd, "options only", "must be a list");
		return;
	}
	p->only = util_xcalloc((size_t)cJSON_GetArraySize(a) + 1,
			       sizeof(*p->only));
	cJSON_ArrayForEach(x, a)
	{
		if (!cJSON_IsString(x)) {
			bad(rd, "options only", "must be a list of names");
			return;
		}
		p->only[p->n_only++] = util_xstrdup(x->valuestring);
	}
}

/* Keep the file's summary: apply compares it (rc_plan_summary_diff()). */
static void read_summary(struct rd *rd, const cJSON *root, struct rc_plan *p)
{
	const cJSON *v = get(rd, root, "summary", true);

	if (!v)
		return;
	if (!cJSON_IsObject(v)) {
		bad(rd, "summary", "must be an object");
		return;
	}
	p->summary_json = cJSON_PrintUnformatted(v);
}

int rc_plan_summary_diff(const struct rc_plan *p, struct buf *out)
{
	cJSON *said = p->summary_json ? cJSON_Parse(p->summary_json) : NULL;
	cJSON *w = summary_json(p);
	struct jdiff d = { .path = BUF_INIT };
	int r = 0;

	if (said && jdiff_find(said, w, &d)) {
		if (d.a && d.b) {
			buf_addstr(out, "the summary says ");
			jdiff_value(out, d.a);
			buf_addf(out, " %s, the steps make ", d.path.buf);
			jdiff_value(out, d.b);
		} else {
			buf_addf(out,
				 "the summary does not match the steps "
				 "(%s)",
				 d.path.buf);
		}
		r = 1;
	}
	buf_release(&d.path);
	cJSON_Delete(w);
	cJSON_Delete(said);
	return r;
}

static int check_version(struct rd *rd, const cJSON *root)
{
	int version = (int)get_num(rd, root, "format_version", true, 0, 1e6);

	if (rd->bad || version == RC_PLAN_FORMAT_VERSION)
		return version;
	rd->bad = true;
	if (version < RC_PLAN_FORMAT_VERSION)
		util_err_set(rd->err, UTIL_EINVAL,
			     "%s: plan format version %d was made by an older "
			     "moor; run moor plan again",
			     rd->path, version);
	else
		util_err_set(rd->err, UTIL_EINVAL,
			     "%s: plan format version %d is not supported "
			     "(this moor reads version %d)",
			     rd->path, version, RC_PLAN_FORMAT_VERSION);
	return version;
}

static void read_steps(struct rd *rd, const cJSON *root, struct rc_plan *p)
{
	const cJSON *v = get(rd, root, "steps", true), *x;
	size_t n;

	if (!v)
		return;
	if (!cJSON_IsArray(v)) {
		bad(rd, "steps", "must be a list");
		return;
	}
	n = (size_t)cJSON_GetArraySize(v);
	p->steps = util_xcalloc(n + 1, sizeof(*p->steps));
	cJSON_ArrayForEach(x, v)
	{
		read_step(rd, x, &p->steps[p->n_steps], p->n_steps, n);
		p->n_steps++;
		if (rd->bad)
			return;
	}
	rd->step = 0;
}

/* Owns reading a saved plan: size cap, format version, every field checked
 * as rc_plan_to_json writes it; any fault names the file and the field. */
int rc_plan_from_json(const char *path, const char *data, size_t len,
		      struct rc_plan **ret, struct util_err *err)
{
	struct rd rd = { .path = path, .err = err };
	cJSON *root = NULL;
	struct rc_plan *p = NULL;
	const cJSON *v, *x;
	int version;

	if (len > RC_PLAN_MAX_FILE_SIZE) {
		util_err_set(err, UTIL_EINVAL,
			     "%s: %zu bytes is more than a saved plan may have "
			     "(%u MiB)",
			     path, len, RC_PLAN_MAX_FILE_SIZE / (1024 * 1024));
		goto out;
	}
	root = cJSON_ParseWithLength(data, len);
	if (!root || !cJSON_IsObject(root)) {
		util_err_set(err, UTIL_EINVAL,
			     "%s: not a valid moor plan: not a JSON object",
			     path);
		goto out;
	}
	version = check_version(&rd, root);
	if (rd.bad)
		goto out;
	p = util_xcalloc(1, sizeof(*p));
	p->format_version = version;
	p->moor_version = get_str(&rd, root, "moor_version", false);
	if ((v = get(&rd, root, "spec", true)) != NULL)
		read_spec(&rd, v, p);
	read_options(&rd, root, p);
	p->region = get_str(&rd, root, "region", false);
	p->account = get_str(&rd, root, "account", false);
	if ((v = get(&rd, root, "observed", true)) != NULL) {
		get_fp(&rd, v, "fingerprint", p->fingerprint);
		if ((x = get(&rd, v, "resources", true)) != NULL)
			get_preconds(&rd, x, "observed resources", &p->observed,
				     &p->n_observed);
	}
	if (!rd.bad)
		read_steps(&rd, root, p);
	if (!rd.bad)
		read_held_list(&rd, get(&rd, root, "held_back", false), p);
	if (rd.bad)
		goto out;
	p->notes.path = p->spec_path ? util_xstrdup(p->spec_path) : NULL;
	read_notes(&rd, get(&rd, root, "warnings", false), RC_NOTE_WARNING,
		   &p->notes);
	read_notes(&rd, get(&rd, root, "infos", false), RC_NOTE_INFO,
		   &p->notes);
	read_summaries(&rd, root, p);
	read_summary(&rd, root, p);
	if (!rd.bad) {
		char fp[UTIL_SHA256_HEX_SIZE];

		/* The observed set must not have been edited. */
		memcpy(fp, p->fingerprint, sizeof(fp));
		rc_plan_seal(p);
		if (strcmp(fp, p->fingerprint))
			bad(&rd, "observed",
			    "fingerprint does not match its resources");
	}
out:
	cJSON_Delete(root);
	if (rd.bad || util_err_isset(err)) {
		rc_plan_free(p);
		return UTIL_EINVAL;
	}
	*ret = p;
	return 0;
}

bool rc_plan_is_json(const char *data, size_t len)
{
	size_t i = 0;

	while (i < len && (data[i] == ' ' || data[i] == '\t' ||
			   data[i] == '\n' || data[i] == '\r'))
		i++;
	return i < len && data[i] == '{' &&
	       memmem(data, len, "\"format_version\"", 16) != NULL;
}

int rc_plan_save(const struct rc_plan *p, const char *path,
		 struct util_err *err)
{
	struct buf b = BUF_INIT;
	int r = rc_plan_to_json(p, &b, err);

	/* Never write a plan moor apply would refuse to read. */
	if (r == 0 && b.len > RC_PLAN_MAX_FILE_SIZE)
		r = util_err_set(
			err, UTIL_ELIMIT,
			"the plan is %zu bytes, more than moor apply "
			"reads (%u MiB); plan fewer groups with --only",
			b.len, RC_PLAN_MAX_FILE_SIZE / (1024 * 1024));
	if (r == 0)
		r = util_write_file_atomic(path, b.buf, b.len, 0644, err);
	buf_release(&b);
	return r;
}
