#ifndef PROVIDERS_FENCED_H
#define PROVIDERS_FENCED_H

#include "providers/provider.h"
#include "util/err.h"
#include "util/fence.h"

/*
 * A provider that makes mutating calls only through a fence: every
 * mutating op of base (register, deregister, enable zones, associate,
 * disassociate, allocate) first asks the fence and fails with
 * UTIL_EFENCED, sending nothing, when it is closed; otherwise the fence
 * is put in force for the calling thread (util_fence_set) while base
 * runs, so that a provider that retries (the AWS client) asks again
 * before every attempt and bounds each attempt's timeout by the budget.
 * Reads and lease ops pass straight through.
 *
 * base and fence are borrowed and must outlive the returned provider;
 * prov_free() on it frees only the wrapper.
 */
struct prov *prov_fenced_new(struct prov *base, const struct util_fence *fence);

#endif
