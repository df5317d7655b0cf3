#include "providers/aws/creds_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <expat.h>

#include "providers/aws/endpoint.h"
#include "providers/aws/query.h"
#include "providers/aws/sigv4.h"
#include "util/alloc.h"
#include "util/clock.h"
#include "util/banned.h"

#define STS_MAX_TEXT (64u << 10)
#define CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"

/* --- the response ----------------------------------------------------- */

enum sts_field {
	F_NONE = 0,
	F_AKID,
	F_SECRET,
	F_TOKEN,
	F_EXPIRATION,
	F_ARN,
	F_CODE,
	F_MESSAGE,
	F_REQUEST_ID,
	F_COUNT,
};

struct sts_parse {
	XML_Parser p;
	unsigned depth;
	/* Depth at which <Credentials> / <AssumedRoleUser> / <Error> opened. */
	unsigned in_creds, in_user, in_error;
	enum sts_field cur;
	struct buf text[F_COUNT];
	bool bad; /* a DOCTYPE, or a field over the size cap */
};

/* Namespaces are not expanded: match the local name after any prefix. */
static const char *local_name(const char *name)
{
	const char *c = strrchr(name, ':');

	return c ? c + 1 : name;
}

static void XMLCALL on_start(void *ud, const XML_Char *name,
			     const XML_Char **attrs)
{
	struct sts_parse *sp = ud;
	const char *n = local_name(name);

	(void)attrs;
	sp->depth++;
	sp->cur = F_NONE;
	if (!strcmp(n, "Credentials") && !sp->in_creds)
		sp->in_creds = sp->depth;
	else if (!strcmp(n, "AssumedRoleUser") && !sp->in_user)
		sp->in_user = sp->depth;
	else if (!strcmp(n, "Error") && !sp->in_error)
		sp->in_error = sp->depth;
	else if (sp->in_creds && sp->depth == sp->in_creds + 1) {
		if (!strcmp(n, "AccessKeyId"))
			sp->cur = F_AKID;
		else if (!strcmp(n, "SecretAccessKey"))
			sp->cur = F_SECRET;
		else if (!strcmp(n, "SessionToken"))
			sp->cur = F_TOKEN;
		else if (!strcmp(n, "Expiration"))
			sp->cur = F_EXPIRATION;
	} else if (sp->in_user && sp->depth == sp->in_user + 1 &&
		   !strcmp(n, "Arn")) {
		sp->cur = F_ARN;
	} else if (sp->in_error && sp->depth == sp->in_error + 1) {
		if (!strcmp(n, "Code"))
			sp->cur = F_CODE;
		else if (!strcmp(n, "Message"))
			sp->cur = F_MESSAGE;
	} else if (!strcmp(n, "RequestId")) {
		sp->cur = F_REQUEST_ID;
	}
	if (sp->cur != F_NONE)
		buf_reset(&sp->text[sp->cur]);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct sts_parse *sp = ud;

	(void)name;
	if (sp->in_creds == sp->depth)
		sp->in_creds = 0;
	if (sp->in_user == sp->depth)
		sp->in_user = 0;
	if (sp->in_error == sp->depth)
		sp->in_error = 0;
	sp->depth--;
	sp->cur = F_NONE;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct sts_parse *sp = ud;

	if (sp->cur != F_NONE && len > 0 &&
	    buf_add(&sp->text[sp->cur], s, (size_t)len) < 0) {
		sp->bad = true;
		XML_StopParser(sp->p, XML_FALSE);
	}
}

/* No DTDs: nothing in an STS answer needs one, and they carry entities. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name,
			       const XML_Char *sysid, const XML_Char *pubid,
			       int has_internal_subset)
{
	struct sts_parse *sp = ud;

	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	sp->bad = true;
	XML_StopParser(sp->p, XML_FALSE);
}

static void *xml_malloc(size_t n)
{
	return util_xmalloc(n);
}

static void *xml_realloc(void *p, size_t n)
{
	return util_xrealloc(p, n);
}

static const XML_Memory_Handling_Suite xml_mm = {
	.malloc_fcn = xml_malloc,
	.realloc_fcn = xml_realloc,
	.free_fcn = free,
};

static char *take(struct buf *b)
{
	return b->len ? util_xstrndup(b->buf, b->len) : NULL;
}

/* "arn:aws:sts::123456789012:assumed-role/r/s" -> "123456789012". */
static char *arn_account(const char *arn)
{
	const char *p = arn;

	for (int i = 0; i < 4 && p; i++) {
		p = strchr(p, ':');
		if (p)
			p++;
	}
	if (!p || !strchr(p, ':') || *p == ':')
		return NULL;
	return util_xstrndup(p, (size_t)(strchr(p, ':') - p));
}

/* Owns the STS answer: an AWS error (retryable where botocore retries), or
 * complete credentials with their expiration; every text is wiped. */
int awsp_credsrc_parse_sts(long status, const char *body, size_t len,
			   const char *request_id, struct awsp_credentials *out,
			   struct util_err *err)
{
	struct sts_parse sp;
	bool ok;
	int r = -1;

	memset(&sp, 0, sizeof(sp));
	for (int i = 0; i < F_COUNT; i++)
		buf_init(&sp.text[i], STS_MAX_TEXT);
	sp.p = XML_ParserCreate_MM(NULL, &xml_mm, NULL);
	if (!sp.p)
		abort(); /* only on OOM, which util_xmalloc already aborts */
	XML_SetUserData(sp.p, &sp);
	XML_SetElementHandler(sp.p, on_start, on_end);
	XML_SetCharacterDataHandler(sp.p, on_text);
	XML_SetStartDoctypeDeclHandler(sp.p, on_doctype);
	ok = len <= (size_t)INT32_MAX &&
	     XML_Parse(sp.p, body, (int)len, XML_TRUE) == XML_STATUS_OK &&
	     !sp.bad;

	if (status != 200) {
		const char *rid = sp.text[F_REQUEST_ID].len
					  ? sp.text[F_REQUEST_ID].buf
					  : request_id;
		const char *code = ok && sp.text[F_CODE].len
					   ? sp.text[F_CODE].buf
					   : NULL;
		const char *msg = ok && sp.text[F_MESSAGE].len
					  ? sp.text[F_MESSAGE].buf
					  : NULL;
		/* botocore's special case: the IdP may answer next time. */
		unsigned flags =
			status >= 500 || status == 429 ||
					(code &&
					 !strcmp(code, "IDPCommunicationError"))
				? UTIL_ERR_RETRYABLE
				: 0;

		r = util_err_set_aws(err, status, code, msg, rid, flags);
		goto out;
	}
	if (!ok) {
		r = util_err_set(err, UTIL_EAWS,
				 "malformed STS response (HTTP 200)");
		goto out;
	}
	if (!sp.text[F_AKID].len || !sp.text[F_SECRET].len ||
	    !sp.text[F_TOKEN].len || !sp.text[F_EXPIRATION].len) {
		r = util_err_set(err, UTIL_EAWS,
				 "STS response without complete credentials");
		goto out;
	}
	if (util_time_parse_iso8601(sp.text[F_EXPIRATION].buf,
				    &out->expiration) < 0) {
		r = util_err_set(err, UTIL_EAWS,
				 "STS credentials with a malformed expiration "
				 "'%s'",
				 sp.text[F_EXPIRATION].buf);
		goto out;
	}
	out->access_key_id = take(&sp.text[F_AKID]);
	out->secret_access_key = take(&sp.text[F_SECRET]);
	out->session_token = take(&sp.text[F_TOKEN]);
	out->account_id = sp.text[F_ARN].len ? arn_account(sp.text[F_ARN].buf)
					     : NULL;
	r = 0;
out:
	for (int i = 0; i < F_COUNT; i++) {
		util_wipe(sp.text[i].buf, sp.text[i].len);
		buf_release(&sp.text[i]);
	}
	XML_ParserFree(sp.p);
	return r;
}

/* --- the calls -------------------------------------------------------- */

void awsp_credsrc_session_name(const struct awsp_creds_config *cfg,
			       char out[48])
{
	time_t now = cfg->clock->wall(cfg->clock->ctx);

	if (snprintf(out, 48, "moor-session-%lld", (long long)now) >= 48)
		out[47] = '\0';
}

/*
 * POST body to STS.  With source credentials the request is signed
 * (AssumeRole); without, it goes unsigned (AssumeRoleWithWebIdentity is
 * smithy.api#noAuth).  The body and the answer carry secrets: both are
 * marked sensitive and wiped.
 */
static int sts_call(const struct awsp_creds_config *cfg,
		    const struct awsp_credentials *source,
		    const struct awsp_query *q, const char *action,
		    struct awsp_credentials *out, struct util_err *err)
{
	const char *region = cfg->region ? cfg->region : "us-east-1";
	const char *src = NULL;
	char *base = NULL, *url = NULL;
	struct buf host = BUF_INIT, authz = BUF_INIT;
	struct awsp_header h[5];
	size_t nh = 0;
	char amz_date[17];
	struct awsp_http_request req;
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	struct awsp_signer *signer = NULL;
	int r;

	r = awsp_endpoint_resolve(AWSP_SVC_STS, cfg->region, cfg->env,
				  cfg->config, &base, &src, err);
	if (r < 0)
		goto out;
	url = util_xasprintf("%s/", base);
	r = awsp_url_authority(url, &host, err);
	if (r < 0)
		goto out;
	h[nh++] = (struct awsp_header){ "Host", host.buf };
	h[nh++] = (struct awsp_header){ "Content-Type", CONTENT_TYPE };
	if (source) {
		struct awsp_sigv4_request sreq;

		awsp_sigv4_amz_date(cfg->clock->wall(cfg->clock->ctx),
				    amz_date);
		h[nh++] = (struct awsp_header){ "X-Amz-Date", amz_date };
		if (source->session_token)
			h[nh++] = (struct awsp_header){ "X-Amz-Security-Token",
							source->session_token };
		sreq = (struct awsp_sigv4_request){
			.method = "POST",
			.path = "/",
			.headers = h,
			.n_headers = nh,
			.body = q->body.buf,
			.body_len = q->body.len,
			.normalize_path = true,
		};
		signer = awsp_signer_new();
		r = awsp_signer_sign(signer, &sreq, source->access_key_id,
				     source->secret_access_key, region, "sts",
				     amz_date, &authz, err);
		if (r < 0)
			goto out;
		h[nh++] = (struct awsp_header){ "Authorization", authz.buf };
	}
	req = (struct awsp_http_request){
		.method = "POST",
		.url = url,
		.headers = h,
		.n_headers = nh,
		.body = q->body.buf,
		.body_len = q->body.len,
		.sensitive_body = true,
	};
	r = awsp_transport_send(cfg->transport, &req, &resp, err);
	if (r < 0)
		goto out;
	r = awsp_credsrc_parse_sts(resp.status, resp.body.buf, resp.body.len,
				   resp.request_id, out, err);
out:
	if (r < 0)
		util_err_prefix(err, "sts %s at %s", action, url ? url : "?");
	util_wipe(resp.body.buf, resp.body.len);
	awsp_http_response_release(&resp);
	awsp_signer_free(signer);
	buf_release(&host);
	buf_release(&authz);
	free(base);
	free(url);
	return r;
}

int awsp_credsrc_assume_role(const struct awsp_creds_config *cfg,
			     const struct awsp_credentials *source,
			     const struct awsp_credsrc_role *role,
			     struct awsp_credentials *out, struct util_err *err)
{
	struct awsp_query q;
	char session[48];
	int r;

	if (!role->session_name)
		awsp_credsrc_session_name(cfg, session);
	awsp_query_init(&q, "AssumeRole", "2011-06-15");
	awsp_query_add(&q, "RoleArn", role->role_arn);
	awsp_query_add(&q, "RoleSessionName",
		       role->session_name ? role->session_name : session);
	if (role->external_id)
		awsp_query_add(&q, "ExternalId", role->external_id);
	if (role->duration_seconds)
		awsp_query_add_int(&q, "DurationSeconds",
				   role->duration_seconds);
	r = sts_call(cfg, source, &q, "AssumeRole", out, err);
	awsp_query_release(&q);
	return r;
}

int awsp_credsrc_web_identity(const struct awsp_creds_config *cfg,
			      const char *token_file, const char *role_arn,
			      const char *session_name,
			      struct awsp_credentials *out,
			      struct util_err *err)
{
	struct awsp_query q;
	struct buf token = BUF_INIT;
	char session[48];
	int r;

	/* The whole file, as botocore's FileWebIdentityTokenLoader reads it. */
	r = awsp_credsrc_read_token_file(token_file, "web identity token file ",
					 &token, err);
	if (r == 0 && !token.len)
		r = util_err_set(err, UTIL_EINVAL,
				 "web identity token file '%s' is empty",
				 token_file);
	if (r < 0)
		goto out;
	if (!session_name) {
		awsp_credsrc_session_name(cfg, session);
		session_name = session;
	}
	awsp_query_init(&q, "AssumeRoleWithWebIdentity", "2011-06-15");
	awsp_query_add(&q, "RoleArn", role_arn);
	awsp_query_add(&q, "RoleSessionName", session_name);
	awsp_query_add(&q, "WebIdentityToken", token.buf);
	r = sts_call(cfg, NULL, &q, "AssumeRoleWithWebIdentity", out, err);
	util_wipe(q.body.buf, q.body.len);
	awsp_query_release(&q);
out:
	util_wipe(token.buf, token.len);
	buf_release(&token);
	return r;
}
