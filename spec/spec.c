#include "spec/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec/diag.h"
#include "spec/internal.h"
#include "spec/node.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/file.h"
#include "util/banned.h"

static void too_large(struct spec_diags *d, unsigned long long size)
{
	struct spec_loc top = { 1, 1 };

	spec_diag_add(d, SPEC_ERROR, top,
		      "the spec is larger than %u MiB (%llu bytes): refusing "
		      "to parse it",
		      SPEC_MAX_FILE_SIZE / (1024 * 1024), size);
}

/* The err summary of a failed load: the first error, and how many more. */
static int summarize(const struct spec_diags *d, struct util_err *err)
{
	const struct spec_diag *first = NULL;

	for (size_t i = 0; i < d->n && !first; i++)
		if (d->v[i].severity == SPEC_ERROR)
			first = &d->v[i];
	if (!first)
		return util_err_set(err, UTIL_EINVAL, "%s: invalid spec",
				    d->path);
	if (d->n_errors == 1)
		return util_err_set_loc(err, d->path, first->line, first->col,
					"%s", first->msg);
	return util_err_set_loc(err, d->path, first->line, first->col,
				"%s (and %zu more error%s)", first->msg,
				d->n_errors - 1, d->n_errors == 2 ? "" : "s");
}

/* The base name of path without .yaml/.yml; the caller frees it. */
static char *default_name(const char *path)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".yaml"))
		len -= 5;
	else if (len > 4 && !strcmp(base + len - 4, ".yml"))
		len -= 4;
	return util_xstrndup(base, len);
}

int spec_load_buffer(const char *path, const char *data, size_t len,
		     struct spec **ret, struct spec_diags *diags,
		     struct util_err *err)
{
	struct spec_doc doc = SPEC_DOC_INIT;
	struct spec *s = NULL;
	int r = UTIL_EINVAL;

	if (!path)
		path = "<spec>";
	if (!diags->path)
		diags->path = util_xstrdup(path);
	if (len > SPEC_MAX_FILE_SIZE) {
		too_large(diags, len);
		goto out;
	}
	s = util_xcalloc(1, sizeof(*s));
	s->path = util_xstrdup(path);
	util_sha256_hex(data, len, s->sha256);
	if (spec_doc_parse(&doc, data, len, diags) == 0) {
		spec_decode(doc.root, s, diags);
		spec_check(s, diags);
	}
	spec_doc_release(&doc);
	if (!s->name)
		s->name = default_name(path);
	spec_diag_finish(diags);
	if (diags->n_errors)
		goto out;
	*ret = s;
	s = NULL;
	r = 0;
out:
	if (r < 0)
		summarize(diags, err);
	spec_free(s);
	return r;
}

int spec_load_file(const char *path, struct spec **ret,
		   struct spec_diags *diags, struct util_err *err)
{
	struct buf b = BUF_INIT;
	struct util_read_fail f;
	int r;

	if (!diags->path)
		diags->path = util_xstrdup(path);
	r = util_read_file(path, SPEC_MAX_FILE_SIZE, &b, &f, NULL);
	if (r == UTIL_ELIMIT) {
		too_large(diags, f.size);
		spec_diag_finish(diags);
		summarize(diags, err);
		r = UTIL_EINVAL;
	} else if (r < 0) {
		r = util_err_set(err, UTIL_EIO, "cannot read spec '%s': %s",
				 path, strerror(f.errnum));
	} else {
		r = spec_load_buffer(path, b.buf, b.len, ret, diags, err);
	}
	buf_release(&b);
	return r;
}

bool spec_probe_reads_aws(enum spec_probe_kind k)
{
	return k == SPEC_PROBE_TARGET_HEALTH ||
	       k == SPEC_PROBE_INSTANCE_HEALTH ||
	       k == SPEC_PROBE_INSTANCE_STATUS;
}

static void probe_release(struct spec_probe *p)
{
	free(p->http_url);
	free(p->tcp_host);
	free(p->aws_ref);
}

void spec_free(struct spec *s)
{
	if (!s)
		return;
	free(s->name);
	for (size_t i = 0; i < s->n_lbs; i++) {
		struct spec_lb *lb = &s->lbs[i];

		for (size_t j = 0; j < lb->n_members; j++) {
			struct spec_member *m = &lb->members[j];

			free(m->id);
			for (size_t k = 0; k < m->n_tags; k++) {
				free(m->tags[k].key);
				free(m->tags[k].value);
			}
			free(m->tags);
			for (size_t k = 0; k < m->n_states; k++)
				free(m->states[k]);
			free(m->states);
			free(m->ip);
			free(m->az);
		}
		free(lb->members);
		free(lb->name);
	}
	free(s->lbs);
	for (size_t i = 0; i < s->n_eips; i++) {
		struct spec_eip *e = &s->eips[i];

		free(e->allocation_id);
		free(e->public_ip);
		free(e->name);
		free(e->instance);
		free(e->eni);
		free(e->private_ip);
		for (size_t j = 0; j < e->failover.n_candidates; j++) {
			free(e->failover.candidates[j].instance);
			probe_release(&e->failover.candidates[j].probe);
		}
		free(e->failover.candidates);
		probe_release(&e->failover.probe);
	}
	free(s->eips);
	free(s->region);
	free(s->path);
	free(s);
}

void spec_counts(const struct spec *s, size_t *ret_lbs, size_t *ret_members,
		 size_t *ret_eips)
{
	size_t members = 0;

	for (size_t i = 0; i < s->n_lbs; i++)
		members += s->lbs[i].n_members;
	if (ret_lbs)
		*ret_lbs = s->n_lbs;
	if (ret_members)
		*ret_members = members;
	if (ret_eips)
		*ret_eips = s->n_eips;
}
