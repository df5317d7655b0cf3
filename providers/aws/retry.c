#include "providers/aws/retry.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

#include "util/array.h"
#include "util/parse.h"
#include "util/str.h"
#include "util/banned.h"

/* botocore retries/standard.py ThrottlingErrorDetector (_THROTTLED_ERROR_CODES). */
static const char *const throttling_codes[] = {
	"Throttling",
	"ThrottlingException",
	"ThrottledException",
	"RequestThrottledException",
	"TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException",
	"RequestLimitExceeded",
	"BandwidthLimitExceeded",
	"LimitExceededException",
	"RequestThrottled",
	"SlowDown",
	"PriorRequestNotComplete",
	"EC2ThrottledException",
};

/*
 * botocore TransientRetryableChecker (_TRANSIENT_ERROR_CODES), plus STS's
 * IDPCommunicationError, which botocore retries as a special case, and
 * DynamoDB's TransactionConflictException (HTTP 400: another request held
 * the item for a moment; the DynamoDB developer guide says to retry it).
 * DynamoDB's ConditionalCheckFailedException is deliberately absent: it
 * is an answer (the condition is false), never retried.
 */
static const char *const transient_codes[] = {
	"RequestTimeout",
	"RequestTimeoutException",
	"PriorRequestNotComplete",
	"IDPCommunicationError",
	"TransactionConflictException",
};

static const char *strip_prefix(const char *code)
{
	if (util_starts_with(code, "Client."))
		return code + 7;
	if (util_starts_with(code, "Server."))
		return code + 7;
	return code;
}

static bool in_list(const char *code, const char *const *list, size_t n)
{
	if (!code || !*code)
		return false;
	code = strip_prefix(code);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(code, list[i]))
			return true;
	return false;
}

bool awsp_retry_is_throttling(const char *code)
{
	return in_list(code, throttling_codes, ARRAY_SIZE(throttling_codes));
}

bool awsp_retry_is_transient(const char *code)
{
	return in_list(code, transient_codes, ARRAY_SIZE(transient_codes));
}

enum awsp_retry_class awsp_retry_classify(long status, const char *code)
{
	if (status >= 200 && status < 300)
		return AWSP_RETRY_NO;
	/*
	 * Throttling first: EC2's RequestLimitExceeded comes with HTTP 503,
	 * and it matters which it is (the rate limiter backs off).  A bare
	 * 429 is throttling by definition even without a code.
	 */
	if (awsp_retry_is_throttling(code) || status == 429)
		return AWSP_RETRY_THROTTLING;
	if (awsp_retry_is_transient(code))
		return AWSP_RETRY_TRANSIENT;
	switch (status) {
	case 500:
	case 502:
	case 503:
	case 504:
		return AWSP_RETRY_TRANSIENT;
	default:
		return AWSP_RETRY_NO;
	}
}

const char *awsp_retry_class_name(enum awsp_retry_class c)
{
	switch (c) {
	case AWSP_RETRY_NO:
		return "final";
	case AWSP_RETRY_THROTTLING:
		return "throttling";
	case AWSP_RETRY_TRANSIENT:
		return "transient";
	case AWSP_RETRY_CONNECTION:
		return "connection";
	case AWSP_RETRY_TIMEOUT:
		return "timeout";
	}
	return "final";
}

uint64_t awsp_retry_delay_ms(unsigned attempt, double rand01)
{
	uint64_t base_ms;

	if (attempt < 1)
		attempt = 1;
	if (rand01 < 0 || rand01 != rand01)
		rand01 = 0;
	if (rand01 >= 1)
		rand01 = 0.999999;
	/* 2^(attempt-1) s, capped before it can overflow. */
	if (attempt - 1 >= 15)
		base_ms = AWSP_RETRY_MAX_BACKOFF_MS;
	else
		base_ms = (UINT64_C(1) << (attempt - 1)) * 1000;
	if (base_ms > AWSP_RETRY_MAX_BACKOFF_MS)
		base_ms = AWSP_RETRY_MAX_BACKOFF_MS;
	return (uint64_t)(rand01 * (double)base_ms);
}

void awsp_retry_quota_init(struct awsp_retry_quota *q, unsigned capacity)
{
	pthread_mutex_init(&q->lock, NULL);
	q->capacity = capacity;
	q->available = capacity;
}

void awsp_retry_quota_destroy(struct awsp_retry_quota *q)
{
	pthread_mutex_destroy(&q->lock);
}

bool awsp_retry_quota_acquire(struct awsp_retry_quota *q, bool timeout,
			      unsigned *ret_cost)
{
	unsigned cost = timeout ? AWSP_RETRY_TIMEOUT_COST : AWSP_RETRY_COST;
	bool ok;

	pthread_mutex_lock(&q->lock);
	ok = q->available >= cost;
	if (ok)
		q->available -= cost;
	pthread_mutex_unlock(&q->lock);
	if (ok)
		*ret_cost = cost;
	return ok;
}

void awsp_retry_quota_success(struct awsp_retry_quota *q, unsigned last_cost)
{
	unsigned add = last_cost ? last_cost : AWSP_RETRY_NO_RETRY_INCREMENT;

	pthread_mutex_lock(&q->lock);
	q->available = q->capacity - q->available < add ? q->capacity
							: q->available + add;
	pthread_mutex_unlock(&q->lock);
}

unsigned awsp_retry_quota_available(struct awsp_retry_quota *q)
{
	unsigned n;

	pthread_mutex_lock(&q->lock);
	n = q->available;
	pthread_mutex_unlock(&q->lock);
	return n;
}

int awsp_retry_parse_max_attempts(const char *s, unsigned *ret,
				  struct util_err *err)
{
	int v;

	if (util_parse_int(s, 1, AWSP_RETRY_MAX_ATTEMPTS_LIMIT, &v, NULL) < 0)
		return util_err_set(err, UTIL_EINVAL,
				    "invalid max attempts '%s' (expected 1 to "
				    "%d)",
				    s, AWSP_RETRY_MAX_ATTEMPTS_LIMIT);
	*ret = (unsigned)v;
	return 0;
}

static double system_next(void *ctx)
{
	uint64_t v = 0;
	size_t got = 0;

	(void)ctx;
	while (got < sizeof(v)) {
		ssize_t n = getrandom((char *)&v + got, sizeof(v) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* No entropy source: a fixed mid jitter still backs off. */
			return 0.5;
		}
		got += (size_t)n;
	}
	/* 53 random bits: exactly representable, uniform in [0, 1). */
	return (double)(v >> 11) / (double)(UINT64_C(1) << 53);
}

const struct awsp_random awsp_random_system = { .next = system_next,
						.ctx = NULL };
