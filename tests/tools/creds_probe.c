/*
 * creds_probe: resolve region and credentials through moor's chain with
 * the real transport, the way `moor` will, and report what was found --
 * never a secret.  Used by tests/integration/creds_chain.py against
 * tests/fakeaws.
 *
 *   creds_probe [--profile NAME] [--region R] [--gets N] [--no-verify]
 *
 * stdout, one line each:
 *   region=us-east-1 region_source=AWS_REGION    (or region=none)
 *   get=1 source=env access_key_id=AKIA... token=no expires=never account=-
 *   caller=arn:aws:iam::123456789012:user/moor-test
 * The caller line comes from sts:GetCallerIdentity signed with the
 * credentials (skipped with --no-verify), which proves the secret and
 * token work without showing them.  Every log event, down to debug, goes
 * to stderr.  Exit 1 on error, with "error: ..." on stderr.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/creds.h"
#include "providers/aws/endpoint.h"
#include "providers/aws/http.h"
#include "providers/aws/query.h"
#include "providers/aws/sigv4.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/banned.h"

static void log_sink(void *ctx, const struct util_log_event *ev)
{
	(void)ctx;
	fprintf(stderr, "log: %s %s%s%s: %s", util_log_level_name(ev->level),
		ev->event, ev->resource ? " " : "",
		ev->resource ? ev->resource : "", ev->msg);
	for (const char *const *f = ev->fields; f && f[0] && f[1]; f += 2)
		fprintf(stderr, " %s=%s", f[0], f[1]);
	fputc('\n', stderr);
}

static void die(const struct util_err *err)
{
	struct buf b = BUF_INIT;

	util_err_format(err, &b);
	fprintf(stderr, "error: %s\n", b.buf);
	buf_release(&b);
	exit(1);
}

/* sts:GetCallerIdentity with cr; prints the caller's ARN. */
static int verify(const struct awsp_transport *t, const struct awsp_env *env,
		  const struct awsp_config *config, const char *region,
		  const struct awsp_credentials *cr, struct util_err *err)
{
	struct awsp_query q;
	struct awsp_signer *signer = awsp_signer_new();
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	struct buf host = BUF_INIT, authz = BUF_INIT;
	struct awsp_header h[5];
	size_t nh = 0;
	char amz_date[17], *base = NULL, *url = NULL;
	const char *src, *arn, *end;
	struct awsp_sigv4_request sreq;
	struct awsp_http_request req;
	int r;

	awsp_query_init(&q, "GetCallerIdentity", "2011-06-15");
	r = awsp_endpoint_resolve(AWSP_SVC_STS, region, env, config, &base,
				  &src, err);
	if (r < 0)
		goto out;
	url = util_xasprintf("%s/", base);
	r = awsp_url_authority(url, &host, err);
	if (r < 0)
		goto out;
	awsp_sigv4_amz_date(util_clock_system.wall(NULL), amz_date);
	h[nh++] = (struct awsp_header){ "Host", host.buf };
	h[nh++] = (struct awsp_header){
		"Content-Type",
		"application/x-www-form-urlencoded; charset=utf-8"
	};
	h[nh++] = (struct awsp_header){ "X-Amz-Date", amz_date };
	if (cr->session_token)
		h[nh++] = (struct awsp_header){ "X-Amz-Security-Token",
						cr->session_token };
	sreq = (struct awsp_sigv4_request){
		.method = "POST",
		.path = "/",
		.headers = h,
		.n_headers = nh,
		.body = q.body.buf,
		.body_len = q.body.len,
		.normalize_path = true,
	};
	r = awsp_signer_sign(signer, &sreq, cr->access_key_id,
			     cr->secret_access_key,
			     region ? region : "us-east-1", "sts", amz_date,
			     &authz, err);
	if (r < 0)
		goto out;
	h[nh++] = (struct awsp_header){ "Authorization", authz.buf };
	req = (struct awsp_http_request){
		.method = "POST",
		.url = url,
		.headers = h,
		.n_headers = nh,
		.body = q.body.buf,
		.body_len = q.body.len,
	};
	r = awsp_transport_send(t, &req, &resp, err);
	if (r < 0)
		goto out;
	arn = strstr(resp.body.buf, "<Arn>");
	end = arn ? strstr(arn, "</Arn>") : NULL;
	if (resp.status != 200 || !end) {
		r = util_err_set(err, UTIL_EAWS,
				 "GetCallerIdentity: HTTP %ld: %.200s",
				 resp.status, resp.body.buf);
		goto out;
	}
	printf("caller=%.*s\n", (int)(end - arn - 5), arn + 5);
out:
	awsp_http_response_release(&resp);
	awsp_signer_free(signer);
	awsp_query_release(&q);
	buf_release(&host);
	buf_release(&authz);
	free(base);
	free(url);
	return r;
}

int main(int argc, char **argv)
{
	const char *profile = NULL, *cli_region = NULL, *src = NULL;
	int gets = 1;
	bool do_verify = true;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_config *config = NULL;
	struct awsp_http_config hc;
	struct awsp_http *http = NULL;
	struct awsp_transport t;
	struct awsp_creds_config cc;
	struct awsp_creds *creds = NULL;
	char *region = NULL;
	int r;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--profile") && i + 1 < argc) {
			profile = argv[++i];
		} else if (!strcmp(argv[i], "--region") && i + 1 < argc) {
			cli_region = argv[++i];
		} else if (!strcmp(argv[i], "--gets") && i + 1 < argc) {
			if (util_parse_int(argv[++i], 1, 100, &gets, &err) < 0)
				die(&err);
		} else if (!strcmp(argv[i], "--no-verify")) {
			do_verify = false;
		} else {
			fprintf(stderr, "usage: creds_probe [--profile NAME] "
					"[--region R] [--gets N] "
					"[--no-verify]\n");
			return 2;
		}
	}
	util_alloc_install_hooks();
	util_log_set_sink(log_sink, NULL, UTIL_LOG_DEBUG);

	if (awsp_config_load(&awsp_env_process, profile, &config, &err) < 0)
		die(&err);
	awsp_http_config_init(&hc);
	if (awsp_http_new(&hc, &http, &err) < 0)
		die(&err);
	t = awsp_http_transport(http);
	cc = (struct awsp_creds_config){
		.env = &awsp_env_process,
		.config = config,
		.transport = &t,
		.clock = &util_clock_system,
	};

	r = awsp_region_resolve(cli_region, NULL, &awsp_env_process, config,
				&region, &src, &err);
	if (r == UTIL_ENOTFOUND) {
		r = awsp_imds_region(&cc, &region, &err);
		src = "imds";
	}
	if (r == UTIL_ENOTFOUND)
		printf("region=none\n");
	else if (r < 0)
		die(&err);
	else
		printf("region=%s region_source=%s\n", region, src);
	fflush(stdout);
	cc.region = region;

	if (awsp_creds_new(&cc, &creds, &err) < 0)
		die(&err);
	for (int i = 1; i <= gets; i++) {
		struct awsp_credentials cr = { 0 };
		char when[32] = "never";

		if (awsp_creds_get(creds, &cr, &err) < 0)
			die(&err);
		if (cr.expiration)
			util_time_iso8601(cr.expiration, when, sizeof(when));
		printf("get=%d source=%s access_key_id=%s token=%s expires=%s "
		       "account=%s\n",
		       i, awsp_creds_source(creds), cr.access_key_id,
		       cr.session_token ? "yes" : "no", when,
		       cr.account_id ? cr.account_id : "-");
		fflush(stdout);
		if (do_verify && verify(&t, &awsp_env_process, config, region,
					&cr, &err) < 0)
			die(&err);
		fflush(stdout);
		awsp_credentials_release(&cr);
	}
	awsp_creds_free(creds);
	awsp_http_free(http);
	awsp_config_free(config);
	free(region);
	return 0;
}
