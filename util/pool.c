#include "pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "alloc.h"
#include "banned.h"

struct batch {
	pthread_mutex_t lock;
	size_t next, n;
	void (*fn)(void *ctx, size_t i);
	void *ctx;
};

static void *worker(void *arg)
{
	struct batch *b = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&b->lock);
		i = b->next < b->n ? b->next++ : b->n;
		pthread_mutex_unlock(&b->lock);
		if (i == b->n)
			return NULL;
		b->fn(b->ctx, i);
	}
}

void util_parallel(size_t n, unsigned concurrency,
		   void (*fn)(void *ctx, size_t i), void *ctx)
{
	struct batch b = { .next = 0, .n = n, .fn = fn, .ctx = ctx };
	pthread_t *threads;
	size_t nthreads, started = 0;

	if (n <= 1 || concurrency <= 1) {
		for (size_t i = 0; i < n; i++)
			fn(ctx, i);
		return;
	}
	pthread_mutex_init(&b.lock, NULL);
	nthreads = (concurrency < n ? concurrency : n) - 1;
	threads = util_xcalloc(nthreads, sizeof(*threads));
	for (size_t t = 0; t < nthreads; t++) {
		/*
		 * A thread that cannot be created only costs parallelism: the
		 * remaining workers (at least this one) drain the batch.
		 */
		if (pthread_create(&threads[started], NULL, worker, &b) == 0)
			started++;
	}
	worker(&b);
	for (size_t t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	free(threads);
	pthread_mutex_destroy(&b.lock);
}
