#ifndef PROVIDERS_AWS_CLIENT_H
#define PROVIDERS_AWS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "providers/aws/creds.h"
#include "providers/aws/endpoint.h"
#include "providers/aws/http.h"
#include "providers/aws/query.h"
#include "providers/aws/ratelimit.h"
#include "providers/aws/retry.h"
#include "util/clock.h"
#include "util/err.h"

/*
 * The call pipeline: one API call, Query protocol (EC2, ELB, ELBv2, STS:
 * a form body) or JSON 1.0 (DynamoDB: a JSON body, X-Amz-Target), from a
 * built request body to a 2xx response body for the operation's parser.
 *
 *   for each attempt:
 *     concurrency slot -> rate-limit tokens -> credentials -> sign ->
 *     fence -> send -> classify the answer
 *     (awsp_retry_classify) ->
 *     success | final error | backoff (standard mode) and retry
 *
 * Fencing (util/fence.h): right before each attempt is sent, the first
 * and every retry, the fence the calling thread has in force (if any) is
 * asked.  When it is closed nothing is sent and the call fails with
 * UTIL_EFENCED (plus UTIL_ERR_OUTCOME_UNKNOWN if an earlier attempt may
 * have landed); when it is open with a budget, the attempt's timeouts are
 * at most that budget, so a request that starts inside the lease ends
 * inside it.  Two kinds of fence are ever in force: a spec's lease, around
 * a mutating provider op on a daemon worker (providers/fenced.c), and the
 * lease manager's round deadline on its own thread (reconciler/daemon/
 * lease.c), which bounds the lease calls themselves.
 *
 * Retries follow AWS's standard mode (retry.h), with one rule of moor's
 * own about lost answers.  A call is flagged mutating (it changes
 * something) and/or idempotent (repeating it has no further effect: an
 * association of the same pair, a registration of a registered target).
 * When a mutating call's request may have reached AWS but no answer came
 * back (reset or timeout after sending), or AWS answered 5xx:
 *   - idempotent: it is retried like a read;
 *   - not idempotent (AllocateAddress): it is not retried, and fails with
 *     UTIL_ERR_OUTCOME_UNKNOWN so the caller re-observes first.
 * A mutating call that finally fails after such an attempt also carries
 * UTIL_ERR_OUTCOME_UNKNOWN.  Throttling and connect failures prove the
 * request was not applied and are always retried.
 *
 * Thread-safe: any number of threads may call at once; at most
 * max_inflight requests are on the wire, the rest wait for a slot.
 */

/* Where credentials come from: awsp_creds_get in production. */
struct awsp_client_creds {
	/* Fill ret (released by the client) or fail with err set. */
	int (*get)(void *ctx, struct awsp_credentials *ret,
		   struct util_err *err);
	void *ctx;
};

struct awsp_client_config {
	const struct awsp_transport *transport; /* borrowed */
	struct awsp_client_creds creds;
	const char *region; /* signing region; copied */
	/* Endpoint URL per service (copied); NULL = service unavailable. */
	const char *endpoints[AWSP_SVC_COUNT];
	const struct util_clock *clock; /* borrowed; NULL = system */
	struct awsp_random random;	/* .next NULL = system */
	unsigned max_attempts; /* 0 = AWSP_RETRY_DEFAULT_MAX_ATTEMPTS */
	/* NULL = the AWS defaults (awsp_ratelimit_defaults). */
	const struct awsp_ratelimit_config *limits;
	unsigned max_inflight; /* 0 = unlimited */
};

struct awsp_client;

int awsp_client_new(const struct awsp_client_config *cfg,
		    struct awsp_client **ret, struct util_err *err);
/* After every call has returned.  Accepts NULL. */
void awsp_client_free(struct awsp_client *c);

enum awsp_call_flags {
	AWSP_CALL_MUTATING = 1 << 0,
	AWSP_CALL_IDEMPOTENT = 1 << 1,
	/*
	 * An EC2 describe without filters, ids or pagination: AWS charges it
	 * to the smaller "unfiltered" bucket.
	 */
	AWSP_CALL_UNFILTERED = 1 << 2,
	/* Hand AWS's error message in full to info->aws_message. */
	AWSP_CALL_KEEP_MESSAGE = 1 << 3,
};

struct awsp_call {
	enum awsp_service svc;
	/* As in the query, or X-Amz-Target's operation; buckets and logs. */
	const char *action;
	const struct awsp_query *query; /* Query protocol; else NULL */
	unsigned flags;			/* enum awsp_call_flags */
	/*
	 * JSON 1.0 (a service with json_target, endpoint.h): the body, with
	 * query NULL.  Errors are read from the JSON error body
	 * (awsp_json_parse_error) and the x-amzn-RequestId header.
	 */
	const char *json;
	size_t json_len;
};

/* What happened along the way, filled on success and on failure. */
struct awsp_call_info {
	unsigned attempts;
	/*
	 * An attempt before the last may have been applied by AWS (its
	 * answer was lost).  Lets an idempotent op read e.g. a NotFound on
	 * the retry of a delete as success.
	 */
	bool lost_before;
	/*
	 * With AWSP_CALL_KEEP_MESSAGE: AWS's message of the final error
	 * answer in full, malloc'd (NULL otherwise); free it with
	 * awsp_call_info_release().  err->msg holds at most 511 bytes of it
	 * behind a prefix, and some messages carry data (the ids an EC2
	 * NotFound names).
	 */
	char *aws_message;
};

/* Frees info's strings and zeroes it.  Accepts NULL. */
void awsp_call_info_release(struct awsp_call_info *info);

/*
 * Make the call.  0 with resp holding the 2xx answer (resp must be
 * AWSP_HTTP_RESPONSE_INIT; the caller releases it either way).  Errors:
 * UTIL_EAWS (AWS's code, message, request id, HTTP status;
 * UTIL_ERR_RETRYABLE when retries ran out on a retryable error),
 * UTIL_ETRANSPORT / UTIL_ELIMIT from the transport, UTIL_ECREDS and
 * others from the credential chain; the message is prefixed with
 * "<service> <Action>".  info may be NULL; it is overwritten (with
 * AWSP_CALL_KEEP_MESSAGE, release it before reusing it).
 */
int awsp_client_call(struct awsp_client *c, const struct awsp_call *call,
		     struct awsp_http_response *resp,
		     struct awsp_call_info *info, struct util_err *err);

/* The rate-limit buckets a call is charged to (n <= 2).  Exposed for tests. */
size_t awsp_call_buckets(enum awsp_service svc, const char *action,
			 unsigned flags, enum awsp_rl_bucket out[2]);

struct awsp_client_stats {
	unsigned long long calls;	    /* awsp_client_call invocations */
	unsigned long long attempts;	    /* requests sent (or tried) */
	unsigned long long retries;	    /* attempts after the first */
	unsigned long long throttled;	    /* throttling answers received */
	unsigned long long lost;	    /* sent, answer lost */
	unsigned long long failed;	    /* calls that returned an error */
	unsigned long long quota_exhausted; /* retries refused by quota */
	unsigned retry_quota;		    /* tokens left */
	struct awsp_ratelimit_stats limits;
};

void awsp_client_get_stats(struct awsp_client *c,
			   struct awsp_client_stats *ret);

/* The region and endpoint URL the client signs for and sends to. */
const char *awsp_client_region(const struct awsp_client *c);
const char *awsp_client_endpoint(const struct awsp_client *c,
				 enum awsp_service svc);

#endif
