#ifndef UTIL_STR_H
#define UTIL_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/*
 * struct util_str: a non-owning view of len bytes at p (not necessarily
 * NUL-terminated), for parsers that slice their input without copying.
 * Valid only as long as the memory it points into.
 */
struct util_str {
	const char *p;
	size_t len;
};

static inline struct util_str util_str_from(const char *s)
{
	struct util_str v = { s, s ? strlen(s) : 0 };
	return v;
}

static inline bool util_str_eq(struct util_str a, const char *s)
{
	size_t n = strlen(s);
	return a.len == n && (n == 0 || memcmp(a.p, s, n) == 0);
}

static inline bool util_starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* NULL-safe equality of C strings (two NULLs are equal). */
static inline bool util_streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

#endif
