#ifndef PROVIDERS_AWS_AWS_INTERNAL_H
#define PROVIDERS_AWS_AWS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/aws/aws.h"
#include "providers/aws/client.h"
#include "providers/aws/env.h"
#include "providers/aws/http.h"
#include "providers/aws/ops.h"
#include "providers/aws/retry.h"
#include "providers/provider.h"
#include "util/clock.h"
#include "util/err.h"

/*
 * What the AWS provider offers its own tests, tools and benchmarks
 * beyond aws.h: injected environment, clock, randomness and transport,
 * its counters, and an op provider.h has no room for yet.  The product
 * (reconciler/) uses aws.h only.
 */

/* Zeroed = the process's environment, the system clock and libcurl. */
struct prov_aws_hooks {
	const struct awsp_env *env;		/* NULL = the process's */
	const struct util_clock *clock;		/* NULL = system */
	struct awsp_random random;		/* .next NULL = system */
	const struct awsp_transport *transport; /* NULL = libcurl */
	bool forbid_reuse; /* libcurl: a new connection per request */
};

/* prov_aws_new() with hooks (NULL = none). */
int prov_aws_new_hooked(const struct prov_aws_config *cfg,
			const struct prov_aws_hooks *hooks, struct prov **ret,
			struct util_err *err);

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
