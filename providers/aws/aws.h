#ifndef PROVIDERS_AWS_AWS_H
#define PROVIDERS_AWS_AWS_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/aws/client.h"
#include "providers/aws/endpoint.h"
#include "providers/aws/env.h"
#include "providers/aws/http.h"
#include "providers/aws/ops.h"
#include "providers/aws/ratelimit.h"
#include "providers/aws/retry.h"
#include "providers/provider.h"
#include "util/clock.h"
#include "util/err.h"

/*
 * The AWS provider: struct prov (providers/provider.h) backed by EC2,
 * Classic ELB, ELBv2 and STS.
 *
 * prov_aws_new() resolves everything that does not need the network:
 * the shared config files and profile, the region (--region, the spec,
 * AWS_REGION, AWS_DEFAULT_REGION, the profile, then IMDS), one endpoint
 * per service (AWS_ENDPOINT_URL_<SVC>, AWS_ENDPOINT_URL, the profile's
 * services / endpoint_url, else the public one), the retry settings
 * (max_attempts, else AWS_MAX_ATTEMPTS, else the profile's max_attempts,
 * else 3), the CA bundle (AWS_CA_BUNDLE, else the profile's ca_bundle)
 * and the credential chain.  Credentials are fetched on the first call
 * that needs them; a missing profile, a malformed region or endpoint
 * fail here.
 *
 * Every op of the vtable is thread-safe.  Independent reads inside one op
 * (chunks of ids, per-group health) run up to `concurrency` at a time,
 * and the whole provider keeps at most `concurrency` requests on the
 * wire however many threads call it, so the engine can fan out freely
 * (e.g. 50 AssociateAddress calls through util_parallel).
 *
 * A target group's deregistration delay is read at most once per
 * AWSP_TG_DELAY_TTL_MS (5 minutes) and kept by ARN in the provider, so
 * repeated reads of a group (the engine's waits) cost DescribeTargetGroups
 * and DescribeTargetHealth only.
 */

struct prov_aws_config {
	const char *region;	 /* --region; NULL = resolve */
	const char *spec_region; /* the spec's region:, or NULL */
	const char *profile;	 /* --profile; NULL = AWS_PROFILE, default */
	unsigned max_attempts;	 /* --max-attempts; 0 = see above */
	unsigned concurrency;	 /* 0 = PROV_AWS_DEFAULT_CONCURRENCY */
	long connect_timeout_ms; /* 0 = AWSP_HTTP_CONNECT_TIMEOUT_MS */
	long timeout_ms;	 /* per request; 0 = AWSP_HTTP_TIMEOUT_MS */
	/* Client-side token buckets; NULL = the AWS documented defaults. */
	const struct awsp_ratelimit_config *limits;

	/* For tests and benchmarks; leave zeroed otherwise. */
	const struct awsp_env *env;		/* NULL = the process's */
	const struct util_clock *clock;		/* NULL = system */
	struct awsp_random random;		/* .next NULL = system */
	const struct awsp_transport *transport; /* NULL = libcurl */
	bool forbid_reuse; /* libcurl: a new connection per request */
};

#define PROV_AWS_DEFAULT_CONCURRENCY 8

/* Caller frees *ret with prov_free().  cfg is not kept. */
int prov_aws_new(const struct prov_aws_config *cfg, struct prov **ret,
		 struct util_err *err);

/* Whether p is an AWS provider (the accessors below accept only those). */
bool prov_is_aws(const struct prov *p);

/*
 * For `moor whoami` and --debug.  Strings are valid as long as p (the
 * credential source: until the next call on p).  *ret_source (may be
 * NULL) receives where the value came from (endpoint.h's names).
 */
const char *prov_aws_region(struct prov *p, const char **ret_source);
const char *prov_aws_endpoint(struct prov *p, enum awsp_service svc,
			      const char **ret_source);
/* The profile in use ("default" when none was named). */
const char *prov_aws_profile(struct prov *p);
/*
 * Which credential source answered ("env", "web-identity",
 * "profile:dev (assume-role)", ...); NULL before the first call.
 */
const char *prov_aws_creds_source(struct prov *p);
unsigned prov_aws_max_attempts(struct prov *p);

/*
 * Counters since prov_aws_new: requests, retries, throttles, lost
 * answers, the retry quota, the token buckets (taken, waits), and the
 * transport's connections (zero with an injected transport).
 */
struct prov_aws_stats {
	struct awsp_client_stats client;
	struct awsp_http_stats http;
};

void prov_aws_get_stats(struct prov *p, struct prov_aws_stats *ret);

/*
 * EC2 instance status checks, which provider.h has no op for yet: every
 * instance (ids NULL/0; include_all: not only running ones) or those of
 * ids (unknown ids are absent).  Release ret with
 * awsp_instance_status_list_release() (ops.h).
 */
int prov_aws_instance_status(struct prov *p, const char *const *ids, size_t n,
			     bool include_all,
			     struct awsp_instance_status_list *ret,
			     struct util_err *err);

#endif
