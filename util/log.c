#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
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

static _Thread_local const char *s_spec;

void util_log_set_thread_spec(const char *name)
{
	s_spec = name;
}

#define MAX_FIELDS 32

/* fields with spec=s_spec first, into buf (MAX_FIELDS pairs at most). */
static const char *const *with_spec(const char *const *fields, const char **buf)
{
	size_t n = 0;

	if (!s_spec)
		return fields;
	buf[n++] = "spec";
	buf[n++] = s_spec;
	for (const char *const *f = fields;
	     f && f[0] && f[1] && n + 2 < 2 * MAX_FIELDS; f += 2) {
		buf[n++] = f[0];
		buf[n++] = f[1];
	}
	buf[n] = NULL;
	return buf;
}

static void vlog(enum util_log_level level, const char *event,
		 const char *resource, const char *const *fields,
		 const char *fmt, va_list ap)
{
	char msg[2048];
	const char *fbuf[2 * MAX_FIELDS + 1];
	struct util_log_event ev;

	if (!util_log_enabled(level))
		return;
	fields = with_spec(fields, fbuf);
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
