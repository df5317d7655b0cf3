#include "reconciler/daemon/watch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "providers/provider.h"
#include "reconciler/daemon/lease.h"
#include "spec/spec.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/log.h"
#include "util/banned.h"

/*
 * Several specs in one process (rc_watch_run_many): a daemon per spec on
 * a thread of its own, the process's signals read here and forwarded to
 * each, and the lease manager whose changes wake each daemon's loop.
 */

struct member {
	struct spec *spec; /* until its thread takes it */
	struct rc_watch_config cfg;
	struct prov *p;
	int ctl[2]; /* signals: written here, read by the daemon */
	int lease_fd;
	int done_fd; /* the set's: written when the daemon returns */
	pthread_t th;
	bool started;
	int rc;
	bool abandoned;
	struct util_err err;
};

static void wake(int fd)
{
	uint64_t one = 1;

	/* An eventfd only fails when its counter would overflow: awake. */
	if (write(fd, &one, sizeof(one)) < 0)
		return;
}

static void on_lease_change(void *ctx, size_t idx, bool held)
{
	struct member *m = ctx;

	(void)idx;
	(void)held;
	wake(m->lease_fd);
}

static void *member_main(void *arg)
{
	struct member *m = arg;
	struct spec *s = m->spec;

	m->spec = NULL;
	util_log_set_thread_spec(m->cfg.name);
	m->rc = rc_watch_run(m->p, s, &m->cfg, &m->abandoned, &m->err);
	wake(m->done_fd);
	return NULL;
}

static void forward(struct member *v, size_t n, unsigned char signo)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].started && write(v[i].ctl[1], &signo, 1) < 0)
			continue; /* full pipe: it is stopping already */
}

static int member_fds(struct member *m, struct util_err *err)
{
	m->ctl[0] = m->ctl[1] = m->lease_fd = -1;
	if (pipe2(m->ctl, O_NONBLOCK | O_CLOEXEC) < 0)
		return util_err_set(err, UTIL_EIO, "pipe: %s", strerror(errno));
	m->lease_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->lease_fd < 0)
		return util_err_set(err, UTIL_EIO, "eventfd: %s",
				    strerror(errno));
	m->cfg.controlled = true;
	m->cfg.control_fd = m->ctl[0];
	m->cfg.lease_fd = m->lease_fd;
	return 0;
}

static void member_close(struct member *m)
{
	if (m->ctl[0] >= 0)
		close(m->ctl[0]);
	if (m->ctl[1] >= 0)
		close(m->ctl[1]);
	if (m->lease_fd >= 0)
		close(m->lease_fd);
	spec_free(m->spec);
}

/*
 * Forward signals until every daemon has returned.  A daemon only
 * returns unasked when it failed (it could not start): the others are
 * stopped then, so no spec goes unwatched while the process runs.
 */
static void supervise(struct member *v, size_t n, int sigfd, int done_fd)
{
	struct pollfd pf[2] = { { sigfd, POLLIN, 0 }, { done_fd, POLLIN, 0 } };
	size_t running = 0;
	bool stopping = false;

	for (size_t i = 0; i < n; i++)
		running += v[i].started;
	while (running) {
		struct signalfd_siginfo si;
		uint64_t c;

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		while (read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			stopping |= si.ssi_signo == SIGTERM ||
				    si.ssi_signo == SIGINT;
			forward(v, n, (unsigned char)si.ssi_signo);
		}
		if (read(done_fd, &c, sizeof(c)) != (ssize_t)sizeof(c))
			continue;
		if (!stopping) {
			stopping = true;
			forward(v, n, SIGTERM);
		}
		running = running > c ? running - (size_t)c : 0;
	}
}

/* The manager of the specs' leases, each change waking its daemon. */
static int leases_new(struct prov *p, const struct rc_lease_config *lc,
		      struct member *v, size_t n, struct rc_lease **ret,
		      struct util_err *err)
{
	const char **names = util_xcalloc(n + 1, sizeof(*names));
	struct rc_lease_config c = *lc;
	int rc;

	for (size_t i = 0; i < n; i++)
		names[i] = v[i].cfg.name;
	c.names = names;
	c.n_names = n;
	rc = rc_lease_new(p, &c, ret, err);
	free(names);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		v[i].cfg.lease = *ret;
		v[i].cfg.lease_idx = i;
		v[i].cfg.lease_table = lc->table;
		v[i].cfg.replica_id = lc->replica_id;
		rc_lease_on_change(*ret, i, on_lease_change, &v[i]);
	}
	return 0;
}

/* Every member's fds and thread; the first failure stops the rest. */
static int start_members(struct prov *p, struct member *v, size_t n,
			 int done_fd, struct util_err *err)
{
	for (size_t i = 0; i < n; i++) {
		int e;

		v[i].p = p;
		v[i].done_fd = done_fd;
		if (member_fds(&v[i], err) < 0)
			return -1;
		e = pthread_create(&v[i].th, NULL, member_main, &v[i]);
		if (e)
			return util_err_set(err, UTIL_EIO, "pthread_create: %s",
					    strerror(e));
		v[i].started = true;
	}
	return 0;
}

/* Join the daemons; the first failure becomes err. */
static int join_members(struct member *v, size_t n, bool *abandoned,
			struct util_err *err)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (!v[i].started)
			continue;
		pthread_join(v[i].th, NULL);
		*abandoned |= v[i].abandoned;
		if (v[i].rc < 0 && rc == 0) {
			rc = v[i].rc;
			util_err_set(err, v[i].err.code, "%s: %s",
				     v[i].cfg.spec_path, v[i].err.msg);
		}
		util_err_clear(&v[i].err);
	}
	return rc;
}

/*
 * Owns the set's life: signals, leases, one thread per daemon, and the
 * release of the leases after a clean stop (a daemon that abandoned a
 * step in flight leaves its lease to expire instead).
 */
int rc_watch_run_many(struct prov *p, struct rc_watch_member *specs, size_t n,
		      const struct rc_lease_config *lc, bool *ret_abandoned,
		      struct util_err *err)
{
	struct member *v = util_xcalloc(n + 1, sizeof(*v));
	struct rc_lease *lm = NULL;
	int sigfd = -1, done_fd = -1, rc = -1;
	sigset_t set;

	*ret_abandoned = false;
	for (size_t i = 0; i < n; i++) {
		v[i].spec = specs[i].spec;
		v[i].cfg = specs[i].cfg;
		v[i].ctl[0] = v[i].ctl[1] = v[i].lease_fd = -1;
		specs[i].spec = NULL;
	}
	rc_watch_signal_set(&set);
	sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sigfd < 0 || done_fd < 0) {
		util_err_set(err, UTIL_EIO, "signalfd/eventfd: %s",
			     strerror(errno));
		goto out;
	}
	if (lc && (leases_new(p, lc, v, n, &lm, err) < 0 ||
		   rc_lease_start(lm, err) < 0))
		goto out;
	rc = start_members(p, v, n, done_fd, err);
	if (rc < 0)
		forward(v, n, SIGTERM);
	supervise(v, n, sigfd, done_fd);
	if (join_members(v, n, ret_abandoned, rc < 0 ? NULL : err) < 0)
		rc = -1;
	if (*ret_abandoned)
		return rc; /* a worker still calls AWS: the caller exits */
	if (lm)
		rc_lease_stop(lm);
out:
	rc_lease_free(lm);
	for (size_t i = 0; i < n; i++)
		member_close(&v[i]);
	free(v);
	if (sigfd >= 0)
		close(sigfd);
	if (done_fd >= 0)
		close(done_fd);
	return rc;
}
