/*
 * moor whoami: the AWS identity, region, credentials and endpoints, each
 * with where it came from.
 */
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include "providers/aws/aws.h"
#include "providers/provider.h"
#include "reconciler/cli/commands.h"
#include "reconciler/cli/common.h"
#include "reconciler/cli/output.h"
#include "util/array.h"
#include "util/err.h"
#include "util/banned.h"

static const char whoami_usage[] =
	"usage: moor whoami [AWS options]\n"
	"\n"
	"Resolve credentials, call sts:GetCallerIdentity and show the\n"
	"account, the caller's ARN, the region, where the credentials came\n"
	"from and the endpoint of each service, with where each setting came\n"
	"from.\n"
	"\n" COMMON_AWS_USAGE;

/* What moor whoami found out about p (id: its caller identity). */
static void whoami_print(struct prov *p, const struct prov_identity *id)
{
	static const struct {
		enum prov_aws_service svc;
		const char *label;
	} shown[] = {
		{ PROV_AWS_SVC_EC2, "ec2" },
		{ PROV_AWS_SVC_ELB, "elb" },
		{ PROV_AWS_SVC_ELBV2, "elbv2" },
		{ PROV_AWS_SVC_STS, "sts" },
		{ PROV_AWS_SVC_DYNAMODB, "dynamodb" },
	};
	const char *region, *src = NULL, *creds;

	region = prov_aws_region(p, &src);
	printf("account:      %s\n", id->account);
	printf("arn:          %s\n", id->arn);
	if (id->user_id)
		printf("user id:      %s\n", id->user_id);
	printf("region:       %s (%s)\n", region, src ? src : "-");
	creds = prov_aws_creds_source(p);
	printf("credentials:  %s\n", creds ? creds : "-");
	printf("profile:      %s\n", prov_aws_profile(p));
	printf("max attempts: %u\n", prov_aws_max_attempts(p));
	printf("endpoints:\n");
	for (size_t i = 0; i < ARRAY_SIZE(shown); i++) {
		const char *url = prov_aws_endpoint(p, shown[i].svc, &src);

		printf("  %-8s %s (%s)\n", shown[i].label, url ? url : "-",
		       src ? src : "-");
	}
}

int cmd_whoami(int argc, char **argv)
{
	static const struct option longopts[] = {
		COMMON_AWS_LONGOPTS,
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct common_opts o = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct prov_identity id = { 0 };
	struct prov *p = NULL;
	const char *creds;
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int r = parse_common_opt(c, optarg, &o);

		if (r > 0)
			continue;
		if (c == 'h') {
			fputs(whoami_usage, stdout);
			return 0;
		}
		if (r == 0)
			fputs(whoami_usage, stderr);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "moor whoami: unexpected argument '%s'\n\n%s",
			argv[optind], whoami_usage);
		return EXIT_USAGE;
	}
	if (make_provider(&o, NULL, &p, &err) < 0) {
		util_err_prefix(&err, "whoami");
		print_err(&err);
		return 1;
	}
	if (p->ops->identity(p, &id, &err) < 0) {
		util_err_prefix(&err, "whoami");
		print_err(&err);
		/* Say which step answered: no credentials, or refused ones. */
		creds = prov_aws_creds_source(p);
		if (creds)
			fprintf(stderr,
				"moor: the credentials came from %s; the STS "
				"endpoint is %s\n",
				creds,
				prov_aws_endpoint(p, PROV_AWS_SVC_STS, NULL));
		goto out;
	}
	whoami_print(p, &id);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	prov_identity_release(&id);
	prov_free(p);
	return rc;
}
