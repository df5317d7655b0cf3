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
	/* Redacted in --debug logs: never log the body (credentials). */
	bool sensitive_body;
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
 * oversize body) with err set and flags UTIL_ERR_RETRYABLE, plus
 * UTIL_ERR_OUTCOME_UNKNOWN when the request may have reached the server
 * (the connection broke after sending).  resp must be initialised with
 * AWSP_HTTP_RESPONSE_INIT and is released by the caller either way.
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

#endif
