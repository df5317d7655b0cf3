#include "strv.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "str.h"
#include "banned.h"

void util_strv_push(char ***v, size_t *n, const char *s)
{
	/* Arrays grow by doubling; the allocation size is a power of two. */
	if ((*n & (*n - 1)) == 0)
		*v = util_xrealloc(*v, (*n ? *n * 2 : 1) * sizeof(**v));
	(*v)[(*n)++] = util_xstrdup(s);
}

void util_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int util_strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void util_strv_sort_uniq(char **v, size_t *n)
{
	size_t out = 0;

	if (*n == 0)
		return;
	qsort(v, *n, sizeof(*v), util_strv_cmp);
	for (size_t i = 0; i < *n; i++) {
		if (out && !strcmp(v[out - 1], v[i])) {
			free(v[i]);
			continue;
		}
		v[out++] = v[i];
	}
	*n = out;
}

bool util_strv_contains(char *const *sorted, size_t n, const char *s)
{
	return n &&
	       bsearch(&s, sorted, n, sizeof(*sorted), util_strv_cmp) != NULL;
}

bool util_strv_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (util_streq(v[i], s))
			return true;
	return false;
}
