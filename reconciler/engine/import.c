#include "reconciler/engine/import.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/engine/key.h"
#include "reconciler/engine/observe.h"
#include "spec/ids.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/banned.h"

static enum spec_eip_ref classify(const char *s)
{
	if (spec_is_allocation_id(s))
		return SPEC_EIP_BY_ALLOCATION_ID;
	if (spec_is_ipv4(s))
		return SPEC_EIP_BY_PUBLIC_IP;
	return SPEC_EIP_BY_NAME;
}

/* Would YAML read s (plain) as a number? */
static bool numeric(const char *s)
{
	size_t digits = strspn(s, "0123456789");

	if (s[digits] == '\0')
		return true;
	return s[digits] == '.' && !strchr(s + digits + 1, '.') &&
	       strspn(s + digits + 1, "0123456789") == strlen(s + digits + 1);
}

/* A YAML scalar: plain when safe, else double-quoted with escapes. */
static void scalar(struct buf *out, const char *s)
{
	bool plain = *s != '\0';

	for (const char *q = s; *q && plain; q++)
		plain = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
			(*q >= '0' && *q <= '9') || strchr("-_./:", *q);
	/* Plain scalars YAML would read as something else. */
	if (plain &&
	    (strchr("-.:/", *s) || strstr(s, ": ") || !strcmp(s, "true") ||
	     !strcmp(s, "false") || !strcmp(s, "null") || !strcmp(s, "yes") ||
	     !strcmp(s, "no") || !strcmp(s, "on") || !strcmp(s, "off") ||
	     numeric(s)))
		plain = false;
	if (plain) {
		buf_addstr(out, s);
		return;
	}
	buf_addch(out, '"');
	for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
		if (*q == '"' || *q == '\\')
			buf_addf(out, "\\%c", *q);
		else if (*q < 0x20 || *q == 0x7f)
			buf_addf(out, "\\x%02x", *q);
		else
			buf_addch(out, (char)*q);
	}
	buf_addch(out, '"');
}

/* "  # text" with control characters flattened. */
static void comment(struct buf *out, const char *text)
{
	if (!text || !*text)
		return;
	buf_addstr(out, "  # ");
	for (const unsigned char *q = (const unsigned char *)text; *q; q++)
		buf_addch(out, *q < 0x20 || *q == 0x7f ? ' ' : (char)*q);
}

static const char *name_of(const struct rc_world *w, const char *id)
{
	const struct prov_instance *in = rc_world_instance(w, id);

	return in ? prov_tag_get(in->tags, in->n_tags, "Name") : NULL;
}

static int cmp_classic_member(const void *a, const void *b)
{
	return strcmp(((const struct prov_classic_member *)a)->instance_id,
		      ((const struct prov_classic_member *)b)->instance_id);
}

static int cmp_target(const void *a, const void *b)
{
	const struct prov_target *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	return c ? c : (x->port > y->port) - (x->port < y->port);
}

static void write_classic(struct buf *out, const struct rc_world *w,
			  const char *ref, const struct prov_classic_lb *lb)
{
	struct prov_classic_member *m = util_xcalloc(lb->n_members + 1,
						     sizeof(*m));
	size_t n = 0;

	if (lb->n_members)
		memcpy(m, lb->members, lb->n_members * sizeof(*m));

	qsort(m, lb->n_members, sizeof(*m), cmp_classic_member);
	buf_addstr(out, "  - classic: ");
	scalar(out, ref);
	buf_addch(out, '\n');
	for (size_t i = 0; i < lb->n_members; i++)
		n += rc_classic_member_present(&m[i]);
	if (!n) {
		buf_addstr(out, "    members: []\n");
		free(m);
		return;
	}
	buf_addstr(out, "    members:\n");
	for (size_t i = 0; i < lb->n_members; i++) {
		if (!rc_classic_member_present(&m[i]))
			continue;
		buf_addstr(out, "      - ");
		scalar(out, m[i].instance_id);
		comment(out, name_of(w, m[i].instance_id));
		buf_addch(out, '\n');
	}
	free(m);
}

static void write_tg(struct buf *out, const struct rc_world *w, const char *ref,
		     const struct prov_target_group *tg)
{
	struct prov_target *t = util_xcalloc(tg->n_targets + 1, sizeof(*t));
	bool ip = tg->target_type == PROV_TARGET_IP;
	size_t n = 0;

	if (tg->n_targets)
		memcpy(t, tg->targets, tg->n_targets * sizeof(*t));

	qsort(t, tg->n_targets, sizeof(*t), cmp_target);
	buf_addstr(out, "  - target_group: ");
	scalar(out, ref);
	buf_addch(out, '\n');
	for (size_t i = 0; i < tg->n_targets; i++)
		n += rc_target_present(&t[i]);
	if (!n) {
		buf_addstr(out, "    members: []\n");
		free(t);
		return;
	}
	buf_addstr(out, "    members:\n");
	for (size_t i = 0; i < tg->n_targets; i++) {
		bool own_port = t[i].port != tg->port;

		if (!rc_target_present(&t[i]))
			continue;
		if (ip) {
			buf_addstr(out, "      - ip: ");
			scalar(out, t[i].id);
			buf_addch(out, '\n');
			if (own_port)
				buf_addf(out, "        port: %d\n", t[i].port);
			if (t[i].az) {
				buf_addstr(out, "        az: ");
				scalar(out, t[i].az);
				buf_addch(out, '\n');
			}
			continue;
		}
		if (!own_port) {
			buf_addstr(out, "      - ");
			scalar(out, t[i].id);
			comment(out, name_of(w, t[i].id));
			buf_addch(out, '\n');
			continue;
		}
		buf_addstr(out, "      - id: ");
		scalar(out, t[i].id);
		comment(out, name_of(w, t[i].id));
		buf_addf(out, "\n        port: %d\n", t[i].port);
	}
	free(t);
}

/* What the address is bound to: none, an instance, or an interface. */
static void write_binding(struct buf *out, const struct rc_world *w,
			  const struct prov_address *a)
{
	const struct prov_instance *in = rc_world_instance(w, a->instance_id);

	if (!a->instance_id && !a->eni_id) {
		buf_addstr(out, "    none: true\n");
		return;
	}
	/* On the instance's primary interface: an instance binding. */
	if (a->instance_id && in &&
	    (!a->eni_id || !in->n_enis ||
	     util_streq(in->enis[0].id, a->eni_id))) {
		buf_addstr(out, "    instance: ");
		scalar(out, a->instance_id);
		comment(out, name_of(w, a->instance_id));
		buf_addch(out, '\n');
		if (a->private_ip &&
		    !util_streq(a->private_ip, in->private_ip)) {
			buf_addstr(out, "    private_ip: ");
			scalar(out, a->private_ip);
			buf_addch(out, '\n');
		}
		return;
	}
	if (!a->eni_id) { /* an instance we could not read */
		buf_addstr(out, "    instance: ");
		scalar(out, a->instance_id);
		buf_addch(out, '\n');
		return;
	}
	buf_addstr(out, "    network_interface: ");
	scalar(out, a->eni_id);
	comment(out, a->instance_id ? a->instance_id : NULL);
	buf_addch(out, '\n');
	if (a->private_ip) {
		buf_addstr(out, "    private_ip: ");
		scalar(out, a->private_ip);
		buf_addch(out, '\n');
	}
}

static void write_address(struct buf *out, const struct rc_world *w,
			  const char *ref, enum spec_eip_ref kind,
			  const struct prov_address *a)
{
	static const char *const keys[] = {
		[SPEC_EIP_BY_ALLOCATION_ID] = "allocation_id",
		[SPEC_EIP_BY_PUBLIC_IP] = "public_ip",
		[SPEC_EIP_BY_NAME] = "name",
	};
	const char *name = prov_tag_get(a->tags, a->n_tags, "Name");
	struct buf c = BUF_INIT;

	buf_addf(out, "  - %s: ", keys[kind]);
	scalar(out, ref);
	if (kind != SPEC_EIP_BY_ALLOCATION_ID)
		buf_addf(&c, "%s", a->allocation_id ? a->allocation_id : "");
	if (kind != SPEC_EIP_BY_PUBLIC_IP)
		buf_addf(&c, "%s%s", c.len ? ", " : "",
			 a->public_ip ? a->public_ip : "");
	if (name && kind != SPEC_EIP_BY_NAME)
		buf_addf(&c, "%sName %s", c.len ? ", " : "", name);
	comment(out, c.buf);
	buf_addch(out, '\n');
	buf_release(&c);
	write_binding(out, w, a);
}

static void not_found(struct util_err *err, size_t *n, const char *what,
		      const char *name)
{
	if (!(*n)++)
		util_err_set(err, UTIL_ENOTFOUND, "%s '%s' does not exist",
			     what, name);
}

/* The load balancers and addresses asked for, with the caller's identity. */
static int read_named(struct prov *p, const struct rc_import_opts *o,
		      const struct rc_observe_opts *oo, struct rc_reads *r,
		      struct rc_world *w, struct util_err *err)
{
	r->identity = true;
	for (size_t i = 0; i < o->n_classic + o->n_tgs; i++) {
		char *key = i < o->n_classic
				    ? rc_key_group(SPEC_LB_CLASSIC,
						   o->classic[i])
				    : rc_key_group(SPEC_LB_TARGET_GROUP,
						   o->tgs[i - o->n_classic]);

		rc_reads_add_key(r, key, NULL);
		free(key);
	}
	for (size_t i = 0; i < o->n_eips; i++) {
		char *key = rc_key_address(classify(o->eips[i]), o->eips[i]);

		rc_reads_add_key(r, key, NULL);
		free(key);
	}
	return rc_observe(p, r, oo, w, err);
}

/* Every instance we will name, for its Name tag. */
static int read_instances(struct prov *p, const struct rc_world *w,
			  const struct rc_observe_opts *oo, struct rc_reads *r2,
			  struct rc_world *wi, struct util_err *err)
{
	for (size_t i = 0; i < w->classic.n; i++)
		for (size_t k = 0; k < w->classic.v[i].n_members; k++) {
			char *key = rc_key_instance(
				w->classic.v[i].members[k].instance_id);

			rc_reads_add_key(r2, key, NULL);
			free(key);
		}
	for (size_t i = 0; i < w->tgs.n; i++)
		for (size_t k = 0;
		     w->tgs.v[i].target_type == PROV_TARGET_INSTANCE &&
		     k < w->tgs.v[i].n_targets;
		     k++) {
			char *key = rc_key_instance(w->tgs.v[i].targets[k].id);

			rc_reads_add_key(r2, key, NULL);
			free(key);
		}
	for (size_t i = 0; i < w->addresses.n; i++) {
		if (w->addresses.v[i].instance_id) {
			char *key = rc_key_instance(
				w->addresses.v[i].instance_id);

			rc_reads_add_key(r2, key, NULL);
			free(key);
		}
	}
	if (rc_reads_empty(r2))
		return 0;
	return rc_observe(p, r2, oo, wi, err);
}

static void write_header(struct buf *out, const struct rc_import_opts *o,
			 const struct rc_world *w)
{
	buf_addf(out, "# Generated by moor import%s%s",
		 o->moor_version ? " " : "",
		 o->moor_version ? o->moor_version : "");
	if (w->have_identity && w->identity.account)
		buf_addf(out, " from account %s", w->identity.account);
	if (o->region)
		buf_addf(out, " in %s", o->region);
	buf_addstr(out, ".\n# It declares exactly the live state: moor plan "
			"against it shows no changes.\nversion: 1\n");
	if (o->region) {
		buf_addstr(out, "region: ");
		scalar(out, o->region);
		buf_addch(out, '\n');
	}
}

/* The load_balancers list; a target type moor cannot manage stops it. */
static int write_groups(struct buf *out, const struct rc_import_opts *o,
			const struct rc_world *w, const struct rc_world *wi,
			size_t *missing, struct util_err *err)
{
	if (o->n_classic || o->n_tgs)
		buf_addstr(out, "load_balancers:\n");
	for (size_t i = 0; i < o->n_classic; i++) {
		const struct rc_obs_group *g = rc_world_group(w,
							      SPEC_LB_CLASSIC,
							      o->classic[i]);

		if (!g || !g->classic)
			not_found(err, missing, "classic load balancer",
				  o->classic[i]);
		else
			write_classic(out, wi, o->classic[i], g->classic);
	}
	for (size_t i = 0; i < o->n_tgs; i++) {
		const struct rc_obs_group *g =
			rc_world_group(w, SPEC_LB_TARGET_GROUP, o->tgs[i]);

		if (!g || !g->tg) {
			not_found(err, missing, "target group", o->tgs[i]);
		} else if (g->tg->target_type != PROV_TARGET_INSTANCE &&
			   g->tg->target_type != PROV_TARGET_IP) {
			return util_err_set(err, UTIL_EINVAL,
					    "target group '%s' has target type "
					    "%s; moor manages instance and ip "
					    "targets",
					    o->tgs[i],
					    prov_target_type_name(
						    g->tg->target_type));
		} else {
			write_tg(out, wi, o->tgs[i], g->tg);
		}
	}
	return 0;
}

/* The elastic_ips list; a name several addresses share stops it. */
static int write_addresses(struct buf *out, const struct rc_import_opts *o,
			   const struct rc_world *w, const struct rc_world *wi,
			   size_t *missing, struct util_err *err)
{
	if (o->n_eips)
		buf_addstr(out, "elastic_ips:\n");
	for (size_t i = 0; i < o->n_eips; i++) {
		enum spec_eip_ref kind = classify(o->eips[i]);
		size_t n = 0;
		const struct prov_address *a = rc_world_address(w, kind,
								o->eips[i], &n);

		if (n > 1)
			return util_err_set(
				err, UTIL_EINVAL,
				"%zu addresses are named '%s'; import "
				"them by allocation id",
				n, o->eips[i]);
		if (!a)
			not_found(err, missing, "address", o->eips[i]);
		else
			write_address(out, wi, o->eips[i], kind, a);
	}
	return 0;
}

int rc_import(struct prov *p, const struct rc_import_opts *o, struct buf *out,
	      struct util_err *err)
{
	struct rc_observe_opts oo = { .concurrency = o->concurrency };
	struct rc_reads r = RC_READS_INIT, r2 = RC_READS_INIT;
	struct rc_world w = { 0 }, wi = { 0 };
	size_t missing = 0;
	int rv;

	if ((rv = read_named(p, o, &oo, &r, &w, err)) < 0)
		goto out;
	if ((rv = read_instances(p, &w, &oo, &r2, &wi, err)) < 0)
		goto out;
	write_header(out, o, &w);
	if ((rv = write_groups(out, o, &w, &wi, &missing, err)) < 0)
		goto out;
	if ((rv = write_addresses(out, o, &w, &wi, &missing, err)) < 0)
		goto out;
	if (missing) {
		if (missing > 1)
			util_err_prefix(err, "%zu resources not found",
					missing);
		rv = UTIL_ENOTFOUND;
		goto out;
	}
	rv = 0;
out:
	rc_world_release(&w);
	rc_world_release(&wi);
	rc_reads_release(&r);
	rc_reads_release(&r2);
	return rv;
}
