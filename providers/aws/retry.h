#ifndef PROVIDERS_AWS_RETRY_H
#define PROVIDERS_AWS_RETRY_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

/*
 * The AWS "standard" retry mode (botocore retries/standard.py and
 * quota.py; AWS-PROTOCOL.md section 2), as pure functions and one small
 * thread-safe quota, so that client.c only strings them together and the
 * tests can drive every branch with a fixed random source.
 *
 *  - A failure is retried only when it is throttling (a code in the
 *    throttling list), transient (HTTP 500/502/503/504, a transient code)
 *    or a connection-level failure (no answer, reset, timeout), and only
 *    while attempts remain and the quota has tokens.
 *  - Backoff before the next attempt, after failed attempt n (1-based):
 *    rand[0,1) * min(2^(n-1), 20) seconds (full jitter, base 1 s, cap 20 s;
 *    botocore HEAD).
 *  - The quota: 500 tokens per client; a retry costs 5, or 10 after a
 *    timeout; no tokens, no retry.  A success refunds the cost of the
 *    retry that led to it, or adds 1 when the call needed none.
 */

#define AWSP_RETRY_DEFAULT_MAX_ATTEMPTS 3
/* An upper bound for --max-attempts / AWS_MAX_ATTEMPTS. */
#define AWSP_RETRY_MAX_ATTEMPTS_LIMIT	100
#define AWSP_RETRY_MAX_BACKOFF_MS	20000
#define AWSP_RETRY_QUOTA_CAPACITY	500
#define AWSP_RETRY_COST			5
#define AWSP_RETRY_TIMEOUT_COST		10
#define AWSP_RETRY_NO_RETRY_INCREMENT	1

enum awsp_retry_class {
	AWSP_RETRY_NO = 0,     /* a client error (or success): final */
	AWSP_RETRY_THROTTLING, /* a throttling code: the request was refused */
	AWSP_RETRY_TRANSIENT,  /* 5xx or a transient code */
	AWSP_RETRY_CONNECTION, /* no HTTP answer: refused, reset, DNS */
	AWSP_RETRY_TIMEOUT,    /* no HTTP answer in time */
};

/*
 * Codes are compared without a "Client." / "Server." prefix, which EC2
 * documents on some codes ("Client.RequestLimitExceeded").
 */
bool awsp_retry_is_throttling(const char *code);
bool awsp_retry_is_transient(const char *code);

/*
 * Class of an HTTP answer: status with the AWS error code from its body
 * (NULL when none).  2xx is AWSP_RETRY_NO.
 */
enum awsp_retry_class awsp_retry_classify(long status, const char *code);

/* Short name for logs: "throttling", "transient", ... */
const char *awsp_retry_class_name(enum awsp_retry_class c);

/* Milliseconds to wait after failed attempt `attempt` (1-based). */
uint64_t awsp_retry_delay_ms(unsigned attempt, double rand01);

/* The per-client retry quota.  Thread-safe. */
struct awsp_retry_quota {
	pthread_mutex_t lock;
	unsigned capacity;
	unsigned available;
};

void awsp_retry_quota_init(struct awsp_retry_quota *q, unsigned capacity);
void awsp_retry_quota_destroy(struct awsp_retry_quota *q);
/*
 * Take the cost of one retry (AWSP_RETRY_TIMEOUT_COST after a timeout,
 * else AWSP_RETRY_COST).  true with *ret_cost set, or false (nothing
 * taken) when the quota cannot cover it.
 */
bool awsp_retry_quota_acquire(struct awsp_retry_quota *q, bool timeout,
			      unsigned *ret_cost);
/*
 * A call succeeded.  last_cost is what its last retry took (0 when it was
 * not retried): that is refunded, else AWSP_RETRY_NO_RETRY_INCREMENT is
 * added; never beyond capacity.
 */
void awsp_retry_quota_success(struct awsp_retry_quota *q, unsigned last_cost);
unsigned awsp_retry_quota_available(struct awsp_retry_quota *q);

/*
 * Parse a max-attempts value (AWS_MAX_ATTEMPTS, --max-attempts): an
 * integer in [1, AWSP_RETRY_MAX_ATTEMPTS_LIMIT], total attempts including
 * the first.
 */
int awsp_retry_parse_max_attempts(const char *s, unsigned *ret,
				  struct util_err *err);

/*
 * A source of uniform doubles in [0, 1), injectable for tests.
 * awsp_random_system draws from getrandom(2) and is thread-safe.
 */
struct awsp_random {
	double (*next)(void *ctx);
	void *ctx;
};

extern const struct awsp_random awsp_random_system;

#endif
