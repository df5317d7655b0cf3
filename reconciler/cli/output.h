#ifndef RECONCILER_CLI_OUTPUT_H
#define RECONCILER_CLI_OUTPUT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "reconciler/engine/apply.h"
#include "util/log.h"

struct rc_notes;
struct spec_diags;
struct util_err;

/*
 * Terminal output of the command line, in one place: error and note lines,
 * colour detection, the two log sinks (text and JSON lines, each with its
 * own escaping) and apply's progress display.  Everything goes to stderr
 * except where the caller prints a rendered buffer itself.
 */

/* "moor: MESSAGE" on stderr. */
void print_err(const struct util_err *err);

/* Each spec diagnostic ("FILE:LINE:COL: ...") on its own stderr line. */
void print_spec_diags(const struct spec_diags *d);

/* Each plan note (error, warning, info) on its own stderr line. */
void print_notes(const struct rc_notes *n);

/* RC_RENDER_COLOR for a terminal, unless NO_COLOR is set or TERM is dumb. */
unsigned output_color(int fd);

/*
 * Log sinks for util_log_set_sink() (ctx unused).  Text: one line
 * "TIME LEVEL event resource: message key=value ...".  JSON: one object
 * per line, for journald and log shippers.
 */
void output_log_text(void *ctx, const struct util_log_event *ev);
void output_log_json(void *ctx, const struct util_log_event *ev);

/* --debug: the text sink, down to debug. */
void output_log_debug(void);

/*
 * Progress of an apply on a terminal (stderr): phases, steps, waits.  The
 * callbacks run on apply's worker threads, hence the lock.
 */
struct output_progress {
	pthread_mutex_t lock;
	size_t total, done;
	bool status_line; /* a \r line is showing */
	struct rc_apply_progress cb;
};

/* Ready to count total steps; hand &g->cb to rc_apply(). */
void output_progress_init(struct output_progress *g, size_t total);
/* Clear a waiting line left showing (after rc_apply returned). */
void output_progress_end(struct output_progress *g);

#endif
