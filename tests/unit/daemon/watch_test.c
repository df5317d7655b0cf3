/*
 * The daemon core (watch.c and the modules it wires) run whole, through its
 * event loop, against the in-memory provider: the first reconcile, a spec
 * edit reconciled, a file that declares nothing ignored, SIGHUP on an
 * unchanged file, SIGUSR1's status lines, a newer spec pre-empting a
 * reconcile's health wait, a health probe failing `fall` times moving the
 * address, SIGTERM stopping it.
 *
 * The test waits for the daemon's log events, never for an amount of
 * time: each step is "do X, then wait for the event that says X was
 * handled", and assertions are on the provider's state and the events'
 * words.  A watchdog fails a step that never comes instead of hanging.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "providers/provider.h"
#include "reconciler/daemon/lease.h"
#include "reconciler/daemon/watch.h"
#include "spec/spec.h"
#include "tests/unit/support/memprov.h"
#include "tests/unit/support/rc_testutil.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/banned.h"

#define A "i-0000000a"
#define B "i-0000000b"
#define C "i-0000000c"

/* A step that has not happened by then never will: fail, do not hang. */
#define WATCHDOG_S 60

/* --- the daemon's log, as the test sees it ---------------------------------- */

struct ev {
	char *event, *resource, *msg;
	uint64_t at; /* the injected clock's time, when one is in use */
};

/*
 * The injected clock: only the event loop moves it (sleep_ms), workers
 * read it from their threads.
 */
static struct {
	pthread_mutex_t m;
	uint64_t now;
} fake = { PTHREAD_MUTEX_INITIALIZER, 0 };

static uint64_t fake_mono(void *ctx)
{
	uint64_t v;

	(void)ctx;
	pthread_mutex_lock(&fake.m);
	v = fake.now;
	pthread_mutex_unlock(&fake.m);
	return v;
}

static time_t fake_wall(void *ctx)
{
	return (time_t)(1700000000 + fake_mono(ctx) / 1000);
}

static void fake_sleep(void *ctx, uint64_t ms)
{
	(void)ctx;
	pthread_mutex_lock(&fake.m);
	fake.now += ms;
	pthread_mutex_unlock(&fake.m);
}

static const struct util_clock fake_clock = { fake_mono, fake_wall, fake_sleep,
					      NULL };

static struct {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct ev *v;
	size_t n, cap;
} logbook = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0 };

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void sink(void *ctx, const struct util_log_event *e)
{
	(void)ctx;
	pthread_mutex_lock(&logbook.m);
	if (logbook.n == logbook.cap) {
		logbook.cap = logbook.cap ? 2 * logbook.cap : 64;
		logbook.v = realloc(logbook.v,
				    logbook.cap * sizeof(*logbook.v));
	}
	logbook.v[logbook.n].event = strdup(e->event);
	logbook.v[logbook.n].resource = dup_or_null(e->resource);
	logbook.v[logbook.n].msg = strdup(e->msg);
	logbook.v[logbook.n].at = fake_mono(NULL);
	logbook.n++;
	pthread_cond_broadcast(&logbook.c);
	pthread_mutex_unlock(&logbook.m);
}

static size_t log_mark(void)
{
	size_t n;

	pthread_mutex_lock(&logbook.m);
	n = logbook.n;
	pthread_mutex_unlock(&logbook.m);
	return n;
}

static void log_clear(void)
{
	pthread_mutex_lock(&logbook.m);
	for (size_t i = 0; i < logbook.n; i++) {
		free(logbook.v[i].event);
		free(logbook.v[i].resource);
		free(logbook.v[i].msg);
	}
	free(logbook.v);
	logbook.v = NULL;
	logbook.n = logbook.cap = 0;
	pthread_mutex_unlock(&logbook.m);
}

/*
 * Wait for event (whose message contains `contains`, if not NULL) logged
 * at or after index since; returns its index.  The message is copied to
 * msg (may be NULL).
 */
static size_t wait_event(const char *event, const char *contains, size_t since,
			 char *msg, size_t msg_size)
{
	struct timespec dl;
	size_t i = since;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += WATCHDOG_S;
	pthread_mutex_lock(&logbook.m);
	for (;;) {
		for (; i < logbook.n; i++) {
			const struct ev *e = &logbook.v[i];

			if (strcmp(e->event, event) ||
			    (contains && !strstr(e->msg, contains)))
				continue;
			if (msg)
				snprintf(msg, msg_size, "%s", e->msg);
			pthread_mutex_unlock(&logbook.m);
			return i;
		}
		if (pthread_cond_timedwait(&logbook.c, &logbook.m, &dl) ==
		    ETIMEDOUT) {
			pthread_mutex_unlock(&logbook.m);
			fail_msg("no '%s' event%s%s", event,
				 contains ? " containing " : "",
				 contains ? contains : "");
		}
	}
}

static size_t count_events(const char *event, size_t since, size_t until)
{
	size_t n = 0;

	pthread_mutex_lock(&logbook.m);
	for (size_t i = since; i < until && i < logbook.n; i++)
		n += !strcmp(logbook.v[i].event, event);
	pthread_mutex_unlock(&logbook.m);
	return n;
}

/* --- the daemon on its own thread --------------------------------------------- */

struct fx {
	char dir[64], path[96];
	struct prov *p;
	struct memprov *m;
	struct rc_watch_config cfg;
	pthread_t th;
	bool running; /* th not joined yet */
	int ret;
	bool abandoned;
	struct util_err err;
	struct spec *initial;
	int ctl_w; /* cfg.controlled: where the test writes "signals" */
};

static void write_spec(struct fx *f, const char *text)
{
	char tmp[128];
	FILE *fp;

	/* Saved the way editors do: a new file renamed over the old one. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	fp = fopen(tmp, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(rename(tmp, f->path), 0);
}

static void *daemon_main(void *arg)
{
	struct fx *f = arg;

	f->ret = rc_watch_run(f->p, f->initial, &f->cfg, &f->abandoned,
			      &f->err);
	return NULL;
}

/* Start the daemon on text; returns once it has started. */
static void start(struct fx *f, const char *text)
{
	struct spec_diags d = { 0 };
	struct util_err e = UTIL_ERR_INIT;
	size_t mark = log_mark();

	write_spec(f, text);
	if (spec_load_file(f->path, &f->initial, &d, &e) < 0)
		fail_msg("%s", e.msg);
	spec_diags_release(&d);
	f->cfg.spec_path = f->path;
	f->cfg.debounce_ms = 20;
	f->cfg.resync_ms = 3600 * 1000; /* only when the test says */
	f->cfg.concurrency = 1;
	f->cfg.region = "us-east-1";
	f->cfg.region_fixed = true;
	assert_int_equal(pthread_create(&f->th, NULL, daemon_main, f), 0);
	f->running = true;
	wait_event("watch_started", NULL, mark, NULL, 0);
}

/* SIGTERM: the daemon stops and rc_watch_run returns 0. */
static void stop(struct fx *f)
{
	size_t mark = log_mark();

	assert_int_equal(kill(getpid(), SIGTERM), 0);
	wait_event("watch_stopped", NULL, mark, NULL, 0);
	assert_int_equal(pthread_join(f->th, NULL), 0);
	f->running = false;
	assert_int_equal(f->ret, 0);
	assert_false(f->abandoned);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/moor-watch-test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/moor.yaml", f->dir);
	f->p = t_world();
	f->m = memprov_of(f->p);
	memprov_set_healthy_after(f->m, 0);
	util_log_set_sink(sink, NULL, UTIL_LOG_DEBUG);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char tmp[128];

	/* A failed step left the daemon running: it still uses f->p. */
	if (f->running) {
		unsigned char term = SIGTERM;

		if (!f->cfg.controlled)
			kill(getpid(), SIGTERM);
		else if (write(f->ctl_w, &term, 1) != 1)
			fail_msg("cannot stop the daemon");
		pthread_join(f->th, NULL);
	}
	util_log_set_sink(NULL, NULL, UTIL_LOG_ERROR);
	prov_free(f->p);
	unlink(f->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
	unlink(tmp);
	rmdir(f->dir);
	log_clear();
	free(f);
	return 0;
}

static void expect_members(struct fx *f, const char *group, const char *want)
{
	char *got = memprov_members(f->m, group);

	assert_string_equal(got, want);
	free(got);
}

/* --- the spec file ----------------------------------------------------------- */

#define TG(members)                  \
	"version: 1\n"               \
	"load_balancers:\n"          \
	"  - target_group: web-tg\n" \
	"    wait: none\n"           \
	"    members: [" members "]\n"

static void test_edit_is_reconciled(void **state)
{
	struct fx *f = *state;
	size_t mark, reload;
	char msg[512];

	mark = log_mark();
	start(f, TG(A));
	wait_event("reconcile", "(startup)", mark, NULL, 0);
	expect_members(f, "web-tg", A ":8080");

	/* An edit: reloaded, and the next reconcile registers B. */
	mark = log_mark();
	write_spec(f, TG(A ", " B));
	reload = wait_event("spec_reloaded", NULL, mark, NULL, 0);
	wait_event("reconcile", "(edit)", reload, msg, sizeof(msg));
	assert_non_null(strstr(msg, ": ok, 1 change"));
	expect_members(f, "web-tg", A ":8080," B ":8080");

	/* A file that declares nothing is refused: B stays registered. */
	mark = log_mark();
	write_spec(f, "# nothing yet\n---\n");
	wait_event("spec_empty", "declares nothing", mark, msg, sizeof(msg));
	assert_non_null(strstr(msg, "keeping the last good spec"));
	/* SIGHUP on the same empty file: a reconcile of the spec in force. */
	assert_int_equal(kill(getpid(), SIGHUP), 0);
	wait_event("reconcile", "(sighup)", mark, msg, sizeof(msg));
	assert_non_null(strstr(msg, ": ok, 0 changes"));
	assert_int_equal(count_events("spec_reloaded", mark, log_mark()), 0);
	expect_members(f, "web-tg", A ":8080," B ":8080");

	/* Back to the spec in force: restored, nothing to reload. */
	mark = log_mark();
	write_spec(f, TG(A ", " B));
	wait_event("spec_restored", NULL, mark, NULL, 0);
	/* SIGUSR1: the status as log lines. */
	assert_int_equal(kill(getpid(), SIGUSR1), 0);
	wait_event("status", "(file ok)", mark, NULL, 0);
	wait_event("status_group", "web-tg: 2 members, 2 healthy", mark, NULL,
		   0);
	stop(f);
	assert_int_equal(count_events("spec_reloaded", mark, log_mark()), 0);
}

#define TG_WAIT(members)             \
	"version: 1\n"               \
	"load_balancers:\n"          \
	"  - target_group: web-tg\n" \
	"    members: [" members "]\n"

static void test_newer_spec_preempts(void **state)
{
	struct fx *f = *state;
	size_t mark, reload, follow;
	char msg[512];

	/* New members never turn healthy: the reconcile waits for them. */
	memprov_set_healthy_after(f->m, 1000000);
	mark = log_mark();
	start(f, TG_WAIT(A));
	wait_event("apply_phase", "wait-healthy", mark, NULL, 0);

	/* An edit meanwhile: that wait ends, and the newer spec runs. */
	mark = log_mark();
	write_spec(f, TG_WAIT(A ", " B));
	reload = wait_event("spec_reloaded", NULL, mark, NULL, 0);
	wait_event("reconcile_preempted", NULL, reload, NULL, 0);
	wait_event("reconcile", "(startup)", reload, msg, sizeof(msg));
	assert_non_null(strstr(msg, ": preempted,"));
	follow = wait_event("reconcile_started", "(edit)", reload, NULL, 0);
	wait_event("apply_phase", "wait-healthy", follow, NULL, 0);
	expect_members(f, "web-tg", A ":8080," B ":8080");
	/* SIGTERM ends the follow-up's wait too. */
	stop(f);
}

/* --- failover ------------------------------------------------------------------ */

/* A listening TCP socket on 127.0.0.1; its port in *port. */
static int listener(int *port)
{
	struct sockaddr_in sa = { 0 };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static void test_probe_failures_fail_over(void **state)
{
	struct fx *f = *state;
	int pa, pb, la = listener(&pa), lb = listener(&pb);
	char text[1024], msg[512];
	size_t mark, down, asks = 0;

	memprov_bind(f->m, "eipalloc-0000000a", A, "10.0.0.10");
	snprintf(text, sizeof(text),
		 "version: 1\n"
		 "elastic_ips:\n"
		 "  - allocation_id: eipalloc-0000000a\n"
		 "    failover:\n"
		 "      candidates:\n"
		 "        - {instance: " A ", probe: {tcp: %d, host: "
		 "127.0.0.1}}\n"
		 "        - {instance: " B ", probe: {tcp: %d, host: "
		 "127.0.0.1}}\n"
		 "      interval: 100ms\n"
		 "      timeout: 50ms\n"
		 "      fall: 2\n"
		 "      rise: 1\n",
		 pa, pb);
	mark = log_mark();
	start(f, text);
	wait_event("probe_up", A " of", mark, NULL, 0);
	wait_event("probe_up", B " of", mark, NULL, 0);
	assert_string_equal(memprov_address_holder(f->m, "eipalloc-0000000a"),
			    A);

	/* A stops answering: down after `fall` failed probes, then moved. */
	mark = log_mark();
	close(la);
	down = wait_event("probe_down", A " of", mark, msg, sizeof(msg));
	assert_non_null(strstr(msg, "after 2 failed probes in a row"));
	wait_event("failover", NULL, down, NULL, 0);
	/*
	 * The worker logs "failover" before the loop takes its result in:
	 * ask for the status until the loop has (each answer is an event).
	 */
	do {
		assert_true(++asks < 100000);
		mark = log_mark();
		assert_int_equal(kill(getpid(), SIGUSR1), 0);
		wait_event("status_address", NULL, mark, msg, sizeof(msg));
	} while (!strstr(msg, "on " B " (failover, stay, 1 move)"));
	stop(f);
	assert_string_equal(memprov_address_holder(f->m, "eipalloc-0000000a"),
			    B);
	close(lb);
}

/* The injected clock's time of log entry i. */
static uint64_t event_at(size_t i)
{
	uint64_t at;

	pthread_mutex_lock(&logbook.m);
	at = logbook.v[i].at;
	pthread_mutex_unlock(&logbook.m);
	return at;
}

/* The injected clock's times of the "probe" entries in [mark, end] that
 * start with prefix, in order; returns how many (at most max). */
static size_t probe_times(size_t mark, size_t end, const char *prefix,
			  uint64_t *at, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&logbook.m);
	for (size_t i = mark; i <= end && i < logbook.n && n < max; i++)
		if (!strcmp(logbook.v[i].event, "probe") &&
		    !strncmp(logbook.v[i].msg, prefix, strlen(prefix)))
			at[n++] = logbook.v[i].at;
	pthread_mutex_unlock(&logbook.m);
	return n;
}

/*
 * The same failover on the injected clock: status-check probes every 10s
 * read the provider, and the loop jumps from one round to the next
 * without waiting.
 */
static void test_failover_on_injected_clock(void **state)
{
	struct fx *f = *state;
	size_t mark, down, moved;
	char msg[512];
	uint64_t fails[4];

	fake_sleep(NULL, 1000000 - fake_mono(NULL) % 1000000);
	f->cfg.clock = &fake_clock;
	memprov_bind(f->m, "eipalloc-0000000a", A, "10.0.0.10");
	mark = log_mark();
	start(f, "version: 1\n"
		 "elastic_ips:\n"
		 "  - allocation_id: eipalloc-0000000a\n"
		 "    failover:\n"
		 "      candidates:\n"
		 "        - {instance: " A ", probe: {instance_status: ok}}\n"
		 "        - {instance: " B ", probe: {instance_status: ok}}\n"
		 "      interval: 10s\n"
		 "      fall: 2\n"
		 "      rise: 1\n");
	wait_event("probe_up", A " of", mark, NULL, 0);
	wait_event("probe_up", B " of", mark, NULL, 0);
	mark = log_mark();
	memprov_set_status_checks(f->m, A, "ok", "impaired");
	down = wait_event("probe_down", A " of", mark, msg, sizeof(msg));
	assert_non_null(strstr(msg, "after 2 failed probes in a row"));
	moved = wait_event("failover", NULL, down, NULL, 0);
	/*
	 * Down at the second failed round, one interval after the first.
	 * Only up to the verdict: on the fake clock the loop runs on through
	 * later rounds while this thread reads the log.
	 */
	assert_int_equal(probe_times(mark, down, A " failed", fails, 4), 2);
	assert_int_equal(event_at(down), fails[1]);
	assert_int_equal(fails[1] - fails[0], 10000);
	/* Moved at once: no timer stands between the verdict and the move. */
	assert_int_equal(event_at(moved), event_at(down));
	stop(f);
	assert_string_equal(memprov_address_holder(f->m, "eipalloc-0000000a"),
			    B);
}

/* --- leases ----------------------------------------------------------------- */

#define LEASE_DUR 10000

/* The leases' injected clock: the test moves it, the daemon reads it. */
static uint64_t lease_now;

static uint64_t lease_mono(void *ctx)
{
	(void)ctx;
	return __atomic_load_n(&lease_now, __ATOMIC_SEQ_CST);
}

static time_t lease_wall(void *ctx)
{
	(void)ctx;
	return 1700000000;
}

static void lease_sleep(void *ctx, uint64_t ms)
{
	(void)ctx;
	__atomic_add_fetch(&lease_now, ms, __ATOMIC_SEQ_CST);
}

static const struct util_clock lease_clock = { lease_mono, lease_wall,
					       lease_sleep, NULL };

static struct rc_lease *lease_mgr(struct prov *p, const char *id)
{
	static const char *names[] = { "moor" }; /* moor.yaml's */
	struct rc_lease_config c = { .table = "t",
				     .replica_id = id,
				     .duration_ms = LEASE_DUR,
				     .names = names,
				     .n_names = 1,
				     .clock = &lease_clock };
	struct rc_lease *m = NULL;
	struct util_err err = UTIL_ERR_INIT;

	assert_int_equal(rc_lease_new(p, &c, &m, &err), 0);
	return m;
}

static void lease_changed(void *ctx, size_t idx, bool held)
{
	uint64_t one = 1;

	(void)idx;
	(void)held;
	assert_int_equal(write(*(int *)ctx, &one, sizeof(one)), sizeof(one));
}

/* f's daemon as replica "me" of spec "moor", signals on a pipe. */
static void lease_daemon(struct fx *f, struct rc_lease *me, int *efd,
			 int ctl[2])
{
	*efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(*efd >= 0);
	assert_int_equal(pipe2(ctl, O_NONBLOCK | O_CLOEXEC), 0);
	rc_lease_on_change(me, 0, lease_changed, efd);
	f->cfg.name = "moor";
	f->cfg.lease = me;
	f->cfg.lease_idx = 0;
	f->cfg.lease_fd = *efd;
	f->cfg.controlled = true;
	f->cfg.control_fd = ctl[0];
	f->ctl_w = ctl[1];
}

/*
 * Only the holder mutates: as a follower the daemon observes an
 * unregistered member and leaves it; once it takes the dead holder's
 * lease it registers it at once; when its renewals fail the fence closes
 * and an edit is only observed.
 */
static void test_only_the_lease_holder_mutates(void **state)
{
	struct fx *f = *state;
	struct rc_lease *other, *me;
	unsigned char term = SIGTERM;
	int efd, ctl[2];
	size_t mark;

	memprov_lease_table(f->m, "t", false);
	lease_now = 1000;
	other = lease_mgr(f->p, "other");
	me = lease_mgr(f->p, "me");
	rc_lease_round(other);
	rc_lease_round(me);
	assert_true(rc_lease_held(other, 0));
	assert_false(rc_lease_held(me, 0));
	lease_daemon(f, me, &efd, ctl);

	mark = log_mark();
	start(f, TG(A));
	wait_event("observed", "not the lease holder", mark, NULL, 0);
	expect_members(f, "web-tg", "");
	assert_int_equal(memprov_count(f->m, "tg_register"), 0);

	/* "other" stops renewing: a whole duration later "me" takes it. */
	mark = log_mark();
	lease_sleep(NULL, LEASE_DUR);
	rc_lease_round(me);
	assert_true(rc_lease_held(me, 0));
	wait_event("lease_holder", "'moor'", mark, NULL, 0);
	wait_event("reconcile", "(lease)", mark, NULL, 0);
	expect_members(f, "web-tg", A ":8080");

	/* Renewals fail: the fence closes; an edit is only observed. */
	memprov_fail(f->m, "lease_renew", NULL, -1,
		     "ProvisionedThroughputExceededException",
		     UTIL_ERR_RETRYABLE, false);
	mark = log_mark();
	lease_sleep(NULL, LEASE_DUR / 4);
	rc_lease_round(me);
	/* Open until duration - margin (2/5) after the last renewal sent. */
	assert_true(rc_lease_held(me, 0));
	lease_sleep(NULL, LEASE_DUR * 3 / 5 - LEASE_DUR / 4);
	assert_false(rc_lease_held(me, 0));
	rc_lease_round(me);
	wait_event("lease_follower", "'moor'", mark, NULL, 0);
	mark = log_mark();
	write_spec(f, TG(A ", " B));
	wait_event("spec_reloaded", NULL, mark, NULL, 0);
	wait_event("observed", "1 change planned", mark, NULL, 0);
	expect_members(f, "web-tg", A ":8080");
	assert_int_equal(memprov_count(f->m, "tg_register"), 1);
	/* The lease is the name's: a new name waits for a restart. */
	mark = log_mark();
	write_spec(f, "name: other\n" TG(A));
	wait_event("spec_invalid", "name changed from moor to other", mark,
		   NULL, 0);

	mark = log_mark();
	assert_int_equal(write(ctl[1], &term, 1), 1);
	wait_event("watch_stopped", NULL, mark, NULL, 0);
	assert_int_equal(pthread_join(f->th, NULL), 0);
	f->running = false;
	assert_int_equal(f->ret, 0);
	rc_lease_free(other);
	rc_lease_free(me);
	close(efd);
	close(ctl[0]);
	close(ctl[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_edit_is_reconciled, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_newer_spec_preempts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_probe_failures_fail_over,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_failover_on_injected_clock,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_only_the_lease_holder_mutates, setup, teardown),
	};

	/* Before any thread: the daemon reads them through its signalfd. */
	rc_watch_block_signals();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
