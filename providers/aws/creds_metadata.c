#include "providers/aws/creds_internal.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "providers/aws/endpoint.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/file.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/banned.h"

/* botocore utils.py: IMDS and container metadata fetchers. */
#define IMDS_DEFAULT_BASE    "http://169.254.169.254"
#define IMDS_IPV6_BASE	     "http://[fd00:ec2::254]"
#define IMDS_TOKEN_TTL	     "21600"
#define IMDS_CREDS_PATH	     "/latest/meta-data/iam/security-credentials/"
#define CONTAINER_BASE	     "http://169.254.170.2"
#define CONTAINER_TIMEOUT_MS 2000
#define CONTAINER_ATTEMPTS   3
#define CONTAINER_SLEEP_MS   1000

/* --- JSON ------------------------------------------------------------- */

static void json_wipe(cJSON *j)
{
	for (; j; j = j->next) {
		if (j->valuestring)
			util_wipe(j->valuestring, strlen(j->valuestring));
		json_wipe(j->child);
	}
}

void awsp_credsrc_json_free(struct cJSON *j)
{
	json_wipe(j);
	cJSON_Delete(j);
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

int awsp_credsrc_parse_json(const char *json, size_t len, const char *what,
			    bool process_format, bool optional_expiry,
			    struct awsp_credentials *out, struct util_err *err)
{
	cJSON *j = cJSON_ParseWithLength(json, len);
	const char *akid, *secret, *token, *exp, *account;
	time_t t = 0;
	int r = -1;

	if (!cJSON_IsObject(j)) {
		r = util_err_set(err, UTIL_EINVAL, "%s: not a JSON object",
				 what);
		goto out;
	}
	if (process_format) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "Version");

		if (!cJSON_IsNumber(v) || v->valuedouble != 1) {
			r = util_err_set(err, UTIL_EINVAL,
					 "%s: unsupported Version (want 1)",
					 what);
			goto out;
		}
	}
	akid = jstr(j, "AccessKeyId");
	secret = jstr(j, "SecretAccessKey");
	token = jstr(j, process_format ? "SessionToken" : "Token");
	exp = jstr(j, "Expiration");
	account = jstr(j, "AccountId");
	if (!akid || !secret || (!process_format && !token) ||
	    (!optional_expiry && !exp)) {
		r = util_err_set(err, UTIL_EINVAL,
				 "%s: answer lacks AccessKeyId, "
				 "SecretAccessKey, %s or Expiration",
				 what,
				 process_format ? "SessionToken" : "Token");
		goto out;
	}
	if (exp && util_time_parse_iso8601(exp, &t) < 0) {
		r = util_err_set(err, UTIL_EINVAL,
				 "%s: malformed Expiration '%s'", what, exp);
		goto out;
	}
	out->access_key_id = util_xstrdup(akid);
	out->secret_access_key = util_xstrdup(secret);
	out->session_token = util_xstrdup_or_null(token);
	out->expiration = t;
	out->account_id = util_xstrdup_or_null(account);
	r = 0;
out:
	awsp_credsrc_json_free(j);
	return r;
}

/* --- shared ----------------------------------------------------------- */

/* An environment variable, else the profile's key (botocore's chain). */
static const char *setting(const struct awsp_creds_config *cfg,
			   const char *env_name, const char *profile_key)
{
	const char *v = awsp_getenv_nonempty(cfg->env, env_name);

	if (!v && profile_key && cfg->config)
		v = awsp_profile_get(cfg->config, NULL, profile_key);
	return v && *v ? v : NULL;
}

static void strip_slashes(char *s)
{
	size_t n = strlen(s);

	while (n && s[n - 1] == '/')
		s[--n] = '\0';
}

struct get {
	const struct awsp_creds_config *cfg;
	const char *method;
	const char *url;
	const struct awsp_header *headers;
	size_t n_headers;
	long timeout_ms;
};

/* One exchange; the answer's body is wiped when released. */
static int get_once(const struct get *g, struct awsp_http_response *resp,
		    struct util_err *err)
{
	struct awsp_http_request req = {
		.method = g->method,
		.url = g->url,
		.headers = g->headers,
		.n_headers = g->n_headers,
		.timeout_ms = g->timeout_ms,
		.connect_timeout_ms = g->timeout_ms,
		.sensitive_body = true,
	};

	return awsp_transport_send(g->cfg->transport, &req, resp, err);
}

static void release_resp(struct awsp_http_response *resp)
{
	util_wipe(resp->body.buf, resp->body.len);
	awsp_http_response_release(resp);
	*resp = (struct awsp_http_response)AWSP_HTTP_RESPONSE_INIT;
}

/* --- IMDS ------------------------------------------------------------- */

struct imds {
	const struct awsp_creds_config *cfg;
	char *base;
	long timeout_ms;
	int attempts;
	bool v1_disabled;
	char *token; /* NULL: IMDSv1 */
};

static void imds_release(struct imds *m)
{
	free(m->base);
	util_free_secret(m->token);
}

static int imds_setup(const struct awsp_creds_config *cfg, struct imds *m,
		      struct buf *why, struct util_err *err)
{
	const char *v;
	int n;

	memset(m, 0, sizeof(*m));
	m->cfg = cfg;
	if (awsp_env_true(cfg->env, "AWS_EC2_METADATA_DISABLED")) {
		buf_addstr(why, "disabled by AWS_EC2_METADATA_DISABLED");
		return UTIL_ENOTFOUND;
	}
	v = setting(cfg, "AWS_EC2_METADATA_SERVICE_ENDPOINT",
		    "ec2_metadata_service_endpoint");
	if (v) {
		if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
			return util_err_set(err, UTIL_EINVAL,
					    "invalid instance metadata "
					    "endpoint '%s'",
					    v);
		m->base = util_xstrdup(v);
	} else {
		v = setting(cfg, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
			    "ec2_metadata_service_endpoint_mode");
		m->base = util_xstrdup(v && !strcasecmp(v, "ipv6")
					       ? IMDS_IPV6_BASE
					       : IMDS_DEFAULT_BASE);
	}
	strip_slashes(m->base);
	m->timeout_ms = 1000;
	v = setting(cfg, "AWS_METADATA_SERVICE_TIMEOUT",
		    "metadata_service_timeout");
	if (v) {
		if (util_parse_int(v, 1, 3600, &n, err) < 0) {
			util_err_prefix(err, "metadata_service_timeout");
			return UTIL_EINVAL;
		}
		m->timeout_ms = n * 1000L;
	}
	m->attempts = 1;
	v = setting(cfg, "AWS_METADATA_SERVICE_NUM_ATTEMPTS",
		    "metadata_service_num_attempts");
	if (v && util_parse_int(v, 1, 100, &m->attempts, err) < 0) {
		util_err_prefix(err, "metadata_service_num_attempts");
		return UTIL_EINVAL;
	}
	v = setting(cfg, "AWS_EC2_METADATA_V1_DISABLED",
		    "ec2_metadata_v1_disabled");
	m->v1_disabled = v && !strcasecmp(v, "true");
	return 0;
}

/*
 * PUT /latest/api/token, as botocore's _fetch_metadata_token: 200 gives
 * the token; 403/404/405, a timeout or no answer after every attempt
 * mean IMDSv1 (no token); 400 is an error.
 */
static int imds_fetch_token(struct imds *m, struct buf *why,
			    struct util_err *err)
{
	char *url = util_xasprintf("%s/latest/api/token", m->base);
	const struct awsp_header h[] = {
		{ "x-aws-ec2-metadata-token-ttl-seconds", IMDS_TOKEN_TTL },
	};
	struct get g = { m->cfg, "PUT", url, h, 1, m->timeout_ms };
	int r = 0;

	for (int i = 0; i < m->attempts; i++) {
		struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
		struct util_err e = UTIL_ERR_INIT;

		if (get_once(&g, &resp, &e) < 0) {
			release_resp(&resp);
			continue;
		}
		if (resp.status == 200 && resp.body.len) {
			m->token = util_xstrndup(resp.body.buf, resp.body.len);
			release_resp(&resp);
			break;
		}
		if (resp.status == 400) {
			buf_addstr(why, "token request rejected (HTTP 400)");
			release_resp(&resp);
			r = UTIL_ENOTFOUND;
			break;
		}
		if (resp.status == 403 || resp.status == 404 ||
		    resp.status == 405) {
			release_resp(&resp);
			break;
		}
		release_resp(&resp);
	}
	if (!r && !m->token && m->v1_disabled) {
		buf_addstr(why, "no IMDSv2 token and IMDSv1 is disabled");
		r = UTIL_ENOTFOUND;
	}
	free(url);
	(void)err;
	return r;
}

/*
 * GET path, retried like botocore's _get_request: a transport failure, a
 * non-200 status or an empty body is retried; after the last attempt the
 * reason goes to why and the result is UTIL_ENOTFOUND.
 */
static int imds_get(struct imds *m, const char *path, const char *what,
		    struct awsp_http_response *ret, struct buf *why)
{
	char *url = util_xasprintf("%s%s", m->base, path);
	struct awsp_header h[1];
	struct get g = { m->cfg, "GET", url, h, 0, m->timeout_ms };
	struct buf last = BUF_INIT;
	int r = UTIL_ENOTFOUND;

	if (m->token) {
		h[0] = (struct awsp_header){ "x-aws-ec2-metadata-token",
					     m->token };
		g.n_headers = 1;
	}
	for (int i = 0; i < m->attempts; i++) {
		struct util_err e = UTIL_ERR_INIT;

		buf_reset(&last);
		if (get_once(&g, ret, &e) < 0) {
			buf_addf(&last, "no answer from %s (%s)", m->base,
				 e.msg);
		} else if (ret->status != 200) {
			buf_addf(&last, "%s: HTTP %ld", what, ret->status);
		} else if (!ret->body.len) {
			buf_addf(&last, "%s: empty answer", what);
		} else {
			r = 0;
			break;
		}
		release_resp(ret);
	}
	if (r < 0)
		buf_add(why, last.buf, last.len);
	buf_release(&last);
	free(url);
	return r;
}

/* A random 2..10 minutes, as botocore's jitter (not for security). */
static long jitter_s(const struct awsp_creds_config *cfg)
{
	uint64_t x = cfg->clock->mono_ms(cfg->clock->ctx) *
			     0x9e3779b97f4a7c15u ^
		     (uint64_t)cfg->clock->wall(cfg->clock->ctx);

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 29;
	return 120 + (long)(x % 481);
}

/*
 * botocore's _evaluate_expiration: credentials that expire within the
 * refresh window (IMDS serving stale keys during an outage) are treated
 * as valid a little longer, so the caller does not hammer IMDS; AWS
 * decides whether they still work.
 */
static void extend_expiring(const struct awsp_creds_config *cfg,
			    struct awsp_credentials *out)
{
	time_t now = cfg->clock->wall(cfg->clock->ctx);
	long offset = 600 + jitter_s(cfg);

	if (out->expiration && now >= out->expiration - offset) {
		out->expiration = now + offset;
		util_log(UTIL_LOG_WARN, "credentials_extended", NULL,
			 "instance metadata credentials expire soon or "
			 "have expired; using them for %ld more "
			 "seconds",
			 offset);
	}
}

int awsp_credsrc_imds(const struct awsp_creds_config *cfg,
		      struct awsp_credentials *out, struct buf *why,
		      struct util_err *err)
{
	struct imds m;
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	char *role = NULL, *path = NULL;
	cJSON *j = NULL;
	const char *code;
	int r;

	r = imds_setup(cfg, &m, why, err);
	if (r < 0)
		goto out;
	r = imds_fetch_token(&m, why, err);
	if (r < 0)
		goto out;
	r = imds_get(&m, IMDS_CREDS_PATH, "instance role", &resp, why);
	if (r < 0)
		goto out;
	/* The first line names the role. */
	role = util_xstrndup(resp.body.buf, strcspn(resp.body.buf, "\r\n \t"));
	release_resp(&resp);
	if (!*role || strchr(role, '/')) {
		buf_addstr(why, "no usable instance role name");
		r = UTIL_ENOTFOUND;
		goto out;
	}
	path = util_xasprintf(IMDS_CREDS_PATH "%s", role);
	r = imds_get(&m, path, "role credentials", &resp, why);
	if (r < 0)
		goto out;
	/*
	 * A 200 with Code/Message but no keys (e.g. the role does not trust
	 * EC2) means "no credentials", not an error.
	 */
	j = cJSON_ParseWithLength(resp.body.buf, resp.body.len);
	code = j ? jstr(j, "Code") : NULL;
	if (code && strcmp(code, "Success") && !jstr(j, "AccessKeyId")) {
		buf_addf(why, "role '%s': %s", role, code);
		r = UTIL_ENOTFOUND;
		goto out;
	}
	r = awsp_credsrc_parse_json(resp.body.buf, resp.body.len,
				    "instance metadata credentials", false,
				    false, out, err);
	if (r < 0)
		goto out;
	extend_expiring(cfg, out);
out:
	awsp_credsrc_json_free(j);
	release_resp(&resp);
	imds_release(&m);
	free(role);
	free(path);
	return r;
}

int awsp_imds_region(const struct awsp_creds_config *cfg, char **ret_region,
		     struct util_err *err)
{
	struct imds m;
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	struct buf why = BUF_INIT;
	struct util_err e = UTIL_ERR_INIT;
	char *region = NULL;
	int r;

	r = imds_setup(cfg, &m, &why, &e);
	if (r == 0)
		r = imds_fetch_token(&m, &why, &e);
	if (r == 0)
		r = imds_get(&m, "/latest/meta-data/placement/region", "region",
			     &resp, &why);
	if (r == 0) {
		region = util_xstrndup(resp.body.buf,
				       strcspn(resp.body.buf, "\r\n \t"));
		if (!awsp_region_valid(region))
			r = util_err_set(err, UTIL_EINVAL,
					 "instance metadata names an invalid "
					 "region '%s'",
					 region);
	} else if (r == UTIL_ENOTFOUND) {
		util_log(UTIL_LOG_DEBUG, "imds_region", NULL,
			 "no region from instance metadata: %s", why.buf);
	} else {
		/* Misconfigured (a bad endpoint or timeout setting). */
		util_err_copy(err, &e);
	}
	if (r == 0) {
		*ret_region = region;
		region = NULL;
	}
	free(region);
	release_resp(&resp);
	imds_release(&m);
	buf_release(&why);
	return r;
}

/* --- container -------------------------------------------------------- */

/* botocore's ContainerMetadataFetcher._check_if_whitelisted_host. */
static bool container_host_allowed(const char *url)
{
	struct buf host = BUF_INIT;
	struct util_err e = UTIL_ERR_INIT;
	const char *h;
	size_t n;
	bool ok = false;

	if (!strncasecmp(url, "https://", 8))
		return true;
	if (strncasecmp(url, "http://", 7) ||
	    awsp_url_authority(url, &host, &e))
		goto out;
	h = host.buf;
	n = host.len;
	/* Drop the port: "[v6]:p" or "v4:p". */
	if (*h == '[') {
		const char *close = strchr(h, ']');

		if (!close)
			goto out;
		h++;
		n = (size_t)(close - h);
	} else if (strchr(h, ':')) {
		n = (size_t)(strchr(h, ':') - h);
	}
	if ((n == 9 && !strncasecmp(h, "localhost", 9)) ||
	    (n == 13 && !strncmp(h, "169.254.170.2", 13)) ||
	    (n == 14 && !strncmp(h, "169.254.170.23", 14)) ||
	    (n == 12 && !strncasecmp(h, "fd00:ec2::23", 12)) ||
	    (n == 3 && !strncmp(h, "::1", 3))) {
		ok = true;
	} else if (n > 4 && !strncmp(h, "127.", 4)) {
		/* 127.0.0.0/8: four dotted numbers. */
		int dots = 0;

		ok = true;
		for (size_t i = 0; i < n; i++) {
			if (h[i] == '.')
				dots++;
			else if (h[i] < '0' || h[i] > '9')
				ok = false;
		}
		ok = ok && dots == 3;
	}
out:
	buf_release(&host);
	return ok;
}

int awsp_credsrc_read_token_file(const char *path, const char *what,
				 struct buf *out, struct util_err *err)
{
	struct util_read_fail f;
	int r;

	buf_init(out, AWSP_CREDSRC_TOKEN_MAX);
	r = util_read_file(path, AWSP_CREDSRC_TOKEN_MAX, out, &f, NULL);
	if (r == UTIL_ELIMIT)
		return util_err_set(err, r, "%s'%s' is larger than %u bytes",
				    what, path, AWSP_CREDSRC_TOKEN_MAX);
	if (r < 0)
		return util_err_set(err, UTIL_EIO, "cannot %s %s'%s': %s",
				    f.opened ? "read" : "open", what, path,
				    strerror(f.errnum));
	return 0;
}

/* Where to ask: the relative URI under the ECS base, or an allowed full one. */
static int container_url(const char *rel, const char *full, char **ret,
			 struct util_err *err)
{
	if (rel) {
		*ret = util_xasprintf("%s%s%s", CONTAINER_BASE,
				      *rel == '/' ? "" : "/", rel);
		return 0;
	}
	if (!container_host_allowed(full))
		return util_err_set(err, UTIL_EINVAL,
				    "AWS_CONTAINER_CREDENTIALS_FULL_URI "
				    "'%s' must be https or a loopback or "
				    "container metadata address",
				    full);
	*ret = util_xstrdup(full);
	return 0;
}

/* The authorization token, from its file or else the environment. */
static int container_token(const char *token_file, const char *token_env,
			   struct buf *token, struct util_err *err)
{
	int r;

	if (token_file) {
		r = awsp_credsrc_read_token_file(token_file, "", token, err);
		if (r < 0) {
			util_err_prefix(err, "container authorization token");
			return r;
		}
	} else if (token_env) {
		buf_addstr(token, token_env);
	}
	/* botocore: a header value may not break the line. */
	if (memchr(token->buf, '\r', token->len) ||
	    memchr(token->buf, '\n', token->len) ||
	    memchr(token->buf, '\0', token->len))
		return util_err_set(err, UTIL_EINVAL,
				    "container authorization token "
				    "contains a line break");
	return 0;
}

/* The GET, a few times; the error names the last attempt's failure. */
static int container_fetch(const struct get *g, struct awsp_credentials *out,
			   struct util_err *err)
{
	const struct util_clock *clock = g->cfg->clock;
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	struct buf last = BUF_INIT;
	int r = UTIL_ETRANSPORT;

	for (int i = 0; i < CONTAINER_ATTEMPTS; i++) {
		struct util_err e = UTIL_ERR_INIT;

		if (i)
			clock->sleep_ms(clock->ctx, CONTAINER_SLEEP_MS);
		buf_reset(&last);
		if (get_once(g, &resp, &e) < 0) {
			buf_addstr(&last, e.msg);
		} else if (resp.status != 200) {
			buf_addf(&last, "HTTP %ld", resp.status);
			r = UTIL_EAWS;
		} else {
			e = (struct util_err)UTIL_ERR_INIT;
			r = awsp_credsrc_parse_json(resp.body.buf,
						    resp.body.len,
						    "container credentials",
						    false, false, out, &e);
			if (r == 0)
				break;
			buf_addstr(&last, e.msg);
		}
		release_resp(&resp);
	}
	if (r < 0) {
		/* The path may identify the task: name only the host. */
		struct buf host = BUF_INIT;

		awsp_url_authority(g->url, &host, NULL);
		r = util_err_set(err, r, "container credentials from %s: %s",
				 host.buf, last.buf);
		buf_release(&host);
	}
	release_resp(&resp);
	buf_release(&last);
	return r;
}

int awsp_credsrc_container(const struct awsp_creds_config *cfg,
			   struct awsp_credentials *out, struct buf *why,
			   struct util_err *err)
{
	const char *rel =
		awsp_getenv_nonempty(cfg->env,
				     "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
	const char *full =
		awsp_getenv_nonempty(cfg->env,
				     "AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *token_file =
		awsp_getenv_nonempty(cfg->env,
				     "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
	const char *token_env =
		awsp_getenv(cfg->env, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
	struct buf token = BUF_INIT;
	struct awsp_header h[2];
	size_t nh = 0;
	char *url = NULL;
	struct get g;
	int r;

	if (!rel && !full) {
		buf_addstr(why, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and "
				"AWS_CONTAINER_CREDENTIALS_FULL_URI not set");
		return UTIL_ENOTFOUND;
	}
	r = container_url(rel, full, &url, err);
	if (r < 0)
		goto out;
	h[nh++] = (struct awsp_header){ "Accept", "application/json" };
	if (token_file || token_env) {
		r = container_token(token_file, token_env, &token, err);
		if (r < 0)
			goto out;
		h[nh++] = (struct awsp_header){ "Authorization", token.buf };
	}
	g = (struct get){ cfg, "GET", url, h, nh, CONTAINER_TIMEOUT_MS };
	r = container_fetch(&g, out, err);
out:
	util_wipe(token.buf, token.len);
	buf_release(&token);
	free(url);
	return r;
}
