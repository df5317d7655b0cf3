#ifndef RECONCILER_DAEMON_PROBE_H
#define RECONCILER_DAEMON_PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "reconciler/daemon/evloop.h"
#include "spec/spec.h"
#include "util/err.h"

/*
 * Health probes for `moor watch`, run concurrently on the event loop with
 * one libcurl multi handle: its sockets and its timeout are driven by the
 * loop (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION), so a probe
 * never blocks the loop and any number run at once.
 *
 *   HTTP  GET the URL on a fresh connection (no reuse: each probe tests
 *         that the service accepts connections), no redirects followed,
 *         no proxy (a probe goes straight to the instance, whatever
 *         HTTP_PROXY says).  Up: a 2xx or 3xx status within the timeout.
 *         The body is read and thrown away (at most 64 KiB; a longer one
 *         is cut short, the status stands).  TLS certificates are not
 *         verified, as keepalived's SSL_GET does not: a certificate is
 *         rarely issued to a private IP, and a probe sends nothing
 *         secret.
 *   TCP   connect within the timeout (libcurl's CONNECT_ONLY, so a host
 *         name is resolved asynchronously too), then close.
 *
 * Each probe has its own timeout, covering resolution, connection and
 * answer.
 */

struct rc_prober;
struct rc_probe;

struct rc_probe_target {
	enum spec_probe_kind kind; /* SPEC_PROBE_HTTP or SPEC_PROBE_TCP */
	const char *url;	   /* HTTP, expanded */
	const char *host;	   /* TCP */
	int port;		   /* TCP */
	uint64_t timeout_ms;
};

struct rc_probe_result {
	bool up;
	long http_status;    /* HTTP: the status, 0 without an answer */
	uint64_t elapsed_ms; /* start to verdict */
	char detail[160];    /* "HTTP 200", "connection refused", ... */
};

/* Called on the loop thread; the probe is gone by then. */
typedef void (*rc_probe_fn)(void *ctx, const struct rc_probe_result *r);

/*
 * A prober on loop l (initialises libcurl globally: create it before
 * starting other threads that use libcurl).  Free with rc_prober_free().
 */
int rc_prober_new(struct rc_evloop *l, struct rc_prober **ret,
		  struct util_err *err);
/* Cancels every probe in flight (no callbacks).  Accepts NULL. */
void rc_prober_free(struct rc_prober *pr);

/*
 * Start one probe; fn(ctx, result) is called exactly once, from the loop,
 * unless the probe is canceled first.  *ret (may be NULL) is the handle
 * for rc_probe_cancel(), valid until the callback runs.
 */
int rc_probe_start(struct rc_prober *pr, const struct rc_probe_target *t,
		   rc_probe_fn fn, void *ctx, struct rc_probe **ret,
		   struct util_err *err);
/* Stop a probe in flight; its callback will not run.  Accepts NULL. */
void rc_probe_cancel(struct rc_probe *p);
/* Probes in flight. */
unsigned rc_prober_active(const struct rc_prober *pr);

/*
 * "{private_ip}" in tmpl replaced by private_ip (every occurrence).
 * Caller frees.
 */
char *rc_probe_expand_url(const char *tmpl, const char *private_ip);

/*
 * The target of probe sp for a candidate whose private IP is private_ip:
 * the expanded URL, or the host (sp's, else private_ip) and port.
 * *ret_owned receives the string ret points into (caller frees).
 * UTIL_EINVAL when the probe needs a private IP and there is none.
 */
int rc_probe_target_for(const struct spec_probe *sp, const char *private_ip,
			uint64_t timeout_ms, struct rc_probe_target *ret,
			char **ret_owned, struct util_err *err);

/* One line describing a probe ("http http://10.0.0.1:80/", "tcp 10.0.0.1:22"). Caller frees. */
char *rc_probe_describe(const struct rc_probe_target *t);

#endif
