#ifndef PROVIDERS_AWS_ENDPOINT_H
#define PROVIDERS_AWS_ENDPOINT_H

#include <stdbool.h>

#include "providers/aws/awsconfig.h"
#include "providers/aws/env.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * Services, their wire facts, and where their endpoint and the region come
 * from -- the order the AWS SDKs use (AWS-PROTOCOL.md section 6).
 */
enum awsp_service {
	AWSP_SVC_EC2 = 0,
	AWSP_SVC_ELB,	/* Classic, 2012-06-01 */
	AWSP_SVC_ELBV2, /* 2015-12-01 */
	AWSP_SVC_STS,
	AWSP_SVC_DYNAMODB,
	AWSP_SVC_COUNT,
};

struct awsp_service_info {
	const char *name; /* "ec2", "elb", "elbv2", "sts", "dynamodb" */
	const char *endpoint_prefix; /* host label: "elasticloadbalancing" */
	const char *signing_name;    /* SigV4 service: same as the prefix */
	const char *api_version;     /* "2016-11-15" */
	const char *env_suffix;	     /* AWS_ENDPOINT_URL_<suffix> */
	const char *services_key;    /* key in a [services] section */
	const char *endpoint_env;    /* "AWS_ENDPOINT_URL_EC2" */
	/*
	 * JSON 1.0 services only (DynamoDB): X-Amz-Target's prefix,
	 * "DynamoDB_20120810"; NULL for the Query protocol's services.
	 */
	const char *json_target;
};

const struct awsp_service_info *awsp_service(enum awsp_service svc);

/*
 * Where an endpoint or region came from, for `moor whoami` and --debug:
 * endpoints "AWS_ENDPOINT_URL_EC2" (the service's variable),
 * "AWS_ENDPOINT_URL", "profile services" (the [services NAME] section the
 * selected profile names), "profile endpoint_url", "default"; regions
 * "--region", "spec", "AWS_REGION", "AWS_DEFAULT_REGION", "profile".
 * Static strings; the profile is cfg->profile.
 */

/* A syntactically valid region name (one DNS label, botocore's rule). */
bool awsp_region_valid(const char *region);

/*
 * The endpoint URL for svc in region: the first of
 *   AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the [services] section
 *   named by the profile, the profile's endpoint_url
 * unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS (env or profile
 * ignore_configured_endpoint_urls) is true; else the default
 * https://PREFIX.REGION.amazonaws.com (amazonaws.com.cn for cn-* regions;
 * https://sts.amazonaws.com for STS without a region).  A configured URL
 * must be http(s)://host[...] and is returned without a trailing slash.
 * *ret_url is malloc'd (caller frees); *ret_source is static (ret_source
 * may be NULL).  cfg may be NULL.  UTIL_EINVAL for a malformed URL or
 * region name.
 */
int awsp_endpoint_resolve(enum awsp_service svc, const char *region,
			  const struct awsp_env *env,
			  const struct awsp_config *cfg, char **ret_url,
			  const char **ret_source, struct util_err *err);

/*
 * The region: cli_region (--region), then spec_region, then AWS_REGION,
 * AWS_DEFAULT_REGION, the profile's region.  Returns UTIL_ENOTFOUND
 * (err untouched) when none of these names one, so the caller can try
 * IMDS; UTIL_EINVAL for a malformed region name.  *ret_region malloc'd.
 */
int awsp_region_resolve(const char *cli_region, const char *spec_region,
			const struct awsp_env *env,
			const struct awsp_config *cfg, char **ret_region,
			const char **ret_source, struct util_err *err);

/*
 * The Host header for an absolute http(s) URL: "host[:port]" exactly as
 * written, except that the scheme's default port is dropped (as libcurl
 * and botocore do), so what is signed is what is sent.  Appends to out;
 * UTIL_EINVAL for a URL without scheme or host.
 */
int awsp_url_authority(const char *url, struct buf *out, struct util_err *err);

/* Message for "no region anywhere", naming every place that was looked at. */
int awsp_region_missing_error(struct util_err *err);

#endif
