#ifndef TESTS_UNIT_CREDS_TESTUTIL_H
#define TESTS_UNIT_CREDS_TESTUTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "providers/aws/awsconfig.h"
#include "providers/aws/creds.h"
#include "providers/aws/env.h"
#include "providers/aws/http.h"
#include "tests/unit/support/awsp_testutil.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * The fixture of the credential chain suites (creds_test, creds_sts_test,
 * creds_metadata_test, creds_process_test): a scripted transport, the
 * manual clock of awsp_testutil.h, an environment table, shared files
 * from text and a scratch directory.
 */

#define T0 ((time_t)1767225600) /* 2026-01-01T00:00:00Z */

/* The wall clock jumps to wall; the monotonic clock does not move. */
void tclock_set(struct fake_clock *fc, time_t wall);

/* --- a scripted transport -------------------------------------------- */

struct exch {
	const char *method;
	const char *url;
	long status; /* 0 = no answer (connection refused) */
	const char *body;
};

struct seen {
	char *method;
	char *url;
	struct buf headers; /* "name: value\n" each */
	struct buf body;
	long timeout_ms;
	bool sensitive;
};

struct fake_net {
	pthread_mutex_t lock;
	const struct exch *script;
	size_t n, next;
	struct seen seen[32];
	size_t n_seen;
	char problem[256]; /* first unexpected request, checked afterwards */
	/*
	 * Real time each answer takes, so that concurrent callers pile up
	 * behind a refresh (the outcome checked never depends on it).
	 */
	long delay_ms;
};

/* The script was followed exactly and completely. */
void net_done(struct fake_net *f);

/* Value of header name in a seen request, or NULL (static buffer). */
const char *seen_header(const struct seen *s, const char *name);

/* --- fixtures ---------------------------------------------------------- */

/*
 * The clock starts at T0 (monotonic 1000000 ms), the region is us-east-1,
 * no shared files and an empty environment; dir is a fresh directory.
 */
struct fixture {
	struct fake_clock clock;
	struct fake_net net;
	struct awsp_transport transport;
	struct awsp_env env;
	const char *vars[24];
	struct awsp_config *config;
	struct awsp_creds_config cfg;
	char dir[64];
};

void fx_init(struct fixture *fx, const struct exch *script, size_t n);

/* Add "NAME=value" (not copied) to the environment. */
void fx_setenv(struct fixture *fx, const char *assignment);

/* Shared files from text; the paths are for messages only. */
void fx_files(struct fixture *fx, const char *config, const char *credentials,
	      const char *profile);

/* Write text to dir/name; returns the path (the caller frees it). */
char *fx_write(struct fixture *fx, const char *name, const char *text);

/* Remove files (NULL-terminated names in dir, or NULL) and dir, free all. */
void fx_release(struct fixture *fx, const char *const *files);

/* A credential chain on the fixture's config (the caller frees it). */
struct awsp_creds *fx_creds(struct fixture *fx);

/* Get and check the access key id; returns 0 or the error code. */
int get_akid(struct awsp_creds *c, const char *want, struct util_err *err);

/* Fails the test when the formatted error quotes secret. */
void no_secret(const struct util_err *err, const char *secret);

/* An STS <action>Response with these credentials (the caller frees it). */
char *sts_ok(const char *action, const char *akid, const char *secret,
	     const char *token, time_t exp);

/* Re-sign a seen request with the given keys: the signature must match. */
void check_signed(const struct seen *s, const char *akid, const char *secret,
		  const char *region);

/*
 * Role profiles (dev, chained, self, fromenv and misconfigured ones) and
 * the credentials file of their source profile "base".
 */
extern const char ROLE_CONFIG[];
extern const char ROLE_CREDENTIALS[];

#endif
