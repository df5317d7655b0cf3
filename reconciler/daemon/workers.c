#include "reconciler/daemon/workers.h"

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/banned.h"

void rc_job_free(struct rc_job *j)
{
	if (!j)
		return;
	rc_cycle_result_release(&j->res);
	for (size_t i = 0; i < j->n_in; i++)
		free(j->holders[i]);
	free(j->holders);
	free(j->health);
	free(j->in);
	free(j->use_lb);
	free(j->use_eip);
	free(j->trigger);
	rc_spec_ref_drop(j->ws);
	free(j);
}

static void *worker_main(void *arg)
{
	struct rc_worker *wk = arg;
	const uint64_t one = 1;

	for (;;) {
		struct rc_job *j;

		pthread_mutex_lock(&wk->m);
		while (!wk->todo && !wk->quit)
			pthread_cond_wait(&wk->c, &wk->m);
		j = wk->todo;
		wk->todo = NULL;
		pthread_mutex_unlock(&wk->m);
		if (!j)
			break;
		wk->run(wk->ctx, j);
		pthread_mutex_lock(&wk->m);
		wk->done = j;
		pthread_mutex_unlock(&wk->m);
		while (write(wk->evfd, &one, sizeof(one)) < 0 && errno == EINTR)
			;
	}
	return NULL;
}

int rc_worker_start(struct rc_worker *wk, const char *name,
		    rc_worker_run_fn run, void *ctx, int evfd,
		    struct util_err *err)
{
	int e;

	wk->run = run;
	wk->ctx = ctx;
	wk->evfd = evfd;
	wk->name = name;
	pthread_mutex_init(&wk->m, NULL);
	pthread_cond_init(&wk->c, NULL);
	e = pthread_create(&wk->th, NULL, worker_main, wk);
	if (e)
		return util_err_set(err, UTIL_EFAIL,
				    "cannot start the %s worker: %s", name,
				    strerror(e));
	wk->started = true;
	return 0;
}

void rc_worker_give(struct rc_worker *wk, struct rc_job *j)
{
	wk->busy = true;
	pthread_mutex_lock(&wk->m);
	wk->todo = j;
	pthread_cond_signal(&wk->c);
	pthread_mutex_unlock(&wk->m);
}

struct rc_job *rc_worker_collect(struct rc_worker *wk)
{
	struct rc_job *j;

	pthread_mutex_lock(&wk->m);
	j = wk->done;
	wk->done = NULL;
	pthread_mutex_unlock(&wk->m);
	if (j)
		wk->busy = false;
	return j;
}

void rc_worker_stop(struct rc_worker *wk)
{
	if (!wk->started)
		return;
	pthread_mutex_lock(&wk->m);
	wk->quit = true;
	pthread_cond_signal(&wk->c);
	pthread_mutex_unlock(&wk->m);
	pthread_join(wk->th, NULL);
	rc_job_free(wk->todo);
	rc_job_free(wk->done);
	pthread_mutex_destroy(&wk->m);
	pthread_cond_destroy(&wk->c);
	wk->started = false;
}
