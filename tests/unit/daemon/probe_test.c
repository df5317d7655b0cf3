#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/daemon/probe.h"
#include "util/clock.h"

/*
 * A small HTTP server on 127.0.0.1, one thread per connection:
 *   /ok 200, /err 503, /redir 302, /big 200 with 256 KiB,
 *   /slow answers nothing for 3 s.
 */
struct server {
	int fd;
	int port;
	volatile int stop;
	pthread_t acceptor;
	pthread_t conns[64];
	int n_conns;
	pthread_mutex_t lock;
};

struct conn {
	struct server *s;
	int fd;
};

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

static void *serve_conn(void *arg)
{
	struct conn *c = arg;
	char req[2048];
	size_t n = 0;
	const char *status = "200 OK";
	char head[256];
	size_t body = 2;

	while (n + 1 < sizeof(req)) {
		ssize_t r = recv(c->fd, req + n, sizeof(req) - 1 - n, 0);

		if (r <= 0)
			break;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[n] = '\0';
	if (strstr(req, "GET /slow")) {
		for (int i = 0; i < 300 && !c->s->stop; i++)
			usleep(10000);
		goto out;
	}
	if (strstr(req, "GET /err"))
		status = "503 Service Unavailable";
	else if (strstr(req, "GET /redir"))
		status = "302 Found";
	else if (strstr(req, "GET /big"))
		body = 256 * 1024;
	if (snprintf(head, sizeof(head),
		     "HTTP/1.1 %s\r\nContent-Length: %zu\r\n"
		     "Connection: close\r\n\r\n",
		     status, body) < 0)
		goto out;
	send_all(c->fd, head, strlen(head));
	{
		char *b = malloc(body);

		memset(b, 'x', body);
		send_all(c->fd, b, body);
		free(b);
	}
out:
	close(c->fd);
	free(c);
	return NULL;
}

static void *acceptor(void *arg)
{
	struct server *s = arg;

	for (;;) {
		int fd = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0 || s->stop) {
			if (fd >= 0)
				close(fd);
			return NULL;
		}
		c = calloc(1, sizeof(*c));
		c->s = s;
		c->fd = fd;
		pthread_mutex_lock(&s->lock);
		if (s->n_conns < 64 && pthread_create(&s->conns[s->n_conns],
						      NULL, serve_conn, c) == 0)
			s->n_conns++;
		else {
			close(fd);
			free(c);
		}
		pthread_mutex_unlock(&s->lock);
	}
}

/* Listen on 127.0.0.1 (port 0 = any); returns the fd, sets *port. */
static int listen_any(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

static void server_start(struct server *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->fd = listen_any(&s->port);
	assert_int_equal(pthread_create(&s->acceptor, NULL, acceptor, s), 0);
}

static void server_stop(struct server *s)
{
	s->stop = 1;
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->acceptor, NULL);
	close(s->fd);
	for (int i = 0; i < s->n_conns; i++)
		pthread_join(s->conns[i], NULL);
	pthread_mutex_destroy(&s->lock);
}

/* --- probing ---------------------------------------------------------------- */

struct got {
	int calls;
	struct rc_probe_result r;
};

static void on_result(void *ctx, const struct rc_probe_result *r)
{
	struct got *g = ctx;

	g->calls++;
	g->r = *r;
}

struct fx {
	struct server srv;
	struct rc_evloop *l;
	struct rc_prober *pr;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	server_start(&f->srv);
	assert_int_equal(rc_evloop_new(&f->l, NULL), 0);
	assert_int_equal(rc_prober_new(f->l, &f->pr, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	rc_prober_free(f->pr);
	rc_evloop_free(f->l);
	server_stop(&f->srv);
	free(f);
	return 0;
}

/* Run the loop until every probe answered (generous deadline). */
static void run(struct fx *f)
{
	uint64_t end = util_mono_ms() + 10000;

	while (rc_prober_active(f->pr) && util_mono_ms() < end)
		assert_int_equal(rc_evloop_run_once(f->l, 100, NULL), 0);
	assert_int_equal(rc_prober_active(f->pr), 0);
}

static void http(struct fx *f, const char *path, uint64_t timeout_ms,
		 struct got *g)
{
	char url[128];
	struct rc_probe_target t = { 0 };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->srv.port, path);
	t.kind = SPEC_PROBE_HTTP;
	t.url = url;
	t.timeout_ms = timeout_ms;
	assert_int_equal(rc_probe_start(f->pr, &t, on_result, g, NULL, NULL),
			 0);
}

static void test_http_verdicts(void **state)
{
	struct fx *f = *state;
	struct got ok = { 0 }, err = { 0 }, redir = { 0 }, big = { 0 };

	/* Concurrently, on one loop. */
	http(f, "/ok", 2000, &ok);
	http(f, "/err", 2000, &err);
	http(f, "/redir", 2000, &redir);
	http(f, "/big", 2000, &big);
	assert_int_equal(rc_prober_active(f->pr), 4);
	run(f);
	assert_int_equal(ok.calls, 1);
	assert_true(ok.r.up);
	assert_int_equal(ok.r.http_status, 200);
	assert_string_equal(ok.r.detail, "HTTP 200");
	assert_int_equal(err.calls, 1);
	assert_false(err.r.up);
	assert_string_equal(err.r.detail, "HTTP 503");
	assert_true(redir.r.up);
	assert_int_equal(redir.r.http_status, 302);
	/* A long body is cut short; the status stands. */
	assert_true(big.r.up);
	assert_int_equal(big.r.http_status, 200);
}

static void test_http_timeout(void **state)
{
	struct fx *f = *state;
	struct got g = { 0 };

	http(f, "/slow", 300, &g);
	run(f);
	assert_int_equal(g.calls, 1);
	assert_false(g.r.up);
	assert_int_equal(g.r.http_status, 0);
	assert_string_equal(g.r.detail, "timed out after 300ms");
	assert_true(g.r.elapsed_ms >= 250);
}

static void test_tcp(void **state)
{
	struct fx *f = *state;
	struct got open = { 0 }, closed = { 0 };
	struct rc_probe_target t = { 0 };
	int port, fd = listen_any(&port);

	/* A port nobody listens on: bind one, note it, close it. */
	close(fd);
	t.kind = SPEC_PROBE_TCP;
	t.host = "127.0.0.1";
	t.port = f->srv.port;
	t.timeout_ms = 2000;
	assert_int_equal(rc_probe_start(f->pr, &t, on_result, &open, NULL,
					NULL),
			 0);
	t.port = port;
	assert_int_equal(rc_probe_start(f->pr, &t, on_result, &closed, NULL,
					NULL),
			 0);
	run(f);
	assert_int_equal(open.calls, 1);
	assert_true(open.r.up);
	assert_string_equal(open.r.detail, "connected");
	assert_int_equal(closed.calls, 1);
	assert_false(closed.r.up);
	assert_non_null(strstr(closed.r.detail, "onnect"));
}

/*
 * TCP sockets of this process with (or without) FD_CLOEXEC.  (libcurl's
 * own AF_UNIX wake-up pair is not ours to set.)
 */
static int count_sockets(bool cloexec)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		int fd, domain = 0;
		socklen_t len = sizeof(domain);

		if (e->d_name[0] == '.')
			continue;
		fd = (int)strtol(e->d_name, NULL, 10);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
		    domain != AF_INET)
			continue;
		n += ((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0) == cloexec;
	}
	closedir(d);
	return n;
}

static void test_cancel(void **state)
{
	struct fx *f = *state;
	struct got a = { 0 }, b = { 0 };
	struct rc_probe *p;
	char url[128];
	struct rc_probe_target t = { 0 };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/slow", f->srv.port);
	t.kind = SPEC_PROBE_HTTP;
	t.url = url;
	t.timeout_ms = 500;
	assert_int_equal(rc_probe_start(f->pr, &t, on_result, &a, &p, NULL), 0);
	http(f, "/ok", 2000, &b);
	/* Let both connect, then cancel the slow one. */
	for (int i = 0; i < 5; i++)
		rc_evloop_run_once(f->l, 20, NULL);
	/* Every socket of the process is close-on-exec, the probe's too. */
	assert_true(count_sockets(true) >= 2);
	assert_int_equal(count_sockets(false), 0);
	rc_probe_cancel(p);
	run(f);
	assert_int_equal(a.calls, 0);
	assert_int_equal(b.calls, 1);
	/* One left in flight when the prober is freed (teardown). */
	http(f, "/slow", 2000, &a);
	rc_evloop_run_once(f->l, 20, NULL);
	assert_int_equal(rc_prober_active(f->pr), 1);
}

static void test_targets(void **state)
{
	struct spec_probe http = { 0 }, tcp = { 0 };
	struct rc_probe_target t;
	struct util_err err = UTIL_ERR_INIT;
	char *owned, *s;
	char url1[] = "http://{private_ip}:8080/healthz";
	char url2[] = "http://sidecar.internal:9000/";
	char host[] = "db.internal";

	(void)state;
	s = rc_probe_expand_url("http://{private_ip}:80/x?ip={private_ip}",
				"10.0.0.7");
	assert_string_equal(s, "http://10.0.0.7:80/x?ip=10.0.0.7");
	free(s);
	s = rc_probe_expand_url("http://db.internal/", "10.0.0.7");
	assert_string_equal(s, "http://db.internal/");
	free(s);

	http.kind = SPEC_PROBE_HTTP;
	http.http_url = url1;
	assert_int_equal(rc_probe_target_for(&http, "127.0.0.2", 500, &t,
					     &owned, NULL),
			 0);
	assert_string_equal(t.url, "http://127.0.0.2:8080/healthz");
	assert_int_equal(t.timeout_ms, 500);
	s = rc_probe_describe(&t);
	assert_string_equal(s, "http http://127.0.0.2:8080/healthz");
	free(s);
	free(owned);
	assert_int_equal(rc_probe_target_for(&http, NULL, 500, &t, &owned,
					     &err),
			 UTIL_EINVAL);
	assert_null(owned);
	/* A URL without the placeholder needs no private IP. */
	http.http_url = url2;
	assert_int_equal(rc_probe_target_for(&http, NULL, 500, &t, &owned,
					     NULL),
			 0);
	free(owned);

	tcp.kind = SPEC_PROBE_TCP;
	tcp.tcp_port = 5432;
	assert_int_equal(rc_probe_target_for(&tcp, "10.1.2.3", 1000, &t, &owned,
					     NULL),
			 0);
	assert_string_equal(t.host, "10.1.2.3");
	assert_int_equal(t.port, 5432);
	s = rc_probe_describe(&t);
	assert_string_equal(s, "tcp 10.1.2.3:5432");
	free(s);
	free(owned);
	tcp.tcp_host = host;
	assert_int_equal(rc_probe_target_for(&tcp, NULL, 1000, &t, &owned,
					     NULL),
			 0);
	assert_string_equal(t.host, "db.internal");
	free(owned);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_http_verdicts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_http_timeout, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test(test_targets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
