#include "providers/aws/aws.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/aws_internal.h"
#include "providers/aws/awsconfig.h"
#include "providers/aws/client.h"
#include "providers/aws/creds.h"
#include "providers/aws/endpoint.h"
#include "providers/aws/env.h"
#include "providers/aws/http.h"
#include "providers/aws/ops.h"
#include "providers/aws/ratelimit.h"
#include "providers/aws/retry.h"
#include "providers/provider.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/banned.h"

/* The services the provider talks to (DynamoDB: the lease ops). */
static const enum awsp_service s_services[] = {
	AWSP_SVC_EC2, AWSP_SVC_ELB,	 AWSP_SVC_ELBV2,
	AWSP_SVC_STS, AWSP_SVC_DYNAMODB,
};

struct aws {
	struct prov prov;
	const struct awsp_env *env;
	struct awsp_config *config;
	char *region;
	const char *region_source;
	char *endpoints[AWSP_SVC_COUNT];
	const char *endpoint_sources[AWSP_SVC_COUNT];
	struct awsp_http *http; /* NULL with an injected transport */
	struct awsp_transport transport;
	struct awsp_creds *creds;
	struct awsp_client *client;
	struct awsp_tg_cache *tg_cache;
	unsigned concurrency;
	unsigned max_attempts;
};

static const struct prov_ops aws_ops;

static struct aws *aws_of(struct prov *p)
{
	return p->impl;
}

bool prov_is_aws(const struct prov *p)
{
	return p && p->ops == &aws_ops;
}

/* --- the vtable ------------------------------------------------------------ */

static void aws_free(struct prov *p)
{
	struct aws *a = aws_of(p);

	awsp_client_free(a->client);
	awsp_tg_cache_free(a->tg_cache);
	awsp_creds_free(a->creds);
	awsp_http_free(a->http);
	for (size_t i = 0; i < AWSP_SVC_COUNT; i++)
		free(a->endpoints[i]);
	free(a->region);
	awsp_config_free(a->config);
	free(a);
}

static int aws_identity(struct prov *p, struct prov_identity *ret,
			struct util_err *err)
{
	return awsp_sts_caller_identity(aws_of(p)->client, ret, err);
}

static int aws_instances_by_id(struct prov *p, const char *const *ids, size_t n,
			       struct prov_instance_list *ret,
			       struct util_err *err)
{
	struct aws *a = aws_of(p);

	return awsp_ec2_instances_by_id(a->client, ids, n, a->concurrency, ret,
					err);
}

static int aws_instances_by_selector(struct prov *p,
				     const struct prov_selector *sel,
				     struct prov_instance_list *ret,
				     struct util_err *err)
{
	return awsp_ec2_instances_by_selector(aws_of(p)->client, sel, ret, err);
}

static int aws_enis_by_id(struct prov *p, const char *const *ids, size_t n,
			  struct prov_eni_list *ret, struct util_err *err)
{
	struct aws *a = aws_of(p);

	return awsp_ec2_enis_by_id(a->client, ids, n, a->concurrency, ret, err);
}

static int aws_classic_lbs(struct prov *p, const char *const *names, size_t n,
			   unsigned what, struct prov_classic_lb_list *ret,
			   struct util_err *err)
{
	struct aws *a = aws_of(p);

	return awsp_elb_load_balancers(a->client, names, n, a->concurrency,
				       what & PROV_READ_HEALTH, ret, err);
}

static int aws_target_groups(struct prov *p, const char *const *names_or_arns,
			     size_t n, unsigned what,
			     struct prov_target_group_list *ret,
			     struct util_err *err)
{
	struct aws *a = aws_of(p);

	return awsp_elbv2_target_groups(a->client, names_or_arns, n,
					a->concurrency, what & PROV_READ_DELAY,
					a->tg_cache, ret, err);
}

static int aws_lbs_v2(struct prov *p, const char *const *arns, size_t n,
		      struct prov_lb_list *ret, struct util_err *err)
{
	struct aws *a = aws_of(p);

	return awsp_elbv2_load_balancers(a->client, arns, n, a->concurrency,
					 ret, err);
}

static int aws_vpcs(struct prov *p, const char *const *ids, size_t n,
		    struct prov_vpc_list *ret, struct util_err *err)
{
	return awsp_ec2_vpcs(aws_of(p)->client, ids, n, ret, err);
}

static int aws_classic_enable_zones(struct prov *p, const char *lb,
				    const char *const *zones, size_t n,
				    struct util_err *err)
{
	return awsp_elb_enable_zones(aws_of(p)->client, lb, zones, n, err);
}

static int aws_addresses(struct prov *p, const struct prov_address_query *q,
			 struct prov_address_list *ret, struct util_err *err)
{
	return awsp_ec2_addresses(aws_of(p)->client, q, ret, err);
}

static int aws_classic_register(struct prov *p, const char *lb,
				const char *const *instance_ids, size_t n,
				struct util_err *err)
{
	return awsp_elb_register(aws_of(p)->client, lb, instance_ids, n, false,
				 err);
}

static int aws_classic_deregister(struct prov *p, const char *lb,
				  const char *const *instance_ids, size_t n,
				  struct util_err *err)
{
	return awsp_elb_register(aws_of(p)->client, lb, instance_ids, n, true,
				 err);
}

static int aws_tg_register(struct prov *p, const char *tg_arn,
			   const struct prov_target_ref *targets, size_t n,
			   struct util_err *err)
{
	return awsp_elbv2_register(aws_of(p)->client, tg_arn, targets, n, false,
				   err);
}

static int aws_tg_deregister(struct prov *p, const char *tg_arn,
			     const struct prov_target_ref *targets, size_t n,
			     struct util_err *err)
{
	return awsp_elbv2_register(aws_of(p)->client, tg_arn, targets, n, true,
				   err);
}

static int aws_associate(struct prov *p, const struct prov_associate *req,
			 char **ret_association_id, struct util_err *err)
{
	return awsp_ec2_associate(aws_of(p)->client, req, ret_association_id,
				  err);
}

static int aws_disassociate(struct prov *p, const char *association_id,
			    struct util_err *err)
{
	return awsp_ec2_disassociate(aws_of(p)->client, association_id, err);
}

static int aws_allocate(struct prov *p, const struct prov_tag *tags,
			size_t n_tags, struct prov_address *ret,
			struct util_err *err)
{
	return awsp_ec2_allocate(aws_of(p)->client, tags, n_tags, ret, err);
}

static int aws_instance_status(struct prov *p, const char *const *ids, size_t n,
			       struct prov_instance_status_list *ret,
			       struct util_err *err)
{
	struct awsp_instance_status_list l;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!n)
		return 0; /* none asked is none, not every instance */
	r = prov_aws_instance_status(p, ids, n, true, &l, err);
	if (r < 0)
		return r;
	ret->v = util_xcalloc(l.n ? l.n : 1, sizeof(*ret->v));
	for (size_t i = 0; i < l.n; i++) {
		struct prov_instance_status *o = &ret->v[ret->n++];

		o->instance_id = l.v[i].instance_id;
		o->state = l.v[i].state;
		o->system_status = l.v[i].system_status;
		o->instance_status = l.v[i].instance_status;
		l.v[i].instance_id = NULL;
		l.v[i].system_status = NULL;
		l.v[i].instance_status = NULL;
	}
	awsp_instance_status_list_release(&l);
	return 0;
}

static int aws_target_health(struct prov *p, const char *name_or_arn,
			     struct prov_target_group *ret,
			     struct util_err *err)
{
	struct aws *a = aws_of(p);

	return awsp_elbv2_target_health(a->client, a->tg_cache, name_or_arn,
					ret, err);
}

static int aws_classic_health(struct prov *p, const char *lb,
			      struct prov_classic_lb *ret, struct util_err *err)
{
	return awsp_elb_instance_health(aws_of(p)->client, lb, ret, err);
}

static int aws_lease_table_check(struct prov *p, const char *table,
				 struct util_err *err)
{
	return awsp_ddb_table_check(aws_of(p)->client, table, err);
}

static int aws_lease_list(struct prov *p, const char *table,
			  struct prov_lease_list *ret, struct util_err *err)
{
	return awsp_ddb_list(aws_of(p)->client, table, ret, err);
}

static int aws_lease_get(struct prov *p, const char *table, const char *name,
			 struct prov_lease *ret, struct util_err *err)
{
	return awsp_ddb_get(aws_of(p)->client, table, name, ret, err);
}

static int aws_lease_acquire(struct prov *p, const char *table,
			     const struct prov_lease_write *w,
			     const char *prev_rvn, struct util_err *err)
{
	return awsp_ddb_acquire(aws_of(p)->client, table, w, prev_rvn, err);
}

static int aws_lease_renew(struct prov *p, const char *table,
			   const struct prov_lease_write *w,
			   const char *prev_rvn, struct util_err *err)
{
	return awsp_ddb_renew(aws_of(p)->client, table, w, prev_rvn, err);
}

static int aws_lease_release(struct prov *p, const char *table,
			     const char *name, const char *holder,
			     const char *rvn, const char *new_rvn,
			     struct util_err *err)
{
	return awsp_ddb_release(aws_of(p)->client, table, name, holder, rvn,
				new_rvn, err);
}

static const struct prov_ops aws_ops = {
	.name = "aws",
	.free = aws_free,
	.identity = aws_identity,
	.instances_by_id = aws_instances_by_id,
	.instances_by_selector = aws_instances_by_selector,
	.enis_by_id = aws_enis_by_id,
	.classic_lbs = aws_classic_lbs,
	.target_groups = aws_target_groups,
	.addresses = aws_addresses,
	.lbs_v2 = aws_lbs_v2,
	.vpcs = aws_vpcs,
	.instance_status = aws_instance_status,
	.target_health = aws_target_health,
	.classic_health = aws_classic_health,
	.classic_register = aws_classic_register,
	.classic_deregister = aws_classic_deregister,
	.classic_enable_zones = aws_classic_enable_zones,
	.tg_register = aws_tg_register,
	.tg_deregister = aws_tg_deregister,
	.associate = aws_associate,
	.disassociate = aws_disassociate,
	.allocate = aws_allocate,
	.lease_table_check = aws_lease_table_check,
	.lease_list = aws_lease_list,
	.lease_get = aws_lease_get,
	.lease_acquire = aws_lease_acquire,
	.lease_renew = aws_lease_renew,
	.lease_release = aws_lease_release,
};

/* --- construction ---------------------------------------------------------- */

static int creds_get(void *ctx, struct awsp_credentials *ret,
		     struct util_err *err)
{
	return awsp_creds_get(ctx, ret, err);
}

/*
 * max_attempts: explicit, else AWS_MAX_ATTEMPTS, else the profile's, else
 * the caller's default.
 */
static int resolve_max_attempts(const struct prov_aws_config *cfg,
				struct aws *a, struct util_err *err)
{
	const char *s;

	if (cfg->max_attempts) {
		if (cfg->max_attempts > AWSP_RETRY_MAX_ATTEMPTS_LIMIT)
			return util_err_set(err, UTIL_EINVAL,
					    "invalid max attempts %u (expected "
					    "1 to %d)",
					    cfg->max_attempts,
					    AWSP_RETRY_MAX_ATTEMPTS_LIMIT);
		a->max_attempts = cfg->max_attempts;
		return 0;
	}
	a->max_attempts = AWSP_RETRY_DEFAULT_MAX_ATTEMPTS;
	if (cfg->default_max_attempts &&
	    cfg->default_max_attempts <= AWSP_RETRY_MAX_ATTEMPTS_LIMIT)
		a->max_attempts = cfg->default_max_attempts;
	s = awsp_getenv_nonempty(a->env, "AWS_MAX_ATTEMPTS");
	if (s) {
		if (awsp_retry_parse_max_attempts(s, &a->max_attempts, err) <
		    0) {
			util_err_prefix(err, "AWS_MAX_ATTEMPTS");
			return UTIL_EINVAL;
		}
		return 0;
	}
	s = awsp_profile_get(a->config, NULL, "max_attempts");
	if (s && *s &&
	    awsp_retry_parse_max_attempts(s, &a->max_attempts, err) < 0) {
		util_err_prefix(err, "profile %s max_attempts",
				a->config->profile);
		return UTIL_EINVAL;
	}
	return 0;
}

static int resolve_region(const struct prov_aws_config *cfg,
			  const struct prov_aws_hooks *h, struct aws *a,
			  struct util_err *err)
{
	struct awsp_creds_config cc = { 0 };
	int r;

	r = awsp_region_resolve(cfg->region, cfg->spec_region, a->env,
				a->config, &a->region, &a->region_source, err);
	if (r != UTIL_ENOTFOUND)
		return r;
	/* Last: the instance's own region, when running on EC2. */
	cc.env = a->env;
	cc.config = a->config;
	cc.transport = &a->transport;
	cc.clock = h->clock ? h->clock : &util_clock_system;
	r = awsp_imds_region(&cc, &a->region, NULL);
	if (r == 0) {
		a->region_source = "imds";
		return 0;
	}
	return awsp_region_missing_error(err);
}

int prov_aws_new(const struct prov_aws_config *cfg, struct prov **ret,
		 struct util_err *err)
{
	return prov_aws_new_hooked(cfg, NULL, ret, err);
}

/* The public bucket table is the internal one, field for field. */
_Static_assert(PROV_AWS_RATE_BUCKETS == AWSP_RL_COUNT,
	       "aws.h's bucket count follows ratelimit.h");

void prov_aws_read_rates(const struct prov_aws_rate_limits *l,
			 struct prov_aws_read_rates *ret)
{
	struct prov_aws_rate_limits d;

	if (!l) {
		prov_aws_rate_limits_defaults(&d);
		l = &d;
	}
	ret->ec2_status = l->b[AWSP_RL_EC2_UNFILTERED].rate;
	ret->elb = l->b[AWSP_RL_ELB_READ].rate;
	ret->elbv2 = l->b[AWSP_RL_ELBV2_READ].rate;
	ret->elb_account = l->b[AWSP_RL_ELB_ACCOUNT].rate;
}

static void limits_to_internal(const struct prov_aws_rate_limits *l,
			       struct awsp_ratelimit_config *ret)
{
	for (size_t i = 0; i < AWSP_RL_COUNT; i++) {
		ret->b[i].burst = l->b[i].burst;
		ret->b[i].rate = l->b[i].rate;
	}
}

static void limits_to_public(const struct awsp_ratelimit_config *c,
			     struct prov_aws_rate_limits *ret)
{
	for (size_t i = 0; i < AWSP_RL_COUNT; i++) {
		ret->b[i].burst = c->b[i].burst;
		ret->b[i].rate = c->b[i].rate;
	}
}

void prov_aws_rate_limits_defaults(struct prov_aws_rate_limits *l)
{
	struct awsp_ratelimit_config c;

	awsp_ratelimit_defaults(&c);
	limits_to_public(&c, l);
}

int prov_aws_rate_limit_set(struct prov_aws_rate_limits *l, const char *setting,
			    struct util_err *err)
{
	struct awsp_ratelimit_config c;
	int r;

	limits_to_internal(l, &c);
	r = awsp_ratelimit_config_set(&c, setting, err);
	if (r == 0)
		limits_to_public(&c, l);
	return r;
}

int prov_aws_parse_max_attempts(const char *s, unsigned *ret,
				struct util_err *err)
{
	return awsp_retry_parse_max_attempts(s, ret, err);
}

/* The injected transport, else libcurl with the timeouts and CA bundle. */
static int open_transport(const struct prov_aws_config *cfg,
			  const struct prov_aws_hooks *h, struct aws *a,
			  struct util_err *err)
{
	struct awsp_http_config hc;
	const char *ca;
	int r;

	if (h->transport) {
		a->transport = *h->transport;
		return 0;
	}
	awsp_http_config_init(&hc);
	if (cfg->connect_timeout_ms > 0)
		hc.connect_timeout_ms = cfg->connect_timeout_ms;
	if (cfg->timeout_ms > 0)
		hc.timeout_ms = cfg->timeout_ms;
	hc.forbid_reuse = h->forbid_reuse;
	ca = awsp_getenv_nonempty(a->env, "AWS_CA_BUNDLE");
	if (!ca)
		ca = awsp_profile_get(a->config, NULL, "ca_bundle");
	hc.ca_bundle = ca && *ca ? ca : NULL;
	r = awsp_http_new(&hc, &a->http, err);
	if (r < 0)
		return r;
	a->transport = awsp_http_transport(a->http);
	return 0;
}

/* Opens everything prov_aws_new promises (aws.h), in that order. */
int prov_aws_new_hooked(const struct prov_aws_config *cfg,
			const struct prov_aws_hooks *hooks, struct prov **ret,
			struct util_err *err)
{
	static const struct prov_aws_hooks none;
	const struct prov_aws_hooks *h = hooks ? hooks : &none;
	struct aws *a = util_xcalloc(1, sizeof(*a));
	struct awsp_client_config cc = { 0 };
	struct awsp_creds_config crc = { 0 };
	struct awsp_ratelimit_config limits;
	int r;

	a->env = h->env ? h->env : &awsp_env_process;
	a->concurrency = cfg->concurrency ? cfg->concurrency
					  : PROV_AWS_DEFAULT_CONCURRENCY;
	r = awsp_config_load(a->env, cfg->profile, &a->config, err);
	if (r < 0)
		goto fail;
	r = resolve_max_attempts(cfg, a, err);
	if (r < 0)
		goto fail;

	r = open_transport(cfg, h, a, err);
	if (r < 0)
		goto fail;

	r = resolve_region(cfg, h, a, err);
	if (r < 0)
		goto fail;
	for (size_t i = 0; i < ARRAY_SIZE(s_services); i++) {
		enum awsp_service svc = s_services[i];

		r = awsp_endpoint_resolve(svc, a->region, a->env, a->config,
					  &a->endpoints[svc],
					  &a->endpoint_sources[svc], err);
		if (r < 0)
			goto fail;
	}

	crc.env = a->env;
	crc.config = a->config;
	crc.transport = &a->transport;
	crc.clock = h->clock ? h->clock : &util_clock_system;
	crc.region = a->region;
	r = awsp_creds_new(&crc, &a->creds, err);
	if (r < 0)
		goto fail;

	cc.transport = &a->transport;
	cc.creds.get = creds_get;
	cc.creds.ctx = a->creds;
	cc.region = a->region;
	for (size_t i = 0; i < AWSP_SVC_COUNT; i++)
		cc.endpoints[i] = a->endpoints[i];
	cc.clock = h->clock;
	cc.random = h->random;
	cc.max_attempts = a->max_attempts;
	if (cfg->limits) {
		limits_to_internal(cfg->limits, &limits);
		cc.limits = &limits;
	}
	cc.max_inflight = a->concurrency;
	r = awsp_client_new(&cc, &a->client, err);
	if (r < 0)
		goto fail;
	a->tg_cache = awsp_tg_cache_new(h->clock, AWSP_TG_DELAY_TTL_MS);

	a->prov.ops = &aws_ops;
	a->prov.impl = a;
	*ret = &a->prov;
	return 0;
fail:
	a->prov.impl = a;
	aws_free(&a->prov);
	return r;
}

/* --- accessors --------------------------------------------------------------- */

const char *prov_aws_region(struct prov *p, const char **ret_source)
{
	struct aws *a;

	if (!prov_is_aws(p))
		return NULL;
	a = aws_of(p);
	if (ret_source)
		*ret_source = a->region_source;
	return a->region;
}

/* aws.h's services are endpoint.h's, same numbers. */
_Static_assert((int)PROV_AWS_SVC_EC2 == (int)AWSP_SVC_EC2 &&
		       (int)PROV_AWS_SVC_ELB == (int)AWSP_SVC_ELB &&
		       (int)PROV_AWS_SVC_ELBV2 == (int)AWSP_SVC_ELBV2 &&
		       (int)PROV_AWS_SVC_STS == (int)AWSP_SVC_STS &&
		       (int)PROV_AWS_SVC_DYNAMODB == (int)AWSP_SVC_DYNAMODB,
	       "aws.h's services follow endpoint.h");

const char *prov_aws_endpoint(struct prov *p, enum prov_aws_service svc,
			      const char **ret_source)
{
	struct aws *a;

	if (!prov_is_aws(p) || (size_t)svc >= AWSP_SVC_COUNT)
		return NULL;
	a = aws_of(p);
	if (ret_source)
		*ret_source = a->endpoint_sources[svc];
	return a->endpoints[svc];
}

const char *prov_aws_profile(struct prov *p)
{
	return prov_is_aws(p) ? aws_of(p)->config->profile : NULL;
}

const char *prov_aws_creds_source(struct prov *p)
{
	return prov_is_aws(p) ? awsp_creds_source(aws_of(p)->creds) : NULL;
}

unsigned prov_aws_max_attempts(struct prov *p)
{
	return prov_is_aws(p) ? aws_of(p)->max_attempts : 0;
}

void prov_aws_get_stats(struct prov *p, struct prov_aws_stats *ret)
{
	struct aws *a;

	memset(ret, 0, sizeof(*ret));
	if (!prov_is_aws(p))
		return;
	a = aws_of(p);
	awsp_client_get_stats(a->client, &ret->client);
	if (a->http)
		awsp_http_get_stats(a->http, &ret->http);
}

int prov_aws_instance_status(struct prov *p, const char *const *ids, size_t n,
			     bool include_all,
			     struct awsp_instance_status_list *ret,
			     struct util_err *err)
{
	struct aws *a;

	if (!prov_is_aws(p))
		return util_err_set(err, UTIL_EINVAL, "not an AWS provider");
	a = aws_of(p);
	return awsp_ec2_instance_status(a->client, ids, n, include_all,
					a->concurrency, ret, err);
}
