#ifndef UTIL_ERR_H
#define UTIL_ERR_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>

struct buf;

/*
 * Return codes.  Functions return 0 on success and one of these (negative)
 * on failure; most callers only test `< 0`.  The few that branch on the kind
 * of failure name it here.
 */
enum {
	UTIL_EFAIL = -1,      /* anything not named below */
	UTIL_ENOTFOUND = -2,  /* the thing asked for does not exist */
	UTIL_ECONFLICT = -3,  /* a precondition no longer holds */
	UTIL_EINVAL = -4,     /* bad input: spec, flag, file contents */
	UTIL_EAWS = -5,	      /* AWS answered with an error */
	UTIL_ETRANSPORT = -6, /* no answer: DNS, connect, reset, timeout */
	UTIL_ELIMIT = -7,     /* a size or count cap was reached */
	UTIL_EIO = -8,	      /* local file or system call failed */
	UTIL_ETIMEOUT = -9,   /* a wait ran out of time */
	UTIL_ECANCELED = -10, /* stopped on request (signal) */
	UTIL_ECREDS = -11,    /* no usable credentials */
	UTIL_EFENCED = -12,   /* not the lease holder now: nothing was sent */
};

enum util_err_flags {
	/* Trying again later may succeed (throttling, 5xx, network). */
	UTIL_ERR_RETRYABLE = 1 << 0,
	/*
	 * A mutating request was sent but its answer was lost: AWS may or may
	 * not have applied it.  The caller must re-observe before deciding.
	 */
	UTIL_ERR_OUTCOME_UNKNOWN = 1 << 1,
};

/*
 * struct util_err: what went wrong and where, passed explicitly down the
 * call chain (no thread-local "last error").
 *
 * The first error set wins: util_err_set*() on an err that already holds an
 * error does nothing, so a low-level cause is never masked by a vaguer
 * message from a caller.  Callers add context with util_err_prefix().
 *
 * Fields beyond `code` and `msg` are filled only where they apply:
 * path/line/col for spec errors (line and col are 1-based, 0 = unknown);
 * http_status/aws_code/request_id for errors answered by AWS.
 *
 * A struct util_err never holds a secret: code that sets one from a
 * response or a file is responsible for not quoting credentials.
 */
struct util_err {
	int code; /* 0 = no error, else UTIL_E* */
	unsigned flags;
	char msg[512];
	char path[PATH_MAX];
	unsigned line, col;
	long http_status;
	char aws_code[96];
	char request_id[96];
};

#define UTIL_ERR_INIT \
	{             \
		0     \
	}

void util_err_clear(struct util_err *err);
static inline bool util_err_isset(const struct util_err *err)
{
	return err && err->code != 0;
}

/* Set code and message; returns code so `return util_err_set(...)` works. */
int util_err_set(struct util_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int util_err_vset(struct util_err *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* A spec error at path:line:col (UTIL_EINVAL). */
int util_err_set_loc(struct util_err *err, const char *path, unsigned line,
		     unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/*
 * An error answered by AWS.  aws_code and request_id may be NULL; message is
 * AWS's own message text (may be NULL).  Sets UTIL_EAWS.
 */
int util_err_set_aws(struct util_err *err, long http_status,
		     const char *aws_code, const char *message,
		     const char *request_id, unsigned flags);

/*
 * Prepend "context: " to an error already set (no-op when none is set).
 * The result is truncated to fit msg.
 */
void util_err_prefix(struct util_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Copy src into dst if dst holds no error yet (first error wins). */
void util_err_copy(struct util_err *dst, const struct util_err *src);

/*
 * Append the one-line rendering of err to out:
 *   "spec.yaml:3:5: unknown key 'memebrs', did you mean 'members'?"
 *   "register i-0abc with web-tg: Target.InvalidState: instance is not
 *    running (HTTP 400, request id 1a2b...)"
 */
void util_err_format(const struct util_err *err, struct buf *out);

/* Short name of a code: "aws", "invalid", ... for logs and JSON. */
const char *util_err_code_name(int code);

#endif
