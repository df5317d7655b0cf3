#ifndef PROVIDERS_AWS_RATELIMIT_H
#define PROVIDERS_AWS_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "util/clock.h"
#include "util/err.h"

/*
 * Client-side token buckets mirroring the AWS API throttling buckets
 * (AWS-PROTOCOL.md section 7), so that a large apply paces itself just
 * under the account's limits instead of being throttled and backing off.
 *
 * Every request takes one token from each bucket of its category (an ELB
 * request also from the account bucket shared by all ELB actions).  A
 * bucket holds at most `burst` tokens and refills at `rate` per second.
 * Tokens are reserved, not polled for: a caller that finds a bucket empty
 * takes its token on credit (the count goes negative) and sleeps until
 * that token has been refilled, so concurrent callers are served in order
 * and the sustained rate never exceeds `rate`.
 *
 * Each bucket keeps one token of headroom (a configured burst of 50 lets
 * 49 through at once) so that network jitter between us and AWS cannot
 * make AWS's copy of the bucket run dry before ours.
 *
 * When AWS throttles anyway (another client on the account, a bucket not
 * full at start), awsp_ratelimit_throttled() empties the buckets so that
 * everyone waits for the refill, as the server's bucket is empty too.
 */
enum awsp_rl_bucket {
	AWSP_RL_EC2_READ = 0,	/* "ec2-non-mutating": 100, 20/s */
	AWSP_RL_EC2_UNFILTERED, /* "ec2-unfiltered": 50, 10/s */
	AWSP_RL_EC2_MUTATE,	/* "ec2-mutating": 50, 5/s */
	AWSP_RL_ELB_READ,	/* "elb-describe": 40, 10/s */
	AWSP_RL_ELB_REGISTER,	/* "elb-registration": 20, 4/s */
	AWSP_RL_ELB_MUTATE,	/* "elb-mutating": 20, 3/s */
	AWSP_RL_ELBV2_READ,	/* "elbv2-describe": 40, 10/s */
	AWSP_RL_ELBV2_REGISTER, /* "elbv2-registration": 20, 4/s */
	AWSP_RL_ELBV2_MUTATE,	/* "elbv2-mutating": 20, 3/s */
	AWSP_RL_ELB_ACCOUNT,	/* "elb-account": 40, 10/s, every ELB call */
	/*
	 * "dynamodb": 100, 50/s, every DynamoDB call.  moor's own: AWS
	 * documents no request-rate bucket for these calls (DynamoDB
	 * throttles by capacity), so this only keeps a runaway loop small.
	 */
	AWSP_RL_DYNAMODB,
	AWSP_RL_COUNT,
};

/* rate <= 0 disables the bucket (unlimited). */
struct awsp_rl_limit {
	double burst;
	double rate;
};

struct awsp_ratelimit_config {
	struct awsp_rl_limit b[AWSP_RL_COUNT];
};

/* The documented AWS defaults. */
void awsp_ratelimit_defaults(struct awsp_ratelimit_config *c);
/* "ec2-mutating", ...: the names in the comments above. */
const char *awsp_rl_bucket_name(enum awsp_rl_bucket b);
/*
 * Apply one setting: "NAME=BURST/RATE" (e.g. "ec2-mutating=100/10",
 * rate may be fractional), "NAME=off", or "off" (every bucket).
 * UTIL_EINVAL with a message naming the valid buckets otherwise.
 */
int awsp_ratelimit_config_set(struct awsp_ratelimit_config *c,
			      const char *setting, struct util_err *err);

struct awsp_ratelimit;

/* clock is borrowed and must outlive rl.  Caller frees with _free(). */
struct awsp_ratelimit *awsp_ratelimit_new(const struct awsp_ratelimit_config *c,
					  const struct util_clock *clock);
void awsp_ratelimit_free(struct awsp_ratelimit *rl);

/*
 * Take one token from each of the n buckets (duplicates count once),
 * sleeping on the clock until they are available.  Thread-safe.  Returns
 * the milliseconds slept.
 */
uint64_t awsp_ratelimit_acquire(struct awsp_ratelimit *rl,
				const enum awsp_rl_bucket *b, size_t n);
/*
 * The reservation alone: takes the tokens as awsp_ratelimit_acquire()
 * does and returns how many milliseconds from now the caller must wait
 * before sending, without sleeping.
 */
uint64_t awsp_ratelimit_reserve(struct awsp_ratelimit *rl,
				const enum awsp_rl_bucket *b, size_t n);
/* AWS throttled a call of these buckets: drain them to zero. */
void awsp_ratelimit_throttled(struct awsp_ratelimit *rl,
			      const enum awsp_rl_bucket *b, size_t n);

struct awsp_ratelimit_stats {
	uint64_t taken[AWSP_RL_COUNT];	   /* tokens taken */
	uint64_t waits[AWSP_RL_COUNT];	   /* acquisitions that slept */
	uint64_t waited_ms[AWSP_RL_COUNT]; /* total sleep charged to it */
};

void awsp_ratelimit_stats(struct awsp_ratelimit *rl,
			  struct awsp_ratelimit_stats *ret);

#endif
