#ifndef PROVIDERS_AWS_CREDS_H
#define PROVIDERS_AWS_CREDS_H

#include <stdbool.h>
#include <time.h>

#include "providers/aws/awsconfig.h"
#include "providers/aws/env.h"
#include "providers/aws/http.h"
#include "util/clock.h"
#include "util/err.h"

/*
 * Credentials, and the chain that finds them the way the AWS SDKs do
 * (first that yields wins):
 *
 *   1. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *      AWS_SESSION_TOKEN (AWS_SECURITY_TOKEN);
 *   2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *      [+ AWS_ROLE_SESSION_NAME] (or the profile's web_identity_token_file
 *      / role_arn) -> STS AssumeRoleWithWebIdentity (unsigned);
 *   3. shared files for the selected profile, in botocore's order:
 *      role_arn with source_profile (itself resolved this way, or its own
 *      static keys) or credential_source (Environment,
 *      Ec2InstanceMetadata, EcsContainer) -> STS AssumeRole signed with
 *      those credentials (external_id, role_session_name,
 *      duration_seconds; mfa_serial is refused: no prompts); static keys
 *      in the credentials file; credential_process (run through
 *      /bin/sh -c, JSON Version 1 on stdout, stderr inherited, timeout);
 *      static keys in the config file;
 *   4. container: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI with
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE];
 *   5. IMDSv2 (token PUT, role, credentials JSON), unless
 *      AWS_EC2_METADATA_DISABLED=true; AWS_EC2_METADATA_SERVICE_ENDPOINT
 *      overrides the address.
 *
 * A source that is configured but fails (a partial key pair, an STS
 * error, a failing credential_process or container endpoint) ends the
 * chain with its error rather than falling through to the next; IMDS
 * that does not answer is "not configured".  Once a source has yielded,
 * refreshes re-run that source only (as botocore's RefreshableCredentials
 * do).  STS calls go to awsp_endpoint_resolve(AWSP_SVC_STS), so
 * AWS_ENDPOINT_URL[_STS] and the profile's services reach them too.
 *
 * Temporary credentials are refreshed before they expire: in the advisory
 * window (15 minutes left) a failed refresh keeps the current ones; in the
 * mandatory window (10 minutes left) the refresh must succeed.  So a
 * long-running daemon on instance or web-identity credentials keeps
 * working indefinitely.
 *
 * Secrets never appear in errors or logs.
 */

struct awsp_credentials {
	char *access_key_id;
	char *secret_access_key;
	char *session_token; /* NULL for long-term keys */
	time_t expiration;   /* 0 = does not expire */
	char *account_id;    /* NULL when unknown */
};

/* Wipes the secrets and frees; safe on a zeroed struct and on NULL. */
void awsp_credentials_release(struct awsp_credentials *c);
/* Deep copy; dst is overwritten (it must not hold credentials). */
void awsp_credentials_copy(struct awsp_credentials *dst,
			   const struct awsp_credentials *src);

struct awsp_creds_config {
	const struct awsp_env *env;
	const struct awsp_config *config; /* shared files, selected profile */
	const struct awsp_transport *transport;
	const struct util_clock *clock;
	/* Region for STS calls (regional endpoint); may be NULL (global). */
	const char *region;
	/* How long a credential_process may run; 0 = 60 seconds. */
	long process_timeout_ms;
};

struct awsp_creds;

/*
 * Build the chain.  Nothing is fetched yet: the first awsp_creds_get()
 * resolves.  Caller frees with awsp_creds_free().
 */
int awsp_creds_new(const struct awsp_creds_config *cfg, struct awsp_creds **ret,
		   struct util_err *err);
void awsp_creds_free(struct awsp_creds *c);

/*
 * Current credentials, refreshed when due; thread-safe.  ret receives a
 * copy the caller releases with awsp_credentials_release() (untouched on
 * failure).  UTIL_ECREDS when no source yields credentials, with a
 * message that says which sources were tried and why each was skipped
 * ("no AWS credentials found (env: AWS_ACCESS_KEY_ID not set; ...)"), or
 * when refreshed credentials come back already expired.  A configured
 * source that fails returns its own error (UTIL_EAWS with STS's code,
 * UTIL_ETRANSPORT with UTIL_ERR_RETRYABLE, UTIL_EINVAL for a
 * misconfigured profile, ...) prefixed with "credentials from SOURCE" or
 * "refresh credentials from SOURCE".  Concurrent callers share one
 * fetch: in the advisory window the others keep using the current
 * credentials, in the mandatory window they wait for it.
 */
int awsp_creds_get(struct awsp_creds *c, struct awsp_credentials *ret,
		   struct util_err *err);

/*
 * Which source produced the current credentials, e.g. "env",
 * "web-identity", "profile:dev", "profile:dev (assume-role)",
 * "credential-process", "container", "imds".  NULL before the first
 * successful get.  Valid until the next call on c.
 */
const char *awsp_creds_source(struct awsp_creds *c);

/*
 * The region from IMDS (placement/region), for the last step of region
 * resolution.  UTIL_ENOTFOUND when IMDS is disabled or unreachable.
 */
int awsp_imds_region(const struct awsp_creds_config *cfg, char **ret_region,
		     struct util_err *err);

#endif
