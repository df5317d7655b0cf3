#include "reconciler/engine/render.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/buf.h"
#include "util/parse.h"
#include "util/str.h"
#include "util/banned.h"

#define C_RESET	 "\033[0m"
#define C_RED	 "\033[31m"
#define C_GREEN	 "\033[32m"
#define C_YELLOW "\033[33m"
#define C_CYAN	 "\033[36m"
#define C_DIM	 "\033[2m"
#define C_BOLD	 "\033[1m"

static char sign_of(const struct rc_step *s)
{
	switch (s->action) {
	case RC_ACT_ALLOCATE:
		return '*';
	case RC_ACT_REGISTER:
	case RC_ACT_ASSOCIATE:
	case RC_ACT_ENABLE_ZONES:
		return '+';
	case RC_ACT_MOVE:
		return '~';
	case RC_ACT_DEREGISTER:
	case RC_ACT_DISASSOCIATE:
		return '-';
	case RC_ACT_WAIT:
		break;
	}
	return ' ';
}

static const char *color_of(const struct rc_step *s)
{
	switch (sign_of(s)) {
	case '*':
		return C_CYAN;
	case '+':
		return C_GREEN;
	case '~':
		return C_YELLOW;
	case '-':
		return C_RED;
	}
	return C_DIM;
}

static void member(struct buf *out, const struct rc_member *m)
{
	buf_addstr(out, m->id);
	if (m->port)
		buf_addf(out, ":%d", m->port);
	if (m->name && *m->name)
		buf_addf(out, " (%s)", m->name);
}

static void members(struct buf *out, const struct rc_step *s, size_t max)
{
	for (size_t i = 0; i < s->n_members && i < max; i++) {
		if (i)
			buf_addstr(out, ", ");
		member(out, &s->members[i]);
	}
	if (s->n_members > max)
		buf_addf(out, " and %zu more", s->n_members - max);
}

static void binding(struct buf *out, const struct rc_binding *b)
{
	if (b->instance)
		buf_addstr(out, b->instance);
	else if (b->eni)
		buf_addstr(out, b->eni);
	else
		buf_addstr(out, "nothing");
	if (b->private_ip)
		buf_addf(out, " (private IP %s)", b->private_ip);
}

static void label(struct buf *out, const struct rc_step *s)
{
	buf_addstr(out, s->label);
	if (s->public_ip && !util_streq(s->public_ip, s->label))
		buf_addf(out, " (%s)", s->public_ip);
}

void rc_render_step(const struct rc_step *s, unsigned flags, size_t max_members,
		    struct buf *out)
{
	bool color = flags & RC_RENDER_COLOR;
	char d[32];

	if (color)
		buf_addf(out, "%s%c%s ", color_of(s), sign_of(s), C_RESET);
	else
		buf_addf(out, "%c ", sign_of(s));
	if (color)
		buf_addstr(out, C_BOLD);
	label(out, s);
	if (color)
		buf_addstr(out, C_RESET);
	buf_addstr(out, ": ");
	switch (s->action) {
	case RC_ACT_REGISTER:
	case RC_ACT_DEREGISTER:
		buf_addf(out, "%s ", rc_action_name(s->action));
		members(out, s, max_members);
		break;
	case RC_ACT_WAIT:
		buf_addf(out,
			 "wait until %s (up to %s): ", rc_until_name(s->until),
			 util_duration_format(s->timeout_ms, d, sizeof(d)));
		members(out, s, max_members);
		break;
	case RC_ACT_ALLOCATE:
		buf_addf(out, "allocate a VPC address tagged Name=%s",
			 s->name ? s->name : "?");
		break;
	case RC_ACT_ASSOCIATE:
		buf_addstr(out, "associate with ");
		binding(out, &s->to);
		break;
	case RC_ACT_MOVE:
		buf_addstr(out, "move ");
		binding(out, &s->from);
		buf_addstr(out, " -> ");
		binding(out, &s->to);
		break;
	case RC_ACT_DISASSOCIATE:
		buf_addstr(out, "disassociate from ");
		binding(out, &s->from);
		break;
	case RC_ACT_ENABLE_ZONES:
		buf_addf(out, "enable zone%s ", s->n_zones == 1 ? "" : "s");
		for (size_t i = 0; i < s->n_zones; i++)
			buf_addf(out, "%s%s", i ? ", " : "", s->zones[i]);
		break;
	}
	if (s->reason) {
		if (color)
			buf_addstr(out, C_DIM);
		buf_addf(out, "  # %s", s->reason);
		if (color)
			buf_addstr(out, C_RESET);
	}
}

void rc_render_held(const struct rc_held *h, unsigned flags, struct buf *out)
{
	bool color = flags & RC_RENDER_COLOR;

	buf_addf(out, "%s!%s ", color ? C_YELLOW : "", color ? C_RESET : "");
	buf_addf(out, "%s%s%s: held back by %s: %s", color ? C_BOLD : "",
		 h->label, color ? C_RESET : "", h->guard, h->reason);
}

static void count(struct buf *out, bool *first, size_t n, const char *what)
{
	if (!n)
		return;
	buf_addf(out, "%s%zu to %s", *first ? "" : ", ", n, what);
	*first = false;
}

void rc_render_summary(const struct rc_plan *p, struct buf *out)
{
	struct rc_plan_counts c;
	bool first = true;

	rc_plan_count(p, &c);
	if (!rc_plan_differs(p)) {
		buf_addf(out, "No changes: live state matches %s.",
			 p->spec_path ? p->spec_path : "the spec");
	} else if (!rc_plan_has_changes(p)) {
		/* Not "no changes": a drift check must see the difference. */
		buf_addf(out,
			 "Plan: %zu held back (0 changes): live state "
			 "differs from %s.",
			 c.held_back, p->spec_path ? p->spec_path : "the spec");
	} else {
		buf_addstr(out, "Plan: ");
		count(out, &first, c.allocate, "allocate");
		if (c.enable_zones) {
			buf_addf(out, "%s%zu zone%s to enable",
				 first ? "" : ", ", c.enable_zones,
				 c.enable_zones == 1 ? "" : "s");
			first = false;
		}
		count(out, &first, c.register_members, "register");
		count(out, &first, c.associate, "associate");
		count(out, &first, c.move, "move");
		count(out, &first, c.deregister_members, "deregister");
		count(out, &first, c.disassociate, "disassociate");
		if (c.held_back)
			buf_addf(out, ", %zu held back", c.held_back);
		buf_addf(out, " (%zu change%s", c.changes,
			 c.changes == 1 ? "" : "s");
		if (c.waits)
			buf_addf(out, ", %zu wait%s", c.waits,
				 c.waits == 1 ? "" : "s");
		buf_addstr(out, ").");
	}
	if (c.warnings)
		buf_addf(out, " %zu warning%s.", c.warnings,
			 c.warnings == 1 ? "" : "s");
}

static void notes(const struct rc_plan *p, unsigned flags, struct buf *out)
{
	bool color = flags & RC_RENDER_COLOR;
	struct buf line = BUF_INIT;

	for (size_t i = 0; i < p->notes.n; i++) {
		const struct rc_note *n = &p->notes.v[i];

		buf_reset(&line);
		rc_note_format(&p->notes, i, &line);
		if (n->level == RC_NOTE_INFO)
			buf_addf(out, "%sinfo: %s%s\n", color ? C_DIM : "",
				 line.buf, color ? C_RESET : "");
		else
			buf_addf(out, "%s%s%s\n", color ? C_YELLOW : "",
				 line.buf, color ? C_RESET : "");
	}
	buf_release(&line);
}

void rc_render_text(const struct rc_plan *p, unsigned flags, struct buf *out)
{
	for (size_t i = 0; i < p->n_steps; i++) {
		rc_render_step(&p->steps[i], flags, RC_TEXT_MAX_MEMBERS, out);
		buf_addch(out, '\n');
	}
	for (size_t i = 0; i < p->n_held; i++) {
		rc_render_held(&p->held[i], flags, out);
		buf_addch(out, '\n');
	}
	if ((p->n_steps || p->n_held) && p->notes.n)
		buf_addch(out, '\n');
	notes(p, flags, out);
	if (p->n_steps || p->n_held || p->notes.n)
		buf_addch(out, '\n');
	rc_render_summary(p, out);
	buf_addch(out, '\n');
}

/* Markdown-safe inline text: no table breaks, no stray markup. */
static void md_text(struct buf *out, const char *s)
{
	for (; s && *s; s++) {
		if (strchr("|*_`<>[]\\", *s))
			buf_addch(out, '\\');
		buf_addch(out, *s == '\n' ? ' ' : *s);
	}
}

static const char *holder(const char *h)
{
	return h ? h : "unbound";
}

static void md_header(const struct rc_plan *p, struct buf *line,
		      struct buf *out)
{
	buf_addstr(out, "### moor plan: `");
	md_text(out, p->spec_path);
	buf_addstr(out, "`\n\n");
	buf_addstr(out, "**");
	rc_render_summary(p, line);
	md_text(out, line->buf);
	buf_addstr(out, "**");
	if (p->region || p->account) {
		buf_addstr(out, " (");
		if (p->region)
			buf_addf(out, "region `%s`", p->region);
		if (p->account)
			buf_addf(out, "%saccount `%s`", p->region ? ", " : "",
				 p->account);
		buf_addch(out, ')');
	}
	buf_addstr(out, "\n\n");
}

static void md_groups(const struct rc_plan *p, struct buf *out)
{
	if (!p->n_groups)
		return;
	buf_addstr(out, "| load balancer | kind | members before → after "
			"| healthy now | register | deregister |\n"
			"|---|---|---|---|---|---|\n");
	for (size_t i = 0; i < p->n_groups; i++) {
		const struct rc_group_summary *g = &p->groups[i];

		buf_addstr(out, "| ");
		md_text(out, g->label);
		buf_addf(out, " | %s%s | %zu → %zu | %zu | %zu | %zu |\n",
			 g->kind == SPEC_LB_CLASSIC ? "classic"
						    : "target group",
			 g->ownership == SPEC_OWNERSHIP_ADDITIVE ? ", additive"
								 : "",
			 g->before, g->after, g->healthy, g->n_register,
			 g->n_deregister);
	}
	buf_addch(out, '\n');
}

static void md_addresses(const struct rc_plan *p, struct buf *out)
{
	bool any = false;

	for (size_t i = 0; i < p->n_addresses; i++) {
		const struct rc_address_summary *a = &p->addresses[i];
		bool alloc = !a->public_ip;

		if (util_streq(a->from, a->to) && !alloc)
			continue;
		if (!any)
			buf_addstr(out, "**Elastic IPs**\n\n");
		any = true;
		buf_addstr(out, "- `");
		md_text(out, a->public_ip ? a->public_ip : a->label);
		buf_addstr(out, "`");
		if (a->public_ip && !util_streq(a->label, a->public_ip)) {
			buf_addstr(out, " (");
			md_text(out, a->label);
			buf_addch(out, ')');
		}
		buf_addf(out, ": %s → %s%s\n", holder(a->from), holder(a->to),
			 alloc ? " (allocated)" : "");
	}
	if (any)
		buf_addch(out, '\n');
}

static void md_held(const struct rc_plan *p, struct buf *line, struct buf *out)
{
	if (!p->n_held)
		return;
	buf_addstr(out, "**Held back** (live state differs; a guard "
			"keeps moor from changing it)\n\n");
	for (size_t i = 0; i < p->n_held; i++) {
		buf_reset(line);
		rc_render_held(&p->held[i], 0, line);
		buf_addstr(out, "- ⏸️ ");
		/* Without the "! " sign: the bullet is the sign here. */
		md_text(out, line->buf + 2);
		if (p->spec_path && p->held[i].loc.line)
			buf_addf(out, " (`%s:%u:%u`)", p->spec_path,
				 p->held[i].loc.line, p->held[i].loc.col);
		buf_addch(out, '\n');
	}
	buf_addch(out, '\n');
}

static void md_warnings(const struct rc_plan *p, struct buf *line,
			struct buf *out)
{
	bool any = false;

	for (size_t i = 0; i < p->notes.n; i++) {
		if (p->notes.v[i].level == RC_NOTE_INFO)
			continue;
		if (!any)
			buf_addstr(out, "**Warnings**\n\n");
		any = true;
		buf_reset(line);
		rc_note_format(&p->notes, i, line);
		buf_addstr(out, "- ⚠️ ");
		md_text(out, line->buf);
		buf_addch(out, '\n');
	}
	if (any)
		buf_addch(out, '\n');
}

/* One line of the diff block; a fence inside the block would end it. */
static void md_fenced_line(struct buf *line, struct buf *out)
{
	for (char *q = line->buf; (q = strstr(q, "```"));)
		*q = '\'';
	buf_addf(out, "%s\n", line->buf);
}

static void md_diff(const struct rc_plan *p, struct buf *line, struct buf *out)
{
	buf_addf(out,
		 "<details><summary>%zu step%s</summary>\n\n"
		 "```diff\n",
		 p->n_steps, p->n_steps == 1 ? "" : "s");
	for (size_t i = 0; i < p->n_steps; i++) {
		buf_reset(line);
		rc_render_step(&p->steps[i], 0, RC_MARKDOWN_MAX_MEMBERS, line);
		md_fenced_line(line, out);
	}
	for (size_t i = 0; i < p->n_held; i++) {
		buf_reset(line);
		rc_render_held(&p->held[i], 0, line);
		md_fenced_line(line, out);
	}
	for (size_t i = 0; i < p->notes.n; i++) {
		if (p->notes.v[i].level != RC_NOTE_INFO)
			continue;
		buf_reset(line);
		rc_note_format(&p->notes, i, line);
		buf_addf(out, "# info: %s\n", line->buf);
	}
	buf_addstr(out, "```\n\n</details>\n\n");
}

void rc_render_markdown(const struct rc_plan *p, struct buf *out)
{
	struct rc_plan_counts c;
	struct buf line = BUF_INIT;

	rc_plan_count(p, &c);
	md_header(p, &line, out);
	md_groups(p, out);
	md_addresses(p, out);
	md_held(p, &line, out);
	md_warnings(p, &line, out);
	if (p->n_steps || p->n_held || c.infos)
		md_diff(p, &line, out);
	buf_addf(out,
		 "<sub>observed fingerprint `%.16s` · spec sha256 `%.16s` · "
		 "moor %s</sub>\n",
		 p->fingerprint, p->spec_sha256[0] ? p->spec_sha256 : "-",
		 p->moor_version ? p->moor_version : "?");
	buf_release(&line);
}

void rc_render_report(const struct rc_plan *p, const struct rc_report *r,
		      unsigned flags, struct buf *out)
{
	bool color = flags & RC_RENDER_COLOR;
	struct buf e = BUF_INIT;

	if (r->n_stale) {
		buf_addstr(out,
			   "Stale plan: these changed since it was made:\n");
		for (size_t i = 0; i < r->n_stale; i++)
			buf_addf(out, "  %s\n", r->stale[i]);
		buf_addstr(out, "Nothing was done. Run moor plan again.\n");
		return;
	}
	for (size_t i = 0; i < p->n_steps && i < r->n; i++) {
		const struct rc_step_result *res = &r->results[i];
		const char *col = "";

		switch (res->outcome) {
		case RC_OUT_DONE:
			col = C_GREEN;
			break;
		case RC_OUT_ALREADY:
			col = C_DIM;
			break;
		case RC_OUT_SKIPPED:
		case RC_OUT_PENDING:
			col = C_YELLOW;
			break;
		case RC_OUT_FAILED:
			col = C_RED;
			break;
		}
		buf_addf(out, "%s%-8s%s ", color ? col : "",
			 rc_outcome_name(res->outcome), color ? C_RESET : "");
		rc_render_step(&p->steps[i], 0, RC_TEXT_MAX_MEMBERS, out);
		if (res->allocation_id)
			buf_addf(out, " => %s (%s)", res->allocation_id,
				 res->public_ip ? res->public_ip : "?");
		if (res->outcome == RC_OUT_FAILED && res->err.code) {
			buf_reset(&e);
			util_err_format(&res->err, &e);
			buf_addf(out, "\n         error: %s", e.buf);
		}
		if (res->detail)
			buf_addf(out, "\n         %s", res->detail);
		buf_addch(out, '\n');
	}
	buf_addf(out,
		 "Apply %s: %zu done, %zu already in place, %zu skipped, "
		 "%zu failed.\n",
		 r->canceled ? "canceled"
			     : (r->failed || r->skipped ? "incomplete"
							: "complete"),
		 r->done, r->already, r->skipped, r->failed);
	buf_release(&e);
}
