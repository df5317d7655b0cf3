#ifndef RECONCILER_DAEMON_HTTPD_H
#define RECONCILER_DAEMON_HTTPD_H

#include <stdint.h>
#include <sys/socket.h>

#include "util/clock.h"
#include "util/err.h"

struct rc_evloop;
struct rc_status;

/*
 * moor watch --listen: a read-only HTTP endpoint (libmicrohttpd).
 *
 *   GET /metrics  the metrics file's Prometheus text (rc_status_to_metrics)
 *   GET /status   the status file's JSON (rc_status_to_json)
 *   GET /healthz  200 "ok" while the event loop beats and the file on disk
 *                 is the spec in force; 503 with the reason otherwise
 *
 * HEAD is answered like GET; other methods get 405 with Allow, other
 * paths 404.
 *
 * Threads.  libmicrohttpd serves from its own internal polling thread
 * (epoll), so no client, however slow or numerous, can hold up the event
 * loop.  The loop publishes a rendered snapshot (rc_httpd_publish) and
 * beats (every RC_HTTPD_BEAT_MS, through a timer of its own: a stalled
 * loop stops beating); the server thread only copies the snapshot under
 * a mutex and never waits for the loop.
 *
 * Limits: RC_HTTPD_MAX_CONNS connections (more are closed at once),
 * RC_HTTPD_IDLE_TIMEOUT_S of silence drops a connection, and a request
 * (line and headers) must fit RC_HTTPD_MEM_LIMIT bytes.
 *
 * Memory: rc_httpd_start's *ret is the caller's (rc_httpd_free).
 */

#define RC_HTTPD_BEAT_MS	1000
#define RC_HTTPD_STALE_MS	10000
#define RC_HTTPD_MAX_CONNS	64
#define RC_HTTPD_IDLE_TIMEOUT_S 5
#define RC_HTTPD_MEM_LIMIT	(16 * 1024)
#define RC_HTTPD_DEFAULT_HOST	"127.0.0.1"

struct rc_httpd;

struct rc_httpd_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/*
 * Parse --listen's "ADDR:PORT", ":PORT", "PORT" (loopback 127.0.0.1) or
 * "[IPV6]:PORT".  ADDR is numeric; PORT 0 picks a free port.
 */
int rc_httpd_parse_addr(const char *s, struct rc_httpd_addr *ret,
			struct util_err *err);

/*
 * Bind a, listen and start serving.  clock's mono_ms judges heartbeats
 * (NULL: the system clock; it must outlive the server).  Until the first
 * beat /healthz answers 503.
 */
int rc_httpd_start(const struct rc_httpd_addr *a,
		   const struct util_clock *clock, struct rc_httpd **ret,
		   struct util_err *err);

/* The port bound (useful after PORT 0). */
uint16_t rc_httpd_port(const struct rc_httpd *h);

/*
 * Beat on l every RC_HTTPD_BEAT_MS (the timer belongs to l).  The daemon
 * publishes whenever it writes its status (every reload, reconcile and
 * probe verdict, at most once a second).
 */
void rc_httpd_attach(struct rc_httpd *h, struct rc_evloop *l);

/* The loop is turning (what the timer does; tests call it directly). */
void rc_httpd_beat(struct rc_httpd *h);

/* Render st and make it what the endpoints answer.  Accepts h NULL. */
void rc_httpd_publish(struct rc_httpd *h, const struct rc_status *st);

/* Stop serving and free (waits for the server thread).  Accepts NULL. */
void rc_httpd_free(struct rc_httpd *h);

#endif
