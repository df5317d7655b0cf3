#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "providers/aws/client.h"
#include "providers/aws/json.h"
#include "providers/aws/ops.h"
#include "tests/unit/support/awsp_testutil.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/fence.h"
#include "util/log.h"

static int call(struct awsp_client *c, enum awsp_service svc,
		const char *action, unsigned flags, struct awsp_call_info *info,
		struct util_err *err)
{
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	struct awsp_query q;
	struct awsp_call cl = {
		.svc = svc, .action = action, .query = &q, .flags = flags
	};
	int r;

	awsp_query_init(&q, action, awsp_service(svc)->api_version);
	r = awsp_client_call(c, &cl, &resp, info, err);
	if (r == 0)
		assert_true(resp.status >= 200 && resp.status < 300);
	else
		assert_int_equal(resp.body.len, 0);
	awsp_http_response_release(&resp);
	awsp_query_release(&q);
	return r;
}

static const char ok_body[] = "<XResponse/>";

static void test_signed_request(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	const char *h;

	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeAddresses", 0, NULL,
			      &err),
			 0);
	h = e->s.reqs[0].headers;
	assert_non_null(strstr(h, "Host: ec2.us-east-1.amazonaws.com\n"));
	assert_non_null(strstr(h, "X-Amz-Date: 20231114T221320Z\n"));
	assert_non_null(strstr(h, "Content-Type: application/x-www-form-"
				  "urlencoded; charset=utf-8\n"));
	assert_non_null(
		strstr(h,
		       "Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
		       "20231114/us-east-1/ec2/aws4_request, SignedHeaders="
		       "content-type;host;x-amz-date, Signature="));
	assert_null(strstr(h, "X-Amz-Security-Token"));
	assert_null(strstr(h, TEST_SECRET));
	assert_string_equal(e->s.reqs[0].body,
			    "Action=DescribeAddresses&Version=2016-11-15");

	/* ELB and ELBv2 sign as elasticloadbalancing; STS as sts. */
	script_push(&e->s, 200, ok_body);
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(e->c, AWSP_SVC_ELBV2, "DescribeTargetGroups", 0,
			      NULL, &err),
			 0);
	assert_int_equal(call(e->c, AWSP_SVC_STS, "GetCallerIdentity", 0, NULL,
			      &err),
			 0);
	assert_non_null(strstr(e->s.reqs[1].headers,
			       "/us-east-1/elasticloadbalancing/aws4_request"));
	assert_non_null(
		strstr(e->s.reqs[2].headers, "/us-east-1/sts/aws4_request"));
	assert_string_equal(e->s.reqs[2].url,
			    "https://sts.us-east-1.amazonaws.com/");
}

static int token_creds(void *ctx, struct awsp_credentials *ret,
		       struct util_err *err)
{
	(void)ctx;
	test_creds_get(NULL, ret, err);
	ret->session_token = util_xstrdup("SESSIONTOKENVALUE");
	return 0;
}

static int no_creds(void *ctx, struct awsp_credentials *ret,
		    struct util_err *err)
{
	(void)ctx;
	(void)ret;
	return util_err_set(err, UTIL_ECREDS,
			    "no credentials: env: not set; imds: disabled");
}

static struct awsp_client *client_with(
	struct script *s, struct fake_clock *fc, const char *ec2_url,
	int (*creds)(void *, struct awsp_credentials *, struct util_err *),
	struct util_err *err)
{
	struct awsp_client_config cfg = { 0 };
	struct awsp_ratelimit_config off;
	struct awsp_client *c = NULL;

	awsp_ratelimit_defaults(&off);
	awsp_ratelimit_config_set(&off, "off", NULL);
	cfg.transport = &s->t;
	cfg.creds.get = creds;
	cfg.region = "eu-west-3";
	cfg.endpoints[AWSP_SVC_EC2] = ec2_url;
	cfg.clock = &fc->clock;
	cfg.limits = &off;
	if (awsp_client_new(&cfg, &c, err) < 0)
		return NULL;
	return c;
}

static void test_session_token_and_endpoints(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_client *c;

	c = client_with(&e->s, &e->fc, "http://127.0.0.1:4566", token_creds,
			&err);
	assert_non_null(c);
	assert_string_equal(awsp_client_endpoint(c, AWSP_SVC_EC2),
			    "http://127.0.0.1:4566");
	assert_null(awsp_client_endpoint(c, AWSP_SVC_ELB));
	assert_string_equal(awsp_client_region(c), "eu-west-3");
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(c, AWSP_SVC_EC2, "DescribeAddresses", 0, NULL,
			      &err),
			 0);
	assert_string_equal(e->s.reqs[0].url, "http://127.0.0.1:4566/");
	assert_non_null(strstr(e->s.reqs[0].headers, "Host: 127.0.0.1:4566\n"));
	assert_non_null(strstr(e->s.reqs[0].headers,
			       "X-Amz-Security-Token: SESSIONTOKENVALUE\n"));
	assert_non_null(strstr(e->s.reqs[0].headers,
			       "SignedHeaders=content-type;host;x-amz-date;"
			       "x-amz-security-token, "));
	assert_non_null(
		strstr(e->s.reqs[0].headers, "/eu-west-3/ec2/aws4_request"));

	/* A service without an endpoint fails without a request. */
	assert_int_equal(call(c, AWSP_SVC_ELB, "DescribeLoadBalancers", 0, NULL,
			      &err),
			 UTIL_EINVAL);
	assert_int_equal(e->s.n_reqs, 1);
	awsp_client_free(c);

	/* An endpoint with a path keeps it. */
	c = client_with(&e->s, &e->fc, "https://proxy.example:8443/aws/",
			token_creds, &err);
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(c, AWSP_SVC_EC2, "DescribeAddresses", 0, NULL,
			      &err),
			 0);
	assert_string_equal(e->s.reqs[1].url,
			    "https://proxy.example:8443/aws/");
	assert_non_null(
		strstr(e->s.reqs[1].headers, "Host: proxy.example:8443\n"));
	awsp_client_free(c);

	/* The scheme's default port is not part of Host (as libcurl). */
	c = client_with(&e->s, &e->fc, "https://ec2.example:443", token_creds,
			&err);
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(c, AWSP_SVC_EC2, "DescribeAddresses", 0, NULL,
			      &err),
			 0);
	assert_non_null(strstr(e->s.reqs[2].headers, "Host: ec2.example\n"));
	awsp_client_free(c);

	static const char *const bad[] = { "ftp://x", "127.0.0.1:4566",
					   "http://", "http://u:p@h/",
					   "http://h?x=1" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		util_err_clear(&err);
		assert_null(
			client_with(&e->s, &e->fc, bad[i], token_creds, &err));
		assert_int_equal(err.code, UTIL_EINVAL);
		assert_non_null(strstr(err.msg, "endpoint URL"));
	}
}

static void test_credentials_failure(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_client *c;

	c = client_with(&e->s, &e->fc, "https://ec2.x", no_creds, &err);
	assert_int_equal(call(c, AWSP_SVC_EC2, "DescribeAddresses", 0, NULL,
			      &err),
			 UTIL_ECREDS);
	assert_int_equal(e->s.n_reqs, 0);
	assert_non_null(
		strstr(err.msg, "ec2 DescribeAddresses: no credentials"));
	awsp_client_free(c);
}

static int s_creds_calls;

/* Credentials that work once, then fail (an expired refresh, say). */
static int once_creds(void *ctx, struct awsp_credentials *ret,
		      struct util_err *err)
{
	if (s_creds_calls++ == 0)
		return test_creds_get(ctx, ret, err);
	return util_err_set(err, UTIL_ECREDS, "refresh failed");
}

static void test_lost_then_no_credentials(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_call_info info;
	struct awsp_client *c;

	s_creds_calls = 0;
	c = client_with(&e->s, &e->fc, "https://ec2.x", once_creds, &err);
	script_push_fail(&e->s, AWSP_HTTP_FAIL_NETWORK,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	assert_int_equal(call(c, AWSP_SVC_EC2, "AssociateAddress",
			      AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT, &info,
			      &err),
			 UTIL_ECREDS);
	/* The first attempt may have been applied: the caller must know. */
	assert_true(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	assert_true(info.lost_before);
	assert_int_equal(e->s.n_reqs, 1);
	awsp_client_free(c);
}

static void test_retry_classes(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_call_info info;
	struct awsp_client_stats st;

	/* 503 with an HTML body: transient, retried, then it works. */
	script_push(&e->s, 503, "<html>Service Unavailable</html>");
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeAddresses", 0, &info,
			      &err),
			 0);
	assert_int_equal(info.attempts, 2);
	assert_false(info.lost_before);

	/* Out of attempts on 5xx: the last error, retryable. */
	for (int i = 0; i < 3; i++)
		script_push(&e->s, 502, "bad gateway");
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeAddresses", 0, &info,
			      &err),
			 UTIL_EAWS);
	assert_int_equal(info.attempts, 3);
	assert_int_equal(err.http_status, 502);
	assert_true(err.flags & UTIL_ERR_RETRYABLE);
	assert_non_null(strstr(err.msg, "HTTP 502"));

	/* A client error is final at once. */
	util_err_clear(&err);
	script_push(&e->s, 400,
		    "<Response><Errors><Error><Code>InvalidParameterValue"
		    "</Code><Message>bad</Message></Error></Errors>"
		    "<RequestID>r1</RequestID></Response>");
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeAddresses", 0, &info,
			      &err),
			 UTIL_EAWS);
	assert_int_equal(info.attempts, 1);
	assert_false(err.flags & UTIL_ERR_RETRYABLE);

	/* Body over the cap and fatal transport errors: not retried. */
	util_err_clear(&err);
	script_push_fail(&e->s, AWSP_HTTP_FAIL_LIMIT, UTIL_ERR_OUTCOME_UNKNOWN);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeAddresses", 0, &info,
			      &err),
			 UTIL_ELIMIT);
	assert_int_equal(info.attempts, 1);
	util_err_clear(&err);
	script_push_fail(&e->s, AWSP_HTTP_FAIL_FATAL, 0);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeAddresses", 0, &info,
			      &err),
			 UTIL_ETRANSPORT);
	assert_int_equal(info.attempts, 1);

	/*
	 * A connect failure proves nothing was sent: even a call that is
	 * not idempotent is retried.
	 */
	util_err_clear(&err);
	script_push_fail(&e->s, AWSP_HTTP_FAIL_CONNECT, UTIL_ERR_RETRYABLE);
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "AllocateAddress",
			      AWSP_CALL_MUTATING, &info, &err),
			 0);
	assert_int_equal(info.attempts, 2);
	assert_false(info.lost_before);
	/* Never on a reused connection: libcurl would re-send it itself. */
	assert_true(e->s.reqs[e->s.n_reqs - 1].fresh);

	/* An idempotent call lost twice then answered. */
	script_push_fail(&e->s, AWSP_HTTP_FAIL_TIMEOUT,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	script_push_fail(&e->s, AWSP_HTTP_FAIL_NETWORK,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "AssociateAddress",
			      AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT, &info,
			      &err),
			 0);
	assert_int_equal(info.attempts, 3);
	assert_true(info.lost_before);
	assert_false(e->s.reqs[e->s.n_reqs - 1].fresh);

	/* Lost, then a 4xx: the outcome of the first is still unknown. */
	script_push_fail(&e->s, AWSP_HTTP_FAIL_NETWORK,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	script_push(&e->s, 400,
		    "<Response><Errors><Error><Code>Resource.AlreadyAssociated"
		    "</Code></Error></Errors></Response>");
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "AssociateAddress",
			      AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT, &info,
			      &err),
			 UTIL_EAWS);
	assert_true(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	assert_false(err.flags & UTIL_ERR_RETRYABLE);

	awsp_client_get_stats(e->c, &st);
	assert_int_equal(st.lost, 3);
	assert_true(st.retries >= 7);
	assert_int_equal(st.throttled, 0);
}

/* AWSP_CALL_KEEP_MESSAGE: the whole message, which err->msg cuts. */
static void test_keep_message(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_call_info info;
	struct buf body = BUF_INIT, msg = BUF_INIT;

	for (int i = 0; i < 100; i++)
		buf_addf(&msg, "%si-%017x", i ? ", " : "", i);
	buf_addf(&body,
		 "<Response><Errors><Error><Code>InvalidInstanceID.NotFound"
		 "</Code><Message>The instance IDs '%s' do not exist"
		 "</Message></Error></Errors></Response>",
		 msg.buf);
	script_push(&e->s, 400, body.buf);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeInstances",
			      AWSP_CALL_KEEP_MESSAGE, &info, &err),
			 UTIL_EAWS);
	assert_non_null(info.aws_message);
	assert_non_null(strstr(info.aws_message, msg.buf));
	assert_int_equal(strlen(info.aws_message), msg.len + 32);
	assert_null(strstr(err.msg, "i-00000000000000063"));
	awsp_call_info_release(&info);
	assert_null(info.aws_message);

	/* Not asked for, or not an AWS error answer: none. */
	util_err_clear(&err);
	script_push(&e->s, 400, body.buf);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeInstances", 0, &info,
			      &err),
			 UTIL_EAWS);
	assert_null(info.aws_message);
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeInstances",
			      AWSP_CALL_KEEP_MESSAGE, &info, &err),
			 0);
	assert_null(info.aws_message);
	/* Without info, nothing is kept (LeakSanitizer checks). */
	script_push(&e->s, 400, body.buf);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeInstances",
			      AWSP_CALL_KEEP_MESSAGE, NULL, &err),
			 UTIL_EAWS);
	awsp_call_info_release(NULL);
	buf_release(&body);
	buf_release(&msg);
}

static void test_retry_quota(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_call_info info;
	struct awsp_client_stats st;
	struct awsp_client *c = test_client(&e->s, &e->fc, 100, NULL);

	/* Timeouts cost 10: 500 tokens pay for 50 retries, then stop. */
	for (int i = 0; i < 51; i++)
		script_push_fail(&e->s, AWSP_HTTP_FAIL_TIMEOUT,
				 UTIL_ERR_RETRYABLE);
	assert_int_equal(call(c, AWSP_SVC_EC2, "DescribeAddresses", 0, &info,
			      &err),
			 UTIL_ETRANSPORT);
	assert_int_equal(info.attempts, 51);
	assert_non_null(strstr(err.msg, "retry quota exhausted"));
	awsp_client_get_stats(c, &st);
	assert_int_equal(st.retry_quota, 0);
	assert_int_equal(st.quota_exhausted, 1);

	/* With no quota left, a throttled call is not retried... */
	util_err_clear(&err);
	script_push(&e->s, 400,
		    "<ErrorResponse><Error><Code>Throttling</Code></Error>"
		    "</ErrorResponse>");
	assert_int_equal(call(c, AWSP_SVC_ELB, "DescribeLoadBalancers", 0,
			      &info, &err),
			 UTIL_EAWS);
	assert_int_equal(info.attempts, 1);
	/* ...and each success without retries puts one token back. */
	for (int i = 0; i < 5; i++) {
		script_push(&e->s, 200, ok_body);
		assert_int_equal(call(c, AWSP_SVC_EC2, "DescribeAddresses", 0,
				      &info, &err),
				 0);
	}
	awsp_client_get_stats(c, &st);
	assert_int_equal(st.retry_quota, 5);
	assert_int_equal(st.throttled, 1);
	awsp_client_free(c);
}

static void test_buckets(void **state)
{
	enum awsp_rl_bucket b[2];

	(void)state;
	assert_int_equal(awsp_call_buckets(AWSP_SVC_EC2, "DescribeInstances", 0,
					   b),
			 1);
	assert_int_equal(b[0], AWSP_RL_EC2_READ);
	assert_int_equal(awsp_call_buckets(AWSP_SVC_EC2, "DescribeInstances",
					   AWSP_CALL_UNFILTERED, b),
			 1);
	assert_int_equal(b[0], AWSP_RL_EC2_UNFILTERED);
	assert_int_equal(awsp_call_buckets(AWSP_SVC_EC2, "AssociateAddress",
					   AWSP_CALL_MUTATING, b),
			 1);
	assert_int_equal(b[0], AWSP_RL_EC2_MUTATE);
	assert_int_equal(awsp_call_buckets(AWSP_SVC_ELB,
					   "RegisterInstancesWithLoadBalancer",
					   AWSP_CALL_MUTATING, b),
			 2);
	assert_int_equal(b[0], AWSP_RL_ELB_REGISTER);
	assert_int_equal(b[1], AWSP_RL_ELB_ACCOUNT);
	assert_int_equal(awsp_call_buckets(AWSP_SVC_ELB,
					   "DescribeInstanceHealth", 0, b),
			 2);
	assert_int_equal(b[0], AWSP_RL_ELB_READ);
	assert_int_equal(awsp_call_buckets(AWSP_SVC_ELBV2, "DeregisterTargets",
					   AWSP_CALL_MUTATING, b),
			 2);
	assert_int_equal(b[0], AWSP_RL_ELBV2_REGISTER);
	assert_int_equal(b[1], AWSP_RL_ELB_ACCOUNT);
	assert_int_equal(awsp_call_buckets(AWSP_SVC_ELBV2,
					   "ModifyTargetGroupAttributes",
					   AWSP_CALL_MUTATING, b),
			 2);
	assert_int_equal(b[0], AWSP_RL_ELBV2_MUTATE);
	assert_int_equal(awsp_call_buckets(AWSP_SVC_STS, "GetCallerIdentity", 0,
					   b),
			 0);
	assert_int_equal(awsp_call_buckets(AWSP_SVC_DYNAMODB, "PutItem",
					   AWSP_CALL_MUTATING, b),
			 1);
	assert_int_equal(b[0], AWSP_RL_DYNAMODB);
	assert_int_equal(awsp_call_buckets(AWSP_SVC_DYNAMODB, "Scan", 0, b), 1);
	assert_int_equal(b[0], AWSP_RL_DYNAMODB);
}

static void test_rate_limited_calls(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_ratelimit_config lim;
	struct awsp_client_stats st;
	struct awsp_client *c;

	awsp_ratelimit_defaults(&lim);
	c = test_client(&e->s, &e->fc, 3, &lim);
	/* 25 registrations: 19 from the burst, then 4 per second. */
	for (int i = 0; i < 25; i++) {
		script_push(&e->s, 200, ok_body);
		assert_int_equal(call(c, AWSP_SVC_ELBV2, "RegisterTargets",
				      AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT,
				      NULL, &err),
				 0);
	}
	assert_int_equal(e->fc.now_ms, 6 * 250);
	awsp_client_get_stats(c, &st);
	assert_int_equal(st.limits.taken[AWSP_RL_ELBV2_REGISTER], 25);
	assert_int_equal(st.limits.taken[AWSP_RL_ELB_ACCOUNT], 25);
	assert_int_equal(st.limits.waits[AWSP_RL_ELBV2_REGISTER], 6);
	awsp_client_free(c);
}

/* A transport that counts how many sends overlap. */
struct overlap {
	pthread_mutex_t lock;
	int now, max, total;
};

static int overlap_send(void *ctx, const struct awsp_http_request *req,
			struct awsp_http_response *resp, struct util_err *err)
{
	struct overlap *o = ctx;
	struct timespec ts = { 0, 3 * 1000000L };

	(void)req;
	(void)err;
	pthread_mutex_lock(&o->lock);
	o->now++;
	o->total++;
	if (o->now > o->max)
		o->max = o->now;
	pthread_mutex_unlock(&o->lock);
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&o->lock);
	o->now--;
	pthread_mutex_unlock(&o->lock);
	resp->status = 200;
	buf_addstr(&resp->body, ok_body);
	return 0;
}

static void *caller(void *arg)
{
	struct awsp_client *c = arg;

	for (int i = 0; i < 5; i++) {
		struct util_err err = UTIL_ERR_INIT;

		assert_int_equal(call(c, AWSP_SVC_EC2, "DescribeAddresses", 0,
				      NULL, &err),
				 0);
	}
	return NULL;
}

static void test_max_inflight(void **state)
{
	struct overlap o = { .now = 0 };
	struct awsp_transport t = { overlap_send, &o };
	struct awsp_client_config cfg = { 0 };
	struct awsp_ratelimit_config off;
	struct awsp_client *c = NULL;
	struct util_err err = UTIL_ERR_INIT;
	pthread_t th[8];

	(void)state;
	pthread_mutex_init(&o.lock, NULL);
	awsp_ratelimit_defaults(&off);
	awsp_ratelimit_config_set(&off, "off", NULL);
	cfg.transport = &t;
	cfg.creds.get = test_creds_get;
	cfg.region = "us-east-1";
	cfg.endpoints[AWSP_SVC_EC2] = "https://ec2.us-east-1.amazonaws.com";
	cfg.limits = &off;
	cfg.max_inflight = 2;
	assert_int_equal(awsp_client_new(&cfg, &c, &err), 0);
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, caller, c), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(o.total, 40);
	assert_true(o.max >= 1 && o.max <= 2);
	awsp_client_free(c);
	pthread_mutex_destroy(&o.lock);
}

static void capture(void *ctx, const struct util_log_event *ev)
{
	struct buf *b = ctx;

	buf_addf(b, "%s %s %s", ev->event, ev->resource ? ev->resource : "-",
		 ev->msg);
	for (const char *const *f = ev->fields; f && f[0]; f += 2)
		buf_addf(b, " %s=%s", f[0], f[1]);
	buf_addch(b, '\n');
}

static void test_retry_log(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct buf log = BUF_INIT;
	struct awsp_client *c;

	c = client_with(&e->s, &e->fc, "https://ec2.x", token_creds, &err);
	util_log_set_sink(capture, &log, UTIL_LOG_DEBUG);
	script_push_file(&e->s, 503, "ec2_error_request_limit.xml");
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(c, AWSP_SVC_EC2, "DescribeInstances", 0, NULL,
			      &err),
			 0);
	util_log_set_sink(NULL, NULL, UTIL_LOG_INFO);
	assert_non_null(strstr(log.buf, "aws_retry DescribeInstances "));
	assert_non_null(strstr(log.buf, " class=throttling"));
	assert_non_null(strstr(log.buf, " code=RequestLimitExceeded"));
	assert_non_null(
		strstr(log.buf, " request_id=2a5c0f8e-2d3e-4f1a-8c55-example"));
	assert_non_null(strstr(log.buf, " attempt=1/3"));
	assert_null(strstr(log.buf, "SESSIONTOKENVALUE"));
	assert_null(strstr(log.buf, TEST_SECRET));
	buf_release(&log);
	awsp_client_free(c);
}

static void test_sts_caller_identity(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct prov_identity id;
	size_t len;
	char *xml = test_data_read("sts_get_caller_identity.xml", &len);

	memset(&id, 0, sizeof(id));
	assert_int_equal(awsp_sts_parse_caller_identity(xml, len, &id, &err),
			 0);
	assert_string_equal(id.account, "123456789012");
	assert_string_equal(id.arn,
			    "arn:aws:sts::123456789012:assumed-role/deployer/"
			    "moor-session");
	assert_string_equal(id.user_id, "AROA3XFRBF535PLBIFPI4:moor-session");
	prov_identity_release(&id);
	free(xml);

	script_push_file(&e->s, 200, "sts_get_caller_identity.xml");
	assert_int_equal(awsp_sts_caller_identity(e->c, &id, &err), 0);
	assert_string_equal(id.account, "123456789012");
	assert_string_equal(e->s.reqs[0].body,
			    "Action=GetCallerIdentity&Version=2011-06-15");
	prov_identity_release(&id);

	script_push_file(&e->s, 403, "sts_error_invalid_token.xml");
	assert_int_equal(awsp_sts_caller_identity(e->c, &id, &err), UTIL_EAWS);
	assert_string_equal(err.aws_code, "InvalidClientTokenId");
	assert_string_equal(err.request_id,
			    "4fa3d8e2-b8e6-4d7b-9a4e-0f1e2d3c4b5a");
	assert_non_null(strstr(err.msg, "sts GetCallerIdentity"));
	assert_null(id.account);
}

/* --- JSON 1.0 (DynamoDB) ------------------------------------------------ */

static int json_call(struct awsp_client *c, const char *op, const char *body,
		     unsigned flags, cJSON **ret, struct awsp_call_info *info,
		     struct util_err *err)
{
	cJSON *b = cJSON_Parse(body);
	int r;

	assert_non_null(b);
	r = awsp_json_call(c, AWSP_SVC_DYNAMODB, op, b, flags, ret, info, err);
	cJSON_Delete(b);
	return r;
}

static void test_json_request(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	cJSON *ans = NULL;
	const char *h;

	script_push_rid(&e->s, 200, "{\"Item\":{\"name\":{\"S\":\"web\"}}}",
			"RID-1");
	assert_int_equal(json_call(e->c, "GetItem",
				   "{\"TableName\":\"t\",\"ConsistentRead\":"
				   "true}",
				   0, &ans, NULL, &err),
			 0);
	assert_string_equal(
		cJSON_GetObjectItem(
			cJSON_GetObjectItem(cJSON_GetObjectItem(ans, "Item"),
					    "name"),
			"S")
			->valuestring,
		"web");
	cJSON_Delete(ans);
	assert_string_equal(e->s.reqs[0].url,
			    "https://dynamodb.us-east-1.amazonaws.com/");
	assert_string_equal(e->s.reqs[0].body,
			    "{\"TableName\":\"t\",\"ConsistentRead\":true}");
	h = e->s.reqs[0].headers;
	assert_non_null(strstr(h, "Host: dynamodb.us-east-1.amazonaws.com\n"));
	assert_non_null(
		strstr(h, "Content-Type: application/x-amz-json-1.0\n"));
	assert_non_null(strstr(h, "X-Amz-Target: DynamoDB_20120810.GetItem\n"));
	/* The target is signed, with the service "dynamodb". */
	assert_non_null(strstr(h, "/20231114/us-east-1/dynamodb/aws4_request, "
				  "SignedHeaders=content-type;host;x-amz-date;"
				  "x-amz-target, Signature="));
	assert_null(strstr(h, "x-www-form-urlencoded"));

	/* A 2xx answer that is not a JSON object. */
	script_push(&e->s, 200, "<html/>");
	assert_int_equal(json_call(e->c, "GetItem", "{}", 0, &ans, NULL, &err),
			 UTIL_EINVAL);
	assert_null(ans);
	assert_non_null(strstr(err.msg, "dynamodb GetItem"));

	/* Each service speaks its own protocol only; nothing is sent. */
	util_err_clear(&err);
	assert_int_equal(call(e->c, AWSP_SVC_DYNAMODB, "GetItem", 0, NULL,
			      &err),
			 UTIL_EINVAL);
	util_err_clear(&err);
	{
		cJSON *b = cJSON_CreateObject();

		assert_int_equal(awsp_json_call(e->c, AWSP_SVC_EC2,
						"DescribeAddresses", b, 0, NULL,
						NULL, &err),
				 UTIL_EINVAL);
		cJSON_Delete(b);
	}
	assert_int_equal(e->s.n_reqs, 2);

	/* Not wanted, not read: a write's 2xx is its answer. */
	util_err_clear(&err);
	script_push(&e->s, 200, "");
	assert_int_equal(json_call(e->c, "PutItem", "{}", AWSP_CALL_MUTATING,
				   NULL, NULL, &err),
			 0);
}

static const char ccf_body[] =
	"{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
	"ConditionalCheckFailedException\",\"message\":\"The conditional "
	"request failed\"}";
static const char throughput_body[] =
	"{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
	"ProvisionedThroughputExceededException\",\"message\":\"slow down\"}";

static void test_json_errors(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_call_info info;
	struct awsp_client_stats st;

	/* A lost condition is an answer: one attempt, AWS's code. */
	script_push_rid(&e->s, 400, ccf_body, "RID-CCF");
	assert_int_equal(json_call(e->c, "PutItem", "{}",
				   AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT,
				   NULL, &info, &err),
			 UTIL_EAWS);
	assert_int_equal(info.attempts, 1);
	assert_string_equal(err.aws_code, "ConditionalCheckFailedException");
	assert_string_equal(err.request_id, "RID-CCF");
	assert_int_equal(err.http_status, 400);
	assert_false(err.flags & UTIL_ERR_RETRYABLE);
	assert_false(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	assert_non_null(strstr(err.msg, "dynamodb PutItem"));
	assert_non_null(strstr(err.msg, "The conditional request failed"));

	/* Throughput exceeded: throttling, retried, then answered. */
	util_err_clear(&err);
	script_push_rid(&e->s, 400, throughput_body, "RID-T1");
	script_push_rid(&e->s, 400, throughput_body, "RID-T2");
	script_push(&e->s, 200, "{}");
	assert_int_equal(json_call(e->c, "UpdateItem", "{}",
				   AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT,
				   NULL, &info, &err),
			 0);
	assert_int_equal(info.attempts, 3);
	assert_false(info.lost_before);
	awsp_client_get_stats(e->c, &st);
	assert_int_equal(st.throttled, 2);

	/* Out of attempts: retryable, the last request id. */
	for (int i = 0; i < 3; i++)
		script_push_rid(&e->s, 400, throughput_body, "RID-T3");
	assert_int_equal(json_call(e->c, "Scan", "{}", 0, NULL, &info, &err),
			 UTIL_EAWS);
	assert_string_equal(err.aws_code,
			    "ProvisionedThroughputExceededException");
	assert_true(err.flags & UTIL_ERR_RETRYABLE);
	assert_string_equal(err.request_id, "RID-T3");
}

/* --- fencing ------------------------------------------------------------ */

/* A fence that answers from a script: open with a budget, or closed. */
struct test_fence {
	unsigned checks;
	size_t n, next;
	uint64_t budgets[4]; /* UINT64_MAX - 1 below = closed */
};

#define FENCE_CLOSED (UINT64_MAX - 1)

static int fence_check(void *ctx, uint64_t *ret_budget_ms, struct util_err *err)
{
	struct test_fence *f = ctx;
	uint64_t b = f->next < f->n ? f->budgets[f->next++] : FENCE_CLOSED;

	f->checks++;
	if (b == FENCE_CLOSED)
		return util_err_set(err, UTIL_EFENCED, "lease lost");
	*ret_budget_ms = b;
	return 0;
}

static void test_fence_each_attempt(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_call_info info;
	struct test_fence tf = { .n = 2, .budgets = { 2500, UINT64_MAX } };
	struct util_fence f = { fence_check, &tf };
	const struct util_fence *prev = util_fence_set(&f);
	const unsigned mi = AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT;

	/* Asked before each attempt; its budget bounds each one. */
	script_push(&e->s, 503, "busy");
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "AssociateAddress", mi, &info,
			      &err),
			 0);
	assert_int_equal(tf.checks, 2);
	assert_int_equal(e->s.reqs[0].budget_ms, 2500);
	assert_int_equal(e->s.reqs[1].budget_ms, 0); /* no bound */

	/* Closed: nothing is sent. */
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "AssociateAddress", mi, &info,
			      &err),
			 UTIL_EFENCED);
	assert_int_equal(e->s.n_reqs, 2);
	assert_false(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	assert_non_null(strstr(err.msg, "ec2 AssociateAddress"));
	assert_non_null(strstr(err.msg, "lease lost"));

	/*
	 * Closed before the retry of a lost attempt: the retry is not sent,
	 * and the first may have landed.
	 */
	tf = (struct test_fence){ .n = 1, .budgets = { 1000 } };
	script_push_fail(&e->s, AWSP_HTTP_FAIL_TIMEOUT,
			 UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	util_err_clear(&err);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "AssociateAddress", mi, &info,
			      &err),
			 UTIL_EFENCED);
	assert_int_equal(tf.checks, 2);
	assert_int_equal(e->s.n_reqs, 3);
	assert_true(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	assert_true(info.lost_before);

	/* An open fence with no time left sends nothing either. */
	tf = (struct test_fence){ .n = 1, .budgets = { 0 } };
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "AssociateAddress", mi, &info,
			      &err),
			 UTIL_EFENCED);
	assert_int_equal(e->s.n_reqs, 3);
	util_fence_set(prev);
}

static void test_fence_every_request(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct test_fence tf = { 0 }; /* closed */
	struct util_fence f = { fence_check, &tf };
	const struct util_fence *prev = util_fence_set(&f);

	/* A closed fence stops reads too: the lease thread's deadline. */
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeAddresses", 0, NULL,
			      &err),
			 UTIL_EFENCED);
	assert_int_equal(json_call(e->c, "UpdateItem", "{}",
				   AWSP_CALL_MUTATING | AWSP_CALL_IDEMPOTENT,
				   NULL, NULL, &err),
			 UTIL_EFENCED);
	assert_int_equal(tf.checks, 2);
	assert_int_equal(e->s.n_reqs, 0);

	/* Open with a budget: a read is bounded like a write. */
	tf = (struct test_fence){ .n = 1, .budgets = { 700 } };
	f.ctx = &tf;
	util_err_clear(&err);
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "DescribeAddresses", 0, NULL,
			      &err),
			 0);
	assert_int_equal(e->s.reqs[0].budget_ms, 700);

	/* Without a fence in force, a mutating call is not bounded. */
	util_fence_set(prev);
	script_push(&e->s, 200, ok_body);
	assert_int_equal(call(e->c, AWSP_SVC_EC2, "AssociateAddress",
			      AWSP_CALL_MUTATING, NULL, &err),
			 0);
	assert_int_equal(e->s.reqs[1].budget_ms, 0);
}

/*
 * A retry's pause ends where the last attempt's budget does: the next
 * attempt could not go out later, and a lease round has a deadline.
 */
static void test_fence_caps_backoff(void **state)
{
	struct test_env *e = *state;
	struct util_err err = UTIL_ERR_INIT;
	struct test_fence tf = { .n = 1, .budgets = { 3 } };
	struct util_fence f = { fence_check, &tf };
	const struct util_fence *prev = util_fence_set(&f);
	int r;

	script_push(&e->s, 503, "busy");
	r = call(e->c, AWSP_SVC_EC2, "DescribeAddresses", 0, NULL, &err);
	util_fence_set(prev);
	assert_int_equal(r, UTIL_EFENCED);
	assert_int_equal(e->s.n_reqs, 1);
	assert_true(e->fc.slept_ms <= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signed_request,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_session_token_and_endpoints,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_credentials_failure,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_retry_classes,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_keep_message,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_retry_quota,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_lost_then_no_credentials,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_json_request,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_json_errors,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_fence_each_attempt,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_fence_caps_backoff,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_fence_every_request,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test(test_buckets),
		cmocka_unit_test_setup_teardown(test_rate_limited_calls,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test(test_max_inflight),
		cmocka_unit_test_setup_teardown(test_retry_log, test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_sts_caller_identity,
						test_env_setup,
						test_env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
