#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/daemon/httpd.h"
#include "reconciler/daemon/status.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"

/* --- address parsing ------------------------------------------------------ */

static void check_v4(const char *s, const char *ip, unsigned port)
{
	struct rc_httpd_addr a;
	struct util_err err = UTIL_ERR_INIT;
	const struct sockaddr_in *in = (const struct sockaddr_in *)&a.ss;
	char got[INET_ADDRSTRLEN];

	assert_int_equal(rc_httpd_parse_addr(s, &a, &err), 0);
	assert_int_equal(a.ss.ss_family, AF_INET);
	assert_int_equal(a.len, sizeof(*in));
	assert_non_null(inet_ntop(AF_INET, &in->sin_addr, got, sizeof(got)));
	assert_string_equal(got, ip);
	assert_int_equal(ntohs(in->sin_port), port);
}

static void check_bad(const char *s, const char *says)
{
	struct rc_httpd_addr a;
	struct util_err err = UTIL_ERR_INIT;

	assert_int_equal(rc_httpd_parse_addr(s, &a, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, says));
}

static void test_parse_addr(void **state)
{
	struct rc_httpd_addr a;
	struct util_err err = UTIL_ERR_INIT;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a.ss;

	(void)state;
	/* A bare port, or no address, is loopback: never all interfaces. */
	check_v4("9100", "127.0.0.1", 9100);
	check_v4(":9100", "127.0.0.1", 9100);
	check_v4("0.0.0.0:80", "0.0.0.0", 80);
	check_v4("10.1.2.3:0", "10.1.2.3", 0);

	assert_int_equal(rc_httpd_parse_addr("[::1]:9100", &a, &err), 0);
	assert_int_equal(a.ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(in6->sin6_port), 9100);
	assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));

	check_bad("", "port must be a number");
	check_bad("http", "port must be a number");
	check_bad("127.0.0.1:65536", "port must be a number");
	check_bad("127.0.0.1:-1", "port must be a number");
	check_bad("localhost:80", "'localhost' is not an IPv4 address");
	check_bad("::1:80", "IPv6 goes in brackets");
	check_bad("[nope]:80", "'nope' is not an IPv6 address");
	check_bad("1.2.3:80", "not an IPv4 address");
}

/* --- a server on a real loopback socket ------------------------------------ */

static uint64_t s_now = 1000000;

static uint64_t fake_mono(void *ctx)
{
	(void)ctx;
	return s_now;
}

static const struct util_clock s_clock = { fake_mono, NULL, NULL, NULL };

struct answer {
	int code;
	char head[2048];
	char body[8192];
};

/* Send req to loopback:port and read the whole answer (until EOF). */
static void ask_on(int family, uint16_t port, const char *req,
		   struct answer *ans)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6 };
	struct buf b = BUF_INIT;
	char chunk[4096], *end;
	ssize_t n;
	int fd = socket(family, SOCK_STREAM, 0), r;

	assert_true(fd >= 0);
	sa.sin_port = sa6.sin6_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa6.sin6_addr = in6addr_loopback;
	if (family == AF_INET6)
		r = connect(fd, (struct sockaddr *)&sa6, sizeof(sa6));
	else
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	assert_int_equal(r, 0);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_add(&b, chunk, (size_t)n);
	close(fd);
	memset(ans, 0, sizeof(*ans));
	assert_non_null(b.buf);
	assert_int_equal(sscanf(b.buf, "HTTP/1.1 %d", &ans->code), 1);
	end = strstr(b.buf, "\r\n\r\n");
	assert_non_null(end);
	assert_true((size_t)(end - b.buf) < sizeof(ans->head));
	memcpy(ans->head, b.buf, (size_t)(end - b.buf));
	assert_true(strlen(end + 4) < sizeof(ans->body));
	memcpy(ans->body, end + 4, strlen(end + 4));
	buf_release(&b);
}

static void ask(uint16_t port, const char *req, struct answer *ans)
{
	ask_on(AF_INET, port, req, ans);
}

static void get(uint16_t port, const char *method, const char *path,
		struct answer *ans)
{
	char req[512];

	snprintf(req, sizeof(req),
		 "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		 method, path);
	ask(port, req, ans);
}

static struct rc_httpd *start(void)
{
	struct rc_httpd_addr a;
	struct rc_httpd *h = NULL;
	struct util_err err = UTIL_ERR_INIT;

	assert_int_equal(rc_httpd_parse_addr("127.0.0.1:0", &a, &err), 0);
	assert_int_equal(rc_httpd_start(&a, &s_clock, &h, &err), 0);
	assert_true(rc_httpd_port(h) > 0);
	return h;
}

static void publish(struct rc_httpd *h, const char *file, const char *why)
{
	struct rc_status st = { 0 };

	st.moor_version = "test";
	st.spec_path = "/etc/moor/spec.yaml";
	st.spec_sha256 = "abc";
	st.spec_file = file;
	st.spec_file_error = why;
	st.reconcile_ok = 7;
	rc_httpd_publish(h, &st);
}

static void publish_none(struct rc_httpd *h)
{
	struct rc_status st = { 0 };

	st.moor_version = "test";
	st.spec_path = "/etc/moor/spec.yaml";
	st.spec_file = "missing";
	rc_httpd_publish(h, &st);
}

static void test_routes(void **state)
{
	struct rc_httpd *h = start();
	uint16_t port = rc_httpd_port(h);
	struct answer r;

	(void)state;
	/* Nothing published yet, no beat: not ready. */
	get(port, "GET", "/healthz", &r);
	assert_int_equal(r.code, 503);
	assert_non_null(strstr(r.body, "starting"));
	get(port, "GET", "/metrics", &r);
	assert_int_equal(r.code, 503);

	publish(h, "ok", NULL);
	rc_httpd_beat(h);
	get(port, "GET", "/healthz", &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "ok\n");

	get(port, "GET", "/metrics", &r);
	assert_int_equal(r.code, 200);
	assert_non_null(strstr(r.head, "Content-Type: text/plain; "
				       "version=0.0.4; charset=utf-8"));
	assert_non_null(strstr(r.body, "\nmoor_spec_in_force 1\n"));
	assert_non_null(
		strstr(r.body, "moor_reconcile_total{result=\"ok\"} 7"));

	get(port, "GET", "/status", &r);
	assert_int_equal(r.code, 200);
	assert_non_null(strstr(r.head, "Content-Type: application/json"));
	assert_non_null(strstr(r.body, "\"moor-watch-status\""));

	/* HEAD: the same status and headers, no body. */
	get(port, "HEAD", "/metrics", &r);
	assert_int_equal(r.code, 200);
	assert_non_null(strstr(r.head, "version=0.0.4"));
	assert_string_equal(r.body, "");

	get(port, "POST", "/metrics", &r);
	assert_int_equal(r.code, 405);
	assert_non_null(strstr(r.head, "Allow: GET, HEAD"));
	get(port, "DELETE", "/healthz", &r);
	assert_int_equal(r.code, 405);
	get(port, "GET", "/", &r);
	assert_int_equal(r.code, 404);
	get(port, "GET", "/metrics/x", &r);
	assert_int_equal(r.code, 404);
	get(port, "GET", "/healthz?verbose=1", &r);
	assert_int_equal(r.code, 200);
	rc_httpd_free(h);
}

static void test_healthz(void **state)
{
	struct rc_httpd *h = start();
	uint16_t port = rc_httpd_port(h);
	struct answer r;

	(void)state;
	publish(h, "ok", NULL);
	rc_httpd_beat(h);
	s_now += RC_HTTPD_STALE_MS;
	get(port, "GET", "/healthz", &r);
	assert_int_equal(r.code, 200);

	/* The loop stopped beating. */
	s_now += 1;
	get(port, "GET", "/healthz", &r);
	assert_int_equal(r.code, 503);
	assert_non_null(strstr(r.body, "event loop stalled: no heartbeat for "
				       "10001 ms"));
	rc_httpd_beat(h);
	get(port, "GET", "/healthz", &r);
	assert_int_equal(r.code, 200);

	/* A rejected edit: the last good spec stays in force, so still
	 * healthy (a restart would fail on the file), with the reason. */
	publish(h, "invalid", "spec.yaml:3:7: unknown key 'foo'");
	get(port, "GET", "/healthz", &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "ok: the last good spec stays in force; "
				    "the file on disk is not: spec.yaml:3:7: "
				    "unknown key 'foo'\n");
	get(port, "GET", "/metrics", &r);
	assert_non_null(strstr(r.body, "\nmoor_spec_in_force 0\n"));
	publish(h, "ok", NULL);
	get(port, "GET", "/healthz", &r);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.body, "ok\n");

	/* No spec in force at all. */
	publish_none(h);
	get(port, "GET", "/healthz", &r);
	assert_int_equal(r.code, 503);
	assert_string_equal(r.body, "no spec in force\n");
	rc_httpd_free(h);
}

static size_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	size_t n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void test_limits(void **state)
{
	size_t fds = open_fds();
	struct rc_httpd *h = start();
	struct buf req = BUF_INIT;
	struct answer r;

	(void)state;
	/* A request larger than the memory limit is refused, not served. */
	buf_addstr(&req, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ");
	for (size_t i = 0; i < RC_HTTPD_MEM_LIMIT; i++)
		buf_addch(&req, 'a');
	buf_addstr(&req, "\r\nConnection: close\r\n\r\n");
	ask(rc_httpd_port(h), req.buf, &r);
	assert_true(r.code == 431 || r.code == 413);
	buf_release(&req);
	rc_httpd_free(h);
	/* The listening socket and the server's own fds are closed. */
	assert_int_equal(open_fds(), fds);
}

static void test_bind_errors(void **state)
{
	struct rc_httpd *h = start(), *h2 = NULL;
	struct rc_httpd_addr a;
	struct util_err err = UTIL_ERR_INIT;
	char addr[64];

	(void)state;
	snprintf(addr, sizeof(addr), "127.0.0.1:%u",
		 (unsigned)rc_httpd_port(h));
	assert_int_equal(rc_httpd_parse_addr(addr, &a, &err), 0);
	assert_int_equal(rc_httpd_start(&a, &s_clock, &h2, &err), UTIL_EIO);
	assert_null(h2);
	assert_non_null(strstr(err.msg, "cannot listen on 127.0.0.1:"));
	assert_non_null(strstr(err.msg, "Address already in use"));
	util_err_clear(&err);

	/* An address this host does not have. */
	assert_int_equal(rc_httpd_parse_addr("192.0.2.1:0", &a, &err), 0);
	assert_int_equal(rc_httpd_start(&a, &s_clock, &h2, &err), UTIL_EIO);
	assert_non_null(strstr(err.msg, "cannot listen on 192.0.2.1:0: "
					"Cannot assign requested address"));
	rc_httpd_free(h);
	rc_httpd_free(NULL);
}

static void test_ipv6(void **state)
{
	struct rc_httpd_addr a;
	struct rc_httpd *h = NULL;
	struct util_err err = UTIL_ERR_INIT;
	struct answer r;

	(void)state;
	assert_int_equal(rc_httpd_parse_addr("[::1]:0", &a, &err), 0);
	if (rc_httpd_start(&a, &s_clock, &h, &err) < 0) {
		/* A host without IPv6 loopback says so, in words. */
		assert_non_null(strstr(err.msg, "cannot listen on [::1]:0: "));
		skip();
	}
	publish(h, "ok", NULL);
	rc_httpd_beat(h);
	ask_on(AF_INET6, rc_httpd_port(h),
	       "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
	       &r);
	assert_int_equal(r.code, 200);
	rc_httpd_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_addr),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_healthz),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bind_errors),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
