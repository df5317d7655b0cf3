#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "banned.h"

static util_log_fn s_fn;
static void *s_ctx;
static enum util_log_level s_min = UTIL_LOG_INFO;
/* Events may come from worker threads; lines must not interleave. */
static pthread_mutex_t s_lock = PTHREAD_MUTEX_INITIALIZER;

void util_log_set_sink(util_log_fn fn, void *ctx, enum util_log_level min)
{
	pthread_mutex_lock(&s_lock);
	s_fn = fn;
	s_ctx = ctx;
	s_min = min;
	pthread_mutex_unlock(&s_lock);
}

bool util_log_enabled(enum util_log_level level)
{
	bool on;

	pthread_mutex_lock(&s_lock);
	on = s_fn && level >= s_min;
	pthread_mutex_unlock(&s_lock);
	return on;
}

static void vlog(enum util_log_level level, const char *event,
		 const char *resource, const char *const *fields,
		 const char *fmt, va_list ap)
{
	char msg[2048];
	struct util_log_event ev;

	if (!util_log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	ev.level = level;
	ev.event = event;
	ev.resource = resource;
	ev.msg = msg;
	ev.fields = fields;
	pthread_mutex_lock(&s_lock);
	if (s_fn)
		s_fn(s_ctx, &ev);
	pthread_mutex_unlock(&s_lock);
}

void util_log(enum util_log_level level, const char *event,
	      const char *resource, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, event, resource, NULL, fmt, ap);
	va_end(ap);
}

void util_log_fields(enum util_log_level level, const char *event,
		     const char *resource, const char *const *fields,
		     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(level, event, resource, fields, fmt, ap);
	va_end(ap);
}

const char *util_log_level_name(enum util_log_level level)
{
	switch (level) {
	case UTIL_LOG_DEBUG:
		return "debug";
	case UTIL_LOG_INFO:
		return "info";
	case UTIL_LOG_WARN:
		return "warn";
	case UTIL_LOG_ERROR:
		return "error";
	}
	return "info";
}
