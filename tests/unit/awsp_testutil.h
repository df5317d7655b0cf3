#ifndef TESTS_UNIT_AWSP_TESTUTIL_H
#define TESTS_UNIT_AWSP_TESTUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/clock.h"

/*
 * Helpers shared by the providers/aws unit tests: a manual clock whose
 * sleeps advance time (thread-safe), and test data files.
 */
struct fake_clock {
	pthread_mutex_t lock;
	uint64_t now_ms;
	time_t wall;
	uint64_t slept_ms; /* total of all sleeps */
	unsigned sleeps;   /* number of sleeps */
	struct util_clock clock;
};

void fake_clock_init(struct fake_clock *fc, uint64_t start_ms, time_t wall);
void fake_clock_destroy(struct fake_clock *fc);
void fake_clock_advance(struct fake_clock *fc, uint64_t ms);

/*
 * Contents of tests/data/aws/NAME (the tests run from the repo root), as a
 * malloc'd NUL-terminated string; *len receives its length if non-NULL.
 * Fails the test when the file cannot be read.
 */
char *test_data_read(const char *name, size_t *len);

#endif
