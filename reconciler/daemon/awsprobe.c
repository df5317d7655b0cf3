#include "reconciler/daemon/awsprobe.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/parse.h"
#include "util/banned.h"

/* DescribeInstanceStatus takes at most this many InstanceId.N. */
#define STATUS_IDS_PER_READ 100

const char *rc_aws_verdict_name(enum rc_aws_verdict v)
{
	switch (v) {
	case RC_AWS_KEEP:
		return "keep";
	case RC_AWS_UP:
		return "up";
	case RC_AWS_DOWN:
		return "down";
	}
	return "?";
}

static void say(char *detail, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(char *detail, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vsnprintf(detail, size, fmt, ap) < 0 && size)
		detail[0] = '\0';
	va_end(ap);
}

/* --- verdicts -------------------------------------------------------------- */

enum rc_aws_verdict rc_aws_target_verdict(const struct prov_target_group *tg,
					  const char *instance, char *detail,
					  size_t size)
{
	const struct prov_target *t = NULL;

	if (!tg) {
		say(detail, size, "target group not found");
		return RC_AWS_DOWN;
	}
	for (size_t i = 0; i < tg->n_targets && !t; i++)
		if (!strcmp(tg->targets[i].id, instance))
			t = &tg->targets[i];
	if (!t) {
		say(detail, size, "not a target of %s",
		    tg->name ? tg->name : tg->arn);
		return RC_AWS_DOWN;
	}
	say(detail, size, "target %s%s%s", t->state ? t->state : "?",
	    t->reason ? " " : "", t->reason ? t->reason : "");
	switch (t->health) {
	case PROV_HEALTH_HEALTHY:
		return RC_AWS_UP;
	case PROV_HEALTH_UNHEALTHY:
	case PROV_HEALTH_UNUSED:
		return RC_AWS_DOWN;
	case PROV_HEALTH_INITIAL:
	case PROV_HEALTH_DRAINING:
	case PROV_HEALTH_UNAVAILABLE:
	case PROV_HEALTH_UNKNOWN:
		break;
	}
	return RC_AWS_KEEP;
}

enum rc_aws_verdict rc_aws_classic_verdict(const struct prov_classic_lb *lb,
					   const char *instance, char *detail,
					   size_t size)
{
	const struct prov_classic_member *m = NULL;

	if (!lb) {
		say(detail, size, "classic load balancer not found");
		return RC_AWS_DOWN;
	}
	for (size_t i = 0; i < lb->n_members && !m; i++)
		if (!strcmp(lb->members[i].instance_id, instance))
			m = &lb->members[i];
	if (!m) {
		say(detail, size, "not a member of %s", lb->name);
		return RC_AWS_DOWN;
	}
	say(detail, size, "%s%s%s", m->state ? m->state : "?",
	    m->description ? ": " : "", m->description ? m->description : "");
	if (m->state && !strcmp(m->state, "InService"))
		return RC_AWS_UP;
	if (m->state && !strcmp(m->state, "OutOfService"))
		return RC_AWS_DOWN;
	return RC_AWS_KEEP;
}

static bool is(const char *s, const char *word)
{
	return s && !strcmp(s, word);
}

enum rc_aws_verdict rc_aws_status_verdict(
	const struct prov_instance_status_list *l, const char *instance,
	char *detail, size_t size)
{
	const struct prov_instance_status *s = NULL;

	for (size_t i = 0; l && i < l->n && !s; i++)
		if (!strcmp(l->v[i].instance_id, instance))
			s = &l->v[i];
	if (!s) {
		say(detail, size, "no status: unknown to EC2");
		return RC_AWS_DOWN;
	}
	say(detail, size, "%s, system %s, instance %s",
	    prov_instance_state_name(s->state),
	    s->system_status ? s->system_status : "?",
	    s->instance_status ? s->instance_status : "?");
	if (s->state != PROV_INSTANCE_RUNNING ||
	    is(s->system_status, "impaired") ||
	    is(s->instance_status, "impaired"))
		return RC_AWS_DOWN;
	if (is(s->system_status, "ok") && is(s->instance_status, "ok"))
		return RC_AWS_UP;
	/* initializing, insufficient-data: the checks have not concluded. */
	if (is(s->system_status, "not-applicable") ||
	    is(s->instance_status, "not-applicable"))
		return RC_AWS_DOWN;
	return RC_AWS_KEEP;
}

/* --- a round --------------------------------------------------------------- */

static bool same_resource(const struct rc_aws_ask *a,
			  const struct rc_aws_ask *b)
{
	return a->kind == b->kind && !strcmp(a->ref, b->ref);
}

/* Whether asks[i] is the first to ask about its resource. */
static bool first_of(const struct rc_aws_ask *asks, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (same_resource(&asks[j], &asks[i]))
			return false;
	return true;
}

static void cannot_read(struct rc_aws_ask *a, const struct util_err *e)
{
	a->verdict = RC_AWS_KEEP;
	a->read_failed = true;
	say(a->detail, sizeof(a->detail), "cannot read: %s", e->msg);
}

/* One read of asks[i]'s group or ELB, answering every ask about it. */
static void read_lb(struct prov *p, struct rc_aws_ask *asks, size_t n, size_t i)
{
	bool v2 = asks[i].kind == SPEC_PROBE_TARGET_HEALTH;
	struct prov_target_group tg = { 0 };
	struct prov_classic_lb lb = { 0 };
	struct util_err e = UTIL_ERR_INIT;
	int r;

	if (v2)
		r = p->ops->target_health(p, asks[i].ref, &tg, &e);
	else
		r = p->ops->classic_health(p, asks[i].ref, &lb, &e);
	for (size_t k = i; k < n; k++) {
		struct rc_aws_ask *a = &asks[k];

		if (!same_resource(a, &asks[i]))
			continue;
		if (r < 0 && r != UTIL_ENOTFOUND)
			cannot_read(a, &e);
		else if (v2)
			a->verdict = rc_aws_target_verdict(r < 0 ? NULL : &tg,
							   a->instance,
							   a->detail,
							   sizeof(a->detail));
		else
			a->verdict = rc_aws_classic_verdict(r < 0 ? NULL : &lb,
							    a->instance,
							    a->detail,
							    sizeof(a->detail));
	}
	prov_target_group_release(&tg);
	prov_classic_lb_release(&lb);
}

/* One DescribeInstanceStatus (the provider chunks it) for every ask. */
static size_t read_status(struct prov *p, struct rc_aws_ask *asks, size_t n)
{
	const char **ids = util_xcalloc(n ? n : 1, sizeof(*ids));
	struct prov_instance_status_list l = { 0 };
	struct util_err e = UTIL_ERR_INIT;
	size_t n_ids = 0;
	int r;

	for (size_t i = 0; i < n; i++)
		if (asks[i].kind == SPEC_PROBE_INSTANCE_STATUS)
			ids[n_ids++] = asks[i].instance;
	if (n_ids) {
		r = p->ops->instance_status(p, ids, n_ids, &l, &e);
		for (size_t i = 0; i < n; i++) {
			struct rc_aws_ask *a = &asks[i];

			if (a->kind != SPEC_PROBE_INSTANCE_STATUS)
				continue;
			if (r < 0)
				cannot_read(a, &e);
			else
				a->verdict = rc_aws_status_verdict(
					&l, a->instance, a->detail,
					sizeof(a->detail));
		}
	}
	prov_instance_status_list_release(&l);
	free(ids);
	return n_ids ? 1 : 0;
}

size_t rc_aws_round(struct prov *p, struct rc_aws_ask *asks, size_t n)
{
	size_t reads = 0;

	for (size_t i = 0; i < n; i++) {
		asks[i].verdict = RC_AWS_KEEP;
		asks[i].read_failed = false;
		asks[i].detail[0] = '\0';
	}
	for (size_t i = 0; i < n; i++) {
		if (asks[i].kind != SPEC_PROBE_TARGET_HEALTH &&
		    asks[i].kind != SPEC_PROBE_INSTANCE_HEALTH)
			continue;
		if (!first_of(asks, i))
			continue;
		read_lb(p, asks, n, i);
		reads++;
	}
	return reads + read_status(p, asks, n);
}

void rc_aws_count_reads(const struct rc_aws_ask *asks, size_t n,
			struct rc_aws_reads *ret)
{
	size_t ids = 0;

	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < n; i++) {
		const struct rc_aws_ask *a = &asks[i];
		bool first = true;

		if (a->kind == SPEC_PROBE_INSTANCE_STATUS) {
			for (size_t j = 0; j < i && first; j++)
				first = asks[j].kind != a->kind ||
					strcmp(asks[j].instance, a->instance);
			ids += first;
			continue;
		}
		if (!first_of(asks, i))
			continue;
		if (a->kind == SPEC_PROBE_TARGET_HEALTH)
			ret->elbv2++;
		else if (a->kind == SPEC_PROBE_INSTANCE_HEALTH)
			ret->elb++;
	}
	ret->ec2 = (ids + STATUS_IDS_PER_READ - 1) / STATUS_IDS_PER_READ;
}

/* --- off the loop ---------------------------------------------------------- */

struct rc_aws_sub {
	struct rc_aws_ask *asks;
	size_t n;
	/* The strings asks point to: the thread must not see the spec's. */
	char **refs, **instances;
	rc_aws_done_fn fn;
	void *ctx;
	bool canceled;
	struct rc_aws_sub *next;
};

struct rc_awsprober {
	struct rc_evloop *l;
	struct prov *p;
	int evfd;
	struct rc_ev_io *io;
	pthread_t th;
	bool started;
	pthread_mutex_t m;
	pthread_cond_t c;
	struct rc_aws_sub *todo, *done; /* newest first */
	bool quit;
};

static void sub_free(struct rc_aws_sub *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->refs[i]);
		free(s->instances[i]);
	}
	free(s->refs);
	free(s->instances);
	free(s->asks);
	free(s);
}

static void subs_free(struct rc_aws_sub *s)
{
	while (s) {
		struct rc_aws_sub *next = s->next;

		sub_free(s);
		s = next;
	}
}

/* Every ask of the batch in one round, answers copied back. */
static void run_batch(struct prov *p, struct rc_aws_sub *batch)
{
	struct rc_aws_ask *all;
	size_t n = 0, k = 0;

	for (struct rc_aws_sub *s = batch; s; s = s->next)
		n += s->n;
	all = util_xcalloc(n ? n : 1, sizeof(*all));
	for (struct rc_aws_sub *s = batch; s; s = s->next) {
		memcpy(all + k, s->asks, s->n * sizeof(*all));
		k += s->n;
	}
	rc_aws_round(p, all, n);
	k = 0;
	for (struct rc_aws_sub *s = batch; s; s = s->next) {
		memcpy(s->asks, all + k, s->n * sizeof(*all));
		k += s->n;
	}
	free(all);
}

static void *thread_main(void *arg)
{
	struct rc_awsprober *ap = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&ap->m);
	for (;;) {
		struct rc_aws_sub *batch, *last;

		while (!ap->todo && !ap->quit)
			pthread_cond_wait(&ap->c, &ap->m);
		if (ap->quit)
			break;
		batch = ap->todo;
		ap->todo = NULL;
		pthread_mutex_unlock(&ap->m);
		run_batch(ap->p, batch);
		pthread_mutex_lock(&ap->m);
		for (last = batch; last->next; last = last->next)
			;
		last->next = ap->done;
		ap->done = batch;
		if (write(ap->evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			continue; /* the loop still collects on the next one */
	}
	pthread_mutex_unlock(&ap->m);
	return NULL;
}

static void on_done(void *ctx, int fd, uint32_t events)
{
	struct rc_awsprober *ap = ctx;
	struct rc_aws_sub *done, *rev = NULL;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&ap->m);
	done = ap->done;
	ap->done = NULL;
	pthread_mutex_unlock(&ap->m);
	/* Oldest first. */
	while (done) {
		struct rc_aws_sub *next = done->next;

		done->next = rev;
		rev = done;
		done = next;
	}
	while (rev) {
		struct rc_aws_sub *next = rev->next;

		rc_evloop_release(ap->l);
		if (!rev->canceled)
			rev->fn(rev->ctx, rev->asks, rev->n);
		sub_free(rev);
		rev = next;
	}
}

int rc_awsprober_new(struct rc_evloop *l, struct prov *p,
		     struct rc_awsprober **ret, struct util_err *err)
{
	struct rc_awsprober *ap = util_xcalloc(1, sizeof(*ap));

	ap->l = l;
	ap->p = p;
	pthread_mutex_init(&ap->m, NULL);
	pthread_cond_init(&ap->c, NULL);
	ap->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ap->evfd < 0) {
		rc_awsprober_free(ap);
		return util_err_set(err, UTIL_EIO, "eventfd: %s",
				    strerror(errno));
	}
	if (rc_ev_io_add(l, ap->evfd, EPOLLIN, on_done, ap, &ap->io, err) < 0) {
		rc_awsprober_free(ap);
		return UTIL_EIO;
	}
	if (pthread_create(&ap->th, NULL, thread_main, ap)) {
		rc_awsprober_free(ap);
		return util_err_set(err, UTIL_EFAIL,
				    "cannot start the AWS probe thread");
	}
	ap->started = true;
	*ret = ap;
	return 0;
}

void rc_awsprober_free(struct rc_awsprober *ap)
{
	if (!ap)
		return;
	if (ap->started) {
		pthread_mutex_lock(&ap->m);
		ap->quit = true;
		pthread_cond_signal(&ap->c);
		pthread_mutex_unlock(&ap->m);
		pthread_join(ap->th, NULL);
	}
	subs_free(ap->todo);
	subs_free(ap->done);
	rc_ev_io_free(ap->io);
	if (ap->evfd >= 0)
		close(ap->evfd);
	pthread_cond_destroy(&ap->c);
	pthread_mutex_destroy(&ap->m);
	free(ap);
}

struct rc_aws_sub *rc_awsprober_submit(struct rc_awsprober *ap,
				       const struct rc_aws_ask *asks, size_t n,
				       rc_aws_done_fn fn, void *ctx)
{
	struct rc_aws_sub *s = util_xcalloc(1, sizeof(*s));

	s->asks = util_xcalloc(n ? n : 1, sizeof(*s->asks));
	s->refs = util_xcalloc(n ? n : 1, sizeof(*s->refs));
	s->instances = util_xcalloc(n ? n : 1, sizeof(*s->instances));
	for (size_t i = 0; i < n; i++) {
		s->asks[i] = asks[i];
		s->refs[i] = util_xstrdup_or_null(asks[i].ref);
		s->instances[i] = util_xstrdup(asks[i].instance);
		s->asks[i].ref = s->refs[i];
		s->asks[i].instance = s->instances[i];
	}
	s->n = n;
	s->fn = fn;
	s->ctx = ctx;
	pthread_mutex_lock(&ap->m);
	s->next = ap->todo;
	ap->todo = s;
	rc_evloop_hold(ap->l); /* released in on_done */
	pthread_cond_signal(&ap->c);
	pthread_mutex_unlock(&ap->m);
	return s;
}

void rc_aws_sub_cancel(struct rc_aws_sub *s)
{
	if (s)
		s->canceled = true;
}

/* --- the read budget ------------------------------------------------------- */

/* Block i's asks, as its rounds make them (every candidate, running). */
static size_t block_asks(const struct spec_failover *f, struct rc_aws_ask *asks)
{
	size_t n = 0;

	for (size_t k = 0; k < f->n_candidates; k++) {
		const struct spec_probe *sp = f->candidates[k].probe.kind !=
							      SPEC_PROBE_NONE
						      ? &f->candidates[k].probe
						      : &f->probe;

		if (!spec_probe_reads_aws(sp->kind) ||
		    !f->candidates[k].instance)
			continue;
		asks[n++] = (struct rc_aws_ask){
			.kind = sp->kind,
			.ref = sp->aws_ref ? sp->aws_ref : "",
			.instance = f->candidates[k].instance
		};
	}
	return n;
}

/* Reads per second of each bucket, and of each block. */
struct budget_use {
	double ec2, elb, elbv2;
	struct rc_aws_reads *per; /* per eip, zero when not failover */
};

static void budget_use(const struct spec *s, struct budget_use *u)
{
	memset(u, 0, sizeof(*u));
	u->per = util_xcalloc(s->n_eips + 1, sizeof(*u->per));
	for (size_t i = 0; i < s->n_eips; i++) {
		const struct spec_failover *f = &s->eips[i].failover;
		struct rc_aws_ask *asks;
		double secs = (double)f->interval_ms / 1000.0;

		if (s->eips[i].bind != SPEC_BIND_FAILOVER || !f->interval_ms)
			continue;
		asks = util_xcalloc(f->n_candidates + 1, sizeof(*asks));
		rc_aws_count_reads(asks, block_asks(f, asks), &u->per[i]);
		free(asks);
		u->ec2 += (double)u->per[i].ec2 / secs;
		u->elb += (double)u->per[i].elb / secs;
		u->elbv2 += (double)u->per[i].elbv2 / secs;
	}
}

/*
 * The refusal of one bucket, at the block spending most of it: its reads
 * per interval, the spec's rate, half the refill, and the interval that
 * would fit with the other blocks unchanged.
 */
static double block_rate(const struct spec *s, const struct budget_use *u,
			 size_t i, size_t (*of)(const struct rc_aws_reads *))
{
	if (s->eips[i].bind != SPEC_BIND_FAILOVER ||
	    !s->eips[i].failover.interval_ms)
		return 0;
	return (double)of(&u->per[i]) * 1000.0 /
	       (double)s->eips[i].failover.interval_ms;
}

static uint64_t ceil_ms(double ms)
{
	uint64_t v = (uint64_t)ms;

	return (double)v < ms ? v + 1 : v;
}

static double share_of(const struct rc_aws_budget *b)
{
	return b->share > 0 ? b->share : RC_AWS_DEFAULT_SHARE;
}

/* "half", "25% of": how the messages name the share. */
static const char *share_words(double share, char *buf, size_t size)
{
	if (share == 0.5)
		return "half";
	snprintf(buf, size, "%.3g%% of", share * 100);
	return buf;
}

static int over_budget(const struct spec *s, const struct budget_use *u,
		       const char *bucket, double rate, double refill,
		       double share, size_t (*of)(const struct rc_aws_reads *),
		       struct util_err *err)
{
	const struct spec_failover *f;
	double half = refill * share, own = 0, rest;
	size_t top = 0, reads;
	char d[32], need[80], sw[32];

	for (size_t i = 0; i < s->n_eips; i++)
		if (block_rate(s, u, i, of) > own) {
			own = block_rate(s, u, i, of);
			top = i;
		}
	f = &s->eips[top].failover;
	reads = of(&u->per[top]);
	rest = rate - own;
	if (rest >= half)
		snprintf(need, sizeof(need), "%s",
			 "fewer reads elsewhere first (the other blocks "
			 "spend it all)");
	else
		util_duration_format(ceil_ms((double)reads * 1000.0 /
					     (half - rest)),
				     need, sizeof(need));
	return util_err_set_loc(
		err, s->path, f->loc.line, f->loc.col,
		"%zu probe read%s every %s = %.3g/s (%.3g/s across the spec) "
		"exceeds %s the %s bucket's %.3g/s refill (%.3g/s); raise "
		"'interval' to at least %s",
		reads, reads == 1 ? "" : "s",
		util_duration_format(f->interval_ms, d, sizeof(d)), own, rate,
		share_words(share, sw, sizeof(sw)), bucket, refill, half, need);
}

static size_t of_ec2(const struct rc_aws_reads *r)
{
	return r->ec2;
}

static size_t of_elb(const struct rc_aws_reads *r)
{
	return r->elb;
}

static size_t of_elbv2(const struct rc_aws_reads *r)
{
	return r->elbv2;
}

static size_t of_account(const struct rc_aws_reads *r)
{
	return r->elb + r->elbv2;
}

int rc_aws_budget_check(const struct spec *s, const struct rc_aws_budget *b,
			struct util_err *err)
{
	struct budget_use u;
	double k = share_of(b);
	int r = 0;

	budget_use(s, &u);
	if (b->ec2 > 0 && u.ec2 > b->ec2 * k)
		r = over_budget(s, &u, "EC2 DescribeInstanceStatus", u.ec2,
				b->ec2, k, of_ec2, err);
	else if (b->elbv2 > 0 && u.elbv2 > b->elbv2 * k)
		r = over_budget(s, &u, "ELBv2 describe", u.elbv2, b->elbv2, k,
				of_elbv2, err);
	else if (b->elb > 0 && u.elb > b->elb * k)
		r = over_budget(s, &u, "Classic ELB describe", u.elb, b->elb, k,
				of_elb, err);
	else if (b->elb_account > 0 && u.elb + u.elbv2 > b->elb_account * k)
		r = over_budget(s, &u, "ELB account", u.elb + u.elbv2,
				b->elb_account, k, of_account, err);
	free(u.per);
	return r;
}

int rc_aws_parse_share(const char *arg, double *ret, struct util_err *err)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (end != arg && *end == '%' && !end[1]) {
		v /= 100;
		end++;
	}
	if (end == arg || *end || errno || !(v > 0 && v <= 1))
		return util_err_set(err, UTIL_EINVAL,
				    "'%s' is not a share of the read buckets: "
				    "give 0 < SHARE <= 1 (0.5) or a "
				    "percentage (50%%)",
				    arg);
	*ret = v;
	return 0;
}

/*
 * The shortest period p with reads / p + rate <= share * refill (reads
 * per resync, rate the probes' reads per second); resync_ms when that is
 * shorter.  used: the share spent at the period returned.
 */
static uint64_t fit_bucket(double reads, double rate, double refill,
			   double share, uint64_t resync_ms, double *used)
{
	double room = refill * share - rate;
	uint64_t p = resync_ms;

	if (refill <= 0) {
		*used = 0;
		return resync_ms;
	}
	if (room > 0 && reads * 1000.0 / room > (double)resync_ms)
		p = ceil_ms(reads * 1000.0 / room);
	*used = (reads * 1000.0 / (double)p + rate) / refill;
	return p;
}

uint64_t rc_aws_resync_fit(const struct spec *s, const struct rc_aws_budget *b,
			   uint64_t resync_ms, struct rc_aws_share *used)
{
	struct budget_use u;
	double k = share_of(b), elb = 0, elbv2 = 0;
	uint64_t p = resync_ms;

	for (size_t i = 0; i < s->n_lbs; i++)
		if (s->lbs[i].kind == SPEC_LB_CLASSIC)
			elb++;
		else
			elbv2++;
	/* The describe of every Classic ELB, of every target group. */
	elb += elb > 0;
	elbv2 += elbv2 > 0;
	budget_use(s, &u);
	free(u.per);
	/* Twice: a longer period lowers the other buckets' use too. */
	for (int pass = 0; pass < 2; pass++) {
		p = fit_bucket(elb, u.elb, b->elb, k, p, &used->elb);
		p = fit_bucket(elbv2, u.elbv2, b->elbv2, k, p, &used->elbv2);
		p = fit_bucket(elb + elbv2, u.elb + u.elbv2, b->elb_account, k,
			       p, &used->elb_account);
	}
	return p;
}

char *rc_aws_describe(const struct spec_probe *sp)
{
	switch (sp->kind) {
	case SPEC_PROBE_TARGET_HEALTH:
		return util_xasprintf("target_health %s", sp->aws_ref);
	case SPEC_PROBE_INSTANCE_HEALTH:
		return util_xasprintf("instance_health %s", sp->aws_ref);
	case SPEC_PROBE_INSTANCE_STATUS:
		return util_xstrdup("instance_status ok");
	case SPEC_PROBE_NONE:
	case SPEC_PROBE_HTTP:
	case SPEC_PROBE_TCP:
		break;
	}
	return util_xstrdup("?");
}
