#include "tests/unit/support/creds_testutil.h"

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
#include <unistd.h>

#include "providers/aws/awsconfig.h"
#include "providers/aws/creds.h"
#include "providers/aws/env.h"
#include "providers/aws/http.h"
#include "providers/aws/sigv4.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/banned.h"

/* --- the clock ---------------------------------------------------------- */

/* The wall clock jumps to wall; the monotonic clock does not move. */
void tclock_set(struct fake_clock *fc, time_t wall)
{
	pthread_mutex_lock(&fc->lock);
	fc->wall = wall - (time_t)(fc->now_ms / 1000);
	pthread_mutex_unlock(&fc->lock);
}

/* --- a scripted transport -------------------------------------------- */

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
void net_done(struct fake_net *f)
{
	if (f->problem[0])
		fail_msg("%s", f->problem);
	if (f->next != f->n)
		fail_msg("only %zu of %zu scripted exchanges happened", f->next,
			 f->n);
}

/* Value of header name in a seen request, or NULL (static buffer). */
const char *seen_header(const struct seen *s, const char *name)
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

void fx_init(struct fixture *fx, const struct exch *script, size_t n)
{
	memset(fx, 0, sizeof(*fx));
	fake_clock_init(&fx->clock, 1000000, T0 - 1000);
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

void fx_setenv(struct fixture *fx, const char *assignment)
{
	size_t i = 0;

	while (fx->vars[i])
		i++;
	assert_true(i + 1 < ARRAY_SIZE(fx->vars));
	fx->vars[i] = assignment;
}

/* Shared files from text; the paths are for messages only. */
void fx_files(struct fixture *fx, const char *config, const char *credentials,
	      const char *profile)
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

char *fx_write(struct fixture *fx, const char *name, const char *text)
{
	char *path = util_xasprintf("%s/%s", fx->dir, name);
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	return path;
}

void fx_release(struct fixture *fx, const char *const *files)
{
	for (; files && *files; files++) {
		char *p = util_xasprintf("%s/%s", fx->dir, *files);

		unlink(p);
		free(p);
	}
	assert_int_equal(rmdir(fx->dir), 0);
	awsp_config_free(fx->config);
	net_release(&fx->net);
	fake_clock_destroy(&fx->clock);
}

struct awsp_creds *fx_creds(struct fixture *fx)
{
	struct awsp_creds *c = NULL;
	struct util_err err = UTIL_ERR_INIT;

	assert_int_equal(awsp_creds_new(&fx->cfg, &c, &err), 0);
	return c;
}

/* Get and check the access key id; returns 0 or the error code. */
int get_akid(struct awsp_creds *c, const char *want, struct util_err *err)
{
	struct awsp_credentials cr = { 0 };
	int r = awsp_creds_get(c, &cr, err);

	if (r == 0 && want)
		assert_string_equal(cr.access_key_id, want);
	awsp_credentials_release(&cr);
	return r;
}

void no_secret(const struct util_err *err, const char *secret)
{
	struct buf b = BUF_INIT;

	util_err_format(err, &b);
	if (strstr(b.buf, secret))
		fail_msg("error '%s' quotes a secret", b.buf);
	buf_release(&b);
}

char *sts_ok(const char *action, const char *akid, const char *secret,
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

/* --- assume role --------------------------------------------------------- */

/* Re-sign a seen request with the given keys: the signature must match. */
void check_signed(const struct seen *s, const char *akid, const char *secret,
		  const char *region)
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

const char ROLE_CONFIG[] = "[profile dev]\n"
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

const char ROLE_CREDENTIALS[] = "[base]\n"
				"aws_access_key_id = AKIDBASE\n"
				"aws_secret_access_key = basesecret\n";
