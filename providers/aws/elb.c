#include "providers/aws/ops.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/xml.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/str.h"
#include "util/strv.h"
#include "util/banned.h"

/*
 * Classic ELB (API 2012-06-01), Query protocol: answers are
 * <ActionResponse><ActionResult>...</ActionResult>, lists are
 * <Name><member>...</member></Name>, pagination is Marker / NextMarker.
 */

static const char *elb_version(void)
{
	return awsp_service(AWSP_SVC_ELB)->api_version;
}

/* --- DescribeLoadBalancers ------------------------------------------------ */

#define P_LB "DescribeLoadBalancersResult/LoadBalancerDescriptions/member"

struct lb_parse {
	struct prov_classic_lb_list *out;
	size_t alloc;
	struct prov_classic_lb *cur;
	char *next;
};

static int lb_start(void *ctx, const char *path, struct util_err *err)
{
	struct lb_parse *p = ctx;

	(void)err;
	if (!strcmp(path, P_LB)) {
		UTIL_GROW(p->out->v, p->alloc, p->out->n + 1);
		p->cur = &p->out->v[p->out->n++];
		memset(p->cur, 0, sizeof(*p->cur));
	}
	return 0;
}

/*
 * A member as DescribeLoadBalancers lists it: its health stays unknown
 * until DescribeInstanceHealth is read (which replaces the list).
 */
static void lb_add_member(struct prov_classic_lb *lb, const char *id)
{
	lb->members = util_xrealloc(lb->members,
				    (lb->n_members + 1) * sizeof(*lb->members));
	memset(&lb->members[lb->n_members], 0, sizeof(*lb->members));
	lb->members[lb->n_members++].instance_id = util_xstrdup(id);
}

static int lb_text(void *ctx, const char *path, const char *text, size_t len,
		   struct util_err *err)
{
	struct lb_parse *p = ctx;
	struct prov_classic_lb *lb = p->cur;
	const char *rel;

	(void)len;
	(void)err;
	if (!strcmp(path, "DescribeLoadBalancersResult/NextMarker")) {
		awsp_set_str(&p->next, text);
		return 0;
	}
	if (!lb || !(rel = awsp_xml_under(path, P_LB)))
		return 0;
	if (!strcmp(rel, "LoadBalancerName"))
		awsp_set_str(&lb->name, text);
	else if (!strcmp(rel, "DNSName"))
		awsp_set_str(&lb->dns_name, text);
	else if (!strcmp(rel, "VPCId"))
		awsp_set_str(&lb->vpc_id, text);
	else if (!strcmp(rel, "AvailabilityZones/member") && *text)
		util_strv_push(&lb->azs, &lb->n_azs, text);
	else if (!strcmp(rel, "Instances/member/InstanceId") && *text)
		lb_add_member(lb, text);
	return 0;
}

static int lb_end(void *ctx, const char *path, struct util_err *err)
{
	struct lb_parse *p = ctx;

	if (p->cur && !strcmp(path, P_LB)) {
		if (!p->cur->name)
			return util_err_set(err, UTIL_EINVAL,
					    "load balancer without "
					    "LoadBalancerName");
		p->cur = NULL;
	}
	return 0;
}

int awsp_elb_parse_load_balancers(const char *xml, size_t len,
				  struct prov_classic_lb_list *out,
				  char **ret_next, struct util_err *err)
{
	static const struct awsp_xml_handler h = { .start = lb_start,
						   .text = lb_text,
						   .end = lb_end };
	struct lb_parse p = { .out = out, .alloc = out->n };
	size_t n0 = out->n;
	int r;

	r = awsp_parse_page(xml, len, "DescribeLoadBalancersResponse", &h, &p,
			    &p.next, ret_next, err);
	while (r < 0 && out->n > n0)
		prov_classic_lb_release(&out->v[--out->n]);
	return r;
}

/* --- DescribeInstanceHealth ----------------------------------------------- */

#define P_HEALTH "DescribeInstanceHealthResult/InstanceStates/member"

struct health_parse {
	struct prov_classic_lb *lb;
	size_t alloc;
	struct prov_classic_member *cur;
};

static int health_start(void *ctx, const char *path, struct util_err *err)
{
	struct health_parse *p = ctx;

	(void)err;
	if (!strcmp(path, P_HEALTH)) {
		UTIL_GROW(p->lb->members, p->alloc, p->lb->n_members + 1);
		p->cur = &p->lb->members[p->lb->n_members++];
		memset(p->cur, 0, sizeof(*p->cur));
	}
	return 0;
}

static int health_text(void *ctx, const char *path, const char *text,
		       size_t len, struct util_err *err)
{
	struct health_parse *p = ctx;
	struct prov_classic_member *m = p->cur;
	const char *rel;

	(void)len;
	(void)err;
	if (!m || !(rel = awsp_xml_under(path, P_HEALTH)))
		return 0;
	if (!strcmp(rel, "InstanceId"))
		awsp_set_str(&m->instance_id, text);
	else if (!strcmp(rel, "State"))
		awsp_set_str(&m->state, text);
	else if (!strcmp(rel, "ReasonCode"))
		awsp_set_str(&m->reason_code, text);
	else if (!strcmp(rel, "Description"))
		awsp_set_str(&m->description, text);
	return 0;
}

/* Classic State + Description to the provider scale. */
static enum prov_health health_from_classic(const char *state,
					    const char *description)
{
	if (!state)
		return PROV_HEALTH_UNKNOWN;
	if (!strcmp(state, "InService"))
		return PROV_HEALTH_HEALTHY;
	if (!strcmp(state, "OutOfService")) {
		/*
		 * Classic ELB has no "initial" state; a fresh registration is
		 * OutOfService with this description until the first checks
		 * pass.  Distinguishing it lets waits report progress.
		 */
		if (description &&
		    strstr(description, "registration is still in progress"))
			return PROV_HEALTH_INITIAL;
		if (description &&
		    strstr(description, "deregistration currently in progress"))
			return PROV_HEALTH_DRAINING;
		return PROV_HEALTH_UNHEALTHY;
	}
	return PROV_HEALTH_UNKNOWN;
}

static int health_end(void *ctx, const char *path, struct util_err *err)
{
	struct health_parse *p = ctx;

	if (p->cur && !strcmp(path, P_HEALTH)) {
		if (!p->cur->instance_id)
			return util_err_set(
				err, UTIL_EINVAL,
				"instance state without InstanceId");
		p->cur->health = health_from_classic(p->cur->state,
						     p->cur->description);
		p->cur = NULL;
	}
	return 0;
}

int awsp_elb_parse_instance_health(const char *xml, size_t len,
				   struct prov_classic_lb *lb,
				   struct util_err *err)
{
	static const struct awsp_xml_handler h = { .start = health_start,
						   .text = health_text,
						   .end = health_end };
	struct prov_classic_lb tmp = { 0 };
	struct health_parse p = { .lb = &tmp };
	int r;

	r = awsp_xml_parse(xml, len, "DescribeInstanceHealthResponse", &h, &p,
			   err);
	if (r < 0) {
		for (size_t i = 0; i < tmp.n_members; i++)
			prov_classic_member_release(&tmp.members[i]);
		free(tmp.members);
		return r;
	}
	for (size_t i = 0; i < lb->n_members; i++)
		prov_classic_member_release(&lb->members[i]);
	free(lb->members);
	lb->members = tmp.members;
	lb->n_members = tmp.n_members;
	return 0;
}

/* --- Register / Deregister answers ---------------------------------------- */

struct inst_count {
	const char *result;
	size_t n;
};

static int count_text(void *ctx, const char *path, const char *text, size_t len,
		      struct util_err *err)
{
	struct inst_count *p = ctx;
	const char *rel = awsp_xml_under(path, p->result);

	(void)text;
	(void)len;
	(void)err;
	if (rel && !strcmp(rel, "Instances/member/InstanceId"))
		p->n++;
	return 0;
}

int awsp_elb_parse_instances(const char *xml, size_t len, const char *root,
			     size_t *ret_count, struct util_err *err)
{
	static const struct awsp_xml_handler h = { .text = count_text };
	char result[96];
	size_t rl = strlen(root);
	struct inst_count p = { .result = result };
	int r;

	/* FooResponse -> FooResult */
	if (rl < 8 || rl > sizeof(result) - 1 ||
	    strcmp(root + rl - 8, "Response"))
		return util_err_set(err, UTIL_EINVAL, "bad root '%s'", root);
	if (snprintf(result, sizeof(result), "%.*sResult", (int)(rl - 8),
		     root) < 0)
		return UTIL_EFAIL;
	r = awsp_xml_parse(xml, len, root, &h, &p, err);
	if (r == 0 && ret_count)
		*ret_count = p.n;
	return r;
}

/* --- operations ------------------------------------------------------------ */

struct lb_batch {
	const char *const *names; /* NULL = every load balancer */
	size_t n;
	struct prov_classic_lb_list *out;
};

static void lb_build(void *ctx, struct awsp_query *q)
{
	struct lb_batch *b = ctx;

	if (b->n)
		awsp_query_add_member_list(q, "LoadBalancerNames", b->names,
					   b->n);
	awsp_query_add_int(q, "PageSize", AWSP_ELB_PAGE_SIZE);
}

static int lb_parse_page(void *ctx, const char *xml, size_t len,
			 char **ret_next, struct util_err *err)
{
	struct lb_batch *b = ctx;

	return awsp_elb_parse_load_balancers(xml, len, b->out, ret_next, err);
}

static int describe_lbs(struct awsp_client *c, const char *const *names,
			size_t n, struct prov_classic_lb_list *out,
			struct util_err *err)
{
	struct lb_batch b = { names, n, out };
	struct awsp_pager pg = { .svc = AWSP_SVC_ELB,
				 .action = "DescribeLoadBalancers",
				 .token_param = "Marker",
				 .build = lb_build,
				 .parse = lb_parse_page,
				 .ctx = &b };

	return awsp_paginate(c, &pg, err);
}

struct lbs_q {
	struct awsp_client *c;
	const char **names;
	size_t n_names;
	struct prov_classic_lb_list *batches; /* one per batch of names */
	struct prov_classic_lb **lbs;	      /* flattened, for health */
	bool *gone;			      /* lbs[i] vanished */
};

static bool is_not_found(const struct util_err *e)
{
	return !strcmp(e->aws_code, "LoadBalancerNotFound") ||
	       !strcmp(e->aws_code, "AccessPointNotFound");
}

/*
 * One batch of names.  AWS fails the whole request when one name does
 * not exist (and names it only in prose): then each name is asked alone,
 * so the ones that exist are still found.
 */
static int lbs_batch(void *ctx, size_t i, struct util_err *err)
{
	struct lbs_q *q = ctx;
	size_t start = i * AWSP_ELB_NAMES;
	size_t n = awsp_chunk_len(q->n_names, AWSP_ELB_NAMES, i);
	struct util_err e = UTIL_ERR_INIT;
	int r;

	r = describe_lbs(q->c, q->names + start, n, &q->batches[i], &e);
	if (r == 0)
		return 0;
	prov_classic_lb_list_release(&q->batches[i]);
	if (!is_not_found(&e) || n == 1) {
		if (is_not_found(&e))
			return 0;
		util_err_copy(err, &e);
		return r;
	}
	for (size_t k = 0; k < n; k++) {
		util_err_clear(&e);
		r = describe_lbs(q->c, q->names + start + k, 1, &q->batches[i],
				 &e);
		if (r < 0 && !is_not_found(&e)) {
			util_err_copy(err, &e);
			return r;
		}
	}
	return 0;
}

static int health_parse_cb(void *ctx, const char *xml, size_t len,
			   struct util_err *err)
{
	return awsp_elb_parse_instance_health(xml, len, ctx, err);
}

/*
 * The one DescribeInstanceHealth: lb->name's members with their health
 * into lb (replacing its members).  UTIL_ENOTFOUND when lb is gone.
 */
static int describe_health(struct awsp_client *c, struct prov_classic_lb *lb,
			   struct util_err *err)
{
	struct awsp_query q;
	struct util_err e = UTIL_ERR_INIT;
	int r;

	awsp_query_init(&q, "DescribeInstanceHealth", elb_version());
	awsp_query_add(&q, "LoadBalancerName", lb->name);
	r = awsp_call_parse(c, AWSP_SVC_ELB, &q, "DescribeInstanceHealth", 0,
			    health_parse_cb, lb, NULL, &e);
	awsp_query_release(&q);
	if (r < 0 && is_not_found(&e))
		return util_err_set(err, UTIL_ENOTFOUND,
				    "classic load balancer '%s' not found",
				    lb->name);
	if (r < 0)
		util_err_copy(err, &e);
	return r;
}

static int lbs_health(void *ctx, size_t i, struct util_err *err)
{
	struct lbs_q *q = ctx;
	struct util_err e = UTIL_ERR_INIT;
	int r = describe_health(q->c, q->lbs[i], &e);

	/* Deleted between the two calls: it does not exist. */
	if (r < 0 && e.code == UTIL_ENOTFOUND) {
		q->gone[i] = true;
		return 0;
	}
	if (r < 0)
		util_err_copy(err, &e);
	return r;
}

int awsp_elb_instance_health(struct awsp_client *c, const char *lb,
			     struct prov_classic_lb *ret, struct util_err *err)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->name = util_xstrdup(lb);
	r = describe_health(c, ret, err);
	if (r < 0)
		prov_classic_lb_release(ret);
	return r;
}

int awsp_elb_load_balancers(struct awsp_client *c, const char *const *names,
			    size_t n, unsigned conc, bool health,
			    struct prov_classic_lb_list *ret,
			    struct util_err *err)
{
	struct lbs_q q = { .c = c };
	size_t n_batches, n_lbs = 0, k = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	q.names = awsp_strv_unique(names, n, &q.n_names);
	n_batches = (q.n_names + AWSP_ELB_NAMES - 1) / AWSP_ELB_NAMES;
	q.batches = util_xcalloc(n_batches ? n_batches : 1, sizeof(*q.batches));
	r = awsp_ops_parallel(n_batches, conc, lbs_batch, &q, err);
	if (r < 0)
		goto out;
	/* Gather, dropping duplicates (a name asked twice). */
	for (size_t i = 0; i < n_batches; i++)
		n_lbs += q.batches[i].n;
	ret->v = util_xcalloc(n_lbs ? n_lbs : 1, sizeof(*ret->v));
	for (size_t i = 0; i < n_batches; i++) {
		for (size_t j = 0; j < q.batches[i].n; j++) {
			struct prov_classic_lb *lb = &q.batches[i].v[j];
			bool dup = false;

			for (size_t m = 0; m < ret->n && !dup; m++)
				dup = !strcmp(ret->v[m].name, lb->name);
			if (dup) {
				prov_classic_lb_release(lb);
				continue;
			}
			ret->v[ret->n++] = *lb;
			memset(lb, 0, sizeof(*lb));
		}
	}
	if (!health)
		goto out;
	q.lbs = util_xcalloc(ret->n ? ret->n : 1, sizeof(*q.lbs));
	q.gone = util_xcalloc(ret->n ? ret->n : 1, sizeof(*q.gone));
	for (size_t i = 0; i < ret->n; i++)
		q.lbs[i] = &ret->v[i];
	r = awsp_ops_parallel(ret->n, conc, lbs_health, &q, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < ret->n; i++) {
		if (q.gone[i])
			prov_classic_lb_release(&ret->v[i]);
		else
			ret->v[k++] = ret->v[i];
	}
	ret->n = k;
out:
	for (size_t i = 0; i < n_batches; i++)
		prov_classic_lb_list_release(&q.batches[i]);
	free(q.batches);
	free(q.lbs);
	free(q.gone);
	free(q.names);
	if (r < 0)
		prov_classic_lb_list_release(ret);
	return r;
}

struct reg_ctx {
	const char *root;
};

static int reg_parse_cb(void *ctx, const char *xml, size_t len,
			struct util_err *err)
{
	struct reg_ctx *rc = ctx;

	return awsp_elb_parse_instances(xml, len, rc->root, NULL, err);
}

static int zones_parse_cb(void *ctx, const char *xml, size_t len,
			  struct util_err *err)
{
	const struct reg_ctx *rc = ctx;

	return awsp_query_parse_empty(xml, len, rc->root, err);
}

int awsp_elb_register(struct awsp_client *c, const char *lb,
		      const char *const *ids, size_t n, bool deregister,
		      struct util_err *err)
{
	const char *action = deregister ? "DeregisterInstancesFromLoadBalancer"
					: "RegisterInstancesWithLoadBalancer";
	struct reg_ctx rc = {
		deregister ? "DeregisterInstancesFromLoadBalancerResponse"
			   : "RegisterInstancesWithLoadBalancerResponse"
	};
	const char **uniq;
	size_t nu;
	int r = 0;

	uniq = awsp_strv_unique(ids, n, &nu);
	/*
	 * Batches in order; a failure stops there (earlier batches stay
	 * applied, as provider.h says).  Registering a registered instance
	 * and deregistering one again change nothing: idempotent.
	 */
	for (size_t start = 0; start < nu && r == 0;
	     start += AWSP_ELB_TARGETS) {
		size_t k = nu - start < AWSP_ELB_TARGETS ? nu - start
							 : AWSP_ELB_TARGETS;
		struct awsp_query q;

		awsp_query_init(&q, action, elb_version());
		awsp_query_add(&q, "LoadBalancerName", lb);
		for (size_t i = 0; i < k; i++)
			awsp_query_addf(&q, uniq[start + i],
					"Instances.member.%zu.InstanceId",
					i + 1);
		r = awsp_call_parse(c, AWSP_SVC_ELB, &q, action,
				    AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT,
				    reg_parse_cb, &rc, NULL, err);
		awsp_query_release(&q);
	}
	free(uniq);
	return r;
}

/* --- EnableAvailabilityZonesForLoadBalancer -------------------------------- */

int awsp_elb_enable_zones(struct awsp_client *c, const char *lb,
			  const char *const *zones, size_t n,
			  struct util_err *err)
{
	static const char action[] = "EnableAvailabilityZonesForLoadBalancer";
	struct reg_ctx rc = {
		"EnableAvailabilityZonesForLoadBalancerResponse"
	};
	struct awsp_query q;
	int r;

	/* Enabling an enabled zone changes nothing: idempotent. */
	awsp_query_init(&q, action, elb_version());
	awsp_query_add(&q, "LoadBalancerName", lb);
	awsp_query_add_member_list(&q, "AvailabilityZones", zones, n);
	r = awsp_call_parse(c, AWSP_SVC_ELB, &q, action,
			    AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT,
			    zones_parse_cb, &rc, NULL, err);
	awsp_query_release(&q);
	return r;
}
