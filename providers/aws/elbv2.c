#include "providers/aws/ops.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
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
 * ELBv2 (API 2015-12-01): Query protocol like Classic ELB, same endpoint
 * and signing name, its own API version and throttling buckets.
 */

static const char *v2_version(void)
{
	return awsp_service(AWSP_SVC_ELBV2)->api_version;
}

bool awsp_elbv2_is_arn(const char *s)
{
	return util_starts_with(s, "arn:");
}

int awsp_query_parse_empty(const char *xml, size_t len, const char *root,
			   struct util_err *err)
{
	static const struct awsp_xml_handler h = { 0 };

	return awsp_xml_parse(xml, len, root, &h, NULL, err);
}

/* --- DescribeTargetGroups ------------------------------------------------- */

#define P_TG "DescribeTargetGroupsResult/TargetGroups/member"

struct tg_parse {
	struct prov_target_group_list *out;
	size_t alloc;
	struct prov_target_group *cur;
	bool have_type;
	char *next;
};

static void tg_init(struct prov_target_group *tg)
{
	memset(tg, 0, sizeof(*tg));
	tg->deregistration_delay_s = -1;
}

static int tg_start(void *ctx, const char *path, struct util_err *err)
{
	struct tg_parse *p = ctx;

	(void)err;
	if (!strcmp(path, P_TG)) {
		UTIL_GROW(p->out->v, p->alloc, p->out->n + 1);
		p->cur = &p->out->v[p->out->n++];
		tg_init(p->cur);
		p->have_type = false;
	}
	return 0;
}

static int tg_text(void *ctx, const char *path, const char *text, size_t len,
		   struct util_err *err)
{
	struct tg_parse *p = ctx;
	struct prov_target_group *tg = p->cur;
	const char *rel;

	(void)len;
	if (!strcmp(path, "DescribeTargetGroupsResult/NextMarker")) {
		awsp_set_str(&p->next, text);
		return 0;
	}
	if (!tg || !(rel = awsp_xml_under(path, P_TG)))
		return 0;
	if (!strcmp(rel, "TargetGroupArn"))
		awsp_set_str(&tg->arn, text);
	else if (!strcmp(rel, "TargetGroupName"))
		awsp_set_str(&tg->name, text);
	else if (!strcmp(rel, "VpcId"))
		awsp_set_str(&tg->vpc_id, text);
	else if (!strcmp(rel, "Protocol"))
		awsp_set_str(&tg->protocol, text);
	else if (!strcmp(rel, "Port")) {
		long v;

		if (awsp_xml_int(path, text, 0, 65535, &v, err) < 0)
			return UTIL_EINVAL;
		tg->port = (int)v;
	} else if (!strcmp(rel, "TargetType")) {
		if (prov_target_type_parse(text, &tg->target_type) < 0)
			return util_err_set(err, UTIL_EINVAL,
					    "unknown TargetType '%.40s'", text);
		p->have_type = true;
	} else if (!strcmp(rel, "LoadBalancerArns/member") && *text) {
		util_strv_push(&tg->lb_arns, &tg->n_lb_arns, text);
	}
	return 0;
}

static int tg_end(void *ctx, const char *path, struct util_err *err)
{
	struct tg_parse *p = ctx;

	if (p->cur && !strcmp(path, P_TG)) {
		if (!p->cur->arn || !p->cur->name)
			return util_err_set(
				err, UTIL_EINVAL,
				"target group without "
				"TargetGroupArn or TargetGroupName");
		/* The API default, for answers that leave it out. */
		if (!p->have_type)
			p->cur->target_type = PROV_TARGET_INSTANCE;
		p->cur = NULL;
	}
	return 0;
}

int awsp_elbv2_parse_target_groups(const char *xml, size_t len,
				   struct prov_target_group_list *out,
				   char **ret_next, struct util_err *err)
{
	static const struct awsp_xml_handler h = { .start = tg_start,
						   .text = tg_text,
						   .end = tg_end };
	struct tg_parse p = { .out = out, .alloc = out->n };
	size_t n0 = out->n;
	int r;

	r = awsp_parse_page(xml, len, "DescribeTargetGroupsResponse", &h, &p,
			    &p.next, ret_next, err);
	while (r < 0 && out->n > n0)
		prov_target_group_release(&out->v[--out->n]);
	return r;
}

/* --- DescribeTargetHealth ------------------------------------------------- */

#define P_TH "DescribeTargetHealthResult/TargetHealthDescriptions/member"

struct th_parse {
	struct prov_target_group *tg; /* scratch: targets only */
	size_t alloc;
	struct prov_target *cur;
};

static int th_start(void *ctx, const char *path, struct util_err *err)
{
	struct th_parse *p = ctx;

	(void)err;
	if (!strcmp(path, P_TH)) {
		UTIL_GROW(p->tg->targets, p->alloc, p->tg->n_targets + 1);
		p->cur = &p->tg->targets[p->tg->n_targets++];
		memset(p->cur, 0, sizeof(*p->cur));
	}
	return 0;
}

static int th_text(void *ctx, const char *path, const char *text, size_t len,
		   struct util_err *err)
{
	struct th_parse *p = ctx;
	struct prov_target *t = p->cur;
	const char *rel;

	(void)len;
	if (!t || !(rel = awsp_xml_under(path, P_TH)))
		return 0;
	if (!strcmp(rel, "Target/Id"))
		awsp_set_str(&t->id, text);
	else if (!strcmp(rel, "Target/Port")) {
		long v;

		if (awsp_xml_int(path, text, 0, 65535, &v, err) < 0)
			return UTIL_EINVAL;
		t->port = (int)v;
	} else if (!strcmp(rel, "Target/AvailabilityZone"))
		awsp_set_str(&t->az, text);
	else if (!strcmp(rel, "TargetHealth/State"))
		awsp_set_str(&t->state, text);
	else if (!strcmp(rel, "TargetHealth/Reason"))
		awsp_set_str(&t->reason, text);
	else if (!strcmp(rel, "TargetHealth/Description"))
		awsp_set_str(&t->description, text);
	return 0;
}

/* ELBv2 TargetHealth.State word to the provider scale (UNKNOWN for others). */
static enum prov_health health_from_v2(const char *state)
{
	if (!state)
		return PROV_HEALTH_UNKNOWN;
	if (!strcmp(state, "initial"))
		return PROV_HEALTH_INITIAL;
	if (!strcmp(state, "healthy"))
		return PROV_HEALTH_HEALTHY;
	if (!strcmp(state, "unhealthy"))
		return PROV_HEALTH_UNHEALTHY;
	/* Still deregistering: on its way out, counts as leaving. */
	if (!strcmp(state, "draining") || !strcmp(state, "unhealthy.draining"))
		return PROV_HEALTH_DRAINING;
	if (!strcmp(state, "unused"))
		return PROV_HEALTH_UNUSED;
	if (!strcmp(state, "unavailable"))
		return PROV_HEALTH_UNAVAILABLE;
	return PROV_HEALTH_UNKNOWN;
}

static int th_end(void *ctx, const char *path, struct util_err *err)
{
	struct th_parse *p = ctx;

	if (p->cur && !strcmp(path, P_TH)) {
		if (!p->cur->id)
			return util_err_set(err, UTIL_EINVAL,
					    "target health without Target/Id");
		p->cur->health = health_from_v2(p->cur->state);
		p->cur = NULL;
	}
	return 0;
}

int awsp_elbv2_parse_target_health(const char *xml, size_t len,
				   struct prov_target_group *tg,
				   struct util_err *err)
{
	static const struct awsp_xml_handler h = { .start = th_start,
						   .text = th_text,
						   .end = th_end };
	struct prov_target_group tmp = { 0 };
	struct th_parse p = { .tg = &tmp };
	int r;

	r = awsp_xml_parse(xml, len, "DescribeTargetHealthResponse", &h, &p,
			   err);
	if (r < 0) {
		for (size_t i = 0; i < tmp.n_targets; i++)
			prov_target_release(&tmp.targets[i]);
		free(tmp.targets);
		return r;
	}
	for (size_t i = 0; i < tg->n_targets; i++)
		prov_target_release(&tg->targets[i]);
	free(tg->targets);
	tg->targets = tmp.targets;
	tg->n_targets = tmp.n_targets;
	return 0;
}

/* --- DescribeTargetGroupAttributes ---------------------------------------- */

#define P_ATTR "DescribeTargetGroupAttributesResult/Attributes/member"

struct attr_parse {
	char *key, *value;
	long delay;
	struct util_err *err;
};

static int attr_text(void *ctx, const char *path, const char *text, size_t len,
		     struct util_err *err)
{
	struct attr_parse *p = ctx;
	const char *rel = awsp_xml_under(path, P_ATTR);

	(void)len;
	(void)err;
	if (!rel)
		return 0;
	if (!strcmp(rel, "Key"))
		awsp_set_str(&p->key, text);
	else if (!strcmp(rel, "Value"))
		awsp_set_str(&p->value, text);
	return 0;
}

static int attr_end(void *ctx, const char *path, struct util_err *err)
{
	struct attr_parse *p = ctx;
	int r = 0;

	if (strcmp(path, P_ATTR))
		return 0;
	if (p->key && !strcmp(p->key, "deregistration_delay.timeout_seconds"))
		r = awsp_xml_int(p->key, p->value ? p->value : "", 0, 3600,
				 &p->delay, err);
	awsp_set_str(&p->key, NULL);
	awsp_set_str(&p->value, NULL);
	return r;
}

int awsp_elbv2_parse_attributes(const char *xml, size_t len,
				struct prov_target_group *tg,
				struct util_err *err)
{
	static const struct awsp_xml_handler h = { .text = attr_text,
						   .end = attr_end };
	struct attr_parse p = { .delay = -1 };
	int r;

	r = awsp_xml_parse(xml, len, "DescribeTargetGroupAttributesResponse",
			   &h, &p, err);
	free(p.key);
	free(p.value);
	if (r < 0)
		return r;
	if (p.delay >= 0)
		tg->deregistration_delay_s = (int)p.delay;
	return 0;
}

/* --- the deregistration delay cache ---------------------------------------- */

struct tg_delay {
	char *arn;
	int delay_s;
	uint64_t read_ms; /* when it was read (mono) */
};

/* A group's ARN by its name: names do not change, so no expiry. */
struct tg_name {
	char *name, *arn;
};

struct awsp_tg_cache {
	pthread_mutex_t lock;
	const struct util_clock *clock;
	uint64_t ttl_ms;
	struct tg_delay *v;
	size_t n, alloc;
	struct tg_name *names;
	size_t n_names, alloc_names;
};

struct awsp_tg_cache *awsp_tg_cache_new(const struct util_clock *clock,
					uint64_t ttl_ms)
{
	struct awsp_tg_cache *tc = util_xcalloc(1, sizeof(*tc));

	pthread_mutex_init(&tc->lock, NULL);
	tc->clock = clock ? clock : &util_clock_system;
	tc->ttl_ms = ttl_ms;
	return tc;
}

void awsp_tg_cache_free(struct awsp_tg_cache *tc)
{
	if (!tc)
		return;
	for (size_t i = 0; i < tc->n; i++)
		free(tc->v[i].arn);
	free(tc->v);
	for (size_t i = 0; i < tc->n_names; i++) {
		free(tc->names[i].name);
		free(tc->names[i].arn);
	}
	free(tc->names);
	pthread_mutex_destroy(&tc->lock);
	free(tc);
}

static uint64_t tc_now(const struct awsp_tg_cache *tc)
{
	return tc->clock->mono_ms(tc->clock->ctx);
}

/* Whether arn's delay is known and fresh; *ret_delay_s when it is. */
static bool tg_cache_get(struct awsp_tg_cache *tc, const char *arn,
			 int *ret_delay_s)
{
	uint64_t now;
	bool hit = false;

	if (!tc)
		return false;
	now = tc_now(tc);
	pthread_mutex_lock(&tc->lock);
	for (size_t i = 0; i < tc->n && !hit; i++) {
		if (strcmp(tc->v[i].arn, arn) ||
		    now - tc->v[i].read_ms >= tc->ttl_ms)
			continue;
		*ret_delay_s = tc->v[i].delay_s;
		hit = true;
	}
	pthread_mutex_unlock(&tc->lock);
	return hit;
}

/* Record arn's delay as read now; entries past their time go. */
static void tg_cache_put(struct awsp_tg_cache *tc, const char *arn, int delay_s)
{
	uint64_t now;
	size_t k = 0;

	if (!tc)
		return;
	now = tc_now(tc);
	pthread_mutex_lock(&tc->lock);
	for (size_t i = 0; i < tc->n; i++) {
		if (!strcmp(tc->v[i].arn, arn) ||
		    now - tc->v[i].read_ms >= tc->ttl_ms)
			free(tc->v[i].arn);
		else
			tc->v[k++] = tc->v[i];
	}
	tc->n = k;
	UTIL_GROW(tc->v, tc->alloc, tc->n + 1);
	tc->v[tc->n++] = (struct tg_delay){ .arn = util_xstrdup(arn),
					    .delay_s = delay_s,
					    .read_ms = now };
	pthread_mutex_unlock(&tc->lock);
}

/* name's ARN (malloc'd) when known, else NULL. */
static char *tg_name_get(struct awsp_tg_cache *tc, const char *name)
{
	char *arn = NULL;

	pthread_mutex_lock(&tc->lock);
	for (size_t i = 0; i < tc->n_names && !arn; i++)
		if (!strcmp(tc->names[i].name, name))
			arn = util_xstrdup(tc->names[i].arn);
	pthread_mutex_unlock(&tc->lock);
	return arn;
}

/* Record name's ARN, or forget it (arn NULL: the group is gone). */
static void tg_name_put(struct awsp_tg_cache *tc, const char *name,
			const char *arn)
{
	size_t k = 0;

	pthread_mutex_lock(&tc->lock);
	for (size_t i = 0; i < tc->n_names; i++) {
		if (!strcmp(tc->names[i].name, name)) {
			free(tc->names[i].name);
			free(tc->names[i].arn);
		} else {
			tc->names[k++] = tc->names[i];
		}
	}
	tc->n_names = k;
	if (arn) {
		UTIL_GROW(tc->names, tc->alloc_names, tc->n_names + 1);
		tc->names[tc->n_names++] = (struct tg_name){
			.name = util_xstrdup(name), .arn = util_xstrdup(arn)
		};
	}
	pthread_mutex_unlock(&tc->lock);
}

/* --- operations ------------------------------------------------------------ */

struct tg_batch {
	const char *param; /* "Names" or "TargetGroupArns" */
	const char *const *vals;
	size_t n;
	struct prov_target_group_list *out;
};

static void tg_build(void *ctx, struct awsp_query *q)
{
	struct tg_batch *b = ctx;

	awsp_query_add_member_list(q, b->param, b->vals, b->n);
	awsp_query_add_int(q, "PageSize", AWSP_ELB_PAGE_SIZE);
}

static int tg_parse_page(void *ctx, const char *xml, size_t len,
			 char **ret_next, struct util_err *err)
{
	struct tg_batch *b = ctx;

	return awsp_elbv2_parse_target_groups(xml, len, b->out, ret_next, err);
}

static int describe_tgs(struct awsp_client *c, const char *param,
			const char *const *vals, size_t n,
			struct prov_target_group_list *out,
			struct util_err *err)
{
	struct tg_batch b = { param, vals, n, out };
	struct awsp_pager pg = { .svc = AWSP_SVC_ELBV2,
				 .action = "DescribeTargetGroups",
				 .token_param = "Marker",
				 .build = tg_build,
				 .parse = tg_parse_page,
				 .ctx = &b };

	return awsp_paginate(c, &pg, err);
}

/* A batch: up to AWSP_ELB_NAMES names, or ARNs (never mixed: one param). */
struct tg_req {
	const char *param;
	const char **vals;
	size_t n;
};

struct tgs_q {
	struct awsp_client *c;
	struct awsp_tg_cache *cache;
	struct tg_req *reqs;
	size_t n_reqs;
	struct prov_target_group_list *batches;
	struct prov_target_group **tgs; /* flattened, for the details */
	bool *gone;
	bool no_delay; /* the attributes were not asked for */
};

static bool tg_not_found(const struct util_err *e)
{
	return !strcmp(e->aws_code, "TargetGroupNotFound");
}

/*
 * AWS fails a whole batch when one name or ARN does not exist, without
 * saying which: then each is asked alone.
 */
static int tgs_batch(void *ctx, size_t i, struct util_err *err)
{
	struct tgs_q *q = ctx;
	struct tg_req *rq = &q->reqs[i];
	struct util_err e = UTIL_ERR_INIT;
	int r;

	r = describe_tgs(q->c, rq->param, rq->vals, rq->n, &q->batches[i], &e);
	if (r == 0)
		return 0;
	prov_target_group_list_release(&q->batches[i]);
	if (!tg_not_found(&e)) {
		util_err_copy(err, &e);
		return r;
	}
	for (size_t k = 0; rq->n > 1 && k < rq->n; k++) {
		util_err_clear(&e);
		r = describe_tgs(q->c, rq->param, rq->vals + k, 1,
				 &q->batches[i], &e);
		if (r < 0 && !tg_not_found(&e)) {
			util_err_copy(err, &e);
			return r;
		}
	}
	return 0;
}

static int th_parse_cb(void *ctx, const char *xml, size_t len,
		       struct util_err *err)
{
	return awsp_elbv2_parse_target_health(xml, len, ctx, err);
}

static int attr_parse_cb(void *ctx, const char *xml, size_t len,
			 struct util_err *err)
{
	return awsp_elbv2_parse_attributes(xml, len, ctx, err);
}

/*
 * Task 2i: health of tgs[i]; task 2i+1: its attributes, unless the cache
 * knows its delay.
 */
static int tgs_detail(void *ctx, size_t t, struct util_err *err)
{
	struct tgs_q *q = ctx;
	size_t i = t / 2;
	struct prov_target_group *tg = q->tgs[i];
	bool health = t % 2 == 0;
	const char *action = health ? "DescribeTargetHealth"
				    : "DescribeTargetGroupAttributes";
	struct awsp_query query;
	struct util_err e = UTIL_ERR_INIT;
	int r;

	if (!health &&
	    (q->no_delay ||
	     tg_cache_get(q->cache, tg->arn, &tg->deregistration_delay_s)))
		return 0;
	awsp_query_init(&query, action, v2_version());
	awsp_query_add(&query, "TargetGroupArn", tg->arn);
	r = awsp_call_parse(q->c, AWSP_SVC_ELBV2, &query, action, 0,
			    health ? th_parse_cb : attr_parse_cb, tg, NULL, &e);
	awsp_query_release(&query);
	if (r < 0 && tg_not_found(&e)) {
		/* Both tasks may say so; either may run first. */
		q->gone[i] = true;
		return 0;
	}
	if (r < 0)
		util_err_copy(err, &e);
	else if (!health)
		tg_cache_put(q->cache, tg->arn, tg->deregistration_delay_s);
	return r;
}

static void add_reqs(struct tgs_q *q, const char *param, const char **vals,
		     size_t n)
{
	for (size_t start = 0; start < n; start += AWSP_ELB_NAMES) {
		struct tg_req *rq;

		q->reqs = util_xrealloc(q->reqs,
					(q->n_reqs + 1) * sizeof(*q->reqs));
		rq = &q->reqs[q->n_reqs++];
		rq->param = param;
		rq->vals = vals + start;
		rq->n = n - start < AWSP_ELB_NAMES ? n - start : AWSP_ELB_NAMES;
	}
}

int awsp_elbv2_target_groups(struct awsp_client *c,
			     const char *const *names_or_arns, size_t n,
			     unsigned conc, bool delay,
			     struct awsp_tg_cache *cache,
			     struct prov_target_group_list *ret,
			     struct util_err *err)
{
	struct tgs_q q = { .c = c, .cache = cache, .no_delay = !delay };
	const char **uniq, **names, **arns;
	size_t nu, n_names = 0, n_arns = 0, total = 0, k = 0;
	bool *gone_ptr = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	uniq = awsp_strv_unique(names_or_arns, n, &nu);
	names = util_xcalloc(nu ? nu : 1, sizeof(*names));
	arns = util_xcalloc(nu ? nu : 1, sizeof(*arns));
	/* Names and ARNs are separate parameters of the same call. */
	for (size_t i = 0; i < nu; i++) {
		if (awsp_elbv2_is_arn(uniq[i]))
			arns[n_arns++] = uniq[i];
		else
			names[n_names++] = uniq[i];
	}
	add_reqs(&q, "Names", names, n_names);
	add_reqs(&q, "TargetGroupArns", arns, n_arns);
	q.batches = util_xcalloc(q.n_reqs ? q.n_reqs : 1, sizeof(*q.batches));
	r = awsp_ops_parallel(q.n_reqs, conc, tgs_batch, &q, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < q.n_reqs; i++)
		total += q.batches[i].n;
	ret->v = util_xcalloc(total ? total : 1, sizeof(*ret->v));
	/* A group named both ways is reported once. */
	for (size_t i = 0; i < q.n_reqs; i++) {
		for (size_t j = 0; j < q.batches[i].n; j++) {
			struct prov_target_group *tg = &q.batches[i].v[j];
			bool dup = false;

			for (size_t m = 0; m < ret->n && !dup; m++)
				dup = !strcmp(ret->v[m].arn, tg->arn);
			if (dup) {
				prov_target_group_release(tg);
				continue;
			}
			ret->v[ret->n++] = *tg;
			memset(tg, 0, sizeof(*tg));
		}
	}
	q.tgs = util_xcalloc(ret->n ? ret->n : 1, sizeof(*q.tgs));
	gone_ptr = util_xcalloc(ret->n ? ret->n : 1, sizeof(*gone_ptr));
	q.gone = gone_ptr;
	for (size_t i = 0; i < ret->n; i++)
		q.tgs[i] = &ret->v[i];
	r = awsp_ops_parallel(ret->n * 2, conc, tgs_detail, &q, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < ret->n; i++) {
		if (q.gone[i])
			prov_target_group_release(&ret->v[i]);
		else
			ret->v[k++] = ret->v[i];
	}
	ret->n = k;
out:
	for (size_t i = 0; i < q.n_reqs; i++)
		prov_target_group_list_release(&q.batches[i]);
	free(q.batches);
	free(q.reqs);
	free(q.tgs);
	free(gone_ptr);
	free(names);
	free(arns);
	free(uniq);
	if (r < 0)
		prov_target_group_list_release(ret);
	return r;
}

static int tg_arn_of(struct awsp_client *c, struct awsp_tg_cache *cache,
		     const char *name, char **ret_arn, struct util_err *err)
{
	struct prov_target_group_list l = { 0 };
	int r;

	if ((*ret_arn = tg_name_get(cache, name)) != NULL)
		return 0;
	r = describe_tgs(c, "Names", &name, 1, &l, err);
	if (r == 0 && l.n && l.v[0].arn) {
		*ret_arn = util_xstrdup(l.v[0].arn);
		tg_name_put(cache, name, *ret_arn);
	} else if (r == 0 || tg_not_found(err)) {
		util_err_clear(err);
		r = util_err_set(err, UTIL_ENOTFOUND,
				 "target group '%s' not found", name);
	}
	prov_target_group_list_release(&l);
	return r;
}

int awsp_elbv2_target_health(struct awsp_client *c, struct awsp_tg_cache *cache,
			     const char *name_or_arn,
			     struct prov_target_group *ret,
			     struct util_err *err)
{
	bool by_name = !awsp_elbv2_is_arn(name_or_arn);
	struct awsp_query q;
	char *arn = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->deregistration_delay_s = -1;
	if (!by_name)
		arn = util_xstrdup(name_or_arn);
	else if ((r = tg_arn_of(c, cache, name_or_arn, &arn, err)) < 0)
		return r;
	awsp_query_init(&q, "DescribeTargetHealth", v2_version());
	awsp_query_add(&q, "TargetGroupArn", arn);
	r = awsp_call_parse(c, AWSP_SVC_ELBV2, &q, "DescribeTargetHealth", 0,
			    th_parse_cb, ret, NULL, err);
	awsp_query_release(&q);
	ret->arn = arn;
	if (by_name)
		ret->name = util_xstrdup(name_or_arn);
	if (r < 0 && tg_not_found(err)) {
		/* Deleted, or recreated under the same name: ask again. */
		if (by_name)
			tg_name_put(cache, name_or_arn, NULL);
		util_err_clear(err);
		r = util_err_set(err, UTIL_ENOTFOUND,
				 "target group '%s' not found", name_or_arn);
	}
	if (r < 0)
		prov_target_group_release(ret);
	return r;
}

struct reg_ctx {
	const char *root;
};

static int reg_parse_cb(void *ctx, const char *xml, size_t len,
			struct util_err *err)
{
	const struct reg_ctx *rc = ctx;

	return awsp_query_parse_empty(xml, len, rc->root, err);
}

int awsp_elbv2_register(struct awsp_client *c, const char *tg_arn,
			const struct prov_target_ref *targets, size_t n,
			bool deregister, struct util_err *err)
{
	const char *action = deregister ? "DeregisterTargets"
					: "RegisterTargets";
	struct reg_ctx rc = { deregister ? "DeregisterTargetsResponse"
					 : "RegisterTargetsResponse" };
	int r = 0;

	/*
	 * At most AWSP_ELB_TARGETS per call, in order; a failure stops
	 * there.  Registering a registered target and deregistering an
	 * absent one are no-ops: idempotent.
	 */
	for (size_t start = 0; start < n && r == 0; start += AWSP_ELB_TARGETS) {
		size_t k = n - start < AWSP_ELB_TARGETS ? n - start
							: AWSP_ELB_TARGETS;
		struct awsp_query q;

		awsp_query_init(&q, action, v2_version());
		awsp_query_add(&q, "TargetGroupArn", tg_arn);
		for (size_t i = 0; i < k; i++) {
			const struct prov_target_ref *t = &targets[start + i];
			char port[16];

			awsp_query_addf(&q, t->id, "Targets.member.%zu.Id",
					i + 1);
			if (t->port > 0 &&
			    snprintf(port, sizeof(port), "%d", t->port) > 0)
				awsp_query_addf(&q, port,
						"Targets.member.%zu.Port",
						i + 1);
			if (t->az)
				awsp_query_addf(
					&q, t->az,
					"Targets.member.%zu.AvailabilityZone",
					i + 1);
		}
		r = awsp_call_parse(c, AWSP_SVC_ELBV2, &q, action,
				    AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT,
				    reg_parse_cb, &rc, NULL, err);
		awsp_query_release(&q);
	}
	return r;
}

/* --- DescribeLoadBalancers -------------------------------------------------- */

#define P_LB "DescribeLoadBalancersResult/LoadBalancers/member"

struct lb_parse {
	struct prov_lb_list *out;
	size_t alloc;
	struct prov_lb *cur;
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

static int lb_text(void *ctx, const char *path, const char *text, size_t len,
		   struct util_err *err)
{
	struct lb_parse *p = ctx;
	struct prov_lb *lb = p->cur;
	const char *rel;

	(void)len;
	(void)err;
	if (!strcmp(path, "DescribeLoadBalancersResult/NextMarker")) {
		awsp_set_str(&p->next, text);
		return 0;
	}
	if (!lb || !(rel = awsp_xml_under(path, P_LB)))
		return 0;
	if (!strcmp(rel, "LoadBalancerArn"))
		awsp_set_str(&lb->arn, text);
	else if (!strcmp(rel, "LoadBalancerName"))
		awsp_set_str(&lb->name, text);
	else if (!strcmp(rel, "AvailabilityZones/member/ZoneName") && *text)
		util_strv_push(&lb->azs, &lb->n_azs, text);
	return 0;
}

static int lb_end(void *ctx, const char *path, struct util_err *err)
{
	struct lb_parse *p = ctx;

	if (p->cur && !strcmp(path, P_LB)) {
		if (!p->cur->arn)
			return util_err_set(err, UTIL_EINVAL,
					    "load balancer without "
					    "LoadBalancerArn");
		p->cur = NULL;
	}
	return 0;
}

int awsp_elbv2_parse_load_balancers(const char *xml, size_t len,
				    struct prov_lb_list *out, char **ret_next,
				    struct util_err *err)
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
		prov_lb_release(&out->v[--out->n]);
	return r;
}

struct lb_batch {
	const char *const *arns;
	size_t n;
	struct prov_lb_list *out;
};

static void lb_build(void *ctx, struct awsp_query *q)
{
	struct lb_batch *b = ctx;

	awsp_query_add_member_list(q, "LoadBalancerArns", b->arns, b->n);
	awsp_query_add_int(q, "PageSize", AWSP_ELB_PAGE_SIZE);
}

static int lb_parse_page(void *ctx, const char *xml, size_t len,
			 char **ret_next, struct util_err *err)
{
	struct lb_batch *b = ctx;

	return awsp_elbv2_parse_load_balancers(xml, len, b->out, ret_next, err);
}

static int describe_lbs(struct awsp_client *c, const char *const *arns,
			size_t n, struct prov_lb_list *out,
			struct util_err *err)
{
	struct lb_batch b = { arns, n, out };
	struct awsp_pager pg = { .svc = AWSP_SVC_ELBV2,
				 .action = "DescribeLoadBalancers",
				 .token_param = "Marker",
				 .build = lb_build,
				 .parse = lb_parse_page,
				 .ctx = &b };

	return awsp_paginate(c, &pg, err);
}

struct lbs_q {
	struct awsp_client *c;
	const char **arns;
	size_t n_arns;
	struct prov_lb_list *batches;
};

static bool lb_not_found(const struct util_err *e)
{
	return !strcmp(e->aws_code, "LoadBalancerNotFound");
}

/* One batch; when one ARN of it is unknown, each is asked alone. */
static int lbs_batch(void *ctx, size_t i, struct util_err *err)
{
	struct lbs_q *q = ctx;
	size_t start = i * AWSP_ELB_NAMES;
	size_t n = awsp_chunk_len(q->n_arns, AWSP_ELB_NAMES, i);
	struct util_err e = UTIL_ERR_INIT;
	int r;

	r = describe_lbs(q->c, q->arns + start, n, &q->batches[i], &e);
	if (r == 0)
		return 0;
	prov_lb_list_release(&q->batches[i]);
	if (!lb_not_found(&e)) {
		util_err_copy(err, &e);
		return r;
	}
	for (size_t k = 0; n > 1 && k < n; k++) {
		util_err_clear(&e);
		r = describe_lbs(q->c, q->arns + start + k, 1, &q->batches[i],
				 &e);
		if (r < 0 && !lb_not_found(&e)) {
			util_err_copy(err, &e);
			return r;
		}
	}
	return 0;
}

int awsp_elbv2_load_balancers(struct awsp_client *c, const char *const *arns,
			      size_t n, unsigned conc, struct prov_lb_list *ret,
			      struct util_err *err)
{
	struct lbs_q q = { .c = c };
	size_t n_batches;
	int r;

	memset(ret, 0, sizeof(*ret));
	q.arns = awsp_strv_unique(arns, n, &q.n_arns);
	n_batches = (q.n_arns + AWSP_ELB_NAMES - 1) / AWSP_ELB_NAMES;
	q.batches = util_xcalloc(n_batches ? n_batches : 1, sizeof(*q.batches));
	r = awsp_ops_parallel(n_batches, conc, lbs_batch, &q, err);
	for (size_t i = 0; i < n_batches; i++) {
		if (r == 0)
			AWSP_LIST_MOVE(ret, &q.batches[i]);
		prov_lb_list_release(&q.batches[i]);
	}
	free(q.batches);
	free(q.arns);
	return r;
}
