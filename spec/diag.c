#include "spec/diag.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/banned.h"

void spec_diag_vadd(struct spec_diags *d, enum spec_severity sev,
		    struct spec_loc loc, const char *fmt, va_list ap)
{
	struct spec_diag *g;
	struct buf b = BUF_INIT;

	if (sev == SPEC_ERROR && d->n_errors > SPEC_MAX_ERRORS)
		return;
	if (sev == SPEC_WARNING && d->n - d->n_errors >= SPEC_MAX_ERRORS)
		return;
	if (sev == SPEC_ERROR && d->n_errors == SPEC_MAX_ERRORS)
		buf_addf(&b, "too many errors, stopping after %u",
			 SPEC_MAX_ERRORS);
	else
		buf_vaddf(&b, fmt, ap);
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.buf[i] < 0x20 || b.buf[i] == 0x7f)
			b.buf[i] = '?';
	/* Values quoted in messages are clipped; this is the backstop. */
	if (b.len > SPEC_MAX_MSG) {
		size_t cut = SPEC_MAX_MSG - 3;

		while (cut > 0 && ((unsigned char)b.buf[cut] & 0xc0) == 0x80)
			cut--;
		buf_setlen(&b, cut);
		buf_addstr(&b, "...");
	}
	d->v = util_xrealloc(d->v, (d->n + 1) * sizeof(*d->v));
	g = &d->v[d->n++];
	g->severity = sev;
	g->line = loc.line;
	g->col = loc.col;
	g->msg = buf_detach(&b, NULL);
	if (sev == SPEC_ERROR)
		d->n_errors++;
}

void spec_diag_add(struct spec_diags *d, enum spec_severity sev,
		   struct spec_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spec_diag_vadd(d, sev, loc, fmt, ap);
	va_end(ap);
}

struct ranked {
	struct spec_diag diag;
	size_t seq;
};

static int cmp_ranked(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;

	if (a->diag.line != b->diag.line)
		return a->diag.line < b->diag.line ? -1 : 1;
	if (a->diag.col != b->diag.col)
		return a->diag.col < b->diag.col ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static bool same_diag(const struct spec_diag *a, const struct spec_diag *b)
{
	return a->line == b->line && a->col == b->col &&
	       a->severity == b->severity && !strcmp(a->msg, b->msg);
}

void spec_diag_finish(struct spec_diags *d)
{
	struct ranked *r;
	size_t i, out = 0;

	if (d->n < 2)
		return;
	r = util_xmalloc(d->n * sizeof(*r));
	for (i = 0; i < d->n; i++) {
		r[i].diag = d->v[i];
		r[i].seq = i;
	}
	qsort(r, d->n, sizeof(*r), cmp_ranked);
	d->n_errors = 0;
	for (i = 0; i < d->n; i++) {
		/*
		 * Repeats are adjacent unless another message sits at the
		 * same place in between; look back over that run.
		 */
		bool dup = false;

		for (size_t j = out; j-- > 0;) {
			if (d->v[j].line != r[i].diag.line ||
			    d->v[j].col != r[i].diag.col)
				break;
			if (same_diag(&d->v[j], &r[i].diag)) {
				dup = true;
				break;
			}
		}
		if (dup) {
			free(r[i].diag.msg);
			continue;
		}
		d->v[out++] = r[i].diag;
		if (r[i].diag.severity == SPEC_ERROR)
			d->n_errors++;
	}
	d->n = out;
	free(r);
}

void spec_diags_release(struct spec_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].msg);
	free(d->v);
	free(d->path);
	memset(d, 0, sizeof(*d));
}

void spec_diag_format(const struct spec_diags *d, size_t i, struct buf *out)
{
	const struct spec_diag *g = &d->v[i];

	buf_addstr(out, d->path ? d->path : "<spec>");
	if (g->line)
		buf_addf(out, ":%u:%u", g->line, g->col);
	buf_addstr(out, ": ");
	if (g->severity == SPEC_WARNING)
		buf_addstr(out, "warning: ");
	buf_addstr(out, g->msg);
}

const char *spec_clip(const char *s, char out[SPEC_CLIP_SIZE])
{
	size_t n = strlen(s), cut = 60;

	if (n <= SPEC_CLIP_SIZE - 1) {
		memcpy(out, s, n + 1);
		return out;
	}
	/* Back up to the start of a UTF-8 sequence. */
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	memcpy(out, s, cut);
	memcpy(out + cut, "...", 4);
	return out;
}

const char *spec_where(struct spec_loc first, struct spec_loc here,
		       char out[SPEC_WHERE_SIZE])
{
	int n;

	if (first.line == here.line)
		n = snprintf(out, SPEC_WHERE_SIZE, "line %u, column %u",
			     first.line, first.col);
	else
		n = snprintf(out, SPEC_WHERE_SIZE, "line %u", first.line);
	if (n < 0)
		out[0] = '\0';
	return out;
}
