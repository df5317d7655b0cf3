/*
 * The command line's terminal output (output.h): error and note lines,
 * colour, the text and JSON log sinks, apply's progress display.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reconciler/cli/output.h"
#include "reconciler/engine/plan.h"
#include "reconciler/engine/render.h"
#include "spec/spec.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/banned.h"

void print_err(const struct util_err *err)
{
	struct buf b = BUF_INIT;

	util_err_format(err, &b);
	fprintf(stderr, "moor: %s\n", b.buf);
	buf_release(&b);
}

void print_spec_diags(const struct spec_diags *d)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < d->n; i++) {
		buf_reset(&b);
		spec_diag_format(d, i, &b);
		fprintf(stderr, "%s\n", b.buf);
	}
	buf_release(&b);
}

unsigned output_color(int fd)
{
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

	if (!isatty(fd) || (nc && *nc) || (term && !strcmp(term, "dumb")))
		return 0;
	return RC_RENDER_COLOR;
}

void print_notes(const struct rc_notes *n)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n->n; i++) {
		buf_reset(&b);
		rc_note_format(n, i, &b);
		fprintf(stderr, "%s\n", b.buf);
	}
	buf_release(&b);
}

/*
 * The text sink (--debug, and moor watch's default): every log event as
 * one text line on stderr:
 *   TIME LEVEL event resource: message key=value ...
 * (values with spaces or quotes are quoted).  Library code never logs
 * secrets; the HTTP transport logs method, URL without its query, status,
 * duration, attempt and request id, never headers or bodies.
 */
void output_log_text(void *ctx, const struct util_log_event *ev)
{
	struct buf line = BUF_INIT;
	struct timespec ts;
	char when[32];

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	util_time_iso8601_ms(&ts, when, sizeof(when));
	buf_addf(&line, "%s %s %s", when, util_log_level_name(ev->level),
		 ev->event);
	if (ev->resource)
		buf_addf(&line, " %s", ev->resource);
	buf_addf(&line, ": %s", ev->msg);
	for (const char *const *f = ev->fields; f && f[0] && f[1]; f += 2) {
		if (strpbrk(f[1], " \t\"") || !*f[1]) {
			buf_addf(&line, " %s=\"", f[0]);
			for (const char *c = f[1]; *c; c++) {
				if (*c == '"' || *c == '\\')
					buf_addch(&line, '\\');
				buf_addch(&line, *c == '\n' ? ' ' : *c);
			}
			buf_addch(&line, '"');
		} else {
			buf_addf(&line, " %s=%s", f[0], f[1]);
		}
	}
	buf_addch(&line, '\n');
	fputs(line.buf, stderr);
	buf_release(&line);
}

void output_log_debug(void)
{
	util_log_set_sink(output_log_text, NULL, UTIL_LOG_DEBUG);
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n;
	unsigned min;
	unsigned cp;

	if (*p < 0x80)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf) {
		n = 2;
		min = 0x80;
		cp = *p & 0x1f;
	} else if (*p >= 0xe0 && *p <= 0xef) {
		n = 3;
		min = 0x800;
		cp = *p & 0x0f;
	} else if (*p >= 0xf0 && *p <= 0xf4) {
		n = 4;
		min = 0x10000;
		cp = *p & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD. */
static void json_add_str(struct buf *b, const char *s)
{
	buf_addch(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= 0x80) {
			size_t n = utf8_len(p);

			if (!n) {
				buf_addstr(b, "\\ufffd");
				continue;
			}
			buf_add(b, p, n);
			p += n - 1;
			continue;
		}
		switch (*p) {
		case '"':
			buf_addstr(b, "\\\"");
			break;
		case '\\':
			buf_addstr(b, "\\\\");
			break;
		case '\n':
			buf_addstr(b, "\\n");
			break;
		case '\r':
			buf_addstr(b, "\\r");
			break;
		case '\t':
			buf_addstr(b, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_addf(b, "\\u%04x", *p);
			else
				buf_addch(b, (char)*p);
		}
	}
	buf_addch(b, '"');
}

/*
 * --log-format json: every event as one JSON object on one line of
 * stderr, for journald and log shippers:
 *   {"time":"...Z","level":"info","event":"failover","resource":"vip",
 *    "msg":"...","from":"i-...","to":"i-..."}
 * The event's key/value details are top-level string members (a detail
 * named like a fixed member is written as "field_NAME").
 */
void output_log_json(void *ctx, const struct util_log_event *ev)
{
	static const char *const fixed[] = { "time", "level", "event",
					     "resource", "msg" };
	struct buf line = BUF_INIT;
	struct timespec ts;
	char when[40];

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	util_time_iso8601_ms(&ts, when, sizeof(when));
	buf_addf(&line, "{\"time\":\"%s\",\"level\":", when);
	json_add_str(&line, util_log_level_name(ev->level));
	buf_addstr(&line, ",\"event\":");
	json_add_str(&line, ev->event);
	if (ev->resource) {
		buf_addstr(&line, ",\"resource\":");
		json_add_str(&line, ev->resource);
	}
	buf_addstr(&line, ",\"msg\":");
	json_add_str(&line, ev->msg);
	for (const char *const *f = ev->fields; f && f[0] && f[1]; f += 2) {
		bool clash = false;

		for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
			clash |= !strcmp(f[0], fixed[i]);
		buf_addstr(&line, clash ? ",\"field_" : ",\"");
		buf_addf(&line, "%s\":", f[0]);
		json_add_str(&line, f[1]);
	}
	buf_addstr(&line, "}\n");
	fputs(line.buf, stderr);
	buf_release(&line);
}

static void progress_clear(struct output_progress *g)
{
	if (g->status_line)
		fputs("\r\033[K", stderr);
	g->status_line = false;
}

static void progress_phase(void *ctx, enum rc_phase ph, size_t n)
{
	struct output_progress *g = ctx;

	pthread_mutex_lock(&g->lock);
	progress_clear(g);
	fprintf(stderr, "phase %d/%d %s: %zu step%s\n", (int)ph, RC_N_PHASES,
		rc_phase_name(ph), n, n == 1 ? "" : "s");
	pthread_mutex_unlock(&g->lock);
}

static void progress_step(void *ctx, const struct rc_step *s,
			  const struct rc_step_result *r)
{
	struct output_progress *g = ctx;
	struct buf b = BUF_INIT;

	rc_render_step(s, 0, 5, &b);
	pthread_mutex_lock(&g->lock);
	progress_clear(g);
	g->done++;
	fprintf(stderr, "  [%zu/%zu] %-7s %s\n", g->done, g->total,
		rc_outcome_name(r->outcome), b.buf);
	pthread_mutex_unlock(&g->lock);
	buf_release(&b);
}

static void progress_wait(void *ctx, const struct rc_step *s,
			  uint64_t elapsed_ms, size_t ready, size_t total)
{
	struct output_progress *g = ctx;
	char d[32];

	pthread_mutex_lock(&g->lock);
	progress_clear(g);
	fprintf(stderr, "  waiting for %s: %zu/%zu %s, %s elapsed", s->label,
		ready, total, rc_until_name(s->until),
		util_duration_format(elapsed_ms / 1000 * 1000, d, sizeof(d)));
	g->status_line = true;
	pthread_mutex_unlock(&g->lock);
}

void output_progress_init(struct output_progress *g, size_t total)
{
	pthread_mutex_init(&g->lock, NULL);
	g->total = total;
	g->done = 0;
	g->status_line = false;
	g->cb.phase = progress_phase;
	g->cb.step_done = progress_step;
	g->cb.waiting = progress_wait;
	g->cb.ctx = g;
}

void output_progress_end(struct output_progress *g)
{
	pthread_mutex_lock(&g->lock);
	progress_clear(g);
	pthread_mutex_unlock(&g->lock);
	pthread_mutex_destroy(&g->lock);
}
