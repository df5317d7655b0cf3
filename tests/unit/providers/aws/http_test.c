#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "providers/aws/http.h"
#include "util/alloc.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/log.h"

/*
 * A small HTTP/1.1 server on 127.0.0.1, one thread per connection, whose
 * behaviour is chosen by the request path:
 *   /ok      200, keep-alive, body "ok N", x-amzn-RequestId: rid-N
 *   /echo    200, body = the request head and body as received
 *   /big     200 with a 5000-byte body (Content-Length)
 *   /bigchunked  200, 5000 bytes chunked (no Content-Length)
 *   /trunc   Content-Length: 100, 10 bytes, then close
 *   /reset   close without answering
 *   /slow    answer after 1.5 s
 *   /500     500 with an error body
 */
struct server {
	int fd;
	int port;
	pthread_t accept_thread;
	pthread_mutex_t lock;
	pthread_t conns[256];
	size_t n_conns;
	unsigned requests;
	unsigned resets; /* requests to /reset received */
	int stopping;
};

static int read_request(int fd, struct buf *head, struct buf *body)
{
	char c;
	long clen = 0;
	const char *p;

	buf_reset(head);
	buf_reset(body);
	while (head->len < 4 ||
	       memcmp(head->buf + head->len - 4, "\r\n\r\n", 4)) {
		ssize_t n = recv(fd, &c, 1, 0);

		if (n <= 0)
			return -1;
		/* A TLS ClientHello: hang up, as a plain server would. */
		if (!head->len && c == 0x16)
			return -1;
		buf_addch(head, c);
		if (head->len > 65536)
			return -1;
	}
	p = strcasestr(head->buf, "\r\nContent-Length:");
	if (p)
		clen = strtol(p + 17, NULL, 10);
	while ((long)body->len < clen) {
		char tmp[4096];
		size_t want = (size_t)clen - body->len;
		ssize_t n = recv(fd, tmp,
				 want < sizeof(tmp) ? want : sizeof(tmp), 0);

		if (n <= 0)
			return -1;
		buf_add(body, tmp, (size_t)n);
	}
	return 0;
}

static void send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int status, const char *extra, const char *body,
		    size_t len)
{
	struct buf b = BUF_INIT;

	buf_addf(&b,
		 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s"
		 "Connection: keep-alive\r\n\r\n",
		 status, len, extra);
	buf_add(&b, body, len);
	send_all(fd, b.buf, b.len);
	buf_release(&b);
}

struct conn_arg {
	struct server *s;
	int fd;
};

static void *conn_main(void *arg)
{
	struct conn_arg *ca = arg;
	struct server *s = ca->s;
	int fd = ca->fd;
	struct buf head = BUF_INIT, body = BUF_INIT;

	free(ca);
	while (read_request(fd, &head, &body) == 0) {
		char path[64] = "";
		unsigned n;

		sscanf(head.buf, "%*s %63s", path);
		path[strcspn(path, "?")] = '\0';
		pthread_mutex_lock(&s->lock);
		n = ++s->requests;
		pthread_mutex_unlock(&s->lock);
		if (!strcmp(path, "/ok")) {
			char b[32], extra[64];
			int bl = snprintf(b, sizeof(b), "ok %u", n);

			snprintf(extra, sizeof(extra),
				 "x-amzn-RequestId: rid-%u\r\n", n);
			respond(fd, 200, extra, b, (size_t)bl);
		} else if (!strcmp(path, "/echo")) {
			struct buf e = BUF_INIT;

			buf_add(&e, head.buf, head.len);
			buf_add(&e, body.buf, body.len);
			respond(fd, 200, "", e.buf, e.len);
			buf_release(&e);
		} else if (!strcmp(path, "/big")) {
			char *big = util_xmalloc(5000);

			memset(big, 'x', 5000);
			respond(fd, 200, "", big, 5000);
			free(big);
		} else if (!strcmp(path, "/bigchunked")) {
			const char *hdr = "HTTP/1.1 200 OK\r\n"
					  "Transfer-Encoding: chunked\r\n\r\n";
			char chunk[1000 + 16];

			send_all(fd, hdr, strlen(hdr));
			for (int i = 0; i < 5; i++) {
				int hl = snprintf(chunk, sizeof(chunk),
						  "3e8\r\n");
				memset(chunk + hl, 'y', 1000);
				memcpy(chunk + hl + 1000, "\r\n", 2);
				send_all(fd, chunk, (size_t)hl + 1002);
			}
			send_all(fd, "0\r\n\r\n", 5);
		} else if (!strcmp(path, "/trunc")) {
			const char *r = "HTTP/1.1 200 OK\r\n"
					"Content-Length: 100\r\n\r\n0123456789";

			send_all(fd, r, strlen(r));
			break;
		} else if (!strcmp(path, "/reset")) {
			pthread_mutex_lock(&s->lock);
			s->resets++;
			pthread_mutex_unlock(&s->lock);
			break;
		} else if (!strcmp(path, "/slow")) {
			struct timespec ts = { 1, 500000000L };

			nanosleep(&ts, NULL);
			respond(fd, 200, "", "late", 4);
		} else if (!strcmp(path, "/500")) {
			const char *e = "<Response><Errors><Error><Code>"
					"InternalError</Code></Error></Errors>"
					"</Response>";

			respond(fd, 500, "", e, strlen(e));
		} else {
			respond(fd, 404, "", "", 0);
		}
	}
	shutdown(fd, SHUT_RDWR);
	close(fd);
	buf_release(&head);
	buf_release(&body);
	return NULL;
}

static void *accept_main(void *arg)
{
	struct server *s = arg;

	for (;;) {
		int fd = accept(s->fd, NULL, NULL);

		if (fd < 0)
			return NULL;
		pthread_mutex_lock(&s->lock);
		if (s->stopping || s->n_conns >= 256) {
			pthread_mutex_unlock(&s->lock);
			close(fd);
			return NULL;
		}
		{
			struct conn_arg *ca = util_xmalloc(sizeof(*ca));

			ca->s = s;
			ca->fd = fd;
			assert_int_equal(pthread_create(&s->conns[s->n_conns],
							NULL, conn_main, ca),
					 0);
			s->n_conns++;
		}
		pthread_mutex_unlock(&s->lock);
	}
}

static void server_start(struct server *s)
{
	struct sockaddr_in a = { 0 };
	socklen_t alen = sizeof(a);
	int one = 1;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->fd >= 0);
	setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->fd, 64), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->accept_thread, NULL, accept_main,
					s),
			 0);
}

/* Call after every transport using it is freed (connections closed). */
static void server_stop(struct server *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_mutex_unlock(&s->lock);
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->accept_thread, NULL);
	close(s->fd);
	for (size_t i = 0; i < s->n_conns; i++)
		pthread_join(s->conns[i], NULL);
	pthread_mutex_destroy(&s->lock);
}

static size_t server_conns(struct server *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n_conns;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static char *url(struct server *s, const char *path)
{
	return util_xasprintf("http://127.0.0.1:%d%s", s->port, path);
}

static int do_send(struct awsp_http *h, const char *method, const char *u,
		   const struct awsp_header *hd, size_t nh, const char *body,
		   struct awsp_http_response *resp, struct util_err *err)
{
	struct awsp_transport t = awsp_http_transport(h);
	struct awsp_http_request req = {
		.method = method,
		.url = u,
		.headers = hd,
		.n_headers = nh,
		.body = body,
		.body_len = body ? strlen(body) : 0,
	};

	return awsp_transport_send(&t, &req, resp, err);
}

static void test_keepalive_reuse(void **state)
{
	struct server s;
	struct awsp_http *h = NULL;
	struct awsp_http_stats st;
	struct util_err err = UTIL_ERR_INIT;
	char *u;

	(void)state;
	server_start(&s);
	u = url(&s, "/ok");
	assert_int_equal(awsp_http_new(NULL, &h, &err), 0);
	for (int i = 1; i <= 10; i++) {
		struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
		char want[32];

		assert_int_equal(do_send(h, "POST", u, NULL, 0, "a=b", &resp,
					 &err),
				 0);
		assert_int_equal(resp.status, 200);
		snprintf(want, sizeof(want), "ok %d", i);
		assert_string_equal(resp.body.buf, want);
		snprintf(want, sizeof(want), "rid-%d", i);
		assert_string_equal(resp.request_id, want);
		assert_string_equal(
			awsp_http_response_header(&resp, "X-AMZN-REQUESTID"),
			want);
		assert_int_equal(resp.failure, AWSP_HTTP_OK);
		awsp_http_response_release(&resp);
	}
	/* Ten requests, one connection. */
	assert_int_equal(server_conns(&s), 1);
	awsp_http_get_stats(h, &st);
	assert_int_equal(st.exchanges, 10);
	assert_int_equal(st.connections, 1);
	assert_int_equal(st.failures, 0);
	awsp_http_free(h);
	server_stop(&s);
	free(u);
}

static void test_forbid_reuse(void **state)
{
	struct server s;
	struct awsp_http *h = NULL;
	struct awsp_http_config cfg;
	struct awsp_http_stats st;
	struct util_err err = UTIL_ERR_INIT;
	char *u;

	(void)state;
	server_start(&s);
	u = url(&s, "/ok");
	awsp_http_config_init(&cfg);
	cfg.forbid_reuse = true;
	assert_int_equal(awsp_http_new(&cfg, &h, &err), 0);
	for (int i = 0; i < 5; i++) {
		struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;

		assert_int_equal(do_send(h, "GET", u, NULL, 0, NULL, &resp,
					 &err),
				 0);
		awsp_http_response_release(&resp);
	}
	awsp_http_get_stats(h, &st);
	assert_int_equal(st.connections, 5);
	awsp_http_free(h);
	server_stop(&s);
	assert_int_equal(s.n_conns, 5);
	free(u);
}

struct par {
	struct awsp_http *h;
	char *u;
	int failures;
	pthread_mutex_t lock;
};

static void *par_main(void *arg)
{
	struct par *p = arg;

	for (int i = 0; i < 10; i++) {
		struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
		struct util_err err = UTIL_ERR_INIT;

		if (do_send(p->h, "POST", p->u, NULL, 0, "x", &resp, &err) ||
		    resp.status != 200 || strncmp(resp.body.buf, "ok ", 3)) {
			pthread_mutex_lock(&p->lock);
			p->failures++;
			pthread_mutex_unlock(&p->lock);
		}
		awsp_http_response_release(&resp);
	}
	return NULL;
}

static void test_concurrent_senders(void **state)
{
	struct server s;
	struct par p = { 0 };
	struct awsp_http_stats st;
	struct util_err err = UTIL_ERR_INIT;
	pthread_t th[4];

	(void)state;
	server_start(&s);
	p.u = url(&s, "/ok");
	pthread_mutex_init(&p.lock, NULL);
	assert_int_equal(awsp_http_new(NULL, &p.h, &err), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, par_main, &p), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(p.failures, 0);
	awsp_http_get_stats(p.h, &st);
	assert_int_equal(st.exchanges, 40);
	/* At most one connection per concurrent sender. */
	assert_true(st.connections >= 1 && st.connections <= 4);
	assert_true(server_conns(&s) <= 4);
	awsp_http_free(p.h);
	server_stop(&s);
	pthread_mutex_destroy(&p.lock);
	free(p.u);
}

static void test_request_as_sent(void **state)
{
	struct server s;
	struct awsp_http *h = NULL;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	const struct awsp_header hd[] = {
		{ "Content-Type",
		  "application/x-www-form-urlencoded; charset=utf-8" },
		{ "X-Amz-Date", "20150830T123600Z" },
		{ "X-Empty", "" },
	};
	char *u;

	(void)state;
	server_start(&s);
	u = url(&s, "/echo");
	assert_int_equal(awsp_http_new(NULL, &h, &err), 0);
	assert_int_equal(do_send(h, "POST", u, hd, 3, "Action=X&Version=1",
				 &resp, &err),
			 0);
	assert_non_null(strstr(resp.body.buf, "POST /echo HTTP/1.1\r\n"));
	assert_non_null(strstr(resp.body.buf,
			       "\r\nContent-Type: application/x-www-form-"
			       "urlencoded; charset=utf-8\r\n"));
	assert_non_null(
		strstr(resp.body.buf, "\r\nX-Amz-Date: 20150830T123600Z\r\n"));
	assert_non_null(strstr(resp.body.buf, "\r\nX-Empty:"));
	assert_non_null(strstr(resp.body.buf, "\r\nContent-Length: 18\r\n"));
	assert_non_null(strstr(resp.body.buf, "\r\nUser-Agent: moor/"));
	assert_null(strcasestr(resp.body.buf, "\r\nExpect:"));
	assert_non_null(strstr(resp.body.buf, "\r\n\r\nAction=X&Version=1"));
	awsp_http_response_release(&resp);

	/* PUT without a body: Content-Length 0, no invented content type. */
	assert_int_equal(do_send(h, "PUT", u, NULL, 0, NULL, &resp, &err), 0);
	assert_non_null(strstr(resp.body.buf, "PUT /echo HTTP/1.1\r\n"));
	assert_non_null(strstr(resp.body.buf, "\r\nContent-Length: 0\r\n"));
	assert_null(strcasestr(resp.body.buf, "Content-Type"));
	awsp_http_response_release(&resp);

	/* GET after POST on the same handle: no stale body or method. */
	assert_int_equal(do_send(h, "GET", u, NULL, 0, NULL, &resp, &err), 0);
	assert_non_null(strstr(resp.body.buf, "GET /echo HTTP/1.1\r\n"));
	assert_null(strcasestr(resp.body.buf, "Content-Length"));
	assert_null(strstr(resp.body.buf, "X-Amz-Date"));
	awsp_http_response_release(&resp);

	/* An error status is an answer, not a transport failure. */
	free(u);
	u = url(&s, "/500");
	assert_int_equal(do_send(h, "POST", u, NULL, 0, "a", &resp, &err), 0);
	assert_int_equal(resp.status, 500);
	assert_non_null(strstr(resp.body.buf, "InternalError"));
	assert_false(util_err_isset(&err));
	awsp_http_response_release(&resp);
	awsp_http_free(h);
	server_stop(&s);
	free(u);
}

static void expect_failure(struct awsp_http *h, const char *u, int code,
			   enum awsp_http_failure failure, unsigned flags)
{
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	struct util_err err = UTIL_ERR_INIT;

	assert_int_equal(do_send(h, "POST", u, NULL, 0, "x=1", &resp, &err),
			 code);
	assert_int_equal(err.code, code);
	assert_int_equal(resp.failure, failure);
	assert_int_equal(err.flags, flags);
	/* Never a partial body. */
	assert_int_equal(resp.body.len, 0);
	assert_int_equal(resp.status, 0);
	/* The message names the request, without its query string. */
	assert_non_null(strstr(err.msg, "POST http://127.0.0.1:"));
	assert_null(strstr(err.msg, "secret"));
	awsp_http_response_release(&resp);
}

static void test_failures(void **state)
{
	struct server s;
	struct awsp_http *h = NULL;
	struct awsp_http_config cfg;
	struct awsp_http_stats st;
	struct util_err err = UTIL_ERR_INIT;
	char *u;
	int closed_port;

	(void)state;
	server_start(&s);
	awsp_http_config_init(&cfg);
	cfg.max_body = 4096;
	cfg.timeout_ms = 500;
	assert_int_equal(awsp_http_new(&cfg, &h, &err), 0);

	u = url(&s, "/big?X-Amz-Signature=secret");
	expect_failure(h, u, UTIL_ELIMIT, AWSP_HTTP_FAIL_LIMIT,
		       UTIL_ERR_OUTCOME_UNKNOWN);
	free(u);
	u = url(&s, "/bigchunked");
	expect_failure(h, u, UTIL_ELIMIT, AWSP_HTTP_FAIL_LIMIT,
		       UTIL_ERR_OUTCOME_UNKNOWN);
	free(u);
	u = url(&s, "/trunc");
	expect_failure(h, u, UTIL_ETRANSPORT, AWSP_HTTP_FAIL_NETWORK,
		       UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	free(u);
	u = url(&s, "/reset");
	expect_failure(h, u, UTIL_ETRANSPORT, AWSP_HTTP_FAIL_NETWORK,
		       UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	free(u);
	u = url(&s, "/slow");
	expect_failure(h, u, UTIL_ETRANSPORT, AWSP_HTTP_FAIL_TIMEOUT,
		       UTIL_ERR_RETRYABLE | UTIL_ERR_OUTCOME_UNKNOWN);
	free(u);

	/* Nothing listens: refused before sending, so the outcome is known. */
	{
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { 0 };
		socklen_t alen = sizeof(a);

		a.sin_family = AF_INET;
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
		getsockname(fd, (struct sockaddr *)&a, &alen);
		closed_port = ntohs(a.sin_port);
		close(fd);
	}
	u = util_xasprintf("http://127.0.0.1:%d/ok", closed_port);
	expect_failure(h, u, UTIL_ETRANSPORT, AWSP_HTTP_FAIL_CONNECT,
		       UTIL_ERR_RETRYABLE);
	free(u);

	/* A scheme libcurl may not use is fatal. */
	{
		struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;

		util_err_clear(&err);
		assert_int_equal(do_send(h, "GET", "file:///etc/passwd", NULL,
					 0, NULL, &resp, &err),
				 UTIL_ETRANSPORT);
		assert_int_equal(resp.failure, AWSP_HTTP_FAIL_FATAL);
		assert_int_equal(err.flags, 0);
		assert_int_equal(resp.body.len, 0);
		awsp_http_response_release(&resp);
	}

	/* The transport still works after all that. */
	{
		struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;

		u = url(&s, "/ok");
		util_err_clear(&err);
		assert_int_equal(do_send(h, "GET", u, NULL, 0, NULL, &resp,
					 &err),
				 0);
		assert_int_equal(resp.status, 200);
		awsp_http_response_release(&resp);
		free(u);
	}
	awsp_http_get_stats(h, &st);
	assert_int_equal(st.failures, 7);
	assert_int_equal(st.exchanges, 1);
	awsp_http_free(h);
	server_stop(&s);
}

/*
 * libcurl re-sends a request by itself when a reused connection dies
 * without an answer; fresh_connection is how a request that must not be
 * sent twice avoids that.
 */
static void test_fresh_connection(void **state)
{
	struct server s;
	struct awsp_http *h = NULL;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_transport t;
	struct awsp_http_request req = { .method = "POST",
					 .body = "x=1",
					 .body_len = 3 };
	char *ok, *reset;
	unsigned n;

	(void)state;
	server_start(&s);
	ok = url(&s, "/ok");
	reset = url(&s, "/reset");
	assert_int_equal(awsp_http_new(NULL, &h, &err), 0);
	t = awsp_http_transport(h);
	for (int fresh = 0; fresh <= 1; fresh++) {
		struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;

		/* A kept-alive connection first... */
		req.url = ok;
		req.fresh_connection = false;
		assert_int_equal(awsp_transport_send(&t, &req, &resp, &err), 0);
		awsp_http_response_release(&resp);
		/* ...which then dies without answering. */
		pthread_mutex_lock(&s.lock);
		s.resets = 0;
		pthread_mutex_unlock(&s.lock);
		req.url = reset;
		req.fresh_connection = fresh;
		util_err_clear(&err);
		assert_int_equal(awsp_transport_send(&t, &req, &resp, &err),
				 UTIL_ETRANSPORT);
		assert_true(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
		awsp_http_response_release(&resp);
		pthread_mutex_lock(&s.lock);
		n = s.resets;
		pthread_mutex_unlock(&s.lock);
		/* Sent twice on a reused connection, once on a fresh one. */
		assert_int_equal(n, fresh ? 1 : 2);
	}
	awsp_http_free(h);
	server_stop(&s);
	free(ok);
	free(reset);
}

static void test_tls_bad_ca_bundle(void **state)
{
	struct server s;
	struct awsp_http *h = NULL;
	struct awsp_http_config cfg;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	char *u;

	(void)state;
	server_start(&s);
	awsp_http_config_init(&cfg);
	cfg.ca_bundle = "/nonexistent/ca.pem";
	assert_int_equal(awsp_http_new(&cfg, &h, &err), 0);
	u = util_xasprintf("https://127.0.0.1:%d/ok", s.port);
	assert_int_equal(do_send(h, "GET", u, NULL, 0, NULL, &resp, &err),
			 UTIL_ETRANSPORT);
	/* A CA file that cannot be read will not get better by retrying. */
	assert_int_equal(resp.failure, AWSP_HTTP_FAIL_FATAL);
	assert_false(err.flags & UTIL_ERR_RETRYABLE);
	assert_false(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	awsp_http_response_release(&resp);
	free(u);

	/* TLS to a plain-HTTP server fails in the handshake: not sent. */
	awsp_http_free(h);
	assert_int_equal(awsp_http_new(NULL, &h, &err), 0);
	u = util_xasprintf("https://127.0.0.1:%d/ok", s.port);
	util_err_clear(&err);
	assert_int_equal(do_send(h, "GET", u, NULL, 0, NULL, &resp, &err),
			 UTIL_ETRANSPORT);
	assert_int_equal(resp.failure, AWSP_HTTP_FAIL_CONNECT);
	assert_false(err.flags & UTIL_ERR_OUTCOME_UNKNOWN);
	awsp_http_response_release(&resp);
	free(u);
	awsp_http_free(h);
	server_stop(&s);
}

/* A fence's budget bounds both timeouts; it never lengthens one. */
static void test_timeout_budget(void **state)
{
	struct awsp_http_request req = { 0 };

	(void)state;
	assert_int_equal(awsp_http_timeout(&req, 0, 60000), 60000);
	assert_int_equal(awsp_http_timeout(&req, 500, 60000), 500);
	req.budget_ms = 2500;
	assert_int_equal(awsp_http_timeout(&req, 0, 60000), 2500);
	assert_int_equal(awsp_http_timeout(&req, 0, 10000), 2500);
	assert_int_equal(awsp_http_timeout(&req, 500, 60000), 500);
	assert_int_equal(awsp_http_timeout(&req, 0, 1000), 1000);
	assert_int_equal(awsp_http_timeout(&req, 4000, 1000), 2500);
}

static void test_redact_url(void **state)
{
	static const char *const cases[][2] = {
		{ "https://ec2.us-east-1.amazonaws.com/",
		  "https://ec2.us-east-1.amazonaws.com/" },
		{ "http://127.0.0.1:4566", "http://127.0.0.1:4566" },
		{ "https://h/p?X-Amz-Security-Token=tok&a=b",
		  "https://h/p?<redacted>" },
		{ "https://user:pw@h:8443/x", "https://h:8443/x" },
		{ "http://u:p@h?q", "http://h?<redacted>" },
		{ "http://169.254.169.254/latest/meta-data/iam/"
		  "security-credentials/role",
		  "http://169.254.169.254/latest/meta-data/iam/"
		  "security-credentials/role" },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf b = BUF_INIT;

		awsp_http_redact_url(cases[i][0], &b);
		assert_string_equal(b.buf, cases[i][1]);
		buf_release(&b);
	}
}

static void capture(void *ctx, const struct util_log_event *ev)
{
	struct buf *b = ctx;

	buf_addf(b, "%s %s %s", util_log_level_name(ev->level), ev->event,
		 ev->msg);
	for (const char *const *f = ev->fields; f && f[0]; f += 2)
		buf_addf(b, " %s=%s", f[0], f[1]);
	buf_addch(b, '\n');
}

static void test_debug_log(void **state)
{
	struct server s;
	struct awsp_http *h = NULL;
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	struct buf log = BUF_INIT;
	const struct awsp_header hd[] = {
		{ "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDSECRET" },
		{ "X-Amz-Security-Token", "TOKENSECRET" },
	};
	struct awsp_transport t;
	struct awsp_http_request req = { 0 };
	char *u;

	(void)state;
	server_start(&s);
	u = url(&s, "/ok");
	assert_int_equal(awsp_http_new(NULL, &h, &err), 0);
	util_log_set_sink(capture, &log, UTIL_LOG_DEBUG);
	t = awsp_http_transport(h);
	req.method = "POST";
	req.url = u;
	req.headers = hd;
	req.n_headers = 2;
	req.body = "Password=BODYSECRET";
	req.body_len = strlen(req.body);
	req.sensitive_body = true;
	req.log_action = "GetCallerIdentity";
	req.attempt = 2;
	req.max_attempts = 3;
	assert_int_equal(awsp_transport_send(&t, &req, &resp, &err), 0);
	util_log_set_sink(NULL, NULL, UTIL_LOG_INFO);
	assert_non_null(strstr(log.buf, "debug http_exchange POST "));
	assert_non_null(strstr(log.buf, " status=200"));
	assert_non_null(strstr(log.buf, " attempt=2/3"));
	assert_non_null(strstr(log.buf, " action=GetCallerIdentity"));
	assert_non_null(strstr(log.buf, " request_id=rid-"));
	assert_non_null(strstr(log.buf, " duration_ms="));
	assert_null(strstr(log.buf, "SECRET"));
	awsp_http_response_release(&resp);
	awsp_http_free(h);
	server_stop(&s);
	buf_release(&log);
	free(u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keepalive_reuse),
		cmocka_unit_test(test_forbid_reuse),
		cmocka_unit_test(test_concurrent_senders),
		cmocka_unit_test(test_request_as_sent),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_fresh_connection),
		cmocka_unit_test(test_tls_bad_ca_bundle),
		cmocka_unit_test(test_timeout_budget),
		cmocka_unit_test(test_redact_url),
		cmocka_unit_test(test_debug_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
