#ifndef SPEC_INTERNAL_H
#define SPEC_INTERNAL_H

#include <stdbool.h>

#include "spec/node.h"
#include "spec/spec.h"

/*
 * The two passes of validation (internal to spec/):
 *
 * spec_decode() turns the YAML tree into s, checking each value on its own
 * (types, shapes, ranges, keys) and filling defaults.  It adds one
 * diagnostic per problem and keeps going: every list entry is kept, with
 * whatever fields could be read (NULL otherwise), so that spec_check()
 * can still look across entries.  root may be NULL (an empty stream).
 *
 * spec_check() applies the rules that relate entries to each other:
 * duplicates, conflicting bindings, min_healthy against the member count.
 */
void spec_decode(const struct spec_node *root, struct spec *s,
		 struct spec_diags *d);
void spec_check(const struct spec *s, struct spec_diags *d);

/*
 * The empty spec, as spec_decode() sees it (spec/empty.c): a tree that
 * is no document or only a null; a top-level list (NULL when absent)
 * that declares something.
 */
bool spec_root_is_empty(const struct spec_node *root);
bool spec_list_declares(const struct spec_node *list);

#endif
