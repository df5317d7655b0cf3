#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "tests/unit/support/spec_testutil.h"

#include "util/buf.h"

int tspec_load(const char *yaml, struct spec **ret, struct spec_diags *d,
	       struct util_err *err)
{
	return spec_load_buffer("t.yaml", yaml, strlen(yaml), ret, d, err);
}

static const struct spec_diag *first_error(const struct spec_diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].severity == SPEC_ERROR)
			return &d->v[i];
	return NULL;
}

void tspec_dump(const struct spec_diags *d)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < d->n; i++) {
		buf_reset(&b);
		spec_diag_format(d, i, &b);
		print_message("  %s\n", b.buf);
	}
	buf_release(&b);
}

struct spec *tspec_load_ok(const char *yaml, struct spec_diags *d)
{
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;

	if (tspec_load(yaml, &s, d, &err) != 0) {
		tspec_dump(d);
		fail_msg("expected a valid spec");
	}
	assert_non_null(s);
	assert_int_equal(d->n_errors, 0);
	return s;
}

size_t tspec_check_bad(const struct tspec_bad *cases, size_t n)
{
	size_t failed = 0;

	for (size_t i = 0; i < n; i++) {
		const struct tspec_bad *c = &cases[i];
		struct spec_diags d = { 0 };
		struct util_err err = UTIL_ERR_INIT;
		struct spec *s = NULL;
		const struct spec_diag *g;
		int r = tspec_load(c->yaml, &s, &d, &err);

		g = first_error(&d);
		if (r != UTIL_EINVAL || s || !g || g->line != c->line ||
		    g->col != c->col || !strstr(g->msg, c->frag) ||
		    err.code != UTIL_EINVAL) {
			print_message("case '%s': want %u:%u '%s', got r=%d:\n",
				      c->name, c->line, c->col, c->frag, r);
			tspec_dump(&d);
			failed++;
		}
		spec_free(s);
		spec_diags_release(&d);
	}
	return failed;
}
