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

static void add_pct(struct buf *out, unsigned char c)
{
	char e[3] = { '%', hexdig[c >> 4], hexdig[c & 15] };

	buf_add(out, e, 3);
}

void awsp_form_encode(const char *s, size_t len, struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c))
			buf_addch(out, (char)c);
		else if (c == ' ')
			buf_addch(out, '+');
		else
			add_pct(out, c);
	}
}

void awsp_uri_encode(const char *s, size_t len, bool keep_slash,
		     struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c) || (c == '/' && keep_slash))
			buf_addch(out, (char)c);
		else
			add_pct(out, c);
	}
}

static void add_pair(struct buf *b, const char *name, const char *value)
{
	if (b->len)
		buf_addch(b, '&');
	awsp_form_encode(name, strlen(name), b);
	buf_addch(b, '=');
	if (value)
		awsp_form_encode(value, strlen(value), b);
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
	struct buf name = BUF_INIT;
	va_list ap;

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

void awsp_query_add_ec2_list(struct awsp_query *q, const char *name,
			     const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		awsp_query_addf(q, values[i], "%s.%zu", name, i + 1);
}

void awsp_query_add_ec2_filter(struct awsp_query *q, size_t idx,
			       const char *name, const char *const *values,
			       size_t n)
{
	awsp_query_addf(q, name, "Filter.%zu.Name", idx);
	for (size_t i = 0; i < n; i++)
		awsp_query_addf(q, values[i], "Filter.%zu.Value.%zu", idx,
				i + 1);
}

void awsp_query_add_member_list(struct awsp_query *q, const char *name,
				const char *const *values, size_t n)
{
	for (size_t i = 0; i < n; i++)
		awsp_query_addf(q, values[i], "%s.member.%zu", name, i + 1);
}
