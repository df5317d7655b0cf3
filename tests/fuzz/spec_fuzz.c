/*
 * libFuzzer target for the spec parser: any bytes in, and the parser must
 * neither crash, leak nor hang, and its result must be self-consistent.
 * Build with `make fuzz` (clang, libfuzzer-14-dev) and run
 *   build-fuzz/spec_fuzz -max_len=4096 tests/fuzz/corpus/spec
 * `make test` replays the corpus through tests/fuzz/standalone.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spec/spec.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/banned.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_diags(const struct spec_diags *d)
{
	struct buf b = BUF_INIT;
	size_t errors = 0;

	for (size_t i = 0; i < d->n; i++) {
		const struct spec_diag *g = &d->v[i];

		/* Sorted by position, every one with a place to point at. */
		check(g->line >= 1 && g->col >= 1);
		if (i)
			check(d->v[i - 1].line < g->line ||
			      (d->v[i - 1].line == g->line &&
			       d->v[i - 1].col <= g->col));
		if (g->severity == SPEC_ERROR)
			errors++;
		buf_reset(&b);
		spec_diag_format(d, i, &b);
		/* One line each, nothing that could fake another. */
		check(!memchr(b.buf, '\n', b.len) &&
		      !memchr(b.buf, '\r', b.len));
	}
	check(errors == d->n_errors);
	buf_release(&b);
}

static void check_spec(const struct spec *s)
{
	size_t lbs, members, eips;

	spec_counts(s, &lbs, &members, &eips);
	check(s->version == 1 && lbs + eips > 0);
	for (size_t i = 0; i < s->n_lbs; i++) {
		const struct spec_lb *lb = &s->lbs[i];

		check(lb->name != NULL && lb->timeout_ms > 0);
		for (size_t j = 0; j < lb->n_members; j++) {
			const struct spec_member *m = &lb->members[j];

			check(m->kind != SPEC_MEMBER_ID || m->id);
			check(m->kind != SPEC_MEMBER_IP || m->ip);
			check(m->kind != SPEC_MEMBER_SELECTOR ||
			      (m->n_tags && m->n_states));
		}
	}
	for (size_t i = 0; i < s->n_eips; i++) {
		const struct spec_eip *e = &s->eips[i];

		check(strcmp(spec_eip_label(e), "?") != 0);
		check(e->bind != SPEC_BIND_INSTANCE || e->instance);
		check(e->bind != SPEC_BIND_ENI || e->eni);
		if (e->bind == SPEC_BIND_FAILOVER) {
			check(e->failover.n_candidates > 0);
			check(e->failover.timeout_ms < e->failover.interval_ms);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spec_diags d = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct spec *s = NULL;
	int r;

	r = spec_load_buffer("fuzz.yaml", (const char *)data, size, &s, &d,
			     &err);
	check(r == 0 || r == UTIL_EINVAL);
	check_diags(&d);
	if (r == 0) {
		check(s != NULL && d.n_errors == 0);
		check_spec(s);
	} else {
		check(s == NULL && d.n_errors > 0 && err.code == UTIL_EINVAL);
	}
	spec_free(s);
	spec_diags_release(&d);
	return 0;
}
