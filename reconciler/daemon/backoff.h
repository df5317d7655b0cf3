#ifndef RECONCILER_DAEMON_BACKOFF_H
#define RECONCILER_DAEMON_BACKOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Per-resource exponential backoff for `moor watch`, and the jitter of its
 * resync timer.  Pure: every function takes the time as an argument.
 *
 * A resource (any string key: "tg:web", "eip:name:vip-db", "*" for the
 * whole account) that failed n times in a row may be tried again
 * base x 2^(n-1) after its last failure, capped at max.  A success
 * forgets it.  The daemon skips a resource while it waits and retries it
 * when the wait is over, so a failing API is never called in a loop.
 */

struct rc_backoff_entry {
	char *key;
	unsigned failures; /* in a row */
	uint64_t delay_ms; /* the current wait */
	uint64_t until_ms; /* not before this time */
};

struct rc_backoff {
	struct rc_backoff_entry *v;
	size_t n, alloc;
	uint64_t base_ms, max_ms;
};

/* base_ms >= 1; max_ms >= base_ms (raised to it otherwise). */
void rc_backoff_init(struct rc_backoff *b, uint64_t base_ms, uint64_t max_ms);
/* Frees every entry; b can be used again after rc_backoff_init. */
void rc_backoff_release(struct rc_backoff *b);
/* Forget every resource (a new spec deserves a fresh try). */
void rc_backoff_clear(struct rc_backoff *b);

/* Record a failure of key at now_ms; returns the wait before a retry. */
uint64_t rc_backoff_fail(struct rc_backoff *b, const char *key,
			 uint64_t now_ms);
/* Record a success: key is forgotten. */
void rc_backoff_ok(struct rc_backoff *b, const char *key);
/* Whether key may be tried at now_ms (true for an unknown key). */
bool rc_backoff_ready(const struct rc_backoff *b, const char *key,
		      uint64_t now_ms);
/* Failures in a row of key (0 if none). */
unsigned rc_backoff_failures(const struct rc_backoff *b, const char *key);
/* The earliest time after now_ms at which a waiting key becomes ready; 0 if none waits. */
uint64_t rc_backoff_next(const struct rc_backoff *b, uint64_t now_ms);

/*
 * base_ms moved by up to +-pct percent: r in [0, 1) picks where
 * (0 -> base - pct%, 0.5 -> base, 1 -> base + pct%).  pct <= 100.
 */
uint64_t rc_jitter_ms(uint64_t base_ms, unsigned pct, double r);

#endif
