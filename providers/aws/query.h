#ifndef PROVIDERS_AWS_QUERY_H
#define PROVIDERS_AWS_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/*
 * Query-protocol request bodies (EC2, Classic ELB, ELBv2, STS): a form-
 * encoded "Action=...&Version=...&..." POSTed to "/".
 *
 * Encoding is byte-identical to botocore's (Python urlencode): every byte
 * except A-Z a-z 0-9 '-' '.' '_' '~' becomes %XX with uppercase hex, and a
 * space becomes '+'.  Parameters keep the order they were added in.
 *
 * List flattening differs per protocol, so both forms are here:
 *   EC2:   InstanceId.1=i-1&InstanceId.2=i-2, Filter.1.Name, Filter.1.Value.1
 *   Query: Instances.member.1.InstanceId=i-1, Names.member.1=web
 */
struct awsp_query {
	struct buf body;
};

void awsp_query_init(struct awsp_query *q, const char *action,
		     const char *version);
void awsp_query_release(struct awsp_query *q);

void awsp_query_add(struct awsp_query *q, const char *name, const char *value);
/* The name is a printf format: awsp_query_addf(q, "i-1", "InstanceId.%zu", n). */
void awsp_query_addf(struct awsp_query *q, const char *value,
		     const char *name_fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Booleans are always sent explicitly: "true" / "false". */
void awsp_query_add_bool(struct awsp_query *q, const char *name, bool v);
void awsp_query_add_int(struct awsp_query *q, const char *name, long v);

/* EC2 flattened list: Name.1 .. Name.n. */
void awsp_query_add_ec2_list(struct awsp_query *q, const char *name,
			     const char *const *values, size_t n);
/* EC2 filter number idx (1-based): Filter.idx.Name / Filter.idx.Value.k. */
void awsp_query_add_ec2_filter(struct awsp_query *q, size_t idx,
			       const char *name, const char *const *values,
			       size_t n);
/* Query-protocol list: Name.member.1 .. Name.member.n. */
void awsp_query_add_member_list(struct awsp_query *q, const char *name,
				const char *const *values, size_t n);

/* Form-encode (as above) len bytes of s, appending to out. */
void awsp_form_encode(const char *s, size_t len, struct buf *out);
/*
 * SigV4 UriEncode: unreserved bytes kept, space as %20, '/' kept only when
 * keep_slash.  Appends to out.
 */
void awsp_uri_encode(const char *s, size_t len, bool keep_slash,
		     struct buf *out);

#endif
