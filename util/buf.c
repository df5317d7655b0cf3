#include "buf.h"

#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "err.h"
#include "banned.h"

/* Shared by every empty buffer; must never be written except its NUL. */
char buf_slopbuf[1];

void buf_init(struct buf *b, size_t cap)
{
	b->buf = buf_slopbuf;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
	b->overflow = false;
}

void buf_release(struct buf *b)
{
	if (b->alloc)
		free(b->buf);
	buf_init(b, b->cap);
}

void buf_reset(struct buf *b)
{
	b->overflow = false;
	if (b->alloc)
		buf_setlen(b, 0);
}

char *buf_detach(struct buf *b, size_t *ret_len)
{
	char *p;

	if (ret_len)
		*ret_len = b->len;
	if (!b->alloc)
		p = util_xstrdup("");
	else
		p = b->buf;
	buf_init(b, b->cap);
	return p;
}

int buf_grow(struct buf *b, size_t extra)
{
	size_t need, n;

	if (b->overflow)
		return UTIL_ELIMIT;
	if (extra > SIZE_MAX - b->len - 1 ||
	    (b->cap && b->len + extra > b->cap)) {
		b->overflow = true;
		return UTIL_ELIMIT;
	}
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	if (!b->alloc) {
		b->buf = util_xmalloc(n);
		b->buf[0] = '\0';
	} else {
		b->buf = util_xrealloc(b->buf, n);
	}
	b->alloc = n;
	return 0;
}

int buf_add(struct buf *b, const void *data, size_t len)
{
	int r = buf_grow(b, len);

	if (r < 0)
		return r;
	if (len)
		memcpy(b->buf + b->len, data, len);
	buf_setlen(b, b->len + len);
	return 0;
}

int buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, r;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return UTIL_EFAIL;
	r = buf_grow(b, (size_t)n);
	if (r < 0)
		return r;
	vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void buf_setlen(struct buf *b, size_t len)
{
	if (!b->alloc) {
		assert(len == 0);
		return;
	}
	assert(len < b->alloc);
	b->len = len;
	b->buf[len] = '\0';
}

void buf_rtrim(struct buf *b)
{
	size_t n = b->len;

	while (n && isspace((unsigned char)b->buf[n - 1]))
		n--;
	buf_setlen(b, n);
}
