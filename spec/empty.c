#include "spec/spec.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "spec/internal.h"
#include "spec/node.h"
#include "util/banned.h"

/*
 * The one owner of "the spec is empty".  Empty is refused everywhere: an
 * empty spec is never read as "nothing desired", since that would
 * deregister and release everything.  It is judged at three depths:
 *
 *   the text      nothing but blanks, comments, document markers and a
 *                 byte-order mark (moor watch keeps the spec in force and
 *                 logs spec_empty without parsing);
 *   the tree      no document, or a document that is only a null;
 *   the lists     load_balancers and elastic_ips absent or empty.
 *
 * Text judged empty always gives an empty tree; the reverse is not true
 * ("~" is a null document but not blank text).
 */

bool spec_text_is_empty(const char *data, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t start, end;

		while (i < len && (data[i] == ' ' || data[i] == '\t'))
			i++;
		start = i;
		while (i < len && data[i] != '\n')
			i++;
		end = i;
		if (i < len)
			i++;
		while (end > start &&
		       (data[end - 1] == '\r' || data[end - 1] == ' ' ||
			data[end - 1] == '\t'))
			end--;
		if (end == start || data[start] == '#')
			continue;
		if (end - start >= 3 &&
		    (!strncmp(data + start, "---", 3) ||
		     !strncmp(data + start, "...", 3)) &&
		    (end - start == 3 || data[start + 3] == ' ' ||
		     data[start + 3] == '\t')) {
			/* A marker, maybe followed by a comment. */
			size_t k = start + 3;

			while (k < end && (data[k] == ' ' || data[k] == '\t'))
				k++;
			if (k == end || data[k] == '#')
				continue;
		}
		/* A byte-order mark alone is nothing either. */
		if (end - start == 3 &&
		    !memcmp(data + start, "\xEF\xBB\xBF", 3))
			continue;
		return false;
	}
	return true;
}

bool spec_root_is_empty(const struct spec_node *root)
{
	return !root || (root->kind == SPEC_NODE_SCALAR &&
			 root->type == SPEC_SCALAR_NULL && !root->invalid);
}

bool spec_list_declares(const struct spec_node *list)
{
	/* Present but unreadable counts as declaring: it was reported. */
	return list &&
	       (list->kind != SPEC_NODE_SEQ || list->invalid || list->n_items);
}
