#ifndef RECONCILER_ENGINE_PLANFILE_H
#define RECONCILER_ENGINE_PLANFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "reconciler/engine/plan.h"
#include "spec/spec.h"
#include "util/err.h"

struct buf;

/*
 * Plans as JSON: the schema of `moor plan --format json` and of saved
 * plans (`moor plan -o FILE`, `moor apply FILE`), documented in
 * docs/plan-json.md.  Writing then reading a plan gives back the same
 * plan (every field the engine uses round-trips).
 */

/*
 * The largest saved plan moor reads (or writes), refused before parsing.
 * A plan carries its spec (at most SPEC_MAX_FILE_SIZE, 16 MiB; JSON
 * escaping at most doubles it, and YAML text escapes far less) plus its
 * steps, which hold about as many bytes per member as the spec's member
 * lines do: four times the spec cap fits the largest spec moor accepts,
 * and a plan of 10,000 members is about 1 MiB.  Parsing is bounded too:
 * cJSON takes a few times the file's size.
 */
#define RC_PLAN_MAX_FILE_SIZE (4u * SPEC_MAX_FILE_SIZE)

/* Append p as pretty-printed JSON (with a final newline) to out. */
int rc_plan_to_json(const struct rc_plan *p, struct buf *out,
		    struct util_err *err);

/*
 * Parse a plan; path is used in messages only.  On success *ret is a new
 * plan (caller frees with rc_plan_free()).  UTIL_EINVAL for data over
 * RC_PLAN_MAX_FILE_SIZE, malformed JSON, a missing or mistyped field, an
 * unsupported format_version, an unknown phase, action or until, an
 * action in the wrong phase, a step field the step does not write back
 * the same, or spec content that does not match spec.sha256.  The
 * file's summary is kept in p->summary_json.  That the steps are the
 * ones moor would plan is planverify.h's business.
 */
int rc_plan_from_json(const char *path, const char *data, size_t len,
		      struct rc_plan **ret, struct util_err *err);

/*
 * Compare two steps field by field as the JSON writer renders them (so
 * every field the format has is compared).  0 when equal; else 1, with
 * the first difference appended to out, e.g. "members differ (the plan
 * lists 3, moor plans 1)": a is "the plan", b is what "moor plans".
 */
int rc_step_diff(const struct rc_step *a, const struct rc_step *b,
		 struct buf *out);

/*
 * Whether the summary a saved plan says (p->summary_json) is the one its
 * steps and notes make: 0 when it is (or p was not read from a file);
 * else 1, with e.g. "the summary says 1 changes, the steps make 3"
 * appended to out.
 */
int rc_plan_summary_diff(const struct rc_plan *p, struct buf *out);

/* Write atomically (temporary file + rename), mode 0644. */
int rc_plan_save(const struct rc_plan *p, const char *path,
		 struct util_err *err);

/* Heuristic for `moor apply FILE`: does data look like a saved plan? */
bool rc_plan_is_json(const char *data, size_t len);

#endif
