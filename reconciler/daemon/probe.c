#include "reconciler/daemon/probe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/parse.h"
#include "util/banned.h"

#ifndef MOOR_VERSION
#define MOOR_VERSION "dev"
#endif

#define MAX_BODY (64 * 1024)

struct sock {
	struct rc_prober *pr;
	struct rc_ev_io *io;
	curl_socket_t fd;
	struct sock *next, *prev;
};

struct rc_probe {
	struct rc_prober *pr;
	CURL *easy;
	rc_probe_fn fn;
	void *ctx;
	bool connect_only;
	bool cut; /* body cut short on purpose */
	size_t body;
	uint64_t start, timeout_ms;
	char *url;
	char errbuf[CURL_ERROR_SIZE];
	struct rc_probe *next, *prev;
};

struct rc_prober {
	struct rc_evloop *l;
	CURLM *multi;
	struct rc_ev_timer *timer;
	struct rc_probe *probes;
	struct sock *socks;
	unsigned active;
};

/* --- targets ------------------------------------------------------------- */

char *rc_probe_expand_url(const char *tmpl, const char *private_ip)
{
	static const char ph[] = "{private_ip}";
	struct buf b = BUF_INIT;
	const char *p = tmpl, *q;

	while ((q = strstr(p, ph)) != NULL) {
		buf_add(&b, p, (size_t)(q - p));
		buf_addstr(&b, private_ip ? private_ip : "");
		p = q + sizeof(ph) - 1;
	}
	buf_addstr(&b, p);
	return buf_detach(&b, NULL);
}

int rc_probe_target_for(const struct spec_probe *sp, const char *private_ip,
			uint64_t timeout_ms, struct rc_probe_target *ret,
			char **ret_owned, struct util_err *err)
{
	bool has_ip = private_ip && *private_ip;

	memset(ret, 0, sizeof(*ret));
	*ret_owned = NULL;
	ret->kind = sp->kind;
	ret->timeout_ms = timeout_ms;
	switch (sp->kind) {
	case SPEC_PROBE_HTTP:
		if (!has_ip && strstr(sp->http_url, "{private_ip}"))
			return util_err_set(err, UTIL_EINVAL,
					    "no private IP to probe");
		*ret_owned = rc_probe_expand_url(sp->http_url, private_ip);
		ret->url = *ret_owned;
		return 0;
	case SPEC_PROBE_TCP:
		if (sp->tcp_host && *sp->tcp_host) {
			*ret_owned = util_xstrdup(sp->tcp_host);
		} else if (has_ip) {
			*ret_owned = util_xstrdup(private_ip);
		} else {
			return util_err_set(err, UTIL_EINVAL,
					    "no private IP to probe");
		}
		ret->host = *ret_owned;
		ret->port = sp->tcp_port;
		return 0;
	case SPEC_PROBE_TARGET_HEALTH:
	case SPEC_PROBE_INSTANCE_HEALTH:
	case SPEC_PROBE_INSTANCE_STATUS:
		return util_err_set(err, UTIL_EINVAL,
				    "reads AWS: not a network probe");
	case SPEC_PROBE_NONE:
		break;
	}
	return util_err_set(err, UTIL_EINVAL, "no probe");
}

char *rc_probe_describe(const struct rc_probe_target *t)
{
	if (t->kind == SPEC_PROBE_HTTP)
		return util_xasprintf("http %s", t->url ? t->url : "?");
	return util_xasprintf("tcp %s:%d", t->host ? t->host : "?", t->port);
}

/* --- libcurl on the loop ------------------------------------------------- */

static void check_done(struct rc_prober *pr);

static void sock_event(void *ctx, int fd, uint32_t events)
{
	struct sock *sk = ctx;
	struct rc_prober *pr = sk->pr; /* sk may be freed below */
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(pr->multi, fd, flags, &running);
	check_done(pr);
}

static void sock_free(struct sock *sk)
{
	struct rc_prober *pr = sk->pr;

	rc_ev_io_free(sk->io);
	if (sk->prev)
		sk->prev->next = sk->next;
	else
		pr->socks = sk->next;
	if (sk->next)
		sk->next->prev = sk->prev;
	free(sk);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
		     void *socketp)
{
	struct rc_prober *pr = userp;
	struct sock *sk = socketp;
	uint32_t events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sk) {
			curl_multi_assign(pr->multi, s, NULL);
			sock_free(sk);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (!sk) {
		sk = util_xcalloc(1, sizeof(*sk));
		sk->pr = pr;
		sk->fd = s;
		if (rc_ev_io_add(pr->l, s, events, sock_event, sk, &sk->io,
				 NULL) < 0) {
			free(sk);
			return -1;
		}
		sk->next = pr->socks;
		if (pr->socks)
			pr->socks->prev = sk;
		pr->socks = sk;
		curl_multi_assign(pr->multi, s, sk);
		return 0;
	}
	return rc_ev_io_modify(sk->io, events, NULL) < 0 ? -1 : 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct rc_prober *pr = userp;

	(void)multi;
	if (timeout_ms < 0)
		rc_ev_timer_disarm(pr->timer);
	else
		rc_ev_timer_arm_in(pr->timer, (uint64_t)timeout_ms);
	return 0;
}

static void timer_fire(void *ctx)
{
	struct rc_prober *pr = ctx;
	int running;

	curl_multi_socket_action(pr->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(pr);
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	struct rc_probe *pb = ctx;
	size_t len = size * n;

	(void)p;
	pb->body += len;
	if (pb->body > MAX_BODY) {
		pb->cut = true;
		return 0;
	}
	return len;
}

/*
 * Probe sockets are close-on-exec like every other fd of the daemon (the
 * credential chain may run a credential_process).
 */
static curl_socket_t open_socket(void *ctx, curlsocktype purpose,
				 struct curl_sockaddr *a)
{
	(void)ctx;
	(void)purpose;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void unlink_probe(struct rc_probe *p)
{
	struct rc_prober *pr = p->pr;

	if (p->prev)
		p->prev->next = p->next;
	else
		pr->probes = p->next;
	if (p->next)
		p->next->prev = p->prev;
	pr->active--;
}

static void probe_free(struct rc_probe *p)
{
	curl_multi_remove_handle(p->pr->multi, p->easy);
	curl_easy_cleanup(p->easy);
	free(p->url);
	free(p);
}

static void verdict(struct rc_probe *p, CURLcode rc, struct rc_probe_result *r)
{
	char d[32];

	memset(r, 0, sizeof(*r));
	r->elapsed_ms = util_mono_ms() - p->start;
	if (!p->connect_only)
		curl_easy_getinfo(p->easy, CURLINFO_RESPONSE_CODE,
				  &r->http_status);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(r->detail, sizeof(r->detail), "timed out after %s",
			 util_duration_format(p->timeout_ms, d, sizeof(d)));
		return;
	}
	if (p->connect_only) {
		if (rc == CURLE_OK) {
			r->up = true;
			snprintf(r->detail, sizeof(r->detail), "connected");
			return;
		}
	} else if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && p->cut)) {
		r->up = r->http_status >= 200 && r->http_status < 400;
		snprintf(r->detail, sizeof(r->detail), "HTTP %ld",
			 r->http_status);
		return;
	}
	if (snprintf(r->detail, sizeof(r->detail), "%s",
		     p->errbuf[0] ? p->errbuf : curl_easy_strerror(rc)) < 0)
		r->detail[0] = '\0';
}

static void check_done(struct rc_prober *pr)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(pr->multi, &left)) != NULL) {
		struct rc_probe *p = NULL;
		struct rc_probe_result r;
		rc_probe_fn fn;
		void *ctx;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
				  (char **)&p);
		if (!p)
			continue;
		verdict(p, m->data.result, &r);
		fn = p->fn;
		ctx = p->ctx;
		unlink_probe(p);
		probe_free(p); /* m is invalid from here */
		fn(ctx, &r);
	}
}

int rc_prober_new(struct rc_evloop *l, struct rc_prober **ret,
		  struct util_err *err)
{
	struct rc_prober *pr;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return util_err_set(err, UTIL_EFAIL,
				    "cannot initialise libcurl");
	pr = util_xcalloc(1, sizeof(*pr));
	pr->l = l;
	pr->multi = curl_multi_init();
	if (!pr->multi) {
		free(pr);
		curl_global_cleanup();
		return util_err_set(err, UTIL_EFAIL,
				    "cannot create a libcurl multi handle");
	}
	pr->timer = rc_ev_timer_new(l, timer_fire, pr);
	curl_multi_setopt(pr->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(pr->multi, CURLMOPT_SOCKETDATA, pr);
	curl_multi_setopt(pr->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(pr->multi, CURLMOPT_TIMERDATA, pr);
	*ret = pr;
	return 0;
}

void rc_prober_free(struct rc_prober *pr)
{
	if (!pr)
		return;
	while (pr->probes) {
		struct rc_probe *p = pr->probes;

		unlink_probe(p);
		probe_free(p);
	}
	curl_multi_cleanup(pr->multi);
	while (pr->socks)
		sock_free(pr->socks);
	rc_ev_timer_free(pr->timer);
	free(pr);
	curl_global_cleanup();
}

unsigned rc_prober_active(const struct rc_prober *pr)
{
	return pr->active;
}

static char *tcp_url(const char *host, int port)
{
	if (strchr(host, ':'))
		return util_xasprintf("http://[%s]:%d/", host, port);
	return util_xasprintf("http://%s:%d/", host, port);
}

/*
 * Owns starting one probe: the curl handle and every option that makes it
 * a probe (no proxy, no reuse, no redirects, the timeout), then hands it
 * to the prober (hence over 60 lines).
 */
int rc_probe_start(struct rc_prober *pr, const struct rc_probe_target *t,
		   rc_probe_fn fn, void *ctx, struct rc_probe **ret,
		   struct util_err *err)
{
	struct rc_probe *p;
	long tmo = (long)(t->timeout_ms ? t->timeout_ms : 1000);
	CURLMcode mc;

	if (t->kind != SPEC_PROBE_HTTP && t->kind != SPEC_PROBE_TCP)
		return util_err_set(err, UTIL_EINVAL, "no probe");
	p = util_xcalloc(1, sizeof(*p));
	p->pr = pr;
	p->fn = fn;
	p->ctx = ctx;
	p->timeout_ms = (uint64_t)tmo;
	p->start = util_mono_ms();
	p->connect_only = t->kind == SPEC_PROBE_TCP;
	p->url = p->connect_only ? tcp_url(t->host, t->port)
				 : util_xstrdup(t->url);
	p->easy = curl_easy_init();
	if (!p->easy) {
		free(p->url);
		free(p);
		return util_err_set(err, UTIL_EFAIL,
				    "cannot create a libcurl handle");
	}
	curl_easy_setopt(p->easy, CURLOPT_URL, p->url);
	curl_easy_setopt(p->easy, CURLOPT_PRIVATE, (char *)p);
	curl_easy_setopt(p->easy, CURLOPT_ERRORBUFFER, p->errbuf);
	curl_easy_setopt(p->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(p->easy, CURLOPT_TIMEOUT_MS, tmo);
	curl_easy_setopt(p->easy, CURLOPT_CONNECTTIMEOUT_MS, tmo);
	curl_easy_setopt(p->easy, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(p->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(p->easy, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(p->easy, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(p->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(p->easy, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(p->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(p->easy, CURLOPT_USERAGENT,
			 "moor-probe/" MOOR_VERSION);
	if (p->connect_only) {
		curl_easy_setopt(p->easy, CURLOPT_CONNECT_ONLY, 1L);
	} else {
		curl_easy_setopt(p->easy, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(p->easy, CURLOPT_WRITEDATA, p);
	}
	mc = curl_multi_add_handle(pr->multi, p->easy);
	if (mc != CURLM_OK) {
		curl_easy_cleanup(p->easy);
		free(p->url);
		free(p);
		return util_err_set(err, UTIL_EFAIL, "cannot start a probe: %s",
				    curl_multi_strerror(mc));
	}
	p->next = pr->probes;
	if (pr->probes)
		pr->probes->prev = p;
	pr->probes = p;
	pr->active++;
	if (ret)
		*ret = p;
	return 0;
}

void rc_probe_cancel(struct rc_probe *p)
{
	if (!p)
		return;
	unlink_probe(p);
	probe_free(p);
}
