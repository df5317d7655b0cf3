#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util/log.h"

struct seen {
	int n;
	char last[256];
	char event[64];
	enum util_log_level level;
	int nfields;
	char first_field[64];
};

static void sink(void *ctx, const struct util_log_event *ev)
{
	struct seen *s = ctx;

	s->n++;
	s->level = ev->level;
	snprintf(s->event, sizeof(s->event), "%s", ev->event);
	if (snprintf(s->last, sizeof(s->last), "%s%s%s",
		     ev->resource ? ev->resource : "", ev->resource ? ": " : "",
		     ev->msg) < 0)
		s->last[0] = '\0';
	s->nfields = 0;
	s->first_field[0] = '\0';
	for (const char *const *f = ev->fields; f && *f; f += 2)
		if (s->nfields++ == 0)
			snprintf(s->first_field, sizeof(s->first_field),
				 "%s=%s", f[0], f[1]);
}

static void test_levels_and_sink(void **state)
{
	struct seen s = { 0 };
	const char *const fields[] = { "attempt", "2", "status", "503", NULL };

	(void)state;
	/* No sink: dropped, and nothing crashes. */
	util_log(UTIL_LOG_ERROR, "x", NULL, "dropped");
	util_log_set_sink(sink, &s, UTIL_LOG_INFO);
	util_log(UTIL_LOG_DEBUG, "http_exchange", NULL, "below threshold");
	assert_int_equal(s.n, 0);
	util_log(UTIL_LOG_WARN, "spec_invalid", "web.yaml", "bad\nline %d", 3);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.level, UTIL_LOG_WARN);
	assert_string_equal(s.event, "spec_invalid");
	/* Events are one line even when a message is not. */
	assert_string_equal(s.last, "web.yaml: bad line 3");
	util_log_fields(UTIL_LOG_INFO, "retry", NULL, fields, "retrying");
	assert_int_equal(s.nfields, 2);
	assert_false(util_log_enabled(UTIL_LOG_DEBUG));
	assert_true(util_log_enabled(UTIL_LOG_ERROR));
	/* A thread working for one spec of several says which. */
	util_log_set_thread_spec("web");
	util_log_fields(UTIL_LOG_INFO, "retry", NULL, fields, "retrying");
	assert_int_equal(s.nfields, 3);
	assert_string_equal(s.first_field, "spec=web");
	util_log(UTIL_LOG_INFO, "reconcile", NULL, "ok");
	assert_int_equal(s.nfields, 1);
	util_log_set_thread_spec(NULL);
	util_log(UTIL_LOG_INFO, "reconcile", NULL, "ok");
	assert_int_equal(s.nfields, 0);
	util_log_set_sink(NULL, NULL, UTIL_LOG_DEBUG);
	assert_false(util_log_enabled(UTIL_LOG_ERROR));
	assert_string_equal(util_log_level_name(UTIL_LOG_WARN), "warn");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels_and_sink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
