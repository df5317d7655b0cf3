#include "clock.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

uint64_t util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t sys_mono(void *ctx)
{
	(void)ctx;
	return util_mono_ms();
}

static time_t sys_wall(void *ctx)
{
	(void)ctx;
	return time(NULL);
}

static void sys_sleep(void *ctx, uint64_t ms)
{
	struct timespec ts = { .tv_sec = (time_t)(ms / 1000),
			       .tv_nsec = (long)(ms % 1000) * 1000000L };

	(void)ctx;
	nanosleep(&ts, NULL);
}

const struct util_clock util_clock_system = {
	.mono_ms = sys_mono,
	.wall = sys_wall,
	.sleep_ms = sys_sleep,
	.ctx = NULL,
};

char *util_time_iso8601(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    !strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, size, "1970-01-01T00:00:00Z");
	return out;
}

char *util_time_iso8601_ms(const struct timespec *ts, char *out, size_t size)
{
	struct tm tm;
	char sec[24];

	if (!gmtime_r(&ts->tv_sec, &tm) ||
	    !strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(sec, sizeof(sec), "1970-01-01T00:00:00");
	snprintf(out, size, "%s.%03ldZ", sec, ts->tv_nsec / 1000000L);
	return out;
}

int util_time_parse_iso8601(const char *s, time_t *ret)
{
	struct tm tm;
	const char *p;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (!strcmp(p, "Z") || !strcmp(p, "+00:00") || !strcmp(p, "+0000"))
		;
	else
		return -1;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*ret = t;
	return 0;
}
