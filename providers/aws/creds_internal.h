#ifndef PROVIDERS_AWS_CREDS_INTERNAL_H
#define PROVIDERS_AWS_CREDS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "providers/aws/creds.h"
#include "util/buf.h"
#include "util/err.h"

/*
 * The credential sources behind creds.c, one file each: STS
 * (creds_sts.c), the container and instance metadata endpoints
 * (creds_metadata.c), credential_process (creds_process.c).  Private to
 * providers/aws.
 *
 * Every fetch fills *out (which must hold no credentials) and returns 0;
 * UTIL_ENOTFOUND when the source is not configured or has nothing to give,
 * with the reason appended to why (one short clause, no secrets); any
 * other negative code when a configured source failed, with err set.
 */

/* Parameters of an sts:AssumeRole call (a profile's role_arn and co). */
struct awsp_credsrc_role {
	const char *role_arn;
	const char *session_name; /* NULL = "moor-session-<epoch>" */
	const char *external_id;  /* may be NULL */
	int duration_seconds;	  /* 0 = STS default (1 hour) */
};

/* sts:AssumeRole signed with source; the endpoint is AWSP_SVC_STS's. */
int awsp_credsrc_assume_role(const struct awsp_creds_config *cfg,
			     const struct awsp_credentials *source,
			     const struct awsp_credsrc_role *role,
			     struct awsp_credentials *out,
			     struct util_err *err);

/*
 * sts:AssumeRoleWithWebIdentity (unsigned) with the token read from
 * token_file now (it is re-read on every refresh).
 */
int awsp_credsrc_web_identity(const struct awsp_creds_config *cfg,
			      const char *token_file, const char *role_arn,
			      const char *session_name,
			      struct awsp_credentials *out,
			      struct util_err *err);

/*
 * The <Credentials> of an STS response body (result is the element that
 * holds them, "AssumeRoleResult"), or the <Error> as util_err_set_aws
 * when status is not 200.  account_id comes from AssumedRoleUser/Arn.
 */
int awsp_credsrc_parse_sts(long status, const char *body, size_t len,
			   const char *request_id, struct awsp_credentials *out,
			   struct util_err *err);

/* Container credentials (ECS, EKS Pod Identity). */
int awsp_credsrc_container(const struct awsp_creds_config *cfg,
			   struct awsp_credentials *out, struct buf *why,
			   struct util_err *err);

/* IMDSv2 (with botocore's IMDSv1 fallback), the instance role's keys. */
int awsp_credsrc_imds(const struct awsp_creds_config *cfg,
		      struct awsp_credentials *out, struct buf *why,
		      struct util_err *err);

/* Run a profile's credential_process through /bin/sh -c. */
int awsp_credsrc_process(const char *command, long timeout_ms,
			 struct awsp_credentials *out, struct util_err *err);

/*
 * Credentials from a JSON document: the IMDS / container shape
 * (AccessKeyId, SecretAccessKey, Token, Expiration, AccountId) or, with
 * process_format, credential_process's (Version 1, SessionToken).
 * Expiration is required unless optional_expiry.  what names the source
 * in messages.  The document is wiped afterwards by the caller.
 */
int awsp_credsrc_parse_json(const char *json, size_t len, const char *what,
			    bool process_format, bool optional_expiry,
			    struct awsp_credentials *out, struct util_err *err);

/* Wipe every string in a cJSON tree, then delete it. */
struct cJSON;
void awsp_credsrc_json_free(struct cJSON *j);

/*
 * A whole token file, at most AWSP_CREDSRC_TOKEN_MAX bytes, into out
 * (initialised here; the caller wipes and releases it).  what names the
 * file in messages, in front of its quoted path: "web identity token
 * file " or "".
 */
#define AWSP_CREDSRC_TOKEN_MAX (64u << 10)
int awsp_credsrc_read_token_file(const char *path, const char *what,
				 struct buf *out, struct util_err *err);

/* Default role session name: "moor-session-<epoch>" into out. */
void awsp_credsrc_session_name(const struct awsp_creds_config *cfg,
			       char out[48]);

#endif
