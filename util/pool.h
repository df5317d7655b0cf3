#ifndef UTIL_POOL_H
#define UTIL_POOL_H

#include <stddef.h>

/*
 * Run fn(ctx, i) for every i in [0, n) on at most `concurrency` threads
 * (the calling thread is one of them) and return when all have finished.
 * Used for independent AWS calls: reads of unrelated resources, steps on
 * different groups within one apply phase.  fn must be thread-safe with
 * respect to the other calls of the same batch; each i is run exactly once.
 * concurrency 0 or 1, or n <= 1, runs everything in the calling thread.
 */
void util_parallel(size_t n, unsigned concurrency,
		   void (*fn)(void *ctx, size_t i), void *ctx);

#endif
