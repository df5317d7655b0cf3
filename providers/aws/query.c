#include "providers/aws/query.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/banned.h"

static const char hexdig[] = "0123456789ABCDEF";

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

/*
 * Percent-encode len bytes of s into out: runs of bytes sent as they are
 * go in one append each (a byte at a time costs a call per byte).  form:
 * a space is '+' (urlencode); keep_slash: '/' is sent as it is.
 */
static void encode(const char *s, size_t len, bool form, bool keep_slash,
		   struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		size_t run = i;
		unsigned char c;
		char e[3] = { '%' };

		while (run < len && (unreserved((unsigned char)s[run]) ||
				     (keep_slash && s[run] == '/')))
			run++;
		if (run > i)
			buf_add(out, s + i, run - i);
		if (run == len)
			break;
		c = (unsigned char)s[run];
		if (form && c == ' ') {
			buf_addch(out, '+');
		} else {
			e[1] = hexdig[c >> 4];
			e[2] = hexdig[c & 15];
			buf_add(out, e, 3);
		}
		i = run + 1;
	}
}

void awsp_form_encode(const char *s, size_t len, struct buf *out)
{
	encode(s, len, true, false, out);
}

void awsp_uri_encode(const char *s, size_t len, bool keep_slash,
		     struct buf *out)
{
	encode(s, len, false, keep_slash, out);
}

/* "&name=value", name being prefix, then idx if nonzero (no printf). */
static void add_pair_idx(struct buf *b, const char *prefix, size_t idx,
			 const char *value)
{
	if (b->len)
		buf_addch(b, '&');
	awsp_form_encode(prefix, strlen(prefix), b);
	if (idx) {
		char num[24], *p = num + sizeof(num);

		/* Digits need no encoding. */
		do {
			*--p = (char)('0' + idx % 10);
			idx /= 10;
		} while (idx);
		buf_add(b, p, (size_t)(num + sizeof(num) - p));
	}
	buf_addch(b, '=');
	if (value)
		awsp_form_encode(value, strlen(value), b);
}

static void add_pair(struct buf *b, const char *name, const char *value)
{
	add_pair_idx(b, name, 0, value);
}

void awsp_query_init(struct awsp_query *q, const char *action,
		     const char *version)
{
	buf_init(&q->body, 0);
	add_pair(&q->body, "Action", action);
	add_pair(&q->body, "Version", version);
}

void awsp_query_release(struct awsp_query *q)
{
	if (q)
		buf_release(&q->body);
}

void awsp_query_add(struct awsp_query *q, const char *name, const char *value)
{
	add_pair(&q->body, name, value);
}

void awsp_query_addf(struct awsp_query *q, const char *value,
		     const char *name_fmt, ...)
{
	char small[128];
	struct buf name = BUF_INIT;
	va_list ap;
	int n;

	/* Names are short: format on the stack, the heap only if need be. */
	va_start(ap, name_fmt);
	n = vsnprintf(small, sizeof(small), name_fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(small)) {
		add_pair(&q->body, small, value);
		return;
	}
	va_start(ap, name_fmt);
	buf_vaddf(&name, name_fmt, ap);
	va_end(ap);
	add_pair(&q->body, name.buf, value);
	buf_release(&name);
}

void awsp_query_add_bool(struct awsp_query *q, const char *name, bool v)
{
	add_pair(&q->body, name, v ? "true" : "false");
}

void awsp_query_add_int(struct awsp_query *q, const char *name, long v)
{
	char num[32];

	if (snprintf(num, sizeof(num), "%ld", v) >= (int)sizeof(num))
		abort(); /* a long always fits in 32 bytes */
	add_pair(&q->body, name, num);
}

/* prefix + 1 .. prefix + n = values, prefix being a printf format. */
static void add_list(struct awsp_query *q, const char *const *values, size_t n,
		     const char *prefix_fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_list(struct awsp_query *q, const char *const *values, size_t n,
		     const char *prefix_fmt, ...)
{
	struct buf prefix = BUF_INIT;
	va_list ap;

	if (!n)
		return;
	va_start(ap, prefix_fmt);
	buf_vaddf(&prefix, prefix_fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < n; i++)
		add_pair_idx(&q->body, prefix.buf, i + 1, values[i]);
	buf_release(&prefix);
}

void awsp_query_add_ec2_list(struct awsp_query *q, const char *name,
			     const char *const *values, size_t n)
{
	add_list(q, values, n, "%s.", name);
}

void awsp_query_add_ec2_filter(struct awsp_query *q, size_t idx,
			       const char *name, const char *const *values,
			       size_t n)
{
	awsp_query_addf(q, name, "Filter.%zu.Name", idx);
	add_list(q, values, n, "Filter.%zu.Value.", idx);
}

void awsp_query_add_member_list(struct awsp_query *q, const char *name,
				const char *const *values, size_t n)
{
	add_list(q, values, n, "%s.member.", name);
}
