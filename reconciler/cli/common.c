/*
 * What the commands share (common.h): the AWS options, the provider they
 * open, name lists, loading a spec.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/aws.h"
#include "providers/provider.h"
#include "reconciler/cli/common.h"
#include "reconciler/cli/output.h"
#include "reconciler/daemon/awsprobe.h"
#include "spec/spec.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/parse.h"
#include "util/banned.h"

/* A timeout option's value (arg, parsed as ms) must be 1ms to 1h. */
static int check_timeout(const char *arg, uint64_t ms, struct util_err *err)
{
	if (ms == 0 || ms > 3600 * 1000)
		return util_err_set(err, UTIL_EINVAL,
				    "'%s' is not between 1ms and 1h", arg);
	return 0;
}

int parse_common_opt(int opt, const char *arg, struct common_opts *o)
{
	struct util_err err = UTIL_ERR_INIT;
	unsigned attempts;
	const char *name = NULL;
	int r = 0;

	switch (opt) {
	case COPT_REGION:
		o->region = arg;
		return 1;
	case COPT_PROFILE:
		o->profile = arg;
		return 1;
	case COPT_DEBUG:
		o->debug = 1;
		return 1;
	case COPT_MAX_ATTEMPTS:
		name = "--max-attempts";
		r = prov_aws_parse_max_attempts(arg, &attempts, &err);
		if (r == 0)
			o->max_attempts = (int)attempts;
		break;
	case COPT_AWS_CONCURRENCY:
		name = "--aws-concurrency";
		r = util_parse_int(arg, 1, 64, &o->aws_concurrency, &err);
		break;
	case COPT_CONNECT_TIMEOUT:
		name = "--connect-timeout";
		r = util_duration_parse(arg, &o->connect_timeout_ms, &err);
		break;
	case COPT_REQUEST_TIMEOUT:
		name = "--request-timeout";
		r = util_duration_parse(arg, &o->request_timeout_ms, &err);
		break;
	case COPT_RATE_LIMIT:
		name = "--rate-limit";
		if (!o->limits_set)
			prov_aws_rate_limits_defaults(&o->limits);
		o->limits_set = 1;
		r = prov_aws_rate_limit_set(&o->limits, arg, &err);
		break;
	default:
		return 0;
	}
	if (r == 0 && opt == COPT_CONNECT_TIMEOUT)
		r = check_timeout(arg, o->connect_timeout_ms, &err);
	if (r == 0 && opt == COPT_REQUEST_TIMEOUT)
		r = check_timeout(arg, o->request_timeout_ms, &err);
	if (r < 0) {
		fprintf(stderr, "moor: %s: %s\n", name, err.msg);
		return -1;
	}
	return 1;
}

int make_provider(const struct common_opts *o, const char *spec_region,
		  struct prov **ret, struct util_err *err)
{
	static const struct common_opts none;
	struct prov_aws_config cfg = { 0 };

	if (!o)
		o = &none;
	if (o->debug)
		output_log_debug();
	cfg.region = o->region;
	cfg.spec_region = spec_region;
	cfg.profile = o->profile;
	cfg.max_attempts = o->max_attempts > 0 ? (unsigned)o->max_attempts : 0;
	cfg.default_max_attempts = o->default_max_attempts;
	cfg.concurrency = o->aws_concurrency > 0 ? (unsigned)o->aws_concurrency
						 : 0;
	cfg.connect_timeout_ms = (long)o->connect_timeout_ms;
	cfg.timeout_ms = (long)o->request_timeout_ms;
	cfg.limits = o->limits_set ? &o->limits : NULL;
	return prov_aws_new(&cfg, ret, err);
}

void cli_add_names(const char ***v, size_t *n, char *arg)
{
	char *save = NULL;

	for (char *t = strtok_r(arg, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		*v = util_xrealloc(*v, (*n + 1) * sizeof(**v));
		(*v)[(*n)++] = t;
	}
}

int cli_load_spec(const char *path, const char *data, size_t len,
		  struct spec **ret)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	int rc = 0;

	if (data ? spec_load_buffer(path, data, len, ret, &d, &err)
		 : spec_load_file(path, ret, &d, &err)) {
		if (err.code == UTIL_EIO)
			print_err(&err);
		else
			print_spec_diags(&d);
		rc = 1;
	} else {
		print_spec_diags(&d); /* warnings */
	}
	spec_diags_release(&d);
	return rc;
}

void cli_read_budget(const struct prov_aws_rate_limits *limits,
		     struct rc_aws_budget *ret)
{
	struct prov_aws_read_rates rr;

	prov_aws_read_rates(limits, &rr);
	ret->ec2 = rr.ec2_status;
	ret->elb = rr.elb;
	ret->elbv2 = rr.elbv2;
	ret->elb_account = rr.elb_account;
}

int cli_check_read_budget(const struct spec *s,
			  const struct prov_aws_rate_limits *limits,
			  double share)
{
	struct rc_aws_budget b = { .share = share };
	struct util_err err = UTIL_ERR_INIT;

	cli_read_budget(limits, &b);
	if (rc_aws_budget_check(s, &b, &err) == 0)
		return 0;
	/* Printed as the spec's own problems are: FILE:LINE:COL: message. */
	fprintf(stderr, "%s:%u:%u: %s\n", err.path, err.line, err.col, err.msg);
	return 1;
}
