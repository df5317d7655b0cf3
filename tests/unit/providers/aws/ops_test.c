/*
 * The helpers every operation is built from (ops.c): chunking, de-
 * duplication, parallel runs with the lowest failure reported, one call
 * with its parse, pagination to the end (and not forever), and list
 * plumbing.  Calls go through the scripted transport.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "providers/aws/ops.h"
#include "providers/aws/xml.h"
#include "tests/unit/support/awsp_testutil.h"
#include "util/alloc.h"
#include "util/strv.h"

static void test_chunk_len(void **state)
{
	(void)state;
	assert_int_equal(awsp_chunk_len(450, 200, 0), 200);
	assert_int_equal(awsp_chunk_len(450, 200, 1), 200);
	assert_int_equal(awsp_chunk_len(450, 200, 2), 50);
	assert_int_equal(awsp_chunk_len(400, 200, 1), 200);
	assert_int_equal(awsp_chunk_len(5, 200, 0), 5);
}

static void test_strv_unique(void **state)
{
	const char *v[] = { "b", "a", "b", "c", "a", "b" };
	const char **u;
	size_t n = 99;

	(void)state;
	u = awsp_strv_unique(v, 6, &n);
	/* First-seen order, pointers into v. */
	assert_int_equal(n, 3);
	assert_ptr_equal(u[0], v[0]);
	assert_ptr_equal(u[1], v[1]);
	assert_ptr_equal(u[2], v[3]);
	free(u);
	u = awsp_strv_unique(v, 0, &n);
	assert_int_equal(n, 0);
	free(u);
}

struct par_fx {
	pthread_mutex_t lock;
	unsigned calls[8];
};

/* Items 2 and 5 fail; 5 without saying why. */
static int par_fn(void *ctx, size_t i, struct util_err *err)
{
	struct par_fx *f = ctx;

	pthread_mutex_lock(&f->lock);
	f->calls[i]++;
	pthread_mutex_unlock(&f->lock);
	if (i == 2)
		return util_err_set(err, UTIL_EAWS, "item two failed");
	if (i == 5)
		return UTIL_ETRANSPORT;
	return 0;
}

static void test_parallel_lowest_failure(void **state)
{
	struct par_fx f = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	for (unsigned conc = 1; conc <= 4; conc += 3) {
		memset(f.calls, 0, sizeof(f.calls));
		util_err_clear(&err);
		assert_int_equal(awsp_ops_parallel(8, conc, par_fn, &f, &err),
				 UTIL_EAWS);
		assert_string_equal(err.msg, "item two failed");
		/* Every item ran, once. */
		for (size_t i = 0; i < 8; i++)
			assert_int_equal(f.calls[i], 1);
	}
	/* Nothing to run. */
	memset(f.calls, 0, sizeof(f.calls));
	util_err_clear(&err);
	assert_int_equal(awsp_ops_parallel(0, 4, par_fn, &f, &err), 0);
	assert_int_equal(f.calls[0], 0);
}

static int only_five_fn(void *ctx, size_t i, struct util_err *err)
{
	(void)ctx;
	(void)err;
	return i == 5 ? UTIL_ETRANSPORT : 0;
}

static void test_parallel_failure_without_message(void **state)
{
	struct util_err err = UTIL_ERR_INIT;

	(void)state;
	assert_int_equal(awsp_ops_parallel(6, 2, only_five_fn, NULL, &err),
			 UTIL_ETRANSPORT);
	assert_int_equal(err.code, UTIL_ETRANSPORT);
	assert_string_equal(err.msg, "operation failed");
}

static void test_set_str_and_append(void **state)
{
	char *s = NULL;
	int *v = NULL;
	const int more[] = { 3, 4 };

	(void)state;
	awsp_set_str(&s, "x");
	assert_string_equal(s, "x");
	awsp_set_str(&s, "y"); /* the old one is freed (LeakSanitizer) */
	assert_string_equal(s, "y");
	awsp_set_str(&s, "");
	assert_null(s);
	awsp_set_str(&s, NULL);
	assert_null(s);

	v = awsp_array_append(v, 0, more, 2, sizeof(*v));
	v = awsp_array_append(v, 2, more, 1, sizeof(*v));
	assert_int_equal(v[0], 3);
	assert_int_equal(v[1], 4);
	assert_int_equal(v[2], 3);
	/* Nothing to append: the same array back. */
	assert_ptr_equal(awsp_array_append(v, 3, more, 0, sizeof(*v)), v);
	free(v);
}

/* A page: <R><item>..</item>...<next>..</next></R>. */
struct page {
	char **items;
	size_t n;
	char *next; /* the page's token, for awsp_parse_page */
	unsigned pages;
};

static int page_text(void *ctx, const char *path, const char *text, size_t len,
		     struct util_err *err)
{
	struct page *p = ctx;

	(void)len;
	if (!strcmp(path, "item"))
		util_strv_push(&p->items, &p->n, text);
	else if (!strcmp(path, "next"))
		awsp_set_str(&p->next, text);
	else if (!strcmp(path, "bad"))
		return util_err_set(err, UTIL_EINVAL, "bad element");
	return 0;
}

static const struct awsp_xml_handler page_h = { .text = page_text };

static int page_parse(void *ctx, const char *xml, size_t len, char **ret_next,
		      struct util_err *err)
{
	struct page *p = ctx;

	p->pages++;
	return awsp_parse_page(xml, len, "R", &page_h, p, &p->next, ret_next,
			       err);
}

static void test_parse_page(void **state)
{
	static const char ok[] = "<R><item>a</item><next>t1</next></R>";
	static const char bad[] = "<R><item>b</item><next>t2</next><bad/></R>";
	struct page p = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	char *next = NULL;

	(void)state;
	assert_int_equal(page_parse(&p, ok, strlen(ok), &next, &err), 0);
	assert_string_equal(next, "t1");
	assert_null(p.next);
	free(next);
	/* No one wants the token: freed (LeakSanitizer). */
	assert_int_equal(page_parse(&p, ok, strlen(ok), NULL, &err), 0);
	assert_null(p.next);
	/* A failed page hands no token out. */
	next = NULL;
	assert_int_equal(page_parse(&p, bad, strlen(bad), &next, &err),
			 UTIL_EINVAL);
	assert_null(next);
	assert_null(p.next);
	util_strv_free(p.items, p.n);
}

static void page_build(void *ctx, struct awsp_query *q)
{
	(void)ctx;
	awsp_query_add(q, "Filter.1.Name", "x");
}

static void test_paginate_follows_tokens(void **state)
{
	struct test_env *e = *state;
	struct page p = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	const struct awsp_pager pg = { .svc = AWSP_SVC_EC2,
				       .action = "DescribeThings",
				       .token_param = "NextToken",
				       .build = page_build,
				       .parse = page_parse,
				       .ctx = &p };

	script_push(&e->s, 200, "<R><item>a</item><next>t1</next></R>");
	script_push(&e->s, 200, "<R><item>b</item><next>t2</next></R>");
	script_push(&e->s, 200, "<R><item>c</item></R>");
	assert_int_equal(awsp_paginate(e->c, &pg, &err), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.items[2], "c");
	assert_int_equal(e->s.n_reqs, 3);
	assert_false(body_has(e->s.reqs[0].body, "NextToken=t1"));
	assert_true(body_has(e->s.reqs[0].body, "Filter.1.Name=x"));
	assert_true(body_has(e->s.reqs[1].body, "NextToken=t1"));
	assert_true(body_has(e->s.reqs[1].body, "Filter.1.Name=x"));
	assert_true(body_has(e->s.reqs[2].body, "NextToken=t2"));
	util_strv_free(p.items, p.n);
}

static void test_paginate_stops(void **state)
{
	struct test_env *e = *state;
	struct page p = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	const struct awsp_pager pg = { .svc = AWSP_SVC_EC2,
				       .action = "DescribeThings",
				       .token_param = "NextToken",
				       .build = page_build,
				       .parse = page_parse,
				       .ctx = &p };

	/* A token that does not advance would loop forever. */
	script_push(&e->s, 200, "<R><item>a</item><next>t1</next></R>");
	script_push(&e->s, 200, "<R><item>b</item><next>t1</next></R>");
	assert_int_equal(awsp_paginate(e->c, &pg, &err), UTIL_EFAIL);
	assert_string_equal(err.msg, "ec2 DescribeThings: the pagination "
				     "token did not advance");
	/* A page that does not parse ends it, named. */
	util_err_clear(&err);
	script_push(&e->s, 200, "<R><item>c</item><next>t3</next></R>");
	script_push(&e->s, 200, "<R><bad/></R>");
	assert_int_equal(awsp_paginate(e->c, &pg, &err), UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "ec2 DescribeThings"));
	assert_non_null(strstr(err.msg, "bad element"));
	util_strv_free(p.items, p.n);
}

static int count_parse(void *ctx, const char *xml, size_t len,
		       struct util_err *err)
{
	struct page *p = ctx;

	p->pages++;
	return awsp_parse_page(xml, len, "R", &page_h, p, &p->next, NULL, err);
}

static void test_call_parse(void **state)
{
	struct test_env *e = *state;
	struct page p = { 0 };
	struct util_err err = UTIL_ERR_INIT;
	struct awsp_query q;

	awsp_query_init(&q, "DoIt", "2016-11-15");
	script_push(&e->s, 200, "<R><item>a</item></R>");
	assert_int_equal(awsp_call_parse(e->c, AWSP_SVC_EC2, &q, "DoIt", 0,
					 count_parse, &p, NULL, &err),
			 0);
	assert_int_equal(p.pages, 1);
	assert_string_equal(p.items[0], "a");
	assert_true(body_has(e->s.reqs[0].body, "Action=DoIt"));

	/* A parse failure is named by service and action. */
	script_push(&e->s, 200, "<R><bad/></R>");
	assert_int_equal(awsp_call_parse(e->c, AWSP_SVC_EC2, &q, "DoIt", 0,
					 count_parse, &p, NULL, &err),
			 UTIL_EINVAL);
	assert_non_null(strstr(err.msg, "ec2 DoIt: "));

	/* An AWS error is not parsed as an answer. */
	util_err_clear(&err);
	p.pages = 0;
	script_push(&e->s, 400,
		    "<Response><Errors><Error><Code>UnauthorizedOperation"
		    "</Code><Message>no</Message></Error></Errors>"
		    "<RequestID>r-1</RequestID></Response>");
	assert_int_equal(awsp_call_parse(e->c, AWSP_SVC_EC2, &q, "DoIt", 0,
					 count_parse, &p, NULL, &err),
			 UTIL_EAWS);
	assert_int_equal(p.pages, 0);
	assert_string_equal(err.aws_code, "UnauthorizedOperation");
	/* No parse at all. */
	script_push(&e->s, 200, "<anything/>");
	assert_int_equal(awsp_call_parse(e->c, AWSP_SVC_EC2, &q, "DoIt", 0,
					 NULL, NULL, NULL, &err),
			 0);
	awsp_query_release(&q);
	util_strv_free(p.items, p.n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunk_len),
		cmocka_unit_test(test_strv_unique),
		cmocka_unit_test(test_parallel_lowest_failure),
		cmocka_unit_test(test_parallel_failure_without_message),
		cmocka_unit_test(test_set_str_and_append),
		cmocka_unit_test(test_parse_page),
		cmocka_unit_test_setup_teardown(test_paginate_follows_tokens,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_paginate_stops,
						test_env_setup,
						test_env_teardown),
		cmocka_unit_test_setup_teardown(test_call_parse, test_env_setup,
						test_env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
