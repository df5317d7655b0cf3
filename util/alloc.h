#ifndef UTIL_ALLOC_H
#define UTIL_ALLOC_H

#include <stddef.h>

/*
 * Checked allocation.  moor has one out-of-memory policy: print one line to
 * stderr and abort().  A daemon under a service manager is safer restarted
 * than half-recovered, and error paths for a failed malloc are code nobody
 * tests.  Every function here either returns usable memory or does not
 * return; the caller frees the result with free().  Leaks are caught by
 * LeakSanitizer in `make SANITIZE=address,undefined test`.
 */

void *util_xmalloc(size_t size);
void *util_xcalloc(size_t nmemb, size_t size);
void *util_xrealloc(void *ptr, size_t size);
/* Grow an array: *ptr holds *alloc elements of elem bytes; make room for need. */
void util_xgrow(void **ptr, size_t *alloc, size_t need, size_t elem);
char *util_xstrdup(const char *s);
/* Copies at most n bytes of s and always NUL-terminates. */
char *util_xstrndup(const char *s, size_t n);
void *util_xmemdup(const void *p, size_t n);
/* Like asprintf(); aborts on OOM. */
char *util_xasprintf(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

/* NULL-safe strdup: returns NULL for NULL. */
char *util_xstrdup_or_null(const char *s);

/* Overwrite memory in a way the compiler may not elide (secrets). */
void util_wipe(void *p, size_t n);
/* Wipe a NUL-terminated string, then free it.  Accepts NULL. */
void util_free_secret(char *s);

/* Route cJSON's allocations through util_xmalloc (call once from main). */
void util_alloc_install_hooks(void);

#define UTIL_GROW(arr, alloc, need) \
	util_xgrow((void **)&(arr), &(alloc), (need), sizeof(*(arr)))

#endif
