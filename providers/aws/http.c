#include "providers/aws/http.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "util/alloc.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/banned.h"

#ifndef MOOR_VERSION
#define MOOR_VERSION "dev"
#endif

/* --- responses --------------------------------------------------------- */

void awsp_http_response_release(struct awsp_http_response *r)
{
	if (!r)
		return;
	buf_release(&r->body);
	free(r->request_id);
	r->request_id = NULL;
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	free(r->headers);
	r->headers = NULL;
	r->n_headers = 0;
	r->status = 0;
	r->failure = AWSP_HTTP_OK;
}

const char *awsp_http_response_header(const struct awsp_http_response *r,
				      const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

void awsp_http_redact_url(const char *url, struct buf *out)
{
	const char *scheme_end = strstr(url, "://");
	const char *host = scheme_end ? scheme_end + 3 : url;
	const char *path = host + strcspn(host, "/?#");
	const char *at = memchr(host, '@', (size_t)(path - host));
	const char *query = path + strcspn(path, "?#");

	buf_add(out, url, (size_t)(host - url));
	if (at)
		host = at + 1;
	buf_add(out, host, (size_t)(query - host));
	if (*query)
		buf_addstr(out, "?<redacted>");
}

/* --- libcurl lifetime ------------------------------------------------- */

static pthread_mutex_t s_global_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned s_global_users;

static int global_acquire(struct util_err *err)
{
	int r = 0;

	pthread_mutex_lock(&s_global_lock);
	if (s_global_users == 0) {
		struct sigaction sa;

		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			r = util_err_set(err, UTIL_EFAIL,
					 "cannot initialise libcurl");
			goto out;
		}
		/*
		 * With CURLOPT_NOSIGNAL (required with threads) libcurl no
		 * longer shields sends from SIGPIPE; a server closing a
		 * kept-alive connection must not kill the daemon.  Leave a
		 * handler the program installed alone.
		 */
		if (sigaction(SIGPIPE, NULL, &sa) == 0 &&
		    sa.sa_handler == SIG_DFL) {
			sa.sa_handler = SIG_IGN;
			sigaction(SIGPIPE, &sa, NULL);
		}
	}
	s_global_users++;
out:
	pthread_mutex_unlock(&s_global_lock);
	return r;
}

static void global_release(void)
{
	pthread_mutex_lock(&s_global_lock);
	if (s_global_users && --s_global_users == 0)
		curl_global_cleanup();
	pthread_mutex_unlock(&s_global_lock);
}

/* --- the transport ---------------------------------------------------- */

struct awsp_http {
	struct awsp_http_config cfg; /* strings owned */
	char *ca_bundle;
	char *user_agent;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t lock; /* idle, stats */
	CURL **idle;
	size_t n_idle, alloc_idle;
	struct awsp_http_stats stats;
};

long awsp_http_timeout(const struct awsp_http_request *req, long req_ms,
		       long dflt)
{
	long t = req_ms > 0 ? req_ms : dflt;

	if (req->budget_ms > 0 && (t <= 0 || req->budget_ms < t))
		t = req->budget_ms;
	return t;
}

void awsp_http_config_init(struct awsp_http_config *c)
{
	memset(c, 0, sizeof(*c));
	c->connect_timeout_ms = AWSP_HTTP_CONNECT_TIMEOUT_MS;
	c->timeout_ms = AWSP_HTTP_TIMEOUT_MS;
	c->max_body = AWSP_HTTP_MAX_BODY;
	c->max_idle = AWSP_HTTP_MAX_IDLE;
}

static void share_lock(CURL *handle, curl_lock_data data,
		       curl_lock_access access, void *userptr)
{
	struct awsp_http *h = userptr;

	(void)handle;
	(void)access;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&h->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *userptr)
{
	struct awsp_http *h = userptr;

	(void)handle;
	if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&h->share_locks[data]);
}

int awsp_http_new(const struct awsp_http_config *cfg, struct awsp_http **ret,
		  struct util_err *err)
{
	struct awsp_http *h;

	if (global_acquire(err) < 0)
		return UTIL_EFAIL;
	h = util_xcalloc(1, sizeof(*h));
	awsp_http_config_init(&h->cfg);
	if (cfg) {
		if (cfg->connect_timeout_ms > 0)
			h->cfg.connect_timeout_ms = cfg->connect_timeout_ms;
		if (cfg->timeout_ms > 0)
			h->cfg.timeout_ms = cfg->timeout_ms;
		if (cfg->max_body)
			h->cfg.max_body = cfg->max_body;
		if (cfg->max_idle)
			h->cfg.max_idle = cfg->max_idle;
		h->cfg.forbid_reuse = cfg->forbid_reuse;
		h->ca_bundle = util_xstrdup_or_null(cfg->ca_bundle);
		h->user_agent = util_xstrdup_or_null(cfg->user_agent);
	}
	if (!h->user_agent)
		h->user_agent = util_xstrdup("moor/" MOOR_VERSION);
	h->cfg.ca_bundle = h->ca_bundle;
	h->cfg.user_agent = h->user_agent;
	pthread_mutex_init(&h->lock, NULL);
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&h->share_locks[i], NULL);
	h->share = curl_share_init();
	if (!h->share) {
		awsp_http_free(h);
		return util_err_set(err, UTIL_EFAIL,
				    "cannot create a libcurl share");
	}
	curl_share_setopt(h->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(h->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(h->share, CURLSHOPT_USERDATA, h);
	/*
	 * Not CURL_LOCK_DATA_CONNECT: libcurl does not support sharing
	 * connections between concurrent threads.  Each pooled handle keeps
	 * its own connections instead.
	 */
	curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(h->share, CURLSHOPT_SHARE,
			  CURL_LOCK_DATA_SSL_SESSION);
	*ret = h;
	return 0;
}

void awsp_http_free(struct awsp_http *h)
{
	if (!h)
		return;
	/* Handles first: they are attached to the share. */
	for (size_t i = 0; i < h->n_idle; i++)
		curl_easy_cleanup(h->idle[i]);
	free(h->idle);
	if (h->share)
		curl_share_cleanup(h->share);
	for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&h->share_locks[i]);
	pthread_mutex_destroy(&h->lock);
	free(h->ca_bundle);
	free(h->user_agent);
	free(h);
	global_release();
}

void awsp_http_get_stats(struct awsp_http *h, struct awsp_http_stats *ret)
{
	pthread_mutex_lock(&h->lock);
	*ret = h->stats;
	pthread_mutex_unlock(&h->lock);
}

static CURL *take_handle(struct awsp_http *h)
{
	CURL *c = NULL;

	pthread_mutex_lock(&h->lock);
	if (h->n_idle)
		c = h->idle[--h->n_idle];
	pthread_mutex_unlock(&h->lock);
	if (c) {
		/* Keeps live connections, caches and the share. */
		curl_easy_reset(c);
		return c;
	}
	c = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_SHARE, h->share);
	return c;
}

static void put_handle(struct awsp_http *h, CURL *c, bool reusable)
{
	pthread_mutex_lock(&h->lock);
	if (reusable && h->n_idle < h->cfg.max_idle) {
		UTIL_GROW(h->idle, h->alloc_idle, h->n_idle + 1);
		h->idle[h->n_idle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	if (c)
		curl_easy_cleanup(c);
}

/* What one exchange collects from libcurl's callbacks. */
struct exchange {
	struct awsp_http_response *resp;
	size_t max_body;
	bool overflow;
	size_t alloc_headers;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
	struct exchange *x = userp;
	size_t n = size * nmemb;

	if (x->resp->body.len + n > x->max_body ||
	    buf_add(&x->resp->body, data, n) < 0) {
		x->overflow = true;
		return 0; /* CURLE_WRITE_ERROR */
	}
	return n;
}

static void clear_headers(struct awsp_http_response *r)
{
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->headers[i].name);
		free(r->headers[i].value);
	}
	r->n_headers = 0;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userp)
{
	struct exchange *x = userp;
	struct awsp_http_response *r = x->resp;
	size_t n = size * nmemb, len = n;
	const char *colon;
	size_t name_len, vstart;

	while (len && (data[len - 1] == '\r' || data[len - 1] == '\n'))
		len--;
	/* A new status line starts a new header block (100 Continue). */
	if (len >= 5 && !memcmp(data, "HTTP/", 5)) {
		clear_headers(r);
		return n;
	}
	colon = memchr(data, ':', len);
	if (!colon || colon == data)
		return n;
	name_len = (size_t)(colon - data);
	vstart = name_len + 1;
	while (vstart < len && (data[vstart] == ' ' || data[vstart] == '\t'))
		vstart++;
	while (len > vstart && (data[len - 1] == ' ' || data[len - 1] == '\t'))
		len--;
	/* Bounded: a server cannot grow the list without limit. */
	if (r->n_headers >= 256)
		return n;
	UTIL_GROW(r->headers, x->alloc_headers, r->n_headers + 1);
	r->headers[r->n_headers].name = util_xstrndup(data, name_len);
	r->headers[r->n_headers].value = util_xstrndup(data + vstart,
						       len - vstart);
	r->n_headers++;
	return n;
}

static struct curl_slist *build_headers(const struct awsp_http_request *req)
{
	struct curl_slist *list = NULL, *tmp;
	bool has_ctype = false;

	for (size_t i = 0; i < req->n_headers; i++) {
		const struct awsp_header *hd = &req->headers[i];
		char *line;

		if (!strcasecmp(hd->name, "content-type"))
			has_ctype = true;
		/* "Name;" is how libcurl sends a header with an empty value. */
		if (*hd->value)
			line = util_xasprintf("%s: %s", hd->name, hd->value);
		else
			line = util_xasprintf("%s;", hd->name);
		tmp = curl_slist_append(list, line);
		free(line);
		if (!tmp)
			goto oom;
		list = tmp;
	}
	/* Never wait for 100-continue; don't invent a form content type. */
	tmp = curl_slist_append(list, "Expect:");
	if (!tmp)
		goto oom;
	list = tmp;
	if (!has_ctype) {
		tmp = curl_slist_append(list, "Content-Type:");
		if (!tmp)
			goto oom;
		list = tmp;
	}
	return list;
oom:
	curl_slist_free_all(list);
	return util_xmalloc(SIZE_MAX); /* aborts: the OOM policy */
}

static void set_request_id(struct awsp_http_response *r)
{
	const char *id = awsp_http_response_header(r, "x-amzn-RequestId");

	if (!id)
		id = awsp_http_response_header(r, "x-amz-request-id");
	free(r->request_id);
	r->request_id = id && *id ? util_xstrdup(id) : NULL;
}

/* No connection could be made: DNS, refused, TLS handshake. */
static bool connect_failed(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

/* Nothing sent, and so it goes again: certificate, scheme, URL, setup. */
static bool unsendable(CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_FAILED_INIT:
		return true;
	default:
		return false;
	}
}

/* Errors that happen before anything was sent on a connection. */
static bool before_send(CURLcode rc)
{
	return connect_failed(rc) || unsendable(rc);
}

static enum awsp_http_failure classify(CURLcode rc, bool overflow)
{
	if (overflow || rc == CURLE_FILESIZE_EXCEEDED)
		return AWSP_HTTP_FAIL_LIMIT;
	if (rc == CURLE_OPERATION_TIMEDOUT)
		return AWSP_HTTP_FAIL_TIMEOUT;
	if (connect_failed(rc))
		return AWSP_HTTP_FAIL_CONNECT;
	if (unsendable(rc) || rc == CURLE_BAD_FUNCTION_ARGUMENT ||
	    rc == CURLE_NOT_BUILT_IN)
		return AWSP_HTTP_FAIL_FATAL;
	return AWSP_HTTP_FAIL_NETWORK;
}

static void log_exchange(const struct awsp_http_request *req,
			 const struct awsp_http_response *resp,
			 const char *outcome, uint64_t ms)
{
	struct buf url = BUF_INIT;
	char status[24], dur[24], attempt[32], bytes[24];
	const char *fields[20];
	size_t n = 0;

	awsp_http_redact_url(req->url, &url);
	if (snprintf(status, sizeof(status), "%ld", resp->status) < 0 ||
	    snprintf(dur, sizeof(dur), "%llu", (unsigned long long)ms) < 0 ||
	    snprintf(bytes, sizeof(bytes), "%zu", resp->body.len) < 0 ||
	    snprintf(attempt, sizeof(attempt), "%u/%u", req->attempt,
		     req->max_attempts) < 0)
		goto out;
	fields[n++] = "method";
	fields[n++] = req->method;
	fields[n++] = "url";
	fields[n++] = url.buf;
	fields[n++] = "status";
	fields[n++] = resp->status ? status : outcome;
	fields[n++] = "duration_ms";
	fields[n++] = dur;
	if (req->max_attempts) {
		fields[n++] = "attempt";
		fields[n++] = attempt;
	}
	if (req->log_action) {
		fields[n++] = "action";
		fields[n++] = req->log_action;
	}
	if (resp->request_id) {
		fields[n++] = "request_id";
		fields[n++] = resp->request_id;
	}
	fields[n++] = "bytes";
	fields[n++] = bytes;
	fields[n] = NULL;
	util_log_fields(UTIL_LOG_DEBUG, "http_exchange", NULL, fields,
			"%s %s -> %s in %llu ms", req->method, url.buf,
			resp->status ? status : outcome,
			(unsigned long long)ms);
out:
	buf_release(&url);
}

/* The request's method and body: a bare GET, or a body with its length. */
static void setup_method(CURL *c, const struct awsp_http_request *req)
{
	if (!strcmp(req->method, "GET") && !req->body_len) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		/*
		 * Any method with a body, and PUT/POST without one, go out
		 * with a Content-Length (IMDS wants one on its token PUT).
		 */
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)req->body_len);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
				 req->body ? req->body : "");
		if (strcmp(req->method, "POST"))
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
	}
}

/* Every libcurl option of one exchange: TLS, timeouts, caps, callbacks. */
static void setup_handle(const struct awsp_http *h, CURL *c,
			 const struct awsp_http_request *req,
			 struct exchange *x, struct curl_slist *headers,
			 char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_URL, req->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->cfg.ca_bundle)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->cfg.ca_bundle);
	curl_easy_setopt(c, CURLOPT_USERAGENT, h->cfg.user_agent);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 awsp_http_timeout(req, req->connect_timeout_ms,
					   h->cfg.connect_timeout_ms));
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
			 awsp_http_timeout(req, req->timeout_ms,
					   h->cfg.timeout_ms));
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			 (curl_off_t)h->cfg.max_body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	if (h->cfg.forbid_reuse) {
		curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	}
	if (req->fresh_connection)
		curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	setup_method(c, req);
}

/*
 * A failed transfer: its failure class, the error (retryable, maybe
 * applied), and no partial answer left in resp.
 */
static int transfer_failed(const struct awsp_http *h, CURL *c,
			   const struct awsp_http_request *req,
			   struct awsp_http_response *resp, CURLcode rc,
			   const struct exchange *x, const char *errbuf,
			   struct util_err *err)
{
	enum awsp_http_failure f = classify(rc, x->overflow);
	unsigned flags = 0;
	struct buf url = BUF_INIT;
	const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
	int r;

	resp->failure = f;
	resp->status = 0;
	if (f != AWSP_HTTP_FAIL_LIMIT && f != AWSP_HTTP_FAIL_FATAL)
		flags |= UTIL_ERR_RETRYABLE;
	/*
	 * A timeout before the transfer started (connect phase) sent
	 * nothing; anything after may have reached the server.
	 */
	if (!before_send(rc)) {
		curl_off_t pre = 0;

		curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pre);
		if (rc != CURLE_OPERATION_TIMEDOUT || pre > 0)
			flags |= UTIL_ERR_OUTCOME_UNKNOWN;
	}
	bool fresh = !util_err_isset(err);

	awsp_http_redact_url(req->url, &url);
	if (f == AWSP_HTTP_FAIL_LIMIT)
		r = util_err_set(err, UTIL_ELIMIT,
				 "%s %s: response body larger than %zu "
				 "bytes",
				 req->method, url.buf, h->cfg.max_body);
	else
		r = util_err_set(err, UTIL_ETRANSPORT, "%s %s: %s", req->method,
				 url.buf, detail);
	if (fresh && err)
		err->flags |= flags;
	buf_release(&url);
	/* Never hand a partial body to a parser. */
	buf_release(&resp->body);
	clear_headers(resp);
	return r;
}

static void count_exchange(struct awsp_http *h, CURLcode rc, long connects)
{
	pthread_mutex_lock(&h->lock);
	if (rc == CURLE_OK)
		h->stats.exchanges++;
	else
		h->stats.failures++;
	if (connects > 0)
		h->stats.connections += (unsigned long long)connects;
	pthread_mutex_unlock(&h->lock);
}

static int http_send(void *ctx, const struct awsp_http_request *req,
		     struct awsp_http_response *resp, struct util_err *err)
{
	struct awsp_http *h = ctx;
	struct exchange x = { .resp = resp, .max_body = h->cfg.max_body };
	struct curl_slist *headers = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	long connects = 0, status = 0;
	uint64_t t0, ms;
	CURLcode rc;
	CURL *c;
	int r = -1;

	resp->failure = AWSP_HTTP_OK;
	c = take_handle(h);
	if (!c) {
		resp->failure = AWSP_HTTP_FAIL_FATAL;
		return util_err_set(err, UTIL_ETRANSPORT,
				    "cannot create a libcurl handle");
	}
	headers = build_headers(req);
	setup_handle(h, c, req, &x, headers, errbuf);

	t0 = util_mono_ms();
	rc = curl_easy_perform(c);
	ms = util_mono_ms() - t0;
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);

	if (rc == CURLE_OK) {
		resp->status = status;
		set_request_id(resp);
		r = 0;
	} else {
		r = transfer_failed(h, c, req, resp, rc, &x, errbuf, err);
	}
	count_exchange(h, rc, connects);

	if (util_log_enabled(UTIL_LOG_DEBUG))
		log_exchange(req, resp, rc == CURLE_OK ? "ok" : "failed", ms);

	/* The handle must not keep pointers into this call's memory. */
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_slist_free_all(headers);
	put_handle(h, c, true);
	return r;
}

struct awsp_transport awsp_http_transport(struct awsp_http *h)
{
	struct awsp_transport t = { .send = http_send, .ctx = h };

	return t;
}
