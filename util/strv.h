#ifndef UTIL_STRV_H
#define UTIL_STRV_H

#include <stdbool.h>
#include <stddef.h>

/*
 * String vectors: an array of n owned, malloc'd C strings (char **v,
 * size_t n), NULL with n == 0 when empty.  The array is grown only by
 * util_strv_push(), which doubles it at each power of two, so an array
 * must start empty and get its elements from util_strv_push() alone.
 */

/* Append a copy of s. */
void util_strv_push(char ***v, size_t *n, const char *s);
/* Free every string and the array.  Accepts NULL. */
void util_strv_free(char **v, size_t n);
/* Sort by strcmp() and drop (free) duplicates; *n becomes the new count. */
void util_strv_sort_uniq(char **v, size_t *n);
/* Whether s is in v, sorted by util_strv_sort_uniq(): binary search. */
bool util_strv_contains(char *const *sorted, size_t n, const char *s);
/* Whether s is in v, in any order: linear search. */
bool util_strv_has(char *const *v, size_t n, const char *s);
/* qsort()/bsearch() comparison of two char * elements, by strcmp(). */
int util_strv_cmp(const void *a, const void *b);

#endif
