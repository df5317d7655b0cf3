#include "providers/aws/client.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/json.h"
#include "providers/aws/sigv4.h"
#include "providers/aws/xml.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/fence.h"
#include "util/log.h"
#include "util/str.h"
#include "util/banned.h"

struct endpoint {
	char *url;  /* as configured, no trailing slash */
	char *post; /* the URL requests go to: url + "/" (or url's path) */
	char *host; /* Host header: host[:port] */
	char *path; /* path to sign */
};

struct awsp_client {
	const struct awsp_transport *transport;
	struct awsp_client_creds creds;
	char *region;
	struct endpoint ep[AWSP_SVC_COUNT];
	const struct util_clock *clock;
	struct awsp_random random;
	unsigned max_attempts;
	struct awsp_signer *signer;
	struct awsp_ratelimit *rl;
	struct awsp_retry_quota quota;

	/* In-flight slots. */
	pthread_mutex_t slot_lock;
	pthread_cond_t slot_cond;
	unsigned max_inflight, inflight;

	pthread_mutex_t stats_lock;
	struct awsp_client_stats stats;
};

static void endpoint_release(struct endpoint *e)
{
	free(e->url);
	free(e->post);
	free(e->host);
	free(e->path);
	memset(e, 0, sizeof(*e));
}

/* Split an endpoint URL into what the request and the signature need. */
static int endpoint_init(struct endpoint *e, const char *url,
			 struct util_err *err)
{
	const char *scheme_end = strstr(url, "://");
	const char *host, *host_end, *at;
	struct buf authority = BUF_INIT;
	size_t len = strlen(url);

	if (!scheme_end ||
	    (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)))
		return util_err_set(err, UTIL_EINVAL,
				    "invalid endpoint URL '%s' (expected "
				    "http:// or https://)",
				    url);
	host = scheme_end + 3;
	host_end = host + strcspn(host, "/?#");
	at = memchr(host, '@', (size_t)(host_end - host));
	if (at || host_end == host || *host_end == '?' || *host_end == '#')
		return util_err_set(err, UTIL_EINVAL,
				    "invalid endpoint URL '%s' (expected "
				    "scheme://host[:port][/path])",
				    url);
	/* Host as libcurl would send it (default port dropped). */
	if (awsp_url_authority(url, &authority, err) < 0) {
		buf_release(&authority);
		return UTIL_EINVAL;
	}
	while (len && url[len - 1] == '/')
		len--;
	e->url = util_xstrndup(url, len);
	e->host = buf_detach(&authority, NULL);
	e->post = util_xasprintf("%s/", e->url);
	e->path = util_xstrdup(e->post + (host_end - url));
	return 0;
}

int awsp_client_new(const struct awsp_client_config *cfg,
		    struct awsp_client **ret, struct util_err *err)
{
	struct awsp_client *c = util_xcalloc(1, sizeof(*c));
	struct awsp_ratelimit_config limits;

	c->transport = cfg->transport;
	c->creds = cfg->creds;
	c->region = util_xstrdup(cfg->region ? cfg->region : "us-east-1");
	c->clock = cfg->clock ? cfg->clock : &util_clock_system;
	c->random = cfg->random.next ? cfg->random : awsp_random_system;
	c->max_attempts = cfg->max_attempts ? cfg->max_attempts
					    : AWSP_RETRY_DEFAULT_MAX_ATTEMPTS;
	c->max_inflight = cfg->max_inflight;
	pthread_mutex_init(&c->slot_lock, NULL);
	pthread_cond_init(&c->slot_cond, NULL);
	pthread_mutex_init(&c->stats_lock, NULL);
	awsp_retry_quota_init(&c->quota, AWSP_RETRY_QUOTA_CAPACITY);
	c->signer = awsp_signer_new();
	if (cfg->limits)
		limits = *cfg->limits;
	else
		awsp_ratelimit_defaults(&limits);
	c->rl = awsp_ratelimit_new(&limits, c->clock);
	for (size_t i = 0; i < AWSP_SVC_COUNT; i++) {
		if (!cfg->endpoints[i])
			continue;
		if (endpoint_init(&c->ep[i], cfg->endpoints[i], err) < 0) {
			awsp_client_free(c);
			return UTIL_EINVAL;
		}
	}
	*ret = c;
	return 0;
}

void awsp_client_free(struct awsp_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < AWSP_SVC_COUNT; i++)
		endpoint_release(&c->ep[i]);
	awsp_signer_free(c->signer);
	awsp_ratelimit_free(c->rl);
	awsp_retry_quota_destroy(&c->quota);
	pthread_mutex_destroy(&c->slot_lock);
	pthread_cond_destroy(&c->slot_cond);
	pthread_mutex_destroy(&c->stats_lock);
	free(c->region);
	free(c);
}

const char *awsp_client_region(const struct awsp_client *c)
{
	return c->region;
}

const char *awsp_client_endpoint(const struct awsp_client *c,
				 enum awsp_service svc)
{
	if ((size_t)svc >= AWSP_SVC_COUNT)
		return NULL;
	return c->ep[svc].url;
}

size_t awsp_call_buckets(enum awsp_service svc, const char *action,
			 unsigned flags, enum awsp_rl_bucket out[2])
{
	bool registration =
		util_starts_with(action, "RegisterTargets") ||
		util_starts_with(action, "DeregisterTargets") ||
		util_starts_with(action, "RegisterInstancesWithLoadBalancer") ||
		util_starts_with(action, "DeregisterInstancesFromLoadBalancer");
	bool describe = util_starts_with(action, "Describe");

	switch (svc) {
	case AWSP_SVC_EC2:
		if (flags & AWSP_CALL_MUTATING)
			out[0] = AWSP_RL_EC2_MUTATE;
		else if (flags & AWSP_CALL_UNFILTERED)
			out[0] = AWSP_RL_EC2_UNFILTERED;
		else
			out[0] = AWSP_RL_EC2_READ;
		return 1;
	case AWSP_SVC_ELB:
		out[0] = registration ? AWSP_RL_ELB_REGISTER
			 : describe   ? AWSP_RL_ELB_READ
				      : AWSP_RL_ELB_MUTATE;
		out[1] = AWSP_RL_ELB_ACCOUNT;
		return 2;
	case AWSP_SVC_ELBV2:
		out[0] = registration ? AWSP_RL_ELBV2_REGISTER
			 : describe   ? AWSP_RL_ELBV2_READ
				      : AWSP_RL_ELBV2_MUTATE;
		out[1] = AWSP_RL_ELB_ACCOUNT;
		return 2;
	case AWSP_SVC_DYNAMODB:
		out[0] = AWSP_RL_DYNAMODB;
		return 1;
	case AWSP_SVC_STS:
	case AWSP_SVC_COUNT:
		break;
	}
	return 0;
}

static void slot_take(struct awsp_client *c)
{
	if (!c->max_inflight)
		return;
	pthread_mutex_lock(&c->slot_lock);
	while (c->inflight >= c->max_inflight)
		pthread_cond_wait(&c->slot_cond, &c->slot_lock);
	c->inflight++;
	pthread_mutex_unlock(&c->slot_lock);
}

static void slot_give(struct awsp_client *c)
{
	if (!c->max_inflight)
		return;
	pthread_mutex_lock(&c->slot_lock);
	c->inflight--;
	pthread_cond_signal(&c->slot_cond);
	pthread_mutex_unlock(&c->slot_lock);
}

#define STAT_ADD(c, field, n)                           \
	do {                                            \
		pthread_mutex_lock(&(c)->stats_lock);   \
		(c)->stats.field += (n);                \
		pthread_mutex_unlock(&(c)->stats_lock); \
	} while (0)

/* The request's body and its protocol's headers (Query or JSON 1.0). */
static size_t call_body(const struct awsp_call *call, struct buf *target,
			const void **body, size_t *len, struct awsp_header *hd)
{
	const struct awsp_service_info *si = awsp_service(call->svc);

	if (call->json) {
		*body = call->json;
		*len = call->json_len;
		buf_addf(target, "%s.%s", si->json_target, call->action);
		hd[0] = (struct awsp_header){ "Content-Type",
					      "application/x-amz-json-1.0" };
		hd[1] = (struct awsp_header){ "X-Amz-Target", target->buf };
		return 2;
	}
	*body = call->query->body.buf;
	*len = call->query->body.len;
	hd[0] = (struct awsp_header){
		"Content-Type",
		"application/x-www-form-urlencoded; charset=utf-8"
	};
	return 1;
}

/*
 * The thread's fence, asked right before an attempt goes out: 0 to send
 * (req's timeouts bounded by its budget), UTIL_EFENCED to send nothing.
 */
static int fence_ask(struct awsp_http_request *req, struct util_err *err)
{
	uint64_t budget;
	int r;

	r = util_fence_check(&budget, err);
	if (r < 0)
		return r;
	if (budget == 0)
		return util_err_set(err, UTIL_EFENCED,
				    "no time left to send the request");
	if (budget < (uint64_t)LONG_MAX)
		req->budget_ms = (long)budget;
	return 0;
}

/* The rest of an attempt's request, after the signature. */
static void request_fill(struct awsp_client *c, const struct awsp_call *call,
			 const struct endpoint *ep, unsigned attempt,
			 struct awsp_http_request *req)
{
	req->method = "POST";
	req->url = ep->post;
	/* STS answers carry credentials (AssumeRole); never log bodies. */
	req->sensitive_body = call->svc == AWSP_SVC_STS;
	req->log_action = call->action;
	req->attempt = attempt;
	req->max_attempts = c->max_attempts;
	req->fresh_connection = (call->flags & AWSP_CALL_MUTATING) &&
				!(call->flags & AWSP_CALL_IDEMPOTENT);
}

/*
 * Sign and send one attempt.  0 when an HTTP answer arrived (any status);
 * otherwise the transport's, the credential chain's or the fence's error.
 */
static int send_once(struct awsp_client *c, const struct awsp_call *call,
		     const struct endpoint *ep, unsigned attempt,
		     struct awsp_http_response *resp, uint64_t *fence_until,
		     struct util_err *err)
{
	const struct awsp_service_info *si = awsp_service(call->svc);
	struct awsp_credentials cr = { 0 };
	struct awsp_header hd[8];
	struct awsp_sigv4_request sreq = { 0 };
	struct awsp_http_request req = { 0 };
	struct buf authz = BUF_INIT, target = BUF_INIT;
	char amz_date[17];
	size_t nh = 0;
	int r;

	r = c->creds.get(c->creds.ctx, &cr, err);
	if (r < 0)
		goto out;
	awsp_sigv4_amz_date(c->clock->wall(c->clock->ctx), amz_date);
	hd[nh++] = (struct awsp_header){ "Host", ep->host };
	nh += call_body(call, &target, &req.body, &req.body_len, &hd[nh]);
	hd[nh++] = (struct awsp_header){ "X-Amz-Date", amz_date };
	if (cr.session_token)
		hd[nh++] = (struct awsp_header){ "X-Amz-Security-Token",
						 cr.session_token };
	sreq.method = "POST";
	sreq.path = ep->path;
	sreq.headers = hd;
	sreq.n_headers = nh;
	sreq.body = req.body;
	sreq.body_len = req.body_len;
	sreq.normalize_path = true;
	r = awsp_signer_sign(c->signer, &sreq, cr.access_key_id,
			     cr.secret_access_key, c->region, si->signing_name,
			     amz_date, &authz, err);
	if (r < 0)
		goto out;
	hd[nh++] = (struct awsp_header){ "Authorization", authz.buf };
	req.headers = hd;
	req.n_headers = nh;
	request_fill(c, call, ep, attempt, &req);
	r = fence_ask(&req, err);
	*fence_until = req.budget_ms > 0 ? c->clock->mono_ms(c->clock->ctx) +
						   (uint64_t)req.budget_ms
					 : 0;
	if (r == 0)
		r = awsp_transport_send(c->transport, &req, resp, err);
out:
	buf_release(&authz);
	buf_release(&target);
	awsp_credentials_release(&cr);
	return r;
}

/* Append text to err's message, as far as it fits. */
static void err_append(struct util_err *err, const char *text)
{
	size_t n;

	if (!err || !err->code)
		return;
	n = strlen(err->msg);
	if (snprintf(err->msg + n, sizeof(err->msg) - n, "%s", text) < 0)
		err->msg[n] = '\0';
}

static void log_retry(const struct awsp_call *call, unsigned attempt,
		      unsigned max, enum awsp_retry_class cls, const char *code,
		      const char *rid, uint64_t delay_ms)
{
	char delay[24], att[32];
	const char *fields[12];
	size_t n = 0;

	if (!util_log_enabled(UTIL_LOG_DEBUG))
		return;
	if (snprintf(delay, sizeof(delay), "%llu",
		     (unsigned long long)delay_ms) < 0 ||
	    snprintf(att, sizeof(att), "%u/%u", attempt, max) < 0)
		return;
	fields[n++] = "attempt";
	fields[n++] = att;
	fields[n++] = "class";
	fields[n++] = awsp_retry_class_name(cls);
	if (code) {
		fields[n++] = "code";
		fields[n++] = code;
	}
	if (rid) {
		fields[n++] = "request_id";
		fields[n++] = rid;
	}
	fields[n++] = "delay_ms";
	fields[n++] = delay;
	fields[n] = NULL;
	util_log_fields(UTIL_LOG_DEBUG, "aws_retry", call->action, fields,
			"attempt %u/%u failed (%s%s%s), retrying in %llu ms",
			attempt, max, awsp_retry_class_name(cls),
			code ? " " : "", code ? code : "",
			(unsigned long long)delay_ms);
}

/* One call's state across its attempts. */
struct call_state {
	struct awsp_client *c;
	const struct awsp_call *call;
	const struct endpoint *ep;
	enum awsp_rl_bucket buckets[2];
	size_t n_buckets;
	bool mutating, idempotent;
	bool maybe_applied; /* an attempt of a mutating call may have landed */
	unsigned last_cost; /* what the last retry took from the quota */
	uint64_t fence_until; /* the last attempt's fence budget ends (0) */
};

/* What one failed attempt came to. */
struct attempt {
	struct util_err err;
	struct awsp_aws_error ae;
	enum awsp_retry_class cls;
	const char *rid;
	bool sent; /* the request may have reached AWS */
};

/* One attempt on the wire: the rate limits, an in-flight slot, counters. */
static int attempt_send(struct call_state *st, unsigned attempt,
			struct awsp_http_response *resp, struct util_err *err)
{
	struct awsp_client *c = st->c;
	int r;

	awsp_http_response_release(resp);
	awsp_ratelimit_acquire(c->rl, st->buckets, st->n_buckets);
	slot_take(c);
	STAT_ADD(c, attempts, 1);
	if (attempt > 1)
		STAT_ADD(c, retries, 1);
	r = send_once(c, st->call, st->ep, attempt, resp, &st->fence_until,
		      err);
	slot_give(c);
	return r;
}

/* No HTTP answer: whether the request may have gone out, and its class. */
static void classify_transport(struct call_state *st,
			       const struct awsp_http_response *resp,
			       struct attempt *a)
{
	a->sent = a->err.flags & UTIL_ERR_OUTCOME_UNKNOWN;
	if (a->sent)
		STAT_ADD(st->c, lost, 1);
	a->cls = resp->failure == AWSP_HTTP_FAIL_TIMEOUT
			 ? AWSP_RETRY_TIMEOUT
			 : AWSP_RETRY_CONNECTION;
	if (!(a->err.flags & UTIL_ERR_RETRYABLE))
		a->cls = AWSP_RETRY_NO;
	a->rid = NULL;
}

/* An HTTP answer other than 2xx: AWS's error, its class, the error set. */
static void classify_answer(struct call_state *st,
			    const struct awsp_http_response *resp,
			    struct attempt *a)
{
	if (st->call->json)
		awsp_json_parse_error(resp->body.buf, resp->body.len, &a->ae);
	else
		awsp_xml_parse_error(resp->body.buf, resp->body.len, &a->ae);
	a->rid = a->ae.request_id ? a->ae.request_id : resp->request_id;
	a->cls = awsp_retry_classify(resp->status, a->ae.code);
	/* Throttled: the request was refused, not applied. */
	a->sent = a->cls != AWSP_RETRY_THROTTLING;
	if (a->cls == AWSP_RETRY_THROTTLING) {
		STAT_ADD(st->c, throttled, 1);
		awsp_ratelimit_throttled(st->c->rl, st->buckets, st->n_buckets);
	}
	util_err_set_aws(&a->err, resp->status, a->ae.code, a->ae.message,
			 a->rid,
			 a->cls != AWSP_RETRY_NO ? UTIL_ERR_RETRYABLE : 0);
	/* A 4xx answer other than throttling: not applied. */
	if (a->cls == AWSP_RETRY_NO)
		a->sent = false;
}

/*
 * Whether a failed attempt is retried; when not, a's error says why.  A
 * retry takes its cost from the retry quota.
 */
static bool retry_decide(struct call_state *st, unsigned attempt,
			 struct attempt *a)
{
	struct awsp_client *c = st->c;
	unsigned cost;

	if (a->cls == AWSP_RETRY_NO)
		return false;
	if (st->mutating && !st->idempotent && a->sent) {
		err_append(&a->err, " (not retried: the request may "
				    "have been applied)");
		return false;
	}
	if (attempt >= c->max_attempts) {
		char note[64];

		if (c->max_attempts > 1 &&
		    snprintf(note, sizeof(note), " (gave up after %u attempts)",
			     attempt) > 0)
			err_append(&a->err, note);
		return false;
	}
	if (!awsp_retry_quota_acquire(&c->quota, a->cls == AWSP_RETRY_TIMEOUT,
				      &cost)) {
		STAT_ADD(c, quota_exhausted, 1);
		err_append(&a->err, " (retry quota exhausted)");
		return false;
	}
	st->last_cost = cost;
	return true;
}

/*
 * The pause before the next attempt, logged; never past the budget the
 * thread's fence gave the last attempt: the next could not go out, and
 * the caller (a lease round) has a deadline to keep.
 */
static void retry_wait(struct call_state *st, unsigned attempt,
		       struct attempt *a)
{
	struct awsp_client *c = st->c;
	uint64_t delay = awsp_retry_delay_ms(attempt,
					     c->random.next(c->random.ctx));
	uint64_t now = c->clock->mono_ms(c->clock->ctx);

	if (st->fence_until && now + delay > st->fence_until)
		delay = st->fence_until > now ? st->fence_until - now : 0;

	log_retry(st->call, attempt, c->max_attempts, a->cls, a->ae.code,
		  a->rid, delay);
	awsp_aws_error_release(&a->ae);
	if (delay)
		c->clock->sleep_ms(c->clock->ctx, delay);
}

/* The last attempt's error becomes the call's. */
static int attempt_final(struct call_state *st, struct attempt *a,
			 struct awsp_call_info *info, struct util_err *err)
{
	if (st->maybe_applied)
		a->err.flags |= UTIL_ERR_OUTCOME_UNKNOWN;
	if (st->call->flags & AWSP_CALL_KEEP_MESSAGE) {
		info->aws_message = a->ae.message;
		a->ae.message = NULL;
	}
	awsp_aws_error_release(&a->ae);
	util_err_copy(err, &a->err);
	return a->err.code ? a->err.code : UTIL_EFAIL;
}

/* Attempts until a 2xx answer, an error not retried, or the retries end. */
static int call_attempts(struct call_state *st, struct awsp_http_response *resp,
			 struct awsp_call_info *info, struct util_err *err)
{
	for (unsigned attempt = 1;; attempt++) {
		struct attempt a = { .err = UTIL_ERR_INIT };
		int r;

		info->attempts = attempt;
		if (st->maybe_applied)
			info->lost_before = true;
		r = attempt_send(st, attempt, resp, &a.err);
		if (r < 0 && a.err.code != UTIL_ETRANSPORT) {
			/* Credentials, signing, or a body over the cap. */
			if (st->mutating &&
			    (st->maybe_applied ||
			     resp->failure == AWSP_HTTP_FAIL_LIMIT))
				a.err.flags |= UTIL_ERR_OUTCOME_UNKNOWN;
			util_err_copy(err, &a.err);
			return r;
		}
		if (r < 0) {
			classify_transport(st, resp, &a);
		} else if (resp->status >= 200 && resp->status < 300) {
			awsp_retry_quota_success(&st->c->quota, st->last_cost);
			return 0;
		} else {
			classify_answer(st, resp, &a);
		}
		if (a.sent && st->mutating)
			st->maybe_applied = true;
		if (!retry_decide(st, attempt, &a))
			return attempt_final(st, &a, info, err);
		retry_wait(st, attempt, &a);
	}
}

/*
 * "ec2 AssociateAddress: Resource.AlreadyAssociated: message": with the
 * code in the message, util_err_format() does not put it first.
 */
static void call_err_prefix(const struct awsp_service_info *si,
			    const struct awsp_call *call, struct util_err *err)
{
	if (err && err->code == UTIL_EAWS && err->aws_code[0] &&
	    !strstr(err->msg, err->aws_code))
		util_err_prefix(err, "%s %s: %s", si->name, call->action,
				err->aws_code);
	else
		util_err_prefix(err, "%s %s", si->name, call->action);
}

int awsp_client_call(struct awsp_client *c, const struct awsp_call *call,
		     struct awsp_http_response *resp,
		     struct awsp_call_info *info, struct util_err *err)
{
	const struct awsp_service_info *si = awsp_service(call->svc);
	struct call_state st = {
		.c = c,
		.call = call,
		.ep = &c->ep[call->svc],
		.mutating = call->flags & AWSP_CALL_MUTATING,
		.idempotent = call->flags & AWSP_CALL_IDEMPOTENT,
	};
	struct awsp_call_info local = { 0 };
	int r;

	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	STAT_ADD(c, calls, 1);
	if (!st.ep->url) {
		r = util_err_set(err, UTIL_EINVAL, "%s %s: no endpoint for %s",
				 si->name, call->action, si->name);
	} else if (!call->json != !si->json_target) {
		/* A JSON body only to a JSON service, a query to the rest. */
		r = util_err_set(err, UTIL_EINVAL, "%s %s: not %s's protocol",
				 si->name, call->action, si->name);
	} else {
		st.n_buckets = awsp_call_buckets(call->svc, call->action,
						 call->flags, st.buckets);
		r = call_attempts(&st, resp, info, err);
		if (r == 0)
			return 0;
	}
	STAT_ADD(c, failed, 1);
	if (info == &local)
		awsp_call_info_release(&local);
	call_err_prefix(si, call, err);
	awsp_http_response_release(resp);
	return r < 0 ? r : UTIL_EFAIL;
}

void awsp_call_info_release(struct awsp_call_info *info)
{
	if (!info)
		return;
	free(info->aws_message);
	memset(info, 0, sizeof(*info));
}

void awsp_client_get_stats(struct awsp_client *c, struct awsp_client_stats *ret)
{
	pthread_mutex_lock(&c->stats_lock);
	*ret = c->stats;
	pthread_mutex_unlock(&c->stats_lock);
	ret->retry_quota = awsp_retry_quota_available(&c->quota);
	awsp_ratelimit_stats(c->rl, &ret->limits);
}
