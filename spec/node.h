#ifndef SPEC_NODE_H
#define SPEC_NODE_H

#include <stdbool.h>
#include <stddef.h>

#include "spec/spec.h"

/*
 * struct spec_doc: one YAML document as a tree of nodes with locations,
 * built from libyaml's event stream (internal to spec/).
 *
 * What this layer rejects, so the decoder above sees a sane tree:
 *  - invalid UTF-8 and characters YAML forbids (checked before libyaml
 *    runs, to report them at a line and column);
 *  - YAML syntax errors (libyaml's message at libyaml's mark);
 *  - tabs used as indentation;
 *  - a second document in the stream;
 *  - duplicate keys in a mapping (the first one is kept), non-scalar keys,
 *    unknown anchors, unsupported tags;
 *  - more than SPEC_MAX_NODES nodes, counting every alias as the full size
 *    of the subtree it refers to, so an alias bomb ("billion laughs") fails
 *    after a bounded amount of work and memory: an alias is a shallow copy
 *    that shares its target's children, never an expanded copy;
 *  - nesting deeper than SPEC_MAX_DEPTH.
 *
 * Scalars are typed by the YAML 1.2 core schema, the one YAML language
 * servers use: plain `true`, `42`, `~` are a bool, an int and a null, and
 * anything quoted is a string; `yes`/`no`/`on`/`off` are strings (YAML 1.1
 * read them as booleans, which is why they are not accepted where a
 * boolean is expected).
 *
 * Every node and string belongs to the doc; spec_doc_release() frees them.
 */

#define SPEC_MAX_NODES 1000000u
#define SPEC_MAX_DEPTH 64u

enum spec_node_kind {
	SPEC_NODE_SCALAR = 0,
	SPEC_NODE_SEQ,
	SPEC_NODE_MAP,
};

enum spec_scalar_type {
	SPEC_SCALAR_STR = 0,
	SPEC_SCALAR_NULL,
	SPEC_SCALAR_BOOL,
	SPEC_SCALAR_INT,
	SPEC_SCALAR_FLOAT,
};

struct spec_node;

struct spec_pair {
	struct spec_node *key; /* always a scalar */
	struct spec_node *value;
};

struct spec_node {
	enum spec_node_kind kind;
	struct spec_loc loc; /* where the node (or the alias to it) starts */
	/* Made by an alias: shares str, items and pairs with its target. */
	bool alias;
	/* Already reported (unknown anchor, bad tag): decode nothing more. */
	bool invalid;
	/* Scalars: the value as written, NUL-terminated (may contain NULs). */
	enum spec_scalar_type type;
	char *str;
	size_t len;
	/* Sequences. */
	struct spec_node **items;
	size_t n_items;
	/* Mappings, in file order, without duplicate keys. */
	struct spec_pair *pairs;
	size_t n_pairs;
	/* Nodes in this subtree, aliases counted at their full size. */
	size_t weight;
};

struct spec_doc {
	struct spec_node *root; /* NULL: the stream holds no document */
	/* Private: every node, in allocation blocks. */
	struct spec_node **blocks;
	size_t n_blocks;
	size_t used; /* nodes used in the last block */
};

#define SPEC_DOC_INIT \
	{             \
		NULL  \
	}

/*
 * Parse len bytes at data into doc (which must be SPEC_DOC_INIT).
 *
 * Returns 0 when doc->root is a tree the decoder can walk.  diags may
 * already hold errors for problems this layer repaired (a duplicate key is
 * dropped, a bad alias or tag becomes an invalid node), so that one run
 * still reports every error in the file.  Returns UTIL_EINVAL when the
 * input cannot be read as a tree at all (not UTF-8, a syntax error, a
 * limit); the reasons are in diags, and doc must only be released.
 */
int spec_doc_parse(struct spec_doc *doc, const char *data, size_t len,
		   struct spec_diags *diags);
void spec_doc_release(struct spec_doc *doc);

/* "a string", "an integer", ... for messages. */
const char *spec_node_type_name(const struct spec_node *n);

#endif
