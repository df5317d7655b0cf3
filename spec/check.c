/*
 * Rules across entries: duplicates, bindings that would fight over one
 * private IP, min_healthy against the members declared.  Each rule builds
 * a canonical key per entry and sorts, so a spec with 10,000 members costs
 * O(n log n), not O(n^2).  Entries that failed to decode have NULL fields
 * and are skipped (their error is already reported).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/diag.h"
#include "spec/ids.h"
#include "spec/internal.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/strv.h"
#include "util/banned.h"

/* Separators inside keys; decode rejects control characters in values. */
#define SEP "\x01"
#define SUB "\x02"

struct keyed {
	char *key;
	size_t seq; /* discovery order: the first of equals is the original */
	struct spec_loc loc;
	size_t owner; /* index of the group or address it belongs to */
	const void *item;
	int type;
};

struct keyset {
	struct keyed *v;
	size_t n, alloc;
};

static void keyset_add(struct keyset *ks, struct buf *key, struct spec_loc loc,
		       size_t owner, const void *item, int type)
{
	struct keyed *k;

	UTIL_GROW(ks->v, ks->alloc, ks->n + 1);
	k = &ks->v[ks->n];
	k->key = buf_detach(key, NULL);
	k->seq = ks->n++;
	k->loc = loc;
	k->owner = owner;
	k->item = item;
	k->type = type;
}

static int cmp_keyed(const void *pa, const void *pb)
{
	const struct keyed *a = pa, *b = pb;
	int c = strcmp(a->key, b->key);

	if (c)
		return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Sort, then call fn(first, again, ctx) for every entry whose key equals
 * an earlier one's, where first is the earliest of its run.
 */
static void keyset_dups(struct keyset *ks,
			void (*fn)(const struct keyed *first,
				   const struct keyed *again, void *ctx),
			void *ctx)
{
	size_t i, first = 0;

	if (ks->n)
		qsort(ks->v, ks->n, sizeof(*ks->v), cmp_keyed);
	for (i = 1; i < ks->n; i++) {
		if (strcmp(ks->v[i].key, ks->v[first].key)) {
			first = i;
			continue;
		}
		fn(&ks->v[first], &ks->v[i], ctx);
	}
}

static void keyset_release(struct keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->v[i].key);
	free(ks->v);
	memset(ks, 0, sizeof(*ks));
}

struct ctx {
	const struct spec *s;
	struct spec_diags *d;
};

/* --- load balancers ------------------------------------------------------- */

static const char *lb_kind_name(const struct spec_lb *lb)
{
	return lb->kind == SPEC_LB_CLASSIC ? "classic ELB" : "target group";
}

static void lb_dup(const struct keyed *first, const struct keyed *again,
		   void *p)
{
	struct ctx *c = p;
	const struct spec_lb *a = first->item, *b = again->item;
	char clip[SPEC_CLIP_SIZE], where[SPEC_WHERE_SIZE];

	if (strcmp(a->name, b->name))
		spec_diag_add(c->d, SPEC_ERROR, again->loc,
			      "%s '%s' is declared twice (first at %s, as "
			      "'%s')",
			      lb_kind_name(b), spec_clip(b->name, clip),
			      spec_where(first->loc, again->loc, where),
			      a->name);
	else
		spec_diag_add(c->d, SPEC_ERROR, again->loc,
			      "%s '%s' is declared twice (first at %s)",
			      lb_kind_name(b), spec_clip(b->name, clip),
			      spec_where(first->loc, again->loc, where));
}

static void check_lb_dups(struct ctx *c)
{
	struct keyset ks = { 0 };
	struct buf key = BUF_INIT;

	for (size_t i = 0; i < c->s->n_lbs; i++) {
		const struct spec_lb *lb = &c->s->lbs[i];
		const char *name = lb->name;
		struct spec_arn arn;

		if (!name)
			continue;
		/* A target group by ARN is the same as by its name. */
		if (lb->kind == SPEC_LB_TARGET_GROUP &&
		    spec_parse_target_group_arn(name, &arn))
			name = arn.name;
		buf_addf(&key, "%c" SEP "%s",
			 lb->kind == SPEC_LB_CLASSIC ? 'c' : 't', name);
		keyset_add(&ks, &key, lb->loc, i, lb, 0);
	}
	keyset_dups(&ks, lb_dup, c);
	keyset_release(&ks);
	buf_release(&key);
}

/* The identity of a member: kind, id / address / selector, and port. */
static bool member_key(const struct spec_member *m, struct buf *key)
{
	char **parts;
	size_t i;

	switch (m->kind) {
	case SPEC_MEMBER_ID:
		if (!m->id)
			return false;
		buf_addf(key, "i" SEP "%s", m->id);
		break;
	case SPEC_MEMBER_IP:
		if (!m->ip)
			return false;
		buf_addf(key, "p" SEP "%s", m->ip);
		break;
	case SPEC_MEMBER_SELECTOR:
		if (!m->n_tags)
			return false;
		/* Order does not matter in a selector: sort both lists. */
		parts = util_xcalloc(m->n_tags, sizeof(*parts));
		for (i = 0; i < m->n_tags; i++)
			parts[i] = util_xasprintf("%s" SUB "%s", m->tags[i].key,
						  m->tags[i].value);
		qsort(parts, m->n_tags, sizeof(*parts), util_strv_cmp);
		buf_addstr(key, "s");
		for (i = 0; i < m->n_tags; i++) {
			buf_addf(key, SEP "%s", parts[i]);
			free(parts[i]);
		}
		free(parts);
		parts = util_xmemdup(m->states,
				     m->n_states * sizeof(*m->states));
		qsort(parts, m->n_states, sizeof(*parts), util_strv_cmp);
		buf_addstr(key, SEP SEP);
		for (i = 0; i < m->n_states; i++)
			buf_addf(key, "%s" SUB, parts[i]);
		free(parts);
		break;
	}
	buf_addf(key, SEP SEP "%d", m->port);
	return true;
}

static void member_label(const struct spec_member *m, struct buf *out)
{
	char clip[SPEC_CLIP_SIZE];

	switch (m->kind) {
	case SPEC_MEMBER_ID:
		buf_addf(out, "'%s'", spec_clip(m->id, clip));
		break;
	case SPEC_MEMBER_IP:
		buf_addf(out, "'%s'", spec_clip(m->ip, clip));
		break;
	case SPEC_MEMBER_SELECTOR:
		buf_addstr(out, "selector");
		for (size_t i = 0; i < m->n_tags && i < 4; i++)
			buf_addf(out, "%s%s=%s", i ? "," : " ", m->tags[i].key,
				 m->tags[i].value);
		if (m->n_tags > 4)
			buf_addstr(out, ",...");
		break;
	}
	if (m->port)
		buf_addf(out, " port %d", m->port);
}

static void member_dup(const struct keyed *first, const struct keyed *again,
		       void *p)
{
	struct ctx *c = p;
	const struct spec_lb *lb = &c->s->lbs[again->owner];
	char clip[SPEC_CLIP_SIZE], where[SPEC_WHERE_SIZE];
	struct buf label = BUF_INIT;

	member_label(again->item, &label);
	spec_diag_add(c->d, SPEC_ERROR, again->loc,
		      "member %s is listed twice in '%s' (first at %s)",
		      label.buf, lb->name ? spec_clip(lb->name, clip) : "?",
		      spec_where(first->loc, again->loc, where));
	buf_release(&label);
}

static bool loc_before(struct spec_loc a, struct spec_loc b)
{
	return a.line < b.line || (a.line == b.line && a.col < b.col);
}

static void check_members(struct ctx *c, size_t i)
{
	const struct spec_lb *lb = &c->s->lbs[i];
	struct keyset ks = { 0 };
	struct buf key = BUF_INIT;
	bool selector = false;
	const struct spec_member *first_inst = NULL, *first_ip = NULL;

	for (size_t j = 0; j < lb->n_members; j++) {
		const struct spec_member *m = &lb->members[j];

		if (m->kind == SPEC_MEMBER_SELECTOR)
			selector = true;
		if (m->kind == SPEC_MEMBER_IP && !first_ip)
			first_ip = m;
		else if (m->kind != SPEC_MEMBER_IP && !first_inst)
			first_inst = m;
		if (member_key(m, &key))
			keyset_add(&ks, &key, m->loc, i, m, 0);
		buf_reset(&key);
	}
	keyset_dups(&ks, member_dup, c);
	keyset_release(&ks);
	buf_release(&key);

	/* A target group has one target type: instance or ip. */
	if (first_inst && first_ip && lb->kind == SPEC_LB_TARGET_GROUP) {
		const struct spec_member *later = loc_before(first_inst->loc,
							     first_ip->loc)
							  ? first_ip
							  : first_inst;
		char where[SPEC_WHERE_SIZE];

		spec_diag_add(c->d, SPEC_ERROR, later->loc,
			      "target group '%s' mixes instance and ip members "
			      "(first %s member at %s): a target group has "
			      "one target type",
			      lb->name ? lb->name : "?",
			      later == first_ip ? "instance" : "ip",
			      spec_where(later == first_ip ? first_inst->loc
							   : first_ip->loc,
					 later->loc, where));
	}

	/*
	 * A selector may match any number of instances; without one the
	 * members are counted, and a floor above them can never be met.
	 */
	if (lb->min_healthy.set && !lb->min_healthy.percent && !selector &&
	    lb->min_healthy.value > lb->n_members) {
		char clip[SPEC_CLIP_SIZE];

		spec_diag_add(c->d, SPEC_ERROR, lb->min_healthy.loc,
			      "'min_healthy' is %u, but '%s' declares only "
			      "%zu member%s",
			      lb->min_healthy.value,
			      lb->name ? spec_clip(lb->name, clip) : "?",
			      lb->n_members, lb->n_members == 1 ? "" : "s");
	}
}

/* --- elastic IPs ---------------------------------------------------------- */

const char *spec_eip_label(const struct spec_eip *e)
{
	switch (e->ref) {
	case SPEC_EIP_BY_ALLOCATION_ID:
		if (e->allocation_id)
			return e->allocation_id;
		break;
	case SPEC_EIP_BY_PUBLIC_IP:
		if (e->public_ip)
			return e->public_ip;
		break;
	case SPEC_EIP_BY_NAME:
		if (e->name)
			return e->name;
		break;
	}
	return "?";
}

static void eip_dup(const struct keyed *first, const struct keyed *again,
		    void *p)
{
	struct ctx *c = p;
	char clip[SPEC_CLIP_SIZE], where[SPEC_WHERE_SIZE];

	(void)first;
	spec_diag_add(c->d, SPEC_ERROR, again->loc,
		      "elastic IP '%s' is declared twice (first at %s)",
		      spec_clip(spec_eip_label(again->item), clip),
		      spec_where(first->loc, again->loc, where));
}

static void check_eip_dups(struct ctx *c)
{
	struct keyset ks = { 0 };
	struct buf key = BUF_INIT;

	for (size_t i = 0; i < c->s->n_eips; i++) {
		const struct spec_eip *e = &c->s->eips[i];
		const char *label = spec_eip_label(e);

		if (!strcmp(label, "?"))
			continue;
		buf_addf(&key, "%d" SEP "%s", (int)e->ref, label);
		keyset_add(&ks, &key, e->loc, i, e, 0);
	}
	keyset_dups(&ks, eip_dup, c);
	keyset_release(&ks);
	buf_release(&key);
}

enum claim_type {
	CLAIM_INSTANCE, /* instance: ID [private_ip] */
	CLAIM_ENI,	/* network_interface: ID [private_ip] */
	CLAIM_CANDIDATE,
};

/* "the primary private IP of instance 'i-...'" and the like. */
static void target_label(const struct spec_eip *e, int type,
			 const char *instance, struct buf *out)
{
	if (type == CLAIM_ENI) {
		if (e->private_ip)
			buf_addf(out, "private IP %s of network interface '%s'",
				 e->private_ip, e->eni);
		else
			buf_addf(out,
				 "the primary private IP of network interface "
				 "'%s'",
				 e->eni);
		return;
	}
	if (type == CLAIM_INSTANCE && e->private_ip)
		buf_addf(out, "private IP %s of instance '%s'", e->private_ip,
			 instance);
	else
		buf_addf(out, "the primary private IP of instance '%s'",
			 instance);
}

static void claim_conflict(const struct keyed *first, const struct keyed *again,
			   void *p)
{
	struct ctx *c = p;
	const struct spec_eip *a = &c->s->eips[first->owner];
	const struct spec_eip *b = &c->s->eips[again->owner];
	const char *inst =
		again->type == CLAIM_CANDIDATE
			? ((const struct spec_candidate *)again->item)->instance
			: b->instance;
	char la[SPEC_CLIP_SIZE], lb[SPEC_CLIP_SIZE];
	struct buf target = BUF_INIT;
	unsigned line = first->loc.line;

	spec_clip(spec_eip_label(a), la);
	spec_clip(spec_eip_label(b), lb);
	if (first->owner == again->owner) {
		/* Only a failover block can name one instance twice. */
		char where[SPEC_WHERE_SIZE];

		spec_diag_add(c->d, SPEC_ERROR, again->loc,
			      "candidate '%s' is listed twice (first at %s)",
			      inst, spec_where(first->loc, again->loc, where));
		return;
	}
	target_label(b, again->type, inst, &target);
	if (first->type != CLAIM_CANDIDATE && again->type != CLAIM_CANDIDATE)
		spec_diag_add(c->d, SPEC_ERROR, again->loc,
			      "elastic IP '%s' is bound to %s, and so is '%s' "
			      "(line %u): one private IP holds one elastic IP",
			      lb, target.buf, la, line);
	else if (first->type != CLAIM_CANDIDATE)
		spec_diag_add(c->d, SPEC_ERROR, again->loc,
			      "failover candidate '%s' holds elastic IP '%s' "
			      "(line %u): moving '%s' there would silently "
			      "detach '%s', since %s holds one elastic IP",
			      inst, la, line, lb, la, target.buf);
	else if (again->type != CLAIM_CANDIDATE)
		spec_diag_add(c->d, SPEC_ERROR, again->loc,
			      "elastic IP '%s' is bound to instance '%s', a "
			      "failover candidate of '%s' (line %u): a "
			      "failover there would silently detach '%s', "
			      "since %s holds one elastic IP",
			      lb, inst, la, line, lb, target.buf);
	else
		spec_diag_add(c->d, SPEC_ERROR, again->loc,
			      "failover candidate '%s' is also a candidate of "
			      "elastic IP '%s' (line %u): one re-association "
			      "would silently detach the other address, since "
			      "%s holds one elastic IP",
			      inst, la, line, target.buf);
	buf_release(&target);
}

/*
 * An instance's primary private IP (or any one private IP) holds one
 * Elastic IP: AssociateAddress with AllowReassociation moves an address
 * onto it and silently detaches the one that was there.  So no two
 * addresses may claim the same private IP, and a failover candidate counts
 * as a claim on its primary IP, since the address may land there.  An
 * explicit, distinct private_ip is a different claim.
 */
static void check_bindings(struct ctx *c)
{
	struct keyset ks = { 0 };
	struct buf key = BUF_INIT;

	for (size_t i = 0; i < c->s->n_eips; i++) {
		const struct spec_eip *e = &c->s->eips[i];
		const struct spec_failover *fo = &e->failover;

		switch (e->bind) {
		case SPEC_BIND_INSTANCE:
			if (!e->instance)
				break;
			buf_addf(&key, "i" SEP "%s" SEP "%s", e->instance,
				 e->private_ip ? e->private_ip : "");
			keyset_add(&ks, &key, e->loc, i, e, CLAIM_INSTANCE);
			break;
		case SPEC_BIND_ENI:
			if (!e->eni)
				break;
			buf_addf(&key, "e" SEP "%s" SEP "%s", e->eni,
				 e->private_ip ? e->private_ip : "");
			keyset_add(&ks, &key, e->loc, i, e, CLAIM_ENI);
			break;
		case SPEC_BIND_FAILOVER:
			for (size_t j = 0; j < fo->n_candidates; j++) {
				const struct spec_candidate *cand =
					&fo->candidates[j];

				if (!cand->instance)
					continue;
				buf_addf(&key, "i" SEP "%s" SEP,
					 cand->instance);
				keyset_add(&ks, &key, cand->loc, i, cand,
					   CLAIM_CANDIDATE);
			}
			break;
		case SPEC_BIND_NONE:
			break;
		}
	}
	keyset_dups(&ks, claim_conflict, c);
	keyset_release(&ks);
	buf_release(&key);
}

void spec_check(const struct spec *s, struct spec_diags *d)
{
	struct ctx c = { s, d };

	check_lb_dups(&c);
	for (size_t i = 0; i < s->n_lbs; i++)
		check_members(&c, i);
	check_eip_dups(&c);
	check_bindings(&c);
}
