#ifndef UTIL_BUF_H
#define UTIL_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * struct buf: an owned, growable byte buffer with an optional size cap,
 * modelled on git's strbuf and curl's dynbuf.
 *
 * Invariants:
 *  - `buf` is never NULL and is always NUL-terminated at `len`, so it can be
 *    handed to any function that takes a C string (it may also hold NULs).
 *  - `len < alloc` whenever `alloc != 0`; a buffer with alloc == 0 points at
 *    a shared static empty string and owns no memory.
 *  - `cap` (0 = unlimited) bounds `len`.  An append that would exceed it
 *    fails with UTIL_ELIMIT, appends nothing, and sets `overflow`, which
 *    stays set until buf_reset()/buf_release().  Renderers can therefore
 *    append freely and check buf_failed() once at the end; readers of
 *    untrusted input (HTTP bodies, spec files) check each append.
 *
 * Initialise with BUF_INIT (unlimited) or buf_init(); free with
 * buf_release().  buf_detach() hands the memory to the caller.
 */
struct buf {
	char *buf;
	size_t len;
	size_t alloc;
	size_t cap;
	bool overflow;
};

extern char buf_slopbuf[];
#define BUF_INIT                                                   \
	{                                                          \
		.buf = buf_slopbuf, .len = 0, .alloc = 0, .cap = 0 \
	}

void buf_init(struct buf *b, size_t cap);
/* Frees the contents and re-initialises b with the same cap. */
void buf_release(struct buf *b);
/* Empties b but keeps its memory and cap; clears overflow. */
void buf_reset(struct buf *b);
/*
 * Returns the contents as a malloc'd NUL-terminated string the caller frees
 * (never NULL), stores the length in *ret_len if non-NULL, and leaves b
 * empty.
 */
char *buf_detach(struct buf *b, size_t *ret_len);

/* Ensure room for `extra` more bytes.  0, or UTIL_ELIMIT past the cap. */
int buf_grow(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_addstr(struct buf *b, const char *s);
int buf_addch(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Truncate to len (len <= b->len). */
void buf_setlen(struct buf *b, size_t len);
/* Remove trailing ASCII whitespace. */
void buf_rtrim(struct buf *b);

static inline bool buf_failed(const struct buf *b)
{
	return b->overflow;
}

#endif
