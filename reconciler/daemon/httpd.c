#include "reconciler/daemon/httpd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "reconciler/daemon/evloop.h"
#include "reconciler/daemon/status.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/parse.h"
#include "util/banned.h"

#define CT_TEXT	   "text/plain; charset=utf-8"
#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CT_JSON	   "application/json"

struct rc_httpd {
	struct MHD_Daemon *mhd;
	uint16_t port;
	const struct util_clock *clock;

	/* The loop's side (the loop's thread only). */
	struct rc_ev_timer *beat_t;

	/* Shared with the server thread, under m. */
	pthread_mutex_t m;
	bool beaten;
	uint64_t beat_ms;
	char *metrics, *status; /* the last snapshot, rendered */
	bool in_force;		/* a spec (the last good one) is in force */
	char *why_not; /* why the file on disk is not that spec, or NULL */
};

/* --- --listen ------------------------------------------------------------- */

static int parse_port(const char *s, const char *whole, uint16_t *ret,
		      struct util_err *err)
{
	struct util_err e = UTIL_ERR_INIT;
	int v;

	if (util_parse_int(s, 0, 65535, &v, &e) < 0)
		return util_err_set(err, UTIL_EINVAL,
				    "'%s': the port must be a number from 0 to "
				    "65535",
				    whole);
	*ret = (uint16_t)v;
	return 0;
}

int rc_httpd_parse_addr(const char *s, struct rc_httpd_addr *ret,
			struct util_err *err)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ret->ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ret->ss;
	const char *colon = strrchr(s, ':');
	char *host;
	uint16_t port;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = parse_port(colon ? colon + 1 : s, s, &port, err);
	if (r < 0)
		return r;
	host = util_xstrndup(s, colon ? (size_t)(colon - s) : 0);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		host[strlen(host) - 1] = '\0';
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons(port);
		ret->len = sizeof(*v6);
		if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) != 1)
			r = util_err_set(err, UTIL_EINVAL,
					 "'%s': '%s' is not an IPv6 address", s,
					 host + 1);
	} else {
		v4->sin_family = AF_INET;
		v4->sin_port = htons(port);
		ret->len = sizeof(*v4);
		if (inet_pton(AF_INET, host[0] ? host : RC_HTTPD_DEFAULT_HOST,
			      &v4->sin_addr) != 1)
			r = util_err_set(err, UTIL_EINVAL,
					 "'%s': '%s' is not an IPv4 address "
					 "(IPv6 goes in brackets: [::1]:PORT)",
					 s, host);
	}
	free(host);
	return r;
}

/* A listening socket on a, or an error code with err saying why. */
static int listen_on(const struct rc_httpd_addr *a, struct util_err *err)
{
	char host[INET6_ADDRSTRLEN] = "?";
	const void *in =
		a->ss.ss_family == AF_INET6
			? (const void *)&((const struct sockaddr_in6 *)&a->ss)
				  ->sin6_addr
			: (const void *)&((const struct sockaddr_in *)&a->ss)
				  ->sin_addr;
	uint16_t port = ntohs(
		a->ss.ss_family == AF_INET6
			? ((const struct sockaddr_in6 *)&a->ss)->sin6_port
			: ((const struct sockaddr_in *)&a->ss)->sin_port);
	int one = 1;
	int fd, r;

	inet_ntop(a->ss.ss_family, in, host, sizeof(host));
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return util_err_set(err, UTIL_EIO, "socket: %s",
				    strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (const struct sockaddr *)&a->ss, a->len) < 0 ||
	    listen(fd, 64) < 0) {
		r = util_err_set(err, UTIL_EIO,
				 "cannot listen on %s%s%s:%u: %s",
				 a->ss.ss_family == AF_INET6 ? "[" : "", host,
				 a->ss.ss_family == AF_INET6 ? "]" : "",
				 (unsigned)port, strerror(errno));
		close(fd);
		return r;
	}
	return fd;
}

/* --- answering ------------------------------------------------------------ */

/* Queue code with b's text (copied: b stays the caller's). */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned code,
			     const char *type, struct buf *b)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(b->len, b->buf,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
				"no-store");
	if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
					"GET, HEAD");
	r = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return r;
}

/* /healthz's verdict into b (under h->m); the HTTP status. */
static unsigned health(struct rc_httpd *h, struct buf *b)
{
	uint64_t now = h->clock->mono_ms(h->clock->ctx);

	if (!h->beaten) {
		buf_addstr(b, "starting: the event loop has not run yet\n");
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	if (now > h->beat_ms + RC_HTTPD_STALE_MS) {
		buf_addf(b, "event loop stalled: no heartbeat for %llu ms\n",
			 (unsigned long long)(now - h->beat_ms));
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	if (!h->in_force) {
		buf_addstr(b, "no spec in force\n");
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	/* A rejected edit leaves the last good spec enforced: still healthy,
	 * since a restart would fail on the same file and stop failover. */
	if (h->why_not)
		buf_addf(b,
			 "ok: the last good spec stays in force; the file "
			 "on disk is not: %s\n",
			 h->why_not);
	else
		buf_addstr(b, "ok\n");
	return MHD_HTTP_OK;
}

/* The answer to GET url: its status, content type and body (into b). */
static unsigned route(struct rc_httpd *h, const char *url, const char **type,
		      struct buf *b)
{
	unsigned code = MHD_HTTP_OK;

	*type = CT_TEXT;
	pthread_mutex_lock(&h->m);
	if (!strcmp(url, "/healthz")) {
		code = health(h, b);
	} else if (!strcmp(url, "/metrics") || !strcmp(url, "/status")) {
		const char *v = url[1] == 'm' ? h->metrics : h->status;

		if (v) {
			*type = url[1] == 'm' ? CT_METRICS : CT_JSON;
			buf_addstr(b, v);
		} else {
			code = MHD_HTTP_SERVICE_UNAVAILABLE;
			buf_addstr(b, "starting: no status yet\n");
		}
	} else {
		code = MHD_HTTP_NOT_FOUND;
		buf_addstr(b, "not found: try /metrics, /status or /healthz\n");
	}
	pthread_mutex_unlock(&h->m);
	return code;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct rc_httpd *h = cls;
	struct buf b = BUF_INIT;
	const char *type;
	unsigned code;
	enum MHD_Result r;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		type = CT_TEXT;
		buf_addstr(&b, "method not allowed: GET or HEAD only\n");
	} else {
		code = route(h, url, &type, &b);
	}
	/* libmicrohttpd leaves the body out of a HEAD answer itself. */
	r = reply(c, code, type, &b);
	buf_release(&b);
	return r;
}

/* --- life ------------------------------------------------------------------ */

int rc_httpd_start(const struct rc_httpd_addr *a,
		   const struct util_clock *clock, struct rc_httpd **ret,
		   struct util_err *err)
{
	struct rc_httpd *h;
	const union MHD_DaemonInfo *info;
	int fd = listen_on(a, err);

	if (fd < 0)
		return fd; /* the error's code */
	h = util_xcalloc(1, sizeof(*h));
	h->clock = clock ? clock : &util_clock_system;
	pthread_mutex_init(&h->m, NULL);
	h->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			(a->ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
		0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)RC_HTTPD_MAX_CONNS,
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)RC_HTTPD_IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)RC_HTTPD_MEM_LIMIT,
		MHD_OPTION_END);
	if (!h->mhd) {
		close(fd);
		pthread_mutex_destroy(&h->m);
		free(h);
		return util_err_set(err, UTIL_EIO,
				    "cannot start the HTTP server "
				    "(libmicrohttpd)");
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	*ret = h;
	return 0;
}

uint16_t rc_httpd_port(const struct rc_httpd *h)
{
	return h->port;
}

void rc_httpd_beat(struct rc_httpd *h)
{
	uint64_t now = h->clock->mono_ms(h->clock->ctx);

	pthread_mutex_lock(&h->m);
	h->beaten = true;
	h->beat_ms = now;
	pthread_mutex_unlock(&h->m);
}

static void on_beat(void *ctx)
{
	struct rc_httpd *h = ctx;

	rc_httpd_beat(h);
	rc_ev_timer_arm_in(h->beat_t, RC_HTTPD_BEAT_MS);
}

void rc_httpd_attach(struct rc_httpd *h, struct rc_evloop *l)
{
	h->beat_t = rc_ev_timer_new(l, on_beat, h);
	rc_ev_timer_arm_in(h->beat_t, 0);
}

/* Why the file on disk is not the spec in force (caller frees), or NULL. */
static char *file_not_in_force(const struct rc_status *st)
{
	if (rc_status_spec_in_force(st))
		return NULL;
	if (st->spec_file_error)
		return util_xstrdup(st->spec_file_error);
	return util_xstrdup(st->spec_file ? st->spec_file : "unusable");
}

void rc_httpd_publish(struct rc_httpd *h, const struct rc_status *st)
{
	struct buf json = BUF_INIT, prom = BUF_INIT;
	struct util_err e = UTIL_ERR_INIT;
	char *why;

	if (!h)
		return;
	/* Render outside the lock: the server thread only swaps pointers. */
	rc_status_to_metrics(st, &prom);
	if (rc_status_to_json(st, &json, &e) < 0)
		buf_release(&json);
	why = file_not_in_force(st);
	pthread_mutex_lock(&h->m);
	free(h->metrics);
	h->metrics = buf_detach(&prom, NULL);
	if (json.buf) {
		free(h->status);
		h->status = buf_detach(&json, NULL);
	}
	h->in_force = st->spec_sha256 != NULL;
	free(h->why_not);
	h->why_not = why;
	pthread_mutex_unlock(&h->m);
}

void rc_httpd_free(struct rc_httpd *h)
{
	if (!h)
		return;
	/* Closes the listening socket too. */
	MHD_stop_daemon(h->mhd);
	pthread_mutex_destroy(&h->m);
	free(h->metrics);
	free(h->status);
	free(h->why_not);
	free(h);
}
