#ifndef RECONCILER_PLANFILE_H
#define RECONCILER_PLANFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "reconciler/plan.h"
#include "util/err.h"

struct buf;

/*
 * Plans as JSON: the schema of `moor plan --format json` and of saved
 * plans (`moor plan -o FILE`, `moor apply FILE`), documented in
 * docs/plan-json.md.  Writing then reading a plan gives back the same
 * plan (every field the engine uses round-trips).
 */

/* Append p as pretty-printed JSON (with a final newline) to out. */
int rc_plan_to_json(const struct rc_plan *p, struct buf *out,
		    struct util_err *err);

/*
 * Parse a plan; path is used in messages only.  On success *ret is a new
 * plan (caller frees with rc_plan_free()).  UTIL_EINVAL for malformed
 * JSON, a missing or mistyped field, or an unsupported format_version.
 */
int rc_plan_from_json(const char *path, const char *data, size_t len,
		      struct rc_plan **ret, struct util_err *err);

/* Write atomically (temporary file + rename), mode 0644. */
int rc_plan_save(const struct rc_plan *p, const char *path,
		 struct util_err *err);

/* Heuristic for `moor apply FILE`: does data look like a saved plan? */
bool rc_plan_is_json(const char *data, size_t len);

#endif
