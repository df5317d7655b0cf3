#ifndef PROVIDERS_AWS_AWS_H
#define PROVIDERS_AWS_AWS_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/provider.h"
#include "util/err.h"

/*
 * The AWS provider: struct prov (providers/provider.h) backed by EC2,
 * Classic ELB, ELBv2 and STS, and DynamoDB for the leases.
 *
 * prov_aws_new() resolves everything that does not need the network:
 * the shared config files and profile, the region (--region, the spec,
 * AWS_REGION, AWS_DEFAULT_REGION, the profile, then IMDS), one endpoint
 * per service (AWS_ENDPOINT_URL_<SVC>, AWS_ENDPOINT_URL, the profile's
 * services / endpoint_url, else the public one), the retry settings
 * (max_attempts, else AWS_MAX_ATTEMPTS, else the profile's max_attempts,
 * else default_max_attempts, else 3), the CA bundle (AWS_CA_BUNDLE, else the profile's ca_bundle)
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
 * A target group's deregistration delay is read only when asked for
 * (PROV_READ_DELAY), at most once per AWSP_TG_DELAY_TTL_MS (5 minutes),
 * and kept by ARN in the provider; Classic member health only with
 * PROV_READ_HEALTH or through classic_health.
 *
 * This header is the provider's whole public face; everything else under
 * providers/aws/ is internal (aws_internal.h has the hooks tests and
 * tools use).
 */

/*
 * Client-side token buckets, one per AWS throttling bucket (see
 * --rate-limit in moor(1) for the names).  Fill with
 * prov_aws_rate_limits_defaults(), then apply settings with
 * prov_aws_rate_limit_set().
 */
#define PROV_AWS_RATE_BUCKETS 11

struct prov_aws_rate_limits {
	struct {
		double burst;
		double rate; /* <= 0: the bucket is off (unlimited) */
	} b[PROV_AWS_RATE_BUCKETS];
};

/* AWS's documented defaults. */
void prov_aws_rate_limits_defaults(struct prov_aws_rate_limits *l);
/*
 * Apply one setting: "NAME=BURST/RATE" (e.g. "ec2-mutating=100/10",
 * rate may be fractional), "NAME=off", or "off" (every bucket).
 * UTIL_EINVAL with a message naming the valid buckets otherwise (l is
 * then unchanged).
 */
int prov_aws_rate_limit_set(struct prov_aws_rate_limits *l, const char *setting,
			    struct util_err *err);

/*
 * The refill per second of the read buckets `moor watch`'s AWS probes
 * spend (l NULL: the defaults): DescribeInstanceStatus by ids is
 * unfiltered and unpaginated (ec2-unfiltered), DescribeInstanceHealth
 * takes elb-describe, DescribeTargetHealth elbv2-describe, and both
 * elb-account.
 */
struct prov_aws_read_rates {
	double ec2_status, elb, elbv2, elb_account;
};

void prov_aws_read_rates(const struct prov_aws_rate_limits *l,
			 struct prov_aws_read_rates *ret);

/*
 * Parse a max-attempts value (--max-attempts): an integer from 1 to 100,
 * total attempts including the first.
 */
int prov_aws_parse_max_attempts(const char *s, unsigned *ret,
				struct util_err *err);

struct prov_aws_config {
	const char *region;	 /* --region; NULL = resolve */
	const char *spec_region; /* the spec's region:, or NULL */
	const char *profile;	 /* --profile; NULL = AWS_PROFILE, default */
	unsigned max_attempts;	 /* --max-attempts; 0 = see above */
	/*
	 * Used instead of 3 when nothing above sets max attempts (0 = 3): a
	 * caller whose only retry layer is this client picks its own.
	 */
	unsigned default_max_attempts;
	unsigned concurrency;	 /* 0 = PROV_AWS_DEFAULT_CONCURRENCY */
	long connect_timeout_ms; /* 0 = the default (10s) */
	long timeout_ms;	 /* per request; 0 = the default (60s) */
	/* Client-side token buckets; NULL = the AWS documented defaults. */
	const struct prov_aws_rate_limits *limits;
};

#define PROV_AWS_DEFAULT_CONCURRENCY 8

/* Caller frees *ret with prov_free().  cfg is not kept. */
int prov_aws_new(const struct prov_aws_config *cfg, struct prov **ret,
		 struct util_err *err);

/* Whether p is an AWS provider (the accessors below accept only those). */
bool prov_is_aws(const struct prov *p);

/* The services whose endpoint prov_aws_endpoint() reports. */
enum prov_aws_service {
	PROV_AWS_SVC_EC2 = 0,
	PROV_AWS_SVC_ELB,
	PROV_AWS_SVC_ELBV2,
	PROV_AWS_SVC_STS,
	PROV_AWS_SVC_DYNAMODB,
};

/*
 * For `moor whoami` and --debug.  Strings are valid as long as p (the
 * credential source: until the next call on p).  *ret_source (may be
 * NULL) receives where the value came from: endpoints
 * "AWS_ENDPOINT_URL_EC2" (the service's variable), "AWS_ENDPOINT_URL",
 * "profile services", "profile endpoint_url", "default"; regions
 * "--region", "spec", "AWS_REGION", "AWS_DEFAULT_REGION", "profile",
 * "imds".
 */
const char *prov_aws_region(struct prov *p, const char **ret_source);
const char *prov_aws_endpoint(struct prov *p, enum prov_aws_service svc,
			      const char **ret_source);
/* The profile in use ("default" when none was named). */
const char *prov_aws_profile(struct prov *p);
/*
 * Which credential source answered ("env", "web-identity",
 * "profile:dev (assume-role)", ...); NULL before the first call.
 */
const char *prov_aws_creds_source(struct prov *p);
unsigned prov_aws_max_attempts(struct prov *p);

#endif
