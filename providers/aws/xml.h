#ifndef PROVIDERS_AWS_XML_H
#define PROVIDERS_AWS_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "util/err.h"

/*
 * Streaming XML for AWS responses, on expat.
 *
 * No tree is built: the parser walks the document once and reports each
 * element by its path, the '/'-joined local names below the root element
 * ("reservationSet/item/instancesSet/item/instanceId").  Namespaces are
 * ignored (a "p:name" element is "name"), as botocore does, because the
 * xmlns value varies with the API version.  An operation's parser is a
 * small state machine over these events: `start` of a list item appends a
 * record, `text` of a leaf fills a field of the last record.
 *
 * Limits: nesting deeper than AWSP_XML_MAX_DEPTH and any DOCTYPE (hence any
 * entity declaration) are errors, so a hostile body cannot make the parser
 * expand entities or recurse without bound.  expat allocates through
 * util_xmalloc.
 */

#define AWSP_XML_MAX_DEPTH 48

struct awsp_xml_handler {
	/* The root element opened; name is its local name.  May be NULL. */
	int (*root)(void *ctx, const char *name, struct util_err *err);
	/* An element below the root opened.  May be NULL. */
	int (*start)(void *ctx, const char *path, struct util_err *err);
	/*
	 * A leaf element (one without child elements) closed; text is its
	 * character data, NUL-terminated, entities decoded ("" for <x/>).
	 * May be NULL.
	 */
	int (*text)(void *ctx, const char *path, const char *text, size_t len,
		    struct util_err *err);
	/* An element below the root closed (after its text).  May be NULL. */
	int (*end)(void *ctx, const char *path, struct util_err *err);
};

/*
 * Parse len bytes of data.  When root is non-NULL the root element's local
 * name must equal it.  A callback that returns < 0 stops the parse; its
 * return value is returned (it should have set err).  Malformed XML is
 * UTIL_EINVAL with expat's message and the line.
 */
int awsp_xml_parse(const char *data, size_t len, const char *root,
		   const struct awsp_xml_handler *h, void *ctx,
		   struct util_err *err);

/*
 * Path helpers.  awsp_xml_under(path, prefix) is the rest of path after
 * "prefix/", or NULL when path is not below prefix; awsp_xml_is(path, p) is
 * strcmp equality.
 */
static inline const char *awsp_xml_under(const char *path, const char *prefix)
{
	/* Inline: prefixes are literals, so strlen() folds away. */
	size_t n = strlen(prefix);

	if (strncmp(path, prefix, n) || path[n] != '/')
		return NULL;
	return path + n + 1;
}

static inline bool awsp_xml_is(const char *path, const char *p)
{
	return !strcmp(path, p);
}

/*
 * Field conversions for text callbacks.  awsp_xml_int: a decimal integer
 * in [min, max]; awsp_xml_bool: "true" / "false".  Both set err (naming
 * path) and return UTIL_EINVAL otherwise.
 */
int awsp_xml_int(const char *path, const char *text, long min, long max,
		 long *ret, struct util_err *err);
int awsp_xml_bool(const char *path, const char *text, bool *ret,
		  struct util_err *err);

/*
 * An AWS error envelope, as either protocol sends it:
 *   EC2:   <Response><Errors><Error><Code/><Message/></Error></Errors>
 *          <RequestID/></Response>
 *   Query: <ErrorResponse><Error><Type/><Code/><Message/></Error>
 *          <RequestId/></ErrorResponse>
 * (and a bare <Error><Code/><Message/><RequestId/></Error>).  Only the
 * first <Error> is read.  Strings are malloc'd or NULL.
 */
struct awsp_aws_error {
	char *code;
	char *message;
	char *type; /* Sender / Receiver (Query protocol only) */
	char *request_id;
};

/*
 * 0 when data is an error envelope with a code, filling ret; UTIL_EINVAL
 * (err untouched, ret zeroed) for anything else, including malformed XML.
 */
int awsp_xml_parse_error(const char *data, size_t len,
			 struct awsp_aws_error *ret);
void awsp_aws_error_release(struct awsp_aws_error *e);

#endif
