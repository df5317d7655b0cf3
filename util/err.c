#include "err.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "banned.h"

/* snprintf into a fixed array, truncating; never overflows. */
#define COPY_FIELD(dst, src) \
	snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "")

void util_err_clear(struct util_err *err)
{
	if (err)
		memset(err, 0, sizeof(*err));
}

int util_err_vset(struct util_err *err, int code, const char *fmt, va_list ap)
{
	if (!err || err->code)
		return code;
	err->code = code ? code : UTIL_EFAIL;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return err->code;
}

int util_err_set(struct util_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	util_err_vset(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int util_err_set_loc(struct util_err *err, const char *path, unsigned line,
		     unsigned col, const char *fmt, ...)
{
	va_list ap;

	if (!err || err->code)
		return UTIL_EINVAL;
	va_start(ap, fmt);
	util_err_vset(err, UTIL_EINVAL, fmt, ap);
	va_end(ap);
	COPY_FIELD(err->path, path);
	err->line = line;
	err->col = col;
	return UTIL_EINVAL;
}

int util_err_set_aws(struct util_err *err, long http_status,
		     const char *aws_code, const char *message,
		     const char *request_id, unsigned flags)
{
	if (!err || err->code)
		return UTIL_EAWS;
	err->code = UTIL_EAWS;
	err->flags = flags;
	err->http_status = http_status;
	COPY_FIELD(err->aws_code, aws_code);
	COPY_FIELD(err->request_id, request_id);
	if (message && *message)
		COPY_FIELD(err->msg, message);
	else if (aws_code && *aws_code)
		COPY_FIELD(err->msg, aws_code);
	else
		snprintf(err->msg, sizeof(err->msg), "HTTP %ld", http_status);
	/* AWS messages may span lines; errors are one line. */
	for (char *p = err->msg; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	for (size_t n = strlen(err->msg); n && err->msg[n - 1] == ' '; n--)
		err->msg[n - 1] = '\0';
	return UTIL_EAWS;
}

void util_err_prefix(struct util_err *err, const char *fmt, ...)
{
	char head[sizeof(err->msg)];
	char tmp[sizeof(err->msg)];
	va_list ap;

	if (!err || !err->code)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	/* Truncation is acceptable: the message is advisory text. */
	if (snprintf(tmp, sizeof(tmp), "%s: %s", head, err->msg) < 0)
		return;
	memcpy(err->msg, tmp, sizeof(err->msg));
}

void util_err_copy(struct util_err *dst, const struct util_err *src)
{
	if (!dst || !src || dst->code || !src->code)
		return;
	memcpy(dst, src, sizeof(*dst));
}

void util_err_format(const struct util_err *err, struct buf *out)
{
	if (!err || !err->code) {
		buf_addstr(out, "no error");
		return;
	}
	if (err->path[0]) {
		buf_addstr(out, err->path);
		if (err->line) {
			buf_addf(out, ":%u", err->line);
			if (err->col)
				buf_addf(out, ":%u", err->col);
		}
		buf_addstr(out, ": ");
	}
	if (err->aws_code[0] && !strstr(err->msg, err->aws_code))
		buf_addf(out, "%s: ", err->aws_code);
	buf_addstr(out, err->msg);
	if (err->code == UTIL_EAWS) {
		/* The status is already the message when AWS sent no body. */
		bool status = err->http_status && strncmp(err->msg, "HTTP ", 5);
		bool rid = err->request_id[0] != '\0';

		if (status || rid)
			buf_addstr(out, " (");
		if (status)
			buf_addf(out, "HTTP %ld", err->http_status);
		if (rid)
			buf_addf(out, "%srequest id %s", status ? ", " : "",
				 err->request_id);
		if (status || rid)
			buf_addch(out, ')');
	}
}

const char *util_err_code_name(int code)
{
	switch (code) {
	case 0:
		return "ok";
	case UTIL_ENOTFOUND:
		return "not_found";
	case UTIL_ECONFLICT:
		return "conflict";
	case UTIL_EINVAL:
		return "invalid";
	case UTIL_EAWS:
		return "aws";
	case UTIL_ETRANSPORT:
		return "transport";
	case UTIL_ELIMIT:
		return "limit";
	case UTIL_EIO:
		return "io";
	case UTIL_ETIMEOUT:
		return "timeout";
	case UTIL_ECANCELED:
		return "canceled";
	case UTIL_ECREDS:
		return "credentials";
	case UTIL_EFENCED:
		return "fenced";
	default:
		return "error";
	}
}
