#ifndef RECONCILER_ENGINE_RENDER_H
#define RECONCILER_ENGINE_RENDER_H

#include <stddef.h>

#include "reconciler/engine/apply.h"
#include "reconciler/engine/plan.h"

struct buf;

/*
 * Rendering plans and apply reports into a struct buf (the caller prints
 * it).  JSON is planfile.h's rc_plan_to_json().
 *
 * Text: one line per step, "SIGN LABEL: ACTION MEMBERS  # REASON", signs
 * `+` register/associate, `-` deregister/disassociate, `~` move,
 * `*` allocate, and a blank sign for waits; then one `!` line per change
 * held back by a guard; then warnings and infos, then a summary line.  RC_RENDER_COLOR adds ANSI colours (the caller decides:
 * a TTY and no NO_COLOR).
 *
 * Markdown: for a pull-request comment: a summary line, a table per group
 * (members before -> after, healthy now), the address moves, the changes
 * held back, warnings, every step in a collapsible <details> (as a diff
 * block), and the observed fingerprint.
 */

enum rc_render_flags {
	RC_RENDER_COLOR = 1 << 0,
};

/* Text lists at most this many members per step ("and N more"). */
#define RC_TEXT_MAX_MEMBERS	20
#define RC_MARKDOWN_MAX_MEMBERS 100

/* One step as one line, without a newline. */
void rc_render_step(const struct rc_step *s, unsigned flags, size_t max_members,
		    struct buf *out);
/*
 * A change held back by a guard, without a newline: "! web-tg: held back
 * by min_healthy: deregistering i-... would leave 2 healthy, the floor
 * is 3".
 */
void rc_render_held(const struct rc_held *h, unsigned flags, struct buf *out);
/*
 * "Plan: 2 to register, 1 to move, 1 held back (3 changes, 1 wait), 1
 * warning."; "Plan: 1 held back (0 changes): live state differs from
 * SPEC." when a guard holds back every difference; "No changes: live
 * state matches SPEC." only when nothing differs.
 */
void rc_render_summary(const struct rc_plan *p, struct buf *out);
void rc_render_text(const struct rc_plan *p, unsigned flags, struct buf *out);
void rc_render_markdown(const struct rc_plan *p, struct buf *out);
/*
 * What apply did: a summary line and one line per step with its outcome,
 * why it was skipped, or the failure (AWS code, HTTP status, request id).
 */
void rc_render_report(const struct rc_plan *p, const struct rc_report *r,
		      unsigned flags, struct buf *out);

#endif
