#ifndef PROVIDERS_AWS_HTTP_H
#define PROVIDERS_AWS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/aws/sigv4.h" /* struct awsp_header */
#include "util/buf.h"
#include "util/err.h"

/*
 * One HTTP exchange, and the transport that carries it.
 *
 * struct awsp_transport is a vtable so that everything above it (the
 * credential chain, the API client) can be tested with a scripted
 * transport; the real one (awsp_http_new(), libcurl) keeps connections
 * alive and reuses them across calls and threads.
 */

struct awsp_http_request {
	const char *method; /* "GET", "PUT", "POST" */
	const char *url;    /* absolute: scheme://host[:port]/path[?query] */
	const struct awsp_header *headers;
	size_t n_headers;
	const void *body;
	size_t body_len;
	long timeout_ms;	 /* whole exchange; 0 = transport default */
	long connect_timeout_ms; /* 0 = transport default */
	/*
	 * 0 = none; else both timeouts are at most this: a fenced request
	 * must end inside the lease that let it go (util/fence.h).
	 */
	long budget_ms;
	/* Redacted in --debug logs: never log the body (credentials). */
	bool sensitive_body;
	/*
	 * Optional context for the --debug line of this exchange (the real
	 * transport logs every exchange): the API action and the attempt
	 * number out of max_attempts (0 = not part of a retried call).
	 */
	const char *log_action;
	unsigned attempt, max_attempts;
	/*
	 * Send on a new connection.  libcurl re-sends a request by itself
	 * when a reused connection dies before any answer, which must not
	 * happen to a request that is not idempotent (AllocateAddress).
	 */
	bool fresh_connection;
};

struct awsp_http_response {
	long status;
	struct buf body; /* size-capped by the transport */
	/* x-amzn-RequestId or x-amz-request-id, malloc'd, or NULL. */
	char *request_id;
	/* All response headers, names as received; malloc'd strings. */
	struct awsp_resp_header {
		char *name;
		char *value;
	} * headers;
	size_t n_headers;
	/* Set by a send that got no HTTP answer (see below). */
	enum awsp_http_failure {
		AWSP_HTTP_OK = 0,
		/* No connection: DNS, refused, TLS handshake; not sent. */
		AWSP_HTTP_FAIL_CONNECT,
		/* Connect or transfer timeout. */
		AWSP_HTTP_FAIL_TIMEOUT,
		/* Reset, broken pipe, truncated body: broke after sending. */
		AWSP_HTTP_FAIL_NETWORK,
		/* The body exceeded the transport's cap. */
		AWSP_HTTP_FAIL_LIMIT,
		/*
		 * Will fail the same way again: bad URL, unsupported
		 * scheme, TLS certificate verification failed.
		 */
		AWSP_HTTP_FAIL_FATAL,
	} failure;
};

#define AWSP_HTTP_RESPONSE_INIT               \
	{                                     \
		.status = 0, .body = BUF_INIT \
	}

/* Frees what a send filled in; safe on a zeroed or INIT struct. */
void awsp_http_response_release(struct awsp_http_response *r);
/* Case-insensitive header lookup; NULL when absent. */
const char *awsp_http_response_header(const struct awsp_http_response *r,
				      const char *name);

/*
 * send: 0 when an HTTP response arrived (any status, including 4xx/5xx),
 * with resp filled; otherwise UTIL_ETRANSPORT (or UTIL_ELIMIT for an
 * oversize body) with err set, resp->failure saying why, flags
 * UTIL_ERR_RETRYABLE unless the failure is AWSP_HTTP_FAIL_LIMIT or
 * AWSP_HTTP_FAIL_FATAL, plus UTIL_ERR_OUTCOME_UNKNOWN when the request
 * may have reached the server (the connection broke after sending).
 * A response that arrived whole is never partial: a truncated or
 * oversize body is a failure, not a short success.  resp must be
 * initialised with AWSP_HTTP_RESPONSE_INIT and is released by the caller
 * either way.
 */
struct awsp_transport {
	int (*send)(void *ctx, const struct awsp_http_request *req,
		    struct awsp_http_response *resp, struct util_err *err);
	void *ctx;
};

static inline int awsp_transport_send(const struct awsp_transport *t,
				      const struct awsp_http_request *req,
				      struct awsp_http_response *resp,
				      struct util_err *err)
{
	return t->send(t->ctx, req, resp, err);
}

/*
 * The real transport: libcurl, HTTP/1.1 keep-alive.
 *
 * A struct awsp_http keeps a pool of curl easy handles; a send takes an
 * idle one (the most recently used first), so a single-threaded caller
 * always reuses the same handle and its open connections (one per
 * endpoint), and N concurrent callers use at most N handles.  Handles
 * share DNS and TLS session caches, so even a new connection resumes the
 * TLS session.  TLS verification is always on; proxies come from the
 * standard variables (libcurl's own handling); no redirects are
 * followed; `Expect: 100-continue` is never sent.  Every exchange is
 * logged at debug level (event "http_exchange": method, URL without its
 * query, status, duration, attempt, request id); headers and bodies are
 * never logged.
 *
 * Creating the first transport initialises libcurl (curl_global_init)
 * and sets SIGPIPE to ignored if it was at its default (libcurl's
 * advice for threaded programs: a peer that closes a connection must
 * not kill the process); freeing the last cleans libcurl up.
 */
struct awsp_http_config {
	long connect_timeout_ms; /* default AWSP_HTTP_CONNECT_TIMEOUT_MS */
	long timeout_ms;	 /* whole exchange; AWSP_HTTP_TIMEOUT_MS */
	size_t max_body;	 /* response body cap; AWSP_HTTP_MAX_BODY */
	const char *ca_bundle;	 /* PEM file; NULL = system store */
	const char *user_agent;	 /* NULL = "moor/VERSION" */
	/* Close each connection after one exchange (benchmarks only). */
	bool forbid_reuse;
	/* Idle handles kept for reuse; 0 = AWSP_HTTP_MAX_IDLE. */
	unsigned max_idle;
};

#define AWSP_HTTP_CONNECT_TIMEOUT_MS 10000L
#define AWSP_HTTP_TIMEOUT_MS	     60000L
#define AWSP_HTTP_MAX_BODY	     ((size_t)64 << 20)
#define AWSP_HTTP_MAX_IDLE	     32

/*
 * The timeout req gets when the transport's own is dflt: req's if set,
 * else dflt, at most req->budget_ms when that is set.
 */
long awsp_http_timeout(const struct awsp_http_request *req, long req_ms,
		       long dflt);

/* Fill c with the defaults above. */
void awsp_http_config_init(struct awsp_http_config *c);

struct awsp_http;

/*
 * Create a transport.  The strings in cfg are copied.  Caller frees with
 * awsp_http_free() after every send has returned.
 */
int awsp_http_new(const struct awsp_http_config *cfg, struct awsp_http **ret,
		  struct util_err *err);
void awsp_http_free(struct awsp_http *h);

/* The vtable for h (ctx = h); valid as long as h. */
struct awsp_transport awsp_http_transport(struct awsp_http *h);

struct awsp_http_stats {
	unsigned long long exchanges;	/* sends that got an HTTP answer */
	unsigned long long failures;	/* sends that did not */
	unsigned long long connections; /* new connections opened */
};

void awsp_http_get_stats(struct awsp_http *h, struct awsp_http_stats *ret);

/*
 * The URL as --debug shows it: userinfo and query string removed
 * ("https://host/path?..." -> "https://host/path?<redacted>").  Appends
 * to out.
 */
void awsp_http_redact_url(const char *url, struct buf *out);

#endif
