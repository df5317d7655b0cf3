#include "util/fence.h"

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/banned.h"

static _Thread_local const struct util_fence *t_fence;

const struct util_fence *util_fence_set(const struct util_fence *f)
{
	const struct util_fence *was = t_fence;

	t_fence = f;
	return was;
}

int util_fence_check(uint64_t *ret_budget_ms, struct util_err *err)
{
	*ret_budget_ms = UINT64_MAX;
	if (!t_fence)
		return 0;
	return t_fence->check(t_fence->ctx, ret_budget_ms, err);
}
