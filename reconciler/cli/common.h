#ifndef RECONCILER_CLI_COMMON_H
#define RECONCILER_CLI_COMMON_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/aws/aws.h"
#include "providers/provider.h"
#include "reconciler/daemon/awsprobe.h"

struct spec;
struct util_err;

/*
 * What the commands share: exit codes, the AWS options of every command
 * that talks to AWS, name lists, loading a spec with its diagnostics.
 *
 * Exit codes: 0 success (plan: no changes), 1 error, 2 changes present
 * (plan --detailed-exitcode), 64 usage error.
 */
#define EXIT_CHANGES 2
#define EXIT_USAGE   64

/*
 * The engine's commands make each call once and leave retrying to the AWS
 * client (one retry layer).  5 is botocore's legacy-mode default: enough
 * for apply to converge in one run under engine_chaos.py's throttling and
 * lost answers, while a plan against an unreachable endpoint still fails
 * in about 9 s (9 attempts, the old 3 x 3, took about a minute).
 */
#define CLI_ENGINE_MAX_ATTEMPTS 5

/*
 * Options of every command that talks to AWS.  Zeroed = every default;
 * parse_common_opt() fills it from the command line.
 */
struct common_opts {
	const char *region;  /* --region */
	const char *profile; /* --profile */
	int debug;	     /* --debug: log each HTTP exchange (redacted) */
	int max_attempts;    /* --max-attempts, 0 = default */
	/* The default for max attempts (0 = the AWS one, 3). */
	unsigned default_max_attempts;
	int aws_concurrency; /* --aws-concurrency: requests in flight, 0 = 8 */
	uint64_t connect_timeout_ms; /* --connect-timeout, 0 = default */
	uint64_t request_timeout_ms; /* --request-timeout, 0 = default */
	/* --rate-limit settings applied over the AWS defaults. */
	struct prov_aws_rate_limits limits;
	int limits_set;
};

/*
 * The AWS options, shared by every command that talks to AWS: put
 * COMMON_AWS_LONGOPTS in the getopt_long table and hand each option to
 * parse_common_opt() first.
 *
 *   --region REGION         else the spec's region, AWS_REGION,
 *                           AWS_DEFAULT_REGION, the profile, IMDS
 *   --profile NAME          shared config/credentials profile
 *   --debug                 log each AWS exchange on stderr (redacted)
 *   --max-attempts N        attempts per AWS call, retries included
 *                           (1-100; else AWS_MAX_ATTEMPTS, profile, 3)
 *   --aws-concurrency N     AWS requests in flight at once (1-64, 8)
 *   --connect-timeout DUR   TCP+TLS connect timeout (default 10s)
 *   --request-timeout DUR   whole HTTP exchange (default 60s)
 *   --rate-limit SETTING    client-side token bucket: NAME=BURST/RATE,
 *                           NAME=off or off; repeatable.  Names:
 *                           ec2-non-mutating ec2-unfiltered ec2-mutating
 *                           elb-describe elb-registration elb-mutating
 *                           elbv2-describe elbv2-registration
 *                           elbv2-mutating elb-account dynamodb
 *
 * Endpoints are not options: they come from AWS_ENDPOINT_URL[_<SVC>] and
 * the profile, as for every AWS tool.
 */
enum {
	COPT_REGION = 512,
	COPT_PROFILE,
	COPT_DEBUG,
	COPT_MAX_ATTEMPTS,
	COPT_AWS_CONCURRENCY,
	COPT_CONNECT_TIMEOUT,
	COPT_REQUEST_TIMEOUT,
	COPT_RATE_LIMIT,
};

#define COMMON_AWS_LONGOPTS                                            \
	{ "region", required_argument, NULL, COPT_REGION },            \
		{ "profile", required_argument, NULL, COPT_PROFILE },  \
		{ "debug", no_argument, NULL, COPT_DEBUG },            \
		{ "max-attempts", required_argument, NULL,             \
		  COPT_MAX_ATTEMPTS },                                 \
		{ "aws-concurrency", required_argument, NULL,          \
		  COPT_AWS_CONCURRENCY },                              \
		{ "connect-timeout", required_argument, NULL,          \
		  COPT_CONNECT_TIMEOUT },                              \
		{ "request-timeout", required_argument, NULL,          \
		  COPT_REQUEST_TIMEOUT },                              \
	{                                                              \
		"rate-limit", required_argument, NULL, COPT_RATE_LIMIT \
	}

#define COMMON_AWS_USAGE                                                      \
	"AWS options:\n"                                                      \
	"  --region REGION        else the spec's, AWS_REGION, the profile\n" \
	"  --profile NAME         shared config/credentials profile\n"        \
	"  --debug                log each AWS exchange (redacted)\n"         \
	"  --max-attempts N       attempts per AWS call, retries included\n"  \
	"  --aws-concurrency N    AWS requests in flight (default 8)\n"       \
	"  --connect-timeout DUR  connect timeout (default 10s)\n"            \
	"  --request-timeout DUR  per HTTP exchange (default 60s)\n"          \
	"  --rate-limit SET       token bucket NAME=BURST/RATE|NAME=off|off\n"

/* 1 if opt is a common AWS option (parsed), 0 if not, -1 on a bad value. */
int parse_common_opt(int opt, const char *arg, struct common_opts *o);

/*
 * Open the AWS provider for the given options (NULL = defaults);
 * spec_region is the spec's `region:` (NULL if none).  With --debug, the
 * debug log sink is installed first, so region and credential lookups
 * are logged too.  Caller frees *ret with prov_free().
 */
int make_provider(const struct common_opts *o, const char *spec_region,
		  struct prov **ret, struct util_err *err);

/*
 * Add comma-separated names to a growing list (*v, *n).  The names point
 * into arg, which strtok_r cuts; the caller frees *v, not the names.
 */
void cli_add_names(const char ***v, size_t *n, char *arg);

/*
 * Load a spec (the bytes data[len] when data is not NULL, else the file
 * path) and print its problems, or its warnings.  0 with *ret set (caller
 * frees it with spec_free()), or 1.
 */
int cli_load_spec(const char *path, const char *data, size_t len,
		  struct spec **ret);

/*
 * The read budget of AWS probes under limits (NULL: the documented
 * buckets), and whether s keeps inside share of it (0: half): 0, or 1
 * with the problem printed as FILE:LINE:COL: message.
 */
void cli_read_budget(const struct prov_aws_rate_limits *limits,
		     struct rc_aws_budget *ret);
int cli_check_read_budget(const struct spec *s,
			  const struct prov_aws_rate_limits *limits,
			  double share);

/*
 * Check, through p->ops->lease_table_check, that the lease table exists
 * with the one string partition key "name" (moor watch at start, moor
 * leases).  0, or 1 with the problem printed; when the table is missing
 * or keyed otherwise, the message gives the aws dynamodb create-table
 * command that makes it.  Defined in leases.c.
 */
int cli_check_lease_table(struct prov *p, const char *table);

#endif
