#include "tests/unit/support/awsp_testutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/banned.h"

/*
 * The scripted transport and test client, in their own object so that
 * tests which only need the clock do not link the whole client.
 */

static int script_send(void *ctx, const struct awsp_http_request *req,
		       struct awsp_http_response *resp, struct util_err *err)
{
	struct script *s = ctx;
	struct script_request *rec;
	struct script_answer *a;
	struct buf h = BUF_INIT;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	s->reqs = util_xrealloc(s->reqs, (s->n_reqs + 1) * sizeof(*s->reqs));
	rec = &s->reqs[s->n_reqs++];
	rec->url = util_xstrdup(req->url);
	rec->body = util_xstrndup(req->body ? req->body : "", req->body_len);
	for (size_t i = 0; i < req->n_headers; i++)
		buf_addf(&h, "%s: %s\n", req->headers[i].name,
			 req->headers[i].value);
	rec->headers = buf_detach(&h, NULL);
	rec->fresh = req->fresh_connection;
	rec->budget_ms = req->budget_ms;
	if (s->next >= s->n_answers) {
		pthread_mutex_unlock(&s->lock);
		fail_msg("script: unexpected request %s",
			 req->body ? (const char *)req->body : "");
		return -1;
	}
	a = &s->answers[s->next++];
	if (a->status) {
		resp->status = a->status;
		buf_addstr(&resp->body, a->body);
		if (a->request_id)
			resp->request_id = util_xstrdup(a->request_id);
	} else {
		resp->failure = a->failure;
		r = util_err_set(err,
				 a->failure == AWSP_HTTP_FAIL_LIMIT
					 ? UTIL_ELIMIT
					 : UTIL_ETRANSPORT,
				 "POST %s: scripted failure", req->url);
		err->flags |= a->err_flags;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

void script_init(struct script *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->t.send = script_send;
	s->t.ctx = s;
}

void script_release(struct script *s)
{
	for (size_t i = 0; i < s->n_answers; i++) {
		free(s->answers[i].body);
		free(s->answers[i].request_id);
	}
	free(s->answers);
	for (size_t i = 0; i < s->n_reqs; i++) {
		free(s->reqs[i].url);
		free(s->reqs[i].body);
		free(s->reqs[i].headers);
	}
	free(s->reqs);
	pthread_mutex_destroy(&s->lock);
	memset(s, 0, sizeof(*s));
}

static struct script_answer *script_new(struct script *s)
{
	struct script_answer *a;

	s->answers = util_xrealloc(s->answers,
				   (s->n_answers + 1) * sizeof(*s->answers));
	a = &s->answers[s->n_answers++];
	memset(a, 0, sizeof(*a));
	return a;
}

void script_push(struct script *s, long status, const char *body)
{
	struct script_answer *a = script_new(s);

	a->status = status;
	a->body = util_xstrdup(body);
}

void script_push_rid(struct script *s, long status, const char *body,
		     const char *rid)
{
	struct script_answer *a = script_new(s);

	a->status = status;
	a->body = util_xstrdup(body);
	a->request_id = util_xstrdup(rid);
}

void script_push_file(struct script *s, long status, const char *name)
{
	struct script_answer *a = script_new(s);

	a->status = status;
	a->body = test_data_read(name, NULL);
}

void script_push_fail(struct script *s, enum awsp_http_failure f,
		      unsigned err_flags)
{
	struct script_answer *a = script_new(s);

	a->failure = f;
	a->err_flags = err_flags;
}

size_t script_left(struct script *s)
{
	return s->n_answers - s->next;
}

int test_creds_get(void *ctx, struct awsp_credentials *ret,
		   struct util_err *err)
{
	(void)ctx;
	(void)err;
	memset(ret, 0, sizeof(*ret));
	ret->access_key_id = util_xstrdup(TEST_AKID);
	ret->secret_access_key = util_xstrdup(TEST_SECRET);
	return 0;
}

static double half(void *ctx)
{
	(void)ctx;
	return 0.5;
}

struct awsp_client *test_client(struct script *s, struct fake_clock *fc,
				unsigned max_attempts,
				const struct awsp_ratelimit_config *limits)
{
	struct awsp_client_config cfg = { 0 };
	struct awsp_ratelimit_config off;
	struct awsp_client *c = NULL;
	struct util_err err = UTIL_ERR_INIT;

	awsp_ratelimit_defaults(&off);
	awsp_ratelimit_config_set(&off, "off", NULL);
	cfg.transport = &s->t;
	cfg.creds.get = test_creds_get;
	cfg.region = "us-east-1";
	cfg.endpoints[AWSP_SVC_EC2] = "https://ec2.us-east-1.amazonaws.com";
	cfg.endpoints[AWSP_SVC_ELB] =
		"https://elasticloadbalancing.us-east-1.amazonaws.com";
	cfg.endpoints[AWSP_SVC_ELBV2] =
		"https://elasticloadbalancing.us-east-1.amazonaws.com";
	cfg.endpoints[AWSP_SVC_STS] = "https://sts.us-east-1.amazonaws.com";
	cfg.endpoints[AWSP_SVC_DYNAMODB] =
		"https://dynamodb.us-east-1.amazonaws.com";
	cfg.clock = &fc->clock;
	cfg.random.next = half;
	cfg.max_attempts = max_attempts;
	cfg.limits = limits ? limits : &off;
	if (awsp_client_new(&cfg, &c, &err) < 0)
		fail_msg("awsp_client_new: %s", err.msg);
	return c;
}

int body_has(const char *body, const char *pair)
{
	size_t n = strlen(pair);

	for (const char *p = body; (p = strstr(p, pair)); p++)
		if ((p == body || p[-1] == '&') && (p[n] == '&' || !p[n]))
			return 1;
	return 0;
}

int test_env_setup(void **state)
{
	struct test_env *e = util_xcalloc(1, sizeof(*e));

	script_init(&e->s);
	fake_clock_init(&e->fc, 0, 1700000000); /* 2023-11-14T22:13:20Z */
	e->c = test_client(&e->s, &e->fc, 3, NULL);
	*state = e;
	return 0;
}

int test_env_teardown(void **state)
{
	struct test_env *e = *state;

	awsp_client_free(e->c);
	assert_int_equal(script_left(&e->s), 0);
	script_release(&e->s);
	fake_clock_destroy(&e->fc);
	free(e);
	return 0;
}
