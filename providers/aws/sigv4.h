#ifndef PROVIDERS_AWS_SIGV4_H
#define PROVIDERS_AWS_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"
#include "util/err.h"

/*
 * AWS Signature Version 4, stage by stage, so each stage can be checked
 * against the official test suites byte for byte.  SHA-256 and HMAC come
 * from OpenSSL; nothing here does I/O.
 *
 *   canonical request -> string to sign -> signing key -> signature
 *   -> Authorization header value
 */

struct awsp_header {
	const char *name;
	const char *value;
};

/* What is signed: the request exactly as it will be sent. */
struct awsp_sigv4_request {
	const char *method; /* "GET", "POST" */
	/* Path as sent (may hold %-escapes), without the query. */
	const char *path;
	/* Raw query string as sent, without '?', or NULL. */
	const char *query;
	/*
	 * Every header that will be sent, in order, repeated names allowed.
	 * Must include Host and X-Amz-Date; X-Amz-Security-Token when the
	 * credentials carry a session token.  Headers that proxies rewrite
	 * (user-agent, connection, expect, ...: botocore's list) are not
	 * signed.
	 */
	const struct awsp_header *headers;
	size_t n_headers;
	const void *body;
	size_t body_len;
	/*
	 * false = the path is used as given (S3 style, and the aws-c-auth
	 * "normalize: false" vectors); true = dot segments removed and
	 * repeated slashes collapsed, as for every other service.
	 */
	bool normalize_path;
};

/*
 * Stage 1.  Appends the canonical request to creq and the ';'-joined
 * lowercase signed header names to signed_headers.  UTIL_EINVAL for a
 * malformed request (e.g. a header without a name).
 */
int awsp_sigv4_canonical_request(const struct awsp_sigv4_request *req,
				 struct buf *creq, struct buf *signed_headers,
				 struct util_err *err);

/* "YYYYMMDD/region/service/aws4_request" into out. */
void awsp_sigv4_scope(const char *amz_date, const char *region,
		      const char *service, struct buf *out);

/* Stage 2.  amz_date is the X-Amz-Date value ("20150830T123600Z"). */
void awsp_sigv4_string_to_sign(const char *amz_date, const char *scope,
			       const char *creq, size_t creq_len,
			       struct buf *out);

/* Stage 3.  date8 is "YYYYMMDD". */
void awsp_sigv4_signing_key(const char *secret, const char *date8,
			    const char *region, const char *service,
			    unsigned char out[32]);

/* Stage 4.  64 lowercase hex digits and a NUL. */
void awsp_sigv4_signature(const unsigned char key[32], const char *sts,
			  size_t sts_len, char out[65]);

/* Stage 5: "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..." */
void awsp_sigv4_authorization(const char *access_key_id, const char *scope,
			      const char *signed_headers, const char *sig_hex,
			      struct buf *out);

/* X-Amz-Date for t: "YYYYMMDDTHHMMSSZ" (out size >= 17). */
void awsp_sigv4_amz_date(time_t t, char out[17]);

/* Lowercase hex SHA-256 of data (out size 65). */
void awsp_sha256_hex(const void *data, size_t len, char out[65]);

/*
 * struct awsp_signer: signs whole requests and caches the derived signing
 * key per (access key id, date, region, service), so the four HMACs of the
 * key derivation run once a day per service instead of once per request.
 * Thread-safe.  Secrets in the cache are wiped when replaced and on free.
 */
struct awsp_signer;

struct awsp_signer *awsp_signer_new(void);
void awsp_signer_free(struct awsp_signer *s);
/* How many signing keys s has derived so far (tests check the cache). */
unsigned long awsp_signer_derivations(struct awsp_signer *s);

/*
 * Sign req (whose headers already include Host, X-Amz-Date = amz_date and,
 * when session_token is non-NULL, X-Amz-Security-Token) and append the
 * Authorization header value to authz.  The secret is read, never kept
 * beyond the key cache.
 */
int awsp_signer_sign(struct awsp_signer *s,
		     const struct awsp_sigv4_request *req,
		     const char *access_key_id, const char *secret_access_key,
		     const char *region, const char *service,
		     const char *amz_date, struct buf *authz,
		     struct util_err *err);

#endif
