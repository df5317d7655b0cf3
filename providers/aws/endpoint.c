#include "providers/aws/endpoint.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/alloc.h"
#include "util/banned.h"

/*
 * From the service models (AWS-PROTOCOL.md sections 1 and 6): no model
 * sets signingName, so the signing name is the endpointPrefix; the env
 * suffix and [services] key come from the serviceId.
 */
static const struct awsp_service_info services[AWSP_SVC_COUNT] = {
	[AWSP_SVC_EC2] = {
		.name = "ec2",
		.endpoint_prefix = "ec2",
		.signing_name = "ec2",
		.api_version = "2016-11-15",
		.env_suffix = "EC2",
		.services_key = "ec2",
		.endpoint_env = "AWS_ENDPOINT_URL_EC2",
	},
	[AWSP_SVC_ELB] = {
		.name = "elb",
		.endpoint_prefix = "elasticloadbalancing",
		.signing_name = "elasticloadbalancing",
		.api_version = "2012-06-01",
		.env_suffix = "ELASTIC_LOAD_BALANCING",
		.services_key = "elastic_load_balancing",
		.endpoint_env = "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING",
	},
	[AWSP_SVC_ELBV2] = {
		.name = "elbv2",
		.endpoint_prefix = "elasticloadbalancing",
		.signing_name = "elasticloadbalancing",
		.api_version = "2015-12-01",
		.env_suffix = "ELASTIC_LOAD_BALANCING_V2",
		.services_key = "elastic_load_balancing_v2",
		.endpoint_env = "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2",
	},
	[AWSP_SVC_STS] = {
		.name = "sts",
		.endpoint_prefix = "sts",
		.signing_name = "sts",
		.api_version = "2011-06-15",
		.env_suffix = "STS",
		.services_key = "sts",
		.endpoint_env = "AWS_ENDPOINT_URL_STS",
	},
	[AWSP_SVC_DYNAMODB] = {
		.name = "dynamodb",
		.endpoint_prefix = "dynamodb",
		.signing_name = "dynamodb",
		.api_version = "2012-08-10",
		.env_suffix = "DYNAMODB",
		.services_key = "dynamodb",
		.endpoint_env = "AWS_ENDPOINT_URL_DYNAMODB",
		.json_target = "DynamoDB_20120810",
	},
};

const struct awsp_service_info *awsp_service(enum awsp_service svc)
{
	if ((int)svc < 0 || svc >= AWSP_SVC_COUNT)
		return NULL;
	return &services[svc];
}

bool awsp_region_valid(const char *region)
{
	/* botocore's validate_region_name: one DNS label. */
	size_t n = region ? strlen(region) : 0;

	if (n < 1 || n > 63 || region[0] == '-' || region[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = region[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* "true" in either place (env first, as botocore's config chain). */
static bool ignore_configured(const struct awsp_env *env,
			      const struct awsp_config *cfg)
{
	const char *v = awsp_getenv(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS");

	if (!v && cfg)
		v = awsp_profile_get(cfg, NULL,
				     "ignore_configured_endpoint_urls");
	return v && !strcasecmp(v, "true");
}

/*
 * A configured endpoint must be an absolute http(s) URL with a host; it
 * is returned without trailing slashes so callers can append "/".
 */
static int take_url(const char *url, const char *source, char **ret_url,
		    struct util_err *err)
{
	const char *host;
	size_t n = strlen(url);

	if (!strncasecmp(url, "https://", 8))
		host = url + 8;
	else if (!strncasecmp(url, "http://", 7))
		host = url + 7;
	else
		host = NULL;
	if (!host || !*host || *host == '/' || strpbrk(url, " \t\r\n"))
		return util_err_set(err, UTIL_EINVAL,
				    "invalid endpoint URL '%s' from %s: want "
				    "http(s)://host[:port]",
				    url, source);
	while (n && url[n - 1] == '/')
		n--;
	*ret_url = util_xstrndup(url, n);
	return 0;
}

int awsp_endpoint_resolve(enum awsp_service svc, const char *region,
			  const struct awsp_env *env,
			  const struct awsp_config *cfg, char **ret_url,
			  const char **ret_source, struct util_err *err)
{
	const struct awsp_service_info *info = awsp_service(svc);
	const char *v, *unused;

	if (!ret_source)
		ret_source = &unused;
	if (!info)
		return util_err_set(err, UTIL_EINVAL, "unknown AWS service");
	if (!ignore_configured(env, cfg)) {
		v = awsp_getenv_nonempty(env, info->endpoint_env);
		if (v) {
			*ret_source = info->endpoint_env;
			return take_url(v, info->endpoint_env, ret_url, err);
		}
		v = awsp_getenv_nonempty(env, "AWS_ENDPOINT_URL");
		if (v) {
			*ret_source = "AWS_ENDPOINT_URL";
			return take_url(v, *ret_source, ret_url, err);
		}
		v = cfg ? awsp_profile_service_endpoint(cfg, NULL,
							info->services_key)
			: NULL;
		if (v && *v) {
			*ret_source = "profile services";
			return take_url(v, "the profile's services section",
					ret_url, err);
		}
		v = cfg ? awsp_profile_get(cfg, NULL, "endpoint_url") : NULL;
		if (v && *v) {
			*ret_source = "profile endpoint_url";
			return take_url(v, "the profile's endpoint_url",
					ret_url, err);
		}
	}
	if (!region || !*region) {
		if (svc == AWSP_SVC_STS) {
			/* STS alone has a global endpoint. */
			*ret_url = util_xstrdup("https://sts.amazonaws.com");
			*ret_source = "default";
			return 0;
		}
		return awsp_region_missing_error(err);
	}
	if (!awsp_region_valid(region))
		return util_err_set(err, UTIL_EINVAL,
				    "invalid region name '%s'", region);
	*ret_url = util_xasprintf("https://%s.%s.%s", info->endpoint_prefix,
				  region,
				  strncmp(region, "cn-", 3)
					  ? "amazonaws.com"
					  : "amazonaws.com.cn");
	*ret_source = "default";
	return 0;
}

int awsp_region_resolve(const char *cli_region, const char *spec_region,
			const struct awsp_env *env,
			const struct awsp_config *cfg, char **ret_region,
			const char **ret_source, struct util_err *err)
{
	const char *v = NULL, *source = NULL;

	if (cli_region) {
		v = cli_region;
		source = "--region";
	} else if (spec_region && *spec_region) {
		v = spec_region;
		source = "spec";
	} else if ((v = awsp_getenv_nonempty(env, "AWS_REGION"))) {
		source = "AWS_REGION";
	} else if ((v = awsp_getenv_nonempty(env, "AWS_DEFAULT_REGION"))) {
		source = "AWS_DEFAULT_REGION";
	} else if (cfg && (v = awsp_profile_get(cfg, NULL, "region")) && *v) {
		source = "profile";
	} else {
		return UTIL_ENOTFOUND;
	}
	if (!awsp_region_valid(v))
		return util_err_set(err, UTIL_EINVAL,
				    "invalid region name '%s' (from %s)", v,
				    source);
	*ret_region = util_xstrdup(v);
	if (ret_source)
		*ret_source = source;
	return 0;
}

int awsp_url_authority(const char *url, struct buf *out, struct util_err *err)
{
	const char *host, *end, *port;
	const char *dflt;

	if (!strncasecmp(url, "https://", 8)) {
		host = url + 8;
		dflt = "443";
	} else if (!strncasecmp(url, "http://", 7)) {
		host = url + 7;
		dflt = "80";
	} else {
		return util_err_set(err, UTIL_EINVAL, "URL '%s' is not http(s)",
				    url);
	}
	end = host + strcspn(host, "/?#");
	/* Userinfo is never sent in Host. */
	for (const char *at = host; at < end; at++)
		if (*at == '@')
			host = at + 1;
	if (end == host)
		return util_err_set(err, UTIL_EINVAL, "URL '%s' has no host",
				    url);
	port = end;
	while (port > host && port[-1] >= '0' && port[-1] <= '9')
		port--;
	if (port > host && port[-1] == ':' && port < end &&
	    (size_t)(end - port) == strlen(dflt) &&
	    !strncmp(port, dflt, strlen(dflt)))
		end = port - 1;
	buf_add(out, host, (size_t)(end - host));
	return 0;
}

int awsp_region_missing_error(struct util_err *err)
{
	return util_err_set(err, UTIL_ENOTFOUND,
			    "no AWS region: give --region, set region in the "
			    "spec, AWS_REGION or AWS_DEFAULT_REGION, or region "
			    "in the profile (~/.aws/config); instance "
			    "metadata named none (disabled, unreachable or "
			    "not on EC2)");
}
