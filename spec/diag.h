#ifndef SPEC_DIAG_H
#define SPEC_DIAG_H

#include <stdarg.h>

#include "spec/spec.h"

/*
 * Building a struct spec_diags (internal to spec/; callers read the
 * finished list through spec.h).
 *
 * Messages are one line: control characters in them (from quoted user
 * input) are replaced by '?'.  After SPEC_MAX_ERRORS errors, further
 * errors are dropped and one final "too many errors" entry is added, so a
 * hostile file cannot make the list grow without bound.
 */
#define SPEC_MAX_ERRORS 200
/* Longer messages are cut (with "...") so one line stays readable. */
#define SPEC_MAX_MSG	1024

void spec_diag_add(struct spec_diags *d, enum spec_severity sev,
		   struct spec_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void spec_diag_vadd(struct spec_diags *d, enum spec_severity sev,
		    struct spec_loc loc, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/*
 * Sort by line, then column, keeping the order of discovery among equals,
 * and drop exact repeats (an aliased node is visited once per alias).
 */
void spec_diag_finish(struct spec_diags *d);

/*
 * Copy at most about 60 bytes of s (never splitting a UTF-8 sequence) into
 * out, adding "..." when cut, so a long value quoted in a message keeps it
 * readable.  Returns out.
 */
#define SPEC_CLIP_SIZE 72
const char *spec_clip(const char *s, char out[SPEC_CLIP_SIZE]);

/*
 * "line 3", or "line 3, column 9" when first is on the line of here: how a
 * message refers to an earlier node ("duplicate key 'x' (first at line 3)").
 * Returns out.
 */
#define SPEC_WHERE_SIZE 48
const char *spec_where(struct spec_loc first, struct spec_loc here,
		       char out[SPEC_WHERE_SIZE]);

#endif
