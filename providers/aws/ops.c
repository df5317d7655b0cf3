#include "providers/aws/ops.h"

#include <stdlib.h>
#include <string.h>

#include "providers/aws/xml.h"
#include "util/alloc.h"
#include "util/pool.h"
#include "util/banned.h"

size_t awsp_chunk_len(size_t total, size_t per, size_t i)
{
	size_t start = i * per;

	return total - start < per ? total - start : per;
}

void awsp_set_str(char **dst, const char *text)
{
	free(*dst);
	*dst = text && *text ? util_xstrdup(text) : NULL;
}

int awsp_parse_page(const char *xml, size_t len, const char *root,
		    const struct awsp_xml_handler *h, void *ctx, char **next,
		    char **ret_next, struct util_err *err)
{
	int r = awsp_xml_parse(xml, len, root, h, ctx, err);

	if (r == 0 && ret_next)
		*ret_next = *next;
	else
		free(*next);
	*next = NULL;
	return r;
}

void *awsp_array_append(void *dst, size_t n_dst, const void *src, size_t n_src,
			size_t size)
{
	if (!n_src)
		return dst;
	dst = util_xrealloc(dst, (n_dst + n_src) * size);
	memcpy((char *)dst + n_dst * size, src, n_src * size);
	return dst;
}

struct strv_view {
	const char *const *v;
};

static int cmp_idx(const void *a, const void *b, void *arg)
{
	const char *const *v = ((const struct strv_view *)arg)->v;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int c = strcmp(v[ia], v[ib]);

	if (c)
		return c;
	return ia < ib ? -1 : ia > ib;
}

const char **awsp_strv_unique(const char *const *v, size_t n, size_t *ret_n)
{
	size_t *idx = util_xcalloc(n ? n : 1, sizeof(*idx));
	bool *keep = util_xcalloc(n ? n : 1, sizeof(*keep));
	const char **out = util_xcalloc(n ? n : 1, sizeof(*out));
	struct strv_view view = { v };
	size_t k = 0;

	/* Sort indices by value, keep the first index of each run. */
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), cmp_idx, &view);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(v[idx[i]], v[idx[i - 1]]))
			keep[idx[i]] = true;
	for (size_t i = 0; i < n; i++)
		if (keep[i])
			out[k++] = v[i];
	free(idx);
	free(keep);
	*ret_n = k;
	return out;
}

struct par {
	int (*fn)(void *ctx, size_t i, struct util_err *err);
	void *ctx;
	struct util_err *errs;
	int *rcs;
};

static void par_one(void *arg, size_t i)
{
	struct par *p = arg;

	p->rcs[i] = p->fn(p->ctx, i, &p->errs[i]);
}

int awsp_ops_parallel(size_t n, unsigned conc,
		      int (*fn)(void *ctx, size_t i, struct util_err *err),
		      void *ctx, struct util_err *err)
{
	struct par p = { .fn = fn, .ctx = ctx };
	int r = 0;

	if (n == 0)
		return 0;
	p.errs = util_xcalloc(n, sizeof(*p.errs));
	p.rcs = util_xcalloc(n, sizeof(*p.rcs));
	util_parallel(n, conc, par_one, &p);
	for (size_t i = 0; i < n; i++) {
		if (p.rcs[i] < 0) {
			util_err_copy(err, &p.errs[i]);
			if (!util_err_isset(&p.errs[i]))
				util_err_set(err, p.rcs[i], "operation failed");
			r = p.rcs[i];
			break;
		}
	}
	free(p.errs);
	free(p.rcs);
	return r;
}

int awsp_call_parse(struct awsp_client *c, enum awsp_service svc,
		    struct awsp_query *q, const char *action, unsigned flags,
		    int (*parse)(void *ctx, const char *xml, size_t len,
				 struct util_err *err),
		    void *ctx, struct awsp_call_info *info,
		    struct util_err *err)
{
	struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
	struct awsp_call call = {
		.svc = svc, .action = action, .query = q, .flags = flags
	};
	int r;

	r = awsp_client_call(c, &call, &resp, info, err);
	if (r == 0 && parse) {
		r = parse(ctx, resp.body.buf, resp.body.len, err);
		if (r < 0)
			util_err_prefix(err, "%s %s", awsp_service(svc)->name,
					action);
	}
	awsp_http_response_release(&resp);
	return r;
}

int awsp_paginate(struct awsp_client *c, const struct awsp_pager *pg,
		  struct util_err *err)
{
	const char *version = awsp_service(pg->svc)->api_version;
	char *token = NULL;
	int r = 0;

	for (;;) {
		struct awsp_http_response resp = AWSP_HTTP_RESPONSE_INIT;
		struct awsp_query q;
		struct awsp_call call = { .svc = pg->svc,
					  .action = pg->action,
					  .query = &q,
					  .flags = pg->flags };
		char *next = NULL;

		awsp_query_init(&q, pg->action, version);
		pg->build(pg->ctx, &q);
		if (token)
			awsp_query_add(&q, pg->token_param, token);
		r = awsp_client_call(c, &call, &resp, NULL, err);
		if (r == 0) {
			r = pg->parse(pg->ctx, resp.body.buf, resp.body.len,
				      &next, err);
			if (r < 0)
				util_err_prefix(err, "%s %s",
						awsp_service(pg->svc)->name,
						pg->action);
		}
		awsp_http_response_release(&resp);
		awsp_query_release(&q);
		if (r == 0 && next && token && !strcmp(next, token))
			r = util_err_set(err, UTIL_EFAIL,
					 "%s %s: the pagination token did not "
					 "advance",
					 awsp_service(pg->svc)->name,
					 pg->action);
		free(token);
		token = next;
		if (r < 0 || !token)
			break;
	}
	free(token);
	return r;
}
