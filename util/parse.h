#ifndef UTIL_PARSE_H
#define UTIL_PARSE_H

#include <stddef.h>
#include <stdint.h>

struct util_err;

/*
 * Checked conversions of whole strings: no leading or trailing junk, no
 * sign where none is allowed, no silent overflow.  On failure they return
 * UTIL_EINVAL, leave *ret untouched and set err (may be NULL) to a message
 * that quotes the input, e.g. "invalid number 'x12'".
 */
int util_parse_u64(const char *s, uint64_t max, uint64_t *ret,
		   struct util_err *err);
int util_parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret,
		   struct util_err *err);
int util_parse_int(const char *s, int min, int max, int *ret,
		   struct util_err *err);

/*
 * Durations: a sequence of <number><unit> with units ms, s, m, h (and d),
 * e.g. "500ms", "30s", "5m", "1h", "1m30s", "1.5s".  A bare number is
 * rejected (the unit is never guessed).  Result in milliseconds; fractions
 * below 1 ms are rejected.  Overflow, empty input and negative values are
 * errors.
 */
int util_duration_parse(const char *s, uint64_t *ret_ms, struct util_err *err);

/*
 * Render ms as the shortest exact duration ("1m30s", "500ms", "0s") into
 * out (size >= 32).  Returns out.
 */
char *util_duration_format(uint64_t ms, char *out, size_t size);

#endif
