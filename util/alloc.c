#include "alloc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "banned.h"

static void die_oom(size_t size)
{
	/*
	 * Nothing else is safe here: no allocation, no logging sink.  fputs on
	 * stderr is unbuffered and allocates nothing.
	 */
	(void)size;
	fputs("moor: out of memory\n", stderr);
	abort();
}

void *util_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		die_oom(size);
	return p;
}

void *util_xcalloc(size_t nmemb, size_t size)
{
	void *p;

	if (!nmemb || !size)
		nmemb = size = 1;
	p = calloc(nmemb, size);
	if (!p)
		die_oom(size);
	return p;
}

void *util_xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		die_oom(size);
	return p;
}

void util_xgrow(void **ptr, size_t *alloc, size_t need, size_t elem)
{
	size_t n;

	if (need <= *alloc)
		return;
	n = *alloc ? *alloc : 8;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			die_oom(SIZE_MAX);
		n *= 2;
	}
	if (elem && n > SIZE_MAX / elem)
		die_oom(SIZE_MAX);
	*ptr = util_xrealloc(*ptr, n * elem);
	*alloc = n;
}

char *util_xstrdup(const char *s)
{
	return util_xmemdup(s, strlen(s) + 1);
}

char *util_xstrdup_or_null(const char *s)
{
	return s ? util_xstrdup(s) : NULL;
}

char *util_xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = util_xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void *util_xmemdup(const void *p, size_t n)
{
	void *q = util_xmalloc(n);

	if (n)
		memcpy(q, p, n);
	return q;
}

char *util_xasprintf(const char *fmt, ...)
{
	va_list ap;
	int n;
	char *p;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		die_oom(0);
	p = util_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return p;
}

void util_wipe(void *p, size_t n)
{
	if (p && n)
		OPENSSL_cleanse(p, n);
}

void util_free_secret(char *s)
{
	if (!s)
		return;
	util_wipe(s, strlen(s));
	free(s);
}

static void *cjson_malloc(size_t size)
{
	return util_xmalloc(size);
}

void util_alloc_install_hooks(void)
{
	cJSON_Hooks hooks = { .malloc_fn = cjson_malloc, .free_fn = free };

	cJSON_InitHooks(&hooks);
}
