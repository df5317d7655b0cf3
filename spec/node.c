#include "spec/node.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "spec/diag.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/banned.h"

#define BLOCK_NODES   256
/* Lines with a tab in their indentation that we remember (errors cap). */
#define MAX_TAB_LINES 256

/* The value of the placeholder node for an unknown alias (never freed). */
static char s_empty[1];

struct tab_line {
	unsigned line;
	unsigned tab_col;    /* the first tab in the indentation */
	unsigned indent_col; /* the first character after the indentation */
	bool reported;
};

struct anchor {
	char *name; /* NULL: free slot */
	struct spec_node *node;
};

struct frame {
	struct spec_node *node;
	char *anchor; /* owned; registered when the node is complete */
	size_t alloc; /* of node->items or node->pairs */
	struct spec_node *key;
	bool have_key; /* map: a key waits for its value */
	bool drop;     /* map: the waiting key was rejected */
};

struct builder {
	struct spec_doc *doc;
	struct spec_diags *d;
	const char *data;
	size_t len;
	struct tab_line tabs[MAX_TAB_LINES];
	size_t n_tabs;
	struct anchor *anchors; /* open addressing, power-of-two size */
	size_t anchors_size, n_anchors;
	struct frame *stack;
	size_t depth, stack_alloc;
	size_t total; /* nodes so far, aliases at full size */
	int docs;
};

static struct spec_loc mark_loc(yaml_mark_t m)
{
	struct spec_loc l = { (unsigned)m.line + 1, (unsigned)m.column + 1 };

	return l;
}

static void fail(struct builder *b, struct spec_loc loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void fail(struct builder *b, struct spec_loc loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	spec_diag_vadd(b->d, SPEC_ERROR, loc, fmt, ap);
	va_end(ap);
}

/* --- input checks before libyaml --------------------------------------- */

/*
 * Decode one UTF-8 sequence at p (n bytes left).  Returns its length and
 * the code point in *cp, or 0 if it is malformed (overlong, surrogate,
 * beyond U+10FFFF, truncated).
 */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	uint32_t c = p[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* YAML 1.2's c-printable (what libyaml's reader accepts). */
static bool yaml_printable(uint32_t c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0x7e) ||
	       c == 0x85 || (c >= 0xa0 && c <= 0xd7ff) ||
	       (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

/* The line breaks libyaml counts: LF, CR, CR LF, NEL, LS, PS. */
static bool is_break(uint32_t c)
{
	return c == 0xa || c == 0xd || c == 0x85 || c == 0x2028 || c == 0x2029;
}

/*
 * One pass over the bytes: reject what is not UTF-8 or not allowed in
 * YAML (libyaml would stop with a byte offset; we give line and column),
 * and note the lines whose indentation holds a tab, so that the tree
 * builder and the syntax error path can name the tab instead of libyaml's
 * "found character that cannot start any token".  Columns count characters,
 * as libyaml's marks do.
 */
static int prescan(struct builder *b)
{
	const unsigned char *p = (const unsigned char *)b->data;
	size_t i = 0, n = b->len;
	unsigned line = 1, col = 1, tab_col = 0;
	bool indent = true;

	/* A leading byte order mark is not a character (libyaml skips it). */
	if (n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	while (i < n) {
		struct spec_loc here = { line, col };
		uint32_t c;
		size_t w = utf8_decode(p + i, n - i, &c);

		if (!w) {
			fail(b, here,
			     "invalid UTF-8 (byte 0x%02x): a spec is UTF-8 "
			     "text",
			     p[i]);
			return UTIL_EINVAL;
		}
		if (!yaml_printable(c)) {
			fail(b, here,
			     "control character U+%04X is not allowed in YAML",
			     (unsigned)c);
			return UTIL_EINVAL;
		}
		i += w;
		if (is_break(c)) {
			if (c == 0xd && i < n && p[i] == 0xa)
				i++;
			line++;
			col = 1;
			indent = true;
			tab_col = 0;
			continue;
		}
		if (indent) {
			if (c == '\t' && !tab_col) {
				tab_col = col;
			} else if (c != ' ' && c != '\t') {
				indent = false;
				if (tab_col && c != '#' &&
				    b->n_tabs < MAX_TAB_LINES) {
					struct tab_line *t =
						&b->tabs[b->n_tabs++];

					t->line = line;
					t->tab_col = tab_col;
					t->indent_col = col;
					t->reported = false;
				}
			}
		}
		col++;
	}
	return 0;
}

static struct tab_line *tab_on_line(struct builder *b, unsigned line)
{
	size_t lo = 0, hi = b->n_tabs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (b->tabs[mid].line == line)
			return &b->tabs[mid];
		if (b->tabs[mid].line < line)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void report_tab(struct builder *b, struct tab_line *t)
{
	struct spec_loc loc = { t->line, t->tab_col };

	if (t->reported)
		return;
	t->reported = true;
	fail(b, loc, "tab character in indentation: YAML indents with spaces");
}

/* A node that starts its line after indentation holding a tab. */
static void check_tab(struct builder *b, struct spec_loc loc)
{
	struct tab_line *t;

	if (!b->n_tabs)
		return;
	t = tab_on_line(b, loc.line);
	if (t && t->indent_col == loc.col)
		report_tab(b, t);
}

/* Line and column of a byte offset (for libyaml's reader errors). */
static struct spec_loc offset_loc(const struct builder *b, size_t off)
{
	const unsigned char *p = (const unsigned char *)b->data;
	struct spec_loc l = { 1, 1 };
	size_t i = 0;

	if (off > b->len)
		off = b->len;
	if (off >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		i = 3;
	while (i < off) {
		uint32_t c;
		size_t w = utf8_decode(p + i, b->len - i, &c);

		if (!w)
			break;
		i += w;
		if (is_break(c)) {
			if (c == 0xd && i < off && p[i] == 0xa)
				i++;
			l.line++;
			l.col = 1;
		} else {
			l.col++;
		}
	}
	return l;
}

/* --- nodes ---------------------------------------------------------------- */

static struct spec_node *new_node(struct builder *b, enum spec_node_kind kind,
				  struct spec_loc loc)
{
	struct spec_doc *doc = b->doc;
	struct spec_node *n;

	if (!doc->n_blocks || doc->used == BLOCK_NODES) {
		doc->blocks = util_xrealloc(doc->blocks,
					    (doc->n_blocks + 1) *
						    sizeof(*doc->blocks));
		doc->blocks[doc->n_blocks++] =
			util_xcalloc(BLOCK_NODES, sizeof(struct spec_node));
		doc->used = 0;
	}
	n = &doc->blocks[doc->n_blocks - 1][doc->used++];
	n->kind = kind;
	n->loc = loc;
	n->weight = 1;
	return n;
}

void spec_doc_release(struct spec_doc *doc)
{
	if (!doc)
		return;
	for (size_t i = 0; i < doc->n_blocks; i++) {
		size_t used = i + 1 == doc->n_blocks ? doc->used : BLOCK_NODES;

		for (size_t j = 0; j < used; j++) {
			struct spec_node *n = &doc->blocks[i][j];

			if (n->alias)
				continue;
			free(n->str);
			free(n->items);
			free(n->pairs);
		}
		free(doc->blocks[i]);
	}
	free(doc->blocks);
	memset(doc, 0, sizeof(*doc));
}

const char *spec_node_type_name(const struct spec_node *n)
{
	if (n->kind == SPEC_NODE_SEQ)
		return "a list";
	if (n->kind == SPEC_NODE_MAP)
		return "a map";
	switch (n->type) {
	case SPEC_SCALAR_NULL:
		return "null";
	case SPEC_SCALAR_BOOL:
		return "a boolean";
	case SPEC_SCALAR_INT:
		return "an integer";
	case SPEC_SCALAR_FLOAT:
		return "a number";
	case SPEC_SCALAR_STR:
		break;
	}
	return "a string";
}

/* --- anchors ------------------------------------------------------------ */

static size_t hash_name(const char *s)
{
	size_t h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static struct anchor *anchor_slot(struct anchor *tab, size_t size,
				  const char *name)
{
	size_t i = hash_name(name) & (size - 1);

	while (tab[i].name && strcmp(tab[i].name, name))
		i = (i + 1) & (size - 1);
	return &tab[i];
}

static void anchor_set(struct builder *b, char *name, struct spec_node *n)
{
	struct anchor *slot;

	if ((b->n_anchors + 1) * 2 > b->anchors_size) {
		size_t size = b->anchors_size ? b->anchors_size * 2 : 16;
		struct anchor *tab = util_xcalloc(size, sizeof(*tab));

		for (size_t i = 0; i < b->anchors_size; i++)
			if (b->anchors[i].name)
				*anchor_slot(tab, size, b->anchors[i].name) =
					b->anchors[i];
		free(b->anchors);
		b->anchors = tab;
		b->anchors_size = size;
	}
	slot = anchor_slot(b->anchors, b->anchors_size, name);
	if (slot->name) {
		/* YAML lets a later anchor of the same name replace it. */
		free(name);
	} else {
		slot->name = name;
		b->n_anchors++;
	}
	slot->node = n;
}

static struct spec_node *anchor_get(struct builder *b, const char *name)
{
	struct anchor *slot;

	if (!b->anchors_size)
		return NULL;
	slot = anchor_slot(b->anchors, b->anchors_size, name);
	return slot->name ? slot->node : NULL;
}

static void anchors_release(struct builder *b)
{
	for (size_t i = 0; i < b->anchors_size; i++)
		free(b->anchors[i].name);
	free(b->anchors);
	for (size_t i = 0; i < b->depth; i++)
		free(b->stack[i].anchor);
	free(b->stack);
}

/* --- scalars ------------------------------------------------------------ */

static bool all_in(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

static bool one_of(const char *s, const char *const *v)
{
	for (; *v; v++)
		if (!strcmp(s, *v))
			return true;
	return false;
}

static bool core_float(const char *s)
{
	static const char *const special[] = {
		".inf",	 ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
		"-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",  NULL
	};
	bool digits = false;

	if (one_of(s, special))
		return true;
	if (*s == '+' || *s == '-')
		s++;
	while (*s >= '0' && *s <= '9')
		s++, digits = true;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9')
			s++, digits = true;
	}
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!all_in(s, "0123456789"))
			return false;
		return true;
	}
	return *s == '\0';
}

/* The YAML 1.2 core schema's resolution of a plain scalar. */
static enum spec_scalar_type resolve_plain(const char *s, size_t len)
{
	static const char *const nulls[] = { "~", "null", "Null", "NULL",
					     NULL };
	static const char *const bools[] = { "true",  "True",  "TRUE", "false",
					     "False", "FALSE", NULL };
	const char *t = s;

	if (len == 0 || one_of(s, nulls))
		return SPEC_SCALAR_NULL;
	if (strlen(s) != len)
		return SPEC_SCALAR_STR;
	if (one_of(s, bools))
		return SPEC_SCALAR_BOOL;
	if (!strncmp(s, "0o", 2) && all_in(s + 2, "01234567"))
		return SPEC_SCALAR_INT;
	if (!strncmp(s, "0x", 2) && all_in(s + 2, "0123456789abcdefABCDEF"))
		return SPEC_SCALAR_INT;
	if (*t == '+' || *t == '-')
		t++;
	if (all_in(t, "0123456789"))
		return SPEC_SCALAR_INT;
	if (core_float(s))
		return SPEC_SCALAR_FLOAT;
	return SPEC_SCALAR_STR;
}

/*
 * Type a scalar from its tag and style.  Returns false (and reports) for a
 * tag moor does not read or a value that does not fit its explicit tag.
 */
static bool type_scalar(struct builder *b, struct spec_node *n,
			const yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	enum spec_scalar_type want;

	if (!tag) {
		n->type = plain ? resolve_plain(n->str, n->len)
				: SPEC_SCALAR_STR;
		return true;
	}
	if (!strcmp(tag, "!") || !strcmp(tag, YAML_STR_TAG)) {
		n->type = SPEC_SCALAR_STR;
		return true;
	}
	if (!strcmp(tag, YAML_INT_TAG))
		want = SPEC_SCALAR_INT;
	else if (!strcmp(tag, YAML_BOOL_TAG))
		want = SPEC_SCALAR_BOOL;
	else if (!strcmp(tag, YAML_NULL_TAG))
		want = SPEC_SCALAR_NULL;
	else if (!strcmp(tag, YAML_FLOAT_TAG))
		want = SPEC_SCALAR_FLOAT;
	else
		goto unsupported;
	n->type = resolve_plain(n->str, n->len);
	if (n->type == SPEC_SCALAR_INT && want == SPEC_SCALAR_FLOAT)
		n->type = SPEC_SCALAR_FLOAT;
	if (n->type == want)
		return true;
	fail(b, n->loc, "value does not match its tag '%s'", tag);
	return false;
unsupported:
	fail(b, n->loc, "unsupported YAML tag '%s'", tag);
	return false;
}

/* --- building the tree ---------------------------------------------------- */

static int count(struct builder *b, size_t weight, struct spec_loc loc,
		 bool alias)
{
	if (weight > SPEC_MAX_NODES || b->total > SPEC_MAX_NODES - weight) {
		if (alias)
			fail(b, loc,
			     "aliases expand to more than %u nodes: the spec "
			     "is too large (an alias bomb?)",
			     SPEC_MAX_NODES);
		else
			fail(b, loc, "the spec has more than %u YAML nodes",
			     SPEC_MAX_NODES);
		return UTIL_ELIMIT;
	}
	b->total += weight;
	return 0;
}

static struct frame *top(struct builder *b)
{
	return b->depth ? &b->stack[b->depth - 1] : NULL;
}

/* Hand a complete node to its parent (or make it the root). */
static void attach(struct builder *b, struct spec_node *n)
{
	struct frame *f = top(b);
	struct spec_node *p;

	if (!f) {
		b->doc->root = n;
		return;
	}
	p = f->node;
	p->weight += n->weight;
	if (p->kind == SPEC_NODE_SEQ) {
		UTIL_GROW(p->items, f->alloc, p->n_items + 1);
		p->items[p->n_items++] = n;
		return;
	}
	if (!f->have_key) {
		f->have_key = true;
		f->key = n;
		f->drop = false;
		if (n->kind != SPEC_NODE_SCALAR) {
			fail(b, n->loc, "a key must be a plain string, not %s",
			     spec_node_type_name(n));
			f->drop = true;
		} else if (n->invalid) {
			f->drop = true;
		}
		return;
	}
	f->have_key = false;
	if (f->drop)
		return;
	UTIL_GROW(p->pairs, f->alloc, p->n_pairs + 1);
	p->pairs[p->n_pairs].key = f->key;
	p->pairs[p->n_pairs].value = n;
	p->n_pairs++;
}

struct keyref {
	const struct spec_node *key;
	size_t pos;
};

static int cmp_keyref(const void *pa, const void *pb)
{
	const struct keyref *a = pa, *b = pb;
	size_t n = a->key->len < b->key->len ? a->key->len : b->key->len;
	int c = memcmp(a->key->str, b->key->str, n);

	if (c)
		return c;
	if (a->key->len != b->key->len)
		return a->key->len < b->key->len ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static bool same_key(const struct spec_node *a, const struct spec_node *b)
{
	return a->len == b->len && !memcmp(a->str, b->str, a->len);
}

static void report_dup(struct builder *b, const struct spec_node *first,
		       const struct spec_node *again)
{
	char clip[SPEC_CLIP_SIZE], where[SPEC_WHERE_SIZE];

	fail(b, again->loc, "duplicate key '%s' (first at %s)",
	     spec_clip(again->str, clip),
	     spec_where(first->loc, again->loc, where));
}

/*
 * Report repeated keys and keep the first of each.  Sorting keeps this
 * O(n log n) for the huge maps a hostile file may hold.
 */
static void dedup_keys(struct builder *b, struct spec_node *m)
{
	struct keyref *r;
	bool *dup;
	size_t i, out = 0;

	if (m->n_pairs < 2)
		return;
	if (m->n_pairs <= 8) {
		for (i = 0; i < m->n_pairs; i++) {
			size_t j;

			for (j = 0; j < out; j++)
				if (same_key(m->pairs[j].key, m->pairs[i].key))
					break;
			if (j < out)
				report_dup(b, m->pairs[j].key, m->pairs[i].key);
			else
				m->pairs[out++] = m->pairs[i];
		}
		m->n_pairs = out;
		return;
	}
	r = util_xmalloc(m->n_pairs * sizeof(*r));
	dup = util_xcalloc(m->n_pairs, sizeof(*dup));
	for (i = 0; i < m->n_pairs; i++) {
		r[i].key = m->pairs[i].key;
		r[i].pos = i;
	}
	qsort(r, m->n_pairs, sizeof(*r), cmp_keyref);
	for (i = 1; i < m->n_pairs; i++) {
		size_t first = i - 1;

		if (!same_key(r[i].key, r[i - 1].key))
			continue;
		while (first > 0 && dup[r[first].pos])
			first--;
		dup[r[i].pos] = true;
		report_dup(b, r[first].key, r[i].key);
	}
	for (i = 0; i < m->n_pairs; i++)
		if (!dup[i])
			m->pairs[out++] = m->pairs[i];
	m->n_pairs = out;
	free(r);
	free(dup);
}

static int open_node(struct builder *b, enum spec_node_kind kind,
		     const yaml_event_t *ev, const unsigned char *anchor,
		     const unsigned char *tag)
{
	struct spec_loc loc = mark_loc(ev->start_mark);
	const char *want = kind == SPEC_NODE_SEQ ? YAML_SEQ_TAG : YAML_MAP_TAG;
	struct spec_node *n;
	struct frame *f;

	if (b->depth >= SPEC_MAX_DEPTH) {
		fail(b, loc, "nesting is deeper than %u levels",
		     SPEC_MAX_DEPTH);
		return UTIL_ELIMIT;
	}
	if (count(b, 1, loc, false) < 0)
		return UTIL_ELIMIT;
	check_tab(b, loc);
	n = new_node(b, kind, loc);
	if (tag && strcmp((const char *)tag, "!") &&
	    strcmp((const char *)tag, want)) {
		fail(b, loc, "unsupported YAML tag '%s'", (const char *)tag);
		n->invalid = true;
	}
	UTIL_GROW(b->stack, b->stack_alloc, b->depth + 1);
	f = &b->stack[b->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	f->anchor = anchor ? util_xstrdup((const char *)anchor) : NULL;
	return 0;
}

static void close_node(struct builder *b)
{
	struct frame f = b->stack[--b->depth];
	struct spec_node *n = f.node;

	if (n->kind == SPEC_NODE_MAP)
		dedup_keys(b, n);
	if (f.anchor)
		anchor_set(b, f.anchor, n);
	attach(b, n);
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
	struct spec_loc loc = mark_loc(ev->start_mark);
	struct spec_node *n;

	if (count(b, 1, loc, false) < 0)
		return UTIL_ELIMIT;
	check_tab(b, loc);
	n = new_node(b, SPEC_NODE_SCALAR, loc);
	n->len = ev->data.scalar.length;
	n->str = util_xmemdup(ev->data.scalar.value, n->len + 1);
	if (!type_scalar(b, n, ev))
		n->invalid = true;
	if (ev->data.scalar.anchor)
		anchor_set(b,
			   util_xstrdup((const char *)ev->data.scalar.anchor),
			   n);
	attach(b, n);
	return 0;
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct spec_loc loc = mark_loc(ev->start_mark);
	struct spec_node *target = anchor_get(b, name), *n;
	char clip[SPEC_CLIP_SIZE];

	check_tab(b, loc);
	if (!target) {
		bool open = false;

		for (size_t i = 0; i < b->depth; i++)
			if (b->stack[i].anchor &&
			    !strcmp(b->stack[i].anchor, name))
				open = true;
		if (open)
			fail(b, loc,
			     "alias '*%s' refers to a node that "
			     "contains it",
			     spec_clip(name, clip));
		else
			fail(b, loc, "unknown anchor '%s'",
			     spec_clip(name, clip));
		if (count(b, 1, loc, false) < 0)
			return UTIL_ELIMIT;
		n = new_node(b, SPEC_NODE_SCALAR, loc);
		n->alias = true;
		n->invalid = true;
		n->type = SPEC_SCALAR_NULL;
		n->str = s_empty;
		attach(b, n);
		return 0;
	}
	if (count(b, target->weight, loc, true) < 0)
		return UTIL_ELIMIT;
	n = new_node(b, target->kind, loc);
	*n = *target;
	n->loc = loc;
	n->alias = true;
	attach(b, n);
	return 0;
}

static void syntax_error(struct builder *b, const yaml_parser_t *p)
{
	struct spec_loc loc;
	struct tab_line *t;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		fail(b, (struct spec_loc){ 1, 1 },
		     "out of memory while parsing YAML");
		return;
	case YAML_READER_ERROR:
		loc = offset_loc(b, p->problem_offset);
		fail(b, loc, "cannot read YAML: %s",
		     p->problem ? p->problem : "unknown error");
		return;
	default:
		break;
	}
	loc = mark_loc(p->problem_mark);
	/* libyaml's complaint about a tab is obscure; name the tab. */
	t = tab_on_line(b, loc.line);
	if (t) {
		report_tab(b, t);
		return;
	}
	if (p->context && p->context_mark.line != p->problem_mark.line)
		fail(b, loc, "syntax error: %s (%s at line %u)",
		     p->problem ? p->problem : "unknown error", p->context,
		     (unsigned)p->context_mark.line + 1);
	else if (p->context)
		fail(b, loc, "syntax error: %s (%s)",
		     p->problem ? p->problem : "unknown error", p->context);
	else
		fail(b, loc, "syntax error: %s",
		     p->problem ? p->problem : "unknown error");
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->docs) {
			fail(b, mark_loc(ev->start_mark),
			     "a second YAML document: a spec file holds one");
			return UTIL_EINVAL;
		}
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		b->docs++;
		return 0;
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(b, ev);
	case YAML_SEQUENCE_START_EVENT:
		return open_node(b, SPEC_NODE_SEQ, ev,
				 ev->data.sequence_start.anchor,
				 ev->data.sequence_start.tag);
	case YAML_MAPPING_START_EVENT:
		return open_node(b, SPEC_NODE_MAP, ev,
				 ev->data.mapping_start.anchor,
				 ev->data.mapping_start.tag);
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		close_node(b);
		return 0;
	default:
		return 0;
	}
}

int spec_doc_parse(struct spec_doc *doc, const char *data, size_t len,
		   struct spec_diags *diags)
{
	struct builder b = { .doc = doc, .d = diags, .data = data, .len = len };
	yaml_parser_t parser;
	int r = UTIL_EINVAL;

	if (prescan(&b) < 0)
		return UTIL_EINVAL;
	if (!yaml_parser_initialize(&parser)) {
		fail(&b, (struct spec_loc){ 1, 1 },
		     "out of memory while parsing YAML");
		return UTIL_EINVAL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	for (;;) {
		yaml_event_t ev;
		int er;

		if (!yaml_parser_parse(&parser, &ev)) {
			syntax_error(&b, &parser);
			goto out;
		}
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		er = on_event(&b, &ev);
		yaml_event_delete(&ev);
		if (er < 0)
			goto out;
	}
	r = 0;
out:
	yaml_parser_delete(&parser);
	anchors_release(&b);
	return r;
}
