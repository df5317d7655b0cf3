#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#include "providers/aws/creds.h"
#include "providers/aws/creds_internal.h"
#include "providers/aws/sigv4.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/pool.h"
#include "util/banned.h"

/*
 * The credential chain against a scripted transport and a manual clock:
 * every source, the refresh windows, the STS signatures, and that no
 * secret reaches an error message.
 */

#define T0 ((time_t)1767225600) /* 2026-01-01T00:00:00Z */

/* --- a manual clock -------------------------------------------------- */

struct tclock {
	pthread_mutex_t lock;
	time_t wall;
	uint64_t mono_ms;
	uint64_t slept_ms;
	struct util_clock clock;
};

static uint64_t tc_mono(void *ctx)
{
	struct tclock *t = ctx;
	uint64_t v;

	pthread_mutex_lock(&t->lock);
	v = t->mono_ms;
	pthread_mutex_unlock(&t->lock);
	return v;
}

static time_t tc_wall(void *ctx)
{
	struct tclock *t = ctx;
	time_t v;

	pthread_mutex_lock(&t->lock);
	v = t->wall;
	pthread_mutex_unlock(&t->lock);
	return v;
}

static void tc_sleep(void *ctx, uint64_t ms)
{
	struct tclock *t = ctx;

	pthread_mutex_lock(&t->lock);
	t->mono_ms += ms;
	t->slept_ms += ms;
	t->wall += (time_t)(ms / 1000);
	pthread_mutex_unlock(&t->lock);
}

static void tclock_init(struct tclock *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->wall = T0;
	t->mono_ms = 1000000;
	t->clock = (struct util_clock){ tc_mono, tc_wall, tc_sleep, t };
}

static void tclock_set(struct tclock *t, time_t wall)
{
	pthread_mutex_lock(&t->lock);
	t->wall = wall;
	pthread_mutex_unlock(&t->lock);
}

/* --- a scripted transport -------------------------------------------- */

struct exch {
	const char *method;
	const char *url;
	long status; /* 0 = no answer (connection refused) */
	const char *body;
};

struct seen {
	char *method;
	char *url;
	struct buf headers; /* "name: value\n" each */
	struct buf body;
	long timeout_ms;
	bool sensitive;
};

struct fake_net {
	pthread_mutex_t lock;
	const struct exch *script;
	size_t n, next;
	struct seen seen[32];
	size_t n_seen;
	char problem[256]; /* first unexpected request, checked afterwards */
	/*
	 * Real time each answer takes, so that concurrent callers pile up
	 * behind a refresh (the outcome checked never depends on it).
	 */
	long delay_ms;
};

static int fake_send(void *ctx, const struct awsp_http_request *req,
		     struct awsp_http_response *resp, struct util_err *err)
{
	struct fake_net *f = ctx;
	const struct exch *x = NULL;
	int r = 0;

	pthread_mutex_lock(&f->lock);
	if (f->n_seen < 32) {
		struct seen *s = &f->seen[f->n_seen++];

		s->method = util_xstrdup(req->method);
		s->url = util_xstrdup(req->url);
		buf_init(&s->headers, 0);
		buf_init(&s->body, 0);
		for (size_t i = 0; i < req->n_headers; i++)
			buf_addf(&s->headers, "%s: %s\n", req->headers[i].name,
				 req->headers[i].value);
		buf_add(&s->body, req->body, req->body_len);
		s->timeout_ms = req->timeout_ms;
		s->sensitive = req->sensitive_body;
	}
	if (f->next < f->n)
		x = &f->script[f->next++];
	if (!x || strcmp(x->method, req->method) || strcmp(x->url, req->url)) {
		if (!f->problem[0])
			snprintf(f->problem, sizeof(f->problem),
				 "unexpected %s %s (wanted %s %s)", req->method,
				 req->url, x ? x->method : "none",
				 x ? x->url : "");
		x = NULL;
	}
	pthread_mutex_unlock(&f->lock);
	if (f->delay_ms) {
		struct timespec ts = { 0, f->delay_ms * 1000000L };

		nanosleep(&ts, NULL);
	}
	if (!x || !x->status) {
		r = util_err_set(err, UTIL_ETRANSPORT, "connection refused");
		if (err)
			err->flags |= UTIL_ERR_RETRYABLE;
		return r;
	}
	resp->status = x->status;
	buf_addstr(&resp->body, x->body ? x->body : "");
	return 0;
}

static void net_init(struct fake_net *f, const struct exch *script, size_t n)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->script = script;
	f->n = n;
}

static void net_release(struct fake_net *f)
{
	for (size_t i = 0; i < f->n_seen; i++) {
		free(f->seen[i].method);
		free(f->seen[i].url);
		buf_release(&f->seen[i].headers);
		buf_release(&f->seen[i].body);
	}
	pthread_mutex_destroy(&f->lock);
}

/* The script was followed exactly and completely. */
static void net_done(struct fake_net *f)
{
	if (f->problem[0])
		fail_msg("%s", f->problem);
	if (f->next != f->n)
		fail_msg("only %zu of %zu scripted exchanges happened", f->next,
			 f->n);
}

/* Value of header name in a seen request, or NULL (static buffer). */
static const char *seen_header(const struct seen *s, const char *name)
{
	static char v[2048];
	size_t n = strlen(name);
	const char *p = s->headers.buf;

	while (*p) {
		const char *eol = strchr(p, '\n');

		if (!strncasecmp(p, name, n) && p[n] == ':' &&
		    p[n + 1] == ' ') {
			snprintf(v, sizeof(v), "%.*s", (int)(eol - p - n - 2),
				 p + n + 2);
			return v;
		}
		p = eol + 1;
	}
	return NULL;
}

/* --- fixtures ---------------------------------------------------------- */

struct fixture {
	struct tclock clock;
	struct fake_net net;
	struct awsp_transport transport;
	struct awsp_env env;
	const char *vars[24];
	struct awsp_config *config;
	struct awsp_creds_config cfg;
	char dir[64];
};

static void fx_init(struct fixture *fx, const struct exch *script, size_t n)
{
	memset(fx, 0, sizeof(*fx));
	tclock_init(&fx->clock);
	net_init(&fx->net, script, n);
	fx->transport = (struct awsp_transport){ fake_send, &fx->net };
	fx->env = (struct awsp_env){ awsp_env_table_get, fx->vars };
	fx->cfg = (struct awsp_creds_config){
		.env = &fx->env,
		.config = NULL,
		.transport = &fx->transport,
		.clock = &fx->clock.clock,
		.region = "us-east-1",
	};
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/moor-creds-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
}

static void fx_setenv(struct fixture *fx, const char *assignment)
{
	size_t i = 0;

	while (fx->vars[i])
		i++;
	assert_true(i + 1 < ARRAY_SIZE(fx->vars));
	fx->vars[i] = assignment;
}

/* Shared files from text; the paths are for messages only. */
static void fx_files(struct fixture *fx, const char *config,
		     const char *credentials, const char *profile)
{
	struct awsp_config *c = util_xcalloc(1, sizeof(*c));
	struct util_err err = UTIL_ERR_INIT;

	assert_int_equal(awsp_ini_parse(config, strlen(config), "config",
					&c->config, &err),
			 0);
	assert_int_equal(awsp_ini_parse(credentials, strlen(credentials),
					"credentials", &c->credentials, &err),
			 0);
	c->profile = util_xstrdup(profile);
	c->config_path = util_xstrdup("/home/u/.aws/config");
	c->credentials_path = util_xstrdup("/home/u/.aws/credentials");
	fx->config = c;
	fx->cfg.config = c;
}

static char *fx_write(struct fixture *fx, const char *name, const char *text)
{
	char *path = util_xasprintf("%s/%s", fx->dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void fx_release(struct fixture *fx, const char *const *files)
{
	for (; files && *files; files++) {
		char *p = util_xasprintf("%s/%s", fx->dir, *files);

		unlink(p);
		free(p);
	}
	assert_int_equal(rmdir(fx->dir), 0);
	awsp_config_free(fx->config);
	net_release(&fx->net);
	pthread_mutex_destroy(&fx->clock.lock);
}

static struct awsp_creds *fx_creds(struct fixture *fx)
{
	struct awsp_creds *c = NULL;
	struct util_err err = UTIL_ERR_INIT;

	assert_int_equal(awsp_creds_new(&fx->cfg, &c, &err), 0);
	return c;
}

/* Get and check the access key id; returns 0 or the error code. */
static int get_akid(struct awsp_creds *c, const char *want,
		    struct util_err *err)
{
	struct awsp_credentials cr = { 0 };
	int r = awsp_creds_get(c, &cr, err);

	if (r == 0 && want)
		assert_string_equal(cr.access_key_id, want);
	awsp_credentials_release(&cr);
	return r;
}

static void no_secret(const struct util_err *err, const char *secret)
{
	struct buf b = BUF_INIT;

	util_err_format(err, &b);
	if (strstr(b.buf, secret))
		fail_msg("error '%s' quotes a secret", b.buf);
	buf_release(&b);
}

static char *sts_ok(const char *action, const char *akid, const char *secret,
		    const char *token, time_t exp)
{
	char when[32];

	util_time_iso8601(exp, when, sizeof(when));
	return util_xasprintf(
		"<%sResponse xmlns=\"https://sts.amazonaws.com/doc/"
		"2011-06-15/\"><%sResult><Credentials>"
		"<AccessKeyId>%s</AccessKeyId>"
		"<SecretAccessKey>%s</SecretAccessKey>"
		"<SessionToken>%s</SessionToken>"
		"<Expiration>%s</Expiration></Credentials>"
		"<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/"
		"r/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId>"
		"</AssumedRoleUser></%sResult><ResponseMetadata><RequestId>"
		"rid-1</RequestId></ResponseMetadata></%sResponse>",
		action, action, akid, secret, token, when, action, action);
}

static const char STS_ERROR[] =
	"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
	"<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
	"<Message>token rejected</Message></Error>"
	"<RequestId>rid-err</RequestId></ErrorResponse>";

/* --- environment ------------------------------------------------------ */

static void test_env(void **state)
{
	struct fixture fx;
	struct awsp_creds *c;
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, NULL, 0);
	fx_setenv(&fx, "AWS_ACCESS_KEY_ID=AKIDENV");
	fx_setenv(&fx, "AWS_SECRET_ACCESS_KEY=envsecret");
	fx_setenv(&fx, "AWS_SECURITY_TOKEN=legacytoken");
	fx_setenv(&fx, "AWS_ACCOUNT_ID=999988887777");
	c = fx_creds(&fx);
	assert_null(awsp_creds_source(c));
	assert_int_equal(awsp_creds_get(c, &cr, &err), 0);
	assert_string_equal(cr.access_key_id, "AKIDENV");
	assert_string_equal(cr.secret_access_key, "envsecret");
	assert_string_equal(cr.session_token, "legacytoken");
	assert_string_equal(cr.account_id, "999988887777");
	assert_int_equal(cr.expiration, 0);
	assert_string_equal(awsp_creds_source(c), "env");
	awsp_credentials_release(&cr);
	awsp_credentials_release(&cr);
	/* Long-term keys never refresh, whatever the time. */
	tclock_set(&fx.clock, T0 + 10 * 365 * 86400);
	assert_int_equal(get_akid(c, "AKIDENV", &err), 0);
	awsp_creds_free(c);

	/* AWS_SESSION_TOKEN wins over the legacy name. */
	fx_setenv(&fx, "AWS_SESSION_TOKEN=newtoken");
	c = fx_creds(&fx);
	assert_int_equal(awsp_creds_get(c, &cr, &err), 0);
	assert_string_equal(cr.session_token, "newtoken");
	awsp_credentials_release(&cr);
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

static void test_env_partial_is_an_error(void **state)
{
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, NULL, 0);
	fx_setenv(&fx, "AWS_ACCESS_KEY_ID=AKIDENV");
	fx_setenv(&fx, "AWS_SECRET_ACCESS_KEY=");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "AWS_SECRET_ACCESS_KEY is not"));
	assert_null(awsp_creds_source(c));
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

static void test_env_expiring_refresh(void **state)
{
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, NULL, 0);
	fx_setenv(&fx, "AWS_ACCESS_KEY_ID=AKIDENV1");
	fx_setenv(&fx, "AWS_SECRET_ACCESS_KEY=envsecret");
	fx_setenv(&fx, "AWS_CREDENTIAL_EXPIRATION=2026-01-01T01:00:00Z");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "AKIDENV1", &err), 0);
	/* The environment changed (a wrapper rotated it): re-read when due. */
	fx_setenv(&fx, "AWS_ACCESS_KEY_ID=AKIDENV2");
	fx_setenv(&fx, "AWS_CREDENTIAL_EXPIRATION=2026-01-01T02:00:00Z");
	tclock_set(&fx.clock, T0 + 2000);
	assert_int_equal(get_akid(c, "AKIDENV1", &err), 0);
	tclock_set(&fx.clock, T0 + 3000);
	assert_int_equal(get_akid(c, "AKIDENV2", &err), 0);
	/* Expired and not renewed: an error, never stale keys. */
	tclock_set(&fx.clock, T0 + 7200);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_ECREDS);
	assert_non_null(strstr(err.msg, "expired"));
	util_err_clear(&err);
	awsp_creds_free(c);

	fx_setenv(&fx, "AWS_CREDENTIAL_EXPIRATION=tomorrow");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

static void test_nothing_anywhere(void **state)
{
	const struct exch script[] = {
		{ "PUT", "http://169.254.169.254/latest/api/token", 0, NULL },
		{ "GET",
		  "http://169.254.169.254/latest/meta-data/iam/"
		  "security-credentials/",
		  0, NULL },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	const char *want[] = { "env: AWS_ACCESS_KEY_ID not set",
			       "web-identity: AWS_WEB_IDENTITY_TOKEN_FILE not "
			       "set",
			       "profile: profile 'default' not in "
			       "'/home/u/.aws/config' or "
			       "'/home/u/.aws/credentials'",
			       "container: AWS_CONTAINER_CREDENTIALS_RELATIVE_"
			       "URI and AWS_CONTAINER_CREDENTIALS_FULL_URI not "
			       "set",
			       "imds: no answer from http://169.254.169.254",
			       NULL };

	(void)state;
	fx_init(&fx, script, 2);
	fx_files(&fx, "", "", "default");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_ECREDS);
	for (const char **w = want; *w; w++)
		if (!strstr(err.msg, *w))
			fail_msg("'%s' lacks '%s'", err.msg, *w);
	/* botocore falls back to IMDSv1 when the token PUT gets no answer. */
	assert_int_equal(fx.net.n_seen, 2);
	assert_null(seen_header(&fx.net.seen[1], "x-aws-ec2-metadata-token"));
	assert_int_equal(fx.net.seen[0].timeout_ms, 1000);
	awsp_creds_free(c);
	net_done(&fx.net);

	/* IMDS disabled: nothing is sent. */
	util_err_clear(&err);
	fx_setenv(&fx, "AWS_EC2_METADATA_DISABLED=True");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_ECREDS);
	assert_non_null(
		strstr(err.msg, "imds: disabled by AWS_EC2_METADATA_DISABLED"));
	assert_int_equal(fx.net.n_seen, 2);
	awsp_creds_free(c);
	fx_release(&fx, NULL);
}

/* --- web identity -------------------------------------------------------- */

static void test_web_identity_and_refresh(void **state)
{
	time_t exp1 = T0 + 3600, exp2 = T0 + 7200;
	char *ok1 = sts_ok("AssumeRoleWithWebIdentity", "ASIAWEB1",
			   "websecret1", "webtoken1", exp1);
	char *ok2 = sts_ok("AssumeRoleWithWebIdentity", "ASIAWEB2",
			   "websecret2", "webtoken2", exp2);
	const struct exch script[] = {
		{ "POST", "http://sts.local:4566/", 200, ok1 },
		/* advisory: fails, the current keys stay */
		{ "POST", "http://sts.local:4566/", 400, STS_ERROR },
		/* mandatory: fails, the caller gets the error */
		{ "POST", "http://sts.local:4566/", 0, NULL },
		{ "POST", "http://sts.local:4566/", 200, ok2 },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *tokfile, *v;
	const char *files[] = { "token", NULL };

	(void)state;
	fx_init(&fx, script, 4);
	tokfile = fx_write(&fx, "token", "oidc-token-1");
	v = util_xasprintf("AWS_WEB_IDENTITY_TOKEN_FILE=%s", tokfile);
	fx_setenv(&fx, v);
	fx_setenv(&fx, "AWS_ROLE_ARN=arn:aws:iam::111122223333:role/ci");
	fx_setenv(&fx, "AWS_ROLE_SESSION_NAME=gha run");
	fx_setenv(&fx, "AWS_ENDPOINT_URL_STS=http://sts.local:4566/");
	fx_setenv(&fx, "AWS_ENDPOINT_URL_EC2=http://wrong.local");
	c = fx_creds(&fx);
	assert_int_equal(awsp_creds_get(c, &cr, &err), 0);
	assert_string_equal(cr.access_key_id, "ASIAWEB1");
	assert_string_equal(cr.secret_access_key, "websecret1");
	assert_string_equal(cr.session_token, "webtoken1");
	assert_string_equal(cr.account_id, "111122223333");
	assert_int_equal(cr.expiration, exp1);
	awsp_credentials_release(&cr);
	assert_string_equal(awsp_creds_source(c), "web-identity");
	/* Unsigned, form-encoded, marked sensitive. */
	assert_null(seen_header(&fx.net.seen[0], "Authorization"));
	assert_string_equal(seen_header(&fx.net.seen[0], "Host"),
			    "sts.local:4566");
	assert_true(fx.net.seen[0].sensitive);
	assert_string_equal(
		fx.net.seen[0].body.buf,
		"Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
		"&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2Fci"
		"&RoleSessionName=gha+run"
		"&WebIdentityToken=oidc-token-1");

	/* 16 minutes left: still fresh, nothing sent. */
	tclock_set(&fx.clock, exp1 - 960);
	assert_int_equal(get_akid(c, "ASIAWEB1", &err), 0);
	assert_int_equal(fx.net.n_seen, 1);

	/* The token file is re-read on refresh. */
	unlink(tokfile);
	free(fx_write(&fx, "token", "oidc-token-2"));

	/* Advisory window (14 min left): a failed refresh keeps the keys. */
	tclock_set(&fx.clock, exp1 - 840);
	assert_int_equal(get_akid(c, "ASIAWEB1", &err), 0);
	assert_false(util_err_isset(&err));
	assert_int_equal(fx.net.n_seen, 2);
	assert_non_null(strstr(fx.net.seen[1].body.buf,
			       "WebIdentityToken=oidc-token-2"));

	/* Mandatory window (9 min left): it must succeed. */
	tclock_set(&fx.clock, exp1 - 540);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_ETRANSPORT);
	assert_non_null(
		strstr(err.msg, "refresh credentials from web-identity"));
	no_secret(&err, "oidc-token");
	util_err_clear(&err);
	assert_int_equal(get_akid(c, "ASIAWEB2", &err), 0);
	assert_int_equal(fx.net.n_seen, 4);
	/* And the new ones are fresh again. */
	assert_int_equal(get_akid(c, "ASIAWEB2", &err), 0);
	assert_int_equal(fx.net.n_seen, 4);
	assert_string_equal(awsp_creds_source(c), "web-identity");
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, files);
	free(tokfile);
	free(v);
	free(ok1);
	free(ok2);
}

static void test_web_identity_errors(void **state)
{
	const struct exch script[] = {
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 400,
		  STS_ERROR },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	char *tokfile, *v;
	const char *files[] = { "token", NULL };

	(void)state;
	fx_init(&fx, script, 1);
	fx.cfg.region = "eu-west-1";
	tokfile = fx_write(&fx, "token", "secret-oidc-token");
	v = util_xasprintf("AWS_WEB_IDENTITY_TOKEN_FILE=%s", tokfile);
	fx_setenv(&fx, v);
	/* A token without a role. */
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "AWS_ROLE_ARN"));
	util_err_clear(&err);
	awsp_creds_free(c);
	/* STS says no: the chain stops there, with STS's code. */
	fx_setenv(&fx, "AWS_ROLE_ARN=arn:aws:iam::111122223333:role/ci");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EAWS);
	assert_string_equal(err.aws_code, "InvalidIdentityToken");
	assert_string_equal(err.request_id, "rid-err");
	assert_int_equal(err.http_status, 400);
	assert_non_null(strstr(err.msg, "credentials from web-identity"));
	no_secret(&err, "secret-oidc-token");
	util_err_clear(&err);
	/* The session name defaults to moor-session-<epoch>. */
	assert_non_null(strstr(fx.net.seen[0].body.buf,
			       "RoleSessionName=moor-session-1767225600&"));
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, files);
	free(tokfile);
	free(v);
}

/* --- assume role --------------------------------------------------------- */

/* Re-sign a seen request with the given keys: the signature must match. */
static void check_signed(const struct seen *s, const char *akid,
			 const char *secret, const char *region)
{
	struct awsp_header h[8];
	size_t nh = 0;
	char *copy = util_xstrdup(s->headers.buf), *line = copy, *authz = NULL;
	struct awsp_signer *signer = awsp_signer_new();
	struct buf mine = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;
	const char *date = NULL;
	struct awsp_sigv4_request req;

	while (*line) {
		char *eol = strchr(line, '\n');
		char *colon = strchr(line, ':');

		*eol = '\0';
		*colon = '\0';
		if (!strcasecmp(line, "Authorization")) {
			authz = colon + 2;
		} else {
			h[nh].name = line;
			h[nh].value = colon + 2;
			if (!strcasecmp(line, "X-Amz-Date"))
				date = colon + 2;
			nh++;
		}
		line = eol + 1;
	}
	assert_non_null(authz);
	assert_non_null(date);
	req = (struct awsp_sigv4_request){
		.method = s->method,
		.path = "/",
		.headers = h,
		.n_headers = nh,
		.body = s->body.buf,
		.body_len = s->body.len,
		.normalize_path = true,
	};
	assert_int_equal(awsp_signer_sign(signer, &req, akid, secret, region,
					  "sts", date, &mine, &err),
			 0);
	assert_string_equal(authz, mine.buf);
	buf_release(&mine);
	awsp_signer_free(signer);
	free(copy);
}

static const char ROLE_CONFIG[] =
	"[profile dev]\n"
	"role_arn = arn:aws:iam::111122223333:role/deploy\n"
	"source_profile = base\n"
	"external_id = ext-42\n"
	"role_session_name = moor-ci\n"
	"duration_seconds = 1800\n"
	"region = eu-west-1\n"
	"[profile chained]\n"
	"role_arn = arn:aws:iam::111122223333:role/second\n"
	"source_profile = dev\n"
	"[profile self]\n"
	"role_arn = arn:aws:iam::111122223333:role/self\n"
	"source_profile = self\n"
	"aws_access_key_id = AKIDSELF\n"
	"aws_secret_access_key = selfsecret\n"
	"[profile loop1]\n"
	"role_arn = arn:aws:iam::1:role/a\n"
	"source_profile = loop2\n"
	"[profile loop2]\n"
	"role_arn = arn:aws:iam::1:role/b\n"
	"source_profile = loop1\n"
	"[profile both]\n"
	"role_arn = arn:aws:iam::1:role/a\n"
	"source_profile = base\n"
	"credential_source = Environment\n"
	"[profile badsource]\n"
	"role_arn = arn:aws:iam::1:role/a\n"
	"credential_source = Laptop\n"
	"[profile missing]\n"
	"role_arn = arn:aws:iam::1:role/a\n"
	"source_profile = nowhere\n"
	"[profile mfa]\n"
	"role_arn = arn:aws:iam::1:role/a\n"
	"source_profile = base\n"
	"mfa_serial = arn:aws:iam::1:mfa/me\n"
	"[profile longdur]\n"
	"role_arn = arn:aws:iam::1:role/a\n"
	"source_profile = base\n"
	"duration_seconds = 99999\n"
	"[profile fromenv]\n"
	"role_arn = arn:aws:iam::111122223333:role/env\n"
	"credential_source = Environment\n"
	"[profile empty]\n"
	"region = us-east-2\n";

static const char ROLE_CREDENTIALS[] = "[base]\n"
				       "aws_access_key_id = AKIDBASE\n"
				       "aws_secret_access_key = basesecret\n";

static void test_assume_role_source_profile(void **state)
{
	char *ok1 = sts_ok("AssumeRole", "ASIAROLE1", "rolesecret1",
			   "roletoken1", T0 + 1800);
	char *ok2 = sts_ok("AssumeRole", "ASIAROLE2", "rolesecret2",
			   "roletoken2", T0 + 3600);
	const struct exch script[] = {
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok1 },
		/* chained: dev first, then chained with dev's keys */
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok1 },
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok2 },
		/* self-sourced */
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok2 },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	const struct seen *s;

	(void)state;
	fx_init(&fx, script, 4);
	fx.cfg.region = "eu-west-1";
	fx_files(&fx, ROLE_CONFIG, ROLE_CREDENTIALS, "dev");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIAROLE1", &err), 0);
	assert_string_equal(awsp_creds_source(c), "profile:dev (assume-role)");
	s = &fx.net.seen[0];
	assert_string_equal(s->body.buf,
			    "Action=AssumeRole&Version=2011-06-15"
			    "&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole"
			    "%2Fdeploy&RoleSessionName=moor-ci"
			    "&ExternalId=ext-42&DurationSeconds=1800");
	assert_string_equal(seen_header(s, "X-Amz-Date"), "20260101T000000Z");
	assert_string_equal(seen_header(s, "Host"),
			    "sts.eu-west-1.amazonaws.com");
	assert_null(seen_header(s, "X-Amz-Security-Token"));
	assert_true(s->sensitive);
	assert_non_null(strstr(seen_header(s, "Authorization"),
			       "Credential=AKIDBASE/20260101/eu-west-1/sts/"
			       "aws4_request, SignedHeaders=content-type;host;"
			       "x-amz-date, Signature="));
	check_signed(s, "AKIDBASE", "basesecret", "eu-west-1");
	awsp_creds_free(c);

	/* A role whose source is another role: signed with the temp keys. */
	free(fx.config->profile);
	fx.config->profile = util_xstrdup("chained");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIAROLE2", &err), 0);
	assert_string_equal(awsp_creds_source(c),
			    "profile:chained (assume-role)");
	s = &fx.net.seen[2];
	assert_string_equal(seen_header(s, "X-Amz-Security-Token"),
			    "roletoken1");
	assert_non_null(strstr(s->body.buf, "role%2Fsecond"));
	assert_non_null(strstr(s->body.buf, "RoleSessionName=moor-session-"));
	check_signed(s, "ASIAROLE1", "rolesecret1", "eu-west-1");
	awsp_creds_free(c);

	/* A profile that is its own source uses its static keys. */
	free(fx.config->profile);
	fx.config->profile = util_xstrdup("self");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIAROLE2", &err), 0);
	check_signed(&fx.net.seen[3], "AKIDSELF", "selfsecret", "eu-west-1");
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
	free(ok1);
	free(ok2);
}

static void expect_profile_error(struct fixture *fx, const char *profile,
				 int code, const char *needle)
{
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;

	free(fx->config->profile);
	fx->config->profile = util_xstrdup(profile);
	c = fx_creds(fx);
	assert_int_equal(get_akid(c, NULL, &err), code);
	if (!strstr(err.msg, needle))
		fail_msg("profile %s: '%s' lacks '%s'", profile, err.msg,
			 needle);
	no_secret(&err, "basesecret");
	awsp_creds_free(c);
}

static void test_assume_role_misconfigured(void **state)
{
	struct fixture fx;

	(void)state;
	fx_init(&fx, NULL, 0);
	fx_files(&fx, ROLE_CONFIG, ROLE_CREDENTIALS, "dev");
	expect_profile_error(&fx, "loop1", UTIL_EINVAL, "(a loop?)");
	expect_profile_error(&fx, "both", UTIL_EINVAL,
			     "both source_profile and credential_source");
	expect_profile_error(&fx, "badsource", UTIL_EINVAL,
			     "unsupported credential_source 'Laptop'");
	expect_profile_error(&fx, "missing", UTIL_EINVAL,
			     "source_profile 'nowhere' does not exist");
	expect_profile_error(&fx, "mfa", UTIL_EINVAL, "mfa_serial");
	expect_profile_error(&fx, "longdur", UTIL_EINVAL, "duration_seconds");
	/* credential_source = Environment with nothing in it. */
	expect_profile_error(&fx, "fromenv", UTIL_ECREDS,
			     "credential_source Environment has no "
			     "credentials: AWS_ACCESS_KEY_ID not set");
	/* A profile with no credentials at all: next sources, then none. */
	fx_setenv(&fx, "AWS_EC2_METADATA_DISABLED=true");
	expect_profile_error(&fx, "empty", UTIL_ECREDS,
			     "profile: profile 'empty' has no credentials");
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

static void test_assume_role_credential_source_env(void **state)
{
	char *ok = sts_ok("AssumeRole", "ASIAFROMENV", "s", "t", T0 + 3600);
	const struct exch script[] = {
		{ "POST", "http://127.0.0.1:4566/", 200, ok },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	const struct seen *s;

	(void)state;
	fx_init(&fx, script, 1);
	fx.cfg.region = NULL; /* the global endpoint signs for us-east-1 */
	fx_files(&fx, ROLE_CONFIG, ROLE_CREDENTIALS, "fromenv");
	fx_setenv(&fx, "AWS_ENDPOINT_URL=http://127.0.0.1:4566");
	fx_setenv(&fx, "AWS_ACCESS_KEY_ID=AKIDENV");
	fx_setenv(&fx, "AWS_SECRET_ACCESS_KEY=envsecret");
	fx_setenv(&fx, "AWS_SESSION_TOKEN=envtoken");
	/* Chosen by AWS_PROFILE: the environment's keys win outright. */
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "AKIDENV", &err), 0);
	assert_string_equal(awsp_creds_source(c), "env");
	awsp_creds_free(c);
	assert_int_equal(fx.net.n_seen, 0);

	/* Named by --profile: env drops out and becomes the role's source. */
	fx.config->profile_from_cli = true;
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIAFROMENV", &err), 0);
	assert_string_equal(awsp_creds_source(c),
			    "profile:fromenv (assume-role)");
	s = &fx.net.seen[0];
	assert_string_equal(seen_header(s, "Host"), "127.0.0.1:4566");
	assert_string_equal(seen_header(s, "X-Amz-Security-Token"), "envtoken");
	assert_non_null(strstr(seen_header(s, "Authorization"),
			       "/us-east-1/sts/aws4_request"));
	check_signed(s, "AKIDENV", "envsecret", "us-east-1");
	awsp_creds_free(c);

	/* With nothing in the environment the chain says why env was
	 * skipped, and the role's source fails. */
	fx.vars[1] = NULL;
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_ECREDS);
	assert_non_null(strstr(err.msg, "credential_source Environment"));
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
	free(ok);
}

/* --- static profiles and credential_process ------------------------------ */

static void test_static_profiles(void **state)
{
	struct fixture fx;
	struct awsp_creds *c;
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, NULL, 0);
	fx_files(&fx,
		 "[profile dev]\n"
		 "aws_access_key_id = AKIDCONFIG\n"
		 "aws_secret_access_key = configsecret\n"
		 "[profile half]\n"
		 "aws_access_key_id = AKIDHALF\n"
		 "[profile proc]\n"
		 "credential_process = printf '{\"Version\": 1, "
		 "\"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": "
		 "\"procsecret\"}'\n"
		 "aws_access_key_id = AKIDCONFIGPROC\n"
		 "aws_secret_access_key = configsecret\n",
		 "[dev]\n"
		 "aws_access_key_id = AKIDCREDS\n"
		 "aws_secret_access_key = credssecret\n"
		 "aws_session_token = credstoken\n",
		 "dev");
	c = fx_creds(&fx);
	assert_int_equal(awsp_creds_get(c, &cr, &err), 0);
	/* The credentials file wins over the config file. */
	assert_string_equal(cr.access_key_id, "AKIDCREDS");
	assert_string_equal(cr.secret_access_key, "credssecret");
	assert_string_equal(cr.session_token, "credstoken");
	assert_string_equal(awsp_creds_source(c), "profile:dev");
	awsp_credentials_release(&cr);
	awsp_creds_free(c);

	/* botocore: credential_process comes before the config file's keys. */
	free(fx.config->profile);
	fx.config->profile = util_xstrdup("proc");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "AKIDPROC", &err), 0);
	assert_string_equal(awsp_creds_source(c), "credential-process");
	awsp_creds_free(c);

	free(fx.config->profile);
	fx.config->profile = util_xstrdup("half");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "no aws_secret_access_key"));
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

static int run_process(const char *cmd, long timeout_ms,
		       struct awsp_credentials *out, struct util_err *err)
{
	util_err_clear(err);
	awsp_credentials_release(out);
	return awsp_credsrc_process(cmd, timeout_ms, out, err);
}

static void test_credential_process(void **state)
{
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	assert_int_equal(
		run_process("echo '{\"Version\":1,\"AccessKeyId\":\"AKIDP\","
			    "\"SecretAccessKey\":\"psecret\",\"SessionToken\":"
			    "\"ptoken\",\"Expiration\":\"2026-01-01T01:00:00Z"
			    "\",\"AccountId\":\"123\"}'; echo '(expected) "
			    "helper stderr is not parsed' >&2",
			    0, &cr, &err),
		0);
	assert_string_equal(cr.access_key_id, "AKIDP");
	assert_string_equal(cr.secret_access_key, "psecret");
	assert_string_equal(cr.session_token, "ptoken");
	assert_string_equal(cr.account_id, "123");
	assert_int_equal(cr.expiration, T0 + 3600);

	/* Failures: status, signal, JSON, Version, missing keys, timeout,
	 * size; none quotes the command or its output. */
	assert_int_equal(run_process("echo '{\"SecretAccessKey\":\"leaked\"}'; "
				     "exit 3",
				     0, &cr, &err),
			 UTIL_EFAIL);
	assert_non_null(strstr(err.msg, "exited with status 3"));
	no_secret(&err, "leaked");
	assert_int_equal(run_process("kill -9 $$", 0, &cr, &err), UTIL_EFAIL);
	assert_non_null(strstr(err.msg, "killed by signal 9"));
	assert_int_equal(run_process("echo not json", 0, &cr, &err),
			 UTIL_EINVAL);
	assert_int_equal(run_process("echo '{\"Version\":2,\"AccessKeyId\":"
				     "\"A\",\"SecretAccessKey\":\"leaked\"}'",
				     0, &cr, &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "Version"));
	no_secret(&err, "leaked");
	assert_int_equal(run_process("echo '{\"Version\":1,\"AccessKeyId\":"
				     "\"A\"}'",
				     0, &cr, &err),
			 UTIL_EINVAL);
	assert_int_equal(run_process("echo '{\"Version\":1,\"AccessKeyId\":"
				     "\"A\",\"SecretAccessKey\":\"S\","
				     "\"Expiration\":\"soon\"}'",
				     0, &cr, &err),
			 UTIL_EINVAL);
	assert_int_equal(run_process("exec sleep 30", 200, &cr, &err),
			 UTIL_ETIMEOUT);
	assert_int_equal(run_process("head -c 100000 /dev/zero", 0, &cr, &err),
			 UTIL_ELIMIT);
	assert_int_equal(run_process("exec 2>/dev/null; /nonexistent/helper "
				     "--secret-arg",
				     0, &cr, &err),
			 UTIL_EFAIL);
	no_secret(&err, "--secret-arg");
	awsp_credentials_release(&cr);
}

/* The helper inherits stdin, stdout (the pipe) and stderr, nothing else. */
static void test_credential_process_inherits_no_fds(void **state)
{
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	/* Deliberately without O_CLOEXEC, as a careless library would. */
	int leaky = open("/dev/null", O_RDONLY);
	char *cmd;

	(void)state;
	assert_true(leaky > STDERR_FILENO);
	cmd = util_xasprintf("[ -e /proc/$$/fd/%d ] && exit 7; "
			     "echo '{\"Version\":1,\"AccessKeyId\":\"A\","
			     "\"SecretAccessKey\":\"S\"}'",
			     leaky);
	assert_int_equal(run_process(cmd, 0, &cr, &err), 0);
	assert_string_equal(cr.access_key_id, "A");
	free(cmd);
	close(leaky);
	awsp_credentials_release(&cr);
}

static void test_credential_process_refresh(void **state)
{
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	char *script_path, *config;
	const char *files[] = { "helper.sh", "n", NULL };

	(void)state;
	fx_init(&fx, NULL, 0);
	/* Each run prints the next key; the first expires in an hour. */
	script_path = fx_write(
		&fx, "helper.sh",
		"n=$(cat \"$(dirname \"$0\")/n\" 2>/dev/null || echo 0)\n"
		"n=$((n + 1)); echo $n > \"$(dirname \"$0\")/n\"\n"
		"printf '{\"Version\":1,\"AccessKeyId\":\"AKIDRUN%s\","
		"\"SecretAccessKey\":\"s\",\"SessionToken\":\"t\","
		"\"Expiration\":\"2026-01-01T0%s:00:00Z\"}' $n $n\n");
	config = util_xasprintf("[default]\ncredential_process = sh %s\n",
				script_path);
	fx_files(&fx, config, "", "default");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "AKIDRUN1", &err), 0);
	assert_int_equal(get_akid(c, "AKIDRUN1", &err), 0);
	tclock_set(&fx.clock, T0 + 3600 - 300);
	assert_int_equal(get_akid(c, "AKIDRUN2", &err), 0);
	assert_string_equal(awsp_creds_source(c), "credential-process");
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, files);
	free(script_path);
	free(config);
}

/* --- container ----------------------------------------------------------- */

static const char CONTAINER_JSON[] =
	"{\"AccessKeyId\":\"ASIACONT\",\"SecretAccessKey\":\"contsecret\","
	"\"Token\":\"conttoken\",\"Expiration\":\"2026-01-01T06:00:00Z\","
	"\"AccountId\":\"444455556666\"}";

static void test_container(void **state)
{
	const struct exch script[] = {
		{ "GET", "http://169.254.170.2/v2/credentials/abc", 0, NULL },
		{ "GET", "http://169.254.170.2/v2/credentials/abc", 500, "" },
		{ "GET", "http://169.254.170.2/v2/credentials/abc", 200,
		  CONTAINER_JSON },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, script, 3);
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/"
		       "credentials/abc");
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://ignored/");
	c = fx_creds(&fx);
	assert_int_equal(awsp_creds_get(c, &cr, &err), 0);
	assert_string_equal(cr.access_key_id, "ASIACONT");
	assert_string_equal(cr.session_token, "conttoken");
	assert_string_equal(cr.account_id, "444455556666");
	assert_int_equal(cr.expiration, T0 + 6 * 3600);
	assert_string_equal(awsp_creds_source(c), "container");
	/* Three attempts, a second apart, as botocore. */
	assert_int_equal(fx.clock.slept_ms, 2000);
	assert_string_equal(seen_header(&fx.net.seen[0], "Accept"),
			    "application/json");
	assert_null(seen_header(&fx.net.seen[0], "Authorization"));
	assert_int_equal(fx.net.seen[0].timeout_ms, 2000);
	awsp_credentials_release(&cr);
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

static void test_container_full_uri_and_token(void **state)
{
	const struct exch script[] = {
		{ "GET", "http://127.0.0.1:4566/_fakeaws/container-credentials",
		  200, CONTAINER_JSON },
		{ "GET", "http://localhost:9/creds", 200, CONTAINER_JSON },
		{ "GET", "https://creds.example/x", 401, "{}" },
		{ "GET", "https://creds.example/x", 401, "{}" },
		{ "GET", "https://creds.example/x", 401, "{}" },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;
	char *tokfile, *v, *tokfile2, *v2;
	const char *files[] = { "token", "badtoken", NULL };

	(void)state;
	fx_init(&fx, script, 5);
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:"
		       "4566/_fakeaws/container-credentials");
	fx_setenv(&fx, "AWS_CONTAINER_AUTHORIZATION_TOKEN=envtoken");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIACONT", &err), 0);
	assert_string_equal(seen_header(&fx.net.seen[0], "Authorization"),
			    "envtoken");
	awsp_creds_free(c);

	/* The token file wins over the variable. */
	tokfile = fx_write(&fx, "token", "filetoken");
	v = util_xasprintf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s",
			   tokfile);
	fx_setenv(&fx, v);
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://localhost:"
		       "9/creds");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIACONT", &err), 0);
	assert_string_equal(seen_header(&fx.net.seen[1], "Authorization"),
			    "filetoken");
	awsp_creds_free(c);

	/* https is always allowed; a 401 three times is an error. */
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=https://"
		       "creds.example/x");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EAWS);
	assert_non_null(strstr(err.msg, "credentials from container: "
					"container credentials from "
					"creds.example: HTTP 401"));
	no_secret(&err, "filetoken");
	util_err_clear(&err);
	awsp_creds_free(c);

	/* Plain http to anything but loopback or the ECS/EKS addresses. */
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://10.0.0.1/x");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "must be https"));
	util_err_clear(&err);
	awsp_creds_free(c);
	for (const char *const *ok =
		     (const char *const[]){ "http://127.1.2.3:80/",
					    "http://[::1]:8080/x",
					    "http://169.254.170.23/v1",
					    "http://[fd00:ec2::23]/",
					    "http://LOCALHOST/", NULL };
	     *ok; ok++) {
		struct buf why = BUF_INIT;
		struct awsp_credentials cr = { 0 };
		const char *vars[] = { NULL, NULL };
		struct awsp_env env = { awsp_env_table_get, vars };
		struct awsp_creds_config cfg = fx.cfg;
		char *assign =
			util_xasprintf("AWS_CONTAINER_CREDENTIALS_FULL_URI=%s",
				       *ok);

		/* Allowed: it gets as far as the (unscripted) request. */
		vars[0] = assign;
		cfg.env = &env;
		assert_int_equal(awsp_credsrc_container(&cfg, &cr, &why, &err),
				 UTIL_ETRANSPORT);
		util_err_clear(&err);
		buf_release(&why);
		free(assign);
	}
	fx.net.problem[0] = '\0';
	fx.net.next = fx.net.n;

	/* A header value may not break the line. */
	tokfile2 = fx_write(&fx, "badtoken", "line1\nline2");
	v2 = util_xasprintf("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s",
			    tokfile2);
	fx_setenv(&fx, v2);
	fx_setenv(&fx, "AWS_CONTAINER_CREDENTIALS_FULL_URI=https://x/");
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, NULL, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "line break"));
	no_secret(&err, "line1");
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, files);
	free(v);
	free(tokfile);
	free(v2);
	free(tokfile2);
}

/* --- IMDS ---------------------------------------------------------------- */

#define IMDS	  "http://169.254.169.254"
#define ROLE_PATH IMDS "/latest/meta-data/iam/security-credentials/"

static char *imds_json(const char *akid, time_t exp)
{
	char when[32];

	util_time_iso8601(exp, when, sizeof(when));
	return util_xasprintf(
		"{\"Code\":\"Success\",\"LastUpdated\":\"2026-01-01T00:00:"
		"00Z\","
		"\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"%s\","
		"\"SecretAccessKey\":\"imdssecret\",\"Token\":\"imdstoken\","
		"\"Expiration\":\"%s\"}",
		akid, when);
}

static void test_imds_v2_and_refresh(void **state)
{
	char *j1 = imds_json("ASIAIMDS1", T0 + 6 * 3600);
	char *j2 = imds_json("ASIAIMDS2", T0 + 12 * 3600);
	const struct exch script[] = {
		{ "PUT", IMDS "/latest/api/token", 200, "imds-session-token" },
		{ "GET", ROLE_PATH, 200, "moor-instance-role\n" },
		{ "GET", ROLE_PATH "moor-instance-role", 200, j1 },
		/* advisory refresh */
		{ "PUT", IMDS "/latest/api/token", 200, "imds-session-token2" },
		{ "GET", ROLE_PATH, 200, "moor-instance-role" },
		{ "GET", ROLE_PATH "moor-instance-role", 200, j2 },
	};
	struct fixture fx;
	struct awsp_creds *c;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, script, 6);
	c = fx_creds(&fx);
	assert_int_equal(get_akid(c, "ASIAIMDS1", &err), 0);
	assert_string_equal(awsp_creds_source(c), "imds");
	assert_string_equal(seen_header(&fx.net.seen[0],
					"x-aws-ec2-metadata-token-ttl-seconds"),
			    "21600");
	assert_string_equal(seen_header(&fx.net.seen[1],
					"x-aws-ec2-metadata-token"),
			    "imds-session-token");
	assert_string_equal(seen_header(&fx.net.seen[2],
					"x-aws-ec2-metadata-token"),
			    "imds-session-token");
	assert_int_equal(fx.net.seen[2].timeout_ms, 1000);
	/* Weeks of a daemon: the keys roll over as they near expiry. */
	tclock_set(&fx.clock, T0 + 6 * 3600 - 800);
	assert_int_equal(get_akid(c, "ASIAIMDS2", &err), 0);
	tclock_set(&fx.clock, T0 + 12 * 3600 - 1000);
	assert_int_equal(get_akid(c, "ASIAIMDS2", &err), 0);
	awsp_creds_free(c);
	net_done(&fx.net);
	fx_release(&fx, NULL);
	free(j1);
	free(j2);
}

static void test_imds_fallbacks(void **state)
{
	char *j = imds_json("ASIAV1", T0 + 6 * 3600);
	char *stale = imds_json("ASIASTALE", T0 + 60);
	const struct exch script[] = {
		/* 1. IMDSv1: the token PUT answers 405 */
		{ "PUT", "http://[fd00:ec2::254]/latest/api/token", 405, "" },
		{ "GET",
		  "http://[fd00:ec2::254]/latest/meta-data/iam/"
		  "security-credentials/",
		  200, "r" },
		{ "GET",
		  "http://[fd00:ec2::254]/latest/meta-data/iam/"
		  "security-credentials/r",
		  200, j },
		/* 2. v1 disabled and 403 for the token: no credentials */
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 403, "" },
		/* 3. 400 for the token: no credentials */
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 400, "" },
		/* 4. the role does not trust EC2 */
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 200, "t" },
		{ "GET",
		  "http://127.0.0.1:9/latest/meta-data/iam/"
		  "security-credentials/",
		  200, "r" },
		{ "GET",
		  "http://127.0.0.1:9/latest/meta-data/iam/"
		  "security-credentials/r",
		  200,
		  "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":"
		  "\"EC2 cannot assume the role\"}" },
		/* 5. no role attached */
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 200, "t" },
		{ "GET",
		  "http://127.0.0.1:9/latest/meta-data/iam/"
		  "security-credentials/",
		  404, "" },
		/* 6. stale credentials are extended, as botocore does */
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 200, "t" },
		{ "GET",
		  "http://127.0.0.1:9/latest/meta-data/iam/"
		  "security-credentials/",
		  200, "r" },
		{ "GET",
		  "http://127.0.0.1:9/latest/meta-data/iam/"
		  "security-credentials/r",
		  200, stale },
	};
	struct fixture fx;
	struct awsp_credentials cr = { 0 };
	struct buf why = BUF_INIT;
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	fx_init(&fx, script, 13);
	fx_setenv(&fx, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6");
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err), 0);
	assert_string_equal(cr.access_key_id, "ASIAV1");
	assert_null(seen_header(&fx.net.seen[1], "x-aws-ec2-metadata-token"));
	awsp_credentials_release(&cr);

	fx_setenv(&fx, "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9/");
	fx_setenv(&fx, "AWS_EC2_METADATA_V1_DISABLED=true");
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err),
			 UTIL_ENOTFOUND);
	assert_string_equal(why.buf, "no IMDSv2 token and IMDSv1 is disabled");
	buf_reset(&why);
	fx_setenv(&fx, "AWS_EC2_METADATA_V1_DISABLED=false");
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err),
			 UTIL_ENOTFOUND);
	assert_string_equal(why.buf, "token request rejected (HTTP 400)");
	buf_reset(&why);
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err),
			 UTIL_ENOTFOUND);
	assert_string_equal(why.buf, "role 'r': AssumeRoleUnauthorizedAccess");
	buf_reset(&why);
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err),
			 UTIL_ENOTFOUND);
	assert_string_equal(why.buf, "instance role: HTTP 404");
	buf_reset(&why);
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err), 0);
	assert_string_equal(cr.access_key_id, "ASIASTALE");
	assert_true(cr.expiration >= T0 + 600 + 120);
	assert_true(cr.expiration <= T0 + 600 + 600);
	awsp_credentials_release(&cr);
	assert_false(util_err_isset(&err));

	/* A bad timeout setting is an error, not "no credentials". */
	fx_setenv(&fx, "AWS_METADATA_SERVICE_TIMEOUT=soon");
	assert_int_equal(awsp_credsrc_imds(&fx.cfg, &cr, &why, &err),
			 UTIL_EINVAL);
	buf_release(&why);
	net_done(&fx.net);
	fx_release(&fx, NULL);
	free(j);
	free(stale);
}

static void test_imds_region(void **state)
{
	const struct exch script[] = {
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 200, "t" },
		{ "GET", "http://127.0.0.1:9/latest/meta-data/placement/region",
		  200, "eu-north-1" },
		{ "PUT", "http://127.0.0.1:9/latest/api/token", 0, NULL },
		{ "GET", "http://127.0.0.1:9/latest/meta-data/placement/region",
		  0, NULL },
	};
	struct fixture fx;
	struct util_err err = UTIL_ERR_INIT;
	char *region = NULL;

	(void)state;
	fx_init(&fx, script, 4);
	fx_files(&fx,
		 "[default]\nec2_metadata_service_endpoint = "
		 "http://127.0.0.1:9\n",
		 "", "default");
	assert_int_equal(awsp_imds_region(&fx.cfg, &region, &err), 0);
	assert_string_equal(region, "eu-north-1");
	free(region);
	region = NULL;
	assert_int_equal(awsp_imds_region(&fx.cfg, &region, &err),
			 UTIL_ENOTFOUND);
	assert_null(region);
	fx_setenv(&fx, "AWS_EC2_METADATA_DISABLED=true");
	assert_int_equal(awsp_imds_region(&fx.cfg, &region, &err),
			 UTIL_ENOTFOUND);
	assert_false(util_err_isset(&err));
	net_done(&fx.net);
	fx_release(&fx, NULL);
}

/* --- concurrency ----------------------------------------------------------- */

struct race {
	struct awsp_creds *c;
	const char *want;
	int failures;
	pthread_mutex_t lock;
};

static void race_get(void *ctx, size_t i)
{
	struct race *r = ctx;
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;

	(void)i;
	if (awsp_creds_get(r->c, &cr, &err) < 0 ||
	    strcmp(cr.access_key_id, r->want)) {
		pthread_mutex_lock(&r->lock);
		r->failures++;
		pthread_mutex_unlock(&r->lock);
	}
	awsp_credentials_release(&cr);
}

static void test_one_refresh_for_many_threads(void **state)
{
	char *ok1 = sts_ok("AssumeRole", "ASIAR1", "s1", "t1", T0 + 3600);
	char *ok2 = sts_ok("AssumeRole", "ASIAR2", "s2", "t2", T0 + 7200);
	char *ok3 = sts_ok("AssumeRole", "ASIAR3", "s3", "t3", T0 + 10800);
	const struct exch script[] = {
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok1 },
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok2 },
		{ "POST", "https://sts.eu-west-1.amazonaws.com/", 200, ok3 },
	};
	struct fixture fx;
	struct race r = { .failures = 0 };

	(void)state;
	fx_init(&fx, script, 3);
	fx.cfg.region = "eu-west-1";
	fx_files(&fx, ROLE_CONFIG, ROLE_CREDENTIALS, "dev");
	r.c = fx_creds(&fx);
	fx.net.delay_ms = 50;
	pthread_mutex_init(&r.lock, NULL);
	/* First use from 8 threads at once: one STS call. */
	r.want = "ASIAR1";
	util_parallel(64, 8, race_get, &r);
	assert_int_equal(r.failures, 0);
	assert_int_equal(fx.net.n_seen, 1);
	/* Mandatory window: everyone waits for the one refresh. */
	tclock_set(&fx.clock, T0 + 3600 - 300);
	r.want = "ASIAR2";
	util_parallel(64, 8, race_get, &r);
	assert_int_equal(r.failures, 0);
	assert_int_equal(fx.net.n_seen, 2);
	/* Advisory window: at most one refresh, nobody fails. */
	tclock_set(&fx.clock, T0 + 7200 - 800);
	r.want = "ASIAR3";
	util_parallel(64, 8, race_get, &r);
	assert_int_equal(fx.net.n_seen, 3);
	/* Threads that did not wait may have seen ASIAR2 (still valid). */
	assert_true(r.failures < 64);
	awsp_creds_free(r.c);
	pthread_mutex_destroy(&r.lock);
	net_done(&fx.net);
	fx_release(&fx, NULL);
	free(ok1);
	free(ok2);
	free(ok3);
}

static void test_sts_parse(void **state)
{
	struct awsp_credentials cr = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	static const char doctype[] =
		"<!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>";
	static const char incomplete[] =
		"<AssumeRoleResponse><AssumeRoleResult><Credentials>"
		"<AccessKeyId>A</AccessKeyId></Credentials></AssumeRoleResult>"
		"</AssumeRoleResponse>";

	(void)state;
	assert_int_equal(awsp_credsrc_parse_sts(200, doctype,
						sizeof(doctype) - 1, NULL, &cr,
						&err),
			 UTIL_EAWS);
	util_err_clear(&err);
	assert_int_equal(awsp_credsrc_parse_sts(200, incomplete,
						sizeof(incomplete) - 1, NULL,
						&cr, &err),
			 UTIL_EAWS);
	util_err_clear(&err);
	/* An error body we cannot read still gives the status. */
	assert_int_equal(awsp_credsrc_parse_sts(503, "oops", 4, "hdr-rid", &cr,
						&err),
			 UTIL_EAWS);
	assert_int_equal(err.http_status, 503);
	assert_string_equal(err.request_id, "hdr-rid");
	assert_true(err.flags & UTIL_ERR_RETRYABLE);
	util_err_clear(&err);
	assert_int_equal(awsp_credsrc_parse_sts(400, STS_ERROR,
						sizeof(STS_ERROR) - 1, NULL,
						&cr, &err),
			 UTIL_EAWS);
	assert_false(err.flags & UTIL_ERR_RETRYABLE);
	assert_string_equal(err.msg, "token rejected");
	assert_null(cr.access_key_id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_env_partial_is_an_error),
		cmocka_unit_test(test_env_expiring_refresh),
		cmocka_unit_test(test_nothing_anywhere),
		cmocka_unit_test(test_web_identity_and_refresh),
		cmocka_unit_test(test_web_identity_errors),
		cmocka_unit_test(test_assume_role_source_profile),
		cmocka_unit_test(test_assume_role_misconfigured),
		cmocka_unit_test(test_assume_role_credential_source_env),
		cmocka_unit_test(test_static_profiles),
		cmocka_unit_test(test_credential_process),
		cmocka_unit_test(test_credential_process_inherits_no_fds),
		cmocka_unit_test(test_credential_process_refresh),
		cmocka_unit_test(test_container),
		cmocka_unit_test(test_container_full_uri_and_token),
		cmocka_unit_test(test_imds_v2_and_refresh),
		cmocka_unit_test(test_imds_fallbacks),
		cmocka_unit_test(test_imds_region),
		cmocka_unit_test(test_one_refresh_for_many_threads),
		cmocka_unit_test(test_sts_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
