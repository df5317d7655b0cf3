#ifndef RECONCILER_DAEMON_WORKERS_H
#define RECONCILER_DAEMON_WORKERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "reconciler/daemon/cycle.h"
#include "reconciler/daemon/failover.h"
#include "reconciler/daemon/spec_ref.h"
#include "util/err.h"

/*
 * The worker threads of `moor watch` and the jobs the event loop hands
 * them: a worker runs one job at a time, off the loop, and signals the
 * loop's eventfd when it is done; the loop collects it.
 *
 * Memory: a job owns everything it points to (its reference to the spec,
 * trigger, selections, failover inputs and result); rc_job_free frees it.
 * rc_worker_give moves the job to the worker; rc_worker_collect moves it
 * back to the caller.  Jobs still held when a worker stops are freed.
 */

enum rc_job_kind {
	RC_JOB_FULL,
	RC_JOB_FAILOVER,
};

struct rc_job {
	enum rc_job_kind kind;
	struct rc_spec_ref *ws;
	char *trigger;
	uint64_t now_ms;
	time_t started_at;
	/* full */
	bool *use_lb, *use_eip;
	bool drift, covers_all;
	bool observe_only; /* a follower's (rc_cycle_opts.observe_only) */
	/* failover */
	struct rc_cycle_fo_in *in;
	size_t n_in;
	enum rc_health *health; /* storage behind in[].health */
	char **holders;		/* storage behind in[].holder */
	/* out */
	struct rc_cycle_result res;
};

/* NULL is a no-op. */
void rc_job_free(struct rc_job *j);

/* Runs j on the worker's thread, filling j->res. */
typedef void (*rc_worker_run_fn)(void *ctx, struct rc_job *j);

struct rc_worker {
	rc_worker_run_fn run;
	void *ctx;
	int evfd; /* written once per finished job; not owned */
	const char *name;
	pthread_t th;
	bool started;
	pthread_mutex_t m;
	pthread_cond_t c;
	struct rc_job *todo; /* loop -> worker */
	struct rc_job *done; /* worker -> loop */
	bool quit;
	bool busy; /* the loop's view: handed a job, not collected yet */
};

/* Starts the thread of wk (zeroed by the caller); name is not copied. */
int rc_worker_start(struct rc_worker *wk, const char *name,
		    rc_worker_run_fn run, void *ctx, int evfd,
		    struct util_err *err);

/* Hands j (taken) to an idle worker. */
void rc_worker_give(struct rc_worker *wk, struct rc_job *j);

/* The finished job (the caller's to free), or NULL. */
struct rc_job *rc_worker_collect(struct rc_worker *wk);

/* Waits for the job in progress, then ends the thread.  Started or not. */
void rc_worker_stop(struct rc_worker *wk);

#endif
