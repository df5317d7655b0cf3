#ifndef UTIL_CLOCK_H
#define UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * Time sources.  Code that schedules (retries, refresh, waits, probes)
 * takes a struct util_clock so tests can drive time by hand; the real one
 * is util_clock_system.
 */
struct util_clock {
	/* Monotonic milliseconds, for intervals and deadlines. */
	uint64_t (*mono_ms)(void *ctx);
	/* Wall-clock seconds since the epoch, for signatures and expiry. */
	time_t (*wall)(void *ctx);
	/* Sleep ms (may return early on a signal). */
	void (*sleep_ms)(void *ctx, uint64_t ms);
	void *ctx;
};

extern const struct util_clock util_clock_system;

uint64_t util_mono_ms(void);

/*
 * Format t as ISO 8601 UTC ("2026-11-25T11:41:04Z") into out (size >= 21).
 * Returns out.
 */
char *util_time_iso8601(time_t t, char *out, size_t size);
/*
 * The same with milliseconds, for log lines ("2026-11-25T11:41:04.123Z",
 * size >= 25).  Returns out.
 */
char *util_time_iso8601_ms(const struct timespec *ts, char *out, size_t size);
/* Parse "YYYY-MM-DDTHH:MM:SS[.fff]Z" (or +00:00); -1 on error. */
int util_time_parse_iso8601(const char *s, time_t *ret);

#endif
