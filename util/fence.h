#ifndef UTIL_FENCE_H
#define UTIL_FENCE_H

#include <stdint.h>

#include "util/err.h"

/*
 * A fence: whether a mutating request may still be sent.  moor watch with
 * leases sets one around each mutating provider op of a spec
 * (providers/fenced.h); code far below, which cannot be handed it (the AWS
 * client's retry loop), asks before every attempt it sends.
 *
 * The fence is thread-local: it holds for the calls of the thread that set
 * it, which is the thread that makes them (a provider op runs its requests
 * in the calling thread).
 */
struct util_fence {
	/*
	 * 0 when a mutating request may go out now, with *ret_budget_ms the
	 * longest that request may take (its timeout must not be longer).
	 * Otherwise UTIL_EFENCED with err set.
	 */
	int (*check)(void *ctx, uint64_t *ret_budget_ms, struct util_err *err);
	void *ctx;
};

/*
 * Put f (borrowed; NULL = none) in force for the calling thread; returns
 * the one it replaces, to be put back when done.
 */
const struct util_fence *util_fence_set(const struct util_fence *f);

/* The calling thread's fence asked; 0 with UINT64_MAX when it has none. */
int util_fence_check(uint64_t *ret_budget_ms, struct util_err *err);

#endif
