#include "tests/unit/support/awsp_testutil.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/banned.h"

static uint64_t fc_mono(void *ctx)
{
	struct fake_clock *fc = ctx;
	uint64_t v;

	pthread_mutex_lock(&fc->lock);
	v = fc->now_ms;
	pthread_mutex_unlock(&fc->lock);
	return v;
}

static time_t fc_wall(void *ctx)
{
	struct fake_clock *fc = ctx;
	time_t v;

	pthread_mutex_lock(&fc->lock);
	v = fc->wall + (time_t)(fc->now_ms / 1000);
	pthread_mutex_unlock(&fc->lock);
	return v;
}

static void fc_sleep(void *ctx, uint64_t ms)
{
	struct fake_clock *fc = ctx;

	pthread_mutex_lock(&fc->lock);
	fc->now_ms += ms;
	fc->slept_ms += ms;
	fc->sleeps++;
	pthread_mutex_unlock(&fc->lock);
}

void fake_clock_init(struct fake_clock *fc, uint64_t start_ms, time_t wall)
{
	memset(fc, 0, sizeof(*fc));
	pthread_mutex_init(&fc->lock, NULL);
	fc->now_ms = start_ms;
	fc->wall = wall;
	fc->clock.mono_ms = fc_mono;
	fc->clock.wall = fc_wall;
	fc->clock.sleep_ms = fc_sleep;
	fc->clock.ctx = fc;
}

void fake_clock_destroy(struct fake_clock *fc)
{
	pthread_mutex_destroy(&fc->lock);
}

void fake_clock_advance(struct fake_clock *fc, uint64_t ms)
{
	pthread_mutex_lock(&fc->lock);
	fc->now_ms += ms;
	pthread_mutex_unlock(&fc->lock);
}

char *test_data_read(const char *name, size_t *len)
{
	char path[512];
	struct buf b = BUF_INIT;
	char chunk[65536];
	FILE *f;
	size_t n;

	assert_true(snprintf(path, sizeof(path), "tests/data/aws/%s", name) <
		    (int)sizeof(path));
	f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	assert_false(ferror(f));
	fclose(f);
	return buf_detach(&b, len);
}
