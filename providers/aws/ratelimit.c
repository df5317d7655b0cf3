#include "providers/aws/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/banned.h"

static const struct {
	const char *name;
	struct awsp_rl_limit def;
} s_buckets[AWSP_RL_COUNT] = {
	[AWSP_RL_EC2_READ] = { "ec2-non-mutating", { 100, 20 } },
	[AWSP_RL_EC2_UNFILTERED] = { "ec2-unfiltered", { 50, 10 } },
	[AWSP_RL_EC2_MUTATE] = { "ec2-mutating", { 50, 5 } },
	[AWSP_RL_ELB_READ] = { "elb-describe", { 40, 10 } },
	[AWSP_RL_ELB_REGISTER] = { "elb-registration", { 20, 4 } },
	[AWSP_RL_ELB_MUTATE] = { "elb-mutating", { 20, 3 } },
	[AWSP_RL_ELBV2_READ] = { "elbv2-describe", { 40, 10 } },
	[AWSP_RL_ELBV2_REGISTER] = { "elbv2-registration", { 20, 4 } },
	[AWSP_RL_ELBV2_MUTATE] = { "elbv2-mutating", { 20, 3 } },
	[AWSP_RL_ELB_ACCOUNT] = { "elb-account", { 40, 10 } },
	/* moor's own, generous: see ratelimit.h. */
	[AWSP_RL_DYNAMODB] = { "dynamodb", { 100, 50 } },
};

void awsp_ratelimit_defaults(struct awsp_ratelimit_config *c)
{
	for (size_t i = 0; i < AWSP_RL_COUNT; i++)
		c->b[i] = s_buckets[i].def;
}

const char *awsp_rl_bucket_name(enum awsp_rl_bucket b)
{
	if ((size_t)b < AWSP_RL_COUNT)
		return s_buckets[b].name;
	return "unknown";
}

static int parse_positive(const char *s, size_t len, double *ret)
{
	char tmp[32];
	char *end;
	double v;

	if (!len || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	if (!(tmp[0] >= '0' && tmp[0] <= '9'))
		return -1;
	v = strtod(tmp, &end);
	if (*end || !isfinite(v) || v <= 0 || v > 1e6)
		return -1;
	*ret = v;
	return 0;
}

int awsp_ratelimit_config_set(struct awsp_ratelimit_config *c,
			      const char *setting, struct util_err *err)
{
	const char *eq = strchr(setting, '=');
	const char *slash;
	size_t name_len;
	double burst, rate;

	if (!strcmp(setting, "off")) {
		for (size_t i = 0; i < AWSP_RL_COUNT; i++)
			c->b[i].rate = 0;
		return 0;
	}
	if (!eq)
		goto bad;
	name_len = (size_t)(eq - setting);
	for (size_t i = 0; i < AWSP_RL_COUNT; i++) {
		if (strlen(s_buckets[i].name) != name_len ||
		    strncmp(s_buckets[i].name, setting, name_len))
			continue;
		if (!strcmp(eq + 1, "off")) {
			c->b[i].rate = 0;
			return 0;
		}
		slash = strchr(eq + 1, '/');
		if (!slash ||
		    parse_positive(eq + 1, (size_t)(slash - eq - 1), &burst) ||
		    parse_positive(slash + 1, strlen(slash + 1), &rate) ||
		    burst < 1)
			goto bad;
		c->b[i].burst = burst;
		c->b[i].rate = rate;
		return 0;
	}
bad : {
	struct buf names = BUF_INIT;
	int r;

	for (size_t i = 0; i < AWSP_RL_COUNT; i++)
		buf_addf(&names, "%s%s", i ? ", " : "", s_buckets[i].name);
	r = util_err_set(err, UTIL_EINVAL,
			 "invalid rate limit '%s' (expected NAME=BURST/RATE, "
			 "NAME=off or off; names: %s)",
			 setting, names.buf);
	buf_release(&names);
	return r;
}
}

struct bucket {
	double burst, rate;
	double tokens; /* may be negative: tokens reserved on credit */
	uint64_t last_ms;
};

struct awsp_ratelimit {
	pthread_mutex_t lock;
	const struct util_clock *clock;
	struct bucket b[AWSP_RL_COUNT];
	struct awsp_ratelimit_stats stats;
};

struct awsp_ratelimit *awsp_ratelimit_new(const struct awsp_ratelimit_config *c,
					  const struct util_clock *clock)
{
	struct awsp_ratelimit *rl = util_xcalloc(1, sizeof(*rl));
	uint64_t now = clock->mono_ms(clock->ctx);

	pthread_mutex_init(&rl->lock, NULL);
	rl->clock = clock;
	for (size_t i = 0; i < AWSP_RL_COUNT; i++) {
		/*
		 * One token of headroom: we count a request when we send it,
		 * AWS when it arrives, and a request that travelled faster
		 * than the ones before it (a warm connection after a cold
		 * one) would otherwise reach an AWS bucket that is a fraction
		 * of a token short.  AWS's buckets start full; so do ours.
		 */
		rl->b[i].burst = c->b[i].burst >= 2 ? c->b[i].burst - 1
						    : c->b[i].burst;
		rl->b[i].rate = c->b[i].rate;
		rl->b[i].tokens = rl->b[i].burst;
		rl->b[i].last_ms = now;
	}
	return rl;
}

void awsp_ratelimit_free(struct awsp_ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

static void refill(struct bucket *b, uint64_t now)
{
	if (now > b->last_ms) {
		b->tokens += (double)(now - b->last_ms) * b->rate / 1000.0;
		if (b->tokens > b->burst)
			b->tokens = b->burst;
	}
	b->last_ms = now;
}

/* ceil() without libm. */
static uint64_t ceil_ms(double ms)
{
	uint64_t w = (uint64_t)ms;

	return (double)w < ms ? w + 1 : w;
}

static bool seen_before(const enum awsp_rl_bucket *b, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (b[k] == b[i])
			return true;
	return false;
}

static uint64_t reserve(struct awsp_ratelimit *rl, const enum awsp_rl_bucket *b,
			size_t n, uint64_t *ret_now)
{
	const struct util_clock *clk = rl->clock;
	uint64_t now, wait = 0;

	pthread_mutex_lock(&rl->lock);
	now = clk->mono_ms(clk->ctx);
	for (size_t i = 0; i < n; i++) {
		struct bucket *bk;
		uint64_t w = 0;

		if ((size_t)b[i] >= AWSP_RL_COUNT || seen_before(b, i))
			continue;
		bk = &rl->b[b[i]];
		if (bk->rate <= 0)
			continue;
		refill(bk, now);
		bk->tokens -= 1;
		rl->stats.taken[b[i]]++;
		if (bk->tokens < 0) {
			w = ceil_ms(-bk->tokens * 1000.0 / bk->rate);
			rl->stats.waits[b[i]]++;
			rl->stats.waited_ms[b[i]] += w;
		}
		if (w > wait)
			wait = w;
	}
	pthread_mutex_unlock(&rl->lock);
	*ret_now = now;
	return wait;
}

uint64_t awsp_ratelimit_reserve(struct awsp_ratelimit *rl,
				const enum awsp_rl_bucket *b, size_t n)
{
	uint64_t now;

	if (!rl || !n)
		return 0;
	return reserve(rl, b, n, &now);
}

uint64_t awsp_ratelimit_acquire(struct awsp_ratelimit *rl,
				const enum awsp_rl_bucket *b, size_t n)
{
	const struct util_clock *clk;
	uint64_t now, wait, deadline;

	if (!rl || !n)
		return 0;
	clk = rl->clock;
	wait = reserve(rl, b, n, &now);
	if (!wait)
		return 0;
	/* Sleep may end early (signals): sleep until the deadline really. */
	deadline = now + wait;
	for (;;) {
		uint64_t t = clk->mono_ms(clk->ctx);

		if (t >= deadline)
			break;
		clk->sleep_ms(clk->ctx, deadline - t);
	}
	return wait;
}

void awsp_ratelimit_throttled(struct awsp_ratelimit *rl,
			      const enum awsp_rl_bucket *b, size_t n)
{
	uint64_t now;

	if (!rl)
		return;
	pthread_mutex_lock(&rl->lock);
	now = rl->clock->mono_ms(rl->clock->ctx);
	for (size_t i = 0; i < n; i++) {
		struct bucket *bk;

		if ((size_t)b[i] >= AWSP_RL_COUNT)
			continue;
		bk = &rl->b[b[i]];
		if (bk->rate <= 0)
			continue;
		refill(bk, now);
		if (bk->tokens > 0)
			bk->tokens = 0;
	}
	pthread_mutex_unlock(&rl->lock);
}

void awsp_ratelimit_stats(struct awsp_ratelimit *rl,
			  struct awsp_ratelimit_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!rl)
		return;
	pthread_mutex_lock(&rl->lock);
	*ret = rl->stats;
	pthread_mutex_unlock(&rl->lock);
}
