#ifndef UTIL_LOG_H
#define UTIL_LOG_H

#include <stdbool.h>

/*
 * The logging sink.  Library code never prints; it reports events here and
 * the command line (reconciler/cli/) decides whether and how they reach stderr
 * (text or JSON lines).  With no sink installed, events are dropped.
 *
 * An event is a level, a short machine-readable name ("http_exchange",
 * "spec_reloaded", "failover"), an optional resource it concerns, and a
 * one-line human message.  Callers must never pass secrets: the sink does not
 * scrub them.
 */
enum util_log_level {
	UTIL_LOG_DEBUG = 0,
	UTIL_LOG_INFO,
	UTIL_LOG_WARN,
	UTIL_LOG_ERROR,
};

struct util_log_event {
	enum util_log_level level;
	const char *event;    /* never NULL */
	const char *resource; /* may be NULL */
	const char *msg;      /* never NULL; one line */
	/* Optional key/value details, NULL-terminated pairs (may be NULL). */
	const char *const *fields;
};

typedef void (*util_log_fn)(void *ctx, const struct util_log_event *ev);

/* Install the sink (NULL drops events) and the lowest level it wants. */
void util_log_set_sink(util_log_fn fn, void *ctx, enum util_log_level min);
bool util_log_enabled(enum util_log_level level);

void util_log(enum util_log_level level, const char *event,
	      const char *resource, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Like util_log with extra NULL-terminated key/value pairs. */
void util_log_fields(enum util_log_level level, const char *event,
		     const char *resource, const char *const *fields,
		     const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

const char *util_log_level_name(enum util_log_level level);

/*
 * The spec the calling thread works for (moor watch with several specs),
 * added to each of its events as the field spec=NAME; NULL for none.
 * name is borrowed and must outlive its use by the thread.
 */
void util_log_set_thread_spec(const char *name);

#endif
