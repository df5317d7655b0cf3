#ifndef TESTS_UNIT_SUPPORT_SPEC_TESTUTIL_H
#define TESTS_UNIT_SUPPORT_SPEC_TESTUTIL_H

#include <stddef.h>

#include "spec/spec.h"
#include "util/err.h"

/*
 * Helpers for the spec/ unit tests: loading YAML text as "t.yaml",
 * printing diagnostics, and running a table of invalid specs.
 */

#define V1	 "version: 1\n"
#define ID_A	 "i-0123456789abcdef0"
#define ID_B	 "i-0fedcba9876543210"
#define ID_C	 "i-0aaaaaaaaaaaaaaaa"
#define ID_D	 "i-0bbbbbbbbbbbbbbbb"
/* A classic ELB whose members follow, indented for a list item. */
#define CLASSIC	 V1 "load_balancers:\n  - classic: web\n    members:\n"
#define TG	 V1 "load_balancers:\n  - target_group: web-tg\n    members:\n"
#define EIPS_KEY "elastic_ips:\n"
#define EIPS	 V1 EIPS_KEY

/* spec_load_buffer of yaml as "t.yaml". */
int tspec_load(const char *yaml, struct spec **ret, struct spec_diags *d,
	       struct util_err *err);

/* Prints every diagnostic of d (for a failing test's output). */
void tspec_dump(const struct spec_diags *d);

/* Loads yaml; fails the test unless it is valid. */
struct spec *tspec_load_ok(const char *yaml, struct spec_diags *d);

/* An invalid spec and its first error, after sorting. */
struct tspec_bad {
	const char *name;
	const char *yaml;
	unsigned line, col; /* of the first error, after sorting */
	const char *frag;   /* part of its message */
};

/*
 * Loads each case; returns how many were not refused with that first
 * error (each such case is printed with its diagnostics).
 */
size_t tspec_check_bad(const struct tspec_bad *cases, size_t n);

#endif
