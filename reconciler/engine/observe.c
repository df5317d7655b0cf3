#include "reconciler/engine/observe.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconciler/engine/key.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/str.h"
#include "util/strv.h"
#include "util/banned.h"

#define DEFAULT_CONCURRENCY 8

/* --- read sets ------------------------------------------------------------ */

static void selector_release(struct rc_selector *s)
{
	prov_tag_array_free(s->tags, s->n_tags);
	free(s->states);
	free(s->key);
	memset(s, 0, sizeof(*s));
}

void rc_reads_release(struct rc_reads *r)
{
	if (!r)
		return;
	util_strv_free(r->instance_ids, r->n_instance_ids);
	for (size_t i = 0; i < r->n_selectors; i++)
		selector_release(&r->selectors[i]);
	free(r->selectors);
	util_strv_free(r->classic, r->n_classic);
	util_strv_free(r->tgs, r->n_tgs);
	util_strv_free(r->alloc_ids, r->n_alloc_ids);
	util_strv_free(r->public_ips, r->n_public_ips);
	util_strv_free(r->names, r->n_names);
	util_strv_free(r->eni_ids, r->n_eni_ids);
	for (size_t i = 0; i < r->n_tg_wants; i++) {
		free(r->tg_wants[i].tg);
		free(r->tg_wants[i].id);
		free(r->tg_wants[i].selector);
	}
	free(r->tg_wants);
	for (size_t i = 0; i < r->n_classic_wants; i++) {
		free(r->classic_wants[i].lb);
		free(r->classic_wants[i].id);
		free(r->classic_wants[i].selector);
	}
	free(r->classic_wants);
	memset(r, 0, sizeof(*r));
}

bool rc_reads_empty(const struct rc_reads *r)
{
	return !r->n_instance_ids && !r->n_selectors && !r->n_classic &&
	       !r->n_tgs && !r->n_alloc_ids && !r->n_public_ips &&
	       !r->n_names && !r->n_eni_ids && !r->identity;
}

static int cmp_tag(const void *a, const void *b)
{
	const struct prov_tag *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

static int cmp_state(const void *a, const void *b)
{
	int x = *(const enum prov_instance_state *)a;
	int y = *(const enum prov_instance_state *)b;

	return (x > y) - (x < y);
}

/*
 * Build a selector from spec tags and state names: tags sorted, states
 * parsed, sorted and de-duplicated (default: running), and a canonical key
 * such as "role=web,env=prod|running".
 */
static int selector_build(const struct spec_tag *tags, size_t n_tags,
			  char *const *states, size_t n_states,
			  struct rc_selector *ret, struct util_err *err)
{
	struct rc_selector s = { 0 };
	struct buf key = BUF_INIT;
	size_t out = 0;

	s.tags = util_xcalloc(n_tags ? n_tags : 1, sizeof(*s.tags));
	for (size_t i = 0; i < n_tags; i++) {
		s.tags[i].key = util_xstrdup(tags[i].key);
		s.tags[i].value = util_xstrdup(tags[i].value);
	}
	s.n_tags = n_tags;
	if (n_tags)
		qsort(s.tags, n_tags, sizeof(*s.tags), cmp_tag);
	s.states = util_xcalloc(n_states ? n_states : 1, sizeof(*s.states));
	for (size_t i = 0; i < n_states; i++) {
		s.states[i] = prov_instance_state_parse(states[i]);
		if (s.states[i] == PROV_INSTANCE_UNKNOWN) {
			selector_release(&s);
			return util_err_set(err, UTIL_EINVAL,
					    "unknown instance state '%s'",
					    states[i]);
		}
	}
	s.n_states = n_states;
	if (!n_states) {
		s.states[0] = PROV_INSTANCE_RUNNING;
		s.n_states = 1;
	}
	qsort(s.states, s.n_states, sizeof(*s.states), cmp_state);
	for (size_t i = 0; i < s.n_states; i++)
		if (!out || s.states[out - 1] != s.states[i])
			s.states[out++] = s.states[i];
	s.n_states = out;
	for (size_t i = 0; i < s.n_tags; i++)
		buf_addf(&key, "%s%s=%s", i ? "," : "", s.tags[i].key,
			 s.tags[i].value);
	buf_addch(&key, '|');
	for (size_t i = 0; i < s.n_states; i++)
		buf_addf(&key, "%s%s", i ? "," : "",
			 prov_instance_state_name(s.states[i]));
	s.key = buf_detach(&key, NULL);
	*ret = s;
	return 0;
}

char *rc_selector_key(const struct spec_tag *tags, size_t n_tags,
		      char *const *states, size_t n_states)
{
	struct rc_selector s;
	char *key;

	if (selector_build(tags, n_tags, states, n_states, &s, NULL) < 0)
		return util_xstrdup("?");
	key = s.key;
	s.key = NULL;
	selector_release(&s);
	return key;
}

int rc_reads_add_selector(struct rc_reads *r, const struct spec_tag *tags,
			  size_t n_tags, char *const *states, size_t n_states,
			  struct util_err *err)
{
	struct rc_selector s;

	if (selector_build(tags, n_tags, states, n_states, &s, err) < 0)
		return UTIL_EINVAL;
	for (size_t i = 0; i < r->n_selectors; i++) {
		if (!strcmp(r->selectors[i].key, s.key)) {
			selector_release(&s);
			return 0;
		}
	}
	r->selectors = util_xrealloc(r->selectors, (r->n_selectors +
						    1) * sizeof(*r->selectors));
	r->selectors[r->n_selectors++] = s;
	return 0;
}

static void tg_want_add(struct rc_reads *r, const struct spec_lb *lb,
			const struct spec_member *m)
{
	struct rc_tg_want *tw;

	r->tg_wants = util_xrealloc(r->tg_wants,
				    (r->n_tg_wants + 1) * sizeof(*r->tg_wants));
	tw = &r->tg_wants[r->n_tg_wants++];
	tw->tg = util_xstrdup(lb->name);
	tw->id = m->kind == SPEC_MEMBER_ID ? util_xstrdup(m->id) : NULL;
	tw->selector = m->kind == SPEC_MEMBER_SELECTOR
			       ? rc_selector_key(m->tags, m->n_tags, m->states,
						 m->n_states)
			       : NULL;
	tw->port = m->port;
}

static void classic_want_add(struct rc_reads *r, const struct spec_lb *lb,
			     const struct spec_member *m)
{
	struct rc_classic_want *cw;

	r->classic_wants = util_xrealloc(r->classic_wants,
					 (r->n_classic_wants + 1) *
						 sizeof(*r->classic_wants));
	cw = &r->classic_wants[r->n_classic_wants++];
	cw->lb = util_xstrdup(lb->name);
	cw->zones = lb->enable_zones;
	cw->id = m->kind == SPEC_MEMBER_ID ? util_xstrdup(m->id) : NULL;
	cw->selector = m->kind == SPEC_MEMBER_SELECTOR
			       ? rc_selector_key(m->tags, m->n_tags, m->states,
						 m->n_states)
			       : NULL;
}

int rc_reads_from_spec(struct rc_reads *r, const struct spec *s,
		       const bool *use_lb, const bool *use_eip,
		       struct util_err *err)
{
	for (size_t i = 0; i < s->n_lbs; i++) {
		const struct spec_lb *lb = &s->lbs[i];

		if (use_lb && !use_lb[i])
			continue;
		if (lb->kind == SPEC_LB_CLASSIC)
			util_strv_push(&r->classic, &r->n_classic, lb->name);
		else
			util_strv_push(&r->tgs, &r->n_tgs, lb->name);
		for (size_t k = 0; k < lb->n_members; k++) {
			const struct spec_member *m = &lb->members[k];

			if (lb->kind == SPEC_LB_TARGET_GROUP &&
			    m->kind != SPEC_MEMBER_IP)
				tg_want_add(r, lb, m);
			else if (lb->kind == SPEC_LB_CLASSIC &&
				 m->kind != SPEC_MEMBER_IP)
				classic_want_add(r, lb, m);
			if (m->kind == SPEC_MEMBER_ID) {
				util_strv_push(&r->instance_ids,
					       &r->n_instance_ids, m->id);
			} else if (m->kind == SPEC_MEMBER_SELECTOR) {
				if (rc_reads_add_selector(r, m->tags, m->n_tags,
							  m->states,
							  m->n_states, err) < 0)
					return util_err_set_loc(err, s->path,
								m->loc.line,
								m->loc.col,
								"%s", err->msg);
			}
		}
	}
	for (size_t i = 0; i < s->n_eips; i++) {
		const struct spec_eip *e = &s->eips[i];

		if (use_eip && !use_eip[i])
			continue;
		if (e->ref == SPEC_EIP_BY_ALLOCATION_ID)
			util_strv_push(&r->alloc_ids, &r->n_alloc_ids,
				       e->allocation_id);
		else if (e->ref == SPEC_EIP_BY_PUBLIC_IP)
			util_strv_push(&r->public_ips, &r->n_public_ips,
				       e->public_ip);
		else
			util_strv_push(&r->names, &r->n_names, e->name);
		switch (e->bind) {
		case SPEC_BIND_INSTANCE:
			util_strv_push(&r->instance_ids, &r->n_instance_ids,
				       e->instance);
			break;
		case SPEC_BIND_ENI:
			util_strv_push(&r->eni_ids, &r->n_eni_ids, e->eni);
			break;
		case SPEC_BIND_FAILOVER:
			for (size_t k = 0; k < e->failover.n_candidates; k++)
				util_strv_push(&r->instance_ids,
					       &r->n_instance_ids,
					       e->failover.candidates[k]
						       .instance);
			break;
		case SPEC_BIND_NONE:
			break;
		}
	}
	return 0;
}

int rc_reads_add_key(struct rc_reads *r, const char *key, struct util_err *err)
{
	struct rc_key k;

	if (rc_key_parse(key, &k, err) < 0)
		return UTIL_EINVAL;
	switch (k.kind) {
	case RC_KEY_INSTANCE:
		util_strv_push(&r->instance_ids, &r->n_instance_ids, k.value);
		break;
	case RC_KEY_ENI:
		util_strv_push(&r->eni_ids, &r->n_eni_ids, k.value);
		break;
	case RC_KEY_CLASSIC:
		util_strv_push(&r->classic, &r->n_classic, k.value);
		break;
	case RC_KEY_TARGET_GROUP:
		util_strv_push(&r->tgs, &r->n_tgs, k.value);
		break;
	case RC_KEY_EIP_ALLOC:
		util_strv_push(&r->alloc_ids, &r->n_alloc_ids, k.value);
		break;
	case RC_KEY_EIP_IP:
		util_strv_push(&r->public_ips, &r->n_public_ips, k.value);
		break;
	case RC_KEY_EIP_NAME:
		util_strv_push(&r->names, &r->n_names, k.value);
		break;
	}
	return 0;
}

static void reads_normalise(struct rc_reads *r)
{
	util_strv_sort_uniq(r->instance_ids, &r->n_instance_ids);
	util_strv_sort_uniq(r->classic, &r->n_classic);
	util_strv_sort_uniq(r->tgs, &r->n_tgs);
	util_strv_sort_uniq(r->alloc_ids, &r->n_alloc_ids);
	util_strv_sort_uniq(r->public_ips, &r->n_public_ips);
	util_strv_sort_uniq(r->names, &r->n_names);
	util_strv_sort_uniq(r->eni_ids, &r->n_eni_ids);
}

/* --- observing ------------------------------------------------------------ */

enum task_kind {
	T_INSTANCES,
	T_SELECTOR,
	T_CLASSIC,
	T_TGS,
	T_ADDRESSES,
	T_ENIS,
	T_IDENTITY,
	T_LBS,
	T_VPCS,
};

struct task {
	enum task_kind kind;
	size_t sel; /* T_SELECTOR */
	int r;
	struct util_err err;
	struct prov_instance_list instances;
	struct prov_classic_lb_list classic;
	struct prov_target_group_list tgs;
	struct prov_address_list addresses;
	struct prov_eni_list enis;
	struct prov_identity identity;
	struct prov_lb_list lbs;
	struct prov_vpc_list vpcs;
};

struct observe_ctx {
	struct prov *p;
	const struct rc_reads *r;
	struct task *tasks;
	char **lb_arns; /* T_LBS */
	size_t n_lb_arns;
	char **vpc_ids; /* T_VPCS */
	size_t n_vpc_ids;
};

/* Owns one read of the observe fan-out: the provider call of its kind, its
 * answer kept in the task, its error prefixed with what was read. */
static void run_task(void *arg, size_t i)
{
	struct observe_ctx *c = arg;
	struct task *t = &c->tasks[i];
	const struct rc_reads *r = c->r;
	struct prov *p = c->p;

	switch (t->kind) {
	case T_INSTANCES:
		t->r = p->ops->instances_by_id(p,
					       (const char *const *)
						       r->instance_ids,
					       r->n_instance_ids, &t->instances,
					       &t->err);
		util_err_prefix(&t->err, "describe instances");
		break;
	case T_SELECTOR: {
		const struct rc_selector *s = &r->selectors[t->sel];
		struct prov_selector sel = { .tags = s->tags,
					     .n_tags = s->n_tags,
					     .states = s->states,
					     .n_states = s->n_states };

		t->r = p->ops->instances_by_selector(p, &sel, &t->instances,
						     &t->err);
		util_err_prefix(&t->err, "describe instances matching %s",
				s->key);
		break;
	}
	case T_CLASSIC:
		t->r = p->ops->classic_lbs(p, (const char *const *)r->classic,
					   r->n_classic,
					   r->health_as_needed ||
							   r->no_classic_health
						   ? 0
						   : PROV_READ_HEALTH,
					   &t->classic, &t->err);
		util_err_prefix(&t->err, "describe classic load balancers");
		break;
	case T_TGS:
		/* No deregistration delay: no step uses it. */
		t->r = p->ops->target_groups(p, (const char *const *)r->tgs,
					     r->n_tgs, 0, &t->tgs, &t->err);
		util_err_prefix(&t->err, "describe target groups");
		break;
	case T_ADDRESSES: {
		struct prov_address_query q = {
			.allocation_ids = (const char *const *)r->alloc_ids,
			.n_allocation_ids = r->n_alloc_ids,
			.public_ips = (const char *const *)r->public_ips,
			.n_public_ips = r->n_public_ips,
			.names = (const char *const *)r->names,
			.n_names = r->n_names,
		};
		int kinds = !!r->n_alloc_ids + !!r->n_public_ips + !!r->n_names;

		/*
		 * Filters of different kinds are ANDed by EC2, and one filter
		 * takes RC_ADDRESS_FILTER_MAX values: past one filtered
		 * request, one unfiltered DescribeAddresses is fewer calls
		 * and, for an account whose addresses are mostly declared,
		 * fewer bytes.
		 */
		if (kinds > 1 || r->n_alloc_ids + r->n_public_ips + r->n_names >
					 RC_ADDRESS_FILTER_MAX)
			memset(&q, 0, sizeof(q));

		t->r = p->ops->addresses(p, &q, &t->addresses, &t->err);
		util_err_prefix(&t->err, "describe addresses");
		break;
	}
	case T_ENIS:
		t->r = p->ops->enis_by_id(p, (const char *const *)r->eni_ids,
					  r->n_eni_ids, &t->enis, &t->err);
		util_err_prefix(&t->err, "describe network interfaces");
		break;
	case T_IDENTITY:
		t->r = p->ops->identity(p, &t->identity, &t->err);
		util_err_prefix(&t->err, "get caller identity");
		break;
	case T_LBS:
		t->r = p->ops->lbs_v2(p, (const char *const *)c->lb_arns,
				      c->n_lb_arns, &t->lbs, &t->err);
		util_err_prefix(&t->err, "describe load balancers");
		break;
	case T_VPCS:
		t->r = p->ops->vpcs(p, (const char *const *)c->vpc_ids,
				    c->n_vpc_ids, &t->vpcs, &t->err);
		util_err_prefix(&t->err, "describe VPCs");
		break;
	}
}

static void task_release(struct task *t)
{
	prov_instance_list_release(&t->instances);
	prov_classic_lb_list_release(&t->classic);
	prov_target_group_list_release(&t->tgs);
	prov_address_list_release(&t->addresses);
	prov_eni_list_release(&t->enis);
	prov_identity_release(&t->identity);
	prov_lb_list_release(&t->lbs);
	prov_vpc_list_release(&t->vpcs);
}

static int cmp_instance(const void *a, const void *b)
{
	return strcmp(((const struct prov_instance *)a)->id,
		      ((const struct prov_instance *)b)->id);
}

static int cmp_eni(const void *a, const void *b)
{
	return strcmp(((const struct prov_eni *)a)->id,
		      ((const struct prov_eni *)b)->id);
}

/* Move every instance of src into dst (dst takes ownership). */
static void instances_take(struct prov_instance_list *dst,
			   struct prov_instance_list *src)
{
	if (!src->n)
		goto out;
	dst->v = util_xrealloc(dst->v, (dst->n + src->n) * sizeof(*dst->v));
	memcpy(dst->v + dst->n, src->v, src->n * sizeof(*src->v));
	dst->n += src->n;
out:
	free(src->v);
	memset(src, 0, sizeof(*src));
}

static void instances_sort_uniq(struct prov_instance_list *l)
{
	size_t out = 0;

	if (!l->n)
		return;
	qsort(l->v, l->n, sizeof(*l->v), cmp_instance);
	for (size_t i = 0; i < l->n; i++) {
		if (out && !strcmp(l->v[out - 1].id, l->v[i].id)) {
			prov_instance_release(&l->v[i]);
			continue;
		}
		l->v[out++] = l->v[i];
	}
	l->n = out;
}

static int cmp_group(const void *a, const void *b)
{
	const struct rc_obs_group *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->ref, y->ref);
}

static bool is_arn(const char *s)
{
	return util_starts_with(s, "arn:");
}

static const struct prov_target_group *find_tg(
	const struct prov_target_group_list *l, const char *ref)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct prov_target_group *tg = &l->v[i];

		if (is_arn(ref) ? util_streq(tg->arn, ref)
				: util_streq(tg->name, ref))
			return tg;
	}
	return NULL;
}

static const struct prov_classic_lb *find_classic(
	const struct prov_classic_lb_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (util_streq(l->v[i].name, name))
			return &l->v[i];
	return NULL;
}

static void build_selector_results(struct rc_world *w, const struct rc_reads *r,
				   struct task *tasks, size_t n_tasks)
{
	w->selectors = util_xcalloc(r->n_selectors ? r->n_selectors : 1,
				    sizeof(*w->selectors));
	for (size_t i = 0; i < n_tasks; i++) {
		struct task *t = &tasks[i];
		struct rc_obs_selector *s;

		if (t->kind != T_SELECTOR)
			continue;
		s = &w->selectors[w->n_selectors++];
		s->key = util_xstrdup(r->selectors[t->sel].key);
		for (size_t k = 0; k < t->instances.n; k++)
			util_strv_push(&s->ids, &s->n_ids,
				       t->instances.v[k].id);
		util_strv_sort_uniq(s->ids, &s->n_ids);
		instances_take(&w->instances, &t->instances);
	}
}

/* Whether instance id on port is a present target of tg. */
static bool tg_has(const struct prov_target_group *tg, const char *id, int port)
{
	for (size_t i = 0; i < tg->n_targets; i++)
		if (util_streq(tg->targets[i].id, id) &&
		    tg->targets[i].port == port &&
		    rc_target_present(&tg->targets[i]))
			return true;
	return false;
}

/* Whether the planner will register one of tw's instances with its group. */
static bool tg_want_missing(const struct rc_world *w,
			    const struct rc_tg_want *tw,
			    const struct prov_target_group **ret_tg)
{
	const struct rc_obs_group *g = rc_world_group(w, SPEC_LB_TARGET_GROUP,
						      tw->tg);
	const struct rc_obs_selector *sel;
	int port;

	if (!g || !g->tg || g->tg->target_type != PROV_TARGET_INSTANCE ||
	    !g->tg->n_lb_arns)
		return false;
	*ret_tg = g->tg;
	port = tw->port ? tw->port : g->tg->port;
	if (tw->id)
		return !tg_has(g->tg, tw->id, port);
	sel = rc_world_selector(w, tw->selector);
	for (size_t i = 0; sel && i < sel->n_ids; i++)
		if (!tg_has(g->tg, sel->ids[i], port))
			return true;
	return false;
}

/* Whether the planner would enable a zone for instance id on lb. */
static bool classic_needs_zone(const struct rc_world *w,
			       const struct prov_classic_lb *lb, const char *id)
{
	const struct prov_instance *in = rc_world_instance(w, id);

	for (size_t i = 0; i < lb->n_members; i++)
		if (util_streq(lb->members[i].instance_id, id) &&
		    rc_classic_member_present(&lb->members[i]))
			return false;
	if (!in || !in->az || in->state != PROV_INSTANCE_RUNNING ||
	    !util_streq(in->vpc_id, lb->vpc_id))
		return false;
	for (size_t i = 0; i < lb->n_azs; i++)
		if (util_streq(lb->azs[i], in->az))
			return false;
	return true;
}

/* The VPC of cw's ELB when the planner would enable a zone there. */
static const char *classic_want_vpc(const struct rc_world *w,
				    const struct rc_classic_want *cw)
{
	const struct rc_obs_group *g = rc_world_group(w, SPEC_LB_CLASSIC,
						      cw->lb);
	const struct rc_obs_selector *sel;

	if (!cw->zones || !g || !g->classic || !g->classic->vpc_id)
		return NULL;
	if (cw->id)
		return classic_needs_zone(w, g->classic, cw->id)
			       ? g->classic->vpc_id
			       : NULL;
	sel = rc_world_selector(w, cw->selector);
	for (size_t i = 0; sel && i < sel->n_ids; i++)
		if (classic_needs_zone(w, g->classic, sel->ids[i]))
			return g->classic->vpc_id;
	return NULL;
}

/* What the zone checks need to read: ELBv2 ARNs and VPC ids. */
static void zone_reads(const struct rc_reads *r, const struct rc_world *w,
		       struct observe_ctx *ctx)
{
	for (size_t i = 0; i < r->n_tg_wants; i++) {
		const struct prov_target_group *tg = NULL;

		if (!tg_want_missing(w, &r->tg_wants[i], &tg))
			continue;
		for (size_t k = 0; k < tg->n_lb_arns; k++)
			util_strv_push(&ctx->lb_arns, &ctx->n_lb_arns,
				       tg->lb_arns[k]);
	}
	util_strv_sort_uniq(ctx->lb_arns, &ctx->n_lb_arns);
	for (size_t i = 0; i < r->n_classic_wants; i++) {
		const char *vpc = classic_want_vpc(w, &r->classic_wants[i]);

		if (vpc)
			util_strv_push(&ctx->vpc_ids, &ctx->n_vpc_ids, vpc);
	}
	util_strv_sort_uniq(ctx->vpc_ids, &ctx->n_vpc_ids);
}

/*
 * What the zone checks need, in at most two calls after the others (they
 * need their answers), run together: the zones of the load balancers of
 * the target groups the planner will register instances with, and the
 * VPCs of the Classic ELBs it would enable a zone on.  No call when no
 * such registration is coming.
 */
static int observe_zones(struct prov *p, const struct rc_reads *r,
			 struct rc_world *w, struct util_err *err)
{
	struct task t[2] = { { .kind = T_LBS }, { .kind = T_VPCS } };
	struct observe_ctx ctx = { .p = p, .r = r, .tasks = t };
	size_t n = 0;
	int rv = 0;

	zone_reads(r, w, &ctx);
	if (ctx.n_lb_arns)
		t[n++].kind = T_LBS;
	if (ctx.n_vpc_ids)
		t[n++].kind = T_VPCS;
	if (!n)
		goto out;
	util_parallel(n, 2, run_task, &ctx);
	w->n_calls += n;
	for (size_t i = 0; i < n; i++) {
		if (t[i].r < 0) {
			util_err_copy(err, &t[i].err);
			rv = t[i].r;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (t[i].kind == T_LBS) {
			w->lbs = t[i].lbs;
			memset(&t[i].lbs, 0, sizeof(t[i].lbs));
		} else {
			w->vpcs = t[i].vpcs;
			memset(&t[i].vpcs, 0, sizeof(t[i].vpcs));
		}
	}
out:
	task_release(&t[0]);
	task_release(&t[1]);
	util_strv_free(ctx.lb_arns, ctx.n_lb_arns);
	util_strv_free(ctx.vpc_ids, ctx.n_vpc_ids);
	return rv;
}

/* Whether cw declares instance id for its ELB. */
static bool classic_declares(const struct rc_world *w,
			     const struct rc_classic_want *cw, const char *id)
{
	const struct rc_obs_selector *sel;

	if (cw->id)
		return util_streq(cw->id, id);
	sel = rc_world_selector(w, cw->selector);
	for (size_t i = 0; sel && i < sel->n_ids; i++)
		if (util_streq(sel->ids[i], id))
			return true;
	return false;
}

/*
 * Whether a step planned for lb would need its members' health: one of
 * them is not declared, or its instance is not running (a deregistration,
 * its min_healthy check and the wait before it).
 */
static bool classic_needs_health(const struct rc_reads *r,
				 const struct rc_world *w,
				 const struct prov_classic_lb *lb)
{
	for (size_t i = 0; i < lb->n_members; i++) {
		const char *id = lb->members[i].instance_id;
		const struct prov_instance *in = rc_world_instance(w, id);
		bool declared = false;

		for (size_t k = 0; k < r->n_classic_wants && !declared; k++)
			declared = util_streq(r->classic_wants[k].lb,
					      lb->name) &&
				   classic_declares(w, &r->classic_wants[k],
						    id);
		if (!declared || !in || in->state != PROV_INSTANCE_RUNNING)
			return true;
	}
	return false;
}

struct health_ctx {
	struct prov *p;
	struct prov_classic_lb **lbs;
	struct util_err *errs;
	int *rs;
};

/*
 * One ELB's health read, its members replaced by what it lists.  An ELB
 * deleted since classic_lbs listed it is left as listed: its steps fail
 * or find it gone when they run.
 */
static void run_health(void *arg, size_t i)
{
	struct health_ctx *c = arg;
	struct prov_classic_lb *lb = c->lbs[i];
	struct prov_classic_lb h = { 0 };
	int r = c->p->ops->classic_health(c->p, lb->name, &h, &c->errs[i]);

	if (r == 0) {
		for (size_t k = 0; k < lb->n_members; k++)
			prov_classic_member_release(&lb->members[k]);
		free(lb->members);
		lb->members = h.members;
		lb->n_members = h.n_members;
		h.members = NULL;
		h.n_members = 0;
	} else if (c->errs[i].code == UTIL_ENOTFOUND) {
		util_err_clear(&c->errs[i]);
		r = 0;
	}
	prov_classic_lb_release(&h);
	c->rs[i] = r;
	util_err_prefix(&c->errs[i], "describe instance health");
}

/*
 * With r->health_as_needed, the health of the Classic ELBs that need it
 * (classic_needs_health), one call each, run together; none otherwise.
 */
static int observe_classic_health(struct prov *p, const struct rc_reads *r,
				  struct rc_world *w, unsigned conc,
				  struct util_err *err)
{
	struct health_ctx c = { .p = p };
	size_t n = 0;
	int rv = 0;

	if (!r->health_as_needed || r->no_classic_health || !w->classic.n)
		return 0;
	c.lbs = util_xcalloc(w->classic.n, sizeof(*c.lbs));
	for (size_t i = 0; i < w->classic.n; i++)
		if (classic_needs_health(r, w, &w->classic.v[i]))
			c.lbs[n++] = &w->classic.v[i];
	c.errs = util_xcalloc(n + 1, sizeof(*c.errs));
	c.rs = util_xcalloc(n + 1, sizeof(*c.rs));
	util_parallel(n, conc, run_health, &c);
	w->n_calls += n;
	for (size_t i = 0; i < n; i++) {
		if (c.rs[i] < 0 && !rv) {
			util_err_copy(err, &c.errs[i]);
			rv = c.rs[i];
		}
		util_err_clear(&c.errs[i]);
	}
	free(c.lbs);
	free(c.errs);
	free(c.rs);
	return rv;
}

/*
 * The reads r needs, one task each (selectors one each); returns how
 * many.  The groups come before the selectors: the tasks start in this
 * order, and the ELB reads (a DescribeTargetHealth per target group,
 * paced by the account-wide ELB bucket) are the long pole of a large
 * plan, so they start at once rather than behind dozens of selectors.
 */
static size_t plan_tasks(const struct rc_reads *r, struct task *tasks)
{
	size_t n = 0;

	if (r->n_instance_ids)
		tasks[n++].kind = T_INSTANCES;
	if (r->n_classic)
		tasks[n++].kind = T_CLASSIC;
	if (r->n_tgs)
		tasks[n++].kind = T_TGS;
	for (size_t i = 0; i < r->n_selectors; i++) {
		tasks[n].kind = T_SELECTOR;
		tasks[n++].sel = i;
	}
	if (r->n_alloc_ids || r->n_public_ips || r->n_names)
		tasks[n++].kind = T_ADDRESSES;
	if (r->n_eni_ids)
		tasks[n++].kind = T_ENIS;
	if (r->identity)
		tasks[n++].kind = T_IDENTITY;
	return n;
}

/* Move each task's answer into w (selectors were taken already). */
static void take_results(struct rc_world *w, struct task *tasks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct task *t = &tasks[i];

		switch (t->kind) {
		case T_INSTANCES:
			instances_take(&w->instances, &t->instances);
			break;
		case T_CLASSIC:
			w->classic = t->classic;
			memset(&t->classic, 0, sizeof(t->classic));
			break;
		case T_TGS:
			w->tgs = t->tgs;
			memset(&t->tgs, 0, sizeof(t->tgs));
			break;
		case T_ADDRESSES:
			w->addresses = t->addresses;
			memset(&t->addresses, 0, sizeof(t->addresses));
			break;
		case T_ENIS:
			w->enis = t->enis;
			memset(&t->enis, 0, sizeof(t->enis));
			break;
		case T_IDENTITY:
			w->identity = t->identity;
			memset(&t->identity, 0, sizeof(t->identity));
			w->have_identity = true;
			break;
		case T_SELECTOR:
		case T_LBS:
		case T_VPCS:
			break;
		}
	}
}

/* One observed group per group read, Classic ELBs first, refs sorted. */
static void build_groups(struct rc_world *w, const struct rc_reads *r)
{
	w->groups = util_xcalloc(r->n_classic + r->n_tgs + 1,
				 sizeof(*w->groups));
	for (size_t i = 0; i < r->n_classic; i++) {
		struct rc_obs_group *g = &w->groups[w->n_groups++];

		g->kind = SPEC_LB_CLASSIC;
		g->ref = util_xstrdup(r->classic[i]);
		g->classic = find_classic(&w->classic, g->ref);
	}
	for (size_t i = 0; i < r->n_tgs; i++) {
		struct rc_obs_group *g = &w->groups[w->n_groups++];

		g->kind = SPEC_LB_TARGET_GROUP;
		g->ref = util_xstrdup(r->tgs[i]);
		g->tg = find_tg(&w->tgs, g->ref);
	}
}

int rc_observe(struct prov *p, struct rc_reads *r,
	       const struct rc_observe_opts *opts, struct rc_world *ret,
	       struct util_err *err)
{
	struct rc_world w = { 0 };
	struct task *tasks;
	size_t n;
	unsigned conc = opts && opts->concurrency ? opts->concurrency
						  : DEFAULT_CONCURRENCY;
	struct observe_ctx ctx;
	int rv = 0;

	reads_normalise(r);
	tasks = util_xcalloc(7 + r->n_selectors, sizeof(*tasks));
	n = plan_tasks(r, tasks);
	ctx.p = p;
	ctx.r = r;
	ctx.tasks = tasks;
	util_parallel(n, conc, run_task, &ctx);

	for (size_t i = 0; i < n; i++) {
		if (tasks[i].r < 0) {
			util_err_copy(err, &tasks[i].err);
			rv = tasks[i].r;
			goto out;
		}
	}

	w.n_calls = n;
	build_selector_results(&w, r, tasks, n);
	take_results(&w, tasks, n);
	instances_sort_uniq(&w.instances);
	if (w.enis.n)
		qsort(w.enis.v, w.enis.n, sizeof(*w.enis.v), cmp_eni);
	build_groups(&w, r);
	if ((rv = observe_classic_health(p, r, &w, conc, err)) < 0 ||
	    (rv = observe_zones(p, r, &w, err)) < 0)
		goto out;
	*ret = w;
	memset(&w, 0, sizeof(w));
out:
	for (size_t i = 0; i < n; i++)
		task_release(&tasks[i]);
	free(tasks);
	rc_world_release(&w);
	return rv;
}

void rc_world_release(struct rc_world *w)
{
	if (!w)
		return;
	prov_instance_list_release(&w->instances);
	prov_eni_list_release(&w->enis);
	prov_address_list_release(&w->addresses);
	prov_classic_lb_list_release(&w->classic);
	prov_target_group_list_release(&w->tgs);
	prov_lb_list_release(&w->lbs);
	prov_vpc_list_release(&w->vpcs);
	for (size_t i = 0; i < w->n_groups; i++)
		free(w->groups[i].ref);
	free(w->groups);
	for (size_t i = 0; i < w->n_selectors; i++) {
		free(w->selectors[i].key);
		util_strv_free(w->selectors[i].ids, w->selectors[i].n_ids);
	}
	free(w->selectors);
	prov_identity_release(&w->identity);
	memset(w, 0, sizeof(*w));
}

/* --- lookups -------------------------------------------------------------- */

const struct prov_instance *rc_world_instance(const struct rc_world *w,
					      const char *id)
{
	struct prov_instance key = { .id = (char *)(uintptr_t)id };

	if (!id || !w->instances.n)
		return NULL;
	return bsearch(&key, w->instances.v, w->instances.n,
		       sizeof(*w->instances.v), cmp_instance);
}

const struct prov_eni *rc_world_eni(const struct rc_world *w, const char *id)
{
	struct prov_eni key = { .id = (char *)(uintptr_t)id };

	if (!id || !w->enis.n)
		return NULL;
	return bsearch(&key, w->enis.v, w->enis.n, sizeof(*w->enis.v), cmp_eni);
}

const struct rc_obs_group *rc_world_group(const struct rc_world *w,
					  enum spec_lb_kind kind,
					  const char *ref)
{
	struct rc_obs_group key = { .kind = kind,
				    .ref = (char *)(uintptr_t)ref };

	if (!ref || !w->n_groups)
		return NULL;
	return bsearch(&key, w->groups, w->n_groups, sizeof(*w->groups),
		       cmp_group);
}

const struct rc_obs_selector *rc_world_selector(const struct rc_world *w,
						const char *key)
{
	for (size_t i = 0; i < w->n_selectors; i++)
		if (!strcmp(w->selectors[i].key, key))
			return &w->selectors[i];
	return NULL;
}

const struct prov_lb *rc_world_lb(const struct rc_world *w, const char *arn)
{
	for (size_t i = 0; arn && i < w->lbs.n; i++)
		if (util_streq(w->lbs.v[i].arn, arn))
			return &w->lbs.v[i];
	return NULL;
}

const struct prov_vpc *rc_world_vpc(const struct rc_world *w, const char *id)
{
	for (size_t i = 0; id && i < w->vpcs.n; i++)
		if (util_streq(w->vpcs.v[i].id, id))
			return &w->vpcs.v[i];
	return NULL;
}

static bool address_matches(const struct prov_address *a, enum spec_eip_ref ref,
			    const char *value)
{
	switch (ref) {
	case SPEC_EIP_BY_ALLOCATION_ID:
		return util_streq(a->allocation_id, value);
	case SPEC_EIP_BY_PUBLIC_IP:
		return util_streq(a->public_ip, value);
	case SPEC_EIP_BY_NAME:
		return util_streq(prov_tag_get(a->tags, a->n_tags, "Name"),
				  value);
	}
	return false;
}

const struct prov_address *rc_world_address(const struct rc_world *w,
					    enum spec_eip_ref ref,
					    const char *value, size_t *ret_n)
{
	const struct prov_address *first = NULL;
	size_t n = 0;

	for (size_t i = 0; value && i < w->addresses.n; i++) {
		if (address_matches(&w->addresses.v[i], ref, value)) {
			if (!first)
				first = &w->addresses.v[i];
			n++;
		}
	}
	if (ret_n)
		*ret_n = n;
	return first;
}

/* --- membership ----------------------------------------------------------- */

bool rc_target_present(const struct prov_target *t)
{
	if (t->health == PROV_HEALTH_DRAINING)
		return false;
	if (t->health == PROV_HEALTH_UNUSED &&
	    util_streq(t->reason, "Target.NotRegistered"))
		return false;
	return true;
}

bool rc_classic_member_present(const struct prov_classic_member *m)
{
	return m->health != PROV_HEALTH_DRAINING;
}

bool rc_health_counts(enum prov_health h)
{
	return h == PROV_HEALTH_HEALTHY || h == PROV_HEALTH_UNAVAILABLE;
}

char *rc_member_key(enum spec_lb_kind kind, const char *id, int port)
{
	if (kind == SPEC_LB_CLASSIC)
		return util_xstrdup(id);
	return util_xasprintf("%s:%d", id, port);
}

void rc_group_members(const struct rc_obs_group *g, char ***ret, size_t *ret_n)
{
	char **v = NULL;
	size_t n = 0;

	if (g && g->classic) {
		for (size_t i = 0; i < g->classic->n_members; i++) {
			const struct prov_classic_member *m =
				&g->classic->members[i];

			if (rc_classic_member_present(m))
				util_strv_push(&v, &n, m->instance_id);
		}
	} else if (g && g->tg) {
		for (size_t i = 0; i < g->tg->n_targets; i++) {
			const struct prov_target *t = &g->tg->targets[i];

			if (!rc_target_present(t))
				continue;
			v = util_xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = rc_member_key(SPEC_LB_TARGET_GROUP, t->id,
					       t->port);
		}
	}
	util_strv_sort_uniq(v, &n);
	*ret = v;
	*ret_n = n;
}

/* --- keys and fingerprints ------------------------------------------------ */

static void field(struct util_sha256 *h, const char *s)
{
	/* NULL and "" must differ: \x01 marks a missing optional field. */
	util_sha256_field(h, s ? s : "\x01");
}

static void field_int(struct util_sha256 *h, long v)
{
	char tmp[32];

	if (snprintf(tmp, sizeof(tmp), "%ld", v) < 0)
		tmp[0] = '\0';
	util_sha256_field(h, tmp);
}

static void fp_absent(const char *key, char out[UTIL_SHA256_HEX_SIZE])
{
	struct util_sha256 h;

	util_sha256_init(&h);
	field(&h, "absent");
	field(&h, key);
	util_sha256_final_hex(&h, out);
}

static void fp_eni_fields(struct util_sha256 *h, const struct prov_eni *e)
{
	field(h, e->id);
	field(h, e->vpc_id);
	field(h, e->instance_id);
	field_int(h, e->device_index);
	field_int(h, (long)e->n_private_ips);
	for (size_t i = 0; i < e->n_private_ips; i++)
		field(h, e->private_ips[i]);
}

static void fp_instance(const struct prov_instance *in,
			char out[UTIL_SHA256_HEX_SIZE])
{
	struct util_sha256 h;

	util_sha256_init(&h);
	field(&h, "instance");
	field(&h, in->id);
	field(&h, prov_instance_state_name(in->state));
	field(&h, in->vpc_id);
	field(&h, in->subnet_id);
	field(&h, in->az);
	field(&h, in->private_ip);
	field_int(&h, (long)in->n_enis);
	for (size_t i = 0; i < in->n_enis; i++)
		fp_eni_fields(&h, &in->enis[i]);
	util_sha256_final_hex(&h, out);
}

static void fp_eni(const struct prov_eni *e, char out[UTIL_SHA256_HEX_SIZE])
{
	struct util_sha256 h;

	util_sha256_init(&h);
	field(&h, "eni");
	fp_eni_fields(&h, e);
	util_sha256_final_hex(&h, out);
}

/* The sorted distinct union of a Classic ELB's zones and more. */
static void fp_zones(struct util_sha256 *h, const struct prov_classic_lb *lb,
		     char *const *more, size_t n_more)
{
	char **z = util_xcalloc(lb->n_azs + n_more + 1, sizeof(*z));
	size_t n = 0;

	for (size_t i = 0; i < lb->n_azs; i++)
		z[n++] = util_xstrdup(lb->azs[i]);
	for (size_t i = 0; i < n_more; i++)
		z[n++] = util_xstrdup(more[i]);
	util_strv_sort_uniq(z, &n);
	field_int(h, (long)n);
	for (size_t i = 0; i < n; i++)
		field(h, z[i]);
	util_strv_free(z, n);
}

void rc_fp_group_members(const struct rc_obs_group *g,
			 char *const *sorted_members, size_t n,
			 char out[UTIL_SHA256_HEX_SIZE])
{
	rc_fp_group_zones(g, NULL, 0, sorted_members, n, out);
}

void rc_fp_group_zones(const struct rc_obs_group *g, char *const *zones,
		       size_t n_zones, char *const *sorted_members, size_t n,
		       char out[UTIL_SHA256_HEX_SIZE])
{
	struct util_sha256 h;

	util_sha256_init(&h);
	field(&h, "group");
	field(&h, g->kind == SPEC_LB_CLASSIC ? "classic" : "tg");
	field(&h, g->ref);
	if (g->classic) {
		field(&h, g->classic->vpc_id);
		fp_zones(&h, g->classic, zones, n_zones);
	} else if (g->tg) {
		field(&h, g->tg->arn);
		field(&h, g->tg->vpc_id);
		field(&h, prov_target_type_name(g->tg->target_type));
		field_int(&h, g->tg->port);
	} else {
		field(&h, "absent");
	}
	field_int(&h, (long)n);
	for (size_t i = 0; i < n; i++)
		field(&h, sorted_members[i]);
	util_sha256_final_hex(&h, out);
}

static void fp_group(const struct rc_obs_group *g,
		     char out[UTIL_SHA256_HEX_SIZE])
{
	char **m;
	size_t n;

	rc_group_members(g, &m, &n);
	rc_fp_group_members(g, m, n, out);
	util_strv_free(m, n);
}

static void fp_address(const struct rc_world *w, enum spec_eip_ref ref,
		       const char *value, const char *key,
		       char out[UTIL_SHA256_HEX_SIZE])
{
	struct util_sha256 h;
	size_t n;
	const struct prov_address *a = rc_world_address(w, ref, value, &n);

	if (!a) {
		fp_absent(key, out);
		return;
	}
	util_sha256_init(&h);
	field(&h, "address");
	field(&h, key);
	field_int(&h, (long)n);
	field(&h, a->allocation_id);
	field(&h, a->public_ip);
	field(&h, a->domain);
	field(&h, a->instance_id);
	field(&h, a->eni_id);
	field(&h, a->private_ip);
	util_sha256_final_hex(&h, out);
}

int rc_fingerprint(const struct rc_world *w, const char *key,
		   char out[UTIL_SHA256_HEX_SIZE], struct util_err *err)
{
	struct rc_key k;

	if (rc_key_parse(key, &k, err) < 0)
		return UTIL_EINVAL;
	if (k.kind == RC_KEY_INSTANCE) {
		const struct prov_instance *in = rc_world_instance(w, k.value);

		if (in)
			fp_instance(in, out);
		else
			fp_absent(key, out);
	} else if (k.kind == RC_KEY_ENI) {
		const struct prov_eni *e = rc_world_eni(w, k.value);

		if (e)
			fp_eni(e, out);
		else
			fp_absent(key, out);
	} else if (rc_key_kind_is_group(k.kind)) {
		enum spec_lb_kind kind = rc_key_lb_kind(k.kind);
		const struct rc_obs_group *g = rc_world_group(w, kind, k.value);
		struct rc_obs_group absent = {
			.kind = kind, .ref = (char *)(uintptr_t)k.value
		};

		fp_group(g ? g : &absent, out);
	} else {
		fp_address(w, rc_key_eip_ref(k.kind), k.value, key, out);
	}
	return 0;
}
