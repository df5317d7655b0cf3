#ifndef TESTS_UNIT_AWSP_TESTUTIL_H
#define TESTS_UNIT_AWSP_TESTUTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "providers/aws/client.h"
#include "providers/aws/http.h"
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

/*
 * A scripted transport: answers are queued in order and every request is
 * recorded.  Tests that use it run ops with concurrency 1 so the order
 * is deterministic.
 */
struct script_answer {
	long status; /* 0 = a transport failure of kind `failure` */
	char *body;
	enum awsp_http_failure failure;
	unsigned err_flags; /* for failures: RETRYABLE, OUTCOME_UNKNOWN */
	char *request_id;   /* the x-amzn-RequestId header, or NULL */
};

struct script_request {
	char *url;
	char *body;	/* form body as sent */
	char *headers;	/* "Name: value\n" lines */
	bool fresh;	/* fresh_connection was asked for */
	long budget_ms; /* the fence's bound on its timeouts, 0 = none */
};

struct script {
	pthread_mutex_t lock;
	struct script_answer *answers;
	size_t n_answers, next;
	struct script_request *reqs;
	size_t n_reqs;
	struct awsp_transport t;
};

void script_init(struct script *s);
void script_release(struct script *s);
/* Queue an answer: HTTP status with body (copied). */
void script_push(struct script *s, long status, const char *body);
/* Queue an answer whose x-amzn-RequestId header is rid. */
void script_push_rid(struct script *s, long status, const char *body,
		     const char *rid);
/* Queue the contents of tests/data/aws/NAME with status. */
void script_push_file(struct script *s, long status, const char *name);
/* Queue a transport failure. */
void script_push_fail(struct script *s, enum awsp_http_failure f,
		      unsigned err_flags);
/* Number of queued answers not consumed yet. */
size_t script_left(struct script *s);

/* Static test credentials for struct awsp_client_creds. */
int test_creds_get(void *ctx, struct awsp_credentials *ret,
		   struct util_err *err);
#define TEST_AKID   "AKIDEXAMPLE"
#define TEST_SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

/*
 * A client on s with the fake clock, a fixed random source (0.5), max
 * attempts and rate limits off unless limits is given.
 */
struct awsp_client *test_client(struct script *s, struct fake_clock *fc,
				unsigned max_attempts,
				const struct awsp_ratelimit_config *limits);

/*
 * The fixture of the op tests: a script, a fake clock at mono 0 and wall
 * 1700000000 (2023-11-14T22:13:20Z), and test_client() on them with 3
 * attempts.  cmocka setup/teardown: *state is the struct test_env;
 * teardown fails the test when scripted answers were left unused.
 */
struct test_env {
	struct script s;
	struct fake_clock fc;
	struct awsp_client *c;
};

int test_env_setup(void **state);
int test_env_teardown(void **state);

/* Whether the form body holds name=value (both already encoded). */
int body_has(const char *body, const char *pair);

#endif
